"""One self-contained HTML page for people who decide: ``qcalc report PATH… --output FILE``.

Per scenario file: the network drawn from its node coordinates (or a deterministic
layout, said so), each demand's stage ladder with the reasons, its key and pair rates
against PLOB, its ``expect`` checks, what it would take to meet what it misses, and the
loss waterfall of each link from its named budget terms; for several files, a summary
table first.

The numbers are those of ``qcalc stage --format json`` and ``qcalc links --format
json`` — the same chain (:func:`qcalc.api.evaluate` → ``Result.to_dict``;
:func:`qcalc.api.link_budgets` → :func:`qcalc.results.links_dict`) — printed with
:func:`qcalc.units.fmt`; the counts and exit code are those of ``qcalc batch``.
Nothing here computes physics.

The page needs nothing but itself: styles inline, figures as inline SVG
(:mod:`qcalc.svg`), no script, no font, no image, no link outside the page; its content
security policy forbids loading anything, so a viewer fetches nothing even if text were
to slip through. Every scenario text is HTML-escaped. It is accessible (a heading per
part, a text alternative per figure, table headers with ``scope``), fits a phone's width
(viewport meta, tables that scroll inside their box, figures that scale) and prints
(a scenario per page, no navigation). The same inputs give the same bytes: no date.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import field, replace
from typing import Any, NamedTuple

from qcalc import __version__
from qcalc.errors import QcalcError, bug_in_file
from qcalc.records import record
from qcalc.svg import (
    GraphEdge,
    GraphNode,
    Line,
    RateRow,
    esc,
    line_chart,
    network,
    probability_bars,
    rates_chart,
    waterfall,
)
from qcalc.units import fmt, plural, unit_of

#: Distinct link budgets drawn as waterfalls per scenario; links with the same terms
#: share one drawing, and the budgets beyond this are in the links table only.
MAX_WATERFALLS = 12
#: Nodes in a row of the snake layout of a chain.
CHAIN_ROW = 8
#: Chains longer than this name only some of their nodes in the drawing (all in titles).
LABEL_ALL_NODES = 16

CSS = """\
:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1a1a1a;background:#fff;overflow-wrap:break-word}
header,nav,main,footer{max-width:62rem;margin:0 auto;padding:0 1rem}
h1{font-size:1.6rem;margin:1rem 0 .25rem}
h2{font-size:1.35rem;margin:2.5rem 0 .5rem;padding-top:1rem;border-top:3px solid #0072b2}
h3{font-size:1.15rem;margin:1.75rem 0 .4rem}
h4{font-size:1.02rem;margin:1.25rem 0 .35rem}
p,ul,ol{margin:.4rem 0 .8rem}
a{color:#005a8c}
.scroll{overflow-x:auto;margin:.5rem 0 1rem}
table{border-collapse:collapse;width:100%;font-size:.92rem}
caption{text-align:left;font-weight:600;padding:.2rem 0}
th,td{border-bottom:1px solid #d0d0d0;padding:.3rem .5rem;text-align:left;vertical-align:top}
thead th{border-bottom:2px solid #808080;white-space:nowrap}
tbody+tbody{border-top:2px solid #808080}
th[scope=rowgroup]{font-weight:600;min-width:9rem}
td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.pass{color:#05603a;font-weight:600}
.fail{color:#b42318;font-weight:600}
.error{color:#b42318}
.met{color:#05603a}
.unmet{color:#595959;white-space:nowrap}
th .meta{font-weight:normal}
.meta{color:#404040;font-size:.95rem}
.verdict{display:inline-block;padding:.1rem .5rem;border-radius:.3rem;border:1px solid}
.note{color:#404040;font-size:.93rem}
figure{margin:.75rem 0 1.25rem}
figcaption{font-size:.9rem;color:#404040;margin-top:.25rem}
svg.chart{display:block;width:100%;max-width:40rem;height:auto}
figure{overflow-x:auto}
pre{white-space:pre-wrap;overflow-wrap:anywhere}
@media (max-width:40rem){
body{font-size:15px}
h1{font-size:1.35rem}
h2{font-size:1.2rem}
th,td{padding:.25rem .3rem}
svg.chart{min-width:20rem}
}
@media print{
body{font-size:10pt}
nav{display:none}
header,main,footer{max-width:none;padding:0}
section.scenario{break-before:page}
figure,tr,.scroll{break-inside:avoid}
.scroll,figure{overflow:visible}
svg.chart{min-width:0}
a{color:inherit;text-decoration:none}
h2{border-top:none}
}
"""

#: Loads nothing, runs nothing: only the page's own inline styles apply.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


# ----------------------------------------------------------------------------- data


@record(frozen=True)
class NodeInfo:
    """What the drawing needs of a node: its name, its kind (its role, or ``orbit``)
    and its coordinates where the scenario gives them. [deg]"""

    name: str
    kind: str
    latitude_deg: float | None = None
    longitude_deg: float | None = None


@record(frozen=True)
class Page:
    """Everything the report shows of one scenario file: the ``qcalc batch`` record
    (``data`` is :func:`qcalc.results.scenario_dict`), the ``qcalc links`` record, the
    nodes, and the scenario's own words; or the error that stopped it."""

    file: str
    data: dict[str, Any] | None = None
    links: list[dict[str, Any]] = field(default_factory=list)
    nodes: tuple[NodeInfo, ...] = ()
    description: str = ""
    references: tuple[str, ...] = ()
    error: str | None = None
    internal: bool = False
    links_error: str | None = None
    #: The columns of the sweep asked for (:func:`qcalc.api.sweep`), or why there is none.
    sweep: dict[str, list[float]] | None = None
    sweep_error: str | None = None


@record(frozen=True)
class SweepAsk:
    """A sweep to draw for every scenario: one field path, its values, the metrics."""

    field: str
    values: tuple[float, ...]
    metrics: tuple[str, ...] = ("key_rate_bps",)


def _coordinate(node: Any, name: str) -> float | None:
    """A node's coordinate field, when the scenario format has it and the file gives it."""
    value = getattr(node, name, None)
    try:
        number = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return number if number is not None and math.isfinite(number) else None


def node_info(node: Any) -> NodeInfo:
    """A scenario node as the drawing sees it: in ``orbit`` when it has an altitude or an
    orbit, a ``candidate`` site of network design (``qcalc plan``), else by its role."""
    in_orbit = getattr(node, "altitude_km", None) is not None or getattr(node, "orbit", None)
    candidate = getattr(node, "candidate", None) is not None
    return NodeInfo(
        name=node.name,
        kind="orbit" if in_orbit else "candidate" if candidate else node.role,
        latitude_deg=_coordinate(node, "latitude_deg"),
        longitude_deg=_coordinate(node, "longitude_deg"),
    )


def collect(
    files: Sequence[str],
    progress: Callable[[int], None] | None = None,
    window: Any = None,
    samples: int = 0,
    seed: int = 0,
    sweep: SweepAsk | None = None,
) -> list[Page]:
    """A page per file, in order (:func:`page_of`); ``progress(1)`` after each."""
    pages = []
    for path in files:
        page = page_of(path, window, samples, seed)
        pages.append(page if sweep is None or page.data is None else with_sweep(page, sweep))
        if progress:
            progress(1)
    return pages


def page_of(path: str, window: Any = None, samples: int = 0, seed: int = 0) -> Page:
    """Load and evaluate one file as ``qcalc stage`` and ``qcalc links`` do, through the
    library (:func:`qcalc.api.evaluate` with the levers of the demands that fall short,
    :func:`qcalc.api.link_budgets`); never raises. As in ``qcalc batch``, a file that
    cannot be evaluated is a page with its error (``internal`` for a bug in qcalc).

    Satellites given by a TLE are propagated over ``window``
    (:func:`qcalc.orbits.orbit_window`) as ``qcalc stage --from … --days …`` does; the
    passes land under ``data["orbits"]`` as in its JSON. A scenario with uncertain inputs
    is drawn ``samples`` times as ``qcalc stage --samples N --seed S`` does
    (:func:`qcalc.uncertainty.run`; ``data`` is then its JSON, with percentiles and
    probabilities), and so is one whose demand asks for a probability, with the default
    number of draws, as ``qcalc stage`` does; otherwise it is evaluated at its medians,
    said in a note."""
    from qcalc import api, orbits
    from qcalc.results import links_dict

    try:
        scenario = api.load_scenario(path)
        data = _sampled_data(path, scenario, samples, seed)
        if data is None:
            data = api.evaluate(scenario, levers="short").to_dict()
            _, orbit_data = orbits.orbit_data(scenario, window)
            if orbit_data is not None:
                data["orbits"] = orbit_data
        page = Page(
            path,
            data=data,
            nodes=tuple(node_info(n) for n in scenario.nodes.values()),
            description=scenario.description,
            references=tuple(scenario.references),
        )
    except QcalcError as exc:
        return Page(path, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - isolation: one file never stops a report
        return Page(path, error=bug_in_file(path, exc), internal=True)
    try:
        return replace(page, links=links_dict(scenario, api.link_budgets(scenario))["links"])
    except QcalcError as exc:
        return replace(page, links_error=str(exc))


def with_sweep(page: Page, ask: SweepAsk) -> Page:
    """The page with the columns of ``ask`` swept over its scenario's first demand (as
    ``qcalc sweep`` does, with the PLOB ceiling beside a key rate), or with why not (a
    scenario without that field, say)."""
    from qcalc import api

    metrics = list(ask.metrics)
    if "key_rate_bps" in metrics and "plob_bps" not in metrics:
        metrics.append("plob_bps")
    try:
        scenario = api.load_scenario(page.file)
        grid = api.sweep(scenario, vary={ask.field: ask.values}, metrics=metrics)
    except QcalcError as exc:
        return replace(page, sweep_error=str(exc))
    columns = {name: [float(v) for v in column] for name, column in grid.columns.items()}
    return replace(page, sweep=columns)


def _sampled_data(path: str, scenario: Any, samples: int, seed: int) -> dict[str, Any] | None:
    """The JSON of ``qcalc stage --samples`` for a scenario with uncertain inputs when
    draws are asked for (``samples``) or a demand asks for a probability; else None."""
    from qcalc import uncertainty

    if not scenario.uncertain:
        return None
    note = uncertainty.probability_note(scenario, seed)
    draws = samples or (uncertainty.DEFAULT_SAMPLES if note else 0)
    if not draws:
        return None
    sampled = uncertainty.run(path, draws, seed, uncertainty.DEFAULT_SAMPLER)
    if not samples and note:
        sampled.notes.append(f"{note}; --samples N to change")
    from qcalc.uncertainty_report import scenario_data

    return scenario_data(sampled)


def summary_of(pages: Sequence[Page]) -> Any:
    """The :class:`qcalc.batch.Summary` of the pages: the counts and exit code of
    ``qcalc batch`` on the same files."""
    from qcalc.batch import summarise

    return summarise([_file_result(p) for p in pages])


# ----------------------------------------------------------------------------- values


def _scalar(value: Any) -> float | None:
    """One number to draw for a value: the number, the median of a pass's array, the
    P50 of an uncertain value; None for nothing."""
    if isinstance(value, dict):
        centre = value.get("percentiles", value).get("p50")
        return _scalar(centre) if centre is not None else _scalar(value.get("mean"))
    if isinstance(value, list | tuple):
        numbers = sorted(v for v in (_scalar(x) for x in value) if v is not None)
        return numbers[len(numbers) // 2] if numbers else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def value_text(value: Any, unit: str = "") -> str:
    """A value for people: :func:`qcalc.units.fmt` of a number or an array (its range),
    "P50 (P5–P95)" of an uncertain value, "—" for none."""
    if value is None:
        return "—"
    if isinstance(value, dict):
        spread = value.get("percentiles", value)
        if {"p5", "p50", "p95"} <= set(spread):
            return (
                f"{fmt(spread['p50'], unit)} (P5 {fmt(spread['p5'], unit)}, "
                f"P95 {fmt(spread['p95'], unit)})"
            )
        if "mean" in value:
            return fmt(value["mean"], unit)
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    return fmt(value, unit)


#: Unit suffixes a label drops (the value carries its unit).
_LABEL_DROPS = ("_bps", "_hz", "_db", "_km", "_deg", "_s")


def key_label(key: str) -> str:
    """``key_bits_per_day`` → ``key bits per day``, ``pass_duration_s`` → ``pass duration``."""
    for suffix in _LABEL_DROPS:
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
            break
    return key.replace("_", " ")


# ----------------------------------------------------------------------------- layout


def _is_chain(names: list[str], edges: list[tuple[str, str]]) -> list[str] | None:
    """The nodes in order when the links form one simple path through all of them."""
    neighbours: dict[str, set[str]] = {n: set() for n in names}
    for a, b in edges:
        if a != b:
            neighbours[a].add(b)
            neighbours[b].add(a)
    pairs = {frozenset(e) for e in edges if e[0] != e[1]}
    if len(names) < 2 or len(pairs) != len(names) - 1:
        return None
    if any(len(v) > 2 for v in neighbours.values()):
        return None
    ends = [n for n in names if len(neighbours[n]) == 1]
    if len(ends) != 2:
        return None
    order, previous = [ends[0]], None
    while len(order) < len(names):
        following = [n for n in neighbours[order[-1]] if n != previous]
        if not following:
            return None
        previous = order[-1]
        order.append(following[0])
    return order


class Layout(NamedTuple):
    """Where the network drawing puts each node, what the positions mean, and whether
    x and y share one scale (a map)."""

    nodes: list[GraphNode]
    caption: str
    to_scale: bool = False


def layout(nodes: Sequence[NodeInfo], edges: Sequence[tuple[str, str]]) -> Layout:
    """Positions in [0, 1]² (y downwards) for the network drawing, and the caption that
    says what the positions mean.

    From coordinates when every node on the ground has a latitude and longitude: an
    equirectangular map, north up, east to the right, x scaled by the cosine of the
    mean latitude; nodes in orbit above the stations they link to. Otherwise a
    deterministic layout that carries no meaning: a chain in reading order, wrapped
    every :data:`CHAIN_ROW` nodes, anything else on a circle in the file's order."""
    names = [n.name for n in nodes]
    ground = [n for n in nodes if n.kind != "orbit"]
    located = [n for n in nodes if n.latitude_deg is not None and n.longitude_deg is not None]
    if ground and all(n in located for n in ground):
        return _map_layout(nodes, edges)
    if located:
        why = (
            f"latitude and longitude are given for {len(located)} of the "
            f"{plural(len(ground), 'node on the ground', 'nodes on the ground')} only, so "
        )
    else:
        why = "the scenario gives no coordinates, so "
    chain = _is_chain(names, list(edges))
    kind = {n.name: n.kind for n in nodes}
    if chain is not None:
        per_row = min(CHAIN_ROW, len(chain))
        rows = math.ceil(len(chain) / per_row)
        placed = []
        for i, name in enumerate(chain):
            row, col = divmod(i, per_row)
            if row % 2:
                col = per_row - 1 - col  # a snake: each row runs back under the last
            x = col / (per_row - 1) if per_row > 1 else 0.5
            y = row / (rows - 1) if rows > 1 else 0.5
            placed.append(GraphNode(name, x, y, kind[name]))
        return Layout(
            placed,
            why + "the chain is drawn in order along a line (positions carry no meaning).",
        )
    count = len(nodes)
    placed = [
        GraphNode(
            n.name,
            0.5 + 0.5 * math.sin(2 * math.pi * i / count) if count > 1 else 0.5,
            0.5 - 0.5 * math.cos(2 * math.pi * i / count) if count > 1 else 0.5,
            n.kind,
        )
        for i, n in enumerate(nodes)
    ]
    return Layout(
        placed,
        why + "nodes are placed on a circle in the file's order (positions carry no meaning).",
    )


def _map_layout(nodes: Sequence[NodeInfo], edges: Sequence[tuple[str, str]]) -> Layout:
    ground = [n for n in nodes if n.kind != "orbit" or n.latitude_deg is not None]
    lat0 = math.radians(sum(float(n.latitude_deg or 0.0) for n in ground) / len(ground))
    lon0 = float(ground[0].longitude_deg or 0.0)

    def east(lon: float) -> float:  # the shorter way round from the first node
        return ((lon - lon0 + 180.0) % 360.0) - 180.0

    xy = {
        n.name: (
            east(float(n.longitude_deg or 0.0)) * math.cos(lat0),
            -float(n.latitude_deg or 0.0),
        )
        for n in ground
    }
    xs, ys = [p[0] for p in xy.values()], [p[1] for p in xy.values()]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-9)
    # Keep the map's shape: one scale for both axes, centred in the box.
    width_share, height_share = (max(xs) - min(xs)) / span, (max(ys) - min(ys)) / span
    in_orbit = [n for n in nodes if n.name not in xy]
    top = 0.25 if in_orbit else 0.0
    placed = {
        name: GraphNode(
            name,
            0.5 + ((x - min(xs)) / span - width_share / 2),
            top + (1 - top) * (0.5 + ((y - min(ys)) / span - height_share / 2)),
            "",
        )
        for name, (x, y) in xy.items()
    }
    for i, n in enumerate(in_orbit):
        linked = [b if a == n.name else a for a, b in edges if n.name in (a, b)]
        below = [placed[m].x for m in linked if m in placed]
        x = sum(below) / len(below) if below else (i + 1) / (len(in_orbit) + 1)
        placed[n.name] = GraphNode(n.name, x, 0.0, "orbit")
    kinds = {n.name: n.kind for n in nodes}
    result = [GraphNode(p.name, p.x, p.y, kinds[p.name]) for p in placed.values()]
    order = {n.name: i for i, n in enumerate(nodes)}
    result.sort(key=lambda p: order[p.name])
    caption = "Nodes on the ground at their latitude and longitude (equirectangular, north up)."
    if in_orbit:
        caption += " Nodes in orbit are drawn above the stations they link to, not at a position."
    return Layout(result, caption, to_scale=True)


# ----------------------------------------------------------------------------- HTML


def _cell(text: str, numeric: bool = False, css: str = "") -> str:
    classes = " ".join(c for c in ("n" if numeric else "", css) if c)
    return f'<td class="{classes}">{text}</td>' if classes else f"<td>{text}</td>"


def table(
    caption: str, columns: Sequence[str], rows: Iterable[Sequence[str]], row_headers: bool = True
) -> str:
    """An HTML table in a box that scrolls sideways on a narrow screen. Cells are HTML
    (escape them first); a cell written ``("text", "n")`` is right-aligned. The first
    cell of each row is its header when ``row_headers``."""
    head = "".join(f'<th scope="col">{esc(c)}</th>' for c in columns)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            if i == 0 and row_headers:
                cells.append(f'<th scope="row">{cell}</th>')
            else:
                cells.append(cell if cell.startswith("<td") else f"<td>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="scroll" role="region" aria-label="{esc(caption)}" tabindex="0">'
        f"<table><caption>{esc(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _paragraphs(text: str) -> str:
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    return "".join(f"<p>{esc(' '.join(b.split()))}</p>" for b in blocks)


def _passed_text(passed: bool) -> str:
    return '<span class="pass">pass</span>' if passed else '<span class="fail">FAIL</span>'


class _Ids:
    """Unique, safe element ids for one page: ``s3``, ``s3-d1-rates``, …"""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def make(self, *parts: object) -> str:
        base = "-".join(re.sub(r"[^a-z0-9]+", "", str(p).lower()) or "x" for p in parts)
        ident, n = base, 1
        while ident in self.used:
            n += 1
            ident = f"{base}-{n}"
        self.used.add(ident)
        return ident


def _network(page: Page, data: dict[str, Any], ident: str) -> str:
    if not page.nodes:
        return ""
    on_path = {
        frozenset(pair)
        for d in data["demands"]
        for pair in zip(d["path"], d["path"][1:], strict=False)
    }
    edges = []
    for link in page.links:
        a, b = link["ends"]
        pair = frozenset((a, b))
        edges.append(GraphEdge(a, b, link["name"], link["channel"], pair in on_path))
    placed, caption, to_scale = layout(page.nodes, [(e.a, e.b) for e in edges])
    names = ", ".join(n.name for n in page.nodes)
    desc = (
        f"{plural(len(page.nodes), 'node')} ({names}) and {plural(len(edges), 'link')}: "
        + "; ".join(f"{e.label} joins {e.a} and {e.b} by {e.channel}" for e in edges)
        + f". {caption}"
    )
    label_every = 1 if len(placed) <= LABEL_ALL_NODES else math.ceil(len(placed) / 8)
    title = f"Network of {data['scenario']}"
    svg = network(ident, title, desc, placed, edges, label_every, to_scale)
    if label_every > 1:
        caption += " Only some nodes are named in the drawing; every one is named in its tooltip."
    return (
        f'<h3 id="{ident}-h">Network</h3><figure>{svg}'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def _stage_ladder(d: dict[str, Any], ident: str) -> str:
    rows = []
    for s in d["stages"]:
        met = s.get("met")
        word = '<span class="met">met</span>' if met else '<span class="unmet">not met</span>'
        if "probability" in s:
            word += f" (probability {esc(value_text(s['probability']))})"
        rows.append([esc(s["stage"]), esc(s["name"]), word, esc(s["reason"])])
    return table(f"Stage ladder of demand {d['name']}", ["stage", "name", "met", "reason"], rows)


def _rate_chart_rows(d: dict[str, Any]) -> list[RateRow]:
    """The bars of a demand's rate chart: each protocol's key against its bound, the
    limiting hop, PLOB of the end-to-end channel when no protocol is bounded by it, and
    the Bell pairs (one ebit each: the same PLOB bounds them, Pirandola et al. 2017)."""
    protocols = d.get("protocols", [])
    hops = d.get("hops") or []
    chart_rows = [
        RateRow(
            f"{p['protocol']} ({p['scope']})",
            _scalar(p.get("key_rate_bps")) or 0.0,
            _scalar(p.get("bound_bps")),
        )
        for p in protocols
    ]
    limiting = next((h for h in hops if h["link"] == d.get("limiting_hop")), None)
    if limiting is not None and len(hops) > 1:
        label = f"limiting hop {limiting['link']} ({limiting.get('protocol') or 'no key'})"
        chart_rows.append(RateRow(label, _scalar(limiting.get("key_rate_bps")) or 0.0))
    plob = _scalar(protocols[0].get("plob_bps")) if protocols else None
    if plob is not None and all(p.get("bound_bps") != p.get("plob_bps") for p in protocols):
        chart_rows.append(RateRow("PLOB of the end-to-end channel", plob, None))
    pairs = _scalar(d.get("pair_rate_hz")) or 0.0
    if pairs > 0:
        bound = _scalar(protocols[0].get("bound_bps")) if protocols else None
        chart_rows.append(RateRow("Bell pairs", pairs, bound, "pairs/s"))
    return chart_rows


def _protocols_table(d: dict[str, Any]) -> str:
    """The key rate of every protocol against PLOB and its own bound."""
    rows = [
        [
            esc(p["protocol"]),
            esc(p["scope"]),
            _cell(esc(value_text(p.get("key_rate_bps"), "bit/s")), True),
            _cell(esc(value_text(p.get("plob_bps"), "bit/s")), True),
            _cell(esc(value_text(p.get("bound_bps"), "bit/s")), True),
            _cell(esc(value_text(p.get("fraction_of_bound"))), True),
            esc(p.get("bound") or "") + (f" — {esc(p['note'])}" if p.get("note") else ""),
        ]
        for p in d.get("protocols", [])
    ]
    return table(
        f"Key rate of every protocol for demand {d['name']}",
        ["protocol", "scope", "key rate", "PLOB", "bound", "of bound", "bound and notes"],
        rows,
    )


def _hops_table(d: dict[str, Any]) -> str:
    """Each hop of a demand with its loss and its own key (the limiting one marked)."""
    rows = [
        [
            esc(h["link"]) + (" (limiting)" if h["link"] == d.get("limiting_hop") else ""),
            esc(f"{h['from']} → {h['to']}"),
            _cell(esc(value_text(h.get("loss_db"), "dB")), True),
            _cell(esc(value_text(h.get("key_rate_bps"), "bit/s")), True),
            esc(h.get("protocol") or "no key"),
        ]
        for h in d.get("hops") or []
    ]
    return table(
        f"Each hop of demand {d['name']}: its loss and its own key",
        ["hop", "from → to", "loss", "key rate", "protocol"],
        rows,
    )


def _rate_summary(d: dict[str, Any], pairs: float) -> str:
    """The best key, the Bell pairs (when there are any or the application wants them)
    and the end-to-end channel loss, as a list."""
    best = (
        f"best key: {d['protocol']} at {value_text(d.get('key_rate_bps'), 'bit/s')} "
        f"({d.get('key_scope')})"
        if d.get("protocol")
        else "no protocol gives key"
    )
    items = [esc(best)]
    if pairs > 0 or d.get("application") != "qkd":
        items.append(
            esc(
                f"Bell pairs: {value_text(d.get('pair_rate_hz'), 'pairs/s')} at fidelity "
                f"{value_text(d.get('fidelity'))}"
            )
        )
    items.append(esc(f"end-to-end channel loss: {value_text(d.get('channel_loss_db'), 'dB')}"))
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def _rates(d: dict[str, Any], ident: str) -> str:
    """A demand's rates: summary, chart against the bounds, protocol and hop tables."""
    out = []
    chart_rows = _rate_chart_rows(d)
    pairs = _scalar(d.get("pair_rate_hz")) or 0.0
    if chart_rows:
        title = f"Key and pair rates of demand {d['name']} against their bounds"
        axis = "bit/s, pairs/s" if pairs > 0 else "bit/s"
        out.append(f"<figure>{rates_chart(ident, title, chart_rows, axis)}</figure>")
    if d.get("protocols", []):
        out.append(_protocols_table(d))
    if len(d.get("hops") or []) > 1:
        out.append(_hops_table(d))
    return _rate_summary(d, pairs) + "".join(out)


def _passes(d: dict[str, Any]) -> str:
    """The demand's whole-pass figures: a row per protocol and hop, a column per quantity."""
    passes = d.get("passes")
    if not isinstance(passes, dict) or not passes:
        return ""
    entries = [(name, v) for name, v in passes.items() if isinstance(v, dict)]
    keys = list(dict.fromkeys(k for _, v in entries for k in v))
    if not keys:
        return ""
    rows = []
    for name, values in entries:
        row = [esc(name)]
        for key in keys:
            value = values.get(key)
            if isinstance(value, str):
                row.append(esc(value))
            else:
                row.append(_cell(esc(value_text(value, unit_of(key))), True))
        rows.append(row)
    return table(
        f"Satellite passes of demand {d['name']}", ["protocol", *map(key_label, keys)], rows
    )


def _checks(d: dict[str, Any]) -> str:
    expect = d.get("expect") or {}
    checks = expect.get("checks") or []
    if not checks:
        return '<p class="note">No <code>expect</code> checks for this demand.</p>'
    rows = []
    for c in checks:
        unit = unit_of(c["field"])
        rows.append(
            [
                esc(f"{c['field']} {c['op']} {c['want']:g}"),
                _cell(esc(value_text(c.get("got"), unit)), True),
                _passed_text(bool(c.get("passed")))
                + (
                    f" (probability {esc(value_text(c['probability']))})"
                    if "probability" in c
                    else ""
                ),
            ]
        )
    return table(f"Expect checks of demand {d['name']}", ["check", "got", "result"], rows)


def _levers(d: dict[str, Any]) -> str:
    nxt = d.get("next_stage")
    if not nxt:
        return ""
    levers = nxt.get("levers") or []
    head = f"<p>What it would take ({esc(nxt.get('target', ''))}):"
    if not levers:
        return head + " no single change within physical bounds does it.</p>"
    items = "".join(
        f"<li>{esc(lv['field'])} {esc(lv['op'])} {esc(value_text(lv['needs']))} "
        f"(now {esc(value_text(lv['now']))}; {esc(lv['scope'])})</li>"
        for lv in levers
    )
    return f"{head}</p><ul>{items}</ul>"


def _spread(d: dict[str, Any], ident: str) -> str:
    """A demand over the draws of its uncertain inputs: P5/P50/P95 and mean of every
    metric and protocol, the chance of each stage, the chance every check passes."""
    block = d.get("uncertainty")
    if not isinstance(block, dict):
        return ""
    rows = []
    for metric, spread in (block.get("metrics") or {}).items():
        unit = unit_of(metric)
        rows.append(_spread_row(key_label(metric), spread, unit))
    for protocol, spread in (block.get("protocols") or {}).items():
        rows.append(_spread_row(f"key rate, {protocol}", spread, "bit/s"))
    parts = [
        table(
            f"Spread of demand {d['name']} over the draws of its uncertain inputs",
            ["quantity", "P5", "P50", "P95", "mean"],
            rows,
        )
    ]
    stages = block.get("stage_probabilities") or {}
    if stages:
        bars = [(f"stage {k}", float(v)) for k, v in stages.items()]
        chart = probability_bars(ident, f"Stage reached by demand {d['name']}", bars)
        parts.append(
            f"<figure>{chart}<figcaption>The chance of reaching each stage over the draws "
            "of the uncertain inputs.</figcaption></figure>"
        )
    if "expect_probability" in block:
        parts.append(
            f"<p>Probability that every expect check passes: "
            f"{esc(value_text(block['expect_probability']))}.</p>"
        )
    return "".join(parts)


def _spread_row(label: str, spread: Any, unit: str) -> list[str]:
    pct = spread.get("percentiles", {}) if isinstance(spread, dict) else {}
    return [
        esc(label),
        *(_cell(esc(value_text(pct.get(k), unit)), True) for k in ("p5", "p50", "p95")),
        _cell(
            esc(value_text(spread.get("mean") if isinstance(spread, dict) else None, unit)), True
        ),
    ]


def _inputs(data: dict[str, Any]) -> str:
    """The uncertain inputs of a sampled scenario: each distribution and its draws."""
    block = data.get("uncertainty")
    if not isinstance(block, dict) or not block.get("inputs"):
        return ""
    rows = []
    for item in block["inputs"]:
        params = ", ".join(
            f"{k} {v:g}" if isinstance(v, int | float) else f"{k} {v}"
            for k, v in (item.get("parameters") or {}).items()
        )
        pct = item.get("percentiles") or {}
        rows.append(
            [
                esc(item.get("field", "")),
                esc(f"{item.get('kind', '')} ({params})"),
                *(_cell(esc(value_text(pct.get(k))), True) for k in ("p5", "p50", "p95")),
            ]
        )
    head = (
        f"<p>{esc(plural(int(block.get('samples', 0)), 'draw'))} of the uncertain inputs "
        f"({esc(block.get('sampler', ''))}, seed {esc(block.get('seed', ''))}); the figures "
        "below are at the medians, with their spread.</p>"
    )
    return head + table("Uncertain inputs", ["field", "distribution", "P5", "P50", "P95"], rows)


def _demand(d: dict[str, Any], ids: _Ids, section: str) -> str:
    ident = ids.make(section, "d", d["name"])
    passed = bool((d.get("expect") or {}).get("passed", True))
    parts = [
        f'<h4 id="{ident}">Demand {esc(d["name"])}: stage {esc(d["stage"])} '
        f"({esc(d['stage_name'])}) — {_passed_text(passed)}</h4>",
        f'<p class="meta">{esc(d["application"])} between {esc(" and ".join(d["ends"]))}; '
        f"path {esc(' → '.join(d['path']))}</p>",
        _stage_ladder(d, ident),
        _rates(d, ident + "-rates"),
        _spread(d, ident + "-spread"),
        _passes(d),
        _checks(d),
        _levers(d),
    ]
    parts.append(_notes(d.get("notes") or [], "note: "))
    return "".join(parts)


def _notes(notes: Sequence[str], prefix: str = "") -> str:
    """A list of notes (nothing for none)."""
    if not notes:
        return ""
    return '<ul class="note">' + "".join(f"<li>{prefix}{esc(n)}</li>" for n in notes) + "</ul>"


def _orbits(orbit: dict[str, Any], ids: _Ids, section: str) -> str:
    """Satellites given by a TLE: every pass over each station in the window, key per
    pass (P5/P50/P95), per day and per year, as ``qcalc stage --from`` computes them."""
    parts = [f'<h3 id="{ids.make(section, "orbits")}">Satellite passes</h3>']
    window = orbit.get("window")
    satellites = orbit.get("satellites") or {}
    sats = "; ".join(
        f"{name} (TLE epoch {info.get('epoch_utc', '?')[:16].replace('T', ' ')} UTC)"
        for name, info in satellites.items()
    )
    if window:
        parts.append(
            f"<p>{esc(sats)} propagated from {esc(window['from_utc'][:16].replace('T', ' '))} "
            f"UTC for {esc(fmt(window['days']))} days.</p>"
        )
    else:
        parts.append(f"<p>{esc(sats)}.</p>")
    start = window["from_utc"] if window else None
    for item in orbit.get("demands") or []:
        parts.append(_demand_passes(item, start, ids, section))
    parts.append(_notes(orbit.get("notes") or []))
    return "".join(parts)


def _station_passes_row(st: dict[str, Any]) -> list[str]:
    """One station's passes used and key (per pass, per day with and without clouds,
    per year)."""
    return [
        esc(st["station"]),
        esc(st.get("protocol") or "no key"),
        _cell(esc(f"{st['passes_used']} of {st['passes_found']}"), True),
        _cell(esc(value_text(st.get("key_bits_per_pass"), "bits")), True),
        _cell(esc(value_text(st.get("clear_sky_key_bits_per_day"), "bits")), True),
        _cell(esc(value_text(st.get("key_bits_per_day"), "bits")), True),
        _cell(esc(value_text(st.get("key_bits_per_year"), "bits")), True),
    ]


def _orbit_summary(item: dict[str, Any]) -> str:
    """A demand's key per day and per year, and when its ``shared_key_bits`` are shared."""
    summary = f"key per day, clouds included: {value_text(item.get('key_bits_per_day'), 'bits')}"
    summary += f"; per year: {value_text(item.get('key_bits_per_year'), 'bits')}"
    if item.get("pairs_per_day") is not None:
        summary = (
            f"Bell pairs per day, clouds included: {value_text(item['pairs_per_day'], 'pairs')}"
            f"; per year: {value_text(item.get('pairs_per_year'), 'pairs')}; pair-weighted "
            f"fidelity {value_text(item.get('pair_fidelity'))}"
        )
    if item.get("shared_key_bits") is not None:
        days = item.get("days_until_shared")
        size = value_text(item["shared_key_bits"], "bits")
        summary += (
            f"; {size} shared after {value_text(days)} days"
            if days is not None
            else f"; {size} never shared: no pass delivers key"
        )
    return f"<p>{esc(summary)}</p>"


def _demand_passes(item: dict[str, Any], start: str | None, ids: _Ids, section: str) -> str:
    """The passes of a demand's satellite: summary, a row per station, every pass drawn."""
    from qcalc.svg import Series, points_chart

    stations = item.get("stations") or []
    name = item["demand"]
    parts = [
        f"<h4>Passes of {esc(item['satellite'])} for demand {esc(name)} "
        f"({esc(item.get('model', ''))})</h4>",
        _orbit_summary(item),
        ""
        if not stations
        else table(
            f"Passes used and key of each station for demand {name}",
            [
                "station",
                "protocol",
                "passes used",
                "key per pass P50 (P5, P95)",
                "per day (clear sky)",
                "per day",
                "per year",
            ],
            [_station_passes_row(st) for st in stations],
        ),
        _pair_passes(item, start, ids, section),
    ]
    series = [
        Series(st["station"], tuple(_pass_point(p, start) for p in st.get("passes") or []))
        for st in stations
    ]
    if any(s.points for s in series):
        parts.append(
            "<figure>"
            + points_chart(
                ids.make(section, "passes", name),
                f"Key of every pass for demand {name}",
                series,
                "days from the window's start",
                "key per pass [bits]",
                "bits",
                "Hollow points are passes that give no key (in daylight, or excluded).",
            )
            + "<figcaption>Each point a pass, at its peak; hollow: a pass that gives no "
            "key (in daylight, or excluded); clear-sky key, before the cloud-free "
            "probability.</figcaption></figure>"
        )
    parts.append(_notes(item.get("notes") or []))
    return "".join(parts)


def _pair_passes(item: dict[str, Any], start: str | None, ids: _Ids, section: str) -> str:
    """Bell pairs sent to both stations in common view (nothing for a key demand): pairs
    per view, per day with and without clouds, per year, their mean fidelity, and every
    view drawn."""
    if item.get("pairs_per_day") is None:
        return ""
    return _pair_table(item) + _pair_chart(item, start, ids, section)


def _pair_chart(item: dict[str, Any], start: str | None, ids: _Ids, section: str) -> str:
    """Clear-sky pairs of every common view against its start (hollow: not used)."""
    from qcalc.svg import Series, points_chart

    views = item.get("pair_passes") or []
    points = tuple(
        (
            _pass_point({"peak_utc": v.get("start_utc")}, start)[0],
            float(v["pairs"]),
            bool(v["used"]),
        )
        for v in views
    )
    if not points:
        return ""
    name = item["demand"]
    return (
        "<figure>"
        + points_chart(
            ids.make(section, "pairs", name),
            f"Bell pairs of every common view for demand {name}",
            [Series("both stations", points)],
            "days from the window's start",
            "pairs per view",
            "pairs",
            "Hollow points are common views that give no pairs (in daylight).",
        )
        + "<figcaption>Each point a common view, at its start; hollow: a view that gives "
        "no pairs (in daylight); clear-sky pairs, before the cloud-free "
        "probabilities.</figcaption></figure>"
    )


def _pair_table(item: dict[str, Any]) -> str:
    """The row of a demand's Bell pairs in common view."""
    views = item.get("pair_passes") or []
    used = sum(1 for v in views if v.get("used"))
    row = [
        _cell(esc(f"{used} of {len(views)}"), True),
        _cell(esc(value_text(item.get("pairs_per_pass"), "pairs")), True),
        _cell(esc(value_text(item.get("clear_sky_pairs_per_day"), "pairs")), True),
        _cell(esc(value_text(item.get("pairs_per_day"), "pairs")), True),
        _cell(esc(value_text(item.get("pairs_per_year"), "pairs")), True),
        _cell(esc(value_text(item.get("pair_fidelity"))), True),
    ]
    return table(
        f"Bell pairs in common view for demand {item['demand']}",
        [
            "common views used",
            "pairs per view P50 (P5, P95)",
            "per day (clear sky)",
            "per day",
            "per year",
            "pair-weighted fidelity",
        ],
        [row],
    )


def _pass_point(one: dict[str, Any], start: str | None) -> tuple[float, float, bool]:
    """(days from the window's start to the peak, clear-sky key [bits], used) of a pass."""
    from datetime import datetime

    days = math.nan
    if start is not None:
        try:
            delta = datetime.fromisoformat(one["peak_utc"]) - datetime.fromisoformat(start)
            days = delta.total_seconds() / 86400.0
        except (KeyError, TypeError, ValueError):
            days = math.nan
    used = bool(one.get("used"))
    return days, float(_scalar(one.get("key_bits")) or 0.0), used


def _terms_key(link: dict[str, Any]) -> tuple[tuple[str, float], ...]:
    return tuple((name, round(_scalar(db) or 0.0, 6)) for name, db in link["terms_db"].items())


def _links_table(page: Page) -> str:
    """The loss budget of every link: length, losses, transmittance, delay, PLOB."""
    rows = [
        [
            esc(link["name"]),
            esc(f"{link['sender']} → {link['receiver']}"),
            esc(link["channel"].replace("_", " ")),
            _cell(esc(value_text(link.get("length_km"), "km")), True),
            _cell(esc(value_text(link.get("loss_db"), "dB")), True),
            _cell(esc(value_text(link.get("channel_loss_db"), "dB")), True),
            _cell(esc(value_text(link.get("transmittance"))), True),
            _cell(esc(value_text(link.get("delay_s"), "s")), True),
            _cell(esc(value_text(link.get("plob_bits_per_use"))), True),
        ]
        for link in page.links
    ]
    return table(
        "Loss budget of every link",
        [
            "link",
            "from → to",
            "channel",
            "length",
            "loss",
            "channel loss",
            "transmittance",
            "delay",
            "PLOB [bits/use]",
        ],
        rows,
    )


def _waterfall_figure(members: list[dict[str, Any]], ident: str) -> str:
    """The waterfall of the loss terms of links sharing one budget, with its caption."""
    first = members[0]
    name = first["name"] if len(members) == 1 else f"{first['name']} and {len(members) - 1} more"
    terms_db = [(t, _scalar(v) or 0.0) for t, v in first["terms_db"].items()]
    svg = waterfall(ident, name, terms_db)
    caption = (
        f"{first['name']}: {first['sender']} → {first['receiver']}, "
        f"{first['channel'].replace('_', ' ')}"
    )
    if len(members) > 1:
        caption = "links " + ", ".join(m["name"] for m in members) + " (the same budget)"
    if any(isinstance(v, list) for v in first["terms_db"].values()):
        caption += "; terms that vary over the pass are drawn at their median"
    caption += "".join(f"; {n}" for n in first.get("notes", []))
    return f"<figure>{svg}<figcaption>{esc(caption)}</figcaption></figure>"


def _links(page: Page, ids: _Ids, section: str) -> str:
    """Every link's loss budget: a table, and a waterfall per distinct budget (at most
    :data:`MAX_WATERFALLS`)."""
    if page.links_error:
        return f'<h3>Links</h3><p class="error">{esc(page.links_error)}</p>'
    if not page.links:
        return ""
    out = [f'<h3 id="{ids.make(section, "links")}">Links</h3>', _links_table(page)]
    groups: dict[tuple[tuple[str, float], ...], list[dict[str, Any]]] = {}
    for link in page.links:
        groups.setdefault(_terms_key(link), []).append(link)
    for drawn, members in enumerate(groups.values()):
        if drawn == MAX_WATERFALLS:
            rest = sum(len(m) for m in list(groups.values())[drawn:])
            out.append(
                f'<p class="note">{esc(plural(rest, "more link"))} with other budgets: '
                "see the table above.</p>"
            )
            break
        out.append(_waterfall_figure(members, ids.make(section, "wf", members[0]["name"])))
    return "".join(out)


def _sweep(page: Page, ids: _Ids, section: str) -> str:
    """The swept metrics against the swept field: rates on a log axis with their PLOB
    ceiling dashed, fidelity and stage on linear axes."""
    head = f'<h3 id="{ids.make(section, "sweep")}">Sweep</h3>'
    if page.sweep is None:
        return head + f'<p class="note">No sweep: {esc(page.sweep_error or "")}</p>'
    names = list(page.sweep)
    field_name, metrics = names[0], [n for n in names[1:] if n != "plob_bps"]
    figures = []
    for metric in metrics:
        lines = [Line(key_label(metric), tuple(page.sweep[metric]))]
        if metric == "key_rate_bps" and "plob_bps" in page.sweep:
            lines.append(Line("PLOB bound", tuple(page.sweep["plob_bps"]), dashed=True))
        unit = unit_of(metric)
        figures.append(
            line_chart(
                ids.make(section, f"sweep-{metric}"),
                f"{key_label(metric)} against {field_name}",
                page.sweep[field_name],
                lines,
                f"{field_name} [{unit_of(field_name) or 'unitless'}]",
                key_label(metric),
                unit,
                log_y=unit in ("bit/s", "pairs/s", "Hz"),
            )
        )
    return head + "".join(f"<figure>{f}</figure>" for f in figures)


def _scenario(page: Page, number: int, ids: _Ids) -> str:
    section = f"s{number}"
    ids.used.add(section)
    if page.data is None:
        kind = "internal error" if page.internal else "error"
        return (
            f'<section class="scenario" id="{section}" aria-labelledby="{section}-h">'
            f'<h2 id="{section}-h">{esc(page.file)}</h2>'
            f'<p class="error"><strong>{kind}:</strong> {esc(page.error or "")}</p></section>'
        )
    data = page.data
    demands = data["demands"]
    failed = sum(not (d.get("expect") or {}).get("passed", True) for d in demands)
    verdict = (
        f'<span class="verdict fail">{esc(plural(failed, "demand"))} failed</span>'
        if failed
        else '<span class="verdict pass">every expect check passed</span>'
    )
    parts = [
        f'<section class="scenario" id="{section}" aria-labelledby="{section}-h">',
        f'<h2 id="{section}-h">{esc(data["scenario"])}</h2>',
        f'<p class="meta">file {esc(page.file)}; {esc(plural(len(demands), "demand"))}; {verdict}</p>',
        _paragraphs(page.description),
    ]
    if page.references:
        parts.append(
            "<p>References:</p><ul>"
            + "".join(f"<li>{esc(r)}</li>" for r in page.references)
            + "</ul>"
        )
    parts.append(_network(page, data, ids.make(section, "net")))
    parts.append(_inputs(data))
    if demands:
        parts.append(f'<h3 id="{ids.make(section, "demands")}">Demands</h3>')
        parts.extend(_demand(d, ids, section) for d in demands)
    else:
        parts.append('<p class="note">The scenario has no demands.</p>')
    if data.get("orbits"):
        parts.append(_orbits(data["orbits"], ids, section))
    if page.sweep is not None or page.sweep_error is not None:
        parts.append(_sweep(page, ids, section))
    parts.append(_links(page, ids, section))
    parts.append("</section>")
    return "".join(parts)


def _summary_table(pages: Sequence[Page]) -> str:
    """A row per demand, a group of rows per file headed by the scenario (a link to its
    section) and its file."""
    groups = []
    for i, page in enumerate(pages, 1):
        name = page.data["scenario"] if page.data else page.file
        head = f'<a href="#s{i}">{esc(name)}</a><br><span class="meta">{esc(page.file)}</span>'
        if page.data is None:
            rows = [
                [
                    '<td colspan="5"><span class="fail">ERROR</span>: the file could not be '
                    "evaluated (see its section)</td>"
                ]
            ]
        elif not page.data["demands"]:
            rows = [['<td colspan="5">no demands</td>']]
        else:
            rows = [
                [
                    f'<th scope="row">{esc(d["name"])}</th>',
                    _cell(esc(f"{d['stage']} ({d['stage_name']})")),
                    _cell(esc(value_text(d.get("key_rate_bps"), "bit/s")), True),
                    _cell(esc(value_text(d.get("pair_rate_hz"), "pairs/s")), True),
                    _cell(_passed_text(bool((d.get("expect") or {}).get("passed", True)))),
                ]
                for d in page.data["demands"]
            ]
        lead = f'<th scope="rowgroup" rowspan="{len(rows)}">{head}</th>'
        body = "".join(
            "<tr>" + (lead if j == 0 else "") + "".join(row) + "</tr>" for j, row in enumerate(rows)
        )
        groups.append(f"<tbody>{body}</tbody>")
    columns = ["scenario", "demand", "stage", "key rate", "pairs", "result"]
    head = "".join(f'<th scope="col">{c}</th>' for c in columns)
    caption = "Every demand of every file"
    return (
        f'<div class="scroll" role="region" aria-label="{caption}" tabindex="0">'
        f"<table><caption>{caption}</caption><thead><tr>{head}</tr></thead>"
        f"{''.join(groups)}</table></div>"
    )


def render(pages: Sequence[Page], title: str = "qcalc report") -> str:
    """The whole report as one HTML document (UTF-8, no external resource)."""
    from qcalc.batch import summary_line

    ids = _Ids()
    summary = summary_of(pages)
    line = summary_line([_file_result(p) for p in pages])
    icon = {0: "all passed", 1: "an expectation failed", 2: "a file could not be evaluated"}
    verdict = icon.get(summary.exit_code, "qcalc failed on a file")
    heading = esc(pages[0].data["scenario"]) if len(pages) == 1 and pages[0].data else esc(title)
    nav = "".join(
        f'<li><a href="#s{i}">{esc(p.data["scenario"] if p.data else p.file)}</a></li>'
        for i, p in enumerate(pages, 1)
    )
    body = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f'<meta name="generator" content="qcalc {esc(__version__)}">',
        f"<title>{heading} — qcalc report</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        f"<header><h1>{heading}</h1>",
        f'<p class="meta">qcalc {esc(__version__)} report: {esc(line)} — {esc(verdict)}.</p>',
        "</header>",
    ]
    if len(pages) > 1:
        body.append(f'<nav aria-label="Scenarios"><ol>{nav}</ol></nav>')
    body.append("<main>")
    if len(pages) > 1:
        body.append('<h2 id="summary">Summary</h2>')
        body.append(_summary_table(pages))
    body.extend(_scenario(p, i, ids) for i, p in enumerate(pages, 1))
    body.append("</main>")
    body.append(
        '<footer><p class="note">Computed by qcalc '
        f"{esc(__version__)}: stages after Wehner, Elkouss and Hanson, Science 362, "
        "eaam9288 (2018); PLOB after Pirandola et al., Nat. Commun. 8, 15043 (2017). "
        "The models and their references: docs/models.md of qcalc.</p></footer>"
    )
    body.append("</body></html>")
    return "\n".join(body) + "\n"


def _file_result(page: Page) -> Any:
    from qcalc.batch import FileResult

    return FileResult(page.file, page.data, page.error, page.internal)
