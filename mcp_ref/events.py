"""What :meth:`mcp_ref.connection.Connection.receive_data` hands upward.

Each event is a frozen dataclass. The connection has already applied the protocol rules
(lifecycle, ids, capabilities, cancellation, progress) before an event is produced, so the
code that receives an event only has to act on it. Pings and ``logging/setLevel`` never appear
here: the connection answers them itself.
"""

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple, Union

from .errors import McpRefError, ProtocolError
from .jsonrpc import RequestId

ProgressToken = Union[str, int]


@dataclass(frozen=True)
class RequestReceived:
    """The peer sent a request that we must answer with ``send_response``/``send_error``."""

    id: RequestId
    method: str
    params: Dict[str, Any]
    #: The ``params._meta.progressToken`` the peer asked progress on, if any (PR-01).
    progress_token: Optional[ProgressToken] = None


@dataclass(frozen=True)
class NotificationReceived:
    """A notification for the application (list_changed, log messages, ...)."""

    method: str
    params: Dict[str, Any]


@dataclass(frozen=True)
class ResponseReceived:
    """A successful response to one of our requests."""

    id: RequestId
    method: str
    result: Dict[str, Any]


@dataclass(frozen=True)
class RequestFailed:
    """One of our requests ended without a result.

    ``error`` is a :class:`~mcp_ref.errors.PeerError` when the peer sent an error response,
    or a local error (an unsupported protocol version, a malformed response) otherwise.
    """

    id: RequestId
    method: str
    error: McpRefError


@dataclass(frozen=True)
class CancelReceived:
    """The peer cancelled a request of theirs that we are still handling (CN-05).

    The connection will send no response for it; the handler should stop.
    """

    request_id: RequestId
    reason: Optional[str]


@dataclass(frozen=True)
class ProgressReceived:
    """Progress on one of our requests that asked for it (PR-01, PR-04)."""

    request_id: RequestId
    progress_token: ProgressToken
    progress: float
    total: Optional[float]
    message: Optional[str]


@dataclass(frozen=True)
class Initialized:
    """The handshake is complete: the session is in the operation phase."""

    protocol_version: str
    peer_info: Dict[str, Any]
    peer_capabilities: Dict[str, Any]
    instructions: Optional[str] = None


@dataclass(frozen=True)
class EndOfStream:
    """The peer closed its end of the transport (end of stream on our input).

    ``unanswered`` lists our requests that can now never get a response; the connection has
    forgotten them, and the caller must fail them (nothing lost, reliability invariant I1).
    """

    unanswered: Tuple[RequestId, ...] = ()


@dataclass(frozen=True)
class ConnectionFailed:
    """An unrecoverable error: the session is FAILED, ``unanswered`` requests must fail."""

    error: McpRefError
    unanswered: Tuple[RequestId, ...] = ()


@dataclass(frozen=True)
class ProtocolViolation:
    """The peer broke a rule. Requests were answered with an error; nothing else was."""

    error: ProtocolError
    answered: bool


@dataclass(frozen=True)
class MessageDropped:
    """A message that is harmless to ignore, and was ignored.

    Typical causes are races the spec allows: a response arriving after we cancelled the
    request (CN-07), progress for a request that just completed (PR-13), a cancel for a
    request we already answered (CN-06).
    """

    reason: str


Event = Union[RequestReceived, NotificationReceived, ResponseReceived, RequestFailed,
              CancelReceived, ProgressReceived, Initialized, EndOfStream, ConnectionFailed,
              ProtocolViolation, MessageDropped]
