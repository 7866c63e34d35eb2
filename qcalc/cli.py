"""The qcalc command line: parse → load → compute → render. Nothing else."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

EXIT_OK, EXIT_EXPECT_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


class Format(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")
]
ExplainOpt = Annotated[bool, typer.Option("--explain", help="Print the derivation step by step.")]
WideOpt = Annotated[
    bool,
    typer.Option(
        "--wide",
        help="One line per table row, however long (default: fit the terminal, "
        "or COLUMNS, or 80 columns when piped).",
    ),
]
ScenarioArg = Annotated[
    str, typer.Argument(help="Scenario YAML file.", metavar="SCENARIO", show_default=False)
]
GlobOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--glob",
        help="Also read the files matching PATTERN (e.g. 'plans/**/*.yaml'; quote it). "
        "Arguments are never patterns: a file named plan[1].yaml is that file.",
        show_default=False,
    ),
]


def fail(message: str) -> NoReturn:
    """Print a one-paragraph error to stderr and exit with code 2 (bad input)."""
    from qcalc.outputs import write_stderr

    write_stderr(f"qcalc: error: {message}\n")
    raise typer.Exit(EXIT_BAD_INPUT)


def say(text: str, err: bool = False) -> None:
    """Print a line (controls escaped, never a CI workflow command); exit 2 when stdout
    cannot take it (closed, full, a closed pipe)."""
    from qcalc.outputs import OutputError, write_stderr, write_stdout

    line = text if text.endswith("\n") else text + "\n"
    if err:
        write_stderr(line)
        return
    try:
        write_stdout(line)
    except OutputError as exc:
        fail(str(exc))


#: Files and folders the running command reads: an output may not overwrite them.
_READING: dict[str, list[str]] = {"files": [], "folders": []}


def guarded(
    fn: Callable[[], int],
    inputs: list[str | None] | tuple[str | None, ...] = (),
    outputs: dict[str, Path | None] | None = None,
) -> None:
    """Run a command body; library errors become a message and exit code 2.

    ``inputs`` are the files the command reads and ``outputs`` its output options (by
    option name); each output is checked against the inputs and the other outputs before
    any work starts (an output never overwrites an input)."""
    from qcalc.outputs import check_target

    _READING["files"] = [p for p in inputs if p is not None]
    _READING["folders"] = []
    try:
        named = {k: v for k, v in (outputs or {}).items() if v is not None and str(v) != "-"}
        for option, target in named.items():
            others = [v for k, v in named.items() if k != option]
            check_target(target, _READING["files"], others=others, option=option)
        code = fn()
    except QcalcError as exc:
        fail(str(exc))
    raise typer.Exit(code)


def emit(text: str, output: Path | None) -> None:
    """Write a report to ``output`` (atomically: the previous file survives any failure) or
    to stdout (None or ``-``); exit 2 with a message when it cannot be written."""
    from qcalc.outputs import OutputError, write_output

    try:
        write_output(text, output, _READING["files"], _READING["folders"])
    except OutputError as exc:
        fail(str(exc))


@contextmanager
def plot_file(target: Path) -> Iterator[str]:
    """A temporary path for ``--plot`` beside ``target``, renamed over it only when the
    plot was drawn: a failed plot leaves no empty file and the previous plot intact."""
    from qcalc.outputs import OutputError, check_target, replacing
    from qcalc.plot import SUFFIXES

    if target.suffix.lower() not in SUFFIXES:
        yield str(target)  # the plot refuses it by its own name, and writes nothing
        return
    try:
        check_target(target, _READING["files"], _READING["folders"], option="--plot")
        with replacing(target, "--plot") as temp:
            yield temp
    except OutputError as exc:
        fail(str(exc))


def table_width(output: Path | None, wide: bool) -> int | None:
    """Characters a table may take: None with --wide; else COLUMNS when set, the terminal's
    width on a terminal, and 80 in a pipe or a file."""
    import os

    from qcalc.report import DEFAULT_WIDTH, MIN_WIDTH

    if wide:
        return None
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return max(int(columns), MIN_WIDTH)
    if output is None and sys.stdout.isatty():
        try:
            return max(os.get_terminal_size(sys.stdout.fileno()).columns, MIN_WIDTH)
        except (OSError, ValueError):
            pass
    return DEFAULT_WIDTH


def show(
    tables: list[Any],
    fmt: Format,
    output: Path | None,
    explain: str = "",
    wide: bool = False,
) -> None:
    """Render tables as the format asks, fitted to the terminal (80 columns in a pipe);
    rich only for a table on a terminal."""
    from qcalc import report

    width = table_width(output, wide)
    if fmt is Format.markdown:
        body = report.render_markdown(tables)
        if explain:
            body = f"```text\n{explain}\n```\n\n{body}"
        emit(body, output)
    elif output is None and sys.stdout.isatty():
        if explain:
            typer.echo(report.wrap_text(explain, width) + "\n")
        report.print_rich(tables, width)
    else:
        text = report.wrap_text(explain, width) + "\n\n" if explain else ""
        emit(text + report.render_plain(tables, width), output)


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
    _READING["files"], _READING["folders"] = [], []  # each command checks its own inputs


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
    wide: bool = False,
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
            data["explain"] = [report.step_dict(s) for s in steps]
        emit(report.to_json(data), output)
    else:
        tables = (report.stage_tables if tables_of == "stage" else report.rate_tables)(
            scenario, results
        )
        show(tables, fmt, output, report.explain_text(steps) if explain else "", wide)
    return EXIT_OK if all(r.passed for r in results) else EXIT_EXPECT_FAILED


@app.command()
def stage(
    scenario: ScenarioArg,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    explain: ExplainOpt = False,
    wide: WideOpt = False,
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
    guarded(
        lambda: _demand_report(scenario, format, output, explain, "stage", levers, wide=wide),
        inputs=[scenario],
        outputs={"--output": output},
    )


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
    wide: WideOpt = False,
) -> None:
    """Per demand: key rate of every applicable protocol, Bell pairs, against PLOB."""
    check_monte_carlo(monte_carlo, seed)
    guarded(
        lambda: _demand_report(
            scenario,
            format,
            output,
            explain,
            "rate",
            monte_carlo=monte_carlo,
            seed=seed,
            wide=wide,
        ),
        inputs=[scenario],
        outputs={"--output": output},
    )


#: Largest --seed: numpy seeds any whole number ≥ 0; 128 bits is all its generator uses.
MAX_SEED = 2**128 - 1


def check_monte_carlo(trials: int, seed: int) -> None:
    """Refuse --monte-carlo and --seed values the simulation cannot take, before any work."""
    from qcalc.limits import LIMITS

    entry = LIMITS["monte_carlo_trials"]
    if trials == 1:
        fail("--monte-carlo is 1; expected 0 (no simulation) or at least 2 trials")
    if trials > entry.value:
        fail(f"--monte-carlo is {entry.refusal(trials)}")
    if not 0 <= seed <= MAX_SEED:
        fail(f"--seed is {seed}; expected a whole number ≥ 0 (and < 2^128)")


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
    wide: WideOpt = False,
) -> None:
    """Per link: loss budget in named terms, total loss, transmittance, delay, PLOB."""

    def body() -> int:
        from qcalc import report
        from qcalc.linkbudget import link_budget
        from qcalc.scenario import load_scenario

        if plot is not None:
            from qcalc.plot import require_matplotlib

            require_matplotlib()
        sc = load_scenario(scenario)
        budgets = [link_budget(link, sc) for link in sc.links]
        if plot is not None:
            from qcalc.plot import plot_link_waterfall

            with plot_file(plot) as temp:
                plot_link_waterfall(budgets, temp)
        steps = [s for b in budgets for s in b.steps]
        if format is Format.json:
            emit(report.to_json(report.links_dict(sc, budgets)), output)
        else:
            show(
                report.links_table(sc, budgets),
                format,
                output,
                report.explain_text(steps) if explain else "",
                wide,
            )
        return EXIT_OK

    guarded(body, inputs=[scenario], outputs={"--output": output, "--plot": plot})


@app.command()
def validate(
    paths: Annotated[
        list[str] | None, typer.Argument(help="Scenario files or folders.", show_default=False)
    ] = None,
    glob: GlobOpt = None,
) -> None:
    """Check scenario files against the format and the physics ranges; evaluate nothing.

    Every file is checked and reported, whatever happens to the others: exit 0 when all
    are valid, 2 when any is not (3 only for an internal error, which is a bug)."""

    def body() -> int:
        from qcalc.scenario import load_scenario
        from qcalc.units import plural

        missing: list[str] = []
        files = expand_paths(paths or [], missing, glob or [])
        if not files and not missing:
            fail(_nothing_found(paths, glob))
        for path in missing:
            say(f"qcalc: error: {path}: {_MISSING[path]}", err=True)
        bad = internal = 0
        for file in files:
            try:
                load_scenario(file)
                say(f"{file}: ok")
            except QcalcError as exc:
                bad += 1
                say(f"qcalc: error: {exc}", err=True)
            except Exception as exc:  # noqa: BLE001 - one file never stops the others
                internal += 1
                say(f"qcalc: internal error: {file}: {type(exc).__name__}: {exc}", err=True)
        bad += len(missing)
        if bad or internal:
            say(
                f"qcalc: {plural(len(files) + len(missing) - bad - internal, 'file')} ok, "
                f"{plural(bad + internal, 'with errors', 'with errors')}",
                err=True,
            )
        return EXIT_INTERNAL if internal else EXIT_BAD_INPUT if bad else EXIT_OK

    guarded(body)


class SweepFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


SweepDemandOpt = Annotated[
    str | None, typer.Option("--demand", help="Demand to sweep (default: the first).")
]


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
    demand: SweepDemandOpt = None,
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
    explain: ExplainOpt = False,
    wide: WideOpt = False,
) -> None:
    """Sweep scenario fields over a range or grid and report demand quantities.

    The models take numpy arrays, so the whole grid is evaluated in one pass."""

    def body() -> int:
        from qcalc import report
        from qcalc import sweep as sw

        varies = [sw.parse_vary(v) for v in vary]
        if plot is not None:
            from qcalc.plot import require_matplotlib

            require_matplotlib()
        points = math.prod(v.values.size for v in varies)
        with progress_bar(f"sweeping {points:,} points", None if points > 1 else 0):
            result = sw.run_sweep(scenario, varies, list(metric), demand)
            if plot is not None:
                from qcalc.plot import plot_sweep

                with plot_file(plot) as temp:
                    plot_sweep(result, temp)
            steps = list(result.steps)
            if format is SweepFormat.json:
                data = result.to_json()
                if explain:
                    data["explain"] = [report.step_dict(s) for s in steps]
                text = report.to_json(data)
            elif format is SweepFormat.csv:
                text = result.to_csv()
            else:
                table = report.sweep_table(result)
        if format in (SweepFormat.json, SweepFormat.csv):
            emit(text, output)
        else:
            show(
                [table],
                Format.markdown if format is SweepFormat.markdown else Format.table,
                output,
                report.explain_text(steps) if explain else "",
                wide,
            )
        return EXIT_OK

    guarded(body, inputs=[scenario], outputs={"--output": output, "--plot": plot})


class BatchFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    junit = "junit"


#: A progress bar appears only for work still running after this long. [s]
PROGRESS_DELAY_S = 1.0


@contextmanager
def progress_bar(what: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr for work that runs longer than about a second.

    Only on a terminal and never in CI (``CI`` set) or a pipe; it appears after
    :data:`PROGRESS_DELAY_S` and vanishes when the work ends. ``total`` None draws a bar
    without an end (one vectorised call), 0 draws nothing. Yields ``advance(n)``.
    """
    import os
    import threading

    if not total and total is not None or not sys.stderr.isatty() or os.environ.get("CI"):
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = [TextColumn("{task.description}"), BarColumn()]
    if total is not None:
        columns.append(MofNCompleteColumn())
    bar = Progress(*columns, TimeElapsedColumn(), console=Console(stderr=True), transient=True)
    task = bar.add_task(what, total=total)
    lock = threading.Lock()
    state = {"started": False, "done": False}

    def start() -> None:
        with lock:
            if not state["done"]:
                bar.start()
                state["started"] = True

    timer = threading.Timer(PROGRESS_DELAY_S, start)
    timer.daemon = True
    timer.start()
    try:
        yield lambda n: bar.advance(task, n)
    finally:
        timer.cancel()
        with lock:
            state["done"] = True
            if state["started"]:
                bar.stop()


@app.command()
def batch(
    paths: Annotated[
        list[str] | None, typer.Argument(help="Scenario files or folders.", show_default=False)
    ] = None,
    glob: GlobOpt = None,
    format: Annotated[BatchFormat, typer.Option("--format", "-f", help="Output format.")] = (
        BatchFormat.table
    ),
    output: OutputOpt = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Parallel processes.")] = 1,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Also print each file's derivation step by step (table, markdown; "
            'json: under each scenario\'s "explain").',
        ),
    ] = False,
    wide: WideOpt = False,
) -> None:
    """Evaluate many scenarios, check every expect block, print one summary.

    Exit code 0 when everything passed, 1 when an expectation failed, 2 when a file
    could not be evaluated (every other file is still evaluated and reported), 3 when
    qcalc failed on a file (a bug). SIGINT or SIGTERM stops every worker and says how
    many files were finished (exit 130 or 143).
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
        from qcalc.units import plural

        if explain and format in (BatchFormat.csv, BatchFormat.junit):
            fail(f"--explain prints derivations; --format {format.value} has no place for them")
        missing: list[str] = []
        files = expand_paths(paths or [], missing, glob or [])
        if not files and not missing:
            fail(_nothing_found(paths, glob))
        check_output(output)
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            tick(n)

        try:
            with progress_bar("evaluating", len(files)) as tick:
                results = b.run_batch(files, jobs, advance, explain)
        except KeyboardInterrupt as exc:
            signum = getattr(exc, "signum", 2)
            say(
                f"qcalc: interrupted ({b.signal_name(signum)}) after {done:,} of "
                f"{plural(len(files), 'file')}; every worker was stopped and no summary "
                "was written",
                err=True,
            )
            raise typer.Exit(128 + signum) from None
        results.extend(b.FileResult(p, error=f"{p}: {_MISSING[p]}") for p in missing)
        steps = "\n\n".join(
            f"{r.file}\n{report.explain_text(r.data['explain'])}"
            for r in results
            if explain and r.data is not None
        )
        if format is BatchFormat.json:
            emit(report.to_json(b.to_json_data(results)), output)
        elif format is BatchFormat.csv:
            emit(b.to_csv(results), output)
        elif format is BatchFormat.junit:
            emit(b.to_junit(results), output)
        elif format is BatchFormat.markdown:
            text = f"```text\n{steps}\n```\n\n" if steps else ""
            emit(text + b.to_markdown(results), output)
        else:
            table = report.batch_table(results, b.summary_line(results))
            show([table], Format.table, output, steps, wide)
        for r in results:
            if r.error is not None:
                say(f"qcalc: {'internal error' if r.internal else 'error'}: {r.error}", err=True)
        return b.summarise(results).exit_code

    guarded(body)


@app.command()
def schema(output: OutputOpt = None) -> None:
    """Print the JSON Schema of the scenario format (for editors).

    The same schema ships as qcalc/data/scenario.schema.json. For completion and checks
    as you type (VS Code's YAML extension, any editor with yaml-language-server), put on
    the first line of a scenario, with the path from the scenario to the schema file:

    # yaml-language-server: $schema=../qcalc/data/scenario.schema.json"""
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
        distillation_tried=list(served.schedule),
    )
    lines = [
        f"deployment: {served.scenario}, demand {served.demand} ({' → '.join(served.path)}), "
        f"stage {served.stage}",
        *_verdict_lines(budget, feas),
        *(
            f"{'distillation tried: ' if i == 0 else '                    '}{line}"
            for i, line in enumerate(getattr(served, "schedule", ()))
        ),
    ]
    return data, lines, EXIT_OK if feas.feasible else EXIT_EXPECT_FAILED


def _verdict_lines(budget: Any, feas: Any) -> list[str]:
    """Whether a deployment serves a budget, and why not: the pairs it makes, what
    distillation leaves of them, the time that takes against the time allowed."""
    from qcalc.report import num
    from qcalc.stage import stage_name

    wall = num(budget.wall_time_s, "s")
    needed = num(budget.required_fidelity)
    plan = feas.distillation
    rounds = 0 if plan is None else plan.rounds
    lines = [
        f"raw pairs: {num(feas.available_rate_hz, 'pairs/s')} at fidelity {num(feas.fidelity)}",
        f"needed: {budget.bell_pairs_total:,} pairs at fidelity ≥ {needed} within {wall} "
        f"({num(budget.required_rate_hz, 'pairs/s')})",
    ]
    if plan is not None:
        lift = f"{rounds} round{'s' if rounds != 1 else ''} lift " + (
            f"{num(feas.fidelity)} to {num(plan.final_fidelity)}"
        )
        if plan.reachable and math.isfinite(plan.raw_pairs_per_pair):
            lines.append(
                f"distillation: {lift}, {num(plan.raw_pairs_per_pair)} raw pairs per pair: "
                f"{num(feas.usable_rate_hz, 'pairs/s')} usable"
            )
        elif rounds == 0:
            lines.append(f"distillation: no round raises {num(feas.fidelity)} (< {needed} needed)")
        else:
            lines.append(f"distillation: {lift} only (< {needed} needed)")
    finite = math.isfinite(feas.time_to_complete_s)
    time = num(feas.time_to_complete_s, "s") if finite else "never"
    lines.append(f"time to complete: {time} (allowed {wall})")
    lines.append(f"feasible: {'yes' if feas.feasible else 'no'}")
    after = f" after {rounds} round{'s' if rounds != 1 else ''} of distillation" if rounds else ""
    if not feas.rate_ok and finite:
        lines.append(
            f"  too slow: {num(feas.usable_rate_hz, 'pairs/s')} usable{after} < "
            f"{num(budget.required_rate_hz, 'pairs/s')} needed; the "
            f"{budget.bell_pairs_total:,} pairs would take {time}, {wall} allowed"
        )
    elif not feas.rate_ok and feas.available_rate_hz <= 0:
        lines.append("  no pairs: the deployment delivers none on this route")
    elif not feas.rate_ok and feas.fidelity_ok:
        lines.append(f"  no usable pairs{after}")
    if not feas.fidelity_ok:
        why = plan.reason if plan is not None else "no distillation given"
        lines.append(f"  fidelity {num(feas.delivered_fidelity)}{after} < {needed} needed: {why}")
    if feas.stage_gap:
        lines.append(
            f"  stage {feas.stage_reached} reached < stage {budget.required_stage} needed "
            f"({stage_name(budget.required_stage)})"
        )
    return lines


#: Units of budget quantities, by the suffix of their key (rates there are pair rates).
_BUDGET_UNITS = (("_rate_hz", "pairs/s"), ("_hz", "Hz"), ("_s", "s"))


def _budget_value(key: str, value: Any) -> str:
    """Counts exactly, other numbers by the one formatter in the unit their key names,
    booleans in words."""
    from qcalc.report import num

    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        unit = next((u for suffix, u in _BUDGET_UNITS if key.endswith(suffix)), "")
        return num(value, unit)
    return str(value)


def _count(text: str, *, name: str, minimum: int = 1) -> int:
    """A count option (``100``, ``1e4``) checked before it is used: finite, whole, at least
    ``minimum`` and at most the documented limit (``1e400`` is refused, not overflowed)."""
    from decimal import Decimal, InvalidOperation

    from qcalc import budget as b
    from qcalc.limits import LIMITS

    entry = LIMITS["option_count"]
    try:
        number = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        number = None
    if number is not None and number.is_finite() and number > entry.value:
        fail(
            f"{name} is {text.strip()[:40]}, more than the limit of {entry.value:.0e} for a "
            f"count; set {entry.env} to raise it"
        )
    if number is not None and number.is_nan():
        fail(f"{name} is {text.strip()[:40]}; expected a whole number ≥ {minimum} (e.g. 100)")
    return b.parse_count(text, name=name, minimum=minimum)


def _target_error(value: float) -> float:
    """--target-error checked under its own name: a fraction in [0, 1]."""
    if not 0.0 <= value <= 1.0:  # NaN fails too
        fail(
            f"--target-error is {value:g}; expected a fraction in [0, 1] "
            "(the allowed total error of one circuit run)"
        )
    return value


def _show_budget(
    title: str,
    budget: Any,
    data: dict[str, Any],
    lines: list[str],
    fmt: Format,
    output: Path | None,
    explain: bool,
    wide: bool = False,
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
            table.rows.append([key, _budget_value(key, value)])
    table.footer.extend(lines)
    text = "\n\n".join(step.render() for step in budget.explain) if explain else ""
    show([table], fmt, output, text, wide)


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
    wide: WideOpt = False,
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
                qubits_per_qpu=_count(qubits_per_qpu, name="--qubits-per-qpu"),
                depth=_count(depth, name="--depth"),
                iterations=_count(iterations, name="--iterations"),
                wall_time_s=b.parse_duration_s(wall_time, name="--wall-time"),
                cross_cnots_per_layer=None
                if cross_cnots_per_layer is None
                else _count(cross_cnots_per_layer, name="--cross-cnots-per-layer"),
                shots_per_iteration=_count(shots, name="--shots"),
                measurement_groups=_count(measurement_groups, name="--measurement-groups"),
                target_circuit_error=_target_error(target_error),
            )
        except ValueError as exc:
            fail(str(exc))
        data, lines, code = _budget_with_scenario(budget, scenario, demand)
        _show_budget("distributed VQE budget", budget, data, lines, format, output, explain, wide)
        return code

    guarded(body, inputs=[scenario], outputs={"--output": output})


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
    wide: WideOpt = False,
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
                from qcalc.qasm import count_cross_partition_gates, read_qasm

                text = read_qasm(str(qasm))
                found = count_cross_partition_gates(text, partition, str(qasm))
                cross, swaps = found.cross_two_qubit_gates, found.nonlocal_swaps
                counts = {"qasm_counts": found.to_dict()}
            else:
                if cross_cnots is None:
                    fail("give --cross-cnots N, or --qasm FILE with --partition")
                cross = _count(cross_cnots, name="--cross-cnots", minimum=0)
                swaps = _count(nonlocal_swaps, name="--nonlocal-swaps", minimum=0)
            budget = b.circuit_budget(
                cross_cnots=cross,
                teleported_qubits=_count(teleported_qubits, name="--teleported-qubits", minimum=0),
                nonlocal_swaps=swaps,
                runs=_count(runs, name="--runs"),
                wall_time_s=b.parse_duration_s(wall_time, name="--wall-time"),
                target_circuit_error=_target_error(target_error),
            )
        except ValueError as exc:
            fail(str(exc))
        data, lines, code = _budget_with_scenario(budget, scenario, demand)
        data.update(counts)
        _show_budget(
            "partitioned circuit budget", budget, data, lines, format, output, explain, wide
        )
        return code

    guarded(
        body,
        inputs=[scenario, None if qasm is None else str(qasm)],
        outputs={"--output": output},
    )


@app.command()
def apps(format: FormatOpt = Format.table, output: OutputOpt = None, wide: WideOpt = False) -> None:
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
    show(report.apps_table(APPLICATIONS.values()), format, output, wide=wide)


def expand_paths(
    paths: list[str], missing: list[str] | None = None, globs: list[str] | None = None
) -> list[str]:
    """Files as given, folders expanded to the *.yaml/*.yml files below them (any case),
    ``globs`` expanded as patterns; each file once (:func:`qcalc.paths.expand`).

    Arguments are never patterns. A path that names nothing raises
    :class:`ScenarioError`, or, when a ``missing`` list is given, is reported on stderr
    with its reason, appended to it, and the others are still expanded (batch and
    validate go on with every file they can read). The files and folders read are
    remembered: an output may not overwrite them."""
    from qcalc.errors import ScenarioError
    from qcalc.paths import expand

    found = expand(paths, globs or [])
    _READING["files"].extend(found.files)
    _READING["folders"].extend(found.folders)
    for path, why in found.missing:
        if missing is None:
            raise ScenarioError(why, file=path)
        _MISSING[path] = why
        missing.append(path)
    return found.files


def _nothing_found(paths: list[str] | None, globs: list[str] | None) -> str:
    if not paths and not globs:
        return "give scenario files or folders, or --glob PATTERN"
    named = " ".join([*(paths or []), *(globs or [])])
    return f"no scenario files (*.yaml, *.yml) found in {named}"


#: Why each path in the ``missing`` list of :func:`expand_paths` names nothing.
_MISSING: dict[str, str] = {}


def check_output(output: Path | None) -> None:
    """Refuse ``--output`` when it is one of the files or inside a folder read so far."""
    from qcalc.outputs import OutputError, check_target

    if output is None or str(output) == "-":
        return
    try:
        check_target(output, _READING["files"], _READING["folders"])
    except OutputError as exc:
        fail(str(exc))


def main() -> None:
    """Console-script entry point: never a traceback for a user.

    A closed stdout or stderr is a stream whose writes fail (exit 2 with a message where
    one can be given), SIGINT exits 130 and SIGTERM 143 (``batch`` stops its workers
    first and says how many files were finished)."""
    import os
    import signal

    from qcalc.outputs import ensure_streams, write_stderr

    ensure_streams()

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(signum)

    signal.signal(signal.SIGTERM, terminate)
    try:
        app()
    except KeyboardInterrupt as exc:  # pragma: no cover - interactive
        signum = exc.args[0] if exc.args and isinstance(exc.args[0], int) else signal.SIGINT
        write_stderr(f"qcalc: interrupted ({signal.Signals(signum).name})\n")
        sys.exit(128 + signum)
    except Exception as exc:  # pragma: no cover - a bug, said plainly, not a traceback
        if os.environ.get("QCALC_DEBUG"):
            raise
        write_stderr(
            f"qcalc: internal error: {type(exc).__name__}: {exc}. This is a bug in qcalc; "
            "run again with QCALC_DEBUG=1 for the traceback and report it with the "
            "scenario.\n"
        )
        sys.exit(3)
