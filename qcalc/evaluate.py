"""The model chain: a demand → its route → hop budgets → key and pair rates → stages.

Functions, then the classes that hold their results (pvlib's "model chain"). Every number
here broadcasts over numpy arrays, so ``qcalc sweep`` evaluates a whole grid in one call.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from qcalc.linkbudget import LinkBudget, Step, detector_yield, fmt_value
from qcalc.network import demand_route, hop_budgets
from qcalc.physics.detectors import combined_misalignment_error
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
    key_scope: str | None = None  # "end to end" or "trusted chain"
    key_repetition_rate_hz: Any = 0.0
    pair_rate_hz: Any = 0.0
    fidelity: Any = 0.0
    entanglement: Any = None
    stages: tuple[Any, ...] = ()  # qcalc.stage.StageVerdict
    stage: Any = 0
    notes: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    checks: tuple[CheckResult, ...] = ()
    passes: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_stage: Any = None
    monte_carlo: Any = None

    @property
    def channel_loss_db(self) -> Any:
        """Channel loss summed over the route, receivers' detectors excluded. [dB]"""
        return sum((np.asarray(h.channel_loss_db) for h in self.hops), np.asarray(0.0))

    @property
    def intermediates(self) -> tuple[str, ...]:
        return self.path[1:-1]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


# ----------------------------------------------------------------------------- QKD


def prepare_measure_rates(
    source: Source | None,
    detector: Detector | None,
    transmittance: Any,
    channel_transmittance: Any,
    misalignment_error: Any,
    demand: Demand,
    scope: str,
    steps: list[Step] | None = None,
    background_yield: Any = 0.0,
    pass_duration_s: float | None = None,
) -> tuple[list[ProtocolRate], list[str]]:
    """Key rates of the prepare-and-measure protocols a source/detector pair can run.

    Returns the rates and notes for anything not modelled or not applicable. With
    ``pass_duration_s`` the inputs are sampled over a satellite pass; the finite-key
    block is then the whole pass.
    """
    notes: list[str] = []
    if source is None or detector is None:
        missing = "source" if source is None else "detector"
        return [], [f"{scope}: no {missing}, so no prepare-and-measure key"]
    if source.repetition_rate_hz is None:
        return [], [f"{scope}: the source gives no repetition_rate_hz, so no key rate"]
    rep = np.asarray(source.repetition_rate_hz, dtype=float)
    y0 = np.clip(np.asarray(detector_yield(detector)) + background_yield, 0.0, 1.0)
    f = demand.error_correction_efficiency
    q = demand.sifting_factor
    plob_bps = plob_bound(channel_transmittance) * rep
    rates: list[ProtocolRate] = []

    def add(protocol: str, bits: Any, mu: Any = None) -> None:
        rates.append(ProtocolRate(protocol, scope, bits * rep, bits, rep, plob_bps, mu))

    wanted = demand.protocol
    if source.kind == "weak_coherent":
        mu = source.mean_photon_number
        mu = None if isinstance(mu, str) else mu  # "optimise"
        decoys = source.decoy_photon_numbers
        if wanted in (None, "bb84-decoy"):
            method = "infinite" if decoys == "infinite" else "vacuum+weak"
            nu = 0.1 if decoys == "infinite" else max(decoys)
            if decoys == "infinite" or (0.0 in decoys and nu > 0):
                bits, used_mu = bb84_key_rate(
                    transmittance,
                    y0,
                    misalignment_error,
                    mean_photon_number=mu,
                    decoy=method,
                    weak_decoy_photon_number=nu,
                    error_correction_efficiency=f,
                    sifting_factor=q,
                )
                add("bb84-decoy", bits, used_mu)
                if steps is not None:
                    steps.append(
                        _decoy_step(
                            used_mu, transmittance, y0, misalignment_error, method, nu, scope
                        )
                    )
            else:
                notes.append(
                    f"{scope}: decoys {list(decoys)} without a vacuum decoy are not "
                    "modelled; give [ν, 0.0] or `infinite`"
                )
        if wanted == "bb84-finite" or (wanted is None and demand.block_size is not None):
            finite = _finite_key(
                transmittance, y0, misalignment_error, f, rep, demand, pass_duration_s
            )
            if finite is None:
                notes.append(f"{scope}: bb84-finite needs the demand's block_size (pulses)")
            else:
                add("bb84-finite", *finite)
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
                    ("η (channel × detector)", fmt_value(transmittance)),
                    ("Y0", fmt_value(y0)),
                    ("e_d", fmt_value(misalignment_error)),
                    ("f", fmt_value(f)),
                    ("q", fmt_value(q)),
                    (
                        "μ",
                        fmt_value(best.mean_photon_number)
                        if best.mean_photon_number is not None
                        else "—",
                    ),
                    ("rep. rate", fmt_value(rep, "Hz")),
                ),
                f"{fmt_value(best.bits_per_pulse, 'bits/pulse')} = {fmt_value(best.key_rate_bps, 'bit/s')}; "
                f"PLOB −log2(1−η_ch)·rate = {fmt_value(best.plob_bps, 'bit/s')}",
            )
        )
    return rates, notes


def over_pass(
    rates: list[ProtocolRate], budgets: list[LinkBudget], result: DemandResult
) -> list[ProtocolRate]:
    """Integrate rates sampled over a satellite pass into bits per pass; the rate kept is
    the mean over the pass (bits per pass / pass duration)."""
    grids = [b for b in budgets if b.pass_time_s is not None]
    if not grids:
        return rates
    from dataclasses import replace

    from qcalc.channels import integrate_over_pass

    budget = grids[0]
    times = budget.pass_time_s
    passes_per_day = budget.link.passes_per_day
    out = []
    for rate in rates:
        bits, duration = integrate_over_pass(rate.key_rate_bps, times)
        plob_bits, _ = integrate_over_pass(rate.plob_bps, times)
        mean = bits / duration
        out.append(
            replace(
                rate,
                key_rate_bps=mean,
                plob_bps=plob_bits / duration,
                bits_per_pulse=mean / np.mean(np.asarray(rate.repetition_rate_hz)),
                mean_photon_number=None
                if rate.mean_photon_number is None
                else float(np.mean(rate.mean_photon_number)),
                note=f"{bits:.6g} bits per {duration:.0f} s pass above "
                f"{budget.link.min_elevation_deg:g}°"
                + (
                    f", {bits * passes_per_day:.6g} bits per day"
                    if passes_per_day is not None
                    else ""
                ),
            )
        )
        result.passes[f"{rate.protocol} ({rate.scope})"] = {
            "link": budget.link.name,
            "key_bits_per_pass": bits,
            "pass_duration_s": duration,
            "key_bits_per_day": bits * passes_per_day if passes_per_day is not None else None,
        }
    return out


def _finite_key(
    eta: Any, y0: Any, e_d: Any, f: Any, rep: Any, demand: Demand, pass_duration_s: float | None
) -> tuple[Any, Any] | None:
    """Finite-key decoy BB84 (Lim et al., PRA 89, 022307 (2014)) per pulse, and μ.

    Over a satellite pass the block is every pulse of the pass (unless ``block_size`` says
    otherwise) and the expected counts are those of the pass's mean transmittance: for
    ημ ≪ 1 every count is linear in η, so the pass's totals equal those of its mean.
    """
    from qcalc.protocols.finite_key import optimise_finite_key

    block = demand.block_size
    grid_shape = np.shape(eta)
    if pass_duration_s is not None:
        eta, y0 = np.mean(eta), np.mean(y0)
        if block is None:
            block = float(np.mean(rep)) * pass_duration_s
    if block is None:
        return None
    bits, params = optimise_finite_key(eta, y0, e_d, block, error_correction_efficiency=f)
    if pass_duration_s is not None:  # constant over the pass grid, so it integrates right
        bits = np.full(grid_shape, float(bits))
    return bits, params["signal_photon_number"]


def _decoy_step(mu: Any, eta: Any, y0: Any, e_d: Any, method: str, nu: float, scope: str) -> Step:
    """The decoy-state estimates behind a BB84 rate, for --explain."""
    from qcalc.protocols.qkd import decoy_estimates

    est = decoy_estimates(mu, eta, y0, e_d, decoy=method, weak_decoy_photon_number=nu)
    formula = (
        "Y1 = Y0 + η − Y0η, e1 = (Y0/2 + e_d η)/Y1 (Ma et al. 2005, Eqs. 10–11)"
        if method == "infinite"
        else "Y1 ≥ μ/(μν−ν²)(Q_ν e^ν − Q_μ e^μ ν²/μ² − (μ²−ν²)/μ² Y0), "
        "e1 ≤ (E_ν Q_ν e^ν − Y0/2)/(Y1 ν) (Ma et al. 2005, Eqs. 34–37)"
    )
    inputs = [
        ("μ", fmt_value(mu)),
        ("Q_μ", fmt_value(est["Q_mu"])),
        ("E_μ", fmt_value(est["E_mu"])),
    ]
    if method != "infinite":
        inputs += [
            ("ν", fmt_value(nu)),
            ("Q_ν", fmt_value(est["Q_nu"])),
            ("E_ν", fmt_value(est["E_nu"])),
        ]
    return Step(
        f"decoy-state estimates ({method}), {scope}",
        formula,
        tuple(inputs),
        f"Y1 = {fmt_value(est['Y1'])}, e1 = {fmt_value(est['e1'])}, "
        f"Q1 = Y1 μ e^−μ = {fmt_value(est['Q1'])}",
    )


def _best(rates: list[ProtocolRate]) -> ProtocolRate | None:
    if not rates:
        return None
    return max(rates, key=lambda r: float(np.max(np.asarray(r.key_rate_bps))))


def hop_key_rates(scenario: Scenario, result: DemandResult) -> None:
    """Key of every hop on its own (a trusted-relay chain) and its bottleneck.

    Skipped when a node in between is not trusted: a chain of hop keys then means nothing.
    """
    if any(not scenario.nodes[n].trusted for n in result.intermediates):
        result.hop_rates = tuple(None for _ in result.hops)
        return
    best_rates: list[ProtocolRate | None] = []
    for budget in result.hops:
        if budget.measured_only:
            result.notes.append(
                f"link {budget.link.name} is a measured entanglement link "
                "with no length; it carries no prepare-and-measure key"
            )
            best_rates.append(None)
            continue
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
            result.steps,
            budget.background_yield,
            budget.extra.get("pass_duration_s") if budget.pass_time_s is not None else None,
        )
        result.notes.extend(notes)
        rates = over_pass(rates, [budget], result)
        best_rates.append(_best(rates))
        if len(result.hops) == 1:
            # One hop is the whole route: its rates are the end-to-end ones too.
            result.end_to_end = tuple(replace(r, scope="end to end") for r in rates)
            for r in rates:
                if f"{r.protocol} ({r.scope})" in result.passes:
                    result.passes[f"{r.protocol} (end to end)"] = result.passes.pop(
                        f"{r.protocol} ({r.scope})"
                    )
    result.hop_rates = tuple(best_rates)
    if result.hops and all(r is not None for r in best_rates):
        keys = [np.asarray(r.key_rate_bps) for r in best_rates if r is not None]
        result.limiting_hop = int(np.argmin([float(np.min(k)) for k in keys]))


#: Threshold detectors in an MDI-QKD relay (two per output of the Bell-state analyser)
#: and in a twin-field relay (one per beam-splitter output); the relay's background
#: yield Y0, given for the whole receiver, is shared among them.
MDI_RELAY_DETECTORS = 4
TF_RELAY_DETECTORS = 2


def measuring_relay_rates(scenario: Scenario, result: DemandResult) -> None:
    """MDI-QKD and twin-field QKD through one untrusted measuring relay in the middle.

    Each end sends weak coherent pulses to the relay; its arms' transmittances are the
    hops' channel transmittances times the relay's detector efficiency. Twin-field QKD
    needs balanced arms: the longer arm sets both (the shorter is attenuated to match,
    as done in experiments), so η = min(η_a, η_b)².
    """
    if any(h.pass_time_s is not None for h in result.hops):
        result.notes.append(
            "end to end: MDI/TF-QKD over a whole satellite pass is not "
            "modelled; give elevation_deg for one position"
        )
        return
    if len(result.path) != 3:
        result.notes.append(
            "end to end: MDI/TF-QKD through more than one measuring relay is not modelled"
        )
        return
    a, relay, b = (scenario.nodes[n] for n in result.path)
    wanted = result.demand.protocol
    if relay.detector is None:
        if relay.source is not None and relay.source.kind == "entangled_pair":
            result.notes.append(
                f"end to end: {relay.name} sends entangled pairs rather than "
                "measuring; its key is entanglement-based (BBM92, DIQKD)"
            )
        else:
            result.notes.append(f"end to end: untrusted relay {relay.name} has no detector")
        return
    sources = [a.source, b.source]
    if any(s is None or s.kind != "weak_coherent" or s.repetition_rate_hz is None for s in sources):
        result.notes.append(
            "end to end: MDI/TF-QKD needs weak-coherent sources with a repetition rate at both ends"
        )
        return
    rep = np.minimum(*(np.asarray(s.repetition_rate_hz, dtype=float) for s in sources if s))
    eff = np.asarray(relay.detector.efficiency, dtype=float)
    eta_a = result.hops[0].channel_transmittance * eff
    eta_b = result.hops[1].channel_transmittance * eff
    channel = result.hops[0].channel_transmittance * result.hops[1].channel_transmittance
    y0 = np.asarray(detector_yield(relay.detector), dtype=float)
    e_d = combined_misalignment_error([h.link.misalignment_error for h in result.hops])
    f = result.demand.error_correction_efficiency
    plob_bps = plob_bound(channel) * rep
    rates: list[ProtocolRate] = []

    def add(protocol: str, bits: Any, mu: Any) -> None:
        rates.append(ProtocolRate(protocol, "end to end", bits * rep, bits, rep, plob_bps, mu))

    if wanted in (None, "mdi-qkd"):
        from qcalc.protocols.mdi import optimise_mdi_qkd

        bits, params = optimise_mdi_qkd(
            eta_a,
            eta_b,
            y0 / MDI_RELAY_DETECTORS,
            e_d,
            error_correction_efficiency=f,
            sifting_factor=result.demand.sifting_factor,
        )
        add("mdi-qkd", bits, params["mean_photon_number_a"])
    if wanted in (None, "tf-qkd"):
        from qcalc.protocols.twinfield import optimise_sns_tf_qkd

        balanced = np.minimum(eta_a, eta_b) ** 2
        bits, params = optimise_sns_tf_qkd(
            balanced,
            y0 / TF_RELAY_DETECTORS,
            e_d,
            error_correction_efficiency=f,
            sifting_factor=result.demand.sifting_factor,
        )
        add("tf-qkd", bits, params["mean_photon_number"])
    if not rates:
        result.notes.append(
            f"end to end: protocol {wanted} does not apply through the measuring relay {relay.name}"
        )
    if rates:
        best = _best(rates)
        assert best is not None
        result.steps.append(
            Step(
                f"{best.protocol} through untrusted relay {relay.name}",
                "MDI: Lo, Curty, Qi PRL 108, 130503 (2012) Eq. (1); "
                "TF: Wang, Yu, Hu PRA 98, 062323 (2018)",
                (
                    ("η_a", fmt_value(eta_a)),
                    ("η_b", fmt_value(eta_b)),
                    ("Y0 relay", fmt_value(y0)),
                    ("e_d", fmt_value(e_d)),
                    ("rep. rate", fmt_value(rep, "Hz")),
                ),
                f"{fmt_value(best.key_rate_bps, 'bit/s')}; PLOB of the whole channel "
                f"{fmt_value(plob_bps, 'bit/s')}",
            )
        )
    result.end_to_end = (*result.end_to_end, *rates)


def end_to_end_rates(scenario: Scenario, result: DemandResult) -> None:
    """Key over the whole route with no trusted node in between.

    Through one untrusted measuring relay: MDI- and twin-field QKD. Otherwise
    prepare-and-measure over the whole route's loss, the nodes in between passing the
    light on (a relay or repeater building that the fibre runs through).
    """
    if any(scenario.nodes[n].role == "untrusted_relay" for n in result.intermediates):
        measuring_relay_rates(scenario, result)
        return
    if any(h.measured_only for h in result.hops):
        return  # said per hop: a measured link has no channel for light
    if len(result.hops) == 1 and all(scenario.nodes[n].trusted for n in result.path):
        return  # computed with the hop (hop_key_rates) and copied
    first, last = result.path[0], result.path[-1]
    if scenario.nodes[first].source is None and scenario.nodes[last].source is not None:
        first, last = last, first  # the key is symmetric: the end with the source sends
    source = scenario.nodes[first].source
    detector = scenario.nodes[last].detector
    final = result.hops[-1] if last == result.path[-1] else result.hops[0]
    channel_db = result.channel_loss_db
    from qcalc.physics.fibre import loss_db_from_transmittance, transmittance_from_loss_db

    total_db = channel_db
    if detector is not None:
        total_db = channel_db + loss_db_from_transmittance(detector.efficiency)
    misalignment = combined_misalignment_error([h.link.misalignment_error for h in result.hops])
    if result.steps is not None and len(result.hops) > 1:
        result.steps.append(
            Step(
                "end-to-end channel",
                "loss = Σ hop channel losses",
                tuple((h.link.name, fmt_value(h.channel_loss_db, "dB")) for h in result.hops),
                fmt_value(channel_db, "dB"),
            )
        )
    if sum(h.pass_time_s is not None for h in result.hops) > 1:
        result.notes.append(
            "end to end: two whole-pass satellite links on one route are not modelled "
            "together; give elevation_deg to all but one"
        )
        return
    rates, notes = prepare_measure_rates(
        source,
        detector,
        transmittance_from_loss_db(total_db),
        transmittance_from_loss_db(channel_db),
        misalignment,
        result.demand,
        "end to end",
        result.steps,
        final.background_yield,
        next((h.extra["pass_duration_s"] for h in result.hops if h.pass_time_s is not None), None),
    )
    result.end_to_end = tuple(over_pass(rates, list(result.hops), result))
    result.notes.extend(notes)


# ----------------------------------------------------------------------------- pairs


def entanglement(scenario: Scenario, result: DemandResult) -> None:
    """Bell pairs along the route, and the key of entanglement-based QKD from them."""
    from qcalc.delivery import Delivery, deliver

    if any(h.pass_time_s is not None for h in result.hops):
        result.entanglement = Delivery(
            reason="entanglement over a whole satellite pass is not"
            " modelled; give elevation_deg for one position"
        )
        return
    delivery = deliver(scenario, result.path, result.hops, result.demand.distillation)
    result.entanglement = delivery
    result.notes.extend(delivery.notes)
    if not delivery.delivers:
        return
    result.steps.extend(delivery.steps)
    result.pair_rate_hz = delivery.rate_hz
    result.fidelity = delivery.fidelity
    wanted = result.demand.protocol
    channel_db = result.channel_loss_db
    plob_per_use = plob_bound(np.power(10.0, -channel_db / 10.0))
    # Per use of the channel = per attempt of the slowest segment.
    attempt = max(np.max(np.asarray(s.attempt_time_s)) for s in delivery.segments)
    uses_hz = 1.0 / attempt if attempt > 0 and np.isfinite(attempt) else 0.0
    rates = []
    if wanted in (None, "bbm92"):
        from qcalc.protocols.ebqkd import bbm92_key_rate

        bits = bbm92_key_rate(
            delivery.rate_hz,
            delivery.qber,
            result.demand.error_correction_efficiency,
            result.demand.sifting_factor,
        )
        rates.append(
            ProtocolRate(
                "bbm92",
                "end to end",
                bits,
                bits / max(uses_hz, 1e-300),
                uses_hz,
                plob_per_use * uses_hz,
            )
        )
    if wanted in (None, "diqkd"):
        from qcalc.protocols.ebqkd import chsh_from_qber, diqkd_key_rate

        qber = np.clip(delivery.qber, 0.0, 0.5)
        bits = (
            diqkd_key_rate(chsh_from_qber(qber), qber, result.demand.error_correction_efficiency)
            * delivery.rate_hz
            * result.demand.sifting_factor  # the same sifting as BBM92 on the same pairs
        )
        rates.append(
            ProtocolRate(
                "diqkd",
                "end to end",
                bits,
                bits / max(uses_hz, 1e-300),
                uses_hz,
                plob_per_use * uses_hz,
            )
        )
    result.end_to_end = (*result.end_to_end, *rates)


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
    entanglement(scenario, result)
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
