"""Milliseconds per scenario and peak memory of `qcalc batch` on 1,000 and 10,000 scenarios.

Run: .venv/bin/python bench/bench_batch.py [--sizes 1000 10000] [--jobs 1 2] [--profile]
Goals (issue 16): at most 1.5 ms per scenario with --jobs 2 on 2 cores, --jobs 2 at least
1.6× faster than --jobs 1 (the ratio is measured side by side, same files, same run), and
a peak RSS that stays flat in the number of scenarios (≤ 200 MB for 10,000). The peak
is the resident memory of the command and its workers, summed, sampled every 20 ms
(bench/measure.py; the kernel's own peak of a child carries this bench's at fork).
The scenarios are a fixed mix, a quarter each: one fibre link of 5–150 km, a
trusted-relay chain of 3–10 hops, a satellite downlink at 20–90° elevation, and an
MDI-QKD measuring relay with 10–150 km arms. Each holds an `expect` block.
`--profile` prints the top costs of evaluating one scenario of each kind (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import pstats
import shlex
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from measure import run_measured

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS = 1.5
GOAL_RATIO = 1.6
GOAL_PEAK_MB = 200.0
SEED = 7

HEADER = """\
qcalc: 1
name: {name}
hardware:
  detectors:
    snspd: {{efficiency: 0.8, dark_count_probability: 1.0e-7}}
  sources:
    wcp: {{kind: weak_coherent, repetition_rate_hz: 1.0e9, mean_photon_number: 0.5,
          decoy_photon_numbers: [0.1, 0.0]}}
"""


def fibre(i: int, rng: np.random.Generator) -> str:
    length = rng.uniform(5, 150)
    return HEADER.format(name=f"fibre {i}") + (
        "nodes:\n  alice: {source: wcp}\n  bob: {detector: snspd}\n"
        f"links:\n  - {{ends: [alice, bob], length_km: {length:.2f}, extra_loss_db: 1.0}}\n"
        "demands:\n  - {name: key, ends: [alice, bob], expect: {stage: '>= 1'}}\n"
    )


def chain(i: int, rng: np.random.Generator) -> str:
    hops = int(rng.integers(3, 11))
    names = ["a", *(f"r{k}" for k in range(1, hops)), "b"]
    nodes = "".join(f"  {n}: {{role: {'end' if n in 'ab' else 'trusted_relay'}}}\n" for n in names)
    links = "".join(
        f"  - {{ends: [{x}, {y}], length_km: {rng.uniform(20, 80):.2f}}}\n"
        for x, y in zip(names, names[1:], strict=False)
    )
    return (
        HEADER.format(name=f"chain {i}")
        + "defaults: {source: wcp, detector: snspd}\n"
        + f"nodes:\n{nodes}links:\n{links}"
        + "demands:\n  - {name: key, ends: [a, b], expect: {stage: '== 1'}}\n"
    )


def satellite(i: int, rng: np.random.Generator) -> str:
    elevation = rng.uniform(20, 90)
    return HEADER.format(name=f"satellite {i}") + (
        "nodes:\n  sat: {source: wcp, orbit: {altitude_km: 500}}\n  ogs: {detector: snspd}\n"
        "links:\n  - {name: downlink, ends: [sat, ogs], channel: satellite, "
        f"elevation_deg: {elevation:.1f}, wavelength_nm: 850, tx_aperture_m: 0.3, "
        "rx_aperture_m: 1.0, divergence_urad: 10, zenith_transmittance: 0.8}\n"
        "demands:\n  - {name: key, ends: [sat, ogs], expect: {key_rate_bps: '>= 0'}}\n"
    )


def mdi(i: int, rng: np.random.Generator) -> str:
    arm = rng.uniform(10, 150)
    return HEADER.format(name=f"mdi {i}") + (
        "nodes:\n  alice: {source: wcp}\n  charlie: {role: untrusted_relay, detector: snspd}\n"
        "  bob: {source: wcp}\n"
        f"links:\n  - {{ends: [alice, charlie], length_km: {arm:.2f}}}\n"
        f"  - {{ends: [charlie, bob], length_km: {arm:.2f}}}\n"
        "demands:\n  - {name: key, ends: [alice, bob], protocol: mdi-qkd, "
        "expect: {stage: '>= 0'}}\n"
    )


KINDS: tuple[Callable[[int, np.random.Generator], str], ...] = (fibre, chain, satellite, mdi)


def generate(folder: Path, count: int) -> None:
    """Write ``count`` scenarios, the four kinds in turn, the same ones on every run."""
    rng = np.random.default_rng(SEED)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        text = KINDS[i % len(KINDS)](i, rng)
        (folder / f"s{i:04d}-{KINDS[i % len(KINDS)].__name__}.yaml").write_text(text, "utf-8")


def run_batch(folder: Path, jobs: int) -> tuple[float, float, float, dict[str, int], str]:
    """Wall time, CPU time (all processes), peak memory (all processes, summed), the
    summary and the SHA-256 of the report of `qcalc batch FOLDER -f json --jobs N`.
    [s, s, MB]"""
    out = folder.parent / f"report-{jobs}.json"
    cmd = [sys.executable, "-m", "qcalc", "batch", str(folder), "--format", "json"]
    cmd += ["--jobs", str(jobs), "--output", str(out)]
    code, seconds, cpu, peak_mb, stderr = run_measured(cmd, cwd=str(ROOT))
    if code not in (0, 1):
        raise SystemExit(f"qcalc batch failed ({code}): {stderr[:2000]!r}")
    digest = hashlib.sha256()
    with open(out, "rb") as handle:
        head = handle.read(1 << 16).decode("utf-8", "replace")
        digest.update(head.encode())
        while block := handle.read(1 << 20):
            digest.update(block)
    # The summary heads the report: read it without loading every entry.
    summary = json.loads(head.split('"scenarios": [', 1)[0] + '"scenarios": []}')["summary"]
    out.unlink()
    return seconds, cpu, peak_mb, summary, digest.hexdigest()


def profile_one_of_each(folder: Path) -> None:
    from qcalc.batch import evaluate_file

    for kind in KINDS:
        path = str(next(folder.glob(f"*-{kind.__name__}.yaml")))
        evaluate_file(path)  # warm the imports
        profiler = cProfile.Profile()
        profiler.runcall(evaluate_file, path)
        print(f"\n--- cProfile of one {kind.__name__} scenario ({path}) ---")
        pstats.Stats(profiler).sort_stats("cumtime").print_stats(12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    command = " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv])
    print(f"$ {command}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            folder = Path(tmp) / str(size) / "scenarios"
            generate(folder, size)
            times: dict[int, float] = {}
            reports = []
            for jobs in args.jobs:
                seconds, cpu, peak_mb, summary, digest = run_batch(folder, jobs)
                assert summary["files"] == size and summary["errors"] == 0, summary
                times[jobs] = seconds
                reports.append(digest)
                print(
                    f"{size:6,d} scenarios, --jobs {jobs}: {seconds:7.2f} s  "
                    f"{seconds / size * 1e3:6.2f} ms/scenario  CPU {cpu / size * 1e3:6.2f} "
                    f"ms/scenario  peak RSS {peak_mb:5.0f} MB (all processes)  "
                    f"({summary['passed']} passed, {summary['failed']} failed)"
                )
            assert all(r == reports[0] for r in reports), "--jobs changed the report"
            if 1 in times and 2 in times:
                ratio = times[1] / times[2]
                ms = times[2] / size * 1e3
                verdict = "met" if ms <= GOAL_MS and ratio >= GOAL_RATIO else "NOT met"
                print(
                    f"    --jobs 2 is {ratio:.2f}× --jobs 1 (same report, byte for byte); goal "
                    f"≤ {GOAL_MS:g} ms/scenario and ≥ {GOAL_RATIO:g}×: {verdict}"
                )
        if args.profile:
            profile_one_of_each(Path(tmp) / str(args.sizes[0]) / "scenarios")


if __name__ == "__main__":
    main()
