"""What a server sent, fit to print on a terminal: the commands that show it share these.

The server is whatever the user pointed the command at, and its text -- a name, a
description, a message, a string in its JSON -- may hold ESC, BEL, a carriage return, a
backspace, a C1 control or DEL, which would rewrite the terminal (clear it, retitle it, erase
the line above and so hide an entry of the listing meant to show it), or a lone surrogate,
which stdout cannot even encode. ``inspect``, ``call`` and ``diff`` (``cli``, D-107, D-110) and
``check``'s report (D-111) print it through these three functions: text as text with Python's
escapes, JSON as JSON with JSON's own. And on a terminal that cannot write all of Unicode
(``PYTHONIOENCODING=ascii``, a Latin-1 locale), :func:`escape_what_cannot_be_written` has the
character it cannot write escaped as well, not the command ended in a traceback (D-124).
"""

from __future__ import annotations

import codecs
import json

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    from typing import IO, Any, Optional, Tuple


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
    return "\n".join(line if line.isprintable() else
                     "".join(c if c.isprintable() else _json_escape(c) for c in line)
                     for line in text.split("\n"))


def _json_escape(c: str) -> str:
    """One character as JSON's escape: ``\\u00e9``, a surrogate pair beyond U+FFFF."""
    n = ord(c)
    if n <= 0xFFFF:
        return "\\u%04x" % n
    n -= 0x10000                                 # a surrogate pair, as JSON writes one
    return "\\u%04x\\u%04x" % (0xD800 + (n >> 10), 0xDC00 + (n & 0x3FF))


#: The name of the codec error handler below, as ``errors=`` takes it.
ESCAPE_UNWRITABLE = "mcp_ref.escape"


def _escape_unwritable(error: UnicodeError) -> Tuple[str, int]:
    """A codec error handler: each character the stream's encoding cannot write, as JSON's
    escape. Inside a JSON string (the only place JSON text holds one) the escape means the same
    character; in text it reads as Python's escape of it, as :func:`printable` writes (beyond
    U+FFFF it is the pair JSON writes, which Python would write as one ``\\U`` escape: one
    handler serves the whole stream, and JSON must stay JSON)."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    unwritable = error.object[error.start:error.end]
    return "".join(_json_escape(c) for c in unwritable), error.end


def escape_what_cannot_be_written(*streams: Optional[IO[str]]) -> None:
    """Have each stream escape what its encoding cannot write (D-124). Python's stdout is
    strict: on an ASCII or Latin-1 terminal a server's ``é`` or ``☕`` in a tool's
    description ended ``inspect`` in a UnicodeEncodeError traceback. A stream that is not a
    text file of its own (a test's StringIO, a closed fd's None) is left as it is."""
    codecs.register_error(ESCAPE_UNWRITABLE, _escape_unwritable)
    for stream in streams:
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors=ESCAPE_UNWRITABLE)
