"""Real orbits over real ground stations: TLE propagation, passes, the Sun, key per pass.

A satellite given as a two-line element set (TLE) is propagated with SGP4 (the optional
extra ``qcalc[orbits]``: python-sgp4, Vallado et al. 2006) over a window; its position is
rotated from the TEME frame into the Earth-fixed frame (Earth's rotation included) and
seen from each ground station on the WGS84 ellipsoid as elevation, azimuth and range.
Every pass above a link's elevation mask is found (coarse scan, then root refinement of
rise, set and the highest point), and the key of each pass is integrated from the real
elevation and range profile with the same per-elevation link models and key rates as the
circular-orbit pass (:mod:`qcalc.channels`, :mod:`qcalc.demands`); the finite-key block
is the whole pass. The Sun's elevation at each instant says which passes see the day sky.
Cloud-free probabilities turn key per pass into expected key per day, month and year.

Conventions: times are UTC; UT1 is taken equal to UTC and polar motion is neglected
(|UT1 − UTC| < 0.9 s turns the Earth by < 0.004°, moving a station by < 0.42 km);
elevations are geometric (no refraction), measured from the plane normal to the WGS84
ellipsoid, as skyfield's ``altaz()`` gives them without a temperature.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from qcalc.constants import EARTH_RADIUS_KM
from qcalc.errors import UsageError
from qcalc.physics.tle import check_tle, tle_epoch
from qcalc.records import record

if TYPE_CHECKING:
    from qcalc.demands import ProtocolRate
    from qcalc.linkbudget import LinkBudget
    from qcalc.scenario import Demand, Link, Scenario

FloatArray = npt.NDArray[np.float64]

#: How to get the propagator when it is missing.
INSTALL_HINT = "pip install 'qcalc[orbits]'"

#: WGS84 ellipsoid: semi-major axis [km] and flattening (NIMA TR8350.2, 3rd ed., Table 3.1).
WGS84_A_KM = 6378.137
WGS84_F = 1.0 / 298.257223563

#: Julian date of J2000.0 (2000-01-01 12:00 TT; used here on the UT1 ≈ UTC scale).
J2000_JD = 2451545.0

#: Elevation of the Sun's centre at sunrise and sunset: 34′ of refraction and 16′ of
#: semi-diameter (Meeus, *Astronomical Algorithms*, 2nd ed. (1998), Ch. 15, h0 = −0.8333°).
SUNRISE_ELEVATION_DEG = -0.8333

#: Step of the coarse scan for passes [s]; a local maximum of elevation on it brackets
#: every pass (a LEO pass above 10° lasts minutes).
SCAN_STEP_S = 60.0

#: Days of each month on average (they sum to the Julian year, 365.25 days).
MONTH_DAYS = (31, 28.25, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February: 28.25 on average


def require_sgp4() -> Any:
    """The ``sgp4.api`` module, or a :class:`~qcalc.errors.UsageError` saying what to install."""
    try:
        from sgp4 import api  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - exercised with the extra absent
        raise UsageError(
            "a satellite given by a TLE is propagated with SGP4, which is the optional extra "
            f"'orbits': {INSTALL_HINT} (or pip install 'sgp4>=2.22'); without it give the "
            "node orbit: {altitude_km: …} for a circular orbit"
        ) from None
    return api


# --------------------------------------------------------------------------- TLE


@record(frozen=True)
class Satellite:
    """A satellite propagated by SGP4 from its two-line element set."""

    name: str
    line1: str
    line2: str
    satrec: Any = field(repr=False, compare=False, default=None)

    @classmethod
    def from_tle(cls, name: str, line1: str, line2: str) -> Satellite:
        """Parse and check the element set (ValueError on a malformed one)."""
        check_tle(line1, line2)
        api = require_sgp4()
        satrec = api.Satrec.twoline2rv(line1.rstrip(), line2.rstrip(), api.WGS72)
        if satrec.error:
            raise ValueError(f"SGP4 refuses the element set (error code {satrec.error})")
        return cls(name, line1.rstrip(), line2.rstrip(), satrec)

    @property
    def epoch(self) -> datetime:
        """Epoch of the element set (UTC)."""
        days = self.satrec.jdsatepoch - 2440587.5 + self.satrec.jdsatepochF
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=days)

    def teme_km(self, jd: FloatArray, fr: FloatArray) -> FloatArray:
        """Position in the TEME frame at Julian dates ``jd + fr`` (UTC), shape (n, 3). [km]

        Raises ValueError when SGP4 reports an error (e.g. the orbit has decayed).
        """
        error, position, _ = self.satrec.sgp4_array(
            np.ascontiguousarray(jd, dtype=float), np.ascontiguousarray(fr, dtype=float)
        )
        bad = np.flatnonzero(error)
        if bad.size:
            when = julian_to_datetime(float(jd[bad[0]]) + float(fr[bad[0]]))
            raise ValueError(
                f"SGP4 cannot propagate {self.name} to {when:%Y-%m-%d %H:%M} UTC (error code "
                f"{int(error[bad[0]])}: the element set is too far from its epoch "
                f"{self.epoch:%Y-%m-%d} or the orbit has decayed)"
            )
        return np.asarray(position, dtype=float)


# --------------------------------------------------------------------------- time


def julian_date(when: datetime) -> tuple[float, float]:
    """Julian date of a UTC instant as (midnight-based whole part, fraction of a day)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    days = (when - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(days=1)
    whole = math.floor(days)
    return 2440587.5 + whole, days - whole


def julian_to_datetime(jd: float) -> datetime:
    """The UTC instant of a Julian date."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=jd - 2440587.5)


def _julian_split(start: datetime, seconds: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    jd0, fr0 = julian_date(start)
    days = fr0 + np.asarray(seconds, dtype=float) / 86400.0
    whole = np.floor(days)
    return np.asarray(jd0 + whole, dtype=float), np.asarray(days - whole, dtype=float)


def gmst_rad(jd: npt.ArrayLike, fr: npt.ArrayLike = 0.0) -> FloatArray:
    """Greenwich mean sidereal time, IAU 1982 model.

    .. math::

        \\theta_\\mathrm{GMST} = 67310.54841\\,\\mathrm{s} + (876600\\,\\mathrm{h}
        + 8640184.812866\\,\\mathrm{s})\\,T + 0.093104\\,\\mathrm{s}\\,T^2
        - 6.2\\times10^{-6}\\,\\mathrm{s}\\,T^3, \\qquad T = \\frac{JD_{UT1} - 2451545.0}{36525}

    Parameters
    ----------
    jd, fr : array_like
        Julian date in two parts (their sum is the date; UT1, taken equal to UTC here).
        [day]

    Returns
    -------
    numpy.ndarray
        GMST in [0, 2π), the angle from the TEME x axis (mean equinox) to Greenwich. [rad]

    References
    ----------
    .. [1] D. A. Vallado, *Fundamentals of Astrodynamics and Applications*, 4th ed. (2013),
       Eq. 3-47; Example 3-5 (1992-08-20 12:14 UT1: 152.578787886°).
    .. [2] D. A. Vallado, P. Crawford, R. Hujsak, T. S. Kelso, "Revisiting Spacetrack
       Report #3", AIAA 2006-6753 (2006), Sec. on TEME (SGP4 output is rotated to the
       Earth-fixed frame by GMST).
    """
    t = ((np.asarray(jd, dtype=float) - J2000_JD) + np.asarray(fr, dtype=float)) / 36525.0
    seconds = (
        67310.54841 + (876600.0 * 3600.0 + 8640184.812866) * t + 0.093104 * t**2 - 6.2e-6 * t**3
    )
    return np.asarray(np.radians(np.mod(seconds, 86400.0) / 240.0), dtype=float)


def teme_to_ecef_km(position_km: npt.ArrayLike, gmst: npt.ArrayLike) -> FloatArray:
    """Rotate positions from TEME to the Earth-fixed frame: r_ECEF = R3(θ_GMST) r_TEME.

    Parameters
    ----------
    position_km : array_like
        Positions in TEME, shape (n, 3). [km]
    gmst : array_like
        Greenwich mean sidereal time at each instant, shape (n,). [rad]

    Returns
    -------
    numpy.ndarray
        Positions in the Earth-fixed frame (pseudo-Earth-fixed: polar motion, < 15 m at
        the surface, neglected), shape (n, 3). [km]

    References
    ----------
    .. [1] D. A. Vallado et al., AIAA 2006-6753 (2006), Eq. (C-2) without polar motion.
    """
    r = np.asarray(position_km, dtype=float)
    c, s = np.cos(gmst), np.sin(gmst)
    x = c * r[:, 0] + s * r[:, 1]
    y = -s * r[:, 0] + c * r[:, 1]
    return np.stack([x, y, r[:, 2]], axis=1)


# --------------------------------------------------------------------------- stations


@record(frozen=True)
class Station:
    """A ground station on the WGS84 ellipsoid.

    ``cloud_free_probability`` holds 12 monthly values (January first); a constant is
    given as twelve equal ones.
    """

    name: str
    latitude_deg: float
    longitude_deg: float
    altitude_m: float = 0.0
    cloud_free_probability: tuple[float, ...] = (1.0,) * 12
    cloud_free_source: str = ""

    def __post_init__(self) -> None:
        if not -90.0 <= self.latitude_deg <= 90.0:
            raise ValueError(f"latitude_deg {self.latitude_deg:g} is not in [-90, 90]")
        if not -180.0 <= self.longitude_deg <= 360.0:
            raise ValueError(f"longitude_deg {self.longitude_deg:g} is not in [-180, 360]")
        if len(self.cloud_free_probability) != 12 or not all(
            0.0 <= p <= 1.0 for p in self.cloud_free_probability
        ):
            raise ValueError("cloud_free_probability needs 12 monthly values in [0, 1]")

    @property
    def ecef_km(self) -> FloatArray:
        """Earth-fixed position of the station. [km]"""
        return geodetic_to_ecef_km(self.latitude_deg, self.longitude_deg, self.altitude_m)


def geodetic_to_ecef_km(
    latitude_deg: float, longitude_deg: float, altitude_m: float = 0.0
) -> FloatArray:
    """Earth-fixed Cartesian position of a point given by WGS84 geodetic coordinates.

    .. math::

        N = \\frac{a}{\\sqrt{1 - e^2 \\sin^2\\varphi}}, \\quad
        (x, y, z) = \\left((N + h)\\cos\\varphi\\cos\\lambda,\\;
        (N + h)\\cos\\varphi\\sin\\lambda,\\; (N(1 - e^2) + h)\\sin\\varphi\\right)

    Parameters
    ----------
    latitude_deg : float
        Geodetic latitude φ. [deg]
    longitude_deg : float
        Longitude λ, east positive. [deg]
    altitude_m : float, optional
        Height h above the ellipsoid. [m]

    Returns
    -------
    numpy.ndarray
        (x, y, z). [km]

    References
    ----------
    .. [1] NIMA TR8350.2, *Department of Defense World Geodetic System 1984*, 3rd ed.
       (2000), Eq. 4-14 and Table 3.1 (a = 6378.137 km, 1/f = 298.257223563).
    """
    phi, lam = math.radians(latitude_deg), math.radians(longitude_deg)
    e2 = WGS84_F * (2.0 - WGS84_F)
    n = WGS84_A_KM / math.sqrt(1.0 - e2 * math.sin(phi) ** 2)
    h = altitude_m / 1000.0
    return np.array(
        [
            (n + h) * math.cos(phi) * math.cos(lam),
            (n + h) * math.cos(phi) * math.sin(lam),
            (n * (1.0 - e2) + h) * math.sin(phi),
        ]
    )


def look_angles(
    station: Station, target_ecef_km: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Elevation, azimuth and range of Earth-fixed targets seen from a station.

    .. math::

        \\boldsymbol\\rho = \\mathbf r - \\mathbf r_s, \\quad
        \\varepsilon = \\arcsin\\frac{\\boldsymbol\\rho\\cdot\\hat u}{|\\boldsymbol\\rho|}, \\quad
        A = \\operatorname{atan2}(\\boldsymbol\\rho\\cdot\\hat e,\\; \\boldsymbol\\rho\\cdot\\hat n)

    with ê, n̂, û the local east, north and up (normal to the ellipsoid) unit vectors.

    Parameters
    ----------
    station : Station
        The observer.
    target_ecef_km : array_like
        Target positions, shape (n, 3). [km]

    Returns
    -------
    tuple of numpy.ndarray
        (elevation [deg], azimuth east of north [deg, 0..360), range [km]).

    References
    ----------
    .. [1] D. A. Vallado, *Fundamentals of Astrodynamics and Applications*, 4th ed. (2013),
       Algorithm 27 (RAZEL), SEZ frame written as east–north–up.
    """
    phi, lam = math.radians(station.latitude_deg), math.radians(station.longitude_deg)
    east = np.array([-math.sin(lam), math.cos(lam), 0.0])
    north = np.array(
        [-math.sin(phi) * math.cos(lam), -math.sin(phi) * math.sin(lam), math.cos(phi)]
    )
    up = np.array([math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi)])
    rho = np.asarray(target_ecef_km, dtype=float) - station.ecef_km
    distance = np.linalg.norm(rho, axis=1)
    elevation = np.degrees(np.arcsin(np.clip(rho @ up / distance, -1.0, 1.0)))
    azimuth = np.mod(np.degrees(np.arctan2(rho @ east, rho @ north)), 360.0)
    return (
        np.asarray(elevation, dtype=float),
        np.asarray(azimuth, dtype=float),
        np.asarray(distance, dtype=float),
    )


# --------------------------------------------------------------------------- the Sun


def sun_right_ascension_declination_deg(
    jd: npt.ArrayLike, fr: npt.ArrayLike = 0.0
) -> tuple[FloatArray, FloatArray]:
    """Apparent right ascension and declination of the Sun, low-precision formula.

    .. math::

        n = JD - 2451545.0, \\quad L = 280.460° + 0.9856474° n, \\quad
        g = 357.528° + 0.9856003° n,

        \\lambda = L + 1.915° \\sin g + 0.020° \\sin 2g, \\quad
        \\epsilon = 23.439° - 0.0000004° n,

        \\alpha = \\operatorname{atan2}(\\cos\\epsilon \\sin\\lambda, \\cos\\lambda), \\quad
        \\delta = \\arcsin(\\sin\\epsilon \\sin\\lambda)

    Parameters
    ----------
    jd, fr : array_like
        Julian date in two parts (UT; the 69 s of TT − UT move the Sun by 0.0008°). [day]

    Returns
    -------
    tuple of numpy.ndarray
        (α [deg, 0..360), δ [deg]), referred to the equator and equinox of date.

    Notes
    -----
    Precision 0.01° in α and δ between 1950 and 2050 [1].

    References
    ----------
    .. [1] *The Astronomical Almanac* (U.S. Naval Observatory / HM Nautical Almanac
       Office), Section C, "Low precision formulas for the Sun" (e.g. 2013 ed., p. C5).
    .. [2] J. Meeus, *Astronomical Algorithms*, 2nd ed., Willmann-Bell (1998), Ch. 25.
    """
    n = (np.asarray(jd, dtype=float) - J2000_JD) + np.asarray(fr, dtype=float)
    mean_longitude = np.radians(np.mod(280.460 + 0.9856474 * n, 360.0))
    anomaly = np.radians(np.mod(357.528 + 0.9856003 * n, 360.0))
    ecliptic_longitude = mean_longitude + np.radians(
        1.915 * np.sin(anomaly) + 0.020 * np.sin(2.0 * anomaly)
    )
    obliquity = np.radians(23.439 - 0.0000004 * n)
    ra = np.arctan2(np.cos(obliquity) * np.sin(ecliptic_longitude), np.cos(ecliptic_longitude))
    dec = np.arcsin(np.sin(obliquity) * np.sin(ecliptic_longitude))
    return (
        np.asarray(np.mod(np.degrees(ra), 360.0), dtype=float),
        np.asarray(np.degrees(dec), dtype=float),
    )


def sun_elevation_deg(station: Station, jd: npt.ArrayLike, fr: npt.ArrayLike = 0.0) -> FloatArray:
    """Geometric elevation of the Sun's centre seen from a station.

    The direction (α, δ) of :func:`sun_right_ascension_declination_deg` is turned into
    the Earth-fixed frame by GMST (:func:`gmst_rad`; the equation of the equinoxes,
    < 0.005°, is neglected) and seen from the station at 1 au (so the Sun's parallax,
    ≤ 0.0024°, is in; its 1.7 % yearly change of distance moves it by < 0.0001°).

    Parameters
    ----------
    station : Station
        The observer.
    jd, fr : array_like
        Julian date in two parts (UTC). [day]

    Returns
    -------
    numpy.ndarray
        Elevation; the Sun has risen when it exceeds −0.833°
        (:data:`SUNRISE_ELEVATION_DEG`). [deg]

    References
    ----------
    .. [1] *The Astronomical Almanac*, Section C, low-precision formulas for the Sun.
    .. [2] J. Meeus, *Astronomical Algorithms*, 2nd ed. (1998), Eq. 13.6 (altitude from
       hour angle, latitude and declination).
    """
    ra, dec = sun_right_ascension_declination_deg(jd, fr)
    ra_r, dec_r = np.radians(ra), np.radians(dec)
    direction = np.stack(
        [np.cos(dec_r) * np.cos(ra_r), np.cos(dec_r) * np.sin(ra_r), np.sin(dec_r)],
        axis=-1,
    ).reshape(-1, 3)
    gmst = np.broadcast_to(gmst_rad(jd, fr), ra.shape).reshape(-1)
    far = teme_to_ecef_km(direction * 1.495978707e8, gmst)  # 1 au (IAU 2012)
    elevation, _, _ = look_angles(station, far)
    return np.asarray(elevation.reshape(np.shape(ra)), dtype=float)


# --------------------------------------------------------------------------- passes


@record(frozen=True)
class Pass:
    """One pass of a satellite above a station's elevation mask.

    Times are seconds from the start of the window; a pass cut by the window's start or
    end says so (``cut_at_start``, ``cut_at_end``).
    """

    station: str
    rise_s: float
    set_s: float
    peak_s: float
    max_elevation_deg: float
    cut_at_start: bool = False
    cut_at_end: bool = False

    @property
    def duration_s(self) -> float:
        return self.set_s - self.rise_s


@record(frozen=True)
class PassProfile:
    """A pass sampled on an even time grid from rise to set."""

    time_s: FloatArray  # from the start of the window
    elevation_deg: FloatArray
    azimuth_deg: FloatArray
    range_km: FloatArray
    sun_elevation_deg: FloatArray

    @property
    def daylight(self) -> npt.NDArray[np.bool_]:
        """Samples at which the Sun is up (centre above −0.833°)."""
        return self.sun_elevation_deg > SUNRISE_ELEVATION_DEG

    @property
    def duration_s(self) -> float:
        return float(self.time_s[-1] - self.time_s[0])


@record(frozen=True)
class Window:
    """A propagation window: UTC start and length."""

    start: datetime
    days: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.days) and self.days > 0):
            raise ValueError(f"the window must last > 0 days; got {self.days:g}")

    @property
    def seconds(self) -> float:
        return self.days * 86400.0

    def at(self, seconds: float) -> datetime:
        return self.start + timedelta(seconds=float(seconds))


def topocentric(
    satellite: Satellite, station: Station, window: Window, seconds: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Elevation [deg], azimuth [deg] and range [km] of a satellite from a station at
    ``seconds`` after the window's start: SGP4 → TEME → Earth-fixed → local frame."""
    t = np.atleast_1d(np.asarray(seconds, dtype=float))
    jd, fr = _julian_split(window.start, t)
    ecef = teme_to_ecef_km(satellite.teme_km(jd, fr), gmst_rad(jd, fr))
    return look_angles(station, ecef)


def _elevation_function(
    satellite: Satellite, station: Station, window: Window
) -> Callable[[float], float]:
    """ε(t) at one time [deg], t in seconds from the window's start: :func:`topocentric`
    (the same SGP4, GMST, station frame) with the per-call work done once, for the
    root and peak searches."""
    jd0, fr0 = julian_date(window.start)
    phi, lam = math.radians(station.latitude_deg), math.radians(station.longitude_deg)
    up = (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))
    sx, sy, sz = (float(v) for v in station.ecef_km)
    sgp4 = satellite.satrec.sgp4

    def elevation_at(t: float) -> float:
        days = fr0 + t / 86400.0
        whole = math.floor(days)
        jd, fr = jd0 + whole, days - whole
        error, (x, y, z), _ = sgp4(jd, fr)
        if error:
            satellite.teme_km(np.array([jd]), np.array([fr]))  # raises, naming the date
        t_cent = ((jd - J2000_JD) + fr) / 36525.0  # gmst_rad, scalar
        seconds = (
            67310.54841
            + (876600.0 * 3600.0 + 8640184.812866) * t_cent
            + 0.093104 * t_cent**2
            - 6.2e-6 * t_cent**3
        )
        theta = math.radians((seconds % 86400.0) / 240.0)
        c, s = math.cos(theta), math.sin(theta)
        dx, dy, dz = c * x + s * y - sx, -s * x + c * y - sy, z - sz
        distance = math.sqrt(dx * dx + dy * dy + dz * dz)
        sine = (dx * up[0] + dy * up[1] + dz * up[2]) / distance
        return math.degrees(math.asin(max(-1.0, min(1.0, sine))))

    return elevation_at


def find_passes(
    satellite: Satellite,
    station: Station,
    window: Window,
    min_elevation_deg: float,
    step_s: float = SCAN_STEP_S,
) -> list[Pass]:
    """Every pass of a satellite above an elevation mask within a window.

    A coarse scan every ``step_s`` finds the local maxima of elevation; each maximum
    within 10° of the mask is refined (bounded scalar minimisation, 0.01 s), and a pass
    whose highest point clears the mask gets its rise and set as roots of
    ε(t) − ε_min (Brent's method, 1 ms) between the scan points that bracket them.

    Parameters
    ----------
    satellite : Satellite
        The propagated satellite.
    station : Station
        The ground station.
    window : Window
        Start (UTC) and length.
    min_elevation_deg : float
        Elevation mask ε_min. [deg, 0..90]
    step_s : float, optional
        Scan step; must be well below a pass's duration. [s, > 0]

    Returns
    -------
    list of Pass
        In time order; passes cut by the window's edges start or end there.

    References
    ----------
    .. [1] R. P. Brent, *Algorithms for Minimization without Derivatives* (1973), Ch. 4
       and 5 (root bracketing and bounded minimisation, as in scipy.optimize).
    """
    if not 0.0 <= min_elevation_deg < 90.0:
        raise ValueError(f"min_elevation_deg {min_elevation_deg:g} is not in [0, 90)")
    total = window.seconds
    count = max(int(math.ceil(total / step_s)), 2)
    grid = np.linspace(0.0, total, count + 1)
    elevation, _, _ = topocentric(satellite, station, window, grid)
    scan = _Scan(grid, elevation, _elevation_function(satellite, station, window))

    previous = np.concatenate([[-np.inf], elevation[:-1]])
    following = np.concatenate([elevation[1:], [-np.inf]])
    peaks = np.flatnonzero(
        (elevation >= previous) & (elevation >= following) & (elevation > min_elevation_deg - 10.0)
    )
    passes: list[Pass] = []
    for i in (int(k) for k in peaks):
        peak_t, peak_elevation = scan.peak(i)
        if peak_elevation <= min_elevation_deg:
            continue
        rise, set_, cut_start, cut_end = scan.crossings(peak_t, min_elevation_deg, total)
        if set_ <= rise:  # touches the mask only (to the roots' 1 ms)
            continue
        if passes and rise < passes[-1].set_s:  # two maxima in one pass: keep the higher
            if peak_elevation <= passes[-1].max_elevation_deg:
                continue
            passes.pop()
        passes.append(
            Pass(
                station.name,
                rise,
                set_,
                peak_t,
                peak_elevation,
                cut_at_start=cut_start,
                cut_at_end=cut_end,
            )
        )
    return passes


@record(frozen=True)
class _Scan:
    """The coarse elevation scan of :func:`find_passes` [s, deg] and ε(t) [deg] for its
    refinements (Brent 1973: bounded minimisation for the peak, root bracketing for rise
    and set)."""

    grid: FloatArray
    elevation: FloatArray
    elevation_at: Callable[[float], float]

    def peak(self, i: int) -> tuple[float, float]:
        """Time [s] and elevation [deg] of the highest point between the scan points
        around the local maximum ``i`` (to 0.01 s; the scan point if it is higher)."""
        from scipy.optimize import minimize_scalar

        grid, elevation_at = self.grid, self.elevation_at
        lo, hi = float(grid[max(i - 1, 0)]), float(grid[min(i + 1, len(grid) - 1)])
        best = minimize_scalar(
            lambda t: -elevation_at(t), bounds=(lo, hi), method="bounded", options={"xatol": 0.01}
        )
        peak_t = float(best.x)
        peak_elevation = -float(best.fun)
        if self.elevation[i] > peak_elevation:
            peak_t, peak_elevation = float(grid[i]), float(self.elevation[i])
        return peak_t, peak_elevation

    def crossings(
        self, peak_t: float, min_elevation_deg: float, total: float
    ) -> tuple[float, float, bool, bool]:
        """Rise and set [s] of the pass peaking at ``peak_t``: roots of ε(t) − ε_min (to
        1 ms) between the peak and the nearest scan points below the mask; a pass with no
        such point before (after) it is cut by the window's start (end), which is then its
        rise (set). Returns (rise, set, cut at start, cut at end)."""
        from scipy.optimize import brentq

        grid, elevation, elevation_at = self.grid, self.elevation, self.elevation_at
        j = int(np.searchsorted(grid, peak_t, side="right")) - 1
        while j >= 0 and elevation[j] >= min_elevation_deg:
            j -= 1
        k = int(np.searchsorted(grid, peak_t, side="left"))
        while k < len(grid) and elevation[k] >= min_elevation_deg:
            k += 1
        cut_start, cut_end = j < 0, k >= len(grid)
        if not cut_start:
            rise = float(
                brentq(lambda t: elevation_at(t) - min_elevation_deg, grid[j], peak_t, xtol=1e-3)
            )
        else:
            rise = 0.0
        if not cut_end:
            set_ = float(
                brentq(lambda t: elevation_at(t) - min_elevation_deg, peak_t, grid[k], xtol=1e-3)
            )
        else:
            set_ = total
        return rise, set_, cut_start, cut_end


def pass_profile(
    satellite: Satellite,
    station: Station,
    window: Window,
    one_pass: Pass,
    points: int | None = None,
) -> PassProfile:
    """Sample a pass on ``points`` even times from rise to set (default: the grid of the
    circular-orbit pass, :data:`qcalc.channels.PASS_POINTS`)."""
    if points is None:
        from qcalc.channels import PASS_POINTS

        points = PASS_POINTS
    times = np.linspace(one_pass.rise_s, one_pass.set_s, points)
    elevation, azimuth, distance = topocentric(satellite, station, window, times)
    jd, fr = _julian_split(window.start, times)
    return PassProfile(times, elevation, azimuth, distance, sun_elevation_deg(station, jd, fr))


def equivalent_altitude_km(range_km: npt.ArrayLike, elevation_deg: npt.ArrayLike) -> FloatArray:
    """Altitude of the spherical-Earth geometry that gives a range at an elevation.

    .. math:: (R + h)^2 = d^2 + R^2 + 2 R d \\sin\\varepsilon

    the law of cosines of :func:`qcalc.physics.satellite.slant_range_km` solved for h, so
    that the circular-orbit link models, which take (h, ε), see the real range d.

    Parameters
    ----------
    range_km : array_like
        Slant range d. [km, > 0]
    elevation_deg : array_like
        Elevation ε. [deg]

    Returns
    -------
    numpy.ndarray
        h with R = 6371 km. [km]
    """
    d = np.asarray(range_km, dtype=float)
    eps = np.radians(np.asarray(elevation_deg, dtype=float))
    r = EARTH_RADIUS_KM
    return np.asarray(np.sqrt(d**2 + r**2 + 2.0 * r * d * np.sin(eps)) - r, dtype=float)


# --------------------------------------------------------------------------- key per pass


@record(frozen=True)
class PassKey:
    """Key of one pass: bits per protocol (clear sky), and what the pass looked like."""

    one_pass: Pass
    bits: dict[str, float]
    duration_s: float
    daylight_fraction: float
    altitude_km: float  # equivalent altitude (NaN for a pass excluded in daylight)
    range_error_km: float  # largest |spherical − real range| over the pass (NaN: excluded)
    min_range_km: float
    notes: tuple[str, ...] = ()


def pass_budget_from_profile(
    link: Link,
    scenario: Scenario,
    profile: PassProfile,
    daylight: str = "exclude",
) -> LinkBudget:
    """The link's loss budget over a real pass: the circular-orbit models at the pass's
    elevations, with the satellite at the altitude that reproduces the range at the
    highest point (:func:`equivalent_altitude_km`).

    The budget is the one of :func:`qcalc.linkbudget.link_budget` at the pass's
    elevation samples (same terms, detector included), with the time grid of the pass in
    ``extra["pass_time_s"]`` as :func:`qcalc.channels.pass_budget` gives it, and the sky
    of each sample: the link's own sky (its ``sky``, or none) while the Sun is down and,
    with ``daylight="day_sky"``, the clear day sky (``day_clear``) while it is up.

    Parameters
    ----------
    link : Link
        A satellite link whose satellite end has an orbit.
    scenario : Scenario
        The scenario holding the link's ends.
    profile : PassProfile
        The pass, sampled.
    daylight : {"exclude", "day_sky"}, optional
        What a sample in daylight sees; "exclude" leaves the night sky (the caller drops
        daylight passes).

    Returns
    -------
    LinkBudget
        Arrays over the pass's samples.
    """
    from qcalc.channels import sky_background
    from qcalc.linkbudget import LinkBudget, link_budget, orient

    satellite_end = next(e for e in link.ends if scenario.nodes[e].orbit is not None)
    peak = int(np.argmax(profile.elevation_deg))
    altitude = float(equivalent_altitude_km(profile.range_km[peak], profile.elevation_deg[peak]))
    node = scenario.nodes[satellite_end]
    assert node.orbit is not None
    nodes = dict(scenario.nodes)
    nodes[satellite_end] = replace(node, orbit=replace(node.orbit, altitude_km=altitude))
    at_altitude = replace(scenario, nodes=nodes)
    elevations = np.clip(profile.elevation_deg, 1e-6, 90.0)
    instant = replace(link, elevation_deg=elevations, min_elevation_deg=None, passes_per_day=None)
    budget = link_budget(instant, at_altitude)
    sender, receiver = orient(link, at_altitude.nodes)
    night = sky_background(link, at_altitude, sender, receiver)
    sky = np.full(elevations.shape, float(night))
    if daylight == "day_sky":
        day = sky_background(replace(link, sky="day_clear"), at_altitude, sender, receiver)
        sky = np.where(profile.daylight, float(day), sky)
    elif daylight != "exclude":
        raise ValueError(f"daylight must be 'exclude' or 'day_sky'; got {daylight!r}")
    extra = {
        **budget.extra,
        "pass_time_s": profile.time_s - profile.time_s[0],
        "pass_duration_s": profile.duration_s,
        "sky_photons_per_window": sky,
        "altitude_km": altitude,
    }
    return LinkBudget(**{**budget.__dict__, "link": link, "extra": extra})


def pass_key_rates(
    budget: LinkBudget, scenario: Scenario, demand: Demand
) -> tuple[list[ProtocolRate], list[str]]:
    """Key rates over a pass budget (arrays over its time grid), the finite-key block
    being the whole pass: :func:`qcalc.demands.prepare_measure_rates` as the
    circular-orbit pass computes them."""
    from qcalc.demands import prepare_measure_rates

    sender = scenario.nodes[budget.sender]
    receiver = scenario.nodes[budget.receiver]
    return prepare_measure_rates(
        sender.source,
        receiver.detector,
        budget.transmittance,
        budget.channel_transmittance,
        budget.link.misalignment_error,
        demand,
        f"hop {budget.sender}→{budget.receiver}",
        None,
        budget.background_yield,
        budget.extra["pass_duration_s"],
    )


def bits_over_pass(budget: LinkBudget, rates: Sequence[ProtocolRate]) -> dict[str, float]:
    """Bits of each protocol over the pass (:func:`qcalc.channels.integrate_over_pass`)."""
    from qcalc.channels import integrate_over_pass

    times = budget.pass_time_s
    assert times is not None
    return {
        rate.protocol: integrate_over_pass(np.broadcast_to(rate.key_rate_bps, times.shape), times)[
            0
        ]
        for rate in rates
    }


def key_of_pass(
    satellite: Satellite,
    station: Station,
    window: Window,
    one_pass: Pass,
    link: Link,
    scenario: Scenario,
    demand: Demand,
    daylight: str = "exclude",
) -> PassKey:
    """Key of one pass over a station from its real elevation and range profile.

    With ``daylight="exclude"`` a pass during which the Sun is up carries no key: its
    ``bits`` are empty (not computed)."""
    profile = pass_profile(satellite, station, window, one_pass)
    if daylight == "exclude" and bool(profile.daylight.any()):
        return PassKey(
            one_pass,
            {},
            profile.duration_s,
            float(np.mean(profile.daylight)),
            math.nan,
            math.nan,
            float(np.min(profile.range_km)),
            ("in daylight: excluded",),
        )
    budget = pass_budget_from_profile(link, scenario, profile, daylight)
    rates, notes = pass_key_rates(budget, scenario, demand)
    altitude = float(budget.extra["altitude_km"])
    from qcalc.physics.satellite import slant_range_km

    spherical = slant_range_km(altitude, np.clip(profile.elevation_deg, 0.0, 90.0))
    return PassKey(
        one_pass,
        bits_over_pass(budget, rates),
        profile.duration_s,
        float(np.mean(profile.daylight)),
        altitude,
        float(np.max(np.abs(spherical - profile.range_km))),
        float(np.min(profile.range_km)),
        tuple(notes),
    )


# --------------------------------------------------------------------------- statistics


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """P5, P50 and P95 (linear interpolation between order statistics; 0 for none)."""
    if not values:
        return {"p5": 0.0, "p50": 0.0, "p95": 0.0}
    p5, p50, p95 = np.percentile(np.asarray(values, dtype=float), [5, 50, 95])
    return {"p5": float(p5), "p50": float(p50), "p95": float(p95)}


@record(frozen=True)
class StationKey:
    """Key delivered to one station over a window."""

    station: Station
    protocol: str | None
    passes: tuple[PassKey, ...]
    used: tuple[bool, ...]  # False: a daylight pass excluded
    window: Window

    def clear_bits(self, key: PassKey) -> float:
        return key.bits.get(self.protocol, 0.0) if self.protocol is not None else 0.0

    def cloud_free(self, key: PassKey) -> float:
        month = self.window.at(key.one_pass.peak_s).month
        return self.station.cloud_free_probability[month - 1]

    @property
    def expected_bits(self) -> list[float]:
        """Expected key of each pass: clear-sky bits × the cloud-free probability of the
        month of its highest point; 0 for an excluded pass. [bit]"""
        return [
            self.clear_bits(k) * self.cloud_free(k) if use else 0.0
            for k, use in zip(self.passes, self.used, strict=True)
        ]

    @property
    def key_bits_per_day(self) -> float:
        """Expected key per day over the window: Σ expected bits / window days. [bit/day]"""
        return float(sum(self.expected_bits)) / self.window.days

    @property
    def clear_sky_bits_per_day(self) -> float:
        """Key per day with no clouds: Σ clear-sky bits of the used passes / days."""
        used = [self.clear_bits(k) for k, u in zip(self.passes, self.used, strict=True) if u]
        return float(sum(used)) / self.window.days

    @property
    def key_bits_per_month(self) -> tuple[float, ...]:
        """Expected key in each calendar month (January first): the window's clear-sky key
        per day × that month's cloud-free probability × its mean length. [bit]"""
        clear = self.clear_sky_bits_per_day
        return tuple(
            clear * p * days
            for p, days in zip(self.station.cloud_free_probability, MONTH_DAYS, strict=True)
        )

    @property
    def key_bits_per_year(self) -> float:
        """Σ of :attr:`key_bits_per_month`: the window's pass geometry taken as typical of
        the year, weighted by each month's cloud-free probability. [bit]"""
        return float(sum(self.key_bits_per_month))

    @property
    def per_pass_percentiles(self) -> dict[str, float]:
        """P5/P50/P95 of the clear-sky key of the used passes. [bit]"""
        return percentiles(
            [self.clear_bits(k) for k, u in zip(self.passes, self.used, strict=True) if u]
        )

    def cumulative_bits(self, seconds: FloatArray) -> FloatArray:
        """Expected key delivered by the end of each time (passes counted at their set)."""
        ends = np.array([k.one_pass.set_s for k in self.passes], dtype=float)
        bits = np.asarray(self.expected_bits, dtype=float)
        order = np.argsort(ends)
        ends, total = ends[order], np.cumsum(bits[order])
        index = np.searchsorted(ends, seconds, side="right")
        return np.where(index > 0, np.concatenate([[0.0], total])[index], 0.0)


def choose_protocol(per_pass: Sequence[PassKey], used: Sequence[bool]) -> str | None:
    """The protocol with the most clear-sky key over the used passes (ties: first seen)."""
    totals: dict[str, float] = {}
    for key, use in zip(per_pass, used, strict=True):
        for protocol, bits in key.bits.items():
            totals[protocol] = totals.get(protocol, 0.0) + (bits if use else 0.0)
    return max(totals, key=lambda p: totals[p]) if totals else None


def station_key(
    satellite: Satellite,
    station: Station,
    window: Window,
    link: Link,
    scenario: Scenario,
    demand: Demand,
    min_elevation_deg: float,
    daylight: str = "exclude",
) -> StationKey:
    """Every pass of a satellite over a station in the window, and its key.

    With ``daylight="exclude"`` a pass during which the Sun is up at any sample carries no
    key (it is listed, and not used); with ``"day_sky"`` it is used with the day sky's
    background at its daylight samples.
    """
    keys = tuple(
        key_of_pass(satellite, station, window, p, link, scenario, demand, daylight)
        for p in find_passes(satellite, station, window, min_elevation_deg)
    )
    used = tuple(daylight == "day_sky" or k.daylight_fraction == 0.0 for k in keys)
    return StationKey(station, choose_protocol(keys, used), keys, used, window)


# --------------------------------------------------------------------------- networks


@record(frozen=True)
class RelayedKey:
    """Key shared by two stations through a trusted satellite that stores its keys.

    The satellite keeps the key of each pass; once it holds k bits with each station it
    publishes their XOR and the stations share k bits (the satellite knows them). The
    shared key by time t is min(K_A(t), K_B(t)) of the cumulative keys, so its rate is
    that of the slower station (Liao et al., PRL 120, 030501 (2018): Micius between
    Xinglong and Graz).
    """

    first: StationKey
    second: StationKey

    @property
    def key_bits_per_day(self) -> float:
        """min of the two stations' expected keys per day. [bit/day]"""
        return min(self.first.key_bits_per_day, self.second.key_bits_per_day)

    def days_until(self, key_bits: float) -> float | None:
        """Days from the window's start until ``key_bits`` are shared: read from the
        passes while the window lasts, then extrapolated at :attr:`key_bits_per_day`;
        None when no key is ever shared. [day]"""
        window = self.first.window
        ends = sorted({k.one_pass.set_s for k in (*self.first.passes, *self.second.passes)})
        times = np.asarray(ends, dtype=float)
        if times.size:
            shared = np.minimum(
                self.first.cumulative_bits(times), self.second.cumulative_bits(times)
            )
            reached = np.flatnonzero(shared >= key_bits)
            if reached.size:
                return float(times[reached[0]]) / 86400.0
            have = float(shared[-1])
        else:
            have = 0.0
        rate = self.key_bits_per_day
        if rate <= 0.0:
            return None
        return window.days + (key_bits - have) / rate


def common_view_s(
    satellite: Satellite,
    first: Station,
    second: Station,
    window: Window,
    min_elevation_deg: float,
    step_s: float = 10.0,
) -> float:
    """Time the satellite is above the mask at both stations at once (the condition of a
    relay without stored keys, e.g. entanglement sent to both), sampled every ``step_s``.
    [s]"""
    grid = np.arange(0.0, window.seconds, step_s)
    a, _, _ = topocentric(satellite, first, window, grid)
    b, _, _ = topocentric(satellite, second, window, grid)
    return float(np.count_nonzero((a > min_elevation_deg) & (b > min_elevation_deg)) * step_s)


# --------------------------------------------------------------------------- pairs in common view


@record(frozen=True)
class CommonView:
    """A time both stations see the satellite above their links' masks at once (the
    condition of a dual downlink: one photon of each pair to each station). Seconds from
    the window's start; a view cut by the window's start or end says so."""

    start_s: float
    end_s: float
    cut_at_start: bool = False
    cut_at_end: bool = False

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def common_view_windows(
    satellite: Satellite,
    stations: tuple[Station, Station],
    window: Window,
    masks_deg: tuple[float, float],
    step_s: float = 10.0,
) -> list[CommonView]:
    """Every interval in which the satellite is above ``masks_deg[i]`` at station ``i``
    for both stations at once.

    The margin m(t) = min(ε_A(t) − ε_A,min, ε_B(t) − ε_B,min) is scanned every ``step_s``
    (a common view shorter than the step may be missed); each run of m > 0 is widened to
    the roots of m(t) = 0 (Brent's method, 1 ms) between the scan points that bracket
    them (Brent 1973, Ch. 4). [s]
    """
    from scipy.optimize import brentq

    grid = np.arange(0.0, window.seconds + step_s, step_s)
    grid[-1] = min(grid[-1], window.seconds)
    first, second = stations
    a, _, _ = topocentric(satellite, first, window, grid)
    b, _, _ = topocentric(satellite, second, window, grid)
    above = np.minimum(a - masks_deg[0], b - masks_deg[1]) > 0.0
    at_a = _elevation_function(satellite, first, window)
    at_b = _elevation_function(satellite, second, window)

    def margin(t: float) -> float:
        return min(at_a(t) - masks_deg[0], at_b(t) - masks_deg[1])

    edges = np.flatnonzero(np.diff(np.concatenate([[0], above.astype(int), [0]])))
    views = []
    for i, j in zip(edges[::2], edges[1::2], strict=True):  # above[i:j] all True
        cut_start, cut_end = i == 0, j == len(grid)
        start = 0.0 if cut_start else float(brentq(margin, grid[i - 1], grid[i], xtol=1e-3))
        end = window.seconds if cut_end else float(brentq(margin, grid[j - 1], grid[j], xtol=1e-3))
        views.append(CommonView(start, end, cut_start, cut_end))
    return views


@record(frozen=True)
class DualProfile:
    """A common view sampled on an even time grid: both stations' pass profiles."""

    first: PassProfile
    second: PassProfile

    @property
    def daylight(self) -> npt.NDArray[np.bool_]:
        """Samples at which the Sun is up at either station."""
        return self.first.daylight | self.second.daylight


def dual_profile(
    satellite: Satellite,
    stations: tuple[Station, Station],
    window: Window,
    view: CommonView,
    points: int | None = None,
) -> DualProfile:
    """Sample a common view on ``points`` even times (default: the pass grid,
    :data:`qcalc.channels.PASS_POINTS`) from both stations."""
    one = Pass("", view.start_s, view.end_s, view.start_s, 90.0)
    first, second = (pass_profile(satellite, station, window, one, points) for station in stations)
    return DualProfile(first, second)


@record(frozen=True)
class PairPass:
    """Bell pairs of one common view: clear-sky pairs, their rate-weighted fidelity, and
    what the view looked like. An excluded view (daylight) has ``used`` False and no
    pairs."""

    view: CommonView
    used: bool
    pairs: float  # clear sky [pairs]
    fidelity: float | None  # pair-weighted mean over the view; None without pairs
    daylight_fraction: float
    min_elevation_deg: tuple[float, float]  # lowest of each station over the view
    summed_range_km: tuple[float, float]  # shortest and longest sum of the two ranges
    altitude_km: float  # equivalent altitude of the satellite (NaN when excluded)
    range_error_km: float  # largest |spherical − real| range over both links (NaN: excluded)

    @property
    def middle_s(self) -> float:
        return 0.5 * (self.view.start_s + self.view.end_s)


def dual_altitude_km(profile: DualProfile) -> float:
    """One altitude for both downlinks of a common view: the mean of the two stations'
    :func:`equivalent_altitude_km` at the sample where the lower of their elevations is
    highest (the middle of the view). [km]"""
    low = np.minimum(profile.first.elevation_deg, profile.second.elevation_deg)
    k = int(np.argmax(low))
    both = [
        float(equivalent_altitude_km(p.range_km[k], p.elevation_deg[k]))
        for p in (profile.first, profile.second)
    ]
    return 0.5 * (both[0] + both[1])


def dual_scenario(
    scenario: Scenario,
    demand: Demand,
    route: Sequence[str],
    links: tuple[Link, Link],
    profile: DualProfile,
    lit: tuple[bool, bool] = (False, False),
) -> tuple[Scenario, Demand]:
    """The scenario of one common view: the satellite at :func:`dual_altitude_km`, each
    downlink at its station's elevation samples (arrays; ``elevation_deg`` replaces the
    pass mask, as :func:`pass_budget_from_profile` does for key), the clear day sky
    (``day_clear``) on a link whose ``lit`` is True, and the demand on its route."""
    satellite = route[1]
    node = scenario.nodes[satellite]
    assert node.orbit is not None
    nodes = dict(scenario.nodes)
    altitude = dual_altitude_km(profile)
    nodes[satellite] = replace(node, orbit=replace(node.orbit, altitude_km=altitude))
    changed = {}
    for link, station, day in zip(links, (profile.first, profile.second), lit, strict=True):
        changed[link.name] = replace(
            link,
            elevation_deg=np.clip(station.elevation_deg, 1e-6, 90.0),
            min_elevation_deg=None,
            passes_per_day=None,
            sky="day_clear" if day else link.sky,
        )
    new_links = tuple(changed.get(link.name, link) for link in scenario.links)
    return (
        replace(scenario, nodes=nodes, links=new_links),
        replace(demand, path=tuple(route)),
    )


def pairs_at_samples(
    scenario: Scenario,
    demand: Demand,
    route: Sequence[str],
    links: tuple[Link, Link],
    profile: DualProfile,
    daylight: tuple[str, str],
) -> tuple[FloatArray, FloatArray, str]:
    """Pair rate [Hz] and fidelity at every sample of a common view, from the demand's
    own evaluation (:func:`qcalc.demands.evaluate_demand`, as ``qcalc rate`` gives it at
    those elevations), and the reason when the route delivers no pairs ("" otherwise).

    With ``daylight[i] == "day_sky"`` the samples in daylight at station ``i`` count the
    clear day sky on its link: the scenario is evaluated once per combination of lit
    links that occurs, and each sample takes its own."""
    from qcalc.demands import evaluate_demand

    shape = profile.first.time_s.shape
    rate, fidelity = np.zeros(shape), np.zeros(shape)
    lit_a = profile.first.daylight & (daylight[0] == "day_sky")
    lit_b = profile.second.daylight & (daylight[1] == "day_sky")
    for combo in {(bool(x), bool(y)) for x, y in zip(lit_a, lit_b, strict=True)}:
        at, asked = dual_scenario(scenario, demand, route, links, profile, combo)
        result = evaluate_demand(at, asked)
        delivery = result.entanglement
        if delivery is None or not delivery.delivers:
            reason = getattr(delivery, "reason", "") or "the route delivers no Bell pairs"
            return rate, fidelity, reason
        where = (lit_a == combo[0]) & (lit_b == combo[1])
        rate = np.where(where, np.broadcast_to(result.pair_rate_hz, shape), rate)
        fidelity = np.where(where, np.broadcast_to(result.fidelity, shape), fidelity)
    return rate, fidelity, ""


def pairs_of_view(
    scenario: Scenario,
    demand: Demand,
    route: Sequence[str],
    links: tuple[Link, Link],
    profile: DualProfile,
    view: CommonView,
    daylight: tuple[str, str],
) -> tuple[PairPass, str]:
    """Bell pairs of one common view: Σ rate × dt (trapezoid rule,
    :func:`qcalc.channels.integrate_over_pass`) and the pair-weighted fidelity
    ∫ R F dt / ∫ R dt over the view's samples; with ``exclude`` at a station a view
    during which the Sun is up there carries none. Returns the view and the reason
    the route delivers no pairs ("" when it does)."""
    from qcalc.channels import integrate_over_pass
    from qcalc.physics.satellite import slant_range_km

    first, second = profile.first, profile.second
    lit = (first.daylight.any() and daylight[0] == "exclude") or (
        second.daylight.any() and daylight[1] == "exclude"
    )
    pairs, fidelity, altitude, error, reason = 0.0, None, math.nan, math.nan, ""
    if not lit:
        rate, f, reason = pairs_at_samples(scenario, demand, route, links, profile, daylight)
        times = first.time_s - first.time_s[0]
        pairs = integrate_over_pass(rate, times)[0]
        fidelity = integrate_over_pass(rate * f, times)[0] / pairs if pairs > 0.0 else None
        altitude = dual_altitude_km(profile)
        error = max(
            float(
                np.max(
                    np.abs(slant_range_km(altitude, np.clip(p.elevation_deg, 0, 90)) - p.range_km)
                )
            )
            for p in (first, second)
        )
    summed = first.range_km + second.range_km
    one = PairPass(
        view,
        not lit,
        pairs,
        fidelity,
        float(np.mean(profile.daylight)),
        (float(first.elevation_deg.min()), float(second.elevation_deg.min())),
        (float(summed.min()), float(summed.max())),
        altitude,
        error,
    )
    return one, reason


@record(frozen=True)
class PairsInView:
    """Bell pairs sent from a satellite to two stations at once over a window: each
    common view's clear-sky pairs, weighted by the chance both skies are clear (the two
    stations' cloud-free probabilities of the view's month, taken as independent)."""

    first: Station
    second: Station
    passes: tuple[PairPass, ...]
    window: Window
    views: tuple[CommonView, ...] = ()  # every common view found (passes: those evaluated)

    @property
    def common_view_s(self) -> float:
        """Total time both stations see the satellite above their masks. [s]"""
        return float(sum(v.duration_s for v in self.views))

    def cloud_free(self, p: PairPass) -> float:
        """Probability both stations are clear in the month of the view's middle."""
        month = self.window.at(p.middle_s).month
        return (
            self.first.cloud_free_probability[month - 1]
            * self.second.cloud_free_probability[month - 1]
        )

    @property
    def expected_pairs(self) -> list[float]:
        """Expected pairs of each view: clear-sky pairs × both cloud-free probabilities;
        0 for an excluded view. [pairs]"""
        return [p.pairs * self.cloud_free(p) if p.used else 0.0 for p in self.passes]

    @property
    def pairs_per_day(self) -> float:
        """Expected pairs per day: Σ expected pairs / window days. [pairs/day]"""
        return float(sum(self.expected_pairs)) / self.window.days

    @property
    def clear_sky_pairs_per_day(self) -> float:
        """Pairs per day with both skies clear: Σ pairs of the used views / days."""
        return float(sum(p.pairs for p in self.passes if p.used)) / self.window.days

    @property
    def pairs_per_month(self) -> tuple[float, ...]:
        """Expected pairs in each calendar month (January first): clear-sky pairs per day ×
        both stations' cloud-free probabilities of that month × its mean length."""
        clear = self.clear_sky_pairs_per_day
        both = zip(
            self.first.cloud_free_probability, self.second.cloud_free_probability, strict=True
        )
        return tuple(clear * a * b * days for (a, b), days in zip(both, MONTH_DAYS, strict=True))

    @property
    def pairs_per_year(self) -> float:
        """Σ of :attr:`pairs_per_month`. [pairs]"""
        return float(sum(self.pairs_per_month))

    @property
    def per_pass_percentiles(self) -> dict[str, float]:
        """P5/P50/P95 of the clear-sky pairs of the used views. [pairs]"""
        return percentiles([p.pairs for p in self.passes if p.used])

    @property
    def fidelity(self) -> float | None:
        """Pair-weighted mean fidelity of the expected pairs: Σ_i N_i F_i / Σ_i N_i over
        the views (N_i expected pairs, F_i the view's pair-weighted fidelity); None when
        no pair is expected."""
        weights = self.expected_pairs
        total = float(sum(weights))
        if total <= 0.0:
            return None
        return (
            float(sum(w * (p.fidelity or 0.0) for w, p in zip(weights, self.passes, strict=True)))
            / total
        )


def pairs_in_view(
    satellite: Satellite,
    scenario: Scenario,
    demand: Demand,
    route: Sequence[str],
    window: Window,
) -> tuple[PairsInView, str]:
    """Bell pairs of a station–satellite–station route over every common view of the
    window: each view sampled on the pass grid and evaluated through the demand's own
    chain (:func:`pairs_of_view`). Returns the pairs and the reason the route delivers
    none ("" when it does; the views are then listed with no pairs)."""
    from qcalc.network import best_link

    stations = (station_of(scenario, route[0]), station_of(scenario, route[2]))
    links = (best_link(scenario, route[1], route[0]), best_link(scenario, route[1], route[2]))
    masks = (float(links[0].min_elevation_deg), float(links[1].min_elevation_deg))
    daylight = (links[0].daylight or "exclude", links[1].daylight or "exclude")
    views = tuple(common_view_windows(satellite, stations, window, masks))
    _, _, reason = pairs_at_samples(scenario, demand, route, links, probe_profile(), daylight)
    if reason:
        return PairsInView(*stations, (), window, views), reason
    passes = []
    for view in views:
        profile = dual_profile(satellite, stations, window, view)
        one, why = pairs_of_view(scenario, demand, route, links, profile, view, daylight)
        if why:
            return PairsInView(*stations, (), window, views), why
        passes.append(one)
    return PairsInView(*stations, tuple(passes), window, views), ""


def probe_profile() -> DualProfile:
    """One night-time sample with the satellite at 45° over both stations 700 km away:
    enough for the chain to say whether the route delivers Bell pairs at all."""
    one = PassProfile(
        np.zeros(1), np.full(1, 45.0), np.zeros(1), np.full(1, 700.0), np.full(1, -90.0)
    )
    return DualProfile(one, one)


# --------------------------------------------------------------------------- scenarios


@record(frozen=True)
class DemandOrbit:
    """What the passes of a demand's satellite deliver to its ends over the window.

    ``model`` is "direct" (one satellite hop: the key of the passes over the station),
    "stored key" (two hops through a trusted satellite that stores each pass's key,
    :class:`RelayedKey`), "pairs in common view" (two hops through an untrusted satellite
    sending Bell pairs to both stations at once, :class:`PairsInView`), or "not
    modelled" with the reason in ``notes``.
    """

    demand: Demand
    satellite: str
    model: str
    stations: tuple[StationKey, ...] = ()
    relayed: RelayedKey | None = None
    common_view_s: float | None = None
    notes: tuple[str, ...] = ()
    pairs: PairsInView | None = None

    @property
    def key_bits_per_day(self) -> float:
        """Expected key per day over the window (clouds included). [bit/day]"""
        if self.relayed is not None:
            return self.relayed.key_bits_per_day
        return self.stations[0].key_bits_per_day if self.stations else 0.0

    @property
    def days_until_shared(self) -> float | None:
        """Days until the demand's ``shared_key_bits`` are shared (None: not asked, or
        never). [day]"""
        size = self.demand.shared_key_bits
        if size is None or not self.stations:
            return None
        if self.relayed is not None:
            return self.relayed.days_until(float(size))
        only = self.stations[0]
        return RelayedKey(only, only).days_until(float(size))


@record(frozen=True)
class OrbitReport:
    """The orbit evaluation of a scenario over a window."""

    window: Window
    satellites: dict[str, Satellite]
    demands: tuple[DemandOrbit, ...]
    notes: tuple[str, ...] = ()


def tle_satellites(scenario: Scenario) -> dict[str, tuple[str, str]]:
    """The scenario's satellite nodes given by a TLE: name → (line 1, line 2)."""
    out: dict[str, tuple[str, str]] = {}
    for name, node in scenario.nodes.items():
        tle = None if node.orbit is None else getattr(node.orbit, "tle", None)
        if tle is not None:
            out[name] = (tle[0], tle[1])
    return out


def station_of(scenario: Scenario, name: str) -> Station:
    """A ground node as a :class:`Station` (its coordinates and cloud-free probability)."""
    from qcalc.errors import NotModelledError, ScenarioError

    node = scenario.nodes[name]
    values = (node.latitude_deg, node.longitude_deg, node.altitude_m)
    if node.latitude_deg is None or node.longitude_deg is None:
        raise ScenarioError(
            f"nodes.{name}: passes over it need its latitude_deg and longitude_deg",
            file=scenario.file,
        )
    cloud = node.cloud_free_probability
    if any(np.ndim(v) > 0 for v in values) or (
        cloud is not None and np.ndim(cloud) > 0 and not isinstance(cloud, tuple)
    ):
        raise NotModelledError(
            f"nodes.{name}: one orbit evaluation over many station positions or cloud "
            "probabilities is not modelled; evaluate each on its own"
        )
    monthly = (
        (1.0,) * 12
        if cloud is None
        else (tuple(float(c) for c in cloud) if isinstance(cloud, tuple) else (float(cloud),) * 12)
    )
    return Station(
        name,
        float(node.latitude_deg),
        float(node.longitude_deg),
        0.0 if node.altitude_m is None else float(node.altitude_m),
        monthly,
    )


_T = TypeVar("_T")


def _propagated(function: Callable[..., _T], *args: Any) -> _T:
    """Run a propagation; SGP4's refusals (a decayed orbit, a date it cannot reach) and
    the link models' range checks become a :class:`~qcalc.errors.ScenarioError`."""
    from qcalc.errors import ScenarioError

    try:
        return function(*args)
    except ValueError as exc:
        raise ScenarioError(f"orbit evaluation: {exc}") from None


def tle_satellites_of(scenario: Scenario) -> dict[str, Satellite]:
    """The scenario's TLE satellites parsed for SGP4 (a malformed element set is a
    :class:`~qcalc.errors.ScenarioError` naming the node; none is a usage error)."""
    lines = tle_satellites(scenario)
    if not lines:
        raise UsageError(
            "--from and --days set the window of satellites given by a TLE; this scenario "
            "has none (give a satellite node orbit: {tle: [line 1, line 2]})"
        )
    satellites: dict[str, Satellite] = {}
    for name, (line1, line2) in lines.items():
        try:
            satellites[name] = Satellite.from_tle(name, line1, line2)
        except ValueError as exc:
            from qcalc.errors import ScenarioError

            raise ScenarioError(f"nodes.{name}.orbit.tle: {exc}", file=scenario.file) from None
    return satellites


#: Days from a TLE's epoch beyond which pass times are only indicative. [day]
STALE_TLE_DAYS = 30.0


def epoch_notes(satellites: dict[str, Satellite], window: Window) -> list[str]:
    """A note for each satellite whose TLE epoch is more than :data:`STALE_TLE_DAYS` from
    either end of the window: SGP4's along-track error grows by kilometres a day
    (Vallado et al. 2006), so its pass times are indicative."""
    notes = []
    for name, satellite in satellites.items():
        gap = abs((window.start - satellite.epoch) / timedelta(days=1))
        far = max(gap, abs((window.at(window.seconds) - satellite.epoch) / timedelta(days=1)))
        if far > STALE_TLE_DAYS:
            notes.append(
                f"{name}: the window reaches {far:.0f} days from the TLE's epoch "
                f"{satellite.epoch:%Y-%m-%d}; SGP4's along-track error grows by kilometres a "
                "day, so pass times are indicative (Vallado et al. 2006); use a recent TLE"
            )
    return notes


class _DemandPasses:
    """The orbit evaluation of one scenario's demands over one window: the key of each
    (satellite, station, link, demand) is propagated once and shared by the routes."""

    def __init__(
        self, scenario: Scenario, satellites: dict[str, Satellite], window: Window
    ) -> None:
        self.scenario = scenario
        self.satellites = satellites
        self.window = window
        self.cache: dict[tuple[str, str, str, int], StationKey] = {}

    def keyed(self, sat: str, ground: str, demand: Demand) -> StationKey:
        """The passes of ``sat`` over ``ground`` and their key, through the best link."""
        from qcalc.network import best_link

        link = best_link(self.scenario, sat, ground)
        tag = (sat, ground, link.name, id(demand))
        if tag not in self.cache:
            self.cache[tag] = _propagated(
                station_key,
                self.satellites[sat],
                station_of(self.scenario, ground),
                self.window,
                link,
                self.scenario,
                demand,
                float(link.min_elevation_deg),
                link.daylight or "exclude",
            )
        return self.cache[tag]

    def station_notes(self, sat: str, keys: Sequence[StationKey]) -> tuple[str, ...]:
        """What each station's figures leave out: daylight passes, the day sky, clouds."""
        from qcalc.network import best_link

        out = []
        for sk in keys:
            link = best_link(self.scenario, sat, sk.station.name)
            skipped = len(sk.passes) - sum(sk.used)
            if skipped:
                how = "daylight: exclude" if link.daylight else "daylight not given: excluded"
                out.append(
                    f"{sk.station.name}: {skipped} of {len(sk.passes)} passes in daylight carry "
                    f"no key ({how}; daylight: day_sky counts the day sky's background)"
                )
            elif link.daylight == "day_sky" and any(k.daylight_fraction for k in sk.passes):
                lit = sum(1 for k in sk.passes if k.daylight_fraction > 0)
                out.append(
                    f"{sk.station.name}: {lit} of {len(sk.passes)} passes see the day sky "
                    "(daylight: day_sky, clear day sky day_clear while the Sun is up)"
                )
            if self.scenario.nodes[sk.station.name].cloud_free_probability is None:
                out.append(
                    f"{sk.station.name}: no cloud_free_probability given, so every pass is "
                    "counted clear"
                )
        return tuple(out)

    def direct(self, demand: Demand, sat: str, ground: str) -> DemandOrbit:
        """One satellite hop: the key of the passes over the station."""
        one = (self.keyed(sat, ground, demand),)
        return DemandOrbit(demand, sat, "direct", one, notes=self.station_notes(sat, one))

    def stored_key(self, demand: Demand, sat: str, first: str, second: str) -> DemandOrbit:
        """Station–satellite–station through a trusted satellite: :class:`RelayedKey`."""
        a, b = self.keyed(sat, first, demand), self.keyed(sat, second, demand)
        return DemandOrbit(
            demand,
            sat,
            "stored key",
            (a, b),
            RelayedKey(a, b),
            notes=self.station_notes(sat, (a, b)),
        )

    def common_view(self, demand: Demand, sat: str, first: str, second: str) -> DemandOrbit:
        """Station–satellite–station through an untrusted satellite: both stations must
        see it at once. When the route delivers Bell pairs (an entangled-pair source on
        the satellite) they are integrated over every common view (:func:`pairs_in_view`);
        otherwise the common-view time is given with the chain's reason."""
        route = (first, sat, second)
        pairs, reason = _propagated(
            pairs_in_view, self.satellites[sat], self.scenario, demand, route, self.window
        )
        view = pairs.common_view_s
        seen = (
            f"{sat} is not trusted, so it cannot store key: {first} and {second} must see it "
            f"at once (entanglement to both); they do for {view:.0f} s in the window"
        )
        if reason:
            note = f"{seen}, and no pairs are integrated over it: {reason}"
            return DemandOrbit(demand, sat, "not modelled", common_view_s=view, notes=(note,))
        return DemandOrbit(
            demand,
            sat,
            "pairs in common view",
            common_view_s=view,
            notes=(
                f"{seen}; the pairs of each common view are integrated from both stations' "
                "elevation and range profiles",
                *self.pair_notes(sat, pairs),
            ),
            pairs=pairs,
        )

    def pair_notes(self, sat: str, pairs: PairsInView) -> tuple[str, ...]:
        """What the pair figures leave out: views in daylight, stations without clouds."""
        from qcalc.network import best_link

        out = []
        skipped = sum(1 for p in pairs.passes if not p.used)
        if skipped:
            out.append(
                f"{skipped} of {len(pairs.passes)} common views in daylight carry no pairs "
                "(daylight: exclude at a station the Sun is up over; day_sky counts the day "
                "sky's background)"
            )
        for station in (pairs.first, pairs.second):
            if best_link(self.scenario, sat, station.name).daylight == "day_sky":
                out.append(f"{station.name}: samples in daylight see the clear day sky (day_clear)")
            if self.scenario.nodes[station.name].cloud_free_probability is None:
                out.append(
                    f"{station.name}: no cloud_free_probability given, so its sky is counted clear"
                )
        return tuple(out)

    def demand_orbit(self, demand: Demand, route: Sequence[str], sat: str) -> DemandOrbit:
        """The passes of the first TLE satellite ``sat`` on a demand's route, by the
        route's shape."""
        if len(route) == 2:
            return self.direct(demand, sat, route[0] if route[1] == sat else route[1])
        if len(route) == 3 and route[1] == sat:
            if self.scenario.nodes[sat].trusted:
                return self.stored_key(demand, sat, route[0], route[2])
            return self.common_view(demand, sat, route[0], route[2])
        return DemandOrbit(
            demand,
            sat,
            "not modelled",
            notes=(
                f"the route {' → '.join(route)} mixes the passes of {sat} with other hops; "
                "only satellite–station and station–satellite–station routes are "
                "evaluated over passes",
            ),
        )


def evaluate_orbits(scenario: Scenario, window: Window) -> OrbitReport:
    """Passes and key of every demand whose route runs through a satellite given by a TLE.

    A one-hop route (satellite–station) gets the key of the passes over the station; a
    two-hop route station–satellite–station through a trusted satellite gets the stored-
    key relay (:class:`RelayedKey`); an untrusted satellite between two stations would
    need both in view at once (entanglement sent to both), which is not modelled over
    passes: the report gives their common-view time and says so. Other routes through a
    TLE satellite (with fibre or free-space hops too) are not modelled either.
    """
    from qcalc.network import demand_route

    satellites = tle_satellites_of(scenario)
    notes = epoch_notes(satellites, window)
    evaluation = _DemandPasses(scenario, satellites, window)
    results = []
    for demand in scenario.demands:
        route = demand_route(scenario, demand)
        on_route = [n for n in route if n in satellites]
        if on_route:
            results.append(evaluation.demand_orbit(demand, route, on_route[0]))
        elif demand.shared_key_bits is not None:
            notes.append(
                f"demand {demand.name}: shared_key_bits is not used: its route "
                f"{' → '.join(route)} passes no satellite given by a TLE"
            )
    return OrbitReport(window, satellites, tuple(results), tuple(notes))


def pass_dict(window: Window, sk: StationKey, key: PassKey, use: bool) -> dict[str, Any]:
    """The JSON of one pass over a station: its times (UTC), geometry and key."""
    p = key.one_pass
    return {
        "rise_utc": window.at(p.rise_s).isoformat(),
        "set_utc": window.at(p.set_s).isoformat(),
        "peak_utc": window.at(p.peak_s).isoformat(),
        "max_elevation_deg": p.max_elevation_deg,
        "duration_s": p.duration_s,
        "min_range_km": key.min_range_km,
        "equivalent_altitude_km": key.altitude_km if use else None,
        "range_error_km": key.range_error_km if use else None,
        "daylight_fraction": key.daylight_fraction,
        "used": use,
        "cloud_free_probability": sk.cloud_free(key),
        "key_bits": sk.clear_bits(key) if use else 0.0,
        "key_bits_by_protocol": dict(key.bits) if use else {},
        "cut_by_window": p.cut_at_start or p.cut_at_end,
    }


def station_dict(window: Window, sk: StationKey) -> dict[str, Any]:
    """The JSON of one station's key over the window, with every pass."""
    return {
        "station": sk.station.name,
        "protocol": sk.protocol,
        "passes_found": len(sk.passes),
        "passes_used": int(sum(sk.used)),
        "key_bits_per_pass": sk.per_pass_percentiles,
        "clear_sky_key_bits_per_day": sk.clear_sky_bits_per_day,
        "key_bits_per_day": sk.key_bits_per_day,
        "key_bits_per_month": list(sk.key_bits_per_month),
        "key_bits_per_year": sk.key_bits_per_year,
        "passes": [
            pass_dict(window, sk, key, use) for key, use in zip(sk.passes, sk.used, strict=True)
        ],
    }


def demand_orbit_dict(window: Window, item: DemandOrbit) -> dict[str, Any]:
    """The JSON of what a demand's satellite passes deliver over the window."""
    return {
        "demand": item.demand.name,
        "satellite": item.satellite,
        "model": item.model,
        "key_bits_per_day": item.key_bits_per_day,
        "key_bits_per_year": (
            min(s.key_bits_per_year for s in item.stations) if item.stations else 0.0
        ),
        "shared_key_bits": item.demand.shared_key_bits,
        "days_until_shared": item.days_until_shared,
        "common_view_s": item.common_view_s,
        "stations": [station_dict(window, sk) for sk in item.stations],
        **pairs_dict(window, item.pairs),
        "notes": list(item.notes),
    }


def pair_pass_dict(window: Window, pairs: PairsInView, p: PairPass) -> dict[str, Any]:
    """The JSON of one common view: its times (UTC), geometry, pairs and fidelity."""
    return {
        "start_utc": window.at(p.view.start_s).isoformat(),
        "end_utc": window.at(p.view.end_s).isoformat(),
        "duration_s": p.view.duration_s,
        "min_elevation_deg": list(p.min_elevation_deg),
        "summed_range_km": list(p.summed_range_km),
        "equivalent_altitude_km": p.altitude_km if p.used else None,
        "range_error_km": p.range_error_km if p.used else None,
        "daylight_fraction": p.daylight_fraction,
        "used": p.used,
        "cloud_free_probability": pairs.cloud_free(p),
        "pairs": p.pairs,
        "fidelity": p.fidelity,
        "cut_by_window": p.view.cut_at_start or p.view.cut_at_end,
    }


def pairs_dict(window: Window, pairs: PairsInView | None) -> dict[str, Any]:
    """The pair keys of a demand's JSON (None and [] when it gets no pairs over passes)."""
    if pairs is None:
        return {
            "pairs_per_pass": None,
            "clear_sky_pairs_per_day": None,
            "pairs_per_day": None,
            "pairs_per_month": None,
            "pairs_per_year": None,
            "pair_fidelity": None,
            "pair_passes": [],
        }
    return {
        "pairs_per_pass": pairs.per_pass_percentiles,
        "clear_sky_pairs_per_day": pairs.clear_sky_pairs_per_day,
        "pairs_per_day": pairs.pairs_per_day,
        "pairs_per_month": list(pairs.pairs_per_month),
        "pairs_per_year": pairs.pairs_per_year,
        "pair_fidelity": pairs.fidelity,
        "pair_passes": [pair_pass_dict(window, pairs, p) for p in pairs.passes],
    }


def orbit_dict(report: OrbitReport) -> dict[str, Any]:
    """The JSON of an orbit evaluation (``orbits`` in ``qcalc stage/rate --format json``)."""
    window = report.window
    return {
        "window": {"from_utc": window.start.isoformat(), "days": window.days},
        "satellites": {
            name: {"tle": [sat.line1, sat.line2], "epoch_utc": sat.epoch.isoformat()}
            for name, sat in report.satellites.items()
        },
        "demands": [demand_orbit_dict(window, item) for item in report.demands],
        "notes": list(report.notes),
    }


def orbit_window(start: str | None, days: float | None) -> Window | None:
    """The window of ``--from`` and ``--days`` (None without ``--from``; ``--days``
    defaults to 1 and is printed with the results)."""
    if start is None:
        if days is not None:
            raise UsageError("--days sets the length of the --from window; give --from DATE too")
        return None
    length = 1.0 if days is None else float(days)
    if not (math.isfinite(length) and 0.0 < length <= 3660.0):
        raise UsageError(f"--days is {length:g}; expected more than 0 and at most 3660 days")
    when = parse_date(start)
    if not datetime(1957, 1, 1, tzinfo=UTC) <= when <= datetime(2100, 1, 1, tzinfo=UTC):
        raise UsageError(
            f"--from {start!r} is outside 1957–2100, the years TLEs (two-digit epoch years, "
            "1957–2056) and this propagation cover"
        )
    return Window(when, length)


def orbit_data(
    scenario: Scenario, window: Window | None
) -> tuple[OrbitReport | None, dict[str, Any] | None]:
    """The passes in ``window`` (None without one) and the ``orbits`` JSON block of
    ``qcalc stage/rate``: every pass, or, for TLE satellites evaluated without a window,
    what the figures are and how to get the passes (None without TLE satellites)."""
    passes = orbit_report(scenario, window)
    return passes, (orbit_hint_dict(scenario) if passes is None else orbit_dict(passes))


def orbit_report(scenario: Scenario, window: Window | None) -> OrbitReport | None:
    """The orbit evaluation for ``qcalc stage/rate``: None without a window."""
    if window is None:
        return None
    require_sgp4()
    return evaluate_orbits(scenario, window)


def orbit_hint_dict(scenario: Scenario) -> dict[str, Any] | None:
    """The JSON counterpart of :func:`orbit_hint_tables` (None without TLE satellites)."""
    lines = tle_satellites(scenario)
    if not lines:
        return None
    return {
        "window": None,
        "satellites": {
            name: {"tle": list(pair), "epoch_utc": tle_epoch(pair[0]).isoformat()}
            for name, pair in lines.items()
        },
        "demands": [],
        "notes": [
            "no --from window: the rates are those of the circular orbit at the TLE's mean "
            "altitude; give --from DATE --days N for the passes"
        ],
    }


def parse_date(text: str) -> datetime:
    """A window start from the command line: ``YYYY-MM-DD`` or ISO ``YYYY-MM-DDTHH:MM[:SS]``
    (UTC; an explicit offset is converted)."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--from {text!r} is not a date: give YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)"
        ) from None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)
