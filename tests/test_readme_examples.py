"""The README's Python examples run as printed.

A reader's first contact with mcp_ref is README.md's "Using it": a client and a server, each a
block of Python to copy. Nothing else checked them: an example that no longer ran (a renamed
option, a helper that moved) would be found by the reader, not by the suite. Each block is
taken from README.md itself, so the test reads what the reader reads. So are the one-line
redaction example and the command lines of README.md, spec_notes/README.md and
tests/bench/README.md, whose options are checked against each command's ``--help`` (D-129).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading

import pytest

from mcp_ref.client import Client

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Generous: the client example makes a 2 s call, and this VM can be slow under load.
TIMEOUT = 60


def _python_blocks() -> list:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as readme:
        text = readme.read()
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.S | re.M)


def _block(first_line: str) -> str:
    """The README's one Python block whose code starts with ``first_line``."""
    found = [code for code in _python_blocks() if code.startswith(first_line)]
    assert len(found) == 1, f"README.md has {len(found)} python blocks starting {first_line!r}"
    return found[0]


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.mark.spec("LC-02", "TL-08", "PR-01", "CN-01", "TR-13")
def test_the_readme_client_example_runs_as_printed(tmp_path):
    """The client block, run as a script from a directory of its own: it spawns the
    reference server, lists, calls, reports progress, cancels, and exits 0."""
    script = tmp_path / "client_example.py"
    block = _block("import sys\nfrom mcp_ref.client import Client")
    # The block's comment on the cancelled call, run: the reader of the block cannot see it
    # happen, since the block never asks for the result (D-129).
    assert "# call.result() raises RequestCancelled" in block
    script.write_text(block + CLIENT_EXAMPLE_RESULT, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=str(tmp_path), env=_env(),
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("2025-11-25 {'name': 'mcp_ref-reference'")
    assert "echo" in lines[1] and "slow" in lines[1]
    assert "'text': 'hello'" in lines[2] and "'isError': False" in lines[2]
    assert len(lines) > 4 and lines[-2].endswith("step 4/4")   # the slow call's progress
    assert lines[-1] == "RequestCancelled: tools/call was cancelled: changed my mind"


#: Appended to the client block: what its comment says ``call.result()`` does.
CLIENT_EXAMPLE_RESULT = """
from mcp_ref import RequestCancelled
try:
    call.result()
except RequestCancelled as exc:
    print("RequestCancelled:", exc)
"""


@pytest.mark.spec("TL-08", "PR-04", "TR-14")
def test_the_readme_server_example_serves_and_exits_0_on_eof(tmp_path):
    """The server block, saved as a file and spawned: its echo tool answers, its progress
    arrives, and at the end of stdin it exits 0, as its last comment says."""
    script = tmp_path / "server_example.py"
    script.write_text(_block("from mcp_ref.server import Server, ToolError"), encoding="utf-8")
    progressed = threading.Event()
    with Client.spawn([sys.executable, str(script)], env=_env(), cwd=str(tmp_path),
                      request_timeout=TIMEOUT) as client:
        assert client.server_info["name"] == "demo"
        (tool,) = client.list_tools()
        assert tool["name"] == "echo" and tool["description"] == "Echo the text back"
        result = client.call_tool("echo", {"text": "hi"},
                                  on_progress=lambda *args: progressed.set())
        assert result["content"] == [{"type": "text", "text": "hi"}]
        assert progressed.is_set()     # the progress notification comes before the answer
    report = client.close()
    assert report.steps == ("close_stdin",) and report.exit_code == 0


def test_the_readme_redaction_example_masks_the_secret_in_the_record(tmp_path):
    """The README's one-line example of a redacting transcript (``trace=Transcript(path,
    redact=redact_keys("password"))``), evaluated as printed: the password a call sends is
    in no line of the record, and the call's frame is (reliability SC-29, D-129)."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as readme:
        (expression,) = re.findall(r"`trace=(Transcript\(path, redact=[^`]*\))`", readme.read())
    from mcp_ref.transcript import Transcript, redact_keys
    path = str(tmp_path / "trace.jsonl")
    trace = eval(expression, {"Transcript": Transcript, "redact_keys": redact_keys, "path": path})
    with Client.spawn([sys.executable, "-m", "mcp_ref", "serve"], env=_env(), trace=trace,
                      request_timeout=TIMEOUT) as client:
        client.call_tool("echo", {"text": "hi", "password": "s3cret-4711"})
    with open(path, encoding="utf-8") as record:
        text = record.read()
    assert "s3cret-4711" not in text
    assert '"password": "<redacted>"' in text and '"method": "tools/call"' in text


#: The subcommands of ``python3 -m mcp_ref``; a span of the READMEs that starts with one of
#: them, or with ``python3 -m mcp_ref``, is a command line a reader may type.
SUBCOMMANDS = ("demo", "serve", "check", "states", "inspect", "call", "diff")


def _commands(path: str) -> list:
    """Every ``python3 -m mcp_ref SUB ...`` (or ``SUB --...``) of a README: in code blocks,
    each line; in text, each backticked span. (SUB, the options it names)."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as readme:
        text = readme.read()
    spans = [line for block in re.findall(r"^```\w*\n(.*?)^```$", text, flags=re.S | re.M)
             for line in block.replace("\\\n", " ").splitlines()]
    spans += re.findall(r"`([^`\n]+)`", re.sub(r"^```.*?^```$", "", text, flags=re.S | re.M))
    found = []
    for span in spans:
        span = span.split("#")[0].replace("\\|", "|")
        words = re.sub(r"^.*?python3 -m mcp_ref ", "", span).split()
        if words and words[0] in SUBCOMMANDS and ("python3 -m mcp_ref " in span
                                                   or words[1:2] and words[1].startswith("-")):
            ours = words[1:words.index("--")] if "--" in words else words[1:]   # not the server's
            options = re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", " ".join(ours))
            found.append((words[0], set(options)))
    return found


def _help(argv: list) -> str:
    done = subprocess.run(argv + ["--help"], cwd=ROOT, env=_env(), capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_command_line_the_readmes_show_has_the_options_they_give_it():
    """Each command the READMEs show (the command table, the ``check`` runs, the reading
    guide's) names a subcommand that exists and only options its ``--help`` lists: a renamed
    or removed option fails here, not in a reader's shell (D-129)."""
    shown = _commands("README.md") + _commands(os.path.join("spec_notes", "README.md"))
    assert {sub for sub, _ in shown} == set(SUBCOMMANDS)     # the table shows every command
    helps = {sub: _help([sys.executable, "-m", "mcp_ref", sub]) for sub in SUBCOMMANDS}
    missing = sorted((sub, option) for sub, options in shown for option in options
                     if not re.search(r"(?<![\w-])" + re.escape(option) + r"\b", helps[sub]))
    assert missing == []
    assert ("serve", {"--watchdog", "--parent-pid"}) in shown      # the parser reads the table


def test_the_benchmark_readme_gives_only_options_its_scripts_take():
    """tests/bench/README.md's commands, checked against each script's ``--help`` (the
    benchmark itself is not run): its options exist (D-129)."""
    with open(os.path.join(ROOT, "tests", "bench", "README.md"), encoding="utf-8") as readme:
        text = readme.read()
    lines = re.findall(r"^python3 (tests/bench/\S+\.py)(.*)$", text, flags=re.M)
    assert {script for script, _ in lines} == {"tests/bench/run.py", "tests/bench/core_micro.py"}
    for script, rest in lines:
        options = re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", rest.split("#")[0])
        usage = _help([sys.executable, os.path.join(ROOT, script)])
        assert all(re.search(re.escape(o) + r"\b", usage) for o in options), (script, options)
    assert "--system-python" in _help([sys.executable, os.path.join(ROOT, "tests/bench/run.py")])
