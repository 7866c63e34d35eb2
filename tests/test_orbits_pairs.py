"""Bell pairs over real passes: a dual downlink from a TLE satellite to two stations in
common view, evaluated at every sample through the demand's own chain.

Pairs per day are the sum over the common views; clouds at either station scale them (0
gives 0); a constant-elevation profile gives rate × duration of the one-position chain;
one sample of a real view equals `qcalc rate` of the scenario at that sample's
elevations; a satellite whose route delivers no pairs says why instead of a number.
Published value: Yin et al., Science 356, 1140 (2017): about one detected pair per second
between Delingha and Lijiang in common view, summed downlink ranges 1,600–2,400 km.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import SCENARIOS
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from qcalc import api, htmlreport, orbits
from qcalc.cli import app
from qcalc.physics.satellite import slant_range_km
from qcalc.scenario import load_scenario

pytest.importorskip("sgp4", reason="the optional extra qcalc[orbits] (sgp4) is absent")

TLE_PAIRS = SCENARIOS / "micius-tle-entanglement.yaml"
ONE_POSITION = SCENARIOS / "micius-2017-entanglement.yaml"
WINDOW = orbits.Window(datetime(2021, 4, 27, tzinfo=UTC), 3.0)
ROUTE = ("delingha", "micius", "lijiang")


@functools.cache
def _pairs(text: str | None = None) -> orbits.DemandOrbit:
    """The orbit evaluation of the bundled dual downlink (or of ``text``) over 3 days."""
    scenario = load_scenario(str(TLE_PAIRS)) if text is None else api.load_scenario(text)
    return orbits.evaluate_orbits(scenario, WINDOW).demands[0]


def _constant_profile(elevations: tuple[float, float], seconds: float) -> orbits.DualProfile:
    """Both stations at fixed elevations for ``seconds`` at night, the ranges those of
    a 500 km circular orbit (so the equivalent altitude is 500 km)."""
    time = np.linspace(0.0, seconds, 241)

    def one(elevation: float) -> orbits.PassProfile:
        flat = np.full(time.shape, elevation)
        return orbits.PassProfile(
            time, flat, np.zeros_like(time), slant_range_km(500.0, flat), np.full_like(time, -90.0)
        )

    return orbits.DualProfile(one(elevations[0]), one(elevations[1]))


def _links(scenario: Any) -> tuple[Any, Any]:
    named = {link.name: link for link in scenario.links}
    return named["downlink-delingha"], named["downlink-lijiang"]


def _one_view(elevations: tuple[float, float], seconds: float) -> orbits.PairPass:
    scenario = load_scenario(str(ONE_POSITION))
    links = _links(scenario)
    view = orbits.CommonView(0.0, seconds)
    one, reason = orbits.pairs_of_view(
        scenario,
        scenario.demands[0],
        ROUTE,
        links,
        _constant_profile(elevations, seconds),
        view,
        ("exclude", "exclude"),
    )
    assert reason == ""
    return one


def _scalar_chain(elevations: tuple[float, float]) -> Any:
    """`qcalc rate` of the one-position scenario at those elevations and 500 km."""
    changed = load_scenario(str(ONE_POSITION)).with_changes(
        {
            "links.downlink-delingha.elevation_deg": elevations[0],
            "links.downlink-lijiang.elevation_deg": elevations[1],
            "nodes.micius.orbit.altitude_km": 500.0,
        }
    )
    return api.evaluate(changed, levers="none").demands[0]


def test_pairs_per_day_are_the_sum_over_the_common_views() -> None:
    item = _pairs()
    assert item.model == "pairs in common view" and item.pairs is not None
    used = [p for p in item.pairs.passes if p.used]
    assert used and all(p.pairs > 0 for p in used)
    total = sum(p.pairs for p in used)
    assert item.pairs.pairs_per_day == pytest.approx(total / WINDOW.days, rel=1e-12)
    assert item.common_view_s == pytest.approx(sum(v.duration_s for v in item.pairs.views))
    # views in daylight carry none, and the fidelity is the pair-weighted mean
    assert all(p.pairs == 0.0 for p in item.pairs.passes if not p.used)
    weighted = sum(p.pairs * (p.fidelity or 0.0) for p in used) / total
    assert item.pairs.fidelity == pytest.approx(weighted, rel=1e-12)


@pytest.mark.parametrize("station", ["delingha", "lijiang"])
def test_a_cloudy_station_gives_no_pairs(station: str) -> None:
    text = TLE_PAIRS.read_text(encoding="utf-8")
    clear, cloudy = (
        _pairs(text.replace(f"{station}: {{role: end,", f"{station}: {{{p}role: end,"))
        for p in ("cloud_free_probability: 1, ", "cloud_free_probability: 0, ")
    )
    assert clear.pairs is not None and cloudy.pairs is not None
    assert clear.pairs.pairs_per_day == pytest.approx(clear.pairs.clear_sky_pairs_per_day)
    assert clear.pairs.pairs_per_day > 0
    assert cloudy.pairs.pairs_per_day == 0.0 and cloudy.pairs.pairs_per_year == 0.0
    assert cloudy.pairs.fidelity is None


def test_both_stations_clear_is_the_product_of_their_probabilities() -> None:
    text = TLE_PAIRS.read_text(encoding="utf-8")
    text = text.replace(
        "delingha: {role: end,", "delingha: {cloud_free_probability: 0.5, role: end,"
    )
    text = text.replace("lijiang: {role: end,", "lijiang: {cloud_free_probability: 0.4, role: end,")
    item = _pairs(text)
    assert item.pairs is not None
    assert item.pairs.pairs_per_day == pytest.approx(0.2 * item.pairs.clear_sky_pairs_per_day)
    assert item.pairs.pairs_per_year == pytest.approx(
        0.2 * item.pairs.clear_sky_pairs_per_day * 365.25
    )


def test_constant_elevation_gives_rate_times_duration_of_the_scalar_chain() -> None:
    one = _one_view((40.0, 30.0), 200.0)
    scalar = _scalar_chain((40.0, 30.0))
    assert one.pairs == pytest.approx(float(scalar.pair_rate_hz) * 200.0, rel=1e-9)
    assert one.fidelity == pytest.approx(float(scalar.fidelity), rel=1e-9)
    assert one.altitude_km == pytest.approx(500.0, abs=1e-6)
    assert one.range_error_km == pytest.approx(0.0, abs=1e-6)


@settings(max_examples=8, deadline=None)
@given(
    st.floats(15.0, 90.0),
    st.floats(15.0, 90.0),
    st.floats(1.0, 600.0),
)
def test_constant_profile_is_rate_times_duration_anywhere(
    first: float, second: float, seconds: float
) -> None:
    one = _one_view((first, second), seconds)
    scalar = _scalar_chain((first, second))
    assert one.pairs >= 0.0
    assert one.pairs == pytest.approx(float(scalar.pair_rate_hz) * seconds, rel=1e-9)
    assert one.fidelity is None or 0.25 <= one.fidelity <= 1.0


def test_one_sample_of_a_real_view_is_qcalc_rate_at_its_elevations(write: Any) -> None:
    """The dual downlink at one instant of a real common view equals `qcalc rate` of the
    scenario written with the satellite on a circular orbit at that view's altitude and
    each link at that instant's elevation."""
    scenario = load_scenario(str(TLE_PAIRS))
    satellite = orbits.tle_satellites_of(scenario)["micius"]
    stations = (orbits.station_of(scenario, "delingha"), orbits.station_of(scenario, "lijiang"))
    links = _links(scenario)
    view = orbits.common_view_windows(satellite, stations, WINDOW, (15.0, 15.0))[0]
    profile = orbits.dual_profile(satellite, stations, WINDOW, view)
    rate, fidelity, reason = orbits.pairs_at_samples(
        scenario, scenario.demands[0], ROUTE, links, profile, ("exclude", "exclude")
    )
    assert reason == "" and rate.shape == (241,)
    k = 100
    data = yaml.safe_load(TLE_PAIRS.read_text(encoding="utf-8"))
    for key in ("min_elevation_deg", "daylight"):
        data["defaults"].pop(key)
    data["nodes"]["micius"]["orbit"] = {"altitude_km": orbits.dual_altitude_km(profile)}
    for node in ("delingha", "lijiang"):
        for key in ("latitude_deg", "longitude_deg", "altitude_m"):
            data["nodes"][node].pop(key)
    data["demands"][0].pop("expect")  # the file's expect is of the chain without a window
    data["links"][0]["elevation_deg"] = float(profile.first.elevation_deg[k])
    data["links"][1]["elevation_deg"] = float(profile.second.elevation_deg[k])
    result = CliRunner().invoke(
        app, ["rate", write(yaml.safe_dump(data, sort_keys=False)), "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    demand = json.loads(result.stdout)["demands"][0]
    assert rate[k] == pytest.approx(demand["pair_rate_hz"], rel=1e-9)
    assert fidelity[k] == pytest.approx(demand["fidelity"], rel=1e-9)


def test_bundled_dual_downlink_is_near_the_published_pair_rate() -> None:
    """Yin et al. (2017): about 1 pair/s in common view over summed ranges of 1,600–2,400
    km. The views qcalc finds span those ranges; the mean rate of the used views is
    within a factor of 10 of one pair per second (it is 0.08–7 pairs/s: low views give
    less, the best more; docs/orbits.md)."""
    item = _pairs()
    assert item.pairs is not None
    used = [p for p in item.pairs.passes if p.used]
    rates = [p.pairs / p.view.duration_s for p in used]
    shortest = min(p.summed_range_km[0] for p in used)
    assert 1500.0 < shortest < 1700.0
    assert 0.1 < sum(p.pairs for p in used) / sum(p.view.duration_s for p in used) < 10.0
    assert max(rates) < 10.0
    assert item.pairs.fidelity is not None and 0.854 <= item.pairs.fidelity <= 0.902


def test_json_table_and_report_carry_the_pairs(runner: CliRunner) -> None:
    args = ["rate", str(TLE_PAIRS), "--from", "2021-04-27", "--days", "3"]
    data = json.loads(runner.invoke(app, [*args, "-f", "json"]).stdout)
    item = data["orbits"]["demands"][0]
    assert item["model"] == "pairs in common view"
    assert item["pairs_per_day"] == pytest.approx(
        sum(p["pairs"] * p["cloud_free_probability"] for p in item["pair_passes"] if p["used"])
        / 3.0
    )
    assert set(item["pairs_per_pass"]) == {"p5", "p50", "p95"}
    assert 0.85 < item["pair_fidelity"] < 0.9
    table = runner.invoke(app, args).stdout
    assert "pairs per view P5/P50/P95" in table and "Bell pairs from untrusted micius" in table
    page = htmlreport.collect([str(TLE_PAIRS)], window=orbits.Window(WINDOW.start, 3.0))
    html = htmlreport.render(page)
    assert "Bell pairs in common view for demand bell-pairs" in html
    assert "pair-weighted fidelity" in html


def test_a_route_without_pairs_says_why(write: Any) -> None:
    text = TLE_PAIRS.read_text(encoding="utf-8").replace(
        "micius-spdc: {kind: entangled_pair, pair_rate_hz: 5.9e6, wavelength_nm: 810}",
        "micius-spdc: {kind: weak_coherent, repetition_rate_hz: 1.0e8, mean_photon_number: 0.5,"
        " wavelength_nm: 810}",
    )
    item = _pairs(text)
    assert item.model == "not modelled" and item.pairs is None
    assert "no pairs are integrated" in item.notes[0]
    assert item.common_view_s is not None and item.common_view_s > 0
