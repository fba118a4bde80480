"""The stdio transport: the only module of mcp_ref that touches file descriptors and processes.

MCP's stdio transport is plain: the client starts the server as a child process (TR-01),
writes JSON-RPC messages to the child's stdin and reads them from its stdout, one per line.
The child's stderr is a log, not an error channel (TR-04, TR-05). Everything above this
module (framing, JSON-RPC, lifecycle) deals in parsed messages; this module deals only in
*bytes*, so the tricky operating-system details live in one place:

* :class:`ChildProcess` is the client's side. It spawns the server, writes bytes to its
  stdin, reads chunks from its stdout, drains its stderr on a thread, and shuts it down with
  the ladder the spec prescribes (TR-13): close stdin, wait, SIGTERM, wait, SIGKILL.
* :class:`StdioServerTransport` is the server's side: read our own stdin, write frames to our
  own stdout, and make sure nothing *else* ends up on stdout (TR-06).
* :class:`ParentWatchdog`, also the server's, notices a client that is gone although stdin
  never reached end of file (opt-in).

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio and,
for shutdown, https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle#stdio

Design rules, kept on purpose:

* **Raw file descriptors only.** We wait with :mod:`selectors` on the raw fd and then call
  :func:`os.read`, never on Python's buffered file objects: a buffered reader can hold bytes
  in its own buffer that the selector cannot see, and then a wait blocks although data is
  already there.
* **Every wait ends.** Each blocking call either has a deadline, or is woken by a *self-pipe*:
  a pipe we own whose read end sits in the same selector as the fd we are waiting on. Writing
  one byte to it wakes the waiter. (A pipe whose write end we *close* is readable for ever:
  that makes a one-shot "stop" signal that any number of waiters can see.) Nothing here sleeps
  to synchronise.
* **The server runs in its own process group** (``start_new_session=True``), so shutdown can
  signal the server *and* anything it started (a wrapper script's real server, a grandchild
  that inherited the pipes), and a Ctrl-C in the terminal reaches the client, which then
  shuts the server down in order, rather than hitting the server directly.

POSIX only (Linux, macOS, the BSDs): it relies on process groups, signals, ``os.killpg`` and
selecting on pipes, none of which Windows offers in this form.
"""

from __future__ import annotations

import os
import select
import selectors
import signal
import stat
import sys
import threading
import time
from collections import deque

from mcp_ref._logging import LazyLogger
from mcp_ref._record import Record
from mcp_ref.errors import ConnectionClosed, SpawnError

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    import subprocess
    from typing import IO, Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

__all__ = [
    "DEFAULT_STDIN_GRACE",
    "DEFAULT_TERM_GRACE",
    "OUTBOX_HIGH_WATER",
    "READ_CHUNK",
    "ChildProcess",
    "Outbox",
    "ParentWatchdog",
    "ShutdownReport",
    "StdioServerTransport",
]

#: Seconds to wait after closing the server's stdin before sending SIGTERM. The spec says only
#: "if the server does not exit within a reasonable time" (catalogue ambiguity A1; decision: 2 s).
DEFAULT_STDIN_GRACE = 2.0
#: Seconds to wait after SIGTERM before SIGKILL.
DEFAULT_TERM_GRACE = 2.0
#: The most bytes one ``read()`` returns.
READ_CHUNK = 65536
#: A thread starting a request (or answering one) waits while more than this many bytes are
#: queued for a peer that is slow to read (:class:`Outbox`, D-38): enough that a pipelining
#: client never waits in practice, little enough that a flood cannot grow memory for long.
#: The reader thread stops reading while more than this many bytes *of its own replies* (pongs,
#: errors for bad lines) are queued: backpressure on a peer that sends without reading.
OUTBOX_HIGH_WATER = 1024 * 1024

#: While the reader is held up by its own replies (D-38), how often it looks whether the peer
#: has gone or closed its end: the session must still see that end (TR-14, TR-15, SC-04).
_HELD_UP_POLL = 0.1

#: Where there is no pidfd (macOS, the BSDs, Linux before 5.3), how often a read that is
#: waiting looks whether the server has exited, so that its death ends the session even while
#: a grandchild holds its stdout open (SC-04, D-81). An idle client wakes this often.
_EXIT_POLL = 0.25

#: After SIGKILL the kernel ends the process; this only bounds the wait for the reap.
_KILL_REAP_TIMEOUT = 5.0
#: How long close() waits for stderr to reach EOF once the server has exited, and how long it
#: waits for a helper thread to finish once told to stop.
_JOIN_TIMEOUT = 1.0
#: A stderr "line" longer than this is logged in pieces rather than buffered without bound.
_MAX_LOG_LINE = 65536

#: Variables passed to the server when ``inherit_env=False``: enough to find programs and
#: decode text, nothing that is likely to be a secret.
SAFE_ENV_VARS = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "USER", "LOGNAME",
                 "SHELL", "TERM", "SYSTEMROOT")

_log = LazyLogger("mcp_ref.stdio")


# --- Small fd helpers ---------------------------------------------------------------------


class _Waker:
    """A self-pipe: ``wake()`` makes the read end readable until ``consume()`` empties it.

    ``wake()`` is one :func:`os.write` on a non-blocking fd and never waits for a lock, so it
    is safe to call from a signal handler or from any thread. A wake-up that arrives before the
    waiter starts waiting is not lost: the byte stays in the pipe.
    """

    def __init__(self) -> None:
        self.fd, self._w = os.pipe()          # os.pipe() fds are close-on-exec (PEP 446)
        os.set_blocking(self.fd, False)
        os.set_blocking(self._w, False)
        # Keeps close() from closing the write end between a wake()'s check and its write: the
        # fd number could by then belong to a file opened meanwhile, which would get our byte.
        self._closing = threading.Lock()

    def wake(self) -> None:
        # Never blocking: a signal handler may run this on the very thread that holds the lock
        # in close(). The lock taken means that another wake() is writing (one byte is enough)
        # or that close() is closing the pipe (nobody will wait on it again): nothing to do.
        if not self._closing.acquire(blocking=False):
            return
        try:
            if self._w >= 0:
                os.write(self._w, b"\0")
        except OSError:                       # the pipe is full: already woken
            pass
        finally:
            self._closing.release()

    def consume(self) -> None:
        try:
            while os.read(self.fd, 4096):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        with self._closing:
            w, self._w = self._w, -1
            if w >= 0:
                os.close(w)
                os.close(self.fd)


class _StopSignal:
    """A one-shot, level-triggered event a selector can wait on.

    ``set()`` closes the pipe's write end; from then on the read end is readable (at EOF) for
    every waiter, for ever. Unlike :class:`_Waker` nobody can consume it by accident.
    """

    def __init__(self) -> None:
        self.fd, self._w = os.pipe()
        self._lock = threading.Lock()

    def set(self) -> None:
        with self._lock:
            if self._w >= 0:
                os.close(self._w)
                self._w = -1

    def close(self) -> None:
        self.set()
        with self._lock:
            if self.fd >= 0:
                os.close(self.fd)
                self.fd = -1


def _selector_for(*fds: int, write_fd: Optional[int] = None) -> selectors.BaseSelector:
    """A selector watching ``fds`` for reading (and ``write_fd``, if given, for writing).

    A server's stdin can be a regular file (``server < requests.jsonl``) or ``/dev/null``, and
    the platform's default selector fails on those: epoll (Linux) refuses them (EPERM), and
    kqueue (macOS, the BSDs) accepts a regular file but calls it readable only *before* its
    end, so the EOF that ends the session (TR-14) would never be seen. poll() reports both as
    readable, as POSIX has it, and has no FD_SETSIZE limit on fd numbers, which select()
    has; select() is only the last resort (D-81).
    """
    def register(sel: selectors.BaseSelector) -> selectors.BaseSelector:
        for fd in fds:
            sel.register(fd, selectors.EVENT_READ)
        if write_fd is not None:
            sel.register(write_fd, selectors.EVENT_WRITE)
        return sel

    if any(stat.S_ISREG(os.fstat(fd).st_mode) for fd in fds):
        return register(_plain_selector())     # kqueue would register it, and hang at EOF
    sel = selectors.DefaultSelector()
    try:
        return register(sel)
    except PermissionError:                    # epoll refuses /dev/null too
        sel.close()
        return register(_plain_selector())


def _plain_selector() -> selectors.BaseSelector:
    """poll() where the platform has it (every POSIX system we run on), else select()."""
    if hasattr(selectors, "PollSelector"):
        return selectors.PollSelector()
    return selectors.SelectSelector()


def _remaining(deadline: Optional[float]) -> Optional[float]:
    """Seconds left until ``deadline`` (a time.monotonic() value), or None for "no deadline"."""
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())


def _ready_or_hung_up(read_fds: Sequence[int], pipe_fd: int) -> bool:
    """Now, without waiting: is one of ``read_fds`` readable, or has every writer of the pipe
    ``pipe_fd`` closed it (POLLHUP: reported even while data is left in it)?"""
    poller = select.poll()
    for fd in read_fds:
        poller.register(fd, select.POLLIN)
    # Only POLLHUP (with POLLERR and POLLNVAL, which poll() always reports). POSIX has poll()
    # report POLLHUP whatever ``events`` asks for, and Linux does; but macOS's poll(), built on
    # kqueue, watches nothing at all for an fd whose ``events`` is 0, so it must be asked (D-81).
    poller.register(pipe_fd, select.POLLHUP)
    return bool(poller.poll(0))


def _hold_reader(outbox: "Outbox", deadline: Optional[float],
                 let_go: Callable[[], bool]) -> bool:
    """The reader thread, before it reads more: :meth:`Outbox.wait_for_reply_room`, but every
    :data:`_HELD_UP_POLL` s ``let_go()`` says whether the peer has gone or closed its end.
    Then the reader reads on: what is left is bounded by the pipe, and the session must see
    its end (D-38). False if ``deadline`` (None: none) passed first."""
    while True:
        step = time.monotonic() + _HELD_UP_POLL
        if outbox.wait_for_reply_room(step if deadline is None else min(step, deadline)):
            return True
        if let_go():
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False


class Outbox:
    """Frames on their way out through one fd, in order, without ever waiting for the peer.

    :meth:`put` writes at once as much as the pipe takes -- all of it, nearly always. What does
    not fit waits in a queue here, and a flusher thread (started when that happens, ended when
    the queue is empty again) writes it as the peer reads. So no thread of ours ever blocks on
    a full pipe (D-38); only the reader waits for the peer, and only while its own replies
    pile up (below):

    * a caller's deadline covers its whole request (TO-01): if the peer stops reading, the
      request still times out on time, and its cancel (TO-02) is queued behind it;
    * a reader thread that answers a ping never blocks on a full pipe, so it keeps reading (a
      peer that writes a burst before it reads would otherwise deadlock with us at the first
      full pipe) until a whole :data:`OUTBOX_HIGH_WATER` of its replies wait; and a signal
      still ends a server that is stuck that way.

    The fd must be non-blocking for this (on a blocking fd, such as a terminal, ``put`` simply
    writes everything before it returns). The queue holds the frames themselves, not copies.

    What bounds the queue is :meth:`wait_for_room`: a thread that *starts* something (a
    request, a handler's answer) first waits, within its own deadline, until no more than
    :data:`OUTBOX_HIGH_WATER` bytes are queued. The reader thread's own replies (a pong, an
    error for a bad line: ``put(data, reply=True)``) never wait, so the reader always gets
    back to reading; instead, it reads nothing more while more than
    :data:`OUTBOX_HIGH_WATER` bytes of those replies are queued
    (:meth:`wait_for_reply_room`). A peer that keeps sending pings without reading the pongs
    is then held up by a full pipe, as TCP holds up a sender whose receiver stops reading.
    Counting only the reader's *own* replies is what keeps two peers that both send large
    answers from each stopping its reader for the other (D-38).
    """

    def __init__(self, fd: int, name: str,
                 on_broken: Optional[Callable[[], None]] = None) -> None:
        self._fd = fd
        self._name = name
        self._on_broken = on_broken           # called by the flusher when the peer is gone
        self._lock = threading.Lock()         # guards everything below, and every os.write
        self._room = threading.Condition(self._lock)   # notified as the queue shrinks
        # Each entry: what is left of one put(), and whether it is a reply of the reader's.
        self._queue: "deque[Tuple[memoryview, bool]]" = deque()
        self.queued = 0                       # bytes waiting in _queue
        self.replies_queued = 0               # ... of which the reader thread's own replies
        self._broken = False                  # EPIPE: nobody reads the pipe any more
        self._closed = False                  # close() was called: put() refuses
        self._abandoned = False               # drop what is queued (close, or abandon())
        self._reader_released = False         # release_reader(): wait_for_reply_room ends
        self._reader_warned = False           # this hold-up of the reader is logged already
        self._waker = _Waker()                # wakes the flusher to see those two flags
        self._flusher: Optional[threading.Thread] = None

    def put(self, data: bytes, reply: bool = False) -> None:
        """Send ``data`` after everything put before it; never waits for the peer.

        ``reply``: the reader thread is answering what it read (a pong, an error for a bad
        line); what of it must be queued counts towards :meth:`wait_for_reply_room`.

        Raises OSError (BrokenPipeError, nearly always) once the peer is gone,
        ConnectionClosed after :meth:`close` or :meth:`abandon`.
        """
        view = memoryview(data)
        with self._lock:
            if self._broken:
                raise BrokenPipeError("nothing more can be written: the peer closed its end of "
                                      "the pipe, or an earlier write failed")
            if self._closed or self._abandoned:
                # After abandon() too: the frame it dropped was probably half written, and
                # whatever we wrote next would continue that line. The peer would get one
                # broken line instead of a frame (TR-06 for a server's stdout, TR-07 for a
                # client's writes to the server's stdin: the Outbox serves both).
                raise ConnectionClosed("the connection is closed for writing")
            if not self._queue:               # nothing ahead of us: write what fits now
                try:
                    view = view[os.write(self._fd, view):]
                except BlockingIOError:       # the pipe is full
                    pass
                except OSError:
                    # EPIPE above all, but EIO (a terminal that hung up) or ENOSPC also means
                    # that nothing will reach the peer any more: the flusher treats every
                    # error alike (_write_queued), and so does this fast path.
                    self._broken = True
                    raise
            if view:
                if self._flusher is None:
                    flusher = threading.Thread(target=self._flush, daemon=True,
                                               name="mcp_ref-flush-" + self._name)
                    try:
                        flusher.start()               # it waits for our lock
                    except RuntimeError as exc:       # no thread can start: out of resources
                        # Part of this frame may be on the wire already, and without a
                        # flusher the rest cannot follow: nothing more can arrive intact.
                        self._broken = True
                        self._room.notify_all()
                        raise OSError(f"cannot start a thread to write the rest: {exc}") \
                            from None
                    self._flusher = flusher
                self._queue.append((view, reply))
                self.queued += len(view)
                if reply:
                    self.replies_queued += len(view)

    def wait_for_room(self, deadline: Optional[float]) -> bool:
        """Wait until at most :data:`OUTBOX_HIGH_WATER` bytes are queued (or the outbox is
        closed or broken: :meth:`put` then says so). False if ``deadline`` (a
        time.monotonic() value; None: none) passed first. :meth:`close` ends every wait."""
        with self._lock:
            while (self.queued > OUTBOX_HIGH_WATER and not self._closed
                   and not self._broken and not self._abandoned):
                remaining = _remaining(deadline)
                if remaining == 0.0:
                    return False
                self._room.wait(remaining)
            return True

    def wait_for_reply_room(self, deadline: Optional[float] = None) -> bool:
        """The reader thread, before it reads more: wait while more than
        :data:`OUTBOX_HIGH_WATER` bytes of its own replies are queued, that is, while the peer
        is not reading what we answered to what it sent; or until the outbox is closed,
        abandoned or broken, or :meth:`release_reader`. False if ``deadline`` (None: none)
        passed first."""
        if self.replies_queued <= OUTBOX_HIGH_WATER:
            # Nearly always. Read without the lock, soundly: only the reader adds to the
            # count, and the reader is who calls this; other threads only take from it.
            self._reader_warned = False       # the next hold-up is news again
            return True
        if not self._reader_warned:           # one WARNING per hold-up, however often called
            self._reader_warned = True
            _log.warning("%s: %d bytes of replies wait for the peer to read them; reading "
                         "nothing more until it does (D-38)", self._name, self.replies_queued)
        with self._lock:
            while (self.replies_queued > OUTBOX_HIGH_WATER and not self._reader_released
                   and not self._closed and not self._broken and not self._abandoned):
                remaining = _remaining(deadline)
                if remaining == 0.0:
                    return False
                self._room.wait(remaining)
            return True

    def release_reader(self) -> None:
        """End :meth:`wait_for_reply_room`, now and from now on: the reader is to stop
        (:meth:`StdioServerTransport.interrupt`). Safe in a signal handler, like
        :meth:`abandon`: a flag, and the flusher (which exists while replies are queued)
        wakes the waiter."""
        self._reader_released = True
        self._waker.wake()

    def abandon(self) -> None:
        """Drop whatever is queued, now, and refuse further frames (a server on SIGTERM).
        Safe in a signal handler: it sets a flag and wakes the flusher with one write to a
        pipe, taking no lock."""
        self._abandoned = True
        self._waker.wake()

    def close(self, flush_timeout: float = 0.0) -> int:
        """Refuse further frames; give the queue up to ``flush_timeout`` s to reach the peer,
        then drop the rest. Returns the bytes dropped. Idempotent.

        When it returns, nothing of ours writes to the fd any more, so the owner may close it
        -- unless :attr:`flushing` is still True (a flusher that did not stop: never expected).
        """
        deadline = time.monotonic() + flush_timeout
        with self._lock:
            self._closed = True
            # Threads waiting for room learn it now (their put() then raises), not once the
            # queue below has had its flush_timeout: "close() ends every wait".
            self._room.notify_all()
            while self._queue and not self._abandoned:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._room.wait(remaining)
            dropped = self.queued
            self._drop()
            flusher = self._flusher
        if flusher is not None:
            self.abandon()
            flusher.join(_JOIN_TIMEOUT)
        if not self.flushing:
            self._waker.close()
        return dropped

    @property
    def flushing(self) -> bool:
        """True while the flusher thread is running."""
        flusher = self._flusher
        return flusher is not None and flusher.is_alive()

    def _drop(self) -> None:
        """With the lock held: forget what is queued."""
        self._queue.clear()
        self.queued = self.replies_queued = 0
        self._room.notify_all()

    def _flush(self) -> None:
        """The flusher thread: write the queue as the peer makes room, until it is empty,
        the peer is gone, or :meth:`abandon`."""
        broken = False
        try:
            with _selector_for(self._waker.fd, write_fd=self._fd) as sel:
                while True:
                    ready = sel.select()      # room in the pipe, abandon(), release_reader()
                    with self._lock:
                        if any(key.fd == self._waker.fd for key, _ in ready):
                            self._waker.consume()
                            self._room.notify_all()   # a waiter re-checks release_reader()
                        if self._abandoned:
                            self._drop()
                        elif not self._write_queued():
                            broken = True
                        if not self._queue:
                            # In the same locked step as the last check: a put() from now on
                            # sees no flusher, and starts one if it needs one.
                            self._flusher = None
                            break
        except BaseException:                 # a bug: the stream may hold half a frame now
            _log.exception("%s: the flusher failed", self._name)
            with self._lock:
                self._broken = broken = True
                self._drop()
                self._flusher = None
        if broken and self._on_broken is not None:
            self._on_broken()

    def _write_queued(self) -> bool:
        """With the lock held: write as much of the queue as fits; False if the peer is gone."""
        while self._queue:
            head, reply = self._queue[0]
            try:
                written = os.write(self._fd, head)
            except BlockingIOError:
                return True
            except OSError as exc:            # EPIPE above all: nobody will read this
                _log.debug("%s: dropping %d queued bytes: %s", self._name, self.queued, exc)
                self._broken = True
                self._drop()
                return False
            self.queued -= written
            if reply:
                self.replies_queued -= written
            if written == len(head):
                self._queue.popleft()
            else:
                self._queue[0] = (head[written:], reply)
            if (self.queued <= OUTBOX_HIGH_WATER
                    or (reply and self.replies_queued <= OUTBOX_HIGH_WATER)):
                self._room.notify_all()       # wait_for_room, wait_for_reply_room
        return True


# --- The client's side: the server as a child process ------------------------------------


class ShutdownReport(Record):
    """What :meth:`ChildProcess.close` did, rung by rung (TR-13)."""

    __slots__ = ("steps", "exit_code", "signal", "durations", "total_seconds", "group_killed",
                 "stdout_bytes_discarded", "stdin_bytes_discarded")

    def __init__(self, steps: Tuple[str, ...], exit_code: Optional[int], signal: Optional[int],
                 durations: Optional[Dict[str, float]] = None, total_seconds: float = 0.0,
                 group_killed: bool = False, stdout_bytes_discarded: int = 0,
                 stdin_bytes_discarded: int = 0) -> None:
        #: The rungs taken, in order, among ``"close_stdin"``, ``"sigterm"``, ``"sigkill"``.
        self.steps = steps
        #: The server's exit status if it exited normally, else None.
        self.exit_code = exit_code
        #: The signal that ended the server, else None.
        self.signal = signal
        #: For each rung: seconds from taking it until the server exited or the next rung.
        self.durations: Dict[str, float] = durations or {}
        #: Seconds the whole of close() took.
        self.total_seconds = total_seconds
        #: True if members of the server's process group (grandchildren) outlived the server
        #: and were sent SIGKILL.
        self.group_killed = group_killed
        #: Bytes of stdout read and thrown away while waiting for the server to exit.
        self.stdout_bytes_discarded = stdout_bytes_discarded
        #: Bytes queued for the server's stdin that never reached it: it stopped reading
        #: (D-38). They belonged to requests that fail, or to notifications that are lost.
        self.stdin_bytes_discarded = stdin_bytes_discarded


class ChildProcess:
    """A server process spawned by the client, with pipes on stdin/stdout/stderr.

    Create one with :meth:`spawn`. Threads: any thread may :meth:`write` (writes are
    serialised by a lock so frames never interleave); one thread at a time may :meth:`read`;
    one internal thread drains stderr. :meth:`close` may be called from any thread, any
    number of times.
    """

    pid: int
    pgid: int

    # -- Starting ------------------------------------------------------------------------

    @classmethod
    def spawn(cls, argv: Sequence[str], *, env: Optional[Mapping[str, str]] = None,
              cwd: Optional[str] = None, inherit_env: bool = True,
              stderr_tail_bytes: int = 16384,
              stderr_logger_name: str = "mcp_ref.server_stderr") -> "ChildProcess":
        """Start ``argv`` as the server (TR-01: the client launches the server as a child).

        ``env`` is merged over ``os.environ`` (``inherit_env=True``) or over a small safe set
        of its variables (:data:`SAFE_ENV_VARS`). Raises :class:`SpawnError` if the process
        cannot be started.
        """
        if isinstance(argv, (str, bytes)):
            raise TypeError("argv must be a sequence of arguments, not one string")
        argv = [os.fspath(arg) for arg in argv]
        if cwd is not None:
            cwd = os.fspath(cwd)
        if not argv:
            raise SpawnError("cannot start the server: the command is empty", argv=argv, cwd=cwd)
        child_env = _child_environment(env, inherit_env)
        # Made before the child exists, so running out of fds cannot strand a started server.
        waker, stderr_stop = _Waker(), _StopSignal()
        proc = child = None
        try:
            proc = _popen(argv, child_env, cwd)
            child = cls(proc, waker, stderr_stop, stderr_tail_bytes,
                        LazyLogger(stderr_logger_name))
            # Inside the try: the caller gets the child only once this returns, so until then
            # an interruption (Ctrl-C) must not strand it (shell review F10).
            _log.debug("spawned server pid %d: %r", proc.pid, argv)
        except BaseException as exc:          # e.g. out of fds, or Ctrl-C: leave nothing behind
            if child is not None:
                # It owns every fd and its stderr thread now: its close releases them all. The
                # ladder without its waits: nobody is waiting for this server to be polite.
                child.close(stdin_grace=0.0, term_grace=0.0)
                raise
            if proc is not None:
                _abandon(proc)
            waker.close()
            stderr_stop.close()
            if proc is not None and isinstance(exc, OSError):
                raise SpawnError(f"cannot set up the server's pipes: {exc}", argv=argv,
                                 cwd=cwd) from exc
            raise
        return child

    def __init__(self, proc: "subprocess.Popen[bytes]", waker: _Waker,
                 stderr_stop: _StopSignal, stderr_tail_bytes: int,
                 stderr_logger: LazyLogger) -> None:
        """Private: use :meth:`spawn`. If it raises, it has released what it made (spawn
        then kills the child and closes the rest)."""
        self._proc = proc
        self.pid = proc.pid
        # start_new_session=True made the child a session and process-group leader.
        self.pgid = proc.pid
        # The fds belong to Popen's file objects; we use the fds and close via the objects,
        # so nothing is ever closed twice.
        self._stdin, self._stdout, self._stderr = _pipes(proc)
        self._stdin_fd: Optional[int] = self._stdin.fileno()
        self._stdout_fd = self._stdout.fileno()
        self._stderr_fd = self._stderr.fileno()
        # Our end of the stdin pipe is ours alone, so making it non-blocking affects nobody
        # else; the outbox needs it so (D-38).
        os.set_blocking(self._stdin_fd, False)
        self._stdin_lock = threading.Lock()   # guards _stdin_fd while it is closed

        self._read_lock = threading.Lock()    # held by read(), or by close() while draining
        self._waker = waker                   # wakes read() and the shutdown drain
        # A pidfd (Linux 5.3+) is readable once the server has exited. The session ends when
        # the *server* exits, not when the pipe reaches EOF: a grandchild that inherited stdout
        # may hold the pipe open long after the server died (reliability RL-11, SC-04).
        # Without a pidfd, a waiting read looks every _EXIT_POLL s instead (D-81).
        self._pidfd = _pidfd_open(proc.pid)
        try:
            self._selector = _selector_for(self._stdout_fd, waker.fd)
            if self._pidfd is not None:
                self._selector.register(self._pidfd, selectors.EVENT_READ)
            self._outbox = Outbox(self._stdin_fd, "server-stdin-%d" % self.pid)
        except BaseException:                 # out of fds, say: release what we made
            if hasattr(self, "_selector"):
                self._selector.close()
            if self._pidfd is not None:
                os.close(self._pidfd)
            raise
        self._stdin_discarded = 0
        self._outlived_stdin = False          # alive 0.5 s after a write failed: see below
        self._stdout_eof = False
        self._torn_down = False               # close() has released (or is releasing) the fds
        self._stop_draining = False
        self._discarded = 0

        self._tail_limit = stderr_tail_bytes
        self._tail = bytearray()
        self._tail_lock = threading.Lock()
        self._stderr_logger = stderr_logger
        self._stderr_stop = stderr_stop
        self._stderr_thread = threading.Thread(
            target=self._pump_stderr, name="mcp_ref-stderr-%d" % self.pid, daemon=True)

        self._close_lock = threading.Lock()
        self._report: Optional[ShutdownReport] = None
        self._stderr_thread.start()

    # -- Writing -------------------------------------------------------------------------

    def write(self, data: bytes, reply: bool = False) -> None:
        """Send ``data`` to the server's stdin, after everything written before it.

        Never waits for the server to read: what the pipe cannot take now is queued and
        written as the server reads (:class:`Outbox`, D-38). Frames from two threads never
        interleave. ``reply``: the reader thread answering what it read (see :meth:`read`).
        Raises :class:`ConnectionClosed` if the server's stdin is closed (by us or by the
        server exiting).
        """
        try:
            self._outbox.put(data, reply)
        except BrokenPipeError:
            # EPIPE, nearly always: the server closed its stdin, almost always by exiting.
            # (Python ignores SIGPIPE, so the kernel's EPIPE arrives here as an exception.)
            raise self._stdin_closed(broken=True) from None
        except OSError as exc:                # EIO, no thread for the flusher, ...
            raise self._stdin_closed(broken=True, why=f"cannot write to the server: {exc}") \
                from None
        except ConnectionClosed:              # close_stdin() was called
            raise self._stdin_closed() from None

    def _stdin_closed(self, broken: bool = False,
                      why: str = "server stdin is closed") -> ConnectionClosed:
        if broken and not self._outlived_stdin:
            if self.wait(0.5) is not None:
                # EPIPE: the server is exiting or gone. Its exit status and last stderr are a
                # moment away at most, and belong in the error (reliability SC-04).
                self.wait_stderr(0.5)
            else:
                # Still alive: it closed its stdin and lives on. Every later write fails at
                # once and would wait the same in vain -- the reader's too, which writes the
                # cancels of expired requests (D-65) and must get back to reading.
                self._outlived_stdin = True
        return ConnectionClosed(why, exit_code=self.exit_code,
                                signal=self.exit_signal, stderr_tail=self.stderr_tail())

    def wait_for_room(self, deadline: Optional[float]) -> bool:
        """Wait, until ``deadline`` at most, while much is queued for a server that is slow to
        read (:meth:`Outbox.wait_for_room`); False if the deadline passed first."""
        return self._outbox.wait_for_room(deadline)

    def close_stdin(self, flush_timeout: float = 0.0) -> None:
        """Close the server's stdin: the polite "please exit" of the stdio transport, step 1 of
        the shutdown ladder (TR-13; a server exits on the EOF it reads, TR-14).

        What is still queued for the server gets up to ``flush_timeout`` s to reach it first;
        the rest is dropped and counted in the shutdown report. Idempotent.
        """
        self._stdin_discarded += self._outbox.close(flush_timeout)
        with self._stdin_lock:
            if self._stdin_fd is not None and not self._outbox.flushing:
                self._stdin_fd = None
                self._stdin.close()

    # -- Reading -------------------------------------------------------------------------

    def read(self, timeout: Optional[float] = None) -> Optional[bytes]:
        """The next chunk (at most :data:`READ_CHUNK` bytes) of the server's stdout.

        Returns ``b""`` at EOF (TR-15: the server may close its stdout; it also happens when
        it exits) and after close(); ``None`` if ``timeout`` seconds pass with no data, or if
        :meth:`interrupt_read` was called.

        While more than :data:`OUTBOX_HIGH_WATER` bytes of the reader's own replies
        (``write(reply=True)``) wait for a server that does not read them, nothing more is
        read: the server that floods us with pings is held up by a full pipe (D-38).
        Closing the server's stdin ends that wait; so do the server exiting or closing its
        stdout (SC-04, TR-15: even if a grandchild holds its stdin) and :meth:`interrupt_read`.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        if not _hold_reader(self._outbox, deadline, self._let_reader_go):
            return None
        remaining = _remaining(deadline)
        if not self._read_lock.acquire(timeout=-1 if remaining is None else remaining):
            return None                       # close() is draining stdout; try again later
        try:
            if self._torn_down or self._stdout_eof:
                return b""
            return self._read_stdout(deadline)
        finally:
            self._read_lock.release()

    def _let_reader_go(self) -> bool:
        """A reader held up by its replies (D-38) reads on once the server has exited or
        closed its stdout (what is left is bounded by the pipe, and its end must end the
        session: SC-04, TR-15), or after :meth:`interrupt_read`."""
        if not self._read_lock.acquire(blocking=False):
            return False                      # close() is draining; it ends the wait itself
        try:
            if self._torn_down:
                return True
            if self._pidfd is None:           # no pidfd: has the server exited? (D-81)
                return (self._proc.poll() is not None
                        or _ready_or_hung_up([self._waker.fd], self._stdout_fd))
            return _ready_or_hung_up([self._waker.fd, self._pidfd], self._stdout_fd)
        finally:
            self._read_lock.release()

    def _read_stdout(self, deadline: Optional[float]) -> Optional[bytes]:
        """Wait for stdout, the waker or the server's exit; the caller holds ``_read_lock``."""
        while True:
            wait = _remaining(deadline)
            if self._pidfd is None:           # no pidfd: look at the server now and then
                wait = _EXIT_POLL if wait is None else min(wait, _EXIT_POLL)
            ready = {key.fd for key, _ in self._selector.select(wait)}
            if self._waker.fd in ready:
                self._waker.consume()
                return b"" if self._torn_down else None
            if self._stdout_fd in ready:
                data = os.read(self._stdout_fd, READ_CHUNK)
                if not data:
                    self._stdout_eof = True   # TR-15: the server closed its stdout (or exited)
                return data
            if ready or self._exited_without_pidfd():    # the pidfd, or without one a look
                # The server has exited and all it wrote has been read (its writes ended
                # before it did). Whoever still holds the pipe open is not the server.
                self._stdout_eof = True
                return b""
            if _remaining(deadline) == 0.0:
                return None

    def _exited_without_pidfd(self) -> bool:
        """Without a pidfd (macOS, the BSDs, Linux before 5.3), whether the server has exited
        and nothing it wrote is left unread (D-81). poll() reaps it; a write of its own could
        only precede its exit, so stdout not readable *after* the exit means all is read."""
        if self._pidfd is not None or self._proc.poll() is None:
            return False
        poller = select.poll()
        poller.register(self._stdout_fd, select.POLLIN)
        return not poller.poll(0)

    def interrupt_read(self) -> None:
        """Wake a blocked :meth:`read`, which then returns None.

        If no read is in progress, the next one returns None at once.
        """
        self._waker.wake()

    # -- The process's state -------------------------------------------------------------

    def poll(self) -> Optional[int]:
        """The return code once the server has exited (negative: killed by a signal), else None."""
        return self._proc.poll()

    def wait(self, timeout: Optional[float]) -> Optional[int]:
        """Wait up to ``timeout`` s (None: no limit) for the server to exit; its return code,
        or None.

        Useful after EOF on stdout: the server is exiting, but :meth:`poll` can still say
        None for a moment.
        """
        import subprocess                     # already loaded: see _popen
        try:
            return self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    @property
    def exit_code(self) -> Optional[int]:
        """The exit status if the server has exited normally, else None."""
        code = self._proc.poll()
        return code if code is not None and code >= 0 else None

    @property
    def exit_signal(self) -> Optional[int]:
        """The signal number if a signal ended the server, else None."""
        code = self._proc.poll()
        return -code if code is not None and code < 0 else None

    # -- stderr --------------------------------------------------------------------------

    def stderr_tail(self) -> str:
        """The last bytes (at most ``stderr_tail_bytes``) the server wrote to stderr."""
        with self._tail_lock:
            return self._tail.decode("utf-8", errors="replace")

    def wait_stderr(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the server's stderr to reach end of file, so that
        :meth:`stderr_tail` holds everything it wrote (its last words before dying, above
        all). EOF comes when the server exits, unless a grandchild still holds the pipe."""
        self._stderr_thread.join(timeout)
        return not self._stderr_thread.is_alive()

    def _pump_stderr(self) -> None:
        """The stderr thread: log each line, keep a tail, until EOF or ``_stderr_stop``.

        TR-04/TR-05: stderr is the server's log, and writing to it is not an error; so we
        only log it. Draining it matters too: a server whose stderr pipe fills up blocks.
        The wait has no timeout because close() ends it: by killing the server (EOF) or, if
        something outside the process group holds the pipe, by setting ``_stderr_stop``.
        """
        partial = b""
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(self._stderr_fd, selectors.EVENT_READ)
                sel.register(self._stderr_stop.fd, selectors.EVENT_READ)
                while True:
                    ready = {key.fd for key, _ in sel.select()}
                    if self._stderr_stop.fd in ready:
                        break
                    chunk = os.read(self._stderr_fd, READ_CHUNK)
                    if not chunk:
                        break
                    self._keep_tail(chunk)
                    partial = self._log_lines(partial + chunk)
        finally:
            if partial:
                self._log_line(partial)

    def _keep_tail(self, chunk: bytes) -> None:
        with self._tail_lock:
            self._tail += chunk
            excess = len(self._tail) - self._tail_limit
            if excess > 0:
                del self._tail[:excess]

    def _log_lines(self, buffered: bytes) -> bytes:
        """Log every complete line in ``buffered``; return the incomplete rest."""
        *lines, rest = buffered.split(b"\n")
        for line in lines:
            self._log_line(line)
        if len(rest) > _MAX_LOG_LINE:
            self._log_line(rest)
            rest = b""
        return rest

    def _log_line(self, line: bytes) -> None:
        text = line.rstrip(b"\r").decode("utf-8", errors="replace")
        # TR-04/TR-05: a line on stderr is a log line, never a sign of failure: log at INFO.
        self._stderr_logger.info("%s", text, extra={"server_pid": self.pid})

    # -- Shutting down (TR-13) -----------------------------------------------------------

    def close(self, stdin_grace: float = DEFAULT_STDIN_GRACE,
              term_grace: float = DEFAULT_TERM_GRACE) -> ShutdownReport:
        """Shut the server down the way the spec prescribes, then release every resource.

        https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle#stdio
        (TR-13): close the server's stdin; wait ``stdin_grace`` s; SIGTERM; wait
        ``term_grace`` s; SIGKILL. Signals go to the whole process group. Idempotent; a
        concurrent caller waits for the first and gets the same report.
        """
        with self._close_lock:
            if self._report is None:
                self._shut_down(stdin_grace, term_grace)
            assert self._report is not None
            return self._report

    def __enter__(self) -> "ChildProcess":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _shut_down(self, stdin_grace: float, term_grace: float) -> None:
        """Climb the ladder, release every fd, and store the report in ``_report`` -- even
        when interrupted (Ctrl-C while waiting): then the server is killed and reaped at once,
        the report says so, and the interruption goes on up. Nothing is left behind, and a
        second close() returns the report instead of closing fds twice."""
        start = time.monotonic()
        # If no thread is inside read(), nobody would empty stdout while we wait, and a
        # server blocked writing a large response to a full pipe could never exit. So we
        # take the read lock and drain stdout ourselves. If a reader *is* active, it keeps
        # reading (and sees EOF when the server exits).
        holding_read_lock = self._read_lock.acquire(blocking=False)
        steps: List[str] = []
        durations: Dict[str, float] = {}
        group_killed = False
        drainer = None
        try:
            drainer = self._start_drainer() if holding_read_lock else None
            self._climb_ladder(stdin_grace, term_grace, steps, durations)
            group_killed = self._kill_leftovers()
            self._finish_stderr()
        except BaseException:
            # Interrupted half way down: no time for politeness, but no orphan either.
            if self._proc.returncode is None:
                if "sigkill" not in steps:
                    steps.append("sigkill")
                self._signal_group(signal.SIGKILL)
                self._wait_for_exit(_KILL_REAP_TIMEOUT)
            self._finish_stderr()             # so that stderr, too, can be closed below
            raise
        finally:
            try:
                drainer_stopped = self._stop_drainer(drainer)
                self._release_fds(holding_read_lock, stdout_in_use=not drainer_stopped)
            finally:
                code = self._proc.returncode
                self._report = ShutdownReport(
                    steps=tuple(steps),
                    exit_code=code if code is not None and code >= 0 else None,
                    signal=-code if code is not None and code < 0 else None,
                    durations=durations,
                    total_seconds=time.monotonic() - start,
                    group_killed=group_killed,
                    stdout_bytes_discarded=self._discarded,
                    stdin_bytes_discarded=self._stdin_discarded,
                )
                _log.debug("server pid %d shut down: %s", self.pid, self._report)

    def _climb_ladder(self, stdin_grace: float, term_grace: float,
                      steps: List[str], durations: Dict[str, float]) -> None:
        """The three rungs of TR-13; stop at the first after which the server has exited.

        Each rung's grace starts when the rung is taken. The first rung's covers both what was
        still queued for the server's stdin reaching it (D-38) and the server's exit.
        """
        rungs = (
            # TR-13: close stdin and wait (the catalogue's steps 1, 2), SIGTERM (3), SIGKILL (4).
            ("close_stdin", self.close_stdin, stdin_grace),
            ("sigterm", lambda _: self._signal_group(signal.SIGTERM), term_grace),
            ("sigkill", lambda _: self._signal_group(signal.SIGKILL), _KILL_REAP_TIMEOUT),
        )
        for name, act, grace in rungs:
            started = time.monotonic()
            steps.append(name)
            act(grace)
            exited = self._wait_for_exit(max(0.0, started + grace - time.monotonic()))
            durations[name] = time.monotonic() - started
            _log.debug("server pid %d: %s, exited=%s", self.pid, name, exited)
            if exited:
                return
        _log.warning("server pid %d did not exit even after SIGKILL", self.pid)

    def _wait_for_exit(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the server to exit, and reap it (no zombie)."""
        return self.wait(timeout) is not None

    def _signal_group(self, signum: int) -> None:
        """Send ``signum`` to the server's whole process group."""
        try:
            os.killpg(self.pgid, signum)
        except ProcessLookupError:            # everyone has exited already
            pass
        except PermissionError:
            if self._proc.poll() is not None:
                # macOS says EPERM, not ESRCH, for a group whose members have all exited but
                # are not reaped yet: the server exited just now, and poll() reaped it (D-81).
                return
            # It runs as another user (a setuid program): no rung can end it. Said, not
            # raised: the ladder goes on, our fds and threads are released, and the report
            # shows that it did not exit (stdio review R2).
            _log.warning("may not send signal %d to server pid %d (EPERM: does it run as "
                         "another user?); it cannot be made to exit", signum, self.pid)

    def _kill_leftovers(self) -> bool:
        """SIGKILL whatever is left of the process group once the server itself has exited.

        A grandchild that inherited the server's pipes would otherwise keep them open, and
        keep running. (The kernel never reuses a PID while it still names a live process
        group, so signalling the group after the leader was reaped reaches only its members.
        Signal 0 also finds members that died but are not reaped yet; SIGKILL to them is
        harmless, but then ``group_killed`` is True although nothing was running.)
        """
        if self._proc.returncode is None:
            return False
        try:
            os.killpg(self.pgid, 0)           # signal 0: "does anyone exist?"
        except (ProcessLookupError, PermissionError):
            return False
        _log.debug("server pid %d exited; killing the rest of process group %d",
                   self.pid, self.pgid)
        self._signal_group(signal.SIGKILL)
        return True

    def _finish_stderr(self) -> None:
        """Let the stderr thread read to EOF (so the tail is complete), but not for ever."""
        self._stderr_thread.join(_JOIN_TIMEOUT)
        if self._stderr_thread.is_alive():    # someone outside the group holds the pipe
            self._stderr_stop.set()
            self._stderr_thread.join(_JOIN_TIMEOUT)

    def _start_drainer(self) -> threading.Thread:
        thread = threading.Thread(target=self._drain_stdout,
                                  name="mcp_ref-drain-%d" % self.pid, daemon=True)
        thread.start()
        return thread

    def _drain_stdout(self) -> None:
        """Read and discard stdout until EOF or until close() says stop (via the waker)."""
        while not self._stdout_eof:
            ready = {key.fd for key, _ in self._selector.select()}
            if self._waker.fd in ready:
                self._waker.consume()
                if self._stop_draining:
                    return
            if self._stdout_fd in ready:
                data = os.read(self._stdout_fd, READ_CHUNK)
                self._discarded += len(data)
                self._stdout_eof = not data
            elif self._pidfd in ready:        # exited, and its output is all read
                self._stdout_eof = True

    def _stop_drainer(self, drainer: Optional[threading.Thread]) -> bool:
        """Stop the drain thread; True if there is none or it has finished."""
        if drainer is None:
            return True
        self._stop_draining = True
        self._waker.wake()
        drainer.join(_JOIN_TIMEOUT)
        if self._discarded:
            _log.debug("server pid %d: discarded %d bytes of stdout while closing",
                       self.pid, self._discarded)
        return not drainer.is_alive()

    def _release_fds(self, holding_read_lock: bool, stdout_in_use: bool) -> None:
        """Close every fd we own. An fd is closed only once no thread can be using it:
        closing an fd another thread is waiting on is a classic bug (the number may be
        reused at once, and the waiter then reads someone else's data). Each is closed at most
        once, however often this runs."""
        self.close_stdin()
        self._torn_down = True
        if not holding_read_lock:
            self._waker.wake()                # a blocked read() wakes and returns b""
            holding_read_lock = self._read_lock.acquire(timeout=_JOIN_TIMEOUT)
        if holding_read_lock and not stdout_in_use:
            self._selector.close()
            pidfd, self._pidfd = self._pidfd, None
            if pidfd is not None:
                os.close(pidfd)
            self._stdout.close()
            self._waker.close()
        else:
            _log.warning("server pid %d: stdout is still in use; not closing it", self.pid)
        if holding_read_lock:
            self._read_lock.release()
        if not self._stderr_thread.is_alive():
            self._stderr.close()
            self._stderr_stop.close()
        else:
            _log.warning("server pid %d: stderr thread still running; leaking stderr", self.pid)


def ladder_bound(stdin_grace: float, term_grace: float) -> float:
    """The longest :meth:`ChildProcess.close` can take with these graces: its three rungs, the
    wait for the stderr thread, and a second to spare (a bound to wait on, not an estimate)."""
    return stdin_grace + term_grace + _KILL_REAP_TIMEOUT + 2 * _JOIN_TIMEOUT + 1.0


def _pidfd_open(pid: int) -> Optional[int]:
    """A pidfd for ``pid``, readable once it exits (Linux 5.3+); None where unsupported."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):         # not Linux, an old kernel, or Python < 3.9
        return None


def _abandon(proc: "subprocess.Popen[bytes]") -> None:
    """Kill and reap a child we could not finish setting up."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    except PermissionError:
        # macOS says EPERM for a child that exited but is not reaped yet (D-81). A child
        # still running says it only if it runs as another user: we cannot kill it.
        if proc.poll() is None:
            raise
    proc.wait(timeout=_KILL_REAP_TIMEOUT)
    for pipe in _pipes(proc):
        pipe.close()


def _pipes(proc: "subprocess.Popen[bytes]") -> Tuple[IO[bytes], IO[bytes], IO[bytes]]:
    """The child's stdin, stdout and stderr. Popen leaves one None only when it is not
    piped; :func:`_popen` pipes all three."""
    stdin, stdout, stderr = proc.stdin, proc.stdout, proc.stderr
    assert stdin is not None and stdout is not None and stderr is not None
    return stdin, stdout, stderr


def _child_environment(env: Optional[Mapping[str, str]], inherit_env: bool) -> Dict[str, str]:
    """The server's environment: ``env`` merged over all of ours, or over a safe subset."""
    if inherit_env:
        base = dict(os.environ)
    else:
        # A value starting "()" is an exported shell function (the Shellshock vector), not a
        # setting: the safe set leaves it out, as the official SDKs do (reliability RL-56).
        base = {name: os.environ[name] for name in SAFE_ENV_VARS
                if name in os.environ and not os.environ[name].startswith("()")}
    base.update(env or {})
    return base


def _popen(argv: List[str], env: Dict[str, str], cwd: Optional[str]) -> "subprocess.Popen[bytes]":
    """Start the child; an error of the OS becomes a :class:`SpawnError` saying what failed."""
    # Imported here, not at the top: a server (StdioServerTransport) never spawns, and
    # subprocess, with the locale module it loads, is ~2 ms of its start-up.
    import subprocess
    try:
        return subprocess.Popen(              # TR-01: the server is our child process
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            bufsize=0, cwd=cwd, env=env, close_fds=True,
            start_new_session=True,           # own process group: see the module docstring
        )
    except OSError as exc:
        raise SpawnError(_spawn_failure(exc, argv, env, cwd), argv=argv, cwd=cwd) from exc


def _spawn_failure(exc: OSError, argv: List[str], env: Dict[str, str],
                   cwd: Optional[str]) -> str:
    """A message naming the part that failed. Popen sets ``exc.filename`` to the cwd when
    chdir() failed and to the command when exec() failed."""
    command = argv[0]
    if cwd is not None and exc.filename == cwd:
        if isinstance(exc, FileNotFoundError):
            return "cannot start the server: working directory %r does not exist" % cwd
        return "cannot start the server: cannot enter working directory %r: %s" % (
            cwd, exc.strerror)
    if isinstance(exc, FileNotFoundError) and os.sep in command and os.path.exists(command):
        return "cannot start the server: %r exists, but its #! interpreter was not found" % (
            command,)
    if isinstance(exc, FileNotFoundError):
        if os.sep in command:
            return "cannot start the server: command %r not found" % (command,)
        # The PATH searched is the clue when it is short: a host started from a desktop
        # gets /usr/bin:/bin, not the login shell's (reliability RL-57). A long one, the
        # login shell's, is hundreds of characters in the user's way: counted (D-110).
        searched = env.get("PATH", os.defpath)
        if len(searched) <= _PATH_QUOTED:
            return "cannot start the server: command %r not found on PATH %r" % (
                command, searched)
        return ("cannot start the server: command %r not found in any of the %d directories "
                "on PATH" % (command, len(os.get_exec_path(env))))
    if isinstance(exc, PermissionError):
        path = _first_candidate(command, env, cwd)
        if path is not None and os.path.isdir(path):    # exec() says EACCES for a directory
            return "cannot start the server: %r is a directory, not a program" % (path,)
        return "cannot start the server: command %r is not executable (permission denied)" % (
            command,)
    return "cannot start the server %r: %s" % (command, exc.strerror or exc)


#: The longest PATH a "command not found" message quotes in full (D-110).
_PATH_QUOTED = 100


def _first_candidate(command: str, env: Dict[str, str], cwd: Optional[str]) -> Optional[str]:
    """The first file or directory that exec() tried for ``command``, as Popen looks for it:
    a path with a separator relative to ``cwd``, a bare name in each directory of the PATH
    of ``env``; None if there is none."""
    if os.sep in command:
        candidates = [os.path.join(cwd, command) if cwd else command]
    else:
        candidates = [os.path.join(folder, command) for folder in os.get_exec_path(env)]
    return next((path for path in candidates if os.path.exists(path)), None)


# --- The server's side --------------------------------------------------------------------


class StdioServerTransport:
    """The server's side: read frames from our own stdin, write frames to our own stdout.

    ``read()`` may be woken by :meth:`interrupt`, e.g. from a SIGTERM handler, so a server
    can leave its read loop and shut down cleanly. While it is open, the guards keep fds 0
    and 1 (and ``sys.stdout``) away from the frames (TR-06, D-22); :meth:`close` gives them
    back as they were (D-32).

    ``stdin_fd`` and ``stdout_fd`` stay the caller's: :meth:`close` closes neither. A
    program that serves on fds of its own (pipes to a client in the same process, say)
    closes them after :meth:`close`; until then the client sees no EOF on its end (D-89).
    """

    def __init__(self, stdin_fd: int = 0, stdout_fd: int = 1, *,
                 guard_stdout: bool = True, guard_stdin: bool = False) -> None:
        for fd, name in ((stdin_fd, "stdin"), (stdout_fd, "stdout")):
            if not _is_open(fd):
                # Started with it closed (``serve >&-``): its copy would take that very number,
                # and the guards would cross the wires (stdio review R3). Nothing to serve on.
                raise ConnectionClosed(f"the server's {name} (fd {fd}) is not open: there is "
                                       "no client to serve (TR-01)")
        if guard_stdout and not _is_open(2):
            # Started without a stderr (``serve 2>&-``): the guard points fd 1 at fd 2, which
            # failed, and the server exited 1 with nothing said. Logs and stray writes go to
            # /dev/null instead, never to the frames (TR-04, TR-06; stdio review R6). It stays
            # there after close(): nothing else should take fd 2 by being opened next.
            _null_at(2, os.O_WRONLY)
        self._stdin_fd, self._stdout_fd = stdin_fd, stdout_fd
        # What the stdout guard replaces, and close() restores.
        self._sys_stdout = sys.stdout
        self._owns_in_fd = guard_stdin
        self._in_fd = _guard_stdin(stdin_fd) if guard_stdin else stdin_fd
        self._owns_out_fd = guard_stdout
        if guard_stdout:
            self._out_fd: Optional[int] = _guard_stdout(stdout_fd)
        else:
            self._out_fd = stdout_fd
        self._waker = _Waker()
        self._selector = _selector_for(self._in_fd, self._waker.fd)
        self._read_lock = threading.Lock()
        # Writing goes through an outbox, so the reader thread that answers a ping never
        # waits for the client to read (D-38). That needs a non-blocking fd, which only a
        # pipe or socket gets: O_NONBLOCK belongs to the open file, which a terminal shares
        # with the shell, and for files and terminals it would change nothing anyway.
        self._nonblocking = os.get_blocking(self._out_fd) and _is_pipe_or_socket(self._out_fd)
        if self._nonblocking:
            os.set_blocking(self._out_fd, False)
        self._outbox = Outbox(self._out_fd, "stdout", on_broken=self.interrupt)
        self._eof = False
        self._interrupted = False
        self._closed = False

    def read(self, timeout: Optional[float] = None) -> Optional[bytes]:
        """The next chunk of stdin: ``b""`` at EOF or after :meth:`interrupt`, None on timeout.

        TR-14: EOF on stdin means the client is done; the caller then shuts down and exits.
        (We never make fd 0 non-blocking: its open file description may be shared with other
        processes. The selector tells us when os.read() will not block.)

        While more than :data:`OUTBOX_HIGH_WATER` bytes of the reader's own replies
        (``write(reply=True)``: pongs, errors for bad lines) wait for a client that does not
        read them, nothing more is read: a client that floods us with pings is held up by a
        full pipe instead of growing our memory (D-38). :meth:`interrupt` ends that wait, and
        so does the client closing our stdin: its EOF must still end the session (TR-14).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        if not _hold_reader(self._outbox, deadline, self._let_reader_go):
            return None
        with self._read_lock:
            if self._eof or self._interrupted or self._closed:
                return b""
            ready = {key.fd for key, _ in self._selector.select(_remaining(deadline))}
            if self._waker.fd in ready:
                self._waker.consume()
                self._interrupted = True
                return b""
            if not ready:
                return None
            data = os.read(self._in_fd, READ_CHUNK)
            self._eof = not data              # TR-14: EOF on stdin, time to exit
            return data

    def _let_reader_go(self) -> bool:
        """A reader held up by its replies (D-38) reads on once the client has closed our
        stdin: what is left is bounded by the pipe, and its EOF ends the session (TR-14)."""
        with self._read_lock:
            return self._closed or _ready_or_hung_up((), self._in_fd)

    def hold_reader(self) -> None:
        """The reader thread, before it writes one more reply while it handles what it read
        (an inline tool's progress, log or answer, D-70): wait as :meth:`read` does before it
        reads, while more than :data:`OUTBOX_HIGH_WATER` bytes of its replies wait for the
        client, so that a tool that writes much to a client that does not read is held up
        instead of growing our memory (D-38). Not once the client has closed our stdin (it
        may never read again: what is left goes, as from :meth:`read`), nor after
        :meth:`interrupt`."""
        if self._outbox.replies_queued > OUTBOX_HIGH_WATER and not self._let_reader_go():
            _hold_reader(self._outbox, None, self._let_reader_go)

    @property
    def at_eof(self) -> bool:
        """True once stdin itself reached EOF; False if reads return ``b""`` only because of
        :meth:`interrupt` or :meth:`close`."""
        return self._eof

    def interrupt(self) -> None:
        """Make the current or next :meth:`read` return ``b""`` (and every later one too).

        Safe in a signal handler: os.write to non-blocking pipes, no lock.
        """
        self._waker.wake()
        self._outbox.release_reader()         # a read() waiting for the client to read

    def write(self, data: bytes, reply: bool = False) -> None:
        """Send one or more whole frames to stdout, after everything written before them.

        Never waits for the client to read (:class:`Outbox`, D-38). ``reply``: the reader
        thread answering what it read (see :meth:`read`). Raises
        :class:`ConnectionClosed` if the client has closed its end of our stdout, or after
        :meth:`close`. If the client turns out to be gone while queued frames are being
        written, reading is interrupted too: the server shuts down as at EOF (RL-03).
        """
        try:
            self._outbox.put(data, reply)
        except BrokenPipeError:
            raise ConnectionClosed("client closed the server's stdout") from None
        except OSError as exc:                # EIO, ENOSPC...: as gone as a closed pipe
            raise ConnectionClosed(f"cannot write to the server's stdout: {exc}") from None

    def wait_for_room(self, deadline: Optional[float]) -> bool:
        """Wait, until ``deadline`` at most, while much is queued for a client that is slow
        to read (:meth:`Outbox.wait_for_room`); False if the deadline passed first."""
        return self._outbox.wait_for_room(deadline)

    def abandon_output(self) -> None:
        """Drop every frame still queued for the client (a server on SIGTERM does not wait
        for a client that stopped reading); :meth:`write` refuses from now on. Safe in a
        signal handler."""
        self._outbox.abandon()

    def close(self, flush_timeout: float = 0.0) -> None:
        """Stop reading and writing frames, and give back what the guards took: fds 0 and 1
        point again at what they pointed at before, and ``sys.stdout`` is the object it was,
        so a program that embeds the server can go on using its stdio (D-32). Idempotent.

        The frame channel is therefore not closed here but handed back to fd 1: the client
        sees EOF on our stdout when the process exits, which is when TR-13's shutdown looks
        for it (TR-15: the server closes its stdout *and exits*). Frames still queued for a
        client that is slow to read get up to ``flush_timeout`` s to reach it.
        """
        self.interrupt()
        with self._read_lock:
            if self._closed:
                return
            self._closed = True
            self._selector.close()
            self._waker.close()
            if self._owns_in_fd:
                _restore_fd(self._in_fd, self._stdin_fd)
        dropped = self._outbox.close(flush_timeout)   # from here on, nothing writes to it
        if dropped:
            _log.warning("dropped %d bytes of frames the client did not read", dropped)
        out_fd, self._out_fd = self._out_fd, None
        if out_fd is None:
            return
        if self._outbox.flushing:             # never expected: then fd 1 stays guarded
            _log.warning("the stdout flusher did not stop; not giving stdout back")
            return
        if self._nonblocking:
            os.set_blocking(out_fd, True)     # the open file is shared: leave it as it was
        if self._owns_out_fd:
            _restore_stdout(out_fd, self._stdout_fd, self._sys_stdout)


def _is_pipe_or_socket(fd: int) -> bool:
    """True if ``fd`` is a pipe or a socket: the only files whose writes can stop half way."""
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _private_copy(fd: int) -> int:
    """A close-on-exec copy of ``fd`` numbered 3 or more, never 0, 1 or 2: a guard then points
    those at something else, and a copy that had taken one of them would move with it."""
    import fcntl
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)


def _guard_stdin(stdin_fd: int) -> int:
    """Keep stdin for protocol frames only; return the fd to read frames from.

    A subprocess that a handler starts inherits fd 0. If it reads stdin (plenty of programs
    do, by default), it steals the client's requests, or blocks until it is killed
    (reliability RL-31, SC-06). So, as for stdout (TR-06), the frame channel moves to a private
    fd (close-on-exec, :func:`_private_copy`) and fd 0 becomes ``/dev/null``: a child reading
    stdin sees end of file at once. :meth:`StdioServerTransport.close` moves it back.
    """
    frame_fd = _private_copy(stdin_fd)
    _null_at(stdin_fd, os.O_RDONLY)           # everyone else reading fd 0 reads /dev/null
    return frame_fd


def _null_at(fd: int, flags: int) -> None:
    """Point ``fd`` at ``/dev/null``, opened with ``flags``."""
    null_fd = os.open(os.devnull, flags)
    if null_fd != fd:                         # it may get that very number, if it was free
        try:
            os.dup2(null_fd, fd)
        finally:
            os.close(null_fd)


def _guard_stdout(stdout_fd: int) -> int:
    """Keep stdout for protocol frames only (TR-06); return the fd to write frames to.

    TR-06: nothing but MCP messages may reach the server's stdout.
    Being careful with print() is not enough: a library may print, C code may write to fd 1,
    and a subprocess inherits fd 1. So we move the frame channel *away* from fd 1:

    1. :func:`_private_copy` gives a private fd on the same pipe; only frames go there.
       (It is close-on-exec, so subprocesses do not inherit it.)
    2. ``os.dup2(2, stdout_fd)`` points fd 1 at stderr, so every stray write to fd 1, from
       any code or any child process, lands in the client's log instead of corrupting the
       protocol stream.
    3. ``sys.stdout = sys.stderr`` does the same for Python-level prints, unbuffered-ish.

    :meth:`StdioServerTransport.close` undoes all three (:func:`_restore_stdout`).
    """
    frame_fd = _private_copy(stdout_fd)       # TR-06: frames only, through this fd
    os.dup2(2, stdout_fd)                     # TR-06: everything else written to fd 1 -> stderr
    sys.stdout = sys.stderr
    return frame_fd


def _restore_fd(copy_fd: int, std_fd: int) -> None:
    """Undo a guard: ``std_fd`` points again at what ``copy_fd``, the copy the guard made,
    points at, and the copy is closed (D-32)."""
    try:
        os.dup2(copy_fd, std_fd)
    finally:
        os.close(copy_fd)


def _restore_stdout(frame_fd: int, stdout_fd: int, sys_stdout: Any) -> None:
    """Undo :func:`_guard_stdout`: fd 1 and ``sys.stdout`` as they were before it (D-32)."""
    # Code that kept a reference to the old sys.stdout (a logging handler, say) wrote through
    # it while fd 1 pointed at stderr. What it left in the buffer is no frame: flush it to
    # stderr before fd 1 points at the client's pipe again (TR-06).
    try:
        if sys_stdout is not None:            # None: Python started with fd 1 closed
            sys_stdout.flush()
    except (OSError, ValueError):             # a broken pipe, or closed: nothing to save
        pass
    _restore_fd(frame_fd, stdout_fd)
    if sys.stdout is sys.stderr:              # still what the guard set: put the old one back
        sys.stdout = sys_stdout


def watchdog_problem(interval: Optional[float], pid: Optional[int]) -> Optional[str]:
    """What is wrong with a watchdog setting (``interval`` None: no watchdog), or None. The one
    check behind :class:`ParentWatchdog`, ``Server.run_stdio`` and ``serve --watchdog``."""
    if interval is None:
        return None if pid is None else "a pid to watch needs a watchdog interval"
    if not 0 < interval < float("inf"):        # NaN fails too; inf overflows Event.wait()
        return "the watchdog interval must be a finite, positive number of seconds"
    if pid is not None and pid <= 0:
        return "the watched pid must be a positive process id"
    return None


class ParentWatchdog:
    """Notices that the client is gone although our stdin never reached EOF (reliability RL-04,
    SC-25; decision D-33).

    EOF on stdin is how a server learns that its client is done (TR-14). But the write end of
    the pipe can outlive the client: a wrapper between the two (``npm exec``, ``sh -c``), or any
    process that inherited the pipe, keeps it open, and the server then lives on as an orphan.
    Every ``interval`` seconds this thread checks whether the client is still there:

    * by default, our parent process. When it exits we are reparented (to PID 1, or to a
      "subreaper" such as ``systemd --user``), so :func:`os.getppid` changes;
    * with ``pid``, that process: ``os.kill(pid, 0)`` sends nothing but raises
      ProcessLookupError once no such process exists. (A process that has exited but was not
      yet reaped by its own parent still exists for this test.)

    Once the client is gone it calls ``on_gone`` once (the server: shut down as at stdin EOF)
    and ends. It costs one wake-up per interval and nothing per message.
    """

    def __init__(self, interval: float, pid: Optional[int] = None) -> None:
        problem = watchdog_problem(interval, pid)
        if problem is not None:
            raise ValueError(problem)
        self.interval = interval
        self.pid = pid
        self._parent = os.getppid()           # taken now: a change later means it exited
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self, on_gone: Callable[[], None]) -> None:
        self._thread = threading.Thread(target=self._watch, args=(on_gone,),
                                        name="mcp_ref-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the thread. It only ever waits on this event, so it ends at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(_JOIN_TIMEOUT)

    def client_gone(self) -> bool:
        if self.pid is None:
            return os.getppid() != self._parent
        try:
            os.kill(self.pid, 0)              # signal 0: "does it exist?"
        except ProcessLookupError:
            return True
        except PermissionError:               # it exists, but is someone else's
            pass
        return False

    def _watch(self, on_gone: Callable[[], None]) -> None:
        while not self._stop.wait(self.interval):     # the interval is the wait's timeout
            if self.client_gone():
                watched = "our parent" if self.pid is None else "process %d" % self.pid
                _log.warning("%s is gone, but stdin is still open: shutting down as at end "
                             "of file", watched)
                on_gone()
                return
