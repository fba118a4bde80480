"""The command line: demo, states, inspect, call (with Ctrl-C), --trace transcripts and diff."""

import json
import os
import select
import signal
import subprocess
import sys
import threading

import pytest
from helpers import signal_installed_outside_python

from mcp_ref.lifecycle import render
from mcp_ref.transcript import diff, load

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MCP_REF = [sys.executable, "-m", "mcp_ref"]
SERVE = MCP_REF + ["serve"]


def run(args, timeout=60, **kwargs):
    return subprocess.run(MCP_REF + args, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, **kwargs)


@pytest.mark.spec("LC-01", "LC-02", "LC-05", "TR-13", "TR-14")
def test_demo_runs_the_whole_lifecycle_from_any_directory(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    done = subprocess.run(MCP_REF + ["demo", "--fast"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=90, env=env)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for step in ("Initialization", "Ping", "progress", "cancelled by the user", "times out",
                 "tool error", "Shutdown", "demo finished"):
        assert step in out, step
    assert "steps taken: close_stdin;" in out and "Traceback" not in done.stderr


def test_states_prints_the_generated_diagram():
    for fmt in ("text", "mermaid", "dot"):
        done = run(["states", "--format", fmt])
        assert done.returncode == 0 and done.stdout == render(fmt)


def test_inspect_shows_what_the_server_offers(tmp_path):
    trace = tmp_path / "inspect.jsonl"
    done = run(["inspect", "--trace", str(trace), "--"] + SERVE)
    assert done.returncode == 0, done.stderr
    assert "mcp_ref-reference" in done.stdout and "protocol version: 2025-11-25" in done.stdout
    assert "  echo" in done.stdout and "mcp-ref://about" in done.stdout and "greet" in done.stdout
    records = load(str(trace))
    assert records[0]["event"] == "spawn" and records[-1]["event"] == "close"
    methods = [r["msg"].get("method") for r in records if r.get("dir") == "send"]
    assert methods[:2] == ["initialize", "notifications/initialized"]


@pytest.mark.spec("BP-01")
def test_inspect_lists_everything_the_server_offers_and_says_every_listing_that_fails():
    """A server declaring tools, resources and prompts whose tools/list is answered with a
    JSON-RPC error and prompts/list with a page without its ``prompts`` (BP-01, D-122).
    Before, inspect stopped at the first failure, so the resources were never listed, and it
    never asked for resource templates (D-107's **Left alone**). Now every declared listing
    is asked for, resources/templates/list among them (behind ``resources``, in every
    revision); each failure is one line on stderr in D-110's format, the others are printed,
    and the exit status is 1. A server gone ends the listing at once: said once (D-111)."""
    fixture = [sys.executable, os.path.join(ROOT, "tests", "fixtures", "scripted_server.py")]
    done = run(["inspect", "--"] + fixture + ["listings"])
    assert done.returncode == 1
    assert done.stdout.splitlines()[3:] == ["resources (1):",
                                            "  file:///a  -- The file a.",
                                            "resource templates (1):",
                                            "  file:///{path}  -- Any file."]
    assert done.stderr.splitlines() == [
        "mcp_ref: PeerError: [-32603] the tools are down",
        "mcp_ref: RemoteProtocolError: prompts/list answered a page without 'prompts', the "
        "array the schema requires"]
    # On one stream (a terminal, ``2>&1``), each failure is said where its listing would be,
    # stdout block-buffered as it is in a pipe.
    both = subprocess.run(MCP_REF + ["inspect", "--"] + fixture + ["listings"], cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60,
                          env=dict(os.environ, PYTHONUNBUFFERED=""))
    assert both.stdout.splitlines()[3:] == (done.stderr.splitlines()[:1]
                                            + done.stdout.splitlines()[3:]
                                            + done.stderr.splitlines()[1:])
    done = run(["inspect", "--"] + fixture + ["listings-die"])
    assert done.returncode == 1 and len(done.stdout.splitlines()) == 3
    assert done.stderr.count("mcp_ref:") == 1
    assert done.stderr.startswith("mcp_ref: ConnectionClosed: the server closed its stdout")
    # The reference server has no templates: its empty listing is shown as such.
    done = run(["inspect", "--"] + SERVE)
    assert done.returncode == 0 and "resource templates (0):\nprompts (2):" in done.stdout


@pytest.mark.parametrize("unbuffered", [False, True], ids=["flushed-at-the-end", "each-line"])
def test_a_reader_that_went_away_ends_the_command_quietly_and_the_server_is_shut_down(
        tmp_path, unbuffered):
    """``python3 -m mcp_ref inspect -- CMD | head -3``: once the reader of our stdout has
    gone, the next write fails (EPIPE). The command ends as a Unix tool does, with 128 +
    SIGPIPE and no traceback, and the server it spawned was shut down first: the transcript
    ends with the close, and the process is gone. Unbuffered, the first line already fails,
    inside the client's ``with`` block; buffered, the failure comes at the final flush."""
    trace = tmp_path / "inspect.jsonl"
    env = dict(os.environ, PYTHONUNBUFFERED="1" if unbuffered else "")
    read_end, write_end = os.pipe()
    os.close(read_end)                  # gone before the first line is written
    try:
        done = subprocess.run(MCP_REF + ["inspect", "--trace", str(trace), "--"] + SERVE,
                              cwd=ROOT, stdout=write_end, stderr=subprocess.PIPE, text=True,
                              timeout=60, env=env)
    finally:
        os.close(write_end)
    assert done.returncode == 128 + signal.SIGPIPE, done.stderr
    assert "Traceback" not in done.stderr and "Broken pipe" not in done.stderr, done.stderr
    records = load(str(trace))
    assert records[-1]["event"] == "close" and records[-1]["exit_code"] == 0
    assert _gone(records[0]["pid"])


@pytest.mark.spec("ER-03")
def test_call_prints_the_result_and_exits_by_outcome():
    done = run(["call", "--"] + SERVE + ["echo", json.dumps({"text": "héllo"})])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["content"][0]["text"] == "héllo"
    failed = run(["call", "--"] + SERVE + ["fail", '{"message": "no"}'])
    assert failed.returncode == 1 and json.loads(failed.stdout)["isError"] is True
    unknown = run(["call", "--"] + SERVE + ["nope", "{}"])
    assert unknown.returncode == 1 and "-32602" in unknown.stderr
    bad = run(["call", "--"] + SERVE + ["echo", "[1]"])
    assert bad.returncode == 2 and "JSON object" in bad.stderr


@pytest.mark.spec("TL-08")
def test_call_refuses_a_result_the_schema_refuses():
    """D-93: ``call`` takes its result from a call_tool_async handle (to cancel on Ctrl-C),
    which handed a result without ``content`` on unchecked: ``{}`` was printed with exit
    status 0, as a tool's good answer. The handle checks as call_tool does now: one line
    naming TL-08's failure, nothing on stdout, exit status 1."""
    fixture = os.path.join(ROOT, "tests", "fixtures", "scripted_server.py")
    done = run(["call", "--", sys.executable, fixture, "result-lacks", "bare", "{}"])
    assert done.returncode == 1 and done.stdout == "", (done.stdout, done.stderr)
    assert "RemoteProtocolError: tool 'bare' returned a result the schema refuses" in done.stderr


def test_what_the_server_sent_is_printed_without_its_control_characters():
    """A server's instructions, tool name and description, progress message and error message
    holding ESC, BEL, CR and backspace: printed with each such character escaped, so that the
    server cannot clear, retitle or rewrite the user's terminal, or erase a line of the listing
    (here ``\\x1b[1A\\x1b[2K``, the line above: its own entry). A newline in a description or
    the instructions goes on on an indented line; in a name or a message it is escaped. Before,
    all of it went to the terminal as sent (D-107). A JSON-RPC error is said as every other
    error of the command line, ``mcp_ref: PeerError: [code] message``, its newline escaped,
    by ``call`` (which said ``error -32602: ...``) and by ``inspect`` (which let the newline
    through, so the server could write a line of its own, here ``mcp_ref: all is well``)
    (D-110)."""
    fixture = [sys.executable, os.path.join(ROOT, "tests", "fixtures", "scripted_server.py"),
               "terminal-escapes"]
    done = run(["inspect", "--"] + fixture)
    assert done.returncode == 1 and done.stderr.splitlines() == [
        "mcp_ref: PeerError: [-32603] no prompts\\nmcp_ref: all is well"], done.stderr
    assert done.stdout.splitlines()[3:] == [
        "instructions: Read me.",
        "  \\x1b[2Jthe screen is cleared",
        "tools (1):",
        "  safe\\x1b[2K\\rrm_rf  -- Harmless.\\x1b[1A\\x1b[2K\\x07",
        "    Second line\\x08X"]
    done = run(["call", "--"] + fixture + ["x", "{}"])
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == ["progress 1 \\x1b]0;pwned\\x07",
                                        "mcp_ref: PeerError: [-32602] no\\x1b[8m hidden\\nline"]
    # The last lines of its stderr, quoted by the error that ends the command, likewise.
    zoo = os.path.join(ROOT, "tests", "fixtures", "zoo.py")
    done = run(["inspect", "--", sys.executable, zoo, "die-before-init", "stderr=a\x1b[2J\tb"])
    assert done.returncode == 1
    assert done.stderr.endswith("last stderr: a\\x1b[2J\\tb\n"), done.stderr


def test_json_output_escapes_what_does_not_print_and_means_the_same(tmp_path):
    """The JSON the commands print (inspect's ``server:`` and ``capabilities:`` lines, call's
    result, diff's lines) with C1 CSI (0x9b, honoured by some terminals as ESC ``[``), NEL,
    DEL, a tag character beyond U+FFFF and a lone surrogate in what the server sent. Before,
    ``json.dumps(ensure_ascii=False)`` wrote the first four as they are, and the lone surrogate
    ended inspect, call and diff in a UnicodeEncodeError traceback. Now each is JSON's own
    ``\\u`` escape: printable ASCII on the terminal, the same JSON when read back (D-110)."""
    fixture = [sys.executable, os.path.join(ROOT, "tests", "fixtures", "scripted_server.py")]
    trace = str(tmp_path / "escapes.jsonl")
    outputs = []
    for args in (["inspect", "--trace", trace, "--"] + fixture + ["terminal-escapes"],
                 ["call", "--"] + fixture + ["terminal-escapes", "result", "{}"],
                 ["inspect", "--trace", str(tmp_path / "plain.jsonl"), "--"] + fixture,
                 ["diff", trace, str(tmp_path / "plain.jsonl")]):
        done = subprocess.run(MCP_REF + args, cwd=ROOT, capture_output=True, timeout=60)
        assert b"Traceback" not in done.stderr, done.stderr.decode(errors="replace")
        # Printable ASCII and newlines only: nothing a terminal could take for a control.
        assert all(32 <= byte < 127 or byte == 10 for byte in done.stdout), done.stdout
        outputs.append(done.stdout.decode("ascii"))
    inspected, called, _, diffed = outputs
    server, _, capabilities = inspected.splitlines()[:3]
    assert server == ('server: {"name": "scripted-terminal-escapes", "version": "0", '
                      '"title": "\\u009b2J\\u007f"}')
    assert json.loads(server[len("server: "):])["title"] == "\x9b2J\x7f"
    assert json.loads(capabilities[len("capabilities: "):])["experimental"] == {
        "\x9b1A": {"x": "\ud800"}}
    assert json.loads(called)["content"][0]["text"] == "\x9b2J\x85\ud800\U000e0001"
    assert '"\\u009b1A": {"x": "\\ud800"}' in diffed


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_a_terminal_that_cannot_write_every_character_gets_escapes_not_a_traceback(
        tmp_path, encoding):
    """A server's text beyond ASCII (``scripted_server.py accents``: Latin-1, the rest of the
    BMP, an emoji) printed where stdout cannot encode it all (``PYTHONIOENCODING=ascii`` or
    ``latin-1``, as a Latin-1 locale gives). Before, ``inspect``, ``call``, ``check -v``,
    ``check --json`` and ``diff`` each ended in a UnicodeEncodeError traceback. Now each
    character the encoding cannot write is JSON's escape of it (D-124): the output is the
    UTF-8 run's with only those characters escaped, its JSON reads back as the same values,
    and the exit statuses are the UTF-8 run's."""
    fixture = [sys.executable, os.path.join(ROOT, "tests", "fixtures", "scripted_server.py")]
    accents = fixture + ["accents"]

    def both(args):
        """The command's (status, stdout, stderr) with UTF-8 and with ``encoding``."""
        outcomes = []
        for each in ("utf-8", encoding):
            done = subprocess.run(MCP_REF + args, cwd=ROOT, capture_output=True, timeout=120,
                                  env=dict(os.environ, PYTHONIOENCODING=each))
            assert b"Traceback" not in done.stderr, done.stderr.decode(each, "replace")
            outcomes.append((done.returncode, done.stdout.decode(each),
                             done.stderr.decode(each)))
        return outcomes

    def written(text):
        """``text`` as the narrower stream writes it: what it cannot encode, escaped."""
        return "".join(c if c.encode(encoding, "ignore") else json.dumps(c)[1:-1]
                       for c in text)

    traces = [str(tmp_path / "accents.jsonl"), str(tmp_path / "plain.jsonl")]
    narrowed = {}
    for name, args, status in (
            ("inspect", ["inspect", "--trace", traces[0], "--"] + accents, 0),
            ("result", ["call", "--"] + accents + ["result", "{}"], 0),
            ("error", ["call", "--"] + accents + ["other", "{}"], 1),
            ("plain", ["inspect", "--trace", traces[1], "--"] + fixture + ["plain"], 0),
            ("diff", ["diff"] + traces, 1)):
        wide, narrow = both(args)
        assert wide[0] == narrow[0] == status, (args, narrow)
        assert narrow[1:] == (written(wide[1]), written(wide[2])), args
        narrowed[name] = narrow
    server, *_, tool = narrowed["inspect"][1].splitlines()
    assert json.loads(server[len("server: "):])["title"] == "Caf\u00e9 \u2615"
    assert tool == {"ascii": "  cr\\u00e8me  -- Br\\u00fbl\\u00e9e \\u2014 \\u2615",
                    "latin-1": "  cr\u00e8me  -- Br\u00fbl\u00e9e \\u2014 \\u2615"}[encoding]
    result = json.loads(narrowed["result"][1])
    assert result["content"][0]["text"] == "\u00e9t\u00e9 \u2600 \U0001f600"
    assert narrowed["error"][2] == written("mcp_ref: PeerError: [-32602] \u00e9chec \u2615\n")
    # check's table (its evidence quotes the server's frames) and --json, run side by side.
    runs = [subprocess.Popen(MCP_REF + ["check", option, "--"] + accents, cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=dict(os.environ, PYTHONIOENCODING=encoding))
            for option in ("-v", "--json")]
    (table, table_err), (report, report_err) = [proc.communicate(timeout=120) for proc in runs]
    assert b"Traceback" not in table_err + report_err, (table_err + report_err).decode(
        encoding, "replace")
    assert written('"title":"Caf\u00e9 \u2615"') in table.decode(encoding)
    assert "Caf\u00e9 \u2615" in json.dumps(json.loads(report.decode(encoding)),
                                         ensure_ascii=False)


def test_an_error_after_the_progress_bar_is_said_on_a_line_of_its_own(monkeypatch):
    """On a terminal, ``call`` rewrites its progress bar in place, without a newline. A call
    that then ends in an error other than a JSON-RPC one (here the server dies after one
    progress notification: ConnectionClosed; a RequestTimeout likewise) ended the command with
    its one line written after the bar, on the bar's line. The bar's line is ended first now,
    however the call ends (D-107)."""
    import io

    from mcp_ref import cli

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    fixture = [sys.executable, os.path.join(ROOT, "tests", "fixtures", "scripted_server.py"),
               "progress-then-die"]
    assert cli.run_guarded(cli.call, fixture, "x", {}, timeout=30) == 1
    bar, said = terminal.getvalue().split("\n", 1)
    assert bar.startswith("\r[###############...............] 1/2"), bar
    assert said.startswith("mcp_ref: ConnectionClosed: the server closed its stdout (exit code 3)")


def test_inspect_and_call_time_out_as_the_client_does_whether_run_or_called():
    """One request timeout for ``inspect`` and ``call`` on the command line and as functions:
    the client's default (the parser writes it out, to keep the client's import off the
    server's start-up)."""
    import inspect as introspect

    from mcp_ref import cli
    from mcp_ref.__main__ import build_parser
    from mcp_ref.client import DEFAULT_REQUEST_TIMEOUT
    parser = build_parser()
    for command in ("inspect", "call"):
        assert parser.parse_args([command, "--", "x"]).timeout == DEFAULT_REQUEST_TIMEOUT
        function = getattr(cli, command)
        assert introspect.signature(function).parameters["timeout"].default \
            == DEFAULT_REQUEST_TIMEOUT


@pytest.mark.spec("PR-12")
def test_serve_progress_interval_sets_how_often_progress_is_sent():
    """``call`` prints each progress it gets as a line (stderr is not a terminal here)."""
    def progress_lines(interval):
        done = run(["call", "--"] + SERVE + ["--progress-interval", interval]
                   + ["slow", '{"seconds": 0.1, "steps": 5}'])
        assert done.returncode == 0, done.stderr
        return [line.split("] ")[1] for line in done.stderr.splitlines()]
    assert progress_lines("0") == [f"{n}/5 step {n}/5" for n in range(1, 6)]   # every one
    assert progress_lines("3600") == ["1/5 step 1/5", "5/5 step 5/5"]        # first, final


@pytest.mark.spec("PR-12")
def test_serve_refuses_a_progress_interval_that_is_not_a_number_of_seconds():
    from mcp_ref.server import DEFAULT_PROGRESS_INTERVAL
    for bad in ("-1", "nan", "soon"):
        done = run(["serve", "--progress-interval", bad], stdin=subprocess.DEVNULL)
        assert done.returncode == 2 and "--progress-interval" in done.stderr, done.stderr
    # The help names the server's default (the parser does not import the server for it).
    helped = run(["serve", "--help"])
    assert f"(PR-12; default: {DEFAULT_PROGRESS_INTERVAL:g})" in " ".join(helped.stdout.split())


@pytest.mark.spec("TO-01")
@pytest.mark.parametrize("command", ["inspect", "call", "check"])
def test_a_timeout_no_deadline_can_be_kept_by_is_a_usage_error(command):
    # D-10: 0, a negative number and NaN are refused before anything is spawned: one line,
    # exit 2, as argparse says of any bad option (not a traceback from Client.spawn).
    # inspect and call take inf as "no deadline"; check's battery must end, so it refuses inf
    # and anything past a day (1e10 s overflowed the clock once the battery had started).
    wanted = ("the --timeout must be a finite, positive number of seconds" if command == "check"
              else "the --timeout must be a positive number of seconds (inf: no deadline)")
    for bad in ("0", "-1", "nan") + (("inf", "1e10") if command == "check" else ()):
        done = run([command, "--timeout", bad, "--", sys.executable, "-m", "mcp_ref", "serve"],
                   stdin=subprocess.DEVNULL)
        assert done.returncode == 2, done.stderr
        assert (wanted if bad != "1e10" else "must be at most 86400 s") in done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.parametrize("bad, why", [("[1, 2]", "must be a JSON object"),
                                      ('{"seconds": 1e309}', "out of the range"),
                                      ('{"seconds": NaN}', "NaN is not valid JSON"),
                                      ("seconds=1", "not valid JSON")])
def test_check_refuses_slow_args_no_frame_can_carry(bad, why):
    # A traceback once the battery had started (AttributeError, NotJson); now a usage error.
    done = run(["check", "--slow-args", bad, "--", sys.executable, "-m", "mcp_ref", "serve"],
               stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stderr
    assert "argument --slow-args" in done.stderr and why in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("words,why", [
    (["--", "srv", "echo", '{"text": 1e309}'], "out of the range"),
    (["--", "srv", "echo", '{"text": NaN}'], "NaN"),
    (["--", "srv", "echo", "[1, 2]"], "must be a JSON object, not"),
    (["--", "srv", "echo", "{"], "must be a JSON object"),
    (["--", "srv", "{}"], "call needs"),
])
def test_call_refuses_tool_arguments_no_frame_can_carry(words, why):
    # 1e309 and NaN were read by json.loads and failed as a traceback at send time (D-58).
    done = run(["call"] + words, stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stderr
    assert why in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("words", [
    ["call", "--timeout", "0", "--", "srv", "echo", "{}"],       # main's own check (D-10)
    ["call", "--", "srv", "{}"],                                 # main's own check
    ["inspect"],                                                 # main's own check
    ["inspect", "--bogus", "--", "srv"],                         # an option no command has
    ["check", "--bogus", "--", "srv"],
    ["check", "--"],                                             # check's own: no server
    ["check", "--timeout", "inf", "--", "srv"],                  # check's own (D-10)
    ["serve", "--keepalive-timeout", "3"],                       # main's own check
    ["states", "--format", "x"],                                 # argparse's own
    ["diff", "a"],
])
def test_a_usage_error_gives_the_usage_of_the_command_that_was_mistyped(words):
    """D-130: errors main found after parsing, and options no command takes, printed the
    usage of every command ("python3 -m mcp_ref [-h] {demo,serve,...}"), as if no command
    had been named, and check's own said "check: ..." with no usage at all; now each is the
    mistyped command's own usage error, as argparse says its own errors."""
    done = run(words, stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stderr
    usage, error = done.stderr.splitlines()[0], done.stderr.splitlines()[-1]
    assert usage.startswith(f"usage: python3 -m mcp_ref {words[0]} [-h]"), done.stderr
    assert error.startswith(f"python3 -m mcp_ref {words[0]}: error: "), done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("content", [None, "not a transcript\n", '{"a": 1}\n[2]\n',
                                     # D-78: a TypeError in normalise, a traceback
                                     '{"dir": [1], "msg": {"id": 1, "result": {}}}\n',
                                     '{"dir": "sent", "msg": {}}\n'])
def test_diff_of_a_file_that_is_no_transcript_is_trouble_not_a_traceback(tmp_path, content):
    good = tmp_path / "good.jsonl"
    good.write_text("")
    bad = tmp_path / "bad.jsonl"
    if content is not None:
        bad.write_text(content)
    done = run(["diff", str(good), str(bad)])
    assert done.returncode == 2, (done.stdout, done.stderr)      # as diff(1): 2 is trouble
    assert done.stderr.startswith(f"diff: cannot read the transcript {bad}: ")
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_diff_of_a_transcript_that_is_not_utf8_names_its_line(tmp_path):
    """D-78: the error named a byte offset in the file, not the line."""
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_text("")
    bad.write_bytes(b'{"event": "spawn"}\n{"dir": "recv", "raw": "\xff"}\n')
    done = run(["diff", str(good), str(bad)])
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr == f"diff: cannot read the transcript {bad}: line 2 is not UTF-8: " \
                          "invalid start byte at byte 24\n"


def test_diff_of_a_transcript_whose_writer_was_killed_says_the_last_line_is_cut(tmp_path):
    """D-78: a writer killed while writing a record leaves its line cut short; that is said,
    rather than only "not JSON"."""
    good, cut = tmp_path / "good.jsonl", tmp_path / "cut.jsonl"
    good.write_text("")
    cut.write_text('{"event": "spawn"}\n{"t": 0.1, "dir": "recv", "msg": {"jsonrpc": "2.')
    done = run(["diff", str(good), str(cut)])
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"diff: cannot read the transcript {cut}: line 2, the last, "
                                  "is cut short (no newline: was its writer killed")


def test_diff_of_a_transcript_nested_too_deep_is_trouble_not_a_traceback(tmp_path, capsys):
    """D-78: json raises RecursionError, not ValueError, on a line nested deeper than it can
    read (a traceback, exit 1: "different"), and a line it could just read failed when diff
    wrote it back from a deeper stack. Every depth is now an answer: 0, 1, or 2 (trouble)."""
    from mcp_ref.__main__ import main
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    path = tmp_path / "deep.jsonl"
    statuses = set()
    for depth in list(range(700, 1100, 3)) + [100_000]:
        path.write_text('{"dir": "send", "msg": ' + "[" * depth + "]" * depth + "}\n")
        statuses.add(main(["diff", str(path), str(empty)]))
    assert statuses == {1, 2}
    assert "too deep" in capsys.readouterr().err


@pytest.mark.spec("TR-01", "TR-06")
@pytest.mark.parametrize("closed,name", [(">&-", "stdout (fd 1)"), ("<&-", "stdin (fd 0)"),
                                         ("<&- >&-", "stdin (fd 0)")])
def test_serve_started_without_a_stdin_or_stdout_says_so_and_exits(closed, name):
    """Stdio review R3: with fd 1 closed, the stdin guard's copy took fd 1 and the stdout
    guard then pointed it at stderr: the server read its own stderr pipe and waited for
    ever. Now each copy is numbered 3 or more, and a closed fd 0 or 1 is one clear line."""
    command = " ".join([sys.executable, "-m", "mcp_ref", "serve", "</dev/null", closed])
    done = subprocess.run(["sh", "-c", "exec " + command], cwd=ROOT, stderr=subprocess.PIPE,
                          text=True, timeout=30)
    assert done.returncode == 1, done.stderr
    assert done.stderr == f"mcp_ref serve: the server's {name} is not open: there is no client " \
                          "to serve (TR-01)\n"


@pytest.mark.spec("TR-04", "TR-06")
def test_serve_started_without_a_stderr_serves_and_logs_nowhere():
    """Stdio review R6: with fd 2 closed (``serve 2>&-``), the stdout guard could not point
    fd 1 at it and the server exited 1 at once, with nothing said and nothing answered. Now
    fd 2 is /dev/null: the session runs, a tool's error is logged nowhere, the wire carries
    frames only, and the server exits 0 at stdin EOF."""
    from mcp_ref.client import Client
    command = " ".join([sys.executable, "-m", "mcp_ref", "serve", "2>&-"])
    with Client.spawn(["sh", "-c", "exec " + command], cwd=ROOT, request_timeout=20) as client:
        assert os.readlink(f"/proc/{client.pid}/fd/2") == os.devnull
        assert client.call_tool("echo", {"text": "hi"})["content"][0]["text"] == "hi"
        assert client.call_tool("fail")["isError"] is True
        client.ping()
    assert client.close().exit_code == 0 and client.stderr_tail() == ""


def _without_a_stderr(args, timeout=60):
    """Run ``args`` with fd 2 closed (``2>&-``), as a daemon's or a cron job's child is."""
    return subprocess.run(["sh", "-c", 'exec 2>&-; exec "$@"', "sh"] + args, cwd=ROOT,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


def test_the_commands_started_without_a_stderr_print_and_exit_as_with_one():
    """D-125: with fd 2 closed Python's sys.stderr is None. ``call``'s progress wrote to it:
    the command exited 1 with the tool's result unprinted. A usage error printed its usage
    on stdout (argparse's fallback) and, on 3.9, exited 1, not 2. Now fd 2 is /dev/null:
    the result is printed and the statuses are the ones a terminal gets (D-107)."""
    called = _without_a_stderr(MCP_REF + ["call", "--"] + SERVE
                               + ["slow", '{"seconds": 0.2, "steps": 2}'])
    assert called.returncode == 0, called
    assert json.loads(called.stdout)["content"][0]["text"].startswith("slept")
    for usage in (["inspect"], ["no-such-command"], ["serve", "--no-such-option"]):
        wrong = _without_a_stderr(MCP_REF + usage)
        assert (wrong.returncode, wrong.stdout) == (2, ""), (usage, wrong)
    missing = _without_a_stderr(MCP_REF + ["inspect", "--", os.path.join(ROOT, "no-such")])
    assert (missing.returncode, missing.stdout) == (1, ""), missing
    states = _without_a_stderr(MCP_REF + ["states"])
    assert states.returncode == 0 and states.stdout == render("text"), states


def test_private_copies_of_the_standard_fds_are_never_0_1_or_2():
    from mcp_ref.stdio import _private_copy
    copy = _private_copy(0)
    try:
        assert copy > 2 and not os.get_inheritable(copy)
    finally:
        os.close(copy)


@pytest.mark.spec("CN-01", "PR-01")
def test_ctrl_c_during_call_sends_a_cancel(tmp_path):
    trace = tmp_path / "call.jsonl"
    proc = subprocess.Popen(MCP_REF + ["call", "--trace", str(trace), "--"] + SERVE
                            + ["slow", '{"seconds": 30, "steps": 300}'],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Progress lines on stderr (not a terminal) show that the call is running.
    line = proc.stderr.readline()
    assert "1/300" in line, line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "notifications/cancelled sent" in err
    sent = [r["msg"] for r in load(str(trace)) if r.get("dir") == "send"]
    cancels = [m for m in sent if m.get("method") == "notifications/cancelled"]
    assert len(cancels) == 1 and cancels[0]["params"]["requestId"] == 2


def test_transcripts_of_equivalent_sessions_diff_clean(tmp_path):
    a, b, c = (str(tmp_path / name) for name in ("a.jsonl", "b.jsonl", "c.jsonl"))
    for path, text in ((a, "same"), (b, "same"), (c, "other")):
        assert run(["call", "--trace", path, "--"] + SERVE
                   + ["echo", json.dumps({"text": text})]).returncode == 0
    assert diff(load(a), load(b)) == ""
    assert run(["diff", a, b]).stdout == "equivalent\n"
    changed = run(["diff", a, c])
    assert changed.returncode == 1 and '"other"' in changed.stdout


@pytest.mark.parametrize("command", [["serve"], ["demo", "--fast"], ["inspect"], ["call"],
                                     ["check"]])
def test_a_trace_file_that_cannot_be_written_is_a_usage_error(tmp_path, command):
    """Every --trace FILE is checked with the options: a missing folder or a directory is
    exit 2 with the reason, before any server starts, never a traceback (helper-55 review)."""
    server = ["--"] + SERVE + (["echo", "{}"] if command == ["call"] else [])
    rest = [] if command[0] in ("serve", "demo") else server
    for path, reason in ((str(tmp_path / "missing" / "t.jsonl"), "no directory"),
                         (str(tmp_path), "is a directory")):
        done = run(command + ["--trace", path] + rest, timeout=60)
        assert done.returncode == 2, done.stderr
        assert "--trace" in done.stderr and reason in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (tmp_path / "missing").exists()


def test_an_audit_file_that_cannot_be_written_is_a_usage_error(tmp_path):
    """serve --audit FILE is checked as --trace is: before, a missing folder was found once
    the session began, and reported twice (helper-55 review)."""
    for path, reason in ((str(tmp_path / "missing" / "a.json"), "no directory"),
                         (str(tmp_path), "is a directory")):
        done = run(["serve", "--audit", path], timeout=60)
        assert done.returncode == 2, done.stderr
        assert "--audit" in done.stderr and reason in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (tmp_path / "missing").exists()


def test_serve_trace_records_the_server_side(tmp_path):
    trace = tmp_path / "server.jsonl"
    done = run(["call", "--"] + MCP_REF + ["serve", "--trace", str(trace)]
               + ["echo", '{"text": "x"}'])
    assert done.returncode == 0, done.stderr
    records = load(str(trace))
    received = [r["msg"].get("method") for r in records if r.get("dir") == "recv"]
    assert received[:3] == ["initialize", "notifications/initialized", "tools/call"]
    assert records[-1] == {"t": records[-1]["t"], "event": "exit", "status": 0, "signal": None}


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("command", [
    ["states"],
    ["inspect", "--"] + SERVE,
    ["call", "--"] + SERVE + ["echo", '{"text": "hi"}'],
    ["diff", "A", "B"],
])
def test_output_that_cannot_be_written_is_one_line_not_a_traceback(tmp_path, command):
    """stdout on a full disk (/dev/full: every write fails with ENOSPC): one line on stderr
    naming the error and exit status 1, as a Unix tool reports a write error. Before, a
    traceback; a server the command spawned is shut down all the same, and its transcript is
    complete (D-107)."""
    trace = str(tmp_path / "t.jsonl")
    if command[0] in ("inspect", "call"):
        command = command[:1] + ["--trace", trace] + command[1:]
    if command[0] == "diff":
        for name in ("A", "B"):
            (tmp_path / name).write_text('{"dir": "send", "msg": {"n": "%s"}}\n' % name)
        command = ["diff", str(tmp_path / "A"), str(tmp_path / "B")]
    with open("/dev/full", "w") as full:
        done = subprocess.run(MCP_REF + command, cwd=ROOT, stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert done.stderr == "mcp_ref: OSError: [Errno 28] No space left on device\n"
    if command[0] in ("inspect", "call"):
        assert load(trace)[-1]["event"] == "close"


@pytest.mark.parametrize("command", [["states"], ["call", "--"] + SERVE + ["echo", "{}"]])
def test_a_command_started_with_stdout_closed_says_so_before_it_starts(command):
    """Started with fd 1 closed (``>&-``): a usage error (exit 2) saying so, before a server
    is spawned or a tool called. Before, ``states`` exited 0 having written nothing, and
    ``inspect`` and ``call`` raised AttributeError once they wrote (D-107)."""
    done = subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh"] + MCP_REF + command, cwd=ROOT,
                          stderr=subprocess.PIPE, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[-1].endswith(
        "error: stdout is closed: there is nowhere to write the output")


def test_spawn_failure_is_one_clear_line():
    done = run(["inspect", "--", "/no/such/server"])
    assert done.returncode == 1
    assert "SpawnError" in done.stderr and "/no/such/server" in done.stderr
    assert "Traceback" not in done.stderr


def test_demo_and_check_write_transcripts(tmp_path):
    demo = tmp_path / "demo.jsonl"
    done = run(["demo", "--fast", "--trace", str(demo)], timeout=90)
    assert done.returncode == 0, done.stderr
    records = load(str(demo))
    assert records[0]["event"] == "spawn" and records[-1]["event"] == "close"
    sent = [r["msg"].get("method") for r in records if r.get("dir") == "send"]
    assert "notifications/cancelled" in sent            # the demo's user cancel and timeout

    check = tmp_path / "check.jsonl"
    done = run(["check", "--trace", str(check), "--"] + SERVE, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    files = sorted(p.name for p in tmp_path.glob("check.*.jsonl"))
    assert len(files) >= 6, files                     # one transcript per server process
    for name in files:
        records = load(str(tmp_path / name))
        assert records[0]["event"] == "spawn" and records[-1]["event"] == "close"


# --- Signals: the server is shut down however the command ends (D-39) -----------------------

HOLD = os.path.join(ROOT, "tests", "fixtures", "hold_server.py")


def _holding(tmp_path, args, *hold_args):
    """Start ``python3 -m mcp_ref ARGS -- hold_server.py FIFO HOLD_ARGS...`` (with the tool
    call's words after the server's when ``args`` is call) and wait, with a deadline, until
    the server says it is holding on; returns (the command's process, the server's pid)."""
    fifo = str(tmp_path / "ready")
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        server = [sys.executable, HOLD, fifo, *hold_args]
        words = server + ["hold", "{}"] if args[0] == "call" else server
        proc = subprocess.Popen(MCP_REF + args + ["--"] + words, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        readable, _, _ = select.select([reader], [], [], 20)
        assert readable, "the server never said it was holding on"
        return proc, int(os.read(reader, 64))
    finally:
        os.close(reader)


def _gone(pid):
    """True if ``pid`` and its process group (the server leads its own, start_new_session)
    no longer exist. Checked after the command exited: a command that shut its server down
    has reaped it by then; an orphan would still be running."""
    for probe in (os.kill, os.killpg):
        try:
            probe(pid, 0)
        except ProcessLookupError:
            continue
        return False
    return True


def _reap_all(proc, pid):
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=10)
    try:
        os.killpg(pid, signal.SIGKILL)        # an orphan left by a regression
    except ProcessLookupError:
        pass


@pytest.mark.spec("TR-13", "CN-01")
def test_sigterm_during_call_cancels_shuts_the_server_down_and_exits_143(tmp_path):
    """SIGTERM to ``call`` while the tool runs: the command cancels the call (CN-01), leaves
    through Client.close(), whose ladder ends a server that ignores EOF with SIGTERM
    (TR-13), and exits 128 + 15. Before, the default action killed the command at once and
    left the server running, an orphan in its own process group."""
    proc, pid = _holding(tmp_path, ["call"])
    try:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 143, err
        assert "notifications/cancelled sent" in err and "Traceback" not in err
        assert _gone(pid)
    finally:
        _reap_all(proc, pid)


@pytest.mark.spec("TO-01", "TR-13")
@pytest.mark.parametrize("command", ["inspect", "call"])
def test_the_timeout_option_bounds_the_handshake_too(tmp_path, command):
    """``--timeout 1`` against a server that never answers initialize: the command gives up
    after 1 s, as the user said, with one line naming initialize, shuts the server (which
    ignores EOF) down with the ladder (TR-13) and exits 1. Before, only the requests after
    initialize took the option, and the handshake waited the client's 30 s default (D-107)."""
    trace = str(tmp_path / "t.jsonl")
    proc, pid = _holding(tmp_path, [command, "--timeout", "1", "--trace", trace], "slow-init")
    try:
        out, err = proc.communicate(timeout=20)      # 30 s, the default, fails here
        assert proc.returncode == 1, err
        assert err.strip().splitlines()[-1] == (
            "mcp_ref: RequestTimeout: initialize got no response within its timeout of 1 s")
        assert _gone(pid)
        assert load(trace)[-1]["event"] == "close"     # complete, valid JSONL
    finally:
        _reap_all(proc, pid)


@pytest.mark.spec("TO-01", "TO-02")
def test_inspect_waits_one_timeout_for_a_server_that_stopped_answering(tmp_path):
    """A server that answers the handshake and then no listing: inspect waited ``--timeout``
    for each of its four listings, four times what the user said to wait (D-111's **Left
    open**). Once tools/list timed out (and was cancelled, TO-02), the later listings are
    said skipped, in their order, and not sent; exit 1 (D-122). The subprocess's own
    deadline, 5.5 s for a 3 s timeout, fails the test if two listings each wait 3 s; the 2.5 s
    left over is for two interpreters to start on a loaded machine."""
    fixture = [sys.executable, os.path.join(ROOT, "tests", "fixtures", "scripted_server.py")]
    trace = str(tmp_path / "t.jsonl")
    done = run(["inspect", "--timeout", "3", "--trace", trace, "--"] + fixture
               + ["listings-mute"], timeout=5.5)
    assert done.returncode == 1, done.stderr
    assert len(done.stdout.splitlines()) == 3       # server, protocol version, capabilities
    since = "since tools/list got no response within its timeout of 3 s"
    assert done.stderr.splitlines() == [
        "mcp_ref: RequestTimeout: tools/list got no response within its timeout of 3 s",
        f"mcp_ref: skipped: resources/list was not sent, {since}",
        f"mcp_ref: skipped: resources/templates/list was not sent, {since}",
        f"mcp_ref: skipped: prompts/list was not sent, {since}"]
    sent = [r["msg"].get("method") for r in load(trace) if r.get("dir") == "send"]
    assert sent == ["initialize", "notifications/initialized", "tools/list",
                    "notifications/cancelled"]


@pytest.mark.spec("TR-13")
@pytest.mark.parametrize("signum, status, message", [
    (signal.SIGINT, 130, "mcp_ref: interrupted"),
    (signal.SIGTERM, 143, "mcp_ref: terminated by SIGTERM"),
    (signal.SIGHUP, 129, "mcp_ref: terminated by SIGHUP"),
])
def test_a_signal_during_the_handshake_is_one_line_and_leaves_no_server(tmp_path, signum,
                                                                       status, message):
    """Ctrl-C, SIGTERM or SIGHUP while ``inspect`` waits for an initialize answer that never
    comes: one line on stderr, no traceback, exit 128 + the signal, and the server (which
    ignores EOF) was shut down with the ladder (TR-13) before the command exited."""
    proc, pid = _holding(tmp_path, ["inspect"], "slow-init")
    try:
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == status, err
        assert err.strip().splitlines()[-1] == message and "Traceback" not in err
        assert _gone(pid)
    finally:
        _reap_all(proc, pid)


def test_run_guarded_installs_its_handlers_in_the_main_thread_only_and_restores_them():
    """In-process callers (tests, an embedding program) get their SIGTERM and SIGHUP
    handlers back however the command ends; from another thread, where Python cannot set
    handlers, run_guarded installs none and still runs the command (D-39)."""
    from mcp_ref import cli
    from mcp_ref.errors import McpRefError

    def mine(signum, frame):
        pass

    ending = (signal.SIGTERM, signal.SIGHUP)
    saved = {signum: signal.signal(signum, mine) for signum in ending}
    try:
        seen = []

        def command(outcome):
            seen.append([signal.getsignal(signum) for signum in ending])
            if outcome is not None:
                raise outcome
            return 0

        def guarded(outcome):
            try:
                return cli.run_guarded(command, outcome)
            except BaseException as exc:      # a KeyboardInterrupt must not end pytest
                pytest.fail(f"run_guarded let {exc!r} through")

        assert guarded(None) == 0
        assert guarded(McpRefError("boom")) == 1
        assert guarded(KeyboardInterrupt()) == 130
        assert guarded(cli.Terminated(signal.SIGHUP)) == 129
        for during in seen:
            assert all(handler is not mine for handler in during), during
        assert [signal.getsignal(signum) for signum in ending] == [mine, mine]

        seen.clear()
        results = []
        worker = threading.Thread(target=lambda: results.append(cli.run_guarded(command, None)))
        worker.start()
        worker.join(10)
        assert results == [0] and seen == [[mine, mine]]
        assert [signal.getsignal(signum) for signum in ending] == [mine, mine]
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def test_run_guarded_leaves_a_handler_installed_outside_python_alone(monkeypatch):
    """``signal.getsignal`` is None for a handler an embedding program installed in C: it
    could not be put back, so run_guarded leaves that signal alone (before, restoring it
    raised TypeError in the finally and hid the command's own result)."""
    from mcp_ref import cli
    real_getsignal = signal.getsignal
    installed = signal_installed_outside_python(monkeypatch, signal.SIGHUP)
    before = real_getsignal(signal.SIGTERM)
    assert cli.run_guarded(lambda: 7) == 7
    assert signal.SIGHUP not in installed and signal.SIGTERM in installed
    assert real_getsignal(signal.SIGTERM) is before


class _SignalOnWrite:
    """A stderr on which a signal arrives (its exception is raised) during the first write."""

    def __init__(self, exc):
        self.exc = exc
        self.written = []

    def write(self, text):
        if self.exc is not None:
            exc, self.exc = self.exc, None
            raise exc
        self.written.append(text)
        return len(text)

    def flush(self):
        pass


@pytest.mark.parametrize("outcome, second, status", [
    (KeyboardInterrupt(), KeyboardInterrupt(), 130),
    ("SIGTERM", "SIGHUP", 143),
    ("McpRefError", KeyboardInterrupt(), 1),
], ids=["ctrl-c-twice", "sigterm-then-sighup", "error-then-ctrl-c"])
def test_a_second_signal_while_run_guarded_says_why_it_stops_is_no_traceback(
        monkeypatch, outcome, second, status):
    """Shell review F1: a second Ctrl-C or SIGTERM arrives while run_guarded writes its one
    line (simulated: the write raises it). The command still ends with its status; nothing
    goes up to print a traceback."""
    from mcp_ref import cli
    from mcp_ref.errors import McpRefError
    made = {"SIGTERM": lambda: cli.Terminated(signal.SIGTERM),
            "SIGHUP": lambda: cli.Terminated(signal.SIGHUP),
            "McpRefError": lambda: McpRefError("boom")}
    outcome = made[outcome]() if isinstance(outcome, str) else outcome
    second = made[second]() if isinstance(second, str) else second

    def command():
        raise outcome

    monkeypatch.setattr(sys, "stderr", _SignalOnWrite(second))
    try:
        assert cli.run_guarded(command) == status
    except BaseException as exc:            # a KeyboardInterrupt must not end pytest
        pytest.fail(f"run_guarded let {exc!r} through")


def test_a_signal_as_run_guarded_installs_its_handlers_is_handled_and_they_are_restored(
        monkeypatch):
    """Shell review F1: SIGTERM arrives just after run_guarded installed its first handler
    (simulated). It is handled like one during the command (exit 143), and the caller's
    handlers are restored: before, the Terminated went up unhandled and the command's
    handler stayed installed."""
    from mcp_ref import cli

    def mine(signum, frame):
        pass

    ending = (signal.SIGTERM, signal.SIGHUP)
    saved = {signum: signal.signal(signum, mine) for signum in ending}
    real_signal = signal.signal
    installed = []

    def arrives_after_the_first(signum, handler):
        previous = real_signal(signum, handler)
        if handler is cli._raise_terminated:
            installed.append(signum)
            if len(installed) == 1:
                handler(signal.SIGTERM, None)        # the signal arrives now
        return previous

    ran = []
    try:
        monkeypatch.setattr(signal, "signal", arrives_after_the_first)
        try:
            status = cli.run_guarded(lambda: ran.append(True) or 0)
        except BaseException as exc:
            pytest.fail(f"run_guarded let {exc!r} through")
        monkeypatch.undo()
        assert status == 143 and ran == []
        assert [signal.getsignal(signum) for signum in ending] == [mine, mine]
    finally:
        monkeypatch.undo()
        for signum, handler in saved.items():
            signal.signal(signum, handler)


@pytest.mark.spec("CN-01", "CN-09")
@pytest.mark.parametrize("signal_name, status, reason", [
    ("SIGINT", 130, "interrupted by the user (Ctrl-C)"),
    ("SIGTERM", 143, "the client was terminated by SIGTERM"),
    ("SIGHUP", 129, "the client was terminated by SIGHUP")])
def test_call_cancels_a_call_interrupted_as_soon_as_it_is_written(monkeypatch, capsys,
                                                                 tmp_path, signal_name,
                                                                 status, reason):
    """SIGTERM sent the moment the server has the request (the CLI signal test, under load):
    Python runs the handler as the write returns, inside call_tool_async, before the handle
    exists. The call is on its way all the same, so it must be cancelled (simulated: the
    write of tools/call raises KeyboardInterrupt, or Terminated, once done). The cancel's
    reason says what happened: a SIGTERM or SIGHUP is not said to come from the user, as it
    was before (D-110)."""
    from mcp_ref import cli
    from mcp_ref.session import Session
    real_put = Session._put

    def written_then_interrupted(self, data, **options):
        real_put(self, data, **options)
        if b'"tools/call"' in data:
            if signal_name == "SIGINT":
                raise KeyboardInterrupt
            raise cli.Terminated(getattr(signal, signal_name))

    monkeypatch.setattr(Session, "_put", written_then_interrupted)
    monkeypatch.chdir(ROOT)
    trace = tmp_path / "call.jsonl"
    done = cli.call(SERVE, "slow", {"seconds": 30, "steps": 300}, trace=str(trace))
    err = capsys.readouterr().err
    assert done == status
    assert err.splitlines()[-1] == "mcp_ref: cancelled: notifications/cancelled sent"
    sent = [r["msg"] for r in load(str(trace)) if r.get("dir") == "send"]
    methods = [m.get("method") for m in sent]
    assert methods.count("notifications/cancelled") == 1
    assert methods.index("notifications/cancelled") > methods.index("tools/call")
    cancel = sent[methods.index("notifications/cancelled")]
    assert cancel["params"]["reason"] == reason


@pytest.mark.spec("CN-01")
def test_call_says_no_cancel_was_sent_when_the_call_had_already_ended(monkeypatch, capsys,
                                                                      tmp_path):
    """Shell review F9: Ctrl-C arrives just as the answer does (simulated: result() raises it
    after the response settled the call). cancel() then returns False and sends nothing, so
    ``call`` must not claim that notifications/cancelled was sent."""
    from mcp_ref import cli
    from mcp_ref.session import PendingRequest
    real_result = PendingRequest.result

    def answered_then_interrupted(self):
        result = real_result(self)
        if self.method == "tools/call":
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(PendingRequest, "result", answered_then_interrupted)
    monkeypatch.chdir(ROOT)
    trace = tmp_path / "call.jsonl"
    status = cli.call(SERVE, "echo", {"text": "hi"}, trace=str(trace))
    err = capsys.readouterr().err
    assert status == 130
    assert err.splitlines()[-1] == (
        "mcp_ref: interrupted: the call had already ended, so nothing was cancelled")
    sent = [r["msg"].get("method") for r in load(str(trace)) if r.get("dir") == "send"]
    assert "notifications/cancelled" not in sent
