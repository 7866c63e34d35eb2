"""Numerics the relay protocols need, in numpy alone (no scipy on the paths of `qcalc rate`).

- :func:`bessel_i0e` and :func:`bessel_i0_minus_one`: the modified Bessel function of
  the first kind of order zero, I0, scaled as e^{−z} I0(z) and less one, from its power
  series below :data:`SERIES_BELOW` and its asymptotic series above; 1e-15 relative
  accuracy (tests/test_numerics.py compares with scipy.special to 1e-12).
- :func:`normal_quantile` (AS241) and :func:`normal_cdf`: the standard normal law of
  uncertain inputs, for their draws.
- :func:`distinct`: the sorted distinct values of an array, as ``numpy.unique`` gives
  them, without the import of ``numpy.ma`` that ``numpy.unique`` makes at its first call
  (10–20 ms of a command's start-up).
- :func:`maximise_on_grid`: a bounded maximiser of a rate over a few parameters — a
  vectorised grid, then a compass search whose every step evaluates all its trial points
  in one array call (golden-section style shrinking of the step, down to a tolerance).

References
----------
.. [1] F. W. J. Olver et al., *NIST Digital Library of Mathematical Functions*,
   https://dlmf.nist.gov/, Eq. 10.25.2 (power series of I_ν) and Eq. 10.40.1
   (asymptotic expansion of I_ν for large argument), release 1.2.1 (2024).
.. [2] T. G. Kolda, R. M. Lewis, V. Torczon, "Optimization by direct search: new
   perspectives on some classical and modern methods", SIAM Rev. 45, 385 (2003),
   Sec. 3 (compass search).
.. [3] A. R. Conn, K. Scheinberg, L. N. Vicente, *Introduction to Derivative-Free
   Optimization*, SIAM (2009): quadratic models from sampled points, and the search
   step a directional direct search may take before it polls.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Arguments below this use the power series (≤ 45 terms reach 1e-17 of the sum; it
#: stops at the first term below 1e-17 of the sum, after which each is smaller still);
#: above it the asymptotic series, whose smallest term there is ~e^{−2z} ≈ 4e-18. [unitless]
SERIES_BELOW = 20.0
_SERIES_TERMS = 45
_ASYMPTOTIC_TERMS = 30


def _i0_series_less_one(z: FloatArray) -> FloatArray:
    """Σ_{k≥1} (z²/4)^k / (k!)², I0(z) − 1 by Eq. 10.25.2 of [1] (all terms positive)."""
    quarter = z * z / 4
    term = np.ones_like(z)
    total = np.zeros_like(z)
    for k in range(1, _SERIES_TERMS + 1):
        term = term * quarter / (k * k)
        total = total + term
        if k > 2 and not np.any(term > 1e-17 * total):  # the rest adds < 1e-17 (ratio ≤ z²/4k²)
            break
    return total


def _i0e_asymptotic(z: FloatArray) -> FloatArray:
    """e^{−z} I0(z) ≈ (2πz)^{−1/2} Σ_k ((2k−1)!!)² / (k! (8z)^k), Eq. 10.40.1 of [1]."""
    term = np.ones_like(z)
    total = np.ones_like(z)
    for k in range(1, _ASYMPTOTIC_TERMS + 1):
        term = term * (2 * k - 1) ** 2 / (8 * k * z)
        total = total + term
    return np.asarray(total / np.sqrt(2 * np.pi * z), dtype=float)


def bessel_i0e(z: npt.ArrayLike) -> FloatArray:
    """Exponentially scaled modified Bessel function of order zero, e^{−|z|} I0(z).

    .. math:: \\mathrm{i0e}(z) = e^{-|z|} \\sum_{k\\ge0} \\frac{(z^2/4)^k}{(k!)^2}

    Parameters
    ----------
    z : array_like
        Argument. [unitless, real]

    Returns
    -------
    numpy.ndarray
        e^{−|z|} I0(z), in (0, 1]; finite for every finite z (no overflow). Relative
        error below 1e-15 (power series for |z| < 20, asymptotic series above).

    References
    ----------
    .. [1] NIST DLMF, Eqs. 10.25.2 and 10.40.1.
    """
    x = np.abs(np.asarray(z, dtype=float))
    small = x < SERIES_BELOW
    near = np.where(small, x, 0.0)
    with np.errstate(over="ignore", under="ignore"):
        out = (1.0 + _i0_series_less_one(near)) * np.exp(-near)
        if not np.all(small):
            out = np.where(small, out, _i0e_asymptotic(np.where(small, SERIES_BELOW, x)))
    return np.asarray(out, dtype=float)


def bessel_i0_minus_one(z: npt.ArrayLike) -> FloatArray:
    """I0(z) − 1 without cancellation as z → 0.

    .. math:: I_0(z) - 1 = \\sum_{k\\ge1} \\frac{(z^2/4)^k}{(k!)^2}

    Parameters
    ----------
    z : array_like
        Argument. [unitless, real]

    Returns
    -------
    numpy.ndarray
        I0(z) − 1 ≥ 0; relative error below 1e-15; inf where I0 overflows (|z| ≳ 713).

    References
    ----------
    .. [1] NIST DLMF, Eqs. 10.25.2 and 10.40.1.
    """
    x = np.abs(np.asarray(z, dtype=float))
    small = x < SERIES_BELOW
    out = _i0_series_less_one(np.where(small, x, 0.0))
    if not np.all(small):
        with np.errstate(over="ignore"):
            far = np.where(small, SERIES_BELOW, x)
            out = np.where(small, out, _i0e_asymptotic(far) * np.exp(far) - 1.0)
    return np.asarray(out, dtype=float)


#: AS241's coefficients (Wichura 1988, PPND16), highest power first, for
#: :func:`normal_quantile`: numerator and denominator of the central region |p − ½| ≤
#: 0.425 (in r = 0.180625 − q²), of the near tail (r = √(−ln min(p, 1 − p)) − 1.6 ≤ 3.4)
#: and of the far tail (r − 5).
_AS241 = {
    "central": (
        (2.5090809287301226727e3, 3.3430575583588128105e4, 6.7265770927008700853e4,
         4.5921953931549871457e4, 1.3731693765509461125e4, 1.9715909503065514427e3,
         1.3314166789178437745e2, 3.3871328727963666080e0),
        (5.2264952788528545610e3, 2.8729085735721942674e4, 3.9307895800092710610e4,
         2.1213794301586595867e4, 5.3941960214247511077e3, 6.8718700749205790830e2,
         4.2313330701600911252e1, 1.0),
    ),
    "near": (
        (7.74545014278341407640e-4, 2.27238449892691845833e-2, 2.41780725177450611770e-1,
         1.27045825245236838258e0, 3.64784832476320460504e0, 5.76949722146069140550e0,
         4.63033784615654529590e0, 1.42343711074968357734e0),
        (1.05075007164441684324e-9, 5.47593808499534494600e-4, 1.51986665636164571966e-2,
         1.48103976427480074590e-1, 6.89767334985100004550e-1, 1.67638483018380384940e0,
         2.05319162663775882187e0, 1.0),
    ),
    "far": (
        (2.01033439929228813265e-7, 2.71155556874348757815e-5, 1.24266094738807843860e-3,
         2.65321895265761230930e-2, 2.96560571828504891230e-1, 1.78482653991729133580e0,
         5.46378491116411436990e0, 6.65790464350110377720e0),
        (2.04426310338993978564e-15, 1.42151175831644588870e-7, 1.84631831751005468180e-5,
         7.86869131145613259100e-4, 1.48753612908506148525e-2, 1.36929880922735805310e-1,
         5.99832206555887937690e-1, 1.0),
    ),
}  # fmt: skip


def _horner(coefficients: Sequence[float], x: FloatArray) -> FloatArray:
    value = np.full_like(x, coefficients[0])
    for c in coefficients[1:]:
        value = value * x + c
    return value


def normal_quantile(p: npt.ArrayLike) -> FloatArray:
    """Quantile (inverse CDF) of the standard normal distribution, Φ⁻¹(p).

    .. math::
        \\Phi^{-1}(p) = q\\,\\frac{A(r)}{B(r)},\\ r = 0.180625 - q^2 \\quad (|q| \\le 0.425),
        \\qquad \\pm\\frac{C(r)}{D(r)},\\ r = \\sqrt{-\\ln\\min(p, 1 - p)} \\quad
        \\text{(else)}

    with q = p − ½ and A … D the degree-7 rational functions of AS241 (PPND16) [1], whose
    relative error is about 1e-16 over the whole range (as ``statistics.NormalDist`` of
    the standard library computes it for one value; tests/test_numerics.py compares with
    it and with scipy.special.ndtri).

    Parameters
    ----------
    p : array_like
        Probability. [unitless, 0..1]

    Returns
    -------
    numpy.ndarray
        Φ⁻¹(p); −inf at 0, +inf at 1, NaN outside [0, 1]. [unitless]

    References
    ----------
    .. [1] M. J. Wichura, "Algorithm AS 241: The percentage points of the normal
       distribution", Appl. Stat. 37, 477 (1988).
    """
    p = np.asarray(p, dtype=float)
    q = p - 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        central = 0.180625 - q * q
        x = q * _horner(_AS241["central"][0], central) / _horner(_AS241["central"][1], central)
        r = np.sqrt(-np.log(np.where(q <= 0.0, p, 1.0 - p)))
        near = r - 1.6
        tail = _horner(_AS241["near"][0], near) / _horner(_AS241["near"][1], near)
        far = r - 5.0
        tail = np.where(
            r <= 5.0, tail, _horner(_AS241["far"][0], far) / _horner(_AS241["far"][1], far)
        )
        x = np.where(np.abs(q) <= 0.425, x, np.where(q < 0.0, -tail, tail))
    x = np.where(p == 0.0, -np.inf, np.where(p == 1.0, np.inf, x))
    return np.asarray(np.where((p >= 0.0) & (p <= 1.0), x, np.nan), dtype=float)


def normal_cdf(z: float) -> float:
    """CDF of the standard normal distribution at one value, Φ(z) = ½ erfc(−z/√2).

    The complementary error function keeps the lower tail's relative accuracy (Φ(−30) ≈
    4.9e-198, where ½(1 + erf) would give 0); the C library's ``erfc`` through
    :mod:`math`.

    Parameters
    ----------
    z : float
        Standard score. [unitless]

    Returns
    -------
    float
        Φ(z). [unitless, 0..1]

    References
    ----------
    .. [1] NIST DLMF, Eq. 7.18.2 (Φ in terms of erfc).
    """
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def distinct(values: npt.ArrayLike) -> npt.NDArray[Any]:
    """The sorted distinct values of ``values`` (flattened), as ``numpy.unique`` gives
    them: every NaN is one value, sorted last.

    ``numpy.unique`` imports ``numpy.ma`` at its first call, 10–20 ms of a command's
    start-up; this is a sort and one comparison of neighbours.
    """
    ordered = np.sort(np.asarray(values).ravel())
    if ordered.size < 2:
        return ordered
    new = ordered[1:] != ordered[:-1]
    if ordered.dtype.kind == "f":  # NaN != NaN: one NaN stands for them all
        new &= ~(np.isnan(ordered[1:]) & np.isnan(ordered[:-1]))
    return ordered[np.concatenate(([True], new))]


#: Compass-search stopping step: parameters are log intensities or probabilities, where
#: 1e-7 moves a rate at its maximum by ~1e-14 of itself. [parameter units]
STEP_TOLERANCE = 1e-7
#: Most compass steps before giving up improving (each halves the step or moves). [steps]
MAX_STEPS = 2000
#: Up to this many searched coordinates a step tries all 3^d corners of the stencil;
#: above, the 2d + 1 points along the axes, the d(d − 1)/2 along pairs of them and the
#: maximum of the quadratic model they fix. [count]
FULL_STENCIL_DIMENSIONS = 3


def maximise_on_grid(
    objective: Callable[[FloatArray], FloatArray],
    grid: FloatArray,
    bounds: Sequence[tuple[float, float]],
) -> tuple[float, FloatArray]:
    """Maximise a non-negative rate in a box: vectorised grid, then a compass search.

    The best point of ``grid`` starts a compass search [2]: each step evaluates, in one
    call of ``objective``, the points at ± the step along every coordinate (in up to
    :data:`FULL_STENCIL_DIMENSIONS` dimensions every combination of −, 0, +; clipped to
    ``bounds``); it moves to the best one, or halves the step when the centre is best,
    until the step is below :data:`STEP_TOLERANCE` of the box's width.
    No derivative is needed, and a face of the box is reached exactly.

    With more coordinates (the ± points alone would zigzag along a diagonal ridge, a
    step per coordinate), each step also evaluates the d(d − 1)/2 points one step along
    each pair of coordinates; with the ± points they fix a quadratic model of the rate,
    whose maximum (:func:`_model_point`) is one more trial point of the next step, the
    search step of [3]. The search still moves only to a better point and halves its
    step as before. On the 404 km four-intensity MDI key (six coordinates) it takes 40
    steps instead of 117 and ends higher by 2.5e-12 of the key; on a tilted ridge of six
    coordinates 57 instead of 496 (tests/test_numerics.py).

    Parameters
    ----------
    objective : callable
        Maps points (..., d) to rates (...). [rate units, ≥ 0]
    grid : numpy.ndarray
        Starting points (n, d), inside ``bounds``.
    bounds : sequence of (float, float)
        Lower and upper bound of each coordinate (equal bounds fix it).

    Returns
    -------
    (float, numpy.ndarray)
        The best rate and its point; (0, the grid's middle point) when no grid point
        yields a positive rate.
    """

    def one(x: FloatArray, rows: npt.NDArray[np.intp]) -> FloatArray:
        return np.asarray(objective(x[0]), dtype=float)[None]

    rates, points = maximise_in_lockstep(one, grid, bounds, 1)
    return float(rates[0]), points[0]


def maximise_in_lockstep(
    objective: Callable[[FloatArray, npt.NDArray[np.intp]], FloatArray],
    grid: FloatArray,
    bounds: Sequence[tuple[float, float]],
    searches: int,
) -> tuple[FloatArray, FloatArray]:
    """``searches`` searches of :func:`maximise_on_grid` made side by side, one call a step.

    Search i maximises ``objective(x, [i])``: the call ``objective(x, rows)`` maps points
    x (k, n, d) of the searches ``rows`` (k,) to their rates (k, n), and is made for the
    grid (every search) and then once per compass step, for the searches still under
    way. Each search takes the steps, and ends at the point, that
    :func:`maximise_on_grid` takes for it alone, bit for bit, when the objective works
    element by element (no rate depends on another point of the call) with array
    arithmetic (numpy's power of a single number is C's ``pow``, of an array its own
    loop: they can differ in the last bit); the searches share the cost of a call, which
    for a few points is numpy's overhead, not arithmetic.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Each search's best rate (searches,) and point (searches, d); (0, the grid's
        middle point) for a search where no grid point yields a positive rate.
    """
    grid = np.asarray(grid, dtype=float)
    every = np.arange(searches)
    rates = np.asarray(objective(np.broadcast_to(grid, (searches, *grid.shape)), every), float)
    start = np.argmax(rates, axis=1)
    best_rate = rates[every, start]
    best = grid[start].copy()
    under_way = best_rate > 0
    best_rate = np.where(under_way, best_rate, 0.0)
    best[~under_way] = grid[len(grid) // 2]
    low = np.array([b[0] for b in bounds], dtype=float)
    high = np.array([b[1] for b in bounds], dtype=float)
    free = high > low
    if not np.any(free) or not np.any(under_way):
        return best_rate, best
    width = np.where(free, high - low, 0.0)
    searched = int(free.sum())
    modelled = searched > FULL_STENCIL_DIMENSIONS
    if not modelled:  # every corner: diagonal ridges cost no steps
        stencil = np.array(list(itertools.product((-1.0, 0.0, 1.0), repeat=searched)))
    else:  # ± each coordinate, + each pair: a quadratic model's points, not 3^d
        axes = np.concatenate([np.zeros((1, searched)), np.eye(searched), -np.eye(searched)])
        pairs = np.array(list(itertools.combinations(range(searched), 2)))
        diagonals = np.zeros((len(pairs), searched))
        diagonals[np.arange(len(pairs))[:, None], pairs] = 1.0
        stencil = np.concatenate([axes, diagonals])
    moves = np.zeros((len(stencil), len(bounds)))
    moves[:, free] = stencil
    candidate = best.copy()  # each search's model point, tried at its next step
    # The grid's own spacing (or a quarter of the box) is where each search starts.
    spacing = np.array([_spacing(grid[:, i]) for i in range(grid.shape[1])])
    first = np.where(free, np.minimum(np.where(spacing > 0, spacing, width / 4), width / 4), 0.0)
    step = np.broadcast_to(first, best.shape).copy()
    for _ in range(MAX_STEPS):
        under_way &= ~np.all(step[:, free] < STEP_TOLERANCE * width[free], axis=1)
        rows = np.flatnonzero(under_way)
        if not len(rows):
            break
        meant = best[rows, None, :] + moves * step[rows, None, :]
        if modelled:
            meant = np.concatenate([meant, candidate[rows, None, :]], axis=1)
        trial = np.clip(meant, low, high)
        values = np.asarray(objective(trial, rows), dtype=float)
        values = np.where(np.isfinite(values), values, -np.inf)
        if modelled:
            inside = np.all(trial[:, :-1] == meant[:, :-1], axis=(1, 2))
            model = _model_point(values[:, :-1], step[rows][:, free], inside)
            candidate[rows] = best[rows]
            candidate[rows[:, None], np.flatnonzero(free)] += model
            candidate[rows] = np.clip(candidate[rows], low, high)
        pick = np.argmax(values, axis=1)
        top = values[np.arange(len(rows)), pick]
        moved = top > best_rate[rows]
        best_rate[rows[moved]] = top[moved]
        best[rows[moved]] = trial[moved, pick[moved]]
        step[rows[~moved]] = step[rows[~moved]] / 2
    return best_rate, best


#: Farthest a model point lies from its search's centre, in steps along each
#: coordinate: a trust region for the quadratic model. [steps]
MODEL_REACH = 4.0


def _model_point(values: FloatArray, step: FloatArray, inside: npt.NDArray[np.bool_]) -> FloatArray:
    """The maximum of each search's quadratic model, as a displacement from its centre.

    ``values`` (k, 1 + 2d + d(d − 1)/2) are the rates at the centre c, at c ± s_i e_i and
    at c + s_i e_i + s_j e_j (i < j), in the order :func:`maximise_in_lockstep` makes
    them; ``step`` (k, d) is s. The model's gradient and diagonal curvature are central
    differences, its mixed curvature the forward difference
    H_ij = [f(c + s_i e_i + s_j e_j) − f(c + s_i e_i) − f(c + s_j e_j) + f(c)]/(s_i s_j),
    and its maximum is the Newton point −H⁻¹g, kept within :data:`MODEL_REACH` steps of
    c along each coordinate [3]. A search whose points were clipped by the box
    (``inside`` false), whose rates are not all finite, or whose model is not concave
    gets no displacement (its centre again, already known), as does one whose arithmetic
    overflows (steps of an extreme box).
    """
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        d = step.shape[1]
        usable = inside & np.all(np.isfinite(values), axis=1)
        values = np.where(usable[:, None], values, 0.0)
        centre, plus, minus = values[:, 0], values[:, 1 : 1 + d], values[:, 1 + d : 1 + 2 * d]
        gradient = (plus - minus) / (2.0 * step)
        curvature = np.zeros((len(values), d, d))
        diagonal = np.arange(d)
        curvature[:, diagonal, diagonal] = (plus - 2.0 * centre[:, None] + minus) / step**2
        i, j = np.array(list(itertools.combinations(range(d), 2))).T
        diagonals = values[:, 1 + 2 * d :]
        mixed = (diagonals - plus[:, i] - plus[:, j] + centre[:, None]) / (step[:, i] * step[:, j])
        curvature[:, i, j] = mixed
        curvature[:, j, i] = mixed
        usable &= np.all(np.isfinite(curvature), axis=(1, 2))
        curvature[~usable] = -np.eye(d)
        usable &= np.all(np.linalg.eigvalsh(curvature) < 0.0, axis=1)  # concave: a maximum
        curvature[~usable] = -np.eye(d)
        newton = np.linalg.solve(curvature, -gradient[..., None])[..., 0]
        reach = MODEL_REACH * step
        usable &= np.all(np.isfinite(newton) & np.isfinite(reach), axis=1)
    return np.where(usable[:, None], np.clip(newton, -reach, reach), 0.0)


def _spacing(values: FloatArray) -> float:
    values = distinct(values)
    return float(np.min(np.diff(values))) if len(values) > 1 else 0.0


#: Most points (searches × grid points) one call of :func:`maximise_each_point`'s
#: objective is given: the searches of a sweep's chunk run side by side in blocks of
#: this many grid points, so its memory is that of a few thousand points, not of the
#: chunk times the grid. [points]
LOCKSTEP_POINTS = 16_384


def maximise_each_point(
    objective: Callable[..., FloatArray],
    arrays: Sequence[FloatArray],
    grid: FloatArray,
    bounds: Sequence[tuple[float, float]],
) -> tuple[FloatArray, FloatArray]:
    """:func:`maximise_on_grid` at every point of broadcast input arrays, side by side.

    ``objective(x, *values)`` takes search points x (k, n, d) and the inputs of k points,
    one column (k, 1) from each of ``arrays`` (all of one shape), and returns rates
    (k, n). The points' searches run in lockstep (:func:`maximise_in_lockstep`): each
    ends where its own :func:`maximise_on_grid` would, bit for bit, when the objective
    works element by element (with the inputs of a point as arrays of one element). A
    grid of a single point is evaluated, not searched.
    Returns the best rate (shape of the arrays) and its point (shape + (d,)).
    """
    shape = np.shape(arrays[0])
    columns = [np.asarray(a, dtype=float).reshape(-1, 1) for a in arrays]
    count, dimensions = int(np.prod(shape, dtype=np.int64)), np.shape(grid)[-1]

    def at_rows(x: FloatArray, rows: npt.NDArray[np.intp]) -> FloatArray:
        return np.asarray(objective(x, *(c[rows] for c in columns)), dtype=float)

    if len(grid) == 1:
        x = np.broadcast_to(np.asarray(grid, dtype=float), (count, 1, dimensions))
        best_rate = at_rows(x, np.arange(count))[:, 0]
        best_x: FloatArray = x[:, 0, :]
        return best_rate.reshape(shape), best_x.reshape((*shape, dimensions))
    best_rate, best_x = np.zeros(count), np.zeros((count, dimensions))
    block = max(1, LOCKSTEP_POINTS // len(grid))  # searches side by side
    for first in range(0, count, block):
        rows = np.arange(first, min(first + block, count))

        def in_block(x: FloatArray, within: npt.NDArray[np.intp], rows: Any = rows) -> FloatArray:
            return at_rows(x, rows[within])

        best_rate[rows], best_x[rows] = maximise_in_lockstep(in_block, grid, bounds, len(rows))
    return best_rate.reshape(shape), best_x.reshape((*shape, dimensions))
