"""The fuzzer (tests/fuzz.py) in CI: a fixed seed, 20,000 lines, bounded time.

Reliability scenario SC-08 at scale: mutated frames never kill mcp_ref's server, every
request whose id can be recovered is answered exactly once per copy sent, and the wire stays
pure JSON-RPC. ``python3 tests/fuzz.py --lines 100000 --seed N`` is the long run.
"""

import json
import sys

import pytest

import fuzz
import rawpipe
from mcp_ref.framing import FrameError, decode

#: The CI seed. Any seed must pass; a failing one is a bug to fix, then a seed to add here.
SEED = 20_250_825


@pytest.mark.spec("BP-01", "BP-07", "BP-12", "BP-13", "ER-01", "TL-14", "TR-06")
def test_sc08_fuzzed_frames_never_kill_the_server(inv):
    """SC-08 (fuzzed): the server survives, answers every recoverable request exactly once
    per copy, keeps the wire pure, answers the final ping and exits 0 at EOF."""
    inv.max_seconds = 90
    print(f"fuzz seed {SEED}")
    report = fuzz.run(20_000, SEED)
    print(report.summary())
    assert report.failures == []
    assert report.exit_code == 0
    # The storm really was a mix: requests, garbage answered with id null, and the rest.
    assert report.requests > 8000 and report.null_id_errors > 4000


BUGGY_SERVER = r'''
import json, sys
sys.path.insert(0, sys.argv[1])
import mcp_ref.connection
from mcp_ref.framing import FrameError

def decode_before_e083b0c(line):
    """framing.decode as it was: RecursionError from deep nesting escaped it."""
    try:
        return json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FrameError(str(exc)) from None

mcp_ref.connection.decode = decode_before_e083b0c
from mcp_ref.__main__ import serve_reference
sys.exit(serve_reference())
'''


def test_the_fuzzer_catches_the_deep_nesting_crash_that_was_fixed():
    """The fuzzer can fail: against the reference server with framing.decode as it was
    before commit e083b0c, the deep-nesting lines kill the reader and the run fails."""
    report = fuzz.run(3000, SEED, argv=[sys.executable, "-c", BUGGY_SERVER, rawpipe.ROOT])
    print(report.summary())
    assert report.failures
    assert report.exit_code != 0 or any("final ping" in f for f in report.failures)


@pytest.mark.spec("BP-01")
@pytest.mark.parametrize("depth", [5000, 200_000])
def test_deep_nesting_is_a_parse_error_not_a_recursion_error(depth):
    """The fix the fuzzer guards: a line nested far too deep is a FrameError, never a
    RecursionError or a crash. Since D-51 it is refused from its bytes, before json sees it
    (tests/test_framing.py tests the limit itself)."""
    for text in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        with pytest.raises(FrameError):
            decode(text.encode())


def test_the_same_seed_gives_the_same_bytes():
    first = [fuzz.make_line(r) for r in [fuzz.random.Random(7)] for _ in range(500)]
    second = [fuzz.make_line(r) for r in [fuzz.random.Random(7)] for _ in range(500)]
    assert first == second
    assert any(b"\xff" in line or b"\xc3" in line for line in first)      # bad UTF-8
    assert any(len(line) > 10_000 for line in first)                      # deep nesting


def test_the_oracle_recovers_ids_the_way_the_wire_rules_say():
    expected = fuzz.Expectation()
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "ping"},             # counted
        {"jsonrpc": "2.0", "id": "1", "method": "ping"},           # counted, apart from 1
        {"jsonrpc": "2.0", "id": True, "method": "ping"},          # a boolean is no id
        {"jsonrpc": "2.0", "id": 2, "result": {}},                 # response-shaped
        {"id": 3},                                                  # no method: still counted
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}},
    ]
    stream = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    stream += b'{"id": 4, "method": "x", "n": NaN}\n'                 # not JSON on the wire
    stream += b'{"id": 5, "method": "x", "n": 1e400}\n'    # valid JSON: answered by id (D-37)
    stream += b'{"id": 6, "method": "x"}\r\n' + b"\xff{}\n" + b"   \n"
    stream += b'{"id": 7, "method": "x", "n": ' + b"9" * 5000 + b'}\n'   # the same, in digits
    expected.feed(stream)
    assert expected.requests == {("int", 1): 1, ("str", "1"): 1, ("int", 3): 1, ("int", 5): 1,
                                 ("int", 6): 1, ("int", 7): 1}
    assert expected.cancels == {("int", 1): 1}
