"""What would it take: the single parameter change that makes a demand meet its target.

For a demand that misses its `expect` checks, the stage its application needs, or (when
it meets both) the next stage, each *lever* — one kind of hardware or link parameter
along the demand's route — is moved alone until the whole model says the target is met.
The search is a bisection on the model's pass/fail verdict, in log space between the
present value and a physical bound (a monotone root-finding problem: each lever only
ever helps in one direction). The cheapest levers, by relative change, are reported as
"needs X ≥ value (now value)".
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

#: Relative precision of a lever's needed value: bisection in log space stops when the
#: bracket is narrower than this (a hundredth of the fourth digit a table shows; ≪ 5 %
#: for any lever); an integer lever is bisected to the exact integer. [unitless]
LEVER_RELATIVE_TOLERANCE = 1e-5
#: Most bisection steps of one lever (a bracket of 10⁶ in log space needs 21). [count]
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


def _target(result: Any, scenario: Scenario) -> tuple[int, str, Callable[[Any], bool]] | None:
    """What the demand should reach, and a test of an evaluated result against it."""
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

        return max(wanted, stage), f"expect {text}", meets_expect
    needed = APPLICATION_STAGE.get(result.demand.application, 1)
    if (
        result.demand.application in ("qkd", "diqkd")
        and stage >= needed
        and not np.any(np.asarray(result.key_rate_bps) > 0)
    ):

        def has_key(r: Any) -> bool:
            return bool(np.any(np.asarray(r.key_rate_bps) > 0))

        return stage, f"a positive key for {result.demand.application}", has_key
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

    return goal, why, meets_stage


def _solve(
    knob: _Knob,
    scenario: Scenario,
    demand: Demand,
    route: tuple[str, ...],
    passes: Callable[[Scenario], bool],
) -> Lever | None:
    values = [v for v in knob.values(scenario, route) if v > 0]
    if not values:
        return None
    now = min(values) if knob.up else max(values)
    limit = knob.bound(now)
    if (knob.up and limit <= now) or (not knob.up and limit >= now):
        return None

    verdicts: dict[float, bool] = {}

    def ok(value: float) -> bool:
        value = float(math.ceil(value)) if knob.integer else value
        if value not in verdicts:  # an integer lever meets the same values again
            verdicts[value] = passes(knob.apply(scenario, route, value))
        return verdicts[value]

    if not ok(limit):
        return None
    good, bad = math.log(limit), math.log(now)
    # An integer lever is done when the passing integer and the nearest failing one (the
    # value now, or one tried) are neighbours; exp(log(n)) may round above n, so the
    # failing integer is kept, not read back from the bracket.
    failing = float(math.floor(now) if knob.up else math.ceil(now))
    for _ in range(MAX_BISECTION_STEPS):
        if knob.integer:
            if abs(math.ceil(math.exp(good)) - failing) <= 1:
                break
        elif abs(good - bad) < LEVER_RELATIVE_TOLERANCE:
            break
        mid = (good + bad) / 2
        if ok(math.exp(mid)):
            good = mid
        else:
            bad = mid
            failing = float(math.ceil(math.exp(mid)))
    needs = math.exp(good)
    needs = float(math.ceil(needs)) if knob.integer else needs
    return Lever(knob.field, knob.scope, now, needs, ">=" if knob.up else "<=")


def next_stage_levers(scenario: Scenario, result: Any, most: int = 3) -> NextStage | None:
    """The cheapest single changes that make ``result``'s demand meet its target."""
    from qcalc.demands import evaluate_demand
    from qcalc.errors import QcalcError

    target = _target(result, scenario)
    if target is None:
        return None
    goal, why, meets = target
    demand = result.demand
    route = result.path
    routed = replace(demand, path=route)

    def passes(changed: Scenario) -> bool:
        try:
            return meets(evaluate_demand(changed, routed, explain=False))  # numbers only
        except (QcalcError, ValueError):
            return False
        finally:
            gc.collect(1)  # what this evaluation left in cycles (see below)

    # No automatic collection during the search: a long route holds millions of objects
    # (scenario, results, shared hop results) and the collector's full passes scanned
    # them all, over and over (a third of the search on a 10⁴-hop chain). What an
    # evaluation leaves in cycles is young, collected after it (above).
    with paused_collection():
        try:
            levers = [
                lever
                for knob in KNOBS
                if (lever := _solve(knob, scenario, demand, route, passes)) is not None
            ]
        finally:
            _ROUTE_LINKS.clear()  # holds the scenario
    levers.sort(key=lambda lever: lever.relative_change)
    return NextStage(goal, why, tuple(levers[:most]))
