"""One end of a session (mcp_ref/connection.py), driven through ConnectionPair (no I/O).

Sections follow the spec: handshake and version negotiation (basic/lifecycle), ordering before
the operation phase, capabilities, ids, ping, cancellation, progress, batches (2025-03-26 only),
bad input, line limits, end of stream, logging. Each test names its catalogue rows; scorecard
scenarios of research/reliability-bank.md (SC-xx) are named in docstrings.
"""

import sys

import pytest

from helpers import (CLIENT_CAPABILITIES, ConnectionPair, error_codes, frames_of, handshake,
                     line)
from mcp_ref import events as ev
from mcp_ref import spec
from mcp_ref.connection import Connection
from mcp_ref.errors import (CapabilityNotNegotiated, ErrorCode, LocalProtocolError,
                            MessageTooLarge, NotJson, PeerError, RemoteProtocolError,
                            UnsupportedProtocolVersion)
from mcp_ref.lifecycle import Role, State

C, S = Role.CLIENT, Role.SERVER


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


def only(events, kind):
    found = of(events, kind)
    assert len(found) == 1, events
    return found[0]


def init_request(request_id=1, version=spec.PROTOCOL_VERSION, **extra):
    params = {"protocolVersion": version, "capabilities": {},
              "clientInfo": {"name": "raw", "version": "0"}}
    params.update(extra)
    return {"jsonrpc": "2.0", "id": request_id, "method": "initialize", "params": params}


def raw_server(**kwargs):
    """A server connection and a function feeding it raw frames, returning (events, frames)."""
    kwargs.setdefault("capabilities", {"tools": {}, "logging": {}})
    server = Connection(S, **kwargs)

    def feed(*objs_or_bytes):
        data = b"".join(o if isinstance(o, bytes) else line(o) for o in objs_or_bytes)
        events = server.receive_data(data)
        return events, frames_of(server.data_to_send())
    return server, feed


def raw_session(version=spec.PROTOCOL_VERSION, **kwargs):
    """A raw-fed server in OPERATING, as if a client had done the handshake."""
    server, feed = raw_server(**kwargs)
    feed(init_request(version=version), {"jsonrpc": "2.0", "method": spec.INITIALIZED})
    assert server.state is State.OPERATING
    assert server.protocol_version == version
    return server, feed


# ==============================================================================================
# Handshake and version negotiation
# ==============================================================================================


@pytest.mark.spec("LC-01", "LC-02", "LC-03", "LC-04", "LC-05", "LC-08", "LC-09", "LC-10",
                  "LC-14", "LC-15")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_full_handshake_at_each_supported_version(version):
    pair = ConnectionPair(client_kwargs={"supported_versions": (version,)})
    _, data = pair.client.initialize()
    pair.to_server(data)
    ex = pair.pump()

    assert pair.client.protocol_version == pair.server.protocol_version == version
    assert pair.client.state is pair.server.state is State.OPERATING
    # The wire: initialize, then exactly one notifications/initialized and nothing else.
    assert [f.get("method") for f in pair.c2s] == ["initialize", spec.INITIALIZED]
    init, confirm = pair.c2s
    assert init["params"]["protocolVersion"] == version                  # LC-08, LC-09
    assert confirm == {"jsonrpc": "2.0", "method": "notifications/initialized"}   # LC-05, BP-14
    assert len(pair.s2c) == 1 and pair.s2c[0]["id"] == init["id"]
    assert pair.s2c[0]["result"]["protocolVersion"] == version            # LC-10
    # Events: the client learns the result and the server its confirmation.
    assert only(ex.client_events, ev.ResponseReceived).method == "initialize"
    client_init = only(ex.client_events, ev.Initialized)
    server_init = only(ex.server_events, ev.Initialized)
    assert client_init.protocol_version == server_init.protocol_version == version
    assert client_init.peer_info["name"] == "test-server"
    assert server_init.peer_info["name"] == "test-client"
    assert server_init.peer_capabilities == CLIENT_CAPABILITIES
    assert not of(ex.client_events + ex.server_events, ev.ProtocolViolation)


@pytest.mark.spec("LC-05")
def test_initialized_comes_right_after_the_initialize_response():
    """The notification is queued before the caller hears of the result (SC-13)."""
    pair = ConnectionPair()
    _, data = pair.client.initialize()
    events = pair.server.receive_data(data)
    assert events == []
    response = pair.server.data_to_send()
    client_events = pair.client.receive_data(response)
    assert [type(e) for e in client_events] == [ev.ResponseReceived, ev.Initialized]
    # The caller reacts to the event at once: its request goes *after* what is queued already.
    queued = pair.client.data_to_send()
    _, request = pair.client.send_request("tools/list")
    wire = frames_of(queued + request)
    assert [f.get("method") for f in wire] == [spec.INITIALIZED, "tools/list"]
    assert pair.client.data_to_send() == b""               # sent once only


@pytest.mark.spec("LC-08", "LC-09")
def test_client_offers_its_newest_version_by_default():
    pair = ConnectionPair()
    pair.handshake()
    assert pair.c2s[0]["params"]["protocolVersion"] == spec.SUPPORTED_VERSIONS[0] == "2025-11-25"
    assert pair.client.protocol_version == "2025-11-25"


@pytest.mark.spec("LC-11", "LC-12", "ER-04")
@pytest.mark.parametrize("offered", ["2099-01-01", "1900-01-01", "", "latest"])
def test_unknown_version_gets_a_counter_offer(offered):
    server, feed = raw_server()
    events, frames = feed(init_request(version=offered))
    assert events == []
    (response,) = frames
    assert "error" not in response                                     # a result, not -32602
    assert response["result"]["protocolVersion"] == "2025-11-25"       # our newest (LC-12)
    assert response["result"]["protocolVersion"] != offered
    assert server.state is State.AWAITING_INITIALIZED


@pytest.mark.spec("LC-14")
def test_client_accepts_an_older_counter_offer_it_supports():
    pair = ConnectionPair(server_kwargs={"supported_versions": ("2025-06-18",)})
    pair.handshake()
    assert pair.c2s[0]["params"]["protocolVersion"] == "2025-11-25"
    assert pair.client.protocol_version == pair.server.protocol_version == "2025-06-18"


@pytest.mark.spec("LC-13")
def test_client_that_cannot_speak_the_servers_version_disconnects():
    pair = ConnectionPair(client_kwargs={"supported_versions": ("2024-11-05",)},
                          server_kwargs={"supported_versions": ("2025-11-25",)})
    request_id, data = pair.client.initialize()
    pair.to_server(data)
    ex = pair.pump(check_states=False)
    failed = only(ex.client_events, ev.RequestFailed)
    assert failed.id == request_id and failed.method == "initialize"
    assert isinstance(failed.error, UnsupportedProtocolVersion)
    assert failed.error.offered == "2025-11-25"
    assert failed.error.supported == ("2024-11-05",)
    assert not of(ex.client_events, ev.Initialized)
    assert not of(ex.client_events, ev.ResponseReceived)
    assert [f["method"] for f in pair.c2s] == ["initialize"]          # no initialized
    assert pair.client.state is State.CLOSING
    assert pair.client.protocol_version is None
    with pytest.raises(LocalProtocolError):
        pair.client.send_request("ping")                              # it sends nothing more


@pytest.mark.spec("LC-13")
def test_client_rejects_an_unknown_version_from_a_raw_server():
    client = Connection(C)
    request_id, _ = client.initialize()
    events = client.receive_data(line({"jsonrpc": "2.0", "id": request_id, "result": {
        "protocolVersion": "1999-01-01", "capabilities": {},
        "serverInfo": {"name": "s", "version": "1"}}}))
    assert isinstance(only(events, ev.RequestFailed).error, UnsupportedProtocolVersion)
    assert client.data_to_send() == b""
    assert client.state is State.CLOSING


@pytest.mark.spec("LC-04", "LC-21")
def test_instructions_reach_the_client():
    pair = ConnectionPair(server_kwargs={"instructions": "Call echo first."})
    ex = pair.handshake()
    assert pair.s2c[0]["result"]["instructions"] == "Call echo first."
    assert only(ex.client_events, ev.Initialized).instructions == "Call echo first."


@pytest.mark.spec("LC-03", "LC-20")
@pytest.mark.parametrize("params", [
    {"capabilities": {}, "clientInfo": {"name": "x", "version": "1"}},
    {"protocolVersion": 20251125, "capabilities": {}, "clientInfo": {}},
    {"protocolVersion": "2025-11-25", "clientInfo": {"name": "x", "version": "1"}},
    {"protocolVersion": "2025-11-25", "capabilities": {}},
    None,
])
def test_malformed_initialize_params_get_32602_and_allow_a_retry(params):
    server, feed = raw_server()
    request = {"jsonrpc": "2.0", "id": 1, "method": "initialize"}
    if params is not None:
        request["params"] = params
    _, frames = feed(request)
    assert error_codes(frames) == [(1, ErrorCode.INVALID_PARAMS)]
    assert server.state is State.INITIALIZE_REFUSED
    _, frames = feed(init_request(request_id=2))
    assert frames[0]["result"]["protocolVersion"] == "2025-11-25"


@pytest.mark.spec("PG-02", "PG-03", "LC-02", "LC-20")
def test_after_a_refused_initialize_ping_is_answered_and_other_requests_are_not():
    """D-91 (differential.md row 4): a ping after an initialize answered -32602 was refused
    -32600 "initialize must be the first request", though initialize had been the first
    request. PG-02: the receiver of a ping MUST answer it; D-05 refuses it only before
    initialize has been sent (PG-03). Now it is answered ``{}``; any other request is still
    -32600 (LC-02), and a corrected initialize still succeeds (D-19)."""
    server, feed = raw_server()
    _, frames = feed(init_request(request_id=1, version=42))
    assert error_codes(frames) == [(1, ErrorCode.INVALID_PARAMS)]
    events, frames = feed({"jsonrpc": "2.0", "id": 2, "method": "ping"},
                          {"jsonrpc": "2.0", "id": 3, "method": "tools/list"})
    assert frames[0] == {"jsonrpc": "2.0", "id": 2, "result": {}}
    assert error_codes(frames[1:]) == [(3, ErrorCode.INVALID_REQUEST)]
    assert "initialize was refused" in frames[1]["error"]["message"]
    assert not [e for e in of(events, ev.RequestReceived) if e.method != "ping"]
    _, frames = feed(init_request(request_id=4))
    assert frames[0]["result"]["protocolVersion"] == "2025-11-25"


@pytest.mark.spec("LC-20")
def test_client_sees_an_initialize_error_and_may_retry():
    client = Connection(C)
    request_id, _ = client.initialize()
    events = client.receive_data(line({"jsonrpc": "2.0", "id": request_id, "error": {
        "code": -32602, "message": "Unsupported protocol version",
        "data": {"supported": ["2024-11-05"], "requested": "2025-11-25"}}}))
    failed = only(events, ev.RequestFailed)
    assert isinstance(failed.error, PeerError) and failed.error.code == -32602
    assert failed.error.data["supported"] == ["2024-11-05"]
    assert client.state is State.INITIALIZE_REFUSED
    assert client.data_to_send() == b""
    second_id, _ = client.initialize()
    assert second_id != request_id


@pytest.mark.spec("LC-04")
def test_a_result_without_its_required_fields_fails_the_session():
    client = Connection(C)
    request_id, _ = client.initialize()
    events = client.receive_data(line({"jsonrpc": "2.0", "id": request_id,
                                       "result": {"protocolVersion": "2025-11-25"}}))
    failed = only(events, ev.RequestFailed)
    assert isinstance(failed.error, RemoteProtocolError)
    assert failed.error.catalogue_id == "LC-04"
    assert client.state is State.FAILED
    assert client.data_to_send() == b""


@pytest.mark.spec("LC-04", "BP-09")
@pytest.mark.parametrize("envelope", [{"result": []}, {"result": "ok"},
                                      {"error": {"code": "x", "message": "m"}},
                                      {"result": {}, "error": {"code": 1, "message": "m"}}])
def test_a_malformed_initialize_response_fails_the_session(envelope):
    """D-20: as for a result without its required fields; the client sends nothing more."""
    client = Connection(C)
    request_id, _ = client.initialize()
    events = client.receive_data(line(dict(envelope, jsonrpc="2.0", id=request_id)))
    failed = only(events, ev.RequestFailed)
    assert failed.method == "initialize" and isinstance(failed.error, RemoteProtocolError)
    assert client.state is State.FAILED
    assert client.pending_ids == () and client.data_to_send() == b""


@pytest.mark.spec("LC-15")
@pytest.mark.parametrize("version,expected", [
    ("2024-11-05", {"name", "version"}),
    ("2025-03-26", {"name", "version"}),
    ("2025-06-18", {"name", "version", "title"}),
    ("2025-11-25", {"name", "version", "title", "description", "websiteUrl"}),
])
def test_implementation_info_is_cut_to_the_negotiated_version(version, expected):
    info = {"name": "n", "version": "1", "title": "T", "description": "D",
            "websiteUrl": "https://example.com"}
    pair = handshake(version, client_kwargs={"info": info}, server_kwargs={"info": info})
    assert set(pair.c2s[0]["params"]["clientInfo"]) == expected
    assert set(pair.s2c[0]["result"]["serverInfo"]) == expected


def test_only_a_client_initializes():
    with pytest.raises(LocalProtocolError):
        Connection(S).initialize()
    client = Connection(C)
    with pytest.raises(LocalProtocolError):
        client.send_request("initialize", {})


# ==============================================================================================
# Ordering before the operation phase (D-05)
# ==============================================================================================


@pytest.mark.spec("LC-02", "ER-01")
@pytest.mark.parametrize("method", ["tools/list", "ping", "logging/setLevel", "tools/call"])
def test_requests_before_initialize_get_32600_and_are_not_processed(method):
    server, feed = raw_server()
    events, frames = feed({"jsonrpc": "2.0", "id": 4, "method": method, "params": {}})
    assert error_codes(frames) == [(4, ErrorCode.INVALID_REQUEST)]
    assert not of(events, ev.RequestReceived)
    violation = only(events, ev.ProtocolViolation)
    assert violation.answered and violation.error.catalogue_id == "LC-02"
    assert server.state is State.AWAITING_INITIALIZE
    # The session can still start normally.
    _, frames = feed(init_request(request_id=5))
    assert "result" in frames[0]


@pytest.mark.spec("LC-02", "ER-01", "LC-41")
def test_unknown_method_before_initialize_is_32601_not_32600():
    server, feed = raw_server()
    events, frames = feed({"jsonrpc": "2.0", "id": "probe", "method": "server/discover",
                           "params": {"_meta": {}}})
    assert error_codes(frames) == [("probe", ErrorCode.METHOD_NOT_FOUND)]
    assert server.state is State.AWAITING_INITIALIZE


@pytest.mark.spec("BP-36", "ER-01", "ER-13", "BP-05")
def test_error_messages_quote_what_the_peer_sent_briefly():
    """BP-36: error.message is one short sentence. What the peer sent is quoted in it, cut
    after errors.QUOTE_LIMIT characters (with its length), and never with a raw newline;
    short values read as before."""
    server, feed = raw_session()
    long = "x" * 100_000
    _, frames = feed({"jsonrpc": "2.0", "id": 1, "method": long},
                     {"jsonrpc": "2.0", "id": 2, "method": "bad\nname"},
                     {"jsonrpc": "2.0", "id": 3, "method": "logging/setLevel",
                      "params": {"level": long}},
                     {"jsonrpc": "2.0", "id": long, "method": "tools/call",
                      "params": {"name": "t"}},
                     {"jsonrpc": "2.0", "id": long, "method": "tools/call",
                      "params": {"name": "t"}},
                     {"jsonrpc": "2.0", "id": 4, "method": "nope"})
    codes = [(f["id"] if f["id"] != long else "long", f["error"]["code"]) for f in frames]
    assert codes == [(1, -32601), (2, -32601), (3, -32602), ("long", -32600), (4, -32601)]
    messages = [f["error"]["message"] for f in frames]
    for message in messages[:4]:
        assert len(message) < 300 and "\n" not in message, message[:300]
    assert messages[0] == f"Method not found: {'x' * 80}... (100000 characters)"
    assert messages[1] == "Method not found: 'bad\\nname'"
    assert messages[4] == "Method not found: nope"


@pytest.mark.spec("PG-02", "PG-03", "LC-07")
def test_ping_before_initialized_is_answered():
    server, feed = raw_server()
    feed(init_request())
    assert server.state is State.AWAITING_INITIALIZED
    events, frames = feed({"jsonrpc": "2.0", "id": 2, "method": "ping"})
    assert frames == [{"jsonrpc": "2.0", "id": 2, "result": {}}]
    assert events == []


@pytest.mark.spec("PG-02", "PG-03", "LC-06")
def test_client_may_ping_while_initialize_is_pending():
    pair = ConnectionPair()
    _, data = pair.client.initialize()
    pair.to_server(data)
    ping_id = pair.request(C, "ping")
    with pytest.raises(LocalProtocolError):                       # LC-06: nothing else
        pair.client.send_request("tools/list")
    ex = pair.pump()
    pongs = [e for e in ex.client_events if isinstance(e, ev.ResponseReceived)
             and e.method == "ping"]
    assert len(pongs) == 1 and pongs[0].id == ping_id and pongs[0].result == {}
    assert pair.client.state is State.OPERATING


@pytest.mark.spec("LC-05", "LC-07")
def test_requests_before_initialized_get_32600():
    server, feed = raw_server()
    feed(init_request())
    events, frames = feed({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert error_codes(frames) == [(2, ErrorCode.INVALID_REQUEST)]
    assert not of(events, ev.RequestReceived)
    assert only(events, ev.ProtocolViolation).error.catalogue_id == "LC-05"
    assert server.state is State.AWAITING_INITIALIZED


@pytest.mark.spec("LC-05", "LC-06")
def test_a_client_notification_before_initialized_is_delivered_not_a_violation():
    """D-60: LC-06 and LC-05 limit the client's requests, not its notifications. Before, the
    server dropped one and reported LC-06 or LC-05 ("... before any other request")."""
    server, feed = raw_server()
    note = {"jsonrpc": "2.0", "method": "notifications/x-custom", "params": {"n": 1}}
    feed(init_request())                # answered at once: the server awaits initialized
    assert server.state is State.AWAITING_INITIALIZED
    events, frames = feed(note)
    assert [type(e) for e in events] == [ev.NotificationReceived] and frames == []
    events, frames = feed({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert only(events, ev.ProtocolViolation).error.catalogue_id == "LC-05"   # a request is


@pytest.mark.spec("LC-07", "PG-02")
def test_server_sends_only_pings_and_logs_before_initialized():
    pair = ConnectionPair()
    _, data = pair.client.initialize()
    pair.server.receive_data(data)
    assert pair.server.state is State.AWAITING_INITIALIZED
    with pytest.raises(LocalProtocolError):
        pair.server.send_request("roots/list")
    with pytest.raises(LocalProtocolError):
        pair.server.send_notification("notifications/tools/list_changed")
    pair.to_client(pair.server.data_to_send())
    ping_id, ping = pair.server.send_request("ping")
    pair.to_client(ping)
    pair.to_client(pair.server.send_log("warning", "starting up"))
    ex = pair.pump()
    # The client answered the early ping with {} (PG-02) and got the log message.
    assert {"jsonrpc": "2.0", "id": ping_id, "result": {}} in pair.c2s
    assert only(ex.client_events, ev.NotificationReceived).method == spec.LOG_MESSAGE
    assert only(ex.server_events, ev.ResponseReceived).id == ping_id


@pytest.mark.spec("LC-02")
def test_second_initialize_in_operating_is_32600():
    pair = handshake()
    pair.to_server(line(init_request(request_id=99)))
    ex = pair.pump()
    assert error_codes(ex.to_client) == [(99, ErrorCode.INVALID_REQUEST)]
    assert pair.server.state is State.OPERATING
    assert pair.server.protocol_version == "2025-11-25"


@pytest.mark.spec("BP-13", "LC-05")
def test_notifications_are_never_answered():
    """Catalogue BP-13 check: initialized twice, an unknown notification, then ping."""
    pair = handshake()
    pair.to_server(line({"jsonrpc": "2.0", "method": spec.INITIALIZED}))
    pair.to_server(line({"jsonrpc": "2.0", "method": "notifications/zzz"}))
    pair.to_server(line({"jsonrpc": "2.0", "method": "notifications/zzz", "params": {"a": 1}}))
    ex = pair.pump()
    assert ex.to_client == []
    assert only(ex.server_events, ev.ProtocolViolation).answered is False
    assert [e.method for e in of(ex.server_events, ev.NotificationReceived)] == [
        "notifications/zzz", "notifications/zzz"]
    ping_id = pair.request(C, "ping")
    ex = pair.pump()
    assert ex.to_client == [{"jsonrpc": "2.0", "id": ping_id, "result": {}}]


@pytest.mark.spec("BP-13", "LC-02")
@pytest.mark.parametrize("method", [spec.INITIALIZED, "notifications/zzz", spec.CANCELLED,
                                    spec.PROGRESS, spec.LOG_MESSAGE])
def test_notifications_before_initialize_are_violations_but_unanswered(method):
    server, feed = raw_server()
    events, frames = feed({"jsonrpc": "2.0", "method": method})
    assert frames == []
    violation = only(events, ev.ProtocolViolation)
    assert violation.answered is False
    assert events == [violation]
    assert server.state is State.AWAITING_INITIALIZE


@pytest.mark.spec("BP-13")
def test_a_malformed_notification_is_not_answered():
    server, feed = raw_session()
    events, frames = feed({"jsonrpc": "2.0", "method": "notifications/zzz", "params": [1]},
                          {"jsonrpc": "2.0", "method": 7})
    assert frames == []
    assert [e.answered for e in of(events, ev.ProtocolViolation)] == [False, False]


# ==============================================================================================
# Capabilities (LC-16, ER-11)
# ==============================================================================================


@pytest.mark.spec("ER-11", "LC-16")
def test_method_behind_an_undeclared_capability_is_32601():
    server, feed = raw_session(capabilities={"tools": {}})
    events, frames = feed({"jsonrpc": "2.0", "id": 1, "method": "prompts/list"},
                          {"jsonrpc": "2.0", "id": 2, "method": "resources/read",
                           "params": {"uri": "file:///x"}},
                          {"jsonrpc": "2.0", "id": 3, "method": "logging/setLevel",
                           "params": {"level": "debug"}},
                          {"jsonrpc": "2.0", "id": 4, "method": "tools/list"})
    assert error_codes(frames) == [(1, -32601), (2, -32601), (3, -32601)]
    assert [e.id for e in of(events, ev.RequestReceived)] == [4]


@pytest.mark.spec("ER-11", "ER-01")
def test_client_answers_server_requests_it_has_no_capability_for_with_32601():
    pair = handshake(client_kwargs={"capabilities": {}})
    pair.to_client(line({"jsonrpc": "2.0", "id": 50, "method": "roots/list"}))
    pair.to_client(line({"jsonrpc": "2.0", "id": 51, "method": "sampling/createMessage",
                         "params": {}}))
    pair.to_client(line({"jsonrpc": "2.0", "id": 52, "method": "tools/list"}))  # wrong way
    ex = pair.pump()
    assert error_codes(ex.to_server) == [(50, -32601), (51, -32601), (52, -32601)]
    assert not of(ex.client_events, ev.RequestReceived)


@pytest.mark.spec("LC-16")
def test_client_refuses_to_use_capabilities_the_server_did_not_declare():
    pair = handshake(server_kwargs={"capabilities": {}})
    for method in ("tools/list", "tools/call", "prompts/list", "resources/read",
                   "logging/setLevel", "completion/complete"):
        with pytest.raises(CapabilityNotNegotiated) as info:
            pair.client.send_request(method, {})
        assert info.value.catalogue_id == "LC-16"
    assert pair.client.pending_ids == ()
    pair.client.send_request("ping")                    # ping needs no capability
    pair.client.send_request("custom/method")           # unknown: the server will say -32601


@pytest.mark.spec("LC-16")
def test_server_refuses_requests_the_client_did_not_declare():
    pair = handshake(client_kwargs={"capabilities": {}})
    for method in ("roots/list", "sampling/createMessage", "elicitation/create"):
        with pytest.raises(CapabilityNotNegotiated):
            pair.server.send_request(method, {})
    assert pair.server.pending_ids == ()


@pytest.mark.spec("LC-16", "LC-17")
def test_notifications_need_our_own_capability():
    pair = handshake(server_kwargs={"capabilities": {"tools": {}}})
    with pytest.raises(CapabilityNotNegotiated):
        pair.server.send_notification("notifications/tools/list_changed")
    with pytest.raises(CapabilityNotNegotiated):
        pair.server.send_notification("notifications/resources/updated", {"uri": "x"})
    with pytest.raises(CapabilityNotNegotiated):
        handshake(client_kwargs={"capabilities": {"roots": {}}}).client.send_notification(
            "notifications/roots/list_changed")
    pair2 = handshake()
    pair2.to_client(pair2.server.send_notification("notifications/tools/list_changed"))
    pair2.to_server(pair2.client.send_notification("notifications/roots/list_changed"))
    ex = pair2.pump()
    assert [e.method for e in of(ex.client_events, ev.NotificationReceived)] == [
        "notifications/tools/list_changed"]
    assert [e.method for e in of(ex.server_events, ev.NotificationReceived)] == [
        "notifications/roots/list_changed"]


def test_dedicated_notifications_cannot_be_sent_generically():
    pair = handshake()
    for method in (spec.INITIALIZED, spec.CANCELLED, spec.PROGRESS, spec.LOG_MESSAGE):
        with pytest.raises(LocalProtocolError):
            pair.server.send_notification(method, {})


# ==============================================================================================
# Ids (BP-03..BP-07)
# ==============================================================================================


@pytest.mark.spec("BP-03", "BP-04", "BP-05")
def test_client_ids_are_unique_integers_over_1000_requests():
    pair = handshake()
    ids = [pair.request(C, "ping") for _ in range(500)]
    ids += [pair.request(C, "tools/list") for _ in range(500)]
    server_ids = [pair.request(S, "ping") for _ in range(50)]
    ex = pair.pump()
    wire_ids = [f["id"] for f in pair.c2s if "method" in f and "id" in f]
    assert wire_ids[1:] == ids                          # after initialize's
    all_ids = [pair.c2s[0]["id"]] + ids
    assert all(type(i) is int for i in all_ids)
    assert len(set(all_ids)) == 1001
    assert all(type(i) is int for i in server_ids) and len(set(server_ids)) == 50
    # Answered requests do not free their ids: the counter never goes back.
    for request_id in of(ex.server_events, ev.RequestReceived):
        pair.to_client(pair.server.send_response(request_id.id, {"tools": []}))
    pair.pump()
    assert pair.client.pending_ids == ()
    assert pair.request(C, "ping") not in all_ids


@pytest.mark.spec("BP-07")
@pytest.mark.parametrize("request_id", ["abc", 7, 0, "7", -1, 2 ** 53 + 1, "", "漢"])
def test_responses_echo_the_request_id_exactly(request_id):
    server, feed = raw_session()
    _, frames = feed({"jsonrpc": "2.0", "id": request_id, "method": "ping"})
    assert frames == [{"jsonrpc": "2.0", "id": request_id, "result": {}}]
    assert type(frames[0]["id"]) is type(request_id)
    events, _ = feed({"jsonrpc": "2.0", "id": request_id, "method": "tools/list"})
    assert only(events, ev.RequestReceived).id == request_id
    data = server.send_response(request_id, {"tools": []})
    (frame,) = frames_of(data)
    assert frame["id"] == request_id and type(frame["id"]) is type(request_id)


@pytest.mark.spec("BP-07")
def test_responses_are_matched_by_exact_id_and_type():
    pair = handshake()
    request_id = pair.request(C, "tools/list")
    pair.pump()
    assert type(request_id) is int
    events = pair.client.receive_data(line({"jsonrpc": "2.0", "id": str(request_id),
                                            "result": {"tools": []}}))
    violation = only(events, ev.ProtocolViolation)
    assert violation.error.catalogue_id == "BP-07"
    assert not of(events, ev.ResponseReceived)
    assert pair.client.pending_ids == (request_id,)
    # The real answer still resolves it.
    events = pair.client.receive_data(line({"jsonrpc": "2.0", "id": request_id,
                                            "result": {"tools": []}}))
    assert only(events, ev.ResponseReceived).id == request_id
    assert pair.client.pending_ids == ()


@pytest.mark.spec("BP-07")
def test_a_response_to_nothing_is_a_violation_and_unanswered():
    pair = handshake()
    events = pair.client.receive_data(line({"jsonrpc": "2.0", "id": 12345, "result": {}}))
    assert only(events, ev.ProtocolViolation).answered is False
    events = pair.client.receive_data(line({"jsonrpc": "2.0", "id": 1, "result": {}}))
    assert of(events, ev.ProtocolViolation)              # initialize's id, answered already
    assert pair.client.data_to_send() == b""


@pytest.mark.spec("BP-05")
def test_duplicate_in_flight_id_is_32600_and_not_processed():
    """SC-14: a duplicate is rejected and never cross-wired (D-07)."""
    server, feed = raw_session()
    events, frames = feed({"jsonrpc": "2.0", "id": "x", "method": "tools/list"})
    assert only(events, ev.RequestReceived).id == "x" and frames == []
    events, frames = feed({"jsonrpc": "2.0", "id": "x", "method": "tools/call",
                           "params": {"name": "t"}})
    assert error_codes(frames) == [("x", ErrorCode.INVALID_REQUEST)]
    assert not of(events, ev.RequestReceived)
    assert only(events, ev.ProtocolViolation).error.catalogue_id == "BP-05"
    assert server.in_flight_ids == ("x",)
    (frame,) = frames_of(server.send_response("x", {"tools": []}))
    assert frame["result"] == {"tools": []}
    # Same value, other type: a different id, so a fine request.
    events, _ = feed({"jsonrpc": "2.0", "id": 7, "method": "tools/list"},
                     {"jsonrpc": "2.0", "id": "7", "method": "tools/list"})
    assert [e.id for e in of(events, ev.RequestReceived)] == [7, "7"]


def test_answering_twice_or_an_unknown_id_is_our_bug():
    server, feed = raw_session()
    feed({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    server.send_response(1, {"tools": []})
    with pytest.raises(LocalProtocolError):
        server.send_response(1, {"tools": []})
    with pytest.raises(LocalProtocolError):
        server.send_error(99, -32603, "x")
    with pytest.raises(LocalProtocolError):
        server.send_response("1", {})


# ==============================================================================================
# Ping (PG-01, PG-02)
# ==============================================================================================


@pytest.mark.spec("PG-01", "PG-02", "BP-09")
def test_ping_is_answered_by_the_core_on_both_sides():
    pair = handshake()
    client_ping = pair.request(C, "ping")
    server_ping = pair.request(S, "ping")
    ex = pair.pump()
    assert {"jsonrpc": "2.0", "id": client_ping, "result": {}} in ex.to_client
    assert {"jsonrpc": "2.0", "id": server_ping, "result": {}} in ex.to_server
    # No RequestReceived: the application never sees pings.
    assert not of(ex.client_events + ex.server_events, ev.RequestReceived)
    assert only(ex.client_events, ev.ResponseReceived).method == "ping"
    assert only(ex.server_events, ev.ResponseReceived).method == "ping"


@pytest.mark.spec("PG-01", "PG-02")
def test_ping_with_meta_params_is_answered():
    server, feed = raw_session()
    _, frames = feed({"jsonrpc": "2.0", "id": 3, "method": "ping",
                      "params": {"_meta": {"progressToken": "p"}}})
    assert frames == [{"jsonrpc": "2.0", "id": 3, "result": {}}]


@pytest.mark.spec("PG-02")
def test_ping_is_answered_while_a_request_is_in_flight():
    server, feed = raw_session()
    feed({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "slow"}})
    _, frames = feed({"jsonrpc": "2.0", "id": 2, "method": "ping"})
    assert frames == [{"jsonrpc": "2.0", "id": 2, "result": {}}]
    assert server.in_flight_ids == (1,)


# ==============================================================================================
# Cancellation (CN-xx)
# ==============================================================================================


def _in_flight_call(pair, **kwargs):
    request_id = pair.request(C, "tools/call", {"name": "slow"}, **kwargs)
    ex = pair.pump()
    assert only(ex.server_events, ev.RequestReceived).id == request_id
    return request_id


@pytest.mark.spec("CN-01", "CN-05", "CN-11")
def test_cancel_sends_a_notification_and_the_server_stops():
    pair = handshake()
    request_id = _in_flight_call(pair)
    data = pair.client.cancel(request_id, "user pressed stop")
    (frame,) = frames_of(data)
    assert frame == {"jsonrpc": "2.0", "method": "notifications/cancelled",
                     "params": {"requestId": request_id, "reason": "user pressed stop"}}
    assert pair.client.pending_ids == ()
    pair.to_server(data)
    ex = pair.pump()
    cancel = only(ex.server_events, ev.CancelReceived)
    assert cancel.request_id == request_id and cancel.reason == "user pressed stop"
    assert ex.to_client == []                                        # BP-13
    # CN-05, CN-23: no response, no progress once cancelled.
    assert pair.server.send_response(request_id, {"content": []}) == b""
    assert pair.server.in_flight_ids == ()


@pytest.mark.spec("CN-01")
def test_cancel_without_reason_omits_it():
    pair = handshake()
    request_id = _in_flight_call(pair)
    (frame,) = frames_of(pair.client.cancel(request_id))
    assert frame["params"] == {"requestId": request_id}


@pytest.mark.spec("CN-05")
def test_send_error_after_cancel_is_suppressed_too():
    pair = handshake()
    request_id = _in_flight_call(pair)
    pair.to_server(pair.client.cancel(request_id))
    pair.pump()
    assert pair.server.send_error(request_id, ErrorCode.INTERNAL_ERROR, "late") == b""


@pytest.mark.spec("BP-10", "BP-11")
def test_send_error_refuses_a_code_or_message_the_schema_refuses_and_keeps_the_request():
    """D-79: send_error(id, -32603, 5) sent "message": 5, which every revision's schema
    refuses (BP-10: a string), and int(code) turned 1.5 and True into 1 (BP-11: an integer).
    Found by driving the core with adversarial calls (helper-63). Now refused before
    anything is sent or forgotten: the request can still be answered properly."""
    pair = handshake()
    request_id = _in_flight_call(pair)
    for code, message, rule in ((1.5, "m", "BP-11"), (True, "m", "BP-11"), ("x", "m", "BP-11"),
                                (None, "m", "BP-11"), (-32603, 5, "BP-10"),
                                (-32603, None, "BP-10"), (-32603, b"m", "BP-10")):
        with pytest.raises(LocalProtocolError) as info:
            pair.server.send_error(request_id, code, message)
        assert info.value.catalogue_id == rule
        assert request_id in pair.server.in_flight_ids
    (frame,) = frames_of(pair.server.send_error(request_id, ErrorCode.INTERNAL_ERROR, "failed"))
    assert frame["error"] == {"code": -32603, "message": "failed"}
    assert type(frame["error"]["code"]) is int


@pytest.mark.spec("BP-01")
def test_meta_that_is_not_an_object_is_refused_before_anything_is_sent():
    """D-79: every revision's schema makes ``_meta`` an object, in request and notification
    params and in results. {"_meta": 5} went out as it was; with a progress token it raised
    TypeError (not a protocol error), and a list of pairs was silently turned into an
    object. Now LocalProtocolError (BP-01), with nothing counted, pending or forgotten."""
    pair = handshake()
    for bad in (5, "ab", [["a", 1]], None):
        for kwargs in ({}, {"progress_token": "t"}, {"want_progress": True}):
            with pytest.raises(LocalProtocolError) as info:
                pair.client.send_request("tools/list", {"_meta": bad}, **kwargs)
            assert info.value.catalogue_id == "BP-01"
        with pytest.raises(LocalProtocolError):
            pair.client.send_notification("notifications/roots/list_changed", {"_meta": bad})
    assert pair.client.pending_ids == ()
    request_id, _ = pair.client.send_request("tools/list", {"_meta": {"k": 1}})
    assert request_id == 2                         # initialize was 1: no id was used up
    request_id = _in_flight_call(pair)
    with pytest.raises(LocalProtocolError) as info:
        pair.server.send_response(request_id, {"content": [], "_meta": 5})
    assert info.value.catalogue_id == "BP-01"
    assert request_id in pair.server.in_flight_ids
    assert pair.server.send_response(request_id, {"content": [], "_meta": {}}) != b""


@pytest.mark.spec("BP-01", "PR-02", "TL-11", "ER-01", "LC-03")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_a_request_whose_meta_the_schema_refuses_is_32602_and_not_processed(version):
    """D-87: every revision's schema.ts types a request's ``params._meta`` as an object whose
    ``progressToken`` is a string or an integer. ``"_meta": 5`` or a token of 1.5 was taken
    as no ``_meta``: the request was processed and answered with a result (2025-11-25's tools
    page: a tools/call failing the CallToolRequest schema is a protocol error, TL-11). Found
    by the differential review against the official SDKs (spec_notes/differential.md)."""
    server, feed = raw_session(version=version)
    bad = [{"_meta": 5}, {"_meta": [["progressToken", "t"]]}, {"_meta": None},
           {"_meta": {"progressToken": 1.5}}, {"_meta": {"progressToken": None}},
           {"_meta": {"progressToken": True}}, {"_meta": {"progressToken": ["t"]}}]
    request_id = 10
    for params in bad:
        for method, extra in (("ping", {}), ("tools/list", {}),
                              ("tools/call", {"name": "echo", "arguments": {}})):
            request_id += 1
            events, frames = feed({"jsonrpc": "2.0", "id": request_id, "method": method,
                                   "params": dict(extra, **params)})
            assert error_codes(frames) == [(request_id, ErrorCode.INVALID_PARAMS)], \
                (method, params)
            assert not of(events, ev.RequestReceived)         # never handed to the application
            violation = only(events, ev.ProtocolViolation)
            expected = "PR-02" if isinstance(params["_meta"], dict) else "BP-01"
            assert violation.error.catalogue_id == expected
    assert server.in_flight_ids == ()
    # What the schema allows still goes through: any members beside a good token (BP-21).
    _, frames = feed({"jsonrpc": "2.0", "id": 1, "method": "ping",
                      "params": {"_meta": {"progressToken": 7, "com.example/x": [1]}}})
    assert frames == [{"jsonrpc": "2.0", "id": 1, "result": {}}]


@pytest.mark.spec("LC-03", "LC-20", "BP-01")
def test_an_initialize_whose_meta_the_schema_refuses_is_32602_and_allows_a_retry():
    """D-87: initialize is a request too; its refusal leaves the session ready for another."""
    server, feed = raw_server()
    for request_id, meta in ((1, 5), (2, {"progressToken": 1.5})):
        _, frames = feed(init_request(request_id=request_id, _meta=meta))
        assert error_codes(frames) == [(request_id, ErrorCode.INVALID_PARAMS)]
        assert server.state is State.INITIALIZE_REFUSED
    _, frames = feed(init_request(request_id=3, _meta={"progressToken": "t"}))
    assert frames[0]["result"]["protocolVersion"] == spec.PROTOCOL_VERSION


#: (when, the request, the catalogue ID of its report): requests a server's connection refuses
#: -32602 as the peer's fault. tools/call {} was reported (D-98); initialize's and setLevel's
#: refusals were answered alone (D-109).
_REFUSED_AS_THE_PEERS_FAULT = [
    ("operating", {"method": "tools/call", "params": {}}, "BP-01"),
    ("operating", {"method": "tools/call", "params": {"_meta": 5, "name": "x"}}, "BP-01"),
    ("fresh", {"method": "initialize", "params": {"capabilities": {}}}, "LC-03"),
    ("fresh", {"method": "initialize"}, "LC-03"),
    ("fresh", {"method": "initialize", "params": init_request(_meta=5)["params"]}, "BP-01"),
    ("fresh", {"method": "initialize",
               "params": init_request(_meta={"progressToken": 1.5})["params"]}, "PR-02"),
    ("operating", {"method": "logging/setLevel", "params": {"level": "loud"}}, "LG-03"),
    ("operating", {"method": "logging/setLevel", "params": {}}, "BP-01"),
]


@pytest.mark.spec("LC-03", "BP-01", "PR-02", "LG-03", "ER-13")
@pytest.mark.parametrize("when, request_, catalogue_id", _REFUSED_AS_THE_PEERS_FAULT,
                         ids=[f"{r['method']}-{c}-{i}" for i, (_, r, c)
                              in enumerate(_REFUSED_AS_THE_PEERS_FAULT)])
def test_every_request_refused_as_the_peers_fault_is_reported(when, request_, catalogue_id):
    """D-109, one rule: what the connection refuses as the peer's fault is reported (a
    ProtocolViolation, answered), whichever path refuses it. tools/call {} was (D-98), but an
    initialize without LC-03's members or with a ``_meta`` the schema refuses (D-87), and a
    setLevel at a level none of the eight (ER-13's -32602, LG-03), were answered -32602 with
    no event at all: a server logged the first and not the others."""
    server, feed = (raw_session if when == "operating" else raw_server)()
    events, frames = feed(dict({"jsonrpc": "2.0", "id": 99}, **request_))
    assert error_codes(frames) == [(99, ErrorCode.INVALID_PARAMS)]
    violation = only(events, ev.ProtocolViolation)
    assert events == [violation] and violation.answered is True
    assert violation.error.catalogue_id == catalogue_id
    assert violation.error.code == ErrorCode.INVALID_PARAMS
    assert str(violation.error.message) == frames[0]["error"]["message"]


BAD_META = (5, None, "m", [["a", 1]], True)


@pytest.mark.spec("BP-01", "BP-13", "LC-05", "CN-10")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_a_notification_whose_meta_the_schema_refuses_reaches_the_server_as_nothing(version):
    """D-92: every revision's schema makes a notification's ``params._meta`` an object (each
    notification's params, and ``Notification``'s); ``"_meta": 5`` is no notification of its
    method, like ``"params": 5`` (jsonrpc.parse). It was processed as if ``_meta`` were
    absent: an ``initialized`` opened the session, a cancel stopped a request. Now it is
    reported (BP-01), never answered (BP-13) and not processed. Any object is fine: only a
    request's ``_meta`` types a ``progressToken``."""
    server, feed = raw_server()
    feed(init_request(version=version))
    for meta in BAD_META:
        events, frames = feed({"jsonrpc": "2.0", "method": spec.INITIALIZED,
                               "params": {"_meta": meta}})
        violation = only(events, ev.ProtocolViolation)
        assert events == [violation] and frames == []
        assert violation.error.catalogue_id == "BP-01" and violation.answered is False
        assert server.state is State.AWAITING_INITIALIZED, meta     # LC-05: still waiting
    feed({"jsonrpc": "2.0", "method": spec.INITIALIZED, "params": {"_meta": {"x": 1}}})
    assert server.state is State.OPERATING
    events, _ = feed({"jsonrpc": "2.0", "id": 7, "method": "tools/list"})
    assert only(events, ev.RequestReceived).id == 7
    for meta in BAD_META:
        for method, params in (("notifications/roots/list_changed", {}),
                               ("notifications/x-vendor", {"n": 1})):
            events, frames = feed({"jsonrpc": "2.0", "method": method,
                                   "params": dict(params, _meta=meta)})
            violation = only(events, ev.ProtocolViolation)
            assert events == [violation] and frames == [], (method, meta)
            assert violation.error.catalogue_id == "BP-01"
        events, frames = feed({"jsonrpc": "2.0", "method": spec.CANCELLED,
                               "params": {"requestId": 7, "_meta": meta}})
        assert [type(e) for e in events] == [ev.MessageDropped] and frames == []   # CN-10
    assert server.in_flight_ids == (7,)                 # no cancel stopped it
    events, _ = feed({"jsonrpc": "2.0", "method": spec.CANCELLED,
                      "params": {"requestId": 7, "_meta": {"progressToken": 1.5}}})
    assert only(events, ev.CancelReceived).request_id == 7


@pytest.mark.spec("BP-01", "BP-13", "PR-05")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_a_notification_whose_meta_the_schema_refuses_reaches_the_client_as_nothing(version):
    """D-92, the client's side: progress and log messages whose ``_meta`` is not an object
    are reported and dropped; the dropped progress does not count as the last one (PR-05)."""
    pair = handshake(version)
    request_id = pair.request(C, "tools/list", progress_token="p")
    pair.pump()
    for meta in BAD_META:
        for method, params in ((spec.PROGRESS, {"progressToken": "p", "progress": 5}),
                               (spec.LOG_MESSAGE, {"level": "info", "data": "x"}),
                               ("notifications/tools/list_changed", {})):
            events = pair.client.receive_data(line({"jsonrpc": "2.0", "method": method,
                                                    "params": dict(params, _meta=meta)}))
            violation = only(events, ev.ProtocolViolation)
            assert events == [violation], (method, meta)
            assert violation.error.catalogue_id == "BP-01"
    events = pair.client.receive_data(line({"jsonrpc": "2.0", "method": spec.PROGRESS,
                                            "params": {"progressToken": "p", "progress": 1,
                                                       "_meta": {}}}))
    assert only(events, ev.ProgressReceived).request_id == request_id
    assert pair.client.data_to_send() == b""


# D-98: what a receiver does with a known message that lacks a member its schema requires.
# Servers and clients with every capability whose requests have required params.
_EVERY_SERVER_CAPABILITY = {"tools": {}, "resources": {"subscribe": True}, "prompts": {},
                            "logging": {}, "completions": {}}
_EVERY_CLIENT_CAPABILITY = {"roots": {}, "sampling": {}, "elicitation": {}}


def _refused_at_once(conn, frame):
    """Feed ``frame`` (a request) to ``conn``; assert it is answered -32602 with a BP-01 report
    and never handed to the application."""
    events = conn.receive_data(line(frame))
    frames = frames_of(conn.data_to_send())
    assert error_codes(frames) == [(frame["id"], ErrorCode.INVALID_PARAMS)], frame
    assert frames[0]["error"]["message"].startswith("Invalid params: "), frames
    assert not of(events, ev.RequestReceived), frame    # no application code sees it
    assert only(events, ev.ProtocolViolation).error.catalogue_id == "BP-01"
    assert conn.in_flight_ids == ()


@pytest.mark.spec("BP-01", "ER-01", "TL-11")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_a_request_without_a_member_its_schema_requires_is_32602_before_any_handler(version):
    """D-98: D-85 refused to *send* a known request without the params members its schema
    requires; on receipt such a request reached the application as a RequestReceived (a
    client's sampling handler saw no ``maxTokens``; a server's tools/call without ``name``
    was left to the handler), except ``logging/setLevel``, which the connection answers
    itself. Now each role answers it -32602 (JSON-RPC 2.0 section 5.1, ER-01) from the same
    table, ``spec.REQUIRED_PARAMS``, before anything else sees it."""
    pair = handshake(version, server_kwargs={"capabilities": _EVERY_SERVER_CAPABILITY},
                     client_kwargs={"capabilities": _EVERY_CLIENT_CAPABILITY})
    request_id = 100
    argument = {"name": "a", "value": ""}
    ref = {"type": "ref/prompt", "name": "p"}
    for method, params in (("tools/call", None), ("tools/call", {"arguments": {}}),
                           ("resources/read", {"_meta": {}}), ("resources/subscribe", {}),
                           ("resources/unsubscribe", {}), ("prompts/get", {"arguments": {}}),
                           ("logging/setLevel", {}), ("completion/complete", {"ref": ref}),
                           ("completion/complete", {"argument": argument})):
        request_id += 1
        frame = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            frame["params"] = params
        _refused_at_once(pair.server, frame)
    schema = {"type": "object", "properties": {}}
    server_requests = [("sampling/createMessage", {"messages": []}),
                       ("sampling/createMessage", {"maxTokens": 5})]
    if version >= "2025-06-18":                         # elicitation exists (LC-15, D-35)
        server_requests += [("elicitation/create", {"message": "m"}),
                            ("elicitation/create", {"requestedSchema": schema})]
    if version >= "2025-11-25":                         # url mode: message, url, elicitationId
        server_requests += [("elicitation/create", {"mode": "url", "message": "m",
                                                    "url": "https://example.com"})]
    for method, params in server_requests:
        request_id += 1
        _refused_at_once(pair.client, {"jsonrpc": "2.0", "id": request_id, "method": method,
                                       "params": params})
    # What the schema requires, present, still reaches the application, values unjudged.
    for conn, method, params in ((pair.server, "tools/call", {"name": 5}),
                                 (pair.client, "sampling/createMessage",
                                  {"messages": [], "maxTokens": 5}),
                                 (pair.client, "roots/list", None)):
        request_id += 1
        frame = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            frame["params"] = params
        events = conn.receive_data(line(frame))
        assert only(events, ev.RequestReceived).method == method


@pytest.mark.spec("BP-01", "BP-13", "LG-03", "PR-05", "PR-06")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_a_notification_the_schema_refuses_is_reported_and_not_delivered(version):
    """D-98: a known notification without a member its schema requires, or with a log level
    that is none of the eight, is no notification of its method, as D-92 rules for a bad
    ``_meta``: reported, never answered (BP-13), not processed. It was: a log message without
    ``data`` or at level "loud" was delivered with a report, an update without ``uri``
    delivered silently, progress without a token dropped as if for an unknown token."""
    pair = handshake(version, server_kwargs={"capabilities": _EVERY_SERVER_CAPABILITY})
    request_id = pair.request(C, "tools/list", progress_token="p")
    pair.pump()
    refused = [(spec.PROGRESS, {"progressToken": "p"}, "BP-01"),
               (spec.PROGRESS, {"progress": 1}, "BP-01"),
               (spec.LOG_MESSAGE, {"level": "info"}, "BP-01"),
               (spec.LOG_MESSAGE, {"data": "x"}, "BP-01"),
               (spec.LOG_MESSAGE, {"level": "loud", "data": "x"}, "LG-03"),
               (spec.LOG_MESSAGE, {"level": "INFO", "data": "x"}, "LG-03"),
               ("notifications/resources/updated", {}, "BP-01")]
    if version >= "2025-11-25":
        refused += [(spec.ELICITATION_COMPLETE, {}, "BP-01"),
                    (spec.TASKS_STATUS, {"taskId": "t"}, "BP-01")]
    for method, params, catalogue_id in refused:
        events = pair.client.receive_data(line({"jsonrpc": "2.0", "method": method,
                                                "params": params}))
        violation = only(events, ev.ProtocolViolation)
        assert events == [violation], (method, params)
        assert violation.error.catalogue_id == catalogue_id and violation.answered is False
    if version < "2025-11-25":
        # A method the revision lacks is no known notification there: delivered and reported
        # (LC-15, D-35), whatever its params.
        events = pair.client.receive_data(line({"jsonrpc": "2.0",
                                                "method": spec.ELICITATION_COMPLETE,
                                                "params": {}}))
        assert only(events, ev.ProtocolViolation).error.catalogue_id == "LC-15"
        assert only(events, ev.NotificationReceived).method == spec.ELICITATION_COMPLETE
    assert pair.client.data_to_send() == b""                                 # BP-13
    events = pair.client.receive_data(line({"jsonrpc": "2.0", "method": spec.PROGRESS,
                                            "params": {"progressToken": "p", "progress": 1}}))
    assert only(events, ev.ProgressReceived).request_id == request_id    # none counted before
    events = pair.client.receive_data(line({"jsonrpc": "2.0", "method": spec.LOG_MESSAGE,
                                            "params": {"level": "notice", "data": None}}))
    assert events == [ev.NotificationReceived(spec.LOG_MESSAGE,
                                              {"level": "notice", "data": None})]


@pytest.mark.spec("CN-10", "BP-13")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_a_cancel_without_a_request_id_is_ignored_silently_in_every_revision(version):
    """D-98: 2025-11-25 made a cancel's ``requestId`` optional (a task is cancelled with
    tasks/cancel instead); the older schemas require it. Either way a cancel that names no
    request cancels nothing, and CN-10 says to ignore a malformed cancel silently: dropped,
    not reported, in every revision (pinned; unchanged by D-98)."""
    server, feed = raw_session(version=version)
    feed({"jsonrpc": "2.0", "id": 7, "method": "tools/list"})
    for params in ({}, {"reason": "no id"}):
        events, frames = feed({"jsonrpc": "2.0", "method": spec.CANCELLED, "params": params})
        assert [type(e) for e in events] == [ev.MessageDropped] and frames == []
    assert server.in_flight_ids == (7,)


@pytest.mark.spec("CN-10", "BP-01", "BP-13")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_every_malformed_cancel_is_ignored_silently_its_meta_too(version):
    """D-102: CN-10 ignores a malformed cancel silently, and D-98 reads that as dropped, not
    reported (a MessageDropped, which ``Session`` logs at DEBUG). A cancel whose ``_meta`` is
    not an object (D-92) was the one malformed cancel reported instead (a ProtocolViolation,
    which ``Session`` logs at WARNING). Now every malformed cancel is dropped alike and stops
    nothing; any other notification with such a ``_meta`` is still reported (D-92).
    https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/cancellation#error-handling"""
    server, feed = raw_session(version=version)
    feed({"jsonrpc": "2.0", "id": 7, "method": "tools/list"})
    malformed = [{}, {"requestId": None}, {"requestId": 1.5}, {"requestId": 7, "_meta": 5},
                 {"requestId": 7, "_meta": [1]}, {"requestId": 7, "_meta": None}]
    for params in malformed:
        events, frames = feed({"jsonrpc": "2.0", "method": spec.CANCELLED, "params": params})
        assert [type(e) for e in events] == [ev.MessageDropped] and frames == [], params
    assert server.in_flight_ids == (7,)
    events, _ = feed({"jsonrpc": "2.0", "method": "notifications/x-vendor",
                      "params": {"_meta": 5}})
    assert [type(e) for e in events] == [ev.ProtocolViolation]      # D-92, unchanged



@pytest.mark.spec("CN-05", "CN-23", "PR-13")
def test_progress_after_cancel_is_suppressed():
    pair = handshake()
    request_id = _in_flight_call(pair, progress_token="tok")
    assert pair.server.send_progress(request_id, 1) != b""
    pair.to_server(pair.client.cancel(request_id))
    pair.pump()
    assert pair.server.send_progress(request_id, 2) == b""


@pytest.mark.spec("CN-03")
def test_initialize_cannot_be_cancelled():
    client = Connection(C)
    request_id, _ = client.initialize()
    with pytest.raises(LocalProtocolError) as info:
        client.cancel(request_id)
    assert info.value.catalogue_id == "CN-03"
    assert client.pending_ids == (request_id,)
    # forget() gives up on it without a word on the wire (D-10).
    client.forget(request_id)
    assert client.pending_ids == ()
    events = client.receive_data(line({"jsonrpc": "2.0", "id": request_id, "result": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "serverInfo": {"name": "s", "version": "1"}}}))
    assert of(events, ev.MessageDropped) and not of(events, ev.ResponseReceived)
    assert client.data_to_send() == b""


@pytest.mark.spec("CN-02")
def test_cancel_after_the_response_sends_nothing():
    pair = handshake()
    request_id = pair.request(C, "tools/list")
    ex = pair.pump()
    pair.to_client(pair.server.send_response(only(ex.server_events, ev.RequestReceived).id,
                                             {"tools": []}))
    pair.pump()
    assert pair.client.cancel(request_id) == b""
    assert pair.client.cancel(424242) == b""                    # never issued
    assert pair.client.cancel("x") == b""


@pytest.mark.spec("CN-07", "CN-08")
def test_cancel_racing_the_response_on_both_sides():
    """The server answers while the cancel is on its way (SC-12)."""
    pair = handshake()
    request_id = _in_flight_call(pair)
    pair.to_client(pair.server.send_response(request_id, {"content": []}))
    pair.to_server(pair.client.cancel(request_id, "too slow"))
    ex = pair.pump()
    # Client: the late response is dropped, never surfaced (CN-07).
    assert of(ex.client_events, ev.MessageDropped)
    assert not of(ex.client_events, ev.ResponseReceived)
    # Server: the cancel for a finished request is ignored, silently (CN-08, CN-06).
    assert of(ex.server_events, ev.MessageDropped)
    assert not of(ex.server_events, ev.CancelReceived)
    assert ex.to_client == [{"jsonrpc": "2.0", "id": request_id, "result": {"content": []}}]
    assert ex.to_server == [{"jsonrpc": "2.0", "method": "notifications/cancelled",
                             "params": {"requestId": request_id, "reason": "too slow"}}]
    # And a second late copy is a plain unknown response, not a crash.
    events = pair.client.receive_data(line({"jsonrpc": "2.0", "id": request_id, "result": {}}))
    assert only(events, ev.ProtocolViolation).error.catalogue_id == "BP-07"
    # Both still work.
    ping_id = pair.request(C, "ping")
    assert only(pair.pump().client_events, ev.ResponseReceived).id == ping_id


@pytest.mark.spec("CN-07")
def test_late_error_response_after_cancel_is_dropped():
    pair = handshake()
    request_id = _in_flight_call(pair)
    pair.client.cancel(request_id)
    events = pair.client.receive_data(line({"jsonrpc": "2.0", "id": request_id, "error": {
        "code": -32603, "message": "interrupted"}}))
    assert of(events, ev.MessageDropped)
    assert not of(events, ev.RequestFailed)


@pytest.mark.spec("CN-06", "CN-10", "BP-13")
@pytest.mark.parametrize("params", [
    "absent", {}, {"requestId": True}, {"requestId": None}, {"requestId": 1.5},
    {"requestId": "nope"}, {"requestId": 999}, {"requestId": [1]},
    {"requestId": {"id": 1}}, {"reason": "no id"},
])
def test_invalid_cancels_are_ignored_silently(params):
    pair = handshake()
    request_id = _in_flight_call(pair)
    message = {"jsonrpc": "2.0", "method": "notifications/cancelled"}
    if params != "absent":
        message["params"] = params
    pair.to_server(line(message))
    ex = pair.pump()
    assert ex.to_client == []
    assert not of(ex.server_events, ev.CancelReceived)
    assert not of(ex.server_events, ev.ProtocolViolation)
    assert of(ex.server_events, ev.MessageDropped)
    assert pair.server.in_flight_ids == (request_id,)             # still running
    assert pair.server.send_response(request_id, {"content": []}) != b""


@pytest.mark.spec("CN-10", "BP-13")
def test_cancel_with_array_params_is_unanswered():
    server, feed = raw_session()
    events, frames = feed({"jsonrpc": "2.0", "method": spec.CANCELLED, "params": [1]})
    assert frames == []
    assert only(events, ev.ProtocolViolation).answered is False


@pytest.mark.spec("CN-02", "CN-06")
def test_cancel_for_an_id_of_the_other_type_is_ignored():
    server, feed = raw_session()
    feed({"jsonrpc": "2.0", "id": 5, "method": "tools/list"})
    events, frames = feed({"jsonrpc": "2.0", "method": spec.CANCELLED,
                           "params": {"requestId": "5"}})
    assert frames == [] and not of(events, ev.CancelReceived)
    assert server.in_flight_ids == (5,)


@pytest.mark.spec("CN-01", "CN-05")
def test_server_can_cancel_its_own_request_to_the_client():
    pair = handshake()
    request_id = pair.request(S, "roots/list")
    ex = pair.pump()
    assert only(ex.client_events, ev.RequestReceived).method == "roots/list"
    pair.to_client(pair.server.cancel(request_id, "no longer needed"))
    ex = pair.pump()
    assert only(ex.client_events, ev.CancelReceived).request_id == request_id
    assert pair.client.send_response(request_id, {"roots": []}) == b""


@pytest.mark.spec("CN-01")
def test_a_ping_can_be_cancelled_while_initializing():
    client = Connection(C)
    client.initialize()
    ping_id, _ = client.send_request("ping")
    (frame,) = frames_of(client.cancel(ping_id))
    assert frame["params"]["requestId"] == ping_id


# ==============================================================================================
# Progress (PR-xx)
# ==============================================================================================


@pytest.mark.spec("PR-01", "PR-02", "PR-04", "PR-06", "PR-07")
@pytest.mark.parametrize("token", ["tok-é", 0, 2 ** 40, "", -3])
def test_progress_tokens_are_echoed_exactly(token):
    pair = handshake()
    request_id = pair.request(C, "tools/call", {"name": "slow"}, progress_token=token)
    ex = pair.pump()
    sent = pair.c2s[-1]["params"]["_meta"]["progressToken"]
    assert sent == token and type(sent) is type(token)
    received = only(ex.server_events, ev.RequestReceived)
    assert received.progress_token == token and type(received.progress_token) is type(token)
    pair.to_client(pair.server.send_progress(request_id, 0.25, total=1.0, message="a quarter"))
    pair.to_client(pair.server.send_progress(request_id, 0.5))
    ex = pair.pump()
    first, second = ex.to_client
    assert first["params"] == {"progressToken": token, "progress": 0.25, "total": 1.0,
                               "message": "a quarter"}
    assert type(first["params"]["progressToken"]) is type(token)
    assert second["params"] == {"progressToken": token, "progress": 0.5}
    progress = of(ex.client_events, ev.ProgressReceived)
    assert [(p.request_id, p.progress_token, p.progress, p.total, p.message)
            for p in progress] == [(request_id, token, 0.25, 1.0, "a quarter"),
                                   (request_id, token, 0.5, None, None)]
    assert all(type(p.progress_token) is type(token) for p in progress)


@pytest.mark.spec("PR-01")
def test_progress_token_goes_into_meta_next_to_existing_meta():
    pair = handshake()
    pair.request(C, "tools/call", {"name": "x", "_meta": {"com.example/k": 1}},
                 progress_token="t")
    pair.pump()
    assert pair.c2s[-1]["params"]["_meta"] == {"com.example/k": 1, "progressToken": "t"}
    assert pair.c2s[-1]["params"]["name"] == "x"


@pytest.mark.spec("PR-02")
@pytest.mark.parametrize("token", [True, 1.5, [], {}])
def test_progress_token_must_be_a_string_or_an_integer(token):
    pair = handshake()
    with pytest.raises(LocalProtocolError):
        pair.client.send_request("tools/list", progress_token=token)
    assert pair.client.pending_ids == ()


@pytest.mark.spec("PR-05")
def test_send_progress_refuses_values_that_do_not_increase():
    pair = handshake()
    request_id = _in_flight_call(pair, progress_token="t")
    assert pair.server.send_progress(request_id, 1) != b""
    for value in (1, 0.5, 0, -1):
        with pytest.raises(LocalProtocolError) as info:
            pair.server.send_progress(request_id, value)
        assert info.value.catalogue_id == "PR-05"
    assert pair.server.send_progress(request_id, 1.0001) != b""


@pytest.mark.spec("PR-05", "BP-01")
def test_send_progress_refuses_nan_and_infinity_without_losing_its_place():
    """JSON has no NaN or infinity and the schema's progress is a number: BP-01, as for every
    other schema refusal, not PR-06, which lets progress be a float (D-123)."""
    pair = handshake()
    request_id = _in_flight_call(pair, progress_token="t")
    assert pair.server.send_progress(request_id, 1) != b""
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(LocalProtocolError) as info:
            pair.server.send_progress(request_id, bad)
        assert info.value.catalogue_id == "BP-01"
        with pytest.raises(LocalProtocolError):
            pair.server.send_progress(request_id, 2, total=bad)
    with pytest.raises(LocalProtocolError):                # still 1: 0.5 would go backwards
        pair.server.send_progress(request_id, 0.5)
    assert pair.server.send_progress(request_id, 2 ** 70) != b""   # big integers are fine


@pytest.mark.spec("PR-05", "BP-01")
def test_a_progress_message_that_is_not_a_string_is_refused_and_not_counted():
    """Refused means nothing was sent: the refused value is not the one the next progress
    must exceed (PR-05), or a handler that retries without the bad message is refused. A
    message of 5 went out before (D-64): the schema's ``message`` is a string; an object()
    was NotJson."""
    pair = handshake()
    request_id = _in_flight_call(pair, progress_token="t")
    assert pair.server.send_progress(request_id, 1) != b""
    for bad in (object(), 5, ["a"]):
        with pytest.raises(LocalProtocolError) as info:
            pair.server.send_progress(request_id, 2, message=bad)
        assert info.value.catalogue_id == "BP-01"           # the schema's type (D-123)
    assert pair.server.send_progress(request_id, 2, message="halfway") != b""


@pytest.mark.spec("CN-01")
def test_a_cancel_reason_that_is_not_a_string_is_refused_and_nothing_is_forgotten():
    """D-64: cancel(id, 123) sent "reason": 123, which the schema refuses. Now refused
    before the request is taken off the books: a proper cancel still works afterwards."""
    pair = handshake()
    request_id, data = pair.client.send_request("tools/list")
    for bad in (123, {"why": 1}, b"bytes"):
        with pytest.raises(LocalProtocolError) as info:
            pair.client.cancel(request_id, bad)
        assert info.value.catalogue_id == "CN-01"
        assert request_id in pair.client.pending_ids
    sent = frames_of(pair.client.cancel(request_id, "changed my mind"))
    assert sent == [{"jsonrpc": "2.0", "method": "notifications/cancelled",
                     "params": {"requestId": request_id, "reason": "changed my mind"}}]


# --- PR-12: the rate limit, with a fake clock (the core has none: the time is passed in) ----

def _progress_sent(pair, request_id, progress, now, total=None, min_interval=1.0):
    """Send progress at time ``now``; the progress values the client received ([]: none).
    The times in these tests are exact in binary, so ``now - last`` has no rounding error."""
    data = pair.server.send_progress(request_id, progress, total, now=now,
                                     min_interval=min_interval)
    if not data:
        return []                    # (b"" fed to the client would be the end of the stream)
    return [e.progress for e in of(pair.client.receive_data(data), ev.ProgressReceived)]


def _call_with_progress():
    """A handshake, and a tools/call in flight that asked for progress."""
    pair = handshake()
    return pair, _in_flight_call(pair, progress_token="t")


@pytest.mark.spec("PR-12")
def test_progress_within_the_interval_is_skipped_and_sent_after_it():
    pair, request_id = _call_with_progress()
    assert _progress_sent(pair, request_id, 1, now=100.0) == [1]          # the first: sent
    assert _progress_sent(pair, request_id, 2, now=100.25) == []          # too soon
    assert _progress_sent(pair, request_id, 3, now=100.75) == []          # still too soon
    assert _progress_sent(pair, request_id, 4, now=101.0) == [4]          # the interval passed
    assert _progress_sent(pair, request_id, 5, now=101.5) == []           # counted from 4
    assert _progress_sent(pair, request_id, 6, now=102.0) == [6]
    assert pair.server.data_to_send() == b""                              # nothing queued


@pytest.mark.spec("PR-12")
def test_the_first_progress_is_always_sent_and_no_clock_or_interval_means_no_limit():
    pair, request_id = _call_with_progress()
    assert _progress_sent(pair, request_id, 1, now=5.0, min_interval=3600) == [1]
    assert _progress_sent(pair, request_id, 2, now=6.0, min_interval=3600) == []
    # Without a time, or with an interval of 0, every progress is sent, as before PR-12.
    assert _progress_sent(pair, request_id, 3, now=None, min_interval=3600) == [3]
    assert [_progress_sent(pair, request_id, p, now=6.0, min_interval=0)
            for p in (4, 5, 6)] == [[4], [5], [6]]


@pytest.mark.spec("PR-12")
def test_progress_that_reaches_total_is_always_sent():
    pair, request_id = _call_with_progress()
    assert _progress_sent(pair, request_id, 1, now=0.0, total=10) == [1]
    assert _progress_sent(pair, request_id, 9.5, now=0.25, total=10) == []
    assert _progress_sent(pair, request_id, 10, now=0.5, total=10) == [10]   # the final state
    assert _progress_sent(pair, request_id, 11, now=0.75, total=10) == [11]   # past it too


@pytest.mark.spec("PR-12")
def test_progress_that_reaches_total_by_adding_floats_is_sent():
    """A handler counting in steps of 0.1 ends at 0.9999999999999999, not 1.0: that final
    value still counts as reaching the total, a rounding error short of it (D-47)."""
    pair, request_id = _call_with_progress()
    done = 0.0
    sent = []
    for step in range(10):
        done += 0.1
        sent += _progress_sent(pair, request_id, done, now=step / 16, total=1.0)
    assert done != 1.0 and sent == [0.1, done]      # the first and the last; none between


@pytest.mark.spec("PR-12", "PR-05", "BP-01")
def test_a_skipped_progress_is_checked_as_if_it_were_sent():
    """A handler bug is reported the same way whether or not its progress went out: the
    skipped value is the one the next must exceed, though the peer never saw it."""
    pair, request_id = _call_with_progress()
    assert _progress_sent(pair, request_id, 1, now=0.0) == [1]
    assert _progress_sent(pair, request_id, 5, now=0.25) == []            # skipped
    with pytest.raises(LocalProtocolError) as info:
        _progress_sent(pair, request_id, 3, now=2.0)                      # 3 > 1, but < 5
    assert info.value.catalogue_id == "PR-05"
    for bad in (float("nan"), "6"):
        with pytest.raises(LocalProtocolError) as info:
            _progress_sent(pair, request_id, bad, now=0.5)                # would be skipped
        assert info.value.catalogue_id == "BP-01"                         # D-123
    with pytest.raises(LocalProtocolError) as info:                       # likewise (D-64)
        pair.server.send_progress(request_id, 6, message=object(), now=0.5, min_interval=1.0)
    assert info.value.catalogue_id == "BP-01"
    assert _progress_sent(pair, request_id, 6, now=2.0) == [6]


@pytest.mark.spec("PR-12")
def test_each_request_has_its_own_progress_interval():
    pair = handshake()
    first = _in_flight_call(pair, progress_token="a")
    second = _in_flight_call(pair, progress_token="b")
    assert _progress_sent(pair, first, 1, now=0.0) == [1]
    assert _progress_sent(pair, second, 1, now=0.25) == [1]     # its own first: sent
    assert _progress_sent(pair, first, 2, now=0.5) == []
    assert _progress_sent(pair, second, 2, now=0.75) == []
    assert _progress_sent(pair, first, 3, now=1.0) == [3]
    assert _progress_sent(pair, second, 3, now=1.0) == []       # 0.75 after its own last
    assert _progress_sent(pair, second, 4, now=1.25) == [4]


@pytest.mark.spec("PR-06", "BP-01")
def test_client_flags_progress_that_overflows_to_infinity():
    # 1e400 is valid JSON with no finite value: framing marks it (D-37) before the progress
    # rules see it; the notification is dropped, unanswered (BP-13), and the session goes on.
    pair = handshake()
    pair.request(C, "tools/list", progress_token="p")
    pair.pump()
    events = pair.client.receive_data(b'{"jsonrpc":"2.0","method":"notifications/progress",'
                                      b'"params":{"progressToken":"p","progress":1e400}}\n')
    assert "1e400" in only(events, ev.MessageDropped).reason
    assert not of(events, ev.ProgressReceived) and pair.client.data_to_send() == b""
    events = pair.client.receive_data(line({"jsonrpc": "2.0", "method": spec.PROGRESS,
                                            "params": {"progressToken": "p", "progress": 1}}))
    assert of(events, ev.ProgressReceived)


@pytest.mark.spec("BP-01")
@pytest.mark.parametrize("bad", ["1", None, True, [1]])
def test_send_progress_refuses_non_numbers(bad):
    """The schema's progress and total are numbers: a frame with another is no progress
    notification (BP-01, D-123; PR-06 only lets them be floats)."""
    pair = handshake()
    request_id = _in_flight_call(pair, progress_token="t")
    with pytest.raises(LocalProtocolError) as info:
        pair.server.send_progress(request_id, bad)
    assert info.value.catalogue_id == "BP-01"
    if bad is not None:                                   # total=None means "unknown"
        with pytest.raises(LocalProtocolError) as info:
            pair.server.send_progress(request_id, 1, total=bad)
        assert info.value.catalogue_id == "BP-01"


@pytest.mark.spec("PR-13")
def test_progress_after_completion_sends_nothing():
    pair = handshake()
    request_id = _in_flight_call(pair, progress_token="t")
    pair.server.send_response(request_id, {"content": []})
    assert pair.server.send_progress(request_id, 5) == b""


@pytest.mark.spec("PR-08")
def test_no_token_no_progress():
    pair = handshake()
    request_id = _in_flight_call(pair)
    assert pair.server.send_progress(request_id, 1) == b""
    assert pair.server.send_progress(12345, 1) == b""             # not a request at all


@pytest.mark.spec("PR-08", "PR-02")
def test_an_invalid_token_from_the_peer_means_no_progress():
    """The request is refused (-32602, D-87; it used to be processed as if it had no token),
    so there is nothing progress could be sent for."""
    server, feed = raw_session()
    events, frames = feed({"jsonrpc": "2.0", "id": 1, "method": "tools/list",
                           "params": {"_meta": {"progressToken": 1.5}}})
    assert error_codes(frames) == [(1, ErrorCode.INVALID_PARAMS)]
    assert not of(events, ev.RequestReceived)
    assert server.send_progress(1, 1) == b""


@pytest.mark.spec("PR-11", "PR-13")
def test_client_drops_progress_for_unknown_or_finished_tokens():
    pair = handshake()
    request_id = pair.request(C, "tools/list", progress_token=7)
    pair.pump()
    for token in ("7", 8, "nope", None, True):
        events = pair.client.receive_data(line({"jsonrpc": "2.0", "method": spec.PROGRESS,
                                                "params": {"progressToken": token,
                                                           "progress": 1}}))
        assert of(events, ev.MessageDropped) and not of(events, ev.ProgressReceived), token
    pair.to_client(pair.server.send_response(request_id, {"tools": []}))
    pair.pump()
    events = pair.client.receive_data(line({"jsonrpc": "2.0", "method": spec.PROGRESS,
                                            "params": {"progressToken": 7, "progress": 2}}))
    assert of(events, ev.MessageDropped) and not of(events, ev.ProgressReceived)
    assert pair.client.data_to_send() == b""


@pytest.mark.spec("PR-05", "PR-06", "BP-01")
def test_client_flags_progress_that_does_not_increase_or_is_not_a_number():
    """Floats are progress (PR-06); a string is not a number, which the schema's progress is:
    reported as BP-01, the ID of every other schema refusal in a notification's params
    (``notification_problem``, D-98), not as PR-06, a permission (D-123)."""
    pair = handshake()
    pair.request(C, "tools/list", progress_token="p")
    pair.pump()

    def progress(value, **extra):
        params = {"progressToken": "p", "progress": value, **extra}
        return pair.client.receive_data(line({"jsonrpc": "2.0", "method": spec.PROGRESS,
                                              "params": params}))
    assert of(progress(0.5), ev.ProgressReceived)
    for value in (0.5, 0.25):
        violation = only(progress(value), ev.ProtocolViolation)
        assert violation.error.catalogue_id == "PR-05" and violation.answered is False
    assert only(progress("1"), ev.ProtocolViolation).error.catalogue_id == "BP-01"
    assert only(progress(2, total="10"), ev.ProtocolViolation).error.catalogue_id == "BP-01"
    assert of(progress(0.75, total=1), ev.ProgressReceived)
    assert pair.client.data_to_send() == b""


@pytest.mark.spec("PR-03")
def test_duplicate_active_progress_token_is_refused():
    pair = handshake()
    pair.request(C, "tools/list", progress_token="t")
    with pytest.raises(LocalProtocolError) as info:
        pair.client.send_request("tools/call", {"name": "x"}, progress_token="t")
    assert info.value.catalogue_id == "PR-03"
    # Same value, different type: a different token.
    pair.request(C, "tools/list", progress_token=1)
    pair.request(C, "tools/list", progress_token="1")
    # Once the first request completes, its token may be used again.
    ex = pair.pump()
    first = of(ex.server_events, ev.RequestReceived)[0]
    pair.to_client(pair.server.send_response(first.id, {"tools": []}))
    pair.pump()
    pair.request(C, "tools/list", progress_token="t")


@pytest.mark.spec("PR-07", "LC-15")
@pytest.mark.parametrize("version,has_message", [
    ("2024-11-05", False), ("2025-03-26", True), ("2025-06-18", True), ("2025-11-25", True)])
def test_progress_message_only_from_2025_03_26(version, has_message):
    pair = handshake(version)
    request_id = _in_flight_call(pair, progress_token="t")
    (frame,) = frames_of(pair.server.send_progress(request_id, 1, total=2, message="half"))
    assert ("message" in frame["params"]) is has_message
    assert frame["params"]["total"] == 2


@pytest.mark.spec("PR-04")
def test_client_can_report_progress_on_a_server_request():
    pair = handshake()
    request_id = pair.request(S, "roots/list", progress_token="srv")
    ex = pair.pump()
    assert only(ex.client_events, ev.RequestReceived).progress_token == "srv"
    pair.to_server(pair.client.send_progress(request_id, 1))
    ex = pair.pump()
    assert only(ex.server_events, ev.ProgressReceived).progress_token == "srv"


# ==============================================================================================
# Batches (BP-16, BP-17; D-06)
# ==============================================================================================


@pytest.mark.spec("BP-16", "LC-15")
def test_batch_is_processed_in_a_2025_03_26_session():
    pair = handshake("2025-03-26")
    batch = [{"jsonrpc": "2.0", "id": 100, "method": "ping"},
             {"jsonrpc": "2.0", "id": 101, "method": "tools/list"},
             {"jsonrpc": "2.0", "method": "notifications/zzz"}]
    pair.to_server(line(batch))
    ex = pair.pump(check_states=True)
    assert {"jsonrpc": "2.0", "id": 100, "result": {}} in ex.to_client
    received = only(ex.server_events, ev.RequestReceived)
    assert received.id == 101 and received.method == "tools/list"
    assert only(ex.server_events, ev.NotificationReceived).method == "notifications/zzz"
    (frame,) = frames_of(pair.server.send_response(101, {"tools": []}))
    assert frame["id"] == 101
    # Every answer is a line of its own, never an array (D-06).
    assert all(isinstance(f, dict) for f in pair.s2c)


@pytest.mark.spec("BP-16", "LC-05", "PG-03")
def test_a_2025_03_26_batch_may_carry_initialized_with_the_first_requests():
    # Wire review 2026-12-06: the batch used to be refused before the operation phase, so
    # its notifications/initialized was lost and every later request refused (-32600).
    server, feed = raw_server(supported_versions=("2025-03-26",))
    _, frames = feed(init_request(version="2025-03-26"))
    assert server.state is State.AWAITING_INITIALIZED
    # Each member meets the lifecycle as if alone: a ping may come before initialized, a
    # request may not (LC-05), and initialized opens the operation phase for what follows.
    events, frames = feed([{"jsonrpc": "2.0", "id": 1, "method": "ping"},
                           {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                           {"jsonrpc": "2.0", "method": spec.INITIALIZED},
                           {"jsonrpc": "2.0", "id": 3, "method": "tools/list"}])
    assert server.state is State.OPERATING
    assert {"jsonrpc": "2.0", "id": 1, "result": {}} in frames
    assert error_codes(frames) == [(2, ErrorCode.INVALID_REQUEST)]
    assert only(events, ev.RequestReceived).id == 3


@pytest.mark.spec("BP-16", "BP-17")
def test_a_batch_may_not_carry_initialize_even_in_2025_03_26():
    pair = handshake("2025-03-26")
    pair.to_server(line([init_request(request_id=77, version="2025-03-26")]))
    ex = pair.pump()
    assert error_codes(ex.to_client) == [(77, ErrorCode.INVALID_REQUEST)]


@pytest.mark.spec("BP-16", "LC-15")
@pytest.mark.parametrize("version", ["2025-11-25", "2025-06-18", "2024-11-05"])
def test_batch_is_one_32600_outside_2025_03_26(version):
    pair = handshake(version)
    pair.to_server(line([{"jsonrpc": "2.0", "id": 100, "method": "ping"},
                         {"jsonrpc": "2.0", "id": 101, "method": "tools/list"}]))
    ex = pair.pump()
    assert ex.to_client == [{"jsonrpc": "2.0", "id": None, "error": {
        "code": -32600, "message": ex.to_client[0]["error"]["message"]}}]
    assert not of(ex.server_events, ev.RequestReceived)
    assert only(ex.server_events, ev.ProtocolViolation).error.catalogue_id == "BP-16"


@pytest.mark.spec("BP-16")
def test_empty_batch_is_32600():
    for version in ("2025-03-26", "2025-11-25"):
        pair = handshake(version)
        pair.to_server(b"[]\n")
        ex = pair.pump()
        assert error_codes(ex.to_client) == [(None, ErrorCode.INVALID_REQUEST)], version


@pytest.mark.spec("BP-16", "BP-17", "LC-02")
def test_batch_before_initialize_is_32600():
    server, feed = raw_server(supported_versions=("2025-03-26",))
    events, frames = feed([init_request(version="2025-03-26")])
    assert error_codes(frames) == [(None, ErrorCode.INVALID_REQUEST)]
    assert server.state is State.AWAITING_INITIALIZE


# ==============================================================================================
# Bad input (ER-01, BP-01, BP-12)
# ==============================================================================================


#: A ping whose params nest one level past framing.MAX_NESTING (D-51): valid JSON that every
#: supported Python decodes, refused all the same, so the answer does not depend on the
#: interpreter.
TOO_DEEP = (b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":'
            + b"[" * 511 + b"]" * 511 + b"}}")


@pytest.mark.spec("ER-01", "BP-12")
@pytest.mark.parametrize("garbage", [b"{not json", b'{"jsonrpc":"2.0","id":1,', b"\xff\xfe",
                                     b'{"a":"\xc3"}', b"NaN", b'{"x":Infinity}'])
def test_unparseable_line_is_32700_with_id_null(garbage):
    """SC-08: the session survives and the next ping is answered."""
    server, feed = raw_session()
    events, frames = feed(garbage + b"\n")
    assert frames == [{"jsonrpc": "2.0", "id": None,
                       "error": {"code": -32700, "message": frames[0]["error"]["message"]}}]
    assert only(events, ev.ProtocolViolation).answered
    _, frames = feed({"jsonrpc": "2.0", "id": 2, "method": "ping"})
    assert frames == [{"jsonrpc": "2.0", "id": 2, "result": {}}]


@pytest.mark.spec("ER-01", "BP-12")
@pytest.mark.parametrize("side", ["server", "client"])
def test_a_line_nested_past_our_limit_is_answered_32700_but_reported_as_our_limit(side):
    """D-51, D-127: a line nesting deeper than MAX_NESTING is answered as before, -32700 with
    id null (its id is not read, D-04), and the session goes on. But the limit is ours (RFC
    8259 section 9 lets a reader set one; MCP sets none), so the peer broke no rule: it is
    reported as MessageDropped naming D-51, not as a ProtocolViolation of BP-01, on both
    sides, as D-123 settled for a line over the line limit (D-03)."""
    pair = handshake()
    receiver = S if side == "server" else C
    (pair.to_server if side == "server" else pair.to_client)(TOO_DEEP + b"\n")
    ex = pair.pump()
    answers = ex.to_client if side == "server" else ex.to_server
    assert answers == [{"jsonrpc": "2.0", "id": None,
                        "error": {"code": -32700, "message": answers[0]["error"]["message"]}}]
    events = ex.events(receiver)
    assert not of(events, ev.ProtocolViolation)
    dropped = only(events, ev.MessageDropped)
    assert "more than 512 deep" in dropped.reason and "D-51" in dropped.reason
    assert dropped.unread                            # logged as a warning (D-131)
    ping_id = pair.request(C, "ping")
    assert pair.pump().to_client == [{"jsonrpc": "2.0", "id": ping_id, "result": {}}]


#: Valid JSON numbers Python cannot carry back out (D-37): beyond a double, and, on Python 3.11+
#: (sys.get_int_max_str_digits), an integer of more digits than int() converts.
HUGE_NUMBERS = [b"1e400", b"-1e400"] + (
    [b"9" * 5000] if hasattr(sys, "get_int_max_str_digits") else [])


@pytest.mark.spec("ER-01", "BP-12", "BP-36")
@pytest.mark.parametrize("number", HUGE_NUMBERS)
def test_a_number_out_of_range_is_answered_by_the_request_id(number):
    """D-37: valid JSON, so not -32700 with a lost id; the request is answered -32602 by its id,
    never processed, and the session goes on."""
    server, feed = raw_session(capabilities={"tools": {}})
    events, frames = feed(b'{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"e",'
                          b'"arguments":{"n":' + number + b'}}}\n')
    assert error_codes(frames) == [(7, -32602)]
    message = frames[0]["error"]["message"]
    assert "out of the range" in message and len(message) < 200   # BP-36: quoted briefly
    if len(number) > 80:
        assert f"{'9' * 80}... ({len(number)} characters)" in message
    assert not of(events, ev.RequestReceived) and of(events, ev.MessageDropped)
    # A notification is dropped silently (BP-13); an id that is the number itself is -32600.
    events, frames = feed(b'{"jsonrpc":"2.0","method":"notifications/roots/list_changed",'
                          b'"params":{"n":' + number + b'}}\n')
    assert frames == [] and of(events, ev.MessageDropped)
    events, frames = feed(b'{"jsonrpc":"2.0","id":' + number + b',"method":"ping"}\n')
    assert error_codes(frames) == [(None, -32600)]
    assert "out of the range" in frames[0]["error"]["message"]
    _, frames = feed({"jsonrpc": "2.0", "id": 8, "method": "ping"})
    assert frames == [{"jsonrpc": "2.0", "id": 8, "result": {}}]


@pytest.mark.spec("ER-01", "BP-07")
@pytest.mark.parametrize("number", HUGE_NUMBERS)
def test_a_number_out_of_range_in_a_member_named_again_later_is_overruled(number):
    """Found by the fuzzer (seed 42): with a name given twice, the later member wins, as it
    does for any duplicate name. A number out of range in the earlier one leaves nothing out
    of range, so the message is an ordinary request (it was answered -32700, id null)."""
    server, feed = raw_session()
    _, frames = feed(b'{"jsonrpc":"2.0","id":' + number + b',"id":5,"method":"ping"}\n')
    assert frames == [{"jsonrpc": "2.0", "id": 5, "result": {}}]


@pytest.mark.spec("ER-01", "BP-16")
def test_a_number_out_of_range_fails_only_its_own_batch_member():
    server, feed = raw_session("2025-03-26")
    events, frames = feed(b'[{"jsonrpc":"2.0","id":1,"method":"ping"},'
                          b'{"jsonrpc":"2.0","id":2,"method":"ping","params":{"x":1e999}}]\n')
    assert frames[0] == {"jsonrpc": "2.0", "id": 1, "result": {}}
    assert error_codes(frames) == [(2, -32602)]


@pytest.mark.spec("BP-07")
def test_a_response_with_a_number_out_of_range_fails_its_request():
    pair = handshake()
    request_id = pair.request(C, "tools/list")
    pair.pump()
    events = pair.client.receive_data(b'{"jsonrpc":"2.0","id":%d,"result":{"tools":[],"n":1e400}}'
                                      b"\n" % request_id)
    failed = only(events, ev.RequestFailed)
    assert failed.id == request_id and "out of the range" in str(failed.error)
    assert pair.client.pending_ids == () and pair.client.data_to_send() == b""


@pytest.mark.spec("ER-01", "BP-12")
@pytest.mark.parametrize("value,expected", [
    ({"jsonrpc": "2.0", "id": 1}, (1, -32600)),
    ({"jsonrpc": "2.0", "id": "a"}, ("a", -32600)),
    ({}, (None, -32600)),
    ({"id": 6}, (6, -32600)),
    ({"jsonrpc": "2.0"}, (None, -32600)),
    (42, (None, -32600)),
    (None, (None, -32600)),
    ("ping", (None, -32600)),
    ({"jsonrpc": "2.0", "id": 2, "method": "nope"}, (2, -32601)),
    ({"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": [1]}, (3, -32602)),
    ({"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": "x"}, (4, -32600)),
    ({"jsonrpc": "1.0", "id": 5, "method": "ping"}, (5, -32600)),
    ({"jsonrpc": "2.0", "id": True, "method": "ping"}, (None, -32600)),
    ({"jsonrpc": "2.0", "id": None, "method": "ping"}, (None, -32600)),
])
def test_invalid_messages_get_the_right_code_and_id(value, expected):
    server, feed = raw_session()
    events, frames = feed(value)
    assert error_codes(frames) == [expected]
    assert not of(events, ev.RequestReceived)


@pytest.mark.spec("BP-08", "BP-10", "BP-11")
@pytest.mark.parametrize("envelope", [
    {"jsonrpc": "2.0", "result": []},
    {"jsonrpc": "2.0", "result": "ok"},
    {"jsonrpc": "2.0", "result": {}, "error": {"code": -1, "message": "both"}},
    {"jsonrpc": "2.0", "error": {"code": "1", "message": "string code"}},
    {"jsonrpc": "2.0", "error": {"code": True, "message": "bool code"}},
    {"jsonrpc": "2.0", "error": {"message": "no code"}},
    {"jsonrpc": "2.0", "error": "flat"},
    {"jsonrpc": "1.0", "result": {}},
    {"result": {}},
])
def test_bad_response_envelope_fails_the_pending_request(envelope):
    """SC-18: each pending call fails with a protocol error; the connection continues."""
    pair = handshake()
    request_id = pair.request(C, "tools/list")
    other = pair.request(C, "tools/list")
    pair.pump()
    events = pair.client.receive_data(line(dict(envelope, id=request_id)))
    failed = only(events, ev.RequestFailed)
    assert failed.id == request_id and failed.method == "tools/list"
    assert isinstance(failed.error, RemoteProtocolError)
    assert not isinstance(failed.error, PeerError)                    # ER-10: local, not wire
    assert of(events, ev.ProtocolViolation)
    assert pair.client.data_to_send() == b""                         # responses are not answered
    assert pair.client.pending_ids == (other,)
    assert pair.client.state is State.OPERATING


@pytest.mark.spec("ER-10", "BP-10")
def test_an_error_response_is_a_peer_error():
    pair = handshake()
    request_id = pair.request(C, "tools/list")
    pair.pump()
    events = pair.client.receive_data(line({"jsonrpc": "2.0", "id": request_id, "error": {
        "code": -32603, "message": "boom", "data": "details"}}))
    failed = only(events, ev.RequestFailed)
    assert isinstance(failed.error, PeerError)
    assert (failed.error.code, failed.error.message, failed.error.data) == (-32603, "boom",
                                                                           "details")


@pytest.mark.spec("BP-12")
def test_error_with_null_id_from_the_peer_is_reported_not_answered():
    pair = handshake()
    request_id = pair.request(C, "tools/list")
    pair.pump()
    for obj in ({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "p"}},
                {"jsonrpc": "2.0", "error": {"code": -32600, "message": "p"}}):
        events = pair.client.receive_data(line(obj))
        assert only(events, ev.ProtocolViolation).answered is False
    assert pair.client.pending_ids == (request_id,)
    assert pair.client.data_to_send() == b""


@pytest.mark.spec("BP-01", "BP-13")
def test_garbage_to_the_client_is_answered_at_most_once_and_never_loops():
    pair = handshake()
    pair.to_client(b"{oops\n")
    ex = pair.pump()
    assert error_codes(ex.to_server) == [(None, -32700)]
    assert ex.to_client == [b"{oops"]                   # the server does not answer an error
    assert of(ex.server_events, ev.ProtocolViolation)


# ==============================================================================================
# Line limit (D-03)
# ==============================================================================================


LIMIT = 2048


@pytest.mark.spec("TR-02", "BP-12")
def test_server_answers_a_line_too_long_with_32700_and_carries_on():
    """D-03, D-123: the line is past *our* limit, not a rule's (the spec sets none), so the
    peer broke nothing: the line is dropped and answered, not reported as a violation of a
    catalogue row (it was TR-02, which a line of one message breaks no more than a short one)."""
    pair = handshake(server_kwargs={"max_line_bytes": LIMIT})
    big = {"jsonrpc": "2.0", "id": 9, "method": "tools/call",
           "params": {"name": "echo", "arguments": {"s": "x" * (2 * LIMIT)}}}
    pair.to_server(line(big))
    ex = pair.pump()
    assert error_codes(ex.to_client) == [(None, -32700)]
    assert not of(ex.server_events, ev.RequestReceived)
    assert not of(ex.server_events, ev.ProtocolViolation)
    dropped = only(ex.server_events, ev.MessageDropped)
    assert f"{LIMIT}-byte line limit" in dropped.reason and "D-03" in dropped.reason
    assert dropped.unread                            # logged as a warning (D-131)
    assert pair.server.state is State.OPERATING
    ping_id = pair.request(C, "ping")
    ex = pair.pump()
    assert ex.to_client == [{"jsonrpc": "2.0", "id": ping_id, "result": {}}]


@pytest.mark.spec("TR-02")
def test_client_fails_the_session_on_a_line_too_long():
    """SC-09: MessageTooLarge reaches every pending call, with no hang."""
    pair = handshake(client_kwargs={"max_line_bytes": LIMIT})
    first = pair.request(C, "tools/call", {"name": "big"})
    second = pair.request(C, "tools/list")
    ex = pair.pump()
    requests = of(ex.server_events, ev.RequestReceived)
    pair.to_client(pair.server.send_response(requests[0].id, {
        "content": [{"type": "text", "text": "y" * (2 * LIMIT)}]}))
    ex = pair.pump(check_states=False)
    failed = only(ex.client_events, ev.ConnectionFailed)
    assert isinstance(failed.error, MessageTooLarge) and failed.error.limit == LIMIT
    assert set(failed.unanswered) == {first, second}
    assert pair.client.state is State.FAILED
    assert pair.client.pending_ids == ()
    # Nothing more is read or sent.
    assert pair.client.receive_data(line({"jsonrpc": "2.0", "id": second, "result": {}})) == []
    with pytest.raises(LocalProtocolError):
        pair.client.send_request("ping")


# ==============================================================================================
# End of stream (TR-13..TR-15, LC-19)
# ==============================================================================================


@pytest.mark.spec("TR-15", "LC-19")
def test_client_gets_end_of_stream_with_all_pending_ids():
    pair = handshake()
    ids = [pair.request(C, "tools/list") for _ in range(3)]
    pair.pump()
    events = pair.client.receive_data(b"")
    eos = only(events, ev.EndOfStream)
    assert set(eos.unanswered) == set(ids)
    assert pair.client.pending_ids == ()
    assert pair.client.state is State.CLOSING
    pair.client.transport_closed()
    assert pair.client.state is State.CLOSED
    assert pair.client.receive_data(b"anything\n") == []


@pytest.mark.spec("TR-14", "LC-19")
def test_server_at_eof_can_still_answer_in_flight_requests():
    pair = handshake()
    ids = [pair.request(C, "tools/list") for _ in range(2)]
    pair.pump()
    ex = pair.close_client()
    assert only(ex.server_events, ev.EndOfStream).unanswered == ()
    assert pair.server.state is pair.client.state is State.CLOSING
    for request_id in ids:
        data = pair.server.send_response(request_id, {"tools": []})
        assert frames_of(data) == [{"jsonrpc": "2.0", "id": request_id,
                                    "result": {"tools": []}}]
        pair.to_client(data)
    ex = pair.pump()
    assert [e.id for e in of(ex.client_events, ev.ResponseReceived)] == ids
    # The client, its end closed, sends nothing more.
    with pytest.raises(LocalProtocolError):
        pair.client.send_request("ping")


@pytest.mark.spec("TR-14")
def test_eof_inside_a_line_drops_the_partial_message():
    server, feed = raw_session()
    events = server.receive_data(b'{"jsonrpc":"2.0","id":1,"method":"pi')
    assert events == []
    events = server.receive_data(b"")
    assert of(events, ev.MessageDropped) and of(events, ev.EndOfStream)
    assert server.data_to_send() == b""
    assert server.state is State.CLOSING


@pytest.mark.spec("LC-19")
def test_eof_during_the_handshake():
    client = Connection(C)
    request_id, _ = client.initialize()
    events = client.receive_data(b"")
    assert only(events, ev.EndOfStream).unanswered == (request_id,)
    assert client.state is State.CLOSING


# ==============================================================================================
# Logging (LG-xx, ER-13)
# ==============================================================================================


@pytest.mark.spec("ER-13", "LG-03")
@pytest.mark.parametrize("level", ["loud", "", "INFO", 3, None, ["info"]])
def test_set_level_with_an_unknown_level_is_32602(level):
    pair = handshake()
    pair.to_server(line({"jsonrpc": "2.0", "id": 8, "method": "logging/setLevel",
                         "params": {"level": level}}))
    ex = pair.pump()
    assert error_codes(ex.to_client) == [(8, ErrorCode.INVALID_PARAMS)]
    assert pair.server.log_level == "info"


@pytest.mark.spec("LG-02", "LG-03")
def test_set_level_filters_log_messages():
    pair = handshake()
    assert pair.server.send_log("debug", "hidden by default") == b""       # D-12
    assert pair.server.send_log("info", "shown by default") != b""
    request_id = pair.request(C, "logging/setLevel", {"level": "error"})
    ex = pair.pump()
    assert ex.to_client == [{"jsonrpc": "2.0", "id": request_id, "result": {}}]
    assert not of(ex.server_events, ev.RequestReceived)      # the core answers it itself
    assert pair.server.log_level == "error"
    for level in ("debug", "info", "notice", "warning"):
        assert pair.server.send_log(level, "x") == b""
    for level in ("error", "critical", "alert", "emergency"):
        (frame,) = frames_of(pair.server.send_log(level, {"k": 1}, logger="db"))
        assert frame == {"jsonrpc": "2.0", "method": "notifications/message",
                         "params": {"level": level, "data": {"k": 1}, "logger": "db"}}


@pytest.mark.spec("LG-03", "LG-01", "BP-01")
@pytest.mark.parametrize("params", [{"level": "loud", "data": "x"}, {"level": "INFO", "data": "x"},
                                    {"data": "x"}, {"level": "info"}])
def test_client_reports_a_log_message_with_an_unknown_level_or_no_data(params):
    # LG-03: the level is one of the eight syslog levels, and the schema requires level and
    # data. Such a frame is no notifications/message: reported and not delivered (D-98), as
    # progress the schema refuses is dropped (D-25). It was delivered with the report (D-24's
    # leniency, which is for valid notifications out of context).
    pair = handshake()
    events = pair.client.receive_data(line({"jsonrpc": "2.0", "method": spec.LOG_MESSAGE,
                                            "params": params}))
    violation = only(events, ev.ProtocolViolation)
    assert events == [violation]
    assert violation.error.catalogue_id == ("LG-03" if "level" in params and "data" in params
                                            else "BP-01")
    assert pair.client.data_to_send() == b""                             # BP-13
    ok = pair.client.receive_data(line({"jsonrpc": "2.0", "method": spec.LOG_MESSAGE,
                                        "params": {"level": "notice", "data": None}}))
    assert not of(ok, ev.ProtocolViolation)


@pytest.mark.spec("LG-01")
def test_send_log_needs_the_logging_capability():
    pair = handshake(server_kwargs={"capabilities": {"tools": {}}})
    with pytest.raises(CapabilityNotNegotiated):
        pair.server.send_log("error", "x")
    with pytest.raises(LocalProtocolError):
        handshake().server.send_log("loud", "x")                         # LG-03


@pytest.mark.spec("TR-06")
def test_send_log_refuses_a_logger_that_is_not_a_string():
    """D-79: send_log("error", "x", logger=5) sent "logger": 5; the schema's
    notifications/message has ``logger?: string``. A Context.log() in a tool reached it."""
    pair = handshake()
    for bad in (5, {"name": "x"}, b"x"):
        with pytest.raises(LocalProtocolError) as info:
            pair.server.send_log("error", "x", logger=bad)
        assert info.value.catalogue_id == "TR-06"
    (frame,) = frames_of(pair.server.send_log("error", "x", logger="db"))
    assert frame["params"] == {"level": "error", "data": "x", "logger": "db"}


@pytest.mark.spec("LG-01", "ER-11")
def test_set_level_without_logging_capability_is_32601():
    server, feed = raw_session(capabilities={"tools": {}})
    _, frames = feed({"jsonrpc": "2.0", "id": 1, "method": "logging/setLevel",
                      "params": {"level": "debug"}})
    assert error_codes(frames) == [(1, ErrorCode.METHOD_NOT_FOUND)]


@pytest.mark.spec("LC-16")
@pytest.mark.parametrize("version", ["2025-11-25", "2024-11-05"])
def test_client_cannot_log(version):
    """D-119: a client's notifications/message breaks LC-16, a server's method used by a
    client (catalogue 1.1: S→C), as every other server-only notification from a client
    (D-54). It was LG-01, whose "Binds" is a server that logs without declaring ``logging``;
    and send_log on a client named that capability, which no client has. (LC-16's level,
    SHOULD before 2025-06-18, is the audit's to write: the core reports IDs only.)"""
    pair = handshake(version=version)
    with pytest.raises(LocalProtocolError) as info:
        pair.client.send_log("error", "x")
    assert info.value.catalogue_id == "LC-16"
    assert "the server sends, not the client" in str(info.value)
    with pytest.raises(LocalProtocolError) as info:
        pair.client.send_notification(spec.LOG_MESSAGE, {"level": "error", "data": "x"})
    assert info.value.catalogue_id == "LC-16"
    events = pair.server.receive_data(line({"jsonrpc": "2.0", "method": spec.LOG_MESSAGE,
                                            "params": {"level": "error", "data": "x"}}))
    assert only(events, ev.ProtocolViolation).error.catalogue_id == "LC-16"
    assert not of(events, ev.NotificationReceived)                     # refused, as before
    assert pair.server.data_to_send() == b""                           # BP-13


@pytest.mark.spec("LC-19")
def test_a_server_logging_after_the_session_closed_is_told_it_is_closed():
    """D-119: the table's last branch for a log message, reached only by a *server* in
    CLOSED or FAILED (a client's is refused before it), said "only a server sends
    notifications/message" (LG-01) to the server. The session is closed: LC-19, as for its
    other notifications."""
    pair = handshake()
    pair.server.close()
    assert pair.server.send_log("error", "x")                  # CLOSING: work in flight logs
    pair.server.transport_closed()
    with pytest.raises(LocalProtocolError) as info:
        pair.server.send_log("error", "x")
    assert info.value.catalogue_id == "LC-19"
    assert "only a server" not in str(info.value)


# ==============================================================================================
# The pair agrees with itself through a long session
# ==============================================================================================


@pytest.mark.spec("LC-01")
def test_states_agree_after_every_exchange_of_a_long_session():
    pair = ConnectionPair()
    pair.handshake()
    for n in range(20):
        request_id = pair.request(C, "tools/call", {"name": "t", "arguments": {"n": n}},
                                  progress_token=f"p{n}")
        ex = pair.pump()
        (received,) = of(ex.server_events, ev.RequestReceived)
        pair.to_client(pair.server.send_progress(received.id, n + 0.5))
        if n % 3 == 0:
            pair.to_server(pair.client.cancel(request_id))
            pair.pump()
            continue
        if n % 5 == 0:
            pair.request(S, "ping")
        pair.to_client(pair.server.send_response(received.id, {"content": []}))
        pair.pump()
    assert pair.client.pending_ids == () and pair.server.pending_ids == ()
    assert pair.server.in_flight_ids == () and pair.client.in_flight_ids == ()
    pair.close_client()
    pair.assert_same_state()


# ==============================================================================================
# Races with our own close, capability-less notifications, and a hostile peer
# ==============================================================================================


@pytest.mark.spec("LC-19", "CN-08")
def test_initialize_answer_arriving_after_the_client_closed():
    """D-01: the client drains stdout while shutting down; a late answer must not blow up."""
    client = Connection(C)
    request_id, _ = client.initialize()
    client.close()
    events = client.receive_data(line({"jsonrpc": "2.0", "id": request_id, "result": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "serverInfo": {"name": "s", "version": "1"}}}))
    assert of(events, ev.MessageDropped)
    assert not of(events, ev.Initialized) and not of(events, ev.ResponseReceived)
    assert client.data_to_send() == b""                            # no initialized
    assert client.state is State.CLOSING
    assert only(client.receive_data(b""), ev.EndOfStream).unanswered == (request_id,)


@pytest.mark.spec("TR-15", "LC-19")
def test_response_arriving_after_the_server_closed_its_end():
    pair = handshake()
    ping_id, data = pair.server.send_request("ping")
    pair.client.receive_data(data)
    answer = pair.client.data_to_send()               # the client answered ...
    assert frames_of(answer) == [{"jsonrpc": "2.0", "id": ping_id, "result": {}}]
    pair.server.close()                               # ... as the server ends the session (TR-15)
    events = pair.server.receive_data(answer)
    assert of(events, ev.MessageDropped)
    assert pair.server.state is State.CLOSING
    assert only(pair.server.receive_data(b""), ev.EndOfStream).unanswered == (ping_id,)


@pytest.mark.spec("LC-16", "LC-17", "LG-01")
def test_notification_without_its_capability_is_delivered_and_reported():
    """D-24: lenient receivers, but the violation is visible. A server's log message without
    ``logging`` declared is LG-01, the logging page's own rule (D-121; it was LC-16)."""
    pair = handshake(server_kwargs={"capabilities": {"tools": {}}},
                     client_kwargs={"capabilities": {}})
    pair.to_client(line({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}))
    pair.to_client(line({"jsonrpc": "2.0", "method": spec.LOG_MESSAGE,
                         "params": {"level": "info", "data": "x"}}))
    pair.to_server(line({"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}))
    ex = pair.pump()
    assert [e.method for e in of(ex.client_events, ev.NotificationReceived)] == [
        "notifications/tools/list_changed", spec.LOG_MESSAGE]
    assert [e.error.catalogue_id for e in of(ex.client_events, ev.ProtocolViolation)] == [
        "LC-16", "LG-01"]
    with pytest.raises(CapabilityNotNegotiated) as info:      # as the sender's, LG-01 too
        pair.server.send_log("info", "x")
    assert info.value.catalogue_id == "LG-01"
    assert only(ex.server_events, ev.NotificationReceived).method == \
        "notifications/roots/list_changed"
    assert only(ex.server_events, ev.ProtocolViolation).answered is False
    assert ex.to_client[2:] == [] and len(ex.to_server) == 1          # nothing answered
    # With the capabilities declared, the same notifications are clean.
    pair = handshake()
    pair.to_client(line({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}))
    ex = pair.pump()
    assert not of(ex.client_events, ev.ProtocolViolation)


_INIT_RESULT = {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                "serverInfo": {"name": "s", "version": "1"}}
HOSTILE = [
    {"jsonrpc": "2.0", "id": 1, "result": _INIT_RESULT},
    {"jsonrpc": "2.0", "id": 1, "result": dict(_INIT_RESULT, protocolVersion="1999-01-01")},
    {"jsonrpc": "2.0", "id": 1, "result": {}},
    {"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": "x"}},
    {"jsonrpc": "2.0", "id": 2, "result": {}},
    {"jsonrpc": "2.0", "id": 2, "error": {"code": -32603, "message": "x", "data": None}},
    {"jsonrpc": "2.0", "id": 3, "result": {}},
    {"jsonrpc": "2.0", "id": "1", "result": {}},
    {"jsonrpc": "2.0", "id": 2, "result": []},
    {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "x"}},
    {"jsonrpc": "2.0", "id": 7, "method": "ping"},
    init_request(request_id=8),
    {"jsonrpc": "2.0", "id": 9, "method": "tools/list"},
    {"jsonrpc": "2.0", "id": 10, "method": "roots/list"},
    {"jsonrpc": "2.0", "id": 11, "method": "logging/setLevel", "params": {"level": "debug"}},
    {"jsonrpc": "2.0", "id": 12, "method": "zzz"},
    {"jsonrpc": "2.0", "method": spec.INITIALIZED},
    {"jsonrpc": "2.0", "method": spec.CANCELLED, "params": {"requestId": 2}},
    {"jsonrpc": "2.0", "method": spec.CANCELLED, "params": {"requestId": 9}},
    {"jsonrpc": "2.0", "method": spec.PROGRESS, "params": {"progressToken": "t", "progress": 1}},
    {"jsonrpc": "2.0", "method": spec.LOG_MESSAGE, "params": {"level": "info", "data": 1}},
    {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"},
    [{"jsonrpc": "2.0", "id": 13, "method": "ping"}],
    [], {}, 42, None, "x",
    b"{oops\n", b"\xff\xfe\n", b"\n", b"\r\n",
]


def _client_fresh():
    return Connection(C)


def _client_initializing():
    client = Connection(C)
    client.initialize()
    client.send_request("ping")
    return client


def _client_operating():
    pair = handshake()
    pair.client.send_request("tools/list", progress_token="t")
    return pair.client


def _client_closing():
    pair = handshake()
    pair.client.send_request("tools/list", progress_token="t")
    pair.client.close()
    return pair.client


def _client_closing_during_handshake():
    client = Connection(C)
    client.initialize()
    client.close()
    return client


def _server_fresh():
    return Connection(S, capabilities={"tools": {}, "logging": {}})


def _server_awaiting_initialized():
    server = _server_fresh()
    server.receive_data(line(init_request()))
    return server


def _server_operating():
    pair = handshake()
    pair.server.send_request("ping")
    pair.server.send_request("roots/list", progress_token="t")
    return pair.server


def _server_closed_its_end():
    server = _server_operating()
    server.close()
    return server


def _server_at_eof():
    server = _server_operating()
    server.receive_data(b"")
    return server


SETUPS = [_client_fresh, _client_initializing, _client_operating, _client_closing,
          _client_closing_during_handshake, _server_fresh, _server_awaiting_initialized,
          _server_operating, _server_closed_its_end, _server_at_eof]


@pytest.mark.spec("BP-13", "CN-08", "CN-10")
@pytest.mark.parametrize("setup", SETUPS, ids=lambda f: f.__name__.strip("_"))
def test_peer_input_never_raises(setup):
    """Whatever the peer writes, in any state, receive_data returns events and never raises."""
    for item in HOSTILE:
        conn = setup()
        data = item if isinstance(item, bytes) else line(item)
        events = conn.receive_data(data)
        assert isinstance(events, list), item
        for frame in frames_of(conn.data_to_send()):
            # All it ever writes on its own: answers (to requests, or errors for bad input)
            # and, after an initialize result, notifications/initialized (LC-05).
            assert isinstance(frame, dict), frame
            assert "result" in frame or "error" in frame or frame == {
                "jsonrpc": "2.0", "method": spec.INITIALIZED}, (item, frame)
    conn = setup()
    for item in HOSTILE:                               # and all of them in one go
        conn.receive_data(item if isinstance(item, bytes) else line(item))
    conn.receive_data(b"")


# ==============================================================================================
# Robustness of the bookkeeping (added with the shell fixes)
# ==============================================================================================


@pytest.mark.spec("BP-01")
def test_a_result_that_cannot_be_encoded_leaves_the_request_answerable():
    pair = handshake()
    request_id = _in_flight_call(pair)
    for bad in ({"x": float("nan")}, {"x": b"bytes"}):
        with pytest.raises((ValueError, TypeError)):
            pair.server.send_response(request_id, bad)
    assert request_id in pair.server.in_flight_ids
    data = pair.server.send_error(request_id, ErrorCode.INTERNAL_ERROR, "could not encode")
    assert frames_of(data)[0]["id"] == request_id
    assert request_id not in pair.server.in_flight_ids


@pytest.mark.spec("LC-16", "LC-17", "ER-11")
def test_resources_subscribe_needs_the_subscribe_sub_capability():
    without = handshake(server_kwargs={"capabilities": {"resources": {}}})
    with pytest.raises(CapabilityNotNegotiated):
        without.request(C, "resources/subscribe", {"uri": "x://y"})
    # A client that sends it anyway gets -32601 from the server (ER-11).
    without.to_server(line({"jsonrpc": "2.0", "id": 99, "method": "resources/subscribe",
                            "params": {"uri": "x://y"}}))
    assert error_codes(without.pump().to_client) == [(99, -32601)]
    with_sub = handshake(server_kwargs={"capabilities": {"resources": {"subscribe": True}}})
    request_id = with_sub.request(C, "resources/subscribe", {"uri": "x://y"})
    assert only(with_sub.pump().server_events, ev.RequestReceived).id == request_id


# --- Methods and capabilities by revision (LC-15, LC-16; decisions D-35, D-36) --------------


@pytest.mark.spec("LC-15", "ER-01")
@pytest.mark.parametrize("version", ["2024-11-05", "2025-03-26"])
def test_elicitation_does_not_exist_before_2025_06_18(version):
    """catalogue 1.1: elicitation/create is V3+ (2025-06-18 on). Neither side uses it earlier."""
    pair = handshake(version, client_kwargs={"capabilities": {"elicitation": {}}})
    with pytest.raises(LocalProtocolError) as info:
        pair.server.send_request("elicitation/create", {"message": "?", "requestedSchema": {
            "type": "object", "properties": {}}})
    assert info.value.catalogue_id == "LC-15" and "2025-06-18" in str(info.value)
    assert pair.server.pending_ids == ()
    # A server that sends it anyway gets -32601, as for any method the session lacks, and the
    # client reports it (the server chose the revision); the application never sees it.
    pair.to_client(line({"jsonrpc": "2.0", "id": 70, "method": "elicitation/create",
                         "params": {"message": "?", "requestedSchema": {"type": "object"}}}))
    ex = pair.pump()
    assert error_codes(ex.to_server) == [(70, -32601)]
    assert only(ex.client_events, ev.ProtocolViolation).error.catalogue_id == "LC-15"
    assert not of(ex.client_events, ev.RequestReceived)


@pytest.mark.spec("LC-15", "LC-16")
def test_elicitation_exists_from_2025_06_18_in_form_mode_only():
    pair = handshake("2025-06-18", client_kwargs={"capabilities": {"elicitation": {"url": {}}}})
    form = {"message": "?", "requestedSchema": {"type": "object", "properties": {}}}
    request_id = pair.request(S, "elicitation/create", form)
    assert only(pair.pump().client_events, ev.RequestReceived).id == request_id
    # The url mode is 2025-11-25's; in 2025-06-18 the capability means form, whatever it lists.
    with pytest.raises(CapabilityNotNegotiated) as info:
        pair.server.send_request("elicitation/create", {"mode": "url", "message": "?",
                                                        "url": "https://x", "elicitationId": "1"})
    assert "'url' mode" in str(info.value) and "form mode only" in str(info.value)


@pytest.mark.spec("LC-16")
@pytest.mark.parametrize("declared, allowed", [
    ({}, {"form"}),                                    # an empty object means form only
    ({"form": {}}, {"form"}),
    ({"url": {}}, {"url"}),                            # url only: form MUST NOT be sent
    ({"form": {}, "url": {}}, {"form", "url"}),
])
def test_the_server_sends_only_the_elicitation_modes_the_client_declared(declared, allowed):
    """2025-11-25 client/elicitation § Capabilities: servers MUST NOT send elicitation requests
    with modes the client does not support; a request without ``mode`` is form mode (D-36)."""
    pair = handshake(client_kwargs={"capabilities": {"elicitation": declared}})
    requests = {
        "form": {"message": "?", "requestedSchema": {"type": "object", "properties": {}}},
        "url": {"mode": "url", "message": "Sign in", "url": "https://example.com/a",
                "elicitationId": "e-1"},
    }
    requests["explicit form"] = dict(requests["form"], mode="form")
    for name, params in requests.items():
        mode = name.split()[-1]
        if mode in allowed:
            request_id = pair.request(S, "elicitation/create", params)
            assert only(pair.pump().client_events, ev.RequestReceived).id == request_id
        else:
            with pytest.raises(CapabilityNotNegotiated) as info:
                pair.server.send_request("elicitation/create", params)
            assert info.value.catalogue_id == "LC-16"
    with pytest.raises(CapabilityNotNegotiated):            # not a mode at all
        pair.server.send_request("elicitation/create", {"mode": ["url"], "message": "?"})


@pytest.mark.spec("LC-16", "ER-01")
def test_the_client_refuses_an_elicitation_mode_it_did_not_declare():
    pair = handshake(client_kwargs={"capabilities": {"elicitation": {}}})
    pair.to_client(line({"jsonrpc": "2.0", "id": 71, "method": "elicitation/create",
                         "params": {"mode": "url", "message": "Sign in",
                                    "url": "https://example.com", "elicitationId": "e"}}))
    pair.to_client(line({"jsonrpc": "2.0", "id": 72, "method": "elicitation/create",
                         "params": {"mode": 5, "message": "?",   # all the form mode needs (D-98)
                                    "requestedSchema": {"type": "object", "properties": {}}}}))
    ex = pair.pump()
    assert error_codes(ex.to_server) == [(71, -32602), (72, -32602)]
    assert "mode 'url' was not declared" in ex.to_server[0]["error"]["message"]
    assert [e.error.catalogue_id for e in of(ex.client_events, ev.ProtocolViolation)] == [
        "LC-16", "LC-16"]
    assert not of(ex.client_events, ev.RequestReceived)
    assert pair.client.state is State.OPERATING


_TOOL_SAMPLING = {"messages": [{"role": "user", "content": {"type": "text", "text": "?"}}],
                  "maxTokens": 10,
                  "tools": [{"name": "t", "inputSchema": {"type": "object"}}]}


@pytest.mark.spec("LC-15", "LC-16", "LC-17")
@pytest.mark.parametrize("version, declared, allowed", [
    ("2025-11-25", {"tools": {}}, True),
    ("2025-11-25", {"context": {}}, False),
    ("2025-11-25", {}, False),
    ("2025-06-18", {"tools": {}}, False),        # no tool use in sampling before 2025-11-25
    ("2024-11-05", {"tools": {}}, False),
])
def test_the_server_sends_tools_in_sampling_only_to_a_client_that_declared_them(
        version, declared, allowed):
    """2025-11-25 client/sampling: servers MUST NOT send tool-enabled sampling requests to
    clients that did not declare ``sampling.tools``; before 2025-11-25 neither the capability
    nor the ``tools`` and ``toolChoice`` params exist (LC-15; D-95)."""
    pair = handshake(version, client_kwargs={"capabilities": {"sampling": declared}})
    plain = {k: v for k, v in _TOOL_SAMPLING.items() if k != "tools"}
    request_id = pair.request(S, "sampling/createMessage", plain)     # always fine
    assert only(pair.pump().client_events, ev.RequestReceived).id == request_id
    for params in (_TOOL_SAMPLING, dict(plain, toolChoice={"mode": "auto"})):
        if allowed:
            request_id = pair.request(S, "sampling/createMessage", params)
            assert only(pair.pump().client_events, ev.RequestReceived).id == request_id
        else:
            with pytest.raises(CapabilityNotNegotiated) as info:
                pair.server.send_request("sampling/createMessage", params)
            assert info.value.catalogue_id == ("LC-16" if version == "2025-11-25" else "LC-15")


@pytest.mark.spec("LC-15", "LC-16", "LC-17")
@pytest.mark.parametrize("version, declared", [
    ("2025-11-25", {}), ("2025-06-18", {"tools": {}}), ("2025-03-26", {})])
def test_the_client_refuses_tools_in_sampling_it_did_not_declare(version, declared):
    """The receiving side of the rule above, as D-36 answers an undeclared elicitation mode:
    -32602, reported, never handed to the application (D-95)."""
    pair = handshake(version, client_kwargs={"capabilities": {"sampling": declared}})
    pair.to_client(line({"jsonrpc": "2.0", "id": 81, "method": "sampling/createMessage",
                         "params": _TOOL_SAMPLING}))
    ex = pair.pump()
    assert error_codes(ex.to_server) == [(81, -32602)]
    assert "tools" in ex.to_server[0]["error"]["message"]
    assert of(ex.client_events, ev.ProtocolViolation)
    assert not of(ex.client_events, ev.RequestReceived)
    assert pair.client.state is State.OPERATING


@pytest.mark.spec("LC-15", "ER-01", "ER-11")
def test_completion_in_2024_11_05_is_not_a_violation_when_the_server_has_none():
    """2024-11-05 has ``completion/complete`` but no ``completions`` capability, so a client
    asking for completion broke no rule: a server without completion answers -32601, as for a
    method it does not implement, and reports nothing, as the auditor does (D-35, D-95). From
    2025-03-26 on the request needs the capability, and asking without it is reported."""
    params = {"ref": {"type": "ref/prompt", "name": "p"},
              "argument": {"name": "a", "value": "x"}}
    frame = {"jsonrpc": "2.0", "id": 9, "method": "completion/complete", "params": params}
    for version, reported in (("2024-11-05", False), ("2025-03-26", True)):
        pair = handshake(version, server_kwargs={"capabilities": {"prompts": {}}})
        pair.to_server(line(frame))
        ex = pair.pump()
        assert error_codes(ex.to_client) == [(9, -32601)]
        assert bool(of(ex.server_events, ev.ProtocolViolation)) is reported, version
        assert ("'completions' capability" in ex.to_client[0]["error"]["message"]) is reported


@pytest.mark.spec("BP-01", "BP-13", "ER-01", "ER-11", "LC-15", "LC-16")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_a_bad_meta_on_what_the_revision_or_a_capability_rules_out_gets_one_verdict(version):
    """D-96 (D-92 and D-95 read together), both roles, every revision. A request for a method
    we do not serve is answered -32601 before its params are read, as an unknown method is:
    with ``"_meta": 5``, ``completion/complete`` to a server without completion is still
    D-95's unreported -32601 in 2024-11-05 (the revision has no capability to lack) and
    ER-11's reported one after. A notification whose ``_meta`` is not an object is no
    notification (D-92): one report, BP-01, and nothing delivered, whatever its method would
    otherwise have earned (LC-15 for one the revision lacks, LC-16 for an undeclared mode)."""
    params = {"ref": {"type": "ref/prompt", "name": "p"},
              "argument": {"name": "a", "value": "x"}, "_meta": 5}
    pair = handshake(version, server_kwargs={"capabilities": {"prompts": {}}})
    pair.to_server(line({"jsonrpc": "2.0", "id": 9, "method": "completion/complete",
                         "params": params}))
    ex = pair.pump()
    assert error_codes(ex.to_client) == [(9, -32601)]
    reports = [e.error.catalogue_id for e in of(ex.server_events, ev.ProtocolViolation)]
    assert reports == ([] if version == "2024-11-05" else ["ER-11"])
    events = pair.client.receive_data(line({
        "jsonrpc": "2.0", "method": spec.ELICITATION_COMPLETE,
        "params": {"elicitationId": "e-1", "_meta": 5}}))
    assert [e.error.catalogue_id for e in of(events, ev.ProtocolViolation)] == ["BP-01"]
    assert events == of(events, ev.ProtocolViolation)          # nothing delivered


@pytest.mark.spec("LC-15", "LC-16")
def test_elicitation_complete_needs_2025_11_25_and_the_url_mode():
    """notifications/elicitation/complete is 2025-11-25's (catalogue 1.1) and ends a url-mode
    elicitation, so it needs that mode declared (D-35, D-36)."""
    params = {"elicitationId": "e-1"}
    older = handshake("2025-06-18", client_kwargs={"capabilities": {"elicitation": {}}})
    with pytest.raises(LocalProtocolError) as info:
        older.server.send_notification(spec.ELICITATION_COMPLETE, params)
    assert info.value.catalogue_id == "LC-15"
    # Received anyway: delivered, as any notification (D-24), and reported.
    events = older.client.receive_data(line({"jsonrpc": "2.0", "method": spec.ELICITATION_COMPLETE,
                                             "params": params}))
    assert only(events, ev.ProtocolViolation).error.catalogue_id == "LC-15"
    assert only(events, ev.NotificationReceived).method == spec.ELICITATION_COMPLETE
    form_only = handshake(client_kwargs={"capabilities": {"elicitation": {"form": {}}}})
    with pytest.raises(CapabilityNotNegotiated):
        form_only.server.send_notification(spec.ELICITATION_COMPLETE, params)
    with_url = handshake(client_kwargs={"capabilities": {"elicitation": {"url": {}}}})
    with_url.to_client(with_url.server.send_notification(spec.ELICITATION_COMPLETE, params))
    ex = with_url.pump()
    assert only(ex.client_events, ev.NotificationReceived).params == params
    assert not of(ex.client_events, ev.ProtocolViolation)


@pytest.mark.spec("LC-16", "LC-17")
def test_completion_is_ungated_in_2024_11_05_which_has_no_completions_capability():
    """catalogue 1.2: ``completions`` is V2+ (2025-03-26 on), while completion/complete is in
    every revision; before its capability existed, nothing gates the request (D-35)."""
    params = {"ref": {"type": "ref/prompt", "name": "p"},
              "argument": {"name": "a", "value": "x"}}
    old = handshake("2024-11-05", server_kwargs={"capabilities": {"prompts": {},
                                                                  "completions": {}}})
    request_id = old.request(C, "completion/complete", params)
    assert only(old.pump().server_events, ev.RequestReceived).id == request_id
    newer = handshake("2025-03-26", server_kwargs={"capabilities": {"prompts": {}}})
    with pytest.raises(CapabilityNotNegotiated) as info:
        newer.client.send_request("completion/complete", params)
    assert info.value.catalogue_id == "LC-16"
    # A server that does not offer completion answers -32601 in any revision (ER-11): its own
    # capabilities say what it implements.
    plain = handshake("2024-11-05", server_kwargs={"capabilities": {"prompts": {}}})
    request_id = plain.request(C, "completion/complete", params)
    assert error_codes(plain.pump().to_client) == [(request_id, -32601)]


@pytest.mark.spec("ER-01", "ER-11", "LC-02")
def test_before_initialize_a_method_we_do_not_offer_is_32601_and_one_we_offer_is_32600():
    """D-05: whether a server has a method does not depend on the phase, so a method behind a
    capability it did not declare is -32601 in every state, like an unknown method; a method
    it has is -32600 until the session is initialized."""
    server, feed = raw_server(capabilities={"resources": {}})
    events, frames = feed(
        {"jsonrpc": "2.0", "id": 1, "method": "resources/subscribe", "params": {"uri": "a:b"}},
        {"jsonrpc": "2.0", "id": 2, "method": "completion/complete", "params": {}},
        {"jsonrpc": "2.0", "id": 3, "method": "resources/read", "params": {"uri": "a:b"}},
        {"jsonrpc": "2.0", "id": 4, "method": "no/such"})
    assert error_codes(frames) == [(1, -32601), (2, -32601), (3, -32600), (4, -32601)]
    assert server.state is State.AWAITING_INITIALIZE


@pytest.mark.spec("CN-07")
def test_the_memory_of_abandoned_requests_is_bounded(monkeypatch):
    import mcp_ref.connection as connection
    monkeypatch.setattr(connection, "ABANDONED_MEMORY", 3)
    pair = handshake()
    ids = [pair.request(C, "tools/list") for _ in range(5)]
    for request_id in ids:
        pair.client.cancel(request_id)
    assert list(pair.client._abandoned) == ids[-3:]
    # The newest are still recognised as late answers; the oldest count as unknown ids.
    events = pair.client.receive_data(line({"jsonrpc": "2.0", "id": ids[-1], "result": {}}))
    assert of(events, ev.MessageDropped)
    events = pair.client.receive_data(line({"jsonrpc": "2.0", "id": ids[0], "result": {}}))
    assert of(events, ev.ProtocolViolation)


@pytest.mark.spec("PR-03")
def test_the_automatic_progress_token_avoids_a_token_the_caller_chose():
    pair = handshake()
    first = pair.request(C, "tools/list", progress_token=pair.client._next_id + 1)
    second, data = pair.client.send_request("tools/list", want_progress=True)
    assert second == first + 1
    token = frames_of(data)[0]["params"]["_meta"]["progressToken"]
    assert token == f"mcp_ref-{second}"


@pytest.mark.spec("LC-15", "LC-16")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_each_side_declares_only_capabilities_its_revision_has(version):
    """D-41: a client offering 2024-11-05 does not declare elicitation (2025-06-18), nor a
    server answering 2024-11-05 completions (2025-03-26); both still do what they can."""
    pair = ConnectionPair(
        client_kwargs={"supported_versions": (version,),
                       "capabilities": {"roots": {}, "elicitation": {}}},
        server_kwargs={"capabilities": {"tools": {}, "completions": {}}})
    _, data = pair.client.initialize()
    pair.to_server(data)
    pair.pump()
    init, _ = pair.c2s
    assert ("elicitation" in init["params"]["capabilities"]) is (version >= "2025-06-18")
    assert "roots" in init["params"]["capabilities"]
    answered = pair.s2c[0]["result"]["capabilities"]
    assert ("completions" in answered) is (version >= "2025-03-26") and "tools" in answered


@pytest.mark.spec("BP-09")
@pytest.mark.parametrize("result", [None, [1], "text", 3])
def test_a_result_that_is_not_an_object_is_refused_and_the_request_can_still_be_answered(
        result):
    pair = handshake()
    request_id = pair.request(C, "tools/list")
    pair.pump()
    with pytest.raises(LocalProtocolError) as info:
        pair.server.send_response(request_id, result)
    assert info.value.catalogue_id == "BP-09"
    (frame,) = frames_of(pair.server.send_error(request_id, ErrorCode.INTERNAL_ERROR, "no"))
    assert frame["id"] == request_id and frame["error"]["code"] == -32603


@pytest.mark.spec("LC-16", "TR-07")
def test_a_known_request_or_notification_of_the_other_direction_is_never_sent():
    pair = handshake(client_kwargs={"capabilities": {"roots": {}, "sampling": {}}})
    for method in ("roots/list", "sampling/createMessage", "elicitation/create"):
        with pytest.raises(LocalProtocolError, match="a request the server sends"):
            pair.client.send_request(method, {})
    for method in ("tools/list", "resources/read", "logging/setLevel"):
        with pytest.raises(LocalProtocolError, match="a request the client sends"):
            pair.server.send_request(method, {})
    assert pair.client.pending_ids == () and pair.server.pending_ids == ()
    pair.client.send_request("x-vendor/extension", {})    # a method the spec does not name
    for method in ("notifications/tools/list_changed", "notifications/message",
                   "notifications/elicitation/complete"):
        with pytest.raises(LocalProtocolError, match="a notification the server sends"):
            pair.client.send_notification(method, {})
    for method in ("notifications/initialized", "notifications/roots/list_changed"):
        with pytest.raises(LocalProtocolError, match="a notification the client sends"):
            pair.server.send_notification(method, {})
    pair.client.send_notification("x-vendor/note", {})


@pytest.mark.spec("BP-01", "BP-14", "TR-06", "TR-07")
def test_a_known_notification_is_never_sent_as_a_request_nor_a_request_as_a_notification():
    """D-82 (helper-65, found by driving a server's ``Context.request`` at random): a
    notification method sent as a request (``{"id": 3, "method": "notifications/progress"}``)
    or a request method sent as a notification (``{"method": "ping"}``) matches none of the
    schema's request or notification definitions: no valid message. Refused before anything
    is counted; methods the spec does not name still go out either way, as extensions."""
    pair = handshake(client_kwargs={"capabilities": {"roots": {}, "sampling": {}}},
                     server_kwargs={"capabilities": {"logging": {}, "tools": {}}})
    for conn in (pair.client, pair.server):
        for method in ("notifications/progress", "notifications/cancelled",
                       "notifications/initialized", "notifications/message",
                       "notifications/roots/list_changed", "notifications/tools/list_changed"):
            with pytest.raises(LocalProtocolError, match="a notification, not a request"):
                conn.send_request(method, {})
        for method in ("ping", "initialize", "tools/list", "roots/list",
                       "sampling/createMessage"):
            with pytest.raises(LocalProtocolError, match="a request, not a notification"):
                conn.send_notification(method, {})
        assert conn.pending_ids == () and conn.data_to_send() == b""
    pair.server.send_request("notifications/x-vendor", {})    # names the spec does not use
    pair.client.send_notification("x-vendor/ping", {})


@pytest.mark.spec("BP-01", "BP-05")
def test_params_json_cannot_carry_raise_not_json_and_register_nothing():
    """A typed error for the caller, and no pending request that no response could settle;
    the session goes on."""
    pair = handshake()
    before = pair.client.pending_ids
    too_deep = []
    for _ in range(600):
        too_deep = [too_deep]                   # past MAX_NESTING (D-51): still NotJson
    for bad in ({"x": object()}, {"x": float("nan")}, {"x": too_deep}):
        with pytest.raises(NotJson, match="JSON|deep"):
            pair.client.send_request("tools/call", {"name": "t", "arguments": bad},
                                     want_progress=True)
    assert pair.client.pending_ids == before and pair.client.data_to_send() == b""
    request_id = pair.request(C, "ping")
    assert pair.pump() and request_id not in pair.client.pending_ids


@pytest.mark.spec("BP-01", "TR-07")
def test_a_method_that_is_not_a_string_or_params_that_are_not_an_object_are_never_sent():
    """Client review: ``client.request(5)`` wrote ``"method": 5``, and ``notify("x", [1])``
    params that are an array: no JSON-RPC message of MCP's schema (BP-01), on the server's
    stdin (TR-07). ``request("x", [("a", 1)])`` even went out as ``{"a": 1}``, ``[]`` as no
    params, and ``[1]`` was a bare TypeError. Now LocalProtocolError, nothing sent or
    registered, and the session goes on; an empty object is still fine."""
    pair = handshake()
    before = pair.client.pending_ids
    for method, params in ((5, None), (None, {}), (b"ping", None), ("x/y", [1]),
                           ("x/y", [("a", 1)]), ("x/y", []), ("x/y", "ab"), ("x/y", 0)):
        with pytest.raises(LocalProtocolError, match="BP-01|a string|an object") as info:
            pair.client.send_request(method, params)
        assert info.value.catalogue_id == "BP-01"
        with pytest.raises(LocalProtocolError) as info:
            pair.client.send_notification(method, params)
        assert info.value.catalogue_id == "BP-01"
    assert pair.client.pending_ids == before and pair.client.data_to_send() == b""
    request_id = pair.request(C, "ping", {})
    assert pair.pump() and request_id not in pair.client.pending_ids


@pytest.mark.spec("BP-01", "LC-03")
def test_an_initialize_json_cannot_carry_leaves_the_client_ready_to_try_again():
    client = Connection(Role.CLIENT, info={"name": "c", "version": "1", "icons": [object()]})
    with pytest.raises(NotJson):
        client.initialize()
    assert client.state is State.AWAITING_INITIALIZE and client.pending_ids == ()
    client.info = {"name": "c", "version": "1"}
    request_id, data = client.initialize()
    assert frames_of(data)[0]["id"] == request_id and client.pending_ids == (request_id,)


@pytest.mark.spec("LC-09", "LC-12")
def test_supported_versions_are_kept_newest_first_whatever_order_they_come_in():
    """D-80: the client offers its first revision and the server counter-offers its first; given
    oldest first, the client offered 2024-11-05 while it spoke 2025-06-18 (LC-09 says the
    newest), and the server counter-offered its oldest (LC-12)."""
    client = Connection(Role.CLIENT, supported_versions=("2024-11-05", "2025-06-18"))
    assert client.supported_versions == ("2025-06-18", "2024-11-05")
    _, data = client.initialize()
    assert frames_of(data)[0]["params"]["protocolVersion"] == "2025-06-18"
    server = Connection(Role.SERVER, supported_versions=["2025-03-26", "2025-11-25"])
    offer = {"protocolVersion": "1999-01-01", "capabilities": {},
             "clientInfo": {"name": "c", "version": "1"}}
    server.receive_data(line({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                              "params": offer}))
    assert frames_of(server.data_to_send())[0]["result"]["protocolVersion"] == "2025-11-25"


@pytest.mark.spec("LC-19", "TR-15")
@pytest.mark.parametrize("role", list(Role))
def test_closing_an_end_the_transport_already_closed_is_a_no_op(role):
    """D-83 (helper-63's leftover): a shell that hears of end of stream first (the process is
    gone) and then closes its own end got LocalProtocolError, while closing twice before that
    was allowed (CLOSING stays CLOSING). As in h11, closing is a no-op once closed."""
    connection = handshake().client if role is Role.CLIENT else handshake().server
    connection.transport_closed()
    connection.close()
    connection.close()
    assert connection.state is State.CLOSED
    assert connection.data_to_send() == b""


@pytest.mark.spec("LC-16", "BP-13")
@pytest.mark.parametrize("receiver, method", [
    (Role.CLIENT, "notifications/roots/list_changed"),
    (Role.SERVER, "notifications/tools/list_changed"),
    (Role.SERVER, "notifications/resources/updated"),
    (Role.SERVER, "notifications/elicitation/complete")])
def test_a_notification_sent_the_wrong_way_is_reported_as_such_and_still_delivered(
        receiver, method):
    """D-83 (helper-63's leftover), the receiving side of D-54: a server's roots/list_changed
    was reported as "needs the peer's 'roots.listChanged' capability", a capability a server
    cannot have, and a client's elicitation/complete was delivered with no report. Now each is
    named as sent the wrong way, delivered (a lenient receiver, D-24), and never answered
    (BP-13). (A client's notifications/message is the lifecycle's to refuse: LC-16, D-119.)"""
    pair = handshake()
    connection = pair.conn(receiver)
    # The members the schema requires (D-98: without them the frame is reported BP-01 and
    # dropped, as no notification of its method).
    params = {"notifications/resources/updated": {"uri": "file:///x"},
              "notifications/elicitation/complete": {"elicitationId": "e"}}.get(method, {})
    events = connection.receive_data(line({"jsonrpc": "2.0", "method": method,
                                           "params": params}))
    violations = [e.error for e in events if isinstance(e, ev.ProtocolViolation)]
    assert [v.catalogue_id for v in violations] == ["LC-16"]
    sender = "client" if receiver is Role.CLIENT else "server"
    assert f"the {sender} sends, not the {receiver.peer.value}" in str(violations[0])
    assert [e.method for e in events if isinstance(e, ev.NotificationReceived)] == [method]
    assert connection.data_to_send() == b""


@pytest.mark.spec("LC-16")
@pytest.mark.parametrize("modes, reported", [({}, True), ({"form": {}}, True),
                                             ({"url": {}}, False)])
def test_elicitation_complete_to_a_client_without_url_mode_is_reported(modes, reported):
    """D-83 (helper-63's leftover): the receiving side of send_notification's refusal (D-36):
    the notification ends a url-mode elicitation, which a client that declared no url mode
    never started. It was delivered with no report."""
    pair = handshake(client_kwargs={"capabilities": {"elicitation": modes}})
    events = pair.client.receive_data(line({
        "jsonrpc": "2.0", "method": "notifications/elicitation/complete",
        "params": {"elicitationId": "e1"}}))
    violations = [e.error.catalogue_id for e in events if isinstance(e, ev.ProtocolViolation)]
    assert violations == (["LC-16"] if reported else [])
    assert any(isinstance(e, ev.NotificationReceived) for e in events)


@pytest.mark.spec("BP-01", "TR-06", "TR-07")
def test_a_known_method_without_the_params_its_schema_requires_is_never_sent():
    """D-85 (left open by helper-63 and D-82): a raw ``send_request("tools/call")``, or a
    server's ``Context.request("sampling/createMessage", {"messages": []})``, went out though
    no definition of the schema matches it: without ``name`` a tools/call is no tools/call.
    Refused before anything is counted, on both sides and for notifications too. What the
    members hold is not judged here (a raw request may still ask a peer something it will
    refuse with -32602, D-54)."""
    pair = handshake(client_kwargs={"capabilities": {"roots": {}, "sampling": {}}},
                     server_kwargs={"capabilities": {"logging": {}, "tools": {},
                                                     "resources": {"subscribe": True}}})
    refused = [(pair.client, "send_request", "tools/call", None, "'name'"),
               (pair.client, "send_request", "tools/call", {"arguments": {}}, "'name'"),
               (pair.client, "send_request", "resources/read", {}, "'uri'"),
               (pair.client, "send_request", "logging/setLevel", None, "'level'"),
               (pair.client, "send_request", "tasks/get", {}, "'taskId'"),
               (pair.server, "send_request", "sampling/createMessage", {"messages": []},
                "'maxTokens'"),
               (pair.server, "send_notification", "notifications/resources/updated", {},
                "'uri'")]
    for conn, send, method, params, missing in refused:
        with pytest.raises(LocalProtocolError, match=f"{method}: params need {missing}") as info:
            getattr(conn, send)(method, params)
        assert info.value.catalogue_id == "BP-01"
        assert conn.pending_ids == () and conn.data_to_send() == b""
    pair.request(Role.CLIENT, "tools/call", {"name": 5})    # a value: the server's to judge
    received = pair.pump().of_type(Role.SERVER, ev.RequestReceived)
    assert [(r.method, r.params) for r in received] == [("tools/call", {"name": 5})]


@pytest.mark.spec("BP-01", "TR-07")
@pytest.mark.parametrize("version", ["2025-06-18", "2025-11-25"])
def test_an_elicitation_carries_what_its_mode_requires(version):
    """D-85: every revision's form-mode elicitation requires ``requestedSchema``, and
    2025-11-25's url mode ``mode``, ``url`` and ``elicitationId`` instead (the members every
    alternative requires, only ``message``, let both through). Each is refused without them."""
    elicitation = {"form": {}, "url": {}} if version == "2025-11-25" else {}
    pair = handshake(version, client_kwargs={"capabilities": {"elicitation": elicitation}})
    with pytest.raises(LocalProtocolError, match="params need 'requestedSchema'"):
        pair.server.send_request("elicitation/create", {"message": "name?"})
    if version == "2025-11-25":
        with pytest.raises(LocalProtocolError, match="params need 'url', 'elicitationId'"):
            pair.server.send_request("elicitation/create", {"message": "go", "mode": "url"})
        pair.server.send_request("elicitation/create", {"message": "go", "mode": "url",
                                                        "url": "https://example.com/x",
                                                        "elicitationId": "e1"})
    pair.server.send_request("elicitation/create",
                             {"message": "name?", "requestedSchema": {"type": "object",
                                                                      "properties": {}}})
    assert len(pair.server.pending_ids) == (2 if version == "2025-11-25" else 1)


@pytest.mark.spec("BP-01", "BP-14", "LC-15")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_the_tasks_methods_are_known_to_the_core_in_2025_11_25_only(version):
    """D-85: ``spec.REQUESTS`` and ``spec.NOTIFICATIONS`` lacked 2025-11-25's tasks methods, so
    ``send_notification("tasks/get")`` and ``send_request("notifications/tasks/status")`` went
    out, which no definition matches (D-82), and so did ``tasks/get`` in a revision without
    tasks (LC-15). Received, a tasks request is -32601 (mcp_ref declares no tasks), and a
    status notification in an older revision is reported, as elicitation/complete is."""
    pair = handshake(version)
    with pytest.raises(LocalProtocolError, match="a request, not a notification"):
        pair.client.send_notification("tasks/get", {"taskId": "t"})
    with pytest.raises(LocalProtocolError, match="a notification, not a request"):
        pair.server.send_request("notifications/tasks/status", {})
    status = {"taskId": "t", "status": "working", "createdAt": "2025-11-25T00:00:00Z",
              "lastUpdatedAt": "2025-11-25T00:00:00Z", "ttl": None}
    if version < "2025-11-25":
        with pytest.raises(LocalProtocolError, match="does not exist") as info:
            pair.client.send_request("tasks/get", {"taskId": "t"})
        assert info.value.catalogue_id == "LC-15"
        with pytest.raises(LocalProtocolError, match="does not exist"):
            pair.server.send_notification("notifications/tasks/status", status)
        pair.to_client(line({"jsonrpc": "2.0", "method": "notifications/tasks/status",
                             "params": status}))
        violations = pair.pump().of_type(Role.CLIENT, ev.ProtocolViolation)
        assert [v.error.catalogue_id for v in violations] == ["LC-15"]
    else:
        pair.to_client(pair.server.send_notification("notifications/tasks/status", status))
        pair.request(Role.CLIENT, "tasks/get", {"taskId": "t"})
        exchange = pair.pump()
        assert exchange.of_type(Role.CLIENT, ev.ProtocolViolation) == []
        assert error_codes(exchange.to_client) == [(2, -32601)]


@pytest.mark.spec("ER-01", "BP-16")
@pytest.mark.parametrize("params, code", [("x", -32600), (5, -32600), (True, -32600),
                                          (None, -32600), ([1], -32602), ([], -32602)])
def test_params_that_are_not_an_object_get_one_code_on_every_path(params, code):
    """D-85 (helper-65 saw both codes): one rule, JSON-RPC 2.0's. Params that are no structured
    value make no valid Request object (-32600); an array is a valid JSON-RPC request whose
    by-position params no MCP method takes (-32602). The same whether the request comes
    alone, in a 2025-03-26 batch, or carries a number Python cannot hold (D-37)."""
    frame = {"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": params, "x": "N"}
    pair = handshake("2025-03-26")
    for data in (line(frame), line([frame])):
        for number in (b"1", b"9" * 5000):
            pair.to_server(data.replace(b'"N"', number))
            assert error_codes(pair.pump().to_client) == [(9, code)], (data, len(number))
