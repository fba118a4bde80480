"""The server's keepalive pings (PG-04..PG-11, decision D-48).

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/ping

Two ways in:

* :class:`Served` runs ``Server.serve`` on a thread of the test, over two pipes, and the test
  is the client, writing raw frames and answering (or not) the server's pings. That way the
  test can look at the server's keepalive thread and capture its log records;
* ``python3 -m mcp_ref serve --keepalive ...`` in a real process, driven by
  :class:`rawpipe.RawServer`, for the command line and the stdio shell as a client meets it.

Short intervals (0.05 s); nothing sleeps to synchronise: every wait is on a frame, an event or
a thread, with a deadline.
"""

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from rawpipe import ROOT, SERVE, is_response, notification, request

from mcp_ref.server import Server
from mcp_ref.stdio import StdioServerTransport

#: The allowed error of a deadline, in seconds: generous, as in test_stdio, so that a loaded
#: CI machine does not fail a bound that only proves "on schedule, not never".
SLACK = 1.5


def is_ping(frame):
    return isinstance(frame, dict) and frame.get("method") == "ping" and "id" in frame


def is_cancel_of(request_id):
    return lambda f: (isinstance(f, dict) and f.get("method") == "notifications/cancelled"
                      and f.get("params", {}).get("requestId") == request_id)


class Served:
    """``server.serve`` on a thread, over pipes; the test writes the client's frames.

    Every stdout line must be one JSON object (TR-06: nothing but frames); ``pongs`` says how
    the reader answers the server's pings: ``"result"`` (``{}``), ``"error"`` (-32601, as a
    peer without ping would) or None (never: a dead peer)."""

    def __init__(self, server, pongs="result"):
        self.server = server
        self.pongs = pongs
        in_r, self._in_w = os.pipe()
        self._out_r, out_w = os.pipe()
        self._fds = [in_r, self._in_w, self._out_r, out_w]
        self.transport = StdioServerTransport(in_r, out_w, guard_stdout=False)
        self.frames = []
        self.ping_times = []
        self.status = None
        self.eof = False
        self._cond = threading.Condition()
        self._serving = threading.Thread(target=self._serve, daemon=True)
        self._reading = threading.Thread(target=self._read, daemon=True)
        self._serving.start()
        self._reading.start()

    def _serve(self):
        try:
            self.status = self.server.serve(self.transport)
        finally:
            self.transport.close()
            self._close(3)                      # the server's stdout: the client sees EOF

    def _read(self):
        tail = b""
        while True:
            chunk = os.read(self._out_r, 65536)
            with self._cond:
                if not chunk:
                    self.eof = True
                    self._cond.notify_all()
                    return
                *lines, tail = (tail + chunk).split(b"\n")
                for line in lines:
                    frame = json.loads(line)    # TR-06: a frame, nothing else, on stdout
                    self.frames.append(frame)
                    if is_ping(frame):
                        self.ping_times.append(time.monotonic())
                        self._pong(frame)
                self._cond.notify_all()

    def _pong(self, ping):
        if self.pongs == "result":
            self.send({"jsonrpc": "2.0", "id": ping["id"], "result": {}})
        elif self.pongs == "error":
            self.send({"jsonrpc": "2.0", "id": ping["id"],
                       "error": {"code": -32601, "message": "Method not found"}})

    def send(self, *frames):
        os.write(self._in_w, b"".join(json.dumps(f).encode() + b"\n" for f in frames))

    def wait_for(self, predicate, timeout=5.0):
        with self._cond:
            assert self._cond.wait_for(
                lambda: any(predicate(f) for f in self.frames) or self.eof, timeout), \
                self.frames[-3:]
            found = [f for f in self.frames if predicate(f)]
        assert found, f"EOF first; last frames: {self.frames[-3:]}"
        return found[0]

    def arrived_within(self, predicate, timeout):
        """True if a matching frame arrives within ``timeout`` s (expected to time out)."""
        with self._cond:
            return self._cond.wait_for(lambda: any(predicate(f) for f in self.frames), timeout)

    def wait_pings(self, count, timeout=5.0):
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.ping_times) >= count or self.eof,
                                       timeout), self.frames[-3:]
            assert len(self.ping_times) >= count, f"EOF after {len(self.ping_times)} pings"
            return list(self.ping_times)

    def initialize(self, initialized=True):
        self.send(request("init", "initialize", {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "keepalive-test", "version": "0"}}))
        self.wait_for(lambda f: is_response(f, "init"))
        if initialized:
            self.send(notification("notifications/initialized"))

    def close_stdin(self):
        self._close(1)

    def wait_ended(self, timeout=5.0):
        """The serve thread's exit status, once serving and the stdout reader have ended."""
        self._serving.join(timeout)
        self._reading.join(timeout)
        assert not self._serving.is_alive(), "serve() did not return"
        assert not self._reading.is_alive(), "no EOF on the server's stdout"
        return self.status

    def _close(self, index):
        fd, self._fds[index] = self._fds[index], None
        if fd is not None:
            os.close(fd)

    def release(self):
        """After the test: close what is left (stdin first, so that serve() ends), each fd
        once no thread of ours uses it: a reader left on a closed fd gets EBADF, or reads the
        pipe a later test opens under the same number (D-97)."""
        self.close_stdin()
        self._serving.join(5)
        if not self._serving.is_alive():        # it closed the server's stdout: EOF comes
            self._reading.join(5)
        for index in range(len(self._fds)):
            if (index != 3 or not self._serving.is_alive()) and (
                    index != 2 or not self._reading.is_alive()):
                self._close(index)


@pytest.fixture
def served():
    made = []

    def make(server, pongs="result"):
        made.append(Served(server, pongs))
        return made[-1]
    yield make
    for each in made:
        each.release()


@pytest.fixture
def warnings(caplog):
    """The WARNING (and worse) records of the mcp_ref.server logger."""
    caplog.set_level(logging.WARNING, logger="mcp_ref.server")
    return lambda: [r for r in caplog.records
                    if r.name == "mcp_ref.server" and r.levelno >= logging.WARNING]


def assert_thread_gone(server):
    assert server._keepalive is not None, "the keepalive never started"
    assert not server._keepalive.is_alive()
    assert "mcp_ref-server-keepalive" not in {t.name for t in threading.enumerate()}


# --- Pinging ---------------------------------------------------------------------------------

@pytest.mark.spec("PG-05", "PG-06", "PG-08", "PG-02")
def test_the_server_pings_an_idle_client_on_schedule_and_an_answer_keeps_it(served, warnings):
    server = Server("t", keepalive_interval=0.05, keepalive_timeout=5.0)
    peer = served(server)
    peer.initialize()
    started = time.monotonic()
    times = peer.wait_pings(4)
    # PG-06: every interval after the previous answer: never sooner (PG-08), not much later.
    gaps = [later - earlier for earlier, later in zip([started] + times, times)]
    assert all(gap >= 0.04 for gap in gaps[1:]), gaps
    assert times[3] - started < 4 * 0.05 + 2 * SLACK, gaps     # bounded, on a busy machine too
    ids = [f["id"] for f in peer.frames if is_ping(f)]
    assert len(set(ids)) == len(ids)                      # each ping a new request id
    assert all("params" not in f or set(f["params"]) <= {"_meta"}
               for f in peer.frames if is_ping(f))        # PG-01: no params
    assert server._keepalive.is_alive()                   # answered: the session goes on
    peer.send(request(1, "ping"))                         # and it still answers ours
    assert peer.wait_for(lambda f: is_response(f, 1))["result"] == {}
    peer.close_stdin()
    assert peer.wait_ended() == 0
    assert_thread_gone(server)
    assert warnings() == []


@pytest.mark.spec("PG-03", "LC-07")
def test_no_keepalive_ping_before_initialized(served):
    server = Server("t", keepalive_interval=0.05, keepalive_timeout=2.0)
    peer = served(server)
    peer.initialize(initialized=False)
    # LC-07 would allow a ping here, but the keepalive starts with operation (D-48): six
    # intervals pass without one.
    assert not peer.arrived_within(is_ping, 0.3)
    assert server._keepalive is None
    peer.send(notification("notifications/initialized"))
    peer.wait_pings(1)
    peer.close_stdin()
    assert peer.wait_ended() == 0
    assert_thread_gone(server)


@pytest.mark.spec("PG-04", "PG-12")
def test_an_error_answer_counts_as_alive(served, warnings):
    # The timeout is long on purpose: an answer that took longer on a loaded machine would
    # end the session for the wrong reason. The proof is that the thread goes on pinging.
    server = Server("t", keepalive_interval=0.05, keepalive_timeout=5.0)
    peer = served(server, pongs="error")
    peer.initialize()
    peer.wait_pings(4)                    # each ping answered -32601, and the pinging goes on
    assert server._keepalive.is_alive() and not peer.eof
    peer.close_stdin()
    assert peer.wait_ended() == 0
    assert_thread_gone(server)
    assert warnings() == []


# --- A client that stops answering -----------------------------------------------------------

@pytest.mark.spec("PG-04", "PG-09", "PG-11", "TO-02", "CN-01", "CN-02")
def test_a_client_that_never_answers_ends_the_session_with_one_warning(served, warnings):
    server = Server("t", keepalive_interval=0.05, keepalive_timeout=0.2)
    peer = served(server, pongs=None)
    peer.initialize()
    started = time.monotonic()
    ping = peer.wait_for(is_ping)
    # TO-02: the ping that timed out is cancelled, before the session ends.
    cancel = peer.wait_for(is_cancel_of(ping["id"]))
    assert "timed out" in cancel["params"]["reason"]
    assert peer.wait_ended() == 0                         # as at stdin EOF: exit status 0
    assert time.monotonic() - started < 0.05 + 0.2 + SLACK
    assert [f for f in peer.frames if is_ping(f)] == [ping]      # no ping after the missed one
    assert peer.frames[-1] == cancel                       # the last frame before EOF
    assert_thread_gone(server)
    [record] = warnings()                                  # PG-11: logged, once
    assert "keepalive" in record.getMessage() and "0.2 s" in record.getMessage()


class _OnWarning(logging.Handler):
    """Sets ``event`` at the first WARNING record: the keepalive has just given up."""

    def __init__(self, event):
        super().__init__(logging.WARNING)
        self.event = event

    def emit(self, record):
        self.event.set()


@pytest.mark.spec("PG-09", "TR-14")
def test_a_missed_ping_ends_the_session_as_eof_does_a_handler_in_flight_is_answered(served):
    """The session ends as at stdin EOF (D-18): a handler still running may finish within the
    drain time, and its answer is written before the server's stdout closes."""
    server = Server("t", keepalive_interval=0.05, keepalive_timeout=0.2)
    gave_up = threading.Event()

    @server.tool(description="Work until the keepalive has given up on the client.")
    def work(arguments, context):
        return "done" if gave_up.wait(5.0) else "the keepalive never gave up"

    watcher = _OnWarning(gave_up)
    logging.getLogger("mcp_ref.server").addHandler(watcher)
    try:
        peer = served(server, pongs=None)
        peer.initialize()
        peer.send(request(7, "tools/call", {"name": "work", "arguments": {}}))
        answer = peer.wait_for(lambda f: is_response(f, 7))
        assert answer["result"]["content"][0]["text"] == "done"
        assert peer.wait_ended() == 0
    finally:
        logging.getLogger("mcp_ref.server").removeHandler(watcher)
    [ping] = [f for f in peer.frames if is_ping(f)]
    assert any(is_cancel_of(ping["id"])(f) for f in peer.frames)    # TO-02
    assert_thread_gone(server)


# --- Stopping --------------------------------------------------------------------------------

@pytest.mark.spec("PG-05", "TR-14")
def test_eof_while_a_ping_waits_stops_the_thread_without_blaming_the_client(served, warnings):
    server = Server("t", keepalive_interval=0.05, keepalive_timeout=30.0)
    peer = served(server, pongs=None)
    peer.initialize()
    peer.wait_for(is_ping)                       # it now waits up to 30 s for the answer
    started = time.monotonic()
    peer.close_stdin()
    assert peer.wait_ended() == 0
    assert time.monotonic() - started < 1.0 + SLACK          # the drain time, not the ping's
    assert_thread_gone(server)
    assert warnings() == []


def test_a_signal_stops_the_keepalive_thread(served, warnings):
    server = Server("t", keepalive_interval=0.05, keepalive_timeout=2.0)
    peer = served(server)
    peer.initialize()
    peer.wait_pings(1)
    server._on_signal(signal.SIGTERM, None)      # what run_stdio's handler does
    assert peer.wait_ended() == 128 + signal.SIGTERM
    assert_thread_gone(server)
    assert warnings() == []


def test_keepalive_is_off_by_default(served):
    server = Server("t")
    peer = served(server)
    peer.initialize()
    peer.send(request(1, "ping"))
    peer.wait_for(lambda f: is_response(f, 1))
    assert server._keepalive is None
    assert not any(is_ping(f) for f in peer.frames)
    peer.close_stdin()
    assert peer.wait_ended() == 0


@pytest.mark.spec("PG-06", "PG-07")
@pytest.mark.parametrize("options", [
    {"keepalive_interval": 0}, {"keepalive_interval": -1.0},
    {"keepalive_interval": float("nan")}, {"keepalive_interval": float("inf")},
    {"keepalive_interval": "5"}, {"keepalive_interval": True},
    {"keepalive_interval": 5, "keepalive_timeout": 0},
    {"keepalive_interval": 5, "keepalive_timeout": None},
    {"keepalive_timeout": -2},
])
def test_invalid_keepalive_settings_are_refused(options):
    with pytest.raises(ValueError, match="keepalive (interval|timeout) must be"):
        Server("t", **options)


# --- The command line, over real stdio --------------------------------------------------------

@pytest.mark.spec("PG-05", "PG-09", "PG-11", "TR-06")
def test_serve_keepalive_exits_0_with_one_warning_when_the_client_stops_answering(inv):
    server = inv.raw(SERVE + ["--keepalive", "0.05", "--keepalive-timeout", "0.2"])
    server.initialize()
    ping = server.wait_for(is_ping)
    server.wait_for(is_cancel_of(ping["id"]))
    assert server.wait_exit(5.0) == 0
    assert server.wait_stderr_eof()
    lines = bytes(server.stderr).decode().splitlines()
    assert len(lines) == 1 and "WARNING" in lines[0] and "keepalive" in lines[0], lines
    assert server.wire_problems() == []                  # stdout: frames only


@pytest.mark.spec("PG-05", "PG-02")
def test_serve_keepalive_keeps_a_client_that_answers(inv):
    # A timeout no answer takes on a loaded machine (the default), yet several pings go out.
    server = inv.raw(SERVE + ["--keepalive", "0.05", "--keepalive-timeout", "10"])
    server.initialize()
    answered = []
    for _ in range(3):
        ping = server.wait_for(lambda f: is_ping(f) and f["id"] not in answered)
        answered.append(ping["id"])
        server.send_frames({"jsonrpc": "2.0", "id": ping["id"], "result": {}})
    server.send_frames(request(1, "tools/call", {"name": "echo", "arguments": {"text": "up"}}))
    assert server.wait_response(1)["result"]["content"][0]["text"] == "up"
    assert server.finish() == 0
    assert b"WARNING" not in bytes(server.stderr)


@pytest.mark.parametrize("words, problem", [
    (["--keepalive", "0"], b"keepalive interval must be"),
    (["--keepalive", "-1"], b"keepalive interval must be"),
    (["--keepalive", "inf"], b"keepalive interval must be"),
    (["--keepalive", "1", "--keepalive-timeout", "0"], b"keepalive timeout must be"),
    (["--keepalive", "soon"], b"invalid float value"),
    # Accepted and ignored before (D-62): as --parent-pid without --watchdog, it is refused.
    (["--keepalive-timeout", "1"], b"--keepalive-timeout needs --keepalive"),
])
def test_serve_refuses_bad_keepalive_options(words, problem):
    done = subprocess.run([sys.executable, "-m", "mcp_ref", "serve", *words], cwd=ROOT,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert done.returncode == 2 and problem in done.stderr, done.stderr
    assert done.stdout == b""


# --- The Keepalive itself --------------------------------------------------------------------

@pytest.mark.spec("PG-05", "PG-09")
def test_stop_ends_a_ping_that_waits_for_room_without_blaming_the_peer():
    """A peer that stops reading leaves the ping waiting for room in the outbox (D-38), for up
    to the ping's timeout. stop() (the session ending) must end that wait too, so that the
    owner's bounded join() finds the thread gone, and nobody is blamed."""
    from mcp_ref.connection import Connection
    from mcp_ref.lifecycle import Role
    from mcp_ref.session import Keepalive, Session

    waiting, never = threading.Event(), threading.Event()

    def no_room(deadline):      # Outbox.wait_for_room while the peer reads nothing: no room
        waiting.set()
        never.wait(5.0 if deadline is None else max(0.0, deadline - time.monotonic()))
        return False

    written = []
    session = Session(Connection(Role.SERVER), written.append, request_timeout=None,
                      max_total_timeout=None, wait_for_room=no_room)
    missed = []
    keepalive = Keepalive(session, 0.01, 30.0, missed.append)
    keepalive.start()
    assert waiting.wait(5.0), "the ping never waited for room"
    keepalive.stop()
    started = time.monotonic()
    assert keepalive.join(), "stop() did not end the ping's wait for room"
    assert time.monotonic() - started < 1.0 + SLACK
    assert missed == [] and written == []


# --- Cancellation of a reused id (this harness serves it well: the server in-process) ---------

@pytest.mark.spec("CN-05", "BP-05")
def test_a_cancel_reaches_a_request_that_reused_an_answered_id(served, monkeypatch):
    """Concurrency review F6. A client that breaks BP-05 uses the id of an answered request
    again (not refused, D-07) while the first request's worker has answered but not yet
    forgotten it. That worker must forget only its own request: the newer one's cancel must
    still reach its handler (CN-05)."""
    from mcp_ref import server as server_module
    from mcp_ref.session import Session

    server = Server("t")
    started, cancelled = threading.Event(), threading.Event()
    answered, hold, forgot = threading.Event(), threading.Event(), threading.Event()

    @server.tool(name="quick")
    def quick(arguments, context):
        return "quick"

    @server.tool(name="watch")
    def watch(arguments, context):
        started.set()
        if context.wait_cancelled(5.0):
            cancelled.set()
        return "watch"

    respond = Session.respond

    def respond_then_hold(self, request_id, result, **options):
        respond(self, request_id, result, **options)
        if result["content"][0]["text"] == "quick":
            answered.set()
            hold.wait(5)                    # the first worker, between its answer and forgetting

    forget = server_module.Server._forget

    def forget_and_tell(context, contexts):
        forget(context, contexts)
        if context.params.get("name") == "quick":
            forgot.set()

    monkeypatch.setattr(Session, "respond", respond_then_hold)
    monkeypatch.setattr(server_module.Server, "_forget", staticmethod(forget_and_tell))
    peer = served(server)
    peer.initialize()
    peer.send(request(1, "tools/call", {"name": "quick"}))
    peer.wait_for(lambda f: is_response(f, 1))
    assert answered.wait(5)
    peer.send(request(1, "tools/call", {"name": "watch"}))      # id 1 again
    assert started.wait(5), "the second request's handler never ran"
    hold.set()
    assert forgot.wait(5), "the first worker never forgot its request"
    peer.send(notification("notifications/cancelled", {"requestId": 1, "reason": "enough"}))
    assert cancelled.wait(5), "the cancel never reached the handler of the reused id"


# --- One session at a time (D-89) ------------------------------------------------------------

def test_a_server_serves_one_session_at_a_time(served):
    """D-89 (a vendorer's review): a second ``serve()`` of one Server while it served a
    session ran beside it, sharing the per-session state: the second session's start
    dropped the first's keepalive, the first's end stopped the second's, and each end ran
    the on_shutdown hooks. Now the second ``serve()``, and ``run_stdio()``, are RuntimeError
    at once, with nothing read and no hook run, and the first session goes on pinging."""
    server = Server("one", keepalive_interval=0.05, keepalive_timeout=5.0)
    hooks = []
    server.on_shutdown(lambda: hooks.append("ran"))
    first = served(server)
    first.initialize()
    first.wait_pings(1)
    fds = os.pipe() + os.pipe()
    try:
        os.close(fds[1])                    # if it served, this session would end at once
        fds = (fds[0], None) + fds[2:]
        second = StdioServerTransport(fds[0], fds[3], guard_stdout=False)
        with pytest.raises(RuntimeError, match="already serving a session"):
            server.serve(second)
        second.close()
        third = StdioServerTransport(fds[0], fds[3], guard_stdout=False)
        with pytest.raises(RuntimeError, match="already serving a session"):
            server.run_stdio(transport=third)
        assert third._closed                # run_stdio closes what it was given, as ever
    finally:
        for fd in fds:
            if fd is not None:
                os.close(fd)
    assert hooks == []
    first.wait_pings(len(first.ping_times) + 2)       # the first session's keepalive lives
    first.close_stdin()
    assert first.wait_ended() == 0 and hooks == ["ran"]
    again = served(server)                  # once it has ended, the Server serves again
    again.close_stdin()
    assert again.wait_ended() == 0 and hooks == ["ran", "ran"]


# --- The harness itself (D-97) ---------------------------------------------------------------

def test_release_closes_no_fd_under_its_reader():
    """``Served.release()`` closed the reader's fd without waiting for the reader to see EOF:
    under load that thread's next ``os.read`` hit a closed fd (EBADF, a thread exception
    warning in a later test), or worse an fd number a later test had just opened, whose data
    it would take. Now the reader has ended before its fd is closed."""
    for _ in range(20):
        each = Served(Server("harness", keepalive_interval=None))
        each.initialize()
        each.release()
        assert not each._reading.is_alive()
