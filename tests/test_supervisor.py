"""SC-26: crash recovery with mcp_ref.supervisor.Supervisor against the zoo's crash modes.

shared/research/reliability-bank.md, RL-55 and scenario SC-26: bounded exponential backoff,
reset after a healthy uptime, FAILED after K quick crashes (keeping the last stderr), at most
one live server at any time, fast failure while down, and no replay of calls in flight.

The zoo (tests/fixtures/zoo.py) crashes on the N-th call (``exit-on-nth-call``), at start
(``die-before-init``) or SIGKILLs itself (``kill9-mid-call``). Each test tags its zoo's
command line so it can count its live server processes from /proc. The supervisor's
``on_event`` callback runs on the supervisor thread while the supervisor is in the state the
event names, so checks made there ("one live server when one was spawned", "a call fails
fast during the backoff") are deterministic. The ``inv`` fixture checks I1-I7 afterwards.
"""

import queue
import sys
import threading
import time
import uuid

import pytest

import rawpipe
from rawpipe import zoo, zoo_events
from mcp_ref.errors import ConnectionClosed
from mcp_ref.transcript import Transcript
from mcp_ref.supervisor import (BACKOFF, CLOSED, FAILED, RUNNING, ServerUnavailable,
                                Supervisor)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="counts processes in /proc (Linux)")


class FakeClock:
    """The supervisor's uptime clock: real time plus an offset a test can jump forward."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self):
        return time.monotonic() + self.offset


def live_servers(tag):
    """Our live child processes whose command line carries ``tag``."""
    found = []
    for pid, state in rawpipe.our_children().items():
        if state in ("Z", "X"):
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if tag.encode() in f.read():
                    found.append(pid)
        except OSError:
            pass
    return found


class Watcher:
    """on_event for the tests: records what it saw while the supervisor is in each state."""

    def __init__(self, tag):
        self.tag = tag
        self.supervisor = None
        self.spawned = queue.Queue()
        self.live_at_spawn = []
        self.live_at_backoff = []
        self.probes = []

    def __call__(self, event):
        if event.kind == "spawned":
            self.live_at_spawn.append(len(live_servers(self.tag)))
            self.spawned.put(event.pid)
        elif event.kind == "backoff":
            self.live_at_backoff.append(len(live_servers(self.tag)))
            started = time.monotonic()
            try:
                self.supervisor.call_tool("echo", {"text": "while down"})
                self.probes.append("answered while down")
            except ServerUnavailable as exc:
                self.probes.append((time.monotonic() - started, exc.state, exc.exit_code,
                                    exc.stderr_tail))


def supervised(inv, tmp_path, *modes, clock=None, **options):
    tag = f"tag=sup-{uuid.uuid4().hex[:8]}"
    log = inv.zoo_log(tmp_path / "zoo.jsonl")
    watcher = Watcher(tag)
    supervisor = Supervisor(zoo(f"log={log}", tag, *modes), on_event=watcher,
                            clock=clock or time.monotonic, **options)
    watcher.supervisor = supervisor
    return supervisor, watcher, log


def track_servers(inv, log):
    for start in zoo_events(log, "start"):
        inv.process(start["pid"])


def delays(supervisor):
    return [e.detail for e in supervisor.events if e.kind == "backoff"]


@pytest.mark.spec("TR-15", "TR-16")
def test_sc26_a_crashing_server_is_restarted_with_capped_exponential_backoff(inv, tmp_path):
    """SC-26: crash on every third call; restarts after 0.1, 0.2, 0.4, 0.4 s (capped); one
    live server at a time; the crashing call fails ConnectionClosed and is never replayed;
    calls while down fail at once with ServerUnavailable carrying the exit code and stderr."""
    supervisor, watcher, log = supervised(inv, tmp_path, "exit-on-nth-call=3", "exit=3",
                                          "stderr=boom", initial_backoff=0.1, max_backoff=0.4,
                                          healthy_after=30, max_failures=10)
    pids = []
    with supervisor:
        for round_ in range(5):
            pid = watcher.spawned.get(timeout=15)
            pids.append(pid)
            assert supervisor.client().pid == pid
            for i in (1, 2):
                result = supervisor.call_tool("echo", {"text": f"{round_}-{i}"}, timeout=10)
                assert result["content"][0]["text"] == f"{round_}-{i}"
            if round_ == 4:
                break
            with pytest.raises(ConnectionClosed) as info:
                supervisor.call_tool("echo", {"text": f"{round_}-crash"}, timeout=10)
            assert info.value.exit_code == 3 and "boom" in info.value.stderr_tail
        assert supervisor.state == RUNNING
    assert supervisor.state == CLOSED
    track_servers(inv, log)
    assert delays(supervisor) == [0.1, 0.2, 0.4, 0.4]
    assert len(set(pids)) == 5
    assert watcher.live_at_spawn == [1] * 5                  # at most one live server
    assert watcher.live_at_backoff == [0] * 4                # the dead one was reaped
    assert len(watcher.probes) == 4
    for elapsed, state, exit_code, stderr_tail in watcher.probes:
        assert elapsed < 0.1 and state == BACKOFF             # fast, typed, informative
        assert exit_code == 3 and "boom" in stderr_tail
    texts = [e["msg"]["params"]["arguments"]["text"] for e in zoo_events(log, "got")
             if e["msg"].get("method") == "tools/call"]
    for round_ in range(4):
        assert texts.count(f"{round_}-crash") == 1            # never replayed
    assert "while down" not in texts


@pytest.mark.spec("TR-16")
def test_sc26_the_backoff_resets_after_a_healthy_uptime(inv, tmp_path):
    """SC-26: quick crashes double the delay; a server that ran ``healthy_after`` seconds
    (the clock jumps: no waiting) starts the count again."""
    clock = FakeClock()
    supervisor, watcher, log = supervised(inv, tmp_path, "exit-on-nth-call=1", clock=clock,
                                          initial_backoff=0.05, max_backoff=10,
                                          healthy_after=60, max_failures=10)
    with supervisor:
        for round_ in range(5):
            watcher.spawned.get(timeout=15)
            if round_ == 2:
                clock.offset += 60                             # this one ran for a minute
            if round_ == 4:
                break
            with pytest.raises(ConnectionClosed):
                supervisor.call_tool("echo", {"text": "crash"}, timeout=10)
    track_servers(inv, log)
    assert delays(supervisor) == [0.05, 0.1, 0.05, 0.1]


@pytest.mark.spec("TR-15", "TR-16", "LC-20")
def test_sc26_a_server_crashing_at_start_ends_in_failed_with_its_last_stderr(inv, tmp_path):
    """SC-26: die-before-init every time: FAILED after three attempts, with the exit code and
    stderr of the last one; calls fail fast; no process left behind."""
    supervisor, watcher, log = supervised(inv, tmp_path, "die-before-init", "exit=7",
                                          "stderr=boom", initial_backoff=0.05,
                                          max_failures=3)
    with supervisor:
        assert supervisor.wait_for_state(FAILED, timeout=15)
        started = time.monotonic()
        with pytest.raises(ServerUnavailable) as info:
            supervisor.ping()
        assert time.monotonic() - started < 0.1
        assert info.value.state == FAILED
        assert info.value.exit_code == 7 and "boom" in info.value.stderr_tail
    track_servers(inv, log)
    assert [e.kind for e in supervisor.events] == [
        "spawn-failed", "backoff", "spawn-failed", "backoff", "spawn-failed", "failed",
        "closed"]
    assert delays(supervisor) == [0.05, 0.1]
    assert len(zoo_events(log, "start")) == 3
    error = supervisor.last_error
    assert isinstance(error, ConnectionClosed) and error.exit_code == 7
    assert all(elapsed < 0.1 and state == BACKOFF for elapsed, state, _, _ in watcher.probes)


@pytest.mark.spec("TR-15", "TR-16")
def test_sc26_calls_in_flight_when_the_server_dies_fail_and_are_never_replayed(inv, tmp_path):
    """SC-26: three calls in flight, then the server SIGKILLs itself: each fails with
    ConnectionClosed (signal 9); the next server never sees them."""
    supervisor, watcher, log = supervised(inv, tmp_path, "kill9-mid-call=4", "stderr=boom",
                                          initial_backoff=0.05, healthy_after=30)
    with supervisor:
        watcher.spawned.get(timeout=15)
        client = supervisor.client()
        in_flight = [client.call_tool_async("never", {"text": f"in-flight-{i}"}, timeout=None)
                     for i in range(3)]
        inv.handles(*in_flight)
        with pytest.raises(ConnectionClosed):
            supervisor.call_tool("never", {"text": "the fourth"}, timeout=10)
        for handle in in_flight:
            with pytest.raises(ConnectionClosed) as info:
                handle.result()
            assert info.value.signal == 9 and "boom" in info.value.stderr_tail
        second = watcher.spawned.get(timeout=15)
        assert supervisor.client().pid == second
        supervisor.ping()
    track_servers(inv, log)
    by_pid = {}
    for event in zoo_events(log, "got"):
        if event["msg"].get("method") == "tools/call":
            by_pid.setdefault(event["pid"], []).append(
                event["msg"]["params"]["arguments"]["text"])
    assert list(by_pid.values()) == [["in-flight-0", "in-flight-1", "in-flight-2",
                                      "the fourth"]]      # the first server only: no replay


@pytest.mark.spec("TR-13")
def test_sc26_close_ends_a_backoff_at_once_and_leaves_nothing(inv, tmp_path):
    """SC-26: close() during a 30 s backoff returns at once; afterwards every call fails fast
    with state ``closed``; no server, no thread, no fd is left (I3, I4)."""
    supervisor, watcher, log = supervised(inv, tmp_path, "exit-on-nth-call=1",
                                          initial_backoff=30, max_backoff=30)
    supervisor.start()
    try:
        watcher.spawned.get(timeout=15)
        with pytest.raises(ConnectionClosed):
            supervisor.call_tool("echo", {"text": "crash"}, timeout=10)
        assert supervisor.wait_for_state(BACKOFF, timeout=10)
    finally:
        started = time.monotonic()
        supervisor.close()
    assert time.monotonic() - started < 1.0
    track_servers(inv, log)
    with pytest.raises(ServerUnavailable) as info:
        supervisor.ping()
    assert info.value.state == CLOSED
    supervisor.close()                                          # idempotent


@pytest.mark.spec("TR-13")
def test_sc26_close_while_running_shuts_the_server_down_politely(inv, tmp_path):
    """SC-26: close() while the server runs: the Client's ladder, first rung only."""
    supervisor, watcher, log = supervised(inv, tmp_path, initial_backoff=0.05)
    with supervisor:
        pid = watcher.spawned.get(timeout=15)
        supervisor.ping()
    track_servers(inv, log)
    assert rawpipe.wait_pid_gone(pid, 5)
    exited = [e for e in supervisor.events if e.kind == "exited"]
    assert [(e.pid, e.detail) for e in exited] == [(pid, 0)]    # exit code 0: EOF, no signal
    assert [e["event"] for e in zoo_events(log)][-2:] == ["eof", "exit"]


def test_supervisor_rejects_a_nonsensical_policy():
    with pytest.raises(ValueError):
        Supervisor(["true"], initial_backoff=0)
    with pytest.raises(ValueError):
        Supervisor(["true"], initial_backoff=2, max_backoff=1)
    with pytest.raises(ValueError):
        Supervisor(["true"], max_failures=0)


@pytest.mark.parametrize("option", ["initial_backoff", "max_backoff", "max_failures",
                                    "healthy_after"])
def test_supervisor_rejects_a_nan_in_its_policy(option):
    """D-30. Client review: NaN passed the checks, written as what must not hold. A NaN
    max_backoff made every backoff no wait at all (restarts without pause); a NaN
    max_failures never let a crash loop end in FAILED; a NaN healthy_after never counted a
    run as healthy."""
    with pytest.raises(ValueError, match="need 0 < initial_backoff"):
        Supervisor(["true"], **{option: float("nan")})


@pytest.mark.spec("TR-15", "TR-13")
def test_a_server_that_closes_stdout_but_runs_on_is_shut_down_and_restarted(inv, tmp_path):
    """Shell review finding 5: the server closes its stdout on the first call and keeps
    running. The session is over (TR-15), so the supervisor must not stay RUNNING on a dead
    connection: it shuts that server down with the Client's ladder (it exits at stdin EOF),
    backs off, and starts a new one, which answers."""
    supervisor, watcher, log = supervised(inv, tmp_path, "close-stdout-on-nth-call=1",
                                          initial_backoff=0.05, healthy_after=30)
    with supervisor:
        first = watcher.spawned.get(timeout=15)
        with pytest.raises(ConnectionClosed):
            supervisor.call_tool("echo", {"text": "closes stdout"}, timeout=10)
        second = watcher.spawned.get(timeout=10)
        assert second != first and rawpipe.wait_pid_gone(first, 5)
        assert "closed its stdout" in str(supervisor.last_error)
        supervisor.ping()
    track_servers(inv, log)
    assert [(e.pid, e.detail) for e in supervisor.events if e.kind == "exited"][0] == (first, 0)


def test_a_start_that_no_retry_can_fix_ends_in_failed_at_once(inv, tmp_path):
    """Shell review finding 6: a trace file in a missing directory makes Client.spawn raise
    FileNotFoundError, not an McpRefError. The supervisor thread used to die of it, leaving
    the state at "starting" for ever. Now the error is kept and the supervisor is FAILED at
    once: retrying cannot fix how it was set up."""
    missing = str(tmp_path / "no-such-dir" / "trace.jsonl")
    supervisor, watcher, log = supervised(inv, tmp_path, initial_backoff=0.05, trace=missing)
    with supervisor:
        assert supervisor.wait_for_state(FAILED, timeout=10)
        assert isinstance(supervisor.last_error, FileNotFoundError)
        with pytest.raises(ServerUnavailable) as info:
            supervisor.ping()
        assert info.value.state == FAILED and "no-such-dir" in str(info.value)
    assert [e.kind for e in supervisor.events] == ["spawn-failed", "failed", "closed"]


def test_an_unexpected_error_in_the_supervisor_thread_ends_in_failed(inv, tmp_path,
                                                                     monkeypatch):
    """The supervisor thread never dies silently: a bug inside it (simulated) leaves the
    state FAILED with the error kept, and waiters are woken."""
    supervisor, watcher, log = supervised(inv, tmp_path, initial_backoff=0.05)

    def broken():
        raise RuntimeError("a bug in the supervisor")

    monkeypatch.setattr(supervisor, "_run_once", broken)
    with supervisor:
        assert supervisor.wait_for_state(FAILED, timeout=10)
        assert isinstance(supervisor.last_error, RuntimeError)
    assert [e.kind for e in supervisor.events] == ["failed", "closed"]


def test_close_is_bounded_when_a_callback_holds_the_reader(inv, tmp_path, monkeypatch):
    """Shell review F3: an on_notification callback (it runs on the reader thread) that does
    not return. Client.close() leaves that thread behind after a bounded wait and says so;
    the supervisor thread, waiting for the session to end, must wake then too, or
    Supervisor.close() waits for ever."""
    import mcp_ref.client as client_module
    monkeypatch.setattr(client_module, "_THREAD_JOIN_TIMEOUT", 0.2)
    entered, release = threading.Event(), threading.Event()

    def stuck(method, params):
        entered.set()
        release.wait(30)

    supervisor, watcher, log = supervised(inv, tmp_path, "notify-after-init=1",
                                          initial_backoff=0.05, on_notification=stuck)
    closer = threading.Thread(target=supervisor.close, name="test-closer")
    supervisor.start()
    try:
        watcher.spawned.get(timeout=15)
        assert entered.wait(10)
        started = time.monotonic()
        closer.start()
        closer.join(10)
        assert not closer.is_alive(), "Supervisor.close() hung on the blocked reader"
        assert time.monotonic() - started < 5
        assert supervisor.state == CLOSED
    finally:
        release.set()
        if closer.ident is not None:
            closer.join(10)
        else:
            supervisor.close()
    track_servers(inv, log)


def test_an_on_event_callback_raising_system_exit_does_not_stop_supervising(inv, tmp_path):
    """Shell review F8: a broken on_event callback must not end the supervisor thread, even
    one that raises SystemExit (what sys.exit() or argparse does): the server still runs and
    answers."""
    tag = f"tag=sup-{uuid.uuid4().hex[:8]}"
    log = inv.zoo_log(tmp_path / "zoo.jsonl")
    seen = []

    def exits(event):
        seen.append(event.kind)
        raise SystemExit(2)

    with Supervisor(zoo(f"log={log}", tag), on_event=exits, initial_backoff=0.05) as supervisor:
        assert supervisor.wait_for_state(RUNNING, FAILED, timeout=15)
        assert supervisor.state == RUNNING
        assert supervisor.call_tool("echo", {"text": "still here"},
                                    timeout=10)["content"][0]["text"] == "still here"
    track_servers(inv, log)
    assert seen == ["spawned", "exited", "closed"]


def test_a_supervisor_failing_unexpectedly_shuts_its_live_server_down(inv, tmp_path,
                                                                     monkeypatch):
    """Shell review F8: a bug in the supervisor thread while a server runs (simulated: the
    wait for the session's end raises) ends in FAILED, and FAILED means no server: the live
    one is shut down then, not only when close() is called, and calls fail fast."""
    from mcp_ref.client import Client

    def broken(self, timeout=None):
        raise RuntimeError("a bug in the supervisor")

    monkeypatch.setattr(Client, "wait_closed", broken)
    supervisor, watcher, log = supervised(inv, tmp_path, initial_backoff=0.05)
    with supervisor:
        pid = watcher.spawned.get(timeout=15)
        assert supervisor.wait_for_state(FAILED, timeout=10)
        assert rawpipe.wait_pid_gone(pid, 5), "FAILED, but the server still runs"
        assert isinstance(supervisor.last_error, RuntimeError)
        with pytest.raises(ServerUnavailable) as info:
            supervisor.ping()
        assert info.value.state == FAILED
    track_servers(inv, log)


def test_close_is_bounded_when_on_event_never_returns(inv, tmp_path, caplog):
    """Every wait bounded: an on_event callback that blocks holds the supervisor thread, but
    close(timeout) returns after ``timeout`` with a warning, the server shut down all the same;
    once the callback returns, the thread ends without starting another server."""
    tag = f"tag=sup-{uuid.uuid4().hex[:8]}"
    log = inv.zoo_log(tmp_path / "zoo.jsonl")
    release, blocked = threading.Event(), threading.Event()
    spawned = queue.Queue()

    def on_event(event):
        if event.kind == "spawned":
            spawned.put(event.pid)
        elif event.kind == "exited":        # the supervisor thread, after close() began
            blocked.set()
            release.wait(30)

    supervisor = Supervisor(zoo(f"log={log}", tag), on_event=on_event, initial_backoff=0.05)
    supervisor.start()
    try:
        pid = spawned.get(timeout=15)
        caplog.set_level("WARNING", logger="mcp_ref.supervisor")
        started = time.monotonic()
        supervisor.close(timeout=0.5)
        assert blocked.is_set() and time.monotonic() - started < 15
        assert supervisor.state == CLOSED
        assert "leaving it behind" in caplog.text
        assert rawpipe.wait_pid_gone(pid, 5)
    finally:
        release.set()
        supervisor._thread.join(15)
    assert not supervisor._thread.is_alive()
    track_servers(inv, log)
    assert [e.kind for e in supervisor.events].count("spawned") == 1


# --- helper-62's review (D-78) -------------------------------------------------------------


def test_a_start_that_never_comes_up_is_never_healthy(inv):
    """D-78: a start that failed returned an uptime of 0, and with ``healthy_after=0`` that
    counted as healthy: the count started again at every attempt, and a missing command was
    retried for ever (hundreds of attempts a second at a short backoff), never FAILED."""
    supervisor = Supervisor(["/no/such/mcp-server"], initial_backoff=0.01, max_backoff=0.01,
                            healthy_after=0, max_failures=3)
    with supervisor:
        assert supervisor.wait_for_state(FAILED, timeout=10)
    assert [e.kind for e in supervisor.events] == ["spawn-failed", "backoff"] * 2 \
        + ["spawn-failed", "failed", "closed"]


class _SignalsInitialize(Transcript):
    """A client transcript that says when the handshake's first frame is written."""

    def __init__(self, path):
        super().__init__(path)
        self.initialize_sent = threading.Event()

    def frames(self, direction, data, state):
        super().frames(direction, data, state)
        if direction == "send" and b'"initialize"' in data:
            self.initialize_sent.set()


def test_close_during_a_start_shuts_that_server_down_without_blaming_it(inv, tmp_path):
    """D-78: close() while a server was being initialized: the supervisor shut the new server
    down, but recorded its "exited" with no "spawned" before it, waited 0.5 s more for it to
    exit on its own, and kept "the server closed its stdout" as the last error, though it
    was close() that ended it."""
    transcript = _SignalsInitialize(str(tmp_path / "client.jsonl"))
    supervisor, watcher, log = supervised(inv, tmp_path, "slow-init=1",
                                          initial_backoff=0.05, trace=transcript)
    supervisor.start()
    try:
        assert transcript.initialize_sent.wait(15)
    finally:
        supervisor.close()
    track_servers(inv, log)
    assert [e.kind for e in supervisor.events] == ["spawned", "exited", "closed"]
    spawned, exited, _ = supervisor.events
    assert spawned.pid == exited.pid and rawpipe.wait_pid_gone(spawned.pid, 5)
    assert supervisor.last_error is None


def test_a_call_once_close_has_begun_fails_as_closed(inv, tmp_path):
    """D-78: while close() shut the running server down, the state still read "running", and a
    call failed with "the supervised server is running". Once close() has begun, every call
    fails fast as closed."""
    seen = []
    supervisor, watcher, log = supervised(inv, tmp_path, initial_backoff=0.05)

    def on_event(event):
        watcher(event)
        if event.kind == "exited":                 # close() is shutting the server down
            try:
                supervisor.ping()
                seen.append("answered")
            except ServerUnavailable as exc:
                seen.append((exc.state, str(exc)))

    supervisor._on_event = on_event
    with supervisor:
        watcher.spawned.get(timeout=15)
        supervisor.ping()
    track_servers(inv, log)
    assert seen == [(CLOSED, "the supervised server is closed")]


@pytest.mark.parametrize("timeout", [float("nan"), float("inf")])
def test_waits_take_any_timeout_a_client_wait_takes(inv, tmp_path, timeout):
    """D-78: wait_for_state(timeout=nan) spun for ever at full CPU (Condition.wait_for never
    finds NaN passed), timeout=inf raised OverflowError, and close(timeout=nan) raised
    ValueError half way. They now read a timeout as the Client's waits do (session.waitable):
    NaN is no wait, inf as long as a lock can wait."""
    supervisor, watcher, log = supervised(inv, tmp_path, initial_backoff=0.05)
    outcome = []
    waiter = threading.Thread(target=lambda: outcome.append(
        supervisor.wait_for_state(RUNNING, timeout=timeout)), daemon=True)
    waiter.start()                          # while the supervisor is still STARTING
    if timeout != timeout:
        waiter.join(15)                     # NaN: no wait, before anything is spawned
    supervisor.start()
    try:
        waiter.join(15)
        assert not waiter.is_alive() and outcome == [timeout == float("inf")]
        watcher.spawned.get(timeout=15)
    finally:
        supervisor.close(timeout)
        supervisor.close()
    track_servers(inv, log)
    assert supervisor.state == CLOSED


# --- helper-68: the shell's leftovers (D-86) ------------------------------------------------


@pytest.mark.spec("TR-13")
def test_close_during_a_slow_start_ends_that_start_at_once(inv, tmp_path):
    """D-86: close() while the server was slow to answer initialize waited for the whole
    handshake timeout (here 20 s) before it returned: Client.spawn could not be interrupted.
    The supervisor now holds the client of a start in progress, and close() closes it (the
    Client's ladder), which ends the handshake at once. No child, thread or fd is left (the
    ``inv`` fixture: I3, I4), and close() is not the server's fault."""
    transcript = _SignalsInitialize(str(tmp_path / "client.jsonl"))
    supervisor, watcher, log = supervised(inv, tmp_path, "slow-init=60", initial_backoff=0.05,
                                          handshake_timeout=20, trace=transcript)
    supervisor.start()
    try:
        assert transcript.initialize_sent.wait(15)
    finally:
        started = time.monotonic()
        supervisor.close()
        took = time.monotonic() - started
    track_servers(inv, log)
    assert took < 10, f"close() took {took:.1f} s"
    assert not supervisor._thread.is_alive()
    assert [e.kind for e in supervisor.events] == ["spawned", "exited", "closed"]
    spawned, exited, _ = supervisor.events
    assert spawned.pid == exited.pid and rawpipe.wait_pid_gone(spawned.pid, 5)
    assert supervisor.last_error is None


@pytest.mark.parametrize("timeout", [None, "5", True])
def test_close_refuses_a_timeout_that_is_no_number_of_seconds(inv, tmp_path, timeout):
    """D-86: close(timeout=None) joined the supervisor thread without limit, so an on_event
    callback that never returned held close() for ever. Every wait is bounded: a timeout that
    is not a number is refused before anything is stopped (the default is
    DEFAULT_CLOSE_TIMEOUT; NaN and inf stay as D-78 reads them)."""
    supervisor, watcher, log = supervised(inv, tmp_path, initial_backoff=0.05)
    with supervisor:
        watcher.spawned.get(timeout=15)
        with pytest.raises(ValueError, match="bounded time"):
            supervisor.close(timeout)
        assert supervisor.state == RUNNING          # nothing was stopped
        supervisor.ping()
    track_servers(inv, log)
    assert supervisor.state == CLOSED


def test_the_supervisor_logs_through_lazy_logging(caplog):
    """D-86: the supervisor logged through ``logging`` directly, unlike every other module
    (D-29, D-73). Its records are the same: the logger's name, the level, the caller's line."""
    from mcp_ref import supervisor as module
    from mcp_ref._logging import LazyLogger
    assert isinstance(module.log, LazyLogger) and module.log.name == "mcp_ref.supervisor"
    events = []
    supervisor = Supervisor(["/no/such/mcp-server"], max_failures=1,
                            on_event=lambda event: events.append(event) or 1 / 0)
    caplog.set_level("DEBUG", logger="mcp_ref.supervisor")
    with supervisor:
        assert supervisor.wait_for_state(FAILED, timeout=10)
    raised = [r for r in caplog.records if r.getMessage() == "on_event raised for spawn-failed"]
    assert raised and raised[0].name == "mcp_ref.supervisor"
    assert raised[0].levelname == "ERROR" and raised[0].exc_info[0] is ZeroDivisionError
    assert raised[0].funcName == "_locked" and raised[0].pathname == module.__file__
