"""Seeded Monte Carlo of nested repeater chains, a cross-check of :mod:`.repeater`.

Simulates exactly the protocol of :mod:`qcalc.protocols.repeater`: elementary segments
succeed after a geometric number of attempts, a block of m segments is split into
⌊m/2⌋ and ⌈m/2⌉ (the doubling scheme for m = 2^n), the two halves are swapped as soon as
both are ready (success a, a failure restarts the block from nothing), a waiting pair
depolarises, w → w e^{−t/T_pair} for its Werner parameter w = (4F − 1)/3, and a pair that
has waited more than c attempts for its partner is discarded and its half-block
restarts. All N trials run at once as numpy arrays; the loops run over swap rounds, not
over trials.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from qcalc.protocols.repeater import segment_split

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Two-sided 99 % quantile of the standard normal distribution, Φ⁻¹(0.995). [unitless]
Z_99 = 2.5758293035489004


class MonteCarloResult(NamedTuple):
    """Sample means of a repeater simulation with normal-approximation 99 % intervals."""

    #: Mean number of attempts until the end-to-end pair exists. [attempts]
    mean_attempts: float
    #: 99 % confidence interval of ``mean_attempts``. [attempts]
    attempts_ci99: tuple[float, float]
    #: Mean Werner fidelity of the delivered pair. [unitless, 0..1]
    mean_fidelity: float
    #: 99 % confidence interval of ``mean_fidelity``. [unitless]
    fidelity_ci99: tuple[float, float]
    #: Number of simulated end-to-end pairs. [count]
    trials: int


@dataclass(frozen=True)
class _Protocol:
    """Parameters of one simulation (validated)."""

    p: float
    a: float
    werner: float  # Werner parameter of a fresh elementary pair
    decay_per_attempt: float  # τ / T_pair
    cutoff: float  # attempts, or inf
    rng: np.random.Generator


def _sample_block(proto: _Protocol, segments: int, n: int) -> tuple[IntArray, FloatArray]:
    """Completion attempt (≥ 1, from the block's start) and Werner parameter of n blocks."""
    if segments == 1:
        times = proto.rng.geometric(proto.p, n).astype(np.int64)
        return times, np.full(n, proto.werner)
    left, right = segment_split(segments)
    done_t = np.empty(n, dtype=np.int64)
    done_w = np.empty(n)
    offset = np.zeros(n, dtype=np.int64)
    active = np.arange(n)
    while active.size:
        k = active.size
        t_l, w_l = _sample_block(proto, left, k)
        t_r, w_r = _sample_block(proto, right, k)
        _apply_cutoff(proto, (left, t_l, w_l), (right, t_r, w_r))
        wait = np.abs(t_l - t_r)
        werner = w_l * w_r * np.exp(-wait * proto.decay_per_attempt)  # swap: w' = w1·w2
        finish = np.maximum(t_l, t_r)
        ok = proto.rng.random(k) < proto.a
        done_t[active[ok]] = offset[active[ok]] + finish[ok]
        done_w[active[ok]] = werner[ok]
        offset[active[~ok]] += finish[~ok]  # failed swap: the block restarts from nothing
        active = active[~ok]
    return done_t, done_w


def _apply_cutoff(
    proto: _Protocol,
    left: tuple[int, IntArray, FloatArray],
    right: tuple[int, IntArray, FloatArray],
) -> None:
    """Discard (in place) a half whose pair waited more than c attempts; it restarts."""
    if np.isinf(proto.cutoff):
        return
    c = int(proto.cutoff)
    (m_l, t_l, w_l), (m_r, t_r, w_r) = left, right
    while True:
        early_l = t_r - t_l > c
        early_r = t_l - t_r > c
        if not (early_l.any() or early_r.any()):
            return
        for mask, segments, times, werner in ((early_l, m_l, t_l, w_l), (early_r, m_r, t_r, w_r)):
            if mask.any():
                again_t, again_w = _sample_block(proto, segments, int(mask.sum()))
                times[mask] += c + again_t  # discarded at age c, regenerated afterwards
                werner[mask] = again_w


def _interval(samples: npt.NDArray[np.floating]) -> tuple[float, tuple[float, float]]:
    """Sample mean and its normal-approximation 99 % confidence interval."""
    mean = float(np.mean(samples))
    half = Z_99 * float(np.std(samples, ddof=1)) / float(np.sqrt(samples.size))
    return mean, (mean - half, mean + half)


def simulate_repeater(
    p: float,
    a: float = 1.0,
    segments: int = 2,
    *,
    link_fidelity: float = 1.0,
    attempt_time_s: float = 1.0,
    pair_coherence_time_s: float = np.inf,
    cutoff_attempts: float = np.inf,
    trials: int = 10_000,
    seed: int = 0,
) -> MonteCarloResult:
    """Monte Carlo estimate of the waiting time and fidelity of a nested repeater chain.

    .. math::
        \\hat K = \\frac1N \\sum_i K_i, \\qquad
        \\hat K \\pm z_{0.995} \\frac{s_K}{\\sqrt N}, \\quad z_{0.995} = 2.576

    and likewise for the delivered fidelity F_i = 1/4 + 3/4 w_i. Each trial draws
    geometric elementary-link times (``numpy.random.Generator.geometric``), swaps the
    halves of each block when both are ready (w' = w1 w2 for Werner pairs, i.e.
    F' = F1F2 + (1 − F1)(1 − F2)/3), repeats the block after a failed swap, decays the
    earlier pair by e^{−D τ / T_pair} while it waits D attempts, and applies the cut-off.

    Parameters
    ----------
    p : float
        Success probability of one elementary-link attempt. [unitless, (0, 1]]
    a : float, optional
        Success probability of each entanglement swap. [unitless, (0, 1]]
    segments : int, optional
        Number of elementary segments. [count, ≥ 1]
    link_fidelity : float, optional
        Werner fidelity of a fresh elementary pair. [unitless, 0..1]
    attempt_time_s : float, optional
        Duration τ of one attempt. [s, ≥ 0]
    pair_coherence_time_s : float, optional
        1/e time of the Werner parameter of a stored pair. [s, > 0, inf allowed]
    cutoff_attempts : float, optional
        Longest wait of a stored pair for its partner. [attempts, whole ≥ 0, or inf]
    trials : int, optional
        Number N of simulated end-to-end pairs. [count, ≥ 2]
    seed : int, optional
        Seed of ``numpy.random.default_rng``. [unitless]

    Returns
    -------
    MonteCarloResult
        Mean attempts [attempts] and mean fidelity [unitless] with 99 % intervals.

    Notes
    -----
    A cut-off far below 1/p makes the simulation slow (many discard rounds).

    References
    ----------
    .. [1] E. Shchukin, F. Schmidt, P. van Loock, Phys. Rev. A 100, 032322 (2019)
       (the protocol simulated).
    .. [2] W. Dür, H.-J. Briegel, Rep. Prog. Phys. 70, 1381 (2007), Sec. 6 (Werner swap).
    """
    if not 0.0 < p <= 1.0:
        raise ValueError(f"p is {p!r}; expected a probability in (0, 1]")
    if not 0.0 < a <= 1.0:
        raise ValueError(f"a is {a!r}; expected a probability in (0, 1]")
    if not 0.0 <= link_fidelity <= 1.0:
        raise ValueError(f"link_fidelity is {link_fidelity!r}; expected a value in [0, 1]")
    if isinstance(segments, bool) or not isinstance(segments, int) or segments < 1:
        raise ValueError(f"segments is {segments!r}; expected an integer ≥ 1")
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 2:
        raise ValueError(f"trials is {trials!r}; expected an integer ≥ 2")
    if not attempt_time_s >= 0.0 or np.isinf(attempt_time_s):
        raise ValueError(f"attempt_time_s is {attempt_time_s!r}; expected a finite time ≥ 0 s")
    if not pair_coherence_time_s > 0.0:
        raise ValueError(f"pair_coherence_time_s is {pair_coherence_time_s!r}; expected > 0 s")
    if not (
        np.isinf(cutoff_attempts)
        or (cutoff_attempts >= 0 and cutoff_attempts == int(cutoff_attempts))
    ):
        raise ValueError(
            f"cutoff_attempts is {cutoff_attempts!r}; expected a whole number ≥ 0 or inf"
        )
    proto = _Protocol(
        p=float(p),
        a=float(a),
        werner=(4.0 * link_fidelity - 1.0) / 3.0,
        decay_per_attempt=float(attempt_time_s) / float(pair_coherence_time_s),
        cutoff=float(cutoff_attempts),
        rng=np.random.default_rng(seed),
    )
    times, werner = _sample_block(proto, segments, trials)
    mean_k, ci_k = _interval(times.astype(float))
    mean_f, ci_f = _interval(0.25 + 0.75 * werner)
    return MonteCarloResult(mean_k, ci_k, mean_f, ci_f, trials)
