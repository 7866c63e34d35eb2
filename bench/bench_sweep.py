"""Streamed sweeps: points per second end to end into CSV, and peak memory, at 10⁷ and 10⁸.

Run: .venv/bin/python bench/bench_sweep.py [--points 10000000 100000000] [--held N] [--profile]

Goals (issue 16): `qcalc sweep … -f csv -o FILE` of 10⁸ points at ≥ 2·10⁶ points/s end
to end with a peak RSS ≤ 500 MB. Each size runs the command in a fresh process (the
peak of its resident memory and its worker processes' summed, sampled), next to, in this process, the bare model function
`bb84_key_rate` on the same transmittances chunk by chunk (the numpy closed form, no
scenario, no text): the ratio is the cost of the whole chain and the CSV over the bare
arithmetic. The scenario is the metro link of scenarios/metro-fibre.yaml with μ fixed
at 0.5, swept over length; the CSV's first rows are checked against the closed form.
First, at 10⁶ points (`--held`), the sweep held whole and written at once (the path
before streaming) against the streamed one, side by side in this process, same bytes.
`--profile` prints where one chunk of the sweep spends its time (cProfile, top 15).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from measure import run_measured

from qcalc.physics.detectors import dark_count_probability
from qcalc.protocols.qkd import bb84_key_rate
from qcalc.sweeps import (
    CHUNK_POINTS,
    CsvWriter,
    evaluate_chunk,
    parse_vary,
    plan_sweep,
    run_sweep,
    stream_sweep,
)

GOAL_POINTS_PER_S = 2e6
GOAL_PEAK_MB = 500.0
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
FIELD = "links.alice-bob.length_km"


def closed_form(length_km: np.ndarray) -> np.ndarray:
    """The key rate of the scenario from the model function alone. [bit/s]"""
    eta = 10 ** (-(0.2 * length_km + 1.0) / 10) * 0.85
    y0 = dark_count_probability(100.0, 1.0)  # 100 Hz in a 1 ns window
    bits = bb84_key_rate(
        eta, y0, 0.01, mean_photon_number=0.5, decoy="vacuum+weak", weak_decoy_photon_number=0.1
    )[0]
    return np.asarray(bits) * 1e9


def closed_form_seconds(points: int) -> float:
    """The closed form over the same lengths, chunk by chunk as the sweep runs. [s]"""
    step = 300.0 / (points - 1)
    start = time.perf_counter()
    for lo in range(0, points, CHUNK_POINTS):
        closed_form(np.arange(lo, min(lo + CHUNK_POINTS, points)) * step)
    return time.perf_counter() - start


def sweep_seconds(path: str, points: int, out: str) -> tuple[float, float]:
    """Wall time and peak memory of `qcalc sweep … -f csv -o out` in a fresh process,
    its worker processes included (:func:`measure.run_measured`). [s, MB]"""
    cmd = [sys.executable, "-m", "qcalc", "sweep", path, "--vary", f"{FIELD}=0:300:{points}"]
    cmd += ["-f", "csv", "-o", out]
    env = {**os.environ, "QCALC_MAX_SWEEP_POINTS": str(points)}
    code, seconds, _, peak_mb, stderr = run_measured(cmd, env)
    if code != 0:
        raise SystemExit(f"qcalc sweep failed: {stderr.decode()[:2000]}")
    return seconds, peak_mb


def check_first_rows(out: str, points: int) -> None:
    """The CSV's first rows are the closed form's numbers (to 1e-5: the chain carries
    terms the bare call leaves at their defaults; they differ by about 4e-7)."""
    with open(out, encoding="utf-8") as handle:
        header = handle.readline().strip()
        rows = [handle.readline() for _ in range(1000)]
    assert header == f"{FIELD},key_rate_bps", header
    table = np.array([[float(c) for c in r.split(",")] for r in rows])
    np.testing.assert_allclose(table[:, 1], closed_form(table[:, 0]), rtol=1e-5)


def held_against_streamed(path: str, points: int) -> None:
    """The sweep held whole and written at once (as `qcalc sweep -f csv` ran before it
    streamed) against the streamed sweep, in this process: same bytes, time and ratio."""
    vary = parse_vary(f"{FIELD}=0:300:{points}")
    start = time.perf_counter()
    held = run_sweep(path, [vary], ["key_rate_bps"]).to_csv().encode()
    held_s = time.perf_counter() - start
    chunks: list[bytes] = []
    start = time.perf_counter()
    stream_sweep(path, [vary], ["key_rate_bps"], None, CsvWriter(chunks.append))
    streamed_s = time.perf_counter() - start
    assert b"".join(chunks) == held, "the streamed CSV differs from the held one"
    print(
        f"{points:>11,} points in this process: held whole then written {held_s:6.1f} s, "
        f"streamed {streamed_s:6.1f} s (same bytes); streamed is {held_s / streamed_s:.2f}× faster"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, nargs="+", default=[10_000_000, 100_000_000])
    parser.add_argument("--held", type=int, default=1_000_000, help="points of the comparison")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    command = " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv])
    print(f"$ {command}")
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "bench-sweep.yaml")
        Path(path).write_text(SCENARIO, encoding="utf-8")
        out = str(Path(folder) / "sweep.csv")
        measured = []
        for points in args.points:
            seconds, peak_mb = sweep_seconds(path, points, out)
            check_first_rows(out, points)
            measured.append((points, seconds, peak_mb, os.path.getsize(out) / 1e6))
        if args.held:
            held_against_streamed(path, args.held)
        if args.profile:
            plan = plan_sweep(path, [parse_vary(f"{FIELD}=0:300:{CHUNK_POINTS}")], [], None)
            profiler = cProfile.Profile()
            profiler.runcall(evaluate_chunk, plan, 0, CHUNK_POINTS)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
        for points, seconds, peak_mb, size_mb in measured:
            model = closed_form_seconds(points)
            rate = points / seconds
            print(
                f"{points:>11,} points: qcalc sweep -f csv {seconds:7.1f} s "
                f"{rate:12,.0f} points/s, peak RSS {peak_mb:6.0f} MB (all processes), "
                f"CSV {size_mb:,.0f} MB; "
                f"closed form alone {model:6.1f} s; ratio {seconds / model:.2f}×"
            )
            verdict = "met" if rate >= GOAL_POINTS_PER_S and peak_mb <= GOAL_PEAK_MB else "NOT met"
            print(
                f"    goal ≥ {GOAL_POINTS_PER_S:,.0f} points/s and ≤ {GOAL_PEAK_MB:.0f} MB: "
                f"{verdict}"
            )


if __name__ == "__main__":
    main()
