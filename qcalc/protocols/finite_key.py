"""Finite-key decoy-state BB84: Lim et al. (2014, two decoys) and Rusca et al. (2018, one).

Two or three intensities — signal μ1, decoy μ2 and, with two decoys, a weakest decoy
μ3 ≥ 0 (0 = vacuum) — an asymmetric basis choice (key basis X with probability q_X by
both parties, test basis Z), Hoeffding fluctuations on the decoy estimates and a
random-sampling bound on the phase error. Key comes from the X-basis detections of every
intensity, as in both papers. Rates are per emitted pulse; the caller multiplies by the
source's repetition rate.

The expected detection and error counts are those of the simulation section of [1]
(with ``background_yield`` Y0 = 2 p_dc): they are *expected* counts, so the key length
is ℓ(E[data]) — the standard way of plotting a finite-key curve, not a guarantee for a
particular run. Every count is written per pulse sent and per unit basis weight
(n_{B,k} = N w_B p_k R_k with w_X = q_X², w_Z = (1 − q_X)²), so a block of N = ∞ pulses
is the same formula with the statistical terms gone: the asymptotic key of the same
protocol at the same operating point, which the finite key approaches from below.

References
----------
.. [1] C. C. W. Lim, M. Curty, N. Walenta, F. Xu, H. Zbinden, "Concise security bounds
   for practical decoy-state quantum key distribution", Phys. Rev. A 89, 022307 (2014),
   arXiv:1311.7129.
.. [2] D. Rusca, A. Boaron, F. Grünenfelder, A. Martin, H. Zbinden, "Finite-key analysis
   for the 1-decoy state QKD protocol", Appl. Phys. Lett. 112, 171104 (2018),
   arXiv:1801.03443, Appendix A.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from qcalc.protocols.numerics import maximise_each_point
from qcalc.protocols.qkd import binary_entropy
from qcalc.records import record

FloatArray = npt.NDArray[np.float64]

#: Failure events composed in the security proof of [1] (ε_sec = 21 ε). [count]
LIM_FAILURE_EVENTS = 21.0
#: Failure events of the one-decoy proof of [2], Eq. (A24) with all terms equal. [count]
RUSCA_FAILURE_EVENTS = 19.0

#: Search box of :func:`optimise_finite_key` for each free setting: signal μ1 [photons],
#: decoy μ2 as a fraction of its allowed span, signal probability p_μ1, decoy share of
#: the rest, key-basis probability q_X. The asymptotic comparison searches the same box.
_BOUNDS = {
    "mu1": (0.05, 1.2),
    "mu2": (0.02, 0.98),
    "p1": (0.01, 0.98),
    "p2": (0.02, 0.98),
    "q": (0.05, 0.995),
}
_GRID = {
    "mu1": (0.2, 0.35, 0.5, 0.7, 0.9),
    "mu2": (0.1, 0.2, 0.35, 0.5),
    "p1": (0.03, 0.1, 0.25, 0.5, 0.75, 0.9),
    "p2": (0.2, 0.4, 0.6, 0.8),
    "q": (0.3, 0.45, 0.6, 0.75, 0.9, 0.97),
}


def _sampling_deviation(
    epsilon_sec: float, events: float, b: FloatArray, c: FloatArray, d: FloatArray
) -> FloatArray:
    """γ(a, b, c, d) of Eq. (5) of [1] (and (A21) of [2]) with a = ε_sec, 21 → ``events``."""
    b = np.clip(b, 1e-300, 0.5)
    cd = c * d
    spread = (c + d) * (1.0 - b) * b / (cd * np.log(2.0))
    argument = np.log2((c + d) / (cd * (1.0 - b) * b)) + 2.0 * np.log2(events / epsilon_sec)
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
    e_k R_k = Y0/2 + e_d (1 − e^{−ημ}) + p_ap D_k / 2  (Y0 = 2 p_dc of [1]).
    """
    signal = -np.expm1(-eta * mu)
    detection = signal + y0 * np.exp(-eta * mu)
    errors = 0.5 * y0 + e_d * signal + 0.5 * afterpulse * detection
    return np.asarray(detection * (1.0 + afterpulse)), np.asarray(errors)


def _photon_weight(photons: int, mus: Sequence[FloatArray], ps: Sequence[FloatArray]) -> Any:
    """τ_n = Σ_k p_k e^{−μ_k} μ_k^n / n!, below Eq. (2) of [1]."""
    total = sum((p * np.exp(-mu) * mu**photons for mu, p in zip(mus, ps, strict=True)), 0.0)
    return total / float(np.prod(np.arange(1, photons + 1)))


def _validate(
    mus: Sequence[FloatArray],
    ps: Sequence[FloatArray],
    q: FloatArray,
    pulses: FloatArray | None,
    epsilon_sec: float,
    epsilon_cor: float,
) -> None:
    if len(mus) == 3:
        mu1, mu2, mu3 = mus
        if np.any(mu3 < 0) or np.any(mu2 <= mu3) or np.any(mu1 <= mu2 + mu3):
            raise ValueError(
                f"intensities ({mu1}, {mu2}, {mu3}) must satisfy μ1 > μ2 + μ3 and μ2 > μ3 ≥ 0"
            )
    elif len(mus) == 2:
        if np.any(mus[1] <= 0) or np.any(mus[0] <= mus[1]):
            raise ValueError(f"intensities {tuple(mus)} must satisfy μ1 > μ2 > 0 (one decoy)")
    else:
        raise ValueError(f"{len(mus)} intensities; expected 2 (one decoy) or 3 (two decoys)")
    if any(np.any(p <= 0) for p in ps):
        raise ValueError(f"intensity probabilities {tuple(ps)} must all be > 0")
    finite = pulses is None or np.all(np.isfinite(pulses))
    if np.any(q <= 0) or np.any(q > 1) or (finite and np.any(q >= 1)):
        raise ValueError(
            f"key_basis_probability is {q}; expected 0 < q < 1 (q = 1 leaves a finite "
            "block no test basis)"
        )
    if pulses is not None and np.any(~(pulses > 0)):
        raise ValueError(f"block_size_pulses is {pulses}; expected > 0 pulses (or inf)")
    if not (0 < epsilon_sec < 1 and 0 < epsilon_cor < 1):
        raise ValueError(f"epsilon_sec={epsilon_sec}, epsilon_cor={epsilon_cor}; expected (0, 1)")


def finite_key_terms(
    transmittance: npt.ArrayLike,
    background_yield: npt.ArrayLike,
    misalignment_error: npt.ArrayLike,
    block_size_pulses: npt.ArrayLike | None,
    *,
    intensities: Sequence[npt.ArrayLike],
    probabilities: Sequence[npt.ArrayLike],
    key_basis_probability: npt.ArrayLike,
    error_correction_efficiency: npt.ArrayLike = 1.16,
    epsilon_sec: float = 1e-10,
    epsilon_cor: float = 1e-15,
    afterpulse_probability: npt.ArrayLike = 0.0,
    vacuum_contribution: bool = True,
    dead_time_pulses: npt.ArrayLike = 0.0,
    key_detections: npt.ArrayLike | None = None,
) -> dict[str, FloatArray]:
    r"""Every term of the finite-key length of decoy BB84, two decoys [1] or one [2].

    .. math::
        \ell = s_{X,0} + s_{X,1}[1 - h(\phi_X)] - \lambda_\mathrm{EC}
               - 6\log_2\frac{K}{\epsilon_\mathrm{sec}} - \log_2\frac{2}{\epsilon_\mathrm{cor}},
        \qquad R = \max(\ell, 0)/N

    with K = 21 (two decoys, Eq. (1) of [1]) or 19 (one decoy, Eq. (A25) of [2]). Brackets
    n^±_{B,k} = e^{μ_k}/p_k (n_{B,k} ± δ(n_B, ε)), δ(n, ε) = √(n ln(1/ε)/2), ε = ε_sec/K.
    Two decoys: s_{B,0} and s_{B,1} from Eqs. (2)–(3) of [1], v_{Z,1} from Eq. (4).
    One decoy (no vacuum): s_{B,0} ≥ τ0 (μ1 n⁻_{B,2} − μ2 n⁺_{B,1})/(μ1 − μ2) (A19),
    s_{B,0} ≤ 2[τ0 e^{μ2}/p2 (m_{B,2} + δ(m_B, ε)) + δ(n_B, ε)] (A16),
    s_{B,1} ≥ τ1 μ1/(μ2(μ1 − μ2)) [n⁻_{B,2} − μ2²/μ1² n⁺_{B,1} − (μ1² − μ2²)/μ1² s^u_{B,0}/τ0]
    (A17), v_{Z,1} ≤ τ1 (m⁺_{Z,1} − m⁻_{Z,2})/(μ1 − μ2) (A22). Then
    φ_X = v_{Z,1}/s_{Z,1} + γ(ε_sec, v_{Z,1}/s_{Z,1}, s_{Z,1}, s_{X,1}) (Eq. (5) of [1]) and
    λ_EC = f n_X h(m_X/n_X). Expected counts n_{B,k} = N w_B p_k c R_k with
    w_X = q_X², w_Z = (1 − q_X)², R_k = (1 − (1 − Y0) e^{−ημ_k})(1 + p_ap), errors
    e_k R_k = Y0/2 + e_d(1 − e^{−ημ_k}) + p_ap D_k/2 (simulation section of [1]) and c the
    dead-time live fraction 1/(1 + n_d Σ_k p_k R_k) (Eq. (B3) of [2]).

    Parameters
    ----------
    transmittance : array_like
        η, channel transmittance times the receiver's detection efficiency. [unitless, 0..1]
    background_yield : array_like
        Y0, background click probability per window, whole receiver (Y0 = 2 p_dc of [1]).
        [unitless, 0..1]
    misalignment_error : array_like
        e_d. [unitless, 0..0.5]
    block_size_pulses : array_like or None
        N, pulses sent per block; ``inf`` for the asymptotic limit; ``None`` when
        ``key_detections`` gives the block instead. [pulses, > 0]
    intensities : sequence of array_like
        (μ1, μ2, μ3) with μ1 > μ2 + μ3, μ2 > μ3 ≥ 0, or (μ1, μ2) with μ1 > μ2 > 0.
        [photons/pulse]
    probabilities : sequence of array_like
        p_k of each intensity (> 0, summing to 1). [unitless]
    key_basis_probability : array_like
        q_X, each party's probability of the key basis (1 only for N = ∞). [unitless]
    error_correction_efficiency : array_like
        f ≥ 1. [unitless]
    epsilon_sec, epsilon_cor : float
        Secrecy and correctness parameters. [unitless]
    afterpulse_probability : array_like
        p_ap (4 % in the simulation of [1], 0 for SNSPDs). [unitless]
    vacuum_contribution : bool
        Keep the s_{X,0} term (both papers do; ``False`` drops it, conservatively).
    dead_time_pulses : array_like
        Dead time in source periods, R τ_d. [pulses, ≥ 0]
    key_detections : array_like or None
        n_X, key-basis detections per block (the way [1] and [2] state a block); sets
        N = n_X/(q_X² Σ_k p_k c R_k). [detections]

    Returns
    -------
    dict of numpy.ndarray
        ``rate`` [bits/pulse, ≥ 0], ``length_bits`` ℓ [bits], ``block_size_pulses`` N,
        ``n_X``, ``m_X``, ``s_X0``, ``s_X1``, ``s_Z1``, ``v_Z1``, ``leak_ec``
        [detections or bits per block], ``phase_error`` φ_X, ``gamma``, ``qber_X``
        [unitless], ``penalty_bits`` [bits], ``click_probability`` (per pulse, after
        saturation) and ``live_fraction`` [unitless], ``certified`` [bool].

    Raises
    ------
    ValueError
        If the intensities, probabilities, block or ε are outside their domain.

    References
    ----------
    .. [1] C. C. W. Lim et al., Phys. Rev. A 89, 022307 (2014), Eqs. (1)–(5) and the
       simulation section.
    .. [2] D. Rusca et al., Appl. Phys. Lett. 112, 171104 (2018), Eqs. (A16)–(A25), (B3).
    """
    eta = np.asarray(transmittance, dtype=float)
    y0 = np.asarray(background_yield, dtype=float)
    mus = tuple(np.asarray(m, dtype=float) for m in intensities)
    ps = tuple(np.asarray(p, dtype=float) for p in probabilities)
    q = np.asarray(key_basis_probability, dtype=float)
    given_pulses = None if block_size_pulses is None else np.asarray(block_size_pulses, float)
    _check_terms_inputs(eta, y0, mus, ps, q, given_pulses, key_detections, epsilon_sec, epsilon_cor)
    events = RUSCA_FAILURE_EVENTS if len(mus) == 2 else LIM_FAILURE_EVENTS
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        counts = _observed_counts(
            eta,
            y0,
            np.asarray(misalignment_error, dtype=float),
            mus,
            ps,
            np.asarray(afterpulse_probability, dtype=float),
            dead_time_pulses,
        )
        w_x, w_z = q**2, (1.0 - q) ** 2
        pulses, no_clicks = _block_pulses(given_pulses, key_detections, w_x * counts.det_total)
        bounds = _DecoyBounds(counts, mus, ps, pulses, np.log(events / epsilon_sec))
        s_x0, s_x1 = bounds.vacuum_and_single(w_x)
        _, s_z1 = bounds.vacuum_and_single(w_z)
        v_z1 = bounds.single_photon_errors(w_z)
        certified = (s_z1 > 0) & (s_x1 > 0) & ~no_clicks
        gamma, phase_error = bounds.phase_error(
            certified, s_x1, s_z1, v_z1, (w_x, w_z), epsilon_sec, events
        )
        qber = np.where(counts.det_total > 0, counts.err_total / counts.det_total, 0.0)
        leak = np.asarray(error_correction_efficiency, dtype=float) * counts.det_total
        leak = leak * binary_entropy(qber)
        penalty = 6.0 * np.log2(events / epsilon_sec) + np.log2(2.0 / epsilon_cor)
        vacuum = s_x0 if vacuum_contribution else 0.0
        per_pulse = w_x * (vacuum + s_x1 * (1.0 - binary_entropy(phase_error)) - leak)
        per_pulse = per_pulse - np.where(bounds.finite, penalty / pulses, 0.0)  # Eq. (1) of [1]
        rate = np.where(certified & (per_pulse > 0) & np.isfinite(per_pulse), per_pulse, 0.0)
        scale = pulses * w_x
        out = {
            "rate": np.asarray(rate, dtype=float),
            "length_bits": np.asarray(rate * pulses, dtype=float),
            "block_size_pulses": np.asarray(pulses, dtype=float),
            "n_X": np.asarray(scale * counts.det_total, dtype=float),
            "m_X": np.asarray(scale * counts.err_total, dtype=float),
            "s_X0": np.asarray(scale * s_x0, dtype=float),
            "s_X1": np.asarray(scale * s_x1, dtype=float),
            "s_Z1": np.asarray(pulses * w_z * s_z1, dtype=float),
            "v_Z1": np.asarray(pulses * w_z * v_z1, dtype=float),
            "leak_ec": np.asarray(scale * leak, dtype=float),
            "phase_error": np.asarray(phase_error, dtype=float),
            "gamma": np.asarray(gamma, dtype=float),
            "qber_X": np.asarray(qber, dtype=float),
            "penalty_bits": np.asarray(penalty, dtype=float),
            "click_probability": np.asarray(counts.live * counts.click, dtype=float),
            "live_fraction": np.asarray(counts.live, dtype=float),
            "certified": np.asarray(certified),
        }
    return out


def _check_terms_inputs(
    eta: FloatArray,
    y0: FloatArray,
    mus: tuple[FloatArray, ...],
    ps: tuple[FloatArray, ...],
    q: FloatArray,
    given_pulses: FloatArray | None,
    key_detections: npt.ArrayLike | None,
    epsilon_sec: float,
    epsilon_cor: float,
) -> None:
    """Refuse inputs of :func:`finite_key_terms` outside their domain (ValueError)."""
    if (given_pulses is None) == (key_detections is None):
        raise ValueError("give exactly one of block_size_pulses and key_detections")
    if key_detections is not None and np.any(~(np.asarray(key_detections, float) > 0)):
        raise ValueError(f"key_detections is {key_detections}; expected > 0 detections")
    _validate(mus, ps, q, given_pulses, epsilon_sec, epsilon_cor)
    if np.any((eta < 0) | (eta > 1)) or np.any((y0 < 0) | (y0 > 1)):
        raise ValueError(f"transmittance {eta} and background_yield {y0} must lie in [0, 1]")


def _block_pulses(
    given_pulses: FloatArray | None, key_detections: npt.ArrayLike | None, key_clicks: Any
) -> tuple[FloatArray, Any]:
    """N, the pulses of the block: as given, or those that yield ``key_detections`` key-
    basis detections at ``key_clicks`` per pulse (inf when none click); and where no
    pulse clicks in the key basis."""
    if key_detections is None:
        assert given_pulses is not None
        return given_pulses, np.zeros(np.shape(given_pulses), dtype=bool)
    pulses = np.asarray(key_detections, dtype=float) / key_clicks
    pulses = np.where(np.isfinite(pulses) & (pulses > 0), pulses, np.inf)
    return pulses, ~(key_clicks > 0)


@record(frozen=True)
class _Counts:
    """Expected detections and errors per pulse sent and per unit basis weight w_B,
    n_{B,k}/(N w_B) = p_k c R_k, of each intensity k, the receiver live a fraction c."""

    det: tuple[FloatArray, ...]  # detections of each intensity [per pulse]
    err: tuple[FloatArray, ...]  # errors of each intensity [per pulse]
    det_total: FloatArray
    err_total: FloatArray
    click: FloatArray  # click probability of a live receiver [per pulse]
    live: FloatArray  # live fraction after the dead time [unitless]


def _observed_counts(
    eta: FloatArray,
    y0: FloatArray,
    e_d: FloatArray,
    mus: tuple[FloatArray, ...],
    ps: tuple[FloatArray, ...],
    afterpulse: FloatArray,
    dead_time_pulses: npt.ArrayLike,
) -> _Counts:
    """The detections and errors each intensity gives, the receiver saturated by its
    dead time (every count scaled by the live fraction)."""
    from qcalc.physics.detectors import dead_time_live_fraction

    raw = [_expected_counts(eta, y0, e_d, mu, afterpulse) for mu in mus]
    click = sum((p * r for p, (r, _) in zip(ps, raw, strict=True)), np.zeros(()))
    live = dead_time_live_fraction(click, dead_time_pulses)
    det = tuple(np.asarray(p * live * r) for p, (r, _) in zip(ps, raw, strict=True))
    err = tuple(np.asarray(p * live * e) for p, (_, e) in zip(ps, raw, strict=True))
    return _Counts(
        det, err, sum(det, np.zeros(())), sum(err, np.zeros(())), np.asarray(click), live
    )


class _DecoyBounds:
    """Hoeffding-bracketed counts and the decoy-state bounds built on them: vacuum and
    single-photon detections (Eqs. (2)–(3) of Lim et al. 2014; (A16)–(A19) of Rusca et
    al. 2018) and single-photon errors (Eq. (4); (A22))."""

    def __init__(
        self,
        counts: _Counts,
        mus: tuple[FloatArray, ...],
        ps: tuple[FloatArray, ...],
        pulses: FloatArray,
        log_inv_eps: Any,
    ) -> None:
        self.counts, self.mus, self.ps = counts, mus, ps
        self.pulses, self.log_inv_eps = pulses, log_inv_eps
        self.finite = np.isfinite(pulses)
        self.one_decoy = len(mus) == 2
        self.tau0 = _photon_weight(0, mus, ps)
        self.tau1 = _photon_weight(1, mus, ps)

    def deviation(self, total: FloatArray, weight: FloatArray) -> FloatArray:
        """δ(n_B, ε)/(N w_B) = √(total ln(1/ε)/(2 N w_B)); 0 for N = ∞."""
        value = np.sqrt(total * self.log_inv_eps / (2.0 * self.pulses * weight))
        return np.asarray(np.where(self.finite, value, 0.0))

    def brackets(
        self, counts: tuple[FloatArray, ...], dev: FloatArray
    ) -> tuple[list[FloatArray], list[FloatArray]]:
        """Upper and lower e^μ_k/p_k (n_k ± δ) of each intensity's counts."""
        mus, ps = self.mus, self.ps
        upper = [np.exp(mu) / p * (n + dev) for n, mu, p in zip(counts, mus, ps, strict=True)]
        lower = [
            np.exp(mu) / p * np.maximum(n - dev, 0.0)
            for n, mu, p in zip(counts, mus, ps, strict=True)
        ]
        return upper, lower

    def vacuum_and_single(self, weight: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Lower bounds on the vacuum and single-photon detections s_B,0, s_B,1 in a basis
        of weight w_B, per pulse and unit weight."""
        c, mus, ps, tau0, tau1 = self.counts, self.mus, self.ps, self.tau0, self.tau1
        d_n = self.deviation(c.det_total, weight)
        upper, lower = self.brackets(c.det, d_n)
        if self.one_decoy:
            mu1, mu2 = mus
            s0 = tau0 * (mu1 * lower[1] - mu2 * upper[0]) / (mu1 - mu2)  # (A19) of [2]
            d_m = self.deviation(c.err_total, weight)
            s0_upper = 2.0 * (tau0 * np.exp(mu2) / ps[1] * (c.err[1] + d_m) + d_n)  # (A16)
            s1 = (  # (A17) of [2]
                tau1
                * mu1
                / (mu2 * (mu1 - mu2))
                * (
                    lower[1]
                    - mu2**2 / mu1**2 * upper[0]
                    - (mu1**2 - mu2**2) / mu1**2 * s0_upper / tau0
                )
            )
        else:
            mu1, mu2, mu3 = mus
            s0 = tau0 * (mu2 * lower[2] - mu3 * upper[1]) / (mu2 - mu3)  # Eq. (2) of [1]
            s0 = np.maximum(s0, 0.0)
            multi = (mu2**2 - mu3**2) / mu1**2 * (upper[0] - s0 / tau0)
            s1 = (  # Eq. (3) of [1]
                tau1 * mu1 * (lower[1] - upper[2] - multi) / (mu1 * (mu2 - mu3) - mu2**2 + mu3**2)
            )
        return np.asarray(np.maximum(s0, 0.0)), np.asarray(np.maximum(s1, 0.0))

    def phase_error(
        self,
        certified: Any,
        s_x1: FloatArray,
        s_z1: FloatArray,
        v_z1: FloatArray,
        weights: tuple[FloatArray, FloatArray],
        epsilon_sec: float,
        events: float,
    ) -> tuple[FloatArray, FloatArray]:
        """(γ, φ_X): the sampling deviation of Eq. (5) of [1] (0 for N = ∞) and the phase
        error φ_X = v_Z,1/s_Z,1 + γ (1/2 where nothing is certified); ``weights`` are the
        basis weights (w_X, w_Z)."""
        w_x, w_z = weights
        s_z1_safe = np.where(certified, s_z1, 1.0)
        bit_error = v_z1 / s_z1_safe
        gamma = _sampling_deviation(  # Eq. (5) of [1]
            epsilon_sec,
            events,
            bit_error,
            self.pulses * w_z * s_z1_safe,
            self.pulses * w_x * np.where(certified, s_x1, 1.0),
        )
        gamma = np.where(self.finite, gamma, 0.0)
        return gamma, np.where(certified, np.minimum(bit_error + gamma, 0.5), 0.5)

    def single_photon_errors(self, weight: FloatArray) -> FloatArray:
        """Upper bound on the single-photon errors v_B,1 in a basis of weight w_B."""
        mus = self.mus
        upper_e, lower_e = self.brackets(
            self.counts.err, self.deviation(self.counts.err_total, weight)
        )
        if self.one_decoy:
            v1 = self.tau1 * (upper_e[0] - lower_e[1]) / (mus[0] - mus[1])  # (A22) of [2]
        else:
            v1 = self.tau1 * (upper_e[1] - lower_e[2]) / (mus[1] - mus[2])  # Eq. (4) of [1]
        return np.asarray(np.maximum(v1, 0.0))


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
    vacuum_contribution: bool = True,
    dead_time_pulses: npt.ArrayLike = 0.0,
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
    λ_EC = f n_X h(m_X/n_X); the expected counts are those of :func:`finite_key_terms`.
    ``block_size_pulses = inf`` gives the asymptotic key of the same setting.

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
    vacuum_contribution : bool
        Keep the s_{X,0} term of Eq. (1) (``False`` drops it).
    dead_time_pulses : array_like
        Dead time in source periods, R τ_d. [pulses, ≥ 0]

    Returns
    -------
    numpy.ndarray
        Secret key per emitted pulse; exactly 0 where the block certifies no key.
        Increases with N towards the asymptotic key of the same setting.
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
    p1 = np.asarray(signal_probability, dtype=float)
    p2 = np.asarray(decoy_probability, dtype=float)
    return finite_key_terms(
        transmittance,
        background_yield,
        misalignment_error,
        block_size_pulses,
        intensities=(signal_photon_number, decoy_photon_number, vacuum_photon_number),
        probabilities=(p1, p2, 1.0 - p1 - p2),
        key_basis_probability=key_basis_probability,
        error_correction_efficiency=error_correction_efficiency,
        epsilon_sec=epsilon_sec,
        epsilon_cor=epsilon_cor,
        afterpulse_probability=afterpulse_probability,
        vacuum_contribution=vacuum_contribution,
        dead_time_pulses=dead_time_pulses,
    )["rate"]


def _setting_space(
    one_decoy: bool, fixed: dict[str, Any]
) -> tuple[list[str], Callable[[FloatArray, dict[str, Any]], dict[str, Any]]]:
    """The free settings and a map from the optimiser's box, with the values of the
    fixed settings (numbers or arrays that broadcast with the box's points), to the
    protocol's settings."""
    names = [n for n in ("mu1", "mu2", "p1", "p2", "q") if fixed.get(n) is None]
    if one_decoy:
        names = [n for n in names if n != "p2"]

    def decode(x: FloatArray, given: dict[str, Any]) -> dict[str, Any]:
        value = {n: x[..., i] for i, n in enumerate(names)}
        mu3 = 0.0 if one_decoy else given["mu3"]
        if "mu1" in value:
            if "mu2" in value:
                mu1 = value["mu1"]
            else:  # the signal above the fixed decoys, up to at least 1.2 photons
                floor = 1.001 * (given["mu2"] + mu3)
                top = np.maximum(1.2, 2.0 * floor)
                mu1 = floor + (value["mu1"] - 0.05) / 1.15 * (top - floor)
        else:
            mu1 = np.asarray(given["mu1"], dtype=float)
        if "mu2" in value:
            mu2 = mu3 + value["mu2"] * (mu1 - 2.0 * mu3)
        else:
            mu2 = np.asarray(given["mu2"], dtype=float)
        if "p1" in value:
            p1 = value["p1"]
            p2 = 1.0 - p1 if one_decoy else value["p2"] * (1.0 - p1)
        else:
            p1 = np.asarray(given["p1"], dtype=float)
            p2 = np.asarray(1.0 - p1 if one_decoy else given["p2"], dtype=float)
        q = value["q"] if "q" in value else np.asarray(given["q"], dtype=float)
        intensities = (mu1, mu2) if one_decoy else (mu1, mu2, np.asarray(mu3))
        probabilities = (p1, p2) if one_decoy else (p1, p2, 1.0 - p1 - p2)
        return {
            "intensities": intensities,
            "probabilities": probabilities,
            "key_basis_probability": q,
        }

    return names, decode


def optimise_finite_key(
    transmittance: npt.ArrayLike,
    background_yield: npt.ArrayLike,
    misalignment_error: npt.ArrayLike,
    block_size_pulses: npt.ArrayLike | None,
    *,
    signal_photon_number: npt.ArrayLike | None = None,
    decoy_photon_number: npt.ArrayLike | None = None,
    vacuum_photon_number: npt.ArrayLike = 0.0,
    signal_probability: npt.ArrayLike | None = None,
    decoy_probability: npt.ArrayLike | None = None,
    key_basis_probability: npt.ArrayLike | None = None,
    one_decoy: bool = False,
    key_detections: npt.ArrayLike | None = None,
    error_correction_efficiency: float = 1.16,
    epsilon_sec: float = 1e-10,
    epsilon_cor: float = 1e-15,
    afterpulse_probability: float = 0.0,
    vacuum_contribution: bool = True,
    dead_time_pulses: npt.ArrayLike = 0.0,
) -> tuple[FloatArray, dict[str, FloatArray]]:
    """Finite-key BB84 rate maximised over the settings left free (``None``).

    .. math::
        R^*(\\eta, N) = \\max_{\\text{free of } \\mu_1, \\mu_2, p_{\\mu_1}, p_{\\mu_2}, q_X}
            R(\\ldots)

    with R from :func:`finite_key_terms` (two decoys, or one with ``one_decoy``). A
    vectorised grid over the free settings (up to 2,880 points with all five free) seeds a
    bounded compass search per point (:func:`qcalc.protocols.numerics.maximise_on_grid`;
    no scipy), as Lim et al. [1] optimise every point of their Fig. 1; it reaches the
    Nelder–Mead optimum qcalc used before to 1e-6 of the rate, never lower
    (tests/test_numerics.py). Fixed settings are used as given, numbers or arrays (one
    value per point, broadcast with the channel's arrays); with none free the rate is
    evaluated directly for every point at once.

    Parameters
    ----------
    transmittance : array_like
        η including the detection efficiency. [unitless, 0..1]
    background_yield : array_like
        Y0 per window, whole receiver. [unitless, 0..1]
    misalignment_error : array_like
        e_d. [unitless, 0..0.5]
    block_size_pulses : array_like or None
        N, pulses per block (``inf``: the asymptotic key); ``None`` with
        ``key_detections``. [pulses, > 0]
    signal_photon_number, decoy_photon_number : array_like or None
        μ1 and μ2, or ``None`` to optimise. [photons/pulse]
    vacuum_photon_number : array_like
        μ3, kept fixed (0 = true vacuum; 2e-4 in [1]; unused with one decoy).
        [photons/pulse]
    signal_probability, decoy_probability : array_like or None
        p_μ1 and p_μ2 (both given, or both ``None``; no p_μ2 with one decoy). [unitless]
    key_basis_probability : array_like or None
        q_X, or ``None`` to optimise. [unitless]
    one_decoy : bool
        Two intensities (Rusca et al. [2]) instead of three.
    key_detections : array_like or None
        n_X per block instead of N. [detections]
    error_correction_efficiency : float
        f ≥ 1. [unitless]
    epsilon_sec, epsilon_cor : float
        Security parameters. [unitless]
    afterpulse_probability : float
        p_ap. [unitless]
    vacuum_contribution : bool
        Keep the s_{X,0} term.
    dead_time_pulses : array_like
        R τ_d. [pulses, ≥ 0]

    Returns
    -------
    (numpy.ndarray, dict of numpy.ndarray)
        Best rate [bits/pulse, ≥ 0] and the settings that reach it, keyed
        ``signal_photon_number``, ``decoy_photon_number`` [photons/pulse],
        ``signal_probability``, ``decoy_probability``, ``key_basis_probability``
        [unitless]; each has the broadcast input shape (the settings of a zero rate are
        the grid's middle guess).

    References
    ----------
    .. [1] C. C. W. Lim et al., Phys. Rev. A 89, 022307 (2014), Eq. (1) and Fig. 1.
    .. [2] D. Rusca et al., Appl. Phys. Lett. 112, 171104 (2018), Figs. 3–4.
    """
    fixed: dict[str, Any] = {
        "mu1": signal_photon_number,
        "mu2": decoy_photon_number,
        "mu3": None if one_decoy else vacuum_photon_number,
        "p1": signal_probability,
        "p2": None if one_decoy else decoy_probability,
        "q": key_basis_probability,
    }
    if not one_decoy and (signal_probability is None) != (decoy_probability is None):
        raise ValueError("give signal_probability and decoy_probability together, or neither")
    names, decode = _setting_space(one_decoy, fixed)
    common: dict[str, Any] = {
        "error_correction_efficiency": error_correction_efficiency,
        "epsilon_sec": epsilon_sec,
        "epsilon_cor": epsilon_cor,
        "afterpulse_probability": afterpulse_probability,
        "vacuum_contribution": vacuum_contribution,
    }
    blocks = block_size_pulses if key_detections is None else key_detections
    given = [n for n, v in fixed.items() if v is not None]  # per point, as the channel
    arrays = np.broadcast_arrays(
        np.asarray(transmittance, dtype=float),
        np.asarray(background_yield, dtype=float),
        np.asarray(misalignment_error, dtype=float),
        np.asarray(blocks, dtype=float),
        np.asarray(dead_time_pulses, dtype=float),
        *(np.asarray(fixed[n], dtype=float) for n in given),
    )
    shape = arrays[0].shape
    at_points = dict(zip(given, arrays[5:], strict=True))

    def rate_at(
        x: FloatArray, eta: Any, y0: Any, e_d: Any, block: Any, n_d: Any, *values: Any
    ) -> FloatArray:
        return finite_key_terms(
            eta,
            y0,
            e_d,
            None if key_detections is not None else block,
            key_detections=block if key_detections is not None else None,
            dead_time_pulses=n_d,
            **decode(x, dict(zip(given, values, strict=True))),
            **common,
        )["rate"]

    if not names:
        best = rate_at(np.zeros((*shape, 0)), *arrays)
        nowhere = decode(np.zeros((*shape, 0)), at_points)
        return np.asarray(best, dtype=float), _settings(nowhere, shape)
    grid = np.array(list(itertools.product(*(_GRID[n] for n in names))), dtype=float)
    bounds = [_BOUNDS[n] for n in names]
    best_rate, best_x = maximise_each_point(rate_at, arrays, grid, bounds)
    return np.asarray(best_rate, dtype=float), _settings(decode(best_x, at_points), shape)


def _settings(setting: dict[str, Any], shape: tuple[int, ...]) -> dict[str, FloatArray]:
    """The named settings of a decoded point, broadcast to ``shape``."""
    intensities, probabilities = setting["intensities"], setting["probabilities"]

    def full(value: Any) -> FloatArray:
        return np.asarray(np.broadcast_to(np.asarray(value, dtype=float), shape), dtype=float)

    return {
        "signal_photon_number": full(intensities[0]),
        "decoy_photon_number": full(intensities[1]),
        "signal_probability": full(probabilities[0]),
        "decoy_probability": full(probabilities[1]),
        "key_basis_probability": full(setting["key_basis_probability"]),
    }


def maximise_from_grid(
    objective: Callable[[FloatArray], FloatArray],
    grid: FloatArray,
    bounds: Sequence[tuple[float, float]],
    *,
    method: str = "L-BFGS-B",
) -> tuple[float, FloatArray]:
    """Maximise a non-negative rate: vectorised grid search, then a bounded scipy refine
    (the validation runner's Lim et al. comparison; the key optimisers use
    :func:`qcalc.protocols.numerics.maximise_on_grid`).

    ``objective`` maps an array of points (..., d) to rates (...). Returns the best rate
    and its point; (0, grid centre) when the whole grid yields no key.
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
