"""The library API: what a notebook gets is what the CLI prints.

``qcalc.evaluate(scenario).to_dict()`` is the JSON of ``qcalc stage --format json``;
``Scenario.with_changes`` checks a change as the file format would, with the same
located errors; entry points take scenario objects, not paths.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import qcalc
from qcalc.cli import app

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


def cli_json(*args: str) -> dict:
    result = CliRunner().invoke(app, [*args, "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    "name",
    ["metro-fibre", "trusted-node-backbone", "micius-2017-qkd-downlink", "delft-2021-three-node"],
)
def test_to_dict_is_the_json_of_qcalc_stage(name: str) -> None:
    path = str(SCENARIOS / f"{name}.yaml")
    data = qcalc.evaluate(qcalc.load_scenario(path)).to_dict()
    assert json.loads(json.dumps(data)) == cli_json("stage", path)


def test_levers_none_is_the_json_of_qcalc_rate() -> None:
    path = str(SCENARIOS / "metro-fibre.yaml")
    data = qcalc.evaluate(qcalc.load_scenario(path), levers="none").to_dict()
    assert json.loads(json.dumps(data)) == cli_json("rate", path)


def test_a_scenario_loads_from_text_as_from_its_file() -> None:
    path = SCENARIOS / "metro-fibre.yaml"
    from_text = qcalc.load_scenario(path.read_text(encoding="utf-8"))
    from_file = qcalc.load_scenario(path)
    a = qcalc.evaluate(from_text, levers="none").demands[0]
    b = qcalc.evaluate(from_file, levers="none").demands[0]
    assert float(a.key_rate_bps) == float(b.key_rate_bps)
    assert from_text.file == "<string>"


def test_with_changes_changes_the_number_and_leaves_the_original() -> None:
    base = qcalc.load_scenario(SCENARIOS / "metro-fibre.yaml")
    longer = base.with_changes({"links.alice-bob.length_km": 80})
    assert base.links[0].length_km == 50.0 and longer.links[0].length_km == 80.0
    near = qcalc.evaluate(base, levers="none").demands[0].key_rate_bps
    far = qcalc.evaluate(longer, levers="none").demands[0].key_rate_bps
    assert 0 < far < near


def test_with_changes_refuses_a_bad_value_at_the_field_s_line() -> None:
    """The review's case: a negative length went through dataclasses.replace and gave
    9.27e8 bit/s; through with_changes it is refused where the file sets it."""
    base = qcalc.load_scenario(SCENARIOS / "metro-fibre.yaml")
    with pytest.raises(qcalc.ScenarioError) as error:
        base.with_changes({"links.alice-bob.length_km": -50})
    message = str(error.value)
    assert "metro-fibre.yaml:" in message and "links[0].length_km" in message and "-50" in message


def test_with_changes_names_a_misspelt_field() -> None:
    base = qcalc.load_scenario(SCENARIOS / "metro-fibre.yaml")
    with pytest.raises(qcalc.UsageError, match="did you mean 'length_km'"):
        base.with_changes({"links.alice-bob.lenght_km": 80})
    with pytest.raises(qcalc.UsageError, match="no link named 'alice-carol'"):
        base.with_changes({"links.alice-carol.length_km": 80})


def test_with_changes_sets_a_node_s_memory_and_a_demand_s_text_field() -> None:
    chain = qcalc.load_scenario(SCENARIOS / "repeater-chain-1000km.yaml")
    node = next(n for n in chain.nodes.values() if n.memory is not None)
    better = chain.with_changes({f"nodes.{node.name}.memory.coherence_time_s": 10.0})
    assert better.nodes[node.name].memory.coherence_time_s == 10.0
    metro = qcalc.load_scenario(SCENARIOS / "metro-fibre.yaml")
    gllp = metro.with_changes({"demands.key.protocol": "gllp"})
    assert qcalc.evaluate(gllp, levers="none").demands[0].protocol == "gllp"


def test_an_array_of_values_is_evaluated_in_one_pass_as_each_value_alone() -> None:
    base = qcalc.load_scenario(SCENARIOS / "metro-fibre.yaml")
    lengths = np.array([10.0, 60.0, 120.0])
    many = qcalc.evaluate(base.with_changes({"links.alice-bob.length_km": lengths}), levers="none")
    each = [
        float(
            qcalc.evaluate(
                base.with_changes({"links.alice-bob.length_km": float(x)}), levers="none"
            )
            .demands[0]
            .key_rate_bps
        )
        for x in lengths
    ]
    np.testing.assert_allclose(np.asarray(many.demands[0].key_rate_bps), each, rtol=1e-12)


def test_sweep_takes_a_scenario_and_gives_the_cli_s_columns() -> None:
    path = str(SCENARIOS / "metro-fibre.yaml")
    grid = qcalc.sweep(qcalc.load_scenario(path), vary={"links.alice-bob.length_km": [0, 50, 100]})
    cli = CliRunner().invoke(
        app, ["sweep", path, "--vary", "links.alice-bob.length_km=0:100:3", "--format", "csv"]
    )
    assert cli.exit_code == 0, cli.output
    assert grid.to_csv() == cli.stdout


def test_result_names_its_demands_and_says_what_it_lacks() -> None:
    result = qcalc.evaluate(qcalc.load_scenario(SCENARIOS / "metro-fibre.yaml"), levers="none")
    assert result.demand("key").demand.name == "key"
    with pytest.raises(qcalc.UsageError, match="did you mean 'key'"):
        result.demand("kye")


@pytest.mark.parametrize("bad", [{"levers": "some"}, {"monte_carlo": -1}])
def test_evaluate_refuses_bad_options(bad: dict) -> None:
    with pytest.raises(qcalc.UsageError):
        qcalc.evaluate(qcalc.load_scenario(SCENARIOS / "metro-fibre.yaml"), **bad)


def test_the_public_names_are_listed_and_typed() -> None:
    for name in qcalc.__all__:
        assert getattr(qcalc, name) is not None
    assert callable(qcalc.evaluate) and callable(qcalc.sweep) and callable(qcalc.apps)
    assert callable(qcalc.budget.vqe) and callable(qcalc.budget.circuit)
    assert ("qkd", 1) in [(a.key, a.stage) for a in qcalc.apps()]


def test_an_array_of_memory_efficiencies_is_each_value_alone() -> None:
    """Regression: success probabilities varying alone (the attempt times fixed) were
    stacked against the points' last axis ("operands could not be broadcast")."""
    base = qcalc.load_scenario(SCENARIOS / "metro-repeater-2030-uncertain.yaml")
    values = np.array([0.5, 0.7, 0.9])
    many = qcalc.evaluate(
        base.with_changes({"nodes.repeater.memory.efficiency": values}), levers="none"
    ).demands[0]
    for i, value in enumerate(values):
        one = qcalc.evaluate(
            base.with_changes({"nodes.repeater.memory.efficiency": float(value)}), levers="none"
        ).demands[0]
        assert np.asarray(many.pair_rate_hz)[i] == pytest.approx(float(one.pair_rate_hz), rel=1e-12)
        assert np.asarray(many.fidelity)[i] == pytest.approx(float(one.fidelity), rel=1e-12)


def test_a_hopeless_segment_in_an_array_is_evaluated_not_padded_to_1e45_steps() -> None:
    """Regression: a 2,500 km segment (p ~ 1e-50 per attempt) beside a 100 km one in a
    sweep asked the exact chain to rebin by a factor of ~1e45 ("pad_width must be of
    integral type"); the two values now give their own rates."""
    chain = qcalc.load_scenario(SCENARIOS / "repeater-chain-1000km.yaml")
    first = chain.links[0].name
    both = qcalc.evaluate(
        chain.with_changes({f"links.{first}.length_km": np.array([100.0, 2500.0])}),
        levers="none",
    ).demands[0]
    rates = np.asarray(both.pair_rate_hz)
    assert rates[0] > 1.0 and 0.0 <= rates[1] < 1e-40
    assert list(np.asarray(both.stage)) == [4, 0]


def test_rebinning_by_more_steps_than_the_grid_keeps_mass_and_mean() -> None:
    from qcalc.protocols.chain import _rebin_mean

    walsh = np.random.default_rng(7).random((4, 50))
    for factor in (50, 51, 10**45):
        coarse = _rebin_mean(walsh, factor)
        np.testing.assert_allclose(coarse.sum(axis=1), walsh.sum(axis=1), rtol=1e-12)
        mean_fine = (np.arange(50) * walsh[0]).sum() / factor
        np.testing.assert_allclose((np.arange(2) * coarse[0]).sum(), mean_fine, rtol=1e-12)


@pytest.mark.parametrize("values", [["a"], [], [float("nan")], [1.0, float("inf")]])
def test_sweep_refuses_values_that_are_not_finite_numbers(values: list) -> None:
    metro = qcalc.load_scenario(SCENARIOS / "metro-fibre.yaml")
    with pytest.raises(qcalc.UsageError, match="links.alice-bob.length_km"):
        qcalc.sweep(metro, vary={"links.alice-bob.length_km": values})


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_explain_false_gives_the_same_numbers_without_the_steps(path: Path) -> None:
    # Batches and sweeps leave the derivation steps out; nothing else may change.
    scenario = qcalc.load_scenario(str(path))
    with_steps = qcalc.evaluate(scenario, levers="none")
    without = qcalc.evaluate(scenario, levers="none", explain=False)
    assert without.to_dict() == with_steps.to_dict()
    assert without.steps() == () or list(without.steps()) == []
    assert len(with_steps.steps()) > 0
