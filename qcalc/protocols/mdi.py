"""Measurement-device-independent QKD (Lo–Curty–Qi 2012), asymptotic, infinite decoys.

Alice and Bob send phase-randomised weak coherent pulses in BB84 polarisation states to
an untrusted relay (Charlie) that performs a linear-optics Bell-state measurement with
four threshold detectors. Gains and error rates are the closed forms of Ma and Razavi
(2012) for asymmetric arms; with infinitely many decoys the single-photon-pair yield
Y11 and phase error e11^X are taken exactly from the same channel model. Rates are per
pulse pair; the caller multiplies by the repetition rate.

References
----------
.. [1] H.-K. Lo, M. Curty, B. Qi, "Measurement-device-independent quantum key
   distribution", Phys. Rev. Lett. 108, 130503 (2012).
.. [2] X. Ma, M. Razavi, "Alternative schemes for measurement-device-independent quantum
   key distribution", Phys. Rev. A 86, 062319 (2012), Appendices A and B.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from qcalc.protocols.finite_key import maximise_from_grid
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
) -> FloatArray:
    """Asymptotic key rate of decoy-state MDI-QKD with asymmetric arms.

    .. math::
        R = q\\,\\{\\mu_a\\mu_b e^{-\\mu_a-\\mu_b} Y_{11}[1 - h(e_{11}^X)]
              - Q^Z_{\\mu_a\\mu_b} f\\, h(E^Z_{\\mu_a\\mu_b})\\}

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
    """
    from scipy.special import i0e

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
        both = eta_a * eta_b
        y11 = (1 - p_d) ** 2 * (  # Eq. (A9) of [2]
            both / 2
            + (2 * eta_a + 2 * eta_b - 3 * both) * p_d
            + 4 * (1 - eta_a) * (1 - eta_b) * p_d**2
        )
        e11 = np.where(  # Eq. (A11) of [2]
            y11 > 0, 0.5 - (0.5 - e_d) * (1 - p_d) ** 2 * both / 2 / np.where(y11 > 0, y11, 1), 0.5
        )
        m_a, m_b = eta_a * mu_a, eta_b * mu_b
        arrived = m_a + m_b
        x = np.sqrt(m_a * m_b) / 2
        # 1 − (1 − p_d) e^{−m/2}, accurate when m → 0.
        click_a = -np.expm1(-m_a / 2) + p_d * np.exp(-m_a / 2)
        click_b = -np.expm1(-m_b / 2) + p_d * np.exp(-m_b / 2)
        q_c = 2 * (1 - p_d) ** 2 * np.exp(-arrived / 2) * click_a * click_b  # Eq. (B29) of [2]
        # I0(2x) e^{−μ'/2} − (1 − p_d) e^{−μ'}, with i0e(2x) = I0(2x) e^{−2x} (no overflow).
        q_e = (  # Eq. (B30) of [2]
            2
            * p_d
            * (1 - p_d) ** 2
            * (i0e(2 * x) * np.exp(2 * x - arrived / 2) - (1 - p_d) * np.exp(-arrived))
        )
        gain = q_c + q_e
        qber = np.where(gain > 0, (e_d * q_c + (1 - e_d) * q_e) / np.where(gain > 0, gain, 1), 0.5)
        single_pairs = mu_a * mu_b * np.exp(-mu_a - mu_b) * y11
        rate = q * (  # Eq. (1) of [1]
            single_pairs * (1 - binary_entropy(e11)) - gain * f * binary_entropy(qber)  # (B31)
        )
    return np.asarray(np.where(np.isfinite(rate) & (rate > 0), rate, 0.0), dtype=float)


def optimise_mdi_qkd(
    transmittance_a: npt.ArrayLike,
    transmittance_b: npt.ArrayLike,
    dark_count_probability: npt.ArrayLike,
    misalignment_error: npt.ArrayLike,
    *,
    error_correction_efficiency: float = 1.16,
    sifting_factor: float = 1.0,
) -> tuple[FloatArray, dict[str, FloatArray]]:
    """MDI-QKD rate maximised over the two signal intensities μ_a, μ_b.

    .. math:: R^* = \\max_{\\mu_a, \\mu_b \\in [10^{-3}, 1.5]} R(\\mu_a, \\mu_b)

    A vectorised 15 × 15 logarithmic grid seeds a bounded L-BFGS-B search (scipy) on
    (log μ_a, log μ_b) per point; with asymmetric arms the optimum has η_aμ_a ≈ η_bμ_b.

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
        *_arrays(transmittance_a, transmittance_b, dark_count_probability, misalignment_error)
    )
    _validate(*arrays)
    shape = arrays[0].shape
    lo, hi = np.log(MDI_PHOTON_NUMBER_BOUNDS[0]), np.log(MDI_PHOTON_NUMBER_BOUNDS[1])
    axis = np.linspace(lo, hi, 15)
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    best_rate = np.zeros(shape)
    best_log_mu = np.zeros((*shape, 2))
    for index in np.ndindex(shape):
        eta_a, eta_b, p_d, e_d = (float(a[index]) for a in arrays)

        def rate(
            log_mu: FloatArray,
            eta_a: float = eta_a,
            eta_b: float = eta_b,
            p_d: float = p_d,
            e_d: float = e_d,
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
            )

        best_rate[index], best_log_mu[index] = maximise_from_grid(rate, grid, ((lo, hi), (lo, hi)))
    return np.asarray(best_rate, dtype=float), {
        "mean_photon_number_a": np.asarray(np.exp(best_log_mu[..., 0]), dtype=float),
        "mean_photon_number_b": np.asarray(np.exp(best_log_mu[..., 1]), dtype=float),
    }
