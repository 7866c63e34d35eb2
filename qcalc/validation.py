"""Published results qcalc reproduces — and the ones it does not, with the reason.

The cases are data: ``qcalc/data/validation.toml`` names, for every published number, its
source (authors, journal, volume, page, year, and the table, figure, equation or section),
the quantity and its unit, the published value, the tolerance, and how qcalc computes it.
This module reads that file and runs it; ``tests/test_validation.py`` runs every case and
holds the table to it, and ``docs/validation.md`` is the table rendered::

    python -m qcalc.validation                         # markdown table to stdout
    python -m qcalc.validation --write docs/validation.md

A case computes its value in one of five ways (the ``[case.compute]`` table):

``call``
    a model function by dotted name with ``args`` and ``kwargs``;
``constant``
    a published constant of a model module;
``root``
    the argument in ``bracket`` at which a model function of one variable ``equals`` a
    value (Brent's method, to 1e-12);
``scenario`` or ``scenario_text``
    a bundled scenario (by name, see :mod:`qcalc.examples`) or a scenario written in the
    data file, evaluated through the same chain as ``qcalc rate --format json``; ``demand``
    names the demand and ``key`` the path to the number in that demand's JSON;
``recipe``
    one of the few named computations below that are not a single call (:data:`RECIPES`):
    the distance at which a key vanishes on a grid (``bb84_reach_km``) or by bisection
    (``mdi_reach_km``); the ratio of two finite-key optimisations
    (``lim2014_block_ratio``); a key over a bound built from a scenario's hops and relay
    detector (``tf_key_over_conditional_bound``); a detection-efficiency threshold where
    both detectors' efficiencies move together (``diqkd_binned_threshold``); and a
    satellite channel loss at a given slant range rather than the scenario's elevation
    (``satellite_channel_loss_db``).

``args`` and ``kwargs`` may hold another such table (its value is passed in), and any
compute table may end with ``attribute`` (a field of the result), ``index`` (items of a
tuple or mapping, in order) and ``multiply`` (factors applied in order). Functions and
constants resolve only inside :data:`ALLOWED_MODULES`; nothing else is imported.

Importing this module is cheap (it parses the data file; every case imports the models it
needs when it runs). The whole table takes about 2 s; the slowest case (Lim et al. 2014,
two five-parameter Nelder–Mead optimisations) about 1 s.
"""

from __future__ import annotations

import argparse
import difflib
import math
import re
import sys
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from qcalc.errors import QcalcError
from qcalc.records import record

#: The data file of the cases, inside the package (and as messages name it).
DATA_FILE = "data/validation.toml"
_SHOWN = f"qcalc/{DATA_FILE}"

#: Modules whose functions and constants a case may name (and their submodules).
ALLOWED_MODULES = ("qcalc.physics", "qcalc.protocols", "qcalc.budget")

#: Brent's method tolerance of a ``root`` case. [argument units]
ROOT_XTOL = 1e-12


class ValidationDataError(QcalcError):
    """The validation data file does not follow its format (a bug in the file, not input)."""


# ----------------------------------------------------------------------------- types


@record(frozen=True)
class Source:
    """Where a published number comes from."""

    authors: str
    journal: str  # journal, book or document
    volume: str
    page: str  # page or article number
    year: int | None
    locator: str  # table, figure, equation or section

    def cite(self) -> str:
        """``Authors, Journal vol, page (year), locator`` with the empty parts left out."""
        where = " ".join(p for p in (self.journal, self.volume) if p)
        if self.page:
            where += f", {self.page}"
        if self.year is not None:
            where += f" ({self.year})"
        return ", ".join(p for p in (self.authors, where, self.locator) if p)


@record(frozen=True)
class Tolerance:
    """How close qcalc's value must come to the published one.

    ``kind`` is one of
    - ``"absolute"``: |qcalc − published| ≤ value (in the case's unit);
    - ``"relative"``: |qcalc − published| ≤ value · |published|;
    - ``"factor"``: published / value ≤ qcalc ≤ published · value;
    - ``"at least"``: qcalc ≥ published (a published lower bound, "over 200 km");
    - ``"range"``: value ≤ qcalc ≤ upper (a published range, "10³–10⁴").
    """

    kind: str
    value: float = 0.0
    upper: float = math.inf

    def accepts(self, published: float, got: float) -> bool:
        if not math.isfinite(got):
            return False
        if self.kind == "absolute":
            return abs(got - published) <= self.value
        if self.kind == "relative":
            return abs(got - published) <= self.value * abs(published)
        if self.kind == "factor":
            return published / self.value <= got <= published * self.value
        if self.kind == "at least":
            return got >= published
        if self.kind == "range":
            return self.value <= got <= self.upper
        raise ValueError(f"tolerance kind is {self.kind!r}; expected one of {TOLERANCE_KINDS}")

    def text(self, unit: str) -> str:
        unit_text = f" {unit}" if unit else ""
        if self.kind == "absolute":
            return f"± {fmt(self.value)}{unit_text}"
        if self.kind == "relative":
            return f"± {fmt(self.value * 100)} %"
        if self.kind == "factor":
            return f"within × {fmt(self.value)}"
        if self.kind == "at least":
            return "≥ published"
        return f"{fmt(self.value)} to {fmt(self.upper)}{unit_text}"

    def deviation(self, published: float, got: float, unit: str) -> str:
        """qcalc against the published value, in the terms of this tolerance."""
        if not math.isfinite(got):
            return "—"
        if self.kind == "absolute":
            return f"{fmt(got - published, signed=True, digits=2)}{f' {unit}' if unit else ''}"
        if self.kind == "range":
            if got < self.value:
                return f"{fmt(got - self.value, signed=True, digits=2)} below the range"
            if got > self.upper:
                return f"{fmt(got - self.upper, signed=True, digits=2)} above the range"
            return "inside"
        if published == 0:
            return fmt(got - published, signed=True, digits=2)
        ratio = got / published
        if 0.5 <= ratio <= 2.0:
            return f"{fmt((ratio - 1.0) * 100, signed=True, digits=2)} %"
        return f"× {fmt(ratio, digits=3)}"


TOLERANCE_KINDS = ("absolute", "relative", "factor", "at least", "range")


@record(frozen=True)
class Case:
    """One published number and how qcalc computes it (``compute``: see the module doc)."""

    id: str
    area: str
    quantity: str
    unit: str
    source: Source
    published: float
    compute: Mapping[str, Any]
    tolerance: Tolerance
    reason: str = ""  # why the case does not reproduce; empty when it does
    published_text: str = ""  # how the source states it, when not as one number
    note: str = ""  # assumptions and conditions, printed under the table

    @property
    def reproduces(self) -> bool:
        """Whether the case is expected to reproduce (no reason given against it)."""
        return not self.reason


@record(frozen=True)
class Outcome:
    """A case run: qcalc's value and whether it is inside the tolerance."""

    case: Case
    value: float
    seconds: float

    @property
    def within(self) -> bool:
        return self.case.tolerance.accepts(self.case.published, self.value)


def fmt(x: float, *, signed: bool = False, digits: int = 5) -> str:
    """``digits`` significant figures; whole numbers below 10⁷ with thousands separators."""
    if not math.isfinite(x):
        return str(x)
    sign = "+" if signed and x > 0 else ""
    if x == int(x) and abs(x) < 1e7:
        return f"{sign}{int(x):,}"
    text = f"{x:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return sign + text


# ----------------------------------------------------------------------------- the data file

#: The keys of a compute table that say how it computes (exactly one per table).
COMPUTE_KINDS = ("call", "constant", "root", "scenario", "scenario_text", "recipe")
#: Further keys each kind takes.
_KIND_KEYS = {
    "call": {"args", "kwargs"},
    "constant": set(),
    "root": {"equals", "bracket", "kwargs"},
    "scenario": {"demand", "key"},
    "scenario_text": {"demand", "key"},
    "recipe": {"kwargs"},
}
_AFTER_KEYS = {"attribute", "index", "multiply"}
_CASE_KEYS = {
    "id",
    "area",
    "quantity",
    "unit",
    "source",
    "published",
    "published_text",
    "tolerance",
    "reason",
    "note",
    "compute",
}
_CASE_REQUIRED = {"id", "area", "quantity", "source", "published", "tolerance", "compute"}
_SOURCE_KEYS = {"ref", "authors", "journal", "volume", "page", "year", "locator"}
_DOTTED = re.compile(r"[a-z][a-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+")


def _unknown(where: str, key: str, options: set[str] | Sequence[str]) -> ValidationDataError:
    close = difflib.get_close_matches(key, sorted(options), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else f"; expected one of {sorted(options)}"
    return ValidationDataError(f"{_SHOWN}: {where}: unknown key {key!r}{hint}")


def _check_keys(where: str, table: Mapping[str, Any], allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            raise _unknown(where, key, allowed)


def _check_compute(where: str, spec: Any) -> None:
    """Refuse a compute table that does not follow the format (at load, before any run)."""
    if not isinstance(spec, dict):
        raise ValidationDataError(f"{_SHOWN}: {where}: expected a table, got {spec!r}")
    kinds = [k for k in COMPUTE_KINDS if k in spec]
    if len(kinds) != 1:
        raise ValidationDataError(
            f"{_SHOWN}: {where}: expected exactly one of {', '.join(COMPUTE_KINDS)}; "
            f"got {', '.join(kinds) or 'none'}"
        )
    kind = kinds[0]
    _check_keys(where, spec, {kind} | _KIND_KEYS[kind] | _AFTER_KEYS)
    if kind in ("call", "constant", "root"):
        _allowed_name(where, spec[kind])
    if kind == "recipe" and spec["recipe"] not in RECIPES:
        raise _unknown(where, spec["recipe"], set(RECIPES))
    if kind == "scenario_text" and "\n" not in str(spec["scenario_text"]):
        raise ValidationDataError(f"{_SHOWN}: {where}: scenario_text is one line; expected YAML")
    if kind == "scenario_text" or kind == "scenario":
        if not isinstance(spec.get("demand"), str) or not isinstance(spec.get("key"), list):
            raise ValidationDataError(
                f"{_SHOWN}: {where}: a scenario case needs demand (a name) and key "
                "(the path to the number in the demand's JSON, as a list)"
            )
    if kind == "root" and not (
        isinstance(spec.get("bracket"), list) and len(spec["bracket"]) == 2 and "equals" in spec
    ):
        raise ValidationDataError(f"{_SHOWN}: {where}: a root needs equals and bracket [a, b]")
    for i, arg in enumerate(spec.get("args", [])):
        if isinstance(arg, dict):
            _check_compute(f"{where}.args[{i}]", arg)
    for name, arg in spec.get("kwargs", {}).items():
        if isinstance(arg, dict):
            _check_compute(f"{where}.kwargs.{name}", arg)


def _allowed_name(where: str, name: Any) -> None:
    if not isinstance(name, str) or not _DOTTED.fullmatch(name):
        raise ValidationDataError(
            f"{_SHOWN}: {where}: {name!r} is not a dotted name (module.function)"
        )
    module, _, attribute = name.rpartition(".")
    inside = any(module == m or module.startswith(m + ".") for m in ALLOWED_MODULES)
    if not inside or attribute.startswith("_"):
        raise ValidationDataError(
            f"{_SHOWN}: {where}: {name} is not a public name of a module under "
            f"{', '.join(ALLOWED_MODULES)}"
        )


def _source(where: str, table: Any, refs: Mapping[str, Any]) -> Source:
    if not isinstance(table, dict):
        raise ValidationDataError(f"{_SHOWN}: {where}: expected a table")
    _check_keys(where, table, _SOURCE_KEYS)
    if "ref" in table and table["ref"] not in refs:
        raise _unknown(where, table["ref"], set(refs))
    fields = dict(refs[table["ref"]]) if "ref" in table else {}
    fields.update({k: v for k, v in table.items() if k != "ref"})
    if not fields.get("authors") or not fields.get("journal") or not fields.get("locator"):
        raise ValidationDataError(f"{_SHOWN}: {where}: needs authors, journal and locator")
    return Source(
        str(fields["authors"]),
        str(fields["journal"]),
        str(fields.get("volume", "")),
        str(fields.get("page", "")),
        fields.get("year"),
        str(fields["locator"]),
    )


def _tolerance(where: str, value: Any, rate_factor: float) -> Tolerance:
    """``"exact"`` (relative 1e-9), ``"at least"``, ``"measured rate"`` (the rate factor)
    or a table with one of ``absolute``, ``relative``, ``factor``, ``range = [low, high]``."""
    if value == "exact":
        return Tolerance("relative", 1e-9)
    if value == "at least":
        return Tolerance("at least")
    if value == "measured rate":
        return Tolerance("factor", rate_factor)
    if isinstance(value, dict) and len(value) == 1:
        ((kind, number),) = value.items()
        if kind == "range" and isinstance(number, list) and len(number) == 2:
            return Tolerance("range", float(number[0]), float(number[1]))
        if kind in ("absolute", "relative", "factor") and isinstance(number, int | float):
            return Tolerance(kind, float(number))
    raise ValidationDataError(
        f"{_SHOWN}: {where}: tolerance is {value!r}; expected 'exact', 'at least', "
        "'measured rate' or one of {absolute = x}, {relative = x}, {factor = k}, "
        "{range = [low, high]}"
    )


def _case(index: int, table: Any, refs: Mapping[str, Any], rate_factor: float) -> Case:
    where = f"case {table.get('id', index)!r}" if isinstance(table, dict) else f"case {index}"
    if not isinstance(table, dict):
        raise ValidationDataError(f"{_SHOWN}: {where}: expected a table")
    _check_keys(where, table, _CASE_KEYS)
    missing = sorted(_CASE_REQUIRED - set(table))
    if missing:
        raise ValidationDataError(f"{_SHOWN}: {where}: missing {', '.join(missing)}")
    _check_compute(f"{where}: compute", table["compute"])
    return Case(
        id=str(table["id"]),
        area=str(table["area"]),
        quantity=str(table["quantity"]),
        unit=str(table.get("unit", "")),
        source=_source(f"{where}: source", table["source"], refs),
        published=float(table["published"]),
        compute=table["compute"],
        tolerance=_tolerance(f"{where}: tolerance", table["tolerance"], rate_factor),
        reason=str(table.get("reason", "")),
        published_text=str(table.get("published_text", "")),
        note=str(table.get("note", "")),
    )


def load_cases(text: str) -> tuple[float, tuple[Case, ...]]:
    """The rate factor and the cases of a validation data file's text, checked."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationDataError(f"{_SHOWN}: {exc}") from None
    _check_keys("top level", data, {"rate_factor", "refs", "case"})
    if not isinstance(data.get("rate_factor"), int | float):
        raise ValidationDataError(f"{_SHOWN}: rate_factor (a number) is missing")
    rate_factor = float(data["rate_factor"])
    refs = data.get("refs", {})
    cases = tuple(_case(i, t, refs, rate_factor) for i, t in enumerate(data.get("case", [])))
    return rate_factor, cases


# ----------------------------------------------------------------------------- computing


def _float(value: Any) -> float:
    """A number from a model or a JSON value (the smallest element of an array)."""
    import numpy as np

    return float(np.min(np.asarray(value, dtype=float)))


def _resolve(name: str) -> Any:
    """A public name of an allowed module (checked at load; imported only here)."""
    import importlib

    _allowed_name("compute", name)
    module, _, attribute = name.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


@cache
def _evaluated(path_or_text: str) -> tuple[Any, list[Any], dict[str, Any]]:
    """A scenario (file or YAML text), its evaluated demands and its JSON, through the
    public API as ``qcalc rate --format json`` runs it (evaluated once)."""
    from qcalc.api import evaluate, load_scenario

    scenario = load_scenario(path_or_text)
    result = evaluate(scenario, levers="none")
    return scenario, list(result.demands), result.to_dict()


def _bundled(name: str) -> tuple[Any, list[Any], dict[str, Any]]:
    """A bundled scenario (:mod:`qcalc.examples`), evaluated."""
    from qcalc import examples

    return _evaluated(str(examples.path(name)))


def _scenario_value(data: Mapping[str, Any], demand: str, key: Sequence[str | int]) -> float:
    """The number at ``key`` in the JSON of ``demand`` (as ``qcalc rate -f json`` prints)."""
    (found,) = [d for d in data["demands"] if d["name"] == demand]
    value: Any = found
    for part in key:
        value = value[part]
    return _float(value)


def _argument(value: Any) -> Any:
    return compute(value) if isinstance(value, dict) else value


def compute(spec: Mapping[str, Any]) -> Any:
    """The value a compute table describes (see the module doc)."""
    kwargs = {k: _argument(v) for k, v in spec.get("kwargs", {}).items()}
    value: Any
    if "call" in spec:
        value = _resolve(spec["call"])(*[_argument(a) for a in spec.get("args", [])], **kwargs)
    elif "constant" in spec:
        value = _resolve(spec["constant"])
    elif "root" in spec:
        from scipy.optimize import brentq

        function, target = _resolve(spec["root"]), float(spec["equals"])
        low, high = spec["bracket"]
        value = brentq(lambda x: float(function(x, **kwargs)) - target, low, high, xtol=ROOT_XTOL)
    elif "recipe" in spec:
        value = RECIPES[spec["recipe"]](**kwargs)
    else:
        scenario = spec.get("scenario")
        evaluated = _bundled(scenario) if scenario else _evaluated(spec["scenario_text"])
        value = _scenario_value(evaluated[2], spec["demand"], spec["key"])
    if "attribute" in spec:
        value = getattr(value, spec["attribute"])
    for item in spec.get("index", []):
        value = value[item]
    if "multiply" in spec:
        value = float(value)
        for factor in spec["multiply"]:
            value *= factor
    return value


# ----------------------------------------------------------------------------- recipes


def _bisect_reach(has_key: Callable[[float], bool], low: float, high: float) -> float:
    """Largest length in [low, high] with key, to 0.5 km (has_key(low) and not high)."""
    if not has_key(low) or has_key(high):
        return math.nan
    while high - low > 0.5:
        middle = 0.5 * (low + high)
        if has_key(middle):
            low = middle
        else:
            high = middle
    return low


def bb84_reach_km(
    *,
    lengths_km: Sequence[float],
    attenuation_db_per_km: float,
    detector_efficiency: float,
    background_yield: float,
    misalignment_error: float,
    error_correction_efficiency: float,
    mean_photon_number: float,
    decoy: str,
    weak_decoy_photon_number: float,
) -> float:
    """Longest fibre with decoy-BB84 key on the grid ``lengths_km = [start, stop, num]``."""
    import numpy as np

    from qcalc.physics.fibre import fibre_loss_db, transmittance_from_loss_db
    from qcalc.protocols.qkd import bb84_key_rate

    start, stop, num = lengths_km
    lengths = np.linspace(start, stop, int(num))
    eta = transmittance_from_loss_db(fibre_loss_db(lengths, attenuation_db_per_km))
    rate, _ = bb84_key_rate(
        eta * detector_efficiency,
        background_yield,
        misalignment_error,
        mean_photon_number=mean_photon_number,
        decoy=decoy,
        weak_decoy_photon_number=weak_decoy_photon_number,
        error_correction_efficiency=error_correction_efficiency,
    )
    return float(lengths[np.asarray(rate) > 0].max())


def _lim_rate(length_km: float, key_detections: float, x: Any, device: Mapping[str, Any]) -> Any:
    """Rate per pulse of Lim's protocol when the block holds ``key_detections`` in X."""
    import numpy as np

    from qcalc.physics.fibre import fibre_loss_db, transmittance_from_loss_db
    from qcalc.protocols.finite_key import bb84_finite_key_rate

    x = np.asarray(x, dtype=float)
    fibre = transmittance_from_loss_db(fibre_loss_db(length_km, device["attenuation_db_per_km"]))
    eta = device["detector_efficiency"] * float(fibre)
    mu3, p_dc, p_ap = device["vacuum_photon_number"], device["dark_count"], device["afterpulse"]
    mu1 = x[..., 0]
    mu2 = mu3 + x[..., 1] * (mu1 - 2 * mu3)
    p1, q = x[..., 2], x[..., 4]
    p2 = x[..., 3] * (1 - p1)
    clicks = sum(
        p * (1 - (1 - 2 * p_dc) * np.exp(-eta * mu)) * (1 + p_ap)
        for mu, p in ((mu1, p1), (mu2, p2), (mu3, 1 - p1 - p2))
    )
    return bb84_finite_key_rate(
        eta,
        2 * p_dc,
        device["misalignment_error"],
        key_detections / (q**2 * clicks),
        signal_photon_number=mu1,
        decoy_photon_number=mu2,
        vacuum_photon_number=mu3,
        signal_probability=p1,
        decoy_probability=p2,
        key_basis_probability=q,
        afterpulse_probability=p_ap,
    )


def _lim_optimised(length_km: float, key_detections: float, device: Mapping[str, Any]) -> float:
    """Maximise over {μ1, μ2, p1, p2, q_X} at fixed n_X, as Lim et al. do for Fig. 1."""
    import itertools

    import numpy as np

    from qcalc.protocols.finite_key import maximise_from_grid

    grid = np.array(
        list(
            itertools.product(
                (0.2, 0.35, 0.5, 0.7),
                (0.1, 0.2, 0.35, 0.5),
                (0.03, 0.1, 0.25, 0.5, 0.8),
                (0.2, 0.4, 0.6, 0.8),
                (0.3, 0.45, 0.6, 0.75, 0.9, 0.97),
            )
        )
    )
    rate, _ = maximise_from_grid(
        lambda x: np.asarray(_lim_rate(length_km, key_detections, x, device)),
        grid,
        ((0.05, 1.2), (0.02, 0.98), (0.01, 0.98), (0.02, 0.98), (0.05, 0.995)),
        method="Nelder-Mead",
    )
    return rate


def lim2014_block_ratio(
    *, length_km: float, key_detections: Sequence[float], **device: float
) -> float:
    """Optimised finite-key rate with the first block size over that with the second.

    ``device``: ``detector_efficiency``, ``attenuation_db_per_km``, ``dark_count``,
    ``afterpulse``, ``misalignment_error`` and ``vacuum_photon_number`` (μ3)."""
    large, small = key_detections
    return _lim_optimised(length_km, large, device) / _lim_optimised(length_km, small, device)


def mdi_reach_km(
    *,
    detector_efficiency: float,
    attenuation_db_per_km: float,
    dark_count_probability: float,
    misalignment_error: float,
    bracket_km: Sequence[float],
) -> float:
    """Reach of MDI-QKD with the relay at the midpoint, by bisection to 0.5 km."""
    from qcalc.physics.fibre import fibre_loss_db, transmittance_from_loss_db
    from qcalc.protocols.mdi import optimise_mdi_qkd

    def has_key(total_km: float) -> bool:
        fibre = transmittance_from_loss_db(fibre_loss_db(total_km / 2.0, attenuation_db_per_km))
        arm = detector_efficiency * float(fibre)
        rate, _ = optimise_mdi_qkd(arm, arm, dark_count_probability, misalignment_error)
        return float(rate) > 0.0

    low, high = bracket_km
    return _bisect_reach(has_key, low, high)


def tf_key_over_conditional_bound(*, scenario: str, demand: str, relay: str) -> float:
    """Twin-field key of a bundled scenario over −log2(1 − η_channel η_detector) per pulse."""
    from qcalc.protocols.qkd import plob_bound

    loaded, results, _ = _bundled(scenario)
    (result,) = [r for r in results if r.demand.name == demand]
    eta_channel = math.prod(_float(h.channel_transmittance) for h in result.hops)
    eta_detector = float(loaded.nodes[relay].detector.efficiency)
    rate = next(p for p in result.end_to_end if p.protocol == "tf-qkd")
    conditional_bps = float(plob_bound(eta_channel * eta_detector)) * _float(
        rate.repetition_rate_hz
    )
    return _float(rate.key_rate_bps) / conditional_bps


def diqkd_binned_threshold(*, chsh_value: float, bracket: Sequence[float]) -> float:
    """Detection efficiency η (both sides) at which binned CHSH DIQKD key vanishes."""
    from scipy.optimize import brentq

    from qcalc.protocols.ebqkd import diqkd_binned_key_rate

    def key(eta: float) -> float:
        return float(diqkd_binned_key_rate(chsh_value, 0.0, eta * eta, (1 - eta) ** 2))

    low, high = bracket
    return float(brentq(lambda e: key(e) - 1e-15, low, high, xtol=ROOT_XTOL))


def satellite_channel_loss_db(
    *, scenario: str, satellite: str, ground: str, slant_range_km: float
) -> float:
    """Channel loss of a bundled scenario's satellite link at a given slant range."""
    from qcalc.channels import satellite_budget
    from qcalc.physics.satellite import elevation_from_slant_range_deg

    loaded, _, _ = _bundled(scenario)
    (link,) = [x for x in loaded.links if set(x.ends) == {satellite, ground}]
    altitude = loaded.nodes[satellite].altitude_km
    budget = satellite_budget(
        link,
        loaded,
        satellite,
        ground,
        elevation_from_slant_range_deg(altitude, slant_range_km),
    )
    return float(budget.channel_loss_db)


#: The computations that are not a single call, by the name the data file uses.
RECIPES: dict[str, Callable[..., float]] = {
    "bb84_reach_km": bb84_reach_km,
    "lim2014_block_ratio": lim2014_block_ratio,
    "mdi_reach_km": mdi_reach_km,
    "tf_key_over_conditional_bound": tf_key_over_conditional_bound,
    "diqkd_binned_threshold": diqkd_binned_threshold,
    "satellite_channel_loss_db": satellite_channel_loss_db,
}

RATE_FACTOR, CASES = load_cases(files("qcalc").joinpath(DATA_FILE).read_text(encoding="utf-8"))
"""Experimental key and pair rates: the factor a closed-form model may be expected to match
(``RATE_FACTOR``); every case, in table order (``CASES``)."""


# ----------------------------------------------------------------------------- running


def run_case(case: Case) -> Outcome:
    """Compute one case's value and time it (an error in the model propagates)."""
    start = time.perf_counter()
    value = float(compute(case.compute))
    return Outcome(case, value, time.perf_counter() - start)


@cache
def run_all() -> tuple[Outcome, ...]:
    """Every case, in table order (computed once per process)."""
    return tuple(run_case(case) for case in CASES)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(outcomes: Sequence[Outcome]) -> str:
    """The validation table as markdown, with a summary and the notes under it."""
    reproduced = sum(o.case.reproduces for o in outcomes)
    lines = [
        "# Validation against published results",
        "",
        "Generated by `python -m qcalc.validation --write docs/validation.md`; "
        "`tests/test_validation.py` fails when this file is stale, when a case marked "
        "reproduced falls outside its tolerance, or when a case marked not reproduced "
        "comes inside it.",
        "",
        f"{len(outcomes)} cases: {reproduced} reproduce, {len(outcomes) - reproduced} do not "
        "(the reason is in the last column). Tolerances: ± absolute in the quantity's unit, "
        f"± % relative, within × k a factor either way (× {fmt(RATE_FACTOR)} for measured key "
        "and pair rates), ≥ published for a published lower bound.",
        "",
        "| id | area | quantity | source | published | qcalc | deviation | tolerance | reproduced |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        c = o.case
        unit = f" {c.unit}" if c.unit else ""
        published = (c.published_text or fmt(c.published)) + unit
        verdict = "yes" if c.reproduces else f"no: {c.reason}"
        row = [
            f"`{c.id}`",
            c.area,
            c.quantity,
            c.source.cite(),
            published,
            fmt(o.value) + unit,
            c.tolerance.deviation(c.published, o.value, c.unit),
            c.tolerance.text(c.unit),
            verdict,
        ]
        lines.append("| " + " | ".join(_cell(x) for x in row) + " |")
    notes = [o.case for o in outcomes if o.case.note]
    if notes:
        lines += ["", "## Notes", ""]
        lines += [f"- `{c.id}`: {c.note}" for c in notes]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m qcalc.validation",
        description="Print the published-results validation table as markdown.",
    )
    parser.add_argument("--write", metavar="FILE", help="write the table to FILE")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    outcomes = run_all()
    text = markdown(outcomes)
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
        print(f"wrote {args.write}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    wrong = [o.case.id for o in outcomes if o.within != o.case.reproduces]
    print(
        f"{len(outcomes)} cases in {time.perf_counter() - start:.1f} s"
        + (f"; verdict changed: {', '.join(wrong)}" if wrong else ""),
        file=sys.stderr,
    )
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
