"""Seeded Monte Carlo of nested repeater chains, a cross-check of :mod:`.chain` and :mod:`.repeater`.

Simulates exactly the protocol of :mod:`qcalc.protocols.chain`: elementary segment i
succeeds after a geometric number of attempts (p_i), a block of m segments is split into
⌊m/2⌋ and ⌈m/2⌉ (the doubling scheme for m = 2^n), the two halves are swapped as soon as
both are ready (success a_j at the junction j where they meet; a failure restarts the
block from nothing), and the earlier pair decays while it waits, at the sum of the decay
rates of the two memories at its ends. Memory cut-off (the convention of Li, Coopmans,
Elkouss, IEEE Trans. Quantum Eng. 2, 4100815 (2021)): when the earlier pair's wait would
exceed c attempts, it is discarded at age c and the *whole block* restarts from nothing at
min(T_L, T_R) + c (for two segments the same as regenerating the discarded segment only).
States are Bell-diagonal, tracked through their Walsh components (η₁, η₂, η₃) (see
:mod:`.chain`): a swap multiplies them (and by 1 − ε for a swap gate of depolarising error
ε), depolarising storage multiplies all three by e^{−rt}, dephasing only η₁, η₂. All N
trials run at once as numpy arrays; the loops run over swap rounds, not over trials.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from qcalc.protocols.repeater import segment_split
from qcalc.records import record

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
    #: Mean fidelity (with Φ+) of the delivered pair. [unitless, 0..1]
    mean_fidelity: float
    #: 99 % confidence interval of ``mean_fidelity``. [unitless]
    fidelity_ci99: tuple[float, float]
    #: Number of simulated end-to-end pairs. [count]
    trials: int


@record(frozen=True)
class _Protocol:
    """Parameters of one simulation (validated)."""

    p: FloatArray  # per segment (m,)
    eta: FloatArray  # Walsh components (η₁, η₂, η₃) of fresh pairs (m, 3)
    a: FloatArray  # per junction (m − 1,)
    gate: FloatArray  # swap-gate factor 1 − ε per junction (m − 1,)
    rate: FloatArray  # decay rate per attempt of each node (m + 1,)
    decaying: FloatArray  # 1 where a Walsh component decays, 0 where not (3,)
    cutoff: float  # attempts, or inf
    rng: np.random.Generator


def _sample_block(proto: _Protocol, lo: int, hi: int, n: int) -> tuple[IntArray, FloatArray]:
    """Completion attempt (≥ 1, from the block's start) and (η₁, η₂, η₃) of n blocks."""
    if hi - lo == 1:
        times = proto.rng.geometric(proto.p[lo], n).astype(np.int64)
        return times, np.tile(proto.eta[lo], (n, 1))
    left, _ = segment_split(hi - lo)
    mid = lo + left
    junction = mid - 1
    rate_l = proto.rate[lo] + proto.rate[mid]  # the left pair sits in nodes lo and mid
    rate_r = proto.rate[mid] + proto.rate[hi]
    done_t = np.empty(n, dtype=np.int64)
    done_eta = np.empty((n, 3))
    offset = np.zeros(n, dtype=np.int64)
    active = np.arange(n)
    while active.size:
        k = active.size
        t_l, e_l = _sample_block(proto, lo, mid, k)
        t_r, e_r = _sample_block(proto, mid, hi, k)
        wait = np.abs(t_l - t_r)
        cut = wait > proto.cutoff
        if cut.any():  # Li et al. 2021: discarded at age c, the block restarts from nothing
            offset[active[cut]] += np.minimum(t_l, t_r)[cut] + int(proto.cutoff)
        rate = np.where(t_l < t_r, rate_l, rate_r)  # the earlier pair waits
        decay = np.exp(-wait * rate)[:, None] ** proto.decaying[None, :]
        eta = proto.gate[junction] * e_l * e_r * decay  # swap: Walsh components multiply
        swapped = ~cut & (proto.rng.random(k) < proto.a[junction])
        finish = np.maximum(t_l, t_r)
        done_t[active[swapped]] = offset[active[swapped]] + finish[swapped]
        done_eta[active[swapped]] = eta[swapped]
        failed = ~cut & ~swapped
        offset[active[failed]] += finish[failed]  # failed swap: the block restarts
        active = active[~swapped]
    return done_t, done_eta


def _interval(samples: npt.NDArray[np.floating]) -> tuple[float, tuple[float, float]]:
    """Sample mean and its normal-approximation 99 % confidence interval."""
    mean = float(np.mean(samples))
    half = Z_99 * float(np.std(samples, ddof=1)) / float(np.sqrt(samples.size))
    return mean, (mean - half, mean + half)


def simulate_chain(
    success_probability: npt.ArrayLike,
    segments: int | None = None,
    *,
    link_fidelity: npt.ArrayLike | None = None,
    link_weights: npt.ArrayLike | None = None,
    swap_probability: npt.ArrayLike = 1.0,
    swap_gate_factor: npt.ArrayLike = 1.0,
    node_decay_rate_per_attempt: npt.ArrayLike = 0.0,
    noise: str = "depolarising",
    cutoff_attempts: float = np.inf,
    trials: int = 10_000,
    seed: int = 0,
) -> MonteCarloResult:
    """Monte Carlo estimate of the delivery time and fidelity of a nested repeater chain.

    .. math::
        \\hat K = \\frac1N \\sum_i K_i, \\qquad
        \\hat K \\pm z_{0.995} \\frac{s_K}{\\sqrt N}, \\quad z_{0.995} = 2.576

    and likewise for the delivered fidelity F_i = (1 + η₁ + η₂ + η₃)/4. The protocol and
    all arguments are those of :func:`qcalc.protocols.chain.chain_statistics` (same
    conventions, same units), so the two can be compared directly.

    Parameters
    ----------
    success_probability : array_like
        p_i per attempt, scalar or length m. [unitless, (0, 1]]
    segments : int, optional
        Number of segments m (from ``success_probability`` when it is a list). [count]
    link_fidelity : array_like, optional
        Werner fidelity of fresh pairs (scalar or length m; default 1). [unitless]
    link_weights : array_like, optional
        Bell-diagonal weights of fresh pairs, (4,) or (m, 4). [unitless, sum 1]
    swap_probability : array_like, optional
        a_j per junction, scalar or length m − 1. [unitless, (0, 1]]
    swap_gate_factor : array_like, optional
        1 − ε per junction. [unitless, 0..1]
    node_decay_rate_per_attempt : array_like, optional
        Memory decay rate of each node, scalar or length m + 1. [1/attempt, ≥ 0]
    noise : {"depolarising", "dephasing"}, optional
        Memory noise model.
    cutoff_attempts : float, optional
        Memory cut-off c. [attempts, whole ≥ 0, or inf]
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
    A cut-off far below the halves' waiting times makes the simulation slow (many
    restarts).

    References
    ----------
    .. [1] B. Li, T. Coopmans, D. Elkouss, IEEE Trans. Quantum Eng. 2, 4100815 (2021)
       (protocol with memory cut-off).
    .. [2] E. Shchukin, F. Schmidt, P. van Loock, Phys. Rev. A 100, 032322 (2019).
    .. [3] W. Dür, H.-J. Briegel, Rep. Prog. Phys. 70, 1381 (2007), Sec. 6.
    """
    from qcalc.protocols.chain import validated_chain

    chain = validated_chain(
        success_probability,
        segments,
        link_fidelity=link_fidelity,
        link_weights=link_weights,
        swap_probability=swap_probability,
        swap_gate_factor=swap_gate_factor,
        node_decay_rate_per_attempt=node_decay_rate_per_attempt,
        noise=noise,
        cutoff_attempts=cutoff_attempts,
    )
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 2:
        raise ValueError(f"trials is {trials!r}; expected an integer ≥ 2")
    m = len(chain.p)
    proto = _Protocol(
        p=chain.p,
        eta=np.asarray(chain.links[:, 1:], dtype=float),
        a=chain.a,
        gate=chain.gate,
        rate=chain.rate,
        decaying=np.asarray(chain.decaying[1:], dtype=float),
        cutoff=float(chain.cutoff),
        rng=np.random.default_rng(seed),
    )
    times, eta = _sample_block(proto, 0, m, trials)
    mean_k, ci_k = _interval(times.astype(float))
    mean_f, ci_f = _interval(0.25 * (1.0 + eta.sum(axis=1)))
    return MonteCarloResult(mean_k, ci_k, mean_f, ci_f, trials)


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
    earlier pair by e^{−D τ / T_pair} while it waits D attempts, and applies the cut-off
    (Li et al. 2021: the whole block restarts, see the module docstring). Equal segments
    and swaps, depolarising memories; :func:`simulate_chain` is the general form.

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
    A cut-off far below 1/p makes the simulation slow (many restarts).

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
    times_decay = float(attempt_time_s) / float(pair_coherence_time_s)
    return simulate_chain(
        p,
        segments,
        link_fidelity=link_fidelity,
        swap_probability=a,
        node_decay_rate_per_attempt=times_decay / 2.0,  # two memories, T_pair = T/2
        cutoff_attempts=cutoff_attempts,
        trials=trials,
        seed=seed,
    )
