"""Evaluate many scenario files, isolate failures, and summarise for people and CI.

Each file is evaluated on its own: a file that fails to load, or fails in any other way,
becomes an error record and every other file is still evaluated and reported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

from qcalc import __version__
from qcalc.errors import QcalcError


@dataclass(frozen=True)
class FileResult:
    """One scenario file: its JSON-ready result, or the error that stopped it."""

    file: str
    data: dict[str, Any] | None = None
    error: str | None = None

    @property
    def demands(self) -> list[dict[str, Any]]:
        return [] if self.data is None else list(self.data["demands"])


def evaluate_file(path: str) -> FileResult:
    """Load and evaluate one file; never raises (errors become the record's ``error``)."""
    try:
        from qcalc.evaluate import evaluate_scenario
        from qcalc.report import scenario_dict
        from qcalc.scenario import load_scenario

        scenario = load_scenario(path)
        return FileResult(path, data=scenario_dict(scenario, evaluate_scenario(scenario)))
    except QcalcError as exc:
        return FileResult(path, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - isolation: one file never stops a batch
        return FileResult(
            path,
            error=f"{path}: internal error ({type(exc).__name__}: {exc}); "
            "please report it with this file",
        )


def run_batch(
    files: list[str], jobs: int = 1, progress: Callable[[int], None] | None = None
) -> list[FileResult]:
    """Evaluate ``files`` in order, in ``jobs`` processes; ``progress(n)`` after each file."""
    results: list[FileResult] = []
    if jobs <= 1 or len(files) <= 1:
        for path in files:
            results.append(evaluate_file(path))
            if progress:
                progress(1)
        return results
    from concurrent.futures import ProcessPoolExecutor

    chunk = max(1, len(files) // (jobs * 8))
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for result in pool.map(evaluate_file, files, chunksize=chunk):
            results.append(result)
            if progress:
                progress(1)
    return results


@dataclass(frozen=True)
class Summary:
    files: int
    errors: int
    demands: int
    passed: int
    failed: int

    @property
    def exit_code(self) -> int:
        """0 all passed, 1 an expectation failed, 2 some file could not be evaluated."""
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
    return {
        "qcalc_version": __version__,
        "summary": s.__dict__,
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


def to_csv(results: list[FileResult]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in results:
        if r.data is None:
            writer.writerow([r.file, "", "", "", "", "", "", "", "", "", "error", "", r.error])
            continue
        for d in r.demands:
            writer.writerow(
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
    """JUnit XML: a testsuite per file, a testcase per demand; load errors as <error>."""
    s = summarise(results)
    root = ET.Element(
        "testsuites",
        name="qcalc",
        tests=str(s.demands + s.errors),
        failures=str(s.failed),
        errors=str(s.errors),
    )
    for r in results:
        name = r.data["scenario"] if r.data else r.file
        suite = ET.SubElement(root, "testsuite", name=name, file=r.file)
        if r.data is None:
            suite.set("tests", "1")
            suite.set("failures", "0")
            suite.set("errors", "1")
            case = ET.SubElement(suite, "testcase", classname=r.file, name="load")
            error = ET.SubElement(case, "error", message=r.error or "", type="ScenarioError")
            error.text = r.error
            continue
        failures = 0
        for d in r.demands:
            case = ET.SubElement(suite, "testcase", classname=name, name=d["name"])
            if not _demand_passed(d):
                failures += 1
                message = "; ".join(_failed_checks(d))
                failure = ET.SubElement(case, "failure", message=message, type="expect")
                failure.text = message
        suite.set("tests", str(len(r.demands)))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def rows(results: list[FileResult]) -> Iterable[list[str]]:
    """One row per demand (or per broken file) for tables and markdown."""
    from qcalc.report import num

    for r in results:
        if r.data is None:
            yield [r.file, "—", "—", "—", "—", "ERROR", r.error or ""]
            continue
        for d in r.demands:
            status = "pass" if _demand_passed(d) else "FAIL"
            yield [
                r.file,
                d["name"],
                f"{d['stage']} ({d['stage_name']})",
                num(d["key_rate_bps"], "bit/s"),
                num(d["pair_rate_hz"], "Hz"),
                status,
                "; ".join(_failed_checks(d)),
            ]


BATCH_COLUMNS = ["file", "demand", "stage", "key rate", "pairs", "result", "detail"]


def summary_line(results: list[FileResult]) -> str:
    s = summarise(results)
    return (
        f"{s.files} files, {s.demands} demands: {s.passed} passed, {s.failed} failed, "
        f"{s.errors} files with errors"
    )


def to_markdown(results: list[FileResult]) -> str:
    """A pull-request comment / CI job summary: verdict first, then the table."""
    s = summarise(results)
    icon = {0: "✅", 1: "❌", 2: "⚠️"}[s.exit_code]
    lines = [
        f"## {icon} qcalc batch: {summary_line(results)}",
        "",
        "| " + " | ".join(BATCH_COLUMNS) + " |",
        "|" + "---|" * len(BATCH_COLUMNS),
    ]
    for row in rows(results):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines) + "\n"
