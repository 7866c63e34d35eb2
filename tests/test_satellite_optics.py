"""Real apertures and a real atmosphere on optical links (issue 12, item 5).

Anchors, each independent of qcalc's code:

- SatQuMA v2.0.0 (github.com/cnqo-qcomms/SatQuMA, commit f2b9229559025c7c39f4bbd269651981f450f586),
  ``channel/diffraction/diffraction.py::diffract``: Fraunhofer integral of a Gaussian beam
  truncated by the transmit aperture, normalised to the power leaving the aperture. Run
  outside this repository with SatQuMA's default optics (``inputfiles/input.txt``): transmit
  aperture radius aT = 0.15 m, receive radius aR = 0.6 m, waist w0 = 0.15 m, λ = 810 nm,
  satellite at 500 km, Earth radius 6371 km. It gives η = 0.368668 (4.3337 dB) at zenith
  (z = 500 km) and η = 0.0385289 (14.1421 dB) at 10° elevation (z = 1694.57 km).
- The MODTRAN transmittances SatQuMA publishes (same commit,
  ``channel/atmosphere/MODTRAN_data.py``), ground at sea level, satellite at 500 km.
- F. Kasten, A. T. Young, Appl. Opt. 28, 4735 (1989), Table II: relative optical air mass
  38.0868 at 0°, 26.2595 at 1°, 10.3164 at 5°, 5.5841 at 10° elevation.
- M. Born, E. Wolf, *Principles of Optics*, 7th ed. (1999), Sec. 8.5.2: encircled energy
  of the Airy pattern 1 − J0²(x) − J1²(x), x = k a a_R / z.
- B. J. Klein, J. J. Degnan, Appl. Opt. 13, 2134 (1974): the far-field on-axis gain of a
  truncated Gaussian, clipping included, peaks at a/w0 = 1.12 with 0.8145 of the
  uniformly lit aperture's gain.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qcalc.cli import app
from qcalc.errors import ScenarioError
from qcalc.linkbudget import link_budget
from qcalc.physics.freespace import (
    aperture_collection_loss_db,
    clipped_beam_collection_loss_db,
    gaussian_beam_radius_m,
    transmit_clipping_loss_db,
)
from qcalc.physics.satellite import air_mass, slant_range_km
from qcalc.scenario import load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parent.parent
FAST = settings(max_examples=40, deadline=None)

#: SatQuMA's diffraction efficiencies with its default optics (see the module docstring).
SATQUMA_DIFFRACTION_DB = {90.0: 4.3337, 10.0: 14.1421}
#: The issue's acceptance band for SatQuMA and MODTRAN anchors.
ANCHOR_TOLERANCE_DB = 0.5
#: What the Fresnel integral actually achieves against SatQuMA's Fraunhofer integral (the
#: quadratic phase, Fresnel number a²/λz = 0.056 at zenith, is the whole difference).
FRESNEL_VS_FRAUNHOFER_DB = 0.02
#: MODTRAN line-of-sight transmittance (SatQuMA's published table) at 810 and 850 nm.
MODTRAN = {
    810.0: {90.0: 0.813639, 10.0: 0.390693, 5.0: 0.188229},
    850.0: {90.0: 0.895181, 10.0: 0.539028, 5.0: 0.310483},
}
#: Kasten & Young (1989) Table II: elevation [deg] → relative optical air mass.
KASTEN_YOUNG_TABLE = {0.0: 38.0868, 1.0: 26.2595, 5.0: 10.3164, 10.0: 5.5841}
#: Their approximation formula against their table (the paper's stated accuracy).
KASTEN_YOUNG_FORMULA_REL = 0.005

SATELLITE = """\
qcalc: 1
hardware:
  sources:
    wcp: {{kind: weak_coherent, repetition_rate_hz: 1.0e8, mean_photon_number: 0.5,
          decoy_photon_numbers: [0.1, 0.0], wavelength_nm: {wavelength}}}
  detectors:
    si: {{efficiency: 0.5, dark_count_probability: 1.0e-6}}
nodes:
  sat: {{source: wcp, orbit: {{altitude_km: 500}}}}
  ground: {{detector: si}}
links:
  - {{name: sl, ends: [sat, ground], channel: satellite, elevation_deg: {elevation},
     rx_aperture_m: 1.2, {optics}}}
demands:
  - {{ends: [sat, ground]}}
"""


def _scenario(elevation: float, optics: str, wavelength: float = 810.0) -> str:
    return SATELLITE.format(elevation=elevation, optics=optics, wavelength=wavelength)


def _terms(text: str, file: str = "<string>") -> dict[str, float]:
    scenario = parse_scenario(text, file)
    budget = link_budget(scenario.links[0], scenario)
    return {t.name: float(np.asarray(t.loss_db)) for t in budget.terms}


def _links_json(runner, path: str) -> dict:
    result = runner.invoke(app, ["links", path, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["links"][0]


# --------------------------------------------------------------------------- apertures


@pytest.mark.parametrize("elevation", [90.0, 10.0])
def test_clipped_beam_matches_satquma(elevation: float) -> None:
    z_m = float(slant_range_km(500.0, elevation)) * 1e3
    loss = float(clipped_beam_collection_loss_db(0.15, 810.0, z_m, 0.3, 1.2))
    assert loss == pytest.approx(SATQUMA_DIFFRACTION_DB[elevation], abs=FRESNEL_VS_FRAUNHOFER_DB)


@pytest.mark.parametrize("elevation", [90.0, 10.0])
def test_scenario_budget_matches_satquma_and_counts_the_clipping(
    runner, write, elevation: float
) -> None:
    # tx_aperture_m alone: the beam fills the aperture to its 1/e² radius (w0 = D/2)
    link = _links_json(
        runner, write(_scenario(elevation, "tx_aperture_m: 0.3, zenith_transmittance: 1.0"))
    )
    terms = link["terms_db"]
    assert terms["diffraction"] == pytest.approx(
        SATQUMA_DIFFRACTION_DB[elevation], abs=ANCHOR_TOLERANCE_DB
    )
    # power outside a 1/e² aperture: −10 log10(1 − e⁻²) = 0.6315 dB (Klein & Degnan 1974)
    assert terms["transmit aperture clipping"] == pytest.approx(-10 * math.log10(1 - math.e**-2))
    # the unclipped Gaussian the issue found 2.2 dB (zenith) and 3.2 dB (10°) optimistic
    z_m = float(slant_range_km(500.0, elevation)) * 1e3
    unclipped = float(aperture_collection_loss_db(gaussian_beam_radius_m(0.15, 810, z_m), 1.2))
    gap = {90.0: 2.2, 10.0: 3.2}[elevation]
    assert terms["diffraction"] - unclipped == pytest.approx(gap, abs=0.1)
    assert sum(terms.values()) == pytest.approx(link["loss_db"])


def test_uniformly_lit_aperture_gives_the_airy_encircled_energy() -> None:
    from scipy.special import j0, j1

    tolerance_db = 0.02  # far field: Fresnel number 0.05
    a, a_r, z, wavelength = 0.15, 0.5, 5e5, 850.0
    x = 2 * math.pi / (wavelength * 1e-9) * a * a_r / z
    airy = -10 * math.log10(1 - j0(x) ** 2 - j1(x) ** 2)
    flat = float(clipped_beam_collection_loss_db(1e3, wavelength, z, 2 * a, 2 * a_r))
    assert flat == pytest.approx(airy, abs=tolerance_db)


def test_klein_degnan_optimum_truncation() -> None:
    # small receiver far away: the collected power is the on-axis gain
    tolerance_ratio, tolerance_gain = 0.01, 0.002
    ratios = np.linspace(0.9, 1.4, 51)
    a, far_m, small_m = 0.15, 1e7, 2e-3
    total = clipped_beam_collection_loss_db(a / ratios, 850, far_m, 2 * a, small_m)
    total = total + transmit_clipping_loss_db(a / ratios, 2 * a)
    uniform = clipped_beam_collection_loss_db(1e3, 850, far_m, 2 * a, small_m)
    gain = 10 ** (-(total - uniform) / 10)
    assert ratios[np.argmax(gain)] == pytest.approx(1.12, abs=tolerance_ratio)
    assert gain.max() == pytest.approx(0.8145, abs=tolerance_gain)


def test_central_obscuration_costs_power_and_takes_effect(write) -> None:
    plain = _terms(_scenario(60.0, "tx_aperture_m: 0.3, zenith_transmittance: 0.8"))
    obscured = _terms(
        _scenario(60.0, "tx_aperture_m: 0.3, tx_obscuration_m: 0.1, zenith_transmittance: 0.8")
    )
    # the annulus 0.05–0.15 m of a w0 = 0.15 m beam passes e^{-2/9} − e^{-2}
    expected = -10 * math.log10(math.exp(-2 / 9) - math.exp(-2))
    assert obscured["transmit aperture clipping"] == pytest.approx(expected)
    assert obscured["diffraction"] != pytest.approx(plain["diffraction"], abs=1e-3)


def test_free_space_link_is_clipped_by_its_transmit_aperture() -> None:
    text = """\
qcalc: 1
nodes:
  a: {source: {kind: weak_coherent, repetition_rate_hz: 1.0e8}}
  b: {detector: {efficiency: 0.5}}
links:
  - {ends: [a, b], channel: free_space, length_km: 5, wavelength_nm: 850,
     tx_beam_waist_m: 0.02, rx_aperture_m: 0.1, OPTICS}
demands:
  - {ends: [a, b]}
"""
    free = _terms(text.replace(", OPTICS", ""))
    clipped = _terms(text.replace("OPTICS", "tx_aperture_m: 0.04"))
    assert "transmit aperture clipping" not in free
    assert clipped["transmit aperture clipping"] == pytest.approx(0.6315, abs=1e-3)
    assert clipped["diffraction"] > free["diffraction"]  # truncation widens the far field


@FAST
@given(
    waist_m=st.floats(0.005, 0.1),
    range_km=st.floats(10.0, 3000.0),
    rx_m=st.floats(0.05, 1.0),
    wavelength=st.sampled_from([785.0, 850.0, 1550.0]),
)
def test_quadrature_reproduces_the_free_gaussian(
    waist_m: float, range_km: float, rx_m: float, wavelength: float
) -> None:
    # an aperture of 4.4 waists clips e^{-38.7}: the integral (not the closed form, taken
    # from 4.47 waists) must give Kogelnik & Li's w(z)
    z_m = range_km * 1e3
    integral = float(clipped_beam_collection_loss_db(waist_m, wavelength, z_m, 8.8 * waist_m, rx_m))
    closed = float(
        aperture_collection_loss_db(gaussian_beam_radius_m(waist_m, wavelength, z_m), rx_m)
    )
    assert integral == pytest.approx(closed, abs=1e-5)


@FAST
@given(
    waist_m=st.floats(0.01, 1.0),
    range_km=st.floats(100.0, 3000.0),
    rx_m=st.floats(0.1, 2.0),
    grow=st.floats(1.05, 3.0),
)
def test_clipped_collection_is_a_fraction_that_grows_with_the_receiver(
    waist_m: float, range_km: float, rx_m: float, grow: float
) -> None:
    losses = clipped_beam_collection_loss_db(
        waist_m, 850.0, range_km * 1e3, 0.3, [rx_m, rx_m * grow]
    )
    assert np.all(np.isfinite(losses)) and np.all(losses >= 0.0)
    assert losses[1] <= losses[0] + 1e-9


def test_near_field_beyond_the_integral_is_said_plainly() -> None:
    from qcalc.errors import NotModelledError

    with pytest.raises(NotModelledError, match="beyond the diffraction integral"):
        clipped_beam_collection_loss_db(0.2, 850.0, 100.0, 0.4, 1.0)  # Fresnel number ~500


def test_bad_obscuration_is_refused(runner, write) -> None:
    text = _scenario(60.0, "tx_aperture_m: 0.3, tx_obscuration_m: 0.3, zenith_transmittance: 0.8")
    result = runner.invoke(app, ["links", write(text)])
    assert result.exit_code == 2
    assert "links[0].tx_obscuration_m: is 0.3, not smaller than tx_aperture_m 0.3" in result.stderr
    no_aperture = _scenario(
        60.0, "divergence_urad: 5, tx_obscuration_m: 0.1, zenith_transmittance: 0.8"
    )
    with pytest.raises(ScenarioError, match="needs tx_aperture_m"):
        parse_scenario(no_aperture)


# --------------------------------------------------------------------------- divergence


def test_divergence_is_the_far_field_half_angle() -> None:
    # SPEC: the beam radius far away is divergence × range; no transmit aperture, so the
    # collected fraction is 1 − exp(−2 a_R²/(θ d)²) (Siegman, Lasers, Ch. 17)
    theta_urad, d_km = 10.0, 500.0
    terms = _terms(_scenario(90.0, f"divergence_urad: {theta_urad}, zenith_transmittance: 1.0"))
    w_m = theta_urad * 1e-6 * d_km * 1e3
    expected = -10 * math.log10(1 - math.exp(-2 * 0.6**2 / w_m**2))
    assert terms["diffraction"] == pytest.approx(expected, abs=1e-3)
    # reading a quoted full angle as the half-angle: twice the radius, four times the area,
    # ≈ 6 dB (5.8 dB here, where the 1.2 m receiver is not small against the 2.5 m beam)
    full = _terms(_scenario(90.0, f"divergence_urad: {theta_urad / 2}, zenith_transmittance: 1.0"))
    half_w_m = w_m / 2
    expected_gap = expected + 10 * math.log10(1 - math.exp(-2 * 0.6**2 / half_w_m**2))
    waist_db = 0.005  # the waist λ/(πθ) = 5 cm adds in quadrature to the 2.5 m beam
    assert terms["diffraction"] - full["diffraction"] == pytest.approx(expected_gap, abs=waist_db)
    assert expected_gap == pytest.approx(6.0, abs=0.2)


def test_bundled_micius_scenarios_read_the_divergence_alike() -> None:
    # Liao et al. 2017/2018 and Yin et al. 2017 quote the same "~10 µrad" transmitters: every
    # Micius link carries the same divergence_urad under the SPEC's 1/e² half-angle reading.
    divergences = set()
    for name in ("micius-2017-qkd-downlink", "micius-graz-2018", "micius-2017-entanglement"):
        scenario = load_scenario(str(ROOT / "scenarios" / f"{name}.yaml"))
        assert "1/e² half-angle" in scenario.description
        divergences |= {float(link.divergence_urad) for link in scenario.links}
    assert divergences == {10.0}


# --------------------------------------------------------------------------- atmosphere


def test_kasten_young_formula_against_their_table() -> None:
    elevations = np.array(list(KASTEN_YOUNG_TABLE))
    np.testing.assert_allclose(
        air_mass(elevations, "kasten_young"),
        list(KASTEN_YOUNG_TABLE.values()),
        rtol=KASTEN_YOUNG_FORMULA_REL,
    )


@pytest.mark.parametrize("elevation", [10.0, 5.0])
def test_air_mass_models_against_modtran(elevation: float) -> None:
    # scale each wavelength's MODTRAN zenith transmittance by the air mass
    def loss(model: str, wavelength: float) -> float:
        optics = (
            f"divergence_urad: 10, zenith_transmittance: {MODTRAN[wavelength][90.0]}, "
            f"atmosphere: {{model: {model}}}"
        )
        return _terms(_scenario(elevation, optics, wavelength))["atmosphere"]

    def modtran_db(wavelength: float) -> float:
        return -10 * math.log10(MODTRAN[wavelength][elevation])

    # 850 nm, clear of absorption bands: Kasten–Young within the anchor band at 5° and 10°
    assert loss("kasten_young", 850.0) == pytest.approx(modtran_db(850.0), abs=ANCHOR_TOLERANCE_DB)
    # 810 nm, inside the water-vapour band: 1/sin ε is 1.1 dB (10°) and 3.0 dB (5°)
    # pessimistic (issue 12), so an air-mass law cannot serve; the table does
    gap = {10.0: 1.08, 5.0: 3.02}[elevation]
    assert loss("plane_parallel", 810.0) - modtran_db(810.0) == pytest.approx(gap, abs=0.02)
    table = _terms(
        _scenario(
            elevation, "divergence_urad: 10, atmosphere: {model: table, table: modtran-satquma}"
        )
    )["atmosphere"]
    assert table == pytest.approx(modtran_db(810.0), abs=1e-3)


@FAST
@given(elevation=st.floats(0.0, 90.0))
def test_tabulated_loss_lies_between_its_neighbouring_rows(elevation: float) -> None:
    from qcalc.physics.satellite import tabulated_atmospheric_loss_db

    table_eps = np.array(list(MODTRAN[810.0]))[::-1]  # 5°, 10°, 90°
    table_t = np.array([MODTRAN[810.0][e] for e in table_eps])
    if elevation < table_eps[0]:
        with pytest.raises(ValueError, match="within the table's elevations 5..90"):
            tabulated_atmospheric_loss_db(elevation, table_eps, table_t)
        return
    loss = float(tabulated_atmospheric_loss_db(elevation, table_eps, table_t))
    i = min(int(np.searchsorted(table_eps, elevation, side="right")), len(table_eps) - 1)
    rows_db = -10 * np.log10(table_t[max(i - 1, 0) : i + 1])
    assert rows_db.min() - 1e-12 <= loss <= rows_db.max() + 1e-12


def test_atmosphere_model_selection_changes_the_atmosphere_term() -> None:
    optics = "divergence_urad: 10, zenith_transmittance: 0.7, atmosphere: {{model: {}}}"
    pp = _terms(_scenario(5.0, optics.format("plane_parallel")))["atmosphere"]
    ky = _terms(_scenario(5.0, optics.format("kasten_young")))["atmosphere"]
    default = _terms(_scenario(5.0, "divergence_urad: 10, zenith_transmittance: 0.7"))
    t0_db = -10 * math.log10(0.7)
    assert pp == pytest.approx(t0_db / math.sin(math.radians(5.0)))
    assert ky == pytest.approx(t0_db * float(air_mass(5.0, "kasten_young")))
    assert default["atmosphere"] == pytest.approx(pp)


def test_table_file_is_read_from_the_scenario_folder(runner, tmp_path: Path) -> None:
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "site.csv").write_text(
        "# a made-up site at 850 nm\nelevation_deg,transmittance\n0,0.01\n30,0.5\n90,0.8\n",
        encoding="utf-8",
    )
    scenario_file = tmp_path / "s.yaml"
    scenario_file.write_text(
        _scenario(
            60.0,
            "divergence_urad: 10, atmosphere: {model: table, table_file: tables/site.csv}",
            850.0,
        ),
        encoding="utf-8",
    )
    link = _links_json(runner, str(scenario_file))
    # linear in dB between 30° (3.0103 dB) and 90° (0.9691 dB): halfway at 60°
    expected = (-10 * math.log10(0.5) - 10 * math.log10(0.8)) / 2
    assert link["terms_db"]["atmosphere"] == pytest.approx(expected)


def test_missing_table_file_is_a_located_error(runner, write) -> None:
    text = _scenario(
        60.0, "divergence_urad: 10,\n     atmosphere: {model: table, table_file: nowhere.csv}"
    )
    path = write(text)
    result = runner.invoke(app, ["links", path])
    assert result.exit_code == 2
    assert f"{path}:14:" in result.stderr
    assert "links[0].atmosphere.table_file: is 'nowhere.csv'" in result.stderr
    assert "cannot be read" in result.stderr


@pytest.mark.parametrize(
    ("optics", "message"),
    [
        (
            "divergence_urad: 10, zenith_transmittance: 0.8, atmosphere: {model: table, "
            "table: modtran-satquma}",
            "zenith_transmittance: has no effect with atmosphere model: table",
        ),
        (
            "divergence_urad: 10, zenith_transmittance: 0.8, atmosphere: {model: kasten_young, "
            "table: modtran-satquma}",
            "atmosphere.table: is for model: table",
        ),
        ("divergence_urad: 10, atmosphere: {model: table}", "model: table needs one of table"),
        ("divergence_urad: 10, atmosphere: {model: sec}", "atmosphere.model: is 'sec'"),
    ],
)
def test_inconsistent_atmosphere_is_refused(optics: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(_scenario(60.0, optics))


def test_table_must_hold_the_wavelength_and_the_elevations(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no column within 2.5 nm of 900 nm"):
        parse_scenario(
            _scenario(
                60.0,
                "divergence_urad: 10, atmosphere: {model: table, table: modtran-satquma}",
                900.0,
            )
        )
    table = tmp_path / "high.csv"
    table.write_text("elevation_deg,transmittance\n20,0.5\n90,0.8\n", encoding="utf-8")
    text = _scenario(
        10.0, f"divergence_urad: 10, atmosphere: {{model: table, table_file: {table}}}"
    )
    with pytest.raises(ScenarioError, match="covers elevations 20..90 deg"):
        parse_scenario(text)
    bad = tmp_path / "bad.csv"
    bad.write_text("elevation_deg,transmittance\n10,0.5\n5,0.6\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="line 3: elevation 5 does not follow 10"):
        parse_scenario(text.replace(str(table), str(bad)))


def test_atmosphere_is_refused_on_a_fibre() -> None:
    text = """\
qcalc: 1
nodes:
  a: {source: {kind: weak_coherent, repetition_rate_hz: 1.0e8}}
  b: {detector: {efficiency: 0.5}}
links:
  - {ends: [a, b], length_km: 5, atmosphere: {model: kasten_young}}
"""
    with pytest.raises(ScenarioError, match="atmosphere: applies to satellite links"):
        parse_scenario(text)


# --------------------------------------------------------------------------- Micius

#: Liao et al., Nature 549, 43 (2017): 300,939 bits of final key in one 273 s pass.
MICIUS_KEY_BPS = 300_939 / 273
#: The issue's acceptance band for the flagship experiments.
FLAGSHIP_FACTOR = 2.0


def _demand(name: str, demand: str):
    from qcalc.demands import evaluate_scenario

    scenario = load_scenario(str(ROOT / "scenarios" / f"{name}.yaml"))
    return next(r for r in evaluate_scenario(scenario) if r.demand.name == demand)


def test_micius_qkd_pass_key_within_a_factor_of_two() -> None:
    result = _demand("micius-2017-qkd-downlink", "pass-key")
    assert result.protocol == "bb84-finite"  # the experiment's finite-size analysis
    key = float(result.key_rate_bps)
    assert MICIUS_KEY_BPS / FLAGSHIP_FACTOR <= key <= MICIUS_KEY_BPS * FLAGSHIP_FACTOR
    asymptotic = float(_demand("micius-2017-qkd-downlink", "pass-key-asymptotic").key_rate_bps)
    assert key < asymptotic


def test_micius_channel_loss_reads_the_published_22_and_35_db() -> None:
    # the bundled scenario's channel (receiver excluded) at the ends of the published range
    scenario = load_scenario(str(ROOT / "scenarios" / "micius-2017-qkd-downlink.yaml"))
    link = scenario.links[0]
    from qcalc.channels import satellite_budget
    from qcalc.physics.satellite import elevation_from_slant_range_deg

    elevations = elevation_from_slant_range_deg(500.0, [645.0, 1200.0])
    budget = satellite_budget(link, scenario, "micius", "xinglong", elevations)
    tolerance_db = 3.0  # validation table, micius-loss-645km / -1200km
    np.testing.assert_allclose(budget.channel_loss_db, [22.0, 35.0], atol=tolerance_db)


def test_micius_graz_is_reported_as_not_reproduced() -> None:
    # Graz's receiver and passes are unknown (see the scenario): its finite key is 0 there
    finite = _demand("micius-graz-2018", "xinglong-graz")
    assert float(finite.key_rate_bps) == 0.0
    asymptotic = _demand("micius-graz-2018", "xinglong-graz-asymptotic")
    assert 1e3 / 3 <= float(asymptotic.key_rate_bps) <= 1e3
    description = load_scenario(str(ROOT / "scenarios" / "micius-graz-2018.yaml")).description
    assert "NOT REPRODUCED" in description and "Unknown published inputs" in description
