#!/usr/bin/env python3
"""A transparent stdio wire tap for the interop suite (standard library only).

    python3 tap.py LOGFILE -- SERVER_CMD [ARGS...]

Put it in front of a stdio MCP server: whatever spawned the tap talks to the server through
it, unchanged, and every line that crosses is recorded in LOGFILE, one JSON object a line:

    {"t": 0.123, "dir": "c2s", "line": "<raw line>"}     client -> server (our stdin)
    {"t": 0.125, "dir": "s2c", "line": "<raw line>"}     server -> client (our stdout)
    {"t": 1.500, "dir": "eof", "what": "stdin"}          the client closed our stdin
    {"t": 1.501, "dir": "signal", "signal": 15}          we got a signal (forwarded to the server)
    {"t": 1.530, "dir": "exit", "code": 0, "signal": null}   the server exited

so a test can assert on the frames exchanged, on whether the client needed a signal to stop
the server, and on the server's exit status -- and print the frames when an assertion fails.

The server's stderr is inherited (it reaches whoever reads ours). The tap exits with the
server's status; a server killed by a signal makes the tap die of the same signal, so the
process that spawned the tap sees what it would have seen without it. SIGTERM, SIGINT and
SIGHUP are forwarded to the server.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

T0 = time.monotonic()
_lock = threading.Lock()


def main() -> int:
    args = sys.argv[1:]
    if len(args) < 3 or args[1] != "--":
        sys.stderr.write("usage: tap.py LOGFILE -- SERVER_CMD [ARGS...]\n")
        return 2
    log_path, argv = args[0], args[2:]
    log = open(log_path, "a", encoding="utf-8")

    def record(entry):
        entry = dict(entry, t=round(time.monotonic() - T0, 6))
        with _lock:
            log.write(json.dumps(entry, ensure_ascii=False) + "\n")
            log.flush()

    def line_text(raw: bytes) -> str:
        return raw.rstrip(b"\n").decode("utf-8", "backslashreplace")

    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    record({"dir": "spawn", "argv": argv, "pid": proc.pid})

    def forward(signum, frame):
        record({"dir": "signal", "signal": signum})
        try:
            proc.send_signal(signum)
        except OSError:
            pass

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)

    def pump_in() -> None:
        stdin = sys.stdin.buffer
        while True:
            raw = stdin.readline()
            if not raw:
                break
            record({"dir": "c2s", "line": line_text(raw)})
            try:
                proc.stdin.write(raw)
                proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                break
        record({"dir": "eof", "what": "stdin"})
        try:
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass

    threading.Thread(target=pump_in, daemon=True, name="tap-stdin").start()
    out = sys.stdout.buffer
    stdout_open = True
    while True:
        raw = proc.stdout.readline()
        if not raw:
            break
        record({"dir": "s2c", "line": line_text(raw)})
        if stdout_open:
            try:
                out.write(raw)
                out.flush()
            except (BrokenPipeError, OSError):
                stdout_open = False        # keep draining the server so it can exit
    record({"dir": "eof", "what": "server stdout"})
    code = proc.wait()
    record({"dir": "exit", "code": code if code >= 0 else None,
            "signal": -code if code < 0 else None})
    log.close()
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


if __name__ == "__main__":
    sys.exit(main())
