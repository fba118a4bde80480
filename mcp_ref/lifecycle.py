"""The MCP session lifecycle as one explicit state machine.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle

Rules of this file (after h11's ``_state.py``):

1. Everything that decides whether a lifecycle move is legal lives here, in two tables:
   :data:`TRANSITIONS` (moves that change the state) and :data:`ALLOWED` (messages that are
   legal in a state and leave it unchanged). Anything in neither table is illegal.
2. The machine never asks "am I the client?". It tracks the state of the *session*, which both
   peers share, and every input names the role that *sent* it. A client and a server that have
   exchanged the same bytes are therefore always in the same state (tests/test_connection.py
   checks this after every exchange).

Who broke a rule decides the exception: when the sender is our own role the caller of
mcp_ref made the mistake (:class:`~mcp_ref.errors.LocalProtocolError`); otherwise the peer did
(:class:`~mcp_ref.errors.RemoteProtocolError`). The connection answers a remote error in a
request with a JSON-RPC error and carries on; nothing here is fatal unless an input says so.

The spec's three phases map onto the states like this:

* Initialization (lifecycle#initialization): AWAITING_INITIALIZE, INITIALIZING,
  INITIALIZE_REFUSED, AWAITING_INITIALIZED.
* Operation (lifecycle#operation): OPERATING.
* Shutdown (lifecycle#shutdown): CLOSING, CLOSED. There is no shutdown *message* (LC-19): one
  side closes its end of the pipe, which the other sees as end of stream.
* FAILED is ours, not the spec's: an error after which no message can be trusted (a line we
  cannot read on the client side, for instance). It is absorbing, like h11's ERROR.

The diagram below is generated from :data:`TRANSITIONS` by :func:`render` (``python3 -m
mcp_ref states``); tests/test_lifecycle.py fails if the two disagree.

.. code-block:: text

    AWAITING_INITIALIZE   --client: INITIALIZE_REQUEST-->        INITIALIZING          LC-02, LC-03
    INITIALIZING          --server: INITIALIZE_RESULT-->         AWAITING_INITIALIZED  LC-04, LC-10, LC-11
    INITIALIZING          --server: INITIALIZE_ERROR-->          INITIALIZE_REFUSED    LC-20
    INITIALIZE_REFUSED    --client: INITIALIZE_REQUEST-->        INITIALIZING          LC-03
    AWAITING_INITIALIZED  --client: INITIALIZED_NOTIFICATION-->  OPERATING             LC-05
    AWAITING_INITIALIZE   --either: CLOSE-->                     CLOSING               LC-19, TR-13, TR-15
    INITIALIZING          --either: CLOSE-->                     CLOSING               LC-19, TR-13, TR-15
    INITIALIZE_REFUSED    --either: CLOSE-->                     CLOSING               LC-19, TR-13, TR-15
    AWAITING_INITIALIZED  --either: CLOSE-->                     CLOSING               LC-19, TR-13, TR-15
    OPERATING             --either: CLOSE-->                     CLOSING               LC-19, TR-13, TR-15
    CLOSING               --either: CLOSE-->                     CLOSING               LC-19
    CLOSED                --either: CLOSE-->                     CLOSED                LC-19
    AWAITING_INITIALIZE   --either: TRANSPORT_CLOSED-->          CLOSED                TR-15
    INITIALIZING          --either: TRANSPORT_CLOSED-->          CLOSED                TR-15
    INITIALIZE_REFUSED    --either: TRANSPORT_CLOSED-->          CLOSED                TR-15
    AWAITING_INITIALIZED  --either: TRANSPORT_CLOSED-->          CLOSED                TR-15
    OPERATING             --either: TRANSPORT_CLOSED-->          CLOSED                TR-15
    CLOSING               --either: TRANSPORT_CLOSED-->          CLOSED                TR-13, TR-14
    CLOSED                --either: TRANSPORT_CLOSED-->          CLOSED                TR-13
    AWAITING_INITIALIZE   --either: FATAL_ERROR-->               FAILED                (ours)
    INITIALIZING          --either: FATAL_ERROR-->               FAILED                (ours)
    INITIALIZE_REFUSED    --either: FATAL_ERROR-->               FAILED                (ours)
    AWAITING_INITIALIZED  --either: FATAL_ERROR-->               FAILED                (ours)
    OPERATING             --either: FATAL_ERROR-->               FAILED                (ours)
    CLOSING               --either: FATAL_ERROR-->               FAILED                (ours)
    FAILED                --either: CLOSE-->                     FAILED                (ours)
    FAILED                --either: TRANSPORT_CLOSED-->          FAILED                (ours)
    FAILED                --either: FATAL_ERROR-->               FAILED                (ours)
"""

from __future__ import annotations

import enum

from ._record import Record
from .errors import ErrorCode, LocalProtocolError, ProtocolError, RemoteProtocolError
from .spec import spec_url

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    from typing import Dict, FrozenSet, Iterable, List, Optional, Tuple

LIFECYCLE = "basic/lifecycle"


class _Member(enum.Enum):
    """An enum whose members hash by identity.

    Every message is checked against the tables below, whose keys are members of these enums.
    ``Enum.__hash__`` hashes the member's name in Python code; a member is a singleton compared
    by identity, so the built-in identity hash is just as correct, and several times faster
    (decision D-29).
    """

    __hash__ = object.__hash__


class Role(_Member):
    """The two parties of an MCP session (spec: architecture)."""

    #: Starts the server process, sends ``initialize``, closes the session.
    CLIENT = "client"
    #: Answers ``initialize``; reads stdin, writes stdout.
    SERVER = "server"

    @property
    def peer(self) -> "Role":
        return Role.SERVER if self is Role.CLIENT else Role.CLIENT


class State(_Member):
    """Where the session is. Both peers hold the same value after the same exchange."""

    #: Nothing sent yet. ``initialize`` must come first (LC-02).
    AWAITING_INITIALIZE = "awaiting initialize"
    #: ``initialize`` sent, not yet answered. The client sends no request but ping (SHOULD
    #: NOT, LC-06); the server, pings and log messages (LC-07, D-15).
    INITIALIZING = "initializing"
    #: ``initialize`` answered with an error (LC-20). As before it, nothing flows but another
    #: ``initialize`` (D-19) and ping: initialize has been sent, so ping is answered now
    #: (PG-02, PG-03; D-91).
    INITIALIZE_REFUSED = "initialize refused"
    #: ``initialize`` answered; the client owes ``notifications/initialized`` (LC-05). The
    #: server may send only pings and log messages (LC-07).
    AWAITING_INITIALIZED = "awaiting initialized"
    #: The operation phase: requests and notifications both ways, within the negotiated
    #: capabilities (LC-15, LC-16).
    OPERATING = "operating"
    #: One side has closed its end (the client closed the server's stdin, or the server its
    #: stdout). The server may still answer requests already in flight.
    CLOSING = "closing"
    #: The transport is gone; nothing more can be sent or received.
    CLOSED = "closed"
    #: An unrecoverable error ended the session (not a spec state; absorbing).
    FAILED = "failed"


#: The session is ending or over: nothing new may start there (the shell fails such a call
#: with ConnectionClosed, and an answer that cannot go out is nobody's fault).
ENDING = frozenset({State.CLOSING, State.CLOSED, State.FAILED})
#: The protocol version is fixed (LC-15: from the initialize result on) and the session not
#: ending: where a 2025-03-26 session takes batches (BP-16, D-06).
NEGOTIATED = frozenset({State.AWAITING_INITIALIZED, State.OPERATING})


class Input(_Member):
    """What can happen to a session: a message of some kind, or a transport event."""

    INITIALIZE_REQUEST = "initialize request"
    INITIALIZE_RESULT = "initialize result"
    INITIALIZE_ERROR = "initialize error response"
    INITIALIZED_NOTIFICATION = "notifications/initialized"
    #: A ``ping`` request (PG-01). Its response is a RESPONSE.
    PING = "ping request"
    #: Any request other than initialize and ping.
    REQUEST = "request"
    #: A result or error response to any request other than initialize.
    RESPONSE = "response"
    #: Any notification not listed separately.
    NOTIFICATION = "notification"
    CANCELLED = "notifications/cancelled"
    PROGRESS = "notifications/progress"
    LOG_MESSAGE = "notifications/message"
    #: The sender closed its end of the transport (stdin for the client, stdout for the server).
    CLOSE = "close"
    #: The transport is gone for good (the server process has exited).
    TRANSPORT_CLOSED = "transport closed"
    #: An error after which the session cannot continue.
    FATAL_ERROR = "fatal error"


class Transition(Record):
    """One row of the transition table. ``sender`` None means either role.

    A :class:`~mcp_ref._record.Record` rather than a ``typing.NamedTuple``: with string
    annotations (``from __future__ import annotations``), a NamedTuple class compiles each
    field's annotation when it is created, ~1.5 ms of every start-up for this one class
    (decision D-74).
    """

    __slots__ = ("state", "sender", "input", "target", "ids", "url")

    def __init__(self, state: State, sender: Optional[Role], input: Input, target: State,
                 ids: str, url: str) -> None:
        self.state = state
        self.sender = sender
        self.input = input
        self.target = target
        self.ids = ids
        self.url = url


_INIT = spec_url(LIFECYCLE, "initialization")
_SHUTDOWN = spec_url(LIFECYCLE, "shutdown")
_STDIO_SHUTDOWN = spec_url(LIFECYCLE, "stdio")
_ERRORS = spec_url(LIFECYCLE, "error-handling")
_OURS = spec_url(LIFECYCLE)  # FAILED is our own state; the link is to the page it extends

_LIVE = (State.AWAITING_INITIALIZE, State.INITIALIZING, State.INITIALIZE_REFUSED,
         State.AWAITING_INITIALIZED, State.OPERATING)

#: THE transition table: every move that changes (or explicitly keeps) the state.
TRANSITIONS: Tuple[Transition, ...] = (
    # Initialization: the client opens with initialize (LC-02, LC-03) ...
    Transition(State.AWAITING_INITIALIZE, Role.CLIENT, Input.INITIALIZE_REQUEST,
               State.INITIALIZING, "LC-02, LC-03", _INIT),
    # ... the server answers with its version, capabilities and info (LC-04, LC-10, LC-11) ...
    Transition(State.INITIALIZING, Role.SERVER, Input.INITIALIZE_RESULT,
               State.AWAITING_INITIALIZED, "LC-04, LC-10, LC-11", _INIT),
    # ... or refuses it (malformed params); the client may not go on. The spec says nothing
    # of a second attempt; one may be made (our choice, D-19). Unlike before the first,
    # initialize has been sent, so ping is answered meanwhile (PG-03; D-91).
    Transition(State.INITIALIZING, Role.SERVER, Input.INITIALIZE_ERROR,
               State.INITIALIZE_REFUSED, "LC-20", _ERRORS),
    Transition(State.INITIALIZE_REFUSED, Role.CLIENT, Input.INITIALIZE_REQUEST,
               State.INITIALIZING, "LC-03", _INIT),
    # ... and the client confirms with notifications/initialized (LC-05).
    Transition(State.AWAITING_INITIALIZED, Role.CLIENT, Input.INITIALIZED_NOTIFICATION,
               State.OPERATING, "LC-05", _INIT),
    # Shutdown: no message, one side closes its end (LC-19). The client closes stdin first
    # (TR-13); the server may close stdout and exit (TR-15).
    # Either, in any live state: neither page ties them to a phase (D-123).
    *(Transition(s, None, Input.CLOSE, State.CLOSING, "LC-19, TR-13, TR-15", _SHUTDOWN)
      for s in _LIVE),
    Transition(State.CLOSING, None, Input.CLOSE, State.CLOSING, "LC-19", _SHUTDOWN),
    # Closing an end the transport has already closed is a no-op, as in h11 (D-83): a shell
    # that hears of EOF first and then closes its own end is not in error.
    Transition(State.CLOSED, None, Input.CLOSE, State.CLOSED, "LC-19", _SHUTDOWN),
    *(Transition(s, None, Input.TRANSPORT_CLOSED, State.CLOSED, "TR-15", _STDIO_SHUTDOWN)
      for s in _LIVE),
    Transition(State.CLOSING, None, Input.TRANSPORT_CLOSED, State.CLOSED, "TR-13, TR-14",
               _STDIO_SHUTDOWN),
    Transition(State.CLOSED, None, Input.TRANSPORT_CLOSED, State.CLOSED, "TR-13",
               _STDIO_SHUTDOWN),
    # FAILED: ours. Reachable from every state still in use, and absorbing.
    *(Transition(s, None, Input.FATAL_ERROR, State.FAILED, "(ours)", _OURS)
      for s in _LIVE + (State.CLOSING,)),
    *(Transition(State.FAILED, None, i, State.FAILED, "(ours)", _OURS)
      for i in (Input.CLOSE, Input.TRANSPORT_CLOSED, Input.FATAL_ERROR)),
)

#: The table as a lookup: (state, sender, input) -> target. Built once from TRANSITIONS.
_TARGETS: Dict[Tuple[State, Role, Input], State] = {
    (t.state, sender, t.input): t.target
    for t in TRANSITIONS
    for sender in ((t.sender,) if t.sender else tuple(Role))
}

_I = Input
_OPERATION = frozenset({_I.PING, _I.REQUEST, _I.RESPONSE, _I.NOTIFICATION, _I.CANCELLED,
                        _I.PROGRESS})

#: What each role may send in each state without changing it (practice: ping, cancellation and
#: progress are permissions here, not a wall of self-loops in TRANSITIONS).
#:
#: RESPONSE appears in every live state because a request is answered at most once (BP-01:
#: JSON-RPC 2.0 answers every request, one the receiver refuses with an error; BP-08, up to
#: 2025-06-18: with exactly one of result and error), and a cancelled one not at all (CN-05).
ALLOWED: Dict[Tuple[State, Role], FrozenSet[Input]] = {
    # LC-02: initialize is the first interaction; before it nothing else flows.
    (State.AWAITING_INITIALIZE, Role.CLIENT): frozenset({_I.RESPONSE}),
    (State.AWAITING_INITIALIZE, Role.SERVER): frozenset({_I.RESPONSE}),
    # PG-02, PG-03: after a refused initialize, ping too, on both sides (D-91).
    (State.INITIALIZE_REFUSED, Role.CLIENT): frozenset({_I.PING, _I.RESPONSE}),
    (State.INITIALIZE_REFUSED, Role.SERVER): frozenset({_I.PING, _I.RESPONSE}),
    # LC-06: until initialize is answered, the client sends no request but ping. PG-03: ping
    # is exempt from the limits on both sides. The spec limits the client's *requests* only:
    # its notifications flow in both initialization states (D-60), but a log message, which
    # only a server sends (LC-16, D-119). LC-07: the server may log.
    (State.INITIALIZING, Role.CLIENT): frozenset({_I.PING, _I.RESPONSE, _I.CANCELLED,
                                                  _I.NOTIFICATION, _I.PROGRESS}),
    (State.INITIALIZING, Role.SERVER): frozenset({_I.PING, _I.RESPONSE, _I.CANCELLED,
                                                  _I.LOG_MESSAGE}),
    # LC-05: the client sends notifications/initialized, and (the catalogue's reading of the
    # MUST) before any other request but ping.
    # LC-07: until it arrives, the server sends only pings and log messages (D-15).
    (State.AWAITING_INITIALIZED, Role.CLIENT): frozenset({_I.PING, _I.RESPONSE, _I.CANCELLED,
                                                          _I.NOTIFICATION, _I.PROGRESS}),
    (State.AWAITING_INITIALIZED, Role.SERVER): frozenset({_I.PING, _I.RESPONSE, _I.CANCELLED,
                                                          _I.LOG_MESSAGE}),
    # lifecycle#operation: everything, within the negotiated capabilities (checked by the
    # connection, which knows them). Log messages are server-to-client only (catalogue 1.1;
    # a client's is LC-16, D-119).
    (State.OPERATING, Role.CLIENT): _OPERATION,
    (State.OPERATING, Role.SERVER): _OPERATION | {_I.LOG_MESSAGE},
    # Shutdown: the client has closed stdin, so it sends nothing more; the server may still
    # finish work already in flight. No revision says so: it is our choice (D-18, reliability
    # scorecard SC-01), bounded so that the server still exits promptly (TR-14).
    (State.CLOSING, Role.CLIENT): frozenset(),
    (State.CLOSING, Role.SERVER): frozenset({_I.RESPONSE, _I.NOTIFICATION, _I.PROGRESS,
                                             _I.LOG_MESSAGE}),
    (State.CLOSED, Role.CLIENT): frozenset(),
    (State.CLOSED, Role.SERVER): frozenset(),
    (State.FAILED, Role.CLIENT): frozenset(),
    (State.FAILED, Role.SERVER): frozenset(),
}


def _why_illegal(state: State, sender: Role, input: Input) -> Tuple[str, str]:
    """The rule an illegal (state, sender, input) breaks, as (explanation, catalogue IDs);
    the IDs are "" where the rule is mcp_ref's own, named in the explanation (FAILED, D-20)."""
    if state is State.FAILED:
        # Ours, not the spec's: nothing may be sent here, whatever it is, and no catalogue
        # row says so; D-20 does (D-123).
        return ("the session failed, and after the error that ended it no message can be "
                "trusted (D-20, mcp_ref's state, not the spec's)", "")
    if state is State.AWAITING_INITIALIZE:
        return "the session is not initialized: initialize must be the first request", "LC-02"
    if state is State.INITIALIZE_REFUSED:
        return ("the session is not initialized: initialize was refused, and only ping or "
                "another initialize may be sent", "LC-02")
    if input is Input.INITIALIZE_REQUEST and state is State.INITIALIZING:
        return "initialize was sent already and awaits its answer", "LC-02"
    if input is Input.INITIALIZE_REQUEST:
        # Another initialize follows only a refused one (INITIALIZE_REFUSED above; D-19).
        return "the session is already initialized", "LC-02"
    if input is Input.INITIALIZED_NOTIFICATION:
        return "notifications/initialized is sent once, after the initialize response", "LC-05"
    if input is Input.LOG_MESSAGE and sender is Role.CLIENT:
        # LC-16: notifications/message goes server to client (catalogue 1.1). LG-01 binds a
        # server that logs; a client has no logging capability to use at all (D-119).
        return "only a server sends notifications/message", "LC-16"
    if state is State.INITIALIZING and sender is Role.CLIENT:
        return "no request but ping may be sent until the server answers initialize", "LC-06"
    if state is State.INITIALIZING:
        return ("the server sends only ping and log messages until it receives "
                "notifications/initialized", "LC-07")
    if state is State.AWAITING_INITIALIZED and sender is Role.CLIENT:
        return "notifications/initialized must be sent before any other request", "LC-05"
    if state is State.AWAITING_INITIALIZED:
        return ("the server sends only ping and log messages until it receives "
                "notifications/initialized", "LC-07")
    if state is State.CLOSING:
        return "the session is shutting down", "LC-19"
    return f"the session is {state.value}", "LC-19"


class Lifecycle:
    """The session state of one peer, advanced by :meth:`process`.

    ``our_role`` is used for one thing only: deciding whether an illegal input is our mistake
    (LocalProtocolError) or the peer's (RemoteProtocolError).
    """

    def __init__(self, our_role: Role) -> None:
        self.our_role = our_role
        self.state = State.AWAITING_INITIALIZE

    def permits(self, sender: Role, input: Input) -> bool:
        """Would :meth:`process` accept this input now?"""
        return ((self.state, sender, input) in _TARGETS
                or input in ALLOWED[(self.state, sender)])

    def process(self, sender: Role, input: Input) -> State:
        """Apply one input sent by ``sender``; return the new state.

        Raises LocalProtocolError (sender is us) or RemoteProtocolError (sender is the peer)
        if the tables do not permit it; the state is then unchanged.
        """
        target = _TARGETS.get((self.state, sender, input))
        if target is not None:
            self.state = target
            return target
        if input in ALLOWED[(self.state, sender)]:
            return self.state
        raise self.illegal(sender, input)

    def illegal(self, sender: Role, input: Input) -> ProtocolError:
        """The exception for an input the tables do not permit in the current state."""
        why, ids = _why_illegal(self.state, sender, input)
        error_class = LocalProtocolError if sender is self.our_role else RemoteProtocolError
        cited = f" ({ids})" if ids else ""
        return error_class(f"{sender.value} may not send {input.value} now: {why}{cited}",
                           code=ErrorCode.INVALID_REQUEST, catalogue_id=ids)


# --- The diagram, generated from the table --------------------------------------------------


def _edges() -> Iterable[Tuple[str, str, str, str]]:
    for t in TRANSITIONS:
        who = t.sender.value if t.sender else "either"
        yield t.state.name, f"{who}: {t.input.name}", t.target.name, t.ids


def render(fmt: str = "text") -> str:
    """The state diagram of :data:`TRANSITIONS` as ``text``, ``mermaid`` or ``dot``."""
    edges = list(_edges())
    lines: List[str] = []
    if fmt == "text":
        width_state = max(len(a) for a, _, _, _ in edges)
        width_label = max(len(label) for _, label, _, _ in edges) + 5
        width_target = max(len(b) for _, _, b, _ in edges)
        for a, label, b, ids in edges:
            arrow = f"--{label}-->"
            lines.append(f"{a:<{width_state}}  {arrow:<{width_label}}  {b:<{width_target}}  {ids}"
                         .rstrip())
    elif fmt == "mermaid":
        lines.append("stateDiagram-v2")
        lines.append(f"    [*] --> {State.AWAITING_INITIALIZE.name}")
        for a, label, b, ids in edges:
            lines.append(f"    {a} --> {b}: {label} ({ids})")
    elif fmt == "dot":
        lines.append("digraph mcp_lifecycle {")
        lines.append("    rankdir=LR;")
        for a, label, b, ids in edges:
            lines.append(f'    {a} -> {b} [label="{label}\\n{ids}"];')
        lines.append("}")
    else:
        raise ValueError(f"unknown diagram format {fmt!r}: use text, mermaid or dot")
    return "\n".join(lines) + "\n"
