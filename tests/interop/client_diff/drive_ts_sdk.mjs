import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
const NM = process.env.MCP_PEERS_NODE_MODULES || "/tmp/mcp_ref_peers/node/node_modules";
const HERE = path.dirname(new URL(import.meta.url).pathname);
const req = createRequire(path.join(NM, "noop.js"));
const load = (s) => import(pathToFileURL(req.resolve(s)).href);
const { Client } = await load("@modelcontextprotocol/sdk/client/index.js");
const { StdioClientTransport } = await load("@modelcontextprotocol/sdk/client/stdio.js");
const T = await load("@modelcontextprotocol/sdk/types.js");
const [sc, logp] = process.argv.slice(2);
const MS = 1000 * Number(process.env.CLIENT_DIFF_TIMEOUT || "2");   // each request's timeout, ms
const res = { client: "ts", steps: [], notes: [], progress: [], errors: [] };
const err = (e) => `${e?.constructor?.name}: ${String(e?.message ?? e).slice(0, 200)}`;
const transport = new StdioClientTransport({ command: "python3", args: [path.join(HERE, "odd_server.py"), sc, logp], stderr: "pipe" });
const client = new Client({ name: "ts-drv", version: "0" }, { capabilities: { roots: {} } });
client.setRequestHandler(T.ListRootsRequestSchema, async () => ({ roots: [{ uri: "file:///tmp", name: "t" }] }));
client.fallbackNotificationHandler = async (n) => { res.notes.push(n.method); };
client.onerror = (e) => res.errors.push(err(e).slice(0, 120));
const guard = setTimeout(() => { res.steps.push(["hung", `killed at ${8 * MS} ms`]); console.log(JSON.stringify(res)); process.exit(0); }, 8 * MS);
try {
  await client.connect(transport, { timeout: MS + 1000 });
  res.steps.push(["connect", "ok " + JSON.stringify(client.getServerVersion())]);
} catch (e) { res.steps.push(["connect", err(e)]); }
if (res.steps[0][1].startsWith("ok")) {
  const steps = [["ping", () => client.ping({ timeout: MS })],
    ["call", () => client.callTool({ name: "echo", arguments: { text: "a" } }, undefined, { timeout: MS, onprogress: (p) => res.progress.push(p) })],
    ["ping2", () => client.ping({ timeout: MS })]];
  if (sc.startsWith("tools_list")) steps.splice(1, 0, ["list", () => client.listTools(undefined, { timeout: MS })]);
  for (const [name, f] of steps) {
    try { const r = await f(); res.steps.push([name, "ok " + JSON.stringify(r).slice(0, 80)]); }
    catch (e) { res.steps.push([name, err(e)]); }
  }
}
try { await client.close(); } catch (e) { res.steps.push(["close", err(e)]); }
clearTimeout(guard);
console.log(JSON.stringify(res));
process.exit(0);
