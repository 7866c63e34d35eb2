"""Published results qcalc reproduces — and the ones it does not, with the reason.

Each :class:`Case` names a published number (paper, volume, page, year, and the table,
figure, equation or section it comes from), computes qcalc's value with the library or by
running a scenario through :mod:`qcalc.evaluate`, and states the tolerance it must meet.
A case that does not reproduce says why; ``tests/test_validation.py`` runs every case and
holds the table to it, and ``docs/validation.md`` is this table rendered::

    python -m qcalc.validation                         # markdown table to stdout
    python -m qcalc.validation --write docs/validation.md

Importing this module is cheap: every case imports the models it needs when it runs.
The whole table takes about 2 s; the slowest case (Lim et al. 2014, two five-parameter
Nelder–Mead optimisations) about 1 s.
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

#: Bundled scenarios (the repository's ``scenarios/`` folder).
SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

#: Experimental key and pair rates: what a closed-form model may be expected to match.
RATE_FACTOR = 3.0


# ----------------------------------------------------------------------------- types


@dataclass(frozen=True)
class Source:
    """Where a published number comes from."""

    authors: str
    journal: str  # journal, book or document
    volume: str
    page: str  # page or article number
    year: int | None
    locator: str  # table, figure, equation or section

    def cite(self) -> str:
        """``Authors, Journal vol, page (year), locator`` with the empty parts left out."""
        where = " ".join(p for p in (self.journal, self.volume) if p)
        if self.page:
            where += f", {self.page}"
        if self.year is not None:
            where += f" ({self.year})"
        return ", ".join(p for p in (self.authors, where, self.locator) if p)


@dataclass(frozen=True)
class Tolerance:
    """How close qcalc's value must come to the published one.

    ``kind`` is one of
    - ``"absolute"``: |qcalc − published| ≤ value (in the case's unit);
    - ``"relative"``: |qcalc − published| ≤ value · |published|;
    - ``"factor"``: published / value ≤ qcalc ≤ published · value;
    - ``"at least"``: qcalc ≥ published (a published lower bound, "over 200 km");
    - ``"range"``: value ≤ qcalc ≤ upper (a published range, "10³–10⁴").
    """

    kind: str
    value: float = 0.0
    upper: float = math.inf

    def accepts(self, published: float, got: float) -> bool:
        if not math.isfinite(got):
            return False
        if self.kind == "absolute":
            return abs(got - published) <= self.value
        if self.kind == "relative":
            return abs(got - published) <= self.value * abs(published)
        if self.kind == "factor":
            return published / self.value <= got <= published * self.value
        if self.kind == "at least":
            return got >= published
        if self.kind == "range":
            return self.value <= got <= self.upper
        raise ValueError(f"tolerance kind is {self.kind!r}; expected one of {TOLERANCE_KINDS}")

    def text(self, unit: str) -> str:
        unit_text = f" {unit}" if unit else ""
        if self.kind == "absolute":
            return f"± {fmt(self.value)}{unit_text}"
        if self.kind == "relative":
            return f"± {fmt(self.value * 100)} %"
        if self.kind == "factor":
            return f"within × {fmt(self.value)}"
        if self.kind == "at least":
            return "≥ published"
        return f"{fmt(self.value)} to {fmt(self.upper)}{unit_text}"

    def deviation(self, published: float, got: float, unit: str) -> str:
        """qcalc against the published value, in the terms of this tolerance."""
        if not math.isfinite(got):
            return "—"
        if self.kind == "absolute":
            return f"{fmt(got - published, signed=True, digits=2)}{f' {unit}' if unit else ''}"
        if self.kind == "range":
            if got < self.value:
                return f"{fmt(got - self.value, signed=True, digits=2)} below the range"
            if got > self.upper:
                return f"{fmt(got - self.upper, signed=True, digits=2)} above the range"
            return "inside"
        if published == 0:
            return fmt(got - published, signed=True, digits=2)
        ratio = got / published
        if 0.5 <= ratio <= 2.0:
            return f"{fmt((ratio - 1.0) * 100, signed=True, digits=2)} %"
        return f"× {fmt(ratio, digits=3)}"


TOLERANCE_KINDS = ("absolute", "relative", "factor", "at least", "range")


@dataclass(frozen=True)
class Case:
    """One published number and qcalc's value for it."""

    id: str
    area: str
    quantity: str
    unit: str
    source: Source
    published: float
    compute: Callable[[], float]
    tolerance: Tolerance
    reason: str = ""  # why the case does not reproduce; empty when it does
    published_text: str = ""  # how the source states it, when not as one number
    note: str = ""  # assumptions and conditions, printed under the table

    @property
    def reproduces(self) -> bool:
        """Whether the case is expected to reproduce (no reason given against it)."""
        return not self.reason


@dataclass(frozen=True)
class Outcome:
    """A case run: qcalc's value and whether it is inside the tolerance."""

    case: Case
    value: float
    seconds: float

    @property
    def within(self) -> bool:
        return self.case.tolerance.accepts(self.case.published, self.value)


def fmt(x: float, *, signed: bool = False, digits: int = 5) -> str:
    """``digits`` significant figures; whole numbers below 10⁷ with thousands separators."""
    if not math.isfinite(x):
        return str(x)
    sign = "+" if signed and x > 0 else ""
    if x == int(x) and abs(x) < 1e7:
        return f"{sign}{int(x):,}"
    text = f"{x:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return sign + text


# ----------------------------------------------------------------------------- helpers


@cache
def _scenario(name: str) -> tuple[Any, dict[str, Any]]:
    """A bundled scenario and its evaluated demands by name (evaluated once)."""
    from qcalc.evaluate import evaluate_scenario
    from qcalc.scenario import load_scenario

    scenario = load_scenario(str(SCENARIOS / f"{name}.yaml"))
    return scenario, {r.demand.name: r for r in evaluate_scenario(scenario)}


def _demand(scenario: str, demand: str) -> Any:
    return _scenario(scenario)[1][demand]


def _float(value: Any) -> float:
    import numpy as np

    return float(np.min(np.asarray(value, dtype=float)))


def _last_positive(lengths: Any, rates: Any) -> float:
    """The longest length with a positive rate (the maximum distance on a grid)."""
    import numpy as np

    return float(np.asarray(lengths)[np.asarray(rates) > 0].max())


def _bisect_reach(has_key: Callable[[float], bool], low: float, high: float) -> float:
    """Largest length in [low, high] with key, to 0.5 km (has_key(low) and not high)."""
    if not has_key(low) or has_key(high):
        return math.nan
    while high - low > 0.5:
        middle = 0.5 * (low + high)
        if has_key(middle):
            low = middle
        else:
            high = middle
    return low


# -- fibre


def _fibre_transmittance_50km() -> float:
    from qcalc.physics.fibre import fibre_loss_db, transmittance_from_loss_db

    return float(transmittance_from_loss_db(fibre_loss_db(50.0, 0.2)))


def _fibre_delay_100km_us() -> float:
    from qcalc.physics.fibre import fibre_delay_s

    return float(fibre_delay_s(100.0, 1.4682)) * 1e6


def _dark_count_probability() -> float:
    from qcalc.physics.detectors import dark_count_probability

    return float(dark_count_probability(100.0, 1.0))


# -- QKD: Ma, Qi, Zhao, Lo (2005) with the GYS parameters of their Table I

_GYS = {"alpha_db_per_km": 0.21, "eta_bob": 0.045, "y0": 1.7e-6, "e_d": 0.033, "f": 1.22}


def _gys_eta(length_km: Any) -> Any:
    return 10 ** (-_GYS["alpha_db_per_km"] * length_km / 10) * _GYS["eta_bob"]


def _gys_reach(decoy: str) -> float:
    import numpy as np

    from qcalc.protocols.qkd import bb84_key_rate

    lengths = np.linspace(120.0, 150.0, 30001)
    rate, _ = bb84_key_rate(
        _gys_eta(lengths),
        _GYS["y0"],
        _GYS["e_d"],
        mean_photon_number=0.48,
        decoy=decoy,
        weak_decoy_photon_number=0.05,
        error_correction_efficiency=_GYS["f"],
    )
    return _last_positive(lengths, rate)


def _gys_optimal_mu_50km() -> float:
    from qcalc.protocols.qkd import bb84_key_rate

    _, mu = bb84_key_rate(
        _gys_eta(50.0), _GYS["y0"], _GYS["e_d"], error_correction_efficiency=_GYS["f"]
    )
    return float(mu)


def _shor_preskill_threshold() -> float:
    from scipy.optimize import brentq

    from qcalc.protocols.qkd import binary_entropy

    return float(brentq(lambda e: 1.0 - 2.0 * float(binary_entropy(e)), 0.05, 0.2, xtol=1e-12))


def _plob(eta: float) -> float:
    from qcalc.protocols.qkd import plob_bound

    return float(plob_bound(eta))


def _tgw(eta: float) -> float:
    from qcalc.protocols.qkd import tgw_bound

    return float(tgw_bound(eta))


# -- Lim et al. (2014): finite-key BB84 at a fixed post-processing block n_X

_LIM = {"eta_bob": 0.10, "p_dc": 6e-7, "p_ap": 0.04, "e_mis": 5e-3, "mu3": 2e-4}


def _lim_rate(length_km: float, key_detections: float, x: Any) -> Any:
    """Rate per pulse of Lim's protocol when the block holds ``key_detections`` in X."""
    import numpy as np

    from qcalc.protocols.finite_key import bb84_finite_key_rate

    x = np.asarray(x, dtype=float)
    eta = _LIM["eta_bob"] * 10.0 ** (-0.2 * length_km / 10.0)
    mu1 = x[..., 0]
    mu2 = _LIM["mu3"] + x[..., 1] * (mu1 - 2 * _LIM["mu3"])
    p1, q = x[..., 2], x[..., 4]
    p2 = x[..., 3] * (1 - p1)
    clicks = sum(
        p * (1 - (1 - 2 * _LIM["p_dc"]) * np.exp(-eta * mu)) * (1 + _LIM["p_ap"])
        for mu, p in ((mu1, p1), (mu2, p2), (_LIM["mu3"], 1 - p1 - p2))
    )
    return bb84_finite_key_rate(
        eta,
        2 * _LIM["p_dc"],
        _LIM["e_mis"],
        key_detections / (q**2 * clicks),
        signal_photon_number=mu1,
        decoy_photon_number=mu2,
        vacuum_photon_number=_LIM["mu3"],
        signal_probability=p1,
        decoy_probability=p2,
        key_basis_probability=q,
        afterpulse_probability=_LIM["p_ap"],
    )


def _lim_optimised(length_km: float, key_detections: float) -> float:
    """Maximise over {μ1, μ2, p1, p2, q_X} at fixed n_X, as Lim et al. do for Fig. 1."""
    import itertools

    import numpy as np

    from qcalc.protocols.finite_key import maximise_from_grid

    grid = np.array(
        list(
            itertools.product(
                (0.2, 0.35, 0.5, 0.7),
                (0.1, 0.2, 0.35, 0.5),
                (0.03, 0.1, 0.25, 0.5, 0.8),
                (0.2, 0.4, 0.6, 0.8),
                (0.3, 0.45, 0.6, 0.75, 0.9, 0.97),
            )
        )
    )
    rate, _ = maximise_from_grid(
        lambda x: np.asarray(_lim_rate(length_km, key_detections, x)),
        grid,
        ((0.05, 1.2), (0.02, 0.98), (0.01, 0.98), (0.02, 0.98), (0.05, 0.995)),
        method="Nelder-Mead",
    )
    return rate


def _lim_block_ratio() -> float:
    return _lim_optimised(100.0, 1e9) / _lim_optimised(100.0, 1e7)


# -- MDI and twin-field QKD


def _lcq_reach_km() -> float:
    """Reach of MDI-QKD with the Lo–Curty–Qi simulation parameters (relay at midpoint)."""
    from qcalc.protocols.mdi import optimise_mdi_qkd

    def has_key(total_km: float) -> bool:
        arm = 0.145 * 10.0 ** (-0.2 * total_km / 2.0 / 10.0)
        rate, _ = optimise_mdi_qkd(arm, arm, 3e-6, 0.015)
        return float(rate) > 0.0

    return _bisect_reach(has_key, 150.0, 300.0)


def _tf_509km_over_conditional_bound() -> float:
    """Key of the 509 km scenario over −log2(1 − η_channel η_detector) per pulse."""
    from qcalc.protocols.qkd import plob_bound

    scenario, results = _scenario("tf-qkd-509km")
    result = results["tf-key-509km"]
    eta_channel = math.prod(_float(h.channel_transmittance) for h in result.hops)
    eta_detector = float(scenario.nodes["charlie"].detector.efficiency)
    rate = next(p for p in result.end_to_end if p.protocol == "tf-qkd")
    conditional_bps = float(plob_bound(eta_channel * eta_detector)) * _float(
        rate.repetition_rate_hz
    )
    return _float(rate.key_rate_bps) / conditional_bps


def _diqkd_threshold() -> float:
    from scipy.optimize import brentq

    from qcalc.protocols.ebqkd import diqkd_key_rate_depolarised

    return float(
        brentq(lambda q: float(diqkd_key_rate_depolarised(q)) - 1e-15, 0.01, 0.1, xtol=1e-12)
    )


def _diqkd_tsirelson_bits() -> float:
    from qcalc.protocols.ebqkd import diqkd_key_rate

    return float(diqkd_key_rate(2.0 * math.sqrt(2.0), 0.0))


# -- satellite


def _slant_range_km() -> float:
    from qcalc.physics.satellite import slant_range_km

    return float(slant_range_km(500.0, 30.0))


def _gps_period_s() -> float:
    from qcalc.physics.satellite import orbital_period_s

    return float(orbital_period_s(26_559.7 - 6371.0))


def _kasten_young_horizon() -> float:
    from qcalc.physics.satellite import air_mass

    return float(air_mass(0.0, "kasten_young"))


def _hv57_r0_m() -> float:
    from qcalc.physics.satellite import zenith_fried_parameter_m

    return float(zenith_fried_parameter_m(500.0))


def _micius_loss_db(range_km: float) -> float:
    """Channel loss of the bundled Micius QKD downlink at a given slant range."""
    from qcalc.channels import satellite_budget
    from qcalc.physics.satellite import elevation_from_slant_range_deg

    scenario, _ = _scenario("micius-2017-qkd-downlink")
    link = scenario.links[0]
    altitude = scenario.nodes["micius"].altitude_km
    budget = satellite_budget(
        link,
        scenario,
        "micius",
        "xinglong",
        elevation_from_slant_range_deg(altitude, range_km),
    )
    return float(budget.channel_loss_db)


def _pass(scenario: str, demand: str) -> dict[str, Any]:
    passes = _demand(scenario, demand).passes
    return dict(next(iter(passes.values())))


# -- free space


def _kim_visibility_transmittance() -> float:
    from qcalc.physics.freespace import beer_lambert_transmittance, kim_attenuation_db_per_km

    return float(beer_lambert_transmittance(kim_attenuation_db_per_km(3.0, 550.0), 3.0))


def _kim_haze_db_per_km() -> float:
    from qcalc.physics.freespace import kim_attenuation_db_per_km

    return float(kim_attenuation_db_per_km(1.0, 1550.0))


def _aperture_of_radius_w() -> float:
    from qcalc.physics.freespace import aperture_collection

    return float(aperture_collection(0.5, 1.0))


def _fried_plane_wave_m() -> float:
    from qcalc.physics.freespace import fried_parameter_m

    return float(fried_parameter_m(1e-14, 1550.0, 1000.0, "plane"))


def _pointing_loss_db() -> float:
    from qcalc.physics.freespace import pointing_loss_db

    return float(pointing_loss_db(1.0, 1.0, 5e5, 1e-3))


def _night_sky_radiance() -> float:
    from qcalc.physics.freespace import SKY_RADIANCE_W_M2_SR_NM

    return float(SKY_RADIANCE_W_M2_SR_NM["night_moonless"])


# -- entanglement


def _chsh_threshold() -> float:
    from qcalc.protocols.entanglement import CHSH_FIDELITY_THRESHOLD

    return float(CHSH_FIDELITY_THRESHOLD)


def _tsirelson() -> float:
    from qcalc.protocols.entanglement import chsh_from_werner_fidelity

    return float(chsh_from_werner_fidelity(1.0))


def _werner_swap() -> float:
    from qcalc.protocols.entanglement import swap_werner_fidelity

    return float(swap_werner_fidelity(0.95, 0.9))


def _barrett_kok() -> float:
    from qcalc.protocols.entanglement import double_click_link

    return float(double_click_link(0.2, 0.2, detector_efficiency=0.5).success_probability)


def _bernien_visibility() -> float:
    from qcalc.protocols.entanglement import double_click_link

    return float(double_click_link(0.1, 0.1, visibility=0.9).fidelity)


def _humphreys(which: str) -> float:
    from qcalc.protocols.entanglement import single_click_link

    link = single_click_link(0.1, 1e-2, 1e-2)
    return float(link.success_probability if which == "p" else link.fidelity)


def _multiplexing() -> float:
    from qcalc.protocols.entanglement import multiplexed_success_probability

    return float(multiplexed_success_probability(0.5, 3))


def _micius_chsh() -> float:
    from qcalc.protocols.entanglement import chsh_from_werner_fidelity

    fidelity = _float(_demand("micius-2017-entanglement", "bell-pairs").fidelity)
    return float(chsh_from_werner_fidelity(fidelity))


# -- distillation


def _bbpssw(which: int, fidelity: float = 0.7) -> float:
    from qcalc.protocols.distillation import bbpssw_round

    return float(bbpssw_round(fidelity)[which])


def _dejmps_phi_plus() -> float:
    from qcalc.protocols.distillation import dejmps_round

    coefficients, _ = dejmps_round([0.8, 0.12, 0.05, 0.03])
    return float(coefficients[0])


# -- waiting times


def _two_segment_attempts() -> float:
    from qcalc.protocols.repeater import two_segment_waiting_time

    return float(two_segment_waiting_time(0.5, 0.5))


def _three_halves_limit() -> float:
    from qcalc.protocols.repeater import two_segment_waiting_time

    p, a = 1e-9, 0.4
    return float(two_segment_waiting_time(p, a)) * p * a


def _four_segment_limit() -> float:
    from qcalc.protocols.repeater import markov_waiting_time

    return float(markov_waiting_time(1e-9, 0.5, 4)) * 1e-9


def _sangouard_approx() -> float:
    from qcalc.protocols.repeater import approx_waiting_time

    return float(approx_waiting_time(0.1, 0.5, 8))


def _harmonic_limit() -> float:
    from qcalc.protocols.repeater import markov_waiting_time

    return float(markov_waiting_time(1e-9, 1.0, 8)) * 1e-9


_MEASURED_CHAIN = """\
qcalc: 1
hardware:
  memories:
    nv: {qubits: 2, coherence_time_s: 1.0e6}
defaults:
  memory: nv
nodes:
  alice: {}
  bob: {role: repeater, bsm_success_probability: 1.0}
  charlie: {}
links:
  - {ends: [alice, bob], elementary_pair_rate_hz: 10, elementary_fidelity: 0.9}
  - {ends: [bob, charlie], elementary_pair_rate_hz: 10, elementary_fidelity: 0.9}
demands:
  - {ends: [alice, charlie], application: entanglement}
"""


def _measured_chain_rate_hz() -> float:
    from qcalc.evaluate import evaluate_scenario
    from qcalc.scenario import parse_scenario

    result = evaluate_scenario(parse_scenario(_MEASURED_CHAIN, "<validation: measured chain>"))
    return _float(result[0].pair_rate_hz)


# -- fault tolerance and budgets


def _fowler_qubits() -> float:
    from qcalc.protocols.faulttolerance import physical_qubits_per_logical, surface_code_distance

    return float(physical_qubits_per_logical(surface_code_distance(1e-3, 1e-15, 0.0057)))


def _vqe(field: str) -> float:
    from qcalc.budget import vqe_budget

    budget = vqe_budget(qubits_per_qpu=50, depth=100, iterations=10_000, wall_time_s=3600.0)
    return float(getattr(budget, field))


# -- exact repeater chains


def _li2021(segments: int, cutoff: float, which: str) -> float:
    """The exact chain statistics that decide qcalc's verdicts, in the cases computed
    with the reference implementation of Li, Coopmans, Elkouss (2021)."""
    from qcalc.protocols.chain import chain_statistics
    from qcalc.protocols.entanglement import werner_parameter

    p, a, w0, t_coh = (0.1, 0.5, 0.98, 400.0) if segments == 8 else (0.2, 0.8, 0.99, 300.0)
    f0 = (1 + 3 * w0) / 4
    stats = chain_statistics(
        [p] * segments,
        link_fidelity=f0,
        swap_probability=a,
        node_decay_rate_per_attempt=1.0 / (2.0 * t_coh),
        cutoff_attempts=cutoff,
    )
    if which == "time":
        return float(stats.mean_attempts)
    return float(werner_parameter(stats.fidelity))


def _boaron_key_bps(km: str) -> float:
    return _float(_demand("boaron-2018-421km", f"key-{km}km").key_rate_bps)


# -- device-independent key


def _binned_diqkd_threshold() -> float:
    from scipy.optimize import brentq

    from qcalc.protocols.ebqkd import diqkd_binned_key_rate

    def key(eta: float) -> float:
        return float(diqkd_binned_key_rate(2 * math.sqrt(2), 0.0, eta * eta, (1 - eta) ** 2))

    return float(brentq(lambda e: key(e) - 1e-15, 0.85, 0.99, xtol=1e-12))


def _chsh_efficiency_bound() -> float:
    from qcalc.protocols.ebqkd import CHSH_EFFICIENCY_BOUND

    return float(CHSH_EFFICIENCY_BOUND)


# ----------------------------------------------------------------------------- sources

MA_2005 = ("X. Ma, B. Qi, Y. Zhao, H.-K. Lo", "Phys. Rev. A", "72", "012326", 2005)
LIAO_2017 = ("S.-K. Liao et al.", "Nature", "549", "43", 2017)
SHCHUKIN_2019 = ("E. Shchukin, F. Schmidt, P. van Loock", "Phys. Rev. A", "100", "032322", 2019)
SANGOUARD_2011 = (
    "N. Sangouard, C. Simon, H. de Riedmatten, N. Gisin",
    "Rev. Mod. Phys.",
    "83",
    "33",
    2011,
)
LI_2021 = (
    "B. Li, T. Coopmans, D. Elkouss",
    "IEEE Trans. Quantum Eng.",
    "2",
    "4100815",
    2021,
)
KIM_2001 = ("I. I. Kim, B. McArthur, E. Korevaar", "Proc. SPIE", "4214", "26", 2001)
BENNETT_1996 = ("C. H. Bennett et al.", "Phys. Rev. Lett.", "76", "722", 1996)
SPEC = ("qcalc product contract", "SPEC.md, `qcalc budget vqe`", "", "", None)


def _src(ref: tuple[str, str, str, str, int | None], locator: str) -> Source:
    return Source(*ref, locator)


def _abs(value: float) -> Tolerance:
    return Tolerance("absolute", value)


def _rel(value: float) -> Tolerance:
    return Tolerance("relative", value)


EXACT = _rel(1e-9)  # a closed form the paper evaluates; only rounding may differ

CASES: tuple[Case, ...] = (
    # ------------------------------------------------------------------ fibre
    Case(
        "fibre-loss-50km",
        "fibre",
        "transmittance of 50 km at 0.2 dB/km",
        "",
        Source(
            "G. P. Agrawal",
            "Fiber-Optic Communication Systems, 4th ed., Wiley",
            "",
            "",
            2010,
            "Eq. (2.5.2)",
        ),
        0.1,
        _fibre_transmittance_50km,
        EXACT,
    ),
    Case(
        "fibre-delay-smf28",
        "fibre",
        "one-way delay of 100 km of SMF-28 (n_g = 1.4682 at 1550 nm)",
        "µs",
        Source("Corning", "SMF-28 Ultra product information", "", "PI1424", 2014, "group index"),
        489.74,
        _fibre_delay_100km_us,
        _rel(1e-4),
    ),
    Case(
        "detector-dark-count",
        "fibre",
        "background yield Y0 of 100 Hz dark counts in a 1 ns window",
        "",
        _src(MA_2005, "Sec. II (Y0 ≈ Rτ)"),
        1e-7,
        _dark_count_probability,
        _rel(1e-6),
    ),
    # ------------------------------------------------------------------ QKD
    Case(
        "ma2005-infinite-decoy-reach",
        "QKD",
        "maximum distance, infinite decoys, μ = 0.48 (GYS)",
        "km",
        _src(MA_2005, "Table I"),
        142.05,
        lambda: _gys_reach("infinite"),
        _abs(0.5),
        note="GYS parameters of Ma et al.: 0.21 dB/km, η_Bob 4.5 %, Y0 1.7e-6, e_d 3.3 %, "
        "f 1.22, q 1/2.",
    ),
    Case(
        "ma2005-vacuum-weak-reach",
        "QKD",
        "maximum distance, vacuum + weak decoy ν = 0.05, μ = 0.48 (GYS)",
        "km",
        _src(MA_2005, "Sec. V"),
        140.6,
        lambda: _gys_reach("vacuum+weak"),
        _abs(0.5),
    ),
    Case(
        "ma2005-optimal-mu",
        "QKD",
        "optimal signal μ at 50 km, infinite decoys (GYS)",
        "photons",
        _src(MA_2005, "Sec. V"),
        0.48,
        _gys_optimal_mu_50km,
        _abs(0.02),
    ),
    Case(
        "shor-preskill-threshold",
        "QKD",
        "QBER at which 1 − 2h(Q) reaches 0",
        "",
        Source("P. W. Shor, J. Preskill", "Phys. Rev. Lett.", "85", "441", 2000, "main result"),
        0.11,
        _shor_preskill_threshold,
        _abs(1e-3),
    ),
    Case(
        "plob-bound",
        "QKD",
        "PLOB bound −log2(1 − η) at η = 0.1",
        "bits/use",
        Source(
            "S. Pirandola, R. Laurenza, C. Ottaviani, L. Banchi",
            "Nat. Commun.",
            "8",
            "15043",
            2017,
            "Eq. (1)",
        ),
        0.152003,
        lambda: _plob(0.1),
        _rel(1e-4),
    ),
    Case(
        "tgw-bound",
        "QKD",
        "TGW bound log2((1 + η)/(1 − η)) at η = 0.1",
        "bits/use",
        Source(
            "M. Takeoka, S. Guha, M. M. Wilde", "Nat. Commun.", "5", "5235", 2014, "main result"
        ),
        0.289507,
        lambda: _tgw(0.1),
        _rel(1e-4),
    ),
    Case(
        "lim2014-block-size-ratio",
        "QKD",
        "finite key at 100 km: rate with n_X = 1e9 over rate with n_X = 1e7",
        "",
        Source(
            "C. C. W. Lim, M. Curty, N. Walenta, F. Xu, H. Zbinden",
            "Phys. Rev. A",
            "89",
            "022307",
            2014,
            "text on Fig. 1",
        ),
        1.75,
        _lim_block_ratio,
        _rel(0.05),
        note="slow case (about 1 s): two five-parameter Nelder–Mead optimisations. ε_sec is "
        "fixed at 1e-10 (the paper sets κℓ with κ = 1e-15).",
    ),
    Case(
        "lcq2012-mdi-reach",
        "QKD",
        "MDI-QKD reach, relay at the midpoint (η_d 14.5 %, p_d 3e-6, e_d 1.5 %)",
        "km",
        Source("H.-K. Lo, M. Curty, B. Qi", "Phys. Rev. Lett.", "108", "130503", 2012, "abstract"),
        200.0,
        _lcq_reach_km,
        Tolerance("at least"),
        published_text="over 200",
    ),
    Case(
        "yin2016-mdi-404km-rate",
        "QKD",
        "MDI-QKD key rate over 404 km (scenarios/mdi-qkd-404km.yaml)",
        "bit/s",
        Source("H.-L. Yin et al.", "Phys. Rev. Lett.", "117", "190501", 2016, "main text"),
        3.2e-4,
        lambda: _float(_demand("mdi-qkd-404km", "mdi-key").key_rate_bps),
        Tolerance("factor", 2.0),
        note="finite-key four-intensity MDI-QKD (scenarios/mdi-qkd-404km.yaml); the total "
        "number of pulses is not in the text qcalc could read and is assumed 1e15 (about "
        "154 days at 75 MHz); the key is 0 below 8e14 pulses and 2.2e-3 bit/s at 2e15.",
    ),
    Case(
        "chen2020-tf-509km-over-bound",
        "QKD",
        "TF-QKD key over 509 km ÷ the repeaterless bound with the same detection loss "
        "(scenarios/tf-qkd-509km.yaml)",
        "",
        Source("J.-P. Chen et al.", "Phys. Rev. Lett.", "124", "070501", 2020, "abstract"),
        5.0,
        _tf_509km_over_conditional_bound,
        Tolerance("at least"),
        published_text="more than 5",
        note="device numbers of the 509 km scenario are assumptions (see its description); "
        "the conditional bound is −log2(1 − η_channel η_detector) per pulse.",
    ),
    Case(
        "diqkd-threshold",
        "QKD",
        "QBER at which DIQKD key vanishes (depolarising noise, S = 2√2(1 − 2Q))",
        "",
        Source(
            "S. Pironio, A. Acín, N. Brunner, N. Gisin, S. Massar, V. Scarani",
            "New J. Phys.",
            "11",
            "045021",
            2009,
            "key rate under depolarising noise",
        ),
        0.071,
        _diqkd_threshold,
        _abs(1e-3),
    ),
    Case(
        "diqkd-tsirelson",
        "QKD",
        "DIQKD key per round at S = 2√2, Q = 0",
        "bits/round",
        Source(
            "A. Acín, N. Brunner, N. Gisin, S. Massar, S. Pironio, V. Scarani",
            "Phys. Rev. Lett.",
            "98",
            "230501",
            2007,
            "key rate from the CHSH value",
        ),
        1.0,
        _diqkd_tsirelson_bits,
        _abs(1e-9),
    ),
    Case(
        "chsh-efficiency-bound",
        "QKD",
        "detection efficiency above which a maximally entangled pair violates CHSH with "
        "no-clicks counted as outcomes",
        "",
        Source("A. Garg, N. D. Mermin", "Phys. Rev. D", "35", "3831", 1987, "main result"),
        0.828,
        _chsh_efficiency_bound,
        _abs(1e-3),
        published_text="82.8 %",
    ),
    Case(
        "diqkd-binned-threshold",
        "QKD",
        "detection efficiency above which CHSH-based DIQKD gives key with no-clicks binned",
        "",
        Source("X. Ma, N. Lütkenhaus", "Quantum Inf. Comput.", "12", "203", 2012, "abstract"),
        0.924,
        _binned_diqkd_threshold,
        _abs(1e-3),
        published_text="92.4 %",
    ),
    *(
        Case(
            f"boaron2018-{km}km-key",
            "QKD",
            f"one-decoy finite-key BB84 key over {km} km (scenarios/boaron-2018-421km.yaml)",
            "bit/s",
            Source("A. Boaron et al.", "Phys. Rev. Lett.", "121", "190502", 2018, "Table I"),
            published,
            functools.partial(_boaron_key_bps, km),
            Tolerance("factor", 2.0),
            reason=reason,
            note="assumed: detector efficiency 20 %, background yield 8e-11 (fitted to the "
            "published 1.0 % QBER at 405 km), e_d 0.35 %, f 1.16; the three-state protocol "
            "is evaluated as BB84"
            if km == "251.7"
            else "",
        )
        for km, published, reason in (
            ("251.7", 4900.0, ""),
            ("302.1", 790.0, ""),
            ("354.5", 62.0, ""),
            ("404.9", 6.5, ""),
            (
                "421.1",
                0.25,
                "unknown published inputs: the acquisition time of the 421 km block, its "
                "X-basis error and the basis and intensity probabilities used there; the "
                "published key falls 26× from 405 km for 2.6 dB more loss, qcalc's 3.2×.",
            ),
        )
    ),
    # ------------------------------------------------------------------ satellite
    Case(
        "slant-range-500km-30deg",
        "satellite",
        "slant range to 500 km altitude at 30° elevation",
        "km",
        Source(
            "J. R. Wertz, W. J. Larson (eds.)",
            "Space Mission Analysis and Design, 3rd ed., Microcosm",
            "",
            "",
            1999,
            "slant-range geometry (by hand: 909.42 km)",
        ),
        909.4,
        _slant_range_km,
        _abs(0.5),
    ),
    Case(
        "gps-orbital-period",
        "satellite",
        "orbital period of GPS (semi-major axis 26,559.7 km)",
        "s",
        Source(
            "US Space Force",
            "IS-GPS-200 (Navstar GPS interface specification)",
            "",
            "",
            None,
            "nominal orbit, half a sidereal day",
        ),
        43_082.0,
        _gps_period_s,
        _rel(2e-4),
    ),
    Case(
        "kasten-young-horizon",
        "satellite",
        "relative optical air mass at the horizon",
        "",
        Source("F. Kasten, A. T. Young", "Appl. Opt.", "28", "4735", 1989, "Table"),
        38.09,
        _kasten_young_horizon,
        _rel(0.01),
        note="the Kasten–Young formula gives 37.92 at 0°, the paper's table 38.09.",
    ),
    Case(
        "hv57-fried-parameter",
        "satellite",
        "zenith Fried parameter r0 of the HV 5/7 profile at 500 nm",
        "m",
        Source("G. C. Valley", "Appl. Opt.", "19", "574", 1980, "HV 5/7 model"),
        0.05,
        _hv57_r0_m,
        _rel(0.05),
    ),
    Case(
        "micius-loss-645km",
        "satellite",
        "Micius downlink channel loss at 645 km (scenarios/micius-2017-qkd-downlink.yaml, "
        "receiver efficiency and detectors excluded)",
        "dB",
        _src(LIAO_2017, "main text, link loss against distance"),
        22.0,
        lambda: _micius_loss_db(645.0),
        _abs(3.0),
        note="Micius optics as published (300 mm, 848.6 nm, 1 m receiver) with the transmit "
        "beam clipped by its aperture; assumed: 10 µrad read as the 1/e² half-angle, zenith "
        "transmittance 0.5; the published 22 and 35 dB are read as channel loss.",
    ),
    Case(
        "micius-loss-1200km",
        "satellite",
        "Micius downlink channel loss at 1,200 km (receiver efficiency and detectors excluded)",
        "dB",
        _src(LIAO_2017, "main text, link loss against distance"),
        35.0,
        lambda: _micius_loss_db(1200.0),
        _abs(3.0),
    ),
    Case(
        "micius-pass-duration",
        "satellite",
        "Micius pass above 20° elevation, peak 49° (scenarios/micius-2017-qkd-downlink.yaml)",
        "s",
        _src(LIAO_2017, "main text"),
        273.0,
        lambda: float(_pass("micius-2017-qkd-downlink", "pass-key")["pass_duration_s"]),
        _rel(0.01),
    ),
    Case(
        "micius-qkd-pass-key",
        "satellite",
        "Micius decoy-BB84 key rate over one pass (scenarios/micius-2017-qkd-downlink.yaml)",
        "bit/s",
        _src(LIAO_2017, "main text (300,939 bits in 273 s)"),
        1.1e3,
        lambda: _float(_demand("micius-2017-qkd-downlink", "pass-key").key_rate_bps),
        Tolerance("factor", 2.0),
        note="finite-key decoy BB84 (Lim et al. 2014) with the whole pass as one block and "
        "intensity probabilities 0.5/0.25/0.25; assumed: Xinglong receiver efficiency 0.15 "
        "(from the published link loss), divergence 10 µrad half-angle.",
    ),
    Case(
        "micius-graz-relay-key",
        "satellite",
        "Micius trusted-relay key per passage, Graz bottleneck (scenarios/micius-graz-2018.yaml)",
        "bit/s",
        Source("S.-K. Liao et al.", "Phys. Rev. Lett.", "120", "030501", 2018, "abstract"),
        1.0e3,
        lambda: _float(_demand("micius-graz-2018", "xinglong-graz").key_rate_bps),
        Tolerance("factor", 2.0),
        reason="unknown published inputs: the Graz receiver's aperture and efficiency "
        "(assumed 0.5 m and 0.15) and the Graz pass geometry (assumed 20°–49°); with these "
        "the finite key of the Graz pass is 0 (its asymptotic key about 0.44 kbit/s).",
        published_text="~1e3",
    ),
    # ------------------------------------------------------------------ free space
    Case(
        "kim-visibility",
        "free space",
        "transmittance over one visibility length at 550 nm (V = 3 km)",
        "",
        _src(KIM_2001, "visibility definition, 2 % contrast"),
        0.02,
        _kim_visibility_transmittance,
        _rel(3e-3),
    ),
    Case(
        "kim-haze-1550nm",
        "free space",
        "attenuation in haze, V = 1 km, 1550 nm (q = 0.5)",
        "dB/km",
        _src(KIM_2001, "β(λ, V) with q by band, evaluated by hand"),
        10.1155,
        _kim_haze_db_per_km,
        _abs(1e-3),
    ),
    Case(
        "siegman-aperture",
        "free space",
        "power through an aperture of radius w (1 − e⁻²)",
        "",
        Source("A. E. Siegman", "Lasers, University Science Books", "", "", 1986, "Sec. 17.1"),
        0.8647,
        _aperture_of_radius_w,
        _abs(1e-4),
    ),
    Case(
        "fried-plane-wave",
        "free space",
        "plane-wave r0 for Cn² = 1e-14, 1550 nm, 1 km (evaluated by hand)",
        "m",
        Source("D. L. Fried", "J. Opt. Soc. Am.", "56", "1372", 1966, "definition of r0"),
        0.0785,
        _fried_plane_wave_m,
        _abs(5e-4),
    ),
    Case(
        "toyoshima-pointing",
        "free space",
        "pointing loss when 4σ²L² equals w² (mean intensity halves)",
        "dB",
        Source(
            "M. Toyoshima, T. Jono, K. Nakagawa, A. Yamamoto",
            "J. Opt. Soc. Am. A",
            "19",
            "567",
            2002,
            "mean intensity under pointing jitter",
        ),
        3.0103,
        _pointing_loss_db,
        _abs(1e-3),
    ),
    Case(
        "night-sky-radiance",
        "free space",
        "moonless night sky of 20.0 mag/arcsec² (I band)",
        "W m⁻² sr⁻¹ nm⁻¹",
        Source(
            "M. S. Bessell, F. Castelli, B. Plez",
            "Astron. Astrophys.",
            "333",
            "231",
            1998,
            "I-band zero point 1.126e-11 W m⁻² nm⁻¹",
        ),
        4.79e-9,
        _night_sky_radiance,
        _rel(2e-3),
    ),
    # ------------------------------------------------------------------ entanglement
    Case(
        "chsh-fidelity-threshold",
        "entanglement",
        "Werner fidelity above which CHSH is violated",
        "",
        Source(
            "R. Horodecki, P. Horodecki, M. Horodecki",
            "Phys. Lett. A",
            "200",
            "340",
            1995,
            "criterion for Werner states",
        ),
        0.78,
        _chsh_threshold,
        _abs(1e-3),
    ),
    Case(
        "tsirelson-bound",
        "entanglement",
        "CHSH value of a perfect Bell pair",
        "",
        Source("B. S. Cirel'son", "Lett. Math. Phys.", "4", "93", 1980, "main result"),
        2.0 * math.sqrt(2.0),
        _tsirelson,
        EXACT,
    ),
    Case(
        "werner-swap",
        "entanglement",
        "fidelity after swapping Werner pairs F = 0.95 and 0.9",
        "",
        Source("W. Dür, H. J. Briegel", "Rep. Prog. Phys.", "70", "1381", 2007, "Sec. 6"),
        0.95 * 0.9 + 0.05 * 0.1 / 3,
        _werner_swap,
        EXACT,
    ),
    Case(
        "barrett-kok-success",
        "entanglement",
        "double-click herald probability η²/2 at η = 0.2 × 0.5",
        "",
        Source("S. D. Barrett, P. Kok", "Phys. Rev. A", "71", "060310", 2005, "herald probability"),
        0.005,
        _barrett_kok,
        EXACT,
    ),
    Case(
        "bernien-visibility",
        "entanglement",
        "double-click fidelity (1 + V)/2 at two-photon visibility V = 0.9",
        "",
        Source("H. Bernien et al.", "Nature", "497", "86", 2013, "Methods"),
        0.95,
        _bernien_visibility,
        EXACT,
    ),
    Case(
        "humphreys-single-click-rate",
        "entanglement",
        "single-click herald probability 2αη at α = 0.1, η = 1e-2",
        "",
        Source("P. C. Humphreys et al.", "Nature", "558", "268", 2018, "Methods"),
        2e-3,
        lambda: _humphreys("p"),
        EXACT,
    ),
    Case(
        "humphreys-single-click-fidelity",
        "entanglement",
        "single-click fidelity 1 − α at α = 0.1",
        "",
        Source("P. C. Humphreys et al.", "Nature", "558", "268", 2018, "Methods"),
        0.9,
        lambda: _humphreys("F"),
        EXACT,
    ),
    Case(
        "collins-multiplexing",
        "entanglement",
        "success of 3 multiplexed modes at p = 1/2, 1 − (1 − p)^M",
        "",
        Source(
            "O. A. Collins, S. D. Jenkins, A. Kuzmich, T. A. B. Kennedy",
            "Phys. Rev. Lett.",
            "98",
            "060502",
            2007,
            "multiplexed success probability",
        ),
        0.875,
        _multiplexing,
        EXACT,
    ),
    Case(
        "micius-entanglement-pair-rate",
        "entanglement",
        "Micius pairs between Delingha and Lijiang (scenarios/micius-2017-entanglement.yaml)",
        "pairs/s",
        Source("J. Yin et al.", "Science", "356", "1140", 2017, "main text"),
        1.0,
        lambda: _float(_demand("micius-2017-entanglement", "bell-pairs").pair_rate_hz),
        Tolerance("factor", RATE_FACTOR),
        published_text="about 1",
        note="transmitter divergence, zenith transmittance, receiver efficiency and background "
        "are assumptions of the scenario (see its description).",
    ),
    Case(
        "micius-entanglement-chsh",
        "entanglement",
        "CHSH S of the Micius pairs, read as Werner states",
        "",
        Source("J. Yin et al.", "Science", "356", "1140", 2017, "main text"),
        2.37,
        _micius_chsh,
        _abs(0.09),
        published_text="2.37 ± 0.09",
    ),
    # ------------------------------------------------------------------ distillation
    Case(
        "bbpssw-fidelity",
        "distillation",
        "BBPSSW output fidelity from F = 0.7 (25/34)",
        "",
        _src(BENNETT_1996, "recurrence map"),
        25 / 34,
        lambda: _bbpssw(0),
        EXACT,
    ),
    Case(
        "bbpssw-success",
        "distillation",
        "BBPSSW success probability from F = 0.7",
        "",
        _src(BENNETT_1996, "recurrence map"),
        0.68,
        lambda: _bbpssw(1),
        EXACT,
    ),
    Case(
        "bbpssw-fixed-point",
        "distillation",
        "BBPSSW output from F = 1/2 (fixed point)",
        "",
        _src(BENNETT_1996, "fixed points F = 1/2, 1"),
        0.5,
        lambda: _bbpssw(0, 0.5),
        EXACT,
    ),
    Case(
        "dejmps-fidelity",
        "distillation",
        "DEJMPS A' = (A² + B²)/N from (A, B, C, D) = (0.8, 0.12, 0.05, 0.03)",
        "",
        Source("D. Deutsch et al.", "Phys. Rev. Lett.", "77", "2818", 1996, "recurrence map"),
        (0.8**2 + 0.12**2) / (0.92**2 + 0.08**2),
        _dejmps_phi_plus,
        EXACT,
    ),
    # ------------------------------------------------------------------ waiting times
    Case(
        "shchukin-two-segments",
        "waiting time",
        "mean attempts of two segments, p = a = 1/2: (3 − 2p)/(a p (2 − p))",
        "attempts",
        _src(SHCHUKIN_2019, "two-segment formula"),
        16 / 3,
        _two_segment_attempts,
        EXACT,
    ),
    Case(
        "sangouard-three-halves",
        "waiting time",
        "two-segment waiting time × p a as p → 0",
        "",
        _src(SANGOUARD_2011, "Sec. III.B"),
        1.5,
        _three_halves_limit,
        _rel(1e-6),
    ),
    Case(
        "shchukin-four-segments",
        "waiting time",
        "four-segment waiting time × p as p → 0, a = 1/2: (54 − 4a)/(24a²)",
        "",
        _src(SHCHUKIN_2019, "Eq. (64) of arXiv:1710.06214"),
        26 / 3,
        _four_segment_limit,
        _rel(1e-6),
    ),
    Case(
        "sangouard-approximation",
        "waiting time",
        "(3/2)^n / (p a^n) for 8 segments, p = 0.1, a = 1/2",
        "attempts",
        _src(SANGOUARD_2011, "Sec. III.B"),
        270.0,
        _sangouard_approx,
        EXACT,
    ),
    Case(
        "eisenberg-harmonic",
        "waiting time",
        "8 segments, deterministic swaps: waiting time × p as p → 0 (H_8)",
        "",
        Source(
            "B. Eisenberg",
            "Stat. Probab. Lett.",
            "78",
            "135",
            2008,
            "maximum of geometric variables",
        ),
        sum(1 / k for k in range(1, 9)),
        _harmonic_limit,
        _rel(1e-6),
    ),
    Case(
        "measured-chain-rate",
        "waiting time",
        "pairs from two measured 10 Hz links swapped at a repeater (scenario)",
        "pairs/s",
        _src(SANGOUARD_2011, "Sec. III.B (3/(2p) attempts)"),
        10 / 1.5,
        _measured_chain_rate_hz,
        _rel(1e-5),
        note="the exact chain statistics coarse-grain the measured links' continuous time "
        "(p = 1e-6 per attempt) to steps of k attempts with k p ≤ 0.01, keeping mean times "
        "(an error of second order in k p).",
    ),
    *(
        Case(
            f"li2021-{m}-segments-cutoff-{what}",
            "repeater chain",
            f"{m} segments, cut-off {c} attempts (p {p}, a {a}, w0 {w0}, T {t} attempts): "
            + ("mean delivery time" if what == "time" else "mean Werner parameter"),
            "attempts" if what == "time" else "",
            Source(
                *LI_2021,
                "computed with the authors' reference implementation (GitHub "
                "BoxiLi/repeater-cut-off-optimization, commit c9245ed)",
            ),
            value,
            functools.partial(_li2021, m, c, what),
            _rel(1e-8),  # the reference values are quoted to 8–10 figures
        )
        for m, c, p, a, w0, t, what, value in (
            (8, 40, 0.1, 0.5, 0.98, 400, "time", 436.5753047),
            (8, 40, 0.1, 0.5, 0.98, 400, "werner", 0.69094135),
            (16, 30, 0.2, 0.8, 0.99, 300, "time", 52.61314267),
            (16, 30, 0.2, 0.8, 0.99, 300, "werner", 0.63075848),
        )
    ),
    # ------------------------------------------------------------------ fault tolerance
    Case(
        "fowler-surface-code",
        "fault tolerance",
        "physical qubits per logical qubit, p = 1e-3, P_L = 1e-15 (threshold 0.57 %)",
        "qubits",
        Source(
            "A. G. Fowler, M. Mariantoni, J. M. Martinis, A. N. Cleland",
            "Phys. Rev. A",
            "86",
            "032324",
            2012,
            "Sec. I and Eq. (11)",
        ),
        10**3.5,
        _fowler_qubits,
        Tolerance("range", 1e3, 1e4),
        published_text="about 10³–10⁴",
    ),
    # ------------------------------------------------------------------ worked example
    Case(
        "vqe-pairs-per-iteration",
        "worked example",
        "distributed VQE: Bell pairs per iteration (50 qubits/QPU, depth 100)",
        "pairs",
        _src(SPEC, "worked example"),
        2_500,
        lambda: _vqe("bell_pairs_per_iteration"),
        _abs(0.0),
    ),
    Case(
        "vqe-pairs-total",
        "worked example",
        "distributed VQE: Bell pairs in total (1e4 iterations)",
        "pairs",
        _src(SPEC, "worked example"),
        25_000_000,
        lambda: _vqe("bell_pairs_total"),
        _abs(0.0),
    ),
    Case(
        "vqe-rate",
        "worked example",
        "distributed VQE: Bell-pair rate to finish in 1 h",
        "pairs/s",
        _src(SPEC, "worked example"),
        6944.4,
        lambda: _vqe("required_rate_hz"),
        _rel(1e-4),
        published_text="about 6,944",
    ),
    Case(
        "vqe-stage",
        "worked example",
        "distributed VQE: roadmap stage it needs",
        "",
        _src(SPEC, "worked example"),
        5,
        lambda: _vqe("required_stage"),
        _abs(0.0),
    ),
)


# ----------------------------------------------------------------------------- running


def run_case(case: Case) -> Outcome:
    """Compute one case's value and time it (an error in the model propagates)."""
    start = time.perf_counter()
    value = float(case.compute())
    return Outcome(case, value, time.perf_counter() - start)


@cache
def run_all() -> tuple[Outcome, ...]:
    """Every case, in table order (computed once per process)."""
    return tuple(run_case(case) for case in CASES)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(outcomes: Sequence[Outcome]) -> str:
    """The validation table as markdown, with a summary and the notes under it."""
    reproduced = sum(o.case.reproduces for o in outcomes)
    lines = [
        "# Validation against published results",
        "",
        "Generated by `python -m qcalc.validation --write docs/validation.md`; "
        "`tests/test_validation.py` fails when this file is stale, when a case marked "
        "reproduced falls outside its tolerance, or when a case marked not reproduced "
        "comes inside it.",
        "",
        f"{len(outcomes)} cases: {reproduced} reproduce, {len(outcomes) - reproduced} do not "
        "(the reason is in the last column). Tolerances: ± absolute in the quantity's unit, "
        f"± % relative, within × k a factor either way (× {fmt(RATE_FACTOR)} for measured key "
        "and pair rates), ≥ published for a published lower bound.",
        "",
        "| id | area | quantity | source | published | qcalc | deviation | tolerance | reproduced |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        c = o.case
        unit = f" {c.unit}" if c.unit else ""
        published = (c.published_text or fmt(c.published)) + unit
        verdict = "yes" if c.reproduces else f"no: {c.reason}"
        row = [
            f"`{c.id}`",
            c.area,
            c.quantity,
            c.source.cite(),
            published,
            fmt(o.value) + unit,
            c.tolerance.deviation(c.published, o.value, c.unit),
            c.tolerance.text(c.unit),
            verdict,
        ]
        lines.append("| " + " | ".join(_cell(x) for x in row) + " |")
    notes = [o.case for o in outcomes if o.case.note]
    if notes:
        lines += ["", "## Notes", ""]
        lines += [f"- `{c.id}`: {c.note}" for c in notes]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m qcalc.validation",
        description="Print the published-results validation table as markdown.",
    )
    parser.add_argument("--write", metavar="FILE", help="write the table to FILE")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    outcomes = run_all()
    text = markdown(outcomes)
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
        print(f"wrote {args.write}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    wrong = [o.case.id for o in outcomes if o.within != o.case.reproduces]
    print(
        f"{len(outcomes)} cases in {time.perf_counter() - start:.1f} s"
        + (f"; verdict changed: {', '.join(wrong)}" if wrong else ""),
        file=sys.stderr,
    )
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
