"""The model chain: a demand → its route → hop budgets → key and pair rates → stages.

Functions, then the classes that hold their results (pvlib's "model chain"). Every number
here broadcasts over numpy arrays, so ``qcalc sweep`` evaluates a whole grid in one call.
"""

from __future__ import annotations

import math
from dataclasses import field, replace
from typing import Any

import numpy as np

from qcalc.explain import Step
from qcalc.lossbudget import LinkBudget, detector_yield
from qcalc.network import demand_route, hop_budgets
from qcalc.physics.detectors import combined_misalignment_error
from qcalc.protocols.qkd import bb84_key_rate, plob_bound, single_photon_bb84_key_rate
from qcalc.records import record
from qcalc.scenario import Check, Demand, Detector, Node, Scenario, Source
from qcalc.units import fmt

#: Label of the bound of a direct channel (and of a chain of trusted relays, hop by hop).
DIRECT_BOUND = "PLOB of the channel (repeaterless)"


@record(frozen=True)
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
    #: A finite-key row's key at the same protocol and operating point with n → ∞. [bit/s]
    asymptotic_key_rate_bps: Any = None
    #: The bound of this configuration [bit/s]: PLOB of the worst arm through a measuring
    #: relay, a midpoint source or repeaters; None for a direct channel (then ``plob_bps``).
    bound_bps: Any = None
    bound: str = DIRECT_BOUND
    #: The basis-sifting convention behind the rate, printed beside it.
    sifting: str = ""
    #: Clicks at the receiver after dead-time saturation (prepare-and-measure rows). [Hz]
    click_rate_hz: Any = None

    @property
    def fraction_of_plob(self) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.asarray(self.key_rate_bps, dtype=float) / np.asarray(self.plob_bps)
        return np.where(np.asarray(self.plob_bps) > 0, ratio, 0.0)

    @property
    def tgw_bps(self) -> Any:
        """Takeoka–Guha–Wilde bound of the same channel at the same channel-use rate.

        From the PLOB bound per use p: η = 1 − 2^{−p}, TGW = log2((1 + η)/(1 − η)). Over a
        satellite pass (PLOB averaged) TGW is concave in p, so this is ≥ the pass-mean
        TGW: still an upper bound. [bit/s]
        """
        from qcalc.protocols.qkd import tgw_bound

        rep = np.asarray(self.repetition_rate_hz, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            per_use = np.where(rep > 0, np.asarray(self.plob_bps, dtype=float) / rep, 0.0)
        eta = -np.expm1(-per_use * np.log(2.0))
        return np.where(rep > 0, tgw_bound(eta) * rep, 0.0)

    @property
    def configuration_bound_bps(self) -> Any:
        """The bound that applies to this route's configuration (``bound``). [bit/s]"""
        return self.plob_bps if self.bound_bps is None else self.bound_bps

    @property
    def fraction_of_bound(self) -> Any:
        bound = np.asarray(self.configuration_bound_bps, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.asarray(self.key_rate_bps, dtype=float) / bound
        return np.where(bound > 0, ratio, 0.0)


@record(frozen=True)
class CheckResult:
    check: Check
    got: float
    passed: bool


@record
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
    #: Whether the derivation steps are built (``--explain``); a sweep leaves them out.
    explain: bool = True

    @property
    def steps_wanted(self) -> list[Step] | None:
        """Where the models put their derivation steps: None when none are asked for."""
        return self.steps if self.explain else None

    @property
    def channel_loss_db(self) -> Any:
        """Channel loss summed over the route, receivers' detectors excluded. [dB]

        Kept with the hops it was summed over (a route of 10⁴ hops is asked it several
        times)."""
        known = self.__dict__.get("_channel_loss")
        if known is not None and known[0] is self.hops:
            return known[1]
        total = sum((np.asarray(h.channel_loss_db) for h in self.hops), np.asarray(0.0))
        self.__dict__["_channel_loss"] = (self.hops, total)
        return total

    @property
    def plob_bits_per_use(self) -> Any:
        """PLOB bound of the whole route's channel, receivers' detectors excluded.
        [bits/use]"""
        return plob_bound(10 ** (-self.channel_loss_db / 10))

    @property
    def stage_reached(self) -> int:
        """The stage the demand reaches (the highest over a sweep's grid)."""
        return int(np.max(self.stage))

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

    Every BB84 variant runs at the demand's one operating point (:func:`_operating_point`):
    the source's intensities and their probabilities, the key-basis probability, the
    vacuum term and the receiver's dead time. Returns the rates and notes for anything
    not modelled or not applicable. With ``pass_duration_s`` the inputs are sampled over
    a satellite pass; the finite-key block is then the whole pass.
    """
    if source is None or detector is None:
        missing = "source" if source is None else "detector"
        return [], [f"{scope}: no {missing}, so no prepare-and-measure key"]
    if source.repetition_rate_hz is None:
        return [], [f"{scope}: the source gives no repetition_rate_hz, so no key rate"]
    link = _pm_link(
        source,
        detector,
        transmittance,
        channel_transmittance,
        misalignment_error,
        demand,
        scope,
        background_yield,
    )
    if pass_duration_s is not None and _varies(link, demand):
        return [], [
            f"{scope}: over a whole satellite pass, a sweep or draws of the source's, the "
            "receiver's or the demand's settings are not modelled"
        ]
    rates: list[ProtocolRate] = []
    notes: list[str] = []
    wanted = demand.protocol
    if source.kind == "weak_coherent":
        if wanted in (None, "bb84-decoy"):
            _bb84_decoy_row(link, demand, rates, notes, steps)
        if _wants_finite(demand):
            _bb84_finite_row(link, demand, pass_duration_s, rates, notes, steps)
        if wanted in (None, "gllp"):
            rates.append(_gllp_row(link))
    elif source.kind == "single_photon":
        if wanted in (None, "bb84-single-photon"):
            rates.append(_single_photon_row(link))
    else:
        notes.append(f"{scope}: an entangled-pair source does not run prepare-and-measure QKD")
    if wanted is not None and not rates and not notes:
        notes.append(f"{scope}: protocol {wanted} does not apply to a {source.kind} source")
    if steps is not None and rates:
        best = max(rates, key=lambda r: float(np.max(r.key_rate_bps)))
        if best.protocol != "bb84-finite":
            steps.append(_asymptotic_step(best, link, demand))
    return rates, notes


def _varies(link: _PMLink, demand: Demand) -> bool:
    """Whether a setting of the link's ends or of the demand (not its channel) is an
    array: a sweep or draws, which the time grid of a pass does not broadcast with."""
    point = link.point
    settings = (link.rep, link.e_d, link.f, demand.epsilon_sec, demand.epsilon_cor)
    chosen = (point.mean_photon_number, point.key_basis_probability, point.dead_time_pulses)
    blocks = (demand.block_size, demand.block_key_detections)
    levels = (*(point.decoys or ()), *(point.probabilities or ()))
    return any(np.ndim(v) > 0 for v in (*settings, *chosen, *blocks, *levels))


def _pm_link(
    source: Source,
    detector: Detector,
    transmittance: Any,
    channel_transmittance: Any,
    misalignment_error: Any,
    demand: Demand,
    scope: str,
    background_yield: Any,
) -> _PMLink:
    """What every prepare-and-measure row of :func:`prepare_measure_rates` shares."""
    rep = np.asarray(source.repetition_rate_hz, dtype=float)
    return _PMLink(
        scope=scope,
        rep=rep,
        transmittance=transmittance,
        y0=np.clip(np.asarray(detector_yield(detector)) + background_yield, 0.0, 1.0),
        e_d=misalignment_error,
        f=demand.error_correction_efficiency,
        point=_operating_point(source, detector, demand, rep),
        plob_bps=plob_bound(channel_transmittance) * rep,
    )


@record(frozen=True)
class _PMLink:
    """A sender's source and a receiver's detector over one channel: what every
    prepare-and-measure row between them shares (:func:`prepare_measure_rates`)."""

    scope: str  # "end to end" or "hop a→b"
    rep: Any  # pulse rate [Hz]
    transmittance: Any  # channel × detector efficiency [unitless]
    y0: Any  # background yield per window [unitless]
    e_d: Any  # misalignment error [unitless]
    f: Any  # error-correction efficiency [unitless]
    point: _OperatingPoint
    plob_bps: Any  # PLOB of the channel at the pulse rate [bit/s]

    def clicks_hz(self, mu: Any, intensities: tuple[Any, ...], probs: Any) -> Any:
        """Clicks per second of a live receiver, then saturated by its dead time. [Hz]"""
        from qcalc.physics.detectors import dead_time_live_fraction
        from qcalc.protocols.qkd import total_click_probability

        click = total_click_probability((mu, *intensities), probs, self.transmittance, self.y0)
        return self.rep * click * dead_time_live_fraction(click, self.point.dead_time_pulses)

    def row(
        self, protocol: str, bits: Any, mu: Any = None, clicks: Any = None, **extra: Any
    ) -> ProtocolRate:
        """One row from bits per pulse, with its dead-time note and sifting convention."""
        note = self.point.dead_time_note(clicks) if clicks is not None else ""
        return ProtocolRate(
            protocol,
            self.scope,
            bits * self.rep,
            bits,
            self.rep,
            self.plob_bps,
            mu,
            note=_join(extra.pop("note", ""), note),
            click_rate_hz=clicks,
            sifting=self.point.sifting_text(extra.pop("key_basis", None)),
            **extra,
        )


def _bb84_decoy_row(
    link: _PMLink,
    demand: Demand,
    rates: list[ProtocolRate],
    notes: list[str],
    steps: list[Step] | None,
) -> None:
    """The asymptotic decoy-state BB84 row (Lo, Ma, Chen 2005), or why there is none."""
    point = link.point
    if point.decoy_method is None:
        notes.append(f"{link.scope}: bb84-decoy: {point.decoy_problem}")
        return
    bits, used_mu = _bb84_rate(link, point.decoy_method, bool(demand.vacuum_contribution))
    clicks = link.clicks_hz(used_mu, point.decoy_intensities, point.probabilities)
    rates.append(link.row("bb84-decoy", bits, used_mu, clicks))
    if steps is not None:
        steps.append(
            _decoy_step(
                used_mu,
                link.transmittance,
                link.y0,
                link.e_d,
                point.decoy_method,
                point.nu,
                link.scope,
                point.omega,
            )
        )


def _bb84_finite_row(
    link: _PMLink,
    demand: Demand,
    pass_duration_s: float | None,
    rates: list[ProtocolRate],
    notes: list[str],
    steps: list[Step] | None,
) -> None:
    """The finite-key decoy BB84 row (:func:`_finite_key`), or why there is none."""
    finite = _finite_key(
        link.transmittance,
        link.y0,
        link.e_d,
        link.f,
        link.rep,
        demand,
        pass_duration_s,
        link.point,
    )
    if isinstance(finite, str):
        notes.append(f"{link.scope}: bb84-finite {finite}")
        return
    bits, asymptotic_bits, settings, terms = finite
    rates.append(
        link.row(
            "bb84-finite",
            bits,
            settings["signal_photon_number"],
            link.rep * terms["click_probability"],
            asymptotic_key_rate_bps=asymptotic_bits * link.rep,
            note=_finite_note(settings, terms, asymptotic_bits * link.rep),
            key_basis=settings["key_basis_probability"],
        )
    )
    if steps is not None:
        steps.append(
            _finite_key_step(
                link.scope, link.point, demand, settings, terms, link.rep, asymptotic_bits
            )
        )


def _gllp_row(link: _PMLink) -> ProtocolRate:
    """BB84 with weak coherent pulses and no decoys (GLLP 2004)."""
    point = link.point
    bits, used_mu = _bb84_rate(link, "none", False)
    clicks = link.clicks_hz(used_mu, point.decoy_intensities, point.probabilities)
    return link.row("gllp", bits, used_mu, clicks)


def _bb84_arguments(link: _PMLink, decoy: str, vacuum_contribution: bool) -> dict[str, Any]:
    """The arguments of :func:`bb84_key_rate` but the transmittance, for one row."""
    point = link.point
    return {
        "background_yield": link.y0,
        "misalignment_error": link.e_d,
        "mean_photon_number": point.mean_photon_number,
        "decoy": decoy,
        "weak_decoy_photon_number": point.nu,
        "vacuum_photon_number": point.omega,
        "error_correction_efficiency": link.f,
        "sifting_factor": point.sifting,
        "intensity_probabilities": point.probabilities,
        "vacuum_contribution": vacuum_contribution,
        "dead_time_pulses": point.dead_time_pulses,
    }


def _scalar_key(arguments: dict[str, Any]) -> Any:
    """A key of arguments that are all single numbers, strings, None or tuples of
    numbers (None when one is not); 0.0 and −0.0 differ."""
    try:
        return tuple((name, _number_key(value)) for name, value in arguments.items())
    except TypeError:
        return None


def _number_key(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, tuple):
        return tuple(_number_key(v) for v in value)
    if isinstance(value, (float, int, np.floating, np.integer)) or (
        isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "fiu"
    ):
        number = float(value)
        return number, math.copysign(1.0, number)
    raise TypeError(f"not a single number: {type(value).__name__}")


#: BB84 rows of single transmittances (μ optimised or given), computed together for
#: every hop of a scenario (:func:`_prefetch_bb84`) and read back hop by hop while it is
#: evaluated: {(transmittance key, arguments key): (bits per pulse, μ)}.
_BB84_OPTIMA: dict[Any, tuple[Any, Any]] = {}


def _bb84_rate(link: _PMLink, decoy: str, vacuum_contribution: bool) -> tuple[Any, Any]:
    """:func:`bb84_key_rate` of a row, read from :data:`_BB84_OPTIMA` when computed there
    (the element of one vectorised call equals the scalar one)."""
    arguments = _bb84_arguments(link, decoy, vacuum_contribution)
    if _BB84_OPTIMA:
        key = _scalar_key({"transmittance": link.transmittance, **arguments})
        found = _BB84_OPTIMA.get(key) if key is not None else None
        if found is not None:
            return found
    return bb84_key_rate(link.transmittance, **arguments)


def _single_photon_row(link: _PMLink) -> ProtocolRate:
    """BB84 from a single-photon source (Shor and Preskill 2000)."""
    from qcalc.physics.detectors import dead_time_live_fraction

    point = link.point
    bits = single_photon_bb84_key_rate(
        link.transmittance,
        link.y0,
        link.e_d,
        error_correction_efficiency=link.f,
        sifting_factor=point.sifting,
        dead_time_pulses=point.dead_time_pulses,
    )
    y0, eta = link.y0, np.asarray(link.transmittance)
    gain = np.clip(y0 + eta - y0 * eta, 0.0, 1.0)
    clicks = link.rep * gain * dead_time_live_fraction(gain, point.dead_time_pulses)
    return link.row("bb84-single-photon", bits, clicks=clicks)


@record(frozen=True)
class _OperatingPoint:
    """One BB84 operating point per demand, used by every prepare-and-measure variant.

    ``None`` marks a setting left to the optimiser. Decoys are sorted, strongest first
    (ν, then ω), their probabilities with them.
    """

    mean_photon_number: Any  # signal μ [photons], None = optimise
    decoys: tuple[float, ...] | None  # None = `infinite`
    probabilities: tuple[float, ...] | None  # (p_μ, p_ν[, p_ω]); None = optimise
    key_basis_probability: Any  # p_X [unitless]; None = optimise
    dead_time_pulses: Any  # R τ_d [pulses]
    dead_time_ns: Any
    vacuum_contribution: bool

    @property
    def sifting(self) -> Any:
        """q = p_X² of the asymptotic rows; p_X → 1 when it is optimised (the supremum)."""
        p = self.key_basis_probability
        return 1.0 if p is None else np.asarray(p, dtype=float) ** 2

    @property
    def nu(self) -> float:
        return 0.1 if self.decoys is None else self.decoys[0]

    @property
    def omega(self) -> float:
        return 0.0 if self.decoys is None or len(self.decoys) < 2 else self.decoys[1]

    @property
    def decoy_intensities(self) -> tuple[float, ...]:
        return () if self.decoys is None else self.decoys

    @property
    def decoy_method(self) -> str | None:
        if self.decoys is None:
            return "infinite"
        if len(self.decoys) == 2 and self.decoys[0] > self.decoys[1]:
            return "vacuum+weak"
        if len(self.decoys) == 1 and self.decoys[0] > 0:
            return "weak"
        return None

    @property
    def decoy_problem(self) -> str:
        return (
            f"decoys {list(self.decoys or ())} are not modelled; give two decoys ν > ω ≥ 0 "
            "such as [0.1, 0.0], one decoy ν > 0, or `infinite`"
        )

    def sifting_text(self, finite_basis: Any = None) -> str:
        """The basis convention of a row: asymptotic q = p_X², or a finite key's q_X."""
        if finite_basis is not None:
            return (
                f"key basis q_X = {fmt(finite_basis)} by both"
                f"{' (optimised)' if self.key_basis_probability is None else ''}: key from "
                f"q_X² = {fmt(np.asarray(finite_basis) ** 2)} of the pulses, test basis "
                "(1 − q_X)² (Lim et al. 2014)"
            )
        if self.key_basis_probability is None:
            return "key basis p_X → 1 (optimised; its supremum): q = p_X² → 1"
        return (
            f"key basis p_X = {fmt(self.key_basis_probability)} by both: "
            f"q = p_X² = {fmt(self.sifting)}"
        )

    def dead_time_note(self, clicks_hz: Any) -> str:
        if self.dead_time_ns is None or not np.any(np.asarray(self.dead_time_pulses) > 0):
            return ""
        blind = np.asarray(clicks_hz, dtype=float) * np.asarray(self.dead_time_ns) * 1e-9
        return (
            f"{fmt(clicks_hz, 'clicks/s')}; dead time {fmt(self.dead_time_ns, 'ns')} "
            f"blinds the receiver {fmt(100.0 * blind)} % of the time"
        )


def _operating_point(
    source: Source, detector: Detector, demand: Demand, rep: Any
) -> _OperatingPoint:
    """The demand's BB84 operating point from its source, detector and demand fields.

    The key basis is chosen with p_X = ``key_basis_probability`` by both parties, or
    p_X = √``sifting_factor`` (q = p_X² is the fraction of pulses both send and measure in
    the key basis, as in Lim et al. 2014: q = 1/2 gives p_X ≈ 0.707).
    """
    from qcalc.physics.detectors import dead_time_pulses

    mu = source.mean_photon_number
    decoys = source.decoy_photon_numbers
    probs = source.intensity_probabilities
    order: tuple[int, ...] = ()
    if isinstance(decoys, tuple):
        order = tuple(sorted(range(len(decoys)), key=lambda i: -decoys[i]))
        decoys = tuple(decoys[i] for i in order)
    if isinstance(probs, tuple):
        probs = (probs[0], *(probs[1 + i] for i in order))
    basis = demand.key_basis_probability
    if basis is None:
        basis = np.sqrt(np.asarray(demand.sifting_factor, dtype=float))
    return _OperatingPoint(
        mean_photon_number=None if isinstance(mu, str) else mu,
        decoys=decoys if isinstance(decoys, tuple) else None,
        probabilities=probs if isinstance(probs, tuple) else None,
        key_basis_probability=None if isinstance(basis, str) else basis,
        dead_time_pulses=dead_time_pulses(rep, detector.dead_time_ns),
        dead_time_ns=detector.dead_time_ns,
        vacuum_contribution=bool(demand.vacuum_contribution),
    )


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def over_pass(
    rates: list[ProtocolRate], budgets: list[LinkBudget], result: DemandResult
) -> list[ProtocolRate]:
    """Integrate rates sampled over a satellite pass into bits per pass; the rate kept is
    the mean over the pass (bits per pass / pass duration), as are the click rate and the
    asymptotic comparison of a finite key."""
    grids = [b for b in budgets if b.pass_time_s is not None]
    if not grids:
        return rates
    from dataclasses import replace

    from qcalc.channels import integrate_over_pass

    budget = grids[0]
    times = budget.pass_time_s
    passes_per_day = budget.link.passes_per_day
    out = []

    def mean_over_pass(value: Any) -> Any:
        if value is None:
            return None
        total, duration = integrate_over_pass(np.asarray(value, dtype=float), times)
        return total / duration

    for rate in rates:
        bits, duration = integrate_over_pass(rate.key_rate_bps, times)
        plob_bits, _ = integrate_over_pass(rate.plob_bps, times)
        mean = bits / duration
        pass_note = (
            f"{bits:.6g} bits per {duration:.0f} s pass above {budget.link.min_elevation_deg:g}°"
        )
        if passes_per_day is not None:
            pass_note += f", {bits * passes_per_day:.6g} bits per day"
        out.append(
            replace(
                rate,
                key_rate_bps=mean,
                plob_bps=plob_bits / duration,
                bits_per_pulse=mean / np.mean(np.asarray(rate.repetition_rate_hz)),
                mean_photon_number=None
                if rate.mean_photon_number is None
                else float(np.mean(rate.mean_photon_number)),
                asymptotic_key_rate_bps=mean_over_pass(rate.asymptotic_key_rate_bps),
                click_rate_hz=mean_over_pass(rate.click_rate_hz),
                note=_join(pass_note, rate.note),
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
    eta: Any,
    y0: Any,
    e_d: Any,
    f: Any,
    rep: Any,
    demand: Demand,
    pass_duration_s: float | None,
    point: _OperatingPoint,
) -> tuple[Any, Any, dict[str, Any], dict[str, Any]] | str:
    """Finite-key decoy BB84 per pulse at the demand's operating point, and its asymptote.

    Two decoys ν > ω ≥ 0 (or `infinite`, whose decoy intensity ν is then optimised with
    ω = 0): Lim et al., PRA 89, 022307 (2014). One decoy ν: Rusca et al., APL 112, 171104
    (2018). Free settings (μ, the intensity probabilities, p_X) are optimised for the
    block; the asymptotic comparison (N → ∞) optimises the same settings over the same
    search box and is never below the finite key at its own settings. Over a satellite
    pass the block is every pulse of the pass (unless a block is given) and the expected
    counts are those of the pass's mean transmittance: for ημ ≪ 1 every count is linear
    in η, so the pass's totals equal those of its mean.

    Returns (bits per pulse, asymptotic bits per pulse, settings, terms) or the reason
    there is no finite key.
    """
    # Over a pass every setting is a number (prepare_measure_rates refuses arrays there).
    if any(np.ndim(v) > 0 for v in (f, demand.epsilon_sec, demand.epsilon_cor)):
        return _finite_key_each(eta, y0, e_d, f, rep, demand, point)
    grid_shape = np.shape(eta)
    inputs = _finite_key_inputs(eta, y0, e_d, f, rep, demand, pass_duration_s, point)
    if isinstance(inputs, str):
        return inputs
    bits, asymptotic, settings, terms = _finite_key_at(*inputs, point)
    if pass_duration_s is not None:  # constant over the pass grid, so it integrates right
        bits = np.full(grid_shape, float(bits))
        asymptotic = np.full(grid_shape, float(asymptotic))
        terms["click_probability"] = np.full(grid_shape, float(terms["click_probability"]))
    return bits, asymptotic, settings, terms


def _finite_key_inputs(
    eta: Any,
    y0: Any,
    e_d: Any,
    f: Any,
    rep: Any,
    demand: Demand,
    pass_duration_s: float | None,
    point: _OperatingPoint,
) -> tuple[Any, Any, Any, Any, Any, dict[str, Any]] | str:
    """What :func:`_finite_key_at` is given for a block (η, Y0, e_d, N or None, n_X or
    None, and the keyword arguments every setting shares), or why there is no finite key:
    over a pass, the pass's mean channel and, without a block, every pulse of the pass."""
    block = demand.block_size
    detections = demand.block_key_detections
    if pass_duration_s is not None:
        eta, y0 = np.mean(eta), np.mean(y0)
        if block is None and detections is None:
            block = float(np.mean(rep)) * pass_duration_s
    if block is None and detections is None:
        return "needs the demand's block_size (pulses) or block_key_detections"
    refusal = _finite_key_refusal(point)
    if refusal is not None:
        return refusal
    common: dict[str, Any] = {
        "error_correction_efficiency": float(f),
        "epsilon_sec": float(demand.epsilon_sec),
        "epsilon_cor": float(demand.epsilon_cor),
        "vacuum_contribution": point.vacuum_contribution,
        "dead_time_pulses": point.dead_time_pulses,
    }
    return eta, y0, e_d, None if detections is not None else block, detections, common


def _finite_key_refusal(point: _OperatingPoint) -> str | None:
    """Why the operating point has no finite key (decoys without a bound, a signal not
    above the decoys, no test basis), or None."""
    decoys = point.decoys
    if decoys is not None and point.decoy_method is None:
        return f"has no bound for {point.decoy_problem.split(' are ')[0]}: " + (
            "give two decoys ν > ω ≥ 0 (Lim et al. 2014) or one ν > 0 (Rusca et al. 2018)"
        )
    mu = point.mean_photon_number
    if mu is not None and decoys is not None and not np.all(np.asarray(mu) > sum(decoys)):
        return (
            f"needs the signal μ = {np.min(mu):g} above the decoys' sum {sum(decoys):g} "
            "(Lim et al. 2014: μ1 > μ2 + μ3)"
        )
    p_x = point.key_basis_probability
    if p_x is not None and np.any(np.asarray(p_x) >= 1.0):
        return "needs a test basis: key_basis_probability 1 leaves none for a finite block"
    return None


def _finite_key_at(
    eta: Any,
    y0: Any,
    e_d: Any,
    block: Any,
    detections: Any,
    common: dict[str, Any],
    point: _OperatingPoint,
) -> tuple[Any, Any, dict[str, Any], dict[str, Any]]:
    """The finite key of one block at its optimised settings, its terms, and the
    asymptote (N → ∞) at those settings and over the same freedoms."""
    from qcalc.protocols.finite_key import finite_key_terms, optimise_finite_key

    settings_in = _finite_settings(point)
    free = any(v is None for v in settings_in.values())
    if free:
        given = detections if detections is not None else block
        by_detections = detections is not None
        found = None
        if _FINITE_OPTIMA:
            key = _finite_search_key(eta, y0, e_d, given, by_detections, settings_in, common)
            found = _FINITE_OPTIMA.get(key) if key is not None else None
        if found is None:
            found = _finite_search(eta, y0, e_d, given, by_detections, settings_in, common)
        bits, best, settings = found
    else:
        bits, settings = optimise_finite_key(
            eta, y0, e_d, block, key_detections=detections, **settings_in, **common
        )
    at = _as_terms(settings, settings_in["one_decoy"], settings_in["vacuum_photon_number"])
    terms = finite_key_terms(eta, y0, e_d, block, key_detections=detections, **at, **common)
    # N → ∞ at the finite key's own settings, and over the same freedoms.
    asymptotic = finite_key_terms(eta, y0, e_d, np.inf, **at, **common)["rate"]
    if free:
        asymptotic = np.maximum(asymptotic, best)
    return bits, asymptotic, settings, terms


def _finite_settings(point: _OperatingPoint) -> dict[str, Any]:
    """The operating point as the settings of ``optimise_finite_key`` (None: optimise)."""
    decoys, probs = point.decoys, point.probabilities
    one_decoy = decoys is not None and len(decoys) == 1
    return {
        "signal_photon_number": point.mean_photon_number,
        "decoy_photon_number": None if decoys is None else decoys[0],
        "vacuum_photon_number": 0.0 if decoys is None or one_decoy else decoys[1],
        "signal_probability": None if probs is None else probs[0],
        "decoy_probability": None if probs is None or one_decoy else probs[1],
        "key_basis_probability": point.key_basis_probability,
        "one_decoy": one_decoy,
    }


def _finite_search(
    eta: Any,
    y0: Any,
    e_d: Any,
    given: Any,
    by_detections: bool,
    settings: dict[str, Any],
    common: dict[str, Any],
) -> tuple[Any, Any, dict[str, Any]]:
    """The optimised finite key of the block ``given`` (n_X when ``by_detections``, else
    N) and of the asymptote (the block → ∞) over the same freedoms, and the block's
    settings: both searches side by side along a first axis, one array call per step
    (:func:`qcalc.protocols.numerics.maximise_in_lockstep`)."""
    from qcalc.protocols.finite_key import optimise_finite_key

    given_settings = [v for v in settings.values() if v is not None and not isinstance(v, bool)]
    inputs = (eta, y0, e_d, given, common["dead_time_pulses"], *given_settings)
    shape = np.broadcast_shapes(*map(np.shape, inputs))
    blocks = np.stack([np.broadcast_to(np.asarray(given, float), shape), np.full(shape, np.inf)])
    found, both = optimise_finite_key(
        eta,
        y0,
        e_d,
        None if by_detections else blocks,
        key_detections=blocks if by_detections else None,
        **settings,
        **common,
    )
    return found[0, ...], found[1, ...], {name: value[0, ...] for name, value in both.items()}


def _finite_search_key(
    eta: Any,
    y0: Any,
    e_d: Any,
    given: Any,
    by_detections: bool,
    settings: dict[str, Any],
    common: dict[str, Any],
) -> Any:
    """The key of a search of :func:`_finite_search` in :data:`_FINITE_OPTIMA` (None
    when an input is an array)."""
    channel = {"transmittance": eta, "background_yield": y0, "misalignment_error": e_d}
    return _scalar_key(
        {**channel, "block": given, "by_detections": by_detections, **settings, **common}
    )


#: Finite-key searches of single blocks, made together for every hop and route of a
#: scenario (:func:`_prefetch_finite`) and read back by :func:`_finite_key_at`:
#: {search key (:func:`_finite_search_key`): (bits, asymptotic bits per pulse, settings)}.
_FINITE_OPTIMA: dict[Any, tuple[Any, Any, dict[str, Any]]] = {}


def _wants_finite(demand: Demand) -> bool:
    """Whether a demand asks for the finite-key BB84 row: by name, or by giving a block
    without naming a protocol."""
    return demand.protocol == "bb84-finite" or (
        demand.protocol is None
        and (demand.block_size is not None or demand.block_key_detections is not None)
    )


def _finite_key_each(
    eta: Any, y0: Any, e_d: Any, f: Any, rep: Any, demand: Demand, point: _OperatingPoint
) -> tuple[Any, Any, dict[str, Any], dict[str, Any]] | str:
    """:func:`_finite_key` point by point, for a sweep of f, ε_sec or ε_cor (with every
    other input that may be swept taken point by point too)."""
    values = {
        "eta": eta,
        "y0": y0,
        "e_d": e_d,
        "f": f,
        "epsilon_sec": demand.epsilon_sec,
        "epsilon_cor": demand.epsilon_cor,
        "block_size": demand.block_size,
        "block_key_detections": demand.block_key_detections,
        "dead_time_pulses": point.dead_time_pulses,
        "dead_time_ns": point.dead_time_ns,
        "mean_photon_number": point.mean_photon_number,
        "key_basis_probability": point.key_basis_probability,
    }
    shape = np.broadcast_shapes(*(np.shape(v) for v in values.values() if v is not None))
    full = {k: None if v is None else np.broadcast_to(v, shape) for k, v in values.items()}
    outputs: list[tuple[Any, Any, dict[str, Any], dict[str, Any]]] = []
    for index in np.ndindex(shape):
        at = {k: None if v is None else float(v[index]) for k, v in full.items()}
        here = replace(
            point,
            dead_time_pulses=at["dead_time_pulses"],
            dead_time_ns=at["dead_time_ns"],
            mean_photon_number=at["mean_photon_number"],
            key_basis_probability=at["key_basis_probability"],
        )
        one = _finite_key(
            at["eta"],
            at["y0"],
            at["e_d"],
            at["f"],
            rep,
            replace(
                demand,
                epsilon_sec=at["epsilon_sec"],
                epsilon_cor=at["epsilon_cor"],
                block_size=at["block_size"],
                block_key_detections=at["block_key_detections"],
            ),
            None,
            here,
        )
        if isinstance(one, str):
            return one
        outputs.append(one)

    def stack(items: list[Any]) -> Any:
        return np.reshape(np.array([np.asarray(x) for x in items]), shape)

    return (
        stack([o[0] for o in outputs]),
        stack([o[1] for o in outputs]),
        {k: stack([o[2][k] for o in outputs]) for k in outputs[0][2]},
        {k: stack([o[3][k] for o in outputs]) for k in outputs[0][3]},
    )


def _as_terms(settings: dict[str, Any], one_decoy: bool, omega: float) -> dict[str, Any]:
    """Optimiser settings → the keyword arguments of ``finite_key_terms``."""
    mu1, mu2 = settings["signal_photon_number"], settings["decoy_photon_number"]
    p1, p2 = settings["signal_probability"], settings["decoy_probability"]
    return {
        "intensities": (mu1, mu2) if one_decoy else (mu1, mu2, omega),
        "probabilities": (p1, p2) if one_decoy else (p1, p2, 1.0 - p1 - p2),
        "key_basis_probability": settings["key_basis_probability"],
    }


def _finite_note(settings: dict[str, Any], terms: dict[str, Any], asymptotic_bps: Any) -> str:
    """The finite row's block, operating point and asymptotic comparison, in one line."""
    return (
        f"block {fmt(terms['block_size_pulses'], 'pulses')} "
        f"(n_X {fmt(terms['n_X'])}); μ {fmt(settings['signal_photon_number'])}, "
        f"ν {fmt(settings['decoy_photon_number'])}, "
        f"p_μ {fmt(settings['signal_probability'])}; "
        f"asymptotic (N → ∞) {fmt(asymptotic_bps, 'bit/s')}"
    )


def _finite_key_step(
    scope: str,
    point: _OperatingPoint,
    demand: Demand,
    settings: dict[str, Any],
    terms: dict[str, Any],
    rep: Any,
    asymptotic_bits: Any,
) -> Step:
    """Lim et al.'s (or Rusca et al.'s) key length with every estimate, for --explain."""
    one_decoy = point.decoys is not None and len(point.decoys) == 1
    events, source = (
        (19, "Rusca et al., APL 112, 171104 (2018), Eq. A25")
        if one_decoy
        else (21, "Lim et al., PRA 89, 022307 (2014), Eq. 1")
    )
    free = {
        "μ": point.mean_photon_number is None,
        "ν": point.decoys is None,
        "p": point.probabilities is None,
        "q": point.key_basis_probability is None,
    }

    def shown(value: Any, key: str) -> str:
        return fmt(value) + (" (optimised)" if free[key] else "")

    inputs = [
        ("μ1 (signal)", shown(settings["signal_photon_number"], "μ")),
        ("μ2 (decoy)", shown(settings["decoy_photon_number"], "ν")),
    ]
    if not one_decoy:
        inputs.append(("μ3", fmt(point.omega)))
    inputs += [
        (
            "p_μ1, p_μ2",
            shown(settings["signal_probability"], "p") + f", {fmt(settings['decoy_probability'])}",
        ),
        ("q_X (key basis, both parties)", shown(settings["key_basis_probability"], "q")),
        ("N (block)", fmt(terms["block_size_pulses"], "pulses")),
        (
            "n_X, m_X (key-basis detections, errors)",
            f"{fmt(terms['n_X'])}, {fmt(terms['m_X'])}",
        ),
        ("ε_sec, ε_cor", f"{fmt(demand.epsilon_sec)}, {fmt(demand.epsilon_cor)}"),
    ]
    if point.dead_time_ns is not None:
        inputs.append(("dead-time live fraction", fmt(terms["live_fraction"])))
    vacuum = "s_X,0" if point.vacuum_contribution else "0 (vacuum_contribution: false)"
    return Step(
        f"bb84-finite key length, {scope}",
        f"ℓ = {vacuum} + s_X,1[1 − h(φ_X)] − λ_EC − 6 log2({events}/ε_sec) − log2(2/ε_cor); "
        f"φ_X = v_Z,1/s_Z,1 + γ; λ_EC = f n_X h(m_X/n_X); R = ℓ/N · rep. rate  ({source})",
        tuple(inputs),
        f"s_X,0 = {fmt(terms['s_X0'])}, s_X,1 = {fmt(terms['s_X1'])}, "
        f"s_Z,1 = {fmt(terms['s_Z1'])}, v_Z,1 = {fmt(terms['v_Z1'])}, "
        f"φ_X = {fmt(terms['phase_error'])} (γ = {fmt(terms['gamma'])}), "
        f"λ_EC = {fmt(terms['leak_ec'], 'bits')}, penalty "
        f"{fmt(terms['penalty_bits'], 'bits')}: ℓ = "
        f"{fmt(terms['length_bits'], 'bits')} = {fmt(terms['rate'] * rep, 'bit/s')}; "
        f"asymptotic (N → ∞) {fmt(asymptotic_bits * rep, 'bit/s')}",
    )


def _asymptotic_step(best: ProtocolRate, link: _PMLink, demand: Demand) -> Step:
    """The asymptotic key formula of the best row and its operating point, for --explain."""
    point = link.point
    vacuum = "Q_0 + " if best.protocol == "bb84-decoy" and point.vacuum_contribution else ""
    formulas = {
        "bb84-decoy": f"R = c_dt p_μ q{{{vacuum}Q_1[1 − h(e_1)] − Q_μ f h(E_μ)}} · rep. rate  "
        "(Lo, Ma, Chen 2005; Ma et al. 2005 Eq. 1; Q_0 = Y_0 e^−μ: Lo 2005)",
        "gllp": "R = c_dt p_μ q{Q_1[1 − h(e_1)] − Q_μ f h(E_μ)}, Q_1 ≥ Q_μ − p_multi "
        "· rep. rate  (GLLP 2004)",
        "bb84-single-photon": "R = q c_dt Q[1 − f h(E) − h(E)] · rep. rate  (Shor & Preskill 2000)",
    }
    p_signal = (
        "1 (optimise: signals only)" if point.probabilities is None else fmt(point.probabilities[0])
    )
    basis = (
        "→ 1 (optimise)"
        if point.key_basis_probability is None
        else fmt(point.key_basis_probability)
    )
    inputs = [
        ("η (channel × detector)", fmt(link.transmittance)),
        ("Y0", fmt(link.y0)),
        ("e_d", fmt(link.e_d)),
        ("f", fmt(link.f)),
        ("p_X (key basis)", basis),
        ("q = p_X²", fmt(point.sifting)),
    ]
    if best.protocol != "bb84-single-photon":
        inputs += [
            ("p_μ (signal probability)", p_signal),
            (
                "μ",
                fmt(best.mean_photon_number)
                + (" (optimised)" if point.mean_photon_number is None else ""),
            ),
        ]
    if point.dead_time_ns is not None:
        inputs.append(("dead time", fmt(point.dead_time_ns, "ns")))
        inputs.append(("clicks", fmt(best.click_rate_hz, "Hz")))
    inputs.append(("rep. rate", fmt(best.repetition_rate_hz, "Hz")))
    return Step(
        f"{best.protocol} key rate, {link.scope}",
        formulas[best.protocol],
        tuple(inputs),
        f"{fmt(best.bits_per_pulse, 'bits/pulse')} = "
        f"{fmt(best.key_rate_bps, 'bit/s')}; "
        f"PLOB −log2(1−η_ch)·rate = {fmt(best.plob_bps, 'bit/s')}",
    )


def _decoy_step(
    mu: Any,
    eta: Any,
    y0: Any,
    e_d: Any,
    method: str,
    nu: float,
    scope: str,
    omega: float = 0.0,
) -> Step:
    """The decoy-state estimates behind a BB84 rate, for --explain."""
    from qcalc.protocols.qkd import decoy_estimates

    est = decoy_estimates(
        mu, eta, y0, e_d, decoy=method, weak_decoy_photon_number=nu, vacuum_photon_number=omega
    )
    formula = {
        "infinite": "Y1 = Y0 + η − Y0η, e1 = (Y0/2 + e_d η)/Y1 (Ma et al. 2005, Eqs. 10–11)",
        "vacuum+weak": "Y1 ≥ μ[G_ν − G_ω − (ν²−ω²)/μ² (G_μ − Y0)]/(μ(ν−ω) − ν² + ω²), "
        "e1 ≤ (E_ν G_ν − E_ω G_ω)/((ν−ω) Y1), G_k = Q_k e^k "
        "(Ma et al. 2005 Eqs. 34–37 for ω = 0; Lim et al. 2014 Eqs. 2–4)",
        "weak": "Y0 ≤ 2E_ν G_ν, Y1 ≥ μ[G_ν − ν²/μ² G_μ − (μ²−ν²)/μ² Y0]/(ν(μ−ν)), "
        "e1 ≤ (E_μ G_μ − E_ν G_ν)/((μ−ν) Y1), G_k = Q_k e^k "
        "(Rusca et al. 2018, Eqs. A16–A22, N → ∞)",
    }[method]
    inputs = [
        ("μ", fmt(mu)),
        ("Q_μ", fmt(est["Q_mu"])),
        ("E_μ", fmt(est["E_mu"])),
    ]
    if method != "infinite":
        inputs += [
            ("ν", fmt(nu)),
            ("Q_ν", fmt(est["Q_nu"])),
            ("E_ν", fmt(est["E_nu"])),
        ]
    if method == "vacuum+weak":
        inputs.append(("ω", fmt(omega)))
    return Step(
        f"decoy-state estimates ({method}), {scope}",
        formula,
        tuple(inputs),
        f"Y0 = {fmt(est['Y0'])}, Y1 = {fmt(est['Y1'])}, e1 = {fmt(est['e1'])}, "
        f"Q1 = Y1 μ e^−μ = {fmt(est['Q1'])}",
    )


def _best(rates: list[ProtocolRate]) -> ProtocolRate | None:
    if not rates:
        return None
    return max(rates, key=lambda r: float(np.max(np.asarray(r.key_rate_bps))))


#: Rates of a kind of hop, computed once with a stand-in scope (:func:`hop_key_rates`).
_SHARED_HOP_RATES: dict[Any, Any] = {}


def hop_key_rates(scenario: Scenario, result: DemandResult) -> None:
    """Key of every hop on its own (a trusted-relay chain) and its bottleneck.

    Skipped when a node in between is not trusted: a chain of hop keys then means nothing.
    A node in between that gave no ``role`` was read as ``end`` — trusted — and the notes
    say so, naming it (a relay the user meant untrusted would otherwise pass as trusted).
    """
    for name in result.intermediates:
        if not scenario.nodes[name].role_given:
            result.notes.append(
                f"node {name} lies on the route but gives no role: qcalc assumed role: end, "
                "so it is trusted with the key (a trusted relay, stage 1 at most); give it "
                "role: trusted_relay, untrusted_relay or repeater"
            )
    if any(not scenario.nodes[n].trusted for n in result.intermediates):
        result.hop_rates = tuple(None for _ in result.hops)
        return
    kinds = _HopKinds(result.demand, result.explain)
    best_rates = [_hop_rate(scenario, result, budget, kinds) for budget in result.hops]
    result.hop_rates = tuple(best_rates)
    result.limiting_hop = _limiting_hop(best_rates)


def _hop_rate(
    scenario: Scenario, result: DemandResult, budget: LinkBudget, kinds: _HopKinds
) -> ProtocolRate | None:
    """The best key of one hop alone (None for a measured link); a route of one hop
    also gets all its rows as the end-to-end ones."""
    if budget.measured_only:
        result.notes.append(
            f"link {budget.link.name} is a measured entanglement link "
            "with no length; it carries no prepare-and-measure key"
        )
        return None
    sender = scenario.nodes[budget.sender]
    receiver = scenario.nodes[budget.receiver]
    scope = f"hop {budget.sender}→{budget.receiver}"
    transmittance, channel_transmittance = kinds.channel(budget)
    inputs: _HopInputs = (
        sender.source,
        receiver.detector,
        transmittance,
        channel_transmittance,
        budget.link.misalignment_error,
    )
    known = kinds.shared(budget, inputs)
    single = len(result.hops) == 1
    if known is None:
        rates, notes = prepare_measure_rates(
            *inputs,
            result.demand,
            scope,
            result.steps_wanted,
            budget.background_yield,
            budget.extra.get("pass_duration_s") if budget.pass_time_s is not None else None,
        )
        result.notes.extend(notes)
        rates = over_pass(rates, [budget], result)
        best = _best(rates)
    else:
        # One hop needs all its rows (they are the end-to-end ones); a chain, the best.
        every, best_only = known
        named = (every if single else best_only).named(((kinds.stand_in, scope),))
        result.steps.extend(named[2] if result.explain else ())
        result.notes.extend(named[1])
        rates = list(named[0]) if single else []
        best = _best(rates) if single else named[0]
    if single:
        # One hop is the whole route: its rates are the end-to-end ones too.
        result.end_to_end = tuple(replace(r, scope="end to end") for r in rates)
        for r in rates:
            if f"{r.protocol} ({r.scope})" in result.passes:
                result.passes[f"{r.protocol} (end to end)"] = result.passes.pop(
                    f"{r.protocol} ({r.scope})"
                )
    return best


#: What the key of one hop depends on besides the demand: source, detector,
#: transmittance, channel transmittance and misalignment error.
_HopInputs = tuple[Source | None, Detector | None, Any, Any, Any]


class _HopKinds:
    """Hops of one kind (equal source, detector, channel and protocol settings) have equal rates: a
    10⁴-hop chain runs the key optimisation once per kind, and puts each hop's name in.

    Budgets of one kind hold the same loss arrays: their transmittances are computed once;
    and the hops of one kind (same objects at both ends, same loss arrays), their key,
    once per run (and once per process for equal parameters, :data:`_SHARED_HOP_RATES`).
    """

    def __init__(self, demand: Demand, explain: bool = True) -> None:
        from qcalc.network import STAND_IN, parameter_key

        self.demand = demand
        self.explain = explain
        self.stand_in = f"{STAND_IN}scope{STAND_IN}"
        try:
            # The rates depend on the protocol settings, not on which pair of ends asks.
            self.demand_key: Any = parameter_key(demand, ("path", "name", "ends", "expect"))
        except TypeError:
            self.demand_key = None
        # Within evaluate_scenario, shared by all its demands (their budgets are alive).
        memo = _SCENARIO_MEMO[-1] if _SCENARIO_MEMO else {}
        self._channels: dict[tuple[tuple[int, bool], ...], tuple[Any, Any, Any]] = memo.setdefault(
            "channels", {}
        )
        self._kinds: dict[tuple[Any, ...], Any] = memo.setdefault("kinds", {})
        self._losses: dict[int, tuple[LinkBudget, Any]] = memo.setdefault("losses", {})

    def losses(self, budget: LinkBudget) -> tuple[tuple[int, bool], ...]:
        """The identity of a budget's loss arrays (read once per budget, which lives as
        long as the scenario's evaluation)."""
        known = self._losses.get(id(budget))
        if known is None or known[0] is not budget:
            known = (budget, tuple((id(t.loss_db), t.receiver) for t in budget.terms))
            self._losses[id(budget)] = known
        return known[1]

    def channel(self, budget: LinkBudget) -> tuple[Any, Any]:
        """(transmittance, channel transmittance) of the budget, once per set of losses."""
        from qcalc.network import parameter_key

        losses = self.losses(budget)
        if losses not in self._channels:
            transmittance, channel = budget.transmittance, budget.channel_transmittance
            try:
                keys: Any = (parameter_key(transmittance), parameter_key(channel))
            except TypeError:
                keys = None
            self._channels[losses] = (transmittance, channel, keys)
        found = self._channels[losses]
        return found[0], found[1]

    def shared(self, budget: LinkBudget, inputs: _HopInputs) -> Any:
        """The rows of a hop of a kind met before (named with :attr:`stand_in`), computed
        here for a new kind; None when the hop must be computed on its own (a pass, a
        parameter that cannot be a key)."""
        from qcalc.network import Shared, parameter_key, remember

        channel_keys = self._channels[self.losses(budget)][2]
        if self.demand_key is None or channel_keys is None or budget.pass_time_s is not None:
            return None
        try:
            background_key = parameter_key(budget.background_yield)
        except TypeError:
            background_key = None
        # The objects named by id are held by the scenario and the hops' budgets.
        kind = (*map(id, inputs), self.losses(budget), background_key, self.demand_key)
        known = self._kinds.get(kind)
        if known is not None or background_key is None:
            return known
        try:
            key = (
                parameter_key(inputs[0]),
                parameter_key(inputs[1]),
                *channel_keys,
                parameter_key(budget.link.misalignment_error),
                background_key,
                self.demand_key,
                self.explain,
            )
        except TypeError:
            return None
        known = _SHARED_HOP_RATES.get(key)
        if known is None:
            steps: list[Step] | None = [] if self.explain else None
            computed, notes = prepare_measure_rates(
                *inputs, self.demand, self.stand_in, steps, budget.background_yield
            )
            best = _best(computed)
            known = remember(
                _SHARED_HOP_RATES,
                key,
                (
                    Shared.of((computed, notes, steps or [])),
                    Shared.of((best, notes, steps or [])),
                ),
            )
        self._kinds[kind] = known
        return known


def _limiting_hop(best_rates: list[ProtocolRate | None]) -> int | None:
    """Index of the hop with the least key (None unless every hop has one)."""
    if not best_rates or any(r is None for r in best_rates):
        return None
    least: dict[int, float] = {}  # hops of one kind share their key array
    for hop_rate in best_rates:
        if hop_rate is not None and id(hop_rate.key_rate_bps) not in least:
            key = hop_rate.key_rate_bps
            single = np.ndim(key) == 0  # a hop's own key: its minimum is itself
            least[id(key)] = float(key) if single else float(np.min(key))
    return int(np.argmin([least[id(h.key_rate_bps)] for h in best_rates if h is not None]))


#: Threshold detectors in an MDI-QKD relay (two per output of the Bell-state analyser)
#: and in a twin-field relay (one per beam-splitter output); the relay's background
#: yield Y0, given for the whole receiver, is shared among them.
MDI_RELAY_DETECTORS = 4
TF_RELAY_DETECTORS = 2

#: Label of the bound through one untrusted measuring relay: the capacity of a chain is
#: that of its worst link (Pirandola, Commun. Phys. 2, 51 (2019), linear chains); with
#: the relay in the middle of η it is −log2(1 − √η) (twinfield.single_repeater_bound).
RELAY_BOUND = "PLOB of the worse arm: one untrusted measuring relay (Pirandola 2019)"

#: The basis-sifting convention of each measuring-relay protocol, printed beside its rate.
EFFICIENT_MDI = (
    "efficient basis choice (key basis with probability → 1, Lo, Curty, Qi 2012 Eq. (1)): "
    "no sifting factor; the demand's sifting_factor applies to BB84 rows"
)
EFFICIENT_TF = (
    "efficient: almost every window a Z window (Wang, Yu, Hu 2018): no sifting factor; "
    "the demand's sifting_factor applies to BB84 rows"
)


def relay_misalignment_error(relay: Node, hops: tuple[LinkBudget, ...]) -> tuple[Any, str]:
    """e_d of a measuring relay's interference, and where it came from.

    .. math:: e_d = e_\\mathrm{relay}\\ \\text{if given, else}\\ \\tfrac12[1 - (1 - 2e_a)(1 - 2e_b)]

    The convention, stated once: a relay that gives ``interference_misalignment_error``
    sets e_d (the e_d of the MDI/TF papers, a property of the interference) and the
    arms' ``misalignment_error`` are not added to it; otherwise the arms' terms are
    combined once (two independent flips cancel: the relative misalignment of two arms
    each referenced to the relay), never per arm and again per relay.

    Parameters
    ----------
    relay : Node
        The untrusted measuring relay.
    hops : tuple of LinkBudget
        Its two arms.

    Returns
    -------
    (numpy.ndarray, str)
        e_d [unitless, 0..0.5] and the sentence saying where it came from.

    References
    ----------
    .. [1] M. A. Nielsen, I. L. Chuang, *Quantum Computation and Quantum Information*,
       Cambridge (2000), Sec. 8.3.3 (compositions of bit flips multiply 1 − 2p).
    """
    if relay.interference_misalignment_error is not None:
        return np.asarray(relay.interference_misalignment_error, dtype=float), (
            f"interference_misalignment_error of relay {relay.name} (the arms' "
            "misalignment_error are not added)"
        )
    combined = combined_misalignment_error([h.link.misalignment_error for h in hops])
    return combined, (
        "the arms' misalignment_error combined once, (1 − Π(1 − 2e_i))/2 "
        f"({relay.name} gives no interference_misalignment_error)"
    )


def _same(a: Any, b: Any) -> bool:
    """Whether two source settings are equal (numbers, arrays, lists or words)."""
    if isinstance(a, str) or isinstance(b, str):
        return bool(a == b)
    try:
        return bool(np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float)))
    except (TypeError, ValueError):
        return False


def _four_intensity_decoys(decoys: Any) -> tuple[float, float] | None:
    """(ν_x, ν_y) of a decoy list [ν_y, ν_x, 0.0] in any order; None for any other."""
    if isinstance(decoys, str) or len(decoys) != 3:
        return None
    if any(np.size(d) != 1 for d in decoys):
        return None
    values = sorted(float(d) for d in decoys)
    if values[0] != 0.0 or not 0.0 < values[1] < values[2]:
        return None
    return values[1], values[2]


def _mdi_settings(sources: list[Source], demand: Demand) -> tuple[dict[str, Any], list[str]]:
    """The four-intensity operating point the sources and the demand fix (else searched).

    Returns ``intensities`` (μ_z, ν_y, ν_x) and ``probabilities`` (p_z, p_0, p_x) where
    the first end's source fixes them, and notes on any input the finite MDI key cannot
    use.
    """
    notes: list[str] = []
    alice, bob = sources
    if not all(
        _same(getattr(alice, k), getattr(bob, k))
        for k in ("mean_photon_number", "decoy_photon_numbers", "intensity_probabilities")
    ):
        notes.append(
            "end to end: mdi-qkd-finite: the two ends' sources differ in intensities or "
            "their probabilities; the four-intensity key takes the first end's for both"
        )
    settings: dict[str, Any] = {}
    mu, decoys, probs = (
        alice.mean_photon_number,
        alice.decoy_photon_numbers,
        alice.intensity_probabilities,
    )
    four = _four_intensity_decoys(decoys)
    if not isinstance(decoys, str) and four is None:
        notes.append(
            f"end to end: mdi-qkd-finite: decoys {list(decoys)} are not a vacuum and two "
            "X-basis decoys [ν_y, ν_x, 0.0]; the four-intensity key searches its own"
        )
    fixed_mu = not isinstance(mu, str) and np.size(mu) == 1
    if four is not None and fixed_mu:
        nu_x, nu_y = four
        settings["intensities"] = (float(mu), nu_y, nu_x)
        if not isinstance(probs, str):
            by_intensity = {float(d): float(p) for d, p in zip(decoys, probs[1:], strict=True)}
            settings["probabilities"] = (float(probs[0]), by_intensity[0.0], by_intensity[nu_x])
    elif not isinstance(mu, str) or not isinstance(probs, str):
        notes.append(
            "end to end: mdi-qkd-finite: a signal mean_photon_number and "
            "intensity_probabilities are used with three decoy_photon_numbers "
            "[ν_y, ν_x, 0.0] and a single μ; the four-intensity key searches them here"
        )
    return settings, notes


def measuring_relay_rates(scenario: Scenario, result: DemandResult) -> None:
    """MDI-QKD and twin-field QKD through one untrusted measuring relay in the middle.

    Each end sends weak coherent pulses to the relay; its arms' transmittances are the
    hops' channel transmittances times the relay's detector efficiency. Twin-field QKD
    needs balanced arms: the longer arm sets both (the shorter is attenuated to match,
    as done in experiments), so η = min(η_a, η_b)². Conventions: e_d from
    :func:`relay_misalignment_error`; asymptotic MDI and TF keys with the efficient basis
    choice of their papers (no sifting factor: the demand's ``sifting_factor`` and
    ``key_basis_probability`` belong to the BB84 rows); the finite MDI key (``mdi-qkd-finite``,
    with the demand's ``block_size`` as N pulse pairs) sends signals in Z with p_z and
    decoys in X; every row is bounded by the PLOB of its worse arm (``RELAY_BOUND``) and
    shows the repeaterless PLOB and TGW of the whole channel beside it.
    """
    refusal = _relay_refusal(scenario, result)
    if refusal is not None:
        result.notes.append(f"end to end: {refusal}")
        return
    relay = _measuring_relay(scenario, result)
    wanted, block = result.demand.protocol, result.demand.block_size
    rates: list[ProtocolRate] = []
    if wanted in (None, "mdi-qkd"):
        rates.append(_mdi_row(result, relay))
    if wanted == "mdi-qkd-finite" or (wanted is None and block is not None):
        if block is None:
            result.notes.append(
                "end to end: mdi-qkd-finite needs the demand's block_size (pulse pairs N)"
            )
        else:
            rates.append(_finite_mdi(result, relay))
    if wanted in (None, "tf-qkd"):
        rates.append(_tf_row(result, relay))
    if not rates:
        result.notes.append(
            f"end to end: protocol {wanted} does not apply through the measuring relay {relay.name}"
        )
    result.end_to_end = (*result.end_to_end, *rates)


def _relay_refusal(scenario: Scenario, result: DemandResult) -> str | None:
    """Why no MDI/TF key runs through the route's relay, or None when one can."""
    if any(h.pass_time_s is not None for h in result.hops):
        return (
            "MDI/TF-QKD over a whole satellite pass is not modelled; give elevation_deg "
            "for one position"
        )
    if len(result.path) != 3:
        return "MDI/TF-QKD through more than one measuring relay is not modelled"
    a, relay, b = (scenario.nodes[n] for n in result.path)
    if relay.detector is None:
        if relay.source is not None and relay.source.kind == "entangled_pair":
            return (
                f"{relay.name} sends entangled pairs rather than measuring; its key is "
                "entanglement-based (BBM92, DIQKD)"
            )
        return f"untrusted relay {relay.name} has no detector"
    if any(
        s is None or s.kind != "weak_coherent" or s.repetition_rate_hz is None
        for s in (a.source, b.source)
    ):
        return "MDI/TF-QKD needs weak-coherent sources with a repetition rate at both ends"
    return None


@record(frozen=True)
class _Relay:
    """One untrusted measuring relay between two weak-coherent ends: what every key row
    through it shares (:func:`_measuring_relay`)."""

    name: str
    alice: Source
    bob: Source
    rep: Any  # common pulse rate, the slower end's [Hz]
    arm_a: Any  # channel transmittances of the arms [unitless]
    arm_b: Any
    eta_a: Any  # arms × the relay's detector efficiency [unitless]
    eta_b: Any
    y0: Any  # background yield of the whole relay per window [unitless]
    dead_time_pulses: Any  # pulse periods a click blinds the relay for [pulses]
    dead_time_ns: Any
    e_d: Any  # misalignment of the interference [unitless]
    e_d_origin: str
    f: Any  # error-correction efficiency [unitless]

    def row(
        self,
        protocol: str,
        bits: Any,
        mu: Any,
        sifting: str,
        asymptotic: Any = None,
        click: Any = None,
        note: str = "",
    ) -> ProtocolRate:
        """One end-to-end row from bits per pulse (pair); ``click`` is the live relay's
        click probability per pulse (pair), saturated here by the dead time."""
        from qcalc.physics.detectors import dead_time_live_fraction

        clicks = None
        n_d = self.dead_time_pulses
        if click is not None and self.dead_time_ns is not None and np.any(np.asarray(n_d) > 0):
            clicks = self.rep * click * dead_time_live_fraction(click, n_d)
            note = _join(note, _relay_dead_time_note(self.name, clicks, self.dead_time_ns))
        return ProtocolRate(
            protocol,
            "end to end",
            bits * self.rep,
            bits,
            self.rep,
            plob_bound(self.arm_a * self.arm_b) * self.rep,
            mu,
            note=note,
            asymptotic_key_rate_bps=None if asymptotic is None else asymptotic * self.rep,
            bound_bps=plob_bound(np.minimum(self.arm_a, self.arm_b)) * self.rep,
            bound=RELAY_BOUND,
            sifting=sifting,
            click_rate_hz=clicks,
        )


def _measuring_relay(scenario: Scenario, result: DemandResult) -> _Relay:
    """The relay of a route that passed :func:`_relay_refusal`, with its arms."""
    from qcalc.physics.detectors import dead_time_pulses

    a, relay, b = (scenario.nodes[n] for n in result.path)
    assert a.source is not None and b.source is not None and relay.detector is not None
    rep = np.minimum(
        np.asarray(a.source.repetition_rate_hz, dtype=float),
        np.asarray(b.source.repetition_rate_hz, dtype=float),
    )
    eff = np.asarray(relay.detector.efficiency, dtype=float)
    arm_a, arm_b = (np.asarray(h.channel_transmittance, dtype=float) for h in result.hops)
    # The relay's background yield: its detectors' dark counts and the background light
    # each arm brings to it (background_photons_per_window, sky), as a receiver's Y0.
    y0 = np.clip(
        np.asarray(detector_yield(relay.detector), dtype=float)
        + sum((np.asarray(h.background_yield, dtype=float) for h in result.hops), 0.0),
        0.0,
        1.0,
    )
    e_d, e_d_origin = relay_misalignment_error(relay, result.hops)
    return _Relay(
        name=relay.name,
        alice=a.source,
        bob=b.source,
        rep=rep,
        arm_a=arm_a,
        arm_b=arm_b,
        eta_a=arm_a * eff,
        eta_b=arm_b * eff,
        y0=y0,
        # A click blinds the whole relay for its dead time: n_d pulse periods.
        dead_time_pulses=dead_time_pulses(rep, relay.detector.dead_time_ns),
        dead_time_ns=relay.detector.dead_time_ns,
        e_d=e_d,
        e_d_origin=e_d_origin,
        f=result.demand.error_correction_efficiency,
    )


def _fixed_mu(source: Source) -> Any:
    """The source's signal μ (a number, or an array in a sweep); None: optimise."""
    mu = source.mean_photon_number
    return None if isinstance(mu, str) else np.asarray(mu, dtype=float)


def _mdi_row(result: DemandResult, relay: _Relay) -> ProtocolRate:
    """The asymptotic ``mdi-qkd`` row: infinite decoys unless the sources give the
    four-intensity set [ν_y, ν_x, 0.0], then its decoy bounds; with its --explain step."""
    decoys = relay.alice.decoy_photon_numbers
    four_set = _four_intensity_decoys(decoys)
    if not isinstance(decoys, str) and four_set is None:
        given = any(
            not isinstance(s.intensity_probabilities, str) for s in (relay.alice, relay.bob)
        )
        result.notes.append(
            f"end to end: mdi-qkd: decoys {list(decoys)} are not the four-intensity set "
            "[ν_y, ν_x, 0.0]; its asymptotic key takes the infinite-decoy bound"
            + (
                ", every pulse a signal (the sources' intensity_probabilities are not used by it)"
                if given
                else ""
            )
        )
    if four_set is None:
        row = _mdi_infinite_decoy_row(result, relay)
        method = "infinite decoys: Y11, e11 exact"
    else:
        row = _mdi_four_intensity_row(result, relay, four_set)
        method = f"decoys ν_x = {four_set[0]:g}, ν_y = {four_set[1]:g} and vacuum (bounds)"
    if result.explain:
        result.steps.append(_relay_step("mdi-qkd", relay, row, method))
    return row


def _mdi_infinite_decoy_row(result: DemandResult, relay: _Relay) -> ProtocolRate:
    """``mdi-qkd`` with Y11 and e11 exact (infinitely many decoys): at the sources' μ, or
    at the μ that maximise the key (Lo, Curty, Qi 2012; Ma, Razavi 2012)."""
    from qcalc.protocols.mdi import mdi_qkd_rate, mdi_relay_click_probability, optimise_mdi_qkd

    mu_z, mu_b = _fixed_mu(relay.alice), _fixed_mu(relay.bob)
    p_d = relay.y0 / MDI_RELAY_DETECTORS
    eta_a, eta_b, n_d = relay.eta_a, relay.eta_b, relay.dead_time_pulses
    q = 1.0  # efficient basis choice (see the module constants EFFICIENT_MDI/TF)
    if mu_z is not None and mu_b is not None:
        bits = mdi_qkd_rate(
            eta_a,
            eta_b,
            p_d,
            relay.e_d,
            mean_photon_number_a=mu_z,
            mean_photon_number_b=mu_b,
            error_correction_efficiency=relay.f,
            sifting_factor=q,
            dead_time_pulses=n_d,
        )
        click = mdi_relay_click_probability(eta_a, eta_b, p_d, mu_z, mu_b)
        return relay.row("mdi-qkd", bits, mu_z, EFFICIENT_MDI, click=click)
    scalar = [None if mu is None or mu.size != 1 else float(mu) for mu in (mu_z, mu_b)]
    if any(mu is not None and mu.size != 1 for mu in (mu_z, mu_b)):
        result.notes.append(
            "end to end: mdi-qkd: one end's swept mean_photon_number with the "
            "other's optimised is not modelled; both are optimised"
        )
    bits, params = optimise_mdi_qkd(
        eta_a,
        eta_b,
        p_d,
        relay.e_d,
        error_correction_efficiency=relay.f,
        sifting_factor=q,
        mean_photon_number_a=scalar[0],
        mean_photon_number_b=scalar[1],
        dead_time_pulses=n_d,
    )
    used = (params["mean_photon_number_a"], params["mean_photon_number_b"])
    click = mdi_relay_click_probability(eta_a, eta_b, p_d, *used)
    return relay.row("mdi-qkd", bits, used[0], EFFICIENT_MDI, click=click)


def _mdi_four_intensity_row(
    result: DemandResult, relay: _Relay, four_set: tuple[float, float]
) -> ProtocolRate:
    """``mdi-qkd`` with the decoy bounds of a vacuum and two X decoys (ν_x, ν_y) = four_set,
    at the first end's μ or the optimal one (Zhou, Yu, Wang 2016, N → ∞)."""
    from qcalc.protocols.mdi import (
        mdi_decoy_key_rate,
        mdi_relay_click_probability,
        optimise_mdi_decoy_key,
    )

    alice, bob = relay.alice, relay.bob
    mu_z = _fixed_mu(alice)
    p_d = relay.y0 / MDI_RELAY_DETECTORS
    eta_a, eta_b = relay.eta_a, relay.eta_b
    if not all(
        _same(getattr(bob, k), getattr(alice, k))
        for k in ("mean_photon_number", "decoy_photon_numbers", "intensity_probabilities")
    ):
        result.notes.append(
            "end to end: mdi-qkd: the four-intensity key takes the first end's "
            "intensities and their probabilities for both ends"
        )
    shares = _four_intensity_probabilities(alice, four_set[0])
    common: dict[str, Any] = {
        "weak_decoy_photon_number": four_set[0],
        "strong_decoy_photon_number": four_set[1],
        "error_correction_efficiency": relay.f,
        "intensity_probabilities": shares,
        "dead_time_pulses": relay.dead_time_pulses,
    }
    if mu_z is None:
        bits, used_mu = optimise_mdi_decoy_key(eta_a, eta_b, p_d, relay.e_d, **common)
    else:
        used_mu = mu_z
        bits = mdi_decoy_key_rate(eta_a, eta_b, p_d, relay.e_d, signal_photon_number=mu_z, **common)
    if shares is None:
        click = mdi_relay_click_probability(eta_a, eta_b, p_d, used_mu, used_mu)
        sifting = EFFICIENT_MDI
    else:
        p_z, p_0, p_x = shares
        mix = [used_mu, 0.0, four_set[0], four_set[1]]
        weights = [p_z, p_0, p_x, 1.0 - p_z - p_0 - p_x]
        click = mdi_relay_click_probability(eta_a, eta_b, p_d, mix, mix, weights, weights)
        sifting = (
            f"four intensities: both send Z signals with p_z = {fmt(p_z)} "
            "(the sources' intensity_probabilities), so key comes from "
            f"p_z² = {fmt(np.asarray(p_z) ** 2)} of the pulse pairs (Zhou, Yu, "
            "Wang 2016)"
        )
    q = 1.0  # efficient basis choice (see the module constants EFFICIENT_MDI/TF)
    return relay.row("mdi-qkd", q * bits, used_mu, sifting, click=click)


def _tf_row(result: DemandResult, relay: _Relay) -> ProtocolRate:
    """The asymptotic sending-or-not-sending ``tf-qkd`` row on balanced arms,
    η = min(η_a, η_b)² (Wang, Yu, Hu 2018), with its --explain step."""
    from qcalc.protocols.twinfield import optimise_sns_tf_qkd, sns_click_probability

    balanced = np.minimum(relay.eta_a, relay.eta_b) ** 2
    tf_mu, tf_notes = _tf_settings(relay.alice, relay.bob)
    result.notes.extend(tf_notes)
    bits, params = optimise_sns_tf_qkd(
        balanced,
        relay.y0 / TF_RELAY_DETECTORS,
        relay.e_d,
        error_correction_efficiency=relay.f,
        sifting_factor=1.0,  # efficient basis choice (EFFICIENT_TF)
        mean_photon_number=tf_mu,
        dead_time_pulses=relay.dead_time_pulses,
    )
    click = sns_click_probability(
        balanced,
        relay.y0 / TF_RELAY_DETECTORS,
        params["mean_photon_number"],
        params["sending_probability"],
    )
    row = relay.row("tf-qkd", bits, params["mean_photon_number"], EFFICIENT_TF, click=click)
    if result.explain:
        result.steps.append(_relay_step("tf-qkd", relay, row))
    if result.demand.block_size is not None and result.demand.protocol == "tf-qkd":
        result.notes.append(
            "end to end: tf-qkd is asymptotic; finite-size SNS keys are not modelled, "
            "so block_size does not enter it"
        )
    return row


def _four_intensity_probabilities(source: Source, weak_decoy: float) -> tuple[Any, Any, Any] | None:
    """(p_z, p_0, p_x) of a four-intensity source's intensity_probabilities (given in the
    order [μ_z, *decoy_photon_numbers]); None when it leaves them to be optimised."""
    probs, decoys = source.intensity_probabilities, source.decoy_photon_numbers
    if isinstance(probs, str) or isinstance(decoys, str):
        return None
    values = [float(d) for d in decoys]
    by_value = dict(zip(values, probs[1:], strict=True))
    return probs[0], by_value[0.0], by_value[weak_decoy]


def _tf_settings(alice: Source, bob: Source) -> tuple[Any, list[str]]:
    """The SNS signal μ the sources fix (None: optimised), and notes on source fields the
    asymptotic twin-field key does not use."""
    notes: list[str] = []
    given = [
        s.mean_photon_number for s in (alice, bob) if not isinstance(s.mean_photon_number, str)
    ]
    mu = None if not given else np.asarray(given[0], dtype=float)
    if given and (len(given) == 1 or not _same(given[0], given[1])):
        notes.append(
            "end to end: tf-qkd: the sending-or-not-sending key has both ends send the "
            f"same μ; it takes {fmt(mu)} (the first mean_photon_number given) for both"
        )
    unused = [
        key
        for key in ("decoy_photon_numbers", "intensity_probabilities")
        if any(not isinstance(getattr(s, key), str) for s in (alice, bob))
    ]
    if unused:
        notes.append(
            f"end to end: tf-qkd: the sources' {' and '.join(unused)} are not used: the "
            "twin-field key here is the asymptotic sending-or-not-sending key with "
            "infinitely many decoys (s1 and e1 exact, Wang, Yu, Hu 2018), the most those "
            "decoys can give; finite-decoy SNS bounds are not modelled"
        )
    return mu, notes


def _relay_dead_time_note(relay: str, clicks_hz: Any, dead_time_ns: Any) -> str:
    """Clicks per second at a measuring relay and how long its dead time blinds it."""
    blind = np.asarray(clicks_hz, dtype=float) * np.asarray(dead_time_ns, dtype=float) * 1e-9
    return (
        f"{fmt(clicks_hz, 'clicks/s')} at relay {relay}; dead time "
        f"{fmt(dead_time_ns, 'ns')} blinds it {fmt(100.0 * blind)} % of the time"
    )


def _finite_mdi(result: DemandResult, relay: _Relay) -> ProtocolRate:
    """The ``mdi-qkd-finite`` row: four intensities, N = block_size pulse pairs, the relay
    blind for its dead time after each click (Zhou, Yu, Wang 2016), with its --explain
    step."""
    from qcalc.protocols.mdi import mdi_finite_key_estimates, mdi_relay_click_probability

    demand = result.demand
    settings, notes = _mdi_settings([relay.alice, relay.bob], demand)
    result.notes.extend(notes)
    if demand.block_key_detections is not None:
        result.notes.append(
            "end to end: mdi-qkd-finite counts its block in pulse pairs (block_size); "
            "block_key_detections is not used by it"
        )
    pairs = np.asarray(demand.block_size, dtype=float)
    p_d = relay.y0 / MDI_RELAY_DETECTORS
    point = _finite_mdi_point(settings, relay, demand, pairs)
    est = mdi_finite_key_estimates(
        relay.eta_a,
        relay.eta_b,
        p_d,
        relay.e_d,
        pairs,
        **point,
        error_correction_efficiency=demand.error_correction_efficiency,
        **_epsilons(demand),
        dead_time_pulses=relay.dead_time_pulses,
    )
    p_z = np.asarray(point["signal_probability"], dtype=float)
    p_0 = np.asarray(point["vacuum_probability"], dtype=float)
    p_x = np.asarray(point["weak_decoy_probability"], dtype=float)
    mix = [
        point["signal_photon_number"],
        0.0,
        point["weak_decoy_photon_number"],
        point["strong_decoy_photon_number"],
    ]
    weights = [p_z, p_0, p_x, 1.0 - p_z - p_0 - p_x]
    click = mdi_relay_click_probability(relay.eta_a, relay.eta_b, p_d, mix, mix, weights, weights)
    sifting = (
        f"four intensities: both send Z signals with p_z = {fmt(p_z)}, so key comes "
        f"from p_z² = {fmt(p_z**2)} of the pulse pairs (Zhou, Yu, Wang 2016)"
    )
    row = relay.row(
        "mdi-qkd-finite",
        est["key_bits_per_pulse_pair"],
        point["signal_photon_number"],
        sifting,
        est["asymptotic_bits_per_pulse_pair"],
        click=click,
    )
    if result.explain:
        result.steps.append(_finite_mdi_step(relay, demand, pairs, point, est))
    return row


def _epsilons(demand: Demand) -> dict[str, float]:
    """The demand's security parameters ε_sec and ε_cor as keyword arguments."""
    return {"epsilon_sec": float(demand.epsilon_sec), "epsilon_cor": float(demand.epsilon_cor)}


def _finite_mdi_point(
    settings: dict[str, Any], relay: _Relay, demand: Demand, pairs: Any
) -> dict[str, Any]:
    """The four-intensity operating point: the sources' intensities and probabilities
    when they fix them all (:func:`_mdi_settings`), else the one that maximises the
    finite key of the block."""
    from qcalc.protocols.mdi import optimise_mdi_finite_key

    if "probabilities" in settings:
        mu_z, nu_y, nu_x = settings["intensities"]
        p_z, p_0, p_x = settings["probabilities"]
        return {
            "signal_photon_number": mu_z,
            "strong_decoy_photon_number": nu_y,
            "weak_decoy_photon_number": nu_x,
            "signal_probability": p_z,
            "vacuum_probability": p_0,
            "weak_decoy_probability": p_x,
        }
    _, _, point = optimise_mdi_finite_key(
        relay.eta_a,
        relay.eta_b,
        relay.y0 / MDI_RELAY_DETECTORS,
        relay.e_d,
        pairs,
        intensities=settings.get("intensities"),
        error_correction_efficiency=float(np.max(demand.error_correction_efficiency)),
        **_epsilons(demand),
        dead_time_pulses=relay.dead_time_pulses,
    )
    found: dict[str, Any] = point
    return found


def _finite_mdi_step(
    relay: _Relay, demand: Demand, pairs: Any, point: dict[str, Any], est: dict[str, Any]
) -> Step:
    """The finite MDI key length with every estimate, for --explain."""

    def listed(*keys: str) -> str:
        return ", ".join(fmt(point[k]) for k in keys)

    return Step(
        f"mdi-qkd-finite through untrusted relay {relay.name}",
        "ℓ = s11[1 − h(e11 + γ)] − f n_zz h(E_zz) − log2(8/ε_cor) − 2 log2(2/ε̄²) "
        "− 2 log2(1/(2ε̄)), ε̄ = ε_sec/34; Y11 ≥ [ν_y³G(ν_x) − ν_x³G(ν_y)]/(ν_y²ν_x²(ν_y − ν_x)), "
        "G(ν) = e^{2ν}Q_νν − e^ν(Q_ν0 + Q_0ν) + Q_00, each count bracketed by a Chernoff "
        "bound (Zhou, Yu, Wang 2016; Curty et al. 2014)",
        (
            ("N (pulse pairs)", fmt(pairs)),
            (
                "μ_z, ν_y, ν_x",
                listed(
                    "signal_photon_number", "strong_decoy_photon_number", "weak_decoy_photon_number"
                ),
            ),
            (
                "p_z, p_0, p_x",
                listed("signal_probability", "vacuum_probability", "weak_decoy_probability"),
            ),
            ("η_a, η_b", f"{fmt(relay.eta_a)}, {fmt(relay.eta_b)}"),
            ("p_d per detector", fmt(relay.y0 / MDI_RELAY_DETECTORS)),
            ("e_d", f"{fmt(relay.e_d)} ({relay.e_d_origin})"),
            ("ε_sec, ε_cor", f"{fmt(demand.epsilon_sec)}, {fmt(demand.epsilon_cor)}"),
            ("Y11^L", fmt(est["y11_lower"])),
            ("e11^X,U; + γ", f"{fmt(est['e11_upper'])}; {fmt(est['phase_error_upper'])}"),
            ("s11 (Z single-pair events)", fmt(est["single_pair_events"])),
            ("n_zz, E_zz", f"{fmt(est['key_events'])}, {fmt(est['qber_z'])}"),
            ("λ_EC", fmt(est["leak_ec_bits"], "bits")),
        ),
        f"{fmt(est['key_bits_per_pulse_pair'], 'bits/pulse pair')}; the same operating "
        f"point with N → ∞ gives {fmt(est['asymptotic_bits_per_pulse_pair'], 'bits/pulse pair')}",
    )


def _relay_step(protocol: str, relay: _Relay, rate: ProtocolRate, method: str = "") -> Step:
    """The --explain step of an asymptotic MDI or TF key, with its conventions."""
    detectors = MDI_RELAY_DETECTORS if protocol == "mdi-qkd" else TF_RELAY_DETECTORS
    formula = (
        "R = μ_aμ_b e^{−μ_a−μ_b} Y11[1 − h(e11)] − f Q^Z h(E^Z)  (Lo, Curty, Qi PRL 108, "
        "130503 (2012) Eq. (1); Ma, Razavi PRA 86, 062319 (2012))"
        if protocol == "mdi-qkd"
        else "R = 2ε(1−ε)μe^{−μ}s1[1 − h(e1)] − f S_Z h(E_Z), each arm √η after balancing "
        "(Wang, Yu, Hu PRA 98, 062323 (2018))"
    )
    return Step(
        f"{protocol} through untrusted relay {relay.name}",
        formula + (f"; {method}" if method else ""),
        (
            ("η_a", fmt(relay.eta_a)),
            ("η_b", fmt(relay.eta_b)),
            ("Y0 relay", fmt(relay.y0)),
            (f"p_d per detector (Y0/{detectors})", fmt(relay.y0 / detectors)),
            ("e_d", f"{fmt(relay.e_d)} ({relay.e_d_origin})"),
            ("sifting", rate.sifting),
            ("rep. rate", fmt(rate.repetition_rate_hz, "Hz")),
        ),
        f"{fmt(rate.key_rate_bps, 'bit/s')}; {rate.bound} "
        f"{fmt(rate.configuration_bound_bps, 'bit/s')}; repeaterless PLOB "
        f"{fmt(rate.plob_bps, 'bit/s')} and TGW {fmt(rate.tgw_bps, 'bit/s')} "
        "of the whole channel",
    )


@record(frozen=True)
class EntanglementBounds:
    """The bounds an entanglement-based key is shown against.

    ``plob_per_use`` is the repeaterless PLOB of the whole route's channel per use and
    ``uses_hz`` the channel uses per second: every multiplexed mode of every attempt of
    the slowest segment. ``bound_bps`` is the bound of the configuration: the cut-set
    bound of the route's elementary segments, each the PLOB of its worst arm times its
    own uses; None when it is the direct channel's PLOB.
    """

    plob_per_use: Any
    uses_hz: float
    bound_bps: Any
    label: str

    def attach(self, rate: ProtocolRate) -> ProtocolRate:
        """The rate row carrying this configuration's bound and its label."""
        return replace(rate, bound_bps=self.bound_bps, bound=self.label)


def entanglement_bounds(result: DemandResult, delivery: Any) -> EntanglementBounds:
    """Bounds of a Bell-pair route: repeaterless PLOB per mode-use, and the chain bound.

    .. math::
        K_\\mathrm{chain} = \\min_s\\, R_s \\left[-\\log_2(1 - \\min_{a \\in s} \\eta_a)\\right]

    over the segments s, R_s their channel uses per second (modes / attempt time for a
    heralded link, pulses for a pair source) and a their arms: the two hops of a
    midpoint source, the two halves of a heralded link (station in the middle, channel
    only), the one hop of a source at an end. Measured links have no channel model and
    bound nothing.

    References
    ----------
    .. [1] S. Pirandola, "End-to-end capacities of a quantum communication network",
       Commun. Phys. 2, 51 (2019), linear chains: the capacity of a chain is that of its
       worst link, −log2(1 − min_i η_i).
    .. [2] S. Pirandola, R. Laurenza, C. Ottaviani, L. Banchi, Nat. Commun. 8, 15043
       (2017), Eq. (1).
    """
    position: dict[str, int] = {}
    for i, name in enumerate(result.path):
        position.setdefault(name, i)  # path.index: the first place a node appears
    uses: list[float] = []
    cuts: list[Any] = []
    kinds: list[str] = []
    unbounded = 0
    known: dict[Any, tuple[float, Any]] = {}
    for segment in delivery.segments:
        i, j = sorted((position[segment.ends[0]], position[segment.ends[1]]))
        hops = result.hops[i:j]
        kind = (
            segment.kind,
            id(segment.attempt_time_s),
            id(hops[0].link.memory_modes) if hops else None,
            tuple(tuple((id(t.loss_db), t.receiver) for t in h.terms) for h in hops),
        )
        if kind not in known:  # the objects named by id live in `delivery` and `result`
            known[kind] = _segment_cut(segment, hops)
        use, cut = known[kind]
        uses.append(use)
        if cut is None:
            unbounded += 1
        else:
            cuts.append(cut)
            kinds.append(segment.kind)
    uses_hz = min(uses) if uses and np.isfinite(min(uses)) else 0.0
    plob_per_use = plob_bound(np.power(10.0, -np.asarray(result.channel_loss_db) / 10.0))
    if not cuts or kinds == ["end-source"]:
        label = DIRECT_BOUND + (" (measured links: no channel model)" if unbounded else "")
        return EntanglementBounds(plob_per_use, uses_hz, None, label)
    bound = cuts[0]
    for cut in {id(c): c for c in cuts[1:]}.values():  # each distinct cut once
        bound = np.minimum(bound, cut)
    return EntanglementBounds(plob_per_use, uses_hz, bound, _chain_bound_label(kinds, unbounded))


def _segment_cut(segment: Any, hops: tuple[LinkBudget, ...]) -> tuple[float, Any]:
    """(channel uses per second, cut bound [bit/s] or None) of one elementary segment.

    Uses are the modes per attempt time of a heralded link, the pulses of a pair source;
    the cut is the PLOB of the segment's worst arm at that rate. A measured link has no
    channel model and bounds nothing (None).
    """
    attempt = np.asarray(segment.attempt_time_s, dtype=float)
    modes = np.asarray(
        hops[0].link.memory_modes if segment.kind == "heralded" and hops else 1.0,
        dtype=float,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_hz = np.where((attempt > 0) & np.isfinite(attempt), modes / attempt, 0.0)
    use = float(np.min(rate_hz))
    if segment.kind == "heralded" and hops:
        arms = [np.power(10.0, -np.asarray(hops[0].channel_loss_db, dtype=float) / 20.0)]
    elif segment.kind in ("midpoint-source", "end-source") and hops:
        arms = [np.asarray(h.channel_transmittance, dtype=float) for h in hops]
    else:
        return use, None
    worst = arms[0]
    for arm in arms[1:]:
        worst = np.minimum(worst, arm)
    return use, plob_bound(worst) * rate_hz


def _chain_bound_label(kinds: list[str], unbounded: int) -> str:
    """What the configuration's bound is, from the kinds of its bounded segments."""
    if kinds == ["midpoint-source"]:
        label = "PLOB of the worse arm of the midpoint source (Pirandola 2019)"
    elif kinds == ["heralded"]:
        label = "PLOB of the worse half of the heralded link, per mode (Pirandola 2019)"
    else:
        label = (
            f"PLOB of the worst arm of {len(kinds)} elementary links between memories, "
            "per mode (Pirandola 2019 chain bound)"
        )
    if unbounded:
        label += f"; {unbounded} measured link(s) bound nothing"
    return label


def _loss_text(budget: LinkBudget, shown: dict[Any, str]) -> str:
    """A hop's channel loss for a step, formatted once per set of loss arrays."""
    kind = tuple((id(t.loss_db), t.receiver) for t in budget.terms)
    if kind not in shown:
        shown[kind] = fmt(budget.channel_loss_db, "dB")
    return shown[kind]


def _end_to_end_channel(scenario: Scenario, result: DemandResult) -> tuple[Any, ...] | None:
    """(source, detector, total loss [dB], channel loss [dB], misalignment error, final
    hop) of a prepare-and-measure key over the whole route; None where there is none
    (a measured link on the route, or one trusted hop: its key is the hop's); once per
    result within :func:`evaluate_scenario`."""
    memo = _SCENARIO_MEMO[-1].setdefault("routes", {}) if _SCENARIO_MEMO else {}
    if id(result) not in memo:
        memo[id(result)] = _end_to_end_inputs(scenario, result)
    found: tuple[Any, ...] | None = memo[id(result)]
    return found


def _end_to_end_inputs(scenario: Scenario, result: DemandResult) -> tuple[Any, ...] | None:
    if any(h.measured_only for h in result.hops):
        return None  # said per hop: a measured link has no channel for light
    if len(result.hops) == 1 and all(scenario.nodes[n].trusted for n in result.path):
        return None  # computed with the hop (hop_key_rates) and copied
    first, last = result.path[0], result.path[-1]
    if scenario.nodes[first].source is None and scenario.nodes[last].source is not None:
        first, last = last, first  # the key is symmetric: the end with the source sends
    source = scenario.nodes[first].source
    detector = scenario.nodes[last].detector
    final = result.hops[-1] if last == result.path[-1] else result.hops[0]
    channel_db = result.channel_loss_db
    from qcalc.physics.fibre import loss_db_from_transmittance

    total_db = channel_db
    if detector is not None:
        total_db = channel_db + loss_db_from_transmittance(detector.efficiency)
    misalignment = combined_misalignment_error([h.link.misalignment_error for h in result.hops])
    return source, detector, total_db, channel_db, misalignment, final


def end_to_end_rates(scenario: Scenario, result: DemandResult) -> None:
    """Key over the whole route with no trusted node in between.

    Through one untrusted measuring relay: MDI- and twin-field QKD. Otherwise
    prepare-and-measure over the whole route's loss, the nodes in between passing the
    light on (a relay or repeater building that the fibre runs through).
    """
    if any(scenario.nodes[n].role == "untrusted_relay" for n in result.intermediates):
        measuring_relay_rates(scenario, result)
        return
    route = _end_to_end_channel(scenario, result)
    if route is None:
        return
    source, detector, total_db, channel_db, misalignment, final = route
    from qcalc.physics.fibre import transmittance_from_loss_db

    if result.explain and len(result.hops) > 1:
        shown: dict[Any, str] = _SCENARIO_MEMO[-1].setdefault("shown", {}) if _SCENARIO_MEMO else {}
        result.steps.append(
            Step(
                "end-to-end channel",
                "loss = Σ hop channel losses",
                tuple((h.link.name, _loss_text(h, shown)) for h in result.hops),
                fmt(channel_db, "dB"),
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
        result.steps_wanted,
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
    delivery = deliver(
        scenario, result.path, result.hops, result.demand.distillation, explain=result.explain
    )
    result.entanglement = delivery
    result.notes.extend(n for n in delivery.notes if n not in result.notes)
    if not delivery.delivers:
        return
    if result.explain:
        result.steps.extend(delivery.steps)
    result.pair_rate_hz = delivery.rate_hz
    result.fidelity = delivery.fidelity
    wanted = result.demand.protocol
    # Per use of the channel = per mode of each attempt of the slowest segment; the
    # configuration's own bound (midpoint source, heralding station, repeaters) beside.
    bounds = entanglement_bounds(result, delivery)
    rates = []
    if wanted in (None, "bbm92"):
        from qcalc.protocols.ebqkd import bbm92_key_rate

        bits = bbm92_key_rate(
            delivery.rate_hz,
            delivery.qber,
            result.demand.error_correction_efficiency,
            result.demand.sifting_factor,
        )
        rates.append(_pair_key_row("bbm92", bits, bounds))
    if wanted in (None, "diqkd"):
        rates.append(_diqkd_row(scenario, result, delivery, bounds))
    result.end_to_end = (*result.end_to_end, *(bounds.attach(r) for r in rates))


def _pair_key_row(
    protocol: str, bits: Any, bounds: EntanglementBounds, note: str = ""
) -> ProtocolRate:
    """An end-to-end key row from delivered pairs, per use of the channel."""
    uses_hz = bounds.uses_hz
    return ProtocolRate(
        protocol,
        "end to end",
        bits,
        bits / max(uses_hz, 1e-300),
        uses_hz,
        bounds.plob_per_use * uses_hz,
        note=note,
    )


@record(frozen=True)
class _BellRounds:
    """The rounds of a device-independent key: their rate and what each holds."""

    qber: Any  # of the pairs [unitless, 0..0.5]
    both: Any  # P11, both ends click [unitless]
    neither: Any  # P00, neither clicks [unitless]
    rounds_hz: Any  # rounds per second [Hz]
    eta_a: Any = 1.0  # local detection efficiencies [unitless]
    eta_b: Any = 1.0
    refusal: str = ""  # why no device-independent key is claimed


def _diqkd_rounds(scenario: Scenario, result: DemandResult, delivery: Any) -> _BellRounds:
    """Device-independent key keeps every round, a round without a click too (binned to
    one outcome): no post-selection, no detection loophole (Pironio et al., NJP 11,
    045021 (2009)). Event-ready pairs in memories at both ends (read out with efficiency
    1): each delivered pair is a round. A pair source measured on arrival: each pulse is
    a round, most of them without a click."""
    first, last = delivery.segments[0], delivery.segments[-1]
    on_arrival = [
        end
        for seg, end in ((first, result.path[0]), (last, result.path[-1]))
        if seg.no_click_probability is not None
        or (seg.kind == "measured" and scenario.nodes[end].memory is None)
    ]
    if len(delivery.segments) == 1 and first.no_click_probability is not None:
        eta_a, eta_b = first.local_detection_efficiency or (1.0, 1.0)
        return _BellRounds(
            np.clip(np.asarray(first.qber, dtype=float), 0.0, 0.5),
            first.success_probability,
            first.no_click_probability,
            1.0 / np.asarray(first.attempt_time_s, dtype=float),
            eta_a,
            eta_b,
        )
    if on_arrival:
        return _BellRounds(
            np.asarray(0.5),
            0.0,
            0.0,
            np.asarray(0.0),
            refusal=f"{' and '.join(dict.fromkeys(on_arrival))} measures photons on arrival "
            "over a chain or a measured link: their coincidences are post-selected "
            "(detection loophole) and the no-click rounds are not modelled, so no "
            "device-independent key is claimed",
        )
    return _BellRounds(
        np.clip(np.asarray(delivery.qber, dtype=float), 0.0, 0.5),
        1.0,
        0.0,
        np.asarray(delivery.rate_hz, dtype=float),
    )


def _diqkd_row(
    scenario: Scenario, result: DemandResult, delivery: Any, bounds: EntanglementBounds
) -> ProtocolRate:
    """The ``diqkd`` row: every round kept, no-clicks binned (Pironio et al. 2009), with
    its --explain step and, for no key, the reason."""
    from qcalc.protocols.ebqkd import (
        CHSH_EFFICIENCY_BOUND,
        binned_chsh,
        binned_qber,
        chsh_from_qber,
        diqkd_binned_key_rate,
    )

    f, q = result.demand.error_correction_efficiency, result.demand.sifting_factor
    r = _diqkd_rounds(scenario, result, delivery)
    s_cc = chsh_from_qber(r.qber)
    bits = diqkd_binned_key_rate(s_cc, r.qber, r.both, r.neither, f) * r.rounds_hz * q
    note = r.refusal
    if not note:
        s_bin, q_bin = binned_chsh(s_cc, r.both, r.neither), binned_qber(r.qber, r.both, r.neither)
        result.steps.append(
            Step(
                "DIQKD key, every round kept (no-clicks binned)",
                "S = P11 S_pairs + 2 P00; Q = (1 − P11(1 − 2Q_pairs) − P00)/2; "
                "r = 1 − f h(Q) − h((1 + √((S/2)² − 1))/2)  (Pironio et al. 2009)",
                (
                    ("η local", f"{fmt(r.eta_a)}, {fmt(r.eta_b)}"),
                    ("P11", fmt(r.both)),
                    ("P00", fmt(r.neither)),
                    ("S pairs", fmt(s_cc)),
                    ("rounds", fmt(r.rounds_hz, "Hz")),
                ),
                f"S = {fmt(s_bin)}, Q = {fmt(q_bin)}: {fmt(bits, 'bit/s')}",
            )
        )
        verdict = (
            "no Bell violation (CHSH needs S > 2)"
            if np.all(s_bin <= 2.0)
            else "too little violation for key (Pironio et al. 2009)"
        )
        if not np.any(bits > 0) and delivery.segments[0].no_click_probability is not None:
            note = (
                f"no key: with no-clicks counted as outcomes (no post-selection) the "
                f"pulses give S = {fmt(s_bin)} at QBER {fmt(q_bin)}, "
                f"{verdict}, at local detection efficiencies {fmt(r.eta_a)} and "
                f"{fmt(r.eta_b)} (a maximally entangled pair violates CHSH only "
                f"above {CHSH_EFFICIENCY_BOUND:.1%} at both ends; Eberhard 1993)"
            )
        elif not np.any(bits > 0):
            note = (
                f"no key: the event-ready pairs give S = {fmt(s_bin)} at QBER "
                f"{fmt(q_bin)}, {verdict} (Werner pairs need QBER below "
                "about 7.1 %)"
            )
    if note and "diqkd" in (result.demand.protocol, result.demand.application):
        result.notes.append(f"diqkd: {note}")
    return _pair_key_row("diqkd", np.asarray(bits, dtype=float), bounds, note)


# ----------------------------------------------------------------------------- chain


#: The prepare-and-measure BB84 rows: those the demand's BB84 operating point acts on.
BB84_PROTOCOLS = ("bb84-decoy", "bb84-finite", "bb84-single-photon", "gllp")


def unused_demand_fields(result: DemandResult) -> list[str]:
    """Notes on demand fields the route chosen for the demand gives nothing to act on.

    Which protocols run depends on the route (its sources, detectors, memories and
    relays), known only once it is evaluated; the checker refuses what the demand's own
    ``protocol`` rules out. Here a finite-key block with no BB84 or MDI key on the route,
    a BB84 operating point with no BB84 key, and a distillation with no delivered pairs
    are named, so that no field is dropped without a word.
    """
    demand = result.demand
    rows = [*result.end_to_end, *(r for r in result.hop_rates if r is not None)]
    bb84 = any(r.protocol in BB84_PROTOCOLS for r in rows)
    relay = any(r.protocol.startswith("mdi-qkd") for r in rows)
    notes: list[str] = []
    blocks = [k for k in ("block_size", "block_key_detections") if getattr(demand, k) is not None]
    if blocks and not bb84 and not relay:
        notes.extend(
            f"{key}: no BB84 or MDI-QKD key runs on this route, so no finite key is "
            "computed and it has no effect"
            for key in blocks
        )
    if not bb84:
        if demand.key_basis_probability is not None:
            notes.append(
                "key_basis_probability: no BB84 protocol runs on this route, so it has no effect"
            )
        if not demand.vacuum_contribution:
            notes.append(
                "vacuum_contribution: no decoy-state BB84 protocol runs on this route, so it "
                "has no effect"
            )
    delivery = result.entanglement
    if demand.distillation is not None and (delivery is None or not delivery.delivers):
        why = getattr(delivery, "reason", "") or "no entanglement is distributed"
        notes.append(
            f"distillation: this route delivers no entangled pairs ({why}), so it has no effect"
        )
    return notes


def evaluate_demand(scenario: Scenario, demand: Demand, *, explain: bool = True) -> DemandResult:
    """Evaluate one demand of ``scenario``: route, budgets, rates, stages and checks.

    ``explain=False`` leaves out the derivation steps the models would build for
    ``--explain`` (a sweep's points need only the numbers); the numbers are the same.
    """
    path = demand_route(scenario, demand)
    hops = hop_budgets(scenario, path)
    return _evaluate_routed(
        scenario, DemandResult(demand=demand, path=path, hops=hops, explain=explain)
    )


def _evaluate_routed(scenario: Scenario, result: DemandResult) -> DemandResult:
    """:func:`evaluate_demand` once the route and its hop budgets are in ``result``."""
    from qcalc.stage import evaluate_stages

    # A route of many hops of distinct lengths optimises their BB84 keys together
    # (evaluate_scenario has done so for all its demands already).
    alone = not _BB84_OPTIMA and not _FINITE_OPTIMA and len(result.hops) > 2
    try:
        if alone:
            _prefetch_bb84([result], scenario)
            _prefetch_finite([result], scenario)
        for budget in result.hops if result.explain else ():
            result.steps.extend(budget.steps)
        hop_key_rates(scenario, result)
        end_to_end_rates(scenario, result)
        entanglement(scenario, result)
    finally:
        if alone:
            _BB84_OPTIMA.clear()
            _FINITE_OPTIMA.clear()
    result.notes.extend(unused_demand_fields(result))
    evaluate_stages(scenario, result)
    result.checks = check_expectations(result)
    if not result.explain:  # the costly steps were never built; these few cost nothing
        result.steps.clear()
    return result


def evaluate_scenario(scenario: Scenario, *, explain: bool = True) -> list[DemandResult]:
    """Evaluate every demand of ``scenario`` in order (``explain=False``: without the
    derivation steps, as :func:`evaluate_demand`).

    The optimised BB84 rows and finite-key searches of every hop and route of the
    scenario are made first, together (:func:`_prefetch_bb84`, :func:`_prefetch_finite`);
    each demand then reads its own.
    """
    from qcalc.errors import QcalcError

    routed: list[DemandResult | Demand] = []
    for demand in scenario.demands:
        try:
            path = demand_route(scenario, demand)
            routed.append(DemandResult(demand, path, hop_budgets(scenario, path), explain=explain))
        except (QcalcError, ValueError):  # evaluate_demand reports it in its turn
            routed.append(demand)
    _SCENARIO_MEMO.append({})
    try:
        ready = [r for r in routed if isinstance(r, DemandResult)]
        if len(ready) > 1 or any(len(r.hops) > 1 for r in ready):  # else one row of each
            _prefetch_bb84(ready, scenario)
            _prefetch_finite(ready, scenario)
        return [
            _evaluate_routed(scenario, r)
            if isinstance(r, DemandResult)
            else evaluate_demand(scenario, r, explain=explain)
            for r in routed
        ]
    finally:
        _BB84_OPTIMA.clear()
        _FINITE_OPTIMA.clear()
        _SCENARIO_MEMO.clear()


#: Memos of :func:`evaluate_scenario` keyed by the identity of budgets' loss arrays,
#: which its demands' results keep alive while it runs (emptied when it returns).
_SCENARIO_MEMO: list[dict[str, Any]] = []


#: The demand's fields the BB84 rows of a hop read (:func:`_operating_point`, :func:`_pm_link`).
_OPERATING_FIELDS = (
    "protocol",
    "key_basis_probability",
    "sifting_factor",
    "vacuum_contribution",
    "error_correction_efficiency",
)


def _pm_links(
    scenario: Scenario, result: DemandResult, seen: set[Any], made: dict[Any, _PMLink]
) -> list[tuple[Any, _PMLink]]:
    """The prepare-and-measure channels :func:`evaluate_demand` will ask a BB84 key of:
    each hop of a trusted chain and the whole route (none over a satellite pass); a hop
    in ``seen`` (the same budget, ends' hardware and demand's settings) is left out.

    Each as its transmittance and a link of its kind, made once in ``made`` (the same
    source, detector, demand, misalignment and background: the same BB84 arguments but
    the transmittance, :func:`_bb84_arguments`)."""
    from qcalc.physics.fibre import transmittance_from_loss_db

    demand = result.demand
    settings = _scalar_key({k: getattr(demand, k) for k in _OPERATING_FIELDS})
    nodes = scenario.nodes
    if any(h.pass_time_s is not None for h in result.hops):
        return []
    links = []
    if all(nodes[n].trusted for n in result.intermediates):
        channels = _HopKinds(demand)
        for h in result.hops:
            sender, receiver = nodes[h.sender], nodes[h.receiver]
            if h.measured_only or sender.source is None or receiver.detector is None:
                continue
            kind = (id(h), id(sender.source), id(receiver.detector), settings)
            if settings is not None and kind in seen:
                continue
            seen.add(kind)
            links.append(
                (
                    sender.source,
                    receiver.detector,
                    *channels.channel(h),
                    h.link.misalignment_error,
                    h.background_yield,
                )
            )
    if not any(nodes[n].role == "untrusted_relay" for n in result.intermediates):
        route = _end_to_end_channel(scenario, result)
        if route is not None and route[0] is not None and route[1] is not None:
            source, detector, total_db, channel_db, misalignment, final = route
            links.append(
                (
                    source,
                    detector,
                    transmittance_from_loss_db(total_db),
                    transmittance_from_loss_db(channel_db),
                    misalignment,
                    final.background_yield,
                )
            )
    out = []
    for source, detector, eta, channel, e_d, y0 in links:
        if source.kind != "weak_coherent" or source.repetition_rate_hz is None:
            continue
        try:
            same: Any = (id(source), id(detector), id(demand), _number_key(e_d), _number_key(y0))
        except TypeError:  # an array: a link of its own
            same = object()
        if same not in made:
            made[same] = _pm_link(source, detector, eta, channel, e_d, demand, "", y0)
        out.append((eta, made[same]))
    return out


def _optimises_mu(scenario: Scenario, result: DemandResult) -> bool:
    """Whether a weak-coherent source on the route leaves μ to the optimiser."""
    for name in result.path:
        source = scenario.nodes[name].source
        if source is not None and source.kind == "weak_coherent":
            if isinstance(source.mean_photon_number, str):
                return True
    return False


def _prefetch_bb84(routed: list[DemandResult], scenario: Scenario) -> None:
    """Compute the BB84 rows of every hop and route of ``routed`` demands together.

    A national network has tens of thousands of hops of distinct lengths; each asks
    :func:`bb84_key_rate` to optimise μ, and a trusted chain with μ given asks a row per
    hop too. Rows with equal arguments but the transmittance are computed in one
    vectorised call over their transmittances (the arithmetic and the golden-section
    search work element by element, so each element is the scalar row) and stored in
    :data:`_BB84_OPTIMA`, where :func:`_bb84_rate` finds them. A one-hop route whose
    source fixes μ is left to its own call (nothing to share).
    """
    from qcalc.errors import QcalcError

    groups: dict[Any, tuple[dict[str, Any], dict[Any, Any]]] = {}
    seen: set[Any] = set()
    made: dict[Any, _PMLink] = {}
    keys: dict[tuple[int, str, bool], Any] = {}  # per link of a kind and row: (key, arguments)
    for result in routed:
        demand = result.demand
        if demand.protocol not in (None, "bb84-decoy", "gllp"):
            continue
        if len(result.hops) < 2 and not _optimises_mu(scenario, result):
            continue  # one row of its kind: nothing to compute together
        try:
            links = _pm_links(scenario, result, seen, made)
        except (QcalcError, ValueError):  # evaluate_demand reports it in its turn
            continue
        for transmittance, link in links:
            if np.ndim(transmittance):
                continue
            for decoy, vacuum in _bb84_methods(link, demand):
                row = (id(link), decoy, vacuum)
                if row not in keys:
                    arguments = _bb84_arguments(link, decoy, vacuum)
                    keys[row] = (_scalar_key(arguments), arguments)
                key, arguments = keys[row]
                if key is not None:
                    etas = groups.setdefault(key, (arguments, {}))[1]
                    etas.setdefault(float(transmittance), transmittance)
    for key, (arguments, etas) in groups.items():
        if len(etas) < 2:
            continue
        values = list(etas.values())
        bits, mu = bb84_key_rate(np.asarray(values, dtype=float), **arguments)
        for i, eta in enumerate(values):
            _BB84_OPTIMA[(("transmittance", _number_key(eta)), *key)] = (bits[i], np.asarray(mu[i]))


def _prefetch_finite(routed: list[DemandResult], scenario: Scenario) -> None:
    """Make the finite-key searches of every hop and route of ``routed`` demands together.

    Each block's search (with its asymptote's) takes some forty compass steps, each a
    call of :func:`qcalc.protocols.finite_key.finite_key_terms` whose cost is numpy's
    overhead, not arithmetic. Searches of the same freedoms and security settings run
    side by side (:func:`_finite_search`; every element is its own search, bit for bit)
    and land in :data:`_FINITE_OPTIMA`, where :func:`_finite_key_at` finds them. The
    channels are those :func:`_prefetch_bb84` reads (:func:`_pm_links`); satellite passes
    and arrays are left to their own calls.
    """
    from qcalc.errors import QcalcError

    groups: dict[Any, tuple[dict[str, Any], dict[str, Any], bool, dict[Any, dict[str, Any]]]] = {}
    seen: set[Any] = set()
    made: dict[Any, _PMLink] = {}
    for result in routed:
        demand = result.demand
        shared = (demand.error_correction_efficiency, demand.epsilon_sec, demand.epsilon_cor)
        if not _wants_finite(demand) or any(np.ndim(v) > 0 for v in shared):
            continue
        try:
            links = _pm_links(scenario, result, seen, made)
        except (QcalcError, ValueError):  # evaluate_demand reports it in its turn
            continue
        for transmittance, link in links:
            inputs = _finite_key_inputs(
                transmittance, link.y0, link.e_d, link.f, link.rep, demand, None, link.point
            )
            if isinstance(inputs, str):
                continue
            eta, y0, e_d, block, detections, common = inputs
            settings = _finite_settings(link.point)
            given, by_detections = (block, False) if detections is None else (detections, True)
            key = _finite_search_key(eta, y0, e_d, given, by_detections, settings, common)
            if key is None or all(v is not None for v in settings.values()):
                continue
            # The same freedoms and security settings; the numbers are the row's own.
            numbers = {"dead_time_pulses": common["dead_time_pulses"]} | {
                n: v for n, v in settings.items() if v is not None and not isinstance(v, bool)
            }
            fixed = {n: v for n, v in common.items() if n not in numbers}
            freedoms = {n: v if n not in numbers else "row" for n, v in settings.items()}
            kind = _scalar_key({"by_detections": by_detections, **freedoms, **fixed})
            rows = groups.setdefault(kind, (freedoms, fixed, by_detections, {}))[3]
            rows.setdefault(key, {"row": (eta, y0, e_d, given), **numbers})
    for freedoms, fixed, by_detections, rows in groups.values():
        if len(rows) < 2:
            continue
        eta, y0, e_d, given = (
            np.array([float(row["row"][i]) for row in rows.values()]) for i in range(4)
        )
        columns = {
            n: np.array([float(row[n]) for row in rows.values()])
            for n in next(iter(rows.values()))
            if n != "row"
        }
        settings = {n: columns[n] if v == "row" else v for n, v in freedoms.items()}
        common = {**fixed, "dead_time_pulses": columns["dead_time_pulses"]}
        bits, best, found = _finite_search(eta, y0, e_d, given, by_detections, settings, common)
        for i, key in enumerate(rows):
            _FINITE_OPTIMA[key] = (
                np.asarray(bits[i]),
                np.asarray(best[i]),
                {name: np.asarray(value[i]) for name, value in found.items()},
            )


def _bb84_methods(link: _PMLink, demand: Demand) -> list[tuple[str, bool]]:
    """The BB84 rows (decoy method, vacuum contribution) a demand asks of a link."""
    methods = []
    if demand.protocol in (None, "bb84-decoy") and link.point.decoy_method is not None:
        methods.append((link.point.decoy_method, bool(demand.vacuum_contribution)))
    if demand.protocol in (None, "gllp"):
        methods.append(("none", False))
    return methods


def check_expectations(result: DemandResult) -> tuple[CheckResult, ...]:
    """Compare the demand's ``expect`` entries with what was computed."""
    out = []
    for check in result.demand.expect:
        got = float(np.min(np.asarray(getattr(result, check.field), dtype=float)))
        out.append(CheckResult(check, got, check.passes(got)))
    return tuple(out)
