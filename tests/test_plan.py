"""qcalc plan (issue 18): the cheapest sites and roles that meet every demand.

The integer program is checked against an exhaustive search over every subset of
candidate sites (every simple fibre path, every set of sites on it), each route judged by
the same qcalc evaluation; the plan it writes must pass ``qcalc batch``.
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import numpy as np
import pytest
from conftest import SCENARIOS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qcalc.cli import app
from qcalc.design.graph import Graph
from qcalc.design.plan import (
    Judge,
    PlanOptions,
    candidates_of,
    joined_link,
    plan_network,
    site_options,
)
from qcalc.errors import ScenarioError
from qcalc.linkbudget import link_budget
from qcalc.scenario import parse_scenario

#: A trusted-relay QKD network: one weak-coherent source and one InGaAs detector type,
#: mean photon number fixed (no optimisation) so each route is judged in milliseconds.
HEAD = """\
qcalc: 1
name: generated
hardware:
  detectors:
    ingaas: {efficiency: 0.2, dark_count_probability: 1.0e-6}
  sources:
    wcp: {kind: weak_coherent, repetition_rate_hz: 1.0e9, mean_photon_number: 0.5,
          decoy_photon_numbers: [0.1, 0.0]}
defaults:
  source: wcp
  detector: ingaas
  attenuation_db_per_km: 0.2
"""


def generated(seed: int, sites: int = 4, demands: int = 2) -> str:
    """A random connected fibre graph: ends e0…, candidate trusted-relay sites s0… with
    random costs, links of 60–160 km, QKD demands that need ≥ 5 kbit/s of key."""
    rng = random.Random(seed)
    ends = [f"e{i}" for i in range(demands + 1)]
    inner = [f"s{i}" for i in range(sites)]
    names = ends + inner
    order = names[:]
    rng.shuffle(order)
    edges = {tuple(sorted((order[i], rng.choice(order[:i])))) for i in range(1, len(order))}
    while len(edges) < len(names) + 2:
        a, b = rng.sample(names, 2)
        edges.add(tuple(sorted((a, b))))
    lines = [HEAD, "nodes:"]
    lines += [f"  {e}: {{role: end}}" for e in ends]
    lines += [
        f"  {s}: {{candidate: {{roles: [trusted_relay], cost: {rng.randint(1, 9)}}}}}"
        for s in inner
    ]
    lines.append("links:")
    lines += [
        f"  - {{ends: [{a}, {b}], length_km: {rng.randint(60, 160)}}}" for a, b in sorted(edges)
    ]
    lines.append("demands:")
    lines += [
        f"  - {{name: d{i}, ends: [e0, e{i + 1}], "
        "expect: {stage: '>= 1', key_rate_bps: '>= 5000'}}"
        for i in range(demands)
    ]
    return "\n".join(lines) + "\n"


class Exhaustive:
    """Which demands a set of open sites serves: every simple fibre path, every set of at
    most ``most`` open sites on it, each judged by qcalc (memoised per route)."""

    def __init__(self, text: str, most: int = 3) -> None:
        self.scenario = parse_scenario(text)
        self.graph = Graph(self.scenario)
        self.judge = Judge(self.scenario, self.graph)
        self.options = site_options(self.scenario, candidates_of(self.scenario))
        self.most = most
        self.memo: dict[tuple[str, tuple[str, ...], tuple[str, ...]], bool] = {}

    def usable(self, demand, fibre, sites) -> bool:
        key = (demand.name, fibre, sites)
        if key not in self.memo:
            variant = self.judge.variant(demand, fibre, "trusted_relay", sites)
            result = None if variant is None else self.judge.evaluate(variant)
            self.memo[key] = result is not None and not isinstance(result, str) and result.passed
        return self.memo[key]

    def served(self, demand, open_sites: set[str], avoid: str | None = None) -> bool:
        for fibre in self.graph.simple_paths(*demand.ends, 1000):
            crossed = {f"node {n}" for n in fibre[1:-1]}
            crossed |= {f"link {link.name}" for link in self.graph.links(fibre)}
            if avoid in crossed:
                continue
            here = [n for n in fibre[1:-1] if n in open_sites]
            for size in range(min(self.most, len(here)) + 1):
                for sites in itertools.combinations(here, size):
                    if self.usable(demand, fibre, sites):
                        return True
        return False

    def feasible(self, open_sites: set[str], robust: bool = False) -> bool:
        for demand in self.scenario.demands:
            if not self.served(demand, open_sites):
                return False
            if robust:
                failures = {f"node {n}" for n in self.scenario.nodes if n not in demand.ends}
                failures |= {f"link {link.name}" for link in self.scenario.links}
                if not all(self.served(demand, open_sites, f) for f in failures):
                    return False
        return True

    def cheapest(self, robust: bool = False) -> float | None:
        costs = {node: cost for (node, _), cost in self.options.items()}
        best = None
        for size in range(len(costs) + 1):
            for chosen in itertools.combinations(sorted(costs), size):
                cost = sum(costs[n] for n in chosen)
                if (best is None or cost < best) and self.feasible(set(chosen), robust):
                    best = cost
        return best


EXACT = PlanOptions(max_sites_per_path=3, paths_per_demand=1000, method="exact")


@pytest.mark.parametrize(("seed", "sites", "demands"), [(2, 4, 2), (3, 4, 2), (4, 4, 2), (1, 5, 3)])
def test_plan_cost_equals_exhaustive_search(seed, sites, demands):
    text = generated(seed, sites, demands)
    brute = Exhaustive(text)
    best = brute.cheapest()
    if best is None:
        with pytest.raises(ScenarioError):
            plan_network(brute.scenario, settings=EXACT)
        return
    plan = plan_network(brute.scenario, settings=EXACT)
    assert plan.cost == pytest.approx(best)
    assert plan.optimal and plan.gap == 0.0
    assert brute.feasible(set(plan.sites))


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_removing_any_chosen_site_breaks_some_demand(seed):
    text = generated(seed, sites=4, demands=2)
    brute = Exhaustive(text)
    try:
        plan = plan_network(brute.scenario, settings=EXACT)
    except ScenarioError:
        assert brute.cheapest() is None  # no plan only where no subset serves
        return
    chosen = set(plan.sites)
    assert brute.feasible(chosen)
    for site in chosen:
        assert not brute.feasible(chosen - {site}), f"{site} is not needed"


def test_robust_plan_equals_exhaustive_search():
    # two disjoint two-hop ways from e0 to e1, each needing its middle site
    text = (
        HEAD
        + """\
nodes:
  e0: {role: end}
  e1: {role: end}
  a: {candidate: {roles: [trusted_relay], cost: 2}}
  b: {candidate: {roles: [trusted_relay], cost: 3}}
  c: {candidate: {roles: [trusted_relay], cost: 1}}
links:
  - {ends: [e0, a], length_km: 90}
  - {ends: [a, e1], length_km: 90}
  - {ends: [e0, b], length_km: 95}
  - {ends: [b, e1], length_km: 95}
  - {ends: [a, c], length_km: 5}
demands:
  - {name: d, ends: [e0, e1], expect: {key_rate_bps: '>= 5000'}}
"""
    )
    brute = Exhaustive(text)
    plain = plan_network(brute.scenario, settings=EXACT)
    robust = plan_network(
        brute.scenario,
        settings=PlanOptions(max_sites_per_path=3, paths_per_demand=1000, robust=True),
    )
    assert plain.cost == brute.cheapest() == 2
    assert robust.cost == brute.cheapest(robust=True) == 5
    assert set(robust.sites) == {"a", "b"}
    assert [b.sites for b in robust.backups["d"]] == [("b",)]


HUB = (
    HEAD
    + """\
nodes:
  hub: {role: end}
  x: {role: end}
  y: {role: end}
  near: {candidate: {roles: [trusted_relay], cost: 1}}
  far: {candidate: {roles: [trusted_relay], cost: 4}}
links:
  - {ends: [hub, near], length_km: 90}
  - {ends: [hub, far], length_km: 95}
  - {ends: [near, x], length_km: 90}
  - {ends: [near, y], length_km: 90}
  - {ends: [far, x], length_km: 95}
  - {ends: [far, y], length_km: 95}
demands:
  - {name: dx, ends: [hub, x], expect: {key_rate_bps: '>= 5000'}}
  - {name: dy, ends: [hub, y], expect: {key_rate_bps: '>= 5000'}}
"""
)


def test_demands_per_site_spreads_the_demands():
    sc = parse_scenario(HUB)
    assert plan_network(sc, settings=EXACT).sites == {"near": "trusted_relay"}
    one_each = PlanOptions(max_sites_per_path=3, paths_per_demand=1000, demands_per_site=1)
    plan = plan_network(sc, settings=one_each)
    assert plan.cost == 5
    assert {r.sites for r in plan.routes.values()} == {("near",), ("far",)}


@pytest.mark.parametrize("seed", [2, 10])
def test_greedy_heuristic_is_bounded_by_the_lp_relaxation(seed):
    sc = parse_scenario(generated(seed, sites=5, demands=3))
    exact = plan_network(sc, settings=EXACT)
    greedy = plan_network(
        sc, settings=PlanOptions(max_sites_per_path=3, paths_per_demand=1000, method="greedy")
    )
    assert greedy.method.startswith("heuristic")
    assert greedy.lower_bound <= exact.cost + 1e-9 <= greedy.cost + 1e-9
    assert greedy.gap == pytest.approx((greedy.cost - greedy.lower_bound) / greedy.cost)


def test_passing_a_site_joins_the_fibre_and_the_loss_adds():
    sc = parse_scenario(
        HEAD
        + """\
nodes:
  a: {role: end}
  m: {}
  b: {role: end}
links:
  - {ends: [a, m], length_km: 40, attenuation_db_per_km: 0.25, extra_loss_db: 1}
  - {ends: [m, b], length_km: 60, extra_loss_db: 0.5}
"""
    )
    joined = joined_link(sc.links, ("a", "b"))
    assert not isinstance(joined, str)
    assert joined.length_km == 100
    alone = sum(float(link_budget(link, sc).channel_loss_db) for link in sc.links)
    assert float(link_budget(joined, sc).channel_loss_db) == pytest.approx(alone)
    # 40 km × 0.25 + 60 km × 0.2 + 1 + 0.5 dB
    assert alone == pytest.approx(23.5)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 6))
def test_k_shortest_paths_are_the_k_lowest_loss_simple_paths(seed, k):
    graph = Graph(parse_scenario(generated(seed, sites=4, demands=2)))
    every = sorted(graph.loss_db(p) for p in graph.simple_paths("e0", "e1", 10_000))
    found = graph.k_shortest("e0", "e1", k)
    assert len({p for _, p in found}) == len(found) == min(k, len(every))
    assert np.allclose([loss for loss, _ in found], every[: len(found)])


# ----------------------------------------------------------------------------- CLI


def small(write) -> str:
    return write(generated(2))


def test_plan_output_passes_batch(runner, write, tmp_path):
    path = small(write)
    planned = tmp_path / "planned.yaml"
    result = runner.invoke(app, ["plan", path, "-o", str(planned)])
    assert result.exit_code == 0, result.output
    assert "exact: mixed-integer program (HiGHS), optimal" in result.output
    text = planned.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=")
    assert "candidate" not in text
    batch = runner.invoke(app, ["batch", str(planned)])
    assert batch.exit_code == 0, batch.output


def test_plan_json_carries_margins(runner, write):
    result = runner.invoke(app, ["plan", small(write), "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["optimal"] is True and data["gap"] == 0.0
    for demand in data["demands"]:
        for target in demand["targets"]:
            assert target["passed"] and target["margin"] >= 0
        assert demand["path"][0] == demand["fibre"][0]


def test_bundled_surf_backbone_plan_passes_batch(runner, tmp_path):
    path = str(SCENARIOS / "surf-backbone-repeaters.yaml")
    planned = tmp_path / "surf.yaml"
    result = runner.invoke(app, ["plan", path, "-o", str(planned), "--paths", "2", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["optimal"] and data["cost"] == 6
    assert runner.invoke(app, ["batch", str(planned)]).exit_code == 0


def test_plan_plot_draws_the_sites(runner, write, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "plan.svg"
    result = runner.invoke(app, ["plan", small(write), "--plot", str(out)])
    assert result.exit_code == 0, result.output
    assert "relay" in out.read_text(encoding="utf-8")


def test_plan_without_candidates_is_refused(runner, write):
    text = "\n".join(
        f"  {line.split(':')[0].strip()}: {{}}" if "candidate" in line else line
        for line in generated(1).splitlines()
    )
    result = runner.invoke(app, ["plan", write(text)])
    assert result.exit_code == 2
    assert "marks no candidate sites" in result.output


def test_plan_names_the_demand_no_route_can_meet(runner, write):
    text = generated(1).replace(">= 5000", ">= 1e9")
    result = runner.invoke(app, ["plan", write(text)])
    assert result.exit_code == 2
    assert (
        "s.yaml:" in result.output
        and "demands[0]: demand 'd0' cannot be met by any route" in result.output
    )
    assert "key_rate_bps" in result.output and "wants >= 1e+09" in result.output


def test_plan_needs_targets(runner, write):
    text = generated(1).replace(", expect: {stage: '>= 1', key_rate_bps: '>= 5000'}", "")
    result = runner.invoke(app, ["plan", write(text)])
    assert result.exit_code == 2
    assert "gives no expect block" in result.output


def test_candidate_roles_are_checked_where_written(runner, write):
    text = generated(1).replace("roles: [trusted_relay]", "roles: [trusted_rellay]", 1)
    result = runner.invoke(app, ["validate", write(text)])
    assert result.exit_code == 2
    assert "candidate.roles[0]" in result.output and "did you mean" in result.output


def test_robust_plan_says_which_failure_cannot_be_survived(runner, write):
    text = HEAD + (
        "nodes:\n  a: {role: end}\n  m: {candidate: {roles: [trusted_relay], cost: 1}}\n"
        "  b: {role: end}\nlinks:\n  - {ends: [a, m], length_km: 90}\n"
        "  - {ends: [m, b], length_km: 90}\n"
        "demands:\n  - {name: d, ends: [a, b], expect: {key_rate_bps: '>= 5000'}}\n"
    )
    result = runner.invoke(app, ["plan", write(text), "--robust"])
    assert result.exit_code == 2
    assert "every usable route crosses" in result.output


@pytest.mark.parametrize(
    ("block", "cost"),
    [
        ("", 1),
        ("plan: {demands_per_site: 1}\n", 5),
        ("plan: {demands_per_site: 1, paths_per_demand: 1}\n", None),
        ("plan: {max_sites_per_path: 0}\n", None),
        ("plan: {robust: true}\n", 5),
    ],
)
def test_plan_block_fields_act(block, cost):
    sc = parse_scenario(HUB + block)
    if cost is None:
        with pytest.raises(ScenarioError):
            plan_network(sc)
    else:
        assert plan_network(sc).cost == cost


def test_candidate_roles_choose_the_role():
    # a repeater without a memory delivers no key: only the trusted relay serves
    text = HUB.replace(
        "roles: [trusted_relay], cost: 4", "roles: [repeater, trusted_relay], cost: 4"
    )
    text = text.replace("roles: [trusted_relay], cost: 1", "roles: [repeater], cost: 1")
    plan = plan_network(parse_scenario(text))
    assert plan.sites == {"far": "trusted_relay"}


def test_planned_file_keeps_its_schema_line(tmp_path):
    from qcalc.design.plan import schema_modeline

    src = SCENARIOS / "surf-backbone-repeaters.yaml"
    line = schema_modeline(str(src), str(tmp_path / "out" / "x.yaml"))
    target = (tmp_path / "out" / line.split("$schema=")[1]).resolve()
    assert target == (Path(__file__).resolve().parent.parent / "qcalc/data/scenario.schema.json")


REPEATERS = """\
qcalc: 1
name: repeater line
hardware:
  memories:
    multimode: {qubits: 1000, coherence_time_s: 1.0, efficiency: 0.9}
defaults:
  memory: multimode
  misalignment_error: 0.005
  memory_modes: 250
nodes:
  a: {role: end}
  x: {candidate: {roles: [repeater], cost: 1}}
  y: {candidate: {roles: [repeater], cost: 1}}
  z: {candidate: {roles: [repeater], cost: 1}}
  b: {role: end}
links:
  - {ends: [a, x], length_km: 70}
  - {ends: [x, y], length_km: 70}
  - {ends: [y, z], length_km: 70}
  - {ends: [z, b], length_km: 70}
  - {ends: [a, y], length_km: 150}
demands:
  - {name: ab, ends: [a, b], application: entanglement,
     expect: {stage: '>= 3', pair_rate_hz: '>= 100', fidelity: '>= 0.85'}}
"""


@pytest.mark.parametrize("text", [REPEATERS, generated(3)], ids=["repeaters", "trusted"])
def test_hop_screen_keeps_every_usable_route(text):
    """The screen (a chain is no better than its weakest hop) only skips evaluations: the
    usable routes and the plan are those found without it."""
    sc = parse_scenario(text)
    on = plan_network(sc, settings=EXACT)
    off = plan_network(
        sc, settings=PlanOptions(max_sites_per_path=3, paths_per_demand=1000, screen=False)
    )
    assert on.cost == off.cost and on.routes_considered == off.routes_considered
    assert {d: r.sites for d, r in on.routes.items()} == {d: r.sites for d, r in off.routes.items()}
