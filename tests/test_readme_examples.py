"""The README's Python examples run as printed.

A reader's first contact with mcp_ref is README.md's "Using it": a client and a server, each a
block of Python to copy. Nothing else checked them: an example that no longer ran (a renamed
option, a helper that moved) would be found by the reader, not by the suite. Each block is
taken from README.md itself, so the test reads what the reader reads.
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
    script.write_text(_block("import sys\nfrom mcp_ref.client import Client"), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=str(tmp_path), env=_env(),
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("2025-11-25 {'name': 'mcp_ref-reference'")
    assert "echo" in lines[1] and "slow" in lines[1]
    assert "'text': 'hello'" in lines[2] and "'isError': False" in lines[2]
    assert len(lines) > 3 and lines[-1].endswith("step 4/4")   # the slow call's progress


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
