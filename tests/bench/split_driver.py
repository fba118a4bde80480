"""Which side of mcp_ref costs what: each half of the mcp_ref pair against the floor's other
half. Prints one JSON object.

* ``server_side``: the floor's reader-thread parent (floor_driver.py ``--mode thread``)
  driving ``python3 -m mcp_ref serve``, after a plain initialize / initialized exchange;
* ``client_side``: ``mcp_ref.client.Client`` driving raw_echo_child.py, the floor's child
  (which answers ``initialize`` just well enough for that).

Each half: N ping round trips and N sequential ``echo`` tools/call, measured as every other
driver measures them (``_common.sequential_figures``). Set against the floor thread's figures
(floor client + floor child) and the full mcp_ref pair, they say how much of mcp_ref's
distance from the floor each process accounts for (decision D-29).

Usage: python3 split_driver.py [--n 2000]
"""

import argparse
import os
import subprocess
import sys
from typing import Any, Dict

from _common import emit, sequential_figures
from floor_driver import Peer

HERE = os.path.dirname(os.path.abspath(__file__))
RAW_CHILD = os.path.join(HERE, "raw_echo_child.py")
#: Deadline of one request: generous, but every wait ends.
TIMEOUT = 300.0


def server_side(n: int) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    proc = subprocess.Popen([sys.executable, "-m", "mcp_ref", "serve"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    try:
        peer = Peer(proc, "thread")
        peer.next_id += 1
        peer.send({"jsonrpc": "2.0", "id": peer.next_id, "method": "initialize",
                   "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                              "clientInfo": {"name": "split_driver", "version": "0"}}})
        reply = peer.recv()
        assert "result" in reply, reply
        peer.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        sequential_figures(out, peer.ping, peer.echo, n, proc.pid)
        assert proc.stdin is not None
        proc.stdin.close()
        out["exit_code"] = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    return out


def client_side(n: int) -> Dict[str, Any]:
    from mcp_ref.client import Client
    out: Dict[str, Any] = {}
    client = Client.spawn([sys.executable, RAW_CHILD], request_timeout=TIMEOUT)
    try:
        sequential_figures(
            out, client.ping,
            lambda text: client.call_tool("echo", {"text": text})["content"][0]["text"],
            n, client.pid)
    finally:
        report = client.close()
    out["exit_code"] = report.exit_code
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    emit({"n": args.n, "server_side": server_side(args.n), "client_side": client_side(args.n)})


if __name__ == "__main__":
    main()
