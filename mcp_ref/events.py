"""What :meth:`mcp_ref.connection.Connection.receive_data` hands upward.

Each event is a small read-only :class:`~mcp_ref._record.Record`. The connection has already
applied the protocol rules (lifecycle, ids, capabilities, cancellation, progress) before an
event is produced, so the code that receives an event only has to act on it. Pings and ``logging/setLevel`` never appear
here: the connection answers them itself.
"""

from __future__ import annotations

from ._record import Record
from .errors import McpRefError, ProtocolError

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    from typing import Any, Dict, Optional, Tuple, Union

    from .jsonrpc import RequestId

    ProgressToken = Union[str, int]


class RequestReceived(Record):
    """The peer sent a request that we must answer with ``send_response``/``send_error``."""

    __slots__ = ("id", "method", "params", "progress_token")

    def __init__(self, id: RequestId, method: str, params: Dict[str, Any],
                 progress_token: Optional[ProgressToken] = None) -> None:
        self.id = id
        self.method = method
        self.params = params
        # The ``params._meta.progressToken`` the peer asked progress on, if any (PR-01).
        self.progress_token = progress_token


class NotificationReceived(Record):
    """A notification for the application (list_changed, log messages, ...)."""

    __slots__ = ("method", "params")

    def __init__(self, method: str, params: Dict[str, Any]) -> None:
        self.method = method
        self.params = params


class ResponseReceived(Record):
    """A successful response to one of our requests."""

    __slots__ = ("id", "method", "result")

    def __init__(self, id: RequestId, method: str, result: Dict[str, Any]) -> None:
        self.id = id
        self.method = method
        self.result = result


class RequestFailed(Record):
    """One of our requests ended without a result.

    ``error`` is a :class:`~mcp_ref.errors.PeerError` when the peer sent an error response,
    or a local error (an unsupported protocol version, a malformed response) otherwise.
    """

    __slots__ = ("id", "method", "error")

    def __init__(self, id: RequestId, method: str, error: McpRefError) -> None:
        self.id = id
        self.method = method
        self.error = error


class CancelReceived(Record):
    """The peer cancelled a request of theirs that we are still handling (CN-05).

    The connection will send no response for it; the handler should stop.
    """

    __slots__ = ("request_id", "reason")

    def __init__(self, request_id: RequestId, reason: Optional[str]) -> None:
        self.request_id = request_id
        self.reason = reason


class ProgressReceived(Record):
    """Progress on one of our requests that asked for it (PR-01, PR-04)."""

    __slots__ = ("request_id", "progress_token", "progress", "total", "message")

    def __init__(self, request_id: RequestId, progress_token: ProgressToken, progress: float,
                 total: Optional[float], message: Optional[str]) -> None:
        self.request_id = request_id
        self.progress_token = progress_token
        self.progress = progress
        self.total = total
        self.message = message


class Initialized(Record):
    """The handshake is complete: the session is in the operation phase."""

    __slots__ = ("protocol_version", "peer_info", "peer_capabilities", "instructions")

    def __init__(self, protocol_version: str, peer_info: Dict[str, Any],
                 peer_capabilities: Dict[str, Any], instructions: Optional[str] = None) -> None:
        self.protocol_version = protocol_version
        self.peer_info = peer_info
        self.peer_capabilities = peer_capabilities
        self.instructions = instructions


class EndOfStream(Record):
    """The peer closed its end of the transport (end of stream on our input).

    ``unanswered`` lists our requests that can now never get a response; the connection has
    forgotten them, and the caller must fail them (nothing lost, reliability invariant I1).
    """

    __slots__ = ("unanswered",)

    def __init__(self, unanswered: Tuple[RequestId, ...] = ()) -> None:
        self.unanswered = unanswered


class ConnectionFailed(Record):
    """An unrecoverable error: the session is FAILED, ``unanswered`` requests must fail."""

    __slots__ = ("error", "unanswered")

    def __init__(self, error: McpRefError, unanswered: Tuple[RequestId, ...] = ()) -> None:
        self.error = error
        self.unanswered = unanswered


class ProtocolViolation(Record):
    """The peer broke a rule. Requests were answered with an error; nothing else was."""

    __slots__ = ("error", "answered")

    def __init__(self, error: ProtocolError, answered: bool) -> None:
        self.error = error
        self.answered = answered


class MessageDropped(Record):
    """A message that is harmless to ignore, and was ignored.

    Typical causes are races the spec allows: a response arriving after we cancelled the
    request (CN-07), progress for a request we cancelled or gave up on (CN-08; PR-11: only
    active tokens are tracked), a cancel for a request we already answered (CN-06). Also a
    message one of mcp_ref's own limits keeps it from reading, where the peer broke no rule:
    a number Python cannot carry (D-37), a server's line over its line limit (D-03), a line
    nesting deeper than the nesting limit (D-51, D-127), on either side; such a
    request is answered (the reason says how), by its id where it can be read.

    ``unread`` is true when the line itself could not be read (our line or nesting limit):
    whatever it carried is lost, perhaps the response to one of our requests, which will then
    wait for its timeout. The session logs such a drop as a warning, the others at debug
    (D-131).
    """

    __slots__ = ("reason", "unread")

    def __init__(self, reason: str, unread: bool = False) -> None:
        self.reason = reason
        self.unread = unread


if TYPE_CHECKING:
    Event = Union[RequestReceived, NotificationReceived, ResponseReceived, RequestFailed,
                  CancelReceived, ProgressReceived, Initialized, EndOfStream, ConnectionFailed,
                  ProtocolViolation, MessageDropped]
