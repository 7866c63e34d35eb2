"""Start-up of `qcalc stage` on a bundled scenario against `python -c "import numpy, yaml"`.

Run: .venv/bin/python bench/startup.py [--runs 15]
Goal (issue 2): the ratio of medians at most 2.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def median_seconds(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    py = sys.executable
    # An installed qcalc runs from bytecode (pip compiles on install); an editable one
    # under PYTHONDONTWRITEBYTECODE would recompile every module on every start.
    subprocess.run(
        [py, "-m", "compileall", "-q", str(ROOT / "qcalc")], check=True, capture_output=True
    )
    baseline = median_seconds([py, "-c", "import numpy, yaml"], args.runs)
    stage = median_seconds(
        [py, "-m", "qcalc", "stage", "scenarios/metro-fibre.yaml", "--format", "json"], args.runs
    )
    print(f"python -c 'import numpy, yaml': {baseline * 1e3:7.1f} ms (median of {args.runs})")
    print(f"qcalc stage metro-fibre.yaml:   {stage * 1e3:7.1f} ms (median of {args.runs})")
    print(f"ratio: {stage / baseline:.2f} (goal ≤ 2)")


if __name__ == "__main__":
    main()
