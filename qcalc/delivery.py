"""Bell-pair delivery along a route: elementary links, swapping, memories, distillation.

A route is cut into elementary segments, each one of
- a *measured* link (``elementary_pair_rate_hz`` and ``elementary_fidelity`` given);
- a *midpoint source*: a node with an entangled-pair source and no memory sends one
  photon of each pair down each of its two hops (Micius from orbit);
- a *source at an end*: an end node's entangled-pair source over one hop;
- a *heralded memory link*: both ends of a hop hold memories and a station in the
  middle of the hop heralds entanglement (double- or single-click).
Segments meet at nodes with a memory, which swap them (Bell-state measurement with the
node's ``bsm_success_probability``). The waiting time comes from
:mod:`qcalc.protocols.repeater`, the fidelity from Werner swapping with memory
decoherence over the storage time, then optional distillation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qcalc.errors import NotModelledError
from qcalc.linkbudget import (
    BudgetTerm,
    LinkBudget,
    Step,
    detector_yield,
    fmt_value,
    link_budget,
)
from qcalc.physics.detectors import combined_misalignment_error
from qcalc.physics.fibre import loss_db_from_transmittance
from qcalc.scenario import Node, Scenario

#: Attempt probability used for a measured link with no length: the continuous-time
#: (p → 0) limit of the geometric waiting-time formulas. [unitless]
MEASURED_LINK_ATTEMPT_PROBABILITY = 1e-6

#: Local time per heralded attempt (emission, reset) added to the heralding round trip:
#: a few µs on NV centres (Humphreys et al., Nature 558, 268 (2018): 3.8–5 µs per
#: attempt at ~2 m); 1 µs here, so that even a 0 km link has a finite rate. [s]
ATTEMPT_PREPARATION_S = 1e-6


@dataclass(frozen=True)
class Segment:
    """One elementary entangled link between two nodes of the route."""

    kind: str  # measured | midpoint-source | end-source | heralded
    ends: tuple[str, str]
    success_probability: Any  # per attempt [unitless]
    attempt_time_s: Any  # [s]
    fidelity: Any  # [unitless, 1/4..1]
    qber: Any = None  # measured QBER where the model gives it [unitless]

    @property
    def rate_hz(self) -> Any:
        return np.asarray(self.success_probability) / np.asarray(self.attempt_time_s)


@dataclass
class Delivery:
    """What the route delivers in Bell pairs, step by step."""

    segments: tuple[Segment, ...] = ()
    raw_rate_hz: Any = 0.0  # end-to-end pairs before distillation [Hz]
    swapped_fidelity: Any = 0.0  # after swapping, before memory decay [unitless]
    stored_fidelity: Any = 0.0  # after memory decay [unitless]
    fidelity: Any = 0.0  # delivered (after distillation if any) [unitless]
    rate_hz: Any = 0.0  # delivered [Hz]
    qber: Any = 0.5
    waiting_method: str = ""
    storage_time_s: Any = 0.0
    heralding_time_s: Any = 0.0
    pairs_per_output: Any = 1.0
    memory_nodes: tuple[str, ...] = ()
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    # The equal-segment protocol the closed forms evaluate (for the Monte Carlo check).
    attempt_probability: Any = 0.0
    attempt_time_s: Any = 0.0
    swap_probability: Any = 1.0
    pair_coherence_time_s: Any = np.inf
    cutoff_attempts: Any = np.inf
    gate_factor: Any = 1.0
    final_decay: Any = 1.0
    dephasing: bool = False
    steps: list[Step] = field(default_factory=list)

    @property
    def delivers(self) -> bool:
        return bool(self.segments) and not self.reason

    def as_dict(self) -> dict[str, Any]:
        return {
            "segments": [
                {
                    "kind": s.kind,
                    "ends": list(s.ends),
                    "rate_hz": s.rate_hz,
                    "success_probability": s.success_probability,
                    "attempt_time_s": s.attempt_time_s,
                    "fidelity": s.fidelity,
                }
                for s in self.segments
            ],
            "raw_pair_rate_hz": self.raw_rate_hz,
            "swapped_fidelity": self.swapped_fidelity,
            "stored_fidelity": self.stored_fidelity,
            "distilled_fidelity": self.fidelity,
            "pairs_per_output": self.pairs_per_output,
            "waiting_time_method": self.waiting_method,
            "storage_time_s": self.storage_time_s,
            "heralding_time_s": self.heralding_time_s,
            "reason": self.reason,
        }


# ----------------------------------------------------------------------------- segments


def _werner_with_error(fidelity: Any, error: Any) -> Any:
    """Werner fidelity after an extra independent bit-flip error e in each basis:
    Q' = (1 − (1 − 2Q)(1 − 2e))/2 with Q = 2(1 − F)/3, then F' = 1 − 3Q'/2."""
    from qcalc.protocols.entanglement import (
        qber_from_werner_fidelity,
        werner_fidelity_from_qber,
    )

    q = qber_from_werner_fidelity(fidelity)
    q_total = (1.0 - (1.0 - 2.0 * q) * (1.0 - 2.0 * np.asarray(error, dtype=float))) / 2.0
    return werner_fidelity_from_qber(np.clip(q_total, 0.0, 0.5))


def _spdc_segment(
    scenario: Scenario, node: Node, left: str, right: str, budgets: tuple[LinkBudget, LinkBudget]
) -> Segment | str:
    """Midpoint (or end) entangled-pair source sending to two receivers."""
    from qcalc.protocols.entanglement import spdc_midpoint_link

    source = node.source
    assert source is not None
    receivers = [scenario.nodes[left], scenario.nodes[right]]
    detectors = [r.detector for r in receivers]
    windows = [
        d.gate_window_ns for d in detectors if d is not None and d.gate_window_ns is not None
    ]
    if source.mean_pairs_per_pulse is not None and source.repetition_rate_hz is not None:
        mu = np.asarray(source.mean_pairs_per_pulse, dtype=float)
        window_s = 1.0 / np.asarray(source.repetition_rate_hz, dtype=float)
    elif source.pair_rate_hz is not None and windows:
        # A continuously pumped source: the coincidence window plays the pulse.
        window_s = np.max(np.stack(np.broadcast_arrays(*windows)), axis=0) * 1e-9
        mu = np.asarray(source.pair_rate_hz, dtype=float) * window_s
    else:
        return (
            f"the entangled-pair source at {node.name} needs mean_pairs_per_pulse with "
            "repetition_rate_hz, or pair_rate_hz with the receivers' gate_window_ns "
            "(the coincidence window)"
        )
    if any(d is None for d in detectors):
        missing = [r.name for r, d in zip(receivers, detectors, strict=True) if d is None]
        return f"the pairs from {node.name} need a detector at {', '.join(missing)}"
    link = spdc_midpoint_link(
        mu,
        budgets[0].transmittance,
        budgets[1].transmittance,
        1.0 / window_s,
        _yield(detectors[0]),
        _yield(detectors[1]),
        combined_misalignment_error([b.link.misalignment_error for b in budgets]),
    )
    return Segment(
        "midpoint-source" if node.name not in (left, right) else "end-source",
        (left, right),
        link.coincidence_probability,
        window_s,
        np.clip(link.fidelity, 0.25, 1.0),
        link.qber,
    )


def _yield(detector: Any) -> Any:
    return detector_yield(detector) if detector is not None else 0.0


def _heralded_segment(scenario: Scenario, budget: LinkBudget) -> Segment:
    """Heralded entanglement between the memories at both ends of a hop."""
    from qcalc.protocols.entanglement import (
        double_click_link,
        heralding_attempt_time_s,
        multiplexed_success_probability,
    )

    link = budget.link
    a, b = (scenario.nodes[n] for n in link.ends)
    assert a.memory is not None and b.memory is not None
    # Each arm is half the hop's channel; the memory efficiency folds in emission,
    # collection and detection at the heralding station.
    half = np.power(10.0, -np.asarray(budget.channel_loss_db, dtype=float) / 20.0)
    eta_a = half * np.asarray(a.memory.efficiency, dtype=float)
    eta_b = half * np.asarray(b.memory.efficiency, dtype=float)
    if link.heralding == "single_click":
        from qcalc.protocols.entanglement import single_click_link

        herald = single_click_link(link.bright_state_population, eta_a, eta_b)
    else:
        herald = double_click_link(eta_a, eta_b)
    length_km = budget.length_km
    p = multiplexed_success_probability(herald.success_probability, link.memory_modes)
    fidelity = _werner_with_error(herald.fidelity, link.misalignment_error)
    attempt_s = heralding_attempt_time_s(length_km, preparation_time_s=ATTEMPT_PREPARATION_S)
    return Segment("heralded", link.ends, p, attempt_s, fidelity)


def _measured_segment(budget: LinkBudget) -> Segment | str:
    link = budget.link
    if link.elementary_pair_rate_hz is None or link.elementary_fidelity is None:
        return (
            f"link {link.name} gives only one of elementary_pair_rate_hz and "
            "elementary_fidelity; a measured link needs both"
        )
    rate = np.asarray(link.elementary_pair_rate_hz, dtype=float)
    p = MEASURED_LINK_ATTEMPT_PROBABILITY
    with np.errstate(divide="ignore", over="ignore"):
        attempt = np.where(rate > 0, p / rate, np.inf)
    alive = np.isfinite(attempt)  # a rate so small its attempt time overflows is no rate
    return Segment(
        "measured",
        link.ends,
        np.where(alive, p, 0.0),
        attempt,
        np.asarray(link.elementary_fidelity, dtype=float),
    )


def build_segments(
    scenario: Scenario, route: tuple[str, ...], hops: tuple[LinkBudget, ...]
) -> tuple[list[Segment], str]:
    """Cut ``route`` into elementary segments; the reason when it cannot be done."""
    segments: list[Segment] = []
    i = 0
    while i < len(hops):
        hop = hops[i]
        a, b = route[i], route[i + 1]
        na, nb = scenario.nodes[a], scenario.nodes[b]
        link = hop.link
        if link.elementary_pair_rate_hz is not None or link.elementary_fidelity is not None:
            seg = _measured_segment(hop)
            i += 1
        elif _is_pair_source(nb) and nb.memory is None and i + 1 < len(hops):
            c = route[i + 2]
            budgets = (
                link_budget(link, scenario, sender=b),
                link_budget(hops[i + 1].link, scenario, sender=b),
            )
            seg = _spdc_segment(scenario, nb, a, c, budgets)
            i += 2
        elif na.memory is not None and nb.memory is not None:
            seg = _heralded_segment(scenario, hop)
            i += 1
        elif len(hops) == 1 and (_is_pair_source(na) or _is_pair_source(nb)):
            src, other = (na, b) if _is_pair_source(na) else (nb, a)
            budget = link_budget(link, scenario, sender=src.name)
            # The photon kept at the source meets only its own detector there.
            local_terms = (
                ()
                if src.detector is None
                else (
                    BudgetTerm(
                        "detector",
                        loss_db_from_transmittance(src.detector.efficiency),
                        f"efficiency of {src.name}'s detector",
                        receiver=True,
                    ),
                )
            )
            local = LinkBudget(link, src.name, src.name, 0.0, 0.0, local_terms)
            seg = _spdc_segment(scenario, src, src.name, other, (local, budget))
            i += 1
        else:
            return segments, (
                f"hop {a}→{b} carries no entanglement: it needs memories at "
                "both ends, an entangled-pair source, or measured "
                "elementary_pair_rate_hz/elementary_fidelity"
            )
        if isinstance(seg, str):
            return segments, seg
        segments.append(seg)
    return segments, ""


def _is_pair_source(node: Node) -> bool:
    return node.source is not None and node.source.kind == "entangled_pair"


# ----------------------------------------------------------------------------- chain


def deliver(
    scenario: Scenario,
    route: tuple[str, ...],
    hops: tuple[LinkBudget, ...],
    distillation: Any = None,
) -> Delivery:
    """End-to-end Bell pairs along ``route``: rate, fidelity and the times that bound them.

    Probabilities near the smallest floats (a 1e-308 efficiency) take the intermediate
    arithmetic past the float range; the results are then brought back to what they
    mean: a rate that cannot be represented is 0, a fidelity stays in [1/4, 1].
    """
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        out = _deliver(scenario, route, hops, distillation)
    for name in ("raw_rate_hz", "rate_hz"):
        value = np.asarray(getattr(out, name), dtype=float)
        setattr(out, name, np.where(np.isfinite(value) & (value > 0), value, 0.0))
    if out.delivers:
        for name in ("swapped_fidelity", "stored_fidelity", "fidelity"):
            value = np.asarray(getattr(out, name), dtype=float)
            setattr(out, name, np.clip(np.where(np.isfinite(value), value, 0.25), 0.25, 1.0))
        out.qber = np.clip(np.nan_to_num(np.asarray(out.qber, dtype=float), nan=0.5), 0.0, 0.5)
    return out


def _deliver(
    scenario: Scenario,
    route: tuple[str, ...],
    hops: tuple[LinkBudget, ...],
    distillation: Any = None,
) -> Delivery:
    """End-to-end Bell pairs along ``route``: rate, fidelity and the times that bound them.

    Unequal segments are evaluated as equal ones at the slowest segment's success
    probability and attempt time, an upper bound on the waiting time.
    """
    from qcalc.protocols.entanglement import (
        fidelity_from_werner_parameter,
        qber_from_werner_fidelity,
        werner_parameter,
    )
    from qcalc.protocols.repeater import nested_waiting_time, two_segment_memory_wait

    out = Delivery()
    segments, reason = build_segments(scenario, route, hops)
    out.segments = tuple(segments)
    if reason:
        out.reason = reason
        return out
    dead = [s for s in segments if not np.any(np.asarray(s.success_probability) > 0)]
    if dead:
        out.reason = f"link {'-'.join(dead[0].ends)} delivers no pairs (success probability 0)"
        return out
    junctions = _junctions(route, segments)
    for name in junctions:
        if scenario.nodes[name].memory is None:
            out.reason = (
                f"node {name} joins two elementary links but has no memory to "
                "hold a qubit while it waits to swap"
            )
            return out
    m = len(segments)
    # Unequal segments are evaluated as equal ones at the slowest segment's own (p, τ).
    both = np.broadcast_arrays(
        *[s.success_probability for s in segments], *[s.attempt_time_s for s in segments]
    )
    ps, taus = np.stack(both[: len(segments)]), np.stack(both[len(segments) :])
    with np.errstate(divide="ignore", invalid="ignore"):
        slowest = np.argmin(np.where(taus > 0, ps / taus, 0.0), axis=0)[np.newaxis]
    p = np.take_along_axis(ps, slowest, axis=0)[0]
    tau = np.take_along_axis(taus, slowest, axis=0)[0]
    unequal = bool(np.any(ps != ps[:1]) or np.any(taus != taus[:1]))
    swap = np.asarray(1.0)
    for name in junctions:
        swap = swap * np.asarray(scenario.nodes[name].bsm_success_probability, dtype=float)
    a = swap ** (1.0 / max(len(junctions), 1)) if junctions else np.asarray(1.0)
    p_safe = np.where(p > 0, p, 1.0)
    route_delay = sum((np.asarray(h.delay_s) for h in hops), np.asarray(0.0))
    out.memory_nodes = tuple(n for n in route if scenario.nodes[n].memory is not None)
    # Decay rate of a pair held in two memories, 1/T_a + 1/T_b; the worst memory on the
    # route stands for both while a segment waits, the ends' own once the pair is through.
    worst = _decay_rate_per_s(scenario, out.memory_nodes, worst_pair=True)
    ends = _decay_rate_per_s(scenario, (route[0], route[-1]))
    w = np.prod(
        werner_parameter(np.stack(np.broadcast_arrays(*[s.fidelity for s in segments]))), axis=0
    )
    # A swap with a depolarising two-qubit gate of error ε multiplies the Werner parameter
    # by 1 − ε (Briegel, Dür, Cirac, Zoller, PRL 81, 5932 (1998), with ideal measurement).
    for name in junctions:
        processor = scenario.nodes[name].processor
        if processor is not None:
            out.gate_factor = out.gate_factor * (
                1.0 - np.asarray(processor.two_qubit_gate_error, dtype=float)
            )
    w = w * out.gate_factor
    if unequal:
        out.notes.append(
            "the segments differ; the chain is evaluated as equal segments at "
            "the slowest one's success probability and attempt time"
        )
    if m == 1:
        attempts = np.where(p > 0, 1.0 / p_safe, np.inf)
        out.waiting_method = "exact-geometric"
        # The memories hold their qubits for one heralding round trip.
        out.storage_time_s = tau if out.memory_nodes else np.asarray(0.0)
        decay = np.exp(-out.storage_time_s * ends)
    else:
        waiting = nested_waiting_time(p_safe, a, segments=m)
        attempts = np.where(p > 0, waiting.mean_attempts, np.inf)
        out.waiting_method = waiting.method
        cutoff = _cutoff_attempts(scenario, out.memory_nodes, tau)
        out.cutoff_attempts = cutoff if m == 2 else np.asarray(np.inf)
        if m == 2:
            # Exact: mean of exp(−D τ / T_pair) over the wait D of the earlier pair, with
            # the memories' cut-off if any (Kamin et al., PRR 5, 023086 (2023)).
            from qcalc.protocols.repeater import (
                two_segment_decoherence_factor,
                two_segment_waiting_time,
            )

            with np.errstate(divide="ignore"):
                t_pair = np.where(worst > 0, 1.0 / np.where(worst > 0, worst, 1.0), np.inf)
            factor = two_segment_decoherence_factor(p_safe, tau, t_pair, cutoff)
            stored = two_segment_memory_wait(p_safe) * tau
            if np.any(np.isfinite(cutoff)):
                attempts = np.where(p > 0, two_segment_waiting_time(p_safe, a, cutoff), np.inf)
                out.waiting_method = "exact, with cut-off"
        elif np.any(np.isfinite(cutoff)):
            out.notes.append("memory cut-off is modelled for two segments only; ignored here")
        if m != 2:
            # Longer chains: the mean time beyond one segment's own wait (approximate).
            stored = np.maximum(attempts - 1.0 / p_safe, 0.0) * tau
            factor = np.exp(-stored * worst)
            out.waiting_method += ", storage time approximate"
        out.storage_time_s = stored + route_delay
        decay = factor * np.exp(-route_delay * ends)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        out.raw_rate_hz = np.where(np.isfinite(attempts) & (tau > 0), 1.0 / (attempts * tau), 0.0)
    out.swapped_fidelity = fidelity_from_werner_parameter(w)
    out.dephasing = all(
        scenario.nodes[n].memory.noise == "dephasing"  # type: ignore[union-attr]
        for n in out.memory_nodes
    ) and bool(out.memory_nodes)
    out.stored_fidelity = fidelity_from_werner_parameter(w * _memory_factor(decay, out.dephasing))
    out.attempt_probability, out.attempt_time_s, out.swap_probability = p, tau, a
    with np.errstate(divide="ignore"):
        out.pair_coherence_time_s = np.where(
            worst > 0, 1.0 / np.where(worst > 0, worst, 1.0), np.inf
        )
    out.final_decay = np.exp(-(route_delay if m > 1 else out.storage_time_s) * ends)
    with np.errstate(divide="ignore"):
        out.heralding_time_s = (
            np.where(out.raw_rate_hz > 0, 1.0 / out.raw_rate_hz, np.inf) + 2.0 * route_delay
        )
    out.fidelity, out.rate_hz = out.stored_fidelity, out.raw_rate_hz
    if distillation is not None and np.ndim(distillation.rounds):
        raise NotModelledError(
            "distillation rounds cannot vary within one evaluation; evaluate each number of "
            "rounds on its own"
        )
    distils = distillation is not None and distillation.rounds > 0
    if distils and any(scenario.nodes[n].memory is None for n in (route[0], route[-1])):
        out.notes.append(
            "distillation needs memories at both ends to hold pairs while "
            "they wait for partners; not applied"
        )
        distils = False
    if distils:
        assert distillation is not None
        from qcalc.protocols.distillation import distill

        result = distill(
            np.clip(out.stored_fidelity, 0.25, 1.0), distillation.protocol, distillation.rounds
        )
        out.pairs_per_output = result.pairs_per_output
        out.fidelity = result.fidelity
        out.rate_hz = out.raw_rate_hz / result.pairs_per_output
    single = segments[0].qber if m == 1 and segments[0].qber is not None else None
    out.qber = (
        single
        if single is not None and not distils
        else (qber_from_werner_fidelity(np.clip(out.fidelity, 0.25, 1.0)))
    )
    out.steps = _steps(out, m, p, tau, a)
    return out


@dataclass(frozen=True)
class MonteCarloCheck:
    """A seeded simulation of the same protocol beside the closed form."""

    trials: int
    seed: int
    pair_rate_hz: float
    pair_rate_ci99_hz: tuple[float, float]
    fidelity: float
    fidelity_ci99: tuple[float, float]
    closed_form_pair_rate_hz: float
    closed_form_fidelity: float
    method: str

    @property
    def agrees(self) -> bool:
        """Closed form inside the simulation's 99 % intervals."""
        lo, hi = self.pair_rate_ci99_hz
        f_lo, f_hi = self.fidelity_ci99
        return bool(
            lo <= self.closed_form_pair_rate_hz <= hi
            and f_lo - 1e-12 <= self.closed_form_fidelity <= f_hi + 1e-12
        )

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "agrees": self.agrees}


def monte_carlo_check(delivery: Delivery, trials: int, seed: int = 0) -> MonteCarloCheck | None:
    """Simulate the delivery's repeater protocol (attempts, swaps, memory decay) with
    :func:`qcalc.protocols.montecarlo.simulate_repeater`; None when there is nothing to
    simulate or the inputs are swept arrays."""
    if delivery.dephasing:
        return None  # the simulation stores qubits under depolarising noise only
    from qcalc.protocols.entanglement import fidelity_from_werner_parameter, werner_parameter
    from qcalc.protocols.montecarlo import simulate_repeater

    values = (delivery.attempt_probability, delivery.attempt_time_s, delivery.swap_probability)
    if not delivery.delivers or any(np.ndim(v) for v in values):
        return None
    p, tau, a = (float(v) for v in values)
    if p <= 0 or a <= 0 or not np.isfinite(tau):
        return None
    m = len(delivery.segments)
    # The swap gates' depolarisation folds into the links' Werner parameters (it is
    # multiplicative, like theirs), so the simulation needs no gate model of its own.
    w = np.prod([werner_parameter(s.fidelity) for s in delivery.segments]) * float(
        delivery.gate_factor
    )
    link_f = float(fidelity_from_werner_parameter(np.sign(w) * abs(w) ** (1.0 / m)))
    sim = simulate_repeater(
        p,
        a,
        m,
        link_fidelity=link_f,
        attempt_time_s=tau,
        pair_coherence_time_s=float(delivery.pair_coherence_time_s) if m > 1 else np.inf,
        cutoff_attempts=float(np.min(delivery.cutoff_attempts)),
        trials=trials,
        seed=seed,
    )
    decay = float(delivery.final_decay)

    def final(f: float) -> float:
        return float(fidelity_from_werner_parameter(werner_parameter(f) * decay))

    k_lo, k_hi = sim.attempts_ci99
    return MonteCarloCheck(
        trials=trials,
        seed=seed,
        pair_rate_hz=1.0 / (sim.mean_attempts * tau),
        pair_rate_ci99_hz=(1.0 / (k_hi * tau), 1.0 / (max(k_lo, 1e-300) * tau)),
        fidelity=final(sim.mean_fidelity),
        fidelity_ci99=(final(sim.fidelity_ci99[0]), final(sim.fidelity_ci99[1])),
        closed_form_pair_rate_hz=float(delivery.raw_rate_hz),
        closed_form_fidelity=float(delivery.stored_fidelity),
        method=delivery.waiting_method,
    )


def _junctions(route: tuple[str, ...], segments: list[Segment]) -> list[str]:
    return [s.ends[1] for s in segments[:-1]]


def _memory_factor(decay: Any, dephasing: bool) -> Any:
    r"""What storage does to a Werner parameter w, given x = e^{−t/T} (averaged).

    .. math::
        w \to w\,x \ \text{(depolarising)}, \qquad
        w \to w\,\frac{1 + 2x}{3} \ \text{(dephasing, re-twirled)}

    Dephasing keeps the Φ+/Φ− populations' sum and mixes them with probability
    (1 − x)/2 (Nielsen & Chuang, *Quantum Computation and Quantum Information* (2000),
    Sec. 8.3.6, phase damping); twirling the result back to a Werner state gives
    F' = [1 + 2F + x(4F − 1)]/6, i.e. the factor above. Both are linear in x, so the
    exact average of x over the waiting time stays exact.
    """
    x = np.asarray(decay, dtype=float)
    return (1.0 + 2.0 * x) / 3.0 if dephasing else x


def _cutoff_attempts(scenario: Scenario, nodes: tuple[str, ...], tau: Any) -> Any:
    """The shortest memory cut-off on the route in attempts, ⌊cut-off / τ⌋ (inf: none)."""
    cutoffs = [
        m.cutoff_s
        for m in (scenario.nodes[n].memory for n in nodes)
        if m is not None and m.cutoff_s is not None
    ]
    if not cutoffs:
        return np.asarray(np.inf)
    shortest = np.min(np.stack(np.broadcast_arrays(*cutoffs)), axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.floor(shortest / np.asarray(tau, dtype=float))


def _decay_rate_per_s(scenario: Scenario, nodes: tuple[str, ...], worst_pair: bool = False) -> Any:
    """Σ 1/T of the memories at ``nodes`` (two of them: a pair's two halves); with
    ``worst_pair`` twice the worst one's. 0 where there is no memory (a photon measured
    on arrival is not stored). [1/s]"""
    times = [scenario.nodes[n].memory for n in nodes]
    rates = [1.0 / np.asarray(m.coherence_time_s, dtype=float) for m in times if m is not None]
    if not rates:
        return np.asarray(0.0)
    if worst_pair:
        return 2.0 * np.max(np.stack(np.broadcast_arrays(*rates)), axis=0)
    return sum(rates, np.asarray(0.0))


def _steps(out: Delivery, m: int, p: Any, tau: Any, a: Any) -> list[Step]:
    steps = [
        Step(
            f"elementary link {'-'.join(s.ends)} ({s.kind})",
            "rate = p / τ",
            (("p", fmt_value(s.success_probability)), ("τ", fmt_value(s.attempt_time_s, "s"))),
            f"{fmt_value(s.rate_hz, 'Hz')} at fidelity {fmt_value(s.fidelity)}",
        )
        for s in out.segments
    ]
    steps.append(
        Step(
            f"end-to-end waiting time over {m} segment(s) ({out.waiting_method})",
            "K = 1/p (one segment); (3−2p)/(a p(2−p)) (two); Markov chain / (3/2)^n (more)",
            (("p", fmt_value(p)), ("a (swap)", fmt_value(a)), ("τ", fmt_value(tau, "s"))),
            f"rate {fmt_value(out.raw_rate_hz, 'Hz')}",
        )
    )
    steps.append(
        Step(
            "fidelity after swapping and memory decay",
            "F' = F1F2 + (1−F1)(1−F2)/3; F(t) = 1/4 + (F − 1/4) e^{−t/T}",
            (
                ("swapped F", fmt_value(out.swapped_fidelity)),
                ("storage t", fmt_value(out.storage_time_s, "s")),
            ),
            fmt_value(out.stored_fidelity),
        )
    )
    if not np.all(np.asarray(out.pairs_per_output) == 1.0):
        steps.append(
            Step(
                "distillation",
                "F_out, pairs per output (BBPSSW / DEJMPS)",
                (("F in", fmt_value(out.stored_fidelity)),),
                f"F = {fmt_value(out.fidelity)}, {fmt_value(out.pairs_per_output)} pairs per "
                f"output, {fmt_value(out.rate_hz, 'Hz')}",
            )
        )
    return steps
