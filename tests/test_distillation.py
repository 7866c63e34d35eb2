"""Tests of qcalc.protocols.distillation: published maps, fixed points, and the circuits
(bilateral CNOT, measure, post-select) simulated on four-qubit density matrices."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qcalc.protocols import distillation as dist
from qcalc.protocols.entanglement import werner_from_fidelity

EXACT = 1e-12
SIMULATION = 1e-10

_SQ2 = np.sqrt(0.5)
# Φ+, Ψ−, Ψ+, Φ− in the basis |00>,|01>,|10>,|11> (order of Deutsch et al. 1996).
BELL = np.array([[_SQ2, 0, 0, _SQ2], [0, _SQ2, -_SQ2, 0], [0, _SQ2, _SQ2, 0], [_SQ2, 0, 0, -_SQ2]])


def _rx(theta: float) -> np.ndarray:
    return np.array(
        [[np.cos(theta / 2), -1j * np.sin(theta / 2)], [-1j * np.sin(theta / 2), np.cos(theta / 2)]]
    )


def simulate_recurrence(coefficients: np.ndarray, rotate: bool) -> tuple[np.ndarray, float]:
    """Two copies of a Bell-diagonal pair: qubits (A1, B1, A2, B2) = (0, 1, 2, 3).

    DEJMPS (rotate=True): Alice applies Rx(π/2), Bob Rx(−π/2) to each of her qubits; then
    bilateral CNOT A1→A2, B1→B2; measure A2, B2 in Z and keep when they agree.
    Returns the Bell weights of the kept pair and the success probability.
    """
    pair = np.einsum("k,ki,kj->ij", coefficients, BELL, BELL).astype(complex)
    if rotate:
        u = np.kron(_rx(np.pi / 2), _rx(-np.pi / 2))
        pair = u @ pair @ u.conj().T
    rho = np.kron(pair, pair).reshape([2] * 8)
    # Bilateral CNOT as a permutation of basis states: a2 ^= a1, b2 ^= b1.
    out = np.zeros_like(rho)
    for idx in np.ndindex(*([2] * 8)):
        a1, b1, a2, b2, c1, d1, c2, d2 = idx
        out[a1, b1, a2 ^ a1, b2 ^ b1, c1, d1, c2 ^ c1, d2 ^ d1] = rho[idx]
    kept = (out[:, :, 0, 0, :, :, 0, 0] + out[:, :, 1, 1, :, :, 1, 1]).reshape(4, 4)
    success = float(np.trace(kept).real)
    weights = np.einsum("ki,ij,kj->k", BELL, kept / success, BELL).real
    return weights, success


def test_bbpssw_published_map_and_fixed_points() -> None:
    # Bennett et al., PRL 76, 722 (1996): F' = (F² + ((1−F)/3)²)/(F² + 2F(1−F)/3 + 5((1−F)/3)²);
    # F = 1/2 and F = 1 are fixed points.
    f_out, p = dist.bbpssw_round([0.5, 1.0])
    np.testing.assert_allclose(f_out, [0.5, 1.0], rtol=EXACT)
    np.testing.assert_allclose(p, [20 / 36, 1.0], rtol=EXACT)
    # F = 0.7: F' = 0.5/0.68 = 25/34 = 0.73529..., p = 0.68.
    f_out, p = dist.bbpssw_round(0.7)
    assert f_out == pytest.approx(25 / 34, rel=EXACT)
    assert p == pytest.approx(0.68, rel=EXACT)


@pytest.mark.parametrize("fidelity", [0.6, 0.75, 0.9])
def test_bbpssw_against_circuit(fidelity: float) -> None:
    # BBPSSW circuit on Φ+ Werner pairs; the output fidelity before re-twirling is A'.
    weights, success = simulate_recurrence(werner_from_fidelity(fidelity), rotate=False)
    f_out, p = dist.bbpssw_round(fidelity)
    assert f_out == pytest.approx(weights[0], abs=SIMULATION)
    assert p == pytest.approx(success, abs=SIMULATION)


@pytest.mark.parametrize(
    "coefficients",
    [[0.7, 0.1, 0.1, 0.1], [0.8, 0.12, 0.05, 0.03], [0.6, 0.05, 0.3, 0.05], [0.55, 0.0, 0.2, 0.25]],
)
def test_dejmps_against_circuit(coefficients: list[float]) -> None:
    # Deutsch et al., PRL 77, 2818 (1996): A' = (A²+B²)/N, B' = 2CD/N, C' = (C²+D²)/N,
    # D' = 2AB/N, N = (A+B)² + (C+D)², for the order (Φ+, Ψ−, Ψ+, Φ−).
    c = np.asarray(coefficients)
    weights, success = simulate_recurrence(c, rotate=True)
    out, p = dist.dejmps_round(c)
    np.testing.assert_allclose(out, weights, atol=SIMULATION)
    assert p == pytest.approx(success, abs=SIMULATION)
    a, b, cc, d = c
    norm = (a + b) ** 2 + (cc + d) ** 2
    np.testing.assert_allclose(
        out, np.array([a**2 + b**2, 2 * cc * d, cc**2 + d**2, 2 * a * b]) / norm, rtol=EXACT
    )


def test_dejmps_converges_faster_than_bbpssw() -> None:
    # Deutsch et al. (1996), Fig. 1: fewer iterations than BBPSSW for the same fidelity.
    # Round 1 on a Werner input is identical; afterwards DEJMPS is strictly ahead.
    werner = werner_from_fidelity(0.7)
    assert dist.dejmps(werner, 1).fidelity == pytest.approx(dist.bbpssw(0.7, 1).fidelity)
    for rounds in (2, 3, 4):
        assert dist.dejmps(werner, rounds).fidelity > dist.bbpssw(0.7, rounds).fidelity + 1e-3
    rounds_to_099 = {
        name: next(n for n in range(1, 30) if dist.distill(0.7, name, n).fidelity >= 0.99)
        for name in dist.PROTOCOLS
    }
    assert rounds_to_099["dejmps"] < rounds_to_099["bbpssw"]


def test_pairs_consumed_recurrence() -> None:
    # E_n = 2^n / Π p_k (Dür & Briegel 2007, Sec. 4): both pairs lost on failure.
    result = dist.bbpssw(0.8, 3)
    probs = result.round_success_probabilities
    assert probs.shape == (3,)
    assert result.pairs_per_output == pytest.approx(8 / np.prod(probs), rel=EXACT)
    none = dist.dejmps(werner_from_fidelity(0.8), 0)
    assert none.pairs_per_output == 1.0
    assert none.fidelity == pytest.approx(0.8)
    assert none.round_success_probabilities.shape == (0,)


def test_scalar_and_array_inputs() -> None:
    fids = np.array([[0.6, 0.7], [0.9, 0.99]])
    result = dist.distill(fids, "DEJMPS", 2)
    assert result.fidelity.shape == (2, 2)
    assert result.coefficients.shape == (2, 2, 4)
    assert result.round_success_probabilities.shape == (2, 2, 2)
    assert result.fidelity[1, 0] == pytest.approx(dist.distill(0.9, "dejmps", 2).fidelity)
    assert dist.bbpssw(fids, 2).pairs_per_output.shape == (2, 2)


def test_invalid_inputs() -> None:
    with pytest.raises(ValueError, match="protocol is 'pumping'"):
        dist.distill(0.9, "pumping")
    with pytest.raises(ValueError, match="rounds is -1"):
        dist.bbpssw(0.9, -1)
    with pytest.raises(ValueError, match="fidelity is"):
        dist.bbpssw(-0.1)


@settings(max_examples=60, deadline=None)
@given(st.floats(0.25, 1.0), st.integers(0, 4))
def test_distillation_bounds(fidelity: float, rounds: int) -> None:
    for name in dist.PROTOCOLS:
        result = dist.distill(fidelity, name, rounds)
        assert 0.25 - EXACT <= result.fidelity <= 1.0
        assert np.all(result.round_success_probabilities > 0.0)
        assert np.all(result.round_success_probabilities <= 1.0 + EXACT)
        assert result.pairs_per_output >= 2**rounds - EXACT
        assert result.coefficients.sum() == pytest.approx(1.0, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.floats(0.5001, 0.9999))
def test_one_round_raises_fidelity_above_half(fidelity: float) -> None:
    # Bennett et al. (1996): the recurrence improves every Werner state with F > 1/2.
    assert dist.bbpssw(fidelity, 1).fidelity > fidelity
    assert dist.dejmps(werner_from_fidelity(fidelity), 1).fidelity > fidelity
