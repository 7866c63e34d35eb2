"""Bell-pair and classical-bit budgets of distributed quantum computations.

A computation split over several QPUs pays for every two-qubit gate that crosses a QPU
boundary with one Bell pair and two classical bits (the teleported CNOT of Eisert et al.
[1]_), for every qubit it moves with one pair and two bits (teleportation, Bennett et al.
[2]_) and for every nonlocal SWAP with two teleportations. This module counts those
resources for distributed VQE and for any partitioned circuit, derives the pair rate and
the pair fidelity they need and, for a demand of a scenario, whether its delivered pairs
(distilled as far as its memories allow) serve them in the time allowed.

Every result carries ``explain``: the derivation as textbook steps (formula, inputs with
units, result, reference) for ``--explain``.

Counts are exact Python integers (2.5e7 pairs are 25 000 000, not a float).

References
----------
.. [1] J. Eisert, K. Jacobs, P. Papadopoulos, M. B. Plenio, "Optimal local implementation
   of nonlocal quantum gates", Phys. Rev. A 62, 052317 (2000), Sec. II (one ebit and two
   classical bits per CNOT).
.. [2] C. H. Bennett, G. Brassard, C. Crépeau, R. Jozsa, A. Peres, W. K. Wootters,
   "Teleporting an unknown quantum state via dual classical and Einstein-Podolsky-Rosen
   channels", Phys. Rev. Lett. 70, 1895 (1993).
.. [3] S. Wehner, D. Elkouss, R. Hanson, "Quantum internet: A vision for the road ahead",
   Science 362, eaam9288 (2018), Box 1 (errors of a sequence of ℓ operations add up to at
   most ℓ·ε) and Table 1.
.. [4] D. Gottesman, I. L. Chuang, "Demonstrating the viability of universal quantum
   computation using teleportation and single-qubit operations", Nature 402, 390 (1999)
   (a Pauli error on the resource state becomes a Pauli error on the teleported gate).
.. [5] L. Jiang, J. M. Taylor, A. S. Sørensen, M. D. Lukin, "Distributed quantum computation
   based on small quantum registers", Phys. Rev. A 76, 062323 (2007) (nonlocal gates from
   purified Bell pairs; the gate error is set by the pair infidelity).
.. [6] C. H. Bennett, G. Brassard, S. Popescu, B. Schumacher, J. A. Smolin, W. K. Wootters,
   "Purification of noisy entanglement and faithful teleportation via noisy channels",
   Phys. Rev. Lett. 76, 722 (1996).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from qcalc.applications import APPLICATIONS, STAGE5_MIN_FIDELITY, STAGE_NAMES
from qcalc.explain import Quantity, Step
from qcalc.parsing import parse_count
from qcalc.records import record

if TYPE_CHECKING:
    from qcalc.scenario import Demand, Scenario

Number = int | float

#: Bell pairs and classical bits per teleported (nonlocal) CNOT or controlled-U gate:
#: one ebit, one bit each way. Eisert et al., PRA 62, 052317 (2000), Sec. II.
PAIRS_PER_NONLOCAL_GATE = 1
BITS_PER_NONLOCAL_GATE = 2

#: Bell pairs and classical bits per teleported qubit. Bennett et al., PRL 70, 1895 (1993).
PAIRS_PER_TELEPORTED_QUBIT = 1
BITS_PER_TELEPORTED_QUBIT = 2

#: A nonlocal SWAP exchanges two qubits by two teleportations, one each way [2].
PAIRS_PER_NONLOCAL_SWAP = 2 * PAIRS_PER_TELEPORTED_QUBIT
BITS_PER_NONLOCAL_SWAP = 2 * BITS_PER_TELEPORTED_QUBIT

#: Default bound on the network-induced error of one circuit run: at least 90 % of runs
#: see no error from the Bell pairs. A planning choice, not a published value; every
#: budget function takes ``target_circuit_error`` to change it. [unitless, 0..1]
DEFAULT_TARGET_CIRCUIT_ERROR = 0.1

_DISTRIBUTED_QC_STAGE = APPLICATIONS["distributed_qc"].stage

_ROADMAP = "Wehner, Elkouss, Hanson, Science 362, eaam9288 (2018)"
_EISERT = "Eisert, Jacobs, Papadopoulos, Plenio, PRA 62, 052317 (2000), Sec. II"
_BENNETT93 = "Bennett et al., PRL 70, 1895 (1993)"


# --------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------


def _check_fraction(value: float, name: str, *, open_low: bool = False) -> float:
    low = "(0" if open_low else "[0"
    ok = math.isfinite(value) and (value > 0.0 if open_low else value >= 0.0) and value <= 1.0
    if isinstance(value, bool) or not ok:
        raise ValueError(f"{name} is {value!r}; expected a fraction in {low}, 1]")
    return float(value)


def _check_time_s(value: float, name: str) -> float:
    if isinstance(value, bool) or not math.isfinite(value) or value <= 0.0:
        raise ValueError(f"{name} is {value!r}; expected a duration > 0 s")
    return float(value)


# --------------------------------------------------------------------------------------
# Shared formulas
# --------------------------------------------------------------------------------------


def required_pair_fidelity(
    pair_operations_per_run: int,
    target_circuit_error: float = DEFAULT_TARGET_CIRCUIT_ERROR,
    fidelity_floor: float = STAGE5_MIN_FIDELITY,
) -> float:
    """Bell-pair fidelity that keeps the network error of one circuit run below a target.

    A teleported gate (or teleported qubit) that consumes a Bell-diagonal pair of fidelity
    F acts as the ideal operation followed by a Pauli error with probability 1 − F [1]_
    [2]_, whose diamond-norm distance from the ideal operation is ε = 1 − F. Over the ℓ
    pair-consuming operations of one run the errors add up to at most ℓ·ε (Box 1 of [3]_),
    so ℓ(1 − F) ≤ ε_target. The contract's stage-5 threshold is kept as a floor:

    .. math:: F_\\mathrm{req} = \\max\\left(F_5,\\; 1 - \\frac{\\varepsilon_\\mathrm{target}}{\\ell}\\right)

    Parameters
    ----------
    pair_operations_per_run : int
        ℓ, Bell pairs consumed by one run of the circuit (one shot). [pairs, ≥ 1]
    target_circuit_error : float
        ε_target, bound on the probability that a run suffers an error from the pairs.
        [unitless, 0..1]
    fidelity_floor : float
        F_5, the lowest pair fidelity accepted whatever the circuit (SPEC stage 5: 0.99).
        [unitless, 0..1]

    Returns
    -------
    float
        F_req, the pair fidelity needed. [unitless, 0..1]

    Notes
    -----
    The bound is a union bound and so conservative; for independent Pauli errors the
    probability of an error-free run is exactly F^ℓ ≥ 1 − ℓ(1 − F).

    References
    ----------
    .. [1] J. Eisert et al., Phys. Rev. A 62, 052317 (2000), Sec. II: the corrections of
       the teleported CNOT are Paulis, so an X (Z) error on the pair becomes an X on the
       target (a Z on the control).
    .. [2] D. Gottesman, I. L. Chuang, Nature 402, 390 (1999).
    .. [3] S. Wehner, D. Elkouss, R. Hanson, Science 362, eaam9288 (2018), Box 1,
       D◇(R, I) ≤ ℓ·ε.
    """
    ell = parse_count(pair_operations_per_run, name="pair_operations_per_run")
    eps = _check_fraction(target_circuit_error, "target_circuit_error")
    floor = _check_fraction(fidelity_floor, "fidelity_floor")
    return max(floor, 1.0 - eps / ell)  # Box 1 of [3]: ℓ·(1 - F) ≤ ε_target


@record(frozen=True)
class _NetworkNeeds:
    """Totals shared by every budget: pairs, bits, rate, fidelity, stage, and their steps."""

    bell_pairs_total: int
    classical_bits_total: int
    required_rate_hz: float
    required_fidelity: float
    required_stage: int
    steps: tuple[Step, ...]


def _network_needs(
    *,
    pairs_per_run: int,
    bits_per_run: int,
    runs: int,
    runs_symbol: str,
    runs_description: str,
    wall_time_s: float,
    target_circuit_error: float,
    fidelity_floor: float,
) -> _NetworkNeeds:
    pairs_total = pairs_per_run * runs
    bits_total = bits_per_run * runs
    rate_hz = pairs_total / wall_time_s
    if pairs_per_run > 0:
        fidelity = required_pair_fidelity(pairs_per_run, target_circuit_error, fidelity_floor)
        stage = _DISTRIBUTED_QC_STAGE
    else:
        fidelity, stage = 0.0, 0
    n_run = Quantity("ℓ", pairs_per_run, "pairs", "Bell pairs per circuit run")
    n_tot = Quantity("N", pairs_total, "pairs", "Bell pairs in total")
    runs_q = Quantity(runs_symbol, runs, "", runs_description)
    steps = (
        Step.of("Bell pairs in total", f"N = ℓ · {runs_symbol}", (n_run, runs_q), n_tot),
        Step.of(
            "Classical bits in total",
            f"B = b · {runs_symbol}",
            (Quantity("b", bits_per_run, "bits", "classical bits per circuit run"), runs_q),
            Quantity("B", bits_total, "bits", "classical bits in total"),
            f"2 bits per teleported gate or qubit: {_EISERT}; {_BENNETT93}",
        ),
        Step.of(
            "Required Bell-pair rate",
            "R = N / T",
            (n_tot, Quantity("T", wall_time_s, "s", "wall time")),
            Quantity("R", rate_hz, "Hz", "Bell pairs per second"),
        ),
        Step.of(
            "Required Bell-pair fidelity",
            "F_req = max(F_5, 1 - ε / ℓ)   (ℓ(1 - F) ≤ ε; F_req = 0 when ℓ = 0)",
            (
                n_run,
                Quantity("ε", target_circuit_error, "unitless", "target network error per run"),
                Quantity("F_5", fidelity_floor, "unitless", "stage-5 fidelity threshold"),
            ),
            Quantity("F_req", fidelity, "unitless", "pair fidelity needed"),
            f"{_ROADMAP}, Box 1; Pauli error 1 - F per teleported gate: {_EISERT}",
        ),
        Step.of(
            "Required roadmap stage",
            "distributed quantum computing needs few-qubit fault tolerance (0 if ℓ = 0)",
            (),
            Quantity("stage", stage, "", STAGE_NAMES.get(stage, "no network needed")),
            f"{_ROADMAP}, Table 1",
        ),
    )
    return _NetworkNeeds(pairs_total, bits_total, rate_hz, fidelity, stage, steps)


def _json_number(value: Number) -> Number | None:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --------------------------------------------------------------------------------------
# Distributed VQE
# --------------------------------------------------------------------------------------


@record(frozen=True)
class VQEInputs:
    """Validated inputs of a distributed-VQE budget.

    Attributes
    ----------
    qubits_per_qpu : int
        n, qubits on each QPU. [qubits, ≥ 1]
    depth : int
        d, ansatz layers per circuit. [layers, ≥ 1]
    iterations : int
        I, optimiser iterations; an integral float such as ``1e4`` is accepted.
        [iterations, ≥ 1]
    wall_time_s : float
        T, time allowed for the whole run. [s, > 0]
    cross_cnots_per_layer : int or None
        c, CNOTs per layer that cross the QPU boundary; ``None`` means ⌊n/2⌋ (a layer of
        nearest-neighbour CNOTs on n qubits per QPU crosses the cut n/2 times). [CNOTs, ≥ 1]
    shots_per_iteration : int
        s, circuit runs per measurement group per iteration. [shots, ≥ 1]
    measurement_groups : int
        g, commuting groups of Hamiltonian terms measured separately. [groups, ≥ 1]
    target_circuit_error : float
        ε, bound on the network-induced error of one run. [unitless, 0..1]
    fidelity_floor : float
        F_5, lowest pair fidelity accepted (SPEC stage 5). [unitless, 0..1]
    """

    qubits_per_qpu: int
    depth: int
    iterations: int
    wall_time_s: float
    cross_cnots_per_layer: int | None = None
    shots_per_iteration: int = 1
    measurement_groups: int = 1
    target_circuit_error: float = DEFAULT_TARGET_CIRCUIT_ERROR
    fidelity_floor: float = STAGE5_MIN_FIDELITY

    def __post_init__(self) -> None:
        counts = ("qubits_per_qpu", "depth", "iterations", "shots_per_iteration")
        for name in (*counts, "measurement_groups"):
            object.__setattr__(self, name, parse_count(getattr(self, name), name=name))
        object.__setattr__(self, "wall_time_s", _check_time_s(self.wall_time_s, "wall_time_s"))
        _check_fraction(self.target_circuit_error, "target_circuit_error")
        _check_fraction(self.fidelity_floor, "fidelity_floor")
        if self.cross_cnots_per_layer is None:
            default = self.qubits_per_qpu // 2
            if default < 1:
                raise ValueError(
                    f"cross_cnots_per_layer defaults to qubits_per_qpu // 2 = {default} for "
                    f"qubits_per_qpu = {self.qubits_per_qpu}; expected ≥ 1 cross-QPU CNOT per "
                    "layer (give cross_cnots_per_layer explicitly)"
                )
            object.__setattr__(self, "cross_cnots_per_layer", default)
        else:
            value = parse_count(self.cross_cnots_per_layer, name="cross_cnots_per_layer")
            object.__setattr__(self, "cross_cnots_per_layer", value)


@record(frozen=True)
class VQEBudget:
    """Network resources of a distributed VQE run (see :func:`vqe_budget`).

    Attributes
    ----------
    inputs : VQEInputs
        The validated inputs (with ``cross_cnots_per_layer`` resolved).
    cross_cnots_per_circuit : int
        Cross-QPU CNOTs in one circuit run, c·d. [CNOTs]
    cross_cnots_per_iteration : int
        Cross-QPU CNOTs per optimiser iteration, c·d·s·g. [CNOTs]
    bell_pairs_per_iteration : int
        Bell pairs per iteration, one per cross CNOT. [pairs]
    bell_pairs_total : int
        Bell pairs for the whole run. [pairs]
    classical_bits_total : int
        Classical bits for the whole run, two per teleported CNOT. [bits]
    required_rate_hz : float
        Bell-pair rate that finishes in the wall time. [Hz]
    required_fidelity : float
        Pair fidelity needed (:func:`required_pair_fidelity`). [unitless]
    required_stage : int
        Roadmap stage needed (5, few-qubit fault tolerance).
    explain : tuple of qcalc.explain.Step
        The derivation, step by step.
    """

    inputs: VQEInputs
    cross_cnots_per_circuit: int
    cross_cnots_per_iteration: int
    bell_pairs_per_iteration: int
    bell_pairs_total: int
    classical_bits_total: int
    required_rate_hz: float
    required_fidelity: float
    required_stage: int
    explain: tuple[Step, ...]

    @property
    def wall_time_s(self) -> float:
        """Wall time allowed. [s]"""
        return self.inputs.wall_time_s

    @property
    def required_stage_name(self) -> str:
        """Name of :attr:`required_stage`."""
        return STAGE_NAMES[self.required_stage]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready result with the contract's stable keys (units in the key names)."""
        return {
            "qubits_per_qpu": self.inputs.qubits_per_qpu,
            "depth": self.inputs.depth,
            "iterations": self.inputs.iterations,
            "cross_cnots_per_layer": self.inputs.cross_cnots_per_layer,
            "shots_per_iteration": self.inputs.shots_per_iteration,
            "measurement_groups": self.inputs.measurement_groups,
            "wall_time_s": self.inputs.wall_time_s,
            "cross_cnots_per_circuit": self.cross_cnots_per_circuit,
            "cross_cnots_per_iteration": self.cross_cnots_per_iteration,
            "bell_pairs_per_iteration": self.bell_pairs_per_iteration,
            "bell_pairs_total": self.bell_pairs_total,
            "classical_bits_total": self.classical_bits_total,
            "required_rate_hz": self.required_rate_hz,
            "required_fidelity": self.required_fidelity,
            "required_stage": self.required_stage,
            "required_stage_name": self.required_stage_name,
        }


def vqe_budget(
    *,
    qubits_per_qpu: int,
    depth: int,
    iterations: int | float,
    wall_time_s: float,
    cross_cnots_per_layer: int | None = None,
    shots_per_iteration: int = 1,
    measurement_groups: int = 1,
    target_circuit_error: float = DEFAULT_TARGET_CIRCUIT_ERROR,
    fidelity_floor: float = STAGE5_MIN_FIDELITY,
) -> VQEBudget:
    """Bell-pair and classical-bit budget of a variational quantum eigensolver split over QPUs.

    Each ansatz layer has c CNOTs across the QPU boundary, each teleported with one Bell
    pair and two classical bits [1]_:

    .. math::

        C = c\\,d, \\qquad N_\\mathrm{it} = C\\,s\\,g, \\qquad N = N_\\mathrm{it}\\,I,
        \\qquad B = 2N, \\qquad R = N / T

    Parameters
    ----------
    qubits_per_qpu : int
        n, qubits per QPU. [qubits, ≥ 1]
    depth : int
        d, ansatz layers. [layers, ≥ 1]
    iterations : int or float
        I, optimiser iterations (``1e4`` accepted). [iterations, ≥ 1]
    wall_time_s : float
        T, wall time allowed. [s, > 0]
    cross_cnots_per_layer : int, optional
        c, cross-QPU CNOTs per layer; default ⌊n/2⌋. [CNOTs, ≥ 1]
    shots_per_iteration : int
        s, shots per measurement group per iteration. [shots, ≥ 1]
    measurement_groups : int
        g, separately measured groups of Hamiltonian terms. [groups, ≥ 1]
    target_circuit_error : float
        ε, bound on the network-induced error of one run. [unitless, 0..1]
    fidelity_floor : float
        F_5, lowest pair fidelity accepted. [unitless, 0..1]

    Returns
    -------
    VQEBudget
        Pairs per iteration and in total [pairs], classical bits [bits], required rate [Hz],
        fidelity [unitless] and stage, with the derivation in ``explain``.

    Raises
    ------
    ValueError
        For a count < 1, a non-integral count, a wall time ≤ 0 or a fraction outside [0, 1].

    Examples
    --------
    The contract's worked example: 50 qubits per QPU, depth 100, 10⁴ iterations in an
    hour need 25 × 100 = 2,500 pairs per iteration, 2.5·10⁷ in total, ≈ 6,944 pairs/s.

    >>> b = vqe_budget(qubits_per_qpu=50, depth=100, iterations=1e4, wall_time_s=3600)
    >>> b.bell_pairs_per_iteration, b.bell_pairs_total, round(b.required_rate_hz, 2)
    (2500, 25000000, 6944.44)

    References
    ----------
    .. [1] J. Eisert, K. Jacobs, P. Papadopoulos, M. B. Plenio, Phys. Rev. A 62, 052317
       (2000), Sec. II.
    """
    inputs = VQEInputs(
        qubits_per_qpu=qubits_per_qpu,
        depth=depth,
        iterations=parse_count(iterations, name="iterations"),
        wall_time_s=wall_time_s,
        cross_cnots_per_layer=cross_cnots_per_layer,
        shots_per_iteration=shots_per_iteration,
        measurement_groups=measurement_groups,
        target_circuit_error=target_circuit_error,
        fidelity_floor=fidelity_floor,
    )
    c = inputs.cross_cnots_per_layer
    assert c is not None  # resolved in VQEInputs.__post_init__
    per_circuit = c * inputs.depth  # C = c·d
    runs_per_iteration = inputs.shots_per_iteration * inputs.measurement_groups
    per_iteration = per_circuit * runs_per_iteration  # N_it = C·s·g
    pairs_per_iteration = PAIRS_PER_NONLOCAL_GATE * per_iteration  # Sec. II of [1]
    needs = _network_needs(
        pairs_per_run=PAIRS_PER_NONLOCAL_GATE * per_circuit,
        bits_per_run=BITS_PER_NONLOCAL_GATE * per_circuit,
        runs=runs_per_iteration * inputs.iterations,
        runs_symbol="r",
        runs_description="circuit runs, s · g · I",
        wall_time_s=inputs.wall_time_s,
        target_circuit_error=inputs.target_circuit_error,
        fidelity_floor=inputs.fidelity_floor,
    )
    steps = _vqe_steps(inputs, cross_cnots_per_layer is None, needs)
    return VQEBudget(
        inputs=inputs,
        cross_cnots_per_circuit=per_circuit,
        cross_cnots_per_iteration=per_iteration,
        bell_pairs_per_iteration=pairs_per_iteration,
        bell_pairs_total=needs.bell_pairs_total,
        classical_bits_total=needs.classical_bits_total,
        required_rate_hz=needs.required_rate_hz,
        required_fidelity=needs.required_fidelity,
        required_stage=needs.required_stage,
        explain=steps,
    )


def _vqe_steps(inputs: VQEInputs, default_c: bool, needs: _NetworkNeeds) -> tuple[Step, ...]:
    """The derivation of a VQE budget: cross CNOTs per layer (when defaulted), per run,
    pairs per iteration, circuit runs, then the network's needs."""
    c = inputs.cross_cnots_per_layer
    assert c is not None  # resolved in VQEInputs.__post_init__
    per_circuit = c * inputs.depth
    runs_per_iteration = inputs.shots_per_iteration * inputs.measurement_groups
    c_q = Quantity("c", c, "CNOTs", "cross-QPU CNOTs per layer")
    d_q = Quantity("d", inputs.depth, "layers", "ansatz depth")
    circ_q = Quantity("C", per_circuit, "CNOTs", "cross-QPU CNOTs per circuit run")
    s_q = Quantity("s", inputs.shots_per_iteration, "shots", "shots per group per iteration")
    g_q = Quantity("g", inputs.measurement_groups, "groups", "measurement groups")
    n_it = Quantity(
        "N_it",
        PAIRS_PER_NONLOCAL_GATE * per_circuit * runs_per_iteration,
        "pairs",
        "Bell pairs per iteration",
    )
    n_q = Quantity("n", inputs.qubits_per_qpu, "qubits", "qubits per QPU")
    steps: list[Step] = []
    if default_c:
        steps.append(
            Step.of(
                "Cross-QPU CNOTs per layer (default)",
                "c = floor(n / 2)   (a layer of neighbour CNOTs crosses the cut n/2 times)",
                (n_q,),
                c_q,
            )
        )
    steps += [
        Step.of("Cross-QPU CNOTs per circuit run", "C = c · d", (c_q, d_q), circ_q),
        Step.of(
            "Bell pairs per iteration",
            "N_it = C · s · g   (1 pair per teleported CNOT)",
            (circ_q, s_q, g_q),
            n_it,
            _EISERT,
        ),
        Step.of(
            "Circuit runs",
            "r = s · g · I",
            (s_q, g_q, Quantity("I", inputs.iterations, "iterations", "optimiser iterations")),
            Quantity("r", runs_per_iteration * inputs.iterations, "runs", "circuit runs"),
        ),
        *needs.steps,
    ]
    return tuple(steps)


# --------------------------------------------------------------------------------------
# Any partitioned circuit
# --------------------------------------------------------------------------------------


@record(frozen=True)
class CircuitBudget:
    """Network resources of a partitioned circuit (see :func:`circuit_budget`).

    Attributes
    ----------
    cross_cnots, teleported_qubits, nonlocal_swaps, runs : int
        The inputs.
    wall_time_s : float
        Wall time allowed. [s]
    bell_pairs_per_run : int
        Pairs per circuit run, C + Q + 2S. [pairs]
    classical_bits_per_run : int
        Classical bits per run, 2C + 2Q + 4S. [bits]
    bell_pairs_total, classical_bits_total : int
        Per-run numbers times the runs. [pairs], [bits]
    required_rate_hz : float
        Pair rate that finishes in the wall time. [Hz]
    required_fidelity : float
        Pair fidelity needed; 0 when no pair is needed. [unitless]
    required_stage : int
        5 (distributed quantum computing), or 0 when the circuit needs no pair.
    explain : tuple of qcalc.explain.Step
        The derivation, step by step.
    """

    cross_cnots: int
    teleported_qubits: int
    nonlocal_swaps: int
    runs: int
    wall_time_s: float
    bell_pairs_per_run: int
    classical_bits_per_run: int
    bell_pairs_total: int
    classical_bits_total: int
    required_rate_hz: float
    required_fidelity: float
    required_stage: int
    explain: tuple[Step, ...]

    @property
    def required_stage_name(self) -> str:
        """Name of :attr:`required_stage` ("no network needed" for 0)."""
        return STAGE_NAMES.get(self.required_stage, "no network needed")

    def to_dict(self) -> dict[str, object]:
        """JSON-ready result (units in the key names)."""
        return {
            "cross_cnots": self.cross_cnots,
            "teleported_qubits": self.teleported_qubits,
            "nonlocal_swaps": self.nonlocal_swaps,
            "runs": self.runs,
            "wall_time_s": self.wall_time_s,
            "bell_pairs_per_run": self.bell_pairs_per_run,
            "classical_bits_per_run": self.classical_bits_per_run,
            "bell_pairs_total": self.bell_pairs_total,
            "classical_bits_total": self.classical_bits_total,
            "required_rate_hz": self.required_rate_hz,
            "required_fidelity": self.required_fidelity,
            "required_stage": self.required_stage,
            "required_stage_name": self.required_stage_name,
        }


def circuit_budget(
    *,
    cross_cnots: int,
    wall_time_s: float,
    teleported_qubits: int = 0,
    nonlocal_swaps: int = 0,
    runs: int | float = 1,
    target_circuit_error: float = DEFAULT_TARGET_CIRCUIT_ERROR,
    fidelity_floor: float = STAGE5_MIN_FIDELITY,
) -> CircuitBudget:
    """Bell-pair and classical-bit budget of any circuit partitioned over QPUs.

    A cross-partition CNOT or controlled-U costs one pair and two bits [1]_, a teleported
    qubit one pair and two bits [2]_, a nonlocal SWAP two teleportations:

    .. math::

        \\ell = C + Q + 2S, \\qquad b = 2C + 2Q + 4S, \\qquad
        N = \\ell\\,r, \\qquad B = b\\,r, \\qquad R = N / T

    Parameters
    ----------
    cross_cnots : int
        C, two-qubit gates (CNOT, CZ, controlled-U, ZZ rotations) between partitions, per
        run. [gates, ≥ 0]
    wall_time_s : float
        T, wall time allowed. [s, > 0]
    teleported_qubits : int
        Q, qubits moved between partitions per run. [qubits, ≥ 0]
    nonlocal_swaps : int
        S, SWAPs between partitions per run. [gates, ≥ 0]
    runs : int or float
        r, circuit runs (shots × iterations; ``1e4`` accepted). [runs, ≥ 1]
    target_circuit_error : float
        ε, bound on the network-induced error of one run. [unitless, 0..1]
    fidelity_floor : float
        F_5, lowest pair fidelity accepted. [unitless, 0..1]

    Returns
    -------
    CircuitBudget
        Pairs and classical bits per run and in total [pairs], [bits], required rate [Hz],
        fidelity [unitless] and stage, with the derivation in ``explain``. A circuit with
        no cross-partition operation needs 0 pairs, 0 Hz, fidelity 0 and stage 0.

    Raises
    ------
    ValueError
        For a negative or non-integral count, runs < 1 or a wall time ≤ 0.

    References
    ----------
    .. [1] J. Eisert, K. Jacobs, P. Papadopoulos, M. B. Plenio, Phys. Rev. A 62, 052317
       (2000), Sec. II (any controlled-U with one ebit and two bits).
    .. [2] C. H. Bennett et al., Phys. Rev. Lett. 70, 1895 (1993).
    """
    c = parse_count(cross_cnots, name="cross_cnots", minimum=0)
    q = parse_count(teleported_qubits, name="teleported_qubits", minimum=0)
    s = parse_count(nonlocal_swaps, name="nonlocal_swaps", minimum=0)
    r = parse_count(runs, name="runs")
    t = _check_time_s(wall_time_s, "wall_time_s")
    _check_fraction(target_circuit_error, "target_circuit_error")
    _check_fraction(fidelity_floor, "fidelity_floor")
    pairs = (
        PAIRS_PER_NONLOCAL_GATE * c  # Sec. II of [1]
        + PAIRS_PER_TELEPORTED_QUBIT * q  # [2]
        + PAIRS_PER_NONLOCAL_SWAP * s  # two teleportations per SWAP
    )
    bits = BITS_PER_NONLOCAL_GATE * c + BITS_PER_TELEPORTED_QUBIT * q + BITS_PER_NONLOCAL_SWAP * s
    needs = _network_needs(
        pairs_per_run=pairs,
        bits_per_run=bits,
        runs=r,
        runs_symbol="r",
        runs_description="circuit runs",
        wall_time_s=t,
        target_circuit_error=target_circuit_error,
        fidelity_floor=fidelity_floor,
    )
    inputs = (
        Quantity("C", c, "gates", "cross-partition two-qubit gates per run"),
        Quantity("Q", q, "qubits", "teleported qubits per run"),
        Quantity("S", s, "swaps", "nonlocal SWAPs per run"),
    )
    steps = (
        Step.of(
            "Bell pairs per circuit run",
            "ℓ = C + Q + 2 S   (1 pair per nonlocal gate, 1 per teleportation, 2 per SWAP)",
            inputs,
            Quantity("ℓ", pairs, "pairs", "Bell pairs per circuit run"),
            f"{_EISERT}; {_BENNETT93}",
        ),
        Step.of(
            "Classical bits per circuit run",
            "b = 2 C + 2 Q + 4 S",
            inputs,
            Quantity("b", bits, "bits", "classical bits per circuit run"),
            f"{_EISERT}; {_BENNETT93}",
        ),
        *needs.steps,
    )
    return CircuitBudget(
        cross_cnots=c,
        teleported_qubits=q,
        nonlocal_swaps=s,
        runs=r,
        wall_time_s=t,
        bell_pairs_per_run=pairs,
        classical_bits_per_run=bits,
        bell_pairs_total=needs.bell_pairs_total,
        classical_bits_total=needs.classical_bits_total,
        required_rate_hz=needs.required_rate_hz,
        required_fidelity=needs.required_fidelity,
        required_stage=needs.required_stage,
        explain=steps,
    )


# --------------------------------------------------------------------------------------
# Distillation overhead
# --------------------------------------------------------------------------------------


@record(frozen=True)
class DistillationPlan:
    """Rounds of recurrence distillation needed to lift a pair fidelity to a target.

    Attributes
    ----------
    reachable : bool
        Whether the target fidelity is reached within the round limit.
    rounds : int
        Rounds used (0 if the delivered pairs are already good enough).
    raw_pairs_per_pair : float
        Raw pairs per output pair, the raw pair rate over the distilled one; ``inf`` when
        unreachable. [pairs]
    final_fidelity : float
        Fidelity after the last round performed. [unitless]
    success_probabilities : tuple of float
        p_i of each round. [unitless]
    fidelities : tuple of float
        Fidelity after each round. [unitless]
    reason : str
        One line saying why it is (un)reachable.
    """

    reachable: bool
    rounds: int
    raw_pairs_per_pair: float
    final_fidelity: float
    success_probabilities: tuple[float, ...]
    fidelities: tuple[float, ...]
    reason: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form; an infinite raw-pair cost becomes ``None``."""
        return {
            "reachable": self.reachable,
            "rounds": self.rounds,
            "raw_pairs_per_pair": _json_number(self.raw_pairs_per_pair),
            "final_fidelity": self.final_fidelity,
            "success_probabilities": list(self.success_probabilities),
            "fidelities": list(self.fidelities),
            "reason": self.reason,
        }


# --------------------------------------------------------------------------------------
# Can a deployment serve the budget?
# --------------------------------------------------------------------------------------


class PairDemand(Protocol):
    """What serving needs from a budget (``VQEBudget``, ``CircuitBudget``)."""

    @property
    def bell_pairs_total(self) -> int: ...

    @property
    def wall_time_s(self) -> float: ...

    @property
    def required_rate_hz(self) -> float: ...

    @property
    def required_fidelity(self) -> float: ...

    @property
    def required_stage(self) -> int: ...


#: A budget type (VQE or circuit), kept through :func:`_served`.
_B = TypeVar("_B", bound=PairDemand)


@record(frozen=True)
class Feasibility:
    """Whether a deployment can serve a budget, and how long it takes.

    Attributes
    ----------
    available_rate_hz : float
        Pair rate the deployment delivers. [Hz]
    fidelity : float
        Fidelity of the delivered pairs. [unitless]
    distillation : DistillationPlan or None
        Distillation used to reach the required fidelity; ``None`` if none was needed or
        no protocol was given.
    usable_rate_hz : float
        Rate of pairs at the delivered fidelity, available rate / raw pairs per pair. [Hz]
    delivered_fidelity : float
        Fidelity of the pairs the computation gets (after distillation). [unitless]
    time_to_complete_s : float
        Time to deliver all pairs at the usable rate; 0 if none are needed, ``inf`` if
        the usable rate is 0. [s]
    wall_time_s : float
        Wall time the budget allows. [s]
    rate_ok, fidelity_ok : bool
        Time within the wall time; delivered fidelity ≥ required.
    stage_reached : int or None
        Stage of the deployment, if given.
    stage_gap : int or None
        Stages missing, max(0, required − reached); ``None`` if no stage was given.
    feasible : bool
        Rate, fidelity and (if given) stage all suffice.
    reasons : tuple of str
        One line per check that failed (empty when feasible).
    """

    available_rate_hz: float
    fidelity: float
    distillation: DistillationPlan | None
    usable_rate_hz: float
    delivered_fidelity: float
    time_to_complete_s: float
    wall_time_s: float
    rate_ok: bool
    fidelity_ok: bool
    stage_reached: int | None
    stage_gap: int | None
    feasible: bool
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form; an infinite time becomes ``None``."""
        return {
            "available_rate_hz": self.available_rate_hz,
            "fidelity": self.fidelity,
            "usable_rate_hz": self.usable_rate_hz,
            "delivered_fidelity": self.delivered_fidelity,
            "time_to_complete_s": _json_number(self.time_to_complete_s),
            "wall_time_s": self.wall_time_s,
            "rate_ok": self.rate_ok,
            "fidelity_ok": self.fidelity_ok,
            "stage_reached": self.stage_reached,
            "stage_gap": self.stage_gap,
            "feasible": self.feasible,
            "reasons": list(self.reasons),
            "distillation": None if self.distillation is None else self.distillation.to_dict(),
        }


def _verdict(
    budget: PairDemand,
    available_rate_hz: float,
    fidelity: float,
    plan: DistillationPlan | None,
    usable_hz: float,
    delivered: float,
    stage_reached: int | None,
) -> Feasibility:
    """Time to complete at the usable rate, and the rate, fidelity and stage checks."""
    if budget.bell_pairs_total == 0:
        time_s = 0.0
    elif usable_hz > 0.0:
        time_s = budget.bell_pairs_total / usable_hz  # t = N / R_use
    else:
        time_s = math.inf
    rate_ok = time_s <= budget.wall_time_s
    fidelity_ok = budget.bell_pairs_total == 0 or delivered >= budget.required_fidelity
    gap = None if stage_reached is None else max(0, budget.required_stage - stage_reached)
    reasons: list[str] = []
    if not rate_ok:
        reasons.append(
            f"usable pair rate {usable_hz:.6g} Hz < required {budget.required_rate_hz:.6g} Hz "
            f"(takes {time_s:.6g} s, allowed {budget.wall_time_s:.6g} s)"
        )
    if not fidelity_ok:
        how = f" ({plan.reason})" if plan is not None else " (no distillation given)"
        reasons.append(
            f"pair fidelity {delivered:.6g} < required {budget.required_fidelity:.6g}{how}"
        )
    if gap:
        reasons.append(
            f"stage {stage_reached} reached < stage {budget.required_stage} required "
            f"({STAGE_NAMES.get(budget.required_stage, '?')})"
        )
    return Feasibility(
        available_rate_hz=available_rate_hz,
        fidelity=fidelity,
        distillation=plan,
        usable_rate_hz=usable_hz,
        delivered_fidelity=delivered,
        time_to_complete_s=time_s,
        wall_time_s=budget.wall_time_s,
        rate_ok=rate_ok,
        fidelity_ok=fidelity_ok,
        stage_reached=stage_reached,
        stage_gap=gap,
        feasible=not reasons,
        reasons=tuple(reasons),
    )


#: Most distillation rounds a deployment is tried with when it serves a budget: each
#: round at least doubles the raw pairs per output, so 2^12 raw pairs per pair is far past
#: any useful schedule. [rounds]
MAX_SERVE_ROUNDS = 12


@record(frozen=True)
class ServedBudget:
    """A budget against what one demand of a scenario delivers.

    Attributes
    ----------
    budget : VQEBudget or CircuitBudget
        What the computation needs.
    scenario, demand : str
        Names of the deployment and of the demand that serves it.
    path : tuple of str
        The demand's route.
    stage : int
        Roadmap stage the demand reaches.
    feasibility : Feasibility
        The verdict, with the distillation plan that came closest.
    schedule : tuple of str
        One line per distillation schedule tried: rounds, rate, fidelity.
    """

    budget: PairDemand
    scenario: str
    demand: str
    path: tuple[str, ...]
    stage: int
    feasibility: Feasibility
    schedule: tuple[str, ...] = ()

    @property
    def explain(self) -> tuple[Step, ...]:
        """The budget's derivation (serving adds no step of its own)."""
        steps: tuple[Step, ...] = getattr(self.budget, "explain", ())
        return steps

    def to_dict(self) -> dict[str, object]:
        """The budget's JSON with the deployment's: what ``qcalc budget --scenario`` prints."""
        data = _budget_dict(self.budget)
        extra = self.feasibility.to_dict()
        data.update(
            scenario=self.scenario,
            demand=self.demand,
            path=list(self.path),
            available_rate_hz=extra["available_rate_hz"],
            fidelity=extra["fidelity"],
            time_to_complete_s=extra["time_to_complete_s"],
            feasible=extra["feasible"],
            stage_reached=self.stage,
            stage_gap=extra["stage_gap"],
            feasibility=extra,
            distillation_tried=list(self.schedule),
        )
        return data


def _budget_dict(budget: PairDemand) -> dict[str, object]:
    """``budget.to_dict()`` of a VQE or circuit budget."""
    to_dict: Callable[[], dict[str, object]] = getattr(budget, "to_dict")  # noqa: B009
    return dict(to_dict())


def _pick_demand(scenario: Scenario, demand_name: str | None) -> Demand:
    """The named demand of ``scenario`` (default: the first), or a ScenarioError."""
    import difflib

    from qcalc.errors import ScenarioError

    names = [d.name for d in scenario.demands]
    if not names:
        raise ScenarioError("has no demands to serve the budget", file=scenario.file)
    if demand_name is None:
        return scenario.demands[0]
    if demand_name in names:
        return scenario.demands[names.index(demand_name)]
    close = difflib.get_close_matches(demand_name, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ScenarioError(
        f"no demand {demand_name!r} (demands: {', '.join(names)}){hint}", file=scenario.file
    )


@record(frozen=True)
class _Schedules:
    """The deliveries of 0, 1, 2, … distillation rounds tried, and where the search ended."""

    runs: tuple[Any, ...]  # qcalc.delivery.Delivery, one per number of rounds
    chosen: int | None  # fewest rounds that reach the required fidelity
    why_stop: str  # why no more rounds were tried, when none reached it


def _try_schedules(
    scenario: Scenario,
    result: Any,
    protocol: str,
    required_fidelity: float,
    max_rounds: int,
) -> _Schedules:
    """Deliver the demand's pairs with 0, 1, 2, … rounds of ``protocol`` until one reaches
    ``required_fidelity``, a round no longer raises the fidelity, the memories hold no more
    rounds or no pair is left (:func:`qcalc.delivery.deliver`)."""
    import numpy as np

    from qcalc.delivery import deliver
    from qcalc.scenario import Distillation

    runs: list[Any] = []
    why_stop = f"{max_rounds} round(s) tried"
    for rounds in range(0, max_rounds + 1):
        run = deliver(
            scenario,
            result.path,
            result.hops,
            Distillation(protocol=protocol, rounds=rounds) if rounds else None,
        )
        if rounds and int(np.max(run.distillation_rounds)) < rounds:
            why_stop = _distillation_note(run) or "the memories hold no more rounds"
            break
        runs.append(run)
        fidelity, rate = float(np.min(run.fidelity)), float(np.min(run.rate_hz))
        if not run.delivers or rate <= 0.0:
            why_stop = run.reason or f"{rounds} round(s) leave no pairs"
            break
        if fidelity >= required_fidelity:
            return _Schedules(tuple(runs), rounds, why_stop)
        if rounds and fidelity <= float(np.min(runs[-2].fidelity)):
            why_stop = f"round {rounds} no longer raises the fidelity"
            break
    return _Schedules(tuple(runs), None, why_stop)


def _schedule_lines(label: str, runs: tuple[Any, ...]) -> tuple[str, ...]:
    """One line per schedule tried: ``DEJMPS × 1: 12.5 pairs/s at fidelity 0.995``."""
    import numpy as np

    return tuple(
        f"{label} × {k}: {float(np.min(r.rate_hz)):.6g} pairs/s at fidelity "
        f"{float(np.min(r.fidelity)):.6g}"
        + (f" ({_distillation_note(r)})" if k and _distillation_note(r) else "")
        for k, r in enumerate(runs)
    )


def _served_verdict(budget: PairDemand, tried: _Schedules, label: str, stage: int) -> Feasibility:
    """The verdict of the schedule used (the fewest rounds that reach the fidelity) or,
    short of the target, of the one that came closest."""
    import numpy as np

    runs, chosen = tried.runs, tried.chosen
    raw = runs[0] if runs else None
    raw_rate = float(np.min(raw.rate_hz)) if raw is not None and raw.delivers else 0.0
    raw_fidelity = float(np.min(raw.fidelity)) if raw is not None and raw.delivers else 0.25
    best = (
        runs[chosen]
        if chosen is not None
        else max(runs, key=lambda r: float(np.min(r.fidelity)), default=None)
    )
    rate = float(np.min(best.rate_hz)) if best is not None and best.delivers else 0.0
    fidelity = float(np.min(best.fidelity)) if best is not None and best.delivers else raw_fidelity
    rounds_used = chosen if chosen is not None else (runs.index(best) if best else 0)
    needed = budget.required_fidelity
    plan = DistillationPlan(
        reachable=chosen is not None,
        rounds=rounds_used,
        raw_pairs_per_pair=(raw_rate / rate) if chosen is not None and rate > 0 else math.inf,
        final_fidelity=fidelity,
        success_probabilities=tuple(
            float(np.min(p)) for p in (best.round_success_probabilities if best else ())
        ),
        fidelities=tuple(float(np.min(f)) for f in (best.round_fidelities if best else ())),
        reason=(
            f"{label} from the raw pairs reaches {fidelity:.6g} ≥ {needed:.6g} in "
            f"{rounds_used} round(s)"
            if chosen is not None
            else f"{label} from the raw pairs stops at {fidelity:.6g} < {needed:.6g}: "
            f"{tried.why_stop}"
        ),
    )
    return _verdict(
        budget,
        raw_rate,
        raw_fidelity,
        plan if rounds_used or chosen is None else None,
        rate if chosen is not None else 0.0,
        fidelity,
        stage,
    )


def serve_demand(
    budget: PairDemand,
    scenario: Scenario,
    demand_name: str | None = None,
    *,
    max_rounds: int = MAX_SERVE_ROUNDS,
) -> ServedBudget:
    """Whether one demand of ``scenario`` can serve ``budget``, distilling as it must.

    The raw end-to-end pairs of the demand's route are distilled with the demand's
    protocol (DEJMPS when the demand names none) for 0, 1, 2, … rounds through
    :func:`qcalc.delivery.deliver` — the same chain that ``qcalc rate`` prints: the two
    inputs of a round are made in parallel or one after the other as the memories allow,
    the waiting pair decoheres, each round pays its classical round trip, and DEJMPS keeps
    the Bell-diagonal state (no re-twirl). The fewest rounds that reach the budget's
    required fidelity are used; the search stops where a round no longer raises the
    fidelity or no pair is left.

    Parameters
    ----------
    budget : VQEBudget or CircuitBudget
        Pairs needed, wall time, required fidelity and stage.
    scenario : qcalc.scenario.Scenario
        The deployment (the CLI loads it from its file).
    demand_name : str, optional
        Demand of the scenario (default: the first).
    max_rounds : int
        Most rounds tried. [rounds, ≥ 0]

    Returns
    -------
    ServedBudget
        The feasibility verdict with its distillation plan, and one line per schedule
        tried.

    Raises
    ------
    ScenarioError
        For a scenario with no demands or no demand of that name.
    """
    import numpy as np

    from qcalc.demands import evaluate_demand

    demand = _pick_demand(scenario, demand_name)
    result = evaluate_demand(scenario, demand)
    stage = int(np.max(result.stage))
    protocol = demand.distillation.protocol if demand.distillation is not None else "dejmps"
    label = protocol.upper()
    tried = _try_schedules(scenario, result, protocol, budget.required_fidelity, max_rounds)
    return ServedBudget(
        budget,
        scenario.name,
        demand.name,
        result.path,
        stage,
        _served_verdict(budget, tried, label, stage),
        _schedule_lines(label, tried.runs),
    )


def _distillation_note(run: Any) -> str:
    """What the delivery said about its distillation schedule, if anything."""
    return "; ".join(n for n in run.notes if n.startswith("distillation"))


# --------------------------------------------------------------------------------------
# The library's entry points
# --------------------------------------------------------------------------------------


def vqe(
    *,
    qubits_per_qpu: int,
    depth: int,
    iterations: int | float,
    wall_time_s: float,
    cross_cnots_per_layer: int | None = None,
    shots_per_iteration: int = 1,
    measurement_groups: int = 1,
    target_circuit_error: float = DEFAULT_TARGET_CIRCUIT_ERROR,
    scenario: Scenario | None = None,
    demand: str | None = None,
) -> VQEBudget | ServedBudget:
    """The distributed-VQE budget (:func:`vqe_budget`), served by ``scenario`` if given.

    Parameters
    ----------
    qubits_per_qpu, depth, iterations, wall_time_s, cross_cnots_per_layer, \
    shots_per_iteration, measurement_groups, target_circuit_error
        As :func:`vqe_budget` (``wall_time_s`` in s).
    scenario : qcalc.scenario.Scenario, optional
        A deployment; the budget is then served by one of its demands
        (:func:`serve_demand`).
    demand : str, optional
        The demand that serves it (default: the first); only with ``scenario``.

    Returns
    -------
    VQEBudget or ServedBudget
        The budget alone, or (with ``scenario``) the budget against what the demand
        delivers; ``to_dict()`` is the JSON ``qcalc budget vqe`` prints.

    Examples
    --------
    >>> vqe(qubits_per_qpu=50, depth=100, iterations=1e4, wall_time_s=3600).bell_pairs_total
    25000000
    """
    budget = vqe_budget(
        qubits_per_qpu=qubits_per_qpu,
        depth=depth,
        iterations=iterations,
        wall_time_s=wall_time_s,
        cross_cnots_per_layer=cross_cnots_per_layer,
        shots_per_iteration=shots_per_iteration,
        measurement_groups=measurement_groups,
        target_circuit_error=target_circuit_error,
    )
    return _served(budget, scenario, demand)


def circuit(
    *,
    cross_cnots: int,
    wall_time_s: float,
    teleported_qubits: int = 0,
    nonlocal_swaps: int = 0,
    runs: int | float = 1,
    target_circuit_error: float = DEFAULT_TARGET_CIRCUIT_ERROR,
    scenario: Scenario | None = None,
    demand: str | None = None,
) -> CircuitBudget | ServedBudget:
    """The budget of a partitioned circuit (:func:`circuit_budget`), served by ``scenario``
    if given.

    Parameters
    ----------
    cross_cnots, wall_time_s, teleported_qubits, nonlocal_swaps, runs, target_circuit_error
        As :func:`circuit_budget` (``wall_time_s`` in s).
    scenario : qcalc.scenario.Scenario, optional
        A deployment; the budget is then served by one of its demands
        (:func:`serve_demand`).
    demand : str, optional
        The demand that serves it (default: the first); only with ``scenario``.

    Returns
    -------
    CircuitBudget or ServedBudget
        The budget alone, or (with ``scenario``) the budget against what the demand
        delivers; ``to_dict()`` is the JSON ``qcalc budget circuit`` prints.
    """
    budget = circuit_budget(
        cross_cnots=cross_cnots,
        wall_time_s=wall_time_s,
        teleported_qubits=teleported_qubits,
        nonlocal_swaps=nonlocal_swaps,
        runs=runs,
        target_circuit_error=target_circuit_error,
    )
    return _served(budget, scenario, demand)


def _served(budget: _B, scenario: Scenario | None, demand: str | None) -> _B | ServedBudget:
    """``budget`` alone, or served by ``scenario``'s demand; a demand needs a scenario."""
    if scenario is None:
        if demand is not None:
            raise ValueError(f"demand {demand!r} is given without a scenario to serve it")
        return budget
    return serve_demand(budget, scenario, demand)
