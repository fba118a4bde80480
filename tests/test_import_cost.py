"""What starting mcp_ref imports: each command and the client library load only what they need.

Import time is most of a server's startup (issue 7: spawn -> initialized, and the cost of
``import mcp_ref.client``). Which modules get imported is deterministic, so that is what is
checked here, never a time: ``python3 -X importtime`` names every module a fresh interpreter
imports, in a real process, with the same start-up as a desktop client's.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \| *(\S+)\s*$", re.MULTILINE)


def imported_modules(*args):
    """The modules ``python3 -X importtime ARGS`` imports, stdin at EOF (a server exits)."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    done = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=ROOT, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    modules = set(_IMPORTED.findall(done.stderr))
    assert "mcp_ref" in modules, done.stderr          # the parse itself works
    return modules


def test_serve_does_not_import_the_other_commands():
    modules = imported_modules("-m", "mcp_ref", "serve")
    assert "mcp_ref.reference" in modules
    unwanted = {"mcp_ref.check", "dataclasses", "mcp_ref.cli", "mcp_ref.client", "difflib"}
    assert not modules & unwanted


def test_the_client_library_imports_no_command_line_machinery():
    modules = imported_modules("-c", "import mcp_ref.client")
    assert not modules & {"argparse", "difflib", "dataclasses", "mcp_ref.check", "mcp_ref.cli"}
