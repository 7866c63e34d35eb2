"""Uncertain inputs for people: the JSON, tables and plots of ``--samples``.

Renders what :mod:`qcalc.uncertainty` computed: the report at the medians
(:func:`qcalc.results.scenario_dict`) with the percentiles, probabilities, Sobol' indices
and levers of the draws added; tables for the terminal; the distribution, stage and
tornado plots (matplotlib, imported inside the functions, drawn as :mod:`qcalc.plot`
draws, with its :func:`qcalc.plot.figure` and :func:`qcalc.plot.save`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from qcalc import plot
from qcalc.uncertainty import (
    CONFIDENCE,
    FloatArray,
    Sampled,
    SobolIndex,
    every_check,
    goal,
    inputs_dict,
    passed,
    probability_of,
    stage_distribution,
    summary,
)
from qcalc.units import fmt, unit_of


def scenario_data(sampled: Sampled) -> dict[str, Any]:
    """The JSON of ``qcalc stage|rate --samples``: the report at the medians
    (:func:`qcalc.results.scenario_dict`) with, per demand, an ``uncertainty`` block
    (per metric ``mean`` and ``percentiles``; the distribution of the stage reached; the
    probability of the goal; Sobol' indices; levers), a ``probability`` on every stage
    and every ``expect`` check, and the run's inputs at the top."""
    from qcalc import results

    data = results.scenario_dict(sampled.scenario, sampled.results)
    data["uncertainty"] = inputs_dict(sampled)
    for d, demand in enumerate(data["demands"]):
        columns = sampled.columns[d]
        for entry, met in zip(demand["stages"], sampled.stages_met[d], strict=True):
            entry["probability"] = probability_of(met)
        for entry, passes in zip(demand["expect"]["checks"], sampled.checks[d], strict=True):
            entry["probability"] = probability_of(passes)
        block: dict[str, Any] = {
            "metrics": {m: summary(c) for m, c in columns.items()},
            "stage_probabilities": stage_distribution(columns["stage"]),
            "protocols": {p: summary(c) for p, c in sampled.protocols[d].items()},
        }
        result = sampled.results[d]
        text, _ = goal(result)
        every = every_check(sampled, d)
        if result.demand.expect:
            block["expect_probability"] = probability_of(every)
        chance = result.demand.expect_probability
        if chance is not None:
            demand["expect"]["probability"] = {
                "op": chance.op,
                "want": chance.want,
                "got": probability_of(every),
                "passed": passed(sampled, d),
            }
        demand["expect"]["passed"] = passed(sampled, d)
        if sampled.sensitivity:
            block["sensitivity"] = {
                m: [s.as_dict() for s in ranked] for m, ranked in sampled.sensitivity[d].items()
            }
        if sampled.target_probability is not None:
            block["levers"] = {
                "goal": text,
                "target_probability": sampled.target_probability,
                "levers": [{k: v for k, v in f.items() if k != "text"} for f in sampled.levers[d]],
            }
        demand["uncertainty"] = block
        demand["notes"].extend(sampled.notes)
    return results.plain_dict(data)


def links_data(sampled: Sampled, budgets: Sequence[Any]) -> dict[str, Any]:
    """The JSON of ``qcalc links --samples``: the links at the medians with, per link, an
    ``uncertainty`` block of ``mean`` and ``percentiles`` per quantity."""
    from qcalc import results

    data = results.links_dict(sampled.scenario, list(budgets))
    data["uncertainty"] = inputs_dict(sampled)
    for link, columns in zip(data["links"], sampled.link_columns, strict=True):
        link["uncertainty"] = {"metrics": {m: summary(c) for m, c in columns.items()}}
    return results.plain_dict(data)


def _metric_rows(columns: Mapping[str, FloatArray], unit: str | None = None) -> list[list[str]]:
    """Per column: its name, mean, P5, P50 and P95 for people (``unit``, else by name)."""
    rows = []
    for metric, values in columns.items():
        s = summary(values)
        shown = unit_of(metric) if unit is None else unit
        p = s["percentiles"]
        rows.append([metric, *(fmt(v, shown) for v in (s["mean"], p["p5"], p["p50"], p["p95"]))])
    return rows


def _sensitivity_lines(ranked: Mapping[str, list[SobolIndex]]) -> list[str]:
    lines = []
    for metric, indices in ranked.items():
        parts = [
            f"{s.input} S1 {s.first_order:.2f} [{s.first_order_ci[0]:.2f}, "
            f"{s.first_order_ci[1]:.2f}], ST {s.total:.2f} [{s.total_ci[0]:.2f}, "
            f"{s.total_ci[1]:.2f}]"
            for s in indices
        ]
        lines.append(
            f"what drives {metric} (Sobol' indices S1 first order, ST total, "
            f"{CONFIDENCE:g} % intervals; other metrics: --format json):"
        )
        lines.extend(f"  {p}" for p in parts)
    return lines


def _stage_table(sampled: Sampled, d: int, how: str) -> Any:
    """Each stage of one demand with the probability it is met, its reason at the medians."""
    from qcalc.report import Table

    result = sampled.results[d]
    p = summary(sampled.columns[d]["stage"])["percentiles"]
    t = Table(
        f"{sampled.scenario.name} — demand {result.demand.name}: stage {int(p['p50'])} at P50 "
        f"(P5 {int(p['p5'])}, P95 {int(p['p95'])}) over {how}",
        ["stage", "name", "P(met)", "reason (at the medians)"],
    )
    for v, met in zip(result.stages, sampled.stages_met[d], strict=True):
        t.rows.append([str(v.stage), v.name, f"{probability_of(met):.3f}", v.reason])
    t.footer.append(f"path at the medians: {' → '.join(result.path)}")
    return t


def _check_lines(sampled: Sampled, d: int) -> list[str]:
    """Each expect check at the medians with its probability, and the block's."""
    from qcalc.report import check_text

    result = sampled.results[d]
    lines = [
        f"expect {check_text(c.field, c.op, c.want, median.got)} at the medians — "
        f"{'pass' if median.passed else 'FAIL'}; passes with probability "
        f"{probability_of(passes):.3f}"
        for c, passes, median in zip(
            result.demand.expect, sampled.checks[d], result.checks, strict=True
        )
    ]
    every = probability_of(every_check(sampled, d))
    chance = result.demand.expect_probability
    if chance is not None:
        verdict = "pass" if passed(sampled, d) else "FAIL"
        lines.append(
            f"expect probability {chance.op} {chance.want:g} that every check passes: got "
            f"{every:.3f} — {verdict}"
        )
    elif len(result.demand.expect) > 1:
        lines.append(f"every expect check passes with probability {every:.3f}")
    return lines


def _lever_lines(sampled: Sampled, d: int) -> list[str]:
    """What it would take to meet the goal with the target probability."""
    if sampled.target_probability is None:
        return []
    text, _ = goal(sampled.results[d])
    target = sampled.target_probability
    if not sampled.levers[d]:
        return [f"{text} is met with probability ≥ {target:g} already"]
    return [
        f"what it would take ({text} with probability {target:g}):",
        *(f"  {f['text']}" for f in sampled.levers[d]),
    ]


def _metrics_table(sampled: Sampled, d: int, how: str, rates: bool) -> Any:
    """Mean and percentiles of each metric of one demand, with checks, drivers, levers."""
    from qcalc.report import Table

    result, columns = sampled.results[d], sampled.columns[d]
    m = Table(
        f"{sampled.scenario.name} — demand {result.demand.name}: {how}",
        ["metric", "mean", "P5", "P50", "P95"],
    )
    m.rows.extend(_metric_rows(columns))
    if rates:
        named = {f"key ({p})": c for p, c in sampled.protocols[d].items()}
        m.rows.extend(_metric_rows(named, "bit/s"))
    m.footer.extend(_check_lines(sampled, d))
    if sampled.sensitivity:
        # The demand's main metric here; every metric's indices are in the JSON.
        main = _primary(result, columns)
        ranked = {k: v for k, v in sampled.sensitivity[d].items() if k == main}
        m.footer.extend(_sensitivity_lines(ranked))
        if not ranked:
            m.footer.append(f"{main} does not vary over the draws: no Sobol' indices")
    m.footer.extend(_lever_lines(sampled, d))
    m.footer.extend(
        f"input: {i.label} ~ {i.distribution.text()}"
        + (f", group {i.distribution.group}" if i.distribution.group else "")
        for i in sampled.inputs
    )
    m.footer.extend(f"note: {n}" for n in [*result.notes, *sampled.notes])
    return m


def stage_tables(sampled: Sampled, rates: bool = False) -> list[Any]:
    """Tables of ``qcalc stage|rate --samples``: per demand, each stage with the
    probability it is met (the reason as at the medians) — for ``rate`` the rate table
    at the medians instead —, then the metrics' mean and percentiles; expect checks with
    their probability, what drives the main metric, levers."""
    from qcalc import report

    tables: list[Any] = []
    how = f"{sampled.samples:,} draws ({sampled.sampler}, seed {sampled.seed})"
    base = report.rate_tables(sampled.scenario, sampled.results) if rates else []
    for d in range(len(sampled.results)):
        if rates:
            base[d].title += " (at the medians)"
            tables.append(base[d])
        else:
            tables.append(_stage_table(sampled, d, how))
        tables.append(_metrics_table(sampled, d, how, rates))
    return tables


def links_tables(sampled: Sampled) -> list[Any]:
    """The table of ``qcalc links --samples``: per link, each quantity's mean and
    percentiles."""
    from qcalc.report import Table

    t = Table(
        f"{sampled.scenario.name} — links over {sampled.samples:,} draws "
        f"({sampled.sampler}, seed {sampled.seed})",
        ["link", "quantity", "mean", "P5", "P50", "P95"],
    )
    for link, columns in zip(sampled.scenario.links, sampled.link_columns, strict=True):
        for row in _metric_rows(columns):
            t.rows.append([link.name, *row])
    t.footer.extend(f"input: {i.label} ~ {i.distribution.text()}" for i in sampled.inputs)
    t.footer.extend(f"note: {n}" for n in sampled.notes)
    return [t]


# ----------------------------------------------------------------------------- plots


def _primary(result: Any, columns: Mapping[str, FloatArray]) -> str:
    """The metric a demand is drawn by: key rate for a key, else pair rate, else fidelity."""
    if result.demand.application in ("qkd", "diqkd") and np.any(columns["key_rate_bps"] > 0):
        return "key_rate_bps"
    if np.any(columns["pair_rate_hz"] > 0):
        return "pair_rate_hz"
    return "channel_loss_db"


def _draw_distribution(ax: Any, name: str, metric: str, values: FloatArray) -> None:
    """A histogram of the draws of one metric (log axis for positive rates), P5/P50/P95."""
    from qcalc.plot import axis_label

    log = metric in ("key_rate_bps", "pair_rate_hz") and bool(np.all(values > 0))
    bins: Any = 40
    if log and values.min() < values.max():
        from matplotlib.ticker import NullFormatter

        bins = np.geomspace(values.min(), values.max(), 40)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # decades only: no crowded labels
    ax.hist(values, bins=bins, color="tab:blue", alpha=0.75)
    p = summary(values)["percentiles"]
    for key, style in (("p5", ":"), ("p50", "-"), ("p95", ":")):
        ax.axvline(p[key], color="black", linestyle=style, linewidth=1)
    ax.set_xlabel(axis_label(metric))
    ax.set_ylabel("draws")
    zero = float(np.mean(values <= 0))
    title = f"{name}: P5, P50, P95 marked"
    if metric != "channel_loss_db" and zero > 0:
        title += f" ({zero:.0%} of draws give 0)"
    ax.set_title(title, fontsize="small")


def _draw_stages(ax: Any, name: str, stages: FloatArray) -> None:
    """The probability of each stage reached, 0 (none) to 6."""
    dist = stage_distribution(stages)
    ax.bar([int(s) for s in dist], list(dist.values()), color="tab:green")
    ax.set_xticks(range(7))
    ax.set_xlabel("stage reached")
    ax.set_ylabel("probability")
    ax.set_ylim(0, 1)
    ax.set_title(f"{name}: stage reached", fontsize="small")


def _draw_tornado(ax: Any, name: str, metric: str, ranked: Sequence[SobolIndex]) -> None:
    """Total indices as bars with their intervals, first-order ones as ticks, largest on top."""
    from qcalc.plot import METRIC_NAMES

    shown = list(ranked)[::-1]
    totals = [s.total for s in shown]
    y = np.arange(len(shown))
    errors = [
        np.maximum([s.total - s.total_ci[0] for s in shown], 0),
        np.maximum([s.total_ci[1] - s.total for s in shown], 0),
    ]
    ax.barh(y, totals, xerr=errors, color="tab:orange", label="total")
    firsts = [s.first_order for s in shown]
    ax.scatter(firsts, y, color="black", marker="|", s=200, label="first order", zorder=3)
    ax.set_yticks(y, [s.input for s in shown], fontsize="x-small")
    ax.set_xlim(0, max(1.0, max(totals, default=0.0) * 1.1))
    ax.set_xlabel(f"Sobol' index of the {METRIC_NAMES.get(metric, metric)}")
    ax.legend(fontsize="x-small", loc="lower right")
    ax.set_title(f"{name}: what drives it", fontsize="small")


def plot_uncertainty(sampled: Sampled, out_path: str) -> None:
    """Per demand, one row of panels: the distribution of its main metric (histogram with
    P5, P50, P95 marked), the probability of each stage reached, and with
    ``--sensitivity`` a tornado of the total (bars) and first-order (ticks) Sobol'
    indices of that metric, largest on top. The suffix of ``out_path`` sets the format.

    Raises
    ------
    UsageError
        For a suffix other than .png or .svg, a missing matplotlib, or a file that cannot
        be written.
    """
    suffix = plot.check_suffix(out_path)
    rows = max(len(sampled.results), 1)
    panels = 3 if sampled.sensitivity else 2
    fig = plot.figure(4.0 * panels, 0.6 + 3.0 * rows)
    axes = fig.subplots(rows, panels, squeeze=False)
    for d, result in enumerate(sampled.results):
        name, columns = result.demand.name, sampled.columns[d]
        metric = _primary(result, columns)
        _draw_distribution(axes[d, 0], name, metric, columns[metric])
        _draw_stages(axes[d, 1], name, columns["stage"])
        if sampled.sensitivity:
            _draw_tornado(axes[d, 2], name, metric, sampled.sensitivity[d].get(metric, []))
    fig.suptitle(
        f"{sampled.scenario.name}: {sampled.samples:,} draws ({sampled.sampler})", fontsize="medium"
    )
    plot.save(fig, out_path, suffix)


def plot_links(sampled: Sampled, out_path: str) -> None:
    """One panel: the distribution of each link's loss as a box (P5–P95 whiskers, P50
    line). The suffix of ``out_path`` sets the format."""
    suffix = plot.check_suffix(out_path)
    names = [link.name for link in sampled.scenario.links]
    fig = plot.figure(7.0, 0.8 + 0.35 * max(len(names), 3))
    ax = fig.subplots()
    data = [c["loss_db"] for c in sampled.link_columns]
    ax.boxplot(data, orientation="horizontal", whis=(5, 95), showfliers=False, tick_labels=names)
    ax.set_xlabel("link loss [dB] (box P25–P75, whiskers P5–P95)")
    ax.set_title(f"{sampled.scenario.name}: {sampled.samples:,} draws", fontsize="medium")
    plot.save(fig, out_path, suffix)
