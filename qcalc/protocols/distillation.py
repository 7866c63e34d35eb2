"""Recurrence entanglement distillation: BBPSSW and DEJMPS.

Both protocols take two copies of a pair, apply bilateral CNOTs, measure the target pair
and keep the source pair when the outcomes agree. A recurrence run of n rounds feeds the
outputs of round k − 1 into round k; on failure both pairs are discarded. The expected
number of elementary pairs consumed per output pair obeys E_k = 2 E_{k−1} / p_k,
so E_n = 2^n / (p_1 ⋯ p_n).

Bell-diagonal states use the order of :mod:`qcalc.protocols.entanglement`:
(A, B, C, D) = weights of (Φ+, Ψ−, Ψ+, Φ−).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from qcalc.protocols.entanglement import (
    checked_bell_coefficients,
    checked_probability,
    clip_fidelity,
    werner_from_fidelity,
)

FloatArray = npt.NDArray[np.float64]

#: Protocol names accepted by :func:`distill` (the scenario's ``distillation.protocol``).
PROTOCOLS = ("bbpssw", "dejmps")


class DistillationResult(NamedTuple):
    """Outcome of ``rounds`` rounds of recurrence distillation."""

    coefficients: FloatArray  #: Bell-diagonal weights of the output, shape (..., 4)
    fidelity: FloatArray  #: output fidelity with Φ+ [unitless, 0..1]
    pairs_per_output: FloatArray  #: expected input pairs consumed per output pair [pairs]
    round_success_probabilities: FloatArray  #: p_k of each round, shape (rounds, ...)


def bbpssw_round(fidelity: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """One round of BBPSSW on two Werner pairs, output re-twirled to a Werner state.

    .. math::
        F' = \\frac{F^2 + \\left(\\frac{1-F}{3}\\right)^2}{p}, \\qquad
        p = F^2 + \\frac{2F(1-F)}{3} + 5\\left(\\frac{1-F}{3}\\right)^2

    F = 1/2 and F = 1 are fixed points; F' > F for 1/2 < F < 1.

    Parameters
    ----------
    fidelity : array_like
        Werner fidelity F of each of the two input pairs. [unitless, 0..1]

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Output Werner fidelity F' [unitless, 0..1] and success probability p
        [unitless, 1/2..1, minimal at F = 1/4].

    References
    ----------
    .. [1] C. H. Bennett, G. Brassard, S. Popescu, B. Schumacher, J. A. Smolin,
       W. K. Wootters, "Purification of noisy entanglement and faithful teleportation via
       noisy channels", Phys. Rev. Lett. 76, 722 (1996), recurrence formula for F'.
    .. [2] W. Dür, H.-J. Briegel, "Entanglement purification and quantum error correction",
       Rep. Prog. Phys. 70, 1381 (2007), Sec. 4.1.
    """
    f = checked_probability("fidelity", fidelity)
    rest = (1.0 - f) / 3.0
    success = f**2 + 2.0 * f * rest + 5.0 * rest**2  # success probability of [1]
    return clip_fidelity((f**2 + rest**2) / success), np.asarray(success, dtype=float)


def dejmps_round(coefficients: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """One round of DEJMPS on two copies of a Bell-diagonal pair.

    .. math::
        N = (A + B)^2 + (C + D)^2, \\quad
        A' = \\frac{A^2 + B^2}{N}, \\quad B' = \\frac{2CD}{N}, \\quad
        C' = \\frac{C^2 + D^2}{N}, \\quad D' = \\frac{2AB}{N}

    with (A, B, C, D) the weights of (Φ+, Ψ−, Ψ+, Φ−); the success probability is N.
    Unlike BBPSSW the output is not twirled, which makes convergence faster.

    Parameters
    ----------
    coefficients : array_like
        Bell-diagonal weights of each input pair, shape (..., 4). [unitless, sum 1]

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Output weights, shape (..., 4) [unitless, sum 1], and success probability N
        [unitless, 1/2..1].

    References
    ----------
    .. [1] D. Deutsch, A. Ekert, R. Jozsa, C. Macchiavello, S. Popescu, A. Sanpera,
       "Quantum privacy amplification and the security of quantum cryptography over
       noisy channels", Phys. Rev. Lett. 77, 2818 (1996), map (A, B, C, D) → (A′, B′, C′, D′).
    .. [2] W. Dür, H.-J. Briegel, Rep. Prog. Phys. 70, 1381 (2007), Sec. 4.2.
    """
    a, b, c, d = np.moveaxis(checked_bell_coefficients(coefficients), -1, 0)
    norm = (a + b) ** 2 + (c + d) ** 2  # N of [1]
    out = np.stack([a**2 + b**2, 2.0 * c * d, c**2 + d**2, 2.0 * a * b], axis=-1)  # [1]
    return out / norm[..., np.newaxis], np.asarray(norm, dtype=float)


def _check_rounds(rounds: int) -> None:
    if isinstance(rounds, bool) or not isinstance(rounds, int | np.integer) or rounds < 0:
        raise ValueError(f"rounds is {rounds!r}; expected an integer ≥ 0")


def _collect(
    coefficients: FloatArray, fidelity: FloatArray, probabilities: list[FloatArray]
) -> DistillationResult:
    """Assemble a result; pairs consumed per output = Π 2/p_k (recurrence E_k = 2E_{k−1}/p_k)."""
    pairs = np.ones_like(fidelity)
    for p in probabilities:
        pairs = 2.0 * pairs / p
    stacked = np.stack(probabilities, axis=0) if probabilities else np.empty((0, *fidelity.shape))
    return DistillationResult(
        coefficients=coefficients,
        fidelity=fidelity,
        pairs_per_output=np.asarray(pairs, dtype=float),
        round_success_probabilities=np.asarray(stacked, dtype=float),
    )


def bbpssw(fidelity: npt.ArrayLike, rounds: int = 1) -> DistillationResult:
    """``rounds`` rounds of BBPSSW recurrence distillation on Werner pairs.

    .. math::
        F_k = F'(F_{k-1}), \\qquad E_n = \\prod_{k=1}^{n} \\frac{2}{p_k}

    Parameters
    ----------
    fidelity : array_like
        Werner fidelity of the elementary pairs. [unitless, 0..1]
    rounds : int, optional
        Number of recurrence rounds n. [count, ≥ 0]

    Returns
    -------
    DistillationResult
        Output Werner weights and fidelity, expected pairs consumed per output pair
        [pairs, ≥ 2^n], and each round's success probability.

    References
    ----------
    .. [1] C. H. Bennett et al., Phys. Rev. Lett. 76, 722 (1996).
    .. [2] W. Dür, H.-J. Briegel, Rep. Prog. Phys. 70, 1381 (2007), Sec. 4.1.
    """
    _check_rounds(rounds)
    f = checked_probability("fidelity", fidelity)
    probabilities: list[FloatArray] = []
    for _ in range(rounds):
        f, p = bbpssw_round(f)
        probabilities.append(p)
    return _collect(werner_from_fidelity(f), f, probabilities)


def dejmps(coefficients: npt.ArrayLike, rounds: int = 1) -> DistillationResult:
    """``rounds`` rounds of DEJMPS recurrence distillation on Bell-diagonal pairs.

    .. math::
        \\lambda_k = \\mathrm{DEJMPS}(\\lambda_{k-1}), \\qquad
        E_n = \\prod_{k=1}^{n} \\frac{2}{N_k}

    For a Werner input the first round gives the same fidelity as BBPSSW; later rounds
    converge faster because the output is not twirled.

    Parameters
    ----------
    coefficients : array_like
        Bell-diagonal weights of the elementary pairs, shape (..., 4). [unitless, sum 1]
    rounds : int, optional
        Number of recurrence rounds n. [count, ≥ 0]

    Returns
    -------
    DistillationResult
        Output weights and fidelity A, expected pairs consumed per output pair
        [pairs, ≥ 2^n], and each round's success probability.

    References
    ----------
    .. [1] D. Deutsch et al., Phys. Rev. Lett. 77, 2818 (1996).
    .. [2] W. Dür, H.-J. Briegel, Rep. Prog. Phys. 70, 1381 (2007), Sec. 4.2.
    """
    _check_rounds(rounds)
    coeffs = checked_bell_coefficients(coefficients)
    probabilities: list[FloatArray] = []
    for _ in range(rounds):
        coeffs, p = dejmps_round(coeffs)
        probabilities.append(p)
    return _collect(coeffs, clip_fidelity(coeffs[..., 0]), probabilities)


def distill(fidelity: npt.ArrayLike, protocol: str, rounds: int = 1) -> DistillationResult:
    """Distil Werner pairs of a given fidelity with a named protocol.

    Parameters
    ----------
    fidelity : array_like
        Werner fidelity of the elementary pairs. [unitless, 0..1]
    protocol : {"bbpssw", "dejmps"}
        Protocol name, case-insensitive.
    rounds : int, optional
        Number of recurrence rounds. [count, ≥ 0]

    Returns
    -------
    DistillationResult
        See :func:`bbpssw` and :func:`dejmps`.

    References
    ----------
    .. [1] W. Dür, H.-J. Briegel, Rep. Prog. Phys. 70, 1381 (2007), Sec. 4.
    """
    name = protocol.lower()
    if name == "bbpssw":
        return bbpssw(fidelity, rounds)
    if name == "dejmps":
        return dejmps(werner_from_fidelity(fidelity), rounds)
    raise ValueError(f"protocol is {protocol!r}; expected one of {', '.join(PROTOCOLS)}")
