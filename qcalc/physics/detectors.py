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


def dead_time_pulses(
    repetition_rate_hz: npt.ArrayLike, dead_time_ns: npt.ArrayLike | None
) -> FloatArray:
    """A detector's dead time counted in source periods.

    .. math:: n_d = R\\,\\tau_d

    Parameters
    ----------
    repetition_rate_hz : array_like
        Source repetition rate R. [Hz, > 0]
    dead_time_ns : array_like or None
        Dead time τ_d after each click; ``None`` for none. [ns, ≥ 0]

    Returns
    -------
    numpy.ndarray
        n_d, the pulses that arrive while the receiver is blind after a click.
        [pulses, ≥ 0]
    """
    if dead_time_ns is None:
        return np.zeros(np.shape(repetition_rate_hz))
    rate = np.asarray(repetition_rate_hz, dtype=float)
    return np.asarray(rate * np.asarray(dead_time_ns, dtype=float) * 1e-9, dtype=float)


def dead_time_live_fraction(
    click_probability: npt.ArrayLike, dead_time_pulses: npt.ArrayLike
) -> FloatArray:
    """Fraction of pulses a non-paralysable detector is live for (saturation factor).

    .. math::
        c_\\mathrm{dt} = \\frac{1}{1 + P\\,n_d}, \\qquad
        R_\\mathrm{out} = \\frac{R_\\mathrm{in}}{1 + R_\\mathrm{in}\\tau_d}
        \\quad (R_\\mathrm{in} = R P,\\; n_d = R\\tau_d)

    A click blinds the receiver for τ_d; a pulse arriving then is not detected (the
    dead time is not extended, "non-paralysable"). With a click probability P per pulse
    when live, a cycle lasts n_d + 1/P pulses on average, so clicks per pulse are
    P/(1 + P n_d) = c_dt P: every detection probability — signal and dark alike — is
    scaled by c_dt. Rusca et al. [3] use the same factor in their QKD simulation.
    The receiver is taken as blind as a whole after any click, the counter-measure to the
    dead-time attack of Weier et al. [4] (a receiver whose detectors recover separately
    is blind less often: this is the conservative count).

    Parameters
    ----------
    click_probability : array_like
        P, probability that the live receiver clicks on a pulse (all intensities and
        bases averaged). [unitless, 0..1]
    dead_time_pulses : array_like
        n_d = R τ_d, see :func:`dead_time_pulses`. [pulses, ≥ 0]

    Returns
    -------
    numpy.ndarray
        c_dt; 1 without dead time, → 1/(P n_d) when saturated. [unitless, 0..1]

    References
    ----------
    .. [1] J. W. Müller, "Dead-time problems", Nucl. Instrum. Methods 112, 47 (1973)
       (non-extended, i.e. non-paralysable, dead time: ρ = n/(1 − nτ) ⇔ n = ρ/(1 + ρτ)).
    .. [2] D. J. Rogers, J. C. Bienfang, A. Nakassis, H. Xu, C. W. Clark, "Detector
       dead-time effects and paralyzability in high-speed quantum key distribution",
       New J. Phys. 9, 319 (2007).
    .. [3] D. Rusca, A. Boaron, F. Grünenfelder, A. Martin, H. Zbinden, "Finite-key
       analysis for the 1-decoy state QKD protocol", Appl. Phys. Lett. 112, 171104
       (2018), Eq. (B3).
    .. [4] H. Weier et al., "Quantum eavesdropping without interception: an attack
       exploiting the dead time of single-photon detectors", New J. Phys. 13, 073024
       (2011).
    """
    p = np.asarray(click_probability, dtype=float).clip(0.0, 1.0)
    n_d = np.asarray(dead_time_pulses, dtype=float)
    return np.asarray(1.0 / (1.0 + p * n_d), dtype=float)  # [1]; Eq. (B3) of [3]
