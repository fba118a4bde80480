"""What a server sent, fit to print on a terminal: the commands that show it share these.

The server is whatever the user pointed the command at, and its text -- a name, a
description, a message, a string in its JSON -- may hold ESC, BEL, a carriage return, a
backspace, a C1 control or DEL, which would rewrite the terminal (clear it, retitle it, erase
the line above and so hide an entry of the listing meant to show it), or a lone surrogate,
which stdout cannot even encode. ``inspect``, ``call`` and ``diff`` (``cli``, D-107, D-110) and
``check``'s report (D-111) print it through these three functions: text as text with Python's
escapes, JSON as JSON with JSON's own.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    from typing import Any, Optional


def printable(text: Any, indent: Optional[str] = None) -> str:
    """``text`` with each character that does not print shown as its Python escape
    (``\\x1b``, ``\\r``, ``\\u2028``, D-107); a newline too, unless ``indent`` is given: then
    the text goes on on the next line after ``indent``, so that a description cannot pass for
    another entry of a listing."""
    text = text if isinstance(text, str) else str(text)
    lines = [text] if indent is None else text.split("\n")
    return ("\n" + (indent or "")).join(
        "".join(c if c.isprintable() else repr(c)[1:-1] for c in line) for line in lines)


def json_text(value: Any, indent: Optional[int] = None) -> str:
    """``value`` as JSON text fit to print (D-110). ``json.dumps`` escapes the C0 controls, ESC
    among them, but with ``ensure_ascii=False`` it writes DEL, the C1 controls (0x9b, CSI, is
    honoured by some terminals as ESC ``[``), the other characters that do not print and a lone
    surrogate as they are. Each of those is written as JSON's own ``\\u`` escape instead
    (:func:`printable_json`): the same JSON."""
    return printable_json(json.dumps(value, ensure_ascii=False, indent=indent))


def printable_json(text: str) -> str:
    """JSON text with each character that does not print written as its ``\\uXXXX`` escape
    (a pair of them beyond U+FFFF). Such a character can only be inside a string, where the
    escape means the same character: ``json.dumps`` writes nothing else unprintable than the
    newlines of ``indent``, and those are kept (one ends each line of ``diff`` too)."""
    def escaped(c: str) -> str:
        n = ord(c)
        if n <= 0xFFFF:
            return "\\u%04x" % n
        n -= 0x10000                             # a surrogate pair, as JSON writes one
        return "\\u%04x\\u%04x" % (0xD800 + (n >> 10), 0xDC00 + (n & 0x3FF))
    return "\n".join(line if line.isprintable() else
                     "".join(c if c.isprintable() else escaped(c) for c in line)
                     for line in text.split("\n"))
