"""A seeded, standard-library-only fuzzer for mcp_ref's server (reliability SC-08 at scale).

It completes a valid handshake with ``python3 -m mcp_ref serve``, then writes a storm of
lines: valid frames from a corpus, most of them mutated (truncated, types swapped, huge
numbers, deep nesting, bad UTF-8, stray bytes, keys removed, ids mutated). Then a ping, then
EOF. It passes when:

1. the server never dies: it answers the final ping and exits 0 at EOF;
2. every stdout line is one valid JSON-RPC message ending in a lone ``\\n`` (I7);
3. every request whose id can be recovered gets exactly as many responses as requests with
   that id were sent. "Recovered" is judged here, independently of mcp_ref, from the bytes
   that were actually sent: a line (split on ``\\n``, one trailing ``\\r`` removed) that is
   strict UTF-8 JSON (no NaN/Infinity, no out-of-range float) holding an object with a
   string or integer (not boolean) ``id`` that is not response-shaped (no ``method`` but a
   ``result`` or ``error``). Ids that a cancel notification names may get fewer answers
   (CN-05): for them the count may only fall short by the number of such cancels;
4. no response carries a string or integer id that was never sent (nothing cross-wired).

The corpus avoids requests that legitimately take long or need the client (``slow``,
``ping_client``, ``sample``, ``elicit``, ``roots``), and its cancels name ids no request uses.

Usage::

    python3 tests/fuzz.py --lines 100000 --seed 1234     # the long run
    python3 tests/fuzz.py                                # 10,000 lines, a random seed

The seed is always printed; the same seed replays the same bytes. tests/test_fuzz.py runs
a fixed seed in CI.
"""

import argparse
import copy
import json
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import rawpipe  # noqa: E402

sys.path.insert(0, rawpipe.ROOT)                # run as a script too: mcp_ref from this tree
from mcp_ref.framing import MAX_NESTING  # noqa: E402

# --- The corpus --------------------------------------------------------------------------------

TEXTS = ["hi", "", "ü 漢 🎉", "a\u2028b\u2029c\x85", "line\nbreak\r\n", "\\ud800", "x" * 300]
IDS: List[Any] = [1, 0, -1, 2 ** 53 + 1, "1", "", "é", "漢字🎉", "id with spaces", 7]


def _corpus(rng: random.Random) -> Dict[str, Any]:
    """One valid frame, built fresh (so mutations never touch a shared object)."""
    rid = rng.choice(IDS) if rng.random() < 0.3 else rng.randrange(1, 10_000)
    text = rng.choice(TEXTS)
    kind = rng.randrange(20)

    def req(method: str, params: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        frame: Dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            frame["params"] = params
        return frame

    def call(name: str, arguments: Any) -> Dict[str, Any]:
        params: Dict[str, Any] = {"name": name, "arguments": arguments}
        if rng.random() < 0.2:
            params["_meta"] = {"progressToken": rng.choice(["tok", 0, 5, "é"])}
        return req("tools/call", params)

    def note(method: str, params: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        frame: Dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            frame["params"] = params
        return frame

    return [
        lambda: req("ping"),
        lambda: req("tools/list"),
        lambda: req("tools/list", {"cursor": rng.choice(["0", "2", "junk", 5])}),
        lambda: call("echo", {"text": text}),
        lambda: call("echo", {"text": text}),
        lambda: call("add", {"a": rng.randrange(-99, 99), "b": rng.random()}),
        lambda: call("fail", {"message": text}),
        lambda: call("log", {"level": rng.choice(["info", "error", "debug"]), "message": text}),
        lambda: call("no-such-tool", {}),
        lambda: req("resources/list"),
        lambda: req("resources/read", {"uri": rng.choice(["mcp-ref://about", "nope://x"])}),
        lambda: req("resources/templates/list"),
        lambda: req("prompts/list"),
        lambda: req("prompts/get", {"name": "greet", "arguments": {"name": text}}),
        lambda: req("logging/setLevel", {"level": rng.choice(["debug", "info", "loud"])}),
        lambda: req(rng.choice(["initialize", "x/unknown", "completion/complete"]), {}),
        lambda: note("notifications/cancelled", {"requestId": f"fz-nobody-{rid}",
                                                 "reason": text}),
        lambda: note("notifications/progress", {"progressToken": "fz-nobody", "progress": 1}),
        lambda: note(rng.choice(["notifications/initialized", "notifications/zzz",
                                 "notifications/roots/list_changed"])),
        lambda: req("ping", {"_meta": {"io.modelcontextprotocol/x": {"deep": [1, 2]}}}),
    ][kind]()


# --- Mutations -----------------------------------------------------------------------------

ODD_VALUES: List[Any] = [None, True, False, 0, -1, 1.5, -0.0, "", "x", [], {}, [1, [2]],
                         {"a": {"b": None}}, 2 ** 64, -(2 ** 63) - 1, 10 ** 400, 1e308,
                         "\ud800", "\x00", "ü" * 50]


def odd_value(rng: random.Random) -> Any:
    """A fresh copy (a shared list inserted twice and then mutated would make a cycle)."""
    return copy.deepcopy(rng.choice(ODD_VALUES))


def _paths(obj: Any, prefix: Tuple = ()) -> List[Tuple]:
    """Every path to a value inside a JSON value (dict keys and list indexes)."""
    found = [prefix]
    if isinstance(obj, dict):
        for key, value in obj.items():
            found += _paths(value, prefix + (key,))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            found += _paths(value, prefix + (index,))
    return found


def _parent(obj: Any, path: Tuple) -> Any:
    for step in path[:-1]:
        obj = obj[step]
    return obj


def mutate_object(obj: Dict[str, Any], rng: random.Random) -> Any:
    """One structural mutation of a decoded frame."""
    choice = rng.randrange(6)
    paths = [p for p in _paths(obj) if p]
    if choice == 0 and paths:                                 # key removal
        path = rng.choice(paths)
        parent = _parent(obj, path)
        if isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
    elif choice == 1 and paths:                               # type swap / huge numbers
        path = rng.choice(paths)
        _parent(obj, path)[path[-1]] = odd_value(rng)
    elif choice == 2:                                         # id mutations
        action = rng.randrange(3)
        if action == 0:
            obj.pop("id", None)                               # a request becomes a notification
        elif action == 1:
            obj["id"] = odd_value(rng) if rng.random() < 0.7 else rng.choice(IDS)
        else:
            obj["id"] = rng.choice([rng.randrange(-2 ** 70, 2 ** 70), str(rng.random())])
    elif choice == 3:                                         # method mutations
        obj["method"] = rng.choice(["", "PING", "tools/", "tools/call/", "notifications/",
                                    "x" * 200, 42, None, "ping\x00"])
    elif choice == 4:                                         # extra members
        obj[rng.choice(["result", "error", "params", "jsonrpc", "extra"])] = odd_value(rng)
    elif choice == 5 and paths:                               # wrap in a container
        path = rng.choice(paths)
        parent = _parent(obj, path)
        parent[path[-1]] = [parent[path[-1]]] if rng.random() < 0.5 else \
            {"wrapped": parent[path[-1]]}
    return obj


#: Nesting depths of the ping's params value, on both sides of MAX_NESTING (D-51): the message
#: and its params object add two levels, so 510 is the deepest the server answers and 511 the
#: shallowest it refuses; and past json's own limits (about 990 to 10 000 by interpreter),
#: which the server's check never lets json reach. Where this oracle's json.loads gives up
#: first (RecursionError), it counts the line as refused too, so the two always agree.
DEPTHS = [1, 10, 100, 400, 510, 511, 600, 1000, 1500, 5000, 50_000, 200_000]


def deep_line(rng: random.Random, rid: Any) -> bytes:
    """A request whose params hold a value nested very deep (lists or objects)."""
    depth = rng.choice(DEPTHS)
    if rng.random() < 0.5:
        value = "[" * depth + "]" * depth
    else:
        value = '{"a":' * depth + "1" + "}" * depth
    head = json.dumps({"jsonrpc": "2.0", "id": rid, "method": "ping"})[:-1]
    return (head + ',"params":{"nest":' + value + "}}").encode()


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """One byte-level mutation of an encoded frame (without its newline)."""
    choice = rng.randrange(8)
    at = rng.randrange(len(data) + 1)
    if choice == 0:                                            # truncation
        return data[:at]
    if choice == 1:                                            # bad UTF-8
        bad = rng.choice([b"\xff", b"\xfe\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf",
                          b"\xf8\x88\x80\x80\x80", b"\x80"])
        return data[:at] + bad + data[at:]
    if choice == 2:                                            # stray bytes (newlines too)
        stray = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4)))
        return data[:at] + stray + data[at:]
    if choice == 3:                                            # control characters
        return data[:at] + rng.choice([b"\x00", b"\r", b"\n", b"\x1b[31m", b"\t", b"\x0b"]) \
            + data[at:]
    if choice == 4 and len(data) > 2:                          # duplicate a slice
        end = rng.randrange(at, len(data) + 1)
        return data[:end] + data[at:end] + data[end:]
    if choice == 5:                                            # junk around it
        return rng.choice([b"junk ", b"\xef\xbb\xbf", b"[", b"  "]) + data + \
            rng.choice([b"", b"}", b" trailing", b","])
    if choice == 6:                                            # numbers out of range
        return data.replace(b'"id":', rng.choice([b'"id":1e400,"x":', b'"id":NaN,"x":',
                                                  b'"id":-Infinity,"x":',
                                                  b'"id":' + b"9" * 5000 + b',"x":']), 1)
    return data + b"\r"                                        # CRLF, one more \r


def make_line(rng: random.Random) -> bytes:
    """One line of the storm (with its newline)."""
    roll = rng.random()
    if roll < 0.03:
        return deep_line(rng, rng.randrange(1, 10_000)) + b"\n"
    frame = _corpus(rng)
    if roll < 0.3:
        data = json.dumps(frame, ensure_ascii=rng.random() < 0.5).encode()
        return data + b"\n"                                    # valid, unchanged
    for _ in range(rng.randrange(1, 3)):
        frame = mutate_object(frame, rng)
    try:
        data = json.dumps(frame, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError):
        data = b'{"jsonrpc":"2.0","id":"fz-unencodable","method":"ping"}'
    if rng.random() < 0.5:
        for _ in range(rng.randrange(1, 3)):
            data = mutate_bytes(data, rng)
    return data + b"\n"


# --- The oracle ------------------------------------------------------------------------------

def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _any_integer(text: str) -> Any:
    """A JSON integer; one of more digits than Python converts stands for "out of range"."""
    try:
        return int(text)
    except ValueError:                        # over sys.get_int_max_str_digits()
        return float("inf")


def strict_object(line: bytes) -> Optional[Dict[str, Any]]:
    """The line as a JSON object by the wire's rules (strict UTF-8, no NaN/Infinity
    literals), or None. A number Python cannot carry (1e400, thousands of digits) is still
    valid JSON: the server answers such a request by its id (D-37), so it counts here too."""
    try:
        value = json.loads(line.decode("utf-8"), parse_constant=_reject_constant,
                           parse_int=_any_integer)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if nesting_depth(value) > MAX_NESTING:          # D-51: refused however json fares
        return None
    return value if isinstance(value, dict) else None


def nesting_depth(value: Any) -> int:
    """How deep arrays and objects nest in ``value`` (0 for a scalar), without recursion: the
    tests' own count, against which framing.nests_too_deep is checked (D-51)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1)
                         for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def id_key(value: Any) -> Optional[Tuple[str, Any]]:
    """A type-exact key for a string or integer id (1, "1" and True stay apart); else None."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return (type(value).__name__, value)


@dataclass
class Expectation:
    """What the bytes sent promise: responses per recovered id, and cancels per id."""

    requests: Counter = field(default_factory=Counter)
    cancels: Counter = field(default_factory=Counter)
    lines: int = 0
    objects: int = 0
    _partial: bytes = b""

    def feed(self, data: bytes) -> None:
        """The bytes sent, in order, in any chunks (split exactly as the server splits them:
        on ``\n`` only; a stray newline may end a line in the middle of a chunk)."""
        *lines, self._partial = (self._partial + data).split(b"\n")
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line.strip():
                continue
            self.lines += 1
            obj = strict_object(line)
            if obj is None:
                continue
            self.objects += 1
            response_shaped = "method" not in obj and ("result" in obj or "error" in obj)
            key = id_key(obj.get("id"))
            if key is not None and "id" in obj and not response_shaped:
                self.requests[key] += 1
            if obj.get("method") == "notifications/cancelled" and "id" not in obj:
                params = obj.get("params")
                target = id_key(params.get("requestId")) if isinstance(params, dict) else None
                if target is not None:
                    self.cancels[target] += 1


# --- A run ---------------------------------------------------------------------------------------

@dataclass
class Report:
    seed: int
    lines: int
    seconds: float = 0.0
    requests: int = 0
    responses: int = 0
    null_id_errors: int = 0
    exit_code: Optional[int] = None
    failures: List[str] = field(default_factory=list)

    def summary(self) -> str:
        verdict = "PASS" if not self.failures else f"FAIL ({len(self.failures)} problems)"
        return (f"fuzz seed={self.seed} lines={self.lines}: {verdict}; {self.requests} requests "
                f"with recoverable ids, {self.responses} responses ({self.null_id_errors} "
                f"with id null), server exit {self.exit_code}, {self.seconds:.1f} s")


def _small(frame: Any) -> Any:
    """What the harness keeps of each stdout frame (100k frames must stay small): the shape,
    the id, an error's code; never a result's content."""
    if not isinstance(frame, dict) or "method" in frame:
        return {"method": frame.get("method")} if isinstance(frame, dict) else None
    if "error" in frame:
        error = frame["error"]
        return {"id": frame.get("id"),
                "error": {"code": error.get("code") if isinstance(error, dict) else None}}
    return {"id": frame.get("id"), "result": {} if frame.get("result") == {} else {"...": 1}}


def run(lines: int, seed: int, *, batch: int = 200, argv: Optional[List[str]] = None,
        log: Callable[[str], None] = lambda text: None) -> Report:
    """Fuzz one server process (``argv``, default the reference server) with ``lines``
    lines from ``seed``; returns the report."""
    rng = random.Random(seed)
    report = Report(seed, lines)
    expected = Expectation()
    started = time.monotonic()
    server = rawpipe.RawServer(argv, keep_raw=False, keep=_small)
    try:
        server.initialize()
        for start in range(0, lines, batch):
            chunk = b"".join(make_line(rng) for _ in range(min(batch, lines - start)))
            expected.feed(chunk)
            try:
                server.send(chunk)
            except BrokenPipeError:
                report.failures.append(f"the server stopped reading after {start} lines")
                break
            if start and start % 10_000 < batch:
                log(f"  {start} lines sent")
        final = b'\n{"jsonrpc":"2.0","id":"fz-final","method":"ping"}\n'
        expected.feed(final)
        try:
            server.send(final)
        except BrokenPipeError:
            pass
        try:
            answer = server.wait_response("fz-final", timeout=120)
            if answer.get("result") != {}:
                report.failures.append(f"the final ping got {answer}")
        except AssertionError as exc:
            report.failures.append(f"the final ping was not answered: {exc}")
        report.exit_code = server.finish(timeout=60)
        if report.exit_code != 0:
            report.failures.append(f"server exit status {report.exit_code}; stderr tail: "
                                   f"{bytes(server.stderr[-2000:])!r}")
        report.failures += [f"I7: {p}" for p in server.wire_problems()[:20]]
        report.failures += _compare(expected, server.frames, report)
    finally:
        server.close()
    report.seconds = time.monotonic() - started
    return report


def _compare(expected: Expectation, frames: List[Any], report: Report) -> List[str]:
    got: Counter = Counter()
    for frame in frames[1:]:                                  # [0] answers initialize
        if not rawpipe.is_response(frame):
            continue
        report.responses += 1
        if frame["id"] is None:
            report.null_id_errors += 1
            continue
        got[id_key(frame["id"])] += 1
    report.requests = sum(expected.requests.values())
    problems = []
    for key, sent in expected.requests.items():
        answered = got.get(key, 0)
        cancels = expected.cancels.get(key, 0)
        if not (sent - cancels <= answered <= sent) or (not cancels and answered != sent):
            problems.append(f"id {key[1]!r} ({key[0]}): {sent} requests, {answered} responses"
                            f", {cancels} cancels naming it")
    for key in got:
        if key not in expected.requests:
            problems.append(f"a response for id {key[1]!r} ({key[0]}), which was never sent")
    return problems[:50]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=None,
                        help="replay a run (default: a random seed, printed)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2 ** 32)
    print(f"fuzz: seed {seed}, {args.lines} lines against {' '.join(rawpipe.SERVE)}",
          flush=True)
    report = run(args.lines, seed, log=lambda text: print(text, flush=True))
    for failure in report.failures:
        print("  " + failure)
    print(report.summary())
    return 0 if not report.failures else 1


if __name__ == "__main__":
    sys.exit(main())
