"""Vectorised sweeps: the same numbers as a scalar evaluation at every point, and clear errors."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from conftest import SCENARIOS
from hypothesis import given, settings
from hypothesis import strategies as st

from qcalc._yaml import read_file
from qcalc.demands import evaluate_demand
from qcalc.errors import ScenarioError, UsageError
from qcalc.scenario import LINK_FIELDS, scenario_from_document
from qcalc.sweeps import MAX_POINTS, Vary, parse_vary, run_sweep

METRO = str(SCENARIOS / "metro-fibre.yaml")
GYS = str(SCENARIOS / "gys-decoy-bb84.yaml")
#: Vectorised and scalar evaluation run the same floating-point operations; only the
#: order of a reduction may differ.
SAME = 1e-9
KM = 1.0
#: A sweep in 0.01 km steps finds a maximum distance to within a step; the published
#: distances are given to 0.05 km.
DISTANCE_TOL_KM = 0.5 * KM

#: An untrusted measuring relay in the middle: MDI-QKD wins at short arms and twin-field
#: QKD at long ones, so the best protocol changes along a sweep of the arm length.
RELAY = """\
qcalc: 1
name: relay
hardware:
  sources: {wcp: {kind: weak_coherent, repetition_rate_hz: 1.0e9, decoy_photon_numbers: infinite}}
nodes:
  alice: {source: wcp}
  charlie: {role: untrusted_relay, detector: {efficiency: 0.7, dark_count_probability: 1.0e-7}}
  bob: {source: wcp}
links:
  - {ends: [alice, charlie], length_km: 50}
  - {ends: [charlie, bob], length_km: 50}
demands:
  - {name: key, ends: [alice, bob]}
"""

Setter = Callable[[dict[str, Any], float], None]


def scalar(path: str, setters: list[Setter], values: list[float], demand: int = 0) -> Any:
    """Evaluate the file with each field set to one plain number, as `qcalc rate` would."""
    doc = read_file(path)
    for setter, value in zip(setters, values, strict=True):
        setter(doc.data, value)
    scenario = scenario_from_document(doc)
    return evaluate_demand(scenario, scenario.demands[demand])


def channel_loss_db(result: Any) -> float:
    return float(sum(float(h.channel_loss_db) for h in result.hops))


def set_link_length(index: int) -> Setter:
    def setter(data: dict[str, Any], value: float) -> None:
        data["links"][index]["length_km"] = value

    return setter


def set_snspd_efficiency(data: dict[str, Any], value: float) -> None:
    data["hardware"]["detectors"]["snspd"]["efficiency"] = value


def assert_matches_scalar(
    path: str, varies: list[Vary], setters: list[Setter], demand: int = 0
) -> list[Any]:
    """Every point of the sweep equals the scalar evaluation at that point."""
    metrics = ["key_rate_bps", "stage", "loss_db", "pair_rate_hz", "fidelity"]
    result = run_sweep(path, varies, metrics)
    points = [result.columns[v.field] for v in varies]
    scalars = [
        scalar(path, setters, [float(p[i]) for p in points], demand) for i in range(result.points)
    ]
    want = {
        "key_rate_bps": [float(s.key_rate_bps) for s in scalars],
        "stage": [int(s.stage) for s in scalars],
        "loss_db": [channel_loss_db(s) for s in scalars],
        "pair_rate_hz": [float(s.pair_rate_hz) for s in scalars],
        "fidelity": [float(s.fidelity) for s in scalars],
    }
    for metric, values in want.items():
        np.testing.assert_allclose(result.columns[metric], values, rtol=SAME, atol=0.0)
    return scalars


# ----------------------------------------------------------------------------- vector = scalar


def test_metro_length_sweep_equals_scalar_evaluation_at_every_point():
    vary = parse_vary("links.alice-bob.length_km=0:320:17")
    assert_matches_scalar(METRO, [vary], [set_link_length(0)])


def test_hardware_profile_sweep_equals_scalar_evaluation_at_every_point():
    vary = parse_vary("hardware.detectors.snspd.efficiency=log:0.01:1:9")
    assert_matches_scalar(METRO, [vary], [set_snspd_efficiency])


def test_two_field_grid_equals_scalar_evaluation_at_every_point():
    varies = [
        parse_vary("links.alice-bob.length_km=10:300:6"),
        parse_vary("hardware.detectors.snspd.efficiency=0.1:0.9:3"),
    ]
    assert_matches_scalar(METRO, varies, [set_link_length(0), set_snspd_efficiency])


def test_grid_is_the_full_product_with_the_first_field_slowest():
    varies = [
        parse_vary("links.alice-bob.length_km=10:30:3"),
        parse_vary("hardware.detectors.snspd.efficiency=0.2:0.4:2"),
    ]
    result = run_sweep(METRO, varies, ["loss_db"])
    assert result.points == 6
    np.testing.assert_allclose(
        result.columns["links.alice-bob.length_km"], [10, 10, 20, 20, 30, 30], rtol=SAME
    )
    np.testing.assert_allclose(
        result.columns["hardware.detectors.snspd.efficiency"], [0.2, 0.4] * 3, rtol=SAME
    )


def test_best_protocol_is_chosen_point_by_point(write):
    # Scalar evaluation picks MDI-QKD at short arms and TF-QKD at long ones; the sweep
    # must report each point's best, not one protocol for the whole range.
    path = write(RELAY)
    vary = parse_vary("links.alice-charlie.length_km=1:250:5")
    scalars = assert_matches_scalar(path, [vary], [set_link_length(0)])
    assert {s.protocol for s in scalars} >= {"mdi-qkd", "tf-qkd"}


def test_inline_node_profile_is_the_same_as_its_named_profile():
    # bob is the only node with the snspd detector: varying it by name or through the
    # node (made inline) is the same sweep.
    by_profile = run_sweep(METRO, [parse_vary("hardware.detectors.snspd.efficiency=0.1:1:5")], [])
    by_node = run_sweep(METRO, [parse_vary("nodes.bob.detector.efficiency=0.1:1:5")], [])
    np.testing.assert_allclose(
        by_node.columns["key_rate_bps"], by_profile.columns["key_rate_bps"], rtol=SAME
    )


def test_plob_bound_is_the_closed_form_of_the_route_times_the_repetition_rate():
    # PLOB: K = −log2(1 − η) bits per use (Pirandola et al., Nat. Commun. 8, 15043 (2017),
    # Eq. (1)); metro: η = 10^(−(0.2 dB/km · L + 1 dB)/10), 1 GHz.
    result = run_sweep(METRO, [parse_vary("links.alice-bob.length_km=0:400:41")], ["plob_bps"])
    length_km = result.columns["links.alice-bob.length_km"]
    eta = 10 ** (-(0.2 * length_km + 1.0) / 10)
    plob_bits_per_use = -np.log1p(-eta) / np.log(2)  # log1p: exact where η is tiny
    np.testing.assert_allclose(result.columns["plob_bps"], plob_bits_per_use * 1e9, rtol=SAME)
    assert np.all(result.columns["plob_bps"] >= 0)


@pytest.mark.parametrize(
    ("demand", "link", "published_km"),
    [
        # Ma, Qi, Zhao, Lo, Phys. Rev. A 72, 012326 (2005), Table I: infinite decoys, μ = 0.48.
        ("infinite-decoy-100km", "fibre-100km", 142.05),
        # Same paper, Sec. V: vacuum + weak decoy ν = 0.05, μ = 0.48.
        ("vacuum-weak-140km", "fibre-140km", 140.6),
    ],
)
def test_gys_maximum_distance_from_a_sweep_matches_ma_2005(demand, link, published_km):
    field = f"links.{link}.length_km"
    result = run_sweep(GYS, [parse_vary(f"{field}=130:150:2001")], ["key_rate_bps"], demand)
    key = result.columns["key_rate_bps"]
    assert key[0] > 0 and key[-1] == 0.0
    reach = float(result.columns[field][key > 0].max())
    assert reach == pytest.approx(published_km, abs=DISTANCE_TOL_KM)


def test_zero_is_zero_beyond_the_reach_and_nothing_is_nan():
    result = run_sweep(METRO, [parse_vary("links.alice-bob.length_km=0:1000:101")], [])
    key = result.columns["key_rate_bps"]
    assert np.all(np.isfinite(key)) and np.all(key >= 0)
    assert key[-1] == 0.0
    assert np.all(np.diff(key) <= 0)  # more fibre never gives more key


# ----------------------------------------------------------------------------- outputs


def test_columns_are_the_varied_fields_then_the_metrics():
    result = run_sweep(
        METRO,
        [parse_vary("links.alice-bob.length_km=1:100:4")],
        ["stage", "protocol:gllp", "key_rate_bps", "stage"],
    )
    assert list(result.columns) == [
        "links.alice-bob.length_km",
        "stage",
        "protocol:gllp",
        "key_rate_bps",
    ]
    assert result.metrics == ("stage", "protocol:gllp", "key_rate_bps")
    assert result.columns["stage"].dtype.kind == "i"
    assert (result.scenario_name, result.demand, result.protocol) == (
        "Metro fibre link",
        "key",
        "bb84-decoy",
    )


def test_named_protocol_metric_is_that_protocol_end_to_end():
    result = run_sweep(METRO, [parse_vary("links.alice-bob.length_km=1:200:5")], ["protocol:gllp"])
    for length, got in zip(
        result.columns["links.alice-bob.length_km"], result.columns["protocol:gllp"], strict=True
    ):
        rates = scalar(METRO, [set_link_length(0)], [float(length)]).end_to_end
        want = next(float(r.key_rate_bps) for r in rates if r.protocol == "gllp")
        assert got == pytest.approx(want, rel=SAME)


def test_csv_reads_back_to_the_columns():
    result = run_sweep(METRO, [parse_vary("links.alice-bob.length_km=1:300:7")], ["stage"])
    rows = list(csv.reader(io.StringIO(result.to_csv())))
    assert rows[0] == ["links.alice-bob.length_km", "stage"]
    assert len(rows) == 8
    got = np.array([[float(c) for c in row] for row in rows[1:]])
    np.testing.assert_array_equal(got[:, 0], result.columns["links.alice-bob.length_km"])
    np.testing.assert_array_equal(got[:, 1], result.columns["stage"])
    assert rows[1][1] == "2" and rows[-1][1] == "0"  # stages are whole numbers


def test_json_is_plain_and_strict():
    result = run_sweep(
        METRO, [parse_vary("links.alice-bob.length_km=log:1:1000:4")], ["key_rate_bps"]
    )
    data = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert data["scenario"] == "Metro fibre link" and data["demand"] == "key"
    assert data["points"] == 4
    assert data["varies"] == [
        {"field": "links.alice-bob.length_km", "start": 1.0, "stop": 1000.0, "num": 4, "log": True}
    ]
    assert data["metrics"] == ["key_rate_bps"]
    np.testing.assert_allclose(data["columns"]["links.alice-bob.length_km"], [1, 10, 100, 1000])
    assert data["columns"]["key_rate_bps"][-1] == 0.0


def test_rows_are_text_to_six_significant_figures():
    result = run_sweep(
        METRO, [parse_vary("links.alice-bob.length_km=50:50:1")], ["stage", "key_rate_bps"]
    )
    key = float(result.columns["key_rate_bps"][0])
    assert result.rows() == [["50", "2", f"{key:.6g}"]]
    assert f"{key:.6g}" == "8.05713e+06"  # 50 km of the metro link: 6 figures


# ----------------------------------------------------------------------------- parse_vary

FORM = (
    "expected FIELD=START:STOP:NUM or FIELD=log:START:STOP:NUM, "
    "e.g. links.alice-bob.length_km=1:200:100"
)


def test_parse_vary_linear_range():
    vary = parse_vary("links.alice-bob.length_km=1:200:100")
    assert vary.field == "links.alice-bob.length_km" and vary.log is False
    np.testing.assert_array_equal(vary.values, np.linspace(1, 200, 100))


def test_parse_vary_log_range():
    vary = parse_vary("links.alice-bob.length_km=log:1:1000:50")
    assert vary.log is True
    np.testing.assert_allclose(vary.values, np.logspace(0, 3, 50), rtol=SAME)


def test_parse_vary_single_point_descending_and_spaces():
    assert parse_vary(" criteria.entanglement_min_fidelity = 0.9 : 0.9 : 1 ").values.tolist() == [
        0.9
    ]
    assert parse_vary("defaults.extra_loss_db=3:1:3").values.tolist() == [3.0, 2.0, 1.0]
    assert parse_vary("defaults.length_km=1e1:2e1:2").values.tolist() == [10.0, 20.0]
    assert parse_vary("defaults.length_km=0:1:1e6").values.size == 1_000_000


def test_vary_values_are_read_only():
    vary = parse_vary("defaults.length_km=1:2:2")
    with pytest.raises(ValueError):
        vary.values[0] = 5.0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("links.a-b.length_km", "no '=' between FIELD and its range"),
        ("=1:2:3", "FIELD is empty"),
        ("f=1:2", "the range '1:2' is not START:STOP:NUM"),
        ("f=log:1:2", "the range 'log:1:2' is not START:STOP:NUM"),
        ("f=1:2:3:4", "the range '1:2:3:4' is not START:STOP:NUM"),
        ("f=a:2:3", "START 'a' is not a number"),
        ("f=1:2km:3", "STOP '2km' is not a number"),
        ("f=1:inf:3", "STOP 'inf' is not a finite number"),
        ("f=nan:1:3", "START 'nan' is not a finite number"),
        ("f=1:2:2.5", "NUM '2.5' is not a whole number ≥ 1"),
        ("f=1:2:ten", "NUM 'ten' is not a whole number ≥ 1"),
        ("f=1:2:0", "NUM '0' is not a whole number ≥ 1"),
        ("f=1:2:-3", "NUM '-3' is not a whole number ≥ 1"),
        ("f=log:0:10:5", "a log range needs START and STOP > 0, not 0 and 10"),
        ("f=log:-1:10:5", "a log range needs START and STOP > 0, not -1 and 10"),
        (
            f"f=1:2:{MAX_POINTS + 1}",
            f"NUM is {MAX_POINTS + 1:,} points, more than the limit of 1,000,000; "
            "set QCALC_MAX_SWEEP_POINTS to raise it",
        ),
    ],
)
def test_parse_vary_rejects_with_an_exact_message(text, problem):
    with pytest.raises(UsageError) as info:
        parse_vary(text)
    assert str(info.value) == f"--vary {text!r}: {problem}; {FORM}"


@settings(max_examples=40, deadline=None)
@given(
    start=st.floats(-1e6, 1e6, allow_nan=False),
    stop=st.floats(-1e6, 1e6, allow_nan=False),
    num=st.integers(1, 500),
)
def test_parse_vary_is_linspace_for_any_range(start, stop, num):
    vary = parse_vary(f"defaults.length_km={start!r}:{stop!r}:{num}")
    np.testing.assert_array_equal(vary.values, np.linspace(start, stop, num))


# ----------------------------------------------------------------------------- path errors


NUMERIC_LINK = [k for k, f in LINK_FIELDS.items() if f.kind in ("number", "integer")]


@pytest.mark.parametrize(
    ("field", "message"),
    [
        (
            "link.alice-bob.length_km",
            "a field path starts with one of links, nodes, hardware, demands, defaults, "
            "criteria; did you mean 'links'?",
        ),
        (
            "links.alice-bbo.length_km",
            "no link named 'alice-bbo' (defined: alice-bob); did you mean 'alice-bob'?",
        ),
        ("links.alice-bob.lenght_km", "'lenght_km' is not a link field; did you mean 'length_km'?"),
        (
            "links.alice-bob.channel",
            f"link field 'channel' is not a number; numeric ones: {', '.join(NUMERIC_LINK)}",
        ),
        (
            "hardware.detector.snspd.efficiency",
            "no hardware group 'detector' (groups: detectors, sources, memories, "
            "processors); did you mean 'detectors'?",
        ),
        (
            "hardware.detectors.snpsd.efficiency",
            "no detector profile named 'snpsd' (defined: snspd); did you mean 'snspd'?",
        ),
        (
            "hardware.detectors.snspd.eficiency",
            "'eficiency' is not a detector field; did you mean 'efficiency'?",
        ),
        ("nodes.carol.role", "no node named 'carol' (defined: alice, bob)"),
        (
            "demands.keys.sifting_factor",
            "no demand named 'keys' (defined: key); did you mean 'key'?",
        ),
        (
            "criteria.stage",
            "'stage' is not a criteria field (numeric criteria fields: "
            "entanglement_min_fidelity, entanglement_min_pair_rate_hz, fault_tolerant_min_fidelity, "
            "fault_tolerant_min_logical_qubits, computing_min_logical_qubits, "
            "surface_code_threshold, logical_error_rate)",
        ),
        ("links", "expected links.<…>.<field>, e.g. links.alice-bob.length_km"),
    ],
)
def test_unknown_field_paths_name_the_choices(field, message):
    with pytest.raises(UsageError) as info:
        run_sweep(METRO, [Vary(field, np.array([1.0, 2.0]))], [])
    assert str(info.value) == f"--vary {field!r}: {message}"


def test_values_outside_the_field_range_are_refused_before_evaluation():
    with pytest.raises(UsageError) as info:
        run_sweep(METRO, [parse_vary("links.alice-bob.length_km=-10:10:3")], [])
    assert str(info.value) == (
        "--vary 'links.alice-bob.length_km': the range reaches -10; expected a number ≥ 0 and ≤ 1e+06 in km"
    )
    with pytest.raises(UsageError) as info:
        run_sweep(METRO, [parse_vary("hardware.detectors.snspd.efficiency=0:1:3")], [])
    assert str(info.value) == (
        "--vary 'hardware.detectors.snspd.efficiency': the range reaches 0; "
        "expected a number > 0 and ≤ 1"
    )


def test_integer_fields_take_whole_numbers():
    with pytest.raises(UsageError) as info:
        run_sweep(METRO, [parse_vary("links.alice-bob.memory_modes=1:2:3")], [])
    assert str(info.value) == (
        "--vary 'links.alice-bob.memory_modes': the field takes whole numbers; the range gives 1.5"
    )


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        (
            "key_rate",
            "--metric 'key_rate': unknown metric (choices: key_rate_bps, pair_rate_hz, fidelity, "
            "stage, loss_db, plob_bps, protocol:<name>); did you mean 'key_rate_bps'?",
        ),
        (
            "protocol:bb84-decoi",
            "--metric 'protocol:bb84-decoi': no protocol 'bb84-decoi' (protocols: bb84-decoy, bb84-finite, "
            "bb84-single-photon, gllp, bbm92, diqkd, mdi-qkd, mdi-qkd-finite, tf-qkd); "
            "did you mean 'bb84-decoy'?",
        ),
        (
            "protocol:tf-qkd",
            "--metric 'protocol:tf-qkd': tf-qkd gives no end-to-end key rate for demand 'key' "
            "(protocols that do: bb84-decoy, gllp)",
        ),
    ],
)
def test_bad_metrics_name_the_choices(metric, message):
    with pytest.raises(UsageError) as info:
        run_sweep(METRO, [parse_vary("links.alice-bob.length_km=1:2:2")], [metric])
    assert str(info.value) == message


def test_unknown_demand_names_the_demands():
    with pytest.raises(UsageError) as info:
        run_sweep(GYS, [parse_vary("defaults.extra_loss_db=0:1:2")], [], demand="infinite-decoy")
    assert str(info.value) == (
        f"--demand 'infinite-decoy': no such demand in {GYS} (demands: infinite-decoy-100km, "
        "vacuum-weak-140km); did you mean 'infinite-decoy-100km'?"
    )


def test_a_field_varied_twice_is_refused():
    vary = parse_vary("defaults.extra_loss_db=0:1:2")
    with pytest.raises(UsageError, match="given more than once"):
        run_sweep(METRO, [vary, vary], [])


def test_a_broken_file_is_a_scenario_error_with_its_line(write):
    path = write("qcalc: 1\nnodes: {a: {}}\nlinks: [{ends: [a, b], length_km: 1}]\n")
    with pytest.raises(ScenarioError) as info:
        run_sweep(path, [parse_vary("defaults.extra_loss_db=0:1:2")], [])
    assert info.value.line == 3


def test_the_file_is_not_changed_and_a_second_sweep_starts_afresh():
    before = read_file(METRO).data
    run_sweep(METRO, [parse_vary("nodes.bob.detector.efficiency=0.1:1:3")], [])
    assert read_file(METRO).data == before
