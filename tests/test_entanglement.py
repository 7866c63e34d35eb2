"""Tests of qcalc.protocols.entanglement against published closed forms and first-principles
density-matrix calculations (two- and four-qubit states built from scratch here)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qcalc.protocols import entanglement as ent

EXACT = 1e-12  # relative tolerance for closed forms evaluated two ways
SIMULATION = 1e-10  # absolute tolerance for a density-matrix calculation
PERCENT = 1e-2

fidelities = st.floats(0.25, 1.0)
probabilities = st.floats(0.0, 1.0)

# ----------------------------------------------------------------- density matrices
_SQ2 = np.sqrt(0.5)
# Bell vectors in the order of ent.BELL_BASIS: Φ+, Ψ−, Ψ+, Φ− (basis |00>,|01>,|10>,|11>).
BELL = np.array([[_SQ2, 0, 0, _SQ2], [0, _SQ2, -_SQ2, 0], [0, _SQ2, _SQ2, 0], [_SQ2, 0, 0, -_SQ2]])
# (x, z) of the Pauli X^x Z^z on qubit 2 that turns Φ+ into each Bell state.
BELL_BITS = [(0, 0), (1, 1), (1, 0), (0, 1)]
PAULI = {
    "I": np.eye(2),
    "X": np.array([[0.0, 1.0], [1.0, 0.0]]),
    "Z": np.diag([1.0, -1.0]),
}
PAULI["Y"] = PAULI["X"] @ PAULI["Z"]


def bell_diagonal_matrix(coefficients: np.ndarray) -> np.ndarray:
    return np.asarray(np.einsum("k,ki,kj->ij", coefficients, BELL, BELL))


def bell_weights(rho: np.ndarray) -> np.ndarray:
    return np.asarray(np.einsum("ki,ij,kj->k", BELL, rho, BELL).real)


def on_qubit(op: np.ndarray, qubit: int) -> np.ndarray:
    return np.kron(op, np.eye(2)) if qubit == 0 else np.kron(np.eye(2), op)


def simulate_swap(
    rho_1: np.ndarray, rho_2: np.ndarray, gate_error: float = 0.0, measurement_error: float = 0.0
) -> np.ndarray:
    """Swap pairs (0,1) and (2,3) by a Bell measurement on qubits 1, 2 (BDCZ error model)."""
    t = np.kron(rho_1, rho_2).reshape([2] * 8)
    # Depolarising two-qubit gate on qubits 1, 2: replaced by I/4 with prob. gate_error.
    rho_03 = np.einsum("abcdxbcy->adxy", t)
    mixed = np.einsum("adxy,bB,cC->abcdxBCy", rho_03, np.eye(2) / 2, np.eye(2) / 2)
    t = (1 - gate_error) * t + gate_error * mixed
    # Pauli correction on qubit 3 for each reported Bell outcome, found from ideal pairs.
    corrections = []
    ideal = np.kron(np.outer(BELL[0], BELL[0]), np.outer(BELL[0], BELL[0])).reshape([2] * 8)
    for k in range(4):
        beta = BELL[k].reshape(2, 2)
        out = np.einsum("bc,abcdxyzw,yz->adxw", beta, ideal, beta).reshape(4, 4)
        out = out / np.trace(out)
        for p in PAULI.values():
            u = on_qubit(p, 1)
            if abs(BELL[0] @ u @ out @ u.T @ BELL[0] - 1.0) < 1e-12:
                corrections.append(u)
                break
    result = np.zeros((4, 4))
    for k in range(4):
        beta = BELL[k].reshape(2, 2)
        branch = np.einsum("bc,abcdxyzw,yz->adxw", beta, t, beta).reshape(4, 4)
        for j in range(4):
            flips = [BELL_BITS[k][i] != BELL_BITS[j][i] for i in range(2)]
            prob = np.prod([measurement_error if f else 1 - measurement_error for f in flips])
            result += prob * corrections[j] @ branch @ corrections[j].T
    return result


def simulate_channel(rho: np.ndarray, kraus_weights: dict[str, float]) -> np.ndarray:
    """Apply the same Pauli channel, sum_P w_P P ρ P, independently to both qubits."""
    for qubit in (0, 1):
        rho = sum(
            (w * on_qubit(PAULI[p], qubit) @ rho @ on_qubit(PAULI[p], qubit).T)
            for p, w in kraus_weights.items()
        )
    return rho


# ----------------------------------------------------------------- Werner helpers


def test_werner_coefficients_and_parameter() -> None:
    coeffs = ent.werner_from_fidelity([0.25, 0.7, 1.0])
    assert coeffs.shape == (3, 4)
    np.testing.assert_allclose(coeffs.sum(axis=-1), 1.0, rtol=EXACT)
    np.testing.assert_allclose(coeffs[1], [0.7, 0.1, 0.1, 0.1], rtol=EXACT)
    # Werner (1989): F = 1/4 is the maximally mixed state, w = 0.
    np.testing.assert_allclose(ent.werner_parameter([0.25, 1.0]), [0.0, 1.0], atol=EXACT)
    np.testing.assert_allclose(ent.fidelity_from_werner_parameter(ent.werner_parameter(0.83)), 0.83)


def test_qber_fidelity_relation_against_density_matrix() -> None:
    # A Werner state's error rate in the Z basis is the weight of Ψ±; F = 1 − 3Q/2.
    fidelity = 0.9
    rho = bell_diagonal_matrix(ent.werner_from_fidelity(fidelity))
    z_error = rho[1, 1] + rho[2, 2]
    assert ent.qber_from_werner_fidelity(fidelity) == pytest.approx(z_error, abs=SIMULATION)
    assert ent.werner_fidelity_from_qber(z_error) == pytest.approx(fidelity, abs=SIMULATION)


def test_chsh_threshold_matches_spec() -> None:
    # SPEC stage 3 / Horodecki et al., Phys. Lett. A 200, 340 (1995): S > 2 iff F > 0.78.
    assert ent.CHSH_FIDELITY_THRESHOLD == pytest.approx(0.78, abs=1e-3)
    assert ent.chsh_from_werner_fidelity(ent.CHSH_FIDELITY_THRESHOLD) == pytest.approx(2.0)
    # Tsirelson bound 2√2 for a perfect Bell pair (Cirel'son, Lett. Math. Phys. 4, 93 (1980)).
    assert ent.chsh_from_werner_fidelity(1.0) == pytest.approx(2 * np.sqrt(2), rel=EXACT)


def test_invalid_fidelity_raises() -> None:
    with pytest.raises(ValueError, match="fidelity is 1.2"):
        ent.werner_parameter(1.2)
    with pytest.raises(ValueError, match="sum of Bell-diagonal coefficients is 1.5"):
        ent.swap_bell_diagonal([0.5, 0.5, 0.5, 0.0], [1.0, 0.0, 0.0, 0.0])


# ----------------------------------------------------------------- swapping


def test_swap_werner_published_closed_form() -> None:
    # Dür & Briegel, Rep. Prog. Phys. 70, 1381 (2007): F' = F1F2 + (1 − F1)(1 − F2)/3.
    f1, f2 = 0.95, 0.9
    assert ent.swap_werner_fidelity(f1, f2) == pytest.approx(
        f1 * f2 + (1 - f1) * (1 - f2) / 3, rel=EXACT
    )


@pytest.mark.parametrize(
    ("f1", "f2", "gate_error", "measurement_error"),
    [(0.95, 0.9, 0.0, 0.0), (0.8, 0.99, 0.02, 0.0), (0.97, 0.93, 0.01, 0.03)],
)
def test_swap_werner_against_density_matrix(
    f1: float, f2: float, gate_error: float, measurement_error: float
) -> None:
    # Briegel, Dür, Cirac, Zoller, PRL 81, 5932 (1998): error model (p2, η) simulated.
    rho = simulate_swap(
        bell_diagonal_matrix(ent.werner_from_fidelity(f1)),
        bell_diagonal_matrix(ent.werner_from_fidelity(f2)),
        gate_error,
        measurement_error,
    )
    assert np.trace(rho) == pytest.approx(1.0, abs=SIMULATION)
    got = ent.swap_werner_fidelity(f1, f2, gate_error, measurement_error)
    assert got == pytest.approx(BELL[0] @ rho @ BELL[0], abs=SIMULATION)


def test_swap_bell_diagonal_against_density_matrix() -> None:
    c1 = np.array([0.8, 0.05, 0.1, 0.05])
    c2 = np.array([0.7, 0.2, 0.04, 0.06])
    expected = bell_weights(simulate_swap(bell_diagonal_matrix(c1), bell_diagonal_matrix(c2)))
    np.testing.assert_allclose(ent.swap_bell_diagonal(c1, c2), expected, atol=SIMULATION)


def test_chain_closed_form_equals_recursion() -> None:
    # Closed form F_n = 1/4 + 3/4 ((4F−1)/3)^n (Dür et al., PRA 59, 169 (1999)) vs n−1 swaps.
    for f, gate_error, measurement_error in [(0.9, 0.0, 0.0), (0.97, 0.005, 0.01)]:
        chained = np.asarray(f)
        for n in range(2, 9):
            chained = ent.swap_werner_fidelity(chained, f, gate_error, measurement_error)
            got = ent.chain_werner_fidelity(f, n, gate_error, measurement_error)
            assert got == pytest.approx(chained, rel=EXACT)
    np.testing.assert_allclose(
        ent.chain_werner_fidelity(0.9, [1, 2, 3]),
        0.25 + 0.75 * ((4 * 0.9 - 1) / 3) ** np.array([1, 2, 3]),
        rtol=EXACT,
    )
    with pytest.raises(ValueError, match="links"):
        ent.chain_werner_fidelity(0.9, 0)


@settings(max_examples=50, deadline=None)
@given(fidelities, fidelities)
def test_swap_never_improves_fidelity(f1: float, f2: float) -> None:
    f = ent.swap_werner_fidelity(f1, f2)
    assert 0.25 - EXACT <= f <= min(f1, f2) + EXACT


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=8, max_size=8))
def test_swap_bell_diagonal_is_a_commutative_distribution(raw: list[float]) -> None:
    weights = np.asarray(raw).reshape(2, 4) + 1e-3
    weights = weights / weights.sum(axis=-1, keepdims=True)
    out = ent.swap_bell_diagonal(weights[0], weights[1])
    assert np.all(out >= 0.0)
    assert out.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(out, ent.swap_bell_diagonal(weights[1], weights[0]), atol=1e-15)


# ----------------------------------------------------------------- memories


def test_decoherence_against_density_matrix() -> None:
    # Depolarising channel of Nielsen & Chuang Eq. (8.102) on both qubits, T_a ≠ T_b.
    f0, t, t_a, t_b = 0.93, 0.3, 1.0, 2.5
    rho = bell_diagonal_matrix(ent.werner_from_fidelity(f0))
    for qubit, coherence in ((0, t_a), (1, t_b)):
        keep = np.exp(-t / coherence)
        # depolarising = keep·ρ + (1 − keep)·(mean of the four Pauli conjugations)
        rho = keep * rho + (1 - keep) * sum(
            on_qubit(p, qubit) @ rho @ on_qubit(p, qubit).T / 4 for p in PAULI.values()
        )
    got = ent.decohere_werner_fidelity(f0, t, t_a, t_b)
    assert got == pytest.approx(BELL[0] @ rho @ BELL[0], abs=SIMULATION)
    # Same memory twice decays at rate 2/T: F(t) = 1/4 + (F0 − 1/4) e^{−2t/T}.
    assert ent.decohere_werner_fidelity(f0, t, t_a) == pytest.approx(
        0.25 + (f0 - 0.25) * np.exp(-2 * t / t_a), rel=EXACT
    )


def test_dephasing_against_density_matrix() -> None:
    # Phase flip with probability (1 − e^{−t/T2})/2 per qubit (Nielsen & Chuang Sec. 8.3.6).
    coeffs = np.array([0.85, 0.02, 0.08, 0.05])
    t, t2 = 0.2, 0.5
    p = (1 - np.exp(-t / t2)) / 2
    rho = simulate_channel(bell_diagonal_matrix(coeffs), {"I": 1 - p, "Z": p})
    np.testing.assert_allclose(
        ent.dephase_bell_diagonal(coeffs, t, t2), bell_weights(rho), atol=SIMULATION
    )


@settings(max_examples=50, deadline=None)
@given(fidelities, st.floats(0.0, 10.0), st.floats(0.0, 10.0), st.floats(0.01, 100.0))
def test_decoherence_monotone_toward_quarter(f0: float, t1: float, t2: float, tc: float) -> None:
    early, late = sorted((t1, t2))
    f_early = ent.decohere_werner_fidelity(f0, early, tc)
    f_late = ent.decohere_werner_fidelity(f0, late, tc)
    assert 0.25 - EXACT <= f_late <= f_early + EXACT <= f0 + 2 * EXACT


def test_memory_edges() -> None:
    assert ent.decohere_werner_fidelity(0.9, 1e9, 1e-3) == pytest.approx(0.25, abs=EXACT)
    assert ent.decohere_werner_fidelity(0.9, 5.0, np.inf) == pytest.approx(0.9, rel=EXACT)
    with pytest.raises(ValueError, match=r"coherence_time_s is -2.0; expected a time > 0 s"):
        ent.decohere_werner_fidelity(0.9, 1.0, [1.0, -2.0])


# ----------------------------------------------------------------- SPDC source


def _thermal_pairs(lam: float, n_max: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """n and P(n) = (n+1) λ^n / (1+λ)^{n+2} of Ma, Fung, Lo, PRA 76, 012307 (2007)."""
    n = np.arange(n_max)
    return n, (n + 1) * lam**n / (1 + lam) ** (n + 2)


def test_spdc_gain_equals_photon_number_sum() -> None:
    # Ma, Fung, Lo (2007): Q_λ = Σ_n P(n) [1 − (1−Y0A)(1−ηA)^n][1 − (1−Y0B)(1−ηB)^n].
    mu, eta_a, eta_b, y0a, y0b = 0.3, 0.2, 0.05, 1e-5, 3e-5
    n, p = _thermal_pairs(mu / 2)
    series = np.sum(p * (1 - (1 - y0a) * (1 - eta_a) ** n) * (1 - (1 - y0b) * (1 - eta_b) ** n))
    got = ent.spdc_coincidence_probability(mu, eta_a, eta_b, y0a, y0b)
    assert got == pytest.approx(series, rel=1e-10)


def test_spdc_qber_equals_photon_number_sum_lossless() -> None:
    # n pairs on threshold detectors (MFL 2007 model): all n photons leave by the same port
    # with probability 2/(n+1) (error e_d); otherwise double clicks give random bits (1/2).
    mu, e_d = 0.8, 0.02
    n, p = _thermal_pairs(mu / 2)
    e_n = np.where(n > 0, 0.5 - (0.5 - e_d) * 2 / (n + 1), 0.0)
    expected = np.sum(p * e_n) / np.sum(p[1:])
    assert ent.spdc_qber(mu, 1.0, 1.0, 0.0, 0.0, e_d) == pytest.approx(expected, rel=1e-10)


def test_spdc_limits() -> None:
    # MFL 2007: for λ → 0 the gain is μ η_A η_B and the QBER tends to e_d.
    link = ent.spdc_midpoint_link(1e-6, 0.1, 0.2, 1e8, 0.0, 0.0, 0.03)
    assert link.coincidence_probability == pytest.approx(1e-6 * 0.02, rel=1e-5)
    assert link.coincidence_rate_hz == pytest.approx(1e-6 * 0.02 * 1e8, rel=1e-5)
    assert link.qber == pytest.approx(0.03, rel=1e-4)  # O(λ) multi-pair correction
    assert link.fidelity == pytest.approx(1 - 1.5 * 0.03, rel=1e-4)
    # No transmission: no coincidences beyond dark counts, QBER of random clicks.
    dark = ent.spdc_midpoint_link(0.1, 0.0, 0.0, 1e9, 1e-4, 1e-4)
    assert dark.coincidence_probability == pytest.approx(1e-8, rel=EXACT)
    assert dark.qber == pytest.approx(0.5, rel=EXACT)
    assert ent.spdc_qber(0.1, 0.0, 0.0) == 0.5


def test_spdc_scalar_and_array() -> None:
    etas = np.array([[1e-1, 1e-3], [1e-5, 1e-300]])
    link = ent.spdc_midpoint_link(0.1, etas, 0.1, 1e9, 1e-6, 1e-6, 0.01)
    assert link.coincidence_probability.shape == (2, 2)
    assert link.qber.shape == (2, 2)
    scalar = ent.spdc_midpoint_link(0.1, 1e-3, 0.1, 1e9, 1e-6, 1e-6, 0.01)
    assert scalar.qber.shape == ()
    assert scalar.qber == pytest.approx(link.qber[0, 1], rel=EXACT)
    assert np.all(np.isfinite(link.qber))


@settings(max_examples=50, deadline=None)
@given(st.floats(0.0, 5.0), probabilities, probabilities, st.floats(0, 1e-2), st.floats(0, 0.5))
def test_spdc_bounds(mu: float, eta_a: float, eta_b: float, y0: float, e_d: float) -> None:
    link = ent.spdc_midpoint_link(mu, eta_a, eta_b, 1e6, y0, y0, e_d)
    assert 0.0 <= link.coincidence_probability <= 1.0
    assert 0.0 <= link.qber <= 0.5
    assert 0.25 <= link.fidelity <= 1.0


# ----------------------------------------------------------------- heralded links


def test_double_click_barrett_kok() -> None:
    # Barrett & Kok, PRA 71, 060310 (2005): success probability η²/2, perfect state.
    link = ent.double_click_link(0.2, 0.2, detector_efficiency=0.5)
    assert link.success_probability == pytest.approx(0.1**2 / 2, rel=EXACT)
    assert link.fidelity == pytest.approx(1.0, rel=EXACT)
    # Bernien et al., Nature 497, 86 (2013): distinguishability limits F to (1 + V)/2.
    assert ent.double_click_link(0.1, 0.1, visibility=0.9).fidelity == pytest.approx(0.95)
    noisy = ent.double_click_link(1e-3, 1e-3, dark_count_probability=1e-6)
    assert 0.25 < noisy.fidelity < 1.0
    assert noisy.success_probability > 0.5e-6


def _single_click_exact(alpha: float, eta: float) -> tuple[float, float]:
    """Exact herald probability and fidelity of the single-click scheme (V = 1, no dark
    counts, symmetric arms): |01>,|10> give one photon, |11> two bunched photons."""
    one = 2 * alpha * (1 - alpha) * eta
    two = alpha**2 * (2 * eta - eta**2)
    return one + two, one / (one + two)


@pytest.mark.parametrize(("alpha", "eta"), [(0.05, 1e-3), (0.1, 1e-2), (0.02, 1e-4)])
def test_single_click_humphreys(alpha: float, eta: float) -> None:
    # Humphreys et al., Nature 558, 268 (2018), Methods: p ≈ 2 α p_det, F ≈ 1 − α.
    link = ent.single_click_link(alpha, eta, eta)
    assert link.success_probability == pytest.approx(2 * alpha * eta, rel=EXACT)
    assert link.fidelity == pytest.approx(1 - alpha, rel=EXACT)
    # Validity (α ≪ 1, η ≪ 1): within O(α² + αη) of the exact photon-counting result.
    p_exact, f_exact = _single_click_exact(alpha, eta)
    assert link.success_probability == pytest.approx(p_exact, rel=alpha)
    assert link.fidelity == pytest.approx(f_exact, abs=alpha**2 + alpha * eta)


def test_heralded_scalar_array_and_underflow() -> None:
    etas = np.array([1e-1, 1e-150, 1e-300, 0.0])
    dc = ent.double_click_link(etas, etas)
    sc = ent.single_click_link(0.1, etas, etas)
    assert dc.success_probability.shape == sc.success_probability.shape == (4,)
    assert dc.success_probability[-1] == 0.0
    assert dc.fidelity[-1] == 0.25  # no herald: nothing delivered, maximally mixed
    assert sc.success_probability[2] == pytest.approx(0.2e-300, rel=EXACT)
    assert np.all(np.isfinite(dc.fidelity)) and np.all(np.isfinite(sc.fidelity))


# ----------------------------------------------------------------- timing, multiplexing


def test_attempt_time_midpoint() -> None:
    # SPEC: fibre delay L n / c with n = 1.47; midpoint round trip is one L·n/c.
    expected = 50.0 * 1.47 / 299_792.458
    assert ent.heralding_attempt_time_s(50.0) == pytest.approx(expected, rel=EXACT)
    assert ent.heralding_attempt_time_s(50.0, 1e-5, station_position=1.0) == pytest.approx(
        1e-5 + 2 * expected, rel=EXACT
    )
    rates = ent.heralding_attempt_rate_hz([0.0, 0.1, 100.0], 1e6)
    np.testing.assert_allclose(rates, [1e6, 1e6, 1.0 / (100.0 * 1.47 / 299_792.458)], rtol=EXACT)
    with pytest.raises(ValueError, match="source_rate_hz"):
        ent.heralding_attempt_rate_hz(1.0, np.inf)


def test_multiplexing() -> None:
    # Collins et al., PRL 98, 060502 (2007): P = 1 − (1 − p)^M.
    assert ent.multiplexed_success_probability(0.5, 3) == pytest.approx(0.875, rel=EXACT)
    assert ent.multiplexed_success_probability(1e-300, 10) == pytest.approx(1e-299, rel=EXACT)
    assert ent.multiplexed_success_probability(1.0, 4) == 1.0
    out = ent.multiplexed_success_probability([0.0, 1e-3], [[1], [100]])
    assert out.shape == (2, 2)
    with pytest.raises(ValueError, match="modes"):
        ent.multiplexed_success_probability(0.1, 0)


@settings(max_examples=50, deadline=None)
@given(probabilities, st.integers(1, 10_000))
def test_multiplexing_bounds(p: float, modes: int) -> None:
    out = ent.multiplexed_success_probability(p, modes)
    assert p - EXACT <= out <= 1.0
    assert out <= min(1.0, modes * p) + EXACT
