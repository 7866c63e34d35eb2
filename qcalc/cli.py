"""The qcalc command line: parse → load → compute → render. Nothing else."""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from qcalc import __version__
from qcalc.errors import QcalcError

app = typer.Typer(
    name="qcalc",
    help="Roadmap and link-budget calculator for the quantum internet.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

EXIT_OK, EXIT_EXPECT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class Format(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")
]
ExplainOpt = Annotated[bool, typer.Option("--explain", help="Print the derivation step by step.")]
ScenarioArg = Annotated[
    str, typer.Argument(help="Scenario YAML file.", metavar="SCENARIO", show_default=False)
]


def fail(message: str) -> NoReturn:
    """Print a one-paragraph error to stderr and exit with code 2 (bad input)."""
    typer.echo(f"qcalc: error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def guarded(fn: Callable[[], int]) -> None:
    """Run a command body; library errors become a message and exit code 2."""
    try:
        code = fn()
    except QcalcError as exc:
        fail(str(exc))
    raise typer.Exit(code)


def emit(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    try:
        output.write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
    except OSError as exc:
        fail(f"{output}: cannot write the output: {exc.strerror}")


def show(tables: list[Any], fmt: Format, output: Path | None, explain: str = "") -> None:
    """Render tables as the format asks; rich only for a table on a terminal."""
    from qcalc import report

    if fmt is Format.markdown:
        body = report.render_markdown(tables)
        if explain:
            body = f"```text\n{explain}\n```\n\n{body}"
        emit(body, output)
    elif output is None and sys.stdout.isatty():
        if explain:
            typer.echo(explain + "\n")
        report.print_rich(tables)
    else:
        emit((explain + "\n\n" if explain else "") + report.render_plain(tables), output)


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"qcalc {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=version_callback,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Roadmap and link-budget calculator for the quantum internet."""


def _evaluate(path: str) -> tuple[Any, list[Any]]:
    from qcalc.evaluate import evaluate_scenario
    from qcalc.scenario import load_scenario

    scenario = load_scenario(path)
    return scenario, evaluate_scenario(scenario)


def _demand_report(
    path: str,
    fmt: Format,
    output: Path | None,
    explain: bool,
    tables_of: str,
    levers: bool = False,
    monte_carlo: int = 0,
    seed: int = 0,
) -> int:
    from qcalc import report

    scenario, results = _evaluate(path)
    if monte_carlo:
        from qcalc.delivery import monte_carlo_check

        for r in results:
            if r.entanglement is not None:
                r.monte_carlo = monte_carlo_check(r.entanglement, monte_carlo, seed)
    if tables_of == "stage":
        import numpy as np

        from qcalc.levers import next_stage_levers
        from qcalc.scenario import APPLICATION_STAGE

        for r in results:
            app = r.demand.application
            keyless = app in ("qkd", "diqkd") and not np.any(np.asarray(r.key_rate_bps) > 0)
            short = not r.passed or int(r.stage) < APPLICATION_STAGE[app] or keyless
            if levers or short:
                r.next_stage = next_stage_levers(scenario, r)
    steps = [s for r in results for s in r.steps]
    if fmt is Format.json:
        data = report.scenario_dict(scenario, results)
        if explain:
            data["explain"] = [
                {
                    "title": s.title,
                    "formula": s.formula,
                    "inputs": dict(s.inputs),
                    "result": s.result,
                }
                for s in steps
            ]
        emit(report.to_json(data), output)
    else:
        tables = (report.stage_tables if tables_of == "stage" else report.rate_tables)(
            scenario, results
        )
        show(tables, fmt, output, report.explain_text(steps) if explain else "")
    return EXIT_OK if all(r.passed for r in results) else EXIT_EXPECT_FAILED


@app.command()
def stage(
    scenario: ScenarioArg,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    explain: ExplainOpt = False,
    levers: Annotated[
        bool,
        typer.Option(
            "--levers",
            help="Solve for the next stage of every demand, not only of those that fall short.",
        ),
    ] = False,
) -> None:
    """Per demand: path, stage reached (1–6) and, for every stage, met or not and why.

    For a demand that misses its expect block or the stage its application needs: the
    cheapest single parameter changes that would meet it ("what would it take")."""
    guarded(lambda: _demand_report(scenario, format, output, explain, "stage", levers))


@app.command()
def rate(
    scenario: ScenarioArg,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    explain: ExplainOpt = False,
    monte_carlo: Annotated[
        int,
        typer.Option(
            "--monte-carlo",
            min=0,
            help="Also simulate the repeater protocol N times "
            "(seeded) and print its mean and 99 % interval beside the closed form.",
        ),
    ] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of --monte-carlo.")] = 0,
) -> None:
    """Per demand: key rate of every applicable protocol, Bell pairs, against PLOB."""
    guarded(
        lambda: _demand_report(
            scenario, format, output, explain, "rate", monte_carlo=monte_carlo, seed=seed
        )
    )


@app.command()
def links(
    scenario: ScenarioArg,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    explain: ExplainOpt = False,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Draw each link's budget as a waterfall (PNG or SVG); "
            "needs the plot extra: pip install 'qcalc[plot]'.",
        ),
    ] = None,
) -> None:
    """Per link: loss budget in named terms, total loss, transmittance, delay, PLOB."""

    def body() -> int:
        from qcalc import report
        from qcalc.linkbudget import link_budget
        from qcalc.scenario import load_scenario

        sc = load_scenario(scenario)
        budgets = [link_budget(link, sc) for link in sc.links]
        if plot is not None:
            from qcalc.plot import plot_link_waterfall

            plot_link_waterfall(budgets, str(plot))
        steps = [s for b in budgets for s in b.steps]
        if format is Format.json:
            emit(report.to_json(report.links_dict(sc, budgets)), output)
        else:
            show(
                report.links_table(sc, budgets),
                format,
                output,
                report.explain_text(steps) if explain else "",
            )
        return EXIT_OK

    guarded(body)


@app.command()
def validate(
    paths: Annotated[list[str], typer.Argument(help="Scenario files or folders.")],
) -> None:
    """Check scenario files against the format and the physics ranges; evaluate nothing."""

    def body() -> int:
        from qcalc.scenario import load_scenario

        bad = 0
        files = expand_paths(paths)
        for file in files:
            try:
                load_scenario(file)
                typer.echo(f"{file}: ok")
            except QcalcError as exc:
                bad += 1
                typer.echo(f"qcalc: error: {exc}", err=True)
        return EXIT_BAD_INPUT if bad else EXIT_OK

    guarded(body)


class SweepFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


@app.command()
def sweep(
    scenario: ScenarioArg,
    vary: Annotated[
        list[str],
        typer.Option(
            "--vary",
            help="FIELD=START:STOP:NUM, e.g. links.alice-bob.length_km="
            "0:200:101 (log:START:STOP:NUM for log spacing); repeat for a grid.",
        ),
    ],
    metric: Annotated[
        list[str],
        typer.Option(
            "--metric",
            help="key_rate_bps, pair_rate_hz, fidelity, stage, loss_db, "
            "plob_bps or protocol:NAME; repeatable.",
        ),
    ] = ["key_rate_bps"],  # noqa: B006 - typer reads the default, never mutates it
    demand: DemandOpt = None,
    format: Annotated[SweepFormat, typer.Option("--format", "-f", help="Output format.")] = (
        SweepFormat.table
    ),
    output: OutputOpt = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Draw each metric against the first field (PNG or "
            "SVG); needs the plot extra: pip install 'qcalc[plot]'.",
        ),
    ] = None,
) -> None:
    """Sweep scenario fields over a range or grid and report demand quantities.

    The models take numpy arrays, so the whole grid is evaluated in one pass."""

    def body() -> int:
        from qcalc import report
        from qcalc import sweep as sw

        varies = [sw.parse_vary(v) for v in vary]
        result = sw.run_sweep(scenario, varies, list(metric), demand)
        if plot is not None:
            from qcalc.plot import plot_sweep

            plot_sweep(result, str(plot))
        if format is SweepFormat.json:
            emit(report.to_json(result.to_json()), output)
        elif format is SweepFormat.csv:
            emit(result.to_csv(), output)
        else:
            table = report.Table(
                f"{result.scenario_name} — sweep of demand {result.demand}",
                list(result.columns),
                result.rows(),
            )
            show([table], Format.table, output)
        return EXIT_OK

    guarded(body)


class BatchFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    junit = "junit"


def _progress_bar(total: int) -> tuple[Any, Callable[[int], None]] | None:
    """A rich progress bar on a terminal outside CI; None when piped or in CI."""
    import os

    if not sys.stderr.isatty() or os.environ.get("CI") or total < 20:
        return None
    from rich.progress import Progress

    bar = Progress(transient=True)
    task = bar.add_task("evaluating", total=total)
    return bar, lambda n: bar.advance(task, n)


@app.command()
def batch(
    paths: Annotated[list[str], typer.Argument(help="Scenario files, folders or globs.")],
    format: Annotated[BatchFormat, typer.Option("--format", "-f", help="Output format.")] = (
        BatchFormat.table
    ),
    output: OutputOpt = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Parallel processes.")] = 1,
) -> None:
    """Evaluate many scenarios, check every expect block, print one summary.

    Exit code 0 when everything passed, 1 when an expectation failed, 2 when a file
    could not be evaluated (every other file is still evaluated and reported).
    """

    def body() -> int:
        import os

        # Scenario models solve small systems: BLAS threads only contend, above all
        # across --jobs processes (1,000 scenarios: 7.3 s threaded, 3.6 s without).
        # Set before numpy loads; a user's own setting wins.
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")
        from qcalc import batch as b
        from qcalc import report

        files = expand_paths(paths)
        if not files:
            fail(f"no scenario files (*.yaml, *.yml) found in {' '.join(paths)}")
        progress = _progress_bar(len(files))
        if progress is None:
            results = b.run_batch(files, jobs)
        else:
            with progress[0]:
                results = b.run_batch(files, jobs, progress[1])
        if format is BatchFormat.json:
            emit(report.to_json(b.to_json_data(results)), output)
        elif format is BatchFormat.csv:
            emit(b.to_csv(results), output)
        elif format is BatchFormat.junit:
            emit(b.to_junit(results), output)
        elif format is BatchFormat.markdown:
            emit(b.to_markdown(results), output)
        else:
            table = report.Table(
                "qcalc batch", b.BATCH_COLUMNS, [*b.rows(results)], [b.summary_line(results)]
            )
            show([table], Format.table, output)
        for r in results:
            if r.error is not None:
                typer.echo(f"qcalc: error: {r.error}", err=True)
        return b.summarise(results).exit_code

    guarded(body)


@app.command()
def schema(output: OutputOpt = None) -> None:
    """Print the JSON Schema of the scenario format (for editors)."""
    from qcalc import report
    from qcalc.scenario import json_schema

    emit(report.to_json(json_schema()), output)


budget_app = typer.Typer(
    help="Bell-pair and classical-bit budgets of distributed applications.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(budget_app, name="budget")

ScenarioOpt = Annotated[
    str | None,
    typer.Option("--scenario", help="Scenario whose demand should serve the budget."),
]
DemandOpt = Annotated[
    str | None, typer.Option("--demand", help="Demand of --scenario (default: the first).")
]
TargetErrorOpt = Annotated[
    float,
    typer.Option(
        "--target-error",
        help="Allowed total error of one circuit run (sets the "
        "required pair fidelity with the stage-5 floor 0.99).",
    ),
]


def _budget_with_scenario(
    budget: Any,
    scenario_path: str | None,
    demand_name: str | None,
) -> tuple[dict[str, Any], list[str], int]:
    """Add what a deployment delivers to a budget: rate, fidelity, time, feasibility."""
    data = budget.to_dict()
    if scenario_path is None:
        if demand_name is not None:
            fail("--demand needs --scenario FILE")
        return data, [], EXIT_OK
    from qcalc.budget import serve_from_scenario
    from qcalc.report import num

    served = serve_from_scenario(budget, scenario_path, demand_name)
    feas = served.feasibility
    extra = feas.to_dict()
    data.update(
        scenario=served.scenario,
        demand=served.demand,
        path=list(served.path),
        available_rate_hz=extra["available_rate_hz"],
        fidelity=extra["fidelity"],
        time_to_complete_s=extra["time_to_complete_s"],
        feasible=extra["feasible"],
        stage_reached=served.stage,
        stage_gap=extra["stage_gap"],
        feasibility=extra,
    )
    lines = [
        f"deployment: {served.scenario}, demand {served.demand} ({' → '.join(served.path)})",
        f"available: {num(feas.available_rate_hz, 'pairs/s')} at fidelity "
        f"{num(feas.fidelity)}, stage {served.stage}",
        f"time to complete: {num(feas.time_to_complete_s, 's')} (wall time "
        f"{num(budget.wall_time_s, 's')})",
        f"feasible: {'yes' if feas.feasible else 'no'}",
        *(f"  {reason}" for reason in feas.reasons),
    ]
    return data, lines, EXIT_OK if feas.feasible else EXIT_EXPECT_FAILED


def _budget_value(value: Any) -> str:
    """Counts exactly, rates to six figures, booleans in words."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.6g}"
    return str(value)


def _show_budget(
    title: str,
    budget: Any,
    data: dict[str, Any],
    lines: list[str],
    fmt: Format,
    output: Path | None,
    explain: bool,
) -> None:
    from qcalc import report

    if fmt is Format.json:
        if explain:
            data["explain"] = [step.to_dict() for step in budget.explain]
        emit(report.to_json(data), output)
        return
    table = report.Table(title, ["quantity", "value"])
    for key, value in data.items():
        if not isinstance(value, dict | list):
            table.rows.append([key, _budget_value(value)])
    table.footer.extend(lines)
    text = "\n\n".join(step.render() for step in budget.explain) if explain else ""
    show([table], fmt, output, text)


@budget_app.command("vqe")
def budget_vqe(
    qubits_per_qpu: Annotated[str, typer.Option("--qubits-per-qpu", help="Qubits per QPU.")] = "50",
    depth: Annotated[str, typer.Option("--depth", help="Ansatz layers.")] = "100",
    iterations: Annotated[
        str, typer.Option("--iterations", help="Optimiser iterations (counts accept 1e4).")
    ] = "1e4",
    wall_time: Annotated[
        str, typer.Option("--wall-time", help="Time allowed: 90s, 15m, 1h, 2d or seconds.")
    ] = "1h",
    cross_cnots_per_layer: Annotated[
        str | None, typer.Option("--cross-cnots-per-layer", help="Default: qubits per QPU / 2.")
    ] = None,
    shots: Annotated[str, typer.Option("--shots", help="Circuit runs per iteration.")] = "1",
    measurement_groups: Annotated[
        str, typer.Option("--measurement-groups", help="Commuting measurement groups.")
    ] = "1",
    target_error: TargetErrorOpt = 0.1,
    scenario: ScenarioOpt = None,
    demand: DemandOpt = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    explain: ExplainOpt = False,
) -> None:
    """Distributed VQE: Bell pairs (one per cross-QPU CNOT by gate teleportation, Eisert
    et al. 2000), classical bits (two each), required rate, fidelity and stage.

    The defaults are the worked example: 50 qubits per QPU, depth 100, 1e4 iterations,
    1 h → 2,500 pairs per iteration, 2.5e7 in total, 6,944 pairs/s, stage 5. With
    --scenario: whether that deployment serves it (exit 1 when it cannot)."""

    def body() -> int:
        from qcalc import budget as b

        try:
            budget = b.vqe_budget(
                qubits_per_qpu=b.parse_count(qubits_per_qpu, name="--qubits-per-qpu"),
                depth=b.parse_count(depth, name="--depth"),
                iterations=b.parse_count(iterations, name="--iterations"),
                wall_time_s=b.parse_duration_s(wall_time, name="--wall-time"),
                cross_cnots_per_layer=None
                if cross_cnots_per_layer is None
                else b.parse_count(cross_cnots_per_layer, name="--cross-cnots-per-layer"),
                shots_per_iteration=b.parse_count(shots, name="--shots"),
                measurement_groups=b.parse_count(measurement_groups, name="--measurement-groups"),
                target_circuit_error=target_error,
            )
        except ValueError as exc:
            fail(str(exc))
        data, lines, code = _budget_with_scenario(budget, scenario, demand)
        _show_budget("distributed VQE budget", budget, data, lines, format, output, explain)
        return code

    guarded(body)


@budget_app.command("circuit")
def budget_circuit(
    cross_cnots: Annotated[
        str | None, typer.Option("--cross-cnots", help="Cross-partition two-qubit gates.")
    ] = None,
    teleported_qubits: Annotated[
        str, typer.Option("--teleported-qubits", help="Qubits teleported between QPUs.")
    ] = "0",
    nonlocal_swaps: Annotated[
        str, typer.Option("--nonlocal-swaps", help="Cross-partition SWAPs (2 pairs each).")
    ] = "0",
    runs: Annotated[str, typer.Option("--runs", help="Circuit runs.")] = "1",
    wall_time: Annotated[str, typer.Option("--wall-time", help="Time allowed.")] = "1h",
    qasm: Annotated[
        Path | None, typer.Option("--qasm", help="OpenQASM 2 file to count gates from.")
    ] = None,
    partition: Annotated[
        str | None, typer.Option("--partition", help="Qubits per QPU, e.g. 0-49:50-99.")
    ] = None,
    target_error: TargetErrorOpt = 0.1,
    scenario: ScenarioOpt = None,
    demand: DemandOpt = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    explain: ExplainOpt = False,
) -> None:
    """Any partitioned circuit, from counts or from an OpenQASM 2 file and a partition."""

    def body() -> int:
        from qcalc import budget as b

        counts: dict[str, Any] = {}
        try:
            if qasm is not None:
                if partition is None:
                    fail("--qasm needs --partition, e.g. --partition 0-49:50-99")
                if cross_cnots is not None:
                    fail("give either --qasm with --partition or --cross-cnots, not both")
                from qcalc.qasm import count_cross_partition_gates

                try:
                    text = qasm.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    fail(f"{qasm}: cannot be read: {exc}")
                found = count_cross_partition_gates(text, partition, str(qasm))
                cross, swaps = found.cross_two_qubit_gates, found.nonlocal_swaps
                counts = {"qasm_counts": found.to_dict()}
            else:
                if cross_cnots is None:
                    fail("give --cross-cnots N, or --qasm FILE with --partition")
                cross = b.parse_count(cross_cnots, name="--cross-cnots", minimum=0)
                swaps = b.parse_count(nonlocal_swaps, name="--nonlocal-swaps", minimum=0)
            budget = b.circuit_budget(
                cross_cnots=cross,
                teleported_qubits=b.parse_count(
                    teleported_qubits, name="--teleported-qubits", minimum=0
                ),
                nonlocal_swaps=swaps,
                runs=b.parse_count(runs, name="--runs"),
                wall_time_s=b.parse_duration_s(wall_time, name="--wall-time"),
                target_circuit_error=target_error,
            )
        except ValueError as exc:
            fail(str(exc))
        data, lines, code = _budget_with_scenario(budget, scenario, demand)
        data.update(counts)
        _show_budget("partitioned circuit budget", budget, data, lines, format, output, explain)
        return code

    guarded(body)


@app.command()
def apps(format: FormatOpt = Format.table, output: OutputOpt = None) -> None:
    """The application catalogue: each roadmap application, the stage it needs, what it
    consumes, and its reference."""
    from qcalc import report
    from qcalc.apps import APPLICATIONS

    if format is Format.json:
        emit(
            report.to_json(
                {
                    "applications": [
                        {
                            "key": a.key,
                            "name": a.name,
                            "stage": a.stage,
                            "stage_name": a.stage_name,
                            "resource": a.resource,
                            "min_fidelity": a.min_fidelity,
                            "reason": a.reason,
                            "reference": a.reference,
                            "in_contract": a.in_contract,
                        }
                        for a in APPLICATIONS.values()
                    ]
                }
            ),
            output,
        )
        return
    table = report.Table(
        "applications of the quantum internet (Wehner, Elkouss, Hanson 2018)",
        ["key", "application", "stage", "consumes", "reference"],
    )
    for a in APPLICATIONS.values():
        table.rows.append([a.key, a.name, f"{a.stage} ({a.stage_name})", a.resource, a.reference])
    show([table], format, output)


def expand_paths(paths: list[str]) -> list[str]:
    """Files as given; folders expanded to the *.yaml/*.yml files below them, sorted."""
    from qcalc.errors import ScenarioError

    files: list[str] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = sorted({*path.rglob("*.yaml"), *path.rglob("*.yml")})
            files.extend(str(f) for f in found)
        elif any(ch in p for ch in "*?["):
            files.extend(sorted(str(f) for f in Path().glob(p)))
        elif path.exists():
            files.append(p)
        else:
            raise ScenarioError("no such file or folder", file=p)
    return files


def main() -> None:
    """Console-script entry point: never a traceback for a user."""
    import os

    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive
        typer.echo("qcalc: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # pragma: no cover - a bug, said plainly, not a traceback
        if os.environ.get("QCALC_DEBUG"):
            raise
        typer.echo(
            f"qcalc: internal error: {type(exc).__name__}: {exc}. This is a bug in qcalc; "
            "run again with QCALC_DEBUG=1 for the traceback and report it with the scenario.",
            err=True,
        )
        sys.exit(3)
