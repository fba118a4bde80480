"""The reference server behind ``python3 -m mcp_ref serve``.

Outside checks rely on these tool names, so they are stable:

=============  ==================================================================
``echo``       ``{text}``: the text back, unchanged
``add``        ``{a, b}``: the sum, as text
``slow``       ``{seconds, steps}``: sleeps in steps, reporting progress after each
               (when the call carries a progressToken; steps closer together than
               ``--progress-interval`` are not all sent, PR-12); stops at once when cancelled
``fail``       ``{message}``: an ``isError: true`` result with that message
``roots``      asks the client for its roots (``roots/list``)
``sample``     asks the client to sample an LLM (``sampling/createMessage``)
``elicit``     asks the client for user input (``elicitation/create``)
``ping_client`` pings the client and reports the round trip
``log``        ``{level, message}``: sends a ``notifications/message``
=============  ==================================================================

plus the resource ``mcp-ref://about`` and the prompts ``greet`` and ``explain_phase``.
"""

from __future__ import annotations

import json
import time

from . import __version__, spec
from .errors import CapabilityNotNegotiated, McpRefError
from .server import Context, Server, ToolError

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    from typing import Any, Dict, List


def _schema(properties: Dict[str, Any], required: List[str]) -> Dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


def build_server(**options: Any) -> Server:
    """The reference server; ``options`` go to :class:`Server` (``serve --keepalive``,
    ``--progress-interval``)."""
    server = Server("mcp_ref-reference", version=__version__, title="mcp_ref reference server",
                    instructions="A reference MCP server for testing clients: echo, add, slow "
                                 "(progress, cancellation) and fail (tool errors).", **options)

    # echo and add only compute: they run on the reader thread, with no hand-off (D-70).
    @server.tool(description="Return the text unchanged.", title="Echo",
                 annotations={"readOnlyHint": True, "idempotentHint": True},
                 input_schema=_schema({"text": {"type": "string"}}, ["text"]), inline=True)
    def echo(arguments: Dict[str, Any], context: Context) -> str:
        return arguments["text"]

    @server.tool(description="Add two numbers.",
                 input_schema=_schema({"a": {"type": "number"}, "b": {"type": "number"}},
                                      ["a", "b"]), inline=True)
    def add(arguments: Dict[str, Any], context: Context) -> str:
        return repr(arguments["a"] + arguments["b"])

    @server.tool(description="Sleep `seconds` in `steps` slices, reporting progress after "
                             "each; stops promptly when cancelled.",
                 input_schema=_schema({"seconds": {"type": "number"},
                                       "steps": {"type": "integer"}}, []))
    def slow(arguments: Dict[str, Any], context: Context) -> str:
        seconds = float(arguments.get("seconds", 5.0))
        steps = max(1, int(arguments.get("steps", 10)))
        for step in range(1, steps + 1):
            if context.wait_cancelled(seconds / steps):
                return f"cancelled after {step - 1} of {steps} steps"   # never sent (CN-05)
            context.progress(step, total=steps, message=f"step {step}/{steps}")
        return f"slept {seconds:g} s in {steps} steps"

    @server.tool(description="Fail with the given message, as a tool execution error.",
                 input_schema=_schema({"message": {"type": "string"}}, []))
    def fail(arguments: Dict[str, Any], context: Context) -> str:
        raise ToolError(arguments.get("message", "this tool always fails"))

    @server.tool(description="Ask the client for its filesystem roots (roots/list).")
    def roots(arguments: Dict[str, Any], context: Context) -> str:
        return _ask(context, spec.ROOTS_LIST, None)

    @server.tool(description="Ask the client to sample its LLM (sampling/createMessage).",
                 input_schema=_schema({"prompt": {"type": "string"}}, ["prompt"]))
    def sample(arguments: Dict[str, Any], context: Context) -> str:
        params = {"messages": [{"role": "user", "content": {"type": "text",
                                                            "text": arguments["prompt"]}}],
                  "maxTokens": 100}
        return _ask(context, spec.SAMPLING_CREATE_MESSAGE, params)

    @server.tool(description="Ask the client's user a question (elicitation/create).",
                 input_schema=_schema({"message": {"type": "string"}}, ["message"]))
    def elicit(arguments: Dict[str, Any], context: Context) -> str:
        params = {"message": arguments["message"],
                  "requestedSchema": {"type": "object",
                                      "properties": {"answer": {"type": "string"}}}}
        return _ask(context, spec.ELICITATION_CREATE, params)

    @server.tool(name="ping_client", description="Ping the client and report the round trip.")
    def ping_client(arguments: Dict[str, Any], context: Context) -> str:
        started = time.monotonic()
        context.request(spec.PING, timeout=10.0)
        return f"client answered ping in {(time.monotonic() - started) * 1000:.1f} ms"

    @server.tool(name="log", description="Send a log message to the client.",
                 input_schema=_schema({"level": {"type": "string", "enum": list(spec.LOG_LEVELS)},
                                       "message": {"type": "string"}}, ["level", "message"]))
    def log_tool(arguments: Dict[str, Any], context: Context) -> str:
        context.log(arguments["level"], arguments["message"], logger="reference")
        return "logged"

    @server.resource("mcp-ref://about", name="about", description="What this server is.",
                     mime_type="text/markdown")
    def about(context: Context) -> str:
        return (f"# mcp_ref reference server\n\nmcp_ref {__version__}, MCP revision "
                f"{spec.PROTOCOL_VERSION}. Spec: {spec.SPEC_BASE}\n")

    @server.prompt(description="Greet someone by name.",
                   arguments=[{"name": "name", "description": "Who to greet", "required": True}])
    def greet(arguments: Dict[str, Any], context: Context) -> str:
        return f"Please greet {arguments['name']} warmly."

    @server.prompt(name="explain_phase", description="Ask for an explanation of one lifecycle "
                                                    "phase.",
                   arguments=[{"name": "phase", "description": "initialization, operation or "
                                                               "shutdown", "required": False}])
    def explain_phase(arguments: Dict[str, Any], context: Context) -> str:
        phase = arguments.get("phase", "initialization")
        return f"Explain the {phase} phase of the MCP lifecycle ({spec.spec_url('basic/lifecycle')})."

    return server


def _ask(context: Context, method: str, params: Any) -> str:
    """Send a request to the client and render its answer as text for the tool result."""
    try:
        result = context.request(method, params, timeout=30.0)
    except CapabilityNotNegotiated as exc:
        raise ToolError(f"the client cannot answer {method}: {exc}") from None
    except McpRefError as exc:
        raise ToolError(f"{method} failed: {exc}") from None
    return json.dumps(result, ensure_ascii=False, sort_keys=True)
