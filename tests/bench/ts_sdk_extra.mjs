#!/usr/bin/env node
// The official TypeScript SDK's pair, for the figures the shared peer script does not measure
// (py_sdk_extra.py's twin; same figures, same output shape).
//
//   node ts_sdk_extra.mjs [--windows 1,10,100,10000] [--pipeline-total 2000] [--payloads 1,8,40]
//       [--timeout 60] [--budget 240] [--echo-tool echo] [--echo-arg text] -- SERVER_CMD [ARGS...]
//
// The SDK's own Client and StdioClientTransport (default options) drive the SDK's own server
// (../shared/peers/ts_sdk_server.mjs). The SDK is resolved as the shared ts_sdk_client.mjs does:
// from $MCP_PEERS_NODE_MODULES (default $MCP_REF_PEERS/node/node_modules, MCP_REF_PEERS
// defaulting to /tmp/mcp_ref_peers). Measured, in this order:
//   1. 1/8/40 MiB echo round trips, with the peak RSS (VmHWM) of both processes after each;
//   2. on a fresh connection, pipelined echo calls: bursts of `window` concurrent callTool
//      promises (Promise.all per burst: all `window` requests are sent, then the burst ends
//      when all their replies are in), ceil(total / window) bursts.
// Every wait is bounded: a figure by --timeout s and what is left of --budget (its requests are
// aborted when it runs out). A figure that fails or runs out of time gets {"error": reason}
// instead of its time, and the next figure gets a fresh connection. Prints one JSON object.
import { createRequire } from "node:module";
import { setMaxListeners } from "node:events";
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const PEERS = process.env.MCP_REF_PEERS || "/tmp/mcp_ref_peers";
const NM = process.env.MCP_PEERS_NODE_MODULES || path.join(PEERS, "node", "node_modules");
const req = createRequire(path.join(NM, "noop.js"));
const load = (spec) => import(pathToFileURL(req.resolve(spec)).href);
const { Client } = await load("@modelcontextprotocol/sdk/client/index.js");
const { StdioClientTransport } = await load("@modelcontextprotocol/sdk/client/stdio.js");
const { STDIO_DEFAULT_MAX_BUFFER_SIZE } = await load("@modelcontextprotocol/sdk/shared/stdio.js");
const SDK_PACKAGE = path.join(NM, "@modelcontextprotocol", "sdk", "package.json");
const SDK_VERSION = JSON.parse(readFileSync(SDK_PACKAGE, "utf8")).version;

const CLOSE_BOUND_MS = 15000; // bound of closing one connection
const MIB = 1024 * 1024;
// The payloads' alphabet, as in _common.py: base64's, nothing in it escaped in JSON.
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// --- arguments ---
const argv = process.argv.slice(2);
const opt = { windows: "1,10,100,10000", "pipeline-total": "2000", payloads: "1,8,40",
  timeout: "60", budget: "240", "echo-tool": "echo", "echo-arg": "text" };
while (argv.length && argv[0] !== "--") {
  const a = argv.shift();
  if (!a.startsWith("--") || !(a.slice(2) in opt)) throw new Error("unknown option " + a);
  opt[a.slice(2)] = argv.shift();
}
argv.shift();
if (!argv.length) throw new Error("server command required after --");
const ints = (text) => text.split(",").filter((x) => x).map((x) => parseInt(x, 10));
const total = parseInt(opt["pipeline-total"], 10);
const figureMs = parseFloat(opt.timeout) * 1000;
const endAt = Date.now() + parseFloat(opt.budget) * 1000;

// --- helpers ---
const now = () => process.hrtime.bigint();
const seconds = (t0) => Number(now() - t0) / 1e9;
const ms = (s) => Math.round(s * 1e6) / 1e3;
const hwm = (pid) => {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? +m[1] : null;
  } catch { return null; }
};
const payloadText = (n) => ALPHABET.repeat(Math.floor(n / ALPHABET.length) + 1).slice(0, n);
const figureBound = () => Math.max(0, Math.min(figureMs, endAt - Date.now() - CLOSE_BOUND_MS));

class Timeout extends Error {}

// fn(signal) raced against `boundMs`; on expiry the signal aborts fn's requests.
async function bounded(fn, boundMs) {
  const ac = new AbortController();
  setMaxListeners(0, ac.signal); // one listener per request in flight
  let timer;
  const expiry = new Promise((_, reject) => {
    timer = setTimeout(() => {
      ac.abort();
      reject(new Timeout(`timed out (${boundMs / 1000} s)`));
    }, boundMs);
  });
  try { return await Promise.race([fn(ac.signal), expiry]); }
  finally { clearTimeout(timer); }
}

const errorText = (e) => {
  const text = e instanceof Timeout ? e.message : `${e?.name ?? "Error"}: ${e?.message ?? e}`;
  return text.length <= 200 ? text : text.slice(0, 197) + "...";
};
// A failed figure's entry: `error` short enough for a table cell, `error_detail` in full.
const clip = (text, n) =>
  (text.length <= n ? text : text.slice(0, text.lastIndexOf(" ", n - 3) + 1 || n - 3) + "...");
const failure = (e) => ({ error: e?.short ?? clip(String(e?.message || errorText(e)), 40),
  error_detail: e?.detail ?? errorText(e) });

async function echo(client, text, signal, boundMs) {
  const params = { name: opt["echo-tool"], arguments: { [opt["echo-arg"]]: text } };
  // Our bound ends a call (signal), not the SDK's default 60 s request timeout.
  const r = await client.callTool(params, undefined, { signal, timeout: boundMs + 1000 });
  if (r.isError) throw new Error("tool error: " + (r.content ?? []).map((c) => c.text ?? "").join(" "));
  return r.content?.[0]?.text;
}

// --- figures: (client, signal, boundMs) -> entry ---
const payload = (mib) => async (client, signal, boundMs) => {
  const text = payloadText(mib * MIB);
  const t = now();
  let echoed;
  try { echoed = await echo(client, text, signal, boundMs); }
  catch (e) {
    // Both transports drop a connection on a line longer than this (shared/stdio.js ReadBuffer).
    if (text.length <= STDIO_DEFAULT_MAX_BUFFER_SIZE || e instanceof Timeout) throw e;
    const cap = STDIO_DEFAULT_MAX_BUFFER_SIZE / MIB;
    throw Object.assign(e, {
      short: `closed: line > SDK ${cap} MiB cap`,
      detail: `${errorText(e)}; the ${mib} MiB line exceeds the SDK's stdio ReadBuffer limit `
        + `(STDIO_DEFAULT_MAX_BUFFER_SIZE, ${cap} MiB)`,
    });
  }
  const elapsed = seconds(t);
  if (echoed !== text) throw new Error("the echo differs from the payload");
  return { round_trip_ms: ms(elapsed) };
};

const pipelined = (window) => async (client, signal, boundMs) => {
  const bursts = Math.max(1, Math.ceil(total / window));
  const one = async () => {
    if ((await echo(client, "hello", signal, boundMs)) !== "hello") {
      throw new Error("an echo differs");
    }
  };
  const t = now();
  for (let b = 0; b < bursts; b++) await Promise.all(Array.from({ length: window }, one));
  const elapsed = seconds(t);
  const messages = bursts * window;
  return { messages, ok: messages, errors: 0, elapsed_ms: ms(elapsed),
    per_message_us: Math.round((elapsed / messages) * 1e8) / 100 };
};

// --- connections ---
async function connect(boundMs) {
  const transport = new StdioClientTransport({ command: argv[0], args: argv.slice(1),
    stderr: "inherit" });
  const client = new Client({ name: "ts-sdk-extra", version: "0.1.0" }, { capabilities: {} });
  try {
    await bounded((signal) => client.connect(transport, { signal, timeout: boundMs + 1000 }),
      boundMs);
  } catch (e) {
    await close(client, transport);
    throw e;
  }
  return { client, transport, pid: transport.pid };
}

async function close(client, transport) {
  const pid = transport.pid;
  try { await bounded(() => client.close(), CLOSE_BOUND_MS); }
  catch { if (pid) try { process.kill(pid, "SIGKILL"); } catch { /* gone */ } }
}

// Run jobs [group, name, figure] on one connection, on a fresh one after a failure; fill out.
async function runJobs(jobs, out) {
  const pending = [...jobs];
  while (pending.length) {
    if (figureBound() <= 0) {
      for (const [group, name] of pending) out[group][name] = { error: "skipped: out of time" };
      return;
    }
    let conn;
    try { conn = await connect(figureBound()); }
    catch (e) {
      for (const [group, name] of pending) {
        out[group][name] = { ...failure(e), error_detail: "connect: " + errorText(e) };
      }
      return;
    }
    try {
      const warmMs = figureBound();
      await bounded(async (signal) => {
        for (let i = 0; i < 20; i++) await echo(conn.client, "hello", signal, warmMs);
      }, warmMs);
      while (pending.length) {
        const [group, name, figure] = pending.shift();
        const boundMs = figureBound();
        if (boundMs <= 0) { out[group][name] = { error: "skipped: out of time" }; continue; }
        let entry;
        try { entry = await bounded((signal) => figure(conn.client, signal, boundMs), boundMs); }
        catch (e) { entry = failure(e); }
        entry.server_peak_rss_kb = hwm(conn.pid);
        entry.client_peak_rss_kb = hwm(process.pid);
        out[group][name] = entry;
        if (entry.error) break; // the next figure gets a fresh connection
      }
    } catch (e) { // the warm-up failed: blame the next figure
      if (pending.length) {
        const [group, name] = pending.shift();
        out[group][name] = { ...failure(e), error_detail: "warm-up: " + errorText(e) };
      }
    } finally {
      await close(conn.client, conn.transport);
    }
  }
}

const out = { sdk: `@modelcontextprotocol/sdk ${SDK_VERSION}`, server_cmd: argv,
  figure_timeout_s: figureMs / 1000, payloads: {}, pipelined: {} };
await runJobs(ints(opt.payloads).map((m) => ["payloads", String(m), payload(m)]), out);
await runJobs(ints(opt.windows).map((w) => ["pipelined", String(w), pipelined(w)]), out);
out.client_peak_rss_kb = hwm(process.pid);
process.stdout.write(JSON.stringify(out) + "\n", () => process.exit(0));
