"""In-process micro-benchmark of mcp_ref's per-message CPU, layer by layer (no pipes, no
processes): what one ping and one echo tools/call cost in the sans-I/O core, and then through
the blocking shell's Session (locks, wire order, PendingRequest), both peers in one thread.

It is the profiling companion of run.py: run.py says how far from the floor mcp_ref is; this
says which layer the microseconds are spent in. No target, no assertion.

Usage: python3 tests/bench/core_micro.py [--n 20000] [--profile core|session]
"""

import argparse
import cProfile
import os
import pstats
import sys
import time
from typing import Any, Callable, Dict, List

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from mcp_ref import events as ev  # noqa: E402
from mcp_ref.connection import Connection  # noqa: E402
from mcp_ref.framing import decode, encode  # noqa: E402
from mcp_ref.lifecycle import Role  # noqa: E402
from mcp_ref.session import Session  # noqa: E402

ECHO = {"name": "echo", "arguments": {"text": "hello"}}
RESULT = {"content": [{"type": "text", "text": "hello"}], "isError": False}


def _pair() -> "tuple[Connection, Connection]":
    client = Connection(Role.CLIENT)
    server = Connection(Role.SERVER, capabilities={"tools": {}})
    _, data = client.initialize()
    server.receive_data(data)
    client.receive_data(server.data_to_send())
    server.receive_data(client.data_to_send())
    return client, server


def floor_round(n: int) -> float:
    """What the floor child does per message, both ends: decode + encode, twice."""
    msg = encode({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": ECHO})
    t = time.perf_counter()
    for i in range(n):
        req = decode(msg[:-1])
        reply = encode({"jsonrpc": "2.0", "id": req["id"], "result": RESULT})
        decode(reply[:-1])
    return (time.perf_counter() - t) / n * 1e6


def core_round(n: int, method: str) -> float:
    client, server = _pair()
    params = ECHO if method == "tools/call" else None
    t = time.perf_counter()
    for _ in range(n):
        _, data = client.send_request(method, params)
        for event in server.receive_data(data):
            if isinstance(event, ev.RequestReceived):
                server._outbox += server.send_response(event.id, RESULT)
        client.receive_data(server.data_to_send())
    return (time.perf_counter() - t) / n * 1e6


def session_round(n: int, method: str) -> float:
    client_conn, server_conn = _pair()
    to_server: List[bytes] = []
    to_client: List[bytes] = []
    client = Session(client_conn, to_server.append, request_timeout=60.0, max_total_timeout=None)
    server = Session(server_conn, to_client.append, request_timeout=60.0, max_total_timeout=None)
    params = ECHO if method == "tools/call" else None

    def handle(event: Any) -> None:
        if isinstance(event, ev.RequestReceived):
            server.respond(event.id, RESULT)

    t = time.perf_counter()
    for _ in range(n):
        pending = client.send_request(method, params)
        server.feed(to_server.pop(), handle)
        client.feed(to_client.pop(), handle)
        pending.result()
    return (time.perf_counter() - t) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--profile", choices=("core", "session"))
    args = ap.parse_args()
    if args.profile:
        fn: Callable[[int, str], float] = core_round if args.profile == "core" else session_round
        profiler = cProfile.Profile()
        profiler.runcall(fn, args.n, "tools/call")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
        return
    rows: Dict[str, float] = {}
    for _ in range(3):        # best of three: the least-disturbed run
        for name, fn in (("floor: decode+encode, both ends", lambda: floor_round(args.n)),
                         ("core: ping", lambda: core_round(args.n, "ping")),
                         ("core: echo tools/call", lambda: core_round(args.n, "tools/call")),
                         ("session: ping", lambda: session_round(args.n, "ping")),
                         ("session: echo tools/call",
                          lambda: session_round(args.n, "tools/call"))):
            value = fn()
            rows[name] = min(rows.get(name, value), value)
    for name, value in rows.items():
        print(f"{name:<36} {value:8.1f} us per round trip (both peers, one thread)")


if __name__ == "__main__":
    main()
