"""The library: load a scenario, change it, evaluate it, sweep it — the calls behind the CLI.

Every command of ``qcalc`` parses its arguments, calls one of these functions and renders
what it returns; a notebook calls the same functions and gets the same numbers::

    import qcalc
    scenario = qcalc.load_scenario("scenarios/metro-fibre.yaml")
    longer = scenario.with_changes({"links.alice-bob.length_km": 80})
    result = qcalc.evaluate(longer)
    result.to_dict()  # the JSON of `qcalc stage --format json`

Entry points take :class:`~qcalc.scenario.Scenario` objects; only :func:`load_scenario`
reads a file (or YAML text), and only the CLI writes files and formats tables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from qcalc.errors import UsageError
from qcalc.records import record
from qcalc.scenario import Scenario

if TYPE_CHECKING:
    from qcalc.applications import Application
    from qcalc.demands import DemandResult
    from qcalc.sweeps import SweepResult

#: Which demands get "what would it take" answers: those that fall short (as ``qcalc stage``
#: does), every demand (``qcalc stage --levers``), or none (``qcalc rate``).
Levers = Literal["short", "all", "none"]


def load_scenario(source: str | os.PathLike[str]) -> Scenario:
    """Read and check a scenario from a file path or from YAML text.

    ``source`` is YAML text when it is a ``str`` holding a line break (a one-line path
    never does); otherwise it is the path of a scenario file. Either way the scenario is
    checked as ``qcalc validate`` checks it, and errors name the file (``<string>`` for
    text), line, column and field.

    Raises
    ------
    ScenarioError
        For a file or text that is not a valid scenario (located).
    UsageError
        For a path that does not exist or cannot be read.
    """
    from qcalc.scenario import load_scenario as load_file
    from qcalc.scenario import parse_scenario

    if isinstance(source, str) and "\n" in source:
        return parse_scenario(source)
    return load_file(os.fspath(source))


@record(frozen=True, eq=False)
class Result:
    """The evaluation of every demand of a scenario.

    ``demands`` are in the scenario's order; :meth:`to_dict` is the JSON that
    ``qcalc stage --format json`` prints (``qcalc rate`` prints the same without the
    ``next_stage`` answers).
    """

    scenario: Scenario
    demands: tuple[DemandResult, ...]

    @property
    def passed(self) -> bool:
        """True when every demand passes its ``expect`` block (exit code 0 of the CLI)."""
        return all(r.passed for r in self.demands)

    def demand(self, name: str) -> DemandResult:
        """The result of the demand called ``name``.

        Raises
        ------
        UsageError
            For a name that is not a demand of the scenario (with a "did you mean").
        """
        from qcalc.scenario import suggest

        for r in self.demands:
            if r.demand.name == name:
                return r
        names = [r.demand.name for r in self.demands]
        raise UsageError(
            f"no demand named {name!r} in {self.scenario.name!r} (demands: "
            f"{', '.join(names) or 'none'}){suggest(name, names)}"
        )

    def steps(self) -> list[Any]:
        """Every derivation step of every demand, in order (what ``--explain`` prints)."""
        return [s for r in self.demands for s in r.steps]

    def to_dict(self, *, explain: bool = False) -> dict[str, Any]:
        """The JSON-ready dict of ``qcalc stage --format json`` (``--explain`` adds the steps)."""
        from qcalc import results

        data = results.scenario_dict(self.scenario, list(self.demands))
        if explain:
            data["explain"] = [results.step_dict(s) for s in self.steps()]
        return data


def _wants_levers(result: DemandResult, levers: Levers) -> bool:
    """Whether a demand gets its next-stage levers: every one, or one that falls short of
    its ``expect`` block, of the stage its application needs, or (QKD) of any key."""
    import numpy as np

    from qcalc.scenario import APPLICATION_STAGE

    if levers == "none" or np.ndim(result.stage) > 0:  # levers change one scenario
        return False
    if levers == "all":
        return True
    app = result.demand.application
    keyless = app in ("qkd", "diqkd") and not np.any(np.asarray(result.key_rate_bps) > 0)
    return not result.passed or int(result.stage) < APPLICATION_STAGE[app] or keyless


def evaluate(
    scenario: Scenario,
    *,
    levers: Levers = "short",
    monte_carlo: int = 0,
    seed: int = 0,
    explain: bool = True,
) -> Result:
    """Evaluate every demand: route, loss, key and pair rates, fidelity, stage, expect.

    Parameters
    ----------
    scenario
        A checked scenario (:func:`load_scenario`, :meth:`Scenario.with_changes`).
    levers
        ``"short"`` (default, as ``qcalc stage``): for each demand that falls short, the
        cheapest single changes that would reach the next stage; ``"all"``: for every
        demand (``qcalc stage --levers``); ``"none"``: skip them (``qcalc rate``). A
        demand whose numbers are arrays (fields given as arrays) gets none: a lever is a
        change of one scenario.
    monte_carlo
        Trials of the Monte Carlo simulation of each repeater chain, beside its exact
        closed form (``qcalc rate --monte-carlo N``); 0 for none. [count]
    seed
        Seed of that simulation. [unitless]
    explain
        Build the derivation steps (:meth:`Result.steps`, ``to_dict(explain=True)``);
        False leaves them out, and with them a fifth of the time of a small scenario
        (``qcalc batch`` without ``--explain``). The numbers are the same.

    Raises
    ------
    UsageError
        For a negative ``monte_carlo`` or an unknown ``levers``.
    """
    from qcalc.demands import evaluate_scenario

    if levers not in ("short", "all", "none"):
        raise UsageError(f"levers is {levers!r}; expected 'short', 'all' or 'none'")
    if monte_carlo < 0:
        raise UsageError(f"monte_carlo is {monte_carlo}; expected a number of trials ≥ 0")
    results = evaluate_scenario(scenario, explain=explain)
    if scenario.uncertain:
        from qcalc.uncertainty import median_note

        for r in results:
            r.notes.append(median_note(scenario.uncertain))
    if monte_carlo:
        from qcalc.delivery import monte_carlo_check

        for r in results:
            if r.entanglement is not None:
                r.monte_carlo = monte_carlo_check(r.entanglement, monte_carlo, seed)
    short = [r for r in results if levers != "none" and _wants_levers(r, levers)]
    if short:
        from qcalc.levers import next_stage_levers  # only when a demand asks for levers

        for r in short:
            r.next_stage = next_stage_levers(scenario, r)
    return Result(scenario=scenario, demands=tuple(results))


def link_budgets(scenario: Scenario) -> list[Any]:
    """The loss budget of every link (what ``qcalc links`` shows), in the file's order."""
    from qcalc.linkbudget import link_budget

    return [link_budget(link, scenario) for link in scenario.links]


def sweep(
    scenario: Scenario,
    vary: Mapping[str, Sequence[float] | Any],
    metrics: Sequence[str] = ("key_rate_bps",),
    *,
    demand: str | None = None,
) -> SweepResult:
    """Evaluate one demand over a grid of field values, vectorised (``qcalc sweep``).

    ``vary`` maps field paths (as :meth:`Scenario.with_changes` takes them) to the values
    each takes; several fields give the full grid of their values, the first varying
    slowest. ``metrics`` are among ``key_rate_bps``, ``pair_rate_hz``, ``fidelity``,
    ``stage``, ``loss_db``, ``plob_bps`` and ``protocol:<name>``. ``demand`` defaults to
    the first demand.

    Returns
    -------
    SweepResult
        Columns of equal length (the varied fields, then the metrics); ``to_csv()`` and
        ``to_json()`` are what the CLI writes.

    Raises
    ------
    UsageError
        For an unknown field path, metric or demand, or values outside a field's range.
    """
    import numpy as np

    from qcalc.sweeps import Vary, sweep_scenario

    varies = []
    for path, values in vary.items():
        try:
            array = np.asarray(values, dtype=float).ravel()
        except (TypeError, ValueError):
            raise UsageError(
                f"vary {path!r}: the values are not numbers ({values!r:.60})"
            ) from None
        if array.size == 0 or not np.all(np.isfinite(array)):
            raise UsageError(f"vary {path!r}: expected finite numbers, got {values!r:.60}")
        varies.append(Vary(field=str(path), values=array))
    return sweep_scenario(scenario, varies, list(metrics), demand)


def apps() -> tuple[Application, ...]:
    """The application catalogue: each application and the roadmap stage it needs."""
    from qcalc.applications import APPLICATIONS

    return tuple(APPLICATIONS.values())
