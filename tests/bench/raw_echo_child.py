"""The floor's child: the least a Python stdio peer can do per message.

readline -> json.loads -> json.dumps -> write -> flush, one line at a time, until EOF. A
``tools/call`` gets a CallToolResult-shaped answer with the ``text`` argument echoed back;
anything else with an id gets ``{"result": {}}`` (a ping's answer), except ``initialize``,
answered just well enough for an MCP client to start a session (the requested protocol version,
the tools capability); a notification gets nothing. Nothing is validated. Standard library only.

The floor drivers send only pings and ``tools/call``; the ``initialize`` answer is for
split_driver.py, where mcp_ref's client drives this child. A ping pays two string comparisons
and a dict lookup for it, tens of nanoseconds against a round trip of tens of microseconds.
"""

import json
import sys


def main() -> None:
    read = sys.stdin.buffer.readline
    write = sys.stdout.buffer.write
    flush = sys.stdout.buffer.flush
    while True:
        line = read()
        if not line:
            break
        msg = json.loads(line)
        method = msg.get("method")
        if method == "tools/call":
            text = msg["params"]["arguments"]["text"]
            result = {"content": [{"type": "text", "text": text}], "isError": False}
        elif "id" not in msg:
            continue                          # a notification: nothing to answer
        elif method == "initialize":
            result = {"protocolVersion": msg["params"]["protocolVersion"],
                      "capabilities": {"tools": {}},
                      "serverInfo": {"name": "raw_echo_child", "version": "0"}}
        else:
            result = {}
        out = {"jsonrpc": "2.0", "id": msg["id"], "result": result}
        write((json.dumps(out, separators=(",", ":")) + "\n").encode())
        flush()


if __name__ == "__main__":
    main()
