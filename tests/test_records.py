"""qcalc.records.record behaves as dataclasses.dataclass on the same class.

Each class below is made twice from one body, once by ``dataclass`` and once by
``record``, and the two are driven the same way: construction (by keyword, by position,
defaults, factories, ``__post_init__``, wrong arguments), ``repr``, ``==``, ``hash``,
frozen assignment, ``dataclasses.replace``/``asdict``/``fields``, pickling and the
signature ``inspect`` reports.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import math
import pickle
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qcalc.records import record

KINDS = {"record": record, "dataclass": dataclass}


def point_class(deco: Any, **options: Any) -> type:
    @deco(**options)
    class Point:
        """A point with a label."""

        x: float
        y: float = 0.0
        tags: list[str] = field(default_factory=list)
        label: str = field(default="p", compare=False)
        hidden: int = field(default=7, repr=False)
        unit: ClassVar[str] = "m"  # not a field, for both

    return Point


def pair_class(deco: Any) -> type:
    @deco(frozen=True)
    class Pair:  # no docstring: both write one from the signature
        x: Any
        y: float

    return Pair


def keyword_class(deco: Any) -> type:
    @deco(frozen=True, kw_only=True)
    class Keyword:
        """Keyword-only, frozen, with a derived field set after construction."""

        a: Any
        b: Any = None
        total: float = field(init=False, default=0.0)
        seen: dict[str, int] = field(init=False, default_factory=dict, compare=False)

        def __post_init__(self) -> None:
            object.__setattr__(self, "total", (self.a or 0) + (self.b or 0))

    return Keyword


def both(make: Any, **options: Any) -> tuple[type, type]:
    return make(KINDS["dataclass"], **options), make(KINDS["record"], **options)


def outcome(call: Any) -> Any:
    """What a call gives: its value, or the exception's type (messages may differ)."""
    try:
        return ("value", call())
    except Exception as exc:  # noqa: BLE001 - the type is the comparison
        return ("raised", type(exc))


def test_construction_repr_eq_and_hash_match_dataclass() -> None:
    for options in ({}, {"frozen": True}, {"eq": False}, {"frozen": True, "eq": False}):
        ref, rec = both(point_class, **options)
        calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
            ((1.0,), {}),
            ((1.0, 2.0), {}),
            ((1.0, 2.0, ["a"], "q", 3), {}),
            ((), {"x": 1.0, "label": "z"}),
            ((), {"y": 1.0}),  # missing x
            ((1.0,), {"x": 2.0}),  # x twice
            ((1, 2, [], "l", 3, 4), {}),  # too many
            ((), {"x": 1, "z": 2}),  # unknown keyword
        ]
        for args, kwargs in calls:
            a = outcome(lambda: ref(*args, **dict(kwargs)))  # noqa: B023
            b = outcome(lambda: rec(*args, **dict(kwargs)))  # noqa: B023
            assert a[0] == b[0], (options, args, kwargs)
            if a[0] == "raised":
                assert a[1] is b[1]
                continue
            p, q = a[1], b[1]
            assert repr(p) == repr(q)
            assert vars(p) == vars(q) and list(vars(p)) == list(vars(q))
            assert dataclasses.asdict(p) == dataclasses.asdict(q)
            assert [f.name for f in dataclasses.fields(p)] == [
                f.name for f in dataclasses.fields(q)
            ]
            twin_p, twin_q = ref(*args, **dict(kwargs)), rec(*args, **dict(kwargs))
            assert (p == twin_p) == (q == twin_q)
            assert (p == ref(99.0)) == (q == rec(99.0))
            assert (q == twin_p) is False  # another class: NotImplemented both ways
            # frozen and eq: hashed by the fields, so the list field makes both unhashable
            assert outcome(lambda: hash(p))[0] == outcome(lambda: hash(q))[0]  # noqa: B023
            assert outcome(lambda: setattr(p, "x", 5.0)) == outcome(lambda: setattr(q, "x", 5.0))  # noqa: B023
            assert outcome(lambda: setattr(p, "new", 1)) == outcome(lambda: setattr(q, "new", 1))  # noqa: B023
            assert outcome(lambda: delattr(p, "y")) == outcome(lambda: delattr(q, "y"))  # noqa: B023
        assert str(inspect.signature(ref)) == str(inspect.signature(rec))
        assert rec.__doc__ == ref.__doc__
        assert rec.__match_args__ == ref.__match_args__  # type: ignore[attr-defined]


def test_factories_give_each_object_its_own() -> None:
    _, rec = both(point_class)
    a, b = rec(1.0), rec(1.0)
    a.tags.append("x")
    assert b.tags == []


def test_keyword_only_frozen_with_post_init() -> None:
    ref, rec = both(keyword_class)
    for kwargs in [{"a": 1}, {"a": 1, "b": 2}, {}, {"a": 1, "total": 3}, {"b": 1}]:
        a, b = outcome(lambda: ref(**kwargs)), outcome(lambda: rec(**kwargs))  # noqa: B023
        assert a[0] == b[0], kwargs
        if a[0] == "value":
            assert repr(a[1]) == repr(b[1]) and vars(a[1]) == vars(b[1])
            assert hash(a[1]) == hash(b[1])
    assert outcome(lambda: ref(1)) == outcome(lambda: rec(1))  # positional refused
    q = rec(a=1, b=2)
    assert dataclasses.replace(q, b=5).total == 6
    with pytest.raises(FrozenInstanceError, match="cannot assign to field 'a'"):
        q.a = 3  # type: ignore[misc]
    assert copy.deepcopy(q) == q and copy.copy(q) == q
    assert str(inspect.signature(ref)) == str(inspect.signature(rec))


@record(frozen=True, kw_only=True)
class Pickled:
    a: float
    b: tuple[int, ...] = ()


def test_pickles_as_dataclass_does() -> None:
    p = Pickled(a=1.5, b=(1, 2))
    back = pickle.loads(pickle.dumps(p))
    assert back == p and hash(back) == hash(p) and vars(back) == vars(p)


def test_a_method_the_class_writes_is_kept() -> None:
    @record(frozen=True)
    class Own:
        v: float

        def __repr__(self) -> str:
            return "own"

        def __eq__(self, other: object) -> bool:
            return True

        def __hash__(self) -> int:
            return 3

    assert repr(Own(1.0)) == "own" and Own(1.0) == 5 and hash(Own(2.0)) == 3


def test_options_it_does_not_take_are_refused() -> None:
    with pytest.raises(TypeError, match="InitVar"):

        @record
        class WithInitVar:
            a: dataclasses.InitVar[int]

    with pytest.raises(TypeError, match="__setattr__"):

        @record(frozen=True)
        class Settable:
            a: int

            def __setattr__(self, name: str, value: Any) -> None:
                pass


@given(
    x=st.floats(allow_nan=True) | st.integers(),
    y=st.floats(allow_nan=True),
    other=st.floats(allow_nan=True),
)
def test_equality_and_hash_agree_on_any_values(x: Any, y: float, other: float) -> None:
    ref, rec = both(pair_class)
    assert rec.__doc__ == ref.__doc__
    p, q = ref(x, y), rec(x, y)
    assert (p == ref(x, y)) == (q == rec(x, y))  # NaN: unequal unless the same object
    assert (p == p) == (q == q)
    assert (p == ref(other, y)) == (q == rec(other, y))
    if not (isinstance(x, float) and math.isnan(x)) and not math.isnan(y):
        assert hash(q) == hash(rec(x, y))
    assert repr(p) == repr(q)


def test_inheritance_follows_dataclass_rules_both_ways() -> None:
    """A record's __dataclass_params__ say what it is, so dataclass's frozen-inheritance
    rule holds across the two: a frozen subclass of a frozen base either way; a
    non-frozen subclass of a frozen base, or the reverse, refused by both."""

    @record(frozen=True, kw_only=True)
    class Base:
        a: float
        b: float = 1.0

    assert Base.__dataclass_params__.frozen and Base.__dataclass_params__.eq  # type: ignore[attr-defined]

    @dataclass(frozen=True, kw_only=True)
    class UserLink(Base):  # what a library user may write on a qcalc class
        c: float = 2.0

    u = UserLink(a=1.0, c=3.0)
    assert (u.a, u.b, u.c) == (1.0, 1.0, 3.0)
    with pytest.raises(FrozenInstanceError):
        u.a = 2.0  # type: ignore[misc]

    @record(frozen=True, kw_only=True)
    class Child(Base):
        c: float = 2.0

    child = Child(a=0.5)
    assert (
        repr(child)
        == "test_inheritance_follows_dataclass_rules_both_ways.<locals>.Child(a=0.5, b=1.0, c=2.0)"
    )
    with pytest.raises(FrozenInstanceError):
        child.c = 1.0  # type: ignore[misc]

    @dataclass(frozen=True)
    class Frozen:
        a: float

    @record(frozen=True)
    class OnFrozen(Frozen):
        b: float = 0.0

    assert OnFrozen(1.0).b == 0.0
    for deco in (record, dataclass):
        with pytest.raises(TypeError, match="non-frozen dataclass from a frozen one"):

            @deco
            class Loose(Base):
                d: float = 0.0

    with pytest.raises(TypeError, match="frozen dataclass from a non-frozen one"):

        @record(frozen=True)
        class Tight(point_class(record)):  # type: ignore[misc]
            pass


def test_a_mutable_record_sets_its_fields_through_its_own_setattr() -> None:
    seen: list[str] = []

    @record
    class Watched:
        a: int
        b: int = 2

        def __setattr__(self, name: str, value: Any) -> None:
            seen.append(name)
            super().__setattr__(name, value)

    w = Watched(1)
    assert (w.a, w.b) == (1, 2) and seen == ["a", "b"]
