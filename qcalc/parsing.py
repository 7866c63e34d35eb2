"""Counts and durations typed by people: ``1e4`` iterations, ``1.5h`` of wall time.

Command-line options and budget inputs read through these two parsers, so the same text
means the same number wherever it is typed, and a bad one gets the same message. Plain
Python: importing this module loads nothing else.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

#: Length of each duration unit a user may type. [s]
_DURATION_UNITS_S: Mapping[str, float] = {
    "": 1.0,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
}

_DURATION_RE = re.compile(
    r"^\s*(?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>[A-Za-z]*)\s*$"
)


def parse_duration_s(text: str | float, *, name: str = "duration") -> float:
    """Parse a duration such as ``90s``, ``15m``, ``1.5h``, ``2d`` or plain seconds.

    Parameters
    ----------
    text : str or float
        The duration; a bare number (string or float) is in seconds. Units: ``s``, ``m``
        (minutes), ``h``, ``d`` and their long forms (``min``, ``hours``, ``days``…).
    name : str
        Name of the parameter, used in the error message (``--wall-time``).

    Returns
    -------
    float
        The duration. [s]

    Raises
    ------
    ValueError
        If the text is not a duration or the duration is not finite and > 0 s.
    """
    if isinstance(text, bool):
        raise ValueError(f"{name} is {text!r}; expected a duration such as 90s, 15m, 1h or 2d")
    if isinstance(text, int | float):
        seconds = float(text)
        shown = f"{text}"
    else:
        match = _DURATION_RE.match(text)
        unit = match.group("unit").lower() if match else ""
        if match is None or unit not in _DURATION_UNITS_S:
            raise ValueError(
                f"{name} is {text!r}; expected a duration such as 90s, 15m, 1h, 2d or "
                "plain seconds (units: s, m, h, d)"
            )
        seconds = float(match.group("number")) * _DURATION_UNITS_S[unit]
        shown = repr(text)
    if not math.isfinite(seconds) or seconds <= 0.0:
        raise ValueError(f"{name} is {shown} ({seconds:g} s); expected a duration > 0 s")
    return seconds


def parse_count(text: str | int | float, *, name: str = "count", minimum: int = 1) -> int:
    """Parse a whole-number count such as ``100``, ``1e4`` or ``10_000``.

    Parameters
    ----------
    text : str, int or float
        The count; a float or a string in scientific notation must have an integral value
        (``1e4`` is 10000, ``1.5`` is an error). Parsed exactly: ``1e30`` is 10**30.
    name : str
        Name of the parameter, used in the error message (``--iterations``).
    minimum : int
        Smallest accepted value.

    Returns
    -------
    int
        The count.

    Raises
    ------
    ValueError
        If the value is not a whole number or is below ``minimum``.
    """
    expected = f"expected a whole number ≥ {minimum} (e.g. 100 or 1e4)"
    if isinstance(text, bool):
        raise ValueError(f"{name} is {text!r}; {expected}")
    if isinstance(text, int):
        value = text
    else:
        try:
            number = Decimal(text.strip()) if isinstance(text, str) else Decimal(text)
        except (InvalidOperation, ValueError):
            raise ValueError(f"{name} is {text!r}; {expected}") from None
        if not number.is_finite() or number != number.to_integral_value():
            raise ValueError(f"{name} is {text!r}; {expected}")
        value = int(number)
    if value < minimum:
        raise ValueError(f"{name} is {text!r}; {expected}")
    return value
