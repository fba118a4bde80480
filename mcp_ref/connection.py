"""One end of an MCP session, without I/O: bytes in, events out; calls in, bytes out.

This is the sans-I/O core (the h11 model). A :class:`Connection` never reads, writes, sleeps
or starts a thread. The blocking shell (``client.py``, ``server.py``) owns those, and calls:

* :meth:`Connection.receive_data` with whatever bytes arrived (``b""`` at end of stream); it
  returns a list of :mod:`~mcp_ref.events`. Replies the connection makes on its own (to ``ping``,
  to bad input, to ``initialize``) wait in :meth:`Connection.data_to_send`.
* ``send_request``, ``send_notification``, ``send_response``, ``send_error``, ``cancel``,
  ``send_progress``, ``send_log`` to act; each returns the bytes to write, or ``b""`` when the
  spec says to send nothing.

The connection is not thread-safe; the shell serialises calls into it with a lock.

Bookkeeping (vocabulary from the official SDK's v2 dispatcher):

* ``_pending``: our requests that await a response, by id. Ids are integers counted up from 1
  and never reused in a session (BP-05).
* ``_in_flight``: the peer's requests we are handling, by id.
* ``_abandoned``: ids of our requests we cancelled or gave up on; a late response for one is
  dropped silently (CN-07).
* ``_cancelled_by_peer``: ids of the peer's requests it cancelled; we send no response for them
  (CN-05) even if the handler finishes anyway (CN-08: the race is expected).
"""

from __future__ import annotations

import math

from . import events as ev
from . import shapes, spec
from ._record import Record
from .errors import (CapabilityNotNegotiated, ErrorCode, LocalProtocolError, MessageTooLarge,
                     PeerError, RemoteProtocolError, UnsupportedProtocolVersion, quoted)
from .framing import (DEFAULT_MAX_LINE_BYTES, FrameError, LineBuffer, LineTooLong,
                      NestsTooDeep, NumberOutOfRange, TruncatedAtEOF, decode, encode,
                      first_out_of_range)
from .jsonrpc import (ErrorResponse, InvalidMessage, Notification, Request, Response,
                      is_progress_token, is_request_id, parse, to_obj)
from .lifecycle import NEGOTIATED, Input, Lifecycle, Role, State

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

    from .jsonrpc import Message, RequestId

#: The client's default implementation info (LC-03: clientInfo is required).
DEFAULT_INFO = {"name": "mcp_ref", "version": "0.1.0"}

#: How many abandoned request ids are remembered to drop their late responses (D-27).
ABANDONED_MEMORY = 10_000

#: The lifecycle input each incoming request is, by method; any other request is REQUEST.
_REQUEST_INPUTS = {spec.INITIALIZE: Input.INITIALIZE_REQUEST, spec.PING: Input.PING}
#: Likewise for notifications; any other notification is NOTIFICATION.
_NOTIFICATION_INPUTS = {spec.INITIALIZED: Input.INITIALIZED_NOTIFICATION,
                        spec.CANCELLED: Input.CANCELLED, spec.PROGRESS: Input.PROGRESS,
                        spec.LOG_MESSAGE: Input.LOG_MESSAGE}


class _OpenRequest(Record):
    """A request still open: one of ours awaiting its response (in ``_pending``), or one of
    the peer's we are handling (in ``_in_flight``)."""

    __slots__ = ("method", "progress_token", "last_progress", "last_progress_sent_at")

    def __init__(self, method: str, progress_token: Optional[Any] = None) -> None:
        self.method = method
        self.progress_token = progress_token
        self.last_progress: Optional[float] = None
        #: When we last sent progress on the peer's request (the caller's clock; PR-12).
        self.last_progress_sent_at: Optional[float] = None


class _Negotiated(Record):
    """What the handshake settled (LC-10..LC-16); empty until it happens."""

    __slots__ = ("protocol_version", "peer_info", "peer_capabilities", "instructions")

    def __init__(self, protocol_version: Optional[str] = None,
                 peer_info: Optional[Dict[str, Any]] = None,
                 peer_capabilities: Optional[Dict[str, Any]] = None,
                 instructions: Optional[str] = None) -> None:
        self.protocol_version = protocol_version
        self.peer_info: Dict[str, Any] = peer_info or {}
        self.peer_capabilities: Dict[str, Any] = peer_capabilities or {}
        self.instructions = instructions


def check_cancel_reason(reason: Any) -> None:
    """CN-01: a cancel's ``reason`` is an optional string (the schema's type); anything else
    is refused before anything is sent or forgotten (D-64)."""
    if reason is not None and not isinstance(reason, str):
        raise LocalProtocolError(f"a cancel's reason is a string, not {reason!r}",
                                 catalogue_id="CN-01")


def check_envelope(method: Any, params: Any) -> None:
    """LocalProtocolError unless ``method`` is a string and ``params`` an object or None: no
    other request or notification is a JSON-RPC message of MCP's schema (BP-01; TR-07 for a
    client, TR-06 for a server)."""
    if not isinstance(method, str):
        raise LocalProtocolError(f"a method is a string, not {type(method).__name__}",
                                 catalogue_id="BP-01")
    if params is not None and not isinstance(params, dict):
        raise LocalProtocolError(f"{method}: params are an object, not "
                                 f"{type(params).__name__}", catalogue_id="BP-01")
    if params is not None:
        check_meta(params, f"{method} params")


def check_required_params(method: str, params: Optional[Dict[str, Any]]) -> None:
    """LocalProtocolError unless ``params`` hold the members the schema of ``method`` requires
    (:func:`required_params_problem`): without them the frame is no request or notification
    of that method, as a ``tools/call`` that names no tool (BP-01, D-85). What the members
    hold is not judged here: that is the receiver's business (-32602), or a typed helper's
    (D-54). Raw params go out with their values as given, which is how a tester makes a peer
    refuse a value (``{"uri": 5}``; D-92)."""
    problem = required_params_problem(method, params or {})
    if problem is not None:
        raise LocalProtocolError(problem, catalogue_id="BP-01")


def required_params_problem(method: str, params: Dict[str, Any]) -> Optional[str]:
    """``"tools/call: params need 'name'"`` if ``params`` lack a member the schema of
    ``method`` requires (:data:`spec.REQUIRED_PARAMS`; a url-mode elicitation's are
    :data:`spec.URL_ELICITATION_REQUIRED_PARAMS`), else None. One table for both directions:
    the sender refuses to send such a frame (D-85), the receiver refuses to act on one (D-98).
    Per message, one dict lookup, and a membership test per required member."""
    required = spec.REQUIRED_PARAMS.get(method)
    if required is None:
        return None
    # 2025-11-25's elicitation params are one of two definitions told apart by "mode" (url,
    # else form): the only params of any revision's schema that are a choice (D-92).
    if method == spec.ELICITATION_CREATE and params.get("mode") == "url":
        required = spec.URL_ELICITATION_REQUIRED_PARAMS
    missing = [name for name in required if name not in params]
    if not missing:
        return None
    return f"{method}: params need {', '.join(map(repr, missing))}"


def level_problem(method: str, level: Any) -> Optional[str]:
    """Why ``level`` is none of the eight RFC 5424 levels the schema's ``LoggingLevel`` names
    (LG-03), or None. Asked of ``notifications/message`` and ``logging/setLevel`` by their
    receiver, and by the audit (D-112): one judgement, one wording."""
    if level in spec.LOG_LEVELS:
        return None
    return (f"{method} needs a level among {', '.join(spec.LOG_LEVELS)}; "
            f"got {quoted(level, as_repr=True)}")


def notification_problem(method: str, params: Dict[str, Any],
                         version: Optional[str]) -> Optional[Tuple[str, str]]:
    """What the schema refuses in a notification's params, with its catalogue row, or None:
    the receiver does not act on such a frame (D-92, D-98), and ``serve --audit`` records
    it (D-102). A ``_meta`` that is not an object makes it no notification of its method,
    like params that are not an object (``jsonrpc.parse``): every revision's schema makes a
    notification's ``params._meta`` an object (any object: only a request's types a
    progressToken). So does a missing member its schema requires, and a log level none of
    the eight (LG-03, the schema's ``LoggingLevel``). A method newer than ``version`` is no
    known notification there. A cancel requires nothing in 2025-11-25
    (:data:`spec.REQUIRED_PARAMS` has no entry for it); its ``_meta`` is judged here, and
    the receiver drops a malformed cancel unreported (CN-10, D-102)."""
    meta_problem = shapes.meta_problem(params, "the notification")
    if meta_problem is not None:
        return f"{method}: {meta_problem}", "BP-01"
    problem = required_params_problem(method, params)
    if problem is not None:
        if not method_exists(method, version):
            # A method newer than the session is no known notification here: an
            # extension's, delivered and reported as such (LC-15, D-35), whatever its params.
            return None
        return problem, "BP-01"
    level = level_problem(method, params["level"]) if method == spec.LOG_MESSAGE else None
    if level is not None:
        return level, "LG-03"
    return None


def check_meta(container: Dict[str, Any], what: str) -> None:
    """LocalProtocolError if ``container`` (params or a result) holds a ``_meta`` that is not
    an object: every revision's schema makes it one, in request and notification params and
    in results (BP-01; D-79)."""
    problem = shapes.meta_problem(container, what)
    if problem is not None:
        raise LocalProtocolError(problem, catalogue_id="BP-01")


def _progress_numbers(progress: Any, total: Any) -> bool:
    """Whether a progress value and its total (None: not given) are numbers JSON can carry:
    the schema's ``number``, floats too (PR-06: the receiver accepts them), and JSON has no
    NaN or Infinity, so progress has none. Anything else is refused as the schema's, BP-01,
    like every other schema refusal of a notification's params (D-123)."""
    return shapes.is_finite_number(progress) and (total is None
                                                  or shapes.is_finite_number(total))


def declares(capabilities: Dict[str, Any], name: str) -> bool:
    """Does a capabilities object declare ``name``: ``"tools"``, or ``"resources.subscribe"``
    for a sub-capability that must be true (LC-17)?"""
    capability, _, sub = name.partition(".")
    declared = capabilities.get(capability)
    if declared is None:
        return False
    return not sub or (isinstance(declared, dict) and bool(declared.get(sub)))


def method_exists(method: str, version: Optional[str]) -> bool:
    """Is ``method`` part of protocol revision ``version`` (None: not negotiated yet)?
    LC-15: ``elicitation/create`` does not exist before 2025-06-18 (decision D-35)."""
    since = spec.METHOD_SINCE.get(method)
    return since is None or version is None or version >= since


def gating_capability(requests: Dict[str, Optional[str]], method: str,
                      version: Optional[str]) -> Optional[str]:
    """The capability that must be declared before ``method`` may be used in ``version``, or
    None. ``requests`` is :data:`spec.CLIENT_REQUESTS` or :data:`spec.SERVER_REQUESTS`. A
    capability newer than the session gates nothing (D-35): in 2024-11-05, which has no
    ``completions`` capability, ``completion/complete`` is open to every client."""
    capability = requests.get(method)
    if capability is None:
        return None
    since = spec.CAPABILITY_SINCE.get(capability.partition(".")[0])
    if since is not None and version is not None and version < since:
        return None
    return capability


def elicitation_modes(capabilities: Dict[str, Any], version: Optional[str]) -> Set[str]:
    """The elicitation modes a client's capabilities allow in ``version`` (D-36).

    2025-11-25 lists them as ``elicitation: {form?, url?}``, where an empty object means form
    only, for backwards compatibility; before it, form mode was the only one. Spec:
    https://modelcontextprotocol.io/specification/2025-11-25/client/elicitation#capabilities
    """
    declared = capabilities.get("elicitation")
    if not isinstance(declared, dict):
        return set()
    if version is not None and version < spec.ELICITATION_MODES_VERSION:
        return {"form"}
    return {mode for mode in ("form", "url") if mode in declared} or {"form"}


def _refused_elicitation_mode(params: Optional[Dict[str, Any]], capabilities: Dict[str, Any],
                              version: Optional[str]) -> Optional[Tuple[Any, str]]:
    """``(mode, the modes the client supports)`` if an ``elicitation/create`` with ``params``
    uses a mode the client did not declare, else None. 2025-11-25 client/elicitation: servers
    MUST NOT send such a request; one without ``mode`` is form mode (D-36)."""
    mode = (params or {}).get("mode", "form")
    modes = elicitation_modes(capabilities, version)
    if isinstance(mode, str) and mode in modes:
        return None
    return mode, " and ".join(sorted(modes))


def _refused_sampling_tools(params: Optional[Dict[str, Any]], capabilities: Dict[str, Any],
                            version: Optional[str]) -> Optional[Tuple[str, str]]:
    """Why a ``sampling/createMessage`` with ``params`` may not go to (or come from) a client
    with ``capabilities`` in ``version``, with the catalogue row, or None. 2025-11-25
    client/sampling: servers MUST NOT send tool-enabled sampling requests (``tools``,
    ``toolChoice``) to clients that did not declare ``sampling.tools`` (LC-16, LC-17); before
    2025-11-25 sampling has no tools at all (LC-15). D-95."""
    offered = [name for name in spec.SAMPLING_TOOL_PARAMS if name in (params or {})]
    if not offered:
        return None
    if version is not None and version < spec.SAMPLING_TOOLS_VERSION:
        return (f"sampling with {' and '.join(offered)} needs protocol revision "
                f"{spec.SAMPLING_TOOLS_VERSION} or later; this session speaks {version}",
                "LC-15")
    sampling = capabilities.get("sampling")
    if isinstance(sampling, dict) and isinstance(sampling.get("tools"), dict):
        return None
    return (f"sampling with {' and '.join(offered)} needs the client's 'sampling.tools' "
            "capability, which it did not declare", "LC-16")


def _missing_capability(capabilities: Dict[str, Any],
                        method: str) -> Optional[Tuple[str, str]]:
    """The capability a notification needs that ``capabilities`` lacks, with the rule that
    asks for it, or None: LG-01 for a log message (the logging page's own MUST: a server that
    emits them declares ``logging``), LC-16 (c) for the others (D-121)."""
    needed = spec.NOTIFICATION_CAPABILITY.get(method)
    if not needed or declares(capabilities, needed):
        return None
    return needed, ("LG-01" if method == spec.LOG_MESSAGE else "LC-16")


def _implementation_for(version: str, info: Dict[str, Any]) -> Dict[str, Any]:
    """Our ``Implementation`` object, limited to the fields the negotiated revision defines.

    LC-15: respect the negotiated version. ``title`` arrived in 2025-06-18; ``icons``,
    ``description`` and ``websiteUrl`` in 2025-11-25 (catalogue section 1.2).
    """
    if version >= "2025-11-25":
        return dict(info)
    keep = {"name", "version", "title"} if version >= "2025-06-18" else {"name", "version"}
    return {k: v for k, v in info.items() if k in keep}


#: The members of an Implementation object that are strings when present (the schema's
#: ``Implementation``; ``name`` and ``version`` are required, LC-03, LC-04). ``icons`` is a list.
_IMPLEMENTATION_STRINGS = ("name", "version", "title", "description", "websiteUrl")


def implementation_problem(info: Any) -> Optional[str]:
    """Why ``info`` cannot be our ``clientInfo``/``serverInfo`` (LC-03, LC-04), or None.

    The schema's ``Implementation``: an object with ``name`` and ``version`` strings, and
    ``title``, ``description``, ``websiteUrl`` strings and ``icons`` a list where given. Checked
    when the connection is made, so that no initialize or its answer fails the schema (D-80).
    """
    if not isinstance(info, dict):
        return f"implementation info is an object, not {type(info).__name__}"
    for member in _IMPLEMENTATION_STRINGS:
        required = member in ("name", "version")
        if (required or member in info) and not isinstance(info.get(member), str):
            return (f"implementation info needs {member!r} as a string, "
                    f"not {info.get(member)!r}")
    if "icons" in info and not isinstance(info["icons"], list):
        return f"implementation info's 'icons' is a list, not {info['icons']!r}"
    return None


def instructions_problem(instructions: Any) -> Optional[str]:
    """Why ``instructions`` cannot be a server's hint for the model (LC-21: a string where
    given, in the initialize answer, LC-04), or None (D-80)."""
    if instructions is not None and not isinstance(instructions, str):
        return f"instructions are a string, not {instructions!r}"
    return None


def versions_problem(versions: Any) -> Optional[str]:
    """Why ``versions`` cannot be the revisions we speak, or None: a tuple or a list of one or
    more of the revisions mcp_ref implements (:data:`spec.SUPPORTED_VERSIONS`), in any order
    (LC-08: we offer only what we support; D-80). Nothing else (D-85): a bare string would be
    taken letter by letter, and a generator would be used up by this check."""
    if not isinstance(versions, (tuple, list)) or not versions:
        return f"supported versions are a non-empty tuple or list of revisions, not {versions!r}"
    unknown = [v for v in versions if v not in spec.SUPPORTED_VERSIONS]
    if unknown:
        return (f"mcp_ref does not implement revision(s) {unknown!r}; it speaks "
                + ", ".join(spec.SUPPORTED_VERSIONS))
    return None


class Connection:
    """The protocol state of one peer of an MCP session.

    ``role`` is CLIENT or SERVER. ``info`` is our ``clientInfo``/``serverInfo``;
    ``capabilities`` the capabilities we declare; ``instructions`` (server only) the optional
    hint for the model (LC-21). ``supported_versions`` are the revisions we can speak, in any
    order: they are kept newest first, as offered and counter-offered (LC-09, LC-12). Info,
    instructions or versions that no initialize could carry are ValueError (D-80).
    """

    def __init__(self, role: Role, *, info: Optional[Dict[str, Any]] = None,
                 capabilities: Optional[Dict[str, Any]] = None,
                 instructions: Optional[str] = None,
                 supported_versions: Sequence[str] = spec.SUPPORTED_VERSIONS,
                 max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        problem = (implementation_problem(DEFAULT_INFO if info is None else info)
                   or instructions_problem(instructions)
                   or versions_problem(supported_versions))
        if problem is not None:
            raise ValueError(problem)
        self.role = role
        self.peer_role = role.peer
        #: The requests each side may send, by method, with the capability each needs.
        self._requests_we_send = (spec.CLIENT_REQUESTS if role is Role.CLIENT
                                  else spec.SERVER_REQUESTS)
        self._requests_we_receive = (spec.SERVER_REQUESTS if role is Role.CLIENT
                                     else spec.CLIENT_REQUESTS)
        self.info = dict(info or DEFAULT_INFO)
        self.capabilities = dict(capabilities or {})
        self.own_instructions = instructions
        # Newest first: the client offers the first (LC-09), the server counter-offers it
        # (LC-12). The revisions' names are dates, so they sort as strings.
        self.supported_versions = tuple(sorted(set(supported_versions), reverse=True))
        self.lifecycle = Lifecycle(role)
        self.negotiated = _Negotiated()
        #: Server only: the minimum level of log messages to send (LG-02; decision D-12).
        self.log_level = "info"
        self._buffer = LineBuffer(max_line_bytes)
        self._next_id = 1
        self._initialize_id: Optional[RequestId] = None
        self._pending: Dict[RequestId, _OpenRequest] = {}
        # A dict used as an ordered set, so the oldest entries can be dropped (D-27).
        self._abandoned: Dict[RequestId, None] = {}
        self._in_flight: Dict[RequestId, _OpenRequest] = {}
        self._cancelled_by_peer: Set[RequestId] = set()
        self._outbox = bytearray()

    # --- Read-only views ----------------------------------------------------------------------

    @property
    def state(self) -> State:
        return self.lifecycle.state

    @property
    def protocol_version(self) -> Optional[str]:
        return self.negotiated.protocol_version

    @property
    def pending_ids(self) -> Tuple[RequestId, ...]:
        return tuple(self._pending)

    @property
    def in_flight_ids(self) -> Tuple[RequestId, ...]:
        return tuple(self._in_flight)

    def data_to_send(self) -> bytes:
        """Bytes the connection produced on its own (answers to ping, errors, initialize)."""
        data = bytes(self._outbox)
        self._outbox.clear()
        return data

    # ==========================================================================================
    # Sending
    # ==========================================================================================

    def initialize(self) -> Tuple[RequestId, bytes]:
        """Client: the ``initialize`` request that opens the session (LC-02, LC-03).

        It offers our newest version (LC-08, LC-09), our capabilities and our clientInfo.
        """
        if self.role is not Role.CLIENT:
            raise LocalProtocolError("only a client sends initialize", catalogue_id="LC-03")
        offered = self.supported_versions[0]
        params = {"protocolVersion": offered,
                  "capabilities": shapes.capabilities(offered, self.capabilities),  # D-41
                  "clientInfo": _implementation_for(offered, self.info)}
        request_id = self._allocate_id()
        # Encode before any bookkeeping: info or capabilities JSON cannot carry raise NotJson
        # (BP-01) and leave the connection as it was, ready for a corrected attempt (the id
        # stays unused: ids are never reused, BP-05, so a gap is harmless).
        data = encode(to_obj(Request(request_id, spec.INITIALIZE, params)))
        self.lifecycle.process(self.role, Input.INITIALIZE_REQUEST)   # LC-02: raises if not now
        self._initialize_id = request_id
        self._pending[request_id] = _OpenRequest(spec.INITIALIZE)
        return request_id, data

    def send_request(self, method: str, params: Optional[Dict[str, Any]] = None, *,
                     progress_token: Any = None,
                     want_progress: bool = False) -> Tuple[RequestId, bytes]:
        """Start a request; returns its id and the bytes to write.

        With ``progress_token``, the request asks for progress notifications (PR-01): the
        token must be a string or an integer (PR-02) unique among our active requests (PR-03).
        ``want_progress`` without a token uses the request id as the token (unique, because
        ids are).
        """
        check_envelope(method, params)          # BP-01: before anything is counted or sent
        if method == spec.INITIALIZE:
            raise LocalProtocolError("use Connection.initialize() to open the session",
                                     catalogue_id="LC-03")
        if method in spec.NOTIFICATIONS:
            # BP-01, BP-14: a notification's method with an id is neither a valid request nor
            # a valid notification (D-82). Context.request("notifications/progress") sent it.
            raise LocalProtocolError(f"{method} is a notification, not a request: use "
                                     "send_notification()", catalogue_id="BP-14")
        if method in self._requests_we_receive and method not in self._requests_we_send:
            # A known request of the other direction (a client asking roots/list): no valid
            # message (TR-07, TR-06), labelled LC-16 as audit.py labels a client's: it uses
            # what the other side offers. Methods the spec does not name go out, as extensions.
            raise LocalProtocolError(f"{method} is a request the {self.peer_role.value} "
                                     f"sends, not the {self.role.value}", catalogue_id="LC-16")
        self.lifecycle.process(self.role, Input.PING if method == spec.PING else Input.REQUEST)
        self._check_peer_offers(method, params)
        check_required_params(method, params)   # BP-01 (D-85)
        params = dict(params) if params else {}
        if want_progress and progress_token is None:
            progress_token = self._next_id      # the id _allocate_id() is about to hand out
            if self._token_in_use(progress_token):
                progress_token = f"mcp_ref-{progress_token}"   # the caller chose that integer
        if progress_token is not None:
            self._check_new_progress_token(progress_token)
            meta = dict(params.get("_meta") or {})
            meta["progressToken"] = progress_token
            params["_meta"] = meta
        request_id = self._allocate_id()
        # Encode before the bookkeeping: params JSON cannot carry raise NotJson (BP-01) and
        # leave nothing pending that no response could ever settle.
        data = encode(to_obj(Request(request_id, method, params or None)))
        self._pending[request_id] = _OpenRequest(method, progress_token)
        return request_id, data

    def send_notification(self, method: str, params: Optional[Dict[str, Any]] = None) -> bytes:
        """Send a notification that has no dedicated method (list_changed and the like)."""
        check_envelope(method, params)          # BP-01
        if method in spec.REQUESTS:
            # BP-01: a request's method without an id is no valid notification (D-82); its
            # sender would wait for no answer, and its receiver answers none (BP-13).
            raise LocalProtocolError(f"{method} is a request, not a notification: use "
                                     "send_request()", catalogue_id="BP-01")
        dedicated = {spec.INITIALIZED: "the connection sends it itself",
                     spec.CANCELLED: "use cancel()", spec.PROGRESS: "use send_progress()",
                     spec.LOG_MESSAGE: "use send_log()"}
        sender = spec.NOTIFICATION_SENDER.get(method, self.role.value)
        if sender != self.role.value:
            # Before the capability check, whose message would name a capability this side
            # cannot have: no valid message (TR-07 for a client, TR-06 for a server), labelled
            # LC-16 as send_request labels a request of the other direction (D-54).
            raise LocalProtocolError(f"{method} is a notification the {sender} sends, not the "
                                     f"{self.role.value}", catalogue_id="LC-16")
        if method in dedicated:
            raise LocalProtocolError(f"{method}: {dedicated[method]}")
        self.lifecycle.process(self.role, Input.NOTIFICATION)
        self._check_we_declared(method)
        self._check_revision_has(method)
        if (method == spec.ELICITATION_COMPLETE and "url" not in elicitation_modes(
                self.negotiated.peer_capabilities, self.protocol_version)):
            # It ends a url-mode elicitation, which a client without url mode never gets (D-36).
            raise CapabilityNotNegotiated(f"{method} needs the client's url elicitation mode",
                                          catalogue_id="LC-16")
        check_required_params(method, params)   # BP-01 (D-85)
        return encode(to_obj(Notification(method, params)))

    def send_response(self, request_id: RequestId, result: Dict[str, Any]) -> bytes:
        """Answer a request of the peer's. Returns b"" if the peer cancelled it (CN-05)."""
        if not isinstance(result, dict):
            # BP-09: a result is an object (2025-11-25's words; every older revision's schema
            # types it as the object Result too). Refused before anything is sent or
            # forgotten, so the request can still be answered with an error (a handler
            # returned None, say).
            raise LocalProtocolError(f"a result must be a JSON object, not "
                                     f"{type(result).__name__}", catalogue_id="BP-09")
        check_meta(result, "a result")               # BP-01, D-79: refused the same way
        return self._answer(request_id, Response(request_id, result))

    def send_error(self, request_id: RequestId, code: int, message: str,
                   data: Any = None) -> bytes:
        """Answer a request of the peer's with an error. b"" if the peer cancelled it.

        BP-11: ``code`` is an integer (an :class:`~mcp_ref.errors.ErrorCode` is one; a bool
        or a float is not); BP-10: ``message`` is a string. Anything else is refused before
        anything is sent or forgotten, so the request can still be answered (D-79)."""
        if isinstance(code, bool) or not isinstance(code, int):
            raise LocalProtocolError(f"an error code is an integer, not "
                                     f"{type(code).__name__}", catalogue_id="BP-11")
        if not isinstance(message, str):
            raise LocalProtocolError(f"an error message is a string, not "
                                     f"{type(message).__name__}", catalogue_id="BP-10")
        return self._answer(request_id, ErrorResponse(request_id, int(code), message, data))

    def cancel(self, request_id: RequestId, reason: Optional[str] = None) -> bytes:
        """Give up on one of our requests and tell the peer (CN-01; on a timeout, TO-02's
        SHOULD from 2025-03-26, CN-01's MAY alone in 2024-11-05, which has no such rule).

        Returns b"" when the request already completed: a cancel refers only to a request we
        believe is still running (CN-02). ``initialize`` can never be cancelled (CN-03). From
        now on a response for this id is dropped (CN-07).
        """
        if request_id == self._initialize_id:
            raise LocalProtocolError("initialize must not be cancelled", catalogue_id="CN-03")
        check_cancel_reason(reason)
        if request_id not in self._pending:
            return b""
        del self._pending[request_id]
        self._abandon(request_id)
        if not self.lifecycle.permits(self.role, Input.CANCELLED):
            return b""                    # shutting down: stop waiting, but nothing to send
        self.lifecycle.process(self.role, Input.CANCELLED)
        params: Dict[str, Any] = {"requestId": request_id}
        if reason:
            params["reason"] = reason
        return encode(to_obj(Notification(spec.CANCELLED, params)))

    def forget(self, request_id: RequestId) -> None:
        """Stop waiting for one of our requests *without* telling the peer.

        Only for ``initialize`` after a handshake timeout: it may not be cancelled (CN-03),
        but the caller has stopped waiting, so its response, if any, is dropped.
        """
        if self._pending.pop(request_id, None) is not None:
            self._abandon(request_id)

    def give_up(self, request_id: RequestId) -> None:
        """Stop handling a request of the peer's *without* answering it, as if the peer had
        cancelled it (CN-05): for a server shutting down with work still running (TR-14).
        Whatever its handler returns later is not sent, nor is progress (reliability SC-01).
        """
        if self._in_flight.pop(request_id, None) is not None:
            self._cancelled_by_peer.add(request_id)

    def drop_if_cancelled(self, request_id: RequestId) -> bool:
        """True if the peer cancelled its request ``request_id`` (or we gave it up) before
        it was answered. Then it is forgotten here, as an answer would forget it: none will
        be sent (CN-05), and its handler need not run at all (CN-11)."""
        if request_id not in self._cancelled_by_peer:
            return False
        self._cancelled_by_peer.discard(request_id)
        return True

    def send_progress(self, request_id: RequestId, progress: float,
                      total: Optional[float] = None, message: Optional[str] = None, *,
                      now: Optional[float] = None, min_interval: float = 0.0) -> bytes:
        """Report progress on a request of the peer's that asked for it.

        Sends nothing (b"") when the request carried no progress token (PR-08) or is no longer
        in flight, because it completed or was cancelled (PR-13, CN-23, decision A9). A value
        that does not increase is refused (PR-05).

        Rate limit (PR-12, decision D-47): with ``now`` (the shell's clock, in seconds; the
        core has none) and ``min_interval`` > 0, a call less than ``min_interval`` after the
        last progress sent on this request sends nothing. The first progress of a request is
        always sent, and so is one that reaches ``total``. A skipped call is checked exactly
        like a sent one, and its value is the one the next must exceed (PR-05).
        """
        inbound = self._in_flight.get(request_id)
        if inbound is None or inbound.progress_token is None:
            return b""
        if not _progress_numbers(progress, total):
            raise LocalProtocolError("progress and total must be numbers", catalogue_id="BP-01")
        if message is not None and not isinstance(message, str):     # the schema's type
            # BP-01, as for progress and total: PR-07 asks for useful text, a SHOULD about
            # the words, not the type (D-123).
            raise LocalProtocolError(f"a progress message is a string, not {message!r}",
                                     catalogue_id="BP-01")
        if inbound.last_progress is not None and progress <= inbound.last_progress:
            raise LocalProtocolError(
                f"progress must increase with every notification: {progress!r} does not "
                f"exceed {inbound.last_progress!r}", catalogue_id="PR-05")
        params: Dict[str, Any] = {"progressToken": inbound.progress_token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None and (self.protocol_version or "") >= "2025-03-26":
            params["message"] = message  # PR-07: ``message`` exists from 2025-03-26 on
        # Encode first: a message JSON cannot carry raises NotJson (BP-01) before this value
        # becomes the one the next progress must exceed (PR-05); nothing was sent.
        data = encode(to_obj(Notification(spec.PROGRESS, params)))
        self.lifecycle.process(self.role, Input.PROGRESS)
        inbound.last_progress = progress
        if self._too_soon_for_progress(inbound, progress, total, now, min_interval):
            return b""
        inbound.last_progress_sent_at = now
        return data

    def progress_is_owed(self, request_id: RequestId, progress: float,
                         total: Optional[float] = None, *, now: Optional[float] = None,
                         min_interval: float = 0.0) -> bool:
        """Whether :meth:`send_progress` with these values would send something, asked before
        calling it and changing nothing: False when the request asked for no progress (PR-08),
        is no longer in flight (PR-13), or the rate limit would skip the value (PR-12). The
        shell uses it to skip waiting for room in the outbox for a frame it will not write.
        (An invalid value gives True here: send_progress raises for it.)"""
        inbound = self._in_flight.get(request_id)
        if inbound is None or inbound.progress_token is None:
            return False
        if not _progress_numbers(progress, total):
            return True
        return not self._too_soon_for_progress(inbound, progress, total, now, min_interval)

    @staticmethod
    def _too_soon_for_progress(inbound: _OpenRequest, progress: float, total: Optional[float],
                               now: Optional[float], min_interval: float) -> bool:
        """PR-12: "Both parties SHOULD implement rate limiting to prevent flooding"
        (https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/progress#implementation-notes).
        Skip this progress if the last one sent on the request is less than ``min_interval``
        old; never the first one, nor one that reaches ``total`` (the final state is not
        lost: nothing is sent later in its place, D-47)."""
        if now is None or min_interval <= 0 or inbound.last_progress_sent_at is None:
            return False
        # "Reaches": a total reached by adding floats may fall a rounding error short
        # (0.1 added ten times is 0.9999999999999999): within a relative 1e-9 of it counts
        # (math.isclose's default).
        if total is not None and (progress >= total or math.isclose(progress, total)):
            return False
        return now - inbound.last_progress_sent_at < min_interval

    def send_log(self, level: str, data: Any, logger: Optional[str] = None) -> bytes:
        """Server: a ``notifications/message`` log entry, if ``level`` passes the client's
        threshold set by ``logging/setLevel`` (LG-02). Needs the logging capability (LG-01).
        """
        if self.role is Role.CLIENT:
            # LC-16, as send_notification says it (D-54): log messages go server to client
            # (catalogue 1.1), and a client has no logging capability whose absence LG-01
            # could name (D-119).
            raise LocalProtocolError(f"{spec.LOG_MESSAGE} is a notification the server sends, "
                                     "not the client", catalogue_id="LC-16")
        if "logging" not in self.capabilities:
            raise CapabilityNotNegotiated("log messages need the logging capability",
                                          catalogue_id="LG-01")
        if level not in spec.LOG_LEVELS:
            raise LocalProtocolError(f"unknown log level {level!r}", catalogue_id="LG-03")
        if logger is not None and not isinstance(logger, str):
            # The schema's notifications/message params: ``logger?: string`` (D-79); a frame
            # the schema refuses, which a server never writes (TR-06). LG-03 is the levels.
            raise LocalProtocolError(f"a logger name is a string, not {type(logger).__name__}",
                                     catalogue_id="TR-06")
        if not self.log_is_wanted(level):
            return b""
        self.lifecycle.process(self.role, Input.LOG_MESSAGE)
        params: Dict[str, Any] = {"level": level, "data": data}
        if logger is not None:
            params["logger"] = logger
        return encode(to_obj(Notification(spec.LOG_MESSAGE, params)))

    def log_is_wanted(self, level: str) -> bool:
        """Whether :meth:`send_log` at ``level`` would send something: False for a level below
        the client's threshold (LG-02). An unknown level gives True: send_log raises for it."""
        if level not in spec.LOG_LEVELS:
            return True
        return spec.LOG_LEVELS.index(level) >= spec.LOG_LEVELS.index(self.log_level)

    def close(self) -> None:
        """We close our end: the client closes the server's stdin, or the server its stdout."""
        self.lifecycle.process(self.role, Input.CLOSE)

    def transport_closed(self) -> None:
        """The transport is gone for good (the server process exited)."""
        self.lifecycle.process(self.role, Input.TRANSPORT_CLOSED)

    # --- Sending helpers ----------------------------------------------------------------------

    def _allocate_id(self) -> int:
        request_id = self._next_id      # BP-05: counted up, never reused in the session
        self._next_id += 1
        return request_id

    def _check_revision_has(self, method: str) -> None:
        # LC-15: respect the negotiated version; never send a method newer than it (D-35).
        if not method_exists(method, self.protocol_version):
            raise LocalProtocolError(
                f"{method} does not exist in protocol revision {self.protocol_version} (it was "
                f"added in {spec.METHOD_SINCE[method]})", catalogue_id="LC-15")

    def _check_peer_offers(self, method: str, params: Optional[Dict[str, Any]]) -> None:
        self._check_revision_has(method)
        version = self.protocol_version
        # LC-16: only use capabilities that were negotiated.
        peer = self.negotiated.peer_capabilities
        capability = gating_capability(self._requests_we_send, method, version)
        if capability and not declares(peer, capability):
            raise CapabilityNotNegotiated(
                f"{method} needs the peer's {capability!r} capability, which it did not "
                f"declare", catalogue_id="LC-16")
        refused = (_refused_elicitation_mode(params, peer, version)
                   if method == spec.ELICITATION_CREATE else None)
        if refused:
            mode, supported = refused          # D-36: a mode the client did not declare
            raise CapabilityNotNegotiated(
                f"elicitation/create in {mode!r} mode: the client supports {supported} mode "
                f"only in {version}", catalogue_id="LC-16")
        refusal = (_refused_sampling_tools(params, peer, version)
                   if method == spec.SAMPLING_CREATE_MESSAGE else None)
        if refusal:                            # D-95: tools in sampling need sampling.tools
            problem, catalogue_id = refusal
            raise CapabilityNotNegotiated(problem, catalogue_id=catalogue_id)

    def _check_we_declared(self, method: str) -> None:
        # LC-16 (c), LG-01: a notification tied to a capability needs it declared by us.
        missing = _missing_capability(self.capabilities, method)
        if missing:
            name, catalogue_id = missing
            raise CapabilityNotNegotiated(f"{method} needs our {name!r} capability declared",
                                          catalogue_id=catalogue_id)

    def _check_new_progress_token(self, token: Any) -> None:
        if not is_progress_token(token):
            raise LocalProtocolError("a progress token must be a string or an integer",
                                     catalogue_id="PR-02")
        if self._token_in_use(token):
            raise LocalProtocolError(f"progress token {token!r} is already in use",
                                     catalogue_id="PR-03")

    def _answer(self, request_id: RequestId, message: Message) -> bytes:
        """The bytes answering a peer request, or b"" if the peer cancelled it (CN-05)."""
        if request_id in self._cancelled_by_peer:
            self._cancelled_by_peer.discard(request_id)
            return b""                    # CN-05: no response for a cancelled request
        if request_id not in self._in_flight:
            raise LocalProtocolError(f"no request with id {request_id!r} awaits a response "
                                     "(answered already, or never received)", catalogue_id="BP-07")
        # Encode first: a result that cannot be encoded (NaN, bytes, ...) raises here and leaves
        # the request in flight, so the caller can still answer it with an error (BP-01).
        data = encode(to_obj(message))
        self.lifecycle.process(self.role, Input.RESPONSE)
        del self._in_flight[request_id]
        return data

    def _abandon(self, request_id: RequestId) -> None:
        """Remember a request we stopped waiting for, so its late response is dropped (CN-07).

        Only the newest :data:`ABANDONED_MEMORY` are remembered (D-27): the peer SHOULD not
        answer a cancelled request at all (CN-05), and memory must stay bounded. A response
        older than that is reported as one for an unknown id.
        """
        self._abandoned[request_id] = None
        if len(self._abandoned) > ABANDONED_MEMORY:
            del self._abandoned[next(iter(self._abandoned))]

    def _token_in_use(self, token: Any) -> bool:
        return any(o.progress_token == token and type(o.progress_token) is type(token)
                   for o in self._pending.values())

    # ==========================================================================================
    # Receiving
    # ==========================================================================================

    def receive_data(self, data: bytes) -> List[ev.Event]:
        """Feed bytes from the peer; ``b""`` means end of stream. Returns the events."""
        if self.state in (State.CLOSED, State.FAILED):
            return []                     # nothing the peer says can matter any more
        events: List[ev.Event] = []
        for item in self._buffer.feed(data):
            if type(item) is bytes:
                events.extend(self._receive_line(item))
            elif isinstance(item, LineTooLong):
                events.extend(self._on_line_too_long(item.limit))
            elif isinstance(item, TruncatedAtEOF):
                events.append(ev.MessageDropped(
                    f"the stream ended inside a message; {item.size} bytes were discarded"))
        if not data:
            events.extend(self._on_end_of_stream())
        return events

    def _receive_line(self, line: bytes) -> List[ev.Event]:
        try:
            value = decode(line)
        except NumberOutOfRange as exc:
            if isinstance(exc.value, list):
                return self._receive_batch(exc.value)
            return self._receive_out_of_range(exc.value)
        except NestsTooDeep as exc:
            # Deeper than our limit (D-51): answered as a line we could not parse, -32700 with
            # id null (D-04), but the limit is ours, not the spec's (RFC 8259 section 9 lets a
            # reader set one; MCP sets none): the peer broke no rule, so this is no
            # ProtocolViolation, as a line over our line limit is none (D-123, D-127).
            self._queue(ErrorResponse(None, ErrorCode.PARSE_ERROR, f"Parse error: {exc}"))
            return [ev.MessageDropped(f"{exc} (mcp_ref's limit, D-51): not read, answered -32700 "
                                      "with id null", unread=True)]
        except FrameError as exc:
            # JSON-RPC 2.0: -32700, and the id is null because it could not be read (D-04).
            self._queue(ErrorResponse(None, ErrorCode.PARSE_ERROR, f"Parse error: {exc}"))
            return [ev.ProtocolViolation(RemoteProtocolError(str(exc), code=ErrorCode.PARSE_ERROR,
                                                             catalogue_id="BP-01"), True)]
        if isinstance(value, list):
            return self._receive_batch(value)
        return self._receive_value(value)

    def _receive_batch(self, items: List[Any]) -> List[ev.Event]:
        # BP-16: only 2025-03-26 has batches, and initialize is never in one (BP-17), so a
        # batch is valid once a session has negotiated 2025-03-26: from the initialize
        # result on, notifications/initialized included (decision D-06). Each member then
        # meets the lifecycle as if it had come alone.
        if self.protocol_version != spec.BATCH_VERSION or self.state not in NEGOTIATED:
            version = self.protocol_version or "an uninitialized session"
            return self._reject(InvalidMessage(f"JSON-RPC batches are not supported in {version}"),
                                "BP-16")
        if not items:
            return self._reject(InvalidMessage("an empty batch is not a valid request"), "BP-16")
        events: List[ev.Event] = []
        for item in items:
            if first_out_of_range(item) is None:
                events.extend(self._receive_value(item))
            else:
                events.extend(self._receive_out_of_range(item))
        return events

    def _receive_out_of_range(self, value: Any) -> List[ev.Event]:
        """Valid JSON holding a number Python cannot carry (D-37): a 5000-digit integer, say.
        Never processed, but answered by its id, so no request of the peer's hangs."""
        marker = first_out_of_range(value)
        assert marker is not None              # framing found one, or the batch loop did
        reason = marker.reason
        try:
            message = parse(value)
        except InvalidMessage as exc:      # invalid anyway: an id that is the number itself
            return self._reject(InvalidMessage(
                f"{exc.message} ({reason})", code=exc.code, id=exc.id,
                is_response=exc.is_response, is_notification=exc.is_notification), "BP-01", value)
        if isinstance(message, Request):
            # ER-01: -32602, the params are what we cannot read; the peer did nothing wrong.
            self._queue(ErrorResponse(message.id, ErrorCode.INVALID_PARAMS,
                                      f"Invalid params: {reason}"))
            return [ev.MessageDropped(f"request {message.method!r} ({message.id!r}): {reason}; "
                                      "answered -32602")]
        if isinstance(message, Notification):
            return [ev.MessageDropped(f"notification {message.method!r}: {reason}")]
        # A response to one of our requests: fail that request rather than leave it hanging.
        return self._reject(InvalidMessage(reason, id=message.id, is_response=True),
                            "BP-01", value)

    def _receive_value(self, value: Any) -> List[ev.Event]:
        try:
            message = parse(value)
        except InvalidMessage as exc:
            return self._reject(exc, "BP-01", value)
        if isinstance(message, Request):
            return self._receive_request(message)
        if isinstance(message, Notification):
            return self._receive_notification(message)
        return self._receive_response(message)

    # --- Requests from the peer ---------------------------------------------------------------

    def _receive_request(self, request: Request) -> List[ev.Event]:
        method = request.method
        if request.id in self._in_flight or request.id in self._cancelled_by_peer:
            # BP-05: the peer reused an id it is still waiting on (decision D-07).
            return self._answer_error(request, ErrorCode.INVALID_REQUEST,
                                      f"request id {quoted(request.id, as_repr=True)} is "
                                      "already in use", "BP-05")
        known = self._requests_we_receive
        if method not in known:
            # ER-01: an unknown method is -32601, in every state (decision D-05). Not a fault of
            # the peer's: probing is legitimate (2026-07-28's dual-era client probes with
            # server/discover, LC-39, and falls back to initialize on any error, LC-41).
            # BP-36: what the peer sent is quoted briefly, however long it is.
            self._answer_error(request, ErrorCode.METHOD_NOT_FOUND,
                               f"Method not found: {quoted(method)}", "ER-01", answer_only=True)
            return [ev.MessageDropped(f"unknown method {quoted(method, as_repr=True)}: "
                                      "answered -32601")]
        if not method_exists(method, self.protocol_version):
            # LC-15: a method newer than the negotiated revision does not exist in this session;
            # -32601 as for any unknown method (ER-01), and reported: the peer chose the
            # revision, so it should have known (decision D-35).
            return self._answer_error(request, ErrorCode.METHOD_NOT_FOUND,
                                      f"Method not found: {method} does not exist in protocol "
                                      f"revision {self.protocol_version}", "LC-15")
        if self.state is State.CLOSING:
            # It crossed our own close on the wire: not the peer's fault, and we can no longer
            # answer (LC-19). Dropped, like a late response (CN-08: such races are expected).
            return [ev.MessageDropped(f"request {method!r} arrived while we are closing")]
        capability = known[method]
        if capability and not declares(self.capabilities, capability):
            if gating_capability(known, method, self.protocol_version) is None:
                # The capability is newer than the session (D-35): 2024-11-05 has
                # completion/complete but no ``completions``, so the peer broke no rule in
                # asking; we answer as for a method we do not implement (ER-01), and report
                # nothing (D-95).
                self._answer_error(request, ErrorCode.METHOD_NOT_FOUND,
                                   f"Method not found: {quoted(method)}", "ER-01",
                                   answer_only=True)
                return [ev.MessageDropped(f"{quoted(method, as_repr=True)}, which we do not "
                                          "implement: answered -32601")]
            # A method behind a capability we did not declare is -32601 too, like an unknown
            # method in every state (D-05): 2025-11-25 says so for roots and completions, and
            # 2026-07-28's schema for every server capability (ER-11). Our own capabilities
            # say what we implement, whatever the revision (D-35).
            return self._answer_error(request, ErrorCode.METHOD_NOT_FOUND,
                                      f"Method not found: {method} (no {capability!r} "
                                      "capability)", "ER-11")
        input = _REQUEST_INPUTS.get(method, Input.REQUEST)
        try:
            self.lifecycle.process(self.peer_role, input)
        except RemoteProtocolError as exc:
            # A known request the lifecycle does not allow yet: an error, never processed (D-05).
            return self._answer_error(request, exc.code, exc.message, exc.catalogue_id)
        # BP-01, PR-02: a _meta the schema refuses makes the params invalid: -32602, never
        # processed, in every state the lifecycle allows the request in (D-87).
        meta_problem = shapes.request_meta_problem(request.params or {})
        if method == spec.INITIALIZE:
            return self._answer_initialize(request, meta_problem)
        if meta_problem is not None:
            problem, catalogue_id = meta_problem
            return self._answer_error(request, ErrorCode.INVALID_PARAMS,
                                      f"Invalid params: {problem}", catalogue_id)
        params = request.params or {}
        missing = required_params_problem(method, params)
        if missing is not None:
            # BP-01: without a member its schema requires, the frame is no request of its
            # method. JSON-RPC 2.0 section 5.1 (ER-01): -32602 Invalid params, from the table
            # the sender obeys (D-85), for either role, before the application sees it (D-98).
            return self._answer_error(request, ErrorCode.INVALID_PARAMS,
                                      f"Invalid params: {missing}", "BP-01")
        if method == spec.PING:
            self._queue(Response(request.id, {}))     # PG-02: answer promptly with {}
            return []
        if method == spec.SET_LOGGING_LEVEL:
            return self._answer_set_level(request)
        refused = (_refused_elicitation_mode(params, self.capabilities, self.protocol_version)
                   if method == spec.ELICITATION_CREATE else None)
        if refused:
            # The server used a mode we did not declare (D-36): never handed to the application.
            mode, supported = refused
            return self._answer_error(request, ErrorCode.INVALID_PARAMS,
                                      "Invalid params: elicitation mode "
                                      f"{quoted(mode, as_repr=True)} was not declared (this "
                                      f"client supports {supported})", "LC-16")
        refusal = (_refused_sampling_tools(params, self.capabilities, self.protocol_version)
                   if method == spec.SAMPLING_CREATE_MESSAGE else None)
        if refusal:
            # Tools we did not declare, or that this revision lacks (D-95, as D-36 answers an
            # undeclared elicitation mode): never handed to the application.
            problem, catalogue_id = refusal
            return self._answer_error(request, ErrorCode.INVALID_PARAMS,
                                      f"Invalid params: {problem}", catalogue_id)
        token = params.get("_meta", {}).get("progressToken")   # PR-01: a valid token or None
        self._in_flight[request.id] = _OpenRequest(method, token)
        return [ev.RequestReceived(request.id, method, params, token)]

    def _answer_initialize(self, request: Request,
                           meta_problem: Optional[Tuple[str, str]]) -> List[ev.Event]:
        """Server: version negotiation (LC-10..LC-12) and the initialize result (LC-04).
        ``meta_problem``: what the schema refuses in the request's ``_meta`` (D-87)."""
        params = request.params or {}
        requested = params.get("protocolVersion")
        if meta_problem is not None or not (
                isinstance(requested, str) and isinstance(params.get("capabilities"), dict)
                and isinstance(params.get("clientInfo"), dict)):
            # LC-03: the three fields are required; BP-01, PR-02: _meta is as the schema types
            # it (D-87). LC-20: the client must be ready for a failed initialization; that it
            # may try again is our choice (D-19). The peer's fault, so reported as every other
            # request the schema refuses is (D-98, D-109).
            self.lifecycle.process(self.role, Input.INITIALIZE_ERROR)
            if meta_problem is not None:
                problem, catalogue_id = meta_problem
                return self._answer_error(request, ErrorCode.INVALID_PARAMS,
                                          f"Invalid params: {problem}", catalogue_id)
            return self._answer_error(request, ErrorCode.INVALID_PARAMS,
                                      "initialize needs protocolVersion (a string), "
                                      "capabilities and clientInfo (objects)", "LC-03")
        if requested in self.supported_versions:
            version = requested                    # LC-10: echo a version we support
        else:
            version = self.supported_versions[0]   # LC-11, LC-12: counter-offer our newest
        self.negotiated = _Negotiated(version, params["clientInfo"], params["capabilities"])
        result: Dict[str, Any] = {"protocolVersion": version,
                                  "capabilities": shapes.capabilities(version,
                                                                      self.capabilities),
                                  "serverInfo": _implementation_for(version, self.info)}
        if self.own_instructions:
            result["instructions"] = self.own_instructions
        self.lifecycle.process(self.role, Input.INITIALIZE_RESULT)
        self._queue(Response(request.id, result))
        return []

    def _answer_set_level(self, request: Request) -> List[ev.Event]:
        """Server: ``logging/setLevel`` (LG-02); an unknown level is -32602 (ER-13)."""
        level = (request.params or {}).get("level")
        problem = level_problem(spec.SET_LOGGING_LEVEL, level)
        if problem is not None:
            # ER-13: -32602. A level none of the eight is one the schema's LoggingLevel refuses
            # (LG-03): the peer's fault, reported as a log message at such a level is (D-98,
            # D-109).
            return self._answer_error(request, ErrorCode.INVALID_PARAMS,
                                      f"Invalid params: {problem}", "LG-03")
        assert isinstance(level, str)           # level_problem passed it: one of the eight
        self.log_level = level
        self._queue(Response(request.id, {}))
        return []

    def _answer_error(self, request: Request, code: int, message: str, catalogue_id: str,
                      *, answer_only: bool = False) -> List[ev.Event]:
        self._queue(ErrorResponse(request.id, code, message))
        if answer_only:
            return []
        return [ev.ProtocolViolation(RemoteProtocolError(message, code=code,
                                                         catalogue_id=catalogue_id), True)]

    # --- Notifications from the peer ----------------------------------------------------------

    def _receive_notification(self, note: Notification) -> List[ev.Event]:
        params = note.params or {}
        refused = self._refused_notification(note.method, params)
        if refused is not None:
            return [refused]
        input = _NOTIFICATION_INPUTS.get(note.method, Input.NOTIFICATION)
        try:
            self.lifecycle.process(self.peer_role, input)
        except RemoteProtocolError as exc:
            return [ev.ProtocolViolation(exc, False)]   # BP-13: never answer a notification
        if input is Input.INITIALIZED_NOTIFICATION:
            n = self.negotiated
            return [ev.Initialized(n.protocol_version or "", n.peer_info, n.peer_capabilities)]
        if input is Input.CANCELLED:
            return self._receive_cancel(params)
        if input is Input.PROGRESS:
            return self._receive_progress(params)
        events: List[ev.Event] = []
        sender = spec.NOTIFICATION_SENDER.get(note.method, self.peer_role.value)
        if sender != self.peer_role.value:
            # The receiving side of D-54: delivered (a lenient receiver, D-24) but reported as
            # sent the wrong way, not as a capability the peer lacks, which it cannot have.
            # (A client's notifications/message never gets here: the lifecycle refuses it,
            # LC-16 as well, D-119.)
            events.append(ev.ProtocolViolation(RemoteProtocolError(
                f"{note.method} is a notification the {sender} sends, not the "
                f"{self.peer_role.value}", catalogue_id="LC-16"), False))
            events.append(ev.NotificationReceived(note.method, params))
            return events
        if (note.method == spec.ELICITATION_COMPLETE and self.protocol_version is not None
                and method_exists(note.method, self.protocol_version)
                and "url" not in elicitation_modes(self.capabilities, self.protocol_version)):
            # It ends a url-mode elicitation, and we declared no url mode (D-36): the receiving
            # side of send_notification's refusal. Delivered, and reported.
            events.append(ev.ProtocolViolation(RemoteProtocolError(
                f"{note.method} ends a url-mode elicitation, and this client declared no url "
                "mode", catalogue_id="LC-16"), False))
        if not method_exists(note.method, self.protocol_version):
            # D-35: delivered (a lenient receiver, like D-24) but reported: the revision the
            # peer negotiated has no such notification (LC-15).
            events.append(ev.ProtocolViolation(RemoteProtocolError(
                f"{note.method} does not exist in protocol revision {self.protocol_version}",
                catalogue_id="LC-15"), False))
        missing = _missing_capability(self.negotiated.peer_capabilities, note.method)
        if missing and self.negotiated.protocol_version is not None:
            # D-24: delivered anyway (lenient receiver), but reported: the peer did not declare
            # the capability this notification belongs to (LC-16 (c); LG-01 for a server's
            # log message, D-121).
            name, catalogue_id = missing
            events.append(ev.ProtocolViolation(RemoteProtocolError(
                f"{note.method} needs the peer's {name!r} capability, which it did not "
                "declare", catalogue_id=catalogue_id), False))
        events.append(ev.NotificationReceived(note.method, params))
        return events

    def _refused_notification(self, method: str, params: Dict[str, Any]) -> Optional[ev.Event]:
        """The event for a known notification the schema refuses, which is therefore not
        processed (:func:`notification_problem`; D-92, D-98), or None. A notification cannot
        be refused with a code (BP-13), so the receiver's one choice is not to act on it; it
        is reported (BP-01, LG-03). D-24's leniency (deliver, and report) stays for valid
        notifications sent out of context: a capability not declared, the wrong direction, a
        revision without the method (D-35)."""
        problem = notification_problem(method, params, self.protocol_version)
        if problem is None:
            return None
        message, catalogue_id = problem
        if method == spec.CANCELLED:
            # CN-10: a malformed cancel is ignored silently, whatever is malformed: a _meta
            # that is not an object here (D-102), a requestId that is missing or no id in
            # _receive_cancel (D-98). Not processed, and not reported either.
            return ev.MessageDropped(f"malformed cancel ignored: {message}")
        return ev.ProtocolViolation(RemoteProtocolError(message, catalogue_id=catalogue_id),
                                    False)

    def _receive_cancel(self, params: Dict[str, Any]) -> List[ev.Event]:
        request_id = params.get("requestId")
        reason = params.get("reason") if isinstance(params.get("reason"), str) else None
        if not is_request_id(request_id) or request_id not in self._in_flight:
            # CN-06, CN-10: unknown, finished or malformed cancels are ignored silently.
            return [ev.MessageDropped(f"cancel for unknown or finished request {request_id!r}")]
        del self._in_flight[request_id]
        self._cancelled_by_peer.add(request_id)    # CN-05: we will send no response
        return [ev.CancelReceived(request_id, reason)]

    def _receive_progress(self, params: Dict[str, Any]) -> List[ev.Event]:
        token = params.get("progressToken")
        progress = params.get("progress")
        for request_id, outbound in self._pending.items():
            if (outbound.progress_token is not None and outbound.progress_token == token
                    and type(outbound.progress_token) is type(token)):
                break
        else:
            # PR-11: track active tokens; progress for an unknown or finished one is dropped.
            return [ev.MessageDropped(f"progress for unknown or finished token {token!r}")]
        total = params.get("total")
        message = params.get("message")
        if not _progress_numbers(progress, total):
            return [ev.ProtocolViolation(RemoteProtocolError(
                "progress notification whose progress or total is not a number",
                catalogue_id="BP-01"), False)]
        assert progress is not None         # _progress_numbers: it is a finite number
        if outbound.last_progress is not None and progress <= outbound.last_progress:
            return [ev.ProtocolViolation(RemoteProtocolError(
                f"progress went from {outbound.last_progress!r} to {progress!r}; it must "
                "increase", catalogue_id="PR-05"), False)]
        outbound.last_progress = progress
        return [ev.ProgressReceived(request_id, token, progress, total,
                                    message if isinstance(message, str) else None)]

    # --- Responses from the peer --------------------------------------------------------------

    def _receive_response(self, message: Message) -> List[ev.Event]:
        assert isinstance(message, (Response, ErrorResponse))
        request_id = message.id
        if isinstance(message, ErrorResponse) and request_id is None:
            # The peer could not read something we sent (a -32700 or -32600 with a null id).
            return [ev.ProtocolViolation(RemoteProtocolError(
                f"peer reported an error for an unreadable message: [{message.code}] "
                f"{message.message}", catalogue_id="BP-12"), False)]
        assert request_id is not None       # only an error response's id can be null (parse)
        if request_id in self._abandoned:
            del self._abandoned[request_id]
            return [ev.MessageDropped(f"late response for cancelled request {request_id!r}")]
        if request_id in self._pending:
            input = Input.RESPONSE
            if request_id == self._initialize_id:
                input = (Input.INITIALIZE_ERROR if isinstance(message, ErrorResponse)
                         else Input.INITIALIZE_RESULT)
            if not self.lifecycle.permits(self.peer_role, input):
                # The answer crossed our own close (LC-19, CN-08: races are expected). The
                # request stays pending, so EndOfStream still reports it (nothing lost).
                return [ev.MessageDropped(f"response for request {request_id!r} arrived "
                                          f"while the session is {self.state.value}")]
        outbound = self._pending.pop(request_id, None)
        if outbound is None:
            return [ev.ProtocolViolation(RemoteProtocolError(
                f"response for unknown request id {request_id!r}", catalogue_id="BP-07"), False)]
        if request_id == self._initialize_id:
            return self._receive_initialize_response(request_id, message)
        self.lifecycle.process(self.peer_role, Input.RESPONSE)
        if isinstance(message, ErrorResponse):
            error = PeerError(message.code, message.message, message.data)
            return [ev.RequestFailed(request_id, outbound.method, error)]
        return [ev.ResponseReceived(request_id, outbound.method, message.result)]

    def _receive_initialize_response(self, request_id: RequestId,
                                     message: Message) -> List[ev.Event]:
        """Client: check the server's answer to initialize, then confirm with initialized."""
        if isinstance(message, ErrorResponse):
            self.lifecycle.process(Role.SERVER, Input.INITIALIZE_ERROR)
            error = PeerError(message.code, message.message, message.data)
            return [ev.RequestFailed(request_id, spec.INITIALIZE, error)]
        assert isinstance(message, Response)
        result = message.result
        version = result.get("protocolVersion")
        if not (isinstance(version, str) and isinstance(result.get("capabilities"), dict)
                and isinstance(result.get("serverInfo"), dict)):
            bad = RemoteProtocolError("the initialize result lacks protocolVersion, "
                                      "capabilities or serverInfo", catalogue_id="LC-04")
            self.lifecycle.process(Role.SERVER, Input.FATAL_ERROR)
            return [ev.RequestFailed(request_id, spec.INITIALIZE, bad)]
        self.lifecycle.process(Role.SERVER, Input.INITIALIZE_RESULT)
        if version not in self.supported_versions:
            # LC-13 / A2: a version we cannot speak; disconnect, without sending initialized.
            self.lifecycle.process(self.role, Input.CLOSE)
            return [ev.RequestFailed(request_id, spec.INITIALIZE,
                                     UnsupportedProtocolVersion(version, self.supported_versions))]
        instructions = result.get("instructions")
        self.negotiated = _Negotiated(version, result["serverInfo"], result["capabilities"],
                                      instructions if isinstance(instructions, str) else None)
        # LC-05: after a successful initialize response, send notifications/initialized. It is
        # queued *before* the response event is returned, so the shell writes it before the
        # caller can send anything else.
        self.lifecycle.process(self.role, Input.INITIALIZED_NOTIFICATION)
        self._queue(Notification(spec.INITIALIZED))
        n = self.negotiated
        return [ev.ResponseReceived(request_id, spec.INITIALIZE, result),
                ev.Initialized(version, n.peer_info, n.peer_capabilities, n.instructions)]

    # --- Bad input and the end of the stream --------------------------------------------------

    def _reject(self, exc: InvalidMessage, catalogue_id: str, value: Any = None) -> List[ev.Event]:
        """A message that is not valid JSON-RPC: answer it if it was a request."""
        error = RemoteProtocolError(exc.message, code=exc.code, catalogue_id=catalogue_id)
        events: List[ev.Event] = []
        # No "method" but the id of a request of ours: a broken answer to it, even with neither
        # "result" nor "error" ({"jsonrpc":"2.0","id":5}); it fails that request rather than
        # being answered as an invalid request, which would leave the request hanging (SC-18).
        answers_ours = (exc.id is not None and exc.id in self._pending
                        and isinstance(value, dict) and "method" not in value)
        answered = not (exc.is_response or exc.is_notification or answers_ours)
        if answered:
            self._queue(ErrorResponse(exc.id, exc.code, exc.message))
        elif (exc.is_response or answers_ours) and exc.id is not None and exc.id in self._pending:
            # A malformed response to one of our requests fails that request (SC-18).
            outbound = self._pending.pop(exc.id)
            if exc.id == self._initialize_id:
                # D-20: like an initialize result without its required fields (LC-04).
                self.lifecycle.process(self.peer_role, Input.FATAL_ERROR)
            events.append(ev.RequestFailed(exc.id, outbound.method, error))
        events.insert(0, ev.ProtocolViolation(error, answered))
        return events

    def _on_line_too_long(self, limit: int) -> List[ev.Event]:
        error = MessageTooLarge(limit)
        if self.role is Role.SERVER:
            # The request's id is unreadable, so the error goes to id null (D-03, D-04). The
            # limit is ours, not the spec's (it sets none): the peer broke no rule, so this is
            # no ProtocolViolation, as a number we cannot carry is none (D-37; D-123).
            self._queue(ErrorResponse(None, ErrorCode.PARSE_ERROR, str(error)))
            return [ev.MessageDropped(f"{error} (D-03): discarded, answered -32700 with id null",
                                      unread=True)]
        # Client: the lost line was most likely a response, and we cannot tell which request
        # it answered, so no pending request could ever be resolved reliably: fail them all.
        self.lifecycle.process(self.peer_role, Input.FATAL_ERROR)
        return [ev.ConnectionFailed(error, self._drop_all_pending())]

    def _on_end_of_stream(self) -> List[ev.Event]:
        if self.state is not State.CLOSED:
            self.lifecycle.process(self.peer_role, Input.CLOSE)
        return [ev.EndOfStream(self._drop_all_pending())]

    def _drop_all_pending(self) -> Tuple[RequestId, ...]:
        unanswered = tuple(self._pending)
        self._pending.clear()
        return unanswered

    def _queue(self, message: Message) -> None:
        if (isinstance(message, (Response, ErrorResponse))
                and not self.lifecycle.permits(self.role, Input.RESPONSE)):
            return        # our end is closed (CLOSING as the client): nothing can be sent
        self._outbox += encode(to_obj(message))
