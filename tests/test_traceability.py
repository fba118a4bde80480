"""The traceability matrix (spec_notes/requirements.md) against the catalogue, the code and the
tests, both ways. See tests/traceability.py for the parsing and the generator.

The catalogue lives outside the repository (``../shared/spec/catalogue.md``; CI always has it).
Checks that need it are skipped, with the reason, when it is absent.
"""

import re
import textwrap
from pathlib import Path
from typing import Dict, List

import pytest

import traceability as tr

WRITE = "python3 tests/traceability.py --write"
STATUS = re.compile(r"^(implemented|partial: \S.*|n/a: \S.*)$")
SPEC_URL = re.compile(r"^https://modelcontextprotocol\.io/specification/"
                      r"(2024-11-05|2025-03-26|2025-06-18|2025-11-25)(/[A-Za-z0-9_/.-]*)?"
                      r"(#[a-z0-9_-]+)?$")


@pytest.fixture(scope="module")
def catalogue() -> Dict[str, tr.CatalogueRow]:
    path = tr.catalogue_path()
    if not path.is_file():
        pytest.skip(f"the catalogue is not at {path} (CI puts it at ../shared/spec/catalogue.md "
                    f"relative to the repository root; set {tr.CATALOGUE_ENV} to point "
                    "elsewhere)")
    rows = tr.load_catalogue(path)
    assert rows, f"no catalogue rows found in {path}"
    return rows


@pytest.fixture(scope="module")
def matrix() -> List[tr.MatrixRow]:
    rows = tr.load_matrix()
    assert rows, f"no rows found in {tr.MATRIX}"
    return rows


@pytest.fixture(scope="module")
def known_tests() -> Dict[str, List[str]]:
    return tr.scan_tests()


def _in_scope(matrix: List[tr.MatrixRow]) -> List[tr.MatrixRow]:
    return [row for row in matrix if row.section == "in scope"]


def _out_of_scope(matrix: List[tr.MatrixRow]) -> List[tr.MatrixRow]:
    return [row for row in matrix if row.section == "out of scope"]


# --- Catalogue -> matrix ----------------------------------------------------------------------


def test_every_handshake_era_id_has_exactly_one_row(catalogue, matrix):
    era = sorted(i for i, row in catalogue.items() if row.handshake_era)
    counts: Dict[str, int] = {}
    for row in _in_scope(matrix):
        counts[row.id] = counts.get(row.id, 0) + 1
    missing = [i for i in era if i not in counts]
    doubled = sorted(i for i, n in counts.items() if n > 1)
    assert not missing, f"catalogue rows with no row in {tr.MATRIX.name}: {', '.join(missing)}"
    assert not doubled, f"IDs with more than one row in {tr.MATRIX.name}: {', '.join(doubled)}"


def test_no_row_for_an_unknown_id(catalogue, matrix):
    unknown = sorted({row.id for row in matrix if row.id not in catalogue})
    assert not unknown, f"rows for IDs the catalogue does not have: {', '.join(unknown)}"


def test_2026_07_28_only_ids_are_only_in_the_out_of_scope_section(catalogue, matrix):
    modern = sorted(i for i, row in catalogue.items() if not row.handshake_era)
    in_scope = sorted(row.id for row in _in_scope(matrix) if row.id in modern)
    assert not in_scope, ("rows that hold only in 2026-07-28 belong in the section "
                          f"'Out of scope (2026-07-28 only)': {', '.join(in_scope)}")
    listed = [row.id for row in _out_of_scope(matrix)]
    misplaced = sorted(i for i in listed if i in catalogue and catalogue[i].handshake_era)
    assert not misplaced, f"handshake-era rows in the out-of-scope section: {', '.join(misplaced)}"
    missing = [i for i in modern if i not in listed]
    doubled = sorted({i for i in listed if listed.count(i) > 1})
    assert not missing, f"2026-07-28-only IDs missing from the out-of-scope section: {missing}"
    assert not doubled, f"IDs listed twice in the out-of-scope section: {doubled}"


def test_levels_match_the_catalogue(catalogue, matrix):
    wrong = [f"{row.id}: {row.get('level')!r} (catalogue: {catalogue[row.id].level!r})"
             for row in _in_scope(matrix)
             if row.id in catalogue and row.get("level") != catalogue[row.id].level]
    assert not wrong, "level differs from the catalogue:\n" + "\n".join(wrong)


# --- Matrix -> code ---------------------------------------------------------------------------


def test_every_status_is_well_formed(matrix):
    bad = [f"{row.id}: {row.status!r}" for row in _in_scope(matrix)
           if not STATUS.match(row.status)]
    assert not bad, ("status must be 'implemented', 'partial: <what is missing>' or "
                     "'n/a: <why>':\n" + "\n".join(bad))


def test_every_code_location_exists(matrix):
    broken = []
    for row in _in_scope(matrix):
        for reference in row.code_refs:
            try:
                tr.resolve(reference)
            except (ImportError, AttributeError) as exc:
                broken.append(f"{row.id}: `{reference}` ({type(exc).__name__}: {exc})")
    assert not broken, "code locations that do not exist in mcp_ref:\n" + "\n".join(broken)


def test_implemented_and_partial_rows_name_their_code(matrix):
    bare = [row.id for row in _in_scope(matrix)
            if not row.status.startswith("n/a") and not row.code_refs]
    assert not bare, f"rows that are (partly) implemented but name no code: {', '.join(bare)}"


def test_every_spec_link_is_versioned(matrix):
    bad = []
    for row in _in_scope(matrix):
        if not row.urls:
            bad.append(f"{row.id}: no spec link")
        bad.extend(f"{row.id}: {url}" for url in row.urls if not SPEC_URL.match(url))
    text = tr.MATRIX.read_text(encoding="utf-8")
    for url in re.findall(r"https?://(?:www\.)?modelcontextprotocol\.io[^\s)\]>`|]*", text):
        if not SPEC_URL.match(url):
            bad.append(f"elsewhere in {tr.MATRIX.name}: {url}")
    assert not bad, ("spec links must start with https://modelcontextprotocol.io/specification/ "
                     "and name a revision (2024-11-05 .. 2025-11-25):\n" + "\n".join(bad))


# --- Matrix <-> tests -------------------------------------------------------------------------


def test_every_listed_test_exists(matrix, known_tests):
    ghosts = [f"{row.id}: {ref}" for row in matrix for ref in row.test_refs
              if ref not in known_tests]
    assert not ghosts, (f"tests named in {tr.MATRIX.name} that do not exist (run {WRITE}):\n"
                        + "\n".join(ghosts))


def test_tests_column_equals_the_markers(matrix):
    claims = tr.collect_claims()
    stale = []
    for row in matrix:
        expected = tr.format_tests(claims.get(row.id, []))
        if row.get(tr.TESTS_HEADER) != expected:
            have, want = set(row.test_refs), set(claims.get(row.id, []))
            detail = []
            if want - have:
                detail.append("unlisted: " + ", ".join(sorted(want - have)))
            if have - want:
                detail.append("no longer claiming it: " + ", ".join(sorted(have - want)))
            stale.append(f"{row.id}: " + ("; ".join(detail) or "order or format differs"))
    assert not stale, (f"the Tests column of {tr.MATRIX.name} is out of date; run {WRITE}\n"
                       + "\n".join(stale))


def test_every_claimed_id_has_a_row(matrix):
    rows = {row.id for row in matrix}
    orphans = {i: refs for i, refs in tr.collect_claims().items() if i not in rows}
    assert not orphans, ("tests claim IDs that have no row in the matrix:\n"
                         + "\n".join(f"{i}: {', '.join(refs)}" for i, refs in orphans.items()))


def test_markers_claim_only_catalogue_ids(catalogue):
    unknown = {i: refs for i, refs in tr.collect_claims().items() if i not in catalogue}
    assert not unknown, ("@pytest.mark.spec names IDs the catalogue does not have:\n"
                         + "\n".join(f"{i!r}: {', '.join(refs)}" for i, refs in unknown.items()))


def test_every_implemented_must_has_a_test(catalogue, matrix):
    untested = [row.id for row in _in_scope(matrix)
                if row.status == "implemented" and row.id in catalogue
                and catalogue[row.id].is_must and not row.test_refs]
    assert not untested, (
        f"{len(untested)} rows are MUST / MUST NOT and marked implemented, but no test claims "
        f"them: {', '.join(untested)}. Add a test marked @pytest.mark.spec(\"<ID>\") for each "
        f"(then run {WRITE}); do not change the status to hide the gap.")


# --- Code -> catalogue ------------------------------------------------------------------------


def test_ids_cited_in_the_code_exist(catalogue):
    unknown = {i: where for i, where in tr.cited_ids().items() if i not in catalogue}
    assert not unknown, ("mcp_ref cites IDs that the catalogue does not have:\n"
                         + "\n".join(f"{i}: {', '.join(w)}" for i, w in unknown.items()))


# --- The tools themselves ---------------------------------------------------------------------


@pytest.mark.parametrize("ver,expected", [
    ("V1–V4", {1, 2, 3, 4}),
    ("V1–V5", {1, 2, 3, 4, 5}),
    ("V5", {5}),
    ("V2 only", {2}),
    ("V4–V5", {4, 5}),
    ("V1–V2 SHOULD; V3–V4 MUST", {1, 2, 3, 4}),
    ("V5 (implied by V1–V4 step 1)", {1, 2, 3, 4, 5}),
    ("V3–V5 (V2 allows batches; V1 implicit)", {1, 2, 3, 4, 5}),
    ("V1–V4: lifecycle § Shutdown › stdio; V5: stdio § Shutdown", {1, 2, 3, 4, 5}),
])
def test_parse_versions(ver, expected):
    assert tr.parse_versions(ver) == frozenset(expected)


def test_catalogue_parser_reads_the_last_columns_from_the_end():
    text = textwrap.dedent("""\
        | ID | Ver | Source | Level | Requirement (paraphrase) | Binds | Black-box check |
        |---|---|---|---|---|---|---|
        | LC-05 | V1–V4 | § Initialization | MUST | Send it. | C | Check. |
        | TR-13 | V1–V4: lifecycle § Shutdown; V5: stdio | SHOULD | Ladder. | C | Check. |
        | XX-01 | V1 | s | MUST | not a section | C | c |
        """)
    rows = tr.parse_catalogue(text)
    assert sorted(rows) == ["LC-05", "TR-13"]
    assert (rows["TR-13"].level, rows["TR-13"].binds) == ("SHOULD", "C")
    assert rows["LC-05"].is_must and not rows["TR-13"].is_must


def test_marker_scan(tmp_path: Path):
    tests_dir = tmp_path / "tests"
    (tests_dir / "sub").mkdir(parents=True)
    (tests_dir / "test_a.py").write_text(textwrap.dedent("""\
        import pytest
        from pytest import mark

        pytestmark = [pytest.mark.slow, pytest.mark.spec("TR-01")]

        @pytest.mark.spec("LC-02", "LC-03")
        @pytest.mark.parametrize("x", [1, 2])
        def test_one(x):
            pass

        def test_unmarked():
            pass

        @mark.spec("CN-03")
        class TestGroup:
            pytestmark = pytest.mark.spec("CN-02")

            @pytest.mark.spec("CN-01")
            def test_method(self):
                pass

            def helper(self):
                pass

        def helper_not_a_test():
            pass

        @pytest.fixture(scope="module")
        def tests_data():
            return []
        """), encoding="utf-8")
    (tests_dir / "sub" / "test_b.py").write_text(
        '@__import__("pytest").mark.spec("PG-02")\nasync def test_async():\n    pass\n',
        encoding="utf-8")
    (tests_dir / "helpers.py").write_text(
        'import pytest\n@pytest.mark.spec("BP-01")\ndef test_not_collected():\n    pass\n',
        encoding="utf-8")

    assert tr.scan_tests(tests_dir) == {
        "tests/test_a.py::test_one": ["LC-02", "LC-03", "TR-01"],
        "tests/test_a.py::test_unmarked": ["TR-01"],
        "tests/test_a.py::TestGroup::test_method": ["CN-01", "CN-02", "CN-03", "TR-01"],
        "tests/sub/test_b.py::test_async": ["PG-02"],
    }
    assert tr.collect_claims(tests_dir)["CN-03"] == ["tests/test_a.py::TestGroup::test_method"]
    assert "BP-01" not in tr.collect_claims(tests_dir)


def test_regenerate_touches_only_the_tests_column():
    text = textwrap.dedent("""\
        # Matrix

        | ID | level | rule | spec | code | tests | status |
        |---|---|---|---|---|---|---|
        | LC-02 | MUST | First.  | [x](https://e/x) | `lifecycle.ALLOWED` | — | implemented |
        | LC-03 |  MUST | Open \\| close. | [y](https://e/y) | `a.b` | `tests/o.py::t` | n/a: no |

        ## Out of scope (2026-07-28 only)

        | ID | what | tests |
        |---|---|---|
        | LC-41 | fallback | — |
        """)
    claims = {"LC-02": ["tests/t.py::a", "tests/t.py::b"], "LC-41": ["tests/t.py::c"]}
    new = tr.regenerate(text, claims)
    old_lines, new_lines = text.splitlines(), new.splitlines()
    assert len(old_lines) == len(new_lines)
    changed = [(o, n) for o, n in zip(old_lines, new_lines) if o != n]
    assert changed == [
        (old_lines[4], "| LC-02 | MUST | First.  | [x](https://e/x) | `lifecycle.ALLOWED` | "
                       "`tests/t.py::a`<br>`tests/t.py::b` | implemented |"),
        (old_lines[5], "| LC-03 |  MUST | Open \\| close. | [y](https://e/y) | `a.b` | — "
                       "| n/a: no |"),
        (old_lines[11], "| LC-41 | fallback | `tests/t.py::c` |"),
    ]
    rows = tr.parse_matrix(new)
    assert [(r.id, r.section) for r in rows] == [
        ("LC-02", "in scope"), ("LC-03", "in scope"), ("LC-41", "out of scope")]
    assert rows[1].get("rule") == "Open \\| close."
    assert tr.regenerate(new, claims) == new
