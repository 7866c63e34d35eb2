"""Ground–satellite optical links: geometry, atmosphere, turbulence and whole passes.

The orbit is circular and Earth's rotation is ignored during a pass (a LEO pass lasts
minutes, in which the ground station moves ~0.3° of longitude). The atmosphere is thin
compared with the orbit (plane-parallel for air mass and turbulence weighting).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Literal

import numpy as np
import numpy.typing as npt

from qcalc.constants import EARTH_GM_KM3_PER_S2, EARTH_RADIUS_KM
from qcalc.physics.freespace import (
    OpticalLinkTerms,
    clipped_geometric_terms_db,
    geometric_terms_db,
    optical_link_terms,
    receiver_loss_db,
)
from qcalc.physics.optics import as_array, nonnegative, positive, require, wavenumber_per_m

FloatArray = npt.NDArray[np.float64]
Direction = Literal["downlink", "uplink"]
AirMassModel = Literal["plane_parallel", "kasten_young"]


def _elevation(name: str, value: npt.ArrayLike, *, allow_zero: bool = True) -> FloatArray:
    arr = as_array(value)
    low_ok = arr >= 0 if allow_zero else arr > 0
    with np.errstate(invalid="ignore"):
        require(low_ok & (arr <= 90), name, arr, "in [0, 90]" if allow_zero else "in (0, 90]")
    return arr


# --------------------------------------------------------------------------- geometry


def slant_range_km(
    altitude_km: npt.ArrayLike,
    elevation_deg: npt.ArrayLike,
    earth_radius_km: npt.ArrayLike = EARTH_RADIUS_KM,
) -> FloatArray:
    """Distance from a ground station to a satellite seen at a given elevation.

    .. math:: d = \\sqrt{(R + h)^2 - R^2 \\cos^2 \\varepsilon} - R \\sin \\varepsilon

    Parameters
    ----------
    altitude_km : array_like
        Satellite altitude h above the (spherical) Earth. [km, > 0]
    elevation_deg : array_like
        Elevation ε of the satellite above the horizon. [deg, 0..90]
    earth_radius_km : array_like, optional
        Earth radius R; mean radius 6371 km by default. [km, > 0]

    Returns
    -------
    numpy.ndarray
        Slant range d (h at zenith). [km]

    Notes
    -----
    Law of cosines in the triangle Earth centre–station–satellite, spherical Earth,
    station at sea level, no refraction.

    References
    ----------
    .. [1] J. R. Wertz, W. J. Larson (eds.), *Space Mission Analysis and Design*, 3rd ed.,
       Microcosm (1999), Sec. 5.2 (Earth geometry viewed from space).
    """
    h = positive("altitude_km", altitude_km)
    eps = np.radians(_elevation("elevation_deg", elevation_deg))
    r_e = positive("earth_radius_km", earth_radius_km)
    d = np.sqrt((r_e + h) ** 2 - (r_e * np.cos(eps)) ** 2) - r_e * np.sin(eps)  # [1]
    return np.asarray(d, dtype=float)


def elevation_from_slant_range_deg(
    altitude_km: npt.ArrayLike,
    slant_range_km: npt.ArrayLike,
    earth_radius_km: npt.ArrayLike = EARTH_RADIUS_KM,
) -> FloatArray:
    """Elevation at which a satellite appears at a given slant range (inverse of the above).

    .. math:: \\sin \\varepsilon = \\frac{(R + h)^2 - R^2 - d^2}{2 R d}

    Parameters
    ----------
    altitude_km : array_like
        Satellite altitude h. [km, > 0]
    slant_range_km : array_like
        Slant range d, between h (zenith) and the horizon range. [km, > 0]
    earth_radius_km : array_like, optional
        Earth radius R. [km, > 0]

    Returns
    -------
    numpy.ndarray
        Elevation ε. [deg]

    References
    ----------
    .. [1] J. R. Wertz, W. J. Larson (eds.), *Space Mission Analysis and Design*, 3rd ed.
       (1999), Sec. 5.2.
    """
    h = positive("altitude_km", altitude_km)
    d = positive("slant_range_km", slant_range_km)
    r_e = positive("earth_radius_km", earth_radius_km)
    sin_eps = ((r_e + h) ** 2 - r_e**2 - d**2) / (2.0 * r_e * d)  # law of cosines, [1]
    horizon_km = np.sqrt((r_e + h) ** 2 - r_e**2)
    ok = (d >= h * (1 - 1e-12)) & (d <= horizon_km * (1 + 1e-12))
    require(ok, "slant_range_km", d, "between the altitude and the horizon range")
    return np.asarray(np.degrees(np.arcsin(np.clip(sin_eps, 0.0, 1.0))), dtype=float)


def zenith_angle_deg(elevation_deg: npt.ArrayLike) -> FloatArray:
    """Zenith angle ζ = 90° − ε of a satellite at elevation ε. [deg]"""
    return np.asarray(90.0 - _elevation("elevation_deg", elevation_deg), dtype=float)


# --------------------------------------------------------------------------- atmosphere


def air_mass(elevation_deg: npt.ArrayLike, model: AirMassModel = "plane_parallel") -> FloatArray:
    """Relative optical air mass along the line of sight.

    .. math::

        m_\\mathrm{pp} = \\frac{1}{\\sin \\varepsilon}, \\qquad
        m_\\mathrm{KY} = \\frac{1}{\\sin\\varepsilon + 0.50572\\,
        (\\varepsilon + 6.07995^\\circ)^{-1.6364}}

    Parameters
    ----------
    elevation_deg : array_like
        Elevation ε (apparent). [deg, (0, 90]; 0 allowed for "kasten_young"]
    model : {"plane_parallel", "kasten_young"}, optional
        "plane_parallel" (sec ζ, the SPEC default; within 1 % of the spherical
        atmosphere above ε ≈ 15° and within 4 % at 10°) or "kasten_young" (a fit to a
        refracting spherical ISO 1976 atmosphere, finite down to the horizon, m ≈ 38).

    Returns
    -------
    numpy.ndarray
        Air mass, 1 at zenith. [unitless, ≥ 1]

    References
    ----------
    .. [1] F. Kasten, A. T. Young, "Revised optical air mass tables and approximation
       formula", Appl. Opt. 28, 4735 (1989) (the approximation formula of the abstract,
       a = 0.50572, b = 6.07995°, c = 1.6364).
    """
    if model not in ("plane_parallel", "kasten_young"):
        raise ValueError(f"model must be 'plane_parallel' or 'kasten_young'; got {model!r}")
    eps = _elevation("elevation_deg", elevation_deg, allow_zero=model == "kasten_young")
    if model == "plane_parallel":
        return np.asarray(1.0 / np.sin(np.radians(eps)), dtype=float)
    denom = np.sin(np.radians(eps)) + 0.50572 * (eps + 6.07995) ** -1.6364  # formula of [1]
    return np.asarray(1.0 / denom, dtype=float)


def atmospheric_loss_db(
    zenith_transmittance: npt.ArrayLike,
    elevation_deg: npt.ArrayLike,
    model: AirMassModel = "plane_parallel",
) -> FloatArray:
    """Atmospheric extinction loss at elevation ε, computed in log space.

    .. math:: L_\\mathrm{dB} = -10 \\log_{10}(T_\\mathrm{zenith})\\; m(\\varepsilon)

    Parameters
    ----------
    zenith_transmittance : array_like
        Transmittance of the whole atmosphere at zenith (≈ 0.7–0.9 at 800 nm in clear
        air, site dependent). [unitless, (0, 1]]
    elevation_deg : array_like
        Elevation ε. [deg, (0, 90]]
    model : {"plane_parallel", "kasten_young"}, optional
        Air-mass model, see :func:`air_mass`.

    Returns
    -------
    numpy.ndarray
        Loss. [dB, ≥ 0]

    References
    ----------
    .. [1] J.-P. Bourgoin et al., "A comprehensive design and performance analysis of
       low Earth orbit satellite quantum communication", New J. Phys. 15, 023006 (2013),
       Sec. 2 (atmospheric transmittance scaled from zenith by the air mass).
    .. [2] F. Kasten, A. T. Young, Appl. Opt. 28, 4735 (1989).
    """
    t0 = as_array(zenith_transmittance)
    require((t0 > 0) & (t0 <= 1), "zenith_transmittance", t0, "in (0, 1]")
    return np.asarray(-10.0 * np.log10(t0) * air_mass(elevation_deg, model) + 0.0, dtype=float)


def atmospheric_transmittance(
    zenith_transmittance: npt.ArrayLike,
    elevation_deg: npt.ArrayLike,
    model: AirMassModel = "plane_parallel",
) -> FloatArray:
    """Atmospheric transmittance along a slant path.

    .. math:: T(\\varepsilon) = T_\\mathrm{zenith}^{\\,m(\\varepsilon)}
              = T_\\mathrm{zenith}^{\\,1/\\sin\\varepsilon} \\text{ (plane-parallel)}

    Parameters
    ----------
    zenith_transmittance : array_like
        Transmittance at zenith. [unitless, (0, 1]]
    elevation_deg : array_like
        Elevation ε. [deg, (0, 90]]
    model : {"plane_parallel", "kasten_young"}, optional
        Air-mass model, see :func:`air_mass`; plane-parallel is good above ε ≈ 15°.

    Returns
    -------
    numpy.ndarray
        Transmittance. [unitless, 0..1]

    References
    ----------
    .. [1] J.-P. Bourgoin et al., New J. Phys. 15, 023006 (2013), Sec. 2.
    """
    loss = atmospheric_loss_db(zenith_transmittance, elevation_deg, model)
    t0 = np.asarray(zenith_transmittance, dtype=float)
    with np.errstate(under="ignore"):
        # Air mass ≥ 1, so T ≤ T0: the clip only removes the dB round trip's last bit.
        return np.asarray(np.minimum(np.power(10.0, -loss / 10.0), t0), dtype=float)


def read_transmittance_table(text: str) -> tuple[FloatArray, tuple[float, ...], FloatArray]:
    """Parse a table of atmospheric transmittance against elevation.

    The format is comma-separated text: lines starting with ``#`` are comments (the
    table's source belongs there), blank lines are skipped, then an optional header row
    and one row per elevation, ``elevation_deg, T1[, T2, …]``. With one transmittance
    column the table is for the link's wavelength; with several, the header names each
    column's wavelength (``elevation_deg,785 nm,810 nm``) and
    :func:`transmittance_column` picks one.

    Parameters
    ----------
    text : str
        The file's contents.

    Returns
    -------
    tuple
        (elevations [deg, strictly increasing, within 0..90]; the columns' wavelengths
        [nm], NaN for an unnamed single column; transmittances, shape (rows, columns)
        [unitless, (0, 1]]).

    Raises
    ------
    ValueError
        Naming the line (1-based) of the first malformed row, or what is wrong with the
        table as a whole (fewer than two rows, unnamed columns).
    """
    header: list[str] | None = None
    rows: list[list[float]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cells = [c.strip() for c in line.split(",")]
        try:
            values = [float(c) for c in cells]
        except ValueError:
            if header is None and not rows:
                header = cells
                continue
            raise ValueError(
                f"line {number}: {line!r} is not a row of numbers "
                "'elevation_deg, transmittance[, …]'"
            ) from None
        width = len(rows[0]) if rows else (len(header) if header else len(values))
        if len(values) < 2 or len(values) != width:
            raise ValueError(
                f"line {number}: {line!r} has {len(values)} columns; expected {max(width, 2)}: "
                "elevation_deg and one transmittance per wavelength"
            )
        eps, *ts = values
        if not (math.isfinite(eps) and 0.0 <= eps <= 90.0):
            raise ValueError(f"line {number}: elevation {eps:g} is not in [0, 90] deg")
        for t in ts:
            if not (math.isfinite(t) and 0.0 < t <= 1.0):
                raise ValueError(f"line {number}: transmittance {t:g} is not in (0, 1]")
        if rows and eps <= rows[-1][0]:
            raise ValueError(
                f"line {number}: elevation {eps:g} does not follow {rows[-1][0]:g}; "
                "list the elevations in increasing order"
            )
        rows.append(values)
    if len(rows) < 2:
        raise ValueError(f"holds {len(rows)} data row(s); a table needs at least two")
    columns = len(rows[0]) - 1
    wavelengths: list[float] = []
    for name in (header or [])[1:]:
        number_text = name.lower().removesuffix("nm").strip().removesuffix("_")
        try:
            wavelengths.append(float(number_text))
        except ValueError:
            wavelengths.append(math.nan)
    if not wavelengths:
        wavelengths = [math.nan] * columns
    if columns > 1 and not all(math.isfinite(w) for w in wavelengths):
        raise ValueError(
            f"has {columns} transmittance columns; its header must name each column's "
            "wavelength, e.g. 'elevation_deg,785 nm,810 nm'"
        )
    table = np.asarray(rows, dtype=float)
    return table[:, 0], tuple(wavelengths), table[:, 1:]


def transmittance_column(
    table_wavelengths_nm: tuple[float, ...], wavelength_nm: float
) -> tuple[int, float]:
    """Which column of a transmittance table serves a link at ``wavelength_nm``.

    A single unnamed column serves any wavelength (the table was made for the link);
    otherwise the nearest named wavelength within half the spacing of its neighbours
    (±2.5 nm on a 5 nm grid) is taken, and a wavelength between columns further apart
    than that is refused: molecular bands make interpolation across wavelengths
    unreliable.

    Parameters
    ----------
    table_wavelengths_nm : tuple of float
        The columns' wavelengths (NaN for one unnamed column). [nm]
    wavelength_nm : float
        The link's wavelength. [nm, > 0]

    Returns
    -------
    tuple of (int, float)
        (column index, its wavelength [nm], NaN for an unnamed column).

    Raises
    ------
    ValueError
        When no column lies within half a grid step of ``wavelength_nm``.
    """
    names = np.asarray(table_wavelengths_nm, dtype=float)
    if names.size == 1 and not np.isfinite(names[0]):
        return 0, math.nan
    gaps = np.diff(np.sort(names))
    half_step = float(np.min(gaps)) / 2.0 if gaps.size else 2.5
    index = int(np.argmin(np.abs(names - wavelength_nm)))
    if abs(names[index] - wavelength_nm) > half_step + 1e-9:
        listed = ", ".join(f"{w:g}" for w in names)
        raise ValueError(
            f"has no column within {half_step:g} nm of {wavelength_nm:g} nm (columns: {listed} nm)"
        )
    return index, float(names[index])


def tabulated_atmospheric_loss_db(
    elevation_deg: npt.ArrayLike,
    table_elevation_deg: npt.ArrayLike,
    table_transmittance: npt.ArrayLike,
) -> FloatArray:
    """Atmospheric loss at elevation ε from a tabulated transmittance (e.g. MODTRAN).

    .. math:: L_\\mathrm{dB}(\\varepsilon) = (1 - u)\\, L_i + u\\, L_{i+1}, \\quad
              L_i = -10\\log_{10} T(\\varepsilon_i), \\;
              u = \\frac{\\varepsilon - \\varepsilon_i}{\\varepsilon_{i+1} - \\varepsilon_i}

    Parameters
    ----------
    elevation_deg : array_like
        Elevation(s) ε, within the table's range. [deg]
    table_elevation_deg : array_like
        Tabulated elevations ε_i, strictly increasing. [deg, 0..90]
    table_transmittance : array_like
        Transmittance T(ε_i) of the whole atmosphere along the line of sight at the
        link's wavelength. [unitless, (0, 1]]

    Returns
    -------
    numpy.ndarray
        Loss, linear in elevation between rows (in dB, i.e. geometric in T). [dB, ≥ 0]

    Notes
    -----
    A radiative-transfer table holds what an air-mass law cannot: the Earth's curvature
    and refraction at low elevation and molecular bands that do not follow Beer's law
    (at 810 nm, water-vapour lines make a 1/sin ε scaling 1.1 dB too pessimistic at 10°
    and 3.0 dB at 5° against MODTRAN [1]).

    References
    ----------
    .. [1] cnqo-qcomms/SatQuMA v2.0.0 (commit f2b9229),
       channel/atmosphere/MODTRAN_data.py: MODTRAN transmittance, satellite at 500 km,
       ground station at sea level, 785–850 nm and 1550 nm, elevations 0–90° in 1° steps.
    .. [2] A. Berk et al., "MODTRAN6: a major upgrade of the MODTRAN radiative transfer
       code", Proc. SPIE 9088, 90880H (2014).
    """
    eps = as_array(elevation_deg)
    table_eps = as_array(table_elevation_deg)
    table_t = as_array(table_transmittance)
    require(np.diff(table_eps) > 0, "table_elevation_deg", table_eps, "strictly increasing")
    require((table_t > 0) & (table_t <= 1), "table_transmittance", table_t, "in (0, 1]")
    lo, hi = float(table_eps[0]), float(table_eps[-1])
    with np.errstate(invalid="ignore"):
        require(
            (eps >= lo - 1e-9) & (eps <= hi + 1e-9),
            "elevation_deg",
            eps,
            f"within the table's elevations {lo:g}..{hi:g} deg",
        )
    table_db = -10.0 * np.log10(table_t)
    return np.asarray(np.interp(eps, table_eps, table_db) + 0.0, dtype=float)  # [1]


# --------------------------------------------------------------------------- beam


def divergence_from_waist_urad(
    beam_waist_m: npt.ArrayLike, wavelength_nm: npt.ArrayLike
) -> FloatArray:
    """Far-field 1/e² half-angle divergence of a diffraction-limited Gaussian beam.

    .. math:: \\theta = \\frac{\\lambda}{\\pi w_0}

    Parameters
    ----------
    beam_waist_m : array_like
        Beam waist w0 at the transmitter (e.g. D_tx/2, see
        :func:`beam_waist_from_aperture_m`). [m, > 0]
    wavelength_nm : array_like
        Wavelength. [nm, > 0]

    Returns
    -------
    numpy.ndarray
        Divergence θ. [µrad]

    References
    ----------
    .. [1] H. Kogelnik, T. Li, Appl. Opt. 5, 1550 (1966), Sec. III, far-field limit.
    """
    w0 = positive("beam_waist_m", beam_waist_m)
    wavelength_m = positive("wavelength_nm", wavelength_nm) * 1e-9
    return np.asarray(wavelength_m / (np.pi * w0) * 1e6, dtype=float)


def beam_waist_from_aperture_m(
    tx_aperture_m: npt.ArrayLike, waist_to_aperture_radius: npt.ArrayLike = 1.0
) -> FloatArray:
    """Beam waist launched by a transmitter telescope of diameter D.

    .. math:: w_0 = \\kappa\\, D / 2

    Parameters
    ----------
    tx_aperture_m : array_like
        Transmitter aperture diameter D. [m, > 0]
    waist_to_aperture_radius : array_like, optional
        κ = w0/(D/2); 1 (default) fills the aperture to its 1/e² radius and clips
        e⁻² ≈ 13.5 % of the power (left to the transmitter efficiency); ≈ 0.89 maximises
        the on-axis far-field intensity [1]. [unitless, > 0]

    Returns
    -------
    numpy.ndarray
        Waist w0. [m]

    References
    ----------
    .. [1] B. J. Klein, J. J. Degnan, "Optical antenna gain. 1: Transmitting antennas",
       Appl. Opt. 13, 2134 (1974) (optimum truncation ratio a/w ≈ 1.12).
    """
    d = positive("tx_aperture_m", tx_aperture_m)
    kappa = positive("waist_to_aperture_radius", waist_to_aperture_radius)
    return np.asarray(kappa * d / 2.0, dtype=float)


def satellite_beam_radius_m(
    divergence_urad: npt.ArrayLike, range_km: npt.ArrayLike, beam_waist_m: npt.ArrayLike = 0.0
) -> FloatArray:
    """Beam radius at range d of a beam with given far-field divergence and waist.

    .. math:: w(d) = \\sqrt{w_0^2 + \\theta^2 d^2}

    Parameters
    ----------
    divergence_urad : array_like
        Far-field 1/e² half-angle divergence θ (as in the SPEC; halve a quoted full
        angle). [µrad, > 0]
    range_km : array_like
        Distance d from the transmitter. [km, ≥ 0]
    beam_waist_m : array_like, optional
        Waist w0 at the transmitter; negligible in the far field. [m, ≥ 0]

    Returns
    -------
    numpy.ndarray
        1/e² beam radius. [m]

    Notes
    -----
    Exact for a Gaussian beam (θ = λ/πw0) and for an embedded-Gaussian beam of
    quality M² (θ = M²λ/πw0) with its waist at the transmitter [1].

    References
    ----------
    .. [1] A. E. Siegman, "New developments in laser resonators", Proc. SPIE 1224, 2
       (1990) (propagation of M² beams: w² = w0² + θ² z²).
    """
    theta_rad = positive("divergence_urad", divergence_urad) * 1e-6
    d_m = nonnegative("range_km", range_km) * 1e3
    w0 = nonnegative("beam_waist_m", beam_waist_m)
    w = np.sqrt(w0**2 + (theta_rad * d_m) ** 2)
    require(w > 0, "beam radius", w, "> 0 (give a range or a waist)")
    return np.asarray(w, dtype=float)


# --------------------------------------------------------------------------- turbulence

_HV_TOP_M = 30_000.0  # Cn² of HV 5/7 is < 1e-20 m^-2/3 above 30 km
_HV_GRID_M = np.linspace(0.0, _HV_TOP_M, 30_001)  # 1 m steps resolve the 100 m surface layer


def hufnagel_valley_cn2(
    height_m: npt.ArrayLike,
    wind_speed_m_per_s: npt.ArrayLike = 21.0,
    ground_cn2_m_minus_2_3: npt.ArrayLike = 1.7e-14,
) -> FloatArray:
    """Hufnagel–Valley model of the refractive-index structure constant versus height.

    .. math::

        C_n^2(h) = 0.00594 \\left(\\frac{v}{27}\\right)^2 (10^{-5} h)^{10} e^{-h/1000}
                   + 2.7\\times10^{-16} e^{-h/1500} + A\\, e^{-h/100}

    Parameters
    ----------
    height_m : array_like
        Height above the ground station. [m, ≥ 0]
    wind_speed_m_per_s : array_like, optional
        RMS high-altitude wind speed v; 21 m/s for HV 5/7. [m/s, ≥ 0]
    ground_cn2_m_minus_2_3 : array_like, optional
        Surface-layer strength A; 1.7e-14 for HV 5/7. [m^-2/3, ≥ 0]

    Returns
    -------
    numpy.ndarray
        Cn²(h). [m^-2/3]

    Notes
    -----
    With the defaults (HV 5/7) the zenith r0 is ≈ 5 cm and the isoplanatic angle
    ≈ 7 µrad at 0.5 µm, which gives the model its name: a mid-latitude night.

    References
    ----------
    .. [1] G. C. Valley, "Isoplanatic degradation of tilt correction and short-term
       imaging systems", Appl. Opt. 19, 574 (1980).
    .. [2] L. C. Andrews, R. L. Phillips, *Laser Beam Propagation through Random Media*,
       2nd ed., SPIE Press (2005), Ch. 12 (HV 5/7).
    """
    h = nonnegative("height_m", height_m)
    v = nonnegative("wind_speed_m_per_s", wind_speed_m_per_s)
    a = nonnegative("ground_cn2_m_minus_2_3", ground_cn2_m_minus_2_3)
    with np.errstate(under="ignore"):
        cn2 = (
            0.00594 * (v / 27.0) ** 2 * (1e-5 * h) ** 10 * np.exp(-h / 1000.0)
            + 2.7e-16 * np.exp(-h / 1500.0)
            + a * np.exp(-h / 100.0)
        )  # HV model of [1]
    return np.asarray(cn2, dtype=float)


@lru_cache(maxsize=64)
def _hv_moment(weight: str, altitude_km: float, wind: float, ground: float) -> float:
    """∫ Cn²(h) w(h) dh of HV on [0, 30 km] for w = 1, (1 − h/H)^{5/3} or (h/H)^{5/3}."""
    h = _HV_GRID_M
    cn2 = hufnagel_valley_cn2(h, wind, ground)
    frac = np.minimum(h / (altitude_km * 1e3), 1.0)
    w = {"zenith": np.ones_like(h), "uplink": (1 - frac) ** (5 / 3), "downlink": frac ** (5 / 3)}
    f = cn2 * w[weight]
    return float(np.sum(np.diff(h) * (f[1:] + f[:-1]) / 2.0))


def zenith_fried_parameter_m(
    wavelength_nm: npt.ArrayLike,
    wind_speed_m_per_s: float = 21.0,
    ground_cn2_m_minus_2_3: float = 1.7e-14,
) -> FloatArray:
    """Plane-wave Fried parameter looking up at zenith through a Hufnagel–Valley profile.

    .. math:: r_0 = \\left(0.423\\, k^2 \\int_0^\\infty C_n^2(h)\\, dh\\right)^{-3/5}

    Parameters
    ----------
    wavelength_nm : array_like
        Wavelength. [nm, > 0]
    wind_speed_m_per_s : float, optional
        HV wind parameter (21 m/s for HV 5/7). [m/s]
    ground_cn2_m_minus_2_3 : float, optional
        HV surface strength (1.7e-14 for HV 5/7). [m^-2/3]

    Returns
    -------
    numpy.ndarray
        r0 at zenith, ∝ λ^{6/5} (≈ 5 cm at 500 nm, ≈ 9 cm at 850 nm for HV 5/7). [m]

    References
    ----------
    .. [1] D. L. Fried, J. Opt. Soc. Am. 56, 1372 (1966).
    .. [2] G. C. Valley, Appl. Opt. 19, 574 (1980).
    """
    k = wavenumber_per_m(wavelength_nm)
    mu0 = _hv_moment("zenith", 1e6, float(wind_speed_m_per_s), float(ground_cn2_m_minus_2_3))
    return np.asarray((0.423 * k**2 * mu0) ** (-3.0 / 5.0), dtype=float)


def slant_fried_parameter_m(
    wavelength_nm: npt.ArrayLike,
    elevation_deg: npt.ArrayLike,
    altitude_km: float,
    direction: Direction = "downlink",
    fried_parameter_zenith_m: npt.ArrayLike | None = None,
) -> FloatArray:
    """Spherical-wave Fried parameter of a ground–satellite path, seen from the transmitter.

    .. math::

        r_0 = \\left(0.423\\, k^2 \\sec\\zeta \\int_0^H C_n^2(h)\\, g(h)\\, dh\\right)^{-3/5},
        \\quad g_\\uparrow = (1 - h/H)^{5/3}, \\quad g_\\downarrow = (h/H)^{5/3}

    Parameters
    ----------
    wavelength_nm : array_like
        Wavelength. [nm, > 0]
    elevation_deg : array_like
        Elevation ε = 90° − ζ. [deg, (0, 90]]
    altitude_km : float
        Satellite altitude H. [km, > 0]
    direction : {"downlink", "uplink"}, optional
        Which end transmits. On an uplink the turbulence sits at the start of the path
        (g ≈ 1) and broadens and wanders the beam; on a downlink it sits within ~20 km of
        the receiver (g ≈ (h/H)^{5/3} ≈ 1e-4) and hardly widens a metres-wide beam.
    fried_parameter_zenith_m : array_like, optional
        Measured plane-wave r0 at zenith at this wavelength; scales the HV 5/7 profile.
        Default: HV 5/7 (≈ 9 cm at 850 nm). ``inf`` turns turbulence off. [m, > 0]

    Returns
    -------
    numpy.ndarray
        r0 of the path for :func:`qcalc.physics.freespace.long_term_beam_radius_m`. [m]

    Notes
    -----
    Plane-parallel layers (sec ζ), valid for ζ ≲ 60–70°. The weights g are those of the
    uplink and downlink moments μ of [1], Ch. 12; the profile shape is HV 5/7.

    References
    ----------
    .. [1] L. C. Andrews, R. L. Phillips, *Laser Beam Propagation through Random Media*,
       2nd ed., SPIE Press (2005), Ch. 12 (μ moments of uplink and downlink paths).
    .. [2] G. C. Valley, Appl. Opt. 19, 574 (1980).
    """
    if direction not in ("downlink", "uplink"):
        raise ValueError(f"direction must be 'downlink' or 'uplink'; got {direction!r}")
    k = wavenumber_per_m(wavelength_nm)
    sec_zeta = air_mass(elevation_deg, "plane_parallel")
    altitude = float(positive("altitude_km", altitude_km))
    mu_hv = _hv_moment(direction, altitude, 21.0, 1.7e-14)
    scale: FloatArray = np.asarray(1.0)
    if fried_parameter_zenith_m is not None:
        r0z = as_array(fried_parameter_zenith_m)
        require(r0z > 0, "fried_parameter_zenith_m", r0z, "> 0 (inf for no turbulence)")
        mu0_hv = _hv_moment("zenith", 1e6, 21.0, 1.7e-14)
        scale = r0z ** (-5.0 / 3.0) / (0.423 * k**2) / mu0_hv
    with np.errstate(divide="ignore"):
        return np.asarray((0.423 * k**2 * sec_zeta * mu_hv * scale) ** (-3.0 / 5.0), dtype=float)


# --------------------------------------------------------------------------- passes


def orbital_period_s(altitude_km: npt.ArrayLike) -> FloatArray:
    """Period of a circular orbit.

    .. math:: T = 2\\pi \\sqrt{(R + h)^3 / \\mu_E}, \\quad \\mu_E = 398600.4418\\,
              \\mathrm{km^3\\,s^{-2}}

    Parameters
    ----------
    altitude_km : array_like
        Orbit altitude h. [km, > 0]

    Returns
    -------
    numpy.ndarray
        Period. [s]

    References
    ----------
    .. [1] D. A. Vallado, *Fundamentals of Astrodynamics and Applications*, 4th ed.,
       Microcosm (2013), Ch. 1 (Kepler's third law); μ_E from IERS Conventions
       (2010), Table 1.1.
    """
    r = EARTH_RADIUS_KM + positive("altitude_km", altitude_km)
    return np.asarray(2.0 * np.pi * np.sqrt(r**3 / EARTH_GM_KM3_PER_S2), dtype=float)


def _central_angle_rad(altitude_km: FloatArray, elevation_deg: FloatArray) -> FloatArray:
    """Earth central angle between station and sub-satellite point at elevation ε."""
    eps = np.radians(elevation_deg)
    ratio = EARTH_RADIUS_KM / (EARTH_RADIUS_KM + altitude_km)
    return np.asarray(np.arccos(ratio * np.cos(eps)) - eps, dtype=float)


def elevation_profile_deg(
    altitude_km: npt.ArrayLike, time_s: npt.ArrayLike, max_elevation_deg: npt.ArrayLike = 90.0
) -> FloatArray:
    """Elevation of a satellite during a pass, time measured from closest approach.

    .. math::

        \\cos\\psi(t) = \\cos\\beta \\cos(\\omega t), \\qquad
        \\varepsilon(t) = \\arctan\\frac{(R+h)\\cos\\psi - R}{(R+h)\\sin\\psi}

    with ω = 2π/T and β the central angle at the highest elevation ε_max,
    β = arccos(R cos ε_max / (R+h)) − ε_max.

    Parameters
    ----------
    altitude_km : array_like
        Circular-orbit altitude h. [km, > 0]
    time_s : array_like
        Time from the moment of highest elevation. [s]
    max_elevation_deg : array_like, optional
        Highest elevation of the pass (90: overhead). [deg, 0..90]

    Returns
    -------
    numpy.ndarray
        Elevation ε(t); negative when the satellite is below the horizon. [deg]

    Notes
    -----
    Earth's rotation is ignored (the ground track is a great circle at closest
    central angle β from the station); error ≲ a few % in pass duration for LEO.
    Spherical right triangle (station, sub-satellite point, closest point of the
    ground track) gives cos ψ = cos β cos ωt.

    References
    ----------
    .. [1] J. R. Wertz, W. J. Larson (eds.), *Space Mission Analysis and Design*, 3rd ed.
       (1999), Sec. 5.2 (central angle, elevation, pass geometry).
    """
    h = positive("altitude_km", altitude_km)
    t = as_array(time_s)
    beta = _central_angle_rad(h, _elevation("max_elevation_deg", max_elevation_deg))
    omega = 2.0 * np.pi / orbital_period_s(h)
    cos_psi = np.cos(beta) * np.cos(omega * t)  # spherical right triangle, [1]
    psi = np.arccos(np.clip(cos_psi, -1.0, 1.0))
    r = EARTH_RADIUS_KM + h
    return np.asarray(np.degrees(np.arctan2(r * np.cos(psi) - EARTH_RADIUS_KM, r * np.sin(psi))))


def pass_duration_s(
    altitude_km: npt.ArrayLike,
    min_elevation_deg: npt.ArrayLike,
    max_elevation_deg: npt.ArrayLike = 90.0,
) -> FloatArray:
    """Time a satellite on a circular orbit spends above an elevation mask in one pass.

    .. math::

        \\Delta t = \\frac{2}{\\omega} \\arccos\\frac{\\cos\\psi_\\mathrm{min}}{\\cos\\beta},
        \\qquad \\psi_\\mathrm{min} = \\arccos\\left(\\frac{R\\cos\\varepsilon_\\mathrm{min}}
        {R+h}\\right) - \\varepsilon_\\mathrm{min}

    Parameters
    ----------
    altitude_km : array_like
        Orbit altitude h. [km, > 0]
    min_elevation_deg : array_like
        Elevation mask ε_min. [deg, 0..90]
    max_elevation_deg : array_like, optional
        Highest elevation of the pass (90: overhead). [deg, 0..90]

    Returns
    -------
    numpy.ndarray
        Pass duration; exactly 0 when ε_min ≥ ε_max. [s]

    References
    ----------
    .. [1] J. R. Wertz, W. J. Larson (eds.), *Space Mission Analysis and Design*, 3rd ed.
       (1999), Sec. 5.2; Earth's rotation ignored (see :func:`elevation_profile_deg`).
    """
    h = positive("altitude_km", altitude_km)
    eps_min = _elevation("min_elevation_deg", min_elevation_deg)
    eps_max = _elevation("max_elevation_deg", max_elevation_deg)
    psi_min = _central_angle_rad(h, eps_min)
    beta = _central_angle_rad(h, eps_max)
    omega = 2.0 * np.pi / orbital_period_s(h)
    ratio = np.clip(np.cos(psi_min) / np.cos(beta), -1.0, 1.0)
    duration = 2.0 / omega * np.arccos(ratio)  # from cos ψ = cos β cos ωt, [1]
    return np.asarray(np.where(eps_min < eps_max, duration, 0.0), dtype=float)


def integrate_pass(
    rate_bps_of_elevation: Callable[[FloatArray], npt.ArrayLike],
    altitude_km: float,
    min_elevation_deg: float,
    max_elevation_deg: float = 90.0,
    num: int = 2001,
) -> tuple[float, float]:
    """Bits delivered in one pass: a rate integrated over the elevation profile.

    .. math:: N = \\int_{-\\Delta t/2}^{\\Delta t/2} R(\\varepsilon(t))\\, dt

    (trapezoidal rule on ``num`` equally spaced times).

    Parameters
    ----------
    rate_bps_of_elevation : callable
        Vectorised rate R(ε): takes an array of elevations [deg] and returns an array of
        the same shape of finite, non-negative rates. [bit/s]
    altitude_km : float
        Orbit altitude. [km, > 0]
    min_elevation_deg : float
        Elevation mask. [deg, 0..90]
    max_elevation_deg : float, optional
        Highest elevation of the pass. [deg, 0..90]
    num : int, optional
        Number of time samples (≥ 3). [unitless]

    Returns
    -------
    tuple of float
        (bits per pass [bit], pass duration [s]); (0.0, 0.0) when ε_min ≥ ε_max.

    References
    ----------
    See :func:`elevation_profile_deg` and :func:`pass_duration_s`.
    """
    if num < 3:
        raise ValueError(f"num must be ≥ 3; got {num}")
    duration = float(pass_duration_s(altitude_km, min_elevation_deg, max_elevation_deg))
    if duration <= 0.0:
        return 0.0, 0.0
    t = np.linspace(-duration / 2.0, duration / 2.0, num)
    elevation = np.clip(elevation_profile_deg(altitude_km, t, max_elevation_deg), 0.0, 90.0)
    elevation[[0, -1]] = min_elevation_deg  # exact mask at the ends (no rounding below it)
    rate = np.asarray(rate_bps_of_elevation(elevation), dtype=float)
    if rate.shape != t.shape:
        raise ValueError(f"rate function returned shape {rate.shape}; expected {t.shape}")
    if not np.all(np.isfinite(rate) & (rate >= 0)):
        raise ValueError("rate function must return finite rates ≥ 0 bit/s")
    bits = float(np.sum(np.diff(t) * (rate[1:] + rate[:-1]) / 2.0))
    return bits, duration


# --------------------------------------------------------------------------- budget


def satellite_link_budget(
    altitude_km: float,
    elevation_deg: npt.ArrayLike,
    wavelength_nm: npt.ArrayLike,
    rx_aperture_m: npt.ArrayLike,
    *,
    divergence_urad: npt.ArrayLike | None = None,
    tx_beam_waist_m: npt.ArrayLike | None = None,
    tx_aperture_m: npt.ArrayLike | None = None,
    zenith_transmittance: npt.ArrayLike = 1.0,
    pointing_jitter_urad: npt.ArrayLike = 0.0,
    direction: Direction = "downlink",
    fried_parameter_zenith_m: npt.ArrayLike | None = None,
    receiver_efficiency: npt.ArrayLike = 1.0,
    air_mass_model: AirMassModel = "plane_parallel",
    tx_obscuration_m: npt.ArrayLike = 0.0,
    transmittance_table: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
) -> OpticalLinkTerms:
    """Loss budget of a ground–satellite link at given elevations, as named terms.

    .. math::

        L = L_\\mathrm{clip} + L_\\mathrm{diff} + L_\\mathrm{turb} + L_\\mathrm{point}
            - 10\\log_{10} T_\\mathrm{zenith}^{\\,m(\\varepsilon)}
            - 10\\log_{10}\\eta_\\mathrm{rx}

    Parameters
    ----------
    altitude_km : float
        Orbit altitude. [km, > 0]
    elevation_deg : array_like
        Elevation(s) of the satellite. [deg, (0, 90]]
    wavelength_nm : array_like
        Wavelength. [nm, > 0]
    rx_aperture_m : array_like
        Receiver aperture diameter (ground telescope on a downlink). [m, > 0]
    divergence_urad : array_like, optional
        Far-field 1/e² half-angle divergence θ (the SPEC convention: the beam radius far
        away is θ × range; halve a quoted full angle, and divide a full-width-at-half-
        maximum angle by 1.1774 = √(2 ln 2)). Alone it stands for the diffraction-limited
        Gaussian beam of waist w0 = λ/(πθ); with ``tx_beam_waist_m`` for a beam of
        quality M² = πw0θ/λ ≥ 1. Default: the diffraction limit λ/(π w0). [µrad, > 0]
    tx_beam_waist_m : array_like, optional
        1/e² radius w0 of the beam at the transmitter; default D_tx/2 (the aperture
        filled to its 1/e² radius) when only ``tx_aperture_m`` is given. [m, > 0]
    tx_aperture_m : array_like, optional
        Transmit aperture diameter D_tx. When given, the beam is clipped by it: the term
        "clipping" is the power outside the aperture and "diffraction" the Fresnel
        integral of the clipped field into the receiver
        (:func:`qcalc.physics.freespace.clipped_geometric_terms_db`). [m, > 0]
    zenith_transmittance : array_like, optional
        Atmospheric transmittance at zenith. [unitless, (0, 1]]
    pointing_jitter_urad : array_like, optional
        RMS pointing jitter per axis of the transmitter. [µrad, ≥ 0]
    direction : {"downlink", "uplink"}, optional
        Which end transmits; sets where the turbulence acts.
    fried_parameter_zenith_m : array_like, optional
        Plane-wave r0 at zenith at this wavelength; default HV 5/7; ``inf`` for no
        turbulence. [m, > 0]
    receiver_efficiency : array_like, optional
        Receiver optics (and, if wanted, detector) efficiency. [unitless, (0, 1]]
    air_mass_model : {"plane_parallel", "kasten_young"}, optional
        See :func:`air_mass`.
    tx_obscuration_m : array_like, optional
        Central obscuration diameter of the transmit aperture. [m, 0 ≤ · < D_tx]
    transmittance_table : tuple of array_like, optional
        (elevations [deg], transmittances) of the atmosphere at this wavelength; when
        given it replaces ``zenith_transmittance`` and the air mass
        (:func:`tabulated_atmospheric_loss_db`).

    Returns
    -------
    OpticalLinkTerms
        Named terms in dB and ``range_km`` = slant range.

    Notes
    -----
    The clipped-beam model needs a coherent Gaussian field at the aperture, which a
    divergence alone (w0 = λ/πθ) or a waist alone provides. A beam given both a waist
    and a larger divergence (M² > 1) is propagated as the embedded Gaussian
    w(d) = √(w0² + θ²d²) of [1] and only its clipping loss is counted at the aperture.

    References
    ----------
    .. [1] A. E. Siegman, Proc. SPIE 1224, 2 (1990) (M² beams).

    See also :func:`slant_range_km`, :func:`satellite_beam_radius_m`,
    :func:`slant_fried_parameter_m`, :func:`atmospheric_loss_db` and
    :func:`qcalc.physics.freespace.clipped_beam_collection_loss_db`.
    """
    if divergence_urad is None and tx_beam_waist_m is None and tx_aperture_m is None:
        raise ValueError("give divergence_urad, tx_beam_waist_m or tx_aperture_m")
    eps = _elevation("elevation_deg", elevation_deg, allow_zero=False)
    range_km = slant_range_km(altitude_km, eps)
    r0 = slant_fried_parameter_m(
        wavelength_nm, eps, altitude_km, direction, fried_parameter_zenith_m
    )
    embedded = divergence_urad is not None and tx_beam_waist_m is not None
    if divergence_urad is not None and tx_beam_waist_m is not None:  # M² ≥ 1 beam
        w0 = positive("tx_beam_waist_m", tx_beam_waist_m)
        theta = positive("divergence_urad", divergence_urad)
        limit = divergence_from_waist_urad(w0, wavelength_nm)
        require(
            theta >= limit * (1 - 1e-9),
            "divergence_urad",
            np.broadcast_to(theta, np.broadcast(theta, limit).shape),
            f"at least the diffraction limit λ/(π w0) = {float(np.min(limit)):.4g} µrad of "
            "tx_beam_waist_m (M² ≥ 1)",
        )
    elif tx_beam_waist_m is not None:
        w0 = positive("tx_beam_waist_m", tx_beam_waist_m)
    elif divergence_urad is not None:
        theta_rad = positive("divergence_urad", divergence_urad) * 1e-6
        # the Gaussian whose far-field 1/e² half-angle is θ: w0 = λ/(πθ) (Kogelnik & Li)
        w0 = np.asarray(_wavelength_m(wavelength_nm) / (np.pi * theta_rad))
    else:
        w0 = beam_waist_from_aperture_m(tx_aperture_m)  # type: ignore[arg-type]
    clipping: FloatArray | None = None
    if tx_aperture_m is not None and not embedded:
        clipping, diffraction, turbulence, pointing, w_eff = clipped_geometric_terms_db(
            w0,
            wavelength_nm,
            range_km * 1e3,
            tx_aperture_m,
            rx_aperture_m,
            r0,
            pointing_jitter_urad,
            tx_obscuration_m,
        )
    else:
        if embedded:
            w = satellite_beam_radius_m(divergence_urad, range_km, w0)  # type: ignore[arg-type]
        else:
            w = satellite_beam_radius_m(divergence_from_waist_urad(w0, wavelength_nm), range_km, w0)
        diffraction, turbulence, pointing, w_eff = geometric_terms_db(
            w, wavelength_nm, range_km * 1e3, rx_aperture_m, r0, pointing_jitter_urad
        )
        if tx_aperture_m is not None:
            from qcalc.physics.freespace import transmit_clipping_loss_db

            clipping = transmit_clipping_loss_db(w0, tx_aperture_m, tx_obscuration_m)
    if transmittance_table is None:
        atmosphere = atmospheric_loss_db(zenith_transmittance, eps, air_mass_model)
    else:
        atmosphere = tabulated_atmospheric_loss_db(eps, *transmittance_table)
    receiver = receiver_loss_db(receiver_efficiency)
    return optical_link_terms(
        range_km, diffraction, turbulence, pointing, atmosphere, receiver, w_eff, clipping
    )


def _wavelength_m(wavelength_nm: npt.ArrayLike) -> FloatArray:
    return np.asarray(positive("wavelength_nm", wavelength_nm) * 1e-9, dtype=float)
