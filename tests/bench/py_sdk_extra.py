"""The official Python SDK's pair, for the figures the shared peer script does not measure.

Run with the peers' venv python (the one with PyPI ``mcp``)::

    /tmp/mcp_ref_peers/venv/bin/python py_sdk_extra.py [--windows 1,10,100,10000]
        [--pipeline-total 2000] [--payloads 1,8,40] [--timeout 60] [--budget 240]
        [--echo-tool echo] [--echo-arg text] -- SERVER_CMD [ARGS...]

The SDK's own ``mcp.Client`` drives the SDK's own server (``../shared/peers/py_sdk_server.py``)
over stdio, as ``py_sdk_client.py`` of the shared folder does (``mode="legacy"``, no cache).
Measured, in this order, as mcp_driver.py does for mcp_ref:

1. 1/8/40 MiB ``echo`` round trips, with the peak RSS (VmHWM) of both processes after each;
2. on a fresh connection, pipelined ``echo`` calls: bursts of ``window`` concurrent
   ``call_tool`` tasks (one anyio task group per burst: the ``window`` requests are all sent,
   then the burst ends when all their replies are in), ``ceil(total / window)`` bursts.

Every wait is bounded: a figure by ``--timeout`` s and by what is left of ``--budget``. A
figure that fails or runs out of time gets ``{"error": reason}`` instead of its time, and
the next figure gets a fresh connection. Prints one JSON object, in mcp_driver.py's shape.
"""

import argparse
import math
import sys
import time
from typing import Any, Awaitable, Callable, Dict, List, Tuple

sys.dont_write_bytecode = True   # run from the repository: leave no __pycache__ in it

import anyio  # noqa: E402
from mcp import Client, StdioServerParameters  # noqa: E402

from _common import MIB, burst_count, burst_entry, child_pids, emit, int_list, ms, \
    payload_text, proc_status_kb, self_peak_rss_kb  # noqa: E402

#: Bound of closing one connection (the SDK's own shutdown waits add up to ~6.5 s).
CLOSE_BOUND = 15.0

Figure = Callable[[Any, int], Awaitable[Dict[str, Any]]]
Job = Tuple[str, str, Figure]          # (group, name, figure)


class Budget:
    """What is left of the driver's time, and the bound of the next figure."""

    def __init__(self, total: float, per_figure: float) -> None:
        self.end = time.monotonic() + total
        self.per_figure = per_figure

    def figure(self) -> float:
        return max(0.0, min(self.per_figure, self.end - time.monotonic() - CLOSE_BOUND))


def failure(exc: BaseException, timeout: float, context: str = "") -> Dict[str, Any]:
    """A failed figure's entry: ``error`` short enough for a table cell, ``error_detail``."""
    while getattr(exc, "exceptions", None):     # an ExceptionGroup: its first leaf
        exc = exc.exceptions[0]                  # type: ignore[attr-defined]
    if isinstance(exc, TimeoutError):
        text = short = "timed out (%g s)" % timeout
    else:
        text = "%s: %s" % (type(exc).__name__, exc)
        short = str(exc) or text
        if len(short) > 40:
            short = short[:short.rfind(" ", 0, 37) + 1 or 37] + "..."
    return {"error": short, "error_detail": context + (text[:200])}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--windows", default="1,10,100,10000")
    ap.add_argument("--pipeline-total", type=int, default=2000)
    ap.add_argument("--payloads", default="1,8,40", help="MiB, comma-separated ('' for none)")
    ap.add_argument("--timeout", type=float, default=60.0, help="bound of one figure, s")
    ap.add_argument("--budget", type=float, default=240.0, help="bound of the whole run, s")
    ap.add_argument("--echo-tool", default="echo")
    ap.add_argument("--echo-arg", default="text")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    if args.cmd and args.cmd[0] == "--":
        args.cmd = args.cmd[1:]
    if not args.cmd:
        ap.error("server command required after --")
    emit(anyio.run(run, args))


async def run(args: argparse.Namespace) -> Dict[str, Any]:
    from importlib.metadata import version
    budget = Budget(args.budget, args.timeout)
    params = StdioServerParameters(command=args.cmd[0], args=args.cmd[1:])

    async def echo(client: Any, text: str) -> str:
        result = await client.call_tool(args.echo_tool, {args.echo_arg: text})
        if result.is_error:
            raise RuntimeError("tool error: %s" % " ".join(
                getattr(c, "text", "") for c in result.content))
        return result.content[0].text

    def payload(mib: int) -> Figure:
        async def figure(client: Any, server_pid: int) -> Dict[str, Any]:
            text = payload_text(mib * MIB)
            t = time.perf_counter()
            echoed = await echo(client, text)
            elapsed = time.perf_counter() - t
            if echoed != text:
                raise RuntimeError("the echo differs from the payload")
            return {"round_trip_ms": ms(elapsed)}
        return figure

    def pipelined(window: int) -> Figure:
        async def figure(client: Any, server_pid: int) -> Dict[str, Any]:
            bursts = burst_count(window, args.pipeline_total)

            async def one() -> None:
                if await echo(client, "hello") != "hello":
                    raise RuntimeError("an echo differs")

            t = time.perf_counter()
            for _ in range(bursts):
                async with anyio.create_task_group() as tg:
                    for _ in range(window):
                        tg.start_soon(one)
            elapsed = time.perf_counter() - t
            return burst_entry(bursts * window, bursts * window, 0, elapsed)
        return figure

    out: Dict[str, Any] = {"sdk": "mcp (PyPI) %s" % version("mcp"), "server_cmd": args.cmd,
                           "figure_timeout_s": args.timeout, "payloads": {}, "pipelined": {}}
    await run_jobs(params, [("payloads", str(m), payload(m)) for m in int_list(args.payloads)],
                   out, budget, echo)
    await run_jobs(params, [("pipelined", str(w), pipelined(w)) for w in int_list(args.windows)],
                   out, budget, echo)
    out["client_peak_rss_kb"] = self_peak_rss_kb()
    return out


async def run_jobs(params: StdioServerParameters, jobs: List[Job], out: Dict[str, Any],
                   budget: Budget, echo: Callable[[Any, str], Awaitable[str]]) -> None:
    """Run ``jobs`` on one connection, on a fresh one after a failure; fill ``out``."""
    pending = list(jobs)
    while pending:
        connected = False
        bound = budget.figure()
        if bound <= 0:
            for group, name, _ in pending:
                out[group][name] = {"error": "skipped: out of time"}
            return
        before = set(child_pids())
        try:
            # One scope bounds the handshake, then (deadline lifted: each figure has its own
            # bound) the figures, then the close.
            with anyio.CancelScope(deadline=anyio.current_time() + bound) as scope:
                async with Client(params, mode="legacy", cache=None) as client:
                    connected = True
                    scope.deadline = math.inf
                    try:
                        server_pid = ([p for p in child_pids() if p not in before] or [0])[0]
                        await run_connected(client, server_pid, pending, out, budget, echo)
                    finally:
                        scope.deadline = anyio.current_time() + CLOSE_BOUND
            if not connected:
                raise TimeoutError()
        except Exception as exc:
            if not connected:                  # spawn or handshake failed: stop here
                for group, name, _ in pending:
                    out[group][name] = failure(exc, bound, "connect: ")
                return
            if pending:                        # failed between figures: blame the next one
                group, name, _ = pending.pop(0)
                out[group][name] = failure(exc, bound)


async def run_connected(client: Any, server_pid: int, pending: List[Job], out: Dict[str, Any],
                        budget: Budget, echo: Callable[[Any, str], Awaitable[str]]) -> None:
    """Warm up, then run figures until one fails (popping each from ``pending``)."""
    bound = budget.figure()
    try:
        with anyio.fail_after(bound):
            for _ in range(20):
                await echo(client, "hello")
    except Exception as exc:                   # blame the next figure
        group, name, _ = pending.pop(0)
        out[group][name] = failure(exc, bound, "warm-up: ")
        return
    while pending:
        group, name, figure = pending.pop(0)
        timeout = budget.figure()
        if timeout <= 0:
            out[group][name] = {"error": "skipped: out of time"}
            continue
        entry: Dict[str, Any]
        try:
            with anyio.fail_after(timeout):
                entry = await figure(client, server_pid)
        except Exception as exc:
            entry = failure(exc, timeout)
        entry["server_peak_rss_kb"] = proc_status_kb(server_pid, "VmHWM")
        entry["client_peak_rss_kb"] = self_peak_rss_kb()
        out[group][name] = entry
        if "error" in entry:
            return                             # the next figure gets a fresh connection


if __name__ == "__main__":
    main()
