"""The layering rule: the sans-I/O core imports no I/O, and mcp_ref imports only the stdlib.

spec_notes/README.md, "Two layers": arrows point toward the core only. The core modules
(spec, errors, jsonrpc, framing, lifecycle, events, connection, shapes) never read, write, sleep, start
a thread, look at the clock or log; the blocking shell (stdio, session, client, server, ...)
owns all of that. And the package as a whole has no third-party dependency (pyproject:
``dependencies = []``). Checked by reading the source with ``ast``, so the check sees imports
inside functions too and does not depend on what happens to be importable here.
"""

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mcp_ref"

CORE = ("_record", "spec", "errors", "jsonrpc", "framing", "lifecycle", "events", "connection",
        "shapes")

#: Modules the core may not import: I/O, processes, signals, threads, the clock, logging.
FORBIDDEN_IN_CORE = {"os", "sys", "select", "selectors", "subprocess", "signal", "socket",
                     "threading", "time", "asyncio", "logging"}


def _imports(path):
    """Top-level names of every absolute import in ``path`` (relative imports are ours)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(alias.name.split(".")[0], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append((node.module.split(".")[0], node.lineno))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id == "__import__"):
            names.append(("__import__", node.lineno))
    return names


def _relative_imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            if node.module:
                found.append((node.module.split(".")[0], node.lineno))
            else:
                found += [(alias.name, node.lineno) for alias in node.names]
    return found


def test_the_core_modules_exist():
    for name in CORE:
        assert (PACKAGE / f"{name}.py").is_file(), name


@pytest.mark.parametrize("name", CORE)
def test_core_module_imports_no_io(name):
    path = PACKAGE / f"{name}.py"
    bad = [(module, lineno) for module, lineno in _imports(path)
           if module in FORBIDDEN_IN_CORE or module == "__import__"]
    assert not bad, f"mcp_ref/{name}.py imports {bad}: the core must stay sans-I/O"


@pytest.mark.parametrize("name", CORE)
def test_core_module_imports_only_the_core(name):
    """Arrows point toward the core: a core module never imports the shell."""
    path = PACKAGE / f"{name}.py"
    for module, lineno in _relative_imports(path):
        assert module in CORE, f"mcp_ref/{name}.py:{lineno} imports the shell module {module}"
    for module, lineno in _imports(path):
        assert module != "mcp_ref", f"mcp_ref/{name}.py:{lineno}: use relative imports"


def _all_modules():
    return sorted(PACKAGE.rglob("*.py"))


def test_the_scan_sees_forbidden_imports():
    """The scanner itself works: the shell does import what the core may not."""
    found = {module for path in _all_modules() for module, _ in _imports(path)}
    assert found & FORBIDDEN_IN_CORE, "expected the shell to import os/threading/..."


@pytest.mark.skipif(not hasattr(sys, "stdlib_module_names"),
                    reason="sys.stdlib_module_names needs Python 3.10+")
@pytest.mark.parametrize("path", _all_modules(), ids=lambda p: p.name)
def test_mcp_ref_imports_only_the_standard_library(path):
    allowed = set(sys.stdlib_module_names) | {"mcp_ref", "__import__"}
    bad = [(module, lineno) for module, lineno in _imports(path) if module not in allowed]
    assert not bad, f"{path.name} imports {bad}, which are not in the standard library"
