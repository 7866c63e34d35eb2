"""The six stages of the quantum-internet roadmap and their criteria.

S. Wehner, D. Elkouss, R. Hanson, "Quantum internet: A vision for the road ahead",
Science 362, eaam9288 (2018), Fig. 2. The numbering follows the SPEC (trusted repeater
= 1); each verdict carries the number that decided it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qcalc.linkbudget import _fmt
from qcalc.scenario import Scenario

STAGE_NAMES = {
    1: "trusted repeater",
    2: "prepare and measure",
    3: "entanglement distribution",
    4: "quantum memory",
    5: "few-qubit fault tolerance",
    6: "quantum computing network",
}


def stage_name(stage: int) -> str:
    """Name of a stage number; stage 0 means none is met."""
    return STAGE_NAMES.get(stage, "none")


def _rate_text(value: Any) -> str:
    return _fmt(value, "bit/s")


def trusted_repeater_verdict(scenario: Scenario, result: Any) -> tuple[Any, str]:
    """Stage 1: every hop has a positive key rate and every intermediate node is trusted."""
    untrusted = [n for n in result.intermediates if not scenario.nodes[n].trusted]
    if untrusted:
        roles = ", ".join(f"{n} ({scenario.nodes[n].role})" for n in untrusted)
        return False, f"intermediate node {roles} is not trusted"
    for budget, rate in zip(result.hops, result.hop_rates, strict=True):
        if rate is None:
            return False, (
                f"hop {budget.sender}→{budget.receiver} runs no prepare-and-measure "
                "QKD (a source at the sender and a detector at the receiver needed)"
            )
    rates = [np.asarray(r.key_rate_bps) for r in result.hop_rates]
    worst = result.limiting_hop if result.limiting_hop is not None else 0
    budget = result.hops[worst]
    met = np.logical_and.reduce([r > 0 for r in rates])
    where = f"hop {budget.sender}→{budget.receiver}"
    relays = len(result.intermediates)
    if np.all(met):
        return met, (
            f"every hop has key; the bottleneck, {where} "
            f"({_fmt(budget.channel_loss_db, 'dB')}), gives "
            f"{_rate_text(rates[worst])}" + (f" through {relays} trusted relays" if relays else "")
        )
    return met, f"{where} gives {_rate_text(rates[worst])} over {_fmt(budget.loss_db, 'dB')}"


def prepare_measure_verdict(scenario: Scenario, result: Any) -> tuple[Any, str]:
    """Stage 2: positive end-to-end key with no trusted intermediate node."""
    trusted = [n for n in result.intermediates if scenario.nodes[n].role == "trusted_relay"]
    if trusted:
        shown = ", ".join(trusted[:3]) + (
            f" and {len(trusted) - 3} more" if len(trusted) > 3 else ""
        )
        return False, f"the route goes through trusted relay {shown}"
    best = max(result.end_to_end, key=lambda r: float(np.max(r.key_rate_bps)), default=None)
    if best is None:
        return False, "no end-to-end protocol applies (see notes)"
    key = np.asarray(best.key_rate_bps)
    loss = sum((np.asarray(h.channel_loss_db) for h in result.hops), np.asarray(0.0))
    text = (
        f"end-to-end {best.protocol} key {_rate_text(key)} over {_fmt(loss, 'dB')} "
        f"({_fmt(best.fraction_of_plob)} of PLOB)"
    )
    return key > 0, text


def evaluate_stages(scenario: Scenario, result: Any) -> None:
    """Fill ``result.stages``, ``result.stage``, the demand's key rate and its protocol."""
    from qcalc.evaluate import StageVerdict

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

    chain = [r for r in result.hop_rates if r is not None]
    candidates: list[tuple[Any, str]] = []
    if np.any(met2):
        best = max(result.end_to_end, key=lambda r: float(np.max(r.key_rate_bps)))
        candidates.append((np.where(met2, best.key_rate_bps, 0.0), best.protocol))
    if np.any(met1) and chain and result.limiting_hop is not None:
        bottleneck = chain[result.limiting_hop]
        candidates.append((np.where(met1, bottleneck.key_rate_bps, 0.0), bottleneck.protocol))
    if candidates:
        key, protocol = max(candidates, key=lambda c: float(np.max(c[0])))
        result.key_rate_bps, result.protocol = key, protocol


def entanglement_verdicts(scenario: Scenario, result: Any) -> list[Any]:
    """Stages 3–6 from the delivered Bell pairs, memories and processors."""
    from qcalc.evaluate import StageVerdict

    reason = (
        "no entanglement is delivered on this route: no entangled-pair source, "
        "heralded memory link or measured elementary link"
    )
    return [
        StageVerdict(s, STAGE_NAMES[s], False, reason if s == 3 else "needs stage 3 first")
        for s in (3, 4, 5, 6)
    ]
