"""Shared fixtures: scenario text written to a file, and the CLI runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"

MINIMAL = """\
qcalc: 1
nodes:
  alice: {source: {kind: weak_coherent, repetition_rate_hz: 1.0e9}}
  bob: {detector: {efficiency: 0.5}}
links:
  - {ends: [alice, bob], length_km: 10}
demands:
  - {ends: [alice, bob]}
"""


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., str]:
    """Write text (or bytes) to a scenario file in a temporary folder; return its path."""

    def _write(content: str | bytes, name: str = "s.yaml") -> str:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return str(path)

    return _write


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
