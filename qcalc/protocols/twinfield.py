"""Twin-field QKD: the sending-or-not-sending protocol (Wang, Yu, Hu 2018), asymptotic.

Alice and Bob each send phase-randomised weak coherent pulses to a relay (Charlie) in
the middle that interferes them on a beam splitter with two threshold detectors. In a
Z (key) window each party sends a pulse of intensity μ with probability ε (bit 1 for
Alice, 0 for Bob) or nothing; a window with exactly one detector click is kept. Key
comes from the "untagged" windows where exactly one party sent exactly one photon, so
the rate scales as √η. The phase error of those single photons is measured in the X
(decoy) windows; with infinitely many decoys it equals the single-photon interference
error set by the residual phase noise (misalignment e_d). Rates are per time window;
the caller multiplies by the repetition rate.

References
----------
.. [1] X.-B. Wang, Z.-W. Yu, X.-L. Hu, "Twin-field quantum key distribution with large
   misalignment error", Phys. Rev. A 98, 062323 (2018).
.. [2] M. Lucamarini, Z. L. Yuan, J. F. Dynes, A. J. Shields, "Overcoming the
   rate-distance limit of quantum key distribution without quantum repeaters",
   Nature 557, 400 (2018).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from qcalc.protocols.numerics import bessel_i0e, maximise_on_grid
from qcalc.protocols.qkd import binary_entropy

FloatArray = npt.NDArray[np.float64]

#: Search box of :func:`optimise_sns_tf_qkd`: signal μ [photons/pulse] and sending
#: probability ε [unitless].
_PHOTON_NUMBER_BOUNDS = (1e-3, 1.5)
_SENDING_BOUNDS = (1e-6, 0.5)


def single_repeater_bound(transmittance: npt.ArrayLike) -> FloatArray:
    """Key capacity with one ideal middle node: the PLOB bound of each half-channel.

    .. math:: K = -\\log_2(1 - \\sqrt{\\eta})

    Parameters
    ----------
    transmittance : array_like
        η, total Alice–Bob transmittance (each half √η). [unitless, 0..1]

    Returns
    -------
    numpy.ndarray
        Secret bits per channel use, ≈ 1.44 √η for η ≪ 1; twin-field QKD stays below
        it. [bits/use]

    References
    ----------
    .. [1] S. Pirandola, R. Laurenza, C. Ottaviani, L. Banchi, Nat. Commun. 8, 15043
       (2017), Eq. (1) applied to the half-channel √η (as in [2], Fig. 3).
    .. [2] M. Lucamarini et al., Nature 557, 400 (2018).
    """
    eta = np.clip(np.asarray(transmittance, dtype=float), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        return np.asarray(-np.log1p(-np.sqrt(eta)) / np.log(2.0), dtype=float)  # Eq. (1) of [1]


def phase_noise_misalignment(phase_noise_rad: npt.ArrayLike) -> FloatArray:
    """Single-photon interference error from Gaussian residual phase noise.

    .. math:: e_d = \\langle \\sin^2(\\delta/2) \\rangle = \\tfrac12\\,(1 - e^{-\\sigma^2/2})

    Parameters
    ----------
    phase_noise_rad : array_like
        σ, standard deviation of the Alice–Bob phase difference after phase matching.
        [rad, ≥ 0]

    Returns
    -------
    numpy.ndarray
        e_d, the X-window misalignment error. [unitless, 0..0.5]

    References
    ----------
    .. [1] M. Lucamarini et al., Nature 557, 400 (2018): a phase mismatch δ gives the
       error probability sin²(δ/2); the Gaussian average ⟨cos δ⟩ = e^{−σ²/2}.
    """
    sigma = np.asarray(phase_noise_rad, dtype=float)
    if np.any(sigma < 0):
        raise ValueError(f"phase_noise_rad is {sigma}; expected ≥ 0 rad")
    return np.asarray(-0.5 * np.expm1(-(sigma**2) / 2.0), dtype=float)


def sns_click_probability(
    transmittance: npt.ArrayLike,
    dark_count_probability: npt.ArrayLike,
    mean_photon_number: npt.ArrayLike,
    sending_probability: npt.ArrayLike,
) -> FloatArray:
    """Probability that either of the relay's two detectors clicks in a Z window.

    .. math::
        P = 1 - (1-p_d)^2\\left[(1-\\epsilon)^2 + 2\\epsilon(1-\\epsilon)e^{-\\eta_s\\mu}
            + \\epsilon^2 e^{-2\\eta_s\\mu}\\right],\\qquad \\eta_s = \\sqrt{\\eta}

    Each party sends a phase-randomised pulse of intensity μ with probability ε; the
    beam splitter conserves photon number, so whatever the relative phase the detected
    photons are Poisson with mean η_sμ per pulse sent, and a dark count (p_d per
    detector) is a click too. X windows are a vanishing share in the asymptotic protocol.
    This is the P of the dead-time live fraction
    (:func:`qcalc.physics.detectors.dead_time_live_fraction`).

    Parameters
    ----------
    transmittance : array_like
        η, total transmittance including the relay's detection efficiency; each arm √η.
        [unitless, 0..1]
    dark_count_probability : array_like
        p_d per window of each of the two detectors. [unitless, 0..1]
    mean_photon_number : array_like
        μ of a sent Z pulse. [photons/pulse, > 0]
    sending_probability : array_like
        ε. [unitless, 0..1]

    Returns
    -------
    numpy.ndarray
        P per window. [unitless, 0..1]

    References
    ----------
    .. [1] M. Lucamarini et al., Nature 557, 400 (2018), Methods (detection model).
    .. [2] X.-B. Wang, Z.-W. Yu, X.-L. Hu, Phys. Rev. A 98, 062323 (2018) (Z windows).
    """
    eta_s = np.sqrt(np.asarray(transmittance, dtype=float))
    p_d = np.asarray(dark_count_probability, dtype=float)
    mu = np.asarray(mean_photon_number, dtype=float)
    eps = np.asarray(sending_probability, dtype=float)
    none = (1 - eps) ** 2 + 2 * eps * (1 - eps) * np.exp(-eta_s * mu)
    none = none + eps**2 * np.exp(-2 * eta_s * mu)
    return np.asarray(np.clip(1 - (1 - p_d) ** 2 * none, 0.0, 1.0), dtype=float)


def sns_tf_qkd_rate(
    transmittance: npt.ArrayLike,
    dark_count_probability: npt.ArrayLike,
    misalignment_error: npt.ArrayLike,
    *,
    mean_photon_number: npt.ArrayLike = 0.4,
    sending_probability: npt.ArrayLike = 0.2,
    error_correction_efficiency: npt.ArrayLike = 1.16,
    sifting_factor: npt.ArrayLike = 1.0,
    dead_time_pulses: npt.ArrayLike = 0.0,
) -> FloatArray:
    """Asymptotic key rate of sending-or-not-sending twin-field QKD (relay at midpoint).

    .. math::
        R = c_\\mathrm{dt}\\, q\\,\\{2\\epsilon(1-\\epsilon)\\mu e^{-\\mu} s_1 [1 - h(e_1^{ph})]
              - f\\, S_Z\\, h(E_Z)\\}

    with arm transmittance η_s = √η, s_1 = (1−p_d)[η_s + 2p_d(1−η_s)],
    e_1^{ph} s_1 = (1−p_d)[e_d η_s + p_d(1−η_s)], and the Z-window click
    probabilities (one detector of two, p_d each)

    .. math::
        P_{00} = 2p_d(1-p_d),\\quad
        P_{10} = 2(1-p_d)e^{-\\eta_s\\mu/2}[1-(1-p_d)e^{-\\eta_s\\mu/2}],\\quad
        P_{11} = 2(1-p_d)e^{-\\eta_s\\mu}[I_0(\\eta_s\\mu) - (1-p_d)e^{-\\eta_s\\mu}]

    S_Z = (1−ε)²P00 + 2ε(1−ε)P10 + ε²P11 and E_Z S_Z = (1−ε)²P00 + ε²P11
    (both or neither sending is a bit error). c_dt = 1/(1 + P n_d) is the live fraction of
    a relay that any click blinds for n_d windows (P from :func:`sns_click_probability`):
    it scales every count alike, so R, linear in the counts, takes the factor.

    Parameters
    ----------
    transmittance : array_like
        η, total Alice→relay→Bob transmittance including the relay's detection
        efficiency; each arm has √η (symmetric placement). [unitless, 0..1]
    dark_count_probability : array_like
        p_d per window of **each of the relay's two detectors**. [unitless, 0..1]
    misalignment_error : array_like
        e_d, single-photon interference error in X windows from residual phase noise
        (see :func:`phase_noise_misalignment`) and polarisation mismatch.
        [unitless, 0..0.5]
    mean_photon_number : array_like
        μ of a sent Z pulse. [photons/pulse, > 0]
    sending_probability : array_like
        ε, probability of sending in a Z window. [unitless, 0 < ε < 1]
    error_correction_efficiency : array_like
        f ≥ 1. [unitless]
    sifting_factor : array_like
        q, fraction of windows where both chose Z; 1 in the asymptotic limit of [1].
        [unitless, 0..1]
    dead_time_pulses : array_like
        n_d = R τ_d, the relay's dead time in pulse periods (0: none). [pulses, ≥ 0]

    Returns
    -------
    numpy.ndarray
        Secret key per time window; ∝ √η at long distance, never above
        −log2(1−√η), exactly 0 beyond the maximum distance. [bits/window, ≥ 0]

    Raises
    ------
    ValueError
        If a probability or transmittance is outside its range.

    Notes
    -----
    Infinite decoys: s_1 and e_1^{ph} are the exact single-photon values of the channel
    model. Z windows need no interference, so the protocol tolerates e_d up to tens of
    percent [1]. Phase slicing, finite-size effects and the two-way error rejection of
    later SNS work are not modelled.

    References
    ----------
    .. [1] X.-B. Wang, Z.-W. Yu, X.-L. Hu, Phys. Rev. A 98, 062323 (2018), key-rate
       formula of Sec. II (untagged single-photon counts, phase error from X windows).
    .. [2] M. Lucamarini et al., Nature 557, 400 (2018), Methods (detection model).
    .. [3] J. W. Müller, Nucl. Instrum. Methods 112, 47 (1973) (non-paralysable dead
       time).
    """
    from qcalc.physics.detectors import dead_time_live_fraction

    eta = np.asarray(transmittance, dtype=float)
    p_d = np.asarray(dark_count_probability, dtype=float)
    e_d = np.asarray(misalignment_error, dtype=float)
    mu = np.asarray(mean_photon_number, dtype=float)
    eps = np.asarray(sending_probability, dtype=float)
    f = np.asarray(error_correction_efficiency, dtype=float)
    q = np.asarray(sifting_factor, dtype=float)
    for name, value, high in (
        ("transmittance", eta, 1.0),
        ("dark_count_probability", p_d, 1.0),
        ("misalignment_error", e_d, 0.5),
    ):
        if np.any((value < 0) | (value > high)):
            raise ValueError(f"{name} is {value}; expected a value in [0, {high}]")
    if np.any(mu <= 0) or np.any((eps <= 0) | (eps >= 1)):
        raise ValueError(
            f"mean_photon_number {mu} must be > 0 and sending_probability {eps} in (0, 1)"
        )

    with np.errstate(under="ignore", invalid="ignore", divide="ignore"):
        eta_s = np.sqrt(eta)
        s1 = (1 - p_d) * (eta_s + 2 * p_d * (1 - eta_s))
        e1_s1 = (1 - p_d) * (e_d * eta_s + p_d * (1 - eta_s))
        e1 = np.where(s1 > 0, e1_s1 / np.where(s1 > 0, s1, 1.0), 0.5)
        m = eta_s * mu
        half = np.exp(-m / 2)
        p00 = 2 * p_d * (1 - p_d)
        p10 = 2 * (1 - p_d) * half * (-np.expm1(-m / 2) + p_d * half)
        # e^{−m} I0(m) = i0e(m): random relative phase averaged over the two outputs.
        p11 = 2 * (1 - p_d) * (bessel_i0e(m) - (1 - p_d) * np.exp(-2 * m))
        sent_one = 2 * eps * (1 - eps)
        wrong = (1 - eps) ** 2 * p00 + eps**2 * p11
        gain = wrong + sent_one * p10
        qber = np.where(gain > 0, wrong / np.where(gain > 0, gain, 1.0), 0.5)
        untagged = sent_one * mu * np.exp(-mu) * s1
        rate = q * (untagged * (1 - binary_entropy(e1)) - f * gain * binary_entropy(qber))
        click = sns_click_probability(eta, p_d, mu, eps)
        rate = rate * dead_time_live_fraction(click, dead_time_pulses)  # [3]
    return np.asarray(np.where(np.isfinite(rate) & (rate > 0), rate, 0.0), dtype=float)


def optimise_sns_tf_qkd(
    transmittance: npt.ArrayLike,
    dark_count_probability: npt.ArrayLike,
    misalignment_error: npt.ArrayLike,
    *,
    error_correction_efficiency: float = 1.16,
    sifting_factor: float = 1.0,
    mean_photon_number: npt.ArrayLike | None = None,
    dead_time_pulses: npt.ArrayLike = 0.0,
) -> tuple[FloatArray, dict[str, FloatArray]]:
    """SNS twin-field rate maximised over μ and the sending probability ε.

    .. math:: R^* = \\max_{\\mu \\in [10^{-3}, 1.5],\\ \\epsilon \\in [10^{-6}, 0.5]} R(\\mu, \\epsilon)

    A vectorised 20 × 20 logarithmic grid seeds a bounded compass search per point
    (:func:`qcalc.protocols.numerics.maximise_on_grid`); with ``mean_photon_number``
    given (the source's μ) only ε is searched. ε reaches down to 1e-6: at large e_d the
    key needs a nearly error-free Z
    basis (E_Z ≈ ε), so the best sending probability is tiny (how [1] keeps key at
    e_d = 45 %).

    Parameters
    ----------
    transmittance : array_like
        η, total transmittance including detection efficiency. [unitless, 0..1]
    dark_count_probability : array_like
        p_d per detector per window (two detectors). [unitless, 0..1]
    misalignment_error : array_like
        e_d of the X windows. [unitless, 0..0.5]
    error_correction_efficiency : float
        f ≥ 1. [unitless]
    sifting_factor : float
        q. [unitless, 0..1]
    mean_photon_number : array_like, optional
        μ fixed by the sources; ``None`` searches it. [photons/pulse, > 0]
    dead_time_pulses : array_like
        n_d, the relay's dead time in pulse periods (see :func:`sns_tf_qkd_rate`).
        [pulses, ≥ 0]

    Returns
    -------
    (numpy.ndarray, dict of numpy.ndarray)
        Best rate [bits/window, ≥ 0] and ``mean_photon_number`` [photons/pulse] and
        ``sending_probability`` [unitless] at the optimum, broadcast shape.

    References
    ----------
    .. [1] X.-B. Wang, Z.-W. Yu, X.-L. Hu, Phys. Rev. A 98, 062323 (2018).
    """
    fixed = mean_photon_number is not None
    if fixed and np.any(np.asarray(mean_photon_number, dtype=float) <= 0):
        raise ValueError(f"mean_photon_number is {mean_photon_number!r}; expected > 0")
    arrays = np.broadcast_arrays(
        np.asarray(transmittance, dtype=float),
        np.asarray(dark_count_probability, dtype=float),
        np.asarray(misalignment_error, dtype=float),
        np.asarray(dead_time_pulses, dtype=float),
        np.asarray(mean_photon_number if fixed else 1.0, dtype=float),
    )
    shape = arrays[0].shape
    bounds = (
        (float(np.log(_PHOTON_NUMBER_BOUNDS[0])), float(np.log(_PHOTON_NUMBER_BOUNDS[1]))),
        (float(np.log(_SENDING_BOUNDS[0])), float(np.log(_SENDING_BOUNDS[1]))),
    )
    axes = [np.linspace(low, high, 20) for low, high in bounds]
    best_rate = np.zeros(shape)
    best_x = np.zeros((*shape, 2))
    for index in np.ndindex(shape):
        eta, p_d, e_d, n_d, mu = (float(a[index]) for a in arrays)
        box = ((np.log(mu),) * 2, bounds[1]) if fixed else bounds
        first = np.array([np.log(mu)]) if fixed else axes[0]
        grid = np.stack(np.meshgrid(first, axes[1], indexing="ij"), axis=-1).reshape(-1, 2)

        def rate(
            x: FloatArray, eta: float = eta, p_d: float = p_d, e_d: float = e_d, n_d: float = n_d
        ) -> FloatArray:
            return sns_tf_qkd_rate(
                eta,
                p_d,
                e_d,
                mean_photon_number=np.exp(x[..., 0]),
                sending_probability=np.exp(x[..., 1]),
                error_correction_efficiency=error_correction_efficiency,
                sifting_factor=sifting_factor,
                dead_time_pulses=n_d,
            )

        best_rate[index], best_x[index] = maximise_on_grid(rate, grid, box)
    return np.asarray(best_rate, dtype=float), {
        "mean_photon_number": np.asarray(np.exp(best_x[..., 0]), dtype=float),
        "sending_probability": np.asarray(np.exp(best_x[..., 1]), dtype=float),
    }
