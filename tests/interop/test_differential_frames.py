"""The same raw frames to ``mcp_ref serve`` and to an official server, answers compared (D-87).

The core of the differential review in ``spec_notes/differential.md``: one scripted session of
odd but plausible input (malformed JSON, invalid envelopes and ids, params and ``_meta`` the
schema refuses, tool calls a server must refuse, a batch where batches do not exist), written
byte for byte to mcp_ref's server and to each official peer. Only mcp_ref's answers are
asserted, row by row against the spec; the peer's answers are printed beside them (run with
``-s``, or read them in a failure) as evidence for testers, never asserted: where an SDK
differs it is usually the SDK that is wrong (the table says which), and a test must not pin
an SDK's bug. Of the peer, the test asks only that it still answers a ping at the end, so
that a broken harness cannot pass for a difference.
"""

import json
import os
import queue
import subprocess
import threading
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest

from interop_kit import ROOT, SERVE

pytestmark = pytest.mark.interop

NULL = "null"       # the key of answers whose id is null (D-04): several may share it


def _line(message: Any) -> bytes:
    return json.dumps(message).encode() + b"\n"


def _request(request_id: Any, method: str, params: Any = "absent", **extra: Any) -> bytes:
    message = {"jsonrpc": "2.0", "id": request_id, "method": method, **extra}
    if params != "absent":
        message["params"] = params
    return _line(message)


def _initialize(request_id: Any, version: str) -> bytes:
    return _request(request_id, "initialize", {
        "protocolVersion": version, "capabilities": {},
        "clientInfo": {"name": "differential", "version": "0"}})


INITIALIZED = _line({"jsonrpc": "2.0", "method": "notifications/initialized"})


def _echo(request_id: Any, meta: Any = "absent", arguments: Any = None) -> bytes:
    params: Dict[str, Any] = {"name": "echo", "arguments": {"text": "a"} if arguments is None
                              else arguments}
    if meta != "absent":
        params["_meta"] = meta
    return _request(request_id, "tools/call", params)


BIG_ID = 2 ** 63
LAST = 99           # the closing ping: once it is answered, everything before it was read

#: (frame, the id its answer carries or None for no answer, what mcp_ref answers), in order.
#: What mcp_ref answers: an error code, "result", or "isError" (a tool result with isError).
#: A frame with no entry of its own (None, None) is answered under another row's id.
SCRIPT_2025_11_25: List[Tuple[bytes, Any, Any]] = [
    # BP-01, PR-02, TL-11 (D-87): params whose _meta the schema refuses are -32602
    (_echo(10, meta=5), 10, -32602),
    (_echo(11, meta={"progressToken": 1.5}), 11, -32602),
    (_request(12, "ping", {"_meta": {"progressToken": None}}), 12, -32602),
    (_echo(13, meta={"progressToken": "ok", "com.example/x": 1}), 13, "result"),
    # ER-02: an unknown tool is a protocol error; TL-11: params not CallToolRequest's too
    (_request(14, "tools/call", {"name": "no_such_tool", "arguments": {}}), 14, -32602),
    (_echo(15, arguments=[]), 15, -32602),
    # ER-03 (2025-11-25): arguments breaking the inputSchema are an execution error (D-14)
    (_echo(16, arguments={"text": 5}), 16, "isError"),
    # ER-12: an invalid cursor
    (_request(17, "tools/list", {"cursor": "bogus"}), 17, -32602),
    # BP-01, ER-01, D-04: what is not a valid request, answered with the id when readable
    (b'{"jsonrpc":"2.0","id":\n', NULL, -32700),
    (_line({"id": 18, "method": "ping"}), 18, -32600),
    (b"42\n", NULL, -32600),
    (_request(1.5, "ping"), NULL, -32600),                        # BP-03
    (_request(19, "ping", []), 19, -32602),                       # ER-01: not MCP's object
    (_request(20, "ping", "x"), 20, -32600),                      # JSON-RPC: not structured
    (_request(21, "no/such/method"), 21, -32601),                 # ER-01
    (_request(22, "ping", extra=1), 22, "result"),                # other members are allowed
    (_request(BIG_ID, "ping"), BIG_ID, "result"),                 # BP-03, BP-07: exactly
    (_line({"jsonrpc": "2.0", "method": "notifications/no_such"}), None, None),      # BP-13
    (_line({"jsonrpc": "2.0", "method": "notifications/cancelled",                   # CN-10
            "params": {"requestId": 12345}}), None, None),
    (_initialize(23, "2025-11-25"), 23, -32600),                  # LC-02: only once
    (_line([{"jsonrpc": "2.0", "id": 24, "method": "ping"}]), NULL, -32600),       # LC-15
    (_request(LAST, "ping"), LAST, "result"),
]

#: 2025-03-26, the one revision with batches (BP-16): each member answered (D-06).
SCRIPT_2025_03_26: List[Tuple[bytes, Any, Any]] = [
    (_line([{"jsonrpc": "2.0", "id": 30, "method": "ping"},
            {"jsonrpc": "2.0", "id": 31, "method": "no/such/method"},
            {"jsonrpc": "2.0", "method": "notifications/no_such"}]), 30, "result"),
    (b"", 31, -32601),                                  # no frame: the batch's second member
    (b"[]\n", NULL, -32600),                            # an empty batch (D-06)
    (_request(LAST, "ping"), LAST, "result"),
]

SCRIPTS = {"2025-11-25": SCRIPT_2025_11_25, "2025-03-26": SCRIPT_2025_03_26}


def _run(argv: Sequence[str], env: Dict[str, str], version: str,
         timeout: float = 30.0) -> List[Dict[str, Any]]:
    """Write the script to a fresh server, wait for the closing ping's answer, close stdin,
    and return every JSON object the server wrote (arrays flattened), in order."""
    merged = dict(os.environ, **env)
    process = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, env=merged, cwd=ROOT)
    lines: "queue.Queue[Optional[bytes]]" = queue.Queue()

    def read() -> None:
        for raw in process.stdout:
            lines.put(raw)
        lines.put(None)
    threading.Thread(target=read, daemon=True).start()

    out: List[Dict[str, Any]] = []
    deadline = time.monotonic() + timeout

    def collect_until(done) -> None:
        while not done():
            try:
                raw = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return
            if raw is None:
                return
            try:
                value = json.loads(raw)
            except ValueError:
                out.append({"unparseable": raw[:200].decode(errors="replace")})
                continue
            out.extend(value if isinstance(value, list) else [value])

    def answered(request_id: Any) -> bool:
        return any(_same(m.get("id"), request_id) and "method" not in m for m in out)

    try:
        process.stdin.write(_initialize(1, version))
        process.stdin.flush()
        collect_until(lambda: answered(1))
        process.stdin.write(INITIALIZED + b"".join(frame for frame, _, _ in SCRIPTS[version]))
        process.stdin.flush()
        collect_until(lambda: answered(LAST))
        process.stdin.close()
        collect_until(lambda: False)                  # to EOF, within the same deadline
    finally:
        if process.poll() is None:
            try:
                process.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
    return out


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _answers(out: List[Dict[str, Any]], key: Any) -> List[Dict[str, Any]]:
    """The responses carrying ``key`` as id (NULL: a null or absent id)."""
    responses = [m for m in out if isinstance(m, dict) and "method" not in m]
    if key == NULL:
        return [m for m in responses if m.get("id") is None]
    return [m for m in responses if _same(m.get("id"), key)]


def _what(answer: Dict[str, Any]) -> Any:
    if "error" in answer:
        return answer["error"].get("code")
    result = answer.get("result")
    return "isError" if isinstance(result, dict) and result.get("isError") else "result"


def _summary(out: List[Dict[str, Any]], key: Any) -> str:
    found = [_what(a) for a in _answers(out, key)]
    return ", ".join(map(str, found)) or "silent"


@pytest.fixture(params=["py-sdk", "ts-sdk", "everything"])
def peer(request, peer_scripts) -> Tuple[str, List[str], Dict[str, str]]:
    if request.param == "py-sdk":
        python = request.getfixturevalue("py_sdk_python")
        return request.param, [python, os.path.join(peer_scripts, "py_sdk_server.py")], {}
    if request.param == "ts-sdk":
        node = request.getfixturevalue("node")
        modules = request.getfixturevalue("node_modules")
        return (request.param, [node, os.path.join(peer_scripts, "ts_sdk_server.mjs")],
                {"MCP_PEERS_NODE_MODULES": modules})
    return request.param, request.getfixturevalue("server_everything"), {}


_MCP_REF_RUNS: Dict[str, List[Dict[str, Any]]] = {}


@pytest.mark.spec("BP-01", "BP-03", "BP-07", "BP-13", "BP-16", "PR-02", "TL-11", "ER-01",
                  "ER-02", "ER-03", "ER-12", "LC-02", "LC-15", "CN-10")
@pytest.mark.parametrize("version", sorted(SCRIPTS))
def test_the_same_frames_to_mcp_ref_and_an_official_server(peer, version):
    name, argv, env = peer
    if version not in _MCP_REF_RUNS:
        _MCP_REF_RUNS[version] = _run(SERVE, {}, version)
    ours = _MCP_REF_RUNS[version]
    theirs = _run(argv, env, version)

    keys = []
    for _, key, _ in SCRIPTS[version]:
        if key is not None and key not in keys:
            keys.append(key)
    table = "\n".join(f"  id {str(key):>20}: mcp_ref {_summary(ours, key):<22} {name} "
                      f"{_summary(theirs, key)}" for key in keys)
    print(f"\n{version}, mcp_ref vs {name} (spec_notes/differential.md says who is right):\n"
          + table)

    # mcp_ref's side, row by row.
    null_codes = sorted(_what(a) for a in _answers(ours, NULL))
    expected_null = sorted(want for _, key, want in SCRIPTS[version] if key == NULL)
    assert null_codes == expected_null, f"answers with a null id\n{table}"
    for _, key, want in SCRIPTS[version]:
        if key is None or key == NULL:
            continue
        answers = _answers(ours, key)
        assert [_what(a) for a in answers] == [want], f"id {key!r}\n{table}"
    assert not [m for m in ours if "unparseable" in m], ours               # TR-06
    # The peer's side: only that the harness reached it to the end (PG-02).
    assert _answers(theirs, LAST) and _what(_answers(theirs, LAST)[0]) == "result", (
        f"{name} did not answer the closing ping: the harness, not a difference\n{table}")
