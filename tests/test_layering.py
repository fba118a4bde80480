"""The layering rule: the sans-I/O core imports no I/O, and mcp_ref imports only the stdlib.

spec_notes/README.md, "Two layers": arrows point toward the core only. The core modules
(spec, errors, jsonrpc, framing, lifecycle, events, connection, shapes, _pattern) never read,
write, sleep, start a thread, look at the clock or log; the blocking shell (stdio, session,
client, server, ...) owns all of that. And the package as a whole has no third-party dependency (pyproject:
``dependencies = []``). Checked by reading the source with ``ast``, so the check sees imports
inside functions too and does not depend on what happens to be importable here.
"""

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mcp_ref"

CORE = ("_record", "spec", "errors", "jsonrpc", "framing", "lifecycle", "events", "connection",
        "shapes", "_pattern")

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


def _type_checking_blocks(tree):
    """The module-level ``if TYPE_CHECKING:`` blocks of ``tree`` (D-105)."""
    return [node for node in tree.body if isinstance(node, ast.If)
            and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"]


def _type_only_names(tree):
    """Names a module binds only for type checkers: what its ``if TYPE_CHECKING:`` blocks import
    from typing or from mcp_ref, and the aliases they define (``RequestId = Union[str, int]``)."""
    names = set()
    for block in _type_checking_blocks(tree):
        for node in ast.walk(block):
            if isinstance(node, ast.ImportFrom) and (node.module == "typing" or node.level):
                names |= {alias.asname or alias.name for alias in node.names}
            elif isinstance(node, ast.Assign):
                names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
    return names


def _hint_node_ids(tree):
    """Every node inside an annotation or a ``TYPE_CHECKING`` block: never run (D-105)."""
    roots = list(_type_checking_blocks(tree))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns:
            roots.append(node.returns)
        elif isinstance(node, (ast.arg, ast.AnnAssign)) and node.annotation:
            roots.append(node.annotation)
    return {id(inner) for root in roots for inner in ast.walk(root)}


def _package_type_only_names():
    """The type-checker-only names of every mcp_ref module (``Event`` is events' alias)."""
    return set().union(*(_type_only_names(ast.parse(path.read_text(encoding="utf-8")))
                         for path in _all_modules()))


def _type_only_uses_at_run_time(source, package_names):
    """(line, name) for each use of a type-checker-only name in code that runs, given the
    source of one module: its own such names, and ``module.Name`` for ``package_names`` on a
    module of ours imported as ``from . import events as ev``."""
    tree = ast.parse(source)
    own, hints = _type_only_names(tree), _hint_node_ids(tree)
    modules = {alias.asname or alias.name for node in ast.walk(tree)        # ``ev`` in
               if isinstance(node, ast.ImportFrom) and node.level and not node.module  # from .
               for alias in node.names}                                      # import events as ev
    found = []
    for node in ast.walk(tree):
        if id(node) in hints:
            continue
        if isinstance(node, ast.Name) and node.id in own:
            found.append((node.lineno, node.id))
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.value.id in modules and node.attr in package_names):
            found.append((node.lineno, node.attr))
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and (
                getattr(node, "module", None) == "typing"
                or any(alias.name == "typing" for alias in node.names)):
            found.append((node.lineno, "import typing"))
    return sorted(found)


@pytest.mark.parametrize("path", _all_modules(), ids=lambda p: p.name)
def test_names_for_type_checkers_are_used_only_in_hints(path):
    """D-105: mcp_ref imports typing only under ``if TYPE_CHECKING:`` (``TYPE_CHECKING = False``
    at run time), so those names, and the aliases defined with them, do not exist when the code
    runs: they may appear in annotations (strings under ``from __future__ import annotations``)
    and in other such blocks, never in code that runs, where they would be a NameError."""
    source = path.read_text(encoding="utf-8")
    assert not _type_only_uses_at_run_time(source, _package_type_only_names()), path.name
    if _type_checking_blocks(ast.parse(source)):
        assert "from __future__ import annotations" in source, path.name


def test_the_hint_scan_sees_a_type_only_name_at_run_time():
    """The scanner itself works: a typing name or a package alias used by running code is
    found, and the same names inside hints are not."""
    source = ("from __future__ import annotations\nfrom . import events as ev\n"
              "TYPE_CHECKING = False\n"
              "if TYPE_CHECKING:\n    from typing import Dict, Optional\n"
              "    from .jsonrpc import RequestId\n    Alias = Dict[str, int]\n"
              "def f(x: Optional[RequestId]) -> Alias:\n    y: Dict[str, int] = {}\n"
              "    return isinstance(x, Dict) or Alias or ev.Event or y\n")
    assert _type_only_uses_at_run_time(source, {"Event"}) == [
        (10, "Alias"), (10, "Dict"), (10, "Event")]
    assert _type_only_uses_at_run_time("import typing\nfrom typing import Any\n", set()) == [
        (1, "import typing"), (2, "import typing")]
