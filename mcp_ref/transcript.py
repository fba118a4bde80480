"""Transcripts: a JSONL record of every frame of a session, and a way to compare two.

``--trace FILE`` on the command line (``trace=`` in the API) writes one JSON object per line:

* a frame: ``{"t": seconds since start, "dir": "send" | "recv", "state": the lifecycle state
  when it was written (after the connection produced it) or read (before the connection
  processed it), "msg": the decoded message}`` (``"raw"`` instead of ``"msg"``, the line's
  text, for a line the connection cannot decode: not UTF-8, not JSON, nested too deep, a
  number out of range). A request or notification also has its ``"id"`` (requests only) and
  ``"method"``; a response has the ``"id"``, the ``"method"`` of the request it answers and
  its ``"latency"``: seconds since that request's frame;
* a line cut as the connection cuts it (:class:`~mcp_ref.framing.LineBuffer`): one longer
  than ``max_line_bytes`` is ``{"t", "dir", "state", "too_long": the limit}``, its bytes not
  kept; one the stream ended inside has ``"truncated": true`` (D-78). What the connection
  tolerates and drops (D-08) is shown as it came (D-86): a frame that ended in ``\\r\\n`` has
  ``"crlf": true``, and a blank line is ``{"t", "dir", "state", "blank": its text}``;
* a lifecycle event: ``{"t": ..., "event": "spawn" | "close" | "exit" | ..., ...details}``;
  ``{"event": "not-sent", "frames": n, "error": ...}`` says that the last ``n`` frames
  recorded as sent never reached the peer: their write failed (D-86). A client's ``close``
  event has ``not_sent_bytes``: bytes still queued for a server that had stopped reading
  (D-38), recorded as sent and dropped.

A transcript is made from the bytes as written or read, decoded again here, so nothing it
does can change the wire. ``Transcript(path, redact=...)`` passes each decoded message (or
the text of a line that is not JSON) through ``redact`` before it is recorded, for secrets in
arguments or results; :func:`redact_keys` makes one that masks members by name.

Two transcripts of the same scenario against two servers differ in timings, ids and tokens
even when the behaviour is identical; :func:`normalise` removes exactly those differences, and
:func:`diff` compares what is left. This is the differential-testing use: run the same
session against mcp_ref's server and another, and read the diff.
"""

from __future__ import annotations

import json
import threading
import time

from ._logging import LazyLogger
from .framing import DEFAULT_MAX_LINE_BYTES, FrameError, LineBuffer, LineTooLong, decode

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    from typing import IO, Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

log = LazyLogger("mcp_ref.transcript")

if TYPE_CHECKING:
    #: Turns a decoded message (or the text of a line that is not JSON) into what is recorded.
    Redactor = Callable[[Any], Any]

#: How many requests without a response yet a transcript remembers, to give each response its
#: method and latency. More than the 10 000 in flight the benchmark drives.
OPEN_REQUESTS_MEMORY = 65_536


class Transcript:
    """Appends records to a JSONL file. Thread-safe; every record is flushed at once, so a
    transcript survives a crash of the process that writes it. A transcript never breaks the
    session it records: once the file cannot be written (disk full, say), it says so once
    and stops recording. ``max_line_bytes``: the session's line limit (D-03), which
    ``Client.spawn`` passes to a transcript it opens from a path."""

    def __init__(self, path: str, *, redact: Optional[Redactor] = None,
                 max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self.path = path
        self._file: Optional[IO[str]] = open(path, "w", encoding="utf-8")
        self._lock = threading.Lock()
        self._start = time.monotonic()
        # Each direction is cut into lines as the connection cuts it (D-03, D-08): in linear
        # time, holding at most ``max_line_bytes`` of an unfinished line (a peer that never
        # sends a newline grew the transcript's buffer without end, copied at every chunk).
        # verbatim: the \r of a CRLF and blank lines, which the connection drops (D-08), come
        # here too, to be shown (D-86).
        self._lines = {"send": LineBuffer(max_line_bytes, verbatim=True),
                       "recv": LineBuffer(max_line_bytes, verbatim=True)}
        self._redact = redact
        #: (direction, id) of each request recorded and not yet answered or cancelled ->
        #: (its method, when it was recorded): what a response's "method" and "latency" need.
        self._requests: Dict[Tuple[str, str], Tuple[str, float]] = {}

    def frames(self, direction: str, data: bytes, state: str) -> None:
        """Record the complete lines in ``data`` (a chunk as written or read; ``b""``: the
        stream ended, and a line it ended inside is recorded, marked truncated)."""
        with self._lock:
            for line in self._lines[direction].feed(data):
                if isinstance(line, bytes):
                    self._write(self._whole_line(direction, line, state))
                elif isinstance(line, LineTooLong):       # refused by the connection (D-03)
                    self._write({"t": self._now(), "dir": direction, "state": state,
                                 "too_long": line.limit})
                else:                                     # TruncatedAtEOF: never delivered
                    record = self._frame(direction, line.data, state, correlate=False)
                    record["truncated"] = True
                    self._write(record)

    def event(self, kind: str, **details: Any) -> None:
        with self._lock:
            self._write({"t": self._now(), "event": kind, **details})

    def sent(self, data: bytes, state: str, write: Callable[[bytes], None]) -> None:
        """``write(data)``, recorded. The frames are recorded *before* they are written, so
        that a reply to them, recorded by the reading thread, never comes first. If the write
        then fails (the peer closed the pipe), a ``not-sent`` event follows, so that nobody
        reads the transcript as if the peer had got them (D-86); the error goes on up.
        Callers write one frame at a time, in order (under the session's lock), so the
        frames it means are the last ones recorded as sent."""
        self.frames("send", data, state)
        try:
            write(data)
        except Exception as exc:
            self.event("not-sent", frames=data.count(b"\n"),
                       error=f"{type(exc).__name__}: {exc}")
            raise

    def close(self) -> None:
        with self._lock:
            self._stop_recording()

    def _whole_line(self, direction: str, line: bytes, state: str) -> Dict[str, Any]:
        """The record of a line that ended in ``\\n``. The connection drops a trailing ``\\r``
        and skips a blank line (D-08); the record shows both, so that a reader sees what was
        on the wire, in either direction, as ``check`` judges it (TR-06, TR-07; D-86)."""
        crlf = line.endswith(b"\r")
        if crlf:
            line = line[:-1]
        if line.strip():
            record = self._frame(direction, line, state)
        else:
            record = {"t": self._now(), "dir": direction, "state": state,
                      "blank": line.decode("utf-8", errors="replace")}
        if crlf:
            record["crlf"] = True
        return record

    def _frame(self, direction: str, line: bytes, state: str,
               correlate: bool = True) -> Dict[str, Any]:
        now = self._now()
        record: Dict[str, Any] = {"t": now, "dir": direction, "state": state}
        try:
            # The connection's own reader: what it cannot decode is recorded as text, and a
            # line nested 100 000 deep is refused before json recurses into it (D-51), where
            # json.loads raised RecursionError on the session's reader thread.
            message = decode(line)
        except FrameError:
            record["raw"] = self._redacted(line.decode("utf-8", errors="replace"))
            return record
        if isinstance(message, dict) and correlate:
            record.update(self._correlate(direction, message, now))
        record["msg"] = self._redacted(message)
        return record

    def _redacted(self, value: Any) -> Any:
        """``value`` (decoded from the bytes just now: the hook may change it freely) as the
        redact hook wants it recorded. A hook that fails records nothing of the message, and
        a transcript never breaks the session it records."""
        if self._redact is None:
            return value
        try:
            return self._redact(value)
        except Exception as exc:
            # The type only: the exception's text may quote the very value the hook was hiding
            # ("invalid literal for int(): 's3cret'"), and the log goes to stderr (D-78).
            log.warning("transcript redact hook raised %s; message not recorded",
                        type(exc).__name__)
            return f"<not recorded: the redact hook raised {type(exc).__name__}>"

    def _correlate(self, direction: str, message: Dict[str, Any], now: float) -> Dict[str, Any]:
        """The "id", "method" and "latency" members for one message (BP-07: a response
        carries the id of the request it answers; CN-01: a cancel names one by requestId)."""
        method, request_id = message.get("method"), message.get("id")
        if isinstance(method, str):
            if request_id is None:                                  # a notification
                if method == "notifications/cancelled":             # no response will come
                    params = message.get("params")
                    if isinstance(params, dict):
                        self._requests.pop((direction, _key(params.get("requestId"))), None)
                return {"method": method}
            self._requests[(direction, _key(request_id))] = (method, now)
            if len(self._requests) > OPEN_REQUESTS_MEMORY:
                # A peer that never answers must not grow a long recording without end: the
                # oldest open request is forgotten (dicts keep insertion order), and its
                # response, should it ever come, is recorded without a latency.
                del self._requests[next(iter(self._requests))]
            return {"id": request_id, "method": method}
        if "result" in message or "error" in message:               # a response
            answered = "recv" if direction == "send" else "send"
            request = self._requests.pop((answered, _key(request_id)), None)
            if request is None:                 # unknown id, or a parse error's null id (BP-12)
                return {"id": request_id}
            return {"id": request_id, "method": request[0],
                    "latency": round(now - request[1], 6)}
        return {}

    def _now(self) -> float:
        return round(time.monotonic() - self._start, 6)

    def _write(self, record: Dict[str, Any]) -> None:
        """With the lock held."""
        if self._file is None:
            return
        # default=repr: whatever a redact hook returns can be recorded...
        try:
            text = json.dumps(record, ensure_ascii=False, default=repr) + "\n"
        except (TypeError, ValueError, RecursionError) as exc:
            # ...but for a value with no JSON form at all (a circular one, a key that is a
            # tuple), which used to raise on the session's reader thread (D-78).
            log.warning("transcript redact hook returned a value with no JSON form (%s); "
                        "message not recorded", type(exc).__name__)
            for key in ("msg", "raw"):
                if key in record:
                    record[key] = "<not recorded: the redact hook returned no JSON value>"
            text = json.dumps(record, ensure_ascii=False, default=repr) + "\n"
        try:
            try:
                self._file.write(text)
            except UnicodeEncodeError:
                # A lone surrogate (the peer sent a "\ud800" escape) has no UTF-8 form: this
                # record keeps its escapes (the text file refuses it before writing anything).
                self._file.write(json.dumps(record, default=repr) + "\n")
            self._file.flush()
        except OSError as exc:
            # Disk full, a closed fd: this runs on the session's threads (the reader, every
            # writer), which must not fail for it (shell review F7). Said once: from now on
            # nothing is recorded.
            log.warning("cannot write the transcript %s (%s); recording stops", self.path, exc)
            self._stop_recording(quiet=True)

    def _stop_recording(self, quiet: bool = False) -> None:
        """With the lock held: close the file; nothing is recorded after this. Closing flushes
        what is buffered, which may fail like a write: the fd is released all the same."""
        file, self._file = self._file, None
        if file is None:
            return
        try:
            file.close()
        except OSError as exc:
            if not quiet:
                log.warning("cannot write the end of the transcript %s (%s)", self.path, exc)


def _key(request_id: Any) -> str:
    """A request id as a dict key: 1 and "1" are different ids (BP-03, BP-07), and an invalid id
    (a list, say) must not break the transcript."""
    return json.dumps(request_id)


def redact_keys(*names: str, mask: str = "<redacted>") -> Redactor:
    """A ``redact`` hook that replaces the value of every object member called one of
    ``names`` (any case, at any depth: arguments, results, _meta) with ``mask``.

    A line that is not JSON (recorded as its text) has no members to find: it is replaced
    whole by ``mask`` when it names one of them, or holds a ``\\u`` escape that could spell
    one; other text (a server's stray log line on stdout, TR-06) is kept (D-78)."""
    wanted = {name.lower() for name in names}

    def members(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: mask if key.lower() in wanted else members(item)
                    for key, item in value.items()}
        if isinstance(value, list):
            return [members(item) for item in value]
        return value

    def redact(value: Any) -> Any:
        if isinstance(value, str):                  # the text of a line that is not JSON
            text = value.lower()
            if "\\u" in text or any(name in text for name in wanted):
                return mask
            return value
        return members(value)
    return redact


if TYPE_CHECKING:
    #: What a ``trace=`` argument may be: a path to write to, a :class:`Transcript` made by the
    #: caller (to pass ``redact``), or None for no transcript.
    Trace = Union[str, Transcript, None]


def open_transcript(trace: Trace,
                    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Optional[Transcript]:
    """The transcript a session writes to, cutting lines at the session's ``max_line_bytes``
    (a Transcript made by the caller keeps its own). Either way, the session closes it when
    it ends."""
    if isinstance(trace, Transcript):
        return trace
    return Transcript(trace, max_line_bytes=max_line_bytes) if trace else None


def load(path: str) -> List[Dict[str, Any]]:
    """The records of a transcript; ValueError names the first line that is not one (not
    UTF-8, not JSON, nested too deep for json, or not an object)."""
    records = []
    with open(path, "rb") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line.decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise ValueError(f"line {number} is not UTF-8: {exc.reason} at byte "
                                 f"{exc.start}") from None
            except ValueError as exc:
                if not line.endswith(b"\n"):
                    # Each record is flushed as it is written, so a transcript is whole up to
                    # its last record; that one is cut when its writer dies writing it (D-78).
                    raise ValueError(f"line {number}, the last, is cut short (no newline: "
                                     f"was its writer killed while writing it?): {exc}") from None
                raise ValueError(f"line {number} is not JSON: {exc}") from None
            except RecursionError:
                # A transcript never nests deeper than MAX_NESTING (its frames are decoded
                # by framing.decode); this file was written by something else (D-78).
                raise ValueError(f"line {number} nests arrays and objects too deep for "
                                 "json to read") from None
            if not isinstance(record, dict):
                raise ValueError(f"line {number} is not a JSON object")
            if "dir" in record and record["dir"] not in ("send", "recv"):
                # A frame's direction is all normalise() reads ids by (D-78).
                raise ValueError(f'line {number}: "dir" is {record["dir"]!r}, not "send" or '
                                 '"recv"')
            records.append(record)
    return records


#: Members whose values differ between equivalent sessions.
_VOLATILE_RESULT_KEYS = ("serverInfo", "clientInfo", "instructions")

#: The other direction: a response goes the opposite way to its request.
_OTHER = {"send": "recv", "recv": "send"}


def normalise(records: Iterable[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Frames only, without times; request ids and progress tokens renumbered in order of
    first appearance, each side's on its own (``<send-id1>``, ``<recv-id1>``: named for the
    direction of the request, so a response, a cancel and a progress notification get the
    name of the request they are about); implementation info blanked."""
    names: Dict[Tuple[str, str, str], str] = {}
    counts: Dict[Tuple[str, str], int] = {}

    def rename(kind: str, side: Any, value: Any) -> str:
        # 1 and "1" are different ids (BP-03, BP-07); each side numbers its own requests,
        # so the client's 0 and the server's 0 are different requests too (D-78).
        key = (f"{side}", kind, f"{type(value).__name__}:{value!r}")
        if key not in names:
            counts[key[:2]] = counts.get(key[:2], 0) + 1
            names[key] = f"<{side}-{kind}{counts[key[:2]]}>"
        return names[key]

    out: List[Dict[str, Any]] = []
    for record in records:
        if "dir" not in record:
            continue
        sent = record["dir"]                    # who sent this frame
        msg = json.loads(json.dumps(record.get("msg", record.get("raw"))))
        if isinstance(msg, dict):
            is_request = isinstance(msg.get("method"), str)
            if msg.get("id") is not None:
                # A request's id is its sender's; a response carries the id of a request
                # that went the other way (BP-07).
                msg["id"] = rename("id", sent if is_request else _OTHER.get(sent), msg["id"])
            params = msg.get("params")
            if isinstance(params, dict):
                meta = params.get("_meta")
                if isinstance(meta, dict) and "progressToken" in meta:     # PR-01
                    meta["progressToken"] = rename("token", sent, meta["progressToken"])
                if "progressToken" in params:       # notifications/progress, from the receiver
                    params["progressToken"] = rename("token", _OTHER.get(sent),
                                                     params["progressToken"])
                if "requestId" in params:           # notifications/cancelled, from the sender
                    params["requestId"] = rename("id", sent, params["requestId"])
                for key in _VOLATILE_RESULT_KEYS:
                    if key in params:
                        params[key] = "<info>"
            result = msg.get("result")
            if isinstance(result, dict):
                for key in _VOLATILE_RESULT_KEYS:
                    if key in result:
                        result[key] = "<info>"
        frame = {"dir": sent, "msg": msg}
        # Lines the connection refused (D-78), and what it tolerates and drops (D-86).
        for marker in ("too_long", "truncated", "crlf", "blank"):
            if marker in record:
                frame[marker] = record[marker]
        out.append(frame)
    return out


def diff(a: List[Dict[str, Any]], b: List[Dict[str, Any]], names: tuple = ("a", "b")) -> str:
    """A unified diff of two transcripts after :func:`normalise`; empty if equivalent."""
    import difflib      # here: the client and server import this module, and never diff
    def lines(records: List[Dict[str, Any]]) -> List[str]:
        return [json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in normalise(records)]
    return "".join(difflib.unified_diff(lines(a), lines(b), fromfile=names[0], tofile=names[1]))
