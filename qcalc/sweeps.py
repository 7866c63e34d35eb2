"""Vectorised parameter sweeps: numpy arrays in place of numbers, one evaluation call.

``qcalc sweep SCENARIO --vary FIELD=START:STOP:NUM --metric NAME`` reads the scenario
once, places an array of values at the dotted field path in the raw document, and lets
the checker and the model chain broadcast over it. Several ``--vary`` make a full grid
(``np.meshgrid(indexing="ij")``, flattened), still evaluated in one call; no Python loop
runs over the points.

What a sweep shares across its points: the route of the demand (chosen at the median
loss, see :func:`qcalc.network.lowest_loss_route`) and, per hop, the protocol family
kept for that hop. The demand's key rate, its protocol's repetition rate and so the PLOB
ceiling are chosen point by point (:func:`qcalc.stage.select_key_rate`), as a scalar evaluation
at each point would choose them.
"""

from __future__ import annotations

import copy
import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from qcalc._yaml import shown
from qcalc.errors import UsageError
from qcalc.limits import LIMITS
from qcalc.scenario import (
    CRITERIA_FIELDS,
    DEFAULTS_FIELDS,
    DEMAND_FIELDS,
    HARDWARE_KINDS,
    LINK_FIELDS,
    NODE_FIELDS,
    PROFILE_FIELDS,
    PROTOCOLS,
    Criteria,
    Field,
    Scenario,
    _suggest,
    _unit_hint,
)

FloatArray = npt.NDArray[np.float64]

#: Most points one sweep evaluates at once by default (``QCALC_MAX_SWEEP_POINTS`` raises
#: it, :mod:`qcalc.limits`): a million points of a metro link take about 15 s and 400 MB.
MAX_POINTS = LIMITS["sweep_points"].default
#: Field kinds a sweep can vary.
NUMERIC_KINDS = ("number", "integer", "number_or_optimise")
#: Demand quantities a sweep reports; ``protocol:<name>`` adds one protocol's key rate.
METRICS = ("key_rate_bps", "pair_rate_hz", "fidelity", "stage", "loss_db", "plob_bps")
PROTOCOL_METRIC = "protocol:"
SECTIONS = ("links", "nodes", "hardware", "demands", "defaults", "criteria")
_EXAMPLE = "links.alice-bob.length_km=1:200:100"
_FORM = f"expected FIELD=START:STOP:NUM or FIELD=log:START:STOP:NUM, e.g. {_EXAMPLE}"


@dataclass(frozen=True, eq=False)
class Vary:
    """One varied field: its dotted path as typed, its values, and whether they are log-spaced.

    ``values`` is stored as a read-only 1-D float array whatever sequence is given.
    """

    field: str
    values: FloatArray
    log: bool = False

    def __post_init__(self) -> None:
        values = np.array(self.values, dtype=float).ravel()
        values.flags.writeable = False
        object.__setattr__(self, "values", values)


def _bad_vary(text: str, problem: str) -> UsageError:
    return UsageError(f"--vary {shown(text, 120)}: {problem}; {_FORM}")


def _finite(text: str, part: str, name: str) -> float:
    try:
        value = float(part)
    except ValueError:
        raise _bad_vary(text, f"{name} {shown(part.strip(), 40)} is not a number") from None
    if not math.isfinite(value):
        raise _bad_vary(text, f"{name} {shown(part.strip(), 40)} is not a finite number")
    return value


def _count(part: str) -> int:
    """A whole number written plainly or as ``1e6``; 0 for anything else."""
    try:
        return int(part)
    except ValueError:
        pass
    try:
        value = float(part)
    except ValueError:
        return 0
    return int(value) if math.isfinite(value) and value.is_integer() else 0


def parse_vary(text: str) -> Vary:
    """Parse ``FIELD=START:STOP:NUM`` or ``FIELD=log:START:STOP:NUM`` into a :class:`Vary`.

    Linear ranges are ``np.linspace(START, STOP, NUM)``, log ranges
    ``np.geomspace(START, STOP, NUM)`` (START and STOP > 0). NUM is a whole number ≥ 1
    (``1e6`` is accepted).
    The field path is checked against a scenario later, by :func:`run_sweep`.

    Raises
    ------
    UsageError
        Naming the text and what was expected.
    """
    name, equals, spec = text.partition("=")
    name = name.strip()
    if not equals:
        raise _bad_vary(text, "no '=' between FIELD and its range")
    if not name:
        raise _bad_vary(text, "FIELD is empty")
    parts = [p.strip() for p in spec.split(":")]
    log = parts[0].lower() == "log"
    if log:
        parts = parts[1:]
    if len(parts) != 3:
        raise _bad_vary(text, f"the range {spec.strip()!r} is not START:STOP:NUM")
    start = _finite(text, parts[0], "START")
    stop = _finite(text, parts[1], "STOP")
    entry = LIMITS["sweep_points"]
    digits = len(parts[2].lstrip("+0"))
    if parts[2].lstrip("+").isdigit() and digits > 15:  # never a 5,000-digit int
        raise _bad_vary(
            text,
            f"NUM has {digits:,} digits, more than the limit of {entry.value:,} points; set "
            f"{entry.env} to raise it",
        )
    num = _count(parts[2])
    if num < 1:
        raise _bad_vary(text, f"NUM {shown(parts[2], 40)} is not a whole number ≥ 1")
    if num > entry.value:
        raise _bad_vary(text, f"NUM is {entry.refusal(num)}")
    if log and (start <= 0 or stop <= 0):
        raise _bad_vary(text, f"a log range needs START and STOP > 0, not {start:g} and {stop:g}")
    if not log and not math.isfinite(stop - start):
        raise _bad_vary(
            text,
            f"the range from {start:g} to {stop:g} is wider than the largest number "
            "(about 1.8e308); expected START and STOP closer together",
        )
    values = np.geomspace(start, stop, num) if log else np.linspace(start, stop, num)
    return Vary(field=name, values=values, log=log)


# ----------------------------------------------------------------------------- field paths


@dataclass(frozen=True)
class _Target:
    """Where in the raw document one varied field goes: a mapping, its key and its Field."""

    container: dict[str, Any]
    key: str
    spec: Field


def _path_error(vary: str, problem: str) -> UsageError:
    return UsageError(f"--vary {vary!r}: {problem}")


def _choose(vary: str, what: str, parts: Sequence[str], names: Sequence[str]) -> tuple[str, int]:
    """The name at the start of ``parts`` (names may hold dots) and how many parts it took."""
    for used in range(len(parts) - 1, 0, -1):
        candidate = ".".join(parts[:used])
        if candidate in names:
            return candidate, used
    given = parts[0] if parts else ""
    known = ", ".join(names) or "none"
    raise _path_error(
        vary, f"no {what} named {given!r} (defined: {known}){_suggest(given, list(names))}"
    )


def _numeric_field(vary: str, what: str, key: str, table: Mapping[str, Field]) -> Field:
    numeric = [k for k, f in table.items() if f.kind in NUMERIC_KINDS]
    if key not in table:
        hint = _suggest(key, numeric)
        listing = "" if hint else f" (numeric {what} fields: {', '.join(numeric)})"
        raise _path_error(vary, f"{key!r} is not a {what} field{hint}{listing}")
    if table[key].kind not in NUMERIC_KINDS:
        raise _path_error(
            vary, f"{what} field {key!r} is not a number; numeric ones: {', '.join(numeric)}"
        )
    return table[key]


def _profile_copy(value: Any, kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """An inline copy of a profile given by name or inline (empty when there is none)."""
    if isinstance(value, str):
        group = next(g for g, k in HARDWARE_KINDS.items() if k == kind)
        value = data.get("hardware", {}).get(group, {}).get(value, {})
    return copy.deepcopy(value) if isinstance(value, dict) else {}


def _profile_target(
    vary: str, where: dict[str, Any], rest: Sequence[str], data: Mapping[str, Any]
) -> _Target:
    """``<kind>.<field>`` of the profile a node (or ``defaults``) uses, made inline."""
    kind = rest[0]
    if len(rest) != 2:
        raise _path_error(vary, f"expected {kind}.<field>, e.g. {kind}.efficiency")
    spec = _numeric_field(vary, kind, rest[1], PROFILE_FIELDS[kind])
    inherited = where.get(kind, data.get("defaults", {}).get(kind))
    where[kind] = _profile_copy(inherited, kind, data)
    return _Target(where[kind], rest[1], spec)


def _node_target(vary: str, parts: Sequence[str], data: dict[str, Any]) -> _Target:
    nodes = data["nodes"]
    name, used = _choose(vary, "node", parts, list(nodes))
    rest = parts[used:]
    if nodes[name] is None:
        nodes[name] = {}
    body = nodes[name]
    if rest[0] in PROFILE_FIELDS:
        return _profile_target(vary, body, rest, data)
    if rest[0] == "orbit":
        orbit_fields = NODE_FIELDS["orbit"].sub or {}
        if len(rest) != 2:
            raise _path_error(vary, "expected orbit.altitude_km")
        spec = _numeric_field(vary, "orbit", rest[1], orbit_fields)
        body.setdefault("orbit", {})
        return _Target(body["orbit"], rest[1], spec)
    if len(rest) != 1:
        raise _path_error(vary, f"node {name!r} has no field {'.'.join(rest)!r}")
    node_fields = {k: f for k, f in NODE_FIELDS.items() if k not in PROFILE_FIELDS}
    return _Target(body, rest[0], _numeric_field(vary, "node", rest[0], node_fields))


def _listed_target(
    vary: str,
    parts: Sequence[str],
    bodies: list[dict[str, Any]],
    names: Sequence[str],
    what: str,
    table: Mapping[str, Field],
) -> _Target:
    """``<name>.<field>`` of a link or demand (list entries found by their name)."""
    name, used = _choose(vary, what, parts, names)
    rest = parts[used:]
    body = bodies[list(names).index(name)]
    if len(rest) == 2 and table.get(rest[0], Field("", "")).kind == "mapping":
        sub = table[rest[0]].sub or {}
        spec = _numeric_field(vary, rest[0], rest[1], sub)
        if not isinstance(body.get(rest[0]), dict):
            raise _path_error(vary, f"{what} {name!r} gives no {rest[0]} block to vary")
        return _Target(body[rest[0]], rest[1], spec)
    if len(rest) != 1:
        raise _path_error(vary, f"{what} {name!r} has no field {'.'.join(rest)!r}")
    return _Target(body, rest[0], _numeric_field(vary, what, rest[0], table))


def _hardware_target(vary: str, parts: Sequence[str], data: dict[str, Any]) -> _Target:
    hardware = data.get("hardware", {})
    group = parts[0] if parts else ""
    if group not in HARDWARE_KINDS:
        raise _path_error(
            vary,
            f"no hardware group {group!r} (groups: {', '.join(HARDWARE_KINDS)})"
            f"{_suggest(group, list(HARDWARE_KINDS))}",
        )
    profiles = hardware.get(group, {})
    name, used = _choose(vary, f"{HARDWARE_KINDS[group]} profile", parts[1:], list(profiles))
    rest = parts[1 + used :]
    kind = HARDWARE_KINDS[group]
    if len(rest) != 1:
        raise _path_error(vary, f"expected hardware.{group}.{name}.<field>")
    return _Target(
        profiles[name], rest[0], _numeric_field(vary, kind, rest[0], PROFILE_FIELDS[kind])
    )


def _target(vary: str, data: dict[str, Any], scenario: Scenario) -> _Target:
    """Resolve a dotted field path to its place in the raw document ``data``."""
    section, _, rest_text = vary.partition(".")
    parts = rest_text.split(".") if rest_text else []
    if section not in SECTIONS:
        raise _path_error(
            vary,
            f"a field path starts with one of {', '.join(SECTIONS)}{_suggest(section, SECTIONS)}",
        )
    if not parts or not all(parts):
        raise _path_error(vary, f"expected {section}.<…>.<field>, e.g. {_EXAMPLE.split('=')[0]}")
    if section == "links":
        names = [link.name for link in scenario.links]
        return _listed_target(vary, parts, data["links"], names, "link", LINK_FIELDS)
    if section == "demands":
        names = [d.name for d in scenario.demands]
        return _listed_target(vary, parts, data["demands"], names, "demand", DEMAND_FIELDS)
    if section == "nodes":
        return _node_target(vary, parts, data)
    if section == "hardware":
        return _hardware_target(vary, parts, data)
    where = data.setdefault(section, {})
    if section == "defaults" and parts[0] in PROFILE_FIELDS:
        return _profile_target(vary, where, parts, data)
    if len(parts) != 1:
        raise _path_error(vary, f"expected {section}.<field>")
    table = CRITERIA_FIELDS if section == "criteria" else DEFAULTS_FIELDS
    return _Target(where, parts[0], _numeric_field(vary, section, parts[0], table))


def _check_values(vary: Vary, spec: Field) -> None:
    """The values fit the field's range (and are whole for an integer field)."""
    lo, hi = float(vary.values.min()), float(vary.values.max())
    below = spec.minimum is not None and (
        lo < spec.minimum or (spec.exclusive_minimum and lo <= spec.minimum)
    )
    above = spec.maximum is not None and hi > spec.maximum
    if below or above:
        bad = lo if below else hi
        unit = _unit_hint(vary.field.rsplit(".", 1)[-1])
        raise _path_error(
            vary.field, f"the range reaches {bad:g}; expected {spec.range_text}{unit}"
        )
    if spec.kind == "integer" and not np.all(vary.values == np.round(vary.values)):
        fraction = vary.values[vary.values != np.round(vary.values)][0]
        raise _path_error(
            vary.field, f"the field takes whole numbers; the range gives {fraction:g}"
        )


# ----------------------------------------------------------------------------- metrics


def check_metrics(metrics: Sequence[str]) -> tuple[str, ...]:
    """The metrics, checked and de-duplicated in order (``key_rate_bps`` when none)."""
    out: list[str] = []
    for metric in metrics or ["key_rate_bps"]:
        if metric.startswith(PROTOCOL_METRIC):
            name = metric.removeprefix(PROTOCOL_METRIC)
            if name not in PROTOCOLS:
                raise UsageError(
                    f"--metric {metric!r}: no protocol {name!r} (protocols: "
                    f"{', '.join(PROTOCOLS)}){_suggest(name, PROTOCOLS)}"
                )
        elif metric not in METRICS:
            choices = [*METRICS, "protocol:<name>"]
            raise UsageError(
                f"--metric {metric!r}: unknown metric (choices: {', '.join(choices)})"
                f"{_suggest(metric, METRICS)}"
            )
        if metric not in out:
            out.append(metric)
    return tuple(out)


def _metric(name: str, result: Any, derived: Mapping[str, Any]) -> Any:
    if name in derived:
        return derived[name]
    if name == "stage":
        return np.asarray(result.stage, dtype=np.int64)
    if name.startswith(PROTOCOL_METRIC):
        protocol = name.removeprefix(PROTOCOL_METRIC)
        for rate in result.end_to_end:
            if rate.protocol == protocol:
                return rate.key_rate_bps
        found = ", ".join(r.protocol for r in result.end_to_end) or "none"
        raise UsageError(
            f"--metric {name!r}: {protocol} gives no end-to-end key rate for demand "
            f"{result.demand.name!r} (protocols that do: {found})"
        )
    return getattr(result, name)


# ----------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class SweepResult:
    """The columns of a sweep: the varied fields first, then the metrics, one row a point.

    ``plob_bps`` is always computed (for the plot's bound), whether asked for or not;
    ``criteria`` are the scenario's stage thresholds (for the plot's fidelity lines).
    """

    columns: dict[str, npt.NDArray[Any]]
    varies: tuple[Vary, ...]
    metrics: tuple[str, ...]
    scenario_name: str
    demand: str
    file: str = ""
    protocol: str | None = None
    plob_bps: FloatArray | None = None
    criteria: Criteria = field(default_factory=Criteria)
    notes: tuple[str, ...] = ()
    #: The derivation over the whole grid, for ``--explain`` (ranges where values vary).
    steps: tuple[Any, ...] = ()

    @property
    def points(self) -> int:
        """Number of points (rows). [unitless]"""
        return int(next(iter(self.columns.values())).size) if self.columns else 0

    def _cells(self, fmt: str) -> list[list[str]]:
        """Every row as text: integers as they are, floats by ``fmt`` ("" = shortest exact)."""
        lists = [col.tolist() for col in self.columns.values()]
        return [
            [str(v) if isinstance(v, int) or not fmt else format(v, fmt) for v in row]
            for row in zip(*lists, strict=True)
        ]

    def to_csv(self) -> str:
        """CSV text: a header of column names, then one row per point, full precision.

        A column name is a field path as typed; it is never a spreadsheet formula."""
        from qcalc.outputs import csv_cell

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([csv_cell(c) for c in self.columns])
        writer.writerows(self._cells(""))
        return buffer.getvalue()

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict: scenario, demand, the varies, and every column as a list."""
        from qcalc import __version__

        return {
            "qcalc_version": __version__,
            "scenario": self.scenario_name,
            "file": self.file,
            "demand": self.demand,
            "protocol": self.protocol,
            "points": self.points,
            "varies": [
                {
                    "field": v.field,
                    "start": float(v.values[0]),
                    "stop": float(v.values[-1]),
                    "num": int(v.values.size),
                    "log": v.log,
                }
                for v in self.varies
            ],
            "metrics": list(self.metrics),
            "columns": {name: col.tolist() for name, col in self.columns.items()},
            "notes": list(self.notes),
        }

    def rows(self) -> list[list[str]]:
        """Rows of text for a table (header: ``list(columns)``), 6 significant figures."""
        return self._cells(".6g")


# ----------------------------------------------------------------------------- sweep


def _grid(varies: Sequence[Vary]) -> list[FloatArray]:
    """The values of each vary at every point: 1-D as given, several as a flattened grid."""
    if len(varies) == 1:
        return [np.asarray(varies[0].values, dtype=float)]
    mesh = np.meshgrid(*[v.values for v in varies], indexing="ij")
    return [np.asarray(m, dtype=float).ravel() for m in mesh]


def run_sweep(
    path: str, varies: list[Vary], metrics: list[str], demand: str | None = None
) -> SweepResult:
    """Evaluate one demand of the scenario in ``path`` over the varied fields at once.

    One vary gives a 1-D sweep; several give the full grid of their values (first field
    slowest). Each field path is resolved in the raw document, the values are checked
    against the field's range, the arrays placed, and the scenario is checked and
    evaluated once with them.

    Returns
    -------
    SweepResult
        Columns of equal length: the varied fields, then the metrics.

    Raises
    ------
    ScenarioError
        When the file itself is not a valid scenario.
    UsageError
        For an unknown field path, metric or demand, values outside a field's range, or
        a route through a whole-pass satellite link.
    """
    from qcalc.evaluate import evaluate_demand
    from qcalc.protocols.qkd import plob_bound
    from qcalc.scenario import scenario_from_document

    wanted = check_metrics(metrics)
    _check_varies(varies)
    doc, base, chosen = _read(path, demand)
    _check_repeater_points(base, chosen, math.prod(v.values.size for v in varies))
    if any(m.startswith(PROTOCOL_METRIC) for m in wanted):
        # A protocol that gives no end-to-end rate is said before the grid is evaluated:
        # which protocols apply depends on the route and hardware, not on the values.
        single = evaluate_demand(base, base.demands[chosen])
        for metric in wanted:
            if metric.startswith(PROTOCOL_METRIC):
                _metric(metric, single, {})
    targets = [_target(v.field, doc.data, base) for v in varies]
    for vary, target in zip(varies, targets, strict=True):
        _check_values(vary, target.spec)
    grid = _grid(varies)
    for target, values in zip(targets, grid, strict=True):
        target.container[target.key] = values
    scenario = scenario_from_document(doc)
    result = evaluate_demand(scenario, scenario.demands[chosen])
    key, rep = result.key_rate_bps, result.key_repetition_rate_hz
    loss = np.asarray(result.channel_loss_db, dtype=float)
    derived = {
        "key_rate_bps": key,
        "loss_db": loss,
        "plob_bps": plob_bound(np.power(10.0, -loss / 10.0)) * rep,
    }
    shape = grid[0].shape
    columns: dict[str, npt.NDArray[Any]] = dict(zip([v.field for v in varies], grid, strict=True))
    for metric in wanted:
        columns[metric] = np.array(np.broadcast_to(_metric(metric, result, derived), shape))
    how = "given by the demand" if result.demand.path else "lowest loss at the median point"
    return SweepResult(
        columns=columns,
        varies=tuple(varies),
        metrics=wanted,
        scenario_name=scenario.name,
        demand=result.demand.name,
        file=path,
        protocol=result.protocol,
        plob_bps=np.array(np.broadcast_to(derived["plob_bps"], shape)),
        criteria=scenario.criteria,
        notes=(f"route {' → '.join(result.path)} ({how})", *result.notes),
        steps=tuple(result.steps),
    )


def _check_varies(varies: Sequence[Vary]) -> None:
    """At least one vary, each field once, each with values, and not too many points."""
    if not varies:
        raise UsageError(f"a sweep needs at least one --vary, e.g. --vary {_EXAMPLE}")
    fields = [v.field for v in varies]
    repeated = sorted({f for f in fields if fields.count(f) > 1})
    if repeated:
        raise UsageError(f"--vary {repeated[0]!r} is given more than once; vary a field once")
    empty = [v.field for v in varies if v.values.size == 0]
    if empty:
        raise UsageError(f"--vary {empty[0]!r} has no values")
    points = math.prod(v.values.size for v in varies)
    entry = LIMITS["sweep_points"]
    if points > entry.value:
        raise UsageError(entry.refusal(points, "the grid has "))


def _check_repeater_points(scenario: Scenario, chosen: int, points: int) -> None:
    """A demand through repeaters costs a thousand times more a point: its own limit."""
    from qcalc.network import demand_route

    demand = scenario.demands[chosen]
    route = demand_route(scenario, demand)
    if not any(scenario.nodes[n].role == "repeater" for n in route[1:-1]):
        return
    entry = LIMITS["sweep_repeater_points"]
    if points > entry.value:
        raise UsageError(
            entry.refusal(
                points, f"demand {demand.name!r} runs through repeaters and the grid has "
            )
        )


def _read(path: str, demand: str | None) -> tuple[Any, Scenario, int]:
    """The raw document (a fresh copy to place arrays in), the checked scenario, the demand.

    The file is checked as written first, so its own errors come with their line numbers.
    """
    from qcalc._yaml import read_file
    from qcalc.network import demand_route
    from qcalc.scenario import scenario_from_document

    doc = read_file(path)
    original = copy.deepcopy(doc.data)
    base = scenario_from_document(doc)
    doc.data = original
    chosen = _choose_demand(base, demand)
    route = demand_route(base, base.demands[chosen])
    for a, b in zip(route, route[1:], strict=False):
        link = base.link_between(a, b)
        if link is not None and link.min_elevation_deg is not None:
            raise UsageError(
                f"demand {base.demands[chosen].name!r} runs over the whole-pass satellite link "
                f"{link.name!r} (min_elevation_deg), which a sweep cannot broadcast over; "
                f"give it elevation_deg and vary links.{link.name}.elevation_deg instead"
            )
    return doc, base, chosen


def _choose_demand(scenario: Scenario, demand: str | None) -> int:
    """Index of the demand named ``demand`` (the first when None)."""
    names = [d.name for d in scenario.demands]
    if not names:
        raise UsageError(f"{scenario.file}: the scenario has no demands; a sweep evaluates one")
    if demand is None:
        return 0
    if demand not in names:
        raise UsageError(
            f"--demand {demand!r}: no such demand in {scenario.file} "
            f"(demands: {', '.join(names)}){_suggest(demand, names)}"
        )
    return names.index(demand)
