"""The model chain: a demand → its route → hop budgets → key and pair rates → stages.

Functions, then the classes that hold their results (pvlib's "model chain"). Every number
here broadcasts over numpy arrays, so ``qcalc sweep`` evaluates a whole grid in one call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qcalc.linkbudget import LinkBudget, Step, _fmt, detector_yield
from qcalc.network import demand_route, hop_budgets
from qcalc.protocols.qkd import bb84_key_rate, plob_bound, single_photon_bb84_key_rate
from qcalc.scenario import Check, Demand, Detector, Scenario, Source


@dataclass(frozen=True)
class ProtocolRate:
    """A QKD protocol's key rate over a stretch of the route, against the PLOB bound."""

    protocol: str
    scope: str  # "end to end" or "hop a→b"
    key_rate_bps: Any
    bits_per_pulse: Any
    repetition_rate_hz: Any
    plob_bps: Any
    mean_photon_number: Any = None
    note: str = ""

    @property
    def fraction_of_plob(self) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.asarray(self.key_rate_bps, dtype=float) / np.asarray(self.plob_bps)
        return np.where(np.asarray(self.plob_bps) > 0, ratio, 0.0)


@dataclass(frozen=True)
class StageVerdict:
    stage: int
    name: str
    met: Any  # bool or numpy bool array in a sweep
    reason: str


@dataclass(frozen=True)
class CheckResult:
    check: Check
    got: float
    passed: bool


@dataclass
class DemandResult:
    """Everything qcalc computed for one demand."""

    demand: Demand
    path: tuple[str, ...]
    hops: tuple[LinkBudget, ...]
    hop_rates: tuple[ProtocolRate | None, ...] = ()
    limiting_hop: int | None = None
    end_to_end: tuple[ProtocolRate, ...] = ()
    key_rate_bps: Any = 0.0
    protocol: str | None = None
    pair_rate_hz: Any = 0.0
    fidelity: Any = 0.0
    entanglement: Any = None
    stages: tuple[StageVerdict, ...] = ()
    stage: Any = 0
    notes: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    checks: tuple[CheckResult, ...] = ()

    @property
    def intermediates(self) -> tuple[str, ...]:
        return self.path[1:-1]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


# ----------------------------------------------------------------------------- QKD


def _combined_misalignment(errors: list[Any]) -> Any:
    """Misalignment of concatenated optics, e = (1 − Π(1 − 2e_i))/2 (independent flips)."""
    product: Any = np.asarray(1.0)
    for e in errors:
        product = product * (1.0 - 2.0 * np.asarray(e, dtype=float))
    return (1.0 - product) / 2.0


def prepare_measure_rates(
    source: Source | None,
    detector: Detector | None,
    transmittance: Any,
    channel_transmittance: Any,
    misalignment_error: Any,
    demand: Demand,
    scope: str,
    steps: list[Step] | None = None,
) -> tuple[list[ProtocolRate], list[str]]:
    """Key rates of the prepare-and-measure protocols a source/detector pair can run.

    Returns the rates and notes for anything not modelled or not applicable.
    """
    notes: list[str] = []
    if source is None or detector is None:
        missing = "source" if source is None else "detector"
        return [], [f"{scope}: no {missing}, so no prepare-and-measure key"]
    if source.repetition_rate_hz is None:
        return [], [f"{scope}: the source gives no repetition_rate_hz, so no key rate"]
    rep = np.asarray(source.repetition_rate_hz, dtype=float)
    y0 = detector_yield(detector)
    f = demand.error_correction_efficiency
    q = demand.sifting_factor
    plob_bps = plob_bound(channel_transmittance) * rep
    rates: list[ProtocolRate] = []

    def add(protocol: str, bits: Any, mu: Any = None) -> None:
        rates.append(ProtocolRate(protocol, scope, bits * rep, bits, rep, plob_bps, mu))

    wanted = demand.protocol
    if source.kind == "weak_coherent":
        mu = None if source.mean_photon_number == "optimise" else source.mean_photon_number
        decoys = source.decoy_photon_numbers
        if wanted in (None, "bb84-decoy"):
            if decoys == "infinite":
                bits, used_mu = bb84_key_rate(
                    transmittance,
                    y0,
                    misalignment_error,
                    mean_photon_number=mu,
                    decoy="infinite",
                    error_correction_efficiency=f,
                    sifting_factor=q,
                )
                add("bb84-decoy", bits, used_mu)
            elif 0.0 in decoys and max(decoys) > 0:
                nu = max(decoys)
                bits, used_mu = bb84_key_rate(
                    transmittance,
                    y0,
                    misalignment_error,
                    mean_photon_number=mu,
                    decoy="vacuum+weak",
                    weak_decoy_photon_number=nu,
                    error_correction_efficiency=f,
                    sifting_factor=q,
                )
                add("bb84-decoy", bits, used_mu)
            else:
                notes.append(
                    f"{scope}: decoys {list(decoys)} without a vacuum decoy are not "
                    "modelled; give [ν, 0.0] or `infinite`"
                )
        if wanted in (None, "gllp"):
            bits, used_mu = bb84_key_rate(
                transmittance,
                y0,
                misalignment_error,
                mean_photon_number=mu,
                decoy="none",
                error_correction_efficiency=f,
                sifting_factor=q,
            )
            add("gllp", bits, used_mu)
    elif source.kind == "single_photon":
        if wanted in (None, "bb84-single-photon"):
            bits = single_photon_bb84_key_rate(
                transmittance,
                y0,
                misalignment_error,
                error_correction_efficiency=f,
                sifting_factor=q,
            )
            add("bb84-single-photon", bits)
    else:
        notes.append(f"{scope}: an entangled-pair source does not run prepare-and-measure QKD")
    if wanted is not None and not rates and not notes:
        notes.append(f"{scope}: protocol {wanted} does not apply to a {source.kind} source")
    if steps is not None and rates:
        best = max(rates, key=lambda r: float(np.max(r.key_rate_bps)))
        steps.append(
            Step(
                f"{best.protocol} key rate, {scope}",
                "R = q{−Q_μ f h(E_μ) + Q_1[1 − h(e_1)]} · rep. rate  (Lo, Ma, Chen 2005; GLLP)",
                (
                    ("η (channel × detector)", _fmt(transmittance)),
                    ("Y0", _fmt(y0)),
                    ("e_d", _fmt(misalignment_error)),
                    ("f", _fmt(f)),
                    ("q", _fmt(q)),
                    (
                        "μ",
                        _fmt(best.mean_photon_number)
                        if best.mean_photon_number is not None
                        else "—",
                    ),
                    ("rep. rate", _fmt(rep, "Hz")),
                ),
                f"{_fmt(best.bits_per_pulse, 'bits/pulse')} = {_fmt(best.key_rate_bps, 'bit/s')}; "
                f"PLOB −log2(1−η_ch)·rate = {_fmt(best.plob_bps, 'bit/s')}",
            )
        )
    return rates, notes


def _best(rates: list[ProtocolRate]) -> ProtocolRate | None:
    if not rates:
        return None
    return max(rates, key=lambda r: float(np.max(np.asarray(r.key_rate_bps))))


def hop_key_rates(scenario: Scenario, result: DemandResult) -> None:
    """Key of every hop on its own (a trusted-relay chain) and its bottleneck."""
    best_rates: list[ProtocolRate | None] = []
    for budget in result.hops:
        sender = scenario.nodes[budget.sender]
        receiver = scenario.nodes[budget.receiver]
        scope = f"hop {budget.sender}→{budget.receiver}"
        rates, notes = prepare_measure_rates(
            sender.source,
            receiver.detector,
            budget.transmittance,
            budget.channel_transmittance,
            budget.link.misalignment_error,
            result.demand,
            scope,
            result.steps if len(result.hops) > 1 else None,
        )
        result.notes.extend(notes)
        best_rates.append(_best(rates))
    result.hop_rates = tuple(best_rates)
    if result.hops and all(r is not None for r in best_rates):
        keys = [np.asarray(r.key_rate_bps) for r in best_rates if r is not None]
        result.limiting_hop = int(np.argmin([float(np.min(k)) for k in keys]))


def end_to_end_rates(scenario: Scenario, result: DemandResult) -> None:
    """Key over the whole route's loss, no node in between trusted or measuring."""
    first, last = result.hops[0], result.hops[-1]
    source = scenario.nodes[first.sender].source
    detector = scenario.nodes[last.receiver].detector
    channel_db = sum((np.asarray(h.channel_loss_db) for h in result.hops), np.asarray(0.0))
    from qcalc.physics.fibre import loss_db_from_transmittance, transmittance_from_loss_db

    total_db = channel_db
    if detector is not None:
        total_db = channel_db + loss_db_from_transmittance(detector.efficiency)
    misalignment = _combined_misalignment([h.link.misalignment_error for h in result.hops])
    if result.steps is not None and len(result.hops) > 1:
        result.steps.append(
            Step(
                "end-to-end channel",
                "loss = Σ hop channel losses",
                tuple((h.link.name, _fmt(h.channel_loss_db, "dB")) for h in result.hops),
                _fmt(channel_db, "dB"),
            )
        )
    rates, notes = prepare_measure_rates(
        source,
        detector,
        transmittance_from_loss_db(total_db),
        transmittance_from_loss_db(channel_db),
        misalignment,
        result.demand,
        "end to end",
        result.steps,
    )
    result.end_to_end = tuple(rates)
    result.notes.extend(notes)


# ----------------------------------------------------------------------------- chain


def evaluate_demand(scenario: Scenario, demand: Demand) -> DemandResult:
    """Evaluate one demand of ``scenario``: route, budgets, rates, stages and checks."""
    from qcalc.stage import evaluate_stages

    path = demand_route(scenario, demand)
    result = DemandResult(demand=demand, path=path, hops=hop_budgets(scenario, path))
    for budget in result.hops:
        result.steps.extend(budget.steps)
    hop_key_rates(scenario, result)
    end_to_end_rates(scenario, result)
    evaluate_stages(scenario, result)
    result.checks = check_expectations(result)
    return result


def evaluate_scenario(scenario: Scenario) -> list[DemandResult]:
    """Evaluate every demand of ``scenario`` in order."""
    return [evaluate_demand(scenario, demand) for demand in scenario.demands]


def check_expectations(result: DemandResult) -> tuple[CheckResult, ...]:
    """Compare the demand's ``expect`` entries with what was computed."""
    out = []
    for check in result.demand.expect:
        got = float(np.min(np.asarray(getattr(result, check.field), dtype=float)))
        out.append(CheckResult(check, got, check.passes(got)))
    return tuple(out)
