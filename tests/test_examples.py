"""The bundled scenarios: `qcalc examples`, `--example NAME`, and qcalc.examples."""

from __future__ import annotations

import json

import pytest
from conftest import SCENARIOS
from hypothesis import given, settings
from hypothesis import strategies as st

from qcalc import examples
from qcalc.cli import app
from qcalc.errors import UsageError

#: Every scenario of the repository's folder, which the package ships.
NAMES = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))


def test_every_scenario_of_the_folder_is_bundled_by_name() -> None:
    assert list(examples.names()) == NAMES
    for name in NAMES:
        assert examples.path(name).read_bytes() == (SCENARIOS / f"{name}.yaml").read_bytes()
    assert examples.title("metro-fibre") == "Metro fibre link"


def test_qcalc_examples_lists_them(runner) -> None:
    result = runner.invoke(app, ["examples", "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)["examples"]
    assert [e["name"] for e in listed] == NAMES
    assert {"name": "metro-fibre", "title": "Metro fibre link"} in listed
    table = runner.invoke(app, ["examples"], env={"COLUMNS": "200"})
    assert table.exit_code == 0
    assert "metro-fibre  " in table.stdout and "--example NAME" in table.stdout


@pytest.mark.parametrize("command", ["stage", "rate", "links"])
def test_an_example_runs_as_its_file_does(runner, command: str) -> None:
    by_name = runner.invoke(app, [command, "--example", "metro-fibre", "-f", "json"])
    by_file = runner.invoke(app, [command, str(SCENARIOS / "metro-fibre.yaml"), "-f", "json"])
    assert by_name.exit_code == by_file.exit_code == 0, by_name.output
    named, filed = json.loads(by_name.stdout), json.loads(by_file.stdout)
    assert named.pop("file").endswith("metro-fibre.yaml")
    filed.pop("file")
    assert named == filed


@pytest.mark.parametrize(
    ("command", "name"),
    [
        (["sweep", "--vary", "links.alice-bob.length_km=10:50:3"], "metro-fibre"),
        (["budget", "vqe", "--depth", "10"], "distributed-vqe-two-qpus"),
    ],
)
def test_sweep_and_budget_take_an_example(runner, command: list[str], name: str) -> None:
    file = str(SCENARIOS / f"{name}.yaml")
    given = ["--scenario", file] if command[0] == "budget" else [file]
    by_name = runner.invoke(app, [*command, "--example", name], env={"COLUMNS": "100"})
    by_file = runner.invoke(app, [*command, *given], env={"COLUMNS": "100"})
    assert by_name.exit_code == by_file.exit_code, by_name.output
    assert by_name.exit_code in (0, 1), by_name.output
    shown = by_name.stdout.replace(str(examples.path(name)), file)
    assert shown == by_file.stdout


def test_validate_takes_examples_beside_files(runner) -> None:
    result = runner.invoke(
        app, ["validate", str(SCENARIOS / "gys-decoy-bb84.yaml"), "--example", "metro-fibre"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.count(": ok") == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["stage", "--example", "metro-fibr"], "did you mean 'metro-fibre'?"),
        (["rate", "--example", "nothing-like-it"], "is not a bundled scenario"),
        (["validate", "--example", "metro"], "--example 'metro' is not a bundled scenario"),
        (["links"], "give a SCENARIO file or --example NAME"),
        (["stage", "x.yaml", "--example", "metro-fibre"], "not both"),
    ],
)
def test_a_wrong_example_exits_2_with_a_hint(runner, args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


@given(st.text(max_size=40))
@settings(max_examples=50)
def test_any_other_name_is_a_usage_error(name: str) -> None:
    if name in NAMES:
        assert examples.path(name).is_file()
        return
    with pytest.raises(UsageError, match="is not a bundled scenario"):
        examples.path(name)
