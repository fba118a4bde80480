"""The blocking glue shared by Client and Server: requests with deadlines, one writer.

Both peers of MCP send requests (the server pings the client, asks it for roots, ...), so both
need the same machinery around the sans-I/O :class:`~mcp_ref.connection.Connection`:

* :class:`PendingRequest` -- one request of ours awaiting its outcome, in the style of
  ``concurrent.futures.Future``: exactly one outcome (result or exception), and ``result()``
  that blocks until the outcome or the deadline.
* :class:`Session` -- owns the connection and a lock around it (the connection is not
  thread-safe), a function that writes whole frames, and the map of pending requests. Its
  :meth:`Session.feed` is called by the reader thread with each chunk of bytes.

Timeouts (spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle#timeouts):
every request gets a deadline (TO-01), configurable per request (TO-03). When it passes, the
request is cancelled with ``notifications/cancelled`` (TO-02) -- never ``initialize`` (CN-03) --
and the caller gets :class:`~mcp_ref.errors.RequestTimeout`. With ``reset_on_progress``,
progress pushes the deadline back (TO-04), but never past the maximum total time (TO-05).

The clock lives here, in the waiting caller: the deadline is checked by whoever waits in
``result()`` or ``wait()``. For a request nobody waits on, the client's reader thread keeps
it (:meth:`Session.sweep`, D-65): there is no timer thread. The server's reader does not
sweep: each of its requests has a waiter (the handler that asked, the keepalive).

:class:`Keepalive` is the ping loop both peers can run (PG-05, decisions D-10 and D-48).
"""

from __future__ import annotations

import threading
import time

from . import events as ev
from . import spec
from ._callables import call_problem
from ._logging import LazyLogger
from .connection import Connection, check_cancel_reason
from .errors import ConnectionClosed, McpRefError, PeerError, RequestCancelled, RequestTimeout
from .lifecycle import ENDING

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, FrozenSet, List, Optional, Tuple

    from .jsonrpc import RequestId

log = LazyLogger("mcp_ref.session")

if TYPE_CHECKING:
    #: Called with (progress, total, message) for each progress notification of a request.
    ProgressCallback = Callable[[float, Optional[float], Optional[str]], None]

#: How long a waiter whose deadline has passed still waits for an outcome that another thread
#: is recording at that moment (close()'s fail_all, or the reader's sweep, D-65), so this is
#: never reached.
_DELIVERY_GRACE = 5.0
#: A handler's question waiting for room (D-38) looks this often whether its asker was
#: cancelled meanwhile (D-43): the wait for room is on the outbox, which a cancel does not wake.
_UNLESS_POLL = 0.1
#: The reader ends the requests nobody waits on at their deadlines (:meth:`Session.sweep`,
#: D-65), looking over them at most this often: each look is a pass over every request in
#: flight, so a flood of distinct deadlines costs at most ten passes a second. Such a request
#: ends within this long after its deadline; one with a waiter ends on time.
_SWEEP_GAP = 0.1
#: The longest the reader reads before it looks at the deadlines again. A selector takes at
#: most INT_MAX ms (epoll: about 24.8 days; OverflowError beyond), while a request's timeout
#: may be anything up to ``threading.TIMEOUT_MAX`` (D-10): a read that ends early only costs
#: a sweep that finds nothing due.
_SWEEP_WAIT_MAX = 86400.0
#: The longest a waiter for a request's outcome blocks before it looks at ``_done`` again
#: (:meth:`PendingRequest._block`): how late it can be if a wake-up was lost (D-80).
_WAKEUP_SLICE = 1.0
#: How long stopping a keepalive waits for its thread. It only ever waits on its stop event or
#: on one ping with a deadline: stop() ends a ping still waiting for room, and the owner ends
#: one waiting for its answer first (fail_all), so this is never reached.
_KEEPALIVE_JOIN_TIMEOUT = 5.0
#: How long a keepalive ping waits for its answer unless told otherwise (PG-07, D-10, D-48).
DEFAULT_KEEPALIVE_TIMEOUT = 10.0
#: The server's least time, in seconds, between two progress notifications on one request
#: (PR-12: rate-limit progress so as not to flood the client; D-47). 20 a second is more than
#: a progress bar shows, and a handler reporting in a tight loop no longer floods the pipe.
DEFAULT_PROGRESS_INTERVAL = 0.05


class PendingRequest:
    """One request of ours, from the moment it is written until its single outcome.

    ``result()`` blocks until the response arrives, the deadline passes (the request is then
    cancelled and RequestTimeout raised), or the request is cancelled or the connection closed.

    The waiting is done on ``_settled``, a lock used as a one-shot signal: it is held from the
    start and released once, when the outcome is recorded. A waiter acquires it with its
    deadline as the timeout and releases it at once, so every other waiter passes too. (A
    ``threading.Condition`` does the same with several more objects per wait; this is on the
    path of every request.)
    """

    def __init__(self, session: "Session", request_id: RequestId, method: str, *,
                 timeout: Optional[float], max_total: Optional[float],
                 reset_on_progress: bool, on_progress: Optional[ProgressCallback],
                 started: Optional[float] = None) -> None:
        """``started``: when the caller made the request (``time.monotonic()``; default now).
        The deadlines count from then, so they cover a wait for room before the write."""
        self.id = request_id
        self.method = method
        self.timeout = timeout
        self.max_total = max_total
        self.reset_on_progress = reset_on_progress
        self._on_progress = on_progress
        self._session = session
        self._started = time.monotonic() if started is None else started
        self._last_activity = self._started
        self._guard = threading.Lock()        # makes recording the outcome one step
        self._settled = threading.Lock()      # held until the outcome is recorded
        self._settled.acquire()
        self._done = False
        self._result: Optional[Dict[str, Any]] = None
        self._error: Optional[BaseException] = None
        # The response, once the reader has taken it off the pending map: it is delivered
        # after the events that came before it, and a waiter whose deadline passes meanwhile
        # takes it from here (it arrived in time: never a timeout).
        self._arrived: Optional[ev.Event] = None
        # What the owner's ``Session.settle_stamp`` said as the reader settled this request,
        # in wire order: anything the owner counts (the client: tools/list_changed) that came
        # before the answer is in it, nothing after. None if unset or taken at a deadline.
        self.stamp: Any = None
        #: Set by the owner before it hands the request out: called with the result and the
        #: :attr:`stamp` each time :meth:`result` returns it, and raises to refuse it (the
        #: client's tools/call checks, TL-08 and TL-09, D-93). None: the result is returned as
        #: it came. It is given the stamp rather than the handle, so that it need not refer to
        #: the handle: a handle that referred to itself would wait for the cycle collector.
        self.check: Optional[Callable[[Dict[str, Any], Any], None]] = None

    # --- For the caller -----------------------------------------------------------------------

    def done(self) -> bool:
        """True once the request has its outcome. A deadline that has passed is one: the
        request is then cancelled (TO-02) and ends with RequestTimeout (D-64)."""
        if not self._done:
            self.wait(0)
        return self._done

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait up to ``timeout`` seconds (None: no limit) for the outcome; True if it came.

        The request's own deadline counts (TO-01, TO-02): once it passes, the request is
        cancelled and ends with RequestTimeout, whether or not :meth:`result` is ever called.
        Before D-64 only ``result()`` acted on it, and a handle that was only polled stayed
        pending, and registered, for ever. (A client's reader also ends it at the deadline
        if nobody waits: :meth:`Session.sweep`, D-65.)"""
        until = None if timeout is None else time.monotonic() + (waitable(timeout) or 0.0)
        while not self._done:
            now = time.monotonic()
            deadline = self._deadline()       # recomputed: progress may have moved it (TO-04)
            if deadline is not None and now >= deadline:
                self._time_out()
                break
            if until is not None and now >= until:
                break
            limits = [t - now for t in (deadline, until) if t is not None]
            self._block(min(limits) if limits else None)
        return self._done

    def result(self) -> Dict[str, Any]:
        """The result, once it arrives; raises the request's error otherwise.

        Raises RequestTimeout (after sending a cancel), RequestCancelled, PeerError,
        ConnectionClosed or another McpRefError; RuntimeError, at once, on the thread that
        reads the answers (:meth:`Session.check_may_wait`); or what :attr:`check` raises for
        the result (the client's tools/call: RemoteProtocolError, D-93).
        """
        if not self._done:
            self._session.check_may_wait(self.method)
        self.wait()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        if self.check is not None:
            self.check(self._result, self.stamp)
        return self._result

    def _block(self, timeout: Optional[float]) -> None:
        """Wait on the one-shot signal, at most ``timeout`` s (None: until it comes), in slices
        of at most :data:`_WAKEUP_SLICE` s, looking at ``_done`` between them.

        The slices are for a waiter interrupted (KeyboardInterrupt, on the main thread) after
        it took the signal and before it passed it on: the lock then stays held, and a waiter
        on another thread would otherwise block until its deadline, or for ever without one.
        With slices it sees ``_done`` within one slice (D-80)."""
        until = None if timeout is None else time.monotonic() + (waitable(timeout) or 0.0)
        while not self._done:
            left = _WAKEUP_SLICE if until is None else min(until - time.monotonic(),
                                                           _WAKEUP_SLICE)
            if left <= 0:
                return
            if self._settled.acquire(timeout=left):
                self._settled.release()       # let the next waiter through
                return

    def _time_out(self) -> None:
        """The deadline has passed: cancel (TO-02) and end with RequestTimeout."""
        total = self._total_deadline_passed()
        self._session._expire(self, total=total)
        arrived = self._arrived
        if arrived is not None:
            # The response came in time, but the reader is still handling what arrived
            # before it (an application callback that takes long): the caller's deadline
            # comes first, so it has the response now, without waiting for the rest (TO-01).
            self._settle_with(arrived)
        elif not self._done:
            self._block(_DELIVERY_GRACE)
            if not self._done:
                # Unreachable (fail_all is settling it); never hang the caller.
                limit = (self.max_total if total else self.timeout) or 0.0
                self._settle(None, RequestTimeout(self.method, limit, total=total))

    def cancel(self, reason: Optional[str] = None) -> bool:
        """Cancel from any thread (CN-01). True if this call ended the request.

        Sends ``notifications/cancelled``; the waiting caller gets RequestCancelled. A
        ``reason`` that is not a string is LocalProtocolError, and nothing is cancelled.
        """
        check_cancel_reason(reason)         # before the request is taken off the books
        return self._session._abandon(self, RequestCancelled(self.method, reason),
                                      reason or "cancelled by the caller")

    # --- Deadlines (TO-01..TO-05) ------------------------------------------------------------

    def _deadline(self) -> Optional[float]:
        deadline = None
        if self.timeout is not None:
            since = self._last_activity if self.reset_on_progress else self._started
            deadline = since + self.timeout
        if self.max_total is not None:
            total = self._started + self.max_total
            deadline = total if deadline is None else min(deadline, total)
        return deadline

    def _total_deadline_passed(self) -> bool:
        return (self.max_total is not None
                and time.monotonic() >= self._started + self.max_total)

    # --- For the session ----------------------------------------------------------------------

    def _settle(self, result: Optional[Dict[str, Any]], error: Optional[BaseException]) -> bool:
        """Record the single outcome; later calls are ignored. True if this call settled it."""
        with self._guard:
            if self._done:
                return False
            self._result, self._error = result, error
            self._done = True
        self._settled.release()               # wake every waiter
        return True

    def _settle_with(self, response: ev.Event) -> bool:
        """Settle with a ResponseReceived's result or a RequestFailed's error."""
        if isinstance(response, ev.ResponseReceived):
            return self._settle(response.result, None)
        assert isinstance(response, ev.RequestFailed)
        return self._settle(None, response.error)

    def _progress(self, event: ev.ProgressReceived) -> None:
        if self.reset_on_progress:
            # TO-04: progress resets the clock. A waiter sees the later deadline when it wakes
            # at the earlier one, and waits on. Not a clock that has run out (TO-02): the
            # reader's sweep may come up to 0.1 s after a deadline (D-65), and progress read
            # meanwhile must not give the request a new one.
            now = time.monotonic()
            deadline = self._deadline()
            if deadline is None or now < deadline:
                self._last_activity = now
        if self._on_progress is not None:
            try:
                self._on_progress(event.progress, event.total, event.message)
            except BaseException as exc:
                # SystemExit (sys.exit() in application code), asyncio's CancelledError,
                # anything: this runs on the reader thread, which must not end with it (shell
                # review F2, D-59). A server reads on the main thread, where Ctrl-C arrives:
                # that KeyboardInterrupt is the user's, not the callback's, and goes on up.
                if (isinstance(exc, KeyboardInterrupt)
                        and threading.current_thread() is threading.main_thread()):
                    raise
                log.exception("on_progress callback for %s raised", self.method)


class Session:
    """The connection, its lock, the writer and the pending requests of one peer.

    ``write`` puts whole frames on the wire *without waiting for the peer to read them*: the
    stdio transports queue what the pipe cannot take yet (:class:`mcp_ref.stdio.Outbox`,
    D-38). That is what lets every use of the connection follow one short pattern: under
    ``_lock``, call the connection and write the bytes it returned. So frames reach the wire
    in exactly the order the connection produced them -- a handler's progress never overtakes
    its own response (PR-13), nor a cancel the request it cancels -- and no thread ever holds
    the lock while waiting for the peer: not a caller, whose deadline covers its whole request
    (TO-01), nor the reader thread, which must keep reading for the peer to make progress.
    (The reader's own replies go through ``write_reply``: the transport reads less, between
    two reads, while too many of them wait for the peer.)
    """

    def __init__(self, connection: Connection, write: Callable[[bytes], None], *,
                 request_timeout: Optional[float], max_total_timeout: Optional[float],
                 wait_for_room: Optional[Callable[[Optional[float]], bool]] = None,
                 write_reply: Optional[Callable[[bytes], None]] = None,
                 progress_interval: float = 0.0,
                 clock: Callable[[], float] = time.monotonic,
                 wake_reader: Optional[Callable[[], None]] = None,
                 hold_reader: Optional[Callable[[], None]] = None) -> None:
        """``progress_interval``: the least time, in seconds, between two progress
        notifications on one request of the peer's; 0 sends every one (PR-12, D-47).
        ``clock`` tells the connection the time for that (injectable for tests).
        ``wake_reader``: makes the reader's read return at once, for a request whose deadline
        comes before the reader's next :meth:`sweep` (D-65); None if the owner's reader does
        not sweep (the server: each of its requests has a waiter).
        ``hold_reader``: the reader thread, before it writes a reply through
        :meth:`_exchange` (an inline tool's answer, progress or log: D-70), waits there while
        too many of its replies wait for the peer, as it does before it reads (D-38)."""
        self.connection = connection
        self.progress_interval = progress_interval
        self._clock = clock
        self.request_timeout = deadline_seconds("request timeout", request_timeout)
        self.max_total_timeout = deadline_seconds("maximum total timeout", max_total_timeout)
        self._lock = threading.Lock()           # guards the connection and _requests
        self._write = write
        # The reader thread's own replies (a pong, an error for a bad line) go here, so that
        # the transport can stop reading while too many of them wait for the peer (D-38).
        self._write_reply = write_reply or write
        # Backpressure: a thread that starts something waits here first, *without* the lock,
        # while much is queued for a peer slow to read (Outbox.wait_for_room, D-38).
        self._wait_for_room = wait_for_room or (lambda deadline: True)
        self._hold_reader = hold_reader or (lambda: None)
        self._requests: Dict[RequestId, PendingRequest] = {}
        self._closed_error: Optional[McpRefError] = None
        #: Called on the reader thread as each response settles its request; the value is
        #: kept as ``PendingRequest.stamp`` (the client's TL-09 check needs to know what came
        #: on the wire before an answer, not before its caller happened to wake).
        self.settle_stamp: Optional[Callable[[], Any]] = None
        # Deadlines nobody waits on (D-65): when the reader's next sweep is due (the soonest
        # deadline a request in flight may have; None: none has one), and when it last swept.
        self._wake_reader = wake_reader
        #: The thread that reads the peer's answers, if the owner runs callbacks on it (the
        #: client's on_notification and on_progress): no request waits there
        #: (:meth:`check_may_wait`).
        self.reader: Optional[threading.Thread] = None
        self._sweep_due: Optional[float] = None
        self._swept = float("-inf")

    def _exchange(self, produce: Callable[[], bytes], reply: bool = False,
                  room: bool = True) -> bytes:
        """The whole pattern for a call that only produces bytes: ``produce()`` runs under the
        lock, and what it returns is written, quietly (see :meth:`_put`); returns those bytes.

        A handler's answer, progress or log first waits for room (bounded by close()), unless
        ``room`` is False (it is known to write nothing). ``reply``: the reader thread answers
        what it read; it never waits for room, but is held up, as between two reads, while
        too many of its replies wait for the peer (D-38). Between two reads is not enough: an
        inline tool may log or report progress any number of times in one call (D-70), and
        each frame queued in memory, however many (PR-12: no flooding; found in inline
        review). https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/progress"""
        if room and reply:
            self._hold_reader()
        elif room:
            self._wait_for_room(None)
        with self._lock:
            data = produce()
            self._put(data, reply=reply)
        return data

    def _put(self, data: bytes, *, quiet: bool = True, reply: bool = False) -> None:
        """Under ``_lock``: write ``data`` (never waits for the peer; see the class docstring).

        ``quiet``: a closed connection is logged instead of raised (for frames whose loss does
        not matter: a cancel, an answer to a peer that is gone). ``reply``: the reader
        thread's own reply, written with ``write_reply``.
        """
        if not data:
            return
        try:
            (self._write_reply if reply else self._write)(data)
        except ConnectionClosed:
            if not quiet:
                raise
            log.debug("could not write %d bytes: the connection is closed", len(data))

    # --- Sending ------------------------------------------------------------------------------

    def send_request(self, method: str, params: Optional[Dict[str, Any]] = None, *,
                     timeout: Any = "default", on_progress: Optional[ProgressCallback] = None,
                     progress_token: Any = None, reset_on_progress: bool = False,
                     max_total_timeout: Any = "default",
                     unless: Optional[Callable[[], bool]] = None) -> PendingRequest:
        """Write a request and return its PendingRequest without waiting.

        ``timeout`` defaults to the session's ``request_timeout`` (None: no deadline);
        ``on_progress`` asks for progress (the token is the request id unless
        ``progress_token`` is given). It runs on the reader thread, in order with the
        response, so it must return quickly: while it runs, nothing else is read. It is
        called as ``on_progress(progress, total, message)`` and never awaited: ValueError,
        nothing sent, for one that could never be called so, or an ``async def`` (D-109).
        ``reset_on_progress`` asks for progress too, and needs a maximum total time: the
        session's ``max_total_timeout`` unless given; ValueError if there is none (TO-05).
        ``unless``: checked under the lock, just before the write (after any wait for room);
        if it returns True, nothing is sent and RequestCancelled is raised (D-43). It is
        called as ``unless()`` and never awaited: ValueError, nothing sent, for one that could
        never be called so, or an ``async def`` (D-113).
        """
        if isinstance(timeout, str) and timeout == "default":
            timeout = self.request_timeout
        else:
            timeout = deadline_seconds("timeout", timeout)
        if isinstance(max_total_timeout, str) and max_total_timeout == "default":
            # Without resets, the timeout is the maximum; with them, the session's cap holds.
            max_total = self.max_total_timeout if reset_on_progress else None
        else:
            # Asked for explicitly: kept, even without resets.
            max_total = deadline_seconds("max_total_timeout", max_total_timeout)
        if reset_on_progress and max_total is None:
            raise ValueError("reset_on_progress=True needs a finite max_total_timeout: "
                             "progress may restart the clock, but a maximum total always "
                             "holds (TO-05)")
        if on_progress is not None:
            # Called on the reader thread with a progress notification's progress, total and
            # message: one Python would refuse to call so, or an async def (a coroutine nobody
            # awaits), failed, or did nothing, at each progress, logged there (D-109).
            problem = call_problem("on_progress", on_progress,
                                   ("progress", "total", "message"),
                                   f"the {self.connection.role.value}")
            if problem is not None:
                raise ValueError(problem)
        if unless is not None:
            # Called with no argument under the lock, just before the write (D-43): one
            # Python would refuse to call so was a TypeError there, at the write, and an async
            # def made a coroutine, which is true: the request was never sent (D-113).
            problem = call_problem("unless", unless, (), f"the {self.connection.role.value}")
            if problem is not None:
                raise ValueError(problem)
        return self._start(
            lambda: self.connection.send_request(
                method, params, progress_token=progress_token,
                # TO-04: a reset needs progress to arrive, so it asks for progress itself.
                want_progress=on_progress is not None or reset_on_progress),
            method, timeout=timeout, max_total=max_total, reset_on_progress=reset_on_progress,
            on_progress=on_progress, unless=unless)

    def request(self, method: str, params: Optional[Dict[str, Any]] = None,
                **options: Any) -> Dict[str, Any]:
        """Send a request and block until its result (see :meth:`send_request`)."""
        self.check_may_wait(method)             # before anything is sent
        return self.send_request(method, params, **options).result()

    def check_may_wait(self, method: str) -> None:
        """RuntimeError if the calling thread is :attr:`reader`: a callback run there (the
        client's on_notification or on_progress) that waited for an answer would hold the
        only thread that can read it, until the deadline (TO-01) or for ever. Refused at once,
        as an inline tool's question is on the server (D-70)."""
        if self.reader is not None and threading.current_thread() is self.reader:
            raise RuntimeError(f"{method}: a request cannot wait for its answer on the reader "
                               "thread (an on_notification or on_progress callback), the only "
                               "thread that could read it; use send_request() and wait "
                               "elsewhere, or notification_queue=")

    def notify(self, method: str, params: Optional[Dict[str, Any]] = None) -> None:
        """Send a notification. If the peer has stopped reading, waits for room up to the
        session's request timeout, then raises RequestTimeout with nothing sent (D-38)."""
        self._wait_to_send(method, self.request_timeout)
        with self._lock:
            self._raise_if_closed()
            self._put(self.connection.send_notification(method, params), quiet=False)

    def _register_initialize(self, timeout: Optional[float]) -> PendingRequest:
        """Client: write ``initialize``; its deadline never cancels it (CN-03)."""
        timeout = deadline_seconds("handshake timeout", timeout)
        return self._start(self.connection.initialize, spec.INITIALIZE, timeout=timeout,
                           max_total=None, reset_on_progress=False, on_progress=None)

    def _start(self, open_request: Callable[[], Tuple[RequestId, bytes]], method: str,
               unless: Optional[Callable[[], bool]] = None, **deadlines: Any) -> PendingRequest:
        """Register one request of ours and write it.

        ``open_request()`` asks the connection for the request's id and bytes, under the lock;
        the PendingRequest is registered before the bytes can reach the peer, so its response
        always finds it. A request that cannot be written fails at once (nothing lost, I1).
        Writing never waits for the peer, so the deadline, which starts here, covers the
        whole request: a server that stops reading its stdin cannot hold the caller (D-38).
        While much is queued for it already, the request waits for room within its deadline,
        and if there is none by then, fails with RequestTimeout, never sent (so not cancelled).
        The clock starts *before* that wait, and the PendingRequest is given that start: a
        request that got room late has the rest of its time, not all of it again (TO-01;
        shell review F4).
        """
        started = time.monotonic()
        limits = [t for t in (deadlines["timeout"], deadlines["max_total"]) if t is not None]
        self._wait_to_send(method, min(limits) if limits else None, started, unless)
        with self._lock:
            self._raise_if_closed()
            if unless is not None and unless():
                raise RequestCancelled(method, "cancelled before it was sent")
            request_id, data = open_request()
            pending = PendingRequest(self, request_id, method, started=started, **deadlines)
            self._requests[request_id] = pending
            try:
                self._put(data, quiet=False)
            except ConnectionClosed as exc:
                del self._requests[request_id]
                pending._settle(None, exc)
                raise
            sooner = self._bring_sweep_forward(pending._deadline())
        if sooner and self._wake_reader is not None:
            self._wake_reader()             # its read may have no end, or a later one (D-65)
        return pending

    def _wait_to_send(self, method: str, limit: Optional[float],
                      started: Optional[float] = None,
                      unless: Optional[Callable[[], bool]] = None) -> None:
        """Before the lock: wait for room until ``limit`` s after ``started`` (default now;
        None: until there is room or the transport closes); RequestTimeout, with nothing
        sent, if there is none (D-38). With ``unless`` (a handler's question, D-43), look
        every :data:`_UNLESS_POLL` s whether it now holds: then RequestCancelled, unsent."""
        if started is None:
            started = time.monotonic()
        deadline = None if limit is None else started + limit
        while True:
            step = deadline
            if unless is not None:
                soon = time.monotonic() + _UNLESS_POLL
                step = soon if deadline is None else min(soon, deadline)
            if self._wait_for_room(step):
                return
            if unless is not None and unless():
                raise RequestCancelled(method, "cancelled while it waited for room to be sent")
            if deadline is not None and time.monotonic() >= deadline:
                raise RequestTimeout(method, limit or 0.0, unsent=True)

    def _raise_if_closed(self) -> None:
        if self._closed_error is not None:
            raise self._closed_error          # later calls fail fast (reliability SC-04)
        if self.connection.state in ENDING:
            # Shutting down, and the details (exit code, stderr) are still being collected:
            # a closed connection all the same, never a lifecycle error for the caller (I2).
            raise ConnectionClosed("the connection is closing")

    # --- Ending one request early -------------------------------------------------------------

    def _expire(self, pending: PendingRequest, *, total: bool) -> None:
        """The deadline passed: cancel (TO-02) and fail with RequestTimeout."""
        limit = pending.max_total if total else pending.timeout
        error = RequestTimeout(pending.method, limit or 0.0, total=total)
        self._abandon(pending, error, f"timed out after {limit:g} s" if limit else "timed out")

    def _abandon(self, pending: PendingRequest, error: McpRefError, reason: str) -> bool:
        with self._lock:
            if self._requests.get(pending.id) is not pending:
                return False      # already settled, or its response is being delivered now
            del self._requests[pending.id]
            data = b""
            if pending.method == spec.INITIALIZE:
                self.connection.forget(pending.id)   # CN-03: initialize is never cancelled
            else:
                data = self.connection.cancel(pending.id, reason)
            self._put(data)
        return pending._settle(None, error)

    # --- Deadlines nobody waits on (D-65) -----------------------------------------------------

    def sweep_wait(self) -> Optional[float]:
        """Reader thread: how long it may wait for the peer before :meth:`sweep` is due (a
        day at most, :data:`_SWEEP_WAIT_MAX`); None while no request in flight has a deadline."""
        due = self._sweep_due
        if due is None:
            return None
        wait = max(due, self._swept + _SWEEP_GAP) - time.monotonic()
        return min(max(0.0, wait), _SWEEP_WAIT_MAX)

    def sweep(self) -> None:
        """Reader thread, after each read: once a deadline is due, end every request whose
        deadline has passed as a waiter would (TO-02: cancelled, RequestTimeout), whether or
        not anyone waits on it. A handle nobody watches, or watches again only later, would
        otherwise stay registered, uncancelled, until close() (D-64, D-65).

        A request a waiter has just ended, or whose response the reader has taken, is no
        longer in ``_requests``, and :meth:`_abandon` ends each request once."""
        due, now = self._sweep_due, time.monotonic()
        if due is None or now < due or now < self._swept + _SWEEP_GAP:
            return
        with self._lock:
            in_flight = list(self._requests.values())
            self._sweep_due = None          # a request started from here on sets its own
        self._swept = now
        later: List[float] = []
        for pending in in_flight:
            deadline = pending._deadline()  # recomputed: progress may have moved it (TO-04)
            if deadline is None:
                continue
            if deadline <= now:
                self._expire(pending, total=pending._total_deadline_passed())
            else:
                later.append(deadline)
        if later:
            with self._lock:
                self._bring_sweep_forward(min(later))

    def _bring_sweep_forward(self, deadline: Optional[float]) -> bool:
        """Under ``_lock``: make the next sweep due by ``deadline`` (None: no deadline) if it
        is sooner than the one due; True if it was."""
        sooner = deadline is not None and (self._sweep_due is None
                                           or deadline < self._sweep_due)
        if sooner:
            self._sweep_due = deadline
        return sooner

    # --- Receiving ----------------------------------------------------------------------------

    def feed(self, data: bytes, handle: Callable[[ev.Event], None]) -> None:
        """Reader thread: feed bytes to the connection, write its replies, settle requests,
        and pass every other event to ``handle``, all in the order they arrived on the wire
        (a log message sent before a response is handled before its caller wakes).

        Replies the connection queued (``notifications/initialized`` above all) are written
        *before* any waiting caller is woken, so nothing the caller sends next can overtake
        them on the wire (LC-05). A caller whose deadline passes while ``handle`` is still
        busy with what came before its response takes the response then (see ``result``).
        """
        with self._lock:
            events = self.connection.receive_data(data)
            self._put(self.connection.data_to_send(), reply=True)
            claimed = self._claim(events)
        for event in events:
            if not self._settle_event(event, claimed):
                handle(event)

    def _claim(self, events: List[ev.Event]) -> Dict[RequestId, PendingRequest]:
        """Under the lock: take the requests these events settle out of the pending map."""
        claimed: Dict[RequestId, PendingRequest] = {}
        for event in events:
            if isinstance(event, (ev.ResponseReceived, ev.RequestFailed)):
                pending = self._requests.pop(event.id, None)
                if pending is not None:
                    pending._arrived = event        # known from now on, even if late to wake
                    claimed[event.id] = pending
        # EndOfStream and ConnectionFailed end every request still waiting; the owner calls
        # fail_all() with the richest error it has (exit code, signal, stderr tail).
        return claimed

    def _settle_event(self, event: ev.Event, claimed: Dict[RequestId, PendingRequest]) -> bool:
        if isinstance(event, (ev.ResponseReceived, ev.RequestFailed)) and event.id in claimed:
            pending = claimed[event.id]
            if self.settle_stamp is not None:
                pending.stamp = self.settle_stamp()     # before the waiter wakes
            pending._settle_with(event)
        elif isinstance(event, ev.ProgressReceived):
            # Progress that precedes its response in the same chunk: the response's claim
            # already took the request out of _requests, but the progress is still in order.
            waiting = self._requests.get(event.request_id) or claimed.get(event.request_id)
            if waiting is not None:
                waiting._progress(event)
        elif isinstance(event, ev.MessageDropped) and event.unread:
            # A line one of our limits kept us from reading: no rule broken, but what it
            # carried is lost, and someone reading the log should learn why (D-131).
            log.warning("a message was not read: %s", event.reason)
        elif isinstance(event, ev.MessageDropped):
            log.debug("dropped: %s", event.reason)
        elif isinstance(event, ev.ProtocolViolation):
            log.warning("peer broke a protocol rule (%s): %s", event.error.catalogue_id,
                        event.error.message)
        else:
            return False
        return True

    def fail_all(self, error: McpRefError) -> None:
        """The connection is over: every waiting request fails with ``error`` (I1)."""
        with self._lock:
            if self._closed_error is None:
                self._closed_error = error
            waiting = list(self._requests.values())
            self._requests.clear()
        for pending in waiting:
            pending._settle(None, error)

    # --- Answering the peer's requests -------------------------------------------------------

    def drop_if_cancelled(self, request_id: RequestId) -> bool:
        """Before running the handler of a peer request: True if the peer has cancelled it
        meanwhile, and it is then forgotten (:meth:`Connection.drop_if_cancelled`)."""
        with self._lock:
            return self.connection.drop_if_cancelled(request_id)

    def respond(self, request_id: RequestId, result: Dict[str, Any], *,
                reply: bool = False) -> None:
        """``reply=True``: the reader thread answers this itself (a server's inline tool,
        D-70): it does not wait for room, but is held up while too many of its replies wait
        for the peer, and counts as one of them (:meth:`_exchange`, D-38)."""
        self._exchange(lambda: self.connection.send_response(request_id, result), reply=reply)

    def respond_error(self, request_id: RequestId, code: int, message: str,
                      data: Any = None, *, reply: bool = False) -> None:
        """``reply=True``: the reader thread answers this itself ("server busy"): it does not
        wait for room, and counts as one of its replies (D-38)."""
        self._exchange(lambda: self.connection.send_error(request_id, code, message, data),
                       reply=reply)

    def send_progress(self, request_id: RequestId, progress: float,
                      total: Optional[float] = None, message: Optional[str] = None, *,
                      reply: bool = False) -> bool:
        """Progress on a peer request; False when nothing was sent (see Connection), which
        includes a progress skipped by the rate limit (PR-12, D-47). ``reply``: as for
        :meth:`respond`."""
        # The clock is read once, under the lock, so the times follow the order of the calls.
        with self._lock:
            now = self._clock() if self.progress_interval > 0 else None
            owed = self.connection.progress_is_owed(request_id, progress, total, now=now,
                                                    min_interval=self.progress_interval)
        # A value that will not be sent (no token, request over, or skipped by the rate
        # limit) does not wait for room in the outbox (D-38, D-47): a handler reporting
        # progress to a client that reads slowly is held up only by what it does send.
        return bool(self._exchange(lambda: self.connection.send_progress(
            request_id, progress, total, message, now=now,
            min_interval=self.progress_interval), room=owed, reply=reply))

    def send_log(self, level: str, data: Any, logger: Optional[str] = None, *,
                 reply: bool = False) -> None:
        """``reply``: as for :meth:`respond`."""
        with self._lock:
            wanted = self.connection.log_is_wanted(level)
        # Below the client's level (LG-02) nothing is written: nothing to wait for room for.
        self._exchange(lambda: self.connection.send_log(level, data, logger), room=wanted,
                       reply=reply)


# --- The options of a request ----------------------------------------------------------------

def _keyword_only(fn: Callable[..., Any]) -> FrozenSet[str]:
    """The names of ``fn``'s keyword-only parameters, read from its code object: the names
    after its positional ones (``inspect`` stays out of the import, D-29)."""
    code = fn.__code__
    return frozenset(code.co_varnames[code.co_argcount:
                                      code.co_argcount + code.co_kwonlyargcount])


#: The options of every request: :meth:`Session.send_request`'s keywords, derived from it, so
#: there is one list (D-93). The client's helpers and a handler's ``Context.request`` check
#: what they are given against it (:func:`check_options`).
REQUEST_OPTIONS = _keyword_only(Session.send_request)


def check_options(caller: str, options: Dict[str, Any],
                  allowed: FrozenSet[str] = REQUEST_OPTIONS) -> None:
    """TypeError for an option not in ``allowed``, in Python's own words but naming the method
    the user called: a typo such as ``call_tool(..., tiemout=5)`` would otherwise be reported
    by ``send_request()``, a method the user never called (D-91, D-93). Nothing is sent."""
    for option in options:
        if option not in allowed:
            raise TypeError(f"{caller}() got an unexpected keyword argument {option!r}")


# --- Settings in seconds: keepalive (PG-06, PG-07) and progress (PR-12) ----------------------

def keepalive_problem(interval: Any, timeout: Any) -> Optional[str]:
    """What is wrong with a keepalive setting (``interval`` None: no keepalive), or None. The
    one check behind ``Server(keepalive_interval=, keepalive_timeout=)``, ``serve
    --keepalive`` and ``Client.spawn`` (where an interval of 0 is first taken as None).
    PG-06, PG-07: both are the user's to choose, but each must be a finite, positive number
    of seconds."""
    if interval is not None:
        problem = _seconds_problem("keepalive interval", interval)
        if problem is not None:
            return problem
    return _seconds_problem("keepalive timeout", timeout)


def grace_problem(name: str, grace: Any) -> Optional[str]:
    """What is wrong with a grace period of the shutdown ladder (TR-13, D-01), or None: a
    number of seconds >= 0. 0 takes the next rung at once; ``inf`` waits as long as the
    server takes (the wait for the report is bounded by ``stdio.ladder_bound``). NaN, which
    compares as neither, is refused."""
    if grace == float("inf"):
        return None
    return _seconds_problem(name, grace, zero_allowed=True,
                            no_deadline="inf: as long as the server takes")


def progress_interval_problem(interval: Any) -> Optional[str]:
    """What is wrong with a progress interval, or None: the one check behind
    ``Server(progress_interval=)`` and ``serve --progress-interval`` (PR-12, D-47). 0 is
    allowed: it sends every progress."""
    return _seconds_problem("progress interval", interval, zero_allowed=True)


def waitable(timeout: Optional[float]) -> Optional[float]:
    """A caller's ``timeout`` for one wait, as a lock or an event takes it: None stays None
    (no limit); past ``threading.TIMEOUT_MAX`` it is that (more would be OverflowError); NaN
    or 0 or less is 0 (no wait)."""
    if timeout is None:
        return None
    return min(timeout, threading.TIMEOUT_MAX) if timeout > 0 else 0.0


def deadline_seconds(name: str, value: Any) -> Optional[float]:
    """A request's timeout as the user gave it, ready to wait on (TO-01): None (no deadline)
    or a finite, positive number of seconds; ValueError otherwise, before anything is sent.

    NaN never compares as passed, so a request could never time out, and its waiter would
    spin; 0 or less would give up before the peer could answer. A timeout that no wait can
    take (``inf``, or past ``threading.TIMEOUT_MAX``, about 292 years) is no deadline: None.
    The one check behind every request, handshake and total timeout of a Session or Client.
    """
    if value is None:
        return None
    if (isinstance(value, (int, float)) and not isinstance(value, bool)
            and value >= threading.TIMEOUT_MAX):
        return None
    problem = _seconds_problem(name, value, no_deadline="inf: no deadline")
    if problem is not None:
        raise ValueError(problem)
    return value


def finite_seconds_problem(name: str, value: Any, *, zero_allowed: bool = False) -> Optional[str]:
    """Why ``value`` cannot bound a wait that must end, or None: a finite, positive number of
    seconds (or 0 too, if ``zero_allowed``). For the ``check`` battery, whose every window is
    measured from its timeout, and a server's drain after stdin EOF; a request's timeout takes
    inf as "no deadline" instead (:func:`deadline_seconds`)."""
    return _seconds_problem(name, value, zero_allowed=zero_allowed)


def whole_number_problem(name: str, value: Any, least: int) -> Optional[str]:
    """Why ``value`` is not a whole number of at least ``least`` (a bool is not one), or None."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        return f"{name} must be a whole number >= {least}, not {value!r}"
    return None


def _seconds_problem(name: str, value: Any, *, zero_allowed: bool = False,
                     no_deadline: str = "") -> Optional[str]:
    """Why ``value`` is not a usable number of seconds, or None. ``no_deadline``: the value
    the caller takes for "no end" before calling here, as the message names it instead of
    "finite" (a request timeout's "inf: no deadline", a grace's "inf: as long as ...")."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"the {name} must be a number of seconds, not {value!r}"
    # NaN fails both comparisons; inf would overflow the waits.
    if not ((0 <= value if zero_allowed else 0 < value) and value < float("inf")):
        if no_deadline:
            at_least = "a number of seconds >= 0" if zero_allowed else \
                "a positive number of seconds"
            kind = f"{at_least} ({no_deadline})"
        elif zero_allowed:
            kind = "a finite number of seconds >= 0"
        else:
            kind = "a finite, positive number of seconds"
        return f"the {name} must be {kind}, not {value!r}"
    return None


class Keepalive:
    """A daemon thread that pings the peer every ``interval`` s and waits ``timeout`` s for
    each answer (PG-05, PG-06, PG-07), for the client (D-10) and the server (D-48) alike.

    Any answer, even a JSON-RPC error such as -32601, proves the peer alive. A ping that gets
    no answer in time was cancelled by :meth:`PendingRequest.result` or, first, by the
    client's reader (:meth:`Session.sweep`) (TO-02, CN-01); this then
    calls ``on_missed(error)`` once, with the RequestTimeout, and ends: the owner logs it
    (PG-11) and ends the session (PG-04, PG-09). The session closing under it (ConnectionClosed
    and the like) ends the thread quietly, and so does :meth:`stop`, even while a ping waits
    for room to be sent. ``stop``: the owner's own stop event, if it has one (the client's);
    otherwise the Keepalive makes its own.
    """

    def __init__(self, session: Session, interval: float, timeout: float,
                 on_missed: Callable[[RequestTimeout], None], *,
                 stop: Optional[threading.Event] = None, name: str = "mcp_ref-keepalive") -> None:
        self.interval = interval
        self.timeout = timeout
        self._session = session
        self._on_missed = on_missed
        self._stop = stop if stop is not None else threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True, name=name)
        #: The ping now waiting for its answer, if any: the owner's own, which a "cancel
        #: everything" of the application's leaves alone (D-64).
        self.pending: Optional[PendingRequest] = None

    def start(self) -> None:
        self.thread.start()

    def is_alive(self) -> bool:
        return self.thread.is_alive()

    def stop(self) -> None:
        """Ask the thread to end; it sends no ping after this. Does not wait (see :meth:`join`)."""
        self._stop.set()

    def join(self) -> bool:
        """Wait a bounded time for the thread to end (not from the thread itself). True if it
        has ended or never started."""
        if self.thread.ident is not None and self.thread is not threading.current_thread():
            self.thread.join(_KEEPALIVE_JOIN_TIMEOUT)
        return not self.thread.is_alive()

    def _loop(self) -> None:
        # PG-05: https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/ping#implementation-considerations
        # The interval is the wait's timeout: stop() ends the wait at once (PG-08: one ping
        # per interval at most, and none while the previous one is still waiting).
        while not self._stop.wait(self.interval):
            try:
                # unless: a ping still waiting for room (a peer that stopped reading, D-38),
                # or not yet written, when stop() comes is never sent (D-43's check).
                self.pending = self._session.send_request(spec.PING, timeout=self.timeout,
                                                          unless=self._stop.is_set)
                self.pending.result()
            except PeerError:
                pass                    # PG-04: any answer, even an error, proves the peer alive
            except RequestTimeout as exc:
                # PG-09: a missed pong is a connection failure -- unless we were stopped
                # meanwhile, when the session is ending anyway and nobody is to blame.
                if not self._stop.is_set():
                    self._on_missed(exc)
                return
            except RequestCancelled:
                if self._stop.is_set():
                    return              # stopped
                # Someone else cancelled our ping (D-64): it proves nothing either way, and
                # the next one goes out on time. Ending here would stop the keepalive for good.
            except McpRefError:
                return                  # the session closing
            finally:
                self.pending = None
