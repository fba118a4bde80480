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

It also checks a value against a subset of JSON Schema, by the schema's dialect (BP-34,
:func:`dialect`, :func:`object_problems`): a tool's arguments (TL-14) and, on both sides, its
``structuredContent`` against its ``outputSchema`` (TL-09; decisions D-45, D-46).

Pure functions on plain dicts: the input is never changed, a fitted copy is returned.
"""

from __future__ import annotations

import math

from . import spec
from .errors import LocalProtocolError, quoted
from .jsonrpc import is_progress_token

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Set, Tuple, Union


def members(version: str, kind: str, obj: Dict[str, Any]) -> Dict[str, Any]:
    """``obj`` without the members ``version`` does not define for a ``kind`` object."""
    since = spec.MEMBERS_SINCE.get(kind, {})
    return {key: value for key, value in obj.items() if since.get(key, "") <= version}


def capabilities(version: str, declared: Dict[str, Any]) -> Dict[str, Any]:
    """The capabilities we declare in a ``version`` handshake: none that ``version`` lacks.

    A client offering 2024-11-05 does not declare ``elicitation`` (2025-06-18), nor a server
    answering in it ``completions`` (2025-03-26); before 2025-11-25 the client's
    ``elicitation`` names no modes (D-36) and its ``sampling`` neither ``context`` nor
    ``tools`` (D-95), and nobody declares ``tasks``. What we *can* do is unchanged: in that
    revision a newer capability gates nothing (``spec.CAPABILITY_SINCE``, D-35).
    """
    fitted = {name: value for name, value in declared.items()
              if spec.CAPABILITY_SINCE.get(name, "") <= version}
    for name, since in spec.CAPABILITY_MEMBERS_SINCE.items():
        if isinstance(fitted.get(name), dict):
            fitted[name] = {member: value for member, value in fitted[name].items()
                            if since.get(member, "") <= version}
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
        raise LocalProtocolError(f"a content block of type {kind!r} cannot go here: the schema "
                                 f"allows {', '.join(allowed)}")
    since = spec.CONTENT_SINCE.get(kind)
    if since is not None and version < since:
        raise LocalProtocolError(
            f"a content block of type {kind!r} needs protocol revision {since} or later; "
            f"this session speaks {version} (LC-15)")
    return _block_members(version, block)


def _block_members(version: str, block: Dict[str, Any]) -> Dict[str, Any]:
    """``block`` without the members ``version`` lacks: its own, its annotations' and, in a
    resource block, its resource's (``MEMBERS_SINCE``, D-41)."""
    fitted = members(version, "Content", block)
    if isinstance(fitted.get("annotations"), dict):
        fitted["annotations"] = members(version, "Annotations", fitted["annotations"])
    if fitted.get("type") == "resource" and isinstance(fitted.get("resource"), dict):
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
    messages = result.get("messages", [])
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
    a sampling result's content (above) and the roots of ``roots/list``; an elicited list of
    strings, which nothing older can carry, is LocalProtocolError before 2025-11-25."""
    if method == spec.SAMPLING_CREATE_MESSAGE:
        return create_message_result(version, result)
    if method == spec.ELICITATION_CREATE and version < spec.ELICITATION_LIST_VALUES_VERSION:
        content = result.get("content")
        if isinstance(content, dict) and any(isinstance(v, list) for v in content.values()):
            # LC-15: a list of strings (multi-select) arrived with 2025-11-25; the older schema
            # has no such value, nor anything to turn one into (D-82).
            raise LocalProtocolError(
                f"an elicited list of strings needs protocol revision "
                f"{spec.ELICITATION_LIST_VALUES_VERSION} or later; this session speaks {version} "
                "(LC-15)")
    if method == spec.ROOTS_LIST and isinstance(result.get("roots"), list):
        return dict(result, roots=[members(version, "Root", root) if isinstance(root, dict)
                                   else root for root in result["roots"]])
    return result


#: The schema's ``Role``: who speaks a sampling result or a prompt message.
ROLES = ("user", "assistant")


def client_result_problem(method: str, result: Any) -> Optional[str]:
    """What keeps ``result`` from answering the server's request ``method``, or None: an
    object (BP-09 from 2025-11-25; every revision's schema types a result so) with the members
    every revision's schema requires of it. The client's handlers build these, and an answer
    the schema refuses is no valid message (TR-07)."""
    if not isinstance(result, dict):
        return f"a result must be a JSON object, not {type(result).__name__}"
    if method == spec.ROOTS_LIST:
        roots = result.get("roots")
        if not (isinstance(roots, list) and all(isinstance(root, dict)
                                                and isinstance(root.get("uri"), str)
                                                for root in roots)):
            return "roots must be a list of objects, each with a string uri"
        for root in roots:                  # the optional members too (D-82)
            if "name" in root and not isinstance(root["name"], str):
                return f"a root's name is a string, not {_short(root['name'])}"
            problem = meta_problem(root, "a root")
            if problem:
                return problem
    elif method == spec.SAMPLING_CREATE_MESSAGE:
        if not (result.get("role") in ROLES
                and isinstance(result.get("content"), (dict, list))
                and isinstance(result.get("model"), str)):
            return "a sampling result needs a role (user or assistant), content and a string model"
        if "stopReason" in result and not isinstance(result["stopReason"], str):
            return f"a sampling result's stopReason is a string, not {_short(result['stopReason'])}"
        blocks = result["content"] if isinstance(result["content"], list) else [result["content"]]
        for block in blocks:
            problem = _sampling_block_problem(block)
            if problem:
                return problem
    elif method == spec.ELICITATION_CREATE:
        if result.get("action") not in ("accept", "decline", "cancel"):
            return "an elicitation result needs an action: accept, decline or cancel"
        if "content" in result:
            return _elicited_problem(result["content"])
    return None


def _sampling_block_problem(block: Any) -> Optional[str]:
    """What keeps ``block`` from being sampling content (D-82): a text, image or audio block
    as :func:`block_problem` has them, or 2025-11-25's ``tool_use`` (string ``id`` and
    ``name``, object ``input``) or ``tool_result`` (string ``toolUseId``, a list of content
    blocks). Whether its type may go here, in this revision, is :func:`content`'s business."""
    kind = block.get("type") if isinstance(block, dict) else None
    if kind == "tool_use":
        if not (isinstance(block.get("id"), str) and isinstance(block.get("name"), str)
                and isinstance(block.get("input"), dict)):
            return "a tool_use block needs a string id and name and an object input"
        return meta_problem(block, "a tool_use block")
    if kind == "tool_result":
        inner = block.get("content")
        if not (isinstance(block.get("toolUseId"), str) and isinstance(inner, list)):
            return "a tool_result block needs a string toolUseId and a list of content"
        if "isError" in block and not isinstance(block["isError"], bool):
            return "a tool_result block's isError is true or false"
        if "structuredContent" in block and not isinstance(block["structuredContent"], dict):
            return "a tool_result block's structuredContent is an object"
        for problem in map(block_problem, inner):
            if problem:
                return problem
        return meta_problem(block, "a tool_result block")
    return block_problem(block)


def _elicited_problem(content: Any) -> Optional[str]:
    """What keeps ``content`` from being an elicitation's answer, or None (D-82): an object
    whose values are strings, numbers, booleans or (from 2025-11-25, checked by
    :func:`client_result`) arrays of strings. ``number`` is schema.ts's word, the source of
    truth (basic/index#schema): a form may ask for one (NumberSchema), and 1.5 answers it.
    The generated schema.json says ``integer`` there, a generator slip of the kind upstream
    corrects when found (D-84)."""
    if not isinstance(content, dict):
        return f"an elicitation's content is an object, not {_short(content)}"
    for name, value in content.items():
        is_strings = isinstance(value, list) and all(isinstance(v, str) for v in value)
        if not (isinstance(value, (str, bool)) or is_finite_number(value) or is_strings):
            return (f"an elicited value is a string, a number, a boolean or a list of "
                    f"strings, not {_short(value)} (for {_short(name)})")
    return None


#: The string members each content block type requires, in every revision's schema that has
#: the type (TextContent, ImageContent, AudioContent, ResourceLink); ``resource`` (an
#: EmbeddedResource) is checked by :func:`block_problem` itself.
_BLOCK_STRINGS: Dict[str, Tuple[str, ...]] = {
    "text": ("text",), "image": ("data", "mimeType"), "audio": ("data", "mimeType"),
    "resource_link": ("uri", "name"),
}


def block_problem(block: Any, version: Optional[str] = None) -> Optional[str]:
    """What keeps ``block`` from being a content block of a result, or None: an object whose
    ``type`` names a block with the string members that type requires, and whose
    ``annotations`` and ``_meta``, where given, have the schema's shapes (its ``type`` being
    allowed here, and in the session's revision, is :func:`content`'s business).

    ``version``: a block received in that revision's session is judged by its members only:
    the older schemas leave the later members open, so a 2025-03-26 block's ``_meta`` may be
    anything (LC-15, D-96). None: every member is judged."""
    if not isinstance(block, dict):
        return f"a content block is an object, not {_short(block)}"
    if version is not None and version < spec.PROTOCOL_VERSION:
        block = _block_members(version, block)
    kind = block.get("type")
    if kind == "resource":
        inner = block.get("resource")
        if not (isinstance(inner, dict) and isinstance(inner.get("uri"), str)
                and (isinstance(inner.get("text"), str) or isinstance(inner.get("blob"), str))):
            return "a resource block needs a resource with a string uri and a text or blob"
        if "mimeType" in inner and not isinstance(inner["mimeType"], str):
            return "a resource block's mimeType is a string"
        problem = meta_problem(inner, "a resource block's resource")
    elif kind not in _BLOCK_STRINGS:
        return f"a content block has no type {_short(kind)}"
    else:
        missing = [name for name in _BLOCK_STRINGS[kind]
                   if not isinstance(block.get(name), str)]
        if missing:
            return f"a {kind} block needs {' and '.join(missing)} as a string"
        problem = None
    return problem or meta_problem(block, f"a {kind} block") or _annotations_problem(block)


def meta_problem(obj: Dict[str, Any], what: str) -> Optional[str]:
    """``_meta``, where given, is an object in every revision that has it (BP-01, D-82): in
    params, results, content blocks and roots (the connection asks this of params and
    results, :func:`mcp_ref.connection.check_meta`); an older session drops it afterwards
    (:func:`content`, D-41)."""
    if "_meta" in obj and not isinstance(obj["_meta"], dict):
        return f"{what}'s _meta is an object, not {_short(obj['_meta'])}"
    return None


def request_meta_problem(params: Dict[str, Any]) -> Optional[Tuple[str, str]]:
    """What every revision's schema.ts refuses in a request's ``params._meta`` (``Request``:
    an object, whose ``progressToken``, where given, is a ``ProgressToken``: a string or an
    integer), with the catalogue row: BP-01 or PR-02. None if it is fine. A receiver answers
    such a request -32602 (ER-01; TL-11 for tools/call) and does not process it (D-87)."""
    problem = meta_problem(params, "the request")
    if problem is not None:
        return problem, "BP-01"
    token = params.get("_meta", {}).get("progressToken", "")
    if not is_progress_token(token):
        return f"a progress token is a string or an integer, not {_short(token)}", "PR-02"
    return None


def _annotations_problem(block: Dict[str, Any]) -> Optional[str]:
    """A block's ``annotations``, where given, as every revision's schema has them
    (``Annotations``): an object whose ``audience`` lists roles (user, assistant), whose
    ``priority`` is a number from 0 to 1, and whose ``lastModified`` is a string (D-82)."""
    if "annotations" not in block:
        return None
    annotations = block["annotations"]
    if not isinstance(annotations, dict):
        return f"annotations are an object, not {_short(annotations)}"
    audience = annotations.get("audience", [])
    if not (isinstance(audience, list) and all(role in ROLES for role in audience)):
        return f"annotations' audience lists roles (user, assistant), not {_short(audience)}"
    priority = annotations.get("priority", 0)
    if not (is_finite_number(priority) and 0 <= priority <= 1):
        return f"annotations' priority is a number from 0 to 1, not {_short(priority)}"
    if not isinstance(annotations.get("lastModified", ""), str):
        return "annotations' lastModified is a string (an ISO 8601 time)"
    return None


def server_result_problem(method: str, result: Any,
                          version: Optional[str] = None) -> Optional[str]:
    """What keeps the result a handler built for ``tools/call`` or ``prompts/get`` from being
    the schema's CallToolResult or GetPromptResult, or None: the members every revision
    requires, with their types (TL-08; D-59, the server's side of D-54).

    ``version``: a result received in that revision's session (the client's check, D-90) is
    judged by the members that revision has, as :func:`block_problem` judges its blocks: a
    2025-03-26 result's ``structuredContent`` is a member its schema leaves open (D-96).
    None: every member is judged, as a handler's result is before it is fitted."""
    if not isinstance(result, dict):
        return f"a result must be a JSON object, not {type(result).__name__}"
    if method == spec.TOOLS_CALL and version is not None and version < spec.PROTOCOL_VERSION:
        result = members(version, "CallToolResult", result)
    if method == spec.TOOLS_CALL:
        if not isinstance(result.get("content"), list):
            return "content must be a list of content blocks"
        if "isError" in result and not isinstance(result["isError"], bool):
            return "isError must be true or false"
        if "structuredContent" in result and not isinstance(result["structuredContent"], dict):
            return "structuredContent must be an object"
        blocks = result["content"]
    elif method == spec.PROMPTS_GET:
        messages = result.get("messages")
        if not isinstance(messages, list):
            return "messages must be a list of prompt messages"
        if not all(isinstance(m, dict) and m.get("role") in ROLES for m in messages):
            return "each prompt message needs a role, user or assistant"
        blocks = [message.get("content") for message in messages]
    else:
        return None
    for block in blocks:
        problem = block_problem(block, version)
        if problem:
            return problem
    return None


# --- Checking a value against a subset of JSON Schema (BP-34, decisions D-14, D-45, D-46) -----
#
# BP-34 (https://modelcontextprotocol.io/specification/2025-11-25/basic/index#json-schema-usage):
# a schema without "$schema" is JSON Schema 2020-12; a schema is validated by its declared or
# that default dialect, and a dialect the implementation does not support fails gracefully.

#: The dialects we know, by the ``$schema`` URI naming each, written here without its scheme
#: (http or https) and without a trailing "#": schemas in the wild use every spelling.
DIALECTS: Dict[str, str] = {
    "json-schema.org/draft/2020-12/schema": "2020-12",
    "json-schema.org/draft/2019-09/schema": "2019-09",
    "json-schema.org/draft-07/schema": "draft-07",
    "json-schema.org/draft-06/schema": "draft-06",
    "json-schema.org/draft-04/schema": "draft-04",
}

#: BP-34 (2025-11-25): a schema without ``$schema`` is JSON Schema 2020-12. The older revisions
#: name no default; we read theirs the same way (D-117).
DEFAULT_DIALECT = "2020-12"

#: Dialects in which ``$ref`` replaces its schema: "all other properties in a $ref object
#: MUST be ignored" (draft-07 core §8.3,
#: https://datatracker.ietf.org/doc/html/draft-handrews-json-schema-01#section-8.3). From
#: 2019-09 on, ``$ref`` is one keyword among the others.
_REF_HIDES_SIBLINGS = ("draft-04", "draft-06", "draft-07")

#: Hard limits, so that a peer's schema (a client checks by the server's outputSchema) or a
#: peer's value can never hang or crash the check: nesting followed, problems listed, and
#: work done in all (one step per schema applied, per member or item looked at, per value
#: compared). Past a limit the check stops and says nothing more: never a false problem.
MAX_DEPTH = 32
MAX_PROBLEMS = 20
MAX_STEPS = 200_000


def dialect(schema: Any) -> Optional[str]:
    """The JSON Schema dialect ``schema`` is written in (BP-34): ``"2020-12"`` when it has no
    ``$schema`` (the default), else the dialect its ``$schema`` names (one of
    :data:`DIALECTS`), or None when that is a dialect we do not support (or not a string)."""
    if not isinstance(schema, dict) or "$schema" not in schema:
        return DEFAULT_DIALECT
    uri = schema["$schema"]
    if not isinstance(uri, str):
        return None
    if uri.endswith("#"):
        uri = uri[:-1]
    for scheme in ("https://", "http://"):
        if uri.startswith(scheme):
            return DIALECTS.get(uri[len(scheme):])
    return None


def dialect_problem(schema: Any) -> Optional[str]:
    """What to say of a ``schema`` whose dialect we do not support (BP-34: fail gracefully),
    or None when we support it."""
    if dialect(schema) is not None:
        return None
    known = ", ".join(DIALECTS.values())
    return (f"declares $schema {_short(schema.get('$schema'))}, a JSON Schema dialect "
            f"mcp_ref does not support (it knows {known}; none declared means "
            f"{DEFAULT_DIALECT})")


def object_problems(value: Dict[str, Any], schema: Dict[str, Any], where: str) -> List[str]:
    """Problems with ``value`` against ``schema``, each starting with the JSON path of the
    value it is about, rooted at ``where`` (``"arguments.a.b[2]: expected integer, got
    string"``). Empty: no problem found.

    A tool's arguments against its ``inputSchema`` (TL-14) and its ``structuredContent``
    against its ``outputSchema`` (TL-09). A subset of JSON Schema, by the schema's dialect
    (BP-34), with the standard library only (:data:`_KEYWORDS` lists it, D-46, D-49):

    * ``type`` (``integer`` vs ``number``; JSON ``true`` is not a number), ``enum``, ``const``;
      every number is compared as the decimal JSON writes for it (1e25 is 10**25, D-77);
    * ``minimum``, ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``, ``multipleOf``,
      ``minLength``, ``maxLength``, ``pattern`` (a subset of ECMA-262, run without
      backtracking: :mod:`mcp_ref._pattern`, D-128), ``minItems``, ``maxItems``,
      ``uniqueItems``, ``minProperties``, ``maxProperties``;
    * ``required``, ``properties``, ``patternProperties``, ``additionalProperties`` (false
      or a schema), ``propertyNames``, ``dependentRequired``, ``dependentSchemas``,
      ``dependencies``;
    * ``prefixItems`` + ``items`` (2020-12), ``items`` + ``additionalItems`` (older),
      ``contains`` (+ ``minContains``, ``maxContains``);
    * ``allOf``, ``anyOf``, ``oneOf``, ``not``, ``if``/``then``/``else``;
    * ``unevaluatedProperties``, ``unevaluatedItems`` (2019-09 on), through the subschemas
      that surely passed (D-133);
    * ``$ref`` to a JSON pointer into the same document (``#/$defs/x``);
    * the boolean schemas ``true`` and ``false`` (draft-06 on), at any depth.

    A plain object schema that the value meets is settled by :func:`_plainly_valid`
    without the walk (D-69); a problem is always worded by the full check.

    The subset only ever reports less than a full validator would, never a false problem:
    ``format``, ``$dynamicRef``, ``$recursiveRef``, a ``$ref`` it cannot
    resolve and a regular expression outside :mod:`mcp_ref._pattern`'s subset (or too long
    to run within the limits) are not checked, a combinator
    (``anyOf``, ``not``, ...) judges a branch only where it knows the branch's verdict
    (D-49), and ``unevaluated*`` an item or member only where it knows whether something
    evaluated it (D-133). A schema in a dialect we do not support (:func:`dialect` is None)
    is not checked at all: empty list. A tool that needs more checks makes them in its
    handler.
    """
    if _plainly_valid(value, schema):
        return []                       # the usual tool's schema, met: no need of the subset
    dialect_name = dialect(schema)
    if dialect_name is None:
        return []                       # a dialect we do not support: not checked (BP-34)
    checker = _Checker(dialect_name, schema)
    checker.check(value, schema, (), 0)
    problems = [f"{where}{_path(path)}: {message() if callable(message) else message}"
                for path, message in checker.problems[:MAX_PROBLEMS]]
    if len(checker.problems) > MAX_PROBLEMS:
        problems.append(f"{where}: more problems not listed (the check stops after "
                        f"{MAX_PROBLEMS})")
    return problems


#: What a *plain* object schema may hold: ``"type": "object"``, ``properties`` whose members
#: are plain too (:data:`_PLAIN_MEMBER`), ``required``, ``additionalProperties`` true or
#: false, ``$schema``, and annotations. Most tools' ``inputSchema`` is one.
_PLAIN_OBJECT = frozenset({"type", "properties", "required", "additionalProperties",
                           "$schema", "title", "description", "default", "examples",
                           "$comment"})
#: What a plain property's schema may hold: one ``type`` name, and annotations.
_PLAIN_MEMBER = frozenset({"type", "title", "description", "default", "examples", "$comment"})


def _plainly_valid(value: Any, schema: Any) -> bool:
    """True when ``schema`` is a plain object schema (:data:`_PLAIN_OBJECT`) and ``value``
    meets it: every ``required`` name present, every member of the ``type`` its property
    names, no other member where ``additionalProperties`` is false.

    A shortcut for :func:`object_problems`, which a server runs on every ``tools/call``
    (TL-14): the full subset's walk costs five times as much, and most tools' schemas are
    this plain (D-69). It is never True where the full check would find a problem: it
    applies the same rules, with the same :func:`_is_json_type`. False means "not settled
    here" (a problem, or a schema that is not plain): then the full check decides, and
    words the problems."""
    if not (isinstance(value, dict) and isinstance(schema, dict)
            and schema.keys() <= _PLAIN_OBJECT and schema.get("type") == "object"):
        return False
    dialect_name = dialect(schema) if "$schema" in schema else DEFAULT_DIALECT
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    closed = schema.get("additionalProperties", True)
    if dialect_name is None or not (isinstance(properties, dict) and isinstance(required, list)
                                    and isinstance(closed, bool)):
        return False
    for name in required:
        if not (isinstance(name, str) and name in value):
            return False
    for name, member in value.items():
        rule = properties.get(name) if isinstance(name, str) else False
        if rule is None:                        # a member no property names
            if closed is False:
                return False
        elif not (isinstance(rule, dict) and rule.keys() <= _PLAIN_MEMBER
                  and isinstance(rule.get("type"), str)
                  and _is_json_type(member, rule["type"], dialect_name)):
            return False
    return True


def verdict(value: Any, schema: Any) -> Optional[bool]:
    """Whether ``value`` is valid against ``schema`` as far as the subset knows: False when
    :func:`object_problems` finds a problem, True when it finds none and understood every
    keyword that applies (so that a full validator would accept the value too), None when
    it cannot tell (a keyword it does not check, a ``$ref`` it does not follow, a limit hit,
    an unsupported dialect: D-49)."""
    dialect_name = dialect(schema)
    if dialect_name is None:
        return None
    checker = _Checker(dialect_name, schema)
    exact = checker.check(value, schema, (), 0)
    return False if checker.problems else True if exact else None


#: The order of the dialects, oldest first.
_DIALECT_ORDER = ("draft-04", "draft-06", "draft-07", "2019-09", "2020-12")

#: Keywords that arrived after draft-04, by the first dialect that has them ...
_SINCE = {"const": "draft-06", "contains": "draft-06", "propertyNames": "draft-06",
          "if": "draft-07", "then": "draft-07", "else": "draft-07",
          "dependentRequired": "2019-09", "dependentSchemas": "2019-09",
          "minContains": "2019-09", "maxContains": "2019-09", "prefixItems": "2020-12",
          "unevaluatedProperties": "2019-09", "unevaluatedItems": "2019-09"}
#: ... and those that left, by the last dialect that has them. A keyword used outside its
#: dialects is not checked (a validator may still apply it: the verdict is not exact).
_UNTIL = {"dependencies": "draft-07", "additionalItems": "2019-09"}

#: Assertions the subset does not check (D-49): a schema holding one has no exact verdict.
#: ``format`` is an annotation by default, but some validators assert it. (``pattern`` and
#: ``patternProperties`` are checked since D-128, by :mod:`mcp_ref._pattern`;
#: ``unevaluatedProperties`` and ``unevaluatedItems`` since D-133.)
_UNCHECKED = ("format", "$dynamicRef", "$recursiveRef")


class _Checker:
    """One check of one value: its dialect, its root schema, the problems found and the
    steps left.

    Each ``check`` also says whether its verdict is *exact*: True when the subset understood
    every keyword that applies there and no limit was hit, so that "no problem found" means
    "valid". A combinator needs that to judge a branch that passes (D-49). Problems are
    always true, exact or not.

    The schema may be the peer's: what is not of the expected JSON type is ignored, never
    trusted to be, and nothing raises (D-45)."""

    def __init__(self, dialect_name: str, root: Any) -> None:
        self.dialect = dialect_name
        self.root = root
        self.id_keyword = "id" if dialect_name == "draft-04" else "$id"
        # Keywords that leave a verdict inexact here: not checked, or not this dialect's.
        self.unknowable = _UNKNOWABLE.get(dialect_name, frozenset())
        self.problems: List[Any] = []
        self.steps = MAX_STEPS
        self.enough = MAX_PROBLEMS      # problems after which to stop (0 in a trial)
        self.rebased = False            # under a subschema with its own $id: no $ref followed
        # The (schema, value) pairs, by id, that the $refs being followed lead to.
        self.following: Set[Tuple[int, int]] = set()

    def step(self, cost: int = 1) -> bool:
        """Spend one step, or ``cost``: one per member, item or character that a keyword
        reads at once (a peer can make them many, and a $ref can make it read them again
        and again); False once the check must stop (problems or steps used up)."""
        self.steps -= cost
        return self.steps > 0 and len(self.problems) <= self.enough

    def report(self, path: Tuple[Any, ...], message: Any) -> None:
        """A problem at ``path``. ``message`` is a string, or a function that writes it
        where quoting the peer's values costs: only listed problems are written (a trial
        only counts its own, and may run for every branch a $ref repeats)."""
        self.problems.append((path, message))

    def members(self, obj: Dict[Any, Any]) -> Optional[Dict[str, Any]]:
        """``obj`` by its JSON names (:func:`_with_json_names`), which reads every name: a
        step each. None once the check must stop."""
        return _with_json_names(obj) if self.step(len(obj)) else None

    def regex(self, source: Any) -> Any:
        """``source`` compiled by :mod:`mcp_ref._pattern` (its class ``Pattern``), or None:
        not a string, outside the subset, too big. Reading it costs a step a character, as
        a ``$ref`` does. The module is imported here, late: most schemas have no pattern,
        and ``serve`` starts without it (tests/test_import_cost.py)."""
        if not isinstance(source, str) or not self.step(len(source)):
            return None
        from . import _pattern
        return _pattern.compiled(source)

    def matches(self, pattern: Any, text: str) -> Optional[bool]:
        """Whether ``pattern`` (from :meth:`regex`) matches anywhere in ``text``, None when
        not known. The matcher's work (one unit per automaton state entered, per character)
        is paid from the steps left, and it stops, not knowing, when they would run out: a
        peer's pattern and string can cost no more than MAX_STEPS of work (D-128)."""
        if pattern is None:
            return None
        found, work = pattern.search(text, self.steps)
        self.steps -= work
        return found

    def has(self, keyword: str) -> bool:
        """Whether this check's dialect has ``keyword`` (:data:`_SINCE`, :data:`_UNTIL`)."""
        return _in_dialect(keyword, self.dialect)

    def check(self, value: Any, schema: Any, path: Tuple[Any, ...], depth: int,
              because: Optional[str] = None) -> bool:
        """``value`` (at ``path``) against ``schema``; True if the verdict is exact.
        ``because``: the message if the schema is ``false`` where every dialect allows a
        boolean (additionalProperties, ...)."""
        if depth > MAX_DEPTH or not self.step():
            return False
        if isinstance(schema, bool):
            # Boolean schemas: ``false`` accepts nothing. Draft-04 had none, except as the
            # value of additionalProperties and additionalItems (``because`` is given there).
            if because is None and self.dialect == "draft-04":
                return False                            # malformed there: no rule
            if schema is False:
                self.report(path, because or "not allowed here (the schema is false)")
            return True
        if not isinstance(schema, dict):
            return False                                # malformed: no rule
        if depth > 0 and "$schema" in schema and dialect(schema) != self.dialect:
            return False                                # another dialect inside: not judged
        rebased = self.rebased
        if schema is not self.root and isinstance(schema.get(self.id_keyword), str):
            self.rebased = True         # a new base URI: its $refs are not into our root
        exact = self._keywords(value, schema, path, depth)
        self.rebased = rebased
        return exact

    def _keywords(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
                  depth: int) -> bool:
        """Every keyword of ``schema`` the subset knows, in :data:`_KEYWORDS` order (each
        method once, however many of its keywords the schema holds)."""
        if "$ref" in schema:                            # first: it may hide the others
            exact = self._ref(value, schema, path, depth)
            if self.dialect in _REF_HIDES_SIBLINGS:
                return exact                            # only $ref counts
        else:
            exact = True
        # Only the keywords the schema holds are looked at, and a wide schema (a peer's may
        # have thousands of members) meets the tables by the smaller of the two.
        for index in sorted({_CHECKED_BY[keyword]
                             for keyword in schema.keys() & _CHECKED_BY.keys()}):
            exact = _KEYWORDS[index][1](self, value, schema, path, depth) and exact
        return exact and schema.keys().isdisjoint(self.unknowable)

    def trial(self, value: Any, schema: Any, path: Tuple[Any, ...],
              depth: int) -> Optional[bool]:
        """Whether ``value`` passes ``schema``, for a combinator: True or False when known,
        None when not (a keyword the subset does not check, a limit hit). Its problems are
        not reported: the combinator says what it needs in one line."""
        problems, enough = self.problems, self.enough
        self.problems, self.enough = [], 0              # the first problem settles it
        exact = self.check(value, schema, path, depth)
        failed = bool(self.problems)
        self.problems, self.enough = problems, enough
        return False if failed else True if exact else None

    # --- any value: type, enum, const --------------------------------------------------------

    def _type(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
              depth: int) -> bool:
        # https://json-schema.org/draft/2020-12/json-schema-validation#section-6.1.1
        expected = schema["type"]
        if isinstance(expected, str):                   # the usual case: one type
            if not _is_json_type(value, expected, self.dialect):
                self.report(path, f"expected {expected}, got {_json_type(value)}")
            return expected in _JSON_TYPES
        names = expected if isinstance(expected, list) else [expected]
        if not self.step(len(names)):
            return False                                # a step a name: a peer's may be many
        types = [t for t in names if isinstance(t, str)]
        if types and not any(_is_json_type(value, t, self.dialect) for t in types):
            self.report(path, lambda: f"expected {' or '.join(types)}, got "
                                      f"{_json_type(value)}")
        # An empty array is malformed (the meta-schemas say minItems 1), though a validator
        # that reads "in any of the sets listed" literally rejects every value: no rule.
        return (bool(types) and len(types) == len(names)
                and all(t in _JSON_TYPES for t in types))

    def _enum(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
              depth: int) -> bool:
        # https://json-schema.org/draft/2020-12/json-schema-validation#section-6.1.2
        enum = schema["enum"]
        wanted = self.key(value, 0)
        if not isinstance(enum, list) or wanted is None:
            return False                                # malformed, or cannot compare
        exact = True
        for allowed in enum:
            key = self.key(allowed, 0)
            if key == wanted:
                return True
            if key is None:
                exact = False                           # could not compare: maybe equal
                if self.steps <= 0:
                    return False
        if exact:
            self.report(path, lambda: f"expected one of {_short(enum)}")
        return exact

    def _const(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
               depth: int) -> bool:
        # https://json-schema.org/draft/2020-12/json-schema-validation#section-6.1.3 (draft-06 on)
        if not self.has("const"):
            return False
        wanted, key = self.key(value, 0), self.key(schema["const"], 0)
        if wanted is None or key is None:
            return False                                # cannot compare: not judged
        if key != wanted:
            self.report(path, lambda: f"expected {_short(schema['const'])}")
        return True

    # --- numbers -----------------------------------------------------------------------------

    def _bounds(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
                depth: int) -> bool:
        # https://json-schema.org/draft/2020-12/json-schema-validation#section-6.2.2 to 6.2.5.
        # Draft-04's exclusiveMinimum/exclusiveMaximum are booleans that make minimum/maximum
        # exclusive (https://datatracker.ietf.org/doc/html/draft-fge-json-schema-validation-00
        # #section-5.1.2); from draft-06 on they are numbers of their own.
        if not _is_number(value):
            return True
        if self.dialect == "draft-04":
            limits = [("minimum", schema.get("exclusiveMinimum"), 1),
                      ("maximum", schema.get("exclusiveMaximum"), -1)]
            exact = all(isinstance(schema.get(flag, False), bool)
                        for flag in ("exclusiveMinimum", "exclusiveMaximum"))
            bounds = [(schema[name], sign, flag is True) for name, flag, sign in limits
                      if name in schema]
        else:
            exact = True
            bounds = [(schema[name], sign, exclusive) for name, sign, exclusive in (
                ("minimum", 1, False), ("exclusiveMinimum", 1, True),
                ("maximum", -1, False), ("exclusiveMaximum", -1, True)) if name in schema]
        number = _as_written(value)             # as JSON writes it: 1e25 is 10**25 (D-77)
        for limit, sign, exclusive in bounds:
            if not _is_number(limit) or limit != limit:
                exact = False                           # malformed (or NaN): no rule
                continue
            written = _as_written(limit)
            if (number < written if sign == 1 else number > written) or (
                    exclusive and number == written):
                words = {(1, False): "at least", (1, True): "more than",
                         (-1, False): "at most", (-1, True): "less than"}[sign, exclusive]
                self.report(path, lambda words=words, limit=limit:
                            f"expected {words} {_short(limit)}, got {_short(value)}")
        return exact

    def _multiple_of(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
                     depth: int) -> bool:
        # https://json-schema.org/draft/2020-12/json-schema-validation#section-6.2.1
        divisor = schema["multipleOf"]
        if not _is_number(value):
            return True
        if not _is_number(divisor) or divisor <= 0:
            return False                                # malformed: no rule
        quotient = _exact_quotient(value, divisor)
        if quotient is None:
            return False                                # not exact: not judged
        if quotient.denominator != 1:
            self.report(path, lambda: f"expected a multiple of {_short(divisor)}, got "
                                      f"{_short(value)}")
        return True

    # --- strings -----------------------------------------------------------------------------

    def _length(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
                depth: int) -> bool:
        # https://json-schema.org/draft/2020-12/json-schema-validation#section-6.3.1 and 6.3.2:
        # the length in characters (code points), as Python's len() counts them.
        if not isinstance(value, str):
            return True
        return self._count(len(value), schema, "minLength", "maxLength", "characters", path)

    def _count(self, count: int, schema: Dict[str, Any], least: str, most: str, what: str,
               path: Tuple[Any, ...]) -> bool:
        """A count against the ``least`` and ``most`` keywords of ``schema`` (non-negative
        integers; another value is malformed: no rule, not exact)."""
        exact = True
        for keyword, sign, words in ((least, 1, "at least"), (most, -1, "at most")):
            if keyword in schema:
                limit = _non_negative(schema[keyword])
                if limit is None:
                    exact = False
                elif count < limit if sign == 1 else count > limit:
                    self.report(path, lambda words=words, limit=limit:
                                f"expected {words} {_short(limit)} {what}, got {count}")
        return exact

    def _pattern(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
                 depth: int) -> bool:
        # https://json-schema.org/draft/2020-12/json-schema-validation#section-6.3.3: a
        # string is valid if the ECMA-262 regular expression matches it, anywhere in it (not
        # anchored). A pattern outside the subset has no verdict, for any value: a full
        # validator may refuse the schema itself where the pattern is invalid (D-128).
        pattern = self.regex(schema["pattern"])
        if pattern is None:
            return False
        if not isinstance(value, str):
            return True
        found = self.matches(pattern, value)
        if found is False:
            self.report(path, lambda: f"{_short(value)} does not match the pattern "
                                      f"{_short(schema['pattern'])}")
        return found is not None

    # --- arrays ------------------------------------------------------------------------------

    def _item_count(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
                    depth: int) -> bool:
        # https://json-schema.org/draft/2020-12/json-schema-validation#section-6.4.1 and 6.4.2
        if not isinstance(value, (list, tuple)):
            return True
        return self._count(len(value), schema, "minItems", "maxItems", "items", path)

    def _unique(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
                depth: int) -> bool:
        # https://json-schema.org/draft/2020-12/json-schema-validation#section-6.4.3
        if not isinstance(schema["uniqueItems"], bool):
            return False
        if schema["uniqueItems"] is False or not isinstance(value, (list, tuple)):
            return True
        exact = True
        first: Dict[Any, int] = {}                      # each item's key: where it was first
        for index, item in enumerate(value):
            key = self.key(item, 0)
            if key is None:
                exact = False                           # not compared: an equal pair missed?
                if self.steps <= 0:
                    return False
            elif key in first:
                self.report(path, f"items {first[key]} and {index} are equal, expected "
                                  "unique items")
                return True
            else:
                first[key] = index
        return exact

    def _items(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
               depth: int) -> bool:
        if not isinstance(value, (list, tuple)):
            return True
        if self.dialect == "2020-12":
            # 2020-12: prefixItems for the first items, items for every one after them
            # (https://json-schema.org/draft/2020-12/json-schema-core#section-10.3.1).
            prefix = schema.get("prefixItems", [])
            rest, because = schema.get("items", True), "unexpected item (items is false)"
        elif isinstance(schema.get("items"), list):
            # Up to 2019-09, an array of schemas in items is for the first items, and
            # additionalItems is for every one after them ...
            prefix, rest = schema["items"], schema.get("additionalItems", True)
            because = "unexpected item (additionalItems is false)"
        else:
            # ... and one schema in items is for every item.
            prefix, rest, because = [], schema.get("items", True), None
        if not isinstance(prefix, list):
            return False        # malformed: where the first items end is not known
        exact = True
        for index, item in enumerate(value):
            if index >= len(prefix) and rest is True:
                return exact
            if not self.step():
                return False
            if index < len(prefix):
                exact = self.check(item, prefix[index], path + (index,), depth + 1) and exact
            else:
                exact = self.check(item, rest, path + (index,), depth + 1, because) and exact
        return exact

    def _contains(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
                  depth: int) -> bool:
        # https://json-schema.org/draft/2020-12/json-schema-core#section-10.3.1.3, with
        # minContains and maxContains from 2019-09
        # (https://json-schema.org/draft/2020-12/json-schema-validation#section-6.4.4, 6.4.5).
        if not isinstance(value, (list, tuple)):
            return True
        if not self.has("contains"):
            return False
        least: Optional[int] = 1
        most: Optional[int] = None
        if self.has("minContains") and "minContains" in schema:
            least = _non_negative(schema["minContains"])
        if self.has("minContains") and "maxContains" in schema:
            most = _non_negative(schema["maxContains"])
            if most is None:
                return False                            # malformed: no rule
        verdicts = [self.trial(item, schema["contains"], path + (index,), depth + 1)
                    for index, item in enumerate(value)]
        sure, maybe = verdicts.count(True), verdicts.count(None)
        if least is not None and sure + maybe < least:
            self.report(path, "no item matches contains" if least == 1 else
                        f"expected at least {least} items matching contains, "
                        f"found {sure + maybe}")
        elif most is not None and sure > most:
            self.report(path, f"expected at most {most} items matching contains, "
                              f"found {sure}{' or more' if maybe else ''}")
        return maybe == 0 and least is not None

    # --- objects -----------------------------------------------------------------------------

    def _property_count(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
                        depth: int) -> bool:
        # https://json-schema.org/draft/2020-12/json-schema-validation#section-6.5.1 and 6.5.2
        if not isinstance(value, dict):
            return True
        value = self.members(value)
        if value is None:
            return False
        return self._count(len(value), schema, "minProperties", "maxProperties",
                           "properties", path)

    def _required(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
                  depth: int) -> bool:
        # https://json-schema.org/draft/2020-12/json-schema-validation#section-6.5.3
        if not isinstance(value, dict):
            return True
        value = self.members(value)
        return value is not None and self._needs(value, schema["required"], path, "")

    def _needs(self, value: Dict[str, Any], names: Any, path: Tuple[Any, ...],
               when: str) -> bool:
        """Each of ``names`` must be a member of ``value`` (``when``: the reason)."""
        if not isinstance(names, list):
            return False
        for name in names:
            if not self.step():
                return False
            if isinstance(name, str) and name not in value:
                self.report(path, f"missing required property {_short(name)}{when}")
        return all(isinstance(name, str) for name in names)

    def _properties(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
                    depth: int) -> bool:
        # https://json-schema.org/draft/2020-12/json-schema-core#section-10.3.2.1 to 10.3.2.3:
        # properties applies to the members it names, patternProperties to those whose name
        # a pattern matches (anywhere in the name: not anchored), and additionalProperties
        # to the members neither names nor matches.
        if not isinstance(value, dict):
            return True
        value = self.members(value)
        if value is None:
            return False
        properties = schema.get("properties", {})
        patterns = self._pattern_properties(schema)
        # A malformed properties or patternProperties names nothing we know: then
        # additionalProperties (which applies to what they leave) is not judged.
        judge_rest = ("additionalProperties" in schema and isinstance(properties, dict)
                      and patterns is not None)
        exact = isinstance(properties, dict) and patterns is not None and all(
            pattern is not None for pattern, _ in patterns or [])
        for name, member in value.items():
            if not self.step():
                return False
            where = path + (name,)
            named = isinstance(properties, dict) and name in properties
            if named:
                exact = self.check(member, properties[name], where, depth + 1) and exact
            matched, unknown = self._matched_by(patterns or [], name)
            for subschema in matched:
                exact = self.check(member, subschema, where, depth + 1) and exact
            if unknown:
                exact = False                   # its schema, or additionalProperties, may apply
            elif judge_rest and not (named or matched):
                exact = self.check(member, schema["additionalProperties"], where, depth + 1,
                                   "unexpected property (additionalProperties is false)"
                                   ) and exact
        return exact

    def _pattern_properties(self, schema: Dict[str, Any]) -> Optional[List[Any]]:
        """``patternProperties`` as (compiled pattern or None, schema) pairs: an empty list
        where there is none, None where it is not an object (malformed)."""
        given = schema.get("patternProperties", {})
        if not isinstance(given, dict) or not self.step(len(given)):
            return None
        return [(self.regex(source), subschema) for source, subschema in given.items()]

    def _matched_by(self, patterns: List[Any], name: str) -> Tuple[List[Any], bool]:
        """The schemas of ``patterns`` (:meth:`_pattern_properties`) whose pattern surely
        matches the member name ``name`` (anywhere in it: core section 10.3.2.2), and whether
        some pattern's answer is not known. What patternProperties applies to, and what it
        evaluates for unevaluatedProperties (:meth:`_properties`, :meth:`_evaluated`)."""
        matched, unknown = [], False
        for pattern, subschema in patterns:
            found = self.matches(pattern, name)
            if found:
                matched.append(subschema)
            unknown = unknown or found is None
        return matched, unknown

    def _property_names(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
                        depth: int) -> bool:
        # https://json-schema.org/draft/2020-12/json-schema-core#section-10.3.2.4 (draft-06 on)
        if not isinstance(value, dict):
            return True
        if not self.has("propertyNames"):
            return False
        value = self.members(value)
        if value is None:
            return False
        exact = True
        for name in value:
            verdict = self.trial(name, schema["propertyNames"], path, depth + 1)
            if verdict is False:
                self.report(path, f"property name {_short(name)} does not match "
                                  "propertyNames")
            exact = exact and verdict is not None
        return exact

    def _dependent_required(self, value: Any, schema: Dict[str, Any],
                            path: Tuple[Any, ...], depth: int) -> bool:
        # https://json-schema.org/draft/2020-12/json-schema-validation#section-6.5.4 (2019-09 on)
        return self._dependent(value, schema, "dependentRequired", path, depth)

    def _dependent_schemas(self, value: Any, schema: Dict[str, Any],
                           path: Tuple[Any, ...], depth: int) -> bool:
        # https://json-schema.org/draft/2020-12/json-schema-core#section-10.2.2.4 (2019-09 on)
        return self._dependent(value, schema, "dependentSchemas", path, depth)

    def _dependencies(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
                      depth: int) -> bool:
        # Draft-04 to draft-07: each dependency is an array of names or a schema
        # (https://datatracker.ietf.org/doc/html/draft-handrews-json-schema-validation-01
        # #section-6.5.7); 2019-09 split it in two, above.
        return self._dependent(value, schema, "dependencies", path, depth)

    def _dependent(self, value: Any, schema: Dict[str, Any], keyword: str,
                   path: Tuple[Any, ...], depth: int) -> bool:
        """``keyword``'s dependencies: for each member of ``value`` it names, the names that
        must be there too (a list) or a schema the whole object must pass."""
        if not isinstance(value, dict):
            return True
        if not self.has(keyword) or not isinstance(schema[keyword], dict):
            return False                                # not this dialect's, or malformed
        value = self.members(value)
        if value is None or not self.step(len(schema[keyword])):
            return False                                # each dependency is read
        exact = True
        for name, dependency in schema[keyword].items():
            if name not in value:
                continue
            if isinstance(dependency, list) and keyword != "dependentSchemas":
                when = f", as {_short(name)} is present"
                exact = self._needs(value, dependency, path, when) and exact
            elif keyword != "dependentRequired":
                exact = self.check(value, dependency, path, depth + 1) and exact
            else:
                exact = False                           # malformed: no rule
        return exact

    # --- combinators: https://json-schema.org/draft/2020-12/json-schema-core#section-10.2 -----

    def _all_of(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
                depth: int) -> bool:
        # section 10.2.1.1: every schema must pass; their problems are the value's.
        branches = schema["allOf"]
        if not isinstance(branches, list):
            return False
        exact = True
        for branch in branches:
            exact = self.check(value, branch, path, depth + 1) and exact
        return exact

    def _any_of(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
                depth: int) -> bool:
        # section 10.2.1.2: at least one schema must pass. Reported only when each surely
        # fails; known to pass when one surely passes.
        verdicts = self._branches(value, schema["anyOf"], path, depth)
        if verdicts is None:
            return False
        if verdicts and all(verdict is False for verdict in verdicts):
            self.report(path, f"matches none of anyOf's {_schemas(len(verdicts))}")
        return True in verdicts or None not in verdicts

    def _one_of(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
                depth: int) -> bool:
        # section 10.2.1.3: exactly one schema must pass.
        verdicts = self._branches(value, schema["oneOf"], path, depth)
        if verdicts is None:
            return False
        sure, maybe = verdicts.count(True), verdicts.count(None)
        if sure + maybe == 0:
            self.report(path, f"matches none of oneOf's {_schemas(len(verdicts))}")
        elif sure > 1:
            self.report(path, f"matches {'at least ' if maybe else ''}{sure} of oneOf's "
                              f"{_schemas(len(verdicts))}, expected exactly one")
        return maybe == 0 or sure > 1

    def _branches(self, value: Any, branches: Any, path: Tuple[Any, ...],
                  depth: int) -> Optional[List[Optional[bool]]]:
        """The verdict of each of ``branches`` (None: malformed, not an array)."""
        if not isinstance(branches, list) or not branches:
            return None
        return [self.trial(value, branch, path, depth + 1) for branch in branches]

    def _not(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
             depth: int) -> bool:
        # section 10.2.1.4: the schema must fail. Reported only when it surely passes.
        verdict = self.trial(value, schema["not"], path, depth + 1)
        if verdict is True:
            self.report(path, "matches the schema of not")
        return verdict is not None

    def _if(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
            depth: int) -> bool:
        # section 10.2.2.1 to 10.2.2.3 (draft-07 on): then applies when the value passes if,
        # else when it fails. Neither is applied when that is not known.
        if not self.has("if"):
            return False
        verdict = self.trial(value, schema["if"], path, depth + 1)
        if verdict is None:
            return "then" not in schema and "else" not in schema
        branch = "then" if verdict else "else"
        return branch not in schema or self.check(value, schema[branch], path, depth + 1)

    # --- unevaluated*: https://json-schema.org/draft/2020-12/json-schema-core#section-11 -----

    def _unevaluated(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
                     depth: int) -> bool:
        # Sections 11.2 and 11.3 (2019-09 on): unevaluatedItems and unevaluatedProperties
        # apply to the items or members of the value that nothing else evaluated: no adjacent
        # keyword (properties, items, ...), and no in-place subschema that passed (allOf,
        # anyOf, oneOf, if/then/else, dependentSchemas, $ref), at any depth (:meth:`_evaluated`).
        # Where that is not known for one, its verdict is not known either (BP-34, D-133).
        items = isinstance(value, (list, tuple))
        keyword = "unevaluatedItems" if items else "unevaluatedProperties"
        if not self.has(keyword):
            return False                                # not this dialect's: not judged
        if schema.get(keyword, True) is True or not (items or isinstance(value, dict)):
            return True                                 # true accepts any item or member
        if not items:
            value = self.members(value)
            if value is None:
                return False
        sure, maybe = self._evaluated(value, schema, depth, keyword, True)
        because = f"unexpected {'item' if items else 'property'} ({keyword} is false)"
        exact = sure == maybe                           # else some may be unevaluated
        for key in range(len(value)) if items else value:
            if key not in maybe:                        # surely unevaluated
                exact = self.check(value[key], schema[keyword], path + (key,), depth + 1,
                                   because) and exact
        return exact

    def _evaluated(self, value: Any, schema: Any, depth: int, keyword: str,
                   adjacent: bool = False) -> Tuple[Set[Any], Set[Any]]:
        """The member names (or item indexes, for unevaluatedItems) of ``value`` that
        ``schema`` evaluates in place: those it surely evaluates, and those it may. A
        subschema's annotations count only if it passes (core section 7.7.1.3): surely where
        it surely passes, maybe where that is not known. Where it failing would make
        ``schema`` fail too (allOf, $ref, dependentSchemas, then or else), they count
        whatever its verdict: ``schema``'s verdict is then False anyway, and counting more
        only reports less. ``adjacent``: ``schema`` holds the ``keyword`` being checked,
        which is not its own annotation."""
        every: Set[Any] = set(range(len(value))) if keyword == "unevaluatedItems" else set(value)
        if isinstance(schema, bool):
            return set(), set()                         # no keyword: no annotation
        if (depth > MAX_DEPTH or not self.step(1 + len(every)) or not isinstance(schema, dict)
                or not schema.keys().isdisjoint(self.unknowable - {"format"})
                or (not adjacent and schema is not self.root and (
                    "$schema" in schema or isinstance(schema.get(self.id_keyword), str)))):
            return set(), every     # a keyword we do not know, another dialect or base URI
        sure: Set[Any] = set()
        maybe: Set[Any] = set()

        def count(found: Optional[Tuple[Set[Any], Set[Any]]], surely: bool = True) -> None:
            found = found or (set(), every)             # None: a $ref not followed
            sure.update(found[0] if surely else ())
            maybe.update(found[1])

        def inside(subschema: Any) -> Tuple[Set[Any], Set[Any]]:
            return self._evaluated(value, subschema, depth + 1, keyword)

        def branches(name: str) -> List[Any]:
            given = schema.get(name, [])
            if not isinstance(given, list):
                maybe.update(every)                     # malformed: no rule
            return given if isinstance(given, list) else []

        if keyword in schema and not adjacent:
            sure.update(every)          # a nested unevaluated*: all that was left (11.2, 11.3)
        if keyword == "unevaluatedProperties":
            properties = schema.get("properties", {})
            if "additionalProperties" in schema:
                sure.update(every)      # each member: properties, patternProperties or this
            elif isinstance(properties, dict):
                sure.update(every & properties.keys())
            else:
                maybe.update(every)                     # malformed: no rule
            patterns = self._pattern_properties(schema)
            for name in every - sure:
                matched, unknown = self._matched_by(patterns or [], name)
                count(({name} if matched else set(), {name} if matched or unknown else set()))
            dependent = schema.get("dependentSchemas", {})
            if patterns is None or not isinstance(dependent, dict):
                maybe.update(every)                     # malformed: no rule
            for name in every & dependent.keys() if isinstance(dependent, dict) else ():
                count(inside(dependent[name]))
        else:
            count(self._evaluated_items(value, schema, depth, every))
        for branch in branches("allOf"):
            count(inside(branch))
        for branch in branches("anyOf") + branches("oneOf"):
            verdict = self.trial(value, branch, (), depth + 1)
            if verdict is not False:
                count(inside(branch), verdict is True)
        if "if" in schema:                              # then applies when if passes, else not
            verdict = self.trial(value, schema["if"], (), depth + 1)
            for part in ("if", "then") if verdict else ("else",) if verdict is False else (
                    "if", "then", "else"):
                if part in schema:
                    count(inside(schema[part]), verdict is not None)
        if "$ref" in schema:
            count(self._follow(schema["$ref"], value, inside))
        return sure, maybe | sure

    def _evaluated_items(self, value: Any, schema: Dict[str, Any], depth: int,
                         every: Set[Any]) -> Tuple[Set[Any], Set[Any]]:
        """The items ``schema``'s own keywords evaluate (surely, maybe): 2020-12's
        prefixItems, items and contains (the items it matches, section 11.2); 2019-09's items
        (an array: the first items; one schema: all) and additionalItems (the rest)."""
        if self.dialect == "2020-12":
            whole, prefix = "items" in schema, schema.get("prefixItems", [])
        else:
            prefix = schema.get("items", [])
            whole = "items" in schema and (not isinstance(prefix, list)
                                           or "additionalItems" in schema)
        if whole:
            return every, every
        if not isinstance(prefix, list):
            return set(), every                         # malformed: no rule
        sure, maybe = set(range(min(len(prefix), len(every)))), set()
        for index in every if "contains" in schema else ():
            verdict = self.trial(value[index], schema["contains"], (), depth + 1)
            # 2019-09's contains evaluates nothing (its section 9.3.1.3 names items and
            # additionalItems only); jsonschema counts its matches there: not known.
            if verdict is True and self.dialect == "2020-12":
                sure.add(index)
            if verdict is not False:
                maybe.add(index)
        return sure, maybe | sure

    # --- $ref: https://json-schema.org/draft/2020-12/json-schema-core#section-8.2.3.1 -------

    def _ref(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
             depth: int) -> bool:
        """Follow a ``$ref`` that is a JSON pointer into the root schema (``#``,
        ``#/$defs/x``). Another (an anchor, another document, a ref under a subschema with
        its own ``$id``) is not followed: not exact. A schema that refers to itself ends at
        MAX_DEPTH, or at once where it comes back to the same value: that loop would never
        end in a full validator either, and has no verdict."""
        return bool(self._follow(schema["$ref"], value,
                                 lambda target: self.check(value, target, path, depth + 1)))

    def _follow(self, ref: Any, value: Any, apply: Any) -> Any:
        """``apply(target)`` for the schema ``target`` that ``ref`` names (:meth:`_ref`,
        :meth:`_evaluated`), or None where it is not followed (see :meth:`_ref`)."""
        if isinstance(ref, str) and not self.step(len(ref)):
            return None                                 # reading it: a step a character
        target = None if self.rebased else _resolve(self.root, ref, self.id_keyword)
        if target is None:
            return None
        loop = (id(target[0]), id(value))
        if loop in self.following:
            return None
        self.following.add(loop)
        try:
            return apply(target[0])
        finally:
            self.following.discard(loop)

    def key(self, value: Any, depth: int) -> Any:
        """``value``'s JSON-equality key (``enum``, ``const``, ``uniqueItems``): two values
        are equal in JSON exactly when their keys are equal. 1 equals 1.0, true does not
        equal 1, an object's members are compared in any order
        (https://json-schema.org/draft/2020-12/json-schema-core#section-4.2.2). None when
        it cannot be had within the limits (too deep, out of steps), or for what JSON cannot
        carry (NaN, which equals nothing; a non-JSON type).

        Numbers are keyed by the digits of their value, never by the number itself: a
        peer's array of integers that all hash alike (multiples of 2**61 - 1) would make
        ``uniqueItems``' dict quadratic, where strings hash with a per-process secret."""
        if depth > MAX_DEPTH or not self.step():
            return None
        kind = _equality_type(value)
        if kind in ("string", "boolean", "null"):
            return (kind, value)
        if kind == "number":
            digits = _number_key(value)
            return None if digits is None else (kind, digits)
        if kind == "array":
            keys = []
            for item in value:
                keys.append(self.key(item, depth + 1))
                if keys[-1] is None:
                    return None
            return (kind, tuple(keys))
        if kind == "object":
            members = []
            for name, member in _with_json_names(value).items():
                members.append((name, self.key(member, depth + 1)))
                if members[-1][1] is None:
                    return None
            return (kind, frozenset(members))
        return None


#: The keywords the subset checks, each group by the method that checks it, in the order
#: the problems are listed. ``$ref`` comes first (:meth:`_Checker._keywords`).
_KEYWORDS = (
    (("type",), _Checker._type),
    (("enum",), _Checker._enum),
    (("const",), _Checker._const),
    (("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"), _Checker._bounds),
    (("multipleOf",), _Checker._multiple_of),
    (("minLength", "maxLength"), _Checker._length),
    (("pattern",), _Checker._pattern),
    (("minItems", "maxItems"), _Checker._item_count),
    (("uniqueItems",), _Checker._unique),
    (("minProperties", "maxProperties"), _Checker._property_count),
    (("required",), _Checker._required),
    (("properties", "patternProperties", "additionalProperties"), _Checker._properties),
    (("propertyNames",), _Checker._property_names),
    (("dependentRequired",), _Checker._dependent_required),
    (("dependentSchemas",), _Checker._dependent_schemas),
    (("dependencies",), _Checker._dependencies),
    (("prefixItems", "items", "additionalItems"), _Checker._items),
    (("contains",), _Checker._contains),
    (("allOf",), _Checker._all_of),
    (("anyOf",), _Checker._any_of),
    (("oneOf",), _Checker._one_of),
    (("not",), _Checker._not),
    (("if",), _Checker._if),
    (("unevaluatedProperties", "unevaluatedItems"), _Checker._unevaluated),   # last: section 11
)

#: Each keyword the subset checks, by the index of its method in :data:`_KEYWORDS`.
_CHECKED_BY = {keyword: index for index, (keywords, _) in enumerate(_KEYWORDS)
               for keyword in keywords}


def _in_dialect(keyword: str, dialect_name: str) -> bool:
    """Whether ``keyword`` is one of ``dialect_name``'s (:data:`_SINCE`, :data:`_UNTIL`)."""
    order = _DIALECT_ORDER.index(dialect_name)
    return (_DIALECT_ORDER.index(_SINCE.get(keyword, "draft-04")) <= order
            <= _DIALECT_ORDER.index(_UNTIL.get(keyword, "2020-12")))


#: By dialect, the keywords that leave a verdict inexact: those the subset does not check
#: (:data:`_UNCHECKED`) and those the dialect does not have, which a validator of it may
#: still apply (worked out once here: every schema a check meets is tested against it).
_UNKNOWABLE = {name: frozenset(_UNCHECKED) | {keyword for keyword in {**_SINCE, **_UNTIL}
                                              if not _in_dialect(keyword, name)}
               for name in _DIALECT_ORDER}


def _resolve(root: Any, ref: Any, id_keyword: str) -> Optional[Tuple[Any]]:
    """The schema a ``$ref`` names in ``root``, in a 1-tuple (None: not found, or not a JSON
    pointer into the root: https://datatracker.ietf.org/doc/html/rfc6901#section-6). A
    pointer through a subschema with its own ``$id`` is not followed either (it has
    another base URI)."""
    if not isinstance(ref, str) or not (ref == "#" or ref.startswith("#/")):
        return None
    from urllib.parse import unquote                # late: most schemas have no $ref
    target = root
    for token in unquote(ref[2:]).split("/") if ref != "#" else []:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(target, dict) and token in target:
            target = target[token]
        elif (isinstance(target, list) and token.isascii() and token.isdigit()
              and token == str(int(token)) and int(token) < len(target)):
            # ASCII digits only: "²" is a digit to isdigit(), and int() refuses it.
            target = target[int(token)]
        else:
            return None
        if isinstance(target, dict) and isinstance(target.get(id_keyword), str):
            return None
    return (target,)


def _exact_quotient(value: Any, divisor: Any) -> Any:
    """``value / divisor`` as an exact Fraction, each number read as the decimal JSON
    writes for it (so 0.3 is a multiple of 0.1), or None when that cannot be had."""
    from decimal import Decimal                     # late: only multipleOf needs them
    from fractions import Fraction
    try:
        exact = [Fraction(Decimal(repr(number)) if isinstance(number, float) else number)
                 for number in (value, divisor)]
        return exact[0] / exact[1]
    except (ArithmeticError, ValueError):             # inf, nan
        return None


def is_finite_number(value: Any) -> bool:
    """A number JSON can carry: an int at any size (``True`` is none, though Python says so)
    or a float that is neither inf nor NaN, which JSON lacks. ``math.isfinite`` is asked of
    floats only: it would turn a long int into a float, and overflow past 1e308."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return isinstance(value, int) or math.isfinite(value)


def _is_number(value: Any) -> bool:
    """A JSON number (JSON ``true`` is not one, though Python says so)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number_key(number: Any) -> Union[str, bytes, None]:
    """What keys a JSON number for equality: the same for numbers that are equal. An
    integer, or a float with no fraction (read as JSON writes it, :func:`_as_written`: 1e25
    is 10**25), is keyed by its two's-complement bytes (1, 1.0 and -0.0 give b"\\x01",
    b"\\x01" and b"\\x00"), at any size: writing a long integer's digits could take
    long, and Python 3.11 on refuses past 4 300 of them. Any other float
    by its repr (0.1 gives "0.1", the shortest text that reads back as that float): a str,
    so never equal to an integer's bytes. None for NaN, which equals nothing."""
    if isinstance(number, float):
        if number != number:
            return None                                 # NaN
        if not number.is_integer():
            return repr(number)                         # a fraction, or inf
        number = _as_written(number)                    # 1e25 is 10**25 (D-77)
    number = int(number)
    return number.to_bytes(number.bit_length() // 8 + 1, "big", signed=True)


#: From this magnitude on every float is an integer, and not every integer is a float.
_FLOAT_INTEGERS = 2.0 ** 53


def _as_written(number: Any) -> Any:
    """The JSON number ``number`` stands for on the wire: a float from 2**53 on (an integer)
    as the decimal ``json.dumps`` writes for it, its repr, read exactly (``1e25`` is
    written ``1e+25``: 10**25, where its binary value is 10000000000000000905969664).
    Anything else as it is: below 2**53 each integer is a float exactly, so the binary
    value and the decimal compare alike with every number. A peer compares the decimals
    ("the same mathematical value", JSON Schema core section 4.2.2), as multipleOf does
    here (:func:`_exact_quotient`; D-49, D-77)."""
    if not (isinstance(number, float) and _FLOAT_INTEGERS <= abs(number) < float("inf")):
        return number
    from decimal import Decimal                     # late: only such floats need it
    return int(Decimal(repr(number)))


def _non_negative(value: Any) -> Optional[int]:
    """A count keyword's value (``minItems``, ...): a non-negative integer, or None."""
    if _is_number(value) and value >= 0 and (isinstance(value, int) or value.is_integer()):
        return int(value)
    return None


def _schemas(count: int) -> str:
    return "1 schema" if count == 1 else f"{count} schemas"


def _equality_type(value: Any) -> str:
    """The JSON type by which ``enum`` and ``const`` compare: integers are numbers."""
    kind = _json_type(value)
    return "number" if kind == "integer" else kind


def _with_json_names(obj: Dict[Any, Any]) -> Dict[str, Any]:
    """``obj`` with each key as the member name JSON will carry. A handler's dict may have
    keys that are not strings, and ``json.dumps`` writes ``3``, ``2.5``, ``True``, ``None``
    as ``"3"``, ``"2.5"``, ``"true"``, ``"null"``: the peer, and a full validator, see those
    names, so the check must judge by them too (never a false problem, D-46)."""
    if all(isinstance(key, str) for key in obj):
        return obj                                      # nearly always: no copy
    return {_json_name(key): member for key, member in obj.items()}


def _json_name(key: Any) -> str:
    """The member name ``json.dumps`` writes for the key ``key`` (what it cannot write, it
    refuses to send: then any name will do)."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool) or key is None:
        return {True: "true", False: "false", None: "null"}[key]
    if isinstance(key, int):
        try:
            return int.__repr__(key)            # as json.dumps does (an IntEnum too)
        except ValueError:                      # past sys.get_int_max_str_digits()
            return "(too long to write)"
    if isinstance(key, float):
        return float.__repr__(key)
    return str(key)


def _path(path: Tuple[Any, ...]) -> str:
    """``.name`` and ``[index]`` after the root: ``.a.b[2]``, or ``['odd name']``."""
    return "".join(f"[{segment}]" if isinstance(segment, int)
                   else f".{segment}" if segment.isidentifier() and len(segment) <= 64
                   else f"[{_short(segment)}]" for segment in path)


def named(value: Any) -> str:
    """A value the peer sent, named in a message by its JSON type and a bounded repr of it
    (``an integer, 2``; ``an object, {'echo': {}}``): what arrived, where the schema wanted
    something else. JSON's null is named as such: it has no other value to show."""
    if value is None:
        return "null"
    kind = _json_type(value)
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}, {_short(value)}"


def _short(value: Any) -> str:
    """A repr for a message, bounded in length and depth (the value may be the peer's). An
    integer past ``sys.get_int_max_str_digits()`` digits, which Python refuses to write (a
    handler's or a programmer's: json reads none), is not quoted."""
    try:
        return quoted(value, as_repr=True)
    except ValueError:
        return f"{_json_type(value)} (too long to quote)"


def output_problems(result: Dict[str, Any], schema: Optional[Dict[str, Any]]) -> List[str]:
    """TL-09: how a CallToolResult breaks its tool's ``outputSchema`` (empty: it does not, or
    there is none). An ``isError`` result reports a failure, not structured output: never
    checked."""
    if schema is None or result.get("isError"):
        return []
    structured = result.get("structuredContent")
    if not isinstance(structured, dict):
        return ["structuredContent is missing or not an object"]
    return object_problems(structured, schema, "structuredContent")


#: JSON's types by their JSON Schema names ("integer" is a kind of "number").
_JSON_TYPES: Dict[str, Any] = {
    "string": str, "boolean": bool, "object": dict, "array": (list, tuple),
    "null": type(None), "number": (int, float), "integer": int,
}


def _is_json_type(value: Any, json_type: str, dialect_name: Optional[str]) -> bool:
    if isinstance(value, bool) and json_type in ("number", "integer"):
        return False                      # JSON true is not a number, though Python says so
    if json_type == "integer" and isinstance(value, float):
        # From draft-06 on, 1.0 is an integer, "any number with a zero fractional part"
        # (https://datatracker.ietf.org/doc/html/draft-wright-json-schema-01#section-4.2);
        # draft-04's is "a JSON number without a fraction or exponent part"
        # (https://datatracker.ietf.org/doc/html/draft-zyp-json-schema-04#section-3.5).
        return dialect_name != "draft-04" and value.is_integer()
    python_type = _JSON_TYPES.get(json_type)
    return python_type is None or isinstance(value, python_type)   # unknown name: no rule


def _json_type(value: Any) -> str:
    """The JSON type of ``value``, for a message: "integer" for a Python int, "number"
    for a float (1.0 included: it was written with a fraction)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    for name in ("number", "string", "null", "object", "array"):
        if isinstance(value, _JSON_TYPES[name]):
            return name
    return type(value).__name__
