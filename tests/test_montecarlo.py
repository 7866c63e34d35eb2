"""Monte Carlo cross-check of qcalc.protocols.repeater (fixed seeds, 99 % intervals)."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest

from qcalc.protocols import repeater as rp
from qcalc.protocols.montecarlo import Z_99, MonteCarloResult, simulate_repeater

#: Trials per simulation: the 99 % half-width is ≈ 1–2 % of the mean waiting time. [count]
TRIALS = 20_000
#: Slack for intervals of zero width (deterministic fidelities). [absolute]
ROUNDING = 1e-12


def inside(value: float, interval: tuple[float, float]) -> bool:
    """Whether ``value`` lies in the closed ``interval`` (with rounding slack)."""
    return interval[0] - ROUNDING <= value <= interval[1] + ROUNDING


def test_z99_is_normal_quantile() -> None:
    # Φ⁻¹(0.995) = 2.5758293035489 (Abramowitz & Stegun, Table 26.5).
    assert pytest.approx(NormalDist().inv_cdf(0.995), rel=1e-12) == Z_99


@pytest.mark.parametrize(("p", "a", "seed"), [(0.2, 1.0, 1), (0.2, 0.5, 2), (0.05, 0.8, 3)])
def test_two_segments_agree_with_closed_form(p: float, a: float, seed: int) -> None:
    # Exact K2 = (3 − 2p)/(a p (2 − p)) (Shchukin et al., PRA 100, 032322 (2019)).
    result = simulate_repeater(p, a, 2, trials=TRIALS, seed=seed)
    exact = float(rp.two_segment_waiting_time(p, a))
    assert inside(exact, result.attempts_ci99), (exact, result)


@pytest.mark.parametrize(("p", "a", "seed"), [(0.1, 1.0, 4), (0.1, 0.5, 5), (0.4, 0.3, 6)])
def test_four_segments_agree_with_markov_chain(p: float, a: float, seed: int) -> None:
    # The Markov chain reproduces Eq. (64) of Shchukin et al. (arXiv:1710.06214).
    result = simulate_repeater(p, a, 4, trials=TRIALS, seed=seed)
    exact = float(rp.markov_waiting_time(p, a, 4))
    assert inside(exact, result.attempts_ci99), (exact, result)


def test_eight_segments_agree_with_markov_chain() -> None:
    result = simulate_repeater(0.3, 0.6, 8, trials=5_000, seed=7)
    exact = float(rp.markov_waiting_time(0.3, 0.6, 8))
    assert inside(exact, result.attempts_ci99), (exact, result)


@pytest.mark.parametrize("cutoff", [np.inf, 3, 0])
def test_two_segment_fidelity_with_decoherence_and_cutoff(cutoff: float) -> None:
    p, a, f0, tau, t_pair = 0.2, 0.7, 0.95, 1.0, 7.0
    result = simulate_repeater(
        p,
        a,
        2,
        link_fidelity=f0,
        attempt_time_s=tau,
        pair_coherence_time_s=t_pair,
        cutoff_attempts=cutoff,
        trials=TRIALS,
        seed=8,
    )
    exact_f = float(rp.two_segment_fidelity(f0, p, tau, t_pair, cutoff))
    exact_k = float(rp.two_segment_waiting_time(p, a, cutoff))
    assert inside(exact_f, result.fidelity_ci99), (exact_f, result)
    assert inside(exact_k, result.attempts_ci99), (exact_k, result)


def test_fidelity_without_memory_decay_is_the_werner_chain() -> None:
    # Four ideal swaps of Werner pairs: w' = w⁴ (Dür & Briegel 2007, Sec. 6), no spread.
    f0 = 0.9
    result = simulate_repeater(0.3, 0.5, 4, link_fidelity=f0, trials=1_000, seed=9)
    w = (4 * f0 - 1) / 3
    assert result.mean_fidelity == pytest.approx(0.25 + 0.75 * w**4, rel=1e-12)


def test_three_halves_approximation_deviates_visibly() -> None:
    # Four segments, a = 1, p = 0.1: exact K4 = 20.27 attempts, Sangouard's (3/2)² / p
    # = 22.5 is 11 % high; the Monte Carlo interval (±1 %) contains the exact value and
    # excludes the approximation.
    result = simulate_repeater(0.1, 1.0, 4, trials=TRIALS, seed=10)
    approx = float(rp.approx_waiting_time(0.1, 1.0, 4))
    exact = float(rp.markov_waiting_time(0.1, 1.0, 4))
    assert inside(exact, result.attempts_ci99)
    assert not inside(approx, result.attempts_ci99)
    deviation = approx / result.mean_attempts - 1.0
    assert 0.08 < deviation < 0.14, deviation


def test_seeded_and_reproducible() -> None:
    first = simulate_repeater(0.3, 0.5, 4, trials=500, seed=11)
    again = simulate_repeater(0.3, 0.5, 4, trials=500, seed=11)
    other = simulate_repeater(0.3, 0.5, 4, trials=500, seed=12)
    assert isinstance(first, MonteCarloResult)
    assert first == again
    assert first.mean_attempts != other.mean_attempts
    assert first.trials == 500


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"p": 0.0}, "p is 0.0"),
        ({"p": 0.5, "a": 0.0}, "a is 0.0"),
        ({"p": 0.5, "segments": 0}, "segments is 0"),
        ({"p": 0.5, "trials": 1}, "trials is 1"),
        ({"p": 0.5, "cutoff_attempts": 1.5}, "cutoff_attempts is 1.5"),
        ({"p": 0.5, "pair_coherence_time_s": 0.0}, "pair_coherence_time_s is 0.0"),
        ({"p": 0.5, "link_fidelity": 1.1}, "link_fidelity is 1.1"),
    ],
)
def test_invalid_inputs_raise(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        simulate_repeater(**kwargs)  # type: ignore[arg-type]
