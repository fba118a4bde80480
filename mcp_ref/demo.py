"""``python3 -m mcp_ref demo``: one whole MCP session, narrated against the spec.

It spawns the reference server (``python3 -m mcp_ref serve``) and walks through the three
phases of https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle, printing
what happens and which catalogue rule each step carries out.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from . import spec
from .client import Client
from .errors import PeerError, RequestCancelled, RequestTimeout

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    from typing import Optional


def _say(step: str, ids: str, text: str) -> None:
    print(f"\n== {step}  [{ids}]\n   {text}")


def _detail(text: str) -> None:
    print(f"   {text}")


class _ProgressBar:
    """A live bar on a terminal, plain lines otherwise (PR-04: progress, total, message)."""

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        self.count = 0

    def __call__(self, progress: float, total: Optional[float], message: Optional[str]) -> None:
        self.count += 1
        if total:
            filled = int(30 * progress / total)
            text = f"[{'#' * filled}{'.' * (30 - filled)}] {progress:g}/{total:g} {message or ''}"
        else:
            text = f"progress {progress:g} {message or ''}"
        if self.tty:
            sys.stdout.write("\r   " + text)
            sys.stdout.flush()
        else:
            print("   " + text)

    def end(self) -> None:
        if self.tty and self.count:
            sys.stdout.write("\n")


def run_demo(fast: bool = False, trace: Optional[str] = None) -> int:
    scale = 0.3 if fast else 1.0
    argv = [sys.executable, "-m", "mcp_ref", "serve"]
    print(f"mcp_ref demo: MCP revision {spec.PROTOCOL_VERSION}, spec {spec.SPEC_BASE}")

    _say("Spawn the server", "TR-01", "the client starts the server as a child process: "
         + " ".join(argv))
    started = time.monotonic()
    # The child must import mcp_ref wherever the demo was started from: put this package's
    # parent folder on its PYTHONPATH (the environment is merged over ours).
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)
    client = Client.spawn(argv, env={"PYTHONPATH": path}, request_timeout=30.0, trace=trace)
    with client:
        elapsed = (time.monotonic() - started) * 1000
        _say("Initialization: initialize -> result -> notifications/initialized",
             "LC-02..LC-05", f"handshake done in {elapsed:.0f} ms")
        _detail(f"client offered protocol version {spec.SUPPORTED_VERSIONS[0]} (its newest, LC-09)")
        chosen = client.protocol_version
        _detail(f"server chose {chosen} " + ("(LC-10: the same, as it supports it)"
                                             if chosen == spec.SUPPORTED_VERSIONS[0] else
                                             "(LC-11: a counter-offer, which we also speak)"))
        _detail(f"client capabilities: {client._session.connection.capabilities or '{}'}")
        _detail(f"server capabilities: {client.server_capabilities}")
        _detail(f"server info: {client.server_info}")
        _detail("client sent notifications/initialized: the session is "
                f"{client.state.value} (lifecycle#operation)")

        started = time.monotonic()
        client.ping()
        _say("Ping", "PG-01, PG-02",
             f"round trip {(time.monotonic() - started) * 1000:.2f} ms; the answer is {{}}")

        tools = client.list_tools()
        _say("List tools", "TL-05, PN-04", ", ".join(tool["name"] for tool in tools))

        _say("A slow call with progress", "PR-01..PR-05, PR-12",
             "the request carries _meta.progressToken; the server reports each step, "
             "at most one every 0.05 s (D-47)")
        bar = _ProgressBar()
        result = client.call_tool("slow", {"seconds": 1.5 * scale, "steps": 10},
                                  on_progress=bar)
        bar.end()
        _detail(f"result: {result['content'][0]['text']!r}")

        _say("A call cancelled by the user midway", "CN-01, CN-05, CN-07",
             "notifications/cancelled goes out; the server stops and sends no response")
        third = threading.Event()
        handle = client.call_tool_async(
            "slow", {"seconds": 10 * scale, "steps": 20},
            on_progress=lambda p, t, m: third.set() if p >= 3 else None)
        third.wait(10)
        handle.cancel("the user pressed stop")
        try:
            handle.result()
        except RequestCancelled as exc:
            _detail(f"caller got RequestCancelled: {exc}")

        _say("A call that times out", "TO-01, TO-02, CN-07",
             "at the deadline the client cancels the request and stops waiting")
        try:
            client.call_tool("slow", {"seconds": 10, "steps": 10}, timeout=0.5 * scale)
        except RequestTimeout as exc:
            _detail(f"caller got RequestTimeout: {exc}")

        _say("A tool error", "ER-03, TL-11",
             "a failure inside a tool is a result with isError: true, visible to the model")
        result = client.call_tool("fail", {"message": "the disk is full"})
        _detail(f"isError={result['isError']}, text={result['content'][0]['text']!r}")
        try:
            client.call_tool("no_such_tool", {})
        except PeerError as exc:
            _detail(f"an unknown tool is a protocol error instead (ER-02): code {exc.code}, "
                    f"{exc.message!r}")

        client.ping()
        _say("Still healthy", "CN-05", "after the cancel and the timeout, ping still works")

        _say("Shutdown", "TR-13, LC-19",
             "no message: close the server's stdin, wait, then SIGTERM, then SIGKILL")
        report = client.close()
    steps = ", ".join(report.steps)
    _detail(f"steps taken: {steps}; server exit code {report.exit_code}; "
            f"{report.total_seconds * 1000:.0f} ms from closing stdin to reaping the server")
    _detail("the server exited on its own at end of stdin (TR-14: spelled out in 2026-07-28, "
            "implied here by the client's step 1), so no signal was needed"
            if report.steps == ("close_stdin",) else "the server needed a signal")
    print("\ndemo finished: every phase of the lifecycle ran.")
    return 0
