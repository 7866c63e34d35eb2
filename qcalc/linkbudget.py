"""Loss budgets of links: a list of named terms in dB, summed explicitly.

Every term has a name, a value in dB (a loss, ≥ 0), and the source of its model, so the
``links`` report can show where the photons go (the pylink idea of a budget).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from qcalc.physics.fibre import (
    fibre_delay_s,
    fibre_loss_db,
    loss_db_from_transmittance,
    transmittance_from_loss_db,
)
from qcalc.scenario import Detector, Link, Node, Scenario

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class BudgetTerm:
    """One named loss of a link budget."""

    name: str
    loss_db: Any  # float or numpy array, ≥ 0
    source: str
    receiver: bool = False  # a device term at the receiving end, not the channel


@dataclass(frozen=True)
class Step:
    """One step of a derivation for ``--explain``: formula, inputs with units, result."""

    title: str
    formula: str
    inputs: tuple[tuple[str, str], ...]
    result: str


@dataclass(frozen=True)
class LinkBudget:
    """The evaluated budget of one link, from its sender to its receiver."""

    link: Link
    sender: str
    receiver: str
    length_km: Any
    delay_s: Any
    terms: tuple[BudgetTerm, ...]
    steps: tuple[Step, ...] = ()
    notes: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def measured_only(self) -> bool:
        """A measured entanglement link with no length: it has no channel to send light on."""
        return self.link.length_km is None and self.link.channel != "satellite"

    @property
    def pass_time_s(self) -> FloatArray | None:
        """Time grid of a whole-pass budget, None for a budget at one instant. [s]"""
        times = self.extra.get("pass_time_s")
        return None if times is None else np.asarray(times, dtype=float)

    @property
    def background_yield(self) -> Any:
        """Background photons per detection window the link adds at its receiver: the
        link's ``background_photons_per_window`` plus the sky's, where it gives one."""
        value = self.link.background_photons_per_window
        given = 0.0 if value is None else float(value)
        return given + self.extra.get("sky_photons_per_window", 0.0)

    @property
    def channel_loss_db(self) -> FloatArray:
        """Sum of the channel terms (receiver devices excluded). [dB]"""
        return _sum_db(t.loss_db for t in self.terms if not t.receiver)

    @property
    def loss_db(self) -> FloatArray:
        """Sum of every term, the receiver's detector included. [dB]"""
        return _sum_db(t.loss_db for t in self.terms)

    @property
    def channel_transmittance(self) -> FloatArray:
        return transmittance_from_loss_db(self.channel_loss_db)

    @property
    def transmittance(self) -> FloatArray:
        return transmittance_from_loss_db(self.loss_db)


def _sum_db(values: Any) -> FloatArray:
    total: FloatArray = np.asarray(0.0)
    for value in values:
        total = np.asarray(total + np.asarray(value, dtype=float), dtype=float)
    return total


def detector_yield(detector: Detector) -> Any:
    """Background yield Y0 per window of a detector profile (0 when none is given)."""
    from qcalc.physics.detectors import dark_count_probability

    if detector.dark_count_probability is not None:
        return detector.dark_count_probability
    if detector.dark_count_rate_hz is not None and detector.gate_window_ns is not None:
        return dark_count_probability(detector.dark_count_rate_hz, detector.gate_window_ns)
    return 0.0


def orient(link: Link, nodes: dict[str, Node] | Any) -> tuple[str, str]:
    """(sender, receiver) of a link standing alone.

    A satellite link is sent by the satellite on a downlink and by the ground on an
    uplink; otherwise the receiver is the end with a detector (the second end if both
    or neither have one).
    """
    a, b = link.ends
    if link.channel == "satellite":
        sat = a if nodes[a].altitude_km is not None else b
        ground = b if sat == a else a
        return (sat, ground) if link.direction == "downlink" else (ground, sat)
    if nodes[a].detector is not None and nodes[b].detector is None:
        return b, a
    return a, b


def fmt_value(value: Any, unit: str = "") -> str:
    """A number (or an array's range) for people: :func:`qcalc.units.fmt`."""
    from qcalc.units import fmt

    return fmt(value, unit)


def fibre_budget(link: Link, sender: str, receiver: str) -> LinkBudget:
    """Budget of a fibre link: attenuation α·L plus lumped extra losses.

    A measured link may leave out its length; its channel then counts as 0 km (its pairs
    come from the measured rate, and nothing else is sent over it).
    """
    length = 0.0 if link.length_km is None else link.length_km
    attenuation = fibre_loss_db(length, link.attenuation_db_per_km)
    terms = [BudgetTerm("fibre attenuation", attenuation, "α·L, Agrawal (2010) Eq. (2.5.2)")]
    if np.any(np.asarray(link.extra_loss_db) > 0):
        terms.append(BudgetTerm("connectors and splices", link.extra_loss_db, "extra_loss_db"))
    total = attenuation + np.asarray(link.extra_loss_db, dtype=float)
    steps = (
        Step(
            f"fibre loss of {link.name}",
            "loss = α · L + extra",
            (
                ("α", fmt_value(link.attenuation_db_per_km, "dB/km")),
                ("L", fmt_value(length, "km")),
                ("extra", fmt_value(link.extra_loss_db, "dB")),
            ),
            fmt_value(total, "dB"),
        ),
    )
    return LinkBudget(
        link=link,
        sender=sender,
        receiver=receiver,
        length_km=np.asarray(length, dtype=float),
        delay_s=fibre_delay_s(length),
        notes=() if link.length_km is not None else ("no length_km: a measured link",),
        terms=tuple(terms),
        steps=steps,
    )


def link_budget(
    link: Link, scenario: Scenario, sender: str | None = None, *, over_pass: bool = False
) -> LinkBudget:
    """The loss budget of ``link`` sent from ``sender`` (default: see :func:`orient`).

    A satellite link is always oriented by its ``direction``: who sends is physics there,
    not the order of a route. With ``over_pass`` a link given a ``min_elevation_deg`` is
    evaluated on a time grid over its whole pass (see :func:`qcalc.channels.pass_budget`);
    otherwise at the top of the pass.

    The receiving node's detector efficiency is added as the term "detector" so that the
    budget's total is what reaches a click; ``channel_loss_db`` leaves it out (it is the
    channel the PLOB bound is about).
    """
    if sender is None or link.channel == "satellite":
        sender, receiver = orient(link, scenario.nodes)
    else:
        receiver = link.ends[1] if sender == link.ends[0] else link.ends[0]
    if link.channel == "fibre":
        budget = fibre_budget(link, sender, receiver)
    elif over_pass and link.channel == "satellite" and link.min_elevation_deg is not None:
        from qcalc.channels import pass_budget

        budget = pass_budget(link, scenario, sender, receiver)
    else:
        from qcalc.channels import optical_budget

        budget = optical_budget(link, scenario, sender, receiver)
    detector = scenario.nodes[receiver].detector
    if detector is None:
        return budget
    detector_db = loss_db_from_transmittance(detector.efficiency)
    step = Step(
        f"detector of {receiver}",
        "loss = −10 log10 η_det",
        (("η_det", fmt_value(detector.efficiency)),),
        fmt_value(detector_db, "dB"),
    )
    term = BudgetTerm(
        "detector", detector_db, f"efficiency of {receiver}'s detector", receiver=True
    )
    return LinkBudget(
        **{**budget.__dict__, "terms": (*budget.terms, term), "steps": (*budget.steps, step)}
    )
