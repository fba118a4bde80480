"""The floor's child: the least a Python stdio peer can do per message.

readline -> json.loads -> json.dumps -> write -> flush, one line at a time, until EOF. A
``tools/call`` gets a CallToolResult-shaped answer with the ``text`` argument echoed back;
anything else with an id gets ``{"result": {}}`` (a ping's answer). Standard library only.
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
        if msg.get("method") == "tools/call":
            text = msg["params"]["arguments"]["text"]
            out = {"jsonrpc": "2.0", "id": msg["id"],
                   "result": {"content": [{"type": "text", "text": text}], "isError": False}}
        else:
            out = {"jsonrpc": "2.0", "id": msg["id"], "result": {}}
        write((json.dumps(out, separators=(",", ":")) + "\n").encode())
        flush()


if __name__ == "__main__":
    main()
