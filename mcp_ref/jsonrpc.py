"""JSON-RPC 2.0 messages as MCP uses them: four shapes, classified exactly.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/index#messages
JSON-RPC 2.0: https://www.jsonrpc.org/specification

Every line on an MCP stdio connection is one JSON-RPC message (BP-01, TR-02), and a message
is one of four shapes, told apart by which members it has:

=================  =====================================  =========================
shape              members                                class here
=================  =====================================  =========================
request            ``jsonrpc``, ``id``, ``method``        :class:`Request`
notification       ``jsonrpc``, ``method`` (no ``id``)    :class:`Notification`
result response    ``jsonrpc``, ``id``, ``result``        :class:`Response`
error response     ``jsonrpc``, ``id``, ``error``         :class:`ErrorResponse`
=================  =====================================  =========================

:func:`parse` turns a decoded JSON value into one of these, or raises :class:`InvalidMessage`
carrying the JSON-RPC error code to answer with and, when it could be read, the request id.
:func:`to_obj` goes the other way. Nothing here knows about the lifecycle or about I/O.
"""

from __future__ import annotations

from ._record import Record
from .errors import ErrorCode

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    from typing import Any, Dict, Optional, Union

    #: A request id is a string or an integer, never null (BP-03, BP-04), and never a boolean:
    #: in Python ``True`` is an ``int``, so a naive isinstance check would accept it.
    RequestId = Union[str, int]


def is_request_id(value: Any) -> bool:
    """True for the exact JSON types an MCP request id may have (BP-03/BP-04)."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


#: A progress token has the same types as an id (PR-02).
is_progress_token = is_request_id


class Request(Record):
    """A request is answered by one response (BP-01: JSON-RPC 2.0 section 5 answers every
    request; none once it is cancelled, CN-05), which carries the same ``id`` (BP-07)."""

    __slots__ = ("id", "method", "params")

    def __init__(self, id: RequestId, method: str,
                 params: Optional[Dict[str, Any]] = None) -> None:
        self.id = id
        self.method = method
        self.params = params


class Notification(Record):
    """A notification has no ``id`` and is never answered (BP-13, BP-14)."""

    __slots__ = ("method", "params")

    def __init__(self, method: str, params: Optional[Dict[str, Any]] = None) -> None:
        self.method = method
        self.params = params


class Response(Record):
    """A successful response. ``result`` is always an object; ``{}`` is fine (BP-09, in
    2025-11-25's words; every older revision's schema types it as the object ``Result``)."""

    __slots__ = ("id", "result")

    def __init__(self, id: RequestId, result: Dict[str, Any]) -> None:
        self.id = id
        self.result = result


class ErrorResponse(Record):
    """An error response: ``code`` is an integer, ``message`` a string (BP-10, BP-11).

    ``id`` is None only when the id of the offending message could not be read (BP-12); it
    is then written as ``"id": null`` (decision D-04).
    """

    __slots__ = ("id", "code", "message", "data")

    def __init__(self, id: Optional[RequestId], code: int, message: str,
                 data: Any = None) -> None:
        self.id = id
        self.code = code
        self.message = message
        self.data = data


if TYPE_CHECKING:
    Message = Union[Request, Notification, Response, ErrorResponse]


class InvalidMessage(Exception):
    """A decoded JSON value is not a valid JSON-RPC message.

    ``code`` is the error code to answer with (-32600, or -32602 for bad ``params``);
    ``id`` is the request id when it could be read, so the error can be addressed to it;
    ``is_response`` says the broken message was a response, which is never answered.
    """

    def __init__(self, message: str, *, code: int = ErrorCode.INVALID_REQUEST,
                 id: Optional[RequestId] = None, is_response: bool = False,
                 is_notification: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.code = int(code)
        self.id = id
        self.is_response = is_response
        self.is_notification = is_notification


def parse(obj: Any) -> Message:
    """Classify one decoded JSON value as a JSON-RPC message, or raise :class:`InvalidMessage`.

    Checks, in order: it is an object; ``"jsonrpc": "2.0"``; then the shape by its members.
    Ids must be exact (``"1"`` and ``1`` are different ids, ``true`` is not an id).
    """
    if not isinstance(obj, dict):
        raise InvalidMessage("a JSON-RPC message must be a JSON object")
    raw_id = obj.get("id")
    readable_id = raw_id if is_request_id(raw_id) else None

    if obj.get("jsonrpc") != "2.0":
        # BP-01: every message carries "jsonrpc": "2.0". Something shaped like a response or a
        # notification (a method, no id) goes unanswered, as when its method or params are
        # what is wrong (BP-13: a notification is never answered, D-04); anything else (even
        # "{}") is an invalid request: -32600 (ER-01).
        raise InvalidMessage('missing or wrong "jsonrpc" member; it must be "2.0"',
                             id=readable_id, is_response="method" not in obj
                             and ("result" in obj or "error" in obj),
                             is_notification="method" in obj and "id" not in obj)

    if "method" in obj:
        return _parse_request_or_notification(obj, readable_id)
    if "result" in obj or "error" in obj:
        return _parse_response(obj, readable_id)
    raise InvalidMessage("not a request, notification or response "
                         '(no "method", "result" or "error" member)', id=readable_id)


def _parse_request_or_notification(obj: Dict[str, Any], readable_id: Optional[RequestId]) -> Message:
    method = obj["method"]
    is_notification = "id" not in obj
    if not isinstance(method, str):
        raise InvalidMessage('"method" must be a string', id=readable_id,
                             is_notification=is_notification)
    if not is_notification and readable_id is None:
        # BP-03/BP-04: a request id is a string or an integer, and never null. Checked before
        # the params: without a readable id this is no valid request, so -32600 (ER-01), and
        # never -32602, which presumes one (D-79; D-04's id-null answer is -32700 or -32600).
        raise InvalidMessage('a request "id" must be a string or an integer (not null, '
                             'a boolean, a float or a structure)')
    params = obj.get("params")
    if "params" in obj and not isinstance(params, dict):
        # One rule (ER-01, D-85): JSON-RPC 2.0 section 4 says params, when present, MUST be a
        # structured value, so a string, number, boolean or null makes no valid Request object
        # (-32600, as JSON-RPC's own example "params": "bar" is answered). An array is
        # structured (by-position params): a valid JSON-RPC request whose params no MCP method
        # takes, as MCP defines every params as an object (-32602, once its id is readable).
        code = ErrorCode.INVALID_PARAMS if isinstance(params, list) else ErrorCode.INVALID_REQUEST
        raise InvalidMessage('"params" must be a JSON object', code=code, id=readable_id,
                             is_notification=is_notification)
    if is_notification:
        return Notification(method, params)
    assert readable_id is not None      # a request without a readable id was refused above
    return Request(readable_id, method, params)


def _parse_response(obj: Dict[str, Any], readable_id: Optional[RequestId]) -> Message:
    if "result" in obj and "error" in obj:
        # BP-08 (up to 2025-06-18; in 2025-11-25 JSON-RPC 2.0's own rule, BP-01): exactly one
        # of result or error.
        raise InvalidMessage('a response has both "result" and "error"', id=readable_id,
                             is_response=True)
    if "result" in obj:
        if readable_id is None:
            raise InvalidMessage('a result response needs a string or integer "id"',
                                 is_response=True)
        if not isinstance(obj["result"], dict):
            raise InvalidMessage('"result" must be a JSON object', id=readable_id, is_response=True)
        return Response(readable_id, obj["result"])
    error = obj["error"]
    if obj.get("id") is not None and readable_id is None:
        raise InvalidMessage('an error response "id" must be a string, an integer or null',
                             is_response=True)
    code = error.get("code") if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    if not (isinstance(code, int) and not isinstance(code, bool) and isinstance(message, str)):
        # BP-10/BP-11: error is an object with an integer code and a string message.
        raise InvalidMessage('"error" must be an object with an integer "code" and a string '
                             '"message"', id=readable_id, is_response=True)
    return ErrorResponse(readable_id, code, message, error.get("data"))


def to_obj(message: Message) -> Dict[str, Any]:
    """The JSON object for a message, ready for :func:`mcp_ref.framing.encode`."""
    if isinstance(message, Request):
        obj: Dict[str, Any] = {"jsonrpc": "2.0", "id": message.id, "method": message.method}
        if message.params is not None:
            obj["params"] = message.params
        return obj
    if isinstance(message, Notification):
        obj = {"jsonrpc": "2.0", "method": message.method}
        if message.params is not None:
            obj["params"] = message.params
        return obj
    if isinstance(message, Response):
        return {"jsonrpc": "2.0", "id": message.id, "result": message.result}
    error: Dict[str, Any] = {"code": message.code, "message": message.message}
    if message.data is not None:
        error["data"] = message.data
    return {"jsonrpc": "2.0", "id": message.id, "error": error}
