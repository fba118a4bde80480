"""mcp_ref's Client against the official "everything" server (issue "Differential testing kit",
C): ``@modelcontextprotocol/server-everything`` 2026.8.31 on stdio, built on the TypeScript SDK.

Tool names are discovered from ``tools/list`` (by what their descriptions say they do), never
assumed; where server-everything lacks or skips a feature, the test asserts that explicitly.
The server runs behind ``peers/tap.py``; failures print the frames exchanged.

Behaviour of server-everything worth knowing when reading these tests (pinned version):

* it registers its roots, sampling and elicitation tools only when the client declared those
  capabilities, inside its ``notifications/initialized`` handler -- each registration sends a
  ``notifications/tools/list_changed``: a burst right after the handshake;
* 350 ms after ``initialized`` it asks a roots-capable client for ``roots/list`` by itself;
* its long-running operation ignores cancellation: it keeps emitting progress for the
  cancelled request until its loop ends (the SDK then drops the response);
* it does not exit on stdin EOF while an operation (or a request of its own) is pending.
"""

import json
import signal
import threading
import time
from typing import Any, Dict, List

import pytest

from interop_kit import UNICODE_TEXT, Wire, assert_reaped, strictly_increasing, wait_until
from mcp_ref import check, spec
from mcp_ref.client import Client
from mcp_ref.errors import CapabilityNotNegotiated, ConnectionClosed, RequestCancelled
from mcp_ref.lifecycle import State

pytestmark = pytest.mark.interop

SERVER_NAME = "mcp-servers/everything"


def spawn(argv: List[str], wire: Wire = None, **options) -> Client:
    options.setdefault("request_timeout", 20.0)
    options.setdefault("handshake_timeout", 30.0)
    return Client.spawn(wire.tapped(argv) if wire is not None else argv, **options)


def task_only(tool: Dict[str, Any]) -> bool:
    """A tool that must be called as a task (2025-11-25 tasks), which mcp_ref does not do."""
    return (tool.get("execution") or {}).get("taskSupport") == "required"


def tools_about(tools: List[Dict[str, Any]], word: str) -> List[Dict[str, Any]]:
    """The plainly callable tools whose description mentions ``word``."""
    return [t for t in tools if word.lower() in (t.get("description") or "").lower()
            and not task_only(t)]


def the_tool(tools: List[Dict[str, Any]], word: str) -> Dict[str, Any]:
    found = tools_about(tools, word)
    assert len(found) == 1, (f"expected one tool about {word!r}, found "
                             f"{[t['name'] for t in found]} among {[t['name'] for t in tools]}")
    return found[0]


def text_of(result: Dict[str, Any]) -> str:
    return "\n".join(c["text"] for c in result["content"] if c.get("type") == "text")


def no_responses_to_notifications(wire: Wire) -> None:
    """BP-13: every response mcp_ref wrote answers a request the server sent."""
    server_requests = [f.id for f in wire.s2c() if f.is_request()]
    for frame in wire.c2s():
        if frame.is_response():
            assert any(type(frame.id) is type(r) and frame.id == r for r in server_requests), (
                f"mcp_ref answered something that was not a server request: {frame.msg}\n"
                f"{wire.transcript()}")


@pytest.mark.spec("LC-03", "LC-04", "LC-05", "LC-10", "LC-16", "TL-05", "TL-06", "BP-02",
                  "TR-03")
def test_handshake_tools_and_echo(server_everything, wire):
    with spawn(server_everything, wire) as client:          # no roots/sampling/elicitation
        assert client.protocol_version == spec.PROTOCOL_VERSION, wire.transcript()
        assert client.server_info["name"] == SERVER_NAME
        caps = client.server_capabilities
        assert {"tools", "logging", "resources", "prompts"} <= set(caps), caps
        assert caps["tools"].get("listChanged") is True
        assert isinstance(client.instructions, str) and client.instructions.strip()
        tools = client.list_tools()
        for tool in tools:
            assert tool["inputSchema"]["type"] == "object", tool              # TL-06
        # LC-16 on the server's side: its client-capability tools are not offered to a client
        # that declared none of roots, sampling, elicitation.
        for word in ("roots", "sampling", "elicitation"):
            assert tools_about(tools, word) == [], [t["name"] for t in tools]
        echo = the_tool(tools, "echo")
        required = echo["inputSchema"].get("required", [])
        assert len(required) == 1, echo
        [argument] = required
        assert echo["inputSchema"]["properties"][argument]["type"] == "string"
        result = client.call_tool(echo["name"], {argument: UNICODE_TEXT})
        assert result.get("isError", False) is False
        assert len(result["content"]) == 1 and text_of(result).endswith(UNICODE_TEXT), result
        # It also lists task-only tools to a client that declared no tasks capability; called
        # plainly, one fails as a tool error (isError, the text naming -32601), not as a
        # JSON-RPC error, and the session is unharmed.
        [task_tool] = [t for t in tools if task_only(t)]
        arguments = {name: "x" for name in task_tool["inputSchema"].get("required", [])}
        refused = client.call_tool(task_tool["name"], arguments)
        assert refused.get("isError") is True and "-32601" in text_of(refused), refused
        client.ping()
    c2s = wire.c2s()
    assert c2s[0].method == "initialize" and c2s[1].is_notification("notifications/initialized")
    call = wire.request("c2s", "tools/call", name=echo["name"])
    assert call.params["arguments"] == {argument: UNICODE_TEXT}


@pytest.mark.spec("TL-09", "TL-10")
def test_structured_content_is_checked_against_the_published_output_schema(server_everything,
                                                                          wire):
    """TL-09 (D-45): server-everything publishes a tool with an outputSchema. mcp_ref's
    call_tool, having listed it, checks the structuredContent it returns against that
    schema; the official server keeps its promise, so the check passes: a false alarm here
    would be a bug in mcp_ref's checker. TL-10: the same JSON comes as a text block too."""
    with spawn(server_everything, wire) as client:
        tools = client.list_tools()
        promising = [t for t in tools if "outputSchema" in t and not task_only(t)]
        assert promising, [t["name"] for t in tools]
        for tool in promising:
            schema = tool["inputSchema"]
            arguments = {name: ("New York" if schema["properties"][name].get("type") == "string"
                                else 1) for name in schema.get("required", [])}
            result = client.call_tool(tool["name"], arguments)      # raises if it breaks TL-09
            assert result.get("isError", False) is False, result
            structured = result["structuredContent"]
            assert set(tool["outputSchema"].get("required", [])) <= set(structured), result
            assert any(c.get("type") == "text" and c["text"].strip().startswith("{")
                       and json.loads(c["text"]) == structured for c in result["content"]), result


@pytest.mark.spec("TL-02", "TL-18", "LC-07", "BP-13", "TL-04")
def test_list_changed_burst_does_not_disturb_the_session(server_everything, wire):
    notifications = []
    listed = threading.Event()

    def roots():
        listed.set()
        return []

    with spawn(server_everything, wire, roots=roots, sampling=lambda params: {},
               elicitation=lambda params: {"action": "decline"},
               on_notification=lambda method, params: notifications.append(method)) as client:
        client.ping()                 # the burst was written during the initialized handling
        # TL-18: the client may re-list; the list now has the conditional tools, stably.
        first, second = client.list_tools(), client.list_tools()
        assert [t["name"] for t in first] == [t["name"] for t in second]          # TL-04
        for word in ("roots", "sampling", "elicitation"):
            assert len(tools_about(first, word)) == 1, [t["name"] for t in first]
        client.ping()
        assert client.state is State.OPERATING
        # Let its roots/list (350 ms after initialized) happen before we hang up: one that
        # races our close stays unanswered, and then it does not exit on EOF (see below).
        assert listed.wait(15), wire.transcript()
        client.ping()
        burst = [f for f in wire.s2c() if f.is_notification("notifications/tools/list_changed")]
        assert len(burst) >= 1, ("server-everything no longer sends tools/list_changed after "
                                 "the handshake\n" + wire.transcript())
        # Every one reached on_notification (polled: mcp_ref may run that callback just after
        # waking the caller whose response came in the same read).
        wait_until(lambda: notifications.count("notifications/tools/list_changed") == len(burst),
                   "every list_changed to reach on_notification",
                   detail=lambda: f"{notifications}\n{wire.transcript()}")
    initialized = wire.c2s()[1]
    assert initialized.is_notification("notifications/initialized")
    assert all(f.seq > initialized.seq for f in wire.s2c() if f.is_request()), wire.transcript()
    no_responses_to_notifications(wire)


@pytest.mark.spec("PR-01", "PR-02", "PR-05", "PR-09", "PR-13")
def test_long_running_operation_reports_progress(server_everything, wire):
    seen = []
    with spawn(server_everything, wire) as client:
        tool = the_tool(client.list_tools(), "long running")
        properties = tool["inputSchema"]["properties"]
        assert {"duration", "steps"} <= set(properties), tool
        result = client.call_tool(tool["name"], {"duration": 0.6, "steps": 4},
                                  on_progress=lambda *args: seen.append(args))
        assert result.get("isError", False) is False and text_of(result), result
    assert [p for p, _, _ in seen] == [1, 2, 3, 4], f"{seen}\n{wire.transcript()}"
    assert strictly_increasing([p for p, _, _ in seen])
    assert {t for _, t, _ in seen} == {4}
    call = wire.request("c2s", "tools/call", name=tool["name"])
    token = call.params["_meta"]["progressToken"]
    progress = wire.progress(token)
    assert [f.params["progress"] for f in progress] == [1, 2, 3, 4], wire.transcript()
    [response] = [f for f in wire.s2c() if f.is_response(call.id)]
    assert all(f.seq < response.seq for f in progress)                          # PR-13


@pytest.mark.spec("LG-01", "LG-02", "LG-03")
def test_logging_respects_the_level(server_everything, wire):
    # server-everything logs at "info" when it handles resources/subscribe and unsubscribe,
    # before it answers: after the answer and one more round trip (a ping: mcp_ref's reader
    # has then handled every frame that preceded it), the log message has been seen or will
    # never be.
    logs = []
    with spawn(server_everything, wire,
               on_notification=lambda m, p: logs.append(p) if m == "notifications/message"
               else None) as client:
        assert "logging" in client.server_capabilities                            # LG-01
        assert client.server_capabilities["resources"].get("subscribe") is True
        uri = client.list_resources()[0]["uri"]

        def exchange(method: str) -> List[Dict[str, Any]]:
            before = len(logs)
            assert client.request(method, {"uri": uri}) == {}
            client.ping()
            return logs[before:]

        client.set_logging_level("debug")
        got = exchange("resources/subscribe")
        assert [m["level"] for m in got] == ["info"], f"{got}\n{wire.transcript()}"
        assert uri in got[0]["data"]

        client.set_logging_level("warning")
        got = exchange("resources/unsubscribe")
        assert got == [], f"an info message got through level 'warning': {got}"

        client.set_logging_level("info")                        # the control: back on
        got = exchange("resources/subscribe")
        assert [m["level"] for m in got] == ["info"], f"{got}\n{wire.transcript()}"
        assert set(spec.LOG_LEVELS) >= {m["level"] for m in logs}                  # LG-03
    # The server itself filtered: no log message on the wire while the level was "warning".
    set_warning = wire.request("c2s", "logging/setLevel", level="warning")
    set_info = wire.request("c2s", "logging/setLevel", level="info")
    filtered = [f for f in wire.s2c() if set_warning.seq < f.seq < set_info.seq
                and f.is_notification("notifications/message")]
    assert filtered == [], wire.transcript()


@pytest.mark.spec("LC-16", "BP-07", "PG-03")
def test_sampling_request_is_answered_by_the_callback(server_everything, wire):
    asked = []

    def sampling(params):
        asked.append(params)
        return {"role": "assistant", "model": "interop-model", "stopReason": "endTurn",
                "content": {"type": "text", "text": "réponse 応答"}}

    with spawn(server_everything, wire, sampling=sampling) as client:
        tools = client.list_tools()
        assert tools_about(tools, "roots") == [] and tools_about(tools, "elicitation") == []
        tool = the_tool(tools, "sampling")
        result = client.call_tool(tool["name"], {"prompt": "dis-moi ü 漢", "maxTokens": 17})
        assert result.get("isError", False) is False, result
        assert "réponse 応答" in text_of(result) and "interop-model" in text_of(result)
    [params] = asked
    assert params["maxTokens"] == 17
    assert "dis-moi ü 漢" in params["messages"][0]["content"]["text"]
    request = wire.request("s2c", "sampling/createMessage")
    call = wire.request("c2s", "tools/call", name=tool["name"])
    [answer] = [f for f in wire.c2s() if f.is_response(request.id)]
    assert answer.msg["result"]["content"]["text"] == "réponse 応答"
    [tool_result] = [f for f in wire.s2c() if f.is_response(call.id)]
    assert call.seq < request.seq < answer.seq < tool_result.seq, wire.transcript()


@pytest.mark.spec("LC-16", "BP-07")
def test_elicitation_request_is_answered_by_the_callback(server_everything, wire):
    answers = [{"action": "accept", "content": {"name": "Ada Lovelace", "check": True}},
               {"action": "decline"}]
    asked = []

    def elicitation(params):
        asked.append(params)
        return answers[len(asked) - 1]

    with spawn(server_everything, wire, elicitation=elicitation) as client:
        tool = the_tool(client.list_tools(), "elicitation")
        accepted = client.call_tool(tool["name"], {})
        declined = client.call_tool(tool["name"], {})
    assert len(asked) == 2
    schema = asked[0]["requestedSchema"]
    assert schema["type"] == "object" and "name" in schema["required"], schema
    assert "Ada Lovelace" in text_of(accepted), accepted
    assert "declined" in text_of(declined).lower(), declined
    requests = [f for f in wire.s2c() if f.is_request() and f.method == "elicitation/create"]
    assert len(requests) == 2
    for request, answer in zip(requests, answers):
        [reply] = [f for f in wire.c2s() if f.is_response(request.id)]
        assert reply.msg["result"] == answer


@pytest.mark.spec("LC-07", "LC-16", "BP-07")
def test_roots_are_listed_by_the_server(server_everything, wire):
    roots = [{"uri": "file:///tmp/interop-a", "name": "Projekt ü"},
             {"uri": "file:///tmp/interop-b", "name": "第二"}]
    listed = threading.Event()
    synced = threading.Event()

    def on_notification(method, params):
        if method == "notifications/message" and "2 root(s)" in str(params.get("data")):
            synced.set()

    def list_roots():
        listed.set()
        return roots

    with spawn(server_everything, wire, roots=list_roots,
               on_notification=on_notification) as client:
        # server-everything asks for the roots by itself shortly after the handshake, then
        # logs how many it got.
        assert listed.wait(15), wire.transcript()
        assert synced.wait(15), wire.transcript()
        result = client.call_tool(the_tool(client.list_tools(), "roots")["name"], {})
        text = text_of(result)
        for root in roots:
            assert root["uri"] in text and root["name"] in text, text
        # mcp_ref declares roots without listChanged (Client.spawn has no option for it), so it
        # refuses to send notifications/roots/list_changed (LC-16).
        with pytest.raises(CapabilityNotNegotiated):
            client.notify("notifications/roots/list_changed")
    request = wire.request("s2c", "roots/list")
    assert request.seq > wire.c2s()[1].seq                  # LC-07: after initialized
    [reply] = [f for f in wire.c2s() if f.is_response(request.id)]
    assert reply.msg["result"] == {"roots": roots}


@pytest.mark.spec("CN-01", "CN-05", "CN-07", "PR-08", "PR-11", "PG-01")
def test_cancel_a_long_running_operation(server_everything, wire):
    progressed = threading.Event()
    seen = []

    def on_progress(progress, total, message):
        seen.append(progress)
        progressed.set()

    with spawn(server_everything, wire) as client:
        tool = the_tool(client.list_tools(), "long running")
        call = client.call_tool_async(tool["name"], {"duration": 2, "steps": 20},
                                      on_progress=on_progress)
        assert progressed.wait(20), wire.transcript()
        started = time.monotonic()
        assert call.cancel("interop test cancels the operation") is True
        with pytest.raises(RequestCancelled):
            call.result()
        assert time.monotonic() - started < 1.0
        client.ping()
        request = wire.request("c2s", "tools/call", name=tool["name"])
        token = request.params["_meta"]["progressToken"]
        # server-everything ignores the cancel and runs to its end: its last progress marks
        # the moment it would have answered (the SDK suppresses that answer).
        last = wire.wait_for(lambda f: f.dir == "s2c" and f.is_notification(
            "notifications/progress") and f.params.get("progressToken") == token
            and f.params.get("progress") == 20, "the operation's last progress "
            "(server-everything used to ignore cancellation; if it now stops, revisit this)")
        client.ping()            # written after `last` was read: a response would be before it
        assert client.state is State.OPERATING
    [cancel] = [f for f in wire.c2s() if f.is_notification("notifications/cancelled")]
    assert cancel.params == {"requestId": request.id,
                             "reason": "interop test cancels the operation"}
    late = [f for f in wire.progress(token) if f.seq > cancel.seq]
    assert late and last in late            # the peer's deviation (CN-05, PR-08), on record
    assert not [f for f in wire.s2c() if f.is_response(request.id)], wire.transcript()
    before = [f.params["progress"] for f in wire.progress(token) if f.seq < cancel.seq]
    assert set(seen) <= set(before), f"{seen}\n{wire.transcript()}"              # CN-07


@pytest.mark.spec("TR-13", "TR-14")
def test_clean_shutdown_closes_stdin_only(server_everything):
    with spawn(server_everything) as client:
        client.ping()
        report = client.close()
    assert report.steps == ("close_stdin",), report
    assert report.exit_code == 0, report
    assert report.total_seconds < 2.0, report
    assert_reaped(client.pid)


@pytest.mark.spec("TR-13", "TR-14", "TR-15")
def test_shutdown_while_an_operation_runs_needs_sigterm(server_everything, wire):
    progressed = threading.Event()
    with spawn(server_everything, wire, stdin_grace=1.0, term_grace=1.0) as client:
        tool = the_tool(client.list_tools(), "long running")
        call = client.call_tool_async(tool["name"], {"duration": 30, "steps": 300},
                                      on_progress=lambda *args: progressed.set())
        assert progressed.wait(20), wire.transcript()
        report = client.close()
    with pytest.raises(ConnectionClosed):
        call.result()
    # Its timers keep node alive past stdin EOF; it has no SIGTERM handler, so SIGTERM ends it.
    assert report.steps == ("close_stdin", "sigterm"), f"{report}\n{wire.transcript()}"
    assert report.signal == signal.SIGTERM, report
    assert report.total_seconds < 1.0 + 1.0 + 1.0, report
    assert_reaped(client.pid)
    assert [f.entry["signal"] for f in wire.frames("signal")] == [signal.SIGTERM]


@pytest.mark.spec("LC-10", "LC-11", "PG-02", "BP-02", "TR-03", "PR-05", "PR-13", "CN-05")
def test_check_judges_server_everything_without_a_false_fail(server_everything):
    """``check`` on server-everything: no MUST fails, and each warning is one of its known
    traits. Its echo tool takes ``message``, which check finds by itself (its only string
    argument); its long-running operation is the slow tool."""
    options = check.Options(tool_slow="trigger-long-running-operation",
                            slow_args={"duration": 1, "steps": 4}, timeout=10.0)
    results = check.run_battery(server_everything, options)
    others = [r for r in results if r.outcome != "pass"]
    assert {r.check.key: r.outcome for r in others} == {
        "pre-init-gating": "warn",       # tools/list is served before initialize (A6, SHOULD)
        "invalid-request": "warn",       # {"jsonrpc":"2.0","id":1} is read as a bad response
        "cancel-honoured": "warn",       # progress goes on after a cancel (see the top)
        "server-request-ids": "n.a.",    # it sends no request to a client without roots
        "unknown-tool": "warn",          # an isError result, not a JSON-RPC error (ER-02)
        "bad-log-level": "warn",         # logging/setLevel "loud" gets -32603, not -32602
    }, check.render_table(others, verbose=True)
