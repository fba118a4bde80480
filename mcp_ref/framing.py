"""Newline-delimited JSON framing for the stdio transport.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio

On stdio, messages are UTF-8 JSON (BP-02), one per line, separated by ``\\n``, and a message
never contains an embedded newline (TR-02, TR-03). There are no headers: this is *not* the
``Content-Length`` framing of LSP (catalogue section 5, item 3).

Receiving (:class:`LineBuffer`): bytes arrive in chunks of any size; complete lines come out.
Leniency for what the spec does not address (decision D-08, catalogue A8): a trailing ``\\r``
is stripped and blank lines are skipped. A line longer than ``max_line_bytes`` is discarded up
to its newline and reported once as :class:`LineTooLong`, so memory stays bounded.

Sending (:func:`encode`): compact JSON, UTF-8, plus ``\\n``.
"""

from __future__ import annotations

import json
from itertools import accumulate

from ._record import Record
from .errors import ErrorCode, NotJson, quoted

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    from typing import Any, List, Optional, Union

#: Default maximum size of one line, in bytes (decision D-03). Large enough for the 40 MiB
#: payloads of the benchmarks (base64 images and file contents travel inside tool results),
#: small enough that a peer that never sends a newline cannot exhaust memory.
DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024

#: How deep arrays and objects may nest in one line, received or sent (decision D-51). MCP
#: sets no limit (BP-01: every message is a JSON-RPC 2.0 object,
#: https://modelcontextprotocol.io/specification/2025-11-25/basic/index#messages) and JSON
#: leaves it to the implementation (RFC 8259 section 9); ours is one number on every
#: interpreter, where json's own depends on the version (about 990 on 3.9-3.11, 1 500 on
#: 3.12, 10 000 on 3.13). No MCP message comes near it: a tools/list result with nested
#: schemas is a few dozen deep.
MAX_NESTING = 512


class LineTooLong(Record):
    """A line exceeded the limit; its bytes were discarded up to the next newline."""

    __slots__ = ("limit",)

    def __init__(self, limit: int) -> None:
        self.limit = limit


class TruncatedAtEOF(Record):
    """The stream ended in the middle of a line; the partial line was not delivered.
    ``data``: its bytes (at most the limit), for a transcript to show (D-78)."""

    __slots__ = ("size", "data")

    def __init__(self, size: int, data: bytes = b"") -> None:
        self.size = size
        self.data = data


class FrameError(Exception):
    """A complete line that is not valid UTF-8 JSON: the caller answers -32700."""


class OutOfRange(Record):
    """Stands in, inside a decoded value, for a JSON number Python cannot carry back out: an
    integer longer than the interpreter's digit limit, or a float beyond a double (D-37)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    @property
    def reason(self) -> str:
        """What an error answer or a log line says about this number, quoted briefly (BP-36:
        a peer's 5 000-digit integer is cut, with its length)."""
        return (f"the number {quoted(self.text)} is out of the range this implementation can "
                "represent")


class NumberOutOfRange(FrameError):
    """A line of valid JSON holding a number we cannot represent (D-37).

    ``value`` is the line decoded with each such number replaced by :class:`OutOfRange`, so
    the caller can still read the message's id and answer it.
    """

    def __init__(self, message: str, value: Any) -> None:
        super().__init__(message)
        self.value = value


class NestsTooDeep(FrameError):
    """A line nesting arrays and objects deeper than :data:`MAX_NESTING`, not read (D-51).

    The limit is ours: JSON lets a reader set one (RFC 8259 section 9) and MCP sets none, so
    the peer broke no rule by it; the line is not read, so whether it is valid JSON is not
    judged either. Still answered -32700 with id null, as any line whose id cannot be read
    (D-04), but reported as mcp_ref's limit, not as the peer's fault (D-127, as D-123 did for
    the line limit of D-03).
    """


class LineBuffer:
    """Accumulates bytes and splits them into lines.

    ``feed(data)`` returns a list whose items are complete lines (``bytes``, without the line
    ending) or the markers :class:`LineTooLong` / :class:`TruncatedAtEOF`. Feeding ``b""``
    means end of stream. A trailing ``\\r`` is dropped and blank lines are skipped (D-08),
    unless ``verbatim``: then they are returned as they came (for a transcript, D-86). Only
    the new bytes are searched for ``\\n``, so a large line fed in
    many small chunks costs linear, not quadratic, time (h11's ``_receivebuffer.py`` takes the
    same care), and each line is copied at most once.
    """

    def __init__(self, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, *,
                 verbatim: bool = False) -> None:
        self.max_line_bytes = max_line_bytes
        self.verbatim = verbatim
        self._partial = bytearray()  # the start of a line whose "\n" has not arrived yet
        self._discarding = False     # inside an over-long line, dropping bytes until "\n"
        self._eof = False

    def feed(self, data: bytes) -> List[Union[bytes, LineTooLong, TruncatedAtEOF]]:
        if self._eof:
            return []
        if not data:
            return self._end_of_stream()
        out: List[Union[bytes, LineTooLong, TruncatedAtEOF]] = []
        if b"\n" not in data:                      # more of a line that has not ended yet
            self._keep(data, out)
            return out
        *lines, rest = data.split(b"\n")           # rest: after the last "\n", maybe b""
        if self._partial:                          # the first line began in an earlier chunk
            self._partial += lines[0]
            lines[0] = bytes(self._partial)
            self._partial.clear()
        if self._discarding:
            self._discarding = False               # the over-long line ends here
            del lines[0]
        for line in lines:
            if len(line) > self.max_line_bytes:
                out.append(LineTooLong(self.max_line_bytes))
            elif self.verbatim:
                out.append(line)
            else:
                if line.endswith(b"\r"):
                    line = line[:-1]               # tolerate CRLF (A8)
                if line.strip():                   # skip blank lines (A8)
                    out.append(line)
        self._keep(rest, out)
        return out

    def _keep(self, data: bytes, out: List[Any]) -> None:
        """Hold the start of an unfinished line, unless it is already over the limit: then
        drop it, and everything up to the next "\n", and report it once."""
        if self._discarding:
            return
        self._partial += data
        if len(self._partial) > self.max_line_bytes:
            out.append(LineTooLong(self.max_line_bytes))
            self._discarding = True
            self._partial.clear()

    def _end_of_stream(self) -> List[Union[bytes, LineTooLong, TruncatedAtEOF]]:
        self._eof = True
        leftover = bytes(self._partial)
        self._partial.clear()
        if self._discarding or not leftover.strip():
            return []
        return [TruncatedAtEOF(len(leftover), leftover)]


class _NotJson(ValueError):
    pass


class _TooLarge(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; JSON (RFC 8259) does not.
    raise _NotJson(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    # A number too large for a double ("1e400") would become inf, which no JSON can carry back.
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _TooLarge(f"number {text} is out of range")
    return value


def _float_or_marker(text: str) -> Any:
    value = float(text)
    return OutOfRange(text) if value in (float("inf"), float("-inf")) else value


def _int_or_marker(text: str) -> Any:
    try:
        return int(text)
    except ValueError:             # more digits than sys.get_int_max_str_digits() allows
        return OutOfRange(text)


#: One decoder and one encoder for every message: json.loads/json.dumps with non-default
#: options would build a new one per call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)
#: Used only after _DECODER met a number out of range, to read the rest of the message (D-37).
_MARKING_DECODER = json.JSONDecoder(parse_constant=_reject_constant,
                                    parse_float=_float_or_marker, parse_int=_int_or_marker)
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_ASCII_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False)


def decode(line: bytes) -> Any:
    """Decode one line as UTF-8 JSON, or raise :class:`FrameError` (answered with -32700).

    The bytes are decoded as UTF-8 explicitly: ``json.loads`` given bytes would also guess
    UTF-16 and UTF-32, which the wire never carries (BP-02). A line nesting deeper than
    :data:`MAX_NESTING` is refused before json reads it: :class:`NestsTooDeep` (D-51).
    """
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FrameError(f"line is not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    if nests_too_deep(line):            # D-51: before json recurses into it (D-127)
        raise NestsTooDeep(_TOO_DEEP)
    try:
        value = _DECODER.decode(text)
    except (json.JSONDecodeError, _NotJson) as exc:
        raise FrameError(f"line is not valid JSON ({exc})") from None
    except ValueError:
        # Valid JSON, but a number too long for int() (Python 3.11+ limits integer strings to
        # 4300 digits) or too large for a double. Decode again, marking such numbers, so the
        # message can still be answered by its id (D-37). Rare, so the fast path pays nothing.
        try:
            value = _MARKING_DECODER.decode(text)
        except ValueError as exc:                       # broken further on, after the number
            raise FrameError(f"line is not valid JSON ({exc})") from None
        except RecursionError:
            raise NestsTooDeep(_TOO_DEEP) from None
        first = first_out_of_range(value)
        if first is None:
            # The number was in a member named twice, and the later one won, as it does for
            # every duplicate name (RFC 8259 leaves duplicates to the reader): nothing out of
            # range is left, so this is an ordinary message.
            return value
        raise NumberOutOfRange(first.reason, value) from None
    except RecursionError:
        # Not reached from a shallow stack: json's own limit lies above MAX_NESTING on every
        # interpreter. Called from deep inside a program, it may not; the reader survives.
        raise NestsTooDeep(_TOO_DEEP) from None
    return value


_TOO_DEEP = f"line nests arrays and objects more than {MAX_NESTING} deep"

# For nests_too_deep: everything but brackets and quotes is deleted, brackets become
# parentheses, and a running sum of +1 per "(" and -1 per ")" is the depth at each point.
_NOT_MARKS = bytes(b for b in range(256) if b not in b'[]{}"')
_AS_PARENTHESES = bytes.maketrans(b"[{]}", b"(())")
_STEP = [0] * 256
_STEP[ord("(")], _STEP[ord(")")] = 1, -1
#: Indexed by the running depth: True at MAX_NESTING + 1, its last item, and so at -1 too
#: (Python reads index -1 as the last item). The sum stops at the first True: a depth past
#: the limit, or a closer with no opener, where json has stopped reading. No other index
#: is ever asked, since the depth moves by one at a time.
_OUT_OF_RANGE = [False] * (MAX_NESTING + 1) + [True]
#: Passes of removing innermost pairs that nests_too_deep tries before summing (D-51).
_QUICK_PASSES = 16
#: Bytes of marks split at a time when strings are dropped: bounds the pieces alive at once.
_SLICE = 1 << 16


def nests_too_deep(line: bytes) -> bool:
    """Whether the JSON text ``line`` nests arrays and objects more than :data:`MAX_NESTING`
    deep, read from its bytes alone (D-51).

    From the bytes, because ``json`` recurses once per level *before* any check on the value
    could run, and on a small thread stack (Python 3.13's limit is 10 000 levels) that
    recursion can crash the process rather than raise. Only a line with more than
    MAX_NESTING opening brackets can nest that deep, so nearly every line is cleared by two
    counts of its bytes (C code: 0.2 us for a ping, 23 ms for 40 MiB). For the others, the
    brackets outside strings are kept, as parentheses, and a nesting a few levels deep is
    cleared by removing innermost pairs a few times; anything else is summed exactly, up to
    the first point past the limit.
    For a line that is not JSON the answer is an upper bound, never less than json would
    recurse before finding the error.
    """
    if line.count(b"[") + line.count(b"{") <= MAX_NESTING:
        return False
    if b"\\" in line:
        # Drop escapes that hide or fake a quote: each \\ first (backslashes pair up from
        # the left, as JSON reads them), then each \" left is a quote inside a string.
        line = line.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Brackets and quotes only. An adjacent pair of quotes is a string with no bracket in
    # it, or the end of one string and the start of the next with nothing between: either
    # way, removing it changes no structure. What quotes remain bound strings that hold
    # brackets; drop those strings.
    marks = line.translate(_AS_PARENTHESES, _NOT_MARKS).replace(b'""', b"")
    if b'"' in marks:
        # A slice at a time: split makes one object per piece (']"[' * N, invalid, made
        # ~35 bytes of memory per byte of line), so only one slice's pieces live at once.
        # ``inside``: whether the slice starts inside a string (an odd number of quotes
        # came before it), so that its pieces outside strings are the odd ones.
        kept, inside = [], 0
        for start in range(0, len(marks), _SLICE):
            pieces = marks[start:start + _SLICE].split(b'"')
            kept.append(b"".join(pieces[inside::2]))
            inside ^= (len(pieces) - 1) & 1
        marks = b"".join(kept)
    rest = marks
    for _ in range(_QUICK_PASSES):      # each pass removes one level: the innermost pairs
        shorter = rest.replace(b"()", b"")
        if not shorter:
            return False                # balanced, and at most _QUICK_PASSES deep
        if len(rest) - len(shorter) <= 2 and len(shorter) > 2 * _QUICK_PASSES:
            # One pair went, or none: what is left is a single chain, or not JSON. Each
            # pass to come could take one more pair at most, too few to clear it.
            break
        rest = shorter
    # The running depth, +1 at each "(" and -1 at each ")", stopping at the first point
    # past the limit, or at -1 (filter and next: C iterators, no Python loop).
    out_of_range = filter(_OUT_OF_RANGE.__getitem__, accumulate(map(_STEP.__getitem__, marks)))
    return next(out_of_range, 0) > MAX_NESTING


def first_out_of_range(value: Any) -> Optional[OutOfRange]:
    """The first :class:`OutOfRange` marker inside a decoded value, or None."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, OutOfRange):
            return item
        if isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return None


# U+2028 and U+2029 are legal, unescaped, inside JSON strings, but line readers that use
# Unicode line boundaries (Python's str.splitlines, for one) split on them, and U+0085 too.
# Escaping them costs nothing and keeps every reader on one line per message (decision D-09).
_UNICODE_LINE_BREAKS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\u0085": "\\u0085"}


def encode(obj: Any) -> bytes:
    """One compact JSON line, UTF-8, ending in ``\\n`` (TR-02, TR-03, BP-02).

    ``json.dumps`` never emits a raw newline: control characters inside strings are escaped,
    and the compact separators put no whitespace between tokens. What :func:`decode` would
    refuse as nesting too deep is not sent either (D-51).
    """
    try:
        text = _ENCODER.encode(obj)
    except (TypeError, ValueError) as exc:       # NaN, bytes, an object: not JSON (BP-01)
        raise NotJson(f"cannot send a value JSON cannot carry: {exc}",
                      code=ErrorCode.INTERNAL_ERROR, catalogue_id="BP-01") from exc
    except RecursionError:                       # nested past json's own limit (D-51)
        raise _not_sent_too_deep() from None
    for char, escaped in _UNICODE_LINE_BREAKS.items():
        if char in text:
            text = text.replace(char, escaped)
    try:
        data = text.encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        # A lone surrogate (say, echoed from a peer's "\\ud800") has no UTF-8 form; ASCII
        # escapes keep the value and the wire valid.
        data = _ASCII_ENCODER.encode(obj).encode("ascii") + b"\n"
    if nests_too_deep(data):            # BP-01, D-51: send nothing our reader refuses
        raise _not_sent_too_deep()
    return data


def _not_sent_too_deep() -> NotJson:
    return NotJson(f"cannot send a value that nests arrays and objects more than "
                   f"{MAX_NESTING} deep (MAX_NESTING, D-51)",
                   code=ErrorCode.INTERNAL_ERROR, catalogue_id="BP-01")
