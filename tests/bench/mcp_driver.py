"""mcp_ref's pair: mcp_ref.client.Client driving ``python3 -m mcp_ref serve``. Prints one JSON object.

The runner starts this script in a fresh interpreter for every repetition, so its peak RSS
and its import of mcp_ref are measured cleanly. Measured, in this order:

1. ``import mcp_ref.client`` (in-process wall time; the runner also measures it against a
   bare ``python -c pass``), then spawn -> initialized (``Client.spawn`` returns; the median
   of ``--spawns`` samples: this one, and more taken at the end, each server closed again);
2. idle peak RSS of both processes right after the handshake;
3. N ping round trips and N sequential ``echo`` tools/call;
4. 1/8/40 MiB ``echo`` round trips, with both peak RSS after each;
5. bursts of 100 and 10 000 pipelined calls against the stock server, counting the
   -32603 "Server busy" refusals of its in-flight limit (64): none since ``echo`` runs
   inline (D-70), but a regression would show here;
6. close: ``Client.close()`` wall time and ``ShutdownReport.total_seconds``;
7. pipelined bursts of 1, 10, 100 and 10 000 ``call_tool_async`` handles against
   bench_server.py with the in-flight limit raised (everything else as ``serve``).

``--profile-dir DIR --profile-what ping|echo [--profile-clock cpu|wall]`` instead runs N
pings or echoes with every thread of both processes under cProfile and writes
DIR/client_<what>.prof and DIR/server_<what>.prof.
"""

import argparse
import os
import sys
import time
from typing import Any, Dict, List

from _common import MIB, ThreadProfiler, burst_count, burst_entry, emit, int_list, \
    more_spawn_samples, ms, payload_text, proc_status_kb, self_peak_rss_kb, sequential_figures

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH_SERVER = os.path.join(HERE, "bench_server.py")
#: Deadline of one request: generous, but every wait ends.
TIMEOUT = 300.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--windows", default="1,10,100,10000")
    ap.add_argument("--pipeline-total", type=int, default=2000)
    ap.add_argument("--refusal-windows", default="100,10000")
    ap.add_argument("--payloads", default="1,8,40", help="MiB, comma-separated ('' for none)")
    ap.add_argument("--spawns", type=int, default=5, help="spawn -> initialized samples")
    ap.add_argument("--profile-dir", default=None)
    ap.add_argument("--profile-what", choices=("ping", "echo"), default="echo")
    ap.add_argument("--profile-clock", choices=("cpu", "wall"), default="cpu")
    args = ap.parse_args()

    t = time.perf_counter()
    from mcp_ref.client import Client
    import_ms = ms(time.perf_counter() - t)
    if args.profile_dir:
        emit(profile(Client, args))
        return

    out: Dict[str, Any] = {"n": args.n, "client_import_ms": import_ms}
    stock = [sys.executable, "-m", "mcp_ref", "serve"]
    t0 = time.perf_counter()
    client = Client.spawn(stock, request_timeout=TIMEOUT)
    try:
        out["spawn_to_initialized_ms"] = ms(time.perf_counter() - t0)
        out["protocol_version"] = client.protocol_version
        out["server_idle_peak_rss_kb"] = proc_status_kb(client.pid, "VmHWM")
        out["client_idle_peak_rss_kb"] = proc_status_kb("self", "VmHWM")

        sequential_figures(
            out, client.ping,
            lambda text: client.call_tool("echo", {"text": text})["content"][0]["text"],
            args.n, client.pid)
        out["server_peak_rss_after_loops_kb"] = proc_status_kb(client.pid, "VmHWM")
        out["client_peak_rss_after_loops_kb"] = proc_status_kb("self", "VmHWM")

        out["payloads"] = {}
        for mib in int_list(args.payloads):
            text = payload_text(mib * MIB)
            t = time.perf_counter()
            result = client.call_tool("echo", {"text": text})
            elapsed = time.perf_counter() - t
            assert result["content"][0]["text"] == text
            del result
            out["payloads"][str(mib)] = {
                "round_trip_ms": ms(elapsed),
                "server_peak_rss_kb": proc_status_kb(client.pid, "VmHWM"),
                "client_peak_rss_kb": self_peak_rss_kb(),
            }
            del text

        out["stock_bursts"] = {str(w): burst(client, w, w) for w in int_list(args.refusal_windows)}

        t = time.perf_counter()
        report = client.close()
        out["close_ms"] = ms(time.perf_counter() - t)
        out["close_report_ms"] = ms(report.total_seconds)
        out["close_steps"] = list(report.steps)
        out["exit_code"] = report.exit_code
    finally:
        client.close()

    windows = int_list(args.windows)
    if windows:
        unlimited = [sys.executable, BENCH_SERVER, "--max-in-flight", "1000000000"]
        with Client.spawn(unlimited, request_timeout=TIMEOUT) as client:
            for _ in range(20):
                client.call_tool("echo", {"text": "hello"})
            out["pipelined"] = {str(w): burst(client, w, args.pipeline_total) for w in windows}
            out["client_peak_rss_after_pipelined_kb"] = self_peak_rss_kb()
    out["client_peak_rss_kb"] = self_peak_rss_kb()
    more_spawn_samples(out, "spawn_to_initialized_ms", out["spawn_to_initialized_ms"],
                       lambda: spawn_sample(Client, stock), args.spawns)
    emit(out)


def spawn_sample(client_class: Any, argv: List[str]) -> float:
    """One more spawn -> initialized (ms), then the server is closed (stdin, then signals)."""
    t0 = time.perf_counter()
    client = client_class.spawn(argv, request_timeout=TIMEOUT)
    try:
        return ms(time.perf_counter() - t0)
    finally:
        client.close()


def burst(client: Any, window: int, base_total: int) -> Dict[str, Any]:
    """Bursts of ``window`` call_tool_async handles, then every result; per-message cost."""
    from mcp_ref.errors import PeerError
    bursts = burst_count(window, base_total)
    ok = refused = other = 0
    t = time.perf_counter()
    for _ in range(bursts):
        handles = [client.call_tool_async("echo", {"text": "hello"}) for _ in range(window)]
        for handle in handles:
            try:
                handle.result()
                ok += 1
            except PeerError as exc:
                if exc.code == -32603 and "busy" in str(exc).lower():
                    refused += 1
                else:
                    other += 1
    return burst_entry(bursts * window, ok, other, time.perf_counter() - t,
                       refused_busy=refused)


def profile(client_class: Any, args: argparse.Namespace) -> Dict[str, Any]:
    """N pings or echoes with every thread of both processes under cProfile."""
    os.makedirs(args.profile_dir, exist_ok=True)
    server_out = os.path.join(args.profile_dir, "server_%s.prof" % args.profile_what)
    client_out = os.path.join(args.profile_dir, "client_%s.prof" % args.profile_what)
    profiler = ThreadProfiler(args.profile_clock)
    profiler.install()
    client = client_class.spawn([sys.executable, BENCH_SERVER, "--profile", server_out,
                                 "--profile-clock", args.profile_clock],
                                request_timeout=TIMEOUT, stdin_grace=15.0)

    def one(i: int) -> None:
        if args.profile_what == "ping":
            client.ping()
        else:
            client.call_tool("echo", {"text": "hello %d" % i})

    try:
        for i in range(20):          # the other threads' profiles include these 20
            one(i)
        profiler.main_profile.enable()
        t = time.perf_counter()
        cpu = time.process_time()
        for i in range(args.n):
            one(i)
        elapsed = time.perf_counter() - t
        cpu = time.process_time() - cpu
        profiler.main_profile.disable()
    finally:
        report = client.close()
    alive = profiler.join_others(5.0)
    threads = profiler.dump(client_out)
    return {"what": args.profile_what, "n": args.n, "clock": args.profile_clock,
            "elapsed_ms": ms(elapsed), "client_cpu_ms": ms(cpu),
            "client_prof": client_out, "server_prof": server_out,
            "server_written": os.path.exists(server_out), "close_steps": list(report.steps),
            "client_threads": threads["threads"], "client_threads_alive": alive}


if __name__ == "__main__":
    main()
