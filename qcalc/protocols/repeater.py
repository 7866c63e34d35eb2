"""Waiting times, rates and memory-limited fidelities of nested quantum repeaters.

Model (Shchukin, Schmidt, van Loock 2019, "doubling" scheme)
-------------------------------------------------------------
Time runs in *attempts* of duration τ (the heralding round trip L0/c of one elementary
link, supplied by the caller). In every attempt each elementary segment that holds no
pair tries once and succeeds with probability p, independently. A chain of m segments is
split into two halves (⌊m/2⌋ and ⌈m/2⌉ segments, i.e. the nested doubling scheme for
m = 2^n); as soon as both halves of a block hold a pair, the two pairs are swapped
instantly, with success probability a. A failed swap destroys both pairs and the whole
block starts again from nothing, while other blocks keep what they hold. The expected
number of attempts K until the end-to-end pair exists is the mean absorption time of this
Markov chain. Classical signalling of the swap outcomes is not included in K.

Memories: a stored pair loses Werner parameter w = (4F − 1)/3 as w → w e^{−t/T_pair}
(depolarising memories; for two memories of coherence time T each, T_pair = T/2). A
memory cut-off of c attempts discards a stored pair that has waited more than c attempts
for its partner.
"""

from __future__ import annotations

import functools
from typing import Literal, NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Largest chain solved with the exact Markov chain by default (255 transient states for
#: 8 segments; 16 segments would need 65 535). [segments]
MAX_EXACT_SEGMENTS = 8

#: Smallest link (p) and swap (a) success probabilities the Markov chain is solved at;
#: below them the dense solve loses precision (for 8 segments from a ≈ 1e-5) and the
#: waiting time is scaled by its leading order (see :func:`markov_waiting_time`).
SMALL_LINK_PROBABILITY = 1e-9
SMALL_SWAP_PROBABILITY = 1e-3

#: Batch size (elements × states²) of one batched linear solve, to bound memory. [count]
_SOLVE_BATCH_ELEMENTS = 2_000_000

#: Floor for log(1 − p) so that p = 1 gives q^c = 0 without 0·inf. [unitless]
_LOG_Q_FLOOR = -1000.0

WaitingMethod = Literal["exact-markov", "approx-3/2"]


class WaitingTime(NamedTuple):
    """Expected end-to-end waiting time of a repeater chain and how it was obtained."""

    #: Expected number of attempts until the end-to-end pair exists. [attempts]
    mean_attempts: FloatArray
    #: ``"exact-markov"`` (exact Markov-chain solution) or ``"approx-3/2"``
    #: (Sangouard et al. (3/2)^n approximation).
    method: WaitingMethod


# --------------------------------------------------------------------------- validation


def _probability(name: str, value: npt.ArrayLike) -> FloatArray:
    """``value`` as a float array, checked to be a probability in [0, 1]."""
    array = np.asarray(value, dtype=float)
    bad = np.isnan(array) | (array < 0.0) | (array > 1.0)
    if np.any(bad):
        raise ValueError(f"{name} is {float(array[bad].ravel()[0])!r}; expected a value in [0, 1]")
    return array


def _positive(name: str, value: npt.ArrayLike, unit: str) -> FloatArray:
    """``value`` as a float array, checked to be > 0 (inf allowed)."""
    array = np.asarray(value, dtype=float)
    bad = ~(array > 0.0)
    if np.any(bad):
        raise ValueError(f"{name} is {float(array[bad].ravel()[0])!r}; expected a value > 0 {unit}")
    return array


def _cutoff(value: npt.ArrayLike) -> FloatArray:
    """Memory cut-off as a float array: a whole number of attempts ≥ 0, or inf."""
    array = np.asarray(value, dtype=float)
    finite = np.isfinite(array)
    bad = np.isnan(array) | (array < 0.0) | (finite & (array != np.round(array)))
    if np.any(bad):
        raise ValueError(
            f"cutoff_attempts is {float(array[bad].ravel()[0])!r}; "
            "expected a whole number of attempts ≥ 0 or inf"
        )
    return array


def _segments(value: int) -> int:
    """Number of segments, checked to be an integer ≥ 1."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"segments is {value!r}; expected an integer ≥ 1")
    return int(value)


def _log_q(p: FloatArray) -> FloatArray:
    """log(1 − p), floored so that p = 1 stays finite. [unitless]"""
    with np.errstate(divide="ignore"):
        return np.asarray(np.maximum(np.log1p(-p), _LOG_Q_FLOOR), dtype=float)


# --------------------------------------------------------------------------- two segments


def _two_segment_normaliser(p: FloatArray, log_q: FloatArray, cutoff: FloatArray) -> FloatArray:
    """2 − p − 2 q^{c+1}: p(2 − p − 2q^{c+1}) is the per-attempt chance to reach the swap."""
    with np.errstate(over="ignore"):
        return np.asarray(-p - 2.0 * np.expm1((cutoff + 1.0) * log_q), dtype=float)


def two_segment_waiting_time(
    p: npt.ArrayLike, a: npt.ArrayLike = 1.0, cutoff_attempts: npt.ArrayLike = np.inf
) -> FloatArray:
    """Expected number of attempts for an end-to-end pair over two repeater segments.

    .. math::
        K_2 = \\frac{3 - 2p}{a\\, p\\, (2 - p)} \\quad (c = \\infty), \\qquad
        K_2(c) = \\frac{1 + 2q - 2q^{c+1}}{a\\, p\\, (2 - p - 2q^{c+1})}, \\quad q = 1 - p

    Both segments try in parallel; the first pair waits for the second, then the two are
    swapped (success a). A failed swap restarts both segments. With a memory cut-off of c
    attempts, a pair that has waited c attempts without a partner is discarded (c = 0:
    both pairs must arrive in the same attempt). For c = ∞, (3 − 2p)/(p(2 − p)) is the
    expected maximum of two geometric variables.

    Parameters
    ----------
    p : array_like
        Success probability of one elementary-link attempt. [unitless, 0..1]
    a : array_like, optional
        Success probability of the entanglement swap. [unitless, 0..1]
    cutoff_attempts : array_like, optional
        Memory cut-off c: the longest wait of a stored pair for its partner.
        [attempts, whole number ≥ 0, or inf for no cut-off]

    Returns
    -------
    numpy.ndarray
        Expected number of attempts K2 (multiply by the attempt duration for seconds);
        inf where p = 0 or a = 0. [attempts]

    Notes
    -----
    Exact for the model in the module docstring. The cut-off form follows from the
    Markov chain {no pair, one pair of age 0..c}: from "no pair" the swap is reached at
    once with probability p², one pair is stored with 2pq; a stored pair meets its
    partner within c attempts with probability 1 − q^c, else the chain restarts. It is
    derived here (the model is that of [1] and [3]) and checked against a step-by-step
    propagation of the chain and Monte Carlo in the tests. Evaluated with log1p/expm1,
    so small p keeps its precision: K2 → 3/(2ap) for p → 0.

    References
    ----------
    .. [1] E. Shchukin, F. Schmidt, P. van Loock, "Waiting time in quantum repeaters with
       probabilistic entanglement swapping", Phys. Rev. A 100, 032322 (2019) (K2 for
       two segments; finite memories).
    .. [2] N. Sangouard, C. Simon, H. de Riedmatten, N. Gisin, "Quantum repeaters based on
       atomic ensembles and linear optics", Rev. Mod. Phys. 83, 33 (2011), Sec. III.B
       (K2 ≈ 3/(2 p a) for small p).
    .. [3] L. Kamin, E. Shchukin, F. Schmidt, P. van Loock, "Exact rate analysis for
       quantum repeaters with imperfect memories and entanglement swapping as soon as
       possible", Phys. Rev. Research 5, 023086 (2023) (memory cut-offs).
    """
    p_arr = _probability("p", p)
    a_arr = _probability("a", a)
    c = _cutoff(cutoff_attempts)
    p_arr, a_arr, c = np.broadcast_arrays(p_arr, a_arr, c)
    dead = (p_arr == 0.0) | (a_arr == 0.0)
    p_ok = np.where(dead, 0.5, p_arr)
    a_ok = np.where(dead, 1.0, a_arr)
    log_q = _log_q(p_ok)
    q = 1.0 - p_ok
    with np.errstate(over="ignore"):
        numerator = 1.0 - 2.0 * q * np.expm1(c * log_q)  # 1 + 2q(1 − q^c)
    with np.errstate(divide="ignore", over="ignore", under="ignore"):
        # K2 of [1] for c = ∞; cut-off: renewal over the chain {empty, one pair of age 0..c}
        k = numerator / (a_ok * p_ok * _two_segment_normaliser(p_ok, log_q, c))
    return np.asarray(np.where(dead, np.inf, k), dtype=float)


def two_segment_memory_wait(p: npt.ArrayLike) -> FloatArray:
    """Expected number of attempts the first pair waits for the second, E|N1 − N2|.

    .. math:: \\mathbb{E}|N_1 - N_2| = \\frac{2(1 - p)}{p\\,(2 - p)}

    N1, N2 are the independent geometric numbers of attempts of the two segments (no
    cut-off). The swap outcome is independent of N1, N2, so this is also the mean storage
    time of the pair that is finally swapped.

    Parameters
    ----------
    p : array_like
        Success probability of one elementary-link attempt. [unitless, 0..1]

    Returns
    -------
    numpy.ndarray
        Mean wait of the earlier pair; inf where p = 0. [attempts]

    Notes
    -----
    P(D = 0) = p/(2 − p) and P(D = d) = 2 p q^d/(2 − p) for d ≥ 1 (sum over N1 of
    p² q^{2N1 + d − 2}), whose mean is the expression above.

    References
    ----------
    .. [1] E. Shchukin, F. Schmidt, P. van Loock, Phys. Rev. A 100, 032322 (2019)
       (two-segment model with independent geometric generation times).
    .. [2] L. Kamin, E. Shchukin, F. Schmidt, P. van Loock, Phys. Rev. Research 5, 023086
       (2023) (memory dephasing during the wait of the earlier pair).
    """
    p_arr = _probability("p", p)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        wait = 2.0 * (1.0 - p_arr) / (p_arr * (2.0 - p_arr))  # mean of D, see Notes
    return np.asarray(np.where(p_arr == 0.0, np.inf, wait), dtype=float)


def two_segment_decoherence_factor(
    p: npt.ArrayLike,
    attempt_time_s: npt.ArrayLike,
    pair_coherence_time_s: npt.ArrayLike,
    cutoff_attempts: npt.ArrayLike = np.inf,
) -> FloatArray:
    """Mean surviving Werner parameter of the earlier pair, E[exp(−D τ / T_pair)].

    .. math::
        \\mathbb{E}[x^D] = \\frac{p\\left(1 + 2 \\sum_{d=1}^{c} (q x)^d\\right)}
                               {2 - p - 2 q^{c+1}}
        \\;\\xrightarrow{c = \\infty}\\; \\frac{p\\,(1 + q x)}{(2 - p)(1 - q x)},
        \\qquad x = e^{-\\tau / T_\\mathrm{pair}}

    D = |N1 − N2| is the number of attempts the first pair waits for the second;
    P(D = 0) ∝ p, P(D = d) ∝ 2 p q^d for 1 ≤ d ≤ c. The sum is evaluated as
    y(1 − y^c)/(1 − y) with expm1, y = q x.

    Parameters
    ----------
    p : array_like
        Success probability of one elementary-link attempt. [unitless, 0..1]
    attempt_time_s : array_like
        Duration τ of one attempt. [s, ≥ 0]
    pair_coherence_time_s : array_like
        1/e time T_pair of the Werner parameter of a stored pair (T/2 for two memories of
        coherence time T). [s, > 0, inf for perfect memories]
    cutoff_attempts : array_like, optional
        Memory cut-off c. [attempts, whole number ≥ 0, or inf]

    Returns
    -------
    numpy.ndarray
        E[x^D]; for p = 0 the limit p → 0 (uniform D in −c..c; 0 for c = ∞ unless
        τ/T = 0). [unitless, 0..1]

    Notes
    -----
    Probability generating function of D, derived here from the chain of
    :func:`two_segment_waiting_time`; the model (depolarising storage of the earlier pair
    for D attempts) is that of [2].

    References
    ----------
    .. [1] E. Shchukin, F. Schmidt, P. van Loock, Phys. Rev. A 100, 032322 (2019).
    .. [2] L. Kamin, E. Shchukin, F. Schmidt, P. van Loock, Phys. Rev. Research 5, 023086
       (2023).
    """
    p_arr = _probability("p", p)
    tau = np.asarray(attempt_time_s, dtype=float)
    if np.any(~(tau >= 0.0)):
        raise ValueError(f"attempt_time_s is {float(np.ravel(tau)[0])!r}; expected a time ≥ 0 s")
    t_pair = _positive("pair_coherence_time_s", pair_coherence_time_s, "s")
    c = _cutoff(cutoff_attempts)
    p_arr, tau, t_pair, c = np.broadcast_arrays(p_arr, tau, t_pair, c)
    decay_rate = np.where(np.isinf(tau) & np.isinf(t_pair), np.inf, tau / t_pair)
    # λ = −log y with y = q·x; p = 0 takes the limit p → 0 below.
    zero = p_arr == 0.0
    p_ok = np.where(zero, 0.5, p_arr)
    log_q = _log_q(p_ok)
    lam = -np.where(zero, 0.0, log_q) + decay_rate
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        geometric = np.where(lam > 0.0, np.expm1(-c * lam) / np.expm1(-lam), c)
        tail = np.exp(-lam) * geometric  # Σ_{d=1}^{c} y^d
        # generating function E[x^D] of the distribution of D, see Notes
        general = p_ok * (1.0 + 2.0 * tail) / _two_segment_normaliser(p_ok, log_q, c)
        limit = np.where(
            np.isinf(c), np.where(lam > 0.0, 0.0, 1.0), (1.0 + 2.0 * tail) / (2.0 * c + 1.0)
        )
    return np.asarray(np.clip(np.where(zero, limit, general), 0.0, 1.0), dtype=float)


def two_segment_fidelity(
    link_fidelity: npt.ArrayLike,
    p: npt.ArrayLike,
    attempt_time_s: npt.ArrayLike,
    pair_coherence_time_s: npt.ArrayLike,
    cutoff_attempts: npt.ArrayLike = np.inf,
) -> FloatArray:
    """Mean fidelity of the end-to-end pair of a two-segment repeater with memory decay.

    .. math::
        \\bar F = F_0 F_1 + \\frac{(1 - F_0)(1 - F_1)}{3}, \\qquad
        F_1 = \\frac14 + \\left(F_0 - \\frac14\\right) \\mathbb{E}\\left[e^{-D\\tau/T_\\mathrm{pair}}\\right]

    The earlier pair depolarises while it waits D attempts; the Werner swap is linear in
    each input fidelity, so averaging the decayed fidelity over D (from
    :func:`two_segment_decoherence_factor`) gives the exact mean. Swap failures do not
    change the distribution of D of the pair that is delivered.

    Parameters
    ----------
    link_fidelity : array_like
        Werner fidelity F0 of a fresh elementary pair. [unitless, 0..1]
    p : array_like
        Success probability of one elementary-link attempt. [unitless, 0..1]
    attempt_time_s : array_like
        Duration τ of one attempt. [s, ≥ 0]
    pair_coherence_time_s : array_like
        1/e time of the Werner parameter of a stored pair. [s, > 0, inf allowed]
    cutoff_attempts : array_like, optional
        Memory cut-off c. [attempts, whole number ≥ 0, or inf]

    Returns
    -------
    numpy.ndarray
        Mean Werner fidelity of the delivered pair. [unitless, 0..1]

    References
    ----------
    .. [1] W. Dür, H.-J. Briegel, "Entanglement purification and quantum error
       correction", Rep. Prog. Phys. 70, 1381 (2007), Sec. 6 (Werner swap).
    .. [2] E. Shchukin, F. Schmidt, P. van Loock, Phys. Rev. A 100, 032322 (2019)
       (waiting-time distribution).
    """
    from qcalc.protocols.entanglement import (
        fidelity_from_werner_parameter,
        swap_werner_fidelity,
        werner_parameter,
    )

    f0 = _probability("link_fidelity", link_fidelity)
    factor = two_segment_decoherence_factor(
        p, attempt_time_s, pair_coherence_time_s, cutoff_attempts
    )
    stored = fidelity_from_werner_parameter(werner_parameter(f0) * factor)  # depolarised
    return np.asarray(np.clip(swap_werner_fidelity(f0, stored), 0.0, 1.0), dtype=float)


# --------------------------------------------------------------------------- Markov chain
# A block of m segments is either FULL (it holds its end-to-end pair) or the pair
# (state of its left half, state of its right half), not both FULL. A single segment is
# EMPTY or FULL. Transition probabilities are polynomials in p, q = 1 − p, a and 1 − a,
# stored as {(i, j, k, l): count} for count · p^i q^j a^k (1 − a)^l.

_State: TypeAlias = "int | tuple[_State, _State]"
_Monomial: TypeAlias = tuple[int, int, int, int]
_Poly: TypeAlias = dict[_Monomial, int]

_EMPTY = 0
_FULL = 1


def segment_split(segments: int) -> tuple[int, int]:
    """Segments of the left and right half of a block: (⌊m/2⌋, ⌈m/2⌉).

    For m = 2^n this is the nested doubling scheme. Shared with
    :mod:`qcalc.protocols.montecarlo` so that both simulate the same tree.

    Parameters
    ----------
    segments : int
        Number of segments m of the block. [count, ≥ 2]

    Returns
    -------
    tuple of int
        Segments of the left and the right half. [count]
    """
    left = segments // 2
    return left, segments - left


@functools.cache
def _empty_state(segments: int) -> _State:
    """State of a block that holds nothing."""
    if segments == 1:
        return _EMPTY
    left, right = segment_split(segments)
    return (_empty_state(left), _empty_state(right))


@functools.cache
def _block_states(segments: int) -> tuple[_State, ...]:
    """All states of a block of ``segments`` segments (FULL first)."""
    if segments == 1:
        return (_FULL, _EMPTY)
    left, right = segment_split(segments)
    pairs = [
        (sl, sr)
        for sl in _block_states(left)
        for sr in _block_states(right)
        if not (sl == _FULL and sr == _FULL)
    ]
    return (_FULL, *pairs)


def _poly_product(first: _Poly, second: _Poly) -> _Poly:
    """Product of two polynomials in (p, q, a, 1 − a)."""
    out: _Poly = {}
    for m1, c1 in first.items():
        for m2, c2 in second.items():
            key = (m1[0] + m2[0], m1[1] + m2[1], m1[2] + m2[2], m1[3] + m2[3])
            out[key] = out.get(key, 0) + c1 * c2
    return out


def _accumulate(target: dict[_State, _Poly], state: _State, poly: _Poly) -> None:
    """target[state] += poly."""
    bucket = target.setdefault(state, {})
    for mono, count in poly.items():
        bucket[mono] = bucket.get(mono, 0) + count


@functools.cache
def _step(
    state: _State, segments: int
) -> tuple[tuple[_State, tuple[tuple[_Monomial, int], ...]], ...]:
    """One attempt from ``state``: the reachable states with their probability polynomials."""
    if state == _FULL:
        return ((_FULL, (((0, 0, 0, 0), 1),)),)
    if segments == 1:
        return ((_FULL, (((1, 0, 0, 0), 1),)), (_EMPTY, (((0, 1, 0, 0), 1),)))
    assert isinstance(state, tuple)
    left, right = segment_split(segments)
    out: dict[_State, _Poly] = {}
    for sl, poly_l in _step(state[0], left):
        for sr, poly_r in _step(state[1], right):
            poly = _poly_product(dict(poly_l), dict(poly_r))
            if sl == _FULL and sr == _FULL:  # swap at once: success a, failure restarts
                _accumulate(out, _FULL, _poly_product(poly, {(0, 0, 1, 0): 1}))
                _accumulate(out, _empty_state(segments), _poly_product(poly, {(0, 0, 0, 1): 1}))
            else:
                _accumulate(out, (sl, sr), poly)
    return tuple((s, tuple(sorted(poly.items()))) for s, poly in out.items())


class _Chain(NamedTuple):
    """Sparse transition structure of the transient states of one chain."""

    size: int  # number of transient states
    start: int  # index of the all-empty state
    rows: npt.NDArray[np.intp]  # transition from state rows[k] ...
    cols: npt.NDArray[np.intp]  # ... to state cols[k]; −1 means absorbed (FULL)
    exponents: npt.NDArray[np.int64]  # (terms, 4) exponents of p, q, a, 1 − a
    counts: FloatArray  # integer coefficient of each term


@functools.cache
def _chain(segments: int) -> _Chain:
    """Transition terms of the chain of ``segments`` segments (cached)."""
    transient = [s for s in _block_states(segments) if s != _FULL]
    index = {s: i for i, s in enumerate(transient)}
    rows: list[int] = []
    cols: list[int] = []
    exponents: list[_Monomial] = []
    counts: list[int] = []
    for state in transient:
        for target, poly in _step(state, segments):
            col = -1 if target == _FULL else index[target]
            if col == index[state]:
                continue  # the diagonal is 1 − (row sum of the others), see _solve_chain
            for mono, count in poly:
                rows.append(index[state])
                cols.append(col)
                exponents.append(mono)
                counts.append(count)
    return _Chain(
        size=len(transient),
        start=index[_empty_state(segments)],
        rows=np.asarray(rows, dtype=np.intp),
        cols=np.asarray(cols, dtype=np.intp),
        exponents=np.asarray(exponents, dtype=np.int64).reshape(-1, 4),
        counts=np.asarray(counts, dtype=float),
    )


def _solve_chain(chain: _Chain, p: FloatArray, a: FloatArray) -> FloatArray:
    """Mean absorption time from the empty state for 1-d arrays p, a (all in (0, 1])."""
    # Term values, shape (terms, n): count · p^i q^j a^k (1 − a)^l.
    e = chain.exponents[:, :, None]
    bases = np.stack([p, 1.0 - p, a, 1.0 - a])[None, :, :]
    with np.errstate(under="ignore"):
        values = chain.counts[:, None] * np.prod(bases**e, axis=1)
    n = p.size
    size = chain.size
    off = chain.cols >= 0
    flat = np.zeros((size * size, n))  # entry (i, j) of every matrix at row i·size + j
    # (I − Q): off-diagonal −Q_ij; diagonal = Σ_{j≠i} Q_ij + P(absorb | i), which equals
    # 1 − Q_ii exactly but without the cancellation of 1 − (1 − O(p)).
    np.add.at(flat, chain.rows[off] * size + chain.cols[off], -values[off])
    np.add.at(flat, chain.rows * (size + 1), values)
    matrix = flat.T.reshape(n, size, size)
    rhs = np.ones((n, size, 1))
    return np.asarray(np.linalg.solve(matrix, rhs)[:, chain.start, 0], dtype=float)


def markov_waiting_time(p: npt.ArrayLike, a: npt.ArrayLike = 1.0, segments: int = 2) -> FloatArray:
    """Exact expected number of attempts of a nested repeater chain (Markov chain).

    .. math:: \\mathbf{K} = (I - Q)^{-1} \\mathbf{1}, \\qquad K = K_{\\varnothing}

    Q is the transition matrix among the transient states of the chain described in the
    module docstring (parallel generation, swap as soon as both halves of a block are
    ready, a failed swap restarts that block); K is the entry of the all-empty state.
    For ``segments`` = 2^n this is the doubling scheme of [1]; otherwise each block is
    split into ⌊m/2⌋ and ⌈m/2⌉ segments.

    Parameters
    ----------
    p : array_like
        Success probability of one elementary-link attempt. [unitless, 0..1]
    a : array_like, optional
        Success probability of each entanglement swap. [unitless, 0..1]
    segments : int, optional
        Number of elementary segments m. [count, 1..MAX_EXACT_SEGMENTS]

    Returns
    -------
    numpy.ndarray
        Expected number of attempts; inf where p = 0, or a = 0 with m ≥ 2. [attempts]

    Notes
    -----
    The chain has 1, 3, 7, 15, 31, 63, 127, 255 transient states for m = 1..8; p and a
    are solved as one batched dense system. Accurate down to p ≈ 1e-150 (below, p² of
    a simultaneous success underflows). For m = 4 this reproduces Eq. (64) of [1];
    for a = 1, the expected maximum of m geometric variables.

    References
    ----------
    .. [1] E. Shchukin, F. Schmidt, P. van Loock, "Waiting time in quantum repeaters with
       probabilistic entanglement swapping", Phys. Rev. A 100, 032322 (2019), Sec. III
       (Markov-chain algorithm), Eq. (64) in arXiv:1710.06214 (four segments).
    """
    m = _segments(segments)
    if m > MAX_EXACT_SEGMENTS:
        raise ValueError(
            f"segments is {m}; the exact Markov chain is limited to {MAX_EXACT_SEGMENTS}"
        )
    p_arr = _probability("p", p)
    a_arr = _probability("a", a)
    p_arr, a_arr = np.broadcast_arrays(p_arr, a_arr)
    dead = (p_arr == 0.0) | ((a_arr == 0.0) & (m > 1))
    # Below the floors the dense solve loses precision; K then follows its leading-order
    # scaling, K ∝ 1/p (every level waits on link generation) and K ∝ a^−depth (each
    # swap level retries 1/a times; K p a^depth → (3/2)^depth, Sangouard et al. 2011),
    # solved at the floor and scaled in log space. Relative error O(floor).
    p_solve = np.maximum(np.where(dead, 0.5, p_arr), SMALL_LINK_PROBABILITY)
    a_solve = np.maximum(np.where(dead, 1.0, a_arr), SMALL_SWAP_PROBABILITY)
    p_flat, a_flat = p_solve.ravel(), a_solve.ravel()
    chain = _chain(m)
    batch = max(1, _SOLVE_BATCH_ELEMENTS // (chain.size * chain.size))
    out = np.empty(p_flat.size)
    for start in range(0, p_flat.size, batch):
        sl = slice(start, start + batch)
        out[sl] = _solve_chain(chain, p_flat[sl], a_flat[sl])  # Sec. III of [1]
    depth = int(np.ceil(np.log2(m))) if m > 1 else 0
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log_k = (
            np.log(out.reshape(p_arr.shape)) + np.log(p_solve) - np.log(np.where(dead, 1.0, p_arr))
        )
        if depth:
            log_k = log_k + depth * (np.log(a_solve) - np.log(np.where(dead, 1.0, a_arr)))
        k = np.exp(log_k)
    return np.asarray(np.where(dead, np.inf, k), dtype=float)


def approx_waiting_time(p: npt.ArrayLike, a: npt.ArrayLike = 1.0, segments: int = 2) -> FloatArray:
    """Sangouard et al. (3/2)^n approximation of the nested repeater waiting time.

    .. math:: K \\approx \\left(\\frac32\\right)^n \\frac{1}{p\\, a^n}, \\qquad
        n = \\lceil \\log_2 m \\rceil

    Each nesting level multiplies the time by 3/2 (the mean of the maximum of two
    exponential waits, small-p limit) and by 1/a (swap repeats). Exact for m = 1, and for
    m = 2 in the limit p → 0; otherwise an over-estimate for the doubling scheme (for
    a = 1 and p → 0 the exact factor is the harmonic number H_{2^n}, not (3/2)^n). A chain
    whose m is not a power of two is counted as 2^n segments.

    Parameters
    ----------
    p : array_like
        Success probability of one elementary-link attempt. [unitless, 0..1]
    a : array_like, optional
        Success probability of each entanglement swap. [unitless, 0..1]
    segments : int, optional
        Number of elementary segments m. [count, ≥ 1]

    Returns
    -------
    numpy.ndarray
        Approximate expected number of attempts; inf where p = 0 or (a = 0, m ≥ 2).
        [attempts]

    References
    ----------
    .. [1] N. Sangouard, C. Simon, H. de Riedmatten, N. Gisin, "Quantum repeaters based on
       atomic ensembles and linear optics", Rev. Mod. Phys. 83, 33 (2011), Sec. III.B,
       T_tot = (3/2)^n L0 / (c P0 P1 ⋯ Pn) with P1 = ⋯ = Pn = a.
    """
    m = _segments(segments)
    levels = int(np.ceil(np.log2(m))) if m > 1 else 0
    p_arr = _probability("p", p)
    a_arr = _probability("a", a)
    with np.errstate(divide="ignore", over="ignore"):
        k = 1.5**levels / (p_arr * a_arr**levels)  # Sec. III.B of [1]
    return np.asarray(k, dtype=float)


def nested_waiting_time(
    p: npt.ArrayLike,
    a: npt.ArrayLike = 1.0,
    segments: int = 2,
    max_exact_segments: int = MAX_EXACT_SEGMENTS,
) -> WaitingTime:
    """Expected waiting time of a nested repeater chain, exact where feasible.

    .. math::
        K = \\begin{cases}
            (I - Q)^{-1}\\mathbf 1 \\big|_\\varnothing & m \\le m_\\mathrm{exact} \\\\
            (3/2)^n / (p\\, a^n) & \\text{otherwise}
        \\end{cases}

    Uses :func:`two_segment_waiting_time` (m ≤ 2, closed form of the same chain) or
    :func:`markov_waiting_time` for m ≤ ``max_exact_segments``, else
    :func:`approx_waiting_time`; ``method`` says which.

    Parameters
    ----------
    p : array_like
        Success probability of one elementary-link attempt. [unitless, 0..1]
    a : array_like, optional
        Success probability of each entanglement swap. [unitless, 0..1]
    segments : int, optional
        Number of elementary segments m (hops of the path). [count, ≥ 1]
    max_exact_segments : int, optional
        Largest m solved exactly. [count, 1..MAX_EXACT_SEGMENTS]

    Returns
    -------
    WaitingTime
        ``mean_attempts`` [attempts] (inf where no pair can be made) and ``method``
        (``"exact-markov"`` or ``"approx-3/2"``).

    References
    ----------
    .. [1] E. Shchukin, F. Schmidt, P. van Loock, Phys. Rev. A 100, 032322 (2019).
    .. [2] N. Sangouard et al., Rev. Mod. Phys. 83, 33 (2011), Sec. III.B.
    """
    m = _segments(segments)
    limit = _segments(max_exact_segments)
    if limit > MAX_EXACT_SEGMENTS:
        raise ValueError(f"max_exact_segments is {limit}; expected at most {MAX_EXACT_SEGMENTS}")
    if m > limit:
        return WaitingTime(approx_waiting_time(p, a, m), "approx-3/2")
    if m == 2:
        return WaitingTime(two_segment_waiting_time(p, a), "exact-markov")
    return WaitingTime(markov_waiting_time(p, a, m), "exact-markov")


def repeater_rate_hz(
    p: npt.ArrayLike,
    attempt_time_s: npt.ArrayLike,
    a: npt.ArrayLike = 1.0,
    segments: int = 2,
    max_exact_segments: int = MAX_EXACT_SEGMENTS,
) -> FloatArray:
    """End-to-end pair rate of a nested repeater chain.

    .. math:: R = \\frac{1}{K\\, \\tau}

    K from :func:`nested_waiting_time`; τ is the duration of one elementary attempt
    (typically the heralding round trip L0/c of one segment plus local preparation).

    Parameters
    ----------
    p : array_like
        Success probability of one elementary-link attempt. [unitless, 0..1]
    attempt_time_s : array_like
        Duration τ of one attempt. [s, > 0]
    a : array_like, optional
        Success probability of each entanglement swap. [unitless, 0..1]
    segments : int, optional
        Number of elementary segments. [count, ≥ 1]
    max_exact_segments : int, optional
        Largest chain solved exactly. [count, 1..MAX_EXACT_SEGMENTS]

    Returns
    -------
    numpy.ndarray
        End-to-end pairs per second; exactly 0 where p = 0 or a = 0. [Hz]

    References
    ----------
    .. [1] N. Sangouard et al., Rev. Mod. Phys. 83, 33 (2011), Sec. III.B (rate as the
       inverse of the mean distribution time).
    .. [2] E. Shchukin, F. Schmidt, P. van Loock, Phys. Rev. A 100, 032322 (2019).
    """
    tau = _positive("attempt_time_s", attempt_time_s, "s")
    k = nested_waiting_time(p, a, segments, max_exact_segments).mean_attempts
    with np.errstate(divide="ignore", over="ignore"):
        rate = 1.0 / (k * tau)  # [1]
    return np.asarray(np.where(np.isfinite(rate), rate, 0.0), dtype=float)
