"""JSON-RPC message shapes (mcp_ref/jsonrpc.py): classification, ids, envelopes, to_obj.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/index#messages
JSON-RPC 2.0: https://www.jsonrpc.org/specification
"""

import pytest

from mcp_ref.errors import ErrorCode
from mcp_ref.jsonrpc import (ErrorResponse, InvalidMessage, Notification, Request, Response,
                             is_progress_token, is_request_id, parse, to_obj)


def _invalid(obj):
    with pytest.raises(InvalidMessage) as info:
        parse(obj)
    return info.value


# --- The four shapes ------------------------------------------------------------------------


@pytest.mark.spec("BP-01")
def test_the_four_shapes_are_classified():
    assert parse({"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {"a": 1}}) == \
        Request(7, "tools/list", {"a": 1})
    assert parse({"jsonrpc": "2.0", "method": "notifications/initialized"}) == \
        Notification("notifications/initialized", None)
    assert parse({"jsonrpc": "2.0", "id": "x", "result": {}}) == Response("x", {})
    assert parse({"jsonrpc": "2.0", "id": 3, "error": {"code": -32601, "message": "nope",
                                                       "data": {"m": "q"}}}) == \
        ErrorResponse(3, -32601, "nope", {"m": "q"})


@pytest.mark.spec("BP-01")
def test_a_request_without_params_keeps_none():
    message = parse({"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert isinstance(message, Request) and message.params is None


@pytest.mark.spec("BP-01")
@pytest.mark.parametrize("value", [None, 42, "s", [], [{"jsonrpc": "2.0", "method": "x"}],
                                   True, 1.5])
def test_a_message_must_be_an_object(value):
    error = _invalid(value)
    assert error.code == ErrorCode.INVALID_REQUEST
    assert error.id is None


@pytest.mark.spec("BP-01")
@pytest.mark.parametrize("version", ["1.0", 2.0, "2", None, "2.0 "])
def test_jsonrpc_member_must_be_exactly_2_0(version):
    error = _invalid({"jsonrpc": version, "id": 5, "method": "ping"})
    assert error.code == ErrorCode.INVALID_REQUEST
    assert error.id == 5 and not error.is_response     # a request: answerable, by its id
    missing = _invalid({"id": 5, "method": "ping"})
    assert missing.code == ErrorCode.INVALID_REQUEST
    as_response = _invalid({"jsonrpc": version, "id": 5, "result": {}})
    assert as_response.is_response                     # a response is never answered


@pytest.mark.spec("ER-01")
def test_an_object_with_neither_method_result_nor_error():
    error = _invalid({"jsonrpc": "2.0", "id": 1})
    assert error.code == ErrorCode.INVALID_REQUEST
    assert error.id == 1
    assert not error.is_response and not error.is_notification
    assert _invalid({"jsonrpc": "2.0"}).id is None


@pytest.mark.spec("ER-01", "BP-01")
@pytest.mark.parametrize("obj,request_id", [({}, None), ({"id": 1}, 1), ({"id": "a"}, "a"),
                                            ({"jsonrpc": "1.0", "id": 2}, 2)])
def test_without_jsonrpc_and_without_a_response_shape_is_an_invalid_request(obj, request_id):
    """Not a response, so it is answered (-32600), by its id when readable (SC-08)."""
    error = _invalid(obj)
    assert error.code == ErrorCode.INVALID_REQUEST and error.id == request_id
    assert not error.is_response and not error.is_notification


@pytest.mark.spec("BP-13", "BP-01")
@pytest.mark.parametrize("obj", [{"method": "notifications/initialized"},
                                 {"jsonrpc": "1.0", "method": "notifications/x"},
                                 {"jsonrpc": "2.0", "method": 1, "params": "bar"},
                                 {"jsonrpc": "2.0", "method": "notifications/x", "params": "bar"}])
def test_a_broken_notification_is_never_answered_whatever_is_wrong_with_it(obj):
    """Wire review 2026-12-06: a method without an id was answered -32600 when its jsonrpc
    member was wrong, but not when its method or params were. Shaped like a notification, it
    is never answered (BP-13), whichever check fails first (D-04)."""
    error = _invalid(obj)
    assert error.is_notification and not error.is_response


def test_method_must_be_a_string():
    error = _invalid({"jsonrpc": "2.0", "id": 1, "method": 5})
    assert error.code == ErrorCode.INVALID_REQUEST and error.id == 1
    note = _invalid({"jsonrpc": "2.0", "method": None})
    assert note.is_notification


# --- Ids ------------------------------------------------------------------------------------


@pytest.mark.spec("BP-03", "BP-07")
def test_string_and_integer_ids_are_distinct():
    as_string = parse({"jsonrpc": "2.0", "id": "1", "method": "ping"})
    as_int = parse({"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert as_string.id == "1" and type(as_string.id) is str
    assert as_int.id == 1 and type(as_int.id) is int
    assert as_string != as_int
    assert to_obj(as_string)["id"] == "1" and to_obj(as_int)["id"] == 1
    # Response ids keep their type too.
    assert parse({"jsonrpc": "2.0", "id": "1", "result": {}}).id == "1"
    assert type(parse({"jsonrpc": "2.0", "id": 1, "result": {}}).id) is int


@pytest.mark.spec("BP-03")
@pytest.mark.parametrize("request_id", ["", "abc", "漢", 0, -1, 2 ** 53 + 1, 2 ** 70])
def test_valid_request_ids(request_id):
    message = parse({"jsonrpc": "2.0", "id": request_id, "method": "ping"})
    assert message.id == request_id and type(message.id) is type(request_id)


@pytest.mark.spec("BP-03", "BP-04")
@pytest.mark.parametrize("request_id", [True, False, None, 1.5, 1.0, [], {}, [1], {"a": 1}])
def test_invalid_request_ids_are_rejected_with_32600(request_id):
    error = _invalid({"jsonrpc": "2.0", "id": request_id, "method": "ping"})
    assert error.code == ErrorCode.INVALID_REQUEST == -32600
    assert error.id is None                # unreadable: answered with id null (D-04)
    assert not error.is_response and not error.is_notification


@pytest.mark.spec("BP-03", "BP-04", "BP-12", "ER-01")
@pytest.mark.parametrize("request_id", [True, None, 1.5, {"a": 1}])
def test_an_unreadable_id_makes_the_request_invalid_whatever_its_params(request_id):
    """D-79: with array params, a request whose id is unreadable was answered -32602 with id
    null. -32602 presumes a valid request whose params are wrong; one without a readable id
    is no valid request (ER-01: -32600), and D-04's id-null exception covers -32700 and
    -32600 only. Found by the random-session property test in tests/test_schema.py."""
    error = _invalid({"jsonrpc": "2.0", "id": request_id, "method": "ping", "params": [1]})
    assert error.code == ErrorCode.INVALID_REQUEST == -32600
    assert error.id is None and not error.is_notification


@pytest.mark.spec("BP-03", "BP-04")
def test_is_request_id_has_exact_types():
    assert is_request_id("x") and is_request_id(0) and is_request_id(-5)
    for bad in (True, False, None, 1.0, [], {}, b"x"):
        assert not is_request_id(bad)
    assert is_progress_token is is_request_id           # PR-02: the same types


# --- Params ---------------------------------------------------------------------------------


@pytest.mark.spec("ER-01")
def test_params_array_is_invalid_params():
    error = _invalid({"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": [1, 2]})
    assert error.code == ErrorCode.INVALID_PARAMS == -32602
    assert error.id == 9


@pytest.mark.spec("ER-01")
@pytest.mark.parametrize("params", ["string", 5, True, None])
def test_params_scalar_is_invalid_request(params):
    error = _invalid({"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": params})
    assert error.code == ErrorCode.INVALID_REQUEST == -32600
    assert error.id == 9


def test_notification_params_errors_are_flagged_as_notification():
    error = _invalid({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": [1]})
    assert error.is_notification                        # BP-13: never to be answered


# --- Responses ------------------------------------------------------------------------------


@pytest.mark.spec("BP-08")
def test_both_result_and_error_is_invalid():
    error = _invalid({"jsonrpc": "2.0", "id": 1, "result": {},
                      "error": {"code": -32603, "message": "x"}})
    assert error.is_response and error.id == 1


@pytest.mark.spec("BP-09")
@pytest.mark.parametrize("result", [[], "ok", 1, None, True])
def test_result_must_be_an_object(result):
    error = _invalid({"jsonrpc": "2.0", "id": 1, "result": result})
    assert error.is_response and error.id == 1


@pytest.mark.spec("BP-03", "BP-04")
@pytest.mark.parametrize("bad_id", [None, True, 1.5, [], {}])
def test_result_response_needs_a_real_id(bad_id):
    error = _invalid({"jsonrpc": "2.0", "id": bad_id, "result": {}})
    assert error.is_response and error.id is None
    assert error.is_response is True
    _invalid({"jsonrpc": "2.0", "result": {}})            # no id at all


@pytest.mark.spec("BP-10", "BP-11")
@pytest.mark.parametrize("error", [
    {"message": "no code"},
    {"code": "-32600", "message": "string code"},
    {"code": -32600.0, "message": "float code"},
    {"code": True, "message": "bool code"},
    {"code": False, "message": "bool code"},
    {"code": None, "message": "null code"},
    {"code": -32600},
    {"code": -32600, "message": 5},
    "not an object",
    None,
    [],
])
def test_error_must_have_integer_code_and_string_message(error):
    bad = _invalid({"jsonrpc": "2.0", "id": 1, "error": error})
    assert bad.is_response and bad.id == 1


@pytest.mark.spec("BP-12")
def test_error_response_id_may_be_null_or_absent():
    null = parse({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "p"}})
    absent = parse({"jsonrpc": "2.0", "error": {"code": -32700, "message": "p"}})
    assert null == absent == ErrorResponse(None, -32700, "p")
    # ... but a present id must be a real one.
    bad = _invalid({"jsonrpc": "2.0", "id": True, "error": {"code": -32700, "message": "p"}})
    assert bad.is_response


@pytest.mark.spec("BP-15")
@pytest.mark.parametrize("data", ["text", {"k": [1]}, [1, 2], 0, False])
def test_error_data_of_any_type_is_kept(data):
    message = parse({"jsonrpc": "2.0", "id": 1, "error": {"code": 1, "message": "m",
                                                          "data": data}})
    assert message.data == data


def test_error_code_outside_the_standard_range_is_accepted():
    assert parse({"jsonrpc": "2.0", "id": 1, "error": {"code": 42, "message": "m"}}).code == 42


# --- to_obj ---------------------------------------------------------------------------------


ROUND_TRIP = [
    Request(1, "ping"),
    Request("r-1", "tools/call", {"name": "x", "arguments": {"a": [1, {"b": None}]}}),
    Notification("notifications/initialized"),
    Notification("notifications/progress", {"progressToken": 0, "progress": 0.5}),
    Response(0, {}),
    Response("z", {"tools": []}),
    ErrorResponse(5, -32601, "Method not found"),
    ErrorResponse("e", -32602, "bad", {"why": "x"}),
    ErrorResponse(None, -32700, "Parse error"),
]


@pytest.mark.spec("BP-01", "BP-07")
@pytest.mark.parametrize("message", ROUND_TRIP, ids=repr)
def test_to_obj_round_trips(message):
    obj = to_obj(message)
    assert obj["jsonrpc"] == "2.0"
    assert parse(obj) == message


@pytest.mark.spec("BP-14")
def test_a_notification_never_has_an_id():
    for note in (Notification("x"), Notification("x", {}), Notification("x", {"id": 1})):
        obj = to_obj(note)
        assert "id" not in obj
        assert set(obj) <= {"jsonrpc", "method", "params"}


@pytest.mark.spec("BP-08", "BP-09", "BP-10")
def test_responses_have_exactly_one_of_result_and_error():
    ok = to_obj(Response(1, {}))
    assert ok == {"jsonrpc": "2.0", "id": 1, "result": {}}
    err = to_obj(ErrorResponse(1, -32603, "boom"))
    assert err == {"jsonrpc": "2.0", "id": 1, "error": {"code": -32603, "message": "boom"}}
    assert "data" not in err["error"]


@pytest.mark.spec("BP-12")
def test_an_unreadable_id_is_written_as_null():
    assert to_obj(ErrorResponse(None, -32700, "p"))["id"] is None      # D-04


def test_params_none_are_omitted_and_empty_params_kept():
    assert "params" not in to_obj(Request(1, "ping"))
    assert to_obj(Request(1, "ping", {}))["params"] == {}
