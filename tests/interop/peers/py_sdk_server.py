#!/usr/bin/env python3
"""Interop peer: a stdio MCP server built on the official Python SDK (PyPI ``mcp`` 2.x).

Run it with the peers' venv interpreter ($MCP_REF_PEERS/venv/bin/python). Tools:

  echo {text}                 the text back, unchanged, as one text content block
  slow {seconds=5, steps=10}  sleeps ``seconds`` in ``steps`` slices; after each slice reports
                              progress (the SDK sends it only when the call carried
                              ``_meta.progressToken``); notifications/cancelled aborts it

For the tests to read, it writes one marker line to stderr when ``slow`` starts, completes or
is cancelled: ``py_sdk_server: slow <event> request=<id> step=<n>``.
"""

import sys

import anyio
from mcp.server.mcpserver import Context, MCPServer

server = MCPServer(name="interop-py-sdk-server", version="1.0.0", log_level="WARNING")


def mark(event: str, ctx: Context, step: int) -> None:
    sys.stderr.write(f"py_sdk_server: slow {event} request={ctx.request_id} step={step}\n")
    sys.stderr.flush()


@server.tool(description="Return the text unchanged.", structured_output=False)
def echo(text: str) -> str:
    return text


@server.tool(description="Sleep in steps, reporting progress after each; honours cancellation.",
             structured_output=False)
async def slow(ctx: Context, seconds: float = 5.0, steps: int = 10) -> str:
    steps = max(1, int(steps))
    done = 0
    mark("started", ctx, done)
    try:
        for done in range(1, steps + 1):
            await anyio.sleep(seconds / steps)
            await ctx.report_progress(done, steps, f"step {done}/{steps}")
    except anyio.get_cancelled_exc_class():
        mark("cancelled", ctx, done)
        raise
    mark("completed", ctx, done)
    return f"slept {seconds:g} s in {steps} steps"


if __name__ == "__main__":
    server.run("stdio")
