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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

from qcalc import __version__
from qcalc.errors import QcalcError
from qcalc.outputs import csv_cell, markdown_cell, one_line, xml_value


@dataclass(frozen=True)
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
        from qcalc.evaluate import evaluate_scenario
        from qcalc.report import scenario_dict, step_dict
        from qcalc.scenario import load_scenario

        scenario = load_scenario(path)
        results = evaluate_scenario(scenario)
        data = scenario_dict(scenario, results)
        if explain:
            data["explain"] = [step_dict(s) for r in results for s in r.steps]
        return FileResult(path, data=data)
    except QcalcError as exc:
        return FileResult(path, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - isolation: one file never stops a batch
        return FileResult(
            path,
            error=f"{path}: {type(exc).__name__}: {exc}. This is a bug in qcalc; please "
            "report it with this file",
            internal=True,
        )


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


#: How often a worker checks that its parent is alive. [s]
ORPHAN_CHECK_S = 0.5


def _worker_start(parent: int) -> None:
    """Worker set-up: leave SIGINT to the parent (a terminal's Ctrl-C reaches the whole
    process group), die on SIGTERM, and exit when the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def watch() -> None:
        while True:
            threading.Event().wait(ORPHAN_CHECK_S)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="qcalc-orphan-check", daemon=True).start()


def _stop_workers(pool: Any) -> None:
    """Kill every worker of a ProcessPoolExecutor and wait for them to end.

    SIGKILL rather than SIGTERM: a worker forked a moment before still runs with the
    parent's SIGTERM handler until its initializer replaces it, and a SIGTERM then
    prints a traceback from inside the fork. The workers write nothing, so there is
    nothing for them to clean up.
    """
    processes = list(getattr(pool, "_processes", {}).values())  # no public API before 3.14
    for process in processes:
        if process.is_alive():
            process.kill()
    for process in processes:
        process.join(5.0)
    # The pool now sees its workers gone, fails what was pending and ends its thread;
    # cancelling the futures first races with that (InvalidStateError in Python 3.11).
    pool.shutdown(wait=True)


def run_batch(
    files: list[str],
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
    explain: bool = False,
) -> list[FileResult]:
    """Evaluate ``files`` in order, in ``jobs`` processes; ``progress(n)`` after each file;
    ``explain`` keeps each file's derivation steps."""
    results: list[FileResult] = []
    if jobs <= 1 or len(files) <= 1:
        with _signals_interrupt():
            for path in files:
                results.append(evaluate_file(path, explain))
                if progress:
                    progress(1)
        return results
    from concurrent.futures import ProcessPoolExecutor

    chunk = max(1, len(files) // (jobs * 8))
    pool = ProcessPoolExecutor(
        max_workers=min(jobs, len(files)), initializer=_worker_start, initargs=(os.getpid(),)
    )
    try:
        with _signals_interrupt():
            # Submitted by hand, not with pool.map: its iterator cancels the pending
            # futures when interrupted, which races with the pool's own clean-up.
            futures = [
                pool.submit(_evaluate_files, files[i : i + chunk], explain)
                for i in range(0, len(files), chunk)
            ]
            for future in futures:
                for result in future.result():
                    results.append(result)
                    if progress:
                        progress(1)
    except BaseException:
        _stop_workers(pool)
        raise
    pool.shutdown(wait=True)
    return results


def _evaluate_files(paths: list[str], explain: bool) -> list[FileResult]:
    """:func:`evaluate_file` on each of ``paths`` (one task of a worker)."""
    return [evaluate_file(path, explain) for path in paths]


@dataclass(frozen=True)
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


def summarise(results: list[FileResult]) -> Summary:
    demands = [d for r in results for d in r.demands]
    failed = sum(not _demand_passed(d) for d in demands)
    return Summary(
        files=len(results),
        errors=sum(r.error is not None for r in results),
        demands=len(demands),
        passed=len(demands) - failed,
        failed=failed,
        internal=sum(r.internal for r in results),
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
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow(CSV_COLUMNS)

    def row(cells: list[Any]) -> None:
        writer.writerow([csv_cell(c) for c in cells])

    for r in results:
        if r.data is None:
            row([r.file, "", "", "", "", "", "", "", "", "", "error", "", r.error])
            continue
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
