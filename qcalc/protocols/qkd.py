"""Prepare-and-measure QKD key rates and the repeaterless bounds.

All rates are per channel use (per emitted pulse) unless the name says otherwise; the
caller multiplies by the source's repetition rate. Every function broadcasts over numpy
arrays and returns exactly 0 where no key can be distilled.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Error rate of a random (background) click, e0 = 1/2. [unitless]
BACKGROUND_ERROR_RATE = 0.5

#: Search interval for an optimised mean photon number; Ma et al. (2005) find
#: μ_opt ≈ 0.48 for GYS, so the optimum of practical systems sits well inside. [photons]
MEAN_PHOTON_NUMBER_BOUNDS = (1e-3, 1.5)


def binary_entropy(p: npt.ArrayLike) -> FloatArray:
    """Binary Shannon entropy.

    .. math:: h(p) = -p \\log_2 p - (1-p) \\log_2 (1-p), \\quad h(0) = h(1) = 0

    Parameters
    ----------
    p : array_like
        Probability. [unitless, 0..1]

    Returns
    -------
    numpy.ndarray
        Entropy. [bits]

    References
    ----------
    .. [1] C. E. Shannon, Bell Syst. Tech. J. 27, 379 (1948), Theorem 2.
    """
    prob = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -prob * np.log2(prob) - (1.0 - prob) * np.log2(1.0 - prob)
    return np.asarray(np.where((prob <= 0.0) | (prob >= 1.0), 0.0, h), dtype=float)


def plob_bound(transmittance: npt.ArrayLike) -> FloatArray:
    """Repeaterless secret-key capacity of a pure-loss channel (PLOB bound).

    .. math:: K = -\\log_2(1 - \\eta)

    Parameters
    ----------
    transmittance : array_like
        Channel transmittance η. [unitless, 0..1]

    Returns
    -------
    numpy.ndarray
        Secret bits per channel use; ≈ 1.44 η for η ≪ 1, inf at η = 1. [bits/use]

    References
    ----------
    .. [1] S. Pirandola, R. Laurenza, C. Ottaviani, L. Banchi, "Fundamental limits of
       repeaterless quantum communications", Nat. Commun. 8, 15043 (2017), Eq. (1).
    """
    eta = np.clip(np.asarray(transmittance, dtype=float), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        return np.asarray(-np.log1p(-eta) / np.log(2.0), dtype=float)  # Eq. (1) of [1]


def tgw_bound(transmittance: npt.ArrayLike) -> FloatArray:
    """Takeoka–Guha–Wilde upper bound on repeaterless key per channel use.

    .. math:: K = \\log_2 \\frac{1 + \\eta}{1 - \\eta}

    Parameters
    ----------
    transmittance : array_like
        Channel transmittance η. [unitless, 0..1]

    Returns
    -------
    numpy.ndarray
        Secret bits per channel use; ≈ 2.89 η for η ≪ 1, twice PLOB at low η. [bits/use]

    References
    ----------
    .. [1] M. Takeoka, S. Guha, M. M. Wilde, "Fundamental rate-loss tradeoff for optical
       quantum key distribution", Nat. Commun. 5, 5235 (2014), Eq. (2).
    """
    eta = np.clip(np.asarray(transmittance, dtype=float), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        return np.asarray((np.log1p(eta) - np.log1p(-eta)) / np.log(2.0), dtype=float)


def weak_coherent_gain_and_error(
    mean_photon_number: npt.ArrayLike,
    transmittance: npt.ArrayLike,
    background_yield: npt.ArrayLike,
    misalignment_error: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Gain and quantum bit error rate of weak coherent pulses over a lossy channel.

    .. math::
        Q_\\mu = Y_0 + 1 - e^{-\\eta\\mu}, \\qquad
        E_\\mu Q_\\mu = e_0 Y_0 + e_d (1 - e^{-\\eta\\mu})

    Parameters
    ----------
    mean_photon_number : array_like
        Mean photon number μ per pulse. [photons, > 0]
    transmittance : array_like
        η: channel transmittance times the receiver's efficiency. [unitless, 0..1]
    background_yield : array_like
        Y0, probability of a background click per window. [unitless, 0..1]
    misalignment_error : array_like
        e_d, probability a signal photon hits the wrong detector. [unitless, 0..0.5]

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Gain Q_μ [clicks/pulse] and QBER E_μ [unitless].

    References
    ----------
    .. [1] X. Ma, B. Qi, Y. Zhao, H.-K. Lo, "Practical decoy state for quantum key
       distribution", Phys. Rev. A 72, 012326 (2005), Eqs. (8)–(9).
    """
    mu = np.asarray(mean_photon_number, dtype=float)
    eta = np.asarray(transmittance, dtype=float)
    y0 = np.asarray(background_yield, dtype=float)
    e_d = np.asarray(misalignment_error, dtype=float)
    signal = -np.expm1(-eta * mu)
    gain = y0 + signal  # Eq. (8) of [1]
    with np.errstate(divide="ignore", invalid="ignore"):
        qber = (BACKGROUND_ERROR_RATE * y0 + e_d * signal) / gain  # Eq. (9) of [1]
    return gain, np.where(gain > 0, qber, BACKGROUND_ERROR_RATE)


def _secret_fraction(
    sifting_factor: npt.ArrayLike,
    gain: FloatArray,
    qber: FloatArray,
    single_photon_gain: FloatArray,
    single_photon_error: FloatArray,
    error_correction_efficiency: npt.ArrayLike,
) -> FloatArray:
    """GLLP key formula R = q{−Q f h(E) + Q1 [1 − h(e1)]}, unclipped (may be negative).

    Eq. (1) of Ma, Qi, Zhao, Lo, Phys. Rev. A 72, 012326 (2005).
    """
    q = np.asarray(sifting_factor, dtype=float)
    f = np.asarray(error_correction_efficiency, dtype=float)
    return np.asarray(
        q
        * (
            -gain * f * binary_entropy(qber)
            + single_photon_gain * (1.0 - binary_entropy(single_photon_error))
        ),
        dtype=float,
    )


def decoy_estimates(
    mean_photon_number: npt.ArrayLike,
    transmittance: npt.ArrayLike,
    background_yield: npt.ArrayLike,
    misalignment_error: npt.ArrayLike,
    *,
    decoy: str = "infinite",
    weak_decoy_photon_number: npt.ArrayLike = 0.1,
) -> dict[str, FloatArray]:
    r"""The quantities of the decoy-state key formula: gains, QBERs, single-photon terms.

    .. math::
        \text{infinite decoys:}\quad Y_1 = Y_0 + \eta - Y_0\eta,\quad
        e_1 = \frac{e_0 Y_0 + e_d \eta}{Y_1}

        \text{vacuum + weak decoy } \nu:\quad
        Y_1^L = \frac{\mu}{\mu\nu - \nu^2}\left(Q_\nu e^{\nu}
            - Q_\mu e^{\mu}\frac{\nu^2}{\mu^2} - \frac{\mu^2-\nu^2}{\mu^2} Y_0\right),
        \quad e_1^U = \frac{E_\nu Q_\nu e^{\nu} - e_0 Y_0}{Y_1^L \nu}

    and Q1 = Y1 μ e^{−μ} in both cases.

    Parameters
    ----------
    mean_photon_number : array_like
        Signal μ. [photons, > 0]
    transmittance : array_like
        η, channel × receiver efficiency. [unitless, 0..1]
    background_yield : array_like
        Y0. [unitless, 0..1]
    misalignment_error : array_like
        e_d. [unitless, 0..0.5]
    decoy : {"infinite", "vacuum+weak"}
        Which single-photon estimate.
    weak_decoy_photon_number : array_like
        ν (vacuum + weak only). [photons, 0 < ν < μ]

    Returns
    -------
    dict of numpy.ndarray
        ``Q_mu`` [clicks/pulse], ``E_mu`` [unitless], ``Y1`` (a lower bound with decoys)
        [clicks/pulse], ``e1`` (an upper bound) [unitless], ``Q1`` [clicks/pulse]; with the
        weak decoy also ``Q_nu`` and ``E_nu``.

    References
    ----------
    .. [1] X. Ma, B. Qi, Y. Zhao, H.-K. Lo, Phys. Rev. A 72, 012326 (2005), Eqs. (10)–(11)
       (infinite decoys) and (34)–(37) (vacuum + weak decoy).
    """
    mu_a = np.asarray(mean_photon_number, dtype=float)
    eta_a = np.asarray(transmittance, dtype=float)
    y0_a = np.asarray(background_yield, dtype=float)
    q_mu, e_mu = weak_coherent_gain_and_error(mu_a, eta_a, y0_a, misalignment_error)
    out = {"Q_mu": q_mu, "E_mu": e_mu}
    if decoy == "infinite":
        y1 = y0_a + eta_a - y0_a * eta_a  # Eq. (10) of [1]
        with np.errstate(divide="ignore", invalid="ignore"):
            e1 = np.where(
                y1 > 0,
                (BACKGROUND_ERROR_RATE * y0_a + np.asarray(misalignment_error) * eta_a) / y1,
                0.5,
            )  # Eq. (11) of [1]
    elif decoy == "vacuum+weak":
        nu_a = np.asarray(weak_decoy_photon_number, dtype=float)
        q_nu, e_nu = weak_coherent_gain_and_error(nu_a, eta_a, y0_a, misalignment_error)
        out.update(Q_nu=q_nu, E_nu=e_nu)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            y1 = (
                mu_a
                / (mu_a * nu_a - nu_a**2)
                * (
                    q_nu * np.exp(nu_a)
                    - q_mu * np.exp(mu_a) * nu_a**2 / mu_a**2
                    - (mu_a**2 - nu_a**2) / mu_a**2 * y0_a
                )
            )  # Eq. (34) of [1]
            y1 = np.where(np.isfinite(y1) & (y1 > 0), y1, 0.0)
            e1 = (e_nu * q_nu * np.exp(nu_a) - BACKGROUND_ERROR_RATE * y0_a) / (y1 * nu_a)
            e1 = np.where(y1 > 0, np.clip(e1, 0.0, 0.5), 0.5)  # Eq. (37) of [1]
    else:
        raise ValueError(f"decoy is {decoy!r}; expected 'infinite' or 'vacuum+weak'")
    out.update(
        Y1=np.asarray(y1, dtype=float),
        e1=np.asarray(e1, dtype=float),
        Q1=np.asarray(y1 * mu_a * np.exp(-mu_a), dtype=float),
    )  # Eq. (35) of [1]
    return out


def _bb84_decoy(
    mu: npt.ArrayLike,
    eta: npt.ArrayLike,
    y0: npt.ArrayLike,
    e_d: npt.ArrayLike,
    f: npt.ArrayLike,
    q: npt.ArrayLike,
    decoy: str,
    nu: npt.ArrayLike = 0.1,
) -> FloatArray:
    est = decoy_estimates(mu, eta, y0, e_d, decoy=decoy, weak_decoy_photon_number=nu)
    return _secret_fraction(q, est["Q_mu"], est["E_mu"], est["Q1"], est["e1"], f)


def _bb84_gllp(
    mu: npt.ArrayLike,
    eta: npt.ArrayLike,
    y0: npt.ArrayLike,
    e_d: npt.ArrayLike,
    f: npt.ArrayLike,
    q: npt.ArrayLike,
) -> FloatArray:
    mu_a = np.asarray(mu, dtype=float)
    gain, qber = weak_coherent_gain_and_error(mu_a, eta, y0, e_d)
    # Worst case: every multi-photon pulse reaches Bob, p_multi = 1 − e^{−μ}(1 + μ).
    p_multi = -np.expm1(-mu_a) - mu_a * np.exp(-mu_a)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        single_fraction = np.where(gain > 0, 1.0 - p_multi / gain, 0.0)
        single_fraction = np.clip(single_fraction, 0.0, 1.0)
        e1 = np.where(single_fraction > 0, np.clip(qber / single_fraction, 0.0, 0.5), 0.5)
    return _secret_fraction(q, gain, qber, gain * single_fraction, e1, f)


def _optimise_positive(
    objective: Callable[[FloatArray], FloatArray],
    shape: tuple[int, ...],
    bounds: tuple[float, float] = MEAN_PHOTON_NUMBER_BOUNDS,
    iterations: int = 40,
) -> tuple[FloatArray, FloatArray]:
    """Maximise ``objective`` over μ in ``bounds`` element-wise by golden-section search.

    A vectorised bounded line search (Kiefer 1953): one call evaluates every point of a
    sweep at once, which scipy's scalar ``minimize_scalar(method="bounded")`` cannot.
    The key-rate curves of decoy BB84 are unimodal in μ on these bounds.
    """
    inv_phi = (np.sqrt(5.0) - 1.0) / 2.0
    lo = np.full(shape, bounds[0])
    hi = np.full(shape, bounds[1])
    x1 = hi - inv_phi * (hi - lo)
    x2 = lo + inv_phi * (hi - lo)
    f1 = objective(x1)
    f2 = objective(x2)
    for _ in range(iterations):
        left = f1 >= f2
        hi = np.where(left, x2, hi)
        lo = np.where(left, lo, x1)
        x2_new = np.where(left, x1, lo + inv_phi * (hi - lo))
        x1_new = np.where(left, hi - inv_phi * (hi - lo), x2)
        x1, x2 = x1_new, x2_new
        f_new = objective(np.where(left, x1, x2))
        f1, f2 = np.where(left, f_new, f2), np.where(left, f1, f_new)
    best = np.where(f1 >= f2, x1, x2)
    return best, np.maximum(objective(best), 0.0)


def bb84_key_rate(
    transmittance: npt.ArrayLike,
    background_yield: npt.ArrayLike,
    misalignment_error: npt.ArrayLike,
    *,
    mean_photon_number: npt.ArrayLike | None = None,
    decoy: str = "infinite",
    weak_decoy_photon_number: npt.ArrayLike = 0.1,
    error_correction_efficiency: npt.ArrayLike = 1.16,
    sifting_factor: npt.ArrayLike = 0.5,
) -> tuple[FloatArray, FloatArray]:
    """Asymptotic secret key rate of weak-coherent-pulse BB84, with or without decoys.

    .. math::
        R = q\\{-Q_\\mu f\\, h(E_\\mu) + Q_1[1 - h(e_1)]\\}

    with the single-photon gain Q1 and error e1 taken
    - ``decoy="infinite"``: exactly, Y1 = Y0 + η − Y0η, e1 = (e0Y0 + e_dη)/Y1 (Eqs. 10–11
      of [2]);
    - ``decoy="vacuum+weak"``: from the vacuum + one weak decoy ν bounds, Eqs. (34)–(37)
      of [2];
    - ``decoy="none"``: GLLP's worst case that every multi-photon pulse is detected [3].

    Parameters
    ----------
    transmittance : array_like
        η, channel transmittance times receiver efficiency. [unitless, 0..1]
    background_yield : array_like
        Y0, background click probability per window. [unitless, 0..1]
    misalignment_error : array_like
        e_d, intrinsic error of the optics. [unitless, 0..0.5]
    mean_photon_number : array_like or None
        Signal μ; ``None`` optimises it per point over (0.001, 1.5). [photons]
    decoy : {"infinite", "vacuum+weak", "none"}
        Decoy method, see above.
    weak_decoy_photon_number : array_like
        ν of the weak decoy (only with ``"vacuum+weak"``). [photons, 0 < ν < μ]
    error_correction_efficiency : array_like
        f ≥ 1, error-correction inefficiency (1.16 typical, 1.22 in [2]). [unitless]
    sifting_factor : array_like
        q, fraction of pulses kept after basis sifting (1/2 for BB84). [unitless, 0..1]

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Key rate per pulse [bits/pulse, ≥ 0, exactly 0 beyond the maximum distance]
        and the mean photon number used [photons].

    References
    ----------
    .. [1] H.-K. Lo, X. Ma, K. Chen, "Decoy state quantum key distribution",
       Phys. Rev. Lett. 94, 230504 (2005), Eq. (1).
    .. [2] X. Ma, B. Qi, Y. Zhao, H.-K. Lo, "Practical decoy state for quantum key
       distribution", Phys. Rev. A 72, 012326 (2005), Eqs. (1), (8)–(11), (34)–(37).
    .. [3] D. Gottesman, H.-K. Lo, N. Lütkenhaus, J. Preskill, "Security of quantum key
       distribution with imperfect devices", Quantum Inf. Comput. 4, 325 (2004).
    """
    eta = np.asarray(transmittance, dtype=float)
    y0 = np.asarray(background_yield, dtype=float)
    e_d = np.asarray(misalignment_error, dtype=float)
    f = np.asarray(error_correction_efficiency, dtype=float)
    q = np.asarray(sifting_factor, dtype=float)
    nu = np.asarray(weak_decoy_photon_number, dtype=float)

    def rate(mu: FloatArray) -> FloatArray:
        if decoy in ("infinite", "vacuum+weak"):
            return _bb84_decoy(mu, eta, y0, e_d, f, q, decoy, nu)
        if decoy == "none":
            return _bb84_gllp(mu, eta, y0, e_d, f, q)
        raise ValueError(f"decoy is {decoy!r}; expected 'infinite', 'vacuum+weak' or 'none'")

    shape = np.broadcast_shapes(
        eta.shape,
        y0.shape,
        e_d.shape,
        f.shape,
        q.shape,
        nu.shape,
        np.shape(mean_photon_number) if mean_photon_number is not None else (),
    )
    if mean_photon_number is None:
        best_mu, best_rate = _optimise_positive(rate, shape)
        return best_rate, best_mu
    mu = np.broadcast_to(np.asarray(mean_photon_number, dtype=float), shape)
    return np.maximum(rate(mu), 0.0), np.asarray(mu, dtype=float)


def single_photon_bb84_key_rate(
    transmittance: npt.ArrayLike,
    background_yield: npt.ArrayLike,
    misalignment_error: npt.ArrayLike,
    *,
    error_correction_efficiency: npt.ArrayLike = 1.16,
    sifting_factor: npt.ArrayLike = 0.5,
) -> FloatArray:
    """BB84 key rate with an ideal single-photon source (Shor–Preskill).

    .. math::
        R = q\\, Q\\, [1 - f\\, h(E) - h(E)], \\quad Q = Y_0 + \\eta - Y_0\\eta, \\quad
        E = (e_0 Y_0 + e_d \\eta)/Q

    Parameters
    ----------
    transmittance : array_like
        η, channel transmittance times receiver efficiency. [unitless, 0..1]
    background_yield : array_like
        Y0. [unitless, 0..1]
    misalignment_error : array_like
        e_d. [unitless, 0..0.5]
    error_correction_efficiency : array_like
        f ≥ 1. [unitless]
    sifting_factor : array_like
        q. [unitless, 0..1]

    Returns
    -------
    numpy.ndarray
        Key per emitted photon; with f = 1 it is q Q (1 − 2h(E)), zero beyond E ≈ 11 %.
        [bits/pulse, ≥ 0]

    References
    ----------
    .. [1] P. W. Shor, J. Preskill, "Simple proof of security of the BB84 quantum key
       distribution protocol", Phys. Rev. Lett. 85, 441 (2000), Eq. (1) (rate 1 − 2h(δ)).
    """
    eta = np.asarray(transmittance, dtype=float)
    y0 = np.asarray(background_yield, dtype=float)
    gain = y0 + eta - y0 * eta
    with np.errstate(divide="ignore", invalid="ignore"):
        qber = np.where(
            gain > 0,
            (BACKGROUND_ERROR_RATE * y0 + np.asarray(misalignment_error, dtype=float) * eta) / gain,
            0.5,
        )
    rate = _secret_fraction(sifting_factor, gain, qber, gain, qber, error_correction_efficiency)
    return np.maximum(rate, 0.0)
