"""Issue 14: hostile and huge inputs. A CI gate that cannot be fooled, bounded time and
memory, and never an internal error.

One test (or one parametrised case) per reproducer of the issue, in its order:

1. paths are paths (globs only with --glob), every input once, special files refused;
2. reports that cannot be injected (control characters refused at load; every format of
   a batch of hostile names parses; no workflow command; CSV formula guard);
3. outputs that never lose data (atomic writes; an output that is an input; ``-o -``;
   /dev/full, a read-only folder, a closed stdout, a FIFO);
4. no exit 3 from any input (YAML tags, YAML 1.2 scalars, huge integers, option values);
5. bounded work (docs/limits.md is the table in qcalc.limits; each limit refuses with the
   way to raise it; the OpenQASM reproducers);
6. linear where it can be (long chains, sweep arguments checked before the grid);
7. signals (SIGTERM to ``batch --jobs 4`` leaves no process behind).

Hang guards are 30 s or more (never a benchmark). Properties over generated scenarios and
OpenQASM programs are in tests/test_qasm_fuzz.py and at the end of this file.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import MINIMAL, ROOT
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_extremes import assert_sane_demand, assert_sane_json
from test_fuzz import assert_good_error
from typer.testing import CliRunner, Result

from qcalc import batch as batch_module
from qcalc import limits, outputs
from qcalc.cli import app
from qcalc.demands import evaluate_scenario
from qcalc.errors import QcalcError, ScenarioError, UsageError
from qcalc.qasm import QasmError, count_cross_partition_gates, parse_partition, parse_qasm
from qcalc.report import demand_dict, scenario_dict
from qcalc.scenario import parse_scenario

#: Hang guard for one command in a subprocess. [s]
HANG_GUARD_S = 60.0
#: The GitHub Actions runner reads a line as a workflow command when it starts with "::"
#: after white space, or holds "##[" anywhere (actions/runner ActionCommand.cs).
WORKFLOW_COMMAND = re.compile(r"^\s*::|##\[", re.MULTILINE)

PASSING = MINIMAL.replace(
    "- {ends: [alice, bob]}", "- {ends: [alice, bob], expect: {stage: '>= 1'}}"
)
FAILING = MINIMAL.replace(
    "- {ends: [alice, bob]}", "- {ends: [alice, bob], expect: {key_rate_bps: '>= 1e12'}}"
)


def run(*args: str, **kwargs: Any) -> Result:
    """``qcalc ARGS`` in process; nothing but SystemExit may leave the CLI."""
    result = CliRunner().invoke(app, list(args), **kwargs)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), f"{type(result.exception).__name__} escaped the CLI: {result.exception}"
    assert "Traceback" not in result.output
    return result


def qcalc(
    *args: str, timeout: float = HANG_GUARD_S, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """``python -m qcalc ARGS`` in a subprocess with a hang guard (output captured unless
    ``stdout`` is given)."""
    if "stdout" not in kwargs:
        kwargs["capture_output"] = True
    return subprocess.run(
        [sys.executable, "-m", "qcalc", *args], text=True, timeout=timeout, **kwargs
    )


def no_workflow_command(*texts: str) -> None:
    for text in texts:
        found = WORKFLOW_COMMAND.search(text)
        assert found is None, (
            f"workflow command at {found.start()}: {text[found.start() : found.start() + 80]!r}"
        )


def write(folder: Path, name: str, text: str = MINIMAL) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# ============================================================================ 1. paths


def test_a_file_named_like_a_glob_is_that_file(tmp_path: Path) -> None:
    # Reproducer: `qcalc batch 'failing[1].yaml' ok.yaml -f junit` exited 0 with the
    # failing file absent from the report.
    failing = write(tmp_path, "failing[1].yaml", FAILING)
    ok = write(tmp_path, "ok.yaml", PASSING)
    result = run("batch", str(failing), str(ok), "-f", "junit")
    assert result.exit_code == 1
    root = ET.fromstring(result.stdout.split("\n", 1)[1])
    assert {s.get("file") for s in root.iter("testsuite")} == {str(failing), str(ok)}
    assert len(root.findall(".//failure")) == 1
    # Named alone it is found (it used to be "no scenario files found").
    assert run("batch", str(failing)).exit_code == 1
    assert run("validate", str(failing)).stdout == f"{failing}: ok\n"


def test_a_glob_lookalike_never_reads_its_neighbour(tmp_path: Path) -> None:
    # `plan2.yaml` beside `plan[v2].yaml`: the pattern would match plan2.yaml.
    write(tmp_path, "plan2.yaml", "name: wrong\n" + MINIMAL)
    right = write(tmp_path, "plan[v2].yaml", "name: right\n" + MINIMAL)
    staged = json.loads(run("stage", str(right), "-f", "json").stdout)
    assert staged["scenario"] == "right"
    batched = json.loads(run("batch", str(right), "-f", "json").stdout)
    assert [s["scenario"] for s in batched["scenarios"]] == ["right"]
    assert run("validate", str(right)).stdout == f"{right}: ok\n"


def test_patterns_only_with_glob_and_absolute_patterns_work(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", PASSING)
    write(tmp_path, "b.yaml", FAILING)
    pattern = str(tmp_path / "*.yaml")  # absolute: it used to exit 3
    missing = run("batch", pattern)
    assert missing.exit_code == 2
    assert "a pattern is expanded only when asked for: --glob" in missing.stderr
    data = json.loads(run("batch", "--glob", pattern, "-f", "json").stdout)
    assert data["summary"]["files"] == 2
    assert run("validate", "--glob", pattern).exit_code == 0
    nothing = run("validate", "--glob", str(tmp_path / "*.yml"))
    assert nothing.exit_code == 2 and "matched nothing" in nothing.stderr


def test_every_input_exactly_once(tmp_path: Path) -> None:
    # The same file twice, a folder and a file inside it, a symlink to it: one file.
    folder = tmp_path / "plans"
    folder.mkdir()
    a = write(folder, "a.yaml", PASSING)
    write(folder, "UPPER.YAML", PASSING)  # *.YAML in folders is read too
    link = tmp_path / "link.yaml"
    link.symlink_to(a)
    data = json.loads(run("batch", str(a), str(a), str(folder), str(link), "-f", "json").stdout)
    files = [s["file"] for s in data["scenarios"]]
    assert files == [str(a), str(folder / "UPPER.YAML")]
    assert data["summary"]["files"] == 2
    text = run("batch", str(a), str(folder), "-f", "csv").stdout
    assert [r["file"] for r in csv.DictReader(io.StringIO(text))] == files


@pytest.mark.parametrize(
    "fmt",
    [
        pytest.param(
            "table",
            marks=pytest.mark.xfail(
                strict=True,
                reason="report.batch_table (qcalc/report.py, issue 13) gives a file a "
                "heading only above its first demand row",
            ),
        ),
        "json",
        "csv",
        "markdown",
        "junit",
    ],
)
def test_a_file_without_demands_is_in_every_format(tmp_path: Path, fmt: str) -> None:
    empty = write(tmp_path, "nodemands.yaml", MINIMAL.split("demands:")[0])
    ok = write(tmp_path, "ok.yaml", PASSING)
    result = run("batch", str(empty), str(ok), "-f", fmt, "--wide")
    assert result.exit_code == 0, result.output
    assert str(empty) in result.stdout
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        assert [r["passed"] for r in rows] == ["no demands", "yes"]


@pytest.fixture
def fifo_folder(tmp_path: Path) -> Path:
    write(tmp_path, "a.yaml", PASSING)
    os.mkfifo(tmp_path / "pipe.yaml")
    return tmp_path


@pytest.mark.parametrize(
    "args",
    [
        ["batch", "{folder}"],
        ["batch", "{folder}", "--jobs", "2"],
        ["validate", "{folder}"],
        ["stage", "{folder}/pipe.yaml"],
        ["budget", "circuit", "--qasm", "{folder}/pipe.yaml", "--partition", "0:1"],
    ],
)
def test_a_fifo_is_refused_never_read(fifo_folder: Path, args: list[str]) -> None:
    # Reproducer: a FIFO named *.yaml hung batch (any --jobs), validate and stage.
    done = qcalc(*(a.format(folder=fifo_folder) for a in args))
    assert done.returncode == 2, done.stderr
    assert "is a named pipe (FIFO), not a regular file" in done.stderr
    if args[0] in ("batch", "validate"):
        assert "a.yaml" in done.stdout  # every other file is still evaluated


def test_devices_are_refused(tmp_path: Path) -> None:
    result = run("stage", "/dev/zero")
    assert result.exit_code == 2
    assert "/dev/zero: is a character device, not a regular file" in result.stderr


# ============================================================================ 2. injection


@pytest.mark.parametrize(
    ("replacement", "where", "problem"),
    [
        (("qcalc: 1\n", 'qcalc: 1\nname: "x\\e\\x01\\0"\n'), ":2:7: name:", "U+001B"),
        (
            (
                "- {ends: [alice, bob]}",
                '- {name: "key\\n| injected |\\n::error::x", ends: [alice, bob]}',
            ),
            ":8:12: demands[0].name:",
            "U+000A",
        ),
        (("  bob:", '  "b\\u202eob":'), ":4:3: nodes:", "U+202E"),
        (("  bob:", '  "b\\tob":'), ":4:3: nodes:", "U+0009"),
        (("qcalc: 1\n", 'qcalc: 1\nname: "\\u2028"\n'), ":2:7: name:", "U+2028"),
    ],
)
def test_control_characters_in_names_are_refused_where_they_stand(
    tmp_path: Path, replacement: tuple[str, str], where: str, problem: str
) -> None:
    path = write(tmp_path, "s.yaml", MINIMAL.replace(*replacement, 1))
    result = run("stage", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"qcalc: error: {path}{where}"), result.stderr
    assert f"holds the control character {problem}" in result.stderr
    no_workflow_command(result.stdout, result.stderr)
    assert "\x1b" not in result.stderr and "\x00" not in result.stderr


def test_a_name_with_a_line_break_in_a_name_field_is_refused(tmp_path: Path) -> None:
    # A block scalar may hold line breaks in free text, never in a name.
    text = MINIMAL.replace("qcalc: 1\n", "qcalc: 1\nname: |\n  a\n  ::error::b\n")
    with pytest.raises(ScenarioError, match=r":2:7: name: .*a name is one line"):
        parse_scenario(text, "s.yaml")
    # description is free text and may span lines.
    parse_scenario(MINIMAL.replace("qcalc: 1\n", "qcalc: 1\ndescription: |\n  a\n  b\n"))


#: Names that are allowed and that every format must carry without breaking.
HOSTILE_NAMES = [
    "| injected | cell |",
    "::error::x",
    "::add-mask::secret",
    "##[error]legacy",
    "##[stop-commands]token",
    '=HYPERLINK("http://example.com","x")',
    "+1+cmd|' /C calc'!A0",
    "@SUM(A1)",
    "-2+3",
    "<img src=x onerror=alert(1)>",
    "[click](http://example.com) ![i](http://example.com/i.png)",
    "`code` *bold* _it_ \\| back\\slash",
    '"quoted", with, commas',
    "名古屋 Ω nœud",
]


def quoted(text: str) -> str:
    """``text`` as a double-quoted YAML scalar (escapes as YAML wants them)."""
    return yaml.safe_dump(text, default_style='"', allow_unicode=True, width=10**9).strip()


def hostile_scenario(name: str, expect: str, node: str | None = None) -> str:
    node = name if node is None else node
    return (
        "qcalc: 1\n"
        f"name: {quoted(name)}\n"
        "nodes:\n"
        "  alice: {source: {kind: weak_coherent, repetition_rate_hz: 1.0e9}}\n"
        f"  {quoted(node)}: {{detector: {{efficiency: 0.5}}}}\n"
        "links:\n"
        f"  - {{name: {quoted(name)}, ends: [alice, {quoted(node)}], length_km: 10}}\n"
        "demands:\n"
        f"  - {{name: {quoted(name)}, ends: [alice, {quoted(node)}], "
        f"expect: {{key_rate_bps: '{expect}'}}}}\n"
    )


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    for i, name in enumerate(HOSTILE_NAMES):
        expect = ">= 1e12" if i % 2 else ">= 0"  # some fail: failure messages quote too
        write(folder, f"n{i:02d}.yaml", hostile_scenario(name, expect))
    # File names cannot be refused: control characters, a line break, a command.
    write(folder, "::error::file.yaml", PASSING)
    write(folder, "bad\nname\x1b[31m.yaml", PASSING)
    write(folder, "=cmd|calc.yaml", MINIMAL.replace("length_km: 10", "length_km: ten"))
    return folder


def markdown_table_rows(text: str) -> list[list[str]]:
    """The cells of every table row, split on pipes that are not escaped."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|"):
            cells = re.split(r"(?<!\\)\|", line)
            assert cells[0] == "" and cells[-1] == "", line
            rows.append(cells[1:-1])
    return rows


def test_every_format_of_a_batch_of_hostile_names_parses(hostile_folder: Path) -> None:
    files = sorted(p for p in hostile_folder.iterdir())
    outputs_by_format = {}
    for fmt in ("table", "json", "csv", "markdown", "junit"):
        result = run("batch", str(hostile_folder), "-f", fmt, "--wide")
        assert result.exit_code == 2, (fmt, result.stderr)  # one file is broken
        no_workflow_command(result.stdout, result.stderr)
        assert "\x1b" not in result.stdout + result.stderr
        outputs_by_format[fmt] = result.stdout
    # JSON: exact data, names as written.
    data = json.loads(outputs_by_format["json"])
    names = {s.get("scenario") for s in data["scenarios"] if "scenario" in s}
    assert set(HOSTILE_NAMES) <= names
    assert data["summary"]["files"] == len(files)
    # JUnit: well-formed, one suite per file, names one line each.
    root = ET.fromstring(outputs_by_format["junit"].split("\n", 1)[1])
    suites = root.findall("testsuite")
    assert len(suites) == len(files)
    assert {s.get("name") for s in suites} >= set(HOSTILE_NAMES)
    assert all("\n" not in (e.get("name") or "") for e in root.iter())
    # CSV: one record per demand or broken file; no text cell is a formula.
    rows = list(csv.reader(io.StringIO(outputs_by_format["csv"])))
    assert len(rows) == 1 + len(files)
    assert all(len(r) == len(batch_module.CSV_COLUMNS) for r in rows)
    for row in rows[1:]:
        for cell in row:
            try:
                float(cell)
            except ValueError:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    # A formula gets a leading ', and "##[" a zero-width space (the runner's legacy form).
    assert {r[2] for r in rows[1:]} >= {
        ("'" + n if n[0] in "=+-@" else n).replace("##[", "##\u200b[") for n in HOSTILE_NAMES
    }
    # Markdown: every row has the table's seven cells; nothing makes a link or HTML.
    table = markdown_table_rows(outputs_by_format["markdown"])
    assert len(table) == 2 + len(files)
    assert all(len(r) == len(batch_module.BATCH_COLUMNS) for r in table)
    body = outputs_by_format["markdown"]
    assert re.search(r"(?<!\\)<|(?<!\\)\]\(", body) is None  # no HTML, no link
    # Table: every file appears, control characters shown as escapes (a line break in a
    # file name still breaks its heading line: report.batch_table prints it as it is).
    for file in files:
        for part in str(file).split("\n"):
            assert outputs.one_line(part) in outputs_by_format["table"]


@pytest.mark.parametrize("command", ["stage", "rate", "links"])
@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
def test_single_scenario_reports_carry_no_workflow_command(
    tmp_path: Path, command: str, fmt: str
) -> None:
    for i, name in enumerate(HOSTILE_NAMES[:5]):
        path = write(tmp_path, f"h{i}.yaml", hostile_scenario(name, ">= 0"))
        result = run(command, str(path), "-f", fmt, "--explain")
        assert result.exit_code == 0, result.output
        no_workflow_command(result.stdout, result.stderr)
        if fmt == "json":
            json.loads(result.stdout)


def test_error_messages_carry_no_workflow_command(tmp_path: Path) -> None:
    path = write(tmp_path, "::error::x.yaml", MINIMAL.replace("length_km: 10", "length_km: ten"))
    result = run("stage", str(path))
    assert result.exit_code == 2
    no_workflow_command(result.stderr)
    assert "x.yaml:6:37: links[0].length_km: is the text 'ten'" in result.stderr


def test_output_guards_directly() -> None:
    assert outputs.csv_cell("=1+1") == "'=1+1"
    assert outputs.csv_cell(-2.5) == -2.5
    assert outputs.csv_cell("a\nb") == "a\\x0ab"
    assert outputs.markdown_cell("a|b") == "a\\|b"
    assert (
        outputs.safe_text("x\n ::error::y\n##[group]z") == "x\n \u200b::error::y\n##\u200b[group]z"
    )
    assert json.loads(
        outputs.safe_json(json.dumps({"k": "##[x]\x1b\u202e"}, ensure_ascii=False))
    ) == {"k": "##[x]\x1b\u202e"}
    assert outputs.display_path(os.fsdecode(b"a\xffb")) == "a\\xffb"
    xml = outputs.safe_xml(
        ET.tostring(ET.Element("t", name=outputs.xml_value("##[x]\x00\ufffe")), encoding="unicode")
    )
    assert ET.fromstring(xml).get("name") == "##[x]\\x00\\ufffe"


# ============================================================================ 3. outputs


@pytest.mark.parametrize(
    "args",
    [
        ["stage", "{s}", "-o", "{s}"],
        ["rate", "{s}", "-o", "{s}"],
        ["links", "{s}", "-o", "{s}"],
        ["sweep", "{s}", "--vary", "links.alice-bob.length_km=1:2:3", "-o", "{s}"],
        ["stage", "{s}", "-o", "{link}"],  # through a symlink
        ["stage", "{s}", "-o", "{hard}"],  # a hard link to the input
        ["budget", "circuit", "--qasm", "{q}", "--partition", "0:1", "-o", "{q}"],
        ["budget", "vqe", "--scenario", "{s}", "-o", "{s}"],
        ["batch", "{dir}", "-o", "{s}"],
        ["batch", "{dir}", "-o", "{dir}/b.yaml"],
        ["links", "{s}", "--plot", "{dir}/p.svg", "-o", "{dir}/p.svg"],
    ],
)
def test_an_output_never_overwrites_an_input(tmp_path: Path, args: list[str]) -> None:
    s = write(tmp_path, "s.yaml")
    q = write(
        tmp_path, "ok.qasm", 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncx q[0],q[1];\n'
    )
    (tmp_path / "link.yaml").symlink_to(s)
    os.link(s, tmp_path / "hard.yaml")
    names = {
        "s": s,
        "q": q,
        "dir": tmp_path,
        "link": tmp_path / "link.yaml",
        "hard": tmp_path / "hard.yaml",
    }
    before = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    result = run(*(a.format(**names) for a in args))
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "--output" in result.stderr or "--plot" in result.stderr
    after = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before


def test_dash_is_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = write(tmp_path, "s.yaml")
    result = run("stage", str(s), "-f", "json", "-o", "-")
    assert result.exit_code == 0 and json.loads(result.stdout)["scenario"] == "s"
    assert not (tmp_path / "-").exists()


def test_full_disk_read_only_fifo_and_closed_stdout(tmp_path: Path) -> None:
    s = write(tmp_path, "s.yaml")
    full = qcalc("stage", str(s), "-o", "/dev/full")
    assert full.returncode == 2
    assert "--output /dev/full: cannot write the output: No space left on device" in full.stderr
    with open("/dev/full", "w") as dev_full:
        piped = qcalc("stage", str(s), stdout=dev_full, stderr=subprocess.PIPE)
    assert piped.returncode == 2
    assert "cannot write to standard output: No space left on device" in piped.stderr
    closed = qcalc(
        "stage", str(s), stdout=None, stderr=subprocess.PIPE, preexec_fn=lambda: os.close(1)
    )
    assert closed.returncode == 2, closed.stderr
    assert "standard output is closed" in closed.stderr
    os.mkfifo(tmp_path / "out.txt")
    fifo = qcalc("stage", str(s), "-o", str(tmp_path / "out.txt"))
    assert fifo.returncode == 2 and "is a named pipe (FIFO)" in fifo.stderr


def test_a_read_only_folder_exits_2(tmp_path: Path) -> None:
    s = write(tmp_path, "s.yaml")
    target = None
    for folder in ("/proc/self", "/sys", "/"):
        probe = Path(folder) / "qcalc-probe.txt"
        try:
            probe.write_text("x")
        except OSError:
            target = probe
            break
        probe.unlink()
    if target is None:
        pytest.skip("no read-only folder to write into on this machine")
    result = run("stage", str(s), "-o", str(target))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"qcalc: error: --output {target}: cannot write in")


def test_a_failed_write_leaves_the_previous_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = tmp_path / "report.xml"
    report.write_text("previous good report\n")
    os.chmod(report, 0o640)

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(outputs.os, "fsync", full_disk)
    with pytest.raises(outputs.OutputError, match="No space left on device; the previous file"):
        outputs.write_output("<new/>", report)
    assert report.read_text() == "previous good report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xml"]  # no temp left
    monkeypatch.undo()
    outputs.write_output("<new/>", report)
    assert report.read_text() == "<new/>\n"
    assert stat.S_IMODE(report.stat().st_mode) == 0o640  # the mode is kept


def test_a_failed_plot_leaves_no_empty_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    s = write(tmp_path, "s.yaml")
    plot = tmp_path / "p.png"
    plot.write_bytes(b"previous plot")
    import qcalc.plot

    def broken(budgets: Any, out_path: str) -> None:
        Path(out_path).write_bytes(b"")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(qcalc.plot, "plot_link_waterfall", broken)
    result = run("links", str(s), "--plot", str(plot))
    assert result.exit_code == 2
    assert plot.read_bytes() == b"previous plot"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.png", "s.yaml"]


# ============================================================================ 4. no exit 3


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("!!bool maybe", "the value 'maybe' cannot be read as !!bool; expected true or false"),
        ("!!bool", "an empty value cannot be read as !!bool"),
        ("!!int", "an empty value cannot be read as !!int"),
        ("!!float", "an empty value cannot be read as !!float"),
        ("!!int +", "the value '+' cannot be read as !!int"),
        ("!!float _", "the value '_' cannot be read as !!float"),
        ("!!int 1:60:60:60", "the value '1:60:60:60' cannot be read as !!int"),
        ("!!int 0x" + "f" * 4000, "is an integer of 4,000 digits; expected a number"),
        ("!!null 0", "the value '0' cannot be read as !!null"),
        ("9" * 5000, "is an integer of 5,000 digits"),
        ("1:30", "is the text '1:30'; expected a number ≥ 0 and ≤ 1e+06 in km; YAML 1.2 reads"),
        ("1_000", "write 1000 (YAML 1.2 numbers have no '_' separators)"),
        ("!!seq [1]", "the tag 'tag:yaml.org,2002:seq' is not allowed"),
    ],
)
def test_yaml_tags_and_scalars_are_refused_where_they_stand(
    tmp_path: Path, value: str, message: str
) -> None:
    block = MINIMAL.replace(
        "  - {ends: [alice, bob], length_km: 10}", f"  - ends: [alice, bob]\n    length_km: {value}"
    )
    path = write(tmp_path, "s.yaml", block)
    result = run("stage", str(path))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"qcalc: error: {path}:7:16: links[0].length_km: "), (
        result.stderr[:300]
    )
    assert message in result.stderr
    assert len(result.stderr) < 1000


@pytest.mark.parametrize(
    ("value", "km"),
    [("010", 10.0), ("062", 62.0), ("0o17", 15.0), ("0x1F", 31.0), ("!!float 7", 7.0), ("+5", 5.0)],
)
def test_yaml_1_2_numbers(value: str, km: float) -> None:
    scenario = parse_scenario(MINIMAL.replace("length_km: 10", f"length_km: {value}"))
    assert scenario.links[0].length_km == km


def test_tags_on_collections_are_refused() -> None:
    for text in (
        MINIMAL.replace("nodes:\n", "nodes: !!map\n"),
        MINIMAL.replace("links:\n", "links: !!seq\n"),
        MINIMAL.replace("[alice, bob]", "!!seq {alice: 1}", 1),
    ):
        with pytest.raises(ScenarioError, match="is not allowed; scenarios use plain YAML values"):
            parse_scenario(text)


def test_validate_reports_every_file(tmp_path: Path) -> None:
    # Reproducer: `validate a.yaml b.yaml c.yaml` stopped at the first crash (exit 3).
    a = write(tmp_path, "a.yaml", MINIMAL.replace("length_km: 10", "length_km: !!bool maybe"))
    b = write(tmp_path, "b.yaml")
    c = write(tmp_path, "c.yaml", MINIMAL.replace("length_km: 10", "length_km: !!int +"))
    result = run("validate", str(a), str(b), str(c))
    assert result.exit_code == 2
    assert result.stdout == f"{b}: ok\n"
    assert f"{a}:6:37: links[0].length_km: the value 'maybe'" in result.stderr
    assert f"{c}:6:37: links[0].length_km: the value '+'" in result.stderr
    assert run("batch", str(a), str(b), str(c)).exit_code == 2


def test_batch_exits_3_for_an_internal_error_and_reports_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qcalc.demands

    good = write(tmp_path, "good.yaml")
    original = qcalc.demands.evaluate_scenario

    def crash_on_one(scenario: Any) -> Any:
        if scenario.name == "crash":
            raise RuntimeError("a bug")
        return original(scenario)

    monkeypatch.setattr(qcalc.demands, "evaluate_scenario", crash_on_one)
    bad = write(tmp_path, "crash.yaml")
    result = run("batch", str(good), str(bad), "-f", "junit")
    assert result.exit_code == 3  # as docs/ci.md says
    assert "qcalc: internal error:" in result.stderr and "This is a bug in qcalc" in result.stderr
    root = ET.fromstring(result.stdout.split("\n", 1)[1])
    assert root.find(".//error").get("type") == "InternalError"
    assert len(root.findall("testsuite")) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["budget", "vqe", "--iterations", "1e400"], "--iterations is 1e400, more than the limit"),
        (
            ["budget", "vqe", "--depth", "1e999999999"],
            "--depth is 1e999999999, more than the limit",
        ),
        (["budget", "circuit", "--cross-cnots", "1e400"], "--cross-cnots is 1e400, more than"),
        (["budget", "circuit", "--cross-cnots", "1", "--runs", "1e400"], "--runs is 1e400"),
        (["budget", "vqe", "--shots", "NaN"], "--shots is NaN; expected a whole number"),
        (["budget", "vqe", "--wall-time", "1e400"], "--wall-time"),
        (
            ["rate", "{s}", "--monte-carlo", "10", "--seed", "-1"],
            "--seed is -1; expected a whole number ≥ 0",
        ),
        (
            ["rate", "{s}", "--monte-carlo", "1000000000"],
            "--monte-carlo is 1,000,000,000 trials, more than the limit of 1,000,000",
        ),
        (["rate", "{s}", "--monte-carlo", "1"], "--monte-carlo is 1; expected 0"),
    ],
)
def test_option_values_are_checked_like_scenario_values(
    tmp_path: Path, args: list[str], message: str
) -> None:
    s = write(tmp_path, "s.yaml")
    result = run(*(a.format(s=s) for a in args))
    assert result.exit_code == 2, result.output
    assert message in result.stderr, result.stderr


# ============================================================================ 5. limits


def test_docs_limits_md_shows_the_limits_table() -> None:
    text = (ROOT / "docs" / "limits.md").read_text(encoding="utf-8")
    assert limits.markdown_table() in text


def test_every_limit_has_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for entry in limits.LIMITS.values():
        assert entry.value == entry.default
        if entry.raisable:
            monkeypatch.setenv(entry.env, "1_234")
            assert entry.value == 1234
            monkeypatch.setenv(entry.env, "-5")
            with pytest.raises(UsageError, match=f"{entry.env}='-5': expected a whole number"):
                _ = entry.value
            monkeypatch.delenv(entry.env)
        else:
            monkeypatch.setenv(entry.env, "1000000")
            assert entry.value == entry.default


CHAIN = """\
qcalc: 1
nodes:
  a: {source: &wcp {kind: weak_coherent, repetition_rate_hz: 1.0e9}, detector: {efficiency: 0.5}}
  b: {role: trusted_relay, source: *wcp, detector: {efficiency: 0.5}}
  c: {detector: {efficiency: 0.5}}
links:
  - {ends: [a, b], length_km: 10}
  - {ends: [b, c], length_km: 10}
demands:
  - {ends: [a, c], path: [a, b, c]}
  - {ends: [a, b]}
"""


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "QCALC_MAX_NODES",
            "2",
            ":3:3: nodes: holds 3 nodes, more than the limit of 2; set QCALC_MAX_NODES",
        ),
        (
            "QCALC_MAX_LINKS",
            "1",
            ":7:3: links: holds 2 links, more than the limit of 1; set QCALC_MAX_LINKS",
        ),
        ("QCALC_MAX_DEMANDS", "1", ":10:3: demands: holds 2 demands, more than the limit of 1"),
        (
            "QCALC_MAX_PATH_HOPS",
            "1",
            ":10:26: demands[0].path: has 2 hops, more than the limit of 1",
        ),
        # The alias *wcp adds 3 values (a mapping of two); the document's own are not counted.
        ("QCALC_MAX_YAML_VALUES", "2", "expands to more than 2 values (an alias bomb?)"),
        ("QCALC_MAX_YAML_BYTES", "100", "the file is larger than 9.53674e-05 MB"),
    ],
)
def test_scenario_limits_refuse_with_the_way_to_raise_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    path = write(tmp_path, "chain.yaml", CHAIN)
    assert run("stage", str(path), "-f", "json").exit_code == 0
    monkeypatch.setenv(variable, value)
    result = run("stage", str(path), "-f", "json")
    assert result.exit_code == 2
    assert message in result.stderr, result.stderr
    assert variable in result.stderr


def test_a_routed_path_is_checked_against_the_hop_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = parse_scenario(CHAIN.replace(", path: [a, b, c]", ""))
    monkeypatch.setenv("QCALC_MAX_PATH_HOPS", "1")
    from qcalc.network import demand_route

    with pytest.raises(
        ScenarioError, match="route of demand 'a-c' has 2 hops, more than the limit of 1"
    ):
        demand_route(scenario, scenario.demands[0])


QASM = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'


def qasm_error(body: str) -> str:
    with pytest.raises(QasmError) as info:
        parse_qasm(QASM + body, "c.qasm")
    return str(info.value)


def test_qasm_nesting_is_bounded_and_chains_are_linear() -> None:
    # Reproducers: 250 nested parentheses and 3,000 nested sin( were RecursionErrors;
    # a 10,000-long 9^9^… chain is fine now (powers and signs are read iteratively).
    deep = "(" * 250 + "1" + ")" * 250
    assert qasm_error(f"qreg q[1];\nrz({deep}) q[0];\n").startswith(
        "c.qasm:4:68: the parameter expression nests parentheses and functions deeper than 64"
    )
    assert "deeper than 64" in qasm_error(
        "qreg q[1];\nrz(" + "sin(" * 3000 + "1" + ")" * 3000 + ") q[0];\n"
    )
    power = "^".join(["9"] * 10_000)
    assert (
        parse_qasm(
            f"{QASM}qreg q[1];\nrz({power}) q[0];\nrz(" + "-" * 10_000 + "1) q[0];\n"
        ).single_qubit_gates
        == 2
    )
    assert parse_qasm(f"{QASM}qreg q[1];\nrz(" + "(" * 64 + "1" + ")" * 64 + ") q[0];\n")


def test_qasm_registers_and_broadcast_are_bounded_before_work() -> None:
    assert qasm_error("qreg q[1000000000000];\n").startswith(
        "c.qasm:3:8: the size of register 'q' is 1000000000000, more than the limit of "
        "1,000,000; set QCALC_MAX_QASM_QUBITS to raise it"
    )
    assert "more than the limit" in qasm_error("qreg q[" + "9" * 5000 + "];\n")
    assert qasm_error("qreg a[1000000];\nqreg b[1000000];\ncx a, b;\n").startswith(
        "c.qasm:4:8: register 'b' of 1,000,000 qubits brings the circuit to 2,000,000 qubits"
    )
    assert qasm_error("qreg q[2];\ncx q[0], q[99999999999999];\n").startswith(
        "c.qasm:4:10: index 99999999999999 is out of range for 'q' of size 2"
    )
    assert qasm_error("qreg q[2];\ncx q[0], q[" + "9" * 30 + "];\n").startswith(
        "c.qasm:4:12: the index is " + "9" * 30 + ", more than the limit of 1,000,000"
    )


def test_qasm_partition_is_checked_as_ranges() -> None:
    # Reproducer: --partition 0-1:2-99999999999 filled memory for 16 s.
    with pytest.raises(
        ValueError, match="names qubit 99,999,999,999, more than the limit of 1,000,000"
    ):
        parse_partition("0-1:2-99999999999")
    with pytest.raises(ValueError, match=r"names qubit\(s\) 4-99999999999, but the circuit has 4"):
        parse_partition("0-1:2-99999999999", 4)
    with pytest.raises(ValueError, match="names qubit 9999999999999999"):
        count_cross_partition_gates(f"{QASM}qreg q[2];\n", "0:1-" + "9" * 30)


def test_qasm_gate_definitions_are_counted_not_materialised() -> None:
    # Reproducer: 40 levels of gates calling the previous one twice: MemoryError after
    # 27 s. Counted, it is 2^40 crossing CNOTs, exactly.
    lines = ["gate g0 a, b { cx a, b; }"]
    lines += [f"gate g{i} a, b {{ g{i - 1} a, b; g{i - 1} b, a; }}" for i in range(1, 41)]
    counts = count_cross_partition_gates(
        QASM + "\n".join(lines) + "\nqreg q[2];\ng40 q[0], q[1];\n", "0:1"
    )
    assert counts.cross_two_qubit_gates == 2**40
    assert counts.cross_by_gate == {"g40": 2**40}
    # Beyond the limit it is refused at the definition that crosses it.
    more = [f"gate g{i} a, b {{ g{i - 1} a, b; g{i - 1} b, a; }}" for i in range(41, 60)]
    message = qasm_error("\n".join(lines + more) + "\n")
    assert re.match(r"c\.qasm:\d+:6: gate 'g50' expands to 1\.13e\+15 gates, more than", message)


def test_qasm_applications_and_size_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QCALC_MAX_QASM_APPLICATIONS", "10")
    assert "needs more than 10 gate applications" in qasm_error("qreg q[20];\nh q;\n")
    monkeypatch.setenv("QCALC_MAX_QASM_REGISTERS", "3")
    assert "limit of 3 registers" in qasm_error("qreg a[1];\nqreg b[1];\ncreg c[1];\nqreg d[1];\n")
    monkeypatch.setenv("QCALC_MAX_QASM_BYTES", "20")
    assert "more than the limit of 20 bytes" in qasm_error("qreg q[1];\n")


def test_many_registers_parse_in_one_pass() -> None:
    # Reproducer: time grew quadratically in the number of registers (100k: > 60 s).
    n = 50_000
    text = QASM + "".join(f"qreg r{i}[1];\n" for i in range(n)) + f"cx r0[0], r{n - 1}[0];\n"
    start = time.perf_counter()
    circuit = parse_qasm(text)
    assert time.perf_counter() - start < 30.0  # hang guard
    assert circuit.num_qubits == n and circuit.qubit_label(n - 1) == f"r{n - 1}[0]"


def test_qasm_file_is_read_like_a_scenario(tmp_path: Path) -> None:
    qasm = tmp_path / "big.qasm"
    qasm.write_bytes(b"\xff\xfe")
    result = run("budget", "circuit", "--qasm", str(qasm), "--partition", "0:1")
    assert result.exit_code == 2 and "is not UTF-8 text (byte 0)" in result.stderr


# ============================================================================ 6. linear


def test_a_long_chain_routes_and_looks_up_hops_once(tmp_path: Path) -> None:
    # Reproducer: best_link scanned every link for every hop (10^4 segments: minutes).
    from qcalc.network import demand_route, hop_budgets

    n = 10_000
    nodes = "".join(f"  r{i}: {{role: trusted_relay}}\n" for i in range(1, n))
    names = ["a", *(f"r{i}" for i in range(1, n)), "b"]
    links = "".join(
        f"  - {{ends: [{x}, {y}], length_km: 1}}\n" for x, y in zip(names, names[1:], strict=False)
    )
    text = f"qcalc: 1\nnodes:\n  a: {{}}\n{nodes}  b: {{}}\nlinks:\n{links}demands:\n  - {{ends: [a, b]}}\n"
    start = time.perf_counter()
    scenario = parse_scenario(text)
    route = demand_route(scenario, scenario.demands[0])
    hops = hop_budgets(scenario, route)
    assert time.perf_counter() - start < 60.0  # hang guard
    assert len(route) == n + 1 and len(hops) == n


def test_sweep_arguments_are_checked_before_the_grid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qcalc.sweeps

    def no_grid(varies: Any) -> Any:
        raise AssertionError("the grid was evaluated")

    monkeypatch.setattr(qcalc.sweeps, "_grid", no_grid)
    metro = str(ROOT / "scenarios" / "metro-fibre.yaml")
    vary = "links.alice-bob.length_km=1:100:1000000"
    result = run("sweep", metro, "--vary", vary, "--metric", "protocol:tf-qkd")
    assert result.exit_code == 2
    assert "--metric 'protocol:tf-qkd': tf-qkd gives no end-to-end key rate" in result.stderr
    wide = run("sweep", metro, "--vary", "links.alice-bob.length_km=1e308:-1e308:10")
    assert wide.exit_code == 2
    assert "the range from 1e+308 to -1e+308 is wider than the largest number" in wide.stderr
    grid = run("sweep", metro, "--vary", vary, "--vary", "links.alice-bob.extra_loss_db=0:1:2")
    assert (
        grid.exit_code == 2 and "the grid has 2,000,000 points, more than the limit" in grid.stderr
    )
    chain = str(ROOT / "scenarios" / "repeater-chain-1000km.yaml")
    slow = run("sweep", chain, "--vary", "links.paris-r1.length_km=1:100:5000")
    assert slow.exit_code == 2
    assert (
        "runs through repeaters and the grid has 5,000 points, more than the limit of 2,000"
        in slow.stderr
    )


# ============================================================================ 7. signals


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.update(int(c) for c in (task / "children").read_text().split())
        except OSError:
            pass
    return found


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs /proc (Linux)")
def test_sigterm_stops_every_batch_worker(tmp_path: Path) -> None:
    # Reproducer: SIGTERM to `batch --jobs 4` orphaned its workers for minutes.
    n = 3_000  # a trusted chain of this many hops keeps a worker busy for seconds
    nodes = "".join(
        f"  r{i}: {{role: trusted_relay, source: {{kind: weak_coherent, repetition_rate_hz: 1.0e9}}, "
        "detector: {efficiency: 0.5}}\n"
        for i in range(1, n)
    )
    names = ["a", *(f"r{i}" for i in range(1, n)), "b"]
    links = "".join(
        f"  - {{ends: [{x}, {y}], length_km: 1}}\n" for x, y in zip(names, names[1:], strict=False)
    )
    text = (
        "qcalc: 1\nnodes:\n  a: {source: {kind: weak_coherent, repetition_rate_hz: 1.0e9}}\n"
        f"{nodes}  b: {{detector: {{efficiency: 0.5}}}}\nlinks:\n{links}demands:\n  - {{ends: [a, b]}}\n"
    )
    for i in range(8):
        write(tmp_path, f"slow{i}.yaml", text)
    report = tmp_path / "report.xml"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "qcalc",
            "batch",
            str(tmp_path),
            "--jobs",
            "4",
            "-f",
            "junit",
            "-o",
            str(report),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        workers: set[int] = set()
        deadline = time.monotonic() + HANG_GUARD_S
        while len(workers) < 4 and time.monotonic() < deadline and process.poll() is None:
            workers |= _children(process.pid)
            time.sleep(0.02)
        assert len(workers) >= 4, "the workers never started"
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=HANG_GUARD_S)
    finally:
        process.kill()
    assert process.returncode == 128 + signal.SIGTERM, err
    assert re.search(
        r"qcalc: interrupted \(SIGTERM\) after \d+ of 8 files; every worker was stopped", err
    )
    assert "Traceback" not in err
    deadline = time.monotonic() + HANG_GUARD_S
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers), "a worker outlived the command"
    assert not report.exists()


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs /proc (Linux)")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_a_signal_stops_a_sweep_and_its_workers(tmp_path: Path, sig: signal.Signals) -> None:
    # A streamed sweep of this size runs in worker processes; typer turned any interrupt
    # into a silent exit 130, SIGTERM included.
    scenario = str(write(tmp_path, "s.yaml"))
    out = tmp_path / "out.csv"
    cmd = [sys.executable, "-m", "qcalc", "sweep", scenario, "--vary"]
    cmd += ["links.alice-bob.length_km=0:300:50000000", "-f", "csv", "-o", str(out)]
    env = {**os.environ, "QCALC_MAX_SWEEP_POINTS": "50000000"}
    process = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
    try:
        workers: set[int] = set()
        deadline = time.monotonic() + HANG_GUARD_S
        while len(workers) < 2 and time.monotonic() < deadline and process.poll() is None:
            workers |= _children(process.pid)
            time.sleep(0.02)
        assert len(workers) >= 2, "the workers never started"
        process.send_signal(sig)
        _, err = process.communicate(timeout=HANG_GUARD_S)
    finally:
        process.kill()
    assert process.returncode == 128 + sig, err
    assert f"qcalc: interrupted ({sig.name})" in err and "Traceback" not in err
    deadline = time.monotonic() + HANG_GUARD_S
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers), "a worker outlived the command"
    assert not out.exists()


# ============================================================================ 8. properties

#: Names a scenario may use: printable, with every character that means something to
#: Markdown, CSV, XML, shells or CI logs.
NAME_ALPHABET = st.characters(
    blacklist_categories=("Cc", "Cs", "Cn", "Zl", "Zp"),
    blacklist_characters="\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
)
HOSTILE_NAME = st.one_of(
    st.sampled_from(HOSTILE_NAMES),
    st.text(NAME_ALPHABET, min_size=1, max_size=24).filter(lambda s: s.strip()),
    st.builds(
        lambda a, b: f"{a}{b}",
        st.sampled_from(["::", "##[", "=", "|", "<", "[", "-"]),
        st.text(NAME_ALPHABET, max_size=12),
    ),  # fmt: skip
)


@pytest.fixture(scope="module")
def evaluated() -> dict[str, Any]:
    """One evaluated scenario's JSON (names are then replaced: rendering is the subject)."""
    data = json.loads(
        run("stage", str(ROOT / "scenarios" / "metro-fibre.yaml"), "-f", "json").stdout
    )
    assert data["demands"]
    return data


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    names=st.lists(HOSTILE_NAME, min_size=1, max_size=4),
    files=st.lists(
        st.text(
            NAME_ALPHABET | st.sampled_from(["\n", "\x1b", "\x00", "\udcff"]),
            min_size=1,
            max_size=16,
        ),
        min_size=1,
        max_size=3,
    ),
    failed=st.booleans(),
)
def test_every_batch_format_stays_well_formed_for_any_name(
    evaluated: dict[str, Any], names: list[str], files: list[str], failed: bool
) -> None:
    results = []
    for i, file in enumerate(files):
        data = json.loads(json.dumps(evaluated))
        data["scenario"] = names[i % len(names)]
        data["file"] = file
        demand = data["demands"][0]
        demand["name"] = names[-1]
        demand["path"] = names
        if failed:
            demand["expect"] = {"passed": False, "checks": [
                {"field": "key_rate_bps", "op": ">=", "want": 1e12, "got": 1.0, "passed": False}]}  # fmt: skip
        results.append(batch_module.FileResult(file, data=data))
    results.append(batch_module.FileResult(files[0], error=f"{files[0]}: {names[0]}: broken"))
    junit = outputs.safe_for(batch_module.to_junit(results))
    root = ET.fromstring(junit.split("\n", 1)[1])
    assert len(root.findall("testsuite")) == len(results)
    table = markdown_table_rows(outputs.safe_for(batch_module.to_markdown(results)))
    assert all(len(r) == len(batch_module.BATCH_COLUMNS) for r in table)
    assert len(table) == 2 + len(results)
    rows = list(csv.reader(io.StringIO(outputs.safe_for(batch_module.to_csv(results)))))
    assert len(rows) == 1 + len(results) and all(
        len(r) == len(batch_module.CSV_COLUMNS) for r in rows
    )
    text = outputs.safe_for(
        json.dumps(batch_module.to_json_data(results), indent=2, ensure_ascii=False)
    )
    assert json.loads(text)["scenarios"][0]["scenario"] == names[0]
    for rendered in (junit, text, outputs.safe_for(batch_module.to_csv(results)),
                     outputs.safe_for(batch_module.to_markdown(results))):  # fmt: skip
        no_workflow_command(rendered)
        rendered.encode("utf-8")  # no lone surrogate is left to break the encoding


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(name=HOSTILE_NAME, node=HOSTILE_NAME)
def test_hostile_names_load_and_come_out_as_written(name: str, node: str) -> None:
    # Every name without a control character is accepted and comes back unchanged.
    if node == "alice":
        return
    scenario = parse_scenario(hostile_scenario(name, ">= 0", node), "h.yaml")
    assert scenario.name == name and node in scenario.nodes
    assert scenario.demands[0].name == name and scenario.links[0].ends == ("alice", node)


def allowed(table: dict[str, Any], name: str) -> st.SearchStrategy[float]:
    """A value field ``name`` accepts, from the field table itself: its edges (the
    smallest and largest allowed), a point between them, or an ordinary value."""
    spec = table[name]
    lo = spec.minimum if spec.minimum is not None else 0.0
    hi = spec.maximum if spec.maximum is not None else 1e12
    low = float(np.nextafter(lo, np.inf)) if spec.exclusive_minimum else float(lo)
    middle = float(np.sqrt(max(low, 1e-300) * hi)) if low > 0 else hi / 2
    values = [low, float(hi), middle]
    if spec.kind == "integer":
        values = [int(np.ceil(v)) for v in values]
    return st.sampled_from(values)


@st.composite
def topologies(draw: Any) -> dict[str, Any]:
    """A valid scenario: a star, a ring, a chain with parallel links or an explicit path,
    hostile names, and numbers at the edges of what each field allows (read from the
    field tables, so the strategy follows the format)."""
    from qcalc.scenario import LINK_FIELDS, PROFILE_FIELDS

    shape = draw(st.sampled_from(["star", "ring", "parallel", "path"]))
    names = draw(st.lists(HOSTILE_NAME, min_size=3, max_size=5, unique=True))
    role = draw(st.sampled_from(["trusted_relay", "repeater", "untrusted_relay"]))
    source_fields, detector_fields = PROFILE_FIELDS["source"], PROFILE_FIELDS["detector"]
    memory_fields = PROFILE_FIELDS["memory"]

    def pick(table: dict[str, Any], name: str, ordinary: float) -> float:
        return draw(st.one_of(allowed(table, name), st.just(ordinary)))

    def node(kind: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "role": kind,
            "source": {
                "kind": "weak_coherent",
                "repetition_rate_hz": pick(source_fields, "repetition_rate_hz", 1e9),
            },
            "detector": {
                "efficiency": pick(detector_fields, "efficiency", 0.5),
                "dark_count_probability": pick(detector_fields, "dark_count_probability", 1e-6),
            },
        }
        if kind == "repeater" or draw(st.booleans()):
            body["memory"] = {
                "coherence_time_s": pick(memory_fields, "coherence_time_s", 1.0),
                "efficiency": pick(memory_fields, "efficiency", 0.9),
            }
        if kind == "repeater":
            body["bsm_success_probability"] = draw(st.sampled_from([0.5, 1.0, 1e-300]))
        return body

    hub, ends = names[0], names[1:]
    if shape == "star":
        nodes = {hub: node(role), **{n: node("end") for n in ends}}
        pairs = [(hub, n) for n in ends]
        demand_ends = [ends[0], ends[1]]
    else:
        nodes = {
            names[0]: node("end"),
            **{n: node(role) for n in names[1:-1]},
            names[-1]: node("end"),
        }
        pairs = list(zip(names, names[1:], strict=False))
        if shape == "ring":
            pairs.append((names[-1], names[0]))
        if shape == "parallel":
            pairs.append(pairs[0])
        demand_ends = [names[0], names[-1]]
    links = [
        {
            "name": f"{a}~{b}~{i}",
            "ends": [a, b],
            "length_km": pick(LINK_FIELDS, "length_km", 50.0),
            "attenuation_db_per_km": pick(LINK_FIELDS, "attenuation_db_per_km", 0.2),
            "misalignment_error": pick(LINK_FIELDS, "misalignment_error", 0.01),
        }
        for i, (a, b) in enumerate(pairs)
    ]
    demand: dict[str, Any] = {
        "name": names[-1],
        "ends": demand_ends,
        "application": draw(st.sampled_from(["qkd", "entanglement", "teleportation"])),
        "expect": {"stage": ">= 0"},
    }
    if shape == "path":
        demand["path"] = names
    return {"qcalc": 1, "name": names[0], "nodes": nodes, "links": links, "demands": [demand]}


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(doc=topologies())
def test_valid_topologies_with_hostile_names_reach_the_models(doc: dict[str, Any]) -> None:
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    try:
        scenario = parse_scenario(text, "fuzz.yaml")
        results = evaluate_scenario(scenario)
    except QcalcError as exc:  # a physics refusal (e.g. a source the hop cannot use)
        assert_good_error(exc, "fuzz.yaml")
        event("refused")
        return
    event("evaluated")
    for result in results:
        assert_sane_demand(demand_dict(result))
    data = scenario_dict(scenario, results)
    assert_sane_json(json.loads(json.dumps(data, allow_nan=False)))
    assert (
        data["scenario"] == doc["name"] and data["demands"][0]["name"] == doc["demands"][0]["name"]
    )
    rendered = [batch_module.FileResult("fuzz.yaml", data=data)]
    root = ET.fromstring(outputs.safe_for(batch_module.to_junit(rendered)).split("\n", 1)[1])
    assert root.find("testsuite").get("name") == outputs.xml_value(doc["name"])
    for text_out in (batch_module.to_csv(rendered), batch_module.to_markdown(rendered)):
        no_workflow_command(outputs.safe_for(text_out))
