"""Terrestrial free-space optical links: Gaussian beams, turbulence, pointing, weather.

Every loss is returned as a positive number of decibels, computed in log space so that
collection efficiencies of 1e-300 and below stay finite. The budget helpers at the end
only call the functions above them and return the loss as named terms, so a report can
show "diffraction", "turbulence", "pointing", "atmosphere" and "receiver" separately.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt

from qcalc.constants import PLANCK_J_S, SPEED_OF_LIGHT_M_PER_S
from qcalc.physics.optics import (
    as_array,
    efficiency,
    nonnegative,
    positive,
    require,
    wavenumber_per_m,
)
from qcalc.records import record

FloatArray = npt.NDArray[np.float64]

_DB_PER_NEPER = 10.0 / np.log(10.0)  # converts −ln η to dB


# --------------------------------------------------------------------------- helpers


# --------------------------------------------------------------------------- Gaussian beam


def rayleigh_range_m(beam_waist_m: npt.ArrayLike, wavelength_nm: npt.ArrayLike) -> FloatArray:
    """Rayleigh range of a Gaussian beam.

    .. math:: z_R = \\frac{\\pi w_0^2}{\\lambda}

    Parameters
    ----------
    beam_waist_m : array_like
        Beam waist w0, the 1/e² intensity radius. [m, > 0]
    wavelength_nm : array_like
        Vacuum wavelength λ. [nm, > 0]

    Returns
    -------
    numpy.ndarray
        Rayleigh range z_R. [m]

    Notes
    -----
    Valid in the paraxial regime, w0 ≫ λ.

    References
    ----------
    .. [1] H. Kogelnik, T. Li, "Laser beams and resonators", Appl. Opt. 5, 1550 (1966),
       Sec. III (z_R = π w0²/λ is half the confocal parameter b).
    """
    w0 = positive("beam_waist_m", beam_waist_m)
    wavelength_m = positive("wavelength_nm", wavelength_nm) * 1e-9
    return np.asarray(np.pi * w0**2 / wavelength_m, dtype=float)  # z_R of [1]


def gaussian_beam_radius_m(
    beam_waist_m: npt.ArrayLike, wavelength_nm: npt.ArrayLike, range_m: npt.ArrayLike
) -> FloatArray:
    """1/e² radius of a Gaussian beam a distance L from its waist.

    .. math:: w(L) = w_0 \\sqrt{1 + (L / z_R)^2}

    Parameters
    ----------
    beam_waist_m : array_like
        Beam waist w0 (1/e² intensity radius) at the transmitter. [m, > 0]
    wavelength_nm : array_like
        Vacuum wavelength λ. [nm, > 0]
    range_m : array_like
        Propagation distance L from the waist. [m, ≥ 0]

    Returns
    -------
    numpy.ndarray
        Beam radius w(L). [m]

    Notes
    -----
    Vacuum diffraction of a TEM00 beam, paraxial (w0 ≫ λ). Far from the waist
    (L ≫ z_R) the radius grows as θ L with θ = λ / (π w0).

    References
    ----------
    .. [1] H. Kogelnik, T. Li, "Laser beams and resonators", Appl. Opt. 5, 1550 (1966),
       Sec. III (spot size w(z) of the fundamental Gaussian beam).
    """
    w0 = positive("beam_waist_m", beam_waist_m)
    length = nonnegative("range_m", range_m)
    z_r = rayleigh_range_m(w0, wavelength_nm)
    return np.asarray(w0 * np.sqrt(1.0 + (length / z_r) ** 2), dtype=float)  # w(z) of [1]


def _ln_collection(beam_radius_m: npt.ArrayLike, aperture_diameter_m: npt.ArrayLike) -> FloatArray:
    """ln of the power fraction of a centred Gaussian beam inside a circular aperture."""
    w = positive("beam_radius_m", beam_radius_m)
    d = positive("aperture_diameter_m", aperture_diameter_m)
    with np.errstate(under="ignore", over="ignore"):
        x = d**2 / (2.0 * w**2)  # 2 a² / w² with a = D / 2
        ln_x = 2.0 * np.log(d) - np.log(2.0) - 2.0 * np.log(w)  # exact even when x underflows
        small = x < 1e-6
        x_big = np.where(small, 1.0, x)
        ln_eta = np.where(small, ln_x - 0.5 * x, np.log(-np.expm1(-x_big)))
    return np.asarray(ln_eta, dtype=float)


def aperture_collection(
    beam_radius_m: npt.ArrayLike, aperture_diameter_m: npt.ArrayLike
) -> FloatArray:
    """Fraction of a centred Gaussian beam's power that passes a circular aperture.

    .. math:: \\eta = 1 - \\exp\\left(-\\frac{2 a^2}{w^2}\\right), \\quad a = D/2

    Parameters
    ----------
    beam_radius_m : array_like
        1/e² intensity radius w of the beam at the aperture. [m, > 0]
    aperture_diameter_m : array_like
        Aperture diameter D. [m, > 0]

    Returns
    -------
    numpy.ndarray
        Collected fraction η (underflows to 0 below about 1e-308; use
        :func:`aperture_collection_loss_db` for the loss). [unitless, 0..1]

    Notes
    -----
    Exact for a Gaussian intensity profile centred on the aperture; an aperture of radius
    equal to w passes 1 − e⁻² ≈ 86.5 %.

    References
    ----------
    .. [1] A. E. Siegman, *Lasers*, University Science Books (1986), Sec. 17.1,
       Ch. 17 (power of a TEM00 beam transmitted through a circular aperture).
    """
    with np.errstate(under="ignore"):
        return np.asarray(np.exp(_ln_collection(beam_radius_m, aperture_diameter_m)), dtype=float)


def aperture_collection_loss_db(
    beam_radius_m: npt.ArrayLike, aperture_diameter_m: npt.ArrayLike
) -> FloatArray:
    """Loss of the Gaussian aperture collection, −10 log10 η, computed in log space.

    .. math:: L_\\mathrm{dB} = -10 \\log_{10}\\left[1 - \\exp(-2a^2/w^2)\\right]

    Parameters
    ----------
    beam_radius_m : array_like
        1/e² intensity radius w of the beam at the aperture. [m, > 0]
    aperture_diameter_m : array_like
        Aperture diameter D = 2a. [m, > 0]

    Returns
    -------
    numpy.ndarray
        Collection loss; finite for any positive inputs (≈ 10 log10(w²/2a²) when
        w ≫ a). [dB, ≥ 0]

    References
    ----------
    .. [1] A. E. Siegman, *Lasers*, University Science Books (1986), Ch. 17.
    """
    ln_eta = _ln_collection(beam_radius_m, aperture_diameter_m)
    return np.asarray(-_DB_PER_NEPER * ln_eta + 0.0, dtype=float)  # aperture transmission of [1]


# --------------------------------------------------------------------------- clipped beam

#: A Gaussian whose waist fits this many times (squared) inside the transmit aperture
#: loses exp(−2·20) ≈ 4e-18 of its power to the rim: it is propagated as an unclipped
#: Gaussian beam (closed form) rather than by the diffraction integral.
_UNCLIPPED_APERTURE_TO_WAIST_SQUARED = 20.0
#: Field beyond (ρ² − b²)/w0² = 18 is below e^-18 ≈ 1.5e-8 of its peak (its power below
#: 3e-16): left out of the diffraction integral, which then spends its nodes on the light.
_FIELD_CUTOFF_WAIST_SQUARED = 18.0
#: Upper bound on the Gauss–Legendre nodes per dimension of the diffraction integral and
#: on the elements of one vectorised block of it.
_MAX_NODES = 2048
_BLOCK_ELEMENTS = 2_000_000


def _annulus(
    tx_aperture_m: npt.ArrayLike, tx_obscuration_m: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Radii (a, b) of the transmit annulus, checked: 0 ≤ b < a."""
    a = positive("tx_aperture_m", tx_aperture_m) / 2.0
    b = nonnegative("tx_obscuration_m", tx_obscuration_m) / 2.0
    a_b, b_b = np.broadcast_arrays(a, b)
    require(b_b < a_b, "tx_obscuration_m", 2.0 * b_b, "smaller than tx_aperture_m")
    return a, b


def transmit_clipping_loss_db(
    beam_waist_m: npt.ArrayLike,
    tx_aperture_m: npt.ArrayLike,
    tx_obscuration_m: npt.ArrayLike = 0.0,
) -> FloatArray:
    """Power of a Gaussian beam that misses the transmit annulus (aperture clipping).

    .. math::

        L_\\mathrm{clip} = -10\\log_{10}\\left[e^{-2b^2/w_0^2} - e^{-2a^2/w_0^2}\\right],
        \\quad a = D_\\mathrm{tx}/2, \\; b = D_\\mathrm{obs}/2

    Parameters
    ----------
    beam_waist_m : array_like
        1/e² intensity radius w0 of the Gaussian beam at the transmit aperture. [m, > 0]
    tx_aperture_m : array_like
        Transmit aperture diameter D_tx. [m, > 0]
    tx_obscuration_m : array_like, optional
        Diameter D_obs of a central obscuration (secondary mirror); 0 for none.
        [m, 0 ≤ D_obs < D_tx]

    Returns
    -------
    numpy.ndarray
        Clipping loss; 0.63 dB when the aperture radius equals w0 (1 − e⁻² passes),
        computed in log space. [dB, ≥ 0]

    Notes
    -----
    Power fraction of the intensity profile exp(−2ρ²/w0²) inside the annulus b ≤ ρ ≤ a;
    the light outside is lost at the transmitter (it never leaves the telescope).

    References
    ----------
    .. [1] B. J. Klein, J. J. Degnan, "Optical antenna gain. 1: Transmitting antennas",
       Appl. Opt. 13, 2134 (1974), Eq. (10) (power through an obscured aperture).
    .. [2] A. E. Siegman, *Lasers*, University Science Books (1986), Sec. 17.1.
    """
    w0 = positive("beam_waist_m", beam_waist_m)
    a, b = _annulus(tx_aperture_m, tx_obscuration_m)
    with np.errstate(under="ignore"):
        ln_pass = -2.0 * b**2 / w0**2 + np.log(-np.expm1(-2.0 * (a**2 - b**2) / w0**2))  # [1]
    return np.asarray(-_DB_PER_NEPER * ln_pass + 0.0, dtype=float)


def _gauss_legendre_unit(n: int) -> tuple[FloatArray, FloatArray]:
    """Gauss–Legendre nodes and weights on [0, 1]."""
    x, w = np.polynomial.legendre.leggauss(n)
    return (x + 1.0) / 2.0, w / 2.0


def _clipped_ln_collection_block(
    w0: FloatArray, k: FloatArray, z: FloatArray, a: FloatArray, b: FloatArray, a_r: FloatArray
) -> FloatArray:
    """ln(P_R/P_T) for 1-D arrays of equal length by Gauss–Legendre quadrature."""
    from qcalc.physics.bessel import bessel_j0 as j0  # numpy: no scipy import here

    t_lo = b**2
    t_hi = np.minimum(a**2, t_lo + _FIELD_CUTOFF_WAIST_SQUARED * w0**2)
    x_max = k * np.sqrt(t_hi) * a_r / z  # largest Bessel argument
    phase = k * (t_hi - t_lo) / (2.0 * z)  # Fresnel phase across the annulus
    # 0.6 (x + phase) + 24 nodes reproduce a 3× finer rule to 1e-8 dB over z = 0.1–3000 km,
    # w0 = 3 mm–1 m, any truncation and obscuration; 0.75 and 32 leave a margin
    need = 32 + np.ceil(0.75 * (x_max + phase))
    if np.any(need > _MAX_NODES):
        from qcalc.errors import NotModelledError

        raise NotModelledError(
            "a receiver this close to a clipped transmit aperture (Fresnel parameters "
            f"k a a_R/z + k a²/2z = {float(np.max(x_max + phase)):.0f}) is beyond the "
            "diffraction integral qcalc evaluates; drop tx_aperture_m to treat the beam as "
            "unclipped, or lengthen the link"
        )
    out = np.empty_like(w0)
    order = np.argsort(need)
    start = 0
    while start < order.size:
        n = int(need[order[min(start + 1, order.size) - 1]])
        # grow the block while its largest node count keeps it under the element budget
        stop = start + 1
        while stop < order.size:
            n_next = int(need[order[stop]])
            if (stop + 1 - start) * n_next * n_next > _BLOCK_ELEMENTS:
                break
            n = n_next
            stop += 1
        idx = order[start:stop]
        u, wu = _gauss_legendre_unit(n)
        t = t_lo[idx, None] + (t_hi - t_lo)[idx, None] * u  # ρ², shape (m, n)
        wt = (t_hi - t_lo)[idx, None] * wu
        s = a_r[idx, None] ** 2 * u  # r², shape (m, n)
        ws = a_r[idx, None] ** 2 * wu
        kz = (k / z)[idx]
        amplitude = np.exp(
            -(t - t_lo[idx, None]) / w0[idx, None] ** 2 + 0.5j * kz[:, None] * t
        )  # field ∝ exp(−ρ²/w0²) times the Fresnel phase exp(ikρ²/2z); e^{-b²/w0²} divided out
        bessel = j0(kz[:, None, None] * np.sqrt(s[:, :, None] * t[:, None, :]))
        field = 0.5 * kz[:, None] * np.einsum("mst,mt->ms", bessel, wt * amplitude)
        p_r = np.pi * np.sum(ws * np.abs(field) ** 2, axis=1)
        p_t = (
            np.pi * w0[idx] ** 2 / 2.0 * -np.expm1(-2.0 * (a[idx] ** 2 - t_lo[idx]) / w0[idx] ** 2)
        )
        out[idx] = np.log(np.minimum(p_r / p_t, 1.0))
        start = stop
    return out


def clipped_beam_collection_loss_db(
    beam_waist_m: npt.ArrayLike,
    wavelength_nm: npt.ArrayLike,
    range_m: npt.ArrayLike,
    tx_aperture_m: npt.ArrayLike,
    rx_aperture_m: npt.ArrayLike,
    tx_obscuration_m: npt.ArrayLike = 0.0,
) -> FloatArray:
    """Diffraction loss of a Gaussian beam clipped by the transmit aperture, into a receiver.

    .. math::

        U(r) = \\frac{k}{z}\\int_b^a e^{-\\rho^2/w_0^2}\\, e^{ik\\rho^2/2z}\\,
               J_0\\!\\left(\\frac{k\\rho r}{z}\\right)\\rho\\, d\\rho, \\qquad
        \\eta = \\frac{\\int_0^{a_R} |U(r)|^2\\, r\\, dr}
                     {\\int_b^a e^{-2\\rho^2/w_0^2}\\, \\rho\\, d\\rho}

    Parameters
    ----------
    beam_waist_m : array_like
        1/e² intensity radius w0 of the (flat-phase) Gaussian beam at the transmit
        aperture. [m, > 0]
    wavelength_nm : array_like
        Vacuum wavelength λ = 2π/k. [nm, > 0]
    range_m : array_like
        Distance z from the transmit to the receive aperture. [m, > 0]
    tx_aperture_m : array_like
        Transmit aperture diameter 2a. [m, > 0]
    rx_aperture_m : array_like
        Receive aperture diameter 2a_R (centred on the beam axis). [m, > 0]
    tx_obscuration_m : array_like, optional
        Central obscuration diameter 2b of the transmitter; 0 for none. [m, 0 ≤ 2b < 2a]

    Returns
    -------
    numpy.ndarray
        −10 log10 η: the power collected by the receive aperture relative to the power
        that leaves the transmit aperture (the clipped power is
        :func:`transmit_clipping_loss_db`). [dB, ≥ 0]

    Notes
    -----
    Fresnel (paraxial) diffraction of the clipped field, the Hankel transform of order 0
    of [1] Sec. 8.8 with the quadratic phase kept, so it holds from the far field down to
    Fresnel numbers a²/λz of order 10; with the phase dropped it is the Fraunhofer
    integral of SatQuMA [3]. Evaluated by Gauss–Legendre quadrature in ρ² and r² (the
    integrands are smooth in the squares), with node counts set by the largest Bessel
    argument k a a_R/z and the Fresnel phase; a beam the aperture does not clip (a² ≥ 20
    w0², no obscuration) takes the closed form 1 − exp(−2a_R²/w(z)²) of the free
    Gaussian beam, which the integral reproduces. Limits: a uniformly lit aperture
    (w0 ≫ a) gives Rayleigh's encircled energy 1 − J0²(x) − J1²(x), x = k a a_R/z [1];
    the far-field on-axis gain including the clipping loss peaks at a/w0 = 1.12 [2].

    References
    ----------
    .. [1] M. Born, E. Wolf, *Principles of Optics*, 7th ed., Cambridge (1999),
       Sec. 8.5.2, Eq. (50) (encircled energy of the Airy pattern) and Sec. 8.8
       (Fresnel–Kirchhoff integral of a circular aperture).
    .. [2] B. J. Klein, J. J. Degnan, "Optical antenna gain. 1: Transmitting antennas",
       Appl. Opt. 13, 2134 (1974) (truncated Gaussian far field; optimum a/w0 = 1.12).
    .. [3] cnqo-qcomms/SatQuMA v2.0.0, channel/diffraction/diffraction.py (Fraunhofer
       integral of a Gaussian mode truncated by the transmit aperture).
    """
    w0 = positive("beam_waist_m", beam_waist_m)
    wavelength = positive("wavelength_nm", wavelength_nm)
    z = positive("range_m", range_m)
    a_r = positive("rx_aperture_m", rx_aperture_m) / 2.0
    a, b = _annulus(tx_aperture_m, tx_obscuration_m)
    shape = np.broadcast_shapes(w0.shape, wavelength.shape, z.shape, a_r.shape, a.shape, b.shape)
    w0_f, lam_f, z_f, ar_f, a_f, b_f = (
        np.broadcast_to(v, shape).astype(float).ravel() for v in (w0, wavelength, z, a_r, a, b)
    )
    ln_eta = np.empty(w0_f.shape)
    free = (b_f == 0) & (a_f**2 >= _UNCLIPPED_APERTURE_TO_WAIST_SQUARED * w0_f**2)
    if np.any(free):  # an unclipped Gaussian beam: w(z) of Kogelnik & Li, exactly
        w = gaussian_beam_radius_m(w0_f[free], lam_f[free], z_f[free])
        ln_eta[free] = _ln_collection(w, 2.0 * ar_f[free])
    if np.any(~free):
        k = 2.0 * np.pi / (lam_f[~free] * 1e-9)
        clipped = (w0_f[~free], k, z_f[~free], a_f[~free], b_f[~free], ar_f[~free])
        ln_eta[~free] = _clipped_ln_collection_block(*clipped)  # Eqs. of [1], [3]
    return np.asarray(-_DB_PER_NEPER * ln_eta.reshape(shape) + 0.0, dtype=float)


def equivalent_gaussian_radius_m(
    collection_loss_db: npt.ArrayLike, aperture_diameter_m: npt.ArrayLike
) -> FloatArray:
    """Radius of the centred Gaussian spot that an aperture collects with a given loss.

    .. math:: W_\\mathrm{eq} = a \\sqrt{\\frac{2}{-\\ln(1 - \\eta)}}, \\quad
              \\eta = 10^{-L/10}, \\; a = D/2

    Parameters
    ----------
    collection_loss_db : array_like
        Collection loss −10 log10 η of the aperture. [dB, > 0]
    aperture_diameter_m : array_like
        Aperture diameter D. [m, > 0]

    Returns
    -------
    numpy.ndarray
        W_eq, the inverse of :func:`aperture_collection_loss_db`. [m]

    Notes
    -----
    Lets the turbulence and pointing terms, which broaden a Gaussian spot, act on a
    clipped beam's far field through the Gaussian that delivers the same power into the
    receiver (the central lobe of a clipped Gaussian is close to Gaussian [1]).

    References
    ----------
    .. [1] B. J. Klein, J. J. Degnan, Appl. Opt. 13, 2134 (1974), Figs. 2–4.
    """
    loss = nonnegative("collection_loss_db", collection_loss_db)
    a = positive("aperture_diameter_m", aperture_diameter_m) / 2.0
    with np.errstate(divide="ignore", under="ignore"):
        ln_eta = -np.maximum(loss, 1e-12) / _DB_PER_NEPER
        # −ln(1 − η) without cancellation: log1p(−η) for η = e^{ln η}
        neg_ln_miss = -np.log1p(-np.exp(ln_eta))
    return np.asarray(a * np.sqrt(2.0 / neg_ln_miss), dtype=float)


# --------------------------------------------------------------------------- turbulence


def fried_parameter_m(
    cn2_m_minus_2_3: npt.ArrayLike,
    wavelength_nm: npt.ArrayLike,
    path_length_m: npt.ArrayLike,
    wave: Literal["spherical", "plane"] = "spherical",
) -> FloatArray:
    """Fried parameter of a horizontal path with constant Cn².

    .. math::

        r_0 = \\left(0.423\\, k^2 C_n^2 L\\, g\\right)^{-3/5}, \\qquad
        g = 1 \\text{ (plane wave)}, \\; g = 3/8 \\text{ (spherical wave)}

    Parameters
    ----------
    cn2_m_minus_2_3 : array_like
        Refractive-index structure constant Cn²; ~1e-17 weak, ~1e-15 moderate,
        ~1e-13 strong (daytime near the ground). [m^-2/3, ≥ 0]
    wavelength_nm : array_like
        Vacuum wavelength λ, k = 2π/λ. [nm, > 0]
    path_length_m : array_like
        Path length L. [m, > 0]
    wave : {"spherical", "plane"}, optional
        Wave model. A beam launched from a small transmitter is a spherical wave for
        the receiver (default); "plane" gives the astronomical (seeing) r0.

    Returns
    -------
    numpy.ndarray
        Fried parameter r0; ``inf`` when Cn² = 0. [m]

    Notes
    -----
    Kolmogorov turbulence with inner scale ≪ r0 ≪ outer scale. The spherical-wave
    weighting ∫(1 − z/L)^{5/3}dz = 3L/8 (z from the source) gives g = 3/8.
    r0 = 2.1 ρ0 with ρ0 the coherence radius of [2].

    References
    ----------
    .. [1] D. L. Fried, "Optical resolution through a randomly inhomogeneous medium for
       very long and very short exposures", J. Opt. Soc. Am. 56, 1372 (1966).
    .. [2] L. C. Andrews, R. L. Phillips, *Laser Beam Propagation through Random Media*,
       2nd ed., SPIE Press (2005), Ch. 6 (ρ0 of plane and spherical waves).
    """
    if wave not in ("spherical", "plane"):
        raise ValueError(f"wave must be 'spherical' or 'plane'; got {wave!r}")
    cn2 = nonnegative("cn2_m_minus_2_3", cn2_m_minus_2_3)
    k = wavenumber_per_m(wavelength_nm)
    length = positive("path_length_m", path_length_m)
    g = 3.0 / 8.0 if wave == "spherical" else 1.0
    with np.errstate(divide="ignore"):
        return np.asarray((0.423 * k**2 * cn2 * length * g) ** (-3.0 / 5.0), dtype=float)


_path_fried_parameter_m = fried_parameter_m  # reachable where a parameter shadows the name


def rytov_variance(
    cn2_m_minus_2_3: npt.ArrayLike, wavelength_nm: npt.ArrayLike, path_length_m: npt.ArrayLike
) -> FloatArray:
    """Plane-wave Rytov variance, the strength of scintillation on a horizontal path.

    .. math:: \\sigma_R^2 = 1.23\\, C_n^2 k^{7/6} L^{11/6}

    Parameters
    ----------
    cn2_m_minus_2_3 : array_like
        Refractive-index structure constant Cn². [m^-2/3, ≥ 0]
    wavelength_nm : array_like
        Vacuum wavelength λ. [nm, > 0]
    path_length_m : array_like
        Path length L. [m, ≥ 0]

    Returns
    -------
    numpy.ndarray
        σ_R²; below 1 the weak-turbulence formulas of this module apply. [unitless]

    References
    ----------
    .. [1] L. C. Andrews, R. L. Phillips, *Laser Beam Propagation through Random Media*,
       2nd ed., SPIE Press (2005), Ch. 5 (Rytov variance of a plane wave).
    """
    cn2 = nonnegative("cn2_m_minus_2_3", cn2_m_minus_2_3)
    k = wavenumber_per_m(wavelength_nm)
    length = nonnegative("path_length_m", path_length_m)
    return np.asarray(1.23 * cn2 * k ** (7.0 / 6.0) * length ** (11.0 / 6.0), dtype=float)


def long_term_beam_radius_m(
    beam_radius_m: npt.ArrayLike,
    wavelength_nm: npt.ArrayLike,
    range_m: npt.ArrayLike,
    fried_parameter_m: npt.ArrayLike,
) -> FloatArray:
    """Long-term (time-averaged) beam radius of a Gaussian beam after turbulence.

    .. math::

        W_{LT}^2 = W^2 \\left(1 + 1.33\\, \\sigma_R^2 \\Lambda^{5/6}\\right), \\quad
        \\Lambda = \\frac{2L}{k W^2}, \\quad
        \\sigma_R^2 = 1.23\\, \\bar C_n^2 k^{7/6} L^{11/6}, \\quad
        \\bar C_n^2 = \\frac{r_0^{-5/3}}{0.423 \\cdot \\tfrac38 k^2 L}

    which is :math:`W_{LT}^2 = W^2 + 18.4\\, W^{1/3} (L / k r_0)^{5/3}`: the turbulent
    broadening (beam wander included) added to the diffraction-limited radius W.

    Parameters
    ----------
    beam_radius_m : array_like
        Diffraction-limited (vacuum) beam radius W at the receiver. [m, > 0]
    wavelength_nm : array_like
        Vacuum wavelength λ. [nm, > 0]
    range_m : array_like
        Path length L. [m, > 0]
    fried_parameter_m : array_like
        Spherical-wave Fried parameter r0 of the path, weighted from the transmitter
        (:func:`fried_parameter_m`, or for a slant path
        :func:`qcalc.physics.satellite.slant_fried_parameter_m`); ``inf`` for no
        turbulence. [m, > 0]

    Returns
    -------
    numpy.ndarray
        Long-term beam radius W_LT ≥ W. [m]

    Notes
    -----
    Weak-fluctuation theory (σ_R² ≲ 1 on horizontal paths; uplinks at zenith angles
    ≲ 60°). The path is described by the constant Cn² that has the same spherical-wave
    r0, so the same formula covers the horizontal path of [1] Ch. 6 and the slant paths
    of [1] Ch. 12, whose μ-moments enter only through that r0. In strong turbulence the
    broadening is underestimated.

    References
    ----------
    .. [1] L. C. Andrews, R. L. Phillips, *Laser Beam Propagation through Random Media*,
       2nd ed., SPIE Press (2005), Ch. 6 (long-term spot size W_LT of a Gaussian beam)
       and Ch. 12 (uplink and downlink).
    """
    w = positive("beam_radius_m", beam_radius_m)
    k = wavenumber_per_m(wavelength_nm)
    length = positive("range_m", range_m)
    r0 = as_array(fried_parameter_m)
    with np.errstate(invalid="ignore"):
        require(r0 > 0, "fried_parameter_m", r0, "> 0 (inf for no turbulence)")
    with np.errstate(divide="ignore", over="ignore", under="ignore"):
        cn2_equiv = r0 ** (-5.0 / 3.0) / (0.423 * 3.0 / 8.0 * k**2 * length)
        sigma_r2 = 1.23 * cn2_equiv * k ** (7.0 / 6.0) * length ** (11.0 / 6.0)
        big_lambda = 2.0 * length / (k * w**2)
        factor = 1.0 + 1.33 * sigma_r2 * big_lambda ** (5.0 / 6.0)  # W_LT of [1], Ch. 6
    return np.asarray(w * np.sqrt(factor), dtype=float)


def pointing_broadened_radius_m(
    beam_radius_m: npt.ArrayLike, pointing_jitter_urad: npt.ArrayLike, range_m: npt.ArrayLike
) -> FloatArray:
    """Effective radius of the time-averaged spot of a beam with Gaussian pointing jitter.

    .. math:: w_\\mathrm{eff}^2 = w^2 + 4 \\sigma_\\theta^2 L^2

    Parameters
    ----------
    beam_radius_m : array_like
        1/e² radius w of the (long-term) beam at the receiver. [m, > 0]
    pointing_jitter_urad : array_like
        RMS pointing jitter σ_θ per axis (random, zero-mean, Gaussian). [µrad, ≥ 0]
    range_m : array_like
        Path length L. [m, ≥ 0]

    Returns
    -------
    numpy.ndarray
        Radius of the mean intensity profile. [m]

    Notes
    -----
    A Gaussian spot exp(−2r²/w²) has variance w²/4 per axis; averaging it over Gaussian
    displacements of variance σ_θ²L² per axis gives a Gaussian of variance
    w²/4 + σ_θ²L², hence the formula. The mean collected power is then exactly
    1 − exp(−2a²/w_eff²); the result is the mean, not the fading statistics (for those
    see [2]). Equivalent to the far-field mean intensity loss θ²/(θ² + 4σ²) of [1].

    References
    ----------
    .. [1] M. Toyoshima, T. Jono, K. Nakagawa, A. Yamamoto, "Optimum divergence angle of
       a Gaussian beam wave in the presence of random jitter in free-space laser
       communication systems", J. Opt. Soc. Am. A 19, 567 (2002).
    .. [2] D. Yu. Vasylyev, A. A. Semenov, W. Vogel, "Toward global quantum communication:
       beam wandering preserves nonclassicality", Phys. Rev. Lett. 108, 220501 (2012).
    """
    w = positive("beam_radius_m", beam_radius_m)
    sigma_rad = nonnegative("pointing_jitter_urad", pointing_jitter_urad) * 1e-6
    length = nonnegative("range_m", range_m)
    return np.asarray(np.sqrt(w**2 + 4.0 * sigma_rad**2 * length**2), dtype=float)


def turbulence_loss_db(
    beam_radius_m: npt.ArrayLike,
    wavelength_nm: npt.ArrayLike,
    range_m: npt.ArrayLike,
    fried_parameter_m: npt.ArrayLike,
    aperture_diameter_m: npt.ArrayLike,
) -> FloatArray:
    """Extra collection loss from turbulent beam broadening, relative to diffraction only.

    .. math:: L_\\mathrm{turb} = L_\\mathrm{coll}(W_{LT}) - L_\\mathrm{coll}(W)

    Parameters
    ----------
    beam_radius_m : array_like
        Diffraction-limited beam radius W at the receiver. [m, > 0]
    wavelength_nm : array_like
        Vacuum wavelength. [nm, > 0]
    range_m : array_like
        Path length. [m, > 0]
    fried_parameter_m : array_like
        Spherical-wave Fried parameter of the path (``inf``: none). [m, > 0]
    aperture_diameter_m : array_like
        Receiver aperture diameter. [m, > 0]

    Returns
    -------
    numpy.ndarray
        Turbulence loss term. [dB, ≥ 0]

    References
    ----------
    .. [1] L. C. Andrews, R. L. Phillips, *Laser Beam Propagation through Random Media*,
       2nd ed., SPIE Press (2005), Ch. 6 (W_LT), with the collection of
       :func:`aperture_collection_loss_db`.
    """
    w_lt = long_term_beam_radius_m(beam_radius_m, wavelength_nm, range_m, fried_parameter_m)
    return _extra_loss_db(beam_radius_m, w_lt, aperture_diameter_m)


def pointing_loss_db(
    beam_radius_m: npt.ArrayLike,
    pointing_jitter_urad: npt.ArrayLike,
    range_m: npt.ArrayLike,
    aperture_diameter_m: npt.ArrayLike,
) -> FloatArray:
    """Extra mean collection loss from Gaussian pointing jitter, relative to no jitter.

    .. math:: L_\\mathrm{point} = L_\\mathrm{coll}(\\sqrt{w^2 + 4\\sigma_\\theta^2L^2})
              - L_\\mathrm{coll}(w)

    Parameters
    ----------
    beam_radius_m : array_like
        Beam radius w at the receiver without jitter (long-term if turbulent). [m, > 0]
    pointing_jitter_urad : array_like
        RMS pointing jitter per axis. [µrad, ≥ 0]
    range_m : array_like
        Path length. [m, ≥ 0]
    aperture_diameter_m : array_like
        Receiver aperture diameter. [m, > 0]

    Returns
    -------
    numpy.ndarray
        Pointing loss term. [dB, ≥ 0]

    References
    ----------
    .. [1] M. Toyoshima et al., J. Opt. Soc. Am. A 19, 567 (2002); see
       :func:`pointing_broadened_radius_m`.
    """
    w_eff = pointing_broadened_radius_m(beam_radius_m, pointing_jitter_urad, range_m)
    return _extra_loss_db(beam_radius_m, w_eff, aperture_diameter_m)


def _extra_loss_db(
    w_ref: npt.ArrayLike, w_wide: npt.ArrayLike, aperture_diameter_m: npt.ArrayLike
) -> FloatArray:
    """Collection loss of the wider beam minus that of the reference beam (≥ 0)."""
    ln_ref = _ln_collection(w_ref, aperture_diameter_m)
    ln_wide = _ln_collection(w_wide, aperture_diameter_m)
    return np.asarray(np.maximum(_DB_PER_NEPER * (ln_ref - ln_wide), 0.0), dtype=float)


# --------------------------------------------------------------------------- weather


def beer_lambert_transmittance(
    attenuation_db_per_km: npt.ArrayLike, length_km: npt.ArrayLike
) -> FloatArray:
    """Transmittance of a homogeneous absorbing and scattering path (Beer–Lambert).

    .. math:: T = 10^{-\\alpha_\\mathrm{dB} L / 10} = e^{-\\beta L}

    Parameters
    ----------
    attenuation_db_per_km : array_like
        Extinction coefficient α_dB (e.g. :func:`kim_attenuation_db_per_km`). [dB/km, ≥ 0]
    length_km : array_like
        Path length L. [km, ≥ 0]

    Returns
    -------
    numpy.ndarray
        Transmittance T (underflows to exactly 0 beyond about 3,230 dB). [unitless, 0..1]

    References
    ----------
    .. [1] I. I. Kim, B. McArthur, E. Korevaar, "Comparison of laser beam propagation at
       785 nm and 1550 nm in fog and haze for optical wireless communications",
       Proc. SPIE 4214, 26 (2001) (τ(R) = exp(−σR), Beer's law).
    """
    alpha = nonnegative("attenuation_db_per_km", attenuation_db_per_km)
    length = nonnegative("length_km", length_km)
    with np.errstate(under="ignore"):
        return np.asarray(np.power(10.0, -alpha * length / 10.0), dtype=float)  # Beer's law of [1]


def kim_size_distribution_q(visibility_km: npt.ArrayLike) -> FloatArray:
    """Exponent q of the particle size distribution in the Kim model, by visibility band.

    .. math::

        q = \\begin{cases} 1.6 & V > 50 \\text{ km} \\\\ 1.3 & 6 < V \\le 50 \\\\
        0.16 V + 0.34 & 1 < V \\le 6 \\\\ V - 0.5 & 0.5 < V \\le 1 \\\\
        0 & V \\le 0.5 \\end{cases}

    Parameters
    ----------
    visibility_km : array_like
        Meteorological visibility V (2 % contrast, 550 nm). [km, > 0]

    Returns
    -------
    numpy.ndarray
        Exponent q. [unitless]

    References
    ----------
    .. [1] I. I. Kim, B. McArthur, E. Korevaar, Proc. SPIE 4214, 26 (2001) (q by band).
    """
    v = positive("visibility_km", visibility_km)
    q = np.select(  # q(V) of [1]
        [v > 50.0, v > 6.0, v > 1.0, v > 0.5],
        [np.full_like(v, 1.6), np.full_like(v, 1.3), 0.16 * v + 0.34, v - 0.5],
        default=0.0,
    )
    return np.asarray(q, dtype=float)


def kim_attenuation_db_per_km(
    visibility_km: npt.ArrayLike, wavelength_nm: npt.ArrayLike
) -> FloatArray:
    """Atmospheric extinction in haze and fog from the visibility (Kim model).

    .. math::

        \\beta = \\frac{3.91}{V} \\left(\\frac{\\lambda}{550\\,\\mathrm{nm}}\\right)^{-q(V)},
        \\qquad \\alpha_\\mathrm{dB} = 10 \\log_{10}(e)\\, \\beta

    Parameters
    ----------
    visibility_km : array_like
        Meteorological visibility V. [km, > 0]
    wavelength_nm : array_like
        Wavelength λ. [nm, > 0]

    Returns
    -------
    numpy.ndarray
        Extinction coefficient. [dB/km]

    Notes
    -----
    3.91 = −ln 0.02: at 550 nm the transmittance over one visibility length is the 2 %
    contrast threshold that defines V. Scattering by haze and fog only (Mie regime,
    0.5–2 µm); rain, snow and molecular absorption lines are not included. Below
    V = 0.5 km (dense fog) the attenuation is wavelength independent.

    References
    ----------
    .. [1] I. I. Kim, B. McArthur, E. Korevaar, "Comparison of laser beam propagation at
       785 nm and 1550 nm in fog and haze for optical wireless communications",
       Proc. SPIE 4214, 26 (2001) (β(λ, V) and q(V)).
    """
    v = positive("visibility_km", visibility_km)
    wavelength = positive("wavelength_nm", wavelength_nm)
    q = kim_size_distribution_q(v)
    beta_per_km = 3.91 / v * (wavelength / 550.0) ** (-q)  # β(λ, V) of [1]
    return np.asarray(_DB_PER_NEPER * beta_per_km, dtype=float)


# --------------------------------------------------------------------------- background light

# Zero-magnitude spectral irradiance of the Cousins I band (λ_eff ≈ 800 nm):
# 112.6e-11 erg cm⁻² s⁻¹ Å⁻¹ = 1.126e-11 W m⁻² nm⁻¹ (Bessell, Castelli, Plez,
# A&A 333, 231 (1998), Table A2).
_I_BAND_ZERO_POINT_W_M2_NM = 1.126e-11
_SR_PER_ARCSEC2 = (np.pi / (180.0 * 3600.0)) ** 2


def _sky_radiance_from_mag(mag_per_arcsec2: float) -> float:
    """Spectral radiance of a sky of surface brightness m [mag/arcsec²] in the I band."""
    return float(_I_BAND_ZERO_POINT_W_M2_NM * 10.0 ** (-0.4 * mag_per_arcsec2) / _SR_PER_ARCSEC2)


#: Typical spectral radiance of the clear sky near 800 nm, looking away from Sun and
#: Moon. [W m⁻² sr⁻¹ nm⁻¹]
SKY_RADIANCE_W_M2_SR_NM: dict[str, float] = {
    # Moonless night, dark site: I = 20.0 mag/arcsec² at La Palma (Benn & Ellison,
    # New Astron. Rev. 42, 503 (1998), Table 1) → 4.8e-9.
    "night_moonless": _sky_radiance_from_mag(20.0),
    # Full moon 45° from the line of sight: I ≈ 18.0 mag/arcsec², scattered-moonlight
    # model of Jones et al., A&A 560, A91 (2013) (ESO SkyCalc) → 3.0e-8.
    "night_full_moon": _sky_radiance_from_mag(18.0),
    # Clear day, order of magnitude only: diffuse sky irradiance ≈ 0.03–0.06 W m⁻² nm⁻¹
    # near 800 nm (Rayleigh + aerosol optical depth ≈ 0.1 of a 1.1 W m⁻² nm⁻¹ solar
    # spectrum) spread over π sr. Varies by 10× with aerosol load and Sun angle.
    "day_clear": 1.0e-2,
}


def background_counts_per_window(
    sky_radiance_w_m2_sr_nm: npt.ArrayLike,
    field_of_view_urad: npt.ArrayLike,
    aperture_m: npt.ArrayLike,
    filter_bandwidth_nm: npt.ArrayLike,
    gate_window_ns: npt.ArrayLike,
    wavelength_nm: npt.ArrayLike,
    receiver_efficiency: npt.ArrayLike = 1.0,
) -> FloatArray:
    """Mean number of sky-background photons registered per detection window.

    .. math::

        N_b = \\eta_\\mathrm{rx} \\frac{H_b\\, \\Omega\\, A\\, \\Delta\\lambda\\, \\Delta t}
              {h c / \\lambda}, \\quad \\Omega = 4\\pi \\sin^2(\\theta_\\mathrm{FOV}/4),
        \\quad A = \\pi D^2 / 4

    Parameters
    ----------
    sky_radiance_w_m2_sr_nm : array_like
        Sky spectral radiance H_b (see :data:`SKY_RADIANCE_W_M2_SR_NM`).
        [W m⁻² sr⁻¹ nm⁻¹, ≥ 0]
    field_of_view_urad : array_like
        Full-angle receiver field of view θ_FOV. [µrad, ≥ 0]
    aperture_m : array_like
        Receiver aperture diameter D. [m, > 0]
    filter_bandwidth_nm : array_like
        Spectral filter bandwidth Δλ. [nm, ≥ 0]
    gate_window_ns : array_like
        Detection (gate or coincidence) window Δt. [ns, ≥ 0]
    wavelength_nm : array_like
        Centre wavelength λ. [nm, > 0]
    receiver_efficiency : array_like, optional
        Fraction of collected photons that make a click (optics × detector). [0..1]

    Returns
    -------
    numpy.ndarray
        Mean background counts per window; for N_b ≪ 1 this is the probability to add
        to the dark-count probability. [photons/window]

    Notes
    -----
    Radiometry of an extended, uniform source filling the field of view (étendue
    A·Ω); valid when the filter is narrow enough that H_b is constant across it.

    References
    ----------
    .. [1] E.-L. Miao, Z.-F. Han, S.-S. Gong, T. Zhang, D.-S. Diao, G.-C. Guo,
       "Background noise of satellite-to-ground quantum key distribution",
       New J. Phys. 7, 215 (2005).
    .. [2] J.-P. Bourgoin et al., "A comprehensive design and performance analysis of
       low Earth orbit satellite quantum communication", New J. Phys. 15, 023006 (2013).
    """
    radiance = nonnegative("sky_radiance_w_m2_sr_nm", sky_radiance_w_m2_sr_nm)
    fov_rad = nonnegative("field_of_view_urad", field_of_view_urad) * 1e-6
    area_m2 = np.pi * positive("aperture_m", aperture_m) ** 2 / 4.0
    bandwidth = nonnegative("filter_bandwidth_nm", filter_bandwidth_nm)
    window_s = nonnegative("gate_window_ns", gate_window_ns) * 1e-9
    photon_energy_j = (
        PLANCK_J_S * SPEED_OF_LIGHT_M_PER_S / (positive("wavelength_nm", wavelength_nm) * 1e-9)
    )
    eta = as_array(receiver_efficiency)
    require((eta >= 0) & (eta <= 1), "receiver_efficiency", eta, "in [0, 1]")
    solid_angle_sr = 4.0 * np.pi * np.sin(fov_rad / 4.0) ** 2  # cone of half-angle θ/2
    energy_j = radiance * solid_angle_sr * area_m2 * bandwidth * window_s
    return np.asarray(eta * energy_j / photon_energy_j, dtype=float)


# --------------------------------------------------------------------------- budget


@record(frozen=True)
class OpticalLinkTerms:
    """Named loss terms of an optical link, each a positive number of decibels.

    Attributes hold arrays of the broadcast input shape. ``terms_db()`` gives them by
    name for a report; :attr:`total_db` is their explicit sum.
    """

    range_km: FloatArray
    diffraction_db: FloatArray
    turbulence_db: FloatArray
    pointing_db: FloatArray
    atmosphere_db: FloatArray
    receiver_db: FloatArray
    beam_radius_m: FloatArray  # mean (long-term, jitter-averaged) spot radius at receiver
    #: Power lost at the transmit aperture; None when no transmit aperture is modelled.
    clipping_db: FloatArray | None = None

    #: Model behind each term, for the report.
    SOURCES: ClassVar[dict[str, str]] = {
        "clipping": "Gaussian beam clipped by the transmit aperture, Klein & Degnan, "
        "Appl. Opt. 13, 2134 (1974)",
        "diffraction": "Gaussian beam collection, Siegman, Lasers (1986) Ch. 17",
        "turbulence": "long-term beam spread, Andrews & Phillips (2005) Ch. 6/12",
        "pointing": "Gaussian jitter, Toyoshima et al., JOSA A 19, 567 (2002)",
        "atmosphere": "Beer–Lambert extinction",
        "receiver": "receiver optics efficiency",
    }

    def terms_db(self) -> dict[str, FloatArray]:
        """The terms by name: (clipping,) diffraction, turbulence, pointing, atmosphere,
        receiver; "clipping" only where a transmit aperture is modelled."""
        clipping = {} if self.clipping_db is None else {"clipping": self.clipping_db}
        return {
            **clipping,
            "diffraction": self.diffraction_db,
            "turbulence": self.turbulence_db,
            "pointing": self.pointing_db,
            "atmosphere": self.atmosphere_db,
            "receiver": self.receiver_db,
        }

    @property
    def total_db(self) -> FloatArray:
        """Sum of all terms. [dB]"""
        total = self.diffraction_db + self.turbulence_db + self.pointing_db
        if self.clipping_db is not None:
            total = total + self.clipping_db
        return np.asarray(total + self.atmosphere_db + self.receiver_db, dtype=float)

    @property
    def transmittance(self) -> FloatArray:
        """10^(−total/10); underflows to 0 beyond about 3,230 dB. [unitless, 0..1]"""
        with np.errstate(under="ignore"):
            return np.asarray(np.power(10.0, -self.total_db / 10.0), dtype=float)


def optical_link_terms(
    range_km: npt.ArrayLike,
    diffraction_db: npt.ArrayLike,
    turbulence_db: npt.ArrayLike,
    pointing_db: npt.ArrayLike,
    atmosphere_db: npt.ArrayLike,
    receiver_db: npt.ArrayLike,
    beam_radius_m: npt.ArrayLike,
    clipping_db: npt.ArrayLike | None = None,
) -> OpticalLinkTerms:
    """:class:`OpticalLinkTerms` with every term broadcast to one shape (clipping too)."""
    items = [range_km, diffraction_db, turbulence_db, pointing_db, atmosphere_db, receiver_db]
    items.append(beam_radius_m)
    if clipping_db is not None:
        items.append(clipping_db)
    arrays = [np.asarray(a, dtype=float) for a in np.broadcast_arrays(*items)]
    return OpticalLinkTerms(
        range_km=arrays[0],
        diffraction_db=arrays[1],
        turbulence_db=arrays[2],
        pointing_db=arrays[3],
        atmosphere_db=arrays[4],
        receiver_db=arrays[5],
        beam_radius_m=arrays[6],
        clipping_db=arrays[7] if clipping_db is not None else None,
    )


def geometric_terms_db(
    beam_radius_m: npt.ArrayLike,
    wavelength_nm: npt.ArrayLike,
    range_m: npt.ArrayLike,
    aperture_diameter_m: npt.ArrayLike,
    fried_parameter_m: npt.ArrayLike = np.inf,
    pointing_jitter_urad: npt.ArrayLike = 0.0,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Diffraction, turbulence and pointing losses of a beam at a receiver aperture.

    .. math::

        L_\\mathrm{diff} = L_\\mathrm{coll}(W), \\;
        L_\\mathrm{turb} = L_\\mathrm{coll}(W_{LT}) - L_\\mathrm{coll}(W), \\;
        L_\\mathrm{point} = L_\\mathrm{coll}(W_\\mathrm{eff}) - L_\\mathrm{coll}(W_{LT})

    with :math:`W_\\mathrm{eff}^2 = W_{LT}^2 + 4\\sigma_\\theta^2 L^2`; the three add up to
    the collection loss of the mean spot.

    Parameters
    ----------
    beam_radius_m : array_like
        Vacuum (diffraction-limited) beam radius W at the receiver. [m, > 0]
    wavelength_nm : array_like
        Vacuum wavelength. [nm, > 0]
    range_m : array_like
        Path length L. [m, > 0]
    aperture_diameter_m : array_like
        Receiver aperture diameter. [m, > 0]
    fried_parameter_m : array_like, optional
        Spherical-wave Fried parameter of the path; ``inf`` (default) for none. [m, > 0]
    pointing_jitter_urad : array_like, optional
        RMS pointing jitter per axis. [µrad, ≥ 0]

    Returns
    -------
    tuple of numpy.ndarray
        (diffraction_db, turbulence_db, pointing_db, mean spot radius W_eff [m]).

    References
    ----------
    .. [1] A. E. Siegman, *Lasers* (1986), Ch. 17;
       L. C. Andrews, R. L. Phillips (2005), Ch. 6; M. Toyoshima et al.,
       J. Opt. Soc. Am. A 19, 567 (2002).
    """
    w = positive("beam_radius_m", beam_radius_m)
    w_lt = long_term_beam_radius_m(w, wavelength_nm, range_m, fried_parameter_m)
    w_eff = pointing_broadened_radius_m(w_lt, pointing_jitter_urad, range_m)
    diffraction = aperture_collection_loss_db(w, aperture_diameter_m)
    turbulence = _extra_loss_db(w, w_lt, aperture_diameter_m)
    pointing = _extra_loss_db(w_lt, w_eff, aperture_diameter_m)
    return diffraction, turbulence, pointing, w_eff


def clipped_geometric_terms_db(
    beam_waist_m: npt.ArrayLike,
    wavelength_nm: npt.ArrayLike,
    range_m: npt.ArrayLike,
    tx_aperture_m: npt.ArrayLike,
    rx_aperture_m: npt.ArrayLike,
    fried_parameter_m: npt.ArrayLike = np.inf,
    pointing_jitter_urad: npt.ArrayLike = 0.0,
    tx_obscuration_m: npt.ArrayLike = 0.0,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Clipping, diffraction, turbulence and pointing losses of a beam clipped at launch.

    .. math::

        L_\\mathrm{coll}(W_\\mathrm{eq}) = L_\\mathrm{diff}, \\quad
        L_\\mathrm{turb} = L_\\mathrm{coll}(W_{LT}) - L_\\mathrm{coll}(W_\\mathrm{eq}), \\quad
        L_\\mathrm{point} = L_\\mathrm{coll}(W_\\mathrm{eff}) - L_\\mathrm{coll}(W_{LT})

    with L_clip from :func:`transmit_clipping_loss_db`, L_diff from
    :func:`clipped_beam_collection_loss_db`, and W_LT, W_eff broadening W_eq as in
    :func:`geometric_terms_db`.

    Parameters
    ----------
    beam_waist_m : array_like
        1/e² radius w0 of the Gaussian beam at the transmit aperture. [m, > 0]
    wavelength_nm : array_like
        Vacuum wavelength. [nm, > 0]
    range_m : array_like
        Path length. [m, > 0]
    tx_aperture_m : array_like
        Transmit aperture diameter. [m, > 0]
    rx_aperture_m : array_like
        Receive aperture diameter. [m, > 0]
    fried_parameter_m : array_like, optional
        Spherical-wave Fried parameter of the path; ``inf`` (default) for none. [m, > 0]
    pointing_jitter_urad : array_like, optional
        RMS pointing jitter per axis. [µrad, ≥ 0]
    tx_obscuration_m : array_like, optional
        Central obscuration diameter of the transmitter. [m, ≥ 0]

    Returns
    -------
    tuple of numpy.ndarray
        (clipping_db, diffraction_db, turbulence_db, pointing_db, mean spot radius [m]).

    Notes
    -----
    The diffraction term is exact (paraxial) for the clipped beam; turbulence and
    pointing broaden the Gaussian spot W_eq that delivers the same power into the
    receiver (:func:`equivalent_gaussian_radius_m`), an approximation that is exact for
    an unclipped beam.

    References
    ----------
    See :func:`transmit_clipping_loss_db`, :func:`clipped_beam_collection_loss_db` and
    :func:`geometric_terms_db`.
    """
    clipping = transmit_clipping_loss_db(beam_waist_m, tx_aperture_m, tx_obscuration_m)
    diffraction = clipped_beam_collection_loss_db(
        beam_waist_m, wavelength_nm, range_m, tx_aperture_m, rx_aperture_m, tx_obscuration_m
    )
    w_eq = equivalent_gaussian_radius_m(diffraction, rx_aperture_m)
    _, turbulence, pointing, w_eff = geometric_terms_db(
        w_eq, wavelength_nm, range_m, rx_aperture_m, fried_parameter_m, pointing_jitter_urad
    )
    return clipping, diffraction, turbulence, pointing, w_eff


def receiver_loss_db(receiver_efficiency: npt.ArrayLike) -> FloatArray:
    """Loss of the receiver optics, −10 log10 η_rx. [dB, ≥ 0] for η_rx in (0, 1]."""
    eta = efficiency("receiver_efficiency", receiver_efficiency)
    return np.asarray(-10.0 * np.log10(eta) + 0.0, dtype=float)


def free_space_link_budget(
    length_km: npt.ArrayLike,
    wavelength_nm: npt.ArrayLike,
    tx_beam_waist_m: npt.ArrayLike,
    rx_aperture_m: npt.ArrayLike,
    atmospheric_attenuation_db_per_km: npt.ArrayLike = 0.0,
    pointing_jitter_urad: npt.ArrayLike = 0.0,
    cn2_m_minus_2_3: npt.ArrayLike | None = None,
    fried_parameter_m: npt.ArrayLike | None = None,
    receiver_efficiency: npt.ArrayLike = 1.0,
    tx_aperture_m: npt.ArrayLike | None = None,
    tx_obscuration_m: npt.ArrayLike = 0.0,
) -> OpticalLinkTerms:
    """Loss budget of a terrestrial (horizontal) free-space link, as named terms.

    .. math::

        L = [L_\\mathrm{clip}] + L_\\mathrm{coll}(w(L)) + L_\\mathrm{turb}
            + L_\\mathrm{point} + \\alpha_\\mathrm{dB} L - 10\\log_{10}\\eta_\\mathrm{rx}

    Parameters
    ----------
    length_km : array_like
        Link length. [km, > 0]
    wavelength_nm : array_like
        Wavelength. [nm, > 0]
    tx_beam_waist_m : array_like
        Transmitter beam waist w0 (1/e² radius, at the transmitter). [m, > 0]
    rx_aperture_m : array_like
        Receiver aperture diameter. [m, > 0]
    atmospheric_attenuation_db_per_km : array_like, optional
        Beer–Lambert extinction, e.g. :func:`kim_attenuation_db_per_km`. [dB/km, ≥ 0]
    pointing_jitter_urad : array_like, optional
        RMS pointing jitter per axis. [µrad, ≥ 0]
    cn2_m_minus_2_3 : array_like, optional
        Constant Cn² of the path; turns on turbulence via the spherical-wave r0.
        [m^-2/3, ≥ 0]
    fried_parameter_m : array_like, optional
        Spherical-wave r0 of the path, instead of Cn² (not both). [m, > 0]
    receiver_efficiency : array_like, optional
        Receiver optics efficiency. [unitless, (0, 1]]
    tx_aperture_m : array_like, optional
        Transmit aperture diameter; when given the beam is clipped by it (terms
        "clipping" and a Fresnel-integral "diffraction", see
        :func:`clipped_geometric_terms_db`). Default: an unclipped Gaussian. [m, > 0]
    tx_obscuration_m : array_like, optional
        Central obscuration diameter of the transmit aperture. [m, ≥ 0]

    Returns
    -------
    OpticalLinkTerms
        Named terms in dB (clipping when a transmit aperture is given, diffraction,
        turbulence, pointing, atmosphere, receiver), range and mean spot radius.

    References
    ----------
    See :func:`gaussian_beam_radius_m`, :func:`geometric_terms_db`,
    :func:`clipped_geometric_terms_db`, :func:`fried_parameter_m` and
    :func:`beer_lambert_transmittance`.
    """
    if cn2_m_minus_2_3 is not None and fried_parameter_m is not None:
        raise ValueError("give cn2_m_minus_2_3 or fried_parameter_m, not both")
    length_km_arr = positive("length_km", length_km)
    range_m = length_km_arr * 1e3
    r0: FloatArray = np.asarray(np.inf)
    if cn2_m_minus_2_3 is not None:
        r0 = _path_fried_parameter_m(cn2_m_minus_2_3, wavelength_nm, range_m, "spherical")
    elif fried_parameter_m is not None:
        r0 = as_array(fried_parameter_m)
    clipping: FloatArray | None = None
    if tx_aperture_m is None:
        w = gaussian_beam_radius_m(tx_beam_waist_m, wavelength_nm, range_m)
        diffraction, turbulence, pointing, w_eff = geometric_terms_db(
            w, wavelength_nm, range_m, rx_aperture_m, r0, pointing_jitter_urad
        )
    else:
        clipping, diffraction, turbulence, pointing, w_eff = clipped_geometric_terms_db(
            tx_beam_waist_m,
            wavelength_nm,
            range_m,
            tx_aperture_m,
            rx_aperture_m,
            r0,
            pointing_jitter_urad,
            tx_obscuration_m,
        )
    alpha = nonnegative("atmospheric_attenuation_db_per_km", atmospheric_attenuation_db_per_km)
    atmosphere = alpha * length_km_arr  # Beer–Lambert in dB (Kim et al. 2001)
    receiver = receiver_loss_db(receiver_efficiency)
    return optical_link_terms(
        length_km_arr, diffraction, turbulence, pointing, atmosphere, receiver, w_eff, clipping
    )
