"""Small charts as inline SVG text: a loss waterfall, rates on a log axis, a network.

Hand-written, so the HTML report (:mod:`qcalc.htmlreport`) draws its figures from the
base install, without matplotlib, and the same input gives the same bytes. Each chart
is one ``<svg role="img">`` element with a ``<title>`` and a ``<desc>`` that say in
words what it shows (its text alternative), a ``viewBox`` so it scales to the width of
a phone, and no reference to anything outside itself: no image, font, script or link.

Every text that reaches the SVG goes through :func:`esc` (XML-escaped, control
characters shown as escapes), so a name can never become markup; the result is
well-formed XML as well as HTML.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from qcalc.outputs import xml_value
from qcalc.records import record
from qcalc.units import fmt

#: Text size of chart labels. [px of the viewBox]
FONT_PX = 12
#: Width of every chart's viewBox: drawn at about this width on a screen, 12 px text
#: stays legible scaled to a phone's width (the page's CSS keeps it ≥ 20 rem). [px]
CHART_WIDTH_PX = 560.0
#: Mean advance of a character of the sans-serif labels, for layout. [em]
CHAR_EM = 0.58
#: Colours: one per loss term in turn (colour-blind-safe, Okabe & Ito 2008), a gain, the
#: total, the axis and grid lines, the text. [CSS colour]
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
GAIN_COLOUR = "#999999"
TOTAL_COLOUR = "#4D4D4D"
GRID_COLOUR = "#D9D9D9"
TEXT_COLOUR = "#1A1A1A"
#: The node colours of a network drawing, by role. [CSS colour]
ROLE_COLOURS = {
    "end": "#0072B2",
    "trusted_relay": "#E69F00",
    "untrusted_relay": "#CC79A7",
    "repeater": "#009E73",
    "orbit": "#D55E00",
    "candidate": "#999999",
}
#: The line pattern of a link, by channel (dashes tell channels apart without colour).
CHANNEL_DASHES = {"fibre": "", "free_space": "6 3", "satellite": "2 3"}
#: Most decades a log axis spans; rates further below the largest are drawn at its
#: floor with an arrow. [decades]
MAX_DECADES = 14


def esc(text: object) -> str:
    """``text`` for SVG or HTML text and attribute values: one line, XML 1.0 characters
    only (controls shown as escapes), and ``& < > " '`` escaped."""
    return html.escape(xml_value(text), quote=True)


def text_width_px(text: str, font_px: float = FONT_PX) -> float:
    """About how wide ``text`` is drawn. [px]"""
    return len(text) * CHAR_EM * font_px


def clip(text: str, width_px: float, font_px: float = FONT_PX) -> str:
    """``text`` cut with an ellipsis to fit ``width_px`` (the full text stays in a title)."""
    most = max(1, round(width_px / (CHAR_EM * font_px)))
    return text if len(text) <= most else text[: max(0, most - 1)] + "…"


def _num(x: float) -> str:
    """A coordinate: two decimals at most, no trailing zeros."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def figure(ident: str, width: float, height: float, title: str, desc: str, body: str) -> str:
    """One chart: an ``<svg role="img">`` labelled by its ``<title>`` and ``<desc>``.

    ``ident`` must be unique in the page (it names the title and description)."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{esc(ident)}" '
        f'viewBox="0 0 {_num(width)} {_num(height)}" role="img" '
        f'aria-labelledby="{esc(ident)}-title {esc(ident)}-desc" '
        f'font-family="system-ui, sans-serif" font-size="{FONT_PX}" fill="{TEXT_COLOUR}">'
        f'<title id="{esc(ident)}-title">{esc(title)}</title>'
        f'<desc id="{esc(ident)}-desc">{esc(desc)}</desc>{body}</svg>'
    )


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}"{extra}>{esc(text)}</text>'


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_of_ten(exponent: int) -> str:
    """``10⁻³`` for -3: an axis label of a log scale."""
    return "10" + str(exponent).translate(_SUPERSCRIPT)


def nice_step(span: float, most_ticks: int = 6) -> float:
    """A tick step of 1, 2 or 5 × 10^k giving at most ``most_ticks`` ticks over ``span``.

    >>> nice_step(37.0)
    10.0
    """
    if not span > 0 or not math.isfinite(span):
        return 1.0
    raw = span / most_ticks
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if raw <= factor * power:
            return factor * power
    return 10.0 * power  # pragma: no cover - the loop always returns


# ----------------------------------------------------------------------------- waterfall


def waterfall(ident: str, name: str, terms: Sequence[tuple[str, float]]) -> str:
    """A link's loss budget as a horizontal waterfall: a row per term, each bar starting
    where the previous one ended, then the total.

    Parameters
    ----------
    ident : str
        Unique id of the chart in the page.
    name : str
        What the budget belongs to (the link), for the title.
    terms : sequence of (str, float)
        Each term's name and loss [dB]; a negative loss (a gain) is drawn leftwards in grey.
    """
    total = float(sum(db for _, db in terms))
    ends = [0.0]
    for _, db in terms:
        ends.append(ends[-1] + db)
    low, high = min(0.0, *ends), max(0.0, *ends, 1e-3)
    label_px = min(200.0, max(text_width_px(n) for n, _ in [*terms, ("total", 0.0)]) + 16)
    width, row_px, top = CHART_WIDTH_PX, 22.0, 8.0
    left, right = label_px, width - 84.0
    rows = len(terms) + 1
    height = top + rows * row_px + 30.0
    step = nice_step(high - low)
    low = math.floor(low / step) * step
    high = math.ceil(high / step) * step
    scale = (right - left) / (high - low)

    def x(db: float) -> float:
        return left + (db - low) * scale

    parts = []
    tick = low
    while tick <= high + step / 2:
        px = x(tick)
        parts.append(
            f'<line x1="{_num(px)}" y1="{_num(top)}" x2="{_num(px)}" '
            f'y2="{_num(top + rows * row_px)}" stroke="{GRID_COLOUR}" stroke-width="1"/>'
        )
        parts.append(_text(px, top + rows * row_px + 14, f"{tick:g}", "middle"))
        tick += step
    parts.append(_text((left + right) / 2, height - 2, "loss [dB]", "middle"))
    for i, ((term, db), start) in enumerate(
        zip([*terms, ("total", total)], [*ends[:-1], 0.0], strict=True)
    ):
        is_total = i == len(terms)
        y = top + i * row_px
        a, b = sorted((x(start), x(start + db)))
        colour = TOTAL_COLOUR if is_total else GAIN_COLOUR if db < 0 else PALETTE[i % 7]
        value = f"{fmt(db, 'dB')}" + (
            f" (η = {fmt(10.0 ** (-db / 10.0))})" if is_total and db < 300 else ""
        )
        parts.append(
            f"<g><title>{esc(term)}: {esc(value)}</title>"
            f'<rect x="{_num(a)}" y="{_num(y + 3)}" width="{_num(max(b - a, 1.0))}" '
            f'height="{_num(row_px - 6)}" fill="{colour}"/></g>'
        )
        weight = ' font-weight="bold"' if is_total else ""
        parts.append(_text(left - 6, y + row_px / 2 + 4, clip(term, label_px - 8), "end", weight))
        if is_total:
            value = fmt(db, "dB")
        parts.append(_text(b + 4, y + row_px / 2 + 4, value, "start", weight))
    described = "; ".join(f"{t} {fmt(db, 'dB')}" for t, db in terms)
    desc = f"Loss terms in dB, each bar starting where the previous ended: {described}; total {fmt(total, 'dB')}."
    return figure(ident, width, height, f"Loss budget of {name}", desc, "".join(parts))


# ----------------------------------------------------------------------------- log rates


@record(frozen=True)
class RateRow:
    """One row of :func:`rates_chart`: a rate and the bound it is measured against."""

    label: str
    rate: float
    bound: float | None = None
    #: Unit of the rate and its bound (``pairs/s`` for Bell pairs, whose bound in ebit/s
    #: is the same PLOB number). [text]
    unit: str = "bit/s"


def rates_chart(ident: str, title: str, rows: Sequence[RateRow], axis: str = "bit/s") -> str:
    """Rates on a log axis, a row each: a bar for the rate, a diamond for its bound.

    A rate of 0 is written "0" with no bar (a log axis has no zero); a rate more than
    :data:`MAX_DECADES` below the largest value sits at the axis floor with an arrow.
    """
    values = [v for r in rows for v in (r.rate, r.bound) if v is not None and v > 0]
    values = [v for v in values if math.isfinite(v)]
    top_exp = math.ceil(math.log10(max(values))) if values else 1
    low_exp = math.floor(math.log10(min(values))) if values else 0
    low_exp = max(low_exp, top_exp - MAX_DECADES)
    if top_exp - low_exp < 2:
        low_exp = top_exp - 2
    label_px = min(200.0, max([text_width_px(r.label) for r in rows] + [40.0]) + 16)
    width, row_px, top = CHART_WIDTH_PX, 24.0, 22.0
    left, right = label_px, width - 100.0
    height = top + len(rows) * row_px + 30.0
    scale = (right - left) / (top_exp - low_exp)

    def x(value: float) -> float:
        return left + (max(math.log10(value), low_exp) - low_exp) * scale

    parts = []
    every = max(1, math.ceil((top_exp - low_exp) / 7))
    for exp in range(low_exp, top_exp + 1):
        px = left + (exp - low_exp) * scale
        parts.append(
            f'<line x1="{_num(px)}" y1="{_num(top)}" x2="{_num(px)}" '
            f'y2="{_num(top + len(rows) * row_px)}" stroke="{GRID_COLOUR}" stroke-width="1"/>'
        )
        if (exp - low_exp) % every == 0:
            parts.append(_text(px, top + len(rows) * row_px + 14, power_of_ten(exp), "middle"))
    parts.append(_text((left + right) / 2, height - 2, f"rate [{axis}], log scale", "middle"))
    parts.append(
        f'<rect x="{_num(left)}" y="4" width="10" height="10" fill="{PALETTE[0]}"/>'
        + _text(left + 14, 13, "rate")
        + f'<path d="M{_num(left + 66)} 4 l5 5 l-5 5 l-5 -5 z" fill="{TOTAL_COLOUR}"/>'
        + _text(left + 76, 13, "bound it is compared with")
    )
    for i, row in enumerate(rows):
        y = top + i * row_px
        mid = y + row_px / 2
        parts.append(_text(left - 6, mid + 4, clip(row.label, label_px - 8), "end"))
        said = f"{row.label}: {fmt(row.rate, row.unit)}" + (
            f", bound {fmt(row.bound, row.unit)}" if row.bound is not None else ""
        )
        shapes = []
        text = "0"
        if row.rate > 0 and math.isfinite(row.rate):
            shapes.append(
                f'<rect x="{_num(left)}" y="{_num(y + 5)}" '
                f'width="{_num(max(x(row.rate) - left, 1.0))}" height="{_num(row_px - 10)}" '
                f'fill="{PALETTE[0]}"/>'
            )
            text = ("◂ " if math.log10(row.rate) < low_exp else "") + fmt(row.rate, row.unit)
        if row.bound is not None and row.bound > 0 and math.isfinite(row.bound):
            shapes.append(
                f'<path d="M{_num(x(row.bound))} {_num(mid - 6)} l6 6 l-6 6 l-6 -6 z" '
                f'fill="{TOTAL_COLOUR}"/>'
            )
        parts.append(f"<g><title>{esc(said)}</title>{''.join(shapes)}</g>")
        parts.append(_text(right + 10, mid + 4, text))
    desc = "; ".join(
        f"{r.label} {fmt(r.rate, r.unit)}"
        + (f" against a bound of {fmt(r.bound, r.unit)}" if r.bound is not None else "")
        for r in rows
    )
    return figure(ident, width, height, title, f"Log-scale chart: {desc}.", "".join(parts))


# ----------------------------------------------------------------------------- network


@record(frozen=True)
class GraphNode:
    """A node drawn at (x, y) in [0, 1]² (y downwards), coloured by ``kind``."""

    name: str
    x: float
    y: float
    kind: str


@record(frozen=True)
class GraphEdge:
    """A link between two nodes; ``channel`` sets its dashes, ``on_path`` thickens it."""

    a: str
    b: str
    label: str
    channel: str
    on_path: bool = False


def network(
    ident: str,
    title: str,
    desc: str,
    nodes: Sequence[GraphNode],
    edges: Sequence[GraphEdge],
    label_every: int = 1,
    equal_scale: bool = False,
) -> str:
    """A node-link drawing: nodes as circles (colour and a legend by role), links as lines
    dashed by channel, the links on a demand's path drawn thicker.

    ``label_every`` > 1 names only every so many nodes, and always the end nodes and those
    in orbit.
    ``equal_scale`` draws x and y at one scale, centred (a map keeps its shape)."""
    width = CHART_WIDTH_PX
    rows = len({round(n.y, 6) for n in nodes})
    height = 360.0 if rows > 2 or equal_scale else 150.0 + 60.0 * (rows - 1)
    pad_x, pad_top, pad_bottom = 70.0, 28.0, 52.0
    box_w, box_h = width - 2 * pad_x, height - pad_top - pad_bottom
    scale_x, scale_y = (min(box_w, box_h),) * 2 if equal_scale else (box_w, box_h)
    where = {
        n.name: (
            pad_x + (box_w - scale_x) / 2 + n.x * scale_x,
            pad_top + (box_h - scale_y) / 2 + n.y * scale_y,
        )
        for n in nodes
    }
    parts = []
    for e in edges:
        (x1, y1), (x2, y2) = where[e.a], where[e.b]
        dash = CHANNEL_DASHES.get(e.channel, "")
        parts.append(
            f"<g><title>{esc(e.label)} ({esc(e.channel)}): {esc(e.a)} – {esc(e.b)}</title>"
            f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" '
            f'stroke="{TOTAL_COLOUR}" stroke-width="{4 if e.on_path else 1.5}"'
            + (f' stroke-dasharray="{dash}"' if dash else "")
            + "/></g>"
        )
    radius = 7.0 if len(nodes) <= 12 else 5.0
    for i, n in enumerate(nodes):
        x, y = where[n.name]
        colour = ROLE_COLOURS.get(n.kind, TOTAL_COLOUR)
        parts.append(
            f"<g><title>{esc(n.name)} ({esc(n.kind.replace('_', ' '))})</title>"
            f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{_num(radius)}" fill="{colour}" '
            f'stroke="#FFFFFF" stroke-width="1.5"/></g>'
        )
        if label_every <= 1 or i % label_every == 0 or n.kind in ("end", "orbit"):
            parts.append(_text(x, y - radius - 4, clip(n.name, 120), "middle"))
    parts.extend(_network_legend(nodes, edges, height))
    return figure(ident, width, height, title, desc, "".join(parts))


def _network_legend(
    nodes: Sequence[GraphNode], edges: Sequence[GraphEdge], height: float
) -> list[str]:
    """The legend under a :func:`network` drawing: a dot per node role, a line per
    channel (dashed as drawn), and the thick line of a demand's path when one is drawn."""
    parts = []
    kinds = list(dict.fromkeys(n.kind for n in nodes))
    channels = list(dict.fromkeys(e.channel for e in edges))
    lx, ly = 8.0, height - 30.0
    for kind in kinds:
        label = kind.replace("_", " ")
        parts.append(
            f'<circle cx="{_num(lx + 5)}" cy="{_num(ly - 4)}" r="5" '
            f'fill="{ROLE_COLOURS.get(kind, TOTAL_COLOUR)}"/>' + _text(lx + 14, ly, label)
        )
        lx += 24 + text_width_px(label)
    lx, ly = 8.0, height - 10.0
    for channel in channels:
        dash = CHANNEL_DASHES.get(channel, "")
        parts.append(
            f'<line x1="{_num(lx)}" y1="{_num(ly - 4)}" x2="{_num(lx + 24)}" y2="{_num(ly - 4)}" '
            f'stroke="{TOTAL_COLOUR}" stroke-width="1.5"'
            + (f' stroke-dasharray="{dash}"' if dash else "")
            + "/>"
            + _text(lx + 30, ly, channel.replace("_", " "))
        )
        lx += 44 + text_width_px(channel)
    if any(e.on_path for e in edges):
        parts.append(
            f'<line x1="{_num(lx)}" y1="{_num(ly - 4)}" x2="{_num(lx + 24)}" y2="{_num(ly - 4)}" '
            f'stroke="{TOTAL_COLOUR}" stroke-width="4"/>' + _text(lx + 30, ly, "on a demand's path")
        )
    return parts


# ----------------------------------------------------------------------------- points


@record(frozen=True)
class Series:
    """Points of one kind in :func:`points_chart`: (x, y, filled) each; a hollow point is
    one that counts for nothing (a pass in daylight, say)."""

    label: str
    points: tuple[tuple[float, float, bool], ...]


def points_chart(
    ident: str,
    title: str,
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    y_unit: str,
    note: str = "",
) -> str:
    """Points on linear axes, a colour and a shape per series, a legend above.

    ``y_unit`` scales the tick labels (:func:`qcalc.units.fmt`); ``note`` ends the text
    alternative (what hollow points mean, say)."""
    shapes = ("circle", "square", "diamond", "triangle")
    points = [p for s in series for p in s.points if math.isfinite(p[0]) and math.isfinite(p[1])]
    x_low = min((p[0] for p in points), default=0.0)
    x_high = max((p[0] for p in points), default=1.0)
    y_high = max((p[1] for p in points), default=1.0)
    x_step = nice_step(x_high - x_low or 1.0)
    x_low = math.floor(x_low / x_step) * x_step
    x_high = max(math.ceil(x_high / x_step) * x_step, x_low + x_step)
    y_step = nice_step(y_high or 1.0, 5)
    y_high = max(math.ceil(y_high / y_step) * y_step, y_step)
    width, height = CHART_WIDTH_PX, 280.0
    left, right, top, bottom = 86.0, width - 12.0, 30.0, height - 38.0

    def x(value: float) -> float:
        return left + (value - x_low) / (x_high - x_low) * (right - left)

    def y(value: float) -> float:
        return bottom - max(value, 0.0) / y_high * (bottom - top)

    parts = []
    tick = 0.0
    while tick <= y_high + y_step / 2:
        parts.append(
            f'<line x1="{_num(left)}" y1="{_num(y(tick))}" x2="{_num(right)}" '
            f'y2="{_num(y(tick))}" stroke="{GRID_COLOUR}" stroke-width="1"/>'
            + _text(left - 6, y(tick) + 4, fmt(tick, y_unit, 3), "end")
        )
        tick += y_step
    tick = x_low
    while tick <= x_high + x_step / 2:
        parts.append(
            f'<line x1="{_num(x(tick))}" y1="{_num(bottom)}" x2="{_num(x(tick))}" '
            f'y2="{_num(bottom + 4)}" stroke="{TOTAL_COLOUR}" stroke-width="1"/>'
            + _text(x(tick), bottom + 16, f"{tick:g}", "middle")
        )
        tick += x_step
    parts.append(_text((left + right) / 2, height - 4, x_label, "middle"))
    parts.append(
        _text(
            12,
            (top + bottom) / 2,
            y_label,
            "middle",
            f' transform="rotate(-90 12 {_num((top + bottom) / 2)})"',
        )
    )
    lx = left
    for i, s in enumerate(series):
        colour, shape = PALETTE[i % len(PALETTE)], shapes[i % len(shapes)]
        parts.append(_marker(lx + 5, 14, shape, colour, True) + _text(lx + 14, 18, s.label))
        lx += 30 + text_width_px(s.label)
        marks = "".join(
            _marker(x(px), y(py), shape, colour, filled)
            for px, py, filled in s.points
            if math.isfinite(px) and math.isfinite(py)
        )
        parts.append(f"<g><title>{esc(s.label)}</title>{marks}</g>")
    said = "; ".join(
        f"{s.label}: {len(s.points)} points, largest {fmt(max((p[1] for p in s.points), default=0.0), y_unit)}"
        for s in series
    )
    desc = f"{y_label} against {x_label}. {said}." + (f" {note}" if note else "")
    return figure(ident, width, height, title, desc, "".join(parts))


def _marker(cx: float, cy: float, shape: str, colour: str, filled: bool) -> str:
    paint = f'fill="{colour}"' if filled else f'fill="#FFFFFF" stroke="{colour}" stroke-width="1.5"'
    if shape == "square":
        return f'<rect x="{_num(cx - 4)}" y="{_num(cy - 4)}" width="8" height="8" {paint}/>'
    if shape == "diamond":
        return f'<path d="M{_num(cx)} {_num(cy - 5)} l5 5 l-5 5 l-5 -5 z" {paint}/>'
    if shape == "triangle":
        return f'<path d="M{_num(cx)} {_num(cy - 5)} l5 9 l-10 0 z" {paint}/>'
    return f'<circle cx="{_num(cx)}" cy="{_num(cy)}" r="4" {paint}/>'


# ----------------------------------------------------------------------------- probabilities


def probability_bars(ident: str, title: str, rows: Sequence[tuple[str, float]]) -> str:
    """Probabilities [0..1] as horizontal bars on a 0–1 axis, a row each, the value
    written beside its bar (the stage distribution over the draws of uncertain inputs)."""
    label_px = min(200.0, max([text_width_px(label) for label, _ in rows] + [40.0]) + 16)
    width, row_px, top = CHART_WIDTH_PX, 22.0, 8.0
    left, right = label_px, width - 60.0
    height = top + len(rows) * row_px + 30.0
    parts = []
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        px = left + tick * (right - left)
        parts.append(
            f'<line x1="{_num(px)}" y1="{_num(top)}" x2="{_num(px)}" '
            f'y2="{_num(top + len(rows) * row_px)}" stroke="{GRID_COLOUR}" stroke-width="1"/>'
            + _text(px, top + len(rows) * row_px + 14, f"{tick:g}", "middle")
        )
    parts.append(_text((left + right) / 2, height - 2, "probability", "middle"))
    for i, (label, p) in enumerate(rows):
        y = top + i * row_px
        share = min(max(p, 0.0), 1.0) if math.isfinite(p) else 0.0
        parts.append(_text(left - 6, y + row_px / 2 + 4, clip(label, label_px - 8), "end"))
        parts.append(
            f"<g><title>{esc(label)}: {esc(fmt(share))}</title>"
            f'<rect x="{_num(left)}" y="{_num(y + 3)}" width="{_num(share * (right - left))}" '
            f'height="{_num(row_px - 6)}" fill="{PALETTE[0]}"/></g>'
        )
        parts.append(_text(left + share * (right - left) + 4, y + row_px / 2 + 4, fmt(share)))
    desc = "; ".join(f"{label}: {fmt(p)}" for label, p in rows)
    return figure(ident, width, height, title, f"Probabilities: {desc}.", "".join(parts))


@record(frozen=True)
class Line:
    """One curve of :func:`line_chart`: its label and its y value at each x (NaN or, on a
    log axis, 0 leaves a gap: a rate of 0 is no point on a logarithm)."""

    label: str
    values: tuple[float, ...]
    dashed: bool = False


def _y_axis(values: list[float], log: bool) -> tuple[float, float]:
    """(low, high) of the y axis: whole decades on a log axis (at most MAX_DECADES), from
    0 on a linear one."""
    if log:
        positive = [v for v in values if v > 0] or [1.0]
        high = math.ceil(math.log10(max(positive)))
        low = max(math.floor(math.log10(min(positive))), high - MAX_DECADES)
        return float(low), float(max(high, low + 1))
    return 0.0, max(max(values, default=1.0), 1e-300)


def line_chart(
    ident: str,
    title: str,
    x_values: Sequence[float],
    lines: Sequence[Line],
    x_label: str,
    y_label: str,
    y_unit: str,
    log_y: bool,
) -> str:
    """Curves over a swept field, a colour per curve (dashed for a bound), on a log or
    linear y axis; the ticks scaled by :func:`qcalc.units.fmt`."""
    width, height = CHART_WIDTH_PX, 300.0
    left, right, top, bottom = 86.0, width - 12.0, 30.0, height - 38.0
    finite = [v for line in lines for v in line.values if math.isfinite(v)]
    y_low, y_high = _y_axis(finite, log_y)
    x_low, x_high = float(min(x_values)), float(max(x_values))
    x_span = (x_high - x_low) or 1.0

    def x(value: float) -> float:
        return left + (value - x_low) / x_span * (right - left)

    def y(value: float) -> float:
        level = math.log10(value) if log_y else value
        return bottom - (max(level, y_low) - y_low) / (y_high - y_low) * (bottom - top)

    ticks = (
        [10.0**e for e in range(int(y_low), int(y_high) + 1)]
        if log_y
        else [y_high * i / 4 for i in range(5)]
    )
    parts = [
        f'<line x1="{_num(left)}" y1="{_num(y(t))}" x2="{_num(right)}" y2="{_num(y(t))}" '
        f'stroke="{GRID_COLOUR}" stroke-width="1"/>'
        + _text(left - 6, y(t) + 4, fmt(t, y_unit, 3), "end")
        for t in ticks
    ]
    for t in (x_low, (x_low + x_high) / 2, x_high):
        parts.append(_text(x(t), bottom + 16, f"{t:.4g}", "middle"))
    parts.append(_text((left + right) / 2, height - 4, x_label, "middle"))
    middle = (top + bottom) / 2
    parts.append(
        _text(12, middle, y_label, "middle", f' transform="rotate(-90 12 {_num(middle)})"')
    )
    lx = left
    for i, line in enumerate(lines):
        colour = PALETTE[i % len(PALETTE)]
        dash = ' stroke-dasharray="6 3"' if line.dashed else ""
        parts.append(
            f'<line x1="{_num(lx)}" y1="14" x2="{_num(lx + 18)}" y2="14" stroke="{colour}" '
            f'stroke-width="2"{dash}/>' + _text(lx + 22, 18, line.label)
        )
        lx += 34 + text_width_px(line.label)
        shown = [
            (x(px), y(py))
            for px, py in zip(x_values, line.values, strict=True)
            if math.isfinite(py) and (py > 0 or not log_y)
        ]
        path = " ".join(
            f"{'M' if j == 0 else 'L'}{_num(a)},{_num(b)}" for j, (a, b) in enumerate(shown)
        )
        parts.append(
            f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}>'
            f"<title>{esc(line.label)}</title></path>"
        )
    said = "; ".join(
        f"{line.label} from {fmt(line.values[0], y_unit)} to {fmt(line.values[-1], y_unit)}"
        for line in lines
        if line.values
    )
    desc = f"{y_label} against {x_label}, {x_low:.4g} to {x_high:.4g}: {said}."
    return figure(ident, width, height, title, desc, "".join(parts))
