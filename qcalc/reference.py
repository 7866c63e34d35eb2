"""The scenario reference, generated from the field declarations of :mod:`qcalc.scenario`.

Every key a scenario may hold is declared once, in the ``*_FIELDS`` tables; this module
renders those tables as Markdown — unit, range, default, meaning and an example per
field — so the reference in ``docs/scenario-reference.md`` never drifts from what the
loader accepts::

    python -m qcalc.reference                                   # Markdown to stdout
    python -m qcalc.reference --write docs/scenario-reference.md

``tests/test_reference.py`` fails when the file in ``docs/`` is stale. Examples come from
the bundled scenarios where one of them sets the field, otherwise from the field's
default or range.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from qcalc.scenario import (
    CRITERIA_FIELDS,
    DEMAND_FIELDS,
    DETECTOR_FIELDS,
    LINK_FIELDS,
    MEMORY_FIELDS,
    NODE_FIELDS,
    PROCESSOR_FIELDS,
    SOURCE_FIELDS,
    TOP_FIELDS,
    Field,
)
from qcalc.units import unit_of

#: Bundled scenarios whose values serve as examples.
SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

#: The sections of the reference: (heading, where the keys go, field table, what it is).
SECTIONS: tuple[tuple[str, str, Mapping[str, Field], str], ...] = (
    ("Top level", "the file", TOP_FIELDS, "The keys of the document itself."),
    (
        "Detectors",
        "`hardware.detectors.NAME`, a node's `detector`",
        DETECTOR_FIELDS,
        "A receiver: its efficiency with every receiver loss folded in and its background.",
    ),
    (
        "Sources",
        "`hardware.sources.NAME`, a node's `source`",
        SOURCE_FIELDS,
        "What a node emits: weak coherent pulses, single photons or entangled pairs.",
    ),
    (
        "Memories",
        "`hardware.memories.NAME`, a node's `memory`",
        MEMORY_FIELDS,
        "Quantum memory at a node: how many qubits and how long they keep a state.",
    ),
    (
        "Processors",
        "`hardware.processors.NAME`, a node's `processor`",
        PROCESSOR_FIELDS,
        "Quantum processor at a node, for the fault-tolerance stages 5 and 6.",
    ),
    ("Nodes", "`nodes.NAME`", NODE_FIELDS, "A place in the network and what it does."),
    (
        "Links",
        "`links[i]` (and `defaults`)",
        LINK_FIELDS,
        "A fibre, free-space or ground–satellite channel between two nodes.",
    ),
    (
        "Demands",
        "`demands[i]` (and `defaults`)",
        DEMAND_FIELDS,
        "What the network must deliver between two end nodes.",
    ),
    (
        "Stage criteria",
        "`criteria`",
        CRITERIA_FIELDS,
        "The thresholds of the roadmap stages; each verdict prints the one it used.",
    ),
)


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}".replace(",", " ") if abs(value) >= 1e4 else f"{int(value)}"
    return f"{value:g}"


def range_text(spec: Field) -> str:
    """``≥ 0``, ``> 0 and ≤ 1``, one of the choices, or ``—``."""
    if spec.choices:
        return "one of " + ", ".join(f"`{c}`" for c in spec.choices)
    parts = []
    if spec.minimum is not None:
        parts.append(f"{'>' if spec.exclusive_minimum else '≥'} {_number(spec.minimum)}")
    if spec.maximum is not None:
        parts.append(f"≤ {_number(spec.maximum)}")
    return " and ".join(parts) if parts else "—"


def default_text(spec: Field) -> str:
    if spec.required:
        return "required"
    if spec.default is None:
        return "none (optional)"
    if isinstance(spec.default, float | int) and not isinstance(spec.default, bool):
        return f"`{_number(float(spec.default))}`"
    return f"`{spec.default}`"


#: Where each section's mappings sit in a scenario document.
_SECTION_OF_GROUP = {
    "detectors": "Detectors",
    "sources": "Sources",
    "memories": "Memories",
    "processors": "Processors",
}


def _section_values(data: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(section heading, mapping) for every mapping of a scenario document."""
    yield "Top level", data
    for group, profiles in (data.get("hardware") or {}).items():
        for profile in (profiles or {}).values():
            if isinstance(profile, dict):
                yield _SECTION_OF_GROUP.get(group, ""), profile
    for node in (data.get("nodes") or {}).values():
        if isinstance(node, dict):
            yield "Nodes", node
            for key, section in (("detector", "Detectors"), ("source", "Sources")):
                if isinstance(node.get(key), dict):
                    yield section, node[key]
    for key, section in (("links", "Links"), ("demands", "Demands")):
        for item in data.get(key) or ():
            if isinstance(item, dict):
                yield section, item
    yield "Stage criteria", data.get("criteria") or {}


def bundled_examples() -> dict[tuple[str, str], Any]:
    """The first value each (section, key) takes in the bundled scenarios, files sorted
    by name; sub-mappings as ``parent.key``."""
    import yaml

    found: dict[tuple[str, str], Any] = {}
    for path in sorted(SCENARIOS.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for section, mapping in _section_values(data):
            for key, value in mapping.items():
                items = value.items() if isinstance(value, dict) else ()
                for sub, item in items:
                    found.setdefault((section, f"{key}.{sub}"), item)
                if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
                    value = "[" + ", ".join(str(v) for v in value) + "]"
                if isinstance(value, str | int | float) and len(str(value)) <= 40:
                    found.setdefault((section, str(key)), value)
    return found


def example_text(key: str, spec: Field, examples: Mapping[str, Any]) -> str:
    """An example value for ``key``: from a bundled scenario, else default or range."""
    if spec.kind in ("mapping", "hardware", "nodes", "links", "demands"):
        return "see below" if spec.sub else "see `docs/tutorial.md`"
    if spec.kind == "expect":
        return '`{stage: ">= 3", pair_rate_hz: ">= 1"}`'
    if key in examples:
        value = examples[key]
        return f"`{value}`" if not isinstance(value, bool) else f"`{str(value).lower()}`"
    if spec.choices:
        return f"`{spec.choices[0]}`"
    if spec.default is not None:
        return f"`{spec.default}`"
    if spec.kind == "profile":
        return "`snspd` (a profile name) or an inline mapping"
    if spec.kind in ("number", "integer"):
        low = spec.minimum if spec.minimum is not None else 0.0
        high = spec.maximum if spec.maximum is not None else max(10 * low, 1.0)
        return f"`{_number(low + (high - low) / 2 if spec.maximum is not None else high)}`"
    return "—"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(
    fields: Mapping[str, Field], examples: Mapping[tuple[str, str], Any], section: str
) -> list[str]:
    """Markdown rows of one field table; a mapping's keys follow as ``parent.key`` rows.

    The ``defaults`` block repeats the link and demand keys; it gets one row that says so.
    """
    rows: list[str] = []
    here = {k: v for (s, k), v in examples.items() if s == section}
    for key, spec in fields.items():
        if key == "defaults":
            rows.append(
                "| `defaults` | — | — | none (optional) | `source`, `detector`, `memory`, "
                "`processor` (a profile name or inline) for every node, and any key of "
                "Links and Demands below for every link and demand | "
                "`{memory: nv, length_km: 50}` |"
            )
            continue
        rows += _rows(key, spec, here, "")
    return rows


def _rows(key: str, spec: Field, examples: Mapping[str, Any], prefix: str) -> list[str]:
    """The row of one field, then those of its sub-fields (``parent.key``)."""
    name = f"{prefix}{key}"
    unit = unit_of(key) or ("fraction" if spec.maximum == 1.0 else "—")
    if spec.kind in ("strings", "names", "string", "enum", "profile", "expect", "mapping"):
        unit = "—"
    rows = [
        f"| `{name}` | {unit} | {_escape(range_text(spec))} | {default_text(spec)} | "
        f"{_escape(spec.doc)} | {_escape(example_text(name, spec, examples))} |"
    ]
    for sub_key, sub_spec in (spec.sub or {}).items():
        rows += _rows(sub_key, sub_spec, examples, f"{name}.")
    return rows


def reference_markdown() -> str:
    """The whole scenario reference as Markdown."""
    examples = bundled_examples()
    lines = [
        "# Scenario reference",
        "",
        "Generated from the field declarations in `qcalc/scenario.py` by "
        "`python -m qcalc.reference --write docs/scenario-reference.md`; a test fails when "
        "this file is stale. Units live in key names (`_km`, `_db`, `_hz`, `_s`, `_nm`, "
        "`_m`, `_urad`, `_deg`, `_ns`); probabilities and efficiencies are plain "
        "fractions. A key that is not listed here is refused with a did-you-mean. "
        "Examples are taken from the bundled scenarios in `scenarios/` where one sets "
        "the key. The same declarations produce `qcalc schema` (JSON Schema, for editors).",
        "",
        "A node or link may name a hardware profile or give it inline "
        "(`detector: {efficiency: 0.5}`). A top-level `defaults:` block holds `source`, "
        "`detector`, `memory`, `processor` for every node and any link or demand key for "
        "every link and demand; what a node, link or demand sets itself wins.",
    ]
    for heading, where, fields, what in SECTIONS:
        lines += [
            "",
            f"## {heading}",
            "",
            f"Where: {where}. {what}",
            "",
            "| key | unit | range | default | meaning | example |",
            "|---|---|---|---|---|---|",
            *table(fields, examples, heading),
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m qcalc.reference", description="Print or write the scenario reference."
    )
    parser.add_argument("--write", metavar="FILE", help="write the Markdown to FILE")
    args = parser.parse_args(argv)
    text = reference_markdown()
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
