"""Invariants that must hold for every input (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from qcalc.protocols.qkd import bb84_key_rate, plob_bound, single_photon_bb84_key_rate

eff = st.floats(0.01, 1.0)
y0s = st.floats(0.0, 1e-3)
e_ds = st.floats(0.0, 0.1)
alphas = st.floats(0.15, 0.4)
decoys = st.sampled_from(["infinite", "vacuum+weak", "none"])
LENGTHS_KM = np.linspace(0.0, 400.0, 81)


@settings(max_examples=60, deadline=None)
@given(eff, y0s, e_ds, alphas, decoys, st.one_of(st.none(), st.floats(0.05, 1.0)))
def test_bb84_rate_is_finite_nonnegative_nonincreasing_and_below_plob(
    detector_eff, y0, e_d, alpha, decoy, mu
):
    channel = 10 ** (-alpha * LENGTHS_KM / 10)
    rate, _ = bb84_key_rate(
        channel * detector_eff,
        y0,
        e_d,
        mean_photon_number=mu,
        decoy=decoy,
        weak_decoy_photon_number=0.02,
    )
    assert np.all(np.isfinite(rate)) and np.all(rate >= 0)
    assert np.all(np.diff(rate) <= 1e-12 * np.maximum(rate[:-1], 1e-300))
    # A repeaterless protocol never beats PLOB of the channel (Pirandola et al. 2017).
    assert np.all(rate <= plob_bound(channel))


@settings(max_examples=60, deadline=None)
@given(eff, y0s, e_ds, alphas)
def test_single_photon_rate_is_bounded_and_monotone(detector_eff, y0, e_d, alpha):
    channel = 10 ** (-alpha * LENGTHS_KM / 10)
    rate = single_photon_bb84_key_rate(channel * detector_eff, y0, e_d)
    assert np.all(np.isfinite(rate)) and np.all(rate >= 0)
    assert np.all(np.diff(rate) <= 0)
    assert np.all(rate <= plob_bound(channel))


@given(st.floats(0.0, 1.0))
def test_plob_is_nonnegative_and_increasing(eta):
    assert plob_bound(eta) >= 0
    assert plob_bound(min(eta * 1.01, 1.0)) >= plob_bound(eta)
