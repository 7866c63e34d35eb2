"""Optical fibre: attenuation and propagation delay."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from qcalc.constants import FIBRE_GROUP_INDEX, SPEED_OF_LIGHT_KM_PER_S

FloatArray = npt.NDArray[np.float64]


def fibre_loss_db(
    length_km: npt.ArrayLike,
    attenuation_db_per_km: npt.ArrayLike,
    extra_loss_db: npt.ArrayLike = 0.0,
) -> FloatArray:
    """Loss of a fibre span with lumped extra losses.

    .. math:: L_\\mathrm{dB} = \\alpha L + L_\\mathrm{extra}

    Parameters
    ----------
    length_km : array_like
        Fibre length. [km, ≥ 0]
    attenuation_db_per_km : array_like
        Attenuation coefficient α; 0.2 dB/km for SMF-28 at 1550 nm, 0.16 dB/km for
        ultra-low-loss fibre. [dB/km, ≥ 0]
    extra_loss_db : array_like, optional
        Connectors, splices and other lumped losses. [dB, ≥ 0]

    Returns
    -------
    numpy.ndarray
        Total loss. [dB]

    References
    ----------
    .. [1] G. P. Agrawal, *Fiber-Optic Communication Systems*, 4th ed., Wiley (2010),
       Eq. (2.5.2): α_dB = −(10/L) log10(P_out/P_in).
    """
    length = np.asarray(length_km, dtype=float)
    alpha = np.asarray(attenuation_db_per_km, dtype=float)
    extra = np.asarray(extra_loss_db, dtype=float)
    return np.asarray(alpha * length + extra, dtype=float)  # Eq. (2.5.2) of [1]


def transmittance_from_loss_db(loss_db: npt.ArrayLike) -> FloatArray:
    """Power transmittance of a loss given in decibels.

    .. math:: \\eta = 10^{-L_\\mathrm{dB}/10}

    Parameters
    ----------
    loss_db : array_like
        Loss. [dB, ≥ 0]

    Returns
    -------
    numpy.ndarray
        Transmittance η; underflows to exactly 0 beyond about 3,230 dB. [unitless, 0..1]

    References
    ----------
    .. [1] G. P. Agrawal, *Fiber-Optic Communication Systems*, 4th ed., Wiley (2010),
       Eq. (2.5.2).
    """
    loss = np.asarray(loss_db, dtype=float)
    with np.errstate(under="ignore"):
        return np.asarray(np.power(10.0, -loss / 10.0), dtype=float)


def loss_db_from_transmittance(transmittance: npt.ArrayLike) -> FloatArray:
    """Loss in decibels of a transmittance, −10 log10 η (inf only for η = 0 exactly)."""
    eta = np.asarray(transmittance, dtype=float)
    with np.errstate(divide="ignore"):
        return np.asarray(-10.0 * np.log10(eta), dtype=float)


def fibre_delay_s(
    length_km: npt.ArrayLike, group_index: npt.ArrayLike = FIBRE_GROUP_INDEX
) -> FloatArray:
    """One-way propagation delay of light in fibre.

    .. math:: t = L n_g / c

    Parameters
    ----------
    length_km : array_like
        Fibre length. [km, ≥ 0]
    group_index : array_like, optional
        Group index n_g; 1.47 for standard single-mode fibre at 1550 nm. [unitless, ≥ 1]

    Returns
    -------
    numpy.ndarray
        One-way delay. [s]

    References
    ----------
    .. [1] Corning SMF-28 Ultra optical fiber, product information PI1424 (2014):
       effective group index 1.4682 at 1550 nm.
    """
    length = np.asarray(length_km, dtype=float)
    n_g = np.asarray(group_index, dtype=float)
    return np.asarray(length * n_g / SPEED_OF_LIGHT_KM_PER_S, dtype=float)


def free_space_delay_s(length_km: npt.ArrayLike) -> FloatArray:
    """One-way delay in vacuum or air, L / c (refractive index of air ≈ 1.0003 neglected)."""
    return np.asarray(np.asarray(length_km, dtype=float) / SPEED_OF_LIGHT_KM_PER_S, dtype=float)
