"""Start-up of qcalc from a regular wheel install, against `python -c "import numpy, yaml"`.

Run: python bench/startup.py [--runs 11] [--site DIR]

Builds a wheel of this checkout (``pip wheel --no-deps``), installs it with
``pip install --no-deps --target`` into a scratch folder, compiles it to bytecode
(``python -m compileall``, as pip does on install) and runs it with this interpreter,
whose own packages supply numpy, yaml, typer. Every command, the baseline too, runs with
``python -S`` and those folders on PYTHONPATH after the wheel's: no ``.pth`` file runs,
so a development install's editable finder (5–10 ms at every start) is timed in neither,
as on a regular install. Each command runs as the console script does (``from qcalc.cli import
main; main()``), from a scratch folder, interleaved with the baseline, ``--runs`` times;
the script prints the medians of CPU time (user + system, steadier on a busy machine)
and of wall time, and their ratios to the baseline: as a user runs it (numpy's BLAS
starts its threads) and with BLAS pinned to one thread, as qcalc pins it for itself.

Goals (issue 16, item 1): ``qcalc stage scenarios/metro-fibre.yaml`` ≤ 1.5× the
baseline; ``qcalc rate`` of every bundled scenario ≤ 2×.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONSOLE = "import sys; from qcalc.cli import main; sys.argv[0] = 'qcalc'; main()"
BASELINE = "python -c 'import numpy, yaml'"
PINNED = "  the same, BLAS pinned to one thread"
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def install_wheel(folder: Path) -> Path:
    """Build and install this checkout's wheel into ``folder``/site; returns that path."""
    dist, site = folder / "dist", folder / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(dist), str(ROOT)], check=True)
    wheel = next(dist.glob("qcalc-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(site / "qcalc")], check=True)
    return site


def site_packages() -> list[str]:
    """This interpreter's package folders (numpy, yaml, typer), as ``site`` would add them."""
    import site

    return [p for p in site.getsitepackages() if os.path.isdir(p)]


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of ``cmd``; NaN for a run that failed
    (an older qcalc given with ``--site`` may refuse a newer scenario)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # 1: an expect block failed, still a full run
        return math.nan, math.nan
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--site", type=Path, help="an installed qcalc to use instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        site = args.site or install_wheel(Path(scratch))
        # -S: no .pth file runs, so this checkout's editable finder (a dev install's,
        # 5–10 ms) is in neither timing; the interpreter's packages come by PYTHONPATH
        packages = os.pathsep.join([str(site), *site_packages()])
        env = {**os.environ, "PYTHONPATH": packages}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        # qcalc pins BLAS to one thread before numpy loads; the baseline is timed both as
        # a user runs it (BLAS starts its threads) and pinned the same way
        pinned = {**env, **dict.fromkeys(BLAS_THREADS, "1")}
        probe = [sys.executable, "-S", "-c", "import qcalc; print(qcalc.__file__)"]
        where = subprocess.run(probe, env=env, capture_output=True, text=True, cwd=scratch)
        assert where.stdout.startswith(str(site)), where.stdout  # not an editable copy
        py = sys.executable
        py_args = [py, "-S"]
        commands = {
            BASELINE: [*py_args, "-c", "import numpy, yaml"],
            PINNED: [*py_args, "-c", "import numpy, yaml"],
        }
        scenarios = sorted((ROOT / "scenarios").glob("*.yaml"))
        metro = str(ROOT / "scenarios" / "metro-fibre.yaml")
        commands["qcalc stage metro-fibre.yaml"] = [*py_args, "-c", CONSOLE, "stage", metro]
        for path in scenarios:
            commands[f"qcalc rate {path.name}"] = [*py_args, "-c", CONSOLE, "rate", str(path)]
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, cmd in commands.items():
                times[name].append(timed(cmd, env if name == BASELINE else pinned, Path(scratch)))
    bases = {
        b: [statistics.median(t[i] for t in times[b]) for i in (0, 1)] for b in (BASELINE, PINNED)
    }
    print(
        f"medians of {args.runs} interleaved runs; ratios of CPU and wall time to the "
        "baseline as a user runs it, then [to the baseline with BLAS pinned]"
    )
    for name, runs in times.items():
        cpu = statistics.median(t[0] for t in runs)
        wall = statistics.median(t[1] for t in runs)
        goal = 1.5 if "stage" in name else 2.0 if "rate" in name else 1.0
        if math.isnan(cpu):
            print(f"{name:<48} failed (exit code ≠ 0, 1)")
            continue
        (b_cpu, b_wall), (p_cpu, p_wall) = bases[BASELINE], bases[PINNED]
        print(
            f"{name:<48} cpu {cpu * 1e3:4.0f} ms ×{cpu / b_cpu:4.2f} [×{cpu / p_cpu:4.2f}]  "
            f"wall {wall * 1e3:4.0f} ms ×{wall / b_wall:4.2f} [×{wall / p_wall:4.2f}]  "
            f"(goal ≤ {goal})"
        )


if __name__ == "__main__":
    main()
