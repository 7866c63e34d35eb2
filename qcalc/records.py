"""Dataclasses made without writing code at import: :func:`record`.

``dataclasses.dataclass`` writes the source of up to six methods for each class
(``__init__``, ``__repr__``, ``__eq__``, ``__hash__``, and ``__setattr__``/``__delattr__``
when frozen) and compiles it while the module is imported: about 0.9 ms a class, and
`qcalc stage` makes some forty classes before it reads a scenario, a sixth of its start-up.
:func:`record` leaves the field collection to ``dataclasses`` (so ``fields``, ``replace``,
``asdict`` and ``is_dataclass`` work as before) and gives each class the same methods,
written once in this module and bound to the class's fields by closures.

The methods behave as ``dataclass``'s do (Python 3.11): keyword and positional arguments,
defaults and ``default_factory``, ``__post_init__``, ``frozen`` (``FrozenInstanceError``),
``eq`` (``NotImplemented`` for another class; fields compared as tuples), ``__hash__``
(of the compared fields when frozen, ``None`` when only ``eq``), ``repr`` of the
fields with ``repr=True``, and a method the class writes itself is kept.
``__dataclass_params__`` is what ``dataclass`` would record, so its rule on frozen
and non-frozen bases holds across the two. ``tests/test_records.py`` compares them with
``dataclass`` on the same classes.

Two differences a caller can see: a wrong call to a constructor raises the same
``TypeError`` in other words, and ``inspect.signature(cls)`` is ``dataclass``'s but
``cls.__init__``'s own is ``(self, *args, **kwargs)``.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import operator
import reprlib
from collections.abc import Callable
from dataclasses import MISSING, FrozenInstanceError
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T", bound=type)


@overload
def record(cls: T, /) -> T: ...


@overload
def record(*, frozen: bool = False, eq: bool = True, kw_only: bool = False) -> Callable[[T], T]: ...


@dataclass_transform(field_specifiers=(dataclasses.field, dataclasses.Field))
def record(
    cls: Any = None, /, *, frozen: bool = False, eq: bool = True, kw_only: bool = False
) -> Any:
    """``dataclasses.dataclass(cls, frozen=, eq=, kw_only=)``, without compiling code.

    ``frozen``, ``eq`` and ``kw_only`` mean what they mean to ``dataclass``; its other
    options (``order``, ``unsafe_hash``, ``slots`` …) are not taken, nor ``InitVar``
    annotations (a ``TypeError`` says so)."""

    def wrap(cls: Any) -> Any:
        return _make(cls, frozen=frozen, eq=eq, kw_only=kw_only)

    return wrap if cls is None else wrap(cls)


_OWN = ("__init__", "__repr__", "__eq__", "__setattr__", "__delattr__")


def _make(cls: Any, *, frozen: bool, eq: bool, kw_only: bool) -> Any:
    own = {name for name in _OWN if name in cls.__dict__}
    if frozen and own & {"__setattr__", "__delattr__"}:
        raise TypeError(f"cannot overwrite attribute __setattr__ in class {cls.__name__}")
    class_hash = cls.__dict__.get("__hash__", MISSING)
    explicit_hash = not (class_hash is MISSING or (class_hash is None and "__eq__" in own))
    documented = bool(cls.__dict__.get("__doc__"))
    if not documented:  # else dataclass reads a signature from text (6 ms, regexes)
        cls.__doc__ = "undocumented"
    # dataclass's own rule for a dataclass base, read from the bases' real parameters
    bases = [b for b in cls.__mro__[1:] if "__dataclass_fields__" in b.__dict__]
    if bases and any(b.__dataclass_params__.frozen for b in bases) != frozen:
        raise TypeError(
            "cannot inherit non-frozen dataclass from a frozen one"
            if not frozen
            else "cannot inherit frozen dataclass from a non-frozen one"
        )
    cls = dataclasses.dataclass(
        cls, init=False, repr=False, eq=False, frozen=frozen and bool(bases), kw_only=kw_only
    )
    params = copy.copy(cls.__dataclass_params__)  # what dataclass would record
    for key, value in (("init", True), ("repr", True), ("eq", eq), ("frozen", frozen)):
        setattr(params, key, value)
    cls.__dataclass_params__ = params
    fields = dataclasses.fields(cls)
    for f in cls.__dataclass_fields__.values():
        if isinstance(f.type, dataclasses.InitVar) or "InitVar" in str(f.type):
            raise TypeError(f"{cls.__name__}: record takes no InitVar fields")
    methods: dict[str, Any] = {
        "__init__": _init(cls, fields, direct=frozen or cls.__setattr__ is object.__setattr__),
        "__repr__": _repr(fields),
    }
    if eq:
        methods["__eq__"] = _eq([f.name for f in fields if f.compare])
    if frozen:
        methods["__setattr__"], methods["__delattr__"] = _frozen(cls, fields)
    for name, method in methods.items():
        if name not in own:
            method.__qualname__ = f"{cls.__qualname__}.{name}"
            setattr(cls, name, method)
    if eq and not explicit_hash:
        hashed = [f.name for f in fields if (f.compare if f.hash is None else f.hash)]
        cls.__hash__ = _hash(hashed) if frozen else None  # type: ignore[assignment]
    cls.__signature__ = _Signature()  # type: ignore[attr-defined]
    if not documented:  # as dataclass documents a class: its name and signature
        cls.__doc__ = cls.__name__ + str(inspect.signature(cls)).replace(" -> None", "")
    return cls


def _init(
    cls: type, fields: tuple[dataclasses.Field[Any], ...], *, direct: bool
) -> Callable[..., None]:
    """``__init__(self, *args, **kwargs)``: the fields with ``init=True`` by keyword, the
    leading ones that are not keyword-only also by position; defaults and factories for
    the rest, then ``__post_init__``. With ``direct`` (a frozen class, or one without a
    ``__setattr__`` of its own) the values go straight into ``self.__dict__``, in field
    order, as ``dataclass``'s ``__init__`` would set them; otherwise through
    ``__setattr__``, as its ``self.name = value`` does."""
    name = cls.__qualname__
    settable = [f for f in fields if f.init]
    allowed = frozenset(f.name for f in settable)
    positional = tuple(f.name for f in settable if not f.kw_only)
    required = frozenset(
        f.name for f in settable if f.default is MISSING and f.default_factory is MISSING
    )
    template = {f.name: None if f.default is MISSING else f.default for f in fields}
    for f in fields:  # a field with init=False and nothing to start from is never set
        if not f.init and f.default is MISSING and f.default_factory is MISSING:
            del template[f.name]
    factories = tuple(
        (f.name, f.init, f.default_factory) for f in fields if f.default_factory is not MISSING
    )
    post_init = hasattr(cls, "__post_init__")

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if args:
            if len(args) > len(positional):
                raise TypeError(
                    f"{name}.__init__() takes {len(positional) + 1} positional arguments "
                    f"but {len(args) + 1} were given"
                )
            given = dict(zip(positional, args, strict=False))
            if kwargs:
                if not given.keys().isdisjoint(kwargs):
                    key = next(key for key in given if key in kwargs)
                    raise TypeError(f"{name}.__init__() got multiple values for argument {key!r}")
                given.update(kwargs)
            kwargs = given
        if not allowed.issuperset(kwargs):
            unknown = next(key for key in kwargs if key not in allowed)
            raise TypeError(f"{name}.__init__() got an unexpected keyword argument {unknown!r}")
        if not required.issubset(kwargs):
            missing = [f.name for f in settable if f.name in required and f.name not in kwargs]
            raise TypeError(
                f"{name}.__init__() missing {len(missing)} required argument"
                f"{'s' if len(missing) > 1 else ''}: {', '.join(map(repr, missing))}"
            )
        values = self.__dict__ if direct else {}
        values.update(template)
        for key, settable_key, factory in factories:
            if not settable_key or key not in kwargs:
                values[key] = factory()
        values.update(kwargs)
        if not direct:
            for key, value in values.items():
                setattr(self, key, value)
        if post_init:
            self.__post_init__()

    return __init__


def _repr(fields: tuple[dataclasses.Field[Any], ...]) -> Callable[[Any], str]:
    shown = tuple(f.name for f in fields if f.repr)

    @reprlib.recursive_repr()
    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{key}={getattr(self, key)!r}" for key in shown)
        return f"{type(self).__qualname__}({inner})"

    return __repr__


def _values(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """The tuple of ``names``' values of an object (always a tuple, as dataclass compares)."""
    if len(names) > 1:
        return operator.attrgetter(*names)
    return lambda obj: tuple(getattr(obj, key) for key in names)


def _eq(names: list[str]) -> Callable[[Any, Any], Any]:
    values = _values(names)

    def __eq__(self: Any, other: Any) -> Any:
        if other is self:  # as comparing a tuple with itself: each item is itself
            return True
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented

    return __eq__


def _hash(names: list[str]) -> Callable[[Any], int]:
    values = _values(names)

    def __hash__(self: Any) -> int:
        return hash(values(self))

    return __hash__


def _frozen(
    cls: Any, fields: tuple[dataclasses.Field[Any], ...]
) -> tuple[Callable[[Any, str, Any], None], Callable[[Any, str], None]]:
    names = frozenset(f.name for f in fields)

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return __setattr__, __delattr__


class _Signature:
    """The class's ``__signature__``, made when first asked (``help``, ``inspect``): the
    signature ``dataclass``'s written ``__init__`` would have, without ``self``."""

    def __get__(self, obj: Any, owner: type) -> inspect.Signature:
        kinds = inspect.Parameter
        params = [
            kinds(
                f.name,
                kinds.KEYWORD_ONLY if f.kw_only else kinds.POSITIONAL_OR_KEYWORD,
                default=(
                    f.default
                    if f.default is not MISSING
                    else kinds.empty
                    if f.default_factory is MISSING
                    else _FACTORY
                ),
                annotation=f.type,
            )
            for f in dataclasses.fields(owner)
            if f.init
        ]
        params.sort(key=lambda p: p.kind)  # keyword-only fields come after the others
        return inspect.Signature(params, return_annotation=None)


class _Factory:
    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()
