"""Shared helpers of the interop suite: the wire tap's log, bounded waits, process checks.

Every test that talks to a peer puts ``peers/tap.py`` between the two ends, so an assertion
can look at the frames actually exchanged and a failure prints them (``Wire.transcript``).
"""

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TAP = os.path.join(HERE, "peers", "tap.py")
#: mcp_ref's reference server, as an outside client starts it.
SERVE = [sys.executable, "-m", "mcp_ref", "serve"]
#: Text that must survive every hop unchanged (BP-02, TR-03): accents, CJK, an emoji outside
#: the BMP, an escaped newline, and U+2028 (a line separator to some JSON readers).
UNICODE_TEXT = "ü 漢 🎉 a\nb \u2028 end"


@dataclass
class Frame:
    """One entry of the tap's log. ``msg`` is the decoded JSON-RPC object of a c2s/s2c line."""

    seq: int            # position in the whole log, both directions: for ordering checks
    t: float
    dir: str
    entry: Dict[str, Any]
    msg: Any = None

    @property
    def method(self) -> Optional[str]:
        return self.msg.get("method") if isinstance(self.msg, dict) else None

    @property
    def id(self) -> Any:
        return self.msg.get("id") if isinstance(self.msg, dict) else None

    @property
    def params(self) -> Dict[str, Any]:
        return (self.msg.get("params") or {}) if isinstance(self.msg, dict) else {}

    def is_request(self) -> bool:
        return self.method is not None and "id" in self.msg

    def is_notification(self, method: Optional[str] = None) -> bool:
        return (self.method is not None and "id" not in self.msg
                and (method is None or self.method == method))

    def is_response(self, request_id: Any = "any") -> bool:
        if not isinstance(self.msg, dict) or "method" in self.msg:
            return False
        if "result" not in self.msg and "error" not in self.msg:
            return False
        return request_id == "any" or _same_id(self.msg.get("id"), request_id)


def _same_id(a: Any, b: Any) -> bool:
    """JSON-RPC ids compare by type and value: 1 and "1" differ, True is not 1."""
    return type(a) is type(b) and a == b


class Wire:
    """The log written by ``peers/tap.py`` for one server process."""

    def __init__(self, path: str) -> None:
        self.path = path

    def tapped(self, argv: Sequence[str]) -> List[str]:
        """``argv`` run behind the tap, which logs to this wire."""
        return [sys.executable, TAP, self.path, "--", *argv]

    def frames(self, direction: Optional[str] = None) -> List[Frame]:
        """Every complete entry so far (all of them, or one direction: c2s, s2c, ...)."""
        try:
            with open(self.path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            return []
        frames = []
        for line in text.split("\n")[:-1]:          # the last piece may still be being written
            entry = json.loads(line)
            msg = None
            if entry["dir"] in ("c2s", "s2c"):
                try:
                    msg = json.loads(entry["line"])
                except ValueError:
                    msg = None
            frames.append(Frame(len(frames), entry["t"], entry["dir"], entry, msg))
        return [f for f in frames if direction is None or f.dir == direction]

    def c2s(self) -> List[Frame]:
        return self.frames("c2s")

    def s2c(self) -> List[Frame]:
        return self.frames("s2c")

    def request(self, direction: str, method: str, **params: Any) -> Frame:
        """The one request of ``method`` in that direction whose params include ``params``."""
        found = [f for f in self.frames(direction) if f.is_request() and f.method == method
                 and all(f.params.get(k) == v for k, v in params.items())]
        assert len(found) == 1, (f"expected one {direction} {method} {params}, found "
                                 f"{len(found)}\n{self.transcript()}")
        return found[0]

    def after(self, frame: Frame, direction: Optional[str] = None) -> List[Frame]:
        """The frames logged after ``frame`` (in that direction, if given)."""
        return [f for f in self.frames(direction) if f.seq > frame.seq]

    def progress(self, token: Any) -> List[Frame]:
        return [f for f in self.s2c() if f.is_notification("notifications/progress")
                and _same_id(f.params.get("progressToken"), token)]

    def exit(self) -> Optional[Dict[str, Any]]:
        exits = [f.entry for f in self.frames("exit")]
        return exits[-1] if exits else None

    def wait_for(self, predicate: Callable[[Frame], bool], what: str,
                 timeout: float = 15.0) -> Frame:
        """Poll the log (a file: there is no event to wait on) until a frame matches."""
        deadline = time.monotonic() + timeout
        while True:
            for frame in self.frames():
                if predicate(frame):
                    return frame
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:g} s waiting for {what}\n"
                                     f"{self.transcript()}")
            threading.Event().wait(0.02)

    def transcript(self, limit: int = 80, width: int = 400) -> str:
        """The last ``limit`` entries, one a line, for assertion messages."""
        lines = []
        for f in self.frames()[-limit:]:
            if f.dir in ("c2s", "s2c"):
                body = f.entry["line"]
            else:
                body = json.dumps({k: v for k, v in f.entry.items() if k not in ("t", "dir")},
                                  ensure_ascii=False)
            if len(body) > width:
                body = body[:width] + f"... ({len(body)} chars)"
            lines.append(f"  {f.t:9.3f} {f.dir:6} {body}")
        return "wire (" + self.path + "):\n" + "\n".join(lines)


def assert_reaped(pid: int) -> None:
    """The process was waited for: no zombie left behind."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return
    raise AssertionError(f"pid {pid} is still our unreaped child")


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 15.0,
               detail: Callable[[], str] = lambda: "") -> None:
    """Poll ``predicate`` (for state with no event to wait on) until true, or fail."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}\n{detail()}")
        threading.Event().wait(0.02)


def run_peer_client(argv: Sequence[str], *, env: Optional[Dict[str, str]] = None,
                    timeout: float = 90.0) -> Dict[str, Any]:
    """Run a peer client script that prints one JSON object; return it, with its exit code
    and stderr (the server's stderr flows there too) under ``_returncode`` / ``_stderr``."""
    merged = dict(os.environ)
    merged.update(env or {})
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                          env=merged, cwd=ROOT)
    # split on "\n" only: splitlines() would also split inside a JSON string holding U+2028
    lines = [line for line in done.stdout.split("\n") if line.startswith("{")]
    assert lines, (f"the peer client printed no JSON (exit {done.returncode})\n"
                   f"stdout: {done.stdout[-2000:]}\nstderr: {done.stderr[-4000:]}")
    out = json.loads(lines[-1])
    out["_returncode"] = done.returncode
    out["_stderr"] = done.stderr
    return out


def strictly_increasing(values: Sequence[float]) -> bool:
    return all(a < b for a, b in zip(values, values[1:]))
