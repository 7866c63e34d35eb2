"""Uncertain inputs: distributions in numeric fields, draws evaluated at once, percentiles,
stage and expect probabilities, Sobol' indices and levers under uncertainty."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qcalc import uncertainty
from qcalc.cli import app
from qcalc.distributions import Bounds, Distribution
from qcalc.errors import ScenarioError, UsageError
from qcalc.scenario import load_scenario

FIBRE = """\
qcalc: 1
name: uncertain metro fibre
hardware:
  detectors:
    snspd: {{efficiency: 0.85, dark_count_rate_hz: 100, gate_window_ns: 1}}
  sources:
    wcp: {{kind: weak_coherent, repetition_rate_hz: 1.0e9, decoy_photon_numbers: [0.1, 0.0]}}
nodes:
  alice: {{role: end, source: wcp}}
  bob: {{role: end, detector: snspd}}
links:
  - name: alice-bob
    ends: [alice, bob]
    length_km: {length}
    attenuation_db_per_km: 0.2
    extra_loss_db: {extra}
demands:
  - name: key
    ends: [alice, bob]
    expect: {expect}
"""


def fibre(length="{uniform: {low: 40, high: 60}}", extra="1.0", expect='{stage: ">= 2"}'):
    return FIBRE.format(length=length, extra=extra, expect=expect)


def invoke(runner, *args):
    result = runner.invoke(app, [str(a) for a in args])
    return result


# ----------------------------------------------------------------------------- distributions


def test_quantiles_match_independent_references():
    # The standard library's NormalDist (an independent inverse CDF), and the closed forms
    # of the uniform and the triangular (Evans, Hastings, Peacock 2000, ch. 40).
    from statistics import NormalDist

    u = np.linspace(0.01, 0.99, 99)
    normal = Distribution("normal", {"mean": 3.0, "sd": 0.5})
    np.testing.assert_allclose(
        normal.quantile(u), [NormalDist(3.0, 0.5).inv_cdf(x) for x in u], rtol=1e-12
    )
    lognormal = Distribution("lognormal", {"median": 2.0, "factor": 3.0})
    expected = [2.0 * math.exp(math.log(3.0) * NormalDist().inv_cdf(x)) for x in u]
    np.testing.assert_allclose(lognormal.quantile(u), expected, rtol=1e-12)
    # ×/÷ factor at one standard deviation: P84.13 = median × factor
    assert lognormal.quantile(np.array([NormalDist().cdf(1.0)]))[0] == pytest.approx(6.0)
    uniform = Distribution("uniform", {"low": 1.0, "high": 4.0})
    np.testing.assert_allclose(uniform.quantile(u), 1.0 + 3.0 * u, rtol=1e-15)
    # triangular(a=1, c=1.5, b=4): c ≤ (a+b)/2, so the median is b − √((b−a)(b−c)/2)
    triangular = Distribution("triangular", {"low": 1.0, "mode": 1.5, "high": 4.0})
    assert triangular.median == pytest.approx(4.0 - math.sqrt(3.0 * 2.5 / 2.0), rel=1e-12)
    assert triangular.quantile(np.array([1 / 6]))[0] == pytest.approx(1.5, rel=1e-12)


def test_choice_is_the_empirical_quantile():
    dist = Distribution("choice", {"values": (1.0, 2.0, 5.0, 10.0)})
    np.testing.assert_array_equal(
        dist.quantile(np.array([0.1, 0.25, 0.26, 0.5, 0.51, 0.99])), [1, 1, 2, 2, 5, 10]
    )
    assert dist.median == 2.0


def test_truncation_renormalises_and_reports_the_mass_removed():
    # normal(0.1, 0.1) on [0, 1]: Φ(−1) + (1 − Φ(9)) = 0.158655 of the mass lies outside.
    dist = Distribution("normal", {"mean": 0.1, "sd": 0.1}, bounds=Bounds(0.0, 1.0))
    assert dist.truncated_fraction == pytest.approx(0.1586553, rel=1e-6)
    x = dist.quantile(np.linspace(0, 1, 1001))
    assert x.min() >= 0.0 and x.max() <= 1.0
    # the truncated median: F(x) = Φ(−1) + 0.5 (1 − 0.158655) → x = 0.1 + 0.1 Φ⁻¹(0.579327)
    assert dist.median == pytest.approx(0.1 + 0.1 * 0.2006, abs=2e-4)


def test_exclusive_minimum_and_integers():
    dist = Distribution("normal", {"mean": 0.0001, "sd": 1.0}, bounds=Bounds(0.0, None, True))
    assert dist.quantile(np.array([1e-9])).min() > 0.0
    whole = Distribution(
        "uniform", {"low": 1.0, "high": 10.0}, bounds=Bounds(1.0, None, False, True)
    )
    values = whole.quantile(np.linspace(0.0, 1.0, 50))
    np.testing.assert_array_equal(values, np.round(values))


@settings(max_examples=40, deadline=None)
@given(
    mean=st.floats(0.0, 1.0),
    sd=st.floats(0.0, 5.0),
    u=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=20),
)
def test_truncated_draws_stay_in_range_and_are_monotone(mean, sd, u):
    dist = Distribution("normal", {"mean": mean, "sd": sd}, bounds=Bounds(0.0, 1.0))
    if dist.truncated_fraction >= 1 - 1e-12:
        return
    uu = np.sort(np.asarray(u))
    x = dist.quantile(uu)
    assert np.all((x >= 0.0) & (x <= 1.0))
    assert np.all(np.diff(x) >= 0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50))
def test_summary_is_ordered_and_bounded(values):
    s = uncertainty.summary(np.asarray(values))
    p = s["percentiles"]
    assert min(values) <= p["p5"] <= p["p50"] <= p["p95"] <= max(values)
    assert min(values) - 1e-6 <= s["mean"] <= max(values) + 1e-6
    assert p["p50"] in values  # an order statistic: a value some draw gave


# ----------------------------------------------------------------------------- reading


@pytest.mark.parametrize(
    ("value", "where", "says"),
    [
        ("{normal: {mean: 50, sd: -1}}", "length_km.normal.sd", "standard deviation ≥ 0"),
        ("{normal: {mean: 50, sdev: 1}}", "length_km.normal.sdev", "did you mean 'sd'"),
        ("{uniform: {low: 60, high: 40}}", "length_km.uniform", "low ≤ high"),
        ("{uniform: {low: -5, high: 40}}", "length_km.uniform.low", "physical range"),
        ("{lognormal: {median: 50, factor: 0.5}}", "length_km.lognormal.factor", "factor ≥ 1"),
        ("{choice: [10, -1]}", "length_km.choice[1]", "physical range"),
        ("{normall: {mean: 50, sd: 1}}", "length_km.normall", "did you mean 'normal'"),
        ("{normal: {mean: 50, sd: 1}, uniform: {low: 1, high: 2}}", "length_km", "exactly one"),
        ("{normal: {mean: 50, sd: 1}, group: 3}", "length_km.group", "group name"),
        ("{triangular: {low: 1, mode: 5, high: 4}}", "length_km.triangular", "low ≤ mode ≤ high"),
    ],
)
def test_bad_distributions_are_refused_with_their_place(runner, write, value, where, says):
    path = write(fibre(length=value))
    result = invoke(runner, "validate", path)
    assert result.exit_code == 2
    assert f"{path}:14:" in result.output and where in result.output
    assert says in result.output and "Traceback" not in result.output


def test_probability_in_expect_is_checked(write):
    with pytest.raises(ScenarioError, match=r"probability in \[0, 1\]"):
        load_scenario(write(fibre(expect='{stage: ">= 2", probability: ">= 1.5"}')))
    with pytest.raises(ScenarioError, match="only entry"):
        load_scenario(write(fibre(expect='{probability: ">= 0.5"}')))
    scenario = load_scenario(write(fibre(expect='{stage: ">= 2", probability: ">= 0.9"}')))
    demand = scenario.demands[0]
    assert [c.field for c in demand.expect] == ["stage"]
    assert demand.expect_probability is not None and demand.expect_probability.want == 0.9


def test_without_samples_the_medians_are_evaluated_and_said(runner, write):
    uncertain = invoke(runner, "stage", write(fibre(), "u.yaml"), "-f", "json")
    fixed = invoke(runner, "stage", write(fibre(length="50"), "f.yaml"), "-f", "json")
    a, b = json.loads(uncertain.stdout)["demands"][0], json.loads(fixed.stdout)["demands"][0]
    assert a["key_rate_bps"] == b["key_rate_bps"]
    assert any("evaluated at the median" in n for n in a["notes"])


def test_samples_need_a_distribution_and_sound_options(runner, write):
    fixed = write(fibre(length="50"), "f.yaml")
    result = invoke(runner, "stage", fixed, "--samples", 100)
    assert result.exit_code == 2 and "no field holds a distribution" in result.output
    path = write(fibre())
    result = invoke(runner, "stage", path, "--samples", 100, "--sampler", "sobol")
    assert result.exit_code == 2 and "powers of two" in result.output
    result = invoke(runner, "stage", path, "--samples", 100, "--sampler", "lhd")
    assert result.exit_code == 2 and "did you mean 'lhs'" in result.output
    result = invoke(runner, "stage", path, "--sensitivity")
    assert result.exit_code == 2 and "need --samples" in result.output
    result = invoke(runner, "stage", path, "--samples", 100, "--levers")
    assert result.exit_code == 2


def test_draws_over_a_whole_satellite_pass_are_refused_plainly(runner, write):
    """A demand over a whole pass has numbers per time step, which draws cannot be
    combined with (an internal error before): a usage error that says what to do."""
    from pathlib import Path

    bundled = Path(__file__).resolve().parent.parent / "scenarios" / "micius-2017-qkd-downlink.yaml"
    text = bundled.read_text(encoding="utf-8").replace(
        "mean_photon_number: 0.8,", "mean_photon_number: {uniform: {low: 0.5, high: 0.9}},"
    )
    assert "uniform" in text
    result = invoke(runner, "rate", write(text), "--samples", 8)
    assert result.exit_code == 2, result.output
    assert "whole-pass satellite link 'downlink'" in result.output
    assert "give it elevation_deg" in result.output


# ----------------------------------------------------------------------------- the draws


def test_percentiles_of_a_monotone_metric_are_the_metric_at_the_input_quantiles(write):
    # Key falls with length: P5 of key is the key at P95 of length, P50 at P50, P95 at P5.
    path = write(fibre())
    sampled = uncertainty.run(path, 1001, seed=3, sampler="mc")
    lengths = sampled.values[0]
    key = uncertainty.summary(sampled.columns[0]["key_rate_bps"])["percentiles"]
    at = uncertainty.summary(lengths)["percentiles"]
    for key_q, length_q in (("p5", "p95"), ("p50", "p50"), ("p95", "p5")):
        scenario = load_scenario(write(fibre(length=repr(at[length_q])), "at.yaml"))
        from qcalc.demands import evaluate_scenario

        expected = float(evaluate_scenario(scenario)[0].key_rate_bps)
        assert key[key_q] == pytest.approx(expected, rel=1e-9)
    # and the length draws follow the uniform law
    assert at["p5"] == pytest.approx(41.0, abs=0.5) and at["p95"] == pytest.approx(59.0, abs=0.5)


def test_fixed_distributions_give_the_deterministic_answer_exactly(runner, write):
    fixed = json.loads(
        invoke(runner, "stage", write(fibre(length="50"), "f.yaml"), "-f", "json").stdout
    )
    for length in (
        "{uniform: {low: 50, high: 50}}",
        "{normal: {mean: 50, sd: 0}}",
        "{lognormal: {median: 50, factor: 1}}",
        "{choice: [50, 50]}",
    ):
        path = write(fibre(length=length), "u.yaml")
        data = json.loads(invoke(runner, "stage", path, "--samples", 50, "-f", "json").stdout)
        got, want = data["demands"][0], fixed["demands"][0]
        for metric in ("key_rate_bps", "pair_rate_hz", "fidelity", "channel_loss_db", "stage"):
            block = got["uncertainty"]["metrics"][metric]
            assert block["mean"] == want[metric]
            assert set(block["percentiles"].values()) == {want[metric]}
        # nothing is uncertain: every stage is met with probability 0 or 1, as it is met
        for stage, reference in zip(got["stages"], want["stages"], strict=True):
            assert stage["probability"] == (1.0 if reference["met"] else 0.0)
        assert got["expect"]["checks"][0]["probability"] == 1.0


def test_stage_probabilities_and_expect_probability(runner, write):
    # 40-60 km: key 5.3 to 12 Mbit/s (P5 to P95), above 8 Mbit/s about half the time.
    expect = '{key_rate_bps: ">= 8e6", probability: ">= 0.9"}'
    path = write(fibre(expect=expect))
    result = invoke(runner, "stage", path, "--samples", 200, "-f", "json")
    demand = json.loads(result.stdout)["demands"][0]
    chance = demand["expect"]["probability"]
    assert 0.0 < chance["got"] < 0.9 and not chance["passed"]
    assert result.exit_code == 1
    assert demand["uncertainty"]["stage_probabilities"]["2"] == 1.0
    easy = write(fibre(expect='{key_rate_bps: ">= 8e6", probability: ">= 0.05"}'), "easy.yaml")
    assert invoke(runner, "stage", easy, "--samples", 200).exit_code == 0
    # no --samples: a probability is still judged, over the default draws, and said so
    auto = invoke(runner, "stage", path, "-f", "json")
    assert auto.exit_code == 1
    notes = json.loads(auto.stdout)["demands"][0]["notes"]
    assert any("asks for a probability" in n for n in notes)
    # qcalc batch, as CI runs it, gates on the same probability
    batch = invoke(runner, "batch", path, easy, "-f", "json")
    assert batch.exit_code == 1
    files = json.loads(batch.stdout)["scenarios"]
    verdicts = [f["demands"][0]["expect"]["probability"]["passed"] for f in files]
    assert verdicts == [False, True]


def test_the_draws_are_evaluated_at_once_and_chunks_agree(write):
    path = write(fibre(extra="{triangular: {low: 0, mode: 1, high: 3}}"))
    from qcalc._yaml import read_file

    doc = read_file(path)
    _, inputs = uncertainty.find_uncertain(doc)
    doc = read_file(path)
    u = uncertainty.uniforms(64, 2, "lhs", 7)
    values = uncertainty.values_from(inputs, u)
    _, whole = uncertainty.evaluate_values(doc, inputs, values)
    parts = [
        uncertainty.evaluate_values(doc, inputs, [v[a:b] for v in values])[1][0]
        for a, b in ((0, 20), (20, 64))
    ]
    np.testing.assert_array_equal(
        whole[0].key_rate_bps, np.concatenate([p.key_rate_bps for p in parts])
    )


def test_same_seed_same_output(runner, write):
    # The draws are evaluated in one pass, never split, so nothing but the seed decides them.
    path = write(fibre(extra="{uniform: {low: 0, high: 2}}"))
    args = ("stage", path, "--samples", 64, "--seed", 5, "-f", "json")
    assert invoke(runner, *args).stdout == invoke(runner, *args).stdout
    other = uncertainty.run(path, 64, seed=6)
    again = uncertainty.run(path, 64, seed=5)
    assert not np.array_equal(other.values[0], again.values[0])
    # numpy keeps the PCG64 stream fixed across versions and machines: seed 0's first
    # draws, as numpy has given them since 1.17
    np.testing.assert_allclose(
        uncertainty.uniforms(2, 1, "mc", 0)[:, 0], [0.6369616873214543, 0.2697867137638703]
    )


def test_groups_share_one_draw(write):
    text = fibre(
        length="{uniform: {low: 40, high: 60}, group: route}",
        extra="{uniform: {low: 0, high: 2}, group: route}",
    )
    sampled = uncertainty.run(write(text), 100, seed=1, sampler="mc")
    length, extra = sampled.values
    np.testing.assert_allclose((length - 40) / 20, extra / 2, rtol=1e-12)
    assert uncertainty.factor_names(sampled.inputs) == ["group route"]


# ----------------------------------------------------------------------------- Sobol'


def _indices(f, k, n=4096, seed=0):
    u = uncertainty.uniforms(n, 2 * k, "sobol", seed)
    return {
        s.input: s
        for s in uncertainty.sobol_indices(
            f(uncertainty.saltelli_design(u)), [f"x{i}" for i in range(k)], seed
        )
    }


def test_sobol_indices_of_an_additive_function_match_the_closed_form():
    # f = Σ a_i x_i, x_i ~ U(0, 1): S_i = S_Ti = a_i² / Σ a_j².
    a = np.array([1.0, 2.0, 3.0])
    found = _indices(lambda x: x @ a, 3)
    for i, ai in enumerate(a):
        s = found[f"x{i}"]
        exact = ai**2 / np.sum(a**2)
        assert s.first_order == pytest.approx(exact, abs=0.02)
        assert s.total == pytest.approx(exact, abs=0.02)
        assert s.total_ci[0] <= exact + 0.02 and s.total_ci[1] >= exact - 0.02


def test_sobol_indices_of_the_ishigami_function():
    # Ishigami & Homma (1990), a = 7, b = 0.1, x ~ U(−π, π): S = 0.3139, 0.4424, 0;
    # S_T = 0.5576, 0.4424, 0.2437 (Saltelli et al., Global Sensitivity Analysis, 2008).
    def f(u):
        x = -np.pi + 2 * np.pi * u
        return np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])

    found = _indices(f, 3, n=8192)
    for name, first, total in (("x0", 0.3139, 0.5576), ("x1", 0.4424, 0.4424), ("x2", 0.0, 0.2437)):
        assert found[name].first_order == pytest.approx(first, abs=0.03)
        assert found[name].total == pytest.approx(total, abs=0.03)


def test_sobol_indices_through_a_scenario(write):
    # loss = 0.2 dB/km × L + e, L ~ U(40, 60), e ~ U(0, 4): each explains half the variance.
    path = write(fibre(extra="{uniform: {low: 0, high: 4}}"))
    sampled = uncertainty.run(path, 1024, seed=2, sampler="sobol", sensitivity=True)
    loss = {s.input: s for s in sampled.sensitivity[0]["channel_loss_db"]}
    for name in ("links.alice-bob.length_km", "links.alice-bob.extra_loss_db"):
        assert loss[name].first_order == pytest.approx(0.5, abs=0.05)
        assert loss[name].total == pytest.approx(0.5, abs=0.05)


# ----------------------------------------------------------------------------- outputs


def test_json_and_tables_carry_percentiles(runner, write, tmp_path):
    path = write(fibre(extra="{uniform: {low: 0, high: 2}}"))
    data = json.loads(
        invoke(runner, "rate", path, "--samples", 128, "--sampler", "sobol", "-f", "json").stdout
    )
    assert data["uncertainty"]["samples"] == 128 and data["uncertainty"]["sampler"] == "sobol"
    block = data["demands"][0]["uncertainty"]["metrics"]["key_rate_bps"]
    assert set(block["percentiles"]) == {"p5", "p50", "p95"} and "mean" in block
    table = invoke(runner, "stage", path, "--samples", 128, "--sensitivity").output
    assert "P(met)" in table and "P95" in table and "Sobol'" in table
    links = invoke(runner, "links", path, "--samples", 64, "-f", "json")
    link = json.loads(links.stdout)["links"][0]["uncertainty"]["metrics"]["loss_db"]
    assert link["percentiles"]["p5"] < link["percentiles"]["p95"]
    plot = tmp_path / "u.png"
    assert (
        invoke(runner, "stage", path, "--samples", 64, "--sensitivity", "--plot", plot).exit_code
        == 0
    )
    assert plot.stat().st_size > 1000


def test_levers_under_uncertainty_reach_the_target(write):
    path = write(fibre(expect='{key_rate_bps: ">= 8e6"}'))
    sampled = uncertainty.run(path, 200, seed=4, sampler="lhs")
    uncertainty.solve_levers(sampled, 0.9)
    (lever,) = sampled.levers[0]
    assert lever["field"] == "links.alice-bob.length_km" and lever["scale"] < 1
    assert 0.9 <= lever["probability"] <= 0.95
    # a shorter route: every length scaled by the same factor, the same draws
    shorter = uncertainty._probability(
        sampled, 0, 0, lever["scale"] * 1.02, uncertainty.goal(sampled.results[0])[1]
    )
    assert shorter < 0.9


def test_bundled_scenario_is_stage_4_at_the_medians_and_risky_over_draws():
    from conftest import SCENARIOS

    path = str(SCENARIOS / "metro-repeater-2030-uncertain.yaml")
    sampled = uncertainty.run(path, 200, seed=0, sampler="lhs")
    assert uncertainty.passed(sampled, 0)  # at the medians
    every = float(np.mean(uncertainty.every_check(sampled, 0)))
    assert 0.4 < every < 0.85


def test_usage_errors_are_usage_errors():
    with pytest.raises(UsageError):
        uncertainty.check_samples(1, "mc", 0)
    with pytest.raises(UsageError):
        uncertainty.check_samples(10, "mc", -1)


def test_truncation_is_said_when_it_bites(runner, write):
    # normal(1, 2) km: Φ(−0.5) = 0.3085 of its mass lies below 0 km, cut off and renormalised.
    path = write(fibre(length="{normal: {mean: 1, sd: 2}}"))
    data = json.loads(invoke(runner, "stage", path, "--samples", 64, "-f", "json").stdout)
    (item,) = data["uncertainty"]["inputs"]
    assert item["truncated_fraction"] == pytest.approx(0.3085375, rel=1e-6)
    assert item["percentiles"]["p5"] >= 0.0
    assert any("0.309 of its probability outside" in n for n in data["demands"][0]["notes"])


@settings(max_examples=8, deadline=None)
@given(
    low=st.floats(1.0, 150.0),
    width=st.floats(0.0, 100.0),
    sampler=st.sampled_from(["mc", "lhs"]),
    seed=st.integers(0, 2**32),
)
def test_any_range_gives_ordered_percentiles_and_probabilities(
    tmp_path_factory, low, width, sampler, seed
):
    path = tmp_path_factory.mktemp("p") / "s.yaml"
    path.write_text(
        fibre(length=f"{{uniform: {{low: {low!r}, high: {low + width!r}}}}}"), encoding="utf-8"
    )
    sampled = uncertainty.run(str(path), 16, seed=seed, sampler=sampler)
    for values in sampled.columns[0].values():
        s = uncertainty.summary(values)["percentiles"]
        assert np.all(np.isfinite(values)) and s["p5"] <= s["p50"] <= s["p95"]
    assert np.all(sampled.columns[0]["key_rate_bps"] >= 0)
    for met in sampled.stages_met[0]:
        assert 0.0 <= uncertainty.probability_of(met) <= 1.0
    assert np.all((sampled.values[0] >= low) & (sampled.values[0] <= low + width))


@settings(max_examples=60, deadline=None)
@given(
    op=st.sampled_from([">=", "<=", "==", ">", "<"]),
    want=st.floats(-1e6, 1e6),
    got=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=8),
)
def test_checks_over_draws_agree_with_the_single_check(op, want, got):
    from qcalc.scenario import Check

    check = Check("key_rate_bps", op, want)
    got = [*got, want, want * (1 + 1e-12)]
    assert list(uncertainty.check_passes(check, np.asarray(got))) == [check.passes(g) for g in got]


def test_a_probability_with_nothing_uncertain_is_refused_where_it_is_written(runner, write):
    path = write(fibre(length="50", expect='{stage: ">= 2", probability: ">= 0.9"}'))
    for command in ("stage", "batch", "validate"):
        result = invoke(runner, command, path)
        assert result.exit_code == 2, (command, result.output)
        assert "expect.probability" in result.output and "no field" in result.output
        assert "Traceback" not in result.output
