"""Routing and evaluating a national-scale network: `qcalc stage` on generated networks.

Run: python bench/bench_network.py [--nodes 10000] [--demands 1000] [--small 1000] [--evaluate]

A seeded generator places the nodes uniformly at random on a square (one node per
50 km × 50 km on average), joins them by their shortest links until the graph is
connected (a minimum spanning tree over neighbouring cells; a boustrophedon path through
the cells joins what remains apart) and then each to its nearest neighbours until there
are three links per node: fibre, every node in between a trusted relay running decoy-state
BB84; the demands join random pairs of end nodes. The script loads, weighs, routes and
builds the hop budgets of a large network and a small one (same generator, same demands
per node) in the same run (with ``--evaluate`` also evaluates every demand), and prints
the times and their ratios beside the ratio of demands × links × log(nodes), the growth
the issue allows.

Goal (issue 16, item 2): 10,000 nodes, 30,000 links, 1,000 demands loaded in ≤ 2 s and
evaluated (`qcalc stage`) in ≤ 10 s.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from pathlib import Path

#: Mean spacing of the nodes. [km]
SPACING_KM = 50.0

HEADER = """\
qcalc: 1
name: generated {nodes}-node trusted-relay network (seed {seed})
hardware:
  detectors:
    ingaas: {{efficiency: 0.2, dark_count_probability: 1.0e-6}}
  sources:
    wcp: {{kind: weak_coherent, repetition_rate_hz: 1.0e9, decoy_photon_numbers: [0.1, 0.0]}}
defaults:
  source: wcp
  detector: ingaas
  attenuation_db_per_km: 0.2
  extra_loss_db: 1.0
  misalignment_error: 0.01
"""


def _distance(pos: list[tuple[float, float]], a: int, b: int) -> float:
    return math.hypot(pos[a][0] - pos[b][0], pos[a][1] - pos[b][1])


def node_pairs(pos: list[tuple[float, float]], links_per_node: float) -> list[tuple[int, int]]:
    """About ``links_per_node`` × nodes short node pairs that connect every node."""
    per_side = max(1, int(math.sqrt(len(pos))))
    size = SPACING_KM * math.sqrt(len(pos)) / per_side
    cells: dict[tuple[int, int], list[int]] = {}
    for i, (x, y) in enumerate(pos):
        cells.setdefault(
            (min(int(x / size), per_side - 1), min(int(y / size), per_side - 1)), []
        ).append(i)
    snake: list[int] = []
    for cx in range(per_side):
        rows = range(per_side) if cx % 2 == 0 else range(per_side - 1, -1, -1)
        for cy in rows:
            members = sorted(cells.get((cx, cy), []), key=lambda i: pos[i][1])
            snake.extend(members if cx % 2 == 0 else reversed(members))
    nearest: dict[int, list[int]] = {}
    for (cx, cy), members in cells.items():
        around = [
            j for dx in (-1, 0, 1) for dy in (-1, 0, 1) for j in cells.get((cx + dx, cy + dy), [])
        ]
        for i in members:
            nearest[i] = sorted((j for j in around if j != i), key=lambda j: _distance(pos, i, j))
    # Connected by the shortest links first (Kruskal over neighbouring cells), the snake
    # only joining what they leave apart: no link much longer than the spacing.
    parent = list(range(len(pos)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    candidates = sorted(
        {(min(i, j), max(i, j)) for i, near in nearest.items() for j in near},
        key=lambda p: _distance(pos, *p),
    )
    pairs: set[tuple[int, int]] = set()
    for a, b in [*candidates, *zip(snake, snake[1:], strict=False)]:
        if root(a) != root(b):
            parent[root(a)] = root(b)
            pairs.add((min(a, b), max(a, b)))
    target = int(links_per_node * len(pos))
    for rank in range(32):
        for i in range(len(pos)):
            if len(pairs) >= target:
                return sorted(pairs)
            if rank < len(nearest[i]):
                j = nearest[i][rank]
                pairs.add((min(i, j), max(i, j)))
    return sorted(pairs)


def generate(nodes: int, demands: int, seed: int = 1, links_per_node: float = 3.0) -> str:
    """The YAML text of a generated network (deterministic for a seed)."""
    rng = random.Random(seed)
    side = SPACING_KM * math.sqrt(nodes)
    pos = [(rng.uniform(0, side), rng.uniform(0, side)) for _ in range(nodes)]
    names = [f"n{i:05d}" for i in range(nodes)]
    ends = sorted(rng.sample(range(nodes), min(nodes, max(2, 2 * demands))))
    is_end = set(ends)
    lines = [HEADER.format(nodes=nodes, seed=seed), "nodes:"]
    for i, name in enumerate(names):
        lines.append(f"  {name}: {{role: {'end' if i in is_end else 'trusted_relay'}}}")
    lines.append("links:")
    for a, b in node_pairs(pos, links_per_node):
        length = max(1.0, round(_distance(pos, a, b), 1))
        lines.append(f"  - {{ends: [{names[a]}, {names[b]}], length_km: {length}}}")
    lines.append("demands:")
    for k in range(demands):
        a, b = rng.sample(ends, 2)
        lines.append(f"  - {{name: d{k:04d}, ends: [{names[a]}, {names[b]}], application: qkd}}")
    return "\n".join(lines) + "\n"


def measure(nodes: int, demands: int, folder: Path, evaluate: bool) -> dict[str, float]:
    """Load, route and (``evaluate``) evaluate a generated network here; seconds."""
    from qcalc.network import demand_route, hop_budgets, link_weights_db
    from qcalc.scenario import load_scenario

    path = folder / f"network-{nodes}.yaml"
    path.write_text(generate(nodes, demands), encoding="utf-8")
    start = time.perf_counter()
    scenario = load_scenario(str(path))
    loaded = time.perf_counter()
    link_weights_db(scenario)
    weighed = time.perf_counter()
    routes = [demand_route(scenario, d) for d in scenario.demands]
    routed = time.perf_counter()
    for route in routes:
        hop_budgets(scenario, route)
    budgeted = time.perf_counter()
    out = {
        "nodes": nodes,
        "links": len(scenario.links),
        "demands": len(scenario.demands),
        "hops": sum(len(r) - 1 for r in routes),
        "load_s": loaded - start,
        "weights_s": weighed - loaded,
        "route_s": routed - weighed,
        "budgets_s": budgeted - routed,
    }
    if evaluate:
        from qcalc.api import evaluate as evaluate_all

        scenario = load_scenario(str(path))
        begin = time.perf_counter()
        result = evaluate_all(scenario, levers="short")
        out["evaluate_s"] = time.perf_counter() - begin
        out["passed"] = sum(1 for r in result.demands if r.passed)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--demands", type=int, default=1000)
    parser.add_argument("--small", type=int, default=1000, help="nodes of the small network")
    parser.add_argument(
        "--evaluate",
        action="store_true",
        help="also evaluate every demand (api.evaluate, as qcalc stage does): key rates "
        "of every hop, stages, levers where a demand falls short",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        small_demands = max(1, args.demands * args.small // args.nodes)
        small = measure(args.small, small_demands, Path(folder), args.evaluate)
        large = measure(args.nodes, args.demands, Path(folder), args.evaluate)
    for m in (small, large):
        line = (
            f"{m['nodes']:>6,} nodes {m['links']:>6,} links {m['demands']:>5,} demands "
            f"({m['hops']:,} hops): load {m['load_s']:6.2f} s, link weights "
            f"{m['weights_s']:5.2f} s, routes {m['route_s']:5.2f} s, hop budgets "
            f"{m['budgets_s']:5.2f} s"
        )
        if "evaluate_s" in m:
            line += f", evaluate {m['evaluate_s']:7.2f} s ({m['passed']:,} passed)"
        print(line)

    def work(m: dict[str, float]) -> float:
        return m["demands"] * m["links"] * math.log(m["nodes"])

    def ratio(key: str) -> str:
        return f"{large[key] / small[key]:.1f}"

    print(
        f"ratios large/small: load {ratio('load_s')} (links ×{ratio('links')}), routes "
        f"{ratio('route_s')}, hop budgets {ratio('budgets_s')} (hops ×{ratio('hops')}); "
        f"demands × links × log(nodes) ×{work(large) / work(small):.1f}"
    )
    if "evaluate_s" in large:
        print(f"evaluate ratio {ratio('evaluate_s')}; goal: evaluate ≤ 10 s")
    print("goals: load ≤ 2 s; cost growing no faster than demands × links × log(nodes)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
