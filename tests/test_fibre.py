"""Fibre loss and delay, detector background yield."""

from __future__ import annotations

import numpy as np

from qcalc.physics.detectors import dark_count_probability
from qcalc.physics.fibre import (
    fibre_delay_s,
    fibre_loss_db,
    loss_db_from_transmittance,
    transmittance_from_loss_db,
)


def test_fibre_loss_50km_standard_fibre():
    # 0.2 dB/km × 50 km = 10 dB → η = 0.1 (ITU-T G.652 attenuation; Agrawal Eq. 2.5.2).
    loss = fibre_loss_db(50.0, 0.2, 1.0)
    np.testing.assert_allclose(loss, 11.0)
    np.testing.assert_allclose(transmittance_from_loss_db(fibre_loss_db(50.0, 0.2)), 0.1)


def test_fibre_delay_matches_group_index():
    # 100 km of SMF-28 (n_g = 1.4682 at 1550 nm, Corning PI1424): 489.7 µs one way.
    np.testing.assert_allclose(fibre_delay_s(100.0, 1.4682), 489.74e-6, rtol=1e-4)
    np.testing.assert_allclose(fibre_delay_s(100.0), 100 * 1.47 / 299792.458)


def test_transmittance_underflows_to_exact_zero():
    assert transmittance_from_loss_db(4000.0) == 0.0
    np.testing.assert_allclose(loss_db_from_transmittance(1e-300), 3000.0)


def test_dark_count_probability_small_rate_limit():
    # R τ ≪ 1: Y0 ≈ R τ; 100 Hz × 1 ns = 1e-7 (Ma et al. 2005 Sec. II).
    np.testing.assert_allclose(dark_count_probability(100.0, 1.0), 1e-7, rtol=1e-6)
    assert dark_count_probability([0.0, 1e12], 1e3).tolist() == [0.0, 1.0]
