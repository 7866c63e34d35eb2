"""Plots of sweeps and link budgets, PNG or SVG (the ``plot`` extra: matplotlib).

matplotlib is imported inside the functions, so ``import qcalc`` stays light and qcalc
works without it. The figures are drawn on a bare :class:`matplotlib.figure.Figure`
with the Agg canvas, never through ``pyplot``: no window, no global backend switch, and
nothing changed in a caller's own matplotlib session. SVG output carries no date, so
the same sweep gives the same file (diff-friendly in CI).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from qcalc.errors import UsageError
from qcalc.units import UNIT_SUFFIXES, unit_of

if TYPE_CHECKING:
    from qcalc.linkbudget import LinkBudget
    from qcalc.sweeps import SweepResult

FloatArray = npt.NDArray[np.float64]

#: Metrics drawn on a log axis.
RATE_METRICS = ("key_rate_bps", "pair_rate_hz", "plob_bps")
METRIC_NAMES = {
    "key_rate_bps": "key rate",
    "pair_rate_hz": "Bell-pair rate",
    "plob_bps": "PLOB bound",
    "loss_db": "route channel loss",
    "fidelity": "fidelity",
    "stage": "stage reached",
}
#: Most lines labelled in a legend; more are told apart by a colour bar.
MAX_LEGEND = 10
SUFFIXES = (".png", ".svg")
NEEDS_MATPLOTLIB = "plotting needs matplotlib: pip install 'qcalc[plot]'"


def require_matplotlib() -> None:
    """Raise :class:`UsageError` (what to install) when the plot extra is missing.

    Called before any drawing, and by the CLI before any evaluation, so a missing extra
    is a usage error (exit 2) and never a crash half-way through a plot.
    """
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError:
        raise UsageError(NEEDS_MATPLOTLIB) from None


def figure(width_in: float, height_in: float) -> Any:
    """A bare matplotlib Figure on the Agg canvas (UsageError when matplotlib is missing)."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def check_suffix(out_path: str) -> str:
    """The format from the suffix; refused before any drawing when it cannot be written."""
    path = Path(out_path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UsageError(
            f"--plot {out_path!r}: expected a file name ending in .png or .svg "
            "(the suffix picks the format)"
        )
    if not path.parent.is_dir():
        raise UsageError(f"{out_path}: cannot write the plot: no folder {str(path.parent)!r}")
    return suffix


def save(fig: Any, out_path: str, suffix: str) -> None:
    """Write a figure to ``out_path`` in the format of ``suffix`` (from
    :func:`check_suffix`): SVG with stable ids, text kept as text and no date
    (diff-friendly), PNG at 120 dpi; a write error is a :class:`UsageError`."""
    from matplotlib import rc_context

    metadata = {"Date": None} if suffix == ".svg" else {"Software": "qcalc"}
    try:
        # Stable SVG ids and text kept as text (searchable, small); the caller's rc untouched.
        with rc_context({"svg.hashsalt": "qcalc", "svg.fonttype": "none"}):
            fig.savefig(out_path, format=suffix[1:], dpi=120, metadata=metadata)
    except OSError as exc:
        raise UsageError(f"{out_path}: cannot write the plot: {exc.strerror or exc}") from None


def axis_label(key: str) -> str:
    """An axis label from a column name: ``links.a-b.length_km`` → ``a-b length [km]``."""
    if key.startswith("protocol:"):
        return f"{key.removeprefix('protocol:')} key rate [bit/s]"
    parts = key.split(".")
    name = parts[-1]
    unit = unit_of(name)
    for suffix, u in UNIT_SUFFIXES:
        if u == unit and name.endswith(suffix):
            name = name.removesuffix(suffix)
            break
    quantity = METRIC_NAMES.get(key, name.replace("_", " "))
    owner = parts[-2] + " " if len(parts) > 2 else ""
    return f"{owner}{quantity}" + (f" [{unit}]" if unit else "")


def _short_name(metric: str) -> str:
    """A metric's name for a legend: ``key_rate_bps`` → ``key rate``."""
    if metric.startswith("protocol:"):
        return f"{metric.removeprefix('protocol:')} key rate"
    return METRIC_NAMES.get(metric, metric)


def _is_rate(metric: str) -> bool:
    return metric in RATE_METRICS or metric.startswith("protocol:")


def _is_key_rate(metric: str) -> bool:
    return metric == "key_rate_bps" or metric.startswith("protocol:")


def _curves(result: SweepResult, column: npt.NDArray[Any]) -> list[tuple[Any, FloatArray]]:
    """(value of the second field or None, y along the first field) for each line."""
    values = np.asarray(column, dtype=float)
    if len(result.varies) == 1:
        return [(None, values)]
    first, second = result.varies
    grid = values.reshape(first.values.size, second.values.size)
    return [(float(v), grid[:, j]) for j, v in enumerate(second.values)]


def _positive(y: FloatArray) -> FloatArray:
    """Zeros (no key, no pairs) as gaps: a log axis cannot show them."""
    return np.where(y > 0, y, np.nan)


def _colours(result: SweepResult, count: int) -> tuple[list[Any], Any]:
    """A colour per line (viridis along the second field) and, for many lines, a mappable."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LogNorm, Normalize

    if count == 1:
        return ["C0"], None
    second = result.varies[1]
    lo, hi = float(second.values.min()), float(second.values.max())
    norm = LogNorm(lo, hi) if second.log and lo > 0 and hi > lo else Normalize(lo, hi or 1.0)
    cmap = colormaps["viridis"]
    colours = [cmap(norm(float(v))) for v in second.values]
    return colours, (ScalarMappable(norm=norm, cmap=cmap) if count > MAX_LEGEND else None)


def _draw_metric(ax: Any, result: SweepResult, metric: str) -> None:
    """One panel: the metric against the first varied field, a line per second-field value."""
    first = result.varies[0]
    x = np.asarray(first.values, dtype=float)
    curves = _curves(result, result.columns[metric])
    colours, mappable = _colours(result, len(curves))
    second_label = axis_label(result.varies[1].field) if len(result.varies) > 1 else ""
    bounds = (
        _curves(result, result.plob_bps)
        if _is_key_rate(metric) and result.plob_bps is not None
        else []
    )
    rate = _is_rate(metric)
    for i, (value, y) in enumerate(curves):
        label = _short_name(metric) if value is None else f"{second_label} = {value:.4g}"
        shown = _positive(y) if rate or metric == "fidelity" else y
        style = {"drawstyle": "steps-mid"} if metric == "stage" else {}
        ax.plot(x, shown, color=colours[i], label=label, linewidth=1.6, **style)
        if bounds:
            bound_label = "PLOB bound (repeaterless)" if i == 0 else None
            ax.plot(
                x, _positive(bounds[i][1]), "--", color=colours[i], linewidth=1.0, label=bound_label
            )
    if first.log:
        ax.set_xscale("log")
    has_positive = any(np.any(np.asarray(y) > 0) for _, y in curves) or any(
        np.any(np.asarray(y) > 0) for _, y in bounds
    )
    if rate and has_positive:
        ax.set_yscale("log")
    elif rate:
        ax.text(0.5, 0.5, "zero over the whole sweep", transform=ax.transAxes, ha="center")
    note = _above_bound_note(result, curves, bounds)
    if note:
        import textwrap

        ax.text(
            0.01,
            0.02,
            "\n".join(textwrap.wrap(note, 78)),
            transform=ax.transAxes,
            fontsize="x-small",
            color="0.2",
            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 2},
        )
    if metric == "fidelity":
        _fidelity_thresholds(ax, result)
    if metric == "stage":
        from qcalc.applications import STAGE_NAMES

        ax.set_yticks(range(7), ["0 none", *(f"{s} {n}" for s, n in STAGE_NAMES.items())])
        ax.set_ylim(-0.3, 6.3)
    ax.set_xlabel(axis_label(first.field))
    ax.set_ylabel(axis_label(metric))
    ax.grid(True, which="major", alpha=0.3)
    if mappable is not None:
        ax.figure.colorbar(mappable, ax=ax, label=second_label)
    elif len(curves) > 1 or bounds:
        ax.legend(fontsize="small")


def _above_bound_note(
    result: SweepResult,
    curves: list[tuple[Any, FloatArray]],
    bounds: list[tuple[Any, FloatArray]],
) -> str:
    """Why a key may cross its own dashed PLOB line, when it does: the bound is that of
    one repeaterless channel (Pirandola et al., Nat. Commun. 8, 15043 (2017)), and a
    route through intermediate nodes, or twin-field QKD, is not one."""
    if not bounds:
        return ""
    above = any(
        np.any(np.asarray(y, dtype=float) > np.asarray(b, dtype=float) * (1 + 1e-9))
        for (_, y), (_, b) in zip(curves, bounds, strict=True)
    )
    if not above:
        return ""
    if result.protocol is not None and result.protocol.startswith("tf"):
        return (
            "key above the dashed PLOB line: twin-field QKD interferes at an untrusted middle "
            "station and scales as √η, past the repeaterless bound (Lucamarini et al. 2018)"
        )
    route = next((n for n in result.notes if n.startswith("route ")), "")
    hops = route.split(" (")[0].count("→")
    where = f"its {hops} hops" if hops > 1 else "the route"
    return (
        "key above the dashed PLOB line: the bound is for one repeaterless channel; "
        f"trusted relays or repeaters split {where}, and it binds each hop, not the route"
    )


def _fidelity_thresholds(ax: Any, result: SweepResult) -> None:
    """Dotted lines at the scenario's stage-3 and stage-5 fidelity thresholds."""
    lines = (
        (result.criteria.entanglement_min_fidelity, "stage 3: CHSH violation"),
        (result.criteria.fault_tolerant_min_fidelity, "stage 5: few-qubit fault tolerance"),
    )
    for threshold, text in lines:
        if np.ndim(threshold) != 0:  # a threshold that is itself swept has no single line
            continue
        value = float(threshold)
        ax.axhline(value, linestyle=":", color="0.35", linewidth=1.0)
        ax.annotate(
            f"{text} (F ≥ {value:g})",
            (0.01, value),
            xycoords=("axes fraction", "data"),
            textcoords="offset points",
            xytext=(0, 3),
            fontsize="small",
            color="0.25",
        )


def plot_sweep(result: SweepResult, out_path: str) -> None:
    """Draw a sweep: each metric (one panel each) against the first varied field.

    Rates (key, pairs, PLOB) on a log axis, zeros left as gaps; a log x axis when the
    first field was varied with ``log:``. Key rates carry the PLOB bound dashed, fidelity
    the scenario's stage-3 and stage-5 thresholds, stage its names. A 2-D grid draws one
    line per value of the second field (a colour bar instead of a legend beyond
    :data:`MAX_LEGEND` lines). The suffix of ``out_path`` (.png or .svg) sets the format.

    Raises
    ------
    UsageError
        For another suffix, more than two varied fields, a missing matplotlib, or a file
        that cannot be written.
    """
    suffix = check_suffix(out_path)
    require_matplotlib()
    if len(result.varies) > 2:
        raise UsageError(
            f"--plot draws one or two varied fields; this sweep varies {len(result.varies)} "
            "(write --format csv and plot it yourself)"
        )
    metrics = list(result.metrics)
    fig = figure(7.0, 1.2 + 3.4 * len(metrics))
    axes = fig.subplots(len(metrics), 1, sharex=True, squeeze=False)[:, 0]
    for ax, metric in zip(axes, metrics, strict=True):
        _draw_metric(ax, result, metric)
    for ax in axes[:-1]:
        ax.set_xlabel("")
    protocol = f", {result.protocol}" if result.protocol else ""
    fig.suptitle(f"{result.scenario_name} — demand {result.demand}{protocol}", fontsize="medium")
    save(fig, out_path, suffix)


# ----------------------------------------------------------------------------- link budgets

#: Above this many links the budgets are grouped as stacked bars in one panel.
MAX_WATERFALL_PANELS = 6


def _term_db(value: Any) -> float:
    """A term's loss in dB as one number (the median when a term is an array). [dB]"""
    return float(np.median(np.asarray(value, dtype=float)))


def _total_text(total_db: float) -> str:
    return f"{total_db:.2f} dB (η = {10.0 ** (-total_db / 10.0):.3g})"


def _waterfall(ax: Any, budget: LinkBudget, colours: dict[str, Any]) -> None:
    """One link: a bar per term, each starting where the previous one ended, then the total."""
    names = [t.name for t in budget.terms]
    losses = [_term_db(t.loss_db) for t in budget.terms]
    starts = np.concatenate([[0.0], np.cumsum(losses)[:-1]]) if losses else np.array([])
    total = float(sum(losses))
    ax.bar(names, losses, bottom=starts, color=[colours[n] for n in names], edgecolor="0.2")
    ax.bar(["total"], [total], color="0.55", edgecolor="0.2")
    for i, (start, loss) in enumerate(zip([*starts, 0.0], [*losses, total], strict=True)):
        ax.annotate(
            f"{loss:.2f}",
            (i, start + loss),
            textcoords="offset points",
            xytext=(0, 2),
            ha="center",
            fontsize="small",
            fontweight="bold" if i == len(losses) else "normal",
        )
    ax.set_ylabel("loss [dB]")
    ax.set_title(
        f"{budget.link.name}: {budget.sender} → {budget.receiver}, total {_total_text(total)}",
        fontsize="medium",
    )
    ax.set_ylim(0, max(total, 1e-3) * 1.18)
    ax.tick_params(axis="x", labelrotation=20, labelsize="small")
    ax.grid(True, axis="y", alpha=0.3)


def _grouped(ax: Any, budgets: Sequence[LinkBudget], colours: dict[str, Any]) -> None:
    """Many links: one horizontal bar per link, its terms stacked, the total at the end."""
    y = np.arange(len(budgets))
    left = np.zeros(len(budgets))
    for name, colour in colours.items():
        widths = np.array(
            [sum(_term_db(t.loss_db) for t in b.terms if t.name == name) for b in budgets]
        )
        ax.barh(y, widths, left=left, color=colour, edgecolor="0.2", linewidth=0.4, label=name)
        left = left + widths
    for row, total in zip(y, left, strict=True):
        ax.annotate(
            _total_text(float(total)),
            (float(total), float(row)),
            textcoords="offset points",
            xytext=(3, 0),
            va="center",
            fontsize="x-small",
        )
    ax.set_yticks(y, [b.link.name for b in budgets], fontsize="small")
    ax.invert_yaxis()
    ax.set_xlim(0, max(float(left.max()), 1e-3) * 1.45)
    ax.set_xlabel("loss [dB]")
    ax.legend(
        fontsize="small", loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=min(len(colours), 3)
    )
    ax.grid(True, axis="x", alpha=0.3)


def plot_link_waterfall(budgets: list[LinkBudget], out_path: str) -> None:
    """Draw each link's loss budget from its named terms, the total annotated.

    Up to :data:`MAX_WATERFALL_PANELS` links: a waterfall panel per link (each term a bar
    starting where the previous ended, then the total with its transmittance). More
    links: one panel of horizontal bars, a link per row, its terms stacked. The same
    term has the same colour everywhere. The suffix of ``out_path`` sets the format.

    Raises
    ------
    UsageError
        For a suffix other than .png or .svg, no budgets, a missing matplotlib, or a
        file that cannot be written.
    """
    suffix = check_suffix(out_path)
    if not budgets:
        raise UsageError("no link budgets to plot")
    require_matplotlib()
    from matplotlib import colormaps  # after the arguments are checked

    fig = figure(7.0, 1.0)
    names = list(dict.fromkeys(t.name for b in budgets for t in b.terms))
    palette = colormaps["tab10"]
    colours = {n: palette(i % 10) for i, n in enumerate(names)}
    if len(budgets) <= MAX_WATERFALL_PANELS:
        fig.set_size_inches(7.0, 0.6 + 3.2 * len(budgets))
        axes = fig.subplots(len(budgets), 1, squeeze=False)[:, 0]
        for ax, budget in zip(axes, budgets, strict=True):
            _waterfall(ax, budget, colours)
    else:
        fig.set_size_inches(8.0, min(1.5 + 0.32 * len(budgets), 60.0))
        _grouped(fig.subplots(), budgets, colours)
    fig.suptitle("link loss budgets", fontsize="medium")
    save(fig, out_path, suffix)


def _spring_layout(names: list[str], edges: list[tuple[int, int]]) -> FloatArray:
    """Positions of nodes without coordinates: Fruchterman–Reingold force layout
    (Softw. Pract. Exper. 21, 1129 (1991)) from a circle, deterministic."""
    n = len(names)
    angle = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    pos = np.column_stack([np.cos(angle), np.sin(angle)])
    k = 1.0 / np.sqrt(max(n, 1))
    temperature = 0.1
    pairs = np.asarray(edges, dtype=int).reshape(-1, 2)
    for _ in range(100 if n <= 300 else 30):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.maximum(np.linalg.norm(delta, axis=-1), 1e-6)
        force = (delta * (k * k / dist**2)[..., None]).sum(axis=1)
        if pairs.size:
            d = pos[pairs[:, 0]] - pos[pairs[:, 1]]
            length = np.maximum(np.linalg.norm(d, axis=1), 1e-6)
            pull = d * (length / k)[:, None]
            np.add.at(force, pairs[:, 0], -pull)
            np.add.at(force, pairs[:, 1], pull)
        step = np.maximum(np.linalg.norm(force, axis=1), 1e-9)
        pos += force / step[:, None] * np.minimum(step, temperature)[:, None]
        temperature *= 0.95
    return pos


def plot_network_design(
    scenario: Any,
    paths: Mapping[str, Sequence[str]],
    sites: Mapping[str, str],
    out_path: str,
    title: str,
) -> None:
    """Draw the scenario's graph, the sites that hold a device (by role) and each demand's
    route (``qcalc plan --plot``, ``qcalc capacity --plot``).

    Nodes stand at their longitude and latitude (equirectangular, scaled by the cosine of
    the mean latitude) when every node gives them, else where a force layout puts them.
    """
    suffix = check_suffix(out_path)
    names = list(scenario.nodes)
    index = {n: i for i, n in enumerate(names)}
    edges = [(index[a], index[b]) for link in scenario.links for a, b in [link.ends] if a != b]
    placed = all(
        getattr(scenario.nodes[n], "latitude_deg", None) is not None
        and getattr(scenario.nodes[n], "longitude_deg", None) is not None
        for n in names
    )
    if placed:
        lat = np.array([float(scenario.nodes[n].latitude_deg) for n in names])
        lon = np.array([float(scenario.nodes[n].longitude_deg) for n in names])
        pos = np.column_stack([lon * np.cos(np.radians(lat.mean())), lat])
    else:
        pos = _spring_layout(names, edges)
    fig = figure(8.0, 6.5)
    ax = fig.add_subplot()
    for a, b in edges:
        ax.plot(*pos[[a, b]].T, color="0.8", lw=1.0, zorder=1)
    from matplotlib import colormaps

    palette = colormaps["tab10"]
    for k, (demand, path) in enumerate(paths.items()):
        xy = pos[[index[n] for n in path]]
        ax.plot(*xy.T, color=palette(k % 10), lw=2.5, alpha=0.8, zorder=2, label=demand)
    ends = {n for path in paths.values() for n in (path[0], path[-1])}
    markers = {
        "repeater": ("s", "tab:red"),
        "trusted_relay": ("D", "tab:green"),
        "untrusted_relay": ("^", "tab:purple"),
    }
    plain = [index[n] for n in names if n not in sites and n not in ends]
    ax.scatter(*pos[plain].T, s=12, color="0.5", zorder=3)
    for role, (marker, colour) in markers.items():
        chosen = [index[n] for n, r in sites.items() if r == role]
        if chosen:
            ax.scatter(
                *pos[chosen].T,
                s=90,
                marker=marker,
                color=colour,
                zorder=4,
                label=role.replace("_", " "),
            )
    end_index = [index[n] for n in sorted(ends)]
    ax.scatter(*pos[end_index].T, s=70, color="black", zorder=5, label="demand end")
    for n in names if len(names) <= 40 else [*sorted(ends), *sites]:
        ax.annotate(n, pos[index[n]], xytext=(4, 4), textcoords="offset points", fontsize=8)
    if placed:
        ax.set_xlabel("longitude × cos(mean latitude) [deg]")
        ax.set_ylabel("latitude [deg]")
        ax.set_aspect("equal")
    else:
        ax.set_axis_off()
    ax.set_title(title)
    if len(ax.get_legend_handles_labels()[1]) <= 2 * MAX_LEGEND:
        ax.legend(fontsize=7, loc="best")
    save(fig, out_path, suffix)
