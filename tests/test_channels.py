"""Free-space and satellite links in scenarios: budgets, whole passes, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qcalc.cli import app
from qcalc.demands import evaluate_scenario
from qcalc.physics.satellite import elevation_profile_deg, pass_duration_s
from qcalc.scenario import parse_scenario

SATELLITE = """\
qcalc: 1
hardware:
  sources:
    wcp: {{kind: weak_coherent, repetition_rate_hz: 1.0e8, mean_photon_number: 0.5,
          decoy_photon_numbers: infinite, wavelength_nm: 850}}
  detectors:
    si: {{efficiency: 0.5, dark_count_probability: 1.0e-6}}
nodes:
  sat: {{source: wcp, detector: si, orbit: {{altitude_km: 500}}}}
  ground: {{source: wcp, detector: si}}
links:
  - {{name: sl, ends: [sat, ground], channel: satellite, {where}, tx_aperture_m: 0.3,
     rx_aperture_m: 1.0, divergence_urad: 10, zenith_transmittance: 0.8, direction: {dir},
     misalignment_error: 0.01}}
demands:
  - {{ends: [sat, ground]}}
"""


def _links(runner, write, **kw):
    text = SATELLITE.format(**{"where": "elevation_deg: 30", "dir": "downlink", **kw})
    result = runner.invoke(app, ["links", write(text), "-f", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["links"][0]


def test_satellite_length_is_the_slant_range(runner, write):
    # 500 km altitude at 30° elevation: slant range 909.4 km (issue 3; spherical Earth of
    # radius 6371 km, e.g. Vallado, Fundamentals of Astrodynamics, slant-range geometry).
    link = _links(runner, write)
    assert link["length_km"] == pytest.approx(909.4, abs=0.5)
    assert {"diffraction", "atmosphere", "turbulence", "detector"} <= set(link["terms_db"])
    assert sum(link["terms_db"].values()) == pytest.approx(link["loss_db"])


def test_uplink_loses_more_than_downlink(runner, write):
    down = _links(runner, write)
    up = _links(runner, write, dir="uplink")
    assert up["loss_db"] > down["loss_db"] + 3.0
    assert up["terms_db"]["turbulence"] > down["terms_db"]["turbulence"]


def test_whole_pass_key_is_the_integral_of_the_rate():
    text = SATELLITE.format(where="min_elevation_deg: 20, passes_per_day: 3", dir="downlink")
    result = evaluate_scenario(parse_scenario(text))[0]
    info = result.passes["bb84-decoy (end to end)"]
    duration = float(pass_duration_s(500.0, 20.0))
    assert info["pass_duration_s"] == pytest.approx(duration)
    assert info["key_bits_per_day"] == pytest.approx(3 * info["key_bits_per_pass"])
    # Independent trapezoid integration of the fixed-μ key at each elevation of the pass.
    times = np.linspace(-duration / 2, duration / 2, 4001)
    elev = np.clip(elevation_profile_deg(500.0, times), 20.0, 90.0)
    from qcalc.scenario import parse_scenario as parse

    fixed = [
        parse(SATELLITE.format(where=f"elevation_deg: {e:.6f}", dir="downlink"))
        for e in elev[::200]
    ]
    rates = [float(evaluate_scenario(s)[0].key_rate_bps) for s in fixed]
    manual = np.trapezoid(rates, times[::200])
    assert info["key_bits_per_pass"] == pytest.approx(manual, rel=0.02)
    assert result.key_rate_bps == pytest.approx(info["key_bits_per_pass"] / duration)


def test_no_key_below_the_elevation_mask():
    text = SATELLITE.format(where="min_elevation_deg: 20, max_elevation_deg: 15", dir="downlink")
    from qcalc.errors import ScenarioError

    with pytest.raises(ScenarioError, match="the pass never rises above the mask"):
        evaluate_scenario(parse_scenario(text))


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        (
            "elevation_deg: 30",
            "links[0].elevation_deg: is 95; expected a number ≥ 0.01 and ≤ 90 in degrees",
        ),
        (
            "rx_aperture_m: 1.0",
            "links[0].rx_aperture_m: is -1; expected a number ≥ 0.0001 and ≤ 100 in m",
        ),
    ],
)
def test_bad_satellite_input(runner, write, replace, message):
    bad = {"elevation_deg: 30": "elevation_deg: 95", "rx_aperture_m: 1.0": "rx_aperture_m: -1"}
    text = SATELLITE.format(where="elevation_deg: 30", dir="downlink").replace(
        replace, bad[replace]
    )
    result = runner.invoke(app, ["stage", write(text)])
    assert result.exit_code == 2
    assert message in result.stderr


def test_free_space_budget_terms(runner, write):
    text = """\
qcalc: 1
hardware:
  sources:
    wcp: {kind: weak_coherent, repetition_rate_hz: 1.0e8}
  detectors:
    d: {efficiency: 0.5, dark_count_probability: 1.0e-6}
nodes:
  a: {source: wcp}
  b: {detector: d}
links:
  - {ends: [a, b], channel: free_space, length_km: 1.2, wavelength_nm: 850,
     tx_beam_waist_m: 0.02, rx_aperture_m: 0.1, atmospheric_attenuation_db_per_km: 0.5,
     pointing_jitter_urad: 2}
demands:
  - {ends: [a, b]}
"""
    link = json.loads(runner.invoke(app, ["links", write(text), "-f", "json"]).stdout)["links"][0]
    assert link["terms_db"]["atmosphere"] == pytest.approx(0.6)  # 0.5 dB/km × 1.2 km
    assert link["terms_db"]["pointing"] > 0
    assert link["delay_s"] == pytest.approx(1.2 / 299792.458)


def test_daylight_sky_background_costs_key(write):
    # Sky photons add to the background yield Y0 (Miao et al., NJP 7, 215 (2005): daylight
    # free-space QKD needs narrow filters and fields of view). Night vs clear day.
    base = SATELLITE.format(where="elevation_deg: 60", dir="downlink").replace(
        "dark_count_probability: 1.0e-6}", "dark_count_probability: 1.0e-6, gate_window_ns: 1}"
    )
    sky = ", sky: SKY, field_of_view_urad: 100, filter_bandwidth_nm: 1"
    text = base.replace("misalignment_error: 0.01}", "misalignment_error: 0.01" + sky + "}")
    night = evaluate_scenario(parse_scenario(text.replace("SKY", "night_moonless")))[0]
    day = evaluate_scenario(parse_scenario(text.replace("SKY", "day_clear")))[0]
    none = evaluate_scenario(parse_scenario(base))[0]
    assert none.key_rate_bps >= night.key_rate_bps > day.key_rate_bps
    assert night.hops[0].background_yield < 1e-6 < day.hops[0].background_yield


def test_finite_key_over_a_pass_uses_the_pass_as_block():
    # Lim et al., PRA 89, 022307 (2014): the finite-key rate lies below the asymptotic one
    # and rises toward it with the block; over a pass the block is every pulse of it.
    text = SATELLITE.format(where="min_elevation_deg: 20", dir="downlink")
    asymptotic = evaluate_scenario(parse_scenario(text))[0]
    finite_text = text.replace("- {{ends: [sat, ground]}}", "").replace(
        "  - {ends: [sat, ground]}", "  - {ends: [sat, ground], protocol: bb84-finite}"
    )
    finite = evaluate_scenario(parse_scenario(finite_text))[0]
    assert finite.protocol == "bb84-finite"
    assert 0 < finite.key_rate_bps < asymptotic.key_rate_bps
    short_text = finite_text.replace(
        "protocol: bb84-finite}", "protocol: bb84-finite, block_size: 1.0e8}"
    )
    short = evaluate_scenario(parse_scenario(short_text))[0]
    assert short.key_rate_bps < finite.key_rate_bps
