"""The reliability scorecard: one command, one table (shared/research/reliability-bank.md, (d)).

    python3 tests/scorecard.py            # every scenario
    python3 tests/scorecard.py -k sc04    # some of them (a pytest -k expression)

It runs the scenario tests with pytest, in this process, with a small plugin that measures
each test from setup to teardown: wall time, peak RSS of the test process (VmHWM, reset
before each test), and the change in open fds, threads and child processes. Each test also
checks I1-I7 itself (tests/rawpipe.py); a violated invariant fails the test, so it shows here
as FAIL. Then it prints one row per test, grouped by scenario, and one verdict per scenario.

A scenario's tests are the ``test_scNN_*`` tests of :data:`SCENARIO_FILES`, plus the earlier
tests listed in :data:`REFERENCES` that already prove its criteria. Standard library and pytest
only; Linux.
"""

import os
import re
import sys
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]      # mcp_ref itself, and the test helpers

import rawpipe  # noqa: E402

#: (priority, short title) per scenario, from the research bank.
SCENARIOS = {
    "SC-01": ("P0", "server at stdin EOF (idle, calls in flight)"),
    "SC-02": ("P0", "client close(): stdin -> TERM -> KILL ladder"),
    "SC-03": ("P0", "exception / Ctrl-C during connect and calls"),
    "SC-04": ("P0", "server dies at start, after init, mid-call"),
    "SC-05": ("P0", "stderr flood"),
    "SC-06": ("P0", "server wire purity"),
    "SC-07": ("P0", "framing torture, both directions"),
    "SC-08": ("P0", "garbage input to the server (and fuzzing)"),
    "SC-09": ("P0", "large messages, max+1"),
    "SC-10": ("P0", "bidirectional flood"),
    "SC-11": ("P0", "timeouts"),
    "SC-12": ("P0", "cancellation"),
    "SC-13": ("P0", "handshake ordering and versions"),
    "SC-14": ("P0", "ids"),
    "SC-15": ("P1", "progress"),
    "SC-16": ("P1", "concurrency"),
    "SC-17": ("P1", "server->client requests during a call"),
    "SC-18": ("P1", "malformed response envelopes"),
    "SC-19": ("P1", "signals to the server"),
    "SC-20": ("P1", "host Ctrl-C in a pty"),
    "SC-21": ("P1", "spawn environment"),
    "SC-22": ("P1", "notification flood"),
    "SC-23": ("P1", "lockstep ping / no-flush server"),
    "SC-24": ("P1", "100 connect/close cycles"),
    "SC-25": ("P2", "parent death without EOF (watchdog)"),
    "SC-26": ("P2", "restart supervisor"),
    "SC-27": ("P2", "keepalive"),
    "SC-28": ("P2", "embedded server"),
    "SC-29": ("P2", "transcript"),
}

E2E = "tests/test_end_to_end.py::"
TCP = "tests/test_timeouts_cancel_progress.py::"

#: Tests written before the scorecard that prove (part of) a scenario's criteria.
REFERENCES = {
    "SC-02": [E2E + "test_shutdown_ladder_takes_each_rung_only_when_needed"],
    "SC-04": [E2E + "test_server_killed_mid_request_fails_pending_calls_fast",
              E2E + "test_server_dying_reports_exit_code_and_stderr"],
    "SC-06": [E2E + "test_stray_output_in_a_handler_never_reaches_the_client"],
    "SC-11": [TCP + "test_timeout_fires_at_its_deadline_with_exactly_one_cancel",
              TCP + "test_session_default_timeout_and_per_request_override",
              TCP + "test_slow_initialize_beyond_the_handshake_timeout_is_never_cancelled",
              TCP + "test_slow_initialize_within_the_handshake_timeout_succeeds",
              TCP + "test_late_response_after_a_timeout_is_dropped_and_the_session_stays_usable"],
    "SC-12": [TCP + "test_cancel_from_another_thread_reaches_the_handler_at_once",
              TCP + "test_cancelled_slow_tool_gets_no_response_and_no_more_progress_on_the_wire",
              TCP + "test_cancel_for_an_unknown_finished_or_malformed_id_produces_no_output",
              TCP + "test_a_thousand_cancels_racing_completion_never_give_two_responses",
              TCP + "test_a_thousand_client_cancels_racing_completion_each_end_in_one_outcome"],
    "SC-13": [E2E + "test_unsupported_version_is_a_typed_error_and_the_child_is_reaped",
              E2E + "test_unsupported_version_sends_no_initialized",
              E2E + "test_handshake_at_each_version"],
    "SC-15": [TCP + "test_progress_tokens_round_trip_exactly_through_the_client",
              TCP + "test_progress_tokens_are_echoed_with_type_and_value_on_the_wire",
              TCP + "test_progress_resets_the_timeout",
              TCP + "test_progress_never_extends_a_call_past_its_maximum_total",
              TCP + "test_reset_on_progress_always_has_a_maximum_total",
              TCP + "test_progress_after_the_response_and_for_unknown_tokens_is_dropped_silently",
              TCP + "test_context_progress_refuses_non_increasing_values_and_goes_quiet_when_done"],
    "SC-16": [TCP + "test_ping_is_answered_promptly_while_every_worker_is_busy",
              TCP + "test_out_of_order_completion_is_matched_to_each_caller",
              TCP + "test_a_full_pool_answers_the_overflow_request_at_once"],
    "SC-17": [TCP + "test_client_answers_server_ping_and_unknown_request_during_a_call"],
    "SC-19": [E2E + "test_signal_gives_a_clean_exit_without_traceback_or_half_line"],
    "SC-24": [E2E + "test_fifty_open_close_cycles_leave_nothing_behind"],
    "SC-27": [TCP + "test_keepalive_closes_the_session_when_pings_go_unanswered",
              TCP + "test_keepalive_counts_method_not_found_as_alive",
              TCP + "test_keepalive_does_not_kill_a_server_busy_in_a_slow_tool"],
    "SC-29": ["tests/test_transcript.py::test_sc29_trace_with_a_secret_in_the_arguments"],
}

SCENARIO_FILES = ["tests/test_reliability.py", "tests/test_supervisor.py", "tests/test_fuzz.py"]


def scenario_of(nodeid: str) -> Optional[str]:
    """The SC id a test belongs to: from its name (test_scNN_...) or from REFERENCES."""
    match = re.search(r"::test_sc(\d\d)_", nodeid)
    if match:
        return f"SC-{match.group(1)}"
    base = nodeid.split("[")[0]
    for scenario, nodeids in REFERENCES.items():
        if base in nodeids:
            return scenario
    return None


class Measure:
    """The pytest plugin: per test, from the start of setup to the end of teardown."""

    def __init__(self) -> None:
        self.rows: List[Dict[str, Any]] = []

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: Any, nextitem: Any) -> Any:
        fds, threads = rawpipe.fd_count(), threading.active_count()
        children = len(rawpipe.our_children())
        rawpipe.reset_peak_rss()
        rss = rawpipe.proc_status(os.getpid(), "VmRSS") or 0
        started = time.monotonic()
        self._outcome = "passed"
        yield
        peak = rawpipe.proc_status(os.getpid(), "VmHWM") or 0
        self.rows.append({
            "nodeid": item.nodeid, "scenario": scenario_of(item.nodeid),
            "outcome": self._outcome, "seconds": time.monotonic() - started,
            "peak_rss": peak / rawpipe.MIB, "rss_growth": max(0, peak - rss) / rawpipe.MIB,
            "fds": rawpipe.fd_count() - fds, "threads": threading.active_count() - threads,
            "procs": len(rawpipe.our_children()) - children})

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.failed:
            self._outcome = "FAIL"
        elif report.skipped and self._outcome == "passed":
            self._outcome = "skipped"


def table(rows: List[Dict[str, Any]]) -> str:
    """One row per test. peak: the test process's peak RSS during the test (MiB); +grow: how
    far that peak rose above the RSS at its start; dfd, dthr, dproc: open fds, threads and
    child processes after the test minus before it."""
    out = [f"{'SC':5} {'P':2} {'result':7} {'time':>7} {'peak':>6} {'+grow':>6} {'dfd':>4} "
           f"{'dthr':>4} {'dproc':>5}  test"]
    by_scenario: Dict[str, List[Dict[str, Any]]] = {}
    for row in rows:
        by_scenario.setdefault(row["scenario"] or "-", []).append(row)
    for scenario in sorted(by_scenario, key=lambda s: (s == "-", s)):   # helpers last
        priority = SCENARIOS.get(scenario, ("", ""))[0]
        for row in by_scenario[scenario]:
            name = row["nodeid"].replace("tests/", "")
            out.append(f"{scenario:5} {priority:2} {row['outcome']:7} {row['seconds']:6.2f}s "
                       f"{row['peak_rss']:6.0f} {row['rss_growth']:6.0f} {row['fds']:+4d} "
                       f"{row['threads']:+4d} {row['procs']:+5d}  {name}")
    return "\n".join(out)


def verdicts(rows: List[Dict[str, Any]]) -> Tuple[str, bool]:
    lines = ["", f"{'SC':5} {'P':2} {'verdict':8} {'tests':>5} {'time':>7}  scenario"]
    ok = True
    for scenario, (priority, title) in SCENARIOS.items():
        mine = [r for r in rows if r["scenario"] == scenario]
        if not mine:
            verdict = "not run" if priority != "P2" else "n/a (P2)"
            if priority != "P2":
                ok = False
        elif all(r["outcome"] == "passed" for r in mine):
            verdict = "PASS"
        else:
            verdict = "FAIL"
            ok = False
        seconds = sum(r["seconds"] for r in mine)
        lines.append(f"{scenario:5} {priority:2} {verdict:8} {len(mine):5d} {seconds:6.1f}s  "
                     f"{title}")
    return "\n".join(lines), ok


def main(argv: List[str]) -> int:
    os.chdir(os.path.dirname(HERE))
    nodeids = SCENARIO_FILES + [n for ns in REFERENCES.values() for n in ns]
    measure = Measure()
    started = time.monotonic()
    code = pytest.main(["-q", "-p", "no:cacheprovider", *argv, *nodeids], plugins=[measure])
    print()
    print(table(measure.rows))
    text, ok = verdicts(measure.rows)
    print(text)
    print(f"\n{len(measure.rows)} tests, {time.monotonic() - started:.1f} s; "
          f"{'every P0/P1 scenario passes' if ok else 'NOT every P0/P1 scenario passes'}")
    return 0 if ok and code in (0, 5) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
