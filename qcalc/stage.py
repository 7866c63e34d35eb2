"""The six stages of the quantum-internet roadmap and their criteria.

S. Wehner, D. Elkouss, R. Hanson, "Quantum internet: A vision for the road ahead",
Science 362, eaam9288 (2018), Fig. 2. The numbering follows the SPEC (trusted repeater
= 1); each verdict carries the number that decided it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from qcalc.applications import STAGE_NAMES
from qcalc.records import record
from qcalc.scenario import Scenario
from qcalc.units import fmt


@record(frozen=True)
class StageVerdict:
    """One stage: met or not (a numpy bool array in a sweep) and the reason."""

    stage: int
    name: str
    met: Any
    reason: str


def stage_name(stage: int) -> str:
    """Name of a stage number; stage 0 means none is met."""
    return STAGE_NAMES.get(stage, "none")


def _rate_text(value: Any) -> str:
    return fmt(value, "bit/s")


def trusted_repeater_verdict(scenario: Scenario, result: Any) -> tuple[Any, str]:
    """Stage 1: every hop has a positive key rate and every intermediate node is trusted."""
    untrusted = [n for n in result.intermediates if not scenario.nodes[n].trusted]
    if untrusted:
        roles = ", ".join(f"{n} ({scenario.nodes[n].role})" for n in untrusted[:3])
        more = f" and {len(untrusted) - 3} more" if len(untrusted) > 3 else ""
        return False, f"intermediate node {roles}{more} is not trusted"
    for budget, rate in zip(result.hops, result.hop_rates, strict=True):
        if rate is None:
            return False, (
                f"hop {budget.sender}→{budget.receiver} runs no prepare-and-measure "
                "QKD (a source at the sender and a detector at the receiver needed)"
            )
    rates = [np.asarray(r.key_rate_bps) for r in result.hop_rates]
    worst = result.limiting_hop if result.limiting_hop is not None else 0
    budget = result.hops[worst]
    # Hops of one kind share their key array: each distinct one is tested once.
    distinct = list({id(r): r for r in rates}.values())
    met = np.logical_and.reduce([r > 0 for r in np.broadcast_arrays(*distinct)])
    where = f"hop {budget.sender}→{budget.receiver}"
    relays = len(result.intermediates)
    if np.all(met):
        return met, (
            f"every hop has key; the bottleneck, {where} "
            f"({fmt(budget.channel_loss_db, 'dB')} channel loss), gives "
            f"{_rate_text(rates[worst])}"
            + (f" through {relays} trusted relay{'s' if relays != 1 else ''}" if relays else "")
        )
    return met, (
        f"{where} gives {_rate_text(rates[worst])} over "
        f"{fmt(budget.channel_loss_db, 'dB')} channel loss"
    )


def prepare_measure_verdict(scenario: Scenario, result: Any) -> tuple[Any, str]:
    """Stage 2: positive end-to-end key with no trusted intermediate node."""
    trusted = [n for n in result.intermediates if scenario.nodes[n].trusted]
    if trusted:
        shown = ", ".join(trusted[:3]) + (
            f" and {len(trusted) - 3} more" if len(trusted) > 3 else ""
        )
        relays = "trusted relays" if len(trusted) > 1 else "trusted relay"
        return False, f"the route goes through {relays} {shown}"
    best = max(prepare_measure(result), key=lambda r: float(np.max(r.key_rate_bps)), default=None)
    if best is None:
        why = next(
            (n.removeprefix("end to end: ") for n in result.notes if n.startswith("end to end:")),
            "",
        )
        return False, "no end-to-end prepare-and-measure protocol applies" + (
            f": {why}" if why else ""
        )
    key = np.asarray(best.key_rate_bps)
    loss = result.channel_loss_db
    text = (
        f"end-to-end {best.protocol} key {_rate_text(key)} over {fmt(loss, 'dB')} "
        f"channel loss ({fmt(best.fraction_of_plob)} of PLOB)"
    )
    return key > 0, text


#: Protocols that need delivered entanglement; they count for stage 3, not stage 2.
ENTANGLEMENT_PROTOCOLS = ("bbm92", "diqkd")


def prepare_measure(result: Any) -> list[Any]:
    """The end-to-end rates of prepare-and-measure protocols (MDI and TF included)."""
    return [r for r in result.end_to_end if r.protocol not in ENTANGLEMENT_PROTOCOLS]


def evaluate_stages(scenario: Scenario, result: Any) -> None:
    """Fill ``result.stages``, ``result.stage``, the demand's key rate and its protocol."""
    verdicts = []
    met1, why1 = trusted_repeater_verdict(scenario, result)
    met2, why2 = prepare_measure_verdict(scenario, result)
    verdicts += [
        StageVerdict(1, STAGE_NAMES[1], met1, why1),
        StageVerdict(2, STAGE_NAMES[2], met2, why2),
    ]
    verdicts += entanglement_verdicts(scenario, result)
    result.stages = tuple(verdicts)
    stage: Any = np.asarray(0)
    for v in verdicts:
        stage = np.where(np.asarray(v.met, dtype=bool), v.stage, stage)
    result.stage = stage

    select_key_rate(result, met1, met2)


def select_elementwise(
    values: Sequence[Any], companions: Sequence[Any], pick: Callable[..., Any]
) -> tuple[Any, Any, Any]:
    """Element-wise the value ``pick`` (np.argmin or np.argmax) chooses among ``values``,
    its companion, and the index chosen (so a sweep gets at every point what a scalar
    evaluation there would).

    As ``pick`` over the stacked values: the first of equal values wins, and a NaN wins
    over any number. Arrays (a sweep's chunk: few candidates, many points) are compared
    pairwise without stacking them; single numbers (a chain of many hops), stacked.
    """
    if all(np.ndim(v) == 0 for v in (*values, *companions)):
        stacked = np.array([*values, *companions], dtype=float)
        n = len(values)
        chosen = pick(stacked[:n])
        return stacked[chosen], stacked[n + chosen], chosen
    best = np.asarray(values[0], dtype=float)
    partner = np.asarray(companions[0], dtype=float)
    shape = np.broadcast_shapes(*(np.shape(v) for v in (*values, *companions)))
    index: Any = np.zeros(shape, dtype=np.intp)
    for i in range(1, len(values)):
        value = np.asarray(values[i], dtype=float)
        beats = value > best if pick is np.argmax else value < best
        beats |= np.isnan(value) & ~np.isnan(best)
        best = np.where(beats, value, best)
        partner = np.where(beats, np.asarray(companions[i], dtype=float), partner)
        index = np.where(beats, i, index)
    return (
        np.broadcast_to(best, shape).copy() if best.shape != shape else best,
        np.broadcast_to(partner, shape).copy() if np.shape(partner) != shape else partner,
        index,
    )


def select_key_rate(result: Any, met1: Any, met2: Any) -> None:
    """The demand's key: the best of end-to-end prepare-and-measure key (where stage 2 is
    met), entanglement-based key, and the trusted chain's bottleneck hop (where stage 1
    is met), chosen point by point; with its protocol, scope and repetition rate."""
    candidates: list[tuple[Any, Any, str, str]] = []
    for rate in result.end_to_end:
        gate = True if rate.protocol in ENTANGLEMENT_PROTOCOLS else met2
        candidates.append(
            (
                np.where(gate, rate.key_rate_bps, 0.0),
                rate.repetition_rate_hz,
                rate.protocol,
                "end to end",
            )
        )
    chain = result.hop_rates
    if chain and all(r is not None for r in chain):
        # Hops of one kind share their arrays: the first hop of each kind stands for it
        # (np.argmin picks the first of equal values, so the hop chosen is the same).
        first: dict[tuple[int, int], int] = {}
        for i, r in enumerate(chain):
            first.setdefault((id(r.key_rate_bps), id(r.repetition_rate_hz)), i)
        kinds = list(first.values())
        key, rep, worst = select_elementwise(
            [chain[i].key_rate_bps for i in kinds],
            [chain[i].repetition_rate_hz for i in kinds],
            np.argmin,
        )
        protocol = chain[kinds[int(np.min(worst))]].protocol
        candidates.append((np.where(met1, key, 0.0), rep, protocol, "trusted chain"))
    if result.demand.application == "diqkd":
        # A DIQKD demand's key is DIQKD's, zero included: no other protocol stands in.
        candidates = [c for c in candidates if c[2] == "diqkd"]
    candidates = [c for c in candidates if (np.asarray(c[0]) > 0).any()]
    if not candidates:
        return
    key, rep, index = select_elementwise(
        [c[0] for c in candidates], [c[1] for c in candidates], np.argmax
    )
    # The name of the winner at the best point (the only point of a scalar evaluation).
    top = candidates[int(np.ravel(index)[int(np.argmax(np.ravel(key)))])]
    result.key_rate_bps = np.maximum(key, 0.0)
    result.key_repetition_rate_hz = rep
    result.protocol, result.key_scope = top[2], top[3]


def entanglement_verdicts(scenario: Scenario, result: Any) -> list[Any]:
    """Stages 3–6 from the delivered Bell pairs, memories and processors."""
    crit = scenario.criteria
    delivery = result.entanglement
    if delivery is None or not delivery.delivers:
        why = delivery.reason if delivery is not None else "no entanglement model applies"
        return [StageVerdict(3, STAGE_NAMES[3], False, why)] + [
            StageVerdict(s, STAGE_NAMES[s], False, "needs stage 3 first") for s in (4, 5, 6)
        ]
    rate, fidelity = np.asarray(delivery.rate_hz), np.asarray(delivery.fidelity)
    threshold = crit.entanglement_min_fidelity
    min_rate = np.asarray(crit.entanglement_min_pair_rate_hz, dtype=float)
    met3 = (rate > 0) & (rate >= min_rate) & (fidelity >= threshold)
    why3 = (
        f"{fmt(rate, 'pairs/s')} end to end at fidelity {fmt(fidelity)} "
        f"(needs fidelity ≥ {fmt(threshold)} and ≥ {fmt(min_rate, 'pairs/s')})"
    )

    met4, why4 = memory_verdict(scenario, result, delivery)
    met4 = met3 & met4
    met5, why5 = fault_tolerance_verdict(
        scenario, result, fidelity, crit.fault_tolerant_min_logical_qubits
    )
    met5 = met4 & met5
    met6, why6 = logical_qubit_verdict(scenario, result, crit.computing_min_logical_qubits)
    met6 = met5 & met6
    verdicts = [StageVerdict(3, STAGE_NAMES[3], met3, why3)]
    for stage, met, why in ((4, met4, why4), (5, met5, why5), (6, met6, why6)):
        # The stages build on each other: say so when the one below is what failed.
        below = verdicts[-1].met
        prefix = "" if np.all(below) else f"needs stage {stage - 1} first; "
        verdicts.append(StageVerdict(stage, STAGE_NAMES[stage], met, prefix + why))
    return verdicts


def memory_verdict(scenario: Scenario, result: Any, delivery: Any) -> tuple[Any, str]:
    """Stage 4: memories at the ends and repeaters outlast the end-to-end heralding time."""
    needs = [result.path[0], result.path[-1]] + [
        n for n in result.intermediates if scenario.nodes[n].role == "repeater"
    ]
    missing = [n for n in needs if scenario.nodes[n].memory is None]
    if missing:
        shown = ", ".join(missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        )
        return False, f"no quantum memory at {shown}"
    times = {n: scenario.nodes[n].memory.coherence_time_s for n in needs}  # type: ignore[union-attr]
    # The first node with the shortest coherence; nodes sharing a memory profile share
    # its value, worked out once.
    shortest: dict[int, float] = {}

    def least_s(node: str) -> float:
        t = times[node]
        if id(t) not in shortest:
            shortest[id(t)] = float(np.min(np.asarray(t)))
        return shortest[id(t)]

    worst = needs[0]
    least = least_s(worst)
    for n in needs[1:]:
        if least_s(n) < least:  # strictly: the first of equals stays, as min() keeps it
            worst, least = n, least_s(n)
    herald = np.asarray(delivery.heralding_time_s)
    coherence = np.asarray(times[worst], dtype=float)
    met = coherence > herald
    return met, (
        f"shortest memory coherence {fmt(coherence, 's')} at {worst} vs end-to-end "
        f"heralding time {heralding_text(herald)} (1/rate + classical round trip)"
    )


#: What an end-to-end time is when the rate it comes from is zero (or so small that its
#: inverse overflows): the pairs never arrive, at the rate modelled.
NEVER = "never, at this rate"


def heralding_text(time_s: Any) -> str:
    """An end-to-end heralding time for people: its value, or :data:`NEVER` where the
    rate is zero (an infinite time); over a sweep, the finite range and at how many
    points it is never.

    >>> heralding_text(0.0021), heralding_text(float("inf"))
    ('2.1 ms', 'never, at this rate')
    """
    values = np.asarray(time_s, dtype=float)
    finite = np.isfinite(values)
    if np.all(finite):
        return fmt(values, "s")
    if not np.any(finite):
        return NEVER
    never = int(np.sum(~finite))
    return f"{fmt(values[finite], 's')} ({NEVER} at {never} of {values.size} points)"


def logical_qubits_at(scenario: Scenario, node: str) -> Any:
    """Logical qubits a node's processor holds: given, or the surface-code estimate."""
    from qcalc.protocols.faulttolerance import logical_qubits

    proc = scenario.nodes[node].processor
    if proc is None:
        return np.asarray(0.0)
    if proc.logical_qubits is not None:
        return np.asarray(float(proc.logical_qubits))
    crit = scenario.criteria
    return logical_qubits(
        proc.physical_qubits,
        proc.two_qubit_gate_error,
        crit.logical_error_rate,
        crit.surface_code_threshold,
    )


def _ends_logical(scenario: Scenario, result: Any) -> tuple[str, Any]:
    ends = (result.path[0], result.path[-1])
    counts = {n: logical_qubits_at(scenario, n) for n in ends}
    worst = min(ends, key=lambda n: float(np.min(counts[n])))
    return worst, counts[worst]


def fault_tolerance_verdict(
    scenario: Scenario, result: Any, fidelity: Any, min_logical: Any
) -> tuple[Any, str]:
    """Stage 5: ≥ 1 logical qubit at each end and delivered fidelity ≥ 0.99."""
    threshold = scenario.criteria.fault_tolerant_min_fidelity
    worst, count = _ends_logical(scenario, result)
    proc = scenario.nodes[worst].processor
    if proc is None:
        return False, f"no processor at {worst}, so no logical qubit"
    met = (count >= min_logical) & (fidelity >= threshold)
    return met, (
        f"{worst} holds {fmt(count)} logical qubits (gate error "
        f"{fmt(proc.two_qubit_gate_error)}, threshold "
        f"{fmt(scenario.criteria.surface_code_threshold)}; needs ≥ "
        f"{fmt(min_logical)}); "
        f"delivered fidelity {fmt(fidelity)} (needs ≥ {fmt(threshold)})"
    )


def logical_qubit_verdict(scenario: Scenario, result: Any, min_logical: Any) -> tuple[Any, str]:
    """Stage 6: ≥ 100 logical qubits per end."""
    worst, count = _ends_logical(scenario, result)
    return count >= min_logical, (
        f"{worst} holds {fmt(count)} logical qubits (needs ≥ {fmt(min_logical)})"
    )
