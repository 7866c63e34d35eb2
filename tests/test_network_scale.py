"""Routing at national scale (issue 16, item 2): weights once, one tree per start node.

The routes are compared with networkx's Dijkstra (an independent implementation) on
lengths and paths, and with the per-demand early-stopping search qcalc ran before
(reproduced below as the reference) where equal-loss routes tie; the compiled search
(scipy.sparse.csgraph) must give the same routes as the pure-Python heap.
"""

from __future__ import annotations

import heapq
import math
from pathlib import Path
from types import ModuleType

import networkx as nx
import pytest
from conftest import bench_module
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qcalc.network as network
from qcalc.errors import ScenarioError
from qcalc.network import _weight_db, demand_route, link_weights_db, lowest_loss_route
from qcalc.scenario import Scenario, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def _bench() -> ModuleType:
    """bench/bench_network.py, whose generator makes the networks of the benchmark."""
    return bench_module("bench_network")


generate = _bench().generate


def early_stopping_route(scenario: Scenario, start: str, goal: str) -> tuple[str, ...]:
    """The search qcalc ran per demand before: every weight rebuilt, a heap of
    (loss, name), stopped when the goal is popped (ties broken by that order)."""
    weights: dict[str, list[tuple[float, str]]] = {name: [] for name in scenario.nodes}
    for link in scenario.links:
        w = _weight_db(link, scenario)
        weights[link.ends[0]].append((w, link.ends[1]))
        weights[link.ends[1]].append((w, link.ends[0]))
    best, previous, queue = {start: 0.0}, {}, [(0.0, start)]
    while queue:
        dist, node = heapq.heappop(queue)
        if node == goal:
            break
        if dist > best.get(node, math.inf):
            continue
        for w, other in weights[node]:
            if dist + w < best.get(other, math.inf):
                best[other], previous[other] = dist + w, node
                heapq.heappush(queue, (dist + w, other))
    route = [goal]
    while route[-1] != start:
        route.append(previous[route[-1]])
    return tuple(reversed(route))


def grid_scenario(side: int, demands: list[tuple[int, int]], length_km: float = 10.0) -> str:
    """A side × side grid of equal fibre links: every route has many equal-loss twins."""
    name = [f"g{i:03d}" for i in range(side * side)]
    links = [(i, i + 1) for i in range(side * side) if (i + 1) % side]
    links += [(i, i + side) for i in range(side * (side - 1))]
    return (
        "qcalc: 1\nhardware:\n  detectors:\n    d: {efficiency: 0.5, dark_count_probability: 1.0e-6}\n"
        "  sources:\n    s: {kind: weak_coherent, repetition_rate_hz: 1.0e9}\n"
        "defaults: {source: s, detector: d}\nnodes:\n"
        + "".join(f"  {n}: {{role: trusted_relay}}\n" for n in name)
        + "links:\n"
        + "".join(
            f"  - {{ends: [{name[a]}, {name[b]}], length_km: {length_km}}}\n" for a, b in links
        )
        + "demands:\n"
        + "".join(
            f"  - {{name: q{k}, ends: [{name[a]}, {name[b]}], application: qkd}}\n"
            for k, (a, b) in enumerate(demands)
        )
    )


@pytest.fixture(params=["heap", "compiled"])
def search(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Route by the pure-Python heap, or by scipy.sparse.csgraph whatever the size."""
    work = math.inf if request.param == "heap" else 0
    monkeypatch.setattr(network, "COMPILED_ROUTING_WORK", work)
    return str(request.param)


def test_routes_equal_networkx_on_a_generated_network(search: str) -> None:
    scenario = parse_scenario(generate(300, 30, seed=7))
    graph = nx.Graph()
    for link, w in zip(scenario.links, link_weights_db(scenario), strict=True):
        graph.add_edge(*link.ends, weight=w)  # the generator makes no parallel links
    for demand in scenario.demands:
        route = demand_route(scenario, demand)
        loss, path = nx.single_source_dijkstra(graph, *demand.ends, weight="weight")
        assert route == tuple(path), search  # random lengths: no two routes tie
        assert math.isclose(nx.path_weight(graph, route, "weight"), loss, rel_tol=1e-12)


@pytest.mark.parametrize("side", [4, 7])
def test_equal_loss_ties_are_broken_as_before(search: str, side: int) -> None:
    corners = [(0, side * side - 1), (side - 1, side * (side - 1)), (1, side * side - 2)]
    demands = corners + [(b, a) for a, b in corners] + [(side + 1, 2 * side - 1)]
    scenario = parse_scenario(grid_scenario(side, demands))
    for demand in scenario.demands:
        assert demand_route(scenario, demand) == early_stopping_route(scenario, *demand.ends)


def test_every_bundled_link_weighs_what_its_budget_says() -> None:
    for path in SCENARIOS:
        scenario = load_scenario(str(path))
        weights = link_weights_db(scenario)
        assert weights == [_weight_db(link, scenario) for link in scenario.links], path.name


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_bundled_routes_are_the_routes_before(path: Path) -> None:
    scenario = load_scenario(str(path))
    for demand in scenario.demands:
        if demand.path is None:
            assert lowest_loss_route(scenario, *demand.ends) == early_stopping_route(
                scenario, *demand.ends
            )


def test_one_tree_serves_every_demand_from_a_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network, "COMPILED_ROUTING_WORK", math.inf)
    scenario = parse_scenario(grid_scenario(5, [(0, 24), (0, 4), (0, 20), (3, 21)]))
    calls: list[str] = []
    weigh = network._weight_db
    monkeypatch.setattr(
        network, "_weight_db", lambda link, sc: calls.append(link.name) or weigh(link, sc)
    )
    for demand in scenario.demands:
        demand_route(scenario, demand)
    routing = network._routing(scenario)
    assert sorted(routing.trees) == ["g000", "g003"]  # one tree per distinct start
    assert len(calls) == 0  # plain fibre links are weighed in one array operation


def test_an_unreachable_goal_is_refused_by_either_search(search: str) -> None:
    text = grid_scenario(3, [(0, 8)]).replace("nodes:\n", "nodes:\n  island: {role: end}\n", 1)
    scenario = parse_scenario(text)
    with pytest.raises(ScenarioError, match="no chain of links joins 'g000' and 'island'"):
        lowest_loss_route(scenario, "g000", "island")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(8, 40), st.integers(0, 10_000))
def test_routes_on_random_networks_are_shortest(nodes: int, seed: int) -> None:
    scenario = parse_scenario(generate(nodes, 3, seed=seed, links_per_node=2.0))
    graph = nx.Graph()
    for link, w in zip(scenario.links, link_weights_db(scenario), strict=True):
        graph.add_edge(*link.ends, weight=w)
    for demand in scenario.demands:
        route = demand_route(scenario, demand)
        loss = nx.dijkstra_path_length(graph, *demand.ends, weight="weight")
        assert route[0] == demand.ends[0] and route[-1] == demand.ends[1]
        assert math.isclose(nx.path_weight(graph, route, "weight"), loss, rel_tol=1e-12)


def test_a_plain_large_scenario_is_not_an_alias_bomb(monkeypatch: pytest.MonkeyPatch) -> None:
    # The alias guard counts what aliases add, not the document's own values: with the
    # limit at 50, a 60-node network of hundreds of values loads, and one alias of a
    # 60-value list does not.
    monkeypatch.setenv("QCALC_MAX_YAML_VALUES", "50")
    text = generate(60, 5)
    assert len(parse_scenario(text).nodes) == 60
    bomb = text + "notes: &n [" + ", ".join(["x"] * 60) + "]\nmore: *n\n"
    with pytest.raises(ScenarioError, match="expands to more than 50 values"):
        parse_scenario(bomb)


def test_trees_beyond_the_memory_bound_are_regrown_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network, "COMPILED_ROUTING_WORK", math.inf)
    monkeypatch.setattr(network, "KEPT_TREE_NODES", 50)  # two trees of 25 nodes
    demands = [(0, 24), (4, 20), (12, 0), (0, 20), (4, 24)]
    scenario = parse_scenario(grid_scenario(5, demands))
    for demand in scenario.demands:
        assert demand_route(scenario, demand) == early_stopping_route(scenario, *demand.ends)
    assert len(network._routing(scenario).trees) <= 2
