"""'What would it take': each suggested change, applied to the scenario, meets the target;
5 % short of it, it does not (issue 6)."""

from __future__ import annotations

import json

import pytest

from qcalc.cli import app

LINK = """\
qcalc: 1
name: lever test
hardware:
  memories:
    m: {{coherence_time_s: {coherence}, efficiency: 0.5}}
  processors:
    p: {{physical_qubits: 1000, two_qubit_gate_error: 1.0e-3}}
defaults:
  memory: m
  processor: p
nodes:
  a: {{}}
  b: {{}}
links:
  - {{name: ab, ends: [a, b], length_km: {length}, memory_modes: {modes}}}
demands:
  - name: d
    ends: [a, b]
    application: teleportation
    expect: {{stage: ">= 4"}}
"""
NOW = {"coherence": 1.0e-4, "length": 40.0, "modes": 1}
FIELD_TO_KEY = {
    "memory.coherence_time_s": "coherence",
    "route length_km": "length",
    "link.memory_modes": "modes",
}


def _stage(runner, write, **values):
    path = write(LINK.format(**{**NOW, **values}))
    result = runner.invoke(app, ["stage", path, "-f", "json"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)["demands"][0]


def test_levers_are_real(runner, write):
    demand = _stage(runner, write)
    assert demand["stage"] < 4
    nxt = demand["next_stage"]
    assert nxt["stage"] == 4
    levers = {lv["field"]: lv for lv in nxt["levers"]}
    assert "memory.coherence_time_s" in levers and "route length_km" in levers
    for field, lever in levers.items():
        key = FIELD_TO_KEY[field]
        assert lever["now"] == pytest.approx(NOW[key])
        short = lever["needs"] * (0.95 if lever["op"] == ">=" else 1.05)
        if key == "modes":
            short = int(lever["needs"]) - 1
        assert _stage(runner, write, **{key: lever["needs"]})["stage"] >= 4, field
        assert _stage(runner, write, **{key: short})["stage"] < 4, field


def test_no_levers_for_a_demand_that_meets_everything(runner, write):
    demand = _stage(runner, write, coherence=10.0)
    assert demand["stage"] >= 4 and demand["next_stage"] is None


def test_levers_flag_asks_for_the_next_stage(runner, write):
    path = write(LINK.format(**{**NOW, "coherence": 10.0}))
    result = runner.invoke(app, ["stage", path, "--levers"])
    assert "what it would take (next stage," in result.stdout


def test_levers_are_bisected_to_their_tolerance(runner, write):
    """A float lever's value is within LEVER_RELATIVE_TOLERANCE of the threshold (2e-5
    short of it fails), an integer lever is the exact integer (one less fails)."""
    from qcalc.levers import LEVER_RELATIVE_TOLERANCE

    demand = _stage(runner, write)
    for lever in demand["next_stage"]["levers"]:
        key = FIELD_TO_KEY[lever["field"]]
        if key == "modes":
            short = int(lever["needs"]) - 1
        else:
            margin = 2 * LEVER_RELATIVE_TOLERANCE
            short = lever["needs"] * (1 - margin if lever["op"] == ">=" else 1 + margin)
        assert _stage(runner, write, **{key: lever["needs"]})["stage"] >= 4, key
        assert _stage(runner, write, **{key: short})["stage"] < 4, key


def test_bisection_finds_the_exact_integer_and_the_float_to_tolerance():
    """_solve on a lever whose verdict is a known threshold: an integer lever returns the
    threshold itself for any value now (exp(log(n)) rounds above n for n = 3, 9, 10, …,
    which once stopped the search one integer high); a float lever, within
    LEVER_RELATIVE_TOLERANCE of it; a lever that goes down, alike."""
    import math
    import random

    from qcalc.levers import LEVER_RELATIVE_TOLERANCE, _Knob, _solve

    rng = random.Random(0)
    for _ in range(400):
        now = rng.randint(1, 5000)
        threshold = now + rng.choice([1, 2, 3, rng.randint(1, 100), rng.randint(1, now * 1000)])
        knob = _Knob(
            "f", "s", True, True, lambda sc, r, n=now: [n], lambda sc, r, v: v, lambda n: n * 1e5
        )
        lever = _solve(knob, None, None, ("a", "b"), lambda v, t=threshold: v >= t)  # type: ignore[arg-type]
        assert lever is not None and lever.needs == threshold, (now, threshold)
    for _ in range(200):
        now = 10 ** rng.uniform(-3, 3)
        up = rng.random() < 0.5
        factor = 10 ** rng.uniform(0.01, 2.9)
        threshold = now * factor if up else now / factor
        knob = _Knob("f", "s", up, False, lambda sc, r, n=now: [n], lambda sc, r, v: v,
                     (lambda n: n * 1e3) if up else (lambda n: n * 1e-3))  # fmt: skip
        verdict = (lambda v, t=threshold: v >= t) if up else (lambda v, t=threshold: v <= t)
        lever = _solve(knob, None, None, ("a", "b"), verdict)  # type: ignore[arg-type]
        assert lever is not None
        assert abs(math.log(lever.needs / threshold)) < LEVER_RELATIVE_TOLERANCE
        assert verdict(lever.needs)
