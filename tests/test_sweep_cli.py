"""`qcalc sweep` and `qcalc links --plot` through typer's CliRunner: outputs and exit codes."""

from __future__ import annotations

import csv
import io
import json
from xml.etree import ElementTree as ET

import numpy as np
import pytest
from conftest import SCENARIOS

from qcalc.cli import app
from qcalc.sweeps import parse_vary, run_sweep

METRO = str(SCENARIOS / "metro-fibre.yaml")
LENGTH = "links.alice-bob.length_km"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def sweep(runner, *args: str):
    return runner.invoke(app, ["sweep", METRO, *args])


def test_sweep_has_help(runner):
    result = runner.invoke(app, ["sweep", "--help"])
    assert result.exit_code == 0
    assert "--vary" in result.stdout and "--metric" in result.stdout


def test_csv_is_the_library_sweep(runner):
    result = sweep(
        runner, "--vary", f"{LENGTH}=1:300:7", "--metric", "key_rate_bps", "--format", "csv"
    )
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == [LENGTH, "key_rate_bps"]
    want = run_sweep(METRO, [parse_vary(f"{LENGTH}=1:300:7")], ["key_rate_bps"])
    got = np.array([[float(c) for c in row] for row in rows[1:]])
    np.testing.assert_array_equal(got[:, 0], want.columns[LENGTH])
    np.testing.assert_array_equal(got[:, 1], want.columns["key_rate_bps"])


def test_json_has_columns_and_the_varies(runner):
    result = sweep(
        runner,
        "--vary",
        f"{LENGTH}=log:1:1000:4",
        "--metric",
        "stage",
        "--metric",
        "plob_bps",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["scenario"] == "Metro fibre link" and data["demand"] == "key"
    assert data["varies"][0] == {
        "field": LENGTH,
        "start": 1.0,
        "stop": 1000.0,
        "num": 4,
        "log": True,
    }
    assert list(data["columns"]) == [LENGTH, "stage", "plob_bps"]
    assert data["columns"]["stage"] == [2, 2, 2, 0]


def test_grid_of_two_fields_has_every_combination(runner):
    result = sweep(
        runner,
        "--vary",
        f"{LENGTH}=10:30:3",
        "--vary",
        "hardware.detectors.snspd.efficiency=0.2:0.4:2",
        "--format",
        "csv",
    )
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == [LENGTH, "hardware.detectors.snspd.efficiency", "key_rate_bps"]
    assert [r[:2] for r in rows[1:]] == [
        ["10.0", "0.2"],
        ["10.0", "0.4"],
        ["20.0", "0.2"],
        ["20.0", "0.4"],
        ["30.0", "0.2"],
        ["30.0", "0.4"],
    ]


def test_table_names_the_scenario_and_the_columns(runner):
    result = sweep(runner, "--vary", f"{LENGTH}=50:50:1")
    assert result.exit_code == 0, result.stderr
    assert "Metro fibre link — sweep of demand key" in result.stdout
    assert LENGTH in result.stdout and "key_rate_bps" in result.stdout


def test_output_file_and_plot(runner, tmp_path):
    csv_out, png, svg = tmp_path / "s.csv", tmp_path / "s.png", tmp_path / "s.svg"
    result = sweep(
        runner, "--vary", f"{LENGTH}=1:300:31", "-f", "csv", "-o", str(csv_out), "--plot", str(png)
    )
    assert result.exit_code == 0, result.stderr
    assert csv_out.read_text(encoding="utf-8").startswith(f"{LENGTH},key_rate_bps\n")
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    result = sweep(runner, "--vary", f"{LENGTH}=1:300:31", "--plot", str(svg))
    assert result.exit_code == 0, result.stderr
    assert ET.parse(svg).getroot().tag == "{http://www.w3.org/2000/svg}svg"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--vary", "links.alice-bob.length_km"],
            "--vary 'links.alice-bob.length_km': no '=' between FIELD and its range; "
            "expected FIELD=START:STOP:NUM or FIELD=log:START:STOP:NUM, "
            "e.g. links.alice-bob.length_km=1:200:100",
        ),
        (
            ["--vary", "links.alice-bob.lenght_km=1:2:3"],
            "--vary 'links.alice-bob.lenght_km': 'lenght_km' is not a link field; "
            "did you mean 'length_km'?",
        ),
        (
            ["--vary", f"{LENGTH}=1:2:3", "--metric", "rate"],
            "--metric 'rate': unknown metric (choices: key_rate_bps, pair_rate_hz, fidelity, "
            "stage, loss_db, plob_bps, protocol:<name>)",
        ),
        (
            ["--vary", f"{LENGTH}=1:2:3", "--demand", "nope"],
            f"--demand 'nope': no such demand in {METRO} (demands: key)",
        ),
        (
            ["--vary", f"{LENGTH}=-5:2:3"],
            f"--vary '{LENGTH}': the range reaches -5; expected a number ≥ 0 and ≤ 1e+06 in km",
        ),
        (
            ["--vary", f"{LENGTH}=1:2:3", "--plot", "sweep.pdf"],
            "--plot 'sweep.pdf': expected a file name ending in .png or .svg "
            "(the suffix picks the format)",
        ),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(runner, args, message):
    result = sweep(runner, *args)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"qcalc: error: {message}"
    assert result.stdout == ""


def test_a_broken_scenario_exits_2_with_its_location(runner, write):
    path = write("qcalc: 1\nnodes: {a: {}}\nlinks: [{ends: [a, b], length_km: 1}]\n")
    result = runner.invoke(app, ["sweep", path, "--vary", "defaults.extra_loss_db=0:1:2"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"qcalc: error: {path}:3:")
    assert "Traceback" not in result.stderr


def test_missing_vary_is_a_usage_error(runner):
    result = sweep(runner)
    assert result.exit_code == 2
    assert "--vary" in result.stderr


def test_links_plot_writes_the_waterfall(runner, tmp_path):
    out = tmp_path / "links.png"
    result = runner.invoke(app, ["links", METRO, "--plot", str(out)])
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes()[:8] == PNG_SIGNATURE
    assert "alice-bob" in result.stdout  # the table is still printed
