"""Tests of qcalc.budget: distributed-VQE and circuit budgets, distillation cost, feasibility."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qcalc.budget import (
    CircuitBudget,
    VQEInputs,
    circuit_budget,
    required_pair_fidelity,
    vqe_budget,
)
from qcalc.explain import Step, explain_text
from qcalc.parsing import parse_count, parse_duration_s

#: Relative tolerance for values that are exact rationals computed in floating point.
FLOAT_RTOL = 1e-12

#: Absolute rounding error of a difference of two doubles near 1 (a few ulp of 1.0).
DOUBLE_ROUNDING = 1e-15


def worked_example() -> tuple[int, int, int, float]:
    """The contract's example through the same parsers the CLI uses."""
    budget = vqe_budget(
        qubits_per_qpu=50,
        depth=100,
        iterations=parse_count("1e4", name="--iterations"),
        wall_time_s=parse_duration_s("1h", name="--wall-time"),
    )
    return (
        budget.bell_pairs_per_iteration,
        budget.bell_pairs_total,
        budget.classical_bits_total,
        budget.required_rate_hz,
    )


# --------------------------------------------------------------------------------------
# Distributed VQE
# --------------------------------------------------------------------------------------


def test_vqe_worked_example_of_the_contract() -> None:
    # SPEC.md, "budget vqe": 50 qubits per QPU, depth 100, 1e4 iterations, 1 h →
    # 2,500 pairs per iteration (25 cross CNOTs per layer × 100 layers), 2.5e7 in total,
    # about 6,944 pairs/s, stage 5. Classical bits: 2 per teleported CNOT (Eisert et al.,
    # PRA 62, 052317 (2000)) → 5e7.
    per_iteration, total, bits, rate_hz = worked_example()
    assert per_iteration == 2_500
    assert total == 25_000_000
    assert bits == 50_000_000
    assert rate_hz == pytest.approx(25_000_000 / 3600, rel=FLOAT_RTOL)
    assert round(rate_hz, 2) == 6944.44
    budget = vqe_budget(qubits_per_qpu=50, depth=100, iterations=1e4, wall_time_s=3600.0)
    assert budget.inputs.cross_cnots_per_layer == 25
    assert budget.cross_cnots_per_iteration == 2_500
    assert budget.required_stage == 5
    assert budget.required_stage_name == "few-qubit fault tolerance"


def test_vqe_shots_and_groups_multiply_the_pairs() -> None:
    # N_it = c·d·s·g: 10 cross CNOTs × 20 layers × 100 shots × 3 groups = 60,000 pairs.
    budget = vqe_budget(
        qubits_per_qpu=8,
        depth=20,
        iterations=50,
        wall_time_s=600.0,
        cross_cnots_per_layer=10,
        shots_per_iteration=100,
        measurement_groups=3,
    )
    assert budget.cross_cnots_per_circuit == 200
    assert budget.bell_pairs_per_iteration == 60_000
    assert budget.bell_pairs_total == 3_000_000
    assert budget.required_rate_hz == pytest.approx(5_000.0, rel=FLOAT_RTOL)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 200),
    depth=st.integers(1, 500),
    iterations=st.integers(1, 10**6),
    shots=st.integers(1, 1000),
    groups=st.integers(1, 50),
    wall_time_s=st.floats(1.0, 1e7),
)
def test_vqe_invariants(
    n: int, depth: int, iterations: int, shots: int, groups: int, wall_time_s: float
) -> None:
    budget = vqe_budget(
        qubits_per_qpu=n,
        depth=depth,
        iterations=iterations,
        wall_time_s=wall_time_s,
        shots_per_iteration=shots,
        measurement_groups=groups,
    )
    assert budget.bell_pairs_total == (n // 2) * depth * shots * groups * iterations
    # One ebit and two classical bits per teleported CNOT (Eisert et al. 2000).
    assert budget.classical_bits_total == 2 * budget.bell_pairs_total
    assert budget.required_rate_hz * wall_time_s == pytest.approx(budget.bell_pairs_total)
    assert 0.99 <= budget.required_fidelity < 1.0
    deeper = vqe_budget(
        qubits_per_qpu=n,
        depth=depth + 1,
        iterations=iterations,
        wall_time_s=wall_time_s,
        shots_per_iteration=shots,
        measurement_groups=groups,
    )
    assert deeper.bell_pairs_total > budget.bell_pairs_total
    assert deeper.required_fidelity >= budget.required_fidelity


def test_vqe_explain_is_a_worked_example() -> None:
    budget = vqe_budget(qubits_per_qpu=50, depth=100, iterations=1e4, wall_time_s=3600.0)
    titles = [step.title for step in budget.explain]
    assert "Bell pairs per iteration" in titles
    by_title = {step.title: step for step in budget.explain}
    assert (
        by_title["Bell pairs per iteration"].result
        == "N_it = 2,500 pairs (Bell pairs per iteration)"
    )
    assert by_title["Bell pairs in total"].result == "N = 25,000,000 pairs (Bell pairs in total)"
    assert by_title["Classical bits in total"].result == (
        "B = 50,000,000 bits (classical bits in total)"
    )
    assert by_title["Required Bell-pair rate"].result == "R = 6,944 Hz (Bell pairs per second)"
    assert by_title["Required roadmap stage"].result.startswith("stage = 5 (")
    for step in budget.explain:
        assert isinstance(step, Step)
        assert step.formula
        assert all(text for _, text in step.inputs)
    text = explain_text([by_title["Bell pairs in total"]])
    assert "N = ℓ · r" in text
    assert "⇒ N = 25,000,000 pairs" in text
    assert "Eisert" in explain_text([by_title["Bell pairs per iteration"]])
    # Everything is plain JSON (no NaN/Infinity).
    json.dumps(budget.to_dict(), allow_nan=False)
    json.dumps([s.to_dict() for s in budget.explain], allow_nan=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"qubits_per_qpu": 0}, "qubits_per_qpu is 0; expected a whole number ≥ 1"),
        ({"depth": -3}, "depth is -3; expected a whole number ≥ 1"),
        ({"iterations": 1.5}, "iterations is 1.5; expected a whole number ≥ 1"),
        ({"iterations": True}, "iterations is True; expected a whole number ≥ 1"),
        ({"wall_time_s": 0.0}, "wall_time_s is 0.0; expected a duration > 0 s"),
        ({"wall_time_s": math.inf}, "wall_time_s is inf; expected a duration > 0 s"),
        ({"shots_per_iteration": 0}, "shots_per_iteration is 0; expected a whole number ≥ 1"),
        ({"measurement_groups": 0}, "measurement_groups is 0; expected a whole number ≥ 1"),
        ({"cross_cnots_per_layer": 0}, "cross_cnots_per_layer is 0; expected a whole number"),
        ({"qubits_per_qpu": 1}, "cross_cnots_per_layer defaults to qubits_per_qpu // 2 = 0"),
        ({"target_circuit_error": 1.5}, "target_circuit_error is 1.5; expected a fraction"),
    ],
)
def test_vqe_rejects_bad_input_naming_parameter_value_and_expectation(
    kwargs: dict[str, float], message: str
) -> None:
    args: dict[str, float] = {
        "qubits_per_qpu": 50,
        "depth": 100,
        "iterations": 10,
        "wall_time_s": 60.0,
    }
    args.update(kwargs)
    with pytest.raises(ValueError) as info:
        vqe_budget(**args)  # type: ignore[arg-type]
    assert str(info.value).startswith(message)


def test_vqe_inputs_normalise_integral_floats() -> None:
    inputs = VQEInputs(qubits_per_qpu=4, depth=2, iterations=1e4, wall_time_s=10)  # type: ignore[arg-type]
    assert inputs.iterations == 10_000
    assert isinstance(inputs.iterations, int)
    assert inputs.cross_cnots_per_layer == 2
    assert isinstance(inputs.wall_time_s, float)


# --------------------------------------------------------------------------------------
# Required fidelity
# --------------------------------------------------------------------------------------


def test_required_fidelity_union_bound() -> None:
    # Box 1 of Wehner, Elkouss, Hanson, Science 362, eaam9288 (2018): the error of ℓ
    # operations is at most ℓ·ε. ℓ = 2,500 teleported CNOTs, ε_target = 0.1 → 1 − 4e-5.
    assert required_pair_fidelity(2_500, 0.1, 0.99) == pytest.approx(0.99996, rel=FLOAT_RTOL)
    # Few operations: the stage-5 floor of the contract (0.99) decides.
    assert required_pair_fidelity(5, 0.1, 0.99) == 0.99
    assert required_pair_fidelity(5, 0.1, 0.0) == pytest.approx(0.98, rel=FLOAT_RTOL)


@settings(max_examples=60, deadline=None)
@given(ell=st.integers(1, 10**7), eps=st.floats(0.0, 1.0), floor=st.floats(0.0, 1.0))
def test_required_fidelity_meets_the_error_target(ell: int, eps: float, floor: float) -> None:
    f_req = required_pair_fidelity(ell, eps, floor)
    assert floor <= f_req <= 1.0
    # 1 − F_req carries a rounding error of ~1e-16 that ℓ multiplies.
    assert ell * (1.0 - f_req) <= eps + ell * DOUBLE_ROUNDING


def test_required_fidelity_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="pair_operations_per_run is 0; expected a whole"):
        required_pair_fidelity(0)
    with pytest.raises(
        ValueError, match=r"fidelity_floor is -0.1; expected a fraction in \[0, 1\]"
    ):
        required_pair_fidelity(10, 0.1, -0.1)


# --------------------------------------------------------------------------------------
# Circuit budget
# --------------------------------------------------------------------------------------


def test_circuit_budget_teleportation_and_swap_costs() -> None:
    # Teleporting a qubit costs one Bell pair and two classical bits (Bennett et al.,
    # PRL 70, 1895 (1993)); a nonlocal CNOT one pair and two bits (Eisert et al. 2000);
    # a nonlocal SWAP two teleportations.
    only_teleport = circuit_budget(cross_cnots=0, teleported_qubits=1, wall_time_s=1.0)
    assert (only_teleport.bell_pairs_per_run, only_teleport.classical_bits_per_run) == (1, 2)
    only_swap = circuit_budget(cross_cnots=0, nonlocal_swaps=1, wall_time_s=1.0)
    assert (only_swap.bell_pairs_per_run, only_swap.classical_bits_per_run) == (2, 4)
    mixed = circuit_budget(
        cross_cnots=40, teleported_qubits=3, nonlocal_swaps=5, runs=1e3, wall_time_s=20.0
    )
    assert isinstance(mixed, CircuitBudget)
    assert mixed.bell_pairs_per_run == 40 + 3 + 2 * 5
    assert mixed.classical_bits_per_run == 2 * 40 + 2 * 3 + 4 * 5
    assert mixed.bell_pairs_total == 53_000
    assert mixed.classical_bits_total == 106_000
    assert mixed.required_rate_hz == pytest.approx(2_650.0, rel=FLOAT_RTOL)
    assert mixed.required_stage == 5
    # Box 1 bound with ℓ = 53 pair-consuming operations per run: 1 − 0.1/53 > 0.99.
    assert mixed.required_fidelity == pytest.approx(1.0 - 0.1 / 53, rel=FLOAT_RTOL)
    assert only_teleport.required_fidelity == 0.99  # 1 − 0.1/1 = 0.9 < 0.99: the floor


def test_circuit_budget_without_cross_operations_needs_nothing() -> None:
    budget = circuit_budget(cross_cnots=0, wall_time_s=10.0)
    assert budget.bell_pairs_total == 0
    assert budget.classical_bits_total == 0
    assert budget.required_rate_hz == 0.0
    assert budget.required_fidelity == 0.0
    assert budget.required_stage == 0
    assert budget.required_stage_name == "no network needed"
    json.dumps(budget.to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cross_cnots": -1}, "cross_cnots is -1; expected a whole number ≥ 0"),
        ({"teleported_qubits": 0.5}, "teleported_qubits is 0.5; expected a whole number ≥ 0"),
        ({"nonlocal_swaps": -2}, "nonlocal_swaps is -2; expected a whole number ≥ 0"),
        ({"runs": 0}, "runs is 0; expected a whole number ≥ 1"),
        ({"wall_time_s": -5.0}, "wall_time_s is -5.0; expected a duration > 0 s"),
    ],
)
def test_circuit_budget_rejects_bad_input(kwargs: dict[str, float], message: str) -> None:
    args: dict[str, float] = {"cross_cnots": 10, "wall_time_s": 60.0}
    args.update(kwargs)
    with pytest.raises(ValueError) as info:
        circuit_budget(**args)  # type: ignore[arg-type]
    assert str(info.value).startswith(message)


# --------------------------------------------------------------------------------------
# Distillation cost
# --------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------
# Parsing durations and counts
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("15m", 900.0),
        ("1h", 3600.0),
        ("2d", 172_800.0),
        ("3600", 3600.0),
        ("1.5h", 5400.0),
        (" 2 hours ", 7200.0),
        ("1e3s", 1000.0),
        (42, 42.0),
        (0.5, 0.5),
    ],
)
def test_parse_duration(text: str | float, seconds: float) -> None:
    assert parse_duration_s(text) == pytest.approx(seconds, rel=FLOAT_RTOL)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "--wall-time is ''; expected a duration such as 90s, 15m, 1h, 2d or plain"),
        ("1x", "--wall-time is '1x'; expected a duration such as"),
        ("h", "--wall-time is 'h'; expected a duration such as"),
        ("-5s", "--wall-time is '-5s' (-5 s); expected a duration > 0 s"),
        ("0", "--wall-time is '0' (0 s); expected a duration > 0 s"),
        (math.nan, "--wall-time is nan (nan s); expected a duration > 0 s"),
    ],
)
def test_parse_duration_errors(text: str | float, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration_s(text, name="--wall-time")
    assert str(info.value).startswith(message)


@settings(max_examples=60, deadline=None)
@given(value=st.floats(1e-3, 1e6), unit=st.sampled_from([("s", 1), ("m", 60), ("h", 3600)]))
def test_parse_duration_round_trip(value: float, unit: tuple[str, int]) -> None:
    assert parse_duration_s(f"{value!r}{unit[0]}") == pytest.approx(value * unit[1])


@pytest.mark.parametrize(
    ("text", "count"),
    [("1e4", 10_000), ("100", 100), ("10_000", 10_000), ("2.5e3", 2_500), (1e4, 10_000)],
)
def test_parse_count(text: str | float, count: int) -> None:
    assert parse_count(text) == count
    assert isinstance(parse_count(text), int)


def test_parse_count_is_exact_for_large_values() -> None:
    assert parse_count("1e30") == 10**30


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1.5", "--iterations is '1.5'; expected a whole number ≥ 1 (e.g. 100 or 1e4)"),
        ("0", "--iterations is '0'; expected a whole number ≥ 1"),
        ("-3", "--iterations is '-3'; expected a whole number ≥ 1"),
        ("ten", "--iterations is 'ten'; expected a whole number ≥ 1"),
        ("inf", "--iterations is 'inf'; expected a whole number ≥ 1"),
        (math.nan, "--iterations is nan; expected a whole number ≥ 1"),
    ],
)
def test_parse_count_errors(text: str | float, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_count(text, name="--iterations")
    assert str(info.value) == message or str(info.value).startswith(message)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 10**15))
def test_parse_count_round_trip(n: int) -> None:
    assert parse_count(str(n)) == n
    assert parse_count(f"{n:.15e}") == n


def test_budget_modules_import_no_numerics() -> None:
    code = (
        "import sys, qcalc; before = set(sys.modules); "
        "import qcalc.budget, qcalc.applications, qcalc.qasm; "
        "new = set(sys.modules) - before; "
        "print(sorted(m for m in new if m.split('.')[0] in ('numpy', 'scipy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
