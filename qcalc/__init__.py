"""qcalc: roadmap and link-budget calculator for the quantum internet.

The library the ``qcalc`` command is built on (see docs/api.md)::

    import qcalc
    scenario = qcalc.load_scenario("scenarios/metro-fibre.yaml")
    result = qcalc.evaluate(scenario.with_changes({"links.alice-bob.length_km": 80}))
    result.to_dict()

The public names load their modules on first use, so ``import qcalc`` costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0.dev0"

__all__ = [
    "Result",
    "Scenario",
    "ScenarioError",
    "UsageError",
    "__version__",
    "apps",
    "budget",
    "evaluate",
    "link_budgets",
    "load_scenario",
    "sweep",
]

if TYPE_CHECKING:
    from qcalc import budget
    from qcalc.api import Result, apps, evaluate, link_budgets, load_scenario, sweep
    from qcalc.errors import ScenarioError, UsageError
    from qcalc.scenario import Scenario

#: Public name → the module that defines it (imported on first use).
_HOMES = {
    "Result": "qcalc.api",
    "apps": "qcalc.api",
    "evaluate": "qcalc.api",
    "link_budgets": "qcalc.api",
    "load_scenario": "qcalc.api",
    "sweep": "qcalc.api",
    "Scenario": "qcalc.scenario",
    "ScenarioError": "qcalc.errors",
    "UsageError": "qcalc.errors",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name == "budget":
        return importlib.import_module("qcalc.budget")
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'qcalc' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
