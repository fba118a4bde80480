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

from typing import Any, Dict, List, Optional, Tuple

from . import spec
from .errors import LocalProtocolError, quoted


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

#: BP-34: a schema without ``$schema`` is JSON Schema 2020-12.
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
    (BP-34), with the standard library only:

    * ``type`` (``integer`` vs ``number``; JSON ``true`` is not a number), ``enum``, ``const``;
    * ``required``, ``properties``, ``additionalProperties`` (false or a schema);
    * ``prefixItems`` + ``items`` (2020-12), ``items`` + ``additionalItems`` (older);
    * the boolean schemas ``true`` and ``false`` (draft-06 on), at any depth.

    The subset only ever reports less than a full validator would, never a false problem:
    every other keyword (``$ref``, ``anyOf``, ``pattern``, ``minimum``, ...) is ignored, and a
    keyword is not checked where one we ignore could change its meaning (D-46). A schema in
    a dialect we do not support (:func:`dialect` is None) is not checked at all: empty list.
    A tool that needs more checks makes them in its handler.
    """
    checker = _Checker(dialect(schema))
    if checker.dialect is not None:
        checker.check(value, schema, (), 0)
    problems = [f"{where}{_path(path)}: {message}"
                for path, message in checker.problems[:MAX_PROBLEMS]]
    if len(checker.problems) > MAX_PROBLEMS:
        problems.append(f"{where}: more problems not listed (the check stops after "
                        f"{MAX_PROBLEMS})")
    return problems


class _Checker:
    """One check of one value: its dialect, the problems found and the steps left.

    The schema may be the peer's: what is not of the expected JSON type is ignored, never
    trusted to be, and nothing raises (D-45)."""

    def __init__(self, dialect_name: Optional[str]) -> None:
        self.dialect = dialect_name
        self.problems: List[Any] = []
        self.steps = MAX_STEPS

    def step(self) -> bool:
        """Spend one step; False once the check must stop (problems or steps used up)."""
        self.steps -= 1
        return self.steps > 0 and len(self.problems) <= MAX_PROBLEMS

    def report(self, path: Tuple[Any, ...], message: str) -> None:
        self.problems.append((path, message))

    def check(self, value: Any, schema: Any, path: Tuple[Any, ...], depth: int,
              because: Optional[str] = None) -> None:
        """``value`` (at ``path``) against ``schema``. ``because``: the message if the schema
        is ``false`` where every dialect allows a boolean (additionalProperties, ...)."""
        if depth > MAX_DEPTH or not self.step():
            return
        if isinstance(schema, bool):
            # Boolean schemas: ``false`` accepts nothing. Draft-04 had none, except as the
            # value of additionalProperties and additionalItems (``because`` is given there).
            if schema is False and (because is not None or self.dialect != "draft-04"):
                self.report(path, because or "not allowed here (the schema is false)")
            return
        if not isinstance(schema, dict):
            return                                      # malformed: no rule
        if depth > 0 and "$schema" in schema and dialect(schema) != self.dialect:
            return                                      # another dialect inside: not judged
        if "$ref" in schema and self.dialect in _REF_HIDES_SIBLINGS:
            return                                      # only $ref counts, and we do not follow it
        self._type(value, schema, path)
        self._enum_and_const(value, schema, path)
        if isinstance(value, dict):
            self._object(value, schema, path, depth)
        elif isinstance(value, (list, tuple)):
            self._array(value, schema, path, depth)

    def _type(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...]) -> None:
        expected = schema.get("type")
        types = [t for t in (expected if isinstance(expected, list) else [expected])
                 if isinstance(t, str)]
        if types and not any(_is_json_type(value, t, self.dialect) for t in types):
            self.report(path, f"expected {' or '.join(types)}, got {_json_type(value)}")

    def _enum_and_const(self, value: Any, schema: Dict[str, Any],
                        path: Tuple[Any, ...]) -> None:
        enum = schema.get("enum")
        if isinstance(enum, list):
            verdicts = []
            for allowed in enum:
                verdicts.append(self.equal(value, allowed, 0))
                if verdicts[-1]:
                    break
            if all(verdict is False for verdict in verdicts):   # None: could not compare
                self.report(path, f"expected one of {_short(enum)}")
        if "const" in schema and self.dialect != "draft-04":      # const: draft-06 on
            if self.equal(value, schema["const"], 0) is False:
                self.report(path, f"expected {_short(schema['const'])}")

    def _object(self, value: Dict[Any, Any], schema: Dict[str, Any], path: Tuple[Any, ...],
                depth: int) -> None:
        value = _with_json_names(value)
        for name in _list(schema.get("required")):
            if not self.step():
                return
            if isinstance(name, str) and name not in value:
                self.report(path, f"missing required property {_short(name)}")
        properties = schema.get("properties", {})
        # additionalProperties judges the members that neither properties nor
        # patternProperties names. Patterns are not run (a peer's could be made to backtrack
        # for ever), and a malformed properties names nothing we know: then it is not judged.
        judge_rest = ("additionalProperties" in schema and isinstance(properties, dict)
                      and not schema.get("patternProperties"))
        for name, member in value.items():
            if not self.step():
                return
            where = path + (name,)
            if isinstance(properties, dict) and name in properties:
                self.check(member, properties[name], where, depth + 1)
            elif judge_rest:
                self.check(member, schema["additionalProperties"], where, depth + 1,
                           "unexpected property (additionalProperties is false)")

    def _array(self, value: Any, schema: Dict[str, Any], path: Tuple[Any, ...],
               depth: int) -> None:
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
            return              # malformed: where the first items end is not known
        for index, item in enumerate(value):
            if (index >= len(prefix) and rest is True) or not self.step():
                return
            if index < len(prefix):
                self.check(item, prefix[index], path + (index,), depth + 1)
            else:
                self.check(item, rest, path + (index,), depth + 1, because)

    def equal(self, a: Any, b: Any, depth: int) -> Optional[bool]:
        """JSON equality (``enum``, ``const``): 1 equals 1.0, true does not equal 1. None
        when it cannot be told within the limits (too deep, out of steps)."""
        if depth > MAX_DEPTH or not self.step():
            return None
        if _equality_type(a) != _equality_type(b):
            return False
        if isinstance(a, dict):
            a, b = _with_json_names(a), _with_json_names(b)
            if a.keys() != b.keys():
                return False
            pairs = [(a[key], b[key]) for key in a]
        elif isinstance(a, (list, tuple)):
            if len(a) != len(b):
                return False
            pairs = list(zip(a, b))
        else:
            return bool(a == b)
        verdict: Optional[bool] = True
        for x, y in pairs:
            same = self.equal(x, y, depth + 1)
            if same is False:
                return False
            if same is None:
                verdict = None
        return verdict


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
        return int.__repr__(key)                # as json.dumps does (an IntEnum too)
    if isinstance(key, float):
        return float.__repr__(key)
    return str(key)


def _path(path: Tuple[Any, ...]) -> str:
    """``.name`` and ``[index]`` after the root: ``.a.b[2]``, or ``['odd name']``."""
    return "".join(f"[{segment}]" if isinstance(segment, int)
                   else f".{segment}" if segment.isidentifier() and len(segment) <= 64
                   else f"[{_short(segment)}]" for segment in path)


def _short(value: Any) -> str:
    """A repr for a message, bounded in length and depth (the value may be the peer's)."""
    return quoted(value, as_repr=True)


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


def _list(value: Any) -> List[Any]:
    return value if isinstance(value, list) else []


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
