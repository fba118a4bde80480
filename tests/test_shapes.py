"""mcp_ref.shapes: what we send, fitted to the negotiated revision (LC-15, decision D-41).

The end-to-end proof, every frame validated against each revision's schema, is
tests/test_schema.py::test_handler_results_are_fitted_to_the_negotiated_revision. These are
the pieces, one rule at a time.
"""

import copy
import json

import pytest

from mcp_ref import shapes, spec
from mcp_ref.errors import LocalProtocolError

AUDIO = {"type": "audio", "data": "AAAA", "mimeType": "audio/wav"}
LINK = {"type": "resource_link", "uri": "file:///a", "name": "a"}


@pytest.mark.spec("LC-15")
@pytest.mark.parametrize("version", spec.SUPPORTED_VERSIONS)
@pytest.mark.parametrize("kind", sorted(spec.CONTENT_SINCE))
def test_a_block_type_newer_than_the_session_is_refused(version, kind):
    block = {"type": kind}
    since = spec.CONTENT_SINCE[kind]
    anywhere = spec.RESULT_BLOCK_TYPES + spec.SAMPLING_BLOCK_TYPES
    if version < since:
        with pytest.raises(LocalProtocolError, match=f"{kind!r}.*{since}.*{version}"):
            shapes.content(version, block, anywhere)
    else:
        assert shapes.content(version, block, anywhere) == block


@pytest.mark.spec("LC-15")
def test_members_newer_than_the_session_are_dropped_at_every_depth():
    block = {"type": "resource", "_meta": {"k": 1},
             "annotations": {"priority": 1, "lastModified": "2025-01-12T15:00:58Z"},
             "resource": {"uri": "file:///a", "text": "a", "_meta": {"k": 2}}}
    before = copy.deepcopy(block)
    assert shapes.content("2025-03-26", block) == {
        "type": "resource", "annotations": {"priority": 1},
        "resource": {"uri": "file:///a", "text": "a"}}
    assert shapes.content("2025-06-18", block) == block
    assert block == before, "the caller's dict must not change"


@pytest.mark.spec("LC-15")
def test_a_resource_link_loses_its_icons_before_2025_11_25():
    # ResourceLink arrived in 2025-06-18 without icons; 2025-11-25 added them (both schemas).
    link = dict(LINK, icons=[{"src": "data:image/png;base64,AA=="}])
    assert shapes.content("2025-06-18", link) == LINK
    assert shapes.content("2025-11-25", link) == link


@pytest.mark.spec("LC-15", "TL-08")
def test_a_call_tool_result_loses_structured_content_before_2025_06_18():
    result = {"content": [{"type": "text", "text": "{}"}], "structuredContent": {},
              "isError": False, "_meta": {"k": 1}}
    assert shapes.call_tool_result("2025-03-26", result) == {
        "content": [{"type": "text", "text": "{}"}], "isError": False, "_meta": {"k": 1}}
    assert shapes.call_tool_result("2025-06-18", result) == result
    with pytest.raises(LocalProtocolError):
        shapes.call_tool_result("2025-03-26", {"content": [LINK]})


@pytest.mark.spec("LC-15")
def test_definitions_keep_what_each_revision_defines():
    tool = {"name": "t", "inputSchema": {"type": "object"}, "annotations": {},
            "title": "T", "icons": [], "outputSchema": {"type": "object"}}
    assert shapes.definition("2024-11-05", "Tool", tool) == {
        "name": "t", "inputSchema": {"type": "object"}}
    assert set(shapes.definition("2025-03-26", "Tool", tool)) == {
        "name", "inputSchema", "annotations"}
    assert shapes.definition("2025-11-25", "Tool", tool) == tool
    # Resources had annotations from 2024-11-05 (tools only from 2025-03-26).
    resource = {"uri": "u", "name": "n", "annotations": {"priority": 1, "lastModified": "x"}}
    assert shapes.definition("2024-11-05", "Resource", resource) == {
        "uri": "u", "name": "n", "annotations": {"priority": 1}}
    prompt = {"name": "p", "title": "P", "arguments": [{"name": "a", "title": "A"}]}
    assert shapes.definition("2025-03-26", "Prompt", prompt) == {
        "name": "p", "arguments": [{"name": "a"}]}


@pytest.mark.spec("LC-15")
def test_prompt_messages_and_sampling_results_are_fitted():
    prompt = {"messages": [{"role": "user", "content": AUDIO}]}
    with pytest.raises(LocalProtocolError):
        shapes.get_prompt_result("2024-11-05", prompt)
    assert shapes.get_prompt_result("2025-03-26", prompt) == prompt
    sampled = {"role": "assistant", "model": "m", "content": [{"type": "text", "text": "a"}]}
    with pytest.raises(LocalProtocolError, match="list of content blocks"):
        shapes.create_message_result("2025-06-18", sampled)
    assert shapes.create_message_result("2025-11-25", sampled) == sampled
    with pytest.raises(LocalProtocolError):
        shapes.create_message_result("2024-11-05", dict(sampled, content=AUDIO))


def test_what_is_not_a_dict_is_left_to_the_sender():
    assert shapes.content("2024-11-05", "text") == "text"
    assert shapes.contents("2024-11-05", None) is None
    assert shapes.get_prompt_result("2024-11-05", {"messages": "x"}) == {"messages": "x"}


@pytest.mark.spec("LC-15")
def test_a_block_type_the_place_does_not_hold_is_refused_in_every_revision():
    """Tool results and prompt messages hold a ContentBlock; a sampling result holds sampling
    content. tool_use in a tool result, or a resource link in a sampling answer, is invalid
    in every revision's schema."""
    tool_use = {"type": "tool_use", "id": "u", "name": "t", "input": {}}
    with pytest.raises(LocalProtocolError, match="cannot go here"):
        shapes.call_tool_result("2025-11-25", {"content": [tool_use]})
    with pytest.raises(LocalProtocolError, match="cannot go here"):
        shapes.create_message_result("2025-11-25", {"role": "assistant", "model": "m",
                                                     "content": LINK})
    with pytest.raises(LocalProtocolError, match="cannot go here"):
        shapes.content("2025-11-25", {"type": "video"})
    assert shapes.create_message_result("2025-11-25", {"content": [tool_use]})["content"] == [
        tool_use]


@pytest.mark.spec("LC-15")
def test_elicitation_names_its_modes_only_from_2025_11_25():
    declared = {"elicitation": {"form": {}, "url": {}}, "roots": {}}
    assert shapes.capabilities("2025-06-18", declared) == {"elicitation": {}, "roots": {}}
    assert shapes.capabilities("2025-11-25", declared) == declared
    assert shapes.capabilities("2025-03-26", declared) == {"roots": {}}


@pytest.mark.spec("LC-15")
def test_sampling_names_context_and_tools_and_tasks_exist_only_from_2025_11_25():
    """ClientCapabilities.sampling gained ``context`` and ``tools`` in 2025-11-25, which also
    added the ``tasks`` capability on both sides; an older handshake declares none (D-95)."""
    declared = {"sampling": {"context": {}, "tools": {}}, "tasks": {"list": {}}, "roots": {}}
    assert shapes.capabilities("2025-11-25", declared) == declared
    for version in ("2025-06-18", "2025-03-26", "2024-11-05"):
        assert shapes.capabilities(version, declared) == {"sampling": {}, "roots": {}}


@pytest.mark.spec("LC-15")
def test_the_clients_answers_are_fitted_too():
    roots = {"roots": [{"uri": "file:///a", "name": "a", "_meta": {"k": 1}}]}
    assert shapes.client_result("2025-03-26", "roots/list", roots) == {
        "roots": [{"uri": "file:///a", "name": "a"}]}
    assert shapes.client_result("2025-06-18", "roots/list", roots) == roots
    with pytest.raises(LocalProtocolError):
        shapes.client_result("2024-11-05", "sampling/createMessage",
                             {"role": "assistant", "model": "m", "content": AUDIO})
    elicited = {"action": "accept", "content": {"x": 1}}
    assert shapes.client_result("2025-06-18", "elicitation/create", elicited) == elicited


@pytest.mark.spec("TL-09", "TL-14")
def test_object_problems_checks_the_simple_part_of_a_schema():
    schema = {"type": "object", "additionalProperties": False, "required": ["n", "kind"],
              "properties": {"n": {"type": "integer"}, "kind": {"enum": ["a", "b"]},
                             "x": {"type": ["number", "null"]}}}
    assert shapes.object_problems({"n": 2.0, "kind": "a", "x": None}, schema, "member") == []
    assert shapes.object_problems({"n": True, "kind": "c", "y": 1}, schema, "arguments") == [
        "arguments.n: expected integer, got boolean", "arguments.kind: expected one of ['a', 'b']",
        "arguments.y: unexpected property (additionalProperties is false)"]
    assert shapes.object_problems({}, schema, "structuredContent") == [
        "structuredContent: missing required property 'n'",
        "structuredContent: missing required property 'kind'"]


@pytest.mark.spec("TL-09")
@pytest.mark.parametrize("schema", [
    {"required": "sum"}, {"required": [1, None, {}]}, {"properties": []},
    {"properties": {"sum": "number"}}, {"properties": {"sum": {"type": ["x", 1, {}, []]}}},
    {"properties": {"sum": {"type": {"a": 1}}}}, {"properties": {"sum": {"enum": "three"}}},
    {"additionalProperties": "no"}])
def test_object_problems_never_trusts_a_peers_schema(schema):
    """A client checks structuredContent by the *server's* outputSchema (TL-09): whatever
    that holds, the check reports problems or none, and never raises. Members of the wrong
    JSON type are ignored, not taken as rules (a string enum is not a list of characters)."""
    assert shapes.object_problems({"sum": "three"}, schema, "member") == []


@pytest.mark.spec("TL-09", "TL-14")
def test_object_problems_reports_nothing_a_full_validator_would_accept():
    """additionalProperties: false leaves out what patternProperties matches; the subset does
    not run patterns (a peer's pattern could be made to backtrack for ever), so with
    patternProperties present it does not call any member unexpected. Before, a server whose
    valid structuredContent used such a schema made call_tool raise RemoteProtocolError."""
    schema = {"type": "object", "patternProperties": {"^x_": {"type": "number"}},
              "properties": {"n": {"type": "integer"}}, "additionalProperties": False}
    assert shapes.object_problems({"x_1": 1, "n": 2}, schema, "member") == []
    assert shapes.output_problems({"content": [], "structuredContent": {"x_1": 1}}, schema) == []
    closed = {"type": "object", "properties": {"n": {}}, "additionalProperties": False}
    assert shapes.object_problems({"x_1": 1}, closed, "structuredContent") == [
        "structuredContent.x_1: unexpected property (additionalProperties is false)"]


@pytest.mark.spec("TL-09")
def test_object_problems_never_raises_on_a_peers_deep_enum():
    """A peer's schema and result may nest as deep as the decoder allows (MAX_NESTING,
    D-51); comparing them (or printing the enum) deeper in the stack must not raise
    RecursionError."""
    import sys

    from mcp_ref.framing import MAX_NESTING, decode
    depth = MAX_NESTING - 4                 # the schema's enum array is the 4th level
    nest = "[" * depth + "%s" + "]" * depth
    schema = decode(('{"type": "object", "properties": {"a": {"enum": [%s]}}}'
                     % (nest % "0")).encode())
    value = decode(('{"a": %s}' % (nest % "1")).encode())

    def deep(k):
        return shapes.object_problems(value, schema, "member") if k == 0 else deep(k - 1)
    # Called this far down the stack, a comparison that recursed once per level would run
    # out of room; the subset's is bounded (MAX_DEPTH), so it is simply not checked.
    assert deep(sys.getrecursionlimit() - depth - 40) == []
    wide = {"type": "object", "properties": {"a": {"enum": list(range(100_000))}}}
    (problem,) = shapes.object_problems({"a": -1}, wide, "member")
    assert len(problem) < 300                      # the message stays short


# --- JSON Schema dialects and the recursive subset (BP-34, decision D-46) ---------------------

URIS = {"2020-12": "https://json-schema.org/draft/2020-12/schema",
        "2019-09": "https://json-schema.org/draft/2019-09/schema",
        "draft-07": "http://json-schema.org/draft-07/schema#",
        "draft-06": "http://json-schema.org/draft-06/schema#",
        "draft-04": "http://json-schema.org/draft-04/schema#"}


#: A pattern outside mcp_ref._pattern's subset (lookahead): its verdict is not known (D-128).
LOOKAHEAD = "(?=a)"


def problems(value, schema, dialect=None):
    if dialect is not None:
        schema = dict(schema, **{"$schema": URIS[dialect]})
    return shapes.object_problems(value, schema, "v")


@pytest.mark.spec("BP-34")
def test_the_dialect_is_the_declared_one_or_2020_12():
    """BP-34: no $schema means 2020-12. The five dialects we know are recognised however the
    URI is spelled (http or https, with or without the trailing #); anything else is None,
    "unsupported", and object_problems does not judge by it."""
    assert shapes.dialect({"type": "object"}) == "2020-12" == shapes.DEFAULT_DIALECT
    assert shapes.dialect(True) == "2020-12"
    for name, uri in URIS.items():
        bare = uri.split("://")[1].rstrip("#")
        for spelled in ("http://" + bare, "https://" + bare, "http://" + bare + "#",
                        "https://" + bare + "#"):
            assert shapes.dialect({"$schema": spelled}) == name, spelled
    for odd in ["https://json-schema.org/draft/2030-01/schema", "json-schema.org/draft-07/schema",
                "http://json-schema.org/draft-03/schema#", "", None, 7, ["x"],
                "https://json-schema.org/draft/2020-12/schema/"]:
        assert shapes.dialect({"$schema": odd}) is None, odd
        assert shapes.dialect_problem({"$schema": odd}).startswith("declares $schema")
        unknown = {"$schema": odd, "type": "object", "required": ["a"]}
        assert shapes.object_problems({}, unknown, "v") == []       # not judged: no rules
    assert shapes.dialect_problem({"$schema": URIS["draft-06"]}) is None


@pytest.mark.spec("BP-34", "TL-09", "TL-14")
def test_the_subset_follows_every_nested_schema_and_names_the_path():
    schema = {"type": "object", "properties": {
        "user": {"type": "object", "required": ["id"], "properties": {
            "id": {"type": "integer"}, "tags": {"type": "array", "items": {"enum": ["x", "y"]}},
            "odd key": {"const": {"a": [1, None]}}},
            "additionalProperties": {"type": "string"}}}}
    assert problems({"user": {"id": 1.0, "tags": ["x"], "odd key": {"a": [1.0, None]},
                              "note": "n"}}, schema) == []
    assert problems({"user": {"tags": ["x", "z"], "odd key": {"a": [True, None]},
                              "note": 5}}, schema) == [
        "v.user: missing required property 'id'",
        "v.user.tags[1]: expected one of ['x', 'y']",
        "v.user['odd key']: expected {'a': [1, None]}",
        "v.user.note: expected string, got integer"]


@pytest.mark.spec("BP-34")
def test_items_follow_the_dialect():
    """2020-12: prefixItems for the first items, items for the rest. Up to 2019-09: items as
    an array for the first items and additionalItems for the rest, or items as one schema for
    all. A keyword of another dialect is not one of this dialect's: it is ignored."""
    pair_2020 = {"prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False}
    assert problems(["a", 1], pair_2020) == []
    assert problems([1, 1, None], pair_2020) == [
        "v[0]: expected string, got integer", "v[2]: unexpected item (items is false)"]
    assert problems([1, 1, None], {"prefixItems": [{"type": "string"}]}, "2019-09") == []
    pair_old = {"items": [{"type": "string"}, {"type": "integer"}], "additionalItems": False}
    for old in ("2019-09", "draft-07", "draft-06", "draft-04"):
        assert problems([1, 1, None], pair_old, old) == [
            "v[0]: expected string, got integer",
            "v[2]: unexpected item (additionalItems is false)"], old
    assert problems([1, 1, None], pair_old) == []   # 2020-12: neither an array items nor
    every = {"items": {"type": "integer"}, "additionalItems": False}   # additionalItems
    for name in URIS:
        assert problems([1, "2"], every, name) == ["v[1]: expected integer, got string"]


@pytest.mark.spec("BP-34")
def test_what_older_dialects_lack_is_not_checked_by_them():
    """const and boolean schemas arrived in draft-06; draft-04's integer has no fraction
    part at all, so 1.0 is not one there (it is from draft-06 on)."""
    assert problems({"a": 2}, {"properties": {"a": {"const": 1}}}, "draft-06") == [
        "v.a: expected 1"]
    assert problems({"a": 2}, {"properties": {"a": {"const": 1}}}, "draft-04") == []
    assert problems([1], {"items": False}, "draft-07") == [
        "v[0]: not allowed here (the schema is false)"]
    assert problems([1], {"items": False}, "draft-04") == []
    assert problems({"b": 1}, {"additionalProperties": False}, "draft-04") == [
        "v.b: unexpected property (additionalProperties is false)"]
    assert problems({"n": 1.0}, {"properties": {"n": {"type": "integer"}}}, "draft-06") == []
    assert problems({"n": 1.0}, {"properties": {"n": {"type": "integer"}}}, "draft-04") == [
        "v.n: expected integer, got number"]


@pytest.mark.spec("BP-34")
def test_a_keyword_we_do_not_check_never_makes_a_false_problem():
    """Up to draft-07, $ref replaces its schema (its siblings are ignored): nothing there is
    checked. From 2019-09 on, $ref is one keyword among others: the siblings are checked.
    patternProperties, or properties of the wrong JSON type, leave additionalProperties
    unchecked; a prefixItems of the wrong type leaves items unchecked. A nested $schema of
    another dialect is not judged."""
    ref = {"properties": {"a": {"$ref": "#/$defs/x", "type": "string"}}}
    for old in ("draft-07", "draft-06", "draft-04"):
        assert problems({"a": 1}, ref, old) == []
    for new in ("2019-09", "2020-12"):
        assert problems({"a": 1}, ref, new) == ["v.a: expected string, got integer"]
    assert problems({"x": 1}, {"patternProperties": {"^x": {}},
                               "additionalProperties": False}) == []
    assert problems({"x": 1}, {"patternProperties": {LOOKAHEAD: {}},
                               "additionalProperties": False}) == []
    assert problems({"x": 1}, {"patternProperties": ["^y"],
                               "additionalProperties": False}) == []
    assert problems({"x": 1}, {"properties": [], "additionalProperties": False}) == []
    assert problems([1, 2], {"prefixItems": {"type": "integer"}, "items": False}) == []
    assert problems({"a": 1}, {"properties": {"a": {"$schema": URIS["draft-04"],
                                                    "type": "string"}}}) == []
    assert problems({"a": 1}, {"properties": {"a": {"$schema": URIS["2020-12"],
                                                    "type": "string"}}}) == [
        "v.a: expected string, got integer"]
    # format is not checked (D-49), nor a pattern outside the matcher's subset (D-128), nor
    # anything that hangs on them: a combinator whose branch holds one does not know that
    # branch's verdict.
    unchecked = {"pattern": "(?!b)", "format": "email", "not": {"pattern": "(?=b)"},
                 "anyOf": [{"format": "date"}, {"type": "integer"}], "if": {"pattern": LOOKAHEAD},
                 "then": False, "oneOf": [{"pattern": "(?=a)"}, {}]}
    assert problems({"a": "b"}, {"properties": {"a": unchecked}}) == []


@pytest.mark.spec("BP-34", "TL-09")
@pytest.mark.parametrize("schema", [
    {"items": 5}, {"prefixItems": "x"}, {"additionalProperties": []}, {"type": 3},
    {"enum": {"a": 1}}, {"properties": {"a": 7}}, {"required": [{"x": 1}]},
    {"$schema": {"uri": 1}}, {"items": [1, "x", None]}, {"properties": {"a": {"items": "y"}}}])
def test_a_malformed_schema_member_is_ignored(schema):
    for dialect in URIS:
        assert problems({"a": [1, 2]}, schema, dialect) == []


@pytest.mark.spec("BP-34", "TL-09")
def test_hard_limits_bound_the_check():
    """A peer's schema or value can never hang or crash the check: it follows schemas 32
    deep, lists 20 problems (and says there were more), and stops after MAX_STEPS steps.
    Past a limit it says nothing: never a false problem."""
    import time

    def nest(depth, leaf):
        schema = leaf
        for _ in range(depth):
            schema = {"properties": {"a": schema}}
        return schema

    def value(depth):
        return {"a": value(depth - 1)} if depth else "leaf"
    assert problems(value(31), nest(31, {"type": "integer"})) == [
        "v" + ".a" * 31 + ": expected integer, got string"]
    assert problems(value(40), nest(40, {"type": "integer"})) == []        # too deep
    many = problems(list(range(100)), {"items": {"type": "string"}})
    assert len(many) == shapes.MAX_PROBLEMS + 1
    assert many[-1] == "v: more problems not listed (the check stops after 20)"
    started = time.monotonic()
    huge_enum = {"properties": {"a": {"enum": list(range(2 * shapes.MAX_STEPS))}}}
    assert problems({"a": -1}, huge_enum) == []          # out of steps: not judged
    long_list = [[0] * 1000] * 1000                       # a million items to look at
    ints = {"items": {"items": {"type": "integer"}}}
    assert problems([["x"]] + long_list, ints) == ["v[0][0]: expected integer, got string"]
    assert problems(long_list + [["x"]], ints) == []       # out of steps before the last
    assert time.monotonic() - started < 20                # bounded work, generous deadline


@pytest.mark.spec("TL-09", "BP-01")
def test_a_handlers_non_string_keys_are_judged_as_json_will_write_them():
    """A handler's structuredContent is checked before it is encoded, and json.dumps writes
    the keys 3, True, None and 2.5 as "3", "true", "null" and "2.5": a full validator on the
    wire sees those names, so the check must too (no false problem)."""
    schema = {"type": "object", "required": ["3", "true", "null"],
              "properties": {"3": {"type": "string"}, "true": {"type": "integer"},
                             "null": {}, "2.5": {"const": {"7": [1]}}},
              "additionalProperties": False}
    handler_made = {3: "x", True: 2, None: 0, 2.5: {7: [1.0]}}
    assert problems(handler_made, schema) == []
    assert problems({3: 5, True: 2, None: 0}, schema) == ["v['3']: expected string, got integer"]
    assert problems({"a": {False: 1}}, {"properties": {"a": {"enum": [{"false": 1}]}}}) == []
    assert shapes.output_problems({"content": [], "structuredContent": handler_made},
                                  schema) == []


# --- D-49: bounds, counts, dependencies, contains, combinators, $ref ---------------------------

@pytest.mark.spec("BP-34", "TL-09", "TL-14")
def test_numeric_bounds_follow_the_dialect():
    """minimum/maximum are inclusive; draft-04's exclusiveMinimum/exclusiveMaximum are
    booleans that make them exclusive, from draft-06 on they are numbers of their own. Only
    numbers are judged (true is not one); a bound that is not a number is not a rule."""
    assert problems(3, {"minimum": 3, "maximum": 3}) == []
    assert problems(2, {"minimum": 3}) == ["v: expected at least 3, got 2"]
    assert problems(3.5, {"maximum": 3}) == ["v: expected at most 3, got 3.5"]
    assert problems(3, {"exclusiveMinimum": 3}) == ["v: expected more than 3, got 3"]
    assert problems(3, {"exclusiveMaximum": 3.0}, "draft-06") == [
        "v: expected less than 3.0, got 3"]
    assert problems(3, {"minimum": 3, "exclusiveMinimum": True}, "draft-04") == [
        "v: expected more than 3, got 3"]
    assert problems(3, {"maximum": 3, "exclusiveMaximum": False}, "draft-04") == []
    assert problems(3, {"exclusiveMaximum": 3}, "draft-04") == []      # malformed there
    assert shapes.verdict(3, {"exclusiveMaximum": 3, "$schema": URIS["draft-04"]}) is None
    assert problems(3, {"minimum": True, "exclusiveMinimum": "3"}) == []
    assert problems(True, {"minimum": 3}) == problems("a", {"minimum": 3}) == []
    assert problems(10 ** 400, {"maximum": 1.5}) == [
        "v: expected at most 1.5, got 100000000000000000...0000000000000000000"]  # quoted


@pytest.mark.spec("BP-34", "TL-09", "TL-14")
def test_multiple_of_is_exact_in_decimal():
    """multipleOf compares the decimals JSON writes, exactly: 0.3 is a multiple of 0.1 (a
    float division says 2.9999999999999996; jsonschema reports it, we do not)."""
    assert problems(0.3, {"multipleOf": 0.1}) == []
    assert problems(0.35, {"multipleOf": 0.1}) == ["v: expected a multiple of 0.1, got 0.35"]
    assert problems(10, {"multipleOf": 2.5}) == []
    assert problems(7, {"multipleOf": 2}) == ["v: expected a multiple of 2, got 7"]
    assert problems(1e308, {"multipleOf": 1e-308}) == []
    for malformed in (0, -2, "2", True, float("nan")):
        assert problems(7, {"multipleOf": malformed}) == []
    assert problems(float("inf"), {"multipleOf": 2}) == []       # no exact quotient: no rule


@pytest.mark.spec("BP-34", "TL-09", "TL-14")
def test_lengths_and_counts():
    """minLength/maxLength count characters (code points, not UTF-16 units nor bytes);
    minItems/maxItems count items, minProperties/maxProperties members; each judges only
    its own JSON type, and a count that is not a non-negative integer is not a rule."""
    assert problems("\U0001F600", {"maxLength": 1, "minLength": 1}) == []
    assert problems("ab", {"maxLength": 1}) == ["v: expected at most 1 characters, got 2"]
    assert problems("", {"minLength": 1.0}, "draft-06") == [
        "v: expected at least 1 characters, got 0"]
    assert problems([1], {"minItems": 2}) == ["v: expected at least 2 items, got 1"]
    assert problems([1, 2, 3], {"maxItems": 2}) == ["v: expected at most 2 items, got 3"]
    assert problems({"a": 1}, {"minProperties": 2}) == [
        "v: expected at least 2 properties, got 1"]
    assert problems({"a": 1, "b": 2}, {"maxProperties": 1}) == [
        "v: expected at most 1 properties, got 2"]
    assert problems("ab", {"maxItems": 1, "maxProperties": 1}) == []
    assert problems("ab", {"maxLength": -1}) == problems("ab", {"maxLength": 1.5}) == []


@pytest.mark.spec("BP-34", "TL-09", "TL-14")
def test_unique_items_uses_json_equality():
    assert problems([1, True, "1", [1], {"a": 1}], {"uniqueItems": True}) == []
    assert problems([1, 2, 1.0], {"uniqueItems": True}) == [
        "v: items 0 and 2 are equal, expected unique items"]
    assert problems([{"a": [1]}, {"a": [1.0]}], {"uniqueItems": True}) == [
        "v: items 0 and 1 are equal, expected unique items"]
    assert problems([1, 1], {"uniqueItems": False}) == []
    assert problems([{"a": 1, "b": [0.5]}, {"b": [0.5], "a": 1.0}], {"uniqueItems": True}) == [
        "v: items 0 and 1 are equal, expected unique items"]     # members in any order
    assert problems([0, -0.0, 10**400], {"uniqueItems": True}) == [
        "v: items 0 and 1 are equal, expected unique items"]
    nan = float("nan")                              # not JSON: equal to nothing, not judged
    assert shapes.verdict([nan, nan], {"uniqueItems": True}) is None
    assert shapes.verdict(1.0, {"enum": ["1", True, 1]}) is True
    assert shapes.verdict(True, {"const": 1}) is False


@pytest.mark.spec("BP-34", "TL-09", "TL-14")
def test_a_large_float_is_the_number_json_writes_for_it():
    """From 2**53 on a float is an integer, and the number it stands for on the wire is the
    decimal json.dumps writes (its repr): 1e25 is written "1e+25", 10**25, where its binary
    value is 10000000000000000905969664. A peer compares those decimals (JSON Schema core
    4.2.2: the same mathematical value; JavaScript reads both texts as one double). So
    bounds, enum, const and uniqueItems read a float as written, as multipleOf does
    (D-49, D-77). Comparing binary values reported "expected at most 1e+25" of a float the
    peer reads as exactly 10**25, and found 1e308 equal to int(1e308), whose digits part
    from 1e+308's at the 17th. Found by a differential fuzz against jsonschema."""
    assert problems({"n": 1e25}, {"properties": {"n": {"maximum": 10 ** 25}}}) == []
    assert problems(10 ** 25, {"maximum": 1e25, "minimum": 1e25}) == []
    assert problems(10 ** 25, {"exclusiveMaximum": 1e25}) == [
        "v: expected less than 1e+25, got 10000000000000000000000000"]
    assert problems(10 ** 25 + 1, {"maximum": 1e25}) == [
        "v: expected at most 1e+25, got 10000000000000000000000001"]
    assert problems(1e25, {"const": 10 ** 25}) == problems(1e25, {"enum": [10 ** 25]}) == []
    assert problems(int(1e25), {"const": 1e25}) == [
        "v: expected 1e+25"]                        # 10000000000000000905969664 != 10**25
    assert problems([-1e25, -10 ** 25], {"uniqueItems": True}) == [
        "v: items 0 and 1 are equal, expected unique items"]
    assert problems([1e308, int(1e308)], {"uniqueItems": True}) == []
    # Below 2**53 every integer is a float exactly, and the two readings agree.
    assert problems(2 ** 53 + 1, {"maximum": float(2 ** 53)}) == [
        "v: expected at most 9007199254740992.0, got 9007199254740993"]
    assert problems([2.0 ** 53, 2 ** 53], {"uniqueItems": True}) == [
        "v: items 0 and 1 are equal, expected unique items"]


#: Numbers where the readings part: 1, 1.0 and true; -0.0; 0.1 and 0.3 (multipleOf); the
#: edge of the floats' integers (2**53); floats past it, which JSON writes as decimals that
#: are not their binary values (1e25 is "1e+25"), the integers those decimals and those
#: binary values are; integers no float reaches.
EDGE_NUMBERS = [0, -0.0, 1, 1.0, True, False, -1, 2.5, 0.1, 0.3, 2 ** 53, 2 ** 53 + 1,
                float(2 ** 53), 10 ** 25, 1e25, -10 ** 25, -1e25, int(1e25), 1e308, -1e308,
                int(1e308), 10 ** 308, 10 ** 400, 5e-324]


def _as_json_writes_it(value):
    """``value`` with each float from 2**53 on replaced by the integer its repr is: the
    number a peer reads (D-77), for jsonschema, which compares binary values."""
    from decimal import Decimal
    if isinstance(value, float) and 2 ** 53 <= abs(value) < float("inf"):
        return int(Decimal(repr(value)))
    if isinstance(value, list):
        return [_as_json_writes_it(item) for item in value]
    if isinstance(value, dict):
        return {name: _as_json_writes_it(member) for name, member in value.items()}
    return value


@pytest.mark.spec("BP-34", "TL-09", "TL-14")
def test_numbers_agree_with_a_full_validator_that_reads_the_decimals():
    """Differential test (deterministic seed, D-77) of the keywords that compare numbers
    (type, enum, const, the bounds, multipleOf, uniqueItems) on EDGE_NUMBERS, in 2020-12 and
    draft-07: the subset's verdict is exact and is jsonschema's, once jsonschema is given
    each large float as the decimal JSON writes for it and divides exactly for multipleOf
    (it divides floats: 2**53 would be a multiple of 1.5)."""
    import random
    from decimal import Decimal
    from fractions import Fraction
    jsonschema = pytest.importorskip(
        "jsonschema", reason="the differential test needs jsonschema (pip install jsonschema)")

    def exact(number):
        return Fraction(Decimal(repr(number))) if isinstance(number, float) else Fraction(number)

    def multiple_of(validator, divisor, value, schema):
        if validator.is_type(value, "number") and (exact(value) / exact(divisor)).denominator != 1:
            yield jsonschema.ValidationError(f"{value!r} is not a multiple of {divisor!r}")

    rng = random.Random("D-77")
    numbers = [number for number in EDGE_NUMBERS if not isinstance(number, bool)]
    invalid = 0
    for n in range(3000):
        dialect = ("2020-12", "draft-07")[n % 2]
        schema = {"$schema": URIS[dialect]}
        for keyword in rng.sample(["type", "enum", "const", "minimum", "maximum",
                                   "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
                                   "uniqueItems"], rng.randint(1, 3)):
            schema[keyword] = {
                "type": lambda: rng.choice(["integer", "number", "boolean", "array"]),
                "enum": lambda: rng.sample(EDGE_NUMBERS, rng.randint(1, 3)),
                "const": lambda: rng.choice(EDGE_NUMBERS),
                "multipleOf": lambda: rng.choice([1.5, 0.1, 3, 2 ** 64, 1e25, 0.5]),
                "uniqueItems": lambda: True}.get(keyword, lambda: rng.choice(numbers))()
        value = (rng.sample(EDGE_NUMBERS, rng.randint(2, 3)) if rng.random() < 0.3
                 else rng.choice(EDGE_NUMBERS))
        if isinstance(value, list) and rng.random() < 0.5:
            value.append(rng.choice(value))
        validator = jsonschema.validators.extend(getattr(jsonschema, VALIDATORS[dialect]),
                                                 {"multipleOf": multiple_of})
        expected = validator(_as_json_writes_it(schema)).is_valid(_as_json_writes_it(value))
        assert shapes.verdict(value, schema) is expected, (schema, value)
        invalid += not expected
    assert 600 < invalid < 2400                       # both verdicts were exercised


@pytest.mark.spec("BP-34", "TL-09", "TL-14")
def test_unique_items_scales_with_the_array_not_its_square():
    """uniqueItems keys each item once (shapes._Checker.key) rather than comparing every
    pair: 100 000 items are judged within the step limit, the duplicate at the end found.
    Numbers are keyed by their digits, so integers a peer chose to hash alike (multiples of
    2**61 - 1, Python's int hash modulus) do not make the dict quadratic: 100 000 of them
    would take minutes that way (a generous deadline guards against a hang)."""
    import time
    unique = {"uniqueItems": True}
    count = 100_000
    assert problems(list(range(count)) + [17], unique) == [
        f"v: items 17 and {count} are equal, expected unique items"]
    assert shapes.verdict([str(n) for n in range(count)], unique) is True
    started = time.monotonic()
    alike = [n * (2**61 - 1) for n in range(1, count)]
    assert len({hash(n) for n in alike}) == 1                       # they do hash alike
    assert shapes.verdict(alike, unique) is True
    assert time.monotonic() - started < 20


@pytest.mark.spec("BP-34", "TL-09", "TL-14")
def test_dependencies_and_property_names_follow_the_dialect():
    """dependentRequired and dependentSchemas from 2019-09; dependencies (names or a schema)
    up to draft-07; propertyNames from draft-06. A keyword outside its dialects is not
    checked."""
    names = {"dependentRequired": {"a": ["b", "c"]}}
    assert problems({"a": 1, "b": 2}, names) == [
        "v: missing required property 'c', as 'a' is present"]
    assert problems({"b": 2}, names) == []
    assert problems({"a": 1}, names, "draft-07") == []
    shape = {"dependentSchemas": {"a": {"required": ["b"]}}}
    assert problems({"a": 1}, shape, "2019-09") == ["v: missing required property 'b'"]
    old = {"dependencies": {"a": ["b"], "c": {"properties": {"d": {"type": "string"}}}}}
    for dialect in ("draft-07", "draft-06", "draft-04"):
        assert problems({"a": 1, "c": 1, "d": 2}, old, dialect) == [
            "v: missing required property 'b', as 'a' is present",
            "v.d: expected string, got integer"], dialect
    assert problems({"a": 1}, old) == []                        # 2020-12: not a keyword
    assert shapes.verdict({"a": 1}, old) is None
    keys = {"propertyNames": {"maxLength": 1}}
    assert problems({"a": 1, "bb": 2}, keys) == [
        "v: property name 'bb' does not match propertyNames"]
    assert problems({"bb": 1}, keys, "draft-04") == []


@pytest.mark.spec("BP-34", "TL-09", "TL-14")
def test_contains_counts_only_what_it_knows():
    """contains (draft-06 on) needs one matching item; minContains/maxContains (2019-09 on)
    change how many. An item whose match is not known (a pattern) counts for neither side."""
    assert problems([1, "a"], {"contains": {"type": "string"}}) == []
    assert problems([1, 2], {"contains": {"type": "string"}}) == ["v: no item matches contains"]
    assert problems([], {"contains": {}}) == ["v: no item matches contains"]
    assert problems([1, "a"], {"contains": {"type": "string"}, "minContains": 2}) == [
        "v: expected at least 2 items matching contains, found 1"]
    assert problems([], {"contains": False, "minContains": 0}) == []
    assert problems(["a", "b"], {"contains": {"type": "string"}, "maxContains": 1}) == [
        "v: expected at most 1 items matching contains, found 2"]
    assert problems([1], {"contains": {"type": "string"}, "minContains": 0}, "draft-07") == [
        "v: no item matches contains"]                  # minContains is 2019-09's
    assert problems([1, 2], {"contains": {"type": "string"}}, "draft-04") == []
    assert problems(["a", "b"], {"contains": {"pattern": LOOKAHEAD}}) == []
    assert problems(["a", 2], {"contains": {"type": "string", "pattern": LOOKAHEAD}}) == []
    assert problems(["a", "b"], {"contains": {"pattern": "^z"}}) == [       # D-128: run
        "v: no item matches contains"]


@pytest.mark.spec("BP-34", "TL-09", "TL-14")
def test_all_of_and_any_of():
    """allOf: each schema's problems are the value's. anyOf: reported when every schema
    surely fails, in one line (not each branch's problems)."""
    assert problems({"a": 1}, {"allOf": [{"required": ["a"]}, {"required": ["b"]},
                                         {"properties": {"a": {"type": "string"}}}]}) == [
        "v: missing required property 'b'", "v.a: expected string, got integer"]
    either = {"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 5}, False]}
    assert problems("a", either) == problems(7, either) == []
    assert problems(3, either) == ["v: matches none of anyOf's 3 schemas"]
    assert problems(3, {"anyOf": [{"type": "string"}, {"format": "date"}]}) == []
    many = {"anyOf": [{"items": {"type": "string"}}, False]}   # 100 problems in a branch
    assert problems(list(range(100)), many) == ["v: matches none of anyOf's 2 schemas"]


@pytest.mark.spec("BP-34", "TL-09", "TL-14")
def test_one_of_and_not():
    """oneOf: none passing is reported as anyOf's; more than one only when those surely pass.
    not: reported only when its schema surely passes."""
    one = {"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 2},
                     {"type": "string"}]}
    assert problems(1, one) == problems(2.5, one) == problems("a", one) == []
    assert problems(3, one) == ["v: matches 2 of oneOf's 3 schemas, expected exactly one"]
    assert problems(None, one) == ["v: matches none of oneOf's 3 schemas"]
    assert problems(3, {"oneOf": [{"type": "integer"}, {"minimum": 2},
                                  {"pattern": LOOKAHEAD}]}) == [
        "v: matches at least 2 of oneOf's 3 schemas, expected exactly one"]
    assert problems("a", {"oneOf": [{"type": "string"}, {"format": "email"}]}) == []
    assert problems(1, {"not": {"type": "integer"}}) == ["v: matches the schema of not"]
    assert problems("a", {"not": {"type": "integer"}}) == []
    assert problems("a", {"not": {"pattern": LOOKAHEAD}}) == []   # not run: not known
    assert problems("a", {"not": {"pattern": "^a"}}) == ["v: matches the schema of not"]
    assert problems("a", {"not": {"not": {"type": "string"}}}) == []
    assert problems(1, {"not": {"not": {"type": "string"}}}) == ["v: matches the schema of not"]
    assert problems(1, {"not": True}) == ["v: matches the schema of not"]


@pytest.mark.spec("BP-34", "TL-09", "TL-14")
def test_if_then_else_applies_a_branch_only_when_if_is_known():
    rule = {"if": {"properties": {"kind": {"const": "circle"}}},
            "then": {"required": ["radius"]}, "else": {"required": ["side"]}}
    assert problems({"kind": "circle"}, rule) == ["v: missing required property 'radius'"]
    assert problems({"kind": "square"}, rule) == ["v: missing required property 'side'"]
    assert problems({"kind": "circle", "radius": 1}, rule) == []
    unknown = dict(rule, **{"if": {"properties": {"kind": {"pattern": LOOKAHEAD}}}})
    assert problems({"kind": "circle"}, unknown) == []           # if not known: neither
    assert problems({"kind": "circle"}, rule, "draft-06") == []  # if/then/else: draft-07 on
    assert problems({}, {"then": False, "else": False}) == []    # no if: no branch


def verdict(value, schema, dialect=None):
    if dialect is not None:
        schema = dict(schema, **{"$schema": URIS[dialect]})
    return shapes.verdict(value, schema)


CLOSED = "unexpected property (unevaluatedProperties is false)"
NO_MORE = "unexpected item (unevaluatedItems is false)"


@pytest.mark.spec("BP-34", "TL-09", "TL-14")
def test_unevaluated_properties_sees_through_the_subschemas_that_passed():
    """unevaluatedProperties (2019-09 on, core §11.3; D-133) applies to the members no
    adjacent keyword evaluated (properties, patternProperties, additionalProperties) nor
    any in-place subschema that passed: allOf, anyOf, oneOf, if/then/else, dependentSchemas,
    $ref, a nested unevaluatedProperties. A failing branch's members do not count; not's never
    do. Where a branch's verdict is not known, neither is unevaluatedProperties'."""
    sibling = {"properties": {"a": {}}, "unevaluatedProperties": False}
    assert problems({"a": 1}, sibling) == []
    assert problems({"a": 1, "b": 2}, sibling) == ["v.b: " + CLOSED]
    assert problems({"a": 1, "b": 2}, dict(sibling, patternProperties={"^b": {}})) == []
    assert problems({"a": 1, "b": 2}, dict(sibling, additionalProperties={})) == []
    assert problems({"a": 1, "b": 2}, dict(sibling, allOf=[{"properties": {"b": {}}}])) == []
    either = dict(sibling, anyOf=[{"properties": {"b": {"type": "string"}}}, {}])
    assert problems({"a": 1, "b": "x"}, either) == []
    assert problems({"a": 1, "b": 2}, either) == ["v.b: " + CLOSED]     # its branch failed
    assert problems({"a": 1, "b": 2}, dict(sibling, oneOf=[{"properties": {"b": {}}}])) == []
    assert problems({"a": 1, "b": 2}, dict(sibling, **{"not": {"properties": {
        "b": {"type": "string"}}}})) == ["v.b: " + CLOSED]
    conditional = dict(sibling, **{"if": {"properties": {"a": {"const": 1}}},
                                   "then": {"properties": {"b": {}}},
                                   "else": {"properties": {"c": {}}}})
    assert problems({"a": 1, "b": 2}, conditional) == []
    assert problems({"a": 2, "b": 2}, conditional) == ["v.b: " + CLOSED]
    assert problems({"a": 2, "c": 2}, conditional) == []
    assert problems({"a": 1, "b": 2}, dict(sibling, dependentSchemas={
        "a": {"properties": {"b": {}}}})) == []
    assert problems({"a": 1, "b": 2}, dict(sibling, **{"$ref": "#/$defs/b", "$defs": {
        "b": {"properties": {"b": {}}}}})) == []
    # A nested unevaluatedProperties evaluates what is left; it does not see its parent's.
    assert problems({"a": 1, "b": 2}, dict(sibling, allOf=[
        {"unevaluatedProperties": True}])) == []
    assert problems({"a": 1, "b": 2}, {"properties": {"b": {}}, "allOf": [sibling]}) == [
        "v.b: " + CLOSED]
    # A schema rather than false: it applies to each member left.
    typed = {"properties": {"a": {}}, "unevaluatedProperties": {"type": "string"}}
    assert problems({"a": 1, "b": "x"}, typed) == []
    assert problems({"a": 1, "b": 2}, typed) == ["v.b: expected string, got integer"]
    # Not known: a branch whose verdict is unknown might have evaluated b.
    unknown = dict(sibling, anyOf=[{"properties": {"b": {"pattern": LOOKAHEAD}}}])
    assert problems({"a": 1, "b": "x"}, unknown) == []
    assert verdict({"a": 1, "b": "x"}, unknown) is None
    assert verdict({"a": 1, "c": "x"}, unknown) is False        # c: no branch names it
    assert verdict({"a": 1}, {"patternProperties": {LOOKAHEAD: {}},
                              "unevaluatedProperties": False}) is None
    assert verdict({"a": 1}, {"$ref": "#", "unevaluatedProperties": False}) is None
    assert verdict({"a": 1}, {"properties": {"a": {}}, "unevaluatedProperties": False}) is True


@pytest.mark.spec("BP-34", "TL-09", "TL-14")
def test_unevaluated_items_follows_the_dialect():
    """unevaluatedItems (core §11.2; D-133): in 2020-12 prefixItems evaluates the first
    items, items the rest, contains the items it matches; in 2019-09 items (an array of
    schemas) the first ones, one schema in items or additionalItems beside an array all of
    them, and contains none (2019-09 core §9.3.1.3; jsonschema counts them: not known).
    Before 2019-09 the keyword does not exist: not judged, no verdict."""
    rest = {"prefixItems": [{}], "unevaluatedItems": False}
    assert problems([1], rest) == []
    assert problems([1, 2, 3], rest) == ["v[1]: " + NO_MORE, "v[2]: " + NO_MORE]
    assert problems([1, 2], dict(rest, items={})) == []
    assert problems([1, "a"], dict(rest, contains={"type": "string"})) == []
    assert problems([1, "a", 3], dict(rest, contains={"type": "string"})) == ["v[2]: " + NO_MORE]
    assert problems([1, 2], dict(rest, anyOf=[{"prefixItems": [{}, {"type": "string"}]},
                                              {}])) == ["v[1]: " + NO_MORE]
    assert problems([1, "a"], dict(rest, anyOf=[{"prefixItems": [{}, {"type": "string"}]}])
                    ) == []
    assert problems([1, 2], {"unevaluatedItems": {"type": "string"}}) == [
        "v[0]: expected string, got integer", "v[1]: expected string, got integer"]
    old = {"items": [{}], "unevaluatedItems": False}
    assert problems([1, 2], old, "2019-09") == ["v[1]: " + NO_MORE]
    assert problems([1, 2], dict(old, additionalItems={}), "2019-09") == []
    assert problems([1, 2], {"items": {}, "unevaluatedItems": False}, "2019-09") == []
    assert problems(["a"], {"contains": {}, "unevaluatedItems": False}, "2019-09") == []
    assert verdict(["a"], {"contains": {}, "unevaluatedItems": False}, "2019-09") is None
    assert verdict(["a"], {"contains": {}, "unevaluatedItems": False}, "2020-12") is True
    # prefixItems is 2020-12's: in 2019-09 a validator may apply it, or not.
    assert verdict([1, 2], dict(rest), "2019-09") is None
    for older in ("draft-07", "draft-06", "draft-04"):
        assert problems([1], {"unevaluatedItems": False}, older) == []
        assert problems({"a": 1}, {"unevaluatedProperties": False}, older) == []
        assert verdict({"a": 1}, {"unevaluatedProperties": False}, older) is None
    assert problems({"a": 1}, {"unevaluatedProperties": False}, "2019-09") == ["v.a: " + CLOSED]


@pytest.mark.spec("BP-34", "TL-09", "TL-14")
def test_an_additional_properties_schema_evaluates_every_member_in_2019_09_too():
    """2019-09 core §9.3.2.3: additionalProperties' annotation is the members it validated,
    as in 2020-12. jsonschema 4.26's 2019-09 takes the keys of that schema (``type``) for
    them, and refuses {"a": 1} here; the subset gives the spec's answer (D-133)."""
    schema = {"additionalProperties": {"type": "integer"}, "unevaluatedProperties": False}
    for dialect in ("2019-09", "2020-12"):
        assert verdict({"a": 1}, schema, dialect) is True
        assert problems({"a": "x"}, schema, dialect) == ["v.a: expected integer, got string"]


@pytest.mark.spec("BP-34", "TL-09", "TL-14")
def test_unevaluated_work_is_bounded_by_the_steps():
    """Finding what was evaluated re-runs the branches' trials and follows $refs: it is paid
    from MAX_STEPS like the rest, so a schema that multiplies the work ends with no verdict."""
    wide = {"anyOf": [{"$ref": "#"}, {"$ref": "#"}], "properties": {"a": {}},
            "unevaluatedProperties": False}
    assert verdict({"a": {"a": {"a": 1}}, "b": 1}, wide) is None
    big = {"prefixItems": [{}], "unevaluatedItems": False}
    assert verdict(list(range(shapes.MAX_STEPS)), big) is None


@pytest.mark.spec("BP-34", "TL-09", "TL-14")
def test_local_refs_are_followed():
    """A $ref that is a JSON pointer into the root schema is followed (~0, ~1 and percent
    escapes decoded); up to draft-07 it hides its siblings, from 2019-09 they apply beside
    it. A ref we cannot follow (missing, another document, an anchor, under a subschema
    with its own $id) is not checked, and makes the verdict unknown."""
    schema = {"$defs": {"n": {"type": "integer"}, "a/b~c": {"minimum": 1},
                        "x y": {"type": "string"}},
              "properties": {"n": {"$ref": "#/$defs/n"}, "m": {"$ref": "#/$defs/a~1b~0c"},
                             "s": {"$ref": "#/$defs/x%20y"},
                             "both": {"$ref": "#/$defs/n", "minimum": 5},
                             "root": {"$ref": "#"}}}
    assert problems({"n": "1", "m": 0, "s": 1, "both": 2, "root": {"n": 1.5}}, schema) == [
        "v.n: expected integer, got string", "v.m: expected at least 1, got 0",
        "v.s: expected string, got integer", "v.both: expected at least 5, got 2",
        "v.root.n: expected integer, got number"]
    old = {"definitions": {"n": {"type": "integer"}},
           "properties": {"both": {"$ref": "#/definitions/n", "minimum": 5}}}
    for dialect in ("draft-07", "draft-06", "draft-04"):
        assert problems({"both": 2}, old, dialect) == [], dialect
        assert problems({"both": "2"}, old, dialect) == [
            "v.both: expected integer, got string"], dialect
    for ref in ("#/$defs/missing", "other.json#/$defs/n", "#n", "#/$defs/n/0", 5):
        unresolved = {"$defs": {"n": {"$anchor": "n", "type": "integer"}},
                      "properties": {"a": {"$ref": ref}}}
        assert problems({"a": "x"}, unresolved) == [], ref
        assert shapes.verdict({"a": "x"}, unresolved) is None, ref
    elsewhere = {"$defs": {"n": {"type": "integer"}},
                 "properties": {"a": {"$id": "https://example.com/other",
                                      "properties": {"b": {"$ref": "#/$defs/n"}}}}}
    assert problems({"a": {"b": "x"}}, elsewhere) == []
    draft4_id = {"definitions": {"n": {"type": "integer"}},
                 "properties": {"a": {"id": "other", "items": {"$ref": "#/definitions/n"}}}}
    assert problems({"a": ["x"]}, draft4_id, "draft-04") == []
    assert problems({"a": ["x"]}, draft4_id, "draft-06") == [
        "v.a[0]: expected integer, got string"]                # id is draft-04's keyword
    named_id = {"properties": {"id": {"type": "integer"}, "copy": {"$ref": "#/properties/id"}}}
    assert problems({"copy": "x"}, named_id, "draft-04") == [   # a property named id is
        "v.copy: expected integer, got string"]                  # not a schema's id


@pytest.mark.spec("BP-34", "TL-09")
def test_a_ref_that_refers_to_itself_ends_within_the_limits():
    """A schema that refers to itself, directly or by a cycle (a -> b -> a), never hangs and
    never raises: each ref followed is a level of MAX_DEPTH, each schema a step. Where the
    value ends first, the recursion is a real rule and is checked."""
    import time
    started = time.monotonic()
    cycles = [{"$ref": "#"}, {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}},
                              "$ref": "#/$defs/a"},
              {"anyOf": [{"$ref": "#"}, {"$ref": "#"}]},
              {"allOf": [{"$ref": "#"}, {"$ref": "#"}], "oneOf": [{"$ref": "#"}, {}]},
              {"not": {"$ref": "#"}}]
    for schema in cycles:
        for value in ({}, [1, 2], "a", {"a": {"a": {}}}):
            assert problems(value, schema) == [], schema
            assert shapes.verdict(value, schema) is None, schema
            assert problems(value, schema, "draft-07") == [], schema
    assert time.monotonic() - started < 5              # a loop is seen at once
    tree = {"type": ["integer", "array"], "items": {"$ref": "#"}}
    assert problems([1, [2, [3, ["x"]]]], tree) == ["v[1][1][1][0]: expected integer or array, "
                                                    "got string"]
    assert shapes.verdict([1, [2, [3, [4]]]], tree) is True


@pytest.mark.spec("BP-34", "TL-09")
def test_the_verdict_is_unknown_where_a_keyword_is_not_checked():
    """shapes.verdict: True only where every keyword that applies was understood. format,
    $dynamicRef and $recursiveRef are not checked (D-49), nor a pattern outside
    the matcher's subset (D-128), nor a keyword outside its dialect (prefixItems in
    2019-09)."""
    assert shapes.verdict({"a": 1}, {"properties": {"a": {"type": "integer"}}}) is True
    assert shapes.verdict({"a": "x"}, {"properties": {"a": {"type": "integer"}}}) is False
    for keyword, rule in [("pattern", LOOKAHEAD), ("patternProperties", {LOOKAHEAD: {}}),
                          ("format", "email"), ("$dynamicRef", "#x"),
                          ("$recursiveRef", "#")]:
        assert shapes.verdict({"a": 1}, {keyword: rule}) is None, keyword
    assert shapes.verdict([1], {"prefixItems": [{}], "$schema": URIS["2019-09"]}) is None
    assert shapes.verdict(1, {"$schema": "https://example.com/unknown"}) is None
    assert shapes.verdict(1, {"title": "t", "description": "d", "default": 2,
                              "examples": [1], "$comment": "c", "x-anything": 1}) is True


# --- The subset against a full validator (jsonschema), on generated schemas -------------------

VALIDATORS = {"2020-12": "Draft202012Validator", "2019-09": "Draft201909Validator",
              "draft-07": "Draft7Validator", "draft-06": "Draft6Validator",
              "draft-04": "Draft4Validator"}
SCALARS = [None, True, False, 0, 1, 1.0, 2.5, -3, "", "a", "b"]
NAMES = ["a", "b", "c", "d"]
TYPES = ["string", "integer", "number", "boolean", "null", "object", "array"]


def _random_value(rng, depth=0):
    roll = rng.random()
    if depth < 3 and roll < 0.2:
        names = rng.sample(NAMES, rng.randint(0, 3))
        return {name: _random_value(rng, depth + 1) for name in names}
    if depth < 3 and roll < 0.4:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return rng.choice(SCALARS)


ORDER = list(URIS)[::-1]                    # oldest first: draft-04 ... 2020-12
NUMBERS = [0, 1, 1.0, 2, 2.5, 0.5, 0.3, -3, 4]
STRINGS = ["", "a", "b", "ab", "aba"]


def _has(dialect, first):
    return ORDER.index(dialect) >= ORDER.index(first)


def _definitions(dialect):
    return "$defs" if _has(dialect, "2019-09") else "definitions"


def _random_schema(rng, dialect, extra, depth=0, descended=False, refs=True):
    """A schema of our subset's keywords (and, with ``extra``, keywords outside it).

    ``descended``: the value has gone down a member or an item since the root, so that a
    ``$ref`` to the root ("#") cannot loop without end (jsonschema would recurse for ever).
    ``refs``: whether to refer to the definitions (not inside them, for the same reason)."""
    booleans = dialect != "draft-04"            # boolean schemas: draft-06 on

    def pick(chance):
        return rng.random() < chance

    def sub(down=False):
        if booleans and pick(0.15):
            return pick(0.6)
        return _random_schema(rng, dialect, extra, depth + 1, descended or down, refs)

    schema = {}
    if pick(0.4):
        chosen = rng.sample(TYPES, rng.choice([1, 1, 2]))
        schema["type"] = chosen[0] if len(chosen) == 1 and pick(0.7) else chosen
    if pick(0.15):
        schema["enum"] = [_random_value(rng, 2) for _ in range(rng.randint(1, 3))]
    if pick(0.1):
        schema["const"] = _random_value(rng, 2)    # draft-04 has none: not judged there
    if pick(0.12):                                  # D-49: numbers
        if dialect == "draft-04":
            name = rng.choice(["minimum", "maximum"])
            schema[name] = rng.choice(NUMBERS)
            if pick(0.5):
                schema["exclusiveM" + name[1:]] = pick(0.5)
        else:
            for name in rng.sample(["minimum", "maximum", "exclusiveMinimum",
                                    "exclusiveMaximum"], rng.randint(1, 2)):
                schema[name] = rng.choice(NUMBERS)
    if pick(0.08):
        schema["multipleOf"] = rng.choice([1, 2, 0.5, 2.5, 0.1])
    if pick(0.08):
        schema[rng.choice(["minLength", "maxLength"])] = rng.randint(0, 3)
    if depth < 3:
        if pick(0.4):
            schema["properties"] = {name: sub(True)
                                    for name in rng.sample(NAMES, rng.randint(1, 3))}
        if pick(0.25):
            schema["required"] = rng.sample(NAMES, rng.randint(1, 2))
        if pick(0.3):
            schema["additionalProperties"] = pick(0.5) if pick(0.6) else sub(True)
        if pick(0.2):
            schema["prefixItems"] = [sub(True) for _ in range(rng.randint(1, 2))]
        if pick(0.3):
            schema["items"] = ([sub(True) for _ in range(rng.randint(1, 2))]
                               if dialect != "2020-12" and pick(0.5) else sub(True))
        # (Not with a boolean items: jsonschema 4.26 raises TypeError on that pair.)
        if pick(0.2) and not isinstance(schema.get("items"), bool):
            schema["additionalItems"] = pick(0.5) if pick(0.6) else sub(True)
        _random_d49_keywords(rng, dialect, schema, sub, pick, descended, refs)
    if extra and depth < 3 and pick(0.35):
        outside = rng.choice(["pattern", "patternProperties", "format",
                              "unevaluatedProperties", "anyOf"])
        schema[outside] = {"pattern": lambda: "^a", "patternProperties": lambda: {"^a": sub()},
                           "format": lambda: "date", "unevaluatedProperties": lambda: False,
                           "anyOf": lambda: [{"pattern": "b"}, sub()]}[outside]()
    return schema


def _random_d49_keywords(rng, dialect, schema, sub, pick, descended, refs):
    """The keywords D-49 added: counts, dependencies, contains, combinators, $ref."""
    if pick(0.08):
        schema[rng.choice(["minItems", "maxItems"])] = rng.randint(0, 3)
    if pick(0.08):
        schema["uniqueItems"] = pick(0.8)
    if pick(0.08):
        schema[rng.choice(["minProperties", "maxProperties"])] = rng.randint(0, 3)
    if pick(0.1) and _has(dialect, "draft-06"):
        schema["contains"] = sub(True)
        if _has(dialect, "2019-09") and pick(0.5):
            schema[rng.choice(["minContains", "maxContains"])] = rng.randint(0, 2)
    if pick(0.08) and _has(dialect, "draft-06"):
        schema["propertyNames"] = (rng.choice([{"enum": ["a", "b"]}, {"maxLength": 0}])
                                   if pick(0.5) else sub(True))
    if pick(0.1):
        names = rng.sample(NAMES, rng.randint(1, 2))
        if _has(dialect, "2019-09"):
            schema["dependentRequired" if pick(0.5) else "dependentSchemas"] = {
                name: rng.sample(NAMES, 1) for name in names}
            if "dependentSchemas" in schema:
                schema["dependentSchemas"] = {name: sub() for name in names}
        else:
            schema["dependencies"] = {name: rng.sample(NAMES, 1) if pick(0.5) else sub()
                                      for name in names}
    if pick(0.1):
        schema["allOf"] = [sub() for _ in range(rng.randint(1, 2))]
    if pick(0.12):
        schema["anyOf"] = [sub() for _ in range(rng.randint(1, 3))]
    if pick(0.1):
        schema["oneOf"] = [sub() for _ in range(rng.randint(1, 3))]
    if pick(0.1):
        schema["not"] = sub()
    if pick(0.1) and _has(dialect, "draft-07"):
        schema["if"] = sub()
        for branch in rng.sample(["then", "else"], rng.randint(1, 2)):
            schema[branch] = sub()
    if _has(dialect, "2019-09") and pick(0.25):     # D-133: both, or one
        for keyword in rng.sample(["unevaluatedProperties", "unevaluatedItems"],
                                  rng.randint(1, 2)):
            schema[keyword] = pick(0.6) if pick(0.6) else sub(True)
    if refs and pick(0.15):
        targets = ["s", "tree", "a~1b", "x%20y"]
        ref = "#" if descended and pick(0.3) else (
            f"#/{_definitions(dialect)}/{rng.choice(targets)}")
        schema["$ref"] = ref


def _random_root(rng, dialect, extra):
    """A root schema: its definitions (one recursive, two with names to escape) and its
    $schema."""
    schema = _random_schema(rng, dialect, extra)
    tree = {"anyOf": [{"type": "integer"},
                      {"type": "array", "items": {"$ref": f"#/{_definitions(dialect)}/tree"}}]}
    schema[_definitions(dialect)] = {
        "s": _random_schema(rng, dialect, extra, 1, refs=False), "tree": tree,
        "a/b": {"type": "string"}, "x y": {"minimum": 1}}
    schema["$schema"] = URIS[dialect]
    return schema


def _instance_for(rng, schema, root=None, depth=0):
    """Mostly shaped like ``schema`` (so that some instances are valid), sometimes random."""
    root = schema if root is None else root
    if not isinstance(schema, dict) or rng.random() < 0.25 or depth > 3:
        return _random_value(rng, depth)
    if isinstance(schema.get("$ref"), str) and rng.random() < 0.5:
        from urllib.parse import unquote
        name = unquote(schema["$ref"].split("/")[-1]).replace("~1", "/")
        target = root if schema["$ref"] == "#" else root.get("$defs", root.get(
            "definitions", {})).get(name, {})
        return _instance_for(rng, target, root, depth + 1)
    for combinator in ("allOf", "anyOf", "oneOf"):
        if isinstance(schema.get(combinator), list) and rng.random() < 0.3:
            return _instance_for(rng, rng.choice(schema[combinator]), root, depth + 1)
    if "const" in schema and rng.random() < 0.5:
        return schema["const"]
    if "enum" in schema and rng.random() < 0.7:
        return rng.choice(schema["enum"])
    kind = schema.get("type")
    kind = rng.choice(kind) if isinstance(kind, list) else kind
    if kind == "object" or "properties" in schema or "required" in schema:
        properties = schema.get("properties", {})
        names = set(schema.get("required", [])) | set(rng.sample(sorted(properties),
                                                                 len(properties) // 2 + 1)
                                                      if properties else [])
        return {name: _instance_for(rng, properties.get(name, {}), root, depth + 1)
                for name in sorted(names)}
    if kind == "array" or "items" in schema or "prefixItems" in schema or "contains" in schema:
        first = schema.get("prefixItems", schema.get("items", schema.get("contains")))
        first = first if isinstance(first, list) else [schema.get("items", {})]
        return [_instance_for(rng, first[i % len(first)], root, depth + 1)
                for i in range(rng.randint(0, 3))]
    if kind in ("number", "integer") or any(name in schema for name in (
            "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
        return rng.choice(NUMBERS)
    if kind == "string" or "minLength" in schema or "maxLength" in schema:
        return rng.choice(STRINGS)
    return {"boolean": True, "null": None}.get(kind, _random_value(rng, depth))


def _decimal_multiple(schema):
    """Whether ``schema`` holds a multipleOf that is not a binary fraction (0.1): there the
    subset judges by the decimal JSON writes (0.3 is a multiple of 0.1) and jsonschema by
    float division (0.3 / 0.1 is 2.9999999999999996, not a multiple). The subset is right
    by the spec, so such a pair is not held to strict agreement (only to "never more")."""
    return "multipleOf" in json.dumps(schema) and "0.1" in json.dumps(schema)


def _unevaluated_2019_object(dialect, schema):
    """Whether ``schema`` (2019-09) holds unevaluatedProperties and an additionalProperties or
    unevaluatedProperties that is a schema object: jsonschema 4.26's 2019-09 takes the *keys*
    of that object (``type``, ...) for the member names it evaluates
    (legacy find_evaluated_property_keys_by_schema), where the spec says each member it
    validated (2019-09 core §9.3.2.3, §9.3.2.4). The subset gives the spec's answer, so such
    a pair is held to "never more problems" only (D-133)."""
    text = json.dumps(schema)
    return dialect == "2019-09" and "unevaluatedProperties" in text and any(
        f'"{keyword}": {{' in text for keyword in ("additionalProperties",
                                                    "unevaluatedProperties"))


def _differential(dialect, seed, pairs):
    """Run ``pairs`` generated (schema, instance) pairs through the subset and jsonschema:
    every problem we report must be one jsonschema sees, and where the subset says its
    verdict is exact (shapes.verdict is not None), the verdicts must agree. Returns the
    counts (pairs judged exactly, those invalid, the exact ones from schemas of the subset's
    keywords alone, those), and the disagreements as a list."""
    import random

    import jsonschema
    validator_class = getattr(jsonschema, VALIDATORS[dialect])
    rng = random.Random(seed)
    exact = invalid = exact_plain = plain = 0
    wrong = []
    for n in range(pairs):
        extra = n % 2 == 1
        plain += not extra
        schema = _random_root(rng, dialect, extra)
        instance = _instance_for(rng, schema)
        ours = shapes.object_problems(instance, schema, "v")
        known = shapes.verdict(instance, schema)
        try:
            valid = validator_class(schema).is_valid(instance)
        except TypeError:
            # jsonschema 4.26's 2019-09 unevaluatedItems takes len() of a boolean items
            # (legacy find_evaluated_item_indexes_by_schema): it has no verdict (D-133).
            assert dialect == "2019-09" and "unevaluatedItems" in json.dumps(schema)
            continue
        if (ours and valid) or (known is not None and known != valid
                                and not _decimal_multiple(schema)
                                and not _unevaluated_2019_object(dialect, schema)):
            wrong.append((schema, instance, ours, known, valid))
        if known is not None:
            exact += 1
            invalid += not valid
            exact_plain += not extra
    return exact, invalid, exact_plain, plain, wrong


@pytest.mark.spec("BP-34", "TL-09", "TL-14")
@pytest.mark.parametrize("dialect", list(URIS))
def test_the_subset_agrees_with_a_full_validator(dialect):
    """Differential test (deterministic seed): where the subset says it knows the verdict
    (every keyword that applies understood, no limit hit: shapes.verdict is not None), it is
    jsonschema's, valid or not; everywhere, a problem we report is one jsonschema sees too
    (the subset reports less, never more). The schemas use every keyword of the subset:
    bounds, counts, dependencies, contains, combinators, $ref into the definitions (one
    recursive) and to the root, unevaluatedProperties and unevaluatedItems in 2019-09 and
    2020-12 (D-133); half of them also keywords outside it (format, unevaluatedProperties
    before 2019-09, ...)."""
    pytest.importorskip(
        "jsonschema", reason="the differential test needs jsonschema (pip install jsonschema)")
    exact, invalid, exact_plain, plain, wrong = _differential(dialect, f"BP-34 {dialect}", 1200)
    assert wrong == []
    assert plain == 600 and exact_plain > 400         # the subset's own keywords: mostly exact
    assert 100 < invalid < exact - 100                # both verdicts were exercised


# --- The shortcut for plain object schemas (D-69) ---------------------------------------------

#: A tool's inputSchema as most SDKs write it: zod-to-json-schema adds $schema and
#: additionalProperties false, pydantic titles and defaults.
PLAIN = {"$schema": URIS["draft-07"], "type": "object", "title": "Args",
         "properties": {"text": {"type": "string", "description": "what to echo"},
                        "times": {"type": "integer", "default": 1}},
         "required": ["text"], "additionalProperties": False}


def _full_problems(value, schema):
    """What the full subset finds, without the shortcut."""
    dialect_name = shapes.dialect(schema)
    if dialect_name is None:
        return []
    checker = shapes._Checker(dialect_name, schema)
    checker.check(value, schema, (), 0)
    return checker.problems


@pytest.mark.spec("TL-14")
def test_a_plain_schema_met_is_settled_without_the_full_subset(monkeypatch):
    """The echo tool's arguments, or any plain object schema's, met: object_problems answers
    at once, without walking the subset (here made to raise, so that a lost shortcut
    fails). A problem, or a schema that is not plain, still goes to the full check."""
    echo = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
    no_arguments = {"type": "object", "additionalProperties": False}

    class Walked(Exception):
        pass

    def walk(*args):
        raise Walked
    monkeypatch.setattr(shapes, "_Checker", walk)
    assert shapes.object_problems({"text": "hi"}, echo, "arguments") == []
    assert shapes.object_problems({"text": "hi", "times": 2, "extra": None},
                                  dict(PLAIN, additionalProperties=True), "arguments") == []
    assert shapes.object_problems({}, no_arguments, "arguments") == []
    for value, schema in [({"text": 1}, echo), ({}, echo), ({"text": "a", "x": 1}, PLAIN),
                          ({"times": 1.5, "text": "a"}, PLAIN), ({1: "a", "text": "b"}, echo),
                          ({"text": "a"}, dict(echo, properties={"text": {"minLength": 9}}))]:
        with pytest.raises(Walked):
            shapes.object_problems(value, schema, "arguments")
    # A dialect we do not support is settled by neither: not checked at all (BP-34, D-106).
    unknown = dict(echo, **{"$schema": "https://example.com/s"})
    assert not shapes._plainly_valid({"text": "a"}, unknown)
    assert shapes.object_problems({"text": 1}, unknown, "arguments") == []
    monkeypatch.undo()
    assert shapes.object_problems({"text": "a", "x": 1, "times": True}, PLAIN, "arguments") == [
        "arguments.x: unexpected property (additionalProperties is false)",
        "arguments.times: expected integer, got boolean"]


def _random_plain(rng):
    """A plain object schema (shapes._PLAIN_OBJECT) in a random dialect, and a value mostly
    shaped like it."""
    types = ["string", "integer", "number", "boolean", "null", "object", "array"]
    names = rng.sample(["a", "b", "c", "d"], rng.randint(0, 4))
    schema = {"type": "object", "properties": {
        name: dict({"type": rng.choice(types)}, **({"description": "x"} if rng.random() < 0.3
                                                   else {})) for name in names}}
    if rng.random() < 0.6:
        schema["required"] = rng.sample(names + ["e"], rng.randint(0, len(names)))
    if rng.random() < 0.5:
        schema["additionalProperties"] = rng.random() < 0.3
    dialect = rng.choice(list(URIS) + [None])
    if dialect is not None:
        schema["$schema"] = URIS[dialect]
    samples = {"string": "s", "integer": 3, "number": 2.5, "boolean": False, "null": None,
               "object": {}, "array": []}
    value = {name: samples[rule["type"]] if rng.random() < 0.8 else rng.choice(SCALARS)
             for name, rule in schema["properties"].items() if rng.random() < 0.8}
    if rng.random() < 0.2:
        value[rng.choice(["a", "e", "z"])] = rng.choice(SCALARS + [{}, []])
    return schema, value


@pytest.mark.spec("TL-14", "BP-34")
def test_the_shortcut_agrees_with_the_subset_and_a_full_validator():
    """Differential test (deterministic seed) of D-69's shortcut on generated plain schemas:
    it settles exactly the values jsonschema finds valid (so the full walk runs only for a
    problem), and never one in which the full subset finds a problem."""
    import random
    jsonschema = pytest.importorskip(
        "jsonschema", reason="the differential test needs jsonschema (pip install jsonschema)")
    rng = random.Random("D-69")
    settled = 0
    for _ in range(3000):
        schema, value = _random_plain(rng)
        plain = shapes._plainly_valid(value, schema)
        validator = getattr(jsonschema, VALIDATORS[shapes.dialect(schema)])
        assert plain == validator(schema).is_valid(value), (schema, value)
        assert not (plain and _full_problems(value, schema)), (schema, value)
        settled += plain
    assert 1000 < settled < 2500                      # both answers were exercised


# --- Adversarial cases the generator does not make (BP-34, D-46, D-49) -----------------------


@pytest.mark.spec("BP-34")
def test_a_ref_with_a_digit_that_is_not_ascii_is_not_followed():
    """"²" and "١" are digits to str.isdigit, but not an array index (RFC 6901 §4: "0" or
    digits 1-9 then 0-9): a $ref through one is not followed, and never raises."""
    for token in ("²", "١", "01", "-0", "+0", " 0"):
        schema = {"$defs": {"l": [{"type": "string"}]},
                  "properties": {"a": {"$ref": f"#/$defs/l/{token}"}}}
        assert problems({"a": 1}, schema) == [], token
        assert shapes.verdict({"a": 1}, schema) is None, token
    assert problems({"a": 1}, {"$defs": {"l": [{"type": "string"}]},
                               "properties": {"a": {"$ref": "#/$defs/l/0"}}}) == [
        "v.a: expected string, got integer"]


@pytest.mark.spec("BP-34")
def test_an_empty_type_array_and_nan_have_no_verdict():
    """"type": [] is malformed (the meta-schemas want at least one name), and jsonschema
    rejects every value by it; NaN is no JSON number (RFC 8259 §6), but Python's json reads
    it as one shared object, which jsonschema finds equal to itself (it compares by
    identity first). Neither is judged: no problem, no verdict."""
    nan = json.loads("NaN")
    for dialect in URIS:
        assert problems({"a": 1}, {"properties": {"a": {"type": []}}}, dialect) == []
        assert shapes.verdict(1, {"type": [], "$schema": URIS[dialect]}) is None
        for schema, value in (({"enum": [nan]}, nan), ({"enum": [[nan]]}, [nan]),
                              ({"uniqueItems": True}, [nan, nan])):
            assert problems({"a": value}, {"properties": {"a": schema}}, dialect) == []
            assert shapes.verdict(value, dict(schema, **{"$schema": URIS[dialect]})) is None
    assert problems({"a": nan}, {"properties": {"a": {"const": nan}}}) == []
    # NaN has no equality key (shapes._Checker.key), so an enum holding it is not judged.
    assert problems({"a": 1.5}, {"properties": {"a": {"enum": [nan, 1]}}}) == []
    assert problems({"a": 1.5}, {"properties": {"a": {"enum": [1]}}}) == [
        "v.a: expected one of [1]"]


@pytest.mark.spec("BP-34", "TL-09")
def test_work_a_step_does_is_bounded_too():
    """MAX_STEPS bounds the work only if each step's is bounded: a $ref repeated in an allOf
    or anyOf makes every keyword of its target run again, so reading a wide value or schema
    at once (every member's name, every item compared, the members of a wide schema, a long
    $ref or type array) costs a step each, and a problem's words are written only if it is
    listed. Each of these took from 4 seconds to 10 minutes."""
    import time

    wide = {f"k{i}": i for i in range(8000)}
    other = dict(wide, k0=-1)
    nest = list(range(20))
    for _ in range(3):
        nest = [nest] * 20                                # 160 000 numbers, quoted by enum

    def again(target, combinator="allOf", times=8000):
        return {"$defs": {"t": target}, combinator: [{"$ref": "#/$defs/t"}] * times}
    cases = [
        (wide, again({"minProperties": 0})), (wide, again({"required": ["k1"]})),
        ([wide, other], again({"uniqueItems": True})),
        (other, again({"enum": [wide]}, "anyOf")),
        (1, again({f"x{i}": 1 for i in range(8000)})),
        (1, again({"type": ["string"] * 8000 + ["integer"]})),
        (1, again({"$ref": "#/" + "x/" * 80000})),
        (1, again({"enum": [nest]}, "anyOf")),
        (10 ** 4299, again({"maximum": 0}, "anyOf", 60000)),
    ]
    for value, schema in cases:
        started = time.process_time()
        shapes.object_problems(value, schema, "v")
        shapes.verdict(value, schema)
        assert time.process_time() - started < 2, str(schema)[:80]


@pytest.mark.spec("BP-34", "TL-09")
def test_an_integer_too_long_to_write_raises_nothing():
    """Python refuses to write an integer of more than 4300 digits (json reads none, but a
    handler's structuredContent or a programmer's schema may hold one): the check raises
    nothing, and a message quotes a long number bounded, as it does any value."""
    huge = 10 ** 5000
    assert problems({"a": huge}, {"properties": {"a": {"maximum": 1}}}) == [
        "v.a: expected at most 1, got integer (too long to quote)"]
    assert problems({"a": 1}, {"properties": {"a": {"minimum": huge, "multipleOf": huge}}}) == [
        "v.a: expected at least integer (too long to quote), got 1",
        "v.a: expected a multiple of integer (too long to quote), got 1"]
    assert problems({"a": "x"}, {"properties": {"a": {"minLength": huge}}}) == [
        "v.a: expected at least integer (too long to quote) characters, got 1"]
    assert problems({"a": 2}, {"properties": {"a": {"enum": [huge], "const": [huge]}}}) == [
        "v.a: expected one of array (too long to quote)",
        "v.a: expected array (too long to quote)"]
    assert problems({huge: 1}, {"required": ["a"]}) == ["v: missing required property 'a'"]
    assert problems({"a": 10 ** 4000}, {"properties": {"a": {"maximum": 1}}}) == [
        "v.a: expected at most 1, got 100000000000000000...0000000000000000000"]


@pytest.mark.spec("TL-08", "TR-06", "BP-01")
@pytest.mark.parametrize("block", [
    {"type": "text", "text": "x", "annotations": 5},
    {"type": "text", "text": "x", "annotations": {"audience": ["robot"]}},
    {"type": "text", "text": "x", "annotations": {"audience": "user"}},
    {"type": "text", "text": "x", "annotations": {"priority": 5}},
    {"type": "text", "text": "x", "annotations": {"priority": True}},
    {"type": "text", "text": "x", "annotations": {"priority": "high"}},
    {"type": "text", "text": "x", "annotations": {"lastModified": 20250101}},
    {"type": "text", "text": "x", "_meta": 5},
    {"type": "image", "data": "AA==", "mimeType": "image/png", "_meta": [1]},
    {"type": "resource", "annotations": {"priority": -0.5},
     "resource": {"uri": "x://a", "text": "t"}},
    {"type": "resource", "resource": {"uri": "x://a", "text": "t", "_meta": "m"}},
    {"type": "resource", "resource": {"uri": "x://a", "text": "t", "mimeType": 5}},
])
def test_a_block_whose_annotations_or_meta_the_schema_refuses_is_no_result(block):
    """D-82 (helper-65's drive of a Server over stdio): a tool's block with ``"annotations":
    5``, an audience of "robot", a priority of 5, or ``"_meta": 5`` went out as built, in a
    CallToolResult (or prompt message) every revision's schema refuses: Annotations is an
    object whose audience lists roles and whose priority is a number from 0 to 1, and _meta
    is an object. D-59 had left these optional members unchecked."""
    assert shapes.block_problem(block)
    assert shapes.server_result_problem(spec.TOOLS_CALL, {"content": [block]})
    assert shapes.server_result_problem(spec.PROMPTS_GET, {
        "messages": [{"role": "user", "content": block}]})


@pytest.mark.spec("TL-08")
def test_a_block_with_valid_annotations_and_meta_is_a_result():
    for block in ({"type": "text", "text": "x", "_meta": {},
                   "annotations": {"audience": ["user", "assistant"], "priority": 0,
                                   "lastModified": "2025-01-12T15:00:58Z"}},
                  {"type": "text", "text": "x", "annotations": {"priority": 1.0}},
                  {"type": "text", "text": "x", "annotations": {}},
                  {"type": "resource", "annotations": {"priority": 0.5},
                   "resource": {"uri": "x://a", "blob": "AA==", "mimeType": "a/b",
                                "_meta": {"k": 1}}}):
        assert shapes.block_problem(block) is None, block


_TEXT = {"type": "text", "text": "hi"}


@pytest.mark.spec("TR-07", "BP-01")
@pytest.mark.parametrize("method, result", [
    ("roots/list", {"roots": [{"uri": "file:///a", "name": 5}]}),
    ("roots/list", {"roots": [{"uri": "file:///a", "_meta": 5}]}),
    ("sampling/createMessage", {"role": "assistant", "model": "m", "content": _TEXT,
                                "stopReason": 5}),
    ("sampling/createMessage", {"role": "assistant", "model": "m",
                                "content": {"type": "text", "text": 5}}),
    ("sampling/createMessage", {"role": "assistant", "model": "m",
                                "content": {"type": "image", "data": "AA=="}}),
    ("sampling/createMessage", {"role": "assistant", "model": "m",
                                "content": {"type": "text", "text": "x", "annotations": 5}}),
    ("sampling/createMessage", {"role": "assistant", "model": "m",
                                "content": {"type": "text", "text": "x", "_meta": 5}}),
    ("sampling/createMessage", {"role": "assistant", "model": "m", "content": [5]}),
    ("sampling/createMessage", {"role": "assistant", "model": "m",
                                "content": {"type": "tool_use", "id": 1, "name": "t",
                                            "input": {}}}),
    ("sampling/createMessage", {"role": "assistant", "model": "m",
                                "content": {"type": "tool_result", "toolUseId": "1",
                                            "content": [5]}}),
    ("elicitation/create", {"action": "accept", "content": 5}),
    ("elicitation/create", {"action": "accept", "content": {"a": None}}),
    ("elicitation/create", {"action": "accept", "content": {"a": {"nested": 1}}}),
    ("elicitation/create", {"action": "accept", "content": {"a": [1]}}),
    ("elicitation/create", {"action": "accept", "content": {"a": float("nan")}}),
])
def test_a_client_answer_whose_optional_members_the_schema_refuses_is_no_result(method, result):
    """D-82 (helper-65's drive of a Client by a scripted server): a handler's root named 5,
    a sampling result with ``"stopReason": 5`` or a block the schema refuses (a text of 5,
    an image without mimeType, ``"annotations": 5``), an elicitation's content of 5 or with
    a value that is null or an object: each went out as built (D-54 checked only the
    required members). Now each is no result, answered -32603."""
    assert shapes.client_result_problem(method, result)


@pytest.mark.spec("TR-07")
def test_an_elicited_integer_too_large_for_a_float_is_a_number():
    """D-84: an elicited value is a JSON number, and 10**400 is one (json writes its digits).
    The check read every number through ``math.isfinite``, which converts an int to a float:
    OverflowError, so the handler's valid answer was logged as the handler failing and the
    server got -32603 instead. Infinity is still no JSON number."""
    big = {"action": "accept", "content": {"n": 10 ** 400, "m": -(10 ** 400)}}
    assert shapes.client_result_problem("elicitation/create", big) is None
    assert shapes.client_result_problem(
        "elicitation/create", {"action": "accept", "content": {"n": float("inf")}})


@pytest.mark.spec("TR-07", "LC-15")
def test_an_elicitation_answer_of_a_string_array_needs_2025_11_25():
    """2025-11-25 gave elicited values string arrays (multi-select); the 2025-06-18 schema
    allows a string, a number or a boolean only, and has nothing to turn an array into."""
    answer = {"action": "accept", "content": {"picked": ["a", "b"], "n": 1, "ok": True}}
    assert shapes.client_result_problem("elicitation/create", answer) is None
    assert shapes.client_result("2025-11-25", "elicitation/create", answer) == answer
    with pytest.raises(LocalProtocolError, match=r"2025-11-25.*\(LC-15\)"):
        shapes.client_result("2025-06-18", "elicitation/create", answer)


@pytest.mark.spec("TR-07")
def test_client_answers_with_valid_optional_members_are_results():
    for method, result in (
            ("roots/list", {"roots": [{"uri": "file:///a", "name": "a", "_meta": {}}]}),
            ("sampling/createMessage", {"role": "assistant", "model": "m", "content": _TEXT,
                                        "stopReason": "endTurn"}),
            ("sampling/createMessage", {"role": "assistant", "model": "m", "content": [
                _TEXT, {"type": "tool_use", "id": "1", "name": "t", "input": {}},
                {"type": "tool_result", "toolUseId": "1", "content": [_TEXT]}]}),
            ("elicitation/create", {"action": "accept", "content": {"a": "x", "b": 2.0}}),
            # a NumberSchema's answer: schema.ts says number, its JSON integer (D-84)
            ("elicitation/create", {"action": "accept", "content": {"n": 1.5, "m": -0.25}}),
            ("elicitation/create", {"action": "decline"})):
        assert shapes.client_result_problem(method, result) is None, result


@pytest.mark.spec("BP-34", "TL-14", "TL-09")
def test_member_names_a_javascript_object_inherits_are_names_like_any_other():
    """A member named constructor, toString or __proto__ is an ordinary member (core
    §10.3.2.1, validation §6.5.3): {} lacks it, and a value under it is checked. ajv, the
    TypeScript SDK's validator, answers otherwise on each of these (it sees JavaScript's
    Object.prototype): found by tests/interop/test_schema_vs_ajv.py (D-132), whose
    SPEC_NOT_AJV lists them."""
    assert problems({}, {"required": ["constructor", "toString"]}) == [
        "v: missing required property 'constructor'", "v: missing required property 'toString'"]
    assert problems({}, {"properties": {"constructor": {"type": "string"}}}) == []
    assert shapes.verdict({}, {"properties": {"constructor": {"type": "string"}}}) is True
    assert problems(json.loads('{"__proto__": 1}'),
                    {"properties": {"__proto__": {"type": "string"}}}) == [
        "v.__proto__: expected string, got integer"]
