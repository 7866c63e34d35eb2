"""Every bundled scenario validates against the JSON Schema, evaluates and meets its expect."""

from __future__ import annotations

import json

import jsonschema
import pytest
from conftest import SCENARIOS

from qcalc._yaml import read_file
from qcalc.cli import app
from qcalc.scenario import json_schema, load_scenario

FILES = sorted(SCENARIOS.glob("*.yaml"))


def test_there_are_scenarios():
    assert len(FILES) >= 3


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_scenario_matches_json_schema(path):
    # Read as YAML 1.2 (1e9 is a number), as editors using the schema do.
    jsonschema.validate(read_file(str(path)).data, json_schema())


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_scenario_has_references_and_expectations(path):
    scenario = load_scenario(str(path))
    assert scenario.references, "every bundled scenario cites its sources"
    assert all(d.expect for d in scenario.demands)


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_scenario_meets_its_expectations(runner, path):
    result = runner.invoke(app, ["stage", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    for demand in json.loads(result.stdout)["demands"]:
        assert demand["expect"]["passed"], demand["expect"]


def test_backbone_is_stage_1_not_2(runner):
    path = str(SCENARIOS / "trusted-node-backbone.yaml")
    result = json.loads(runner.invoke(app, ["stage", path, "-f", "json"]).stdout)
    stages = result["demands"][0]["stages"]
    assert stages[0]["met"] is True and stages[1]["met"] is False
