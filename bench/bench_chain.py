"""Wall time of exact repeater-chain statistics (qcalc.protocols.chain).

Issue 11 target: exact statistics for 16 and 64 segments with cut-offs in under 1 s each.
Sweep target (qcalc.delivery evaluates one chain per sweep point and per lever bisection
step): ≲ 0.05 s per call typically, never more than ≈ 0.3 s for m ≤ 64 at any p.

Run: ``python bench/bench_chain.py [max_points]`` (default 2**15, the grid recommended to
qcalc.delivery). Prints one line per case (best of 3 runs), then the sweep table: m ∈ {2,
4, 8, 16, 64} × p ∈ {1e-6, 1e-4, 1e-2, 0.7} × {no cut-off, cut-off 10/p}, for equal
segments and for segments whose p differ by up to ±20 % (every block distinct), with
link fidelity 0.9, swap probability 0.5 and node decay rate 0.1 p per attempt.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable

import numpy as np

from qcalc.protocols.chain import ChainStatistics, chain_statistics, distil_statistics

CASES = [
    # (segments, p, a, node decay rate [1/attempt], cut-off [attempts], per-segment p?)
    (16, 0.01, 0.9, 1e-4, 1000, False),
    (16, 0.001, 0.5, 1e-5, 20000, False),
    (64, 0.01, 0.9, 1e-5, 2000, False),
    (64, 0.05, 0.8, 1e-4, 200, False),
    (64, 0.05, 0.8, 1e-4, 200, True),
    (1024, 0.5, 0.95, 1e-3, np.inf, False),
]

#: Sweep table axes.
TABLE_SEGMENTS = (2, 4, 8, 16, 64)
TABLE_PROBABILITIES = (1e-6, 1e-4, 1e-2, 0.7)
#: Cut-off of the table's cut-off column, in mean elementary-link times 1/p. [unitless]
TABLE_CUTOFF_TIMES_P = 10.0


def best_of(fn: Callable[[], object], runs: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def issue_cases(max_points: int) -> None:
    rng = np.random.default_rng(0)
    for m, p, a, rate, cutoff, varied in CASES:
        probabilities = rng.uniform(0.8 * p, 1.2 * p, m) if varied else p
        seconds, stats = best_of(
            lambda: chain_statistics(
                probabilities,  # noqa: B023 - called within this iteration
                m,  # noqa: B023
                link_fidelity=0.99,
                swap_probability=a,  # noqa: B023
                node_decay_rate_per_attempt=rate,  # noqa: B023
                cutoff_attempts=cutoff,  # noqa: B023
                max_points=max_points,
            )
        )
        print(
            f"{m:5d} segments p={p:g}{' (varied)' if varied else ''} a={a} r={rate:g} "
            f"c={cutoff:g}: {seconds:6.3f} s  E[T]={stats.mean_attempts:.5g} attempts "  # type: ignore[attr-defined]
            f"F={stats.fidelity:.4f} dropped={stats.dropped_mass:.1e} "  # type: ignore[attr-defined]
            f"k={stats.attempts_per_step} N={stats.walsh.shape[1]} {stats.reason}"  # type: ignore[attr-defined]
        )
    base = chain_statistics(
        0.01,
        16,
        link_fidelity=0.99,
        swap_probability=0.9,
        node_decay_rate_per_attempt=1e-4,
        cutoff_attempts=1000,
        max_points=max_points,
    )
    for parallel in (True, False):
        seconds, out = best_of(
            lambda: distil_statistics(
                base,
                "dejmps",
                2,
                parallel=parallel,  # noqa: B023 - called within this iteration
                end_decay_rate_per_attempt=2e-5,
                communication_attempts=16,
                max_points=max_points,
            )
        )
        print(
            f"16 segments + 2 DEJMPS rounds ({'parallel' if parallel else 'sequential'}): "
            f"{seconds:6.3f} s  E[T]={out.mean_attempts:.5g} F={out.fidelity:.4f} "  # type: ignore[attr-defined]
            f"p_round={out.round_success_probabilities}"  # type: ignore[attr-defined]
        )


def sweep_table(max_points: int) -> None:
    """Seconds per call (best of 3) over the sweep grid; '*' marks a chain reported as
    too slow to evaluate, '+' one whose dropped mass exceeds the tolerance."""
    rng = np.random.default_rng(1)
    print(f"\nsweep table, max_points = {max_points} (seconds per call, best of 3)")
    for varied in (False, True):
        label = "segments' p varied by up to ±20 %" if varied else "equal segments"
        for cut in (False, True):
            title = f"cut-off {TABLE_CUTOFF_TIMES_P:g}/p" if cut else "no cut-off"
            print(f"\n{label}, {title}")
            print("   m " + "".join(f"{p:>11g}" for p in TABLE_PROBABILITIES))
            for m in TABLE_SEGMENTS:
                cells = []
                for p in TABLE_PROBABILITIES:
                    probabilities = rng.uniform(0.8 * p, min(1.2 * p, 1.0), m) if varied else p
                    cutoff = math.floor(TABLE_CUTOFF_TIMES_P / p) if cut else np.inf
                    seconds, stats = best_of(
                        lambda: chain_statistics(
                            probabilities,  # noqa: B023 - called within this iteration
                            m,  # noqa: B023
                            link_fidelity=0.9,
                            swap_probability=0.5,
                            node_decay_rate_per_attempt=0.1 * p,  # noqa: B023
                            cutoff_attempts=cutoff,  # noqa: B023
                            max_points=max_points,
                        )
                    )
                    assert isinstance(stats, ChainStatistics)
                    mark = "*" if stats.reason else ("+" if stats.dropped_mass > 1e-10 else " ")
                    cells.append(f"{seconds:10.4f}{mark}")
                print(f"{m:4d} " + "".join(cells))
    print("\n* too slow to evaluate (reason given), + dropped mass above the tolerance")


def main() -> None:
    max_points = int(sys.argv[1]) if len(sys.argv) > 1 else 2**15
    start = time.perf_counter()
    chain_statistics(0.5, 2)  # first call (imports)
    print(f"first call: {time.perf_counter() - start:.3f} s")
    issue_cases(max_points)
    sweep_table(max_points)


if __name__ == "__main__":
    main()
