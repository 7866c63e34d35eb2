"""Tests of qcalc.qasm: OpenQASM 2.0 parsing, partitions and cross-partition gate counts."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qcalc.budget import circuit_budget
from qcalc.qasm import (
    QasmError,
    count_cross_partition,
    count_cross_partition_gates,
    parse_partition,
    parse_qasm,
)

HEADER = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'

GHZ4 = (
    HEADER
    + """qreg q[4];
creg c[4];
h q[0];            // GHZ preparation
cx q[0],q[1];
cx q[1],q[2];
cx q[2],q[3];
barrier q;
measure q -> c;
"""
)


def test_ghz_circuit_has_one_cross_cnot() -> None:
    # A 4-qubit GHZ chain split 0-1 | 2-3 crosses the cut once, at cx q[1],q[2].
    counts = count_cross_partition_gates(GHZ4, "0-1:2-3", filename="ghz.qasm")
    assert counts.cross_two_qubit_gates == 1
    assert counts.cross_by_kind == {"cx": 1}
    assert counts.local_two_qubit_gates == 2
    assert counts.single_qubit_gates == 1
    assert counts.nonlocal_swaps == 0
    assert counts.cross_qubit_labels == ("q[1]", "q[2]")
    assert counts.cross_between_parts == {(1, 2): 1}
    circuit = parse_qasm(GHZ4)
    assert circuit.num_qubits == 4
    assert circuit.measurements == 4


def test_ghz_circuit_on_four_qpus() -> None:
    counts = count_cross_partition_gates(GHZ4, "0:1:2:3")
    assert counts.cross_two_qubit_gates == 3
    assert counts.cross_between_parts == {(1, 2): 1, (2, 3): 1, (3, 4): 1}


def test_registers_are_flattened_in_declaration_order() -> None:
    src = HEADER + "qreg a[2];\nqreg b[2];\ncx a[1], b[0];\ncz a[0], a[1];\n"
    counts = count_cross_partition_gates(src, "0-1:2-3")
    assert counts.cross_by_kind == {"cx": 1}
    assert counts.cross_qubits == (1, 2)
    assert counts.cross_qubit_labels == ("a[1]", "b[0]")
    assert counts.local_by_kind == {"cz": 1}


def test_register_broadcast() -> None:
    src = HEADER + "qreg a[3];\nqreg b[3];\nh a;\ncx a, b;\ncz a[0], b;\n"
    counts = count_cross_partition_gates(src, "0-2:3-5")
    assert counts.cross_by_kind == {"cx": 3, "cz": 3}
    assert counts.single_qubit_gates == 3


def test_parameterised_gates_and_kinds() -> None:
    src = HEADER + (
        "qreg q[4];\n"
        "u3(0.1,0.2,0.3) q[0];\n"
        "rz(pi/2) q[1];\n"
        "u2(0, -pi) q[2];\n"
        "crz(-pi/4) q[0],q[3];\n"
        "cu1(2*pi/3) q[1],q[2];\n"
        "rzz(0.5) q[0],q[2];\n"
        "rxx(sin(pi/8)^2) q[1],q[3];\n"
        "ch q[0],q[1];\n"
        "cy q[2],q[3];\n"
    )
    counts = count_cross_partition_gates(src, "0-1:2-3")
    assert counts.cross_by_kind == {"crz": 1, "cu1": 1, "rxx": 1, "rzz": 1}
    assert counts.local_by_kind == {"ch": 1, "cy": 1}
    assert counts.single_qubit_gates == 3


def test_swap_counts_as_a_nonlocal_swap() -> None:
    src = HEADER + "qreg q[4];\nswap q[0],q[3];\nswap q[0],q[1];\ncx q[1],q[2];\n"
    counts = count_cross_partition_gates(src, "0-1:2-3")
    assert counts.nonlocal_swaps == 1
    assert counts.cross_two_qubit_gates == 1
    assert counts.local_by_kind == {"swap": 1}
    budget = circuit_budget(
        cross_cnots=counts.cross_two_qubit_gates,
        nonlocal_swaps=counts.nonlocal_swaps,
        wall_time_s=1.0,
    )
    assert budget.bell_pairs_per_run == 3  # 1 for the CNOT, 2 for the SWAP


@pytest.mark.parametrize(
    ("partition", "cross"),
    [
        ("0:1:2", 6),  # every CNOT of the decomposition crosses
        ("0-1:2", 4),  # controls together: the 4 CNOTs onto the target cross
        ("0,2:1", 4),  # (a, c) together: the 2 CNOTs b→c and 2 CNOTs a→b cross
        ("0:1-2", 4),
    ],
)
def test_toffoli_uses_the_six_cnot_decomposition(partition: str, cross: int) -> None:
    # The Toffoli needs six CNOTs (Shende & Markov, Quantum Inf. Comput. 9, 461 (2009));
    # the textbook circuit (Nielsen & Chuang Fig. 4.9) has two on each pair of qubits.
    src = HEADER + "qreg q[3];\nccx q[0],q[1],q[2];\n"
    counts = count_cross_partition_gates(src, partition)
    assert counts.cross_two_qubit_gates == cross
    assert counts.cross_two_qubit_gates + counts.local_two_qubit_gates == 6
    assert counts.cross_by_gate == {"ccx": cross}
    assert counts.cross_by_kind == {"cx": cross}


def test_fredkin_is_two_cnots_around_a_toffoli() -> None:
    src = HEADER + "qreg q[3];\ncswap q[0],q[1],q[2];\n"
    counts = count_cross_partition_gates(src, "0:1:2")
    assert counts.cross_two_qubit_gates == 8
    assert counts.cross_by_gate == {"cswap": 8}


def test_user_gate_definitions_are_expanded() -> None:
    src = HEADER + (
        "qreg q[4];\n"
        "gate rot(theta) a { rz(theta/2) a; }\n"
        "gate mycz a, b\n{\n  h b;\n  cx a, b;   // the entangling part\n  h b;\n}\n"
        "gate entangle(t) a, b, c {\n  rot(t) a;\n  mycz a, b;\n  barrier a, b;\n"
        "  cx b, c;\n}\n"
        "entangle(0.3) q[0], q[2], q[3];\n"
        "mycz q[1], q[0];\n"
    )
    counts = count_cross_partition_gates(src, "0-1:2-3")
    assert counts.cross_by_gate == {"entangle": 1}
    assert counts.cross_by_kind == {"cx": 1}
    assert counts.local_by_kind == {"cx": 2}
    # rot (1) + 2 h in mycz inside entangle, plus 2 h of the second mycz.
    assert counts.single_qubit_gates == 5


def test_gates_without_qelib1_may_be_defined_by_the_user() -> None:
    src = "OPENQASM 2.0;\ngate cx c, t { CX c, t; }\nqreg q[2];\ncx q[0], q[1];\n"
    counts = count_cross_partition_gates(src, "0:1")
    assert counts.cross_by_kind == {"CX": 1}
    assert counts.cross_by_gate == {"cx": 1}


def test_a_user_definition_replaces_the_builtin_gate() -> None:
    # An exporter that writes out rzz as two CNOTs: counted as written (2 cross CNOTs).
    src = HEADER + (
        "gate rzz(theta) a, b { cx a, b; u1(theta) b; cx a, b; }\n"
        "qreg q[2];\nrzz(0.2) q[0], q[1];\n"
    )
    counts = count_cross_partition_gates(src, "0:1")
    assert counts.cross_by_gate == {"rzz": 2}
    assert counts.cross_by_kind == {"cx": 2}


def test_reset_if_and_opaque_single_qubit_gates() -> None:
    src = HEADER + (
        "opaque mygate(a) q;\n"
        "qreg q[2];\ncreg c[1];\n"
        "reset q;\n"
        "mygate(1.0) q[0];\n"
        "measure q[0] -> c[0];\n"
        "if (c == 1) cx q[0], q[1];\n"
    )
    counts = count_cross_partition_gates(src, "0:1")
    assert counts.cross_two_qubit_gates == 1  # a conditional gate is budgeted as if it ran
    assert counts.single_qubit_gates == 1


def bad(body: str, header: str = HEADER) -> str:
    """The message of the QasmError that ``header + body`` raises."""
    with pytest.raises(QasmError) as info:
        parse_qasm(header + body, filename="bad.qasm")
    assert isinstance(info.value, ValueError)
    return str(info.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("qreg q[2];\nfoo q[0];\n", "bad.qasm:4:1: unknown gate 'foo'"),
        ("qreg q[2];\n  cxx q[0],q[1];\n", "bad.qasm:4:3: unknown gate 'cxx'; did you mean 'cx'"),
        ("qreg q[2];\ncx q[0],q[0];\n", "bad.qasm:4:1: gate 'cx' uses qubit q[0] twice"),
        ("qreg q[2];\ncx q[0],q[2];\n", "bad.qasm:4:9: index 2 is out of range for 'q' of size 2"),
        ("qreg q[2];\ncx q[0],r[1];\n", "bad.qasm:4:9: 'r' is not a quantum register"),
        ("qreg q[2];\ncx q[0] q[1];\n", "bad.qasm:4:9: expected ',' or ';' after the arguments"),
        ("qreg q[2];\ncx q[0],q[1]\n", "bad.qasm:5:1: expected ',' or ';' after the arguments"),
        ("qreg q[2];\nrz q[0];\n", "bad.qasm:4:1: gate 'rz' takes 1 parameter(s), got 0"),
        ("qreg q[2];\nh q[0],q[1];\n", "bad.qasm:4:1: gate 'h' acts on 1 qubit(s), got 2"),
        ("qreg q[2];\nrz(theta) q[0];\n", "bad.qasm:4:4: unknown identifier 'theta'"),
        ("qreg q[2];\nrz(pi/) q[0];\n", "bad.qasm:4:7: expected a number, 'pi' or a parameter"),
        (
            "qreg a[2];\nqreg b[3];\ncx a, b;\n",
            "bad.qasm:5:4: registers of different sizes in one operation (a[2], b[3])",
        ),
        ("qreg q[2];\nqreg q[3];\n", "bad.qasm:4:6: register 'q' is already declared"),
        ("qreg q[0];\n", "bad.qasm:3:8: register 'q' has size 0; expected ≥ 1"),
        ("qreg q[2];\ncreg c[1];\nmeasure q -> c;\n", "bad.qasm:5:1: measure maps 2 qubit(s)"),
        ('include "mine.inc";\n', 'bad.qasm:3:9: cannot include "mine.inc"'),
        ("qreg q[2];\ncx q[0], q[1]; @\n", "bad.qasm:4:16: unexpected character '@'"),
        ('include "qelib1.inc;\n', "bad.qasm:3:9: unterminated string"),
        ("gate g a, b { cx a, c; }\n", "bad.qasm:3:21: 'c' is not a qubit argument of this gate"),
        ("gate g a { h a;\n", "bad.qasm:4:1: gate body is not closed with '}'"),
        (
            "gate g a { h a; }\ngate g a { x a; }\n",
            "bad.qasm:4:6: gate 'g' is already defined",
        ),
        (
            "opaque magic a, b;\nqreg q[2];\nmagic q[0], q[1];\n",
            "bad.qasm:5:1: opaque gate 'magic' acts on 2 qubits and has no definition",
        ),
        ("qreg q[2];\nif (q == 1) x q[0];\n", "bad.qasm:4:5: 'q' is not a classical register"),
        ("OPENQASM 2.0;\n", "bad.qasm:3:1: 'OPENQASM' must be the first statement"),
    ],
)
def test_errors_name_file_line_and_column(body: str, message: str) -> None:
    assert bad(body).startswith(message)


def test_openqasm_3_is_refused() -> None:
    assert bad("OPENQASM 3.0;\nqubit q;\n", header="") == (
        "bad.qasm:1:10: OpenQASM 3.0 is not supported; expected OPENQASM 2.0"
    )


# --------------------------------------------------------------------------------------
# Partitions
# --------------------------------------------------------------------------------------


def test_parse_partition() -> None:
    parts = parse_partition("0-49:50-99", 100)
    assert parts == [frozenset(range(50)), frozenset(range(50, 100))]
    assert parse_partition(" 0-1, 4 : 2-3 ") == [frozenset({0, 1, 4}), frozenset({2, 3})]


@pytest.mark.parametrize(
    ("spec", "num_qubits", "message"),
    [
        ("0-5:5-9", 10, "partition '0-5:5-9': qubit 5 is in part 1 and part 2"),
        (
            "0-4:6-9",
            10,
            "partition '0-4:6-9' leaves qubit(s) 5 in no part; every qubit 0-9 of the "
            "circuit must be in exactly one part",
        ),
        ("0-2:6-9", 12, "partition '0-2:6-9' leaves qubit(s) 3-5, 10-11 in no part"),
        ("0-4:5-12", 10, "partition '0-4:5-12' names qubit(s) 10-12, but the circuit has 10"),
        ("0-4:a", 10, "partition '0-4:a': part 2 ('a') has 'a'; expected qubit indices"),
        ("0-4:", 10, "partition '0-4:': part 2 ('') has ''; expected qubit indices"),
        ("0-4:5--9", 10, "partition '0-4:5--9': part 2 ('5--9') has '5--9'"),
        ("5-3:0-2", 6, "partition '5-3:0-2': range '5-3' in part 1 runs backwards"),
        ("0-99", 100, "partition '0-99' has one part; separate the QPUs' qubits with ':'"),
    ],
)
def test_parse_partition_errors(spec: str, num_qubits: int, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_partition(spec, num_qubits)
    assert str(info.value).startswith(message)


def test_partition_must_cover_the_circuit() -> None:
    with pytest.raises(ValueError, match=r"leaves qubit\(s\) 3 in no part"):
        count_cross_partition_gates(GHZ4, "0-1:2")
    circuit = parse_qasm(GHZ4)
    with pytest.raises(ValueError, match="qubit 1 is in part 1 and part 2"):
        count_cross_partition(circuit, [frozenset({0, 1}), frozenset({1, 2, 3})])


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    n_qubits=st.integers(2, 12),
    n_parts=st.integers(2, 4),
)
def test_cross_count_matches_brute_force(data: st.DataObject, n_qubits: int, n_parts: int) -> None:
    n_parts = min(n_parts, n_qubits)
    owner = data.draw(
        st.lists(st.integers(1, n_parts), min_size=n_qubits, max_size=n_qubits), label="owner"
    )
    pairs = data.draw(
        st.lists(st.sampled_from(list(itertools.permutations(range(n_qubits), 2))), max_size=30),
        label="cx",
    )
    parts = [frozenset(q for q in range(n_qubits) if owner[q] == p) for p in range(1, 1 + n_parts)]
    src = HEADER + f"qreg q[{n_qubits}];\n" + "".join(f"cx q[{a}],q[{b}];\n" for a, b in pairs)
    counts = count_cross_partition(parse_qasm(src), [p for p in parts if p] + [frozenset()])
    expected = sum(owner[a] != owner[b] for a, b in pairs)
    assert counts.cross_two_qubit_gates == expected
    assert counts.cross_two_qubit_gates + counts.local_two_qubit_gates == len(pairs)
    assert sum(counts.cross_between_parts.values()) == expected
    assert set(counts.cross_qubits) == {q for a, b in pairs if owner[a] != owner[b] for q in (a, b)}


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(1, 63), min_size=1, max_size=5, unique=True))
def test_contiguous_partition_round_trip(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), 64]
    spec = ":".join(f"{lo}-{hi - 1}" for lo, hi in itertools.pairwise(bounds))
    parts = parse_partition(spec, 64)
    assert parts == [frozenset(range(lo, hi)) for lo, hi in itertools.pairwise(bounds)]
