"""What would it take: the single parameter change that makes a demand meet its target.

For a demand that misses its `expect` checks, the stage its application needs, or (when
it meets both) the next stage, each *lever* — one kind of hardware or link parameter
along the demand's route — is moved alone until the whole model says the target is met.
The search brackets the model's pass/fail verdict in log space between the present
value and a physical bound (a monotone root-finding problem: each lever only ever helps
in one direction) and narrows the bracket by the ITP method of Oliveira and Takahashi
[1]: where the verdict rests on a number with a threshold (the delivered fidelity, an
`expect` value), its interpolated root is tried first, within a projection that never
takes more steps than bisection plus one; the verdict alone decides each side. The
cheapest levers, by relative change, are reported as "needs X ≥ value (now value)".

References
----------
.. [1] I. F. D. Oliveira, R. H. C. Takahashi, "An enhancement of the bisection method
   average performance preserving minmax optimality", ACM Trans. Math. Softw. 47(1),
   Art. 5 (2021), Algorithm 1.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import numpy as np

from qcalc._yaml import paused_collection
from qcalc.records import record
from qcalc.scenario import APPLICATION_STAGE, Demand, Link, Node, Scenario

#: Relative precision of a lever's needed value: the search in log space stops when the
#: bracket is narrower than this (a hundredth of the fourth digit a table shows; ≪ 5 %
#: for any lever); an integer lever is bisected to the exact integer. [unitless]
LEVER_RELATIVE_TOLERANCE = 1e-5
#: Most steps of one lever's search (bisection of a bracket of 10⁶ in log space needs
#: 21; ITP at most two more). [count]
MAX_BISECTION_STEPS = 64
#: Lowest fibre attenuation on record, 0.1419 dB/km at 1560 nm (Tamura et al., OFC 2018,
#: Th5D.1); a lever never asks for better fibre than exists. [dB/km]
BEST_FIBRE_DB_PER_KM = 0.1419


@record(frozen=True)
class Lever:
    """One parameter change and what it must become."""

    field: str
    scope: str
    now: float
    needs: float
    op: str  # ">=" or "<="

    @property
    def relative_change(self) -> float:
        if self.now <= 0 or self.needs <= 0:
            return math.inf
        return abs(math.log(self.needs / self.now))

    def text(self) -> str:
        return f"needs {self.field} {self.op} {self.needs:.4g} (now {self.now:.4g}; {self.scope})"


@record(frozen=True)
class NextStage:
    stage: int
    target: str
    levers: tuple[Lever, ...]


@record(frozen=True)
class _Knob:
    field: str
    scope: str
    up: bool  # a larger value helps
    integer: bool
    values: Callable[[Scenario, tuple[str, ...]], list[float]]
    apply: Callable[[Scenario, tuple[str, ...], float], Scenario]
    bound: Callable[[float], float]


# ----------------------------------------------------------------------------- editing
# A lever moves one parameter along a route of up to 10⁴ hops, some 25 times per lever:
# the route's links are found once, and an edit copies only what it changes.


_T = TypeVar("_T")


def _edited(obj: _T, **changes: Any) -> _T:
    """``dataclasses.replace`` for the scenario's frozen dataclasses (no ``__post_init__``
    to run): a copy of the fields with ``changes`` applied."""
    copy = object.__new__(type(obj))
    copy.__dict__.update(obj.__dict__, **changes)
    return copy


def _with_nodes(sc: Scenario, names: list[str], edit: Callable[[Node], Node]) -> Scenario:
    nodes = dict(sc.nodes)
    for n in names:
        nodes[n] = edit(nodes[n])
    return replace(sc, nodes=nodes)


#: The positions in ``scenario.links`` of the links joining a route's hops, for the last
#: (scenario, route) asked about (a lever asks for the same ones at every step).
_ROUTE_LINKS: list[tuple[Scenario, tuple[str, ...], list[int]]] = []


def _route_positions(sc: Scenario, route: tuple[str, ...]) -> list[int]:
    for known, path, positions in _ROUTE_LINKS:
        if known is sc and (path is route or path == route):
            return positions
    hops = {frozenset(p) for p in zip(route, route[1:], strict=False)}
    positions = [i for i, link in enumerate(sc.links) if frozenset(link.ends) in hops]
    _ROUTE_LINKS[:] = [(sc, route, positions)]
    return positions


def _with_links(
    sc: Scenario,
    route: tuple[str, ...],
    edit: Callable[[Link], Link | None],
) -> Scenario:
    links = list(sc.links)
    for i in _route_positions(sc, route):
        changed = edit(links[i])
        if changed is not None:
            links[i] = changed
    return replace(sc, links=tuple(links))


def _route_links(sc: Scenario, route: tuple[str, ...]) -> list[Link]:
    return [sc.links[i] for i in _route_positions(sc, route)]


def _device_knob(
    kind: str,
    attr: str,
    where: str,
    up: bool,
    bound: Callable[[float], float],
    integer: bool = False,
) -> _Knob:
    """A lever on a device profile (memory, detector, processor) of route nodes."""

    def nodes_of(sc: Scenario, route: tuple[str, ...]) -> list[str]:
        names = [route[0], route[-1]] if where == "ends" else list(route)
        return [n for n in names if getattr(sc.nodes[n], kind) is not None]

    def values(sc: Scenario, route: tuple[str, ...]) -> list[float]:
        out = []
        for n in nodes_of(sc, route):
            v = getattr(getattr(sc.nodes[n], kind), attr)
            if v is not None:
                out.append(float(v))
        return out

    def apply(sc: Scenario, route: tuple[str, ...], value: float) -> Scenario:
        # Nodes that share a device profile share its edited copy.
        devices: dict[int, tuple[Any, Any]] = {}

        def edit(node: Node) -> Node:
            device = getattr(node, kind)
            old = getattr(device, attr)
            if old is None:
                return node
            known = devices.get(id(device))
            if known is None or known[0] is not device:
                new = max(old, value) if up else min(old, value)
                known = devices[id(device)] = (device, _edited(device, **{attr: new}))
            return _edited(node, **{kind: known[1]})

        return _with_nodes(sc, nodes_of(sc, route), edit)

    scope = f"every {kind} {'at the two ends' if where == 'ends' else 'on the route'}"
    return _Knob(f"{kind}.{attr}", scope, up, integer, values, apply, bound)


def _link_knob(
    attr: str,
    up: bool,
    bound: Callable[[float], float],
    integer: bool = False,
    channels: tuple[str, ...] = ("fibre", "free_space", "satellite"),
) -> _Knob:
    def values(sc: Scenario, route: tuple[str, ...]) -> list[float]:
        return [
            float(getattr(link, attr))
            for link in _route_links(sc, route)
            if link.channel in channels and getattr(link, attr) is not None
        ]

    def apply(sc: Scenario, route: tuple[str, ...], value: float) -> Scenario:
        def edit(link: Link) -> Link | None:
            old = getattr(link, attr)
            if old is None or link.channel not in channels:
                return None
            return _edited(link, **{attr: max(old, value) if up else min(old, value)})

        return _with_links(sc, route, edit)

    return _Knob(f"link.{attr}", "every link on the route", up, integer, values, apply, bound)


def _route_length_knob() -> _Knob:
    """Shorter links: every terrestrial hop scaled by one factor; reported as route length."""

    def values(sc: Scenario, route: tuple[str, ...]) -> list[float]:
        lengths = [
            float(link.length_km)
            for link in _route_links(sc, route)
            if link.channel != "satellite" and link.length_km is not None
        ]
        return [sum(lengths)] if lengths and sum(lengths) > 0 else []

    def apply(sc: Scenario, route: tuple[str, ...], value: float) -> Scenario:
        total = values(sc, route)[0]

        def edit(link: Link) -> Link | None:
            if link.channel == "satellite" or link.length_km is None:
                return None
            return _edited(link, length_km=link.length_km * value / total)

        return _with_links(sc, route, edit)

    return _Knob(
        "route length_km",
        "all terrestrial hops shortened in proportion",
        False,
        False,
        values,
        apply,
        lambda now: now * 1e-3,
    )


def _junction_knob() -> _Knob:
    def nodes_of(route: tuple[str, ...]) -> list[str]:
        return list(route[1:-1])

    def values(sc: Scenario, route: tuple[str, ...]) -> list[float]:
        return [
            float(sc.nodes[n].bsm_success_probability)
            for n in nodes_of(route)
            if sc.nodes[n].memory is not None
        ]

    def apply(sc: Scenario, route: tuple[str, ...], value: float) -> Scenario:
        return _with_nodes(
            sc,
            [n for n in nodes_of(route) if sc.nodes[n].memory is not None],
            lambda node: _edited(
                node, bsm_success_probability=max(node.bsm_success_probability, value)
            ),
        )

    return _Knob(
        "node.bsm_success_probability",
        "every repeater on the route",
        True,
        False,
        values,
        apply,
        lambda now: 1.0,
    )


KNOBS: tuple[_Knob, ...] = (
    _device_knob("memory", "coherence_time_s", "route", True, lambda now: now * 1e6),
    _device_knob("memory", "efficiency", "route", True, lambda now: 1.0),
    _device_knob("detector", "efficiency", "route", True, lambda now: 1.0),
    _device_knob("processor", "two_qubit_gate_error", "ends", False, lambda now: now * 1e-4),
    _device_knob("processor", "physical_qubits", "ends", True, lambda now: now * 1e4, integer=True),
    _device_knob("source", "repetition_rate_hz", "route", True, lambda now: now * 1e3),
    _route_length_knob(),
    _link_knob(
        "attenuation_db_per_km", False, lambda now: BEST_FIBRE_DB_PER_KM, channels=("fibre",)
    ),
    _link_knob("memory_modes", True, lambda now: now * 1e5, integer=True),
    _link_knob("elementary_fidelity", True, lambda now: 1.0),
    _link_knob("elementary_pair_rate_hz", True, lambda now: now * 1e6),
    _link_knob("misalignment_error", False, lambda now: now * 1e-3),
    _junction_knob(),
)


# ----------------------------------------------------------------------------- search


Margin = Callable[[Any], float | None]


def _target(
    result: Any, scenario: Scenario
) -> tuple[int, str, Callable[[Any], bool], Margin] | None:
    """What the demand should reach, a test of an evaluated result against it, and the
    signed distance of a result from it where the test rests on a number and a threshold
    (positive where the target is met; None where it rests on no such number)."""
    stage = int(np.max(result.stage))
    failing = [c.check for c in result.checks if not c.passed]
    if any(c.op not in (">=", ">") for c in failing):
        return None  # a result above an upper bound wants less, not a better network
    if failing:
        wanted = next(
            (
                int(math.floor(c.want)) + 1 if c.op == ">" else int(math.ceil(c.want))
                for c in failing
                if c.field == "stage"
            ),
            stage,
        )
        text = ", ".join(f"{c.field} {c.op} {c.want:g}" for c in failing)

        def meets_expect(r: Any) -> bool:
            return all(c.passes(float(np.min(getattr(r, c.field)))) for c in failing)

        def expect_margin(r: Any) -> float | None:
            slack = [_slack(float(np.min(getattr(r, c.field))), c.want) for c in failing]
            return None if None in slack else min(s for s in slack if s is not None)

        return max(wanted, stage), f"expect {text}", meets_expect, expect_margin
    needed = APPLICATION_STAGE.get(result.demand.application, 1)
    if (
        result.demand.application in ("qkd", "diqkd")
        and stage >= needed
        and not np.any(np.asarray(result.key_rate_bps) > 0)
    ):

        def has_key(r: Any) -> bool:
            return bool(np.any(np.asarray(r.key_rate_bps) > 0))

        return stage, f"a positive key for {result.demand.application}", has_key, _no_margin
    goal = needed if stage < needed else stage + 1
    if goal > 6:
        return None
    why = (
        f"stage {goal} needed by {result.demand.application}"
        if stage < needed
        else f"next stage, {goal}"
    )

    def meets_stage(r: Any) -> bool:
        return int(np.max(r.stage)) >= goal

    crit = scenario.criteria
    needed_fidelity = (
        crit.fault_tolerant_min_fidelity if goal >= 5 else crit.entanglement_min_fidelity
    )

    def fidelity_margin(r: Any) -> float | None:
        """ln((1 − F_needed)/(1 − F)) of the delivered fidelity F (stages 3–6 all ask
        one): the infidelity of memory decay and of many links scales as a power of the
        levers, so this is nearly linear in their logarithm."""
        fidelity = float(np.max(r.fidelity))
        if goal < 3 or not fidelity < 1.0:
            return None
        return math.log((1.0 - needed_fidelity) / (1.0 - fidelity))

    return goal, why, meets_stage, fidelity_margin


def _slack(value: float, want: float) -> float | None:
    """ln(value/want) (rates and counts scale as powers of the levers); None where one
    is not positive."""
    return math.log(value / want) if value > 0 and want > 0 else None


def _no_margin(result: Any) -> float | None:
    return None


#: ITP's parameters [1]: the interpolated point is pulled towards the middle by
#: κ1 (b − a)^κ2 and projected within n0 steps of bisection's worst case. [unitless]
ITP_K1, ITP_K2, ITP_N0 = 0.2, 2.0, 1


Verdict = tuple[bool, float | None]


def _solve(
    knob: _Knob,
    scenario: Scenario,
    demand: Demand,
    route: tuple[str, ...],
    judge: Callable[[Scenario], Verdict | bool],
    margin_now: float | None = None,
) -> Lever | None:
    """The value of ``knob`` at which ``judge`` (the target's verdict, and the margin
    beside it, :func:`_target`) first passes, to :data:`LEVER_RELATIVE_TOLERANCE` (an
    integer knob: the exact integer); ``margin_now`` is the margin at the present value."""
    values = [v for v in knob.values(scenario, route) if v > 0]
    if not values:
        return None
    now = min(values) if knob.up else max(values)
    limit = knob.bound(now)
    if (knob.up and limit <= now) or (not knob.up and limit >= now):
        return None

    verdicts: dict[float, Verdict] = {}

    def tried(value: float) -> Verdict:
        value = float(math.ceil(value)) if knob.integer else value
        if value not in verdicts:  # an integer lever meets the same values again
            found = judge(knob.apply(scenario, route, value))
            verdicts[value] = found if isinstance(found, tuple) else (bool(found), None)
        return verdicts[value]

    if not tried(limit)[0]:
        return None
    if knob.integer:
        needs = _integer_root(knob, now, limit, lambda v: tried(v)[0])
    else:
        needs = _float_root(knob.up, now, limit, tried, margin_now)
    return Lever(knob.field, knob.scope, now, needs, ">=" if knob.up else "<=")


def _integer_root(knob: _Knob, now: float, limit: float, ok: Callable[[float], bool]) -> float:
    """The least integer that passes (bisection in log space between ``now``, failing,
    and ``limit``, passing)."""
    good, bad = math.log(limit), math.log(now)
    # Done when the passing integer and the nearest failing one (the value now, or one
    # tried) are neighbours; exp(log(n)) may round above n, so the failing integer is
    # kept, not read back from the bracket.
    failing = float(math.floor(now) if knob.up else math.ceil(now))
    for _ in range(MAX_BISECTION_STEPS):
        if abs(math.ceil(math.exp(good)) - failing) <= 1:
            break
        mid = (good + bad) / 2
        if ok(math.exp(mid)):
            good = mid
        else:
            bad = mid
            failing = float(math.ceil(math.exp(mid)))
    return float(math.ceil(math.exp(good)))


def _float_root(
    up: bool,
    now: float,
    limit: float,
    tried: Callable[[float], Verdict],
    margin_now: float | None,
) -> float:
    """The value between ``now`` (failing) and ``limit`` (passing) where the verdict
    turns, within :data:`LEVER_RELATIVE_TOLERANCE` in log space: the ITP method [1] on
    t = ±log(value) (oriented so that passing lies above), interpolating the margins
    where they agree with the verdicts and bisecting where they do not."""
    sign = 1.0 if up else -1.0
    a, b = sign * math.log(now), sign * math.log(limit)  # a fails, b passes
    f_a = _oriented(False, margin_now)
    f_b = _oriented(True, tried(limit)[1])
    epsilon = 0.49 * LEVER_RELATIVE_TOLERANCE  # the bracket ends narrower than the tolerance
    n_max = max(0, math.ceil(math.log2((b - a) / (2 * epsilon)))) + ITP_N0
    k1 = ITP_K1 / (b - a)
    for j in range(MAX_BISECTION_STEPS):
        if b - a <= 2 * epsilon:
            break
        middle = (a + b) / 2
        reach = epsilon * 2.0 ** (n_max - j) - (b - a) / 2
        pull = k1 * (b - a) ** ITP_K2
        falsi = (b * f_a - a * f_b) / (f_a - f_b)  # regula falsi: f_a < 0 < f_b
        towards = math.copysign(1.0, middle - falsi)
        truncated = falsi + towards * pull if pull <= abs(middle - falsi) else middle
        t = truncated if abs(truncated - middle) <= reach else middle - towards * reach
        passed, margin = tried(math.exp(sign * t))
        if passed:
            b, f_b = t, _oriented(True, margin)
        else:
            a, f_a = t, _oriented(False, margin)
    return math.exp(sign * b)


def _oriented(passed: bool, margin: float | None) -> float:
    """The value ITP interpolates at a point: the margin where its sign agrees with the
    verdict (and is finite), else the smallest number of the verdict's sign (the step is
    then nearly bisection's)."""
    if margin is not None and math.isfinite(margin) and margin != 0 and (margin > 0) == passed:
        return margin
    return math.ulp(0.0) if passed else -math.ulp(0.0)


def next_stage_levers(scenario: Scenario, result: Any, most: int = 3) -> NextStage | None:
    """The cheapest single changes that make ``result``'s demand meet its target."""
    from qcalc.demands import evaluate_demand
    from qcalc.errors import QcalcError

    target = _target(result, scenario)
    if target is None:
        return None
    goal, why, meets, margin = target
    demand = result.demand
    route = result.path
    routed = replace(demand, path=route)

    def judge(changed: Scenario) -> Verdict:
        try:
            evaluated = evaluate_demand(changed, routed, explain=False)  # numbers only
            return meets(evaluated), margin(evaluated)
        except (QcalcError, ValueError):
            return False, None
        finally:
            gc.collect(1)  # what this evaluation left in cycles (see below)

    margin_now = margin(result)

    # No automatic collection during the search: a long route holds millions of objects
    # (scenario, results, shared hop results) and the collector's full passes scanned
    # them all, over and over (a third of the search on a 10⁴-hop chain). What an
    # evaluation leaves in cycles is young, collected after it (above).
    with paused_collection():
        try:
            levers = [
                lever
                for knob in KNOBS
                if (lever := _solve(knob, scenario, demand, route, judge, margin_now)) is not None
            ]
        finally:
            _ROUTE_LINKS.clear()  # holds the scenario
    levers.sort(key=lambda lever: lever.relative_change)
    return NextStage(goal, why, tuple(levers[:most]))
