"""Points per second of a 10⁶-point sweep of decoy-BB84 key rate over fibre length.

Run: .venv/bin/python bench/bench_sweep.py [--points 1000000] [--runs 3] [--profile]
Goal (issue 7): `run_sweep` at least 10⁶ points/s with a fixed μ (no per-point
optimisation), next to the bare model `bb84_key_rate` on the same number of
transmittances. `--profile` prints where a sweep spends its time (cProfile, top 15).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from qcalc.physics.detectors import dark_count_probability
from qcalc.protocols.qkd import bb84_key_rate
from qcalc.sweep import parse_vary, run_sweep

GOAL_POINTS_PER_S = 1e6
#: The metro link of scenarios/metro-fibre.yaml with its μ fixed at 0.5.
SCENARIO = """\
qcalc: 1
name: bench sweep, decoy BB84 with fixed mu
hardware:
  detectors:
    snspd: {efficiency: 0.85, dark_count_rate_hz: 100, gate_window_ns: 1}
  sources:
    wcp: {kind: weak_coherent, repetition_rate_hz: 1.0e9, mean_photon_number: 0.5,
          decoy_photon_numbers: [0.1, 0.0]}
nodes:
  alice: {source: wcp}
  bob: {detector: snspd}
links:
  - {name: alice-bob, ends: [alice, bob], length_km: 50, attenuation_db_per_km: 0.2,
     extra_loss_db: 1.0, misalignment_error: 0.01}
demands:
  - {name: key, ends: [alice, bob], protocol: bb84-decoy}
"""


def best_seconds(fn: Callable[[], object], runs: int) -> float:
    """Fastest of ``runs`` calls after one warm-up call. [s]"""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "bench-sweep.yaml")
        Path(path).write_text(SCENARIO, encoding="utf-8")
        vary = parse_vary(f"links.alice-bob.length_km=0:300:{args.points}")

        def sweep() -> object:
            return run_sweep(path, [vary], ["key_rate_bps"])

        result = run_sweep(path, [vary], ["key_rate_bps"])
        sweep_s = best_seconds(sweep, args.runs)
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(sweep)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)

    length_km = np.linspace(0.0, 300.0, args.points)
    eta = 10 ** (-(0.2 * length_km + 1.0) / 10) * 0.85
    y0 = dark_count_probability(100.0, 1.0)  # 100 Hz in a 1 ns window

    def model() -> object:
        return bb84_key_rate(
            eta,
            y0,
            0.01,
            mean_photon_number=0.5,
            decoy="vacuum+weak",
            weak_decoy_photon_number=0.1,
        )

    model_s = best_seconds(model, args.runs)
    bits = model()[0] * 1e9  # type: ignore[index]
    np.testing.assert_allclose(result.columns["key_rate_bps"], bits, rtol=1e-9)

    command = " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv])
    print(f"$ {command}")
    print(f"points: {args.points:,}, best of {args.runs} runs after a warm-up")
    rate = args.points / sweep_s
    print(f"run_sweep (whole model chain): {sweep_s * 1e3:8.1f} ms  {rate:12,.0f} points/s")
    print(
        f"bb84_key_rate (bare model):    {model_s * 1e3:8.1f} ms  "
        f"{args.points / model_s:12,.0f} points/s"
    )
    print(f"overhead of the chain: {sweep_s / model_s:.2f}× the bare model")
    verdict = "met" if rate >= GOAL_POINTS_PER_S else "NOT met"
    print(f"goal ≥ {GOAL_POINTS_PER_S:,.0f} points/s: {verdict}")


if __name__ == "__main__":
    main()
