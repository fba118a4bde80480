"""Traceability between the catalogue, the matrix, the code and the tests (issue 5).

Four artefacts name the same catalogue IDs (BP-01, LC-05, ...):

* the catalogue, ``../shared/spec/catalogue.md`` relative to the repository root (the
  environment variable ``MCP_REF_CATALOGUE`` may name another file);
* the matrix, ``spec_notes/requirements.md``: one table row per catalogue row of the handshake
  era (2024-11-05 .. 2025-11-25), with the code that carries the rule out and its status;
* the code, ``mcp_ref/*.py``, whose comments cite the IDs;
* the tests, ``tests/**/*.py``, whose ``@pytest.mark.spec("ID", ...)`` markers claim them.

This module reads all four; ``tests/test_traceability.py`` checks them against each other. The
*Tests* column of the matrix is generated from the markers, never edited by hand::

    python3 tests/traceability.py --write    # regenerate the Tests column in place
    python3 tests/traceability.py            # report what --write would change (exit 1 if stale)

Standard library only, like mcp_ref itself.
"""

import argparse
import ast
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, Iterator, List, Optional, Sequence, Set, Tuple

#: The repository root (this file is ``tests/traceability.py``).
REPO = Path(__file__).resolve().parent.parent
TESTS_DIR = REPO / "tests"
PACKAGE_DIR = REPO / "mcp_ref"
MATRIX = REPO / "spec_notes" / "requirements.md"
#: Where CI puts the catalogue: a sibling of the repository, ``../shared/spec/catalogue.md``.
DEFAULT_CATALOGUE = REPO.parent / "shared" / "spec" / "catalogue.md"
CATALOGUE_ENV = "MCP_REF_CATALOGUE"

SECTIONS = ("BP", "ER", "LC", "TR", "PG", "CN", "PR", "TO", "TL", "PN", "LG")
#: A catalogue ID anywhere in text (code comments, markers, the matrix).
ID_PATTERN = re.compile(r"\b(?:BP|ER|LC|TR|PG|CN|PR|TO|TL|PN|LG)-\d\d\b")
#: Catalogue versions: V1 = 2024-11-05 ... V4 = 2025-11-25 (the handshake era), V5 = 2026-07-28.
VERSIONS = {1: "2024-11-05", 2: "2025-03-26", 3: "2025-06-18", 4: "2025-11-25", 5: "2026-07-28"}
HANDSHAKE_ERA = frozenset({1, 2, 3, 4})

#: The heading (first cell) of the matrix column that this module generates.
TESTS_HEADER = "tests"
#: What the Tests column holds when no test claims the ID.
NO_TESTS = "—"
#: Separator between test references in one cell.
TESTS_SEPARATOR = "<br>"


# --- The catalogue --------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogueRow:
    """One row of the catalogue's section 2."""

    id: str
    ver: str                    # the Ver cell as written ("V1–V4", "V2 only", ...)
    versions: FrozenSet[int]    # every version the Ver cell names, ranges expanded
    level: str
    requirement: str
    binds: str

    @property
    def handshake_era(self) -> bool:
        """Does the row hold in any of 2024-11-05 .. 2025-11-25?"""
        return bool(self.versions & HANDSHAKE_ERA)

    @property
    def is_must(self) -> bool:
        """MUST or MUST NOT in any of its forms ("SHOULD→MUST", "MUST (with exception)", ...)."""
        return re.search(r"\bMUST\b", self.level) is not None


def catalogue_path() -> Path:
    """The catalogue file: ``$MCP_REF_CATALOGUE`` if set, else ``../shared/spec/catalogue.md``."""
    override = os.environ.get(CATALOGUE_ENV)
    if override:
        path = Path(override)
        return path if path.is_absolute() else (REPO / path)
    return DEFAULT_CATALOGUE


_RANGE = re.compile(r"V([1-5])\s*[–—-]\s*V?([1-5])")
_SINGLE = re.compile(r"V([1-5])")


def parse_versions(ver: str) -> FrozenSet[int]:
    """Every version a Ver cell names: ``"V1–V4"`` -> {1..4}; ``"V2 only"`` -> {2};
    ``"V5 (implied by V1–V4 step 1)"`` -> {1..5}; ``"V1–V2 SHOULD; V3–V4 MUST"`` -> {1..4}.

    A version named only in a remark ("implied by", "V1 implicit") counts: the catalogue says
    the rule holds there, even if only by implication.
    """
    found: Set[int] = set()
    rest = ver
    for match in _RANGE.finditer(ver):
        low, high = int(match.group(1)), int(match.group(2))
        found.update(range(min(low, high), max(low, high) + 1))
    rest = _RANGE.sub(" ", ver)
    found.update(int(v) for v in _SINGLE.findall(rest))
    return frozenset(found)


def split_row(line: str) -> List[str]:
    """The raw cells of a Markdown table row, split on pipes that are not escaped (``\\|``).

    The first and last items are what lies outside the outer pipes (usually ``""``), so
    ``"|".join(split_row(line)) == line``.
    """
    return re.split(r"(?<!\\)\|", line)


def _cells(line: str) -> List[str]:
    return [cell.strip() for cell in split_row(line.strip())[1:-1]]


def parse_catalogue(text: str) -> Dict[str, CatalogueRow]:
    """Every catalogue row (``| XX-NN | ...``), by ID.

    Rows have seven cells: ID, Ver, Source, Level, Requirement, Binds, Black-box check. One
    row (TR-13) merges Ver and Source into one cell, so the last four cells are read from the
    end.
    """
    rows: Dict[str, CatalogueRow] = {}
    for line in text.splitlines():
        if not line.lstrip().startswith("|"):
            continue
        cells = _cells(line)
        if len(cells) < 6 or not re.fullmatch(r"(?:%s)-\d\d" % "|".join(SECTIONS), cells[0]):
            continue
        ver = cells[1]               # for TR-13 this cell holds the sources too
        rows[cells[0]] = CatalogueRow(id=cells[0], ver=ver, versions=parse_versions(ver),
                                      level=cells[-4], requirement=cells[-3], binds=cells[-2])
    return rows


def load_catalogue(path: Optional[Path] = None) -> Dict[str, CatalogueRow]:
    path = path or catalogue_path()
    return parse_catalogue(path.read_text(encoding="utf-8"))


# --- Test claims: @pytest.mark.spec("ID", ...) ----------------------------------------------


def _is_spec_marker(node: ast.expr) -> bool:
    """``pytest.mark.spec(...)`` or ``mark.spec(...)`` (``from pytest import mark``)."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    func = node.func
    if func.attr != "spec":
        return False
    owner = func.value
    if isinstance(owner, ast.Attribute):
        return owner.attr == "mark"
    return isinstance(owner, ast.Name) and owner.id == "mark"


def _marker_ids(node: ast.expr) -> List[str]:
    """The string arguments of a spec marker, or of each spec marker in a list/tuple."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return [i for element in node.elts for i in _marker_ids(element)]
    if not _is_spec_marker(node):
        return []
    assert isinstance(node, ast.Call)
    return [arg.value for arg in node.args
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]


def _pytestmark(body: Sequence[ast.stmt]) -> List[str]:
    """IDs of a ``pytestmark = pytest.mark.spec(...)`` (or a list of marks) in a body."""
    ids: List[str] = []
    for statement in body:
        if isinstance(statement, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "pytestmark" for t in statement.targets):
            ids.extend(_marker_ids(statement.value))
    return ids


def _decorator_ids(node: ast.AST) -> List[str]:
    ids: List[str] = []
    for decorator in getattr(node, "decorator_list", []):
        ids.extend(_marker_ids(decorator))
    return ids


def _is_fixture(node: ast.AST) -> bool:
    """Decorated with ``pytest.fixture`` (bare or called): pytest does not collect it."""
    for decorator in getattr(node, "decorator_list", []):
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if (isinstance(target, ast.Attribute) and target.attr == "fixture") or (
                isinstance(target, ast.Name) and target.id == "fixture"):
            return True
    return False


def _tests_in(body: Sequence[ast.stmt], prefix: str,
              inherited: Sequence[str]) -> Iterator[Tuple[str, List[str]]]:
    """(node id, claimed IDs) for every test function in a module or class body."""
    for node in body:
        if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and node.name.startswith("test") and not _is_fixture(node)):
            yield prefix + "::" + node.name, list(inherited) + _decorator_ids(node)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            marks = list(inherited) + _decorator_ids(node) + _pytestmark(node.body)
            yield from _tests_in(node.body, prefix + "::" + node.name, marks)


def collected_modules(tests_dir: Path = TESTS_DIR) -> List[Path]:
    """The files under ``tests/`` that pytest collects tests from (its default
    ``python_files``: ``test_*.py`` and ``*_test.py``), in a stable order."""
    return sorted(p for p in tests_dir.rglob("*.py")
                  if "__pycache__" not in p.parts
                  and (p.name.startswith("test_") or p.name.endswith("_test.py")))


def scan_tests(tests_dir: Path = TESTS_DIR) -> Dict[str, List[str]]:
    """Every test function under ``tests_dir`` -> the catalogue IDs it claims (maybe none).

    A test is named ``tests/<file>.py::<function>`` (``tests/<file>.py::<Class>::<method>``
    inside a class), once however many cases it is parametrized with. A marker on a class, or
    a ``pytestmark`` in a class or module, applies to every test in it.
    """
    tests: Dict[str, List[str]] = {}
    for path in collected_modules(tests_dir):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        prefix = path.relative_to(tests_dir.parent).as_posix()
        for node_id, ids in _tests_in(tree.body, prefix, _pytestmark(tree.body)):
            tests[node_id] = sorted(set(ids))
    return tests


def collect_claims(tests_dir: Path = TESTS_DIR) -> Dict[str, List[str]]:
    """Catalogue ID -> the tests that claim it, sorted."""
    claims: Dict[str, Set[str]] = {}
    for node_id, ids in scan_tests(tests_dir).items():
        for catalogue_id in ids:
            claims.setdefault(catalogue_id, set()).add(node_id)
    return {catalogue_id: sorted(refs) for catalogue_id, refs in sorted(claims.items())}


# --- The matrix: spec_notes/requirements.md -------------------------------------------------


@dataclass(frozen=True)
class MatrixRow:
    """One row of a table in the matrix, by column heading (lower case)."""

    id: str
    cells: Dict[str, str]
    section: str          # "in scope" for the main tables, "out of scope" for the last one
    line_number: int

    def get(self, column: str) -> str:
        return self.cells.get(column, "")

    @property
    def code_refs(self) -> List[str]:
        return re.findall(r"`([^`]+)`", self.get("code"))

    @property
    def test_refs(self) -> List[str]:
        return re.findall(r"`([^`]+)`", self.get(TESTS_HEADER))

    @property
    def urls(self) -> List[str]:
        return re.findall(r"https?://[^\s)\]>]+", self.get("spec"))

    @property
    def status(self) -> str:
        return self.get("status")


OUT_OF_SCOPE_HEADING = re.compile(r"^#+\s*Out of scope", re.IGNORECASE)


def _tables(lines: Sequence[str]) -> Iterator[Tuple[int, List[str], str]]:
    """(index of each data row, the table's lower-case headers, section) for every table."""
    headers: Optional[List[str]] = None
    section = "in scope"
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("#"):
            if OUT_OF_SCOPE_HEADING.match(stripped):
                section = "out of scope"
            headers = None
            continue
        if not stripped.startswith("|"):
            headers = None
            continue
        cells = _cells(stripped)
        if headers is None:
            headers = [c.lower() for c in cells]
            continue
        if all(re.fullmatch(r":?-+:?", c) for c in cells):
            continue                  # the |---|---| line
        yield index, headers, section


def parse_matrix(text: str) -> List[MatrixRow]:
    """Every table row of the matrix whose first cell is a catalogue ID."""
    lines = text.splitlines()
    rows: List[MatrixRow] = []
    for index, headers, section in _tables(lines):
        cells = _cells(lines[index])
        if not cells or not re.fullmatch(ID_PATTERN.pattern, cells[0]):
            continue
        rows.append(MatrixRow(id=cells[0], cells=dict(zip(headers, cells)), section=section,
                              line_number=index + 1))
    return rows


def load_matrix(path: Path = MATRIX) -> List[MatrixRow]:
    return parse_matrix(path.read_text(encoding="utf-8"))


def format_tests(refs: Sequence[str]) -> str:
    """The Tests cell for these test references."""
    if not refs:
        return NO_TESTS
    return TESTS_SEPARATOR.join(f"`{ref}`" for ref in refs)


def regenerate(text: str, claims: Dict[str, List[str]]) -> str:
    """``text`` with the Tests cell of every ID row replaced from ``claims``; nothing else
    changes (not even the spacing of the other cells)."""
    lines = text.splitlines(keepends=True)
    for index, headers, _section in _tables([line.rstrip("\n") for line in lines]):
        if TESTS_HEADER not in headers:
            continue
        line = lines[index]
        ending = line[len(line.rstrip("\r\n")):]
        raw = split_row(line.rstrip("\r\n"))
        if len(raw) < 3 or not re.fullmatch(ID_PATTERN.pattern, raw[1].strip()):
            continue
        column = headers.index(TESTS_HEADER) + 1          # raw[0] is before the first pipe
        if column >= len(raw) - 1:
            continue
        raw[column] = " " + format_tests(claims.get(raw[1].strip(), [])) + " "
        lines[index] = "|".join(raw) + ending
    return "".join(lines)


# --- The code -------------------------------------------------------------------------------


def cited_ids(package_dir: Path = PACKAGE_DIR) -> Dict[str, List[str]]:
    """Catalogue IDs cited anywhere in ``mcp_ref/*.py`` -> ``file:line`` where they appear."""
    cited: Dict[str, List[str]] = {}
    for path in sorted(package_dir.glob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for catalogue_id in ID_PATTERN.findall(line):
                cited.setdefault(catalogue_id, []).append(
                    f"{path.relative_to(package_dir.parent).as_posix()}:{number}")
    return cited


def resolve(reference: str) -> object:
    """``module.Class.method`` -> the object ``mcp_ref.module.Class.method``; raises
    ImportError or AttributeError if it does not exist."""
    import importlib
    module_name, _, rest = reference.partition(".")
    obj: object = importlib.import_module("mcp_ref." + module_name)
    for attribute in rest.split(".") if rest else []:
        obj = getattr(obj, attribute)
    return obj


# --- Command line ---------------------------------------------------------------------------


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 tests/traceability.py",
        description="Regenerate or check the Tests column of spec_notes/requirements.md from "
                    "the @pytest.mark.spec markers under tests/.")
    parser.add_argument("--write", action="store_true",
                        help="rewrite the Tests column in place (other columns are untouched)")
    args = parser.parse_args(argv)

    text = MATRIX.read_text(encoding="utf-8")
    claims = collect_claims()
    new = regenerate(text, claims)
    rows = {row.id for row in parse_matrix(text)}
    orphans = sorted(set(claims) - rows)
    for catalogue_id in orphans:
        print(f"warning: {catalogue_id} is claimed by {', '.join(claims[catalogue_id])} but has "
              f"no row in {MATRIX.relative_to(REPO)}", file=sys.stderr)
    if new == text:
        print(f"{MATRIX.relative_to(REPO)}: the Tests column is up to date "
              f"({sum(len(v) for v in claims.values())} claims, {len(claims)} IDs)")
        return 0
    changed = [row.id for row, fresh in zip(parse_matrix(text), parse_matrix(new))
               if row.get(TESTS_HEADER) != fresh.get(TESTS_HEADER)]
    if args.write:
        MATRIX.write_text(new, encoding="utf-8")
        print(f"{MATRIX.relative_to(REPO)}: Tests column regenerated for "
              f"{len(changed)} rows: {', '.join(changed)}")
        return 0
    print(f"{MATRIX.relative_to(REPO)}: the Tests column is stale for {len(changed)} rows: "
          f"{', '.join(changed)}\nrun: python3 tests/traceability.py --write", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
