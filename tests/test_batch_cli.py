"""`qcalc batch` on a folder of passing, failing and broken scenarios (issue 7)."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest
from conftest import MINIMAL

from qcalc.cli import app

PASSING = MINIMAL.replace(
    "- {ends: [alice, bob]}", "- {ends: [alice, bob], expect: {stage: '>= 1'}}"
)
FAILING = MINIMAL.replace(
    "- {ends: [alice, bob]}", "- {ends: [alice, bob], expect: {key_rate_bps: '>= 1e12'}}"
)
BROKEN = MINIMAL.replace("length_km: 10", "length_km: ten")


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "a-pass.yaml").write_text(PASSING, encoding="utf-8")
    (tmp_path / "b-fail.yaml").write_text(FAILING, encoding="utf-8")
    (tmp_path / "c-broken.yaml").write_text(BROKEN, encoding="utf-8")
    return tmp_path


def _files(folder):
    return {str(folder / n) for n in ("a-pass.yaml", "b-fail.yaml", "c-broken.yaml")}


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown", "junit"])
def test_every_file_appears_in_every_format(runner, folder, fmt):
    wide = ["--wide"] if fmt == "table" else []  # a long path wraps at 80 columns
    result = runner.invoke(app, ["batch", str(folder), "--format", fmt, *wide])
    assert result.exit_code == 2  # a file could not be evaluated
    for name in _files(folder):
        assert name in result.stdout
    assert "c-broken.yaml:6:37: links[0].length_km: is the text 'ten'" in result.stderr


def test_exit_codes(runner, folder):
    assert runner.invoke(app, ["batch", str(folder / "a-pass.yaml")]).exit_code == 0
    assert (
        runner.invoke(
            app, ["batch", str(folder / "a-pass.yaml"), str(folder / "b-fail.yaml")]
        ).exit_code
        == 1
    )
    assert runner.invoke(app, ["batch", str(folder)]).exit_code == 2


def test_json_summary(runner, folder):
    data = json.loads(runner.invoke(app, ["batch", str(folder), "-f", "json"]).stdout)
    assert data["summary"] == {"files": 3, "errors": 1, "demands": 2, "passed": 1, "failed": 1}
    assert data["scenarios"][2]["error"].startswith(str(folder / "c-broken.yaml"))


def test_junit_parses_with_the_right_counts(runner, folder):
    text = runner.invoke(app, ["batch", str(folder), "-f", "junit"]).stdout
    root = ET.fromstring(text.split("\n", 1)[1])
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "1", "1")
    cases = root.findall(".//testcase")
    assert len(cases) == 3
    assert len(root.findall(".//failure")) == 1 and len(root.findall(".//error")) == 1
    assert "key_rate_bps >= 1e+12" in root.find(".//failure").get("message")


def test_csv_parses(runner, folder):
    text = runner.invoke(app, ["batch", str(folder), "-f", "csv"]).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["passed"] for r in rows] == ["yes", "no", "error"]
    assert rows[1]["failed_checks"].startswith("key_rate_bps >= 1e+12")


def test_parallel_jobs_give_the_same_report(runner, folder):
    one = json.loads(runner.invoke(app, ["batch", str(folder), "-f", "json"]).stdout)
    two = json.loads(runner.invoke(app, ["batch", str(folder), "-f", "json", "-j", "2"]).stdout)
    assert one == two


def test_glob_and_empty_folder(runner, folder, tmp_path_factory):
    empty = tmp_path_factory.mktemp("empty")
    result = runner.invoke(app, ["batch", str(empty)])
    assert result.exit_code == 2 and "no scenario files" in result.stderr
