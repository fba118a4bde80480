"""A blocking MCP server over stdio: tools, resources and prompts on a bounded worker pool.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/server

Threads:

* the main thread reads stdin (selectors + ``os.read`` in :mod:`mcp_ref.stdio`) and feeds the
  connection, which answers ``initialize``, ``ping``, ``logging/setLevel`` and bad input on
  its own. It runs no handler, so a ping or a cancel is handled at once however busy the
  handlers are (reliability scorecard SC-16); the one exception is a tool registered with
  ``inline=True``, which its author promises is quick (D-70);
* a fixed pool of worker threads runs the handlers. Each handler gets a :class:`Context`:
  its cancelled flag, ``progress()``, ``log()`` and ``request()`` (to ask the client for
  roots, sampling, elicitation or a ping);
* with ``keepalive_interval``, a keepalive thread that pings the client once the session is
  operating, and ends the session if a ping goes unanswered (PG-05, PG-09, D-48).

Every frame goes through one locked writer, so frames never interleave. Nothing but frames
reaches stdout: :class:`~mcp_ref.stdio.StdioServerTransport` moves fd 1 aside (TR-06).

Usage::

    server = Server("demo", version="1.0")

    @server.tool(description="Echo the text back",
                 input_schema={"type": "object", "properties": {"text": {"type": "string"}},
                               "required": ["text"]})
    def echo(arguments, context):
        return arguments["text"]

    if __name__ == "__main__":
        raise SystemExit(server.run_stdio())
"""

from __future__ import annotations

import collections
import json
import signal
import sys
import threading
import time

from . import events as ev
from . import shapes, spec
from ._callables import call_problem
from ._logging import LazyLogger
from ._record import Record
from .connection import (Connection, implementation_problem, instructions_problem,
                         versions_problem)
from .errors import (ConnectionClosed, ErrorCode, LocalProtocolError, McpRefError, NotJson,
                     RequestTimeout, quoted)
from .lifecycle import Role
from .session import (DEFAULT_KEEPALIVE_TIMEOUT, DEFAULT_PROGRESS_INTERVAL, REQUEST_OPTIONS,
                      Keepalive, PendingRequest, Session, check_options, finite_seconds_problem,
                      keepalive_problem, progress_interval_problem, whole_number_problem)
from .stdio import ParentWatchdog, StdioServerTransport, watchdog_problem
from .transcript import open_transcript

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

    from .transcript import Trace

log = LazyLogger("mcp_ref.server")

#: At stdin EOF, how long handlers still running may finish (their answers are still written)
#: before they are cancelled (TR-14, D-18). Kept below the client's 2 s stdin grace (D-01): a
#: server busy in a call then exits on EOF before the client escalates to SIGTERM, even when a
#: handler ignores its cancel and needs the extra 0.5 s (reliability SC-01, RL-02).
DEFAULT_DRAIN_TIMEOUT = 1.0
#: How often a drain after stdin EOF looks whether a signal has come meanwhile (SC-19).
_SIGNAL_POLL = 0.05


class ToolError(Exception):
    """Raise in a tool handler to fail the call with this message as an ``isError`` result."""


class RequestError(McpRefError):
    """Raise in a handler to answer with a JSON-RPC error response instead of a result."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        # BP-10, BP-11: an error's code is an integer, its message a string. Refused here, in the
        # handler that raises it, which then fails like any other (-32603; D-59).
        if isinstance(code, bool) or not isinstance(code, int):
            raise TypeError(f"a JSON-RPC error code is an integer, not {code!r}")
        if not isinstance(message, str):
            raise TypeError(f"a JSON-RPC error message is a string, not {message!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def _object_schema(tool: str, member: str, schema: Any, rule: str) -> Dict[str, Any]:
    """``schema`` if it is a JSON Schema object with ``"type": "object"`` whose
    ``properties`` (if any) is an object of object schemas and whose ``required`` (if any) is
    an array of strings, as the MCP schema has it, in a JSON Schema dialect we support
    (BP-34); else ValueError."""
    problem = None
    if not (isinstance(schema, dict) and schema.get("type") == "object"):
        problem = 'must be a JSON Schema object with "type": "object"'
    elif "properties" in schema and not (
            isinstance(schema["properties"], dict)
            and all(isinstance(rule, dict) for rule in schema["properties"].values())):
        problem = 'must have "properties" map each name to an object (a JSON Schema)'
    elif "required" in schema and not (
            isinstance(schema["required"], list)
            and all(isinstance(name, str) for name in schema["required"])):
        problem = 'must have "required" be an array of strings'
    else:
        # BP-34: a dialect we cannot validate by fails gracefully, here at registration,
        # not as arguments or results judged by rules the schema's author did not mean.
        problem, rule = shapes.dialect_problem(schema), "BP-34"
    if problem is None:
        return schema
    raise ValueError(f"tool {tool!r}: {member} {problem} ({rule}), not {schema!r}")


def _tool_name_problem(name: str) -> Optional[str]:
    """What is wrong with a tool name by TL-07 (2025-11-25: 1 to 128 characters from
    ``A-Z a-z 0-9 _ - .``), or None."""
    if not 1 <= len(name) <= 128:
        return f"has {len(name)} characters, not 1 to 128"
    odd = sorted({c for c in name if not (c.isascii() and (c.isalnum() or c in "_-."))})
    if odd:
        return f"holds {''.join(odd)!r}, outside A-Z a-z 0-9 _ - ."
    return None


#: ToolAnnotations' hints: each a boolean where given (schema 2025-03-26 on; TL-13 says
#: clients treat them as untrusted, but they must still parse).
_TOOL_HINTS = ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")


def _metadata_problem(what: str, **members: Any) -> Optional[str]:
    """The first of ``members`` (a registration's arguments, by their name in the schema's
    Tool, Resource or Prompt) that is not the string the schema makes it, or None. A wrong
    one made every listing page that held the entry a result the schema refuses (TR-06):
    refused where it is given instead (D-80, D-82)."""
    for member, value in members.items():
        if not isinstance(value, str):
            return f"{what}: {member} must be a string, not {value!r:.80}"
    return None


#: Why a second serve() or run_stdio() of one Server is refused while it serves (D-89).
_ONE_SESSION = ("this Server is already serving a session: a Server serves one session at a "
                "time (its keepalive and transport belong to it); make one Server per client")


def _bare_decorator_problem(registrar: str, first: Any) -> Optional[str]:
    """``@server.tool`` written without its parentheses hands the function itself to
    ``tool()`` as the name: the function was replaced by the registering closure, and nothing
    was registered, silently. Refused where it is written, saying what to write (D-89)."""
    if callable(first):
        return (f"@server.{registrar} needs its parentheses: write @server.{registrar}(...) "
                f"(Server.{registrar}() makes the decorator), not @server.{registrar}")
    return None


def _handler_problem(what: str, fn: Handler, passed: Tuple[str, ...]) -> Optional[str]:
    """Why ``fn`` could never be called as the server calls it, with the positional arguments
    ``passed``, or None: a handler that could not failed only at its first call, far from the
    line that registered it (D-80, D-93, D-96). The check the client's callbacks get too
    (``_callables.call_problem``, D-109)."""
    return call_problem(what, fn, passed, "the server")


def _checked_handler_name(kind: str, name: Optional[str], fn: Handler,
                          passed: Tuple[str, ...], uri: Optional[str] = None) -> Any:
    """The name ``fn`` is registered by: ``name``, or the function's own when ``name`` is
    None (``""`` was asked for and is kept: a name is a string, TL-06; an empty one gets
    TL-07's warning, D-91). First the checks ``tool``, ``resource`` and ``prompt`` share, one
    wording for the three (D-103): ValueError, nothing registered, for a ``fn`` the server
    could never call with the positional arguments ``passed`` (D-93, D-96), then for a
    callable without a ``__name__`` (a ``functools.partial``) and no ``name``. Each message
    starts with the registration: a resource by its ``uri``, a tool or prompt by its name,
    or "a tool" while it has none."""
    if name is None and isinstance(getattr(fn, "__name__", None), str):
        name = fn.__name__
    known_by = uri if uri is not None else name
    what = f"a {kind}" if known_by is None else f"{kind} {known_by!r}"
    problem = _handler_problem(what, fn, passed)
    if problem is not None:
        raise ValueError(problem)
    if name is None:
        raise ValueError(f"{what}: {fn!r:.80} has no __name__ to register it by: give the name")
    return name


def _tool_annotations_problem(tool: str, annotations: Any) -> Optional[str]:
    """What keeps ``annotations`` from being the schema's ToolAnnotations, or None."""
    if not isinstance(annotations, dict):
        return f"tool {tool!r}: annotations must be an object, not {annotations!r:.80}"
    if "title" in annotations and not isinstance(annotations["title"], str):
        return f"tool {tool!r}: annotations' title must be a string"
    for hint in _TOOL_HINTS:
        if hint in annotations and not isinstance(annotations[hint], bool):
            return f"tool {tool!r}: annotations' {hint} must be true or false"
    return None


def _prompt_arguments_problem(prompt: str, arguments: Any) -> Optional[str]:
    """What keeps ``arguments`` from being a list of the schema's PromptArgument (a string
    ``name``; ``description`` and ``title`` strings and ``required`` a boolean where given),
    or None."""
    if not isinstance(arguments, list) or not all(isinstance(a, dict) for a in arguments):
        return f"prompt {prompt!r}: arguments must be a list of objects, not {arguments!r:.80}"
    for argument in arguments:
        strings = {member: argument[member] for member in ("description", "title")
                   if member in argument}
        problem = _metadata_problem(f"prompt {prompt!r} argument",
                                    name=argument.get("name"), **strings)
        if problem is not None:
            return problem
        if "required" in argument and not isinstance(argument["required"], bool):
            return f"prompt {prompt!r} argument: required must be true or false"
    return None


#: What a handler's :meth:`Context.request` takes: every request's options but ``unless``,
#: which the Context sets itself (its own cancel, D-43; D-93).
_ASKING_OPTIONS = REQUEST_OPTIONS - {"unless"}


class Context:
    """What a handler gets besides its arguments: the request, and ways to talk back."""

    def __init__(self, session: Session, event: ev.RequestReceived,
                 inline: bool = False) -> None:
        self.request_id = event.id
        self.method = event.method
        self.params = event.params
        self.progress_token = event.progress_token
        self._session = session
        self._cancelled = threading.Event()
        self.cancel_reason: Optional[str] = None
        self._lock = threading.Lock()                     # guards _asked
        self._asked: Set[PendingRequest] = set()          # our requests to the client, open
        # Run on the reader thread (an inline tool, D-70): what it writes is the reader's own
        # reply, which never waits for room (D-38), and it cannot wait for an answer.
        self.inline = inline

    @property
    def cancelled(self) -> bool:
        """True once the client cancelled this request (CN-05): stop and return."""
        return self._cancelled.is_set()

    def wait_cancelled(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking at once if cancelled. True if cancelled.

        RuntimeError in an inline tool (D-70, D-114): the cancel could only be read by the
        thread that runs it, so the wait could never end early; it would only stop the
        reader, pings included, for ``timeout``."""
        if self.inline:
            raise RuntimeError("an inline tool cannot wait for its cancel: the cancel would "
                               "be read by the thread that runs the tool (D-70)")
        return self._cancelled.wait(timeout)

    def progress(self, progress: float, total: Optional[float] = None,
                 message: Optional[str] = None) -> bool:
        """Report progress (PR-04). Returns False when nothing was sent: the client asked for
        no progress (PR-08), the request has completed or been cancelled (PR-13, A9), or the
        last progress went out less than the server's ``progress_interval`` ago (PR-12, D-47;
        the first progress, and one that reaches ``total``, are always sent). To know
        whether to stop, look at :attr:`cancelled`, not at this.

        Raises LocalProtocolError if ``progress`` does not increase (PR-05).
        """
        return self._session.send_progress(self.request_id, progress, total, message,
                                           reply=self.inline)

    def log(self, level: str, data: Any, logger: Optional[str] = None) -> None:
        """Send a ``notifications/message`` if the client's level lets it through (LG-02)."""
        self._session.send_log(level, data, logger, reply=self.inline)

    def request(self, method: str, params: Optional[Dict[str, Any]] = None,
                **options: Any) -> Dict[str, Any]:
        """Ask the client something (``roots/list``, ``sampling/createMessage``,
        ``elicitation/create``, ``ping``) and wait for the answer. Raises
        CapabilityNotNegotiated if the client did not declare the capability (LC-16), and
        LocalProtocolError, with nothing sent, for params that are not an object holding the
        members the method's schema requires (BP-01, D-85); their values go out as given
        (the client judges them, D-92).

        ``options`` are :meth:`mcp_ref.session.Session.send_request`'s but ``unless``, which
        is this request's cancel (any other is TypeError, nothing sent: D-93): ``timeout`` is
        60 s unless given (D-10), and then RequestTimeout is raised, the question cancelled
        (TO-02): give a longer one (or None, no deadline) to an elicitation that a human
        answers (D-89).

        If the client cancels *this* request meanwhile, the question is cancelled in turn
        (CN-01: its answer is no longer wanted, and a human may be looking at it) and
        RequestCancelled is raised here, at once rather than at the question's timeout. A
        question asked after the cancel is never sent, nor one still waiting for room (D-38):
        that one gives up within 0.1 s of the cancel.

        RuntimeError in an inline tool (D-70): the answer could only be read by the thread
        that runs it.
        """
        check_options("request", options, _ASKING_OPTIONS)
        if self.inline:
            raise RuntimeError(f"an inline tool cannot ask the client ({method}): its answer "
                               "would be read by the thread that runs the tool (D-70)")
        # The cancel flag is checked under the session's lock just before the write (D-43).
        pending = self._session.send_request(method, params, unless=self._cancelled.is_set,
                                             **options)
        with self._lock:
            self._asked.add(pending)
            cancelled = self._cancelled.is_set()     # _cancel may have run since the check
        try:
            if cancelled:
                pending.cancel(self._why_asked_cancelled())
            return pending.result()
        finally:
            with self._lock:
                self._asked.discard(pending)

    @property
    def client_capabilities(self) -> Dict[str, Any]:
        return self._session.connection.negotiated.peer_capabilities

    def _cancel(self, reason: Optional[str]) -> None:
        """The reader thread (a cancel from the client) or shutdown (D-18). Never waits:
        cancelling a question writes one notification and waits for no room (D-38)."""
        with self._lock:
            self.cancel_reason = reason
            self._cancelled.set()
            asked = list(self._asked)
        for pending in asked:
            pending.cancel(self._why_asked_cancelled())

    def _why_asked_cancelled(self) -> str:
        # The reason names who ended it: the client's cancel (its reason, if it gave one) or
        # the server's own shutdown (D-18), which is no cancel of the client's.
        why = f" ({self.cancel_reason})" if self.cancel_reason else ""
        return f"no longer needed: request {self.request_id!r} that asked was cancelled{why}"


if TYPE_CHECKING:
    Handler = Callable[..., Any]


class _Tool(Record):
    __slots__ = ("name", "fn", "definition", "inline")

    def __init__(self, name: str, fn: Handler, definition: Dict[str, Any],
                 inline: bool = False) -> None:
        self.name, self.fn, self.definition, self.inline = name, fn, definition, inline


class _Resource(Record):
    __slots__ = ("uri", "fn", "definition")

    def __init__(self, uri: str, fn: Handler, definition: Dict[str, Any]) -> None:
        self.uri, self.fn, self.definition = uri, fn, definition


class _Prompt(Record):
    __slots__ = ("name", "fn", "definition", "required")

    def __init__(self, name: str, fn: Handler, definition: Dict[str, Any],
                 required: Tuple[str, ...] = ()) -> None:
        self.name, self.fn, self.definition, self.required = name, fn, definition, required


class _WorkerPool:
    """A fixed number of daemon threads; at most ``limit`` requests in flight at once.

    Beyond the limit, :meth:`submit` refuses at once instead of queueing without bound, and
    the server answers the request with an error (decision D-11). Daemon threads, so a
    handler that never returns cannot keep the process alive after shutdown.
    """

    def __init__(self, workers: int, limit: int) -> None:
        self.limit = limit
        self._tasks: "collections.deque[Callable[[], None]]" = collections.deque()
        lock = threading.Lock()
        self._cond = threading.Condition(lock)      # workers wait here for a task
        self._idle = threading.Condition(lock)      # drain() waits here for _active == 0
        self._active = 0
        self._stopped = False
        self._threads = [threading.Thread(target=self._work, daemon=True,
                                          name=f"mcp_ref-worker-{i}") for i in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, task: Callable[[], None]) -> bool:
        with self._cond:
            if self._active >= self.limit or self._stopped:
                return False
            self._active += 1
            self._tasks.append(task)
            self._cond.notify()                 # one task, one worker to wake
            return True

    def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for every task to finish. True if none is left."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def _work(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._tasks or self._stopped)
                if not self._tasks:
                    return
                task = self._tasks.popleft()
            try:
                task()
            except BaseException:               # a worker must outlive anything a task raises
                log.exception("a worker task raised")
            finally:
                with self._cond:
                    self._active -= 1
                    if self._active == 0:
                        self._idle.notify_all()


def _text(text: str) -> Dict[str, Any]:
    return {"type": "text", "text": text}


#: The schema's name for the objects in each list result (``spec.MEMBERS_SINCE`` keys).
_KINDS = {"tools": "Tool", "resources": "Resource", "resourceTemplates": "ResourceTemplate",
          "prompts": "Prompt"}


def check_arguments(arguments: Dict[str, Any], schema: Dict[str, Any]) -> List[str]:
    """Problems with ``arguments`` against a tool's ``inputSchema``, by the JSON Schema
    subset of :func:`mcp_ref.shapes.object_problems`. TL-14: servers validate tool inputs."""
    return shapes.object_problems(arguments, schema, "arguments")


class Server:
    """An MCP server. Register handlers with the decorators, then :meth:`run_stdio`."""

    def __init__(self, name: str, version: str = "0.1.0", *, title: Optional[str] = None,
                 instructions: Optional[str] = None, max_workers: int = 4,
                 max_in_flight: int = 64, page_size: int = 50,
                 drain_timeout: float = DEFAULT_DRAIN_TIMEOUT,
                 supported_versions: Sequence[str] = spec.SUPPORTED_VERSIONS,
                 keepalive_interval: Optional[float] = None,
                 keepalive_timeout: float = DEFAULT_KEEPALIVE_TIMEOUT,
                 progress_interval: float = DEFAULT_PROGRESS_INTERVAL) -> None:
        """``keepalive_interval``: once the session is operating, ping the client every that
        many seconds, and wait ``keepalive_timeout`` seconds for each answer; a missed one
        ends the session as stdin EOF does (PG-05, PG-09, D-48). Off (None) by default.
        ValueError for a value that is not a finite, positive number of seconds.
        ``progress_interval``: the least time, in seconds, between two progress
        notifications on one request; calls of ``Context.progress()`` in between are not
        sent, except one that reaches ``total`` (PR-12, D-47). 0 sends every one. Every
        argument is checked here, before anything runs: ValueError names the first one no
        session could use (D-80)."""
        info: Dict[str, Any] = {"name": name, "version": version}
        if title:
            info["title"] = title
        problem = (keepalive_problem(keepalive_interval, keepalive_timeout)   # PG-06, PG-07
                   or progress_interval_problem(progress_interval)            # PR-12
                   # What the initialize answer carries (LC-04, D-80): a name that is not a
                   # string went out in a serverInfo the schema refuses; the string
                   # "2025-06-18" as supported_versions counter-offered the revision "2".
                   or implementation_problem(info)
                   or instructions_problem(instructions)
                   or versions_problem(supported_versions)
                   # No worker would run a request: each was accepted and never answered.
                   or whole_number_problem("max_workers", max_workers, 1)
                   # 0 would refuse every request as "busy".
                   or whole_number_problem("max_in_flight", max_in_flight, 1)
                   # NaN made the drain after stdin EOF wait for ever (D-18).
                   or finite_seconds_problem("drain timeout", drain_timeout, zero_allowed=True)
                   # PN-02: a page of nothing with a nextCursor says "more exist" for ever,
                   # and a client following it never gets to the end.
                   or whole_number_problem("page_size", page_size, 1))
        if problem is not None:
            raise ValueError(problem)
        self.info = info
        self.instructions = instructions
        self.max_workers = max_workers
        self.max_in_flight = max_in_flight
        self.page_size = page_size
        self.drain_timeout = drain_timeout
        self.progress_interval = float(progress_interval)
        self.supported_versions = supported_versions
        self.keepalive_interval = keepalive_interval
        self.keepalive_timeout = keepalive_timeout
        self._tools: Dict[str, _Tool] = {}
        self._resources: Dict[str, _Resource] = {}
        self._prompts: Dict[str, _Prompt] = {}
        #: The requests this server answers, by method (the connection answers initialize,
        #: ping and logging/setLevel itself).
        self._methods: Dict[str, Callable[[Context], Dict[str, Any]]] = {
            spec.TOOLS_LIST: lambda c: self._page(c, "tools", self._tools),
            spec.TOOLS_CALL: self._call_tool,
            spec.RESOURCES_LIST: lambda c: self._page(c, "resources", self._resources),
            # No templates to list, but the request is still a paginated one, so a cursor is
            # checked (ER-12).
            # https://modelcontextprotocol.io/specification/2025-11-25/server/utilities/pagination#operations-supporting-pagination
            spec.RESOURCES_TEMPLATES_LIST: lambda c: self._page(c, "resourceTemplates", {}),
            spec.RESOURCES_READ: self._read_resource,
            spec.PROMPTS_LIST: lambda c: self._page(c, "prompts", self._prompts),
            spec.PROMPTS_GET: self._get_prompt,
        }
        self._shutdown_hooks: List[Callable[[], Any]] = []
        #: Held while a session is served: a Server serves one session at a time, since its
        #: keepalive, signal and transport belong to that session (D-89).
        self._serving = threading.Lock()
        self._session: Optional[Session] = None
        self._signal: Optional[int] = None
        self._transport: Optional[StdioServerTransport] = None
        self._keepalive: Optional[Keepalive] = None
        #: Tools whose first whole result with structuredContent was checked for TL-10.
        self._checked_tl10: Set[str] = set()

    # --- Registries ---------------------------------------------------------------------------

    def tool(self, name: Optional[str] = None, *, description: str = "",
             input_schema: Optional[Dict[str, Any]] = None, title: Optional[str] = None,
             annotations: Optional[Dict[str, Any]] = None,
             output_schema: Optional[Dict[str, Any]] = None,
             inline: bool = False) -> Callable[[Handler], Handler]:
        """Register ``fn(arguments, context)``. It returns a string, a list of content
        blocks, a whole CallToolResult dict (sent as built: the tool's first one with
        ``structuredContent`` is checked, and warned of if no text block holds its JSON,
        TL-10, D-50), a dict with only ``structuredContent`` (its JSON text block is added,
        TL-10), or None (a result with no content); raising ToolError (or anything else), or
        returning anything else or a result the schema refuses (``shapes.
        server_result_problem``), makes an ``isError: true`` result (ER-03, D-59). Raising
        :class:`RequestError` answers with that JSON-RPC error instead. A ToolError's text is
        its message; anything else raised is sent as ``Tool NAME failed: Type: message``,
        message and all, for the model to correct itself by: catch an exception whose message
        may hold a secret and raise a ToolError that does not (tools § Security
        Considerations: servers sanitize tool outputs; D-89).

        ``inline=True`` runs the tool on the reader thread instead of a worker (D-70), which
        saves a thread hand-off per call, the largest cost of a quick one. For a tool that
        only computes and returns at once: while it runs nothing else is read (a ping or a
        cancel waits for it), it cannot ask the client anything (:meth:`Context.request`
        raises RuntimeError), nor wait for its cancel (:meth:`Context.wait_cancelled` raises
        RuntimeError, D-114). Its answer, progress and logs are the reader's replies: they
        never wait for room, but while more than a megabyte of them wait for a client that
        does not read, the next one waits for it to read, as the reader does before it reads
        (D-38).

        ``output_schema`` (published from 2025-06-18) promises ``structuredContent`` of that
        shape: a result without it, or not matching it (the checks of
        :func:`mcp_ref.shapes.object_problems`), is sent as an ``isError`` result instead
        (TL-09: the server MUST keep that promise).

        ValueError for a second tool of the same name, or an ``input_schema`` or
        ``output_schema`` without ``"type": "object"`` (``{}`` included), or whose ``properties``
        or ``required`` the MCP schema would refuse, or whose ``$schema`` names a dialect
        :func:`mcp_ref.shapes.dialect` does not know (TL-06, TL-07, TL-09, BP-34), or a name,
        description or title that is not a string, or annotations that are not the schema's
        ToolAnnotations (D-82). A name that is empty, longer than 128 characters or outside
        ``A-Z a-z 0-9 _ - .`` is registered, with a warning (TL-07 is a SHOULD); the
        function's name is used only when ``name`` is None (D-91). Without ``input_schema``
        the tool takes no arguments: its ``inputSchema`` is
        ``{"type": "object", "additionalProperties": false}``, the one the spec recommends
        for that (TL-06), so a call with any argument gets an ``isError`` result.

        Write it with its parentheses, ``@server.tool()``: a bare ``@server.tool`` is
        ValueError (D-89). So is a function that could never be called as
        ``fn(arguments, context)``: one that requires more positional arguments or takes
        fewer, requires a keyword-only one, or is an ``async def`` (read from the code of a
        function, plain, bound or static; another callable is not judged: D-93), and
        anything that is not callable at all (D-96)."""
        problem = _bare_decorator_problem("tool", name)
        if problem is not None:
            raise ValueError(problem)

        def register(fn: Handler) -> Handler:
            tool_name = _checked_handler_name("tool", name, fn, ("arguments", "context"))
            # TL-06: a tool has a name, a string. Its description and title are strings and
            # its annotations the schema's ToolAnnotations, or every tools/list page holding
            # it would be a result the schema refuses (TR-06, D-82).
            optional = {"title": title} if title else {}
            problem = (_metadata_problem("a tool", name=tool_name, description=description,
                                         **optional)
                       or (None if annotations is None
                           else _tool_annotations_problem(tool_name, annotations)))
            if problem is not None:
                raise ValueError(problem)
            if tool_name in self._tools:      # TL-07: unique within the server
                raise ValueError(f"a tool named {tool_name!r} is already registered: tool "
                                 "names are unique within a server (TL-07)")
            problem = _tool_name_problem(tool_name)
            if problem is not None:           # a SHOULD: the application's choice, but said
                log.warning("tool name %r %s; clients may refuse it (TL-07)", tool_name, problem)
            # TL-06: inputSchema is required and is an object schema (the default takes no
            # arguments at all, as TL-06 recommends for a tool without any).
            if input_schema is None:
                schema: Dict[str, Any] = {"type": "object", "additionalProperties": False}
            else:
                schema = _object_schema(tool_name, "inputSchema", input_schema, "TL-06")
            definition: Dict[str, Any] = {"name": tool_name, "description": description,
                                          "inputSchema": schema}
            if output_schema is not None:     # TL-09; the schema has it as an object schema
                definition["outputSchema"] = _object_schema(tool_name, "outputSchema",
                                                            output_schema, "TL-09")
            if title:
                definition["title"] = title
            if annotations:
                definition["annotations"] = annotations
            self._tools[tool_name] = _Tool(tool_name, fn, definition, inline)
            return fn
        return register

    def resource(self, uri: str, *, name: Optional[str] = None, description: str = "",
                 mime_type: str = "text/plain") -> Callable[[Handler], Handler]:
        """Register ``fn(context)`` returning the resource's text (str) or bytes (anything
        else is answered -32603, D-59). ValueError if ``uri``, the name, ``description`` or
        ``mime_type`` is not a string (D-82), or a resource of that ``uri`` is already
        registered (D-89), or a function that could never be called as ``fn(context)`` (as
        for :meth:`tool`, D-93)."""
        problem = _bare_decorator_problem("resource", uri)
        if problem is not None:
            raise ValueError(problem)

        def register(fn: Handler) -> Handler:
            resource_name = _checked_handler_name("resource", name, fn, ("context",), uri=uri)
            definition = {"uri": uri, "name": resource_name,
                          "description": description, "mimeType": mime_type}
            # The schema's Resource: each of these a string (TR-06, D-82).
            problem = _metadata_problem("a resource", **definition)
            if problem is not None:
                raise ValueError(problem)
            if uri in self._resources:        # "uri: Unique identifier for the resource"
                raise ValueError(f"a resource with uri {uri!r} is already registered: a "
                                 "resource's uri is its unique identifier (server/resources "
                                 "§ Data Types, Resource)")
            self._resources[uri] = _Resource(uri, fn, definition)
            return fn
        return register

    def prompt(self, name: Optional[str] = None, *, description: str = "",
               arguments: Optional[List[Dict[str, Any]]] = None) -> Callable[[Handler], Handler]:
        """Register ``fn(arguments, context)`` returning a string (one user message) or a
        list of PromptMessage dicts (messages the schema refuses are answered -32603, D-59).
        ``arguments`` lists ``{"name", "description", "required"}``. ValueError if the name or
        ``description`` is not a string, or ``arguments`` is not a list of the schema's
        PromptArgument objects (D-82), or a prompt of that name is already registered, or
        it is written without its parentheses, ``@server.prompt`` (D-89), or a function that
        could never be called as ``fn(arguments, context)`` (as for :meth:`tool`, D-93)."""
        problem = _bare_decorator_problem("prompt", name)
        if problem is not None:
            raise ValueError(problem)

        def register(fn: Handler) -> Handler:
            prompt_name = _checked_handler_name("prompt", name, fn, ("arguments", "context"))
            # The schema's Prompt and PromptArgument (TR-06, D-82).
            problem = (_metadata_problem("a prompt", name=prompt_name, description=description)
                       or (None if arguments is None
                           else _prompt_arguments_problem(prompt_name, arguments)))
            if problem is not None:
                raise ValueError(problem)
            if prompt_name in self._prompts:  # "name: Unique identifier for the prompt"
                raise ValueError(f"a prompt named {prompt_name!r} is already registered: a "
                                 "prompt's name is its unique identifier (server/prompts "
                                 "§ Data Types, Prompt)")
            definition: Dict[str, Any] = {"name": prompt_name, "description": description}
            if arguments:
                definition["arguments"] = arguments
            required = tuple(a["name"] for a in arguments or () if a.get("required"))
            self._prompts[prompt_name] = _Prompt(prompt_name, fn, definition, required)
            return fn
        return register

    def on_shutdown(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        """Register ``fn()`` to run when serving ends, however it ends: stdin EOF, a signal, the
        watchdog, or an error in serving itself (decision D-32).

        It runs once per :meth:`serve` (and so per :meth:`run_stdio`), after the handlers have
        finished or been given up, and before ``run_stdio`` gives the process its stdio back:
        a ``print()`` in it still goes to stderr. Hooks run last registered first, as atexit's
        do. One that raises is logged to stderr and the others still run; the exit status
        says how the session ended, not how the cleanup went. ValueError, nothing registered,
        if ``fn`` is not callable, or could never be called as ``fn()``: one that requires an
        argument, or an ``async def``, read from its code as a handler's is (D-93). It would
        fail, or do nothing at all, only when serving ends (D-108).
        """
        # One check, as every registrar's (D-103): "an on_shutdown hook: the server calls it,
        # but 5 is not callable" for what is no function at all (D-113).
        problem = _handler_problem("an on_shutdown hook", fn, ())
        if problem is not None:
            raise ValueError(problem)
        self._shutdown_hooks.append(fn)
        return fn

    @property
    def capabilities(self) -> Dict[str, Any]:
        """Derived from the registries: declare only what we serve (TL-01, LC-16).
        ``logging`` is always declared so that handlers can log (LG-01)."""
        capabilities: Dict[str, Any] = {"logging": {}}
        if self._tools:
            capabilities["tools"] = {"listChanged": False}
        if self._resources:
            capabilities["resources"] = {"subscribe": False, "listChanged": False}
        if self._prompts:
            capabilities["prompts"] = {"listChanged": False}
        return capabilities

    # --- Running ------------------------------------------------------------------------------

    def run_stdio(self, trace: Trace = None, *, watchdog: Optional[float] = None,
                  parent_pid: Optional[int] = None,
                  transport: Optional[StdioServerTransport] = None) -> int:
        """Serve on this process's stdin/stdout until stdin closes or a signal arrives.

        Returns the exit status: 0 after stdin EOF (TR-14), 128 + signal number after
        SIGTERM or SIGINT (no traceback, no half-written line). ``trace`` names a JSONL file
        that receives every frame (:mod:`mcp_ref.transcript`), or is a ``Transcript`` made with
        a ``redact`` hook.

        ``watchdog``: every that many seconds, check that the client is still there (our
        parent process, or ``parent_pid``); once it is gone, shut down as at stdin EOF
        (:class:`~mcp_ref.stdio.ParentWatchdog`, D-33). Off by default: then a client that
        dies while another process holds our stdin open leaves the server running.

        ``transport``: serve on this one instead of a new
        ``StdioServerTransport(guard_stdout=True, guard_stdin=True)``; run_stdio closes it,
        even when it raises.
        :func:`mcp_ref.audit.run_audited` passes one that also shows every byte to an auditor.

        When it returns, the :meth:`on_shutdown` hooks have run and fds 0 and 1 and
        ``sys.stdout`` are as they were before the call, so a program that embeds the server
        can carry on (D-32). RuntimeError while this Server serves another session, as for
        :meth:`serve` (D-89).
        """
        problem = watchdog_problem(watchdog, parent_pid)
        if problem is not None or not self._serving.acquire(blocking=False):
            if transport is not None:
                transport.close()             # it was given to us to close, come what may
            if problem is not None:
                raise ValueError(problem)
            raise RuntimeError(_ONE_SESSION)
        try:
            return self._run_stdio(transport, trace, watchdog, parent_pid)
        finally:
            self._serving.release()

    def _run_stdio(self, transport: Optional[StdioServerTransport], trace: Trace,
                   watchdog: Optional[float], parent_pid: Optional[int]) -> int:
        watcher = ParentWatchdog(watchdog, parent_pid) if watchdog is not None else None
        if transport is None:
            transport = StdioServerTransport(guard_stdout=True, guard_stdin=True)  # TR-06, RL-31
        self._signal = None                   # a new session (an embedder may serve again)
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                handler = signal.getsignal(signum)
                if handler is None:
                    # Installed outside Python (an embedding program): getsignal cannot name
                    # it, so it could not be put back afterwards; it stays, and is the
                    # embedder's to act on.
                    continue
                previous[signum] = handler
                signal.signal(signum, self._on_signal)
        try:
            if watcher is not None:
                watcher.start(on_gone=transport.interrupt)      # as at EOF: D-18, D-33
            status = self._serve_then_clean_up(transport, trace)
        finally:
            if watcher is not None:
                watcher.stop()
            # Answers still queued for a client slow to read get a bounded time to reach it,
            # unless a signal asked us to go (D-38). Restoring the handlers comes after: a
            # SIGTERM during that wait still abandons it.
            transport.close(flush_timeout=0.0 if self._signal is not None
                            else self.drain_timeout)   # gives back fds 0, 1, sys.stdout (D-32)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            if sys.stderr is not None:          # None: started without a stderr (R6)
                sys.stderr.flush()
        return status

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._signal = signum
        if self._transport is not None:
            self._transport.interrupt()
            self._transport.abandon_output()  # a client that does not read holds nothing up

    def serve(self, transport: StdioServerTransport, trace: Trace = None) -> int:
        """Run one session over ``transport``: read, dispatch, and drain at end of stream;
        then the :meth:`on_shutdown` hooks, however the session ended (D-32). The transport
        stays the caller's to close, and so do the fds it was made with.

        One session at a time: RuntimeError, with nothing read, while this Server serves
        another (its keepalive and transport are the session's; the hooks would run as each
        session ends). To serve several clients at once, make a Server for each (D-89)."""
        if not self._serving.acquire(blocking=False):
            raise RuntimeError(_ONE_SESSION)
        try:
            return self._serve_then_clean_up(transport, trace)
        finally:
            self._serving.release()

    def _serve_then_clean_up(self, transport: StdioServerTransport, trace: Trace) -> int:
        try:
            return self._serve(transport, trace)
        finally:
            self._run_shutdown_hooks()

    def _serve(self, transport: StdioServerTransport, trace: Trace) -> int:
        connection = Connection(Role.SERVER, info=self.info, capabilities=self.capabilities,
                                instructions=self.instructions,
                                supported_versions=self.supported_versions)
        transcript = open_transcript(trace)

        def write(data: bytes, reply: bool = False) -> None:
            try:
                if transcript is None:
                    transport.write(data, reply)
                else:                       # recorded before it is written, a failure after
                    transcript.sent(data, connection.state.name,
                                    lambda data: transport.write(data, reply))   # (D-86)
            except ConnectionClosed:
                # The client closed our stdout (EPIPE): nothing can reach it any more, so stop
                # reading and shut down as at stdin EOF (TR-14; reliability RL-03).
                transport.interrupt()
                raise
        session = Session(connection, write, request_timeout=60.0, max_total_timeout=None,
                          wait_for_room=transport.wait_for_room,
                          write_reply=lambda data: write(data, reply=True),
                          hold_reader=transport.hold_reader,
                          progress_interval=self.progress_interval)
        self._session, self._transport = session, transport
        self._keepalive = None                                 # a new session
        pool = _WorkerPool(self.max_workers, self.max_in_flight)
        contexts: Dict[Any, Context] = {}
        try:
            while self._signal is None:
                chunk = transport.read()
                if chunk is None:
                    continue
                if transcript is not None:          # b"" too: a line cut by EOF (D-78)
                    transcript.frames("recv", chunk, connection.state.name)
                session.feed(chunk, lambda event: self._handle(event, session, pool, contexts))
                if not chunk:
                    break
        except BaseException:
            # Serving itself failed (an I/O error, a bug): give up on the handlers at once, as
            # after a signal, so that the shutdown hooks run after them, not beside them.
            self._finish(session, pool, contexts, failed=True)
            raise
        else:
            status = self._finish(session, pool, contexts)
            if transcript is not None:
                transcript.event("exit", status=status, signal=self._signal)
            return status
        finally:
            pool.stop()
            if self._keepalive is not None:
                self._keepalive.stop()          # _finish did already, unless it never ran
                self._keepalive.join()          # bounded: fail_all ended any ping it waited on
            if transcript is not None:
                transcript.close()

    def _finish(self, session: Session, pool: _WorkerPool, contexts: Dict[Any, Context],
                failed: bool = False) -> int:
        """After stdin EOF (TR-14), a signal, or a failure of serving itself: let in-flight
        handlers finish for a bounded time (after EOF only), then cancel what is left, and
        report the exit status."""
        if self._keepalive is not None:
            # No ping while we drain: the client's answer could no longer be read after EOF,
            # and the "missed" ping would be blamed on it (D-48).
            self._keepalive.stop()
        if self._signal is None and not failed:
            # stdin EOF: work in flight may still finish and be answered for drain_timeout;
            # then it is given up, with a short wait for the handlers to notice (D-18).
            if not self._drain_unless_signalled(pool, self.drain_timeout) and \
                    self._signal is None:
                self._give_up(session, contexts)
                self._drain_unless_signalled(pool, 0.5)
        if self._signal is not None or failed:
            # SIGTERM/SIGINT, or a failure: give up on everything at once; handlers get 1 s to
            # return (SC-19). A signal that comes while we drain after EOF ends that drain:
            # the client's shutdown ladder closes stdin first, so its SIGTERM always lands
            # there (TR-13; stdio review R1).
            self._give_up(session, contexts)
            pool.drain(1.0)
        if failed:
            reason = "serving failed"
        elif self._signal is not None:
            reason = f"the server got signal {self._signal}"
        else:
            reason = "the client closed the server's stdin"
        session.fail_all(ConnectionClosed(reason))
        with session._lock:
            session.connection.transport_closed()
        log.info("server %s exiting", self.info["name"])
        return 0 if self._signal is None else 128 + self._signal

    def _drain_unless_signalled(self, pool: _WorkerPool, timeout: float) -> bool:
        """``pool.drain(timeout)``, ended early by SIGTERM or SIGINT: True if no task is left.

        The signal handler only sets ``_signal`` (taking a lock there could deadlock with the
        main thread it interrupts), so the drain waits in slices of :data:`_SIGNAL_POLL` s
        and looks at it between them."""
        deadline = time.monotonic() + timeout
        while self._signal is None:
            remaining = deadline - time.monotonic()
            if pool.drain(max(0.0, min(_SIGNAL_POLL, remaining))):
                return True
            if remaining <= 0:
                return False
        return False

    def _run_shutdown_hooks(self) -> None:
        """Each on_shutdown hook once, the last registered first; one raising stops no other."""
        for hook in reversed(self._shutdown_hooks):
            try:
                hook()
            except Exception:
                log.exception("on_shutdown hook %r raised", hook)

    @staticmethod
    def _give_up(session: Session, contexts: Dict[Any, Context]) -> None:
        """Cancel every handler still running. None of them is answered: work given up on is
        not a result, whatever the handler returns now (CN-05; reliability SC-01)."""
        with session._lock:
            for request_id in list(contexts):
                session.connection.give_up(request_id)
        for context in list(contexts.values()):
            context._cancel("the server is shutting down")

    def _handle(self, event: ev.Event, session: Session, pool: _WorkerPool,
                contexts: Dict[Any, Context]) -> None:
        if isinstance(event, ev.RequestReceived):
            if self._signal is not None:
                # SIGTERM/SIGINT came while an inline tool read in this same chunk ran (D-70):
                # the requests after it are given up unstarted and unanswered, as everything
                # is at a signal (SC-19, CN-05), not each run on the reader before we exit
                # (TR-13; found in inline review).
                # https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle#stdio
                with session._lock:
                    session.connection.give_up(event.id)
                return
            inline = self._is_inline(event)
            context = Context(session, event, inline)
            contexts[event.id] = context
            if inline:
                self._run(context, contexts)        # here, on the reader thread (D-70)
            elif not pool.submit(lambda: self._run(context, contexts)):
                del contexts[event.id]
                session.respond_error(event.id, ErrorCode.INTERNAL_ERROR,
                                      f"Server busy: {pool.limit} requests already in flight",
                                      {"inFlightLimit": pool.limit},
                                      reply=True)     # the reader never waits (D-38)
        elif isinstance(event, ev.CancelReceived):
            running = contexts.get(event.request_id)
            if running is not None:
                log.info("request %r cancelled by the client: %s", event.request_id,
                         event.reason)                          # CN-09: log the reason
                running._cancel(event.reason)                   # CN-05: stop the work
        elif isinstance(event, ev.Initialized):
            log.info("session initialized: protocol %s, client %s", event.protocol_version,
                     event.peer_info.get("name"))
            self._start_keepalive(session)
        elif isinstance(event, ev.NotificationReceived):
            log.debug("notification %s", event.method)

    def _start_keepalive(self, session: Session) -> None:
        """Reader thread, at ``notifications/initialized``: start pinging the client, if asked.

        Not before: until then a server may send pings (PG-03, LC-07), but a client that is
        still setting up need not be judged yet; from now on the session is operating.
        https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/ping#implementation-considerations
        """
        if self.keepalive_interval is None:
            return
        self._keepalive = Keepalive(session, self.keepalive_interval, self.keepalive_timeout,
                                    self._missed_ping, name="mcp_ref-server-keepalive")
        self._keepalive.start()         # PG-05: ping periodically

    def _missed_ping(self, error: RequestTimeout) -> None:
        """Keepalive thread: a ping went unanswered in time (and was cancelled, TO-02), or
        could not even be sent because the client stopped reading (D-38). Say so once, and
        end the session as at stdin EOF: in-flight handlers drain, exit status 0."""
        # PG-09: a ping timeout is a connection failure; PG-11: log it (to stderr, never
        # stdout: stdout carries frames only, TR-06).
        # https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/ping#error-handling
        log.warning("keepalive: %s; the client counts as gone: ending the session as at "
                    "end of stdin", error)
        if self._transport is not None:
            self._transport.interrupt()     # the read loop sees end of stream (as D-33)

    def _is_inline(self, event: ev.RequestReceived) -> bool:
        """Whether ``event`` calls a tool registered with ``inline=True`` (D-70)."""
        name = event.params.get("name") if event.method == spec.TOOLS_CALL else None
        tool = self._tools.get(name) if isinstance(name, str) else None
        return tool is not None and tool.inline

    def _run(self, context: Context, contexts: Dict[Any, Context]) -> None:
        """Worker thread (or the reader, for an inline tool: D-70): run one handler and answer.
        If the request was cancelled meanwhile, the connection sends nothing (CN-05)."""
        session, reply = context._session, context.inline
        if session.drop_if_cancelled(context.request_id):
            # CN-05, CN-11: cancelled (or given up, D-18) while it waited for a worker: stop
            # processing means never starting the handler, whose side effects nobody wants.
            self._forget(context, contexts)
            return
        try:
            session.respond(context.request_id, self._dispatch(context), reply=reply)
        except RequestError as exc:
            try:
                session.respond_error(context.request_id, exc.code, exc.message, exc.data,
                                      reply=reply)
            except NotJson:
                # Its data holds NaN, bytes, a set...: encoding failed before anything was
                # sent or forgotten, so the request is still answered, without the data
                # (BP-01: MCP follows JSON-RPC 2.0, which answers every request; D-59).
                # Before, the worker gave up and the id stayed in use.
                log.exception("handler for %s raised a RequestError whose data is not JSON",
                              context.method)
                session.respond_error(context.request_id, exc.code, exc.message, reply=reply)
        except LocalProtocolError:
            log.exception("handler for %s broke a protocol rule", context.method)
            session.respond_error(context.request_id, ErrorCode.INTERNAL_ERROR,
                                  f"Internal error while handling {context.method}",
                                  reply=reply)
        except BaseException as exc:
            # Anything, SystemExit (argparse in a handler) and asyncio's CancelledError
            # included: a worker thread never gets a signal's KeyboardInterrupt (nor does the
            # reader running an inline tool under run_stdio, whose SIGINT handler only sets a
            # flag), so what a handler raises here is its own failure, and the request is
            # still answered (BP-01: JSON-RPC 2.0 answers every request; D-59). Catching less
            # left the id in use and the worker dead. The one exception is Ctrl-C in an inline
            # tool under serve() alone.
            if _is_ctrl_c(context, exc):
                raise
            log.exception("handler for %s raised", context.method)
            # -32603, with no internals in the message (LG-04 spirit); details go to stderr.
            session.respond_error(context.request_id, ErrorCode.INTERNAL_ERROR,
                                  f"Internal error while handling {context.method}",
                                  reply=reply)
        finally:
            self._forget(context, contexts)

    @staticmethod
    def _forget(context: Context, contexts: Dict[Any, Context]) -> None:
        """Worker thread: the request is over. Its id may already name a newer request: a
        client that breaks BP-05 may use the id of an answered request again, and that is not
        refused (D-07). Only this request's own entry goes, or the newer one's cancel would
        find no handler to stop (concurrency review F6; CN-05)."""
        if contexts.get(context.request_id) is context:
            del contexts[context.request_id]

    # --- Method handlers ----------------------------------------------------------------------

    def _dispatch(self, context: Context) -> Dict[str, Any]:
        handler = self._methods.get(context.method)
        if handler is None:
            raise RequestError(ErrorCode.METHOD_NOT_FOUND,
                               f"Method not found: {quoted(context.method)}")
        return handler(context)

    def _page(self, context: Context, key: str, registry: Dict[str, Any]) -> Dict[str, Any]:
        """One page of a list (server/utilities/pagination). The cursor is the decimal offset
        of the next item, an opaque string to the client (PN-05)."""
        cursor = context.params.get("cursor")
        start = 0
        if cursor is not None:
            # Our cursors are ASCII offsets of a few digits. str.isdigit() also accepts "²",
            # and int() refuses that and strings of thousands of digits: both are invalid
            # cursors (-32602), not failures of ours (-32603). 18 digits is past any offset.
            if not (isinstance(cursor, str) and cursor.isascii() and cursor.isdigit()
                    and len(cursor) <= 18 and int(cursor) <= len(registry)):
                raise RequestError(ErrorCode.INVALID_PARAMS,                      # ER-12
                                   f"Invalid cursor {quoted(cursor, as_repr=True)}")
            start = int(cursor)
        entries = list(registry.values())[start:start + self.page_size]
        version = self._version(context)
        # LC-15: each definition as the negotiated revision defines it (D-41).
        result: Dict[str, Any] = {key: [shapes.definition(version, _KINDS[key], entry.definition)
                                        for entry in entries]}
        if start + self.page_size < len(registry):
            result["nextCursor"] = str(start + self.page_size)  # PN-02: only if more exist
        return result

    def _call_tool(self, context: Context) -> Dict[str, Any]:
        """tools/call. Protocol errors (unknown tool, malformed params) are JSON-RPC errors
        (ER-02, TL-11); failures inside the tool, bad argument values included, are results
        with ``isError: true`` (ER-03: 2025-11-25's reading, taken in every revision, D-14)."""
        name = context.params.get("name")
        arguments = context.params.get("arguments", {})
        if not isinstance(name, str) or not isinstance(arguments, dict):
            raise RequestError(ErrorCode.INVALID_PARAMS,
                               "tools/call needs a string name and an object of arguments")
        tool = self._tools.get(name)
        if tool is None:
            raise RequestError(ErrorCode.INVALID_PARAMS, f"Unknown tool: {quoted(name)}")
        problems = check_arguments(arguments, tool.definition["inputSchema"])
        if problems:
            return {"content": [_text("Invalid arguments: " + "; ".join(problems))],
                    "isError": True}
        try:
            output = tool.fn(arguments, context)
        except ToolError as exc:
            return {"content": [_text(str(exc))], "isError": True}
        except RequestError:                # the handler asks for a JSON-RPC error (D-59)
            raise
        except BaseException as exc:        # SystemExit too: a tool that "exits" failed (D-59)
            if _is_ctrl_c(context, exc):
                raise
            if context.cancelled:           # it stopped as asked (CN-05); no answer goes out
                log.info("tool %s ended after its request was cancelled: %s", name, exc)
            else:
                log.exception("tool %s raised", name)
            return {"content": [_text(f"Tool {name} failed: {type(exc).__name__}: {exc}")],
                    "isError": True}
        result = _tool_result(output)
        if result is None:                  # the tool ran but returned nothing we can send
            log.error("tool %s returned %s, not a str, a list of content blocks or a "
                      "CallToolResult dict", name, type(output).__name__)
            return {"content": [_text(f"Tool {name} returned a {type(output).__name__}, "
                                      "which is not a tool result")], "isError": True}
        problem = shapes.server_result_problem(spec.TOOLS_CALL, result)
        if problem:                         # TL-08, TR-06: the schema would refuse it (D-59)
            log.error("tool %s returned no valid CallToolResult: %s", name, problem)
            return {"content": [_text(f"Tool {name} returned no valid tool result: {problem}")],
                    "isError": True}
        problems = shapes.output_problems(result, tool.definition.get("outputSchema"))
        if problems:                        # TL-09: the promise of its outputSchema is broken
            log.error("tool %s broke its outputSchema: %s", name, "; ".join(problems))
            return {"content": [_text(f"Tool {name} returned a result that does not match its "
                                      "outputSchema: " + "; ".join(problems))], "isError": True}
        # LC-15: blocks and members the negotiated revision lacks (D-41). A block type it
        # lacks raises LocalProtocolError, which _run answers -32603.
        fitted = shapes.call_tool_result(self._version(context), result)
        # TL-10 is a SHOULD on the tool. A whole result the handler built (``_tool_result``
        # passed it through) is sent as it is; the tool's first one is checked, and its
        # author told if the JSON text block is missing (D-50).
        if result is output and "structuredContent" in fitted and name not in self._checked_tl10:
            self._checked_tl10.add(name)
            if not _carries_its_json(fitted):
                log.warning("tool %s returned structuredContent without its JSON as a text "
                            "block: a client that reads only content will not see it (TL-10)",
                            name)
        return fitted

    def _read_resource(self, context: Context) -> Dict[str, Any]:
        uri = context.params.get("uri")
        if not isinstance(uri, str):                            # ER-01: malformed params
            raise RequestError(ErrorCode.INVALID_PARAMS, "resources/read needs a string uri")
        resource = self._resources.get(uri)
        if resource is None:
            # -32002 is "resource not found" in 2024-11-05 .. 2025-11-25 (catalogue 1.3).
            raise RequestError(ErrorCode.RESOURCE_NOT_FOUND, "Resource not found", {"uri": uri})
        content = resource.fn(context)
        mime = resource.definition["mimeType"]
        if isinstance(content, bytes):
            import base64       # here: only a binary resource needs it (and serve starts faster)
            item = {"uri": uri, "mimeType": mime, "blob": base64.b64encode(content).decode()}
        elif isinstance(content, str):
            item = {"uri": uri, "mimeType": mime, "text": content}
        else:           # None or a dict was sent as its str(): answered -32603 by _run (D-59)
            raise LocalProtocolError(f"the handler of resource {uri} returned a "
                                     f"{type(content).__name__}, not a str or bytes",
                                     catalogue_id="TR-06")
        return {"contents": [item]}

    def _get_prompt(self, context: Context) -> Dict[str, Any]:
        name = context.params.get("name")
        arguments = context.params.get("arguments") or {}
        prompt = self._prompts.get(name) if isinstance(name, str) else None
        if prompt is None:
            raise RequestError(ErrorCode.INVALID_PARAMS, f"Unknown prompt: {quoted(name)}")
        # GetPromptRequest's arguments are an object of strings (schema); anything else is
        # invalid params (ER-01), like a missing required argument below.
        if not (isinstance(arguments, dict)
                and all(isinstance(value, str) for value in arguments.values())):
            raise RequestError(ErrorCode.INVALID_PARAMS,
                               "prompts/get arguments must be an object of strings")
        missing = [a for a in prompt.required if a not in arguments]
        if missing:
            raise RequestError(ErrorCode.INVALID_PARAMS,
                               f"Missing required prompt arguments: {', '.join(missing)}")
        output = prompt.fn(arguments, context)
        if isinstance(output, str):
            output = [{"role": "user", "content": _text(output)}]
        result: Dict[str, Any] = {"messages": output}
        problem = shapes.server_result_problem(spec.PROMPTS_GET, result)
        if problem:                         # TR-06: the schema would refuse it; -32603 (D-59)
            raise LocalProtocolError(f"the handler of prompt {name} returned no valid "
                                     f"messages: {problem}", catalogue_id="TR-06")
        if prompt.definition.get("description"):
            result["description"] = prompt.definition["description"]
        return shapes.get_prompt_result(self._version(context), result)     # LC-15, D-41

    @staticmethod
    def _version(context: Context) -> str:
        """The session's negotiated revision (requests only arrive once it is known)."""
        return context._session.connection.protocol_version or spec.PROTOCOL_VERSION


def _is_ctrl_c(context: Context, exc: BaseException) -> bool:
    """Whether ``exc``, raised while a handler ran, may be the user's Ctrl-C, which must end
    serving rather than be answered as the handler's failure: a KeyboardInterrupt in an
    inline tool (D-70), on the main thread, while Python's own SIGINT handler is in place
    (:meth:`Server.serve` called without :meth:`Server.run_stdio`, whose handler only sets a
    flag). On the reader, outside a tool, it would have ended serving too (TR-13; found in
    inline review).
    https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle#stdio"""
    return (context.inline and isinstance(exc, KeyboardInterrupt)
            and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler)


def _carries_its_json(result: Dict[str, Any]) -> bool:
    """TL-10: whether a text block of ``result`` holds its ``structuredContent`` as JSON,
    equal as a JSON value (any spacing, key order or number spelling), as the wire will
    carry it. A value json cannot write is left to the response's encoding to report."""
    try:
        structured = json.loads(json.dumps(result["structuredContent"]))
    except (TypeError, ValueError, RecursionError):
        return True
    content = result.get("content")
    for block in content if isinstance(content, list) else ():
        is_text = isinstance(block, dict) and block.get("type") == "text"
        text = block.get("text") if is_text else None
        if isinstance(text, str):
            try:
                parsed = json.loads(text)
            except (ValueError, RecursionError):
                continue
            if shapes.verdict(parsed, {"const": structured}) is not False:
                return True
    return False


def _tool_result(output: Any) -> Optional[Dict[str, Any]]:
    """Normalise what a tool handler returned into a CallToolResult (TL-08), or None.

    None is a result with no content; a str is one text block; a list (or tuple) is the
    content blocks; a dict with ``content`` is the whole result. A dict with only
    ``structuredContent`` gets its text block, the serialised JSON (TL-10). Anything else (a
    number, a dict of something else) is None: the caller reports the tool's mistake rather
    than send, say, a dict's keys as content.
    """
    if output is None:
        return {"content": [], "isError": False}
    if isinstance(output, str):
        return {"content": [_text(output)], "isError": False}
    if isinstance(output, (list, tuple)):
        return {"content": list(output), "isError": False}
    if isinstance(output, dict):
        if "content" in output:
            return output
        if "structuredContent" in output:
            text = json.dumps(output["structuredContent"], ensure_ascii=False)
            return dict(output, content=[_text(text)])
    return None
