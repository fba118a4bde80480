"""End to end over real processes: mcp_ref's Client against mcp_ref's reference server and
against scripted misbehaving servers (tests/fixtures/scripted_server.py).

Every test is bounded in time, waits on events (never sleeps to synchronise), and checks that
the server process was reaped.
"""

import asyncio
import functools
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest
from helpers import ctrl_c_in_first_wait

from mcp_ref import spec
from mcp_ref.client import Client
from mcp_ref.errors import (ConnectionClosed, LocalProtocolError, PeerError,
                            RemoteProtocolError, RequestTimeout, SpawnError,
                            UnsupportedProtocolVersion)
from mcp_ref.lifecycle import State

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
SERVE = [sys.executable, "-m", "mcp_ref", "serve"]


def scripted(mode):
    return [sys.executable, os.path.join(FIXTURES, "scripted_server.py"), mode]


def spawn(argv=SERVE, **options):
    options.setdefault("cwd", ROOT)
    return Client.spawn(argv, **options)


def assert_reaped(pid):
    """No zombie: the child was waited for (reliability invariant I3)."""
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def our_zombies():
    """Children of this process that exited but were never reaped."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] == "Z" and int(fields[1]) == os.getpid():
                found.append(int(entry))
    return found


@pytest.mark.spec("LC-03", "LC-04", "LC-05", "LC-08", "LC-10", "LC-14", "LC-15", "TL-01")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_handshake_at_each_version(version):
    with spawn(supported_versions=(version,)) as client:
        assert client.protocol_version == version
        assert client.state is State.OPERATING
        assert client.server_info["name"] == "mcp_ref-reference"
        assert "tools" in client.server_capabilities
        assert client.instructions
        echo = next(t for t in client.list_tools() if t["name"] == "echo")
        # LC-15: definitions carry only the fields the negotiated revision defines.
        assert ("annotations" in echo) == (version >= "2025-03-26")
        assert ("title" in echo) == (version >= "2025-06-18")
        pid = client.pid
        client.ping()
    assert_reaped(pid)


@pytest.mark.spec("LC-13", "LC-05")
def test_unsupported_version_is_a_typed_error_and_the_child_is_reaped():
    started = time.monotonic()
    with pytest.raises(UnsupportedProtocolVersion) as info:
        spawn(scripted("bad-version"))
    assert info.value.offered == "1999-01-01"
    assert time.monotonic() - started < 5
    assert our_zombies() == []


@pytest.mark.spec("LC-13")
def test_unsupported_version_sends_no_initialized(caplog):
    # The scripted server logs every method it receives on stderr: there must be no
    # notifications/initialized among them.
    import logging
    caplog.set_level(logging.INFO, logger="mcp_ref.server_stderr")
    with pytest.raises(UnsupportedProtocolVersion):
        spawn(scripted("bad-version"))
    received = [r.getMessage() for r in caplog.records if r.name == "mcp_ref.server_stderr"]
    assert "got initialize" in received
    assert "got notifications/initialized" not in received
    assert "got-eof" in received


def _our_fds():
    return set(os.listdir("/proc/self/fd"))


@pytest.mark.spec("LC-13", "LC-20", "TO-06", "TR-13", "TR-15")
@pytest.mark.parametrize("mode, error, exit_code", [
    ("refuse-init", PeerError, 0), ("bad-version", UnsupportedProtocolVersion, 0),
    ("die-on-init", ConnectionClosed, 3), ("mute-init", RequestTimeout, 0)])
def test_a_failed_handshake_ends_at_the_first_rung_and_leaves_nothing_behind(
        tmp_path, mode, error, exit_code):
    """D-113: a handshake that fails shuts the server down by the ladder's first rung alone
    (TR-13: close its stdin, and a server that exits on EOF is gone), whether the failure is
    known at once (an error for initialize; a version the client cannot speak, where LC-13
    says disconnect; the server exiting, TR-15) or only at the handshake timeout (LC-20,
    TO-06). No SIGTERM, so no ``term_grace`` wait: the graces here are long, and a rung more
    would be in the trace's close event. The child is reaped, and none of the client's
    threads or fds outlive spawn. (It passed before: D-89's "a failed handshake returns after
    handshake_timeout plus the shutdown ladder" holds only for a mute server, and the ladder
    is one rung for a server that exits on EOF.)"""
    trace = tmp_path / "t.jsonl"
    fds = _our_fds()
    with pytest.raises(error):
        spawn(scripted(mode), trace=str(trace), stdin_grace=30, term_grace=30,
              handshake_timeout=0.5 if mode == "mute-init" else 30)
    events = [json.loads(line) for line in trace.read_text("utf-8").splitlines()]
    [started] = [e for e in events if e.get("event") == "spawn"]
    [closed] = [e for e in events if e.get("event") == "close"]
    assert closed["steps"] == ["close_stdin"] and closed["exit_code"] == exit_code, closed
    assert_reaped(started["pid"])
    assert not [t.name for t in threading.enumerate() if t.name.startswith("mcp_ref-")
                and t.name.endswith(f"-{started['pid']}")]
    assert _our_fds() <= fds        # the transcript's, the pipes' and the pidfd's are closed
    # initialize was the only frame sent: no notifications/initialized (LC-13), nothing else.
    sent = [e["msg"].get("method") for e in events if e.get("dir") == "send"]
    assert sent == ["initialize"]


@pytest.mark.spec("TL-05", "TL-08", "ER-02", "ER-03", "PN-04")
def test_tools_round_trip():
    with spawn() as client:
        names = [tool["name"] for tool in client.list_tools()]
        assert {"echo", "add", "slow", "fail"} <= set(names)
        text = "ü 漢 🎉 a\nb \u2028"
        echoed = client.call_tool("echo", {"text": text})
        assert echoed["content"] == [{"type": "text", "text": text}]
        assert client.call_tool("add", {"a": 2, "b": 3})["content"][0]["text"] == "5"
        failed = client.call_tool("fail", {"message": "nope"})
        assert failed["isError"] is True and failed["content"][0]["text"] == "nope"
        bad_args = client.call_tool("add", {"a": "two", "b": 3})
        assert bad_args["isError"] is True
        with pytest.raises(PeerError) as info:
            client.call_tool("does_not_exist", {})
        assert info.value.code == -32602


@pytest.mark.spec("ER-03", "TL-14")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_invalid_tool_arguments_are_an_is_error_result_in_every_revision(version):
    """D-14, kept in every revision (D-95): arguments that break the tool's inputSchema are
    an ``isError`` result naming the problem, never a JSON-RPC error, although 2024-11-05 …
    2025-06-18 list invalid arguments among the issues protocol errors are for (ER-03 is
    2025-11-25's reading). One behaviour in all four keeps the baseline's verdicts comparable."""
    with spawn(supported_versions=(version,)) as client:
        assert client.protocol_version == version
        wrong_type = client.call_tool("add", {"a": "two", "b": 3})     # PeerError if -32602
        missing = client.call_tool("add", {"a": 1})
    assert wrong_type == {"content": [{"type": "text", "text": "Invalid arguments: "
                                       "arguments.a: expected number, got string"}],
                          "isError": True}
    assert missing["isError"] is True
    assert missing["content"][0]["text"] == ("Invalid arguments: arguments: "
                                             "missing required property 'b'")


@pytest.mark.spec("PN-01", "PN-02", "PN-04", "PN-05")
def test_list_tools_follows_pagination():
    from mcp_ref.reference import build_server
    # page size 2 over the reference tools, through a tiny launcher
    launcher = ("import sys; sys.path.insert(0, %r); from mcp_ref.reference import build_server; "
                "s = build_server(); s.page_size = 2; sys.exit(s.run_stdio())" % ROOT)
    with spawn([sys.executable, "-c", launcher]) as client:
        names = [tool["name"] for tool in client.list_tools()]
    assert names == list(build_server()._tools)


@pytest.mark.spec("PN-02")
def test_a_page_size_below_one_is_refused():
    # With page_size 0 every page is empty yet carries a nextCursor: "more exist" for ever.
    from mcp_ref.server import Server
    for size in (0, -1):
        with pytest.raises(ValueError):
            Server("x", page_size=size)


def _bounded_listing(client, seconds):
    """Run client.list_tools() on a thread; ('done', tools), ('error', exc) or ('running',)
    after ``seconds``. A listing still running ends with ConnectionClosed at close()."""
    outcome = queue.Queue()

    def run():
        try:
            outcome.put(("done", client.list_tools(timeout=2)))
        except Exception as exc:          # noqa: BLE001 - the test inspects it
            outcome.put(("error", exc))
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        return outcome.get(timeout=seconds), thread
    except queue.Empty:
        return ("running",), thread


@pytest.mark.spec("TL-08", "BP-01")
@pytest.mark.parametrize("arguments", [{}, {"stringy": True}])
def test_a_tool_result_without_a_content_list_is_a_protocol_error_not_a_result(arguments):
    # TL-08: CallToolResult's content is a required array in every revision's schema. The
    # client handed {} (or a string content) to the caller as a tool's result; the Python
    # SDK refuses it, the TS SDK substitutes [] (spec_notes/differential.md, client side). It
    # is RemoteProtocolError now, with what the server sent on .result, and the session goes
    # on (D-90).
    with spawn(scripted("result-lacks")) as client:
        with pytest.raises(RemoteProtocolError, match="content") as caught:
            client.call_tool("bare", arguments)
        assert caught.value.catalogue_id == "TL-08"
        assert caught.value.result == ({"content": "hello"} if arguments else {})
        client.ping()


def _broken_listing(mode, caplog):
    """The RemoteProtocolError of list_tools() against ``scripted_server.py MODE``, after
    which the session goes on; and what the server marked of any cursor it was sent."""
    caplog.set_level(logging.INFO, logger="mcp_ref.server_stderr")
    with spawn(scripted(mode)) as client:
        (kind, *value), thread = _bounded_listing(client, 5)
        assert kind == "error", value
        assert isinstance(value[0], RemoteProtocolError), value[0]
        client.ping()                                   # the session goes on
    thread.join(5)
    received = [r.getMessage() for r in caplog.records if r.name == "mcp_ref.server_stderr"]
    return value[0], [m for m in received if m.startswith("cursor ")]


@pytest.mark.spec("BP-01")
@pytest.mark.parametrize("mode, message", [
    ("page-not-list", "tools/list answered a page whose 'tools' is an object, {'echo': {}}, "
                      "not an array"),
    ("page-without-items", "tools/list answered a page without 'tools', the array the schema "
                           "requires")], ids=["not-an-array", "missing"])
def test_a_page_without_its_items_array_fails_the_listing(mode, message, caplog):
    # Each list result's items are a required array. A client that extends its list with
    # whatever "tools" holds hands the caller garbage (here, the dict's keys), and a page
    # without its items ("tools" is required by ListToolsResult) was read as an empty list,
    # a listing that looked complete (D-90). RemoteProtocolError, naming what arrived; the
    # result the schema refuses is BP-01's, as connection.py reports one on receipt. It was
    # PN-05, a cursor rule, with one message for this fault and the cursor's (D-122).
    error, cursors = _broken_listing(mode, caplog)
    assert (error.catalogue_id, str(error)) == ("BP-01", message)
    assert not cursors, cursors


@pytest.mark.spec("PN-05", "TR-07")
def test_a_page_whose_cursor_is_not_a_string_fails_the_listing_and_is_not_echoed(caplog):
    # The schema's Cursor is a string. A client that echoes a nextCursor of 2 sends a
    # PaginatedRequest no schema accepts (TR-07): the listing cannot be completed
    # faithfully, RemoteProtocolError under PN-05 (opaque is not "of any type"), naming the
    # cursor that arrived (D-122), and no request with a cursor is sent.
    error, cursors = _broken_listing("cursor-number", caplog)
    assert (error.catalogue_id, str(error)) == (
        "PN-05", "tools/list answered a page whose nextCursor is an integer, 2, not a string")
    assert not cursors, cursors


@pytest.mark.spec("PN-02", "PN-05", "TO-01")
def test_a_server_repeating_its_cursor_does_not_hold_the_listing_for_ever():
    """D-42: a server that answers every page with a nextCursor (here always "again") gets
    max_pages requests, then RemoteProtocolError; the cursors are never compared (PN-05), so
    each one, repeated or not, was sent back as it came. The session goes on."""
    with spawn(scripted("cursor-loop")) as client:
        with pytest.raises(RemoteProtocolError, match="after 25 pages"):
            client.list_tools(max_pages=25, timeout=10)
        client.ping()


@pytest.mark.spec("PN-02")
@pytest.mark.parametrize("max_pages", [0, -1, 2.5, None, "3", True])
def test_a_max_pages_that_is_not_a_whole_number_of_at_least_one_is_the_callers_error(
        max_pages):
    """D-42. Client review: max_pages=0 or -1 sent nothing and raised RemoteProtocolError,
    "tools/list still had a nextCursor after 0 pages": the server blamed for the caller's
    argument (ER-10: who broke a rule is told apart); 2.5, None or "3" a bare TypeError. It is
    ValueError, nothing is sent, and the session goes on."""
    with spawn(scripted("cursor-loop")) as client:
        for listing in (client.list_tools, client.list_resources,
                        client.list_resource_templates, client.list_prompts):
            with pytest.raises(ValueError, match="max_pages must be a whole number >= 1"):
                listing(max_pages=max_pages)
        client.ping()
    assert "got ping" in client.stderr_tail() and "/list" not in client.stderr_tail()


@pytest.mark.spec("TL-08", "TR-07")
def test_the_typed_helpers_send_no_name_uri_or_arguments_of_the_wrong_type():
    """Client review: call_tool(123), call_tool("x", [1, 2]), read_resource(None) and
    get_prompt("p", {"n": 1}) went out as written, requests the server's schema refuses
    (TR-07; call_tool([1]) was a bare TypeError). As set_logging_level does for its level
    (D-54), each is now LocalProtocolError with nothing sent, and the session goes on. A raw
    request() still sends what it is given (D-54: how a test makes a server refuse one)."""
    with spawn(scripted("plain")) as client:
        for call in (lambda: client.call_tool(123), lambda: client.call_tool(None, {}),
                     lambda: client.call_tool(["x"]), lambda: client.call_tool("x", [1, 2]),
                     lambda: client.call_tool("x", "{}"),
                     lambda: client.call_tool_async(b"x"), lambda: client.read_resource(None),
                     lambda: client.read_resource(5), lambda: client.get_prompt(1),
                     lambda: client.get_prompt("p", {"n": 1}),
                     lambda: client.get_prompt("p", ["a"])):
            with pytest.raises(LocalProtocolError, match="must be a string|must be an object"):
                call()
        client.ping()
    tail = client.stderr_tail()
    assert "got ping" in tail and not [m for m in ("tools/", "resources/", "prompts/")
                                       if m in tail], tail


def test_a_mistyped_option_is_a_type_error_naming_the_method_called_and_nothing_is_sent():
    """D-91 (D-89's leftover): ``call_tool("x", tiemout=5)`` raised Python's TypeError for
    ``send_request()``, a method the user never called. Each helper now names itself, still
    a TypeError, before anything is sent; its options are Session.send_request's keywords
    (REQUEST_OPTIONS, derived from its code object since D-93; checked here against
    ``inspect``) and, for the list helpers, ``max_pages``."""
    import inspect
    from mcp_ref.session import REQUEST_OPTIONS, Session
    keywords = {name for name, parameter in
                inspect.signature(Session.send_request).parameters.items()
                if parameter.kind is inspect.Parameter.KEYWORD_ONLY}
    assert REQUEST_OPTIONS == keywords
    with spawn(scripted("plain")) as client:
        calls = {"call_tool": lambda: client.call_tool("x", tiemout=5),
                 "call_tool_async": lambda: client.call_tool_async("x", tiemout=5),
                 "list_tools": lambda: client.list_tools(max_page=2),
                 "list_resources": lambda: client.list_resources(tiemout=5),
                 "list_prompts": lambda: client.list_prompts(tiemout=5),
                 "read_resource": lambda: client.read_resource("file:///a", tiemout=5),
                 "get_prompt": lambda: client.get_prompt("p", tiemout=5),
                 "set_logging_level": lambda: client.set_logging_level("info", tiemout=5),
                 "request": lambda: client.request("ping", tiemout=5),
                 "send_request": lambda: client.send_request("ping", tiemout=5)}
        for method, call in calls.items():
            with pytest.raises(TypeError, match=rf"^{method}\(\) got an unexpected keyword"):
                call()
        client.ping()
    tail = client.stderr_tail()
    assert "got ping" in tail and not [m for m in ("tools/", "resources/", "prompts/", "logging/")
                                       if m in tail], tail


@pytest.mark.spec("CN-05", "CN-11")
def test_a_server_request_cancelled_while_queued_for_the_callback_is_never_run():
    # The server sends "one", "two" and "three"; "two" is cancelled while the callback thread
    # is still busy with "one". CN-05: stop processing, so "two" never reaches the handler
    # (which may be asking a human).
    cancel_read = threading.Event()
    seen = []
    three_done = threading.Event()

    def sampling(params):
        tag = params["messages"][0]["content"]["text"]
        seen.append(tag)
        if tag == "one":
            # The log message follows the cancel on the wire; once the reader delivered it,
            # the cancel of "two" has been read too.
            assert cancel_read.wait(5)
        if tag == "three":
            three_done.set()
        return {"role": "assistant", "content": {"type": "text", "text": tag}, "model": "m"}

    def on_notification(method, params):
        if method == "notifications/message":
            cancel_read.set()
    with spawn(scripted("cancel-queued"), sampling=sampling,
               on_notification=on_notification) as client:
        assert three_done.wait(5)
        client.ping()
    assert seen == ["one", "three"]


@pytest.mark.spec("LG-02", "ER-13")
def test_resources_prompts_and_logging():
    seen = []
    got_log = threading.Event()

    def on_notification(method, params):
        seen.append((method, params))
        if method == "notifications/message":
            got_log.set()

    with spawn(on_notification=on_notification) as client:
        resources = client.list_resources()
        assert resources[0]["uri"] == "mcp-ref://about"
        assert client.list_resource_templates() == []      # the reference server has none
        contents = client.read_resource("mcp-ref://about")["contents"]
        assert "2025-11-25" in contents[0]["text"]
        with pytest.raises(PeerError) as info:
            client.read_resource("mcp-ref://missing")
        assert info.value.code == -32002
        prompts = {p["name"] for p in client.list_prompts()}
        assert {"greet", "explain_phase"} <= prompts
        messages = client.get_prompt("greet", {"name": "Ada"})["messages"]
        assert "Ada" in messages[0]["content"]["text"]
        with pytest.raises(PeerError) as info:
            client.get_prompt("greet", {})
        assert info.value.code == -32602
        client.set_logging_level("error")
        client.call_tool("log", {"level": "info", "message": "filtered out"})
        client.call_tool("log", {"level": "error", "message": "let through"})
        assert got_log.wait(5)
        with pytest.raises(PeerError) as info:       # set_logging_level would not send it
            client.request("logging/setLevel", {"level": "loud"})
        assert info.value.code == -32602
    logs = [p["data"] for m, p in seen if m == "notifications/message"]
    assert logs == ["let through"]


BINARY_SERVER = f"""
import sys
sys.path.insert(0, {ROOT!r})
from mcp_ref.server import Server
server = Server("binary")

@server.resource("bin://bytes", mime_type="application/octet-stream")
def data(context):
    return bytes([0, 1, 254, 255])

raise SystemExit(server.run_stdio())
"""


def test_a_binary_resource_is_sent_as_a_base64_blob():
    with spawn([sys.executable, "-c", BINARY_SERVER]) as client:
        (item,) = client.read_resource("bin://bytes")["contents"]
    assert item == {"uri": "bin://bytes", "mimeType": "application/octet-stream",
                    "blob": "AAH+/w=="}


@pytest.mark.spec("PG-02", "LC-16")
def test_server_to_client_requests():
    def sampling(params):
        text = params["messages"][0]["content"]["text"]
        return {"role": "assistant", "content": {"type": "text", "text": text.upper()},
                "model": "test-model"}

    def elicitation(params):
        return {"action": "accept", "content": {"answer": "42"}}

    with spawn(roots=lambda: [{"uri": "file:///tmp", "name": "tmp"}], sampling=sampling,
               elicitation=elicitation) as client:
        assert "answered ping" in client.call_tool("ping_client", {})["content"][0]["text"]
        roots = json.loads(client.call_tool("roots", {})["content"][0]["text"])
        assert roots == {"roots": [{"uri": "file:///tmp", "name": "tmp"}]}
        sampled = json.loads(client.call_tool("sample", {"prompt": "hi"})["content"][0]["text"])
        assert sampled["content"]["text"] == "HI"
        elicited = json.loads(client.call_tool("elicit", {"message": "?"})["content"][0]["text"])
        assert elicited["content"] == {"answer": "42"}


@pytest.mark.spec("CN-01", "CN-05")
def test_cancelling_a_call_cancels_the_question_its_handler_asked_the_client(tmp_path):
    """The reference server's ``sample`` tool asks the client (sampling/createMessage) and
    waits. When the client cancels the tool call, the server cancels its own question in
    turn (CN-01: the answer is no longer wanted), instead of waiting for it until the
    question's timeout; the client's sampling handler's late answer is never sent (CN-05)."""
    asked, release = threading.Event(), threading.Event()
    cancelled_here = threading.Event()

    class Spot(logging.Handler):
        def emit(self, record):
            if "server cancelled its request" in record.getMessage():
                cancelled_here.set()

    def sampling(params):
        asked.set()
        release.wait(10)
        return {"role": "assistant", "model": "m", "content": {"type": "text", "text": "late"}}

    spot = Spot(level=logging.INFO)
    client_log = logging.getLogger("mcp_ref.client")
    old_level = client_log.level
    client_log.addHandler(spot)
    client_log.setLevel(logging.INFO)
    try:
        trace = tmp_path / "t.jsonl"
        with spawn(sampling=sampling, trace=str(trace)) as client:
            call = client.call_tool_async("sample", {"prompt": "hi"})
            assert asked.wait(10)
            assert call.cancel("changed my mind") is True
            assert cancelled_here.wait(10), "the server did not cancel its sampling request"
            release.set()
            client.ping()                       # the session goes on
    finally:
        release.set()
        client_log.removeHandler(spot)
        client_log.setLevel(old_level)
    frames = [json.loads(line) for line in trace.read_text("utf-8").splitlines()]
    frames = [f for f in frames if "dir" in f]
    (question,) = [f for f in frames if f["dir"] == "recv"
                   and f["msg"].get("method") == "sampling/createMessage"]
    cancels = [f["msg"]["params"] for f in frames if f["dir"] == "recv"
               and f.get("method") == "notifications/cancelled"]
    assert [c["requestId"] for c in cancels] == [question["id"]]
    assert not [f for f in frames if f["dir"] == "send" and f.get("id") == question["id"]
                and ("result" in f["msg"] or "error" in f["msg"])], "the late answer was sent"


@pytest.mark.spec("LC-15")
@pytest.mark.parametrize("version", ["2024-11-05", "2025-03-26"])
def test_a_sampling_answer_the_revision_cannot_carry_is_a_32603(version):
    """D-41 on the client side: an audio block is new in 2025-03-26, so in a 2024-11-05
    session the client refuses to send it (-32603) and the server's tool reports the error;
    in 2025-03-26 the same answer goes through. The session goes on either way."""
    def sampling(params):
        return {"role": "assistant", "model": "m",
                "content": {"type": "audio", "data": "AAAA", "mimeType": "audio/wav"}}

    with spawn(sampling=sampling, supported_versions=(version,)) as client:
        result = client.call_tool("sample", {"prompt": "hi"})
        if version < "2025-03-26":
            assert result["isError"] is True
            assert "-32603" in result["content"][0]["text"], result
        else:
            assert json.loads(result["content"][0]["text"])["content"]["type"] == "audio"
        client.ping()


#: Handler answers the schema refuses (client wire review, 2026-12-06): each was sent as
#: it was, ``"result": null`` included.
_NOT_ANSWERS = [
    ("roots", lambda: None, "roots", {}),
    ("roots", lambda: [{"name": "no uri"}], "roots", {}),
    ("sampling", lambda params: None, "sample", {"prompt": "hi"}),
    ("sampling", lambda params: "just text", "sample", {"prompt": "hi"}),
    ("sampling", lambda params: {"role": "robot", "model": "m",
                                 "content": {"type": "text", "text": "x"}}, "sample",
     {"prompt": "hi"}),
    ("sampling", lambda params: {"role": "assistant",
                                 "content": {"type": "text", "text": "no model"}}, "sample",
     {"prompt": "hi"}),
    ("elicitation", lambda params: {"action": "maybe"}, "elicit", {"message": "ok?"}),
    ("elicitation", lambda params: [1], "elicit", {"message": "ok?"}),
    # D-82: the optional members too, in the schema's shapes.
    ("roots", lambda: [{"uri": "file:///a", "name": 5}], "roots", {}),
    ("sampling", lambda params: {"role": "assistant", "model": "m", "stopReason": 5,
                                 "content": {"type": "text", "text": "x"}}, "sample",
     {"prompt": "hi"}),
    ("elicitation", lambda params: {"action": "accept", "content": {"answer": {"x": 1}}},
     "elicit", {"message": "ok?"}),
]


@pytest.mark.spec("TR-07", "BP-09")
@pytest.mark.parametrize("option,handler,tool,arguments", _NOT_ANSWERS)
def test_a_client_handler_answer_the_schema_refuses_is_a_32603(option, handler, tool,
                                                               arguments, caplog):
    """The server gets -32603 instead of a frame its schema refuses (TR-07); the handler's
    author gets the reason in the log; the session goes on."""
    caplog.set_level(logging.ERROR, logger="mcp_ref.client")
    with spawn(**{option: handler}) as client:
        result = client.call_tool(tool, arguments)
        assert result["isError"] is True and "-32603" in result["content"][0]["text"], result
        client.ping()
    assert any("returned no valid result" in str(r.exc_info[1]) for r in caplog.records
               if r.exc_info), [r.getMessage() for r in caplog.records]


@pytest.mark.spec("BP-10", "BP-11", "BP-01")
@pytest.mark.parametrize("error", [PeerError(-1, 5), PeerError(1.5, "half a code"),
                                   PeerError(-1, "not JSON data", {1, 2})],
                         ids=["message-5", "code-1.5", "data-a-set"])
def test_a_client_handler_peer_error_that_cannot_be_sent_is_a_32603(error, caplog):
    """D-79: a roots handler raising PeerError(-1, 5) sent ``"message": 5`` and one raising
    PeerError(1.5, ...) sent code 1; data JSON cannot carry left the server's request
    unanswered. The connection now refuses such an error (BP-10, BP-11, BP-01) and the
    client answers -32603 instead; the session goes on."""
    def roots():
        raise error
    caplog.set_level(logging.ERROR, logger="mcp_ref.client")
    with spawn(roots=roots, request_timeout=10) as client:
        result = client.call_tool("roots", {})
        assert result["isError"] is True and "-32603" in result["content"][0]["text"], result
        client.ping()
    assert any("cannot be sent" in r.getMessage() for r in caplog.records), caplog.records


@pytest.mark.spec("LG-03")
def test_set_logging_level_refuses_a_level_that_is_not_one_of_the_eight():
    with spawn() as client:
        for bad in ("loud", 5, "INFO"):
            with pytest.raises(ValueError, match="must be one of debug, info"):
                client.set_logging_level(bad)
        client.set_logging_level("notice")


@pytest.mark.spec("LC-16", "TR-07")
@pytest.mark.parametrize("method", ["roots/list", "sampling/createMessage", "elicitation/create"])
def test_a_client_refuses_to_send_a_request_only_servers_send(method):
    from mcp_ref.errors import LocalProtocolError
    with spawn() as client:
        with pytest.raises(LocalProtocolError, match=f"{method} is a request the server "
                                                     "sends, not the client"):
            client.request(method, {})
        assert client._session._requests == {}
        client.ping()


@pytest.mark.spec("LC-15", "LC-16")
def test_elicitation_follows_the_declared_modes_and_the_negotiated_revision():
    """D-35, D-36, over real processes: the reference server's ``elicit`` tool (form mode) is a
    tool error, not a request on the wire, when the client supports url mode only or when the
    session's revision has no elicitation at all."""
    asked = []

    def elicitation(params):
        asked.append(params)
        return {"action": "decline"}

    with spawn(elicitation=elicitation, elicitation_modes=("url",)) as client:
        result = client.call_tool("elicit", {"message": "?"})
        assert result["isError"] is True and "'form' mode" in result["content"][0]["text"]
    with spawn(elicitation=elicitation, supported_versions=("2025-03-26",)) as client:
        assert client.protocol_version == "2025-03-26"
        result = client.call_tool("elicit", {"message": "?"})
        assert result["isError"] is True
        assert "does not exist in protocol revision 2025-03-26" in result["content"][0]["text"]
    assert asked == []
    with spawn(elicitation=elicitation, elicitation_modes=("form", "url")) as client:
        result = client.call_tool("elicit", {"message": "?"})
        assert not result.get("isError") and asked and "requestedSchema" in asked[0]
    for bad in ((), ("form", "voice")):
        with pytest.raises(ValueError, match="elicitation_modes"):
            spawn(elicitation=elicitation, elicitation_modes=bad)


EXITING_SERVER = """
import sys
sys.path.insert(0, %r)
import asyncio
from mcp_ref.server import Server
server = Server("exiting", max_workers=1)

@server.tool()
def exits(arguments, context):
    raise %s

@server.resource("x://exits")
def exiting_resource(context):
    raise %s

@server.tool()
def ok(arguments, context):
    return "still here"

raise SystemExit(server.run_stdio())
"""

@pytest.mark.spec("ER-03", "BP-01")
@pytest.mark.parametrize("raised,name", [
    ("SystemExit(2)", "SystemExit"),                # what argparse does inside a tool
    ("asyncio.CancelledError()", "CancelledError"),  # a BaseException: asyncio code in a tool
    ("KeyboardInterrupt()", "KeyboardInterrupt"),
])
def test_a_handler_raising_system_exit_is_answered_and_the_worker_survives(raised, name):
    """A tool or handler that raises SystemExit gets an answer (isError, or -32603) and the
    single worker goes on serving; before, the worker thread died and every later request
    waited for its timeout (found by a shell review). The same for any BaseException: a
    worker thread never gets a signal's KeyboardInterrupt, so whatever a handler raises on
    it is the handler's failure, and the request is still answered (BP-01, D-59)."""
    server = EXITING_SERVER % (ROOT, raised, raised)
    with spawn([sys.executable, "-c", server], request_timeout=10) as client:
        for _ in range(3):
            result = client.call_tool("exits", {})
            assert result["isError"] is True and name in result["content"][0]["text"]
        for _ in range(3):
            with pytest.raises(PeerError) as info:
                client.read_resource("x://exits")
            assert info.value.code == -32603
        assert client.call_tool("ok", {})["content"][0]["text"] == "still here"


_INLINE_SERVER = """
import sys, threading
sys.path.insert(0, %r)
from mcp_ref.server import Server
server = Server("inline", max_workers=1)

@server.tool(inline=True)
def where(arguments, context):
    context.progress(1, total=2)
    context.log("info", "from the tool")
    context.progress(2, total=2)
    return threading.current_thread().name

@server.tool()
def where_pooled(arguments, context):
    return threading.current_thread().name

@server.tool(inline=True)
def asks(arguments, context):
    return str(context.request("roots/list"))

@server.tool(inline=True)
def waits(arguments, context):
    return str(context.wait_cancelled(30))

raise SystemExit(server.run_stdio())
"""


@pytest.mark.spec("PR-04", "LG-01", "BP-07")
def test_an_inline_tool_runs_on_the_reader_and_answers_after_its_progress_and_logs():
    """D-70: a tool registered with inline=True runs on the server's reader thread (the main
    thread, in run_stdio), one registered without it on a worker. What the inline tool
    reports comes before its answer, in the order it reported it."""
    order = []

    def on_notification(method, params):
        order.append(method)
    with spawn([sys.executable, "-c", _INLINE_SERVER % ROOT], request_timeout=10,
               on_notification=on_notification) as client:
        result = client.call_tool("where", {}, on_progress=lambda *args: order.append("progress"))
        assert result["content"][0]["text"] == "MainThread"
        assert order == ["progress", "notifications/message", "progress"]
        pooled = client.call_tool("where_pooled", {})["content"][0]["text"]
        assert pooled.startswith("mcp_ref-worker-")


@pytest.mark.spec("BP-01", "ER-03")
def test_an_inline_tool_that_asks_the_client_fails_at_once_instead_of_deadlocking():
    """D-70: an inline tool's question could only be answered through the thread that runs
    it; Context.request raises RuntimeError, and the call is an isError result (ER-03) long
    before any timeout, and the session goes on."""
    with spawn([sys.executable, "-c", _INLINE_SERVER % ROOT], request_timeout=10,
               roots=lambda: [{"uri": "file:///tmp", "name": "tmp"}]) as client:
        started = time.monotonic()
        result = client.call_tool("asks", {})
        assert result["isError"] is True
        assert "inline tool cannot ask the client (roots/list)" in result["content"][0]["text"]
        assert time.monotonic() - started < 5          # the timeout is 10 s: no deadlock
        assert client.call_tool("where_pooled", {})["content"][0]["text"] != "MainThread"


@pytest.mark.spec("ER-03", "CN-05")
def test_an_inline_tool_that_waits_for_its_cancel_fails_at_once_instead_of_stopping_the_reader():
    """D-114: an inline tool's cancel could only be read by the thread that runs it, so
    Context.wait_cancelled could never end early: it would stop the reader (pings, cancels,
    every other request) for the whole wait. It raises RuntimeError instead, and the call is
    an isError result (ER-03) at once; the session goes on."""
    with spawn([sys.executable, "-c", _INLINE_SERVER % ROOT], request_timeout=10) as client:
        # The wait asked for is 30 s, the client's timeout 10 s: a wait that slept would
        # end this call in RequestTimeout, not in a result.
        result = client.call_tool("waits", {})
        assert result["isError"] is True
        assert "inline tool cannot wait for its cancel" in result["content"][0]["text"]
        client.ping()


_BUILDING_SERVER = """
import json, sys; sys.path.insert(0, %r)
from mcp_ref.server import RequestError, Server
server = Server("builds", max_workers=1)

@server.tool(input_schema={"type": "object"})
def returns(arguments, context):
    return json.loads(arguments["json"])        # what a careless handler built

@server.tool(input_schema={"type": "object"})
def refuses(arguments, context):
    raise RequestError(-32602, "bad", {"nan": float("nan"), "bytes": b"x"}[arguments["data"]])

@server.tool()
def bad_error(arguments, context):
    raise RequestError(-32602, 42)

@server.prompt(arguments=[{"name": "json", "required": True}])
def builds(arguments, context):
    return json.loads(arguments["json"])

@server.resource("x://none")
def nothing(context):
    return None

sys.exit(server.run_stdio())
""" % ROOT


@pytest.mark.spec("TL-08", "BP-01", "BP-10")
def test_a_handler_result_the_schema_refuses_is_an_error_and_never_sent():
    """Server review (D-59): what a handler built went out as built, so a client got a
    CallToolResult whose content was ["a", "b"] or "hello", prompt messages of 42, a
    resource text "None". A RequestError whose data JSON cannot carry was never answered.
    Each is now an isError result (a tool) or -32603, and the single worker serves on."""
    bad_results = [
        '["a", "b"]', '{"content": "hello"}', '{"content": [], "isError": "yes"}',
        '{"content": [], "structuredContent": [1]}', '[{"type": "text", "text": 1}]',
        '[{"type": "image", "data": "AA=="}]', '[{"type": "video"}]',
        '[{"type": "resource", "resource": {"uri": "x://a"}}]',
        # D-82: a block's optional annotations and _meta, in the schema's shapes or refused.
        '[{"type": "text", "text": "x", "annotations": 5}]',
        '[{"type": "text", "text": "x", "annotations": {"audience": ["robot"]}}]',
        '[{"type": "text", "text": "x", "_meta": 5}]',
    ]
    with spawn([sys.executable, "-c", _BUILDING_SERVER], request_timeout=10) as client:
        for built in bad_results:
            result = client.call_tool("returns", {"json": built})
            assert result["isError"] is True, built
            assert "returned no valid tool result" in result["content"][0]["text"], built
        good = client.call_tool("returns", {"json": '[{"type": "text", "text": "fine"}]'})
        assert good == {"content": [{"type": "text", "text": "fine"}], "isError": False}
        for data in ("nan", "bytes"):       # answered, without the data (BP-01)
            with pytest.raises(PeerError) as info:
                client.call_tool("refuses", {"data": data})
            assert (info.value.code, info.value.message, info.value.data) == (-32602, "bad", None)
        # BP-10: a message is a string. The RequestError is refused as it is built, in the
        # tool, which so fails like any other (ER-03).
        failed = client.call_tool("bad_error", {})
        assert failed["isError"] is True and "TypeError" in failed["content"][0]["text"]
        for built in ('42', '[{"role": "robot", "content": {"type": "text", "text": "x"}}]',
                      '[{"role": "user", "content": "hi"}]'):
            with pytest.raises(PeerError) as info:
                client.get_prompt("builds", {"json": built})
            assert info.value.code == -32603, built
        with pytest.raises(PeerError) as info:
            client.read_resource("x://none")
        assert info.value.code == -32603
        assert client.call_tool("returns", {"json": '"still here"'})["content"][0]["text"] \
            == "still here"


_DEEP_SERVER = """
import sys; sys.path.insert(0, %r)
from mcp_ref.server import Server
server = Server("deep")

@server.tool(input_schema={"type": "object", "properties": {"depth": {"type": "integer"}}})
def deep(arguments, context):
    value = 0
    for _ in range(arguments["depth"]):
        value = [value]
    return {"structuredContent": {"value": value}}

sys.exit(server.run_stdio())
""" % ROOT


@pytest.mark.spec("BP-01", "ER-03")
def test_a_value_nested_past_the_limit_is_a_typed_error_on_either_side_and_nothing_hangs():
    """D-51 both ways. A handler's result nested deeper than MAX_NESTING is answered -32603
    (before, 513 to ~990 levels went out and this client's reader refused the line as
    -32700, so the call waited for its timeout; deeper ones broke json.dumps). Arguments
    nested that deep are NotJson here, nothing is sent, and the session goes on."""
    from mcp_ref.errors import NotJson
    from mcp_ref.framing import MAX_NESTING
    with spawn([sys.executable, "-c", _DEEP_SERVER], request_timeout=10) as client:
        shallow = client.call_tool("deep", {"depth": MAX_NESTING - 3})   # + {"value":} + result
        assert shallow["structuredContent"]["value"] and not shallow.get("isError")
        for depth in (MAX_NESTING, 700, 5000):
            with pytest.raises(PeerError) as info:
                client.call_tool("deep", {"depth": depth})
            assert info.value.code == -32603
        deep = 0
        for _ in range(MAX_NESTING):
            deep = [deep]
        with pytest.raises(NotJson, match=f"more than {MAX_NESTING} deep"):
            client.call_tool("echo", {"message": deep})
        client.ping()


@pytest.mark.spec("LC-16", "ER-11")
def test_undeclared_client_capability_is_refused():
    with spawn() as client:     # no roots callback: no roots capability
        result = client.call_tool("roots", {})
        assert result["isError"] is True
        assert "roots" in result["content"][0]["text"]


@pytest.mark.spec("PG-02")
def test_client_answers_server_ping_right_after_initialize(caplog):
    import logging
    caplog.set_level(logging.INFO, logger="mcp_ref.server_stderr")
    with spawn(scripted("ping-client")) as client:
        client.ping()        # the server's ping was answered before this, in order
    lines = [r.getMessage() for r in caplog.records if r.name == "mcp_ref.server_stderr"]
    answers = [line for line in lines if line.startswith("got response")]
    assert answers and json.loads(answers[0][len("got response "):]) == {
        "jsonrpc": "2.0", "id": "srv-1", "result": {}}


@pytest.mark.spec("TR-15")
def test_server_killed_mid_request_fails_pending_calls_fast():
    with spawn() as client:
        calls = [client.call_tool_async("slow", {"seconds": 30, "steps": 30}) for _ in range(5)]
        os.kill(client.pid, signal.SIGKILL)
        started = time.monotonic()
        for call in calls:
            with pytest.raises(ConnectionClosed) as info:
                call.result()
            assert info.value.signal == signal.SIGKILL
        assert time.monotonic() - started < 1.5
        with pytest.raises(ConnectionClosed):     # later calls fail fast
            client.ping()


@pytest.mark.spec("TR-15")
def test_server_dying_reports_exit_code_and_stderr():
    with spawn(scripted("die-mid-call")) as client:
        with pytest.raises(ConnectionClosed) as info:
            client.call_tool("anything", {})
    assert info.value.exit_code == 3
    assert "boom" in info.value.stderr_tail


@pytest.mark.spec("TR-14", "TR-06")
def test_server_exits_zero_on_stdin_eof_and_delivers_in_flight_replies():
    proc = subprocess.Popen(SERVE, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    frames = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "raw", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "slow", "arguments": {"seconds": 0.5, "steps": 2}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
         "params": {"name": "echo", "arguments": {"text": "last"}}},
    ]
    payload = b"".join(json.dumps(f).encode() + b"\n" for f in frames)
    out, err = proc.communicate(payload, timeout=10)   # writes, then closes stdin (EOF)
    assert proc.returncode == 0, err
    replies = [json.loads(line) for line in out.splitlines()]
    assert sorted(r["id"] for r in replies) == [1, 2, 3]
    assert all(line.startswith(b"{") for line in out.splitlines())


def test_a_line_the_server_could_not_read_is_a_warning_on_its_stderr_a_routine_drop_is_not():
    """D-131: a line nested past our limit (D-51) is no rule broken (D-127), but the server
    could not read it, so its stderr says so (it said nothing since D-127, and before it said
    the client broke BP-01); a routine drop (a cancel for no request, CN-06) stays at debug."""
    deep = (b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":'
            + b"[" * 511 + b"]" * 511 + b"}}")
    frames = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "raw", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 99}},
    ]
    payload = b"".join(json.dumps(f).encode() + b"\n" for f in frames) + deep + b"\n"
    done = subprocess.run(SERVE, cwd=ROOT, input=payload, capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    assert replies[-1]["id"] is None and replies[-1]["error"]["code"] == -32700
    warned = [line for line in done.stderr.decode().splitlines() if "WARNING" in line]
    assert len(warned) == 1, done.stderr
    assert "a message was not read" in warned[0] and "D-51" in warned[0], warned
    assert "99" not in done.stderr.decode()          # the stray cancel: debug, not shown


@pytest.mark.spec("TR-13")
def test_shutdown_ladder_takes_each_rung_only_when_needed():
    with spawn() as client:
        report = client.close()
    assert report.steps == ("close_stdin",) and report.exit_code == 0

    client = spawn(scripted("ignore-eof"), stdin_grace=0.3, term_grace=0.3)
    started = time.monotonic()
    report = client.close()
    assert report.steps == ("close_stdin", "sigterm")
    assert 0.25 < time.monotonic() - started < 2.0
    assert_reaped(client.pid)

    client = spawn(scripted("ignore-term"), stdin_grace=0.3, term_grace=0.3)
    started = time.monotonic()
    report = client.close()
    assert report.steps == ("close_stdin", "sigterm", "sigkill")
    assert report.signal == signal.SIGKILL
    assert 0.5 < time.monotonic() - started < 3.0
    assert_reaped(client.pid)
    assert client.close() is report                  # idempotent


@pytest.mark.spec("TR-06")
def test_stray_output_in_a_handler_never_reaches_the_client():
    argv = [sys.executable, os.path.join(FIXTURES, "noisy_server.py")]
    with spawn(argv) as client:
        result = client.call_tool("noisy", {})
        assert result["content"][0]["text"] == "quiet answer"
        client.ping()
        tail_deadline = time.monotonic() + 5
        while "inherited subprocess output" not in client.stderr_tail():
            assert time.monotonic() < tail_deadline, client.stderr_tail()
            threading.Event().wait(0.02)   # polling the stderr tail, which has no event
        tail = client.stderr_tail()
    assert "stray print from a handler" in tail and "raw write to fd 1" in tail


def test_spawn_errors_are_immediate_and_named():
    with pytest.raises(SpawnError) as info:
        Client.spawn(["/no/such/mcp-server"])
    assert "/no/such/mcp-server" in str(info.value)
    with pytest.raises(SpawnError) as info:
        Client.spawn(SERVE, cwd="/no/such/dir")
    assert "/no/such/dir" in str(info.value)


@pytest.mark.parametrize("option, value", [
    ("max_line_bytes", 0), ("max_line_bytes", -5), ("max_line_bytes", 1.5),
    ("max_line_bytes", "x"), ("max_line_bytes", None), ("notification_queue", -1),
    ("notification_queue", "3"), ("notification_queue", 0.5), ("notification_queue", True)])
def test_spawn_refuses_a_size_that_is_not_a_whole_number_before_it_starts_anything(option,
                                                                                  value):
    """D-03 (the line limit), RL-33 (the notification queue's bound). Client review: such a
    size was taken, a server spawned, and the session then failed once the server spoke, with
    a misleading error: "a message exceeded the 0-byte line limit", or the reader thread died
    of a TypeError and the calls failed with "the server closed its stdout" (the queue's
    thread left behind). The program does not exist: a check made after the spawn would raise
    SpawnError."""
    with pytest.raises(ValueError, match=f"{option} must be a whole number"):
        Client.spawn(["/no/such/mcp-server"], **{option: value})


@pytest.mark.spec("TR-13")
@pytest.mark.parametrize("option", ["stdin_grace", "term_grace"])
@pytest.mark.parametrize("value", [float("nan"), -1, -0.5, "1", None, True])
def test_spawn_refuses_a_grace_period_no_wait_can_take_before_it_starts_anything(option, value):
    """D-01, D-76: the shutdown ladder's waits are numbers of seconds >= 0 (inf: as long as
    the server takes, test_close_from_a_callback_while_another_thread_closes_returns_at_once).
    NaN or a negative one acted as 0, and a string made close() raise TypeError after the
    child was reaped. As above, the program does not exist: a check made after the spawn
    would raise SpawnError."""
    with pytest.raises(ValueError, match=option.replace("_", " ")):
        Client.spawn(["/no/such/mcp-server"], **{option: value})


@pytest.mark.spec("LC-03", "LC-08")
@pytest.mark.parametrize("option, value, message", [
    ("client_info", {"name": 1, "version": "1"}, "'name' as a string"),
    ("client_info", {"name": "c"}, "'version' as a string"),
    ("client_info", {"name": "c", "version": "1", "title": 5}, "'title' as a string"),
    ("client_info", {"name": "c", "version": "1", "icons": "x"}, "'icons' is a list"),
    ("client_info", "c", "an object, not str"),
    ("supported_versions", "2025-06-18", "non-empty tuple or list of revisions"),
    ("supported_versions", (), "non-empty tuple or list of revisions"),
    ("supported_versions", (v for v in ["2025-06-18"]), "non-empty tuple or list of revisions"),
    ("supported_versions", ("2025-06-18", "1999-01-01"), r"revision\(s\) \['1999-01-01'\]"),
    ("roots", ["file:///tmp"], "roots: the client calls it, but .* is not callable"),
    ("sampling", 3, "sampling: the client calls it, but 3 is not callable"),
    ("elicitation", "yes", "elicitation: the client calls it, but 'yes' is not callable"),
    ("on_notification", "print", "on_notification: the client calls it, but 'print' is not")])
def test_spawn_refuses_what_no_initialize_or_callback_could_use_before_it_starts_anything(
        option, value, message):
    """D-80 (helper-58's leftovers): a clientInfo whose name is not a string went out in an
    initialize the schema refuses (LC-03); the string "2025-06-18" as supported_versions was
    offered as the revision "2" (LC-08), and an empty tuple was IndexError; a callback that is
    not callable failed only once the server used it, on the reader thread. As above, the
    program does not exist: a check made after the spawn would raise SpawnError."""
    with pytest.raises(ValueError, match=message):
        Client.spawn(["/no/such/mcp-server"], **{option: value})


async def _async_callback(*args):
    return {}


def _no_argument_callback():
    return []


def _one_argument_callback(params):
    return {}


def _two_argument_callback(method, params, extra):
    return None


def _keyword_only_callback(params, *, context):
    return {}


#: (option, a callback the client could never call as it calls that option, what the
#: ValueError says). Each was accepted before D-109: an async def made a coroutine nobody
#: awaited (-32603 "LocalProtocolError" to the server's request, or, for on_notification,
#: nothing done but a RuntimeWarning), and a wrong arity was a TypeError at its first use on
#: the callback or reader thread (-32603 "TypeError" to the server, or a logged traceback).
_CALLBACKS_NEVER_CALLABLE = [
    ("roots", _async_callback, r"roots: the client calls it as _async_callback\(\), but it is "
                               r"a coroutine function \(async def\): write a plain def"),
    ("roots", _one_argument_callback, r"roots: the client calls it as _one_argument_callback"
                                      r"\(\), but it requires 1 positional argument"),
    ("sampling", _async_callback, r"sampling: .*_async_callback\(params\), .*async def"),
    ("sampling", _no_argument_callback, r"sampling: the client calls it as "
     r"_no_argument_callback\(params\), but it takes at most 0 positional arguments"),
    ("sampling", _keyword_only_callback, r"sampling: .* requires the keyword-only argument "
                                         r"'context'"),
    ("elicitation", _async_callback, r"elicitation: .*_async_callback\(params\), .*async def"),
    ("elicitation", _two_argument_callback, r"elicitation: .*\(params\), but it requires 3 "
                                            r"positional arguments"),
    ("on_notification", _async_callback, r"on_notification: the client calls it as "
                                         r"_async_callback\(method, params\), .*async def"),
    ("on_notification", _one_argument_callback, r"on_notification: .*\(method, params\), "
                                                r"but it takes at most 1 positional argument"),
]


@pytest.mark.parametrize("option, callback, message", _CALLBACKS_NEVER_CALLABLE,
                         ids=[f"{o}-{c.__name__}" for o, c, _ in _CALLBACKS_NEVER_CALLABLE])
def test_spawn_refuses_a_callback_the_client_could_never_call(option, callback, message):
    """D-109 (D-108's leftover): the client's callbacks were checked for callable() only
    (D-80), while the server refuses a handler it could never call (D-93) with the same
    check, now shared (``_callables.call_problem``). Reproduced with the reference server:
    an ``async def`` sampling callback answered the server -32603 "client handler failed:
    LocalProtocolError" (its coroutine is no result) with a "never awaited" warning, one
    without the ``params`` argument -32603 "TypeError"; an async on_notification did nothing.
    As above, the program does not exist: a check made after the spawn would raise
    SpawnError."""
    with pytest.raises(ValueError, match=message):
        Client.spawn(["/no/such/mcp-server"], **{option: callback})


class _Callbacks:
    def sampling(self, params):
        return {}

    @staticmethod
    def roots():
        return []


@pytest.mark.parametrize("option, callback", [
    ("roots", lambda: []), ("roots", _Callbacks.roots), ("roots", lambda *args: []),
    ("sampling", _Callbacks().sampling), ("sampling", lambda params, extra=None: {}),
    ("sampling", functools.partial(_two_argument_callback, "m")), ("sampling", dict),
    ("elicitation", lambda *args, **kwargs: {}),
    ("on_notification", print), ("on_notification", lambda method, params, *, k=1: None)])
def test_spawn_accepts_a_callback_the_client_can_call_whatever_its_form(option, callback):
    """D-109's guard against a false refusal (it passed before, as it should): a bound or
    static method, defaults, ``*args``, a partial or a builtin (not judged) are spawned: here
    the program does not exist, so SpawnError, not ValueError."""
    with pytest.raises(SpawnError):
        Client.spawn(["/no/such/mcp-server"], **{option: callback})


@pytest.mark.parametrize("callback, message", [
    (_async_callback, r"on_progress: the client calls it as _async_callback\(progress, "
                      r"total, message\), but it is a coroutine function"),
    (_one_argument_callback, r"on_progress: .* but it takes at most 1 positional argument"),
    (5, "on_progress: the client calls it, but 5 is not callable")])
def test_a_progress_callback_the_client_could_never_call_is_refused_and_nothing_is_sent(
        tmp_path, callback, message):
    """D-109: ``on_progress`` was not checked at all. An async def one made a coroutine at
    each progress ("never awaited"), a one-argument one or 5 a TypeError logged on the reader
    thread at each progress, while the call itself succeeded. Now ValueError when the request
    is made, nothing sent (the trace has no tools/call), and the session goes on."""
    trace = tmp_path / "t.jsonl"
    with spawn(trace=str(trace)) as client:
        with pytest.raises(ValueError, match=message):
            client.call_tool("slow", {"seconds": 0.1, "steps": 2}, on_progress=callback)
        client.ping()
    sent = [json.loads(line) for line in trace.read_text("utf-8").splitlines()]
    assert not [f for f in sent if f.get("dir") == "send"
                and f["msg"].get("method") == "tools/call"]


@pytest.mark.spec("CN-01")
@pytest.mark.parametrize("unless, message", [
    (_async_callback, r"unless: the client calls it as _async_callback\(\), but it is a "
                      r"coroutine function"),
    (_one_argument_callback, r"unless: .* but it requires 1 positional argument"),
    (5, "unless: the client calls it, but 5 is not callable")])
def test_an_unless_the_client_could_never_call_is_refused_and_nothing_is_sent(
        tmp_path, unless, message):
    """D-113 (D-109's leftover): ``send_request``'s ``unless`` (D-43), an option of every
    request, was not checked. An async def made a coroutine, which is true, so the call was
    "cancelled before it was sent" (RequestCancelled, and a "never awaited" warning); 5 or a
    one-argument function was a TypeError at the write. Now ValueError when the request is
    made, nothing sent (the trace has no tools/call), and the session goes on."""
    trace = tmp_path / "t.jsonl"
    with spawn(trace=str(trace)) as client:
        with pytest.raises(ValueError, match=message):
            client.call_tool("echo", {"text": "x"}, unless=unless)
        assert client.call_tool("echo", {"text": "x"}, unless=lambda: False)["content"]
    sent = [json.loads(line) for line in trace.read_text("utf-8").splitlines()]
    assert len([f for f in sent if f.get("dir") == "send"
                and f["msg"].get("method") == "tools/call"]) == 1     # only the good one


@pytest.mark.spec("LC-04", "LC-12")
@pytest.mark.parametrize("option, value, message", [
    ("name", 1, "'name' as a string"), ("version", None, "'version' as a string"),
    ("title", 7, "'title' as a string"), ("instructions", 5, "instructions are a string"),
    ("supported_versions", "2025-06-18", "non-empty tuple or list of revisions"),
    ("supported_versions", {"2025-06-18"}, "non-empty tuple or list of revisions"),
    ("supported_versions", ("2099-01-01",), "does not implement"),
    ("max_workers", 0, "max_workers must be a whole number >= 1"),
    ("max_workers", 2.5, "max_workers must be a whole number >= 1"),
    ("max_in_flight", 0, "max_in_flight must be a whole number >= 1"),
    ("drain_timeout", float("nan"), "drain timeout must be a finite number of seconds >= 0"),
    ("drain_timeout", -1, "drain timeout must be"), ("drain_timeout", "1", "drain timeout must"),
    ("page_size", "50", "page_size must be a whole number >= 1")])
def test_a_server_refuses_what_no_session_could_use_when_it_is_made(option, value, message):
    """D-80: found by driving a Server built with each: max_workers=0 accepted every tool call
    and never answered it (the client's timeout ended it); a name, title or instructions that
    are not strings went out in an initialize answer the schema refuses (LC-04); the string
    "2025-06-18" as supported_versions counter-offered the revision "2" (LC-12); a NaN drain
    timeout made the drain after stdin EOF wait for ever (D-18)."""
    from mcp_ref.server import Server
    kwargs = {"name": "x", option: value}
    with pytest.raises(ValueError, match=message):
        Server(**kwargs)


def _fd_count():
    return len(os.listdir("/proc/self/fd"))


def test_a_reader_thread_that_fails_is_named_in_the_error_not_the_server():
    """D-76: when the client's own reader thread failed (the one trigger found: a transcript
    redact hook raising SystemExit, which a thread ends on quietly), every call failed with
    "the server closed its stdout", blaming a server that was still running."""
    with spawn() as client:
        def broken_feed(data, handle):
            raise SystemExit("redact hook")
        client._session.feed = broken_feed
        with pytest.raises(ConnectionClosed, match="reader thread failed: SystemExit"):
            client.ping(timeout=10)
        with pytest.raises(ConnectionClosed, match="reader thread failed"):
            client.ping(timeout=10)             # and every later call, at once
        assert client._ended.wait(10)
    assert_reaped(client.pid)


@pytest.mark.spec("TR-13")
def test_fifty_open_close_cycles_leave_nothing_behind():
    with spawn() as client:   # warm up: imports, logging handlers
        client.ping()
    fds, threads = _fd_count(), threading.active_count()
    pids = []
    for _ in range(50):
        with spawn() as client:
            client.ping()
            pids.append(client.pid)
    for pid in pids:
        assert_reaped(pid)
    assert _fd_count() == fds
    deadline = time.monotonic() + 5
    while threading.active_count() > threads:
        assert time.monotonic() < deadline, [t.name for t in threading.enumerate()]
        threading.Event().wait(0.01)


@pytest.mark.spec("TR-06")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_gives_a_clean_exit_without_traceback_or_half_line(signum):
    proc = subprocess.Popen(SERVE, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": "raw", "version": "0"}}}
    proc.stdin.write(json.dumps(init).encode() + b"\n")
    proc.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
    proc.stdin.write(b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"slow",'
                     b'"arguments":{"seconds":30,"steps":300},"_meta":{"progressToken":"t"}}}\n')
    proc.stdin.flush()
    first = proc.stdout.readline()          # the initialize response: the server is serving
    assert json.loads(first)["id"] == 1
    second = proc.stdout.readline()         # a progress line: the slow tool is running
    assert json.loads(second)["method"] == "notifications/progress"
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=5)
    assert proc.returncode == 128 + signum
    assert b"Traceback" not in err, err.decode(errors="replace")
    assert out == b"" or out.endswith(b"\n")
    for line in out.splitlines():
        json.loads(line)                      # every line a complete frame


@pytest.mark.spec("TL-01", "LC-16")
def test_capabilities_follow_the_registries():
    from mcp_ref.server import Server
    bare = Server("bare")
    assert "tools" not in bare.capabilities and "prompts" not in bare.capabilities

    @bare.tool(description="one tool")
    def only(arguments, context):
        return "x"

    assert "tools" in bare.capabilities          # TL-01: a server with tools declares them
    assert "resources" not in bare.capabilities and "prompts" not in bare.capabilities


@pytest.mark.spec("TL-06")
@pytest.mark.parametrize("schema", [{}, {"type": "string"}, {"type": ["object", "null"]},
                                    [], "object", {"properties": {"x": {}}}])
def test_a_tool_whose_input_schema_is_not_an_object_schema_is_refused(schema):
    """TL-06: inputSchema MUST be a JSON Schema object with "type": "object". One without it
    is refused when the tool is registered, not published for clients to trip over."""
    from mcp_ref.server import Server
    server = Server("strict")
    with pytest.raises(ValueError, match="TL-06"):
        server.tool(name="t", input_schema=schema)(lambda arguments, context: "x")
    assert "tools" not in server.capabilities         # nothing was registered


@pytest.mark.spec("TL-06")
def test_a_tool_without_an_input_schema_takes_no_arguments():
    from mcp_ref.server import Server
    server = Server("strict")
    server.tool(name="none")(lambda arguments, context: "x")
    server.tool(name="given", input_schema={"type": "object"})(lambda arguments, context: "x")
    assert server._tools["none"].definition["inputSchema"] == {
        "type": "object", "additionalProperties": False}
    assert server._tools["given"].definition["inputSchema"] == {"type": "object"}


@pytest.mark.spec("TL-07")
def test_tool_names_are_unique_and_a_name_outside_tl07_is_warned(caplog):
    """TL-07 (2025-11-25): names are unique within the server (a second tool of a name is
    refused, not silently put in place of the first), and SHOULD be 1 to 128 characters
    from A-Z a-z 0-9 _ - . A name outside that is the application's choice: it is
    registered, and a warning says which rule it breaks."""
    from mcp_ref.server import Server
    server = Server("names")
    server.tool(name="get_user.v2-beta")(lambda arguments, context: "first")
    with pytest.raises(ValueError, match="already registered"):
        server.tool(name="get_user.v2-beta")(lambda arguments, context: "second")
    assert server._tools["get_user.v2-beta"].fn({}, None) == "first"
    assert not [r for r in caplog.records if "TL-07" in r.getMessage()]
    with caplog.at_level(logging.WARNING, logger="mcp_ref.server"):
        server.tool(name="get user, v2")(lambda arguments, context: "x")
        server.tool(name="x" * 129)(lambda arguments, context: "x")
    warned = [r.getMessage() for r in caplog.records if "TL-07" in r.getMessage()]
    assert len(warned) == 2 and "' ,'" in warned[0] and "129 characters" in warned[1]
    assert "get user, v2" in server._tools and "x" * 129 in server._tools


def test_a_bare_registration_decorator_is_refused_where_it_is_written():
    """D-89 (a vendorer's review): ``@server.tool`` without its parentheses handed the
    function to ``tool()`` as its name; the function became the registering closure and no
    tool was registered, with no error (likewise ``@server.prompt``, and ``@server.resource``,
    whose docstring promised ValueError for a uri that is not a string). Now each is a
    ValueError that says to write the parentheses, and nothing is registered."""
    from mcp_ref.server import Server
    server = Server("bare")
    for registrar in ("tool", "resource", "prompt"):
        with pytest.raises(ValueError, match=rf"write @server\.{registrar}\(\.\.\.\)"):
            getattr(server, registrar)(lambda arguments, context: "x")
    assert not server._tools and not server._resources and not server._prompts
    server.tool()(lambda arguments, context: "x")          # the parentheses: registered
    assert list(server._tools) == ["<lambda>"]


def _takes_one(arguments):
    return "x"


def _takes_three(arguments, context, extra):
    return "x"


def _wants_a_keyword(arguments, context, *, must):
    return "x"


async def _a_coroutine(arguments, context):
    return "x"


class _Handlers:
    def tool(self, arguments, context):
        return "x"

    def resource(self, context):
        return "x"

    def short(self, arguments):
        return "x"

    def __call__(self, arguments, context):
        return "x"


@pytest.mark.parametrize("registrar, fn, why", [
    ("tool", _takes_one, "takes at most 1 positional argument"),
    ("tool", _takes_three, "requires 3 positional arguments"),
    ("tool", _wants_a_keyword, "requires the keyword-only argument 'must'"),
    ("tool", _a_coroutine, "a coroutine function"),
    ("tool", _Handlers().short, "takes at most 1 positional argument"),
    ("prompt", _takes_one, "takes at most 1 positional argument"),
    ("prompt", _a_coroutine, "a coroutine function"),
    ("resource", lambda arguments, context: "x", "requires 2 positional arguments"),
    ("resource", _Handlers().tool, "requires 2 positional arguments"),
])
def test_a_handler_the_server_could_never_call_is_refused_at_registration(registrar, fn, why):
    """D-93: the server calls a tool or prompt as ``fn(arguments, context)`` and a resource as
    ``fn(context)``. A function that cannot take that call (one argument too few or too many,
    a keyword-only argument without a default, or an ``async def``, whose call only makes a
    coroutine no one awaits) was registered, and failed at its first call, far from the line
    that caused it: an ``isError`` result ("TypeError: ... positional argument") or -32603.
    D-80's rule: a ValueError where it is registered, and nothing registered."""
    from mcp_ref.server import Server
    server = Server("signatures")
    register = getattr(server, registrar)("file:///r" if registrar == "resource" else None)
    with pytest.raises(ValueError, match=why):
        register(fn)
    assert not server._tools and not server._resources and not server._prompts


def test_a_handler_the_server_can_call_is_registered_whatever_its_form():
    """D-93: only a handler that can never take the server's call is refused. Defaults,
    ``*args``, ``**kwargs``, a bound method, an object with ``__call__`` and a
    ``functools.partial`` (neither has a ``__code__`` of its own: not judged, as before) are
    registered, and each is called as the server calls it."""
    import functools
    from mcp_ref.server import Server
    server = Server("signatures")
    tools = {"defaults": lambda arguments, context, verbose=False, *, flag=1: "x",
             "star": lambda *args: "x", "kwargs": lambda arguments, context, **more: "x",
             "bound": _Handlers().tool, "callable": _Handlers(),
             "partial": functools.partial(lambda prefix, arguments, context: "x", "p")}
    for name, fn in tools.items():
        server.tool(name)(fn)
        assert fn({}, None) == "x"
    server.resource("file:///r")(_Handlers().resource)
    server.prompt("p")(lambda arguments, context: "x")
    assert list(server._tools) == list(tools) and server._resources and server._prompts


class _HasCodeNoName:
    """A callable with a ``__code__`` but no ``__name__`` (as an AsyncMock is on 3.9)."""
    __code__ = _Handlers.tool.__code__

    def __call__(self, arguments, context):
        return "x"


def test_every_kind_of_callable_is_judged_as_python_would_call_it():
    """D-96 (D-93 read again): ``_handler_problem`` took anything with a ``__func__`` for a
    bound method, so a ``staticmethod`` object (callable from Python 3.10, as a class body's
    ``@server.tool()`` above ``@staticmethod`` passes it) lost one positional argument and was
    refused; a non-callable (``5``, ``None``, a ``classmethod`` object) was registered and
    failed at its first call; a callable with a code object but no ``__name__`` raised
    AttributeError. Now only a real bound method loses its first argument, a non-callable is
    ValueError at registration, and the message names what it can."""
    from mcp_ref.server import Server

    class Holder:
        @staticmethod
        def static(arguments, context):
            return "x"

        @classmethod
        def klass(cls, arguments, context):
            return "x"
    raw_static, raw_class = Holder.__dict__["static"], Holder.__dict__["klass"]
    server = Server("callables")
    accepted = {"static_via_class": Holder.static, "class_via_class": Holder.klass,
                "code_without_name": _HasCodeNoName()}
    refused = {"five": 5, "none": None, "raw_classmethod": raw_class}
    (accepted if callable(raw_static) else refused)["raw_staticmethod"] = raw_static
    for name, fn in accepted.items():
        server.tool(name)(fn)
        assert fn({}, None) == "x"                      # Python takes the server's call
    for name, fn in refused.items():
        with pytest.raises(ValueError, match="not callable"):
            server.tool(name)(fn)
        with pytest.raises(ValueError, match="not callable"):
            server.resource(f"file:///{name}", name=name)(fn)
    assert sorted(server._tools) == sorted(accepted) and not server._resources


def test_a_nameless_callable_without_a_name_and_a_shutdown_hook_that_is_no_function_are_refused():
    """D-96 left two registrations failing late or untyped: a ``functools.partial`` (no
    ``__name__``) registered without a name raised AttributeError, and ``on_shutdown(5)`` was
    accepted and failed only when serving ended. Both are ValueError now, nothing registered;
    the partial registers when given its name."""
    import functools
    from mcp_ref.server import Server
    server = Server("nameless")
    partial = functools.partial(lambda greeting, arguments, context: greeting, "hi")
    for register in (server.tool(), server.prompt(), server.resource("file:///p.txt")):
        with pytest.raises(ValueError, match="no __name__ to register it by: give the name"):
            register(partial)
    # D-113: the registrars' one wording (it was "on_shutdown needs a function to call").
    with pytest.raises(ValueError, match="^an on_shutdown hook: the server calls it, but 5 "
                                         "is not callable$"):
        server.on_shutdown(5)
    assert not (server._tools or server._prompts or server._resources)
    assert not server._shutdown_hooks
    server.tool("greet")(partial)
    assert server._tools["greet"].fn({}, None) == "hi"


def _register_with(server, registrar, name):
    """``server.tool(name)``, ``server.prompt(name)`` or ``server.resource(URI, name=name)``:
    the decorator each registrar makes for one handler."""
    if registrar == "resource":
        return server.resource("file:///r", name=name)
    return getattr(server, registrar)(name)


_NAMELESS_PARTIAL = functools.partial(lambda greeting, *rest: greeting, "hi")


@pytest.mark.parametrize("registrar", ["tool", "resource", "prompt"])
@pytest.mark.parametrize("name, fn, says", [
    pytest.param(None, 5, "the server calls it, but 5 is not callable",
                 id="nameless-non-callable"),
    pytest.param(None, None, "the server calls it, but None is not callable",
                 id="nameless-None"),
    pytest.param("n", 5, "the server calls it, but 5 is not callable", id="named-non-callable"),
    pytest.param(None, _NAMELESS_PARTIAL,
                 f"{_NAMELESS_PARTIAL!r:.80} has no __name__ to register it by: give the name",
                 id="nameless-partial"),
    pytest.param(None, _a_coroutine,
                 "the server calls it as _a_coroutine(ARGS), but it is a coroutine function "
                 "(async def): write a plain def", id="async-def"),
])
def test_each_registrar_refuses_a_handler_mistake_with_one_message(registrar, name, fn, says):
    """D-103 (D-93 and D-96's leftover): ``tool``, ``resource`` and ``prompt`` each wrote the
    same three checks of the function they register, in two orders, so one mistake had two
    messages: a nameless non-callable was "5 has no __name__ to register it by" from ``tool``
    and ``prompt`` (giving it a name would not have helped) and "not callable" from
    ``resource``, and a nameless ``functools.partial``'s message did not say which
    registration it was. Now one helper checks for all three: a ValueError, nothing
    registered, whose message starts with the registration (a resource by its uri, a tool or
    prompt by its name, "a tool" without one) and then says the same thing for each."""
    from mcp_ref.server import Server
    server = Server("mistakes")
    own_name = name if name is not None else getattr(fn, "__name__", None)
    if registrar == "resource":
        label, args = "resource 'file:///r'", "context"
    else:
        label = f"a {registrar}" if own_name is None else f"{registrar} {own_name!r}"
        args = "arguments, context"
    with pytest.raises(ValueError) as refused:
        _register_with(server, registrar, name)(fn)
    assert str(refused.value) == f"{label}: {says.replace('ARGS', args)}"
    assert not server._tools and not server._resources and not server._prompts


def test_a_shutdown_hook_the_server_could_never_call_is_refused_when_registered():
    """D-108 (D-103's reading of the registrars outside tool, resource and prompt): ``on_shutdown``
    checked only that its hook is callable, so one the server could never call as ``fn()``
    was accepted and failed only when serving ended, far from its registration: one that
    requires an argument raised TypeError then (logged), and an ``async def`` made a
    coroutine nobody awaits, so its cleanup never ran, without an error. Each is ValueError
    now, nothing registered, in D-93's words; the check reads the code as for a handler
    (a ``functools.partial`` and other callables are not judged: D-93)."""
    import functools
    from mcp_ref.server import Server
    server = Server("hooks")

    def needs_one(reason):
        pass

    async def later():
        pass

    def keyword_only(*, now):
        pass

    for hook, says in ((needs_one, "requires 1 positional argument"),
                       (later, "is a coroutine function (async def): write a plain def"),
                       (keyword_only, "requires the keyword-only argument 'now'")):
        with pytest.raises(ValueError) as refused:
            server.on_shutdown(hook)
        assert str(refused.value) == (f"an on_shutdown hook: the server calls it as "
                                      f"{hook.__name__}(), but it {says}")
    assert not server._shutdown_hooks
    ran = []
    server.on_shutdown(lambda *args: ran.append(args))
    server.on_shutdown(functools.partial(ran.append, "partial"))
    server._run_shutdown_hooks()
    assert ran == ["partial", ()]


def test_a_second_resource_of_a_uri_or_prompt_of_a_name_is_refused():
    """D-89: a resource's ``uri`` and a prompt's ``name`` are each its "Unique identifier"
    (server/resources and server/prompts, § Data Types). A second registration replaced the
    first in silence, so the first handler never ran; now it is ValueError, as a second tool
    of a name is (TL-07), and the first stays."""
    from mcp_ref.server import Server
    server = Server("unique")
    server.resource("file:///a.txt")(lambda context: "first")
    with pytest.raises(ValueError, match="resource with uri 'file:///a.txt' is already"):
        server.resource("file:///a.txt", name="other")(lambda context: "second")
    server.prompt("greet")(lambda arguments, context: "first")
    with pytest.raises(ValueError, match="prompt named 'greet' is already registered"):
        server.prompt("greet")(lambda arguments, context: "second")
    assert server._resources["file:///a.txt"].fn(None) == "first"
    assert server._prompts["greet"].fn({}, None) == "first"


@pytest.mark.spec("TL-06", "TL-07")
def test_an_empty_name_is_registered_as_given_not_replaced_by_the_functions(caplog):
    """D-91 (D-89's leftover): ``name or fn.__name__`` took ``name=""`` for no name and
    registered the function's. A name is a string (TL-06; the schema sets no minimum
    length); 1 to 128 characters is TL-07's SHOULD. "" is now registered as asked, with
    TL-07's warning for a tool, and the function's name stands in only for None."""
    from mcp_ref.server import Server
    server = Server("empty")

    def handler(*args):
        return "x"
    with caplog.at_level(logging.WARNING, logger="mcp_ref.server"):
        server.tool(name="")(handler)
    server.prompt("")(handler)
    server.resource("file:///a.txt", name="")(handler)
    assert list(server._tools) == [""] and list(server._prompts) == [""]
    assert server._resources["file:///a.txt"].definition["name"] == ""
    assert [r for r in caplog.records if "0 characters" in r.getMessage()]
    server.tool()(handler)                     # no name: the function's
    assert "handler" in server._tools


def test_every_error_a_user_can_meet_is_importable_from_the_package():
    """D-91 (D-89's leftover): NotJson (params JSON cannot carry: a LocalProtocolError the
    client raises, README's error list) could not be imported from ``mcp_ref``. Every
    exception class of mcp_ref.errors is now in the package's ``__all__``."""
    import mcp_ref
    from mcp_ref import errors
    classes = {name for name, value in vars(errors).items()
               if isinstance(value, type) and issubclass(value, Exception)
               and value.__module__ == errors.__name__}
    assert "NotJson" in classes and classes <= set(mcp_ref.__all__)
    assert all(getattr(mcp_ref, name) is getattr(errors, name) for name in classes)


@pytest.mark.spec("TL-05", "TL-06", "TR-06", "BP-01")
@pytest.mark.parametrize("kind, first, options, member", [
    ("tool", "t", {"description": 5}, "description"),
    ("tool", "t", {"description": None}, "description"),
    ("tool", "t", {"title": 5}, "title"),
    ("tool", "t", {"annotations": 5}, "annotations"),
    ("tool", "t", {"annotations": {"readOnlyHint": "yes"}}, "readOnlyHint"),
    ("tool", "t", {"annotations": {"title": 5}}, "title"),
    ("tool", 5, {}, "name"),
    ("resource", 5, {"name": "n"}, "uri"),
    ("resource", "x://a", {"name": 5}, "name"),
    ("resource", "x://a", {"description": None}, "description"),
    ("resource", "x://a", {"mime_type": None}, "mimeType"),
    ("prompt", 5, {}, "name"),
    ("prompt", "p", {"description": 5}, "description"),
    ("prompt", "p", {"arguments": 5}, "arguments"),
    ("prompt", "p", {"arguments": [5]}, "arguments"),
    ("prompt", "p", {"arguments": [{"description": "no name"}]}, "name"),
    ("prompt", "p", {"arguments": [{"name": 5}]}, "name"),
    ("prompt", "p", {"arguments": [{"name": "a", "required": "yes"}]}, "required"),
    ("prompt", "p", {"arguments": [{"name": "a", "description": 5}]}, "description"),
])
def test_registering_refuses_metadata_no_listing_could_carry(kind, first, options, member):
    """D-82 (helper-65's drive of a Server over stdio): a tool registered with
    ``description=5``, a resource with ``mime_type=None``, a prompt whose argument says
    ``"required": "yes"``... was registered, and from then on every ``tools/list`` (or
    resources, prompts) page holding it was a result the schema refuses, as was each
    ``prompts/get`` and ``resources/read`` carrying the member. Refused where it is given
    (D-80), with a ValueError naming it; nothing is registered."""
    from mcp_ref.server import Server
    server = Server("metadata")
    register = getattr(server, kind)
    with pytest.raises(ValueError, match=member):
        register(first, **options)(lambda *args: "x")
    assert kind + "s" not in server.capabilities      # nothing was registered


_OUTPUT_SERVER = """
import sys; sys.path.insert(0, %r)
from mcp_ref.server import Server
server = Server("promises")
SUM = {"type": "object", "properties": {"sum": {"type": "number"}}, "required": ["sum"]}

@server.tool(name="sum", output_schema=SUM)
def honest(arguments, context):
    return {"structuredContent": {"sum": 3}}

@server.tool(name="liar", output_schema=SUM)
def liar(arguments, context):
    return {"structuredContent": {"sum": "three"}}

@server.tool(name="text_only", output_schema=SUM)
def text_only(arguments, context):
    return "3"

sys.exit(server.run_stdio())
""" % ROOT


@pytest.mark.spec("TL-09", "ER-03")
@pytest.mark.parametrize("version", ["2025-06-18", "2025-11-25"])
def test_a_tool_keeps_the_promise_of_its_output_schema(version):
    """TL-09: a tool that declares an outputSchema MUST return structuredContent matching it.
    A handler that does not (a wrong type, or text only) gets an isError result naming the
    problem instead of its output (ER-03: a failure of the tool, not of the protocol); the
    honest one goes through, and the client's own check (it has listed the tools) agrees."""
    with spawn([sys.executable, "-c", _OUTPUT_SERVER],
               supported_versions=(version,)) as client:
        tools = {tool["name"]: tool for tool in client.list_tools()}
        assert tools["sum"]["outputSchema"]["required"] == ["sum"]
        honest = client.call_tool("sum", {})
        liar = client.call_tool("liar", {})
        text_only = client.call_tool("text_only", {})
    assert honest["structuredContent"] == {"sum": 3} and not honest.get("isError")
    assert liar["isError"] and ("structuredContent.sum: expected number, got string"
                                in liar["content"][0]["text"])
    assert text_only["isError"] and ("structuredContent is missing"
                                     in text_only["content"][0]["text"])


_STRUCTURED_SERVER = """
import sys; sys.path.insert(0, %r)
from mcp_ref.server import Server
server = Server("structured")

@server.tool()
def summary_only(arguments, context):          # the JSON is in no text block
    return {"content": [{"type": "text", "text": "3 items"}], "structuredContent": {"n": 3}}

@server.tool()
def spelled_otherwise(arguments, context):     # the same JSON value, spaced and spelled apart
    return {"content": [{"type": "text", "text": "{ \\"n\\" : 3.0 }"}],
            "structuredContent": {"n": 3}}

@server.tool()
def structured_only(arguments, context):       # mcp_ref writes the text block itself
    return {"structuredContent": {"n": 3}}

sys.exit(server.run_stdio())
""" % ROOT


@pytest.mark.spec("TL-10")
@pytest.mark.parametrize("version", ["2025-03-26", "2025-11-25"])
def test_a_whole_result_without_its_json_text_block_is_sent_as_built_and_warned_once(
        version, caplog):
    """TL-10 (a SHOULD on the tool): structuredContent comes with its serialised JSON as a
    text block. A handler that returns only structuredContent gets that block; one that
    builds the whole result is sent as it built it, and the server warns on stderr, once
    per tool, if no text block is that JSON (equal as a JSON value: spacing and 3.0 for 3
    do not matter). Before 2025-06-18 there is no structuredContent, so nothing to warn of
    (D-50)."""
    caplog.set_level(logging.INFO, logger="mcp_ref.server_stderr")
    with spawn([sys.executable, "-c", _STRUCTURED_SERVER],
               supported_versions=(version,)) as client:
        first = client.call_tool("summary_only", {})
        again = client.call_tool("summary_only", {})
        spelled = client.call_tool("spelled_otherwise", {})
        auto = client.call_tool("structured_only", {})
    new = version >= "2025-06-18"
    assert first == again and first["content"] == [{"type": "text", "text": "3 items"}]
    assert ("structuredContent" in first) is new
    assert json.loads(spelled["content"][0]["text"]) == {"n": 3}
    assert json.loads(auto["content"][0]["text"]) == {"n": 3}
    lines = [r.getMessage() for r in caplog.records if r.name == "mcp_ref.server_stderr"]
    warned = [line for line in lines if "TL-10" in line]
    if new:
        assert len(warned) == 1 and "tool summary_only returned structuredContent" in warned[0]
    else:
        assert warned == []


@pytest.mark.spec("TL-09", "LC-15")
def test_before_2025_06_18_no_output_schema_is_published():
    with spawn([sys.executable, "-c", _OUTPUT_SERVER],
               supported_versions=("2025-03-26",)) as client:
        tools = client.list_tools()
        liar = client.call_tool("liar", {})
    assert tools and not any("outputSchema" in tool for tool in tools)
    assert liar["isError"] and "structuredContent" not in liar      # same verdict, no member


@pytest.mark.spec("TL-09")
@pytest.mark.parametrize("schema", [{}, {"type": "array"}, []])
def test_an_output_schema_that_is_not_an_object_schema_is_refused(schema):
    from mcp_ref.server import Server
    with pytest.raises(ValueError, match="TL-09"):
        Server("s").tool(name="t", output_schema=schema)(lambda arguments, context: "x")


@pytest.mark.spec("TL-06", "TL-09")
@pytest.mark.parametrize("member", ["input_schema", "output_schema"])
@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": []}, {"type": "object", "properties": {"a": True}},
    {"type": "object", "required": "a"}, {"type": "object", "required": [1]}])
def test_a_schema_the_mcp_schema_would_refuse_is_refused_at_registration(member, schema):
    """The MCP schema has an input or output schema's "properties" map names to objects and
    its "required" be an array of strings: a tool published with anything else makes
    tools/list invalid (and a "required" that is not a list would go unchecked)."""
    from mcp_ref.server import Server
    with pytest.raises(ValueError, match="TL-06" if member == "input_schema" else "TL-09"):
        Server("s").tool(name="t", **{member: schema})(lambda arguments, context: "x")


@pytest.mark.spec("TL-09")
def test_the_client_checks_structured_content_against_the_listed_output_schema():
    """TL-09: clients SHOULD check structured results against the tool's outputSchema. Once
    list_tools() has shown it, a result that breaks it (a wrong type, structuredContent
    missing) is a RemoteProtocolError naming the rule, not a result handed on as if good. An
    isError result, a tool without an outputSchema, and a call made before any listing are
    not checked (the client does not know a schema then)."""
    from mcp_ref.errors import RemoteProtocolError
    with spawn(scripted("output-schema")) as client:
        unlisted = client.call_tool("sum", {"lie": True})          # no schema known yet
        client.list_tools()
        honest = client.call_tool("sum", {})
        with pytest.raises(RemoteProtocolError,
                           match=r"structuredContent\.sum: expected number") as lie:
            client.call_tool("sum", {"lie": True})
        with pytest.raises(RemoteProtocolError, match="structuredContent is missing"):
            client.call_tool("sum", {"omit": True})
        failed = client.call_tool("sum", {"fail": True})
        plain = client.call_tool("plain", {})
        raw = client.request(spec.TOOLS_CALL, {"name": "sum", "arguments": {"lie": True}})
    assert lie.value.catalogue_id == "TL-09"
    assert lie.value.result["structuredContent"] == {"sum": "three"}       # nothing lost
    assert unlisted["structuredContent"] == {"sum": "three"} == raw["structuredContent"]
    assert honest["structuredContent"] == {"sum": 3}
    assert failed["isError"] and plain["structuredContent"] == {"anything": 1}


@pytest.mark.spec("TL-09", "LC-15")
@pytest.mark.parametrize("version", ["2024-11-05", "2025-03-26"])
def test_before_2025_06_18_the_client_holds_no_tool_to_an_output_schema(version):
    """TL-09 arrived with structured output in 2025-06-18. In an older session a Tool has no
    ``outputSchema``, so one a server lists anyway promises nothing: its results are valid
    without ``structuredContent``, and are handed on unchecked (LC-15; D-95), by
    call_tool_async's handle as well (its check is call_tool's, D-93; D-96)."""
    with spawn(scripted("output-schema"), supported_versions=(version,)) as client:
        tools = client.list_tools()
        omitted = client.call_tool("sum", {"omit": True})
        lie = client.call_tool("sum", {"lie": True})
        handled = [client.call_tool_async("sum", arguments).result()
                   for arguments in ({"omit": True}, {"lie": True})]
    assert any("outputSchema" in tool for tool in tools)     # listed, as the server sent it
    assert "structuredContent" not in omitted and not omitted.get("isError")
    assert lie["structuredContent"] == {"sum": "three"}
    assert handled == [omitted, lie]


def test_a_finished_tool_call_handle_is_freed_when_dropped_not_left_to_the_cycle_collector():
    """D-93's check was a closure over the handle it was stored on: every tools/call handle
    referred to itself, so none was freed when its caller dropped it, and the cyclic garbage
    collector ran every ~60 calls to free them (63 collections in 4 000 echo calls, a few
    microseconds a call). The check is now given the stamp instead, and binds no handle."""
    import gc
    from mcp_ref.session import PendingRequest
    with spawn() as client:
        client.call_tool("echo", {"text": "warm"})
        gc.collect()
        gc.disable()
        try:
            for i in range(50):
                client.call_tool("echo", {"text": f"call {i}"})
                client.call_tool_async("echo", {"text": f"async {i}"}).result()
            alive = sum(1 for o in gc.get_objects() if isinstance(o, PendingRequest))
        finally:
            gc.enable()
    assert alive <= 2, f"{alive} finished handles still alive without the cycle collector"


@pytest.mark.spec("TL-08", "TL-09")
@pytest.mark.parametrize("mode, arguments, rule", [
    ("result-lacks", {}, "TL-08"), ("output-schema", {"lie": True}, "TL-09")])
def test_the_handle_of_call_tool_async_checks_its_result_as_call_tool_does(mode, arguments, rule):
    """D-93 (D-90 left it open): call_tool refused a result the schema refuses (TL-08) or
    one that breaks the listed outputSchema (TL-09), but the handle of call_tool_async, the
    way to call a tool one may cancel, handed the same result on unchecked. Its result() now
    applies the same checks: RemoteProtocolError, what the server sent on .result, every time
    result() is asked, and the session goes on. The raw request() stays unchecked (D-54)."""
    tool = "bare" if mode == "result-lacks" else "sum"
    with spawn(scripted(mode)) as client:
        client.list_tools()
        handle = client.call_tool_async(tool, arguments)
        with pytest.raises(RemoteProtocolError) as caught:
            handle.result()
        with pytest.raises(RemoteProtocolError):
            handle.result()                                 # asked again: the same verdict
        raw = client.request(spec.TOOLS_CALL, {"name": tool, "arguments": arguments})
        client.ping()
    assert caught.value.catalogue_id == rule
    assert caught.value.result == raw                       # nothing lost: what was sent


@pytest.mark.spec("TL-08", "LC-15")
@pytest.mark.parametrize("member", ["structuredContent", "_meta", "lastModified"])
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
def test_both_ways_of_calling_judge_a_result_by_the_members_of_its_revision(version, member):
    """D-96 (D-90, D-93 and D-95 read together): call_tool and call_tool_async's handle
    refused, in every revision, a CallToolResult whose ``structuredContent`` is not an
    object, or whose block has a ``_meta`` or ``lastModified`` of another type. Those members
    arrived in 2025-06-18: the 2024-11-05 and 2025-03-26 schemas leave them open, so there the
    result is valid, and is handed on as received (D-95), by both ways alike. From 2025-06-18
    both refuse it (TL-08), with what was sent on ``.result``."""
    arguments = {"loose": member}
    with spawn(scripted("output-schema"), supported_versions=(version,)) as client:
        raw = client.request(spec.TOOLS_CALL, {"name": "plain", "arguments": arguments})
        outcomes = []
        for call in (client.call_tool, lambda *a: client.call_tool_async(*a).result()):
            try:
                outcomes.append(call("plain", arguments))
            except RemoteProtocolError as exc:
                outcomes.append((exc.catalogue_id, exc.result))
    if version < "2025-06-18":
        assert outcomes == [raw, raw]                       # as received, in either way
    else:
        assert outcomes == [("TL-08", raw), ("TL-08", raw)]


@pytest.mark.spec("TL-09")
def test_tools_list_changed_makes_the_client_forget_the_listed_output_schemas():
    """TL-09: after notifications/tools/list_changed (which TL-02 has servers send), the
    schemas of the last listing may be stale, and judging by them could refuse a good result.
    The client stops checking until list_tools() is called again, and then checks by the new
    listing (D-45).
    The notification arrives before the answer on the same pipe: no race."""
    from mcp_ref.errors import RemoteProtocolError
    with spawn(scripted("output-schema")) as client:
        assert client.server_capabilities["tools"] == {"listChanged": True}
        client.list_tools()
        changed = client.call_tool("sum", {"change": True})   # list_changed, then {"sum": "three"}
        after = client.call_tool("sum", {"lie": True})        # not judged by a stale schema
        client.list_tools()
        with pytest.raises(RemoteProtocolError, match="TL-09|outputSchema"):
            client.call_tool("sum", {"lie": True})            # judged again, by the new listing
    assert changed["structuredContent"] == {"sum": "three"} == after["structuredContent"]


@pytest.mark.spec("TL-09", "TL-02")
def test_a_list_changed_just_after_the_answer_does_not_excuse_that_answer():
    """README review (D-62): the answer breaks the listed outputSchema, and only then do the
    server's tools change. The check was decided when the caller woke: if the reader had
    already handled the notification, the answer went unchecked (3 runs in 6). It is now
    decided in wire order, as the reader settles the answer: always checked."""
    from mcp_ref.errors import RemoteProtocolError
    with spawn(scripted("output-schema")) as client:
        for attempt in range(20):
            client.ping()       # answered after the last list_changed: that one is handled
            client.list_tools()
            with pytest.raises(RemoteProtocolError, match="TL-09|outputSchema"):
                client.call_tool("sum", {"lie": True, "changeAfter": True})


@pytest.mark.spec("TL-09", "TL-02", "PN-04")
def test_a_list_changed_that_arrives_while_the_client_lists_tools_is_not_lost():
    """The server's tools change while list_tools() is between two pages: the first page
    may already be stale, so the listing must not become the cache the notification has just
    emptied (D-45). The notification comes before the second page on the same pipe: it is
    handled before list_tools() returns, deterministically."""
    from mcp_ref.errors import RemoteProtocolError
    with spawn(scripted("output-schema")) as client:
        client.call_tool("sum", {"changeDuringList": True})
        names = [tool["name"] for tool in client.list_tools()]     # page, list_changed, page
        unjudged = client.call_tool("sum", {"lie": True})          # declared stale: unchecked
        client.list_tools()                                        # a listing with no change
        with pytest.raises(RemoteProtocolError, match="TL-09|outputSchema"):
            client.call_tool("sum", {"lie": True})
    assert names == ["sum", "plain", "future", "parts"]
    assert unjudged["structuredContent"] == {"sum": "three"}


@pytest.mark.spec("BP-34", "TL-09")
def test_the_client_checks_by_the_declared_dialect_and_warns_of_an_unknown_one(caplog):
    """BP-34: a schema is validated by its declared dialect, and one we do not support fails
    gracefully. "parts" declares draft-07: its result is checked (nested, with the path of
    the bad item). "future" declares an unknown $schema: list_tools() logs one WARNING for
    it, however often it is called, and call_tool() hands its result on unchecked."""
    from mcp_ref.errors import RemoteProtocolError
    with caplog.at_level(logging.WARNING, logger="mcp_ref.client"):
        with spawn(scripted("output-schema")) as client:
            client.list_tools()
            client.list_tools()
            future = client.call_tool("future", {})
            with pytest.raises(RemoteProtocolError) as parts:
                client.call_tool("parts", {})
    assert future["structuredContent"]["sum"] == "three"
    assert str(parts.value).endswith(
        "does not match its outputSchema: structuredContent.parts[1]: expected integer, "
        "got string")
    warned = [r for r in caplog.records if "BP-34" in r.getMessage()]
    assert len(warned) == 1 and warned[0].levelname == "WARNING"
    assert "'future'" in warned[0].getMessage() and "example.com" in warned[0].getMessage()
    assert "unchecked" in warned[0].getMessage()


@pytest.mark.spec("BP-34", "TL-06", "TL-09")
@pytest.mark.parametrize("member", ["input_schema", "output_schema"])
def test_a_schema_in_a_dialect_we_do_not_support_is_refused_at_registration(member):
    """BP-34: fail gracefully on an unsupported dialect: a clear ValueError when the tool is
    registered, naming the dialects we know. Every spelling of a known one is accepted."""
    from mcp_ref.server import Server
    server = Server("dialects")
    with pytest.raises(ValueError, match=r"\$schema 'https://json-schema.org/draft/2030/x'.*"
                                         r"2020-12, 2019-09, draft-07.*BP-34"):
        server.tool(name="t", **{member: {"$schema": "https://json-schema.org/draft/2030/x",
                                          "type": "object"}})(lambda arguments, context: "x")
    for n, uri in enumerate(["https://json-schema.org/draft/2020-12/schema",
                             "http://json-schema.org/draft-07/schema#",
                             "https://json-schema.org/draft-04/schema"]):
        server.tool(name=f"t{n}", **{member: {"$schema": uri, "type": "object"}})(
            lambda arguments, context: "x")
    assert len(server._tools) == 3


_NESTED_SERVER = """
import sys; sys.path.insert(0, %r)
from mcp_ref.server import Server
server = Server("nested")
POINT = {"type": "object", "required": ["xy"], "properties": {
    "xy": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}],
           "items": False}}}
server.tool(name="plot", input_schema={"type": "object", "properties": {
    "points": {"type": "array", "items": POINT}}})(lambda arguments, context: "ok")
sys.exit(server.run_stdio())
""" % ROOT


@pytest.mark.spec("BP-34", "TL-14")
def test_nested_arguments_are_checked_with_their_path():
    """The server judges arguments by the whole subset, at every depth (no $schema: 2020-12,
    so prefixItems then items), and names where each problem is."""
    good = {"points": [{"xy": [1, 2.5]}]}
    bad = {"points": [{"xy": [1, 2]}, {"xy": [1, "2", 3]}, {}]}
    with spawn([sys.executable, "-c", _NESTED_SERVER]) as client:
        accepted = client.call_tool("plot", good)
        refused = client.call_tool("plot", bad)
    assert accepted["content"][0]["text"] == "ok" and not accepted.get("isError")
    assert refused["isError"] and refused["content"][0]["text"] == (
        "Invalid arguments: arguments.points[1].xy[1]: expected number, got string; "
        "arguments.points[1].xy[2]: unexpected item (items is false); "
        "arguments.points[2]: missing required property 'xy'")


_PATTERN_SERVER = """
import sys; sys.path.insert(0, %r)
from mcp_ref.server import Server
server = Server("patterns")
server.tool(name="greet", input_schema={"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string", "pattern": "^[a-z]+$"}}})(lambda arguments, context: "ok")
server.tool(name="code", input_schema={"type": "object", "properties": {
    "code": {"type": "string"}}}, output_schema={"type": "object", "properties": {
    "code": {"type": "string", "pattern": "^[a-z]+$"}}})(
    lambda arguments, context: {"structuredContent": {"code": arguments["code"]}})
sys.exit(server.run_stdio())
""" % ROOT


@pytest.mark.spec("BP-34", "TL-14", "TL-09", "ER-03")
def test_a_string_that_breaks_a_pattern_is_refused_by_the_server():
    """TL-14 with D-128: an argument that breaks its schema's pattern is refused as invalid
    arguments (an isError result, ER-03, D-14), as the official SDKs' validators refuse it;
    one that matches is accepted. Before D-128 patterns were not run, and "ABC" went
    through. The server holds its own handler's structuredContent to its outputSchema's
    pattern too (TL-09, server side)."""
    with spawn([sys.executable, "-c", _PATTERN_SERVER]) as client:
        accepted = client.call_tool("greet", {"name": "abc"})
        refused = client.call_tool("greet", {"name": "ABC"})
        kept = client.call_tool("code", {"code": "xyz"})
        broken = client.call_tool("code", {"code": "X1"})
    assert accepted["content"][0]["text"] == "ok" and not accepted.get("isError")
    assert refused["isError"] and refused["content"][0]["text"] == (
        "Invalid arguments: arguments.name: 'ABC' does not match the pattern '^[a-z]+$'")
    assert kept["structuredContent"] == {"code": "xyz"} and not kept.get("isError")
    assert broken["isError"] and broken["content"][0]["text"].endswith(
        "does not match its outputSchema: structuredContent.code: 'X1' does not match the "
        "pattern '^[a-z]+$'")


@pytest.mark.spec("BP-34", "TL-09")
def test_the_client_holds_structured_content_to_an_output_schemas_patterns():
    """TL-09 on the client, with D-128: structuredContent that breaks a pattern, a
    patternProperties schema, or additionalProperties beside patternProperties, is the
    server's protocol error (RemoteProtocolError naming TL-09); what matches is handed on."""
    from mcp_ref.errors import RemoteProtocolError
    with spawn(scripted("pattern-output")) as client:
        client.list_tools()
        good = client.call_tool("code", {"give": {"code": "abc", "n_1": 1}})
        errors = []
        for bad in ({"code": "ABC"}, {"n_1": "one"}, {"other": 1}):
            with pytest.raises(RemoteProtocolError) as raised:
                client.call_tool("code", {"give": bad})
            errors.append(raised.value)
    assert good["structuredContent"] == {"code": "abc", "n_1": 1}
    assert [error.catalogue_id for error in errors] == ["TL-09"] * 3
    assert [str(error).split("outputSchema: ")[1] for error in errors] == [
        "structuredContent.code: 'ABC' does not match the pattern '^[a-z]+$'",
        "structuredContent.n_1: expected integer, got string",
        "structuredContent.other: unexpected property (additionalProperties is false)"]


@pytest.mark.spec("BP-21")
def test_unknown_meta_keys_do_not_change_processing():
    meta = {"io.modelcontextprotocol/unknown": {"x": 1}, "com.example/y": [1, 2]}
    with spawn() as client:
        plain = client.request("tools/call", {"name": "echo", "arguments": {"text": "same"}})
        tagged = client.request("tools/call", {"name": "echo", "arguments": {"text": "same"},
                                               "_meta": meta})
        assert plain == tagged
        assert client.request("tools/list", {"_meta": meta})["tools"]


@pytest.mark.spec("TR-07", "CN-01", "PG-01")
def test_client_writes_only_valid_frames(caplog):
    import logging
    caplog.set_level(logging.INFO, logger="mcp_ref.server_stderr")
    with spawn(scripted("late-answer")) as client:
        client.ping()
        client.request("tools/list")
        call = client.call_tool_async("slow", {"text": "ü\n\u2028"})
        call.cancel("changing my mind")
        client.ping()                 # the scripted server answers the cancelled call late
    lines = [r.getMessage() for r in caplog.records if r.name == "mcp_ref.server_stderr"]
    assert "got initialize" in lines and any(line.startswith("cancelled ") for line in lines)
    assert [line for line in lines if line.startswith("bad-line")] == []


@pytest.mark.spec("LG-01", "BP-07")
def test_events_are_handled_in_wire_order():
    """A notification written before a response reaches on_notification before the caller
    of that request wakes up, even when both arrive in one read."""
    for _ in range(20):
        seen = []
        with spawn(scripted("log-then-answer"),
                   on_notification=lambda method, params: seen.append(method)) as client:
            client.call_tool("anything", {})
            assert seen == ["notifications/message"]


@pytest.mark.spec("LC-16", "LC-17")
def test_roots_list_changed_is_declared_only_on_request():
    from mcp_ref.errors import CapabilityNotNegotiated
    roots = lambda: [{"uri": "file:///tmp", "name": "tmp"}]   # noqa: E731
    with spawn(roots=roots) as client:
        with pytest.raises(CapabilityNotNegotiated):
            client.roots_changed()
    with spawn(roots=roots, roots_list_changed=True) as client:
        client.roots_changed()          # declared: sent (the reference server ignores it)
        client.ping()


@pytest.mark.spec("ER-01", "ER-12", "PN-06")
def test_malformed_params_of_list_read_and_get_are_invalid_params_not_internal_errors():
    """Bad cursors (non-ASCII digits, thousands of digits), a non-string uri, and prompt
    arguments that are not an object of strings are -32602, never -32603 or -32002. A missing
    uri is refused before it is sent (D-85)."""
    with Client.spawn(SERVE) as client:
        for cursor in ("\u00b2", "\u2460", "1" * 5000, "garbage"):
            with pytest.raises(PeerError) as caught:
                client.request("tools/list", {"cursor": cursor})
            assert caught.value.code == -32602, cursor
        with pytest.raises(PeerError) as caught:
            client.request("resources/read", {"uri": 5})
        assert caught.value.code == -32602
        with pytest.raises(LocalProtocolError, match="params need 'uri'"):
            client.request("resources/read", {})      # no read at all: never sent (D-85)
        for arguments in (5, True, {"name": 5}):
            with pytest.raises(PeerError) as caught:
                client.request("prompts/get", {"name": "greet", "arguments": arguments})
            assert caught.value.code == -32602, arguments
        client.ping()                                 # the session goes on


# --- Closing while interrupted, and answers after close (shell review findings 4 and 9) ------


@pytest.mark.spec("TR-13")
def test_a_client_close_interrupted_by_ctrl_c_leaves_nothing_behind(monkeypatch):
    """Ctrl-C while close() waits for a server that ignores EOF and SIGTERM (simulated: the
    first wait raises KeyboardInterrupt). It goes on up, but the server is killed and reaped,
    the reader thread ends, later calls fail with ConnectionClosed, and a second close()
    returns the same report."""
    client = spawn(scripted("ignore-term"))
    ctrl_c_in_first_wait(monkeypatch, client._process)
    with pytest.raises(KeyboardInterrupt):
        client.close()
    assert client.wait_exit(0) == -signal.SIGKILL
    assert not client._reader.is_alive()
    with pytest.raises(ConnectionClosed):
        client.ping()
    report = client.close()
    assert report.steps == ("close_stdin", "sigkill") and client.close() is report


@pytest.mark.spec("TR-13")
def test_a_callback_that_answers_after_close_does_not_crash_its_thread(monkeypatch):
    """A roots handler that is still running when the session closes (here: it closes the
    client itself, then returns). Its answer has nowhere to go: it is dropped quietly, and
    the callback thread ends normally instead of dying with a traceback."""
    crashed = []
    monkeypatch.setattr(threading, "excepthook", crashed.append)
    clients = []

    def roots():
        clients[0].close()                    # the session ends while the handler runs
        return [{"uri": "file:///tmp", "name": "tmp"}]

    clients.append(spawn(roots=roots))
    client = clients[0]
    handle = client.call_tool_async("roots", {})
    assert handle.wait(10)
    with pytest.raises(ConnectionClosed):
        handle.result()
    client._callback_thread.join(5)
    assert not client._callback_thread.is_alive()
    assert crashed == []


def test_close_says_which_callback_thread_it_leaves_behind(monkeypatch, caplog):
    """Shell review finding 10: an on_notification callback that does not return. close()
    waits for its thread a bounded time, then goes on and says so; it does not hang."""
    import mcp_ref.client as client_module
    monkeypatch.setattr(client_module, "_THREAD_JOIN_TIMEOUT", 0.2)
    entered, release = threading.Event(), threading.Event()

    def stuck(method, params):
        entered.set()
        release.wait(10)

    client = spawn(on_notification=stuck, notification_queue=10)
    try:
        client.set_logging_level("debug")
        client.call_tool("log", {"level": "error", "message": "hold on"})
        assert entered.wait(5)
        with caplog.at_level(logging.WARNING, logger="mcp_ref.client"):
            client.close()
        assert "mcp_ref-notifications is still running after close()" in caplog.text
    finally:
        release.set()


@pytest.mark.spec("TR-13")
@pytest.mark.parametrize("where", ["constructor", "before the handshake"])
def test_an_interruption_right_after_the_server_started_still_shuts_it_down(monkeypatch,
                                                                             where):
    """Ctrl-C (simulated) between the server's start and the handshake -- while the Client
    is being made, or once it is made but before initialize is written: spawn() still
    shuts the server down before the interruption goes on up, and reaps it."""
    from mcp_ref.stdio import ChildProcess
    started = []
    real_spawn = ChildProcess.spawn

    def spawn_and_keep(cls, *args, **kwargs):
        started.append(real_spawn(*args, **kwargs))
        return started[-1]

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ChildProcess, "spawn", classmethod(spawn_and_keep))
    monkeypatch.setattr(Client, "__init__" if where == "constructor" else "_handshake",
                        interrupted)
    with pytest.raises(KeyboardInterrupt):
        spawn()
    assert len(started) == 1 and started[0].poll() is not None     # shut down and reaped


@pytest.mark.spec("ER-03")
@pytest.mark.parametrize("notification_queue", [None, 10], ids=["on-reader", "queued"])
@pytest.mark.parametrize("raised", [SystemExit, asyncio.CancelledError])
def test_a_client_callback_raising_system_exit_is_answered_and_the_session_survives(
        inv, notification_queue, raised):
    """Shell review F2: SystemExit (sys.exit(), argparse) from the application's callbacks.
    A sampling or roots handler's becomes a -32603 answer, and the callback thread goes on
    answering; an on_notification or on_progress callback's is logged, and the reader (or
    the notification thread) goes on. Before, each of those threads died of it: the server
    waited for ever for its answer, or the session ended."""
    delivered = queue.Queue()

    def exits(*args):
        delivered.put(args)
        raise raised(2)         # a BaseException: neither stops the thread it runs on (D-59)

    client = inv.spawn(SERVE, sampling=exits, roots=lambda: exits(), on_notification=exits,
                       notification_queue=notification_queue, request_timeout=10)
    with client:
        for tool, arguments in (("sample", {"prompt": "hi"}), ("roots", {}),
                                ("sample", {"prompt": "again"})):
            result = client.call_tool(tool, arguments)
            assert result["isError"] is True and "-32603" in result["content"][0]["text"]
            assert raised.__name__ in result["content"][0]["text"]
        for _ in range(3):
            delivered.get(timeout=5)
        client.set_logging_level("debug")
        for n in range(2):
            client.call_tool("log", {"level": "error", "message": f"to a callback that exits {n}"})
            method, params = delivered.get(timeout=5)
            assert method == "notifications/message" and params["data"].endswith(str(n))
        result = client.call_tool("slow", {"seconds": 0.1, "steps": 2}, on_progress=exits)
        assert result["content"][0]["text"] == "slept 0.1 s in 2 steps"
        assert [delivered.get(timeout=5)[0] for _ in range(2)] == [1, 2]
        client.ping()


@pytest.mark.spec("TR-13")
def test_an_interruption_before_the_ladder_still_shuts_the_server_down(inv, monkeypatch):
    """Shell review F6: Ctrl-C (simulated) as close() begins, before the shutdown ladder --
    while it waits for the session's lock, say. The interruption goes on up, but the server
    is shut down and reaped first, the threads are stopped, and a later close() returns the
    report."""
    client = inv.spawn(SERVE, stdin_grace=5.0, term_grace=5.0)
    client.ping()

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(client._session.connection, "close", interrupted)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        client.close()
    assert time.monotonic() - started < 5.0           # no time for politeness
    assert client._process.poll() is not None         # shut down and reaped
    assert client.wait_closed(5)
    report = client.close()
    assert report.steps[0] == "close_stdin" and client.close() is report


@pytest.mark.spec("TR-13")
def test_a_second_ctrl_c_during_the_wind_down_still_stops_every_thread(inv, tmp_path,
                                                                      monkeypatch):
    """Shell review F5: Ctrl-C while close() waits for the server, and another while it
    winds down (simulated: waiting for the reader raises). Each step of the wind-down still
    runs: the callback thread is told to stop, and the transcript gets its close record and
    is closed. Before, the first step's interruption skipped the rest: a thread and an fd
    leaked."""
    trace = tmp_path / "trace.jsonl"
    client = inv.spawn(SERVE, roots=lambda: [], trace=str(trace))
    client.call_tool("roots", {})                      # starts the callback thread
    callback_thread = client._callback_thread
    ctrl_c_in_first_wait(monkeypatch, client._process)
    real_join = client._join

    def interrupted(thread):
        if thread is client._reader:
            raise KeyboardInterrupt
        real_join(thread)

    monkeypatch.setattr(client, "_join", interrupted)
    with pytest.raises(KeyboardInterrupt):
        client.close()
    callback_thread.join(5)
    assert not callback_thread.is_alive()
    assert client._transcript._file is None
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    assert records[-1]["event"] == "close"
    assert client.wait_closed(5)


@pytest.mark.spec("BP-36", "ER-02", "ER-12")
def test_the_servers_error_messages_stay_short_whatever_the_client_sends():
    """BP-36: a 100 000-character cursor, tool name or prompt name is quoted briefly in the
    -32602 that answers it (it used to be copied whole into error.message)."""
    long = "y" * 100_000
    with spawn() as client:
        asks = [("tools/list", {"cursor": long}), ("tools/call", {"name": long}),
                ("prompts/get", {"name": long}), ("tools/call", {"name": "no_such_tool"})]
        errors = []
        for method, params in asks:
            with pytest.raises(PeerError) as info:
                client.request(method, params)
            errors.append(info.value)
    assert [e.code for e in errors] == [-32602] * 4
    for error in errors[:3]:
        assert len(error.message) < 300, error.message[:300]
    assert errors[1].message == f"Unknown tool: {'y' * 80}... (100000 characters)"
    assert errors[3].message == "Unknown tool: no_such_tool"


def test_a_tool_whose_question_is_given_up_at_shutdown_ends_quietly(inv):
    """README review (D-62): stdin closed while `ping_client` waited for the client's answer
    to its ping. The server gave the call up (D-18), so the tool's question failed, and that
    was logged as an ERROR with a traceback, naming a cancel the client never sent. A tool
    that ends because its request was given up or cancelled did what CN-05 asks: INFO."""
    from rawpipe import request
    server = inv.raw(SERVE)
    server.initialize()
    server.send_frames(request(2, "tools/call", {"name": "ping_client", "arguments": {}}))
    server.wait_for(lambda f: f.get("method") == "ping")    # the question, left unanswered
    server.close_stdin()
    assert server.wait_exit(30.0) == 0
    assert server.wait_stderr_eof()
    assert server.responses(2) == []                     # given up: no answer (CN-05, D-18)
    err = bytes(server.stderr)
    assert b"Traceback" not in err and b"ERROR" not in err, err
    assert server.wire_problems() == []
