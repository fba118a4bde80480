"""mcp_ref's pattern matcher and JSON Schema subset against a real ECMA-262 engine and ajv (D-132).

tests/test_pattern.py compares mcp_ref._pattern with the jsonschema package, which runs
Python's re: not ECMA-262, so the cases where the two differ are marked there by hand. Here the
oracle is the real thing: node's RegExp with the ``u`` flag (ECMA-262, as ajv compiles a
schema's pattern), and ajv 8, the validator of the official TypeScript SDK, configured as the
SDK configures its own (``peers/ecma_oracle.js``; one node process per batch, JSON on stdin and
stdout). The law is the subset's (D-46, D-49, D-128): wherever mcp_ref answers (True or
False), its answer is the oracle's; None (no answer) is allowed, and counted. And every
pattern of the subset must have an answer: a None there is a bug or an undocumented limit.

Seeds are fixed: a failure replays. Each test is one node process, a few seconds.
"""

import json
import os
import random
import subprocess

import pytest

from interop_kit import HERE
from mcp_ref import _pattern, shapes
from pattern_kit import UNSUPPORTED, ecma_pattern, ecma_string, sample

pytestmark = pytest.mark.interop

ORACLE = os.path.join(HERE, "peers", "ecma_oracle.js")


def ask(node, node_modules, request):
    """One batch to the oracle: its answer (ecma_oracle.js says what the request holds)."""
    done = subprocess.run([node, ORACLE, node_modules], input=json.dumps(request),
                          capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def shown(text):
    return ascii(text)


# --- The matcher against node's RegExp ---------------------------------------------------------

def strings_for(rng, source, count):
    """Strings for one pattern: a third drawn from pattern_kit's alphabet, a third also from
    the pattern's own characters, a third sampled from the pattern (pattern_kit.sample: the
    strings it likely matches, changed at an end), so that both answers are frequent."""
    own = [char for char in source if char not in "\\[](){}|^$*+?"] or ["a"]
    out = []
    for index in range(count):
        text = ecma_string(rng)
        if index % 3 == 1:
            text = "".join(rng.choice(own) if rng.random() < 0.7 else char for char in text)
            text = text.replace("\ud83d\ude00", "a")   # a lone lead, then a lone trail: no
        elif index % 3 == 2:
            text = sample(rng, source)
            text = ecma_string(rng) if text is None else text
        out.append(text)
    return out


@pytest.mark.spec("BP-34", "TL-14", "TL-09")
def test_the_matcher_gives_node_regexps_answer_on_generated_patterns(node, node_modules):
    """2 000 patterns drawn from the whole subset (pattern_kit.ecma_pattern: classes, every
    escape, \\s \\d \\w, ., anchors, quantifiers, alternation, groups, surrogate-pair
    escapes, astral literals), 12 strings each (astral characters, lone surrogates, every
    line terminator, the spaces ECMA and re disagree on): mcp_ref's search is node's
    new RegExp(p, "u").test(s), and every one of them has an answer."""
    rng = random.Random("D-132 patterns")
    cases = []
    for _ in range(2000):
        source = ecma_pattern(rng)
        cases.append([source, strings_for(rng, source, 12)])
    answers = ask(node, node_modules, {"regex": cases})["regex"]
    invalid, unanswered, wrong, matched, total = [], [], [], 0, 0
    for (source, strings), answer in zip(cases, answers):
        if isinstance(answer, dict):                # node refused it: not of the subset
            invalid.append((shown(source), answer["error"]))
            assert _pattern.compiled(source) is None, (source, answer)
            continue
        if _pattern.compiled(source) is None:
            unanswered.append(shown(source))
            continue
        for text, expected in zip(strings, answer):
            total += 1
            matched += expected
            if _pattern.search(source, text) is not expected:
                wrong.append((shown(source), shown(text), expected))
    print(f"\n{len(cases)} patterns, {total} strings, {matched} matched; "
          f"{len(invalid)} refused by node, {len(unanswered)} without an answer here")
    assert wrong == []
    assert unanswered == []
    assert invalid == []                            # the generator keeps to the subset
    assert total * 0.2 < matched < total * 0.8      # both answers were exercised


#: Hand-picked patterns at the subset's edges (empty loops, quantified groups of anchors,
#: surrogates escaped, alone, in ranges, astral repetition, escaped syntax in classes, the
#: Mongolian vowel separator, no longer a space), and strings for them.
EDGE_PATTERNS = [
    "(?:^)*a", "(?:$)+", "(?:)*", "(|)a", "a||b", "[\\s-]", "[-\\s]", "[\\d-]", "[a-\\u0062]",
    "[\\u0061-b]", "\\uD83D\\uDE00{2}", "\\uD83D{2}", "\U0001F600{2}", "[\\/]", "[\\.]",
    "[\\$]", "[\\|]", "[\\{\\}]", "\\uD83D", "[\\uD83D]", "[^\\uD83D]", "[\\uDE00]",
    "\\uDE00", "\ud83d", "[\ud83d]", "^[^]$", "^[]*$", "[^\\D\\d]", "[\\S\\s]", "\\s",
    "a{0,0}", "a{1}?", "a{0}b", "(?:a|)+$", "^(?:a?){3}$", "a{2,}?b", "x*y*z*$", "\\u180E",
    "[\\u0000-\\uFFFF]", "^[\\u0000-\\uFFFF]$", "^[\\uD800-\\uDFFF]$",
    "^[\\uD800-\\uDBFF][\\uDC00-\\uDFFF]$", "^.{2}$", "\\{", "\\}", "(?:a{1,2}){2,3}$",
    "a{00001}$"]
EDGE_STRINGS = ["", "a", "aa", "\ud83d", "\U0001F600", "\U0001F600\U0001F600", "\n", "-", "/",
                "\u180e", "\u200b", "\u1680", "\x85", "\ude00", "A", "b", " ", "\\", "]", "[",
                "{", "}", "\x08", "xyz", "aab", "aaaaa"]


@pytest.mark.spec("BP-34")
def test_patterns_at_the_subsets_edges_have_node_regexps_answer(node, node_modules):
    """EDGE_PATTERNS, each against EDGE_STRINGS: an answer for each, node's."""
    answers = ask(node, node_modules,
                  {"regex": [[source, EDGE_STRINGS] for source in EDGE_PATTERNS]})["regex"]
    wrong = [(shown(source), shown(text), expected)
             for source, answer in zip(EDGE_PATTERNS, answers)
             for text, expected in zip(EDGE_STRINGS, answer)
             if _pattern.search(source, text) is not expected]
    assert all(isinstance(answer, list) for answer in answers)
    assert wrong == []


@pytest.mark.spec("BP-34")
def test_the_hand_made_table_of_test_pattern_is_node_regexps(node, node_modules):
    """test_pattern.py's MATCHES, written by hand from ECMA-262 (where re differs): node
    gives each the answer it records."""
    from test_pattern import MATCHES
    answers = ask(node, node_modules, {"regex": [[s, [t]] for s, t, _ in MATCHES]})["regex"]
    wrong = [(shown(s), shown(t), e, a) for (s, t, e), a in zip(MATCHES, answers) if a != [e]]
    assert wrong == []


#: The constructs of pattern_kit.UNSUPPORTED that are valid ECMA-262 with the u flag: left out
#: of the subset by design (D-128), with the reason. All the others are SyntaxErrors in u mode.
OUTSIDE_BY_DESIGN = {
    "(a)\\1": "a backreference: not a regular language, needs backtracking",
    "(?=a)": "lookahead", "(?!a)": "lookahead", "(?<=a)": "lookbehind", "(?<!a)": "lookbehind",
    "(?<n>a)": "a named group (simple, but rare in schemas)",
    "\\b": "a word boundary (an assertion between two characters)", "\\B": "ditto",
    "\\p{L}": "a Unicode property: needs the Unicode database of node's version",
    "\\P{L}": "ditto",
    "\\u{61}": "\\u{...}: rare in schemas", "\\u{1F600}": "ditto",
    "\\ca": "a control letter: rare", "\\0": "NUL: rare", "\\x41": "\\xHH: rare",
    "[a-c-e]": "a '-' right after a range: a literal in ECMA, easy to misread",
    "[--a]": "a range from '-': easy to misread",
    "[[]": "'[' in a class: a literal with u, a nested class with v",
    "[\\b]": "backspace in a class: rare",
    "(" * (_pattern.MAX_NESTING + 1) + ")" * (_pattern.MAX_NESTING + 1):
        "groups nested past MAX_NESTING",
}


@pytest.mark.spec("BP-34")
def test_each_construct_outside_the_subset_is_a_syntax_error_or_left_out_by_design(
        node, node_modules):
    """Each of pattern_kit.UNSUPPORTED (which test_pattern.py shows has no answer here) is
    either a SyntaxError in node's u mode (so ajv refuses the schema: no verdict is right)
    or one of OUTSIDE_BY_DESIGN, valid ECMA-262 that the subset leaves out."""
    answers = ask(node, node_modules, {"regex": [[s, []] for s in UNSUPPORTED]})["regex"]
    valid = {source for source, answer in zip(UNSUPPORTED, answers)
             if not isinstance(answer, dict)}
    errors = {source: answer["error"] for source, answer in zip(UNSUPPORTED, answers)
              if isinstance(answer, dict)}
    assert all(error.startswith("SyntaxError") for error in errors.values()), errors
    assert sorted(valid) == sorted(OUTSIDE_BY_DESIGN)
    assert all(_pattern.compiled(source) is None for source in UNSUPPORTED)


# --- Whole schemas against ajv -----------------------------------------------------------------

#: Patterns for schemas: pattern_kit's, and the short ones names and identifiers use.
SHORT_PATTERNS = ["", "^a", "b$", "^[a-z]+$", "\\d", "^n_", "_x$", "^$", "^\\w+$", "\U0001F600",
                  "^.$", "^..$", "^[^a]", "\\s", "^\\S*$", "^(a|b)+$", "^\\uD83D\\uDE00",
                  "\u00e9", "^[a-z][a-z0-9_-]{0,3}$"]
#: Property names: plain, those SHORT_PATTERNS pick out, non-ASCII and astral, empty.
NAMES = ["a", "b", "ab", "id", "n_1", "n_x", "x_y", "A", "1", "a-b", "", "\u00e9",
         "\U0001F600", "a\U0001F600", " ", "\n"]
NUMBERS = [-3, -1, 0, 1, 2, 3, 4.5, 5, 10, 12, 0.5, 1.0, 2.5, -1.5, 1000]


def a_pattern(rng):
    return rng.choice(SHORT_PATTERNS) if rng.random() < 0.5 else ecma_pattern(rng)


def a_value(rng, depth=0):
    """A JSON value: strings of pattern_kit's alphabet and plain names, numbers (1.0 among
    them: an integer to JSON Schema), booleans, null, and arrays and objects of them."""
    roll = rng.random()
    if roll < 0.3:
        return ecma_string(rng, 5) if rng.random() < 0.5 else rng.choice(NAMES)
    if roll < 0.45:
        return rng.choice(NUMBERS)
    if roll < 0.55:
        return rng.choice([True, False, None])
    if roll < 0.75 and depth < 2:
        return [a_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if depth < 2:
        names = [rng.choice(NAMES) if rng.random() < 0.7 else ecma_string(rng, 3)
                 for _ in range(rng.randint(0, 4))]
        return {name: a_value(rng, depth + 1) for name in names}
    return rng.choice(NAMES)


def pattern_schema(rng, depth=0):
    """A schema of pattern, patternProperties (beside properties and additionalProperties),
    propertyNames with a pattern, and combinators around them."""
    roll = rng.random()
    if roll < 0.2 or depth >= 3:
        schema = {"pattern": a_pattern(rng)}
        if rng.random() < 0.4:
            schema["type"] = "string"
        return schema
    if roll < 0.45:
        schema = {"patternProperties": {a_pattern(rng): pattern_schema(rng, depth + 1)
                                        for _ in range(rng.randint(1, 3))}}
        if rng.random() < 0.3:
            schema["properties"] = {rng.choice(NAMES): pattern_schema(rng, depth + 1)}
        extra = rng.random()
        if extra < 0.5:
            schema["additionalProperties"] = False
        elif extra < 0.75:
            schema["additionalProperties"] = pattern_schema(rng, depth + 1)
        return schema
    if roll < 0.6:
        schema = {"propertyNames": {"pattern": a_pattern(rng)}}
        if rng.random() < 0.3:
            schema["propertyNames"]["maxLength"] = rng.randint(0, 3)
        return schema
    if roll < 0.7:
        return {"items": pattern_schema(rng, depth + 1)}
    if roll < 0.8:
        return {"not": pattern_schema(rng, depth + 1)}
    if roll < 0.9:
        schema = {"if": pattern_schema(rng, depth + 1), "then": pattern_schema(rng, depth + 1)}
        if rng.random() < 0.5:
            schema["else"] = pattern_schema(rng, depth + 1)
        return schema
    return {rng.choice(["allOf", "anyOf", "oneOf"]):
            [pattern_schema(rng, depth + 1) for _ in range(rng.randint(1, 3))]}


def value_for(rng, schema):
    """A value likely to exercise ``schema``: a string for a pattern, an object for the
    keywords of objects, else any value."""
    if "pattern" in schema and rng.random() < 0.7:
        return ecma_string(rng, 6)
    if set(schema) & {"patternProperties", "propertyNames"} and rng.random() < 0.7:
        names = [rng.choice(NAMES) if rng.random() < 0.6 else ecma_string(rng, 3)
                 for _ in range(rng.randint(0, 4))]
        return {name: rng.choice(["", "ab", "n_1", 1, None, "\U0001F600"]) for name in names}
    return a_value(rng)


#: Where ajv departs from the JSON Schema spec (or cannot answer), kept out of the law, by a
#: test of the schema or value and the reason. ECMA-262 and the spec decide, not ajv.
AJV_DEPARTS = [
    (lambda schema: any(0xD800 <= ord(char) <= 0xDFFF for name in _names(schema)
                        for char in name),
     "ajv refuses the schema (URIError: URI malformed) when a member name of properties or "
     "patternProperties holds a lone surrogate and its subschema is not empty: it "
     "percent-encodes the name into a JSON pointer with encodeURIComponent. The spec has no "
     "such rule (core §10.3.2.1, §10.3.2.2: any string is a name, any regex a pattern)"),
    (lambda schema: _unevaluated(schema) and _holds(schema, "if"),
     "ajv's if drops a passing subschema's annotations, and keeps a failing one's where it "
     "evaluates every member and a then is not empty: core §7.7.1.3 keeps a passing "
     "subschema's annotations and drops a failing one's (D-133, SPEC_NOT_AJV)"),
    (lambda schema: "unevaluatedItems" in json.dumps(schema) and _holds(schema, "contains"),
     "ajv's contains marks every item evaluated (it.items = true), or with minContains 0 "
     "none; 2020-12 core §10.3.1.3, §11.2: the items it matched (D-133, SPEC_NOT_AJV)"),
    (lambda schema: _unevaluated(schema) and any(
        keyword in json.dumps(branch) for keyword in (
            '"patternProperties"', '"prefixItems"', '"items"', '"contains"', "unevaluatedItems")
        for combinator in ("anyOf", "oneOf") for branches in _all(schema, combinator)
        for branch in branches if isinstance(branches, list)),
     "ajv counts the items, and the patternProperties members, that a failing anyOf or "
     "oneOf branch evaluated: core §7.7.1.3 drops them (D-133, SPEC_NOT_AJV)"),
]


def _unevaluated(schema):
    return "unevaluated" in json.dumps(schema)


def _all(schema, keyword):
    """The value of every ``keyword`` member in ``schema``, nested."""
    if isinstance(schema, dict):
        for name, member in schema.items():
            if name == keyword:
                yield member
            yield from _all(member, keyword)
    elif isinstance(schema, list):
        for member in schema:
            yield from _all(member, keyword)


def _holds(schema, keyword):
    return any(True for _ in _all(schema, keyword))


def _names(schema):
    """Every member name of every object in ``schema``, nested."""
    if isinstance(schema, dict):
        for name, member in schema.items():
            yield name
            yield from _names(member)
    elif isinstance(schema, list):
        for member in schema:
            yield from _names(member)


def the_law(node, node_modules, schemas):
    """Each (schema, values) through ajv (2020-12, the SDK's options) and shapes.verdict:
    the disagreements, how many verdicts were None, how many values; and how many times the
    SDK's own validator (ajv's draft-07 class) disagreed with ajv2020 (printed only)."""
    # Through JSON, as a peer's schema and value reach mcp_ref (1.0 stays a float).
    schemas = json.loads(json.dumps(schemas))
    answers = ask(node, node_modules, {"schemas": schemas})["schemas"]
    wrong, unknown, total, refused, sdk_differs, departs, undefined = [], 0, 0, 0, 0, 0, 0
    for (schema, values), ajv, sdk in zip(schemas, answers["ajv2020"], answers["sdk"]):
        if any(departs_here(schema) for departs_here, _ in AJV_DEPARTS):
            departs += 1
            continue
        if isinstance(ajv, dict) and ajv["error"].startswith("RangeError"):
            undefined += len(values)                # a $ref loop ajv's compiler ran into
            continue
        if isinstance(ajv, dict):                   # ajv refused the schema: no verdict is right
            refused += 1
            wrong += [(schema, value, "ajv refused the schema", shapes.verdict(value, schema))
                      for value in values if shapes.verdict(value, schema) is not None]
            continue
        sdk_differs += sdk != ajv
        for value, valid in zip(values, ajv):
            if not isinstance(valid, bool):         # ajv threw: a $ref loop (core §9.4.1)
                undefined += 1
                continue
            total += 1
            found = shapes.verdict(value, schema)
            unknown += found is None
            if found is not None and found is not valid:
                wrong.append((schema, value, valid, found))
    print(f"\n{len(schemas)} schemas, {total} values: mcp_ref had no verdict on {unknown}; "
          f"ajv refused {refused} schemas; the SDK's draft-07 ajv differed from ajv2020 on "
          f"{sdk_differs} schemas; {departs} schemas where ajv departs from the spec (AJV_DEPARTS); "
          f"{undefined} values where ajv ran out of stack (a $ref loop: core §9.4.1 leaves it "
          f"undefined)")
    return wrong, unknown, total


@pytest.mark.spec("BP-34", "TL-14", "TL-09")
def test_pattern_schemas_have_ajvs_verdict_wherever_mcp_ref_gives_one(node, node_modules):
    """1 500 generated schemas of pattern, patternProperties with additionalProperties,
    propertyNames with a pattern, and allOf/anyOf/oneOf/not/if/items around them, 10 values
    each: wherever shapes.verdict says True or False, ajv says the same."""
    rng = random.Random("D-132 pattern schemas")
    schemas = []
    for _ in range(1500):
        schema = pattern_schema(rng)
        schemas.append([schema, [value_for(rng, schema) for _ in range(10)]])
    wrong, unknown, total = the_law(node, node_modules, schemas)
    assert wrong == []


TYPES = ["string", "number", "integer", "boolean", "null", "array", "object"]


def any_schema(rng, depth=0):
    """A schema of the subset's other keywords too (type, enum, const, bounds, multipleOf,
    lengths, counts, uniqueItems, required, properties, dependentRequired, items and
    prefixItems, contains with minContains/maxContains, if/then/else, a local $ref to $defs
    d0 or d1, unevaluatedProperties and unevaluatedItems: D-133) and the pattern family, up
    to three keywords at once."""
    if depth >= 3 or rng.random() < 0.1:
        return rng.choice([True, False, {}, {"type": rng.choice(TYPES)}])
    schema = {}
    for _ in range(rng.randint(1, 3)):
        roll = rng.randrange(19)
        if roll == 0:
            schema["type"] = (rng.choice(TYPES) if rng.random() < 0.7
                              else rng.sample(TYPES, rng.randint(1, 3)))
        elif roll == 1:
            schema["enum"] = [a_value(rng, 1) for _ in range(rng.randint(1, 4))]
        elif roll == 2:
            schema["const"] = a_value(rng, 1)
        elif roll == 3:
            keyword = rng.choice(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"])
            schema[keyword] = rng.choice(NUMBERS)
        elif roll == 4:
            schema["multipleOf"] = rng.choice([1, 2, 3, 0.5, 1.5, 2.5])
        elif roll == 5:
            schema[rng.choice(["minLength", "maxLength"])] = rng.randint(0, 4)
        elif roll == 6:
            schema[rng.choice(["minItems", "maxItems", "minProperties", "maxProperties"])] = \
                rng.randint(0, 3)
        elif roll == 7:
            schema["uniqueItems"] = rng.random() < 0.8
        elif roll == 8:
            schema["required"] = rng.sample(NAMES[:6], rng.randint(0, 2))
        elif roll == 9:
            schema["properties"] = {rng.choice(NAMES[:8]): any_schema(rng, depth + 1)
                                    for _ in range(rng.randint(1, 2))}
            if rng.random() < 0.3:
                schema["additionalProperties"] = any_schema(rng, depth + 1)
        elif roll == 10:
            schema["dependentRequired"] = {rng.choice(NAMES[:4]): rng.sample(NAMES[:6], 1)}
        elif roll == 11:
            if rng.random() < 0.5:
                schema["prefixItems"] = [any_schema(rng, depth + 1)
                                         for _ in range(rng.randint(1, 2))]
            schema["items"] = any_schema(rng, depth + 1)
        elif roll == 12:
            schema["contains"] = any_schema(rng, depth + 1)
            if rng.random() < 0.5:
                schema[rng.choice(["minContains", "maxContains"])] = rng.randint(0, 2)
        elif roll == 13:
            schema["if"] = any_schema(rng, depth + 1)
            schema[rng.choice(["then", "else"])] = any_schema(rng, depth + 1)
        elif roll == 14:
            schema["$ref"] = rng.choice(["#/$defs/d0", "#/$defs/d1"])
        elif roll == 15:
            schema[rng.choice(["allOf", "anyOf", "oneOf"])] = [
                any_schema(rng, depth + 1) for _ in range(rng.randint(1, 3))]
        elif roll == 16:
            schema.update(pattern_schema(rng, 2))
        else:                                       # D-133: what the others left
            keyword = "unevaluatedProperties" if roll == 17 else "unevaluatedItems"
            schema[keyword] = rng.random() < 0.5 if rng.random() < 0.6 else any_schema(
                rng, depth + 1)
    return schema


@pytest.mark.spec("BP-34", "TL-14", "TL-09")
def test_schemas_of_every_keyword_of_the_subset_have_ajvs_verdict_wherever_mcp_ref_gives_one(
        node, node_modules):
    """1 500 generated schemas of every keyword the subset checks (any_schema), each with
    $defs d0 and d1 for the local $refs, 10 values each: the same law against ajv."""
    rng = random.Random("D-132 any schemas")
    schemas = []
    for _ in range(1500):
        schema = any_schema(rng)
        schema = dict(schema) if isinstance(schema, dict) else {"allOf": [schema]}
        schema["$defs"] = {"d0": any_schema(rng, 2), "d1": {"type": rng.choice(TYPES)}}
        schemas.append([schema, [a_value(rng) for _ in range(10)]])
    wrong, unknown, total = the_law(node, node_modules, schemas)
    assert wrong == []


#: Cases where ajv's answer is not the spec's, kept out of the law (the generators above avoid
#: them: multipleOf divides by 0.5, 1.5 or 2.5 only, no name is a member of JavaScript's
#: Object.prototype, numbers stay below 2**53): (schema, value, the spec's answer, why).
#: mcp_ref gives the spec's answer; ajv's is printed, never asserted (it is ajv's to fix).
SPEC_NOT_AJV = [
    ({"multipleOf": 0.1}, 0.3, True,
     "ajv divides binary floats (0.3 / 0.1 is 2.9999999999999996); validation §6.2.1 asks "
     "whether the division is an integer, and the JSON text 0.3 is 3 × 0.1 (D-77: "
     "multipleOf reads the decimal JSON writes)"),
    ({"multipleOf": 0.01}, 0.07, True, "ditto"),
    ({"multipleOf": 3}, 2 ** 53 + 1, True,
     "JSON.parse rounds 9007199254740993 to 2**53, which 3 does not divide; the JSON number "
     "is a multiple of 3 (RFC 8259 §6 allows the rounding; the instance is the number)"),
    ({"required": ["constructor"]}, {}, False,
     "ajv's required finds JavaScript's inherited Object.prototype.constructor: {} has no "
     "member 'constructor' (validation §6.5.3)"),
    ({"required": ["toString"]}, {}, False, "ditto, Object.prototype.toString"),
    ({"properties": {"constructor": {"type": "string"}}}, {}, True,
     "ajv applies the subschema to the inherited constructor function: {} has no such "
     "member, so properties asserts nothing (core §10.3.2.1)"),
    ({"properties": {"__proto__": {"type": "string"}}}, {"__proto__": 1}, False,
     "ajv does not see the member named __proto__ that JSON.parse made: its value 1 is not a "
     "string (core §10.3.2.1)"),
    ({"if": {"properties": {"a": {"const": 1}}}, "unevaluatedProperties": False}, {"a": 1},
     True, "ajv drops a passing if's annotations when there is no then or else; core "
     "§10.2.2.1 and §7.7.1.3 keep them: a was evaluated (D-133)"),
    ({"if": {"enum": [False], "unevaluatedProperties": {}}, "then": {"maxProperties": 2},
      "unevaluatedProperties": False}, {"a": 1}, False,
     "ajv keeps a failing if's annotations where its subschema evaluates every member (its "
     "own unevaluatedProperties) and a then that is not empty; core §7.7.1.3 drops them: a is "
     "unevaluated (D-133)"),
    ({"contains": {"type": "string"}, "unevaluatedItems": False}, ["a", 1], False,
     "ajv's contains marks every item evaluated; 2020-12 core §10.3.1.3: only the items it "
     "matched, so 1 is unevaluated (D-133)"),
    ({"contains": {"type": "string"}, "minContains": 0, "unevaluatedItems": False}, ["a"], True,
     "ajv ignores contains with minContains 0, and its matches with it; core §10.3.1.3 "
     "still annotates the items it matched: 'a' was evaluated (D-133)"),
    ({"anyOf": [{"prefixItems": [{"type": "string"}]}, {}], "unevaluatedItems": False}, [1],
     False, "ajv counts the items a failing anyOf branch evaluated; core §7.7.1.3 drops them "
     "(D-133)"),
    ({"anyOf": [{"patternProperties": {"a": {"type": "string"}}}, {}],
      "unevaluatedProperties": False}, {"a": 1}, False, "ditto, patternProperties' members"),
]


@pytest.mark.spec("BP-34", "TL-14", "TL-09")
def test_where_ajv_departs_from_the_spec_mcp_ref_gives_the_specs_answer(node, node_modules):
    """SPEC_NOT_AJV: mcp_ref's verdict is the spec's; ajv's is printed beside it."""
    cases = [[schema, [value]] for schema, value, _, _ in SPEC_NOT_AJV]
    answers = ask(node, node_modules, {"schemas": cases})["schemas"]
    for (schema, value, spec, why), ajv, sdk in zip(SPEC_NOT_AJV, answers["ajv2020"],
                                                   answers["sdk"]):
        print(f"\n{json.dumps(schema)} {json.dumps(value)}: the spec {spec}, ajv2020 {ajv}, "
              f"the SDK {sdk}: {why}")
        assert shapes.verdict(value, schema) is spec, (schema, value, why)
