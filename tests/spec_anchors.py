"""Spec links against the spec text: every page and #anchor the repository cites must exist.

mcp_ref cites the spec everywhere: full URLs (``https://modelcontextprotocol.io/specification/
2025-11-25/basic/lifecycle#initialization``) in code, tests and notes; ``spec_url(page,
anchor)`` calls, whose arguments may be module-level constants; and short forms in prose
(``basic/index#meta``, ``2025-06-18/basic/index#responses``, ``lifecycle#timeouts``). CI has no
copy of the spec, so the anchors of every cited page are kept in a data file,
``spec_notes/spec_anchors.txt``, generated from a git copy of
modelcontextprotocol/modelcontextprotocol::

    python3 tests/spec_anchors.py --write --mirror PATH   # regenerate the file from the spec
    python3 tests/spec_anchors.py --mirror PATH           # is the file still what it gives?
    python3 tests/spec_anchors.py                         # list broken citations (exit 1 if any)

PATH is the spec repository's git directory (a bare mirror will do: pages are read with
``git show``). ``tests/test_spec_links.py`` checks the repository against the file.

A page ``docs/specification/<version>/<path>.mdx`` is served at ``/specification/<version>/
<path>``; an ``index.mdx`` also at its folder (the spec links to both ``basic/index`` and
``basic``). Anchors are what the docs site (Mintlify) makes of each Markdown heading: the text
without inline markup, lowercased, every character but a-z, 0-9, space and hyphen dropped,
spaces turned into hyphens (``### `_meta``` -> ``meta``); and every explicit ``id="..."``
attribute (the member anchors of the schema page, ``schema#error-message``). Checked against
the spec's own cross-links: they all agree but a handful spelled ``%2F``.

Standard library only, like mcp_ref itself.
"""

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterable, List, NamedTuple, Optional, Set, Tuple

#: The repository root (this file is ``tests/spec_anchors.py``).
REPO = Path(__file__).resolve().parent.parent
ANCHOR_FILE = REPO / "spec_notes" / "spec_anchors.txt"
#: What is searched for citations (the anchor file itself excepted).
SCANNED = ("mcp_ref", "tests", "spec_notes", "README.md")
SKIPPED = ANCHOR_FILE.relative_to(REPO)
SUFFIXES = {".py", ".md", ".txt", ".json", ".toml", ".mjs", ".sh"}
#: The revision a citation means when it names none (``spec_url`` and short forms).
PINNED = "2025-11-25"
SPEC_DIR = "docs/specification/"
WRITE = "python3 tests/spec_anchors.py --write --mirror PATH"

VERSION = r"(?:\d{4}-\d{2}-\d{2}|draft)"
#: A full link. The site root without a version (``SPEC_BASE`` being built) is not a citation.
URL = re.compile(r"https?://(?:www\.)?modelcontextprotocol\.io/specification/"
                 r"(" + VERSION + r")(/[A-Za-z0-9_./-]*)?(?:#([A-Za-z0-9_%-]*))?")
#: ``basic/index#meta``, ``2025-06-18/basic/index#responses``, ``schema#error-message``.
SHORT = re.compile(r"(?<![\w/.#-])(?:(" + VERSION + r")/)?"
                   r"((?:basic|server|client|architecture)(?:/[a-z_-]+)*|schema)"
                   r"#([A-Za-z0-9_-]+)")
#: A module constant that names a page (``LIFECYCLE = "basic/lifecycle"``).
PAGE_NAME = re.compile(r"^(?:(?:basic|server|client)(?:/[a-z_-]+)*|schema)$")
#: A module-level ``NAME = "text"`` line (the cheap way: parsing is for files with calls).
CONSTANT = re.compile(r'^([A-Za-z_]\w*) = "([^"\\]*)"$', re.MULTILINE)
#: ``lifecycle#timeouts``: a page's last path component alone (see :func:`resolve`).
LEAF = re.compile(r"(?<![\w/.#-])([a-z][a-z_-]*)#([a-z0-9][a-z0-9_-]*)")


class Citation(NamedTuple):
    where: str  # file:line
    version: str
    path: str  # as cited: "basic/index", "basic", "" (the version's root), or a leaf
    anchor: str  # "" for the page itself
    leaf: bool = False  # path is only a page's last component ("lifecycle#timeouts")

    def __str__(self) -> str:
        return (f"{self.where}: {self.version}/{self.path}"
                + (f"#{self.anchor}" if self.anchor else ""))


# --- Anchors from the spec text ----------------------------------------------------------


def slug(heading: str) -> str:
    """The anchor Mintlify gives a Markdown heading."""
    text = re.sub(r"<[^>]+>", "", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[^a-z0-9 -]", "", text.strip().lower())
    return text.strip().replace(" ", "-")


def page_anchors(mdx: str) -> Set[str]:
    """Every anchor of one page: its headings (outside code fences) and its ``id`` attributes."""
    anchors = set(re.findall(r'\bid="([^"]+)"', mdx))
    fenced = False
    for line in mdx.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        heading = None if fenced else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            anchors.add(slug(heading.group(1)))
    return anchors


# --- Citations in the repository --------------------------------------------------------


def scan_text(where: str, text: str) -> List[Citation]:
    """The links and short forms in one text, line by line."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if "#" not in line and "modelcontextprotocol.io" not in line:
            continue
        at = f"{where}:{number}"
        for m in URL.finditer(line):
            path = (m.group(2) or "").strip("/.")
            found.append(Citation(at, m.group(1), path, m.group(3) or ""))
        rest = URL.sub(" ", line)
        for m in SHORT.finditer(rest):
            found.append(Citation(at, m.group(1) or PINNED, m.group(2), m.group(3)))
        rest = SHORT.sub(" ", rest)
        for m in LEAF.finditer(rest):
            found.append(Citation(at, PINNED, m.group(1), m.group(2), leaf=True))
    return found


def _module_strings(tree: ast.Module) -> Dict[str, str]:
    """Module-level ``NAME = "text"`` assignments."""
    names = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = node.value.value
    return names


def scan_spec_url_calls(where: str, tree: ast.Module,
                        imported: Dict[str, str]) -> Tuple[List[Citation], List[str]]:
    """``spec_url(page, anchor)`` calls, their arguments resolved; and those that cannot be."""
    names = dict(imported)
    names.update(_module_strings(tree))
    found, unresolved = [], []
    for node in ast.walk(tree):
        func = getattr(node, "func", None)
        if not isinstance(node, ast.Call) or not node.args or \
                getattr(func, "id", getattr(func, "attr", None)) != "spec_url":
            continue
        values = []
        for arg in node.args[:2]:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                values.append(arg.value)
            elif isinstance(arg, ast.Name) and arg.id in names:
                values.append(names[arg.id])
            else:
                values.append(None)
        at = f"{where}:{node.lineno}"
        if None in values:
            unresolved.append(f"{at}: spec_url() with an argument that is neither a string "
                              "nor a module-level string constant")
        else:
            found.append(Citation(at, PINNED, values[0], values[1] if len(values) > 1 else ""))
    return found, unresolved


def _files(repo: Path) -> Iterable[Path]:
    for name in SCANNED:
        top = repo / name
        paths = [top] if top.is_file() else sorted(top.rglob("*"))
        for path in paths:
            if path.is_file() and path.suffix in SUFFIXES and path.relative_to(repo) != SKIPPED:
                yield path


def collect(repo: Path = REPO) -> Tuple[List[Citation], List[str]]:
    """Every spec citation under ``repo``; and the ``spec_url`` calls that cannot be read."""
    citations, unresolved = [], []
    texts = {}
    for path in _files(repo):
        rel = path.relative_to(repo).as_posix()
        texts[rel] = text = path.read_text(encoding="utf-8")
        citations.extend(scan_text(rel, text))
    # Constants that name pages are cited too, and travel by import (lifecycle.LIFECYCLE).
    package = {}
    for rel, text in texts.items():
        if rel.startswith("mcp_ref/") and rel.endswith(".py"):
            package[rel[len("mcp_ref/"):-len(".py")]] = strings = dict(CONSTANT.findall(text))
            citations.extend(Citation(f"{rel}:{name}", PINNED, value, "")
                             for name, value in strings.items() if PAGE_NAME.match(value))
    for rel, text in texts.items():
        if not rel.endswith(".py") or "spec_url(" not in text:
            continue  # parsing every file would take most of a second
        tree = ast.parse(text, rel)
        imported = {}
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module:
                module = package.get(node.module.split(".")[-1], {})
                for alias in node.names:
                    if alias.name in module:
                        imported[alias.asname or alias.name] = module[alias.name]
        found, bad = scan_spec_url_calls(rel, tree, imported)
        citations.extend(found)
        unresolved.extend(bad)
    return citations, unresolved


# --- Checking ------------------------------------------------------------------------------


class Known(NamedTuple):
    pages: Set[str]  # "2025-11-25/basic/index"
    anchors: Set[str]  # "2025-11-25/basic/index#meta"


def resolve(citation: Citation, pages: Set[str]) -> Optional[str]:
    """The page (``version/path`` of its .mdx) a citation points to, or None."""
    version, path = citation.version, citation.path.strip("/")
    if citation.leaf:
        hits = [p for p in pages if p.startswith(version + "/") and p.rsplit("/", 1)[-1] == path]
        return hits[0] if len(hits) == 1 else None
    for candidate in ([f"{version}/{path}", f"{version}/{path}/index"] if path
                      else [f"{version}/index"]):
        if candidate in pages:
            return candidate
    return None


def problems(citations: Iterable[Citation], known: Known) -> List[str]:
    """One line per citation whose page or anchor the spec lacks (leaf forms that name no
    cited page are prose, not citations, and pass)."""
    bad = []
    for citation in citations:
        page = resolve(citation, known.pages)
        if page is None:
            if not citation.leaf:
                bad.append(f"{citation}: no such page")
        elif citation.anchor and f"{page}#{citation.anchor}" not in known.anchors:
            bad.append(f"{citation}: no anchor #{citation.anchor} on {page}")
    return bad


def load(path: Path = ANCHOR_FILE) -> Known:
    pages, anchors = set(), set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        (anchors if "#" in line else pages).add(line.strip())
    return Known(pages, anchors)


# --- Generating the file from the spec ------------------------------------------------------


def _git(mirror: str, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", mirror, *args], check=True,
                          capture_output=True, text=True, encoding="utf-8").stdout


def generate(mirror: str, rev: str = "HEAD", repo: Path = REPO) -> str:
    """The anchor file's text: every anchor of every page the repository cites."""
    commit, date = _git(mirror, "log", "-1", "--format=%H %cs", rev).split()
    every = [name[len(SPEC_DIR):-len(".mdx")] for name in
             _git(mirror, "ls-tree", "-r", "--name-only", commit, SPEC_DIR).splitlines()
             if name.endswith(".mdx")]
    citations, _ = collect(repo)
    cited = sorted({p for p in (resolve(c, set(every)) for c in citations) if p})
    lines = [
        "# Anchors of the spec pages mcp_ref cites: a line `version/page` per page (its .mdx",
        "# path under docs/specification/), then `version/page#anchor` per heading slug or",
        "# id=\"...\" on it. Generated by tests/spec_anchors.py from",
        f"# modelcontextprotocol/modelcontextprotocol {commit} ({date}).",
        f"# Do not edit; regenerate: {WRITE}",
    ]
    for page in cited:
        lines.append(page)
        text = _git(mirror, "show", f"{commit}:{SPEC_DIR}{page}.mdx")
        lines.extend(f"{page}#{anchor}" for anchor in sorted(page_anchors(text)))
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true",
                        help=f"regenerate {ANCHOR_FILE.relative_to(REPO)} (needs --mirror)")
    parser.add_argument("--mirror", help="git directory of modelcontextprotocol/"
                        "modelcontextprotocol (a bare mirror will do)")
    parser.add_argument("--rev", default="HEAD", help="the spec commit to read (default HEAD)")
    args = parser.parse_args(argv)
    if args.write:
        if not args.mirror:
            parser.error("--write needs --mirror")
        ANCHOR_FILE.write_text(generate(args.mirror, args.rev), encoding="utf-8")
    elif args.mirror:              # without --write: is the file still what the spec gives?
        def body(text: str) -> List[str]:
            return [line for line in text.splitlines() if not line.startswith("#")]
        if body(generate(args.mirror, args.rev)) != body(ANCHOR_FILE.read_text("utf-8")):
            print(f"{ANCHOR_FILE.relative_to(REPO)} differs from the spec at {args.mirror} "
                  f"{args.rev}; run {WRITE}")
            return 1
    known = load()
    citations, bad = collect()
    bad += problems(citations, known)
    for line in bad:
        print(line)
    print(f"{len(citations)} citations, {len(known.pages)} pages, "
          f"{len(known.anchors)} anchors known; {len(bad)} broken", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
