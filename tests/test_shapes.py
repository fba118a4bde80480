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
    assert shapes.object_problems({"n": True, "kind": "c", "y": 1}, schema, "argument") == [
        "argument 'n' must be of type integer", "argument 'kind' must be one of ['a', 'b']",
        "unexpected argument 'y'"]
    assert shapes.object_problems({}, schema, "member") == [
        "missing required member 'n'", "missing required member 'kind'"]


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
    assert shapes.object_problems({"x_1": 1}, closed, "member") == ["unexpected member 'x_1'"]


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
