"""Routing a demand through the topology of a scenario."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from weakref import WeakKeyDictionary

import numpy as np

from qcalc.errors import ScenarioError
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
    """The demand's ``path`` if given, else the lowest-loss route between its ends."""
    if demand.path is not None:
        return demand.path
    return lowest_loss_route(scenario, *demand.ends)


def best_link(scenario: Scenario, a: str, b: str) -> Link:
    """The lowest-loss link joining ``a`` and ``b`` (several parallel links are allowed)."""
    candidates = [link for link in scenario.links if set(link.ends) == {a, b}]
    return min(candidates, key=lambda link: _weight_db(link, scenario))


def hop_budgets(scenario: Scenario, route: Sequence[str]) -> tuple[LinkBudget, ...]:
    """The budget of every hop along ``route``, each sent by :func:`hop_sender`."""
    return tuple(
        cached_budget(
            best_link(scenario, a, b), scenario, sender=hop_sender(scenario, a, b), over_pass=True
        )
        for a, b in zip(route, route[1:], strict=False)
    )
