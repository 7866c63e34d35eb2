"""Distributions a numeric scenario field may hold instead of a number, and their draws.

A field is uncertain when its value is a mapping with one distribution key::

    coherence_time_s: {lognormal: {median: 1.0, factor: 2}}
    length_km: {uniform: {low: 40, high: 60}}
    efficiency: {triangular: {low: 0.3, mode: 0.5, high: 0.6}, group: memory}
    physical_qubits: {choice: [1000, 5000, 10000]}

Every distribution is used through its quantile function (inverse CDF) ``x = Q(u)`` of a
uniform draw ``u`` in (0, 1): plain Monte Carlo, Latin hypercube and Sobol' sampling all
give uniforms, fields in one ``group`` share their ``u`` (comonotone: they move up and
down together, each along its own distribution), and the median is ``Q(0.5)``.

Truncation to the field's physical range is a renormalisation, not a clip: with the range
[lo, hi] and the untruncated CDF F, ``x = Q(F(lo) + u (F(hi) − F(lo)))``, so no mass piles
up at a bound; the mass removed, ``1 − (F(hi) − F(lo))``, is reported.

Definitions (units are those of the field):

- ``normal: {mean, sd}``: Gaussian, sd ≥ 0 (sd = 0 is the number ``mean``).
- ``lognormal: {median, factor}``: ln x is Gaussian with mean ln(median) and standard
  deviation ln(factor); factor ≥ 1 is the geometric standard deviation, so x lies
  within median/factor … median·factor with probability 0.683 (and within
  median/factor² … median·factor² with 0.954). factor = 1 is the number ``median``.
- ``uniform: {low, high}``: flat on [low, high], low ≤ high.
- ``triangular: {low, mode, high}``: low ≤ mode ≤ high (Evans, Hastings, Peacock,
  *Statistical Distributions*, 3rd ed., Wiley 2000, ch. 40).
- ``choice: [v1, v2, …]``: each listed value equally likely (a value listed twice
  counts twice); its quantile function is that of the empirical distribution of the
  sorted values, ``Q(u) = v_(⌈u k⌉)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from qcalc.errors import ScenarioError
from qcalc.records import record

FloatArray = npt.NDArray[np.float64]
Path = tuple[str | int, ...]
#: ``err(path, message, at_key)`` → a located error (the scenario checker's).
ErrorAt = Callable[..., ScenarioError]

#: Distribution names and the parameters each takes, in the order they are written.
KINDS: dict[str, tuple[str, ...]] = {
    "normal": ("mean", "sd"),
    "lognormal": ("median", "factor"),
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "choice": (),
}
#: The key that puts several uncertain fields on one shared draw.
GROUP = "group"
#: Most values a ``choice`` may list.
MAX_CHOICES = 10_000
EXAMPLE = (
    "{normal: {mean, sd}}, {lognormal: {median, factor}}, {uniform: {low, high}}, "
    "{triangular: {low, mode, high}} or {choice: [v1, v2, …]}"
)
#: Uniform draws are kept this far from 0 and 1, where a normal quantile is infinite.
_EDGE = 1e-15


def is_distribution(value: Any) -> bool:
    """Whether a raw value is written as a distribution (a mapping naming one)."""
    return isinstance(value, dict) and any(k in KINDS for k in value)


@record(frozen=True)
class Bounds:
    """A field's physical range: [minimum, maximum], the minimum excluded when ``open``."""

    minimum: float | None = None
    maximum: float | None = None
    open: bool = False
    integer: bool = False

    def text(self) -> str:
        lo = "" if self.minimum is None else f"{'>' if self.open else '≥'} {self.minimum:g}"
        hi = "" if self.maximum is None else f"≤ {self.maximum:g}"
        return " and ".join(p for p in (lo, hi) if p) or "any number"

    def holds(self, value: float) -> bool:
        lo, hi = self.minimum, self.maximum
        if lo is not None and (value < lo or (self.open and value <= lo)):
            return False
        return hi is None or value <= hi


@record(frozen=True)
class Distribution:
    """One uncertain value: its kind, parameters, group and the field's physical range.

    ``params`` holds the parameters by name (``choice``: ``values``, sorted).
    """

    kind: str
    params: Mapping[str, Any]
    group: str | None = None
    bounds: Bounds = field(default_factory=Bounds)

    # -- the untruncated law
    def _cdf(self, x: float) -> float:
        from qcalc.protocols.numerics import normal_cdf

        p = self.params
        if self.kind == "normal":
            if p["sd"] == 0:
                return 1.0 if x >= p["mean"] else 0.0
            return normal_cdf((x - p["mean"]) / p["sd"])
        if self.kind == "lognormal":
            if x <= 0:
                return 0.0
            if p["factor"] == 1:
                return 1.0 if x >= p["median"] else 0.0
            return normal_cdf(math.log(x / p["median"]) / math.log(p["factor"]))
        if self.kind == "uniform":
            low, high = p["low"], p["high"]
            if high == low:
                return 1.0 if x >= low else 0.0
            return float(min(max((x - low) / (high - low), 0.0), 1.0))
        if self.kind == "triangular":
            a, c, b = p["low"], p["mode"], p["high"]
            if x <= a:
                return 0.0 if b > a else float(x >= a)
            if x >= b:
                return 1.0
            if x <= c:
                return float((x - a) ** 2 / ((b - a) * (c - a)))
            return float(1.0 - (b - x) ** 2 / ((b - a) * (b - c)))
        values = p["values"]
        return float(np.searchsorted(values, x, side="right")) / len(values)

    def _quantile(self, u: FloatArray) -> FloatArray:
        from qcalc.protocols.numerics import normal_quantile

        p = self.params
        if self.kind == "normal":
            return np.asarray(p["mean"] + p["sd"] * normal_quantile(u), dtype=float)
        if self.kind == "lognormal":
            return np.asarray(
                p["median"] * np.exp(math.log(p["factor"]) * normal_quantile(u)), dtype=float
            )
        if self.kind == "uniform":
            return np.asarray(p["low"] + u * (p["high"] - p["low"]), dtype=float)
        if self.kind == "triangular":
            a, c, b = p["low"], p["mode"], p["high"]
            if b == a:
                return np.full_like(u, float(a))
            split = (c - a) / (b - a)
            left = a + np.sqrt(u * (b - a) * (c - a))
            right = b - np.sqrt((1.0 - u) * (b - a) * (b - c))
            return np.asarray(np.where(u <= split, left, right), dtype=float)
        values = np.asarray(p["values"], dtype=float)
        index = np.clip(np.ceil(u * values.size).astype(np.int64) - 1, 0, values.size - 1)
        return np.asarray(values[index], dtype=float)

    # -- truncated to the physical range
    @property
    def kept_mass(self) -> tuple[float, float]:
        """(F(lo), F(hi)): the untruncated CDF at the range's ends. [unitless]"""
        lo, hi = self.bounds.minimum, self.bounds.maximum
        below = 0.0 if lo is None else self._cdf(lo) if not self.bounds.open else self._cdf(lo)
        above = 1.0 if hi is None else self._cdf(hi)
        return below, above

    @property
    def truncated_fraction(self) -> float:
        """Fraction of the distribution's mass outside the physical range, removed. [0..1]"""
        if self.kind != "normal" and self.kind != "lognormal":
            return 0.0  # their support lies inside the range (checked when read)
        below, above = self.kept_mass
        return max(0.0, 1.0 - (above - below))

    def quantile(self, u: Any) -> FloatArray:
        """Q(u) of the distribution truncated to the field's range (whole numbers for an
        integer field: rounded to the nearest). ``u`` is kept in [1e-15, 1 − 1e-15]."""
        uu = np.clip(np.asarray(u, dtype=float), _EDGE, 1.0 - _EDGE)
        if self.truncated_fraction > 0:
            below, above = self.kept_mass
            uu = below + uu * (above - below)
            uu = np.clip(uu, max(below, _EDGE), min(above, 1.0 - _EDGE))
        x = self._quantile(uu)
        lo, hi = self.bounds.minimum, self.bounds.maximum
        if lo is not None:
            floor = float(np.nextafter(lo, math.inf)) if self.bounds.open else lo
            x = np.maximum(x, floor)
        if hi is not None:
            x = np.minimum(x, hi)
        if self.bounds.integer:
            x = np.round(x)
        return np.asarray(x, dtype=float)

    @property
    def median(self) -> float:
        """Q(0.5) of the truncated distribution. [unit of the field]"""
        return float(self.quantile(np.array([0.5]))[0])

    def scaled(self, factor: float) -> Distribution:
        """The distribution of ``factor · x`` (every location and scale times ``factor``;
        a lognormal's factor, a spread ratio, is kept)."""
        p = dict(self.params)
        if self.kind == "normal":
            p = {"mean": p["mean"] * factor, "sd": p["sd"] * factor}
        elif self.kind == "lognormal":
            p["median"] = p["median"] * factor
        elif self.kind == "choice":
            p["values"] = tuple(v * factor for v in p["values"])
        else:
            p = {k: v * factor for k, v in p.items()}
        return replace(self, params=p)

    def text(self) -> str:
        """``lognormal(median 1, factor 2)``: the distribution as written, for people."""
        if self.kind == "choice":
            values = self.params["values"]
            shown = ", ".join(f"{v:g}" for v in values[:6]) + (", …" if len(values) > 6 else "")
            return f"choice of [{shown}]"
        inner = ", ".join(f"{k} {self.params[k]:.4g}" for k in KINDS[self.kind])
        return f"{self.kind}({inner})"

    def as_dict(self) -> dict[str, Any]:
        """The distribution as JSON: kind, parameters, group and truncation."""
        params: Any = list(self.params["values"]) if self.kind == "choice" else dict(self.params)
        return {
            "kind": self.kind,
            "parameters": params,
            "group": self.group,
            "median": self.median,
            "truncated_fraction": self.truncated_fraction,
        }


# ----------------------------------------------------------------------------- reading


def _number(err: ErrorAt, path: Path, value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise err(path, f"is {value!r}; expected {what}, written as a plain number")
    number = float(value)
    if not math.isfinite(number):
        raise err(path, f"is {value!r}; expected a finite number ({what})")
    return number


def _in_range(err: ErrorAt, path: Path, value: float, bounds: Bounds, unit: str) -> None:
    if not bounds.holds(value):
        raise err(
            path,
            f"is {value:g}, outside the field's physical range; expected a number "
            f"{bounds.text()}{unit}",
        )


def _unknown(
    err: ErrorAt, where: Path, key: Any, options: list[str], allowed: str
) -> ScenarioError:
    """'unknown key' with a did-you-mean, or what is allowed."""
    import difflib

    from qcalc._yaml import shown

    close = difflib.get_close_matches(str(key), options, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else f" ({allowed})"
    return err((*where, key), f"unknown key {shown(key)}{hint}", at_key=True)


def _read_choice(
    err: ErrorAt, where: Path, body: Any, bounds: Bounds, unit: str, group: str | None
) -> Distribution:
    from qcalc._yaml import shown

    if not isinstance(body, list) or not body:
        raise err(where, f"is {shown(body)}; expected a list of values such as [0.5, 1, 2]")
    if len(body) > MAX_CHOICES:
        raise err(where, f"lists {len(body):,} values; expected at most {MAX_CHOICES:,}")
    values = []
    for i, item in enumerate(body):
        number = _number(err, (*where, i), item, f"a number {bounds.text()}{unit}")
        _in_range(err, (*where, i), number, bounds, unit)
        if bounds.integer and not number.is_integer():
            raise err((*where, i), f"is {number:g}; the field takes whole numbers")
        values.append(number)
    return Distribution("choice", {"values": tuple(sorted(values))}, group, bounds)


def _read_params(err: ErrorAt, where: Path, kind: str, body: Any) -> dict[str, float]:
    """The parameters of a law: a mapping with exactly its names, each a finite number."""
    from qcalc._yaml import shown

    names = KINDS[kind]
    example = ", ".join(f"{n}: …" for n in names)
    if not isinstance(body, dict):
        raise err(where, f"is {shown(body)}; expected a mapping {{{example}}}")
    for key in body:
        if key not in names:
            raise _unknown(err, where, key, list(names), f"{kind} takes {', '.join(names)}")
    missing = [n for n in names if n not in body]
    if missing:
        raise err(where, f"misses {', '.join(missing)}; a {kind} distribution is {{{example}}}")
    return {n: _number(err, (*where, n), body[n], "a number") for n in names}


def _check_law(
    err: ErrorAt, where: Path, kind: str, p: Mapping[str, float], bounds: Bounds, unit: str
) -> None:
    """A law's parameters make sense and its location lies in the field's range."""
    if kind == "normal":
        _in_range(err, (*where, "mean"), p["mean"], bounds, unit)
        if p["sd"] < 0:
            raise err((*where, "sd"), f"is {p['sd']:g}; expected a standard deviation ≥ 0")
    elif kind == "lognormal":
        if p["median"] <= 0:
            raise err((*where, "median"), f"is {p['median']:g}; expected a median > 0")
        _in_range(err, (*where, "median"), p["median"], bounds, unit)
        if p["factor"] < 1:
            raise err(
                (*where, "factor"),
                f"is {p['factor']:g}; expected a factor ≥ 1 (the geometric standard "
                "deviation: 2 means ×/÷ 2 at one standard deviation)",
            )
        if math.log(p["factor"]) > 50:
            raise err((*where, "factor"), f"is {p['factor']:g}; expected a factor ≤ e^50")
    else:
        for n in KINDS[kind]:
            _in_range(err, (*where, n), p[n], bounds, unit)
        if kind == "uniform" and p["low"] > p["high"]:
            raise err(where, f"has low {p['low']:g} above high {p['high']:g}; expected low ≤ high")
        if kind == "triangular" and not p["low"] <= p["mode"] <= p["high"]:
            raise err(
                where,
                f"has low {p['low']:g}, mode {p['mode']:g}, high {p['high']:g}; expected "
                "low ≤ mode ≤ high",
            )


def read_distribution(
    err: ErrorAt, path: Path, value: Mapping[str, Any], bounds: Bounds, unit: str = ""
) -> Distribution:
    """Check a raw distribution mapping at ``path`` and build its :class:`Distribution`.

    Parameters
    ----------
    err
        ``err(path, message, at_key=False)`` → a :class:`ScenarioError` located in the
        file (``Document.error``).
    path
        Where the mapping stands in the document.
    value
        The raw mapping, e.g. ``{"normal": {"mean": 1.0, "sd": 0.1}, "group": "mem"}``.
    bounds
        The field's physical range (and whether it takes whole numbers).
    unit
        `` in km`` etc., for messages.

    Raises
    ------
    ScenarioError
        Naming the parameter, its value and what was expected.
    """
    from qcalc._yaml import shown

    kinds = [k for k in value if k in KINDS]
    others = [k for k in value if k not in KINDS and k != GROUP]
    if others:
        raise _unknown(err, path, others[0], [*KINDS, GROUP], f"allowed: {', '.join(KINDS)}, group")
    if len(kinds) != 1:
        found = ", ".join(kinds) if kinds else "none"
        raise err(path, f"names the distributions {found}; expected exactly one of {EXAMPLE}")
    kind = kinds[0]
    group = value.get(GROUP)
    if GROUP in value and (not isinstance(group, str) or not group.strip()):
        raise err((*path, GROUP), f"is {shown(group)}; expected a group name (a text)")
    where = (*path, kind)
    if kind == "choice":
        return _read_choice(err, where, value[kind], bounds, unit, group)
    p = _read_params(err, where, kind, value[kind])
    _check_law(err, where, kind, p, bounds, unit)
    dist = Distribution(kind, p, group, bounds)
    if dist.truncated_fraction >= 1.0 - 1e-12:
        raise err(
            where,
            f"puts (almost) no probability inside the field's physical range "
            f"({bounds.text()}{unit}); expected a distribution that overlaps it",
        )
    return dist


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a distribution written in place of a number (``qcalc schema``).

    One definition for every numeric field: the field's range (which the bounds of a
    uniform, a triangular, a choice, a normal's mean and a lognormal's median must keep)
    and the order low ≤ mode ≤ high are checked by qcalc, not by the schema."""
    number = {"type": "number"}
    bounded = number
    params: dict[str, dict[str, Any]] = {
        "normal": {"mean": bounded, "sd": {"type": "number", "minimum": 0}},
        "lognormal": {
            "median": {"type": "number", "exclusiveMinimum": 0},
            "factor": {"type": "number", "minimum": 1},
        },
        "uniform": dict.fromkeys(KINDS["uniform"], bounded),
        "triangular": dict.fromkeys(KINDS["triangular"], bounded),
    }

    def law(kind: str) -> dict[str, Any]:
        body = (
            {"type": "array", "items": number, "minItems": 1, "maxItems": MAX_CHOICES}
            if kind == "choice"
            else {
                "type": "object",
                "additionalProperties": False,
                "required": list(KINDS[kind]),
                "properties": params[kind],
            }
        )
        return {
            "type": "object",
            "additionalProperties": False,
            "required": [kind],
            "properties": {kind: body, GROUP: {"type": "string", "pattern": r"\S"}},
        }

    return {
        "description": "an uncertain value: " + EXAMPLE + "; `group: NAME` makes fields "
        "share one draw (docs/uncertainty.md)",
        "oneOf": [law(kind) for kind in KINDS],
    }
