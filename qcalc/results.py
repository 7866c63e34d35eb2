"""Results as JSON-ready dicts: the stable keys of ``--format json`` (docs/commands.md).

Nothing here computes physics or formats for people; it turns what :mod:`qcalc.demands`
and the link budgets produced into plain JSON values (numpy → float/int/bool/list;
NaN/inf → None, which the models never emit). ``qcalc.api.Result.to_dict`` and the CLI's
JSON both come from here; :mod:`qcalc.report` draws the tables.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from qcalc import __version__
from qcalc.demands import DemandResult, ProtocolRate
from qcalc.explain import Step
from qcalc.lossbudget import LinkBudget
from qcalc.protocols.qkd import plob_bound  # of a link budget: LinkBudget has no property yet
from qcalc.scenario import Scenario
from qcalc.stage import stage_name


def plain(value: Any) -> Any:
    """A JSON-safe plain value: numpy → float/int/bool/list; NaN/inf → None (never emitted
    by the models, guarded here so a JSON reader never sees an invalid token)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value  # most leaves: no conversion (a 10⁴-node result holds millions)
    if kind is float:
        return (0.0 if value == 0 else value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist()) if value.ndim else plain(value.item())
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return 0.0 if value == 0 else value
    return value


def plain_dict(value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = plain(value)
    return out


# ----------------------------------------------------------------------------- dicts


def protocol_dict(rate: ProtocolRate) -> dict[str, Any]:
    out: dict[str, Any] = {
        "protocol": rate.protocol,
        "scope": rate.scope,
        "key_rate_bps": rate.key_rate_bps,
        "bits_per_pulse": rate.bits_per_pulse,
        "plob_bps": rate.plob_bps,
        "fraction_of_plob": rate.fraction_of_plob,
        "tgw_bps": rate.tgw_bps,
        "bound": rate.bound,
        "bound_bps": rate.configuration_bound_bps,
        "fraction_of_bound": rate.fraction_of_bound,
        "sifting": rate.sifting,
        "mean_photon_number": rate.mean_photon_number,
        "repetition_rate_hz": rate.repetition_rate_hz,
        "note": rate.note,
    }
    # A finite key's asymptotic comparison; the receiver's clicks (prepare and measure).
    for key in ("asymptotic_key_rate_bps", "click_rate_hz"):
        if getattr(rate, key) is not None:
            out[key] = getattr(rate, key)
    return out


def demand_dict(result: DemandResult) -> dict[str, Any]:
    """The SPEC's per-demand JSON object, plus the detail of every protocol and hop."""
    stage = result.stage_reached
    out: dict[str, Any] = {
        "name": result.demand.name,
        "ends": list(result.demand.ends),
        "path": list(result.path),
        "application": result.demand.application,
        "stage": stage,
        "stage_name": stage_name(stage),
        "stages": [
            {
                "stage": v.stage,
                "name": v.name,
                "met": bool(np.asarray(v.met).all()),
                "reason": v.reason,
            }
            for v in result.stages
        ],
        "key_rate_bps": result.key_rate_bps,
        "protocol": result.protocol,
        "key_scope": result.key_scope,
        "pair_rate_hz": result.pair_rate_hz,
        "fidelity": result.fidelity,
        "channel_loss_db": result.channel_loss_db,
        "plob_bits_per_use": result.plob_bits_per_use,
        "protocols": [protocol_dict(r) for r in result.end_to_end],
        "hops": _hops_list(result),
        "limiting_hop": (
            result.hops[result.limiting_hop].link.name if result.limiting_hop is not None else None
        ),
        "notes": list(result.notes),
    }
    if result.entanglement is not None:
        out["entanglement"] = result.entanglement.as_dict()
    if result.passes:
        out["passes"] = result.passes
    if result.monte_carlo is not None:
        out["monte_carlo"] = result.monte_carlo.as_dict()
    out["next_stage"] = _next_stage_dict(result.next_stage)
    out["expect"] = _expect_dict(result)  # always, so CI scripts can read d["expect"]["passed"]
    return out


def _hops_list(result: DemandResult) -> list[dict[str, Any]]:
    """Each hop of the route: its link, ends, loss and the best key it carries alone."""
    return [
        {
            "link": h.link.name,
            "from": h.sender,
            "to": h.receiver,
            "loss_db": h.loss_db,
            **(
                {"key_rate_bps": r.key_rate_bps, "protocol": r.protocol}
                if r
                else {"key_rate_bps": 0.0, "protocol": None}
            ),
        }
        for h, r in zip(result.hops, result.hop_rates, strict=True)
    ]


def _next_stage_dict(nxt: Any) -> dict[str, Any] | None:
    """The levers to the next stage (:mod:`qcalc.levers`), or None when none were solved."""
    if nxt is None:
        return None
    return {
        "stage": nxt.stage,
        "target": nxt.target,
        "levers": [
            {"field": lv.field, "scope": lv.scope, "op": lv.op, "now": lv.now, "needs": lv.needs}
            for lv in nxt.levers
        ],
    }


def _expect_dict(result: DemandResult) -> dict[str, Any]:
    """The demand's expect checks and whether all passed."""
    return {
        "passed": result.passed,
        "checks": [
            {
                "field": c.check.field,
                "op": c.check.op,
                "want": c.check.want,
                "got": c.got,
                "passed": c.passed,
            }
            for c in result.checks
        ],
    }


def scenario_dict(scenario: Scenario, results: list[DemandResult]) -> dict[str, Any]:
    return plain_dict(
        {
            "qcalc_version": __version__,
            "scenario": scenario.name,
            "file": scenario.file,
            "demands": [demand_dict(r) for r in results],
        }
    )


def link_dict(budget: LinkBudget) -> dict[str, Any]:
    link = budget.link
    out = {
        "name": link.name,
        "ends": list(link.ends),
        "channel": link.channel,
        "sender": budget.sender,
        "receiver": budget.receiver,
        "length_km": budget.length_km,
        "loss_db": budget.loss_db,
        "channel_loss_db": budget.channel_loss_db,
        "transmittance": budget.transmittance,
        "terms_db": {t.name: t.loss_db for t in budget.terms},
        "delay_s": budget.delay_s,
        "plob_bits_per_use": plob_bound(budget.channel_transmittance),
        **budget.extra,
    }
    if budget.notes:
        out["notes"] = list(budget.notes)
    return out


def links_dict(scenario: Scenario, budgets: list[LinkBudget]) -> dict[str, Any]:
    return plain_dict(
        {
            "qcalc_version": __version__,
            "scenario": scenario.name,
            "file": scenario.file,
            "links": [link_dict(b) for b in budgets],
        }
    )


def to_json(data: Any) -> str:
    """``json.dumps(plain(data), indent=2, ensure_ascii=False, allow_nan=False)``, the
    same text, written in one walk (the standard library's indented encoder is pure
    Python: a third of ``qcalc stage`` on a 10⁴-node network, a fifth of a batch)."""
    import json  # here, not at import: a table never loads it (1.4 ms of start-up)
    from json.encoder import encode_basestring  # C where it can be

    global _encode_string
    _encode_string = encode_basestring
    parts: list[str] = []
    try:
        _emit(data, "\n", parts.append)
    except _Unusual:  # a value only the standard library knows how to refuse or write
        return json.dumps(plain(data), indent=2, ensure_ascii=False, allow_nan=False)
    return "".join(parts)


#: json.encoder's string encoder, set by :func:`to_json` (the only way in to ``_emit``).
_encode_string: Callable[[str], str]


class _Unusual(Exception):
    """A value :func:`_emit` leaves to :func:`json.dumps`."""


def _scalar(value: Any) -> str | None:
    """The JSON of a leaf as ``json.dumps(plain(value))`` writes it; None for a
    container (or a value to leave to the standard library)."""
    kind = type(value)
    if kind is str:
        return _encode_string(value)
    if kind is float:
        if value != value or value in (_INF, -_INF):
            return "null"
        return "0.0" if value == 0 else float.__repr__(value)
    if kind is int:
        return int.__repr__(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict | list | tuple | np.ndarray):
        return None
    if isinstance(value, np.generic):
        return _scalar(value.item())
    if isinstance(value, str):  # subclasses, as plain leaves them
        return _encode_string(value)
    if isinstance(value, float):
        return _scalar(float(value))
    if isinstance(value, int):
        return int.__repr__(value)
    raise _Unusual


_INF = float("inf")


def _emit(value: Any, newline: str, append: Any) -> None:
    """Append the JSON of ``plain(value)`` as ``json.dumps(indent=2)`` writes it at the
    depth whose line break (with its indent) is ``newline``."""
    text = _scalar(value)
    if text is not None:
        append(text)
        return
    if isinstance(value, np.ndarray):
        _emit(value.tolist() if value.ndim else value.item(), newline, append)
        return
    keyed = isinstance(value, dict)
    items = value.items() if keyed else value
    if not items:
        append("{}" if keyed else "[]")
        return
    inner = newline + "  "
    separator = ("{" if keyed else "[") + inner
    for item in items:
        append(separator)
        separator = "," + inner
        if keyed:
            key, item = item
            if type(key) is not str:
                raise _Unusual
            append(_encode_string(key))
            append(": ")
        text = _scalar(item)
        if text is None:
            _emit(item, inner, append)
        else:
            append(text)
    append(newline + ("}" if keyed else "]"))


def step_dict(step: Step) -> dict[str, Any]:
    """One derivation step as JSON (:meth:`qcalc.explain.Step.to_dict`)."""
    return step.to_dict()
