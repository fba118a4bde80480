"""Issue 4, end to end: timeouts, cancellation, progress and keepalive over real processes.

Reliability scenarios SC-11, SC-12, SC-15, SC-16, SC-17 and SC-27
(shared/research/reliability-bank.md, section (d)), with invariants I1 (every request ends in
exactly one outcome) and I6 (bounded time).

Three kinds of peer:

* ``python3 -m mcp_ref serve``, the reference server, driven by mcp_ref's Client or, where the
  wire itself is the subject, by :class:`RawPeer`, a raw-pipe client that writes any frames and
  records every stdout line;
* ``tests/fixtures/timing_server.py``, a scripted misbehaving server that logs every frame it
  receives, with its ``time.monotonic()`` (system-wide on Linux), to a file;
* the reference server through a tiny launcher (``LAUNCHER``) that sets the worker pool and
  adds two tools that report what a handler saw.

Deadlines are checked with ``time.monotonic()``: never early (to -100 ms), and late by at
most ``LATE`` s, a bound that catches a deadline that never fires or is another deadline, not
a judgement of the timer's precision, which a loaded machine does not keep to 100 ms (D-97).
Nothing sleeps to synchronise: the tests wait on handles, events and wire frames, each with a
deadline.
"""

import json
import logging
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from helpers import handshake

from mcp_ref import events as ev
from mcp_ref import session as session_module
from mcp_ref.client import DEFAULT_MAX_TOTAL_TIMEOUT, Client
from mcp_ref.connection import Connection
from mcp_ref.errors import (ConnectionClosed, LocalProtocolError, PeerError, RequestCancelled,
                            RequestTimeout)
from mcp_ref.lifecycle import Role, State
from mcp_ref.server import Context
from mcp_ref.session import Session

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
SERVE = [sys.executable, "-m", "mcp_ref", "serve"]
#: The reference server sending every progress, for tests that count them (PR-12, D-47).
SERVE_ALL_PROGRESS = SERVE + ["--progress-interval", "0"]

#: How early a deadline may seem to fire, in seconds (clock granularity; SC-11, SC-15).
SLACK = 0.1
#: How late it may fire: generous, for a loaded machine (CI; load 10 on 2 cores here). What
#: decides which deadline fired is the exception's ``timeout``, not the clock (D-97).
LATE = 1.5


# --- Helpers ------------------------------------------------------------------------------------

def timing(mode, logfile="-", *extra):
    """argv of the scripted timing server (tests/fixtures/timing_server.py)."""
    return [sys.executable, os.path.join(FIXTURES, "timing_server.py"), mode, str(logfile),
            *map(str, extra)]


#: The reference server with a chosen pool (argv: ROOT, max_workers, max_in_flight), plus
#: ``watch`` (runs until cancelled, then records what it saw) and ``seen`` (waits for that
#: record and returns it), so a test can ask the server what the handler observed.
LAUNCHER = r'''
import json, sys, threading, time
sys.path.insert(0, sys.argv[1])
from mcp_ref.reference import build_server

server = build_server()
server.max_workers = int(sys.argv[2])
server.max_in_flight = int(sys.argv[3])
records = {}
recorded = threading.Condition()
TAG = {"type": "object", "properties": {"tag": {"type": "string"}}, "required": ["tag"]}

@server.tool(name="watch", description="Run until cancelled; record when and why.",
             input_schema=TAG)
def watch(arguments, context):
    context.progress(1)                     # tells the client that the handler runs
    cancelled = context.wait_cancelled(10.0)
    record = {"cancelled": cancelled, "at": time.monotonic(), "reason": context.cancel_reason}
    record["progress_sent_after_cancel"] = context.progress(2)
    with recorded:
        records[arguments["tag"]] = record
        recorded.notify_all()
    return "watch finished"

@server.tool(name="seen", description="Wait for watch(tag)'s record and return it.",
             input_schema=TAG)
def seen(arguments, context):
    with recorded:
        recorded.wait_for(lambda: arguments["tag"] in records, 5.0)
        return json.dumps(records.get(arguments["tag"]))

sys.exit(server.run_stdio())
'''


def launcher(max_workers=4, max_in_flight=64):
    return [sys.executable, "-c", LAUNCHER, ROOT, str(max_workers), str(max_in_flight)]


def spawn(argv=SERVE, **options):
    options.setdefault("cwd", ROOT)
    return Client.spawn(argv, **options)


def text_of(result):
    return result["content"][0]["text"]


def read_log(path):
    """The timing server's log: one entry per frame it received ("got") or sent ("sent")."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def received(entries, method):
    return [e["got"] for e in entries if e.get("got", {}).get("method") == method]


def cancels_for(entries, request_id):
    return [e for e in entries if e.get("got", {}).get("method") == "notifications/cancelled"
            and e["got"].get("params", {}).get("requestId") == request_id]


def assert_reaped(pid):
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def assert_near(elapsed, expected):
    """Not before ``expected`` (less SLACK); late by at most LATE (a hang, not a slow box)."""
    assert expected - SLACK <= elapsed <= expected + LATE, (
        f"took {elapsed:.3f} s, expected {expected:.3f} s (-{SLACK:g}, +{LATE:g})")


def no_warnings(caplog):
    return [r.getMessage() for r in caplog.records
            if r.name.startswith("mcp_ref") and r.levelno >= logging.WARNING
            and r.name != "mcp_ref.server_stderr"]


def outcome(handle):
    """('result', result) or ('error', exception): the single outcome of a PendingRequest."""
    try:
        return "result", handle.result()
    except Exception as exc:           # noqa: BLE001 - the test inspects it
        return "error", exc


# --- A raw-pipe client, for the server's side of the wire ----------------------------------------

def request(request_id, method, params=None):
    frame = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        frame["params"] = params
    return frame


def tool_call(request_id, name, arguments=None, token=None):
    params = {"name": name, "arguments": arguments or {}}
    if token is not None:
        params["_meta"] = {"progressToken": token}
    return request(request_id, "tools/call", params)


def cancel(request_id, reason=None):
    params = {"requestId": request_id}
    if reason:
        params["reason"] = reason
    return {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": params}


def same(a, b):
    """JSON equality that keeps 1, "1" and True apart (ids and tokens are type-exact)."""
    return type(a) is type(b) and a == b


def is_response(frame, request_id):
    return ("result" in frame or "error" in frame) and same(frame.get("id"), request_id)


def is_progress(frame, token):
    return (frame.get("method") == "notifications/progress"
            and same(frame["params"].get("progressToken"), token))


class RawPeer:
    """A raw-pipe client: writes any frames, records every stdout line as it arrives."""

    def __init__(self, argv=SERVE):
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.frames = []
        self._cond = threading.Condition()
        self._eof = False
        self._stderr = b""
        self._threads = [threading.Thread(target=self._read_stdout, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for thread in self._threads:
            thread.start()

    def _read_stdout(self):
        for raw in self.proc.stdout:
            frame = json.loads(raw)
            with self._cond:
                self.frames.append(frame)
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def _read_stderr(self):
        self._stderr = self.proc.stderr.read()

    def send(self, *frames):
        """One write per call, so the frames of one call arrive together."""
        self.proc.stdin.write(b"".join(json.dumps(f).encode() + b"\n" for f in frames))
        self.proc.stdin.flush()

    def _index(self, predicate):
        return next((i for i, f in enumerate(self.frames) if predicate(f)), None)

    def wait_for(self, predicate, timeout=5.0):
        """The index of the first frame matching ``predicate``, waiting up to ``timeout``."""
        with self._cond:
            assert self._cond.wait_for(lambda: self._index(predicate) is not None, timeout), \
                self.frames[-5:]
            return self._index(predicate)

    def arrived_within(self, predicate, timeout):
        """True if a frame matching ``predicate`` arrives within ``timeout`` (no assertion)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._index(predicate) is not None, timeout)

    def initialize(self):
        self.send(request("init", "initialize", {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "raw-peer", "version": "0"}}))
        self.wait_for(lambda f: is_response(f, "init"))
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def finish(self, timeout=10.0):
        """Close stdin, read every frame until EOF, reap the server; returns the frames."""
        self.proc.stdin.close()
        with self._cond:
            assert self._cond.wait_for(lambda: self._eof, timeout), "no EOF on stdout"
        assert self.proc.wait(timeout) == 0, self._stderr
        for thread in self._threads:
            thread.join(timeout)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return list(self.frames)


@pytest.fixture
def raw_peer():
    peers = []

    def make(argv=SERVE):
        peers.append(RawPeer(argv))
        return peers[-1]
    yield make
    for peer in peers:
        if peer.proc.poll() is None:
            peer.proc.kill()
            peer.proc.wait(5)


# ================================================================================================
# SC-11: client timeouts
# ================================================================================================

@pytest.mark.spec("TO-01", "TO-02", "TO-07", "CN-01", "CN-02")
def test_timeout_fires_at_its_deadline_with_exactly_one_cancel(tmp_path):
    log = tmp_path / "wire.jsonl"
    with spawn(timing("plain", log)) as client:
        started = time.monotonic()
        handle = client.call_tool_async("never", timeout=0.3)
        with pytest.raises(RequestTimeout) as info:
            handle.result()
        assert_near(time.monotonic() - started, 0.3)
        assert info.value.method == "tools/call" and info.value.timeout == 0.3
        assert handle.cancel() is False          # CN-02: it is over; nothing more is sent
        pid = client.pid
    assert_reaped(pid)
    entries = read_log(log)                      # complete: the server has exited
    cancels = cancels_for(entries, handle.id)
    assert len(cancels) == 1, cancels
    reason = cancels[0]["got"]["params"].get("reason")
    assert isinstance(reason, str) and reason
    assert_near(cancels[0]["t"] - started, 0.3)  # on the wire at the deadline
    assert len(received(entries, "notifications/cancelled")) == 1


@pytest.mark.spec("TO-01", "TO-03")
def test_session_default_timeout_and_per_request_override(tmp_path):
    log = tmp_path / "wire.jsonl"
    with spawn(timing("plain", log), request_timeout=0.3) as client:
        timed_out = []
        for options, deadline in (({}, 0.3),                     # the session default
                                  ({"timeout": 0.15}, 0.15)):    # a shorter override
            started = time.monotonic()
            handle = client.call_tool_async("never", **options)
            with pytest.raises(RequestTimeout) as info:
                handle.result()
            assert_near(time.monotonic() - started, deadline)
            assert info.value.timeout == deadline                # which deadline fired
            timed_out.append(handle.id)

        started = time.monotonic()                               # a longer override wins
        assert text_of(client.call_tool("delay", {"seconds": 0.6}, timeout=1.5)) == "delayed"
        assert time.monotonic() - started >= 0.6

        # timeout=None means no deadline at all: no hidden inner cap (RL-44)
        assert text_of(client.call_tool("delay", {"seconds": 0.6}, timeout=None)) == "delayed"
        client.ping()
    entries = read_log(log)
    assert [len(cancels_for(entries, i)) for i in timed_out] == [1, 1]
    assert len(received(entries, "notifications/cancelled")) == 2   # none for the others


@pytest.mark.spec("TO-06", "CN-03", "LC-05")
def test_slow_initialize_beyond_the_handshake_timeout_is_never_cancelled(tmp_path):
    log = tmp_path / "wire.jsonl"
    started = time.monotonic()
    with pytest.raises(RequestTimeout) as info:
        spawn(timing("slow-init", log, 2.0), handshake_timeout=0.3, request_timeout=10)
    # spawn() reaps the server before raising; the fixture exits at once on stdin EOF
    assert_near(time.monotonic() - started, 0.3)
    assert info.value.method == "initialize" and info.value.timeout == 0.3
    entries = read_log(log)
    got = [e["got"].get("method") for e in entries if "got" in e]
    assert got == ["initialize"]                 # no cancel (CN-03), no initialized
    assert entries[-1].get("eof") is True


@pytest.mark.spec("TO-06", "TO-03")
def test_slow_initialize_within_the_handshake_timeout_succeeds(tmp_path):
    # The handshake timeout is its own: a request timeout shorter than the slow initialize
    # does not apply to it.
    started = time.monotonic()
    with spawn(timing("slow-init", tmp_path / "wire.jsonl", 0.4), handshake_timeout=2.0,
               request_timeout=0.2) as client:
        assert time.monotonic() - started >= 0.4
        assert client.state is State.OPERATING
        assert client.server_info["name"] == "timing-slow-init"
        client.ping()
        assert text_of(client.call_tool("echo", {"text": "up"})) == "up"


@pytest.mark.spec("CN-07", "CN-08", "TO-02")
def test_late_response_after_a_timeout_is_dropped_and_the_session_stays_usable(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="mcp_ref")
    log = tmp_path / "wire.jsonl"
    with spawn(timing("plain", log)) as client:
        handle = client.call_tool_async("late", timeout=0.3)
        with pytest.raises(RequestTimeout):
            handle.result()
        # The fixture answers "too late" as soon as the cancel arrives; a ping written after
        # the cancel is answered after that, so the late answer has been read by now.
        client.ping()
        assert text_of(client.call_tool("echo", {"text": "next"})) == "next"
        assert client._session._requests == {}
        assert client.state is State.OPERATING
    sent = [e["sent"] for e in read_log(log) if "sent" in e]
    too_late = {"content": [{"type": "text", "text": "too late"}], "isError": False}
    assert {"jsonrpc": "2.0", "id": handle.id, "result": too_late} in sent
    dropped = [r for r in caplog.records if r.name == "mcp_ref.session"
               and r.getMessage() == f"dropped: late response for cancelled request {handle.id!r}"]
    assert len(dropped) == 1 and dropped[0].levelno == logging.DEBUG
    assert no_warnings(caplog) == []


# ================================================================================================
# SC-12: cancellation
# ================================================================================================

@pytest.mark.spec("CN-01", "CN-05", "CN-09", "CN-11", "CN-23", "PR-13")
def test_cancel_from_another_thread_reaches_the_handler_at_once():
    # Two workers, both busy (watch and a slow tool) when the cancel arrives.
    with spawn(launcher(max_workers=2)) as client:
        running = threading.Event()
        handle = client.call_tool_async("watch", {"tag": "a"}, timeout=30,
                                        on_progress=lambda *a: running.set())
        assert running.wait(5), "the watch handler did not start"
        other = threading.Event()
        busy = client.call_tool_async("slow", {"seconds": 5, "steps": 50},
                                      on_progress=lambda *a: other.set())
        assert other.wait(5)
        results = {}
        waiting = threading.Event()

        def caller():
            waiting.set()
            results["outcome"] = outcome(handle)

        blocked = threading.Thread(target=caller)
        blocked.start()
        assert waiting.wait(5)
        cancelled_at = time.monotonic()
        assert handle.cancel("the user pressed stop") is True
        blocked.join(1.0)
        assert not blocked.is_alive(), "the blocked caller was not woken by the cancel"
        kind, error = results["outcome"]
        assert kind == "error" and isinstance(error, RequestCancelled)
        assert error.reason == "the user pressed stop"
        assert handle.cancel() is False                           # one outcome only

        seen = json.loads(text_of(client.call_tool("seen", {"tag": "a"})))
        assert seen["cancelled"] is True                          # not a 10 s wait running out
        assert seen["at"] - cancelled_at < 0.2                    # at once, mid-handler
        assert seen["reason"] == "the user pressed stop"          # CN-09
        assert seen["progress_sent_after_cancel"] is False        # CN-23, D-16
        assert busy.cancel() is True
        client.ping()
        assert client._session._requests == {}


@pytest.mark.spec("CN-05", "CN-11", "CN-23", "PR-13", "PG-02")
def test_cancelled_slow_tool_gets_no_response_and_no_more_progress_on_the_wire(raw_peer):
    peer = raw_peer()
    peer.initialize()
    peer.send(tool_call(2, "slow", {"seconds": 5, "steps": 50}, token="p-2"))
    peer.wait_for(lambda f: is_progress(f, "p-2"))              # the handler is running
    peer.send(cancel(2, "no longer needed"), request("after-cancel", "ping"),
              tool_call(3, "echo", {"text": "still here"}))
    # The server reads in order: once the ping is answered, the cancel has been processed.
    processed = peer.wait_for(lambda f: is_response(f, "after-cancel"))
    peer.wait_for(lambda f: is_response(f, 3))
    started = time.monotonic()
    frames = peer.finish()
    # A handler still running would hold the server's drain for 2 s at EOF.
    assert time.monotonic() - started < 1.0
    assert not [f for f in frames if is_response(f, 2)]
    assert not [f for f in frames[processed:] if is_progress(f, "p-2")]
    echo = next(f for f in frames if is_response(f, 3))
    assert echo["result"]["content"][0]["text"] == "still here"


@pytest.mark.spec("CN-06", "CN-10", "BP-13")
def test_cancel_for_an_unknown_finished_or_malformed_id_produces_no_output(raw_peer):
    peer = raw_peer()
    peer.initialize()
    peer.send(tool_call(5, "echo", {"text": "done"}))
    peer.wait_for(lambda f: is_response(f, 5))
    peer.send(cancel(5), cancel(999, "never sent"), cancel("nope"),
              {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {}},
              {"jsonrpc": "2.0", "method": "notifications/cancelled"},
              request("alive", "ping"))
    frames = peer.finish()
    assert [f.get("id") for f in frames] == ["init", 5, "alive"]
    assert frames[-1] == {"jsonrpc": "2.0", "id": "alive", "result": {}}


@pytest.mark.spec("CN-08", "CN-05", "BP-07")
def test_a_thousand_cancels_racing_completion_never_give_two_responses(raw_peer):
    rng = random.Random(4)
    peer = raw_peer()
    peer.initialize()
    ids = list(range(100, 1100))
    for request_id in ids:
        call, stop = tool_call(request_id, "echo", {"text": str(request_id)}), cancel(request_id)
        if rng.random() < 0.25:
            peer.send(call, stop)        # one write: the cancel is read before the handler runs
        else:
            # Two writes, the cancel sent after waiting 0 to 1 ms for the answer: before the
            # handler starts, while it runs, as it answers, or after the answer (CN-08).
            peer.send(call)
            peer.arrived_within(lambda f, i=request_id: is_response(f, i),
                                rng.choice((0, 0.0001, 0.0003, 0.0006, 0.001)))
            peer.send(stop)
    peer.send(request("alive", "ping"))
    peer.wait_for(lambda f: is_response(f, "alive"), timeout=20)
    frames = peer.finish()
    per_id = Counter(f["id"] for f in frames if "result" in f or "error" in f)
    answered = sum(1 for i in ids if per_id[i])
    print(f"cancel vs completion on the wire: {answered} answered, {1000 - answered} silent")
    assert 0 < answered < 1000              # both sides of the race were exercised
    assert per_id["alive"] == 1
    assert all(per_id[i] <= 1 for i in ids), [i for i in ids if per_id[i] > 1]
    assert not [i for i in per_id if i not in ids and i not in ("init", "alive")]
    for frame in frames:
        if frame.get("id") in ids and "result" in frame:        # never cross-wired
            assert frame["result"]["content"][0]["text"] == str(frame["id"])


@pytest.mark.spec("CN-01", "CN-02", "CN-07", "CN-08")
def test_a_thousand_client_cancels_racing_completion_each_end_in_one_outcome():
    """I1: 1000 call_tool_async + cancel races; each call ends in exactly one outcome, and
    nothing is left in the client's pending map."""
    counts = Counter()
    lock = threading.Lock()
    failures = []

    def race(client, seed, n):
        rng = random.Random(seed)
        for i in range(n):
            handle = client.call_tool_async("echo", {"text": f"{seed}-{i}"}, timeout=10)
            # Vary the race; every tenth call waits for its answer, so that both outcomes
            # occur however loaded the machine is (the assertion below needs both).
            handle.wait(5.0 if i % 10 == 0 else rng.choice((0, 0, 0.0002, 0.0005, 0.001, 0.002)))
            ended_it = handle.cancel("race")
            kind, value = outcome(handle)
            if kind == "result" and not ended_it and text_of(value) == f"{seed}-{i}":
                key = "answered"
            elif kind == "error" and ended_it and isinstance(value, RequestCancelled):
                key = "cancelled"
            else:
                key = "wrong"
                failures.append((handle.id, ended_it, kind, value))
            with lock:
                counts[key] += 1

    with spawn() as client:
        threads = [threading.Thread(target=race, args=(client, seed, 250)) for seed in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not any(t.is_alive() for t in threads)
        assert failures == []
        assert sum(counts.values()) == 1000
        assert counts["answered"] and counts["cancelled"]     # both sides of the race
        client.ping()
        assert text_of(client.call_tool("echo", {"text": "after"})) == "after"
        assert client._session._requests == {}
        assert client._session.connection.pending_ids == ()


#: A server with ONE worker, a tool that holds it until cancelled and records each run, and a
#: tool that returns those records: for a request cancelled while it waits for a worker.
QUEUE_LAUNCHER = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from mcp_ref.server import Server

server = Server("queue", max_workers=1)
runs = []
TAG = {"type": "object", "properties": {"tag": {"type": "string"}}, "required": ["tag"]}

@server.tool(name="hold", description="Record the run; hold the worker until cancelled.",
             input_schema=TAG)
def hold(arguments, context):
    runs.append(arguments["tag"])
    context.progress(1)                     # tells the client that the handler runs
    context.wait_cancelled(10.0)
    return "held"

@server.tool(name="runs", description="The tags of every hold that ran.")
def runs_tool(arguments, context):
    return json.dumps(runs)

sys.exit(server.run_stdio())
"""


@pytest.mark.spec("CN-05", "CN-11")
def test_a_request_cancelled_while_it_waits_for_a_worker_is_never_run():
    # CN-05/CN-11: on a cancel the receiver stops processing; a request whose handler has not
    # started yet must not start at all (a tool with side effects would otherwise still run).
    with spawn([sys.executable, "-c", QUEUE_LAUNCHER, ROOT]) as client:
        running = threading.Event()
        first = client.call_tool_async("hold", {"tag": "first"}, timeout=30,
                                       on_progress=lambda *a: running.set())
        assert running.wait(5), "the first handler did not start"
        queued = client.call_tool_async("hold", {"tag": "queued"}, timeout=30)
        # The server reads in order: the queued request's cancel is processed before the
        # first one's, so the worker is still busy with "first" when "queued" is cancelled.
        assert queued.cancel("no longer needed") is True
        assert first.cancel("done") is True
        # One worker, first in first out: "runs" is handled after the queued request's turn.
        assert json.loads(text_of(client.call_tool("runs", timeout=10))) == ["first"]


# ================================================================================================
# SC-15: progress
# ================================================================================================

@pytest.mark.spec("PR-01", "PR-02", "PR-07")
@pytest.mark.parametrize("token", ["tok-é", 0, 2 ** 40], ids=["str", "zero", "2**40"])
def test_progress_tokens_round_trip_exactly_through_the_client(token):
    calls = []
    with spawn(SERVE_ALL_PROGRESS) as client:
        result = client.call_tool("slow", {"seconds": 0.2, "steps": 4}, progress_token=token,
                                  on_progress=lambda *a: calls.append(a))
    assert text_of(result) == "slept 0.2 s in 4 steps"
    # The client matches a token by value *and* type, so these calls prove the exact echo;
    # they come in order, before the result.
    assert calls == [(step, 4, f"step {step}/4") for step in (1, 2, 3, 4)]


@pytest.mark.spec("PR-01", "PR-02", "PR-05", "PR-08", "PR-13", "PR-14")
def test_progress_tokens_are_echoed_with_type_and_value_on_the_wire(raw_peer):
    peer = raw_peer(SERVE_ALL_PROGRESS)
    peer.initialize()
    tokens = {2: "tok-é", 3: 0, 4: 2 ** 40, 5: "3"}
    for request_id, token in tokens.items():
        peer.send(tool_call(request_id, "slow", {"seconds": 0.1, "steps": 3}, token=token))
    peer.send(tool_call(6, "slow", {"seconds": 0.1, "steps": 3}))            # no token
    for request_id in (*tokens, 6):
        peer.wait_for(lambda f, i=request_id: is_response(f, i))
    frames = peer.finish()
    progress = [f for f in frames if f.get("method") == "notifications/progress"]
    assert len(progress) == 3 * len(tokens)                # none for the call without a token
    for request_id, token in tokens.items():
        mine = [i for i, f in enumerate(frames) if is_progress(f, token)]
        assert [frames[i]["params"]["progress"] for i in mine] == [1, 2, 3]
        answered = next(i for i, f in enumerate(frames) if is_response(f, request_id))
        assert max(mine) < answered                        # nothing after the response


@pytest.mark.spec("TO-04", "TO-05")
def test_progress_resets_the_timeout(tmp_path):
    with spawn(timing("plain", tmp_path / "wire.jsonl")) as client:
        beats = []
        started = time.monotonic()
        # Beats 0.2 s apart against a 1 s timeout: a beat may come 0.8 s late on a loaded
        # machine (0.5 s left 0.3 s, D-97); the calls still outlive their timeout.
        result = client.call_tool("heartbeat", {"interval": 0.2, "count": 7}, timeout=1.0,
                                  reset_on_progress=True, on_progress=lambda *a: beats.append(a))
        assert text_of(result) == "7 beats"
        assert time.monotonic() - started > 1.0 + SLACK        # survived past its timeout
        assert [b[0] for b in beats] == [1, 2, 3, 4, 5, 6, 7]

        # reset_on_progress asks for progress by itself: no callback needed for the reset.
        started = time.monotonic()
        assert text_of(client.call_tool("heartbeat", {"interval": 0.2, "count": 6},
                                        timeout=1.0, reset_on_progress=True)) == "6 beats"
        assert time.monotonic() - started > 1.0 + SLACK


@pytest.mark.spec("TO-05", "TO-02")
def test_progress_never_extends_a_call_past_its_maximum_total(tmp_path):
    log = tmp_path / "wire.jsonl"
    with spawn(timing("plain", log)) as client:
        capped_at = time.monotonic()
        handle = client.call_tool_async("heartbeat", {"interval": 0.2, "count": 50},
                                        timeout=1.0, reset_on_progress=True,   # 0.8 s to
                                        max_total_timeout=1.5)                 # spare (D-97)
        with pytest.raises(RequestTimeout) as info:
            handle.result()
        assert_near(time.monotonic() - capped_at, 1.5)
        assert info.value.timeout == 1.5 and "maximum total time" in str(info.value)

        # Progress that stops: the call fails one timeout after the last beat.
        started = time.monotonic()
        with pytest.raises(RequestTimeout) as info:
            client.call_tool("heartbeat", {"interval": 0.2, "count": 3, "answer": False},
                             timeout=1.0, reset_on_progress=True)
        assert_near(time.monotonic() - started, 0.6 + 1.0)
        assert info.value.timeout == 1.0                       # the timeout, not the cap
    cancels = cancels_for(read_log(log), handle.id)
    assert len(cancels) == 1 and cancels[0]["got"]["params"]["reason"]
    assert_near(cancels[0]["t"] - capped_at, 1.5)         # on the wire at the cap


@pytest.mark.spec("TO-05")
def test_reset_on_progress_always_has_a_maximum_total():
    with spawn() as client:
        handle = client.call_tool_async("echo", {"text": "x"}, reset_on_progress=True)
        assert handle.max_total == DEFAULT_MAX_TOTAL_TIMEOUT
        handle.result()
        plain = client.call_tool_async("echo", {"text": "x"}, timeout=None)
        assert plain.timeout is None and plain.max_total is None     # no hidden cap
        plain.result()
        explicit = client.call_tool_async("echo", {"text": "x"}, timeout=None,
                                          max_total_timeout=DEFAULT_MAX_TOTAL_TIMEOUT)
        assert explicit.max_total == DEFAULT_MAX_TOTAL_TIMEOUT        # asked for, kept
        explicit.result()
        with pytest.raises(ValueError):
            client.call_tool("echo", {"text": "x"}, reset_on_progress=True,
                             max_total_timeout=None)
        assert client._session._requests == {}
    with spawn(max_total_timeout=None) as client:
        with pytest.raises(ValueError):
            client.call_tool("echo", {"text": "x"}, reset_on_progress=True)
        assert text_of(client.call_tool("echo", {"text": "y"})) == "y"


@pytest.mark.spec("PR-11", "PR-13", "CN-08")
def test_progress_after_the_response_and_for_unknown_tokens_is_dropped_silently(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="mcp_ref")
    calls = []
    with spawn(timing("plain", tmp_path / "wire.jsonl")) as client:
        result = client.call_tool("stray", on_progress=lambda *a: calls.append(a))
        assert text_of(result) == "stray done"
        client.ping()      # the progress written after the answer has been read by now
        assert text_of(client.call_tool("echo", {"text": "ok"})) == "ok"
    assert calls == [(0.5, 1, None)]
    dropped = [r for r in caplog.records
               if r.getMessage().startswith("dropped: progress for unknown or finished token")]
    assert len(dropped) == 2 and all(r.levelno == logging.DEBUG for r in dropped)
    assert no_warnings(caplog) == []


def _frames(written):
    return [json.loads(line) for data in written for line in data.splitlines() if line]


@pytest.mark.spec("PR-05", "PR-08", "PR-13", "CN-23")
def test_context_progress_refuses_non_increasing_values_and_goes_quiet_when_done():
    written = []
    connection = Connection(Role.SERVER, capabilities={"tools": {}, "logging": {}})
    session = Session(connection, written.append, request_timeout=None, max_total_timeout=None)

    def feed(*frames):
        handled = []
        session.feed(b"".join(json.dumps(f).encode() + b"\n" for f in frames), handled.append)
        return handled

    feed(request(1, "initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                   "clientInfo": {"name": "t", "version": "0"}}),
         {"jsonrpc": "2.0", "method": "notifications/initialized"})
    events = feed(tool_call(7, "x", token="t7"), tool_call(8, "x", token="t8"),
                  tool_call(9, "x"))
    contexts = {e.id: Context(session, e) for e in events if isinstance(e, ev.RequestReceived)}
    written.clear()

    done = contexts[7]
    assert done.progress(1, 10, "first") is True
    for bad in (1, 0.5):
        with pytest.raises(LocalProtocolError) as info:
            done.progress(bad)
        assert info.value.catalogue_id == "PR-05"
    assert done.progress(2.5) is True
    session.respond(7, {"content": []})
    assert done.progress(3) is False                       # completed: nothing sent (PR-13)

    cancelled = contexts[8]
    assert cancelled.progress(1) is True
    feed(cancel(8, "stop"))
    assert cancelled.progress(2) is False                  # cancelled: nothing sent (CN-23)
    session.respond(8, {"content": []})                    # and no response (CN-05)

    assert contexts[9].progress(1) is False                # no token: no progress (PR-08)

    frames = _frames(written)
    assert [(f.get("method"), f.get("id"), f.get("params", {}).get("progress")) for f in frames] \
        == [("notifications/progress", None, 1), ("notifications/progress", None, 2.5),
            (None, 7, None), ("notifications/progress", None, 1)]


@pytest.mark.spec("PR-12")
def test_context_progress_is_rate_limited_by_the_sessions_clock():
    """The shell reads its clock (injected here) and the core decides; Context.progress()
    says False for a progress it did not send."""
    written = []
    times = iter([10.0, 10.25, 10.5, 11.0, 11.25, 11.5])
    connection = Connection(Role.SERVER, capabilities={"tools": {}})
    session = Session(connection, written.append, request_timeout=None, max_total_timeout=None,
                      progress_interval=1.0, clock=lambda: next(times))
    handled = []
    session.feed(b"".join(json.dumps(f).encode() + b"\n" for f in (
        request(1, "initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                  "clientInfo": {"name": "t", "version": "0"}}),
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        tool_call(7, "x", token="t7"))), handled.append)
    (context,) = [Context(session, e) for e in handled if isinstance(e, ev.RequestReceived)]
    written.clear()
    sent = [context.progress(p, total=6) for p in (1, 2, 3, 4, 5, 6)]
    assert sent == [True, False, False, True, False, True]   # 6 reaches total: always sent
    assert [f["params"]["progress"] for f in _frames(written)] == [1, 4, 6]


@pytest.mark.spec("PR-12", "PR-08", "LG-02")
def test_what_will_not_be_sent_does_not_wait_for_room_in_the_outbox():
    """D-38, D-47: a handler's frame first waits for room in the outbox while the client reads
    slowly; a progress the rate limit skips, a progress on a request without a token, or a log
    below the client's level writes nothing, so it does not wait. Here the outbox never has
    room, and only what is really sent is held up (each wait is recorded, then let through)."""
    written, waits = [], []
    times = iter([10.0, 10.25, 11.5, 11.75])
    connection = Connection(Role.SERVER, capabilities={"tools": {}, "logging": {}})
    session = Session(connection, written.append, request_timeout=None, max_total_timeout=None,
                      progress_interval=1.0, clock=lambda: next(times),
                      wait_for_room=lambda deadline: waits.append(deadline) or True)
    handled = []
    session.feed(b"".join(json.dumps(f).encode() + b"\n" for f in (
        request(1, "initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                  "clientInfo": {"name": "t", "version": "0"}}),
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "logging/setLevel", "params": {"level": "warning"}},
        tool_call(7, "x", token="t7"), tool_call(8, "x"))), handled.append)
    with_token, without = [Context(session, e) for e in handled
                           if isinstance(e, ev.RequestReceived) and e.method == "tools/call"]
    written.clear()
    waited = []
    for step in (lambda: with_token.progress(1),            # the first: sent
                 lambda: with_token.progress(2),            # 0.25 s later: skipped (PR-12)
                 lambda: with_token.progress(3),            # 1.5 s after the first: sent
                 lambda: without.progress(1),               # no token (PR-08)
                 lambda: with_token.log("info", "quiet"),   # below "warning" (LG-02)
                 lambda: with_token.log("error", "loud")):
        before = len(waits)
        step()
        waited.append(len(waits) > before)
    assert waited == [True, False, True, False, False, True]
    assert [f["params"].get("progress", f["params"].get("data")) for f in _frames(written)] \
        == [1, 3, "loud"]


#: A server whose ``flood`` tool calls ``context.progress()`` 1000 times in a tight loop
#: and returns how long that took (argv: ROOT, and the progress interval, or "default").
#: Each step does ``work`` seconds of work (a sleep standing for it: the loop then lasts a few
#: intervals, so that some progress between the first and the last is due).
FLOOD = r'''
import sys, time
sys.path.insert(0, sys.argv[1])
from mcp_ref.server import Server

options = {} if sys.argv[2] == "default" else {"progress_interval": float(sys.argv[2])}
server = Server("flood", **options)

@server.tool(name="flood", description="1000 progress calls in a tight loop.",
             input_schema={"type": "object", "properties": {"work": {"type": "number"}}})
def flood(arguments, context):
    started = time.monotonic()
    for step in range(1, 1001):
        time.sleep(arguments.get("work", 0))
        context.progress(step, total=1000)
    return repr(time.monotonic() - started)

sys.exit(server.run_stdio())
'''


@pytest.mark.spec("PR-12", "PR-05", "PR-13")
def test_a_tight_loop_of_progress_sends_far_fewer_notifications_and_the_last_one():
    from mcp_ref.server import DEFAULT_PROGRESS_INTERVAL
    seen = []
    with spawn([sys.executable, "-c", FLOOD, ROOT, "default"]) as client:
        result = client.call_tool("flood", {"work": 0.0002}, timeout=30,
                                  on_progress=lambda p, t, m: seen.append(p))
    elapsed = float(text_of(result))
    assert seen[0] == 1 and seen[-1] == 1000             # the first and the final state
    assert seen == sorted(set(seen))                     # still increasing (PR-05)
    # Every notification but the first and the last is one interval after the one before.
    assert len(seen) <= 2 + elapsed / DEFAULT_PROGRESS_INTERVAL, (len(seen), elapsed)
    assert len(seen) < 200, (len(seen), elapsed)         # far fewer than 1000
    # An interval of 0 (Server(progress_interval=0)) sends them all.
    every = []
    with spawn([sys.executable, "-c", FLOOD, ROOT, "0"]) as client:
        client.call_tool("flood", {}, timeout=30, on_progress=lambda p, t, m: every.append(p))
    assert every == list(range(1, 1001))


@pytest.mark.spec("PR-12")
@pytest.mark.parametrize("bad", [-0.01, float("nan"), "0.1", None, True])
def test_the_progress_interval_must_be_a_number_of_seconds(bad):
    from mcp_ref.server import Server
    with pytest.raises(ValueError, match="progress interval"):
        Server("x", progress_interval=bad)
    assert Server("x", progress_interval=0).progress_interval == 0.0


# ================================================================================================
# SC-16: responsiveness while handlers are busy
# ================================================================================================

@pytest.mark.spec("PG-02", "CN-05")
def test_ping_is_answered_promptly_while_every_worker_is_busy():
    with spawn() as client:          # the reference server: 4 workers
        running = threading.Semaphore(0)
        slow = [client.call_tool_async("slow", {"seconds": 5, "steps": 50},
                                       on_progress=lambda *a: running.release())
                for _ in range(6)]   # 4 running, 2 queued
        for _ in range(4):
            assert running.acquire(timeout=5)
        round_trips = []
        for _ in range(10):
            started = time.monotonic()
            client.ping(timeout=2)
            round_trips.append(time.monotonic() - started)
        assert max(round_trips) < 0.2, round_trips
        assert not any(handle.done() for handle in slow)
        started = time.monotonic()
        assert all(handle.cancel("done measuring") for handle in slow)
        assert time.monotonic() - started < 0.2
        client.ping()
        assert text_of(client.call_tool("echo", {"text": "free"})) == "free"


@pytest.mark.spec("BP-07")
def test_out_of_order_completion_is_matched_to_each_caller():
    with spawn() as client:
        long = client.call_tool_async("slow", {"seconds": 0.8, "steps": 2})
        medium = client.call_tool_async("slow", {"seconds": 0.3, "steps": 1})
        short = client.call_tool_async("echo", {"text": "short"})
        assert text_of(short.result()) == "short"
        assert not long.done()
        assert text_of(medium.result()) == "slept 0.3 s in 1 steps"
        assert not long.done()
        assert text_of(long.result()) == "slept 0.8 s in 2 steps"


@pytest.mark.spec("PG-02")
def test_a_full_pool_answers_the_overflow_request_at_once():
    """D-11. The overflow is a tool that runs on a worker: echo, inline since D-70, runs on
    the reader and counts against no limit, so it is still answered."""
    quick = {"seconds": 0, "steps": 1}
    with spawn(launcher(max_workers=2, max_in_flight=2)) as client:
        busy = [client.call_tool_async("slow", {"seconds": 1.0, "steps": 2}) for _ in range(2)]
        started = time.monotonic()
        with pytest.raises(PeerError) as info:
            client.call_tool("slow", quick, timeout=5)
        assert time.monotonic() - started < 0.5                  # an answer, not a hang
        assert info.value.code == -32603                         # decision D-11
        assert info.value.message == "Server busy: 2 requests already in flight"
        assert info.value.data == {"inFlightLimit": 2}
        client.ping()                                            # the reader is not blocked
        assert text_of(client.call_tool("echo", {"text": "inline"})) == "inline"
        for handle in busy:
            assert text_of(handle.result()) == "slept 1 s in 2 steps"
        assert text_of(client.call_tool("slow", quick)) == "slept 0 s in 1 steps"


# ================================================================================================
# SC-17: the server's requests during a call
# ================================================================================================

@pytest.mark.spec("PG-02", "ER-01")
def test_client_answers_server_ping_and_unknown_request_during_a_call(tmp_path):
    with spawn(timing("plain", tmp_path / "wire.jsonl")) as client:
        report = json.loads(text_of(client.call_tool("ask-client", timeout=10)))
    assert report["ping"]["answer"] == {"jsonrpc": "2.0", "id": "srv-ping", "result": {}}
    assert report["unknown"]["answer"]["id"] == "srv-unknown"
    assert report["unknown"]["answer"]["error"]["code"] == -32601
    assert report["ping"]["ms"] < 200 and report["unknown"]["ms"] < 200, report


# ================================================================================================
# Keepalive (PG-04..PG-11), SC-27
# ================================================================================================

@pytest.mark.spec("PG-04", "PG-05", "PG-09", "PG-11")
def test_keepalive_closes_the_session_when_pings_go_unanswered(tmp_path, caplog):
    caplog.set_level(logging.ERROR, logger="mcp_ref.client")
    log = tmp_path / "wire.jsonl"
    client = spawn(timing("no-ping", log), keepalive_interval=0.3, keepalive_timeout=0.3)
    try:
        started = time.monotonic()
        waiting = client.call_tool_async("never", timeout=None)
        with pytest.raises(ConnectionClosed) as info:
            waiting.result()
        assert_near(time.monotonic() - started, 0.3 + 0.3)     # interval + timeout
        assert f"server pid {client.pid}" in str(info.value)
        assert "keepalive" in str(info.value)
        with pytest.raises(ConnectionClosed):
            client.ping()                                       # later calls fail fast
        assert any(str(client.pid) in r.getMessage() for r in caplog.records)   # PG-11
    finally:
        client.close()
    assert_reaped(client.pid)
    assert received(read_log(log), "ping")


@pytest.mark.spec("TO-01", "TO-02")
def test_a_handle_that_is_only_waited_on_still_times_out(tmp_path):
    """D-64: only result() acted on the deadline. A caller that polled its handle with
    wait() or done() saw it pending for ever: no cancel was sent and the request stayed
    registered. Now the deadline is the deadline, however the handle is watched."""
    log = tmp_path / "wire.jsonl"
    with spawn(timing("plain", log), request_timeout=10) as client:
        pending = client.call_tool_async("never", timeout=0.2)
        assert pending.wait(10) and pending.done()          # ended by its own deadline
        with pytest.raises(RequestTimeout):
            pending.result()
        assert client._session._requests == {}
        unwatched = client.call_tool_async("never", timeout=0.2)
        assert not unwatched.wait(0) and not unwatched.done()   # no outcome yet: False
        assert unwatched.cancel("done with it")
    assert len(cancels_for(read_log(log), pending.id)) == 1


def settled_by_itself(pending, limit=10.0):
    """Wait on the handle's one-shot signal itself, which (unlike result(), wait() or done())
    never acts on the deadline: whatever ends the request here, the caller did not."""
    if pending._settled.acquire(timeout=limit):
        pending._settled.release()
        return True
    return False


@pytest.mark.spec("TO-01", "TO-02")
def test_a_handle_nobody_waits_on_ends_at_its_deadline(tmp_path):
    """D-65: a request nobody waited on stayed registered and uncancelled until close().
    Now the client's reader ends it at its deadline, as a waiter would: one cancel on the
    wire, RequestTimeout for whoever asks later, nothing left in the pending map. The reader,
    reading until the handshake's deadline (30 s) is due, is woken to keep the sooner one."""
    log = tmp_path / "wire.jsonl"
    with spawn(timing("plain", log), request_timeout=10) as client:
        started = time.monotonic()
        unwatched = client.call_tool_async("never", timeout=0.3)
        assert settled_by_itself(unwatched)
        assert time.monotonic() - started >= 0.3            # never before its deadline
        assert client._session._requests == {}
        client.ping()                       # in order: the server has read the cancel
        with pytest.raises(RequestTimeout):
            unwatched.result()
    assert len(cancels_for(read_log(log), unwatched.id)) == 1


@pytest.mark.spec("TO-04", "TO-05")
def test_the_reader_honours_progress_that_moves_a_deadline():
    """D-65: the reader's sweep recomputes each deadline, so progress that restarts the
    clock (TO-04) keeps an unwatched request alive past its first deadline, and it gets its
    answer; the maximum total (TO-05) still holds for one that makes no progress."""
    with spawn() as client:
        moving = client.call_tool_async("slow", {"seconds": 1.2, "steps": 6}, timeout=0.6,
                                        reset_on_progress=True, max_total_timeout=20)
        assert settled_by_itself(moving)
        assert text_of(moving.result()) == "slept 1.2 s in 6 steps"
        capped = client.call_tool_async("slow", {"seconds": 30, "steps": 1}, timeout=5,
                                        reset_on_progress=True, max_total_timeout=0.4)
        assert settled_by_itself(capped)
        with pytest.raises(RequestTimeout, match="maximum total time of 0.4 s"):
            capped.result()


@pytest.mark.spec("TO-01")
def test_a_deadline_weeks_away_does_not_end_the_reader(tmp_path):
    """D-65 review: the reader read until the soonest deadline, and the selector takes at
    most INT_MAX ms (about 24.8 days): a timeout of 30 days, which deadline_seconds accepts,
    raised OverflowError in the reader, and the session died ("the server closed its
    stdout"). No deadline at the handshake, so the first ping's is the reader's wait."""
    month = 30 * 86400.0
    with spawn(timing("plain", tmp_path / "wire.jsonl"), handshake_timeout=None) as client:
        client.ping(timeout=month)          # wakes the reader, whose next read waits a month
        client.ping(timeout=month)
        assert client._reader.is_alive()


@pytest.mark.spec("TO-02", "TO-04")
def test_progress_after_a_deadline_has_passed_does_not_revive_the_request(monkeypatch):
    """D-65 review: sweeps are at least 0.1 s apart, so a deadline can pass a little before
    the reader's next sweep. Progress read in that gap restarted the clock of a request whose
    time was already up, and the sweep then found it alive: a request nobody waits on could
    outlive its deadline by a whole timeout, again and again. Progress resets a clock still
    running (TO-04), never one that has run out (TO-02). A clock the test sets, so the
    order is exact: the reader reads, sweeps (too soon after the last), then feeds."""
    clock = [1000.0]
    monkeypatch.setattr(session_module, "time", type("Clock", (), {
        "monotonic": staticmethod(lambda: clock[0])}))
    pair = handshake()
    written = []
    session = Session(pair.client, written.append, request_timeout=None, max_total_timeout=None)
    first = session.send_request("tools/call", {"name": "a"}, timeout=0.05)
    resetting = session.send_request("tools/call", {"name": "b"}, timeout=0.1,
                                     reset_on_progress=True, max_total_timeout=60)
    clock[0] = 1000.06
    session.sweep()                         # ends the first; the next sweep is 0.1 s away
    assert first.done() and not resetting.done()
    clock[0] = 1000.12                      # the second's deadline (1000.1) has passed
    session.sweep()                         # the reader read the progress: too soon to sweep
    progress = {"jsonrpc": "2.0", "method": "notifications/progress",
                "params": {"progressToken": resetting.id, "progress": 1}}
    session.feed(json.dumps(progress).encode() + b"\n", lambda event: None)
    clock[0] = 1000.16
    session.sweep()
    assert resetting._done, "progress after its deadline gave the request a new one"
    with pytest.raises(RequestTimeout):
        resetting.result()
    cancelled = [f["params"]["requestId"] for f in _frames(written)
                 if f.get("method") == "notifications/cancelled"]
    assert cancelled == [first.id, resetting.id]


@pytest.mark.spec("TO-01")
def test_a_waiter_still_sees_the_outcome_when_another_waiter_kept_its_wake_up(monkeypatch):
    """D-80 (helper-58's finding): a request's waiters pass one lock along as the signal, each
    taking it and giving it back. A waiter interrupted between the two (KeyboardInterrupt on
    the main thread) kept it, and a waiter on another thread, already blocked, never woke:
    with no deadline it blocked for ever. The state that leaves is made here directly (the
    outcome recorded, the lock still held), once the second waiter has committed to block."""
    monkeypatch.setattr(session_module, "_WAKEUP_SLICE", 0.05)
    session = Session(handshake().client, [].append, request_timeout=None,
                      max_total_timeout=None)
    pending = session.send_request("tools/call", {"name": "a"})

    class Blocking:
        """The request's lock, telling the test when a waiter is about to block on it."""

        def __init__(self, lock):
            self.lock, self.entered = lock, threading.Event()

        def acquire(self, *args, **kwargs):
            self.entered.set()
            return self.lock.acquire(*args, **kwargs)

        def release(self):
            self.lock.release()

    pending._settled = signal = Blocking(pending._settled)
    outcome = []
    waiter = threading.Thread(target=lambda: outcome.append(pending.result()), daemon=True)
    waiter.start()
    assert signal.entered.wait(5)
    with pending._guard:                    # what _settle does, but the wake-up is lost
        pending._result, pending._done = {"content": []}, True
    waiter.join(timeout=5)
    assert not waiter.is_alive(), "a waiter whose wake-up was lost blocked for ever"
    assert outcome == [{"content": []}]


#: A server that closes its stdin on the tool call "last", lives on, and answers that call
#: 0.5 s later: every write of the client's fails with EPIPE meanwhile.
CLOSES_STDIN = r'''
import json, os, sys, time
def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("method") == "initialize":
        send({"jsonrpc": "2.0", "id": msg["id"], "result": {
            "protocolVersion": msg["params"]["protocolVersion"], "capabilities": {"tools": {}},
            "serverInfo": {"name": "closes-stdin", "version": "1"}}})
    elif msg.get("method") == "tools/call" and msg["params"]["name"] == "last":
        break
os.close(0)
time.sleep(0.5)
send({"jsonrpc": "2.0", "id": msg["id"],
      "result": {"content": [{"type": "text", "text": "last"}]}})
time.sleep(60)
'''


@pytest.mark.spec("TO-02")
def test_cancels_the_reader_cannot_write_do_not_hold_it_up():
    """D-65 review: the reader now writes the cancels of expired requests. Once the server
    had closed its stdin (alive, still writing), each write failed with EPIPE and waited
    0.5 s for the server to exit, to name its exit code: twelve unwatched requests held the
    reader for six seconds, and the answer to "last", written 0.5 s after the call, waited
    behind them. A server that outlived its closed stdin by 0.5 s is not waited for again."""
    with spawn([sys.executable, "-c", CLOSES_STDIN], stdin_grace=0.1, term_grace=1) as client:
        unwatched = [client.call_tool_async("never", timeout=0.2) for _ in range(12)]
        started = time.monotonic()
        last = client.call_tool_async("last", timeout=20)
        assert text_of(last.result()) == "last"
        # 0.7 s with the fix, 6.2 s without it (twelve stalls of 0.5 s): a bound far from
        # both, so that a loaded machine does not make it flaky.
        assert time.monotonic() - started < 4.0, "the answer waited behind the cancels"
        assert all(settled_by_itself(handle, 5) for handle in unwatched)


@pytest.mark.spec("CN-01")
def test_a_cancel_whose_reason_is_not_a_string_cancels_nothing():
    """D-64: the reason went out as given ("reason": 123, which the schema refuses). Now
    LocalProtocolError, with the request still running and still cancellable."""
    with spawn() as client:
        pending = client.call_tool_async("slow", {"seconds": 5, "steps": 5})
        with pytest.raises(LocalProtocolError, match="reason is a string"):
            pending.cancel(123)
        assert not pending.done()
        assert pending.cancel("changed my mind")
        with pytest.raises(RequestCancelled):
            pending.result()


@pytest.mark.spec("PG-05", "CN-01")
def test_cancel_all_leaves_the_keepalive_ping_alone(tmp_path):
    """Review of 2026-12-06 (D-64): cancel_all() cancelled the keepalive's own ping, sent the
    user's reason for it, and the keepalive thread took the RequestCancelled for a stop and
    ended: no more pings, nothing logged, the session still OPERATING."""
    log = tmp_path / "wire.jsonl"
    with spawn(timing("slow-ping", log, 0.4), keepalive_interval=0.1,
               keepalive_timeout=5) as client:
        assert text_of(client.call_tool("wait-pings", {"count": 1})) == "1 pings"
        assert client.cancel_all("user pressed stop") == 0          # a ping is in flight
        assert text_of(client.call_tool("wait-pings", {"count": 3})) == "3 pings"
        assert client._keepalive.is_alive() and client.state is State.OPERATING
    assert received(read_log(log), "notifications/cancelled") == []


@pytest.mark.spec("PG-04", "PG-12")
def test_keepalive_counts_method_not_found_as_alive(tmp_path):
    with spawn(timing("ping-unknown", tmp_path / "wire.jsonl"), keepalive_interval=0.1,
               keepalive_timeout=0.5) as client:
        assert text_of(client.call_tool("wait-pings", {"count": 3})) == "3 pings"
        assert client.state is State.OPERATING
        assert text_of(client.call_tool("echo", {"text": "alive"})) == "alive"
        assert client._keepalive is not None and client._keepalive.is_alive()
        with pytest.raises(PeerError) as info:
            client.ping()
        assert info.value.code == -32601


@pytest.mark.spec("PG-02", "PG-05")
def test_keepalive_does_not_kill_a_server_busy_in_a_slow_tool():
    with spawn(keepalive_interval=0.1, keepalive_timeout=0.3) as client:
        assert text_of(client.call_tool("slow", {"seconds": 1.0, "steps": 2})) == \
            "slept 1 s in 2 steps"
        assert client._keepalive.is_alive()
        client.ping()
    with spawn() as client:
        assert client._keepalive is None                        # off by default (D-10)


@pytest.mark.spec("PG-06", "PG-07", "PG-08")
@pytest.mark.parametrize("interval, timeout", [
    (-1, 10.0), (float("nan"), 10.0), (float("inf"), 10.0), ("1", 10.0), (True, 10.0),
    (0.1, 0), (0.1, -2.0), (0.1, None)])
def test_client_keepalive_settings_are_checked_before_anything_is_spawned(interval, timeout):
    """PG-06/PG-07 leave both values to the user, but each must be a finite, positive number
    of seconds: a negative interval used to ping without pause (PG-08). The ValueError comes
    before the spawn: a command that does not exist is never tried."""
    with pytest.raises(ValueError, match="keepalive (interval|timeout)"):
        Client.spawn(["/nonexistent/mcp-server"], keepalive_interval=interval,
                     keepalive_timeout=timeout)


@pytest.mark.spec("PG-06")
@pytest.mark.parametrize("off", [None, 0])
def test_client_keepalive_none_or_0_is_off(off):
    with spawn(keepalive_interval=off) as client:
        assert client._keepalive is None
        client.ping()


@pytest.mark.spec("PG-01", "PG-02")
def test_the_reference_server_pings_the_client():
    with spawn() as client:
        text = text_of(client.call_tool("ping_client"))
    assert text.startswith("client answered ping in ")
    assert float(text.split()[-2]) < 200


# --- A peer that stops reading (D-38) -------------------------------------------------------

def _bounded(fn, seconds):
    """Run ``fn`` on a thread; {"result": ...} or {"error": ...}. Fails the test, instead of
    hanging it, if ``fn`` is still blocked after ``seconds``."""
    box = {}

    def run():
        try:
            box["result"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still blocked after {seconds} s"
    return box


@pytest.mark.spec("TO-01", "TO-02", "TR-13")
def test_the_deadline_covers_the_write_when_the_server_stops_reading():
    """D-38 (shell review finding 2): the server stops reading its stdin for good.

    A call with a 4 MiB argument still times out on its deadline: the pipe took what it
    could, the rest waits in the outbox. The next call finds more than OUTBOX_HIGH_WATER
    queued, waits for room within its own deadline, and fails with nothing sent; so does a
    notification, within the session's request timeout. close() drops the queue, says how
    much, and needs SIGTERM for a server that never sees EOF."""
    client = spawn(timing("deaf"), request_timeout=0.3, roots=lambda: [],
                   roots_list_changed=True, stdin_grace=0.2, term_grace=2.0)
    try:
        start = time.monotonic()
        first = _bounded(lambda: client.call_tool("echo", {"text": "y" * (4 << 20)},
                                                  timeout=0.5), 5)
        assert isinstance(first.get("error"), RequestTimeout), first
        assert "got no response" in str(first["error"])
        assert time.monotonic() - start < 0.5 + SLACK
        for attempt in (lambda: client.call_tool("echo", {"text": "small"}),
                        client.roots_changed):
            start = time.monotonic()
            outcome = _bounded(attempt, 5)
            assert isinstance(outcome.get("error"), RequestTimeout), outcome
            assert "could not be sent within its timeout of 0.3 s" in str(outcome["error"])
            assert 0.3 - SLACK <= time.monotonic() - start < 0.3 + SLACK
    finally:
        report = client.close()
    assert report.steps == ("close_stdin", "sigterm")
    assert report.stdin_bytes_discarded > 0


@pytest.mark.spec("TR-06", "PG-02")
def test_a_server_whose_client_stops_reading_keeps_reading_and_ends_on_sigterm():
    """D-38 (shell review finding 3): a client sends 20 000 pings and reads none of the
    pongs. The server's reader answers each without waiting for the client to read (the
    pongs wait in its outbox), so it keeps reading: all our writes complete. SIGTERM then
    ends it at once, with 128 + 15, and no SIGKILL: before, the reader blocked on the full
    pipe, stopped reading, and never saw the signal's wake-up."""
    proc = subprocess.Popen(SERVE, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        proc.stdin.write(json.dumps({"jsonrpc": "2.0", "id": "init", "method": "initialize",
                                     "params": {"protocolVersion": "2025-11-25",
                                                "capabilities": {},
                                                "clientInfo": {"name": "t", "version": "1"}}})
                         .encode() + b"\n")
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline())["id"] == "init"
        pings = b"".join(b'{"jsonrpc":"2.0","id":%d,"method":"ping"}\n' % i
                         for i in range(20000))
        wrote = _bounded(lambda: proc.stdin.write(
            b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n' + pings) and
            proc.stdin.flush(), 10)
        assert "error" not in wrote, wrote
        proc.send_signal(15)
        assert proc.wait(timeout=5) == 128 + 15
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass


@pytest.mark.spec("TO-01", "TO-02")
def test_the_deadline_includes_the_wait_for_room_in_the_outbox():
    """Shell review F4: a request that first waits for room in the outbox (the peer reads
    slowly, D-38) still times out ``timeout`` seconds after it was made, not that long after
    it was finally written: the deadline covers the whole request (TO-01)."""
    pair = handshake()
    never = threading.Event()

    def room_after_a_while(deadline):
        never.wait(0.3)                     # the peer takes 0.3 s to read enough
        return deadline is None or time.monotonic() < deadline

    written = []
    session = Session(pair.client, written.append, request_timeout=None, max_total_timeout=None,
                      wait_for_room=room_after_a_while)
    started = time.monotonic()
    pending = session.send_request("tools/call", {"name": "slow"}, timeout=0.5)
    with pytest.raises(RequestTimeout):
        pending.result()
    assert_near(time.monotonic() - started, 0.5)
    frames = _frames(written)
    assert [f.get("method") for f in frames] == ["tools/call", "notifications/cancelled"]
    assert frames[1]["params"]["requestId"] == pending.id


@pytest.mark.spec("CN-05", "CN-01")
def test_a_question_waiting_for_room_gives_up_soon_after_its_asker_is_cancelled():
    """D-43: the client reads nothing, so the handler's question waits for room (D-38);
    then the client cancels the call. The wait is on the outbox, which a cancel does not
    wake, so the question looks every 0.1 s: the handler gets RequestCancelled within a
    second, with no room ever coming, and the question is never written. Before, it waited
    for room or for its own 10 s deadline."""
    pair = handshake()
    pair.request(Role.CLIENT, "tools/call", {"name": "ask"})
    (received,) = [e for e in pair.pump().server_events if isinstance(e, ev.RequestReceived)]
    waiting = threading.Event()
    never = threading.Event()

    def no_room(deadline):                  # honours its deadline, as Outbox.wait_for_room
        waiting.set()
        return never.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))

    written = []
    session = Session(pair.server, written.append, request_timeout=None, max_total_timeout=None,
                      wait_for_room=no_room)
    context = Context(session, received)
    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(_outcome_of(
        lambda: context.request("ping", timeout=10))), daemon=True)
    thread.start()
    assert waiting.wait(5), "the question never waited for room"
    cancelled_at = time.monotonic()
    context._cancel("changed my mind")
    thread.join(5)
    assert not thread.is_alive()
    assert time.monotonic() - cancelled_at < 1.0, "the question waited on after the cancel"
    assert isinstance(outcome[0], RequestCancelled), outcome
    assert _frames(written) == [] and pair.server.pending_ids == ()


def _outcome_of(call):
    try:
        return call()
    except Exception as exc:                # the outcome is what the test checks
        return exc


@pytest.mark.spec("CN-01", "CN-05")
def test_a_question_whose_asker_is_cancelled_while_it_waits_for_room_is_never_sent():
    """D-43: a question asked after the cancel is never sent. The handler may already be past
    Context.request's first check, waiting for room in the outbox (the client reads slowly,
    D-38), when the client's cancel arrives: once there is room, the question is dropped, not
    written and then cancelled."""
    pair = handshake()
    call_id = pair.request(Role.CLIENT, "tools/call", {"name": "ask"})
    (received,) = [e for e in pair.pump().server_events if isinstance(e, ev.RequestReceived)]
    assert received.id == call_id
    waiting, room = threading.Event(), threading.Event()

    def room_once_the_client_reads(deadline):
        waiting.set()
        return room.wait(10)

    written = []
    session = Session(pair.server, written.append, request_timeout=None, max_total_timeout=None,
                      wait_for_room=room_once_the_client_reads)
    context = Context(session, received)
    outcome = []

    def handler():
        try:
            outcome.append(context.request("ping", timeout=10))
        except Exception as exc:            # the outcome is what the test checks
            outcome.append(exc)

    thread = threading.Thread(target=handler, daemon=True)
    thread.start()
    assert waiting.wait(5), "the question never waited for room"
    context._cancel("changed my mind")      # the reader thread, on the client's cancel
    room.set()
    thread.join(5)
    assert not thread.is_alive()
    assert isinstance(outcome[0], RequestCancelled), outcome
    assert _frames(written) == [], "the question was sent after its asker was cancelled"
    assert pair.server.pending_ids == ()


# ================================================================================================
# Races found by the concurrency review of 2026-12-06 (F1 to F5; F6 is in test_server_keepalive)
# ================================================================================================

class _LogSeen(logging.Handler):
    """Sets ``event`` at the first record that ``predicate`` accepts."""

    def __init__(self, predicate):
        super().__init__(logging.DEBUG)
        self.predicate = predicate
        self.event = threading.Event()

    def emit(self, record):
        if self.predicate(record):
            self.event.set()


def _own_threads(client):
    """The client's own threads that are still alive."""
    return [t.name for t in (client._reader, client._callback_thread, client._notification_thread)
            if t is not None and t.is_alive()]


@pytest.mark.spec("TO-01", "CN-02")
def test_a_response_read_in_time_is_the_result_even_behind_a_slow_callback(tmp_path):
    # F1: the log and the response arrive in one chunk; the log's callback holds the reader
    # past the caller's deadline. The response was read in time: the caller gets it at its
    # deadline (not RequestTimeout 5 s later), and no cancel is sent for an answered request.
    log = tmp_path / "wire.jsonl"
    entered, release = threading.Event(), threading.Event()

    def on_notification(method, params):
        if method == "notifications/message":
            entered.set()
            release.wait(10)

    try:
        with spawn(timing("plain", log), on_notification=on_notification) as client:
            started = time.monotonic()
            handle = client.call_tool_async("burst", {"then": "answer"}, timeout=0.5)
            assert text_of(handle.result()) == "after the log"
            assert_near(time.monotonic() - started, 0.5)
            assert entered.is_set()             # the callback was still running
            release.set()
            client.ping()
            assert client._session._requests == {}
    finally:
        release.set()
    assert cancels_for(read_log(log), handle.id) == []


@pytest.mark.spec("TO-01")
@pytest.mark.parametrize("bad", [float("nan"), 0, -1.5, True, "10"])
def test_a_timeout_no_deadline_can_be_kept_by_is_refused_before_anything_is_sent(tmp_path, bad):
    # F3: NaN never compares as passed (the caller spun at 100 % CPU for ever); 0 or less gives
    # up before the peer can answer. ValueError, with nothing sent and nothing registered.
    log = tmp_path / "wire.jsonl"
    with spawn(timing("plain", log)) as client:
        with pytest.raises(ValueError, match="timeout must be a"):
            client.call_tool_async("echo", {"text": "x"}, timeout=bad)
        with pytest.raises(ValueError, match="max_total_timeout must be a"):
            client.call_tool_async("echo", {"text": "x"}, max_total_timeout=bad)
        assert client._session._requests == {}
        client.ping()
    assert received(read_log(log), "tools/call") == []


@pytest.mark.spec("TO-01")
@pytest.mark.parametrize("option", ["request_timeout", "handshake_timeout", "max_total_timeout"])
def test_spawn_refuses_a_nan_timeout_before_it_starts_anything(option):
    # The program does not exist: a check made after the spawn would raise SpawnError.
    with pytest.raises(ValueError, match=r"timeout must be a positive number of seconds \(inf: "
                                         r"no deadline\), not nan"):
        Client.spawn([os.path.join(ROOT, "no-such-server")], **{option: float("nan")})


@pytest.mark.spec("TO-01")
@pytest.mark.parametrize("huge", [float("inf"), 1e10])
def test_a_timeout_beyond_what_a_wait_can_take_means_no_deadline(tmp_path, huge):
    # F3: past threading.TIMEOUT_MAX, a lock's wait raises OverflowError, once the request was
    # written and registered. Such a timeout is now no deadline at all, like None.
    with spawn(timing("plain", tmp_path / "wire.jsonl")) as client:
        handle = client.call_tool_async("delay", {"seconds": 0.2}, timeout=huge)
        assert handle.timeout is None
        assert text_of(handle.result()) == "delayed"
        waiting = client.call_tool_async("never", timeout=huge)
        canceller = threading.Timer(0.2, waiting.cancel)    # the action, not a synchronisation
        canceller.start()
        try:
            assert waiting.wait(huge) is True               # a wait of 1e10 s, ended by the cancel
        finally:
            canceller.cancel()
        with pytest.raises(RequestCancelled):
            waiting.result()


def test_wait_closed_takes_any_timeout_a_caller_may_pass(tmp_path):
    # Found by the review of the fixes: Event.wait(inf) raised OverflowError.
    with spawn(timing("plain", tmp_path / "wire.jsonl")) as client:
        assert client.wait_closed(float("nan")) is False      # no wait at all
        assert client.wait_closed(-1) is False
        closer = threading.Timer(0.2, client.close)           # the action, not a synchronisation
        closer.start()
        try:
            assert client.wait_closed(float("inf")) is True
        finally:
            closer.cancel()


@pytest.mark.spec("LC-19")
def test_close_from_a_callback_runs_no_later_callback_and_leaves_no_thread(tmp_path):
    # F2: the log and a roots/list request of the server's arrive in one chunk; the log's
    # callback closes the client. The roots handler must not run after close(), and no
    # callback thread may be made that nothing would ever tell to stop.
    closed, ran_after_close = threading.Event(), threading.Event()
    holder = {}

    def on_notification(method, params):
        if method == "notifications/message":
            holder["client"].close()
            closed.set()

    def roots():
        if closed.is_set():
            ran_after_close.set()
        return []

    client = holder["client"] = spawn(timing("plain", tmp_path / "wire.jsonl"),
                                      on_notification=on_notification, roots=roots)
    try:
        handle = client.call_tool_async("burst", {"then": "roots"}, timeout=5)
        assert closed.wait(10) and client.wait_closed(10)
        client._reader.join(5)                  # it goes on from the callback to end of stream
        assert _own_threads(client) == []
        assert client._callback_thread is None  # the request after close() made none
        assert not ran_after_close.is_set()
        with pytest.raises(ConnectionClosed):
            handle.result()
    finally:
        client.close()


@pytest.mark.spec("LC-19")
def test_an_answer_the_exited_server_cannot_get_is_not_blamed_on_the_handler(tmp_path, caplog):
    # F4: the server asks roots/list and exits while the handler runs. The answer has nowhere
    # to go: that is the session ending, not the handler failing (no ERROR, no traceback).
    caplog.set_level(logging.DEBUG, logger="mcp_ref")
    entered, release = threading.Event(), threading.Event()

    def roots():
        entered.set()
        release.wait(10)
        return []

    answered = _LogSeen(lambda record: "'srv-roots'" in record.getMessage())
    logging.getLogger("mcp_ref.client").addHandler(answered)
    client = spawn(timing("plain", tmp_path / "wire.jsonl"), roots=roots)
    try:
        client.call_tool_async("ask-roots-and-exit", timeout=5)
        assert entered.wait(5) and client.wait_closed(5)
        release.set()
        assert answered.event.wait(5), "the callback thread never said what became of the answer"
    finally:
        logging.getLogger("mcp_ref.client").removeHandler(answered)
        release.set()
        client.close()
    assert no_warnings(caplog) == []
    assert any(r.getMessage() == "answer to roots/list 'srv-roots' dropped: the session is closed"
               for r in caplog.records)


@pytest.mark.spec("LC-19")
def test_a_server_request_queued_behind_a_slow_handler_does_not_run_after_close(tmp_path):
    # F2, the queued case (found by the review of the fixes): two roots/list requests arrive
    # together; while the first handler runs, close() is called. The second, already queued
    # for the callback thread, must not run.
    entered, release = threading.Event(), threading.Event()
    ran = []

    def roots():
        ran.append(len(ran) + 1)
        entered.set()
        release.wait(10)
        return []

    client = spawn(timing("plain", tmp_path / "wire.jsonl"), roots=roots)
    closer = threading.Thread(target=client.close, daemon=True)
    try:
        client.call_tool_async("ask-roots-twice", timeout=5)
        assert entered.wait(5)
        closer.start()
        assert client._stop.wait(5)             # close() has begun
    finally:
        release.set()
        closer.join(10)
        client.close()
    assert ran == [1]
    assert _own_threads(client) == []


@pytest.mark.spec("LC-19")
@pytest.mark.parametrize("term_grace", [2.0, float("inf")])
def test_close_from_a_callback_while_another_thread_closes_returns_at_once(tmp_path, caplog,
                                                                          monkeypatch,
                                                                          term_grace):
    # F5: close() holds its lock while it waits for the reader to end; the reader, in a
    # callback, calls close() too. It used to wait for that lock until the first close() gave
    # up on it (5 s) and warned of a thread "still running". Both now get the one report.
    caplog.set_level(logging.DEBUG, logger="mcp_ref")
    entered, ladder_started = threading.Event(), threading.Event()
    holder, reports = {}, []

    def on_notification(method, params):
        if method == "notifications/message":
            entered.set()
            ladder_started.wait(10)             # the other close() holds the lock by now
            reports.append(holder["client"].close())

    # An infinite grace (wait as long as the server takes) bounds nothing: the callback's
    # close() still waits for the report, without OverflowError.
    client = holder["client"] = spawn(timing("plain", tmp_path / "wire.jsonl"),
                                      on_notification=on_notification, term_grace=term_grace)
    process_close = client._process.close

    def close_and_tell(*args, **kwargs):
        ladder_started.set()
        return process_close(*args, **kwargs)

    monkeypatch.setattr(client._process, "close", close_and_tell)
    client.call_tool_async("burst", {"then": "answer"}, timeout=5)
    assert entered.wait(5)
    started = time.monotonic()
    report = client.close()
    assert time.monotonic() - started < 2.5, "close() waited for the callback's close()"
    assert reports == [report]
    assert _own_threads(client) == []
    assert no_warnings(caplog) == []


@pytest.mark.spec("TO-01", "PR-01")
@pytest.mark.parametrize("how", ["ping", "call_tool", "list_tools", "handle"])
def test_a_request_waited_for_in_a_reader_callback_fails_at_once_instead_of_deadlocking(
        tmp_path, how):
    # Client review: on_notification and on_progress run on the reader thread, the one thread
    # that reads answers, so a request they wait for could never get one: it held the reader
    # -- and every other call of the session -- until its deadline (TO-01), or for ever with
    # timeout=None. Like an inline tool's question (D-70), it is refused at once, nothing
    # sent, and the session goes on.
    outcome, seen = [], threading.Event()
    holder = {}

    def ask():
        client = holder["client"]
        try:
            if how == "ping":
                client.ping(timeout=None)
            elif how == "call_tool":
                client.call_tool("echo", {"text": "x"}, timeout=None)
            elif how == "list_tools":
                client.list_tools(timeout=None)
            else:
                client.send_request("ping", timeout=None).result()
        except BaseException as exc:            # whatever it is, the test reports it
            outcome.append(exc)
        finally:
            seen.set()

    def on_notification(method, params):
        if method == "notifications/message":
            ask()

    with spawn(timing("plain", tmp_path / "wire.jsonl"), request_timeout=10,
               on_notification=on_notification) as client:
        holder["client"] = client
        started = time.monotonic()
        handle = client.call_tool_async("burst", {"then": "answer"})
        assert seen.wait(5)
        assert text_of(handle.result()) == "after the log"
        assert time.monotonic() - started < 5       # the timeouts are 10 s and None
        [error] = outcome
        assert isinstance(error, RuntimeError) and "reader thread" in str(error)
        client.ping(timeout=5)                      # the session goes on
        sent = [json.loads(line)["got"].get("method") for line in
                (tmp_path / "wire.jsonl").read_text().splitlines()
                if "got" in json.loads(line)]
        expected = ["initialize", "notifications/initialized", "tools/call", "ping"]
        assert sent == expected if how != "handle" else sent[:3] == expected[:3]


def test_a_handlers_mistyped_option_is_a_type_error_naming_request_and_nothing_is_sent():
    """D-93 (D-91 left it): a handler's ``context.request("ping", tiemout=5)`` was Python's
    TypeError for ``send_request()``, a method the handler never called. It names
    ``request()`` now, before anything is sent, as the client's helpers do (D-91). Its
    options are Session.send_request's keywords but ``unless``, which the Context sets
    itself (its own cancel, D-43): that one was "got multiple values" for send_request()."""
    pair = handshake()
    pair.request(Role.CLIENT, "tools/call", {"name": "ask"})
    (received,) = [e for e in pair.pump().server_events if isinstance(e, ev.RequestReceived)]
    written = []
    session = Session(pair.server, written.append, request_timeout=5, max_total_timeout=None)
    context = Context(session, received)
    for option in ("tiemout", "unless", "max_pages"):
        with pytest.raises(TypeError, match=rf"^request\(\) got an unexpected keyword argument "
                                            rf"'{option}'$"):
            context.request("ping", **{option: 5})
    assert _frames(written) == [] and pair.server.pending_ids == ()


@pytest.mark.spec("TL-08", "CN-01", "TO-02")
def test_a_handles_check_judges_each_result_it_returns_and_nothing_else():
    """D-96 (D-93 read again): ``PendingRequest.check`` runs each time ``result()`` returns a
    result, and only then: ``done()`` and ``wait()`` judge nothing, a cancelled or timed-out
    handle raises its own error without the check, and what the check raises (here not a
    RemoteProtocolError) is what ``result()`` raises, every time it is asked."""
    session = Session(handshake().client, [].append, request_timeout=None,
                      max_total_timeout=None)
    judged = []

    def check(result, stamp):
        judged.append(result)
        raise ValueError("refused by the check")
    answered, cancelled = (session.send_request("tools/call", {"name": name})
                           for name in ("a", "b"))
    timed_out = session.send_request("tools/call", {"name": "c"}, timeout=0.01)
    for handle in (answered, cancelled, timed_out):
        handle.check = check
    for handle in (answered, cancelled):
        response = {"jsonrpc": "2.0", "id": handle.id, "result": {"content": []}}
        if handle is cancelled:
            assert cancelled.cancel("changed my mind")
        session.feed(json.dumps(response).encode() + b"\n", lambda event: None)
    assert answered.done() and answered.wait(0) and judged == []
    for _ in range(2):
        with pytest.raises(ValueError, match="refused by the check"):
            answered.result()
    assert judged == [{"content": []}] * 2
    with pytest.raises(RequestCancelled):
        cancelled.result()
    with pytest.raises(RequestTimeout):
        timed_out.result()                  # its 10 ms deadline: no answer ever comes
    assert len(judged) == 2
