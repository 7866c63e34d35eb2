"""Vectorised parameter sweeps: numpy arrays in place of numbers, one evaluation call a chunk.

``qcalc sweep SCENARIO --vary FIELD=START:STOP:NUM --metric NAME`` reads the scenario
once, places an array of values at the dotted field path in the raw document, and lets
the checker and the model chain broadcast over it. Several ``--vary`` make a full grid
(``np.meshgrid(indexing="ij")``, flattened); no Python loop runs over the points.

:func:`sweep_scenario` (and :func:`run_sweep` for a file) evaluates the whole grid at
once and holds it (tables, JSON, plots, ``--explain``). :func:`stream_sweep` evaluates it
a chunk of :data:`CHUNK_POINTS` points at a time and hands each chunk to a writer (CSV,
JSON lines, Parquet, or a :class:`Reducer` of minima, maxima and histograms), here or on
a Dask cluster (:mod:`qcalc.distributed`): any number of points in bounded memory, and
the same rows, bit for bit, as the grid held whole.

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
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import field
from typing import Any

import numpy as np
import numpy.typing as npt

from qcalc._yaml import shown
from qcalc.errors import UsageError
from qcalc.limits import LIMITS
from qcalc.protocols.numerics import distinct
from qcalc.records import record
from qcalc.scenario import PROTOCOLS, Criteria, Field, Scenario
from qcalc.scenario import suggest as _suggest
from qcalc.units import unit_of

FloatArray = npt.NDArray[np.float64]

#: Most points one sweep evaluates at once by default (``QCALC_MAX_SWEEP_POINTS`` raises
#: it, :mod:`qcalc.limits`): a million points of a metro link take about 15 s and 400 MB.
MAX_POINTS = LIMITS["sweep_points"].default
#: Field kinds a sweep can vary.
NUMERIC_KINDS = ("number", "integer", "number_or_optimise")
#: Demand quantities a sweep reports; ``protocol:<name>`` adds one protocol's key rate.
METRICS = ("key_rate_bps", "pair_rate_hz", "fidelity", "stage", "loss_db", "plob_bps")
PROTOCOL_METRIC = "protocol:"
_EXAMPLE = "links.alice-bob.length_km=1:200:100"
_FORM = f"expected FIELD=START:STOP:NUM or FIELD=log:START:STOP:NUM, e.g. {_EXAMPLE}"


#: A vary of at most this many values keeps them in memory; a longer one computes the
#: values of each chunk when it is evaluated (a 10^8-point range would take 800 MB).
MATERIALISE_VALUES = 1 << 22


class Vary:
    """One varied field: its dotted path as typed, its values, and whether they are log-spaced.

    Give ``values`` (any sequence, stored as a read-only 1-D float array), or ``span`` =
    ``(start, stop, num)`` for ``np.linspace(start, stop, num)`` (``np.geomspace`` when
    ``log``): a long span is never held whole; :meth:`take` computes the values at given
    points, equal to the whole array's bit for bit.
    """

    __slots__ = ("_values", "field", "log", "num", "start", "stop")

    def __init__(
        self,
        field: str,
        values: Any = None,
        log: bool = False,
        *,
        span: tuple[float, float, int] | None = None,
    ) -> None:
        self.field = field
        self.log = log
        self._values: FloatArray | None = None
        if values is not None:
            array = np.array(values, dtype=float).ravel()
            array.flags.writeable = False
            self._values = array
            self.num = int(array.size)
            self.start = float(array[0]) if array.size else math.nan
            self.stop = float(array[-1]) if array.size else math.nan
        elif span is not None:
            self.start, self.stop, self.num = float(span[0]), float(span[1]), int(span[2])
        else:
            raise TypeError("Vary needs values or span")

    def __repr__(self) -> str:
        return f"Vary({self.field!r}, start={self.start!r}, stop={self.stop!r}, num={self.num})"

    def __getstate__(self) -> dict[str, Any]:
        keep = self._values if self.num <= MATERIALISE_VALUES else None
        names = ("field", "log", "num", "start", "stop")
        return {"_values": keep, **{k: getattr(self, k) for k in names}}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)

    @property
    def values(self) -> FloatArray:
        """Every value (computed once and kept; read-only)."""
        if self._values is None:
            array = self.take(np.arange(self.num))
            array.flags.writeable = False
            self._values = array
        return self._values

    @property
    def low(self) -> float:
        """The smallest value. [the field's unit]"""
        if self._values is not None:
            return float(self._values.min()) if self._values.size else math.nan
        return min(self.start, self.stop)

    @property
    def high(self) -> float:
        """The largest value. [the field's unit]"""
        if self._values is not None:
            return float(self._values.max()) if self._values.size else math.nan
        return max(self.start, self.stop)

    def take(self, index: npt.NDArray[np.integer[Any]]) -> FloatArray:
        """The values at the positions ``index`` (0 ≤ index < num)."""
        if self._values is not None or self.num <= MATERIALISE_VALUES:
            if self._values is None:
                self._values = _spaced(self.start, self.stop, self.num, self.log)
                self._values.flags.writeable = False
            return np.asarray(self._values[index], dtype=float)
        return _spaced(self.start, self.stop, self.num, self.log, index)


def _spaced(
    start: float,
    stop: float,
    num: int,
    log: bool,
    index: npt.NDArray[np.integer[Any]] | None = None,
) -> FloatArray:
    """``np.linspace(start, stop, num)[index]`` (``np.geomspace`` when ``log``), computed
    for those points only, by numpy's own arithmetic: the same numbers bit for bit."""
    if index is None:
        return np.geomspace(start, stop, num) if log else np.linspace(start, stop, num)
    lo, hi = (float(np.log10(start)), float(np.log10(stop))) if log else (start, stop)
    y = np.asarray(index, dtype=float)
    div = num - 1
    delta = hi - lo
    if div > 0:
        step = delta / div
        y = y / div * delta if step == 0 else y * step
    else:
        y = y * delta
    y += lo
    if log:
        y = np.power(10.0, y)
        y[index == 0] = start
    if num > 1:
        y[index == num - 1] = stop
    return y


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
    return Vary(field=name, log=log, span=(start, stop, num))


# ----------------------------------------------------------------------------- field paths


def _target(vary: str, data: dict[str, Any], scenario: Scenario) -> Any:
    """Resolve a dotted field path to its place in the raw document ``data``
    (:func:`qcalc.fieldpaths.resolve`, numeric fields only)."""
    from qcalc.fieldpaths import resolve

    return resolve(vary, data, scenario, label="--vary")


def _check_values(vary: Vary, spec: Field) -> None:
    """The values fit the field's range (and are whole for an integer field)."""
    lo, hi = vary.low, vary.high
    below = spec.minimum is not None and (
        lo < spec.minimum or (spec.exclusive_minimum and lo <= spec.minimum)
    )
    above = spec.maximum is not None and hi > spec.maximum
    if below or above:
        bad = lo if below else hi
        unit = unit_of(vary.field.rsplit(".", 1)[-1])
        unit = f" in {unit}" if unit else ""
        raise UsageError(
            f"--vary {vary.field!r}: the range reaches {bad:g}; expected {spec.range_text}{unit}"
        )
    sample = vary.values if vary.num <= MATERIALISE_VALUES else vary.take(np.arange(4096))
    if spec.kind == "integer" and not np.all(sample == np.round(sample)):
        fraction = sample[sample != np.round(sample)][0]
        raise UsageError(
            f"--vary {vary.field!r}: the field takes whole numbers; the range gives {fraction:g}"
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


@record(frozen=True, eq=False)
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
                    "num": v.num,
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


def _grid(varies: Sequence[Vary], lo: int = 0, hi: int | None = None) -> list[FloatArray]:
    """The values of each vary at the points ``lo`` to ``hi`` of the flattened grid (the
    first field slowest, as ``np.meshgrid(indexing="ij")`` then ``ravel``)."""
    sizes = [v.num for v in varies]
    stop = math.prod(sizes) if hi is None else hi
    flat = np.arange(lo, stop, dtype=np.int64)
    out: list[FloatArray] = []
    stride = math.prod(sizes)
    for vary, size in zip(varies, sizes, strict=True):
        stride //= size
        out.append(vary.take(flat // stride % size if len(varies) > 1 else flat))
    return out


@record(frozen=True, eq=False)
class SweepPlan:
    """A checked sweep, ready to evaluate in chunks (here or on a worker: it pickles).

    ``data`` is the raw document as written (each chunk places its arrays in a copy);
    ``base`` the scenario checked from it; ``chosen`` the demand's index.
    """

    data: Any
    file: str
    marks: Any
    key_marks: Any
    base: Scenario
    chosen: int
    varies: tuple[Vary, ...]
    metrics: tuple[str, ...]
    explain: bool = False
    #: The demand's route, chosen once for every chunk (None when the demand gives it).
    route: tuple[str, ...] | None = None

    @property
    def points(self) -> int:
        """Points of the grid. [unitless]"""
        return math.prod(v.num for v in self.varies)

    @property
    def fields(self) -> list[str]:
        """The column names: the varied fields, then the metrics."""
        return [v.field for v in self.varies] + list(self.metrics)


def plan_sweep(
    scenario: Scenario | str,
    varies: Sequence[Vary],
    metrics: Sequence[str],
    demand: str | None = None,
    explain: bool = True,
) -> SweepPlan:
    """Check a sweep before any point is evaluated: metrics, field paths, value ranges,
    the demand and its route; ``scenario`` is a loaded scenario or a file path."""
    from qcalc.demands import evaluate_demand

    wanted = check_metrics(list(metrics))
    _check_varies(varies)
    doc, base = _document(scenario)
    chosen = _choose_demand(base, demand)
    _check_route(base, chosen)
    _check_repeater_points(base, chosen, math.prod(v.num for v in varies))
    if any(m.startswith(PROTOCOL_METRIC) for m in wanted):
        # A protocol that gives no end-to-end rate is said before the grid is evaluated:
        # which protocols apply depends on the route and hardware, not on the values.
        single = evaluate_demand(base, base.demands[chosen])
        for metric in wanted:
            if metric.startswith(PROTOCOL_METRIC):
                _metric(metric, single, {})
    data = copy.deepcopy(doc.data)
    for vary in varies:
        _check_values(vary, _target(vary.field, data, base).spec)
    route = _route_of_grid(doc, base, chosen, varies)
    return SweepPlan(
        data=doc.data,
        file=doc.file,
        marks=doc.marks,
        key_marks=doc.key_marks,
        base=base,
        chosen=chosen,
        varies=tuple(varies),
        metrics=wanted,
        explain=explain,
        route=route,
    )


#: Points of the grid the route of a demand without a ``path`` is chosen on: all of them
#: up to this many, else this many spread evenly over the grid.
ROUTE_POINTS = 1 << 16


def _route_of_grid(
    doc: Any, base: Scenario, chosen: int, varies: Sequence[Vary]
) -> tuple[str, ...] | None:
    """The route every chunk of the sweep takes: the lowest-loss route at the median loss
    of the whole grid (of :data:`ROUTE_POINTS` points spread over a larger one), as a
    sweep held in memory chooses it; None when the demand gives its path."""
    from qcalc._yaml import Document
    from qcalc.network import demand_route, forget_shared_results
    from qcalc.scenario import scenario_from_document

    if base.demands[chosen].path:
        return None
    points = math.prod(v.num for v in varies)
    if points <= ROUTE_POINTS:
        index = np.arange(points, dtype=np.int64)
    else:
        index = distinct(np.linspace(0, points - 1, ROUTE_POINTS).round().astype(np.int64))
    data = copy.deepcopy(doc.data)
    for vary, values in zip(varies, _grid_at(varies, index), strict=True):
        target = _target(vary.field, data, base)
        target.container[target.key] = values
    scenario = scenario_from_document(Document(data, doc.file, doc.marks, doc.key_marks))
    try:
        return tuple(demand_route(scenario, scenario.demands[chosen]))
    finally:
        forget_shared_results()


@record(frozen=True, eq=False)
class Chunk:
    """The points ``lo`` to ``hi`` of a sweep: its columns, and what the model said."""

    lo: int
    columns: dict[str, npt.NDArray[Any]]
    plob_bps: FloatArray
    demand: str
    path: tuple[str, ...]
    protocol: str | None
    notes: tuple[str, ...]
    steps: tuple[Any, ...]
    given_path: bool


def evaluate_chunk(plan: SweepPlan, lo: int, hi: int) -> Chunk:
    """Evaluate the points ``lo`` to ``hi`` of the grid in one call of the model chain."""
    from qcalc._yaml import Document
    from qcalc.demands import evaluate_demand
    from qcalc.network import forget_shared_results
    from qcalc.protocols.qkd import plob_bound
    from qcalc.scenario import scenario_from_document

    data = copy.deepcopy(plan.data)
    if plan.route is not None:  # the route of the whole grid, not of this chunk
        data["demands"][plan.chosen]["path"] = list(plan.route)
    grid = _grid(plan.varies, lo, hi)
    for vary, values in zip(plan.varies, grid, strict=True):
        target = _target(vary.field, data, plan.base)
        target.container[target.key] = values
    doc = Document(data, plan.file, plan.marks, plan.key_marks)
    scenario = scenario_from_document(doc)
    try:
        result = evaluate_demand(scenario, scenario.demands[plan.chosen], explain=plan.explain)
    finally:
        # What the hops of this chunk share is not what the next chunk's share: the
        # memos would hold every chunk's arrays.
        forget_shared_results()
    key, rep = result.key_rate_bps, result.key_repetition_rate_hz
    loss = np.asarray(result.channel_loss_db, dtype=float)
    derived = {
        "key_rate_bps": key,
        "loss_db": loss,
        "plob_bps": plob_bound(np.power(10.0, -loss / 10.0)) * rep,
    }
    shape = grid[0].shape
    columns: dict[str, npt.NDArray[Any]] = dict(
        zip([v.field for v in plan.varies], grid, strict=True)
    )
    for metric in plan.metrics:
        columns[metric] = np.array(np.broadcast_to(_metric(metric, result, derived), shape))
    return Chunk(
        lo=lo,
        columns=columns,
        plob_bps=np.array(np.broadcast_to(derived["plob_bps"], shape)),
        demand=result.demand.name,
        path=tuple(result.path),
        protocol=result.protocol,
        notes=tuple(result.notes),
        steps=tuple(result.steps),
        given_path=plan.route is None,
    )


def _route_note(chunk: Chunk) -> str:
    how = "given by the demand" if chunk.given_path else "lowest loss at the median point"
    return f"route {' → '.join(chunk.path)} ({how})"


def sweep_scenario(
    scenario: Scenario | str,
    varies: Sequence[Vary],
    metrics: Sequence[str],
    demand: str | None = None,
) -> SweepResult:
    """Evaluate one demand of ``scenario`` over the varied fields at once, in memory.

    One vary gives a 1-D sweep; several give the full grid of their values (first field
    slowest). Each field path is resolved in the raw document, the values are checked
    against the field's range, the arrays placed, and the scenario is checked and
    evaluated once with them. For grids too large to hold, :func:`stream_sweep` writes
    the same rows chunk by chunk.

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
    plan = plan_sweep(scenario, varies, metrics, demand, explain=True)
    chunk = evaluate_chunk(plan, 0, plan.points)
    return SweepResult(
        columns=chunk.columns,
        varies=plan.varies,
        metrics=plan.metrics,
        scenario_name=plan.base.name,
        demand=chunk.demand,
        file=plan.base.file,
        protocol=chunk.protocol,
        plob_bps=chunk.plob_bps,
        criteria=plan.base.criteria,
        notes=(_route_note(chunk), *chunk.notes),
        steps=chunk.steps,
    )


def run_sweep(
    path: str | Scenario, varies: list[Vary], metrics: list[str], demand: str | None = None
) -> SweepResult:
    """:func:`sweep_scenario` of the scenario in the file ``path`` (or a loaded one)."""
    return sweep_scenario(path, varies, metrics, demand)


def _check_varies(varies: Sequence[Vary]) -> None:
    """At least one vary, each field once, each with values, and not too many points."""
    if not varies:
        raise UsageError(f"a sweep needs at least one --vary, e.g. --vary {_EXAMPLE}")
    fields = [v.field for v in varies]
    repeated = sorted({f for f in fields if fields.count(f) > 1})
    if repeated:
        raise UsageError(f"--vary {repeated[0]!r} is given more than once; vary a field once")
    empty = [v.field for v in varies if v.num == 0]
    if empty:
        raise UsageError(f"--vary {empty[0]!r} has no values")
    points = math.prod(v.num for v in varies)
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


def _document(scenario: Scenario | str) -> tuple[Any, Scenario]:
    """The raw document of a scenario (read from its file when it carries none, or when a
    path is given) and the scenario checked from it.

    A file is checked as written first, so its own errors come with their line numbers.
    """
    from qcalc._yaml import Document, read_file
    from qcalc.scenario import scenario_from_document

    if isinstance(scenario, str):
        doc = read_file(scenario)
        original = copy.deepcopy(doc.data)
        base = scenario_from_document(doc)
        doc.data = original
        return doc, base
    document = getattr(scenario, "document", None)
    if document is None:
        return _document(scenario.file)
    data = copy.deepcopy(document.data)
    return Document(data, document.file, document.marks, document.key_marks), scenario


def _check_route(base: Scenario, chosen: int) -> None:
    """A sweep broadcasts over one route: never a whole-pass satellite link."""
    from qcalc.network import demand_route, whole_pass_link

    link = whole_pass_link(base, demand_route(base, base.demands[chosen]))
    if link is not None:
        raise UsageError(
            f"demand {base.demands[chosen].name!r} runs over the whole-pass satellite link "
            f"{link.name!r} (min_elevation_deg), which a sweep cannot broadcast over; "
            f"give it elevation_deg and vary links.{link.name}.elevation_deg instead"
        )


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


# ----------------------------------------------------------------------------- streaming

#: Points a streamed sweep evaluates at once: enough for numpy to run at full speed, few
#: enough that a chunk's arrays stay near 100 MB whatever the model.
CHUNK_POINTS = 1 << 17
#: Formats a sweep streams chunk by chunk (any number of points in bounded memory).
STREAM_FORMATS = ("csv", "jsonl", "parquet")


def csv_header(fields: Sequence[str]) -> bytes:
    """The CSV header of a sweep, as :meth:`SweepResult.to_csv` writes it."""
    from qcalc.outputs import csv_cell, safe_text

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([csv_cell(c) for c in fields])
    return safe_text(buffer.getvalue()).encode("utf-8", "backslashreplace")


def _not_finite(chunk: Chunk) -> None:
    for name, column in chunk.columns.items():
        if column.dtype.kind == "f" and not np.all(np.isfinite(column)):
            at = chunk.lo + int(np.flatnonzero(~np.isfinite(column))[0])
            raise UsageError(
                f"{name} is not a finite number at point {at:,} of the sweep; JSON has no "
                "place for it (write --format csv)"
            )


def encode_chunk(chunk: Chunk, encoding: str) -> Any:
    """A chunk as its output takes it: CSV or JSON-lines rows (bytes, the text ``repr``
    gives every number), or the columns themselves (``arrays``)."""
    import json

    from qcalc.outputs import safe_json, text_rows

    columns = list(chunk.columns.values())
    if encoding == "csv":
        return text_rows(columns, [b""] + [b","] * (len(columns) - 1), b"\n")
    if encoding == "jsonl":
        _not_finite(chunk)
        names = [safe_json(json.dumps(n, ensure_ascii=False)).encode() for n in chunk.columns]
        prefixes = [(b"{" if i == 0 else b", ") + n + b": " for i, n in enumerate(names)]
        return text_rows(columns, prefixes, b"}\n")
    return chunk.columns


def sweep_task(plan: SweepPlan, lo: int, hi: int, encoding: str) -> Any:
    """Evaluate points ``lo`` to ``hi`` and encode them (one task of a worker)."""
    chunk = evaluate_chunk(plan, lo, hi)
    if encoding.startswith("reduce"):
        return Reducer.partial(plan, chunk, encoding)
    return encode_chunk(chunk, encoding)


class SweepWriter:
    """Where a streamed sweep's chunks go, in order; ``encoding`` is what a task returns."""

    encoding = "csv"

    def begin(self, plan: SweepPlan) -> None:
        """Called once before the first chunk."""

    def add(self, encoded: Any) -> None:
        """One chunk, in grid order."""
        raise NotImplementedError

    def end(self) -> None:
        """Called once after the last chunk."""


class CsvWriter(SweepWriter):
    """CSV rows to ``write(bytes)``: byte for byte :meth:`SweepResult.to_csv`."""

    def __init__(self, write: Callable[[bytes], Any]) -> None:
        self.write = write

    def begin(self, plan: SweepPlan) -> None:
        self.write(csv_header(plan.fields))

    def add(self, encoded: Any) -> None:
        self.write(encoded)


class JsonLinesWriter(CsvWriter):
    """One JSON object a point (``{"field": value, …}``), a line each."""

    encoding = "jsonl"

    def begin(self, plan: SweepPlan) -> None:
        pass


class ParquetWriter(SweepWriter):
    """An Apache Parquet file at ``path``, a row group per chunk (needs pyarrow)."""

    encoding = "arrays"

    def __init__(self, path: str) -> None:
        self.path = path
        self.writer: Any = None

    def add(self, encoded: Any) -> None:
        import importlib

        pa: Any = importlib.import_module("pyarrow")  # untyped
        pq: Any = importlib.import_module("pyarrow.parquet")
        table = pa.table(encoded)
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema)
        self.writer.write_table(table)

    def end(self) -> None:
        if self.writer is not None:
            self.writer.close()


def require_pyarrow() -> None:
    """Refuse ``--format parquet`` where pyarrow is not installed, naming the extra."""
    import importlib.util

    if importlib.util.find_spec("pyarrow") is None:
        raise UsageError(
            "--format parquet needs pyarrow, which is not installed: "
            "pip install 'qcalc[parquet]' (or write --format csv or jsonl)"
        )


def stream_sweep(
    scenario: Scenario | str,
    varies: Sequence[Vary],
    metrics: Sequence[str],
    demand: str | None,
    writer: SweepWriter,
    chunk_points: int = CHUNK_POINTS,
    *,
    progress: Callable[[int], None] | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
) -> SweepPlan:
    """Evaluate a sweep chunk by chunk and hand each chunk to ``writer``, in grid order.

    Memory holds a few chunks whatever the number of points; the rows are those of
    :func:`sweep_scenario`, bit for bit. The derivation steps (``--explain``) are not
    computed. With ``scheduler`` (``local:N`` or ``tcp://HOST:PORT``) the chunks are
    evaluated on a Dask cluster and gathered in order (:mod:`qcalc.distributed`): the
    output is the same, byte for byte. Otherwise ``workers`` local processes evaluate
    and encode the chunks (default: one per usable core from :data:`PROCESS_POINTS`
    points on, where starting them pays); with one, this process does, encoding each
    chunk in two threads while the next is evaluated. ``progress(n)`` after each chunk
    of n points.

    Returns
    -------
    SweepPlan
        The checked sweep (its scenario, demand, fields and points).
    """
    from qcalc.distributed import ordered_map, process_map

    plan = plan_sweep(scenario, varies, metrics, demand, explain=False)
    if chunk_points < 1:
        raise UsageError(f"chunk_points is {chunk_points}; expected a whole number ≥ 1")
    if isinstance(writer, Reducer):
        writer.check(plan)
    bounds = [
        (lo, min(lo + chunk_points, plan.points)) for lo in range(0, plan.points, chunk_points)
    ]
    writer.begin(plan)
    tasks = ((lo, hi, writer.encoding) for lo, hi in bounds)
    local = _local_workers(workers, plan.points, len(bounds))
    if scheduler is not None:
        results = ordered_map(sweep_task, plan, tasks, scheduler)
    elif local > 1:
        results = process_map(sweep_task, plan, tasks, local)
    else:
        results = _overlapped(plan, bounds, writer.encoding)
    try:
        for (lo, hi), encoded in zip(bounds, results, strict=True):
            writer.add(encoded)
            if progress is not None:
                progress(hi - lo)
    finally:
        results.close()  # a writer that failed stops the workers now, not when collected
    writer.end()
    return plan


#: Points from which a streamed sweep runs in worker processes by default (starting them
#: costs about 0.1 s).
PROCESS_POINTS = 4 * CHUNK_POINTS


def _local_workers(workers: int | None, points: int, chunks: int) -> int:
    """How many local processes evaluate a streamed sweep (1: this one)."""
    from qcalc.distributed import usable_cores

    if workers is None:
        workers = usable_cores() if points >= PROCESS_POINTS else 1
    elif workers < 1:
        raise UsageError(f"workers is {workers}; expected a whole number ≥ 1")
    return min(workers, chunks)


def _overlapped(
    plan: SweepPlan, bounds: list[tuple[int, int]], encoding: str
) -> Generator[Any, None, None]:
    """Each chunk's encoding, in order: chunks are encoded in two more threads while the
    next ones are evaluated (numpy leaves the interpreter lock for most of both); at most
    :data:`_IN_FLIGHT` encoded chunks wait, so memory stays bounded."""
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    if encoding.startswith("reduce"):
        for lo, hi in bounds:
            yield sweep_task(plan, lo, hi, encoding)
        return
    with ThreadPoolExecutor(max_workers=_ENCODERS, thread_name_prefix="qcalc-encode") as pool:
        pending: deque[Future[Any]] = deque()
        for lo, hi in bounds:
            chunk = evaluate_chunk(plan, lo, hi)
            while len(pending) >= _IN_FLIGHT:
                yield pending.popleft().result()
            pending.append(pool.submit(encode_chunk, chunk, encoding))
        while pending:
            yield pending.popleft().result()


#: Threads that encode a streamed sweep's chunks, and the chunks that may wait for them.
_ENCODERS = 2
_IN_FLIGHT = 2


# ----------------------------------------------------------------------------- reductions

REDUCE_OPS = ("min", "max", "argmin", "argmax", "hist")
_REDUCE_FORM = (
    "expected OP:METRIC with OP one of min, max, argmin, argmax (e.g. argmax:key_rate_bps), "
    "or hist:METRIC:START:STOP:NUM (NUM bins; hist:METRIC:log:START:STOP:NUM for log bins)"
)


@record(frozen=True)
class Reduction:
    """One ``--reduce``: an operation on a metric (and, for ``hist``, its bin edges)."""

    op: str
    metric: str
    edges: tuple[float, ...] = ()

    @property
    def text(self) -> str:
        return f"{self.op}:{self.metric}"


def parse_reduce(text: str) -> Reduction:
    """Parse ``OP:METRIC`` or ``hist:METRIC:[log:]START:STOP:NUM`` into a :class:`Reduction`.

    Raises
    ------
    UsageError
        Naming the text and what was expected.
    """
    parts = [p.strip() for p in text.split(":")]
    op = parts[0]
    if op not in REDUCE_OPS or len(parts) < 2 or not parts[1]:
        raise UsageError(f"--reduce {shown(text, 80)}: {_REDUCE_FORM}{_suggest(op, REDUCE_OPS)}")
    if op != "hist":
        if len(parts) != 2:
            raise UsageError(f"--reduce {shown(text, 80)}: {_REDUCE_FORM}")
        return Reduction(op, check_metrics([parts[1]])[0])
    metric = check_metrics([parts[1]])[0]
    spec = parts[2:]
    if len(spec) in (3, 4) and _count(spec[-1]) >= 1:
        spec[-1] = str(_count(spec[-1]) + 1)  # NUM bins have NUM + 1 edges
    try:
        bins = parse_vary("bins=" + ":".join(spec))
    except UsageError as exc:
        problem = str(exc).split(": ", 1)[1].split(";")[0]
        raise UsageError(f"--reduce {shown(text, 80)}: bins: {problem}; {_REDUCE_FORM}") from None
    return Reduction(op, metric, tuple(bins.values.tolist()))


class Reducer(SweepWriter):
    """Reductions of a streamed sweep instead of its rows: per group (one value of the
    ``group_by`` field, or the whole grid), the minimum or maximum of a metric, the point
    where it is reached (the first in grid order on ties), or a histogram of it.

    Each chunk is reduced where it is evaluated (:meth:`partial`); the partial results
    combine in grid order, so the result is the same however the grid is chunked or
    wherever the chunks run.
    """

    def __init__(self, reductions: Sequence[Reduction], group_by: str | None = None) -> None:
        if not reductions:
            raise UsageError("give at least one --reduce")
        self.reductions = tuple(reductions)
        self.group_by = group_by
        specs = ";".join(
            f"{r.op}|{r.metric}|{','.join(map(repr, r.edges))}" for r in self.reductions
        )
        self.encoding = f"reduce:{group_by or ''}:{specs}"
        self.state: list[Any] | None = None
        self.plan: SweepPlan | None = None

    def check(self, plan: SweepPlan) -> None:
        """Every reduced metric is a metric of the sweep; the group field is a varied one."""
        for r in self.reductions:
            if r.metric not in plan.metrics:
                raise UsageError(
                    f"--reduce {r.text}: {r.metric} is not among the sweep's metrics "
                    f"({', '.join(plan.metrics)}); add --metric {r.metric}"
                )
        fields = [v.field for v in plan.varies]
        if self.group_by is not None and self.group_by not in fields:
            raise UsageError(
                f"--group-by {self.group_by!r}: not a varied field (varied: "
                f"{', '.join(fields)}){_suggest(self.group_by, fields)}"
            )

    def begin(self, plan: SweepPlan) -> None:
        self.plan = plan
        self.state = None

    @staticmethod
    def _decode(encoding: str) -> tuple[str | None, list[Reduction]]:
        _, group, specs = encoding.split(":", 2)
        out = []
        for spec in specs.split(";"):
            op, metric, edges = spec.split("|")
            out.append(Reduction(op, metric, tuple(float(e) for e in edges.split(",") if e)))
        return group or None, out

    @staticmethod
    def partial(plan: SweepPlan, chunk: Chunk, encoding: str) -> list[Any]:
        """The reductions of one chunk: per reduction, arrays over the groups."""
        group_by, reductions = Reducer._decode(encoding)
        n = next(iter(chunk.columns.values())).size
        flat = np.arange(chunk.lo, chunk.lo + n, dtype=np.int64)
        groups, count = np.zeros(n, dtype=np.int64), 1
        if group_by is not None:
            sizes = [v.num for v in plan.varies]
            k = [v.field for v in plan.varies].index(group_by)
            stride = math.prod(sizes[k + 1 :])
            groups, count = flat // stride % sizes[k], sizes[k]
        out: list[Any] = []
        for r in reductions:
            values = np.asarray(chunk.columns[r.metric], dtype=float)
            if r.op == "hist":
                edges = np.asarray(r.edges)
                at = np.searchsorted(edges, values, side="right")  # 0: below, len: above
                at[values == edges[-1]] = len(edges) - 1  # the last bin is closed
                width = len(edges) + 1
                out.append(np.bincount(groups * width + at, minlength=count * width))
                continue
            sign = 1.0 if r.op in ("max", "argmax") else -1.0
            best = np.full(count, -np.inf)
            np.maximum.at(best, groups, sign * values)
            first = np.full(count, np.iinfo(np.int64).max)
            hit = sign * values == best[groups]
            np.minimum.at(first, groups[hit], flat[hit])
            out.append((sign * best, first))
        return out

    def add(self, encoded: Any) -> None:
        if self.state is None:
            self.state = encoded
            return
        for i, (r, new) in enumerate(zip(self.reductions, encoded, strict=True)):
            if r.op == "hist":
                self.state[i] = self.state[i] + new
                continue
            best, first = self.state[i]
            value, at = new
            better = value > best if r.op in ("max", "argmax") else value < best
            self.state[i] = (np.where(better, value, best), np.where(better, at, first))

    def result(self) -> ReduceResult:
        """The reductions as columns: the group field, then per reduction its columns."""
        assert self.plan is not None and self.state is not None
        plan = self.plan
        fields = [v.field for v in plan.varies]
        columns: dict[str, npt.NDArray[Any]] = {}
        if self.group_by is not None:
            columns[self.group_by] = plan.varies[fields.index(self.group_by)].values
        count = next(iter(columns.values())).size if columns else 1
        for r, state in zip(self.reductions, self.state, strict=True):
            if r.op == "hist":
                counts = np.asarray(state).reshape(count, len(r.edges) + 1)
                edges = [format(e, ".6g") for e in r.edges]
                columns[f"{r.metric} < {edges[0]}"] = counts[:, 0]
                for j in range(len(edges) - 1):
                    close = "]" if j == len(edges) - 2 else ")"
                    columns[f"{r.metric} in [{edges[j]}, {edges[j + 1]}{close}"] = counts[:, j + 1]
                columns[f"{r.metric} > {edges[-1]}"] = counts[:, -1]
                continue
            best, first = state
            name = f"{r.op.removeprefix('arg')}({r.metric})"
            if r.metric == "stage":
                best = best.astype(np.int64)
            columns[name] = best
            if r.op.startswith("arg"):
                grid = _grid_at(plan.varies, np.asarray(first, dtype=np.int64))
                for field_name, values in zip(fields, grid, strict=True):
                    if field_name != self.group_by:
                        columns[f"{field_name} at {name}"] = values
        return ReduceResult(columns, plan.base.name, plan.base.demands[plan.chosen].name)


def _grid_at(varies: Sequence[Vary], flat: npt.NDArray[np.int64]) -> list[FloatArray]:
    """The values of each vary at the flat grid indices ``flat``."""
    sizes = [v.num for v in varies]
    stride = math.prod(sizes)
    out = []
    for vary, size in zip(varies, sizes, strict=True):
        stride //= size
        out.append(vary.take(flat // stride % size))
    return out


@record(frozen=True, eq=False)
class ReduceResult:
    """The reductions of a sweep: a row per group, a column per quantity."""

    columns: dict[str, npt.NDArray[Any]]
    scenario_name: str
    demand: str

    def to_csv(self) -> str:
        """CSV: a header of column names, then a row per group, full precision."""
        from qcalc.outputs import text_rows

        fields = list(self.columns)
        body = text_rows(
            list(self.columns.values()), [b""] + [b","] * (len(fields) - 1), b"\n"
        ).decode()
        return csv_header(fields).decode() + body

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict: scenario, demand, and every column as a list."""
        from qcalc import __version__

        return {
            "qcalc_version": __version__,
            "scenario": self.scenario_name,
            "demand": self.demand,
            "columns": {name: col.tolist() for name, col in self.columns.items()},
        }
