"""The qcalc command line: parse → load → compute → render. Nothing else."""

import itertools
import math
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from qcalc import __version__
from qcalc.errors import QcalcError
from qcalc.records import record

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
ScenarioOrExampleArg = Annotated[
    str | None,
    typer.Argument(
        help="Scenario YAML file (or --example NAME).", metavar="SCENARIO", show_default=False
    ),
]
ExampleOpt = Annotated[
    str | None,
    typer.Option(
        "--example",
        help="A scenario bundled with qcalc, by name, instead of a file (qcalc examples "
        "lists them).",
        show_default=False,
    ),
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
SamplesOpt = Annotated[
    int,
    typer.Option(
        "--samples",
        min=0,
        help="Draw every uncertain input (a field written as a distribution) N times, "
        "evaluate the draws at once and report P5/P50/P95 and means, and the probability "
        "of each stage and expect check (docs/uncertainty.md).",
    ),
]
SamplerOpt = Annotated[
    str,
    typer.Option(
        "--sampler",
        help="How --samples draws: mc (Monte Carlo), lhs (Latin hypercube) or sobol "
        "(scrambled Sobol', N a power of 2).",
    ),
]
SensitivityOpt = Annotated[
    bool,
    typer.Option(
        "--sensitivity",
        help="With --samples: first-order and total Sobol' indices of each output for each "
        "uncertain input, ranked, with 95 % bootstrap intervals (N × (inputs + 2) draws).",
    ),
]
TargetOpt = Annotated[
    float | None,
    typer.Option(
        "--target-probability",
        min=0.0,
        max=1.0,
        help="With --samples: for a demand short of its expect block (or its application's "
        "stage) with this probability, the scale of each uncertain input's distribution "
        "that would meet it.",
    ),
]
SamplePlotOpt = Annotated[
    Path | None,
    typer.Option(
        "--plot",
        help="With --samples: draw each demand's distribution, stage probabilities and "
        "(with --sensitivity) tornado (PNG or SVG; the plot extra).",
    ),
]


FromOpt = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="Start (UTC, YYYY-MM-DD or YYYY-MM-DDTHH:MM) of the window over which satellites "
        "given by a TLE are propagated: every pass over each station, key per pass, per day "
        "and per year (the orbits extra; docs/orbits.md).",
        show_default=False,
    ),
]
DaysOpt = Annotated[
    float | None,
    typer.Option(
        "--days", help="Length of the --from window in days (default 1).", show_default=False
    ),
]


def fail(message: str) -> NoReturn:
    """Print a one-paragraph error to stderr and exit with code 2 (bad input)."""
    from qcalc.outputs import write_stderr

    write_stderr(f"qcalc: error: {message}\n")
    raise typer.Exit(EXIT_BAD_INPUT)


def scenario_file(scenario: str | None, example: str | None) -> str:
    """The file a command reads: its SCENARIO argument or the bundled ``--example NAME``
    (exit 2 for neither, both, or a name qcalc does not bundle, with "did you mean")."""
    if example is None:
        if scenario is None:
            fail("give a SCENARIO file or --example NAME (qcalc examples lists them)")
        return scenario
    if scenario is not None:
        fail(f"give a SCENARIO file or --example {example}, not both")
    from qcalc import examples as bundled

    try:
        return str(bundled.path(example))
    except QcalcError as exc:
        fail(str(exc))


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
    except KeyboardInterrupt as exc:  # SIGINT, or SIGTERM (see main); typer would say 130
        import signal

        from qcalc.outputs import write_stderr

        number = getattr(exc, "signum", exc.args[0] if exc.args else None)
        signum = number if isinstance(number, int) else int(signal.SIGINT)
        write_stderr(f"qcalc: interrupted ({signal.Signals(signum).name})\n")
        raise typer.Exit(128 + signum) from None
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
    window: tuple[str | None, float | None] = (None, None),
    **sampling: Any,
) -> int:
    from qcalc import api, report

    span = _orbit_window(window)
    if span is not None and sampling.get("samples"):
        fail("--from works on one point, not on --samples draws; run them separately")
    if sampling.get("samples") and (levers or monte_carlo):
        fail(
            f"{'--levers' if levers else '--monte-carlo'} works on one point, not on "
            "--samples draws; --target-probability P solves for levers under uncertainty"
        )
    if sampling.get("samples"):
        return _sampled_report(path, fmt, output, tables_of, seed, wide, explain, **sampling)
    scenario = api.load_scenario(path)
    asks = any(d.expect_probability is not None for d in scenario.demands)
    if asks and not (levers or monte_carlo):
        from qcalc import uncertainty

        sampling.update(samples=uncertainty.DEFAULT_SAMPLES, sampler=uncertainty.DEFAULT_SAMPLER)
        note = f"{uncertainty.probability_note(scenario, seed)}; --samples N to change"
        return _sampled_report(path, fmt, output, tables_of, seed, wide, explain, note, **sampling)
    if any(sampling.get(k) for k in ("sensitivity", "plot")) or sampling.get("target") is not None:
        fail("--sensitivity, --target-probability and --plot need --samples N")
    which: api.Levers = "none" if tables_of != "stage" else ("all" if levers else "short")
    result = api.evaluate(
        scenario, levers=which, monte_carlo=monte_carlo, seed=seed, explain=explain
    )
    orbit_data, orbit_tables = _orbit_blocks(scenario, span)
    if fmt is Format.json:
        data = result.to_dict(explain=explain)
        if orbit_data is not None:
            data["orbits"] = orbit_data
        emit(report.to_json(data), output)
    else:
        render = report.stage_tables if tables_of == "stage" else report.rate_tables
        explained = report.explain_text(result.steps()) if explain else ""
        tables = render(scenario, list(result.demands)) + orbit_tables
        show(tables, fmt, output, explained, wide)
    return EXIT_OK if result.passed else EXIT_EXPECT_FAILED


def _orbit_window(window: tuple[str | None, float | None]) -> Any:
    """The ``--from``/``--days`` window (None without them; orbits load only when asked)."""
    if window == (None, None):
        return None
    from qcalc import orbits

    return orbits.orbit_window(*window)


def _orbit_blocks(scenario: Any, span: Any) -> tuple[dict[str, Any] | None, list[Any]]:
    """The ``orbits`` JSON block and tables of a scenario with TLE satellites: every pass in
    the window, or (without a window) what the figures are and how to get the passes."""
    has_tle = any(n.orbit is not None and n.orbit.tle is not None for n in scenario.nodes.values())
    if span is None and not has_tle:
        return None, []
    from qcalc import orbits, orbits_report

    passes, data = orbits.orbit_data(scenario, span)
    if passes is None:
        return data, orbits_report.orbit_hint_tables(scenario)
    return data, orbits_report.orbit_tables(passes)


def _sampled_report(
    path: str,
    fmt: Format,
    output: Path | None,
    tables_of: str,
    seed: int,
    wide: bool,
    explain: bool = False,
    note: str = "",
    *,
    samples: int,
    sampler: str = "lhs",
    sensitivity: bool = False,
    target: float | None = None,
    plot: Path | None = None,
) -> int:
    """``stage``/``rate`` over draws of the uncertain inputs (qcalc.uncertainty)."""
    from qcalc import report, uncertainty, uncertainty_report

    uncertainty.check_samples(samples, sampler, seed)
    if plot is not None:
        from qcalc.plot import require_matplotlib

        require_matplotlib()
    sampled = uncertainty.run(path, samples, seed, sampler, sensitivity)
    if note:
        sampled.notes.append(note)
    if target is not None:
        uncertainty.solve_levers(sampled, target)
    if plot is not None:
        with plot_file(plot) as temp:
            uncertainty_report.plot_uncertainty(sampled, temp)
    steps = [s for r in sampled.results for s in r.steps]
    if fmt is Format.json:
        data = uncertainty_report.scenario_data(sampled)
        if explain:
            data["explain"] = [report.step_dict(s) for s in steps]
        emit(report.to_json(data), output)
    else:
        tables = uncertainty_report.stage_tables(sampled, rates=tables_of == "rate")
        show(tables, fmt, output, report.explain_text(steps) if explain else "", wide)
    verdicts = [uncertainty.passed(sampled, d) for d in range(len(sampled.results))]
    return EXIT_OK if all(verdicts) else EXIT_EXPECT_FAILED


@app.command()
def stage(
    scenario: ScenarioOrExampleArg = None,
    example: ExampleOpt = None,
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
    samples: SamplesOpt = 0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of --samples.")] = 0,
    sampler: SamplerOpt = "lhs",
    sensitivity: SensitivityOpt = False,
    target_probability: TargetOpt = None,
    plot: SamplePlotOpt = None,
    from_: FromOpt = None,
    days: DaysOpt = None,
    shared: Annotated[
        bool,
        typer.Option(
            "--shared",
            help="Demands share the links and nodes they cross: each is judged at its "
            "max–min fair share of its route (qcalc capacity), not as if alone.",
        ),
    ] = False,
) -> None:
    """Per demand: path, stage reached (1–6) and, for every stage, met or not and why.

    For a demand that misses its expect block or the stage its application needs: the
    cheapest single parameter changes that would meet it ("what would it take").
    With --samples: the probability of each stage and check over draws of the
    uncertain inputs. With --shared: at each demand's fair share of shared links and nodes."""
    path = scenario_file(scenario, example)
    if shared:
        others = {"--levers": levers, "--samples": samples, "--explain": explain}
        others.update({"--plot": plot is not None, "--from": from_ is not None})
        clash = [name for name, given in others.items() if given]
        if clash:
            fail(f"--shared does not combine with {', '.join(clash)}; run them apart")
        guarded(
            lambda: _shared_stage(path, format, output, wide),
            inputs=[path],
            outputs={"--output": output},
        )
    guarded(
        lambda: _demand_report(
            path,
            format,
            output,
            explain,
            "stage",
            levers,
            seed=seed,
            wide=wide,
            window=(from_, days),
            samples=samples,
            sampler=sampler,
            sensitivity=sensitivity,
            target=target_probability,
            plot=plot,
        ),
        inputs=[path],
        outputs={"--output": output, "--plot": plot},
    )


@app.command()
def rate(
    scenario: ScenarioOrExampleArg = None,
    example: ExampleOpt = None,
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
    seed: Annotated[int, typer.Option("--seed", help="Seed of --monte-carlo and --samples.")] = 0,
    wide: WideOpt = False,
    samples: SamplesOpt = 0,
    sampler: SamplerOpt = "lhs",
    sensitivity: SensitivityOpt = False,
    target_probability: TargetOpt = None,
    plot: SamplePlotOpt = None,
    from_: FromOpt = None,
    days: DaysOpt = None,
) -> None:
    """Per demand: key rate of every applicable protocol, Bell pairs, against PLOB.

    With --samples: percentiles and means of every rate over draws of the uncertain
    inputs."""
    check_monte_carlo(monte_carlo, seed)
    path = scenario_file(scenario, example)
    guarded(
        lambda: _demand_report(
            path,
            format,
            output,
            explain,
            "rate",
            monte_carlo=monte_carlo,
            seed=seed,
            wide=wide,
            window=(from_, days),
            samples=samples,
            sampler=sampler,
            sensitivity=sensitivity,
            target=target_probability,
            plot=plot,
        ),
        inputs=[path],
        outputs={"--output": output, "--plot": plot},
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
    scenario: ScenarioOrExampleArg = None,
    example: ExampleOpt = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    explain: ExplainOpt = False,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Draw each link's budget as a waterfall (PNG or SVG; with --samples, "
            "each link's loss distribution); needs the plot extra: pip install 'qcalc[plot]'.",
        ),
    ] = None,
    wide: WideOpt = False,
    samples: SamplesOpt = 0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of --samples.")] = 0,
    sampler: SamplerOpt = "lhs",
) -> None:
    """Per link: loss budget in named terms, total loss, transmittance, delay, PLOB.

    With --samples: each link's loss and transmittance percentiles and means over draws
    of the uncertain inputs."""

    path = scenario_file(scenario, example)

    def body() -> int:
        from qcalc import report
        from qcalc.linkbudget import link_budget
        from qcalc.scenario import load_scenario

        if plot is not None:
            from qcalc.plot import require_matplotlib

            require_matplotlib()
        sampled = None
        if samples:
            from qcalc import uncertainty, uncertainty_report

            uncertainty.check_samples(samples, sampler, seed)
            sampled = uncertainty.run(path, samples, seed, sampler, links=True)
            sc = sampled.scenario
        else:
            sc = load_scenario(path)
        budgets = [link_budget(link, sc) for link in sc.links]
        if plot is not None:
            from qcalc.plot import plot_link_waterfall

            with plot_file(plot) as temp:
                if sampled is not None:
                    uncertainty_report.plot_links(sampled, temp)
                else:
                    plot_link_waterfall(budgets, temp)
        steps = [s for b in budgets for s in b.steps]
        if format is Format.json:
            data = report.links_dict(sc, budgets)
            if sampled is not None:
                data = uncertainty_report.links_data(sampled, budgets)
            elif sc.uncertain:
                from qcalc.uncertainty import median_note

                data["notes"] = [median_note(sc.uncertain)]
            emit(report.to_json(data), output)
        else:
            extra = [] if sampled is None else uncertainty_report.links_tables(sampled)
            tables = report.links_table(sc, budgets)
            if sampled is None and sc.uncertain:
                from qcalc.uncertainty import median_note

                tables[-1].footer.append(f"note: {median_note(sc.uncertain)}")
            show(
                tables + extra,
                format,
                output,
                report.explain_text(steps) if explain else "",
                wide,
            )
        return EXIT_OK

    guarded(body, inputs=[path], outputs={"--output": output, "--plot": plot})


class PlanMethod(StrEnum):
    auto = "auto"
    exact = "exact"
    greedy = "greedy"


class Objective(StrEnum):
    max_min = "max-min"
    proportional = "proportional"
    throughput = "throughput"


DesignPlotOpt = Annotated[
    Path | None,
    typer.Option(
        "--plot",
        help="Draw the graph with the sites and each demand's route (PNG or SVG; nodes at "
        "their latitude_deg/longitude_deg when given); needs the plot extra.",
    ),
]


@app.command()
def plan(
    scenario: ScenarioOrExampleArg = None,
    example: ExampleOpt = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the planned scenario (YAML: sites with their roles, each demand's "
            "path) to FILE; qcalc batch FILE passes it.",
        ),
    ] = None,
    format: FormatOpt = Format.table,
    max_sites: Annotated[
        int | None,
        typer.Option("--max-sites", min=0, help="Most sites per route (default: plan block, 3)."),
    ] = None,
    paths: Annotated[
        int | None,
        typer.Option(
            "--paths", min=1, help="Fibre paths tried per demand (default: plan block, 5)."
        ),
    ] = None,
    demands_per_site: Annotated[
        int | None,
        typer.Option("--demands-per-site", min=1, help="Most demands a site serves."),
    ] = None,
    robust: Annotated[
        bool | None,
        typer.Option(
            "--robust/--no-robust",
            help="Every demand keeps a usable route after any one link or node fails.",
            show_default=False,
        ),
    ] = None,
    method: Annotated[
        PlanMethod,
        typer.Option(
            "--method",
            help="exact (HiGHS), greedy (heuristic with its gap to a lower bound), or auto.",
        ),
    ] = PlanMethod.auto,
    time_limit: Annotated[
        float,
        typer.Option("--time-limit", min=0.1, help="Seconds HiGHS may take [s]."),
    ] = 60.0,
    plot: DesignPlotOpt = None,
    wide: WideOpt = False,
) -> None:
    """Choose the cheapest candidate sites and roles so that every demand meets its expect.

    Nodes marked candidate: {roles: [...], cost: N} may get a device; every route is
    judged by qcalc's own evaluation; a mixed-integer program (HiGHS) picks the sites."""
    path = scenario_file(scenario, example)

    def body() -> int:
        from qcalc import report
        from qcalc.design import report as shown
        from qcalc.design.plan import check_planned, options_of, plan_network, planned_text
        from qcalc.scenario import load_scenario

        if plot is not None:
            from qcalc.plot import require_matplotlib

            require_matplotlib()
        sc = load_scenario(path)
        settings = options_of(
            sc,
            max_sites_per_path=max_sites,
            paths_per_demand=paths,
            demands_per_site=demands_per_site,
            robust=robust,
            method=method.value,
            time_limit_s=time_limit,
        )
        chosen = plan_network(sc, settings=settings)
        target = None if output is None or str(output) == "-" else str(output)
        text = planned_text(sc, chosen, target)
        results = check_planned(text, target or "planned.yaml")
        if output is not None:
            emit(text, output)
        if plot is not None:
            from qcalc.plot import plot_network_design

            with plot_file(plot) as temp:
                plot_network_design(
                    sc,
                    {d: r.fibre for d, r in chosen.routes.items()},
                    chosen.sites,
                    temp,
                    f"{sc.name}: plan of cost {chosen.cost:g}",
                )
        if output is not None and str(output) == "-":
            return EXIT_OK
        if format is Format.json:
            emit(report.to_json(shown.plan_dict(sc, chosen, results)), None)
        else:
            tables = [report.Table(**t) for t in shown.plan_tables(sc, chosen, results)]
            show(tables, format, None, "", wide)
        return EXIT_OK

    guarded(body, inputs=[path], outputs={"--output": output, "--plot": plot})


def _weights(values: list[str] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for text in values or []:
        name, _, number = text.partition("=")
        try:
            out[name.strip()] = float(number)
        except ValueError:
            fail(f"--weight {text!r}: expected DEMAND=WEIGHT, e.g. --weight key=2")
    return out


@app.command()
def capacity(
    scenario: ScenarioOrExampleArg = None,
    example: ExampleOpt = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    routes: Annotated[
        int,
        typer.Option("--routes", min=1, help="Lowest-loss routes per demand without a path."),
    ] = 3,
    objective: Annotated[
        Objective,
        typer.Option("--objective", help="max-min fairness, proportional fairness, throughput."),
    ] = Objective.max_min,
    split: Annotated[
        bool,
        typer.Option("--split/--no-split", help="May a demand spread over several routes."),
    ] = True,
    weight: Annotated[
        list[str] | None,
        typer.Option(
            "--weight",
            help="DEMAND=WEIGHT for the proportional and throughput objectives (default 1).",
            show_default=False,
        ),
    ] = None,
    plot: DesignPlotOpt = None,
    wide: WideOpt = False,
) -> None:
    """How demands that share links and nodes share their capacity.

    Trusted hops pool their key; links and nodes of other routes are shared in time.
    Per demand: its share, what it gets alone, its routes and bottleneck resources."""
    path = scenario_file(scenario, example)
    weights = _weights(weight)

    def body() -> int:
        from qcalc import report
        from qcalc.design import report as shown
        from qcalc.design.capacity import allocate
        from qcalc.scenario import load_scenario

        if plot is not None:
            from qcalc.plot import require_matplotlib

            require_matplotlib()
        sc = load_scenario(path)
        allocation = allocate(sc, routes, objective.value, split, weights)
        if plot is not None:
            from qcalc.plot import plot_network_design

            drawn = {
                s.demand: max(s.routes, key=lambda ra: ra[1])[0].path
                for s in allocation.shares
                if s.routes
            }
            sites = {n: node.role for n, node in sc.nodes.items() if node.role != "end"}
            with plot_file(plot) as temp:
                plot_network_design(sc, drawn, sites, temp, f"{sc.name}: shared capacity")
        if format is Format.json:
            emit(report.to_json(shown.capacity_dict(sc, allocation)), output)
        else:
            tables = [report.Table(**t) for t in shown.capacity_tables(sc, allocation)]
            show(tables, format, output, "", wide)
        return EXIT_OK

    guarded(body, inputs=[path], outputs={"--output": output, "--plot": plot})


def _shared_stage(path: str, fmt: Format, output: Path | None, wide: bool) -> int:
    """``qcalc stage --shared``: each demand at its max–min fair share of qcalc's route."""
    from qcalc import report
    from qcalc.design import report as shown
    from qcalc.design.capacity import allocate, shared_result
    from qcalc.scenario import load_scenario

    sc = load_scenario(path)
    allocation = allocate(sc, routes_per_demand=1)
    results = [
        shared_result(max(s.routes, key=lambda ra: ra[1])[0], s.allocated)
        for s in allocation.shares
    ]
    if fmt is Format.json:
        data = report.scenario_dict(sc, results)
        data["capacity"] = shown.capacity_dict(sc, allocation)
        emit(report.to_json(data), output)
    else:
        tables = report.stage_tables(sc, results)
        tables += [report.Table(**t) for t in shown.capacity_tables(sc, allocation)]
        show(tables, fmt, output, "", wide)
    return EXIT_OK if all(r.passed for r in results) else EXIT_EXPECT_FAILED


@app.command()
def validate(
    paths: Annotated[
        list[str] | None, typer.Argument(help="Scenario files or folders.", show_default=False)
    ] = None,
    glob: GlobOpt = None,
    example: Annotated[
        list[str] | None,
        typer.Option(
            "--example",
            help="Also check the bundled scenario NAME (repeatable; qcalc examples lists them).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check scenario files against the format and the physics ranges; evaluate nothing.

    Every file is checked and reported, whatever happens to the others: exit 0 when all
    are valid, 2 when any is not (3 only for an internal error, which is a bug)."""

    def body() -> int:
        from qcalc.scenario import load_scenario
        from qcalc.units import plural

        missing: list[str] = []
        files = expand_paths(paths or [], missing, glob or [])
        if example:
            from qcalc import examples as bundled

            files += [str(bundled.path(name)) for name in example]
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
    jsonl = "jsonl"
    parquet = "parquet"


SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Run on a Dask cluster: local:N (N worker processes here) or tcp://HOST:PORT "
        "(a running scheduler); the output is the same as here. Needs pip install "
        "'qcalc[dask]' (docs/scale.md).",
        show_default=False,
    ),
]


SweepDemandOpt = Annotated[
    str | None, typer.Option("--demand", help="Demand to sweep (default: the first).")
]


@app.command()
def sweep(
    vary: Annotated[
        list[str],
        typer.Option(
            "--vary",
            help="FIELD=START:STOP:NUM, e.g. links.alice-bob.length_km="
            "0:200:101 (log:START:STOP:NUM for log spacing); repeat for a grid.",
        ),
    ],
    scenario: ScenarioOrExampleArg = None,
    example: ExampleOpt = None,
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
    reduce: Annotated[
        list[str] | None,
        typer.Option(
            "--reduce",
            help="Report a reduction instead of every point: min:METRIC, max:METRIC, "
            "argmin:METRIC, argmax:METRIC (with the point where it is reached) or "
            "hist:METRIC:START:STOP:NUM (NUM bins; log:START:STOP:NUM); repeatable.",
            show_default=False,
        ),
    ] = None,
    group_by: Annotated[
        str | None,
        typer.Option(
            "--group-by",
            help="With --reduce: one row per value of this varied field.",
            show_default=False,
        ),
    ] = None,
    scheduler: SchedulerOpt = None,
) -> None:
    """Sweep scenario fields over a range or grid and report demand quantities.

    The models take numpy arrays, so the grid is evaluated a chunk of points at a time:
    csv, jsonl and parquet stream the rows (any number of points in bounded memory), and
    --reduce keeps only minima, maxima and histograms."""

    path = scenario_file(scenario, example)

    def body() -> int:
        import qcalc.sweeps as sw
        from qcalc import report

        varies = [sw.parse_vary(v) for v in vary]
        streamed = format.value in sw.STREAM_FORMATS and plot is None
        if reduce or streamed or scheduler is not None:
            ask = _SweepAsk(path, varies, list(metric), demand, format, output, wide)
            _refuse_streamed(ask, streamed, explain, plot, reduce, group_by)
            if scheduler is not None:
                _check_scheduler(scheduler)
            if reduce:
                return _sweep_reduced(ask, reduce, group_by, scheduler)
            return _sweep_points(ask, scheduler)
        if group_by is not None:
            fail("--group-by groups the rows of --reduce; give --reduce OP:METRIC")
        if plot is not None:
            from qcalc.plot import require_matplotlib

            require_matplotlib()
        points = math.prod(v.num for v in varies)
        with progress_bar(f"sweeping {points:,} points", None if points > 1 else 0):
            result = sw.run_sweep(path, varies, list(metric), demand)
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
            elif format in (SweepFormat.jsonl, SweepFormat.parquet):
                fail(f"--plot draws from memory; write --format {format.value} without it")
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

    guarded(body, inputs=[path], outputs={"--output": output, "--plot": plot})


@record(frozen=True)
class _SweepAsk:
    """What a streamed ``qcalc sweep`` was asked for."""

    path: str
    varies: list[Any]
    metrics: list[str]
    demand: str | None
    format: SweepFormat
    output: Path | None
    wide: bool

    @property
    def points(self) -> int:
        return math.prod(v.num for v in self.varies)


def _refuse_streamed(
    ask: _SweepAsk,
    streamed: bool,
    explain: bool,
    plot: Path | None,
    reduce: list[str] | None,
    group_by: str | None,
) -> None:
    """Options a streamed sweep (csv, jsonl, parquet, --reduce, --scheduler) cannot take."""
    fmt = ask.format.value
    if explain:
        fail(
            f"--explain prints the derivation of a sweep held in memory; --format {fmt}"
            f"{' and --reduce' if reduce else ''} stream the points (write --format table or "
            "json without --reduce for it)"
        )
    if plot is not None:
        fail("--plot draws every point from memory; leave out --reduce and --scheduler")
    if reduce and fmt in ("jsonl", "parquet"):
        fail(f"--reduce writes a table of reductions; --format {fmt} is for points")
    if not reduce and not streamed:
        fail("--scheduler streams the points: give --format csv, jsonl or parquet, or --reduce")
    if group_by is not None and not reduce:
        fail("--group-by groups the rows of --reduce; give --reduce OP:METRIC")


def _check_scheduler(scheduler: str, jobs: int = 1) -> None:
    """A scheduler address qcalc can use, Dask installed, and no --jobs beside it."""
    from qcalc.distributed import check_scheduler, require_dask

    if jobs > 1:
        fail("--jobs starts processes here and --scheduler runs on a cluster: give one")
    try:
        check_scheduler(scheduler)
        require_dask()
    except QcalcError as exc:
        fail(str(exc))


def _sweep_reduced(
    ask: _SweepAsk, reduce: list[str], group_by: str | None, scheduler: str | None
) -> int:
    """--reduce: the reductions of every chunk, combined, as csv, json or a table."""
    import qcalc.sweeps as sw
    from qcalc import report

    reducer = sw.Reducer([sw.parse_reduce(r) for r in reduce], group_by)
    with progress_bar(f"sweeping {ask.points:,} points", ask.points) as tick:
        sw.stream_sweep(
            ask.path, ask.varies, ask.metrics, ask.demand, reducer, progress=tick,
            scheduler=scheduler,
        )  # fmt: skip
    result = reducer.result()
    if ask.format is SweepFormat.json:
        emit(report.to_json(result.to_json()), ask.output)
    elif ask.format is SweepFormat.csv:
        emit(result.to_csv(), ask.output)
    else:
        table = report.Table(
            f"{result.scenario_name} — reductions of the sweep of demand {result.demand}",
            list(result.columns),
        )
        for row in zip(*[c.tolist() for c in result.columns.values()], strict=True):
            table.rows.append([str(v) if isinstance(v, int) else f"{v:.6g}" for v in row])
        fmt = Format.markdown if ask.format is SweepFormat.markdown else Format.table
        show([table], fmt, ask.output, "", ask.wide)
    return EXIT_OK


def _sweep_points(ask: _SweepAsk, scheduler: str | None) -> int:
    """csv, jsonl and parquet: every point, written chunk by chunk as it is evaluated."""
    import qcalc.sweeps as sw
    from qcalc.outputs import OutputError, replacing, streamed_output

    def run(writer: Any) -> None:
        from qcalc.distributed import keep_freed_memory

        keep_freed_memory()  # a command's process: the thread path and the writes
        with progress_bar(f"sweeping {ask.points:,} points", ask.points) as tick:
            sw.stream_sweep(
                ask.path, ask.varies, ask.metrics, ask.demand, writer, progress=tick,
                scheduler=scheduler,
            )  # fmt: skip

    try:
        if ask.format is SweepFormat.parquet:
            sw.require_pyarrow()
            if ask.output is None or str(ask.output) == "-":
                fail("--format parquet writes a file: give --output FILE.parquet")
            check_output(ask.output)
            with replacing(ask.output) as temp:
                run(sw.ParquetWriter(temp))
            return EXIT_OK
        writer_type = sw.CsvWriter if ask.format is SweepFormat.csv else sw.JsonLinesWriter
        with streamed_output(ask.output, _READING["files"], _READING["folders"]) as write:
            run(writer_type(write))
    except OutputError as exc:
        fail(str(exc))
    return EXIT_OK


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
    scheduler: SchedulerOpt = None,
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
        if scheduler is not None:
            _check_scheduler(scheduler, jobs)
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            tick(n)

        gone = [b.FileResult(p, error=f"{p}: {_MISSING[p]}") for p in missing]
        streamed = format in (BatchFormat.json, BatchFormat.csv)
        try:
            with progress_bar("evaluating", len(files)) as tick:
                if streamed:  # written as the results arrive; only the counts are kept
                    ask = (format, output, jobs, explain, scheduler)
                    summary, errors = _batch_streamed(ask, files, gone, advance)
                else:
                    results = [r for r, _ in b.iter_batch(files, jobs, advance, explain, scheduler)]
        except KeyboardInterrupt as exc:
            signum = getattr(exc, "signum", 2)
            say(
                f"qcalc: interrupted ({b.signal_name(signum)}) after {done:,} of "
                f"{plural(len(files), 'file')}; every worker was stopped and no summary "
                "was written",
                err=True,
            )
            raise typer.Exit(128 + signum) from None
        if streamed:
            _say_errors(errors)
            return int(summary.exit_code)
        results.extend(gone)
        steps = "\n\n".join(
            f"{r.file}\n{report.explain_text(r.data['explain'])}"
            for r in results
            if explain and r.data is not None
        )
        if format is BatchFormat.junit:
            emit(b.to_junit(results), output)
        elif format is BatchFormat.markdown:
            text = f"```text\n{steps}\n```\n\n" if steps else ""
            emit(text + b.to_markdown(results), output)
        else:
            table = report.batch_table(results, b.summary_line(results))
            show([table], Format.table, output, steps, wide)
        _say_errors(results)
        return b.summarise(results).exit_code

    guarded(body)


def _say_errors(results: list[Any]) -> None:
    for r in results:
        if r.error is not None:
            say(f"qcalc: {'internal error' if r.internal else 'error'}: {r.error}", err=True)


def _batch_streamed(
    ask: tuple[BatchFormat, Path | None, int, bool, str | None],
    files: list[str],
    gone: list[Any],
    advance: Callable[[int], None],
) -> tuple[Any, list[Any]]:
    """batch json and csv: each result written as it arrives (JSON entries wait in a
    temporary file until the summary that heads the report is known); returns the
    summary and the results with errors."""
    import tempfile

    from qcalc import batch as b
    from qcalc.outputs import OutputError, safe_text, streamed_output

    fmt, output, jobs, explain, scheduler = ask
    keep = "json" if fmt is BatchFormat.json else "slim"
    items = b.iter_batch(files, jobs, advance, explain, scheduler, keep=keep)
    outcomes = itertools.chain(items, ((r, b.json_entry(r)) for r in gone))
    tally, errors = b.Tally(), list[Any]()
    try:
        with (
            tempfile.SpooledTemporaryFile(max_size=1 << 20) as spool,
            streamed_output(output, _READING["files"], _READING["folders"]) as write,
        ):
            if fmt is BatchFormat.csv:
                write(safe_text(b.csv_rows(None)).encode())
            for r, entry in _counted(outcomes, tally, errors):
                if fmt is BatchFormat.csv:
                    write(safe_text(b.csv_rows(r)).encode("utf-8", "backslashreplace"))
                else:
                    spool.write(((",\n" if spool.tell() else "") + entry).encode())
            if fmt is BatchFormat.json:
                _json_around(write, spool, b.json_report_parts(tally.summary()))
    except OutputError as exc:
        fail(str(exc))
    return tally.summary(), errors


def _counted(outcomes: Iterable[Any], tally: Any, errors: list[Any]) -> Iterator[Any]:
    for r, entry in outcomes:
        tally.add(r)
        if r.error is not None:
            errors.append(r)
        yield r, entry


def _json_around(write: Callable[[bytes], None], spool: Any, parts: Any) -> None:
    """The JSON report: its head, the entries kept in ``spool``, its tail
    (``parts``: :func:`qcalc.batch.json_report_parts`)."""
    head, tail, empty = parts
    if spool.tell() == 0:
        write((empty + "\n").encode())
        return
    write(head.encode())
    spool.seek(0)
    while block := spool.read(1 << 20):
        write(block)
    write((tail + "\n").encode())


@app.command("report")
def report_command(
    paths: Annotated[
        list[str] | None, typer.Argument(help="Scenario files or folders.", show_default=False)
    ] = None,
    glob: GlobOpt = None,
    output: OutputOpt = None,
    from_: FromOpt = None,
    days: DaysOpt = None,
    samples: SamplesOpt = 0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of --samples.")] = 0,
    vary: Annotated[
        str | None,
        typer.Option(
            "--vary",
            help="Also sweep each scenario's first demand over FIELD=START:STOP:NUM (as "
            "qcalc sweep) and draw the --metric values against it.",
        ),
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option("--metric", help="What the --vary sweep draws (default key_rate_bps)."),
    ] = None,
) -> None:
    """Write one self-contained HTML page: per scenario the network, each demand's stage
    ladder with reasons, key and pair rates against PLOB, expect checks, what it would
    take where a demand falls short, and each link's loss waterfall; a summary table for
    several files.

    The page loads nothing from anywhere (styles inline, figures as inline SVG, no
    script): e-mail it or keep it as a CI artifact. The numbers are those of stage and
    links. Exit codes as batch: 1 when an expectation failed, 2 when a file could not be
    evaluated (the report is written all the same, with the error in its place)."""

    def body() -> int:
        from qcalc import htmlreport, orbits

        window = orbits.orbit_window(from_, days)
        if window is not None and samples:
            fail("--from works on one point, not on --samples draws; run them separately")
        if samples:
            from qcalc.uncertainty import DEFAULT_SAMPLER, check_samples

            check_samples(samples, DEFAULT_SAMPLER, seed)
        if window is not None:
            orbits.require_sgp4()  # once, before any work: say what to install
        missing: list[str] = []
        files = expand_paths(paths or [], missing, glob or [])
        if not files and not missing:
            fail(_nothing_found(paths, glob))
        check_output(output)
        ask = _report_sweep(vary, metric)
        with progress_bar("evaluating", len(files)) as tick:
            pages = htmlreport.collect(files, tick, window, samples, seed, ask)
        swept = [p for p in pages if p.data is not None]
        if ask is not None and swept and all(p.sweep is None for p in swept):
            fail(swept[0].sweep_error or "--vary: no scenario has that field")
        pages.extend(htmlreport.Page(p, error=f"{p}: {_MISSING[p]}") for p in missing)
        emit(htmlreport.render(pages), output)
        for page in pages:
            if page.error is not None:
                kind = "internal error" if page.internal else "error"
                say(f"qcalc: {kind}: {page.error}", err=True)
        return int(htmlreport.summary_of(pages).exit_code)

    guarded(body)


def _report_sweep(vary: str | None, metrics: list[str] | None) -> Any:
    """The report's sweep from ``--vary`` and ``--metric`` (None without ``--vary``)."""
    if vary is None:
        if metrics:
            fail("--metric draws a sweep: give --vary FIELD=START:STOP:NUM too")
        return None
    from qcalc.htmlreport import SweepAsk
    from qcalc.sweeps import check_metrics, parse_vary

    parsed = parse_vary(vary)
    chosen = check_metrics(metrics or ["key_rate_bps"])
    return SweepAsk(parsed.field, tuple(float(v) for v in parsed.values), tuple(chosen))


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
    if scenario_path is None:
        if demand_name is not None:
            fail("--demand needs --scenario FILE")
        return budget.to_dict(), [], EXIT_OK
    from qcalc.budget import serve_demand
    from qcalc.scenario import load_scenario

    served = serve_demand(budget, load_scenario(scenario_path), demand_name)
    feas = served.feasibility
    data = served.to_dict()
    lines = [
        f"deployment: {served.scenario}, demand {served.demand} ({' → '.join(served.path)}), "
        f"stage {served.stage}",
        *_verdict_lines(budget, feas),
        *(
            f"{'distillation tried: ' if i == 0 else '                    '}{line}"
            for i, line in enumerate(served.schedule)
        ),
    ]
    return data, lines, EXIT_OK if feas.feasible else EXIT_EXPECT_FAILED


def _verdict_lines(budget: Any, feas: Any) -> list[str]:
    """Whether a deployment serves a budget, and why not: the pairs it makes, what
    distillation leaves of them, the time that takes against the time allowed."""
    from qcalc.stage import stage_name
    from qcalc.units import fmt

    wall = fmt(budget.wall_time_s, "s")
    needed = fmt(budget.required_fidelity)
    plan = feas.distillation
    rounds = 0 if plan is None else plan.rounds
    lines = [
        f"raw pairs: {fmt(feas.available_rate_hz, 'pairs/s')} at fidelity {fmt(feas.fidelity)}",
        f"needed: {budget.bell_pairs_total:,} pairs at fidelity ≥ {needed} within {wall} "
        f"({fmt(budget.required_rate_hz, 'pairs/s')})",
    ]
    if plan is not None:
        lift = f"{rounds} round{'s' if rounds != 1 else ''} lift " + (
            f"{fmt(feas.fidelity)} to {fmt(plan.final_fidelity)}"
        )
        if plan.reachable and math.isfinite(plan.raw_pairs_per_pair):
            lines.append(
                f"distillation: {lift}, {fmt(plan.raw_pairs_per_pair)} raw pairs per pair: "
                f"{fmt(feas.usable_rate_hz, 'pairs/s')} usable"
            )
        elif rounds == 0:
            lines.append(f"distillation: no round raises {fmt(feas.fidelity)} (< {needed} needed)")
        else:
            lines.append(f"distillation: {lift} only (< {needed} needed)")
    finite = math.isfinite(feas.time_to_complete_s)
    time = fmt(feas.time_to_complete_s, "s") if finite else "never"
    lines.append(f"time to complete: {time} (allowed {wall})")
    lines.append(f"feasible: {'yes' if feas.feasible else 'no'}")
    after = f" after {rounds} round{'s' if rounds != 1 else ''} of distillation" if rounds else ""
    if not feas.rate_ok and finite:
        lines.append(
            f"  too slow: {fmt(feas.usable_rate_hz, 'pairs/s')} usable{after} < "
            f"{fmt(budget.required_rate_hz, 'pairs/s')} needed; the "
            f"{budget.bell_pairs_total:,} pairs would take {time}, {wall} allowed"
        )
    elif not feas.rate_ok and feas.available_rate_hz <= 0:
        lines.append("  no pairs: the deployment delivers none on this route")
    elif not feas.rate_ok and feas.fidelity_ok:
        lines.append(f"  no usable pairs{after}")
    if not feas.fidelity_ok:
        why = plan.reason if plan is not None else "no distillation given"
        lines.append(f"  fidelity {fmt(feas.delivered_fidelity)}{after} < {needed} needed: {why}")
    if feas.stage_gap:
        lines.append(
            f"  stage {feas.stage_reached} reached < stage {budget.required_stage} needed "
            f"({stage_name(budget.required_stage)})"
        )
    return lines


def _budget_value(key: str, value: Any) -> str:
    """Counts exactly, other numbers by the one formatter in the unit their key names,
    booleans in words."""
    from qcalc.units import fmt, unit_of

    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return fmt(value, unit_of(key))
    return str(value)


def _count(text: str, *, name: str, minimum: int = 1) -> int:
    """A count option (``100``, ``1e4``) checked before it is used: finite, whole, at least
    ``minimum`` and at most the documented limit (``1e400`` is refused, not overflowed)."""
    from decimal import Decimal, InvalidOperation

    from qcalc.limits import LIMITS
    from qcalc.parsing import parse_count

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
    return parse_count(text, name=name, minimum=minimum)


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
    text = report.explain_text(budget.explain) if explain else ""
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
    example: ExampleOpt = None,
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

    scenario = scenario if example is None else scenario_file(scenario, example)

    def body() -> int:
        from qcalc import budget as b
        from qcalc.parsing import parse_duration_s

        try:
            budget = b.vqe_budget(
                qubits_per_qpu=_count(qubits_per_qpu, name="--qubits-per-qpu"),
                depth=_count(depth, name="--depth"),
                iterations=_count(iterations, name="--iterations"),
                wall_time_s=parse_duration_s(wall_time, name="--wall-time"),
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
    example: ExampleOpt = None,
    demand: DemandOpt = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    explain: ExplainOpt = False,
    wide: WideOpt = False,
) -> None:
    """Any partitioned circuit, from counts or from an OpenQASM 2 file and a partition."""

    scenario = scenario if example is None else scenario_file(scenario, example)

    def body() -> int:
        from qcalc import budget as b
        from qcalc.parsing import parse_duration_s

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
                wall_time_s=parse_duration_s(wall_time, name="--wall-time"),
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
    from qcalc.applications import APPLICATIONS

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


@app.command()
def examples(
    format: FormatOpt = Format.table, output: OutputOpt = None, wide: WideOpt = False
) -> None:
    """The scenarios bundled with qcalc, by name and title; run one with --example NAME
    (e.g. qcalc stage --example metro-fibre)."""

    def body() -> int:
        from qcalc import examples as bundled
        from qcalc import report

        rows = [[name, bundled.title(name)] for name in bundled.names()]
        if format is Format.json:
            listed = [{"name": name, "title": title} for name, title in rows]
            emit(report.to_json({"examples": listed}), output)
        else:
            title = "scenarios bundled with qcalc (run one with --example NAME)"
            show([report.Table(title, ["name", "title"], rows)], format, output, wide=wide)
        return EXIT_OK

    guarded(body, outputs={"--output": output})


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


#: New objects between two runs of the garbage collector in a qcalc process. [count]
COLLECT_EVERY = 50_000


def app_for(argv: list[str]) -> typer.Typer:
    """The app that runs ``argv``: when its first word names a command, a copy of
    :data:`app` holding only that command, so typer builds one click command from its
    signature rather than every command (9 ms → 1 ms of each run's start-up); the whole
    app for anything else: no command, an option first (``--version``), a word that is
    no command (its "No such command"), and shell completion, which lists them all."""
    import copy
    import os

    from typer.main import get_command_name

    if len(argv) < 2 or any(key.endswith("_COMPLETE") for key in os.environ):
        return app
    word = argv[1]
    commands = [
        info
        for info in app.registered_commands
        if (info.name or get_command_name(getattr(info.callback, "__name__", ""))) == word
    ]
    groups = [info for info in app.registered_groups if info.name == word]
    if not commands and not groups:
        return app
    only = copy.copy(app)
    only.registered_commands, only.registered_groups = commands, groups
    return only


def main() -> None:
    """Console-script entry point: never a traceback for a user.

    A closed stdout or stderr is a stream whose writes fail (exit 2 with a message where
    one can be given), SIGINT exits 130 and SIGTERM 143 (``batch`` stops its workers
    first and says how many files were finished)."""
    import gc
    import os
    import signal

    # Every command: scenario models solve small systems, where BLAS threads only contend
    # (levers on a busy machine ran up to 5.9× slower with the default threads). Set
    # before numpy loads (nothing above imports it); a user's own setting wins.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")

    from qcalc.outputs import ensure_streams, write_stderr

    ensure_streams()
    # A command is one short process that makes few reference cycles: the collector runs
    # after every 50,000 new objects, not 700 (its passes over the modules a command
    # imports were 7-12 ms of `qcalc stage`); cyclic garbage waits for at most that many.
    gc.set_threshold(COLLECT_EVERY, *gc.get_threshold()[1:])

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(signum)

    signal.signal(signal.SIGTERM, terminate)
    try:
        app_for(sys.argv)()
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
    finally:
        # The process ends here: what numpy, typer and qcalc made stays out of the
        # interpreter's collections at exit, which walked every object (20 ms of every
        # run, an eighth of `qcalc stage`). Exit handlers and stream flushes still run;
        # qcalc's files are closed where they are written.
        gc.freeze()
