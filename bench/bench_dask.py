"""A sweep on a Dask LocalCluster against the same sweep in one process, side by side.

Run: .venv/bin/python bench/bench_dask.py [--points 4000000] [--workers 2]

Runs `qcalc sweep … -f csv -o FILE` of the bench scenario (bench/bench_sweep.py) without a
scheduler (a worker process per core on this machine) and with `--scheduler local:N`, checks the two files are the same byte for byte and prints
the wall times and their ratio (the cluster's start, about 2–4 s, included). Needs the
dask extra: pip install 'qcalc[dask]'.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_sweep import FIELD, SCENARIO


def sweep(path: str, points: int, out: str, scheduler: list[str]) -> float:
    """Wall time of one `qcalc sweep` to CSV in a fresh process. [s]"""
    cmd = [sys.executable, "-m", "qcalc", "sweep", path, "--vary", f"{FIELD}=0:300:{points}"]
    cmd += ["-f", "csv", "-o", out, *scheduler]
    env = {**os.environ, "QCALC_MAX_SWEEP_POINTS": str(points)}
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"qcalc sweep failed ({done.returncode}): {done.stderr[:2000]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=4_000_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    command = " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv])
    print(f"$ {command}")
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "bench-sweep.yaml")
        Path(path).write_text(SCENARIO, encoding="utf-8")
        here, there = str(Path(folder) / "local.csv"), str(Path(folder) / "dask.csv")
        local_s = sweep(path, args.points, here, [])
        dask_s = sweep(path, args.points, there, ["--scheduler", f"local:{args.workers}"])
        same = filecmp.cmp(here, there, shallow=False)
        print(
            f"{args.points:,} points to CSV: without --scheduler (worker processes here, "
            f"one per core) {local_s:6.1f} s "
            f"({args.points / local_s:,.0f} points/s); --scheduler local:{args.workers} "
            f"{dask_s:6.1f} s ({args.points / dask_s:,.0f} points/s); "
            f"speed-up {local_s / dask_s:.2f}×; same bytes: {'yes' if same else 'NO'}"
        )
        if not same:
            raise SystemExit("the cluster's CSV differs from the local one")


if __name__ == "__main__":
    main()
