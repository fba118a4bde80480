#!/usr/bin/env node
// Interop peer: a stdio MCP server built on the official TypeScript SDK
// (npm @modelcontextprotocol/sdk 1.x). Resolves the SDK from $MCP_PEERS_NODE_MODULES
// (ES modules ignore NODE_PATH). Tools:
//
//   echo {text}                 the text back, unchanged, as one text content block
//   slow {seconds=5, steps=10}  sleeps `seconds` in `steps` slices, sends notifications/progress
//                               after each when the call carried _meta.progressToken, and stops
//                               when the request is cancelled (extra.signal aborts)
//
// Marker lines on stderr for the tests: `ts_sdk_server: slow <event> request=<id> step=<n>`.
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

const NM = process.env.MCP_PEERS_NODE_MODULES;
if (!NM) throw new Error("set MCP_PEERS_NODE_MODULES to the node_modules holding the SDK");
const requireFrom = createRequire(path.join(NM, "resolver.js"));
const load = (name) => import(pathToFileURL(requireFrom.resolve(name)).href);

const { McpServer } = await load("@modelcontextprotocol/sdk/server/mcp.js");
const { StdioServerTransport } = await load("@modelcontextprotocol/sdk/server/stdio.js");
const { z } = await load("zod");

const mark = (event, extra, step) =>
  process.stderr.write(`ts_sdk_server: slow ${event} request=${extra.requestId} step=${step}\n`);

const server = new McpServer({ name: "interop-ts-sdk-server", version: "1.0.0" });

server.registerTool(
  "echo",
  { description: "Return the text unchanged.", inputSchema: { text: z.string() } },
  async ({ text }) => ({ content: [{ type: "text", text }] }),
);

server.registerTool(
  "slow",
  {
    description: "Sleep in steps, reporting progress after each; honours cancellation.",
    inputSchema: { seconds: z.number().default(5), steps: z.number().int().default(10) },
  },
  async ({ seconds, steps }, extra) => {
    steps = Math.max(1, steps);
    const token = extra._meta?.progressToken;
    mark("started", extra, 0);
    for (let step = 1; step <= steps; step++) {
      const aborted = await new Promise((resolve) => {
        if (extra.signal.aborted) return resolve(true);
        const timer = setTimeout(() => resolve(false), (seconds * 1000) / steps);
        extra.signal.addEventListener("abort", () => { clearTimeout(timer); resolve(true); },
                                       { once: true });
      });
      if (aborted) {
        mark("cancelled", extra, step - 1);
        // The SDK drops the result of an aborted request: nothing reaches the client.
        return { content: [{ type: "text", text: "cancelled" }] };
      }
      if (token !== undefined) {
        await extra.sendNotification({
          method: "notifications/progress",
          params: { progressToken: token, progress: step, total: steps, message: `step ${step}/${steps}` },
        });
      }
    }
    mark("completed", extra, steps);
    return { content: [{ type: "text", text: `slept ${seconds} s in ${steps} steps` }] };
  },
);

await server.connect(new StdioServerTransport());
