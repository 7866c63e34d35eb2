"""What ``qcalc plan`` and ``qcalc capacity`` report, as plain data: JSON-ready dicts, and
tables as dicts of :class:`qcalc.report.Table`'s fields (the CLI renders them)."""

from __future__ import annotations

from typing import Any

import numpy as np

from qcalc.demands import DemandResult
from qcalc.design.capacity import Allocation, Share
from qcalc.design.plan import Plan, Target
from qcalc.scenario import Scenario
from qcalc.units import fmt, unit_of

Table = dict[str, Any]


def _table(
    title: str,
    columns: list[str],
    rows: list[list[str]],
    footer: list[str] | None = None,
    spill: list[str] | None = None,
) -> Table:
    """A table as the fields of :class:`qcalc.report.Table`."""
    return {
        "title": title,
        "columns": columns,
        "rows": rows,
        "footer": footer or [],
        "spill": spill or [],
    }


def target_text(t: Target) -> str:
    """``key_rate_bps 368.4 bit/s >= 100 bit/s: ×3.684`` (the margin as a ratio for rates
    and fidelities, as a difference for a stage)."""
    unit = unit_of(t.field)
    ratio = t.ratio
    margin = f"×{t.ratio:.4g}" if ratio is not None else f"{t.margin:+g}"
    verdict = "" if t.passed else " — MISSED"
    return f"{t.field} {fmt(t.got, unit)} {t.op} {fmt(t.want, unit)}: {margin}{verdict}"


def _targets(plan: Plan, results: list[DemandResult] | None) -> dict[str, tuple[Target, ...]]:
    """Each demand's targets as the planned file evaluates them (else as its route did)."""
    out = {d: r.targets for d, r in plan.routes.items()}
    for r in results or []:
        out[r.demand.name] = tuple(
            Target(c.check.field, c.check.op, c.check.want, c.got, c.passed) for c in r.checks
        )
    return out


def plan_tables(scenario: Scenario, plan: Plan, results: list[DemandResult] | None) -> list[Table]:
    """The sites opened, and every demand's route with its margin on each target."""
    serves: dict[str, list[str]] = {}
    for d, route in plan.routes.items():
        for site in route.sites:
            serves.setdefault(site, []).append(d)
    sites = _table(
        f"{scenario.name} — plan: {len(plan.sites)} site{'s' if len(plan.sites) != 1 else ''}, "
        f"cost {plan.cost:g}",
        ["site", "role", "cost", "serves"],
        [
            [n, role, f"{plan.costs.get(n, 0.0):g}", ", ".join(serves.get(n, [])) or "backups"]
            for n, role in plan.sites.items()
        ],
        footer=[
            f"method: {plan.method}",
            f"lower bound {plan.lower_bound:g}, optimality gap {plan.gap:.2%}",
            f"{plan.routes_considered} usable routes from {plan.evaluations} evaluations "
            f"(≤ {plan.options.max_sites_per_path} sites per route, "
            f"{plan.options.paths_per_demand} fibre paths per demand"
            + (
                f", ≤ {plan.options.demands_per_site} demands per site"
                if plan.options.demands_per_site
                else ""
            )
            + (", robust to one failure" if plan.options.robust else "")
            + ")",
            *plan.notes,
        ],
        spill=["targets"],
    )
    targets = _targets(plan, results)
    rows = []
    for d, route in plan.routes.items():
        role = (route.role or "").replace("_", " ") + ("s" if len(route.sites) > 1 else "")
        via = f"{role} at {', '.join(route.sites)}" if route.sites else "no site"
        backups = plan.backups.get(d, [])
        rows.append(
            [
                d,
                " → ".join(route.fibre),
                via + (f"; {len(backups)} backup routes" if backups else ""),
                "; ".join(target_text(t) for t in targets[d]),
            ]
        )
    demands = _table(
        f"{scenario.name} — demand routes",
        ["demand", "fibre path", "sites", "targets"],
        rows,
        spill=["targets"],
    )
    return [sites, demands]


def _target_dict(t: Target) -> dict[str, Any]:
    return {
        "field": t.field,
        "op": t.op,
        "want": t.want,
        "got": t.got,
        "margin": t.margin,
        "ratio": t.ratio,
        "passed": t.passed,
    }


def plan_dict(scenario: Scenario, plan: Plan, results: list[DemandResult] | None) -> dict[str, Any]:
    """The plan as JSON-ready data (keys stable)."""
    from qcalc import __version__

    targets = _targets(plan, results)
    return {
        "qcalc_version": __version__,
        "scenario": scenario.name,
        "file": scenario.file,
        "method": plan.method,
        "optimal": plan.optimal,
        "cost": plan.cost,
        "lower_bound": plan.lower_bound,
        "gap": plan.gap,
        "sites": [
            {"node": n, "role": r, "cost": plan.costs.get(n, 0.0)} for n, r in plan.sites.items()
        ],
        "demands": [
            {
                "name": d,
                "fibre": list(route.fibre),
                "path": list(route.path),
                "role": route.role,
                "sites": list(route.sites),
                "loss_db": route.loss_db,
                "targets": [_target_dict(t) for t in targets[d]],
                "backups": [list(b.path) for b in plan.backups.get(d, [])],
            }
            for d, route in plan.routes.items()
        ],
        "options": {
            "max_sites_per_path": plan.options.max_sites_per_path,
            "paths_per_demand": plan.options.paths_per_demand,
            "demands_per_site": plan.options.demands_per_site,
            "robust": plan.options.robust,
        },
        "routes_considered": plan.routes_considered,
        "evaluations": plan.evaluations,
        "seconds": plan.seconds,
        "notes": list(plan.notes),
    }


# ----------------------------------------------------------------------------- capacity


def capacity_tables(scenario: Scenario, allocation: Allocation) -> list[Table]:
    """Each demand's share, what it would get alone, and the resources that bind it."""
    rows = []
    for share in allocation.shares:
        unit = "bit/s" if share.metric == "key_rate_bps" else "pairs/s"
        rows.append(
            [
                share.demand,
                fmt(share.allocated, unit),
                fmt(share.alone, unit),
                f"{share.fraction:.1%}" if share.alone > 0 else "—",
                _stage_text(share),
                "; ".join(f"{' → '.join(r.path)}: {fmt(a, unit)}" for r, a in share.routes if a > 0)
                or "none",
                ", ".join(share.bottlenecks) or "—",
            ]
        )
    return [
        _table(
            f"{scenario.name} — shared capacity ({allocation.objective})",
            ["demand", "allocated", "alone", "share", "stage", "routes", "bottleneck"],
            rows,
            footer=[allocation.method, *allocation.notes],
            spill=["routes", "bottleneck"],
        )
    ]


def _stages(share: Share) -> tuple[int, int, bool] | None:
    """Stage alone, stage at the share, and whether the expect block passes at it."""
    route, shared = share.primary, share.shared()
    if route is None or shared is None:
        return None
    alone = int(np.max(np.asarray(route.result.stage)))
    return alone, int(np.max(np.asarray(shared.stage))), shared.passed


def _stage_keys(share: Share) -> dict[str, Any]:
    stages = _stages(share)
    if stages is None:
        return {"stage_alone": 0, "stage_shared": 0, "expect_passed_shared": False}
    alone, shared, passed = stages
    return {"stage_alone": alone, "stage_shared": shared, "expect_passed_shared": passed}


def _stage_text(share: Share) -> str:
    """``4 → 3, expect fails``: the stage alone and at the share."""
    stages = _stages(share)
    if stages is None:
        return "—"
    alone, shared, passed = stages
    return f"{alone} → {shared}" + ("" if passed else ", expect fails")


def capacity_dict(scenario: Scenario, allocation: Allocation) -> dict[str, Any]:
    """The allocation as JSON-ready data (keys stable)."""
    from qcalc import __version__

    return {
        "qcalc_version": __version__,
        "scenario": scenario.name,
        "file": scenario.file,
        "objective": allocation.objective,
        "split": allocation.split,
        "method": allocation.method,
        "demands": [
            {
                "name": s.demand,
                "metric": s.metric,
                "allocated": s.allocated,
                "alone": s.alone,
                "fraction": s.fraction,
                "routes": [
                    {"path": list(r.path), "rate_alone": r.rate, "allocated": a}
                    for r, a in s.routes
                ],
                "bottlenecks": list(s.bottlenecks),
                **_stage_keys(s),
            }
            for s in allocation.shares
        ],
        "resources": [
            {"name": name, "used": used} for name, used in sorted(allocation.usage.items())
        ],
        "notes": list(allocation.notes),
    }
