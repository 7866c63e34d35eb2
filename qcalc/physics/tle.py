"""Two-line element sets (TLEs): their format, and what they say without a propagator.

The NORAD two-line element format (Hoots & Roehrich, Spacetrack Report No. 3 (1980),
Sec. 12; CelesTrak's "NORAD Two-Line Element Set Format"): two 69-character lines, each
ending in a modulo-10 checksum. Propagation (SGP4) is in :mod:`qcalc.orbits`, behind the
optional extra ``qcalc[orbits]``; this module needs nothing beyond the standard library.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from qcalc.constants import EARTH_GM_KM3_PER_S2, EARTH_RADIUS_KM


def tle_checksum(line: str) -> int:
    """Modulo-10 checksum of a TLE line's first 68 characters: digits count their value,
    minus signs count 1 (Space-Track / NORAD two-line element format)."""
    return sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in line[:68]) % 10


def check_tle(line1: str, line2: str) -> None:
    """Check the form of a two-line element set; raise ValueError saying what is wrong.

    Parameters
    ----------
    line1, line2 : str
        The two 69-character lines of the NORAD two-line element format (a name line, if
        any, is not one of them).

    Raises
    ------
    ValueError
        Naming the line and the problem: length, line number, checksum, or two lines of
        different satellites.
    """
    for number, line in ((1, line1), (2, line2)):
        if not isinstance(line, str):
            raise ValueError(f"line {number} is not text")
        text = line.rstrip()
        if len(text) != 69:
            raise ValueError(
                f"line {number} has {len(text)} characters; a TLE line has 69: {text!r}"
            )
        if text[0] != str(number) or text[1] != " ":
            raise ValueError(f"line {number} must start with '{number} ': {text!r}")
        if not text[68].isdigit() or int(text[68]) != tle_checksum(text):
            raise ValueError(
                f"line {number} fails its checksum (last digit {text[68]!r}, the line's digits "
                f"give {tle_checksum(text)}): a character was changed or lost"
            )
    if line1[2:7] != line2[2:7]:
        raise ValueError(
            f"the lines are of two satellites (catalogue numbers {line1[2:7].strip()} and "
            f"{line2[2:7].strip()})"
        )


def tle_mean_altitude_km(line2: str) -> float:
    """Mean altitude of a TLE's orbit above the mean Earth radius, from its mean motion.

    .. math:: a = \\left(\\mu_E / n^2\\right)^{1/3}, \\qquad h = a - R

    Parameters
    ----------
    line2 : str
        Line 2 of the element set; columns 53–63 hold the mean motion n. [rev/day]

    Returns
    -------
    float
        h, the altitude of the circular orbit with the same period; the circular-orbit
        model of :mod:`qcalc.physics.satellite` uses it. [km]

    References
    ----------
    .. [1] D. A. Vallado, *Fundamentals of Astrodynamics and Applications*, 4th ed. (2013),
       Eq. 1-27 (Kepler's third law); TLE columns: Hoots & Roehrich, Spacetrack Report
       No. 3 (1980), Sec. 12.
    """
    revs_per_day = float(line2[52:63])
    if not revs_per_day > 0:
        raise ValueError(f"line 2 gives mean motion {revs_per_day:g} rev/day; expected > 0")
    n_rad_s = revs_per_day * 2.0 * math.pi / 86400.0
    return float((EARTH_GM_KM3_PER_S2 / n_rad_s**2) ** (1.0 / 3.0) - EARTH_RADIUS_KM)


def tle_epoch(line1: str) -> datetime:
    """Epoch of an element set from line 1, columns 19–32 (YYDDD.DDDDDDDD; years 57–99
    are 19xx), without the propagator (Hoots & Roehrich, Spacetrack Report No. 3)."""
    year = int(line1[18:20])
    year += 1900 if year >= 57 else 2000
    return datetime(year, 1, 1, tzinfo=UTC) + timedelta(days=float(line1[20:32]) - 1.0)
