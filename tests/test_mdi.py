"""MDI-QKD (Lo, Curty, Qi 2012; Ma and Razavi 2012 channel model)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qcalc.protocols.mdi import mdi_qkd_rate, optimise_mdi_qkd
from qcalc.protocols.qkd import plob_bound

# Simulation parameters used by Lo, Curty, Qi (PRL 108, 130503, 2012) and tabulated by
# Ma and Razavi (PRA 86, 062319, 2012, Table I): detection efficiency 14.5 %, dark count
# 3e-6 per detector, misalignment 1.5 %, f = 1.16, 0.2 dB/km, relay in the middle.
LCQ_DETECTOR_EFFICIENCY = 0.145
LCQ_DARK_COUNT = 3e-6
LCQ_MISALIGNMENT = 0.015
SLOPE_TOLERANCE = 0.05


def _arm(total_km: npt.ArrayLike, detector: float, alpha: float = 0.2) -> npt.NDArray[np.float64]:
    """Transmittance of one half of the link (relay in the middle) times detection."""
    return np.asarray(detector * 10.0 ** (-alpha * np.asarray(total_km) / 2.0 / 10.0))


def test_lcq_2012_secure_over_200_km() -> None:
    # Lo, Curty, Qi 2012, abstract: "long-distance quantum cryptography over say 200 km
    # will remain secure even with seriously flawed detectors". The upper bracket (no key
    # at 260 km; our cut-off is 232 km) is this model's own and guards against drift.
    arms = _arm(np.array([200.0, 260.0]), LCQ_DETECTOR_EFFICIENCY)
    rate, _ = optimise_mdi_qkd(arms, arms, LCQ_DARK_COUNT, LCQ_MISALIGNMENT)
    assert rate[0] > 0.0
    assert rate[1] == 0.0


def test_rate_scales_linearly_with_total_transmittance() -> None:
    # Closed form: Y11 ≈ η_a η_b / 2 when dark counts are negligible (Ma and Razavi 2012,
    # Eq. (A9)), so R ∝ η = η_a η_b far from the cut-off: log-slope exactly 1.
    arms = _arm(np.array([100.0, 150.0]), 0.145)
    rate, _ = optimise_mdi_qkd(arms, arms, 1e-7, LCQ_MISALIGNMENT)
    slope = np.diff(np.log(rate)) / np.diff(np.log(arms * arms))
    assert float(slope[0]) == pytest.approx(1.0, abs=SLOPE_TOLERANCE)


def test_yin_2016_404_km_is_below_the_asymptotic_rate() -> None:
    # Yin et al., PRL 117, 190501 (2016): MDI-QKD over 404 km of ultralow-loss fibre,
    # four-intensity decoy, finite key; 3.2e-4 bit/s at a 75 MHz clock. Assumed here (not
    # re-verified): 0.16 dB/km, SNSPD efficiency 65 %, 1e-7 dark counts per gate,
    # e_d = 1.5 %. The asymptotic infinite-decoy rate must lie ABOVE the experiment; the
    # gap (about ×800 here) is the finite-size cost of ~1e13 pulses at the very edge of
    # the reach plus the four-intensity (not infinite) decoy estimate, so we accept a
    # factor up to 3000.
    published_bps, clock_hz = 3.2e-4, 75e6
    arm = _arm(404.0, 0.65, alpha=0.16)
    rate, _ = optimise_mdi_qkd(arm, arm, 1e-7, 0.015)
    predicted_bps = float(rate) * clock_hz
    assert published_bps < predicted_bps < 3000.0 * published_bps


def test_swapping_alice_and_bob_changes_nothing() -> None:
    a = mdi_qkd_rate(1e-2, 3e-3, 1e-6, 0.01, mean_photon_number_a=0.2, mean_photon_number_b=0.6)
    b = mdi_qkd_rate(3e-3, 1e-2, 1e-6, 0.01, mean_photon_number_a=0.6, mean_photon_number_b=0.2)
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_scalar_and_array_inputs_agree() -> None:
    arms = _arm(np.array([0.0, 50.0, 150.0]), 0.5)
    array = mdi_qkd_rate(arms, arms, 1e-6, 0.01)
    scalars = np.array([float(mdi_qkd_rate(float(a), float(a), 1e-6, 0.01)) for a in arms])
    assert array.shape == (3,)
    assert mdi_qkd_rate(0.1, 0.1, 1e-6, 0.01).shape == ()
    np.testing.assert_allclose(array, scalars, rtol=1e-12)


def test_no_transmittance_gives_exactly_zero() -> None:
    rate = mdi_qkd_rate(np.array([0.0, 1e-300, 1e-200]), 1e-300, 0.0, 0.01)
    assert np.all(rate == 0.0)
    optimised, params = optimise_mdi_qkd(1e-300, 1e-300, 1e-6, 0.01)
    assert float(optimised) == 0.0
    assert np.isfinite(params["mean_photon_number_a"])


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((1.5, 0.1, 1e-6, 0.01), "transmittance_a"),
        ((0.1, 0.1, -1e-6, 0.01), "dark_count_probability"),
        ((0.1, 0.1, 1e-6, 0.6), "misalignment_error"),
    ],
)
def test_invalid_inputs_raise(args: tuple[float, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        mdi_qkd_rate(*args)


@settings(max_examples=60, deadline=None)
@given(
    detector=st.floats(0.05, 1.0),
    asymmetry_km=st.floats(0.0, 100.0),
    dark=st.floats(0.0, 1e-4),
    misalignment=st.floats(0.0, 0.1),
    mu_a=st.floats(0.01, 1.5),
    mu_b=st.floats(0.01, 1.5),
)
def test_rate_is_finite_nonnegative_monotone_and_below_plob(
    detector: float, asymmetry_km: float, dark: float, misalignment: float, mu_a: float, mu_b: float
) -> None:
    total_km = np.linspace(0.0, 400.0, 41)
    eta_a = detector * 10.0 ** (-0.02 * total_km / 2)
    eta_b = eta_a * 10.0 ** (-0.02 * asymmetry_km)
    rate = mdi_qkd_rate(
        eta_a, eta_b, dark, misalignment, mean_photon_number_a=mu_a, mean_photon_number_b=mu_b
    )
    assert np.all(np.isfinite(rate))
    assert np.all(rate >= 0.0)
    assert np.all(np.diff(rate) <= 1e-15)
    assert np.all(rate <= plob_bound(eta_a * eta_b))


def test_the_stacked_x_basis_gains_are_each_pair_s_own_call():
    """_four_intensity_gains evaluates its seven X-basis pairs in one stacked call; each
    gain is bit for bit x_basis_gain of that pair alone (no dead time: live = 1)."""
    from qcalc.protocols.mdi import _four_intensity_gains, x_basis_gain

    rng = np.random.default_rng(11)
    for shape in [(), (3,), (2, 4)]:
        channel = (
            10 ** rng.uniform(-4, -0.5, size=shape),
            10 ** rng.uniform(-4, -0.5, size=shape),
            np.full(shape, 1e-7),
            np.full(shape, 0.01),
        )
        nu_x, nu_y = np.float64(0.1), 10 ** rng.uniform(-2.5, -1.5, size=shape)
        observed, _, _ = _four_intensity_gains(
            channel, (np.float64(0.4), nu_x, nu_y), (0.3, 0.2, 0.3, 0.2), 0.0
        )

        def alone(a, b, channel=channel):
            return x_basis_gain(*channel, a, b)

        pairs = {
            "xx": alone(nu_x, nu_x)[0],
            "txx": alone(nu_x, nu_x)[1],
            "yy": alone(nu_y, nu_y)[0],
            "x0+0x": alone(nu_x, 0.0)[0] + alone(0.0, nu_x)[0],
            "y0+0y": alone(nu_y, 0.0)[0] + alone(0.0, nu_y)[0],
            "00": alone(0.0, 0.0)[0],
        }
        for name, expected in pairs.items():
            got = observed[name][0]
            assert np.array_equal(got, np.broadcast_to(expected, np.shape(got))), name


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from([((), ()), ((3,), ()), ((), (3,)), ((2, 4), (4,)), ((4,), (2, 4))]),
    st.integers(1, 4),
    st.integers(0, 2**32 - 1),
)
def test_the_stacked_click_probability_is_the_sum_pair_by_pair(
    shapes: tuple[tuple[int, ...], tuple[int, ...]], count: int, seed: int
) -> None:
    """mdi_relay_click_probability computes its pairs (a, b) in one broadcast and sums
    them in list order: bit for bit the pair-by-pair sum of Ma & Razavi's click
    probability (channel and intensities of different shapes broadcast as before)."""
    from qcalc.protocols.mdi import mdi_relay_click_probability

    channel_shape, mix_shape = shapes
    rng = np.random.default_rng(seed)
    eta_a = 10 ** rng.uniform(-5, 0, size=channel_shape)
    eta_b = 10 ** rng.uniform(-5, 0, size=channel_shape)
    p_d = 10 ** rng.uniform(-9, -5)
    mu_a = [rng.uniform(0, 1, size=mix_shape) for _ in range(count)]
    mu_b = [rng.uniform(0, 1, size=mix_shape) for _ in range(count)]
    w_a = list(rng.dirichlet(np.ones(count)))
    w_b = list(rng.dirichlet(np.ones(count)))
    got = mdi_relay_click_probability(eta_a, eta_b, p_d, mu_a, mu_b, w_a, w_b)
    total: npt.NDArray[np.float64] = np.asarray(0.0)
    for m_a, q_a in zip(mu_a, w_a, strict=True):
        for m_b, q_b in zip(mu_b, w_b, strict=True):  # the sum as qcalc wrote it before
            none = (1.0 - np.asarray(p_d)) ** 4 * np.exp(-(eta_a * m_a + eta_b * m_b))
            total = np.asarray(total + q_a * q_b * (1.0 - none))
    assert np.array_equal(got, np.clip(total, 0.0, 1.0))
