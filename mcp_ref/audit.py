"""Record a *client's* protocol violations while serving it: ``python3 -m mcp_ref serve --audit FILE``.

Spec: https://modelcontextprotocol.io/specification/2025-11-25 (legacy handshake era).

The reference server is lenient, as a server should be: it answers a bad request with an
error and goes on. A tester of a client wants more: a list of everything the client did wrong.
:func:`run_audited` runs a :class:`~mcp_ref.server.Server` exactly as usual, over a transport
that also shows every byte, in and out, to an :class:`Auditor`. The auditor never changes what
the server does; it only watches and writes down.

How it judges. The auditor keeps its own copy of the session state, advanced by the *same*
transition table the connection uses (:class:`~mcp_ref.lifecycle.Lifecycle`): client frames
as they are read, the server's ``initialize`` answer as it is written. A frame the table
refuses is a violation, and the table already knows which catalogue row it breaks (LC-02,
LC-05, LC-06, ...). On top of that come the rules the table does not hold: raw line checks
(TR-07), the shape of ``initialize`` (LC-03), what the schema refuses in a message's params
(BP-01, PR-02, LG-03: the frames the server answers -32602 or does not act on, D-102, D-112),
id and token bookkeeping (BP-05, BP-07, CN-02, CN-03, PR-03, PR-08), direction and
capabilities (LC-16), the negotiated version (LC-15), and the answers to the server's
keepalive pings (PG-02, with ``serve --keepalive``: an error for an answer, or none before the
server gave up).

Why ordering can be trusted: the server's frames are shown to the auditor *before* they are
written, so anything the client sends in reaction to them is necessarily seen after them. A
``notifications/initialized`` seen before the initialize response was really sent before the
client could have read that response.

The file is a JSON list of ``{"id", "level", "violation", "frame"}``. The level is the
catalogue's (MUST, SHOULD NOT, ...), or ``"(warning)"`` for what breaks no rule but may trip a
strict peer: a line ending in CRLF (D-08), or ``"(not judged)"`` for a line one of mcp_ref's
own limits kept the server from reading, over its line size (D-03) or its nesting depth
(D-51): no revision sets either limit, so the client broke no rule the server could see
(D-127). It is rewritten whole (write to a temporary file, then rename) after every new
violation, so it is always valid JSON and survives a killed server; a session without
violations leaves ``[]``. Of each catalogue row (and level), the first :data:`MAX_PER_ID`
violations are written out; the rest are counted in one last entry for the row (``"frame":
null``), so that a client that breaks a rule with every frame costs the server bounded memory
and bounded rewrites (D-75).
"""

from __future__ import annotations

import json
import os
import threading

from . import spec
from ._logging import LazyLogger
from .connection import (declares, gating_capability, level_problem, method_exists,
                         notification_problem, required_params_problem)
from .errors import ProtocolError
from .framing import (DEFAULT_MAX_LINE_BYTES, FrameError, NestsTooDeep, NumberOutOfRange,
                      OutOfRange, decode)
from .jsonrpc import (ErrorResponse, InvalidMessage, Notification, Request, is_progress_token,
                      is_request_id, parse)
from .lifecycle import NEGOTIATED, Input, Lifecycle, Role, State
from .stdio import StdioServerTransport

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Set, Tuple

    from .transcript import Trace

log = LazyLogger("mcp_ref.audit")

#: The catalogue level of each row the auditor reports (shared/spec/catalogue.md).
LEVELS = {
    "BP-01": "MUST", "BP-03": "MUST", "BP-04": "MUST NOT", "BP-05": "MUST NOT",
    "BP-07": "MUST", "BP-17": "MUST NOT", "CN-02": "MUST", "CN-03": "MUST NOT",
    "LC-02": "MUST", "LC-03": "MUST", "LC-05": "MUST", "LC-06": "SHOULD NOT", "LC-15": "MUST",
    "LC-16": "MUST", "LC-19": "(def)", "LG-03": "(def)", "PG-02": "MUST",
    "PR-02": "MUST", "PR-03": "MUST", "PR-08": "MUST", "TR-07": "MUST NOT",
}

#: The level of a record that names no breach: the server could not read the line, because of
#: a limit of mcp_ref's own that no revision sets (D-03, D-51). Kept so a tester sees why the
#: server answered -32700 and judged nothing of that line, without failing the client (D-127).
NOT_JUDGED = "(not judged)"

#: Requests only a server sends; a client offers them through its capabilities (LC-16).
SERVER_ONLY_REQUESTS = frozenset(m for m in spec.SERVER_REQUESTS if m != spec.PING)
#: Notifications only a server sends: logging and changes to what *it* offers
#: (catalogue section 1.1, the Direction column; :data:`spec.NOTIFICATION_SENDER`).
SERVER_ONLY_NOTIFICATIONS = frozenset(
    method for method, sender in spec.NOTIFICATION_SENDER.items() if sender == "server")

#: A frame longer than this is written to the file as a shortened string.
_MAX_FRAME_CHARS = 4096
#: Violations of one catalogue row written out one by one; later ones are counted in one last
#: entry for the row. A client that breaks a rule with every frame would otherwise grow the
#: server's memory, the file and the time of every rewrite without bound.
MAX_PER_ID = 100

if TYPE_CHECKING:
    IdKey = Tuple[str, Any]


def _key(request_id: Any) -> IdKey:
    """A set key for an id that keeps ``"7"`` and ``7`` apart (BP-07: ids match exactly)."""
    return (type(request_id).__name__, request_id if is_request_id(request_id) else repr(request_id))


class _LongInteger(str):
    """An integer with more digits than Python reads (D-37), kept as its digits. JSON bounds
    no integer, so it is still an id or a token (BP-03, PR-02); :func:`_key` keeps it apart
    from the string of the same digits by its type."""


def _long_integers(value: Any) -> Any:
    """A value decoded with markers (D-37), each integer among them a :class:`_LongInteger`
    (a float such as ``1e400`` stays a marker: never an id or a token, D-40)."""
    if isinstance(value, OutOfRange) and not any(c in value.text for c in ".eE"):
        return _LongInteger(value.text)
    if isinstance(value, dict):
        return {name: _long_integers(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_long_integers(item) for item in value]
    return value


def _as_text(value: Any) -> str:
    """``json.dumps`` default: a number Python cannot carry (D-37) is recorded as its text, a
    JSON string, as a :class:`_LongInteger` is: ``json.load`` then reads the file back on any
    Python (3.11 on refuses integers past 4 300 digits; ``1e400`` would come back as inf)."""
    if isinstance(value, OutOfRange):
        return value.text
    raise TypeError(f"{type(value).__name__} is not JSON")


def _entry_text(entry: Dict[str, Any]) -> str:
    """One entry as ``json.dump(violations, indent=1)`` writes it inside the list."""
    return " " + json.dumps(entry, ensure_ascii=False, indent=1,
                            default=_as_text).replace("\n", "\n ")


def _shown(value: Any) -> Any:
    """The frame as recorded: the JSON value itself, or a shortened string if it is huge."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                           default=_as_text)
    if len(text) <= _MAX_FRAME_CHARS:
        return value
    return text[:_MAX_FRAME_CHARS] + "..."


class Auditor:
    """Watches one session from the server's side and records what the client does wrong.

    Thread-safe: the reader thread reports client bytes, worker threads report server bytes.
    """

    def __init__(self, path: str, server_capabilities: Dict[str, Any]) -> None:
        self.path = path
        self.capabilities = dict(server_capabilities)
        self.violations: List[Dict[str, Any]] = []
        self._texts: List[str] = []          # each violation as the file holds it, made once
        self._counts: Dict[Tuple[str, str], int] = {}    # (catalogue id, level) -> records seen
        self._more: Dict[Tuple[str, str], int] = {}      # ... -> index of its "more" entry
        self.interrupted = False             # the server, not the client, ended the session
        self._lock = threading.Lock()
        self._lifecycle = Lifecycle(Role.SERVER)
        self._version: Optional[str] = None
        self._initialize_id: Optional[IdKey] = None
        self._requested_version: Any = None                # what the client's initialize asked
        self._client_capabilities: Dict[str, Any] = {}     # what the client's initialize declared
        self._initialized_early = False                    # initialized before the response
        self._ids_used: Set[IdKey] = set()                 # BP-05: every client request id
        self._in_flight: Dict[IdKey, List[Any]] = {}       # client id -> progress tokens
        self._cancelled: Set[IdKey] = set()                # client ids the client cancelled
        self._server_ids: Set[IdKey] = set()               # ids of the server's requests
        self._server_ids_answered: Set[IdKey] = set()
        self._server_pings: Set[IdKey] = set()             # ids of the server's pings
        self._server_tokens: Set[IdKey] = set()            # tokens the server handed out
        self._partial = bytearray()          # the start of a line whose LF has not come yet
        self._discarding = False             # inside a line over the limit: dropped up to LF
        self._max_line_bytes = DEFAULT_MAX_LINE_BYTES      # the server's own limit (D-03)
        self._crlf_seen = False
        self._ended = False
        self._save()                         # fails here, at once, if FILE cannot be written

    # --- What the transport reports -------------------------------------------------------

    def client_sent(self, data: bytes) -> None:
        """Bytes read from the client; ``b""`` at end of stream."""
        with self._lock:
            try:
                self._client_bytes(data)
            except Exception:                    # never let the auditor break the server
                log.exception("the auditor failed on client bytes")

    def server_sent(self, data: bytes) -> None:
        """Bytes the server is about to write (one or more whole frames)."""
        with self._lock:
            try:
                for line in data.split(b"\n"):
                    if line.strip():
                        self._server_frame(decode(line))
            except Exception:
                log.exception("the auditor failed on server bytes")

    def close(self) -> None:
        """The server is exiting: the end-of-session checks, then the file one last time."""
        with self._lock:
            if not self._ended:
                self._end_of_stream()
            self._save_quietly()

    # --- Recording --------------------------------------------------------------------------

    def _record(self, catalogue_id: str, violation: str, frame: Any,
                level: Optional[str] = None) -> None:
        level = level or LEVELS.get(catalogue_id, "MUST")
        if catalogue_id in ("LC-15", "LC-16") and (self._version or "9") < "2025-06-18":
            level = "SHOULD"                     # a MUST only from 2025-06-18 on
        log.info("client %s %s: %s", "line not judged," if level == NOT_JUDGED else "violation",
                 catalogue_id, violation)
        # Counted per row and level: a breach of TR-07 and a line not judged are capped apart,
        # and each "more" entry has the level of all it counts (D-127).
        key = (catalogue_id, level)
        count = self._counts[key] = self._counts.get(key, 0) + 1
        if count <= MAX_PER_ID:
            self._add({"id": catalogue_id, "level": level, "violation": violation,
                       "frame": _shown(frame)})
        else:                                # counted, in one entry kept up to date
            what = "line(s) not judged" if level == NOT_JUDGED else "violation(s)"
            entry = {"id": catalogue_id, "level": level, "frame": None,
                     "violation": f"{count - MAX_PER_ID} more {what} of {catalogue_id} "
                                  f"after the {MAX_PER_ID} above, not written out one by one"}
            if key not in self._more:
                self._more[key] = len(self.violations)
                self._add(entry)
            else:
                index = self._more[key]
                self.violations[index] = entry
                self._texts[index] = _entry_text(entry)
        self._save_quietly()

    def _add(self, entry: Dict[str, Any]) -> None:
        self.violations.append(entry)
        self._texts.append(_entry_text(entry))

    def _save(self) -> None:
        """Rewrite the file whole, atomically: readers never see half a list. The temporary
        name is per process, so several audited servers may share one FILE (the last to
        write wins). Each entry was encoded once, when it was recorded: a rewrite joins them."""
        temporary = f"{self.path}.{os.getpid()}.tmp"
        # A frame may hold a lone surrogate (valid JSON "\\ud800", no UTF-8 form): written
        # with backslashreplace it is that same escape again, inside its JSON string.
        with open(temporary, "w", encoding="utf-8", errors="backslashreplace") as out:
            out.write("[\n" + ",\n".join(self._texts) + "\n]\n" if self._texts else "[]\n")
        os.replace(temporary, self.path)

    def _save_quietly(self) -> None:
        """A failed save must not take the server down with it; the next save retries."""
        try:
            self._save()
        except OSError as exc:
            log.warning("could not write the audit file %s: %s", self.path, exc)

    # --- Client bytes: lines first (TR-07), then messages --------------------------------

    def _client_bytes(self, data: bytes) -> None:
        """Cut the client's bytes into lines as the server's reader does
        (:class:`~mcp_ref.framing.LineBuffer`), keeping what that reader forgives (CRLF, blank
        lines) so that :meth:`_line` can judge it. Only the new chunk is searched for LF: the
        start of an unfinished line is kept, never searched again, so a line that arrives in
        many 64 KiB chunks costs time in proportion to its length, not to its square."""
        if not data:
            if not self._ended:
                self._end_of_stream()
            return
        if b"\n" not in data:                      # more of a line that has not ended yet
            self._keep(data)
            return
        *lines, rest = data.split(b"\n")           # rest: after the last LF, maybe b""
        if self._partial:                          # the first line began in an earlier chunk
            self._partial += lines[0]
            lines[0] = bytes(self._partial)
            self._partial.clear()
        if self._discarding:                       # the end of a line already recorded
            self._discarding = False
            del lines[0]
        for line in lines:
            if len(line) > self._max_line_bytes:
                self._too_long(line)
            else:
                self._line(line)
        self._keep(rest)

    def _keep(self, data: bytes) -> None:
        """Hold the start of an unfinished line; once it is over the limit, record it and drop
        it and everything up to the next LF, as the server does (D-03): one line, one record."""
        if self._discarding:
            return
        self._partial += data
        if len(self._partial) > self._max_line_bytes:
            self._too_long(self._partial)
            self._partial.clear()
            self._discarding = True

    def _too_long(self, line: Any) -> None:
        # TR-07: https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio
        # The server cannot read a line over its limit (D-03), but no revision sets one: the
        # line may well be one valid message, so TR-07 is not judged, not broken (D-123, D-127).
        self._record("TR-07", f"a line longer than {self._max_line_bytes} bytes, the server's "
                     "own line limit (D-03; the spec sets none): not read, answered -32700",
                     bytes(line[:200]).decode("utf-8", "replace"), level=NOT_JUDGED)

    def _line(self, line: bytes) -> None:
        """TR-07: the client writes nothing but frames: no blank lines, no junk.
        (mcp_ref's own reader tolerates blank lines and CRLF, A8; a strict peer may not.)"""
        text = line.decode("utf-8", "replace")
        crlf = line.endswith(b"\r")
        if crlf:
            line = line[:-1]
        if not line.strip():
            self._record("TR-07", "a blank line", text)
            return
        if crlf and not self._crlf_seen:
            # TR-07: https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio
            # D-08: a CR before the LF is JSON whitespace, which the spec does not address
            # (A8): no MUST NOT is broken, so it is a warning, as `check` gives a server. Once
            # per session: a client that writes CRLF writes it on every line.
            self._crlf_seen = True
            self._record("TR-07", "a line ending in CRLF, not LF (a warning, not a breach, "
                         "D-08; later CRLF lines are not recorded)", text, level="(warning)")
        try:
            value = decode(line)
        except NumberOutOfRange as exc:
            # BP-03, PR-02: https://modelcontextprotocol.io/specification/2025-11-25/basic/index#requests
            # Valid JSON, with a number marked (D-37): still a frame, and an integer however
            # long is still an integer (an id, a token).
            value = _long_integers(exc.value)
        except NestsTooDeep as exc:
            # TR-07, not judged: a reader may limit nesting (RFC 8259 section 9), MCP sets no
            # limit, so the client broke no rule the server could see (D-51, D-127).
            self._record("TR-07", f"{exc}, the server's own nesting limit (D-51; the spec sets "
                         "none): not read, answered -32700", text, level=NOT_JUDGED)
            return
        except FrameError as exc:
            self._record("TR-07", f"not a JSON-RPC frame: {exc}", text)
            return
        if isinstance(value, list):
            self._batch(value)
        else:
            self._message(value)

    def _batch(self, items: List[Any]) -> None:
        """BP-16/BP-17, LC-15: a batch exists only once a session has negotiated 2025-03-26
        (``notifications/initialized`` may be in one: D-06), never with initialize in it."""
        if any(isinstance(i, dict) and i.get("method") == spec.INITIALIZE for i in items):
            self._record("BP-17", "initialize inside a JSON-RPC batch", items)
        elif self._version != spec.BATCH_VERSION or self._lifecycle.state not in NEGOTIATED:
            self._record("LC-15", "a JSON-RPC batch, which only 2025-03-26 has; this session "
                         f"negotiated {self._version or 'no version yet'}", items)
        elif not items:
            self._record("BP-01", "an empty batch", items)
        elif len({isinstance(i, dict) and "method" in i for i in items}) > 1:
            # BP-01: https://modelcontextprotocol.io/specification/2025-03-26/basic/index#batching
            # 2025-03-26 has a batch of requests and notifications and a batch of responses,
            # no mixture of the two (its schema's JSONRPCMessage).
            self._record("BP-01", "a batch that mixes responses with requests or "
                         "notifications", items)
        else:
            for item in items:
                self._message(item)

    def _message(self, value: Any) -> None:
        try:
            message = parse(value)
        except InvalidMessage as exc:
            self._record(_invalid_id_rule(value), f"not a valid JSON-RPC message: {exc}", value)
            return
        if isinstance(message, Request):
            self._request(message, value)
        elif isinstance(message, Notification):
            self._notification(message, value)
        else:
            self._response(message, value)

    def _advance(self, input: Input, frame: Any) -> bool:
        """Put the client's move through the lifecycle table; a refusal is a violation whose
        catalogue ID the table supplies (LC-02, LC-05, LC-06, ...)."""
        try:
            self._lifecycle.process(Role.CLIENT, input)
            return True
        except ProtocolError as exc:
            self._record(exc.catalogue_id or "LC-02", exc.message, frame)
            return False

    # --- Client requests ----------------------------------------------------------------------

    def _request(self, request: Request, frame: Any) -> None:
        key = _key(request.id)
        if key in self._ids_used:                # BP-05: never reused within the session
            state = ("still in flight" if key in self._in_flight else
                     "already cancelled" if key in self._cancelled else "already answered")
            self._record("BP-05", f"request id {request.id!r} used again ({state})", frame)
        self._ids_used.add(key)
        token = None
        # What the schema refuses in the params (BP-01, PR-02) makes the frame no request of
        # its method, but it is still a request: the server judges its timing and capability
        # first, by its method (D-05), and answers those (LC-02 before initialize), so the
        # client broke those rules as well. Recorded after them; nothing else is judged (D-108).
        # A request only a server sends, or one the server does not know, is answered -32601
        # with its params unread; a _meta the schema refuses is still recorded (D-112).
        refused = self._params_problem(request)
        if request.method in SERVER_ONLY_REQUESTS:
            self._record("LC-16", f"{request.method} is a request only a server sends", frame)
        elif request.method == spec.INITIALIZE:
            if refused is None:
                token = self._progress_token(request, frame)
                if self._advance(Input.INITIALIZE_REQUEST, frame):
                    self._initialize_id = key
                    self._check_initialize(request.params or {}, frame)
            elif not self._lifecycle.permits(Role.CLIENT, Input.INITIALIZE_REQUEST):
                # A second initialize, say: refused for its timing before its params are
                # read (LC-02). One the table allows is answered -32602 and leaves the
                # session as it was (INITIALIZE_ERROR), so the audit's table stays put too.
                self._advance(Input.INITIALIZE_REQUEST, frame)
        elif request.method != "server/discover":   # LC-39: a dual-era probe may come first
            if refused is None:
                token = self._progress_token(request, frame)
            self._advance(Input.PING if request.method == spec.PING else Input.REQUEST, frame)
            self._check_capability(request, frame)
            if refused is None:
                self._check_version_meta(request, frame)
        if refused is not None:
            self._record(refused[0], refused[1], frame)
        # A list: an id sent again while in flight (BP-05) does not hide the first request's
        # token. The server refuses such a duplicate at once (D-07), so its answer comes first.
        self._in_flight.setdefault(key, []).append(token)

    def _check_initialize(self, params: Dict[str, Any], frame: Any) -> None:
        """LC-03: the three members of ``InitializeRequestParams``, as the schema types them."""
        self._requested_version = params.get("protocolVersion")
        capabilities = params.get("capabilities")
        self._client_capabilities = capabilities if isinstance(capabilities, dict) else {}
        info = params.get("clientInfo")
        missing = [what for what, ok in (
            ("protocolVersion (a string)", isinstance(self._requested_version, str)),
            ("capabilities (an object)", isinstance(capabilities, dict)),
            ("clientInfo (an object with a string name and version)",
             isinstance(info, dict) and isinstance(info.get("name"), str)
             and isinstance(info.get("version"), str))) if not ok]
        if missing:
            # LC-03: https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle#initialization
            # The server refuses initialize without the first two (-32602), and the client
            # may try again (LC-20); it is lenient about clientInfo, the schema is not.
            self._record("LC-03", "initialize lacks " + ", ".join(missing), frame)

    def _params_problem(self, request: Request) -> Optional[Tuple[str, str]]:
        """What the schema refuses in a request's params, which the server answers -32602
        without processing it (D-87, D-98), as (catalogue ID, violation), or None: a
        ``_meta`` that is not an object (BP-01), a progress token that is not a string or an
        integer (PR-02), a member the method's schema requires (BP-01; initialize's are
        LC-03's, in :meth:`_check_initialize`), a log level none of the eight (LG-03). Such a
        frame is no request of its method, like one whose params are not an object
        (:meth:`_message`): :meth:`_request` records it once, after its timing and capability,
        and judges it no further (D-102, D-108). ``_meta`` is judged in every request, a
        method unknown to the server or a server's included: MCP reserves it, and the schema
        types it as an object wherever it names it (D-79, D-112)."""
        params = request.params or {}
        meta = params.get("_meta", {})
        if not isinstance(meta, dict):
            # BP-01: https://modelcontextprotocol.io/specification/2025-11-25/basic/index#meta
            return "BP-01", ("the request's _meta is an object, not "
                             f"{json.dumps(meta, default=_as_text)[:60]}")
        token = meta.get("progressToken", "")
        if not is_progress_token(token):
            # PR-02: https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/progress#progress-flow
            # null, a float, a boolean, an array or an object is no token: the server refuses
            # the request (-32602, D-87), so it holds no place among the tokens in use either.
            shown = (token.text if isinstance(token, OutOfRange) else json.dumps(token))[:60]
            return "PR-02", f"progress token {shown} is not a string or an integer"
        if (request.method == spec.INITIALIZE or request.method in SERVER_ONLY_REQUESTS
                or not method_exists(request.method, self._version)):
            # Members: initialize's are LC-03's; a server's request or a method of another
            # revision is no request of the client's, whose table (D-85) has none for it.
            return None
        missing = required_params_problem(request.method, params)
        if missing is not None:
            # BP-01: https://modelcontextprotocol.io/specification/2025-11-25/basic/index#requests
            # Without a member its schema requires, the frame is no request of its method
            # (D-98): the server answers -32602 from the table the sender obeys (D-85).
            return "BP-01", missing
        level = (level_problem(request.method, params["level"])
                 if request.method == spec.SET_LOGGING_LEVEL else None)
        if level is not None:
            # LG-03: https://modelcontextprotocol.io/specification/2025-11-25/server/utilities/logging#log-levels
            # A level none of the eight is one the schema's LoggingLevel refuses: the server
            # answers -32602 (ER-13) and reports LG-03 (D-109), as for a log message (D-112).
            return "LG-03", level
        return None

    def _progress_token(self, request: Request, frame: Any) -> Any:
        """PR-03: a token is unique among the client's requests still in flight. The token,
        or None if there is none (:meth:`_params_problem` has judged its type, PR-02)."""
        token = (request.params or {}).get("_meta", {}).get("progressToken")
        if token is None:
            return None
        if any(_key(t) == _key(token) for tokens in self._in_flight.values()
               for t in tokens if t is not None):
            self._record("PR-03", f"progress token {token!r} is already in use", frame)
        return token

    def _check_capability(self, request: Request, frame: Any) -> None:
        """LC-16: only capabilities the server declared (tools/*, resources/*, ...). Before
        the initialize result is out the server has declared nothing the client could read:
        a request then is the client's one fault, its timing (LC-02, LC-06), which the
        lifecycle table has recorded; it was LC-16 too, once for one frame (D-102)."""
        if self._version is None:
            return
        capability = gating_capability(spec.CLIENT_REQUESTS, request.method, self._version)
        if capability and not declares(self.capabilities, capability):
            self._record("LC-16", f"{request.method} needs the {capability!r} capability, "
                         "which the server did not declare", frame)

    def _check_version_meta(self, request: Request, frame: Any) -> None:
        """LC-15: a request that names another protocol version in its ``_meta`` (the
        2026-07-28 per-request field) ignores the version this session negotiated."""
        meta = (request.params or {}).get("_meta")
        claimed = meta.get("io.modelcontextprotocol/protocolVersion") if isinstance(meta, dict) \
            else None
        if claimed is not None and self._version and claimed != self._version:
            self._record("LC-15", f"the request claims protocol version {claimed!r}; the "
                         f"session negotiated {self._version}", frame)

    # --- Client notifications and responses -------------------------------------------------

    def _notification(self, note: Notification, frame: Any) -> None:
        """Judged in the receiver's order (``Connection._receive_notification``): the params,
        the lifecycle, the direction, the revision, the capability; the first refusal ends
        it. A notification is never answered (BP-13), so that order is no choice of an answer:
        it says what the frame is. One the schema refuses is no notification of its method,
        whose timing or sender could be judged; one sent before initialize is refused for its
        timing. The server reports the same row for each (D-112)."""
        problem = notification_problem(note.method, note.params or {}, self._version)
        if problem is not None:
            # BP-01: https://modelcontextprotocol.io/specification/2025-11-25/basic/index#notifications
            # A _meta that is not an object, or a member its schema requires missing: no
            # notification of its method (D-92, D-98); a log message at a level none of the
            # eight, LG-03 (its sender aside: levels are the schema's LoggingLevel). The
            # server does not act on it, a cancel included (CN-10), and neither does the
            # auditor: an initialized so refused leaves the session awaiting one, a cancel so
            # refused frees no token.
            self._record(problem[1], problem[0], frame)
            return
        input = {spec.INITIALIZED: Input.INITIALIZED_NOTIFICATION,
                 spec.CANCELLED: Input.CANCELLED, spec.PROGRESS: Input.PROGRESS,
                 spec.LOG_MESSAGE: Input.LOG_MESSAGE}.get(note.method, Input.NOTIFICATION)
        early = self._lifecycle.state is State.INITIALIZING
        # LC-16: the table refuses a client's notifications/message in every state once
        # initialize is sent (LC-02 before, D-60): a server's method (D-119). Lowered to SHOULD
        # before 2025-06-18 by _record, as every LC-16.
        if not self._advance(input, frame):
            if input is Input.INITIALIZED_NOTIFICATION and early:
                # LC-05: https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle#initialization
                # Sent before the client could know initialize succeeded: one violation,
                # recorded now. It was sent, though: once the result is out it counts as
                # sent, so the session is not charged again for the same notification.
                self._initialized_early = True
            return
        if input is Input.CANCELLED:
            self._cancel(note.params or {}, frame)
        elif input is Input.PROGRESS:
            self._progress(note.params or {}, frame)
        if note.method in SERVER_ONLY_NOTIFICATIONS:
            # LC-16: https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle#operation
            # A change to what the *server* offers (catalogue 1.1, the Direction column): the
            # client has no such capability to use (D-54).
            self._record("LC-16", f"{note.method} is a notification only a server sends", frame)
            return
        if not method_exists(note.method, self._version):
            # LC-15: https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle#operation
            # The negotiated revision has no such notification (notifications/tasks/status
            # before 2025-11-25): the server delivers it and reports it (D-35).
            self._record("LC-15", f"{note.method} does not exist in protocol revision "
                         f"{self._version}", frame)
        needed = spec.NOTIFICATION_CAPABILITY.get(note.method)
        if needed and not declares(self._client_capabilities, needed):
            # LC-16: https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle#operation
            # Only what was negotiated: notifications/roots/list_changed needs the client's
            # own roots.listChanged, declared in its initialize request.
            self._record("LC-16", f"{note.method} needs the {needed!r} capability, which the "
                         "client did not declare", frame)

    def _cancel(self, params: Dict[str, Any], frame: Any) -> None:
        """CN-03: never initialize. CN-02: only a request of one's own. (A cancel that
        crosses the response on the wire is the race CN-08 allows: not recorded.)"""
        request_id = params.get("requestId")
        if self._initialize_id is not None and _key(request_id) == self._initialize_id:
            self._record("CN-03", "the client cancelled initialize", frame)
        elif not is_request_id(request_id) or _key(request_id) not in self._ids_used:
            self._record("CN-02", f"a cancel for {request_id!r}, which the client never sent",
                         frame)
        else:
            # PR-03: https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/progress#progress-flow
            # CN-05, CN-07: https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/cancellation#behavior-requirements
            # A token is unique among the *active* requests. A cancelled request is not one:
            # the server sends nothing more for it (CN-05, D-16), not even its response, and
            # the client ignores a late answer (CN-07). So its token is free again.
            self._in_flight.pop(_key(request_id), None)
            self._cancelled.add(_key(request_id))

    def _progress(self, params: Dict[str, Any], frame: Any) -> None:
        """PR-08: progress only for a token the server's request handed out."""
        token = params.get("progressToken")
        if _key(token) not in self._server_tokens:
            self._record("PR-08", f"progress for token {token!r}, which the server never sent",
                         frame)

    def _response(self, message: Any, frame: Any) -> None:
        """BP-07: one response per server request, to an id the server really used."""
        if isinstance(message, ErrorResponse) and message.id is None:
            # The client could not read something: BP-12 lets 2025-11-25 omit the id, and
            # JSON-RPC 2.0 (BP-01) makes it null in every revision (A4): nothing to match.
            return
        key = _key(message.id)
        if key in self._server_pings and isinstance(message, ErrorResponse):
            # PG-02: https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/ping#behavior-requirements
            # A ping is answered promptly with an empty result; an error is not that answer
            # (though the server's keepalive counts it as alive, D-48).
            self._record("PG-02", f"answered the server's ping {message.id!r} with an error, "
                         "not the empty result {}", frame)
        elif key in self._server_pings and set(message.result) - {"_meta"}:
            # PG-02, as `check` judges a server's answer: _meta may ride on any result.
            self._record("PG-02", f"answered the server's ping {message.id!r} with members "
                         "other than _meta, not the empty result {}", frame)
        if key not in self._server_ids:
            self._record("BP-07", f"a response to id {message.id!r}, which the server never "
                         "used", frame)
        elif key in self._server_ids_answered:
            self._record("BP-07", f"a second response to id {message.id!r}", frame)
        self._server_ids_answered.add(key)

    def _end_of_stream(self) -> None:
        """The client closed stdin. LC-05: after a successful initialize response it owes
        ``notifications/initialized``; a signal to the server is not the client's doing."""
        self._ended = True
        if self._partial.strip() and not self.interrupted:
            self._record("TR-07", "the stream ended inside a line",
                         bytes(self._partial[:200]).decode("utf-8", "replace"))
        if self._lifecycle.state is State.AWAITING_INITIALIZED and not self.interrupted:
            if self._version != self._requested_version:
                # LC-13: https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle#version-negotiation
                # The server counter-offered a version the client did not ask for; a client
                # that cannot speak it disconnects, without initialized (D-02). Not a breach.
                log.info("the client left after the counter-offer %s (LC-13)", self._version)
            else:
                self._record("LC-05", "the session ended without notifications/initialized",
                             None)

    # --- Server frames: what the client is reacting to ----------------------------------------

    def _server_frame(self, value: Any) -> None:
        if not isinstance(value, dict):
            return
        if "method" in value and "id" in value:          # the server's own request
            self._server_ids.add(_key(value["id"]))
            if value["method"] == spec.PING:
                self._server_pings.add(_key(value["id"]))
            meta = (value.get("params") or {}).get("_meta")
            if isinstance(meta, dict) and "progressToken" in meta:
                self._server_tokens.add(_key(meta["progressToken"]))
        elif value.get("method") == spec.CANCELLED:
            self._server_cancelled(value)
        elif "result" in value or "error" in value:
            key = _key(value.get("id"))
            tokens = self._in_flight.get(key)
            if tokens:
                tokens.pop()                     # the newest: see _request on a reused id
                if not tokens:
                    del self._in_flight[key]
            if key == self._initialize_id and self._lifecycle.state is State.INITIALIZING:
                self._initialize_answered(value)

    def _server_cancelled(self, value: Dict[str, Any]) -> None:
        """PG-02: the server gives up on its own ping (``serve --keepalive``: its keepalive
        timeout passed, TO-02) while the client's stream is still open: the client did not
        answer promptly. At the end of the session (stdin closed, a signal) nobody is blamed."""
        params = value.get("params")
        if not isinstance(params, dict):
            return                               # names no request, so no ping of the server's
        key = _key(params.get("requestId"))
        if (key in self._server_pings and key not in self._server_ids_answered
                and not self._ended and not self.interrupted):
            self._record("PG-02", f"no answer to the server's ping {params['requestId']!r} "
                         "before the server gave up on it", value)

    def _initialize_answered(self, value: Dict[str, Any]) -> None:
        result = value.get("result")
        if isinstance(result, dict):
            self._version = result.get("protocolVersion")
            self._lifecycle.process(Role.SERVER, Input.INITIALIZE_RESULT)
            if self._initialized_early:          # LC-05, recorded when it came: see above
                self._lifecycle.process(Role.CLIENT, Input.INITIALIZED_NOTIFICATION)
        else:
            self._lifecycle.process(Role.SERVER, Input.INITIALIZE_ERROR)
        self._initialized_early = False          # after an error, initialize starts again


def _invalid_id_rule(value: Any) -> str:
    """BP-04 for a request id of null, BP-03 for another bad id type, else BP-01."""
    if isinstance(value, dict) and "method" in value and "id" in value:
        if value["id"] is None:
            return "BP-04"
        if not is_request_id(value["id"]):
            return "BP-03"
    return "BP-01"


class AuditingTransport(StdioServerTransport):
    """The server's stdio transport, showing every byte to an :class:`Auditor` as well."""

    def __init__(self, auditor: Auditor, **options: Any) -> None:
        super().__init__(**options)
        self.auditor = auditor

    def read(self, timeout: Optional[float] = None) -> Optional[bytes]:
        data = super().read(timeout)
        if data or (data == b"" and self.at_eof):
            # Bytes, or the client's own EOF. An interrupt (a signal, the watchdog, close())
            # also reads b"", but the client did not end the stream: the auditor's close()
            # judges how the session ended.
            self.auditor.client_sent(data)
        return data

    def write(self, data: bytes, reply: bool = False) -> None:
        self.auditor.server_sent(data)       # first: see the module docstring on ordering
        super().write(data, reply)


def run_audited(server: Any, path: str, trace: Trace = None, *,
                watchdog: Optional[float] = None, parent_pid: Optional[int] = None) -> int:
    """Serve ``server`` on stdin/stdout, recording the client's violations in ``path``.

    This is :meth:`~mcp_ref.server.Server.run_stdio` (exit 0 after stdin EOF, 128 + signal
    after SIGTERM/SIGINT; ``trace``, ``watchdog`` and ``parent_pid`` as there) over an
    :class:`AuditingTransport`. Returns 2 at once if ``path`` cannot be written.
    """
    try:
        auditor = Auditor(path, server.capabilities)
    except OSError as exc:
        log.error("cannot write the audit file %s: %s", path, exc)   # once (stderr, TR-04)
        return 2
    status: Optional[int] = None
    try:
        status = server.run_stdio(trace, watchdog=watchdog, parent_pid=parent_pid,
                                  transport=AuditingTransport(auditor, guard_stdout=True,
                                                              guard_stdin=True))
        return status
    finally:
        # A signal to the server (128 + its number) or a failure of serving ended the session,
        # not the client: the end-of-session checks must not blame it (LC-05, TR-07).
        auditor.interrupted = status is None or status >= 128
        auditor.close()
