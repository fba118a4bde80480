"""The small base class of messages, events and bookkeeping (mcp_ref/_record.py, D-29)."""

import pytest

from mcp_ref import events as ev
from mcp_ref._record import Record
from mcp_ref.jsonrpc import ErrorResponse, Request, Response


class _Base(Record):
    __slots__ = ("a",)

    def __init__(self, a):
        self.a = a


class _Child(_Base):
    __slots__ = ("b",)

    def __init__(self, a, b):
        super().__init__(a)
        self.b = b


def test_fields_are_the_slots_of_the_class_and_its_bases_in_order():
    assert _Base._fields == ("a",)
    assert _Child._fields == ("a", "b")
    assert Request._fields == ("id", "method", "params")
    assert ev.RequestReceived._fields == ("id", "method", "params", "progress_token")


def test_repr_names_every_field():
    assert repr(_Child(1, "x")) == "_Child(a=1, b='x')"
    assert repr(Request(7, "ping")) == "Request(id=7, method='ping', params=None)"


def test_equality_is_by_type_and_fields():
    assert Request(1, "ping") == Request(1, "ping")
    assert Request(1, "ping") != Request("1", "ping")          # ids are exact (BP-03)
    assert Response(1, {}) != ErrorResponse(1, -32601, "x")    # different types never equal
    assert _Base(1) != _Child(1, None)
    assert (_Base(1) == (1,)) is False


def test_records_have_no_instance_dict_and_are_not_hashable():
    with pytest.raises(AttributeError):
        Request(1, "ping").extra = True                        # __slots__: no stray fields
    with pytest.raises(TypeError):
        hash(ev.MessageDropped("x"))
