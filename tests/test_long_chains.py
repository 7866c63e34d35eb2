"""Issue 14, item 6: long chains in linear time, with finite numbers and words.

A route of 10⁴ hops repeats a few kinds of hop; qcalc computes each kind once (budget,
key optimisation, heralded link) and puts each hop's names into the shared result. These
tests check that what a hop of a long chain gets is what it gets alone, computed afresh
(:func:`qcalc.network.forget_shared_results`) or hop by hop through the model functions,
that long chains give finite numbers, and that a time with no rate behind it reads
"never, at this rate", not "inf". No wall-clock assertions: bench/bench_long_chains.py
measures the times.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qcalc.demands import DemandResult, evaluate_demand, prepare_measure_rates
from qcalc.levers import next_stage_levers
from qcalc.linkbudget import link_budget
from qcalc.network import forget_shared_results, parameter_key
from qcalc.report import scenario_dict
from qcalc.scenario import Scenario, parse_scenario
from qcalc.stage import NEVER, evaluate_stages, heralding_text

#: Hops of the long chains (the issue's reproducer: a 10⁴-segment chain). [hops]
LONG = 10_000
#: Relative tolerance of "the same number" where the arithmetic differs only in the order
#: of a sum (a route's total length split into N hops). [unitless]
SUM_ORDER_RTOL = 1e-9

TRUSTED = """\
qcalc: 1
name: trusted chain
hardware:
  detectors:
    ingaas: {{efficiency: 0.2, dark_count_probability: 1.0e-6}}
  sources:
    wcp: {{kind: weak_coherent, repetition_rate_hz: 1.0e9, decoy_photon_numbers: [0.1, 0.0]}}
defaults:
  source: wcp
  detector: ingaas
  attenuation_db_per_km: 0.2
  misalignment_error: 0.01
nodes:
{nodes}links:
{links}demands:
  - {{name: d, ends: [n0, n{last}], application: qkd{expect}}}
"""

REPEATER = """\
qcalc: 1
name: repeater chain
hardware:
  memories:
    m: {{qubits: 1000, coherence_time_s: 1.0, efficiency: 0.9}}
defaults:
  memory: m
  attenuation_db_per_km: 0.2
  misalignment_error: 0.005
  memory_modes: 10
nodes:
{nodes}links:
{links}demands:
  - {{name: d, ends: [n0, n{last}], application: entanglement}}
"""


def chain(template: str, lengths_km: list[float], role: str, expect: str = "") -> str:
    """A chain n0 – n1 – … with one hop per length; the nodes in between play ``role``."""
    last = len(lengths_km)
    nodes = "".join(
        f"  n{i}: {{role: {'end' if i in (0, last) else role}}}\n" for i in range(last + 1)
    )
    links = "".join(
        f"  - {{ends: [n{i}, n{i + 1}], length_km: {km}}}\n" for i, km in enumerate(lengths_km)
    )
    return template.format(nodes=nodes, links=links, last=last, expect=expect)


def evaluated(text: str) -> tuple[Scenario, DemandResult]:
    scenario = parse_scenario(text, "<chain>")
    return scenario, evaluate_demand(scenario, scenario.demands[0])


def alone(text: str) -> DemandResult:
    """The result computed afresh: nothing shared from an earlier evaluation."""
    forget_shared_results()
    return evaluated(text)[1]


def assert_finite_json(scenario: Scenario, result: DemandResult) -> dict[str, Any]:
    """The JSON has no NaN or infinity, and no reason says "unbounded" or "inf"."""
    data: dict[str, Any] = json.loads(
        json.dumps(scenario_dict(scenario, [result]), allow_nan=False)
    )
    for verdict in data["demands"][0]["stages"]:
        assert "unbounded" not in verdict["reason"] and " inf " not in verdict["reason"]
    return data


@pytest.fixture(scope="module")
def long_trusted() -> tuple[Scenario, DemandResult]:
    return evaluated(chain(TRUSTED, [1.0] * LONG, "trusted_relay"))


def test_a_long_uniform_trusted_chain_keys_every_hop_as_one_hop(
    long_trusted: tuple[Scenario, DemandResult],
) -> None:
    scenario, result = long_trusted
    single = alone(chain(TRUSTED, [1.0], "trusted_relay"))
    key = single.hop_rates[0].key_rate_bps  # type: ignore[union-attr]
    assert float(key) > 0
    assert len(result.hop_rates) == LONG
    for i, rate in enumerate(result.hop_rates):
        assert rate is not None and rate.key_rate_bps == key, i
        assert rate.protocol == single.hop_rates[0].protocol  # type: ignore[union-attr]
        assert rate.scope == f"hop n{i}→n{i + 1}"
    # The bottleneck is the first of equal hops, and the chain's key is its key.
    assert result.limiting_hop == 0
    assert result.key_rate_bps == key and result.key_scope == "trusted chain"
    assert int(result.stage) == 1
    data = assert_finite_json(scenario, result)
    hops = data["demands"][0]["hops"]
    assert len(hops) == LONG and hops[-1]["from"] == f"n{LONG - 1}" and hops[-1]["to"] == f"n{LONG}"
    # Each hop's derivation names its own hop.
    titles = [t for s in result.steps if (t := s.title).startswith("decoy") and ", hop n" in t]
    assert len(titles) == LONG and titles[123].endswith("hop n123→n124")


def test_a_long_chain_of_a_repeating_pattern_keys_each_hop_as_the_short_chain() -> None:
    pattern = [1.0, 5.0, 20.0]
    short = alone(chain(TRUSTED, pattern, "trusted_relay"))
    hops = 3_000
    _, result = evaluated(chain(TRUSTED, pattern * (hops // 3), "trusted_relay"))
    keys = [r.key_rate_bps for r in short.hop_rates]  # type: ignore[union-attr]
    assert keys[0] > keys[1] > keys[2] > 0
    for i, rate in enumerate(result.hop_rates):
        assert rate is not None and rate.key_rate_bps == keys[i % 3], i
    # The 20 km hops are the bottleneck; the first of them limits the chain.
    assert result.limiting_hop == 2
    assert result.key_rate_bps == keys[2]


def test_a_long_repeater_chain_has_the_one_segment_links_and_finite_numbers() -> None:
    segments = 3_000
    scenario, result = evaluated(chain(REPEATER, [2.0] * segments, "repeater"))
    one = alone(chain(REPEATER, [2.0], "repeater")).entanglement
    delivery = result.entanglement
    assert delivery is not None and delivery.delivers
    assert len(delivery.segments) == segments
    for i, segment in enumerate(delivery.segments):
        assert segment.ends == (f"n{i}", f"n{i + 1}")
        for name in ("success_probability", "attempt_time_s", "fidelity"):
            assert getattr(segment, name) == getattr(one.segments[0], name), (i, name)
    assert len(delivery.notes) == len(set(delivery.notes))  # one note for what links share
    for value in (delivery.raw_rate_hz, delivery.fidelity, delivery.heralding_time_s):
        assert np.all(np.isfinite(value))
    assert_finite_json(scenario, result)
    assert "end-to-end heralding time" in result.stages[3].reason


def test_a_time_with_no_rate_behind_it_reads_never() -> None:
    scenario, result = evaluated(chain(REPEATER, [2.0, 2.0], "repeater"))
    delivery = result.entanglement
    assert delivery is not None and delivery.delivers
    finite = result.stages[3].reason
    assert NEVER not in finite and "heralding time" in finite
    # No pair in the lifetime of the universe: 1/rate overflows to infinity.
    delivery.heralding_time_s = np.asarray(np.inf)
    evaluate_stages(scenario, result)
    reason = result.stages[3].reason
    assert f"end-to-end heralding time {NEVER}" in reason
    assert "inf" not in reason.replace("infinite", "") and "unbounded" not in reason
    assert not np.any(result.stages[3].met)


@pytest.mark.parametrize(
    ("time_s", "text"),
    [
        (0.0021, "2.1 ms"),
        (np.inf, NEVER),
        (np.array([np.inf, np.inf]), NEVER),
        (np.array([1.0, np.inf, 3.0]), f"1…3 s ({NEVER} at 1 of 3 points)"),
    ],
)
def test_heralding_text(time_s: Any, text: str) -> None:
    assert heralding_text(time_s) == text


def test_levers_of_a_long_uniform_chain_are_those_of_its_hop() -> None:
    hops = 1_000
    expect = ", expect: {key_rate_bps: '>= 1e9'}"
    scenario, result = evaluated(chain(TRUSTED, [1.0] * hops, "trusted_relay", expect))
    lone_scenario, lone = evaluated(chain(TRUSTED, [1.0], "trusted_relay", expect))
    many = next_stage_levers(scenario, result, most=20)
    one = next_stage_levers(lone_scenario, lone, most=20)
    assert many is not None and one is not None and many.levers
    by_field = {lever.field: lever for lever in one.levers}
    assert [lever.field for lever in many.levers] == list(by_field)
    for lever in many.levers:
        other = by_field[lever.field]
        if lever.field == "route length_km":  # the route is `hops` times longer
            assert lever.now == pytest.approx(hops * other.now, rel=SUM_ORDER_RTOL)
            assert lever.needs == pytest.approx(hops * other.needs, rel=SUM_ORDER_RTOL)
        else:
            assert (lever.now, lever.needs) == (other.now, other.needs), lever.field


@settings(max_examples=25, deadline=None)
@given(
    lengths=st.lists(st.sampled_from([0.0, 1.0, 7.5, 40.0]), min_size=2, max_size=6),
    efficiencies=st.lists(st.sampled_from([0.2, 0.5]), min_size=7, max_size=7),
    rates_hz=st.lists(st.sampled_from([1.0e8, 1.0e9]), min_size=7, max_size=7),
)
def test_every_hop_gets_what_it_computes_alone(
    lengths: list[float], efficiencies: list[float], rates_hz: list[float]
) -> None:
    """Sharing never changes a number: each hop's budget and key are those the model
    functions give that hop alone (hops of equal kind, of unequal kind, in any order,
    with the devices at their ends alike or not)."""
    scenario = parse_scenario(chain(TRUSTED, lengths, "trusted_relay"), "<chain>")
    nodes = dict(scenario.nodes)
    for i, name in enumerate(sorted(nodes, key=lambda n: int(n[1:]))):
        detector, source = nodes[name].detector, nodes[name].source
        assert detector is not None and source is not None
        nodes[name] = replace(
            nodes[name],
            detector=replace(detector, efficiency=efficiencies[i]),
            source=replace(source, repetition_rate_hz=rates_hz[i]),
        )
    scenario = replace(scenario, nodes=nodes)
    result = evaluate_demand(scenario, scenario.demands[0])
    for budget, rate in zip(result.hops, result.hop_rates, strict=True):
        direct = link_budget(budget.link, scenario, sender=budget.sender)
        assert budget.steps == direct.steps and budget.terms[0].name == direct.terms[0].name
        assert float(budget.loss_db) == float(direct.loss_db)
        rates, _ = prepare_measure_rates(
            scenario.nodes[direct.sender].source,
            scenario.nodes[direct.receiver].detector,
            direct.transmittance,
            direct.channel_transmittance,
            direct.link.misalignment_error,
            result.demand,
            f"hop {direct.sender}→{direct.receiver}",
            None,
            direct.background_yield,
        )
        best = max(rates, key=lambda r: float(np.max(r.key_rate_bps)))
        assert rate is not None
        assert (rate.protocol, rate.scope) == (best.protocol, best.scope)
        assert rate.key_rate_bps == best.key_rate_bps
        assert rate.mean_photon_number == best.mean_photon_number


def test_parameter_keys_tell_apart_what_computes_differently() -> None:
    """Equal keys only for equal values of equal types: 1, 1.0 and True differ, so do 0.0
    and −0.0, and arrays of other shape or dtype; names can be left out."""
    distinct = [1, 1.0, True, 0.0, -0.0, np.float64(1.0), np.array(1.0), np.array([1.0])]
    distinct += [np.array([1]), (1.0,), [1.0], "1", None]
    keys = [parameter_key(v) for v in distinct]
    assert len(set(keys)) == len(keys)
    scenario = parse_scenario(chain(TRUSTED, [1.0, 1.0, 2.0], "trusted_relay"), "<chain>")
    first, second, third = scenario.links
    assert parameter_key(first) != parameter_key(second)
    assert parameter_key(first, ("name", "ends")) == parameter_key(second, ("name", "ends"))
    assert parameter_key(first, ("name", "ends")) != parameter_key(third, ("name", "ends"))
    with pytest.raises(TypeError):
        parameter_key(object())


def test_hopeless_chains_give_zero_with_the_reason_not_an_internal_error():
    # A 15,200 km segment (p ≈ 1e-300 per attempt) and a sweep point whose swap never
    # succeeds once crashed the exact chain statistics; both are rate 0 with the reason.
    from qcalc.demands import evaluate_scenario
    from qcalc.scenario import parse_scenario

    text = """\
qcalc: 1
hardware: {memories: {m: {qubits: 2, coherence_time_s: 1.0e9, efficiency: 1.0}}}
defaults: {memory: m}
nodes:
  a: {}
  r: {role: repeater, bsm_success_probability: BSM}
  b: {}
links:
  - {ends: [a, r], length_km: LENGTH}
  - {ends: [r, b], length_km: 10}
demands:
  - {ends: [a, b], application: entanglement}
"""
    far = evaluate_scenario(parse_scenario(text.replace("LENGTH", "15200").replace("BSM", "1")))
    assert float(far[0].pair_rate_hz) == 0.0
    assert any("never delivers a pair" in n for n in far[0].notes)
    dead = evaluate_scenario(parse_scenario(text.replace("LENGTH", "10").replace("BSM", "0")))
    assert float(dead[0].pair_rate_hz) == 0.0
