"""Cases a review found: orientation, mixed segments, distillation without memories,
trusted ends in the middle, and inputs that must be refused with a located message."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import MINIMAL, SCENARIOS

from qcalc.cli import app
from qcalc.demands import evaluate_scenario
from qcalc.errors import ScenarioError
from qcalc.scenario import parse_scenario


def _stage_json(runner, path):
    result = runner.invoke(app, ["stage", path, "-f", "json"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)["demands"][0]


def test_a_demand_written_backwards_gives_the_same_key(runner, write):
    forward = _stage_json(runner, str(SCENARIOS / "metro-fibre.yaml"))
    text = (SCENARIOS / "metro-fibre.yaml").read_text(encoding="utf-8")
    head, tail = text.split("demands:")
    backward = _stage_json(
        runner, write(head + "demands:" + tail.replace("ends: [alice, bob]", "ends: [bob, alice]"))
    )
    assert backward["stage"] == forward["stage"] == 2
    assert backward["key_rate_bps"] == pytest.approx(forward["key_rate_bps"], rel=1e-12)


def test_mixed_segments_run_on_the_slowest_clock():
    # A measured 100 Hz link beside a heralded one with a slower clock τ: per tick the
    # measured link succeeds with 1 − e^{−100 τ}, and with swaps certain the chain waits
    # for the later of two independent geometric times,
    # E[max(N1, N2)] = 1/p1 + 1/p2 − 1/(p1 + p2 − p1 p2) ticks.
    text = """\
qcalc: 1
hardware: {memories: {m: {qubits: 11, coherence_time_s: 10, efficiency: 0.9}}}
nodes:
  a: {memory: m}
  r: {role: repeater, memory: m, bsm_success_probability: 1.0}
  b: {memory: m}
links:
  - {ends: [a, r], length_km: 20, elementary_pair_rate_hz: 100, elementary_fidelity: 0.95}
  - {ends: [r, b], length_km: 20, memory_modes: 10}
demands:
  - {ends: [a, b], application: entanglement}
"""
    r = evaluate_scenario(parse_scenario(text))[0]
    heralded = r.entanglement.segments[1]
    tau = float(heralded.attempt_time_s)
    p1, p2 = -np.expm1(-100 * tau), float(heralded.success_probability)
    ticks = 1 / p1 + 1 / p2 - 1 / (p1 + p2 - p1 * p2)
    # rel 1e-6: the measured link attempts with p = 1e-6 per 1e-8 s, so per tick it
    # succeeds with 1 − (1 − 1e-6)^(τ/1e-8), not quite 1 − e^{−100 τ}.
    assert r.pair_rate_hz == pytest.approx(1 / (ticks * tau), rel=1e-6)
    assert any("slowest clock" in n for n in r.notes)


def test_no_distillation_without_memories():
    text = """\
qcalc: 1
hardware:
  sources: {spdc: {kind: entangled_pair, mean_pairs_per_pulse: 0.01, repetition_rate_hz: 1.0e8}}
  detectors: {d: {efficiency: 0.5, dark_count_probability: 1.0e-7}}
nodes:
  a: {detector: d}
  s: {role: untrusted_relay, source: spdc}
  b: {detector: d}
links:
  - {ends: [a, s], length_km: 10}
  - {ends: [s, b], length_km: 10}
demands:
  - {ends: [a, b], application: entanglement, distillation: {protocol: dejmps, rounds: 2}}
"""
    r = evaluate_scenario(parse_scenario(text))[0]
    assert np.all(r.entanglement.pairs_per_output == 1.0)
    assert any("distillation needs memories at both ends" in n for n in r.notes)


def test_an_end_node_in_the_middle_is_trusted_for_both_stages():
    text = MINIMAL.replace(
        "  bob: {detector: {efficiency: 0.5}}",
        "  carol: {source: {kind: weak_coherent, repetition_rate_hz: 1.0e9},"
        " detector: {efficiency: 0.5}}\n  bob: {detector: {efficiency: 0.5}}",
    )
    text = text.replace(
        "  - {ends: [alice, bob], length_km: 10}",
        "  - {ends: [alice, carol], length_km: 10}\n  - {ends: [carol, bob], length_km: 10}",
    )
    r = evaluate_scenario(parse_scenario(text))[0]
    assert r.path == ("alice", "carol", "bob")
    stages = {v.stage: v for v in r.stages}
    assert stages[1].met and not stages[2].met
    assert "trusted relay carol" in stages[2].reason
    assert r.key_scope == "trusted chain"


def test_higher_stage_reasons_say_the_lower_stage_failed():
    text = """\
qcalc: 1
hardware: {memories: {m: {coherence_time_s: 10, efficiency: 0.9}}}
defaults: {memory: m, misalignment_error: 0.2}
nodes: {a: {}, b: {}}
links: [{ends: [a, b], length_km: 5}]
demands: [{ends: [a, b], application: entanglement}]
"""
    r = evaluate_scenario(parse_scenario(text))[0]
    stages = {v.stage: v for v in r.stages}
    assert not stages[3].met
    assert stages[4].reason.startswith("needs stage 3 first; ")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "length_km: 10",
            "length_km: " + "9" * 400,
            "links[0].length_km: is a 400-digit integer; expected a number ≥ 0",
        ),
        (
            "repetition_rate_hz: 1.0e9}",
            "repetition_rate_hz: 1.0e9, mean_photon_number: 0.05, "
            "decoy_photon_numbers: [0.1, 0.0]}",
            "nodes.alice.source.mean_photon_number: is 0.05, not above the decoy intensity 0.1",
        ),
    ],
)
def test_refused_inputs(write, old, new, message):
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse_scenario(MINIMAL.replace(old, new))


SAT = """\
qcalc: 1
hardware:
  sources: {s: {kind: weak_coherent, repetition_rate_hz: 1.0e8, wavelength_nm: 850}}
  detectors: {d: {efficiency: 0.5}}
defaults: {min_elevation_deg: 20}
nodes:
  sat: {source: s, orbit: {altitude_km: 500}}
  g: {detector: d}
links:
  - {ends: [sat, g], channel: satellite, elevation_deg: 45, divergence_urad: 10,
     rx_aperture_m: 1, zenith_transmittance: 0.8EXTRA}
demands:
  - {ends: [sat, g]}
"""


def test_a_links_own_elevation_wins_over_a_default_pass():
    s = parse_scenario(SAT.replace("EXTRA", ""))
    assert s.links[0].elevation_deg == 45 and s.links[0].min_elevation_deg is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (", length_km: 900", "links[0].length_km: does not apply to a satellite link"),
        (", cn2_m_minus_2_3: 1.0e-15", "give fried_parameter_m, the zenith r0"),
    ],
)
def test_satellite_links_refuse_keys_that_do_not_apply(extra, message):
    import re

    with pytest.raises(ScenarioError, match=re.escape(message)):
        parse_scenario(SAT.replace("EXTRA", extra))


def test_missing_wavelength_is_a_validation_error(runner, write):
    text = SAT.replace("EXTRA", "").replace(", wavelength_nm: 850", "")
    result = runner.invoke(app, ["validate", write(text)])
    assert result.exit_code == 2
    assert "links[0]: a satellite link needs wavelength_nm" in result.stderr


def test_extra_losses_count_on_optical_links(runner, write):
    text = SAT.replace("EXTRA", ", extra_loss_db: 3")
    link = json.loads(runner.invoke(app, ["links", write(text), "-f", "json"]).stdout)["links"][0]
    assert link["terms_db"]["extra losses"] == pytest.approx(3.0)
    assert sum(link["terms_db"].values()) == pytest.approx(link["loss_db"])


def test_every_demand_reports_expect(runner, write):
    demand = _stage_json(runner, write(MINIMAL))
    assert demand["expect"] == {"passed": True, "checks": []}
