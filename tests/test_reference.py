"""The scenario reference in docs/ is generated from the field declarations and current."""

from __future__ import annotations

from pathlib import Path

import pytest

from qcalc import scenario
from qcalc.reference import SECTIONS, reference_markdown, unit_of

DOC = Path(__file__).resolve().parent.parent / "docs" / "scenario-reference.md"


def test_docs_reference_is_current():
    assert DOC.read_text(encoding="utf-8") == reference_markdown(), (
        "docs/scenario-reference.md is stale: run "
        "python -m qcalc.reference --write docs/scenario-reference.md"
    )


@pytest.mark.parametrize(
    "table",
    [
        scenario.DETECTOR_FIELDS,
        scenario.SOURCE_FIELDS,
        scenario.MEMORY_FIELDS,
        scenario.PROCESSOR_FIELDS,
        scenario.NODE_FIELDS,
        scenario.LINK_FIELDS,
        scenario.DEMAND_FIELDS,
        scenario.CRITERIA_FIELDS,
    ],
)
def test_every_declared_field_has_a_row(table):
    text = reference_markdown()
    for key in table:
        assert f"| `{key}` |" in text, key


def test_sections_cover_every_field_table():
    tables = {id(t) for _, _, t, _ in SECTIONS}
    for name in ("DETECTOR", "SOURCE", "MEMORY", "PROCESSOR", "NODE", "LINK", "DEMAND"):
        assert id(getattr(scenario, f"{name}_FIELDS")) in tables


def test_units_come_from_key_suffixes():
    assert unit_of("attenuation_db_per_km") == "dB/km"
    assert unit_of("length_km") == "km"
    assert unit_of("coherence_time_s") == "s"
    assert unit_of("rx_aperture_m") == "m"
    assert unit_of("efficiency") == ""
