"""Finite-key decoy-state BB84: the Lim–Curty–Walenta–Xu–Zbinden (2014) bound.

Three intensities μ1 > μ2 + μ3, μ2 > μ3 ≥ 0 (signal, decoy, weak/vacuum decoy), an
asymmetric basis choice (key basis X with probability q_X, test basis Z), Hoeffding
fluctuations on the decoy estimates and a random-sampling bound on the phase error.
Rates are per emitted pulse; the caller multiplies by the source's repetition rate.

The expected detection and error counts are those of the simulation section of [1]
(with ``background_yield`` Y0 = 2 p_dc): they are *expected* counts, so the key length
is ℓ(E[data]) — the standard way of plotting a finite-key curve, not a guarantee for a
particular run.

References
----------
.. [1] C. C. W. Lim, M. Curty, N. Walenta, F. Xu, H. Zbinden, "Concise security bounds
   for practical decoy-state quantum key distribution", Phys. Rev. A 89, 022307 (2014),
   arXiv:1311.7129.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from qcalc.protocols.qkd import binary_entropy

FloatArray = npt.NDArray[np.float64]

#: Number of failure events composed in the security proof of [1] (ε_sec = 21 ε). [count]
LIM_FAILURE_EVENTS = 21.0

#: Search box of :func:`optimise_finite_key`: signal μ1 [photons], decoy fraction of the
#: span μ3..μ1−μ3, signal probability, decoy share of the rest, key-basis probability.
_OPTIMISER_BOUNDS = ((0.05, 1.2), (0.02, 0.98), (0.01, 0.98), (0.02, 0.98), (0.05, 0.995))
_OPTIMISER_GRID = (
    (0.2, 0.35, 0.5, 0.7, 0.9),
    (0.1, 0.2, 0.35, 0.5),
    (0.03, 0.1, 0.25, 0.5, 0.75, 0.9),
    (0.2, 0.4, 0.6, 0.8),
    (0.3, 0.45, 0.6, 0.75, 0.9, 0.97),
)


def _hoeffding_deviation(count: FloatArray, epsilon: float) -> FloatArray:
    """δ(n, ε) = √(n/2 · ln(1/ε)), main text below Eq. (2) of [1]."""
    return np.asarray(np.sqrt(np.maximum(count, 0.0) / 2.0 * np.log(1.0 / epsilon)))


def _photon_number_weight(
    photons: int, intensities: tuple[FloatArray, ...], probabilities: tuple[FloatArray, ...]
) -> FloatArray:
    """τ_n = Σ_k p_k e^{−k} k^n / n!, below Eq. (2) of [1]."""
    total = np.zeros(np.broadcast_shapes(*(np.shape(x) for x in intensities + probabilities)))
    for mu, p in zip(intensities, probabilities, strict=True):
        total = total + p * np.exp(-mu) * mu**photons
    return np.asarray(total / float(np.prod(np.arange(1, photons + 1))), dtype=float)


def _bracket(
    counts: tuple[FloatArray, ...],
    intensities: tuple[FloatArray, ...],
    probabilities: tuple[FloatArray, ...],
    epsilon: float,
) -> tuple[list[FloatArray], list[FloatArray]]:
    """n_k^± = e^k/p_k (n_k ± δ(n_total, ε)); the lower one floored at zero (sound)."""
    deviation = _hoeffding_deviation(sum(counts, np.zeros(())), epsilon)
    upper, lower = [], []
    for n_k, mu, p in zip(counts, intensities, probabilities, strict=True):
        scale = np.exp(mu) / p
        upper.append(np.asarray(scale * (n_k + deviation), dtype=float))
        lower.append(np.asarray(scale * np.maximum(n_k - deviation, 0.0), dtype=float))
    return upper, lower


def _vacuum_and_single_photon_events(
    counts: tuple[FloatArray, ...],
    intensities: tuple[FloatArray, ...],
    probabilities: tuple[FloatArray, ...],
    epsilon: float,
) -> tuple[FloatArray, FloatArray]:
    """Lower bounds s_0 and s_1 on vacuum and single-photon detections, Eqs. (2)–(3) of [1]."""
    mu1, mu2, mu3 = intensities
    upper, lower = _bracket(counts, intensities, probabilities, epsilon)
    tau0 = _photon_number_weight(0, intensities, probabilities)
    tau1 = _photon_number_weight(1, intensities, probabilities)
    s0 = tau0 * (mu2 * lower[2] - mu3 * upper[1]) / (mu2 - mu3)  # Eq. (2) of [1]
    s0 = np.maximum(s0, 0.0)
    multi_photon = (mu2**2 - mu3**2) / mu1**2 * (upper[0] - s0 / tau0)
    s1 = (  # Eq. (3) of [1]
        tau1 * mu1 * (lower[1] - upper[2] - multi_photon) / (mu1 * (mu2 - mu3) - mu2**2 + mu3**2)
    )
    return np.asarray(s0, dtype=float), np.asarray(np.maximum(s1, 0.0), dtype=float)


def _sampling_deviation(
    epsilon_sec: float, b: FloatArray, c: FloatArray, d: FloatArray
) -> FloatArray:
    """γ(a, b, c, d) of Eq. (5) of [1], with a = ε_sec (the 21² is the main-text form)."""
    b = np.clip(b, 1e-300, 0.5)
    cd = c * d
    spread = (c + d) * (1.0 - b) * b / (cd * np.log(2.0))
    argument = np.log2((c + d) / (cd * (1.0 - b) * b)) + 2.0 * np.log2(
        LIM_FAILURE_EVENTS / epsilon_sec
    )
    return np.asarray(np.sqrt(spread * np.maximum(argument, 0.0)), dtype=float)


def _expected_counts(
    eta: FloatArray,
    y0: FloatArray,
    e_d: FloatArray,
    mu: FloatArray,
    afterpulse: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Per-pulse detection and error probabilities R_k, e_k R_k of the simulation of [1].

    D_k = 1 − (1 − Y0) e^{−ημ}, R_k = D_k (1 + p_ap),
    e_k = Y0/2 + e_d (1 − e^{−ημ}) + p_ap D_k / 2  (Y0 = 2 p_dc of [1]).
    """
    signal = -np.expm1(-eta * mu)
    detection = signal + y0 * np.exp(-eta * mu)
    errors = 0.5 * y0 + e_d * signal + 0.5 * afterpulse * detection
    return np.asarray(detection * (1.0 + afterpulse)), np.asarray(errors)


def _validate(
    intensities: tuple[FloatArray, ...],
    probabilities: tuple[FloatArray, ...],
    key_basis_probability: FloatArray,
    block_size_pulses: FloatArray,
    epsilon_sec: float,
    epsilon_cor: float,
) -> None:
    mu1, mu2, mu3 = intensities
    if np.any(mu3 < 0) or np.any(mu2 <= mu3) or np.any(mu1 <= mu2 + mu3):
        raise ValueError(
            f"intensities ({mu1}, {mu2}, {mu3}) must satisfy μ1 > μ2 + μ3 and μ2 > μ3 ≥ 0"
        )
    if any(np.any(p <= 0) for p in probabilities):
        raise ValueError(f"intensity probabilities {probabilities} must all be > 0")
    if np.any((key_basis_probability <= 0) | (key_basis_probability >= 1)):
        raise ValueError(f"key_basis_probability is {key_basis_probability}; expected 0 < q < 1")
    if np.any(block_size_pulses <= 0):
        raise ValueError(f"block_size_pulses is {block_size_pulses}; expected > 0 pulses")
    if not (0 < epsilon_sec < 1 and 0 < epsilon_cor < 1):
        raise ValueError(f"epsilon_sec={epsilon_sec}, epsilon_cor={epsilon_cor}; expected (0, 1)")


def bb84_finite_key_rate(
    transmittance: npt.ArrayLike,
    background_yield: npt.ArrayLike,
    misalignment_error: npt.ArrayLike,
    block_size_pulses: npt.ArrayLike,
    *,
    signal_photon_number: npt.ArrayLike = 0.5,
    decoy_photon_number: npt.ArrayLike = 0.1,
    vacuum_photon_number: npt.ArrayLike = 0.0,
    signal_probability: npt.ArrayLike = 0.7,
    decoy_probability: npt.ArrayLike = 0.2,
    key_basis_probability: npt.ArrayLike = 0.9,
    error_correction_efficiency: npt.ArrayLike = 1.16,
    epsilon_sec: float = 1e-10,
    epsilon_cor: float = 1e-15,
    afterpulse_probability: npt.ArrayLike = 0.0,
) -> FloatArray:
    """Finite-key secret key rate of three-intensity decoy BB84 (Lim et al. 2014).

    .. math::
        \\ell = s_{X,0} + s_{X,1}\\,[1 - h(\\phi_X)] - \\lambda_\\mathrm{EC}
                - 6\\log_2\\frac{21}{\\epsilon_\\mathrm{sec}}
                - \\log_2\\frac{2}{\\epsilon_\\mathrm{cor}},
        \\qquad R = \\max(\\ell, 0)/N

    with s_{X,0}, s_{X,1} (and s_{Z,1}) from Eqs. (2)–(3), the single-photon errors
    v_{Z,1} from Eq. (4), the phase error φ_X = v_{Z,1}/s_{Z,1} + γ from Eq. (5), all
    with Hoeffding deviations δ(n, ε_sec/21) = √(n ln(21/ε_sec)/2), and
    λ_EC = f n_X h(m_X/n_X). Expected counts n_{X,k} = N p_k q_X² R_k,
    n_{Z,k} = N p_k (1−q_X)² R_k, errors likewise with e_k R_k, where
    R_k = (1 − (1 − Y0) e^{−ημ_k})(1 + p_ap) and
    e_k R_k = Y0/2 + e_d (1 − e^{−ημ_k}) + p_ap D_k/2 (simulation section of [1]).

    Parameters
    ----------
    transmittance : array_like
        η, channel transmittance times the receiver's detection efficiency. [unitless, 0..1]
    background_yield : array_like
        Y0, background (dark) click probability per window of the whole receiver
        (Y0 = 2 p_dc in the notation of [1]). [unitless, 0..1]
    misalignment_error : array_like
        e_d, probability a signal photon hits the wrong detector. [unitless, 0..0.5]
    block_size_pulses : array_like
        N, pulses sent in the block that is post-processed together. [pulses, > 0]
    signal_photon_number, decoy_photon_number, vacuum_photon_number : array_like
        μ1 > μ2 + μ3, μ2 > μ3 ≥ 0. [photons/pulse]
    signal_probability, decoy_probability : array_like
        p_μ1 and p_μ2; the third intensity gets 1 − p_μ1 − p_μ2 > 0. [unitless, 0..1]
    key_basis_probability : array_like
        q_X, probability that Alice (and Bob) choose the key basis. [unitless, 0..1]
    error_correction_efficiency : array_like
        f ≥ 1, error-correction inefficiency (1.16 in [1]). [unitless]
    epsilon_sec, epsilon_cor : float
        Secrecy and correctness parameters (1e-10 and 1e-15 by default). [unitless]
    afterpulse_probability : array_like
        p_ap of a gated detector (4 % in the simulation of [1], 0 for SNSPDs). [unitless]

    Returns
    -------
    numpy.ndarray
        Secret key per emitted pulse; exactly 0 where the block certifies no key.
        Increases with N towards the asymptotic decoy rate q_X² × GLLP.
        [bits/pulse, ≥ 0]

    Raises
    ------
    ValueError
        If the intensities, probabilities, block size or ε are outside their domain.

    Notes
    -----
    Valid for phase-randomised weak coherent pulses and collective or coherent attacks
    (the proof of [1] is against general attacks); the counts are expected values.

    References
    ----------
    .. [1] C. C. W. Lim, M. Curty, N. Walenta, F. Xu, H. Zbinden, "Concise security
       bounds for practical decoy-state quantum key distribution", Phys. Rev. A 89,
       022307 (2014), Eqs. (1)–(5) and the simulation section.
    """
    eta = np.asarray(transmittance, dtype=float)
    y0 = np.asarray(background_yield, dtype=float)
    e_d = np.asarray(misalignment_error, dtype=float)
    pulses = np.asarray(block_size_pulses, dtype=float)
    mus = tuple(
        np.asarray(x, dtype=float)
        for x in (signal_photon_number, decoy_photon_number, vacuum_photon_number)
    )
    p1 = np.asarray(signal_probability, dtype=float)
    p2 = np.asarray(decoy_probability, dtype=float)
    probs = (p1, p2, np.asarray(1.0 - p1 - p2))
    q = np.asarray(key_basis_probability, dtype=float)
    f = np.asarray(error_correction_efficiency, dtype=float)
    afterpulse = np.asarray(afterpulse_probability, dtype=float)
    _validate(mus, probs, q, pulses, epsilon_sec, epsilon_cor)
    if np.any((eta < 0) | (eta > 1)) or np.any((y0 < 0) | (y0 > 1)):
        raise ValueError(f"transmittance {eta} and background_yield {y0} must lie in [0, 1]")

    epsilon = epsilon_sec / LIM_FAILURE_EVENTS
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        per_pulse = [_expected_counts(eta, y0, e_d, mu, afterpulse) for mu in mus]
        n_x = tuple(
            np.asarray(pulses * p * q**2 * r) for p, (r, _) in zip(probs, per_pulse, strict=True)
        )
        n_z = tuple(
            np.asarray(pulses * p * (1 - q) ** 2 * r)
            for p, (r, _) in zip(probs, per_pulse, strict=True)
        )
        m_x = sum(
            (pulses * p * q**2 * e for p, (_, e) in zip(probs, per_pulse, strict=True)),
            np.zeros(()),
        )
        m_z = tuple(
            np.asarray(pulses * p * (1 - q) ** 2 * e)
            for p, (_, e) in zip(probs, per_pulse, strict=True)
        )

        s_x0, s_x1 = _vacuum_and_single_photon_events(n_x, mus, probs, epsilon)
        _, s_z1 = _vacuum_and_single_photon_events(n_z, mus, probs, epsilon)
        upper, lower = _bracket(m_z, mus, probs, epsilon)
        tau1 = _photon_number_weight(1, mus, probs)
        v_z1 = np.maximum(tau1 * (upper[1] - lower[2]) / (mus[1] - mus[2]), 0.0)  # Eq. (4)

        certified = (s_z1 > 0) & (s_x1 > 0)
        s_z1_safe = np.where(certified, s_z1, 1.0)
        s_x1_safe = np.where(certified, s_x1, 1.0)
        bit_error = v_z1 / s_z1_safe
        phase_error = bit_error + _sampling_deviation(  # Eq. (5) of [1]
            epsilon_sec, bit_error, s_z1_safe, s_x1_safe
        )
        phase_error = np.where(certified, np.minimum(phase_error, 0.5), 0.5)

        n_x_total = sum(n_x, np.zeros(()))
        observed_error = np.where(n_x_total > 0, m_x / n_x_total, 0.0)
        leak_ec = f * n_x_total * binary_entropy(observed_error)
        penalty = 6.0 * np.log2(LIM_FAILURE_EVENTS / epsilon_sec) + np.log2(2.0 / epsilon_cor)
        length = s_x0 + s_x1 * (1.0 - binary_entropy(phase_error)) - leak_ec - penalty  # Eq. (1)
        rate = np.where(certified & (length > 0), length / pulses, 0.0)
    return np.asarray(np.where(np.isfinite(rate), rate, 0.0), dtype=float)


def _decode(x: FloatArray, vacuum: float) -> dict[str, FloatArray]:
    """Map the unit-box optimiser variables to a valid intensity/probability setting."""
    mu1 = np.asarray(x[..., 0])
    mu2 = vacuum + x[..., 1] * (mu1 - 2.0 * vacuum)
    p1 = np.asarray(x[..., 2])
    p2 = x[..., 3] * (1.0 - p1)
    return {
        "signal_photon_number": mu1,
        "decoy_photon_number": np.asarray(mu2),
        "signal_probability": p1,
        "decoy_probability": np.asarray(p2),
        "key_basis_probability": np.asarray(x[..., 4]),
    }


def optimise_finite_key(
    transmittance: npt.ArrayLike,
    background_yield: npt.ArrayLike,
    misalignment_error: npt.ArrayLike,
    block_size_pulses: npt.ArrayLike,
    *,
    vacuum_photon_number: float = 0.0,
    error_correction_efficiency: float = 1.16,
    epsilon_sec: float = 1e-10,
    epsilon_cor: float = 1e-15,
    afterpulse_probability: float = 0.0,
) -> tuple[FloatArray, dict[str, FloatArray]]:
    """Finite-key BB84 rate maximised over intensities, their probabilities and q_X.

    .. math::
        R^*(\\eta, N) = \\max_{\\mu_1, \\mu_2, p_{\\mu_1}, p_{\\mu_2}, q_X} R(\\ldots)

    with R from :func:`bb84_finite_key_rate` and μ3 fixed. A vectorised grid of 2,880
    settings seeds a bounded Nelder–Mead search (scipy) per point, as Lim et al. [1]
    optimise every point of their Fig. 1.

    Parameters
    ----------
    transmittance : array_like
        η including the detection efficiency. [unitless, 0..1]
    background_yield : array_like
        Y0 per window, whole receiver. [unitless, 0..1]
    misalignment_error : array_like
        e_d. [unitless, 0..0.5]
    block_size_pulses : array_like
        N, pulses per block. [pulses, > 0]
    vacuum_photon_number : float
        μ3, kept fixed (0 = true vacuum; 2e-4 in [1]). [photons/pulse]
    error_correction_efficiency : float
        f ≥ 1. [unitless]
    epsilon_sec, epsilon_cor : float
        Security parameters. [unitless]
    afterpulse_probability : float
        p_ap. [unitless]

    Returns
    -------
    (numpy.ndarray, dict of numpy.ndarray)
        Best rate [bits/pulse, ≥ 0] and the parameters that reach it, keyed
        ``signal_photon_number``, ``decoy_photon_number`` [photons/pulse],
        ``signal_probability``, ``decoy_probability``, ``key_basis_probability``
        [unitless]; each has the broadcast input shape (parameters of a zero rate are
        the grid's default guess).

    References
    ----------
    .. [1] C. C. W. Lim et al., Phys. Rev. A 89, 022307 (2014), Eq. (1) and Fig. 1.
    """
    arrays = np.broadcast_arrays(
        np.asarray(transmittance, dtype=float),
        np.asarray(background_yield, dtype=float),
        np.asarray(misalignment_error, dtype=float),
        np.asarray(block_size_pulses, dtype=float),
    )
    shape = arrays[0].shape
    grid = np.array(list(itertools.product(*_OPTIMISER_GRID)), dtype=float)
    best_rate = np.zeros(shape)
    best_x = np.broadcast_to(grid[len(grid) // 2], (*shape, 5)).copy()
    for index in np.ndindex(shape):
        eta, y0, e_d, pulses = (float(a[index]) for a in arrays)

        def rate(
            x: FloatArray, eta: float = eta, y0: float = y0, e_d: float = e_d, n: float = pulses
        ) -> FloatArray:
            setting = _decode(x, vacuum_photon_number)
            return bb84_finite_key_rate(
                eta,
                y0,
                e_d,
                n,
                signal_photon_number=setting["signal_photon_number"],
                decoy_photon_number=setting["decoy_photon_number"],
                vacuum_photon_number=vacuum_photon_number,
                signal_probability=setting["signal_probability"],
                decoy_probability=setting["decoy_probability"],
                key_basis_probability=setting["key_basis_probability"],
                error_correction_efficiency=error_correction_efficiency,
                epsilon_sec=epsilon_sec,
                epsilon_cor=epsilon_cor,
                afterpulse_probability=afterpulse_probability,
            )

        best_rate[index], best_x[index] = maximise_from_grid(
            rate, grid, _OPTIMISER_BOUNDS, method="Nelder-Mead"
        )
    return np.asarray(best_rate, dtype=float), _decode(best_x, vacuum_photon_number)


def maximise_from_grid(
    objective: Callable[[FloatArray], FloatArray],
    grid: FloatArray,
    bounds: Sequence[tuple[float, float]],
    *,
    method: str = "L-BFGS-B",
) -> tuple[float, FloatArray]:
    """Maximise a non-negative rate: vectorised grid search, then a bounded scipy refine.

    ``objective`` maps an array of points (..., d) to rates (...). Returns the best rate
    and its point; (0, grid centre) when the whole grid yields no key. Shared by the
    ``optimise_*`` helpers of the finite-key, MDI and twin-field modules.
    """
    from scipy.optimize import minimize

    rates = np.asarray(objective(grid))
    start = int(np.argmax(rates))
    scale = float(rates[start])
    if not scale > 0:
        return 0.0, np.asarray(grid[len(grid) // 2], dtype=float)
    result = minimize(
        lambda x: -float(objective(np.asarray(x))) / scale,
        grid[start],
        method=method,
        bounds=bounds,
        options={"xatol": 1e-4, "fatol": 1e-6, "maxiter": 800} if method == "Nelder-Mead" else {},
    )
    if -float(result.fun) > 1.0:
        return -float(result.fun) * scale, np.asarray(result.x, dtype=float)
    return scale, np.asarray(grid[start], dtype=float)
