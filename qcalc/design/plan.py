"""Where to put repeaters and trusted nodes: the cheapest sites that meet every demand.

The path-based integer program of Rabbie, Chakraborty, Avis and Wehner [1]_: every
demand gets a pool of candidate routes, each a fibre path with the sites on it that hold
a device and the role they hold; a route is usable when qcalc's own evaluation chain
(:func:`qcalc.demands.evaluate_demand`) finds that it meets every ``expect`` entry of the
demand. The program then opens sites (binary ``y[v, r]``: node v gets role r at its cost)
and picks one route per demand (binary ``x[d, p]``) so that every route picked runs only
through open sites, a node holds one role, a site serves at most its capacity of
demands, and — on request — every demand keeps a usable open route after any one link
or node fails; it minimises the total cost of the open sites:

.. math::

    \\min \\sum_{v,r} c_{v,r} y_{v,r} \\quad \\text{s.t.} \\quad
    \\sum_p x_{d,p} = 1, \\quad x_{d,p} \\le y_{v,r} \\;\\forall (v,r) \\in p, \\quad
    \\sum_r y_{v,r} \\le 1, \\quad \\sum_{d,p \\ni v} x_{d,p} \\le N_v,

and, for robustness, open-route indicators ``u[d, p] ≤ y[v, r]`` with
:math:`\\sum_{p \\not\\ni f} u_{d,p} \\ge 1` for every link or node ``f`` a route of ``d``
crosses. HiGHS solves it (``scipy.optimize.milp``).

A route's sites are the only nodes on its fibre path that act on the light; the fibre
passes every other node: the links on either side join into one fibre whose length,
attenuation and connector losses add (:func:`joined_link`). Of the routes along one
fibre path with one role, only those whose set of sites holds no smaller usable set are
kept: a superset costs at least as much and serves no demand better.

References
----------
.. [1] J. Rabbie, K. Chakraborty, G. Avis, S. Wehner, "Designing quantum networks using
   preexisting infrastructure", npj Quantum Inf. 8, 5 (2022), Sec. "Path-based
   formulation".
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Any

import numpy as np

from qcalc.demands import DemandResult, evaluate_demand
from qcalc.design.graph import Graph
from qcalc.errors import QcalcError, ScenarioError, UsageError
from qcalc.network import parameter_key
from qcalc.physics.detectors import combined_misalignment_error
from qcalc.records import record
from qcalc.scenario import Candidate, Demand, Link, Scenario

#: Roles a site can be given by a plan (an ``end`` is where a demand starts or stops).
SITE_ROLES = ("trusted_relay", "untrusted_relay", "repeater")
#: Link fields that add when the fibre passes a site without a device (see joined_link).
JOINED_FIELDS = ("length_km", "attenuation_db_per_km", "extra_loss_db", "misalignment_error")
#: Expect fields a single hop can be screened on: a chain delivers no more than its
#: weakest hop (see ``PlanOptions.screen``).
SCREENED_FIELDS = ("key_rate_bps", "pair_rate_hz", "fidelity")
#: Routes above which ``method: auto`` skips the exact program for the greedy one.
AUTO_EXACT_MAX_ROUTES = 50_000


@record(frozen=True)
class PlanOptions:
    """How the plan searches.

    Attributes
    ----------
    max_sites_per_path : int
        Most sites (repeaters or relays) a demand's route may use (N_max of [1]).
    paths_per_demand : int
        Fibre paths tried per demand: the k lowest-loss simple paths (Yen 1971).
    demands_per_site : int or None
        Most demands one site serves (None: no limit). Existing devices count too.
    robust : bool
        Every demand keeps a usable route after any one link or node fails.
    method : str
        ``exact`` (HiGHS), ``greedy`` (the heuristic with its gap to a lower bound), or
        ``auto`` (exact unless the program is too large or HiGHS finds nothing in time).
    time_limit_s : float
        Time HiGHS may take before the best plan found so far is reported with its gap.
    screen : bool
        Skip a route when one of its hops, alone, falls short of a lower bound the demand
        sets on key rate, pair rate or fidelity: a chain is never better than its weakest
        hop (qcalc's trusted chain takes the bottleneck hop; swapping multiplies Werner
        parameters and waits for every link). Off for a demand with distillation.
    """

    max_sites_per_path: int = 3
    paths_per_demand: int = 5
    demands_per_site: int | None = None
    robust: bool = False
    method: str = "auto"
    time_limit_s: float = 60.0
    screen: bool = True


@record(frozen=True)
class Target:
    """One ``expect`` entry of a demand against what a route delivers."""

    field: str
    op: str
    want: float
    got: float
    passed: bool

    @property
    def margin(self) -> float:
        """How far the route is from the bound, in the field's unit: got − want."""
        return self.got - self.want

    @property
    def ratio(self) -> float | None:
        """got / want for rates and fidelities (None for a stage or a zero bound)."""
        if self.field == "stage" or self.want == 0:
            return None
        return self.got / self.want


@record(frozen=True)
class Route:
    """A fibre path of one demand with the sites on it that hold a device.

    Attributes
    ----------
    demand : str
        Name of the demand.
    fibre : tuple of str
        Every node the fibre runs through, end to end.
    role : str or None
        Role of the sites (None: no site, the fibre joins the ends directly).
    sites : tuple of str
        Nodes that act on the light, in order; the others are passed by the fibre.
    loss_db : float
        Channel loss along the fibre. [dB]
    targets : tuple of Target
        The demand's expect entries, evaluated over this route.
    """

    demand: str
    fibre: tuple[str, ...]
    role: str | None
    sites: tuple[str, ...]
    loss_db: float
    targets: tuple[Target, ...] = ()

    @property
    def path(self) -> tuple[str, ...]:
        """The route as qcalc evaluates it: the ends and the sites in between."""
        return (self.fibre[0], *self.sites, self.fibre[-1])

    @property
    def site_roles(self) -> tuple[tuple[str, str], ...]:
        return tuple((s, self.role) for s in self.sites if self.role is not None)

    def elements(self, graph: Graph) -> frozenset[str]:
        """What can fail under it: its links and every node it crosses (ends excluded)."""
        links = {f"link {link.name}" for link in graph.links(self.fibre)}
        return frozenset(links | {f"node {n}" for n in self.fibre[1:-1]})


@record
class Plan:
    """What :func:`plan_network` chose, and how sure it is."""

    sites: dict[str, str]
    cost: float
    routes: dict[str, Route]
    backups: dict[str, list[Route]]
    method: str
    lower_bound: float
    gap: float
    routes_considered: int
    evaluations: int
    seconds: float
    options: PlanOptions
    costs: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def optimal(self) -> bool:
        return self.gap <= 1e-9


# ----------------------------------------------------------------------------- inputs


def located(scenario: Scenario, path: tuple[str | int, ...], message: str) -> ScenarioError:
    """A ScenarioError at ``path`` of the scenario's file (line and column when the
    scenario was read from one)."""
    if scenario.document is not None:
        return scenario.document.error(path, message)
    field = ".".join(str(p) for p in path)
    return ScenarioError(message, file=scenario.file, field=field)


def demand_path(scenario: Scenario, name: str) -> tuple[str | int, ...]:
    """The place of demand ``name`` in the file: ``("demands", index)``."""
    index = next(i for i, d in enumerate(scenario.demands) if d.name == name)
    return ("demands", index)


def site_options(
    scenario: Scenario, candidates: Mapping[str, Candidate]
) -> dict[tuple[str, str], float]:
    """Every (node, role) a route may use and its cost: the candidates' roles at their
    cost, and the devices already installed (nodes with a relay or repeater role that are
    not candidates) at no cost.

    Raises
    ------
    ScenarioError
        For a candidate that is not a node, names a role a site cannot take, has a
        negative cost, or is the end of a demand.
    """
    ends = {e for d in scenario.demands for e in d.ends}
    out: dict[tuple[str, str], float] = {}
    for name, cand in candidates.items():
        where = f"nodes.{name}.candidate"
        if name not in scenario.nodes:
            raise ScenarioError(f"names {name!r}, which is not a node", file=scenario.file)
        if name in ends:
            raise located(
                scenario,
                ("nodes", name, "candidate"),
                f"marks {name}, an end of a demand, as a candidate site; an end holds no "
                "relay or repeater for others (the fibre passes it)",
            )
        if not cand.roles:
            raise ScenarioError(
                "gives no roles; expected one or more of " + ", ".join(SITE_ROLES),
                file=scenario.file,
                field=f"{where}.roles",
            )
        for role in cand.roles:
            if role not in SITE_ROLES:
                raise ScenarioError(
                    f"names role {role!r}; a site can be {', '.join(SITE_ROLES)}",
                    file=scenario.file,
                    field=f"{where}.roles",
                )
        try:
            cost = float(cand.cost)
        except (TypeError, ValueError):
            cost = math.nan
        if not (math.isfinite(cost) and cost >= 0):
            raise ScenarioError(
                f"is {cand.cost!r}; expected a finite cost ≥ 0",
                file=scenario.file,
                field=f"{where}.cost",
            )
        for role in cand.roles:
            out[(name, role)] = cost
    for name, node in scenario.nodes.items():
        if name not in candidates and name not in ends and node.role in SITE_ROLES:
            out[(name, node.role)] = 0.0
    return out


def joined_link(links: Sequence[Link], ends: tuple[str, str]) -> Link | str:
    """One fibre for several links passing sites with no device: what adds, added.

    Lengths add; attenuation is the length-weighted mean (the same total
    :math:`\\sum_i \\alpha_i L_i` in dB); connector and splice losses add; misalignment
    errors combine as concatenated bit-flip channels
    (:func:`qcalc.physics.detectors.combined_misalignment_error`). Every other field must
    be equal on all links (a fibre has one of each).

    Returns
    -------
    Link or str
        The joined link, or why the links cannot be joined.
    """
    if len(links) == 1:
        return links[0]
    for link in links:
        if link.channel != "fibre" or link.length_km is None:
            return f"link {link.name} is not a fibre with a length; only fibre is passed through"
    first = links[0]
    for f in dataclasses.fields(Link):
        if f.name in ("name", "ends", *JOINED_FIELDS):
            continue
        key = parameter_key(getattr(first, f.name))
        for link in links[1:]:
            if parameter_key(getattr(link, f.name)) != key:
                return (
                    f"links {first.name} and {link.name} differ in {f.name}; one fibre "
                    "through a site without a device has one"
                )
    lengths = [np.asarray(link.length_km, dtype=float) for link in links]
    total = sum(lengths, np.asarray(0.0))
    attenuation = sum(
        (
            np.asarray(link.attenuation_db_per_km, dtype=float) * length
            for link, length in zip(links, lengths, strict=True)
        ),
        np.asarray(0.0),
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(
            total > 0,
            attenuation / np.where(total > 0, total, 1.0),
            np.asarray(first.attenuation_db_per_km, dtype=float),
        )
    names = [link.name for link in links]
    return dataclasses.replace(
        first,
        name=f"{ends[0]}-{ends[1]} via " + ", ".join(names),
        ends=ends,
        length_km=_plain(total),
        attenuation_db_per_km=_plain(alpha),
        extra_loss_db=_plain(
            sum((np.asarray(link.extra_loss_db, dtype=float) for link in links), np.asarray(0.0))
        ),
        misalignment_error=_plain(
            combined_misalignment_error([link.misalignment_error for link in links])
        ),
    )


def _plain(value: Any) -> Any:
    array = np.asarray(value, dtype=float)
    return float(f"{float(array):.12g}") if array.ndim == 0 else array


# ----------------------------------------------------------------------------- judging


class Judge:
    """Builds each route's scenario and asks qcalc whether it meets the demand.

    A route's scenario holds the demand's ends, the route's sites with their role, and
    one link per hop (the fibre between consecutive sites, joined where it passes other
    nodes); its one demand is the demand with ``path`` set to the route.
    """

    def __init__(self, scenario: Scenario, graph: Graph) -> None:
        self.scenario = scenario
        self.graph = graph
        self.evaluations = 0
        self.unjoinable: dict[str, str] = {}
        #: Per demand, the first hop the screen found short of a target (for messages).
        self.hop_misses: dict[str, tuple[int, str]] = {}
        self._hops: dict[tuple[Any, ...], bool] = {}
        self._links: dict[tuple[str, ...], Link | str] = {}

    def hop_link(self, segment: tuple[str, ...]) -> Link | str:
        link = self._links.get(segment)
        if link is None:
            link = self._links[segment] = joined_link(
                self.graph.links(segment), (segment[0], segment[-1])
            )
            if isinstance(link, str):
                self.unjoinable[link] = link
        return link

    def variant(
        self, demand: Demand, fibre: tuple[str, ...], role: str | None, sites: tuple[str, ...]
    ) -> Scenario | None:
        """The scenario of one route (None when a hop cannot be joined into one fibre)."""
        points = [0, *(fibre.index(s) for s in sites), len(fibre) - 1]
        links = []
        for i, j in zip(points, points[1:], strict=False):
            link = self.hop_link(fibre[i : j + 1])
            if isinstance(link, str):
                return None
            links.append(link)
        path = tuple(fibre[i] for i in points)
        nodes = {}
        for name in path:
            node = self.scenario.nodes[name]
            if name in sites and role is not None:
                node = dataclasses.replace(node, role=role, role_given=True)
            nodes[name] = node
        return dataclasses.replace(
            self.scenario,
            nodes=nodes,
            links=tuple(links),
            demands=(dataclasses.replace(demand, path=path),),
        )

    def evaluate(self, scenario: Scenario) -> DemandResult | str:
        """qcalc's evaluation of the route's one demand; the reason if it cannot run."""
        self.evaluations += 1
        try:
            return evaluate_demand(scenario, scenario.demands[0])
        except QcalcError as exc:
            return str(exc)

    def hop_passes(
        self, demand: Demand, segment: tuple[str, ...], roles: tuple[str | None, str | None]
    ) -> bool:
        """Whether one hop, alone, meets the demand's lower bounds on key rate, pair rate
        and fidelity (the screen of :class:`PlanOptions`)."""
        checks = [c for c in demand.expect if c.field in SCREENED_FIELDS and c.op in (">=", ">")]
        if not checks or demand.distillation is not None:
            return True
        key = (demand.name, segment, roles)
        known = self._hops.get(key)
        if known is not None:
            return known
        link = self.hop_link(segment)
        if isinstance(link, str):
            self._hops[key] = False
            return False
        ends = (segment[0], segment[-1])
        nodes = {}
        for name, role in zip(ends, roles, strict=True):
            node = self.scenario.nodes[name]
            nodes[name] = node if role is None else dataclasses.replace(node, role=role)
        one = dataclasses.replace(demand, ends=ends, path=ends)
        result = self.evaluate(
            dataclasses.replace(self.scenario, nodes=nodes, links=(link,), demands=(one,))
        )
        if isinstance(result, str):
            self._hops[key] = False
            return False
        ok = True
        for check in checks:
            got = float(np.min(np.asarray(getattr(result, check.field), dtype=float)))
            if not check.passes(got):
                ok = False
                known_miss = self.hop_misses.get(demand.name)
                if known_miss is None or len(segment) < known_miss[0]:
                    self.hop_misses[demand.name] = (
                        len(segment),
                        f"hop {' → '.join(segment)} alone reaches {check.field} "
                        f"{got:.4g} (wants {check.op} {check.want:.4g})",
                    )
        self._hops[key] = ok
        return ok


def _targets(result: DemandResult) -> tuple[Target, ...]:
    return tuple(
        Target(c.check.field, c.check.op, c.check.want, c.got, c.passed) for c in result.checks
    )


@record
class _Closest:
    """The route of a demand that came nearest to its targets, for the error message."""

    score: float = -math.inf
    route: Route | None = None
    reason: str = ""


def _score(targets: Sequence[Target]) -> float:
    """How near a route is: the worst ratio got/want over the lower bounds it misses."""
    worst = 1.0
    for t in targets:
        if t.passed:
            continue
        if t.field == "stage":
            worst = min(worst, 0.5 * max(t.got, 0.0) / max(t.want, 1.0))
        elif t.want > 0 and t.op in (">=", ">"):
            worst = min(worst, max(t.got, 0.0) / t.want)
        else:
            worst = min(worst, 0.0)
    return worst


def enumerate_routes(
    scenario: Scenario,
    demand: Demand,
    options: Mapping[tuple[str, str], float],
    settings: PlanOptions,
    judge: Judge,
) -> tuple[list[Route], _Closest, int]:
    """The usable routes of one demand with inclusion-minimal sets of sites.

    Returns
    -------
    list of Route, _Closest, int
        The usable routes; the nearest miss (for the error message when none is usable);
        how many fibre paths were tried.
    """
    graph = judge.graph
    start, goal = demand.ends
    if demand.path is not None:
        fibres = [tuple(demand.path)]
    else:
        fibres = [p for _, p in graph.k_shortest(start, goal, settings.paths_per_demand)]
        if not fibres:
            raise located(
                scenario,
                demand_path(scenario, demand.name),
                f"no chain of links joins {start!r} and {goal!r}; add a link or check the ends",
            )
    roles = sorted({r for (_, r) in options})
    routes: list[Route] = []
    closest = _Closest()
    screen = settings.screen

    def judge_route(fibre: tuple[str, ...], role: str | None, sites: tuple[str, ...]) -> bool:
        variant = judge.variant(demand, fibre, role, sites)
        if variant is None:
            return False
        result = judge.evaluate(variant)
        route = Route(demand.name, fibre, role, sites, graph.loss_db(fibre))
        if isinstance(result, str):
            if closest.route is None and not closest.reason:
                closest.reason = result
            return False
        route = dataclasses.replace(route, targets=_targets(result))
        if result.passed:
            routes.append(route)
            return True
        score = _score(route.targets)
        if score > closest.score:
            closest.score, closest.route = score, route
        return False

    for fibre in fibres:
        if judge_route(fibre, None, ()):
            continue  # no site needed: any site would only add cost
        inner = fibre[1:-1]
        for role in roles:
            usable = [n for n in inner if (n, role) in options]
            minimal: list[frozenset[str]] = []
            for size in range(1, min(settings.max_sites_per_path, len(usable)) + 1):
                for combo in itertools.combinations(usable, size):
                    chosen = frozenset(combo)
                    if any(m <= chosen for m in minimal):
                        continue
                    if screen and not _hops_pass(demand, fibre, combo, role, judge):
                        continue
                    if judge_route(fibre, role, combo):
                        minimal.append(chosen)
    return routes, closest, len(fibres)


def _hops_pass(
    demand: Demand, fibre: tuple[str, ...], sites: tuple[str, ...], role: str, judge: Judge
) -> bool:
    points = [0, *(fibre.index(s) for s in sites), len(fibre) - 1]
    for i, j in zip(points, points[1:], strict=False):
        roles = (role if i > 0 else None, role if j < len(fibre) - 1 else None)
        if not judge.hop_passes(demand, fibre[i : j + 1], roles):
            return False
    return True


# ----------------------------------------------------------------------------- solving


@record
class _Program:
    """The integer program in arrays: sites, then routes, then (robust) open-route flags."""

    sites: list[tuple[str, str]]
    costs: list[float]
    routes: list[Route]
    demand_routes: dict[str, list[int]]
    failures: dict[str, dict[str, list[int]]]
    robust: bool
    capacity: int | None

    def matrices(self) -> tuple[Any, Any, Any, Any]:
        from scipy.sparse import coo_matrix

        s, r = len(self.sites), len(self.routes)
        n = s + r + (r if self.robust else 0)
        index = {site: i for i, site in enumerate(self.sites)}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        lower: list[float] = []
        upper: list[float] = []

        def row(entries: list[tuple[int, float]], lo: float, hi: float) -> None:
            k = len(lower)
            for c, v in entries:
                rows.append(k)
                cols.append(c)
                vals.append(v)
            lower.append(lo)
            upper.append(hi)

        for chosen in self.demand_routes.values():
            row([(s + p, 1.0) for p in chosen], 1.0, 1.0)
        for p, route in enumerate(self.routes):
            for site in route.site_roles:
                row([(s + p, 1.0), (index[site], -1.0)], -np.inf, 0.0)
                if self.robust:
                    row([(s + r + p, 1.0), (index[site], -1.0)], -np.inf, 0.0)
        by_node: dict[str, list[int]] = {}
        for i, (node, _) in enumerate(self.sites):
            by_node.setdefault(node, []).append(i)
        for members in by_node.values():
            if len(members) > 1:
                row([(i, 1.0) for i in members], -np.inf, 1.0)
        if self.capacity is not None:
            serving: dict[str, list[int]] = {}
            for p, route in enumerate(self.routes):
                for node in route.sites:
                    serving.setdefault(node, []).append(p)
            for served in serving.values():
                if len(served) > self.capacity:
                    row([(s + p, 1.0) for p in served], -np.inf, float(self.capacity))
        if self.robust:
            for failures in self.failures.values():
                for avoiding in failures.values():
                    row([(s + r + p, 1.0) for p in avoiding], 1.0, np.inf)
        matrix = coo_matrix((vals, (rows, cols)), shape=(len(lower), n)).tocsr()
        c = np.zeros(n)
        c[:s] = self.costs
        return c, matrix, np.asarray(lower), np.asarray(upper)

    def solve(self, integral: bool, time_limit_s: float) -> Any:
        from scipy.optimize import Bounds, LinearConstraint, milp

        c, matrix, lower, upper = self.matrices()
        integrality = np.ones(c.size) if integral else np.zeros(c.size)
        return milp(
            c,
            constraints=LinearConstraint(matrix, lower, upper),
            integrality=integrality,
            bounds=Bounds(0.0, 1.0),
            options={"time_limit": time_limit_s, "mip_rel_gap": 1e-9, "disp": False},
        )


def _greedy(program: _Program) -> tuple[set[int], dict[str, int], list[int]] | None:
    """Cheapest route first: open the sites of the route that adds least cost (fewest
    sites, then least loss, on ties), serve every demand that is now served for free,
    repeat; when robust, then open the cheapest route avoiding each failure not yet
    covered. None when it gets stuck (a role clash or a full site blocks every route)."""
    index = {site: i for i, site in enumerate(program.sites)}
    opened: set[int] = set()
    load: Counter[str] = Counter()
    role_of: dict[str, str] = {}
    cap = program.capacity

    def missing(p: int, serving: bool) -> set[int] | None:
        """Sites route p still needs; None when it cannot be opened (role or capacity)."""
        need: set[int] = set()
        for node, role in program.routes[p].site_roles:
            if role_of.get(node, role) != role:
                return None
            if serving and cap is not None and load[node] >= cap:
                return None
            if index[(node, role)] not in opened:
                need.add(index[(node, role)])
        return need

    def open_sites(sites: set[int]) -> None:
        for i in sites:
            opened.add(i)
            role_of[program.sites[i][0]] = program.sites[i][1]

    def cheapest(routes: list[int], serving: bool) -> tuple[set[int], int] | None:
        best: tuple[float, int, float, int] | None = None
        best_need: set[int] = set()
        for p in routes:
            need = missing(p, serving)
            if need is None:
                continue
            key = (sum(program.costs[i] for i in need), len(need), program.routes[p].loss_db, p)
            if best is None or key < best:
                best, best_need = key, need
        return None if best is None else (best_need, best[3])

    primary: dict[str, int] = {}
    while len(primary) < len(program.demand_routes):
        waiting = [
            p for d, members in program.demand_routes.items() if d not in primary for p in members
        ]
        found = cheapest(waiting, serving=True)
        if found is None:
            return None
        need, p = found
        open_sites(need)
        primary[program.routes[p].demand] = p
        load.update(program.routes[p].sites)
        for d, members in program.demand_routes.items():
            if d not in primary:
                free = [q for q in members if missing(q, serving=True) == set()]
                if free:
                    primary[d] = free[0]
                    load.update(program.routes[free[0]].sites)
    backups: list[int] = []
    for failures in program.failures.values():
        for avoiding in failures.values():
            if any(missing(p, serving=False) == set() for p in avoiding):
                continue
            found = cheapest(avoiding, serving=False)
            if found is None:
                return None
            open_sites(found[0])
            backups.append(found[1])
    return opened, primary, backups


def _lp_bound(program: _Program, time_limit_s: float) -> float:
    """A lower bound on the cost: the LP relaxation's optimum, or the cost of the dearest
    demand's cheapest route where that is higher (every demand needs one route open)."""
    res = program.solve(integral=False, time_limit_s=time_limit_s)
    relaxed = float(res.fun) if res.status == 0 else 0.0
    index = {site: i for i, site in enumerate(program.sites)}
    cheapest = max(
        min(sum(program.costs[index[s]] for s in program.routes[p].site_roles) for p in members)
        for members in program.demand_routes.values()
    )
    return max(relaxed, cheapest)


# ----------------------------------------------------------------------------- the plan


def candidates_of(scenario: Scenario) -> dict[str, Candidate]:
    """The nodes the scenario marks ``candidate: {roles, cost}``."""
    return {n: node.candidate for n, node in scenario.nodes.items() if node.candidate is not None}


def options_of(scenario: Scenario, **overrides: Any) -> PlanOptions:
    """The scenario's ``plan:`` block as :class:`PlanOptions`; ``overrides`` that are not
    None win (the command-line options)."""
    given = scenario.plan
    values: dict[str, Any] = {
        "max_sites_per_path": int(given.max_sites_per_path),
        "paths_per_demand": int(given.paths_per_demand),
        "demands_per_site": (
            None if given.demands_per_site is None else int(given.demands_per_site)
        ),
        "robust": bool(given.robust),
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return PlanOptions(**values)


def plan_network(
    scenario: Scenario,
    candidates: Mapping[str, Candidate] | None = None,
    settings: PlanOptions | None = None,
) -> Plan:
    """The cheapest sites and roles that meet every demand's ``expect`` entries.

    Parameters
    ----------
    scenario : Scenario
        The fibre graph (nodes, links) and the demands with their targets.
    candidates : mapping of str to Candidate, optional
        Sites where a device may go, with the roles allowed and the cost (default: the
        nodes the scenario marks ``candidate``).
    settings : PlanOptions, optional
        Search and program options (default: the scenario's ``plan:`` block).

    Returns
    -------
    Plan
        Sites opened with their roles, total cost, each demand's route and its margins,
        the method, the lower bound and the optimality gap.

    Raises
    ------
    ScenarioError
        No candidates, a demand without targets, a demand no route can meet (named with
        the nearest miss and what it misses), or no plan within the capacity or
        robustness asked for.
    """
    settings = settings or options_of(scenario)
    candidates = candidates_of(scenario) if candidates is None else candidates
    started = time.perf_counter()
    if settings.method not in ("auto", "exact", "greedy"):
        raise UsageError(f"--method is {settings.method!r}; expected auto, exact or greedy")
    if settings.max_sites_per_path < 0 or settings.paths_per_demand < 1:
        raise UsageError("max sites per path must be ≥ 0 and paths per demand ≥ 1")
    if not scenario.demands:
        raise ScenarioError("has no demands; a plan meets demands", file=scenario.file)
    for demand in scenario.demands:
        if not demand.expect:
            raise located(
                scenario,
                demand_path(scenario, demand.name),
                f"demand {demand.name!r} gives no expect block; a plan needs the targets it "
                "must meet (e.g. expect: {stage: '>= 1', key_rate_bps: '>= 1000'})",
            )
    options = site_options(scenario, candidates)
    if not options:
        raise ScenarioError(
            "marks no candidate sites and has no relay or repeater to use; mark nodes "
            "with candidate: {roles: [repeater], cost: 1}",
            file=scenario.file,
        )
    graph = Graph(scenario)
    judge = Judge(scenario, graph)
    pools: dict[str, list[Route]] = {}
    for demand in scenario.demands:
        routes, closest, fibres = enumerate_routes(scenario, demand, options, settings, judge)
        if not routes:
            raise located(
                scenario,
                demand_path(scenario, demand.name),
                _no_route(demand, closest, fibres, settings, judge),
            )
        pools[demand.name] = routes
    program = _build(pools, options, graph, settings)
    plan = _solve(program, settings, scenario)
    plan.routes_considered = len(program.routes)
    plan.evaluations = judge.evaluations
    plan.seconds = time.perf_counter() - started
    plan.costs = {node: options[(node, role)] for node, role in plan.sites.items()}
    if judge.unjoinable:
        plan.notes.extend(sorted(judge.unjoinable)[:3])
    if scenario.uncertain:
        plan.notes.append(
            f"{len(scenario.uncertain)} uncertain input(s) taken at their medians: the plan "
            "meets the targets at the median; `qcalc stage --samples N` on the planned file "
            "gives the probability"
        )
    return plan


def _no_route(
    demand: Demand, closest: _Closest, fibres: int, settings: PlanOptions, judge: Judge
) -> str:
    what = (
        f"demand {demand.name!r} cannot be met by any route: {fibres} fibre path"
        f"{'s' if fibres != 1 else ''} tried with up to {settings.max_sites_per_path} sites each"
    )
    route = closest.route
    if route is None:
        why = closest.reason or "no route between its ends could be evaluated"
        return f"{what}; {why}"
    misses = "; ".join(
        f"{t.field} {t.got:.4g} (wants {t.op} {t.want:.4g})" for t in route.targets if not t.passed
    )
    via = f"with {route.role}s at {', '.join(route.sites)}" if route.sites else "with no site"
    hop = judge.hop_misses.get(demand.name)
    screened = f"; every route with sites has a hop too weak alone, e.g. {hop[1]}" if hop else ""
    return (
        f"{what}; the nearest, {' → '.join(route.fibre)} {via}, reaches {misses}{screened}. "
        "Allow more sites per path (--max-sites), more paths (--paths), or mark more "
        "candidate sites"
    )


def _build(
    pools: Mapping[str, list[Route]],
    options: Mapping[tuple[str, str], float],
    graph: Graph,
    settings: PlanOptions,
) -> _Program:
    routes = [r for pool in pools.values() for r in pool]
    sites = sorted({s for r in routes for s in r.site_roles})
    demand_routes: dict[str, list[int]] = {}
    for p, route in enumerate(routes):
        demand_routes.setdefault(route.demand, []).append(p)
    failures: dict[str, dict[str, list[int]]] = {}
    if settings.robust:
        for d, chosen in demand_routes.items():
            elements = {p: routes[p].elements(graph) for p in chosen}
            every = set().union(*elements.values())
            failures[d] = {}
            for f in sorted(every):
                avoiding = [p for p in chosen if f not in elements[p]]
                if not avoiding:
                    raise located(
                        graph.scenario,
                        demand_path(graph.scenario, d),
                        f"demand {d!r}: every usable route crosses {f}, so no plan keeps the "
                        "demand served when it fails; add fibre around it, try more paths "
                        "(--paths) or drop --robust",
                    )
                failures[d][f] = avoiding
    return _Program(
        sites=sites,
        costs=[options[s] for s in sites],
        routes=routes,
        demand_routes=demand_routes,
        failures=failures,
        robust=settings.robust,
        capacity=settings.demands_per_site,
    )


def _solve(program: _Program, settings: PlanOptions, scenario: Scenario) -> Plan:
    method = settings.method
    if method == "auto" and len(program.routes) > AUTO_EXACT_MAX_ROUTES:
        method = "greedy"
    chosen: set[int]
    primary: dict[str, int]
    extra: list[int] = []
    if method != "greedy":
        res = program.solve(integral=True, time_limit_s=settings.time_limit_s)
        if res.x is not None and res.status in (0, 1):
            x = np.round(res.x).astype(int)
            s, r = len(program.sites), len(program.routes)
            chosen = {i for i in range(s) if x[i]}
            primary = {}
            for d, members in program.demand_routes.items():
                primary[d] = next(p for p in members if x[s + p])
            if program.robust:
                extra = [p for p in range(r) if x[s + r + p]]
            bound = float(getattr(res, "mip_dual_bound", res.fun) or 0.0)
            label = (
                "exact: mixed-integer program (HiGHS), optimal"
                if res.status == 0
                else f"mixed-integer program (HiGHS) stopped at the {settings.time_limit_s:g} s "
                "time limit: best plan found"
            )
            return _finish(program, chosen, primary, extra, bound, label, settings)
        if res.status == 2:
            raise ScenarioError(_infeasible(program), file=scenario.file)
        if method == "exact":
            raise ScenarioError(
                f"the mixed-integer program found no plan within {settings.time_limit_s:g} s "
                f"({res.message}); raise --time-limit or use --method greedy",
                file=scenario.file,
            )
    found = _greedy(program)
    if found is None:
        raise ScenarioError(
            "the greedy heuristic found no plan: " + _infeasible(program), file=scenario.file
        )
    chosen, primary, extra = found
    bound = _lp_bound(program, settings.time_limit_s)
    return _finish(
        program,
        chosen,
        primary,
        extra,
        bound,
        "heuristic: greedy (cheapest route per demand served), gap to a lower bound",
        settings,
    )


def _infeasible(program: _Program) -> str:
    limits = []
    if program.capacity is not None:
        limits.append(f"at most {program.capacity} demands per site")
    if program.robust:
        limits.append("a usable route after any one failure")
    if not limits:
        return "no combination of sites serves every demand with one role per node"
    return (
        "every demand has a usable route, but no choice of sites gives "
        + " and ".join(limits)
        + "; mark more candidates, allow more paths (--paths) or relax the limits"
    )


def _finish(
    program: _Program,
    chosen: set[int],
    primary: dict[str, int],
    extra: list[int],
    bound: float,
    label: str,
    settings: PlanOptions,
) -> Plan:
    opened = {program.sites[i] for i in chosen}
    if program.capacity is None:
        # Any route whose sites are all open serves: report the one with least loss.
        for d, members in program.demand_routes.items():
            open_routes = [p for p in members if set(program.routes[p].site_roles) <= opened]
            primary[d] = min(open_routes, key=lambda p: (program.routes[p].loss_db, p))
    backups: dict[str, list[Route]] = {}
    if program.robust:
        for d, members in program.demand_routes.items():
            backups[d] = [
                program.routes[p]
                for p in members
                if p != primary[d] and set(program.routes[p].site_roles) <= opened
            ]
    used = {s for p in [*primary.values(), *extra] for s in program.routes[p].site_roles}
    opened &= used  # a site that no route picked uses (one of no cost) stays closed
    cost = float(sum(program.costs[i] for i, s in enumerate(program.sites) if s in opened))
    bound = min(bound, cost)
    gap = 0.0 if cost <= 0 else max(0.0, (cost - bound) / cost)
    return Plan(
        sites=dict(sorted(opened)),
        cost=cost,
        routes={d: program.routes[p] for d, p in primary.items()},
        backups=backups,
        method=label,
        lower_bound=bound,
        gap=gap,
        routes_considered=len(program.routes),
        evaluations=0,
        seconds=0.0,
        options=settings,
    )


# ----------------------------------------------------------------------------- output


def planned_data(scenario: Scenario, plan: Plan) -> dict[str, Any]:
    """The scenario file with the plan applied, as plain data for YAML.

    Each opened site takes its role (its ``candidate`` block goes: it is built); every
    other ``candidate`` block and the ``plan:`` block go too (the result is a network to
    evaluate, not a plan to search); a field a site kept for a role it did not get and
    that its own role refuses (``bsm_success_probability``,
    ``interference_misalignment_error``) goes with them. Each demand gets the ``path``
    chosen; a hop whose fibre passes sites without a device becomes one link
    (:func:`joined_link`) named ``a-b via …``.

    Raises
    ------
    UsageError
        For a scenario built in code (no file to start from).
    """
    import copy

    if scenario.document is None:
        raise UsageError("the scenario was built in code; a planned file starts from a file")
    data: dict[str, Any] = copy.deepcopy(scenario.document.data)
    data.pop("plan", None)
    for name, body in data["nodes"].items():
        if not isinstance(body, dict):
            continue
        if body.pop("candidate", None) is None:
            continue
        if name in plan.sites:
            body["role"] = plan.sites[name]
        role = body.get("role", "end")
        if role != "repeater":
            body.pop("bsm_success_probability", None)
        if role != "untrusted_relay":
            body.pop("interference_misalignment_error", None)
    graph = Graph(scenario)
    raw_links = data["links"]
    position = {id(link): i for i, link in enumerate(scenario.links)}
    names = {link.name for link in scenario.links}
    for route in plan.routes.values():
        points = [0, *(route.fibre.index(s) for s in route.sites), len(route.fibre) - 1]
        for i, j in zip(points, points[1:], strict=False):
            if j - i < 2:
                continue
            segment = route.fibre[i : j + 1]
            links = graph.links(segment)
            joined = joined_link(links, (segment[0], segment[-1]))
            if isinstance(joined, str) or joined.name in names:
                continue
            names.add(joined.name)
            first = raw_links[position[id(links[0])]]
            entry = {
                k: v
                for k, v in (first.items() if isinstance(first, dict) else ())
                if k not in ("name", "ends", *JOINED_FIELDS)
            }
            entry = {
                "name": joined.name,
                "ends": [segment[0], segment[-1]],
                **{k: _plain(getattr(joined, k)) for k in JOINED_FIELDS},
                **entry,
            }
            raw_links.append(entry)
    for raw, demand in zip(data.get("demands", []), scenario.demands, strict=True):
        if isinstance(raw, dict):
            raw["path"] = list(plan.routes[demand.name].path)
    return data


def schema_modeline(source: str | None, target: str | None) -> str:
    """The ``# yaml-language-server`` line for a file written at ``target``: the schema the
    source file names, or the one qcalc ships, as a path from the target's folder."""
    import os

    import qcalc

    schema = os.path.join(os.path.dirname(qcalc.__file__), "data", "scenario.schema.json")
    if source is not None:
        try:
            with open(source, encoding="utf-8-sig") as handle:
                first = handle.readline().strip()
        except OSError:
            first = ""
        marker = "# yaml-language-server: $schema="
        if first.startswith(marker):
            named = first[len(marker) :].strip()
            if "://" in named:
                return first
            schema = os.path.join(os.path.dirname(os.path.abspath(source)), named)
    here = os.path.dirname(os.path.abspath(target)) if target else os.getcwd()
    return f"# yaml-language-server: $schema={os.path.relpath(schema, here)}"


def planned_text(scenario: Scenario, plan: Plan, target: str | None = None) -> str:
    """:func:`planned_data` as YAML: the modeline, a comment saying what was planned, the
    scenario (keys in the order written)."""
    import yaml

    sites = ", ".join(f"{n} ({r})" for n, r in plan.sites.items()) or "no site"
    lines = [
        schema_modeline(scenario.file, target),
        f"# Planned by qcalc plan from {scenario.file}: {sites}; cost {plan.cost:g}.",
        f"# Method: {plan.method}.",
    ]

    class Dumper(yaml.SafeDumper):
        """Long texts folded (``>``), short lists and mappings on one line."""

    def text(dumper: Any, value: str) -> Any:
        style = ">" if len(value) > 80 else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    def listing(dumper: Any, value: list[Any]) -> Any:
        short = all(not isinstance(v, (dict, list)) and len(str(v)) <= 40 for v in value)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=short)

    Dumper.add_representer(str, text)
    Dumper.add_representer(list, listing)
    body = yaml.dump(
        planned_data(scenario, plan),
        Dumper=Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=90,
        default_flow_style=None,
    )
    return "\n".join(lines) + "\n" + body


def check_planned(text: str, file: str) -> list[DemandResult]:
    """Evaluate a planned file as ``qcalc batch`` would; every demand must pass.

    Raises
    ------
    QcalcError
        When a demand of the planned file misses its targets (a bug: every route chosen
        was evaluated alone and passed).
    """
    from qcalc.demands import evaluate_scenario
    from qcalc.scenario import parse_scenario

    planned = parse_scenario(text, file)
    results = evaluate_scenario(planned)
    failed = [r.demand.name for r in results if not r.passed]
    if failed:
        raise QcalcError(
            f"internal error: the planned scenario misses the targets of {', '.join(failed)}; "
            "please report it with the input file"
        )
    return results
