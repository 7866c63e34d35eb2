"""Surface-code estimate of the logical qubits a processor can hold."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Prefactor A of the logical error rate p_L ≈ A (p/p_th)^((d+1)/2), Fowler et al. (2012)
#: Eq. (11). [unitless]
SURFACE_CODE_PREFACTOR = 0.03
#: Threshold of the surface code under circuit-level depolarising noise, ≈ 0.57 %
#: (Fowler et al. 2012, Sec. I); 1 % is the usual round figure. [unitless]
SURFACE_CODE_THRESHOLD = 0.01


def surface_code_distance(
    gate_error: npt.ArrayLike,
    target_logical_error: npt.ArrayLike = 1e-6,
    threshold: npt.ArrayLike = SURFACE_CODE_THRESHOLD,
    prefactor: float = SURFACE_CODE_PREFACTOR,
) -> FloatArray:
    """Smallest odd code distance whose logical error rate meets a target.

    .. math::
        p_L \\approx A \\left(\\frac{p}{p_\\mathrm{th}}\\right)^{(d+1)/2}
        \\;\\Rightarrow\\;
        d = 2 \\left\\lceil \\frac{\\ln(p_L/A)}{\\ln(p/p_\\mathrm{th})} \\right\\rceil - 1

    Parameters
    ----------
    gate_error : array_like
        Physical two-qubit gate error p. [unitless, 0..1]
    target_logical_error : array_like
        Logical error per code cycle wanted. [unitless, 0..1]
    threshold : array_like
        Threshold p_th. [unitless, 0..1]
    prefactor : float
        A in the scaling law; 0.03 from the fit of Fowler et al. [unitless]

    Returns
    -------
    numpy.ndarray
        Odd distance d ≥ 3; 0 where p ≥ p_th (no distance helps above threshold).

    References
    ----------
    .. [1] A. G. Fowler, M. Mariantoni, J. M. Martinis, A. N. Cleland, "Surface codes:
       Towards practical large-scale quantum computation", Phys. Rev. A 86, 032324
       (2012), Eq. (11) and Sec. I.
    """
    p = np.asarray(gate_error, dtype=float)
    p_th = np.asarray(threshold, dtype=float)
    target = np.asarray(target_logical_error, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = np.ceil(np.log(target / prefactor) / np.log(p / p_th))  # Eq. (11) of [1]
        d = np.maximum(2.0 * half - 1.0, 3.0)
    return np.asarray(np.where((p < p_th) & (p > 0), d, np.where(p <= 0, 3.0, 0.0)), dtype=float)


def physical_qubits_per_logical(distance: npt.ArrayLike) -> FloatArray:
    """Qubits of one rotated-free planar surface-code patch, 2d² − 1 (d² data, d² − 1
    measurement), Fowler et al., Phys. Rev. A 86, 032324 (2012), Sec. II. [qubits]"""
    d = np.asarray(distance, dtype=float)
    return np.asarray(2.0 * d**2 - 1.0, dtype=float)


def logical_qubits(
    physical_qubits: npt.ArrayLike,
    gate_error: npt.ArrayLike,
    target_logical_error: npt.ArrayLike = 1e-6,
    threshold: npt.ArrayLike = SURFACE_CODE_THRESHOLD,
) -> FloatArray:
    """Logical qubits a processor holds with the surface code.

    .. math:: N_L = \\left\\lfloor \\frac{N}{2d^2 - 1} \\right\\rfloor

    Parameters
    ----------
    physical_qubits : array_like
        N, physical qubits of the processor. [qubits, ≥ 0]
    gate_error : array_like
        Two-qubit gate error. [unitless, 0..1]
    target_logical_error : array_like
        Logical error per cycle wanted. [unitless]
    threshold : array_like
        Surface-code threshold. [unitless]

    Returns
    -------
    numpy.ndarray
        Whole number of logical qubits; 0 above threshold. [qubits]

    References
    ----------
    .. [1] A. G. Fowler et al., Phys. Rev. A 86, 032324 (2012), Eq. (11), Sec. II.
    """
    d = surface_code_distance(gate_error, target_logical_error, threshold)
    n = np.asarray(physical_qubits, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        count = np.floor(n / physical_qubits_per_logical(d))
    return np.asarray(np.where(d > 0, count, 0.0), dtype=float)
