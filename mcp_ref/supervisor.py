"""Crash recovery: an opt-in :class:`Supervisor` that keeps one server running.

The 2025-11-25 revision says nothing about a server that dies; the 2026-07-28 stdio transport
says a client SHOULD restart it, and that in-flight requests are lost (TR-16). mcp_ref's
:class:`~mcp_ref.client.Client` never restarts anything by itself: a dead server fails its
calls with :class:`~mcp_ref.errors.ConnectionClosed` and stays dead. This module is the layer
a host may put on top. Its rules are what the research bank (RL-55, scorecard SC-26) distils
from hosts that got restarts wrong:

* **At most one live server.** One supervisor thread spawns the server, waits for it to die,
  reaps it, and only then spawns the next one.
* **Bounded exponential backoff** between attempts: ``initial_backoff``, twice that, four
  times that, ... never more than ``max_backoff``.
* **Reset after a healthy uptime.** A server that ran ``healthy_after`` seconds before dying
  was healthy: the count starts again, so the next restart waits only ``initial_backoff``.
* **A crash loop ends in FAILED.** After ``max_failures`` quick failures in a row (a server
  that dies at start, or cannot be started, counts), the supervisor gives up and keeps the
  last error: exit code, signal, stderr tail.
* **Fast failure while down.** A call while the server is starting, backing off or failed
  raises :class:`ServerUnavailable` at once; nothing waits for a restart.
* **No replay.** Calls in flight when the server dies fail with ConnectionClosed. They are
  never sent again: a ``tools/call`` may not be idempotent, and only the caller knows.

Usage::

    with Supervisor([sys.executable, "-m", "mcp_ref", "serve"]) as supervisor:
        supervisor.wait_for_state(RUNNING, timeout=30)
        supervisor.call_tool("echo", {"text": "hi"})   # may raise ServerUnavailable

Standard library only, like the rest of mcp_ref.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass

from ._logging import LazyLogger
from .client import Client
from .errors import ConnectionClosed, McpRefError
from .session import waitable
from .stdio import ShutdownReport

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

# As every module of mcp_ref: logging is imported once a record could be emitted (D-29, D-86).
log = LazyLogger("mcp_ref.supervisor")

__all__ = ["STARTING", "RUNNING", "BACKOFF", "FAILED", "CLOSED", "ServerUnavailable",
           "Supervisor", "SupervisorEvent"]

#: The supervisor's states. STARTING: a server is being spawned and initialized. RUNNING: one
#: is up and serves calls. BACKOFF: it died; the next attempt waits. FAILED: gave up (a crash
#: loop). CLOSED: close() was called.
STARTING, RUNNING, BACKOFF, FAILED, CLOSED = "starting", "running", "backoff", "failed", "closed"

#: How long close() waits for the supervisor thread. close() ends a start in progress too
#: (D-86), so the thread has only the Client's close() left: the ladder's graces (TR-13) and
#: its joins of the client's threads, each bounded. 60 s leaves room for long graces.
DEFAULT_CLOSE_TIMEOUT = 60.0


class ServerUnavailable(ConnectionClosed):
    """The supervised server is not running: starting, backing off after a crash, given up
    on (``failed``) or closed. Carries the last crash's exit code, signal and stderr tail."""

    def __init__(self, state: str, last_error: Optional[BaseException] = None,
                 retry_in: Optional[float] = None) -> None:
        reason = f"the supervised server is {state}"
        if retry_in is not None:
            reason += f" (next attempt in {retry_in:.2f} s)"
        crash = last_error if isinstance(last_error, ConnectionClosed) else None
        if last_error is not None and crash is None:
            reason += f"; last error: {last_error}"
        super().__init__(reason, exit_code=crash.exit_code if crash else None,
                         signal=crash.signal if crash else None,
                         stderr_tail=crash.stderr_tail if crash else "")
        self.state = state
        self.last_error = last_error
        self.retry_in = retry_in


@dataclass(frozen=True)
class SupervisorEvent:
    """One thing the supervisor did, for logs and tests.

    ``kind``: ``spawned`` (pid), ``exited`` (pid, detail: the return code), ``spawn-failed``
    (detail: the error), ``backoff`` (detail: the delay in seconds), ``failed``, ``closed``.
    ``time`` is the supervisor's clock.
    """

    kind: str
    time: float
    pid: Optional[int] = None
    detail: Any = None


class Supervisor:
    """Runs ``Client.spawn(argv, **client_options)`` and restarts the server when it dies.

    ``clock`` measures uptime (injectable, so a test can make a run "healthy" without
    waiting); ``on_event`` is called on the supervisor thread with each
    :class:`SupervisorEvent`. Call :meth:`start` (or use ``with``), then :meth:`close`.
    """

    def __init__(self, argv: Sequence[str], *, initial_backoff: float = 1.0,
                 max_backoff: float = 30.0, healthy_after: float = 60.0,
                 max_failures: int = 5, clock: Callable[[], float] = time.monotonic,
                 on_event: Optional[Callable[[SupervisorEvent], None]] = None,
                 **client_options: Any) -> None:
        # Written as what must hold, so that NaN, which fails every comparison, is refused too
        # (a NaN max_backoff made every backoff no wait at all, a NaN max_failures never let a
        # crash loop end in FAILED, a NaN healthy_after never counted a run healthy: D-30).
        if not (0 < initial_backoff <= max_backoff and max_failures >= 1
                and healthy_after >= 0):
            raise ValueError("need 0 < initial_backoff <= max_backoff, max_failures >= 1 and "
                             "healthy_after >= 0")
        self.argv = list(argv)
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.healthy_after = healthy_after
        self.max_failures = max_failures
        self._clock = clock
        self._on_event = on_event
        self._client_options: Dict[str, Any] = client_options
        self._cond = threading.Condition()       # guards everything below
        self._state = STARTING
        self._client: Optional[Client] = None
        self._starting: Optional[Client] = None  # a start's client, waiting for initialize
        self._retry_at: Optional[float] = None
        self._failures = 0                       # quick failures in a row
        self._hopeless = False                   # the last start failed in a way no retry fixes
        #: The error that ended the last server (or the last failed start), if any.
        self.last_error: Optional[BaseException] = None
        #: Everything the supervisor did, in order.
        self.events: List[SupervisorEvent] = []
        self._unannounced: List[SupervisorEvent] = []   # for on_event, outside the lock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mcp_ref-supervisor",
                                        daemon=True)

    # --- For the caller -----------------------------------------------------------------------

    def start(self) -> "Supervisor":
        self._thread.start()
        return self

    def __enter__(self) -> "Supervisor":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    @property
    def state(self) -> str:
        with self._cond:
            return self._state

    def wait_for_state(self, *states: str, timeout: float) -> bool:
        """Wait up to ``timeout`` s until the state is one of ``states``. As every wait of
        the Client: ``inf`` waits as long as a lock can, NaN not at all (D-78: NaN made
        Condition.wait_for spin for ever, ``inf`` raised OverflowError)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._state in states, waitable(timeout))

    def client(self) -> Client:
        """The running server's client, or :class:`ServerUnavailable` at once (fail fast)."""
        with self._cond:
            if self._stop.is_set():
                # close() has begun: the server is being shut down, even while the state
                # still reads "running" (it said "the supervised server is running", D-78).
                raise ServerUnavailable(CLOSED, self.last_error)
            if self._state == RUNNING and self._client is not None:
                return self._client
            retry_in = None
            if self._state == BACKOFF and self._retry_at is not None:
                retry_in = max(0.0, self._retry_at - time.monotonic())
            raise ServerUnavailable(self._state, self.last_error, retry_in)

    def call_tool(self, name: str, arguments: Optional[Dict[str, Any]] = None,
                  **options: Any) -> Dict[str, Any]:
        """``Client.call_tool`` on the running server. Never retried (no replay)."""
        return self.client().call_tool(name, arguments, **options)

    def request(self, method: str, params: Optional[Dict[str, Any]] = None,
                **options: Any) -> Dict[str, Any]:
        return self.client().request(method, params, **options)

    def ping(self, **options: Any) -> None:
        self.client().ping(**options)

    def close(self, timeout: float = DEFAULT_CLOSE_TIMEOUT) -> None:
        """Stop supervising and shut the server down (the Client's ladder). Idempotent.

        A start in progress ends too: the server being started is shut down the same way,
        without waiting for its answer to initialize (D-86). Then wait up to ``timeout`` s
        (a number: every wait is bounded; NaN is no wait, ``inf`` the longest a lock can
        wait) for the supervisor thread. Only an ``on_event`` callback that does not return
        can hold it longer: then the thread is left behind, with a warning, and stops
        supervising once the callback returns.
        """
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            # None used to mean "wait for ever", which no close() should (D-86).
            raise ValueError(f"close() waits a bounded time: timeout must be a number of "
                             f"seconds (default {DEFAULT_CLOSE_TIMEOUT:g}), not {timeout!r}")
        self._stop.set()
        with self._cond:
            # The running server's client, or else the one of a start in progress (D-86).
            client = self._client or self._starting
            self._cond.notify_all()
        if client is not None:
            client.close()                       # wakes the supervisor thread's wait
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            # Bounded; waitable() makes NaN no wait (join() raised ValueError for it) and
            # inf the longest a lock can wait (join() raised OverflowError), D-78.
            self._thread.join(waitable(timeout))
            if self._thread.is_alive():
                log.warning("the supervisor thread is still busy after %g s (an on_event "
                            "callback that does not return?); leaving it behind", timeout)
        with self._locked():
            if self._state != CLOSED:
                self._set_state(CLOSED)
                self._record("closed")

    # --- The supervisor thread ----------------------------------------------------------------

    def _run(self) -> None:
        """The supervisor thread. It must never die silently: anything unexpected ends in
        FAILED, with the error kept, every waiter woken, and no server left running."""
        try:
            self._supervise()
        except BaseException as exc:
            log.exception("the supervisor thread failed")
            with self._locked():
                self.last_error = exc
                # FAILED means no server: a live one is taken out of service at once (calls
                # fail fast) and shut down below, not only when close() comes (shell review F8).
                client, self._client = self._client, None
                if self._state not in (CLOSED, FAILED):
                    self._set_state(FAILED)
                    self._record("failed", detail=str(exc))
            if client is not None:
                try:
                    client.close()              # the Client's ladder (TR-13)
                except Exception:
                    log.exception("shutting the server down after the failure failed")

    def _supervise(self) -> None:
        while not self._stop.is_set():
            uptime = self._run_once()
            if self._stop.is_set():
                return
            with self._locked():
                # A start that never came up is never healthy, not even with healthy_after=0
                # (a missing command was retried for ever, D-78).
                if uptime is not None and uptime >= self.healthy_after:
                    self._failures = 0           # it was healthy: start the count again
                self._failures += 1
                if self._failures >= self.max_failures or self._hopeless:
                    self._set_state(FAILED)      # a crash loop: give up, keep the error
                    self._record("failed", detail=str(self.last_error))
                    return
                delay = min(self.max_backoff,
                            self.initial_backoff * 2 ** (self._failures - 1))
                self._retry_at = time.monotonic() + delay
                self._set_state(BACKOFF)
                self._record("backoff", detail=delay)
            if self._stop.wait(delay):
                return
            with self._cond:
                self._retry_at = None
                self._set_state(STARTING)

    def _run_once(self) -> Optional[float]:
        """Start one server and wait until it dies; its uptime in seconds (None: never up).
        Why it ended goes to :attr:`last_error`, unless close() ended it."""
        try:
            client = Client.spawn(self.argv, _on_start=self._started, **self._client_options)
        except Exception as exc:
            with self._locked():
                starting, self._starting = self._starting, None
                if self._stop.is_set() and starting is not None:
                    # close() ended this start (D-86): not the server's failure, so
                    # last_error stays; its "exited" follows its "spawned", as ever (D-78).
                    report = starting.close()        # done already: only its report
                    self._record("spawned", pid=starting.pid)
                    self._record("exited", pid=starting.pid, detail=_exit_detail(report))
                    return None
                # An McpRefError (cannot start, died during the handshake) may pass: try
                # again. Anything else (a bad option, a trace file in a missing directory) is
                # a mistake in how we were set up, which no retry fixes: give up at once.
                self.last_error = exc
                self._hopeless = not isinstance(exc, McpRefError)
                self._record("spawn-failed", detail=str(exc))
            return None
        with self._locked():
            self._starting = None
            if not self._stop.is_set():          # else close() came during the start
                self._client = client
                self._set_state(RUNNING)
            # Either way: every "exited" below follows the "spawned" of its server.
            self._record("spawned", pid=client.pid)
        started = self._clock()
        if not self._stop.is_set():
            # Until the session ends: the server died, closed its stdout while running on
            # (TR-15), or stopped answering keepalive pings; or close() shuts it down.
            client.wait_closed(None)
        uptime = self._clock() - started
        with self._cond:
            self._client = None                  # from now on, calls fail fast
            stopping = self._stop.is_set()
            if not stopping:
                self._set_state(BACKOFF)
        how = None
        if not stopping:
            # A process that exits closes its stdout a moment before it can be reaped.
            how = "exited" if client.wait_exit(0.5) is not None else "closed its stdout"
        report = client.close()                  # reaps it; calls in flight fail (no replay)
        with self._locked():
            if how is not None:                  # a server close() shut down is no error
                self.last_error = ConnectionClosed(
                    f"the server {how}", exit_code=report.exit_code, signal=report.signal,
                    stderr_tail=client.stderr_tail())
            self._record("exited", pid=client.pid, detail=_exit_detail(report))
        return uptime

    def _started(self, client: Client) -> None:
        """Client.spawn's ``_on_start``, on the supervisor thread: initialize is sent, and from
        now on close() ends this start by closing its client (D-86)."""
        with self._cond:
            self._starting = client
            stopping = self._stop.is_set()
        if stopping:
            # close() came before this: it could not see the client, so the start ends here.
            client.close()

    # --- Helpers ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the lock; on the way out, pass the events recorded meanwhile to on_event,
        without the lock (so the callback may call back into the supervisor)."""
        with self._cond:
            yield
            events, self._unannounced = self._unannounced, []
        for event in events:
            log.debug("supervisor: %s", event)
            if self._on_event is not None:
                try:
                    self._on_event(event)
                except (Exception, SystemExit):
                    # A broken callback must not stop supervising, not even with sys.exit()
                    # (shell review F8).
                    log.exception("on_event raised for %s", event.kind)

    def _set_state(self, state: str) -> None:
        """With the lock held."""
        self._state = state
        self._cond.notify_all()

    def _record(self, kind: str, pid: Optional[int] = None, detail: Any = None) -> None:
        """With the lock held (through :meth:`_locked`)."""
        event = SupervisorEvent(kind, self._clock(), pid, detail)
        self.events.append(event)
        self._unannounced.append(event)


def _exit_detail(report: ShutdownReport) -> Optional[int]:
    """An ``exited`` event's detail: the return code, or minus the signal that ended it."""
    return report.exit_code if report.signal is None else -report.signal
