"""The lifecycle state machine (mcp_ref/lifecycle.py), checked exhaustively.

Every (state, sender, input) triple is tried for both of our roles. The expected outcome comes
from a table written out by hand below, from the spec's lifecycle page and catalogue section 1.5,
*not* from lifecycle.TRANSITIONS / ALLOWED: a test that re-reads the table under test proves
nothing about the table. Separate tests then check that the module's own tables agree with it.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle
"""

import itertools
import re
from pathlib import Path

import pytest

from mcp_ref import lifecycle
from mcp_ref.errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from mcp_ref.lifecycle import ALLOWED, TRANSITIONS, Input, Lifecycle, Role, State, render

S, I = State, Input
C, SV = Role.CLIENT, Role.SERVER

# --- The expected machine, written out by hand ----------------------------------------------

#: Transport events any live state accepts from either side (LC-19: shutdown is a transport
#: close, no message; TR-15: the server may end it; FAILED is ours, D-20).
_SHUTDOWN = {I.CLOSE: S.CLOSING, I.TRANSPORT_CLOSED: S.CLOSED, I.FATAL_ERROR: S.FAILED}


def _stay(state, *inputs):
    return {i: state for i in inputs}


#: EXPECTED[(state, sender)] = {input: state after it}. Anything missing is illegal.
EXPECTED = {
    # LC-02: initialize is the first interaction. Before it only the client's initialize, and
    # the error answers to requests that came too early (BP-01: JSON-RPC 2.0 answers every
    # request).
    (S.AWAITING_INITIALIZE, C): {I.INITIALIZE_REQUEST: S.INITIALIZING,
                                 **_stay(S.AWAITING_INITIALIZE, I.RESPONSE), **_SHUTDOWN},
    (S.AWAITING_INITIALIZE, SV): {**_stay(S.AWAITING_INITIALIZE, I.RESPONSE), **_SHUTDOWN},
    # LC-06: while initialize is pending the client sends no request but ping (and may cancel
    # it). LC-06 and LC-05 limit requests only: notifications flow (D-60).
    (S.INITIALIZING, C): {**_stay(S.INITIALIZING, I.PING, I.RESPONSE, I.CANCELLED,
                                  I.NOTIFICATION, I.PROGRESS),
                          **_SHUTDOWN},
    # LC-04 / LC-20: the server answers initialize with a result or an error; LC-07, PG-03:
    # meanwhile only pings and log messages.
    (S.INITIALIZING, SV): {I.INITIALIZE_RESULT: S.AWAITING_INITIALIZED,
                           I.INITIALIZE_ERROR: S.INITIALIZE_REFUSED,
                           **_stay(S.INITIALIZING, I.PING, I.RESPONSE, I.CANCELLED,
                                   I.LOG_MESSAGE),
                           **_SHUTDOWN},
    # LC-20, D-19: after a refused initialize, another may be sent; nothing else flows but
    # ping, which is answered once initialize has been sent (PG-02, PG-03; D-91).
    (S.INITIALIZE_REFUSED, C): {I.INITIALIZE_REQUEST: S.INITIALIZING,
                                **_stay(S.INITIALIZE_REFUSED, I.PING, I.RESPONSE), **_SHUTDOWN},
    (S.INITIALIZE_REFUSED, SV): {**_stay(S.INITIALIZE_REFUSED, I.PING, I.RESPONSE),
                                 **_SHUTDOWN},
    # LC-05: the client confirms with notifications/initialized before any other request.
    (S.AWAITING_INITIALIZED, C): {I.INITIALIZED_NOTIFICATION: S.OPERATING,
                                  **_stay(S.AWAITING_INITIALIZED, I.PING, I.RESPONSE,
                                          I.CANCELLED, I.NOTIFICATION, I.PROGRESS),
                                  **_SHUTDOWN},
    # LC-07 (D-15): until then the server sends only pings and log messages.
    (S.AWAITING_INITIALIZED, SV): {**_stay(S.AWAITING_INITIALIZED, I.PING, I.RESPONSE,
                                           I.CANCELLED, I.LOG_MESSAGE),
                                   **_SHUTDOWN},
    # lifecycle#operation: everything; log messages only from the server (LC-16, D-119).
    (S.OPERATING, C): {**_stay(S.OPERATING, I.PING, I.REQUEST, I.RESPONSE, I.NOTIFICATION,
                               I.CANCELLED, I.PROGRESS),
                       **_SHUTDOWN},
    (S.OPERATING, SV): {**_stay(S.OPERATING, I.PING, I.REQUEST, I.RESPONSE, I.NOTIFICATION,
                                I.CANCELLED, I.PROGRESS, I.LOG_MESSAGE),
                        **_SHUTDOWN},
    # Shutdown: the client's end is closed, it sends nothing; the server finishes its
    # in-flight work (TR-14). Closing twice is harmless.
    (S.CLOSING, C): {**_SHUTDOWN, I.CLOSE: S.CLOSING},
    (S.CLOSING, SV): {**_stay(S.CLOSING, I.RESPONSE, I.NOTIFICATION, I.PROGRESS,
                              I.LOG_MESSAGE),
                      **_SHUTDOWN, I.CLOSE: S.CLOSING},
    # CLOSED: the transport is gone; only its (repeated) report, and closing our end, which
    # is a no-op (D-83).
    (S.CLOSED, C): {I.CLOSE: S.CLOSED, I.TRANSPORT_CLOSED: S.CLOSED},
    (S.CLOSED, SV): {I.CLOSE: S.CLOSED, I.TRANSPORT_CLOSED: S.CLOSED},
    # FAILED is absorbing (D-20).
    (S.FAILED, C): _stay(S.FAILED, I.CLOSE, I.TRANSPORT_CLOSED, I.FATAL_ERROR),
    (S.FAILED, SV): _stay(S.FAILED, I.CLOSE, I.TRANSPORT_CLOSED, I.FATAL_ERROR),
}

ALL_TRIPLES = list(itertools.product(State, Role, Input))


def _machine(our_role, state):
    machine = Lifecycle(our_role)
    machine.state = state
    return machine


def _case_id(value):
    return value.name if hasattr(value, "name") else str(value)


# --- Every triple, both roles -----------------------------------------------------------------


@pytest.mark.spec("LC-01", "LC-02", "LC-05", "LC-06", "LC-07", "LC-19", "PG-03")
@pytest.mark.parametrize("our_role", list(Role), ids=_case_id)
@pytest.mark.parametrize("state,sender,input", ALL_TRIPLES, ids=_case_id)
def test_every_triple(our_role, state, sender, input):
    machine = _machine(our_role, state)
    expected = EXPECTED[(state, sender)]
    if input in expected:
        assert machine.permits(sender, input)
        assert machine.process(sender, input) is expected[input]
        assert machine.state is expected[input]
        return
    assert not machine.permits(sender, input)
    error_class = LocalProtocolError if sender is our_role else RemoteProtocolError
    other_class = RemoteProtocolError if sender is our_role else LocalProtocolError
    with pytest.raises(error_class) as info:
        machine.process(sender, input)
    assert not isinstance(info.value, other_class)
    assert machine.state is state, "an illegal input must leave the state unchanged"
    assert info.value.code == ErrorCode.INVALID_REQUEST     # D-05: -32600 when answered
    if state is S.FAILED:       # ours, not the spec's: no catalogue row, its D- entry (D-123)
        assert info.value.catalogue_id == "" and "(D-20" in str(info.value)
        return
    assert re.fullmatch(r"[A-Z]{2}-\d{2}", info.value.catalogue_id), info.value.catalogue_id
    assert info.value.catalogue_id in str(info.value)


def test_the_hand_written_table_covers_every_state_and_role():
    assert set(EXPECTED) == set(itertools.product(State, Role))


def test_module_tables_agree_with_the_hand_written_table():
    """TRANSITIONS and ALLOWED, read as data, describe exactly the expected machine."""
    derived = {key: {} for key in itertools.product(State, Role)}
    for t in TRANSITIONS:
        for sender in ((t.sender,) if t.sender else tuple(Role)):
            assert t.input not in derived[(t.state, sender)], f"duplicate row {t}"
            derived[(t.state, sender)][t.input] = t.target
    for (state, sender), inputs in ALLOWED.items():
        for i in inputs:
            assert i not in derived[(state, sender)], (
                f"{state.name}/{sender.value}/{i.name} is both a transition and a permission")
            derived[(state, sender)][i] = state
    assert derived == EXPECTED


def test_allowed_has_an_entry_for_every_state_and_role():
    assert set(ALLOWED) == set(itertools.product(State, Role))


# --- Key states, spelled out from the spec --------------------------------------------------


def _legal(state, sender):
    return {i for i in Input if _machine(Role.CLIENT, state).permits(sender, i)}


_TRANSPORT = {I.CLOSE, I.TRANSPORT_CLOSED, I.FATAL_ERROR}


@pytest.mark.spec("LC-02", "LC-03")
def test_before_initialize_only_the_clients_initialize_flows():
    assert _legal(S.AWAITING_INITIALIZE, C) == {I.INITIALIZE_REQUEST, I.RESPONSE} | _TRANSPORT
    # Not even a log message or a ping from the server before initialize (catalogue 1.5).
    assert _legal(S.AWAITING_INITIALIZE, SV) == {I.RESPONSE} | _TRANSPORT


@pytest.mark.spec("LC-06", "PG-03", "CN-03")
def test_while_initializing_the_client_sends_no_request_but_ping():
    # LC-06 limits requests; a client's notifications are not limited in either
    # initialization state (D-60), while a server's are (LC-07, D-15).
    assert _legal(S.INITIALIZING, C) == {I.PING, I.RESPONSE, I.CANCELLED, I.NOTIFICATION,
                                         I.PROGRESS} | _TRANSPORT
    assert I.REQUEST not in _legal(S.INITIALIZING, C)
    assert I.REQUEST not in _legal(S.AWAITING_INITIALIZED, C)
    assert I.NOTIFICATION in _legal(S.AWAITING_INITIALIZED, C)


@pytest.mark.spec("LC-07", "PG-03", "LG-01")
def test_before_initialized_the_server_sends_only_pings_and_logs():
    for state in (S.INITIALIZING, S.AWAITING_INITIALIZED):
        legal = _legal(state, SV)
        assert {I.PING, I.LOG_MESSAGE, I.RESPONSE} <= legal
        assert I.REQUEST not in legal and I.NOTIFICATION not in legal
        assert I.PROGRESS not in legal


@pytest.mark.spec("LC-05")
def test_initialized_is_sent_once_by_the_client_only():
    where = [(t.state, t.sender) for t in TRANSITIONS if t.input is I.INITIALIZED_NOTIFICATION]
    assert where == [(S.AWAITING_INITIALIZED, C)]
    machine = _machine(Role.SERVER, S.AWAITING_INITIALIZED)
    machine.process(C, I.INITIALIZED_NOTIFICATION)
    with pytest.raises(RemoteProtocolError) as info:
        machine.process(C, I.INITIALIZED_NOTIFICATION)          # a second one
    assert info.value.catalogue_id == "LC-05"
    assert machine.state is S.OPERATING


@pytest.mark.spec("LC-16", "LC-02")
def test_only_the_server_logs():
    """A client's notifications/message breaks LC-16 once initialize is sent (the method goes
    server to client, catalogue 1.1), LC-02 before; not LG-01, which binds a server (D-119).
    In FAILED nothing may be sent, which is D-20's rule, no catalogue row (D-123)."""
    for state in State:
        assert I.LOG_MESSAGE not in _legal(state, C)
        machine = _machine(Role.SERVER, state)
        with pytest.raises(RemoteProtocolError) as info:
            machine.process(C, I.LOG_MESSAGE)
        assert info.value.catalogue_id == (
            "LC-02" if state in (S.AWAITING_INITIALIZE, S.INITIALIZE_REFUSED)
            else "" if state is S.FAILED else "LC-16"), state     # FAILED: D-20's (D-123)
    for state in (S.CLOSED, S.FAILED):     # a server's, after the end: LC-19, or D-20's
        with pytest.raises(LocalProtocolError) as info:
            _machine(Role.SERVER, state).process(SV, I.LOG_MESSAGE)
        assert info.value.catalogue_id == ("LC-19" if state is S.CLOSED else ""), state


@pytest.mark.spec("LC-02")
def test_a_fresh_machine_awaits_initialize():
    assert Lifecycle(Role.CLIENT).state is S.AWAITING_INITIALIZE
    assert Lifecycle(Role.SERVER).state is S.AWAITING_INITIALIZE


@pytest.mark.spec("LC-02", "LC-03", "LC-04", "LC-05")
def test_the_happy_path_walks_to_operating_on_both_sides():
    for our_role in Role:
        machine = Lifecycle(our_role)
        assert machine.process(C, I.INITIALIZE_REQUEST) is S.INITIALIZING
        assert machine.process(SV, I.INITIALIZE_RESULT) is S.AWAITING_INITIALIZED
        assert machine.process(C, I.INITIALIZED_NOTIFICATION) is S.OPERATING
        assert machine.process(C, I.CLOSE) is S.CLOSING
        assert machine.process(SV, I.RESPONSE) is S.CLOSING        # TR-14: finish in flight
        assert machine.process(C, I.TRANSPORT_CLOSED) is S.CLOSED


@pytest.mark.spec("LC-20", "PG-02", "PG-03")
def test_an_initialize_error_allows_a_new_attempt_and_ping():
    """D-19: another initialize may follow a refused one. D-91: meanwhile ping is answered,
    as it is while initialize is pending (PG-03: once initialize has been sent); it went back
    to AWAITING_INITIALIZE, where ping was refused as if initialize had never been sent."""
    machine = Lifecycle(Role.CLIENT)
    machine.process(C, I.INITIALIZE_REQUEST)
    assert machine.process(SV, I.INITIALIZE_ERROR) is S.INITIALIZE_REFUSED
    assert machine.process(C, I.PING) is S.INITIALIZE_REFUSED
    assert not machine.permits(C, I.REQUEST)
    assert machine.process(C, I.INITIALIZE_REQUEST) is S.INITIALIZING


@pytest.mark.spec("LC-02")
def test_a_second_initialize_is_refused_with_the_state_it_meets():
    """D-115: while the first initialize awaits its answer the session is not 'already
    initialized', and D-19 lets another follow a refused one, so no 'only once' either. The
    message is the peer's -32600 on the wire, so it must say what is true."""
    machine = Lifecycle(Role.SERVER)
    machine.process(C, I.INITIALIZE_REQUEST)
    pending = machine.illegal(C, I.INITIALIZE_REQUEST)
    assert pending.message == ("client may not send initialize request now: initialize was "
                               "sent already and awaits its answer (LC-02)")
    machine.process(SV, I.INITIALIZE_RESULT)
    done = machine.illegal(C, I.INITIALIZE_REQUEST)
    assert done.message == ("client may not send initialize request now: the session is "
                            "already initialized (LC-02)")
    assert pending.catalogue_id == done.catalogue_id == "LC-02"


@pytest.mark.spec("LC-19", "TR-13", "TR-15")
def test_closing_cites_both_sides_rules_in_every_live_state():
    """D-123: CLOSE is either side closing its end: the client closing stdin (TR-13's first
    step) or the server closing stdout (TR-15). Neither page limits either to a phase (2024-11-05
    and 2025-11-25 lifecycle § Shutdown › stdio), so every live state's row cites both, as
    TRANSPORT_CLOSED cites TR-15 in every one; CLOSE cited TR-15 from OPERATING only."""
    live = {S.AWAITING_INITIALIZE, S.INITIALIZING, S.INITIALIZE_REFUSED,
            S.AWAITING_INITIALIZED, S.OPERATING}
    rows = {t.state: t.ids for t in TRANSITIONS if t.input is I.CLOSE and t.state in live}
    assert rows == {state: "LC-19, TR-13, TR-15" for state in live}


def test_a_failed_session_refuses_by_its_own_entry_not_a_catalogue_row():
    """D-123: FAILED is mcp_ref's state (D-20), which no revision defines, so what it refuses
    breaks no catalogue row: the exception carries no catalogue ID and its message names D-20.
    It said LC-19 ("the session is failed"), a row on closing the transport."""
    for sender in Role:
        error = _machine(Role.CLIENT, S.FAILED).illegal(sender, I.REQUEST)
        assert error.catalogue_id == ""
        assert error.message == (f"{sender.value} may not send request now: the session "
                                 "failed, and after the error that ended it no message can be "
                                 "trusted (D-20, mcp_ref's state, not the spec's)")


# --- FAILED is absorbing --------------------------------------------------------------------


def test_failed_is_absorbing():
    for our_role, sender, input in itertools.product(Role, Role, Input):
        machine = _machine(our_role, S.FAILED)
        try:
            machine.process(sender, input)
        except (LocalProtocolError, RemoteProtocolError):
            pass
        assert machine.state is S.FAILED
    assert all(t.target is S.FAILED for t in TRANSITIONS if t.state is S.FAILED)


def test_failed_is_reachable_from_every_state_still_in_use():
    for state in (S.AWAITING_INITIALIZE, S.INITIALIZING, S.AWAITING_INITIALIZED, S.OPERATING,
                  S.CLOSING):
        for sender in Role:
            machine = _machine(Role.CLIENT, state)
            assert machine.process(sender, I.FATAL_ERROR) is S.FAILED


def test_every_state_is_reachable_from_the_start():
    seen, frontier = {S.AWAITING_INITIALIZE}, [S.AWAITING_INITIALIZE]
    while frontier:
        state = frontier.pop()
        for t in TRANSITIONS:
            if t.state is state and t.target not in seen:
                seen.add(t.target)
                frontier.append(t.target)
    assert seen == set(State)


# --- The diagram --------------------------------------------------------------------------


def _docstring_diagram():
    doc = lifecycle.__doc__
    block = doc.split(".. code-block:: text", 1)[1]
    lines = []
    for raw in block.splitlines()[1:]:
        if not raw.strip():
            if lines:
                break
            continue
        if not raw.startswith("    "):
            break
        lines.append(raw.strip())
    return lines


def _strip(text):
    return [ln.strip() for ln in text.strip().splitlines()]


def test_docstring_diagram_equals_render_text():
    assert _docstring_diagram() == _strip(render("text"))


def _fenced(markdown, language):
    match = re.search(r"```" + language + r"\n(.*?)```", markdown, re.S)
    assert match, f"no ```{language} block"
    return match.group(1)


def test_spec_notes_diagrams_equal_render():
    """spec_notes/lifecycle.md says a test checks its diagrams against the table: this one."""
    path = Path(__file__).resolve().parent.parent / "spec_notes" / "lifecycle.md"
    if not path.exists():
        pytest.skip("spec_notes/lifecycle.md not present")
    text = path.read_text(encoding="utf-8")
    assert _strip(_fenced(text, "text")) == _strip(render("text"))
    assert _strip(_fenced(text, "mermaid")) == _strip(render("mermaid"))


def _who(t):
    return t.sender.value if t.sender else "either"


def test_render_text_has_one_line_per_edge_in_table_order():
    lines = _strip(render("text"))
    assert len(lines) == len(TRANSITIONS)
    for text_line, t in zip(lines, TRANSITIONS):
        columns = re.split(r"\s{2,}", text_line)
        assert columns == [t.state.name, f"--{_who(t)}: {t.input.name}-->", t.target.name,
                           t.ids]


def test_render_mermaid_contains_every_edge():
    text = render("mermaid")
    assert text.startswith("stateDiagram-v2\n")
    assert "[*] --> AWAITING_INITIALIZE" in text
    for t in TRANSITIONS:
        edge = f"{t.state.name} --> {t.target.name}: {_who(t)}: {t.input.name} ({t.ids})"
        assert edge in text.splitlines() or f"    {edge}" in text.splitlines(), edge


def test_render_dot_contains_every_edge():
    text = render("dot")
    assert text.startswith("digraph ") and text.rstrip().endswith("}")
    for t in TRANSITIONS:
        edge = f'{t.state.name} -> {t.target.name} [label="{_who(t)}: {t.input.name}\\n{t.ids}"];'
        assert f"    {edge}" in text.splitlines(), edge


def test_render_rejects_unknown_formats():
    with pytest.raises(ValueError):
        render("svg")


# --- Traceability of the table -----------------------------------------------------------


def _catalogue_ids():
    path = Path("/work/shared/spec/catalogue.md")
    for candidate in (Path(__file__).resolve().parents[2] / "shared" / "spec" / "catalogue.md",
                      path):
        if candidate.exists():
            return set(re.findall(r"^\| ([A-Z]{2}-\d{2}) \|", candidate.read_text("utf-8"),
                                  re.M))
    return None


def test_every_edge_names_its_rule():
    known = _catalogue_ids()
    for t in TRANSITIONS:
        assert t.ids.strip(), f"edge {t} has no ids"
        assert t.url.startswith("https://modelcontextprotocol.io/specification/2025-11-25/")
        if t.ids == "(ours)":
            continue
        for rule in t.ids.split(", "):
            assert re.fullmatch(r"[A-Z]{2}-\d{2}", rule), rule
            if known is not None:
                assert rule in known, f"{rule} is not a catalogue row"
