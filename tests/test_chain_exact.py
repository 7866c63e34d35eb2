"""Exact repeater-chain statistics (qcalc.protocols.chain) against independent numbers.

References used below:
- closed forms of qcalc.protocols.repeater (two segments with cut-off and decay; the
  Markov chain of Shchukin, Schmidt, van Loock, PRA 100, 032322 (2019), and its Eq. (64));
- numbers computed with the reference implementation of Li, Coopmans, Elkouss, IEEE Trans.
  Quantum Eng. 2, 4100815 (2021), repo BoxiLi/repeater-cut-off-optimization, commit
  c9245ed93c136a0ba3c420c21922ebbbcb00ad74 (``repeater_sim`` with cut_type
  "memory_time", the same cut-off at every level, t_trunc 4000–16000, truncated mass
  < 1e-13), run unmodified except for numpy 2 / no-numba shims;
- the seeded Monte Carlo of qcalc.protocols.montecarlo (same protocol);
- a hand summation of one distillation round over the two-segment waiting distribution;
- the continuous-time (p → 0) limits of the mean delivery time: the latest of m unit
  exponentials, H_m = Σ 1/j, for deterministic swaps, and 3/(2a) (two segments) and
  (54 − 4a)/(24 a²) (four segments, Eq. (64) of Shchukin et al. at p → 0);
- the mean of the latest of independent geometric times with different p (deterministic
  swaps), by inclusion–exclusion (B. Eisenberg, Stat. Probab. Lett. 78, 135 (2008)).
"""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from qcalc.protocols import chain as ch
from qcalc.protocols import repeater as rp
from qcalc.protocols.distillation import bbpssw, dejmps
from qcalc.protocols.montecarlo import simulate_chain

#: Agreement with closed forms / the reference implementation (floating point only).
EXACT_RTOL = 1e-9
#: Slack for Monte Carlo intervals of zero width (deterministic fidelities). [absolute]
ROUNDING = 1e-12
#: Coarse-graining (k p ≤ 0.01, c/k ≥ 30 steps) changes the mean by O(k p). [relative]
COARSE_RTOL = 5e-3
#: Coarse-graining keeps every mean time (segments' successes and merged steps split
#: between neighbouring grid points, cut-off boundary step weighted by its share), so its
#: error is of second order in the step: ≤ 4e-5 measured on the fixed cases below; the
#: documented bound (chain_statistics Notes, worst with tight cut-offs) is 3e-4.
#: [relative]
COARSE_GRAINING_RTOL = 3e-4
#: Grid of the coarse-graining tests: the one recommended to qcalc.delivery. [points]
SWEEP_MAX_POINTS = 2**15


def werner_fidelity(w: float) -> float:
    return (1.0 + 3.0 * w) / 4.0


def stated_step_error(method: str) -> float:
    """Largest k·p of the segments as stated in a coarse-grained ``method`` line."""
    found = re.search(r"k·p ≤ ([0-9.e+-]+)", method)
    assert found, method
    return float(found.group(1))


def inside(value: float, interval: tuple[float, float]) -> bool:
    return interval[0] - ROUNDING <= value <= interval[1] + ROUNDING


# --------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("cutoff", [np.inf, 0, 3, 12])
@pytest.mark.parametrize(
    ("p", "a", "t_pair"), [(0.2, 0.7, 7.0), (0.05, 1.0, 50.0), (0.9, 0.3, 2.0)]
)
def test_two_segments_match_closed_forms(p: float, a: float, t_pair: float, cutoff: float) -> None:
    f0 = 0.95
    stats = ch.chain_statistics(
        p,
        2,
        link_fidelity=f0,
        swap_probability=a,
        node_decay_rate_per_attempt=1.0 / (2.0 * t_pair),  # T_pair = T/2
        cutoff_attempts=cutoff,
    )
    k2 = float(rp.two_segment_waiting_time(p, a, cutoff))
    f2 = float(rp.two_segment_fidelity(f0, p, 1.0, t_pair, cutoff))
    assert stats.mean_attempts == pytest.approx(k2, rel=EXACT_RTOL)
    assert stats.fidelity == pytest.approx(f2, rel=EXACT_RTOL)
    assert stats.dropped_mass < ch.DEFAULT_MASS_TOLERANCE
    assert stats.attempts_per_step == 1


@pytest.mark.parametrize("m", range(3, 9))
@pytest.mark.parametrize(("p", "a"), [(0.3, 0.6), (0.05, 1.0), (0.7, 0.2)])
def test_markov_chain_waiting_times(m: int, p: float, a: float) -> None:
    stats = ch.chain_statistics(p, m, swap_probability=a)
    assert stats.mean_attempts == pytest.approx(
        float(rp.markov_waiting_time(p, a, m)), rel=EXACT_RTOL
    )


@pytest.mark.parametrize(("p", "a"), [(0.01, 0.5), (0.3, 0.3), (0.9, 1.0)])
def test_four_segments_shchukin_eq64(p: float, a: float) -> None:
    # Eq. (64) of Shchukin, Schmidt, van Loock, arXiv:1710.06214 (PRA 100, 032322 (2019)).
    numerator = (
        2 * a**2 * p**4 * (p - 1) * (2 * p - 3)
        - a * (20 * p**5 - 72 * p**4 + 93 * p**3 - 53 * p**2 + 10 * p + 4)
        + 3 * (3 - 2 * p) ** 2 * (2 * p**2 - 3 * p + 2)
    )
    denominator = (
        a**2 * p * (2 - p) * (a * p**2 - (a + 2) * p + 3) * (-a * p**3 + 4 * p**2 - 6 * p + 4)
    )
    stats = ch.chain_statistics(p, 4, swap_probability=a)
    assert stats.mean_attempts == pytest.approx(numerator / denominator, rel=EXACT_RTOL)


# (segments, p, a, w0, t_coh [attempts], cut-off, mean T [attempts], mean Werner parameter)
# from the reference implementation of Li et al. (2021), commit c9245ed, see module doc.
LI_REFERENCE = [
    (4, 0.1, 0.5, 0.98, 400, None, 84.81758040972922, 0.8269017423517353),
    (4, 0.1, 0.5, 0.98, 400, 25, 107.67844315626606, 0.8649543529282326),
    (8, 0.1, 0.5, 0.98, 400, None, 242.34837242250848, 0.5794779641651601),
    (8, 0.1, 0.5, 0.98, 400, 40, 436.57530473693714, 0.6909413509592551),
    (16, 0.2, 0.8, 0.99, 300, None, 44.688535193067494, 0.6056276834190981),
    (16, 0.2, 0.8, 0.99, 300, 30, 52.61314266988034, 0.6307584841466702),
]


@pytest.mark.parametrize(("m", "p", "a", "w0", "t_coh", "cutoff", "mean_t", "mean_w"), LI_REFERENCE)
def test_li_coopmans_elkouss_reference(
    m: int,
    p: float,
    a: float,
    w0: float,
    t_coh: float,
    cutoff: int | None,
    mean_t: float,
    mean_w: float,
) -> None:
    stats = ch.chain_statistics(
        p,
        m,
        link_fidelity=werner_fidelity(w0),
        swap_probability=a,
        node_decay_rate_per_attempt=1.0 / (2.0 * t_coh),  # Li et al.: e^{−|t1 − t2|/t_coh}
        cutoff_attempts=np.inf if cutoff is None else cutoff,
    )
    assert stats.mean_attempts == pytest.approx(mean_t, rel=EXACT_RTOL)
    assert stats.fidelity == pytest.approx(werner_fidelity(mean_w), rel=EXACT_RTOL)
    assert stats.dropped_mass < ch.DEFAULT_MASS_TOLERANCE
    assert float(stats.pmf.sum()) == pytest.approx(1.0, abs=ch.DEFAULT_MASS_TOLERANCE)


# --------------------------------------------------------------------------- Monte Carlo


@pytest.mark.parametrize("m", [2, 4, 8, 16])
@pytest.mark.parametrize("condition", ["decoherence", "cut-off", "both"])
def test_monte_carlo_agrees(m: int, condition: str) -> None:
    kwargs: dict[str, object] = {"link_fidelity": 0.97, "swap_probability": 0.8}
    if condition != "cut-off":
        kwargs["node_decay_rate_per_attempt"] = 0.01
    if condition != "decoherence":
        kwargs["cutoff_attempts"] = 6 * (1 + m // 4)
    stats = ch.chain_statistics(0.3, m, **kwargs)  # type: ignore[arg-type]
    sim = simulate_chain(0.3, m, trials=3000, seed=m, **kwargs)  # type: ignore[arg-type]
    assert inside(stats.mean_attempts, sim.attempts_ci99), (stats.mean_attempts, sim)
    assert inside(stats.fidelity, sim.fidelity_ci99), (stats.fidelity, sim)


@pytest.mark.parametrize("m", [3, 5, 8])
def test_monte_carlo_agrees_per_segment_dephasing(m: int) -> None:
    rng = np.random.default_rng(m)
    kwargs = {
        "swap_probability": rng.uniform(0.6, 1.0, m - 1),
        "swap_gate_factor": rng.uniform(0.95, 1.0, m - 1),
        "node_decay_rate_per_attempt": rng.uniform(0.0, 0.02, m + 1),
        "link_weights": [0.93, 0.01, 0.02, 0.04],
        "noise": "dephasing",
        "cutoff_attempts": 10,
    }
    p = rng.uniform(0.2, 0.5, m)
    stats = ch.chain_statistics(p, **kwargs)  # type: ignore[arg-type]
    sim = simulate_chain(p, trials=3000, seed=m, **kwargs)  # type: ignore[arg-type]
    assert inside(stats.mean_attempts, sim.attempts_ci99), (stats.mean_attempts, sim)
    assert inside(stats.fidelity, sim.fidelity_ci99), (stats.fidelity, sim)


# --------------------------------------------------------------------------- states


def test_werner_chain_without_decay_is_product_of_werner_parameters() -> None:
    # Ideal swaps of Werner pairs: w' = Π w_i (Dür & Briegel 2007, Sec. 6), times gate factors.
    f = [0.99, 0.95, 0.9, 0.97, 0.92]
    gates = [0.99, 0.98, 0.97, 0.96]
    stats = ch.chain_statistics(0.4, 5, link_fidelity=f, swap_gate_factor=gates)
    w = np.prod([(4 * x - 1) / 3 for x in f]) * np.prod(gates)
    assert stats.fidelity == pytest.approx(werner_fidelity(float(w)), rel=1e-12)


def test_dephasing_keeps_the_z_correlator() -> None:
    # Pure dephasing mixes Φ+ with Φ− only: A + D and B + C are conserved
    # (Nielsen & Chuang (2000), Sec. 8.3.6); with perfect pairs B = C = 0 always.
    stats = ch.chain_statistics(
        0.1, 4, node_decay_rate_per_attempt=0.05, noise="dephasing", swap_probability=0.7
    )
    a, b, c, d = stats.bell_weights
    assert b == pytest.approx(0.0, abs=1e-12) and c == pytest.approx(0.0, abs=1e-12)
    assert a + d == pytest.approx(1.0, abs=1e-12)
    depolarised = ch.chain_statistics(
        0.1, 4, node_decay_rate_per_attempt=0.05, noise="depolarising", swap_probability=0.7
    )
    assert stats.fidelity > depolarised.fidelity


def test_scalar_and_per_segment_lists_agree() -> None:
    scalar = ch.chain_statistics(
        0.2,
        6,
        link_fidelity=0.95,
        swap_probability=0.6,
        node_decay_rate_per_attempt=0.003,
        cutoff_attempts=30,
    )
    lists = ch.chain_statistics(
        [0.2] * 6,
        link_weights=[[0.95, 0.05 / 3, 0.05 / 3, 0.05 / 3]] * 6,
        swap_probability=[0.6] * 5,
        swap_gate_factor=[1.0] * 5,
        node_decay_rate_per_attempt=[0.003] * 7,
        cutoff_attempts=30,
    )
    assert lists.mean_attempts == pytest.approx(scalar.mean_attempts, rel=1e-12)
    assert lists.fidelity == pytest.approx(scalar.fidelity, rel=1e-12)
    slower = ch.chain_statistics([0.2] * 5 + [0.1], swap_probability=0.6)
    assert slower.mean_attempts > scalar.mean_attempts


def test_coarse_graining_is_close_and_reported() -> None:
    kwargs = {"swap_probability": 0.7, "node_decay_rate_per_attempt": 2e-4, "cutoff_attempts": 4000}
    exact = ch.chain_statistics(1e-3, 4, **kwargs)  # type: ignore[arg-type]
    coarse = ch.chain_statistics(1e-3, 4, max_points=2**14, **kwargs)  # type: ignore[arg-type]
    assert exact.attempts_per_step == 1
    assert coarse.attempts_per_step > 1 and "coarse-grained" in coarse.method
    assert coarse.mean_attempts == pytest.approx(exact.mean_attempts, rel=COARSE_RTOL)
    assert coarse.fidelity == pytest.approx(exact.fidelity, rel=COARSE_RTOL)


def test_small_p_stays_bounded_and_reports_dropped_mass() -> None:
    stats = ch.chain_statistics(1e-6, 8, swap_probability=0.5)
    assert stats.walsh.shape[1] <= ch.DEFAULT_MAX_POINTS
    assert 0.0 <= stats.dropped_mass < ch.DEFAULT_MASS_TOLERANCE
    # small-p limit of the Markov chain (leading order in p): K p → const
    assert stats.mean_attempts == pytest.approx(
        float(rp.markov_waiting_time(1e-6, 0.5, 8)), rel=2e-3
    )
    assert stats.pair_rate_hz(1e-3) == pytest.approx(1.0 / (stats.mean_attempts * 1e-3))


def test_hopeless_chain_is_reported_not_counted() -> None:
    stats = ch.chain_statistics(
        0.01, 64, swap_probability=0.9, cutoff_attempts=300, max_points=2**12
    )
    assert stats.reason and "too slow" in stats.reason
    assert stats.pair_rate_hz(1e-3) == 0.0
    assert stats.dropped_mass > ch.MAX_DROPPED_MASS


def test_non_power_of_two_and_large_chains() -> None:
    stats = ch.chain_statistics(0.5, 1024, swap_probability=0.95, link_fidelity=0.999)
    assert stats.dropped_mass < ch.DEFAULT_MASS_TOLERANCE
    w = ((4 * 0.999 - 1) / 3) ** 1024
    assert stats.fidelity == pytest.approx(werner_fidelity(w), rel=1e-9)
    odd = ch.chain_statistics(0.3, 7, swap_probability=0.6)
    assert odd.mean_attempts == pytest.approx(
        float(rp.markov_waiting_time(0.3, 0.6, 7)), rel=EXACT_RTOL
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"success_probability": 0.0}, "success_probability is 0.0"),
        (
            {"success_probability": [0.5, 0.5], "swap_probability": [0.5, 0.5]},
            "swap_probability has shape",
        ),
        ({"success_probability": 0.5, "cutoff_attempts": 2.5}, "cutoff_attempts is 2.5"),
        ({"success_probability": 0.5, "noise": "amplitude"}, "noise is 'amplitude'"),
        ({"success_probability": 0.5, "node_decay_rate_per_attempt": -1.0}, "node_decay_rate"),
        (
            {"success_probability": 0.5, "link_fidelity": 0.9, "link_weights": [1, 0, 0, 0]},
            "not both",
        ),
        ({"success_probability": 0.5, "segments": 0}, "segments is 0"),
    ],
)
def test_invalid_inputs_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ch.chain_statistics(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- small p

HARMONIC_64 = sum(1.0 / j for j in range(1, 65))

# (segments, swap probability, lim_{p → 0} E[T] p)
CONTINUOUS_TIME = [
    (2, 1.0, 1.5),  # E[max of two unit exponentials]
    (2, 0.5, 3.0),  # 3/(2a), Shchukin, Schmidt, van Loock 2019 (two segments)
    (4, 1.0, 25.0 / 12.0),  # H_4, and Eq. (64) of Shchukin et al. at a = 1, p → 0
    (4, 0.5, (54.0 - 4.0 * 0.5) / (24.0 * 0.5**2)),  # Eq. (64) at p → 0
    (64, 1.0, HARMONIC_64),  # latest of 64 unit exponentials (no restarts)
]


@pytest.mark.parametrize("p", [1e-5, 1e-8, 1e-12])
@pytest.mark.parametrize(("m", "a", "limit"), CONTINUOUS_TIME)
def test_small_p_reaches_the_continuous_time_limit(
    p: float, m: int, a: float, limit: float
) -> None:
    stats = ch.chain_statistics(p, m, swap_probability=a, max_points=SWEEP_MAX_POINTS)
    assert stats.attempts_per_step > 1 and "coarse-grained" in stats.method
    assert 0.0 < stated_step_error(stats.method) <= 0.01
    assert stats.walsh.shape[1] <= SWEEP_MAX_POINTS
    assert stats.dropped_mass <= ch.DEFAULT_MASS_TOLERANCE
    # E[T] p = limit (1 + O(p)); O(p) ≤ 1e-5 here
    assert stats.mean_attempts * p == pytest.approx(limit, rel=COARSE_GRAINING_RTOL)


@pytest.mark.parametrize("cutoff_times_p", [np.inf, 0.5, 3.0])
@pytest.mark.parametrize("a", [0.5, 1.0])
def test_coarse_two_segments_match_closed_forms(a: float, cutoff_times_p: float) -> None:
    # cut-off and memory decay on a coarse grid against the closed forms at the same p
    p, f0, t_pair = 1e-5, 0.95, 2e5  # T_pair = 2/p attempts
    cutoff = math.floor(cutoff_times_p / p) if np.isfinite(cutoff_times_p) else np.inf
    stats = ch.chain_statistics(
        p,
        2,
        link_fidelity=f0,
        swap_probability=a,
        node_decay_rate_per_attempt=1.0 / (2.0 * t_pair),
        cutoff_attempts=cutoff,
        max_points=SWEEP_MAX_POINTS,
    )
    assert stats.attempts_per_step > 1
    k2 = float(rp.two_segment_waiting_time(p, a, cutoff))
    f2 = float(rp.two_segment_fidelity(f0, p, 1.0, t_pair, cutoff))
    assert stats.mean_attempts == pytest.approx(k2, rel=COARSE_GRAINING_RTOL)
    assert stats.fidelity == pytest.approx(f2, rel=COARSE_GRAINING_RTOL)


def latest_geometric_mean(p: list[float]) -> float:
    """E[max of independent geometric times] = Σ_{S ≠ ∅} (−1)^{|S|+1} / (1 − Π_{i∈S} q_i)."""
    total = 0.0
    for size in range(1, len(p) + 1):
        for subset in itertools.combinations(p, size):
            total += (-1) ** (size + 1) / -math.expm1(sum(math.log1p(-x) for x in subset))
    return total


@pytest.mark.parametrize(
    "p", [[0.5, 1e-6], [0.3, 0.3, 0.3, 1e-5], [0.05, 1e-3, 2e-4, 0.2], [0.9, 1e-7, 0.01]]
)
def test_fast_and_slow_segments_on_one_chain(p: list[float]) -> None:
    # deterministic swaps: the chain delivers when its slowest segment does; each segment
    # gets its own step (k_i p_i ≤ 0.01), so a fast one does not force the slow one's grid
    stats = ch.chain_statistics(p, max_points=SWEEP_MAX_POINTS)
    assert not stats.reason and stats.dropped_mass <= ch.DEFAULT_MASS_TOLERANCE
    assert stats.attempts_per_step > 1 and 0.0 < stated_step_error(stats.method) <= 0.01
    assert stats.mean_attempts == pytest.approx(latest_geometric_mean(p), rel=COARSE_GRAINING_RTOL)
    # with probabilistic swaps, the two-segment closed form E[max]/a
    if len(p) == 2:
        halved = ch.chain_statistics(p, swap_probability=0.5, max_points=SWEEP_MAX_POINTS)
        assert halved.mean_attempts == pytest.approx(
            latest_geometric_mean(p) / 0.5, rel=COARSE_GRAINING_RTOL
        )


def test_long_chains_at_small_p_are_evaluated_within_the_grid() -> None:
    # 64 segments with probabilistic swaps: the mean is ~570/p, far beyond 2^15 segment
    # steps; the joins merge steps so that the whole distribution fits the grid.
    rng = np.random.default_rng(64)
    p = rng.uniform(0.8e-4, 1.2e-4, 64)
    stats = ch.chain_statistics(
        p,
        link_fidelity=0.99,
        swap_probability=0.5,
        node_decay_rate_per_attempt=1e-6,
        max_points=SWEEP_MAX_POINTS,
    )
    assert not stats.reason
    assert stats.dropped_mass <= ch.DEFAULT_MASS_TOLERANCE
    assert stats.walsh.shape[1] <= SWEEP_MAX_POINTS
    assert "merged (mean-preserving)" in stats.method
    # the same chain on a grid a quarter as long agrees to the coarse-graining error
    shorter = ch.chain_statistics(
        p,
        link_fidelity=0.99,
        swap_probability=0.5,
        node_decay_rate_per_attempt=1e-6,
        max_points=SWEEP_MAX_POINTS // 4,
    )
    assert shorter.mean_attempts == pytest.approx(stats.mean_attempts, rel=COARSE_GRAINING_RTOL)
    assert shorter.fidelity == pytest.approx(stats.fidelity, rel=COARSE_GRAINING_RTOL)


# --------------------------------------------------------------------------- distillation


def test_distillation_without_waiting_is_the_round_map() -> None:
    # p = 1 and perfect memories: every round sees two fresh copies (Deutsch et al. 1996).
    stats = ch.chain_statistics(1.0, 1, link_fidelity=0.8)
    for protocol, expected in (
        ("dejmps", dejmps([0.8, 0.2 / 3, 0.2 / 3, 0.2 / 3], 2)),
        ("bbpssw", bbpssw(0.8, 2)),
    ):
        out = ch.distil_statistics(stats, protocol, 2)
        np.testing.assert_allclose(
            out.round_fidelities, [0.8381502890173411, float(expected.fidelity)], rtol=1e-12
        )
        np.testing.assert_allclose(
            out.round_success_probabilities, expected.round_success_probabilities, rtol=1e-12
        )


def dejmps_round_by_hand(
    p: float, r: float, c: float, f0: float, parallel: bool, terms: int
) -> tuple[float, float, float]:
    """One DEJMPS round on Werner pairs of one segment (p, F0), decay r per attempt while
    the first pair waits w and both wait C: success N = (1 + w1 w2)/2 and A' N = A1A2 +
    B1B2 (Deutsch et al. 1996 for Werner inputs); mean F = E[A'N]/E[N], E[T] = (E[t] +
    C)/E[N]. Returns (F, E[T], E[N]), summed over ``terms`` waiting times."""
    q, w, x = 1 - p, (4 * f0 - 1) / 3, np.exp(-r)
    if parallel:
        d = np.arange(0, terms)
        weight = np.where(d == 0, p / (2 - p), 2 * p * q**d / (2 - p))  # P(|T_A − T_B| = d)
        cycle = (3 - 2 * p) / (p * (2 - p))  # E[max(T_A, T_B)]
    else:
        d = np.arange(1, terms)
        weight = p * q ** (d - 1)  # the first pair waits T_B
        cycle = 2 / p
    w1, w2 = w * x ** (d + c), w * x**c
    success = (1 + w1 * w2) / 2
    a1, b1, a2, b2 = (1 + 3 * w1) / 4, (1 - w1) / 4, (1 + 3 * w2) / 4, (1 - w2) / 4
    mean_success = float((weight * success).sum())
    fidelity = float((weight * (a1 * a2 + b1 * b2)).sum()) / mean_success
    return fidelity, (cycle + c) / mean_success, mean_success


@pytest.mark.parametrize("parallel", [True, False])
def test_distillation_with_waiting_decay_matches_hand_calculation(parallel: bool) -> None:
    p, r, c, f0 = 0.1, 0.01, 3, 0.9
    fidelity, mean_t, mean_success = dejmps_round_by_hand(p, r, c, f0, parallel, 4000)
    stats = ch.chain_statistics(p, 1, link_fidelity=f0)
    out = ch.distil_statistics(
        stats,
        "dejmps",
        1,
        parallel=parallel,
        end_decay_rate_per_attempt=r,
        communication_attempts=c,
    )
    assert out.fidelity == pytest.approx(fidelity, rel=EXACT_RTOL)
    assert out.mean_attempts == pytest.approx(mean_t, rel=EXACT_RTOL)
    assert out.round_success_probabilities[0] == pytest.approx(mean_success, rel=EXACT_RTOL)


@pytest.mark.parametrize("parallel", [True, False])
def test_coarse_distillation_matches_hand_calculation(parallel: bool) -> None:
    # small p: the pairs and the round are on coarse grids (50 and 100 attempts per step),
    # the 37-attempt exchange is not a whole number of steps
    p, r, c, f0 = 2e-4, 1e-4, 37, 0.9
    fidelity, mean_t, mean_success = dejmps_round_by_hand(p, r, c, f0, parallel, 200_000)
    stats = ch.chain_statistics(p, 1, link_fidelity=f0, max_points=2**12)
    out = ch.distil_statistics(
        stats,
        "dejmps",
        1,
        parallel=parallel,
        end_decay_rate_per_attempt=r,
        communication_attempts=c,
        max_points=2**12,
    )
    assert out.attempts_per_step > 1 and c % out.attempts_per_step != 0
    assert out.fidelity == pytest.approx(fidelity, rel=COARSE_GRAINING_RTOL)
    assert out.mean_attempts == pytest.approx(mean_t, rel=COARSE_GRAINING_RTOL)
    assert out.round_success_probabilities[0] == pytest.approx(
        mean_success, rel=COARSE_GRAINING_RTOL
    )


def test_parallel_distillation_is_faster_than_sequential() -> None:
    stats = ch.chain_statistics(0.05, 2, link_fidelity=0.9, swap_probability=0.8)
    par = ch.distil_statistics(stats, "dejmps", 1, parallel=True)
    seq = ch.distil_statistics(stats, "dejmps", 1, parallel=False)
    assert 1.3 < seq.mean_attempts / par.mean_attempts < 2.0
    assert par.fidelity == pytest.approx(seq.fidelity, rel=1e-9)  # perfect memories


# --------------------------------------------------------------------------- properties

probabilities = st.floats(min_value=0.05, max_value=1.0)
rates = st.floats(min_value=0.0, max_value=0.05)
segment_counts = st.integers(min_value=1, max_value=9)
fidelities = st.floats(min_value=0.3, max_value=1.0)


@settings(max_examples=25, deadline=None)
@given(
    p=probabilities,
    m=segment_counts,
    rate=rates,
    extra=st.floats(1e-4, 0.05),
    f=fidelities,
    cutoff=st.sampled_from([np.inf, 5, 20]),
    noise=st.sampled_from(ch.NOISE_MODELS),
)
def test_worse_memories_never_raise_fidelity(
    p: float, m: int, rate: float, extra: float, f: float, cutoff: float, noise: str
) -> None:
    kw = {"link_fidelity": f, "swap_probability": 0.7, "cutoff_attempts": cutoff, "noise": noise}
    good = ch.chain_statistics(p, m, node_decay_rate_per_attempt=rate, **kw)  # type: ignore[arg-type]
    bad = ch.chain_statistics(p, m, node_decay_rate_per_attempt=rate + extra, **kw)  # type: ignore[arg-type]
    assert bad.fidelity <= good.fidelity + 1e-12
    for stats in (good, bad):
        assert 0.25 - 1e-12 <= stats.fidelity <= 1.0 + 1e-12
        assert stats.bell_weights.sum() == pytest.approx(1.0)
    assert bad.mean_attempts == pytest.approx(good.mean_attempts, rel=1e-9)  # timing unaffected


@settings(max_examples=25, deadline=None)
@given(
    p=probabilities,
    drop=st.floats(0.01, 0.9),
    m=segment_counts,
    cutoff=st.sampled_from([np.inf, 3, 15]),
)
def test_mean_time_rises_when_p_falls(p: float, drop: float, m: int, cutoff: float) -> None:
    fast = ch.chain_statistics(p, m, swap_probability=0.8, cutoff_attempts=cutoff)
    slow = ch.chain_statistics(p * (1 - drop), m, swap_probability=0.8, cutoff_attempts=cutoff)
    if not (fast.reason or slow.reason):
        assert slow.mean_attempts >= fast.mean_attempts * (1 - 1e-12)


@settings(max_examples=20, deadline=None)
@given(
    f=st.floats(0.52, 0.99),
    p=probabilities,
    protocol=st.sampled_from(["dejmps", "bbpssw"]),
    parallel=st.booleans(),
)
def test_distillation_helps_above_one_half_with_perfect_memories(
    f: float, p: float, protocol: str, parallel: bool
) -> None:
    stats = ch.chain_statistics(p, 1, link_fidelity=f)
    out = ch.distil_statistics(stats, protocol, 1, parallel=parallel, communication_attempts=2)
    assert out.fidelity > stats.fidelity
    assert out.mean_attempts > stats.mean_attempts


@settings(max_examples=15, deadline=None)
@given(
    m=st.integers(min_value=2, max_value=10),
    p=st.floats(min_value=1e-7, max_value=1e-3),
    spread=st.floats(min_value=0.0, max_value=2.0),
    a=st.floats(min_value=0.5, max_value=1.0),
    decay=st.floats(min_value=0.0, max_value=1.0),
    cutoff_times_p=st.sampled_from([np.inf, 3.0, 10.0]),
    noise=st.sampled_from(ch.NOISE_MODELS),
)
def test_coarse_results_do_not_depend_on_the_grid(
    m: int,
    p: float,
    spread: float,
    a: float,
    decay: float,
    cutoff_times_p: float,
    noise: str,
) -> None:
    probabilities = p * 10.0 ** (spread * np.linspace(-1.0, 1.0, m))  # ± spread decades
    kwargs = {
        "link_fidelity": 0.95,
        "swap_probability": a,
        "node_decay_rate_per_attempt": decay * float(probabilities.min()),  # see Notes
        "noise": noise,
        "cutoff_attempts": (
            math.floor(cutoff_times_p / p) if np.isfinite(cutoff_times_p) else np.inf
        ),
    }
    fine = ch.chain_statistics(probabilities, max_points=2**15, **kwargs)  # type: ignore[arg-type]
    coarse = ch.chain_statistics(probabilities, max_points=2**13, **kwargs)  # type: ignore[arg-type]
    for stats in (fine, coarse):  # (tight cut-offs on long chains may need longer grids)
        assume(not stats.reason and stats.dropped_mass <= ch.DEFAULT_MASS_TOLERANCE)
    assert coarse.walsh.shape[1] <= 2**13 and fine.walsh.shape[1] <= 2**15
    assert coarse.mean_attempts == pytest.approx(fine.mean_attempts, rel=COARSE_GRAINING_RTOL)
    assert coarse.fidelity == pytest.approx(fine.fidelity, rel=COARSE_GRAINING_RTOL)
