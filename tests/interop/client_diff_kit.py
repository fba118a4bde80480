"""Running the client differential harness (``client_diff/``, D-90, D-94) from pytest.

One run = one client driver (``drive_mcp_ref.py``, ``drive_py_sdk.py``, ``drive_ts_sdk.mjs``)
against ``odd_server.py`` in one scenario. The driver prints what its caller saw (one JSON
object); the server logs every line the client wrote. ``Seen`` boils both down to what
spec_notes/differential.md's "Client side" table records, so that a test can compare a row's
cells with what the client does today.
"""

import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from interop_kit import HERE, ROOT

DIFF = os.path.join(HERE, "client_diff")
ODD_SERVER = os.path.join(DIFF, "odd_server.py")
#: Every scenario of odd_server.py, in the table's order.
SCENARIOS: List[str] = subprocess.run(
    [sys.executable, ODD_SERVER, "--list"], capture_output=True, text=True, timeout=30,
    check=True).stdout.split()

#: The requests each driver sends as its own script: not part of what ``Seen.sent`` reports.
_SCRIPT_METHODS = ("initialize", "notifications/initialized", "ping", "tools/call", "tools/list")


@dataclass
class Seen:
    """What one client did in one scenario, in the table's terms."""

    steps: Tuple[str, ...]            # each step's outcome, raw text: "ok ...", "McpError: ..."
    names: Tuple[str, ...]            # the steps' names: connect, ping, [list,] call, ping2
    sent: Tuple[str, ...]             # what the client wrote besides its script (see _describe)
    notes: Tuple[str, ...]            # notification methods handed to the caller
    progress: Tuple[float, ...]       # the progress values handed to the caller
    errors: Tuple[str, ...]           # what the client reported besides (see _errors)
    raw: Dict[str, Any] = field(repr=False, default_factory=dict)
    sent_raw: List[str] = field(repr=False, default_factory=list)

    def summary(self) -> str:
        steps = "; ".join(f"{n}={s[:100]!r}" for n, s in zip(self.names, self.steps))
        return (f"  steps: {steps}\n  sent: {list(self.sent)}\n  notes: {list(self.notes)}\n"
                f"  progress: {list(self.progress)}\n  errors: {list(self.errors)}")


def _describe(line: str) -> str:
    """One line the client wrote, as the table names it: ``error -32600 id=null``,
    ``result id="s1"``, a notification's method, or ``unparseable``."""
    try:
        msg = json.loads(line)
    except ValueError:
        return "unparseable"
    if not isinstance(msg, dict):
        return "unparseable"
    if "error" in msg:
        code = msg["error"].get("code") if isinstance(msg["error"], dict) else None
        return f"error {code} id={json.dumps(msg.get('id'))}"
    if "result" in msg:
        return f"result id={json.dumps(msg.get('id'))}"
    return str(msg.get("method"))


def _errors(client: str, out: Dict[str, Any]) -> Tuple[str, ...]:
    """The side channel each client reports odd input on, cut to its stable head:
    mcp_ref logs ``peer broke a protocol rule (ID)`` (the catalogue ID is kept); the Python SDK
    hands exceptions to ``message_handler`` (the exception's type is kept); the TS SDK calls
    ``onerror`` (the message up to its first ``:`` after the type, e.g.
    ``Error: Received a response for an unknown message ID``)."""
    if client == "ref":
        rule = re.compile(r"peer broke a protocol rule \(([A-Z]+-\d+)\)")
        return tuple(m.group(1) for line in out.get("log", []) for m in [rule.search(line)] if m)
    if client == "py":
        return tuple(n.split(":")[0] for n in out.get("notes", [])
                     if not n.split(":")[0].endswith("Notification"))
    head = re.compile(r"[^:]*(?::[^:{\[\"]*)?")
    return tuple(head.match(e).group(0).strip() for e in out.get("errors", []))


def _notes(client: str, out: Dict[str, Any]) -> Tuple[str, ...]:
    # The Python SDK's notes: "LoggingMessageNotification:notifications/message"; its
    # exceptions are errors.
    if client == "py":
        return tuple(n.split(":", 1)[1] for n in out.get("notes", [])
                     if n.split(":")[0].endswith("Notification"))
    return tuple(out.get("notes", []))


def _progress(out: Dict[str, Any]) -> Tuple[float, ...]:
    return tuple(p["progress"] if isinstance(p, dict) else p[0] for p in out.get("progress", []))


def run_driver(client: str, scenario: str, logdir: str, *, python: str = sys.executable,
               node: str = "node", node_modules: Optional[str] = None,
               request_timeout: float = 2.0, timeout: float = 120.0) -> Seen:
    """One driver against odd_server in ``scenario``, each request of the client timing out
    after ``request_timeout`` s; the driver and everything it started (its own process group)
    are gone when this returns."""
    log = os.path.join(logdir, f"{scenario}.{client}.log")
    script = {"ref": "drive_mcp_ref.py", "py": "drive_py_sdk.py", "ts": "drive_ts_sdk.mjs"}[client]
    argv: Sequence[str] = ([node, os.path.join(DIFF, script)] if client == "ts"
                           else [python, os.path.join(DIFF, script)])
    env = dict(os.environ, CLIENT_DIFF_TIMEOUT=str(request_timeout))
    if node_modules:
        env["MCP_PEERS_NODE_MODULES"] = node_modules
    proc = subprocess.Popen([*argv, scenario, log], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    finally:
        # A server the driver left behind (e.g. stdout_closed's, which outlives its stdout)
        # is in the driver's process group: end it, then reap the driver.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
    lines = [line for line in stdout.split("\n") if line.startswith("{")]
    assert lines, (f"{script} {scenario} printed no JSON (exit {proc.returncode})\n"
                   f"stdout: {stdout[-2000:]}\nstderr: {stderr[-3000:]}")
    out = json.loads(lines[-1])
    sent_raw = []
    with open(log, encoding="utf-8") as f:
        for entry in map(json.loads, f):
            if "in" in entry:
                sent_raw.append(entry["in"].strip())
    sent = []
    for line in sent_raw:
        try:
            msg = json.loads(line)
        except ValueError:
            msg = None
        if isinstance(msg, dict) and msg.get("method") in _SCRIPT_METHODS:
            continue
        sent.append(_describe(line))
    return Seen(steps=tuple(v for _, v in out["steps"]), names=tuple(n for n, _ in out["steps"]),
                sent=tuple(sent), notes=_notes(client, out), progress=_progress(out),
                errors=_errors(client, out), raw=out, sent_raw=sent_raw)
