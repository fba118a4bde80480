"""A black-box lifecycle battery for any stdio MCP server: ``python3 -m mcp_ref check -- CMD``.

Spec: https://modelcontextprotocol.io/specification/2025-11-25 (legacy handshake era).

mcp_ref is the baseline; this module judges *other* servers. It starts the server with
:class:`~mcp_ref.stdio.ChildProcess`, speaks raw frames to it (:func:`mcp_ref.framing.encode`
out, :class:`mcp_ref.framing.LineBuffer` in) and never uses mcp_ref's Client: a client library
would hide exactly the mistakes we are looking for. Every stdout byte is kept, so the purity
check (TR-06) sees the whole run, banners and blank lines included.

Each check in :data:`CHECKS` names its catalogue rows (``shared/spec/catalogue.md``), its level
and a versioned spec link, and ends with one outcome:

=========  ====================================================================
``pass``   the server did what the rule asks
``fail``   it broke a MUST / MUST NOT rule
``warn``   it broke a SHOULD rule, or a weaker part of a MUST check (said so)
``n.a.``   the check could not apply (no such tool, no progress sent, ...)
=========  ====================================================================

plus the evidence that decided it: the frames sent (``>``) and received (``<``).

Checks run in *groups*, each on a fresh server process, so one violation (a server that dies
on a garbage line, say) cannot spoil unrelated checks. Every wait is a read with a deadline;
windows in which something must *not* happen (no response after a cancel) are bounded reads.
If no initialize probe of the first group got any frame at all, the later groups are not
run, each of their checks ``n.a.`` saying so: they would wait as long again (D-126).
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import re
import sys
import time
from dataclasses import dataclass, field

from . import __version__, spec
from ._printable import json_text, printable, printable_json
from .connection import declares, gating_capability
from .errors import ConnectionClosed, SpawnError
from .framing import (MAX_NESTING, FrameError, LineBuffer, NestsTooDeep, NumberOutOfRange,
                      OutOfRange, decode, encode)
from .jsonrpc import is_request_id
from .session import finite_seconds_problem
from .stdio import ChildProcess, ShutdownReport
from .transcript import Transcript

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional, Sequence, TextIO, Tuple

PASS, FAIL, WARN, NA = "pass", "fail", "warn", "n.a."

#: The versions a legacy server may support, and two it cannot (LC-11).
KNOWN_VERSIONS = spec.SUPPORTED_VERSIONS
FUTURE_VERSION, PAST_VERSION = "2099-01-01", "1900-01-01"

#: What "promptly" means for a ping answer (PG-02), read as the catalogue's test reads it:
#: within about 1 s.
PING_PROMPT = 1.0
#: How long a server may take to exit after stdin EOF: "promptly" (TR-14), read as the
#: catalogue's test reads it, within about 2 s.
EXIT_GRACE = 2.0
#: After a cancel, messages already in the pipe may still arrive (the "grace window" of the
#: catalogue's test for CN-23; the rule itself names no window).
CANCEL_GRACE = 0.2

#: The longest --timeout, and the longest call the slow tool's arguments may announce: a day.
#: The battery must end, and a wait far longer than this overflows the clock (OverflowError).
LONGEST_WAIT = 86400.0

CLIENT_INFO = {"name": "mcp_ref-check", "version": __version__}
#: Text for the echo round trip: non-ASCII (BP-02), an embedded newline (TR-03), quotes,
#: a backslash, and U+2028, which Unicode-aware line splitters break on.
ECHO_TEXT = 'ü 漢 😀 a\nb "q" \\ \u2028 end'

_LIFECYCLE = "basic/lifecycle"
_PING = "basic/utilities/ping"
_PROGRESS = "basic/utilities/progress"
_CANCELLATION = "basic/utilities/cancellation"
#: From this revision (the catalogue's V4) tool names are specified (TL-07) and a tool's
#: input validation failures are tool results, not protocol errors (ER-03).
_V4 = "2025-11-25"


# --- What a check is, and the list of them -------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One row of the report: what is checked, against which rule."""

    key: str
    ids: Tuple[str, ...]
    level: str
    title: str
    url: str


def _version_check(version: str) -> Check:
    return Check(f"init-echo-{version}", ("LC-10", "LC-11"), "MUST",
                 f"initialize at {version} is echoed (or, if unsupported, counter-offered)",
                 spec.spec_url(_LIFECYCLE, "version-negotiation"))


#: Every check, in report order.
CHECKS: Tuple[Check, ...] = (
    Check(f"init-echo-{spec.PROTOCOL_VERSION}", ("LC-04", "LC-10", "LC-11"), "MUST",
          f"initialize at {spec.PROTOCOL_VERSION} is answered with that version, "
          "capabilities and serverInfo", spec.spec_url(_LIFECYCLE, "initialization")),
    *(_version_check(v) for v in KNOWN_VERSIONS[1:]),
    Check("counter-offer-future", ("LC-11",), "MUST",
          f"initialize at {FUTURE_VERSION} gets a result with a version the server supports",
          spec.spec_url(_LIFECYCLE, "version-negotiation")),
    Check("counter-offer-past", ("LC-11",), "MUST",
          f"initialize at {PAST_VERSION} gets a result with a version the server supports",
          spec.spec_url(_LIFECYCLE, "version-negotiation")),
    Check("counter-offer-newest", ("LC-12",), "SHOULD",
          "the counter-offer is the newest version the server supports",
          spec.spec_url(_LIFECYCLE, "version-negotiation")),
    Check("silent-before-initialize", ("LC-02",), "MUST",
          "no message on stdout before initialize is sent",
          spec.spec_url(_LIFECYCLE, "initialization")),
    Check("pre-init-gating", ("LC-02",), "SHOULD",
          "a request before initialize is refused with an error (A6, D-05)",
          spec.spec_url(_LIFECYCLE, "initialization")),
    Check("ping-before-initialized", ("PG-02", "PG-03"), "MUST",
          "ping between the initialize result and initialized: {} promptly",
          spec.spec_url(_PING, "behavior-requirements")),
    Check("ping-operating", ("PG-02",), "MUST", "ping in the operation phase: {} promptly",
          spec.spec_url(_PING, "behavior-requirements")),
    Check("ping-during-call", ("PG-02",), "MUST", "ping while a tool call runs: {} promptly",
          spec.spec_url(_PING, "behavior-requirements")),
    Check("no-reply-to-notifications", ("BP-13",), "MUST NOT",
          "notifications/initialized and an unknown notification get no response",
          spec.spec_url("basic/index", "notifications")),
    Check("unknown-method", ("ER-01", "BP-01", "BP-10"), "MUST",
          "an unknown method gets error -32601", spec.spec_url("basic/index", "error-responses")),
    # SHOULD, not MUST: on a connection where both sides send requests, an object with an id
    # and no method may be read as a malformed *response*, which is never answered; JSON-RPC
    # 2.0 wants -32600, the catalogue (ER-01) states the meaning without a keyword.
    Check("invalid-request", ("ER-01",), "SHOULD",
          '{"jsonrpc":"2.0","id":1} (no method) gets error -32600',
          spec.spec_url("basic/index", "error-responses")),
    Check("parse-error", ("ER-01", "BP-12", "BP-01"), "MUST",
          "a garbage line gets -32700 (id null or absent) or nothing; the session survives",
          spec.spec_url("basic/index", "error-responses")),
    Check("id-types", ("BP-07",), "MUST",
          'ids "abc", 7, 0 and "7" come back with the same JSON type and value',
          spec.spec_url("basic/index", "responses")),
    Check("capability-honesty", ("TL-01", "ER-01"), "MUST",
          "tools/list is answered as the declared tools capability promises",
          spec.spec_url("server/tools", "capabilities")),
    Check("tool-schemas", ("TL-06",), "MUST", 'every tool has an inputSchema of type "object"',
          spec.spec_url("server/tools", "tool")),
    Check("tool-names", ("TL-07",), "SHOULD",
          "tool names are 1-128 of A-Z a-z 0-9 _ - . and unique (from 2025-11-25)",
          spec.spec_url("server/tools", "tool-names")),
    # MUST for the answer itself (BP-01); what the answer is (ER-02, TL-11) has no keyword,
    # so an isError result, a success or another code is warned, never failed (D-120).
    Check("unknown-tool", ("ER-02", "TL-11", "BP-01"), "MUST",
          "tools/call of a tool not listed gets a JSON-RPC error, -32602 in every "
          "version's example (an isError result, a success or another code: warn)",
          spec.spec_url("server/tools", "error-handling")),
    Check("bad-arguments", ("TL-14", "ER-03"), "MUST",
          "echo with a number for its string, and with no arguments: an isError result or "
          "a JSON-RPC error, never a success (from 2025-11-25 isError is asked: warn)",
          spec.spec_url("server/tools", "error-handling")),
    Check("invalid-cursor", ("ER-12", "PN-06", "PN-03"), "SHOULD",
          "tools/list with a cursor the server never issued: -32602, or the first page "
          "(the tools of tools/list without a cursor)",
          spec.spec_url("server/utilities/pagination", "error-handling")),
    Check("bad-log-level", ("ER-13",), "SHOULD",
          'logging/setLevel {"level": "loud"} gets -32602 (a server declaring logging)',
          spec.spec_url("server/utilities/logging", "error-handling")),
    Check("echo-round-trip", ("BP-02", "TR-03"), "MUST",
          "non-ASCII text and an embedded newline survive an echo exactly",
          spec.spec_url("basic/transports", "stdio")),
    Check("slow-call-answered", ("BP-01",), "MUST", "a tool call with a progressToken is answered",
          spec.spec_url("basic/index", "responses")),
    Check("progress-token", ("PR-08", "PR-04"), "MUST",
          "progress carries the request's token exactly (same type and value)",
          spec.spec_url(_PROGRESS, "progress-flow")),
    Check("progress-increases", ("PR-05",), "MUST", "progress values strictly increase",
          spec.spec_url(_PROGRESS, "progress-flow")),
    Check("progress-stops", ("PR-13",), "MUST", "no progress after the response",
          spec.spec_url(_PROGRESS, "implementation-notes")),
    Check("cancel-honoured", ("CN-05",), "SHOULD",
          "after notifications/cancelled: no response and no more progress for that request",
          spec.spec_url(_CANCELLATION, "behavior-requirements")),
    Check("alive-after-cancel", ("CN-08",), "MUST",
          "the server still answers (a ping) after a cancel",
          spec.spec_url(_CANCELLATION, "timing-considerations")),
    Check("cancel-after-response", ("CN-08", "BP-13", "CN-10"), "MUST",
          "a cancel that arrives after its request was answered gets no reply, and the "
          "server still answers a ping", spec.spec_url(_CANCELLATION, "timing-considerations")),
    Check("invalid-cancels-ignored", ("BP-13", "CN-10"), "MUST NOT",
          "cancels with no params, empty params, an id never used or an id of the wrong type "
          "get no reply; the server still answers a ping (dying of them: warn, CN-10)",
          spec.spec_url(_CANCELLATION, "error-handling")),
    Check("server-request-ids", ("BP-05", "BP-03", "BP-04"), "MUST",
          "requests the server sends have unique string or integer ids",
          spec.spec_url("basic/index", "requests")),
    Check("requests-wait-for-initialized", ("LC-07",), "SHOULD NOT",
          "before notifications/initialized the server sends no request but ping",
          spec.spec_url(_LIFECYCLE, "initialization")),
    Check("capabilities-respected", ("LC-16", "LG-01"), "MUST",
          "server requests and notifications stay inside the negotiated capabilities "
          "(a SHOULD before 2025-06-18: warn)", spec.spec_url(_LIFECYCLE, "operation")),
    Check("stdout-purity", ("TR-06", "TR-02", "BP-01"), "MUST NOT",
          "every stdout line is one JSON-RPC object: no banner or blank line (CRLF: warn)",
          spec.spec_url("basic/transports", "stdio")),
    Check("exit-on-eof", ("TR-14",), "SHOULD",
          f"the server exits by itself within {EXIT_GRACE:g} s of stdin EOF",
          spec.spec_url(_LIFECYCLE, "shutdown")),
)

BY_KEY: Dict[str, Check] = {check.key: check for check in CHECKS}


@dataclass
class Result:
    """The outcome of one check, with the frames or bytes that decided it."""

    check: Check
    outcome: str
    summary: str
    evidence: List[str] = field(default_factory=list)

    def to_json(self) -> Dict[str, Any]:
        c = self.check
        return {"key": c.key, "ids": list(c.ids), "level": c.level, "title": c.title,
                "url": c.url, "outcome": self.outcome, "summary": self.summary,
                "evidence": list(self.evidence)}


def passed(key: str, summary: str, evidence: Sequence[str] = ()) -> Result:
    return Result(BY_KEY[key], PASS, summary, list(evidence))


def broken(key: str, summary: str, evidence: Sequence[str] = ()) -> Result:
    """The rule was broken: ``fail`` for a MUST / MUST NOT, ``warn`` for a SHOULD."""
    outcome = FAIL if BY_KEY[key].level.startswith("MUST") else WARN
    return Result(BY_KEY[key], outcome, summary, list(evidence))


def warned(key: str, summary: str, evidence: Sequence[str] = ()) -> Result:
    """A weaker rule inside a MUST check was broken (the summary says which)."""
    return Result(BY_KEY[key], WARN, summary, list(evidence))


def not_applicable(key: str, why: str, evidence: Sequence[str] = ()) -> Result:
    return Result(BY_KEY[key], NA, why, list(evidence))


# --- Small helpers on decoded frames --------------------------------------------------------


def _is_response(value: Any) -> bool:
    return isinstance(value, dict) and "method" not in value and (
        "result" in value or "error" in value)


def _is_request(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("method"), str) and "id" in value


def _is_progress(value: Any) -> bool:
    return isinstance(value, dict) and value.get("method") == spec.PROGRESS


def _params(value: Any) -> Dict[str, Any]:
    params = value.get("params") if isinstance(value, dict) else None
    return params if isinstance(params, dict) else {}


def _same_id(a: Any, b: Any) -> bool:
    """Exact JSON equality of two ids: ``"7"`` is not ``7`` (BP-07)."""
    return type(a) is type(b) and a == b


def _loosely(a: Any, b: Any) -> bool:
    """Equal once both are written as text: finds a response whose id type was changed."""
    return not isinstance(a, (dict, list)) and str(a) == str(b)


def _error_code(value: Any) -> Any:
    error = value.get("error") if isinstance(value, dict) else None
    return error.get("code") if isinstance(error, dict) else None


def _shorten(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _json(value: Any) -> str:
    """Compact JSON for evidence. A number Python cannot carry (an :class:`OutOfRange`
    marker, D-37: valid JSON such as 1e999, so BP-01 holds,
    https://modelcontextprotocol.io/specification/2025-11-25/basic/index#messages) is written
    as it came, not a TypeError (found in check review). A character of the server's that does
    not print (a C1 control, DEL, a lone surrogate) is JSON's ``\\u`` escape, as in the JSON
    ``inspect`` prints (D-110, D-111): the same JSON, which the report can show as it is."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_as_written)
    return printable_json(text.replace(f'"{_NUMBER}', "").replace(f'{_NUMBER}"', ""))


#: Brackets an out-of-range number's text inside the string :func:`_as_written` makes of
#: it, so that :func:`_json` can take the quotes off again (the text is digits, signs, e, .).
_NUMBER = "@@mcp_ref-check-number@@"


def _as_written(value: Any) -> str:
    if isinstance(value, OutOfRange):
        return _NUMBER + value.text + _NUMBER
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def sent(value: Any) -> str:
    """Evidence: a frame we wrote."""
    return "> " + _shorten(_json(value))


def got(frame: "Frame") -> str:
    """Evidence: a frame the server wrote."""
    return "< " + _shorten(_json(frame.value))


# --- The wire: one server process, spoken to in raw frames ---------------------------------


@dataclass(frozen=True)
class Frame:
    """One decoded JSON value the server wrote: its value, arrival time, position."""

    value: Any
    at: float
    index: int


@dataclass
class Options:
    """How to run the battery (the command line's options)."""

    tool_echo: str = "echo"
    #: The echo tool's argument that carries the text.
    echo_arg: str = "text"
    tool_slow: str = "slow"
    slow_args: Dict[str, Any] = field(default_factory=lambda: {"seconds": 1, "steps": 4})
    #: Seconds to wait for any one response.
    timeout: float = 5.0
    #: Seconds to watch stdout before sending anything (LC-02).
    quiet_window: float = 0.5
    cwd: Optional[str] = None
    env: Optional[Dict[str, str]] = None
    #: Write a transcript per server process: ``trace`` with the check's label inserted
    #: before the extension (``t.jsonl`` -> ``t.main.jsonl``, ...).
    trace: Optional[str] = None


#: Extra seconds allowed for a process's *first* answer. Interpreters and runtimes start
#: slowly (the official Python SDK server needs 1.5-2 s here, more on a loaded machine), and a
#: slow start is not a protocol fault: without this, --timeout would measure start-up.
STARTUP_ALLOWANCE = 15.0


class Wire:
    """A server process spoken to in raw frames. Keeps every stdout byte (TR-06).

    Requests the *server* sends are answered at once (ping with ``{}``, anything else with
    -32601: the battery declares no client capabilities) and their ids recorded (BP-05).
    """

    def __init__(self, argv: Sequence[str], options: Options, label: str) -> None:
        self.label = label
        self.timeout = options.timeout
        self.child = ChildProcess.spawn(argv, cwd=options.cwd, env=options.env)
        self.transcript: Optional[Transcript] = None
        if options.trace:
            name = "".join(c if c.isalnum() else "-" for c in label)
            stem, dot, extension = options.trace.rpartition(".")
            path = f"{stem}.{name}.{extension}" if dot else f"{options.trace}.{name}"
            self.transcript = Transcript(path)
            self.transcript.event("spawn", argv=list(argv), pid=self.child.pid, check=label)
        self.raw = bytearray()
        self.frames: List[Frame] = []
        self.sent: List[Any] = []
        self.server_request_ids: List[Any] = []
        #: The protocolVersion of the initialize *result* (None: no session was opened) and
        #: the capabilities it declared: what LC-16 is judged against, per process.
        self.version: Optional[str] = None
        self.server_capabilities: Dict[str, Any] = {}
        #: :meth:`mark` when notifications/initialized was sent (LC-07), or None.
        self.initialized_mark: Optional[int] = None
        self.eof = False
        self.shutdown: Optional[ShutdownReport] = None
        self._lines = LineBuffer()

    def __enter__(self) -> "Wire":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- Writing ----------------------------------------------------------------------------

    def send_raw(self, data: bytes, reply: bool = False) -> float:
        """Write bytes; returns the time they were written. A dead server is not an error
        here: the checks see that no answer comes. ``reply``: our answer to the server's own
        request, written by the reading thread (it counts towards the reader's hold-up, D-38)."""
        try:
            if self.transcript is None:
                self.child.write(data, reply)
            else:               # recorded before it is written, a failure after (D-86)
                self.transcript.sent(data, "raw", lambda data: self.child.write(data, reply))
        except ConnectionClosed:
            pass
        return time.monotonic()

    def send(self, obj: Any) -> float:
        self.sent.append(obj)
        return self.send_raw(encode(obj))

    def request(self, request_id: Any, method: str,
                params: Optional[Dict[str, Any]] = None) -> float:
        obj: Dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            obj["params"] = params
        return self.send(obj)

    def notify(self, method: str, params: Optional[Dict[str, Any]] = None) -> float:
        obj: Dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            obj["params"] = params
        if method == spec.INITIALIZED and self.initialized_mark is None:
            # Frames read from here on were read after the server could have it (LC-07).
            self.initialized_mark = self.mark()
        return self.send(obj)

    # -- Reading ----------------------------------------------------------------------------

    def mark(self) -> int:
        """The position of the next frame: pass it as ``since`` to look only at what follows."""
        return len(self.frames)

    def wait_for(self, match: Callable[[Any], bool], since: int,
                 timeout: Optional[float] = None) -> Optional[Frame]:
        """The first frame from position ``since`` on that ``match``es, read with a deadline;
        None if the deadline passes or the server closes stdout first."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        if not self.frames:
            deadline += STARTUP_ALLOWANCE       # nothing heard yet: the process may be starting
        checked = since
        while True:
            for frame in self.frames[checked:]:
                if match(frame.value):
                    return frame
            checked = len(self.frames)
            if not self._read_once(deadline):
                return None

    def response(self, request_id: Any, since: int,
                 timeout: Optional[float] = None) -> Optional[Frame]:
        """The response with exactly this id (type included)."""
        return self.wait_for(lambda v: _is_response(v) and _same_id(v.get("id"), request_id),
                             since, timeout)

    def listen(self, seconds: float) -> None:
        """Read whatever comes for ``seconds``, or until EOF: a window in which something
        must *not* happen."""
        deadline = time.monotonic() + seconds
        while self._read_once(deadline):
            pass

    def _read_once(self, deadline: float) -> bool:
        """One read, bounded by ``deadline``. False at EOF or once the deadline has passed."""
        remaining = deadline - time.monotonic()
        if self.eof or remaining <= 0:
            return False
        chunk = self.child.read(timeout=remaining)
        if chunk is None:
            return time.monotonic() < deadline
        if self.transcript is not None:          # b"" too: a line cut by EOF (D-78)
            self.transcript.frames("recv", chunk, "raw")
        if not chunk:
            self.eof = True
            self._lines.feed(b"")
            return False
        self.raw += chunk
        now = time.monotonic()
        for line in self._lines.feed(chunk):
            if isinstance(line, bytes):
                self._take(line, now)
        return True

    def _take(self, line: bytes, now: float) -> None:
        try:
            value = decode(line)
        except NumberOutOfRange as exc:
            # Valid JSON with a number Python cannot carry (D-37): kept, never answered.
            self.frames.append(Frame(exc.value, now, len(self.frames)))
            return
        except FrameError:
            # Not JSON, or nested past our limit (D-51): only the purity check says so (TR-06).
            return
        self.frames.append(Frame(value, now, len(self.frames)))
        if isinstance(value, dict) and "method" in value and "id" in value:
            self._answer_server_request(value)

    def _answer_server_request(self, request: Dict[str, Any]) -> None:
        """The server asked us something: ping gets ``{}`` (PG-02), the rest -32601."""
        self.server_request_ids.append(request["id"])
        if request["method"] == spec.PING:
            reply: Dict[str, Any] = {"jsonrpc": "2.0", "id": request["id"], "result": {}}
        else:
            reply = {"jsonrpc": "2.0", "id": request["id"],
                     "error": {"code": -32601, "message": "Method not found"}}
        self.send_raw(encode(reply), reply=True)

    # -- Ending -----------------------------------------------------------------------------

    def await_exit(self, seconds: float) -> Optional[int]:
        """Close stdin, read stdout to EOF, and wait for the exit; the exit code or None."""
        deadline = time.monotonic() + seconds
        self.child.close_stdin()
        while self._read_once(deadline):
            pass
        return self.child.wait(max(0.0, deadline - time.monotonic()))

    def close(self, grace: float = EXIT_GRACE) -> ShutdownReport:
        """End the process: stdin EOF first, then the TR-13 ladder. Idempotent. ``grace``:
        how long stdout is still read, and its lines judged, while the server exits: the
        client's own grace before SIGTERM (D-01); a server that exits at once costs nothing."""
        if self.shutdown is None:
            exited = self.await_exit(grace) is not None
            self.shutdown = self.child.close(stdin_grace=0.0 if exited else 0.1, term_grace=1.0)
        if self.transcript is not None:       # also when a check ran the ladder itself
            self.transcript.event("close", steps=list(self.shutdown.steps),
                                  exit_code=self.shutdown.exit_code, signal=self.shutdown.signal)
            self.transcript.close()
            self.transcript = None
        return self.shutdown


# --- The battery ---------------------------------------------------------------------------


def _initialize(wire: Wire, version: str, request_id: Any = "init") -> Optional[Frame]:
    since = wire.mark()
    wire.request(request_id, spec.INITIALIZE, {"protocolVersion": version, "capabilities": {},
                                               "clientInfo": CLIENT_INFO})
    frame = wire.response(request_id, since)
    result = frame.value.get("result") if frame is not None else None
    if isinstance(result, dict):
        offered = result.get("protocolVersion")
        wire.version = offered if isinstance(offered, str) else repr(offered)
        capabilities = result.get("capabilities")
        wire.server_capabilities = capabilities if isinstance(capabilities, dict) else {}
    return frame


def _open_session(wire: Wire) -> Optional[Dict[str, Any]]:
    """initialize, then notifications/initialized; the initialize result, or None."""
    frame = _initialize(wire, spec.PROTOCOL_VERSION)
    if frame is None or not isinstance(frame.value.get("result"), dict):
        return None
    wire.notify(spec.INITIALIZED)
    return frame.value["result"]


def options_problem(options: Options, prefix: str = "") -> Optional[str]:
    """Why the battery cannot run with ``options``, or None. Its timeout must be finite (every
    window is measured from it, and the battery must end: no inf, unlike a request's timeout),
    and the slow tool's arguments a JSON object. ``prefix``: "--" to name the options."""
    problem = finite_seconds_problem(f"{prefix}timeout", options.timeout)
    if problem is None and options.timeout > LONGEST_WAIT:
        problem = (f"the {prefix}timeout must be at most {LONGEST_WAIT:g} s, "
                   f"not {options.timeout!r}")
    if problem is None and not isinstance(options.slow_args, dict):
        problem = f"the {prefix}slow-args must be a JSON object, not {options.slow_args!r}"
    return problem


def run_battery(argv: Sequence[str], options: Optional[Options] = None) -> List[Result]:
    """Run every check against the server started by ``argv``; results in report order.

    Raises :class:`~mcp_ref.errors.SpawnError` if the server cannot be started at all, and
    ValueError for options it cannot run with (:func:`options_problem`).
    """
    options = options or Options()
    problem = options_problem(options)
    if problem is not None:
        raise ValueError(problem)
    wires: List[Wire] = []

    def spawn(label: str) -> Wire:
        wire = Wire(argv, options, label)
        wires.append(wire)
        return wire

    results = _negotiation(spawn)
    answered = any(wire.frames for wire in wires)
    if answered:
        results += _after_negotiation(spawn, options)
    # Judged over every process that ran, whatever groups ran.
    results += [_server_request_ids(wires), _early_requests(wires),
                _capabilities_respected(wires), _stdout_purity(wires)]
    if not answered:
        # Not one frame from any initialize probe: a silent server, or no MCP server. Each
        # later group would wait as long again for nothing, one process after another: not
        # run (D-126); init-echo already fails (LC-04, LC-10), so the exit status is 1.
        why = (f"not run: the server answered no initialize within "
               f"{options.timeout + STARTUP_ALLOWANCE:g} s (--timeout {options.timeout:g} s "
               f"+ {STARTUP_ALLOWANCE:g} s for start-up)")
        judged = {r.check.key for r in results}
        results += [not_applicable(c.key, why) for c in CHECKS if c.key not in judged]
    order = {check.key: i for i, check in enumerate(CHECKS)}
    return sorted(results, key=lambda r: order[r.check.key])


if TYPE_CHECKING:
    Spawn = Callable[[str], Wire]


def _after_negotiation(spawn: Spawn, options: Options) -> List[Result]:
    """The groups after the version negotiation, one after another."""
    results = _pre_init(spawn)
    main_results, tools = _main_session(spawn, options)
    results += main_results
    results += _robustness(spawn)
    results += _invalid_params(spawn, options)
    progress_results, call_seconds = _progress(spawn, options, tools)
    results += progress_results
    results += _cancel(spawn, options, tools, call_seconds)
    results += _late_cancel(spawn)
    return results


# --- Group 1: version negotiation, one process per offered version ------------------------


def _negotiation(spawn: Spawn) -> List[Result]:
    """LC-04, LC-10..LC-12: one fresh process per version, since initialize comes once."""
    versions = KNOWN_VERSIONS + (FUTURE_VERSION, PAST_VERSION)

    def probe(version: str) -> Optional[Frame]:
        with spawn(f"initialize {version}") as wire:
            return _initialize(wire, version)

    with concurrent.futures.ThreadPoolExecutor(len(versions)) as pool:
        answers = dict(zip(versions, pool.map(probe, versions)))
    supported = [v for v in KNOWN_VERSIONS if _offered(answers[v]) == v]
    results = [_check_newest(answers[spec.PROTOCOL_VERSION], supported)]
    results += [_check_older(v, answers[v], supported) for v in KNOWN_VERSIONS[1:]]
    results.append(_check_counter_offer("counter-offer-future", FUTURE_VERSION,
                                        answers[FUTURE_VERSION], supported))
    results.append(_check_counter_offer("counter-offer-past", PAST_VERSION,
                                        answers[PAST_VERSION], supported))
    results.append(_check_newest_counter_offer(answers, supported))
    return results


def _offered(frame: Optional[Frame]) -> Optional[str]:
    """The protocolVersion of an initialize *result*, if that is what the frame is."""
    result = frame.value.get("result") if frame else None
    version = result.get("protocolVersion") if isinstance(result, dict) else None
    return version if isinstance(version, str) else None


def _initialize_request(version: str) -> str:
    return sent({"jsonrpc": "2.0", "id": "init", "method": spec.INITIALIZE,
                 "params": {"protocolVersion": version, "capabilities": {},
                            "clientInfo": CLIENT_INFO}})


def _check_newest(frame: Optional[Frame], supported: List[str]) -> Result:
    """LC-04 (the result's three fields) and LC-10 (the echo) at our own revision. A server
    whose newest revision is older counter-offers a version it does support (LC-11): that
    is no failure (the review of 2026-12-06 found such servers failed)."""
    key, version = f"init-echo-{spec.PROTOCOL_VERSION}", spec.PROTOCOL_VERSION
    evidence = [_initialize_request(version)] + ([got(frame)] if frame else [])
    if frame is None:
        return broken(key, "no answer to initialize", evidence)
    result = frame.value.get("result")
    if not isinstance(result, dict):
        return broken(key, "initialize was answered with an error, not a result", evidence)
    info = result.get("serverInfo")
    if not (isinstance(result.get("capabilities"), dict) and isinstance(info, dict)
            and isinstance(info.get("name"), str) and isinstance(info.get("version"), str)):
        return broken(key, "the result lacks capabilities or serverInfo {name, version} (LC-04)",
                      evidence)
    offered = result.get("protocolVersion")
    if offered != version and offered in supported:
        return not_applicable(key, f"not supported by the server: it counter-offered {offered} "
                                   "(LC-11); the result has its three fields (LC-04)", evidence)
    if offered != version:
        return broken(key, f"answered {offered!r}, neither {version!r} nor a version the "
                           "server echoes when asked for it (LC-10, LC-11)", evidence)
    return passed(key, f"echoed {version}; serverInfo {info['name']} {info['version']}", evidence)


def _check_older(version: str, frame: Optional[Frame], supported: List[str]) -> Result:
    """LC-10 for the older revisions. A server need not support them; if it does not, it
    must counter-offer a version it does support, one it echoes when asked for it (LC-11)."""
    key = f"init-echo-{version}"
    evidence = [_initialize_request(version)] + ([got(frame)] if frame else [])
    offered = _offered(frame)
    if offered == version:
        return passed(key, f"echoed {version}", evidence)
    if offered in supported:
        return not_applicable(key, f"not supported by the server: it counter-offered "
                                   f"{offered} (LC-11)", evidence)
    return broken(key, "no result with an echo or a supported counter-offer", evidence)


def _check_counter_offer(key: str, version: str, frame: Optional[Frame],
                         supported: List[str]) -> Result:
    """LC-11: an unsupported version gets a *result* with a supported one, never an error
    (the -32602 on the lifecycle page is only an example, ER-04, A3) nor an echo."""
    evidence = [_initialize_request(version)] + ([got(frame)] if frame else [])
    offered = _offered(frame)
    if frame is None:
        return broken(key, "no answer to initialize", evidence)
    if "error" in frame.value:
        return broken(key, f"answered with error {_error_code(frame.value)}, not a "
                           "counter-offer (A3: the error is only an example)", evidence)
    if offered == version:
        return broken(key, f"echoed the unsupported {version} instead of counter-offering",
                      evidence)
    if offered not in supported:
        return broken(key, f"counter-offered {offered!r}, which the server does not echo when "
                           f"asked for it (supported: {', '.join(supported) or 'none'})", evidence)
    return passed(key, f"counter-offered {offered}", evidence)


def _check_newest_counter_offer(answers: Dict[str, Optional[Frame]],
                                supported: List[str]) -> Result:
    """LC-12: the counter-offer is the newest supported version (ISO dates: max())."""
    key = "counter-offer-newest"
    offers = {v: _offered(answers[v]) for v in (FUTURE_VERSION, PAST_VERSION)}
    offers = {v: o for v, o in offers.items() if o in supported and o != v}
    if not offers or not supported:
        return not_applicable(key, "no counter-offer was made (see LC-11)")
    newest = max(supported)
    evidence = [f"asked {v}, offered {o}" for v, o in offers.items()]
    evidence.append("supported (echoed): " + ", ".join(supported))
    if any(o != newest for o in offers.values()):
        return broken(key, f"the counter-offer is not the newest supported ({newest})", evidence)
    return passed(key, f"counter-offered the newest supported, {newest}", evidence)


# --- Group 2: before initialize ------------------------------------------------------------


def _pre_init(spawn: Spawn) -> List[Result]:
    """LC-02: the server speaks only after initialize, and refuses other requests before it."""
    with spawn("before initialize") as wire:
        wire.listen(_quiet_window(wire))
        since = wire.mark()
        wire.request("early-list", spec.TOOLS_LIST)
        answer = wire.response("early-list", since)
        # Everything else this process said counts: initialize is never sent to it, and a
        # server slow to start may speak only after the first quiet window.
        return [_check_silence(wire, answer), _check_gating(answer)]


def _quiet_window(wire: Wire) -> float:
    return min(0.5, wire.timeout / 4)


def _check_silence(wire: Wire, answer: Optional[Frame]) -> Result:
    """LC-02: nothing on stdout before the client's initialize, but the ``answer`` to our one
    request (judged by pre-init-gating). Lines that are not JSON are TR-06's business
    (stdout-purity), so only JSON frames count here."""
    key = "silent-before-initialize"
    said = [f for f in wire.frames if f is not answer]
    if said:
        return broken(key, f"{len(said)} message(s) before initialize",
                      [got(f) for f in said[:3]])
    return passed(key, f"no message in {_quiet_window(wire):g} s, nor until tools/list was "
                       "answered")


def _check_gating(frame: Optional[Frame]) -> Result:
    """A6 / D-05: the spec does not say how; an error response is the sensible answer, a
    result means the request was processed before the session existed."""
    key = "pre-init-gating"
    evidence = [sent({"jsonrpc": "2.0", "id": "early-list", "method": spec.TOOLS_LIST})]
    if frame is None:
        return broken(key, "no answer to tools/list before initialize", evidence)
    evidence.append(got(frame))
    if "result" in frame.value:
        return broken(key, "tools/list was processed before initialize", evidence)
    return passed(key, f"refused with error {_error_code(frame.value)}", evidence)


# --- Group 3: one ordinary session -----------------------------------------------------------


def _main_session(spawn: Spawn, options: Options) -> Tuple[List[Result], List[str]]:
    """The handshake, pings, notifications, errors, ids, tools, echo, and exit on EOF."""
    keys = ("ping-before-initialized", "no-reply-to-notifications", "ping-operating",
            "capability-honesty", "tool-schemas", "tool-names", "unknown-method", "id-types",
            "echo-round-trip", "exit-on-eof")
    with spawn("session") as wire:
        init = _initialize(wire, spec.PROTOCOL_VERSION)
        if init is None or not isinstance(init.value.get("result"), dict):
            return [not_applicable(k, "the initialize handshake failed") for k in keys], []
        capabilities = init.value["result"].get("capabilities")
        # Not an object breaks LC-04 (init-echo judges it); read here as none declared, not
        # a traceback (found in check review; "tools" in 5 raised TypeError).
        # https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle#initialization
        capabilities = capabilities if isinstance(capabilities, dict) else {}
        results = [_ping(wire, "ping-before-initialized", "ping-early")]
        _send_notifications(wire)
        results.append(_ping(wire, "ping-operating", "ping-op"))
        listing = _tools_list(wire)
        results.append(_check_capability(listing, capabilities))
        tools = _tool_names(listing)
        results.append(_check_schemas(listing))
        results.append(_check_tool_names(listing, init.value["result"].get("protocolVersion")))
        results.append(_check_unknown_method(wire))
        results.append(_check_id_types(wire))
        results.append(_check_echo(wire, options.tool_echo, options.echo_arg, listing))
        results.append(_check_exit(wire))
        results.append(_check_no_replies(wire))
    return results, tools


def _ping(wire: Wire, key: str, request_id: Any) -> Result:
    """PG-02: ``{"result": {}}`` with the same id, within :data:`PING_PROMPT` seconds."""
    since = wire.mark()
    started = wire.request(request_id, spec.PING)
    frame = wire.response(request_id, since)
    evidence = [sent({"jsonrpc": "2.0", "id": request_id, "method": spec.PING})]
    if frame is None:
        return broken(key, f"no answer within {wire.timeout:g} s", evidence)
    evidence.append(got(frame))
    result = frame.value.get("result")
    if not (isinstance(result, dict) and set(result) <= {"_meta"}):
        return broken(key, "the answer is not an empty result {}", evidence)
    latency = frame.at - started
    if latency > PING_PROMPT:
        return broken(key, f"answered after {latency:.2f} s, not promptly", evidence)
    return passed(key, f"{{}} after {latency * 1000:.0f} ms", evidence)


def _send_notifications(wire: Wire) -> None:
    """notifications/initialized (LC-05) and one the server cannot know (BP-13)."""
    wire.notify(spec.INITIALIZED)
    wire.notify("notifications/mcp_ref_check/unknown", {"note": "never answer this"})


def _check_no_replies(wire: Wire) -> Result:
    """BP-13: every response in the session must answer one of our requests. Checked last,
    over the whole session, so a late reply to a notification is caught too; the pings
    sent after the notifications are the barrier that lets replies arrive."""
    key = "no-reply-to-notifications"
    ours = [obj.get("id") for obj in wire.sent if "id" in obj]
    # An answer to one of ours with its id's type changed ("0" for 0) is id-types' failure
    # (BP-07), not an answer to a notification.
    stray = [f for f in wire.frames if _is_response(f.value)
             and not any(_loosely(f.value.get("id"), i) for i in ours)]
    notes = [sent(obj) for obj in wire.sent if "id" not in obj]
    if stray:
        return broken(key, f"{len(stray)} response(s) to no request of ours",
                      notes + [got(f) for f in stray[:3]])
    return passed(key, "no response to either notification", notes)


def _tools_list(wire: Wire) -> Optional[Frame]:
    since = wire.mark()
    wire.request("tools-list", spec.TOOLS_LIST)
    return wire.response("tools-list", since)


def _tool_names(listing: Optional[Frame]) -> List[str]:
    result = listing.value.get("result") if listing else None
    tools = result.get("tools") if isinstance(result, dict) else None
    if not isinstance(tools, list):
        return []
    return [t["name"] for t in tools if isinstance(t, dict) and isinstance(t.get("name"), str)]


def _check_capability(listing: Optional[Frame], capabilities: Dict[str, Any]) -> Result:
    """TL-01: a server that declares ``tools`` serves tools/list. One that does not has no
    tools/list to offer: -32601, the code of a method not available (ER-01), the answer
    2025-11-25's roots and completion pages give (a SHOULD each, for their own methods). No
    page says it of tools before 2026-07-28, whose schema says it of every capability (a row
    of that revision alone, so not printed here, D-118: see ER-11): warn."""
    key = "capability-honesty"
    evidence = ["capabilities: " + _shorten(_json(capabilities))]
    if listing is None:
        return broken(key, "no answer to tools/list", evidence)
    evidence.append(got(listing))
    declared = "tools" in capabilities
    if declared and "result" not in listing.value:
        return broken(key, "tools declared, but tools/list failed (TL-01)", evidence)
    if not declared and "result" in listing.value:
        return warned(key, "no tools capability, yet tools/list returned a result (ER-01: "
                           "-32601 for a method not available)", evidence)
    if not declared and _error_code(listing.value) != -32601:
        return warned(key, f"no tools capability; tools/list got {_error_code(listing.value)}, "
                           "not -32601 (ER-01: a method not available)", evidence)
    return passed(key, "tools declared and listed" if declared else
                  "no tools capability; tools/list is -32601", evidence)


def _check_schemas(listing: Optional[Frame]) -> Result:
    """TL-06: ``inputSchema`` is required and is an object schema, even with no arguments."""
    key = "tool-schemas"
    result = listing.value.get("result") if listing else None
    tools = result.get("tools") if isinstance(result, dict) else None
    if not isinstance(tools, list):
        return not_applicable(key, "no tool list to inspect")
    bad = [t for t in tools if not (isinstance(t, dict) and isinstance(t.get("inputSchema"), dict)
                                    and t["inputSchema"].get("type") == "object")]
    if bad:
        return broken(key, f"{len(bad)} of {len(tools)} tool(s) without an object inputSchema",
                      ["tool: " + _shorten(_json(t)) for t in bad[:3]])
    return passed(key, f"{len(tools)} tool(s), all with type \"object\"")


#: TL-07 (2025-11-25): what a tool name should be made of, and how long it may be.
_TOOL_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")


def _check_tool_names(listing: Optional[Frame], version: Any) -> Result:
    """TL-07, a SHOULD from 2025-11-25 on: names of 1 to 128 characters from A-Z a-z 0-9
    _ - . (no spaces or commas), unique within the server. Judged on the session's listing,
    so only when that session speaks 2025-11-25."""
    key = "tool-names"
    if not _from_v4(version):
        return not_applicable(key, f"the session speaks {version!r}: tool names are specified "
                                   f"from {_V4} on")
    names = [t.get("name") for t in _listed_tools(listing)]
    if not names:
        return not_applicable(key, "no tools listed")
    odd = [n for n in names if not (isinstance(n, str) and _TOOL_NAME.fullmatch(n))]
    # Counted once, not with names.count per name: a long listing took hours (found in check
    # review). TL-07:
    # https://modelcontextprotocol.io/specification/2025-11-25/server/tools#tool-names
    counts = collections.Counter(n for n in names if isinstance(n, str))
    twice = sorted(n for n, count in counts.items() if count > 1)
    problems = ([f"{len(odd)} name(s) outside 1-128 of A-Z a-z 0-9 _ - ."] if odd else []) + (
        [f"listed more than once: {', '.join(map(_json, twice[:3]))}"] if twice else [])
    if problems:
        return broken(key, "; ".join(problems), ["name: " + _shorten(_json(n)) for n in odd[:3]])
    return passed(key, f"{len(names)} name(s), all well formed and unique")


def _from_v4(version: Any) -> bool:
    """Whether a session speaking ``version`` is on or after :data:`_V4` (revisions are dates,
    and compare as strings, as ``spec.METHOD_SINCE`` and the like are compared)."""
    return isinstance(version, str) and version >= _V4


def _is_error_result(result: Any) -> bool:
    """A tool result that reports a failure (``isError: true``, ER-03)."""
    return isinstance(result, dict) and result.get("isError") is True


def _listed_tools(listing: Optional[Frame]) -> List[Dict[str, Any]]:
    result = listing.value.get("result") if listing else None
    tools = result.get("tools") if isinstance(result, dict) else None
    return [t for t in tools if isinstance(t, dict)] if isinstance(tools, list) else []


def _check_unknown_method(wire: Wire) -> Result:
    """ER-01: an unknown method is -32601. Silence breaks BP-01 (JSON-RPC 2.0 answers every
    request), and so does a result (JSON-RPC 2.0 section 5: a call that meets an error, here
    "Method not found", is answered with ``error``): fail; an error without a string message
    breaks BP-10 (fail); an error with another code only bends ER-01's definition (warn)."""
    key = "unknown-method"
    request = {"jsonrpc": "2.0", "id": "unknown-1", "method": "mcp_ref_check/no_such_method"}
    since = wire.mark()
    wire.send(request)
    frame = wire.response("unknown-1", since)
    evidence = [sent(request)] + ([got(frame)] if frame else [])
    if frame is None or "error" not in frame.value:
        return broken(key, "no error response" if frame else "answered with a result", evidence)
    error = frame.value["error"]
    if not (isinstance(error, dict) and isinstance(error.get("message"), str)):
        return broken(key, "the error has no string message (BP-10)", evidence)
    if _error_code(frame.value) != -32601:
        return warned(key, f"error {_error_code(frame.value)}, not -32601", evidence)
    return passed(key, "-32601", evidence)


def _check_id_types(wire: Wire) -> Result:
    """BP-07: the response carries *the same* id: ``"7"`` stays a string, ``0`` an integer."""
    key = "id-types"
    evidence, wrong = [], []
    for request_id in ("abc", 7, 0, "7"):
        since = wire.mark()
        wire.request(request_id, spec.PING)
        frame = wire.wait_for(lambda v: _is_response(v) and _loosely(v.get("id"), request_id),
                              since)
        evidence.append(sent({"jsonrpc": "2.0", "id": request_id, "method": spec.PING}))
        if frame is None:
            wrong.append(f"no answer for id {_json(request_id)}")
            continue
        evidence.append(got(frame))
        if not _same_id(frame.value.get("id"), request_id):
            wrong.append(f"id {_json(request_id)} came back as {_json(frame.value.get('id'))}")
    if wrong:
        return broken(key, "; ".join(wrong), evidence)
    return passed(key, "all four ids echoed exactly", evidence)


def _check_echo(wire: Wire, tool: str, argument: str, listing: Optional[Frame]) -> Result:
    """BP-02, TR-03: UTF-8 and an escaped newline survive the trip, byte for byte.

    The text must come back unchanged inside the result's text (a tool may decorate it, as
    server-everything's "Echo: ..." does). The text goes in ``argument``; if the tool's
    inputSchema lists other properties but not that one, in its only string property
    (server-everything's ``message``), and with none or several, nothing can be judged: a
    call the server must reject for its arguments would prove nothing about the wire."""
    key = "echo-round-trip"
    found, why = _echo_argument(listing, tool, argument)
    if found is None:
        return not_applicable(key, why)
    request = {"jsonrpc": "2.0", "id": "echo-1", "method": spec.TOOLS_CALL,
               "params": {"name": tool, "arguments": {found: ECHO_TEXT}}}
    since = wire.mark()
    wire.send(request)
    frame = wire.response("echo-1", since)
    evidence = [sent(request)] + ([got(frame)] if frame else [])
    result = frame.value.get("result") if frame else None
    if not isinstance(result, dict) or result.get("isError"):
        return broken(key, "the echo call did not return a successful result", evidence)
    content = result.get("content")
    # Not a list breaks CallToolResult's schema: judged as text that did not come back, not
    # a traceback (found in check review; iterating 5 raised TypeError). BP-02, TR-03:
    # https://modelcontextprotocol.io/specification/2025-11-25/server/tools#tool-result
    texts = [c.get("text") for c in content if isinstance(c, dict)] \
        if isinstance(content, list) else []
    if ECHO_TEXT in texts:
        return passed(key, "the text came back identical", evidence)
    if any(isinstance(t, str) and ECHO_TEXT in t for t in texts):
        return passed(key, "the text came back unchanged inside the result", evidence)
    return broken(key, "the text came back changed", evidence)


def _echo_argument(listing: Optional[Frame], tool: str,
                   argument: str) -> Tuple[Optional[str], str]:
    """The name of the echo tool's text argument: ``argument``, or else the tool's only
    string property (server-everything's ``message``). (None, why) when there is no such
    tool, no single such argument, the tool requires others besides it, or it takes no
    arguments at all."""
    definition = _tool_definition(listing, tool)
    if definition is None:
        return None, f"the server lists no tool named {tool!r} (--tool-echo)"
    schema = _input_schema(definition)
    properties = schema.get("properties")
    if isinstance(properties, dict) and properties and argument not in properties:
        strings = [name for name, rule in properties.items()
                   if isinstance(rule, dict) and rule.get("type") == "string"]
        if len(strings) != 1:
            return None, (f"the {tool!r} tool takes no {argument!r} argument and not exactly "
                          "one string argument (--echo-arg)")
        argument = strings[0]
    required = schema.get("required")
    others = [r for r in required if r != argument] if isinstance(required, list) else []
    if others:
        # Our call lacks them: the tool must refuse it (TL-14), which proves nothing about
        # the wire (found in check review: such an echo tool was failed; BP-02, TR-03). See
        # https://modelcontextprotocol.io/specification/2025-11-25/server/tools#security-considerations
        return None, f"the {tool!r} tool also requires {_json(others[:3])} (--tool-echo)"
    if schema.get("additionalProperties") is False and not properties:
        # A tool that takes no arguments must refuse ours (TL-14): its answer would prove
        # nothing about the wire (found in check review: such an echo tool was failed).
        return None, f"the {tool!r} tool takes no arguments (--tool-echo)"
    return argument, ""


def _input_schema(definition: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """A listed tool's ``inputSchema``; {} when there is none, or it is not an object (the
    peer's: judged by tool-schemas, not trusted here)."""
    schema = definition.get("inputSchema") if definition is not None else None
    return schema if isinstance(schema, dict) else {}


def _tool_definition(listing: Optional[Frame], name: str) -> Optional[Dict[str, Any]]:
    """The listed definition of the tool ``name``, if tools/list listed it."""
    result = listing.value.get("result") if listing else None
    tools = result.get("tools") if isinstance(result, dict) else None
    for tool in tools if isinstance(tools, list) else []:
        if isinstance(tool, dict) and tool.get("name") == name:
            return tool
    return None


def _check_exit(wire: Wire) -> Result:
    """TR-14: stdin EOF is the signal to exit (2026-07-28 says it; 2025-11-25 implies it by the
    client's first step, TR-13, a rule of the client's and so not printed here, D-118). If the
    server stays, the battery climbs the TR-13 ladder (SIGTERM, then SIGKILL) to reap it, and
    the rungs it needed are recorded."""
    key = "exit-on-eof"
    started = time.monotonic()
    code = wire.await_exit(EXIT_GRACE)
    elapsed = time.monotonic() - started
    wire.shutdown = wire.child.close(stdin_grace=0.0, term_grace=1.0)
    rungs = "ladder: " + " -> ".join(wire.shutdown.steps)
    if code is None:
        return broken(key, f"still running {EXIT_GRACE:g} s after stdin EOF", [rungs])
    return passed(key, f"exited with code {code} after {elapsed:.2f} s", [rungs])


# --- Group 4: bad input ----------------------------------------------------------------------


def _robustness(spawn: Spawn) -> List[Result]:
    """ER-01, BP-12: each on its own process, since a server may die of it."""
    with spawn("invalid request") as wire:
        result = _check_invalid_request(wire)
    with spawn("parse error") as wire:
        return [result, _check_parse_error(wire)]


def _invalid_params(spawn: Spawn, options: Options) -> List[Result]:
    """Requests whose params the server must refuse or answer as failures: an unknown tool,
    bad tool arguments, a cursor it never issued, an unknown log level. One process for them
    all, asked in turn; if the server exits on one, the rest are n.a. (it spoils no other
    group)."""
    keys = ("unknown-tool", "bad-arguments", "invalid-cursor", "bad-log-level")
    with spawn("invalid params") as wire:
        init = _open_session(wire)
        if init is None:
            return [not_applicable(k, "the initialize handshake failed") for k in keys]
        capabilities = init.get("capabilities")
        capabilities = capabilities if isinstance(capabilities, dict) else {}
        version = init.get("protocolVersion")
        listing = _tools_list(wire)
        checks: List[Callable[[], Result]] = [
            lambda: _check_unknown_tool(wire, capabilities),
            lambda: _check_bad_arguments(wire, listing, options, version),
            lambda: _check_invalid_cursor(wire, capabilities, listing),
            lambda: _check_bad_log_level(wire, capabilities)]
        results: List[Result] = []
        for key, run in zip(keys, checks):
            if wire.eof:
                after = results[-1].check.key if results else "the handshake and tools/list"
                results.append(not_applicable(key, f"the server had exited (after {after})"))
            else:
                results.append(run())
    return results


def _ask(wire: Wire, request_id: str, method: str,
         params: Dict[str, Any]) -> Tuple[Optional[Frame], List[str]]:
    """One request and its response (None if none came in time), with the evidence."""
    request = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    since = wire.mark()
    wire.send(request)
    frame = wire.response(request_id, since)
    return frame, [sent(request)] + ([got(frame)] if frame else [])


def _expect_invalid_params(key: str, frame: Optional[Frame], evidence: List[str],
                           if_result: Callable[[Any], Result]) -> Result:
    """The judgement the invalid-params rows share: -32602 (invalid params) passes; an error
    with another code is a warning; no answer at all is :func:`broken` (a fail in a MUST row,
    BP-01; in a SHOULD row, a warning); a result is judged by ``if_result(result)``."""
    if frame is None:
        return broken(key, "no answer at all (BP-01: JSON-RPC 2.0 asks for one)", evidence)
    if "error" not in frame.value:
        return if_result(frame.value.get("result"))
    if _error_code(frame.value) != -32602:
        return warned(key, f"error {_error_code(frame.value)}, not -32602", evidence)
    return passed(key, "-32602", evidence)


def _check_unknown_tool(wire: Wire, capabilities: Dict[str, Any]) -> Result:
    """ER-02, TL-11: a tool the server does not have is a protocol error, a JSON-RPC error;
    every version's example uses -32602. No answer breaks BP-01: fail. An isError result,
    a successful result or another code bends the definition, which carries no keyword:
    warn (D-120; a success was failed before, naming no MUST it broke). n.a. without the
    tools capability: such a server has no tools/call method, and -32601 is its answer."""
    key = "unknown-tool"
    # A server without tools does not offer tools/call at all
    # (https://modelcontextprotocol.io/specification/2025-11-25/server/tools#capabilities), so
    # its -32601 says nothing about unknown tools; 2026-07-28's schema spells that answer out
    # (ER-11). Found in check review: such a server got a warning for its correct -32601.
    if not declares(capabilities, "tools"):
        return not_applicable(key, "the server declares no tools capability")
    frame, evidence = _ask(wire, "unknown-tool-1", spec.TOOLS_CALL,
                           {"name": "mcp_ref_check_no_such_tool", "arguments": {}})

    def if_result(result: Any) -> Result:
        if _is_error_result(result):
            return warned(key, "an isError result, not a JSON-RPC error (ER-02: a protocol "
                               "error)", evidence)
        # No MUST row is broken by a success (D-120): ER-02 and TL-11 sort an unknown tool
        # among the protocol errors without a keyword, as they do the isError result above;
        # TL-14's MUST is about a tool's inputs, and here there is no tool to take any.
        return warned(key, "a successful result, as if the tool existed (ER-02, TL-11: a "
                           "protocol error, a JSON-RPC error)", evidence)

    return _expect_invalid_params(key, frame, evidence, if_result)


def _check_bad_arguments(wire: Wire, listing: Optional[Frame], options: Options,
                         version: Any) -> Result:
    """TL-14: the server validates tool inputs. The echo tool gets a number for its string
    argument, then no arguments at all: each must fail, as an isError result or as a
    JSON-RPC error, never as a success (fail). From 2025-11-25, input validation failures
    SHOULD be isError results, for the model to see (ER-03): a JSON-RPC error is a warn
    there, and what older revisions list as a protocol error (-32602) is fine before it."""
    key = "bad-arguments"
    argument, why = _echo_argument(listing, options.tool_echo, options.echo_arg)
    if argument is None:
        return not_applicable(key, why)
    probes = _invalid_echo_arguments(listing, options.tool_echo, argument)
    if not probes:
        return not_applicable(key, f"the {options.tool_echo!r} tool's inputSchema neither "
                                   f"types {argument!r} as a string nor requires it: no "
                                   "arguments it must refuse")
    evidence: List[str] = []
    as_errors: List[str] = []
    for request_id, arguments in probes:
        frame, said = _ask(wire, request_id, spec.TOOLS_CALL,
                           {"name": options.tool_echo, "arguments": arguments})
        evidence += said
        if frame is None:
            return broken(key, f"no answer to {_json(arguments)} as arguments", evidence)
        if "error" in frame.value:
            as_errors.append(f"error {_error_code(frame.value)}")
        elif not _is_error_result(frame.value.get("result")):
            return broken(key, f"{_json(arguments)} as arguments succeeded: the input was not "
                               "validated against the tool's inputSchema", evidence)
    if as_errors and _from_v4(version):
        return warned(key, f"refused, but as JSON-RPC errors ({', '.join(as_errors)}), not "
                           f"isError results (ER-03, from {_V4})", evidence)
    what = "both refused" if len(probes) == 2 else f"{_json(probes[0][1])} refused"
    return passed(key, what + (f" ({', '.join(as_errors)})" if as_errors
                               else " as isError results"), evidence)


def _invalid_echo_arguments(listing: Optional[Frame], tool: str,
                            argument: str) -> List[Tuple[str, Dict[str, Any]]]:
    """The echo tool's arguments its inputSchema refuses, with their request ids: a number
    for ``argument`` if the schema types it ``"string"``, and no arguments if it requires
    it. TL-14 asks a server to refuse what its schema refuses, nothing more (found in check
    review: an optional argument's absence, or a number for an untyped one, was failed;
    https://modelcontextprotocol.io/specification/2025-11-25/server/tools#security-considerations)."""
    schema = _input_schema(_tool_definition(listing, tool))
    properties = schema.get("properties")
    rule = properties.get(argument) if isinstance(properties, dict) else None
    required = schema.get("required")
    probes: List[Tuple[str, Dict[str, Any]]] = []
    if isinstance(rule, dict) and rule.get("type") == "string":
        probes.append(("bad-args-1", {argument: 42}))
    if isinstance(required, list) and argument in required:
        probes.append(("bad-args-2", {}))
    return probes


def _check_invalid_cursor(wire: Wire, capabilities: Dict[str, Any],
                          listing: Optional[Frame]) -> Result:
    """ER-12, PN-06: a cursor the server never issued SHOULD get -32602; the catalogue's
    test also accepts the first page (PN-03: handled gracefully, the cursor ignored). A
    result is the first page only if it is what ``listing`` (tools/list without a cursor,
    asked in the same session) was (:func:`_not_the_first_page`, D-120); any other result,
    another error code, or no answer at all: warn (the row is a SHOULD; BP-01's answer is
    other rows' business). n.a. for a result when there is no first page to compare."""
    key = "invalid-cursor"
    if not declares(capabilities, "tools"):
        return not_applicable(key, "the server declares no tools capability")
    frame, evidence = _ask(wire, "cursor-1", spec.TOOLS_LIST,
                           {"cursor": "mcp_ref-check: a cursor never issued"})

    def if_result(result: Any) -> Result:
        first = listing.value.get("result") if listing is not None else None
        if listing is None or _page_of_tools(first) is None:
            return not_applicable(key, "a result, but tools/list without a cursor gave no "
                                       "page of tools to compare it with", evidence)
        evidence.append("first page: " + got(listing))
        problem = _not_the_first_page(result, first)
        if problem:
            return broken(key, f"a result that is not the first page ({problem}): the "
                               "cursor was neither refused with -32602 (ER-12) nor "
                               "ignored (PN-03)", evidence)
        return passed(key, "the first page (accepted; -32602 is preferred)", evidence)

    return _expect_invalid_params(key, frame, evidence, if_result)


def _page_of_tools(result: Any) -> Optional[List[str]]:
    """The tools of a tools/list result as a sorted list of their names (a tool without a
    string name as its JSON), or None if the result has no ``tools`` array (TL-08's
    schema). Sorted: no revision says in which order tools are listed, and a server that
    keeps them in a hash map may list them in another order each time."""
    tools = result.get("tools") if isinstance(result, dict) else None
    if not isinstance(tools, list):
        return None
    return sorted(t["name"] if isinstance(t, dict) and isinstance(t.get("name"), str)
                  else _json(t) for t in tools)


def _not_the_first_page(result: Any, first: Any) -> Optional[str]:
    """Why ``result`` (the answer to a cursor never issued) is not ``first`` (the answer to
    tools/list without a cursor), or None if it is the first page again: the same tools,
    and a ``nextCursor`` if and only if the first page had one (PN-02: there are more).
    The cursor's value is not compared: it is opaque, and a server may issue a new one each
    time. An empty page, a later page or a page that claims the end of a longer
    listing is a guess at what the cursor meant, not the cursor ignored (D-120)."""
    tools, expected = _page_of_tools(result), _page_of_tools(first)
    if tools is None:
        return "no tools array"
    if tools != expected:
        return f"tools {_shorten(_json(tools), 120)}, the first page has " \
               f"{_shorten(_json(expected), 120)}"
    more, first_more = (isinstance(r, dict) and r.get("nextCursor") is not None
                        for r in (result, first))
    if more != first_more:
        return "a nextCursor the first page does not have" if more else \
            "no nextCursor, where the first page has one"
    return None


def _check_bad_log_level(wire: Wire, capabilities: Dict[str, Any]) -> Result:
    """ER-13: ``logging/setLevel`` with a level RFC 5424 does not have (LG-03) SHOULD get
    -32602. A result, another code or no answer at all: warn."""
    key = "bad-log-level"
    if not declares(capabilities, "logging"):
        return not_applicable(key, "the server declares no logging capability")
    frame, evidence = _ask(wire, "log-level-1", spec.SET_LOGGING_LEVEL, {"level": "loud"})
    return _expect_invalid_params(key, frame, evidence, lambda result: broken(
        key, 'accepted the level "loud"', evidence))


def _check_invalid_request(wire: Wire) -> Result:
    """ER-01: valid JSON that is no JSON-RPC message: -32600, addressed to id 1 or null."""
    key = "invalid-request"
    if _open_session(wire) is None:
        return not_applicable(key, "the initialize handshake failed")
    request = {"jsonrpc": "2.0", "id": 1}
    since = wire.mark()
    wire.send(request)
    # Addressed to 1 or null; "1" too, whose type is id-types' business (BP-07).
    frame = wire.wait_for(lambda v: _is_response(v) and (v.get("id") is None
                                                         or _loosely(v.get("id"), 1)), since)
    evidence = [sent(request)] + ([got(frame)] if frame else [])
    if frame is None:
        return broken(key, "no answer (JSON-RPC 2.0 section 5 wants -32600; the object may "
                           "also be read as a malformed response, which is never answered)",
                      evidence)
    if "error" not in frame.value:
        return broken(key, "answered with a result", evidence)
    if _error_code(frame.value) != -32600:
        return warned(key, f"error {_error_code(frame.value)}, not -32600", evidence)
    return passed(key, "-32600", evidence)


def _check_parse_error(wire: Wire) -> Result:
    """ER-01, BP-12: -32700 with an unreadable id (null or absent, A4), or silence; either
    way the session goes on, proved by a ping: a ping not answered breaks BP-01 (JSON-RPC 2.0
    answers every request, D-85), the one MUST this row fails on (D-118)."""
    key = "parse-error"
    if _open_session(wire) is None:
        return not_applicable(key, "the initialize handshake failed")
    since = wire.mark()
    wire.send_raw(b"{not json\n")
    wire.request("alive-1", spec.PING)
    pong = wire.response("alive-1", since)
    evidence = ["> {not json"] + [got(f) for f in wire.frames[since:]][:4]
    if pong is None:
        code = wire.child.wait(0.1)
        how = f"the server exited with code {code}" if code is not None else "no answer"
        return broken(key, f"the session did not survive: ping after the garbage got {how} "
                           "(BP-01: every request is answered)", evidence)
    answers = [f.value for f in wire.frames[since:pong.index] if _is_response(f.value)]
    odd = [a for a in answers if _error_code(a) != -32700 or a.get("id") is not None]
    if odd:
        return warned(key, "the garbage got something other than -32700 with id null/absent",
                      evidence)
    return passed(key, "-32700, then ping answered" if answers else
                  "ignored silently, then ping answered", evidence)


# --- Group 5: progress ---------------------------------------------------------------------


_PROGRESS_KEYS = ("slow-call-answered", "ping-during-call", "progress-token",
                  "progress-increases", "progress-stops")


def _progress(spawn: Spawn, options: Options, tools: List[str]) -> Tuple[List[Result], float]:
    """PR-01..PR-13 on one call of the slow tool; returns the results and how long the
    call took (the cancel group uses it to size its window)."""
    if options.tool_slow not in tools:
        why = f"the server lists no tool named {options.tool_slow!r} (--tool-slow)"
        return [not_applicable(k, why) for k in _PROGRESS_KEYS], 0.0
    with spawn("progress") as wire:
        if _open_session(wire) is None:
            return [not_applicable(k, "the initialize handshake failed")
                    for k in _PROGRESS_KEYS], 0.0
        token = "progress-ü-1"
        request = _slow_call("slow-1", options.tool_slow, options.slow_args, token)
        since = wire.mark()
        started = wire.send(request)
        ping = _ping(wire, "ping-during-call", "ping-busy")
        response = wire.response("slow-1", since, options.timeout + _seconds(options.slow_args))
    # Closed: stdout was read until the server exited, or for EXIT_GRACE s after stdin EOF,
    # so progress sent long after the response is judged too (PR-13), at no cost in time for
    # a server that exits at once.
    frames = [f for f in wire.frames[since:] if _is_progress(f.value)]
    results = [_check_answered(request, response), ping, _check_token(frames, token),
               _check_increasing(frames, token), _check_stops(frames, token, response)]
    return results, (response.at - started) if response else 0.0


def _slow_call(request_id: str, tool: str, arguments: Dict[str, Any],
               token: str) -> Dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": spec.TOOLS_CALL,
            "params": {"name": tool, "arguments": arguments, "_meta": {"progressToken": token}}}


def _seconds(arguments: Dict[str, Any]) -> float:
    """How long the slow tool says it will take, if its arguments say (else 0), at most
    :data:`LONGEST_WAIT`: the battery waits that long on top of its timeout."""
    seconds = arguments.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        return 0.0
    return min(max(float(seconds), 0.0), LONGEST_WAIT)


def _check_answered(request: Dict[str, Any], response: Optional[Frame]) -> Result:
    """BP-01 (JSON-RPC 2.0 section 5): a request is answered, progress or not."""
    key = "slow-call-answered"
    if response is None:
        return broken(key, "no response to the tool call", [sent(request)])
    return passed(key, "answered", [sent(request), got(response)])


def _ours(frame: Frame, token: str) -> bool:
    return _loosely(_params(frame.value).get("progressToken"), token)


def _check_token(frames: List[Frame], token: str) -> Result:
    """PR-04: progress carries the token of the request it is about, exactly as sent (type and
    value); PR-08: so none carries a token the battery never sent. PR-01 and PR-02 bind the
    requester, here the battery, not the server judged (D-118)."""
    key = "progress-token"
    if not frames:
        return not_applicable(key, "no progress was sent (PR-09 allows that)")
    wrong = [f for f in frames if not _same_id(_params(f.value).get("progressToken"), token)]
    if wrong:
        return broken(key, f"{len(wrong)} of {len(frames)} notification(s) carry another token",
                      [f"token sent: {_json(token)}"] + [got(f) for f in wrong[:3]])
    return passed(key, f"{len(frames)} notification(s), token exact", [got(frames[0])])


def _check_increasing(frames: List[Frame], token: str) -> Result:
    """PR-05: each ``progress`` exceeds the one before, total or no total."""
    key = "progress-increases"
    mine = [f for f in frames if _ours(f, token)]
    if not mine:
        return not_applicable(key, "no progress was sent (PR-09 allows that)")
    values = [_params(f.value).get("progress") for f in mine]
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(numbers) < len(values) or any(b <= a for a, b in zip(numbers, numbers[1:])):
        return broken(key, "progress values " + _json(values), [got(f) for f in mine[:4]])
    return passed(key, "progress values " + _json(values))


def _check_stops(frames: List[Frame], token: str, response: Optional[Frame]) -> Result:
    """PR-13: nothing for a token once its response is out."""
    key = "progress-stops"
    if response is None:
        return not_applicable(key, "no response to compare against")
    late = [f for f in frames if _ours(f, token) and f.index > response.index]
    if late:
        return broken(key, f"{len(late)} progress notification(s) after the response",
                      [got(response)] + [got(f) for f in late[:3]])
    return passed(key, "nothing after the response, until the server exited (or for "
                       f"{EXIT_GRACE:g} s after stdin EOF)")


# --- Group 6: cancellation -----------------------------------------------------------------


def _cancel(spawn: Spawn, options: Options, tools: List[str], call_seconds: float) -> List[Result]:
    """CN-05: cancel a longer slow call after its first progress; then nothing more may come
    for it, and the server must still answer ping (CN-08). The battery speaks 2025-11-25 and
    older, where stopping is a SHOULD (CN-05: stop the work, send no response); 2026-07-28's
    stdio page makes "nothing more" a MUST NOT (see CN-23), not printed here (D-118)."""
    keys = ("cancel-honoured", "alive-after-cancel")
    if options.tool_slow not in tools:
        why = f"the server lists no tool named {options.tool_slow!r} (--tool-slow)"
        return [not_applicable(k, why) for k in keys]
    with spawn("cancel") as wire:
        if _open_session(wire) is None:
            return [not_applicable(k, "the initialize handshake failed") for k in keys]
        arguments = _longer(options.slow_args)
        expected = 2 * (call_seconds or _seconds(options.slow_args) or options.timeout / 2)
        return [_check_cancel(wire, options.tool_slow, arguments, expected),
                _check_alive(wire, "alive-after-cancel", "ping-after-cancel")]


def _late_cancel(spawn: Spawn) -> List[Result]:
    """Cancels a server must take without a word, in a process of their own, so that a
    server that dies of one spoils no other check (D-67): first one for a request already
    answered (CN-08), then invalid ones (CN-10)."""
    keys = ("cancel-after-response", "invalid-cancels-ignored")
    with spawn("late cancel") as wire:
        if _open_session(wire) is None:
            return [not_applicable(k, "the initialize handshake failed") for k in keys]
        late, alive = _check_late_cancel(wire)
        if not alive:
            why = "no session left to try them on: the server stopped answering before them"
            return [late, not_applicable(keys[1], why)]
        return [late, _check_invalid_cancels(wire)]


def _check_late_cancel(wire: Wire) -> Tuple[Result, bool]:
    """CN-08 staged as the catalogue's test stages it: the cancel arrives after the response
    (the canceller lost the race). The server may ignore it (CN-06) and should (CN-10);
    answering it would answer a notification (BP-13); and it must go on: the ping after it
    is answered. The request is a ping, which every server serves; cancelling it is allowed
    (only initialize may not be, CN-03). Also returns whether the server still answered a
    ping at the end."""
    key, request_id = "cancel-after-response", "answered-then-cancelled"
    since = wire.mark()
    wire.request(request_id, spec.PING)
    answer = wire.response(request_id, since)
    evidence = [sent({"jsonrpc": "2.0", "id": request_id, "method": spec.PING})]
    if answer is None:
        return not_applicable(key, "the ping to be cancelled was not answered", evidence), False
    evidence.append(got(answer))
    cancel = {"requestId": request_id, "reason": "mcp_ref check: CN-08, after the response"}
    replies, alive, notes = _quietly(wire, key, [cancel], "ping-after")
    evidence += notes
    answered = alive.outcome == PASS
    if replies:
        return broken(key, f"{len(replies)} response(s) after the cancel of an answered "
                           "request", evidence + [got(f) for f in replies[:2]]), answered
    if not answered:
        return broken(key, f"after the cancel of an answered request, {alive.summary}",
                      evidence + alive.evidence), answered
    return passed(key, "the cancel was taken quietly, then ping answered",
                  evidence + alive.evidence), answered


#: Invalid cancels (CN-10's black-box test, and an id of a type no request id has, BP-03).
#: None stands for "no params at all".
_INVALID_CANCELS: Tuple[Optional[Dict[str, Any]], ...] = (
    None, {}, {"requestId": "never-sent-by-mcp_ref-check"}, {"requestId": True},
    {"requestId": ["not", "an", "id"], "reason": 7})


def _check_invalid_cancels(wire: Wire) -> Result:
    """CN-10: invalid cancels are ignored without a word. A reply to any of them answers a
    notification, which BP-13 forbids: fail. A server that dies of one has not ignored it,
    but CN-10 is a SHOULD: warn."""
    key = "invalid-cancels-ignored"
    replies, alive, evidence = _quietly(wire, key, _INVALID_CANCELS, "ping-after-invalid")
    if replies:
        return broken(key, f"{len(replies)} response(s) to {len(_INVALID_CANCELS)} invalid "
                           "cancels", evidence + [got(f) for f in replies[:2]])
    if alive.outcome != PASS:
        return warned(key, f"after {len(_INVALID_CANCELS)} invalid cancels, {alive.summary} "
                           "(CN-10, a SHOULD: ignore them)", evidence + alive.evidence)
    return passed(key, f"{len(_INVALID_CANCELS)} invalid cancels taken quietly, then ping "
                       "answered", evidence + alive.evidence)


def _quietly(wire: Wire, key: str, cancels: Sequence[Optional[Dict[str, Any]]],
             probe: str) -> Tuple[List[Frame], Result, List[str]]:
    """Send ``cancels`` (None: one without params), then a ping with id ``probe``. Returns
    every response after them but the ping's (each one answers a notification, BP-13), the
    ping's liveness result for ``key``, and the frames sent, as evidence."""
    after = wire.mark()
    evidence: List[str] = []
    for params in cancels:
        wire.notify(spec.CANCELLED, params)
        evidence.append(sent({"jsonrpc": "2.0", "method": spec.CANCELLED,
                              **({} if params is None else {"params": params})}))
    alive = _check_alive(wire, key, probe)
    wire.listen(CANCEL_GRACE)                 # a reply to a cancel may follow the pong
    replies = [f for f in wire.frames[after:]
               if _is_response(f.value) and not _same_id(f.value.get("id"), probe)]
    return replies, alive, evidence


def _check_alive(wire: Wire, key: str, request_id: Any) -> Result:
    """Liveness only: any answer to a ping proves the session goes on (decision D-10);
    the shape of the answer is the ping checks' business (PG-02)."""
    since = wire.mark()
    wire.request(request_id, spec.PING)
    frame = wire.response(request_id, since)
    evidence = [sent({"jsonrpc": "2.0", "id": request_id, "method": spec.PING})]
    if frame is None:
        if wire.eof:
            return broken(key, "its stdout closed before it answered ping", evidence)
        return broken(key, f"no answer to ping within {wire.timeout:g} s", evidence)
    return passed(key, "ping answered", evidence + [got(frame)])


def _longer(arguments: Dict[str, Any]) -> Dict[str, Any]:
    """The slow tool's arguments with ``seconds`` and ``steps`` doubled (same step length)."""
    longer = dict(arguments)
    for name in ("seconds", "steps"):
        if isinstance(longer.get(name), (int, float)) and not isinstance(longer[name], bool):
            longer[name] = longer[name] * 2
    return longer


def _carries(token: str) -> Callable[[Any], bool]:
    """Matches progress notifications for ``token`` (written as text, type aside)."""
    return lambda v: _is_progress(v) and _loosely(_params(v).get("progressToken"), token)


def _check_cancel(wire: Wire, tool: str, arguments: Dict[str, Any], expected: float) -> Result:
    """Start the call, wait for its first progress (or a short while), cancel it and ping
    right behind the cancel, then watch until the call would have finished (``expected`` s)
    plus half a second. What arrives before the pong the server may have written before it
    read the cancel (D-100)."""
    key, token, request_id = "cancel-honoured", "cancel-ü-1", "slow-cancel"
    request = _slow_call(request_id, tool, arguments, token)
    since = wire.mark()
    started = wire.send(request)

    def answered(value: Any) -> bool:
        return _is_response(value) and _same_id(value.get("id"), request_id)

    first = wire.wait_for(lambda v: _carries(token)(v) or answered(v), since,
                          min(wire.timeout, max(0.5, expected / 4)))
    evidence = [sent(request)] + ([got(first)] if first else ["(no progress yet)"])
    # Everything read so far, not only the first match: a last progress and the response may
    # come in one read, and a cancel for an answered request is ours to never send (CN-02).
    done = next((f for f in wire.frames[since:] if answered(f.value)), None)
    if done is not None:
        return not_applicable(key, "the call finished before it could be cancelled",
                              evidence + ([got(done)] if done is not first else []))
    cancel = {"requestId": request_id, "reason": "mcp_ref check: CN-05"}
    after = wire.mark()
    cancelled_at = wire.notify(spec.CANCELLED, cancel)
    evidence.append(sent({"jsonrpc": "2.0", "method": spec.CANCELLED, "params": cancel}))
    # A ping right behind the cancel. A server reads its input in order, so whatever it wrote
    # before it answered this ping it may have written before it read the cancel: on a busy
    # machine that can be well after CANCEL_GRACE. Only what comes after the pong (and after
    # the grace window) was sent by a server that knew of the cancel (D-100).
    behind = {"jsonrpc": "2.0", "id": "ping-behind-cancel", "method": spec.PING}
    wire.send(behind)
    evidence.append(sent(behind))
    late = wire.response(request_id, after, max(0.5, started + expected + 0.5 - time.monotonic()))
    wire.listen(0.0 if late else CANCEL_GRACE)
    pong = next((f for f in wire.frames[after:] if _is_response(f.value)
                 and _same_id(f.value.get("id"), behind["id"])), None)

    def before_the_cancel_was_read(frame: Frame) -> bool:
        if pong is not None and frame.index < pong.index:
            return True
        return frame.at <= cancelled_at + CANCEL_GRACE     # no pong: the grace window alone

    stray = [f for f in wire.frames[after:]               # CN-05: beyond the grace window
             if _carries(token)(f.value) and not before_the_cancel_was_read(f)]
    if late is not None and before_the_cancel_was_read(late):
        # CN-08: the response crossed the cancel on the wire, sent before the server read it.
        return not_applicable(key, "the call finished as the cancel went out (CN-08: a race "
                              "both sides must allow)", evidence + [got(late)])
    if late is not None:
        return broken(key, "a response after the cancel", evidence + [got(late)])
    if stray:
        return broken(key, f"{len(stray)} progress notification(s) after the cancel",
                      evidence + [got(f) for f in stray[:2]])
    return passed(key, f"nothing for {time.monotonic() - cancelled_at:.1f} s after the cancel",
                  evidence)


# --- Whole-run checks ---------------------------------------------------------------------


def _server_request_ids(wires: List[Wire]) -> Result:
    """BP-03/04/05: ids of the server's own requests: string or integer, never reused."""
    key = "server-request-ids"
    problems, count = [], 0
    for wire in wires:
        ids = wire.server_request_ids
        count += len(ids)
        if any(not is_request_id(i) for i in ids):
            problems.append(f"{wire.label}: an id that is not a string or integer in {_json(ids)}")
        seen = {_json(i) for i in ids}
        if len(seen) != len(ids):
            problems.append(f"{wire.label}: an id used twice in {_json(ids)}")
    if count == 0:
        return not_applicable(key, "the server sent no requests during the battery")
    if problems:
        return broken(key, problems[0], problems)
    return passed(key, f"{count} request(s), ids unique")


def _early_requests(wires: Sequence[Wire]) -> Result:
    """LC-07 (catalogue A7): until notifications/initialized, a server sends no request but
    ping; log notifications are allowed. Judged on every process that got an initialize
    result, the version probes included: they never send notifications/initialized at all.

    A request read before we wrote notifications/initialized was sent before the server could
    have read it, so a failure here is never a race; one sent just before the server read it
    but read by us after we wrote it is missed (a false pass, never a false warning)."""
    key = "requests-wait-for-initialized"
    problems, opened, never = [], 0, 0
    for wire in wires:
        if wire.version is None:
            continue            # no session: silent-before-initialize judges what it said
        opened += 1
        never += wire.initialized_mark is None
        before = wire.frames[:wire.initialized_mark]       # [:None]: all of them
        problems += [f"{wire.label}: {got(f)}" for f in before
                     if _is_request(f.value) and f.value["method"] != spec.PING]
    if not opened:
        return not_applicable(key, "no initialize handshake succeeded")
    if problems:
        return broken(key, f"{len(problems)} request(s) before notifications/initialized",
                      problems[:6])
    return passed(key, f"no request but ping in {opened} session(s), {never} of them never "
                       "sent notifications/initialized")


#: The revisions in which LC-16 is a SHOULD (catalogue LC-16: V1-V2); a MUST from 2025-06-18.
#: A version the battery does not know is judged by the pinned revision's rule.
CAPABILITIES_SHOULD_ONLY = ("2024-11-05", "2025-03-26")


def _capabilities_respected(wires: Sequence[Wire]) -> Result:
    """LC-16 (b, c) and LG-01 on every process that got an initialize result: the battery
    declares no client capabilities, so the server sends it no roots, sampling or
    elicitation request; and a notification that needs a server capability (log messages,
    list_changed, resources/updated) needs it declared in that process's result. In
    2024-11-05 and 2025-03-26 LC-16 is a SHOULD (warn); LG-01 is a MUST in every revision."""
    key = "capabilities-respected"
    must: List[str] = []
    should: List[str] = []
    opened = 0
    for wire in wires:
        if wire.version is None:
            continue
        opened += 1
        version = wire.version if wire.version in spec.SUPPORTED_VERSIONS else None
        for frame in wire.frames:
            why, rule = _outside_capabilities(frame.value, version, wire.server_capabilities)
            if why:
                line = f"{wire.label} ({wire.version}), {rule}: {why}: {got(frame)}"
                strict = rule == "LG-01" or wire.version not in CAPABILITIES_SHOULD_ONLY
                (must if strict else should).append(line)
    if not opened:
        return not_applicable(key, "no initialize handshake succeeded")
    if must:
        return broken(key, f"{len(must)} message(s) outside the negotiated capabilities",
                      (must + should)[:6])
    if should:
        return warned(key, f"{len(should)} message(s) outside the negotiated capabilities, "
                           "in revisions where LC-16 is a SHOULD", should[:6])
    return passed(key, f"every message of {opened} session(s) inside what was declared")


def _outside_capabilities(value: Any, version: Optional[str],
                          capabilities: Dict[str, Any]) -> Tuple[str, str]:
    """Why one message from the server needs a capability that was not negotiated, and the
    rule it breaks; ``("", "")`` when it needs none or has it. ``version`` None: unknown."""
    if not isinstance(value, dict) or not isinstance(value.get("method"), str):
        return "", ""
    method = value["method"]
    if "id" in value:
        needed = gating_capability(spec.SERVER_REQUESTS, method, version)
        if needed:
            return f"{method} needs the client's {needed!r} capability; none was declared", \
                "LC-16"
        return "", ""
    if method == spec.ELICITATION_COMPLETE:          # the client's url mode (D-36)
        return f"{method} needs the client's elicitation capability; none was declared", \
            "LC-16"
    needed = spec.NOTIFICATION_CAPABILITY.get(method)
    if needed and spec.NOTIFICATION_SENDER.get(method) == "server" \
            and not declares(capabilities, needed):
        rule = "LG-01" if method == spec.LOG_MESSAGE else "LC-16"
        return f"{method} needs the server's {needed!r} capability, not declared", rule
    return "", ""


def _stdout_purity(wires: List[Wire]) -> Result:
    """TR-06 (and TR-02, BP-01): every byte on stdout belongs to a one-line JSON-RPC object,
    from spawn to exit. Only the envelope is judged here; other checks judge the contents."""
    key = "stdout-purity"
    problems, lines, crlf, unread, deep = [], 0, [], [], []
    for wire in wires:
        *complete, tail = bytes(wire.raw).split(b"\n")
        lines += len(complete)
        for number, line in enumerate(complete, 1):
            why = _impurity(line)
            if not why and not line.endswith(b"\r"):
                continue                                        # a clean frame
            where, shown = f"{wire.label}, line {number}", _shorten(repr(line), 120)
            if why == TOO_DEEP_TO_JUDGE:
                deep.append(f"{where}: {shown}")
            elif why:
                problems.append(f"{where}: {why}: {shown}")
            else:
                crlf.append(f"{where}: {shown}")
        if tail:
            problems.append(f"{wire.label}: {len(tail)} bytes after the last newline")
        if wire.shutdown and wire.shutdown.stdout_bytes_discarded:
            # Thrown away unread while the ladder ran (after SIGTERM, or past the grace):
            # nothing is known against them, so they are said, not failed.
            unread.append(f"{wire.label}: {wire.shutdown.stdout_bytes_discarded} bytes "
                          "written after the server was told to stop (not inspected)")
    if problems:
        return broken(key, f"{len(problems)} problem(s) in {lines} line(s)",
                      (problems + unread)[:6])
    if unread:
        return warned(key, f"{lines} line(s) clean; output during shutdown not inspected",
                      unread[:6])
    said = []
    if crlf:
        # The spec says nothing about CR (catalogue A8); JSON parsers ignore it as whitespace,
        # and we strip it on input (D-08). A portability smell, not a broken MUST NOT.
        said.append(f"{len(crlf)} of {lines} line(s) end in CRLF (not addressed by the spec, A8)")
    if deep:
        # Our limit, not a rule: JSON lets a reader limit nesting (RFC 8259 section 9), MCP
        # sets none. Not read, so not judged; said, since an mcp_ref client refuses them.
        said.append(f"{len(deep)} of {lines} line(s) {TOO_DEEP_TO_JUDGE}")
    if said:
        return warned(key, "; ".join(said), (crlf + deep)[:6])
    return passed(key, f"{lines} line(s) over {len(wires)} process(es), all clean")


#: What :func:`_impurity` says of a line nested past mcp_ref's limit: not a fault (D-127).
TOO_DEEP_TO_JUDGE = (f"nest arrays and objects more than {MAX_NESTING} deep, mcp_ref's own "
                     "limit (D-51; the spec sets none): not read, not judged")


def _impurity(line: bytes) -> str:
    """Why one stdout line is not a valid frame, or "" if it is one. A trailing CR is judged
    apart (:func:`_stdout_purity`): the spec does not address it (A8), and so is a line
    nested past mcp_ref's limit (:data:`TOO_DEEP_TO_JUDGE`, D-51, D-127)."""
    if line.endswith(b"\r"):
        line = line[:-1]
    if not line.strip():
        return "blank line"
    try:
        value = decode(line)
    except NumberOutOfRange as exc:
        value = exc.value              # valid JSON all the same (D-37)
    except NestsTooDeep:
        return TOO_DEEP_TO_JUDGE
    except FrameError:
        return "not UTF-8 JSON"
    if not isinstance(value, dict):
        return "not a JSON object"
    if value.get("jsonrpc") != "2.0":
        return 'no "jsonrpc": "2.0"'
    if not ("method" in value or "result" in value or "error" in value):
        return "neither a request, a notification nor a response"
    return ""


# --- Output and the command line -------------------------------------------------------------


def render_table(results: Sequence[Result], verbose: bool = False) -> str:
    """The report: outcome, IDs, level, title, evidence summary; then the totals."""
    rows = [("outcome", "ID(s)", "level", "check", "evidence")]
    # A summary or evidence line may quote what the server sent (its serverInfo, a version it
    # offered; a frame's JSON is already printable, _json): each character that does not
    # print is escaped, a newline too, so that the server can neither rewrite the terminal
    # nor write a row of its own (D-107, D-111).
    rows += [(r.outcome, ", ".join(r.check.ids), r.check.level, r.check.title,
              printable(r.summary)) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for number, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[4])
        if verbose and number:
            lines += ["        " + printable(e) for e in results[number - 1].evidence]
    counts = {o: sum(r.outcome == o for r in results) for o in (PASS, FAIL, WARN, NA)}
    lines.append("")
    lines.append(", ".join(f"{n} {o}" for o, n in counts.items()) +
                 (": a MUST failed" if counts[FAIL] else ""))
    return "\n".join(lines) + "\n"


def exit_status(results: Sequence[Result]) -> int:
    """1 if any MUST check failed, else 0 (warnings do not fail the run)."""
    return 1 if any(r.outcome == FAIL for r in results) else 0


def command_and_options(args: argparse.Namespace) -> Tuple[List[str], Options]:
    """The server's command and the battery's options, as the command line's ``args`` give
    them. ValueError, with what a usage error says, where the battery cannot run with them:
    ``main`` says it as ``check``'s usage error, exit 2, before any server starts (D-130)."""
    command = args.server[1:] if args.server[:1] == ["--"] else list(args.server)
    if not command:
        raise ValueError("check needs a server command after --")
    options = Options(tool_echo=args.tool_echo, echo_arg=args.echo_arg, tool_slow=args.tool_slow,
                      slow_args=args.slow_args, timeout=args.timeout, trace=args.trace)
    problem = options_problem(options, "--")
    if problem is not None:
        raise ValueError(problem)
    return command, options


def run(args: argparse.Namespace, out: Optional[TextIO] = None) -> int:
    """Run the battery as ``args`` say (checked first by :func:`command_and_options`: a
    ValueError here is a usage error); print the report to ``out``; the exit status."""
    out = out or sys.stdout
    command, options = command_and_options(args)
    try:
        results = run_battery(command, options)
    except SpawnError as exc:            # nothing to check
        sys.stderr.write(f"check: {exc}\n")
        return 2
    if args.json:
        # The same text, each character that does not print as JSON's escape (D-110, D-111).
        out.write(json_text([r.to_json() for r in results], indent=2) + "\n")
    else:
        out.write(render_table(results, args.verbose))
    return exit_status(results)


def main(argv: Optional[Sequence[str]] = None, out: Optional[TextIO] = None) -> int:
    """``python3 -m mcp_ref check [options] -- CMD ARGS...``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python3 -m mcp_ref check",
        description="Black-box lifecycle checks of a stdio MCP server "
                    f"(revision {spec.PROTOCOL_VERSION}).")
    # Imported here: at the top, ``python3 -m mcp_ref check`` would load __main__.py twice.
    from .__main__ import add_check_arguments
    add_check_arguments(parser)
    args = parser.parse_args(argv)
    try:
        command_and_options(args)
    except ValueError as exc:            # said as argparse says a usage error, returned (D-130)
        parser.print_usage(sys.stderr)
        sys.stderr.write(f"{parser.prog}: error: {exc}\n")
        return 2
    return run(args, out)


if __name__ == "__main__":
    sys.exit(main())
