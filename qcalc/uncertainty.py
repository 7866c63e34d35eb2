"""Uncertain inputs: draws of every distribution in a scenario, evaluated in one pass.

A numeric field may hold a distribution instead of a number (:mod:`qcalc.distributions`).
``qcalc stage|rate|links SCENARIO --samples N --seed S`` then

1. finds every distribution in the raw document (a mapping naming one, where the field
   tables of :mod:`qcalc.scenario` declare a number) and checks it, located in the file;
2. draws N uniforms per independent input (plain Monte Carlo from numpy's PCG64, a
   Latin hypercube or a scrambled Sobol' sequence, both from :mod:`scipy.stats.qmc`),
   fields of one ``group`` sharing a column, and maps them through each distribution's
   quantile function, truncated to the field's physical range;
3. places the N values of each field in the raw document as numpy arrays, checks the
   scenario once and evaluates it once (the vectorised chain :mod:`qcalc.sweeps` uses: no
   Python loop over the draws);
4. summarises per demand: P5, P50, P95 and mean of key rate, pair rate, fidelity,
   channel loss and stage; the probability that each stage is met and that each
   ``expect`` check passes.

``--sensitivity`` evaluates the pick-freeze design of Saltelli et al. (2010) in the same
single pass, N(k + 2) points for k independent inputs, and estimates first-order and
total Sobol' indices with bootstrap intervals. ``--target-probability P`` solves, for
each uncertain input, the scale of its distribution that makes the demand meet its goal
with probability P (bisection with common random numbers).

Without ``--samples`` a scenario with distributions is evaluated at the median of each
(the checker reads each as its median), and the notes say so.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import field
from typing import Any

import numpy as np
import numpy.typing as npt

from qcalc.distributions import Distribution
from qcalc.errors import UsageError
from qcalc.records import record

FloatArray = npt.NDArray[np.float64]
Path = tuple[str | int, ...]

SAMPLERS = ("mc", "lhs", "sobol")
#: Per-demand quantities summarised over the draws (JSON keys of the demand object).
METRICS = ("key_rate_bps", "pair_rate_hz", "fidelity", "channel_loss_db", "stage")
#: Per-link quantities summarised by ``qcalc links --samples``.
LINK_METRICS = ("loss_db", "channel_loss_db", "transmittance")
#: The percentiles reported. [%]
PERCENTILES = (5, 50, 95)
#: Bootstrap resamples of the Sobol' estimators, and the interval they give. [%]
BOOTSTRAP = 200
CONFIDENCE = 95.0


# ----------------------------------------------------------------------------- finding


@record(frozen=True)
class UncertainInput:
    """One uncertain field: where it stands in the raw document, its name, its law."""

    path: Path
    label: str
    distribution: Distribution

    @property
    def factor(self) -> str:
        """The independent input it belongs to: its group, or the field itself."""
        group = self.distribution.group
        return f"group {group}" if group else self.label


def _label(data: Any, path: Path) -> str:
    """A field path for people: list entries by their name (``links.a-r.length_km``)."""
    parts: list[str] = []
    here = data
    for part in path:
        if isinstance(part, int) and isinstance(here, list):
            body = here[part]
            named = body.get("name") if isinstance(body, dict) else None
            ends = body.get("ends") if isinstance(body, dict) else None
            if not isinstance(named, str):
                named = "-".join(map(str, ends)) if isinstance(ends, list) else f"[{part}]"
            parts.append(named)
        else:
            parts.append(str(part))
        if isinstance(here, dict):
            here = here.get(part)
        elif isinstance(here, list) and isinstance(part, int):
            here = here[part]
        else:
            here = None
    return ".".join(parts)


def find_uncertain(doc: Any) -> tuple[Any, list[UncertainInput]]:
    """The scenario in ``doc`` (each distribution at its median) and its uncertain inputs.

    The scenario checker reads a numeric field written as a mapping as a distribution
    (:meth:`qcalc.scenario._Checker.distribution`) and records where it stands; a field
    of a named hardware profile or of ``defaults`` is one input, shared by every node,
    link or demand that uses it.

    Raises
    ------
    ScenarioError
        For a file that is not a valid scenario or a malformed distribution, located.
    """
    from qcalc.scenario import scenario_from_document

    scenario = scenario_from_document(doc)
    seen: dict[Path, UncertainInput] = {}
    for path, dist in scenario.uncertain:
        seen.setdefault(path, UncertainInput(path, _label(doc.data, path), dist))
    return scenario, list(seen.values())


def _place(data: Any, path: Path, value: Any) -> None:
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


def placed(data: Any, inputs: Sequence[UncertainInput], values: Sequence[Any]) -> Any:
    """A deep copy of the raw ``data`` with each input's value (number or array) placed."""
    out = copy.deepcopy(data)
    for item, value in zip(inputs, values, strict=True):
        _place(out, item.path, value)
    return out


# ----------------------------------------------------------------------------- drawing


def factor_names(inputs: Sequence[UncertainInput]) -> list[str]:
    """The independent inputs (groups and ungrouped fields) in order of first appearance."""
    names: list[str] = []
    for item in inputs:
        if item.factor not in names:
            names.append(item.factor)
    return names


def check_samples(samples: int, sampler: str, seed: int) -> None:
    """Refuse a sample count, sampler or seed that cannot be used, before any work.

    Raises
    ------
    UsageError
        Naming the option, its value and what is expected.
    """
    from qcalc.limits import LIMITS

    if sampler not in SAMPLERS:
        from qcalc.scenario import suggest

        raise UsageError(
            f"--sampler {sampler!r}: expected one of {', '.join(SAMPLERS)}"
            f"{suggest(sampler, SAMPLERS)}"
        )
    if samples < 2:
        raise UsageError(f"--samples is {samples}; expected at least 2 draws")
    entry = LIMITS["sweep_points"]
    if samples > entry.value:
        raise UsageError(f"--samples is {entry.refusal(samples)}")
    if sampler == "sobol" and samples & (samples - 1):
        low = 1 << (samples.bit_length() - 1)
        raise UsageError(
            f"--samples is {samples:,}; a Sobol' sequence keeps its balance at powers of two: "
            f"use {low:,} or {low * 2:,} (or --sampler lhs)"
        )
    if not 0 <= seed < 2**128:
        raise UsageError(f"--seed is {seed}; expected a whole number ≥ 0 (and < 2^128)")


def uniforms(samples: int, dimensions: int, sampler: str, seed: int) -> FloatArray:
    """``samples`` × ``dimensions`` uniform draws in (0, 1), reproducible from ``seed``.

    ``mc``: numpy's PCG64 (``default_rng(seed).random``); ``lhs``: a Latin hypercube
    (McKay, Beckman, Conover, Technometrics 21, 239 (1979)); ``sobol``: a scrambled
    Sobol' sequence (Owen scrambling; ``samples`` a power of two), both seeded from the
    same generator. A seed gives the same draws on every machine; numpy keeps PCG64's
    stream fixed across its versions, scipy may change its LHS and Sobol' constructions
    between releases.
    """
    rng = np.random.default_rng(seed)
    if sampler == "mc":
        return np.asarray(rng.random((samples, dimensions)), dtype=float)
    from scipy.stats import qmc

    kind = qmc.LatinHypercube if sampler == "lhs" else qmc.Sobol
    try:
        engine: Any = kind(dimensions, rng=rng)
    except TypeError:  # scipy < 1.15 names the generator `seed`
        engine = kind(dimensions, seed=rng)
    return np.asarray(engine.random(samples), dtype=float)


def values_from(inputs: Sequence[UncertainInput], u: FloatArray) -> list[FloatArray]:
    """Each input's values from the uniform columns (one column per :func:`factor_names`)."""
    names = factor_names(inputs)
    return [item.distribution.quantile(u[:, names.index(item.factor)]) for item in inputs]


# ----------------------------------------------------------------------------- evaluating


def evaluate_values(
    doc: Any, inputs: Sequence[UncertainInput], values: Sequence[Any], demand: int | None = None
) -> tuple[Any, list[Any]]:
    """Check and evaluate the scenario with ``values`` placed (arrays evaluate at once).

    Returns the checked scenario and the results of every demand (or of one, by index).
    """
    from qcalc.demands import evaluate_demand, evaluate_scenario
    from qcalc.scenario import scenario_from_document

    fresh = copy.copy(doc)
    fresh.data = placed(doc.data, inputs, values)
    scenario = scenario_from_document(fresh)
    if demand is None:
        return scenario, evaluate_scenario(scenario)
    return scenario, [evaluate_demand(scenario, scenario.demands[demand])]


def _column(value: Any, n: int) -> FloatArray:
    return np.array(np.broadcast_to(np.asarray(value, dtype=float), (n,)), dtype=float)


def demand_columns(result: Any, n: int) -> dict[str, FloatArray]:
    """The per-draw values of each metric of one demand's (array) result."""
    return {metric: _column(getattr(result, metric), n) for metric in METRICS}


def check_passes(check: Any, got: Any) -> npt.NDArray[np.bool_]:
    """Whether an ``expect`` check passes at each draw (``Check.passes``, element-wise)."""
    got = np.asarray(got, dtype=float)
    op, want = check.op, check.want
    if op == ">=":
        return np.asarray(got >= want)
    if op == "<=":
        return np.asarray(got <= want)
    if op == ">":
        return np.asarray(got > want)
    if op == "<":
        return np.asarray(got < want)
    # math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), as Check.passes: symmetric
    tolerance = np.maximum(1e-9 * np.maximum(np.abs(got), abs(want)), 1e-12)
    return np.asarray(np.abs(got - want) <= tolerance)


def summary(values: FloatArray) -> dict[str, Any]:
    """Mean and P5/P50/P95 of the draws of one metric.

    Percentiles are order statistics (numpy's ``nearest`` method: the draw of rank
    round(q (N − 1))), so a percentile is always a value some draw gave (a stage
    percentile is a stage) and for a monotone metric of one input the P5 of the metric
    is the metric at the P5 or P95 of the input, exactly.
    """
    finite = np.asarray(values, dtype=float)
    p = np.percentile(finite, PERCENTILES, method="nearest")
    # Equal draws give their value back exactly (a sum of N copies need not divide back).
    mean = float(finite[0]) if np.ptp(finite) == 0 else float(np.mean(finite))
    return {
        "mean": mean,
        "percentiles": {f"p{q}": float(v) for q, v in zip(PERCENTILES, p, strict=True)},
    }


# ----------------------------------------------------------------------------- Sobol'


@record(frozen=True)
class SobolIndex:
    """First-order and total Sobol' indices of one input for one output, with intervals."""

    input: str
    first_order: float
    first_order_ci: tuple[float, float]
    total: float
    total_ci: tuple[float, float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "first_order": self.first_order,
            "first_order_ci": list(self.first_order_ci),
            "total": self.total,
            "total_ci": list(self.total_ci),
        }


def saltelli_design(u: FloatArray) -> FloatArray:
    """The pick-freeze points from N × 2k uniforms: A, B, then A with column i from B.

    Rows 0..N−1 are A (the first k columns), N..2N−1 are B (the last k), and block
    2 + i holds A_B^(i) (Saltelli et al., Comput. Phys. Commun. 181, 259 (2010), §3).
    """
    n, twice = u.shape
    k = twice // 2
    a, b = u[:, :k], u[:, k:]
    blocks = [a, b]
    for i in range(k):
        ab = a.copy()
        ab[:, i] = b[:, i]
        blocks.append(ab)
    return np.concatenate(blocks, axis=0)


def _estimates(fa: FloatArray, fb: FloatArray, fab: FloatArray) -> tuple[FloatArray, FloatArray]:
    """First-order (Saltelli 2010 Table 2 (b)) and total (Jansen 1999, Table 2 (f)) indices."""
    both = np.concatenate([fa, fb])
    variance = float(np.var(both))
    if variance <= 0:
        zeros = np.zeros(fab.shape[0])
        return zeros, zeros
    # f(B) centred: the same expectation (E[f(A_B) − f(A)] = 0), far less variance when
    # the mean of f is large beside its spread.
    centred = fb - float(np.mean(both))
    first = np.mean(centred[np.newaxis, :] * (fab - fa[np.newaxis, :]), axis=1) / variance
    total = 0.5 * np.mean((fa[np.newaxis, :] - fab) ** 2, axis=1) / variance
    return first, total


def sobol_indices(
    outputs: FloatArray, names: Sequence[str], seed: int = 0, resamples: int = BOOTSTRAP
) -> list[SobolIndex]:
    """First-order and total Sobol' indices from outputs on :func:`saltelli_design` points.

    .. math::

        S_i = \\frac{1}{N V}\\sum_j f(B)_j\\,[f(A_B^{(i)})_j - f(A)_j], \\qquad
        S_{T,i} = \\frac{1}{2 N V}\\sum_j [f(A)_j - f(A_B^{(i)})_j]^2

    with V the variance of f over A and B (Saltelli et al., Comput. Phys. Commun. 181,
    259 (2010), Table 2, estimators (b) and (f); the latter Jansen, Comput. Phys.
    Commun. 117, 35 (1999)). Intervals: the central ``CONFIDENCE`` % of ``resamples``
    bootstrap resamples of the N rows (Archer, Saltelli, Sobol', J. Stat. Comput. Simul.
    58, 99 (1997)).

    Parameters
    ----------
    outputs
        f at the N(k + 2) design points, in the order of :func:`saltelli_design`.
    names
        The k inputs.

    Returns
    -------
    list of SobolIndex
        Ranked by total index, largest first. [unitless]
    """
    k = len(names)
    y = np.asarray(outputs, dtype=float)
    n = y.size // (k + 2)
    fa, fb = y[:n], y[n : 2 * n]
    fab = y[2 * n :].reshape(k, n)
    first, total = _estimates(fa, fb, fab)
    rng = np.random.default_rng(seed)
    boot_first = np.empty((resamples, k))
    boot_total = np.empty((resamples, k))
    for r in range(resamples):
        rows = rng.integers(0, n, n)
        boot_first[r], boot_total[r] = _estimates(fa[rows], fb[rows], fab[:, rows])
    tail = (100.0 - CONFIDENCE) / 2
    lo_f, hi_f = np.percentile(boot_first, [tail, 100 - tail], axis=0)
    lo_t, hi_t = np.percentile(boot_total, [tail, 100 - tail], axis=0)
    out = [
        SobolIndex(
            names[i],
            float(first[i]),
            (float(lo_f[i]), float(hi_f[i])),
            float(total[i]),
            (float(lo_t[i]), float(hi_t[i])),
        )
        for i in range(k)
    ]
    return sorted(out, key=lambda s: -s.total)


# ----------------------------------------------------------------------------- the run


@record
class Sampled:
    """The outcome of ``--samples``: the draws, the evaluation at the draws and at the
    medians, and (with ``--sensitivity``) the Sobol' indices per demand and metric."""

    file: str
    samples: int
    seed: int
    sampler: str
    inputs: list[UncertainInput]
    #: The values drawn for each input (the first N points with --sensitivity). [field unit]
    values: list[FloatArray]
    #: The evaluation at the medians (scalar results, the report's base).
    scenario: Any
    results: list[Any]
    #: Per demand: metric name → per-draw values.
    columns: list[dict[str, FloatArray]]
    #: Per demand: each end-to-end protocol's key rate at each draw. [bit/s]
    protocols: list[dict[str, FloatArray]]
    #: Per demand: per stage 1..6, whether it is met at each draw.
    stages_met: list[list[npt.NDArray[np.bool_]]]
    #: Per demand: per expect check, whether it passes at each draw.
    checks: list[list[npt.NDArray[np.bool_]]]
    #: Per demand: metric → ranked indices (empty without --sensitivity).
    sensitivity: list[dict[str, list[SobolIndex]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Per demand: levers under uncertainty (``--target-probability``).
    levers: list[list[dict[str, Any]]] = field(default_factory=list)
    target_probability: float | None = None
    #: Per link: metric → per-draw values (``qcalc links``).
    link_columns: list[dict[str, FloatArray]] = field(default_factory=list)
    #: The uniforms behind ``values`` (kept for levers: common random numbers).
    u: FloatArray | None = None
    doc: Any = None


def _read(path: str) -> tuple[Any, Any, list[UncertainInput]]:
    """The raw document (untouched by the checker), the scenario at the medians, the inputs."""
    from qcalc._yaml import read_file

    doc = read_file(path)
    original = copy.deepcopy(doc.data)
    scenario, inputs = find_uncertain(doc)
    doc.data = original
    return doc, scenario, inputs


def _check_points(scenario: Any, points: int) -> None:
    """Draws of a demand through repeaters cost a thousand times more: their own limit.
    A demand over a whole satellite pass is refused (its numbers are per time step)."""
    from qcalc.limits import LIMITS
    from qcalc.network import demand_route, whole_pass_link

    entry = LIMITS["sweep_points"]
    if points > entry.value:
        raise UsageError(f"the draws need {entry.refusal(points)} points")
    for demand in scenario.demands:
        route = demand_route(scenario, demand)
        link = whole_pass_link(scenario, route)
        if link is not None:
            raise UsageError(
                f"demand {demand.name!r} runs over the whole-pass satellite link "
                f"{link.name!r} (min_elevation_deg), whose numbers over the pass the draws "
                "cannot be combined with; give it elevation_deg to draw at one elevation"
            )
        if any(scenario.nodes[n].role == "repeater" for n in route[1:-1]):
            entry = LIMITS["sweep_repeater_points"]
            if points > entry.value:
                raise UsageError(
                    f"demand {demand.name!r} runs through repeaters, whose exact chain "
                    f"statistics cost about 2 ms a draw, and the draws need "
                    f"{entry.refusal(points)} (draws × (inputs + 2) with --sensitivity)"
                )


def _truncation_notes(inputs: Sequence[UncertainInput]) -> list[str]:
    notes = []
    for item in inputs:
        fraction = item.distribution.truncated_fraction
        if fraction > 0:
            notes.append(
                f"{item.label}: {item.distribution.text()} puts {fraction:.3g} of its "
                f"probability outside the physical range ({item.distribution.bounds.text()}); "
                "it is truncated there and renormalised"
            )
    return notes


def run(
    path: str,
    samples: int,
    seed: int = 0,
    sampler: str = "lhs",
    sensitivity: bool = False,
    links: bool = False,
) -> Sampled:
    """Draw ``samples`` values of every uncertain input of the scenario in ``path`` and
    evaluate them in one vectorised pass.

    Raises
    ------
    ScenarioError
        For a file that is not a valid scenario, or a malformed distribution.
    UsageError
        For a scenario with no distribution, or a sample count over the limits.
    """

    check_samples(samples, sampler, seed)
    doc, base, inputs = _read(path)
    if not inputs:
        raise UsageError(
            f"{path}: no field holds a distribution, so --samples has nothing to draw; "
            "write a numeric field as e.g. {normal: {mean: 1.0, sd: 0.1}} (docs/uncertainty.md)"
        )
    names = factor_names(inputs)
    k = len(names)
    points = samples * (k + 2) if sensitivity else samples
    _check_points(base, points)
    u_all = uniforms(samples, 2 * k if sensitivity else k, sampler, seed)
    u = saltelli_design(u_all) if sensitivity else u_all
    values = values_from(inputs, u)
    results, link_cols = _evaluate_draws(doc, inputs, values, links)
    from qcalc.demands import evaluate_scenario

    median_results = [] if links else evaluate_scenario(base)
    all_columns = [demand_columns(r, len(u)) for r in results]
    out = Sampled(
        file=path,
        samples=samples,
        seed=seed,
        sampler=sampler,
        inputs=inputs,
        values=[v[:samples] for v in values],
        scenario=base,
        results=median_results,
        columns=[{m: c[:samples] for m, c in cols.items()} for cols in all_columns],
        protocols=[
            {p.protocol: _column(p.key_rate_bps, len(u))[:samples] for p in r.end_to_end}
            for r in results
        ],
        stages_met=[
            [_column(v.met, len(u)).astype(bool)[:samples] for v in r.stages] for r in results
        ],
        checks=[
            [
                check_passes(c, _column(getattr(r, c.field), len(u)))[:samples]
                for c in r.demand.expect
            ]
            for r in results
        ],
        notes=_truncation_notes(inputs),
        link_columns=[{m: c[:samples] for m, c in cols.items()} for cols in link_cols],
        u=u_all[:, :k],
        doc=doc,
    )
    if sensitivity and not links:
        out.sensitivity = [
            {m: sobol_indices(c, names, seed) for m, c in cols.items() if np.ptp(c) > 0}
            for cols in all_columns
        ]
    return out


def _evaluate_draws(
    doc: Any, inputs: Sequence[UncertainInput], values: Sequence[FloatArray], links: bool
) -> tuple[list[Any], list[dict[str, FloatArray]]]:
    """The demands' results at every draw, or (``links``) each link's budget columns."""
    if not links:
        return evaluate_values(doc, inputs, values)[1], []
    from qcalc.linkbudget import link_budget
    from qcalc.scenario import scenario_from_document

    fresh = copy.copy(doc)
    fresh.data = placed(doc.data, inputs, values)
    scenario = scenario_from_document(fresh)
    n = len(values[0])
    budgets = [link_budget(link, scenario) for link in scenario.links]
    return [], [{m: _column(getattr(b, m), n) for m in LINK_METRICS} for b in budgets]


# ----------------------------------------------------------------------------- levers


def goal(result: Any) -> tuple[str, Callable[[Any, int], npt.NDArray[np.bool_]]]:
    """What a demand must meet, and a test of it at each draw of an (array) result.

    The demand's ``expect`` block when it has one (every check passing), else the stage
    its application needs.
    """
    from qcalc.scenario import APPLICATION_STAGE

    checks = result.demand.expect
    if checks:
        text = ", ".join(f"{c.field} {c.op} {c.want:g}" for c in checks)

        def passes(r: Any, n: int) -> npt.NDArray[np.bool_]:
            ok = np.ones(n, dtype=bool)
            for c in r.demand.expect:
                ok &= check_passes(c, _column(getattr(r, c.field), n))
            return ok

        return text, passes
    needed = APPLICATION_STAGE[result.demand.application]

    def reaches(r: Any, n: int) -> npt.NDArray[np.bool_]:
        return np.asarray(_column(r.stage, n) >= needed)

    return f"stage >= {needed}", reaches


#: Scales of a distribution tried by the levers: 1/100 … 100.
LEVER_RANGE = 100.0
#: Inputs solved for per demand: those whose ×2 and ×1/2 move the probability most.
MOST_LEVERS = 3
#: Bisection stops when the bracket is narrower than this ratio.
LEVER_TOLERANCE = 1.01


def _probability(
    sampled: Sampled, index: int, demand: int, scale: float, test: Callable[..., Any]
) -> float:
    """The chance of the goal with input ``index``'s distribution scaled, same uniforms."""
    inputs = list(sampled.inputs)
    item = inputs[index]
    inputs[index] = UncertainInput(item.path, item.label, item.distribution.scaled(scale))
    assert sampled.u is not None
    values = values_from(inputs, sampled.u)
    _, results = evaluate_values(sampled.doc, inputs, values, demand)
    return float(np.mean(test(results[0], sampled.samples)))


def _lever(
    sampled: Sampled,
    index: int,
    demand: int,
    target: float,
    text: str,
    test: Callable[..., Any],
    screen: tuple[float, float],
) -> dict[str, Any]:
    """The scale of one input's distribution that meets the goal with probability target
    (``screen``: the probability at ×2 and ×1/2)."""
    item = sampled.inputs[index]

    def chance(scale: float) -> float:
        return _probability(sampled, index, demand, scale, test)

    up, down = screen
    step = 2.0 if up >= down else 0.5
    prev, scale, p = 1.0, step, max(up, down)
    while p < target and abs(math.log(scale)) < math.log(LEVER_RANGE) - 1e-9:
        prev = scale
        scale = (
            scale * step
            if abs(math.log(scale * step)) <= math.log(LEVER_RANGE)
            else (LEVER_RANGE if step > 1 else 1 / LEVER_RANGE)
        )
        p = chance(scale)
    if p < target:
        return {
            "field": item.label,
            "scale": None,
            "probability": p,
            "text": f"{item.label}: no scale from ×1/{LEVER_RANGE:g} to ×{LEVER_RANGE:g} of "
            f"{item.distribution.text()} gives {text} with probability {target:g} (at best "
            f"{p:.3g})",
        }
    lo, hi, p_hi = prev, scale, p  # chance(lo) < target <= chance(hi)
    while max(lo / hi, hi / lo) > LEVER_TOLERANCE:
        mid = math.sqrt(lo * hi)
        p_mid = chance(mid)
        if p_mid >= target:
            hi, p_hi = mid, p_mid
        else:
            lo = mid
    scaled = item.distribution.scaled(hi)
    return {
        "field": item.label,
        "scale": hi,
        "median_now": item.distribution.median,
        "median_needed": scaled.median,
        "probability": p_hi,
        "text": f"{item.label}: {item.distribution.text()} → {scaled.text()} (×{hi:.3g}, "
        f"median {scaled.median:.4g}) gives {text} with probability {p_hi:.3g}",
    }


def solve_levers(sampled: Sampled, target: float) -> None:
    """For each demand short of its goal with probability ``target``: per uncertain input,
    the scale of its distribution (every location and spread times the same factor, the
    uniform draws kept: common random numbers) that meets the goal with that probability.

    Every input is screened at ×2 and ×1/2; the :data:`MOST_LEVERS` that raise the
    probability most are solved for, the probability taken as monotone in the scale:
    the scale is doubled (or halved, whichever raised it) until the target is met, up to
    ×100 (1/100), then bisected in log scale to 1 %. Levers are listed smallest change
    first; an input that neither doubling nor halving helps is not listed.
    """
    sampled.target_probability = target
    for d, result in enumerate(sampled.results):
        text, test = goal(result)
        found: list[dict[str, Any]] = []
        now = float(np.mean(_goal_now(sampled, d, test)))
        if now < target:
            # Screen every input at ×2 and ×1/2; solve for the MOST_LEVERS that raise the
            # probability most.
            screen = {
                i: (_probability(sampled, i, d, 2.0, test), _probability(sampled, i, d, 0.5, test))
                for i in range(len(sampled.inputs))
            }
            gain = {i: max(pair) - now for i, pair in screen.items()}
            ranked = sorted((i for i in gain if gain[i] > 0), key=lambda i: -gain[i])
            found = [
                _lever(sampled, i, d, target, text, test, screen[i]) for i in ranked[:MOST_LEVERS]
            ]
            found.sort(key=lambda f: abs(math.log(f["scale"])) if f["scale"] else math.inf)
            if not found:
                found = [
                    {
                        "field": None,
                        "scale": None,
                        "probability": now,
                        "text": f"no uncertain input, its distribution doubled or halved, "
                        f"raises the probability of {text} (now {now:.3g})",
                    }
                ]
        sampled.levers.append(found)


def _goal_now(sampled: Sampled, demand: int, test: Callable[..., Any]) -> npt.NDArray[np.bool_]:
    assert sampled.u is not None
    values = values_from(sampled.inputs, sampled.u)
    _, results = evaluate_values(sampled.doc, sampled.inputs, values, demand)
    return np.asarray(test(results[0], sampled.samples))


# ----------------------------------------------------------------------------- verdicts

#: Draws used when a demand asks for a probability and no --samples is given.
DEFAULT_SAMPLES = 1000
DEFAULT_SAMPLER = "lhs"


def probability_note(scenario: Any, seed: int = 0) -> str | None:
    """Why a scenario is drawn although no ``--samples`` was given: a demand whose
    ``expect`` asks for a probability (then the default draws are taken, as every command
    that judges ``expect`` does); None when no demand asks."""
    asks = [d.name for d in scenario.demands if d.expect_probability is not None]
    if not asks:
        return None
    return (
        f"demand {asks[0]} asks for a probability, so the uncertain inputs were drawn "
        f"{DEFAULT_SAMPLES:,} times ({DEFAULT_SAMPLER}, seed {seed})"
    )


def every_check(sampled: Sampled, demand: int) -> npt.NDArray[np.bool_]:
    """Whether every ``expect`` check of a demand passes at each draw."""
    every = np.ones(sampled.samples, dtype=bool)
    for passes in sampled.checks[demand]:
        every &= passes
    return every


def passed(sampled: Sampled, demand: int) -> bool:
    """A demand's verdict: with ``probability`` in its expect block, whether the chance
    that every check passes meets it; without, whether the checks pass at the medians
    (as without --samples)."""
    result = sampled.results[demand]
    chance = result.demand.expect_probability
    if chance is None:
        return bool(result.passed)
    got = probability_of(every_check(sampled, demand))
    return bool(check_passes(chance, got))


def median_note(inputs: Sequence[Any]) -> str:
    """The note of an evaluation at the medians of the uncertain inputs."""
    count = len(inputs)
    return (
        f"{count} uncertain input{'s' if count != 1 else ''} evaluated at the median of "
        "each; --samples N gives percentiles and stage probabilities"
    )


# ----------------------------------------------------------------------------- summaries


def probability_of(met: npt.NDArray[np.bool_]) -> float:
    return float(np.mean(met)) if met.size else 0.0


def inputs_dict(sampled: Sampled) -> dict[str, Any]:
    """The run's settings and inputs, for the top of the JSON."""
    return {
        "samples": sampled.samples,
        "seed": sampled.seed,
        "sampler": sampled.sampler,
        "inputs": [
            {
                "field": item.label,
                "factor": item.factor,
                **item.distribution.as_dict(),
                **summary(values),
            }
            for item, values in zip(sampled.inputs, sampled.values, strict=True)
        ],
        "notes": list(sampled.notes),
    }


def stage_distribution(stages: FloatArray) -> dict[str, float]:
    """P(stage reached = s) for s = 0 … 6. [probability]"""
    return {str(s): float(np.mean(stages == s)) for s in range(7)}
