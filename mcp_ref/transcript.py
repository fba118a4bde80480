"""Transcripts: a JSONL record of every frame of a session, and a way to compare two.

``--trace FILE`` on the command line writes one JSON object per line:

* a frame: ``{"t": seconds since start, "dir": "send" | "recv", "state": the lifecycle state
  when it was written (after the connection produced it) or read (before the connection
  processed it), "msg": the decoded message}`` (``"raw"`` instead of ``"msg"`` for a line that
  is not JSON);
* a lifecycle event: ``{"t": ..., "event": "spawn" | "close" | "exit" | ..., ...details}``.

Two transcripts of the same scenario against two servers differ in timings, ids and tokens
even when the behaviour is identical; :func:`normalise` removes exactly those differences, and
:func:`diff` compares what is left. This is the differential-testing use: run the same
session against mcp_ref's server and another, and read the diff.
"""

from __future__ import annotations

import json
import threading
import time
from typing import IO, Any, Dict, Iterable, List, Optional


class Transcript:
    """Appends records to a JSONL file. Thread-safe; every record is flushed at once, so a
    transcript survives a crash of the process that writes it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file: Optional[IO[str]] = open(path, "w", encoding="utf-8")
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self._partial = {"send": b"", "recv": b""}

    def frames(self, direction: str, data: bytes, state: str) -> None:
        """Record the complete lines in ``data`` (a chunk as written or read)."""
        with self._lock:
            buffered = self._partial[direction] + data
            *lines, self._partial[direction] = buffered.split(b"\n")
            for line in lines:
                if line.strip():
                    self._write(self._frame(direction, line, state))

    def event(self, kind: str, **details: Any) -> None:
        with self._lock:
            self._write({"t": self._now(), "event": kind, **details})

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def _frame(self, direction: str, line: bytes, state: str) -> Dict[str, Any]:
        record: Dict[str, Any] = {"t": self._now(), "dir": direction, "state": state}
        try:
            record["msg"] = json.loads(line.decode("utf-8"))
        except ValueError:
            record["raw"] = line.decode("utf-8", errors="replace")
        return record

    def _now(self) -> float:
        return round(time.monotonic() - self._start, 6)

    def _write(self, record: Dict[str, Any]) -> None:
        if self._file is not None:
            self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._file.flush()


def load(path: str) -> List[Dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


#: Members whose values differ between equivalent sessions.
_VOLATILE_RESULT_KEYS = ("serverInfo", "clientInfo", "instructions")


def normalise(records: Iterable[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Frames only, without times; ids and progress tokens renumbered in order of first
    appearance (per direction of the request), implementation info blanked."""
    names: Dict[str, str] = {}

    def rename(kind: str, value: Any) -> str:
        key = f"{kind}:{type(value).__name__}:{value!r}"
        if key not in names:
            names[key] = f"<{kind}{sum(1 for k in names if k.startswith(kind + ':')) + 1}>"
        return names[key]

    out: List[Dict[str, Any]] = []
    for record in records:
        if "dir" not in record:
            continue
        msg = json.loads(json.dumps(record.get("msg", record.get("raw"))))
        if isinstance(msg, dict):
            if msg.get("id") is not None:
                msg["id"] = rename("id", msg["id"])
            params = msg.get("params")
            if isinstance(params, dict):
                meta = params.get("_meta")
                if isinstance(meta, dict) and "progressToken" in meta:
                    meta["progressToken"] = rename("token", meta["progressToken"])
                if "progressToken" in params:
                    params["progressToken"] = rename("token", params["progressToken"])
                if "requestId" in params:
                    params["requestId"] = rename("id", params["requestId"])
                for key in _VOLATILE_RESULT_KEYS:
                    if key in params:
                        params[key] = "<info>"
            result = msg.get("result")
            if isinstance(result, dict):
                for key in _VOLATILE_RESULT_KEYS:
                    if key in result:
                        result[key] = "<info>"
        out.append({"dir": record["dir"], "msg": msg})
    return out


def diff(a: List[Dict[str, Any]], b: List[Dict[str, Any]], names: tuple = ("a", "b")) -> str:
    """A unified diff of two transcripts after :func:`normalise`; empty if equivalent."""
    import difflib      # here: the client and server import this module, and never diff
    def lines(records: List[Dict[str, Any]]) -> List[str]:
        return [json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in normalise(records)]
    return "".join(difflib.unified_diff(lines(a), lines(b), fromfile=names[0], tofile=names[1]))
