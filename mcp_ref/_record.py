"""A base for mcp_ref's small value classes (messages, events, bookkeeping).

Each subclass names its fields in ``__slots__`` and assigns them in a plain ``__init__``;
:class:`Record` adds what ``@dataclass`` would: a ``repr`` and equality by fields.

Why not ``@dataclass``? It is the idiom a reader expects, and mcp_ref used it first. But every
message and event is built on the hot path, and a module of dataclasses is slow to import
(``dataclasses`` pulls in ``inspect``, and each class is generated with ``exec``). A plain
``__init__`` is the cheapest constructor Python has, and this file is all the machinery there
is (spec_notes/decisions.md, D-29). Records are not frozen: treat them as read-only.
"""

from __future__ import annotations

TYPE_CHECKING = False  # True for type checkers only: typing is not imported at run time (D-105)
if TYPE_CHECKING:
    from typing import Any, Tuple


class Record:
    """Fields are the ``__slots__`` of the class and its bases, in order."""

    __slots__: Tuple[str, ...] = ()
    _fields: Tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._fields = tuple(name for klass in reversed(cls.__mro__)
                            for name in klass.__dict__.get("__slots__", ()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self._fields)

    __hash__ = None  # type: ignore[assignment]   # mutable in principle, so not hashable
