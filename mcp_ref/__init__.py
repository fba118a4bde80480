"""mcp_ref: a reference implementation of the Model Context Protocol lifecycle over stdio.

Pinned to MCP revision 2025-11-25 (https://modelcontextprotocol.io/specification/2025-11-25);
also negotiates 2025-06-18, 2025-03-26 and 2024-11-05. Standard library only, Python 3.9+.

Reading order (each module is written to be read with the spec open beside it):

  The sans-I/O core -- no I/O, no threads, no clock:
    spec.py        versions, method names, spec links
    errors.py      error codes and exception types
    jsonrpc.py     the four JSON-RPC message shapes
    framing.py     newline-delimited JSON on stdio
    lifecycle.py   THE state machine: one transition table
    events.py      what the core reports upward
    connection.py  one end of a session: bytes in, events out
    shapes.py      results fitted to the negotiated revision; the JSON Schema subset

  The blocking shell -- threads, pipes, processes:
    stdio.py       the only module touching fds and processes
    session.py     requests with deadlines and one writer, shared by both peers
    client.py      Client: spawn a server, handshake, requests with deadlines
    server.py      Server: tools, resources, prompts on a worker pool
"""

from __future__ import annotations

from .errors import (CapabilityNotNegotiated, ConnectionClosed, ErrorCode, LocalProtocolError,
                     McpRefError, MessageTooLarge, NotJson, PeerError, ProtocolError,
                     RemoteProtocolError, RequestCancelled, RequestTimeout, SpawnError,
                     UnsupportedProtocolVersion)
from .spec import PROTOCOL_VERSION, SUPPORTED_VERSIONS

__version__ = "0.1.0"

__all__ = [
    "PROTOCOL_VERSION", "SUPPORTED_VERSIONS",
    # Every error a user of the client or server can meet (D-91); ToolError and RequestError,
    # raised by a server's handlers, are in mcp_ref.server.
    "CapabilityNotNegotiated", "ConnectionClosed", "ErrorCode", "LocalProtocolError",
    "McpRefError", "MessageTooLarge", "NotJson", "PeerError", "ProtocolError",
    "RemoteProtocolError", "RequestCancelled", "RequestTimeout", "SpawnError",
    "UnsupportedProtocolVersion",
]
