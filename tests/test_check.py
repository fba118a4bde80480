"""The differential battery (mcp_ref/check.py) against mcp_ref's own server and a zoo of
servers that each break exactly one rule (tests/fixtures/broken_servers.py).

What is proved:

* mcp_ref's reference server passes every check; the only n.a. is justified (it sends the
  client no requests, so there are no server request ids to judge);
* the fixture's well-behaved baseline (mode ``none``) passes every check;
* each broken mode is caught by the check for its rule -- ``fail`` for a MUST, ``warn`` for a
  SHOULD -- and by no other: the whole map of non-passing checks is compared;
* the command line: ``--json`` output shape, exit status 1 only when a MUST failed, 2 for a
  missing or unstartable command.

A battery takes 5-10 s (its slow-tool and cancel windows are real time), so all of them run
once, in parallel threads, in a module fixture; the tests then read the results.
"""

import concurrent.futures
import io
import json
import os
import re
import subprocess
import sys
import time
import types

import pytest

from mcp_ref import check

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BROKEN = os.path.join(ROOT, "tests", "fixtures", "broken_servers.py")
SERVE = [sys.executable, "-m", "mcp_ref", "serve"]

#: For each fixture mode, every check that does not pass, and its outcome.
EXPECTED = {
    "none": {},
    "no-counter-offer": {"counter-offer-future": "fail", "counter-offer-past": "fail",
                         "counter-offer-newest": "n.a."},
    "error-on-unknown-version": {"counter-offer-future": "fail", "counter-offer-past": "fail",
                                 "counter-offer-newest": "n.a."},
    "no-pre-init-gating": {"pre-init-gating": "warn"},
    "replies-to-notification": {"no-reply-to-notifications": "fail"},
    "stdout-banner": {"stdout-purity": "fail"},
    "ignores-cancel": {"cancel-honoured": "warn"},
    "non-increasing-progress": {"progress-increases": "fail"},
    "progress-after-response": {"progress-stops": "fail"},
    "progress-long-after-response": {"progress-stops": "fail"},   # passed a 0.2 s window
    "ignores-eof": {"exit-on-eof": "warn"},
    "id-type-coercion": {"id-types": "fail"},
    "wrong-ping-result": {"ping-before-initialized": "fail", "ping-operating": "fail",
                          "ping-during-call": "fail"},
    "no-parse-error": {"parse-error": "fail"},
    "tools-without-input-schema": {"tool-schemas": "fail",
                                   "bad-arguments": "n.a."},      # no schema to refuse by
    "reuses-request-id": {"server-request-ids": "fail"},
    "crlf-line-endings": {"stdout-purity": "warn"},       # A8: the spec is silent (D-08)
    "echo-takes-message": {},          # echo's only string argument is found without options
    # The review of 2026-12-06 found these judged wrongly:
    "older-revisions-only": {"init-echo-2025-11-25": "n.a.",      # a counter-offer: LC-11
                             "tool-names": "n.a."},               # TL-07 is 2025-11-25's
    "log-while-exiting": {},           # valid output while exiting was "not inspected": fail
    "late-chatter": {"silent-before-initialize": "fail"},         # after the quiet window
    "stringifies-integer-ids": {"id-types": "fail"},              # and BP-13 was blamed too
    "error-without-message": {"unknown-method": "fail"},          # BP-10 went unchecked
    # LC-07 and LC-16 were recorded but not judged until session 15 (D-56). roots/list before
    # initialized breaks both: the battery declares no client capabilities.
    "requests-before-initialized": {"requests-wait-for-initialized": "warn",
                                    "capabilities-respected": "fail"},
    "samples-without-capability": {"capabilities-respected": "fail"},
    "undeclared-list-changed": {"capabilities-respected": "fail"},
    "logs-without-capability": {"capabilities-respected": "fail", "bad-log-level": "n.a."},
    # Nothing broken: the last progress and the response in one write. The battery read only
    # the first frame, cancelled an answered call (its own CN-02 breach) and passed it.
    "answers-with-last-progress": {"cancel-honoured": "n.a."},
    # CN-08 staged: a cancel that arrives after the response; then invalid cancels (D-67).
    "dies-on-late-cancel": {"cancel-after-response": "fail", "invalid-cancels-ignored": "n.a."},
    "answers-late-cancel": {"cancel-after-response": "fail",      # and the never-used id:
                            "invalid-cancels-ignored": "fail"},   # unknown, like an answered one
    "answers-invalid-cancel": {"invalid-cancels-ignored": "fail"},
    "dies-on-invalid-cancel": {"invalid-cancels-ignored": "warn"},
    # Catalogue black-box tests of invalid params (D-68).
    "bad-tool-names": {"tool-names": "warn"},
    "unknown-tool-is-result": {"unknown-tool": "warn"},
    "accepts-bad-arguments": {"bad-arguments": "fail"},
    "bad-arguments-as-error": {"bad-arguments": "warn"},
    "cursor-internal-error": {"invalid-cursor": "warn"},
    # D-120: a success for an unknown tool was failed, naming no MUST (ER-02, TL-11 have no
    # keyword); any result for a cursor never issued passed as "the first page".
    "unknown-tool-is-success": {"unknown-tool": "warn"},
    "cursor-empty-page": {"invalid-cursor": "warn"},
    "paginated": {},                   # the first page again, nextCursor and all: passes
    "any-log-level": {"bad-log-level": "warn"},
    # Found in check review: a server without tools got a warning for -32601 (ER-01's answer
    # for a method not available; 2026-07-28's schema spells it out, ER-11).
    "no-tools": {"tool-schemas": "n.a.", "tool-names": "n.a.", "unknown-tool": "n.a.",
                 "bad-arguments": "n.a.", "invalid-cursor": "n.a.", "echo-round-trip": "n.a.",
                 "ping-during-call": "n.a.", **{k: "n.a." for k in check._PROGRESS_KEYS},
                 "cancel-honoured": "n.a.", "alive-after-cancel": "n.a."},
    # Found in check review: bad-arguments failed arguments the echo tool's schema allows.
    "echo-text-optional": {},          # {} is valid; only the number is refused
    "echo-takes-no-arguments": {"bad-arguments": "n.a.", "echo-round-trip": "n.a."},
    # Found in check review: these three crashed check with a traceback instead of a verdict.
    "capabilities-not-an-object": {"init-echo-2025-11-25": "fail",       # LC-04
                                   "capability-honesty": "warn", "unknown-tool": "n.a.",
                                   "invalid-cursor": "n.a.", "bad-log-level": "n.a."},
    "content-not-a-list": {"echo-round-trip": "fail"},
    "huge-number-in-meta": {},
    # Found in check review: echo-round-trip failed an echo tool for refusing a call that
    # lacked its other required argument.
    "echo-requires-times": {"bad-arguments": "n.a.", "echo-round-trip": "n.a."},
    # D-100: a server that gets to the cancel late (a loaded machine) honoured it; the
    # progress it sent before reading it arrived more than CANCEL_GRACE after the cancel.
    "reads-cancel-late": {},
}

#: Modes whose warning comes from a weaker rule inside a MUST check (``check.warned``).
WEAKER_RULE_WARNS = {"crlf-line-endings", "dies-on-invalid-cancel", "unknown-tool-is-result",
                     "unknown-tool-is-success",
                     "bad-arguments-as-error", "capabilities-not-an-object"}

#: The reference server: nothing but one justified n.a.
REFERENCE_EXPECTED = {"server-request-ids": "n.a."}

#: Modes run through the command line instead of run_battery (same results, more coverage).
CLI_JSON_MODE = "ignores-cancel"       # warn only: exit 0
CLI_TABLE_MODE = "id-type-coercion"    # a MUST fails: exit 1


def broken(mode):
    return [sys.executable, BROKEN, mode]


def _battery(argv):
    results = check.run_battery(argv, check.Options(cwd=ROOT))
    return {"results": [r.to_json() for r in results]}


def _cli_json(mode):
    """``python3 -m mcp_ref.check --json -- CMD``, as a real process."""
    proc = subprocess.run([sys.executable, "-m", "mcp_ref.check", "--json", "--"] + broken(mode),
                          cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return {"results": json.loads(proc.stdout.decode("utf-8")), "status": proc.returncode,
            "stderr": proc.stderr.decode("utf-8", "replace")}


def _cli_table(mode):
    """check.main() in-process, printing the table to a buffer."""
    out = io.StringIO()
    status = check.main(["--timeout", "5", "--"] + broken(mode), out=out)
    return {"table": out.getvalue(), "status": status}


@pytest.fixture(scope="module")
def batteries():
    """Every battery, run once in parallel: {name: future}."""
    jobs = {"reference": (_battery, SERVE)}
    for mode in EXPECTED:
        if mode == CLI_JSON_MODE:
            jobs[mode] = (_cli_json, mode)
        elif mode == CLI_TABLE_MODE:
            jobs[mode] = (_cli_table, mode)
        else:
            jobs[mode] = (_battery, broken(mode))
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=5)
    futures = {name: pool.submit(fn, arg) for name, (fn, arg) in jobs.items()}
    yield futures
    pool.shutdown(wait=True)


def _get(batteries, name):
    return batteries[name].result(timeout=120)


def _not_passing(results):
    return {r["key"]: r["outcome"] for r in results if r["outcome"] != "pass"}


def _outcomes_from_table(table):
    """{title: outcome} read back from the table (the CLI's human output)."""
    titles = {c.title: c.key for c in check.CHECKS}
    outcomes = {}
    for line in table.splitlines()[1:]:
        for title, key in titles.items():
            if f"  {title}  " in line:
                outcomes[key] = line.split()[0]
    return outcomes


# --- The reference server ---------------------------------------------------------------


def test_reference_server_passes_everything(batteries):
    results = _get(batteries, "reference")["results"]
    assert _not_passing(results) == REFERENCE_EXPECTED, json.dumps(
        [r for r in results if r["outcome"] != "pass"], indent=1)
    assert len(results) == len(check.CHECKS)


# --- The zoo ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [m for m in EXPECTED if m not in (CLI_JSON_MODE,
                                                                    CLI_TABLE_MODE)])
def test_each_violation_is_caught_by_its_check_only(batteries, mode):
    results = _get(batteries, mode)["results"]
    assert _not_passing(results) == EXPECTED[mode], json.dumps(
        [r for r in results if r["outcome"] != "pass"], indent=1)


def test_a_server_that_never_answers_initialize_gets_every_check_once():
    """A server that prints a banner and exits answers no initialize: each check still has
    exactly one result (tool-names went missing from the report; README review), the groups
    after the negotiation's among them, said not run (D-126)."""
    results = check.run_battery([sys.executable, "-c", "print('banner')"],
                                check.Options(timeout=5.0))
    assert [r.check.key for r in results] == [c.key for c in check.CHECKS]
    assert {r.check.key: r.outcome for r in results}["tool-names"] == "n.a."


#: The first group's checks: the version negotiation (D-126).
NEGOTIATION = {f"init-echo-{v}" for v in check.KNOWN_VERSIONS} | {
    "counter-offer-future", "counter-offer-past", "counter-offer-newest"}
#: The checks judged over every process that ran, whatever groups ran (D-126).
WHOLE_RUN = {"server-request-ids", "requests-wait-for-initialized", "capabilities-respected",
             "stdout-purity"}


@pytest.mark.spec("LC-10", "LC-04")
def test_a_silent_server_costs_one_wait_and_the_later_groups_are_said_not_run():
    """A "server" that reads nothing and answers nothing: the negotiation's six probes wait
    --timeout + STARTUP_ALLOWANCE at once, and then nothing more is spawned (D-126). Before,
    each of six later processes waited as long again, one after another: about 127 s with
    --timeout 1, where now the run takes about 19 s; the 45 s deadline tells them apart. The
    negotiation's MUSTs fail (no answer to initialize), so the exit status is 1."""
    silent = [sys.executable, "-c", "import time; time.sleep(60)"]
    proc = subprocess.Popen([sys.executable, "-m", "mcp_ref", "check", "--json", "--timeout",
                             "1", "--"] + silent, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        stdout, stderr = proc.communicate(timeout=45)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate(timeout=10)
        pytest.fail("check against a silent server ran past 45 s")
    assert proc.returncode == 1 and stderr == b"", stderr.decode(errors="replace")
    results = {r["key"]: r for r in json.loads(stdout.decode("utf-8"))}
    assert list(results) == [c.key for c in check.CHECKS]
    why = ("not run: the server answered no initialize within 16 s (--timeout 1 s + 15 s "
           "for start-up)")
    later = set(results) - NEGOTIATION - WHOLE_RUN
    assert {key: (results[key]["outcome"], results[key]["summary"]) for key in later} == {
        key: ("n.a.", why) for key in later}
    assert results[f"init-echo-{check.spec.PROTOCOL_VERSION}"]["summary"] == (
        "no answer to initialize")
    assert {key: results[key]["outcome"] for key in NEGOTIATION} == {
        **{key: "fail" for key in NEGOTIATION}, "counter-offer-newest": "n.a."}
    # Judged over the probes' processes, as for any server: nothing came, nothing to fault.
    assert results["stdout-purity"]["outcome"] == "pass"
    assert all(results[key]["summary"] != why for key in WHOLE_RUN)


def test_expected_outcomes_follow_the_levels():
    """A broken MUST fails, a broken SHOULD warns: the expectations agree with CHECKS."""
    for mode, expected in EXPECTED.items():
        for key, outcome in expected.items():
            level = check.BY_KEY[key].level
            if outcome == "fail":
                assert level.startswith("MUST"), (mode, key)
            elif outcome == "warn" and mode not in WEAKER_RULE_WARNS:
                assert level.startswith("SHOULD"), (mode, key)


@pytest.mark.spec("PR-13")
def test_progress_after_response_is_written_even_if_stdin_closes_at_once():
    """The mode progress-after-response must break PR-13 whenever the battery looks, also when
    stdin EOF comes before its slow call is done: the battery closes stdin as soon as it has
    the response, and the call's thread still had the late progress to write. The fixture
    exited at EOF, killing that thread, so under load the progress was never written and
    progress-stops passed (a flaky test, D-97). Now it finishes its calls first: this sends
    EOF with the call in flight, so the old fixture lost the race every time."""
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "t", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "slow", "arguments": {"seconds": 0.2, "steps": 2},
            "_meta": {"progressToken": "t"}}}]
    out = subprocess.run(broken("progress-after-response"), timeout=30, stdout=subprocess.PIPE,
                         input="".join(json.dumps(m) + "\n" for m in messages).encode())
    frames = [json.loads(line) for line in out.stdout.splitlines()]
    answered = [i for i, f in enumerate(frames) if f.get("id") == 2]
    assert answered, frames                          # the call was finished, not dropped
    late = [f for f in frames[answered[0]:] if f.get("method") == "notifications/progress"]
    assert len(late) == 1, frames                    # and its progress after the response


def test_every_mode_of_the_fixture_is_tested():
    out = subprocess.run([sys.executable, BROKEN, "no-such-mode"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    assert out.returncode == 2
    listed = out.stderr.decode().split("modes: ")[1].strip().split(", ")
    assert set(listed) == set(EXPECTED)


# --- The command line --------------------------------------------------------------------


def test_json_output_shape_and_warn_only_exit_status(batteries):
    run = _get(batteries, CLI_JSON_MODE)
    assert run["status"] == 0, run["stderr"]          # a SHOULD broken: warn, not failure
    results = run["results"]
    assert isinstance(results, list) and len(results) == len(check.CHECKS)
    for item in results:
        assert set(item) == {"key", "ids", "level", "title", "url", "outcome", "summary",
                             "evidence"}
        assert item["outcome"] in ("pass", "fail", "warn", "n.a.")
        assert item["level"] in ("MUST", "MUST NOT", "SHOULD", "SHOULD NOT", "MAY")
        assert item["ids"] and all(isinstance(i, str) for i in item["ids"])
        assert item["url"].startswith("https://modelcontextprotocol.io/specification/2025-11-25/")
        assert isinstance(item["evidence"], list)
    assert [r["key"] for r in results] == [c.key for c in check.CHECKS]
    assert _not_passing(results) == EXPECTED[CLI_JSON_MODE]


def test_table_output_and_failing_exit_status(batteries):
    run = _get(batteries, CLI_TABLE_MODE)
    assert run["status"] == 1                         # a MUST failed
    header = run["table"].splitlines()[0].split()
    assert header == ["outcome", "ID(s)", "level", "check", "evidence"]
    outcomes = _outcomes_from_table(run["table"])
    assert {k: o for k, o in outcomes.items() if o != "pass"} == EXPECTED[CLI_TABLE_MODE]
    assert "a MUST failed" in run["table"].splitlines()[-1]


def test_no_command_is_a_usage_error(capsys):
    assert check.main([]) == 2
    assert check.main(["--json", "--"]) == 2
    said = capsys.readouterr().err.splitlines()           # as argparse's own (D-130)
    assert said[0].startswith("usage: python3 -m mcp_ref check [-h]")
    assert said[-1] == "python3 -m mcp_ref check: error: check needs a server command after --"


@pytest.mark.parametrize("options", [check.Options(timeout=float("inf")),
                                     check.Options(timeout=float("nan")),
                                     check.Options(timeout=1e10),
                                     check.Options(slow_args=[1, 2])])
def test_options_the_battery_cannot_run_with_are_refused_before_any_spawn(options):
    # The program does not exist: a check made after the spawn would raise SpawnError.
    with pytest.raises(ValueError, match="must be"):
        check.run_battery([os.path.join(ROOT, "no", "such", "server")], options)


def test_the_slow_tool_announces_at_most_a_day():
    # seconds = 1e300 is finite JSON; added to a deadline it overflowed the clock.
    assert check._seconds({"seconds": 1e300}) == check.LONGEST_WAIT
    assert check._seconds({"seconds": -4}) == 0.0
    assert check._seconds({"seconds": True}) == 0.0
    assert check._seconds({"duration": 2}) == 0.0


def test_a_command_that_cannot_start_is_reported(capsys):
    assert check.main(["--", os.path.join(ROOT, "no", "such", "server")]) == 2
    assert "not found" in capsys.readouterr().err


# --- Pieces ---------------------------------------------------------------------------------


@pytest.mark.spec("TR-06")
@pytest.mark.parametrize("line, problem", [
    (b'{"jsonrpc":"2.0","id":1,"result":{}}', ""),
    (b'{"jsonrpc":"2.0","method":"notifications/progress"}', ""),
    (b'{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}', ""),
    (b'{"jsonrpc":"2.0","id":1,"result":{}}\r', ""),           # a warning, not a break (A8)
    (b'not json\r', "not UTF-8 JSON"),
    (b"", "blank line"),
    (b"   ", "blank line"),
    (b"Server starting...", "not UTF-8 JSON"),
    (b"\xff\xfe", "not UTF-8 JSON"),
    (b"[1]", "not a JSON object"),
    (b'{"id":1,"result":{}}', 'no "jsonrpc": "2.0"'),
    (b'{"jsonrpc":"2.0","id":1}', "neither a request, a notification nor a response"),
])
def test_impurity_of_one_line(line, problem):
    assert check._impurity(line) == problem


@pytest.mark.spec("TR-06")
def test_a_line_nested_past_our_limit_is_not_judged_impure():
    """D-51, D-127: a server line nesting deeper than MAX_NESTING is not read, but JSON lets a
    reader limit nesting (RFC 8259 section 9) and MCP sets no limit, so the server broke no
    rule: stdout-purity warns that it was not judged, as for output it could not inspect,
    and does not fail (it failed, "not UTF-8 JSON"). A line that is no JSON still fails.
    https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio"""
    from types import SimpleNamespace
    from mcp_ref.framing import MAX_NESTING
    deep = (b'{"jsonrpc":"2.0","id":1,"result":{"a":'
            + b"[" * MAX_NESTING + b"]" * MAX_NESTING + b"}}")
    assert check._impurity(deep) == check.TOO_DEEP_TO_JUDGE

    def wire(raw):
        return SimpleNamespace(raw=raw, label="process 1", shutdown=None)
    ok = b'{"jsonrpc":"2.0","id":0,"result":{}}\n'
    result = check._stdout_purity([wire(ok + deep + b"\n")])
    assert result.outcome == "warn", result
    assert f"1 of 2 line(s) nest arrays and objects more than {MAX_NESTING} deep" in result.summary
    assert "D-51" in result.summary
    assert check._stdout_purity([wire(ok + deep + b"\n" + b"junk\n")]).outcome == "fail"


def test_a_broken_must_fails_and_a_broken_should_warns():
    assert check.broken("id-types", "x").outcome == "fail"
    assert check.broken("stdout-purity", "x").outcome == "fail"        # MUST NOT
    assert check.broken("exit-on-eof", "x").outcome == "warn"          # SHOULD
    assert check.exit_status([check.broken("exit-on-eof", "x")]) == 0
    assert check.exit_status([check.broken("id-types", "x")]) == 1


def test_every_check_cites_the_catalogue_and_the_versioned_spec():
    for c in check.CHECKS:
        assert c.ids and all(len(i) == 5 and i[2] == "-" for i in c.ids), c
        assert c.url.startswith(check.spec.SPEC_BASE + "/"), c
    assert len({c.key for c in check.CHECKS}) == len(check.CHECKS)


def _catalogue_rows():
    """The catalogue's section 2 by ID, read as tests/traceability.py reads it (skipped where
    the catalogue is not beside the repository, as test_traceability is)."""
    import traceability
    path = traceability.catalogue_path()
    if not path.is_file():
        pytest.skip(f"the catalogue is not at {path} (set {traceability.CATALOGUE_ENV})")
    return traceability.load_catalogue(path)


def test_every_id_a_check_prints_is_a_rule_a_legacy_server_can_break():
    """D-118: the IDs of a row are what a tester reads as "the rule this server broke". Each
    must hold in a revision the battery speaks (2024-11-05..2025-11-25: catalogue V1-V4),
    bind the server (S, both, or the framing T; not a rule of the client's, nor of the
    requester of progress, which in the battery is always the battery), and a MUST row must
    cite a MUST. Before: capability-honesty cited ER-11 (a 2026-07-28 schema row),
    cancel-honoured CN-23 (2026-07-28's stdio page), exit-on-eof TR-13 (the client's
    shutdown ladder), progress-token PR-01 and PR-02 (the requester's token)."""
    rows = _catalogue_rows()
    wrong = []
    for c in check.CHECKS:
        for catalogue_id in c.ids:
            row = rows[catalogue_id]
            if not row.handshake_era:
                wrong.append((c.key, catalogue_id, f"holds in {row.ver} only"))
            if row.binds.split()[0] not in ("S", "both", "T") or "(requester)" in row.binds:
                wrong.append((c.key, catalogue_id, f"binds {row.binds}"))
        if c.level.startswith("MUST") and not any(rows[i].is_must for i in c.ids):
            wrong.append((c.key, c.level, "cites no MUST row"))
    assert not wrong, wrong


@pytest.mark.spec("ER-12", "PN-06", "PN-03")
def test_a_result_for_an_invalid_cursor_passes_only_as_the_first_page():
    """ER-12/PN-06 ask -32602 for a cursor never issued; the catalogue's test accepts the
    first page too (PN-03: the cursor ignored). Before D-120 any result passed as "the first
    page": an empty page, a later one, one without a tools array. Now a result passes only
    if it lists the tools tools/list without a cursor listed (in any order) and has a
    nextCursor exactly when that page had one; otherwise the SHOULD row warns."""
    def tools(*names):
        return [{"name": n, "inputSchema": {"type": "object"}} for n in names]

    first = {"tools": tools("echo", "slow")}
    assert check._not_the_first_page({"tools": tools("echo", "slow")}, first) is None
    assert check._not_the_first_page({"tools": tools("slow", "echo")}, first) is None
    for later in ({"tools": []}, {"tools": tools("extra")}, {"tools": tools("echo")},
                  {"tools": tools("echo", "slow", "extra")}, {}, {"tools": {"echo": {}}}, 5,
                  {"tools": tools("echo", "slow"), "nextCursor": "more"}):
        assert check._not_the_first_page(later, first), later
    paged = {"tools": tools("echo", "slow"), "nextCursor": "page-2"}
    assert check._not_the_first_page({"tools": tools("echo", "slow"),     # a new cursor
                                      "nextCursor": "other"}, paged) is None
    assert check._not_the_first_page({"tools": tools("echo", "slow")}, paged)
    # Judged through the row, with the first page the session listed (a stub wire).
    listing = check.Frame({"jsonrpc": "2.0", "id": "tools-list", "result": first}, 0.0, 0)

    def judged(answer, first_listing=listing):
        stub = types.SimpleNamespace()
        frame = check.Frame(dict({"jsonrpc": "2.0", "id": "cursor-1"}, **answer), 0.0, 1)
        stub.mark = lambda: 0
        stub.send = lambda request: None
        stub.response = lambda request_id, since: frame
        return check._check_invalid_cursor(stub, {"tools": {}}, first_listing).outcome
    assert judged({"result": {"tools": tools("slow", "echo")}}) == "pass"
    assert judged({"result": {"tools": []}}) == "warn"                 # SHOULD: never fail
    assert judged({"error": {"code": -32602, "message": "bad cursor"}}) == "pass"
    assert judged({"error": {"code": -32603, "message": "oops"}}) == "warn"
    assert judged({"result": first}, first_listing=None) == "n.a."      # nothing to compare
    assert judged({"error": {"code": -32602, "message": "bad cursor"}},
                  first_listing=None) == "pass"


@pytest.mark.spec("PR-05")
def test_progress_increases_only_with_every_value_a_number():
    """PR-05: each progress value exceeds the one before. A value that is missing, a boolean
    or a string is no number, and fails the check whatever surrounds it (D-106: the
    comparison reads the numbers only once every value is one)."""
    def judged(*values):
        frames = [check.Frame({"jsonrpc": "2.0", "method": check.spec.PROGRESS,
                               "params": {"progressToken": "t", "progress": v}}, float(i), i)
                  for i, v in enumerate(values)]
        return check._check_increasing(frames, "t").outcome
    assert judged(1, 2.5, 3) == "pass"
    assert judged(1, 1) == "fail"
    for odd in (None, True, "2"):
        assert judged(1, odd, 3) == "fail", odd
    assert judged() == "n.a."


# --- LC-07 and LC-16 on recorded sessions (D-56) ---------------------------------------------


def _session(version, capabilities, *values, initialized_after=None):
    """A stand-in for a finished Wire: what the two whole-run checks read of one process."""
    frames = [check.Frame(v, float(i), i) for i, v in enumerate(values)]
    return types.SimpleNamespace(label="probe", version=version, frames=frames,
                                 server_capabilities=capabilities,
                                 initialized_mark=initialized_after)


_ROOTS = {"jsonrpc": "2.0", "id": 1, "method": "roots/list"}
_PING = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
_LOG = {"jsonrpc": "2.0", "method": "notifications/message",
        "params": {"level": "info", "data": "x"}}
_LIST_CHANGED = {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}


@pytest.mark.spec("LC-07")
def test_only_ping_and_logs_come_before_initialized():
    logs_and_ping = _session("2025-11-25", {"logging": {}}, _LOG, _PING)
    assert check._early_requests([logs_and_ping]).outcome == "pass"
    early = _session("2025-11-25", {}, _ROOTS, initialized_after=1)
    late = _session("2025-11-25", {}, _PING, _ROOTS, initialized_after=1)
    assert check._early_requests([early]).outcome == "warn"          # SHOULD NOT
    assert check._early_requests([late]).outcome == "pass"
    assert check._early_requests([_session(None, {}, _ROOTS)]).outcome == "n.a."


@pytest.mark.spec("LC-16", "LG-01")
@pytest.mark.parametrize("version, capabilities, message, outcome", [
    ("2025-11-25", {}, _ROOTS, "fail"),                    # the battery declared no roots
    ("2025-06-18", {}, _ROOTS, "fail"),                    # a MUST from 2025-06-18 (V3)
    ("2025-03-26", {}, _ROOTS, "warn"),                    # a SHOULD in V1 and V2
    ("2024-11-05", {}, _ROOTS, "warn"),
    ("2099-01-01", {}, _ROOTS, "fail"),                    # unknown: the pinned revision's rule
    ("2025-11-25", {}, _PING, "pass"),                     # ping needs no capability
    ("2025-11-25", {"tools": {}}, _LIST_CHANGED, "fail"),
    ("2025-03-26", {"tools": {}}, _LIST_CHANGED, "warn"),
    ("2025-11-25", {"tools": {"listChanged": True}}, _LIST_CHANGED, "pass"),
    ("2024-11-05", {"tools": {}}, _LOG, "fail"),           # LG-01 is a MUST in every revision
    ("2024-11-05", {"logging": {}}, _LOG, "pass"),
    ("2025-11-25", {}, {"jsonrpc": "2.0", "method": "notifications/elicitation/complete",
                        "params": {"elicitationId": "e"}}, "fail"),
    ("2025-11-25", {}, {"jsonrpc": "2.0", "method": "notifications/progress",
                        "params": {"progressToken": 1, "progress": 1}}, "pass"),
])
def test_server_messages_stay_inside_the_negotiated_capabilities(version, capabilities,
                                                                  message, outcome):
    result = check._capabilities_respected([_session(version, capabilities, message)])
    assert result.outcome == outcome, result


def test_capability_breaches_in_a_strict_revision_outweigh_the_lenient_ones():
    lenient = _session("2024-11-05", {}, _ROOTS)
    strict = _session("2025-11-25", {}, _ROOTS)
    result = check._capabilities_respected([lenient, strict])
    assert result.outcome == "fail" and len(result.evidence) == 2
    assert check._capabilities_respected([_session(None, {}, _ROOTS)]).outcome == "n.a."


# --- Found in check review ---------------------------------------------------------------


@pytest.mark.spec("TL-07")
def test_tool_names_are_judged_in_linear_time():
    # 50 000 names: the uniqueness test counted each name in the whole list, about 30 s here
    # (a 64 MiB tools/list line holds a million names: hours); linear, a fraction of a
    # second. The one duplicate is still found.
    names = [f"tool_{i}" for i in range(50_000)] + ["tool_7"]
    listing = check.Frame({"jsonrpc": "2.0", "id": "tools-list", "result": {"tools": [
        {"name": n, "inputSchema": {"type": "object"}} for n in names]}}, 0.0, 0)
    started = time.monotonic()
    result = check._check_tool_names(listing, "2025-11-25")
    assert time.monotonic() - started < 5.0
    assert result.outcome == "warn" and '"tool_7"' in result.summary


def test_every_catalogue_id_a_result_names_is_one_its_check_cites(batteries):
    """A result that explains itself by a catalogue row must be counted under that row: the
    older init-echo checks counted a counter-offer (LC-11) under LC-10 alone."""
    pattern = re.compile(r"(?<!see )\b(?:LC|TR|BP|PG|CN|PR|TO|TL|ER|PN|LG)-\d\d\b")
    uncited = set()
    for name in batteries:
        report = _get(batteries, name)
        for result in report.get("results", ()):             # the table mode has none
            for named in pattern.findall(result["summary"]):
                if named not in result["ids"]:
                    uncited.add((result["key"], named))
    assert not uncited, sorted(uncited)


def test_the_readme_table_cites_what_each_check_cites():
    """The README's scorecard gives each check's catalogue IDs and level: they are CHECKS'."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        rows = [line.split("|")[1:4] for line in f if line.startswith("| ")]
    listed = {cells[0].strip(): (cells[1].strip(), cells[2].strip())
              for cells in rows if cells[0].strip() in check.BY_KEY}
    assert set(listed) == set(check.BY_KEY)
    for key, (ids, level) in listed.items():
        assert (ids, level) == (", ".join(check.BY_KEY[key].ids), check.BY_KEY[key].level), key


def test_the_report_escapes_what_the_server_sent_that_does_not_print():
    """``check -v`` and ``check --json`` against a server that sends C1 CSI, DEL and a lone
    surrogate in its capabilities and serverInfo, ESC, CR and a backspace in a tool's name
    (``scripted_server.py terminal-escapes``). Before, both ended in a UnicodeEncodeError
    traceback (the lone surrogate; D-110's **Left alone**), and the rest went to the terminal
    as sent. Now each frame in the evidence is JSON with JSON's ``\\u`` escapes, as inspect
    prints it, and means the same frame; the output is printable ASCII (D-111)."""
    fixture = [sys.executable, os.path.join(ROOT, "tests", "fixtures", "scripted_server.py"),
               "terminal-escapes"]
    runs = [subprocess.Popen([sys.executable, "-m", "mcp_ref", "check", option, "--"] + fixture,
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for option in ("-v", "--json")]
    outputs = []
    for proc in runs:
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 1 and stderr == b"", stderr.decode(errors="replace")
        assert all(32 <= byte < 127 or byte == 10 for byte in stdout), stdout
        outputs.append(stdout.decode("ascii"))
    table, report = outputs
    assert ('        capabilities: {"tools":{},"logging":{},"experimental":'
            '{"\\u009b1A":{"x":"\\ud800"}},"prompts":{}}') in table.splitlines()
    assert '        name: "safe\\u001b[2K\\rrm_rf"' in table.splitlines()
    honesty = {r["key"]: r for r in json.loads(report)}["capability-honesty"]
    capabilities = honesty["evidence"][0]
    assert capabilities.startswith("capabilities: ")
    assert json.loads(capabilities[len("capabilities: "):])["experimental"] == {
        "\x9b1A": {"x": "\ud800"}}


def test_a_summary_quoting_the_server_is_escaped_in_the_table_and_in_json(monkeypatch):
    """A summary quotes the server as text: ``serverInfo NAME VERSION`` (LC-04), a version it
    counter-offered. With ESC, a C1 control, a newline or a lone surrogate in them, the table
    row went to the terminal as sent (the newline writing a row of the server's own) and
    ``--json`` wrote them as they are or failed to encode. Now the row shows Python's escapes,
    as inspect does for a name, and ``--json`` JSON's, reading back as the same text (D-111)."""
    summary = "echoed 2025-11-25; serverInfo \x1b[2Jx\x9b\nfail  LC-99 \ud800 0"
    evidence = ["stderr: \x07\x7f"]
    monkeypatch.setattr(check, "run_battery", lambda command, options: [
        check.passed("init-echo-" + check.spec.PROTOCOL_VERSION, summary, evidence)])
    table, report = io.StringIO(), io.StringIO()
    assert check.main(["-v", "--", "server"], out=table) == 0
    assert check.main(["--json", "--", "server"], out=report) == 0
    rows = table.getvalue().splitlines()
    assert len(rows) == 5 and rows[1].endswith(
        "  echoed 2025-11-25; serverInfo \\x1b[2Jx\\x9b\\nfail  LC-99 \\ud800 0")
    assert rows[2] == "        stderr: \\x07\\x7f"
    assert all(c.isprintable() and c.isascii() for c in report.getvalue().replace("\n", ""))
    [read] = json.loads(report.getvalue())
    assert read["summary"] == summary and read["evidence"] == evidence
