"""The official SDKs' clients against ``python3 -m mcp_ref serve`` (issue "Differential testing
kit", D and E).

Three clients run one fixed scenario each (``peers/py_sdk_client.py``, ``peers/ts_sdk_client.mjs``):

* ``py-sdk-legacy``: the Python SDK (``mcp`` 2.3.0), ``mode="legacy"``: initialize handshake;
* ``py-sdk-auto``: the same SDK in its default ``mode="auto"``: it first probes
  ``server/discover`` (the 2026-07-28 era), mcp_ref answers -32601, and the SDK must fall back
  to ``initialize`` (LC-39..LC-41);
* ``ts-sdk``: the TypeScript SDK 1.32.2.

The scenario: handshake, tools/list, echo (non-ASCII), ``slow`` with progress, ``slow``
cancelled after its first progress, a ping, another ``slow`` that outlasts the cancelled one,
then the SDK's own shutdown (close stdin, wait, signals). mcp_ref's server runs behind
``peers/tap.py``; each test below checks one part of the same run, against the script's
report and the frames on the wire.
"""

import json
import os
from dataclasses import dataclass
from typing import Any, Dict

import pytest

from interop_kit import (ROOT, SERVE, UNICODE_TEXT, Frame, Wire, run_peer_client,
                         strictly_increasing)
from mcp_ref import spec

pytestmark = pytest.mark.interop


@dataclass
class Run:
    client: str
    out: Dict[str, Any]
    wire: Wire
    audit: str                      # the JSON file ``serve --audit`` wrote

    def check_ok(self) -> None:
        assert self.out["_returncode"] == 0 and "error" not in self.out, (
            f"{self.client} failed at step {self.out.get('failed_step')}: "
            f"{self.out.get('error')}\n{self.out.get('traceback', '')}\n"
            f"stderr:\n{self.out['_stderr'][-3000:]}\n{self.wire.transcript()}")

    def response(self, request: Frame) -> Frame:
        answers = [f for f in self.wire.s2c() if f.is_response(request.id)]
        assert len(answers) == 1, f"{len(answers)} answers to {request.msg}\n" + \
            self.wire.transcript()
        return answers[0]


CLIENTS = ["py-sdk-legacy", "py-sdk-auto", "ts-sdk"]


@pytest.fixture(scope="module", params=CLIENTS)
def run(request, tmp_path_factory, peer_scripts) -> Run:
    return run_client(request, tmp_path_factory.mktemp(request.param), peer_scripts)


def run_client(request, folder, peer_scripts, *serve_options: str) -> Run:
    """The scenario of client ``request.param`` against ``serve --audit`` (and
    ``serve_options``), behind the tap."""
    wire = Wire(str(folder / "wire.jsonl"))
    audit = str(folder / "audit.json")
    server = wire.tapped(SERVE + ["--audit", audit, *serve_options])
    if request.param.startswith("py-sdk"):
        python = request.getfixturevalue("py_sdk_python")
        mode = request.param.rsplit("-", 1)[1]
        # The SDK passes the server only a few variables of ours (HOME, PATH, ...): PYTHONPATH
        # and the cwd go explicitly.
        argv = [python, os.path.join(peer_scripts, "py_sdk_client.py"), "--mode", mode,
                "--cwd", ROOT, "--env", json.dumps({"PYTHONPATH": ROOT}), "--", *server]
        env = {}
    else:
        node = request.getfixturevalue("node")
        argv = [node, os.path.join(peer_scripts, "ts_sdk_client.mjs"), "--cwd", ROOT, "--",
                *server]
        env = {"MCP_PEERS_NODE_MODULES": request.getfixturevalue("node_modules"),
               "PYTHONPATH": ROOT}
    return Run(request.param, run_peer_client(argv, env=env), wire, audit)


@pytest.mark.spec("LC-02", "LC-03", "LC-04", "LC-05", "LC-10", "LC-39", "LC-41", "ER-01",
                  "BP-07", "BP-10")
def test_handshake(run):
    run.check_ok()
    connect = run.out["connect"]
    assert connect["protocol_version"] == spec.PROTOCOL_VERSION
    assert connect["server_info"]["name"] == "mcp_ref-reference"
    assert connect["instructions"]
    assert "tools" in connect["capabilities"]
    wire = run.wire
    c2s, s2c = wire.c2s(), wire.s2c()
    assert s2c[0].seq > c2s[0].seq, wire.transcript()    # LC-02: the server spoke second
    if run.client == "py-sdk-auto":
        # The 2026-07-28 probe first; mcp_ref (a legacy server) answers "method not found"
        # and the SDK falls back to the handshake on the same connection.
        probe = c2s[0]
        assert probe.method == "server/discover", wire.transcript()
        reply = run.response(probe)
        assert reply.msg["error"]["code"] == -32601 and "result" not in reply.msg
        assert isinstance(reply.msg["error"]["message"], str)
        initialize = c2s[1]
    else:
        initialize = c2s[0]
    assert initialize.method == "initialize", wire.transcript()
    assert initialize.params["protocolVersion"] == spec.PROTOCOL_VERSION
    result = run.response(initialize).msg["result"]
    assert result["protocolVersion"] == spec.PROTOCOL_VERSION                # LC-10
    assert result["serverInfo"]["name"] == "mcp_ref-reference"
    following = [f for f in c2s if f.seq > initialize.seq]
    assert following[0].is_notification("notifications/initialized"), wire.transcript()


@pytest.mark.spec("TL-05", "TL-08", "BP-02", "TR-03")
def test_tools_and_unicode_echo(run):
    run.check_ok()
    assert {"echo", "add", "slow", "fail"} <= set(run.out["tools"])
    assert run.out["echo"] == {"sent": UNICODE_TEXT, "is_error": False, "texts": [UNICODE_TEXT]}
    call = run.wire.request("c2s", "tools/call", name="echo")
    assert call.params["arguments"] == {"text": UNICODE_TEXT}
    assert run.response(call).msg["result"]["content"] == [{"type": "text", "text": UNICODE_TEXT}]


@pytest.mark.spec("PR-01", "PR-04", "PR-05", "PR-07", "PR-13")
def test_progress(run):
    run.check_ok()
    progress = run.out["progress"]
    assert progress["texts"] == ["slept 0.6 s in 4 steps"] and progress["is_error"] is False
    # mcp_ref's side, on the wire: four progress notifications with the SDK's token, strictly
    # increasing, all before the response.
    call = run.wire.request("c2s", "tools/call", name="slow", arguments={"seconds": 0.6, "steps": 4})
    token = call.params["_meta"]["progressToken"]            # the SDK's choice of token
    frames = run.wire.progress(token)
    assert [f.params["progress"] for f in frames] == [1, 2, 3, 4], run.wire.transcript()
    assert [f.params["message"] for f in frames] == [f"step {i}/4" for i in range(1, 5)]
    response = run.response(call)
    assert all(f.seq < response.seq for f in frames)                              # PR-13
    # The SDK's side. The TypeScript SDK runs notification handlers a microtask late but
    # settles responses at once: when the last progress and the response come in one read, it
    # has already dropped the request's progress handler and loses that progress (reporting
    # "unknown token" through onerror). So it may miss trailing notifications, never others.
    values = [p for p, _, _ in progress["notifications"]]
    expected = [[i, 4, f"step {i}/4"] for i in range(1, 5)]
    if run.client == "ts-sdk":
        assert values and strictly_increasing(values), progress
        assert progress["notifications"] == expected[:len(values)], progress
        lost = [e for e in run.out["sdk_errors"] if "unknown token" in e]
        assert len(lost) == 4 - len(values), run.out["sdk_errors"]
    else:
        assert progress["notifications"] == expected, progress


@pytest.mark.spec("CN-01", "CN-05", "CN-06", "CN-08", "PR-08", "PR-13", "PG-02")
def test_cancel(run):
    run.check_ok()
    cancel = run.out["cancel"]
    if run.client.startswith("py-sdk"):
        assert cancel["outcome"] == {"cancelled": True}, cancel
    else:
        assert list(cancel["outcome"]) == ["rejected"], cancel
    assert cancel["ping_after_cancel"] is True
    assert cancel["next_call_texts"] == ["slept 1.6 s in 2 steps"]
    # The SDK's callback got no progress once it had abandoned the call.
    assert cancel["progress_total"] == cancel["progress_before_cancel"], cancel

    wire = run.wire
    call = wire.request("c2s", "tools/call", name="slow", arguments={"seconds": 1.5, "steps": 15})
    [notice] = [f for f in wire.c2s() if f.is_notification("notifications/cancelled")]
    assert notice.params["requestId"] == call.id and notice.seq > call.seq, wire.transcript()
    # CN-05: mcp_ref sends no response for the cancelled call, not even after the call's
    # natural end (the scenario's next slow call outlasts it).
    assert not [f for f in wire.s2c() if f.is_response(call.id)], wire.transcript()
    # PR-08/PR-13: no progress for it once mcp_ref has handled the cancel -- certainly
    # by the time it answered the ping the client sent after the cancel.
    ping = next(f for f in wire.c2s() if f.method == "ping" and f.seq > notice.seq)
    pong = run.response(ping)
    token = call.params["_meta"]["progressToken"]
    late = [f for f in wire.progress(token) if f.seq > pong.seq]
    assert late == [], wire.transcript()


@pytest.mark.spec("TR-13", "TR-14", "TR-06", "LC-19")
def test_shutdown_exits_zero_on_stdin_eof(run):
    run.check_ok()
    wire = run.wire
    [eof] = [f for f in wire.frames("eof") if f.entry["what"] == "stdin"]
    exit_ = wire.exit()
    assert exit_ is not None and exit_["code"] == 0 and exit_["signal"] is None, wire.transcript()
    assert wire.frames("signal") == [], wire.transcript()      # no SIGTERM was needed
    assert exit_["t"] - eof.t < 2.0, wire.transcript()         # before the SDK's 2 s grace
    assert run.out["close_seconds"] < 2.0, run.out
    # Nothing more from the server once the client hung up (nothing was in flight).
    assert [f for f in wire.s2c() if f.seq > eof.seq] == [], wire.transcript()


@pytest.mark.spec("BP-01", "BP-07", "BP-08", "TR-06", "BP-33")
def test_every_server_line_is_a_well_formed_response(run):
    run.check_ok()
    requests = {json.dumps(f.id): f for f in run.wire.c2s() if f.is_request()}
    for frame in run.wire.s2c():
        assert isinstance(frame.msg, dict) and frame.msg.get("jsonrpc") == "2.0", frame.entry
        if "method" in frame.msg:
            assert frame.is_notification(), frame.msg   # mcp_ref made no request here
            continue
        assert ("result" in frame.msg) != ("error" in frame.msg), frame.msg          # BP-08
        assert json.dumps(frame.id) in requests, frame.msg                           # BP-07


@pytest.mark.spec("LC-02", "LC-05", "LC-39", "CN-02", "CN-03", "BP-05", "TR-07")
def test_the_auditor_finds_no_violation_in_an_official_client(run):
    """``serve --audit`` judges clients, so it must not accuse the official ones falsely: none
    of the three scenarios breaks a rule. (py-sdk-auto's server/discover before initialize is
    the dual-era probe the auditor allows, LC-39; it is answered -32601, LC-40.)"""
    run.check_ok()
    with open(run.audit, encoding="utf-8") as f:
        found = json.load(f)
    assert found == [], json.dumps(found, indent=1)


@pytest.fixture(scope="module", params=CLIENTS)
def pinged_run(request, tmp_path_factory, peer_scripts) -> Run:
    """The same scenario, with the server pinging the client every 20 ms (PG-05, D-48)."""
    return run_client(request, tmp_path_factory.mktemp(request.param + "-pinged"),
                      peer_scripts, "--keepalive", "0.02", "--keepalive-timeout", "10")


@pytest.mark.spec("PG-02", "PG-05", "PG-03")
def test_official_clients_answer_the_servers_keepalive_pings(pinged_run):
    """PG-02 applies to clients too: each official client answers every ping of
    ``serve --keepalive`` with the empty result, and the auditor records nothing. mcp_ref's
    keepalive starts once the session operates (D-48) and its pings do not disturb the
    scenario (progress, cancellation, the SDK's own ping)."""
    run = pinged_run
    run.check_ok()
    pings = [f for f in run.wire.s2c() if f.method == "ping" and f.is_request()]
    assert pings, "no keepalive ping was sent during the scenario\n" + run.wire.transcript()
    for ping in pings:
        answers = [f for f in run.wire.c2s() if f.is_response(ping.id)]
        # The last ping may still be waiting when the client ends the session.
        if answers or ping is not pings[-1]:
            assert [a.msg.get("result") for a in answers] == [{}], run.wire.transcript()
    with open(run.audit, encoding="utf-8") as f:
        found = json.load(f)
    assert found == [], json.dumps(found, indent=1)
