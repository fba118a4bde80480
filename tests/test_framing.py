"""Newline-delimited JSON framing (mcp_ref/framing.py): LineBuffer torture, decode, encode.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio
(one message per line, UTF-8, no embedded newline: TR-02, TR-03, BP-02). Leniency on input for
what the spec leaves open: CRLF and blank lines (D-08, catalogue A8). Line limit: D-03.
Reliability scorecard SC-07 (framing torture) is the source of most cases here.
"""

import json

import pytest
from fuzz import nesting_depth

from mcp_ref.errors import LocalProtocolError, NotJson
from mcp_ref.framing import (DEFAULT_MAX_LINE_BYTES, MAX_NESTING, FrameError, LineBuffer,
                             LineTooLong, NestsTooDeep, NumberOutOfRange, TruncatedAtEOF,
                             decode, encode, nests_too_deep)

MESSAGES = [
    {"jsonrpc": "2.0", "id": 1, "method": "ping"},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": "abc", "result": {"text": "ü 漢 🎉", "nl": "a\nb\r\n"}},
    {"jsonrpc": "2.0", "id": 2, "error": {"code": -32601, "message": "Method not found"}},
]


def _wire(messages):
    return b"".join(encode(m) for m in messages)


def _decoded(items):
    return [decode(item) for item in items]


# --- LineBuffer: splitting ------------------------------------------------------------------


@pytest.mark.spec("TR-02", "TR-03")
def test_byte_by_byte_delivers_each_message_once():
    buf = LineBuffer()
    out = []
    data = _wire(MESSAGES)
    for i in range(len(data)):
        out += buf.feed(data[i:i + 1])
    assert _decoded(out) == MESSAGES
    assert buf.feed(b"") == []


@pytest.mark.spec("TR-02")
def test_many_messages_in_one_chunk():
    buf = LineBuffer()
    messages = [{"jsonrpc": "2.0", "id": n, "method": "ping"} for n in range(500)]
    out = buf.feed(_wire(messages))
    assert _decoded(out) == messages


@pytest.mark.spec("TR-02")
def test_chunks_of_every_size_give_the_same_lines():
    data = _wire(MESSAGES)
    for size in (2, 3, 7, 64, len(data) - 1):
        buf = LineBuffer()
        out = []
        for start in range(0, len(data), size):
            out += buf.feed(data[start:start + size])
        assert _decoded(out) == MESSAGES, size


def test_crlf_is_accepted_and_stripped():
    buf = LineBuffer()
    out = buf.feed(b'{"a":1}\r\n{"b":2}\r')
    out += buf.feed(b"\n")
    assert out == [b'{"a":1}', b'{"b":2}']


def test_only_one_trailing_cr_is_stripped():
    # A "\r" inside the line is the peer's business (decode() will call it invalid JSON).
    assert LineBuffer().feed(b'{"a":1}\r\r\n') == [b'{"a":1}\r']


def test_blank_and_whitespace_only_lines_are_skipped():
    buf = LineBuffer()
    out = buf.feed(b'\n\n   \n\t\r\n{"a":1}\n \n\r\n{"b":2}\n\n')
    assert out == [b'{"a":1}', b'{"b":2}']
    assert buf.feed(b"") == []


def test_a_verbatim_buffer_keeps_the_cr_and_the_blank_lines():
    """D-86: a transcript shows what the connection drops (D-08); the limit still holds."""
    buf = LineBuffer(10, verbatim=True)
    assert buf.feed(b'\n \r\n{"a":1}\r\n' + b"x" * 11 + b"\n") == [
        b"", b" \r", b'{"a":1}\r', LineTooLong(10)]


@pytest.mark.spec("BP-02")
def test_multibyte_character_split_across_chunks():
    message = {"jsonrpc": "2.0", "method": "x", "params": {"s": "é漢🎉"}}
    data = encode(message)
    for char in ("é", "漢", "🎉"):
        encoded = char.encode("utf-8")
        cut = data.index(encoded) + 1          # inside the character's bytes
        buf = LineBuffer()
        first = buf.feed(data[:cut])
        assert first == []
        assert _decoded(buf.feed(data[cut:])) == [message]


@pytest.mark.spec("TR-03", "BP-02")
def test_unicode_line_separators_inside_strings_round_trip():
    text = "a\u2028b\u2029c\u0085d"
    message = {"jsonrpc": "2.0", "method": "x", "params": {"s": text, text: 1}}
    data = encode(message)
    for raw in ("\u2028", "\u2029", "\u0085"):
        assert raw.encode("utf-8") not in data
    assert b"\\u2028" in data and b"\\u2029" in data and b"\\u0085" in data
    # Python's str.splitlines would split on them; the output has no reason to be split.
    assert len(data.decode("utf-8").splitlines()) == 1
    out = LineBuffer().feed(data)
    assert _decoded(out) == [message]


# --- LineBuffer: the line limit (D-03) ------------------------------------------------------


LIMIT = 100


def _json_line(size):
    """A JSON line of exactly ``size`` bytes, without its newline."""
    body = b'{"p":"' + b"x" * (size - 8) + b'"}'
    assert len(body) == size
    return body


@pytest.mark.spec("TR-02")
def test_a_line_exactly_at_the_limit_is_accepted():
    buf = LineBuffer(max_line_bytes=LIMIT)
    assert buf.feed(_json_line(LIMIT) + b"\n") == [_json_line(LIMIT)]
    # ... also when it arrives in pieces and the newline comes last.
    buf = LineBuffer(max_line_bytes=LIMIT)
    assert buf.feed(_json_line(LIMIT)) == []
    assert buf.feed(b"\n") == [_json_line(LIMIT)]


@pytest.mark.spec("TR-02")
def test_one_byte_over_the_limit_then_recovery():
    buf = LineBuffer(max_line_bytes=LIMIT)
    out = buf.feed(_json_line(LIMIT + 1) + b"\n" + b'{"next":1}\n')
    assert out == [LineTooLong(LIMIT), b'{"next":1}']


def test_one_byte_over_the_limit_split_before_the_newline():
    buf = LineBuffer(max_line_bytes=LIMIT)
    line = _json_line(LIMIT + 1)
    assert buf.feed(line[:LIMIT]) == []
    assert buf.feed(line[LIMIT:] + b"\n{}\n") == [LineTooLong(LIMIT), b"{}"]


@pytest.mark.spec("TR-02")
def test_limit_exceeded_without_newline_across_chunks_reports_once():
    buf = LineBuffer(max_line_bytes=LIMIT)
    out = []
    out += buf.feed(b"y" * (LIMIT // 2))
    for _ in range(10):
        out += buf.feed(b"y" * LIMIT)               # far past the limit, no newline
    assert out == [LineTooLong(LIMIT)]
    # Memory stays bounded: nothing of the junk is kept.
    assert len(buf._partial) <= LIMIT
    out = buf.feed(b"tail of the junk\n" + b'{"ok":true}\n')
    assert out == [b'{"ok":true}']
    out = buf.feed(b'{"again":1}\n')
    assert out == [b'{"again":1}']


def test_eof_while_discarding_reports_nothing_more():
    buf = LineBuffer(max_line_bytes=LIMIT)
    assert buf.feed(b"z" * (LIMIT + 5)) == [LineTooLong(LIMIT)]
    assert buf.feed(b"") == []


def test_default_limit_is_64_mib():
    assert DEFAULT_MAX_LINE_BYTES == 64 * 1024 * 1024
    assert LineBuffer().max_line_bytes == DEFAULT_MAX_LINE_BYTES


# --- LineBuffer: end of stream --------------------------------------------------------------


def test_unterminated_tail_at_eof_is_truncated_not_delivered():
    buf = LineBuffer()
    assert buf.feed(b'{"a":1}\n{"b":') == [b'{"a":1}']
    assert buf.feed(b"") == [TruncatedAtEOF(5, b'{"b":')]
    assert buf.feed(b"") == []                       # once only
    assert buf.feed(b'2}\n') == []                   # nothing after the end


def test_whitespace_tail_at_eof_is_not_a_truncation():
    buf = LineBuffer()
    buf.feed(b'{"a":1}\n  \r')
    assert buf.feed(b"") == []


class _NeverSearched(bytearray):
    """A held partial line that fails the test if anything searches it again."""

    def _searched(self, *args, **kwargs):
        raise AssertionError("the held part of an unfinished line was searched again")

    find = index = rfind = split = count = __contains__ = _searched


def test_held_bytes_are_never_searched_again():
    """Linear time, checked structurally rather than with a clock (timing asserts are flaky).

    Only each new chunk is searched for a newline; the start of an unfinished line, held from
    earlier chunks, is never scanned again, so N chunks cost O(N), not O(N^2).
    """
    buf = LineBuffer()
    buf._partial = _NeverSearched()
    total = 0
    for _ in range(1000):
        assert buf.feed(b"x" * 64) == []
        total += 64
        assert len(buf._partial) == total
    out = buf.feed(b"\n")
    assert out == [b"x" * total]
    assert len(buf._partial) == 0


# --- decode ---------------------------------------------------------------------------------


@pytest.mark.spec("BP-02")
def test_decode_rejects_invalid_utf8():
    for bad in (b'{"a":"\xff"}', b'{"a":"\xc3"}', b'{"a":"\xed\xa0\x80"}', b"\x80"):
        with pytest.raises(FrameError):
            decode(bad)


@pytest.mark.spec("BP-01")
def test_decode_rejects_invalid_json():
    for bad in (b"{not json", b"{", b'{"a":1,}', b"'single'", b'{"a":1} {"b":2}', b"\r",
                b'{"a":01}'):
        with pytest.raises(FrameError):
            decode(bad)


def test_decode_rejects_nan_and_infinity():
    for bad in (b'{"a":NaN}', b'{"a":Infinity}', b'{"a":-Infinity}', b"NaN"):
        with pytest.raises(FrameError):
            decode(bad)


@pytest.mark.spec("BP-02")
def test_decode_rejects_utf16_and_utf32():
    text = '{"jsonrpc":"2.0","method":"ping","id":1}'
    for codec in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
        with pytest.raises(FrameError):
            decode(text.encode(codec))


@pytest.mark.spec("BP-02")
def test_decode_accepts_utf8_and_any_json_value():
    assert decode('{"s":"漢"}'.encode("utf-8")) == {"s": "漢"}
    assert decode(b"[1,2]") == [1, 2]
    assert decode(b"42") == 42
    assert decode(b"null") is None
    assert decode(b'  {"a":1}  ') == {"a": 1}


def _nested(depth, form):
    """A JSON text ``depth`` arrays (or objects) deep, with at the bottom a huge number (that
    line takes decode's second, marking pass: D-37) or a string of 70 000 characters (a
    line past 64 KiB), when ``form`` says so."""
    bottom = {"huge number": "1" + "0" * 5000, "long line": '"' + "x" * 70_000 + '"'}.get(form, "1")
    if form == "objects":
        return ('{"a":' * depth + bottom + "}" * depth).encode()
    return ("[" * depth + bottom + "]" * depth).encode()


@pytest.mark.spec("BP-01")
@pytest.mark.parametrize("form", ["arrays", "objects", "huge number", "long line"])
def test_nesting_is_refused_past_one_limit_on_every_interpreter(form):
    """D-51: MAX_NESTING (512) levels decode; one more is a FrameError (-32700), on every
    Python. json's own limit differs by version (about 990 on 3.9-3.11, 1 500 on 3.12,
    10 000 on 3.13, where 5 000 levels decoded and the old test failed), so a baseline for
    differential testing states its own."""
    if form == "huge number":       # decoded, then refused for its number, not its depth
        with pytest.raises(NumberOutOfRange) as caught:
            decode(_nested(MAX_NESTING, form))
        value = caught.value.value
    else:
        value = decode(_nested(MAX_NESTING, form))
    for _ in range(MAX_NESTING):
        value = value["a"] if form == "objects" else value[0]
    assert not isinstance(value, (dict, list))          # exactly MAX_NESTING levels
    for depth in (MAX_NESTING + 1, 1000, 1500, 5000, 20_000):
        # NestsTooDeep, a FrameError of its own: our limit, not the peer's fault (D-127).
        with pytest.raises(NestsTooDeep, match=f"more than {MAX_NESTING} deep"):
            decode(_nested(depth, form))
        # A number out of range first, the deep part after it (review of D-51).
        with pytest.raises(NestsTooDeep, match=f"more than {MAX_NESTING} deep"):
            decode(b"[1e400," + _nested(depth, form) + b"]")


def test_many_brackets_that_do_not_nest_deep_decode():
    """Only depth counts: a wide value with thousands of arrays and objects, and brackets
    inside strings, decode (the line's brackets are summed, and pass)."""
    wide = [{"k": [i, {"s": "[[[{{{"}]} for i in range(3000)]
    assert decode(json.dumps(wide).encode()) == wide
    inside_strings = {"text": "[" * 10_000 + "{" * 10_000}
    assert decode(json.dumps(inside_strings).encode()) == inside_strings
    long_and_shallow = {"blob": "x" * 100_000, "list": [[1]] * 100}
    assert decode(json.dumps(long_and_shallow).encode()) == long_and_shallow


_TRICKY_TEXT = ['[', ']', '{', '}', '(', ')', '()', '"',
                '\\', '\\"', '"]', '\\\\', '[[[', ']]]]', 'x', '\u2028']


def _deep_value(rng, depth):
    """A value nesting exactly ``depth`` deep, strings full of brackets, quotes and
    backslashes beside each level, so that a scan counting them as structure goes wrong."""
    value = rng.choice([0, "", rng.choice(_TRICKY_TEXT)])
    for _ in range(depth):
        text = "".join(rng.choice(_TRICKY_TEXT) for _ in range(rng.randrange(4)))
        if rng.random() < 0.5:
            value = [text, value] if rng.random() < 0.5 else [value, text, {}]
        else:
            value = {text: value, "k" + text: [text]} if rng.random() < 0.5 else {"a": value}
    return value


@pytest.mark.spec("BP-01")
def test_nests_too_deep_reads_the_depth_from_the_bytes_exactly():
    """D-51: the check runs on the bytes, before json recurses, and its answer is the
    value's true depth against MAX_NESTING, whatever the strings hold: 600 values around the
    limit, their strings made of brackets, quotes and escapes, written compact, spaced, and
    ASCII-escaped, each compared with a recursive count of the decoded value."""
    import random
    rng = random.Random(20261206)
    for _ in range(600):
        depth = rng.choice([rng.randrange(1, 40), rng.randrange(MAX_NESTING - 8, MAX_NESTING + 8)])
        value = _deep_value(rng, depth)
        expected = nesting_depth(value) > MAX_NESTING
        for line in (json.dumps(value, separators=(",", ":"), ensure_ascii=False),
                     json.dumps(value, ensure_ascii=True),
                     json.dumps(value, separators=(" ,\t", " : "))):
            data = line.encode("utf-8", "surrogatepass").replace(b"\n", b" ")
            assert nests_too_deep(data) is expected, (depth, line[:200])


def test_nests_too_deep_is_an_upper_bound_on_lines_that_are_not_json():
    """A broken line is never judged shallower than json would recurse into it before
    finding the error: unclosed brackets, an unterminated string, a stray closer."""
    assert nests_too_deep(b"[" * (MAX_NESTING + 1))                       # never closed
    assert nests_too_deep(b"[" * 600 + b'"abc')                           # string unterminated
    assert nests_too_deep(b'["]]]]",' + b"[" * 600 + b"]" * 601)          # closers in a string
    assert nests_too_deep(b"[" * 600 + b"}" * 600)                        # closers mismatched
    assert not nests_too_deep(b"[" * MAX_NESTING)                         # too few to matter
    assert not nests_too_deep(b"[]]" + b"[" * 5000)                       # json stops at "]"
    assert not nests_too_deep(b'"' + b"[" * 5000)                         # all in one string
    assert not nests_too_deep(b'["\\"' + b"[" * 5000 + b'"]')             # after an escaped quote


def test_nests_too_deep_holds_little_memory_however_many_strings_hold_brackets():
    """Review of D-51: dropping the strings split the line into one object per string, and
    a 64 MiB line of ']"[' (not JSON) took 2.1 GB. Now a slice at a time: the peak Python
    allocation stays a few times the line, here 3 MiB of it, every string holding a
    bracket. The answer is unchanged across slice boundaries (strings straddle them)."""
    import tracemalloc
    line = b']"[' * (1 << 20)
    valid = b"[" + b",".join([b'"[",[1]'] * 200_000) + b"]"       # 1.6 MB, strings straddle
    tracemalloc.start()
    try:
        assert not nests_too_deep(line) and not nests_too_deep(valid)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(line), peak
    assert nests_too_deep(b"[" + b'"]",' * 100_000 + b"[" * MAX_NESTING + b"]" * (MAX_NESTING + 1))


@pytest.mark.spec("BP-01")
def test_a_line_too_deep_never_reaches_json(monkeypatch):
    """D-51 (review): json recurses once per level before anything could look at the value,
    and on Python 3.13 with a small thread stack (musl's, or threading.stack_size) that
    crashed the process at 20 000 levels instead of raising. So the line is judged first:
    the decoder is never called with it, on any interpreter."""
    import mcp_ref.framing as framing
    called = []

    class Recording:
        def decode(self, text):
            called.append(len(text))
            return json.loads(text)

    monkeypatch.setattr(framing, "_DECODER", Recording())
    monkeypatch.setattr(framing, "_MARKING_DECODER", Recording())
    for line in (b"[" * 20_000 + b"]" * 20_000, b'{"a":' * 600 + b"1" + b"}" * 600,
                 b"[1e400," + b"[" * 5000 + b"]" * 5001):
        with pytest.raises(FrameError, match=f"more than {MAX_NESTING} deep"):
            decode(line)
    assert called == []
    assert decode(b"[" * MAX_NESTING + b"]" * MAX_NESTING) and called == [2 * MAX_NESTING]


_SMALL_STACK = """
import sys, threading
sys.path.insert(0, %r)
from mcp_ref.framing import FrameError, decode
threading.stack_size(1024 * 1024)
out = []
def run():
    for depth in (2000, 20000, 100000):
        try:
            decode(b"[" * depth + b"]" * depth)
        except FrameError as exc:
            out.append(str(exc))
thread = threading.Thread(target=run)
thread.start()
thread.join()
print(len(out))
"""


def test_a_deep_line_on_a_thread_with_a_small_stack_is_refused_not_a_crash():
    """The review's reproduction, in a child process so a crash cannot take the suite with
    it: a reader thread with a 1 MiB stack decodes lines 2 000 to 100 000 deep. Before the
    check moved in front of json, Python 3.13 died of SIGSEGV here (exit -11)."""
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-c", _SMALL_STACK % root], capture_output=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == b"3", done


# --- encode ---------------------------------------------------------------------------------


TRICKY = {"jsonrpc": "2.0", "id": 1, "result": {
    "nl": "line1\nline2", "cr": "a\rb", "crlf": "\r\n", "tab": "\t", "nul": "\x00",
    "ctl": "".join(chr(c) for c in range(32)), "seps": "\u2028\u2029\u0085",
    "uni": "ü 漢 🎉", "quote": '"\\', "nested": [{"k": ["v\n"]}], "num": 1.5, "big": 2 ** 60}}


@pytest.mark.spec("TR-02", "TR-03", "BP-02")
def test_encode_is_exactly_one_line():
    for obj in MESSAGES + [TRICKY]:
        data = encode(obj)
        assert data.endswith(b"\n")
        assert data.count(b"\n") == 1
        assert b"\r" not in data
        data.decode("utf-8")                                  # valid UTF-8
        assert json.loads(data) == obj
        assert decode(data[:-1]) == obj


def test_encode_is_compact():
    assert encode({"a": [1, 2], "b": {"c": "d"}}) == b'{"a":[1,2],"b":{"c":"d"}}\n'
    # No whitespace between tokens anywhere: the only spaces left are inside strings.
    expected = json.dumps(TRICKY, ensure_ascii=False, separators=(",", ":"))
    for char in ("\u2028", "\u2029", "\u0085"):
        expected = expected.replace(char, "\\u%04x" % ord(char))
    assert encode(TRICKY) == expected.encode("utf-8") + b"\n"


def test_encode_writes_non_ascii_as_utf8():
    assert encode({"s": "é"}) == '{"s":"é"}\n'.encode("utf-8")


def test_encode_escapes_unicode_line_separators():
    data = encode({"s": "\u2028"})
    assert data == b'{"s":"\\u2028"}\n'
    assert b"\xe2\x80\xa8" not in encode({"s": "x\u2028y", "\u2028": "\u2029"})
    assert b"\xc2\x85" not in encode({"s": "\u0085"})


def test_encode_lone_surrogate_falls_back_to_ascii_escapes():
    obj = {"s": "\ud800", "t": "é\udfff漢"}
    data = encode(obj)
    data.decode("ascii")                                     # every byte is ASCII
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    assert b"\\ud800" in data
    assert decode(data[:-1]) == obj


@pytest.mark.spec("BP-01")
def test_encode_refuses_what_json_cannot_carry_with_a_typed_error():
    """NotJson is a LocalProtocolError (we broke BP-01) and, like json's own error, a
    ValueError; it names the value's problem."""
    for bad in (float("nan"), float("inf"), -float("inf"), b"bytes", {1, 2}, object()):
        with pytest.raises(NotJson) as info:
            encode({"x": bad})
        assert isinstance(info.value, LocalProtocolError) and isinstance(info.value, ValueError)
        assert info.value.catalogue_id == "BP-01" and "JSON" in str(info.value)


@pytest.mark.spec("BP-01")
@pytest.mark.parametrize("form", ["arrays", "objects", "long line"])
def test_encode_sends_nothing_its_own_decode_would_refuse_as_too_deep(form):
    """D-51, both ways: a value MAX_NESTING deep is sent and decodes again; one level more,
    or far more (past json's own recursion limit, which raised RecursionError out of encode
    before), is NotJson (-32603 when a handler's result), so no mcp_ref peer is sent a line
    it answers -32700."""
    for depth in (MAX_NESTING, MAX_NESTING + 1, 5000, 100_000):
        value = json.loads(_nested(min(depth, 900), form))          # json.loads: 900 is safe
        if depth > 900:                                               # build deeper by hand
            for _ in range(depth - 900):
                value = {"a": value} if form == "objects" else [value]
        if depth <= MAX_NESTING:
            assert decode(encode(value)[:-1]) == value
            continue
        with pytest.raises(NotJson, match=f"more than {MAX_NESTING} deep") as caught:
            encode(value)
        assert caught.value.code == -32603 and caught.value.catalogue_id == "BP-01"
    as_tuples = 0                         # json writes a tuple as an array (review of D-51)
    for _ in range(MAX_NESTING + 1):
        as_tuples = (as_tuples,)
    with pytest.raises(NotJson, match=f"more than {MAX_NESTING} deep"):
        encode({"x": as_tuples})


def test_encode_then_linebuffer_round_trip_of_tricky_payload():
    data = encode(TRICKY) * 3
    out = []
    buf = LineBuffer()
    for i in range(0, len(data), 5):
        out += buf.feed(data[i:i + 5])
    assert _decoded(out) == [TRICKY] * 3
