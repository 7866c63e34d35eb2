"""Network design at scale (issue 18): ``qcalc plan`` on a 100-node graph with 10 demands
(goal ≤ 60 s on 2 cores) and ``qcalc capacity`` on 1,000 nodes with 100 demands (goal
≤ 10 s), with the optimality gap of each planning method.

The graphs are random geometric fibre networks (seeded): nodes uniform in a square, each
joined to its three nearest neighbours by fibre 1.2× the straight distance (a typical
route factor), so the graph is planar-like as real backbones are. Every route is judged by
qcalc's own evaluation chain; the figures are printed side by side in one run.

    .venv/bin/python bench/bench_design.py
"""

from __future__ import annotations

import math
import random
import time

from qcalc.design.capacity import allocate
from qcalc.design.plan import PlanOptions, plan_network
from qcalc.network import forget_shared_results
from qcalc.scenario import parse_scenario

HEAD = """\
qcalc: 1
name: {name}
hardware:
  detectors:
    ingaas: {{efficiency: 0.2, dark_count_probability: 1.0e-6}}
  sources:
    wcp: {{kind: weak_coherent, repetition_rate_hz: 1.0e9, mean_photon_number: 0.5,
          decoy_photon_numbers: [0.1, 0.0]}}
defaults:
  source: wcp
  detector: ingaas
"""


def geometric(
    nodes: int,
    side_km: float,
    demands: int,
    seed: int,
    planning: bool,
    reach_km: tuple[float, float],
) -> str:
    """A random geometric fibre graph as a scenario (see the module docstring)."""
    rng = random.Random(seed)
    xy = [(rng.uniform(0, side_km), rng.uniform(0, side_km)) for _ in range(nodes)]
    names = [f"n{i}" for i in range(nodes)]
    dist = [[math.dist(a, b) for b in xy] for a in xy]
    edges = set()
    for i in range(nodes):
        for j in sorted(range(nodes), key=lambda j: dist[i][j])[1:4]:
            edges.add((min(i, j), max(i, j)))
    # join the components (nearest pair between the first and each other) for a connected graph
    parent = list(range(nodes))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in edges:
        parent[root(i)] = root(j)
    for i in range(nodes):
        if root(i) != root(0):
            a, b = min(
                (
                    (p, q)
                    for p in range(nodes)
                    if root(p) == root(0)
                    for q in range(nodes)
                    if root(q) == root(i)
                ),
                key=lambda pq: dist[pq[0]][pq[1]],
            )
            edges.add((min(a, b), max(a, b)))
            parent[root(b)] = root(a)
    pairs = []
    while len(pairs) < demands:
        a, b = rng.sample(range(nodes), 2)
        if reach_km[0] <= dist[a][b] <= reach_km[1] and (a, b) not in pairs:
            pairs.append((a, b))
    lines = [HEAD.format(name=f"geometric {nodes} nodes"), "nodes:"]
    access = []
    if planning:
        # users sit beside a point of presence, joined by a 10 km access fibre; every
        # point of presence is a candidate site
        users = []
        for k, (a, b) in enumerate(pairs):
            users.append((f"u{k}a", f"u{k}b"))
            access += [(f"u{k}a", names[a]), (f"u{k}b", names[b])]
        lines += [f"  {u}: {{role: end}}" for pair in users for u in pair]
        lines += [
            f"  {name}: {{candidate: {{roles: [trusted_relay], cost: {rng.randint(1, 5)}}}}}"
            for name in names
        ]
        ends = users
    else:
        ends = [(names[a], names[b]) for a, b in pairs]
        used = {e for pair in ends for e in pair}
        lines += [
            f"  {name}: {{role: {'end' if name in used else 'trusted_relay'}}}" for name in names
        ]
    lines.append("links:")
    lines += [
        f"  - {{ends: [{names[i]}, {names[j]}], length_km: {1.2 * dist[i][j]:.1f}}}"
        for i, j in sorted(edges)
    ]
    lines += [f"  - {{ends: [{u}, {pop}], length_km: 10}}" for u, pop in access]
    lines.append("demands:")
    lines += [
        f"  - {{name: d{k}, ends: [{a}, {b}], expect: {{stage: '>= 1', key_rate_bps: '>= 1000'}}}}"
        for k, (a, b) in enumerate(ends)
    ]
    return "\n".join(lines) + "\n"


def bench_plan() -> None:
    sc = parse_scenario(geometric(80, 700.0, 10, seed=7, planning=True, reach_km=(250, 450)))
    rows = []
    for method in ("exact", "greedy"):
        forget_shared_results()
        started, cpu = time.perf_counter(), time.process_time()
        plan = plan_network(
            sc, settings=PlanOptions(method=method, paths_per_demand=5, max_sites_per_path=5)
        )
        rows.append((method, time.perf_counter() - started, time.process_time() - cpu, plan))
    exact = rows[0][3]
    print("plan: 100 nodes (80 points of presence, 20 users), 10 demands,")
    print("      ≤ 5 sites per route, 5 fibre paths per demand")
    print(
        f"{'method':7} {'wall [s]':>8} {'cpu [s]':>8} {'cost':>5} {'bound':>6} {'gap':>7} "
        f"{'vs exact':>8} {'evaluations':>11}"
    )
    for method, wall, cpu, plan in rows:
        worse = plan.cost / exact.cost - 1 if exact.cost else 0.0
        print(
            f"{method:7} {wall:8.2f} {cpu:8.2f} {plan.cost:5g} {plan.lower_bound:6.3g} "
            f"{plan.gap:7.2%} {worse:8.2%} {plan.evaluations:11}"
        )
    print(
        f"goal: ≤ 60 s on 2 cores; exact took {rows[0][1]:.1f} s wall, {rows[0][2]:.1f} s cpu "
        f"(greedy/exact cpu ratio {rows[1][2] / rows[0][2]:.2f})"
    )


def bench_capacity() -> None:
    sc = parse_scenario(geometric(1000, 2000.0, 100, seed=11, planning=False, reach_km=(100, 800)))
    print("\ncapacity: 1,000 nodes, 100 demands, max–min fair, trusted relays at every node")
    print(f"{'routes':>6} {'split':>5} {'wall [s]':>8} {'cpu [s]':>8} {'min share':>9} {'at 0':>5}")
    times = {}
    for routes, split in ((1, True), (3, True), (3, False)):
        forget_shared_results()
        started, cpu = time.perf_counter(), time.process_time()
        allocation = allocate(sc, routes, split=split)
        times[(routes, split)] = (time.perf_counter() - started, time.process_time() - cpu)
        shares = [s.fraction for s in allocation.shares if s.alone > 0]
        zero = sum(s.allocated == 0 for s in allocation.shares)
        wall, used = times[(routes, split)]
        print(f"{routes:6} {split!s:>5} {wall:8.2f} {used:8.2f} {min(shares):9.2%} {zero:5}")
    one, three = times[(1, True)], times[(3, True)]
    print(
        f"goal: ≤ 10 s; k=1 took {one[0]:.1f} s wall ({one[1]:.1f} s cpu), k=3 {three[0]:.1f} s "
        f"wall ({three[1]:.1f} s cpu); k=3/k=1 cpu ratio {three[1] / one[1]:.2f}"
    )


if __name__ == "__main__":
    bench_plan()
    bench_capacity()
