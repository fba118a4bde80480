"""JSON Schema's pattern and patternProperties, run without backtracking (D-128).

mcp_ref._pattern reads a subset of ECMA-262's regular expressions and runs them as an
automaton, in time bounded by the string's length times the automaton's size; shapes uses it
for ``pattern`` (2020-12 validation §6.3.3) and ``patternProperties`` (core §10.3.2.2), for
TL-14 (a tool's arguments) and TL-09 (structuredContent). Where the subset has no answer
(a construct outside it, a pattern too big, too much work) the verdict is unknown: no problem
is reported, the law of D-46 and D-49.
"""

import random
import re

import pytest

from mcp_ref import _pattern, shapes
from pattern_kit import ALPHABET, UNSUPPORTED, re_compatible_pattern

URIS = {"2020-12": "https://json-schema.org/draft/2020-12/schema",
        "2019-09": "https://json-schema.org/draft/2019-09/schema",
        "draft-07": "http://json-schema.org/draft-07/schema#",
        "draft-06": "http://json-schema.org/draft-06/schema#",
        "draft-04": "http://json-schema.org/draft-04/schema#"}


def problems(value, schema, dialect=None):
    if dialect is not None:
        schema = dict(schema, **{"$schema": URIS[dialect]})
    return shapes.object_problems(value, schema, "v")


# --- The matcher alone ------------------------------------------------------------------------

#: (pattern, string, ECMA-262's answer with the u flag). Those marked "re differs" are where
#: Python's re (and so the jsonschema package) answers otherwise: ECMA-262 is the spec.
MATCHES = [
    ("^[a-z]+$", "abc", True), ("^[a-z]+$", "ABC", False), ("^[a-z]+$", "", False),
    ("b", "abc", True),                         # not anchored: anywhere in the string
    ("^b", "abc", False), ("c$", "abc", True), ("a$", "abc", False), ("", "x", True),
    ("^$", "", True), ("^$", "x", False),
    ("a|b", "xbx", True), ("^(ab|cd)*$", "abcdab", True), ("^(ab|cd)*$", "abcda", False),
    ("^(?:ab)+$", "abab", True), ("^(?:ab)+$", "", False), ("^x?y$", "y", True),
    ("^a{2}$", "aa", True), ("^a{2}$", "aaa", False), ("^a{2,}$", "aaaa", True),
    ("^a{2,3}$", "a", False), ("^a{2,3}$", "aaa", True), ("^a{2,3}$", "aaaa", False),
    ("^a{0}$", "", True), ("^a{0,1}b$", "b", True),
    ("^a*?b$", "aab", True), ("^a+?$", "aa", True), ("^a??b$", "ab", True),    # lazy forms
    ("^a{1,2}?$", "aa", True), ("^(a*)*$", "aaa", True), ("^()*a$", "a", True),
    ("^.$", "x", True), ("^.$", "\n", False), ("^.$", "\r", False),
    ("^.$", "\u2028", False), ("^.$", "\u2029", False),
    ("^.$", "\U0001F600", True),                # the u flag: one code point, one character
    ("^\\d+$", "0123456789", True), ("^\\d$", "\u0663", False),   # re differs (any digit)
    ("^\\D$", "\u0663", True), ("^\\w+$", "aZ0_", True), ("^\\w$", "\u00e9", False),  # re...
    ("^\\W$", "-", True), ("^\\s$", " ", True), ("^\\s$", "\t", True), ("^\\s$", "\n", True),
    ("^\\s$", "\u00a0", True), ("^\\s$", "\u3000", True), ("^\\s$", "\u2028", True),
    ("^\\s$", "\ufeff", True),                  # re differs: U+FEFF is not space to Python
    ("^\\s$", "\x1c", False), ("^\\s$", "\x85", False),      # re differs: space to Python
    ("^\\S$", "a", True), ("^\\S$", " ", False),
    ("^abc$", "abc\n", False),                  # re differs: its $ matches before a final \n
    ("^\\t\\n\\r\\v\\f$", "\t\n\r\x0b\x0c", True), ("^\\u0041$", "A", True),
    ("^\\uD83D\\uDE00$", "\U0001F600", True),   # re differs: a surrogate pair is one code point
    ("^\\uD83D$", "\ud83d", True),              # a lone surrogate is a code point of its own
    ("^\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\/\\^\\$\\\\$", ".*+?()[]{}|/^$\\", True),
    ("^[abc]$", "b", True), ("^[^abc]$", "b", False), ("^[^abc]$", "\n", True),
    ("^[a-cx-z]+$", "abxz", True), ("^[a-c]$", "d", False), ("^[\\d_]+$", "1_2", True),
    ("^[\\w-]+$", "a-b", True), ("^[-a]+$", "-a", True), ("^[a-]+$", "-a", True),
    ("^[\\-]$", "-", True), ("^[.*+?(){}|]+$", ".*+?(){}|", True), ("^[^]$", "\n", True),
    ("[]", "a", False),                         # ECMA: an empty class matches nothing
    ("^[\\s]$", "\ufeff", True), ("^[\\S]$", " ", False), ("^[\\u0041-\\u0043]$", "B", True),
    ("^[\\uD83D\\uDE00]$", "\U0001F600", True), ("/", "a/b", True), ("-", "a-b", True),
    ("^\U0001F600+$", "\U0001F600\U0001F600", True), ("^caf\u00e9$", "caf\u00e9", True),
]


@pytest.mark.spec("BP-34", "TL-14", "TL-09")
@pytest.mark.parametrize("source, text, expected", MATCHES)
def test_the_matcher_gives_ecma_262s_answer(source, text, expected):
    assert _pattern.search(source, text) is expected


@pytest.mark.spec("BP-34")
@pytest.mark.parametrize("source", UNSUPPORTED)
def test_a_construct_outside_the_subset_has_no_answer(source):
    assert _pattern.compiled(source) is None
    assert _pattern.search(source, "a") is None
    assert shapes.verdict("a", {"pattern": source}) is None
    assert problems({"a": "b"}, {"properties": {"a": {"pattern": source}}}) == []


@pytest.mark.spec("BP-34")
def test_a_pattern_whose_automaton_would_be_too_big_is_refused_unbuilt():
    """Counted repetitions are written out: a{2000} is 2000 states, the most built
    (MAX_STATES); one more is refused, and so is a{1000} repeated a thousand times, whose
    million states are counted, not built. A pattern longer than MAX_LENGTH is refused
    unread."""
    assert _pattern.MAX_STATES == 2000
    assert _pattern.search("a{2000}", "b" + "a" * 2000) is True
    assert _pattern.compiled("a{2001}") is None
    assert _pattern.compiled("(a{1000}){1000}") is None
    assert _pattern.compiled("(?:(?:a{99999999}){99999999}){99999999}") is None
    assert _pattern.compiled("a" * (_pattern.MAX_LENGTH + 1)) is None
    assert _pattern.search("a" * 1000 + "b", "a" * 1000 + "b") is True


@pytest.mark.spec("BP-34", "TL-09")
@pytest.mark.parametrize("source, text, expected", [
    ("(a+)+$", "a" * 30000 + "!", False), ("(a+)+$", "a" * 30000, True),
    ("(a|a)*b", "a" * 30000, False), ("^(a|aa)+$", "a" * 30000 + "b", False),
    ("(x+x+)+y", "x" * 30000, False), ("^(\\w+\\s?)*$", "word " * 6000 + "!", False)],
    ids=lambda x: x if not isinstance(x, str) or len(x) < 20 else f"{x[:6]}...({len(x)})")
def test_a_pattern_that_backtracks_for_ever_in_re_ends_at_once(source, text, expected):
    """Each of these takes exponential time in a backtracking engine (re, or a browser's
    without its own guard); here the work is the string's length times the automaton's
    size. No timing is asserted: each must simply return, with the right answer, well
    within the suite's bounds. Through shapes the same pattern costs steps of MAX_STEPS."""
    assert _pattern.search(source, text) is expected
    verdict = shapes.verdict(text, {"pattern": source})
    assert verdict in (expected, None)              # None: more work than MAX_STEPS
    assert shapes.verdict(text[:3000], {"pattern": source}) is _pattern.search(source,
                                                                                  text[:3000])


@pytest.mark.spec("BP-34", "TL-09")
def test_the_matchers_work_is_paid_from_the_checks_steps():
    """The matcher's work (a unit per automaton state entered, per character) counts
    against MAX_STEPS: a string too long to match within them has no verdict, and a
    pattern a $ref repeats thousands of times costs no more than MAX_STEPS in all."""
    import time
    assert shapes.verdict("a" * 30000, {"pattern": "(a|a)*b"}) is False
    assert shapes.verdict("a" * 300000, {"pattern": "(a|a)*b"}) is None
    assert problems("a" * 300000, {"pattern": "(a|a)*b"}) == []

    def again(target, combinator="allOf", times=8000):
        return {"$defs": {"t": target}, combinator: [{"$ref": "#/$defs/t"}] * times}
    cases = [("a" * 1000, again({"pattern": "(a|a)*b"}, "anyOf")),
             ("a" * 1000, again({"pattern": "(a|a)*b"})),
             ({"a" * 500: 1}, again({"patternProperties": {"(a|a)*b": False}})),
             ({"k%d" % i: 1 for i in range(2000)},
              again({"patternProperties": {"^k(1|11)*$": {}}, "additionalProperties": False})),
             ("x", again({"pattern": "a" * 5000})),
             ("x", again({"pattern": "(?:" * 30 + "a{60}" + ")" * 30}))]
    for value, schema in cases:
        started = time.process_time()
        shapes.object_problems(value, schema, "v")
        shapes.verdict(value, schema)
        assert time.process_time() - started < 2, str(schema)[:80]


# --- In shapes: pattern, patternProperties, additionalProperties beside them -----------------

@pytest.mark.spec("BP-34", "TL-14", "TL-09")
def test_pattern_is_checked_on_strings_only():
    """Validation §6.3.3: a string is valid when the pattern matches it, anywhere in it;
    other values ignore pattern. A pattern that is not a string is malformed: no rule."""
    rule = {"properties": {"id": {"pattern": "^[a-z]+$"}}}
    assert problems({"id": "abc"}, rule) == []
    assert problems({"id": "ABC"}, rule) == ["v.id: 'ABC' does not match the pattern '^[a-z]+$'"]
    assert problems({"id": 12}, rule) == problems({"id": None}, rule) == []
    assert shapes.verdict({"id": 12}, rule) is True
    assert shapes.verdict("xaby", {"pattern": "ab"}) is True       # not anchored
    assert shapes.verdict("x", {"pattern": 5}) is None
    assert problems("abc\n", {"pattern": "^abc$"}) == [
        "v: 'abc\\n' does not match the pattern '^abc$'"]             # ECMA's $, not re's
    for dialect in URIS:                                  # every dialect has pattern
        assert problems("ABC", {"pattern": "^[a-z]+$"}, dialect) == [
            "v: 'ABC' does not match the pattern '^[a-z]+$'"], dialect
    assert problems(["ok", "NO", "fine"], {"items": {"pattern": "^[a-z]+$"}}) == [
        "v[1]: 'NO' does not match the pattern '^[a-z]+$'"]


@pytest.mark.spec("BP-34", "TL-14", "TL-09")
def test_pattern_properties_and_additional_properties_beside_them():
    """Core §10.3.2.2: each member whose name a pattern matches (anywhere in the name) is
    checked against that pattern's schema, by every pattern that matches; §10.3.2.3:
    additionalProperties applies only to members that neither properties nor any pattern
    names. A pattern outside the subset may or may not match: its schema is not applied,
    additionalProperties is not judged for the names no other rule took, and the verdict is
    unknown."""
    schema = {"properties": {"id": {"type": "string"}},
              "patternProperties": {"^n_": {"type": "integer"}, "_x$": {"minimum": 10}},
              "additionalProperties": False}
    assert problems({"id": "a", "n_1": 1, "n_x": 12}, schema) == []
    assert shapes.verdict({"id": "a", "n_1": 1, "n_x": 12}, schema) is True
    assert problems({"id": 1, "n_1": "one", "n_x": 3, "other": 0}, schema) == [
        "v.id: expected string, got integer", "v.n_1: expected integer, got string",
        "v.n_x: expected at least 10, got 3",
        "v.other: unexpected property (additionalProperties is false)"]
    assert problems({"a_n_1": 1}, schema) == [
        "v.a_n_1: unexpected property (additionalProperties is false)"]
    for dialect in URIS:                                  # every dialect has them
        assert problems({"n_1": "x", "z": 1}, schema, dialect) == [
            "v.n_1: expected integer, got string",
            "v.z: unexpected property (additionalProperties is false)"], dialect
    unknown = dict(schema, patternProperties={"(?=z)": {"type": "string"}})
    assert problems({"z": 1, "id": 2}, unknown) == ["v.id: expected string, got integer"]
    assert shapes.verdict({"z": 1}, unknown) is None
    assert shapes.verdict({}, unknown) is None
    typed = {"patternProperties": {"^n_": {"type": "integer"}},
             "additionalProperties": {"type": "string"}}
    assert problems({"n_1": 1, "s": "x"}, typed) == []
    assert problems({"n_1": "1", "s": 2}, typed) == [
        "v.n_1: expected integer, got string", "v.s: expected string, got integer"]
    assert problems({"x": 1}, {"propertyNames": {"pattern": "^[a-z]$"}}) == []
    assert problems({"xy": 1}, {"propertyNames": {"pattern": "^[a-z]$"}}) == [
        "v: property name 'xy' does not match propertyNames"]


# --- Against a full validator (jsonschema, which runs Python's re) ----------------------------

@pytest.mark.spec("BP-34", "TL-14", "TL-09")
def test_the_matcher_agrees_with_a_full_validator():
    """Differential test (deterministic seed): 600 generated patterns of the subset, each
    against 8 generated strings, as pattern and as patternProperties beside
    additionalProperties false: the verdict is jsonschema's (Draft202012Validator, which
    runs re.search), on the patterns and strings where re and ECMA-262 agree. Where they
    do not, the table above gives ECMA-262's answer."""
    jsonschema = pytest.importorskip(
        "jsonschema", reason="the differential test needs jsonschema (pip install jsonschema)")
    rng = random.Random("D-128")
    wrong, matched = [], 0
    for _ in range(600):
        source = re_compatible_pattern(rng)
        as_pattern = {"type": "string", "pattern": source}
        as_names = {"patternProperties": {source: {"type": "integer"}},
                    "additionalProperties": False}
        for _ in range(8):
            text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 6)))
            found = _pattern.search(source, text)
            matched += bool(found)
            expected = re.search(source, text) is not None
            # (Not the empty pattern as patternProperties: jsonschema 4.26 joins the patterns
            # with "|" to find the additional properties, and takes an empty join for none,
            # though "" matches every name: it calls {"a": 1} invalid there.)
            names = [(as_names, {text: 1}, expected), (as_names, {text: "x"}, False)]
            for schema, value, valid in [(as_pattern, text, expected)] + names * (source != ""):
                full = jsonschema.Draft202012Validator(schema).is_valid(value)
                if not (found is expected and full is valid
                        and shapes.verdict(value, schema) is full):
                    wrong.append((source, text, found, full))
    assert wrong == []
    assert 1000 < matched < 3800                       # both answers were exercised
