"""Fit what we send to the negotiated revision (LC-15).

A session speaks one revision, and both sides respect it for the rest of the session (LC-15:
SHOULD in 2024-11-05 and 2025-03-26, MUST from 2025-06-18). Later revisions added two kinds of
thing to the objects a server or client builds from its user's data (``spec.CONTENT_SINCE``,
``spec.MEMBERS_SINCE``; catalogue section 4):

* **Members** (``title``, ``icons``, ``_meta``, ``structuredContent``, ...). The older schemas
  do not forbid unknown members, so one of these is noise to an older peer, not an error. We
  drop it, as :func:`connection._implementation_for` drops ``title`` from ``serverInfo``.
* **Content block types** (``audio``, ``resource_link``, ``tool_use``, ``tool_result``). The
  older schemas list every block type a result may hold, so such a block makes the message
  invalid, and there is nothing older to turn it into. We refuse to send it:
  :class:`~mcp_ref.errors.LocalProtocolError`, which the server answers as -32603 and logs, as
  it does any handler that broke a protocol rule (decision D-41). The same goes, in every
  revision, for a block its place does not hold (``spec.RESULT_BLOCK_TYPES``,
  ``spec.SAMPLING_BLOCK_TYPES``): no ``tool_use`` in a tool result.

It also checks an object against the simple part of a JSON Schema (:func:`object_problems`):
a tool's arguments (TL-14) and, on both sides, its ``structuredContent`` against its
``outputSchema`` (TL-09, decision D-45).

Pure functions on plain dicts: the input is never changed, a fitted copy is returned.
"""

from __future__ import annotations

import reprlib
from typing import Any, Dict, List, Optional, Tuple

from . import spec
from .errors import LocalProtocolError


def members(version: str, kind: str, obj: Dict[str, Any]) -> Dict[str, Any]:
    """``obj`` without the members ``version`` does not define for a ``kind`` object."""
    since = spec.MEMBERS_SINCE.get(kind, {})
    return {key: value for key, value in obj.items() if since.get(key, "") <= version}


def capabilities(version: str, declared: Dict[str, Any]) -> Dict[str, Any]:
    """The capabilities we declare in a ``version`` handshake: none that ``version`` lacks.

    A client offering 2024-11-05 does not declare ``elicitation`` (2025-06-18), nor a server
    answering in it ``completions`` (2025-03-26); before 2025-11-25 the client's
    ``elicitation`` names no modes. What we *can* do is unchanged: in that revision a newer
    capability gates nothing (``spec.CAPABILITY_SINCE``, D-35).
    """
    fitted = {name: value for name, value in declared.items()
              if spec.CAPABILITY_SINCE.get(name, "") <= version}
    if version < spec.ELICITATION_MODES_VERSION and isinstance(fitted.get("elicitation"), dict):
        fitted["elicitation"] = {}         # its form/url modes arrived in 2025-11-25 (D-36)
    return fitted


def definition(version: str, kind: str, obj: Dict[str, Any]) -> Dict[str, Any]:
    """A Tool, Resource, ResourceTemplate or Prompt definition for a ``version`` session."""
    fitted = members(version, kind, obj)
    if isinstance(fitted.get("annotations"), dict) and kind != "Tool":
        # Resources carry the shared Annotations object; a tool's are ToolAnnotations.
        fitted["annotations"] = members(version, "Annotations", fitted["annotations"])
    if kind == "Prompt" and isinstance(fitted.get("arguments"), list):
        fitted["arguments"] = [members(version, "PromptArgument", argument)
                               if isinstance(argument, dict) else argument
                               for argument in fitted["arguments"]]
    return fitted


def content(version: str, block: Any,
            allowed: Tuple[str, ...] = spec.RESULT_BLOCK_TYPES) -> Any:
    """One content block, of one of the ``allowed`` types, for a ``version`` session.

    Raises LocalProtocolError if its ``type`` is not allowed here (a ``tool_use`` block in a
    tool result, say), or arrived after ``version`` (LC-15, D-41). Anything that is not a
    dict is returned as it is: the rest of the schema is the sender's business.
    """
    if not isinstance(block, dict):
        return block
    kind = block.get("type")
    if kind not in allowed:
        raise LocalProtocolError(f"a {kind!r} content block cannot go here: the schema "
                                 f"allows {', '.join(allowed)}")
    since = spec.CONTENT_SINCE.get(kind)
    if since is not None and version < since:
        raise LocalProtocolError(
            f"a {kind!r} content block needs protocol revision {since} or later; "
            f"this session speaks {version} (LC-15)")
    fitted = members(version, "Content", block)
    if isinstance(fitted.get("annotations"), dict):
        fitted["annotations"] = members(version, "Annotations", fitted["annotations"])
    if kind == "resource" and isinstance(fitted.get("resource"), dict):
        fitted["resource"] = members(version, "Content", fitted["resource"])
    return fitted


def contents(version: str, blocks: Any,
             allowed: Tuple[str, ...] = spec.RESULT_BLOCK_TYPES) -> Any:
    """A list of content blocks, each fitted by :func:`content`."""
    if not isinstance(blocks, list):
        return blocks
    return [content(version, block, allowed) for block in blocks]


def call_tool_result(version: str, result: Dict[str, Any]) -> Dict[str, Any]:
    """A CallToolResult for a ``version`` session (TL-08): its members and its blocks."""
    fitted = members(version, "CallToolResult", result)
    if "content" in fitted:
        fitted["content"] = contents(version, fitted["content"])
    return fitted


def get_prompt_result(version: str, result: Dict[str, Any]) -> Dict[str, Any]:
    """A GetPromptResult: each message holds one content block (PromptMessage)."""
    messages: List[Any] = result.get("messages", [])
    if not isinstance(messages, list):
        return result
    fitted = dict(result)
    fitted["messages"] = [dict(message, content=content(version, message["content"]))
                          if isinstance(message, dict) and "content" in message else message
                          for message in messages]
    return fitted


def create_message_result(version: str, result: Dict[str, Any]) -> Dict[str, Any]:
    """A CreateMessageResult (the client's answer to ``sampling/createMessage``).

    Its ``content`` is one block; 2025-11-25 also allows a list of blocks (sampling with
    tools), which an older session cannot carry.
    """
    if "content" not in result:
        return result
    blocks = result["content"]
    if isinstance(blocks, list):
        since = spec.SAMPLING_CONTENT_LIST_VERSION
        if version < since:
            raise LocalProtocolError(
                "a list of content blocks in a sampling result needs protocol revision "
                f"{since} or later; this session speaks {version} (LC-15)")
        return dict(result, content=contents(version, blocks, spec.SAMPLING_BLOCK_TYPES))
    return dict(result, content=content(version, blocks, spec.SAMPLING_BLOCK_TYPES))


def client_result(version: str, method: str, result: Dict[str, Any]) -> Dict[str, Any]:
    """The client's answer to the server's request ``method``, for a ``version`` session:
    a sampling result's content (above) and the roots of ``roots/list``."""
    if method == spec.SAMPLING_CREATE_MESSAGE:
        return create_message_result(version, result)
    if method == spec.ROOTS_LIST and isinstance(result.get("roots"), list):
        return dict(result, roots=[members(version, "Root", root) if isinstance(root, dict)
                                   else root for root in result["roots"]])
    return result


# --- Checking an object against the simple part of a JSON Schema -----------------------------

_JSON_TYPES: Dict[str, Any] = {
    "string": str, "boolean": bool, "object": dict, "array": list, "null": type(None),
    "number": (int, float), "integer": int,
}


def object_problems(value: Dict[str, Any], schema: Dict[str, Any], what: str) -> List[str]:
    """Problems with the object ``value`` against the simple part of an object ``schema``:
    ``required``, each property's ``type`` and ``enum``, and ``additionalProperties: false``
    (only when the schema has no ``patternProperties``: a member matching a pattern is not
    additional, and a peer's pattern is not run here). ``what`` names a member in the
    messages ("argument", "member").

    A tool's arguments against its ``inputSchema`` (TL-14) and its ``structuredContent``
    against its ``outputSchema`` (TL-09). A deliberately small subset of JSON Schema, with the
    standard library only (BP-34 is partial); a tool needing more checks inside its handler.
    The subset only ever reports less than a full validator would, never more.
    """
    # The schema may be the peer's (a client checking a server's outputSchema): what is not
    # of the expected JSON type is ignored, never trusted to be, and nothing raises.
    required = _list(schema.get("required"))
    problems = [f"missing required {what} {name!r}" for name in required
                if isinstance(name, str) and name not in value]
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    closed = schema.get("additionalProperties") is False and not schema.get("patternProperties")
    for name, member in value.items():
        rule = properties.get(name)
        if not isinstance(rule, dict):
            if rule is None and closed:
                problems.append(f"unexpected {what} {name!r}")
            continue
        expected = rule.get("type")
        types = [t for t in (_list(expected) or [expected]) if isinstance(t, str)]
        if types and not any(_is_json_type(member, t) for t in types):
            problems.append(f"{what} {name!r} must be of type {' or '.join(types)}")
        enum = rule.get("enum")
        if isinstance(enum, list) and _outside(member, enum):
            problems.append(f"{what} {name!r} must be one of {_short(enum)}")
    return problems


def _outside(member: Any, enum: List[Any]) -> bool:
    """``member not in enum``; False (not checked) for values nested too deep to compare:
    a peer's JSON may nest nearly to the recursion limit, and comparing it deeper in the
    stack would raise RecursionError."""
    try:
        return member not in enum
    except RecursionError:
        return False


def _short(value: Any) -> str:
    """A repr for a message, bounded in length and depth (the value may be the peer's)."""
    return _REPR.repr(value)


_REPR = reprlib.Repr()
_REPR.maxlist = _REPR.maxdict = 20
_REPR.maxstring = _REPR.maxother = 80


def output_problems(result: Dict[str, Any], schema: Optional[Dict[str, Any]]) -> List[str]:
    """TL-09: how a CallToolResult breaks its tool's ``outputSchema`` (empty: it does not, or
    there is none). An ``isError`` result reports a failure, not structured output: never
    checked."""
    if schema is None or result.get("isError"):
        return []
    structured = result.get("structuredContent")
    if not isinstance(structured, dict):
        return ["structuredContent is missing or not an object"]
    return object_problems(structured, schema, "member")


def _list(value: Any) -> List[Any]:
    return value if isinstance(value, list) else []


def _is_json_type(value: Any, json_type: str) -> bool:
    if isinstance(value, bool) and json_type in ("number", "integer"):
        return False                      # JSON true is not a number, though Python says so
    if json_type == "integer" and isinstance(value, float):
        return value.is_integer()
    python_type = _JSON_TYPES.get(json_type)
    return python_type is None or isinstance(value, python_type)
