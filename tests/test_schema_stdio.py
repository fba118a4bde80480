"""Every frame a real mcp_ref process writes over stdio validates (BP-01, TR-06, TR-07; D-82).

tests/test_schema.py proves it for the sans-I/O core (``Connection``). These tests drive the
layers above it, as processes over real pipes, with fixed seeds:

* ``python3 -m mcp_ref serve`` (mcp_ref/reference.py) and tests/fixtures/odd_server.py (a
  :class:`~mcp_ref.server.Server` whose handlers return every kind of value, raise, are slow
  with progress, log, and ask the client things) get random sequences of valid, near-valid and
  invalid requests and notifications of every method a revision has (and some it lacks), with
  random ids, cursors, ``_meta`` and progress tokens, cancels, pings, garbage and batches; the
  test plays the client and answers the server's own requests, well or oddly.
* a :class:`~mcp_ref.client.Client` whose roots, sampling and elicitation handlers return odd
  values (or raise) is asked at random by tests/fixtures/random_asker.py.

Each frame written is validated against the negotiated revision's schema (``JSONRPCMessage``,
its envelope, its direction's union and, for a result, the result type of the request it
answers: :func:`test_schema.validate_frame`); each request with a usable id is answered
exactly once (BP-01: JSON-RPC 2.0 answers every request), except cancelled ones, which may
go unanswered (CN-05); the server exits 0 at stdin EOF (TR-14).
"""

import importlib.util
import json
import os
import random
import sys
from typing import Any, Dict, List, Optional

import pytest

pytest.importorskip("jsonschema", reason="jsonschema is needed to validate frames against "
                                         "the official MCP schemas (tests use it as data)")

from rawpipe import FIXTURES, ROOT, SERVE, RawServer, encode  # noqa: E402
from test_schema import C, S, validate_frame  # noqa: E402
from mcp_ref import spec  # noqa: E402

ODD_SERVER = [sys.executable, os.path.join(FIXTURES, "odd_server.py")]
ASKER = os.path.join(FIXTURES, "random_asker.py")

#: Values of every JSON type, for ids, tokens, cursors and members that should not be.
ODD = ["a", 7, 0, -1, 7.5, 1.0, True, None, {"x": 1}, [1], "", 2 ** 70, "é漢"]
CURSORS = ["0", "1", "3", "6", "x", 5, None, "", "²", "1" * 30, "-1"]
#: What a client may ask, and what it should not (the server's requests, a method of a later
#: revision, nothing at all).
METHODS = (["ping"] + ["tools/call"] * 10 + ["tools/list", "resources/list", "prompts/list",
                                             "resources/read", "prompts/get"] * 2 + [
    "resources/templates/list", "resources/subscribe", "logging/setLevel",
    "completion/complete", "initialize", "roots/list", "sampling/createMessage",
    "elicitation/create", "tasks/list", "zzz/zzz"])
#: Arguments each tool of the two servers takes (mcp_ref/reference.py, odd_server.py).
GOOD_ARGUMENTS = {"echo": {"text": "é漢"}, "add": {"a": 1, "b": 2.5},
                  "slow": {"seconds": 0.05, "steps": 3}, "fail": {"message": "m"},
                  "sample": {"prompt": "p"}, "elicit": {"message": "m"},
                  "log": {"level": "warning", "message": "m"}, "odd_schema": {"n": 3}}
#: Tools that send progress or logs, or ask the client something, before they answer.
TALKERS = ("slow", "roots", "sample", "elicit", "ping_client", "log", "odd_slow", "odd_deaf",
           "odd_ask", "odd_log", "odd_inline")
NOTIFICATIONS = ["notifications/progress", "notifications/roots/list_changed",
                 "notifications/initialized", "notifications/zzz", "notifications/message",
                 "notifications/elicitation/complete"]
GARBAGE = [b"{oops\n", b"[]\n", b"\xff\n", b"null\n", b"{}\n", b"\n",
           b'{"jsonrpc":"2.0","id":5,"result":{}}\n',
           b'{"jsonrpc":"2.0","id":"zz","error":{"code":1,"message":"x"}}\n',
           b'{"jsonrpc":"2.0","id":1.0,"method":"ping"}\n']


def _names(argv: List[str]) -> Dict[str, List[str]]:
    """The tools, resources and prompts the server behind ``argv`` registers."""
    if argv == SERVE:
        from mcp_ref.reference import build_server
        server = build_server()
    else:
        loader = importlib.util.spec_from_file_location("odd_server", argv[1])
        module = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(module)
        server = module.server
    return {"tools": list(server._tools), "resources": list(server._resources),
            "prompts": list(server._prompts)}


def _usable(request_id: Any) -> bool:
    """An id the server can answer with: a string or an integer (BP-03)."""
    return isinstance(request_id, str) or (isinstance(request_id, int)
                                           and not isinstance(request_id, bool))


class _Client:
    """The test as the client of one server process: random frames in, every frame out kept
    (:class:`rawpipe.RawServer`), the server's own requests answered at random."""

    def __init__(self, argv: List[str], rng: random.Random) -> None:
        # Answers are picked by a generator of their own: when the server's requests arrive
        # depends on timing, and must not change what the session sends next.
        self.rng = random.Random(rng.random())
        self.server = RawServer(argv)
        self.methods: Dict[str, str] = {}        # json(id) -> method, for usable ids
        self.reused: set = set()                  # ids sent twice (BP-05 broken on purpose)
        self.cancelled: set = set()
        self.answers: Dict[str, List[Dict[str, Any]]] = {}
        self._read = 0                            # frames looked at so far
        self._next_id = 0

    def new_id(self) -> Any:
        self._next_id += 1
        return self.rng.choice([self._next_id, f"r{self._next_id}", -self._next_id])

    def request(self, request_id: Any, method: str, params: Any = None,
                with_params: bool = True) -> None:
        frame = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if with_params:
            frame["params"] = params
        if _usable(request_id):
            key = json.dumps(request_id)
            if key in self.methods:
                self.reused.add(key)
            self.methods[key] = method
        self.server.send(encode(frame))

    def pump(self) -> None:
        """Look at the frames that arrived: count answers, answer the server's requests."""
        with self.server._cond:
            new = self.server.frames[self._read:]
            self._read += len(new)
        for frame in new:
            if not isinstance(frame, dict):
                continue                          # wire_problems() reports it
            if "method" in frame and "id" in frame:
                if not self.server.proc.stdin.closed:     # after EOF: nothing more to say
                    self.server.send(encode(self._answer(frame)))
            elif "method" not in frame and frame.get("id") is not None:
                self.answers.setdefault(json.dumps(frame["id"]), []).append(frame)

    def _answer(self, request: Dict[str, Any]) -> Dict[str, Any]:
        """An answer to the server's request: mostly right, sometimes wrong in shape."""
        good = {"roots/list": {"roots": [{"uri": "file:///tmp", "name": "tmp"}]},
                "sampling/createMessage": {"role": "assistant", "model": "m",
                                           "content": {"type": "text", "text": "hi"}},
                "elicitation/create": {"action": "accept", "content": {"a": "x"}}}
        answer: Dict[str, Any] = {"jsonrpc": "2.0", "id": request["id"]}
        choice = self.rng.random()
        if choice < 0.6:
            answer["result"] = good.get(request["method"], {})
        elif choice < 0.8:
            answer["result"] = self.rng.choice([{}, {"roots": 5}, {"role": "robot"},
                                                {"action": "maybe"}, {"_meta": 5}])
        else:
            answer["error"] = self.rng.choice([{"code": -32603, "message": "no"},
                                               {"code": 1.5, "message": 5}, {"message": "x"}])
        return answer

    def unanswered(self) -> List[str]:
        return [key for key in self.methods if key not in self.answers
                and key not in self.cancelled and key not in self.reused]

    def settle(self, timeout: float) -> List[str]:
        """Wait (at most ``timeout`` s) until every request is answered; what is not."""
        import time
        deadline = time.monotonic() + timeout
        while True:
            self.pump()
            missing = self.unanswered()
            remaining = deadline - time.monotonic()
            if not missing or remaining <= 0 or self.server.eof:
                return missing
            with self.server._cond:     # wake on the next frame (no sleep), bounded
                self.server._cond.wait_for(lambda: len(self.server.frames) > self._read
                                           or self.server.eof, min(remaining, 0.5))


def _params(rng: random.Random, method: str, names: Dict[str, List[str]],
            version: str) -> Optional[Any]:
    """Params for ``method``: mostly what the schema accepts, sometimes near it or not."""
    params: Dict[str, Any] = {}
    if method == "tools/call":
        # The tools that talk back (progress, logs, questions) are picked more often.
        talkers = [name for name in names["tools"] if name in TALKERS]
        params["name"] = name = rng.choice(names["tools"] * 2 + talkers * 6 + ["nope", 5, ""])
        if rng.random() < 0.75:
            params["arguments"] = GOOD_ARGUMENTS.get(name, {})
        else:
            # Wrong types, unknown members (a negative seconds: slow returns at once).
            params["arguments"] = rng.choice([{"text": 5, "a": "x", "seconds": "x"},
                                              {"x": rng.choice(ODD), "seconds": -1}, [], "x"])
    elif method in ("tools/list", "resources/list", "prompts/list", "resources/templates/list"):
        if rng.random() < 0.6:
            params["cursor"] = rng.choice(CURSORS)
    elif method in ("resources/read", "resources/subscribe"):
        params["uri"] = rng.choice(names["resources"] * 2 + ["nope://x"] * 2 + [5, None])
    elif method == "prompts/get":
        params["name"] = rng.choice(names["prompts"] * 2 + ["nope", 5])
        params["arguments"] = rng.choice([{"name": "x", "a": "y"}, {}, {"name": 5}, []])
    elif method == "logging/setLevel":
        params["level"] = rng.choice(list(spec.LOG_LEVELS) + ["loud", 5])
    elif method == "completion/complete":
        params = {"ref": {"type": "ref/prompt", "name": "greet"},
                  "argument": {"name": "name", "value": "a"}}
    elif method == "initialize":
        params = {"protocolVersion": version, "capabilities": {},
                  "clientInfo": {"name": "again", "version": "1"}}
    choice = rng.random()
    if choice < 0.45:         # a progress token: mostly fresh, sometimes one the schema refuses
        token = rng.choice([f"t{rng.randrange(10 ** 6)}", rng.randrange(10 ** 6),
                            rng.choice(ODD)])
        params["_meta"] = {"progressToken": token}
    elif choice < 0.5:          # _meta that is no object (BP-01)
        params["_meta"] = rng.choice([5, [], "x"])
    choice = rng.random()
    return params if choice < 0.9 else rng.choice([None, [], "x", 5])


def _drive(argv: List[str], seed: str, steps: int) -> Dict[str, Any]:
    """One session of random input; returns what the checks need."""
    rng = random.Random(seed)
    names = _names(argv)
    offered = rng.choice(spec.SUPPORTED_VERSIONS + ("2099-01-01",))
    client = _Client(argv, rng)
    try:
        for _ in range(rng.randrange(3)):         # before initialize: answered, or refused
            client.request(client.new_id(), rng.choice(["ping", "tools/list"]))
        capabilities: Dict[str, Any] = {}
        for name, value in (("roots", {"listChanged": True}), ("sampling", {}),
                            ("elicitation", {})):
            if rng.random() < 0.8:
                capabilities[name] = value
        init_id = client.new_id()
        client.request(init_id, "initialize", {
            "protocolVersion": offered, "capabilities": capabilities,
            "clientInfo": {"name": "schema-stdio", "version": "1"}})
        assert client.settle(10.0) == [], client.server.stderr[-2000:]
        (init,) = client.answers[json.dumps(init_id)]
        version = init["result"]["protocolVersion"]           # LC-12: ours, or its newest
        client.server.send(encode({"jsonrpc": "2.0", "method": spec.INITIALIZED}))
        for _ in range(steps):
            _step(client, rng, names, version)
            client.pump()
        missing = client.settle(15.0)
        status = client.server.finish(10.0)                   # TR-14: stdin EOF, exit 0
        client.pump()
        return {"client": client, "version": version, "missing": missing, "status": status,
                "frames": list(client.server.frames), "wire": client.server.wire_problems()}
    finally:
        client.server.close()


def _step(client: _Client, rng: random.Random, names: Dict[str, List[str]],
          version: str) -> None:
    """One random thing a client (or a broken one) does."""
    choice = rng.random()
    if choice < 0.55:                                   # a request
        method = rng.choice(METHODS)
        if rng.random() < 0.07:
            request_id = rng.choice(ODD)                # BP-03: an id it cannot answer with
        elif rng.random() < 0.04 and client.methods:
            request_id = json.loads(rng.choice(sorted(client.methods)))   # BP-05 broken
        else:
            request_id = client.new_id()
        params = _params(rng, method, names, version)
        client.request(request_id, method, params, with_params=params is not None
                       or rng.random() < 0.1)
    elif choice < 0.62:                                 # cancel one of ours, or nonsense
        # Any request of ours, answered or not (then the cancel crossed its answer: CN-08).
        ours = sorted(client.methods)
        target = json.loads(rng.choice(ours)) if ours and rng.random() < 0.8 \
            else rng.choice(ODD)
        params = {"requestId": target}
        if rng.random() < 0.5:
            params["reason"] = rng.choice(["stop", 5])
        if _usable(target):
            client.cancelled.add(json.dumps(target))
        client.server.send(encode({"jsonrpc": "2.0", "method": spec.CANCELLED,
                                   "params": params}))
    elif choice < 0.75:
        client.server.send(encode({"jsonrpc": "2.0", "method": rng.choice(NOTIFICATIONS),
                                   "params": rng.choice([{}, {"progressToken": "t",
                                                              "progress": 1}, 5])}))
    elif choice < 0.85:
        client.server.send(rng.choice(GARBAGE))
    else:                                               # a batch: 2025-03-26 answers each
        first, second = client.new_id(), client.new_id()
        batch = [{"jsonrpc": "2.0", "id": first, "method": "ping"},
                 {"jsonrpc": "2.0", "id": second, "method": "tools/list"}]
        client.methods.update({json.dumps(first): "ping", json.dumps(second): "tools/list"})
        if version != spec.BATCH_VERSION:     # refused whole, one -32600 with id null (D-06)
            client.cancelled.update({json.dumps(first), json.dumps(second)})
        client.server.send(json.dumps(batch).encode() + b"\n")


def _check_server_session(run: Dict[str, Any]) -> set:
    """The session's checks; returns the definitions its frames were validated against."""
    client, version = run["client"], run["version"]
    assert run["status"] == 0, client.server.stderr[-2000:]              # TR-14
    assert run["wire"] == []                                             # TR-06, I7
    assert run["missing"] == [], [(k, client.methods[k]) for k in run["missing"]]  # BP-01
    for key, answers in client.answers.items():
        assert key in client.methods, answers              # an answer to no request of ours
        assert len(answers) == 1 or key in client.reused, answers       # exactly one
    method_of = {json.loads(key): method for key, method in client.methods.items()
                 if key not in client.reused}
    checked: set = set()
    for frame in run["frames"]:
        checked.update(validate_frame(frame, version, S, method_of=method_of))
    return checked


@pytest.mark.spec("BP-01", "BP-03", "BP-07", "BP-09", "BP-10", "BP-11", "BP-12", "BP-14",
                  "TR-06", "TR-14", "CN-05", "PR-04", "PN-02", "LG-02", "LC-15")
@pytest.mark.parametrize("argv", [SERVE, ODD_SERVER], ids=["serve", "odd_server"])
def test_random_sessions_with_a_server_process_write_only_valid_frames(argv):
    """Property (fixed seeds): whatever a client sends, and whatever its handlers do, every
    frame a server process writes validates against the negotiated revision's schema, each
    request is answered once, and the process exits 0 at EOF (D-82)."""
    checked: set = set()
    methods: set = set()
    codes: set = set()
    for seed in range(16):
        # The path from the repository's root: a seed holding the clone's directory made the
        # coverage asserted below depend on where the repository was cloned (D-91).
        name = os.path.relpath(argv[-1], ROOT) if os.path.isabs(argv[-1]) else argv[-1]
        run = _drive(argv, f"{name}/{seed}", steps=50)
        checked |= _check_server_session(run)
        methods |= {f["method"] for f in run["frames"] if "method" in f}
        codes |= {f["error"]["code"] for f in run["frames"] if "error" in f}
    # The sessions really covered what they claim (a validator that saw nothing proves nothing).
    assert {"InitializeResult", "CallToolResult", "ListToolsResult", "ListResourcesResult",
            "ReadResourceResult", "ListPromptsResult", "GetPromptResult", "EmptyResult",
            "ListResourceTemplatesResult"} <= checked, checked
    assert {spec.PROGRESS, spec.LOG_MESSAGE, "roots/list", "sampling/createMessage"} <= methods
    assert {-32700, -32600, -32601, -32602} <= codes, codes
    if argv == ODD_SERVER:
        assert {"elicitation/create", "ping", -32603, -32001} <= methods | codes
    else:
        assert -32002 in codes                # resources/read of a URI it does not have


# --- The client's side ----------------------------------------------------------------------

_TEXT = {"type": "text", "text": "hi"}
ROOTS = [[{"uri": "file:///a", "name": "a"}], [], [{"uri": 5}], [{"uri": "file:///a", "name": 5}],
         [{"uri": "file:///a", "_meta": 5}], [{"uri": "file:///a", "_meta": {"k": 1}}], 5, None]
SAMPLES = [{"role": "assistant", "model": "m", "content": _TEXT},
           {"role": "assistant", "model": "m", "content": [_TEXT]},
           {"role": "robot", "model": "m", "content": _TEXT},
           {"role": "assistant", "model": "m", "content": _TEXT, "stopReason": 5},
           {"role": "assistant", "model": "m", "content": {"type": "text", "text": 5}},
           {"role": "assistant", "model": "m", "content": {"type": "image", "data": "AA"}},
           {"role": "assistant", "model": "m", "content": dict(_TEXT, annotations=5)},
           {"role": "assistant", "model": "m", "content": {"type": "audio", "data": "AA",
                                                           "mimeType": "audio/wav"}},
           {"role": "assistant", "model": "m", "content": {"type": "tool_use", "id": "1",
                                                           "name": "t", "input": {}}},
           {"role": "assistant", "model": "m", "content": _TEXT, "_meta": 5},
           {"role": "assistant", "model": "m", "content": [5]}, None, {"x": 1}]
ELICITED = [{"action": "accept", "content": {"a": "x"}}, {"action": "decline"},
            {"action": "accept", "content": 5}, {"action": "accept", "content": {"a": None}},
            {"action": "accept", "content": {"a": ["x", "y"]}},
            {"action": "accept", "content": {"a": 1.5}}, {"action": "maybe"}, None]


def _odd_handler(rng: random.Random, values: List[Any]):
    """A client callback returning one of ``values``, or raising, at random."""
    from mcp_ref.errors import PeerError

    def handler(*params: Any) -> Any:
        if rng.random() < 0.15:
            raise rng.choice([PeerError(-32000, "no"), PeerError(1.5, "x"), PeerError(-1, 5),
                              ValueError("v"), SystemExit(2)])
        return rng.choice(values)
    return handler


@pytest.mark.spec("TR-07", "BP-01", "BP-07", "BP-09", "BP-10", "BP-11", "LC-15", "CN-05")
def test_random_server_requests_get_only_valid_frames_from_a_client(tmp_path):
    """Property (fixed seeds): a Client whose roots, sampling and elicitation handlers return
    odd values or raise, asked at random by a scripted server, writes only frames the
    negotiated revision's schema accepts, and answers every request it was not told to
    cancel, once (D-82)."""
    from mcp_ref.client import Client
    checked: set = set()
    for seed in range(12):
        rng = random.Random(f"client/{seed}")
        version = spec.SUPPORTED_VERSIONS[seed % 4]
        out, trace = tmp_path / f"{seed}.json", tmp_path / f"{seed}.jsonl"
        handlers = {"roots": _odd_handler(rng, ROOTS), "sampling": _odd_handler(rng, SAMPLES)}
        if version >= "2025-06-18":
            handlers["elicitation"] = _odd_handler(rng, ELICITED)
        with Client.spawn([sys.executable, ASKER, str(seed), version, str(out), "30"],
                          cwd=ROOT, supported_versions=(version,), trace=str(trace),
                          request_timeout=5, **handlers) as client:
            for _ in range(rng.randrange(3)):
                client.call_tool("t", {"a": 1}, on_progress=lambda *progress: None)
            assert client.wait_exit(20) == 0
        record = json.loads(out.read_text("utf-8"))
        answered: Dict[str, int] = {}
        for frame in record["got"]:
            assert isinstance(frame, dict), frame                       # TR-07: JSON objects
            if "method" not in frame and "id" in frame:
                answered[json.dumps(frame["id"])] = answered.get(json.dumps(frame["id"]), 0) + 1
        for key, method in record["sent"].items():                      # BP-01, CN-05
            expected = (0, 1) if key in record["cancelled"] else (1,)
            assert answered.get(key, 0) in expected, (seed, method, key, answered.get(key))
        method_of = {json.loads(key): method for key, method in record["sent"].items()}
        for line in trace.read_text("utf-8").splitlines():
            entry = json.loads(line)
            if entry.get("dir") == "send":
                checked.update(validate_frame(entry["msg"], version, C, method_of=method_of))
    assert {"ListRootsResult", "CreateMessageResult", "ElicitResult", "EmptyResult",
            "JSONRPCError", "ClientResult"} <= checked, checked
