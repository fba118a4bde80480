"""The protocol's vocabulary: versions, method names, what each revision added, spec links.

No logic lives here (:mod:`mcp_ref.shapes` applies the revision tables).

mcp_ref is pinned to MCP revision 2025-11-25, the newest revision that still has the
``initialize`` handshake and ``ping``. Every spec link in the package is built from
:data:`SPEC_BASE`, so the revision is named in exactly one place.

Catalogue IDs (LC-xx, BP-xx, ...) refer to ``shared/spec/catalogue.md``; the table in
``spec_notes/requirements.md`` maps each ID to the code and tests that carry it out.
"""

from __future__ import annotations

#: The revision this implementation follows line by line.
PROTOCOL_VERSION = "2025-11-25"

#: Every revision mcp_ref can negotiate, newest first (LC-08/LC-09: a client offers its newest;
#: LC-12: a server counter-offers its newest). Versions are ISO dates, so newest first is
#: simply reverse lexicographic order.
SUPPORTED_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")

#: The single revision in which one stdio line may carry a JSON-RPC batch (BP-16).
BATCH_VERSION = "2025-03-26"

SPEC_BASE = "https://modelcontextprotocol.io/specification/" + PROTOCOL_VERSION


def spec_url(page: str, anchor: str = "") -> str:
    """A versioned deep link, e.g. ``spec_url("basic/lifecycle", "initialization")``."""
    return SPEC_BASE + "/" + page + ("#" + anchor if anchor else "")


# --- Method names, exactly as the spec spells them (catalogue section 1.1) -------------------

INITIALIZE = "initialize"
INITIALIZED = "notifications/initialized"
PING = "ping"
CANCELLED = "notifications/cancelled"
PROGRESS = "notifications/progress"
LOG_MESSAGE = "notifications/message"
SET_LOGGING_LEVEL = "logging/setLevel"

TOOLS_LIST = "tools/list"
TOOLS_CALL = "tools/call"
TOOLS_LIST_CHANGED = "notifications/tools/list_changed"
RESOURCES_LIST = "resources/list"
RESOURCES_TEMPLATES_LIST = "resources/templates/list"
RESOURCES_READ = "resources/read"
RESOURCES_SUBSCRIBE = "resources/subscribe"
RESOURCES_UNSUBSCRIBE = "resources/unsubscribe"
PROMPTS_LIST = "prompts/list"
PROMPTS_GET = "prompts/get"
COMPLETION_COMPLETE = "completion/complete"

ROOTS_LIST = "roots/list"
SAMPLING_CREATE_MESSAGE = "sampling/createMessage"
ELICITATION_CREATE = "elicitation/create"
ELICITATION_COMPLETE = "notifications/elicitation/complete"

# 2025-11-25's experimental tasks (basic/utilities/tasks): requests and a notification either
# side may send, to a peer that declared the ``tasks`` capability. mcp_ref implements no tasks
# and declares none, so it answers these requests -32601 (ER-01); the names are here so that
# each is sent only as its kind, and only in 2025-11-25 (D-85).
TASKS_GET = "tasks/get"
TASKS_RESULT = "tasks/result"
TASKS_LIST = "tasks/list"
TASKS_CANCEL = "tasks/cancel"
TASKS_STATUS = "notifications/tasks/status"
TASK_REQUESTS = frozenset({TASKS_GET, TASKS_RESULT, TASKS_LIST, TASKS_CANCEL})

#: Requests a client sends to a server, mapped to the server capability that must have been
#: declared for them (None: always available); "a.b" names sub-capability b of capability a,
#: which must be true. LC-16: use only negotiated capabilities; LC-17: sub-capabilities gate
#: optional features. A method behind an undeclared capability is answered -32601, as
#: 2025-11-25 says for roots ("Client does not support roots") and completions ("Capability
#: not supported"), and 2026-07-28's schema for every server capability (ER-11).
CLIENT_REQUESTS = {
    INITIALIZE: None,
    PING: None,
    SET_LOGGING_LEVEL: "logging",
    TOOLS_LIST: "tools",
    TOOLS_CALL: "tools",
    RESOURCES_LIST: "resources",
    RESOURCES_TEMPLATES_LIST: "resources",
    RESOURCES_READ: "resources",
    RESOURCES_SUBSCRIBE: "resources.subscribe",
    RESOURCES_UNSUBSCRIBE: "resources.subscribe",
    PROMPTS_LIST: "prompts",
    PROMPTS_GET: "prompts",
    COMPLETION_COMPLETE: "completions",
}

#: Requests a server sends to a client, mapped to the client capability they need.
SERVER_REQUESTS = {
    PING: None,
    ROOTS_LIST: "roots",
    SAMPLING_CREATE_MESSAGE: "sampling",
    ELICITATION_CREATE: "elicitation",
}

#: Requests and notifications that arrived after the oldest revision we speak, with the
#: revision that added them (catalogue section 1.1). In an older session the method does not
#: exist: we never send it (LC-15); a request for it is answered as an unknown method, -32601
#: (ER-01), and a notification is delivered but reported (decision D-35).
METHOD_SINCE = {
    ELICITATION_CREATE: "2025-06-18",
    ELICITATION_COMPLETE: "2025-11-25",
    TASKS_GET: "2025-11-25",
    TASKS_RESULT: "2025-11-25",
    TASKS_LIST: "2025-11-25",
    TASKS_CANCEL: "2025-11-25",
    TASKS_STATUS: "2025-11-25",
}

#: Capabilities that arrived after the oldest revision we speak (catalogue section 1.2). Before
#: its revision a capability gates nothing: 2024-11-05 already has ``completion/complete`` but
#: not yet the ``completions`` capability, so in that revision the request is ungated (D-35).
CAPABILITY_SINCE = {
    "completions": "2025-03-26",
    "elicitation": "2025-06-18",
    "tasks": "2025-11-25",
}

#: Content block types that arrived after the oldest revision we speak, with the revision that
#: added each (the schemas' ``ContentBlock`` and sampling content unions; catalogue section 4).
#: An older session's schema has no such block, nor anything to turn it into, so we refuse to
#: send one there (LC-15; decision D-41).
CONTENT_SINCE = {
    "audio": "2025-03-26",
    "resource_link": "2025-06-18",
    "tool_use": "2025-11-25",
    "tool_result": "2025-11-25",
}

#: The content block types each place holds (the schemas' unions): tool results and prompt
#: messages hold a ``ContentBlock``; a sampling result holds sampling content. A block of
#: another type is invalid there in every revision (D-41).
RESULT_BLOCK_TYPES = ("text", "image", "audio", "resource_link", "resource")
SAMPLING_BLOCK_TYPES = ("text", "image", "audio", "tool_use", "tool_result")

#: Members that later revisions added to the objects mcp_ref builds from its user's data, by
#: the schema's name for the object, with the revision that added each. An older session does
#: not see them (LC-15; decision D-41). Members every revision has are not listed.
MEMBERS_SINCE = {
    "Tool": {"annotations": "2025-03-26", "_meta": "2025-06-18", "title": "2025-06-18",
             "outputSchema": "2025-06-18", "icons": "2025-11-25", "execution": "2025-11-25"},
    # Resources had annotations from the start (2024-11-05); tools gained theirs in 2025-03-26.
    "Resource": {"_meta": "2025-06-18", "title": "2025-06-18", "icons": "2025-11-25"},
    "ResourceTemplate": {"_meta": "2025-06-18", "title": "2025-06-18", "icons": "2025-11-25"},
    "Prompt": {"_meta": "2025-06-18", "title": "2025-06-18", "icons": "2025-11-25"},
    "PromptArgument": {"title": "2025-06-18"},
    "CallToolResult": {"structuredContent": "2025-06-18"},
    # Every content block, and the resource contents inside an embedded resource. Of the
    # blocks, only resource_link has icons (2025-11-25; it arrived in 2025-06-18 without).
    "Content": {"_meta": "2025-06-18", "icons": "2025-11-25"},
    "Annotations": {"lastModified": "2025-06-18"},
    "Root": {"_meta": "2025-06-18"},
}

#: The revision in which elicitation gained its two modes, ``form`` and ``url``, declared as
#: sub-objects of the client's ``elicitation`` capability (an empty object means form only).
ELICITATION_MODES_VERSION = "2025-11-25"

#: The revision in which an elicited value may be a list of strings (a multi-select field);
#: before it, each value is a string, a number or a boolean.
ELICITATION_LIST_VALUES_VERSION = "2025-11-25"

#: The revision in which a sampling result's ``content`` may be a list of blocks (sampling
#: with tools); before it, the content is exactly one block.
SAMPLING_CONTENT_LIST_VERSION = "2025-11-25"

#: Sampling with tools (2025-11-25 client/sampling § Tools in Sampling): the params of
#: ``sampling/createMessage`` that offer the model tools, and the revision that added them,
#: with the client's ``sampling.tools`` capability that a server needs before sending them.
SAMPLING_TOOLS_VERSION = "2025-11-25"
SAMPLING_TOOL_PARAMS = ("tools", "toolChoice")

#: Members that later revisions added inside a capability, with the revision that added each:
#: the elicitation modes (D-36) and sampling's ``context`` and ``tools`` (D-95). An older
#: handshake does not declare them (LC-15); ``elicitation: {}`` still means form mode.
CAPABILITY_MEMBERS_SINCE = {
    "elicitation": {"form": ELICITATION_MODES_VERSION, "url": ELICITATION_MODES_VERSION},
    "sampling": {"context": SAMPLING_TOOLS_VERSION, "tools": SAMPLING_TOOLS_VERSION},
}

#: Notifications that need a capability of their *sender* (LC-16 (c), LG-01), named as above.
NOTIFICATION_CAPABILITY = {
    LOG_MESSAGE: "logging",
    "notifications/tools/list_changed": "tools.listChanged",
    "notifications/resources/list_changed": "resources.listChanged",
    "notifications/resources/updated": "resources.subscribe",
    "notifications/prompts/list_changed": "prompts.listChanged",
    "notifications/roots/list_changed": "roots.listChanged",
}

#: Notifications only one side sends (catalogue section 1.1), by the side that does; the
#: others (cancelled, progress, tasks/status) go both ways. The other side never sends one of
#: these.
NOTIFICATION_SENDER = {
    INITIALIZED: "client",
    "notifications/roots/list_changed": "client",
    LOG_MESSAGE: "server",
    TOOLS_LIST_CHANGED: "server",
    "notifications/resources/list_changed": "server",
    "notifications/resources/updated": "server",
    "notifications/prompts/list_changed": "server",
    ELICITATION_COMPLETE: "server",
}

#: Every request and every notification the spec names, whichever side sends it. A method
#: of one kind sent as the other (``{"id": 1, "method": "notifications/progress"}``,
#: ``{"method": "ping"}``) matches no definition of the schema: no valid message (BP-01,
#: D-82). Methods the spec does not name may be either, as extensions.
REQUESTS = frozenset(CLIENT_REQUESTS) | frozenset(SERVER_REQUESTS) | TASK_REQUESTS
NOTIFICATIONS = frozenset(NOTIFICATION_SENDER) | {CANCELLED, PROGRESS, TASKS_STATUS}

#: The params members each method's schema requires, in every revision that has the method
#: (``elicitation/create``: its form mode, the only one before 2025-11-25). Without them a
#: frame is none of that method's requests or notifications, so mcp_ref never sends one (BP-01,
#: D-85), and refuses one it receives: a request -32602, a notification reported and not
#: processed (D-98). What the members hold is the receiver's to judge (-32602), or a typed
#: helper's. A cancel's ``requestId`` is absent: 2025-11-25 made it optional, and a cancel
#: without one is ignored silently in every revision (CN-10).
#: ``tests/test_schema.py`` checks this table against the four schema files.
REQUIRED_PARAMS = {
    INITIALIZE: ("protocolVersion", "capabilities", "clientInfo"),
    TOOLS_CALL: ("name",),
    RESOURCES_READ: ("uri",),
    RESOURCES_SUBSCRIBE: ("uri",),
    RESOURCES_UNSUBSCRIBE: ("uri",),
    PROMPTS_GET: ("name",),
    COMPLETION_COMPLETE: ("ref", "argument"),
    SET_LOGGING_LEVEL: ("level",),
    SAMPLING_CREATE_MESSAGE: ("messages", "maxTokens"),
    ELICITATION_CREATE: ("message", "requestedSchema"),
    TASKS_GET: ("taskId",),
    TASKS_RESULT: ("taskId",),
    TASKS_CANCEL: ("taskId",),
    PROGRESS: ("progressToken", "progress"),
    LOG_MESSAGE: ("level", "data"),
    "notifications/resources/updated": ("uri",),
    ELICITATION_COMPLETE: ("elicitationId",),
    TASKS_STATUS: ("taskId", "status", "createdAt", "lastUpdatedAt", "ttl"),
}

#: What 2025-11-25's url-mode elicitation (``"mode": "url"``) requires instead of the form's
#: ``requestedSchema`` (ElicitRequestURLParams; D-36, D-85).
URL_ELICITATION_REQUIRED_PARAMS = ("message", "mode", "url", "elicitationId")

#: Log levels of ``logging/setLevel`` and ``notifications/message``, least to most severe
#: (LG-03: the RFC 5424 syslog levels).
LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
