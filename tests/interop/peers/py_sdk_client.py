#!/usr/bin/env python3
"""Interop peer: the official Python SDK's client (PyPI ``mcp`` 2.x) driving a stdio server.

    $MCP_REF_PEERS/venv/bin/python py_sdk_client.py --mode legacy|auto [--cwd DIR] [--env JSON] -- CMD [ARGS...]

Runs one fixed scenario against a server that has mcp_ref's reference tools (``echo``,
``slow``) and prints one JSON object on stdout with what the SDK saw:

  connect          the handshake: protocol_version, server_info, capabilities, instructions
                   (with --mode auto the SDK probes ``server/discover`` first and falls back
                   to ``initialize`` when the server does not speak the 2026 era)
  tools            tools/list names
  echo             the text the echo tool returned for a non-ASCII argument
  progress         slow(0.6 s, 4 steps) with a progress callback: every (progress, total,
                   message) and the result text
  cancel           slow(1.5 s, 15 steps), abandoned (anyio cancel scope) once its first
                   progress arrived; the SDK then sends notifications/cancelled. Then a ping,
                   and a second slow call that outlasts the first one's natural end, so a
                   late response to the cancelled call would have reached the wire by then
  close_seconds    how long leaving ``async with Client`` took (stdin close, wait, kill)

Every wait is bounded (``WAIT`` seconds); a step that fails records {"error": "..."} and the
scenario stops there, so the test reports which step broke.
"""

import argparse
import json
import sys
import time
import traceback
import warnings

import anyio
from mcp import Client, StdioServerParameters

warnings.filterwarnings("ignore", message=".*2026-07-28.*")   # ping is fine in a legacy session
WAIT = 20.0     # any one request
TOTAL = 60.0    # the whole scenario, handshake and close included
TEXT = "ü 漢 🎉 a\nb \u2028 end"   # = interop_kit.UNICODE_TEXT


async def scenario(args, out):
    params = StdioServerParameters(command=args.cmd[0], args=args.cmd[1:], cwd=args.cwd,
                                   env=json.loads(args.env) if args.env else None)
    step = "connect"
    started = time.monotonic()
    closing = None
    try:
        with anyio.fail_after(TOTAL):
            async with Client(params, mode=args.mode, cache=None,
                              read_timeout_seconds=WAIT) as client:
                await steps(client, out, started)
                step = out["last_step"]
                closing = time.monotonic()
    except BaseException as exc:
        out.setdefault("failed_step", out.get("last_step", step))
        out["error"] = f"{type(exc).__name__}: {exc}"
        out["traceback"] = traceback.format_exc()
        raise
    finally:
        if closing is not None:
            out["close_seconds"] = round(time.monotonic() - closing, 3)


async def steps(client, out, started):
    out["last_step"] = "connect"
    out["connect"] = {
        "seconds": round(time.monotonic() - started, 3),
        "protocol_version": client.protocol_version,
        "server_info": client.server_info.model_dump(exclude_none=True)
        if client.server_info else None,
        "capabilities": client.server_capabilities.model_dump(exclude_none=True),
        "instructions": client.instructions,
    }
    out["last_step"] = "tools"
    out["tools"] = [tool.name for tool in (await client.list_tools()).tools]
    out["last_step"] = "echo"
    result = await client.call_tool("echo", {"text": TEXT})
    out["echo"] = {"sent": TEXT, "is_error": result.is_error,
                   "texts": [c.text for c in result.content if c.type == "text"]}

    out["last_step"] = "progress"
    seen = []

    async def on_progress(progress, total, message):
        seen.append([progress, total, message])

    result = await client.call_tool("slow", {"seconds": 0.6, "steps": 4},
                                    progress_callback=on_progress)
    out["progress"] = {"notifications": seen, "is_error": result.is_error,
                       "texts": [c.text for c in result.content if c.type == "text"]}

    out["last_step"] = "cancel"
    first_progress = anyio.Event()
    cancelled_seen = []

    async def on_cancelled_progress(progress, total, message):
        cancelled_seen.append([progress, total, message])
        first_progress.set()

    outcome = {}

    async def doomed_call():
        try:
            await client.call_tool("slow", {"seconds": 1.5, "steps": 15},
                                   progress_callback=on_cancelled_progress)
            outcome["completed"] = True
        except anyio.get_cancelled_exc_class():
            outcome["cancelled"] = True
            raise

    async with anyio.create_task_group() as group:
        group.start_soon(doomed_call)
        with anyio.fail_after(WAIT):
            await first_progress.wait()
        group.cancel_scope.cancel()       # abandon the call: the SDK sends the cancel
    out["cancel"] = {"outcome": outcome, "progress_before_cancel": list(cancelled_seen)}
    await client.send_ping()
    out["cancel"]["ping_after_cancel"] = True
    result = await client.call_tool("slow", {"seconds": 1.6, "steps": 2})
    out["cancel"]["next_call_texts"] = [c.text for c in result.content if c.type == "text"]
    out["cancel"]["progress_total"] = list(cancelled_seen)
    out["last_step"] = "close"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("legacy", "auto"), required=True)
    parser.add_argument("--cwd")
    parser.add_argument("--env", help="JSON object of extra environment variables")
    parser.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.cmd[:1] == ["--"]:
        args.cmd = args.cmd[1:]
    if not args.cmd:
        parser.error("the server command goes after --")
    out = {"mode": args.mode}
    code = 0
    try:
        anyio.run(scenario, args, out)
    except BaseException:
        code = 1
    print(json.dumps(out, ensure_ascii=False))
    return code


if __name__ == "__main__":
    sys.exit(main())
