"""Error codes and the exception types of mcp_ref.

Two families, kept apart on purpose (ER-10, 2026-07-28's guidance, followed in every revision:
a locally generated error must not be mistakable for one the peer sent):

* :class:`PeerError` is an *error response* the peer put on the wire: ``{"code", "message",
  "data"}``. Its code is whatever the peer chose.
* Everything else is raised *here*: a rule broken by us (:class:`LocalProtocolError`) or by the
  peer (:class:`RemoteProtocolError`), and the local outcomes of a request that got no
  response (:class:`RequestTimeout`, :class:`RequestCancelled`, :class:`ConnectionClosed`).
  None of them carries a made-up wire code.

The split between local and remote protocol errors follows h11 (``h11/_util.py``): the same rule
is checked for both directions, and which class is raised says who broke it.
"""

from __future__ import annotations

import enum
import reprlib

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    from typing import Any, Optional, Sequence


class ErrorCode(enum.IntEnum):
    """The JSON-RPC 2.0 error codes MCP uses (catalogue ER-01, section 1.3).

    JSON-RPC 2.0 section 5.1: https://www.jsonrpc.org/specification#error_object
    MCP: https://modelcontextprotocol.io/specification/2025-11-25/basic/index#error-responses
    """

    #: The line was not valid UTF-8 JSON. Answered with ``"id": null`` (decision D-04).
    PARSE_ERROR = -32700
    #: Valid JSON, but not a valid JSON-RPC message; also a request the lifecycle does not
    #: allow yet (decision D-05: "not initialized").
    INVALID_REQUEST = -32600
    #: Unknown method, or a method behind a capability that was not declared (2025-11-25's
    #: roots and completion pages; 2026-07-28's schema for every server capability, ER-11).
    METHOD_NOT_FOUND = -32601
    #: Bad params: an unknown tool (ER-02), a bad cursor (ER-12), a bad log level (ER-13).
    INVALID_PARAMS = -32602
    #: The receiver failed while handling a valid request.
    INTERNAL_ERROR = -32603
    #: 2024-11-05 .. 2025-11-25 only: ``resources/read`` of an unknown URI.
    RESOURCE_NOT_FOUND = -32002


#: BP-36: an error's message is one short sentence. What the peer sent (a method, tool or
#: prompt name, a cursor, a log level, an id) is quoted in it at most about this long.
QUOTE_LIMIT = 80

_REPR = reprlib.Repr()
_REPR.maxlist = _REPR.maxdict = 20
_REPR.maxstring = _REPR.maxother = QUOTE_LIMIT


def quoted(value: Any, *, as_repr: bool = False) -> str:
    """``value`` as a message quotes it, bounded (BP-36,
    https://modelcontextprotocol.io/specification/2025-11-25/schema#error-message): the peer
    chose it and could make it any length. A printable string is shown as it is, or, with
    ``as_repr`` or when it holds a newline or another control character, as its repr; past
    :data:`QUOTE_LIMIT` characters it is cut, with its length. Anything else is a repr
    bounded in length and depth."""
    if isinstance(value, str) and not as_repr and value.isprintable():
        if len(value) <= QUOTE_LIMIT:
            return value
        return f"{value[:QUOTE_LIMIT]}... ({len(value)} characters)"
    return _REPR.repr(value)


class McpRefError(Exception):
    """Base class of every exception mcp_ref raises."""


# --- Protocol errors: a rule was broken ------------------------------------------------------


class ProtocolError(McpRefError):
    """A protocol rule was broken. Never raised directly: see the two subclasses.

    ``code`` is the JSON-RPC error code that best describes the problem, for the case where
    the receiver answers it on the wire (a remote error in a request); ``catalogue_id`` names
    the rule, or is "" where the rule is mcp_ref's own and the message names its D- entry
    (sending in a FAILED session, D-20).
    """

    def __init__(self, message: str, *, code: int = ErrorCode.INVALID_REQUEST,
                 catalogue_id: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = int(code)
        self.catalogue_id = catalogue_id


class LocalProtocolError(ProtocolError):
    """*We* tried to do something the protocol forbids (a bug in the caller of mcp_ref)."""


class RemoteProtocolError(ProtocolError):
    """The *peer* did something the protocol forbids.

    ``result``: where the peer's answer itself broke the rule (a tool result that breaks its
    ``outputSchema``, TL-09), that answer, as sent; otherwise None.
    """

    result: Any = None


class NotJson(LocalProtocolError, ValueError):
    """A message we were asked to send holds a value JSON cannot carry: NaN or infinity,
    bytes, a set, an arbitrary object (BP-01: every message is a JSON object), or arrays and
    objects nested deeper than ``framing.MAX_NESTING``, which no mcp_ref reader accepts
    (D-51). Nothing was written and no request was registered. Also a ValueError, the type
    ``json.dumps`` raises for such values."""


class CapabilityNotNegotiated(LocalProtocolError):
    """We tried to use a feature the peer did not declare (LC-16)."""


class UnsupportedProtocolVersion(McpRefError):
    """The server answered ``initialize`` with a version this client cannot speak (LC-13, A2).

    The client disconnects: it sends no ``notifications/initialized``.
    """

    def __init__(self, offered: str, supported: Sequence[str]) -> None:
        super().__init__(
            f"server chose protocol version {offered!r}, which this client does not support "
            f"(supported: {', '.join(supported)})"
        )
        self.offered = offered
        self.supported = tuple(supported)


class MessageTooLarge(McpRefError):
    """A line on the wire exceeded the configured maximum size (decision D-03)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"a message exceeded the {limit}-byte line limit")
        self.limit = limit


# --- Error responses from the peer ------------------------------------------------------------


class PeerError(McpRefError):
    """The peer answered our request with a JSON-RPC error response."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"[{code}] {message}")
        self.code = code
        self.message = message
        self.data = data


# --- Local outcomes of a request that got no response ----------------------------------------


class RequestTimeout(McpRefError):
    """No response arrived in time (TO-01). A ``notifications/cancelled`` was sent for it
    (TO-02 from 2025-03-26; in 2024-11-05 CN-01 allows it), except for ``initialize``, which
    is never cancelled (CN-03), except when the session was already shutting down and nothing
    more could be sent, and except when the request itself could not be sent in time because
    the peer had stopped reading (D-38)."""

    def __init__(self, method: str, timeout: float, *, total: bool = False,
                 unsent: bool = False) -> None:
        kind = "maximum total time" if total else "timeout"
        if unsent:                            # D-38: the peer stopped reading; nothing was sent
            super().__init__(f"{method} could not be sent within its {kind} of {timeout:g} s: "
                             "the peer has stopped reading")
        else:
            super().__init__(f"{method} got no response within its {kind} of {timeout:g} s")
        self.method = method
        self.timeout = timeout


class RequestCancelled(McpRefError):
    """The caller cancelled the request; a ``notifications/cancelled`` was sent (CN-01). In a
    server handler, also what ``Context.request`` raises once the request that asked was
    cancelled (then the question is cancelled too, or never asked)."""

    def __init__(self, method: str, reason: Optional[str] = None) -> None:
        super().__init__(f"{method} was cancelled" + (f": {reason}" if reason else ""))
        self.method = method
        self.reason = reason


class ConnectionClosed(McpRefError):
    """The connection ended: the server exited, closed its stdout, or we closed it.

    Carries what is known about the server process at the time: its exit code, or the
    signal that ended it, and the last lines it wrote to stderr.
    """

    def __init__(self, reason: str, *, exit_code: Optional[int] = None,
                 signal: Optional[int] = None, stderr_tail: str = "") -> None:
        detail = reason
        if exit_code is not None:
            detail += f" (exit code {exit_code})"
        if signal is not None:
            detail += f" (killed by signal {signal})"
        if stderr_tail:
            detail += "; last stderr: " + stderr_tail.strip()[-500:]
        super().__init__(detail)
        self.reason = reason
        self.exit_code = exit_code
        self.signal = signal
        self.stderr_tail = stderr_tail


class SpawnError(McpRefError):
    """The server process could not be started (missing command, bad cwd, ...)."""

    def __init__(self, message: str, *, argv: Sequence[str] = (), cwd: Optional[str] = None) -> None:
        super().__init__(message)
        self.argv = list(argv)
        self.cwd = cwd
