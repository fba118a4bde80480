"""A blocking MCP client over stdio: spawn a server, initialize, call it, shut it down.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle

Threads (the design card's "blocking threads and select-based stdio"):

* the caller's thread, which blocks in ``PendingRequest.result()`` with a deadline;
* one reader thread, which reads the server's stdout (selectors + ``os.read`` in
  :mod:`mcp_ref.stdio`), feeds the bytes to the connection and settles pending requests,
  and ends at their deadlines the requests nobody waits on (:meth:`Session.sweep`, D-65);
* one stderr thread (inside :class:`~mcp_ref.stdio.ChildProcess`) that logs the server's stderr
  and keeps a bounded tail of it -- stderr is logging, not an error signal (TR-04, TR-05);
* optionally a keepalive thread that pings the server (PG-05); one callback thread for the
  server's own requests (roots, sampling, elicitation), which may take long, started with the
  first of them (D-23); and, with ``notification_queue=``, one for ``on_notification`` (SC-22).

Usage::

    with Client.spawn([sys.executable, "-m", "mcp_ref", "serve"]) as client:
        print(client.server_info, client.protocol_version)
        print(client.call_tool("echo", {"text": "hi"}))
"""

from __future__ import annotations

import functools
import threading

from . import events as ev
from . import shapes, spec
from ._callables import call_problem
from ._logging import CRITICAL, DEBUG, ERROR, INFO, WARNING, LazyLogger
from .connection import DEFAULT_INFO, Connection
from .errors import (ConnectionClosed, ErrorCode, LocalProtocolError, PeerError,
                     RemoteProtocolError, RequestTimeout, UnsupportedProtocolVersion)
from .framing import DEFAULT_MAX_LINE_BYTES
from .lifecycle import ENDING, Role, State
from .session import (DEFAULT_KEEPALIVE_TIMEOUT, REQUEST_OPTIONS, Keepalive, PendingRequest,
                      Session, check_options, deadline_seconds, grace_problem, keepalive_problem,
                      waitable, whole_number_problem)
from .stdio import (DEFAULT_STDIN_GRACE, DEFAULT_TERM_GRACE, ChildProcess, ShutdownReport,
                    ladder_bound)
from .transcript import Transcript, open_transcript

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    from queue import Queue     # the module is imported where a queue is made (D-29)
    from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

    from .session import ProgressCallback
    from .transcript import Trace

log = LazyLogger("mcp_ref.client")
server_log = LazyLogger("mcp_ref.server_log")

#: Default deadline of a request, in seconds (TO-01; decision D-10). The TypeScript SDK uses 60.
DEFAULT_REQUEST_TIMEOUT = 60.0
#: Default deadline of the initialize handshake (TO-06, LC-20).
DEFAULT_HANDSHAKE_TIMEOUT = 30.0
#: With reset_on_progress, no request outlives this, whatever progress says (TO-05).
DEFAULT_MAX_TOTAL_TIMEOUT = 600.0
#: The most pages list_tools() and its kind follow (D-42): 1 000 pages of the reference
#: server's 50 are 50 000 tools.
MAX_LIST_PAGES = 1000

#: How long close() waits for each of its threads to end (a callback may hold one up).
_THREAD_JOIN_TIMEOUT = 5.0

#: RFC 5424 levels of notifications/message mapped onto Python's logging levels.
_LOG_LEVELS = {"debug": DEBUG, "info": INFO, "notice": INFO, "warning": WARNING, "error": ERROR,
               "critical": CRITICAL, "alert": CRITICAL, "emergency": CRITICAL}

if TYPE_CHECKING:
    #: A callback answering one kind of server request: gets ``params``, returns the result.
    RequestHandler = Callable[[Dict[str, Any]], Dict[str, Any]]


def _elicitation_capability(modes: Sequence[str]) -> Dict[str, Any]:
    """The ``elicitation`` capability for ``modes`` (2025-11-25 client/elicitation: at least one
    mode; an empty object means form only, which older servers also understand; D-36)."""
    chosen = {modes} if isinstance(modes, str) else set(modes)
    if not chosen or not chosen <= {"form", "url"}:
        raise ValueError(f"elicitation_modes must be 'form' and/or 'url', not {sorted(chosen)!r}")
    if chosen == {"form"}:
        return {}
    return {mode: {} for mode in sorted(chosen)}


#: What the list helpers take: every request's options and ``max_pages`` (D-42).
_LIST_OPTIONS = REQUEST_OPTIONS | {"max_pages"}


def _check_members(method: str, params: Dict[str, Any], catalogue_id: str = "TR-07") -> None:
    """LocalProtocolError unless each member of ``params`` has the type the schema gives it:
    a name or URI a string, arguments an object (of strings, for a prompt's). The typed
    helpers send nothing the server's schema refuses (TR-07; D-54)."""
    for member, value in params.items():
        if member == "arguments":
            wrong = value is not None and not (
                isinstance(value, dict) and (method != spec.PROMPTS_GET or all(
                    isinstance(v, str) for v in value.values())))
            kind = "an object of strings" if method == spec.PROMPTS_GET else "an object"
        else:
            wrong, kind = not isinstance(value, str), "a string"
        if wrong:
            raise LocalProtocolError(f"{method}: {member} must be {kind}, not {value!r:.80}",
                                     catalogue_id=catalogue_id)


def _callback_problem(name: str, value: Any, passed: Tuple[str, ...]) -> Optional[str]:
    """Why ``value`` cannot be the callback ``name`` (None: no such callback), or None: one
    that is not callable (D-80), or that the client could never call with the positional
    arguments ``passed``, read from its code as the server reads a handler's (one check,
    ``_callables.call_problem``): a wrong arity, or an ``async def``, whose call only makes a
    coroutine nobody awaits (D-109). Checked at spawn: such a callback failed only on the
    reader or callback thread, once the server first used it, as a logged traceback and
    -32603 sent to the server, or (on_notification) nothing done at all."""
    if value is None:
        return None
    return call_problem(name, value, passed, "the client")


class Client:
    """A connected, initialized MCP client. Create it with :meth:`spawn`."""

    def __init__(self, process: ChildProcess, connection: Connection, *,
                 request_timeout: Optional[float], max_total_timeout: Optional[float],
                 handlers: Dict[str, RequestHandler],
                 on_notification: Optional[Callable[[str, Dict[str, Any]], None]],
                 stdin_grace: float, term_grace: float,
                 transcript: Optional[Transcript] = None,
                 notification_queue: Optional[int] = None) -> None:
        self._process = process
        self._transcript = transcript
        self._session = Session(connection, self._write, request_timeout=request_timeout,
                                max_total_timeout=max_total_timeout,
                                wait_for_room=process.wait_for_room,
                                write_reply=lambda data: self._write(data, reply=True),
                                wake_reader=process.interrupt_read)
        self._handlers = handlers
        # TL-09: each tool's outputSchema, from the latest list_tools(), to check results by.
        self._output_schemas: Dict[str, Dict[str, Any]] = {}
        # How many notifications/tools/list_changed have arrived (the reader counts them), so
        # that a listing taken while one arrived is known to be stale (D-45); the lock makes
        # "count and forget" and "check and remember" one step each.
        self._tools_changes = 0
        self._schemas_lock = threading.Lock()
        # Each response records the count as the reader settles it, in wire order (D-62).
        self._session.settle_stamp = lambda: self._tools_changes
        # BP-34: the tools already warned of for a JSON Schema dialect we do not support.
        self._warned_dialects: Set[str] = set()
        self._on_notification = on_notification
        self._stdin_grace = stdin_grace
        self._term_grace = term_grace
        self._close_lock = threading.Lock()
        self._report: Optional[ShutdownReport] = None
        self._report_ready = threading.Event()      # set once _report is (close() from a callback)
        self._stop = threading.Event()
        # Set once the session is over: by the reader when it ends, and by close() when it is
        # done, even if the reader is still blocked in an application callback (wait_closed).
        self._ended = threading.Event()
        self._keepalive: Optional[Keepalive] = None
        # The server's own requests wait here for the callback thread. Both are made with the
        # first such request: most sessions get none, and ``queue`` costs a millisecond of
        # import time (D-29).
        self._callbacks: Optional[Queue[Optional[ev.RequestReceived]]] = None
        self._callback_thread: Optional[threading.Thread] = None
        # Making the callback or notification thread, and telling them to stop, each under
        # this lock and after checking _stop: no thread is made that close() cannot reach.
        self._threads_lock = threading.Lock()
        # notification_queue=N: on_notification runs on its own thread, behind a queue of at
        # most N, so a slow callback never holds up the reader, which also delivers responses;
        # a full queue drops the notification and counts it (reliability RL-33, SC-22).
        self._notifications: Optional[Queue[Any]] = None
        if notification_queue:
            import queue
            self._notifications = queue.Queue(notification_queue)
        self._notification_thread: Optional[threading.Thread] = None
        #: Notifications dropped because the notification_queue was full.
        self.notifications_dropped = 0
        self._reader = threading.Thread(target=self._read_loop, daemon=True,
                                        name=f"mcp_ref-reader-{process.pid}")
        self._session.reader = self._reader     # no request waits on it (TO-01, D-70)

    # --- Opening ------------------------------------------------------------------------------

    @classmethod
    def spawn(cls, argv: Sequence[str], *, env: Optional[Dict[str, str]] = None,
              cwd: Optional[str] = None, inherit_env: bool = True,
              client_info: Optional[Dict[str, Any]] = None,
              request_timeout: Optional[float] = DEFAULT_REQUEST_TIMEOUT,
              handshake_timeout: Optional[float] = DEFAULT_HANDSHAKE_TIMEOUT,
              max_total_timeout: Optional[float] = DEFAULT_MAX_TOTAL_TIMEOUT,
              supported_versions: Sequence[str] = spec.SUPPORTED_VERSIONS,
              roots: Optional[Callable[[], List[Dict[str, Any]]]] = None,
              roots_list_changed: bool = False,
              sampling: Optional[RequestHandler] = None,
              elicitation: Optional[RequestHandler] = None,
              elicitation_modes: Sequence[str] = ("form",),
              on_notification: Optional[Callable[[str, Dict[str, Any]], None]] = None,
              keepalive_interval: Optional[float] = None,
              keepalive_timeout: float = DEFAULT_KEEPALIVE_TIMEOUT,
              stdin_grace: float = DEFAULT_STDIN_GRACE, term_grace: float = DEFAULT_TERM_GRACE,
              max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
              trace: Trace = None,
              notification_queue: Optional[int] = None,
              _on_start: Optional[Callable[["Client"], None]] = None) -> "Client":
        """Start the server (TR-01), run the initialize handshake, and return the client.

        ``roots``, ``sampling`` and ``elicitation`` answer the server's requests of those
        kinds; each is declared as a client capability only when given (LC-16), and the
        server's requests for an undeclared one get -32601. ``roots()`` returns the list of
        roots; ``sampling`` and ``elicitation`` get the request's ``params`` and return its
        result. Raising ``mcp_ref.errors.PeerError(code, message)`` answers with that error,
        and anything else it raises with -32603 (D-59). They run one at a time, in order, on
        one callback thread (D-23): a callback that waits for a human holds up the server's
        next question, and a question the server cancels before its turn never reaches its
        callback (D-43). ``elicitation_modes`` are the modes the ``elicitation`` handler
        supports, ``"form"`` and/or ``"url"`` (2025-11-25; a server may use only those,
        D-36). ``trace`` names a JSONL file that receives every frame and lifecycle event
        (:mod:`mcp_ref.transcript`), or is a ``Transcript`` made with a ``redact`` hook. The arguments are checked before anything
        is spawned (ValueError names the first wrong one); on any later failure the server
        process is shut down before the error propagates.

        ``on_notification`` runs on the reader thread, in order with responses, unless
        ``notification_queue`` is given and not 0: then it runs on its own thread behind a
        queue of that many notifications, and the ones that do not fit are dropped and counted
        in :attr:`notifications_dropped` (for a callback that may be slow: RL-33). On the
        reader thread, it (like an ``on_progress`` callback) may send requests but not wait for
        one: that raises RuntimeError at once (only the reader could read the answer).

        Each callback is called positionally, as ``roots()``, ``sampling(params)``,
        ``elicitation(params)``, ``on_notification(method, params)``, on a thread, and never
        awaited: one Python would refuse to call so, or an ``async def``, is refused here with
        the check the server's handlers get (ValueError naming it, D-109).

        What the server says for a human is logged, not raised (TR-05, LG-03): its
        ``notifications/message`` on the ``mcp_ref.server_log`` logger, at the Python level of
        their own (``logging.getLogger("mcp_ref.server_log").setLevel(...)`` to quiet them),
        and its stderr lines on ``mcp_ref.server_stderr``, at INFO (D-89).

        ``_on_start`` (for :class:`~mcp_ref.supervisor.Supervisor`) is called with the client
        once initialize is sent, before its answer: from then on, ``close()`` from another
        thread ends the start, and this raises ConnectionClosed (D-86).
        """
        if keepalive_interval == 0:
            keepalive_interval = None           # 0 has always meant "no keepalive" here
        problem = keepalive_problem(keepalive_interval, keepalive_timeout)   # PG-06, PG-07
        if problem is not None:
            # Before anything is spawned: a negative interval would ping without pause (PG-08).
            raise ValueError(problem)
        # The same for the request timeouts (TO-01): NaN would never expire (ValueError).
        request_timeout = deadline_seconds("request timeout", request_timeout)
        handshake_timeout = deadline_seconds("handshake timeout", handshake_timeout)
        max_total_timeout = deadline_seconds("maximum total timeout", max_total_timeout)
        # The sizes too (D-03, RL-33): a wrong one used to fail only once the server spoke, as
        # a 0-byte limit it "exceeded", or a reader that died, reported as the server's EOF.
        problem = (whole_number_problem("max_line_bytes", max_line_bytes, 1)
                   or (None if notification_queue is None else
                       whole_number_problem("notification_queue", notification_queue, 0))
                   # and the shutdown ladder's waits (TR-13): NaN or below 0 acted as 0, a
                   # string made close() raise after the child was reaped (D-76).
                   or grace_problem("stdin grace", stdin_grace)
                   or grace_problem("term grace", term_grace)
                   # and the callbacks (D-80, D-109), which failed only once used.
                   # (What initialize carries, client_info and supported_versions, the
                   # Connection below checks, before anything is spawned: LC-03, LC-08.)
                   or _callback_problem("roots", roots, ())
                   or _callback_problem("sampling", sampling, ("params",))
                   or _callback_problem("elicitation", elicitation, ("params",))
                   or _callback_problem("on_notification", on_notification,
                                        ("method", "params")))
        if problem is not None:
            raise ValueError(problem)
        capabilities: Dict[str, Any] = {}
        handlers: Dict[str, RequestHandler] = {}
        if roots is not None:
            # LC-17: listChanged promises notifications/roots/list_changed (roots_changed()).
            capabilities["roots"] = {"listChanged": True} if roots_list_changed else {}
            handlers[spec.ROOTS_LIST] = lambda params: {"roots": roots()}
        if sampling is not None:
            capabilities["sampling"] = {}
            handlers[spec.SAMPLING_CREATE_MESSAGE] = sampling
        if elicitation is not None:
            capabilities["elicitation"] = _elicitation_capability(elicitation_modes)
            handlers[spec.ELICITATION_CREATE] = elicitation
        connection = Connection(Role.CLIENT,
                                info=DEFAULT_INFO if client_info is None else client_info,
                                capabilities=capabilities,
                                supported_versions=supported_versions,
                                max_line_bytes=max_line_bytes)
        transcript = open_transcript(trace, max_line_bytes)
        try:
            process = ChildProcess.spawn(argv, env=env, cwd=cwd, inherit_env=inherit_env)
        except BaseException as exc:
            if transcript is not None:
                transcript.event("spawn-failed", argv=list(argv), error=str(exc))
                transcript.close()
            raise
        client = None
        try:
            if transcript is not None:
                transcript.event("spawn", argv=list(argv), pid=process.pid, cwd=cwd)
            client = cls(process, connection, request_timeout=request_timeout,
                         max_total_timeout=max_total_timeout, handlers=handlers,
                         on_notification=on_notification, stdin_grace=stdin_grace,
                         term_grace=term_grace, transcript=transcript,
                         notification_queue=notification_queue)
            client._handshake(handshake_timeout, _on_start)
            if keepalive_interval is not None:
                client._start_keepalive(keepalive_interval, keepalive_timeout)
        except BaseException:                   # Ctrl-C too: the server is never left behind
            if client is not None:
                client.close()
            else:                               # the Client was never made: close the rest
                process.close(stdin_grace=stdin_grace, term_grace=term_grace)
                if transcript is not None:
                    transcript.close()
            raise
        return client

    def _handshake(self, timeout: Optional[float],
                   on_start: Optional[Callable[["Client"], None]] = None) -> None:
        """initialize -> result -> notifications/initialized (lifecycle#initialization).

        The connection checks the version (LC-13) and queues ``notifications/initialized``
        itself (LC-05). A handshake timeout does not cancel initialize (CN-03). ``on_start``
        gets the client while it waits for the answer (see :meth:`spawn`).
        """
        try:
            # initialize is written before the reader starts, so nothing the server says is
            # processed before it (LC-02), and a server that dies at once is reported by how it
            # ended, never as a refused initialize (reliability SC-04, RL-32, RL-34).
            pending = self._session._register_initialize(timeout)
        except ConnectionClosed:
            raise self._closed_error("the server exited before it read initialize") from None
        finally:
            self._reader.start()
        if on_start is not None:
            # The reader runs: close() from another thread now ends the wait below as it ends
            # any request's, with ConnectionClosed (SC-03's "thread-cancel"; D-86).
            on_start(self)
        try:
            pending.result()
        except UnsupportedProtocolVersion:
            log.error("disconnecting: the server chose a protocol version we do not support")
            raise
        except RequestTimeout as exc:
            assert timeout is not None      # no deadline (None): the wait never times out
            raise RequestTimeout(spec.INITIALIZE, timeout) from exc

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # --- What the handshake settled -----------------------------------------------------------

    @property
    def protocol_version(self) -> Optional[str]:
        return self._session.connection.protocol_version

    @property
    def server_info(self) -> Dict[str, Any]:
        return self._session.connection.negotiated.peer_info

    @property
    def server_capabilities(self) -> Dict[str, Any]:
        return self._session.connection.negotiated.peer_capabilities

    @property
    def instructions(self) -> Optional[str]:
        return self._session.connection.negotiated.instructions

    @property
    def state(self) -> State:
        return self._session.connection.state

    @property
    def pid(self) -> int:
        return self._process.pid

    def stderr_tail(self) -> str:
        return self._process.stderr_tail()

    def wait_exit(self, timeout: Optional[float] = None) -> Optional[int]:
        """Wait up to ``timeout`` s (None: as long as it takes) for the server process to
        exit, and reap it; its return code (negative: the signal), or None if it still runs.
        To learn that the *session* is over, use :meth:`wait_closed`."""
        return self._process.wait(timeout)

    def wait_closed(self, timeout: Optional[float] = None) -> bool:
        """Wait up to ``timeout`` s (None: as long as it takes) for the session to end: the
        server closed its stdout or exited (TR-15), the connection failed, a keepalive ping
        went unanswered, or close() was called. True once it has. A server can close its
        stdout and go on running, so a supervisor waits here rather than in wait_exit.

        Not a join of the reader thread: an on_notification or on_progress callback that
        never returns holds that thread for ever, and close() leaves it behind (shell review
        F3); the session is over once close() is done all the same."""
        if self._reader.ident is None:          # not started: the handshake never ran
            return True
        return self._ended.wait(waitable(timeout))

    # --- Requests -----------------------------------------------------------------------------

    def send_request(self, method: str, params: Optional[Dict[str, Any]] = None,
                     **options: Any) -> PendingRequest:
        """Send any request without waiting; see :meth:`mcp_ref.session.Session.send_request`
        for the options (timeout, on_progress, progress_token, reset_on_progress,
        max_total_timeout, unless)."""
        check_options("send_request", options)
        return self._session.send_request(method, params, **options)

    def request(self, method: str, params: Optional[Dict[str, Any]] = None,
                **options: Any) -> Dict[str, Any]:
        """Send any request and wait for its result. The params go out as given, once they are
        an object holding the members the method's schema requires (else LocalProtocolError,
        nothing sent: BP-01, D-85); what the members hold is the server's to judge."""
        check_options("request", options)
        return self._session.request(method, params, **options)

    def notify(self, method: str, params: Optional[Dict[str, Any]] = None) -> None:
        self._session.notify(method, params)

    def ping(self, timeout: Any = "default") -> None:
        """PG-01: a ping; returns when the server answers ``{}``."""
        self._session.request(spec.PING, timeout=timeout)

    def list_tools(self, **options: Any) -> List[Dict[str, Any]]:
        """Every tool, following ``nextCursor`` until it is absent (PN-01, PN-04), for at
        most ``max_pages`` pages (default :data:`MAX_LIST_PAGES`; D-42). Likewise
        :meth:`list_resources`, :meth:`list_resource_templates` and :meth:`list_prompts`.

        Remembers each tool's ``outputSchema``, by which :meth:`call_tool` then checks its
        results (TL-09), unless ``notifications/tools/list_changed`` arrived while it listed
        (D-45), or the session speaks a revision older than 2025-06-18, which has no
        ``outputSchema`` (D-95). A tool whose schema declares a JSON Schema dialect we do not
        support is logged once, as a WARNING, and its results are not checked (BP-34)."""
        changes = self._tools_changes
        tools = self._list_all("list_tools", spec.TOOLS_LIST, "tools", options)
        named = [tool for tool in tools
                 if isinstance(tool, dict) and isinstance(tool.get("name"), str)]
        for tool in named:
            self._warn_of_dialect(tool)
        # TL-09 arrived with outputSchema in 2025-06-18: in an older session a Tool has no such
        # member, so one listed anyway binds no result to it (LC-15, D-95).
        binding = (self.protocol_version or "") >= spec.MEMBERS_SINCE["Tool"]["outputSchema"]
        schemas = {tool["name"]: tool["outputSchema"] for tool in named
                   if binding and isinstance(tool.get("outputSchema"), dict)
                   and shapes.dialect(tool["outputSchema"]) is not None}
        with self._schemas_lock:
            # A tools/list_changed while we listed (between two pages, or just after the
            # last): what we took may be stale, so it is not remembered (D-45).
            self._output_schemas = schemas if self._tools_changes == changes else {}
        return tools

    def _warn_of_dialect(self, tool: Dict[str, Any]) -> None:
        """BP-34: fail gracefully on a dialect we do not support. The tool is listed as the
        server gave it; one WARNING says which schema we cannot judge (once per tool)."""
        for member in ("outputSchema", "inputSchema"):
            problem = shapes.dialect_problem(tool.get(member))
            if problem is not None and tool["name"] not in self._warned_dialects:
                self._warned_dialects.add(tool["name"])
                consequence = ("its results go unchecked against it"
                               if member == "outputSchema" else "it is listed as given")
                log.warning("tool %r: its %s %s; %s (BP-34)",
                            tool["name"], member, problem, consequence)

    def call_tool(self, name: str, arguments: Optional[Dict[str, Any]] = None, *,
                  timeout: Any = "default", on_progress: Optional[ProgressCallback] = None,
                  **options: Any) -> Dict[str, Any]:
        """Call a tool and wait: returns the CallToolResult (``content``, ``isError``, ...).

        A tool's own failure is a result with ``isError: true``, not an exception (TL-11, in
        every revision; ER-03 from 2025-11-25, which adds invalid arguments to it). An unknown
        tool is a protocol error (ER-02): a server that answers it with a JSON-RPC error
        (-32602 in the spec's example) raises PeerError here; one that answers with an
        ``isError`` result, as the official SDK servers do, returns that result.

        TL-09: once :meth:`list_tools` has shown the tool's ``outputSchema``, a successful
        result must carry ``structuredContent`` that matches it (the checks of
        :func:`mcp_ref.shapes.object_problems`); otherwise RemoteProtocolError, whose
        ``result`` is what the server sent. So is a result without the ``content`` array
        every revision requires, or with blocks the schema refuses (TL-08, D-90). Every
        result after a ``notifications/tools/list_changed`` goes unchecked against the
        outputSchema until the next :meth:`list_tools` (D-45). It is
        ``call_tool_async(...).result()``, which applies the same checks (D-93).
        """
        self._session.check_may_wait(spec.TOOLS_CALL)     # before anything is sent
        check_options("call_tool", options)
        return self.call_tool_async(name, arguments, timeout=timeout, on_progress=on_progress,
                                    **options).result()

    def call_tool_async(self, name: str, arguments: Optional[Dict[str, Any]] = None,
                        **options: Any) -> PendingRequest:
        """Start a tool call; the returned handle can ``cancel()`` it from any thread. Its
        ``result()`` checks the result as :meth:`call_tool` does (TL-08, TL-09), by the
        ``outputSchema`` the latest :meth:`list_tools` showed when the call was made, and
        raises RemoteProtocolError, with what the server sent on ``.result``, each time it is
        asked for a result that fails them (D-93). ``request("tools/call", ...)`` sends the
        same call and returns its result unchecked."""
        check_options("call_tool_async", options)
        _check_members(spec.TOOLS_CALL, {"name": name, "arguments": arguments}, "TL-08")
        params: Dict[str, Any] = {"name": name}
        if arguments is not None:
            params["arguments"] = arguments
        with self._schemas_lock:
            # Taken before the call is sent (D-45): the listing the call was made under.
            schema = self._output_schemas.get(name)
            changes = self._tools_changes
        pending = self._session.send_request(spec.TOOLS_CALL, params, **options)
        # Before the handle is handed out: every result() applies it (D-93). What it needs is
        # bound here, the handle itself not: PendingRequest.check is given the stamp.
        pending.check = functools.partial(self._check_tool_result, name, schema, changes,
                                          self.protocol_version)
        return pending

    @staticmethod
    def _check_tool_result(name: str, schema: Optional[Dict[str, Any]], changes: int,
                           version: Optional[str], result: Dict[str, Any], stamp: Any) -> None:
        """RemoteProtocolError, what the server sent on ``.result``, for a CallToolResult the
        schema of the session's ``version`` refuses (TL-08) or one that breaks ``schema``, the
        tool's listed outputSchema when the call was made (TL-09; None: not checked against
        one), unless the answer's ``stamp`` shows the listing went stale meanwhile."""
        if stamp != changes:
            # A tools/list_changed came on the wire before this answer (D-45), or the answer
            # was taken at a deadline, unstamped: the schema may be stale, and is not used.
            # One that came after the answer changes nothing: the answer is judged by the
            # tools as they were, whichever thread ran first (D-62).
            schema = None
        # TL-08: every revision's CallToolResult has a required content array of blocks. The
        # Python SDK refuses a result without one, the TS SDK substitutes []; we say so rather
        # than hand the caller {} as a tool's answer (D-90). A member the session's revision
        # lacks (structuredContent, a block's _meta before 2025-06-18) is open there: judged
        # only from the revision that has it, as D-95 hands such members on (LC-15, D-96).
        problem = shapes.server_result_problem(spec.TOOLS_CALL, result, version)
        if problem is not None:
            error = RemoteProtocolError(f"tool {name!r} returned a result the schema refuses: "
                                        f"{problem}", catalogue_id="TL-08")
            error.result = result             # nothing lost: what the server sent
            raise error
        problems = shapes.output_problems(result, schema)
        if problems:
            error = RemoteProtocolError(
                f"tool {name!r} returned a result that does not match its outputSchema: "
                + "; ".join(problems), catalogue_id="TL-09")
            error.result = result             # nothing lost: what the server sent
            raise error

    def cancel_all(self, reason: Optional[str] = None) -> int:
        """Cancel every request of ours still waiting for its answer (CN-01), except the
        keepalive's own ping (D-64): each sends ``notifications/cancelled`` and fails with
        RequestCancelled. Returns how many. For a user who asks to stop everything, and for
        a call interrupted before its handle was returned to the caller (the request may
        already be on its way)."""
        with self._session._lock:
            waiting = list(self._session._requests.values())
        # The keepalive's ping is ours, not the application's: cancelling it would send the
        # user's reason for a ping they never sent, and prove nothing of the server (D-64).
        keepalive = self._keepalive.pending if self._keepalive is not None else None
        return sum(1 for pending in waiting
                   if pending is not keepalive and pending.cancel(reason))

    def list_resources(self, **options: Any) -> List[Dict[str, Any]]:
        return self._list_all("list_resources", spec.RESOURCES_LIST, "resources", options)

    def list_resource_templates(self, **options: Any) -> List[Dict[str, Any]]:
        """Every ``resources/templates/list`` page's ``resourceTemplates`` (every revision,
        behind the server's ``resources`` capability), as :meth:`list_resources` lists."""
        return self._list_all("list_resource_templates", spec.RESOURCES_TEMPLATES_LIST,
                              "resourceTemplates", options)

    def read_resource(self, uri: str, **options: Any) -> Dict[str, Any]:
        check_options("read_resource", options)
        _check_members(spec.RESOURCES_READ, {"uri": uri})
        return self._session.request(spec.RESOURCES_READ, {"uri": uri}, **options)

    def list_prompts(self, **options: Any) -> List[Dict[str, Any]]:
        return self._list_all("list_prompts", spec.PROMPTS_LIST, "prompts", options)

    def get_prompt(self, name: str, arguments: Optional[Dict[str, str]] = None,
                   **options: Any) -> Dict[str, Any]:
        check_options("get_prompt", options)
        _check_members(spec.PROMPTS_GET, {"name": name, "arguments": arguments})
        params: Dict[str, Any] = {"name": name}
        if arguments is not None:
            params["arguments"] = arguments
        return self._session.request(spec.PROMPTS_GET, params, **options)

    def roots_changed(self) -> None:
        """Tell the server the roots changed (``notifications/roots/list_changed``); needs
        ``roots_list_changed=True`` at spawn, else CapabilityNotNegotiated (LC-16)."""
        self._session.notify("notifications/roots/list_changed")

    def set_logging_level(self, level: str, **options: Any) -> None:
        """LG-02: the server sends only log messages at ``level`` or above from now on.
        ValueError, with nothing sent, unless ``level`` is one of the eight names (LG-03)."""
        check_options("set_logging_level", options)
        if level not in spec.LOG_LEVELS:
            raise ValueError(f"the logging level must be one of {', '.join(spec.LOG_LEVELS)}, "
                             f"not {level!r}")
        self._session.request(spec.SET_LOGGING_LEVEL, {"level": level}, **options)

    def _list_all(self, caller: str, method: str, key: str,
                  options: Dict[str, Any]) -> List[Dict[str, Any]]:
        """Every page of a paginated list. ``options["max_pages"]`` (default
        :data:`MAX_LIST_PAGES`) bounds the listing: a server that hands out a ``nextCursor``
        for ever must not hold the caller for ever (decision D-42). The cursors themselves are
        never compared or inspected (PN-05)."""
        check_options(caller, options, _LIST_OPTIONS)
        options = dict(options)
        max_pages = options.pop("max_pages", MAX_LIST_PAGES)
        problem = whole_number_problem("max_pages", max_pages, 1)
        if problem is not None:
            # The caller's mistake, never the server's (ER-10, written in 2026-07-28 and
            # followed in every revision): nothing is sent (D-42).
            raise ValueError(problem)
        items: List[Dict[str, Any]] = []
        cursor: Optional[str] = None
        for _ in range(max_pages):
            # PN-05: the cursor is opaque; we send back exactly what we got.
            result = self._session.request(method, None if cursor is None else {"cursor": cursor},
                                           **options)
            page = result.get(key)
            cursor = result.get("nextCursor")
            # A broken page is neither handed to the caller nor followed; each of its two
            # faults is said with what arrived and the rule it breaks (D-122).
            # The schema: the items are a required array; a page without them is not an empty
            # page (D-90). A result the schema refuses, as connection.py reports what the
            # schema refuses on receipt (BP-01, D-98).
            if key not in result:
                raise RemoteProtocolError(f"{method} answered a page without {key!r}, the "
                                          "array the schema requires", catalogue_id="BP-01")
            if not isinstance(page, list):
                raise RemoteProtocolError(f"{method} answered a page whose {key!r} is "
                                          f"{shapes.named(page)}, not an array",
                                          catalogue_id="BP-01")
            # PN-05: a Cursor is a string, any string ("" included: only its presence
            # matters). Opaque means not parsed, not "of any type": a cursor of 2, echoed,
            # would make our next request one the schema refuses (TR-07).
            if cursor is not None and not isinstance(cursor, str):
                raise RemoteProtocolError(f"{method} answered a page whose nextCursor is "
                                          f"{shapes.named(cursor)}, not a string",
                                          catalogue_id="PN-05")
            items.extend(page)
            if cursor is None:                  # PN-04: no nextCursor means the last page
                return items
        raise RemoteProtocolError(
            f"{method} still had a nextCursor after {max_pages} pages ({len(items)} items); "
            "the listing was abandoned (max_pages)", catalogue_id="PN-02")

    # --- The reader thread --------------------------------------------------------------------

    def _read_loop(self) -> None:
        ended = False
        failure: Optional[BaseException] = None
        try:
            while True:
                # The reader keeps the deadlines of requests nobody waits on (TO-02, D-65):
                # it reads until the next is due at the latest (None: a deadline came due, or
                # a request with a sooner one woke it), and sweeps after what it read, so
                # that a response already in hand wins over a deadline passing meanwhile.
                chunk = self._process.read(self._session.sweep_wait())
                if chunk is not None:
                    if self._transcript is not None:   # b"" too: a line cut by EOF (D-78)
                        self._transcript.frames("recv", chunk, self.state.name)
                    if not chunk:
                        # End of stream: learn how the server ended *before* the connection
                        # sees EOF and starts refusing requests, so a call made meanwhile
                        # fails with ConnectionClosed and the exit details, not a lifecycle
                        # error (SC-04).
                        self._fail_pending()
                        ended = True
                    self._session.feed(chunk, self._handle)
                    if not chunk:
                        break
                self._session.sweep()
        except BaseException as exc:             # SystemExit too: a thread ends on it quietly
            log.exception("the reader thread failed")
            failure = exc
        finally:
            try:
                if not ended:
                    self._fail_pending(failure)
            finally:
                self._ended.set()

    def _fail_pending(self, failure: Optional[BaseException] = None) -> None:
        """Every waiting call fails, and so does every later one: the session is over. The
        reason names the reader's own failure if there was one, not the server (D-76)."""
        if failure is not None:
            reason = ("the client's reader thread failed: "
                      f"{type(failure).__name__}: {failure}")
        elif self._stop.is_set():
            reason = "the client closed the connection"
        else:
            reason = "the server closed its stdout"
        self._session.fail_all(self._closed_error(reason))

    def _handle(self, event: ev.Event) -> None:
        if self._stop.is_set() and isinstance(event, (ev.RequestReceived,
                                                      ev.NotificationReceived)):
            # close() has begun (perhaps from a callback for an earlier message of this same
            # chunk): no application callback runs once close() is called, and a request of
            # the server's could no longer be answered (concurrency review F2).
            self._dropped_after_close(event)
            return
        if isinstance(event, ev.RequestReceived):
            self._start_callback(event)
        elif isinstance(event, ev.NotificationReceived):
            self._notification(event)
        elif isinstance(event, ev.EndOfStream):
            pass                       # _fail_pending() already failed them, with exit details
        elif isinstance(event, ev.ConnectionFailed):
            self._session.fail_all(event.error)
            threading.Thread(target=self.close, daemon=True, name="mcp_ref-close").start()
        elif isinstance(event, ev.CancelReceived):
            log.info("server cancelled its request %r: %s", event.request_id, event.reason)
        # Initialized needs no action here: the handshake's caller reads the connection.

    def _write(self, data: bytes, reply: bool = False) -> None:
        """Every frame to the server goes through here (one place to record it). It is
        recorded *before* it is written, so the transcript never shows a reply first, and a
        write that fails is recorded as such (D-86). ``reply``: the reader thread's own reply
        (ChildProcess.read, D-38)."""
        if self._transcript is None:
            self._process.write(data, reply)
        else:
            self._transcript.sent(data, self.state.name,
                                  lambda data: self._process.write(data, reply))

    def _closed_error(self, reason: str) -> ConnectionClosed:
        """ConnectionClosed with the exit code or signal, once the process has exited."""
        if self._process.wait(timeout=0.5) is not None:
            self._process.wait_stderr(timeout=0.5)    # its last words belong in the error
        return ConnectionClosed(reason, exit_code=self._process.exit_code,
                                signal=self._process.exit_signal,
                                stderr_tail=self._process.stderr_tail())

    def _notification(self, event: ev.NotificationReceived) -> None:
        if event.method == spec.TOOLS_LIST_CHANGED:
            # TL-09 (D-45): the server's tools changed (the notification of TL-02), so the
            # outputSchemas of the last listing may be stale. Judging a result by an old schema
            # could refuse a good one (a false problem), so results go unchecked until
            # list_tools() is called again.
            # https://modelcontextprotocol.io/specification/2025-11-25/server/tools#list-changed-notification
            with self._schemas_lock:
                self._tools_changes += 1        # a list_tools() under way: its listing too
                self._output_schemas = {}
        if event.method == spec.LOG_MESSAGE:
            # The connection delivers only what the schema allows: a level among the eight
            # (LG-03) and data (D-98).
            server_log.log(_LOG_LEVELS[event.params["level"]], "%s: %s",
                           event.params.get("logger", "server"), event.params["data"])
        if self._on_notification is None:
            return
        if self._notifications is None:
            self._deliver((event.method, event.params))
            return
        with self._threads_lock:
            if self._stop.is_set():
                return                  # close() has told the threads to stop: none is made
            if self._notification_thread is None:
                self._notification_thread = threading.Thread(
                    target=self._notification_loop, daemon=True, name="mcp_ref-notifications")
                self._notification_thread.start()
        if not self._offer((event.method, event.params)):   # RL-33: never block the reader
            self.notifications_dropped += 1
            if self.notifications_dropped == 1:
                log.warning("on_notification is too slow: dropping notifications (the queue "
                            "holds %d)", self._notifications.maxsize)

    def _offer(self, item: Any) -> bool:
        """Put ``item`` on the notification queue unless it is full; never blocks."""
        import queue                            # loaded already: __init__ made the queue
        assert self._notifications is not None
        try:
            self._notifications.put_nowait(item)
            return True
        except queue.Full:
            return False

    def _deliver(self, item: Any) -> None:
        method, params = item
        callback = self._on_notification
        try:
            if callback is not None:
                callback(method, params)
        except BaseException:
            # SystemExit (sys.exit() or argparse in application code), asyncio's
            # CancelledError, anything: it would end the reader or the notification thread,
            # and with it the session (shell review F2, D-59). Neither thread is the main
            # one, so no Ctrl-C is swallowed here.
            log.exception("on_notification callback raised for %s", method)

    def _notification_loop(self) -> None:
        assert self._notifications is not None
        while True:
            item = self._notifications.get()
            if item is None or self._stop.is_set():
                return
            self._deliver(item)

    # --- The server's requests (roots, sampling, elicitation) ---------------------------------

    def _start_callback(self, event: ev.RequestReceived) -> None:
        """Answer on a separate thread: a sampling or elicitation callback may wait for a
        human, and the reader must keep reading meanwhile (pings, cancels, responses)."""
        with self._threads_lock:
            if self._stop.is_set():
                # close() has told the threads to stop (it checks under this lock too), so a
                # thread made now would wait for ever: none is, and nothing is answered.
                self._dropped_after_close(event)
                return
            if self._callbacks is None:
                import queue
                self._callbacks = queue.Queue()
                self._callback_thread = threading.Thread(target=self._callback_loop,
                                                         daemon=True, name="mcp_ref-callbacks")
                self._callback_thread.start()
            self._callbacks.put(event)

    def _callback_loop(self) -> None:
        assert self._callbacks is not None
        while True:
            event = self._callbacks.get()
            if event is None:
                return
            if self._stop.is_set():
                # Queued before close() began, behind a slow handler: no handler runs once
                # close() is called (concurrency review F2; helper review F-4).
                self._dropped_after_close(event)
                continue
            try:
                self._answer(event)
            except BaseException:               # this thread must outlive any one answer
                if self._session_over():
                    # The session ended while the handler ran: the answer has nowhere to go,
                    # and that is no error of the handler's (shell review finding 9).
                    log.debug("answer to %s %r dropped: the session is closed", event.method,
                              event.id)
                else:
                    log.exception("answering %s %r failed", event.method, event.id)

    def _answer(self, event: ev.RequestReceived) -> None:
        """Run the handler for one server request and send its answer, or an error: the
        handler's PeerError as it is, anything else as -32603 (a result the connection refuses
        to send, too)."""
        handler = self._handlers.get(event.method)
        if self._session.drop_if_cancelled(event.id):
            # CN-05, CN-11: the server cancelled it while it waited for this thread: stop
            # processing means never calling the handler, which may be asking a human.
            log.info("server cancelled %s %r before its handler ran", event.method, event.id)
            return
        try:
            if handler is None:     # the connection lets through only declared ones
                raise PeerError(ErrorCode.METHOD_NOT_FOUND, f"Method not found: {event.method}")
            result = handler(event.params)
            problem = shapes.client_result_problem(event.method, result)
            if problem is not None:
                # Not sent as it is: the server would get a frame its schema refuses (TR-07).
                raise LocalProtocolError(f"the {event.method} handler returned no valid "
                                         f"result: {problem}", catalogue_id="TR-07")
            if isinstance(result, dict):
                # LC-15: nothing the negotiated revision lacks (D-41); a block type it lacks
                # raises LocalProtocolError, answered -32603 below.
                result = shapes.client_result(self.protocol_version or spec.PROTOCOL_VERSION,
                                              event.method, result)
            self._session.respond(event.id, result)
        except PeerError as exc:
            try:
                self._session.respond_error(event.id, exc.code, exc.message, exc.data)
            except LocalProtocolError:
                # A code that is no integer (BP-11), a message that is no string (BP-10), or
                # data JSON cannot carry (NotJson, BP-01): refused before anything was sent or
                # forgotten, so the server still gets an answer (BP-01, D-79).
                log.exception("handler for %s raised a PeerError that cannot be sent",
                              event.method)
                self._session.respond_error(event.id, ErrorCode.INTERNAL_ERROR,
                                            "client handler failed: PeerError")
        except BaseException as exc:
            # A handler's SystemExit (sys.exit(), argparse) or CancelledError is its failure
            # like any other: the server gets -32603 and this thread lives on for the next
            # request (shell review F2, D-59). KeyboardInterrupt from a signal never reaches a
            # thread other than the main one, so whatever arrives here is the handler's.
            if self._session_over():
                raise                   # closing: not the handler's fault (see the loop)
            log.exception("handler for %s raised", event.method)
            self._session.respond_error(event.id, ErrorCode.INTERNAL_ERROR,
                                        f"client handler failed: {type(exc).__name__}")

    @staticmethod
    def _dropped_after_close(event: ev.Event) -> None:
        """Say (DEBUG) that a message of the server's arrived, or waited, after close()."""
        log.debug("%s %r after close(): dropped", getattr(event, "method", None),
                  getattr(event, "id", None))

    def _session_over(self) -> bool:
        """Whether the session has ended -- close() was called, or the server went away --
        so that an answer failing to go out is no fault of the handler (concurrency review
        F4: the server exited while a roots/list handler ran)."""
        return self._stop.is_set() or self.state in ENDING

    # --- Keepalive (PG-04..PG-11) -------------------------------------------------------------

    def _start_keepalive(self, interval: float, timeout: float) -> None:
        # The loop is shared with the server (session.Keepalive, D-48); it stops with close().
        self._keepalive = Keepalive(self._session, interval, timeout, self._missed_ping,
                                    stop=self._stop)
        self._keepalive.start()

    def _missed_ping(self, error: RequestTimeout) -> None:
        """Keepalive thread: a ping went unanswered; the session is closed (PG-09)."""
        timeout = error.timeout
        log.error("server (pid %d) did not answer ping within %g s; closing the "
                  "session", self._process.pid, timeout)       # PG-11: log it
        self._session.fail_all(ConnectionClosed(
            f"server pid {self._process.pid} did not answer a keepalive ping within "
            f"{timeout:g} s", stderr_tail=self._process.stderr_tail()))
        threading.Thread(target=self.close, daemon=True, name="mcp_ref-close").start()

    # --- Closing (lifecycle#shutdown, TR-13) --------------------------------------------------

    def close(self) -> ShutdownReport:
        """Shut down: close the server's stdin, wait, SIGTERM, wait, SIGKILL (TR-13).

        Requests still waiting fail with ConnectionClosed. Idempotent; returns what happened.
        Interrupted (Ctrl-C while it waits for the server, or even before the ladder began),
        it still leaves nothing behind: the server is killed and reaped, the threads are told
        to stop, and then the interruption goes on up; a later close() returns the report.
        """
        if threading.current_thread() in (self._reader, self._callback_thread,
                                          self._notification_thread):
            # From a callback. If another thread is closing, it holds the lock while it waits
            # for this very thread to end: waiting for the lock would hold both up until that
            # wait gave up (concurrency review F5). Its report is ready once the ladder has
            # run, before that wait, and the ladder is bounded. (These are never the main
            # thread, so no Ctrl-C can land between the acquire and the try.)
            if not self._close_lock.acquire(blocking=False):
                self._stop.set()
                if self._report_ready.wait(min(threading.TIMEOUT_MAX, ladder_bound(
                        self._stdin_grace, self._term_grace))):
                    assert self._report is not None
                    return self._report
                self._close_lock.acquire()
            try:
                return self._close()
            finally:
                self._close_lock.release()
        with self._close_lock:
            return self._close()

    def _close(self) -> ShutdownReport:
        """close(), under its lock."""
        if self._report is not None:
            return self._report
        try:
            self._stop.set()
            with self._session._lock:
                if self.state not in ENDING:
                    self._session.connection.close()
            self._process.close(stdin_grace=self._stdin_grace, term_grace=self._term_grace)
        finally:
            # Reached however the above ended (shell review F6). Interrupted before the
            # ladder began -- while waiting for the session's lock, say -- this takes it
            # at once, without its waits: no orphan. Otherwise the ladder has run, even if
            # interrupted half way, and this only returns its report.
            self._stop.set()                # again: the try may not have got that far
            try:
                self._process.close(stdin_grace=0.0, term_grace=0.0)
            finally:
                self._report = self._process.close()    # the one report, even if interrupted
                self._report_ready.set()
                self._wind_down(self._report)
        return self._report

    def _wind_down(self, report: ShutdownReport) -> None:
        """After the server is gone: fail what still waits, stop our threads, close the trace.

        Every step runs even when one before it was interrupted (a second Ctrl-C) or failed:
        a skipped step would leave a thread waiting for ever or the transcript's fd open
        (shell review F5). The first such exception goes on up once all have run.
        """
        steps = (
            lambda: self._join(self._reader),
            lambda: self._fail_everything(report),
            self._tell_threads_to_stop,
            lambda: self._join(None if self._keepalive is None else self._keepalive.thread),
            lambda: self._join(self._callback_thread),
            lambda: self._join(self._notification_thread),
            lambda: self._close_transcript(report),
        )
        first_problem: Optional[BaseException] = None
        for step in steps:
            try:
                step()
            except BaseException as exc:
                if first_problem is None:
                    first_problem = exc
        self._ended.set()                       # the session is over (wait_closed)
        if first_problem is not None:
            raise first_problem

    def _fail_everything(self, report: ShutdownReport) -> None:
        self._session.fail_all(ConnectionClosed(
            "the client closed the connection", exit_code=report.exit_code,
            signal=report.signal, stderr_tail=self._process.stderr_tail()))
        with self._session._lock:
            if self.state is not State.FAILED:
                self._session.connection.transport_closed()

    def _tell_threads_to_stop(self) -> None:
        # Under the lock that makes the threads: one made after this would never be told.
        with self._threads_lock:
            if self._callbacks is not None:
                self._callbacks.put(None)
            if self._notification_thread is not None:
                self._offer(None)               # if full, the loop sees _stop after its item
        if self.notifications_dropped:
            log.warning("dropped %d notifications: on_notification was too slow",
                        self.notifications_dropped)

    def _close_transcript(self, report: ShutdownReport) -> None:
        if self._transcript is None:
            return
        try:
            # not_sent_bytes: frames recorded as sent but still queued when the server
            # stopped reading, never delivered (D-38, D-86).
            self._transcript.event("close", steps=list(report.steps),
                                   exit_code=report.exit_code, signal=report.signal,
                                   seconds=round(report.total_seconds, 6),
                                   not_sent_bytes=report.stdin_bytes_discarded)
        finally:
            self._transcript.close()

    @staticmethod
    def _join(thread: Optional[threading.Thread]) -> None:
        """Wait a bounded time for one of our threads to end (not the calling one)."""
        if thread is None or thread.ident is None or thread is threading.current_thread():
            return                              # none, never started, or ourselves
        thread.join(timeout=_THREAD_JOIN_TIMEOUT)
        if thread.is_alive():
            # A callback of the application that does not return (on_progress runs on the
            # reader): a thread cannot be stopped from outside, so say so rather than wait for
            # ever. It is a daemon thread: it does not keep the process alive.
            log.warning("%s is still running after close() (blocked in a callback?); "
                        "leaving it", thread.name)
