"""Results → JSON-ready dicts, tables (rich on a terminal, plain text when piped), markdown.

Nothing here computes physics; it only formats what :mod:`qcalc.demands` produced.
"""

from __future__ import annotations

import math
import re
import textwrap
from dataclasses import field
from typing import Any

import numpy as np

from qcalc.demands import DemandResult, ProtocolRate
from qcalc.explain import explain_text as explain_text  # re-exported for the CLI
from qcalc.lossbudget import LinkBudget
from qcalc.protocols.numerics import distinct
from qcalc.protocols.qkd import plob_bound  # of a link budget: LinkBudget has no property yet
from qcalc.records import record
from qcalc.results import (
    demand_dict as demand_dict,
)
from qcalc.results import (
    link_dict as link_dict,
)
from qcalc.results import (
    links_dict as links_dict,
)
from qcalc.results import (
    plain as plain,
)
from qcalc.results import (
    plain_dict as plain_dict,
)
from qcalc.results import (
    protocol_dict as protocol_dict,
)
from qcalc.results import (
    scenario_dict as scenario_dict,
)
from qcalc.results import (
    step_dict as step_dict,
)
from qcalc.results import (
    to_json as to_json,
)
from qcalc.scenario import Scenario
from qcalc.stage import stage_name
from qcalc.units import fmt, unit_of

# ----------------------------------------------------------------------------- tables


@record
class Table:
    """A format-neutral table, rendered by :func:`render_plain`, :func:`render_markdown`
    or :func:`print_rich`.

    ``spill`` names the columns that, when the table is too wide for the terminal, leave
    the grid and print on an indented line under their row (in that order, one at a time,
    until the rest fits). ``sections`` maps a row index to a heading printed above it.
    """

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    footer: list[str] = field(default_factory=list)
    spill: list[str] = field(default_factory=list)
    sections: dict[int, str] = field(default_factory=dict)


#: The one number formatter under the name :mod:`qcalc.batch` still imports; new code
#: calls :func:`qcalc.units.fmt`.
num = fmt


def stage_tables(scenario: Scenario, results: list[DemandResult]) -> list[Table]:
    tables = []
    for r in results:
        stage = r.stage_reached
        t = Table(
            f"{scenario.name} — demand {r.demand.name}: stage {stage} ({stage_name(stage)})",
            ["stage", "name", "met", "reason"],
        )
        for v in r.stages:
            t.rows.append([str(v.stage), v.name, "yes" if np.all(v.met) else "no", v.reason])
        t.footer.append(f"path: {' → '.join(r.path)}")
        t.footer.extend(_check_lines(r))
        if r.next_stage is not None:
            t.footer.append(
                f"what it would take ({r.next_stage.target}):"
                if r.next_stage.levers
                else f"what it would take ({r.next_stage.target}): no single change "
                "within physical bounds does it"
            )
            t.footer.extend(f"  {lever.text()}" for lever in r.next_stage.levers)
        t.footer.extend(f"note: {n}" for n in r.notes)
        tables.append(t)
    return tables


def check_text(field: str, op: str, want: float, got: Any) -> str:
    """``key_rate_bps >= 1000: got 1.149 Mbit/s``: the check as written, the value in the
    unit it was checked in, scaled for people."""
    return f"{field} {op} {want:g}: got {fmt(got, unit_of(field))}"


def _check_lines(r: DemandResult) -> list[str]:
    return [
        f"expect {check_text(c.check.field, c.check.op, c.check.want, c.got)} — "
        f"{'pass' if c.passed else 'FAIL'}"
        for c in r.checks
    ]


def rate_tables(scenario: Scenario, results: list[DemandResult]) -> list[Table]:
    tables = []
    for r in results:
        t = Table(
            f"{scenario.name} — demand {r.demand.name}: {' → '.join(r.path)}",
            ["protocol", "scope", "key rate", "PLOB", "TGW", "of PLOB", "bound", "μ"],
            spill=["scope", "bound"],
        )
        for rate in r.end_to_end:
            t.rows.append(_rate_row(rate))
        for hop_rate in r.hop_rates:
            if hop_rate is not None and len(r.hops) > 1:
                t.rows.append(_rate_row(hop_rate))
        best = f"{r.protocol} at {fmt(r.key_rate_bps, 'bit/s')}" if r.protocol else "none"
        t.footer.append(f"best: {best}")
        t.footer.extend(f"{rate.protocol}: {rate.note}" for rate in r.end_to_end if rate.note)
        t.footer.extend(_convention_lines(r.end_to_end))
        if r.limiting_hop is not None and len(r.hops) > 1:
            h = r.hops[r.limiting_hop]
            t.footer.append(
                f"limiting hop: {h.link.name} ({fmt(h.channel_loss_db, 'dB')} channel loss)"
            )
        t.footer.append(
            f"Bell pairs: {fmt(r.pair_rate_hz, 'pairs/s')} at fidelity {fmt(r.fidelity)}"
        )
        mc = r.monte_carlo
        if mc is not None:
            t.footer.append(
                f"Monte Carlo ({mc.trials:,} trials, seed {mc.seed}): "
                f"{fmt(mc.pair_rate_hz, 'pairs/s')} [99 %: "
                f"{fmt(mc.pair_rate_ci99_hz[0], 'pairs/s')}…"
                f"{fmt(mc.pair_rate_ci99_hz[1], 'pairs/s')}] at fidelity {fmt(mc.fidelity)} "
                f"[{fmt(mc.fidelity_ci99[0])}…{fmt(mc.fidelity_ci99[1])}]; closed form "
                f"{fmt(mc.closed_form_pair_rate_hz, 'pairs/s')} at {fmt(mc.closed_form_fidelity)} "
                f"({mc.method}) — {'agrees' if mc.agrees else 'outside the interval'}"
            )
        t.footer.extend(_check_lines(r))
        t.footer.extend(f"note: {n}" for n in r.notes)
        tables.append(t)
    return tables


def _rate_row(rate: ProtocolRate) -> list[str]:
    mu = "—" if rate.mean_photon_number is None else fmt(rate.mean_photon_number)
    return [
        rate.protocol,
        rate.scope,
        fmt(rate.key_rate_bps, "bit/s"),
        fmt(rate.plob_bps, "bit/s"),
        fmt(rate.tgw_bps, "bit/s"),
        fmt(rate.fraction_of_plob),
        fmt(rate.configuration_bound_bps, "bit/s"),
        mu,
    ]


def _convention_lines(rates: tuple[ProtocolRate, ...]) -> list[str]:
    """Each row's bound (when it is not the channel's own PLOB) and sifting convention.

    PLOB and TGW are the repeaterless bounds of the whole channel; ``bound`` is the bound
    of the route's configuration (a measuring relay, a midpoint source, repeaters), the
    only one a rate may not exceed.
    """
    lines = []
    for rate in rates:
        parts = []
        if rate.bound_bps is not None:
            parts.append(
                f"bound = {rate.bound} ({fmt(rate.fraction_of_bound)} of it); PLOB and "
                "TGW are the repeaterless bounds of the whole channel"
            )
        if rate.sifting:
            parts.append(f"sifting: {rate.sifting}")
        if parts:
            lines.append(f"{rate.protocol}: " + "; ".join(parts))
    return lines


def _terms_text(b: LinkBudget) -> str:
    """The named terms summed: the channel's, then the receiver's detector on top."""
    channel = [t for t in b.terms if not t.receiver]
    device = [t for t in b.terms if t.receiver]
    text = " + ".join(f"{t.name} {fmt(t.loss_db, 'dB')}" for t in channel)
    if len(channel) > 1:
        text += f" = {fmt(b.channel_loss_db, 'dB')}"
    text = f"{text} (channel)" if text else "no channel terms"
    if device:
        more = " + ".join(f"{t.name} {fmt(t.loss_db, 'dB')}" for t in device)
        text += f"; + {more} = {fmt(b.loss_db, 'dB')} with the receiver"
    return text


def links_table(scenario: Scenario, budgets: list[LinkBudget]) -> list[Table]:
    """One row per link; loss, η and PLOB/use are the channel's (what the PLOB bound and
    the stage reasons use), the terms add the receiver's detector on top."""
    t = Table(
        f"{scenario.name} — links",
        ["link", "channel", "length", "terms", "loss", "η", "delay", "PLOB/use"],
        spill=["terms"],
    )
    for b in budgets:
        t.rows.append(
            [
                b.link.name,
                b.link.channel,
                fmt(b.length_km, "km"),
                _terms_text(b),
                fmt(b.channel_loss_db, "dB"),
                fmt(b.channel_transmittance),
                fmt(b.delay_s, "s"),
                fmt(plob_bound(b.channel_transmittance)),
            ]
        )
        t.footer.extend(f"{b.link.name}: {n}" for n in b.notes)
    t.footer.append("loss, η and PLOB/use: the channel alone, without the receiver's detector")
    return [t]


def apps_table(applications: Any) -> list[Table]:
    """The application catalogue: one row per application, stage it needs, what it
    consumes and its reference (these two under the row on a narrow terminal)."""
    t = Table(
        "applications of the quantum internet (Wehner, Elkouss, Hanson 2018)",
        ["key", "application", "stage", "consumes", "reference"],
        spill=["reference", "consumes"],
    )
    for a in applications:
        t.rows.append([a.key, a.name, f"{a.stage} ({a.stage_name})", a.resource, a.reference])
    return [t]


def batch_table(results: list[Any], summary: str) -> Table:
    """A batch: a heading per file, a row per demand (stage, key, pairs, verdict), the
    failed checks or the error under it; ``summary`` as the footer."""
    t = Table(
        "qcalc batch",
        ["demand", "stage", "key rate", "pairs", "result", "detail"],
        spill=["detail"],
    )
    for r in results:
        t.sections[len(t.rows)] = r.file
        if r.data is None:
            t.rows.append(["—", "—", "—", "—", "ERROR", r.error or ""])
            continue
        for d in r.data["demands"]:
            expect = d.get("expect", {})
            failed = [
                check_text(c["field"], c["op"], c["want"], c["got"])
                for c in expect.get("checks", [])
                if not c["passed"]
            ]
            t.rows.append(
                [
                    d["name"],
                    str(d["stage"]),
                    fmt(d["key_rate_bps"], "bit/s"),
                    fmt(d["pair_rate_hz"], "pairs/s"),
                    "pass" if expect.get("passed", True) else "FAIL",
                    "; ".join(failed),
                ]
            )
    reached = sorted({int(d["stage"]) for r in results if r.data for d in r.data["demands"]})
    if reached:
        t.footer.append("stages: " + ", ".join(f"{n} {stage_name(n)}" for n in reached))
    t.footer.append(summary)
    return t


def sweep_table(result: Any) -> Table:
    """A sweep as a table: a row per point, each number in the unit its column names."""
    units = {name: unit_of(name) for name in result.columns}
    units.update({k: "bit/s" for k in units if k.startswith("protocol:")})
    columns = list(result.columns)
    # A varied field keeps the digits that tell its neighbouring points apart.
    digits = dict.fromkeys(columns, 4)
    for vary in result.varies:
        values = distinct(np.abs(np.asarray(vary.values, dtype=float)))
        steps = np.diff(values)
        if steps.size and values[-1] > 0 and steps.min() > 0:
            need = math.ceil(math.log10(values[-1] / steps.min())) + 1
            digits[vary.field] = min(max(4, need), 10)
    lists = [result.columns[c].tolist() for c in columns]
    t = Table(f"{result.scenario_name} — sweep of demand {result.demand}", columns)
    for row in zip(*lists, strict=True):
        t.rows.append(
            [
                str(v) if isinstance(v, int) else fmt(v, units[c], digits[c])
                for c, v in zip(columns, row, strict=True)
            ]
        )
    t.footer.extend(f"note: {n}" for n in result.notes)
    return t


#: Width of plain output when neither COLUMNS nor a terminal says otherwise. [characters]
DEFAULT_WIDTH = 80
#: Narrowest width a table is fitted to, whatever COLUMNS says. [characters]
MIN_WIDTH = 40
#: A wrapped column keeps at least this many characters (or its whole width). [characters]
MIN_WRAP = 16
#: Longest word kept whole in a wrapped column; longer ones (paths) break. [characters]
MAX_WORD = 24
#: A word longer than this may break after a slash or a dot (paths, field paths). [characters]
LONG_WORD = 16
#: Gap between two columns. [characters]
GAP = 2
_NBSP = "\u00a0"
#: A number stays with its unit and its comparison: "13.93 kbit/s", "≥ 0.78".
_GLUE = re.compile(r"(?<=[0-9]) (?=[^ 0-9]+(?: |$))|(?<=[≥≤<>=≈×]) (?=[0-9])")


def _glued(text: str) -> str:
    return _GLUE.sub(_NBSP, text)


class _Wrapper(textwrap.TextWrapper):
    """Breaks at spaces; a long word (a path, a/b, a dotted field path) also after its
    slashes and the dots between names, never inside a number or a unit (kbit/s)."""

    _inner = re.compile(r"(?<=\w/)(?=[\w.-]{3})|(?<=[a-z]\.)(?=[a-z][a-z0-9]*[_-])")

    def _split(self, text: str) -> list[str]:
        chunks: list[str] = []
        for chunk in re.split(r"([ \t\n]+)", text):
            if len(chunk) > LONG_WORD:
                chunks.extend(p for p in self._inner.split(chunk) if p)
            elif chunk:
                chunks.append(chunk)
        return chunks


def wrap(
    text: str, width: int | None, indent: str = "", subsequent: str | None = None
) -> list[str]:
    """``text`` as lines of at most ``width`` characters (unlimited for ``None``), numbers
    kept beside their units, continuation lines indented by ``subsequent``."""
    more = indent + "  " if subsequent is None else subsequent
    if width is None or len(indent) + len(text) <= width:
        return [(indent + text).rstrip()]
    lines = _Wrapper(
        width=max(width, len(more) + 8),
        initial_indent=indent,
        subsequent_indent=more,
        break_long_words=True,
        break_on_hyphens=False,
    ).wrap(_glued(text))
    return [line.replace(_NBSP, " ").rstrip() for line in lines] or [""]


def _cell_lines(text: str, width: int) -> list[str]:
    if len(text) <= width:
        return [text]
    return wrap(text, width, subsequent="") or [""]


def _longest_word(text: str) -> int:
    """The longest piece a line of ``text`` cannot break (a long path breaks at slashes)."""
    chunks = _Wrapper()._split(_glued(text))
    return max((len(c) for c in chunks if c.strip()), default=0)


def _widths(columns: list[str], rows: list[list[str]], width: int | None) -> list[int] | None:
    """Column widths that fit ``width`` (natural widths for ``None``), None when even the
    narrowest acceptable widths do not fit."""
    natural = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    budget = None if width is None else width - GAP * (len(columns) - 1)
    if budget is None or sum(natural) <= budget:
        return natural
    floor = [
        min(
            n,
            max(MIN_WRAP, min(MAX_WORD, max(_longest_word(x) for x in [c, *(r[i] for r in rows)]))),
        )
        for i, (n, c) in enumerate(zip(natural, columns, strict=True))
    ]
    if sum(floor) > budget:
        return None
    # Water-fill: the widest columns give way first, none below its floor.
    lo, hi = 0, max(natural)
    while lo < hi:
        cap = (lo + hi + 1) // 2
        if sum(min(n, max(f, cap)) for n, f in zip(natural, floor, strict=True)) <= budget:
            lo = cap
        else:
            hi = cap - 1
    widths = [min(n, max(f, lo)) for n, f in zip(natural, floor, strict=True)]
    spare = budget - sum(widths)
    for i in sorted(range(len(widths)), key=lambda i: -natural[i]):
        extra = min(spare, natural[i] - widths[i])
        widths[i] += extra
        spare -= extra
    return widths


def _grid(columns: list[str], rows: list[list[str]], widths: list[int]) -> list[list[str]]:
    """The header, its rule and each row as lines (a row may take several)."""

    def line_block(cells: list[str]) -> list[str]:
        wrapped = [_cell_lines(c, w) for c, w in zip(cells, widths, strict=True)]
        height = max(len(w) for w in wrapped)
        return [
            "  ".join(
                (w[k] if k < len(w) else "").ljust(width)
                for w, width in zip(wrapped, widths, strict=True)
            ).rstrip()
            for k in range(height)
        ]

    blocks = [line_block(columns) + ["  ".join("-" * w for w in widths)]]
    blocks.extend(line_block(r) for r in rows)
    return blocks


def table_lines(t: Table, width: int | None = DEFAULT_WIDTH) -> list[str]:
    """The plain-text lines of one table, none longer than ``width`` (unlimited for None).

    A table too wide for ``width`` first moves its ``spill`` columns onto indented lines
    under their rows, one at a time while a cell would still need wrapping; then wraps
    long cells inside their columns (each column keeps at least :data:`MIN_WRAP`
    characters); and, when even that does not fit, prints each row as a block of
    "column  value" lines. Columns empty in every row are left out.
    """
    keep = [i for i in range(len(t.columns)) if any(r[i] for r in t.rows)] or list(
        range(len(t.columns))
    )
    columns = [t.columns[i] for i in keep]
    rows = [[r[i] for i in keep] for r in t.rows]
    spilled: list[int] = []
    widths = _widths(columns, rows, width)
    for name in t.spill:
        if widths is not None and _unwrapped(rows, spilled, widths):
            break
        if name in columns and len(columns) - len(spilled) > 1:
            spilled.append(columns.index(name))
            shown = [i for i in range(len(columns)) if i not in spilled]
            widths = _widths(
                [columns[i] for i in shown], [[r[i] for i in shown] for r in rows], width
            )
    if widths is None and spilled:
        spilled = []
        widths = _widths(columns, rows, width)
    lines = wrap(t.title, width)
    if widths is None:
        lines.extend(_records(t, columns, rows, width))
    else:
        shown = [i for i in range(len(columns)) if i not in spilled]
        blocks = _grid([columns[i] for i in shown], [[r[i] for i in shown] for r in rows], widths)
        lines.extend(blocks[0])
        label_width = max((len(columns[i]) + 1 for i in spilled), default=0)
        for n, (row, block) in enumerate(zip(rows, blocks[1:], strict=True)):
            if n in t.sections:
                lines.extend(wrap(t.sections[n], width))
            lines.extend(block)
            for i in sorted(spilled):
                if row[i]:
                    lines.extend(_spilled_cell(columns[i], row[i], label_width, width))
    for line in t.footer:
        lead = line[: len(line) - len(line.lstrip())]
        lines.extend(wrap(line, width, "", lead + "  ") if line.strip() else [""])
    return lines


def _spilled_cell(column: str, value: str, label_width: int, width: int | None) -> list[str]:
    """A spilled cell as "    column: value" lines; under a label so long that a word of
    ``MIN_WRAP`` characters would not fit beside it, the value goes below the label."""
    label = f"    {(column + ':').ljust(label_width)} "
    if width is not None and len(label) + MIN_WRAP > width:
        return wrap(f"{column}:", width, "    ", "      ") + wrap(value, width, "      ", "      ")
    return wrap(value, width, label, " " * len(label))


def _unwrapped(rows: list[list[str]], spilled: list[int], widths: list[int]) -> bool:
    """Whether every cell of the columns left in the grid fits its width unwrapped."""
    for r in rows:
        shown = [x for i, x in enumerate(r) if i not in spilled]
        if any(len(x) > w for x, w in zip(shown, widths, strict=True)):
            return False
    return True


def _records(t: Table, columns: list[str], rows: list[list[str]], width: int | None) -> list[str]:
    """Each row as a block: its first cell, then "column  value" lines, indented."""
    label = max(len(c) for c in columns[1:]) if len(columns) > 1 else 0
    lines: list[str] = []
    for n, row in enumerate(rows):
        if n in t.sections:
            lines.extend(wrap(t.sections[n], width))
        lines.extend(wrap(row[0], width))
        for c, value in zip(columns[1:], row[1:], strict=True):
            if not value:
                continue
            head = f"  {c.ljust(label)}  "
            if width is not None and len(head) + MIN_WRAP > width:  # a long column name
                lines.extend(wrap(c, width, "  ", "    "))
                lines.extend(wrap(value, width, "    ", "    "))
            else:
                lines.extend(wrap(value, width, head, " " * len(head)))
    return lines


def render_plain(tables: list[Table], width: int | None = DEFAULT_WIDTH) -> str:
    """Tables as plain text, each fitted to ``width`` characters (None: one line a row)."""
    out = []
    for t in tables:
        out.extend(table_lines(t, width))
        out.append("")
    return "\n".join(out)


def wrap_text(text: str, width: int | None) -> str:
    """Free text (a derivation) fitted to ``width``: long lines continue indented."""
    lines = []
    for line in text.split("\n"):
        lead = line[: len(line) - len(line.lstrip())]
        lines.extend(wrap(line, width, "", lead + "    ") if line.strip() else [""])
    return "\n".join(lines)


def _md(text: str) -> str:
    """Markdown text shown as typed: pipes and markup characters escaped (an underscore
    inside a word, as in key_rate_bps, is not markup and stays)."""
    text = re.sub(r"([\\|*`\[\]<>])", r"\\\1", text)
    return re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)  # a_b stays


def render_markdown(tables: list[Table]) -> str:
    """Tables as GitHub markdown: one row per table row (markdown wraps by itself), a
    section heading as a bold row, the footer as a list."""
    out = []
    for t in tables:
        out.append(f"### {_md(t.title)}\n")
        out.append("| " + " | ".join(_md(c) for c in t.columns) + " |")
        out.append("|" + "---|" * len(t.columns))
        for n, r in enumerate(t.rows):
            if n in t.sections:
                out.append(f"| **{_md(t.sections[n])}** |" + " |" * (len(t.columns) - 1))
            out.append("| " + " | ".join(_md(v) for v in r) + " |")
        out.append("")
        out.extend(f"- {_md(line.strip())}" for line in t.footer if line.strip())
        out.append("")
    return "\n".join(out)


def print_rich(tables: list[Table], width: int | None) -> None:
    """Draw the tables on a terminal: the same lines as :func:`render_plain`, titles and
    headers in bold (rich, imported only here). Names print literally: no rich markup."""
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False, markup=False, emoji=False, soft_wrap=True)
    for t in tables:
        lines = table_lines(t, width)
        title = len(wrap(t.title, width))
        rule = next(
            (n for n in range(title, len(lines)) if lines[n] and set(lines[n]) <= {"-", " "}),
            None,  # a table laid out as records has no header
        )
        bold = title if rule is None else rule
        for n, line in enumerate(lines):
            style = "bold" if n < bold else "dim" if n == rule else ""
            console.print(Text(line, style=style))
        console.print()
