"""qcalc capacity and stage --shared (issue 18): demands that share links and nodes share
their capacity. Allocations are checked for feasibility, against brute force on small
cases (max–min, proportional and throughput optima over a fine grid of the feasible
region), and against the single-demand answer of ``qcalc stage``."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qcalc.cli import app
from qcalc.demands import evaluate_scenario
from qcalc.design.capacity import allocate, demand_routes
from qcalc.scenario import parse_scenario

HEAD = """\
qcalc: 1
name: shared
hardware:
  detectors:
    ingaas: {efficiency: 0.2, dark_count_probability: 1.0e-6}
  sources:
    wcp: {kind: weak_coherent, repetition_rate_hz: 1.0e9, mean_photon_number: 0.5,
          decoy_photon_numbers: [0.1, 0.0]}
defaults:
  source: wcp
  detector: ingaas
"""


def star(lengths: list[int], hub_length: int = 50, key: str = ">= 1") -> str:
    """Demands from ``src`` to ``end{i}`` through trusted relays ``hub`` then ``r{i}``: all
    share the hop src–hub; each has its own hop of ``lengths[i]`` km."""
    lines = [HEAD, "nodes:", "  src: {role: end}", "  hub: {role: trusted_relay}"]
    for i, _ in enumerate(lengths):
        lines += [f"  end{i}: {{role: end}}"]
    lines += ["links:", f"  - {{ends: [src, hub], length_km: {hub_length}}}"]
    lines += [f"  - {{ends: [hub, end{i}], length_km: {n}}}" for i, n in enumerate(lengths)]
    lines += ["demands:"]
    lines += [
        f"  - {{name: d{i}, ends: [src, end{i}], expect: {{key_rate_bps: '{key}'}}}}"
        for i, _ in enumerate(lengths)
    ]
    return "\n".join(lines) + "\n"


def polytope(sc):
    """The feasible region of single-route allocations as A·x ≤ 1 over demands' rates:
    one row per resource, coefficient 1/capacity of each demand's route using it."""
    pools = demand_routes(sc, 1)
    names = [d.name for d in sc.demands]
    resources = sorted({r for pool in pools.values() for r, _ in pool[0].uses})
    rows = np.zeros((len(resources), len(names)))
    for j, name in enumerate(names):
        for resource, cap in pools[name][0].uses:
            rows[resources.index(resource), j] += 1.0 / cap
    alone = np.array([pools[n][0].rate for n in names])
    return rows, alone, pools


def grid_points(alone, steps):
    axes = [np.linspace(0.0, a, steps) for a in alone]
    return np.array(list(itertools.product(*axes)))


def test_one_demand_gets_what_stage_says():
    sc = parse_scenario(star([80]))
    alone = evaluate_scenario(sc)[0]
    allocation = allocate(sc, routes_per_demand=1)
    assert allocation.shares[0].allocated == pytest.approx(float(alone.key_rate_bps), rel=1e-9)
    assert allocation.shares[0].fraction == pytest.approx(1.0)


@pytest.mark.parametrize("lengths", [[60, 60], [40, 120], [30, 90, 150]])
def test_max_min_matches_brute_force(lengths):
    sc = parse_scenario(star(lengths))
    rows, alone, _ = polytope(sc)
    got = np.array([s.allocated for s in allocate(sc, 1).shares])
    assert np.all(rows @ got <= 1 + 1e-9)
    points = grid_points(alone, 121 if len(lengths) == 2 else 61)
    feasible = points[np.all(points @ rows.T <= 1 + 1e-12, axis=1)]
    # lexicographic max of the sorted allocation vector
    ordered = np.sort(feasible, axis=1)
    best = ordered[np.lexsort(ordered.T[::-1])[-1]]
    step = alone.max() / 60
    assert np.allclose(np.sort(got), best, atol=step)
    assert np.sort(got)[0] >= best[0] * (1 - 1e-6)  # the grid never beats it


@pytest.mark.parametrize("objective", ["proportional", "throughput"])
def test_other_objectives_match_brute_force(objective):
    sc = parse_scenario(star([40, 120]))
    rows, alone, _ = polytope(sc)
    shares = allocate(sc, 1, objective).shares
    got = np.array([s.allocated for s in shares])
    assert np.all(rows @ got <= 1 + 1e-9)
    points = grid_points(alone, 401)
    feasible = points[np.all(points @ rows.T <= 1 + 1e-12, axis=1)]
    if objective == "throughput":
        assert got.sum() >= feasible.sum(axis=1).max() * (1 - 1e-9)
    else:
        inside = feasible[np.all(feasible > 0, axis=1)]
        assert np.log(got).sum() >= np.log(inside).sum(axis=1).max() - 1e-6


@settings(max_examples=8, deadline=None)
@given(
    lengths=st.lists(st.integers(20, 140), min_size=1, max_size=4),
    hub=st.integers(10, 120),
    objective=st.sampled_from(["max-min", "proportional", "throughput"]),
)
def test_allocations_never_overrun_a_resource(lengths, hub, objective):
    sc = parse_scenario(star(lengths, hub))
    allocation = allocate(sc, 1, objective)
    assert all(u <= 1 + 1e-7 for u in allocation.usage.values())
    pools = demand_routes(sc, 1)
    carried: dict[str, float] = {}
    for share in allocation.shares:
        assert 0 <= share.allocated <= share.alone * (1 + 1e-9)
        for route, rate in share.routes:
            for resource, cap in route.uses:
                carried[resource] = carried.get(resource, 0.0) + rate / cap
    assert all(v <= 1 + 1e-7 for v in carried.values())
    assert set(carried) <= {r for pool in pools.values() for r, _ in pool[0].uses}


def test_splitting_never_gives_less_than_one_route():
    text = HEAD + (
        "nodes:\n  a: {role: end}\n  b: {role: end}\n  c: {role: end}\n"
        "  x: {role: trusted_relay}\n  y: {role: trusted_relay}\n"
        "links:\n  - {ends: [a, x], length_km: 60}\n  - {ends: [x, b], length_km: 60}\n"
        "  - {ends: [a, y], length_km: 70}\n  - {ends: [y, b], length_km: 70}\n"
        "  - {ends: [x, c], length_km: 30}\n"
        "demands:\n  - {name: ab, ends: [a, b]}\n  - {name: ac, ends: [a, c]}\n"
    )
    sc = parse_scenario(text)
    split = allocate(sc, 2, split=True)
    whole = allocate(sc, 2, split=False)
    assert min(s.allocated for s in split.shares) >= min(s.allocated for s in whole.shares)
    assert all(sum(a > 0 for _, a in s.routes) <= 1 for s in whole.shares)
    assert sum(a > 0 for _, a in split.share("ab").routes) == 2


def test_stage_shared_judges_at_the_fair_share(runner, write):
    # alone each demand has the 553 kbit/s of the shared 80 km hop; shared, half of it
    path = write(star([60, 60], hub_length=80, key=">= 300000"))
    assert runner.invoke(app, ["stage", path]).exit_code == 0
    shared = runner.invoke(app, ["stage", path, "--shared", "-f", "json"])
    assert shared.exit_code == 1, shared.output
    data = json.loads(shared.stdout)
    fractions = [d["fraction"] for d in data["capacity"]["demands"]]
    assert fractions == pytest.approx([0.5, 0.5], rel=1e-6)
    assert all(not d["expect"]["passed"] for d in data["demands"])
    assert data["capacity"]["demands"][0]["bottlenecks"] == ["link src-hub"]
    for share in data["capacity"]["demands"]:
        assert share["stage_alone"] == share["stage_shared"] == 1
        assert share["expect_passed_shared"] is False


def test_capacity_command_reports_bottlenecks(runner, write):
    result = runner.invoke(app, ["capacity", write(star([60, 60], 80)), "--routes", "1"])
    assert result.exit_code == 0, result.output
    assert "bottleneck" in result.output and "link src-hub" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--weight", "nobody=2"], "--weight names demand 'nobody'"),
        (["--weight", "d0=0"], "expected a weight > 0"),
        (["--weight", "d0"], "expected DEMAND=WEIGHT"),
        (["--objective", "fastest"], "fastest"),
    ],
)
def test_capacity_refuses_bad_options(runner, write, args, message):
    result = runner.invoke(app, ["capacity", write(star([60])), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_stage_shared_refuses_what_it_cannot_combine(runner, write):
    result = runner.invoke(app, ["stage", write(star([60])), "--shared", "--levers"])
    assert result.exit_code == 2
    assert "--shared does not combine with --levers" in result.output
