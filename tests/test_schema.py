"""Every frame the core emits validates against the official MCP JSON schema (BP-01).

Each session is validated against the schema of the revision it negotiated (LC-15):
shared/spec/<version>/schema.json for 2025-11-25 and 2025-06-18, and
tests/fixtures/schemas/<version>/schema.json for 2025-03-26 and 2024-11-05 (copied byte for
byte from the spec repository; see the PROVENANCE.md there). 2025-11-25 is JSON Schema 2020-12
(``$defs``); the three older files are draft-07 (``definitions``). Validating an older session
against a newer schema would hide a method the older revision lacks (``elicitation/create``
before 2025-06-18: decision D-35), so no session borrows another revision's schema.

The one documented exception in what the core writes itself is an error response with
``"id": null``, sent when the id of the offending message could not be read (a parse error;
decision D-04, catalogue A4, BP-12).
JSON-RPC 2.0 requires the null; MCP's schemas do not allow it (2025-11-25 makes ``id`` optional
but not nullable; the draft-07 revisions make it required). For those frames we assert that
``id`` is None, drop the member, and validate the rest; against the draft-07 revisions that also
means not requiring ``id`` in ``JSONRPCError`` (the one change made to a copy of those schemas,
in :func:`_validator`).

The second is not the core's own writing: params a caller hands the raw ``send_request`` or
``send_notification`` go out with their members' values as given (``{"uri": 5}``), the way to
make a peer refuse a value (D-54, D-85, D-92); the frames below never do that, and
:func:`test_raw_params_go_out_as_given_the_second_exception_and_progress_is_never_one` pins it.
"""

import copy
import json
from functools import lru_cache
from pathlib import Path

import pytest

jsonschema = pytest.importorskip("jsonschema")

from helpers import ConnectionPair, frames_of, line  # noqa: E402
from mcp_ref import events as ev  # noqa: E402
from mcp_ref import spec  # noqa: E402
from mcp_ref.errors import ErrorCode, LocalProtocolError  # noqa: E402
from mcp_ref.lifecycle import Role  # noqa: E402

C, S = Role.CLIENT, Role.SERVER

SPEC_DIR = Path(__file__).resolve().parents[2] / "shared" / "spec"
if not SPEC_DIR.exists():
    SPEC_DIR = Path("/work/shared/spec")
FIXTURE_SCHEMAS = Path(__file__).resolve().parent / "fixtures" / "schemas"

#: Where each negotiable revision's schema file lives (see the module docstring).
SCHEMA_FILES = {
    "2025-11-25": SPEC_DIR / "2025-11-25" / "schema.json",
    "2025-06-18": SPEC_DIR / "2025-06-18" / "schema.json",
    "2025-03-26": FIXTURE_SCHEMAS / "2025-03-26" / "schema.json",
    "2024-11-05": FIXTURE_SCHEMAS / "2024-11-05" / "schema.json",
}
assert set(SCHEMA_FILES) == set(spec.SUPPORTED_VERSIONS)
DRAFT7 = ("2025-06-18", "2025-03-26", "2024-11-05")

#: Per-method definitions, where the schema has them.
REQUEST_DEFS = {
    "initialize": "InitializeRequest", "ping": "PingRequest", "tools/list": "ListToolsRequest",
    "tools/call": "CallToolRequest", "logging/setLevel": "SetLevelRequest",
    "roots/list": "ListRootsRequest", "resources/read": "ReadResourceRequest",
    "sampling/createMessage": "CreateMessageRequest", "elicitation/create": "ElicitRequest",
    "resources/list": "ListResourcesRequest", "prompts/list": "ListPromptsRequest",
    "prompts/get": "GetPromptRequest",
}
NOTIFICATION_DEFS = {
    spec.INITIALIZED: "InitializedNotification", spec.CANCELLED: "CancelledNotification",
    spec.PROGRESS: "ProgressNotification", spec.LOG_MESSAGE: "LoggingMessageNotification",
    "notifications/tools/list_changed": "ToolListChangedNotification",
    "notifications/roots/list_changed": "RootsListChangedNotification",
}
RESULT_DEFS = {
    "initialize": "InitializeResult", "ping": "EmptyResult", "tools/list": "ListToolsResult",
    "tools/call": "CallToolResult", "logging/setLevel": "EmptyResult",
    "roots/list": "ListRootsResult", "sampling/createMessage": "CreateMessageResult",
    "elicitation/create": "ElicitResult", "resources/list": "ListResourcesResult",
    "resources/read": "ReadResourceResult", "prompts/list": "ListPromptsResult",
    "prompts/get": "GetPromptResult", "resources/templates/list": "ListResourceTemplatesResult",
    "completion/complete": "CompleteResult",
}
#: The envelope definition of each shape, by schema file.
_DRAFT7_ENVELOPES = {"request": "JSONRPCRequest", "notification": "JSONRPCNotification",
                     "result": "JSONRPCResponse", "error": "JSONRPCError"}
ENVELOPES = {
    "2025-11-25": {"request": "JSONRPCRequest", "notification": "JSONRPCNotification",
                   "result": "JSONRPCResultResponse", "error": "JSONRPCErrorResponse"},
    **{version: _DRAFT7_ENVELOPES for version in DRAFT7},
}
#: Which side may send what, by direction (the schema's own unions).
DIRECTION_DEFS = {
    C: {"request": "ClientRequest", "notification": "ClientNotification",
        "result": "ClientResult"},
    S: {"request": "ServerRequest", "notification": "ServerNotification",
        "result": "ServerResult"},
}


@lru_cache(maxsize=None)
def _schema(schema_version):
    schema = json.loads(SCHEMA_FILES[schema_version].read_text("utf-8"))
    cls = (jsonschema.Draft202012Validator if "$defs" in schema else jsonschema.Draft7Validator)
    cls.check_schema(schema)                  # the file itself is a valid schema of its dialect
    _elicited_numbers_as_schema_ts_says(schema)
    return schema


def _elicited_numbers_as_schema_ts_says(schema):
    """D-84: an elicited value is ``string | number | boolean`` in schema.ts, the source of
    truth (https://modelcontextprotocol.io/specification/2025-11-25/basic/index#schema);
    the generated JSON says ``integer``, which refuses 1.5, the answer to a form's
    NumberSchema. Upstream corrects such slips in the generated file (NumberSchema's bounds in
    2025-11-25); this one is corrected here, the second change to an official schema after
    D-04's."""
    definitions = schema.get("$defs") or schema.get("definitions")
    content = definitions.get("ElicitResult", {}).get("properties", {}).get("content")
    if content is None:
        return                                  # no elicitation before 2025-06-18
    values = content["additionalProperties"]
    scalar = next(v for v in values.get("anyOf", [values]) if isinstance(v.get("type"), list))
    assert "integer" in scalar["type"], "the schema changed: is D-84's correction still due?"
    scalar["type"] = ["number" if t == "integer" else t for t in scalar["type"]]


def _defs_key(schema_version):
    return "$defs" if "$defs" in _schema(schema_version) else "definitions"


@lru_cache(maxsize=None)
def _validator(schema_version, definition, null_id_exception=False):
    """A validator for one definition, resolving ``$ref`` inside the same document."""
    schema = _schema(schema_version)
    if null_id_exception and schema_version in DRAFT7:
        # D-04: a change to an official schema (the other is D-84's, in _schema above), for
        # id-null error responses only.
        schema = copy.deepcopy(schema)
        error_def = schema["definitions"]["JSONRPCError"]
        error_def["required"] = [r for r in error_def["required"] if r != "id"]
    key = _defs_key(schema_version)
    assert definition in schema[key], f"{definition} not in {schema_version}"
    root = dict(schema)
    root["$ref"] = f"#/{key}/{definition}"
    cls = (jsonschema.Draft202012Validator if key == "$defs" else jsonschema.Draft7Validator)
    return cls(root)


def _shape(frame):
    if "method" in frame:
        return "request" if "id" in frame else "notification"
    return "error" if "error" in frame else "result"


def validate_frame(frame, version, sender, method_of=None):
    """Validate one emitted frame; returns the definitions it was checked against."""
    assert isinstance(frame, dict), f"not a JSON object: {frame!r}"
    schema_version = version
    shape = _shape(frame)
    null_id = shape == "error" and "id" in frame and frame["id"] is None
    if null_id:
        # The documented exception (D-04): only for errors whose id was unreadable.
        assert frame["error"]["code"] in (ErrorCode.PARSE_ERROR, ErrorCode.INVALID_REQUEST)
        frame = {k: v for k, v in frame.items() if k != "id"}
    checked = ["JSONRPCMessage", ENVELOPES[schema_version][shape]]
    for definition in checked:
        _validator(schema_version, definition, null_id).validate(frame)
    if shape in ("request", "notification"):
        table = REQUEST_DEFS if shape == "request" else NOTIFICATION_DEFS
        definition = table.get(frame["method"])
        if definition:
            _validator(schema_version, definition).validate(frame)
            checked.append(definition)
        direction = DIRECTION_DEFS[sender][shape]
        _validator(schema_version, direction).validate(frame)
        checked.append(direction)
    elif shape == "result":
        direction = DIRECTION_DEFS[sender]["result"]
        _validator(schema_version, direction).validate(frame["result"])
        checked.append(direction)
        method = (method_of or {}).get(frame["id"])
        definition = RESULT_DEFS.get(method)
        if definition:
            _validator(schema_version, definition).validate(frame["result"])
            checked.append(definition)
    return checked


# --- A rich scripted session --------------------------------------------------------------------


def rich_session(version):
    """One session exercising every kind of message the core can emit.

    Raw input from a misbehaving peer is fed straight into ``receive_data`` so that only what
    the core itself writes is recorded in ``pair.c2s`` / ``pair.s2c``.
    """
    info = {"name": "mcp-ref-test", "version": "1.0.0", "title": "Test", "description": "d",
            "websiteUrl": "https://example.com"}
    pair = ConnectionPair(
        client_kwargs={"supported_versions": (version,), "info": info,
                       "capabilities": {"roots": {"listChanged": True}, "sampling": {}}},
        server_kwargs={"info": info, "instructions": "Call echo to echo.",
                       "capabilities": {"tools": {"listChanged": True}, "logging": {},
                                        "resources": {}}})
    pair.handshake()
    client, server = pair.client, pair.server

    # Ping, both ways (PG-01, PG-02).
    pair.request(C, "ping")
    pair.request(S, "ping")
    pair.pump()

    # logging/setLevel, then log messages (LG-02).
    pair.request(C, "logging/setLevel", {"level": "debug"})
    pair.pump()
    pair.to_client(server.send_log("info", {"msg": "hello"}, logger="test"))
    pair.to_client(server.send_log("error", "plain string data"))

    # tools/list with a progress token; progress without total, with total, with message.
    list_id = pair.request(C, "tools/list", progress_token="tok-1")
    pair.pump()
    pair.to_client(server.send_progress(list_id, 1))
    pair.to_client(server.send_progress(list_id, 2.5, total=10))
    pair.to_client(server.send_progress(list_id, 5, total=10, message="halfway"))
    pair.to_client(server.send_response(list_id, {"tools": [
        {"name": "echo", "description": "Echo", "inputSchema": {"type": "object"}}]}))
    pair.pump()

    # tools/call with an integer token, answered; another one cancelled with a reason.
    call_id = pair.request(C, "tools/call", {"name": "echo", "arguments": {"s": "é漢"}},
                           progress_token=0)
    pair.pump()
    pair.to_client(server.send_progress(call_id, 0.5, total=1.0))
    pair.to_client(server.send_response(call_id, {
        "content": [{"type": "text", "text": "é漢"}], "isError": False}))
    slow_id = pair.request(C, "tools/call", {"name": "slow"})
    pair.pump()
    pair.to_server(client.cancel(slow_id, "user pressed stop"))
    pair.pump()

    # Error responses of each code.
    server.receive_data(b"{oops\n")                                          # -32700, id null
    server.receive_data(b"[]\n")                                             # -32600, id null
    server.receive_data(line({"jsonrpc": "2.0", "id": 901, "method": "initialize",
                              "params": {"protocolVersion": version, "capabilities": {},
                                         "clientInfo": {"name": "x", "version": "1"}}}))
    server.receive_data(line({"jsonrpc": "2.0", "id": 902, "method": "zzz/zzz"}))   # -32601
    server.receive_data(line({"jsonrpc": "2.0", "id": 903, "method": "logging/setLevel",
                              "params": {"level": "loud"}}))                      # -32602
    server.receive_data(line({"jsonrpc": "2.0", "id": 904, "method": "tools/list",
                              "params": [1]}))                                    # -32602
    server.receive_data(line({"jsonrpc": "2.0", "id": 905}))                      # -32600
    pair.pump()
    failing = pair.request(C, "tools/call", {"name": "broken"})
    missing = pair.request(C, "resources/read", {"uri": "file:///nope"})
    pair.pump()
    pair.to_client(server.send_error(failing, ErrorCode.INTERNAL_ERROR, "Internal error",
                                     {"trace": "x"}))
    pair.to_client(server.send_error(missing, ErrorCode.RESOURCE_NOT_FOUND,
                                     "Resource not found", {"uri": "file:///nope"}))
    pair.pump()

    # list_changed notifications, both ways.
    pair.to_client(server.send_notification("notifications/tools/list_changed"))
    pair.to_server(client.send_notification("notifications/roots/list_changed"))
    pair.pump()

    # Server -> client: roots/list, answered, with progress from the client.
    roots_id = pair.request(S, "roots/list", progress_token="roots")
    pair.pump()
    pair.to_server(client.send_progress(roots_id, 1, total=1))
    pair.to_server(client.send_response(roots_id, {"roots": [
        {"uri": "file:///tmp", "name": "tmp"}]}))
    # sampling/createMessage (every revision), answered by the client.
    sample_id = pair.request(S, "sampling/createMessage", {
        "messages": [{"role": "user", "content": {"type": "text", "text": "hi"}}],
        "maxTokens": 10})
    pair.pump()
    pair.to_server(client.send_response(sample_id, {
        "role": "assistant", "content": {"type": "text", "text": "hello"}, "model": "m"}))
    again = pair.request(S, "roots/list")
    pair.pump()
    pair.to_server(client.send_error(again, ErrorCode.INTERNAL_ERROR, "roots unavailable"))
    # The client answers what it cannot serve: -32601 (no elicitation capability declared).
    client.receive_data(line({"jsonrpc": "2.0", "id": 906, "method": "elicitation/create",
                              "params": {"message": "?", "requestedSchema": {
                                  "type": "object", "properties": {}}}}))
    client.receive_data(b"\xff\n")                                  # the client's -32700
    pair.pump()

    # A 2025-03-26 session answers a batch member by member, each on its own line (D-06).
    if version == spec.BATCH_VERSION:
        server.receive_data(line([{"jsonrpc": "2.0", "id": 907, "method": "ping"},
                                  {"jsonrpc": "2.0", "id": 908, "method": "zzz"}]))
        pair.pump()
    return pair


def _methods_by_id(frames):
    return {f["id"]: f["method"] for f in frames
            if isinstance(f, dict) and "method" in f and "id" in f}


@pytest.mark.spec("BP-01", "BP-03", "BP-04", "BP-09", "BP-10", "BP-11", "BP-12", "BP-14",
                  "LC-03", "LC-04", "LC-05", "PG-01", "CN-01", "PR-01", "PR-04", "LG-03")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_every_emitted_frame_validates(version):
    pair = rich_session(version)
    by_client = _methods_by_id(pair.c2s)     # ids of requests the client sent
    by_server = _methods_by_id(pair.s2c)
    checked = set()
    for frame in pair.c2s:
        checked.update(validate_frame(frame, version, C, method_of=by_server))
    for frame in pair.s2c:
        checked.update(validate_frame(frame, version, S, method_of=by_client))
    # The session really covered what it claims (a validator that saw nothing proves nothing).
    methods = {f.get("method") for f in pair.c2s + pair.s2c}
    assert {"initialize", spec.INITIALIZED, "ping", "tools/list", "tools/call",
            "logging/setLevel", spec.PROGRESS, spec.CANCELLED, spec.LOG_MESSAGE,
            "notifications/tools/list_changed", "notifications/roots/list_changed",
            "roots/list", "sampling/createMessage"} <= methods
    codes = {f["error"]["code"] for f in pair.c2s + pair.s2c if "error" in f}
    assert {-32700, -32600, -32601, -32602, -32603, -32002} <= codes
    assert {"InitializeResult", "ListToolsResult", "ListRootsResult", "EmptyResult",
            "CreateMessageRequest", "CreateMessageResult",
            "CallToolResult", "ProgressNotification", "CancelledNotification",
            "LoggingMessageNotification", "ClientRequest", "ServerRequest",
            "ClientNotification", "ServerNotification", "ClientResult",
            "ServerResult"} <= checked
    # Every frame was a single object: no batches are ever sent (BP-16: sending is MAY).
    assert all(isinstance(f, dict) for f in pair.c2s + pair.s2c)
    progress = [f["params"] for f in pair.s2c if f.get("method") == spec.PROGRESS]
    assert any("message" in p for p in progress) is (version >= "2025-03-26")


@pytest.mark.spec("LC-03", "LC-04", "LC-21")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_initialize_messages_validate_against_their_definitions(version):
    pair = rich_session(version)
    schema_version = version
    request, result = pair.c2s[0], pair.s2c[0]
    assert request["method"] == "initialize" and result["id"] == request["id"]
    _validator(schema_version, "InitializeRequest").validate(request)
    _validator(schema_version, "InitializeResult").validate(result["result"])
    _validator(schema_version, "Implementation").validate(request["params"]["clientInfo"])
    _validator(schema_version, "Implementation").validate(result["result"]["serverInfo"])
    _validator(schema_version, "ClientCapabilities").validate(request["params"]["capabilities"])
    _validator(schema_version, "ServerCapabilities").validate(result["result"]["capabilities"])
    if schema_version == "2025-11-25":
        _validator(schema_version, "InitializeRequestParams").validate(request["params"])
    assert result["result"]["instructions"] == "Call echo to echo."
    _validator(schema_version, "InitializedNotification").validate(pair.c2s[1])


@pytest.mark.spec("LC-15", "LC-16")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_elicitation_is_sent_only_where_the_revision_has_it(version):
    """D-35, D-36: elicitation/create exists from 2025-06-18 (catalogue 1.1); its url mode from
    2025-11-25. What is sent validates against the negotiated revision's schema, and what the
    revision lacks is refused before a byte is written."""
    from mcp_ref.errors import LocalProtocolError
    pair = ConnectionPair(
        client_kwargs={"supported_versions": (version,),
                       "capabilities": {"elicitation": {"form": {}, "url": {}}}})
    pair.handshake()
    form = {"message": "Your name?", "requestedSchema": {
        "type": "object", "properties": {"name": {"type": "string"}}}}
    url = {"mode": "url", "message": "Sign in", "url": "https://example.com/login",
           "elicitationId": "e-1"}
    if version < "2025-06-18":
        with pytest.raises(LocalProtocolError) as caught:
            pair.server.send_request("elicitation/create", form)
        assert caught.value.catalogue_id == "LC-15" and "does not exist" in str(caught.value)
        assert not _validator(version, "ServerRequest").is_valid(
            {"jsonrpc": "2.0", "id": 1, "method": "elicitation/create", "params": form})
        return
    sent = [pair.request(S, "elicitation/create", form)]
    if version >= "2025-11-25":
        sent.append(pair.request(S, "elicitation/create", url))
    else:
        with pytest.raises(LocalProtocolError) as caught:
            pair.server.send_request("elicitation/create", url)
        assert caught.value.catalogue_id == "LC-16" and "'url' mode" in str(caught.value)
    pair.pump()
    for request_id in sent:
        pair.to_server(pair.client.send_response(request_id, {"action": "decline"}))
    pair.pump()
    by_server = _methods_by_id(pair.s2c)
    checked = set()
    for frame in pair.s2c:
        checked.update(validate_frame(frame, version, S))
    for frame in pair.c2s:
        checked.update(validate_frame(frame, version, C, method_of=by_server))
    assert {"ElicitRequest", "ElicitResult", "ServerRequest", "ClientResult"} <= checked
    assert sum(f.get("method") == "elicitation/create" for f in pair.s2c) == len(sent)


@pytest.mark.spec("BP-01", "LC-15", "TL-01", "LG-03", "PR-01")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_a_real_session_with_the_reference_server_validates(version, tmp_path):
    """Beyond the core: every frame of a session between mcp_ref's Client and the reference
    server (``python3 -m mcp_ref serve``), as its transcript recorded them, validates against
    the negotiated revision's schema: tool, resource and prompt results, log messages,
    progress, server requests and the client's answers, and errors."""
    import sys
    from mcp_ref.client import Client
    from mcp_ref.errors import PeerError

    trace = tmp_path / "session.jsonl"
    root = Path(__file__).resolve().parent.parent
    with Client.spawn([sys.executable, "-m", "mcp_ref", "serve"], cwd=str(root),
                      supported_versions=(version,), trace=str(trace),
                      roots=lambda: [{"uri": "file:///tmp", "name": "tmp"}],
                      sampling=lambda params: {"role": "assistant", "model": "m", "content": {
                          "type": "text", "text": "ok"}},
                      elicitation=lambda params: {"action": "accept",
                                                  "content": {"answer": "yes"}},
                      on_notification=lambda method, params: None) as client:
        assert client.protocol_version == version
        client.ping()
        client.set_logging_level("debug")
        tools = client.list_tools()
        assert {t["name"] for t in tools} >= {"echo", "slow", "elicit", "sample", "roots"}
        client.call_tool("echo", {"text": "h\u00e9llo"})
        client.call_tool("add", {"a": 1, "b": 2.5})
        client.call_tool("fail", {"message": "no"})
        client.call_tool("slow", {"seconds": 0.05, "steps": 2},
                         on_progress=lambda progress, total, message: None)
        for name in ("roots", "sample", "ping_client", "elicit"):
            client.call_tool(name, {"prompt": "p", "message": "m"} if name in (
                "sample", "elicit") else {})
        client.call_tool("log", {"level": "warning", "message": "careful"})
        with pytest.raises(PeerError):
            client.call_tool("no-such-tool", {})
        for resource in client.list_resources():
            client.read_resource(resource["uri"])
        for prompt in client.list_prompts():
            client.get_prompt(prompt["name"], {"name": "Ada"} if prompt["name"] == "greet"
                              else {})
    records = [json.loads(text) for text in trace.read_text("utf-8").splitlines()]
    frames = [r for r in records if "dir" in r]
    assert all("msg" in r for r in frames), "a line that is not JSON was written or read"
    checked = set()
    for record in frames:
        sender = C if record["dir"] == "send" else S
        frame = record["msg"]
        method_of = {frame.get("id"): record["method"]} if "method" in record else {}
        checked.update(validate_frame(frame, version, sender, method_of=method_of))
    expected = {"CallToolResult", "ListToolsResult", "ListResourcesResult", "ReadResourceResult",
                "ListPromptsResult", "GetPromptResult", "LoggingMessageNotification",
                "ProgressNotification", "ListRootsResult", "CreateMessageResult",
                "InitializeResult", "EmptyResult", "ServerRequest", "ClientResult"}
    if version >= "2025-06-18":
        expected |= {"ElicitRequest", "ElicitResult"}
    assert expected <= checked, expected - checked
    # The schemas leave definitions open (no additionalProperties: false), so a field a later
    # revision added would pass; check the listed definitions against their properties (LC-15).
    defs = _schema(version)[_defs_key(version)]
    for record in frames:
        result = record["msg"].get("result") or {}
        for key, definition in (("tools", "Tool"), ("resources", "Resource"),
                                ("prompts", "Prompt")):
            for item in result.get(key, []):
                assert set(item) <= set(defs[definition]["properties"]), (version, item)
    sent_methods = {r["msg"].get("method") for r in frames if r["dir"] == "recv"}
    assert ("elicitation/create" in sent_methods) is (version >= "2025-06-18")


@pytest.mark.spec("BP-12")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_null_id_is_the_only_exception(version):
    """Only error responses to unreadable messages carry id null, and only they need D-04."""
    pair = rich_session(version)
    schema_version = version
    strict = _validator(schema_version, "JSONRPCMessage")
    exceptions = [f for f in pair.c2s + pair.s2c if not strict.is_valid(f)]
    assert exceptions, "the session should contain parse errors"
    for frame in exceptions:
        assert "error" in frame and frame["id"] is None, frame
        assert frame["error"]["code"] in (-32700, -32600)
    nulls = [f for f in pair.c2s + pair.s2c if "id" in f and f["id"] is None]
    assert nulls == exceptions


# --- The validators can fail (otherwise the tests above prove nothing) -----------------------


@pytest.mark.parametrize("schema_version", spec.SUPPORTED_VERSIONS)
@pytest.mark.parametrize("frame", [
    {"jsonrpc": "1.0", "id": 1, "method": "ping"},
    {"id": 1, "method": "ping"},
    {"jsonrpc": "2.0", "id": 1, "result": []},
    {"jsonrpc": "2.0", "id": 1, "error": {"code": "x", "message": "m"}},
    {"jsonrpc": "2.0", "id": 1, "error": {"code": 1}},
    {"jsonrpc": "2.0", "id": 1.5, "result": {}},
    {"jsonrpc": "2.0", "method": 5},
])
def test_the_schema_rejects_broken_frames(schema_version, frame):
    assert not _validator(schema_version, "JSONRPCMessage").is_valid(frame)


@pytest.mark.parametrize("schema_version", spec.SUPPORTED_VERSIONS)
def test_the_specific_definitions_reject_broken_messages(schema_version):
    def bad(definition, obj):
        assert not _validator(schema_version, definition).is_valid(obj), definition
    bad("JSONRPCRequest", {"jsonrpc": "2.0", "id": True, "method": "ping"})
    bad("InitializeResult", {"protocolVersion": "2025-11-25", "capabilities": {}})
    bad("ProgressNotification", {"jsonrpc": "2.0", "method": spec.PROGRESS,
                                 "params": {"progressToken": 1.5, "progress": 1}})
    bad("CancelledNotification", {"jsonrpc": "2.0", "method": spec.CANCELLED,
                                  "params": {"requestId": True}})
    bad("LoggingMessageNotification", {"jsonrpc": "2.0", "method": spec.LOG_MESSAGE,
                                       "params": {"level": "loud", "data": 1}})
    bad("ClientRequest", {"jsonrpc": "2.0", "id": 1, "method": "roots/list"})
    bad("ServerNotification", {"jsonrpc": "2.0", "method": spec.INITIALIZED})


def test_null_id_error_fails_the_strict_schema_as_documented():
    frame = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
    for schema_version in spec.SUPPORTED_VERSIONS:
        assert not _validator(schema_version, "JSONRPCMessage").is_valid(frame)
        assert validate_frame(frame, schema_version, S)


# --- Frames from bad-input sessions validate too --------------------------------------------


GARBAGE = [b"{oops", b"\xff", b"42", b"null", b"[]", b"{}", b'{"jsonrpc":"2.0"}',
           b'{"jsonrpc":"2.0","id":1}', b'{"jsonrpc":"2.0","id":true,"method":"ping"}',
           b'{"jsonrpc":"2.0","id":2,"method":"tools/list","params":"x"}',
           b'[{"jsonrpc":"2.0","id":3,"method":"ping"}]',
           b'{"jsonrpc":"2.0","id":4,"method":"nope"}',
           b'{"jsonrpc":"2.0","method":"notifications/zzz"}',
           b'{"jsonrpc":"2.0","id":5,"result":{}}']


@pytest.mark.spec("BP-01", "BP-12", "ER-01")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_answers_to_garbage_validate(version):
    """SC-08: whatever the server answers to garbage is still a valid message (or D-04)."""
    pair = ConnectionPair(client_kwargs={"supported_versions": (version,)})
    pair.handshake()
    for raw in GARBAGE:
        pair.server.receive_data(raw + b"\n")
    out = frames_of(pair.server.data_to_send())
    assert len(out) >= 8
    for frame in out:
        validate_frame(frame, version, S)
    events = pair.server.receive_data(b"")
    assert any(isinstance(e, ev.EndOfStream) for e in events)


# --- Handler results fitted to the negotiated revision (D-41) ---------------------------------

CONTENT_SERVER = Path(__file__).resolve().parent / "fixtures" / "content_server.py"

#: Content block type -> its schema definition.
BLOCK_DEFS = {"text": "TextContent", "image": "ImageContent", "audio": "AudioContent",
              "resource": "EmbeddedResource", "resource_link": "ResourceLink"}


def _unlisted(defs, definition, obj):
    """Members of ``obj`` that the revision's ``definition`` does not list. The schemas leave
    objects open (no additionalProperties: false), so validation alone would not see them."""
    if "$ref" in definition:
        definition = defs[definition["$ref"].rsplit("/", 1)[1]]
    return set(obj) - set(definition.get("properties", {}))


def _unlisted_in_block(defs, block):
    definition = defs[BLOCK_DEFS[block["type"]]]
    extra = _unlisted(defs, definition, block)
    if "annotations" in block:
        extra |= _unlisted(defs, definition["properties"]["annotations"], block["annotations"])
    if block["type"] == "resource":
        extra |= _unlisted(defs, defs["TextResourceContents"], block["resource"])
    return extra


@pytest.mark.spec("LC-15", "TL-08", "TL-10", "ER-03", "PN-05", "ER-12")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_handler_results_are_fitted_to_the_negotiated_revision(version, tmp_path):
    """D-41: what handlers return reaches the peer in the negotiated revision's shapes. A
    member the revision lacks is dropped; a content block type it lacks (audio before
    2025-03-26, resource_link before 2025-06-18) is refused with -32603, since the older
    schema has no such block; every frame validates and no object carries a member its
    definition does not list. Tool results that are not results (a number, a dict without
    content) are tool errors, not a dict's keys sent as content blocks."""
    import sys
    from mcp_ref.client import Client
    from mcp_ref.errors import PeerError

    def outcome(call):
        try:
            return call()
        except PeerError as exc:
            return exc.code

    trace = tmp_path / "session.jsonl"
    with Client.spawn([sys.executable, str(CONTENT_SERVER)], supported_versions=(version,),
                      trace=str(trace)) as client:
        assert client.protocol_version == version
        tools = {t["name"]: t for t in client.list_tools()}
        (resource,) = client.list_resources()
        prompts = {p["name"]: p for p in client.list_prompts()}
        calls = {name: outcome(lambda: client.call_tool(name, {})) for name in tools}
        titled = client.get_prompt("titled", {})
        spoken = outcome(lambda: client.get_prompt("spoken", {}))
        bad_cursor = outcome(lambda: client.request("resources/templates/list",
                                                    {"cursor": "not-ours"}))
        templates = client.request("resources/templates/list", {})

    assert (calls["audio"] == ErrorCode.INTERNAL_ERROR) is (version < "2025-03-26")
    assert (spoken == ErrorCode.INTERNAL_ERROR) is (version < "2025-03-26")
    assert (calls["link"] == ErrorCode.INTERNAL_ERROR) is (version < "2025-06-18")
    new = version >= "2025-06-18"
    (block,) = calls["text"]["content"]
    assert ("_meta" in block) is new and ("lastModified" in block["annotations"]) is new
    assert ("_meta" in calls["embedded"]["content"][0]["resource"]) is new
    structured = calls["structured"]
    assert json.loads(structured["content"][0]["text"]) == {"answer": 42}          # TL-10
    assert ("structuredContent" in structured) is new
    for name in ("number", "keys"):
        assert calls[name]["isError"] is True                                        # ER-03
        assert "not a tool result" in calls[name]["content"][0]["text"]
    assert ("title" in tools["text"]) is new and ("icons" in tools["text"]) is (
        version >= "2025-11-25")
    assert ("annotations" in tools["text"]) is (version >= "2025-03-26")
    assert "annotations" in resource                      # resources had them from 2024-11-05
    assert ("lastModified" in resource["annotations"]) is new
    assert ("title" in prompts["titled"]["arguments"][0]) is new
    assert titled["messages"][0]["content"]["text"] == "hello"
    assert bad_cursor == ErrorCode.INVALID_PARAMS and templates["resourceTemplates"] == []

    defs = _schema(version)[_defs_key(version)]
    records = [json.loads(text) for text in trace.read_text("utf-8").splitlines()]
    frames = [r for r in records if "dir" in r]
    checked = set()
    for record in frames:
        frame = record["msg"]
        method_of = {frame.get("id"): record["method"]} if "method" in record else {}
        checked.update(validate_frame(frame, version, C if record["dir"] == "send" else S,
                                      method_of=method_of))
        result = frame.get("result") or {}
        for key, definition in (("tools", "Tool"), ("resources", "Resource"),
                                ("prompts", "Prompt")):
            for item in result.get(key, []):
                assert not _unlisted(defs, defs[definition], item), (version, item)
                for argument in item.get("arguments", []):
                    assert not _unlisted(defs, defs["PromptArgument"], argument), argument
                if "annotations" in item and definition == "Resource":
                    assert not _unlisted(defs, defs[definition]["properties"]["annotations"],
                                         item["annotations"]), item
        blocks = list(result.get("content", [])) + [
            m["content"] for m in result.get("messages", [])]
        for block in blocks:
            assert not _unlisted_in_block(defs, block), (version, block)
        if "content" in result:
            assert not _unlisted(defs, defs["CallToolResult"], result), (version, result)
    assert {"CallToolResult", "GetPromptResult", "ListToolsResult"} <= checked


# --- Random sequences, every outgoing frame validated (helper-63, D-79) -----------------------

#: A valid result for each request the random session sends, by method (the core does not
#: fit results to methods; the shells do, D-41 and D-59): what a correct handler returns.
_RESULTS = {
    "ping": {}, "tools/list": {"tools": []},
    "tools/call": {"content": [{"type": "text", "text": "ok"}]},
    "resources/list": {"resources": []}, "prompts/list": {"prompts": []},
    "roots/list": {"roots": []}, "logging/setLevel": {},
    "sampling/createMessage": {"role": "assistant", "model": "m",
                               "content": {"type": "text", "text": "hi"}},
    "elicitation/create": {"action": "decline"},
}
#: What each side asks, with params the schema accepts.
_ASKS = {
    C: [("ping", None), ("tools/list", None), ("tools/call", {"name": "t", "arguments": {}}),
        ("resources/list", None), ("prompts/list", None),
        ("logging/setLevel", {"level": "debug"})],
    S: [("ping", None), ("roots/list", None),
        ("sampling/createMessage", {"messages": [{"role": "user", "content": {
            "type": "text", "text": "q"}}], "maxTokens": 5}),
        ("elicitation/create", {"message": "?", "requestedSchema": {
            "type": "object", "properties": {}}})],
}
#: Values of every JSON type, for ids, codes, tokens and members of adversarial frames.
_ODD = ["a", 7, 0, -1, 7.5, 1.0, True, None, {"x": 1}, [1], "", 2 ** 70]


def _adversarial_line(rng, version):
    """One raw line from a misbehaving peer: a mutation of a valid-looking frame."""
    method = rng.choice(["ping", "tools/list", "roots/list", "initialize", "zzz/zzz",
                         "elicitation/create", "tasks/get", spec.INITIALIZED, spec.CANCELLED,
                         spec.PROGRESS, spec.LOG_MESSAGE, "notifications/tools/list_changed"])
    frame = {"jsonrpc": rng.choice(["2.0", "2.0", "2.0", "1.0", None]), "id": rng.choice(_ODD),
             "method": method, "params": rng.choice([None, {}, [], "x", {
                 "requestId": rng.choice(_ODD), "progressToken": rng.choice(_ODD),
                 "progress": rng.choice(_ODD), "level": "info", "data": 1,
                 "protocolVersion": version, "capabilities": {},
                 "clientInfo": {"name": "x", "version": "1"}}])}
    for member in ("jsonrpc", "id", "method", "params"):
        if rng.random() < 0.25:
            del frame[member]
    if rng.random() < 0.3:
        frame.pop("method", None)
        frame[rng.choice(["result", "error"])] = rng.choice(
            [{}, {"code": rng.choice(_ODD), "message": rng.choice(_ODD)}, None, 5])
        if rng.random() < 0.3:
            frame["result"], frame["error"] = {}, {"code": -1, "message": "both"}
    if rng.random() < 0.15:
        frame = [frame, {"jsonrpc": "2.0", "id": rng.choice(_ODD), "method": "ping"}]
    raw = json.dumps(frame).encode()
    return rng.choice([raw, raw, raw, raw[:-1], b"{oops", b"[]", b"\xff"]) + b"\n"


def _random_session(version, rng, steps):
    """A session driven by random calls on both sides and random garbage fed to either; the
    pair and the events, after a close. Refusals (LocalProtocolError) are part of the run."""
    from mcp_ref.errors import LocalProtocolError

    pair = ConnectionPair(
        client_kwargs={"supported_versions": (version,), "capabilities": {
            "roots": {"listChanged": True}, "sampling": {}, "elicitation": {}}},
        server_kwargs={"capabilities": {"tools": {"listChanged": True}, "logging": {},
                                        "resources": {}, "prompts": {}}})
    if rng.random() < 0.9:
        pair.handshake()
    for _ in range(steps):
        side = rng.choice([C, S])
        conn = pair.conn(side)
        received = pair.client_events if side is C else pair.server_events
        action = rng.randrange(9)
        try:
            if action == 0:                                 # a garbage line from the peer
                received += conn.receive_data(_adversarial_line(rng, version))
            elif action in (1, 2):
                method, params = rng.choice(_ASKS[side])
                pair.request(side, method, params, want_progress=rng.random() < 0.5)
            elif action == 3 and conn.in_flight_ids:        # answer, well
                request_id = rng.choice(conn.in_flight_ids)
                method = next(e.method for e in reversed(received)
                              if isinstance(e, ev.RequestReceived) and e.id == request_id)
                pair.send(side, conn.send_response(request_id, _RESULTS[method]))
            elif action == 4 and conn.in_flight_ids:        # answer with an error
                pair.send(side, conn.send_error(rng.choice(conn.in_flight_ids),
                                                rng.choice([-32603, -32602, 1]), "no"))
            elif action == 5 and conn.in_flight_ids:        # progress, maybe a bad value
                pair.send(side, conn.send_progress(rng.choice(conn.in_flight_ids),
                                                   rng.choice([1, 2, 3.5, 10]),
                                                   rng.choice([None, 10]),
                                                   rng.choice([None, "step"])))
            elif action == 6 and conn.pending_ids:          # cancel one of ours
                pair.send(side, conn.cancel(rng.choice(conn.pending_ids),
                                            rng.choice([None, "stop"])))
            elif action == 7:
                if side is S:
                    pair.send(side, conn.send_log(rng.choice(spec.LOG_LEVELS), {"n": 1}))
                else:
                    pair.send(side, conn.send_notification("notifications/roots/list_changed"))
            pair.pump(check_states=False)
        except LocalProtocolError:
            pass                # refused before anything was sent: nothing to validate
    pair.pump(check_states=False)
    pair.close_client()
    pair.server.receive_data(b"")
    pair.pump(check_states=False)
    return pair


@pytest.mark.spec("BP-01", "TR-06", "TR-07", "PR-02")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_raw_params_go_out_as_given_the_second_exception_and_progress_is_never_one(version):
    """D-92: what goes out when a caller hands a known method values of the wrong type.
    ``send_request`` and ``send_notification`` (under ``Client.request``, ``Session.notify``
    and ``Context.request``) check that params are an object (BP-01) with the members the
    method requires (D-85) and an object ``_meta`` (D-79), not what the members hold:
    ``{"name": 5}`` goes out as written, and the schema refuses it. That is the documented
    way to make a peer answer a bad value -32602 (D-54, D-85; ``{"uri": 5}`` in
    ``tests/test_end_to_end.py``), the second exception to this module's rule besides D-04's;
    the typed helpers check their values (TL-08, D-54). A progress notification is never
    one: it goes out only through ``send_progress``, with the token of a request whose
    ``_meta`` the receiver checked (PR-02, D-87)."""
    pair = ConnectionPair(
        client_kwargs={"supported_versions": (version,),
                       "capabilities": {"roots": {}, "sampling": {}}},
        server_kwargs={"capabilities": {"tools": {}, "logging": {}, "prompts": {},
                                        "resources": {"subscribe": True}}})
    pair.handshake()
    raw = [(C, "tools/call", {"name": 5}), (C, "resources/read", {"uri": 7}),
           (C, "prompts/get", {"name": ["greet"]}), (C, "logging/setLevel", {"level": "loud"}),
           (S, "sampling/createMessage", {"messages": 5, "maxTokens": "10"}),
           (S, "notifications/resources/updated", {"uri": 7})]
    for sender, method, params in raw:
        connection = pair.conn(sender)
        data = (connection.send_notification(method, params) if method.startswith("notif")
                else connection.send_request(method, params)[1])
        [frame] = frames_of(data)
        assert frame["params"] == params                        # as written
        with pytest.raises(jsonschema.ValidationError):
            validate_frame(frame, version, sender)
    with pytest.raises(LocalProtocolError, match="use send_progress"):
        pair.server.send_notification(spec.PROGRESS, {"progressToken": 1.5, "progress": 1})
    pair.server.receive_data(line({"jsonrpc": "2.0", "id": "t", "method": "tools/list",
                                   "params": {"_meta": {"progressToken": 1.5}}}))   # -32602
    assert pair.server.send_progress("t", 1) == b""


@pytest.mark.spec("BP-01", "BP-03", "BP-04", "BP-07", "BP-10", "BP-11", "BP-12", "BP-14")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_random_sessions_send_only_frames_their_revision_accepts(version):
    """Property (fixed seeds): whatever both sides are asked to do, and whatever garbage
    either is fed, every frame either one writes validates against the negotiated revision's
    schema, D-04's id-null errors aside (helper-63, D-79)."""
    import random
    frames = 0
    for seed in range(6):
        rng = random.Random(f"{version}/{seed}")
        pair = _random_session(version, rng, steps=120)
        by_client, by_server = _methods_by_id(pair.c2s), _methods_by_id(pair.s2c)
        for frame in pair.c2s:
            validate_frame(frame, version, C, method_of=by_server)
        for frame in pair.s2c:
            validate_frame(frame, version, S, method_of=by_client)
        frames += len(pair.c2s) + len(pair.s2c)
    assert frames > 200         # the sessions really said something


@pytest.mark.spec("TR-07")
@pytest.mark.parametrize("version", ["2025-11-25", "2025-06-18"])
def test_an_elicited_fraction_is_sent_as_schema_ts_allows(version):
    """D-84: a form may ask for a number (NumberSchema), and schema.ts, the source of truth,
    types the answer ``number``; the generated schema.json says ``integer``. mcp_ref sends
    1.5, and the tests validate against the file with that one slip corrected. Should the
    file change upstream, the correction's own assert says so."""
    from mcp_ref import shapes
    answer = {"action": "accept", "content": {"n": 1.5}}
    assert shapes.client_result_problem("elicitation/create", answer) is None
    assert shapes.client_result(version, "elicitation/create", answer) == answer
    _validator(version, "ElicitResult").validate(answer)
    raw = json.loads(SCHEMA_FILES[version].read_text("utf-8"))
    key = "$defs" if "$defs" in raw else "definitions"
    raw["$ref"] = f"#/{key}/ElicitResult"
    cls = jsonschema.Draft202012Validator if key == "$defs" else jsonschema.Draft7Validator
    assert not cls(raw).is_valid(answer), "the file as published refuses it (the slip)"


def _methods_of(schema_version):
    """``{method: (kind, the params members it requires)}`` from one revision's schema file:
    every definition whose ``method`` is a constant, a notification by its name."""
    definitions = _schema(schema_version)[_defs_key(schema_version)]

    def required(node):
        if "$ref" in node:
            return required(definitions[node["$ref"].rsplit("/", 1)[1]])
        if "allOf" in node:                     # every part's members
            return set().union(*(required(part) for part in node["allOf"]))
        if "anyOf" in node:                     # what every alternative requires
            return set.intersection(*(required(part) for part in node["anyOf"]))
        return set(node.get("required", ()))

    methods = {}
    for name, definition in definitions.items():
        properties = definition.get("properties", {})
        method = properties.get("method", {}).get("const")
        if method is not None:
            kind = "notification" if name.endswith("Notification") else "request"
            params = (required(properties["params"])
                      if "params" in definition.get("required", ()) else set())
            methods[method] = (kind, params)
    return methods


@pytest.mark.spec("BP-01", "BP-14", "LC-15")
def test_spec_names_every_method_of_every_revision_with_its_kind_and_revision():
    """D-85: ``spec.NOTIFICATIONS`` lacked ``notifications/tasks/status`` and ``spec.REQUESTS``
    the four ``tasks/*`` requests of 2025-11-25. Each method of each schema file is named, as
    its kind, and ``spec.METHOD_SINCE`` gives the first revision whose file has it."""
    oldest = min(spec.SUPPORTED_VERSIONS)
    first_seen = {}
    for version in sorted(spec.SUPPORTED_VERSIONS):
        for method, (kind, _) in _methods_of(version).items():
            named = spec.REQUESTS if kind == "request" else spec.NOTIFICATIONS
            assert method in named, (version, kind, method)
            first_seen.setdefault(method, version)
    assert spec.REQUESTS | spec.NOTIFICATIONS == set(first_seen)
    assert spec.METHOD_SINCE == {method: version for method, version in first_seen.items()
                                 if version != oldest}


@pytest.mark.spec("BP-01", "TR-06", "TR-07")
def test_required_params_are_what_every_revision_with_the_method_requires():
    """D-85: ``spec.REQUIRED_PARAMS``, which the connection refuses to send a request or
    notification without (and, D-98, to act on one received without), is each method's
    required params members in every schema file that has the method; for
    ``elicitation/create``, those of the form mode (the only mode before 2025-11-25), and
    ``spec.URL_ELICITATION_REQUIRED_PARAMS`` those of 2025-11-25's url mode."""
    required = {}
    for version in spec.SUPPORTED_VERSIONS:
        for method, (_, members) in _methods_of(version).items():
            required[method] = required.get(method, members) & members
    definitions = _schema("2025-11-25")[_defs_key("2025-11-25")]
    required["elicitation/create"] = set(definitions["ElicitRequestFormParams"]["required"])
    assert set(spec.URL_ELICITATION_REQUIRED_PARAMS) == \
        set(definitions["ElicitRequestURLParams"]["required"])
    older = _schema("2025-06-18")[_defs_key("2025-06-18")]
    assert set(older["ElicitRequest"]["properties"]["params"]["required"]) == \
        required["elicitation/create"]
    assert {method: set(members) for method, members in spec.REQUIRED_PARAMS.items()} == \
        {method: members for method, members in required.items() if members}


@pytest.mark.spec("BP-01", "TR-06")
def test_elicitation_is_the_one_method_whose_params_are_a_choice_told_apart_by_mode():
    """D-92: ``connection.required_params_problem`` (sending, D-85; receiving, D-98) reads
    ``spec.REQUIRED_PARAMS`` by method, with one ``if``: an ``elicitation/create`` whose
    ``mode`` is ``"url"`` requires ``spec.URL_ELICITATION_REQUIRED_PARAMS`` instead. That
    holds while its params are the only params of the four schema files that are one of several definitions (2025-11-25's
    ``ElicitRequestParams``), told apart by ``mode``: ``"url"``, required, in the url mode;
    ``"form"`` or absent in the form mode. A second such method would want a table."""
    choices = {}
    for version in spec.SUPPORTED_VERSIONS:
        definitions = _schema(version)[_defs_key(version)]
        for definition in definitions.values():
            properties = definition.get("properties", {})
            params = properties.get("params", {})
            if "$ref" in params:
                params = definitions[params["$ref"].rsplit("/", 1)[1]]
            for union in ("anyOf", "oneOf"):
                if union in params:
                    choices[(version, properties["method"]["const"])] = [
                        definitions[part["$ref"].rsplit("/", 1)[1]] for part in params[union]]
    assert set(choices) == {("2025-11-25", spec.ELICITATION_CREATE)}
    url, form = sorted(choices["2025-11-25", spec.ELICITATION_CREATE],
                       key=lambda d: "url" not in d["properties"])
    assert url["properties"]["mode"]["const"] == "url" and "mode" in url["required"]
    assert form["properties"]["mode"]["const"] == "form" and "mode" not in form["required"]
