"""`qcalc stage --levers` against plain `qcalc stage` on the 1,000 km repeater chain.

Run: python bench/bench_levers.py [--runs 5] [--scenario scenarios/repeater-chain-1000km.yaml]

Both commands run as the console script does, interleaved, ``--runs`` times each; the
script prints the medians of CPU time (user + system of the child, steadier on a busy
machine) and wall time, and the ratio of the two commands.

Goal (issue 16, item 6): the ratio at most 3, with BLAS pinned to one thread (every
command sets OPENBLAS/OMP/MKL_NUM_THREADS=1 before numpy loads; a user's own wins).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONSOLE = "import sys; from qcalc.cli import main; sys.argv[0] = 'qcalc'; main()"


def timed(cmd: list[str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # with bytecode, as an installed qcalc runs
    done = subprocess.run(cmd, capture_output=True, cwd=ROOT, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr.decode()}")
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scenario", default="scenarios/repeater-chain-1000km.yaml")
    args = parser.parse_args()
    base = [sys.executable, "-c", CONSOLE, "stage", args.scenario, "--format", "json"]
    commands = {"qcalc stage": base, "qcalc stage --levers": [*base, "--levers"]}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            times[name].append(timed(cmd))
    medians = {
        name: (statistics.median(t[0] for t in runs), statistics.median(t[1] for t in runs))
        for name, runs in times.items()
    }
    for name, (cpu, wall) in medians.items():
        print(f"{name:<22} cpu {cpu * 1e3:7.0f} ms  wall {wall * 1e3:7.0f} ms ({args.scenario})")
    plain, levers = medians["qcalc stage"], medians["qcalc stage --levers"]
    print(
        f"ratio --levers / plain: cpu ×{levers[0] / plain[0]:.2f}, wall ×{levers[1] / plain[1]:.2f}"
        " (goal ≤ 3)"
    )


if __name__ == "__main__":
    main()
