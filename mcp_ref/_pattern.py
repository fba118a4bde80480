"""JSON Schema's ``pattern`` without backtracking: a small ECMA-262 matcher (decision D-128).

JSON Schema's ``pattern`` and ``patternProperties`` hold regular expressions in the ECMA-262
dialect, and they are *not anchored*: a string passes when the expression matches anywhere
in it (2020-12 validation §6.3.3, https://json-schema.org/draft/2020-12/json-schema-validation
#section-6.3.3; core §10.3.2.2 for patternProperties; validation §4.3 defers to core §6.4,
"Regular Expressions", https://json-schema.org/draft/2020-12/json-schema-core#section-6.4).

Why not Python's ``re``: it backtracks, so a peer's pattern such as ``(a+)+$`` on a long string
of ``a`` takes time exponential in its length, with no timeout (a client checks the *server's*
outputSchema, TL-09: the pattern is untrusted); and it is not ECMA-262 (its ``$`` also
matches before a final newline, its ``\\d`` takes any Unicode digit).

So this module reads a conservative subset of ECMA-262's syntax (§22.2.1 Patterns) into a
small tree, turns the tree into a nondeterministic automaton (Thompson's construction) and
runs it by keeping the *set* of states it could be in, one character after another (Russ
Cox, "Regular Expression Matching Can Be Simple And Fast", https://swtch.com/~rsc/regexp/
regexp1.html). The work is at most the length of the string times the automaton's size:
no pattern can make it hang. Whether a string matches is all JSON Schema asks, and that does
not depend on the order in which a backtracking engine would try things (ECMA's lazy
quantifiers, its rule against empty loop iterations): without backreferences or lookaround
an ECMA pattern matches exactly the strings of the regular language its tree describes.

Strings are read by code point, as ECMA-262 reads them with the ``u`` flag (ajv, the
TypeScript SDK's validator, compiles every pattern so); a Python ``str`` already is a
sequence of code points. Case matters (no ``i`` flag) and ``^``/``$`` are the start and end
of the string (no ``m`` flag).

The subset, each with ECMA's meaning (§22.2.2 Pattern Semantics):

* literal characters; ``.`` (any code point but a line terminator: \\n \\r \\u2028 \\u2029);
* ``\\d \\D \\w \\W \\s \\S`` (§22.2.2.9 CompileToCharSet: \\d is 0-9 and \\w is
  [A-Za-z0-9_], ASCII only; \\s is WhiteSpace and LineTerminator, §12.2 and §12.3);
* the escapes ``\\t \\n \\v \\f \\r``, ``\\uXXXX`` (a surrogate pair written as two of them is
  one code point, as the ``u`` flag reads it) and an escaped syntax character
  ``^ $ \\ . * + ? ( ) [ ] { } | /`` (and ``\\-`` inside a class);
* classes ``[...]`` and ``[^...]`` of characters, ranges ``a-z`` and the escapes above;
* groups ``(...)`` and ``(?:...)``, alternatives ``|``;
* quantifiers ``* + ? {n} {n,} {n,m}`` and their lazy forms (``*?`` ...);
* ``^`` and ``$``.

Anything else has no answer here: :func:`compiled` gives None and the caller's verdict is
"not known", never a problem reported (the subset's law, D-46, D-49). That covers what the
subset leaves out (backreferences, lookaround, ``\\b``, named groups, ``\\p{...}``,
``\\u{...}``, ``\\c``, ``\\0``, ``\\x``, ...) and what ECMA-262's ``u`` mode refuses (a
quantifier on nothing or on ``^``, a lone ``{`` or ``]``, ``[z-a]``, an unknown escape).
"""

from __future__ import annotations

import bisect
import functools

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    from typing import Any, List, Optional, Tuple

#: The largest automaton built, in states. A counted repetition is written out
#: (``x{3,5}`` is ``xxx`` and two optional ``x``), so ``(a{1000}){1000}`` would be a million
#: states: a pattern whose automaton would be bigger is refused (None), not built.
MAX_STATES = 2000

#: Groups nested deeper than this are refused: the reader and the builder recurse.
MAX_NESTING = 32

#: A longer pattern is refused unread: the cache below keeps the patterns it has read, and
#: no schema in the wild comes near (the longest, e-mail addresses, are a few hundred).
MAX_LENGTH = 10_000

#: The largest code point (a Python str holds nothing above it).
_LAST = 0x10FFFF

# --- Sets of characters -----------------------------------------------------------------------
#
# A set of code points is a sorted tuple of disjoint, non-adjacent (first, last) ranges, so
# that one look-up is a binary search, however many ranges a class lists.

#: ECMA-262 §12.3 LineTerminator: what ``.`` does not match.
_LINE_TERMINATORS = ((0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029))
#: §22.2.2.9: \d, \w (WordCharacters without the i flag: ASCII only) ...
_DIGITS = ((0x30, 0x39),)
_WORD = ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A))
#: ... and \s: WhiteSpace (§12.2: TAB, VT, FF, ZWNBSP and the Zs category) and LineTerminator.
_SPACE = ((0x09, 0x0D), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
          (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000),
          (0xFEFF, 0xFEFF))


def _merged(ranges: Any) -> Tuple[Tuple[int, int], ...]:
    """``ranges`` sorted, with overlapping or adjacent ranges joined."""
    out: List[List[int]] = []
    for first, last in sorted(ranges):
        if out and first <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], last)
        else:
            out.append([first, last])
    return tuple((first, last) for first, last in out)


def _complement(ranges: Any) -> Tuple[Tuple[int, int], ...]:
    """Every code point not in ``ranges`` (\\D, [^...], and ``.``)."""
    out, next_free = [], 0
    for first, last in _merged(ranges):
        if first > next_free:
            out.append((next_free, first - 1))
        next_free = last + 1
    if next_free <= _LAST:
        out.append((next_free, _LAST))
    return tuple(out)


#: The class escapes, by their letter: a lower-case letter's set, an upper-case its
#: complement (§22.2.2.9).
_CLASS_ESCAPES = {"d": _DIGITS, "w": _WORD, "s": _SPACE}
_CLASS_ESCAPES.update({letter.upper(): _complement(ranges)
                       for letter, ranges in list(_CLASS_ESCAPES.items())})
#: The control escapes (§22.2.1 ControlEscape: Table "ControlEscape Code Point Values").
_CONTROL_ESCAPES = {"t": 0x09, "n": 0x0A, "v": 0x0B, "f": 0x0C, "r": 0x0D}
#: SyntaxCharacter and ``/``, which the ``u`` flag lets be escaped (IdentityEscape[+U]).
_SYNTAX = "^$\\.*+?()[]{}|/"


class Unsupported(Exception):
    """The pattern is outside the subset, or not a valid ECMA-262 pattern with the ``u`` flag,
    or too big (:data:`MAX_STATES`, :data:`MAX_NESTING`): it has no answer here."""


# --- Reading the pattern into a tree (ECMA-262 §22.2.1) ----------------------------------------
#
# The tree's nodes are tuples:
#   ("set", ranges)                 one character of the set
#   ("seq", [node, ...])            each in turn (an empty list matches the empty string)
#   ("alt", [node, ...])            any one of them
#   ("repeat", node, least, most)   node least to most times (most None: no limit)
#   ("start",) and ("end",)         ^ and $: the start and the end of the string


class _Reader:
    """A recursive-descent reader of the grammar's Disjunction, Alternative, Term, Atom and
    Quantifier (§22.2.1), for the subset only."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.at = 0
        self.nesting = 0

    def peek(self) -> str:
        return self.source[self.at] if self.at < len(self.source) else ""

    def take(self) -> str:
        char = self.peek()
        if not char:
            raise Unsupported("the pattern ends too early")
        self.at += 1
        return char

    def pattern(self) -> Any:
        node = self.disjunction()
        if self.at != len(self.source):
            raise Unsupported(f"unexpected {self.peek()!r}")       # a lone ")"
        return node

    def disjunction(self) -> Any:
        """Alternative ( "|" Alternative )*."""
        branches = [self.alternative()]
        while self.peek() == "|":
            self.at += 1
            branches.append(self.alternative())
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def alternative(self) -> Any:
        """Term*: atoms, each perhaps quantified, and the assertions ^ and $."""
        terms: List[Any] = []
        while self.peek() not in ("", "|", ")"):
            char = self.peek()
            if char in "^$":
                self.at += 1
                terms.append(("start",) if char == "^" else ("end",))
                if self.peek() and self.peek() in "*+?{":
                    raise Unsupported("a quantifier on an assertion")   # an error with u
                continue
            atom = self.atom()
            terms.append(self.quantified(atom))
        return ("seq", terms)

    def atom(self) -> Any:
        char = self.take()
        if char == "(":
            return self.group()
        if char == "[":
            return ("set", self.character_class())
        if char == ".":
            return ("set", _complement(_LINE_TERMINATORS))
        if char == "\\":
            escaped = self.escape(in_class=False)
            return ("set", escaped if isinstance(escaped, tuple) else ((escaped, escaped),))
        if char in "*+?{}]":
            # A quantifier with nothing to repeat, or a lone "{", "}" or "]": syntax errors
            # with the u flag (§22.2.1.1 Early Errors; Annex B's leniency is for non-u only).
            raise Unsupported(f"{char!r} where an atom belongs")
        return ("set", ((ord(char), ord(char)),))

    def group(self) -> Any:
        """After "(": a capturing group, or "(?:" a non-capturing one. Captures are not
        needed (nothing here reads them); "(?=", "(?!", "(?<" are lookaround or names."""
        if self.peek() == "?":
            self.at += 1
            if self.take() != ":":
                raise Unsupported("lookaround or a named group")
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise Unsupported(f"groups nested more than {MAX_NESTING} deep")
        node = self.disjunction()
        self.nesting -= 1
        if self.take() != ")":
            raise Unsupported("a group is not closed")
        return node

    def quantified(self, atom: Any) -> Any:
        """``atom`` with the Quantifier after it, if any (§22.2.1: * + ? {n} {n,} {n,m},
        each perhaps followed by ? to make it lazy, which changes nothing here)."""
        char = self.peek()
        if char in ("*", "+", "?"):
            self.at += 1
            least, most = {"*": (0, None), "+": (1, None), "?": (0, 1)}[char]
        elif char == "{":
            self.at += 1
            least = most = self.number()
            if self.peek() == ",":
                self.at += 1
                most = None if self.peek() == "}" else self.number()
            if self.take() != "}":
                raise Unsupported("a malformed {n,m}")
            if most is not None and most < least:
                raise Unsupported("{n,m} with m below n")   # an early error (§22.2.1.1)
        else:
            return atom
        if self.peek() == "?":
            self.at += 1                                    # lazy: the same strings match
        if self.peek() and self.peek() in "*+?{":
            raise Unsupported("a quantifier on a quantifier")
        return ("repeat", atom, least, most)

    def number(self) -> int:
        start = self.at
        while self.peek() and self.peek() in "0123456789":
            self.at += 1
        if start == self.at:
            raise Unsupported("a malformed {n,m}")
        digits = self.source[start:self.at].lstrip("0") or "0"
        # More than MAX_STATES repetitions can never be built: no need to read a huge number.
        return int(digits) if len(digits) <= 6 else MAX_STATES + 1

    def escape(self, in_class: bool) -> Any:
        """After a backslash: a code point (an int), or a class escape's ranges (a tuple).
        Only the escapes of the subset; others (\\b, \\1, \\0, \\c, \\x, \\p, \\k, \\u{...}
        and any escape ECMA's u mode refuses) raise Unsupported."""
        char = self.take()
        if char in _CLASS_ESCAPES:
            return _CLASS_ESCAPES[char]
        if char in _CONTROL_ESCAPES:
            return _CONTROL_ESCAPES[char]
        if char in _SYNTAX or (in_class and char == "-"):
            return ord(char)                # IdentityEscape[+U]; ClassEscape[+U] :: -
        if char == "u":
            unit = self.hex4()
            # §22.2.1 RegExpUnicodeEscapeSequence[+U]: \uLEAD\uTRAIL is one code point.
            if 0xD800 <= unit <= 0xDBFF and self.source.startswith("\\u", self.at):
                saved = self.at
                self.at += 2
                trail = self.hex4()
                if 0xDC00 <= trail <= 0xDFFF:
                    return 0x10000 + ((unit - 0xD800) << 10) + (trail - 0xDC00)
                self.at = saved             # a lone lead surrogate: a code point of its own
            return unit
        raise Unsupported(f"the escape \\{char}")

    def hex4(self) -> int:
        digits = self.source[self.at:self.at + 4]
        if len(digits) != 4 or any(d not in "0123456789abcdefABCDEF" for d in digits):
            raise Unsupported("\\u not followed by four hexadecimal digits")   # \u{...} too
        self.at += 4
        return int(digits, 16)

    def character_class(self) -> Tuple[Tuple[int, int], ...]:
        """After "[": the class's set, up to its "]" (§22.2.1 CharacterClass, §22.2.2.9).
        ``[]`` matches nothing and ``[^]`` any code point, as in ECMA-262. A "-" is a range
        between two characters; as the first or the last member it is itself. Anywhere else
        (beside a class escape, after a range) the subset refuses it: ECMA's reading there
        is an early error or easy to misread."""
        negated = self.peek() == "^"
        if negated:
            self.at += 1
        ranges: List[Tuple[int, int]] = []
        first_member = True
        while True:
            char = self.take()
            if char == "]":
                break
            if char == "-" and first_member and self.peek() == "-":
                raise Unsupported("a range from '-'")           # [--a]: easy to misread
            if char == "-" and (first_member or self.peek() == "]"):
                ranges.append((ord("-"), ord("-")))
                first_member = False
                continue
            low = self.class_atom(char)
            first_member = False
            if self.peek() == "-" and self.source[self.at + 1:self.at + 2] not in ("]", ""):
                self.at += 1
                high = self.class_atom(self.take())
                if isinstance(low, tuple) or isinstance(high, tuple):
                    raise Unsupported("a range with a class escape")    # an error with u
                if high < low:
                    raise Unsupported("a range out of order")            # an early error
                ranges.append((low, high))
                if self.peek() == "-" and self.source[self.at + 1:self.at + 2] != "]":
                    raise Unsupported("a '-' right after a range")
            elif isinstance(low, tuple):
                ranges.extend(low)
            else:
                ranges.append((low, low))
        merged = _merged(ranges)
        return _complement(merged) if negated else merged

    def class_atom(self, char: str) -> Any:
        """One member of a class: a code point, or a class escape's ranges."""
        if char == "\\":
            return self.escape(in_class=True)
        if char == "[":
            # A literal "[" in ECMA's u mode, but the v flag nests classes, and Python warns
            # of it: refused, so that no reader has to wonder.
            raise Unsupported("'[' inside a class")
        return ord(char)


def _size(node: Any) -> int:
    """How many states :class:`Pattern` builds for ``node``, worked out before building it,
    so that a pattern too big for :data:`MAX_STATES` is refused without being built."""
    kind = node[0]
    if kind in ("set", "start", "end"):
        return 1
    if kind in ("seq", "alt"):
        parts = sum(_size(part) for part in node[1])
        return parts + (len(node[1]) - 1 if kind == "alt" else 0)     # a split per choice
    _, atom, least, most = node
    one = _size(atom)
    if most is None:
        return one * max(least, 1) + 1                  # least copies and a loop's split
    return one * most + (most - least)                  # copies, and a split per optional one


# --- The automaton (Thompson's construction) and its simulation -------------------------------
#
# States are numbered; each is a tuple:
#   ("set", ranges, next)      read one character in ranges, go to next
#   ("split", first, second)   go to both, reading nothing
#   ("start", next), ("end", next)   go to next, reading nothing, at the start or the end only
#   ("match",)                 the pattern has matched


class Pattern:
    """One pattern, compiled. :meth:`search` says whether it matches anywhere in a string."""

    def __init__(self, tree: Any) -> None:
        self.states: List[Any] = [("match",)]
        self.start = self._build(tree, 0)

    def _add(self, state: Any) -> int:
        self.states.append(state)
        return len(self.states) - 1

    def _build(self, node: Any, after: int) -> int:
        """The states that match ``node`` and then go on to state ``after``; returns the
        first of them. Built back to front, so every state knows its successor when made."""
        kind = node[0]
        if kind == "set":
            return self._add(("set", node[1], after))
        if kind in ("start", "end"):
            return self._add((kind, after))
        if kind == "seq":
            for part in reversed(node[1]):
                after = self._build(part, after)
            return after
        if kind == "alt":
            # a | b | c: split(a, split(b, c)).
            first = self._build(node[1][-1], after)
            for branch in reversed(node[1][:-1]):
                first = self._add(("split", self._build(branch, after), first))
            return first
        _, atom, least, most = node
        if most is None:
            # A loop: a split that either goes through the atom and back to itself, or on.
            # The split is made first (a placeholder), since the atom's states lead to it.
            loop = self._add(None)
            body = self._build(atom, loop)
            self.states[loop] = ("split", body, after)
            # x* enters at the split (zero times or more), x+ at the atom (once or more);
            # x{3,} is two copies of x, then x+.
            after = body if least >= 1 else loop
            least = max(least - 1, 0)
        else:
            # x{2,4} is x x (x (x)?)?: the optional copies, innermost first, then the required.
            end = after
            for _ in range(most - least):
                after = self._add(("split", self._build(atom, after), end))
        for _ in range(least):
            after = self._build(atom, after)
        return after

    def search(self, text: str, budget: int) -> Tuple[Optional[bool], int]:
        """Whether the pattern matches somewhere in ``text`` (not anchored: JSON Schema
        §6.3.3), and the work done: one unit for each state entered at each position. None
        when that work would pass ``budget``: not known.

        The simulation keeps the set of states the automaton can be in after reading
        ``text[:position]``, having started at any earlier position (a new start is added at
        each one: that is what "anywhere in the string" means). Each position enters each
        state at most once, so the work is at most (len(text) + 1) times the states."""
        work = 0
        current: List[int] = []                 # the "set" states waiting for a character
        seen: set = set()
        for position in range(len(text) + 1):
            # Enter the start state here too (a match may begin at any position).
            work, found = self._enter(self.start, position, text, current, seen, work)
            if found:
                return True, work
            if work > budget:
                return None, work
            if position == len(text):
                return False, work
            code = ord(text[position])
            following: List[int] = []
            seen = set()
            for index in current:
                _, ranges, after = self.states[index]
                # Binary search: the last range starting at or before code, and whether it
                # reaches code.
                at = bisect.bisect_right(ranges, (code, _LAST)) - 1
                if at >= 0 and ranges[at][1] >= code:
                    work, found = self._enter(after, position + 1, text, following, seen, work)
                    if found:
                        return True, work
            current = following
        return False, work                      # not reached: the loop returns at the end

    def _enter(self, state: int, position: int, text: str, waiting: List[int], seen: set,
               work: int) -> Tuple[int, bool]:
        """Enter ``state`` at ``position`` and every state reached from it without reading
        (splits, and ^ or $ where they hold): the "set" states among them join ``waiting``.
        ``seen`` holds what this position has entered already, so each is entered once, and
        an empty loop (``(a*)*``) ends. Returns the work done so far, and whether the match
        state was reached."""
        stack = [state]
        while stack:
            index = stack.pop()
            if index in seen:
                continue
            seen.add(index)
            work += 1
            node = self.states[index]
            kind = node[0]
            if kind == "match":
                return work, True
            if kind == "set":
                waiting.append(index)
            elif kind == "split":
                stack.append(node[2])
                stack.append(node[1])
            elif kind == "start":
                if position == 0:
                    stack.append(node[1])
            elif position == len(text):         # "end"
                stack.append(node[1])
        return work, False


def compiled(source: str) -> Optional[Pattern]:
    """``source`` compiled, or None when it is outside the subset (or too big): then whether
    a string matches it is not known here."""
    return None if len(source) > MAX_LENGTH else _compiled(source)


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> Optional[Pattern]:
    """:func:`compiled`, cached: a schema's patterns are met again and again (every
    tools/call is checked against the same inputSchema). A compiled pattern is never
    changed, so threads may share it."""
    try:
        tree = _Reader(source).pattern()
        if _size(tree) > MAX_STATES:
            raise Unsupported(f"more than {MAX_STATES} states")
        return Pattern(tree)
    except (Unsupported, RecursionError):
        return None


def search(source: str, text: str, budget: int = 10 ** 7) -> Optional[bool]:
    """Whether the pattern ``source`` matches anywhere in ``text``: True or False, or None
    when that is not known here (a pattern outside the subset, more work than ``budget``)."""
    pattern = compiled(source)
    return None if pattern is None else pattern.search(text, budget)[0]
