"""Loss budgets of links: a list of named terms in dB, summed explicitly.

Every term has a name, a value in dB (a loss, ≥ 0), and the source of its model, so the
``links`` report can show where the photons go (the pylink idea of a budget). Each budget
carries its derivation as :class:`qcalc.explain.Step` objects for ``--explain``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qcalc.channels import optical_budget, pass_budget
from qcalc.explain import Step
from qcalc.lossbudget import BudgetTerm, LinkBudget, detector_yield
from qcalc.physics.fibre import (
    fibre_delay_s,
    fibre_loss_db,
    loss_db_from_transmittance,
)
from qcalc.scenario import Link, Node, Scenario
from qcalc.units import fmt

__all__ = ["BudgetTerm", "LinkBudget", "detector_yield", "fibre_budget", "link_budget", "orient"]


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


def fibre_budget(link: Link, sender: str, receiver: str) -> LinkBudget:
    """Budget of a fibre link: attenuation α·L plus lumped extra losses.

    A measured link may leave out its length; its channel then counts as 0 km (its pairs
    come from the measured rate, and nothing else is sent over it).
    """
    length = 0.0 if link.length_km is None else link.length_km
    attenuation = fibre_loss_db(length, link.attenuation_db_per_km)
    terms = [BudgetTerm("fibre attenuation", attenuation, "α·L, Agrawal (2010) Eq. (2.5.2)")]
    if (np.asarray(link.extra_loss_db) > 0).any():
        terms.append(BudgetTerm("connectors and splices", link.extra_loss_db, "extra_loss_db"))
    total = attenuation + np.asarray(link.extra_loss_db, dtype=float)
    steps = (
        Step(
            f"fibre loss of {link.name}",
            "loss = α · L + extra",
            (
                ("α", fmt(link.attenuation_db_per_km, "dB/km")),
                ("L", fmt(length, "km")),
                ("extra", fmt(link.extra_loss_db, "dB")),
            ),
            fmt(total, "dB"),
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
        budget = pass_budget(link, scenario, sender, receiver)
    else:
        budget = optical_budget(link, scenario, sender, receiver)
    detector = scenario.nodes[receiver].detector
    if detector is None:
        return budget
    detector_db = loss_db_from_transmittance(detector.efficiency)
    step = Step(
        f"detector of {receiver}",
        "loss = −10 log10 η_det",
        (("η_det", fmt(detector.efficiency)),),
        fmt(detector_db, "dB"),
    )
    term = BudgetTerm(
        "detector", detector_db, f"efficiency of {receiver}'s detector", receiver=True
    )
    return LinkBudget(
        **{**budget.__dict__, "terms": (*budget.terms, term), "steps": (*budget.steps, step)}
    )
