"""The command line through typer's CliRunner: every command, format and exit code."""

from __future__ import annotations

import json

import pytest
from conftest import MINIMAL, SCENARIOS

from qcalc import __version__
from qcalc.cli import app, app_for, main

METRO = str(SCENARIOS / "metro-fibre.yaml")
BACKBONE = str(SCENARIOS / "trusted-node-backbone.yaml")


def test_version(runner):
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"qcalc {__version__}"


@pytest.mark.parametrize("command", ["stage", "rate", "links", "validate", "schema"])
def test_every_command_has_help(runner, command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.stdout


def test_stage_json_has_the_spec_keys(runner):
    result = runner.invoke(app, ["stage", METRO, "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["qcalc_version"] == __version__
    assert data["scenario"] == "Metro fibre link"
    demand = data["demands"][0]
    for key in (
        "name",
        "ends",
        "path",
        "stage",
        "stage_name",
        "stages",
        "key_rate_bps",
        "protocol",
        "pair_rate_hz",
        "fidelity",
        "expect",
    ):
        assert key in demand
    assert demand["stage"] == 2 and demand["stage_name"] == "prepare and measure"
    assert [s["stage"] for s in demand["stages"]] == [1, 2, 3, 4, 5, 6]
    assert demand["expect"]["passed"] is True
    assert demand["expect"]["checks"][0] == {
        "field": "stage",
        "op": ">=",
        "want": 2.0,
        "got": 2.0,
        "passed": True,
    }
    assert demand["pair_rate_hz"] == 0 and demand["fidelity"] == 0


def test_stage_table_names_the_deciding_numbers(runner):
    result = runner.invoke(app, ["stage", BACKBONE, "--wide"])  # one line per reason
    assert result.exit_code == 0
    assert "stage 1 (trusted repeater)" in result.stdout
    assert "through 32 trusted relays" in result.stdout
    assert "the route goes through trusted relays relay01, relay02, relay03 and 29 more" in (
        result.stdout
    )


def test_rate_lists_protocols_against_plob(runner):
    result = runner.invoke(app, ["rate", METRO, "--format", "json"])
    data = json.loads(result.stdout)
    protocols = {p["protocol"]: p for p in data["demands"][0]["protocols"]}
    assert set(protocols) == {"bb84-decoy", "gllp"}
    for p in protocols.values():
        assert 0 < p["key_rate_bps"] < p["plob_bps"]
        assert 0 < p["fraction_of_plob"] < 1


def test_links_json_terms_sum_to_loss(runner):
    result = runner.invoke(app, ["links", METRO, "-f", "json"])
    assert result.exit_code == 0
    link = json.loads(result.stdout)["links"][0]
    assert set(link) >= {
        "name",
        "ends",
        "channel",
        "length_km",
        "loss_db",
        "transmittance",
        "terms_db",
        "delay_s",
        "plob_bits_per_use",
    }
    assert sum(link["terms_db"].values()) == pytest.approx(link["loss_db"])
    assert link["terms_db"]["fibre attenuation"] == pytest.approx(10.0)
    assert link["transmittance"] == pytest.approx(10 ** (-link["loss_db"] / 10))


@pytest.mark.parametrize("command", ["stage", "rate", "links"])
@pytest.mark.parametrize("fmt", ["table", "json", "markdown"])
def test_every_format_to_output_file(runner, tmp_path, command, fmt):
    out = tmp_path / f"out.{fmt}"
    result = runner.invoke(app, [command, METRO, "--format", fmt, "--output", str(out)])
    assert result.exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert text.strip()
    if fmt == "json":
        json.loads(text)
    if fmt == "markdown":
        assert "| " in text and "### " in text


def test_explain_prints_the_derivation(runner):
    result = runner.invoke(app, ["rate", METRO, "--explain"])
    assert result.exit_code == 0
    assert "Step 1. fibre loss of alice-bob" in result.stdout
    assert "loss = α · L + extra" in result.stdout
    assert "α = 0.2 dB/km" in result.stdout
    assert "Step 2. detector of bob" in result.stdout
    assert "decoy-state estimates (vacuum+weak)" in result.stdout
    result = runner.invoke(app, ["stage", METRO, "--explain", "-f", "json"])
    steps = json.loads(result.stdout)["explain"]
    assert steps[0]["inputs"] == {"α": "0.2 dB/km", "L": "50 km", "extra": "1 dB"}
    assert steps[0]["result"] == "11 dB"


def test_failed_expectation_exits_1(runner, write):
    path = write(
        MINIMAL.replace("- {ends: [alice, bob]}", "- {ends: [alice, bob], expect: {stage: '>= 3'}}")
    )
    result = runner.invoke(app, ["stage", path, "-f", "json"])
    assert result.exit_code == 1
    check = json.loads(result.stdout)["demands"][0]["expect"]["checks"][0]
    assert check == {"field": "stage", "op": ">=", "want": 3.0, "got": 2.0, "passed": False}


def test_validate_reports_each_file(runner, write, tmp_path):
    good = write(MINIMAL, "good.yaml")
    write(MINIMAL.replace("qcalc: 1", "qcalc: 7"), "bad.yaml")
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 2
    assert f"{good}: ok" in result.stdout
    assert "bad.yaml:1:8: qcalc: is 7; this qcalc reads format version 1" in result.stderr
    assert runner.invoke(app, ["validate", good]).exit_code == 0


def test_schema_is_json(runner):
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["required"] == ["qcalc", "nodes", "links"]
    assert "length_km" in schema["$defs"]["link"]["properties"]


def test_bad_format_is_a_usage_error(runner):
    result = runner.invoke(app, ["stage", METRO, "--format", "xml"])
    assert result.exit_code == 2
    assert "'xml' is not one of" in result.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["stage", "--help"],
        ["stage"],  # a missing argument: the command's own usage line
        ["stage", str(SCENARIOS / "metro-fibre.yaml"), "-f", "json"],
        ["rate", str(SCENARIOS / "metro-fibre.yaml"), "--bogus"],
        ["budget", "--help"],
        ["budget", "vqe", "--help"],
        ["examples"],
        ["stag"],  # no such command: the whole app answers, with its suggestion
        ["--version"],
        ["--help"],
    ],
)
def test_the_app_built_for_a_command_answers_as_the_whole_app(runner, argv):
    """main() builds only the command its first word names (cli.app_for); what that
    narrower app prints and returns is what the whole app does."""
    lean = app_for(["qcalc", *argv])
    assert (lean is app) == (argv[0] in ("stag", "--version", "--help"))
    if lean is not app:
        assert len(lean.registered_commands) + len(lean.registered_groups) == 1
    whole, narrow = runner.invoke(app, argv), runner.invoke(lean, argv)
    assert (narrow.exit_code, narrow.stdout, narrow.stderr) == (
        whole.exit_code,
        whole.stdout,
        whole.stderr,
    )


def test_main_runs_the_narrow_app(monkeypatch, capsys):
    import gc
    import signal

    monkeypatch.setattr("sys.argv", ["qcalc", "stage", str(SCENARIOS / "metro-fibre.yaml")])
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)  # main() sets them; put back afterwards
    handler = signal.getsignal(signal.SIGTERM)
    threshold = gc.get_threshold()
    try:
        with pytest.raises(SystemExit) as done:
            main()
        assert gc.get_freeze_count() > 0  # main() leaves what it made to the exit
    finally:
        signal.signal(signal.SIGTERM, handler)
        gc.unfreeze()
        gc.set_threshold(*threshold)
    assert done.value.code == 0 and "key" in capsys.readouterr().out
