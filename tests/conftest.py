"""Shared fixtures: scenario text written to a file, and the CLI runner."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer.testing
from typer.main import get_command
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


def bench_module(name: str) -> ModuleType:
    """A script of bench/ as a module (its generators make the benchmarks' inputs)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_COMMANDS: dict[int, tuple[Any, Any]] = {}


def _command_of(app: Any) -> Any:
    """The click command of a Typer app, built once per app: ``CliRunner.invoke`` builds
    it anew on every call (about 10 ms of reading signatures; a quarter of the suite's
    time). A click command is reusable: each invocation makes its own context."""
    found = _COMMANDS.get(id(app))
    if found is None or found[0] is not app:
        found = _COMMANDS[id(app)] = (app, get_command(app))
    return found[1]


typer.testing._get_command = _command_of  # type: ignore[attr-defined]


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
