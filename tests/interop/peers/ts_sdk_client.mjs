#!/usr/bin/env node
// Interop peer: the official TypeScript SDK's client (npm @modelcontextprotocol/sdk 1.x)
// driving a stdio server that has mcp_ref's reference tools (echo, slow).
//
//   MCP_PEERS_NODE_MODULES=... node ts_sdk_client.mjs [--cwd DIR] -- CMD [ARGS...]
//
// Runs one fixed scenario and prints one JSON object on stdout (same shape as
// py_sdk_client.py): connect {protocol_version, server_info, capabilities, instructions},
// tools, echo (non-ASCII text), progress (slow 0.6 s / 4 steps with onprogress), cancel
// (slow 1.5 s / 15 steps aborted through an AbortSignal once its first progress arrived,
// then a ping and a second slow call that outlasts the first one's natural end), and
// close_seconds (client.close(): stdin end, wait 2 s, SIGTERM, wait 2 s, SIGKILL), and
// sdk_errors (whatever the SDK reported through client.onerror).
// Every request has a timeout; a failing step records "error" and "failed_step".
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

const NM = process.env.MCP_PEERS_NODE_MODULES;
if (!NM) throw new Error("set MCP_PEERS_NODE_MODULES to the node_modules holding the SDK");
const requireFrom = createRequire(path.join(NM, "resolver.js"));
const load = (name) => import(pathToFileURL(requireFrom.resolve(name)).href);
const { Client } = await load("@modelcontextprotocol/sdk/client/index.js");
const { StdioClientTransport } = await load("@modelcontextprotocol/sdk/client/stdio.js");

const WAIT_MS = 20000;
const TEXT = "ü 漢 🎉 a\nb \u2028 end"; // = interop_kit.UNICODE_TEXT
const argv = process.argv.slice(2);
let cwd;
while (argv.length && argv[0] !== "--") {
  const option = argv.shift();
  if (option === "--cwd") cwd = argv.shift();
  else throw new Error(`unknown option ${option}`);
}
argv.shift();
if (!argv.length) throw new Error("the server command goes after --");

const out = {};
const texts = (result) => (result.content || []).filter((c) => c.type === "text").map((c) => c.text);
const deadline = setTimeout(() => {            // the whole scenario is bounded too
  out.error = "scenario deadline passed";
  console.log(JSON.stringify(out));
  process.exit(1);
}, 60000);

const transport = new StdioClientTransport({
  command: argv[0], args: argv.slice(1), cwd, stderr: "inherit",
  env: { PYTHONPATH: process.env.PYTHONPATH || "" },
});
const client = new Client({ name: "interop-ts-sdk-client", version: "1.0.0" }, { capabilities: {} });
const sdkErrors = [];                    // what the SDK reports through onerror
client.onerror = (error) => sdkErrors.push(String(error && error.message || error));
let negotiated = null;
const setVersion = transport.setProtocolVersion?.bind(transport);
transport.setProtocolVersion = (version) => { negotiated = version; setVersion?.(version); };

let code = 0;
let step = "connect";
let connected = false;
try {
  const started = performance.now();
  await client.connect(transport, { timeout: WAIT_MS });
  connected = true;
  out.connect = {
    seconds: (performance.now() - started) / 1000,
    protocol_version: negotiated,
    server_info: client.getServerVersion(),
    capabilities: client.getServerCapabilities(),
    instructions: client.getInstructions(),
  };

  step = "tools";
  out.tools = (await client.listTools(undefined, { timeout: WAIT_MS })).tools.map((t) => t.name);

  step = "echo";
  let result = await client.callTool({ name: "echo", arguments: { text: TEXT } }, undefined,
                                     { timeout: WAIT_MS });
  out.echo = { sent: TEXT, is_error: result.isError ?? false, texts: texts(result) };

  step = "progress";
  const seen = [];
  result = await client.callTool({ name: "slow", arguments: { seconds: 0.6, steps: 4 } }, undefined,
    { timeout: WAIT_MS, onprogress: (p) => seen.push([p.progress, p.total ?? null, p.message ?? null]) });
  out.progress = { notifications: seen, is_error: result.isError ?? false, texts: texts(result) };

  step = "cancel";
  const cancelledSeen = [];
  const controller = new AbortController();
  let firstProgress;
  const gotProgress = new Promise((resolve) => { firstProgress = resolve; });
  const doomed = client.callTool({ name: "slow", arguments: { seconds: 1.5, steps: 15 } }, undefined, {
    timeout: WAIT_MS, signal: controller.signal,
    onprogress: (p) => { cancelledSeen.push([p.progress, p.total ?? null, p.message ?? null]); firstProgress(); },
  });
  const outcome = {};
  const settled = doomed.then(() => { outcome.completed = true; },
                              (error) => { outcome.rejected = String(error); });
  await Promise.race([gotProgress, new Promise((_, reject) =>
    setTimeout(() => reject(new Error("no progress from the slow call")), WAIT_MS))]);
  controller.abort("interop test cancels the slow call");
  await settled;
  out.cancel = { outcome, progress_before_cancel: [...cancelledSeen] };
  await client.ping({ timeout: WAIT_MS });
  out.cancel.ping_after_cancel = true;
  result = await client.callTool({ name: "slow", arguments: { seconds: 1.6, steps: 2 } }, undefined,
                                 { timeout: WAIT_MS });
  out.cancel.next_call_texts = texts(result);
  out.cancel.progress_total = [...cancelledSeen];
  step = "close";
} catch (error) {
  out.failed_step = step;
  out.error = String(error && error.stack || error);
  code = 1;
} finally {
  const closing = performance.now();
  if (connected) await client.close(); else await transport.close().catch(() => {});
  out.close_seconds = (performance.now() - closing) / 1000;
}
out.last_step = step;
out.sdk_errors = sdkErrors;
clearTimeout(deadline);
console.log(JSON.stringify(out));
process.exit(code);
