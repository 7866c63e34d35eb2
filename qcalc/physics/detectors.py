"""Single-photon detectors: background yield per detection window."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def dark_count_probability(
    dark_count_rate_hz: npt.ArrayLike, gate_window_ns: npt.ArrayLike
) -> FloatArray:
    """Probability of at least one dark count in a detection window (Poisson).

    .. math:: Y_0 = 1 - e^{-R_\\mathrm{dark} \\tau}

    For R τ ≪ 1 this is R τ, the form used by Ma, Qi, Zhao, Lo (2005) for the background
    yield Y0 of the whole receiver.

    Parameters
    ----------
    dark_count_rate_hz : array_like
        Dark-count (and background) rate of the whole receiver. [Hz, ≥ 0]
    gate_window_ns : array_like
        Detection (gate or coincidence) window. [ns, > 0]

    Returns
    -------
    numpy.ndarray
        Background yield Y0 per window. [unitless, 0..1]

    References
    ----------
    .. [1] X. Ma, B. Qi, Y. Zhao, H.-K. Lo, "Practical decoy state for quantum key
       distribution", Phys. Rev. A 72, 012326 (2005), Sec. II (Y0 as background rate).
    """
    rate = np.asarray(dark_count_rate_hz, dtype=float)
    window_s = np.asarray(gate_window_ns, dtype=float) * 1e-9
    return np.asarray(-np.expm1(-rate * window_s), dtype=float)


def combined_misalignment_error(errors: list[npt.ArrayLike]) -> FloatArray:
    """Error probability of concatenated optics, each flipping a qubit independently.

    .. math:: e = \frac{1 - \\prod_i (1 - 2 e_i)}{2}

    Two flips cancel, so the Bloch-vector contractions (1 − 2e_i) multiply.

    Parameters
    ----------
    errors : list of array_like
        Misalignment error e_i of each stretch. [unitless, 0..0.5]

    Returns
    -------
    numpy.ndarray
        Total misalignment error. [unitless, 0..0.5]

    References
    ----------
    .. [1] M. A. Nielsen, I. L. Chuang, *Quantum Computation and Quantum Information*,
       Cambridge (2000), Sec. 8.3.3 (bit-flip channel; compositions multiply 1 − 2p).
    """
    product: FloatArray = np.asarray(1.0)
    for e in errors:
        product = np.asarray(product * (1.0 - 2.0 * np.asarray(e, dtype=float)), dtype=float)
    return np.asarray((1.0 - product) / 2.0, dtype=float)
