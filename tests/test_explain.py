"""One explanation-step type: the same JSON shape and text for every ``--explain``."""

from __future__ import annotations

import json

from conftest import SCENARIOS

from qcalc.cli import app
from qcalc.explain import Quantity, Step, explain_text

KEYS = {"title", "formula", "inputs", "result", "reference"}


def _steps(runner, *args: str) -> list[dict[str, object]]:
    result = runner.invoke(app, [*args, "-f", "json", "--explain"])
    assert result.exit_code in (0, 1), result.output
    steps: list[dict[str, object]] = json.loads(result.stdout)["explain"]
    return steps


def test_every_explain_has_one_json_shape(runner) -> None:
    metro = str(SCENARIOS / "metro-fibre.yaml")
    for steps in (
        _steps(runner, "stage", metro),
        _steps(runner, "rate", metro),
        _steps(runner, "budget", "vqe"),
        _steps(runner, "budget", "circuit", "--cross-cnots", "10"),
    ):
        assert steps
        for step in steps:
            assert set(step) == KEYS
            assert isinstance(step["inputs"], dict)
            assert all(isinstance(v, str) for v in step["inputs"].values())
            assert isinstance(step["result"], str)


def test_a_budget_step_counts_exactly_and_names_its_source(runner) -> None:
    steps = {s["title"]: s for s in _steps(runner, "budget", "vqe")}
    total = steps["Bell pairs in total"]
    assert total["result"] == "N = 25,000,000 pairs (Bell pairs in total)"
    assert total["inputs"]["ℓ"] == "2,500 pairs (Bell pairs per circuit run)"
    assert "Eisert" in steps["Bell pairs per iteration"]["reference"]


def test_text_is_the_same_from_a_step_and_from_its_json() -> None:
    step = Step.of(
        "Required Bell-pair rate",
        "R = N / T",
        (Quantity("N", 25_000_000, "pairs"), Quantity("T", 3600.0, "s", "wall time")),
        Quantity("R", 25e6 / 3600.0, "Hz"),
        "SPEC worked example",
    )
    text = explain_text([step])
    assert text == explain_text([step.to_dict()])
    assert text.splitlines() == [
        "Step 1. Required Bell-pair rate  [SPEC worked example]",
        "    R = N / T",
        "      N = 25,000,000 pairs",
        "      T = 1 h (wall time)",
        "    ⇒ R = 6,944 Hz",
    ]
