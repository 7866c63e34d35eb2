"""Physical constants used by qcalc, each with its unit and source."""

from __future__ import annotations

SPEED_OF_LIGHT_M_PER_S = 299_792_458.0  # exact, SI definition of the metre (CGPM 1983)
SPEED_OF_LIGHT_KM_PER_S = SPEED_OF_LIGHT_M_PER_S / 1000.0

# Group index of standard single-mode fibre (SMF-28) near 1550 nm; Corning SMF-28
# product information sheet PI1463 gives 1.4682 at 1550 nm, rounded as in SPEC.
FIBRE_GROUP_INDEX = 1.47

# Attenuation of standard telecom fibre at 1550 nm [dB/km]; ITU-T G.652 typical value.
FIBRE_ATTENUATION_DB_PER_KM_1550NM = 0.2

PLANCK_J_S = 6.626_070_15e-34  # exact, SI 2019
EARTH_RADIUS_KM = 6371.0  # mean Earth radius, IUGG (Moritz, J. Geodesy 74, 128 (2000))
EARTH_GM_KM3_PER_S2 = 398_600.4418  # geocentric gravitational constant, IERS Conventions 2010
