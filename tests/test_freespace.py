"""Terrestrial free-space optics against closed forms and published values."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qcalc.physics.freespace import (
    SKY_RADIANCE_W_M2_SR_NM,
    OpticalLinkTerms,
    aperture_collection,
    aperture_collection_loss_db,
    background_counts_per_window,
    beer_lambert_transmittance,
    free_space_link_budget,
    fried_parameter_m,
    gaussian_beam_radius_m,
    kim_attenuation_db_per_km,
    kim_size_distribution_q,
    long_term_beam_radius_m,
    pointing_broadened_radius_m,
    pointing_loss_db,
    rayleigh_range_m,
    rytov_variance,
    turbulence_loss_db,
)

REL = 1e-9  # closed forms evaluated by hand: agreement to rounding
DB = 1e-9  # [dB] same, for losses

KIM_ROUNDING = 3e-3  # Kim's 3.91 is −ln(0.02) = 3.912 rounded: T = 0.02004
FAST = settings(max_examples=60, deadline=None)


# --------------------------------------------------------------------------- Gaussian beam


def test_rayleigh_range_hand_computation() -> None:
    # HeNe beam, w0 = 0.5 mm, λ = 632.8 nm: z_R = π (0.5e-3)² / 632.8e-9 = 1.2411 m
    expected_m = math.pi * 0.25e-6 / 632.8e-9
    assert expected_m == pytest.approx(1.2411, abs=1e-4)
    np.testing.assert_allclose(rayleigh_range_m(0.5e-3, 632.8), expected_m, rtol=REL)


def test_beam_radius_is_sqrt2_w0_at_rayleigh_range_and_linear_far_away() -> None:
    w0, wavelength = 0.02, 850.0
    z_r = float(rayleigh_range_m(w0, wavelength))
    # Kogelnik & Li, Appl. Opt. 5, 1550 (1966): w(z_R) = √2 w0, w → λz/(πw0) for z ≫ z_R
    np.testing.assert_allclose(gaussian_beam_radius_m(w0, wavelength, z_r), math.sqrt(2) * w0)
    far = 1e4 * z_r
    np.testing.assert_allclose(
        gaussian_beam_radius_m(w0, wavelength, far), 850e-9 * far / (math.pi * w0), rtol=1e-6
    )


def test_scalar_and_array_inputs_give_matching_shapes() -> None:
    scalar = gaussian_beam_radius_m(0.02, 850.0, 1200.0)
    array = gaussian_beam_radius_m(0.02, 850.0, [1200.0, 2400.0])
    assert scalar.shape == ()
    assert array.shape == (2,)
    np.testing.assert_allclose(array[0], scalar)
    assert aperture_collection([[0.1], [0.2]], [0.1, 0.2, 0.3]).shape == (2, 3)


def test_gaussian_collection_against_hand_computation() -> None:
    # w = 1 m, D = 1 m → a = 0.5 m: η = 1 − exp(−2·0.25/1) = 1 − e^−0.5 = 0.393469340
    assert 1 - math.exp(-0.5) == pytest.approx(0.393469340, abs=1e-9)
    np.testing.assert_allclose(aperture_collection(1.0, 1.0), 0.393469340, rtol=1e-8)
    # an aperture of radius w passes 1 − e⁻² = 86.47 % (Siegman, Lasers (1986), Sec. 17.1)
    np.testing.assert_allclose(aperture_collection(0.5, 1.0), 1 - math.exp(-2.0), rtol=REL)
    # and its loss in dB: −10 log10(0.393469340) = 4.050891 dB
    np.testing.assert_allclose(aperture_collection_loss_db(1.0, 1.0), 4.050891, atol=1e-6)


def test_collection_loss_is_finite_where_collection_underflows() -> None:
    # w = 1e170 m, D = 1 m: η = 2a²/w² = 0.5e-340 → below the smallest double;
    # loss = 10 log10(w²/(2a²)) = 3400 + 10 log10(2) dB exactly in the small-x limit.
    loss = aperture_collection_loss_db(1e170, 1.0)
    np.testing.assert_allclose(loss, 3400.0 + 10 * math.log10(2.0), rtol=1e-12)
    assert aperture_collection(1e170, 1.0) == 0.0
    assert aperture_collection_loss_db(1e-3, 1.0) == 0.0  # all power collected: zero is zero


# --------------------------------------------------------------------------- turbulence


def test_fried_parameter_hand_computation_plane_and_spherical() -> None:
    # Cn² = 1e-14 m^-2/3, λ = 1550 nm, L = 1 km (Fried, JOSA 56, 1372 (1966)):
    # plane: r0 = (0.423 k² Cn² L)^(−3/5); spherical: × 3/8 inside the bracket.
    k = 2 * math.pi / 1550e-9
    plane = (0.423 * k**2 * 1e-14 * 1000.0) ** (-0.6)
    assert plane == pytest.approx(0.0785, abs=5e-4)
    np.testing.assert_allclose(fried_parameter_m(1e-14, 1550, 1000, "plane"), plane, rtol=REL)
    np.testing.assert_allclose(
        fried_parameter_m(1e-14, 1550, 1000), plane * (3 / 8) ** (-0.6), rtol=REL
    )
    assert fried_parameter_m(0.0, 1550, 1000) == np.inf


def test_long_term_radius_matches_andrews_phillips_cn2_form() -> None:
    # Andrews & Phillips (2005) Ch. 6: W_LT² = W²(1 + 1.33 σ_R² Λ^(5/6)), Λ = 2L/(kW²),
    # σ_R² = 1.23 Cn² k^(7/6) L^(11/6). Our r0 form must give the same number.
    cn2, wavelength, length, w0 = 5e-15, 850.0, 2000.0, 0.02
    k = 2 * math.pi / (wavelength * 1e-9)
    w = float(gaussian_beam_radius_m(w0, wavelength, length))
    sigma_r2 = 1.23 * cn2 * k ** (7 / 6) * length ** (11 / 6)
    np.testing.assert_allclose(rytov_variance(cn2, wavelength, length), sigma_r2, rtol=REL)
    expected = w * math.sqrt(1 + 1.33 * sigma_r2 * (2 * length / (k * w**2)) ** (5 / 6))
    r0 = fried_parameter_m(cn2, wavelength, length)
    np.testing.assert_allclose(long_term_beam_radius_m(w, wavelength, length, r0), expected)


def test_no_turbulence_and_no_jitter_cost_nothing() -> None:
    assert long_term_beam_radius_m(0.05, 850, 1000, np.inf) == 0.05
    assert turbulence_loss_db(0.05, 850, 1000, np.inf, 0.1) == 0.0
    assert pointing_loss_db(0.05, 0.0, 1000, 0.1) == 0.0


def test_pointing_broadening_hand_computation() -> None:
    # w = 1 m, σ = 1 µrad, L = 500 km: 4σ²L² = 4 · 1e-12 · 2.5e11 = 1 m² → w_eff = √2 m
    np.testing.assert_allclose(pointing_broadened_radius_m(1.0, 1.0, 5e5), math.sqrt(2))
    # far field: mean on-axis intensity falls by w²/(w² + 4σ²L²) = 1/2 (Toyoshima et al.,
    # JOSA A 19, 567 (2002)); for a small aperture the collection falls by the same factor
    np.testing.assert_allclose(pointing_loss_db(1.0, 1.0, 5e5, 1e-3), 10 * math.log10(2), rtol=1e-5)


# --------------------------------------------------------------------------- weather


def test_beer_lambert_hand_computation() -> None:
    # 0.2 dB/km over 50 km = 10 dB → 0.1
    np.testing.assert_allclose(beer_lambert_transmittance(0.2, 50.0), 0.1, rtol=REL)
    assert beer_lambert_transmittance(1e3, 1e3) == 0.0  # 1e6 dB underflows to exactly 0


def test_kim_model_reproduces_the_visibility_definition_at_550_nm() -> None:
    # Kim et al., Proc. SPIE 4214, 26 (2001): V is where 550 nm light falls to the 2 %
    # contrast threshold, β = 3.91/V; over one visibility length T = e^−3.91 = 0.0200.
    for visibility_km in (0.3, 0.8, 3.0, 20.0, 80.0):
        alpha = kim_attenuation_db_per_km(visibility_km, 550.0)
        t = beer_lambert_transmittance(alpha, visibility_km)
        np.testing.assert_allclose(t, math.exp(-3.91), rtol=1e-12)
        assert float(t) == pytest.approx(0.02, rel=KIM_ROUNDING)


def test_kim_size_distribution_bands() -> None:
    # Kim et al. (2001): q = 1.6, 1.3, 0.16V + 0.34, V − 0.5, 0
    np.testing.assert_allclose(
        kim_size_distribution_q([60.0, 20.0, 3.0, 0.8, 0.3]), [1.6, 1.3, 0.82, 0.3, 0.0]
    )


def test_kim_dense_fog_is_wavelength_independent_and_haze_favours_1550() -> None:
    # the paper's conclusion: below V = 0.5 km 785 nm and 1550 nm attenuate equally
    np.testing.assert_allclose(
        kim_attenuation_db_per_km(0.3, 785.0), kim_attenuation_db_per_km(0.3, 1550.0)
    )
    # hand value for haze, V = 1 km, 1550 nm: q = 0.5,
    # β = 3.91 (1550/550)^−0.5 = 2.3292 /km → 4.3429 β = 10.115 dB/km
    np.testing.assert_allclose(kim_attenuation_db_per_km(1.0, 1550.0), 10.1155, atol=1e-3)
    assert kim_attenuation_db_per_km(1.0, 1550.0) < kim_attenuation_db_per_km(1.0, 785.0)


# --------------------------------------------------------------------------- background


def test_background_counts_hand_computation() -> None:
    # H = 1e-2 W m⁻² sr⁻¹ nm⁻¹, FOV 100 µrad full angle (Ω = π(50e-6)² = 7.854e-9 sr),
    # D = 1 m (A = 0.7854 m²), Δλ = 1 nm, Δt = 1 ns, λ = 800 nm (hν = 2.4830e-19 J):
    # N = 1e-2 · 7.854e-9 · 0.7854 · 1 · 1e-9 / 2.4830e-19 = 0.24842
    omega_sr = math.pi * (50e-6) ** 2
    photon_j = 6.62607015e-34 * 299792458.0 / 800e-9
    expected = 1e-2 * omega_sr * (math.pi / 4) * 1e-9 / photon_j
    assert expected == pytest.approx(0.2484, abs=1e-4)
    n = background_counts_per_window(1e-2, 100.0, 1.0, 1.0, 1.0, 800.0)
    np.testing.assert_allclose(n, expected, rtol=1e-9)  # small-angle Ω: 2e-10 off
    half = background_counts_per_window(1e-2, 100.0, 1.0, 1.0, 1.0, 800.0, 0.5)
    np.testing.assert_allclose(half, expected / 2, rtol=1e-9)


def test_sky_radiance_constants_are_ordered_and_from_magnitudes() -> None:
    # I = 20.0 mag/arcsec² with the Bessell et al. (1998) zero point 1.126e-11 W m⁻² nm⁻¹:
    # 1.126e-11 · 10^−8 / (π/648000)² = 4.79e-9 W m⁻² sr⁻¹ nm⁻¹
    np.testing.assert_allclose(SKY_RADIANCE_W_M2_SR_NM["night_moonless"], 4.79e-9, rtol=2e-3)
    sky = SKY_RADIANCE_W_M2_SR_NM
    assert sky["night_moonless"] < sky["night_full_moon"] < sky["day_clear"]


# --------------------------------------------------------------------------- budget


def test_free_space_budget_terms_add_up() -> None:
    budget = free_space_link_budget(
        length_km=[1.2, 5.0],
        wavelength_nm=850,
        tx_beam_waist_m=0.02,
        rx_aperture_m=0.1,
        atmospheric_attenuation_db_per_km=0.5,
        pointing_jitter_urad=2.0,
        cn2_m_minus_2_3=1e-15,
        receiver_efficiency=0.5,
    )
    terms = budget.terms_db()
    assert set(terms) == {"diffraction", "turbulence", "pointing", "atmosphere", "receiver"}
    np.testing.assert_allclose(terms["atmosphere"], [0.6, 2.5], rtol=REL)
    np.testing.assert_allclose(terms["receiver"], [10 * math.log10(2)] * 2, rtol=REL)
    np.testing.assert_allclose(budget.total_db, sum(terms.values()), rtol=REL)
    # the three beam terms together are the collection loss of the mean spot
    geometric = terms["diffraction"] + terms["turbulence"] + terms["pointing"]
    np.testing.assert_allclose(geometric, aperture_collection_loss_db(budget.beam_radius_m, 0.1))
    assert np.all(terms["turbulence"] > 0) and np.all(terms["pointing"] > 0)
    np.testing.assert_allclose(budget.transmittance, 10 ** (-budget.total_db / 10))


def test_free_space_budget_accepts_r0_instead_of_cn2() -> None:
    r0 = fried_parameter_m(1e-15, 850, 1200.0)
    by_cn2 = free_space_link_budget(1.2, 850, 0.02, 0.1, cn2_m_minus_2_3=1e-15)
    by_r0 = free_space_link_budget(1.2, 850, 0.02, 0.1, fried_parameter_m=r0)
    np.testing.assert_allclose(by_cn2.total_db, by_r0.total_db)
    with pytest.raises(ValueError, match="not both"):
        free_space_link_budget(1.2, 850, 0.02, 0.1, cn2_m_minus_2_3=1e-15, fried_parameter_m=r0)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: rayleigh_range_m(0.0, 850), "beam_waist_m"),
        (lambda: gaussian_beam_radius_m(0.01, -850, 10), "wavelength_nm"),
        (lambda: aperture_collection(1.0, [0.1, -0.1]), "aperture_diameter_m"),
        (lambda: fried_parameter_m(-1e-15, 850, 10), "cn2_m_minus_2_3"),
        (lambda: fried_parameter_m(1e-15, 850, 10, "cylindrical"), "wave"),  # type: ignore[arg-type]
        (lambda: kim_attenuation_db_per_km(0.0, 850), "visibility_km"),
        (lambda: free_space_link_budget(1, 850, 0.02, 0.1, receiver_efficiency=0), "receiver"),
        (lambda: background_counts_per_window(1, 1, 1, 1, 1, 800, 2.0), "receiver_efficiency"),
    ],
)
def test_invalid_inputs_raise(call: Callable[[], object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------- properties

positive_radius = st.floats(1e-4, 1e6)
aperture = st.floats(1e-3, 10.0)


@FAST
@given(w=positive_radius, d=aperture)
def test_collection_is_a_fraction_and_loss_is_its_log(w: float, d: float) -> None:
    eta = float(aperture_collection(w, d))
    loss = float(aperture_collection_loss_db(w, d))
    assert 0.0 <= eta <= 1.0
    assert loss >= 0.0 and math.isfinite(loss)
    if eta > 1e-300:
        assert loss == pytest.approx(-10 * math.log10(eta), rel=1e-9, abs=1e-12)


@FAST
@given(
    length_km=st.floats(0.01, 50.0),
    factor=st.floats(1.01, 10.0),
    waist=st.floats(1e-3, 0.2),
    jitter=st.floats(0.0, 50.0),
    cn2=st.floats(0.0, 1e-13),
)
def test_free_space_loss_rises_with_length(
    length_km: float, factor: float, waist: float, jitter: float, cn2: float
) -> None:
    def budget(km: float) -> OpticalLinkTerms:
        return free_space_link_budget(
            km,
            wavelength_nm=850.0,
            tx_beam_waist_m=waist,
            rx_aperture_m=0.1,
            atmospheric_attenuation_db_per_km=0.3,
            pointing_jitter_urad=jitter,
            cn2_m_minus_2_3=cn2,
        )

    near, far = budget(length_km), budget(length_km * factor)
    assert float(far.total_db) > float(near.total_db)
    for terms in (near, far):
        assert 0.0 <= float(terms.transmittance) <= 1.0
        assert all(float(v) >= 0.0 for v in terms.terms_db().values())


@FAST
@given(r0=st.floats(1e-3, 10.0), shrink=st.floats(0.1, 0.99))
def test_stronger_turbulence_widens_the_beam(r0: float, shrink: float) -> None:
    weak = long_term_beam_radius_m(0.05, 1550, 2000, r0)
    strong = long_term_beam_radius_m(0.05, 1550, 2000, r0 * shrink)
    assert 0.05 < float(weak) < float(strong)
