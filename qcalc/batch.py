"""Evaluate many scenario files, isolate failures, and summarise for people and CI.

Each file is evaluated on its own: a file that fails to load, or fails in any other way,
becomes an error record and every other file is still evaluated and reported. Every file
appears in every format, a file without demands too.

Reports cannot be forged by what they quote: CSV cells are never spreadsheet formulas,
JUnit is well-formed XML whatever a file name holds, Markdown cells escape what would
make a link, an image, HTML or a cell break (:mod:`qcalc.outputs`).

With ``jobs`` > 1 the files are evaluated in worker processes. SIGINT or SIGTERM stops
every worker before :class:`Interrupted` reaches the caller, and a worker whose parent
died (even by SIGKILL) exits by itself within a second: no worker outlives the command.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from xml.etree import ElementTree as ET

from qcalc import __version__
from qcalc.errors import QcalcError, bug_in_file
from qcalc.outputs import csv_cell, markdown_cell, one_line, xml_value
from qcalc.records import record


@record(frozen=True)
class FileResult:
    """One scenario file: its JSON-ready result, or the error that stopped it.

    ``internal`` marks an error that is a bug in qcalc (exit code 3), not in the file."""

    file: str
    data: dict[str, Any] | None = None
    error: str | None = None
    internal: bool = False

    @property
    def demands(self) -> list[dict[str, Any]]:
        return [] if self.data is None else list(self.data["demands"])


def evaluate_file(path: str, explain: bool = False) -> FileResult:
    """Load and evaluate one file; never raises (errors become the record's ``error``).
    With ``explain`` the data carry the derivation steps under ``"explain"``."""
    try:
        from qcalc import api

        scenario = api.load_scenario(path)
        if any(d.expect_probability is not None for d in scenario.demands):
            return FileResult(path, data=_sampled_data(path, scenario))
        result = api.evaluate(scenario, levers="none", explain=explain)
        data = result.to_dict(explain=explain)
        return FileResult(path, data=data)
    except QcalcError as exc:
        return FileResult(path, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - isolation: one file never stops a batch
        return FileResult(path, error=bug_in_file(path, exc), internal=True)


def _sampled_data(path: str, scenario: Any) -> dict[str, Any]:
    """A scenario whose ``expect`` asks for a probability is judged over draws of its
    uncertain inputs, as ``qcalc stage`` judges it (the default draws, seed 0), so a batch
    in CI gates on the risk the file states."""
    from qcalc.uncertainty import DEFAULT_SAMPLER, DEFAULT_SAMPLES, probability_note, run
    from qcalc.uncertainty_report import scenario_data

    data = scenario_data(run(path, DEFAULT_SAMPLES, sampler=DEFAULT_SAMPLER))
    note = probability_note(scenario)
    for demand in data["demands"]:
        demand["notes"].append(note)
    return data


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped a batch; ``signum`` says which. Every worker is stopped."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal_name(signum))
        self.signum = signum


def signal_name(signum: int) -> str:
    """``SIGTERM`` for 15."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    """While the batch runs: SIGINT and SIGTERM raise :class:`Interrupted` in the main
    thread (SIGTERM would otherwise end the process without stopping its workers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _worker_start(parent: int) -> None:
    """Worker set-up (:func:`qcalc.distributed.prepare_worker`), then the models, which
    load once per worker, before its first file, not inside a task."""
    from qcalc.distributed import prepare_worker

    prepare_worker(parent)
    import qcalc.demands
    import qcalc.report
    import qcalc.stage  # noqa: F401


def run_batch(
    files: list[str],
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
    explain: bool = False,
    scheduler: str | None = None,
) -> list[FileResult]:
    """Evaluate ``files`` in order, in ``jobs`` processes (or on the Dask cluster at
    ``scheduler``); ``progress(n)`` after each file; ``explain`` keeps each file's
    derivation steps. Every result is held: :func:`iter_batch` streams them."""
    return [r for r, _ in iter_batch(files, jobs, progress, explain, scheduler, keep="full")]


#: Files a worker evaluates per task: enough to make the round trip negligible, few
#: enough that results reach the output steadily and the workers share the tail.
MOST_PER_TASK = 16
#: Tasks in flight per worker process.
TASKS_AHEAD = 4


def iter_batch(
    files: list[str],
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
    explain: bool = False,
    scheduler: str | None = None,
    keep: str = "slim",
) -> Iterator[tuple[FileResult, str | None]]:
    """Evaluate ``files`` and yield each result in order as soon as it is known.

    ``keep`` says what a result holds: ``"full"`` its whole JSON-ready data; ``"slim"``
    only what the summary, table, Markdown, CSV and JUnit reports use (a few hundred bytes
    a file, so a batch of any size fits in memory); ``"json"`` the slim data and, beside
    it, the file's entry in the JSON report (text, rendered where it was evaluated).

    With ``jobs`` > 1 a pool of worker processes is started once (each imports the
    models before its first file) and takes the files in chunks; SIGINT or SIGTERM
    stops every worker before :class:`Interrupted` reaches the caller. With
    ``scheduler`` the chunks run on a Dask cluster (:mod:`qcalc.distributed`), which must
    see the files at the same paths.
    """
    if scheduler is not None:
        from qcalc.distributed import chunks_of, dask_client

        with dask_client(scheduler) as client, _signals_interrupt():
            workers = max(1, len(client.scheduler_info().get("workers", {})))
            size = chunks_of(len(files), workers, MOST_PER_TASK)
            from qcalc.distributed import cluster_map

            tasks = ((files[i : i + size], explain, keep) for i in range(0, len(files), size))
            for results in cluster_map(client, _task, None, tasks):
                for item in results:
                    yield item
                    if progress:
                        progress(1)
        return
    if jobs <= 1 or len(files) <= 1:
        with _signals_interrupt():
            for path in files:
                yield _outcome(path, explain, keep)
                if progress:
                    progress(1)
        return
    from concurrent.futures import ProcessPoolExecutor

    from qcalc.distributed import chunks_of, stop_workers

    workers = min(jobs, len(files))
    size = chunks_of(len(files), workers, MOST_PER_TASK)
    pool = ProcessPoolExecutor(
        max_workers=workers, initializer=_worker_start, initargs=(os.getpid(),)
    )
    try:
        with _signals_interrupt():
            # Submitted by hand, a few tasks ahead, not with pool.map: its iterator
            # cancels the pending futures when interrupted, which races with the
            # pool's own clean-up, and it submits every task at once.
            pending: deque[Any] = deque()
            starts = iter(range(0, len(files), size))
            while True:
                while len(pending) < workers * TASKS_AHEAD:
                    i = next(starts, None)
                    if i is None:
                        break
                    pending.append(pool.submit(_task, None, files[i : i + size], explain, keep))
                if not pending:
                    break
                for item in pending.popleft().result():
                    yield item
                    if progress:
                        progress(1)
    except BaseException:
        stop_workers(pool)
        raise
    pool.shutdown(wait=True)


def _outcome(path: str, explain: bool, keep: str) -> tuple[FileResult, str | None]:
    """One file's result as ``keep`` asks (see :func:`iter_batch`)."""
    from qcalc.network import forget_shared_results

    result = evaluate_file(path, explain)
    # What the hops of one file share, the next file's seldom do: without this the memos
    # of shared results would keep about 50 kB a file.
    forget_shared_results()
    if keep == "full":
        return result, None
    text = json_entry(result) if keep == "json" else None
    return slim(result), text


def _task(
    _: Any, paths: list[str], explain: bool, keep: str
) -> list[tuple[FileResult, str | None]]:
    """:func:`_outcome` of each of ``paths`` (one task of a worker)."""
    return [_outcome(path, explain, keep) for path in paths]


#: What a slim result keeps of each demand: the fields every report but JSON shows.
SLIM_DEMAND_KEYS = (
    "name",
    "path",
    "stage",
    "stage_name",
    "key_rate_bps",
    "protocol",
    "pair_rate_hz",
    "fidelity",
    "expect",
)


def slim(result: FileResult) -> FileResult:
    """``result`` with only what the summary, table, Markdown, CSV and JUnit use."""
    if result.data is None:
        return result
    data: dict[str, Any] = {
        "scenario": result.data["scenario"],
        "demands": [{k: d[k] for k in SLIM_DEMAND_KEYS if k in d} for d in result.data["demands"]],
    }
    if "explain" in result.data:
        data["explain"] = result.data["explain"]
    return FileResult(result.file, data=data, error=result.error, internal=result.internal)


def json_entry(result: FileResult) -> str:
    """The entry of one file in the JSON report, indented as :func:`json_report` places
    it (made safe for JSON)."""
    from qcalc.outputs import safe_json
    from qcalc.report import to_json

    item = result.data if result.data is not None else {"file": result.file, "error": result.error}
    return safe_json("    " + to_json(item).replace("\n", "\n    "))


def json_report_parts(summary: Summary) -> tuple[str, str, str]:
    """The JSON report around its entries (:func:`json_entry`, joined by ``",\\n"``):
    the text before the first entry, the text after the last, and the whole report of a
    batch without entries."""
    from qcalc.outputs import safe_json
    from qcalc.report import to_json

    totals = {k: v for k, v in summary.__dict__.items() if k != "internal"}
    whole = to_json({"qcalc_version": __version__, "summary": totals, "scenarios": []})
    head, tail = whole.rsplit("[]", 1)
    return safe_json(head + "[\n"), safe_json("\n  ]" + tail), safe_json(whole)


@record(frozen=True)
class Summary:
    files: int
    errors: int
    demands: int
    passed: int
    failed: int

    internal: int = 0

    @property
    def exit_code(self) -> int:
        """0 all passed, 1 an expectation failed, 2 some file could not be evaluated, 3 qcalc
        failed on a file (a bug)."""
        if self.internal:
            return 3
        return 2 if self.errors else (1 if self.failed else 0)


def _demand_passed(demand: dict[str, Any]) -> bool:
    return bool(demand.get("expect", {}).get("passed", True))


def summarise(results: Iterable[FileResult]) -> Summary:
    tally = Tally()
    for r in results:
        tally.add(r)
    return tally.summary()


class Tally:
    """The summary of a batch counted as its results arrive (no result is kept)."""

    def __init__(self) -> None:
        self.files = self.errors = self.demands = self.failed = self.internal = 0

    def add(self, result: FileResult) -> None:
        self.files += 1
        self.errors += result.error is not None
        self.internal += result.internal
        for d in result.demands:
            self.demands += 1
            self.failed += not _demand_passed(d)

    def summary(self) -> Summary:
        return Summary(
            files=self.files,
            errors=self.errors,
            demands=self.demands,
            passed=self.demands - self.failed,
            failed=self.failed,
            internal=self.internal,
        )


def _failed_checks(demand: dict[str, Any]) -> list[str]:
    return [
        f"{c['field']} {c['op']} {c['want']:g} (got {c['got']:.6g})"
        for c in demand.get("expect", {}).get("checks", [])
        if not c["passed"]
    ]


# ----------------------------------------------------------------------------- formats


def to_json_data(results: list[FileResult]) -> dict[str, Any]:
    s = summarise(results)
    summary = {k: v for k, v in s.__dict__.items() if k != "internal"}  # counted in errors
    return {
        "qcalc_version": __version__,
        "summary": summary,
        "scenarios": [
            r.data if r.data is not None else {"file": r.file, "error": r.error} for r in results
        ],
    }


CSV_COLUMNS = [
    "file",
    "scenario",
    "demand",
    "path",
    "stage",
    "stage_name",
    "key_rate_bps",
    "protocol",
    "pair_rate_hz",
    "fidelity",
    "passed",
    "failed_checks",
    "error",
]

#: The ``passed`` column of a file that holds no demand (it is listed all the same).
NO_DEMANDS = "no demands"


def to_csv(results: list[FileResult]) -> str:
    """CSV: a row per demand, a row per broken file and per file without demands.

    Text cells are quoted and never start a spreadsheet formula (:func:`csv_cell`);
    numbers are written as they are."""
    return csv_rows(None) + "".join(csv_rows(r) for r in results)


def csv_rows(r: FileResult | None) -> str:
    """The CSV rows of one file (the header for None), as :func:`to_csv` writes them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)

    def row(cells: list[Any]) -> None:
        writer.writerow([csv_cell(c) for c in cells])

    if r is None:
        writer.writerow(CSV_COLUMNS)
    elif r.data is None:
        row([r.file, "", "", "", "", "", "", "", "", "", "error", "", r.error])
    else:
        if not r.demands:
            row([r.file, r.data["scenario"], "", "", "", "", "", "", "", "", NO_DEMANDS, "", ""])
        for d in r.demands:
            row(
                [
                    r.file,
                    r.data["scenario"],
                    d["name"],
                    " ".join(d["path"]),
                    d["stage"],
                    d["stage_name"],
                    d["key_rate_bps"],
                    d["protocol"] or "",
                    d["pair_rate_hz"],
                    d["fidelity"],
                    "yes" if _demand_passed(d) else "no",
                    "; ".join(_failed_checks(d)),
                    "",
                ]
            )
    return buffer.getvalue()


def to_junit(results: list[FileResult]) -> str:
    """JUnit XML: a testsuite per file, a testcase per demand; load errors as <error>.

    Every name and message is one line of characters XML 1.0 allows (:func:`xml_value`),
    so the report parses whatever a file name or message holds."""
    s = summarise(results)
    root = ET.Element(
        "testsuites",
        name="qcalc",
        tests=str(s.demands + s.errors),
        failures=str(s.failed),
        errors=str(s.errors),
    )
    for r in results:
        file = xml_value(r.file)
        name = xml_value(r.data["scenario"]) if r.data else file
        suite = ET.SubElement(root, "testsuite", name=name, file=file)
        if r.data is None:
            suite.set("tests", "1")
            suite.set("failures", "0")
            suite.set("errors", "1")
            case = ET.SubElement(suite, "testcase", classname=file, name="load")
            message = xml_value(r.error or "")
            kind = "InternalError" if r.internal else "ScenarioError"
            error = ET.SubElement(case, "error", message=message, type=kind)
            error.text = message
            continue
        failures = 0
        for d in r.demands:
            # The file path in the id: two variants of one scenario never collide.
            case = ET.SubElement(suite, "testcase", classname=file, name=xml_value(d["name"]))
            if not _demand_passed(d):
                failures += 1
                message = xml_value("; ".join(_failed_checks(d)))
                failure = ET.SubElement(case, "failure", message=message, type="expect")
                failure.text = message
        suite.set("tests", str(len(r.demands)))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def rows(results: list[FileResult]) -> Iterable[list[str]]:
    """One row per demand (or per broken file, or file without demands) for Markdown;
    every cell one line."""
    from qcalc.report import num

    for r in results:
        file = one_line(r.file)
        if r.data is None:
            yield [file, "—", "—", "—", "—", "ERROR", one_line(r.error or "")]
            continue
        if not r.demands:
            yield [file, "—", "—", "—", "—", NO_DEMANDS, ""]
        for d in r.demands:
            status = "pass" if _demand_passed(d) else "FAIL"
            yield [
                file,
                one_line(d["name"]),
                f"{d['stage']} ({d['stage_name']})",
                num(d["key_rate_bps"], "bit/s"),
                num(d["pair_rate_hz"], "Hz"),
                status,
                one_line("; ".join(_failed_checks(d))),
            ]


BATCH_COLUMNS = ["file", "demand", "stage", "key rate", "pairs", "result", "detail"]


def summary_line(results: list[FileResult]) -> str:
    from qcalc.units import plural

    s = summarise(results)
    return (
        f"{plural(s.files, 'file')}, {plural(s.demands, 'demand')}: {s.passed:,} passed, "
        f"{s.failed:,} failed, {plural(s.errors, 'file with errors', 'files with errors')}"
    )


def to_markdown(results: list[FileResult]) -> str:
    """A pull-request comment / CI job summary: verdict first, then the table (every cell
    escaped by :func:`markdown_cell`)."""
    s = summarise(results)
    icon = {0: "✅", 1: "❌", 2: "⚠️", 3: "⚠️"}[s.exit_code]
    lines = [
        f"## {icon} qcalc batch: {summary_line(results)}",
        "",
        "| " + " | ".join(BATCH_COLUMNS) + " |",
        "|" + "---|" * len(BATCH_COLUMNS),
    ]
    for row in rows(results):
        lines.append("| " + " | ".join(markdown_cell(c) for c in row) + " |")
    return "\n".join(lines) + "\n"
