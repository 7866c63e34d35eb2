"""Checks and conversions the optical channel models share (free space and satellite).

Each model validates its array arguments the same way: a ValueError naming the argument
and the first offending value, so the scenario checker's located errors never depend on
which model read a number.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def as_array(value: npt.ArrayLike) -> FloatArray:
    """``value`` as a float array (a scalar stays 0-d)."""
    return np.asarray(value, dtype=float)


def require(ok: npt.ArrayLike, name: str, value: FloatArray, expected: str) -> None:
    """Raise ValueError naming the first offending value unless every element is ok."""
    mask = np.asarray(ok, dtype=bool)
    if not mask.all():  # the method: np.all's dispatch costs 4 µs a call
        bad = np.broadcast_to(value, mask.shape)[~mask] if mask.ndim else value
        raise ValueError(f"{name} must be {expected}; got {np.ravel(bad)[0]!r}")


def positive(name: str, value: npt.ArrayLike) -> FloatArray:
    """``value`` as an array, every element finite and > 0 (else ValueError)."""
    arr = as_array(value)
    with np.errstate(invalid="ignore"):
        require(np.isfinite(arr) & (arr > 0), name, arr, "finite and > 0")
    return arr


def nonnegative(name: str, value: npt.ArrayLike) -> FloatArray:
    """``value`` as an array, every element finite and ≥ 0 (else ValueError)."""
    arr = as_array(value)
    with np.errstate(invalid="ignore"):
        require(np.isfinite(arr) & (arr >= 0), name, arr, "finite and ≥ 0")
    return arr


def efficiency(name: str, value: npt.ArrayLike) -> FloatArray:
    """``value`` as an array, every element in (0, 1] (else ValueError)."""
    arr = as_array(value)
    with np.errstate(invalid="ignore"):
        require((arr > 0) & (arr <= 1), name, arr, "in (0, 1]")
    return arr


def wavenumber_per_m(wavelength_nm: npt.ArrayLike) -> FloatArray:
    """Optical wavenumber k = 2π/λ. [1/m] of a wavelength [nm, > 0]."""
    return 2.0 * np.pi / (positive("wavelength_nm", wavelength_nm) * 1e-9)
