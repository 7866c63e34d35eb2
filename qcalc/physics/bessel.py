"""The Bessel function J0 in numpy alone, for the diffraction integral of a clipped beam
(:mod:`qcalc.physics.freespace`): no scipy on the path of `qcalc rate`.

References
----------
.. [1] F. W. J. Olver et al., *NIST Digital Library of Mathematical Functions*,
   https://dlmf.nist.gov/, Eq. 10.9.1 (Bessel's integral) and Eq. 10.17.3 (Hankel's
   expansion), release 1.2.1 (2024).
.. [2] L. N. Trefethen, J. A. C. Weideman, "The exponentially convergent trapezoidal
   rule", SIAM Rev. 56, 385 (2014), Sec. 3.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Arguments up to this use the trapezoidal rule of Bessel's integral (:func:`bessel_j0`);
#: above it Hankel's asymptotic expansion, whose smallest term there is below 1e-17. [unitless]
J0_TRAPEZOID_UP_TO = 20.0
#: Points N of the trapezoidal rule over a period of Bessel's integrand for |x| up to
#: each bound: its error 2 Σ_m J_{2mN}(x) ≤ 2 (x/2)^{2N}/(2N)! (DLMF 10.14.4) is below
#: 1e-16 (3e-17 at x = 4, N = 12; 7e-17 at 8, 16; 4e-19 at 20, 28). [unitless, count]
_J0_POINTS = ((4.0, 12), (8.0, 16), (J0_TRAPEZOID_UP_TO, 28))
_J0_ASYMPTOTIC_TERMS = 30


def bessel_j0(x: npt.ArrayLike) -> FloatArray:
    r"""Bessel function of the first kind of order zero, J0(x).

    .. math::
        J_0(x) = \frac{1}{\pi}\int_0^\pi \cos(x \sin\theta)\,d\theta
        \approx \frac{1}{N}\sum_{k=0}^{N-1} \cos\left(x \sin\frac{\pi k}{N}\right)

    for |x| ≤ :data:`J0_TRAPEZOID_UP_TO` (Bessel's integral, DLMF 10.9.1, by the
    trapezoidal rule, exact to 2 Σ_m J_{2mN}(x) for a periodic integrand: below 1e-16
    with N = 12, 16 or 28 points as |x| ≤ 4, 8 or 20); above, Hankel's expansion J0(x) ≈ (2/πx)^{1/2} (P cos ω − Q sin ω),
    ω = x − π/4 (DLMF 10.17.3), to 30 terms (the smallest below 1e-17 of P).

    Parameters
    ----------
    x : array_like
        Argument. [unitless, real]

    Returns
    -------
    numpy.ndarray
        J0(x), in [−0.403, 1]; absolute error below 1e-15 (plus the rounding of ω,
        ~1e-16 x, at large x). tests/test_numerics.py compares with scipy.special.j0 to
        1e-12.

    References
    ----------
    .. [1] NIST DLMF, Eq. 10.9.1 (Bessel's integral) and Eq. 10.17.3 (Hankel's
       expansion).
    .. [2] L. N. Trefethen, J. A. C. Weideman, "The exponentially convergent trapezoidal
       rule", SIAM Rev. 56, 385 (2014), Sec. 3.
    """
    z = np.abs(np.asarray(x, dtype=float))
    out = np.empty_like(z)
    below = 0.0
    for up_to, points in _J0_POINTS:
        band = (z >= below) & (z <= up_to) if below else z <= up_to
        below = up_to
        near = z[band]
        # θ_k and θ_{N−k} give the same term; k = 0 gives 1 and k = N/2 gives cos x.
        total = 1.0 + np.cos(near)
        for k in range(1, points // 2):
            total += 2.0 * np.cos(near * np.sin(np.pi * k / points))
        out[band] = total / points
    far = ~(z <= J0_TRAPEZOID_UP_TO)
    if np.any(far):
        out[far] = _j0_asymptotic(z[far])
    return np.asarray(out, dtype=float)


def _j0_asymptotic(z: FloatArray) -> FloatArray:
    """Hankel's expansion of J0 (DLMF 10.17.3 with a_k(0) = (−1)^k ((2k−1)!!)² / (k! 8^k))."""
    p = np.ones_like(z)
    q = np.zeros_like(z)
    term = np.ones_like(z)
    for k in range(1, _J0_ASYMPTOTIC_TERMS + 1):
        term = term * -((2 * k - 1) ** 2) / (8 * k * z)  # a_k(0) / z^k
        if k % 2:
            q = q + (-1) ** ((k - 1) // 2) * term
        else:
            p = p + (-1) ** (k // 2) * term
    omega = z - np.pi / 4
    return np.asarray(np.sqrt(2.0 / (np.pi * z)) * (p * np.cos(omega) - q * np.sin(omega)))
