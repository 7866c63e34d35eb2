"""One declaration per field: the dataclasses carry it; the schema, the checker's tables and
the docs' field reference list the same keys with the same units.

The scenario objects declare each key once, with :func:`qcalc.scenario.spec`; the tables
(``LINK_FIELDS`` …), ``qcalc schema`` and docs/scenario-reference.md are made from them.
These tests fail when a key is added in one place only.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from qcalc import scenario as sc
from qcalc.reference import SECTIONS
from qcalc.units import unit_of

ROOT = Path(__file__).resolve().parent.parent

#: Dataclass → (its table, schema $defs name, attributes that are objects, not file keys).
DECLARED = {
    sc.Detector: (sc.DETECTOR_FIELDS, "detector", set()),
    sc.Source: (sc.SOURCE_FIELDS, "source", set()),
    sc.Memory: (sc.MEMORY_FIELDS, "memory", set()),
    sc.Processor: (sc.PROCESSOR_FIELDS, "processor", set()),
    sc.Node: (sc.NODE_FIELDS, "node", {"name", "role_given"}),
    sc.Link: (sc.LINK_FIELDS, "link", set()),
    sc.Demand: (sc.DEMAND_FIELDS, "demand", {"expect_probability"}),
    sc.Criteria: (sc.CRITERIA_FIELDS, None, set()),
    sc.Atmosphere: (
        sc.ATMOSPHERE_FIELDS,
        None,
        {"source", "elevation_deg", "wavelengths_nm", "transmittance"},
    ),
}


@pytest.mark.parametrize("cls", list(DECLARED), ids=lambda c: c.__name__)
def test_every_attribute_is_a_declared_key_or_a_named_derived_object(cls: type) -> None:
    table, _, derived = DECLARED[cls]
    names = {f.name for f in dataclasses.fields(cls)}
    assert set(table) == names - derived
    assert set(table) == set(sc.fields_of(cls))


@pytest.mark.parametrize("cls", list(DECLARED), ids=lambda c: c.__name__)
def test_a_key_left_out_takes_the_default_its_declaration_gives(cls: type) -> None:
    table, _, _ = DECLARED[cls]
    for f in dataclasses.fields(cls):
        if f.name not in table:
            continue
        spec = table[f.name]
        if f.default is not dataclasses.MISSING and spec.kind not in ("mapping", "expect"):
            assert f.default == spec.default, f.name


def test_the_schema_lists_the_declared_keys() -> None:
    schema = sc.json_schema()
    for table, kind, _ in DECLARED.values():
        if kind is None:
            continue
        assert set(schema["$defs"][kind]["properties"]) == set(table), kind
    top = schema["properties"]
    assert set(top) == set(sc.TOP_FIELDS)
    assert set(top["criteria"]["properties"]) == set(sc.CRITERIA_FIELDS)


def test_the_bundled_schema_file_is_the_schema() -> None:
    bundled = json.loads((ROOT / "qcalc/data/scenario.schema.json").read_text(encoding="utf-8"))
    assert bundled == json.loads(json.dumps(sc.json_schema()))


def _reference_rows() -> dict[str, dict[str, str]]:
    """Heading → key → unit, read from docs/scenario-reference.md."""
    text = (ROOT / "docs/scenario-reference.md").read_text(encoding="utf-8")
    out: dict[str, dict[str, str]] = {}
    heading = ""
    for line in text.splitlines():
        if line.startswith("## "):
            heading = line[3:].strip()
            out[heading] = {}
        match = re.match(r"^\| `([^`]+)` \| ([^|]+) \|", line)
        if match and heading:
            out[heading][match.group(1)] = match.group(2).strip()
    return out


@pytest.mark.parametrize("heading, table", [(s[0], s[2]) for s in SECTIONS])
def test_the_docs_reference_lists_every_key_with_its_unit(heading: str, table: dict) -> None:
    rows = _reference_rows()[heading]
    top_keys = {k for k in rows if "." not in k}
    assert top_keys == set(table)
    for key in table:
        unit = unit_of(key)
        if unit:
            assert rows[key] == unit, key
