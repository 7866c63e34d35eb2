"""BB84 key rates and repeaterless bounds against published values."""

from __future__ import annotations

import numpy as np
import pytest

from qcalc.protocols.qkd import (
    bb84_key_rate,
    binary_entropy,
    plob_bound,
    single_photon_bb84_key_rate,
    tgw_bound,
)

# GYS parameters as used in Ma, Qi, Zhao, Lo, Phys. Rev. A 72, 012326 (2005), Sec. V / Table I:
# α = 0.21 dB/km, η_Bob = 4.5 %, Y0 = 1.7e-6, e_d = 3.3 %, f(E) = 1.22, q = 1/2.
GYS = {"alpha": 0.21, "eta_bob": 0.045, "y0": 1.7e-6, "e_d": 0.033, "f": 1.22}
KM = 1.0
DISTANCE_TOL_KM = 0.5 * KM


def gys_eta(length_km: np.ndarray) -> np.ndarray:
    return 10 ** (-GYS["alpha"] * length_km / 10) * GYS["eta_bob"]


def max_distance_km(rate_of_eta, lo: float = 120.0, hi: float = 150.0) -> float:
    lengths = np.linspace(lo, hi, 30001)
    rates = rate_of_eta(gys_eta(lengths))
    assert rates[0] > 0 and rates[-1] == 0
    return float(lengths[rates > 0].max())


def test_infinite_decoy_max_distance_matches_ma_2005():
    # Ma et al. (2005), Table I: infinite decoys, μ = 0.48 → 142.05 km.
    def rate(eta):
        return bb84_key_rate(
            eta,
            GYS["y0"],
            GYS["e_d"],
            mean_photon_number=0.48,
            error_correction_efficiency=GYS["f"],
        )[0]

    assert max_distance_km(rate) == pytest.approx(142.05, abs=DISTANCE_TOL_KM)


def test_vacuum_weak_decoy_max_distance_matches_ma_2005():
    # Ma et al. (2005), Sec. V: vacuum + weak decoy with ν = 0.05, μ = 0.48 → 140.6 km.
    def rate(eta):
        return bb84_key_rate(
            eta,
            GYS["y0"],
            GYS["e_d"],
            mean_photon_number=0.48,
            decoy="vacuum+weak",
            weak_decoy_photon_number=0.05,
            error_correction_efficiency=GYS["f"],
        )[0]

    assert max_distance_km(rate) == pytest.approx(140.6, abs=DISTANCE_TOL_KM)


def test_optimised_mean_photon_number_matches_ma_2005():
    # Ma et al. (2005), Sec. V: the optimal μ for GYS is about 0.48 over most distances.
    _, mu = bb84_key_rate(
        gys_eta(np.array([0.0, 50.0, 100.0])),
        GYS["y0"],
        GYS["e_d"],
        error_correction_efficiency=GYS["f"],
    )
    np.testing.assert_allclose(mu, 0.48, atol=0.02)


def test_optimised_rate_is_at_least_fixed_mu_rate():
    eta = gys_eta(np.linspace(0, 140, 15))
    best, _ = bb84_key_rate(eta, GYS["y0"], GYS["e_d"], error_correction_efficiency=1.22)
    fixed, _ = bb84_key_rate(
        eta, GYS["y0"], GYS["e_d"], mean_photon_number=0.48, error_correction_efficiency=1.22
    )
    assert np.all(best >= fixed * (1 - 1e-9))


def test_gllp_without_decoys_reaches_much_shorter_distance():
    # Without decoys the multi-photon worst case limits GYS to a few tens of km
    # (Ma et al. 2005, Fig. 2: GLLP curve ends near 30-45 km; Lo, Ma, Chen 2005 Fig. 1).
    def rate(eta):
        return bb84_key_rate(
            eta, GYS["y0"], GYS["e_d"], decoy="none", error_correction_efficiency=GYS["f"]
        )[0]

    assert 25.0 < max_distance_km(rate, lo=0.0, hi=100.0) < 50.0


def test_single_photon_bb84_threshold_is_shor_preskill_11_percent():
    # Shor & Preskill, PRL 85, 441 (2000): 1 − 2h(Q) = 0 at Q ≈ 11.0 %.
    q_threshold = 0.110028
    below = single_photon_bb84_key_rate(
        1.0, 0.0, q_threshold - 1e-4, error_correction_efficiency=1.0, sifting_factor=1.0
    )
    above = single_photon_bb84_key_rate(
        1.0, 0.0, q_threshold + 1e-4, error_correction_efficiency=1.0, sifting_factor=1.0
    )
    assert below > 0 and above == 0


def test_single_photon_bb84_noiseless_rate_is_sifted_transmittance():
    # Noiseless single photons: R = q η exactly (Shor & Preskill 2000 with Q = 0).
    eta = np.array([1.0, 0.5, 1e-3])
    np.testing.assert_allclose(single_photon_bb84_key_rate(eta, 0.0, 0.0), 0.5 * eta)


def test_binary_entropy_values():
    # h(1/2) = 1, h(0.11) ≈ 0.4999 (Shannon 1948; standard table value).
    np.testing.assert_allclose(binary_entropy([0.0, 0.5, 1.0, 0.11]), [0, 1, 0, 0.49992], atol=1e-4)


def test_plob_and_tgw_closed_forms():
    # Pirandola et al., Nat. Commun. 8, 15043 (2017), Eq. (1): −log2(1 − η);
    # Takeoka, Guha, Wilde, Nat. Commun. 5, 5235 (2014): log2((1+η)/(1−η)).
    eta = np.array([0.5, 0.1, 1e-3, 0.0])
    np.testing.assert_allclose(plob_bound(eta), [1.0, 0.152003, 1.4434e-3, 0.0], rtol=1e-4)
    np.testing.assert_allclose(tgw_bound(eta), [np.log2(3), 0.289507, 2.8854e-3, 0.0], rtol=1e-4)
    # At low η, PLOB → η/ln 2 ≈ 1.44 η and TGW → 2η/ln 2 (twice PLOB).
    np.testing.assert_allclose(plob_bound(1e-9), 1e-9 / np.log(2), rtol=1e-6)
    np.testing.assert_allclose(tgw_bound(1e-9), 2e-9 / np.log(2), rtol=1e-6)


def test_scalar_and_array_shapes():
    rate, mu = bb84_key_rate(0.01, 1e-6, 0.01)
    assert rate.shape == () and mu.shape == ()
    rate, mu = bb84_key_rate(np.full((3, 2), 0.01), 1e-6, 0.01)
    assert rate.shape == (3, 2) and mu.shape == (3, 2)
    assert plob_bound(0.3).shape == () and plob_bound([0.3, 0.2]).shape == (2,)


@pytest.mark.parametrize("decoy", ["infinite", "vacuum+weak", "none"])
def test_extreme_transmittance_gives_exact_zero_without_warnings(decoy):
    eta = np.array([1e-300, 0.0, 5e-324, 1e-30])
    rate, _ = bb84_key_rate(eta, 1e-6, 0.01, decoy=decoy)
    assert np.all(rate == 0.0)


def test_unknown_decoy_method_is_an_error():
    with pytest.raises(ValueError, match="decoy is 'two'"):
        bb84_key_rate(0.1, 1e-6, 0.01, decoy="two", mean_photon_number=0.5)


def test_gllp_key_is_found_where_it_is_positive_only_for_small_mu() -> None:
    """Regression (found by tests/test_properties.py): GLLP without decoys at 35 km of a
    0.25 dB/km channel (η ≈ 0.13, Y0 = 1e-17, e_d = 0) is positive only for μ below about
    2η; a golden section over μ ∈ (0.001, 1.5) bracketed the wrong side and returned 0
    between 30 km (0.0087) and 40 km (0.0027). The key must fall with distance."""
    lengths_km = np.array([30.0, 35.0, 40.0])
    channel = 10 ** (-0.25 * lengths_km / 10)
    rate, mu = bb84_key_rate(channel, 1e-17, 0.0, decoy="none")
    assert rate[0] > rate[1] > rate[2] > 0
    assert np.all(mu < 2 * channel)


@pytest.mark.parametrize("decoy", ["infinite", "vacuum+weak", "weak", "none"])
def test_stacked_mu_grid_gives_the_grid_searched_one_value_at_a_time(monkeypatch, decoy):
    """Up to STACKED_GRID_POINTS points, the μ grid is one (grid, points) evaluation; the
    optimum and the rate are bit for bit those of the one-value-at-a-time grid."""
    rng = np.random.default_rng(7)
    for shape in [(), (1,), (5,), (3, 4)]:
        eta = 10 ** rng.uniform(-6, -0.3, size=shape)
        y0 = 10 ** rng.uniform(-8, -4, size=shape)
        args = (eta, y0, 0.015)
        kwargs = {"decoy": decoy, "dead_time_pulses": 0.5}
        stacked = bb84_key_rate(*args, **kwargs)
        monkeypatch.setattr("qcalc.protocols.qkd.STACKED_GRID_POINTS", -1)
        looped = bb84_key_rate(*args, **kwargs)
        monkeypatch.undo()
        for a, b in zip(stacked, looped, strict=True):
            assert np.array_equal(a, b) and a.shape == b.shape == shape
