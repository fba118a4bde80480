"""The floor: a raw Python parent driving raw_echo_child.py over pipes. Prints one JSON object.

Two parent styles (``--mode``):

* ``direct``: write, flush, then block on ``readline`` in the same thread: the absolute floor;
* ``thread``: a reader thread parses each line and hands it over a ``queue.Queue``, as any
  client that must also receive unsolicited messages does (a thread hand-off per reply).

Measured, in this order, in one process: spawn -> first reply (the median of ``--spawns``
samples: this one, and more taken at the end, each child closed again); idle peak RSS of both
processes; N ping round trips; N sequential tools/call echoes; pipelined tools/call bursts
(``thread`` only: a direct parent that writes 10 000 requests before reading would deadlock
on full pipes); 1/8/40 MiB echo round trips with both peak RSS after each; close time
(stdin closed -> child reaped).

Usage: python3 floor_driver.py --mode thread [--n 2000] [--windows 1,10,100,10000]
       [--pipeline-total 2000] [--payloads 1,8,40] [--spawns 5]
"""

import argparse
import json
import os
import queue
import subprocess
import sys
import threading
import time
from typing import Any, Dict

from _common import MIB, burst_count, burst_entry, emit, int_list, more_spawn_samples, ms, \
    payload_text, proc_status_kb, self_peak_rss_kb, sequential_figures

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "raw_echo_child.py")
#: Bound on any single wait for a reply (the runner also bounds the whole driver).
REPLY_TIMEOUT = 300.0


def _frame(msg: Dict[str, Any]) -> bytes:
    return (json.dumps(msg, separators=(",", ":")) + "\n").encode()


class Peer:
    def __init__(self, proc: "subprocess.Popen[bytes]", mode: str) -> None:
        self.proc = proc
        self.mode = mode
        self.next_id = 0
        if mode == "thread":
            self.replies: "queue.Queue[Any]" = queue.Queue()
            self.reader = threading.Thread(target=self._read, daemon=True, name="floor-reader")
            self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.replies.put(json.loads(line))
        self.replies.put(None)

    def send(self, msg: Dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(_frame(msg))
        self.proc.stdin.flush()

    def recv(self) -> Dict[str, Any]:
        if self.mode == "thread":
            reply = self.replies.get(timeout=REPLY_TIMEOUT)
        else:
            assert self.proc.stdout is not None
            line = self.proc.stdout.readline()
            reply = json.loads(line) if line else None
        if reply is None:
            raise RuntimeError("the floor child closed its stdout")
        return reply

    def ping(self) -> None:
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": "ping"})
        reply = self.recv()
        assert reply["id"] == self.next_id

    def echo_msg(self, text: str) -> Dict[str, Any]:
        self.next_id += 1
        return {"jsonrpc": "2.0", "id": self.next_id, "method": "tools/call",
                "params": {"name": "echo", "arguments": {"text": text}}}

    def echo(self, text: str) -> str:
        msg = self.echo_msg(text)
        self.send(msg)
        reply = self.recv()
        assert reply["id"] == msg["id"]
        return reply["result"]["content"][0]["text"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=("direct", "thread"), required=True)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--windows", default="1,10,100,10000")
    ap.add_argument("--pipeline-total", type=int, default=2000)
    ap.add_argument("--payloads", default="1,8,40", help="MiB, comma-separated ('' for none)")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--spawns", type=int, default=5, help="spawn -> first reply samples")
    args = ap.parse_args()
    windows = int_list(args.windows)
    payloads = int_list(args.payloads)
    out: Dict[str, Any] = {"mode": args.mode, "n": args.n}

    t0 = time.perf_counter()
    proc = subprocess.Popen([args.python, CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        peer = Peer(proc, args.mode)
        peer.ping()
        out["spawn_to_first_reply_ms"] = ms(time.perf_counter() - t0)
        out["server_idle_peak_rss_kb"] = proc_status_kb(proc.pid, "VmHWM")
        out["client_idle_peak_rss_kb"] = proc_status_kb("self", "VmHWM")

        sequential_figures(out, peer.ping, peer.echo, args.n, proc.pid)
        out["server_peak_rss_after_loops_kb"] = proc_status_kb(proc.pid, "VmHWM")
        out["client_peak_rss_after_loops_kb"] = proc_status_kb("self", "VmHWM")

        if args.mode == "thread":
            out["pipelined"] = {str(w): pipelined(peer, w, args.pipeline_total) for w in windows}

        out["payloads"] = {}
        for mib in payloads:
            text = payload_text(mib * MIB)
            t = time.perf_counter()
            echoed = peer.echo(text)
            elapsed = time.perf_counter() - t
            assert echoed == text
            del echoed
            out["payloads"][str(mib)] = {
                "round_trip_ms": ms(elapsed),
                "server_peak_rss_kb": proc_status_kb(proc.pid, "VmHWM"),
                "client_peak_rss_kb": self_peak_rss_kb(),
            }
            del text

        assert proc.stdin is not None
        t = time.perf_counter()
        proc.stdin.close()
        proc.wait(timeout=30)
        out["close_ms"] = ms(time.perf_counter() - t)
        out["exit_code"] = proc.returncode
        if args.mode == "thread":
            peer.reader.join(5)
        out["client_peak_rss_kb"] = self_peak_rss_kb()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    more_spawn_samples(out, "spawn_to_first_reply_ms", out["spawn_to_first_reply_ms"],
                       lambda: spawn_sample(args.python, args.mode), args.spawns)
    emit(out)


def spawn_sample(python: str, mode: str) -> float:
    """One more spawn -> first reply (ms), then the child is closed and reaped."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([python, CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        peer = Peer(proc, mode)
        peer.ping()
        elapsed = ms(time.perf_counter() - t0)
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)
        if mode == "thread":
            peer.reader.join(5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    return elapsed


def pipelined(peer: Peer, window: int, base_total: int) -> Dict[str, Any]:
    """Bursts of ``window`` requests written back to back, then all their replies read."""
    bursts = burst_count(window, base_total)
    t = time.perf_counter()
    for _ in range(bursts):
        first = peer.next_id + 1
        for _ in range(window):
            peer.send(peer.echo_msg("hello"))
        for k in range(window):
            reply = peer.recv()
            assert reply["id"] == first + k
    elapsed = time.perf_counter() - t
    return burst_entry(bursts * window, bursts * window, 0, elapsed)


if __name__ == "__main__":
    main()
