"""One way to print a number for people: about 4 significant digits, thousands separators,
and units scaled to the size of the value.

Tables, reasons and derivation steps all go through :func:`fmt`; JSON and CSV keep raw SI
numbers in the units their keys name and never pass through here.

>>> fmt(887_896.3, "bit/s")
'887.9 kbit/s'
>>> fmt(1.28884e6, "s")
'14.92 days'
>>> fmt(0.65333)
'0.6533'
>>> fmt(50_000_000, "bits", exact=True)
'50,000,000 bits'
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

#: Significant digits of a number in a table or a reason. [digits]
DIGITS = 4
#: A value in a prefixed unit keeps its base unit up to 9,999 (6,944 pairs/s, 4,896 bit/s)
#: and takes the largest prefix that leaves it ≥ 1 above that (13.93 kbit/s, 1.149 Mbit/s,
#: 1 GHz). [unitless]
PREFIX_STEP = 1e4

#: Units scaled with SI prefixes: base unit → (factor, name) from the smallest.
_PREFIXED: dict[str, tuple[tuple[float, str], ...]] = {
    "bit/s": ((1.0, "bit/s"), (1e3, "kbit/s"), (1e6, "Mbit/s"), (1e9, "Gbit/s"), (1e12, "Tbit/s")),
    "Hz": ((1.0, "Hz"), (1e3, "kHz"), (1e6, "MHz"), (1e9, "GHz"), (1e12, "THz")),
    "pairs/s": (
        (1.0, "pairs/s"),
        (1e3, "k pairs/s"),
        (1e6, "M pairs/s"),
        (1e9, "G pairs/s"),
    ),
    "bits": ((1.0, "bits"), (1e3, "kbit"), (1e6, "Mbit"), (1e9, "Gbit"), (1e12, "Tbit")),
}

#: Durations: (length of the unit in s, singular, plural), from the shortest.
_TIME_UNITS: tuple[tuple[float, str, str], ...] = (
    (1e-9, "ns", "ns"),
    (1e-6, "µs", "µs"),
    (1e-3, "ms", "ms"),
    (1.0, "s", "s"),
    (60.0, "min", "min"),
    (3600.0, "h", "h"),
    (86400.0, "day", "days"),
    (365.25 * 86400.0, "year", "years"),  # Julian year
)


def significant(value: float, digits: int = DIGITS, *, fraction: bool = False) -> str:
    """``value`` to ``digits`` significant digits with thousands separators, no exponent
    between 1e-4 and 1e9 (trailing zeros after the point dropped), an exponent outside.
    A ``fraction`` just below 1 keeps the digits that tell it from 1 (0.99996).

    >>> significant(1234.56), significant(0.000123456), significant(887896.0)
    ('1,235', '0.0001235', '887,900')
    """
    x = float(value)
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return "unbounded" if x > 0 else "−unbounded"
    while fraction and 0.1 <= abs(x) < 1 and abs(round(x, digits)) == 1 and digits < 12:
        digits += 1  # a fidelity of 0.99996 is not 1
    exponent = math.floor(math.log10(abs(x)))
    rounded = round(x, digits - 1 - exponent)
    if rounded != 0 and math.floor(math.log10(abs(rounded))) > exponent:  # 9.9995 → 10.00
        exponent += 1
    if exponent < -4 or exponent >= 9:
        return f"{x:.{digits}g}"
    decimals = max(0, digits - 1 - exponent)
    text = f"{rounded:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _round_sig(magnitude: float, digits: int = DIGITS) -> float:
    """``magnitude`` rounded to ``digits`` significant digits (9,999.7 → 10,000)."""
    if magnitude == 0 or not math.isfinite(magnitude):
        return magnitude
    return round(magnitude, digits - 1 - math.floor(math.log10(magnitude)))


def _scale_prefixed(magnitude: float, unit: str) -> tuple[float, str]:
    """The base unit below 10,000 of it, else the largest prefix leaving the value ≥ 1."""
    steps = _PREFIXED[unit]
    if _round_sig(magnitude) < PREFIX_STEP:
        return steps[0]
    chosen = steps[0]
    for factor, name in steps:
        if _round_sig(magnitude / factor) >= 1.0:
            chosen = factor, name
    return chosen


def _scale_time(magnitude: float) -> tuple[float, str, str]:
    """(length [s], singular, plural) of the longest unit not longer than ``magnitude``."""
    chosen = _TIME_UNITS[0]  # below a nanosecond: still ns (0.001 ns, 1e-06 ns)
    for unit in _TIME_UNITS:
        if magnitude >= unit[0]:
            chosen = unit
    return chosen


def scale(magnitude: float, unit: str) -> tuple[float, str]:
    """The factor [unit/shown unit] and name of the unit ``magnitude`` is best shown in.

    >>> scale(2.152e-3, "s")
    (0.001, 'ms')
    """
    if unit == "s":
        factor, _, many = _scale_time(magnitude)
        return factor, many
    if unit in _PREFIXED:
        return _scale_prefixed(magnitude, unit)
    return 1.0, unit


def fmt(value: Any, unit: str = "", digits: int = DIGITS, *, exact: bool = False) -> str:
    """A number (or the range of an array) for people, in ``unit`` scaled to its size.

    Parameters
    ----------
    value : int, float or array_like
        The number, in ``unit``; an array prints as ``min…max`` in one scaled unit.
    unit : str
        Unit of ``value``. ``s``, ``bit/s``, ``Hz``, ``pairs/s`` and ``bits`` are scaled
        (µs … days; kbit/s …; kHz …); any other unit is printed as given.
    digits : int
        Significant digits. [digits]
    exact : bool
        Print a Python ``int`` (a count) with every digit and its unit not scaled:
        2.5e7 pairs are ``25,000,000 pairs``, 5e7 bits ``50,000,000 bits``.

    Returns
    -------
    str
        ``"887.9 kbit/s"``, ``"14.92 days"``, ``"0.6533"``, ``"0 bit/s"``; ``"unbounded"``
        for an infinite value.
    """
    if exact and isinstance(value, int) and not isinstance(value, bool):
        return _join(f"{value:,}", unit)  # a count: every digit, its unit not scaled
    if isinstance(value, float | int) and not isinstance(value, bool):
        return _fmt_scalar(float(value), unit, digits)  # the common case, without numpy
    arr = np.asarray(value, dtype=float)
    if arr.ndim and arr.size == 0:
        return f"— {unit}".rstrip()
    if arr.ndim and float(arr.min()) != float(arr.max()):
        lo, hi = fmt(float(arr.min()), unit, digits), fmt(float(arr.max()), unit, digits)
        lo_number, _, lo_unit = lo.partition(" ")
        hi_number, _, hi_unit = hi.partition(" ")
        return _join(f"{lo_number}…{hi_number}", hi_unit) if lo_unit == hi_unit else f"{lo}…{hi}"
    return _fmt_scalar(float(arr.flat[0]) if arr.ndim else float(arr), unit, digits)


@functools.lru_cache(maxsize=4096)  # a batch formats the same few inputs again and again
def _fmt_scalar(x: float, unit: str, digits: int) -> str:
    if math.isnan(x):
        return "not a number"
    if math.isinf(x):
        return "unbounded" if x > 0 else "−unbounded"
    if unit == "s":
        factor, one, many = _scale_time(abs(x)) if x != 0 else (1.0, "s", "s")
        text = significant(x / factor, digits)
        return _join(text, one if text == "1" else many)
    factor, name = scale(abs(x), unit)
    return _join(significant(x / factor, digits, fraction=not unit), name)


def _join(number: str, unit: str) -> str:
    return f"{number} {unit}" if unit else number


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 file``, ``2 files``: the count with the word in the right number.

    >>> plural(1, "trusted relay"), plural(3, "file with errors", "files with errors")
    ('1 trusted relay', '3 files with errors')
    """
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {word}"


#: Units of quantities whose name alone does not say them (a pair rate in Hz is pairs/s).
NAMED_UNITS: dict[str, str] = {
    "key_rate_bps": "bit/s",
    "asymptotic_key_rate_bps": "bit/s",
    "plob_bps": "bit/s",
    "pair_rate_hz": "pairs/s",
    "required_rate_hz": "pairs/s",
    "available_rate_hz": "pairs/s",
    "elementary_pair_rate_hz": "pairs/s",
    "entanglement_min_pair_rate_hz": "pairs/s",
    "usable_rate_hz": "pairs/s",
}
#: Unit of a key from the suffix of its name, longest suffix first: the one table of the
#: project's unit suffixes (scenario fields, JSON keys, sweep metrics, plot axes).
UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_db_per_km", "dB/km"),
    ("_m_minus_2_3", "m^-2/3"),
    ("_bits_per_pass", "bits"),  # a count of bits (scaled kbit, Mbit); the name says per what
    ("_bits_per_day", "bits"),
    ("_bits_per_year", "bits"),
    ("_bits", "bits"),
    ("_bps", "bit/s"),
    ("_urad", "µrad"),
    ("_deg", "degrees"),
    ("_km", "km"),
    ("_nm", "nm"),
    ("_ns", "ns"),
    ("_hz", "Hz"),
    ("_db", "dB"),
    ("_m", "m"),
    ("_s", "s"),
)


def unit_of(key: str) -> str:
    """The unit a key's name carries (``length_km`` → km, ``pair_rate_hz`` → pairs/s), or
    "" for a quantity without one (a fidelity, a probability, a count)."""
    name = key.rsplit(".", 1)[-1]
    if name in NAMED_UNITS:
        return NAMED_UNITS[name]
    return next((unit for suffix, unit in UNIT_SUFFIXES if name.endswith(suffix)), "")
