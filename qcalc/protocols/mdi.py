"""Measurement-device-independent QKD (Lo–Curty–Qi 2012): asymptotic and finite-size.

Alice and Bob send phase-randomised weak coherent pulses in BB84 polarisation states to
an untrusted relay (Charlie) that performs a linear-optics Bell-state measurement with
four threshold detectors. Gains and error rates are the closed forms of Ma and Razavi
(2012) for asymmetric arms. Two key rates:

- :func:`mdi_qkd_rate`, asymptotic with infinitely many decoys: the single-photon-pair
  yield Y11 and phase error e11^X are taken exactly from the channel model, and the key
  basis is chosen with probability → 1 (the efficient protocol of [1], Eq. (1), which
  carries no sifting factor);
- :func:`mdi_finite_key_rate`, the four-intensity protocol (signal μ_z in the Z basis;
  vacuum, weak ν_x and strong ν_y decoys in the X basis) of Zhou, Yu and Wang [3] with
  finitely many pulse pairs N: Y11 and e11^X are decoy-state bounds, every observed
  count is bracketed by a multiplicative Chernoff bound, the Z-basis phase error by a
  random-sampling bound, and the key length carries the ε terms of Curty et al. [4].

Rates are per pulse pair; the caller multiplies by the repetition rate.

References
----------
.. [1] H.-K. Lo, M. Curty, B. Qi, "Measurement-device-independent quantum key
   distribution", Phys. Rev. Lett. 108, 130503 (2012).
.. [2] X. Ma, M. Razavi, "Alternative schemes for measurement-device-independent quantum
   key distribution", Phys. Rev. A 86, 062319 (2012), Appendices A and B.
.. [3] Y.-H. Zhou, Z.-W. Yu, X.-B. Wang, "Making the decoy-state measurement-device-
   independent quantum key distribution practically useful", Phys. Rev. A 93, 042324
   (2016) (the four-intensity protocol run by Yin et al., PRL 117, 190501 (2016)).
.. [4] M. Curty, F. Xu, W. Cui, C. C. W. Lim, K. Tamaki, H.-K. Lo, "Finite-key analysis
   for measurement-device-independent quantum key distribution", Nat. Commun. 5, 3732
   (2014), Methods (key length and its ε composition).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from qcalc.protocols.numerics import bessel_i0_minus_one, bessel_i0e, maximise_each_point
from qcalc.protocols.qkd import binary_entropy

FloatArray = npt.NDArray[np.float64]

#: Search box of the optimised mean photon numbers. [photons/pulse]
MDI_PHOTON_NUMBER_BOUNDS = (1e-3, 1.5)


def _arrays(*values: npt.ArrayLike) -> list[FloatArray]:
    return [np.asarray(v, dtype=float) for v in values]


def _validate(eta_a: FloatArray, eta_b: FloatArray, p_d: FloatArray, e_d: FloatArray) -> None:
    for name, value, high in (
        ("transmittance_a", eta_a, 1.0),
        ("transmittance_b", eta_b, 1.0),
        ("dark_count_probability", p_d, 1.0),
        ("misalignment_error", e_d, 0.5),
    ):
        if np.any((value < 0) | (value > high)):
            raise ValueError(f"{name} is {value}; expected a value in [0, {high}]")


def single_photon_pair_yield(
    transmittance_a: npt.ArrayLike,
    transmittance_b: npt.ArrayLike,
    dark_count_probability: npt.ArrayLike,
    misalignment_error: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Yield Y11 and X-basis error e11 of a single-photon pair at the relay.

    .. math::
        Y_{11} = (1-p_d)^2\\left[\\tfrac{\\eta_a\\eta_b}{2}
                 + (2\\eta_a + 2\\eta_b - 3\\eta_a\\eta_b)p_d
                 + 4(1-\\eta_a)(1-\\eta_b)p_d^2\\right],\\quad
        e_{11}^X Y_{11} = \\tfrac{Y_{11}}{2} - (\\tfrac12 - e_d)(1-p_d)^2
                 \\tfrac{\\eta_a\\eta_b}{2}

    Parameters
    ----------
    transmittance_a, transmittance_b : array_like
        η_a, η_b including the relay's detection efficiency. [unitless, 0..1]
    dark_count_probability : array_like
        p_d per window of each of the relay's four detectors. [unitless, 0..1]
    misalignment_error : array_like
        e_d of the interference. [unitless, 0..0.5]

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Y11 [per pulse pair, 0..1] and e11^X [unitless, 0..0.5] (0.5 where Y11 = 0).

    References
    ----------
    .. [1] X. Ma, M. Razavi, Phys. Rev. A 86, 062319 (2012), Eqs. (A9), (A11).
    """
    eta_a, eta_b, p_d, e_d = _arrays(
        transmittance_a, transmittance_b, dark_count_probability, misalignment_error
    )
    both = eta_a * eta_b
    y11 = (1 - p_d) ** 2 * (  # Eq. (A9) of [1]
        both / 2 + (2 * eta_a + 2 * eta_b - 3 * both) * p_d + 4 * (1 - eta_a) * (1 - eta_b) * p_d**2
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        e11 = np.where(  # Eq. (A11) of [1]
            y11 > 0, 0.5 - (0.5 - e_d) * (1 - p_d) ** 2 * both / 2 / np.where(y11 > 0, y11, 1), 0.5
        )
    return np.asarray(y11, dtype=float), np.asarray(e11, dtype=float)


def z_basis_gain(
    transmittance_a: npt.ArrayLike,
    transmittance_b: npt.ArrayLike,
    dark_count_probability: npt.ArrayLike,
    misalignment_error: npt.ArrayLike,
    mean_photon_number_a: npt.ArrayLike,
    mean_photon_number_b: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Gain and erroneous gain of the rectilinear (Z, key) basis.

    .. math::
        Q_C = 2(1-p_d)^2 e^{-\\mu'/2}[1-(1-p_d)e^{-\\eta_a\\mu_a/2}]
              [1-(1-p_d)e^{-\\eta_b\\mu_b/2}],\\quad
        Q_E = 2p_d(1-p_d)^2 e^{-\\mu'/2}[I_0(2x) - (1-p_d)e^{-\\mu'/2}]

    with μ' = η_aμ_a + η_bμ_b, x = √(η_aμ_aη_bμ_b)/2; Q^Z = Q_C + Q_E and
    E^Z Q^Z = e_d Q_C + (1 − e_d) Q_E.

    Parameters
    ----------
    transmittance_a, transmittance_b : array_like
        η_a, η_b including the relay's detection efficiency. [unitless, 0..1]
    dark_count_probability : array_like
        p_d per window of each of the relay's four detectors. [unitless, 0..1]
    misalignment_error : array_like
        e_d. [unitless, 0..0.5]
    mean_photon_number_a, mean_photon_number_b : array_like
        μ_a, μ_b. [photons/pulse, ≥ 0]

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Q^Z and E^Z Q^Z. [per pulse pair, 0..1]

    References
    ----------
    .. [1] X. Ma, M. Razavi, Phys. Rev. A 86, 062319 (2012), Eqs. (B29), (B30).
    """
    eta_a, eta_b, p_d, e_d, mu_a, mu_b = _arrays(
        transmittance_a,
        transmittance_b,
        dark_count_probability,
        misalignment_error,
        mean_photon_number_a,
        mean_photon_number_b,
    )
    with np.errstate(under="ignore"):
        m_a, m_b = eta_a * mu_a, eta_b * mu_b
        arrived = m_a + m_b
        x = np.sqrt(m_a * m_b) / 2
        # 1 − (1 − p_d) e^{−m/2}, accurate when m → 0.
        click_a = -np.expm1(-m_a / 2) + p_d * np.exp(-m_a / 2)
        click_b = -np.expm1(-m_b / 2) + p_d * np.exp(-m_b / 2)
        q_c = 2 * (1 - p_d) ** 2 * np.exp(-arrived / 2) * click_a * click_b  # Eq. (B29) of [1]
        # I0(2x) e^{−μ'/2} − (1 − p_d) e^{−μ'}, with i0e(2x) = I0(2x) e^{−2x} (no overflow).
        q_e = (  # Eq. (B30) of [1]
            2
            * p_d
            * (1 - p_d) ** 2
            * (bessel_i0e(2 * x) * np.exp(2 * x - arrived / 2) - (1 - p_d) * np.exp(-arrived))
        )
    return np.asarray(q_c + q_e, dtype=float), np.asarray(e_d * q_c + (1 - e_d) * q_e, dtype=float)


def x_basis_gain(
    transmittance_a: npt.ArrayLike,
    transmittance_b: npt.ArrayLike,
    dark_count_probability: npt.ArrayLike,
    misalignment_error: npt.ArrayLike,
    mean_photon_number_a: npt.ArrayLike,
    mean_photon_number_b: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Gain and erroneous gain of the diagonal (X, test) basis; μ = 0 is a vacuum pulse.

    .. math::
        Q^X = 2y^2[1 + 2y^2 - 4yI_0(x) + I_0(2x)],\\quad
        E^X Q^X = \\tfrac12 Q^X - 2(\\tfrac12 - e_d)\\,y^2[I_0(2x) - 1]

    with y = (1 − p_d) e^{−μ'/4}, μ' = η_aμ_a + η_bμ_b, x = √(η_aμ_aη_bμ_b)/2. The
    bracket is evaluated as 2u² + j2 − 4 j1 (1 − u) with u = 1 − y, j1 = I0(x) − 1,
    j2 = I0(2x) − 1, which is free of cancellation when μ' → 0.

    Parameters
    ----------
    transmittance_a, transmittance_b : array_like
        η_a, η_b including the relay's detection efficiency. [unitless, 0..1]
    dark_count_probability : array_like
        p_d per window of each of the relay's four detectors. [unitless, 0..1]
    misalignment_error : array_like
        e_d. [unitless, 0..0.5]
    mean_photon_number_a, mean_photon_number_b : array_like
        μ_a, μ_b; 0 for a vacuum pulse. [photons/pulse, ≥ 0]

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Q^X and E^X Q^X. [per pulse pair, 0..1]

    Notes
    -----
    Checks of the closed form: with one side vacuum (x = 0) it is 4y²(1 − y)², two of the
    four detectors each lit with mean η μ/4, and its error rate is exactly 1/2; with
    p_d = 0 and η_aμ_a = η_bμ_b = m ≪ 1, Q^X ≈ m² (single-photon pairs m²/2 and the
    two-photon terms m²/4 each) and E^X Q^X ≈ m²/4 + e_d m²/2 (Appendix B of [1]).

    References
    ----------
    .. [1] X. Ma, M. Razavi, Phys. Rev. A 86, 062319 (2012), Appendix B (diagonal basis).
    .. [2] F. Xu, M. Curty, B. Qi, H.-K. Lo, New J. Phys. 15, 113007 (2013), Appendix A.
    """
    eta_a, eta_b, p_d, e_d, mu_a, mu_b = _arrays(
        transmittance_a,
        transmittance_b,
        dark_count_probability,
        misalignment_error,
        mean_photon_number_a,
        mean_photon_number_b,
    )
    with np.errstate(under="ignore"):
        m_a, m_b = eta_a * mu_a, eta_b * mu_b
        quarter = (m_a + m_b) / 4
        y = (1 - p_d) * np.exp(-quarter)
        u = -np.expm1(-quarter) + p_d * np.exp(-quarter)  # 1 − y, accurate for small μ'
        x = np.sqrt(m_a * m_b) / 2
        j1, j2 = bessel_i0_minus_one(x), bessel_i0_minus_one(2 * x)
        gain = 2 * y**2 * (2 * u**2 + j2 - 4 * j1 * (1 - u))  # Appendix B of [1]
        wrong = 0.5 * gain - 2 * (0.5 - e_d) * y**2 * j2
    return np.asarray(gain, dtype=float), np.asarray(np.maximum(wrong, 0.0), dtype=float)


def mdi_relay_click_probability(
    transmittance_a: npt.ArrayLike,
    transmittance_b: npt.ArrayLike,
    dark_count_probability: npt.ArrayLike,
    intensities_a: Any,
    intensities_b: Any,
    probabilities_a: Any = None,
    probabilities_b: Any = None,
) -> FloatArray:
    """Probability that any of the relay's four detectors clicks on a pulse pair.

    .. math::
        P = \\sum_{i,j} p^a_i p^b_j \\left[1 - (1-p_d)^4
            e^{-(\\eta_a\\mu^a_i + \\eta_b\\mu^b_j)}\\right]

    Phase-randomised coherent pulses are Poisson mixtures of photon numbers; the relay's
    passive linear optics conserve photon number and each photon is detected
    independently (the detection efficiency is folded into η), so the detected photons
    are Poisson with mean η_aμ_a + η_bμ_b whichever detector they reach; a dark count in
    any of the four detectors (p_d each) is a click too. This is the P of the dead-time
    live fraction (:func:`qcalc.physics.detectors.dead_time_live_fraction`): whether the
    relay is live for a pulse pair does not depend on the intensities that pair carries,
    so P is averaged over the intensities both ends draw.

    Parameters
    ----------
    transmittance_a, transmittance_b : array_like
        η_a, η_b including the relay's detection efficiency. [unitless, 0..1]
    dark_count_probability : array_like
        p_d per window of each of the four detectors. [unitless, 0..1]
    intensities_a, intensities_b : sequence of array_like, or array_like
        The intensities each end sends (one value: that intensity only). [photons/pulse]
    probabilities_a, probabilities_b : sequence of array_like, optional
        Their probabilities, in the same order; ``None`` for a single intensity.
        [unitless]

    Returns
    -------
    numpy.ndarray
        P per pulse pair. [unitless, 0..1]

    References
    ----------
    .. [1] X. Ma, M. Razavi, Phys. Rev. A 86, 062319 (2012), Appendix A (threshold
       detectors, Poisson inputs, a dark-count probability per detector).
    """
    eta_a, eta_b, p_d = _arrays(transmittance_a, transmittance_b, dark_count_probability)

    def listed(values: Any) -> list[FloatArray]:
        if isinstance(values, list | tuple):
            return [np.asarray(v, dtype=float) for v in values]
        return [np.asarray(values, dtype=float)]

    mu_a, mu_b = listed(intensities_a), listed(intensities_b)
    w_a = [np.asarray(1.0)] if probabilities_a is None else listed(probabilities_a)
    w_b = [np.asarray(1.0)] if probabilities_b is None else listed(probabilities_b)
    if len(w_a) != len(mu_a) or len(w_b) != len(mu_b):
        raise ValueError("give one probability per intensity (or none for one intensity)")
    # (1 − p_d)^4 of p_d as given, as before (numpy's power of a number and of an array
    # can differ by an ulp), then every pair (a, b) in one broadcast along two leading
    # axes, summed pair by pair in the order of the lists.
    dark = (1.0 - p_d) ** 4
    every = np.broadcast_arrays(eta_a, eta_b, dark, *mu_a, *mu_b, *w_a, *w_b)
    eta_a, eta_b, dark = every[:3]
    n_a, n_b = len(mu_a), len(mu_b)
    m_a = np.stack(every[3 : 3 + n_a])[:, None]
    m_b = np.stack(every[3 + n_a : 3 + n_a + n_b])[None, :]
    p_a = np.stack(every[3 + n_a + n_b : 3 + 2 * n_a + n_b])[:, None]
    p_b = np.stack(every[3 + 2 * n_a + n_b :])[None, :]
    none = dark * np.exp(-(eta_a * m_a + eta_b * m_b))
    terms = p_a * p_b * (1.0 - none)
    total: FloatArray = np.asarray(0.0)
    for i in range(n_a):
        for j in range(n_b):
            total = np.asarray(total + terms[i, j], dtype=float)
    return np.asarray(np.clip(total, 0.0, 1.0), dtype=float)


def mdi_qkd_rate(
    transmittance_a: npt.ArrayLike,
    transmittance_b: npt.ArrayLike,
    dark_count_probability: npt.ArrayLike,
    misalignment_error: npt.ArrayLike,
    *,
    mean_photon_number_a: npt.ArrayLike = 0.3,
    mean_photon_number_b: npt.ArrayLike = 0.3,
    error_correction_efficiency: npt.ArrayLike = 1.16,
    sifting_factor: npt.ArrayLike = 1.0,
    dead_time_pulses: npt.ArrayLike = 0.0,
) -> FloatArray:
    """Asymptotic key rate of decoy-state MDI-QKD with asymmetric arms.

    .. math::
        R = c_\\mathrm{dt}\\, q\\,\\{\\mu_a\\mu_b e^{-\\mu_a-\\mu_b} Y_{11}[1 - h(e_{11}^X)]
              - Q^Z_{\\mu_a\\mu_b} f\\, h(E^Z_{\\mu_a\\mu_b})\\}

    c_dt = 1/(1 + P n_d) is the live fraction of a relay that any click blinds for n_d
    pulse periods (:func:`qcalc.physics.detectors.dead_time_live_fraction`, P from
    :func:`mdi_relay_click_probability` at the signals, sent with probability → 1). It
    scales every gain alike, so the error rates keep their values and R, linear in the
    gains, takes the factor.

    .. math::
        Y_{11} = (1-p_d)^2\\left[\\tfrac{\\eta_a\\eta_b}{2}
                 + (2\\eta_a + 2\\eta_b - 3\\eta_a\\eta_b)p_d
                 + 4(1-\\eta_a)(1-\\eta_b)p_d^2\\right],\\quad
        e_{11}^X Y_{11} = \\tfrac{Y_{11}}{2} - (\\tfrac12 - e_d)(1-p_d)^2
                 \\tfrac{\\eta_a\\eta_b}{2}

    .. math::
        Q_C = 2(1-p_d)^2 e^{-\\mu'/2}[1-(1-p_d)e^{-\\eta_a\\mu_a/2}]
              [1-(1-p_d)e^{-\\eta_b\\mu_b/2}],\\quad
        Q_E = 2p_d(1-p_d)^2 e^{-\\mu'/2}[I_0(2x) - (1-p_d)e^{-\\mu'/2}]

    with μ' = η_aμ_a + η_bμ_b, x = √(η_aμ_aη_bμ_b)/2, Q^Z = Q_C + Q_E and
    E^Z Q^Z = e_d Q_C + (1 − e_d) Q_E.

    Parameters
    ----------
    transmittance_a, transmittance_b : array_like
        η_a, η_b: Alice→relay and Bob→relay transmittance, each including the relay's
        detection efficiency. [unitless, 0..1]
    dark_count_probability : array_like
        p_d, dark-count probability per window **of each of the relay's four
        detectors** (a whole-relay Y0 corresponds to p_d ≈ Y0/4). [unitless, 0..1]
    misalignment_error : array_like
        e_d, polarisation misalignment between the arms. [unitless, 0..0.5]
    mean_photon_number_a, mean_photon_number_b : array_like
        Signal intensities μ_a, μ_b. [photons/pulse, > 0]
    error_correction_efficiency : array_like
        f ≥ 1. [unitless]
    sifting_factor : array_like
        q, fraction of pulse pairs where both chose the key (Z) basis; 1 for the
        asymptotic efficient protocol of [1], 1/4 for unbiased bases. [unitless, 0..1]
    dead_time_pulses : array_like
        n_d = R τ_d, the relay's dead time in pulse periods (0: none). [pulses, ≥ 0]

    Returns
    -------
    numpy.ndarray
        Secret key per pulse pair; ∝ η_aη_b at long distance, exactly 0 beyond the
        maximum distance. [bits/pulse pair, ≥ 0]

    Raises
    ------
    ValueError
        If a probability or transmittance is outside [0, 1] (e_d outside [0, 0.5]).

    References
    ----------
    .. [1] H.-K. Lo, M. Curty, B. Qi, Phys. Rev. Lett. 108, 130503 (2012), Eq. (1).
    .. [2] X. Ma, M. Razavi, Phys. Rev. A 86, 062319 (2012), Eqs. (A9), (A11),
       (B29)–(B31).
    .. [3] J. W. Müller, "Dead-time problems", Nucl. Instrum. Methods 112, 47 (1973)
       (non-paralysable dead time).
    """
    from qcalc.physics.detectors import dead_time_live_fraction

    eta_a, eta_b, p_d, e_d, mu_a, mu_b, f, q = _arrays(
        transmittance_a,
        transmittance_b,
        dark_count_probability,
        misalignment_error,
        mean_photon_number_a,
        mean_photon_number_b,
        error_correction_efficiency,
        sifting_factor,
    )
    _validate(eta_a, eta_b, p_d, e_d)
    if np.any(mu_a <= 0) or np.any(mu_b <= 0):
        raise ValueError(f"mean photon numbers ({mu_a}, {mu_b}) must be > 0")
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        y11, e11 = single_photon_pair_yield(eta_a, eta_b, p_d, e_d)
        gain, wrong = z_basis_gain(eta_a, eta_b, p_d, e_d, mu_a, mu_b)
        qber = np.where(gain > 0, wrong / np.where(gain > 0, gain, 1), 0.5)
        single_pairs = mu_a * mu_b * np.exp(-mu_a - mu_b) * y11
        rate = q * (  # Eq. (1) of [1]
            single_pairs * (1 - binary_entropy(e11)) - gain * f * binary_entropy(qber)  # (B31)
        )
        click = mdi_relay_click_probability(eta_a, eta_b, p_d, mu_a, mu_b)
        rate = rate * dead_time_live_fraction(click, dead_time_pulses)  # [3]
    return np.asarray(np.where(np.isfinite(rate) & (rate > 0), rate, 0.0), dtype=float)


def optimise_mdi_qkd(
    transmittance_a: npt.ArrayLike,
    transmittance_b: npt.ArrayLike,
    dark_count_probability: npt.ArrayLike,
    misalignment_error: npt.ArrayLike,
    *,
    error_correction_efficiency: float = 1.16,
    sifting_factor: float = 1.0,
    mean_photon_number_a: float | None = None,
    mean_photon_number_b: float | None = None,
    dead_time_pulses: npt.ArrayLike = 0.0,
) -> tuple[FloatArray, dict[str, FloatArray]]:
    """MDI-QKD rate maximised over the two signal intensities μ_a, μ_b.

    .. math:: R^* = \\max_{\\mu_a, \\mu_b \\in [10^{-3}, 1.5]} R(\\mu_a, \\mu_b)

    A vectorised 15 × 15 logarithmic grid seeds a bounded compass search
    (:func:`qcalc.protocols.numerics.maximise_on_grid`) on (log μ_a, log μ_b) per point; with asymmetric arms the optimum has η_aμ_a ≈ η_bμ_b.

    Parameters
    ----------
    transmittance_a, transmittance_b : array_like
        η_a, η_b including the relay's detection efficiency. [unitless, 0..1]
    dark_count_probability : array_like
        p_d per detector per window (four detectors). [unitless, 0..1]
    misalignment_error : array_like
        e_d. [unitless, 0..0.5]
    error_correction_efficiency : float
        f ≥ 1. [unitless]
    sifting_factor : float
        q, see :func:`mdi_qkd_rate`. [unitless, 0..1]
    mean_photon_number_a, mean_photon_number_b : float, optional
        μ_a or μ_b fixed by the source; only the other (or neither) is searched.
        [photons/pulse, > 0]
    dead_time_pulses : array_like
        n_d, the relay's dead time in pulse periods (see :func:`mdi_qkd_rate`).
        [pulses, ≥ 0]

    Returns
    -------
    (numpy.ndarray, dict of numpy.ndarray)
        Best rate [bits/pulse pair, ≥ 0] and ``mean_photon_number_a``,
        ``mean_photon_number_b`` [photons/pulse] at the optimum, broadcast shape.

    References
    ----------
    .. [1] H.-K. Lo, M. Curty, B. Qi, Phys. Rev. Lett. 108, 130503 (2012), Eq. (1).
    """
    arrays = np.broadcast_arrays(
        *_arrays(
            transmittance_a,
            transmittance_b,
            dark_count_probability,
            misalignment_error,
            dead_time_pulses,
        )
    )
    _validate(*arrays[:4])
    lo, hi = np.log(MDI_PHOTON_NUMBER_BOUNDS[0]), np.log(MDI_PHOTON_NUMBER_BOUNDS[1])
    fixed = [mean_photon_number_a, mean_photon_number_b]
    for value in fixed:
        if value is not None and not value > 0:
            raise ValueError(f"a fixed mean photon number is {value}; expected > 0")
    axes = [np.linspace(lo, hi, 15) if mu is None else np.array([np.log(mu)]) for mu in fixed]
    box = tuple((lo, hi) if mu is None else (float(np.log(mu)),) * 2 for mu in fixed)
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 2)

    def rate(
        log_mu: FloatArray, eta_a: Any, eta_b: Any, p_d: Any, e_d: Any, n_d: Any
    ) -> FloatArray:
        return mdi_qkd_rate(
            eta_a,
            eta_b,
            p_d,
            e_d,
            mean_photon_number_a=np.exp(log_mu[..., 0]),
            mean_photon_number_b=np.exp(log_mu[..., 1]),
            error_correction_efficiency=error_correction_efficiency,
            sifting_factor=sifting_factor,
            dead_time_pulses=n_d,
        )

    best_rate, best_log_mu = maximise_each_point(rate, arrays, grid, box)
    return np.asarray(best_rate, dtype=float), {
        "mean_photon_number_a": np.asarray(np.exp(best_log_mu[..., 0]), dtype=float),
        "mean_photon_number_b": np.asarray(np.exp(best_log_mu[..., 1]), dtype=float),
    }


# ----------------------------------------------------------------------------- finite key

#: Failure events of the finite-key proof, each given probability ε̄ = ε_sec / 34: the
#: six Chernoff brackets of the decoy data (Q_xx, the weak-decoy error count T_xx, Q_yy,
#: Q_x0 + Q_0x, Q_y0 + Q_0y, Q_00) and the random-sampling bound make ε_e = 7 ε̄; with
#: ε_n11 = ε' = ε̂ = ε_PA = ε̄ the composition ε_sec = 2(ε' + 2ε_e + ε̂) + ε_PA + ε_n11
#: of Curty et al. (2014), Methods, is 34 ε̄. [count]
MDI_FAILURE_EVENTS = 34.0

#: Search box of :func:`optimise_mdi_finite_key`: log signal μ_z, log strong decoy ν_y
#: [photons/pulse], ν_x/ν_y, Z-basis probability p_z, vacuum share of 1 − p_z, weak-decoy
#: share of the rest [unitless].
_FINITE_BOUNDS = (
    (float(np.log(0.01)), float(np.log(1.0))),
    (float(np.log(0.02)), float(np.log(1.0))),
    (0.01, 0.9),
    (0.01, 0.99),
    (0.02, 0.96),
    (0.02, 0.98),
)
_FINITE_GRID = (
    tuple(float(np.log(v)) for v in (0.15, 0.3, 0.5)),
    tuple(float(np.log(v)) for v in (0.1, 0.25, 0.5)),
    (0.1, 0.25),
    (0.15, 0.4, 0.7),
    (0.1, 0.25),
    (0.5, 0.8),
)


def chernoff_expectation_bounds(
    count: npt.ArrayLike, failure_probability: float
) -> tuple[FloatArray, FloatArray]:
    """Bounds on the expectation of a sum of independent Bernoulli trials from its value.

    .. math::
        E^L = \\max\\{0,\\ n + \\tfrac{\\beta}{2} - \\sqrt{2\\beta n + \\beta^2/4}\\},\\qquad
        E^U = n + \\beta + \\sqrt{2\\beta n + \\beta^2},\\qquad \\beta = \\ln(1/\\epsilon)

    E^U is the expectation μ at which the lower tail P(X ≤ (1 − δ)μ) ≤ e^{−δ²μ/2} reaches
    ε at X = n; E^L the one at which the upper tail P(X ≥ (1 + δ)μ) ≤ e^{−δ²μ/(2+δ)} does.
    Unlike Hoeffding's √(N ln(1/ε)/2) the width scales with √n, the number of clicks, not
    with the number of pulses: what makes a 1e13-pulse block with a few thousand clicks
    usable.

    Parameters
    ----------
    count : array_like
        n, observed number of events. [count, ≥ 0]
    failure_probability : float
        ε, probability that the expectation lies outside [E^L, E^U] (each side). [0..1]

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        E^L ≤ n ≤ E^U; both equal n when ε → 1 (β = 0). [count]

    References
    ----------
    .. [1] M. Mitzenmacher, E. Upfal, *Probability and Computing*, Cambridge (2005),
       Theorems 4.4 and 4.5 (multiplicative Chernoff bounds; the upper tail in the form
       e^{−δ²μ/(2+δ)} follows from ln(1 + δ) ≥ 2δ/(2 + δ)).
    .. [2] Z. Zhang, Q. Zhao, M. Razavi, X. Ma, Phys. Rev. A 95, 012333 (2017): the same
       inversion used for decoy-state QKD.
    """
    n = np.maximum(np.asarray(count, dtype=float), 0.0)
    beta = float(np.log(1.0 / failure_probability)) if failure_probability < 1 else 0.0
    low = np.maximum(n + beta / 2 - np.sqrt(2 * beta * n + beta**2 / 4), 0.0)
    high = n + beta + np.sqrt(2 * beta * n + beta**2)
    return np.asarray(low, dtype=float), np.asarray(high, dtype=float)


def random_sampling_deviation(
    failure_probability: float,
    error_rate: npt.ArrayLike,
    key_count: npt.ArrayLike,
    test_count: npt.ArrayLike,
) -> FloatArray:
    """Worst-case gap between the phase error of the key data and that of a test sample.

    .. math::
        \\gamma = \\sqrt{\\frac{(n_k + n_t)(1-e)e}{n_k n_t \\ln 2}
                  \\log_2\\frac{n_k + n_t}{n_k n_t (1-e) e\\, \\epsilon^2}}

    Parameters
    ----------
    failure_probability : float
        ε. [0..1]
    error_rate : array_like
        e, phase error measured on the test sample (clipped to [1e-300, 0.5]).
        [unitless]
    key_count, test_count : array_like
        n_k, n_t: single-photon-pair events in the key (Z) and test (X) data. [count, > 0]

    Returns
    -------
    numpy.ndarray
        γ ≥ 0; the key's phase error is below e + γ except with probability ε. [unitless]

    References
    ----------
    .. [1] C. C. W. Lim, M. Curty, N. Walenta, F. Xu, H. Zbinden, Phys. Rev. A 89, 022307
       (2014), Eq. (5) (the function γ(a, b, c, d)); after C.-H. F. Fung, X. Ma,
       H. F. Chau, Phys. Rev. A 81, 012318 (2010).
    """
    e = np.clip(np.asarray(error_rate, dtype=float), 1e-300, 0.5)
    n_k = np.maximum(np.asarray(key_count, dtype=float), 1e-300)
    n_t = np.maximum(np.asarray(test_count, dtype=float), 1e-300)
    spread = (n_k + n_t) * (1 - e) * e / (n_k * n_t * np.log(2.0))
    argument = np.log2((n_k + n_t) / (n_k * n_t * (1 - e) * e)) - 2 * np.log2(failure_probability)
    return np.asarray(np.sqrt(spread * np.maximum(argument, 0.0)), dtype=float)  # Eq. (5) of [1]


def mdi_finite_key_estimates(
    transmittance_a: npt.ArrayLike,
    transmittance_b: npt.ArrayLike,
    dark_count_probability: npt.ArrayLike,
    misalignment_error: npt.ArrayLike,
    block_size_pulse_pairs: npt.ArrayLike,
    *,
    signal_photon_number: npt.ArrayLike = 0.3,
    weak_decoy_photon_number: npt.ArrayLike = 0.05,
    strong_decoy_photon_number: npt.ArrayLike = 0.2,
    signal_probability: npt.ArrayLike = 0.5,
    vacuum_probability: npt.ArrayLike = 0.2,
    weak_decoy_probability: npt.ArrayLike = 0.2,
    error_correction_efficiency: npt.ArrayLike = 1.16,
    epsilon_sec: float = 1e-10,
    epsilon_cor: float = 1e-15,
    dead_time_pulses: npt.ArrayLike = 0.0,
) -> dict[str, FloatArray]:
    """Finite-key four-intensity MDI-QKD: every estimate behind the key length.

    Both parties draw an intensity per pulse: μ_z (Z basis, key) with probability p_z,
    vacuum with p_0, weak decoy ν_x (X basis) with p_x and strong decoy ν_y (X basis)
    with p_y = 1 − p_z − p_0 − p_x. Of N pulse pairs, N p_a p_b carry the pair (a, b),
    whose expected click count is N p_a p_b Q_ab (:func:`x_basis_gain`,
    :func:`z_basis_gain`). Each count is bracketed by :func:`chernoff_expectation_bounds`
    at ε̄ = ε_sec/34 (the symmetric pairs (ν, 0) and (0, ν) as one sum), then, with G(a) = e^{2a}Q_aa − e^a(Q_a0 + Q_0a) + Q_00,

    .. math::
        Y_{11}^L = \\frac{\\nu_y^3\\,G^L(\\nu_x) - \\nu_x^3\\,G^U(\\nu_y)}
                        {\\nu_y^2\\nu_x^2(\\nu_y - \\nu_x)},\\qquad
        e_{11}^{X,U} = \\frac{e^{2\\nu_x}T_{xx}^U
                        - \\tfrac12[e^{\\nu_x}(Q_{x0} + Q_{0x})^L - Q_{00}^U]}
                        {\\nu_x^2 Y_{11}^L}

    (every term of G(ν) = Σ_{n,m≥1} ν^{n+m} Y_nm/(n!m!) with n + m ≥ 4 enters the
    numerator with a negative sign and n + m = 3 cancels, so Y11^L ≤ Y11; events where
    one side sent no photon have error 1/2). The key is

    .. math::
        \\ell = s_{11}^{Z,L}[1 - h(e_{11}^{X,U} + \\gamma)] - f\\, n_{zz} h(E_{zz})
                - \\log_2\\frac{8}{\\epsilon_{cor}} - 2\\log_2\\frac{2}{\\bar\\epsilon^2}
                - 2\\log_2\\frac{1}{2\\bar\\epsilon}

    with s11^{Z,L} = N p_z² μ_z² e^{−2μ_z} Y11^L less its Chernoff deviation √(2β s),
    γ from :func:`random_sampling_deviation` between the Z single-pair events and the
    N p_x² ν_x² e^{−2ν_x} Y11^L of the (ν_x, ν_x) test data, and n_zz = N p_z² Q_zz.
    The asymptotic value of the same operating point (N → ∞: no fluctuation, no ε
    terms) is p_z²{μ_z² e^{−2μ_z} Y11^L[1 − h(e11^{X,U})] − f Q_zz h(E_zz)} with the
    expected gains. A relay dead time of n_d pulse periods scales every expected gain by
    the live fraction c_dt = 1/(1 + P̄ n_d), P̄ the click probability
    (:func:`mdi_relay_click_probability`) averaged over the intensities both ends draw.

    Parameters
    ----------
    transmittance_a, transmittance_b : array_like
        η_a, η_b including the relay's detection efficiency. [unitless, 0..1]
    dark_count_probability : array_like
        p_d per window of each of the relay's four detectors. [unitless, 0..1]
    misalignment_error : array_like
        e_d of the interference. [unitless, 0..0.5]
    block_size_pulse_pairs : array_like
        N, pulse pairs sent. [count, > 0]
    signal_photon_number : array_like
        μ_z, the Z-basis (key) intensity of both parties. [photons/pulse, > 0]
    weak_decoy_photon_number, strong_decoy_photon_number : array_like
        ν_x < ν_y, the X-basis decoys. [photons/pulse, > 0]
    signal_probability, vacuum_probability, weak_decoy_probability : array_like
        p_z, p_0, p_x; p_y = 1 − p_z − p_0 − p_x must be > 0. [unitless]
    error_correction_efficiency : array_like
        f ≥ 1. [unitless]
    epsilon_sec, epsilon_cor : float
        Secrecy and correctness parameters. [unitless, 0..1]
    dead_time_pulses : array_like
        n_d = R τ_d, the relay's dead time in pulse periods (0: none). [pulses, ≥ 0]

    Returns
    -------
    dict of numpy.ndarray
        ``key_bits_per_pulse_pair`` (ℓ/N, ≥ 0), ``asymptotic_bits_per_pulse_pair`` (≥ the
        former), ``y11_lower`` [per pulse pair], ``e11_upper``, ``phase_error_upper``
        (e11 + γ), ``qber_z`` [unitless], ``single_pair_events`` (s11^{Z,L}),
        ``key_events`` (n_zz), ``leak_ec_bits`` (f n_zz h(E_zz)) [count].

    Raises
    ------
    ValueError
        If an intensity, probability, block size or ε is outside its range.

    References
    ----------
    .. [1] Y.-H. Zhou, Z.-W. Yu, X.-B. Wang, Phys. Rev. A 93, 042324 (2016): the
       four-intensity protocol (Z signal only; vacuum and two X decoys). Its joint
       constraints on the fluctuations are not used here: every bracket takes its own
       worst case, which is looser (a lower key).
    .. [2] M. Curty et al., Nat. Commun. 5, 3732 (2014), Methods: the key-length formula
       and the composition of ε_sec.
    .. [3] X. Ma, M. Razavi, Phys. Rev. A 86, 062319 (2012): the channel model.
    .. [4] J. W. Müller, Nucl. Instrum. Methods 112, 47 (1973) (non-paralysable dead
       time: every click rate is scaled by the live fraction).
    """
    eta_a, eta_b, p_d, e_d, pairs = _arrays(
        transmittance_a,
        transmittance_b,
        dark_count_probability,
        misalignment_error,
        block_size_pulse_pairs,
    )
    mu, nu_x, nu_y, p_z, p_0, p_x, f = _arrays(
        signal_photon_number,
        weak_decoy_photon_number,
        strong_decoy_photon_number,
        signal_probability,
        vacuum_probability,
        weak_decoy_probability,
        error_correction_efficiency,
    )
    _validate(eta_a, eta_b, p_d, e_d)
    p_y = _check_four_intensities(mu, nu_x, nu_y, p_z, p_0, p_x, pairs, epsilon_sec, epsilon_cor)
    eps = epsilon_sec / MDI_FAILURE_EVENTS
    with np.errstate(divide="ignore", invalid="ignore", under="ignore", over="ignore"):
        observed, q_zz, wrong_zz = _four_intensity_gains(
            (eta_a, eta_b, p_d, e_d), (mu, nu_x, nu_y), (p_z, p_0, p_x, p_y), dead_time_pulses
        )
        qber = np.where(q_zz > 0, wrong_zz / np.where(q_zz > 0, q_zz, 1.0), 0.5)
        single_share = mu**2 * np.exp(-2 * mu)
        y11_inf, e11_inf = _decoy_bounds(observed, pairs, nu_x, nu_y, 1.0)
        asymptotic = p_z**2 * (  # N → ∞: expected gains, no ε terms
            single_share * y11_inf * (1 - binary_entropy(e11_inf)) - f * q_zz * binary_entropy(qber)
        )
        y11, e11 = _decoy_bounds(observed, pairs, nu_x, nu_y, eps)
        out = _key_length(
            pairs, (p_z, p_x, nu_x, single_share), (y11, e11), (q_zz, qber, f), eps, epsilon_cor
        )

    def clean(value: FloatArray) -> FloatArray:
        return np.asarray(np.where(np.isfinite(value) & (value > 0), value, 0.0), dtype=float)

    return {
        "key_bits_per_pulse_pair": clean(out["finite"]),
        "asymptotic_bits_per_pulse_pair": clean(asymptotic),
        "y11_lower": np.asarray(y11, dtype=float),
        "e11_upper": np.asarray(e11, dtype=float),
        "phase_error_upper": np.asarray(out["phase_error_upper"], dtype=float),
        "qber_z": np.asarray(qber, dtype=float),
        **{k: np.asarray(out[k], dtype=float) for k in _KEY_LENGTH_PARTS},
    }


#: What :func:`_key_length` returns beside ℓ/N and the phase error, in report order.
_KEY_LENGTH_PARTS = ("single_pair_events", "key_events", "leak_ec_bits")


def _check_four_intensities(
    mu: FloatArray,
    nu_x: FloatArray,
    nu_y: FloatArray,
    p_z: FloatArray,
    p_0: FloatArray,
    p_x: FloatArray,
    pairs: FloatArray,
    epsilon_sec: float,
    epsilon_cor: float,
) -> FloatArray:
    """Refuse an operating point outside the protocol's ranges; returns p_y."""
    p_y = 1.0 - p_z - p_0 - p_x
    if np.any(mu <= 0) or np.any(nu_x <= 0) or np.any(nu_y <= nu_x):
        raise ValueError(
            f"intensities μ_z={mu}, ν_x={nu_x}, ν_y={nu_y}; expected μ_z > 0 and 0 < ν_x < ν_y"
        )
    if any(np.any(p <= 0) for p in (p_z, p_0, p_x, p_y)):
        raise ValueError(
            f"intensity probabilities p_z={p_z}, p_0={p_0}, p_x={p_x}, p_y={p_y}; expected all > 0"
        )
    if np.any(pairs <= 0):
        raise ValueError(f"block_size_pulse_pairs is {pairs}; expected > 0")
    if not (0 < epsilon_sec < 1 and 0 < epsilon_cor < 1):
        raise ValueError(f"epsilon_sec={epsilon_sec}, epsilon_cor={epsilon_cor}; expected (0, 1)")
    return np.asarray(p_y, dtype=float)


Observed = dict[str, tuple[FloatArray, FloatArray]]


def _four_intensity_gains(
    channel: tuple[FloatArray, ...],
    intensities: tuple[FloatArray, FloatArray, FloatArray],
    probabilities: tuple[FloatArray, ...],
    dead_time_pulses: npt.ArrayLike,
) -> tuple[Observed, FloatArray, FloatArray]:
    """Expected gains of the intensity pairs the decoy bounds read, with their shares of
    the pulse pairs, and the Z-basis signal gain and erroneous gain; every gain scaled
    by the relay's dead-time live fraction c_dt (Müller 1973).

    The pairs (ν, 0) and (0, ν) are sent equally often and enter only as a sum, so each
    sum is one bracketed count (√2 narrower than two brackets added).
    """
    from qcalc.physics.detectors import dead_time_live_fraction

    eta_a, eta_b, p_d, e_d = channel
    mu, nu_x, nu_y = intensities
    p_z, p_0, p_x, p_y = probabilities
    mix = ([mu, 0.0, nu_x, nu_y], [p_z, p_0, p_x, p_y])
    live = dead_time_live_fraction(
        mdi_relay_click_probability(eta_a, eta_b, p_d, mix[0], mix[0], mix[1], mix[1]),
        dead_time_pulses,
    )

    # The seven X-basis pairs in one call, stacked on a leading axis: element-wise, so each
    # is bit for bit its own call (seven calls were most of an MDI finite-key search).
    shape = np.broadcast_shapes(*(np.shape(v) for v in (*channel, nu_x, nu_y, live)))
    x, y = (np.broadcast_to(np.asarray(v, dtype=float), shape) for v in (nu_x, nu_y))
    vacuum = np.zeros(shape)
    # (ν_x, ν_x), (ν_y, ν_y), (ν_x, 0), (0, ν_x), (ν_y, 0), (0, ν_y), (0, 0)
    mu_a = np.stack([x, y, x, vacuum, y, vacuum, vacuum])
    mu_b = np.stack([x, y, vacuum, x, vacuum, y, vacuum])
    gains, wrongs = x_basis_gain(eta_a, eta_b, p_d, e_d, mu_a, mu_b)
    q_xx, q_yy, q_x0, q_0x, q_y0, q_0y, q_00 = live * gains
    t_xx = live * wrongs[0]
    q_zz, wrong_zz = (live * g for g in z_basis_gain(eta_a, eta_b, p_d, e_d, mu, mu))
    observed = {
        "xx": (q_xx, p_x * p_x),
        "txx": (t_xx, p_x * p_x),
        "yy": (q_yy, p_y * p_y),
        "x0+0x": (q_x0 + q_0x, p_x * p_0),
        "y0+0y": (q_y0 + q_0y, p_y * p_0),
        "00": (q_00, p_0 * p_0),
    }
    return observed, q_zz, wrong_zz


def _decoy_bounds(
    observed: Observed,
    pairs: FloatArray,
    nu_x: FloatArray,
    nu_y: FloatArray,
    failure: float,
) -> tuple[FloatArray, FloatArray]:
    """Y11^L and e11^{X,U} (see :func:`mdi_finite_key_estimates`) with every gain
    bracketed by :func:`chernoff_expectation_bounds` at ``failure`` (1: none)."""
    names = list(observed)
    # Every count in one call, stacked along a first axis (each element as its own).
    pairs, *gains_shares = np.broadcast_arrays(pairs, *(v for n in names for v in observed[n]))
    gains, shares = np.stack(gains_shares[0::2]), np.stack(gains_shares[1::2])
    sent = pairs * shares
    lo, hi = chernoff_expectation_bounds(sent * gains, failure)
    lows, highs = lo / sent, hi / sent
    low = dict(zip(names, lows, strict=True))
    high = dict(zip(names, highs, strict=True))
    g_low_x = np.exp(2 * nu_x) * low["xx"] - np.exp(nu_x) * high["x0+0x"] + low["00"]
    g_high_y = np.exp(2 * nu_y) * high["yy"] - np.exp(nu_y) * low["y0+0y"] + high["00"]
    y11 = (nu_y**3 * g_low_x - nu_x**3 * g_high_y) / (  # Y11^L of Zhou, Yu, Wang (2016)
        nu_y**2 * nu_x**2 * (nu_y - nu_x)
    )
    y11 = np.maximum(y11, 0.0)
    vacuum_errors = 0.5 * (np.exp(nu_x) * low["x0+0x"] - high["00"])
    e11 = np.where(
        y11 > 0,
        (np.exp(2 * nu_x) * high["txx"] - vacuum_errors) / (nu_x**2 * np.where(y11 > 0, y11, 1.0)),
        0.5,
    )
    return np.asarray(y11), np.asarray(np.clip(e11, 0.0, 0.5))


def _key_length(
    pairs: FloatArray,
    shares: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    bounds: tuple[FloatArray, FloatArray],
    key_data: tuple[FloatArray, FloatArray, FloatArray],
    eps: float,
    epsilon_cor: float,
) -> dict[str, FloatArray]:
    """ℓ/N of Curty et al. (2014), Methods, from the decoy bounds at ε̄ (see
    :func:`mdi_finite_key_estimates`), and what it is made of."""
    p_z, p_x, nu_x, single_share = shares
    y11, e11 = bounds
    q_zz, qber, f = key_data
    beta = np.log(1.0 / eps)
    expected_single = pairs * p_z**2 * single_share * y11
    single = np.maximum(expected_single - np.sqrt(2 * beta * expected_single), 0.0)
    test = pairs * p_x**2 * nu_x**2 * np.exp(-2 * nu_x) * y11
    phase = np.clip(e11 + random_sampling_deviation(eps, e11, single, test), 0.0, 0.5)
    key_events = pairs * p_z**2 * q_zz
    leak = key_events * f * binary_entropy(qber)
    penalty = (
        np.log2(8.0 / epsilon_cor) + 2.0 * np.log2(2.0 / eps**2) + 2.0 * np.log2(1.0 / (2.0 * eps))
    )
    length = single * (1 - binary_entropy(phase)) - leak - penalty  # [2], Methods
    return {
        "finite": np.where(single > 0, length, 0.0) / pairs,
        "phase_error_upper": phase,
        "single_pair_events": single,
        "key_events": key_events,
        "leak_ec_bits": leak,
    }


def mdi_finite_key_rate(
    transmittance_a: npt.ArrayLike,
    transmittance_b: npt.ArrayLike,
    dark_count_probability: npt.ArrayLike,
    misalignment_error: npt.ArrayLike,
    block_size_pulse_pairs: npt.ArrayLike,
    **operating_point: Any,
) -> tuple[FloatArray, FloatArray]:
    """Finite-key four-intensity MDI-QKD and its asymptotic value at the same settings.

    .. math:: R_N = \\ell / N \\;\\le\\; R_\\infty

    See :func:`mdi_finite_key_estimates` for ℓ, the keyword arguments and references.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Finite key ℓ/N and the N → ∞ key of the same intensities and probabilities.
        [bits/pulse pair, ≥ 0]
    """
    out = mdi_finite_key_estimates(
        transmittance_a,
        transmittance_b,
        dark_count_probability,
        misalignment_error,
        block_size_pulse_pairs,
        **operating_point,
    )
    return out["key_bits_per_pulse_pair"], out["asymptotic_bits_per_pulse_pair"]


def mdi_decoy_key_rate(
    transmittance_a: npt.ArrayLike,
    transmittance_b: npt.ArrayLike,
    dark_count_probability: npt.ArrayLike,
    misalignment_error: npt.ArrayLike,
    *,
    signal_photon_number: npt.ArrayLike,
    weak_decoy_photon_number: npt.ArrayLike,
    strong_decoy_photon_number: npt.ArrayLike,
    error_correction_efficiency: npt.ArrayLike = 1.16,
    intensity_probabilities: tuple[npt.ArrayLike, npt.ArrayLike, npt.ArrayLike] | None = None,
    dead_time_pulses: npt.ArrayLike = 0.0,
) -> FloatArray:
    """Asymptotic four-intensity MDI-QKD: finitely many decoys.

    .. math::
        R = c_\\mathrm{dt}\\, p_z^2 \\{\\mu_z^2 e^{-2\\mu_z} Y_{11}^L [1 - h(e_{11}^{X,U})]
            - f Q_{zz} h(E_{zz})\\}

    with Y11^L and e11^{X,U} the decoy bounds of :func:`mdi_finite_key_estimates` from
    the expected gains of the vacuum, ν_x and ν_y pulses (no fluctuation): the N → ∞
    limit of that function. Key comes from the pulse pairs both ends send as Z signals,
    a share p_z² [1]; without ``intensity_probabilities`` the key basis is chosen with
    probability p_z → 1 (the efficient choice of [2]; decoys a vanishing share). Below
    the infinite-decoy :func:`mdi_qkd_rate` at the same μ_z, since Y11^L ≤ Y11. c_dt is
    the relay's dead-time live fraction (see :func:`mdi_finite_key_estimates`; with
    p_z → 1, P at the signals).

    Parameters
    ----------
    transmittance_a, transmittance_b : array_like
        η_a, η_b including the relay's detection efficiency. [unitless, 0..1]
    dark_count_probability : array_like
        p_d per window of each of the relay's four detectors. [unitless, 0..1]
    misalignment_error : array_like
        e_d. [unitless, 0..0.5]
    signal_photon_number : array_like
        μ_z. [photons/pulse, > 0]
    weak_decoy_photon_number, strong_decoy_photon_number : array_like
        ν_x < ν_y. [photons/pulse, > 0]
    error_correction_efficiency : array_like
        f ≥ 1. [unitless]
    intensity_probabilities : (array_like, array_like, array_like), optional
        (p_z, p_0, p_x) of both ends (p_y = 1 − p_z − p_0 − p_x > 0); ``None``: p_z → 1.
        [unitless]
    dead_time_pulses : array_like
        n_d = R τ_d, the relay's dead time in pulse periods (0: none). [pulses, ≥ 0]

    Returns
    -------
    numpy.ndarray
        Secret key per pulse pair. [bits/pulse pair, ≥ 0]

    References
    ----------
    .. [1] Y.-H. Zhou, Z.-W. Yu, X.-B. Wang, Phys. Rev. A 93, 042324 (2016).
    .. [2] H.-K. Lo, M. Curty, B. Qi, Phys. Rev. Lett. 108, 130503 (2012), Eq. (1).
    """
    if intensity_probabilities is not None:
        p_z, p_0, p_x = intensity_probabilities
        out = mdi_finite_key_estimates(
            transmittance_a,
            transmittance_b,
            dark_count_probability,
            misalignment_error,
            1.0,
            signal_photon_number=signal_photon_number,
            weak_decoy_photon_number=weak_decoy_photon_number,
            strong_decoy_photon_number=strong_decoy_photon_number,
            signal_probability=p_z,
            vacuum_probability=p_0,
            weak_decoy_probability=p_x,
            error_correction_efficiency=error_correction_efficiency,
            dead_time_pulses=dead_time_pulses,
        )
        return np.asarray(out["asymptotic_bits_per_pulse_pair"], dtype=float)
    from qcalc.physics.detectors import dead_time_live_fraction

    share = 0.25  # any valid probabilities: the N → ∞ key depends on them only via p_z²
    live = dead_time_live_fraction(
        mdi_relay_click_probability(
            transmittance_a,
            transmittance_b,
            dark_count_probability,
            signal_photon_number,
            signal_photon_number,
        ),
        dead_time_pulses,
    )
    out = mdi_finite_key_estimates(
        transmittance_a,
        transmittance_b,
        dark_count_probability,
        misalignment_error,
        1.0,
        signal_photon_number=signal_photon_number,
        weak_decoy_photon_number=weak_decoy_photon_number,
        strong_decoy_photon_number=strong_decoy_photon_number,
        signal_probability=share,
        vacuum_probability=share,
        weak_decoy_probability=share,
        error_correction_efficiency=error_correction_efficiency,
    )
    return np.asarray(live * out["asymptotic_bits_per_pulse_pair"] / share**2, dtype=float)


def _finite_operating_point(
    x: FloatArray, fixed: dict[str, float] | None
) -> dict[str, FloatArray | float]:
    """Map a search point (see ``_FINITE_BOUNDS``) to intensities and probabilities."""
    p_z = x[..., 3]
    rest = 1.0 - p_z
    p_0 = rest * x[..., 4]
    p_x = rest * (1.0 - x[..., 4]) * x[..., 5]
    point: dict[str, FloatArray | float] = {
        "signal_probability": p_z,
        "vacuum_probability": p_0,
        "weak_decoy_probability": p_x,
    }
    if fixed is None:
        nu_y = np.exp(x[..., 1])
        point |= {
            "signal_photon_number": np.exp(x[..., 0]),
            "strong_decoy_photon_number": nu_y,
            "weak_decoy_photon_number": nu_y * x[..., 2],
        }
    else:
        point |= fixed
    return point


def _finite_search_space(
    intensities: tuple[float, float, float] | None, signal_probability: float | None
) -> tuple[dict[str, float] | None, list[int], FloatArray]:
    """What :func:`optimise_mdi_finite_key` searches: the intensities fixed by the source
    (or None), the searched coordinates of ``_FINITE_BOUNDS``, and the point whose other
    coordinates stay put."""
    fixed = None
    dims = [0, 1, 2, 3, 4, 5]
    centre = np.array([np.mean(b) for b in _FINITE_BOUNDS])
    if intensities is not None:
        mu_z, nu_y, nu_x = (float(v) for v in intensities)
        if not (mu_z > 0 and 0 < nu_x < nu_y):
            raise ValueError(f"intensities {intensities}; expected μ_z > 0 and 0 < ν_x < ν_y")
        fixed = {
            "signal_photon_number": mu_z,
            "strong_decoy_photon_number": nu_y,
            "weak_decoy_photon_number": nu_x,
        }
        dims = [3, 4, 5]
    if signal_probability is not None:
        if not 0 < signal_probability < 1:
            raise ValueError(f"signal_probability is {signal_probability}; expected (0, 1)")
        centre[3] = signal_probability
        dims.remove(3)
    return fixed, dims, centre


def optimise_mdi_finite_key(
    transmittance_a: npt.ArrayLike,
    transmittance_b: npt.ArrayLike,
    dark_count_probability: npt.ArrayLike,
    misalignment_error: npt.ArrayLike,
    block_size_pulse_pairs: npt.ArrayLike,
    *,
    intensities: tuple[float, float, float] | None = None,
    signal_probability: float | None = None,
    error_correction_efficiency: npt.ArrayLike = 1.16,
    epsilon_sec: float = 1e-10,
    epsilon_cor: float = 1e-15,
    dead_time_pulses: npt.ArrayLike = 0.0,
) -> tuple[FloatArray, FloatArray, dict[str, FloatArray]]:
    """Four-intensity finite-key MDI-QKD maximised over its operating point.

    .. math:: R_N^* = \\max_{\\mu_z, \\nu_x, \\nu_y, p_z, p_0, p_x} \\ell/N

    A vectorised grid (3 × 3 × 2 × 3 × 2 × 2 points over log μ_z, log ν_y, ν_x/ν_y, p_z,
    the vacuum share and the weak-decoy share) seeds a bounded compass search per point
    (:func:`qcalc.protocols.numerics.maximise_on_grid`). With ``intensities`` given only the probabilities are searched, with
    ``signal_probability`` given p_z is not.

    Parameters
    ----------
    transmittance_a, transmittance_b : array_like
        η_a, η_b including the relay's detection efficiency. [unitless, 0..1]
    dark_count_probability : array_like
        p_d per window of each of the relay's four detectors. [unitless, 0..1]
    misalignment_error : array_like
        e_d. [unitless, 0..0.5]
    block_size_pulse_pairs : array_like
        N. [count, > 0]
    intensities : (float, float, float), optional
        (μ_z, ν_y, ν_x) fixed by the source. [photons/pulse]
    signal_probability : float, optional
        p_z fixed (the key-basis probability). [unitless, 0..1]
    error_correction_efficiency : array_like
        f ≥ 1. [unitless]
    epsilon_sec, epsilon_cor : float
        Security parameters. [unitless, 0..1]
    dead_time_pulses : array_like
        n_d, the relay's dead time in pulse periods. [pulses, ≥ 0]

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, dict of numpy.ndarray)
        Best finite key, the asymptotic key of that same operating point
        [bits/pulse pair, ≥ 0], and the operating point (``signal_photon_number``,
        ``weak_decoy_photon_number``, ``strong_decoy_photon_number``,
        ``signal_probability``, ``vacuum_probability``, ``weak_decoy_probability``).

    References
    ----------
    .. [1] Y.-H. Zhou, Z.-W. Yu, X.-B. Wang, Phys. Rev. A 93, 042324 (2016) (their
       parameters are likewise optimised per distance).
    """
    arrays = np.broadcast_arrays(
        *_arrays(
            transmittance_a,
            transmittance_b,
            dark_count_probability,
            misalignment_error,
            block_size_pulse_pairs,
            error_correction_efficiency,
            dead_time_pulses,
        )
    )
    _validate(*arrays[:4])
    shape = arrays[0].shape
    fixed, dims, centre = _finite_search_space(intensities, signal_probability)
    bounds = tuple(_FINITE_BOUNDS[d] for d in dims)
    axes = [np.asarray(_FINITE_GRID[d]) for d in dims]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(dims))

    def full(x: FloatArray) -> FloatArray:
        out = np.broadcast_to(centre, (*np.shape(x)[:-1], len(centre))).copy()
        out[..., dims] = x
        return out

    def terms(x: FloatArray, *values: Any) -> tuple[FloatArray, FloatArray]:
        eta_a, eta_b, p_d, e_d, pairs, f, n_d = values
        return mdi_finite_key_rate(
            eta_a,
            eta_b,
            p_d,
            e_d,
            pairs,
            **_finite_operating_point(full(np.asarray(x)), fixed),
            error_correction_efficiency=f,
            epsilon_sec=epsilon_sec,
            epsilon_cor=epsilon_cor,
            dead_time_pulses=n_d,
        )

    best_rate, x_best = maximise_each_point(
        lambda x, *values: terms(x, *values)[0], arrays, grid, bounds
    )
    best_x = full(x_best)
    best_asymptotic = np.array(np.broadcast_to(terms(x_best, *arrays)[1], shape))
    point = _finite_operating_point(best_x, fixed)
    return (
        np.asarray(best_rate, dtype=float),
        np.asarray(best_asymptotic, dtype=float),
        {k: np.asarray(np.broadcast_to(v, shape), dtype=float) for k, v in point.items()},
    )


def optimise_mdi_decoy_key(
    transmittance_a: npt.ArrayLike,
    transmittance_b: npt.ArrayLike,
    dark_count_probability: npt.ArrayLike,
    misalignment_error: npt.ArrayLike,
    *,
    weak_decoy_photon_number: float,
    strong_decoy_photon_number: float,
    error_correction_efficiency: npt.ArrayLike = 1.16,
    intensity_probabilities: tuple[float, float, float] | None = None,
    dead_time_pulses: npt.ArrayLike = 0.0,
) -> tuple[FloatArray, FloatArray]:
    """:func:`mdi_decoy_key_rate` maximised over the signal μ_z (decoys fixed).

    .. math:: R^* = \\max_{\\mu_z \\in [10^{-3}, 1.5]} R(\\mu_z)

    A 15-point logarithmic grid seeds a bounded compass search per point
    (:func:`qcalc.protocols.numerics.maximise_on_grid`).

    Parameters
    ----------
    transmittance_a, transmittance_b : array_like
        η_a, η_b including the relay's detection efficiency. [unitless, 0..1]
    dark_count_probability : array_like
        p_d per window of each of the relay's four detectors. [unitless, 0..1]
    misalignment_error : array_like
        e_d. [unitless, 0..0.5]
    weak_decoy_photon_number, strong_decoy_photon_number : float
        ν_x < ν_y. [photons/pulse]
    error_correction_efficiency : array_like
        f ≥ 1. [unitless]
    intensity_probabilities : (float, float, float), optional
        (p_z, p_0, p_x), see :func:`mdi_decoy_key_rate`. [unitless]
    dead_time_pulses : array_like
        n_d, the relay's dead time in pulse periods. [pulses, ≥ 0]

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Best key [bits/pulse pair, ≥ 0] and its μ_z [photons/pulse].

    References
    ----------
    .. [1] Y.-H. Zhou, Z.-W. Yu, X.-B. Wang, Phys. Rev. A 93, 042324 (2016).
    """
    arrays = np.broadcast_arrays(
        *_arrays(
            transmittance_a,
            transmittance_b,
            dark_count_probability,
            misalignment_error,
            error_correction_efficiency,
            dead_time_pulses,
        )
    )
    _validate(*arrays[:4])
    lo, hi = np.log(MDI_PHOTON_NUMBER_BOUNDS[0]), np.log(MDI_PHOTON_NUMBER_BOUNDS[1])
    grid = np.linspace(lo, hi, 15)[:, None]

    def rate(
        log_mu: FloatArray, eta_a: Any, eta_b: Any, p_d: Any, e_d: Any, f: Any, n_d: Any
    ) -> FloatArray:
        return mdi_decoy_key_rate(
            eta_a,
            eta_b,
            p_d,
            e_d,
            signal_photon_number=np.exp(log_mu[..., 0]),
            weak_decoy_photon_number=weak_decoy_photon_number,
            strong_decoy_photon_number=strong_decoy_photon_number,
            error_correction_efficiency=f,
            intensity_probabilities=intensity_probabilities,
            dead_time_pulses=n_d,
        )

    best_rate, best_x = maximise_each_point(rate, arrays, grid, ((lo, hi),))
    best_log_mu = best_x[..., 0]
    return np.asarray(best_rate, dtype=float), np.asarray(np.exp(best_log_mu), dtype=float)
