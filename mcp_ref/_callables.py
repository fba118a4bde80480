"""Whether mcp_ref could ever call a function the application hands it, read from its code.

The server calls its handlers and ``on_shutdown`` hooks; the client calls its ``roots``,
``sampling``, ``elicitation`` and ``on_notification`` callbacks, and either side an
``on_progress`` callback. Each is called positionally, on a thread, never awaited. One that
Python would refuse to call so, or an ``async def`` whose call only makes a coroutine nobody
awaits, failed (or did nothing) only at its first use, far from the line that handed it over
(D-80, D-93). :func:`call_problem` is the one check behind all of them (D-109): the server and
the client ask the same question, in the same words but for who calls.
"""

from __future__ import annotations

import types

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    from typing import Any, Callable, Optional, Tuple

#: Flags of a code object (CPython's ``inspect.CO_*``; ``inspect`` stays out of the import,
#: D-29): the function takes ``*args``; calling it makes a coroutine or an async generator.
_CO_VARARGS, _CO_COROUTINE, _CO_ASYNC_GENERATOR = 0x04, 0x80, 0x200


def call_problem(what: str, fn: Callable[..., Any], passed: Tuple[str, ...],
                 caller: str) -> Optional[str]:
    """Why ``fn`` could never be called as ``caller`` ("the server", "the client") calls it,
    with the positional arguments ``passed`` (their names, for the message), or None. Each
    message starts with ``what``. Read from the code object of a function, a bound method or
    a ``staticmethod`` object; any other callable (a ``functools.partial``, an object with
    ``__call__``, a builtin) is not judged here, and fails, if it does, when called. Something
    that is not callable at all (``None``, a ``classmethod`` object) is refused (D-96)."""
    if not callable(fn):
        return f"{what}: {caller} calls it, but {fn!r:.80} is not callable"
    function = getattr(fn, "__func__", fn)          # a bound or static method: its function
    if not isinstance(function, types.FunctionType):
        return None                                 # no code of its own to read
    code = function.__code__
    # Only a bound method passes its object as the first argument; a staticmethod object
    # (callable from Python 3.10) passes none (D-96).
    bound = 1 if isinstance(fn, types.MethodType) else 0
    call = f"{what}: {caller} calls it as {function.__name__}({', '.join(passed)}), but it"
    if code.co_flags & (_CO_COROUTINE | _CO_ASYNC_GENERATOR):
        # Handlers and callbacks run on threads, not in an event loop: the call would only
        # make a coroutine that nobody awaits.
        return f"{call} is a coroutine function (async def): write a plain def"
    positional = max(code.co_argcount - bound, 0)
    required = positional - len(function.__defaults__ or ())
    if required > len(passed):
        noun = "argument" if required == 1 else "arguments"
        return f"{call} requires {required} positional {noun}"
    if positional < len(passed) and not code.co_flags & _CO_VARARGS:
        noun = "argument" if positional == 1 else "arguments"
        return f"{call} takes at most {positional} positional {noun}"
    keyword_only = code.co_varnames[code.co_argcount:code.co_argcount + code.co_kwonlyargcount]
    missing = [name for name in keyword_only if name not in (function.__kwdefaults__ or {})]
    if missing:
        return f"{call} requires the keyword-only argument {missing[0]!r}"
    return None
