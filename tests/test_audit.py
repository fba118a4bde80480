"""The client auditor (mcp_ref/audit.py): ``serve --audit FILE`` records what a client does wrong.

Each test starts the reference server under :func:`mcp_ref.audit.run_audited` (through a
one-line launcher, the same call ``python3 -m mcp_ref serve --audit FILE`` makes), plays one
misbehaving client in raw frames with :class:`mcp_ref.check.Wire`, closes stdin, and reads the
file the server left. Waits are reads with deadlines: a frame is sent only after the answer it
depends on has arrived, so the auditor's view of the order is the client's.
"""

import concurrent.futures
import json
import os
import signal
import subprocess
import sys

import pytest

from helpers import line
from mcp_ref import spec
from mcp_ref.audit import SERVER_ONLY_REQUESTS
from mcp_ref.check import Options, Wire
from mcp_ref.client import Client

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAUNCHER = ("import sys; from mcp_ref.audit import run_audited; "
            "from mcp_ref.reference import build_server; "
            "sys.exit(run_audited(build_server(), sys.argv[1]))")
CLIENT_INFO = {"name": "audit-test", "version": "0"}


def launcher(path):
    return [sys.executable, "-c", LAUNCHER, str(path)]


def initialize(wire, version=spec.PROTOCOL_VERSION, request_id="init"):
    since = wire.mark()
    wire.request(request_id, "initialize", {"protocolVersion": version, "capabilities": {},
                                            "clientInfo": CLIENT_INFO})
    frame = wire.response(request_id, since)
    assert frame is not None and "result" in frame.value, frame
    return frame.value["result"]


def handshake(wire, version=spec.PROTOCOL_VERSION):
    initialize(wire, version)
    wire.notify("notifications/initialized")


def ask(wire, request_id, method, params=None):
    """A request whose answer we wait for (so the next frame comes after it)."""
    since = wire.mark()
    wire.request(request_id, method, params)
    frame = wire.response(request_id, since)
    assert frame is not None, f"no answer to {method}"
    return frame.value


def audited(tmp_path, drive):
    """Run ``drive(wire)`` against an audited server; the recorded violations."""
    path = tmp_path / "audit.json"
    with Wire(launcher(path), Options(cwd=ROOT, timeout=5.0), "audited") as wire:
        drive(wire)
        assert wire.await_exit(5.0) == 0, wire.child.stderr_tail()
    return json.loads(path.read_text(encoding="utf-8"))


def ids(violations):
    return [v["id"] for v in violations]


def fed(tmp_path, steps, capabilities=None, name="fed.json"):
    """Feed an :class:`~mcp_ref.audit.Auditor` directly, no process: ``steps`` are
    ``("client", frame)`` or ``("server", frame)``, a frame a JSON value or raw bytes. Then
    the client's end of stream. Returns the recorded violations."""
    from mcp_ref.audit import Auditor
    path = tmp_path / name
    auditor = Auditor(str(path), {"tools": {}} if capabilities is None else capabilities)
    for side, frame in steps:
        data = frame if isinstance(frame, bytes) else line(frame)
        (auditor.client_sent if side == "client" else auditor.server_sent)(data)
    auditor.client_sent(b"")
    auditor.close()
    return json.loads(path.read_text(encoding="utf-8"))


def fed_handshake(version=spec.PROTOCOL_VERSION, capabilities=None):
    """The steps of a clean handshake, for :func:`fed`."""
    return [("client", {"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
                "protocolVersion": version, "capabilities": capabilities or {},
                "clientInfo": CLIENT_INFO}}),
            ("server", {"jsonrpc": "2.0", "id": "init", "result": {
                "protocolVersion": version, "capabilities": {"tools": {}},
                "serverInfo": {"name": "s", "version": "1"}}}),
            ("client", {"jsonrpc": "2.0", "method": "notifications/initialized"})]


# --- A clean session records nothing ----------------------------------------------------------


def test_a_client_notification_during_initialization_is_no_violation(tmp_path):
    """D-60: LC-06 and LC-05 limit the client's requests only. A notification while
    initialize is pending, or before initialized, was recorded as LC-06 and as an LC-05 MUST
    "before any other request"."""
    note = ("client", {"jsonrpc": "2.0", "method": "notifications/x-custom"})
    initialize, answer, initialized = fed_handshake()
    assert fed(tmp_path, [initialize, note, answer, note, initialized]) == []
    requests = [("client", {"jsonrpc": "2.0", "id": n, "method": "tools/list"}) for n in (2, 3)]
    recorded = fed(tmp_path, [initialize, requests[0], answer, requests[1], initialized],
                   name="r.json")
    assert [v["id"] for v in recorded] == ["LC-06", "LC-05"]       # requests are limited



#: Rows the audit records for a client though the catalogue's "Binds" names the server
#: (D-118): PR-08 binds whoever sends progress, which in 2024-11-05..2025-11-25 may be the
#: client working on a server's request (PR-04: "either side"). (LG-01 was here, for a
#: client's notifications/message; that is LC-16 now, D-119.)
SERVER_ROWS_RECORDED = {"PR-08"}


def test_every_id_the_audit_records_is_a_legacy_rule_of_the_client_at_its_level():
    """D-118: what the file says is the rule the client broke. Every ID the audit names is in
    ``audit.LEVELS``, holds in a revision the server speaks (catalogue V1-V4), has the
    catalogue's level (LC-15 and LC-16, SHOULD before 2025-06-18, are lowered per session in
    ``Auditor._record``), and binds the client: C, both, or the framing T."""
    import ast
    import re

    from mcp_ref import audit
    rows = _catalogue_rows()
    with open(audit.__file__, encoding="utf-8") as f:
        named = {node.value for node in ast.walk(ast.parse(f.read()))
                 if isinstance(node, ast.Constant) and isinstance(node.value, str)
                 and re.fullmatch(r"[A-Z]{2}-\d\d", node.value)}
    assert named <= set(audit.LEVELS), sorted(named - set(audit.LEVELS))
    wrong = []
    for catalogue_id, level in audit.LEVELS.items():
        row = rows[catalogue_id]
        if not row.handshake_era:
            wrong.append((catalogue_id, f"holds in {row.ver} only"))
        if level != row.level and (level, row.level) != ("MUST", "SHOULD→MUST"):
            wrong.append((catalogue_id, f"recorded as {level}, the catalogue says {row.level}"))
        if row.binds.split()[0] not in ("C", "both", "T") \
                and catalogue_id not in SERVER_ROWS_RECORDED:
            wrong.append((catalogue_id, f"binds {row.binds}"))
    assert not wrong, wrong


def _catalogue_rows():
    """The catalogue's section 2 by ID (skipped where it is not beside the repository)."""
    import traceability
    path = traceability.catalogue_path()
    if not path.is_file():
        pytest.skip(f"the catalogue is not at {path} (set {traceability.CATALOGUE_ENV})")
    return traceability.load_catalogue(path)


def test_a_clean_mcp_ref_client_session_records_nothing(tmp_path):
    path = tmp_path / "audit.json"
    seen = []
    with Client.spawn(launcher(path), cwd=ROOT) as client:
        assert {t["name"] for t in client.list_tools()} >= {"echo", "slow"}
        assert client.call_tool("echo", {"text": "héllo\nwörld"})["content"][0]["text"] == \
            "héllo\nwörld"
        client.call_tool("slow", {"seconds": 0.2, "steps": 2},
                         on_progress=lambda p, t, m: seen.append(p))
        client.call_tool("ping_client")                 # a server request, answered (BP-01)
        pending = client.call_tool_async("slow", {"seconds": 5, "steps": 5})
        pending.cancel("changed my mind")               # a legal cancel (CN-01)
        client.ping()
        client.set_logging_level("error")
    assert seen == [1, 2]
    assert json.loads(path.read_text(encoding="utf-8")) == []


def test_a_clean_raw_session_records_nothing(tmp_path):
    def drive(wire):
        handshake(wire)
        ask(wire, 1, "ping")
        ask(wire, "two", "tools/list")
        wire.notify("notifications/cancelled", {"requestId": 1})   # crossed its answer: CN-08
    assert audited(tmp_path, drive) == []


# --- Ordering: before initialize, before initialized, twice ----------------------------------


@pytest.mark.spec("LC-02")
def test_a_request_before_initialize(tmp_path):
    def drive(wire):
        ask(wire, "early", "tools/list")
        handshake(wire)
    violations = audited(tmp_path, drive)
    assert ids(violations) == ["LC-02"]
    assert violations[0]["level"] == "MUST"
    assert violations[0]["frame"]["method"] == "tools/list"


@pytest.mark.spec("LC-05")
def test_a_request_before_initialized(tmp_path):
    def drive(wire):
        initialize(wire)
        ask(wire, "too-soon", "tools/list")
        wire.notify("notifications/initialized")
    assert ids(audited(tmp_path, drive)) == ["LC-05"]


@pytest.mark.spec("LC-06")
def test_a_request_while_initialize_is_unanswered(tmp_path):
    def drive(wire):
        since = wire.mark()
        wire.send_raw(json.dumps({"jsonrpc": "2.0", "id": "init", "method": "initialize",
                                  "params": {"protocolVersion": spec.PROTOCOL_VERSION,
                                             "capabilities": {}, "clientInfo": CLIENT_INFO}})
                      .encode() + b"\n" + b'{"jsonrpc":"2.0","id":"eager","method":"tools/list"}\n')
        assert wire.response("eager", since) is not None
        wire.notify("notifications/initialized")
    violations = audited(tmp_path, drive)
    assert ids(violations) == ["LC-06"]
    assert violations[0]["level"] == "SHOULD NOT"


@pytest.mark.spec("LC-02")
def test_a_second_initialize(tmp_path):
    def drive(wire):
        handshake(wire)
        ask(wire, "again", "initialize", {"protocolVersion": spec.PROTOCOL_VERSION,
                                          "capabilities": {}, "clientInfo": CLIENT_INFO})
    violations = audited(tmp_path, drive)
    assert ids(violations) == ["LC-02"]
    assert "already initialized" in violations[0]["violation"]      # D-115


@pytest.mark.spec("LC-05")
def test_initialized_sent_twice(tmp_path):
    def drive(wire):
        handshake(wire)
        wire.notify("notifications/initialized")
        ask(wire, "p", "ping")
    assert ids(audited(tmp_path, drive)) == ["LC-05"]


@pytest.mark.spec("LC-05")
def test_initialized_never_sent(tmp_path):
    def drive(wire):
        initialize(wire)
    violations = audited(tmp_path, drive)
    assert ids(violations) == ["LC-05"]
    assert violations[0]["frame"] is None


@pytest.mark.spec("LC-05")
def test_initialized_before_the_initialize_response_is_one_violation(tmp_path):
    """Sent before the response, notifications/initialized breaks LC-05 once. The auditor
    then counts it as sent, so the requests after the response and the end of the session
    are not charged with the same missing notification again."""
    def drive(wire):
        since = wire.mark()
        wire.send_raw(line({"jsonrpc": "2.0", "id": "init", "method": "initialize",
                            "params": {"protocolVersion": spec.PROTOCOL_VERSION,
                                       "capabilities": {}, "clientInfo": CLIENT_INFO}})
                      + line({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        assert wire.response("init", since) is not None
        ask(wire, "list", "tools/list")
    violations = audited(tmp_path, drive)
    assert ids(violations) == ["LC-05"]
    assert violations[0]["frame"]["method"] == "notifications/initialized"


@pytest.mark.spec("LC-13", "LC-05")
def test_disconnecting_after_a_counter_offer_is_not_a_violation(tmp_path):
    """LC-13, D-02: asked for a version it does not speak, the server counter-offers its own
    (LC-11). A client that cannot speak that one disconnects without
    notifications/initialized: that is the rule, not a breach of LC-05."""
    def drive(wire):
        assert initialize(wire, "1999-01-01")["protocolVersion"] == spec.PROTOCOL_VERSION
    assert audited(tmp_path, drive) == []


@pytest.mark.spec("LC-13", "LC-05")
def test_going_on_after_a_counter_offer_still_needs_initialized(tmp_path):
    """Accepting the counter-offer means going on, and going on needs initialized (LC-05)."""
    steps = fed_handshake()[:2] + [("client", {"jsonrpc": "2.0", "id": 1,
                                               "method": "tools/list"})]
    steps[0][1]["params"]["protocolVersion"] = "1999-01-01"
    assert ids(fed(tmp_path, steps)) == ["LC-05"]


@pytest.mark.spec("LC-03")
def test_a_malformed_initialize(tmp_path):
    """LC-03: initialize carries protocolVersion (a string), capabilities and clientInfo.
    The server refuses it (-32602) and the client may try again (LC-20). Params that are
    not an object at all are not a valid JSON-RPC request: BP-01, as any other request."""
    def drive(wire):
        for n, params in enumerate([None, {"capabilities": {}, "clientInfo": CLIENT_INFO},
                                    {"protocolVersion": 20251125, "capabilities": {},
                                     "clientInfo": CLIENT_INFO},
                                    {"protocolVersion": spec.PROTOCOL_VERSION,
                                     "clientInfo": CLIENT_INFO}]):
            assert "error" in ask(wire, f"bad{n}", "initialize", params)
        wire.send({"jsonrpc": "2.0", "id": "list", "method": "initialize", "params": [1]})
        handshake(wire)
    violations = audited(tmp_path, drive)
    assert ids(violations) == ["LC-03"] * 4 + ["BP-01"]
    assert {v["level"] for v in violations[:4]} == {"MUST"}
    assert "protocolVersion" in violations[1]["violation"]
    steps = fed_handshake()                        # the server lets this one through
    steps[0][1]["params"]["clientInfo"] = {"name": "no version"}
    [violation] = fed(tmp_path, steps)
    assert violation["id"] == "LC-03" and "clientInfo" in violation["violation"]


# --- Ids and cancellation ---------------------------------------------------------------------


@pytest.mark.spec("BP-05")
def test_an_id_reused_while_in_flight_and_after_its_answer(tmp_path):
    def drive(wire):
        handshake(wire)
        since = wire.mark()
        wire.request("dup", "tools/call", {"name": "slow", "arguments": {"seconds": 0.3,
                                                                         "steps": 1}})
        wire.request("dup", "ping")                    # while the call runs
        assert wire.wait_for(lambda v: v.get("id") == "dup" and "error" in v, since)
        assert wire.wait_for(lambda v: v.get("id") == "dup" and "result" in v, since)
        ask(wire, "dup", "ping")                       # after it was answered
    violations = audited(tmp_path, drive)
    assert ids(violations) == ["BP-05", "BP-05"]
    assert "still in flight" in violations[0]["violation"]
    assert "already answered" in violations[1]["violation"]


@pytest.mark.spec("CN-03")
def test_cancelling_initialize(tmp_path):
    def drive(wire):
        wire.send_raw(json.dumps({"jsonrpc": "2.0", "id": "init", "method": "initialize",
                                  "params": {"protocolVersion": spec.PROTOCOL_VERSION,
                                             "capabilities": {}, "clientInfo": CLIENT_INFO}})
                      .encode() + b"\n" +
                      b'{"jsonrpc":"2.0","method":"notifications/cancelled",'
                      b'"params":{"requestId":"init"}}\n')
        assert wire.response("init", 0) is not None
        wire.notify("notifications/initialized")
    assert ids(audited(tmp_path, drive)) == ["CN-03"]


@pytest.mark.spec("CN-02")
def test_cancelling_a_request_never_sent(tmp_path):
    def drive(wire):
        handshake(wire)
        wire.notify("notifications/cancelled", {"requestId": "never-sent"})
        ask(wire, "p", "ping")
    assert ids(audited(tmp_path, drive)) == ["CN-02"]


@pytest.mark.spec("BP-07")
def test_a_response_to_an_id_the_server_never_used(tmp_path):
    def drive(wire):
        handshake(wire)
        wire.send({"jsonrpc": "2.0", "id": "nope", "result": {}})
        ask(wire, "p", "ping")
    violations = audited(tmp_path, drive)
    assert ids(violations) == ["BP-07"]
    assert violations[0]["frame"] == {"jsonrpc": "2.0", "id": "nope", "result": {}}


@pytest.mark.spec("PR-08")
def test_progress_for_a_token_the_server_never_sent(tmp_path):
    def drive(wire):
        handshake(wire)
        wire.notify("notifications/progress", {"progressToken": "t", "progress": 1})
        ask(wire, "p", "ping")
    assert ids(audited(tmp_path, drive)) == ["PR-08"]


def _with_token(request_id, method, token, params=None):
    params = dict(params or {}, _meta={"progressToken": token})
    return ("client", {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})


@pytest.mark.spec("PR-03")
def test_a_token_used_twice_in_flight(tmp_path):
    steps = fed_handshake() + [_with_token(1, "tools/list", "tok"),
                               _with_token(2, "tools/list", "tok"),
                               ("server", {"jsonrpc": "2.0", "id": 1, "result": {}}),
                               _with_token(3, "tools/list", "tok")]     # 2 still runs
    violations = fed(tmp_path, steps)
    assert ids(violations) == ["PR-03", "PR-03"]
    assert violations[0]["frame"]["id"] == 2


@pytest.mark.spec("PR-03", "CN-01", "CN-02")
def test_a_token_is_free_again_once_its_request_is_cancelled(tmp_path):
    """PR-03 counts the requests still active. A request the client cancelled is not: the
    server sends it nothing more (CN-05, D-16), and a late answer is ignored (CN-07). A cancel
    the client had no right to send (CN-02, CN-03) frees nothing."""
    def drive(wire):
        handshake(wire)
        wire.request("long", "tools/call", {"name": "slow",
                                            "arguments": {"seconds": 5, "steps": 5},
                                            "_meta": {"progressToken": "tok"}})
        wire.notify("notifications/cancelled", {"requestId": "long", "reason": "bored"})
        ask(wire, "next", "tools/call", {"name": "echo", "arguments": {"text": "hi"},
                                         "_meta": {"progressToken": "tok"}})
    assert audited(tmp_path, drive) == []
    steps = fed_handshake() + [
        _with_token(1, "tools/list", "tok"),
        ("client", {"jsonrpc": "2.0", "method": "notifications/cancelled",
                    "params": {"requestId": "never-sent"}}),
        ("client", {"jsonrpc": "2.0", "method": "notifications/cancelled",
                    "params": {"requestId": "init"}}),
        _with_token(2, "tools/list", "tok")]
    assert ids(fed(tmp_path, steps)) == ["CN-02", "CN-03", "PR-03"]


@pytest.mark.spec("PR-03", "BP-05")
def test_a_token_still_in_flight_under_a_reused_id(tmp_path):
    """A request id sent again while in flight (BP-05) is refused at once by the server
    (-32600, D-07); the first request, and its token, go on."""
    def drive(wire):
        handshake(wire)
        since = wire.mark()
        wire.request("dup", "tools/call", {"name": "slow",
                                           "arguments": {"seconds": 5, "steps": 5},
                                           "_meta": {"progressToken": "first"}})
        wire.request("dup", "ping", {"_meta": {"progressToken": "second"}})
        assert wire.wait_for(lambda v: isinstance(v, dict) and v.get("id") == "dup"
                             and "error" in v, since)
        ask(wire, "next", "tools/list", {"_meta": {"progressToken": "first"}})
        wire.notify("notifications/cancelled", {"requestId": "dup"})
    violations = audited(tmp_path, drive)
    assert ids(violations) == ["BP-05", "PR-03"]
    assert violations[1]["frame"]["id"] == "next"


@pytest.mark.spec("PR-02")
def test_a_progress_token_that_is_neither_string_nor_integer(tmp_path):
    bad = [None, [1], 1.5, True, {"t": 1}]
    steps = fed_handshake() + [_with_token(n, "ping", token) for n, token in enumerate(bad)]
    steps += [_with_token("fine", "ping", "tok"), _with_token(99, "ping", 7)]
    violations = fed(tmp_path, steps)
    assert ids(violations) == ["PR-02"] * len(bad)
    assert [v["frame"]["id"] for v in violations] == list(range(len(bad)))
    assert violations[0]["level"] == "MUST"


# --- Non-frames, direction, version ------------------------------------------------------------


@pytest.mark.spec("TR-07")
def test_non_frames_on_stdin(tmp_path):
    def drive(wire):
        handshake(wire)
        wire.send_raw(b"\n")
        wire.send_raw(b"hello server\n")
        wire.send_raw(b'{"jsonrpc":"2.0","id":"crlf","method":"ping"}\r\n')
        assert wire.response("crlf", 0) is not None
    violations = audited(tmp_path, drive)
    assert ids(violations) == ["TR-07", "TR-07", "TR-07"]
    assert [v["violation"].split(":")[0].split(" (")[0] for v in violations] == [
        "a blank line", "not a JSON-RPC frame", "a line ending in CRLF, not LF"]
    assert [v["level"] for v in violations] == ["MUST NOT", "MUST NOT", "(warning)"]   # D-08


@pytest.mark.spec("TR-07")
def test_crlf_is_a_warning_not_a_must_not(tmp_path):
    """D-08: a CR before the LF is JSON whitespace that the spec does not address (A8), so it
    breaks no MUST NOT; `check` warns of it in a server, and the auditor does the same for a
    client: one record at the level "(warning)", for the first such line only. A line that
    is nothing but CRLF is a blank line, which TR-07 does forbid."""
    steps = fed_handshake() + [("client", b'{"jsonrpc":"2.0","id":1,"method":"ping"}\r\n'),
                               ("client", b'{"jsonrpc":"2.0","id":2,"method":"ping"}\r\n'),
                               ("client", b"\r\n")]
    violations = fed(tmp_path, steps)
    assert [(v["id"], v["level"]) for v in violations] == [("TR-07", "(warning)"),
                                                           ("TR-07", "MUST NOT")]
    assert "CRLF" in violations[0]["violation"]
    assert "blank line" in violations[1]["violation"]


@pytest.mark.spec("TR-07")
def test_a_line_over_the_limit_is_recorded_once(tmp_path, monkeypatch):
    """D-03: a line longer than the limit is one TR-07 record, however it arrives: in one
    chunk, in many, or cut off by the end of the stream. Its bytes are dropped up to the next
    LF, and the frames after it are judged as usual. The record is "(not judged)", not a
    MUST NOT: the limit is the server's own, the spec sets none, so the line may be one valid
    message (D-123, D-127; it was recorded as a TR-07 MUST NOT)."""
    from mcp_ref import audit
    monkeypatch.setattr(audit, "DEFAULT_MAX_LINE_BYTES", 1000)
    big = line({"jsonrpc": "2.0", "id": "big", "method": "ping", "params": {"x": "x" * 3000}})
    pieces = [("client", big[i:i + 100]) for i in range(0, len(big), 100)]
    after = ("client", {"jsonrpc": "2.0", "method": "notifications/progress",
                        "params": {"progressToken": "t", "progress": 1}})    # PR-08
    for n, steps in enumerate([pieces, [("client", big)], pieces[:-1]]):
        violations = fed(tmp_path, fed_handshake() + steps + [after] * (n < 2), name=f"{n}.json")
        assert ids(violations) == ["TR-07"] + ["PR-08"] * (n < 2), n
        assert "longer than 1000 bytes" in violations[0]["violation"]
        assert violations[0]["level"] == "(not judged)", violations[0]
        assert "D-03" in violations[0]["violation"]


@pytest.mark.spec("TR-07")
def test_a_line_nested_past_the_servers_limit_is_recorded_not_judged(tmp_path):
    """D-51, D-127: a line nesting deeper than MAX_NESTING is one TR-07 record at the level
    "(not judged)", naming D-51, not a MUST NOT: JSON lets a reader limit nesting (RFC 8259
    section 9) and MCP sets no limit, so the client broke no rule the server could see. (It
    was "not a JSON-RPC frame", a TR-07 MUST NOT.) A line that is no JSON at all stays one.
    https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio"""
    from mcp_ref.framing import MAX_NESTING
    deep = (b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":'
            + b"[" * MAX_NESTING + b"]" * MAX_NESTING + b"}}\n")
    recorded = fed(tmp_path, fed_handshake() + [("client", deep), ("client", b"{not json\n")])
    assert [(v["id"], v["level"]) for v in recorded] == [("TR-07", "(not judged)"),
                                                         ("TR-07", "MUST NOT")]
    assert f"more than {MAX_NESTING} deep" in recorded[0]["violation"]
    assert "D-51" in recorded[0]["violation"]


def test_lines_not_judged_are_capped_apart_from_the_violations_of_their_row(tmp_path,
                                                                             monkeypatch):
    """D-75's cap counts per catalogue row and level (D-127): lines over the server's limit
    ("(not judged)") do not use up TR-07's hundred, and each "more" entry counts one level.
    https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio"""
    from mcp_ref import audit
    monkeypatch.setattr(audit, "DEFAULT_MAX_LINE_BYTES", 1000)
    big = ("client", b"x" * 2000 + b"\n")
    junk = ("client", b"junk\n")
    recorded = fed(tmp_path, fed_handshake() + [big] * (audit.MAX_PER_ID + 3)
                   + [junk] * (audit.MAX_PER_ID + 2))
    levels = [v["level"] for v in recorded]
    assert levels.count("(not judged)") == levels.count("MUST NOT") == audit.MAX_PER_ID + 1
    assert [v["violation"] for v in recorded if v["frame"] is None] == [
        "3 more line(s) not judged of TR-07 after the 100 above, not written out one by one",
        "2 more violation(s) of TR-07 after the 100 above, not written out one by one"]


def test_frames_split_anywhere_are_judged_as_if_whole(tmp_path):
    """The auditor reads lines as the server does, whatever the chunks: a session fed one
    byte at a time records what it records when fed whole."""
    session = line(fed_handshake()[0][1]) + (
        b'\n{"jsonrpc":"2.0","id":1,"method":"ping"}\r\nhello\n'
        b'{"jsonrpc":"2.0","method":"notifications/message",'
        b'"params":{"level":"info","data":"x"}}\n{"jsonrpc":')
    whole = fed(tmp_path, [("client", session)], name="whole.json")
    assert ids(whole) == ["TR-07"] * 3 + ["LC-16", "TR-07"]      # a client's log (D-119)
    assert fed(tmp_path, [("client", session[i:i + 1]) for i in range(len(session))],
               name="bytes.json") == whole


@pytest.mark.spec("LC-02", "LC-16")
def test_a_frame_that_utf8_json_cannot_hold_as_it_is_is_still_recorded(tmp_path):
    """A recorded frame may hold a lone surrogate, written ``"\\ud800"`` (JSON's grammar
    allows the escape, RFC 8259 section 8.2), or a number Python cannot carry (``1e400``,
    D-37). Saving such a record raised: it and every later record were lost, a temporary
    file was left behind, and ``serve`` exited 1 with a traceback.
    https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle#initialization"""
    def drive(wire):
        for n, value in enumerate([b'"\\ud800"', b"1e400"]):
            since = wire.mark()
            wire.send_raw(b'{"jsonrpc":"2.0","id":%d,"method":"tools/list","params":{"x":%s}}\n'
                          % (n, value))
            assert wire.response(n, since) is not None            # LC-02: before initialize
        handshake(wire)
        ask(wire, "roots", "roots/list")                          # LC-16
    violations = audited(tmp_path, drive)
    assert ids(violations) == ["LC-02", "LC-02", "LC-16"]
    assert violations[0]["frame"]["params"] == {"x": "\ud800"}
    assert violations[1]["frame"]["params"] == {"x": "1e400"}      # the number as its text
    assert os.listdir(tmp_path) == ["audit.json"]                  # no temporary file left


@pytest.mark.spec("BP-03", "PR-02", "PR-03", "CN-02", "BP-05")
def test_an_integer_longer_than_python_reads_is_still_an_integer(tmp_path):
    """BP-03, PR-02: an id or a progress token is a string or an integer, and JSON bounds no
    integer: one of 5 000 digits (Python 3.11 reads 4 300) breaks no rule (D-37). It was
    recorded as a BP-03 MUST, its cancel as CN-02, and as a token it made the auditor fail
    (no record). It is now kept by its digits: it counts for PR-03 and BP-05 like any id and
    token. ``1e400`` is written as a float, never an integer id or token (D-40).
    https://modelcontextprotocol.io/specification/2025-11-25/basic/index#requests
    https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/progress#progress-flow"""
    big = b"9" * 5000

    def request(request_id, token):
        return ("client", b'{"jsonrpc":"2.0","id":%s,"method":"tools/list","params":'
                          b'{"_meta":{"progressToken":%s}}}\n' % (request_id, token))
    steps = fed_handshake() + [
        request(big, big), request(b"2", big),                     # PR-03: still in flight
        ("client", b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":'
                   b'{"requestId":%s}}\n' % big),
        ("server", {"jsonrpc": "2.0", "id": 2, "result": {"tools": []}}),
        request(b"3", big), request(big, b"4"),                    # token free; BP-05
        request(b"1e400", b"5"), request(b"6", b"1e400")]          # BP-03, PR-02 (D-40)
    violations = fed(tmp_path, steps)
    assert ids(violations) == ["PR-03", "BP-05", "BP-03", "PR-02"]
    assert "already cancelled" in violations[1]["violation"]
    assert "1e400" in violations[3]["violation"]


@pytest.mark.spec("BP-01", "BP-04")
def test_invalid_messages(tmp_path):
    def drive(wire):
        handshake(wire)
        wire.send({"jsonrpc": "2.0", "id": None, "method": "ping"})
        wire.send({"jsonrpc": "1.0", "id": "old", "method": "ping"})
        ask(wire, "p", "ping")
    assert ids(audited(tmp_path, drive)) == ["BP-04", "BP-01"]


@pytest.mark.spec("LC-16")
def test_server_only_methods_from_the_client(tmp_path):
    def drive(wire):
        handshake(wire)
        wire.notify("notifications/message", {"level": "info", "data": "hi"})
        wire.notify("notifications/tools/list_changed")
        ask(wire, "roots", "roots/list")
    assert ids(audited(tmp_path, drive)) == ["LC-16", "LC-16", "LC-16"]


@pytest.mark.spec("LC-16", "LC-02")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_a_clients_log_message_is_lc_16_at_the_sessions_level(tmp_path, version):
    """D-119: a client's notifications/message was recorded as LG-01, MUST, in every
    revision: a row that binds a server that logs without declaring ``logging``. The method
    goes server to client (catalogue 1.1), so the client used a capability only a server has:
    LC-16, as for its other server-only notifications (D-54), a SHOULD before 2025-06-18.
    Before initialize it is LC-02 alone, as before. The server reports LC-16 too."""
    from mcp_ref import events as ev
    from mcp_ref.connection import Connection
    from mcp_ref.lifecycle import Role
    note = ("client", {"jsonrpc": "2.0", "method": "notifications/message",
                       "params": {"level": "info", "data": "x"}})
    initialize, answer, initialized = fed_handshake(version)
    level = "MUST" if version >= "2025-06-18" else "SHOULD"
    for n, (steps, expected) in enumerate([
            ([note, initialize, answer, initialized], [("LC-02", "MUST")]),
            ([initialize, answer, note, initialized], [("LC-16", level)]),
            ([initialize, answer, initialized, note], [("LC-16", level)])]):
        recorded = fed(tmp_path, steps, name=f"{n}.json")
        assert [(v["id"], v["level"]) for v in recorded] == expected, steps
    server = Connection(Role.SERVER, capabilities={"tools": {}})
    for _, frame in (initialize, initialized):
        server.receive_data(line(frame))
    assert server.protocol_version == version
    events = server.receive_data(line(note[1]))
    assert [e.error.catalogue_id for e in events if isinstance(e, ev.ProtocolViolation)] \
        == ["LC-16"]


@pytest.mark.spec("LC-16")
def test_roots_list_changed_needs_the_clients_own_capability(tmp_path):
    """LC-16: a client sends notifications/roots/list_changed only if it declared
    capabilities.roots.listChanged in its initialize request."""
    def drive(wire):
        handshake(wire)                            # declares capabilities {}
        wire.notify("notifications/roots/list_changed")
        ask(wire, "p", "ping")
    violations = audited(tmp_path, drive)
    assert ids(violations) == ["LC-16"]
    assert "roots.listChanged" in violations[0]["violation"]
    changed = ("client", {"jsonrpc": "2.0", "method": "notifications/roots/list_changed"})
    assert fed(tmp_path, fed_handshake(capabilities={"roots": {"listChanged": True}})
               + [changed]) == []
    assert ids(fed(tmp_path, fed_handshake(capabilities={"roots": {}}) + [changed])) == \
        ["LC-16"]
    [old] = fed(tmp_path, fed_handshake("2025-03-26") + [changed])
    assert old["level"] == "SHOULD"                  # a MUST only from 2025-06-18 on


@pytest.mark.spec("LC-16", "LC-17")
def test_the_auditor_reads_capabilities_as_the_connection_does(tmp_path):
    """A declared sub-capability allows its method (resources.subscribe); a capability newer
    than the session gates nothing (completions, before 2025-03-26: D-35)."""
    from mcp_ref.audit import Auditor

    def recorded(version, capabilities, method, params):
        path = tmp_path / f"{version}-{method.replace('/', '_')}.json"
        auditor = Auditor(str(path), capabilities)
        auditor.client_sent(line({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": version, "capabilities": {}, "clientInfo": CLIENT_INFO}}))
        auditor.server_sent(line({"jsonrpc": "2.0", "id": 1, "result": {
            "protocolVersion": version, "capabilities": capabilities,
            "serverInfo": {"name": "s", "version": "1"}}}))
        auditor.client_sent(line({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        auditor.client_sent(line({"jsonrpc": "2.0", "id": 2, "method": method,
                                  "params": params}))
        auditor.server_sent(line({"jsonrpc": "2.0", "id": 2, "result": {}}))
        auditor.client_sent(b"")
        auditor.close()
        return ids(json.loads(path.read_text(encoding="utf-8")))

    subscribe = ("resources/subscribe", {"uri": "a:b"})
    complete = ("completion/complete", {"ref": {"type": "ref/prompt", "name": "p"},
                                        "argument": {"name": "a", "value": "x"}})
    assert recorded("2025-11-25", {"resources": {"subscribe": True}}, *subscribe) == []
    assert recorded("2025-11-25", {"resources": {}}, *subscribe) == ["LC-16"]
    assert recorded("2024-11-05", {"prompts": {}}, *complete) == []
    assert recorded("2025-03-26", {"prompts": {}}, *complete) == ["LC-16"]


@pytest.mark.spec("LC-15", "BP-16")
def test_a_batch_outside_2025_03_26(tmp_path):
    def drive(wire):
        handshake(wire)
        wire.send_raw(b'[{"jsonrpc":"2.0","id":"b1","method":"ping"}]\n')
        ask(wire, "p", "ping")
    violations = audited(tmp_path, drive)
    assert ids(violations) == ["LC-15"]
    assert violations[0]["level"] == "MUST"
    assert "2025-11-25" in violations[0]["violation"]


@pytest.mark.spec("BP-16")
def test_a_batch_in_a_2025_03_26_session_is_fine(tmp_path):
    def drive(wire):
        handshake(wire, "2025-03-26")
        since = wire.mark()
        wire.send_raw(b'[{"jsonrpc":"2.0","id":"b1","method":"ping"},'
                      b'{"jsonrpc":"2.0","id":"b2","method":"tools/list"}]\n')
        assert wire.response("b1", since) and wire.response("b2", since)
    assert audited(tmp_path, drive) == []


@pytest.mark.spec("BP-16", "BP-01")
def test_a_2025_03_26_batch_holds_requests_or_responses_not_both(tmp_path):
    """BP-16: 2025-03-26's JSONRPCMessage has two batches, JSONRPCBatchRequest (requests and
    notifications) and JSONRPCBatchResponse (responses): a client may answer the server's
    requests in one batch, but an array mixing the two kinds is no JSON-RPC message (BP-01).
    The auditor judged each member alone and let the mixture pass.
    https://modelcontextprotocol.io/specification/2025-03-26/basic/index#batching"""
    pings = [("server", {"jsonrpc": "2.0", "id": n, "method": "ping"}) for n in (1, 2)]
    answers = ("client", b'[{"jsonrpc":"2.0","id":1,"result":{}},'
                         b'{"jsonrpc":"2.0","id":2,"result":{}}]\n')
    assert fed(tmp_path, fed_handshake("2025-03-26") + pings + [answers]) == []
    mixed = ("client", b'[{"jsonrpc":"2.0","id":1,"result":{}},'
                       b'{"jsonrpc":"2.0","id":"c","method":"ping"}]\n')
    [violation] = fed(tmp_path, fed_handshake("2025-03-26") + pings[:1] + [mixed], name="m.json")
    assert violation["id"] == "BP-01" and "mixes" in violation["violation"]


@pytest.mark.spec("BP-16", "LC-05")
def test_a_2025_03_26_batch_carrying_initialized_is_fine(tmp_path):
    # D-06: the version is negotiated once the initialize result is out, so initialized may
    # come in a batch with the first request; the auditor must not call that a violation.
    def drive(wire):
        initialize(wire, "2025-03-26")
        since = wire.mark()
        wire.send_raw(b'[{"jsonrpc":"2.0","method":"notifications/initialized"},'
                      b'{"jsonrpc":"2.0","id":"b1","method":"tools/list"}]\n')
        frame = wire.response("b1", since)
        assert frame is not None and "result" in frame.value, frame
    assert audited(tmp_path, drive) == []


@pytest.mark.spec("LC-15")
def test_a_request_claiming_another_version(tmp_path):
    def drive(wire):
        handshake(wire)
        ask(wire, "v5", "tools/list",
            {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}})
    assert ids(audited(tmp_path, drive)) == ["LC-15"]


# --- What the schema refuses: no message of its method (D-87, D-92, D-98, D-102) -------------


@pytest.mark.spec("BP-01", "ER-01", "TL-11")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_a_request_without_a_member_its_schema_requires_is_bp_01(tmp_path, version):
    """D-98: the server answers a known request without a member its schema requires -32602
    and reports it (BP-01); the audit recorded nothing. It is no request of its method: BP-01,
    once, and judged no further. Before initialize it is still a request, answered for its
    timing, and so LC-02 as well (D-108).
    https://modelcontextprotocol.io/specification/2025-11-25/basic/index#requests"""
    missing = [("tools/call", {"arguments": {}}), ("resources/read", {}), ("prompts/get", {}),
               ("logging/setLevel", {})]

    def drive(wire):
        assert "error" in ask(wire, "early", "tools/call", {})
        handshake(wire, version)
        for n, (method, params) in enumerate(missing):
            answer = ask(wire, n, method, params)
            assert answer["error"]["code"] == -32602, answer
        assert "result" in ask(wire, "fine", "tools/call",
                               {"name": "echo", "arguments": {"text": "x"}})
    violations = audited(tmp_path, drive)
    assert ids(violations) == ["LC-02"] + ["BP-01"] * (1 + len(missing))
    assert [v["frame"]["id"] for v in violations] == ["early"] * 2 + list(range(len(missing)))
    assert "params need 'name'" in violations[2]["violation"]
    assert "params need 'level'" in violations[5]["violation"]
    assert {v["level"] for v in violations} == {"MUST"}


@pytest.mark.spec("BP-01", "PR-02")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_a_request_whose_meta_is_not_an_object_is_bp_01(tmp_path, version):
    """D-87: every revision's schema makes a request's ``params._meta`` an object; the server
    answers ``"_meta": 5`` -32602 and reports it (BP-01), as it does a token that is no
    ProgressToken (PR-02). The audit recorded only the token. An initialize so refused leaves
    the session awaiting another (LC-20, D-19): the retry is no second initialize.
    https://modelcontextprotocol.io/specification/2025-11-25/basic/index#meta"""
    def drive(wire):
        answer = ask(wire, "init0", "initialize", {
            "protocolVersion": version, "capabilities": {}, "clientInfo": CLIENT_INFO,
            "_meta": 5})
        assert answer["error"]["code"] == -32602, answer
        handshake(wire, version)
        for n, meta in enumerate([5, [1], None, "m"]):
            assert ask(wire, n, "tools/list", {"_meta": meta})["error"]["code"] == -32602
        assert ask(wire, "p", "ping", {"_meta": [1]})["error"]["code"] == -32602
        assert ask(wire, "t", "ping", {"_meta": {"progressToken": 1.5}})["error"]["code"] \
            == -32602
    violations = audited(tmp_path, drive)
    assert ids(violations) == ["BP-01"] * 6 + ["PR-02"]
    assert violations[0]["frame"]["id"] == "init0"
    assert "_meta is an object, not 5" in violations[0]["violation"]


@pytest.mark.spec("BP-01", "BP-13", "LC-05", "CN-10")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_a_notification_the_schema_refuses_is_bp_01_and_not_taken_as_sent(tmp_path, version):
    """D-92, D-98: a notification whose ``_meta`` is not an object, or that lacks a member its
    schema requires, is no notification of its method: the server neither answers it
    (BP-13) nor acts on it. The audit took each as sent: an ``initialized`` so refused
    opened its session (and the proper one then counted as sent twice, LC-05), a cancel so
    refused freed its request's token (PR-03), progress without a token was PR-08 and a
    ``list_changed`` with ``"_meta": 5`` was LC-16. Each is now BP-01, once.
    https://modelcontextprotocol.io/specification/2025-11-25/basic/index#notifications"""
    def drive(wire):
        initialize(wire, version)
        wire.notify("notifications/initialized", {"_meta": 5})
        wire.notify("notifications/initialized")
        wire.request("long", "tools/call", {"name": "slow", "arguments": {"seconds": 5,
                                                                          "steps": 5},
                                            "_meta": {"progressToken": "tok"}})
        wire.notify("notifications/cancelled", {"requestId": "long", "_meta": [1]})
        wire.notify("notifications/progress", {"progress": 1})
        wire.notify("notifications/roots/list_changed", {"_meta": 5})
        wire.notify("notifications/x-vendor", {"_meta": "m"})
        ask(wire, "next", "tools/list", {"_meta": {"progressToken": "tok"}})   # PR-03
        wire.notify("notifications/cancelled", {"requestId": "long"})
    violations = audited(tmp_path, drive)
    assert ids(violations) == ["BP-01"] * 5 + ["PR-03"]
    assert [v["frame"].get("method") for v in violations[:5]] == [
        "notifications/initialized", "notifications/cancelled", "notifications/progress",
        "notifications/roots/list_changed", "notifications/x-vendor"]
    assert "params need 'progressToken'" in violations[2]["violation"]


@pytest.mark.spec("BP-01", "LC-02", "LC-05", "LC-15", "LC-16", "PG-03", "LG-03", "ER-13")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_a_request_the_schema_refuses_is_still_judged_by_its_timing_and_capability(tmp_path,
                                                                                   version):
    """D-108: a request its schema refuses is no request of its method, but still a request,
    and the server judges its timing and capability first (D-05): before initialize it answers
    ``tools/call {}`` LC-02's -32600, not -32602. The audit recorded BP-01 alone (D-102), so the
    LC-02, LC-05 and LC-16 the client broke, which the server's answer showed, went unrecorded.
    Each is now recorded, then the BP-01; a ping's bad ``_meta`` while awaiting initialized is
    BP-01 alone (a ping may come then, PG-03), as is an initialize the table allows.
    D-112: a setLevel at a level none of the eight is LG-03, as the server reports it (it was
    nothing); a ``_meta`` the schema refuses is BP-01 on a method the server answers -32601
    unread, an unknown one or a server's (``roots/list`` was LC-16 alone). A notification is
    judged in the server's order, params first: a client's log message at level "loud" is
    LG-03 and a ``list_changed`` with ``"_meta": 5`` BP-01 (they were LG-01 and LC-16), and
    ``list_changed`` before initialize is LC-02 (it was LC-16); tasks/status in a revision
    without it is LC-15 (it was nothing).
    https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle#initialization"""
    gated = version != "2024-11-05"              # completions: a capability from 2025-03-26
    tasks = version == "2025-11-25"              # notifications/tasks/status exists from here
    status = {"taskId": "t", "status": "working", "createdAt": "2026-01-01T00:00:00Z",
              "lastUpdatedAt": "2026-01-01T00:00:00Z", "ttl": 1}

    def drive(wire):
        assert ask(wire, "a", "tools/call", {})["error"]["code"] == -32600          # LC-02
        assert ask(wire, "b", "ping", {"_meta": 5})["error"]["code"] == -32600      # LC-02
        assert ask(wire, "s0", "logging/setLevel", {"level": "loud"})["error"]["code"] \
            == -32600                                                                # LC-02
        wire.notify("notifications/tools/list_changed")                              # LC-02
        assert ask(wire, "i0", "initialize", {
            "protocolVersion": version, "capabilities": {}, "clientInfo": CLIENT_INFO,
            "_meta": 5})["error"]["code"] == -32602
        initialize(wire, version)
        assert ask(wire, "c", "tools/call", {})["error"]["code"] == -32600          # LC-05
        assert ask(wire, "d", "ping", {"_meta": 5})["error"]["code"] == -32602
        assert ask(wire, "e", "resources/subscribe", {})["error"]["code"] == -32601  # LC-16
        wire.notify("notifications/initialized")
        assert ask(wire, "f", "initialize", {"_meta": 5})["error"]["code"] == -32600  # LC-02
        assert ask(wire, "g", "completion/complete", {})["error"]["code"] == -32601
        assert ask(wire, "h", "tools/call", {})["error"]["code"] == -32602
        assert ask(wire, "s1", "logging/setLevel", {"level": "loud"})["error"]["code"] \
            == -32602                                                                # ER-13
        assert ask(wire, "v", "x-vendor/probe", {"_meta": 5})["error"]["code"] == -32601
        assert ask(wire, "r", "roots/list", {"_meta": 5})["error"]["code"] == -32601
        wire.notify("notifications/message", {"level": "loud", "data": "x"})
        wire.notify("notifications/message", {"level": "info"})
        wire.notify("notifications/tools/list_changed", {"_meta": 5})
        wire.notify("notifications/tasks/status", status)
        ask(wire, "z", "ping")
    violations = audited(tmp_path, drive)
    keys = [(v["frame"].get("id", v["frame"]["method"]), v["id"]) for v in violations]
    assert keys == [
        ("a", "LC-02"), ("a", "BP-01"), ("b", "LC-02"), ("b", "BP-01"),
        ("s0", "LC-02"), ("s0", "LG-03"), ("notifications/tools/list_changed", "LC-02"),
        ("i0", "BP-01"), ("c", "LC-05"), ("c", "BP-01"), ("d", "BP-01"),
        ("e", "LC-05"), ("e", "LC-16"), ("e", "BP-01"),
        ("f", "LC-02"), ("f", "BP-01")] + [("g", "LC-16")] * gated + [
        ("g", "BP-01"), ("h", "BP-01"), ("s1", "LG-03"), ("v", "BP-01"),
        ("r", "LC-16"), ("r", "BP-01"),
        ("notifications/message", "LG-03"), ("notifications/message", "BP-01"),
        ("notifications/tools/list_changed", "BP-01")] + [
        ("notifications/tasks/status", "LC-15")] * (not tasks)
    assert "already initialized" in violations[keys.index(("f", "LC-02"))]["violation"]  # D-115
    assert violations[keys.index(("s1", "LG-03"))]["level"] == "(def)"   # the catalogue's


@pytest.mark.spec("LC-02", "LC-16")
def test_a_gated_request_before_the_server_declared_anything_is_lc_02_alone(tmp_path):
    """D-75 left it: ``resources/subscribe`` before initialize, to a server without
    ``resources.subscribe``, was recorded twice, LC-02 and LC-16. Before the initialize
    result the client has seen no capability, so its one fault is the timing (LC-02); once
    the result is out, LC-16 judges what it has seen."""
    def drive(wire):
        ask(wire, "early", "resources/subscribe", {"uri": "mem://a"})
        initialize(wire)
        ask(wire, "soon", "resources/subscribe", {"uri": "mem://a"})     # LC-05 and LC-16
        wire.notify("notifications/initialized")
        ask(wire, "late", "resources/subscribe", {"uri": "mem://a"})
    violations = audited(tmp_path, drive)
    assert ids(violations) == ["LC-02", "LC-05", "LC-16", "LC-16"]
    assert [v["frame"]["id"] for v in violations] == ["early", "soon", "soon", "late"]


# --- The audit beside the server's own report, frame by frame (D-108, D-112) -----------------

#: Params each method's schema accepts, for every method a client might send: its own, a
#: server's (LC-16), one the server does not implement (tasks, D-95) and an unknown one.
_GOOD_PARAMS = {
    "initialize": None,                  # the version's own, made in _frames
    "ping": {}, "logging/setLevel": {"level": "info"}, "tools/list": {}, "prompts/list": {},
    "tools/call": {"name": "echo", "arguments": {"text": "x"}}, "resources/list": {},
    "resources/templates/list": {}, "resources/read": {"uri": "mem://a"},
    "resources/subscribe": {"uri": "mem://a"}, "resources/unsubscribe": {"uri": "mem://a"},
    "prompts/get": {"name": "p"},
    "completion/complete": {"ref": {"type": "ref/prompt", "name": "p"},
                            "argument": {"name": "a", "value": "v"}},
    "roots/list": {}, "sampling/createMessage": {"messages": [], "maxTokens": 5},
    "elicitation/create": {"message": "m", "requestedSchema": {"type": "object"}},
    "tasks/get": {"taskId": "t"}, "tasks/result": {"taskId": "t"}, "tasks/list": {},
    "tasks/cancel": {"taskId": "t"}, "x-vendor/probe": {},
    "notifications/initialized": {}, "notifications/roots/list_changed": {},
    "notifications/cancelled": {"requestId": "never"},
    "notifications/progress": {"progressToken": "t", "progress": 1},
    "notifications/message": {"level": "info", "data": "x"},
    "notifications/tools/list_changed": {}, "notifications/resources/list_changed": {},
    "notifications/resources/updated": {"uri": "mem://a"},
    "notifications/prompts/list_changed": {},
    "notifications/elicitation/complete": {"elicitationId": "e"},
    "notifications/tasks/status": {"taskId": "t", "status": "working", "createdAt": "x",
                                   "lastUpdatedAt": "x", "ttl": 1},
    "notifications/x-vendor": {},
}


def _frames(version):
    """Every method with good params, without the first member its schema requires, with a
    ``_meta`` that is not an object, with params that are not an object, and at a log level
    none of the eight (LG-03): (name, frame)."""
    for method, good in _GOOD_PARAMS.items():
        if good is None:
            good = {"protocolVersion": version, "capabilities": {}, "clientInfo": CLIENT_INFO}
        variants = [("good", good), ("_meta 5", dict(good, _meta=5)), ("params 5", 5)]
        required = spec.REQUIRED_PARAMS.get(method)
        if required:
            variants.append(("no " + required[0],
                             {k: v for k, v in good.items() if k != required[0]}))
        if "level" in good:
            variants.append(("level loud", dict(good, level="loud")))
        for name, params in variants:
            frame = {"jsonrpc": "2.0", "method": method, "params": params}
            if not method.startswith("notifications/"):
                frame["id"] = 1
            yield f"{method} {name}", frame


def _judged(tmp_path, version, when, frame):
    """``frame`` sent ``when`` (fresh, awaiting initialized, operating) to a server
    Connection and to an Auditor at once: the server's reports (its ER-11 is the client's
    LC-16), its answer's error code (None: no error, or no answer) and the audit's records."""
    from mcp_ref import events as ev
    from mcp_ref.audit import Auditor
    from mcp_ref.connection import Connection
    from mcp_ref.lifecycle import Role
    from mcp_ref.reference import build_server
    capabilities = build_server().capabilities
    server = Connection(Role.SERVER, capabilities=capabilities)
    auditor = Auditor(str(tmp_path / "judged.json"), capabilities)

    def feed(value):
        auditor.client_sent(line(value))
        events = server.receive_data(line(value))
        for event in events:
            if isinstance(event, ev.RequestReceived):
                server.send_response(event.id, {})
        out = server.data_to_send()
        auditor.server_sent(out)
        reports = [{"ER-11": "LC-16"}.get(e.error.catalogue_id, e.error.catalogue_id)
                   for e in events if isinstance(e, ev.ProtocolViolation)]
        codes = [json.loads(text).get("error", {}).get("code") for text in out.splitlines()]
        return reports, (codes or [None])[0]
    if when != "fresh":
        feed({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
            "protocolVersion": version, "capabilities": {}, "clientInfo": CLIENT_INFO}})
    if when == "operating":
        feed({"jsonrpc": "2.0", "method": "notifications/initialized"})
    before = len(auditor.violations)
    reports, code = feed(frame)
    return reports, code, [v["id"] for v in auditor.violations[before:]]


def _why_only_the_audit(method, rule, code):
    """The reason a rule the audit records for a frame is not among the server's reports, or
    None if there is none. The server owes one answer and gives the first check's; the audit
    records every rule the client broke (D-108)."""
    if rule in ("BP-01", "PR-02", "LG-03") and code in (-32600, -32601):
        return "the params, unread: the server answered the timing or the method (D-108, D-112)"
    if rule in ("LC-02", "LC-05") and code == -32601:
        return "the timing: the server answers the method or its capability first (D-05)"
    if rule == "LC-16" and method in SERVER_ONLY_REQUESTS:
        return "a server's request: unknown to the server, -32601, no report (D-05, D-102)"
    if method in ("notifications/cancelled", "notifications/progress"):
        return "the server ignores a bad cancel or progress silently (CN-10, D-102)"
    return None


@pytest.mark.spec("BP-01", "PR-02", "LG-03", "LC-02", "LC-05", "LC-15", "LC-16")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_the_audit_records_what_the_server_reports_for_every_frame(tmp_path, version):
    """D-112: every method a client might send, with good params and with params the schema
    refuses, before initialize, awaiting initialized and operating: the rows the server's
    connection reports for the frame are rows the audit records for it, and every row only
    the audit records has a reason (:func:`_why_only_the_audit`). The one row only the server
    reports: a capability it did not declare, before its initialize result (ER-11; the client
    could not yet have read the declaration, so the audit records the timing, D-102). Before
    D-112 a setLevel at level "loud" was nothing in the audit (LG-03 in the server), a client's
    server-only notification the schema refuses LG-01 or LC-16 (BP-01 or LG-03), one before
    initialize LG-01 or LC-16 (LC-02), tasks/status before 2025-11-25 nothing (LC-15)."""
    disagreements = []
    for when in ("fresh", "awaiting", "operating"):
        for name, frame in _frames(version):
            reports, code, audit = _judged(tmp_path, version, when, frame)
            for rule in reports:
                if rule not in audit and not (when == "fresh" and rule == "LC-16"):
                    disagreements.append(f"{when} {name}: the server reports {rule}, the "
                                         f"audit records {audit}")
            for rule in audit:
                if rule not in reports and not _why_only_the_audit(frame["method"], rule,
                                                                   code):
                    disagreements.append(f"{when} {name}: the audit records {rule}, the "
                                         f"server reports {reports} (answer {code})")
    assert disagreements == []


# --- The file survives a killed server -----------------------------------------------------------


def test_a_killed_server_still_leaves_the_file(tmp_path):
    path = tmp_path / "audit.json"
    with Wire(launcher(path), Options(cwd=ROOT), "killed") as wire:
        ask(wire, "early", "ping")                 # LC-02; recorded before it is answered
        os.kill(wire.child.pid, signal.SIGKILL)   # no chance to write anything more
        assert wire.child.wait(5.0) == -signal.SIGKILL
    violations = json.loads(path.read_text(encoding="utf-8"))
    assert ids(violations) == ["LC-02"]
    assert set(violations[0]) == {"id", "level", "violation", "frame"}


def test_sigterm_exits_143_and_keeps_the_file(tmp_path):
    path = tmp_path / "audit.json"
    with Wire(launcher(path), Options(cwd=ROOT), "sigterm") as wire:
        handshake(wire)
        ask(wire, "p", "ping")
        os.kill(wire.child.pid, signal.SIGTERM)
        assert wire.child.wait(5.0) == 143
    assert json.loads(path.read_text(encoding="utf-8")) == []


def test_a_signal_during_the_handshake_is_not_blamed_on_the_client(tmp_path):
    """LC-05: a client owes notifications/initialized, but a session ended by a signal to the
    server was not ended by the client: no LC-05."""
    path = tmp_path / "audit.json"
    with Wire(launcher(path), Options(cwd=ROOT), "sigterm mid-handshake") as wire:
        initialize(wire)                           # answered; initialized not yet sent
        os.kill(wire.child.pid, signal.SIGTERM)
        assert wire.child.wait(5.0) == 143
    assert json.loads(path.read_text(encoding="utf-8")) == []


def test_audit_combines_with_trace_and_watchdog(tmp_path):
    """``serve --audit FILE --trace FILE --watchdog S``: the audit and the transcript are
    both written, and the session runs as without them."""
    audit, trace = tmp_path / "audit.json", tmp_path / "trace.jsonl"
    argv = [sys.executable, "-m", "mcp_ref", "serve", "--audit", str(audit), "--trace",
            str(trace), "--watchdog", "5"]
    with Wire(argv, Options(cwd=ROOT), "audit+trace+watchdog") as wire:
        ask(wire, "early", "ping")                 # LC-02
        handshake(wire)
        assert ask(wire, "p", "ping") == {"jsonrpc": "2.0", "id": "p", "result": {}}
        assert wire.await_exit(5.0) == 0, wire.child.stderr_tail()
    assert ids(json.loads(audit.read_text(encoding="utf-8"))) == ["LC-02"]
    records = [json.loads(line) for line in trace.read_text(encoding="utf-8").splitlines()]
    received = [r.get("method") for r in records if r.get("dir") == "recv"]
    assert received == ["ping", "initialize", "notifications/initialized", "ping"], records


# --- PG-02: the client's answers to the server's keepalive pings (serve --keepalive) ----------


class _PingWire(Wire):
    """A client that answers the server's pings as told: ``"error"`` (-32601) or ``None``
    (never); other requests as :class:`Wire` does."""

    def __init__(self, argv, options, label, pongs):
        super().__init__(argv, options, label)
        self.pongs = pongs

    def _answer_server_request(self, request):
        if request["method"] != spec.PING:
            super()._answer_server_request(request)
        elif self.pongs == "error":
            self.send_raw(line({"jsonrpc": "2.0", "id": request["id"],
                                "error": {"code": -32601, "message": "Method not found"}}),
                          reply=True)


def keepalive_serve(path, timeout):
    return [sys.executable, "-m", "mcp_ref", "serve", "--audit", str(path),
            "--keepalive", "0.05", "--keepalive-timeout", str(timeout)]


def is_ping(value):
    return isinstance(value, dict) and value.get("method") == "ping" and "id" in value


@pytest.mark.spec("PG-02", "PG-05")
def test_a_client_answering_keepalive_pings_records_nothing(tmp_path):
    path = tmp_path / "audit.json"
    with Wire(keepalive_serve(path, 5.0), Options(cwd=ROOT), "pongs") as wire:
        handshake(wire)
        for _ in range(3):                         # Wire answers each ping with {} (PG-02)
            assert wire.wait_for(is_ping, wire.mark()) is not None
        assert wire.await_exit(5.0) == 0, wire.child.stderr_tail()
    assert json.loads(path.read_text(encoding="utf-8")) == []


@pytest.mark.spec("PG-02")
def test_a_ping_answered_with_an_error_is_recorded(tmp_path):
    """PG-02: the answer to ping is an empty result. The server's keepalive still counts an
    error as a sign of life (D-48); the auditor, which judges the client, records it."""
    path = tmp_path / "audit.json"
    with _PingWire(keepalive_serve(path, 5.0), Options(cwd=ROOT), "error pongs",
                   pongs="error") as wire:
        handshake(wire)
        pings = [wire.wait_for(is_ping, wire.mark()) for _ in range(2)]
        assert None not in pings
        assert wire.await_exit(5.0) == 0, wire.child.stderr_tail()
    violations = json.loads(path.read_text(encoding="utf-8"))
    assert set(ids(violations)) == {"PG-02"} and len(violations) >= 2
    assert violations[0]["level"] == "MUST"
    assert "with an error" in violations[0]["violation"]
    assert violations[0]["frame"]["id"] == pings[0].value["id"]


@pytest.mark.spec("PG-02")
def test_a_ping_answered_with_a_result_that_is_not_empty_is_recorded(tmp_path):
    """PG-02: the receiver of a ping answers with an *empty* result; ``_meta`` may ride on any
    result. ``check`` fails a server whose answer holds anything else; the auditor let such
    an answer from the client pass.
    https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/ping#behavior-requirements"""
    def ping(n):
        return ("server", {"jsonrpc": "2.0", "id": n, "method": "ping"})

    def answer(n, result):
        return ("client", {"jsonrpc": "2.0", "id": n, "result": result})
    steps = fed_handshake() + [ping(1), answer(1, {}), ping(2), answer(2, {"_meta": {"a": 1}}),
                               ping(3), answer(3, {"pong": True})]
    [violation] = fed(tmp_path, steps)
    assert violation["id"] == "PG-02" and violation["frame"]["id"] == 3
    assert "not the empty result" in violation["violation"]


@pytest.mark.spec("PG-02", "CN-10")
def test_a_servers_cancel_that_names_no_request_blames_no_ping(tmp_path, caplog):
    """PG-02 is recorded when the server cancels its own ping that the client never answered;
    a cancel whose params are not an object names no request, so no ping (CN-10: malformed,
    ignored). The auditor reads it without failing (which it would log, not raise: its
    params were indexed after a check mypy could not follow; D-106)."""
    ping = ("server", {"jsonrpc": "2.0", "id": 1, "method": "ping"})

    def cancel(params):
        return ("server", {"jsonrpc": "2.0", "method": "notifications/cancelled",
                           "params": params})
    [violation] = fed(tmp_path, fed_handshake() + [ping, cancel({"requestId": 1})])
    assert violation["id"] == "PG-02" and "ping 1" in violation["violation"]
    for params in ([1], None, "1"):
        assert fed(tmp_path, fed_handshake() + [ping, cancel(params)]) == [], params
    assert not [r for r in caplog.records if "auditor failed" in r.getMessage()]


@pytest.mark.spec("PG-02", "PG-09")
def test_a_ping_never_answered_is_recorded_once(tmp_path):
    """PG-02: a client that does not answer. The server gives up on its ping after the
    keepalive timeout, cancels it and ends the session (PG-09, D-48); the auditor records
    the missing answer, once."""
    path = tmp_path / "audit.json"
    with _PingWire(keepalive_serve(path, 0.3), Options(cwd=ROOT), "no pongs",
                   pongs=None) as wire:
        handshake(wire)
        ping = wire.wait_for(is_ping, wire.mark())
        assert ping is not None
        cancel = wire.wait_for(lambda v: isinstance(v, dict)                 # TO-02
                               and v.get("method") == "notifications/cancelled", ping.index)
        assert cancel is not None and cancel.value["params"]["requestId"] == ping.value["id"]
        wire.listen(10.0)                          # the server ends the session: stdout EOF
        assert wire.eof
        assert wire.await_exit(5.0) == 0, wire.child.stderr_tail()
    [violation] = json.loads(path.read_text(encoding="utf-8"))
    assert violation["id"] == "PG-02"
    assert f"ping {ping.value['id']!r}" in violation["violation"]
    assert violation["frame"]["method"] == "notifications/cancelled"


@pytest.mark.spec("PG-02", "TR-14")
def test_a_ping_pending_when_the_client_closes_stdin_is_not_blamed(tmp_path):
    """The client ends the session while the server's ping waits (its timeout is long): the
    ping was not refused, the session simply ended. Nothing is recorded."""
    path = tmp_path / "audit.json"
    with _PingWire(keepalive_serve(path, 30.0), Options(cwd=ROOT), "ping at close",
                   pongs=None) as wire:
        handshake(wire)
        assert wire.wait_for(is_ping, wire.mark()) is not None
        assert wire.await_exit(10.0) == 0, wire.child.stderr_tail()
    assert json.loads(path.read_text(encoding="utf-8")) == []


def test_several_servers_may_share_one_file(tmp_path):
    """Each process writes through its own temporary file, so none trips over another's
    rename (the battery of mcp_ref.check starts six servers at once)."""
    path = tmp_path / "shared.json"

    def one(n):
        with Wire(launcher(path), Options(cwd=ROOT), f"shared {n}") as wire:
            ask(wire, "early", "ping")             # LC-02, so every process writes
            handshake(wire)
            return wire.await_exit(5.0)

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        assert list(pool.map(one, range(6))) == [0] * 6
    assert ids(json.loads(path.read_text(encoding="utf-8"))) == ["LC-02"]
    assert os.listdir(tmp_path) == ["shared.json"]        # no temporary file left behind


def test_a_rule_broken_with_every_frame_is_written_out_a_hundred_times_then_counted(tmp_path):
    """A client that breaks one rule with every frame: the file used to grow with each, and
    each was a rewrite of the whole list (4 000 junk lines took ~30 s, the server's reader
    blocked meanwhile; helper-59's review). Now the first MAX_PER_ID of a catalogue row are
    written out and the rest counted in one entry that stays up to date (TR-07:
    https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio)."""
    from mcp_ref.audit import MAX_PER_ID
    junk = [("client", b"junk %d\n" % n) for n in range(MAX_PER_ID + 250)]
    ping = ("client", {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": []})
    recorded = fed(tmp_path, fed_handshake() + junk + [ping] + junk[:5])
    tr07 = [v for v in recorded if v["id"] == "TR-07"]
    assert len(tr07) == MAX_PER_ID + 1
    assert [v["frame"] for v in tr07[:2]] == ["junk 0", "junk 1"]
    assert tr07[-1]["frame"] is None and tr07[-1]["violation"] == (
        "255 more violation(s) of TR-07 after the 100 above, not written out one by one")
    assert recorded[-1] is not tr07[-1] and recorded[-1]["id"] != "TR-07"   # the ping's, after


def test_the_file_is_what_json_dump_with_indent_1_writes(tmp_path):
    """Entries are encoded once, when recorded, and joined at each rewrite; the file is still
    exactly ``json.dump(violations, indent=1)`` (non-ASCII kept as it is)."""
    from mcp_ref.audit import Auditor
    path = tmp_path / "a.json"
    auditor = Auditor(str(path), {"tools": {}})
    assert path.read_text(encoding="utf-8") == "[]\n"
    auditor.client_sent(line({"jsonrpc": "2.0", "id": "é", "method": "tools/list"}))
    auditor.client_sent(b"not json\n")
    auditor.client_sent(b"")
    auditor.close()
    text = path.read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), ensure_ascii=False, indent=1) + "\n"
    assert len(json.loads(text)) >= 2 and "é" in text


def test_an_unwritable_audit_file_is_a_clean_error(tmp_path):
    proc = subprocess.run(launcher(tmp_path / "no" / "such" / "dir.json"), cwd=ROOT,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=10)
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert proc.stderr.count(b"cannot write the audit file") == 1, proc.stderr  # said once
    assert b"dir.json" in proc.stderr and b"Traceback" not in proc.stderr
