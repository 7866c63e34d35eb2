"""Scenario loading: the format, defaults, profiles and every kind of bad input."""

from __future__ import annotations

import time

import pytest
from conftest import MINIMAL

from qcalc.cli import app
from qcalc.errors import ScenarioError
from qcalc.scenario import load_scenario, parse_scenario


def test_minimal_scenario_fills_defaults():
    s = parse_scenario(MINIMAL)
    link = s.links[0]
    assert link.name == "alice-bob"
    assert link.channel == "fibre"
    assert link.attenuation_db_per_km == 0.2
    assert s.demands[0].error_correction_efficiency == 1.16
    assert s.demands[0].application == "qkd"
    assert s.nodes["alice"].source is not None
    assert s.nodes["alice"].source.mean_photon_number == "optimise"


def test_profiles_defaults_and_inline_overrides():
    text = """\
qcalc: 1
hardware:
  detectors:
    snspd: {efficiency: 0.85, dark_count_rate_hz: 100, gate_window_ns: 1}
defaults:
  detector: snspd
  attenuation_db_per_km: 0.16
  error_correction_efficiency: 1.1
nodes:
  a: {}
  b: {detector: {efficiency: 0.3}}
links:
  - {ends: [a, b], length_km: 5}
  - {ends: [b, a], length_km: 5, attenuation_db_per_km: 0.3, name: second}
demands:
  - {ends: [a, b], error_correction_efficiency: 1.3}
  - {ends: [b, a]}
"""
    s = parse_scenario(text)
    assert s.nodes["a"].detector is not None and s.nodes["a"].detector.efficiency == 0.85
    assert s.nodes["b"].detector is not None and s.nodes["b"].detector.efficiency == 0.3
    assert [link.attenuation_db_per_km for link in s.links] == [0.16, 0.3]
    assert [d.error_correction_efficiency for d in s.demands] == [1.3, 1.1]


def test_yaml12_exponent_numbers_are_numbers():
    s = parse_scenario(MINIMAL.replace("length_km: 10", "length_km: 1e1"))
    assert s.links[0].length_km == 10.0


BAD = [
    # (what is wrong, text or replacement, exact message after the file name)
    (
        "misspelt key",
        ("length_km", "lenght_km"),
        ":6:26: links[0].lenght_km: unknown key 'lenght_km'; did you mean 'length_km'?",
    ),
    (
        "duplicate key",
        "qcalc: 1\nqcalc: 1\n",
        ":2:1: qcalc: duplicate key 'qcalc' (first given at line 1); each key may appear once",
    ),
    (
        "NaN",
        ("length_km: 10", "length_km: .nan"),
        ":6:37: links[0].length_km: is nan; expected a finite number (a number ≥ 0 and ≤ 1e+06)",
    ),
    (
        "unit in a number",
        ("length_km: 10", 'length_km: "50 km"'),
        ":6:37: links[0].length_km: is the text '50 km'; expected a number ≥ 0 and ≤ 1e+06 in km; "
        "write 50 (the unit is in the key's name)",
    ),
    (
        "YAML 1.1 boolean",
        ("length_km: 10", "length_km: yes"),
        ":6:37: links[0].length_km: is the text 'yes'; expected a number ≥ 0 and ≤ 1e+06 in km, "
        "written as a plain number (YAML 1.2 reads yes/no/on/off as text)",
    ),
    (
        "efficiency above 1",
        ("efficiency: 0.5", "efficiency: 1.5"),
        ":4:32: nodes.bob.detector.efficiency: is 1.5; expected a number > 0 and ≤ 1",
    ),
    (
        "negative length",
        ("length_km: 10", "length_km: -3"),
        ":6:37: links[0].length_km: is -3; expected a number ≥ 0 and ≤ 1e+06 in km",
    ),
    (
        "unknown end",
        ("ends: [alice, bob], length", "ends: [alice, carol], length"),
        ":6:12: links[0].ends: names 'carol', which is not a node (nodes: alice, bob)",
    ),
    (
        "path not a route",
        ("- {ends: [alice, bob]}", "- {ends: [alice, bob], path: [alice, carol, bob]}"),
        ":8:32: demands[0].path: names 'carol', which is not a node",
    ),
    (
        "format version",
        ("qcalc: 1", "qcalc: 2"),
        ":1:8: qcalc: is 2; this qcalc reads format version 1",
    ),
    (
        "unknown application",
        ("- {ends: [alice, bob]}", "- {ends: [alice, bob], application: teleport}"),
        ":8:39: demands[0].application: is 'teleport'; expected 19 names (`qcalc apps` lists "
        "them); did you mean 'teleportation'?",
    ),
    (
        "unquoted expectation",
        ("- {ends: [alice, bob]}", "- {ends: [alice, bob], expect: {stage: 3}}"),
        ":8:42: demands[0].expect.stage: is 3; expected a comparison as a quoted text such as "
        "'>= 3' (operators >=, <=, ==, >, <)",
    ),
    (
        "undefined profile",
        ("detector: {efficiency: 0.5}", "detector: spad"),
        ":4:19: nodes.bob.detector: names the detector profile 'spad', which hardware.detectors "
        "does not define (defined: none)",
    ),
    (
        "top-level list",
        "- a\n- b\n",
        ":1:1: the file holds a list; expected a scenario mapping with the keys qcalc, nodes, "
        "links, demands",
    ),
    ("empty file", "", ": the file is empty; expected a scenario mapping"),
    (
        "several documents",
        "qcalc: 1\n---\nqcalc: 1\n",
        ":2:1: the file holds several YAML documents; expected exactly one",
    ),
    (
        "python tag",
        'qcalc: !!python/object/apply:os.system ["echo hi"]\n',
        ":1:8: qcalc: the tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed; "
        "scenarios use plain YAML values only",
    ),
    (
        "missing nodes",
        "qcalc: 1\nlinks: []\n",
        ":1:1: misses the required key 'nodes' (the nodes by name)",
    ),
    (
        "satellite without orbit",
        (
            "- {ends: [alice, bob], length_km: 10}",
            "- {ends: [alice, bob], channel: satellite, elevation_deg: 40, "
            "divergence_urad: 10, rx_aperture_m: 1}",
        ),
        ":6:12: links[0].ends: a satellite link needs exactly one end with an orbit; "
        "['alice', 'bob'] has 0. Add orbit: {altitude_km: 500} to the satellite node",
    ),
]


def _text(spec: str | tuple[str, str]) -> str:
    if isinstance(spec, tuple):
        assert spec[0] in MINIMAL
        return MINIMAL.replace(spec[0], spec[1], 1)
    return spec


@pytest.mark.parametrize(("what", "spec", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_message_and_exit_code(write, runner, what, spec, message):
    path = write(_text(spec))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == path + message
    result = runner.invoke(app, ["stage", path])
    assert result.exit_code == 2, what
    assert result.stderr.strip() == f"qcalc: error: {path}{message}"
    assert "Traceback" not in result.output


def test_missing_and_binary_files(write, runner):
    result = runner.invoke(app, ["stage", "no/such.yaml"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "qcalc: error: no/such.yaml: no such file"
    path = write(b"\xff\xfe\x00bad")
    result = runner.invoke(app, ["stage", path])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"qcalc: error: {path}: is not UTF-8 text (byte 0); expected a YAML text file"
    )


def test_alias_bomb_is_refused_quickly(write):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    path = write("\n".join(lines) + "\n")
    start = time.perf_counter()
    with pytest.raises(ScenarioError, match="alias bomb"):
        load_scenario(path)
    assert time.perf_counter() - start < 30.0  # hang guard: the expansion count is bounded


def test_deep_nesting_is_refused(write):
    path = write("qcalc: " + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(ScenarioError, match="nesting deeper than 64 levels"):
        load_scenario(path)


def test_oversized_file_is_refused(write):
    path = write("# " + "x" * (10 * 1024 * 1024) + "\n")
    with pytest.raises(ScenarioError, match="larger than 10 MB"):
        load_scenario(path)


def test_merge_keys_are_refused(write):
    path = write("base: &b {qcalc: 1}\nother:\n  <<: *b\n")
    with pytest.raises(ScenarioError, match="merge keys"):
        load_scenario(path)
