"""Tests of qcalc.protocols.repeater against published closed forms and brute force."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qcalc.protocols import repeater as rp

#: Agreement of two exact evaluations of the same closed form (rounding only). [relative]
EXACT_RTOL = 1e-10
#: Truncation of brute-force sums over geometric distributions. [relative]
BRUTE_FORCE_RTOL = 1e-9
#: Distance from a p → 0 limit at p = 1e-9 (corrections are O(p)). [relative]
LIMIT_RTOL = 1e-6

probabilities = st.floats(min_value=1e-3, max_value=1.0)
swap_probabilities = st.floats(min_value=0.05, max_value=1.0)


def shchukin_k4(p: float, a: float) -> float:
    """Eq. (64) of Shchukin, Schmidt, van Loock, arXiv:1710.06214 (PRA 100, 032322, 2019).

    Exact mean waiting time of the four-segment doubling scheme with swap probability a.
    """
    numerator = (
        2 * a**2 * p**4 * (p - 1) * (2 * p - 3)
        - a * (20 * p**5 - 72 * p**4 + 93 * p**3 - 53 * p**2 + 10 * p + 4)
        + 3 * (3 - 2 * p) ** 2 * (2 * p**2 - 3 * p + 2)
    )
    denominator = (
        a**2 * p * (2 - p) * (a * p**2 - (a + 2) * p + 3) * (-a * p**3 + 4 * p**2 - 6 * p + 4)
    )
    return numerator / denominator


def expected_max_geometric(m: int, p: float) -> float:
    """E[max of m i.i.d. geometric(p) on {1, 2, ...}] by inclusion–exclusion.

    B. Eisenberg, "On the expectation of the maximum of IID geometric random variables",
    Stat. Probab. Lett. 78, 135 (2008) (inclusion–exclusion): Σ_k (−1)^{k+1} C(m, k) / (1 − q^k).
    """
    q = 1.0 - p
    return sum((1 if k % 2 else -1) * math.comb(m, k) / (1.0 - q**k) for k in range(1, m + 1))


def two_segment_chain_by_steps(
    p: float, a: float, cutoff: int, decay: float, steps: int = 5_000
) -> tuple[float, float]:
    """Mean attempts and E[x^D] of the two-segment chain, propagated attempt by attempt.

    An independent brute force of the chain: the probability of each state is pushed
    forward one attempt at a time and the mass that ends in a successful swap is
    accumulated. States: ``empty``, and ``stored[j]``, one pair of age j = 0..c−1 waiting
    for its partner (a pair that reaches age c unpartnered is discarded).
    """
    q = 1.0 - p
    empty = 1.0
    stored = np.zeros(cutoff)
    ages = np.arange(1, cutoff + 1)
    mean_time = 0.0
    delivered = 0.0
    delivered_decay = 0.0
    for step in range(1, steps + 1):
        swap = empty * p * p + float(stored.sum()) * p  # both pairs ready this attempt
        swap_decay = empty * p * p + float((stored * p * np.exp(-decay * ages)).sum())
        single = empty * 2 * p * q
        aged = stored * q
        if cutoff > 0:
            new_stored = np.concatenate(([single], aged[:-1]))
            discarded = float(aged[-1])
        else:
            new_stored, discarded = stored, single
        mean_time += step * swap * a
        delivered += swap * a
        delivered_decay += swap_decay * a
        empty = empty * q * q + discarded + swap * (1.0 - a)
        stored = new_stored
    assert delivered == pytest.approx(1.0, abs=1e-12)
    return mean_time, delivered_decay / delivered


# --------------------------------------------------------------------------- two segments


@pytest.mark.parametrize("p", [0.01, 0.2, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("a", [1.0, 0.5, 0.1])
def test_two_segment_waiting_time_matches_published_formula(p: float, a: float) -> None:
    # K2 = (3 − 2p)/(a p (2 − p)): Shchukin, Schmidt, van Loock, PRA 100, 032322 (2019);
    # equivalently E[max(N1, N2)]/a with Eisenberg (2008) for m = 2.
    expected = (3 - 2 * p) / (a * p * (2 - p))
    assert expected == pytest.approx(expected_max_geometric(2, p) / a, rel=EXACT_RTOL)
    np.testing.assert_allclose(rp.two_segment_waiting_time(p, a), expected, rtol=EXACT_RTOL)


def test_two_segment_worked_example() -> None:
    # p = 1/2, a = 1/2: K2 = (3 − 1)/(0.5 · 0.5 · 1.5) = 16/3 attempts (hand evaluation of
    # the Shchukin et al. 2019 formula).
    assert float(rp.two_segment_waiting_time(0.5, 0.5)) == pytest.approx(16 / 3, rel=EXACT_RTOL)


def test_two_segment_small_p_limit_is_sangouard_three_halves() -> None:
    # Sangouard et al., RMP 83, 33 (2011), Sec. III.B: K2 → 3/(2 p a) for p → 0.
    p, a = 1e-9, 0.4
    k = float(rp.two_segment_waiting_time(p, a))
    assert k == pytest.approx(3 / (2 * p * a), rel=LIMIT_RTOL)
    assert float(rp.approx_waiting_time(p, a, 2)) == pytest.approx(k, rel=LIMIT_RTOL)


@pytest.mark.parametrize("cutoff", [0, 1, 3, 10, 50])
@pytest.mark.parametrize(("p", "a"), [(0.2, 0.7), (0.1, 1.0), (0.6, 0.3)])
def test_two_segment_cutoff_matches_step_by_step_chain(p: float, a: float, cutoff: int) -> None:
    decay = 1 / 7.0
    mean_time, factor = two_segment_chain_by_steps(p, a, cutoff, decay, steps=4_000)
    np.testing.assert_allclose(rp.two_segment_waiting_time(p, a, cutoff), mean_time, rtol=1e-9)
    np.testing.assert_allclose(
        rp.two_segment_decoherence_factor(p, 1.0, 7.0, cutoff), factor, rtol=1e-9
    )


def test_two_segment_cutoff_zero_needs_simultaneous_success() -> None:
    # c = 0: both links in the same attempt, probability p² (geometric mean 1/p²).
    np.testing.assert_allclose(rp.two_segment_waiting_time(0.3, 1.0, 0), 1 / 0.09, rtol=EXACT_RTOL)


def test_cutoff_infinity_equals_no_cutoff() -> None:
    p = np.array([0.01, 0.3, 1.0])
    np.testing.assert_allclose(
        rp.two_segment_waiting_time(p, 0.5, np.inf), rp.two_segment_waiting_time(p, 0.5)
    )
    np.testing.assert_allclose(
        rp.two_segment_waiting_time(p, 0.5, 100_000), rp.two_segment_waiting_time(p, 0.5)
    )


def _geometric_grid(p: float) -> tuple[np.ndarray, np.ndarray]:
    """Attempts 1..n and the joint probability of (N1, N2); the tail q^n is below 1e-15."""
    n = int(35 / p) + 1
    attempts = np.arange(1, n + 1)
    prob = p * (1 - p) ** (attempts - 1)
    return attempts, prob[:, None] * prob[None, :]


@pytest.mark.parametrize("p", [0.05, 0.3, 0.8])
def test_memory_wait_matches_brute_force_sum(p: float) -> None:
    attempts, joint = _geometric_grid(p)
    wait = np.abs(attempts[:, None] - attempts[None, :])
    np.testing.assert_allclose(
        rp.two_segment_memory_wait(p), (joint * wait).sum(), rtol=BRUTE_FORCE_RTOL
    )
    # closed form 2(1 − p)/(p(2 − p)) of E|N1 − N2| for i.i.d. geometric variables
    np.testing.assert_allclose(rp.two_segment_memory_wait(p), 2 * (1 - p) / (p * (2 - p)))


@pytest.mark.parametrize(("p", "tau_over_t"), [(0.05, 0.01), (0.3, 0.5), (0.8, 3.0)])
def test_decoherence_factor_matches_brute_force_sum(p: float, tau_over_t: float) -> None:
    attempts, joint = _geometric_grid(p)
    wait = np.abs(attempts[:, None] - attempts[None, :])
    expected = (joint * np.exp(-wait * tau_over_t)).sum()
    got = rp.two_segment_decoherence_factor(p, tau_over_t * 2.0, 2.0)
    np.testing.assert_allclose(got, expected, rtol=BRUTE_FORCE_RTOL)


def test_fidelity_without_decay_is_werner_swap() -> None:
    # Dür & Briegel, Rep. Prog. Phys. 70, 1381 (2007), Sec. 6: F' = F² + (1 − F)²/3;
    # F = 0.9 → 0.81 + 0.01/3 = 0.813333...
    got = rp.two_segment_fidelity(0.9, 0.1, 1e-3, np.inf)
    np.testing.assert_allclose(got, 0.81 + 0.01 / 3, rtol=EXACT_RTOL)


def test_fidelity_of_perfect_links_is_quarter_plus_decay() -> None:
    p, tau, t_pair = 0.2, 1.0, 7.0
    factor = rp.two_segment_decoherence_factor(p, tau, t_pair)
    np.testing.assert_allclose(
        rp.two_segment_fidelity(1.0, p, tau, t_pair), 0.25 + 0.75 * factor, rtol=EXACT_RTOL
    )


def test_decoherence_factor_p_zero_limit() -> None:
    # p → 0 with cut-off c: D uniform on −c..c; without a cut-off the pair decays fully.
    x = np.exp(-0.2)
    expected = (1 + 2 * (x + x**2 + x**3)) / 7
    got = rp.two_segment_decoherence_factor(0.0, 1.0, [5.0, 5.0, np.inf], [3, np.inf, np.inf])
    np.testing.assert_allclose(got, [expected, 0.0, 1.0], rtol=EXACT_RTOL)


# --------------------------------------------------------------------------- Markov chain


@pytest.mark.parametrize("p", [0.01, 0.1, 0.3, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("a", [1.0, 0.7, 0.3, 0.05])
def test_four_segments_reproduce_shchukin_eq64(p: float, a: float) -> None:
    # Shchukin, Schmidt, van Loock, PRA 100, 032322 (2019), Eq. (64) of arXiv:1710.06214.
    np.testing.assert_allclose(rp.markov_waiting_time(p, a, 4), shchukin_k4(p, a), rtol=EXACT_RTOL)


def test_four_segments_shchukin_eq64_small_p_limit() -> None:
    # p → 0 limit of Eq. (64): K4 p → (54 − 4a)/(24 a²); a = 1/2 → 26/3.
    p, a = 1e-9, 0.5
    assert float(rp.markov_waiting_time(p, a, 4)) * p == pytest.approx(26 / 3, rel=LIMIT_RTOL)


@pytest.mark.parametrize("m", range(1, 9))
@pytest.mark.parametrize("p", [0.02, 0.25, 0.75])
def test_deterministic_swap_is_expected_maximum_of_geometrics(m: int, p: float) -> None:
    # a = 1: the chain finishes at the last of m independent links (Eisenberg 2008).
    np.testing.assert_allclose(
        rp.markov_waiting_time(p, 1.0, m), expected_max_geometric(m, p), rtol=EXACT_RTOL
    )


@pytest.mark.parametrize("m", [2, 4, 8])
def test_small_p_deterministic_swap_gives_harmonic_number(m: int) -> None:
    # Max of m i.i.d. exponentials has mean H_m/λ (Rényi representation), so K p → H_m;
    # the (3/2)^n of Sangouard et al. (2011) over-estimates it for n ≥ 2.
    p = 1e-9
    harmonic = sum(1 / k for k in range(1, m + 1))
    assert float(rp.markov_waiting_time(p, 1.0, m)) * p == pytest.approx(harmonic, rel=LIMIT_RTOL)


def test_approx_formula_value() -> None:
    # Sangouard et al. (2011), Sec. III.B: (3/2)^n/(P0 a^n); n = 3, p = 0.1, a = 0.5:
    # 3.375/(0.1 · 0.125) = 270.
    np.testing.assert_allclose(rp.approx_waiting_time(0.1, 0.5, 8), 270.0, rtol=EXACT_RTOL)
    np.testing.assert_allclose(rp.approx_waiting_time(0.1, 0.5, 5), 270.0, rtol=EXACT_RTOL)


def test_nested_waiting_time_reports_method() -> None:
    exact = rp.nested_waiting_time(0.1, 0.5, 4)
    assert exact.method == "exact-markov"
    np.testing.assert_allclose(exact.mean_attempts, shchukin_k4(0.1, 0.5), rtol=EXACT_RTOL)
    assert rp.nested_waiting_time(0.1, 0.5, 2).method == "exact-markov"
    big = rp.nested_waiting_time(0.1, 0.5, 16)
    assert big.method == "approx-3/2"
    np.testing.assert_allclose(big.mean_attempts, 1.5**4 / (0.1 * 0.5**4), rtol=EXACT_RTOL)
    assert rp.nested_waiting_time(0.1, 0.5, 4, max_exact_segments=2).method == "approx-3/2"


def test_repeater_rate_hz_worked_example() -> None:
    # K2(p = 1/2, a = 1/2) = 16/3 attempts of 1 ms → 187.5 Hz.
    np.testing.assert_allclose(rp.repeater_rate_hz(0.5, 1e-3, 0.5, 2), 187.5, rtol=EXACT_RTOL)


# --------------------------------------------------------------------------- edges


def test_zero_is_zero_and_no_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(rp.repeater_rate_hz(0.0, 1e-3, 0.5, 4)) == 0.0
        assert float(rp.repeater_rate_hz(0.5, 1e-3, 0.0, 2)) == 0.0
        assert float(rp.repeater_rate_hz(1e-300, 1e-3, 1.0, 2)) >= 0.0
        assert np.isinf(rp.nested_waiting_time(0.0, 1.0, 4).mean_attempts)
        assert np.isinf(rp.two_segment_memory_wait(0.0))
        assert float(rp.markov_waiting_time(0.3, 0.0, 1)) == pytest.approx(1 / 0.3)
        k = rp.two_segment_waiting_time([1e-300, 1e-12, 1.0], 1.0, [0, 5, np.inf])
        assert np.all(np.isfinite(k[1:])) and k[0] > 0


def test_scalar_and_array_inputs() -> None:
    p = np.array([[0.1, 0.5], [0.9, 1.0]])
    scalar = rp.markov_waiting_time(0.5, 0.5, 4)
    assert isinstance(scalar, np.ndarray) and scalar.shape == ()
    array = rp.markov_waiting_time(p, 0.5, 4)
    assert array.shape == (2, 2)
    np.testing.assert_allclose(array[0, 1], scalar)
    for func in (rp.two_segment_waiting_time, rp.two_segment_memory_wait):
        assert func(0.5).shape == () and func(p).shape == (2, 2)
    assert rp.two_segment_fidelity(0.9, p, 1.0, 10.0, 3).shape == (2, 2)
    assert rp.repeater_rate_hz(p, [1e-3, 2e-3], 0.5, 4).shape == (2, 2)
    assert rp.approx_waiting_time(p, 0.5, 16).shape == (2, 2)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: rp.two_segment_waiting_time(1.5), "p is 1.5"),
        (lambda: rp.two_segment_waiting_time(0.5, -0.1), "a is -0.1"),
        (lambda: rp.two_segment_waiting_time(0.5, 1.0, 2.5), "cutoff_attempts is 2.5"),
        (lambda: rp.markov_waiting_time(0.5, 1.0, 0), "segments is 0"),
        (lambda: rp.markov_waiting_time(0.5, 1.0, 9), "limited to 8"),
        (lambda: rp.nested_waiting_time(0.5, 1.0, 4, 12), "max_exact_segments is 12"),
        (lambda: rp.repeater_rate_hz(0.5, 0.0), "attempt_time_s is 0.0"),
        (lambda: rp.two_segment_decoherence_factor(0.5, -1.0, 1.0), "attempt_time_s"),
        (lambda: rp.two_segment_fidelity(0.9, 0.5, 1.0, 0.0), "pair_coherence_time_s"),
        (lambda: rp.two_segment_fidelity(1.2, 0.5, 1.0, 1.0), "link_fidelity is 1.2"),
    ],
)
def test_invalid_inputs_raise(call: object, message: str) -> None:
    assert callable(call)
    with pytest.raises(ValueError, match=message):
        call()


# --------------------------------------------------------------------------- properties


@settings(max_examples=40, deadline=None)
@given(p=probabilities, a=swap_probabilities)
def test_markov_two_segments_equals_closed_form(p: float, a: float) -> None:
    np.testing.assert_allclose(
        rp.markov_waiting_time(p, a, 2), rp.two_segment_waiting_time(p, a), rtol=EXACT_RTOL
    )


@settings(max_examples=30, deadline=None)
@given(p=probabilities, a=swap_probabilities, m=st.integers(min_value=1, max_value=7))
def test_more_segments_never_wait_less(p: float, a: float, m: int) -> None:
    shorter = rp.markov_waiting_time(p, a, m)
    longer = rp.markov_waiting_time(p, a, m + 1)
    assert longer >= shorter * (1 - EXACT_RTOL)


@settings(max_examples=30, deadline=None)
@given(p=probabilities, a=swap_probabilities, n=st.integers(min_value=1, max_value=3))
def test_three_halves_rule_overestimates_doubling(p: float, a: float, n: int) -> None:
    exact = rp.markov_waiting_time(p, a, 2**n)
    assert exact <= rp.approx_waiting_time(p, a, 2**n) * (1 + EXACT_RTOL)


@settings(max_examples=50, deadline=None)
@given(
    p=probabilities,
    a=swap_probabilities,
    c=st.integers(min_value=0, max_value=200),
    tau=st.floats(min_value=0.0, max_value=10.0),
)
def test_cutoff_properties(p: float, a: float, c: int, tau: float) -> None:
    # a longer cut-off never slows the repeater, and never improves the stored pair
    assert rp.two_segment_waiting_time(p, a, c + 1) <= rp.two_segment_waiting_time(p, a, c) * (
        1 + EXACT_RTOL
    )
    short = rp.two_segment_decoherence_factor(p, tau, 1.0, c)
    long = rp.two_segment_decoherence_factor(p, tau, 1.0, c + 1)
    assert 0.0 <= long <= short + EXACT_RTOL <= 1.0 + EXACT_RTOL
    # the rate times K times τ is one
    k = rp.two_segment_waiting_time(p, a)
    assert rp.repeater_rate_hz(p, 2e-3, a, 2) * k * 2e-3 == pytest.approx(1.0)


@settings(max_examples=50, deadline=None)
@given(f0=st.floats(min_value=0.25, max_value=1.0), p=probabilities, tau=st.floats(0.0, 5.0))
def test_fidelity_bounded_by_ideal_swap(f0: float, p: float, tau: float) -> None:
    ideal = f0 * f0 + (1 - f0) ** 2 / 3
    got = rp.two_segment_fidelity(f0, p, tau, 1.0)
    assert 0.25 - EXACT_RTOL <= got <= ideal + EXACT_RTOL
