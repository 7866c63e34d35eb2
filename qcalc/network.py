"""Routing a demand through the topology of a scenario."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from weakref import WeakKeyDictionary

import numpy as np

from qcalc.errors import ScenarioError
from qcalc.limits import LIMITS
from qcalc.linkbudget import LinkBudget, link_budget
from qcalc.scenario import Demand, Link, Scenario

#: Routing weight of a measured link that gives no length: it carries entanglement but no
#: light of anyone else's, so a route uses it only where nothing else joins its ends. [dB]
MEASURED_LINK_WEIGHT_DB = 1e6


def hop_sender(scenario: Scenario, a: str, b: str) -> str:
    """Which end of hop a–b sends: the one with the source when only the other end can
    detect; otherwise ``a`` (the end nearer the route's start). Satellite links are
    oriented by their ``direction`` whatever this says."""
    na, nb = scenario.nodes[a], scenario.nodes[b]
    if na.source is None and nb.source is not None and na.detector is not None:
        return b
    return a


#: Budgets already computed for a scenario (routing and hops need the same ones).
_BUDGETS: WeakKeyDictionary[Scenario, dict[tuple[str, str, bool], LinkBudget]] = WeakKeyDictionary()


def cached_budget(link: Link, scenario: Scenario, sender: str, over_pass: bool) -> LinkBudget:
    """:func:`link_budget`, computed once per scenario, link, sender and pass flag."""
    over_pass = over_pass and link.channel == "satellite" and link.min_elevation_deg is not None
    memo = _BUDGETS.setdefault(scenario, {})
    key = (link.name, sender, over_pass)
    if key not in memo:
        memo[key] = link_budget(link, scenario, sender=sender, over_pass=over_pass)
    return memo[key]


def _weight_db(link: Link, scenario: Scenario) -> float:
    """Routing weight of a link: its channel loss in dB (median over a sweep's values)."""
    if link.length_km is None and link.channel != "satellite":
        return MEASURED_LINK_WEIGHT_DB
    budget = cached_budget(link, scenario, hop_sender(scenario, *link.ends), False)
    value = float(np.median(np.asarray(budget.channel_loss_db, dtype=float)))
    return value if np.isfinite(value) else 1e300


def lowest_loss_route(scenario: Scenario, start: str, goal: str) -> tuple[str, ...]:
    """The route from ``start`` to ``goal`` with the least total channel loss in dB.

    Dijkstra's algorithm (E. W. Dijkstra, Numer. Math. 1, 269 (1959)) on the graph whose
    edge weights are the links' channel losses — losses in dB add along a route, so the
    shortest path is the highest-transmittance one. A heap keeps it O(E log V) in pure
    Python; scipy.sparse.csgraph would give the same answer but costs ~0.2 s to import.

    Raises
    ------
    ScenarioError
        When no route joins the two nodes.
    """
    weights: dict[str, list[tuple[float, str]]] = {name: [] for name in scenario.nodes}
    for link in scenario.links:
        w = _weight_db(link, scenario)
        a, b = link.ends
        weights[a].append((w, b))
        weights[b].append((w, a))
    best = {start: 0.0}
    previous: dict[str, str] = {}
    queue = [(0.0, start)]
    while queue:
        dist, node = heapq.heappop(queue)
        if node == goal:
            break
        if dist > best.get(node, float("inf")):
            continue
        for w, other in weights[node]:
            new = dist + w
            if new < best.get(other, float("inf")):
                best[other] = new
                previous[other] = node
                heapq.heappush(queue, (new, other))
    if goal not in best:
        raise ScenarioError(
            f"no chain of links joins {start!r} and {goal!r}; add a link or check the ends",
            file=scenario.file,
        )
    route = [goal]
    while route[-1] != start:
        route.append(previous[route[-1]])
    return tuple(reversed(route))


def demand_route(scenario: Scenario, demand: Demand) -> tuple[str, ...]:
    """The demand's ``path`` if given, else the lowest-loss route between its ends.

    Raises
    ------
    ScenarioError
        When no route joins the ends, or the route has more hops than the limit
        ``path_hops`` of :mod:`qcalc.limits` (checked before any hop is evaluated).
    """
    route = demand.path if demand.path is not None else lowest_loss_route(scenario, *demand.ends)
    entry = LIMITS["path_hops"]
    if len(route) - 1 > entry.value:
        raise ScenarioError(
            entry.refusal(len(route) - 1, f"the route of demand {demand.name!r} has "),
            file=scenario.file,
        )
    return route


#: The links joining each pair of nodes, per scenario, in the order given (built once:
#: looking up every hop of a 10⁴-hop route by scanning every link took minutes).
_PARALLEL: WeakKeyDictionary[Scenario, dict[frozenset[str], list[Link]]] = WeakKeyDictionary()


def links_joining(scenario: Scenario, a: str, b: str) -> list[Link]:
    """Every link joining ``a`` and ``b`` directly, in the order given (O(1) per call)."""
    table = _PARALLEL.get(scenario)
    if table is None:
        table = _PARALLEL[scenario] = {}
        for link in scenario.links:
            table.setdefault(frozenset(link.ends), []).append(link)
    return table.get(frozenset((a, b)), [])


def best_link(scenario: Scenario, a: str, b: str) -> Link:
    """The lowest-loss link joining ``a`` and ``b`` (several parallel links are allowed)."""
    candidates = links_joining(scenario, a, b)
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise ScenarioError(
            f"no link joins {a!r} and {b!r}; the route needs one", file=scenario.file
        )
    return min(candidates, key=lambda link: _weight_db(link, scenario))


def hop_budgets(scenario: Scenario, route: Sequence[str]) -> tuple[LinkBudget, ...]:
    """The budget of every hop along ``route``, each sent by :func:`hop_sender`."""
    return tuple(
        cached_budget(
            best_link(scenario, a, b), scenario, sender=hop_sender(scenario, a, b), over_pass=True
        )
        for a, b in zip(route, route[1:], strict=False)
    )
