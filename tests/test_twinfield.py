"""Sending-or-not-sending twin-field QKD (Wang, Yu, Hu 2018)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qcalc.protocols.qkd import plob_bound
from qcalc.protocols.twinfield import (
    optimise_sns_tf_qkd,
    phase_noise_misalignment,
    single_repeater_bound,
    sns_tf_qkd_rate,
)

# Regime of Lucamarini et al., Nature 557, 400 (2018), Fig. 3: standard fibre 0.2 dB/km,
# gated-free SNSPD-class detectors. Assumed (stated, not re-verified against the paper):
# detection efficiency 25 %, dark count 1e-8 per detector per window, 3 % interference
# misalignment, f = 1.15.
LUCAMARINI_DETECTOR = 0.25
LUCAMARINI_DARK = 1e-8
LUCAMARINI_MISALIGNMENT = 0.03
LUCAMARINI_F = 1.15
SLOPE_TOLERANCE = 0.05


def _fibre(length_km: npt.ArrayLike, alpha: float = 0.2) -> npt.NDArray[np.float64]:
    return np.asarray(10.0 ** (-alpha * np.asarray(length_km) / 10.0))


def test_beats_plob_beyond_a_few_hundred_km() -> None:
    # Lucamarini et al. 2018 (Fig. 3) and Wang, Yu, Hu 2018: TF/SNS QKD overcomes the
    # repeaterless PLOB bound of the fibre −log2(1 − η_fibre) at long distance; with these
    # parameters the crossover lies between 200 and 350 km (ours: 250–275 km).
    length_km = np.arange(150.0, 451.0, 25.0)
    fibre = _fibre(length_km)
    rate, _ = optimise_sns_tf_qkd(
        LUCAMARINI_DETECTOR * fibre,
        LUCAMARINI_DARK,
        LUCAMARINI_MISALIGNMENT,
        error_correction_efficiency=LUCAMARINI_F,
    )
    beats = rate > plob_bound(fibre)
    crossover_km = float(length_km[np.argmax(beats)])
    assert 200.0 <= crossover_km <= 350.0
    assert np.all(beats[length_km >= crossover_km][:-1])


def test_rate_scales_as_square_root_of_transmittance() -> None:
    # Closed form: the untagged single-photon count ∝ s1 ≈ √η (one arm's loss only), so the
    # log-rate slope against log η is 1/2 far from the cut-off.
    eta = LUCAMARINI_DETECTOR * _fibre(np.array([200.0, 300.0]))
    rate, _ = optimise_sns_tf_qkd(eta, LUCAMARINI_DARK, LUCAMARINI_MISALIGNMENT)
    slope = np.diff(np.log(rate)) / np.diff(np.log(eta))
    assert float(slope[0]) == pytest.approx(0.5, abs=SLOPE_TOLERANCE)


def test_chen_2020_509_km_beats_the_conditional_repeaterless_limit_fivefold() -> None:
    # Chen et al., PRL 124, 070501 (2020), abstract: SNS TF-QKD over 509 km of ultra-low-loss
    # fibre with key rates "more than 5 times higher than the conditional limit of
    # repeaterless QKD, a bound value assuming the same detection loss". Assumed here (not
    # re-verified): 0.16 dB/km, detection efficiency 60 %, dark count 1e-8, e_d = 5 %.
    # The published rate is finite-key with error rejection; the asymptotic model must be
    # at least as far above the conditional bound (ours: ≈ 45×).
    fibre = _fibre(509.0, alpha=0.16)
    eta = 0.60 * fibre
    rate, _ = optimise_sns_tf_qkd(eta, 1e-8, 0.05)
    assert float(rate) > 5.0 * float(plob_bound(eta))
    assert float(rate) > float(plob_bound(fibre))


def test_phase_noise_misalignment_closed_form() -> None:
    # ⟨sin²(δ/2)⟩ for Gaussian δ: (1 − e^{−σ²/2})/2 → σ²/4 for small σ, 1/2 for σ → ∞.
    sigma = np.array([0.0, 1e-3, 0.5, 50.0])
    expected = np.array([0.0, 0.25e-6, 0.5 * (1 - np.exp(-0.125)), 0.5])
    np.testing.assert_allclose(phase_noise_misalignment(sigma), expected, rtol=1e-6)


def test_single_repeater_bound_is_plob_of_the_half_channel() -> None:
    # Pirandola et al., Nat. Commun. 8, 15043 (2017), Eq. (1), on √η: ≈ 1.44 √η for η ≪ 1.
    np.testing.assert_allclose(single_repeater_bound(1e-10), 1e-5 / np.log(2.0), rtol=1e-5)
    np.testing.assert_allclose(single_repeater_bound(0.25), plob_bound(0.5), rtol=1e-12)


def test_scalar_and_array_inputs_agree() -> None:
    eta = 0.3 * _fibre(np.array([0.0, 100.0, 300.0]))
    array = sns_tf_qkd_rate(eta, 1e-8, 0.03)
    scalars = np.array([float(sns_tf_qkd_rate(float(e), 1e-8, 0.03)) for e in eta])
    assert array.shape == (3,)
    assert sns_tf_qkd_rate(0.1, 1e-8, 0.03).shape == ()
    np.testing.assert_allclose(array, scalars, rtol=1e-12)


def test_no_transmittance_gives_exactly_zero() -> None:
    assert np.all(sns_tf_qkd_rate(np.array([0.0, 1e-300]), 1e-8, 0.03) == 0.0)
    assert float(sns_tf_qkd_rate(0.0, 0.0, 0.03)) == 0.0
    # Without dark counts a pure-loss channel keeps a (tiny) key at any loss, ∝ √η.
    tiny = float(sns_tf_qkd_rate(1e-300, 0.0, 0.03))
    assert 0.0 < tiny < float(single_repeater_bound(1e-300))


@pytest.mark.parametrize(
    "kwargs",
    [{"sending_probability": 0.0}, {"sending_probability": 1.0}, {"mean_photon_number": 0.0}],
)
def test_invalid_settings_raise(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        sns_tf_qkd_rate(1e-3, 1e-8, 0.03, **kwargs)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(
    detector=st.floats(0.05, 1.0),
    dark=st.floats(0.0, 1e-5),
    misalignment=st.floats(0.0, 0.3),
    mu=st.floats(0.01, 1.5),
    epsilon=st.floats(0.01, 0.5),
)
def test_rate_is_finite_nonnegative_monotone_and_below_single_repeater_bound(
    detector: float, dark: float, misalignment: float, mu: float, epsilon: float
) -> None:
    eta = detector * _fibre(np.linspace(0.0, 800.0, 81))
    rate = sns_tf_qkd_rate(
        eta, dark, misalignment, mean_photon_number=mu, sending_probability=epsilon
    )
    assert np.all(np.isfinite(rate))
    assert np.all(rate >= 0.0)
    assert np.all(np.diff(rate) <= 1e-15)
    assert np.all(rate <= single_repeater_bound(eta))
