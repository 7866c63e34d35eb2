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
        typer.echo(text)
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
    path: str, fmt: Format, output: Path | None, explain: bool, tables_of: str
) -> int:
    from qcalc import report

    scenario, results = _evaluate(path)
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
) -> None:
    """Per demand: path, stage reached (1–6) and, for every stage, met or not and why."""
    guarded(lambda: _demand_report(scenario, format, output, explain, "stage"))


@app.command()
def rate(
    scenario: ScenarioArg,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    explain: ExplainOpt = False,
) -> None:
    """Per demand: key rate of every applicable protocol, Bell pairs, against PLOB."""
    guarded(lambda: _demand_report(scenario, format, output, explain, "rate"))


@app.command()
def links(
    scenario: ScenarioArg,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    explain: ExplainOpt = False,
) -> None:
    """Per link: loss budget in named terms, total loss, transmittance, delay, PLOB."""

    def body() -> int:
        from qcalc import report
        from qcalc.linkbudget import link_budget
        from qcalc.scenario import load_scenario

        sc = load_scenario(scenario)
        budgets = [link_budget(link, sc) for link in sc.links]
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
