"""Key over real passes through scenarios and the CLI: the circular-orbit model and the TLE
model agree on one elevation profile; key per day is the sum over passes; clouds scale
it (0 gives 0, 1 the clear-sky figure); daylight passes are excluded or see the day sky;
the stored-key relay; every orbit field acts on the passes or is refused.
"""

from __future__ import annotations

import copy
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import SCENARIOS
from typer.testing import CliRunner

from qcalc import orbits
from qcalc.channels import PASS_POINTS
from qcalc.cli import app
from qcalc.demands import evaluate_demand
from qcalc.errors import QcalcError, ScenarioError
from qcalc.physics.satellite import elevation_profile_deg, pass_duration_s, slant_range_km
from qcalc.scenario import load_scenario, parse_scenario

pytest.importorskip("sgp4", reason="the optional extra qcalc[orbits] (sgp4) is absent")

MICIUS = (
    "1 41731U 16051A   21117.42314584  .00000696  00000-0  30260-4 0  9998",
    "2 41731  97.3499  30.8507 0012844 347.0485 124.2616 15.25507799261429",
)
WINDOW = ["--from", "2021-04-27", "--days", "1"]

BASE = f"""
qcalc: 1
nodes:
  micius:
    role: trusted_relay
    source: {{kind: weak_coherent, repetition_rate_hz: 1.0e8, mean_photon_number: 0.8,
              decoy_photon_numbers: [0.1, 0.0], wavelength_nm: 848.6}}
    orbit: {{tle: ["{MICIUS[0]}", "{MICIUS[1]}"]}}
  xinglong:
    detector: {{efficiency: 0.15, dark_count_probability: 1.0e-6, gate_window_ns: 1}}
    latitude_deg: 40.395867
    longitude_deg: 117.577458
    altitude_m: 890
    cloud_free_probability: 0.63
links:
  - {{name: down, ends: [micius, xinglong], channel: satellite, min_elevation_deg: 20,
     tx_aperture_m: 0.3, rx_aperture_m: 1.0, divergence_urad: 10, zenith_transmittance: 0.5,
     misalignment_error: 0.01, daylight: exclude, sky: night_moonless,
     field_of_view_urad: 100, filter_bandwidth_nm: 1}}
demands:
  - {{name: key, ends: [micius, xinglong], protocol: bb84-decoy, shared_key_bits: 100000}}
"""


def run_json(path: str, *extra: str) -> tuple[int, Any]:
    result = CliRunner().invoke(app, ["rate", path, *WINDOW, "-f", "json", *extra])
    data = json.loads(result.stdout) if result.exit_code in (0, 1) else result.output
    return result.exit_code, data


def _text(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, width=200)


def _set(data: Any, path: str, value: Any) -> Any:
    out = copy.deepcopy(data)
    *parents, leaf = path.split(".")
    here = out
    for part in parents:
        here = here[int(part)] if isinstance(here, list) else here.setdefault(part, {})
    if value is None:
        here.pop(leaf, None)
    else:
        here[leaf] = value
    return out


# --------------------------------------------------------------------------- the models


def test_circular_and_tle_models_agree_on_one_elevation_profile() -> None:
    """The circular-orbit pass of the Micius QKD scenario, fed to the TLE model's per-pass
    integration as a profile, gives the same key as the circular chain (qcalc rate)."""
    scenario = load_scenario(str(SCENARIOS / "micius-2017-qkd-downlink.yaml"))
    link = scenario.links[0]
    duration = float(pass_duration_s(500.0, 20.0, 49.0))
    times = np.linspace(-duration / 2, duration / 2, PASS_POINTS)
    elevation = np.clip(elevation_profile_deg(500.0, times, 49.0), 20.0, 90.0)
    profile = orbits.PassProfile(
        times, elevation, np.zeros_like(times), slant_range_km(500.0, elevation), times * 0 - 30
    )
    for demand in (scenario.demands[0], scenario.demands[2]):  # bb84-finite, bb84-decoy
        circular = evaluate_demand(scenario, demand)
        expected = next(iter(circular.passes.values()))["key_bits_per_pass"]
        budget = orbits.pass_budget_from_profile(link, scenario, profile)
        rates, _ = orbits.pass_key_rates(budget, scenario, demand)
        got = orbits.bits_over_pass(budget, rates)
        assert budget.extra["altitude_km"] == pytest.approx(500.0, rel=1e-9)
        assert got[str(demand.protocol)] == pytest.approx(expected, rel=1e-9)


def test_real_pass_is_within_two_percent_of_the_circular_pass_of_the_same_peak() -> None:
    """A real Micius pass (49.5° over Xinglong) against the circular orbit of the same peak
    and equivalent altitude: Earth's rotation, ignored by the circular model, changes the
    duration by ~1 %, and so the key."""
    scenario = load_scenario(str(SCENARIOS / "micius-2017-qkd-downlink.yaml"))
    satellite = orbits.Satellite.from_tle("micius", *MICIUS)
    station = orbits.Station("xinglong", 40.395867, 117.577458, 890.0)
    window = orbits.Window(datetime(2021, 4, 27, tzinfo=UTC), 1.0)
    one = next(
        p for p in orbits.find_passes(satellite, station, window, 20.0) if p.max_elevation_deg < 55
    )
    demand = scenario.demands[2]
    key = orbits.key_of_pass(satellite, station, window, one, scenario.links[0], scenario, demand)
    text = (SCENARIOS / "micius-2017-qkd-downlink.yaml").read_text(encoding="utf-8")
    text = text.replace("max_elevation_deg: 49", f"max_elevation_deg: {one.max_elevation_deg}")
    text = text.replace("altitude_km: 500", f"altitude_km: {key.altitude_km}")
    circular = evaluate_demand(parse_scenario(text), demand)
    expected = next(iter(circular.passes.values()))
    assert key.bits["bb84-decoy"] == pytest.approx(expected["key_bits_per_pass"], rel=0.02)
    assert key.duration_s == pytest.approx(expected["pass_duration_s"], rel=0.02)
    assert key.range_error_km < 5.0  # the equivalent altitude's range error over the pass


# --------------------------------------------------------------------------- through the CLI


def test_key_per_day_is_the_sum_over_passes(write: Any) -> None:
    code, data = run_json(write(BASE), "--days", "3")
    assert code == 0
    station = data["orbits"]["demands"][0]["stations"][0]
    passes = station["passes"]
    assert len(passes) == station["passes_found"] >= 4
    expected = sum(p["key_bits"] * p["cloud_free_probability"] for p in passes) / 3
    assert station["key_bits_per_day"] == pytest.approx(expected, rel=1e-12)
    assert station["clear_sky_key_bits_per_day"] == pytest.approx(
        sum(p["key_bits"] for p in passes) / 3, rel=1e-12
    )
    assert all(p["key_bits"] == 0 for p in passes if not p["used"])
    assert data["orbits"]["demands"][0]["key_bits_per_day"] == station["key_bits_per_day"]


@pytest.mark.parametrize("probability", [0.0, 1.0])
def test_cloud_probability_0_gives_0_and_1_the_clear_sky_key(
    write: Any, probability: float
) -> None:
    text = BASE.replace("cloud_free_probability: 0.63", f"cloud_free_probability: {probability}")
    _, data = run_json(write(text))
    station = data["orbits"]["demands"][0]["stations"][0]
    assert station["clear_sky_key_bits_per_day"] > 0
    expected = station["clear_sky_key_bits_per_day"] * probability
    assert station["key_bits_per_day"] == expected
    assert station["key_bits_per_year"] == pytest.approx(expected * 365.25, rel=1e-12)


def test_monthly_cloud_probability_weights_the_year(write: Any) -> None:
    months = [0.1 * (i % 10) for i in range(12)]
    text = BASE.replace("cloud_free_probability: 0.63", f"cloud_free_probability: {months}")
    _, data = run_json(write(text))
    station = data["orbits"]["demands"][0]["stations"][0]
    clear = station["clear_sky_key_bits_per_day"]
    assert station["key_bits_per_day"] == pytest.approx(clear * months[3])  # April
    lengths = orbits.MONTH_DAYS
    assert station["key_bits_per_month"] == pytest.approx(
        [clear * p * n for p, n in zip(months, lengths, strict=True)]
    )


def test_daylight_passes_see_the_day_sky_or_are_excluded(write: Any) -> None:
    _, excluded = run_json(write(BASE))
    _, day = run_json(write(BASE.replace("daylight: exclude", "daylight: day_sky")))
    lit = [p for p in excluded["orbits"]["demands"][0]["stations"][0]["passes"] if not p["used"]]
    assert lit and all(p["daylight_fraction"] > 0 for p in lit)
    day_passes = day["orbits"]["demands"][0]["stations"][0]["passes"]
    assert all(p["used"] for p in day_passes)
    night = [p for p in day_passes if p["daylight_fraction"] == 0]
    assert night and night[0]["key_bits"] > 0
    # the day sky's background at 100 µrad and 1 nm swamps the decoy key: zero, not negative
    assert all(p["key_bits"] == 0.0 for p in day_passes if p["daylight_fraction"] == 1.0)


def test_day_sky_lowers_the_key_of_the_same_pass() -> None:
    scenario = parse_scenario(BASE.replace("field_of_view_urad: 100", "field_of_view_urad: 10"))
    satellite = orbits.Satellite.from_tle("micius", *MICIUS)
    station = orbits.station_of(scenario, "xinglong")
    window = orbits.Window(datetime(2021, 4, 27, tzinfo=UTC), 1.0)
    one = orbits.find_passes(satellite, station, window, 20.0)[0]  # 03:32 UTC, in daylight
    profile = orbits.pass_profile(satellite, station, window, one)
    assert profile.daylight.all()
    link, demand = scenario.links[0], scenario.demands[0]
    keys = []
    for sun in (profile.sun_elevation_deg, profile.sun_elevation_deg * 0 - 30):
        dark = orbits.PassProfile(
            profile.time_s, profile.elevation_deg, profile.azimuth_deg, profile.range_km, sun
        )
        budget = orbits.pass_budget_from_profile(link, scenario, dark, "day_sky")
        keys.append(
            orbits.bits_over_pass(budget, orbits.pass_key_rates(budget, scenario, demand)[0])
        )
    assert 0 <= keys[0]["bb84-decoy"] < 0.9 * keys[1]["bb84-decoy"]


def test_bundled_network_relays_key_between_xinglong_and_graz() -> None:
    path = str(SCENARIOS / "micius-tle-ground-network.yaml")
    code, data = run_json(path)
    assert code == 0
    relay = next(d for d in data["orbits"]["demands"] if d["demand"] == "xinglong-graz")
    assert relay["model"] == "stored key"
    first, second = relay["stations"]
    assert relay["key_bits_per_day"] == min(first["key_bits_per_day"], second["key_bits_per_day"])
    assert relay["days_until_shared"] is not None and relay["days_until_shared"] > 0
    table = CliRunner().invoke(app, ["stage", path, *WINDOW])
    assert table.exit_code == 0 and "stored-key relay through trusted micius" in table.stdout


def test_untrusted_satellite_between_stations_is_not_modelled(write: Any) -> None:
    text = (SCENARIOS / "micius-tle-ground-network.yaml").read_text(encoding="utf-8")
    text = text.replace("role: trusted_relay", "role: untrusted_relay")
    text = text.replace("    shared_key_bits: 100000\n", "")
    _, data = run_json(write(text))
    relay = next(d for d in data["orbits"]["demands"] if d["demand"] == "xinglong-graz")
    assert relay["model"] == "not modelled" and relay["common_view_s"] == 0.0
    assert relay["key_bits_per_day"] == 0.0 and "not trusted" in relay["notes"][0]


def test_relayed_key_is_the_smaller_cumulative_key() -> None:
    window = orbits.Window(datetime(2021, 1, 1, tzinfo=UTC), 2.0)
    station = orbits.Station("a", 0.0, 0.0)

    def keyed(sets: list[float], bits: list[float]) -> orbits.StationKey:
        passes = tuple(
            orbits.PassKey(
                orbits.Pass("a", t - 100, t, t - 50, 40.0), {"p": b}, 100, 0, 500, 0, 600
            )
            for t, b in zip(sets, bits, strict=True)
        )
        return orbits.StationKey(station, "p", passes, (True,) * len(passes), window)

    a = keyed([3600.0, 90000.0], [100.0, 300.0])
    b = keyed([7200.0, 100000.0], [250.0, 250.0])
    relay = orbits.RelayedKey(a, b)
    assert relay.key_bits_per_day == pytest.approx(200.0)
    assert relay.days_until(100.0) == pytest.approx(7200 / 86400)  # b's first pass
    assert relay.days_until(400.0) == pytest.approx(100000 / 86400)
    # 400 shared by the window's end, then 200 a day: 200 more take one day
    assert relay.days_until(600.0) == pytest.approx(3.0)


# --------------------------------------------------------------------------- inputs


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("nodes.micius.orbit.altitude_km", 500), "give one"),
        (("nodes.micius.orbit.tle", [MICIUS[0], MICIUS[1][:-1] + "0"]), "checksum"),
        (("nodes.micius.orbit.tle", [MICIUS[0]]), "two lines"),
        (("nodes.xinglong.longitude_deg", None), "give both"),
        (("nodes.xinglong.cloud_free_probability", [0.5] * 11), "12 monthly"),
        (("nodes.micius.latitude_deg", 10.0), "latitude_deg"),
        (("links.0.min_elevation_deg", None), "min_elevation_deg"),
        (("links.0.sky", None), "night sky"),
    ],
)
def test_orbit_inputs_are_refused_with_the_field(change: tuple[str, Any], message: str) -> None:
    data = _set(yaml.safe_load(BASE), *change)
    if change[0] == "links.0.min_elevation_deg":
        data["links"][0]["elevation_deg"] = 40
    if change[0] == "links.0.sky":
        for key in ("field_of_view_urad", "filter_bandwidth_nm"):
            data["links"][0].pop(key)
        data["links"][0]["daylight"] = "day_sky"
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(_text(data))


def test_ground_station_of_a_tle_link_needs_coordinates() -> None:
    data = _set(
        _set(yaml.safe_load(BASE), "nodes.xinglong.latitude_deg", None),
        "nodes.xinglong.longitude_deg",
        None,
    )
    data = _set(data, "nodes.xinglong.altitude_m", None)
    with pytest.raises(ScenarioError, match="latitude_deg and longitude_deg"):
        parse_scenario(_text(data))


def test_orbit_fields_without_a_tle_are_refused() -> None:
    circular = _set(yaml.safe_load(BASE), "nodes.micius.orbit", {"altitude_km": 500})
    circular["links"][0].update(passes_per_day=1)
    for path, value in (
        ("nodes.xinglong.cloud_free_probability", 0.5),
        ("links.0.daylight", "day_sky"),
        ("demands.0.shared_key_bits", 1000),
    ):
        data = _set(circular, path, value)
        for other in (
            "nodes.xinglong.cloud_free_probability",
            "links.0.daylight",
            "demands.0.shared_key_bits",
        ):
            if other != path:
                data = _set(data, other, None)
        with pytest.raises(ScenarioError, match=path.rsplit(".", 1)[-1]):
            parse_scenario(_text(data))


def test_tle_file_with_a_name_line(tmp_path: Path) -> None:
    (tmp_path / "micius.tle").write_text("MICIUS\n" + "\n".join(MICIUS) + "\n", encoding="utf-8")
    data = _set(yaml.safe_load(BASE), "nodes.micius.orbit", {"tle_file": "micius.tle"})
    path = tmp_path / "s.yaml"
    path.write_text(_text(data), encoding="utf-8")
    scenario = load_scenario(str(path))
    assert scenario.nodes["micius"].orbit is not None
    assert scenario.nodes["micius"].orbit.tle == MICIUS
    assert scenario.nodes["micius"].altitude_km == pytest.approx(496.4, abs=0.1)


#: Fields that act only on the passes (with --from): each must move the orbit report or be
#: refused naming it (tests/test_field_effects.py walks the others without a window).
WINDOW_FIELDS = {
    "node.latitude_deg": ("nodes.xinglong.latitude_deg", 30.0),
    "node.longitude_deg": ("nodes.xinglong.longitude_deg", 100.0),
    "node.altitude_m": ("nodes.xinglong.altitude_m", 5000),
    "node.cloud_free_probability": ("nodes.xinglong.cloud_free_probability", 0.3),
    "link.daylight": ("links.0.daylight", "day_sky"),
    "demand.shared_key_bits": ("demands.0.shared_key_bits", 1.0e7),
}


def test_window_fields_are_the_ones_the_walk_leaves_out() -> None:
    from test_field_effects import ORBIT_WINDOW

    assert set(WINDOW_FIELDS) | {"defaults.daylight", "defaults.shared_key_bits"} == ORBIT_WINDOW


@pytest.mark.parametrize("field_id", sorted(WINDOW_FIELDS))
def test_window_field_moves_the_passes(write: Any, field_id: str) -> None:
    path, value = WINDOW_FIELDS[field_id]
    _, before = run_json(write(BASE, "before.yaml"))
    changed = _text(_set(yaml.safe_load(BASE), path, value))
    code, after = run_json(write(changed, "after.yaml"))
    if code == 2:
        assert path.rsplit(".", 1)[-1] in after
        return
    assert before["orbits"]["demands"] != after["orbits"]["demands"], field_id


# --------------------------------------------------------------------------- the command line


def test_without_the_extra_the_cli_says_what_to_install(
    write: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "sgp4", None)
    result = CliRunner().invoke(app, ["rate", write(BASE), *WINDOW])
    assert result.exit_code == 2
    assert "pip install 'qcalc[orbits]'" in result.output
    # without a window the circular estimate needs no propagator
    result = CliRunner().invoke(app, ["rate", write(BASE)])
    assert result.exit_code == 0 and "--from DATE --days N" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "2"], "give --from"),
        (["--from", "27 April"], "not a date"),
        (["--from", "2021-04-27", "--days", "0"], "--days"),
    ],
)
def test_window_options_are_checked(write: Any, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["stage", write(BASE), *args])
    assert result.exit_code == 2 and message in result.output


def test_from_needs_a_tle_satellite() -> None:
    result = CliRunner().invoke(app, ["stage", str(SCENARIOS / "metro-fibre.yaml"), *WINDOW])
    assert result.exit_code == 2 and "TLE" in result.output


def test_library_errors_are_qcalc_errors() -> None:
    with pytest.raises(QcalcError):
        orbits.parse_date("yesterday")
