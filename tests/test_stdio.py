"""Tests of mcp_ref.stdio: spawning, reading, writing and the TR-13 shutdown ladder.

Every wait is bounded: reads use timeouts and every test checks its duration against a
deadline. Children that install signal handlers print ``ready`` first, so no test races a
child's start-up. Linux is assumed where /proc is used.
"""

import json
import os
import select
import selectors
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest
from helpers import ctrl_c_in_first_wait, signal_installed_outside_python

from mcp_ref.errors import ConnectionClosed, SpawnError
from mcp_ref.server import Server
from mcp_ref.stdio import (OUTBOX_HIGH_WATER, READ_CHUNK, ChildProcess, Outbox,
                           ParentWatchdog, StdioServerTransport)

HERE = os.path.dirname(os.path.abspath(__file__))
CHILD = os.path.join(HERE, "fixtures", "stdio_child.py")
GUARDED_SERVER = os.path.join(HERE, "fixtures", "guarded_server.py")
#: Slack on top of the graces for process start-up and scheduling on a busy machine.
SLACK = 1.5

_spawned = []


@pytest.fixture(autouse=True)
def _close_children():
    """Whatever a test does, never leave a child running."""
    yield
    while _spawned:
        _spawned.pop().close(stdin_grace=0.2, term_grace=0.2)


def spawn(mode, *args, **kwargs):
    child = ChildProcess.spawn([sys.executable, CHILD, mode] + list(args), **kwargs)
    _spawned.append(child)
    return child


def read_until(child, needle, timeout=5.0):
    """Read until ``needle`` has arrived (or EOF); fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    buf = b""
    while needle not in buf:
        left = deadline - time.monotonic()
        assert left > 0, "timed out waiting for %r; got %r" % (needle, buf[-200:])
        chunk = child.read(timeout=left)
        if chunk == b"":
            break
        buf += chunk or b""
    return buf


def read_to_eof(child, timeout=5.0):
    buf = read_until(child, b"\0never\0", timeout)
    return buf


def open_fd_count():
    return len(os.listdir("/proc/self/fd"))


def group_has_live_member(pgid):
    """True if a process of group ``pgid`` exists and is not a zombie (Linux /proc)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state not in ("Z", "X"):
            return True
    return False


def wait_for_exit_of(pid, timeout):
    """Wait for a process that is not our child to exit, with a pidfd (Linux >= 5.3)."""
    fd = os.pidfd_open(pid)
    try:
        readable, _, _ = select.select([fd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(fd)


# --- Reading and writing --------------------------------------------------------------------


@pytest.mark.spec("TR-01")
def test_echo_round_trip():
    child = spawn("echo")
    child.write(b'{"jsonrpc":"2.0","method":"ping","id":1}\n')
    assert read_until(child, b"\n") == b'{"jsonrpc":"2.0","method":"ping","id":1}\n'


def test_read_times_out_with_none():
    child = spawn("echo")
    start = time.monotonic()
    assert child.read(timeout=0.2) is None
    assert 0.15 < time.monotonic() - start < 0.2 + SLACK


def test_concurrent_writes_never_interleave():
    child = spawn("echo")
    lines_per_writer, line_len = 50, 4000

    def writer(letter):
        for _ in range(lines_per_writer):
            child.write(letter * line_len + b"\n")

    threads = [threading.Thread(target=writer, args=(c,)) for c in (b"a", b"b", b"c", b"d")]
    for t in threads:
        t.start()
    total = 4 * lines_per_writer * (line_len + 1)
    deadline = time.monotonic() + 10
    buf = b""
    while len(buf) < total:           # read concurrently, or the echo child stalls
        left = deadline - time.monotonic()
        assert left > 0
        buf += child.read(timeout=left) or b""
    for t in threads:
        t.join(5)
    lines = buf.split(b"\n")[:-1]
    assert len(lines) == 4 * lines_per_writer
    assert all(len(set(line)) == 1 and len(line) == line_len for line in lines)


def test_interrupt_read_wakes_a_blocked_reader():
    child = spawn("echo")
    result = []
    reader = threading.Thread(target=lambda: result.append(child.read(timeout=10)))
    reader.start()
    start = time.monotonic()
    child.interrupt_read()
    reader.join(5)
    assert not reader.is_alive()
    assert result == [None]
    assert time.monotonic() - start < 1.0
    # The wake-up was consumed: the next read waits (and times out) again.
    assert child.read(timeout=0.1) is None


@pytest.mark.spec("TR-13", "TR-15")
def test_close_wakes_a_blocked_reader_with_eof():
    child = spawn("ignore-eof")
    assert read_until(child, b"ready\n") == b"ready\n"
    result = []
    reader = threading.Thread(target=lambda: result.append(child.read(timeout=10)))
    reader.start()
    report = child.close(stdin_grace=0.3, term_grace=1.0)
    reader.join(5)
    assert not reader.is_alive()
    assert result == [b""]
    assert report.steps == ("close_stdin", "sigterm")
    assert report.stdout_bytes_discarded == 0
    assert child.read(timeout=1) == b""


# --- The shutdown ladder (TR-13) ------------------------------------------------------------


@pytest.mark.spec("TR-13", "TR-14")
def test_close_echo_takes_one_rung():
    child = spawn("echo")
    start = time.monotonic()
    report = child.close()
    assert report.steps == ("close_stdin",)
    assert report.exit_code == 0 and report.signal is None
    assert time.monotonic() - start < SLACK
    assert set(report.durations) == {"close_stdin"}
    assert "got-eof" in child.stderr_tail()


@pytest.mark.spec("TR-13")
def test_ignore_eof_needs_sigterm():
    child = spawn("ignore-eof")
    read_until(child, b"ready\n")
    start = time.monotonic()
    report = child.close(stdin_grace=0.3, term_grace=2.0)
    elapsed = time.monotonic() - start
    assert report.steps == ("close_stdin", "sigterm")
    assert report.signal == signal.SIGTERM and report.exit_code is None
    assert 0.25 < report.durations["close_stdin"] < 0.3 + SLACK
    assert elapsed < 0.3 + SLACK
    tail = child.stderr_tail()
    assert "got-eof" in tail and "got-sigterm" in tail


@pytest.mark.spec("TR-13")
def test_a_server_we_may_not_signal_is_reported_not_raised(monkeypatch, caplog):
    """Stdio review R2: a server running as another user (setuid) refuses our signals with
    EPERM. close() used to raise a bare PermissionError half way down the ladder, leaving
    fds and threads behind; now it says so, releases them, and reports no exit."""
    import mcp_ref.stdio as stdio_module
    child = spawn("ignore-term")
    read_until(child, b"ready\n")
    pgid = child.pgid

    def killpg(group, signum):
        if group == pgid:
            raise PermissionError(1, "Operation not permitted")
        os.killpg(group, signum)

    monkeypatch.setattr(stdio_module.os, "killpg", killpg)
    monkeypatch.setattr(stdio_module, "_KILL_REAP_TIMEOUT", 0.3)
    fds_before = len(os.listdir("/proc/self/fd"))
    try:
        report = child.close(stdin_grace=0.2, term_grace=0.2)
        assert report.steps == ("close_stdin", "sigterm", "sigkill")
        assert report.exit_code is None and report.signal is None   # it did not exit
        assert child.poll() is None
        assert sum("EPERM" in r.getMessage() for r in caplog.records) == 2
        assert len(os.listdir("/proc/self/fd")) < fds_before        # our ends are closed
        assert not child._stderr_thread.is_alive()
    finally:
        monkeypatch.undo()
        os.killpg(pgid, signal.SIGKILL)
        child.wait(5)


@pytest.mark.spec("TR-13")
def test_ignore_term_needs_sigkill():
    child = spawn("ignore-term")
    read_until(child, b"ready\n")
    start = time.monotonic()
    report = child.close(stdin_grace=0.3, term_grace=0.3)
    assert report.steps == ("close_stdin", "sigterm", "sigkill")
    assert report.signal == signal.SIGKILL
    assert time.monotonic() - start < 0.6 + SLACK
    assert "got-sigterm" in child.stderr_tail()


@pytest.mark.spec("TR-13")
def test_close_reaps_the_child():
    child = spawn("echo")
    child.close()
    with pytest.raises(ChildProcessError):     # already reaped: no zombie left behind
        os.waitpid(child.pid, os.WNOHANG)


@pytest.mark.spec("TR-13")
def test_grandchild_is_killed_with_the_group():
    child = spawn("grandchild")
    read_until(child, b"ready\n")
    start = time.monotonic()
    report = child.close(stdin_grace=2.0, term_grace=2.0)
    assert time.monotonic() - start < SLACK      # no waiting for the grandchild's pipes
    assert report.steps == ("close_stdin",) and report.exit_code == 0
    assert report.group_killed
    tail = child.stderr_tail()
    gpid = int(tail.split("grandchild-pid ")[1].split()[0])
    if hasattr(os, "pidfd_open"):
        assert wait_for_exit_of(gpid, 5.0), "grandchild still running"
        assert not group_has_live_member(child.pgid)
    # The dead grandchild is an orphan: the group is gone for good once PID 1 (its new
    # parent) has reaped it. When that happens is out of our hands (PID 1 in some sandboxes
    # reaps only every couple of seconds), so this is the one wait that is a bounded poll.
    deadline = time.monotonic() + 10
    while True:
        try:
            os.killpg(child.pgid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "process group %d still exists" % child.pgid
        threading.Event().wait(0.05)


@pytest.mark.spec("TR-13")
def test_close_is_idempotent_and_thread_safe():
    child = spawn("ignore-eof")
    read_until(child, b"ready\n")
    reports = []
    closers = [threading.Thread(target=lambda: reports.append(child.close(0.3, 1.0)))
               for _ in range(3)]
    for t in closers:
        t.start()
    for t in closers:
        t.join(0.3 + 1.0 + SLACK)
    assert len(reports) == 3 and all(r is reports[0] for r in reports)
    start = time.monotonic()
    assert child.close() is reports[0]
    assert time.monotonic() - start < 0.1


@pytest.mark.spec("TR-13")
def test_flood_stdout_is_drained_while_closing():
    child = spawn("flood-stdout")
    start = time.monotonic()
    report = child.close(stdin_grace=2.0, term_grace=2.0)
    assert time.monotonic() - start < 2.0 + SLACK
    assert report.steps == ("close_stdin",) and report.exit_code == 0
    assert report.stdout_bytes_discarded >= 8 * 1024 * 1024 - 65536
    assert "flood-done" in child.stderr_tail()


@pytest.mark.spec("TR-13")
@pytest.mark.spec("TO-01")
def test_a_write_never_waits_for_a_server_that_does_not_read():
    """D-38: write() queues what the pipe cannot take and returns; close()'s first rung gives
    the queue the stdin grace, then drops it and reports how much (TR-13)."""
    child = spawn("no-read")
    read_until(child, b"ready\n")
    size = 4 * 1024 * 1024
    writer = threading.Thread(target=child.write, args=(b"z" * size,))
    writer.start()
    writer.join(5)
    assert not writer.is_alive(), "write() waited for the server to read"
    start = time.monotonic()
    report = child.close(stdin_grace=0.3, term_grace=2.0)
    assert report.steps == ("close_stdin", "sigterm")
    assert time.monotonic() - start < 0.3 + SLACK
    # The pipe took at most a few MiB (its size is up to the kernel); the rest was dropped.
    assert 0 < report.stdin_bytes_discarded < size
    with pytest.raises(ConnectionClosed):
        child.write(b"{}\n")


# --- Errors and stderr ----------------------------------------------------------------------


@pytest.mark.spec("TR-01")
def test_spawn_missing_command():
    start = time.monotonic()
    with pytest.raises(SpawnError) as info:
        ChildProcess.spawn(["mcp-ref-no-such-command-xyz", "--stdio"])
    assert "mcp-ref-no-such-command-xyz" in str(info.value)
    assert "PATH" in str(info.value)
    assert info.value.argv == ["mcp-ref-no-such-command-xyz", "--stdio"]
    assert time.monotonic() - start < 2


@pytest.mark.spec("TR-01")
def test_a_missing_command_names_a_short_path_and_counts_the_directories_of_a_long_one():
    """D-110: the message quoted PATH however long, often hundreds of characters (a login
    shell's). A short one is still quoted: it is the clue when a desktop host gave the
    server /usr/bin:/bin (reliability RL-57, test_sc21_spawn_errors_are_immediate_...)."""
    long_path = os.pathsep.join("/mcp-ref-no-such-folder-%d" % n for n in range(40))
    for env, said in (({"PATH": long_path}, "in any of the 40 directories on PATH"),
                      ({"PATH": "/usr/bin:/bin"}, "on PATH '/usr/bin:/bin'")):
        with pytest.raises(SpawnError) as info:
            ChildProcess.spawn(["mcp-ref-no-such-command-xyz"], env=env)
        assert str(info.value) == ("cannot start the server: command "
                                   "'mcp-ref-no-such-command-xyz' not found " + said)


@pytest.mark.spec("TR-01")
def test_a_directory_given_as_the_command_is_said_to_be_one(tmp_path):
    """D-110: exec() of a directory fails with EACCES, which was said as "not executable
    (permission denied)", as if a chmod would help. A path, a path relative to ``cwd`` and
    a bare name found on PATH, each a directory."""
    folder = tmp_path / "server"
    folder.mkdir()
    for argv, options, named in (([str(folder)], {}, str(folder)),
                                 ([os.path.join(".", "server")], {"cwd": str(tmp_path)},
                                  os.path.join(str(tmp_path), ".", "server")),
                                 (["server"], {"env": {"PATH": str(tmp_path)}}, str(folder))):
        with pytest.raises(SpawnError) as info:
            ChildProcess.spawn(argv, **options)
        assert str(info.value) == "cannot start the server: %r is a directory, not a program" % (
            named,)


@pytest.mark.spec("TR-01")
def test_spawn_missing_cwd(tmp_path):
    missing = str(tmp_path / "no-such-dir")
    start = time.monotonic()
    with pytest.raises(SpawnError) as info:
        ChildProcess.spawn([sys.executable, "-c", "pass"], cwd=missing)
    assert missing in str(info.value)
    assert info.value.cwd == missing
    assert time.monotonic() - start < 2


def test_spawn_not_executable(tmp_path):
    script = tmp_path / "server.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o644)
    with pytest.raises(SpawnError, match="not executable"):
        ChildProcess.spawn([str(script)])


def test_spawn_empty_command():
    with pytest.raises(SpawnError):
        ChildProcess.spawn([])


@pytest.mark.spec("TR-04", "TR-05")
def test_exit_code_stderr_tail_and_write_after_exit():
    child = spawn("exit-code", "3")
    assert read_to_eof(child) == b""              # stdout EOF: the child is exiting...
    # ...but its stdin may still be open for a moment: the kernel releases an exiting
    # process's files in no promised order. Once it is reaped, they are all closed.
    assert child.wait(timeout=5) == 3
    with pytest.raises(ConnectionClosed):         # EPIPE
        child.write(b"{}\n")
    report = child.close()
    assert report.exit_code == 3 and child.exit_code == 3 and child.exit_signal is None
    assert "boom" in child.stderr_tail()
    with pytest.raises(ConnectionClosed) as info:
        child.write(b"{}\n")
    assert info.value.exit_code == 3 and "boom" in info.value.stderr_tail


@pytest.mark.spec("TR-04", "TR-05")
def test_stderr_is_drained_and_its_tail_bounded(caplog):
    caplog.set_level("INFO", logger="mcp_ref.server_stderr")
    child = spawn("stderr-flood", stderr_tail_bytes=4096)
    child.write(b"hello\n")
    assert read_until(child, b"\n", timeout=10) == b"hello\n"   # no deadlock on stderr
    child.close()
    tail = child.stderr_tail()
    assert len(tail) <= 4096 and tail.endswith("got-eof\n") and "flood-done" in tail
    messages = [r.getMessage() for r in caplog.records if r.name == "mcp_ref.server_stderr"]
    assert "flood-done" in messages and len(messages) > 2000


# --- Environment ----------------------------------------------------------------------------


@pytest.mark.spec("TR-01")
def test_env_is_merged_over_ours():
    child = spawn("print-env", "MCP_REF_X", "PATH", env={"MCP_REF_X": "1"})
    values = json.loads(read_to_eof(child))
    assert values["MCP_REF_X"] == "1" and values["PATH"] == os.environ["PATH"]


@pytest.mark.spec("TR-01")
def test_inherit_env_false_hides_our_variables(monkeypatch):
    monkeypatch.setenv("MCP_REF_SECRET", "sentinel")
    child = spawn("print-env", "MCP_REF_SECRET", "MCP_REF_X", "PATH",
                  env={"MCP_REF_X": "2"}, inherit_env=False)
    values = json.loads(read_to_eof(child))
    assert values["MCP_REF_SECRET"] is None
    assert values["MCP_REF_X"] == "2" and values["PATH"] == os.environ["PATH"]


# --- Resources ------------------------------------------------------------------------------


def test_no_fd_or_thread_leak_over_many_cycles():
    def cycle():
        with ChildProcess.spawn([sys.executable, CHILD, "echo"]) as child:
            child.write(b"x\n")
            assert read_until(child, b"\n") == b"x\n"

    cycle()                                       # warm up lazily opened resources
    fds, threads = open_fd_count(), threading.active_count()
    start = time.monotonic()
    for _ in range(50):
        cycle()
    assert open_fd_count() == fds
    assert threading.active_count() == threads
    assert time.monotonic() - start < 30


# --- The server's side ----------------------------------------------------------------------


@pytest.fixture
def pipes():
    """(transport, fd we write the server's stdin to, fd we read its stdout from)."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    transport = StdioServerTransport(in_r, out_w, guard_stdout=False)
    yield transport, in_w, out_r
    transport.close()
    for fd in (in_r, in_w, out_r, out_w):
        try:
            os.close(fd)
        except OSError:
            pass


def test_server_transport_read_write(pipes):
    transport, in_w, out_r = pipes
    os.write(in_w, b'{"id":1}\n')
    assert transport.read(timeout=5) == b'{"id":1}\n'
    assert transport.read(timeout=0.1) is None
    transport.write(b'{"ok":1}\n')
    assert os.read(out_r, 100) == b'{"ok":1}\n'


@pytest.mark.spec("TR-14")
def test_server_transport_eof(pipes):
    transport, in_w, _ = pipes
    assert not transport.at_eof
    os.close(in_w)
    assert transport.read(timeout=5) == b""
    assert transport.read(timeout=5) == b""
    assert transport.at_eof                       # the client's own EOF


def test_server_transport_interrupt(pipes):
    transport, _, _ = pipes
    result = []
    reader = threading.Thread(target=lambda: result.append(transport.read(timeout=10)))
    reader.start()
    start = time.monotonic()
    transport.interrupt()
    reader.join(5)
    assert result == [b""] and time.monotonic() - start < 1.0
    assert transport.read(timeout=5) == b""       # sticky: the server is shutting down
    assert not transport.at_eof                   # ... but stdin itself never ended


def test_server_transport_write_to_closed_stdout(pipes):
    transport, _, out_r = pipes
    os.close(out_r)
    with pytest.raises(ConnectionClosed, match="client closed"):
        transport.write(b"{}\n")


def test_server_transport_close_is_idempotent(pipes):
    transport, _, _ = pipes
    transport.close()
    transport.close()
    assert transport.read(timeout=1) == b""
    with pytest.raises(ConnectionClosed):
        transport.write(b"{}\n")


@pytest.mark.spec("TR-06")
def test_guard_stdout_keeps_stdout_for_frames():
    result = subprocess.run([sys.executable, GUARDED_SERVER], stdin=subprocess.DEVNULL,
                            capture_output=True, timeout=20)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b'{"ok":1}\n'
    for stray in (b"stray", b"raw", b"sub"):
        assert stray in result.stderr


# --- Other platforms, emulated on Linux (D-81) -----------------------------------------------


class _KqueueLikeSelector(selectors.PollSelector):
    """What kqueue (macOS, the BSDs; the default selector there) does with a regular file: it
    accepts it, but its read filter fires only while the file offset is before the end (XNU
    ``vnode_readable_data_count``; FreeBSD's kqueue(2): "Returns when the file pointer is not
    at the end of file"). Everything else as poll()."""

    def select(self, timeout=None):
        waiting = selectors.PollSelector()
        try:
            for key in self.get_map().values():
                st = os.fstat(key.fd)
                at_end = os.lseek(key.fd, 0, os.SEEK_CUR) >= st.st_size
                if not (stat.S_ISREG(st.st_mode) and at_end):
                    waiting.register(key.fd, key.events, key)
            return [(key.data, events) for key, events in waiting.select(timeout)]
        finally:
            waiting.close()


@pytest.mark.spec("TR-14")
@pytest.mark.parametrize("platform", ["default", "kqueue"])
def test_a_regular_file_as_stdin_is_read_to_its_end(tmp_path, monkeypatch, platform):
    """``server < requests.jsonl``: stdin is a regular file, and its end is the client's EOF
    (TR-14). epoll refuses regular files; kqueue registers them but never reports one readable
    at its end, so the server waited for ever after the last line (D-81: found by emulating
    kqueue; macOS and the BSDs use it by default). The transport now waits with poll()."""
    if platform == "kqueue":
        monkeypatch.setattr(selectors, "DefaultSelector", _KqueueLikeSelector)
    requests = tmp_path / "requests.jsonl"
    requests.write_bytes(b'{"id":1}\n')
    out_r, out_w = os.pipe()
    with open(requests, "rb") as stdin:
        transport = StdioServerTransport(stdin.fileno(), out_w, guard_stdout=False)
        try:
            assert transport.read(timeout=5) == b'{"id":1}\n'
            assert transport.read(timeout=2) == b""       # None before: the wait timed out
            assert transport.at_eof
        finally:
            transport.close()
            os.close(out_r)
            os.close(out_w)


def test_a_regular_file_as_stdin_above_fd_setsize(tmp_path):
    """select() takes no fd numbered FD_SETSIZE (1024) or more (ValueError); a server embedded
    in a program with that many files open gets such numbers. The fallback for a regular file
    as stdin was select(): the first read() raised. It is poll() now (D-81)."""
    import resource
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft <= 1500:
        pytest.skip("RLIMIT_NOFILE too low for fd 1500")
    requests = tmp_path / "requests.jsonl"
    requests.write_bytes(b'{"id":1}\n')
    out_r, out_w = os.pipe()
    with open(requests, "rb") as stdin:
        high = os.dup2(stdin.fileno(), 1500)
        transport = StdioServerTransport(high, out_w, guard_stdout=False)
        try:
            assert transport.read(timeout=5) == b'{"id":1}\n'
            assert transport.read(timeout=5) == b""
        finally:
            transport.close()
            for fd in (high, out_r, out_w):
                os.close(fd)


class _XnuPoll:
    """poll() as macOS implements it, on kqueue (XNU bsd/kern/sys_generic.c, poll_nocancel):
    an fd whose ``events`` asks for none of POLLIN, POLLRDNORM, POLLPRI, POLLRDBAND, POLLHUP,
    POLLOUT... gets no filter at all, so nothing, not even a hang-up, is reported for it."""

    def __init__(self):
        self._poll = _real_poll()

    def register(self, fd, events):
        if events:
            self._poll.register(fd, events)

    def poll(self, timeout=None):
        return self._poll.poll(timeout)


_real_poll = select.poll


@pytest.mark.spec("TR-14")
def test_a_hung_up_pipe_is_seen_with_macos_poll(monkeypatch):
    """A reader held up by its replies (D-38) reads on once the peer has closed its end of
    the pipe, which _ready_or_hung_up sees as POLLHUP. It asked poll() for no event at all
    (POSIX: POLLHUP is reported anyway), and macOS's poll() then watches nothing: the hold-up
    never let go of a server whose client closed its stdin (D-81, found by reading XNU). Now
    POLLHUP is asked for; data alone, with the writer still there, is still no hang-up."""
    from mcp_ref.stdio import _ready_or_hung_up
    monkeypatch.setattr(select, "poll", _XnuPoll)
    r, w = os.pipe()
    try:
        os.write(w, b"left to read")
        assert not _ready_or_hung_up((), r)               # data, but the writer is there
        os.close(w)
        w = -1
        assert _ready_or_hung_up((), r)                   # hung up, data still left
        os.read(r, 100)
        assert _ready_or_hung_up((), r)                   # hung up and empty
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


@pytest.mark.spec("TR-13", "TR-15")
@pytest.mark.parametrize("pidfd", ["pidfd", "none"])
def test_the_servers_death_ends_the_read_while_a_grandchild_holds_stdout(monkeypatch, pidfd):
    """SC-04 (D-01): the session ends when the server dies, not when its stdout reaches EOF,
    which a grandchild holding the pipe (here ``sleep 300``) delays. Linux has the pidfd for
    that. Without one (macOS, the BSDs, Linux before 5.3; forced here) the read waited for the
    grandchild, and so did a reader held up by its replies (D-38): now both look whether the
    server has exited (the read every _EXIT_POLL s) (D-81)."""
    import mcp_ref.stdio as stdio_module
    if pidfd == "none":
        monkeypatch.setattr(stdio_module, "_pidfd_open", lambda pid: None)
    elif not hasattr(os, "pidfd_open"):
        pytest.skip("no pidfd on this platform")
    child = spawn("grandchild")
    read_until(child, b"ready\n")
    assert (child._pidfd is None) == (pidfd == "none")
    os.kill(child.pid, signal.SIGKILL)
    start = time.monotonic()
    read_to_eof(child, timeout=5)                         # fails on a timeout
    assert time.monotonic() - start < SLACK
    assert child.wait(5) == -signal.SIGKILL
    assert child._let_reader_go()     # and a reader held up by its replies (D-38) reads on


def _macos_killpg(monkeypatch):
    """os.killpg as macOS has it (XNU ``killpg1`` skips zombies): a group whose leader has
    exited but is not reaped yet is EPERM, where Linux signals the zombie or says ESRCH."""
    real_killpg = os.killpg

    def killpg(pgid, signum):
        try:
            zombie = os.waitid(os.P_PID, pgid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:                         # reaped, or not our child
            zombie = None
        if zombie is not None:
            raise PermissionError(1, "Operation not permitted")
        return real_killpg(pgid, signum)

    monkeypatch.setattr(os, "killpg", killpg)


@pytest.mark.spec("TR-13")
def test_a_server_that_exits_as_it_is_signalled_is_no_permission_problem(monkeypatch, caplog):
    """The ladder's next signal can meet a server that exited a moment ago and is not reaped.
    macOS then says EPERM, and close() warned that the server "cannot be made to exit" (does
    it run as another user?). Now that EPERM, with the server gone, is as quiet as ESRCH
    (D-81, found by emulating macOS's killpg)."""
    _macos_killpg(monkeypatch)
    child = ChildProcess.spawn([sys.executable, "-c", ""])
    _spawned.append(child)
    assert wait_for_exit_of(child.pid, 5)                 # exited, not reaped
    with caplog.at_level("WARNING", logger="mcp_ref.stdio"):
        child._signal_group(signal.SIGTERM)
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
    assert child.poll() == 0


@pytest.mark.spec("TR-01")
def test_a_setup_failure_after_a_quick_exit_is_a_spawn_error_on_macos(monkeypatch):
    """spawn() kills and reaps a child whose setup failed (out of fds, say). If the child had
    exited already, macOS's killpg says EPERM: that escaped instead of the SpawnError, and the
    child was neither reaped nor were its pipes closed (D-81, found by emulating macOS)."""
    import mcp_ref.stdio as stdio_module
    _macos_killpg(monkeypatch)
    made = {}
    real_popen = stdio_module._popen

    def exited_then_out_of_fds(*args, **kwargs):
        assert wait_for_exit_of(made["proc"].pid, 5)     # a zombie now
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(stdio_module, "Outbox", exited_then_out_of_fds)
    monkeypatch.setattr(stdio_module, "_popen", lambda *args: made.setdefault(
        "proc", real_popen(*args)))
    with pytest.raises(SpawnError, match="cannot set up the server's pipes"):
        ChildProcess.spawn([sys.executable, "-c", ""])
    proc = made["proc"]
    assert proc.returncode == 0                           # reaped
    assert proc.stdin.closed and proc.stdout.closed and proc.stderr.closed


# --- The parent-death watchdog (D-33) ---------------------------------------------------------


def test_watchdog_calls_on_gone_once_the_watched_process_is_gone():
    other = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"])
    gone = threading.Event()
    watchdog = ParentWatchdog(0.05, pid=other.pid)
    watchdog.start(on_gone=gone.set)
    try:
        assert not watchdog.client_gone()
        other.kill()
        other.wait(5)                 # reaped: until then the pid still exists for kill(pid, 0)
        assert gone.wait(5)
        assert watchdog.client_gone()
    finally:
        watchdog.stop()
        if other.poll() is None:
            other.kill()
            other.wait(5)
    assert not watchdog._thread.is_alive()


def test_watchdog_watches_the_parent_by_default_and_stops_at_once():
    watchdog = ParentWatchdog(60.0)
    watchdog.start(on_gone=lambda: None)
    assert not watchdog.client_gone()             # our parent (pytest's) is still there
    start = time.monotonic()
    watchdog.stop()                               # its wait is on an event: no 60 s sleep
    assert time.monotonic() - start < 5 and not watchdog._thread.is_alive()


@pytest.mark.parametrize("interval,pid", [(0, None), (-1.0, None), (float("nan"), None),
                                          (float("inf"), None), (1.0, 0), (1.0, -5)])
def test_watchdog_refuses_a_bad_interval_or_pid(interval, pid):
    with pytest.raises(ValueError):
        ParentWatchdog(interval, pid)


def test_run_stdio_closes_a_given_transport_even_when_its_arguments_are_refused(pipes):
    """run_stdio(transport=...) owns the transport it is given (mcp_ref.audit passes one): a
    refused watchdog setting still closes it, so whatever fds it guards are given back."""
    from mcp_ref.server import Server
    transport, _, _ = pipes
    with pytest.raises(ValueError):
        Server("t").run_stdio(watchdog=0, transport=transport)
    with pytest.raises(ConnectionClosed):
        transport.write(b"{}\n")
    assert transport.read(timeout=5) == b""


def test_run_stdio_leaves_a_signal_handler_installed_outside_python_alone(monkeypatch):
    """``signal.getsignal`` is None for a handler installed in C by an embedding program:
    run_stdio cannot put it back, so it leaves that signal alone and still serves, and puts
    back the one it did replace (before, restoring None raised TypeError at the end)."""
    import signal
    from mcp_ref.server import Server
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    transport = StdioServerTransport(in_r, out_w, guard_stdout=False)   # run_stdio closes it
    real_getsignal = signal.getsignal
    installed = signal_installed_outside_python(monkeypatch, signal.SIGINT)
    before = real_getsignal(signal.SIGTERM)
    os.close(in_w)                                    # EOF at once: the session ends cleanly
    try:
        assert Server("t").run_stdio(transport=transport) == 0
    finally:
        for fd in (in_r, out_r, out_w):
            try:
                os.close(fd)
            except OSError:
                pass
    assert signal.SIGINT not in installed and installed.count(signal.SIGTERM) == 2
    assert real_getsignal(signal.SIGTERM) is before


# --- The outbox: a peer that stops reading, or is gone (D-38) --------------------------------


def _drain_pipe(fd):
    """Everything the pipe holds now, without waiting."""
    os.set_blocking(fd, False)
    data = b""
    try:
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return data
            data += chunk
    except BlockingIOError:
        return data


@pytest.fixture
def deaf_outbox():
    """(an Outbox on a pipe that nobody reads, the pipe's read end)."""
    r, w = os.pipe()
    os.set_blocking(w, False)
    outbox = Outbox(w, "test")
    yield outbox, r
    outbox.close()
    assert not outbox.flushing                    # no flusher thread left behind
    os.close(r)
    os.close(w)


@pytest.mark.spec("TR-02")
def test_the_outbox_writes_a_large_frame_from_the_frame_itself(deaf_outbox):
    """Linear time for a large frame, checked structurally rather than with a clock (SC-09):
    what is left of it after each partial write is a view of the frame itself, never a copy,
    so a frame the pipe takes 64 KiB at a time costs O(n) to write, not O(n^2)."""
    outbox, r = deaf_outbox
    frame = b"x" * (4 << 20) + b"\n"
    outbox.put(frame)
    received = bytearray()
    while len(received) < len(frame):
        os.set_blocking(r, True)                  # the flusher writes as we read
        received += os.read(r, 1 << 16)
        with outbox._lock:
            if outbox._queue:
                head, _ = outbox._queue[0]
                assert isinstance(head, memoryview) and head.obj is frame
    assert bytes(received) == frame


@pytest.mark.spec("TR-13")
def test_close_wakes_a_thread_waiting_for_room_at_once(deaf_outbox):
    """A thread waits for room while more than OUTBOX_HIGH_WATER is queued for a peer that
    does not read. close() ends that wait at once, even while it gives the queue itself
    ``flush_timeout`` (3 s here) to drain (TR-13's first rung): the waiter's put() then says the
    connection is closed, instead of learning it only when the flush time is up."""
    outbox, _ = deaf_outbox
    outbox.put(b"x" * (OUTBOX_HIGH_WATER + (2 << 20)) + b"\n")
    assert outbox.queued > OUTBOX_HIGH_WATER
    waited = {}

    def wait_then_put():
        waited["room"] = outbox.wait_for_room(None)
        waited["at"] = time.monotonic()
        try:
            outbox.put(b"{}\n")
        except ConnectionClosed as exc:
            waited["error"] = exc

    waiter = threading.Thread(target=wait_then_put, daemon=True)
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive(), "wait_for_room() did not wait although the queue is full"
    closer = threading.Thread(target=outbox.close, args=(3.0,), daemon=True)
    start = time.monotonic()
    closer.start()
    waiter.join(3 + SLACK)
    assert not waiter.is_alive()
    assert waited["at"] - start < SLACK, "the waiter slept through close()"
    assert waited["room"] and isinstance(waited.get("error"), ConnectionClosed)
    closer.join(3 + SLACK)
    assert not closer.is_alive()


def _replies(outbox, total):
    """Put small frames as the reader's own replies until more than ``total`` bytes of
    them are queued (what the pipe took at once is not queued)."""
    pong = b'{"jsonrpc":"2.0","id":1,"result":{}}\n'
    while outbox.replies_queued <= total:
        outbox.put(pong, reply=True)


def test_only_the_readers_own_replies_hold_up_its_reading(deaf_outbox):
    """D-38: the reader reads nothing more while more than OUTBOX_HIGH_WATER bytes of its own
    replies wait for a peer that does not read them. Other threads' frames do not count,
    however large: otherwise two peers both sending large answers could each stop their
    reader for the other, and neither pipe would ever drain. Room for the replies (the peer
    reads) ends the wait."""
    outbox, r = deaf_outbox
    outbox.put(b"x" * (OUTBOX_HIGH_WATER + (2 << 20)) + b"\n")        # a handler's answer
    assert outbox.queued > OUTBOX_HIGH_WATER and outbox.replies_queued == 0
    assert outbox.wait_for_reply_room(time.monotonic())                # not held up by it
    _replies(outbox, OUTBOX_HIGH_WATER)
    assert not outbox.wait_for_reply_room(time.monotonic())            # held up: deadline
    waited = {}
    waiter = threading.Thread(target=lambda: waited.update(room=outbox.wait_for_reply_room()),
                              daemon=True)
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive(), "wait_for_reply_room() did not wait for the peer to read"
    deadline = time.monotonic() + 10
    while waiter.is_alive() and time.monotonic() < deadline:           # the peer reads
        if select.select([r], [], [], 0.5)[0]:
            os.read(r, 1 << 20)
        waiter.join(0)
    assert waited == {"room": True}
    assert outbox.replies_queued <= OUTBOX_HIGH_WATER


@pytest.mark.parametrize("end", ["release_reader", "abandon", "close"])
def test_a_reader_held_up_by_its_replies_is_let_go_at_once(deaf_outbox, end):
    """Every wait ends (D-38): release_reader() (the server transport's interrupt(): EOF on
    a watchdog, a signal) and abandon() (SIGTERM), both safe in a signal handler, and
    close() end the reader's wait for room at once, with the peer still not reading."""
    outbox, _ = deaf_outbox
    _replies(outbox, OUTBOX_HIGH_WATER)
    waited = {}

    def wait():
        waited["room"] = outbox.wait_for_reply_room()
        waited["at"] = time.monotonic()

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive()
    start = time.monotonic()
    getattr(outbox, end)()
    waiter.join(5)
    assert not waiter.is_alive() and waited["room"]
    assert waited["at"] - start < SLACK


def _watch_hold_up(outbox):
    """An Event set once the reader calls wait_for_reply_room with its replies over the
    limit, that is, once it is held up (the spy is in place before the server starts)."""
    held_up = threading.Event()
    real_wait = outbox.wait_for_reply_room

    def spy(deadline=None):
        if outbox.replies_queued > OUTBOX_HIGH_WATER:
            held_up.set()
        return real_wait(deadline)

    outbox.wait_for_reply_room = spy
    return held_up


def _serving(transport):
    """({} that gets the exit status, a thread that will serve a Server on ``transport``)."""
    served = {}
    server = threading.Thread(
        target=lambda: served.update(status=Server("flooded").serve(transport)), daemon=True)
    return served, server


_HANDSHAKE = (b'{"jsonrpc":"2.0","id":"init","method":"initialize","params":{'
              b'"protocolVersion":"2025-11-25","capabilities":{},'
              b'"clientInfo":{"name":"deaf","version":"1"}}}\n'
              b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')


@pytest.mark.spec("PG-02", "TR-01")
@pytest.mark.parametrize("then", ["client-reads", "interrupt"])
def test_a_client_that_pings_without_reading_is_held_up_by_a_full_pipe(pipes, then):
    """D-38: a client sends 60 000 pings (about 2.4 MiB of pongs) and reads nothing. The
    server's reader answers each ping itself (PG-02), and what the client does not read waits
    in the outbox. Before, it grew without bound. Now, once more than OUTBOX_HIGH_WATER bytes
    of pongs wait, the reader reads nothing more, and the client's own writes block on a full
    pipe, as they would against any server. When the client reads again, every ping gets its
    pong, in order: nothing is lost. interrupt() (EOF from the watchdog; a signal also
    abandons the output) ends the wait at once instead."""
    transport, in_w, out_r = pipes
    outbox = transport._outbox
    held_up = _watch_hold_up(outbox)
    count = 60_000
    served, server = _serving(transport)
    written = threading.Event()

    def write_pings():
        view = memoryview(_HANDSHAKE + b"".join(
            b'{"jsonrpc":"2.0","id":%d,"method":"ping"}\n' % i for i in range(count)))
        try:
            while view:
                view = view[os.write(in_w, view):]       # blocks while the pipe is full
        except OSError:
            return
        written.set()

    writer = threading.Thread(target=write_pings, daemon=True)
    server.start()
    writer.start()
    assert held_up.wait(30), "the reader never stopped reading"
    assert outbox.replies_queued <= OUTBOX_HIGH_WATER + READ_CHUNK   # a pong < its ping
    assert not written.is_set(), "the client was not held up"
    if then == "interrupt":
        start = time.monotonic()
        transport.interrupt()
        server.join(5)
        assert not server.is_alive() and time.monotonic() - start < SLACK
        assert served == {"status": 0}
        deadline = time.monotonic() + 10
        while writer.is_alive() and time.monotonic() < deadline:   # let the writer finish
            if select.select([transport._in_fd], [], [], 0.5)[0]:
                os.read(transport._in_fd, 1 << 20)
            writer.join(0)
        assert not writer.is_alive()
        return
    wire = b""
    while wire.count(b"\n") < count + 1 and (select.select([out_r], [], [], 10)[0]):
        wire += os.read(out_r, 1 << 20)
    assert written.wait(10)
    os.close(in_w)                                       # EOF: the server exits (TR-14)
    server.join(10)
    assert served == {"status": 0}
    answers = [json.loads(line) for line in wire.splitlines()]
    assert answers[0]["id"] == "init" and "result" in answers[0]
    assert [a["id"] for a in answers[1:]] == list(range(count))
    assert all(a["result"] == {} for a in answers[1:])


def test_interrupt_read_ends_a_read_held_up_by_its_replies():
    """interrupt_read() keeps its promise while the reader is held up by its own replies to a
    server that does not read them (D-38): the read returns None at once, not when the
    server reads."""
    child = spawn("no-read")
    _replies(child._outbox, OUTBOX_HIGH_WATER)
    result = []
    reader = threading.Thread(target=lambda: result.append(child.read()), daemon=True)
    reader.start()
    reader.join(0.3)
    assert reader.is_alive(), "the reader was not held up"
    start = time.monotonic()
    child.interrupt_read()
    reader.join(5)
    assert not reader.is_alive() and result == [None]
    assert time.monotonic() - start < SLACK


@pytest.mark.spec("TR-14")
def test_a_reader_held_up_by_its_replies_still_sees_stdin_eof(pipes):
    """D-38, TR-14: a client pings without reading until the server's reader is held up,
    then closes the server's stdin. What is left to read is bounded by the pipe, so the
    reader reads on to EOF and the server ends its session, as it did before the hold-up."""
    transport, in_w, _ = pipes
    outbox = transport._outbox
    held_up = _watch_hold_up(outbox)
    served, server = _serving(transport)
    server.start()
    os.write(in_w, _HANDSHAKE)
    os.set_blocking(in_w, False)
    deadline = time.monotonic() + 30
    i = 0
    while time.monotonic() < deadline:
        try:                       # one whole frame per write: < PIPE_BUF, so all or nothing
            os.write(in_w, b'{"jsonrpc":"2.0","id":%d,"method":"ping"}\n' % i)
            i += 1
        except BlockingIOError:
            if held_up.is_set():
                break
            select.select([], [in_w], [], 0.5)
    assert held_up.is_set(), "the reader never stopped reading"
    os.close(in_w)                                       # EOF, nobody reads stdout
    server.join(5)
    assert not server.is_alive(), "the held-up server did not see stdin EOF"
    assert served == {"status": 0}


def test_a_wake_racing_close_never_writes_into_a_reused_fd():
    """_Waker.wake() from one thread (the flusher finding the peer gone, a worker, the
    watchdog) while another closes the waker. Before, wake() could read the write end's fd
    number, lose the CPU, and write after close() had freed that number for a pipe opened
    meanwhile (about one try in six here, with a tiny switch interval): a stray NUL in
    someone else's stream. Now close() waits for a wake() in progress, and a wake() that
    finds close() under way does nothing."""
    from mcp_ref.stdio import _Waker
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    stray = 0
    try:
        for _ in range(1000):
            waker, stop = _Waker(), threading.Event()

            def hammer(waker=waker, stop=stop):
                while not stop.is_set():
                    waker.wake()

            thread = threading.Thread(target=hammer, daemon=True)
            thread.start()
            waker.close()
            r, w = os.pipe()                          # most likely the numbers just freed
            stop.set()
            thread.join(5)
            os.set_blocking(r, False)
            try:
                stray += len(os.read(r, 16))
            except BlockingIOError:
                pass
            os.close(r)
            os.close(w)
    finally:
        sys.setswitchinterval(previous)
    assert stray == 0


def test_no_thread_for_the_flusher_is_a_write_error_and_close_still_works(deaf_outbox,
                                                                          monkeypatch):
    """Out of threads (resources exhausted) when a frame does not fit the pipe: the rest of
    it cannot follow, so put() raises OSError (which both transports turn into
    ConnectionClosed), the outbox stays refused, and close() neither raises nor waits."""
    outbox, _ = deaf_outbox

    def no_thread(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    with pytest.raises(OSError, match="cannot start a thread"):
        outbox.put(b"x" * (OUTBOX_HIGH_WATER + (2 << 20)) + b"\n")
    with pytest.raises(OSError):
        outbox.put(b"{}\n")
    assert outbox.queued == 0 and not outbox.flushing
    monkeypatch.undo()
    outbox.close(1.0)


@pytest.mark.spec("TR-06")
def test_no_frame_follows_one_that_abandon_cut_short(pipes):
    """A server on SIGTERM drops what is queued for a client that stopped reading
    (abandon_output, D-38). The frame at the head of the queue is then usually half written.
    Anything written after it would continue that half line, and the client would see one
    broken line instead of a frame (TR-06). So after abandon_output() the transport writes
    nothing more: write() raises ConnectionClosed and the wire ends with the cut frame."""
    transport, _, out_r = pipes
    big = b'{"jsonrpc":"2.0","method":"big","params":{"x":"' + b"x" * (2 << 20) + b'"}}\n'
    transport.write(big)                          # the pipe takes what fits; the rest waits
    flusher = transport._outbox._flusher
    assert flusher is not None
    transport.abandon_output()
    flusher.join(5)
    assert not flusher.is_alive()                 # it has dropped the rest of the frame
    wire = _drain_pipe(out_r)
    assert 0 < len(wire) < len(big) and not wire.endswith(b"\n")   # a half frame
    with pytest.raises(ConnectionClosed):
        transport.write(b'{"jsonrpc":"2.0","method":"small"}\n')
    assert _drain_pipe(out_r) == b""              # nothing was glued onto the half frame


@pytest.mark.spec("TR-14")
def test_a_write_error_other_than_epipe_is_connection_closed():
    """A stdout that fails with EIO (a terminal that hung up; here, a pty whose master is
    closed) or ENOSPC is as gone as a closed pipe. write() says so with ConnectionClosed, as
    for EPIPE and as the flusher does, not with a bare OSError that would end the server's
    read loop as a failure; and it stays refused."""
    master, slave = os.openpty()
    in_r, in_w = os.pipe()
    transport = StdioServerTransport(in_r, slave, guard_stdout=False)
    try:
        os.close(master)
        for _ in range(2):
            with pytest.raises(ConnectionClosed):
                transport.write(b"{}\n")
    finally:
        transport.close()
        for fd in (slave, in_r, in_w):
            os.close(fd)


# --- Interrupted, or failing half way (shell review findings 4 and 11) ----------------------


def _released(child):
    """True if every fd ``child`` owned is closed (checked on the objects, not by fd number:
    other tests' threads may open and close fds meanwhile)."""
    proc = child._proc
    return (proc.stdin.closed and proc.stdout.closed and proc.stderr.closed
            and child._pidfd is None and child._selector.get_map() is None
            and child._waker._w == -1 and child._stderr_stop.fd == -1)


@pytest.mark.spec("TR-13")
def test_a_close_interrupted_by_ctrl_c_kills_the_server_and_closes_each_fd_once(monkeypatch):
    """Ctrl-C arriving while close() waits for the server (simulated: the first wait raises
    KeyboardInterrupt). The interruption goes on up, but nothing is left behind: the server
    (which ignores EOF and SIGTERM) is killed and reaped at once, and every fd is released.
    A second close() returns the report instead of closing the fds again -- the numbers may
    belong to someone else by then (here: a pipe opened in between)."""
    child = spawn("ignore-term")
    read_until(child, b"ready\n")
    ctrl_c_in_first_wait(monkeypatch, child)
    with pytest.raises(KeyboardInterrupt):
        child.close(stdin_grace=30.0, term_grace=30.0)
    assert child.poll() == -signal.SIGKILL                   # killed and reaped: no zombie
    assert _released(child)
    reused = os.pipe()                                       # may take a number just freed
    try:
        report = child.close()
        assert report.steps == ("close_stdin", "sigkill") and report.signal == signal.SIGKILL
        for fd in reused:
            os.fstat(fd)                                     # still ours: not closed twice
    finally:
        for fd in reused:
            os.close(fd)


@pytest.mark.spec("TR-01")
def test_a_failure_after_the_child_started_is_a_spawn_error_and_leaks_nothing(monkeypatch):
    """If setting up fails once the child is running (out of fds, say, as the outbox makes
    its self-pipe), spawn() raises SpawnError, kills and reaps the child, and closes what it
    had made: the selector, the pidfd, the self-pipes and the child's pipes."""
    import mcp_ref.stdio as stdio_module
    made = {}
    real_selector_for, real_pidfd_open, real_popen = (
        stdio_module._selector_for, stdio_module._pidfd_open, stdio_module._popen)

    def no_fds(*args, **kwargs):
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(stdio_module, "Outbox", no_fds)
    monkeypatch.setattr(stdio_module, "_selector_for", lambda *fds: made.setdefault(
        "selector", real_selector_for(*fds)))
    monkeypatch.setattr(stdio_module, "_pidfd_open", lambda pid: made.setdefault(
        "pidfd", real_pidfd_open(pid)))
    monkeypatch.setattr(stdio_module, "_popen", lambda *args: made.setdefault(
        "proc", real_popen(*args)))
    with pytest.raises(SpawnError) as info:
        ChildProcess.spawn([sys.executable, CHILD, "ignore-term"])
    assert "cannot set up the server's pipes" in str(info.value)
    assert isinstance(info.value.__cause__, OSError)
    proc = made["proc"]
    assert proc.returncode == -signal.SIGKILL                # killed and reaped
    assert proc.stdin.closed and proc.stdout.closed and proc.stderr.closed
    assert made["selector"].get_map() is None                # the epoll fd is closed
    if made["pidfd"] is not None:                            # Linux: that number is no pidfd now
        try:
            assert os.readlink(f"/proc/self/fd/{made['pidfd']}") != "anon_inode:[pidfd]"
        except FileNotFoundError:
            pass


@pytest.mark.spec("TR-01")
def test_ctrl_c_as_spawn_reports_the_started_child_leaves_nothing_behind(inv, monkeypatch):
    """Shell review F10: Ctrl-C (simulated) while spawn() logs the child it just started. The
    caller never gets the ChildProcess, so spawn() itself must shut the child down: killed
    and reaped, its fds and its stderr thread gone (the inv fixture checks I3, I4)."""
    import mcp_ref.stdio as stdio_module
    made = {}
    real_popen, real_debug = stdio_module._popen, stdio_module._log.debug

    def interrupted(msg, *args, **kwargs):
        if msg.startswith("spawned server"):
            raise KeyboardInterrupt
        real_debug(msg, *args, **kwargs)

    monkeypatch.setattr(stdio_module, "_popen", lambda *args: made.setdefault(
        "proc", real_popen(*args)))
    monkeypatch.setattr(stdio_module._log, "debug", interrupted)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        ChildProcess.spawn([sys.executable, CHILD, "ignore-term"])
    proc = made["proc"]
    inv.process(proc.pid)
    assert time.monotonic() - started < SLACK + 1.0          # no grace: interrupted
    assert proc.returncode is not None                        # killed and reaped
    assert proc.stdin.closed and proc.stdout.closed and proc.stderr.closed
