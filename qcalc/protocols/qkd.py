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
    prob = np.asarray(p, dtype=float).clip(0.0, 1.0)  # the method: half np.clip's cost
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
    eta = np.asarray(transmittance, dtype=float).clip(0.0, 1.0)
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
    eta = np.asarray(transmittance, dtype=float).clip(0.0, 1.0)
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


def _gain(mu: FloatArray, eta: FloatArray, y0: FloatArray) -> FloatArray:
    """Q_k = Y0 + 1 − e^{−ημ_k} (Eq. (8) of Ma et al. 2005), without its error rate."""
    return np.asarray(y0 - np.expm1(-eta * mu), dtype=float)


def total_click_probability(
    intensities: tuple[npt.ArrayLike, ...],
    probabilities: tuple[npt.ArrayLike, ...] | None,
    transmittance: npt.ArrayLike,
    background_yield: npt.ArrayLike,
) -> FloatArray:
    """Clicks per pulse of a live receiver, averaged over the source's intensities.

    .. math:: P = \\sum_k p_k Q_k, \\qquad Q_k = Y_0 + 1 - e^{-\\eta\\mu_k}

    Parameters
    ----------
    intensities : tuple of array_like
        μ_k, the signal first. [photons/pulse]
    probabilities : tuple of array_like or None
        p_k matching ``intensities``; ``None`` for every pulse a signal. [unitless]
    transmittance, background_yield : array_like
        η and Y0. [unitless, 0..1]

    Returns
    -------
    numpy.ndarray
        P. [clicks/pulse, 0..1]

    References
    ----------
    .. [1] X. Ma, B. Qi, Y. Zhao, H.-K. Lo, Phys. Rev. A 72, 012326 (2005), Eq. (8).
    """
    eta = np.asarray(transmittance, dtype=float)
    y0 = np.asarray(background_yield, dtype=float)
    if probabilities is None:
        return _gain(np.asarray(intensities[0], dtype=float), eta, y0)
    total: FloatArray = np.asarray(0.0)
    for mu, p in zip(intensities, probabilities, strict=False):
        total = np.asarray(
            total + np.asarray(p, dtype=float) * _gain(np.asarray(mu, dtype=float), eta, y0)
        )
    return np.asarray(total, dtype=float)


def decoy_estimates(
    mean_photon_number: npt.ArrayLike,
    transmittance: npt.ArrayLike,
    background_yield: npt.ArrayLike,
    misalignment_error: npt.ArrayLike,
    *,
    decoy: str = "infinite",
    weak_decoy_photon_number: npt.ArrayLike = 0.1,
    vacuum_photon_number: npt.ArrayLike = 0.0,
    live_fraction: npt.ArrayLike = 1.0,
) -> dict[str, FloatArray]:
    r"""The quantities of the decoy-state key formula: gains, QBERs, vacuum and single-photon terms.

    With G_k = e^{μ_k} Q_k (the gains a detector that is live a fraction c of the time
    sees are c Q_k; every estimate below is linear in them):

    .. math::
        \text{infinite decoys:}\quad Y_0,\quad Y_1 = Y_0 + \eta - Y_0\eta,\quad
        e_1 = \frac{e_0 Y_0 + e_d \eta}{Y_1}

        \text{two decoys } \nu > \omega \ge 0:\quad
        Y_0^L = \frac{\nu G_\omega - \omega G_\nu}{\nu - \omega},\quad
        Y_1^L = \frac{\mu\,[G_\nu - G_\omega - \frac{\nu^2-\omega^2}{\mu^2}(G_\mu - Y_0^L)]}
            {\mu(\nu-\omega) - \nu^2 + \omega^2},\quad
        e_1^U = \frac{e^{\nu}E_\nu Q_\nu - e^{\omega}E_\omega Q_\omega}{(\nu-\omega) Y_1^L}

        \text{one decoy } \nu \text{ (no vacuum)}:\quad
        Y_0^U = 2 e^{\nu}E_\nu Q_\nu,\quad
        Y_1^L = \frac{\mu\,[G_\nu - \frac{\nu^2}{\mu^2} G_\mu - \frac{\mu^2-\nu^2}{\mu^2}Y_0^U]}
            {\nu(\mu-\nu)},\quad
        e_1^U = \frac{e^{\mu}E_\mu Q_\mu - e^{\nu}E_\nu Q_\nu}{(\mu-\nu) Y_1^L},\quad
        Y_0^L = \frac{\mu G_\nu - \nu G_\mu}{\mu - \nu}

    and Q_0 = Y_0^L e^{−μ}, Q_1 = Y_1 μ e^{−μ} for the signal μ. With ω = 0 the two-decoy
    bounds are Eqs. (34) and (37) of [1] (vacuum + weak decoy) exactly; they are the
    asymptotic (n → ∞) forms of Eqs. (2)–(4) of [2]; the one-decoy bounds are the n → ∞
    forms of Eqs. (A16), (A17), (A19), (A22) of [3].

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
    decoy : {"infinite", "vacuum+weak", "weak"}
        Which estimate: exact (infinite decoys), two decoys ν > ω ≥ 0, or one decoy ν.
    weak_decoy_photon_number : array_like
        ν. [photons, 0 < ν < μ]
    vacuum_photon_number : array_like
        ω, the weakest decoy of ``"vacuum+weak"`` (0 = a true vacuum). [photons, 0 ≤ ω < ν]
    live_fraction : array_like
        c, the detector's live fraction (dead-time saturation). [unitless, 0..1]

    Returns
    -------
    dict of numpy.ndarray
        ``Q_mu`` [clicks/pulse], ``E_mu`` [unitless], ``Y0`` (a lower bound with decoys)
        [clicks/pulse], ``Y1`` (a lower bound) [clicks/pulse], ``e1`` (an upper bound)
        [unitless], ``Q0``, ``Q1`` [clicks/pulse]; with decoys also ``Q_nu`` and
        ``E_nu``.

    References
    ----------
    .. [1] X. Ma, B. Qi, Y. Zhao, H.-K. Lo, Phys. Rev. A 72, 012326 (2005), Eqs. (10)–(11)
       (infinite decoys) and (34)–(37) (vacuum + weak decoy).
    .. [2] C. C. W. Lim, M. Curty, N. Walenta, F. Xu, H. Zbinden, Phys. Rev. A 89, 022307
       (2014), Eqs. (2)–(4).
    .. [3] D. Rusca, A. Boaron, F. Grünenfelder, A. Martin, H. Zbinden, Appl. Phys. Lett.
       112, 171104 (2018), Appendix A.
    """
    mu_a = np.asarray(mean_photon_number, dtype=float)
    eta_a = np.asarray(transmittance, dtype=float)
    y0_a = np.asarray(background_yield, dtype=float)
    live = np.asarray(live_fraction, dtype=float)
    q_mu, e_mu = weak_coherent_gain_and_error(mu_a, eta_a, y0_a, misalignment_error)
    q_mu = np.asarray(live * q_mu)
    out = {"Q_mu": q_mu, "E_mu": e_mu}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if decoy == "infinite":
            y0_est = np.asarray(live * y0_a)
            raw_y1 = y0_a + eta_a - y0_a * eta_a  # Eq. (10) of [1]
            y1 = live * raw_y1
            e1 = np.where(
                raw_y1 > 0,
                (BACKGROUND_ERROR_RATE * y0_a + np.asarray(misalignment_error) * eta_a) / raw_y1,
                0.5,
            )  # Eq. (11) of [1]
        elif decoy in ("vacuum+weak", "weak"):
            nu_a = np.asarray(weak_decoy_photon_number, dtype=float)
            q_nu, e_nu = weak_coherent_gain_and_error(nu_a, eta_a, y0_a, misalignment_error)
            q_nu = np.asarray(live * q_nu)
            out.update(Q_nu=q_nu, E_nu=e_nu)
            g_mu, g_nu = q_mu * np.exp(mu_a), q_nu * np.exp(nu_a)
            if decoy == "vacuum+weak":
                om = np.asarray(vacuum_photon_number, dtype=float)
                q_om, e_om = weak_coherent_gain_and_error(om, eta_a, y0_a, misalignment_error)
                g_om = live * q_om * np.exp(om)
                y0_est = (nu_a * g_om - om * g_nu) / (nu_a - om)  # Eq. (2) of [2]
                y0_est = np.maximum(y0_est, 0.0)  # a yield is ≥ 0 (as [2] floors s_{X,0})
                y1 = (  # Eq. (3) of [2]; Eq. (34) of [1] for ω = 0
                    mu_a
                    * (g_nu - g_om - (nu_a**2 - om**2) / mu_a**2 * (g_mu - y0_est))
                    / (mu_a * (nu_a - om) - nu_a**2 + om**2)
                )
                errors_1 = (e_nu * g_nu - e_om * g_om) / (nu_a - om)  # Eq. (4) of [2], (37) of [1]
            else:
                y0_upper = 2.0 * e_nu * g_nu  # Eq. (A16) of [3], n → ∞
                y1 = (  # Eq. (A17) of [3], n → ∞
                    mu_a
                    * (g_nu - nu_a**2 / mu_a**2 * g_mu - (mu_a**2 - nu_a**2) / mu_a**2 * y0_upper)
                    / (nu_a * (mu_a - nu_a))
                )
                y0_est = (mu_a * g_nu - nu_a * g_mu) / (mu_a - nu_a)  # Eq. (A19) of [3]
                errors_1 = (e_mu * g_mu - e_nu * g_nu) / (mu_a - nu_a)  # Eq. (A22) of [3]
            y0_est = np.where(np.isfinite(y0_est) & (y0_est > 0), y0_est, 0.0)
            y1 = np.where(np.isfinite(y1) & (y1 > 0), y1, 0.0)
            e1 = np.where(y1 > 0, np.asarray(errors_1 / y1).clip(0.0, 0.5), 0.5)
        else:
            raise ValueError(f"decoy is {decoy!r}; expected 'infinite', 'vacuum+weak' or 'weak'")
    out.update(
        Y0=np.asarray(y0_est, dtype=float),
        Y1=np.asarray(y1, dtype=float),
        e1=np.asarray(e1, dtype=float),
        Q0=np.asarray(y0_est * np.exp(-mu_a), dtype=float),
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
    nu: npt.ArrayLike,
    omega: npt.ArrayLike,
    live: npt.ArrayLike,
    vacuum_contribution: bool,
) -> FloatArray:
    est = decoy_estimates(
        mu,
        eta,
        y0,
        e_d,
        decoy=decoy,
        weak_decoy_photon_number=nu,
        vacuum_photon_number=omega,
        live_fraction=live,
    )
    rate = _secret_fraction(q, est["Q_mu"], est["E_mu"], est["Q1"], est["e1"], f)
    if vacuum_contribution:
        rate = np.asarray(rate + np.asarray(q, dtype=float) * est["Q0"])
    return rate


def _bb84_gllp(
    mu: npt.ArrayLike,
    eta: npt.ArrayLike,
    y0: npt.ArrayLike,
    e_d: npt.ArrayLike,
    f: npt.ArrayLike,
    q: npt.ArrayLike,
    live: npt.ArrayLike = 1.0,
) -> FloatArray:
    mu_a = np.asarray(mu, dtype=float)
    gain, qber = weak_coherent_gain_and_error(mu_a, eta, y0, e_d)
    gain = np.asarray(np.asarray(live, dtype=float) * gain)
    # Worst case: every multi-photon pulse reaches Bob, p_multi = 1 − e^{−μ}(1 + μ).
    p_multi = -np.expm1(-mu_a) - mu_a * np.exp(-mu_a)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        single_fraction = np.where(gain > 0, 1.0 - p_multi / gain, 0.0)
        single_fraction = single_fraction.clip(0.0, 1.0)
        e1 = np.where(single_fraction > 0, np.asarray(qber / single_fraction).clip(0.0, 0.5), 0.5)
    return _secret_fraction(q, gain, qber, gain * single_fraction, e1, f)


#: Values of μ tried on a log-spaced grid before the golden-section search. [count]
GRID_POINTS = 16
#: Largest number of points whose grid is evaluated as one (grid, points) array. [count]
STACKED_GRID_POINTS = 4096


def _grid_bracket(
    objective: Callable[[FloatArray], FloatArray], lo: FloatArray, hi: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The neighbours of the best of ``GRID_POINTS`` log-spaced values in [lo, hi], element
    by element: a bracket of the maximum for the golden section. For up to
    ``STACKED_GRID_POINTS`` points the grid is one evaluation of a (grid, points) array
    (a scalar's 16 evaluations cost 16 times numpy's per-call overhead); for more, one
    grid value at a time, so the memory stays that of one evaluation over the points (a
    sweep's chunk). Element-wise arithmetic, so both give the same values, bit for bit;
    the first of equal values wins either way."""
    grid = [lo * (hi / lo) ** (k / (GRID_POINTS - 1)) for k in range(GRID_POINTS)]
    stack = np.stack(grid)
    if lo.size <= STACKED_GRID_POINTS:
        values = np.nan_to_num(np.asarray(objective(stack), dtype=float), nan=-np.inf)
        best = np.argmax(np.broadcast_to(values, stack.shape), axis=0)
    else:
        best = np.zeros(lo.shape, dtype=int)
        top = np.full(lo.shape, -np.inf)
        for k, mu in enumerate(grid):
            value = np.nan_to_num(np.asarray(objective(mu), dtype=float), nan=-np.inf)
            better = np.broadcast_to(value, lo.shape) > top
            best, top = np.where(better, k, best), np.where(better, value, top)
    below = np.take_along_axis(stack, np.maximum(best - 1, 0)[None], axis=0)[0]
    above = np.take_along_axis(stack, np.minimum(best + 1, GRID_POINTS - 1)[None], axis=0)[0]
    return below, above


def _optimise_positive(
    objective: Callable[[FloatArray], FloatArray],
    shape: tuple[int, ...],
    bounds: tuple[npt.ArrayLike, npt.ArrayLike] = MEAN_PHOTON_NUMBER_BOUNDS,
    iterations: int = 40,
) -> tuple[FloatArray, FloatArray]:
    """Maximise ``objective`` over μ in ``bounds`` element-wise: the best of a log-spaced
    grid, then golden-section search between its neighbours.

    A vectorised bounded line search (Kiefer 1953): one call evaluates every point of a
    sweep at once, which scipy's scalar ``minimize_scalar(method="bounded")`` cannot. The
    grid first (``GRID_POINTS`` values, log-spaced): where the rate is positive only on a
    narrow window of small μ (GLLP without decoys, η ~ 0.1: the multi-photon fraction
    swamps Ω above μ ~ 2η and the rate's sign flips), a golden section over the whole
    bounds can bracket the wrong side and return 0 for a link that has key (16 values, a
    factor of about 1.6 apart on the default bounds).
    """
    inv_phi = (np.sqrt(5.0) - 1.0) / 2.0
    lo = np.broadcast_to(np.asarray(bounds[0], dtype=float), shape).copy()
    hi = np.broadcast_to(np.asarray(bounds[1], dtype=float), shape).copy()
    lo, hi = _grid_bracket(objective, lo, hi)
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


#: Decoy methods of :func:`bb84_key_rate` and the decoy intensities each uses.
DECOY_METHODS = ("infinite", "vacuum+weak", "weak", "none")


def bb84_key_rate(
    transmittance: npt.ArrayLike,
    background_yield: npt.ArrayLike,
    misalignment_error: npt.ArrayLike,
    *,
    mean_photon_number: npt.ArrayLike | None = None,
    decoy: str = "infinite",
    weak_decoy_photon_number: npt.ArrayLike = 0.1,
    vacuum_photon_number: npt.ArrayLike = 0.0,
    error_correction_efficiency: npt.ArrayLike = 1.16,
    sifting_factor: npt.ArrayLike = 0.5,
    intensity_probabilities: tuple[npt.ArrayLike, ...] | None = None,
    vacuum_contribution: bool = False,
    dead_time_pulses: npt.ArrayLike = 0.0,
) -> tuple[FloatArray, FloatArray]:
    """Asymptotic secret key rate of weak-coherent-pulse BB84, with or without decoys.

    .. math::
        R = c_\\mathrm{dt}\\, p_\\mu\\, q\\,\\{[Q_0] + Q_1[1 - h(e_1)] - Q_\\mu f\\, h(E_\\mu)\\}

    Only signal pulses (probability p_μ) sifted into the key basis (fraction q) make key;
    the bracketed vacuum term Q0 = Y0 e^{−μ} counts the detections of empty pulses as
    secret (Lo 2005 [4], kept by Lim et al. [5]) when ``vacuum_contribution`` is set —
    Ma et al. [2] drop it, so the default reproduces their Table and figures. c_dt is the
    live fraction of a detector with dead time (:func:`qcalc.physics.detectors.
    dead_time_live_fraction`), which scales every gain. The single-photon gain Q1 and
    error e1 come from
    - ``decoy="infinite"``: exactly, Y1 = Y0 + η − Y0η, e1 = (e0Y0 + e_dη)/Y1 (Eqs. 10–11
      of [2]);
    - ``decoy="vacuum+weak"``: two decoys ν > ω ≥ 0 (ω = 0 a vacuum: Eqs. (34)–(37) of
      [2]; ω > 0 the asymptotic bounds of [5]);
    - ``decoy="weak"``: one decoy ν and no vacuum, the asymptotic bounds of Rusca et al.
      [6];
    - ``decoy="none"``: GLLP's worst case that every multi-photon pulse is detected [3]
      (no vacuum term: without a vacuum decoy nothing bounds Y0).

    Parameters
    ----------
    transmittance : array_like
        η, channel transmittance times receiver efficiency. [unitless, 0..1]
    background_yield : array_like
        Y0, background click probability per window. [unitless, 0..1]
    misalignment_error : array_like
        e_d, intrinsic error of the optics. [unitless, 0..0.5]
    mean_photon_number : array_like or None
        Signal μ; ``None`` optimises it per point over (max(0.001, ν + ω), 1.5). [photons]
    decoy : {"infinite", "vacuum+weak", "weak", "none"}
        Decoy method, see above.
    weak_decoy_photon_number : array_like
        ν of the weak decoy. [photons, 0 < ν < μ]
    vacuum_photon_number : array_like
        ω, the weakest decoy of ``"vacuum+weak"`` (0 = true vacuum). [photons, 0 ≤ ω < ν]
    error_correction_efficiency : array_like
        f ≥ 1, error-correction inefficiency (1.16 typical, 1.22 in [2]). [unitless]
    sifting_factor : array_like
        q, fraction of detections kept after basis sifting (1/2 for BB84; p_X² for a key
        basis chosen with probability p_X by both). [unitless, 0..1]
    intensity_probabilities : tuple of array_like or None
        p_k of (μ, ν, ω) in that order (as many as the method sends); ``None`` sends
        every pulse as a signal (decoys a vanishing fraction, as in [1], [2]). p_μ
        multiplies the key; all of them set the click probability. [unitless]
    vacuum_contribution : bool
        Count vacuum detections Q0 as secret (decoy methods only).
    dead_time_pulses : array_like
        Dead time in source periods, R τ_d (0 = none). [pulses, ≥ 0]

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
    .. [4] H.-K. Lo, "Getting something out of nothing", Quantum Inf. Comput. 5, 413
       (2005).
    .. [5] C. C. W. Lim, M. Curty, N. Walenta, F. Xu, H. Zbinden, Phys. Rev. A 89, 022307
       (2014), Eqs. (1)–(4) (the s_{X,0} term).
    .. [6] D. Rusca, A. Boaron, F. Grünenfelder, A. Martin, H. Zbinden, Appl. Phys. Lett.
       112, 171104 (2018), Appendix A.
    """
    if decoy not in DECOY_METHODS:
        raise ValueError(
            f"decoy is {decoy!r}; expected 'infinite', 'vacuum+weak', 'weak' or 'none'"
        )
    eta = np.asarray(transmittance, dtype=float)
    y0 = np.asarray(background_yield, dtype=float)
    e_d = np.asarray(misalignment_error, dtype=float)
    f = np.asarray(error_correction_efficiency, dtype=float)
    q = np.asarray(sifting_factor, dtype=float)
    nu = np.asarray(weak_decoy_photon_number, dtype=float)
    omega = np.asarray(vacuum_photon_number, dtype=float)
    n_d = np.asarray(dead_time_pulses, dtype=float)
    probs = (
        None
        if intensity_probabilities is None
        else tuple(np.asarray(p, dtype=float) for p in intensity_probabilities)
    )
    p_signal = np.asarray(1.0) if probs is None else probs[0]

    def rate(mu: FloatArray) -> FloatArray:
        from qcalc.physics.detectors import dead_time_live_fraction

        click = total_click_probability((mu, nu, omega), probs, eta, y0)
        live = dead_time_live_fraction(click, n_d)
        if decoy == "none":
            return np.asarray(p_signal * _bb84_gllp(mu, eta, y0, e_d, f, q, live))
        return np.asarray(
            p_signal
            * _bb84_decoy(mu, eta, y0, e_d, f, q, decoy, nu, omega, live, vacuum_contribution)
        )

    shape = np.broadcast_shapes(
        eta.shape,
        y0.shape,
        e_d.shape,
        f.shape,
        q.shape,
        nu.shape,
        omega.shape,
        n_d.shape,
        *(p.shape for p in probs or ()),
        np.shape(mean_photon_number) if mean_photon_number is not None else (),
    )
    if mean_photon_number is None:
        floor = 0.0 if decoy in ("infinite", "none") else 1.001 * (nu + omega)
        lo = np.maximum(MEAN_PHOTON_NUMBER_BOUNDS[0], floor)
        hi = np.maximum(MEAN_PHOTON_NUMBER_BOUNDS[1], 2.0 * lo)
        best_mu, best_rate = _optimise_positive(rate, shape, (lo, hi))
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
    dead_time_pulses: npt.ArrayLike = 0.0,
) -> FloatArray:
    """BB84 key rate with an ideal single-photon source (Shor–Preskill).

    .. math::
        R = q\\, c_\\mathrm{dt} Q\\, [1 - f\\, h(E) - h(E)], \\quad Q = Y_0 + \\eta - Y_0\\eta,
        \\quad E = (e_0 Y_0 + e_d \\eta)/Q

    with c_dt = 1/(1 + Q R τ_d) the live fraction of a receiver with dead time
    (:func:`qcalc.physics.detectors.dead_time_live_fraction`).

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
    dead_time_pulses : array_like
        Dead time in source periods, R τ_d (0 = none). [pulses, ≥ 0]

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
    from qcalc.physics.detectors import dead_time_live_fraction

    gain = gain * dead_time_live_fraction(gain, dead_time_pulses)
    rate = _secret_fraction(sifting_factor, gain, qber, gain, qber, error_correction_efficiency)
    return np.maximum(rate, 0.0)
