"""How demands share the links and nodes they cross.

Every route of a demand is first evaluated alone by qcalc's own chain
(:func:`qcalc.demands.evaluate_demand`): it delivers ``R_p`` (key in bit/s for a key
demand, Bell pairs per second otherwise). Sharing is then a linear program over the rate
``a_p`` each route carries:

- a trusted-node chain relays key hop by hop: hop ``l`` makes key at ``K_l`` (its own
  prepare-and-measure key, as qcalc computes it for the hop), a pool every chain through
  it draws on, so :math:`\\sum_{p \\ni l} a_p / K_{l} \\le 1`;
- any other route (end-to-end key through nodes that pass the light, a measuring relay,
  a repeater chain) holds every link and every node in between while it runs: its
  elementary links make pairs for it and its memories hold them, so a route carrying
  ``a_p`` occupies each of them a fraction ``a_p / R_p`` of the time and
  :math:`\\sum_{p \\ni \\rho} a_p / R_p \\le 1` for every link or node ``ρ``.

A demand gets :math:`A_d = \\sum_{p \\in d} a_p` (one route only when splitting is off).
The allocation is max–min fair by default (progressive filling: raise every demand not yet
blocked together, then freeze those whose bound has a positive dual — a demand that
cannot rise without another at the same level falling [1]_), proportionally fair
(:math:`\\max \\sum_d w_d \\log A_d` [2]_, a concave program solved by sequential least
squares from the max–min allocation [3]_), or the weighted throughput
:math:`\\max \\sum_d w_d A_d`.

References
----------
.. [1] B. Radunović, J.-Y. Le Boudec, "A unified framework for max-min and min-max
   fairness with applications", IEEE/ACM Trans. Netw. 15, 1073 (2007), Sec. IV
   (water-filling with the dual).
.. [2] F. P. Kelly, A. K. Maulloo, D. K. H. Tan, "Rate control for communication
   networks: shadow prices, proportional fairness and stability", J. Oper. Res. Soc. 49,
   237 (1998).
.. [3] D. Kraft, "A software package for sequential quadratic programming", DFVLR-FB
   88-28 (1988) (SLSQP, as in scipy.optimize.minimize).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Any

import numpy as np

from qcalc.demands import DemandResult, evaluate_demand
from qcalc.design.graph import Graph
from qcalc.errors import QcalcError, ScenarioError, UsageError
from qcalc.network import demand_route
from qcalc.records import record
from qcalc.scenario import Demand, Scenario

OBJECTIVES = ("max-min", "proportional", "throughput")
#: Relative tolerance of "at its bound" (a resource used up, a demand at the fair level).
TOLERANCE = 1e-7


@record(frozen=True)
class CapacityRoute:
    """A route of a demand, what it delivers alone, and the resources it takes.

    Attributes
    ----------
    demand : str
        Name of the demand.
    path : tuple of str
        Nodes of the route, end to end.
    rate : float
        What the route delivers alone (bit/s of key or pairs/s). [bit/s or Hz]
    uses : tuple of (str, float)
        Each resource it takes and the rate that uses it up (``K_l`` of a trusted hop,
        ``R_p`` otherwise). [bit/s or Hz]
    result : DemandResult
        qcalc's evaluation of the demand over this route alone.
    """

    demand: str
    path: tuple[str, ...]
    rate: float
    uses: tuple[tuple[str, float], ...]
    result: DemandResult = field(repr=False, compare=False)
    #: The scenario the route was evaluated in (the demand with this ``path``).
    scenario: Scenario = field(repr=False, compare=False)


@record
class Share:
    """What one demand gets."""

    demand: str
    metric: str
    allocated: float
    alone: float
    routes: list[tuple[CapacityRoute, float]]
    bottlenecks: list[str]

    @property
    def fraction(self) -> float:
        """Allocated over what the demand gets alone on its best route. [unitless]"""
        return self.allocated / self.alone if self.alone > 0 else 0.0

    @property
    def primary(self) -> CapacityRoute | None:
        """The route carrying most of the share (the first route when none carries any)."""
        if not self.routes:
            return None
        return max(self.routes, key=lambda ra: ra[1])[0]

    def shared(self) -> DemandResult | None:
        """The demand judged at its share (:func:`shared_result` of its primary route)."""
        route = self.primary
        return None if route is None else shared_result(route, self.allocated)


@record
class Allocation:
    """The shares of every demand, and how full each resource is."""

    shares: list[Share]
    objective: str
    split: bool
    method: str
    usage: dict[str, float]
    notes: list[str] = field(default_factory=list)

    def share(self, demand: str) -> Share:
        return next(s for s in self.shares if s.demand == demand)


def demand_metric(demand: Demand) -> str:
    """``key_rate_bps`` for a key demand (qkd, diqkd, or one whose expect asks for key);
    ``pair_rate_hz`` otherwise."""
    if demand.application in ("qkd", "diqkd") or any(
        c.field == "key_rate_bps" for c in demand.expect
    ):
        return "key_rate_bps"
    return "pair_rate_hz"


def _scalar(value: Any) -> float:
    v = float(np.min(np.asarray(value, dtype=float)))
    return v if math.isfinite(v) and v > 0 else 0.0


def route_of(scenario: Scenario, demand: Demand, path: tuple[str, ...]) -> CapacityRoute:
    """Evaluate ``demand`` over ``path`` alone and list the resources the route takes."""
    alone = dataclasses.replace(scenario, demands=(dataclasses.replace(demand, path=path),))
    result = evaluate_demand(alone, alone.demands[0])
    metric = demand_metric(demand)
    rate = _scalar(getattr(result, metric))
    uses: list[tuple[str, float]] = []
    if metric == "key_rate_bps" and result.key_scope == "trusted chain":
        for hop, hop_rate in zip(result.hops, result.hop_rates, strict=True):
            key = 0.0 if hop_rate is None else _scalar(hop_rate.key_rate_bps)
            uses.append((f"link {hop.link.name}", key))
    else:
        uses.extend((f"link {hop.link.name}", rate) for hop in result.hops)
        uses.extend((f"node {n}", rate) for n in result.intermediates)
    return CapacityRoute(demand.name, path, rate, tuple(uses), result, alone)


def demand_routes(
    scenario: Scenario, routes_per_demand: int, graph: Graph | None = None
) -> dict[str, list[CapacityRoute]]:
    """Each demand's routes: its ``path`` if given, else the k lowest-loss paths (the
    first the route ``qcalc stage`` takes).

    Raises
    ------
    ScenarioError
        When no chain of links joins a demand's ends.
    """
    graph = graph or Graph(scenario)
    out: dict[str, list[CapacityRoute]] = {}
    for demand in scenario.demands:
        # the route qcalc stage takes first (its path, or its lowest-loss route), then
        # the next lowest-loss ones
        first = demand_route(scenario, demand)
        paths = [first]
        if demand.path is None and routes_per_demand > 1:
            more = graph.k_shortest(*demand.ends, routes_per_demand)
            paths += [p for _, p in more if p != first][: routes_per_demand - 1]
        out[demand.name] = [route_of(scenario, demand, p) for p in paths]
    return out


# ----------------------------------------------------------------------------- the LPs


@record
class _LP:
    """Variables: x_p = a_p / R_p (the time fraction route p runs), routes with R_p > 0."""

    routes: list[CapacityRoute]
    demands: list[str]
    member: dict[str, list[int]]
    rows: Any  # resource rows, sparse: Σ x_p R_p / C ≤ 1
    resources: list[str]
    scale: float

    @classmethod
    def build(cls, pools: Mapping[str, list[CapacityRoute]]) -> _LP:
        from scipy.sparse import coo_matrix

        routes = [r for pool in pools.values() for r in pool if r.rate > 0]
        member: dict[str, list[int]] = {d: [] for d in pools}
        for p, r in enumerate(routes):
            member[r.demand].append(p)
        index: dict[str, int] = {}
        rows, cols, vals = [], [], []
        for p, r in enumerate(routes):
            for name, cap in r.uses:
                k = index.setdefault(name, len(index))
                rows.append(k)
                cols.append(p)
                vals.append(r.rate / cap if cap > 0 else math.inf)
        matrix = coo_matrix((vals, (rows, cols)), shape=(len(index), len(routes))).tocsr()
        scale = max((r.rate for r in routes), default=1.0)
        return cls(routes, list(pools), member, matrix, list(index), scale)

    def rates(self) -> Any:
        return np.array([r.rate for r in self.routes]) / self.scale

    def demand_matrix(self) -> Any:
        from scipy.sparse import coo_matrix

        rows, cols, vals = [], [], []
        rate = self.rates()
        for i, d in enumerate(self.demands):
            for p in self.member[d]:
                rows.append(i)
                cols.append(p)
                vals.append(rate[p])
        return coo_matrix((vals, (rows, cols)), shape=(len(self.demands), len(self.routes))).tocsr()


def _linprog(c: Any, a_ub: Any, b_ub: Any, bounds: Any, a_eq: Any = None, b_eq: Any = None) -> Any:
    from scipy.optimize import linprog

    res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if res.status != 0:
        raise QcalcError(f"internal error: the allocation LP failed ({res.message})")
    return res


def max_min(lp: _LP, fixed: Sequence[int] | None = None) -> tuple[Any, int]:
    """Max–min fair time fractions by progressive filling (levels solved by LP).

    Returns
    -------
    numpy.ndarray, int
        x_p per route and the number of LPs solved.
    """
    from scipy.sparse import csr_matrix, hstack, vstack

    n = len(lp.routes)
    demand_rates = lp.demand_matrix()
    alive = [i for i, d in enumerate(lp.demands) if lp.member[d]]
    level: dict[int, float] = {}
    x = np.zeros(n)
    solved = 0
    bounds = [(0.0, 0.0 if fixed is not None and p not in fixed else None) for p in range(n)]
    while len(level) < len(alive):
        free = [i for i in alive if i not in level]
        # variables [x..., t]; minimise −t
        c = np.zeros(n + 1)
        c[-1] = -1.0
        resource = hstack([lp.rows, csr_matrix((lp.rows.shape[0], 1))])
        rise = hstack([-demand_rates[free], csr_matrix(np.ones((len(free), 1)))])
        blocks = [resource, rise]
        b = [np.ones(lp.rows.shape[0]), np.zeros(len(free))]
        res = None
        slack = TOLERANCE
        while res is None:
            rows, rhs = list(blocks), list(b)
            if level:
                frozen = list(level)
                rows.append(hstack([-demand_rates[frozen], csr_matrix((len(frozen), 1))]))
                rhs.append(-np.array([level[i] for i in frozen]) * (1 - slack))
            try:
                res = _linprog(c, vstack(rows).tocsr(), np.concatenate(rhs), [*bounds, (0.0, None)])
            except QcalcError:
                # the levels frozen before hold in the last solution: an infeasible LP is
                # rounding in the solver; loosen them a little (at most 0.1 %)
                if slack >= 1e-3:
                    raise
                slack *= 10
            solved += 1
        t = float(res.x[-1])
        x = res.x[:-1]
        duals = np.asarray(res.ineqlin.marginals)[lp.rows.shape[0] : lp.rows.shape[0] + len(free)]
        blocked = [i for i, y in zip(free, duals, strict=True) if abs(y) > 1e-12]
        if not blocked:  # degenerate duals: freeze those that cannot rise, one LP each
            blocked = [
                i for i in free if not _can_rise(lp, demand_rates, i, free, level, t, bounds)
            ]
            solved += len(free)
            blocked = blocked or free
        for i in blocked:
            level[i] = t
    return x, solved


def _can_rise(
    lp: _LP,
    demand_rates: Any,
    i: int,
    free: list[int],
    level: Mapping[int, float],
    t: float,
    bounds: list[tuple[float, float | None]],
) -> bool:
    from scipy.sparse import vstack

    others = [j for j in free if j != i] + list(level)
    floor = [t if j in free else level[j] for j in others]
    blocks = [lp.rows]
    b = [np.ones(lp.rows.shape[0])]
    if others:
        blocks.append(-demand_rates[others])
        b.append(-np.array(floor) * (1 - TOLERANCE))
    c = -demand_rates[i].toarray()[0]
    res = _linprog(c, vstack(blocks).tocsr(), np.concatenate(b), bounds)
    return float(-res.fun) > t * (1 + 1e-6) + 1e-15


def throughput(lp: _LP, weights: Any, fixed: Sequence[int] | None = None) -> Any:
    """Time fractions maximising Σ w_d A_d (one LP)."""
    n = len(lp.routes)
    c = -(np.asarray(weights) @ lp.demand_matrix().toarray())
    bounds = [(0.0, 0.0 if fixed is not None and p not in fixed else None) for p in range(n)]
    return _linprog(c, lp.rows, np.ones(lp.rows.shape[0]), bounds).x


def proportional(lp: _LP, weights: Any, start: Any, fixed: Sequence[int] | None = None) -> Any:
    """Time fractions maximising Σ w_d log A_d over the resource polytope.

    Sequential least squares (SLSQP, scipy.optimize.minimize) with the exact gradient
    ∂/∂x_p = w_d R_p / A_d, from ``start`` (the max–min allocation, where every demand
    that can have a share has one, so every log is finite); the concave objective over a
    polytope has one optimum, reached to ``ftol`` 1e-12. The result is scaled into the
    polytope should the solver leave it by its tolerance.
    """
    from scipy.optimize import Bounds, LinearConstraint, minimize

    n = len(lp.routes)
    live = [i for i, d in enumerate(lp.demands) if lp.member[d]]
    w = np.asarray(weights, dtype=float)[live]
    d_rates = lp.demand_matrix()[live].toarray()
    resources = lp.rows.toarray()

    def objective(x: Any) -> tuple[float, Any]:
        allocated = np.maximum(d_rates @ x, 1e-300)
        return float(-(w @ np.log(allocated))), -(d_rates.T @ (w / allocated))

    upper = np.array([0.0 if fixed is not None and p not in fixed else np.inf for p in range(n)])
    res = minimize(
        objective,
        np.asarray(start, dtype=float),
        jac=True,
        method="SLSQP",
        bounds=Bounds(np.zeros(n), upper),
        constraints=[LinearConstraint(resources, -np.inf, 1.0)],
        options={"ftol": 1e-12, "maxiter": 2000},
    )
    x = np.clip(res.x, 0.0, upper)
    worst = float(np.max(resources @ x, initial=0.0))
    return x / worst if worst > 1.0 else x


def _choose_routes(lp: _LP) -> list[int]:
    """One route per demand, chosen by the mixed-integer program of the max–min level:
    maximise t with A_d ≥ t, each demand on one route (binary z_p ≥ x_p, Σ z_p = 1)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import csr_matrix, hstack, identity, vstack

    n = len(lp.routes)
    live = [i for i, d in enumerate(lp.demands) if lp.member[d]]
    d_rates = lp.demand_matrix()[live]
    # variables [x (n), z (n), t]
    rows = [
        hstack([lp.rows, csr_matrix((lp.rows.shape[0], n + 1))]),
        hstack([identity(n), -identity(n), csr_matrix((n, 1))]),
        hstack([-d_rates, csr_matrix((len(live), n)), csr_matrix(np.ones((len(live), 1)))]),
    ]
    pick = np.zeros((len(live), 2 * n + 1))
    for k, i in enumerate(live):
        for p in lp.member[lp.demands[i]]:
            pick[k, n + p] = 1.0
    lower = np.concatenate(
        [
            np.full(lp.rows.shape[0], -np.inf),
            np.full(n, -np.inf),
            np.full(len(live), -np.inf),
            np.ones(len(live)),
        ]
    )
    upper = np.concatenate(
        [np.ones(lp.rows.shape[0]), np.zeros(n), np.zeros(len(live)), np.ones(len(live))]
    )
    matrix = vstack([*rows, csr_matrix(pick)]).tocsr()
    c = np.zeros(2 * n + 1)
    c[-1] = -1.0
    integrality = np.concatenate([np.zeros(n), np.ones(n), [0]])
    res = milp(
        c,
        constraints=LinearConstraint(matrix, lower, upper),
        integrality=integrality,
        bounds=Bounds(0.0, np.concatenate([np.full(2 * n, 1.0), [np.inf]])),
    )
    if res.x is None:
        raise QcalcError(f"internal error: the route choice failed ({res.message})")
    chosen = [p for p in range(n) if res.x[n + p] > 0.5]
    return chosen


def allocate(
    scenario: Scenario,
    routes_per_demand: int = 1,
    objective: str = "max-min",
    split: bool = True,
    weights: Mapping[str, float] | None = None,
    pools: Mapping[str, list[CapacityRoute]] | None = None,
) -> Allocation:
    """Share the network among the scenario's demands.

    Parameters
    ----------
    scenario : Scenario
        Nodes, links and demands as deployed (roles as given).
    routes_per_demand : int
        Routes per demand without a ``path``: the k lowest-loss simple paths.
    objective : str
        ``max-min`` (default), ``proportional`` or ``throughput``.
    split : bool
        Whether a demand may spread over several of its routes at once.
    weights : mapping of str to float, optional
        Demand weights of the proportional and throughput objectives (default 1 each).
    pools : mapping, optional
        Routes already evaluated (:func:`demand_routes`).

    Returns
    -------
    Allocation
        Each demand's rate, its routes' parts, its bottleneck resources; resource usage.

    Raises
    ------
    UsageError
        For an unknown objective, a weight of no demand or not > 0, routes < 1.
    ScenarioError
        For a scenario without demands, or a demand whose ends no links join.
    """
    if objective not in OBJECTIVES:
        raise UsageError(f"--objective is {objective!r}; expected one of {', '.join(OBJECTIVES)}")
    if routes_per_demand < 1:
        raise UsageError(f"--routes is {routes_per_demand}; expected a whole number ≥ 1")
    if not scenario.demands:
        raise ScenarioError("has no demands; there is nothing to share", file=scenario.file)
    names = [d.name for d in scenario.demands]
    weights = dict(weights or {})
    for name, weight in weights.items():
        if name not in names:
            raise UsageError(f"--weight names demand {name!r}, which the scenario does not have")
        if not (math.isfinite(weight) and weight > 0):
            raise UsageError(f"--weight {name}={weight:g}; expected a weight > 0")
    if pools is None:
        pools = demand_routes(scenario, routes_per_demand)
    lp = _LP.build(pools)
    notes: list[str] = []
    fixed: list[int] | None = None
    method = "linear programs (HiGHS): "
    if not split and any(len(lp.member[d]) > 1 for d in lp.demands):
        fixed = _choose_routes(lp)
        method += "one route per demand, chosen by the mixed-integer program of the max–min level; "
    w = np.array([weights.get(d, 1.0) for d in lp.demands])
    x: Any
    if not lp.routes:
        x = np.zeros(0)
        method += "no route delivers anything"
    elif objective == "max-min":
        x, solved = max_min(lp, fixed)
        method += f"max–min fair by progressive filling ({solved} LPs)"
    elif objective == "throughput":
        x = throughput(lp, w, fixed)
        method += "weighted throughput Σ w·A (one LP)"
    else:
        start, _ = max_min(lp, fixed)
        x = proportional(lp, w, start, fixed)
        method += "proportionally fair, Σ w·log A by SLSQP from the max–min allocation"
    units = {demand_metric(d) for d in scenario.demands}
    if len(units) > 1 and objective != "throughput":
        notes.append(
            "the demands mix key (bit/s) and pairs (pairs/s); fairness compares the numbers"
        )
    return _allocation(lp, x, pools, objective, split, method, notes, scenario)


def _allocation(
    lp: _LP,
    x: Any,
    pools: Mapping[str, list[CapacityRoute]],
    objective: str,
    split: bool,
    method: str,
    notes: list[str],
    scenario: Scenario,
) -> Allocation:
    x = np.clip(np.asarray(x, dtype=float), 0.0, None)
    carried = {id(r): float(x[p]) * r.rate for p, r in enumerate(lp.routes)}
    used = lp.rows @ x if lp.routes else np.zeros(0)
    usage = {name: float(u) for name, u in zip(lp.resources, used, strict=True)}
    users: dict[str, set[str]] = {}
    for r in lp.routes:
        for name, _ in r.uses:
            users.setdefault(name, set()).add(r.demand)
    # a bottleneck is a resource used up that another demand shares (a route alone uses
    # up all of its own: that is what it delivers alone, not a share)
    full = {name for name, u in usage.items() if u >= 1 - 1e-6 and len(users[name]) > 1}
    shares = []
    for demand in scenario.demands:
        pool = pools[demand.name]
        parts = [(r, carried.get(id(r), 0.0)) for r in pool]
        through = {name for r, a in parts if a > 0 for name, _ in r.uses}
        shares.append(
            Share(
                demand=demand.name,
                metric=demand_metric(demand),
                allocated=sum(a for _, a in parts),
                alone=max((r.rate for r in pool), default=0.0),
                routes=parts,
                bottlenecks=sorted(through & full),
            )
        )
    return Allocation(shares, objective, split, method, usage, notes)


# ----------------------------------------------------------------------------- stages


def shared_result(route: CapacityRoute, allocated: float) -> DemandResult:
    """The demand's evaluation over ``route`` with its rates scaled to its share, and its
    stages and expect checks judged again by qcalc's own verdicts
    (:func:`qcalc.stage.evaluate_stages`, :func:`qcalc.demands.check_expectations`).

    Every key and pair rate of the route is multiplied by ``allocated / rate``: the route
    runs that fraction of the time (or draws that fraction of its hops' key). The
    end-to-end heralding time is 1/rate plus the classical round trip, as
    :func:`qcalc.delivery.deliver` defines it, at the shared rate.
    """
    from qcalc.demands import check_expectations
    from qcalc.stage import evaluate_stages

    base = route.result
    factor = allocated / route.rate if route.rate > 0 else 0.0

    def scaled(rate: Any) -> Any:
        return (
            None
            if rate is None
            else dataclasses.replace(
                rate, key_rate_bps=np.asarray(rate.key_rate_bps, dtype=float) * factor
            )
        )

    result = dataclasses.replace(
        base,
        hop_rates=tuple(scaled(r) for r in base.hop_rates),
        end_to_end=tuple(scaled(r) for r in base.end_to_end),
        key_rate_bps=0.0,
        notes=list(base.notes),
        steps=list(base.steps),
    )
    delivery = base.entanglement
    if delivery is not None and getattr(delivery, "delivers", False):
        raw = np.asarray(delivery.raw_rate_hz, dtype=float) * factor
        with np.errstate(divide="ignore"):
            herald = np.where(raw > 0, 1.0 / np.where(raw > 0, raw, 1.0), np.inf)
        delivery = dataclasses.replace(
            delivery,
            raw_rate_hz=raw,
            rate_hz=np.asarray(delivery.rate_hz, dtype=float) * factor,
            heralding_time_s=herald + 2.0 * np.asarray(delivery.classical_delay_s, dtype=float),
        )
        result.entanglement = delivery
        result.pair_rate_hz = delivery.rate_hz
    result.notes.append(f"shared: this demand gets {factor:.4g} of what the route delivers alone")
    evaluate_stages(route.scenario, result)
    result.checks = check_expectations(result)
    return result
