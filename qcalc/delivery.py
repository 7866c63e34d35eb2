"""Bell-pair delivery along a route: elementary links, swapping, memories, distillation.

A route is cut into elementary segments, each one of
- a *measured* link (``elementary_pair_rate_hz`` and ``elementary_fidelity`` given);
- a *midpoint source*: a node with an entangled-pair source and no memory sends one
  photon of each pair down each of its two hops (Micius from orbit);
- a *source at an end*: an end node's entangled-pair source over one hop;
- a *heralded memory link*: both ends of a hop hold memories and a station in the
  middle of the hop heralds entanglement (double- or single-click).
Segments meet at nodes with a memory, which swap them (Bell-state measurement with the
node's ``bsm_success_probability`` and its processor's gate error). The distribution of
the delivery time and the delivered Bell-diagonal state, with memory decoherence and
cut-offs, come from the exact algorithm of :mod:`qcalc.protocols.chain` (Li, Coopmans,
Elkouss 2021), evaluated once per point of the inputs; the end pair then waits in the end
memories for the classical swap outcomes, and is distilled as the memories allow
(:func:`qcalc.protocols.chain.distil_statistics`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import field
from typing import Any

import numpy as np

from qcalc.errors import NotModelledError
from qcalc.explain import Step
from qcalc.lossbudget import BudgetTerm, LinkBudget, detector_yield
from qcalc.physics.detectors import combined_misalignment_error
from qcalc.physics.fibre import loss_db_from_transmittance
from qcalc.protocols.entanglement import (
    fidelity_from_werner_parameter,
    qber_from_werner_fidelity,
    werner_parameter,
)
from qcalc.records import record
from qcalc.scenario import Node, Scenario
from qcalc.units import fmt

#: Attempt probability used for a measured link with no length: the continuous-time
#: (p → 0) limit of the geometric waiting-time formulas. [unitless]
MEASURED_LINK_ATTEMPT_PROBABILITY = 1e-6

#: Local time per heralded attempt (emission, reset) added to the heralding round trip:
#: a few µs on NV centres (Humphreys et al., Nature 558, 268 (2018): 3.8–5 µs per
#: attempt at ~2 m); 1 µs here, so that even a 0 km link has a finite rate. [s]
ATTEMPT_PREPARATION_S = 1e-6

#: Largest time grid of one exact chain evaluation; longer chains are coarse-grained in
#: time (:func:`qcalc.protocols.chain.chain_statistics`). [points]
CHAIN_MAX_POINTS = 2**15


@record(frozen=True)
class Segment:
    """One elementary entangled link between two nodes of the route."""

    kind: str  # measured | midpoint-source | end-source | heralded
    ends: tuple[str, str]
    success_probability: Any  # per attempt [unitless]
    attempt_time_s: Any  # [s]
    fidelity: Any  # [unitless, 1/4..1]
    qber: Any = None  # measured QBER where the model gives it [unitless]
    # Photons measured on arrival (pair sources): per attempt, the probability that
    # neither end clicks, and each end's local detection efficiency (channel × detector).
    # None for event-ready segments (memories that herald before they are read).
    no_click_probability: Any = None  # [unitless, 0..1]
    local_detection_efficiency: tuple[Any, Any] | None = None  # at ends[0], ends[1]
    notes: tuple[str, ...] = ()  # what the builder assumed, for the demand's notes

    @property
    def rate_hz(self) -> Any:
        return np.asarray(self.success_probability) / np.asarray(self.attempt_time_s)


@record
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
    attempt_time_s: Any = 0.0  # the chain's clock τ [s]
    cutoff_attempts: Any = np.inf  # memory cut-off on that clock [attempts]
    gate_factor: Any = 1.0  # product of the swap gates' 1 − ε [unitless]
    classical_delay_s: Any = 0.0  # one-way delay of the route [s]
    dropped_mass: Any = 0.0  # probability mass beyond the exact time grid [unitless]
    attempts_per_step: Any = 1.0  # coarse-graining of the time grid [attempts]
    dephasing: bool = False
    # One entry per point of the inputs (one for a scalar evaluation): the protocol the
    # exact statistics solve, and their result before the end memories' final wait.
    chain_inputs: list[ChainInputs] = field(default_factory=list)
    chain_statistics: list[Any] = field(default_factory=list)
    distillation_rounds: int = 0  # rounds applied [count]
    distillation_schedule: tuple[str, ...] = ()  # "parallel" / "sequential" per round
    round_success_probabilities: tuple[Any, ...] = ()  # per round [unitless]
    round_fidelities: tuple[Any, ...] = ()  # per round [unitless]
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
            "dropped_probability_mass": self.dropped_mass,
            "distillation_rounds": self.distillation_rounds,
            "distillation_schedule": list(self.distillation_schedule),
            "round_success_probabilities": list(self.round_success_probabilities),
            "round_fidelities": list(self.round_fidelities),
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
    """Midpoint (or end) entangled-pair source sending to two receivers.

    Multi-pair emission, each receiver's dark counts and the background light its link
    adds (``background_photons_per_window``, sky) enter the coincidences, their QBER and
    so the fidelity (Ma, Fung, Lo, PRA 76, 012307 (2007)). The photons are measured on
    arrival: the segment also carries the probability that neither end clicks and each
    end's detection efficiency, which decide device-independent key (no post-selection).
    """
    from qcalc.protocols.entanglement import spdc_midpoint_link, spdc_no_click_probability

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
    # Background clicks per window at each receiver: its detector's dark counts and the
    # light its link lets in (none at a source's own detector, which sees no link).
    y0 = [
        np.clip(_yield(d) + (b.background_yield if b.sender != b.receiver else 0.0), 0.0, 1.0)
        for d, b in zip(detectors, budgets, strict=True)
    ]
    etas = (budgets[0].transmittance, budgets[1].transmittance)
    etas, y0 = _dead_time_scaled(mu, 1.0 / window_s, detectors, etas, y0)
    link = spdc_midpoint_link(
        mu,
        etas[0],
        etas[1],
        1.0 / window_s,
        y0[0],
        y0[1],
        combined_misalignment_error([b.link.misalignment_error for b in budgets]),
    )
    return Segment(
        "midpoint-source" if node.name not in (left, right) else "end-source",
        (left, right),
        link.coincidence_probability,
        window_s,
        np.clip(link.fidelity, 0.25, 1.0),
        link.qber,
        no_click_probability=spdc_no_click_probability(mu, etas[0], etas[1], y0[0], y0[1]),
        local_detection_efficiency=etas,
    )


def _dead_time_scaled(
    mu: Any, rate_hz: Any, detectors: list[Any], etas: tuple[Any, Any], y0: list[Any]
) -> tuple[tuple[Any, Any], list[Any]]:
    """Each receiver's detection probabilities (signal and background) scaled by its live
    fraction c = 1/(1 + P n_d) (non-paralysable dead time, Müller, NIM 112, 47 (1973)),
    P its click probability per window from the pair source's photon statistics (Ma,
    Fung, Lo, PRA 76, 012307 (2007)) and n_d = R τ_d its dead time in windows."""
    from qcalc.physics.detectors import dead_time_live_fraction, dead_time_pulses
    from qcalc.protocols.entanglement import spdc_no_click_probability

    scaled_etas, scaled_y0 = list(etas), list(y0)
    for side, detector in enumerate(detectors):
        if detector is None or detector.dead_time_ns is None:
            continue
        # P(no click at this side): the other side's detector left out (η = 0, Y0 = 0)
        alone = spdc_no_click_probability(mu, etas[side], 0.0, y0[side], 0.0)
        live = dead_time_live_fraction(
            1.0 - alone, dead_time_pulses(rate_hz, detector.dead_time_ns)
        )
        scaled_etas[side] = np.asarray(etas[side]) * live
        scaled_y0[side] = np.asarray(y0[side]) * live
    return (scaled_etas[0], scaled_etas[1]), scaled_y0


def _yield(detector: Any) -> Any:
    return detector_yield(detector) if detector is not None else 0.0


def _heralded_segment(scenario: Scenario, budget: LinkBudget) -> Segment:
    """Heralded entanglement between the memories at both ends of a hop.

    The heralding station in the middle of the hop has two detectors behind a beam
    splitter: ``heralding_detector`` gives their efficiency and the station's dark counts
    (the profile's Y0 is the whole station's, split evenly between the two detectors by
    :func:`~qcalc.protocols.entanglement.station_dark_count_probability`), to which the
    link's background light is added. ``two_photon_visibility`` is the photons'
    indistinguishability. Without a heralding detector the station is ideal (efficiency
    1, no dark counts) and the memories' efficiency stands for all of emission,
    collection and detection; the segment says so in a note.

    Hops with equal parameters (link, memories, channel) share one computation: a chain of
    10⁴ equal hops computes one heralded link.
    """
    from qcalc.network import parameter_key, remember

    link = budget.link
    a, b = (scenario.nodes[n] for n in link.ends)
    assert a.memory is not None and b.memory is not None
    try:
        efficiencies = (parameter_key(a.memory.efficiency), parameter_key(b.memory.efficiency))
    except TypeError:
        efficiencies = None
    known = None if efficiencies is None else _HERALDED_SEGMENTS.get((id(budget), efficiencies))
    if known is not None and known[0] is budget:
        return known[1]  # the same hop met again (a lever moving another parameter)
    inputs = (
        a.memory.efficiency,
        b.memory.efficiency,
        budget.channel_loss_db,
        budget.background_yield,
        budget.length_km,
    )
    try:
        key = (parameter_key(link, ("name", "ends")), *map(parameter_key, inputs))
    except TypeError:
        key = None
    shared = None if key is None else _SHARED_HERALDED.get(key)
    if shared is None:
        shared = _heralded_link(link, *inputs)
        if key is not None:
            remember(_SHARED_HERALDED, key, shared)
    p, attempt_s, fidelity = shared
    notes: tuple[str, ...] = ()
    if link.heralding_detector is None:
        notes = (
            f"link {link.name}: no heralding_detector, so the heralding station's detectors "
            "are ideal (no dark counts; the memories' efficiency includes detection)",
        )
    segment = Segment("heralded", link.ends, p, attempt_s, fidelity, notes=notes)
    if efficiencies is not None:
        remember(_HERALDED_SEGMENTS, (id(budget), efficiencies), (budget, segment))
    return segment


#: (p, τ, F) of a heralded link by its parameters (:func:`_heralded_segment`).
_SHARED_HERALDED: dict[Any, tuple[Any, Any, Any]] = {}
#: Heralded segments by (hop budget, memory efficiencies at its ends).
_HERALDED_SEGMENTS: dict[Any, tuple[LinkBudget, Segment]] = {}


def _heralded_link(
    link: Any,
    efficiency_a: Any,
    efficiency_b: Any,
    channel_loss_db: Any,
    background_yield: Any,
    length_km: Any,
) -> tuple[Any, Any, Any]:
    """Success probability per attempt, attempt time [s] and fidelity of a heralded link
    (:func:`_heralded_segment`) from its memories' efficiencies [unitless], its channel
    loss [dB], the background light at its station [per window] and its length [km]."""
    from qcalc.protocols.entanglement import (
        double_click_link,
        heralding_attempt_time_s,
        multiplexed_success_probability,
        single_click_link,
        station_dark_count_probability,
    )

    # Each arm is half the hop's channel; the memory efficiency folds in emission and
    # collection (and detection, when the link names no heralding detector).
    half = np.power(10.0, -np.asarray(channel_loss_db, dtype=float) / 20.0)
    eta_a = half * np.asarray(efficiency_a, dtype=float)
    eta_b = half * np.asarray(efficiency_b, dtype=float)
    station = link.heralding_detector
    station_yield = np.clip(
        (0.0 if station is None else _yield(station)) + background_yield, 0.0, 1.0
    )
    noise = {
        "detector_efficiency": 1.0 if station is None else station.efficiency,
        "visibility": link.two_photon_visibility,
        "dark_count_probability": station_dark_count_probability(station_yield),
    }
    if link.heralding == "single_click":
        herald = single_click_link(link.bright_state_population, eta_a, eta_b, **noise)
    else:
        herald = double_click_link(eta_a, eta_b, **noise)
    p = multiplexed_success_probability(herald.success_probability, link.memory_modes)
    fidelity = _werner_with_error(herald.fidelity, link.misalignment_error)
    attempt_s = heralding_attempt_time_s(length_km, preparation_time_s=ATTEMPT_PREPARATION_S)
    return p, attempt_s, fidelity


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
    from qcalc.network import cached_budget

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
                cached_budget(link, scenario, b, over_pass=False),
                cached_budget(hops[i + 1].link, scenario, b, over_pass=False),
            )
            seg = _spdc_segment(scenario, nb, a, c, budgets)
            i += 2
        elif na.memory is not None and nb.memory is not None:
            seg = _heralded_segment(scenario, hop)
            i += 1
        elif len(hops) == 1 and (_is_pair_source(na) or _is_pair_source(nb)):
            src, other = (na, b) if _is_pair_source(na) else (nb, a)
            budget = cached_budget(link, scenario, src.name, over_pass=False)
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


@record(frozen=True)
class ChainInputs:
    """The repeater protocol one scalar point of a route runs, on one attempt clock.

    These are the arguments of :func:`qcalc.protocols.chain.chain_statistics` (and of the
    Monte Carlo :func:`qcalc.protocols.montecarlo.simulate_chain`, which runs the same
    protocol), so the closed form and its check see the same chain.
    """

    attempt_time_s: float  # the common clock τ [s]
    success_probability: tuple[float, ...]  # per segment, per tick of τ [unitless]
    link_fidelity: tuple[float, ...]  # fresh Werner fidelity per segment [unitless]
    swap_probability: tuple[float, ...]  # per junction [unitless]
    swap_gate_factor: tuple[float, ...]  # 1 − ε per junction [unitless]
    node_decay_rate_per_attempt: tuple[float, ...]  # per node of the chain [1/attempt]
    noise: str
    cutoff_attempts: float  # [attempts, or inf]

    def as_kwargs(self) -> dict[str, Any]:
        return {
            "success_probability": list(self.success_probability),
            "link_fidelity": list(self.link_fidelity),
            "swap_probability": list(self.swap_probability) or 1.0,
            "swap_gate_factor": list(self.swap_gate_factor) or 1.0,
            "node_decay_rate_per_attempt": list(self.node_decay_rate_per_attempt),
            "noise": self.noise,
            "cutoff_attempts": self.cutoff_attempts,
        }


def deliver(
    scenario: Scenario,
    route: tuple[str, ...],
    hops: tuple[LinkBudget, ...],
    distillation: Any = None,
    *,
    explain: bool = True,
) -> Delivery:
    """End-to-end Bell pairs along ``route``: rate, fidelity and the times that bound them
    (with ``explain`` false, without the --explain steps: the same numbers).

    Probabilities near the smallest floats (a 1e-308 efficiency) take the intermediate
    arithmetic past the float range; the results are then brought back to what they
    mean: a rate that cannot be represented is 0, a fidelity stays in [1/4, 1].
    """
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        out = _deliver(scenario, route, hops, distillation, explain)
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
    explain: bool = True,
) -> Delivery:
    """Segments → the exact chain statistics → the end memories → distillation."""
    out = Delivery()
    segments, reason = build_segments(scenario, route, hops)
    out.segments = tuple(segments)
    out.notes.extend(_merge_link_notes([n for s in segments for n in s.notes]))
    out.reason = reason or _why_no_chain(scenario, route, hops, segments)
    if out.reason:
        return out
    _memory_noise(out, scenario, route)
    route_delay = sum((np.asarray(h.delay_s, dtype=float) for h in hops), np.asarray(0.0))
    out.classical_delay_s = route_delay
    ends_rate = _decay_rate_per_s(scenario, (route[0], route[-1]))
    junctions = _junctions(route, segments)
    _swapped_fidelity(out, scenario, segments, junctions)
    if len(segments) == 1:
        _single_segment(out, segments[0], ends_rate)
    else:
        _chain(out, scenario, route, segments, junctions, route_delay, ends_rate)
    if not out.delivers:
        return out
    out.fidelity, out.rate_hz = out.stored_fidelity, out.raw_rate_hz
    with np.errstate(divide="ignore"):
        out.heralding_time_s = (
            np.where(out.raw_rate_hz > 0, 1.0 / out.raw_rate_hz, np.inf) + 2.0 * route_delay
        )
    if distillation is not None and np.ndim(distillation.rounds):
        raise NotModelledError(
            "distillation rounds cannot vary within one evaluation; evaluate each number of "
            "rounds on its own"
        )
    if distillation is not None and distillation.rounds > 0:
        _distil(out, scenario, route, hops, distillation, route_delay, ends_rate)
    single = segments[0].qber if len(segments) == 1 and not out.distillation_rounds else None
    out.qber = (
        single
        if single is not None
        else qber_from_werner_fidelity(np.clip(out.fidelity, 0.25, 1.0))
    )
    out.steps = _steps(out) if explain else []
    return out


def _memory_noise(out: Delivery, scenario: Scenario, route: tuple[str, ...]) -> None:
    """The route's memories and their noise: dephasing only when every memory dephases
    (a mix is treated as depolarising, the more harmful of the two, and said so)."""
    out.memory_nodes = tuple(n for n in route if scenario.nodes[n].memory is not None)
    noises = [
        scenario.nodes[n].memory.noise  # type: ignore[union-attr]
        for n in out.memory_nodes
    ]
    out.dephasing = bool(out.memory_nodes) and all(n == "dephasing" for n in noises)
    if out.memory_nodes and not out.dephasing and any(n == "dephasing" for n in noises):
        out.notes.append(
            "memories on the route mix dephasing and depolarising noise; all are treated "
            "as depolarising, the more harmful of the two"
        )


def _swapped_fidelity(
    out: Delivery, scenario: Scenario, segments: list[Segment], junctions: list[str]
) -> None:
    """Fidelity of the swapped pair without memories: the product of the segments' Werner
    parameters and of the swapping nodes' gate factors (Briegel, Dür, Cirac, Zoller, PRL
    81, 5932 (1998))."""
    out.gate_factor = np.prod(
        np.stack(np.broadcast_arrays(1.0, *(_gate_factor(scenario, n) for n in junctions))), axis=0
    )
    werner: dict[int, Any] = {}  # segments of one kind share their fidelity array
    for s in segments:
        if id(s.fidelity) not in werner:
            werner[id(s.fidelity)] = werner_parameter(s.fidelity)
    w = np.prod(np.stack(np.broadcast_arrays(*(werner[id(s.fidelity)] for s in segments))), axis=0)
    out.swapped_fidelity = fidelity_from_werner_parameter(w * out.gate_factor)


def _merge_link_notes(notes: list[str]) -> list[str]:
    """One note for what several links share: "link a-b: X" and "link b-c: X" become
    "links a-b, b-c: X" (the first three named, then how many more)."""
    import re

    grouped: dict[str, list[str]] = {}
    seen: dict[str, set[str]] = {}
    order: list[str] = []
    for note in notes:
        match = re.match(r"link (\S+): (.*)$", note, re.S)
        key, name = (match.group(2), match.group(1)) if match else (note, "")
        if key not in grouped:
            grouped[key] = []
            seen[key] = set()
            order.append(key)
        if name and name not in seen[key]:
            grouped[key].append(name)
            seen[key].add(name)
    merged = []
    for key in order:
        names = grouped[key]
        if len(names) <= 1:
            merged.append(f"link {names[0]}: {key}" if names else key)
            continue
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        merged.append(f"links {shown}: {key}")
    return merged


def _why_no_chain(
    scenario: Scenario,
    route: tuple[str, ...],
    hops: tuple[LinkBudget, ...],
    segments: list[Segment],
) -> str:
    """Why the segments cannot make an end-to-end pair, or ``""``."""
    alive: dict[int, bool] = {}  # segments of one kind share their probability array
    for s in segments:
        if id(s.success_probability) not in alive:
            alive[id(s.success_probability)] = bool(np.any(np.asarray(s.success_probability) > 0))
    dead = [s for s in segments if not alive[id(s.success_probability)]]
    if dead:
        return f"link {'-'.join(dead[0].ends)} delivers no pairs (success probability 0)"
    for name in _junctions(route, segments):
        if scenario.nodes[name].memory is None:
            return (
                f"node {name} joins two elementary links but has no memory to "
                "hold a qubit while it waits to swap"
            )
    copies, need = _chain_copies(scenario, route, hops)
    if copies < 1:
        node = min(need, key=lambda n: _qubits(scenario, n) / need[n])
        return (
            f"node {node} holds {_qubits(scenario, node)} memory qubit(s) but its links on "
            f"this route attempt with {need[node]} mode(s) at once (memory_modes of each "
            "link, one qubit per mode)"
        )
    return ""


def _qubits(scenario: Scenario, node: str) -> int:
    """Memory qubits at ``node`` (the fewest over a sweep); 0 without a memory."""
    memory = scenario.nodes[node].memory
    return 0 if memory is None else int(np.min(np.asarray(memory.qubits)))


def _chain_copies(
    scenario: Scenario, route: tuple[str, ...], hops: tuple[LinkBudget, ...]
) -> tuple[int, dict[str, int]]:
    """How many copies of the chain the memories run at once, and the qubits one copy
    takes at each memory node: the ``memory_modes`` of the route's heralded links that
    meet there (a repeater attempts on both sides at once)."""
    need = dict.fromkeys((n for n in route if scenario.nodes[n].memory is not None), 0)
    most: dict[int, int] = {}  # links of one kind share their memory_modes
    for hop in hops:
        if hop.link.elementary_pair_rate_hz is not None:
            modes = 1  # a measured link: one pair held per attempt
        else:
            if id(hop.link.memory_modes) not in most:
                most[id(hop.link.memory_modes)] = int(np.max(np.asarray(hop.link.memory_modes)))
            modes = most[id(hop.link.memory_modes)]
        for end in hop.link.ends:
            if end in need:
                need[end] += modes
    if not need:
        return 1, need
    qubits: dict[int, int] = {}  # nodes sharing a memory profile share its qubits
    for n in need:
        if id(scenario.nodes[n].memory) not in qubits:
            qubits[id(scenario.nodes[n].memory)] = _qubits(scenario, n)
    copies = min(qubits[id(scenario.nodes[n].memory)] // max(k, 1) for n, k in need.items())
    return copies, need


def _gate_factor(scenario: Scenario, node: str) -> Any:
    """1 − ε of the swap gate at ``node``: a depolarising two-qubit gate of error ε
    multiplies the Werner parameter by 1 − ε (Briegel, Dür, Cirac, Zoller, PRL 81, 5932
    (1998), ideal measurement); 1 without a processor."""
    processor = scenario.nodes[node].processor
    if processor is None:
        return np.asarray(1.0)
    return 1.0 - np.asarray(processor.two_qubit_gate_error, dtype=float)


def _single_segment(out: Delivery, segment: Segment, ends_rate: Any) -> None:
    """One elementary link: geometric attempts; memories hold the pair one round trip."""
    p = np.asarray(segment.success_probability, dtype=float)
    tau = np.asarray(segment.attempt_time_s, dtype=float)
    out.waiting_method = "exact (geometric attempts)"
    out.attempt_time_s = tau
    out.raw_rate_hz = np.where(tau > 0, p / np.where(tau > 0, tau, 1.0), 0.0)
    # The memories hold their qubits for one heralding round trip τ.
    out.storage_time_s = tau if out.memory_nodes else np.asarray(0.0)
    decay = np.exp(-out.storage_time_s * ends_rate)
    w = werner_parameter(np.asarray(segment.fidelity, dtype=float))
    out.stored_fidelity = fidelity_from_werner_parameter(w * _memory_factor(decay, out.dephasing))


def _chain(
    out: Delivery,
    scenario: Scenario,
    route: tuple[str, ...],
    segments: list[Segment],
    junctions: list[str],
    route_delay: Any,
    ends_rate: Any,
) -> None:
    """Two or more segments: the exact chain statistics at every point of the inputs.

    Segments that attempt at different paces run on the slowest clock τ = max τ_i; a
    segment makes τ/τ_i attempts per tick, p_i → 1 − (1 − p_i)^{τ/τ_i}, and swaps are
    decided at ticks. The end pair then waits in the end memories for the swap outcomes
    to reach both ends (one-way classical delay of the route).
    """
    arrays = _chain_arrays(out, scenario, route, segments, junctions)
    tau = arrays.tau
    cutoff_s = _cutoff_s(scenario, out.memory_nodes)
    shape = np.broadcast_shapes(
        *(np.shape(a) for a in (tau, cutoff_s, route_delay, ends_rate)),
        *(a.shape[1:] for a in arrays.stacks()),
    )
    fields = _chain_points(out, arrays, cutoff_s, route_delay, ends_rate, shape)
    out.raw_rate_hz = fields["rate"]
    out.stored_fidelity = fields["fidelity"]
    out.dropped_mass = fields["dropped"]
    out.attempts_per_step = fields["step"]
    out.attempt_time_s = tau
    out.cutoff_attempts = np.floor(np.asarray(cutoff_s) / tau)
    out.waiting_method = out.chain_statistics[-1].method if out.chain_statistics else ""
    with np.errstate(divide="ignore"):
        # mean time the earlier pairs wait, beyond the last segment's own wait, plus the
        # classical delay: an account for the reader, not an input of the fidelity
        out.storage_time_s = route_delay + 0.0 * tau
    if not np.any(out.raw_rate_hz > 0):
        out.reason = out.notes[-1] if out.notes else "the chain delivers no pairs"


@record(frozen=True)
class _ChainArrays:
    """A chain's inputs on one clock, stacked along a first axis (segments or nodes)."""

    tau: Any  # the slowest attempt time, the chain's tick [s]
    p_tick: Any  # each segment's success probability per tick [unitless]
    fidelities: Any  # each segment's pair fidelity [unitless]
    swaps: Any  # each junction's Bell-measurement success probability [unitless]
    gates: Any  # each junction's gate factor on the Werner parameter [unitless]
    rates: Any  # each memory node's decay rate, ends first and last [1/s]

    def stacks(self) -> tuple[Any, ...]:
        return (self.p_tick, self.fidelities, self.swaps, self.gates, self.rates)


def _stacked_alike(a: Any, b: Any) -> tuple[Any, Any]:
    """Two arrays stacked along a first axis (segments), the rest their points' shapes,
    made to broadcast point by point: a stack of scalars (one per segment) gains trailing
    axes instead of being aligned with the points' last axis."""
    a, b = np.asarray(a), np.asarray(b)
    ndim = max(a.ndim, b.ndim)
    return a.reshape(a.shape + (1,) * (ndim - a.ndim)), b.reshape(b.shape + (1,) * (ndim - b.ndim))


def _chain_arrays(
    out: Delivery,
    scenario: Scenario,
    route: tuple[str, ...],
    segments: list[Segment],
    junctions: list[str],
) -> _ChainArrays:
    """The segments on the slowest clock τ = max τ_i: a segment makes τ/τ_i attempts per
    tick, p_i → 1 − (1 − p_i)^{τ/τ_i}; the junctions' swaps and gates; the nodes' decay."""
    taus = np.stack(np.broadcast_arrays(*(s.attempt_time_s for s in segments))).astype(float)
    tau = np.max(taus, axis=0)
    if np.any(taus != tau):
        out.notes.append(
            "the elementary links attempt at different paces; the chain runs on the slowest "
            "clock, each link attempting as often as fits in one tick, swaps at ticks"
        )
    ps = np.stack(np.broadcast_arrays(*(s.success_probability for s in segments))).astype(float)
    ticks = np.where(taus > 0, tau / np.where(taus > 0, taus, 1.0), 1.0)
    nodes = (route[0], *junctions, route[-1])
    decay: dict[int, Any] = {}  # nodes sharing a memory profile share its decay rate
    for n in nodes:
        if id(scenario.nodes[n].memory) not in decay:
            decay[id(scenario.nodes[n].memory)] = _decay_rate_per_s(scenario, (n,))
    return _ChainArrays(
        tau=tau,
        p_tick=-np.expm1(np.multiply(*_stacked_alike(ticks, np.log1p(-np.minimum(ps, 1.0))))),
        fidelities=np.stack(np.broadcast_arrays(*(s.fidelity for s in segments))).astype(float),
        swaps=np.stack(
            np.broadcast_arrays(
                *(
                    np.asarray(scenario.nodes[n].bsm_success_probability, dtype=float)
                    for n in junctions
                )
            )
        ),
        gates=np.stack(np.broadcast_arrays(*(_gate_factor(scenario, n) for n in junctions))),
        rates=np.stack(
            np.broadcast_arrays(*(decay[id(scenario.nodes[n].memory)] for n in nodes))
        ).astype(float),
    )


def _chain_points(
    out: Delivery,
    arrays: _ChainArrays,
    cutoff_s: Any,
    route_delay: Any,
    ends_rate: Any,
    shape: tuple[int, ...],
) -> dict[str, Any]:
    """The exact chain statistics at every point of the inputs' grid (rate, fidelity,
    dropped mass, attempts per step), the end pair held in the end memories for the
    one-way classical delay of the route."""
    noise = "dephasing" if out.dephasing else "depolarising"
    fields = {name: np.zeros(shape) for name in ("rate", "fidelity", "dropped", "step")}
    out.chain_inputs = []
    for index in np.ndindex(shape) if shape else [()]:
        point = _point(arrays.tau, index, shape)
        inputs = ChainInputs(
            attempt_time_s=point,
            success_probability=_points(arrays.p_tick, index, shape),
            link_fidelity=_points(arrays.fidelities, index, shape),
            swap_probability=_points(arrays.swaps, index, shape),
            swap_gate_factor=_points(arrays.gates, index, shape),
            node_decay_rate_per_attempt=tuple(
                r * point for r in _points(arrays.rates, index, shape)
            ),
            noise=noise,
            cutoff_attempts=_cutoff_attempts(_point(cutoff_s, index, shape), point),
        )
        stats = _chain_statistics(inputs)
        out.chain_inputs.append(inputs)
        out.chain_statistics.append(stats)
        hold = math.exp(-_point(route_delay, index, shape) * _point(ends_rate, index, shape))
        stats = _held(stats, hold)
        fields["rate"][index] = stats.pair_rate_hz(point) if point > 0 else 0.0
        fields["fidelity"][index] = stats.fidelity if not stats.reason else 0.25
        fields["dropped"][index] = stats.dropped_mass if not stats.reason else 1.0
        fields["step"][index] = stats.attempts_per_step
        if stats.reason and stats.reason not in out.notes:
            out.notes.append(stats.reason)
    return fields


def _cutoff_attempts(cutoff_s: float, tau_s: float) -> float:
    """A memory cut-off in whole attempts of the clock, ⌊c/τ⌋ (inf: none)."""
    if not (math.isfinite(cutoff_s) and tau_s > 0):
        return math.inf
    return float(math.floor(cutoff_s / tau_s))


def _point(value: Any, index: tuple[Any, ...], shape: tuple[int, ...]) -> float:
    """The element of ``value`` (broadcast to ``shape``) at ``index``."""
    return float(np.broadcast_to(np.asarray(value, dtype=float), shape)[index])


def _points(stack: Any, index: tuple[Any, ...], shape: tuple[int, ...]) -> tuple[float, ...]:
    """The elements of each row of ``stack`` (rows broadcast to ``shape``) at ``index``."""
    rows = np.asarray(stack, dtype=float)
    rows = rows.reshape(rows.shape[0], *(1,) * (len(shape) - rows.ndim + 1), *rows.shape[1:])
    values = np.broadcast_to(rows, (rows.shape[0], *shape))
    return tuple(float(v) for v in values.reshape(rows.shape[0], -1)[:, _flat(index, shape)])


def _flat(index: tuple[Any, ...], shape: tuple[int, ...]) -> int:
    return int(np.ravel_multi_index(index, shape)) if shape else 0


@functools.lru_cache(maxsize=256)
def _chain_statistics(inputs: ChainInputs) -> Any:
    """:func:`qcalc.protocols.chain.chain_statistics` of one point, cached: sweeps and
    levers revisit the same chains."""
    from qcalc.protocols.chain import chain_statistics, never_statistics

    if min(inputs.swap_probability, default=1.0) <= 0.0:
        # a scenario may give a repeater bsm_success_probability 0: it never swaps
        return never_statistics(
            len(inputs.success_probability), inputs.noise, "a swap succeeds with probability 0"
        )
    return chain_statistics(**inputs.as_kwargs(), max_points=CHAIN_MAX_POINTS)


def _held(stats: Any, decay: float, dephasing: bool | None = None) -> Any:
    """Statistics of pairs held a fixed time longer in the end memories (decay factor x
    = e^{−t Σ1/T}); the delivery time is unchanged (classical messages overlap the next
    attempts)."""
    from dataclasses import replace

    from qcalc.protocols.chain import WALSH

    if stats.reason or decay == 1.0:
        return stats
    dephase = stats.noise == "dephasing" if dephasing is None else dephasing
    factor = np.array([1.0, decay, decay, 1.0 if dephase else decay])
    walsh = stats.walsh * factor[:, None]
    mass = float(walsh[0].sum())
    weights = WALSH @ (walsh.sum(axis=1) / mass) / 4.0
    return replace(stats, walsh=walsh, bell_weights=weights, fidelity=float(weights[0]))


def _cutoff_s(scenario: Scenario, nodes: tuple[str, ...]) -> Any:
    """The shortest memory cut-off on the route (inf: none). [s]"""
    cutoffs = [
        m.cutoff_s
        for m in (scenario.nodes[n].memory for n in nodes)
        if m is not None and m.cutoff_s is not None
    ]
    if not cutoffs:
        return np.asarray(np.inf)
    return np.min(np.stack(np.broadcast_arrays(*cutoffs)).astype(float), axis=0)


def _distil(
    out: Delivery,
    scenario: Scenario,
    route: tuple[str, ...],
    hops: tuple[LinkBudget, ...],
    distillation: Any,
    route_delay: Any,
    ends_rate: Any,
) -> None:
    """Recurrence distillation of the delivered pairs, scheduled as the memories allow.

    Each round takes two pairs of the round below. ``C`` chain copies fit in the
    memories at once (the fewest qubits on the route ÷ the modes a copy attempts with),
    so round k makes its two inputs in parallel while 2^k ≤ C and one after the other
    beyond; a sequential round holds its first input in the end memories meanwhile, so
    the ends need one spare qubit per sequential round. Rounds that do not fit are not
    run, and a note says so. Each round pays the classical round trip of the route (both
    ends learn both outcomes and confirm) while both pairs decay.
    """
    ends = (scenario.nodes[route[0]].memory, scenario.nodes[route[-1]].memory)
    if any(m is None for m in ends):
        out.notes.append(
            "distillation needs memories at both ends to hold pairs while they wait for "
            "partners; not applied"
        )
        return
    copies, need = _chain_copies(scenario, route, hops)
    qubits = {n: _qubits(scenario, n) for n in (route[0], route[-1])}
    end_qubits = min(qubits.values())
    end_need = max(need[route[0]], need[route[-1]])
    wanted = int(distillation.rounds)
    parallel_rounds = min(int(math.floor(math.log2(max(copies, 1)))), wanted)
    spare = end_qubits - 2**parallel_rounds * end_need
    rounds = parallel_rounds + max(0, min(wanted - parallel_rounds, spare))
    schedule = ["parallel"] * parallel_rounds + ["sequential"] * (rounds - parallel_rounds)
    if rounds < wanted:
        out.notes.append(
            f"distillation: {wanted} round(s) asked, {rounds} fit: the end memories hold "
            f"{end_qubits} qubits, one chain attempts with {end_need} of them at each end, "
            f"{copies} chain(s) fit on the route at once, and each round beyond the "
            "parallel ones holds one more pair at the ends"
        )
    out.distillation_schedule = tuple(schedule)
    if not rounds:
        return
    if len(out.segments) == 1:
        # one segment: its pairs are geometric on the heralding clock
        out.chain_statistics = []
        _single_statistics(out, scenario, route, ends_rate)
    shape = np.shape(out.raw_rate_hz)
    rate, fidelity = np.zeros(shape), np.zeros(shape)
    successes: list[Any] = [np.zeros(shape) for _ in schedule]
    fidelities: list[Any] = [np.zeros(shape) for _ in schedule]
    for flat, stats in enumerate(out.chain_statistics):
        index = np.unravel_index(flat, shape) if shape else ()
        tau = _point(out.attempt_time_s, index, shape)
        end_rate = _point(ends_rate, index, shape) * tau
        stats = _held(
            stats, math.exp(-_point(route_delay, index, shape) * _point(ends_rate, index, shape))
        )
        comm = 2.0 * _point(route_delay, index, shape) / tau if tau > 0 else 0.0
        stats = _distil_rounds(stats, distillation.protocol, schedule, end_rate, comm)
        rate[index] = stats.pair_rate_hz(tau) if tau > 0 else 0.0
        fidelity[index] = stats.fidelity if not stats.reason else 0.25
        for k, (p_k, f_k) in enumerate(
            zip(stats.round_success_probabilities, stats.round_fidelities, strict=False)
        ):
            successes[k][index], fidelities[k][index] = p_k, f_k
        if stats.reason and stats.reason not in out.notes:
            out.notes.append(stats.reason)
    out.distillation_rounds = rounds
    out.rate_hz, out.fidelity = rate, fidelity
    out.round_success_probabilities = tuple(successes)
    out.round_fidelities = tuple(fidelities)
    with np.errstate(divide="ignore", invalid="ignore"):
        out.pairs_per_output = np.where(rate > 0, out.raw_rate_hz / rate, np.inf)


def _distil_rounds(
    stats: Any, protocol: str, schedule: list[str], end_rate: float, comm: float
) -> Any:
    from qcalc.protocols.chain import distil_statistics

    successes: list[float] = []
    fidelities: list[float] = []
    for mode in schedule:
        stats = distil_statistics(
            stats,
            protocol,
            1,
            parallel=mode == "parallel",
            end_decay_rate_per_attempt=end_rate,
            communication_attempts=comm,
            max_points=CHAIN_MAX_POINTS,
        )
        successes += stats.round_success_probabilities
        fidelities += stats.round_fidelities
    from dataclasses import replace

    return replace(
        stats,
        round_success_probabilities=tuple(successes),
        round_fidelities=tuple(fidelities),
    )


def _single_statistics(
    out: Delivery, scenario: Scenario, route: tuple[str, ...], ends_rate: Any
) -> None:
    """Chain statistics of a one-segment route at every point (for distillation): the
    pair is made after geometric attempts and held one heralding round trip."""
    segment = out.segments[0]
    shape = np.shape(out.raw_rate_hz)
    p = np.broadcast_to(np.asarray(segment.success_probability, dtype=float), shape)
    tau = np.broadcast_to(np.asarray(segment.attempt_time_s, dtype=float), shape)
    stored = np.broadcast_to(np.asarray(out.stored_fidelity, dtype=float), shape)
    noise = "dephasing" if out.dephasing else "depolarising"
    out.chain_inputs = []
    for index in np.ndindex(shape):
        inputs = ChainInputs(
            attempt_time_s=float(tau[index]),
            success_probability=(float(p[index]),),
            link_fidelity=(float(stored[index]),),
            swap_probability=(),
            swap_gate_factor=(),
            node_decay_rate_per_attempt=(0.0, 0.0),
            noise=noise,
            cutoff_attempts=math.inf,
        )
        out.chain_inputs.append(inputs)
        out.chain_statistics.append(_chain_statistics(inputs))


@record(frozen=True)
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
    """Simulate the delivery's repeater protocol (attempts, swaps, memory decay, cut-off)
    with :func:`qcalc.protocols.montecarlo.simulate_chain`, the same chain that
    :func:`qcalc.protocols.chain.chain_statistics` solves exactly; None when there is
    nothing to simulate or the inputs are swept arrays.

    Both fidelities are those of the end-to-end pair when the chain completes, before
    the end memories wait for the classical messages and before distillation.
    """
    from qcalc.protocols.montecarlo import simulate_chain

    if not delivery.delivers or len(delivery.chain_inputs) != 1:
        return None
    inputs = delivery.chain_inputs[0]
    stats = delivery.chain_statistics[0]
    tau = inputs.attempt_time_s
    if stats.reason or not tau > 0 or len(inputs.success_probability) < 2:
        return None
    sim = simulate_chain(**inputs.as_kwargs(), trials=trials, seed=seed)
    k_lo, k_hi = sim.attempts_ci99
    return MonteCarloCheck(
        trials=trials,
        seed=seed,
        pair_rate_hz=1.0 / (sim.mean_attempts * tau),
        pair_rate_ci99_hz=(1.0 / (k_hi * tau), 1.0 / (max(k_lo, 1e-300) * tau)),
        fidelity=sim.mean_fidelity,
        fidelity_ci99=sim.fidelity_ci99,
        closed_form_pair_rate_hz=stats.pair_rate_hz(tau),
        closed_form_fidelity=stats.fidelity,
        method=stats.method,
    )


def _junctions(route: tuple[str, ...], segments: list[Segment]) -> list[str]:
    return [s.ends[1] for s in segments[:-1]]


def _memory_factor(decay: Any, dephasing: bool) -> Any:
    r"""What storage does to the fidelity of a Werner pair, given x = e^{−t/T}.

    .. math::
        w \to w\,x \ \text{(depolarising)}, \qquad
        w \to w\,\frac{1 + 2x}{3} \ \text{(dephasing, as a fidelity)}

    Dephasing keeps the Φ+/Φ− populations' sum and mixes them with probability
    (1 − x)/2 (Nielsen & Chuang, *Quantum Computation and Quantum Information* (2000),
    Sec. 8.3.6, phase damping): two of the three Pauli correlators decay by x, so the
    fidelity of a Werner pair is that of Werner parameter w(1 + 2x)/3. Chains of two
    or more segments track the whole Bell-diagonal state
    (:mod:`qcalc.protocols.chain`).
    """
    x = np.asarray(decay, dtype=float)
    return (1.0 + 2.0 * x) / 3.0 if dephasing else x


def _decay_rate_per_s(scenario: Scenario, nodes: tuple[str, ...]) -> Any:
    """Σ 1/T of the memories at ``nodes`` (two of them: a pair's two halves); 0 where
    there is no memory (a photon measured on arrival is not stored). [1/s]"""
    rates = [
        1.0 / np.asarray(m.coherence_time_s, dtype=float)
        for m in (scenario.nodes[n].memory for n in nodes)
        if m is not None
    ]
    return sum(rates, np.asarray(0.0))


def _steps(out: Delivery) -> list[Step]:
    """The delivery's --explain steps: each elementary link, the end pair (one link held
    in the end memories, or the chain statistics), and the distillation rounds."""
    steps = _segment_steps(out.segments)
    steps.append(_single_step(out) if len(out.segments) == 1 else _chain_step(out))
    if out.distillation_rounds:
        steps.append(_distillation_step(out))
    return steps


def _segment_steps(segments: tuple[Segment, ...]) -> list[Step]:
    """One step per elementary link, rate = p / τ."""
    # Segments of one kind of hop share their numbers (the same arrays): format them once.
    shown: dict[tuple[int, int, int], tuple[tuple[tuple[str, str], ...], str]] = {}

    def numbers(s: Segment) -> tuple[tuple[tuple[str, str], ...], str]:
        key = (id(s.success_probability), id(s.attempt_time_s), id(s.fidelity))
        if key not in shown:
            shown[key] = (
                (("p", fmt(s.success_probability)), ("τ", fmt(s.attempt_time_s, "s"))),
                f"{fmt(s.rate_hz, 'Hz')} at fidelity {fmt(s.fidelity)}",
            )
        return shown[key]

    return [
        Step(f"elementary link {'-'.join(s.ends)} ({s.kind})", "rate = p / τ", *numbers(s))
        for s in segments
    ]


def _single_step(out: Delivery) -> Step:
    """One elementary link: its pair held in the end memories for a heralding round trip."""
    return Step(
        "one elementary link: the end memories hold the pair one heralding round trip",
        "F = 1/4 + (F0 − 1/4) e^{−τ Σ 1/T}  (depolarising)",
        (
            ("F0", fmt(out.segments[0].fidelity)),
            ("τ", fmt(out.attempt_time_s, "s")),
        ),
        f"{fmt(out.raw_rate_hz, 'Hz')} at fidelity {fmt(out.stored_fidelity)}",
    )


def _chain_step(out: Delivery) -> Step:
    """The exact delivery-time distribution and delivered state of a chain."""
    return Step(
        f"delivery-time distribution and delivered state over {len(out.segments)} segments",
        "P̂(z) = a Ŝ(z) / (1 − (1 − a) Ŝ(z) − F̂_c(z)) per nested block, swap η' = η_L η_R "
        "(1 − ε), waiting pair η × e^{−t Σ1/T}  (Li, Coopmans, Elkouss, IEEE TQE 2, "
        "4100815 (2021), Eqs. 6–13)",
        (
            ("clock τ", fmt(out.attempt_time_s, "s")),
            ("memory cut-off", fmt(out.cutoff_attempts, "attempts")),
            ("dropped mass", fmt(out.dropped_mass)),
            ("method", out.waiting_method),
        ),
        f"{fmt(out.raw_rate_hz, 'Hz')}; swapped fidelity without memories "
        f"{fmt(out.swapped_fidelity)}, with them and the end memories' wait of "
        f"{fmt(out.classical_delay_s, 's')} for the swap outcomes "
        f"{fmt(out.stored_fidelity)}",
    )


def _distillation_step(out: Delivery) -> Step:
    """The distillation rounds: success probability and fidelity after each."""
    return Step(
        f"distillation, {out.distillation_rounds} round(s) "
        f"({', '.join(out.distillation_schedule)} inputs)",
        "per round: two pairs (the earlier one decaying while it waits), a classical "
        "round trip, success p(λ_A, λ_B); failure restarts (Li et al. 2021, Sec. II.B; "
        "BBPSSW, DEJMPS maps)",
        tuple(
            (f"round {k + 1} p, F", f"{fmt(p)}, {fmt(f)}")
            for k, (p, f) in enumerate(
                zip(out.round_success_probabilities, out.round_fidelities, strict=False)
            )
        ),
        f"F = {fmt(out.fidelity)} at {fmt(out.rate_hz, 'Hz')} "
        f"({fmt(out.pairs_per_output)} raw pairs per output)",
    )
