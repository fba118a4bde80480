"""mcp_ref.shapes: what we send, fitted to the negotiated revision (LC-15, decision D-41).

The end-to-end proof, every frame validated against each revision's schema, is
tests/test_schema.py::test_handler_results_are_fitted_to_the_negotiated_revision. These are
the pieces, one rule at a time.
"""

import copy

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
    """A peer's schema and result may nest nearly as deep as the decoder allows; comparing
    them (or printing the enum) deeper in the stack must not raise RecursionError."""
    import sys

    from mcp_ref.framing import decode
    depth = sys.getrecursionlimit() - 60
    nest = "[" * depth + "%s" + "]" * depth
    schema = decode(('{"type": "object", "properties": {"a": {"enum": [%s]}}}'
                     % (nest % "0")).encode())
    value = decode(('{"a": %s}' % (nest % "1")).encode())

    def deep(k):
        return shapes.object_problems(value, schema, "member") if k == 0 else deep(k - 1)
    assert deep(100) == []                         # too deep to compare: not checked
    wide = {"type": "object", "properties": {"a": {"enum": list(range(100_000))}}}
    (problem,) = shapes.object_problems({"a": -1}, wide, "member")
    assert len(problem) < 300                      # the message stays short


# --- JSON Schema dialects and the recursive subset (BP-34, decision D-46) ---------------------

URIS = {"2020-12": "https://json-schema.org/draft/2020-12/schema",
        "2019-09": "https://json-schema.org/draft/2019-09/schema",
        "draft-07": "http://json-schema.org/draft-07/schema#",
        "draft-06": "http://json-schema.org/draft-06/schema#",
        "draft-04": "http://json-schema.org/draft-04/schema#"}


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
    assert problems({"x": 1}, {"properties": [], "additionalProperties": False}) == []
    assert problems([1, 2], {"prefixItems": {"type": "integer"}, "items": False}) == []
    assert problems({"a": 1}, {"properties": {"a": {"$schema": URIS["draft-04"],
                                                    "type": "string"}}}) == []
    assert problems({"a": 1}, {"properties": {"a": {"$schema": URIS["2020-12"],
                                                    "type": "string"}}}) == [
        "v.a: expected string, got integer"]
    anything = {"anyOf": [{"type": "string"}], "not": {}, "minimum": 5, "pattern": "(a+)+$",
                "format": "email", "if": {}, "then": False, "allOf": [False]}
    assert problems({"a": 1}, {"properties": {"a": anything}}) == []


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


def _random_schema(rng, dialect, extra, depth=0):
    """A schema of our subset's keywords (and, with ``extra``, keywords outside it)."""
    booleans = dialect != "draft-04"            # boolean schemas: draft-06 on

    def sub():
        if booleans and rng.random() < 0.15:
            return rng.random() < 0.6
        return _random_schema(rng, dialect, extra, depth + 1)

    schema = {}
    if rng.random() < 0.4:
        chosen = rng.sample(TYPES, rng.choice([1, 1, 2]))
        schema["type"] = chosen[0] if len(chosen) == 1 and rng.random() < 0.7 else chosen
    if rng.random() < 0.15:
        schema["enum"] = [_random_value(rng, 2) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.1:
        schema["const"] = _random_value(rng, 2)    # draft-04 has none: both ignore it there
    if depth < 3:
        if rng.random() < 0.4:
            schema["properties"] = {name: sub() for name in rng.sample(NAMES, rng.randint(1, 3))}
        if rng.random() < 0.25:
            schema["required"] = rng.sample(NAMES, rng.randint(1, 2))
        if rng.random() < 0.3:
            schema["additionalProperties"] = rng.random() < 0.5 if rng.random() < 0.6 else sub()
        if rng.random() < 0.2:
            schema["prefixItems"] = [sub() for _ in range(rng.randint(1, 2))]
        if rng.random() < 0.3:
            schema["items"] = ([sub() for _ in range(rng.randint(1, 2))]
                               if dialect != "2020-12" and rng.random() < 0.5 else sub())
        # (Not with a boolean items: jsonschema 4.26 raises TypeError on that pair.)
        if rng.random() < 0.2 and not isinstance(schema.get("items"), bool):
            schema["additionalItems"] = rng.random() < 0.5 if rng.random() < 0.6 else sub()
    if extra and depth < 3 and rng.random() < 0.35:
        outside = rng.choice(["$ref", "anyOf", "not", "minimum", "patternProperties",
                              "maxItems", "allOf", "minLength"])
        schema[outside] = {"$ref": lambda: "#/definitions/s", "anyOf": lambda: [sub(), sub()],
                           "not": sub, "minimum": lambda: 1,
                           "patternProperties": lambda: {"^a": sub()}, "maxItems": lambda: 1,
                           "allOf": lambda: [sub()], "minLength": lambda: 1}[outside]()
    return schema


def _instance_for(rng, schema, depth=0):
    """Mostly shaped like ``schema`` (so that some instances are valid), sometimes random."""
    if not isinstance(schema, dict) or rng.random() < 0.25 or depth > 3:
        return _random_value(rng, depth)
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
        return {name: _instance_for(rng, properties.get(name, {}), depth + 1)
                for name in sorted(names)}
    if kind == "array" or "items" in schema or "prefixItems" in schema:
        first = schema.get("prefixItems", schema.get("items"))
        first = first if isinstance(first, list) else [schema.get("items", {})]
        return [_instance_for(rng, first[i % len(first)], depth + 1)
                for i in range(rng.randint(0, 3))]
    return {"string": "a", "integer": 1, "number": 2.5, "boolean": True, "null": None}.get(
        kind, _random_value(rng, depth))


@pytest.mark.spec("BP-34", "TL-09", "TL-14")
@pytest.mark.parametrize("dialect", list(URIS))
def test_the_subset_agrees_with_a_full_validator(dialect):
    """Differential test (deterministic seed): on schemas of the subset's keywords alone, our
    verdict is jsonschema's, valid or not; on schemas with keywords outside the subset, a
    problem we report is one jsonschema sees too (the subset reports less, never more)."""
    jsonschema = pytest.importorskip(
        "jsonschema", reason="the differential test needs jsonschema (pip install jsonschema)")
    import random
    validator_class = getattr(jsonschema, VALIDATORS[dialect])
    rng = random.Random(f"BP-34 {dialect}")
    agreed = invalid = 0
    for n in range(1200):
        extra = n % 2 == 1
        schema = dict(_random_schema(rng, dialect, extra), **{"$schema": URIS[dialect]})
        schema["definitions"] = {"s": {"type": "string"}}         # what $ref points to
        instance = _instance_for(rng, schema)
        ours = shapes.object_problems(instance, schema, "v")
        valid = validator_class(schema).is_valid(instance)
        assert not (ours and valid), (schema, instance, ours)
        if not extra:
            assert bool(ours) == (not valid), (schema, instance, ours)
            agreed += 1
            invalid += not valid
    assert agreed == 600 and 100 < invalid < 500     # both verdicts were exercised
