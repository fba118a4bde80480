"""Issue 8: the adversarial reliability scorecard, scenarios SC-01 .. SC-24 (P0 and P1), and
the P2 scenarios SC-25 (parent death without EOF) and SC-28 (an embedded server).

shared/research/reliability-bank.md, section (d). Every test here is one scenario (the SC id
is in its name) and checks the scenario's own pass criteria; the ``inv`` fixture then checks
the invariants I1-I7 after it (tests/rawpipe.py: nothing lost, typed errors, no zombie or
orphan, threads and fds at baseline, bounded memory, bounded time, wire purity).

Two kinds of peer:

* misbehaving servers from the fixture zoo (tests/fixtures/zoo.py), driven by mcp_ref's Client
  (the research bank's "C" tests);
* mcp_ref's reference server (``python3 -m mcp_ref serve``, sometimes through ``LAUNCHER``,
  which adds a few hostile tools), driven over raw pipes by :class:`rawpipe.RawServer` (the
  "S" tests).

Scenarios that earlier test files already prove are not repeated; the scorecard
(``python3 tests/scorecard.py``) runs those tests under their SC id:

=====  ==========================================================================================
SC-02  + test_end_to_end.py::test_shutdown_ladder_takes_each_rung_only_when_needed
SC-04  + test_end_to_end.py::test_server_killed_mid_request_fails_pending_calls_fast,
         test_server_dying_reports_exit_code_and_stderr
SC-06  + test_end_to_end.py::test_stray_output_in_a_handler_never_reaches_the_client
SC-08  + test_fuzz.py (20,000 fuzzed lines; tests/fuzz.py for long runs)
SC-11  test_timeouts_cancel_progress.py (timeouts, session default vs override, slow init)
SC-12  test_timeouts_cancel_progress.py (cancel running / unknown id, 1000 races both ways)
SC-13  + test_end_to_end.py::test_unsupported_version_*, test_handshake_at_each_version
SC-15  test_timeouts_cancel_progress.py (tokens, reset on progress, max total, late progress)
SC-16  test_timeouts_cancel_progress.py (ping while busy, out of order, in-flight cap)
SC-17  test_timeouts_cancel_progress.py (server ping and unknown request during a call)
SC-19  + test_end_to_end.py::test_signal_gives_a_clean_exit_without_traceback_or_half_line
SC-24  + test_end_to_end.py::test_fifty_open_close_cycles_leave_nothing_behind
SC-26  test_supervisor.py (P2, shipped: mcp_ref/supervisor.py)
SC-27  test_timeouts_cancel_progress.py (keepalive; P2)
=====  ==========================================================================================

Nothing sleeps to synchronise: tests wait on frames, events and process exits, each with a
deadline. Where a pause is part of the *input* (a frame split across 500 ms), :func:`pause`
says so.
"""

import contextlib
import errno
import json
import logging
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
import warnings

import pytest

import rawpipe
from rawpipe import MIB, ROOT, SERVE, encode, notification, request, zoo, zoo_events
from mcp_ref.client import Client
from mcp_ref.errors import (ConnectionClosed, McpRefError, MessageTooLarge,
                            RemoteProtocolError, RequestTimeout, SpawnError,
                            UnsupportedProtocolVersion)
from mcp_ref.lifecycle import State
from mcp_ref.server import DEFAULT_DRAIN_TIMEOUT, Server
from mcp_ref.stdio import StdioServerTransport

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the scorecard reads /proc (Linux)")


def pause(seconds):
    """Shape the *input* (split a frame in time); never used to wait for anything."""
    threading.Event().wait(seconds)


def text_of(result):
    return result["content"][0]["text"]


def tool_call(request_id, name, arguments=None, token=None):
    params = {"name": name, "arguments": arguments or {}}
    if token is not None:
        params["_meta"] = {"progressToken": token}
    return request(request_id, "tools/call", params)


def error_code(frame):
    return frame["error"]["code"] if "error" in frame else None


def wait_progress(server):
    """Wait for the first progress notification: the handler that sends it is running."""
    return server.wait_for(lambda f: isinstance(f, dict)
                           and f.get("method") == "notifications/progress")


#: The reference server plus hostile tools (argv: ROOT).
LAUNCHER = r'''
import os, subprocess, sys, threading
sys.path.insert(0, sys.argv[1])
from mcp_ref.reference import build_server

server = build_server()

@server.tool(name="stubborn", description="Ignores its cancel: blocks for `seconds`.",
             input_schema={"type": "object", "properties": {"seconds": {"type": "number"}}})
def stubborn(arguments, context):
    threading.Event().wait(float(arguments.get("seconds", 30)))
    return "stubborn done"

@server.tool(name="noisy", description="Writes to stdout in every way a handler can.")
def noisy(arguments, context):
    print("leak: print")
    os.write(1, b"leak: os.write\n")
    subprocess.run(["echo", "leak: inherited echo"], check=True, timeout=5)
    # A child that reads stdin (RL-31): it must see EOF, not the client's requests.
    child = subprocess.run([sys.executable, "-c",
                            "import sys; print('leak: child read', repr(sys.stdin.read(1)))"],
                           timeout=2)
    print("leak: non-ASCII \u6f22 \U0001f389")
    return "quiet answer (child %d)" % child.returncode

sys.exit(server.run_stdio())
'''


def launcher():
    return [sys.executable, "-c", LAUNCHER, ROOT]


def zoo_logged(inv, tmp_path, *modes):
    """argv of the zoo logging to a file the invariants check (I7, client direction)."""
    log = inv.zoo_log(tmp_path / "zoo.jsonl")
    return zoo(f"log={log}", *modes), log


def got_methods(log):
    return [e["msg"].get("method") for e in zoo_events(log, "got")]


def handshake_times_out(inv, tmp_path, mode):
    """Client.spawn against the zoo in ``mode``, with a 0.5 s handshake timeout: it must fail
    with RequestTimeout for initialize within a second of that deadline (TO-06). Returns the
    zoo's log; the zoo's process is tracked by the invariants."""
    argv, log = zoo_logged(inv, tmp_path, mode)
    started = time.monotonic()
    with pytest.raises(RequestTimeout) as info:
        Client.spawn(argv, handshake_timeout=0.5, stdin_grace=GRACE, term_grace=GRACE)
    assert info.value.method == "initialize"
    assert time.monotonic() - started < 0.5 + 1.0
    [start] = zoo_events(log, "start")
    inv.process(start["pid"])
    return log


# ================================================================================================
# SC-01 (P0): the server at stdin EOF
# ================================================================================================

@pytest.mark.spec("TR-14")
def test_sc01_server_exits_on_stdin_eof_when_idle(inv):
    """SC-01: after the handshake, EOF on stdin: exit 0 on its own, well within 2 s."""
    inv.max_seconds = 15
    server = inv.raw()
    server.initialize()
    server.send_frames(request(1, "ping"))
    server.wait_response(1)
    started = time.monotonic()
    server.close_stdin()
    assert server.wait_exit(2.0) == 0                  # code 0, no signal
    assert time.monotonic() - started < 2.0

    # `server </dev/null`: EOF before anything; it must not wait for anything either.
    started = time.monotonic()
    null = subprocess.run(SERVE, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=10)
    assert null.returncode == 0 and null.stdout == b""
    assert time.monotonic() - started < 2.0


@pytest.mark.spec("TR-14")
@pytest.mark.parametrize("both", [False, True], ids=["stdout-closed", "both-pipes-closed"])
def test_sc01_server_exits_when_the_client_vanishes(inv, both):
    """SC-01 (RL-03): the client's end of the server's stdout is closed (and, in the second
    variant, stdin too): the next write fails with EPIPE and the server exits within 2 s,
    spending under 0.5 s of CPU on the way (no spinning on a dead pipe)."""
    import resource
    server = inv.raw()
    server.initialize()
    before = rawpipe.cpu_seconds(server.pid)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    server.close_stdout()
    server.send_frames(request(1, "ping"))          # its answer meets the closed pipe
    if both:
        server.close_stdin()
    started = time.monotonic()
    assert server.wait_exit(2.0) == 0
    assert time.monotonic() - started < 2.0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)   # the server, now reaped, in total
    spent = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime - before
    assert spent < 0.5, f"{spent:.2f} s of CPU after the client vanished"


@pytest.mark.spec("TR-14", "CN-05", "CN-11")
def test_sc01_in_flight_calls_are_answered_before_exit_and_the_rest_cancelled(inv):
    """SC-01 (RL-02): EOF with calls in flight: the quick ones are answered, the endless ones
    are cancelled at the drain bound, and the server exits 0 before a client's 2 s grace."""
    inv.max_seconds = 15
    server = inv.raw(launcher())
    server.initialize()
    server.send_frames(tool_call(1, "echo", {"text": "quick"}),
                       tool_call(2, "slow", {"seconds": 0.3, "steps": 1}),
                       tool_call(3, "slow", {"seconds": 30, "steps": 30}),   # cooperative
                       tool_call(4, "stubborn", {"seconds": 30}))          # ignores cancel
    server.wait_response(1)
    started = time.monotonic()
    server.close_stdin()
    assert server.wait_exit(5.0) == 0
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"exit took {elapsed:.2f} s: the drain must end before the grace"
    assert text_of(server.wait_response(2, 1)["result"]) == "slept 0.3 s in 1 steps"
    assert server.responses(3) == [] and server.responses(4) == []   # cancelled: no answer
    assert [len(server.responses(i)) for i in (1, 2)] == [1, 1]


@pytest.mark.spec("TR-13", "TR-14")
def test_sc01_client_close_with_a_call_in_flight_needs_no_signal(inv):
    """SC-01 seen from the client: the server's drain fits in the first rung of the ladder."""
    inv.max_seconds = 15
    client = inv.spawn(SERVE)
    handle = client.call_tool_async("slow", {"seconds": 30, "steps": 30}, timeout=None)
    inv.handles(handle)
    client.ping()
    report = client.close()
    assert report.steps == ("close_stdin",) and report.exit_code == 0, report
    assert report.total_seconds < 2.0
    with pytest.raises(ConnectionClosed):
        handle.result()


# ================================================================================================
# SC-02 (P0): the client's shutdown ladder
# ================================================================================================

GRACE = 0.5


@pytest.mark.spec("TR-13")
@pytest.mark.parametrize("modes,steps,low,high", [
    ((), ("close_stdin",), 0.0, GRACE),
    (("ignore-eof",), ("close_stdin", "sigterm"), GRACE, 2 * GRACE),
    (("ignore-eof", "ignore-sigterm"), ("close_stdin", "sigterm", "sigkill"), 2 * GRACE,
     3 * GRACE),
    (("ignore-eof", "ignore-sigterm", "fork-grandchild"), ("close_stdin", "sigterm", "sigkill"),
     2 * GRACE, 3 * GRACE),
], ids=["echo", "ignore-eof", "ignore-eof+ignore-sigterm", "fork-grandchild"])
def test_sc02_shutdown_ladder_takes_each_rung_only_when_needed(inv, tmp_path, modes, steps,
                                                               low, high):
    """SC-02: stdin -> SIGTERM -> SIGKILL, each rung only when needed, the whole group gone."""
    argv, log = zoo_logged(inv, tmp_path, *modes)
    client = inv.spawn(argv, stdin_grace=GRACE, term_grace=GRACE)
    client.ping()
    report = client.close()
    assert report.steps == steps
    assert low - 0.05 <= report.total_seconds < high + 0.3, report
    for rung in steps[:-1]:                     # each rung waited its grace, no more
        assert GRACE - 0.05 <= report.durations[rung] < GRACE + 0.2, report
    kinds = [e["event"] for e in zoo_events(log)]
    assert "eof" in kinds                                          # stdin was closed first
    assert ("sigterm" in kinds or "sigterm-ignored" in kinds) == ("sigterm" in steps)
    if "sigkill" in steps:
        assert report.signal == signal.SIGKILL
    else:
        assert report.exit_code == (0 if steps == ("close_stdin",) else 143)
    for grandchild in zoo_events(log, "grandchild"):
        inv.process(grandchild["grandchild"], client.pid)          # I3: gone with the group
        assert rawpipe.wait_pid_gone(grandchild["grandchild"], 5)


@pytest.mark.spec("TR-13")
def test_sc02_a_server_exiting_on_eof_is_not_signalled_though_a_grandchild_holds_its_pipes(
        inv, tmp_path):
    """SC-02 (RL-11 a): exit is judged by waitpid, not by pipe EOF: no SIGTERM for a server
    that exited, and its leftover grandchild is killed through the pgid saved at spawn."""
    argv, log = zoo_logged(inv, tmp_path, "fork-grandchild")
    client = inv.spawn(argv, stdin_grace=2.0, term_grace=2.0)
    client.ping()
    report = client.close()
    assert report.steps == ("close_stdin",) and report.exit_code == 0, report
    assert report.total_seconds < 2.0                          # not the grace: not "hung"
    assert report.group_killed is True
    assert "sigterm" not in [e["event"] for e in zoo_events(log)]
    [grandchild] = zoo_events(log, "grandchild")
    assert rawpipe.wait_pid_gone(grandchild["grandchild"], 5)


@pytest.mark.spec("TR-13", "TR-15")
def test_sc02_the_group_is_killed_even_after_the_leader_was_killed_first(inv, tmp_path):
    """SC-02 (RL-11 b), SC-04: the leader dies first. Its pending call fails within 1 s
    although the grandchild still holds stdout open (the session ends with the server, not
    with the pipe), and close() still reaches the survivor through the saved pgid."""
    argv, log = zoo_logged(inv, tmp_path, "fork-grandchild")
    client = inv.spawn(argv)
    pending = client.call_tool_async("never", timeout=None)
    inv.handles(pending)
    client.ping()
    [grandchild] = zoo_events(log, "grandchild")
    os.kill(client.pid, signal.SIGKILL)
    started = time.monotonic()
    with pytest.raises(ConnectionClosed) as info:
        pending.result()
    assert time.monotonic() - started < 1.0
    assert info.value.signal == signal.SIGKILL
    assert not rawpipe.wait_pid_gone(grandchild["grandchild"], 0)   # still running, until...
    report = client.close()
    assert report.group_killed is True
    assert rawpipe.wait_pid_gone(grandchild["grandchild"], 5)


# ================================================================================================
# SC-03 (P0): exceptions and interrupts during connect and during a call
# ================================================================================================

class Boom(Exception):
    pass


@pytest.mark.spec("TR-13")
def test_sc03_an_exception_inside_the_with_block_reaps_the_server(inv, tmp_path):
    """SC-03: the original exception propagates; the pending call ends ConnectionClosed."""
    argv, _ = zoo_logged(inv, tmp_path)
    with pytest.raises(Boom):
        with inv.spawn(argv, stdin_grace=GRACE, term_grace=GRACE) as client:
            handle = client.call_tool_async("never", timeout=None)
            inv.handles(handle)
            raise Boom()
    with pytest.raises(ConnectionClosed):
        handle.result()


@pytest.mark.spec("TO-06", "CN-03", "LC-20")
def test_sc03_a_garbage_answer_to_initialize_fails_connect_and_reaps(inv, tmp_path):
    """SC-03 (RL-12 2): initialize answered with garbage, then silence: a typed timeout."""
    log = handshake_times_out(inv, tmp_path, "garbage-init")
    assert "notifications/cancelled" not in got_methods(log)         # CN-03


class _Interrupter:
    """Raise KeyboardInterrupt in the main thread when a server stderr line contains a text:
    a Ctrl-C at a chosen moment. Uses SIGUSR1 so pytest's own SIGINT handling stays out."""

    def __init__(self, text, ready=None):
        self.text = text
        #: Set by the test once it is about to block: the Ctrl-C waits for it (up to 5 s), so
        #: that it lands in the wait under test, not before it on a loaded machine.
        self.ready = ready
        self.seen = threading.Event()
        self.fired = threading.Event()
        self._handler = logging.Handler()
        self._handler.emit = self._emit
        self._logger = logging.getLogger("mcp_ref.server_stderr")

    def _emit(self, record):
        if self.text in record.getMessage() and not self.seen.is_set():
            self.seen.set()
            threading.Thread(target=self._fire, daemon=True).start()

    def _fire(self):
        if self.ready is not None:
            self.ready.wait(5)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)
        self.fired.set()

    @staticmethod
    def _raise(signum, frame):
        raise KeyboardInterrupt()

    def __enter__(self):
        self._level = self._logger.level
        self._logger.setLevel(logging.INFO)
        self._logger.addHandler(self._handler)
        self._previous = signal.signal(signal.SIGUSR1, self._raise)
        return self

    def __exit__(self, *exc):
        assert self.fired.wait(5)
        self._logger.removeHandler(self._handler)
        self._logger.setLevel(self._level)
        signal.signal(signal.SIGUSR1, self._previous)


@pytest.mark.spec("TR-13", "CN-03")
def test_sc03_ctrl_c_during_connect_reaps_the_server(inv, tmp_path):
    """SC-03: KeyboardInterrupt while initialize is pending propagates; nothing is left.

    No race with the handshake's answer (D-86): the zoo writes "zoo: initialize" to stderr
    when it reads initialize and answers 30 s later, and the Ctrl-C is sent as soon as that
    line is seen. spawn() cannot return before the answer, so the Ctrl-C can only land inside
    it; a Ctrl-C held up past the answer would fail this test (no KeyboardInterrupt, or too
    slow), never pass it. The traceback shows where it landed: in the handshake."""
    argv, log = zoo_logged(inv, tmp_path, "slow-init=30")
    started = time.monotonic()
    with _Interrupter("zoo: initialize"):
        with pytest.raises(KeyboardInterrupt) as interrupted:
            Client.spawn(argv, stdin_grace=GRACE, term_grace=GRACE)
    assert time.monotonic() - started < 5
    assert "_handshake" in [entry.name for entry in interrupted.traceback]
    [start] = zoo_events(log, "start")
    inv.process(start["pid"])
    assert "eof" in [e["event"] for e in zoo_events(log)]           # shut down politely


@pytest.mark.spec("TR-13")
def test_sc03_ctrl_c_during_a_call_propagates_and_ends_the_call(inv, tmp_path):
    """SC-03: KeyboardInterrupt while the caller waits for a result."""
    argv, _ = zoo_logged(inv, tmp_path)
    waiting = threading.Event()
    with _Interrupter("zoo: call 1", ready=waiting):
        with pytest.raises(KeyboardInterrupt):
            with inv.spawn(argv, stdin_grace=GRACE, term_grace=GRACE) as client:
                handle = client.call_tool_async("never", timeout=None)
                inv.handles(handle)
                # The server may log the call before this thread gets here (a loaded
                # machine): the Ctrl-C then came inside call_tool_async, and `handle` was
                # never bound. It now waits for this.
                waiting.set()
                handle.result()
    with pytest.raises(ConnectionClosed):
        handle.result()


@pytest.mark.spec("TR-13", "CN-01")
def test_sc03_closing_from_another_thread_ends_a_blocked_call(inv, tmp_path):
    """SC-03 ("thread-cancel": Python cannot kill a thread, so another thread closes the
    client): the thread blocked in a call wakes with ConnectionClosed; nothing is left."""
    argv, _ = zoo_logged(inv, tmp_path)
    client = inv.spawn(argv, stdin_grace=GRACE, term_grace=GRACE)
    handle = client.call_tool_async("never", timeout=None)
    inv.handles(handle)
    outcome = []

    def wait():
        try:
            handle.result()
        except ConnectionClosed as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=wait, name="sc03-waiter")
    waiter.start()
    started = time.monotonic()
    report = client.close()
    waiter.join(5)
    assert not waiter.is_alive() and len(outcome) == 1
    assert time.monotonic() - started < GRACE + 0.5
    assert report.steps == ("close_stdin",)


HOST = r'''
import sys
sys.path.insert(0, sys.argv[1])
from mcp_ref.client import Client
client = Client.spawn([sys.executable, "-m", "mcp_ref", "serve"], cwd=sys.argv[1])
client.ping()
print(client.pid, flush=True)
# ... and exit without client.close(): the interpreter just ends.
'''


@pytest.mark.spec("TR-14")
def test_sc03_a_host_that_exits_without_close_leaves_no_server(inv):
    """SC-03 (RL-13): the host forgets close(); EOF alone ends the server within 3 s."""
    host = subprocess.run([sys.executable, "-c", HOST, ROOT], capture_output=True, timeout=30)
    assert host.returncode == 0, host.stderr
    server_pid = int(host.stdout.split()[0])
    assert rawpipe.wait_pid_gone(server_pid, 3.0)
    inv.group(server_pid)


# ================================================================================================
# SC-04 (P0): a server that dies
# ================================================================================================

@pytest.mark.spec("TR-15", "LC-20")
@pytest.mark.parametrize("mode", ["die-before-init", "die-on-init"])
def test_sc04_a_server_dying_at_startup_fails_connect_fast_with_code_and_stderr(inv, tmp_path,
                                                                                 mode):
    """SC-04 (RL-32, RL-34): connect fails in under 1 s, naming the exit code and stderr."""
    argv, log = zoo_logged(inv, tmp_path, mode, "exit=7", "stderr=boom")
    started = time.monotonic()
    with pytest.raises(ConnectionClosed) as info:
        Client.spawn(argv)
    assert time.monotonic() - started < 1.0
    assert info.value.exit_code == 7 and "boom" in info.value.stderr_tail
    assert "7" in str(info.value) and "boom" in str(info.value)
    [start] = zoo_events(log, "start")
    inv.process(start["pid"])


@pytest.mark.spec("TR-15", "LC-20")
def test_sc04_a_server_dying_at_once_is_reported_by_how_it_ended(inv):
    """SC-04 (RL-32): the server exits before it can even read initialize; the write fails
    with EPIPE, yet the error is ConnectionClosed with its exit code and stderr, every time."""
    for _ in range(20):
        with pytest.raises(ConnectionClosed) as info:
            Client.spawn(["sh", "-c", "exec 0<&-; echo boom >&2; exit 7"])
        assert info.value.exit_code == 7 and "boom" in info.value.stderr_tail, info.value


@pytest.mark.spec("TR-15")
def test_sc04_a_server_dying_after_init_fails_the_next_call_fast(inv, tmp_path):
    """SC-04: dies on notifications/initialized; calls fail fast with code and stderr."""
    argv, _ = zoo_logged(inv, tmp_path, "die-after-init", "exit=7", "stderr=boom")
    client = inv.spawn(argv)
    try:
        started = time.monotonic()
        with pytest.raises(ConnectionClosed) as info:
            client.call_tool("echo", {"text": "x"}, timeout=5)
        assert time.monotonic() - started < 1.0
        assert info.value.exit_code == 7 and "boom" in info.value.stderr_tail
    finally:
        client.close()


@pytest.mark.spec("TR-15")
def test_sc04_kill9_mid_call_fails_five_pending_calls_within_a_second(inv, tmp_path):
    """SC-04 (RL-53): the server SIGKILLs itself with five calls pending."""
    argv, _ = zoo_logged(inv, tmp_path, "kill9-mid-call=5", "stderr=boom")
    with inv.spawn(argv) as client:
        calls = [client.call_tool_async("never", timeout=None) for _ in range(4)]
        calls.append(client.call_tool_async("echo", {"text": "the fifth"}, timeout=None))
        inv.handles(*calls)
        assert calls[0].wait(5)
        started = time.monotonic()
        for call in calls:
            with pytest.raises(ConnectionClosed) as info:
                call.result()
            assert info.value.signal == signal.SIGKILL and "boom" in info.value.stderr_tail
        assert time.monotonic() - started < 1.0
        started = time.monotonic()
        with pytest.raises(ConnectionClosed):                     # later calls fail fast:
            client.ping()                                         # not by a timeout (60 s)
        assert time.monotonic() - started < 5.0                   # and no hang (was 0.1 s)


# ================================================================================================
# SC-05 (P0): stderr flood
# ================================================================================================

@pytest.mark.spec("TR-04", "TR-05")
def test_sc05_stderr_flood_neither_stalls_the_session_nor_grows_memory(inv, tmp_path):
    """SC-05 (RL-28): 1 MiB of stderr before each of 10 answers through a 4 KiB pipe."""
    argv, _ = zoo_logged(inv, tmp_path, f"stderr-flood={MIB}", "stderr-pipe-size=4096")
    inv.max_rss = 32 * MIB
    tracemalloc.start()
    try:
        with inv.spawn(argv) as client:
            baseline, _ = tracemalloc.get_traced_memory()
            for i in range(10):
                assert text_of(client.call_tool("echo", {"text": str(i)}, timeout=20)) == str(i)
            tail = client.stderr_tail()
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert tail.endswith("e" * 1023 + "\n") and len(tail) <= 16384
    # The tail cap (16 KiB) plus a read chunk plus the logging of one line, with slack.
    assert peak - baseline < 2 * MIB, f"traced peak grew {(peak - baseline) / MIB:.2f} MiB"


# ================================================================================================
# SC-06 (P0): wire purity of the server
# ================================================================================================

@pytest.mark.spec("TR-06")
def test_sc06_nothing_a_handler_writes_reaches_the_wire(inv):
    """SC-06 (RL-15, RL-31): print, os.write(1), an inheriting echo and a child reading stdin:
    the wire holds only frames (I7), the child sees EOF at once, no request is eaten."""
    server = inv.raw(launcher())
    server.initialize()
    started = time.monotonic()
    server.send_frames(tool_call(2, "noisy"))
    server.send_frames(request(3, "ping"), request(4, "ping"), request(5, "ping"))
    answer = server.wait_response(2, 10)
    assert time.monotonic() - started < 2.0                # the child did not wait for input
    assert text_of(answer["result"]) == "quiet answer (child 0)"
    for i in (3, 4, 5):
        assert server.wait_response(i, 5)["result"] == {}   # not consumed by the child
    assert server.finish() == 0
    assert b"leak" not in server.raw
    for leak in (b"leak: print", b"leak: os.write", b"leak: inherited echo",
                 b"leak: child read ''"):
        assert leak in server.stderr, server.stderr[-500:]


# ================================================================================================
# SC-07 (P0): framing torture, both directions
# ================================================================================================

#: Payloads that break naive framing: multi-byte characters (split by byte-wise writes),
#: Unicode line breaks that str.splitlines() honours (RL-25), raw CR and LF (RL-26).
TORTURE = ["—😀𝄞中 ü 漢 🎉", "a\u2028b\u2029c\x85d\x0ce\x1ef\rg", "one\ntwo\r\n\r\n\nend\r"]


@pytest.mark.spec("TR-02", "TR-03", "BP-02")
@pytest.mark.parametrize("modes", [
    ("split-writes",),
    ("pack-writes",),
    ("crlf",),
    ("split-writes", "pack-writes", "crlf", "junk-stdout"),
], ids=["byte-by-byte", "packed", "crlf", "all-at-once"])
def test_sc07_client_reframes_whatever_the_server_writes(inv, tmp_path, caplog, modes):
    """SC-07 (RL-18, RL-21, RL-24, RL-25, RL-15): every answer delivered once, byte-exact."""
    caplog.set_level(logging.WARNING, logger="mcp_ref")
    argv, _ = zoo_logged(inv, tmp_path, *modes)
    seen = []
    with inv.spawn(argv, on_notification=lambda m, p: seen.append(p["data"])) as client:
        for text in TORTURE:
            assert text_of(client.call_tool("echo", {"text": text}, timeout=10)) == text
        client.ping()
    if "pack-writes" in modes:                         # the frames around each answer, once
        assert seen == ["before", "after"] * len(TORTURE)
    junk = [r for r in caplog.records if "not valid JSON" in r.getMessage()]
    assert len(junk) == (1 + len(TORTURE) if "junk-stdout" in modes else 0)   # one per banner


@pytest.mark.spec("TR-02", "BP-02")
def test_sc07_client_reassembles_a_frame_split_across_500_ms(inv, tmp_path):
    """SC-07: half a frame, 500 ms of silence (possibly mid-character), then the rest."""
    argv, _ = zoo_logged(inv, tmp_path, "split-pause=0.5")
    with inv.spawn(argv) as client:
        started = time.monotonic()
        assert text_of(client.call_tool("echo", {"text": TORTURE[0]}, timeout=10)) == TORTURE[0]
        assert time.monotonic() - started >= 0.5


@pytest.mark.spec("TR-02", "TR-15")
def test_sc07_an_unterminated_tail_at_eof_is_not_delivered_but_logged(inv, tmp_path, caplog):
    """SC-07 (RL-18): half an answer, then EOF: the call fails, the tail is logged."""
    caplog.set_level(logging.DEBUG, logger="mcp_ref.session")
    argv, _ = zoo_logged(inv, tmp_path)
    with inv.spawn(argv) as client:
        handle = client.call_tool_async("truncated", timeout=5)
        inv.handles(handle)
        with pytest.raises(ConnectionClosed) as info:
            handle.result()
        assert info.value.exit_code == 0
    assert any("the stream ended inside a message" in r.getMessage() for r in caplog.records)


@pytest.mark.spec("TR-02", "TR-03", "BP-02", "BP-07")
def test_sc07_server_reframes_byte_by_byte_packed_crlf_and_blank_lines(inv):
    """SC-07 (S): the reference server against every way of chunking its input."""
    server = inv.raw()
    server.initialize()
    calls = {f"t{i}": text for i, text in enumerate(TORTURE)}
    frames = [encode(tool_call(i, "echo", {"text": text})) for i, text in calls.items()]
    for byte in frames[0]:                                  # one byte per write
        server.send(bytes([byte]))
    server.send(b"\n  \n\t\n" + frames[1][:-1] + b"\r\n")   # blank lines, then CRLF
    server.send(frames[2] + encode(request("p1", "ping")) + encode(request("p2", "ping")))
    again = encode(tool_call("t0-split", "echo", {"text": TORTURE[0]}))
    cut = again.index("😀".encode()) + 2                     # inside a 4-byte character
    server.send(again[:cut])
    pause(0.5)                                              # the input arrives in two parts
    server.send(again[cut:])
    calls["t0-split"] = TORTURE[0]
    for request_id, text in calls.items():
        assert text_of(server.wait_response(request_id)["result"]) == text
    server.send(b'{"jsonrpc":"2.0","id":"tail","method":"ping"}')   # no newline, then EOF
    assert server.finish() == 0
    for request_id in [*calls, "p1", "p2"]:
        assert len(server.responses(request_id)) == 1        # exactly once
    assert server.responses("tail") == []                    # the unterminated tail: dropped
    assert b"\r\n" not in server.raw                         # CRLF accepted, never emitted
    assert "\u2028".encode() not in server.raw               # escaped on the wire (D-09)


# ================================================================================================
# SC-08 (P0): garbage to the server
# ================================================================================================

@pytest.mark.spec("BP-01", "BP-12", "BP-13", "BP-16", "ER-01")
def test_sc08_garbage_gets_parse_or_invalid_request_errors_and_the_session_survives(inv):
    """SC-08 (RL-12, RL-16, RL-17, RL-22, RL-27): -32700/-32600 with id null or the id that
    could be read, nothing for notifications, and the next ping is answered."""
    server = inv.raw()
    server.initialize()
    garbage = [
        (b"\xff\xfe", None, -32700),                             # invalid UTF-8
        (b"42", None, -32600), (b"null", None, -32600), (b"[]", None, -32600),
        (b"{}", None, -32600),
        (b'{"jsonrpc":"2.0","id":7,"method":5}', 7, -32600),
        (b'{"jsonrpc":"2.0","id":8}', 8, -32600),
        (b'{"jsonrpc":"1.0","id":9,"method":"ping"}', 9, -32600),
        (b'{"jsonrpc":"2.0","id":true,"method":"ping"}', None, -32600),
        (b'{"jsonrpc":"2.0","id":10,"method":"ping","params":[1]}', 10, -32602),
        (b'{"jsonrpc":"2.0","method":5}', "silent", None),        # a broken notification
        (b'{"jsonrpc":"2.0","method":"notifications/zzz"}', "silent", None),
        (b'[{"jsonrpc":"2.0","id":11,"method":"ping"},{"jsonrpc":"2.0","id":12,"method":"ping"}]',
         None, -32600),                                           # a batch (RL-27)
        (b"x" * 1_000_000, None, -32700),                         # 1 MB of junk
    ]
    server.send(b"".join(line + b"\n" for line, _, _ in garbage))
    server.send_frames(request("after", "ping"))
    assert server.wait_response("after", 10)["result"] == {}
    answers = [(f["id"], error_code(f)) for f in server.frames[1:]]
    expected = [(i, code) for _, i, code in garbage if i != "silent"] + [("after", None)]
    assert answers == expected
    assert server.responses(11) == [] and server.responses(12) == []
    assert server.finish() == 0


@pytest.mark.spec("BP-02", "TR-13")
def test_sc08_invalid_utf8_from_an_exiting_server_does_not_break_close(inv, tmp_path, caplog):
    """SC-08 (RL-22, C): the server writes invalid UTF-8 to stdout and stderr as it exits;
    close() is still clean: first rung, exit 0, no exception, no thread dies (I2)."""
    caplog.set_level(logging.WARNING, logger="mcp_ref")
    argv, _ = zoo_logged(inv, tmp_path, "invalid-utf8-on-exit")
    client = inv.spawn(argv)
    client.ping()
    report = client.close()
    assert report.steps == ("close_stdin",) and report.exit_code == 0
    assert "crash dump" in client.stderr_tail()
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


# ================================================================================================
# SC-09 (P0): large messages
# ================================================================================================

def _round_trip(client, size):
    started = time.monotonic()
    result = client.call_tool("big", {"bytes": size}, timeout=60)
    elapsed = time.monotonic() - started
    assert len(text_of(result)) == size
    return elapsed


@pytest.mark.spec("TR-02")
def test_sc09_large_results_round_trip_whole_in_bounded_memory(inv, tmp_path):
    """SC-09 (RL-19, RL-20): 1, 8, 10 and 40 MiB results, written by a server whose pipe takes
    4 KiB at a time, each arrive whole, within the memory bound below.

    That this is linear, not quadratic, is checked structurally, not with a clock: the reader
    never searches the held part of a line again (test_framing.py::
    test_held_bytes_are_never_searched_again), and the writer never copies what is left of a
    frame (test_stdio.py::test_the_outbox_writes_a_large_frame_from_the_frame_itself). This
    test compared 40 MiB's time with 10 MiB's, and failed on a loaded 2-core machine (a ratio
    of 10.8 against its bound of 8, 2026-12-07): wall time measures the machine as much as the
    algorithm. The times are printed, for a reader; the benchmark has the figures (issue 7)."""
    inv.max_rss = 6 * 40 * MIB           # bytes, str and parsed copies of one 40 MiB message
    argv, _ = zoo_logged(inv, tmp_path, "stdout-pipe-size=4096")
    with inv.spawn(argv) as client:
        times = {size: _round_trip(client, size * MIB) for size in (1, 8, 10, 40)}
    print(", ".join(f"{size} MiB: {elapsed:.3f} s" for size, elapsed in times.items()))


@pytest.mark.spec("TR-02", "LC-20")
def test_sc09_a_line_over_the_limit_fails_pending_calls_with_message_too_large(inv, tmp_path):
    """SC-09 (D-03): the limit itself passes; limit + 1 fails every pending call at once."""
    argv, _ = zoo_logged(inv, tmp_path)
    with inv.spawn(argv, max_line_bytes=MIB) as client:
        assert len(text_of(client.call_tool("big", {"line_bytes": MIB}))) > MIB - 100
        waiting = [client.call_tool_async("never", timeout=None) for _ in range(3)]
        over = client.call_tool_async("big", {"line_bytes": MIB + 1}, timeout=None)
        inv.handles(*waiting, over)
        started = time.monotonic()
        for handle in (*waiting, over):
            with pytest.raises(MessageTooLarge) as info:
                handle.result()
            assert info.value.limit == MIB
        assert time.monotonic() - started < 1.0
        with pytest.raises(McpRefError):                 # later calls fail fast, typed
            client.ping()
        assert client.state is State.FAILED


@pytest.mark.spec("TR-02", "BP-12")
def test_sc09_server_discards_a_line_over_its_limit_and_goes_on(inv):
    """SC-09 (S): 64 MiB + 1 of junk with no newline in sight: -32700 (id null), bounded
    memory in the server, and the next ping is answered."""
    server = inv.raw()
    server.initialize()
    chunk = b"z" * MIB
    for _ in range(64):
        server.send(chunk)
    server.send(b"z\n")
    server.send_frames(request("after", "ping"))
    assert server.wait_response("after", 30)["result"] == {}
    assert [(f["id"], error_code(f)) for f in server.frames[1:]] == [(None, -32700),
                                                                     ("after", None)]
    peak = rawpipe.proc_status(server.pid, "VmHWM")
    assert peak < 64 * MIB + 96 * MIB, f"server peak RSS {peak / MIB:.0f} MiB"
    assert server.finish() == 0


# ================================================================================================
# SC-10 (P0): bidirectional flood
# ================================================================================================

@pytest.mark.spec("TR-01", "TR-13")
def test_sc10_a_bidirectional_flood_does_not_deadlock(inv, tmp_path):
    """SC-10 (RL-29): 200 x 1 MiB requests fired without waiting, at a server that answers
    each with 1 MiB from its reading thread; then close() with 5 MiB of output in flight."""
    inv.max_seconds = 60
    argv, log = zoo_logged(inv, tmp_path)
    payload = "y" * MIB
    outcomes = []
    with inv.spawn(argv) as client:
        handles = []
        collector_started = threading.Event()

        def collect():
            collector_started.set()
            while True:
                handle = handles_ready.get()
                if handle is None:
                    return
                try:
                    outcomes.append(len(text_of(handle.result())))   # results are not kept
                except McpRefError as exc:
                    outcomes.append(exc)

        import queue
        handles_ready = queue.Queue()
        collector = threading.Thread(target=collect, name="sc10-collector")
        collector.start()
        assert collector_started.wait(5)
        started = time.monotonic()
        for _ in range(200):
            handles_ready.put(client.call_tool_async("echo", {"text": payload}, timeout=60))
        handles_ready.put(None)
        collector.join(60)
        assert not collector.is_alive()
        assert outcomes == [MIB] * 200                  # I1: each exactly one, all answered
        print(f"200 x 1 MiB each way: {time.monotonic() - started:.2f} s")
        del handles
        spew = client.call_tool_async("big", {"bytes": 5 * MIB}, timeout=None)
        inv.handles(spew)
        report = client.close()
    assert report.steps == ("close_stdin",) and report.exit_code == 0   # exited on EOF
    assert [e["event"] for e in zoo_events(log)][-2:] == ["eof", "exit"]


class _EventOnLog(logging.Handler):
    """Sets ``seen`` once a record whose message contains ``needle`` is logged."""

    def __init__(self, needle):
        super().__init__()
        self.needle, self.seen = needle, threading.Event()

    def emit(self, record):
        if self.needle in record.getMessage():
            self.seen.set()


@pytest.mark.spec("PG-02", "TR-01", "TR-13")
def test_sc10_a_server_that_pings_without_reading_is_held_up_not_buffered(inv, tmp_path):
    """D-38: the zoo sends 100 000 pings (about 5 MiB of pongs) and reads nothing meanwhile.
    The client answers each from its reader thread (PG-02); what the zoo does not read waits
    in the outbox. Once more than OUTBOX_HIGH_WATER bytes of pongs wait, the client's reader
    reads nothing more, so the zoo is held up by a full pipe instead of growing the client's
    memory. close() still ends it all: closing the server's stdin lets the reader go."""
    from mcp_ref.stdio import OUTBOX_HIGH_WATER, READ_CHUNK
    inv.max_seconds = 60
    argv, log = zoo_logged(inv, tmp_path, "ping-flood=100000")
    watch = _EventOnLog("replies wait for the peer to read them")
    stdio_log = logging.getLogger("mcp_ref.stdio")
    stdio_log.addHandler(watch)
    try:
        with inv.spawn(argv) as client:
            outbox = client._process._outbox
            assert watch.seen.wait(30), "the client's reader never stopped reading"
            assert outbox.replies_queued <= OUTBOX_HIGH_WATER + READ_CHUNK   # pong < ping
            assert not zoo_events(log, "ping-flood-done"), "the zoo was not held up"
            report = client.close()
    finally:
        stdio_log.removeHandler(watch)
    assert report.steps[0] == "close_stdin"


#: An inline tool (D-70) that logs 200 messages of 100 kB in one call (argv: ROOT).
_CHATTY_INLINE = r'''
import sys
sys.path.insert(0, sys.argv[1])
from mcp_ref.server import Server
server = Server("chatty")

@server.tool(inline=True)
def chatty(arguments, context):
    for _ in range(200):
        context.log("info", "y" * 100_000)
    return "logged 20 MB"

sys.exit(server.run_stdio())
'''


def _stderr_until(proc: subprocess.Popen, needle: bytes, timeout: float) -> bytes:
    """The server's stderr, read until it holds ``needle``, it ends, or ``timeout`` s pass."""
    stderr = b""
    deadline = time.monotonic() + timeout
    while needle not in stderr and time.monotonic() < deadline:
        if select.select([proc.stderr], [], [], 1)[0]:
            chunk = os.read(proc.stderr.fileno(), 4096)
            if not chunk:
                break
            stderr += chunk
    return stderr


def _sigterm_ends_it_at_once(proc: subprocess.Popen) -> None:
    """TR-13: SIGTERM ends the server within 2 s, with 128 + 15."""
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(5) == 128 + signal.SIGTERM
    assert time.monotonic() - start < 2.0


def _reap(proc: subprocess.Popen, *writers: threading.Thread) -> None:
    """Whatever the test found: the server is gone, the threads writing to it have ended
    (before its pipes close under them), and its pipes are closed."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)
    for writer in writers:
        writer.join(5)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        with contextlib.suppress(OSError):
            stream.close()


@pytest.mark.spec("PR-12", "TR-13")
def test_sc10_an_inline_tool_that_logs_to_a_client_that_does_not_read_is_held_up(inv):
    """Found in inline review. An inline tool's logs are the reader's replies (D-70), which
    never wait for room; the reader was held up only before its next read, so one call that
    logged 20 MB to a client that did not read queued all 20 MB in memory. The reader is now
    held up before each reply it writes, as before each read (D-38): about OUTBOX_HIGH_WATER
    (1 MiB) is queued, and SIGTERM still ends the server at once."""
    inv.max_seconds = 30
    proc = subprocess.Popen([sys.executable, "-c", _CHATTY_INLINE, ROOT],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    inv.process(proc.pid)
    proc.stdin.write(b"".join(encode(m) for m in [
        request("init", "initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                       "clientInfo": {"name": "deaf", "version": "1"}}),
        notification("notifications/initialized"),
        request(1, "tools/call", {"name": "chatty", "arguments": {}})]))
    proc.stdin.flush()                                  # and never read the server's stdout
    stderr = _stderr_until(proc, b"replies wait for the peer", 20)
    try:
        found = re.search(rb"stdout: (\d+) bytes of replies wait for the peer", stderr)
        assert found, stderr.decode(errors="replace")
        assert int(found.group(1)) < 2 * MIB            # not 20 MB: held up, not buffered
        _sigterm_ends_it_at_once(proc)
    finally:
        _reap(proc)


@pytest.mark.spec("PG-02", "TR-13")
@pytest.mark.parametrize("call", ["ping", "inline echo"])
def test_sc10_sigterm_ends_a_server_held_up_by_a_client_that_pings_without_reading(inv, call):
    """D-38, the server's side, as a process: a client pings without reading until the
    server's reader stops (its stderr says so). The reader is then the main thread, blocked
    until the client reads; SIGTERM must still end the server at once (128 + 15), because the
    handler only sets flags and writes to self-pipes, and the flusher wakes the reader.
    The same with calls of the reference server's echo, an inline tool (D-70): its answers
    are the reader's replies, so the reader is held up the same way, never blocked in a
    wait for room that only close() would end."""
    inv.max_seconds = 30
    proc = subprocess.Popen(SERVE, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT, start_new_session=True)
    inv.process(proc.pid)
    handshake = [request("init", "initialize", {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "deaf", "version": "1"}}),
        notification("notifications/initialized")]
    frame = (lambda i: request(i, "ping")) if call == "ping" else (
        lambda i: request(i, "tools/call", {"name": "echo", "arguments": {"text": "x" * 100}}))
    pings = b"".join([encode(m) for m in handshake] +
                     [encode(frame(i)) for i in range(100_000)])

    def write():
        try:
            proc.stdin.write(pings)
            proc.stdin.flush()
        except OSError:                                  # the server is gone: expected
            pass

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    stderr = _stderr_until(proc, b"replies wait for the peer", 30)
    try:
        assert b"replies wait for the peer" in stderr, stderr.decode(errors="replace")
        _sigterm_ends_it_at_once(proc)
    finally:
        _reap(proc, writer)
    assert not writer.is_alive()


@pytest.mark.spec("PG-02", "TR-15")
def test_sc10_a_reader_held_up_by_a_pinging_server_still_sees_it_die(inv, tmp_path):
    """D-38, SC-04: the client's reader is held up by its pongs to a server that pings
    without reading; then the server is killed, while its grandchild holds its stdin and
    stdout. The session still ends within a second: it ends with the server, not with the
    pipe, held up or not."""
    inv.max_seconds = 60
    argv, log = zoo_logged(inv, tmp_path, "ping-flood=100000", "fork-grandchild")
    watch = _EventOnLog("replies wait for the peer to read them")
    stdio_log = logging.getLogger("mcp_ref.stdio")
    stdio_log.addHandler(watch)
    try:
        with inv.spawn(argv) as client:
            assert watch.seen.wait(30), "the client's reader never stopped reading"
            os.kill(client.pid, signal.SIGKILL)
            started = time.monotonic()
            assert client.wait_closed(5), "the session did not end with the server"
            assert time.monotonic() - started < 1.0
            report = client.close()
    finally:
        stdio_log.removeHandler(watch)
    assert report.group_killed is True
    [grandchild] = zoo_events(log, "grandchild")
    assert rawpipe.wait_pid_gone(grandchild["grandchild"], 5)


@pytest.mark.spec("TR-01", "BP-01")
def test_sc10_server_survives_a_flood_of_large_requests(inv):
    """SC-10 (S): 100 x 1 MiB echo requests in one burst; each gets exactly one answer (a
    result, or the documented "busy" error beyond the in-flight cap, D-11)."""
    def small(frame):              # keep the gist of each answer, not 1 MiB of it
        if isinstance(frame, dict) and "content" in frame.get("result", {}):
            return dict(frame, result={"length": len(text_of(frame["result"]))})
        return frame

    server = inv.raw(keep_raw=False, keep=small)
    server.initialize()
    payload = "y" * MIB
    writer = threading.Thread(target=lambda: [
        server.send_frames(tool_call(i, "echo", {"text": payload})) for i in range(100)],
        name="sc10-writer")
    writer.start()
    for i in range(100):
        server.wait_response(i, 60)
    writer.join(60)
    assert server.finish(30) == 0
    for i in range(100):
        [answer] = server.responses(i)
        assert (answer["result"]["length"] == MIB if "result" in answer
                else error_code(answer) == -32603)


# ================================================================================================
# SC-13 (P0): handshake ordering and versions
# ================================================================================================

@pytest.mark.spec("LC-02", "LC-05", "LC-06", "LC-07", "PG-02", "ER-01")
def test_sc13_server_holds_its_handshake_policy_table(inv):
    """SC-13 (RL-36, RL-37), the mcp_ref policy (decisions D-05, D-15): before initialize
    every request is -32600 (ping too) and an unknown method -32601; an early initialized is
    ignored; between the initialize answer and initialized only ping is served; a duplicate
    initialized is ignored; a second initialize is refused without resetting the session."""
    server = inv.raw()
    init = request("init", "initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                          "clientInfo": {"name": "rawpipe", "version": "0"}})
    server.send_frames(request(1, "tools/list"), request(2, "ping"), request(3, "x/unknown"),
                       notification("notifications/initialized"), init)
    server.wait_response("init")
    server.send_frames(request(4, "ping"), request(5, "tools/list"),
                       notification("notifications/initialized"),
                       notification("notifications/initialized"),
                       dict(init, id=6), request(7, "tools/list"))
    server.wait_response(7)
    answers = [(f["id"], error_code(f)) for f in server.frames]
    assert answers == [(1, -32600), (2, -32600), (3, -32601), ("init", None),
                       (4, None), (5, -32600), (6, -32600), (7, None)]
    assert server.responses("init")[0]["result"]["protocolVersion"] == "2025-11-25"
    assert server.responses(7)[0]["result"]["tools"]            # still initialized
    assert server.finish() == 0


@pytest.mark.spec("LC-13", "LC-05")
def test_sc13_an_unsupported_server_version_is_a_typed_error_and_a_reaped_child(inv, tmp_path):
    """SC-13 (RL-38): 2099-01-01 from the server: UnsupportedProtocolVersion, no initialized."""
    argv, log = zoo_logged(inv, tmp_path, "version=2099-01-01")
    with pytest.raises(UnsupportedProtocolVersion) as info:
        Client.spawn(argv)
    assert info.value.offered == "2099-01-01"
    assert got_methods(log) == ["initialize"]
    assert "eof" in [e["event"] for e in zoo_events(log)]
    [start] = zoo_events(log, "start")
    inv.process(start["pid"])


@pytest.mark.spec("LC-14", "LC-05", "LC-02")
def test_sc13_an_older_supported_version_is_accepted_and_the_wire_order_holds(inv, tmp_path):
    """SC-13: the server counters with 2024-11-05: accepted; on the wire, exactly
    initialize, notifications/initialized, then the rest."""
    argv, log = zoo_logged(inv, tmp_path, "version=2024-11-05")
    with inv.spawn(argv) as client:
        assert client.protocol_version == "2024-11-05"
        client.ping()
        client.list_tools()
    assert got_methods(log) == ["initialize", "notifications/initialized", "ping", "tools/list"]


# ================================================================================================
# SC-14 (P0): ids
# ================================================================================================

@pytest.mark.spec("BP-03", "BP-07", "BP-05")
def test_sc14_server_echoes_every_id_type_exactly_and_refuses_a_duplicate(inv):
    """SC-14 (RL-39, RL-41): ids echoed with identical JSON value and type; a duplicate
    in-flight id is refused and never cross-wired; the id may be reused once answered."""
    server = inv.raw()
    server.initialize()
    ids = ["1", 1, 0, -1, 2 ** 53 + 1, "", "é", "漢字🎉", 2 ** 63, -(2 ** 63)]
    server.send_frames(*[request(i, "ping") for i in ids])
    for i in ids:
        [answer] = server.responses(i) or [server.wait_response(i)]
        assert rawpipe.same(answer["id"], i) and answer["result"] == {}
    server.send_frames(tool_call(5, "slow", {"seconds": 0.5, "steps": 1}),
                       tool_call(5, "echo", {"text": "cross-wired?"}))
    refused = server.wait_for(lambda f: rawpipe.is_response(f, 5) and "error" in f)
    assert error_code(refused) == -32600
    server.wait_for(lambda f: rawpipe.is_response(f, 5) and "result" in f)
    [first] = [f for f in server.responses(5) if "result" in f]
    assert text_of(first["result"]) == "slept 0.5 s in 1 steps"
    server.send_frames(tool_call(5, "echo", {"text": "again"}))      # finished: reusable (D-07)
    server.wait_for(lambda f: rawpipe.is_response(f, 5) and "result" in f
                    and text_of(f["result"]) == "again")
    assert len(server.responses(5)) == 3
    assert server.finish() == 0


@pytest.mark.spec("BP-03", "BP-04", "BP-05")
def test_sc14_ten_thousand_client_ids_are_unique_and_never_null(inv, tmp_path):
    """SC-14 (RL-41): 10,000 pipelined requests; ids are integers counted up from 1."""
    argv, log = zoo_logged(inv, tmp_path)
    with inv.spawn(argv) as client:
        handles = [client.send_request("ping") for _ in range(10_000)]
        inv.handles(*handles)
        for handle in handles:
            assert handle.result() == {}
    ids = [e["msg"]["id"] for e in zoo_events(log, "got") if "id" in e["msg"]]
    assert all(type(i) is int for i in ids)
    assert ids == list(range(1, 10_002))                # initialize, then 10,000 pings


@pytest.mark.spec("BP-07")
def test_sc14_an_answer_with_the_id_retyped_is_never_routed_to_the_caller(inv, tmp_path,
                                                                         caplog):
    """SC-14 (RL-39, C): the server answers id 2 as "2". mcp_ref matches ids type-exactly
    (BP-07): the answer is reported and dropped, the call ends at its deadline, typed."""
    caplog.set_level(logging.WARNING, logger="mcp_ref")
    argv, _ = zoo_logged(inv, tmp_path, "string-id-echo")
    with inv.spawn(argv) as client:
        handle = client.call_tool_async("echo", {"text": "x"}, timeout=0.3)
        inv.handles(handle)
        with pytest.raises(RequestTimeout):
            handle.result()
        assert client._session._requests == {}
    assert any(f"unknown request id '{handle.id}'" in r.getMessage() for r in caplog.records)


# ================================================================================================
# SC-17 (P1): the server's requests (during a call: test_timeouts_cancel_progress.py)
# ================================================================================================

@pytest.mark.spec("PG-02", "ER-01", "LC-07")
def test_sc17_server_requests_right_after_initialized_are_answered(inv, tmp_path):
    """SC-17 (RL-52): a ping and an unknown request the moment initialized arrives: the
    client answers {} and -32601 (method not found), each once, before anything else."""
    argv, log = zoo_logged(inv, tmp_path, "send-ping", "send-unknown-request")
    with inv.spawn(argv) as client:
        client.ping()                # the zoo reads our answers before this ping, in order
    answers = {e["msg"]["id"]: e["msg"] for e in zoo_events(log, "answer")}
    assert answers["zoo-ping-1"] == {"jsonrpc": "2.0", "id": "zoo-ping-1", "result": {}}
    assert answers["zoo-x/unknown-2"]["error"]["code"] == -32601
    assert len(zoo_events(log, "answer")) == 2


# ================================================================================================
# SC-18 (P1): malformed response envelopes
# ================================================================================================

ATTRIBUTABLE = ["both", "neither", "no-jsonrpc", "jsonrpc-1.0", "result-not-object",
                "error-not-object", "code-string", "no-code", "message-not-string"]
#: An answer that cannot name its request cannot fail it: the call ends at its deadline.
UNATTRIBUTABLE = ["id-null-result", "no-id-result", "id-object"]


@pytest.mark.spec("BP-01", "BP-08", "BP-10", "BP-11")
def test_sc18_malformed_envelopes_fail_their_call_and_the_connection_goes_on(inv, tmp_path,
                                                                            caplog):
    """SC-18 (RL-42): never a success, never a hang; the next ping works every time."""
    caplog.set_level(logging.WARNING, logger="mcp_ref")
    argv, _ = zoo_logged(inv, tmp_path)
    with inv.spawn(argv) as client:
        for variant in ATTRIBUTABLE + UNATTRIBUTABLE:
            # An attributable answer fails its call when it arrives: RemoteProtocolError, not
            # RequestTimeout, proves it did not wait for the deadline, which is generous so
            # that a loaded machine cannot turn the answer into a timeout (it was 0.3 s, with
            # "< 0.25 s" asserted: a speed judgement, D-97). The others wait it out.
            timeout = 30.0 if variant in ATTRIBUTABLE else 0.3
            handle = client.call_tool_async("bad", {"variant": variant}, timeout=timeout)
            inv.handles(handle)
            expected = RemoteProtocolError if variant in ATTRIBUTABLE else RequestTimeout
            with pytest.raises(expected):
                handle.result()
            client.ping()
            assert client.state is State.OPERATING
    violations = [r for r in caplog.records if "peer broke a protocol rule" in r.getMessage()]
    assert len(violations) == len(ATTRIBUTABLE + UNATTRIBUTABLE)


@pytest.mark.spec("BP-12", "CN-07")
def test_sc18_unprompted_answers_and_null_id_errors_fail_nothing(inv, tmp_path, caplog):
    """SC-18 (RL-17, RL-43, RL-47): an answer for an id nobody sent and an error with id null
    before every real answer, progress after it: logged or dropped, and no call fails."""
    caplog.set_level(logging.WARNING, logger="mcp_ref")
    argv, _ = zoo_logged(inv, tmp_path, "unknown-id-response", "progress-after-response")
    seen = []
    with inv.spawn(argv) as client:
        for i in range(2):
            assert text_of(client.call_tool("echo", {"text": str(i)})) == str(i)
        result = client.call_tool("progress", {"steps": 3}, on_progress=lambda *a: seen.append(a))
        assert text_of(result) == "3 steps"
        client.ping()                  # the late progress was read (and dropped) before this
    assert seen == [(1, 3, None), (2, 3, None), (3, 3, None)]     # nothing after the answer
    messages = [r.getMessage() for r in caplog.records]
    assert sum("unknown request id 'zoo-nobody-asked'" in m for m in messages) == 3
    assert sum("unreadable message" in m for m in messages) == 3


# ================================================================================================
# SC-19 (P1): signals to the server
# ================================================================================================

@pytest.mark.spec("TR-06", "TR-14")
@pytest.mark.parametrize("busy", [False, True], ids=["idle", "during-a-tool"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_sc19_a_signal_ends_the_server_within_a_second_cleanly(inv, signum, busy):
    """SC-19 (RL-05, RL-06): exit 128+n within 1 s, no traceback, no half-written line."""
    server = inv.raw(launcher())
    server.initialize()
    if busy:
        server.send_frames(tool_call(2, "slow", {"seconds": 30, "steps": 300}, token="t"),
                           tool_call(3, "stubborn", {"seconds": 30}))
        wait_progress(server)
    started = time.monotonic()
    os.kill(server.pid, signum)
    assert server.wait_exit(5) == 128 + signum
    assert time.monotonic() - started < 1.0 + 0.5      # 1 s, plus I6's slack for a busy box
    assert b"Traceback" not in server.stderr, server.stderr.decode(errors="replace")
    assert server.responses(2) == [] and server.responses(3) == []   # given up: not answered


#: An inline tool (D-70) that says when it starts (stderr) and computes until a gate file
#: exists (argv: ROOT, the gate's path).
_GATED_INLINE = r'''
import os, sys, time
sys.path.insert(0, sys.argv[1])
from mcp_ref.server import Server
server = Server("gated")

@server.tool(inline=True, input_schema={"type": "object"})
def gated(arguments, context):
    sys.stderr.write("started %s\n" % context.request_id)
    sys.stderr.flush()
    deadline = time.monotonic() + 10
    while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
        time.sleep(0.01)
    return "done"

sys.exit(server.run_stdio())
'''


@pytest.mark.spec("TR-13")
def test_sc19_a_signal_during_an_inline_tool_starts_none_of_the_calls_read_with_it(inv,
                                                                                   tmp_path):
    """Found in inline review. An inline tool runs on the reader, inside the chunk it was read
    in; a SIGTERM while it runs used to end the session only after every other call of that
    chunk had run too, each started after the signal, so the exit took as long as all of
    them. Work read after the signal is given up unstarted (SC-19), as a worker's would be."""
    gate = tmp_path / "gate"
    server = inv.raw([sys.executable, "-c", _GATED_INLINE, ROOT, str(gate)])
    server.initialize()
    server.send_frames(*[tool_call(i, "gated") for i in range(1, 21)])
    assert server.wait_stderr(b"started 1\n", 10)
    os.kill(server.pid, signal.SIGTERM)
    gate.touch()                        # the tool in progress returns; no other may start
    assert server.wait_exit(10) == 128 + signal.SIGTERM
    assert server.wait_stderr_eof(10)
    assert server.stderr.count(b"started ") == 1, server.stderr.decode(errors="replace")
    assert all(server.responses(i) == [] for i in range(2, 21))     # given up: not answered


#: Server.serve called on the main thread with Python's own SIGINT handler (no run_stdio),
#: and an inline tool (D-70) that waits for a Ctrl-C (argv: ROOT).
_SERVE_WITHOUT_HANDLERS = r'''
import sys, time
sys.path.insert(0, sys.argv[1])
from mcp_ref.server import Server
from mcp_ref.stdio import StdioServerTransport
server = Server("ctrl-c")

@server.tool(inline=True)
def waits(arguments, context):
    sys.stderr.write("started\n")
    sys.stderr.flush()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.01)
    return "no Ctrl-C came"

transport = StdioServerTransport()
try:
    server.serve(transport)
finally:
    transport.close()
'''


@pytest.mark.spec("TR-13")
def test_sc19_ctrl_c_during_an_inline_tool_ends_serve_without_run_stdios_handlers(inv):
    """Found in inline review. Without run_stdio's handlers, Ctrl-C raises KeyboardInterrupt
    in the main thread, which serve() reads on: it ends serving, as in any Python program.
    An inline tool runs on that thread (D-70), and the KeyboardInterrupt raised inside it was
    answered as the tool's own failure ("Tool waits failed: KeyboardInterrupt"), and the
    server went on serving. It ends serving now, as it does when the reader is reading."""
    server = inv.raw([sys.executable, "-c", _SERVE_WITHOUT_HANDLERS, ROOT])
    server.initialize()
    server.send_frames(tool_call(1, "waits"))
    assert server.wait_stderr(b"started\n", 10)
    os.kill(server.pid, signal.SIGINT)
    assert server.wait_exit(5) == -signal.SIGINT      # Python's exit on KeyboardInterrupt
    assert server.responses(1) == []


@pytest.mark.spec("TR-13", "TR-14")
def test_sc19_a_sigterm_while_the_server_drains_after_eof_ends_the_drain(inv):
    """Stdio review R1: the ladder closes stdin first, so its SIGTERM lands while the server
    drains the work in flight (up to drain_timeout, then 0.5 s more). The signal used to wait
    for that drain to end, so a short term_grace ended in SIGKILL, without on_shutdown."""
    running = threading.Event()
    patient = ("import sys; sys.path.insert(0, sys.argv[1]); "
               "from mcp_ref.reference import build_server; "
               "sys.exit(build_server(drain_timeout=30.0).run_stdio())")
    client = inv.spawn([sys.executable, "-c", patient, ROOT], stdin_grace=0.2, term_grace=3.0)
    client.call_tool_async("slow", {"seconds": 30, "steps": 300}, timeout=None,
                           on_progress=lambda *args: running.set())
    assert running.wait(5)
    report = client.close()
    # Not SIGKILL 3 s later: the SIGTERM ends the 30 s drain, and the server exits within
    # SC-19's second, as if it had come first.
    assert report.steps == ("close_stdin", "sigterm"), report
    assert report.exit_code == 128 + signal.SIGTERM, report
    assert report.durations["sigterm"] < 1.0 + 0.5, report     # SC-19, plus I6's slack


# ================================================================================================
# SC-20 (P1): Ctrl-C in the host's terminal
# ================================================================================================

PTY_HOST = r'''
import fcntl, json, os, sys, termios, threading
sys.path.insert(0, sys.argv[1])
fcntl.ioctl(0, termios.TIOCSCTTY, 0)          # the pty is our controlling terminal now
from mcp_ref.client import Client
serve = [sys.executable, "-m", "mcp_ref", "serve"]
clients = [Client.spawn(serve, cwd=sys.argv[1]) for _ in range(2)]
running = threading.Event()
try:
    call = clients[0].call_tool_async("slow", {"seconds": 60, "steps": 600}, timeout=None,
                                      on_progress=lambda *a: running.set())
    running.wait(10)
    print("ready", ",".join(str(c.pid) for c in clients), os.tcgetpgrp(0) == os.getpgrp(),
          flush=True)
    call.result()                              # Ctrl-C arrives here
except KeyboardInterrupt:
    reports = [c.close() for c in reversed(clients)]      # the ladder, in order
    print("closed", json.dumps([[list(r.steps), r.exit_code, r.signal] for r in reports],
                               separators=(",", ":")), flush=True)
    sys.exit(130)
'''


def _read_pty_line(master, prefix, deadline):
    data = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:                       # EIO: the host closed the terminal
            break
        data += chunk
        for line in data.replace(b"\r", b"").split(b"\n")[:-1]:
            if prefix in line:                # after the terminal's echo of ^C, perhaps
                return line[line.index(prefix):].decode()
    raise AssertionError(f"no {prefix!r} line from the host; got {data[-500:]!r}")


@pytest.mark.spec("TR-13")
def test_sc20_ctrl_c_in_the_hosts_terminal_runs_the_ladder_and_leaves_no_orphan(inv):
    """SC-20 (RL-60): the host runs in a pty with two servers; ^C on the terminal reaches the
    host's foreground process group only (the servers have their own sessions), the host
    closes both in order, each server exits on EOF (code 0, no signal), the host exits 130."""
    master, slave = os.openpty()
    try:
        host = subprocess.Popen([sys.executable, "-c", PTY_HOST, ROOT], stdin=slave,
                                stdout=slave, stderr=slave, start_new_session=True)
    finally:
        os.close(slave)
    inv.process(host.pid)
    try:
        ready = _read_pty_line(master, b"ready", time.monotonic() + 30)
        pids = [int(pid) for pid in ready.split()[1].split(",")]
        assert ready.split()[2] == "True"                  # the host is the foreground group
        for pid in pids:
            inv.group(pid)
        os.write(master, b"\x03")                           # Ctrl-C, typed on the terminal
        closed = _read_pty_line(master, b"closed", time.monotonic() + 15)
        assert host.wait(15) == 130
    finally:
        if host.poll() is None:
            host.kill()
            host.wait(5)
        os.close(master)
    reports = json.loads(closed.split(None, 1)[1])
    assert reports == [[["close_stdin"], 0, None]] * 2, reports
    for pid in pids:
        assert rawpipe.wait_pid_gone(pid, 5)


# ================================================================================================
# SC-21 (P1): the spawn environment
# ================================================================================================

def _env_seen(inv, names, **options):
    with inv.spawn(zoo(), **options) as client:
        return json.loads(text_of(client.call_tool("env", {"names": names})))


@pytest.mark.spec("TR-19", "TR-01")
def test_sc21_env_is_merged_and_the_safe_set_keeps_secrets_out(inv, monkeypatch):
    """SC-21 (RL-56): ``env`` is merged over the parent's environment; ``inherit_env=False``
    passes only a safe set (no secret, no exported shell function) plus ``env``."""
    monkeypatch.setenv("SECRET_X", "sentinel-secret")
    monkeypatch.setenv("TERM", "() { :; }; echo pwned")          # safelisted name, bad value
    names = ["SECRET_X", "FOO", "PATH", "HOME", "TERM"]
    merged = _env_seen(inv, names, env={"FOO": "1"})
    assert merged["SECRET_X"] == "sentinel-secret" and merged["FOO"] == "1"
    assert merged["PATH"] == os.environ["PATH"]
    safe = _env_seen(inv, names, env={"FOO": "1"}, inherit_env=False)
    assert safe["SECRET_X"] is None and safe["FOO"] == "1"
    assert safe["PATH"] == os.environ["PATH"] and safe["HOME"] == os.environ["HOME"]
    assert safe["TERM"] is None
    explicit = _env_seen(inv, names, env={"TERM": "dumb"}, inherit_env=False)
    assert explicit["TERM"] == "dumb"                             # what the caller gives, goes


@pytest.mark.spec("TR-01")
def test_sc21_cwd_is_the_servers_working_directory(inv, tmp_path):
    """SC-21 (RL-58)."""
    with inv.spawn(zoo(), cwd=str(tmp_path)) as client:
        assert text_of(client.call_tool("cwd")) == os.path.realpath(tmp_path)


@pytest.mark.spec("TR-01")
def test_sc21_spawn_errors_are_immediate_and_name_what_failed(inv, tmp_path):
    """SC-21 (RL-34 a, RL-57, RL-58): a missing command names the PATH searched; a missing
    cwd names the directory; both at once, leaving nothing behind (I3, I4)."""
    started = time.monotonic()
    with pytest.raises(SpawnError) as info:
        Client.spawn(["no-such-mcp-server-xyz"], env={"PATH": "/usr/bin:/bin"})
    assert "no-such-mcp-server-xyz" in str(info.value) and "/usr/bin:/bin" in str(info.value)
    with pytest.raises(SpawnError) as info:
        Client.spawn([str(tmp_path / "missing")])
    assert str(tmp_path / "missing") in str(info.value)
    with pytest.raises(SpawnError) as info:
        Client.spawn(zoo(), cwd=str(tmp_path / "no-dir"))
    assert str(tmp_path / "no-dir") in str(info.value) and info.value.cwd is not None
    assert time.monotonic() - started < 1.0


@pytest.mark.spec("BP-02", "TR-06")
def test_sc21_the_wire_stays_utf8_whatever_the_servers_locale(inv):
    """SC-21 (RL-23): the reference server under PYTHONIOENCODING=cp1252, LANG=C, LC_ALL=C
    and PYTHONUTF8=0: non-ASCII text round-trips exactly, as UTF-8 on the wire."""
    text = "ü 漢 🎉 — ✓中文😀"
    locale_env = {"PYTHONIOENCODING": "cp1252", "LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0"}
    with inv.spawn(SERVE, env=locale_env) as client:
        assert text_of(client.call_tool("echo", {"text": text})) == text
        assert text_of(client.call_tool("log", {"level": "info", "message": text})) == "logged"
    server = inv.raw(launcher(), env=dict(os.environ, **locale_env))
    server.initialize()
    server.send_frames(tool_call(2, "echo", {"text": text}), tool_call(3, "noisy"))
    assert text_of(server.wait_response(2)["result"]) == text
    server.wait_response(3, 10)
    assert server.finish() == 0
    assert text.encode("utf-8") in server.raw
    assert b"Traceback" not in server.stderr and b"UnicodeEncodeError" not in server.stderr
    # The locale did take effect: the handler's own print() of U+6F22 went to stderr through
    # cp1252, as an escape; only the wire is immune to it.
    assert b"leak: non-ASCII \\u6f22" in server.stderr, server.stderr[-300:]


# ================================================================================================
# SC-22 (P1): notification flood
# ================================================================================================

@pytest.mark.spec("BP-13", "TO-01")
def test_sc22_a_notification_flood_with_a_slow_callback_never_delays_answers(inv, tmp_path,
                                                                            caplog):
    """SC-22 (RL-33): 100k 1 KiB notifications; the callback takes 10 ms each. With
    ``notification_queue`` the reader never waits for it: calls are answered within 1 s,
    memory stays bounded, and what did not fit is counted and reported."""
    caplog.set_level(logging.WARNING, logger="mcp_ref.client")
    inv.max_rss = 48 * MIB
    argv, log = zoo_logged(inv, tmp_path, "notif-flood=100000")
    taken = []

    def slow_callback(method, params):
        taken.append(method)
        threading.Event().wait(0.01)            # a slow application callback (the scenario)

    with inv.spawn(argv, on_notification=slow_callback, notification_queue=1000) as client:
        flood = client.call_tool_async("wait-flood", timeout=60)
        inv.handles(flood)
        latencies = []
        while not flood.done():
            started = time.monotonic()
            assert text_of(client.call_tool("echo", {"text": "x"}, timeout=5)) == "x"
            latencies.append(time.monotonic() - started)
        assert text_of(flood.result()) == "flood done"
        queued = client._notifications.qsize()
        dropped = client.notifications_dropped
        assert len(taken) + dropped + queued == 100_000, (len(taken), dropped, queued)
    assert latencies and max(latencies) < 1.0, latencies
    assert dropped > 0
    assert any(f"dropped {dropped} notifications" in r.getMessage() for r in caplog.records)
    assert zoo_events(log, "answer") == []                   # BP-13: none was answered


# ================================================================================================
# SC-23 (P1): lockstep and a server that never flushes
# ================================================================================================

@pytest.mark.spec("PG-02")
def test_sc23_lockstep_pings_are_each_answered_at_once(inv):
    """SC-23 (RL-30): the reference server flushes every frame: 20 pings in lockstep."""
    server = inv.raw()
    server.initialize()
    for i in range(20):
        started = time.monotonic()
        server.send_frames(request(i, "ping"))
        server.wait_response(i, 1.0)
        assert time.monotonic() - started < 1.0
    assert server.finish() == 0


@pytest.mark.spec("TO-06", "CN-03")
def test_sc23_a_server_that_never_flushes_gives_a_clear_timeout(inv, tmp_path):
    """SC-23 (RL-30, C): frames stuck in the server's buffer: a typed timeout, not a hang."""
    handshake_times_out(inv, tmp_path, "no-flush")


# ================================================================================================
# SC-24 (P1): many connect/close cycles
# ================================================================================================

@pytest.mark.spec("TR-13")
def test_sc24_a_hundred_connect_close_cycles_twenty_in_parallel(inv, caplog):
    """SC-24 (RL-14): 100 cycles, 20 at a time, each closing with server notifications still
    unread: no ERROR log, no ResourceWarning, no exception; fds, threads, children at baseline
    (I3, I4)."""
    import gc
    caplog.set_level(logging.WARNING, logger="mcp_ref")
    inv.max_seconds = 90
    failures = []
    pids = []
    lock = threading.Lock()

    def cycles():
        try:
            for _ in range(5):
                with Client.spawn(zoo("notify-after-init=5")) as client:
                    with lock:
                        pids.append(client.pid)
                    client.ping()
        except Exception as exc:     # noqa: BLE001 - reported below
            failures.append(repr(exc))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        threads = [threading.Thread(target=cycles, name=f"sc24-{i}") for i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
        gc.collect()
    assert not any(t.is_alive() for t in threads)
    assert failures == []
    assert len(pids) == 100
    for pid in pids:
        inv.process(pid)
    resource = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert resource == []
    errors = [r.getMessage() for r in caplog.records
              if r.levelno >= logging.ERROR and r.name != "mcp_ref.server_stderr"]
    assert errors == []


# ================================================================================================
# SC-25 (P2): the client dies, but another process holds the server's stdin open
# ================================================================================================

#: The server's parent (argv: ROOT, serve's options). Like an ``npm exec`` wrapper it relays the
#: client's bytes to the server's stdin, and it has forked a sleeper that inherited the write end
#: of that pipe: once the wrapper dies, the sleeper keeps the pipe open and no EOF comes. The
#: sleeper gives up the stdout and stderr it inherited, so that once the server has exited the
#: test sees EOF on both and knows it has all the server wrote.
WRAPPER = r'''
import os, signal, subprocess, sys
r, w = os.pipe()                                # the server's stdin; we write to w
server = subprocess.Popen([sys.executable, "-m", "mcp_ref", "serve", *sys.argv[2:]],
                          cwd=sys.argv[1], stdin=r)
os.close(r)
sleeper = os.fork()
if sleeper == 0:                                # the sleeper: holds w
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    while True:
        signal.pause()
sys.stderr.write("wrapper: server %d sleeper %d\n" % (server.pid, sleeper))
sys.stderr.flush()
while True:                                     # the client's bytes, to the server's stdin
    chunk = os.read(0, 65536)
    if not chunk:
        break
    os.write(w, chunk)
os.close(w)
sys.exit(server.wait())
'''

PR_SET_CHILD_SUBREAPER = 36                     # <linux/prctl.h>


@pytest.fixture
def subreaper():
    """Make the test process a child subreaper while the test runs, as ``systemd --user`` is on
    a desktop: orphans of the processes it starts are reparented to it rather than to PID 1,
    so the test can reap them and read their exit status (:func:`reap`)."""
    import ctypes
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    if prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        pytest.skip(f"prctl(PR_SET_CHILD_SUBREAPER): errno {ctypes.get_errno()}")
    yield
    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def reap(pid, timeout):
    """Wait up to ``timeout`` s for our child ``pid`` to exit; its exit status, or None if it
    still runs then. A pidfd becomes readable when the process exits: a wait on an event."""
    pidfd = os.pidfd_open(pid)
    try:
        exited, _, _ = select.select([pidfd], [], [], timeout)
    finally:
        os.close(pidfd)
    if not exited:
        return None
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@contextlib.contextmanager
def wrapped_server(inv, *options):
    """The reference server started by :data:`WRAPPER` with ``options``, handshake done. Yields
    (the wrapper as a RawServer, the server's pid, the sleeper's pid); then kills whatever is
    left of the three (they share the wrapper's process group) and reaps it."""
    wrapper = inv.raw([sys.executable, "-c", WRAPPER, ROOT, *options])
    assert wrapper.wait_stderr(b"sleeper", 10), wrapper.stderr
    words = wrapper.stderr.split(b"wrapper: ", 1)[1].split()
    server_pid, sleeper_pid = int(words[1]), int(words[3])
    inv.process(server_pid, wrapper.pgid)
    inv.process(sleeper_pid, wrapper.pgid)
    try:
        wrapper.initialize()
        yield wrapper, server_pid, sleeper_pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(wrapper.pgid, signal.SIGKILL)
        wrapper.close()                       # reaps the wrapper: the others are ours now
        for pid in (server_pid, sleeper_pid):
            with contextlib.suppress(ProcessLookupError, ChildProcessError):   # reaped already
                reap(pid, 10)


def kill_the_wrapper(wrapper):
    """The client is gone (our end of its stdin closed), and so is the wrapper, by SIGKILL."""
    wrapper.close_stdin()
    os.kill(wrapper.pid, signal.SIGKILL)
    assert wrapper.wait_exit(5) == -signal.SIGKILL


@pytest.mark.usefixtures("subreaper")
def test_sc25_with_the_watchdog_the_server_exits_once_its_parent_dies(inv):
    """SC-25 (RL-04): ``serve --watchdog 0.2``: the wrapper is SIGKILLed while the sleeper
    holds the server's stdin open. The server notices that its parent is gone and shuts down
    as at stdin EOF (D-18, D-33): the call in flight is still answered, then exit 0, within
    one interval plus the drain bound."""
    with wrapped_server(inv, "--watchdog", "0.2") as (wrapper, server_pid, _):
        wrapper.send_frames(tool_call(2, "slow", {"seconds": 0.8, "steps": 8}, token="p"))
        wait_progress(wrapper)
        kill_the_wrapper(wrapper)
        bound = 0.2 + DEFAULT_DRAIN_TIMEOUT + 1.5    # interval, drain, slack
        assert reap(server_pid, bound) == 0
        assert text_of(wrapper.wait_response(2, 5)["result"]) == "slept 0.8 s in 8 steps"
        assert wrapper.wait_stderr(b"our parent is gone, but stdin is still open", 5)
        assert wrapper.wait_stderr_eof(5)             # the server is gone: all it wrote is here
        assert b"Traceback" not in wrapper.stderr


@pytest.mark.usefixtures("subreaper")
def test_sc25_with_a_parent_pid_the_server_exits_once_that_process_dies(inv):
    """SC-25: ``--parent-pid`` watches another process than the parent, e.g. the client
    above a wrapper that survives it. Here the wrapper stays; the watched "client" dies."""
    client = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"],
                              start_new_session=True)
    inv.process(client.pid)
    try:
        with wrapped_server(inv, "--watchdog", "0.2", "--parent-pid", str(client.pid)) as (
                wrapper, _, _):
            client.kill()
            client.wait(5)                    # reaped: now no process has that pid
            wrapper.close_stdin()             # only the sleeper holds the server's stdin now
            assert wrapper.wait_exit(5) == 0  # the wrapper passes on the server's exit status
            assert wrapper.wait_stderr(b"process %d is gone" % client.pid, 5)
            assert wrapper.wait_stderr_eof(5)
            assert b"Traceback" not in wrapper.stderr
    finally:
        if client.poll() is None:
            client.kill()
            client.wait(5)


@pytest.mark.spec("TR-14")
@pytest.mark.usefixtures("subreaper")
def test_sc25_without_the_watchdog_the_server_lives_until_its_stdin_closes(inv):
    """SC-25, the default (documented in D-33 and the README): with its parent dead and the
    client gone, the server still runs as long as some process holds its stdin open; once the
    last holder exits, EOF arrives and the server exits 0 on its own (TR-14)."""
    with wrapped_server(inv) as (wrapper, server_pid, sleeper_pid):
        kill_the_wrapper(wrapper)
        assert reap(server_pid, 1.0) is None          # five times the watchdog's interval above
        os.kill(sleeper_pid, signal.SIGKILL)
        assert reap(sleeper_pid, 5) == -signal.SIGKILL
        assert reap(server_pid, 5) == 0


# ================================================================================================
# SC-28 (P2): a server embedded in a program that carries on afterwards
# ================================================================================================

#: A program that runs a Server over its own stdio (argv: ROOT, "plain" | "overlap"), then
#: reports on stdout, through the sys.stdout it had before, what it finds afterwards.
EMBEDDED = r'''
import json, os, signal, sys, threading
sys.path.insert(0, sys.argv[1])
from mcp_ref.server import Server

def stdio():
    """What fds 0 and 1 point at, and which fds are open."""
    where = [(os.fstat(fd).st_dev, os.fstat(fd).st_ino) for fd in (0, 1)]
    return where, sorted(os.listdir("/proc/self/fd"))

before, stdin, stdout = stdio(), sys.stdin, sys.stdout
events = []
server = Server("embedded")

@server.tool(description="Reports progress, then waits `seconds` or until cancelled.",
             input_schema={"type": "object", "properties": {"seconds": {"type": "number"}}})
def work(arguments, context):
    context.progress(1)
    context.wait_cancelled(arguments["seconds"])
    events.append("handler returned")
    return "done"

@server.on_shutdown
def cleanup():
    print("hook: cleaning up")                  # stdout is still guarded: this goes to stderr
    events.append("hook")

if sys.argv[2] == "overlap":
    @server.on_shutdown
    def broken():
        raise RuntimeError("cleanup failed")

    @server.on_shutdown
    def escalate():                             # runs first: the client's SIGTERM, mid-cleanup
        os.kill(os.getpid(), signal.SIGTERM)

status = server.run_stdio(watchdog=60.0)        # never fires here; its thread must end too
for thread in threading.enumerate():
    if thread is not threading.main_thread():
        thread.join(5)
print("after", json.dumps({"status": status, "events": events, "stdio_back": stdio() == before,
                           "objects_back": sys.stdin is stdin and sys.stdout is stdout,
                           "threads": threading.active_count()}))
sys.stderr.write("embedded: done\n")            # the last line on stderr
'''


def run_embedded(inv, mode, end, call_seconds=None):
    """Run :data:`EMBEDDED` over real pipes; ``end(server)`` ends the session. Returns the
    RawServer and the program's report. The report is the program's own line on what was
    the server's stdout, after the frames; so I7 is checked here, on the frames before it."""
    inv.allow_impure_wire = True
    server = inv.raw([sys.executable, "-c", EMBEDDED, ROOT, mode])
    server.initialize()
    if call_seconds is not None:
        server.send_frames(tool_call(2, "work", {"seconds": call_seconds}, token="w"))
        wait_progress(server)
    end(server)
    assert server.finish(10) == 0                       # the program carried on, and ended well
    assert server.wait_stderr(b"embedded: done\n", 5)   # so stderr is complete as well
    *frames, last = bytes(server.raw).split(b"\n")[:-1]
    assert rawpipe.wire_problems(b"".join(frame + b"\n" for frame in frames)) == []
    assert last.startswith(b"after "), server.raw[-300:]
    return server, json.loads(last[len(b"after "):])


@pytest.mark.spec("TR-14", "TR-06")
@pytest.mark.parametrize("ending", ["eof", "SIGTERM", "SIGINT"])
def test_sc28_an_embedded_server_returns_runs_its_hook_once_and_gives_stdio_back(inv, ending):
    """SC-28 (RL-07): run_stdio() in a program of its own, over the real stdio, with a call in
    flight. At EOF it returns 0 once the call is answered (D-18); after a signal, 128 + n with
    the call given up. Either way the hook ran once, after the handler, with stdout still
    guarded; then fds 0 and 1, sys.stdin and sys.stdout are as before, no fd or thread is
    left, and print() reaches what stdout was: the client's pipe (D-32)."""
    def end(server):
        if ending == "eof":
            server.close_stdin()
        else:
            os.kill(server.pid, getattr(signal, ending))
    seconds = 0.3 if ending == "eof" else 30            # EOF drains it; a signal gives it up
    server, report = run_embedded(inv, "plain", end, call_seconds=seconds)
    status = 0 if ending == "eof" else 128 + getattr(signal, ending)
    assert report == {"status": status, "events": ["handler returned", "hook"],
                      "stdio_back": True, "objects_back": True, "threads": 1}
    assert len(server.responses(2)) == (1 if ending == "eof" else 0)
    assert b"hook: cleaning up\n" in server.stderr
    assert b"Traceback" not in server.stderr, server.stderr.decode(errors="replace")


@pytest.mark.spec("TR-14")
def test_sc28_the_hook_runs_once_when_a_signal_and_a_failing_hook_overlap_the_shutdown(inv):
    """SC-28: EOF ends the session; while the hooks run, a SIGTERM arrives (sent by one of
    them, as a client escalating mid-cleanup) and another hook raises. The signal only sets
    the flag (the session has ended: status 0), the failure is logged with its traceback, and
    every hook still runs, once."""
    server, report = run_embedded(inv, "overlap", lambda server: server.close_stdin())
    assert report == {"status": 0, "events": ["hook"], "stdio_back": True,
                      "objects_back": True, "threads": 1}
    assert server.stderr.count(b"hook: cleaning up\n") == 1
    assert b"on_shutdown hook" in server.stderr and b"RuntimeError: cleanup failed" in server.stderr


class BreakingTransport(StdioServerTransport):
    """A transport whose stdin fails (EIO, as from a revoked terminal) once ``broken`` is set."""

    def __init__(self, *args, **options):
        super().__init__(*args, **options)
        self.broken = threading.Event()

    def read(self, timeout=None):
        data = super().read(timeout)
        if self.broken.is_set():
            raise OSError(errno.EIO, "stdin: input/output error")
        return data


def test_sc28_the_hook_runs_once_after_the_handlers_when_serving_raises(inv):
    """SC-28: serving itself fails (stdin's read raises) while a handler runs. The handler is
    given up on at once, as after a signal; then the hook runs, once; then the error
    propagates out of serve()."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    transport = BreakingTransport(in_r, out_w, guard_stdout=False)
    server = Server("breaking")
    order = []

    @server.tool(input_schema={"type": "object"})
    def work(arguments, context):
        transport.broken.set()
        transport.interrupt()                 # the reader wakes, and its read fails
        context.wait_cancelled(30)
        order.append("handler returned")
        return "never sent"

    server.on_shutdown(lambda: order.append("hook"))
    os.write(in_w, b"".join(encode(frame) for frame in [
        request(1, "initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                  "clientInfo": {"name": "t", "version": "0"}}),
        notification("notifications/initialized"), tool_call(2, "work")]))
    try:
        with pytest.raises(OSError, match="input/output error"):
            server.serve(transport)
        assert order == ["handler returned", "hook"]
        transport.close()
        os.close(out_w)
        out_w = -1
        frames = [json.loads(line) for line in os.read(out_r, 1 << 16).splitlines()]
        assert [frame.get("id") for frame in frames] == [1]     # the call was given up
    finally:
        transport.close()
        for fd in (in_r, in_w, out_r, out_w):
            if fd >= 0:
                os.close(fd)
