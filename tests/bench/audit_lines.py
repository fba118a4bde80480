"""How long ``serve --audit`` takes to read one big line. A benchmark, not a test: it prints
seconds and asserts nothing about time (pytest collects nothing in tests/bench).

    python3 tests/bench/audit_lines.py              # 40 MiB echo, with and without --audit
    python3 tests/bench/audit_lines.py --mib 8      # a smaller line

Two measures:

* **in-process**: an :class:`~mcp_ref.audit.Auditor` fed the line in 64 KiB chunks, as the
  server's reader hands them over. Only the auditor's own work is timed.
* **end to end**: ``python3 -m mcp_ref serve`` with and without ``--audit``, sent the
  handshake and one ``tools/call`` of the ``echo`` tool whose text is the line, stdin closed;
  wall time from spawn until the server exits.

Before the auditor searched only the new chunk for a newline (the audit review of 2026-12-06),
both grew with the square of the line's length: 16.5 s against 0.46 s for 40 MiB end to end.
The frames are written at once, so ``notifications/initialized`` reaches the server before
its initialize answer: the one violation recorded is that LC-05.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from mcp_ref.audit import Auditor  # noqa: E402

CHUNK = 64 * 1024
MIB = 1024 * 1024


def frames(mib: float) -> bytes:
    """The handshake, then one echo call whose argument makes the line ``mib`` MiB long."""
    def line(value):
        return json.dumps(value).encode() + b"\n"
    text = "x" * int(mib * MIB)
    return (line({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                  "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                             "clientInfo": {"name": "bench", "version": "0"}}})
            + line({"jsonrpc": "2.0", "method": "notifications/initialized"})
            + line({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                    "params": {"name": "echo", "arguments": {"text": text}}}))


def in_process(data: bytes, directory: str) -> float:
    auditor = Auditor(os.path.join(directory, "in-process.json"), {"tools": {}})
    started = time.perf_counter()
    for start in range(0, len(data), CHUNK):
        auditor.client_sent(data[start:start + CHUNK])
    elapsed = time.perf_counter() - started
    auditor.close()
    return elapsed


def end_to_end(data: bytes, audit: str = "") -> float:
    argv = [sys.executable, "-m", "mcp_ref", "serve"] + (["--audit", audit] if audit else [])
    started = time.perf_counter()
    proc = subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          cwd=ROOT, timeout=600)
    elapsed = time.perf_counter() - started
    assert proc.returncode == 0 and proc.stdout.count(b"\n") == 2, proc.returncode
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=float, default=40.0, help="the line's size (40)")
    args = parser.parse_args()
    data = frames(args.mib)
    with tempfile.TemporaryDirectory() as directory:
        audit = os.path.join(directory, "audit.json")
        print(f"line of {args.mib:g} MiB, fed in {CHUNK // 1024} KiB chunks")
        print(f"  auditor alone, in-process   {in_process(data, directory):8.2f} s")
        print(f"  serve                       {end_to_end(data):8.2f} s")
        print(f"  serve --audit               {end_to_end(data, audit):8.2f} s")
        with open(audit, encoding="utf-8") as recorded:
            recorded_ids = [v["id"] for v in json.load(recorded)]
            print(f"  violations recorded         {recorded_ids}")


if __name__ == "__main__":
    main()
