"""Every spec page and #anchor the repository cites exists in the spec text.

CI has no copy of the spec: the anchors of the cited pages are in spec_notes/spec_anchors.txt,
generated from the spec's git repository by tests/spec_anchors.py (its docstring says how).
A new link to a page the file lacks fails here until the file is regenerated.
"""

import pytest

import spec_anchors as sa

#: Written in two pieces so that this file cites nothing itself.
SITE = "https://modelcontextprotocol.io/" + "specification/"


@pytest.fixture(scope="module")
def known() -> sa.Known:
    return sa.load()


@pytest.fixture(scope="module")
def collected():
    return sa.collect()


def test_every_cited_page_and_anchor_is_in_the_spec(known, collected):
    citations, unresolved = collected
    assert len(citations) > 300, "the collector found too few citations to be working"
    bad = unresolved + sa.problems(citations, known)
    assert not bad, ("spec citations whose page or anchor the spec lacks (see the heading on "
                     f"the page; if the spec moved on, {sa.WRITE}):\n" + "\n".join(bad))


def test_the_file_holds_only_pages_the_repository_cites(known, collected):
    cited = {sa.resolve(c, known.pages) for c in collected[0]}
    assert known.pages - cited == set(), f"pages nobody cites any more; run {sa.WRITE}"


def test_broken_links_of_every_form_are_caught(known):
    version = sa.PINNED + "/"
    text = "\n".join([
        SITE + version + "basic/lifecycle" + "#initialisation",  # no such anchor
        SITE + version + "basic/lifecycel" + "#initialization",  # no such page
        SITE + "2025-03-26/basic/index" + "#batching",  # fine in that revision
        SITE + "2025-06-18/basic/index" + "#batching",  # gone from this one
        "see " + "basic/index" + "#meta and " + "basic/index" + "#metadata",
        "(" + "lifecycle" + "#timeout)",
    ])
    bad = sa.problems(sa.scan_text("x.md", text), known)
    assert [line.split(": ", 1)[0] for line in bad] == ["x.md:1", "x.md:2", "x.md:4", "x.md:5",
                                                        "x.md:6"], bad
    assert "#metadata" in bad[3]


def test_spec_url_calls_are_read_through_constants(known):
    import ast
    source = ("from .lifecycle import LIFECYCLE\n_PING = 'basic/utilities/ping'\n"
              "a = spec_url(_PING, 'behavior-requirements')\n"
              "b = spec.spec_url(LIFECYCLE, 'shutdown-phase')\n"
              "c = spec_url(page_of(x), 'stdio')\n")
    found, unresolved = sa.scan_spec_url_calls("m.py", ast.parse(source),
                                                {"LIFECYCLE": "basic/lifecycle"})
    assert [str(c) for c in found] == [f"m.py:3: {sa.PINNED}/basic/utilities/ping"
                                       "#behavior-requirements",
                                       f"m.py:4: {sa.PINNED}/basic/lifecycle#shutdown-phase"]
    assert sa.problems(found, known) == [f"{found[1]}: no anchor #shutdown-phase on "
                                         f"{sa.PINNED}/basic/lifecycle"]
    assert len(unresolved) == 1 and unresolved[0].startswith("m.py:5:")


@pytest.mark.parametrize("heading, anchor", [
    ("Initialization", "initialization"),
    ("Version Negotiation", "version-negotiation"),
    ("stdio", "stdio"),
    ("`_meta`", "meta"),
    ("`CancelledNotification`", "cancellednotification"),
    ("Default dialect (2020-12):", "default-dialect-2020-12"),
    ("[Tool](#tool) Names", "tool-names"),
])
def test_heading_slugs_follow_the_docs_site(heading, anchor):
    assert sa.slug(heading) == anchor
