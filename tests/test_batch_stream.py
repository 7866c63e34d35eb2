"""`qcalc batch` streams its results: every report is byte for byte the one built from
every full result held in memory, with one process or several, and the summary is
counted as the results arrive."""

from __future__ import annotations

import pytest
from conftest import MINIMAL
from hypothesis import given, settings
from hypothesis import strategies as st

from qcalc import batch as b
from qcalc import report
from qcalc.cli import app

PASSING = MINIMAL.replace(
    "- {ends: [alice, bob]}", "- {ends: [alice, bob], expect: {stage: '>= 1'}}"
)
FAILING = MINIMAL.replace(
    "- {ends: [alice, bob]}", "- {ends: [alice, bob], expect: {key_rate_bps: '>= 1e12'}}"
)
BROKEN = MINIMAL.replace("length_km: 10", "length_km: ten")
EMPTY = "qcalc: 1\nnodes: {a: {}}\nlinks: []\n"


@pytest.fixture
def folder(tmp_path):
    for i, text in enumerate([PASSING, FAILING, BROKEN, EMPTY, PASSING, FAILING, PASSING]):
        (tmp_path / f"s{i}.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def held(folder) -> list[b.FileResult]:
    """Every full result, as the reports were built before they streamed."""
    files = sorted(str(p) for p in folder.glob("*.yaml"))
    return [b.evaluate_file(f) for f in files]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_json_and_csv_stream_the_report_of_every_result_held(runner, folder, jobs):
    results = held(folder)
    want = {
        "json": report.to_json(b.to_json_data(results)) + "\n",
        "csv": b.to_csv(results),
    }
    for fmt, text in want.items():
        done = runner.invoke(app, ["batch", str(folder), "-f", fmt, "--jobs", jobs])
        assert done.exit_code == 2, done.stderr  # the broken file
        assert done.stdout == text, fmt
        assert done.stderr.count("qcalc: error:") == sum(r.error is not None for r in results)


def test_slim_results_give_every_other_report_unchanged(folder):
    results = held(folder)
    slim = [r for r, _ in b.iter_batch(sorted(str(p) for p in folder.glob("*.yaml")))]
    assert b.to_csv(slim) == b.to_csv(results)
    assert b.to_junit(slim) == b.to_junit(results)
    assert b.to_markdown(slim) == b.to_markdown(results)
    table, slim_table = (
        report.render_plain([report.batch_table(r, b.summary_line(r))], 100)
        for r in (results, slim)
    )
    assert slim_table == table
    assert all(
        len(repr(s.data)) < len(repr(r.data)) / 4
        for s, r in zip(slim, results, strict=True)
        if r.data
    )


def test_a_batch_of_missing_files_only_is_a_json_report(runner, tmp_path):
    done = runner.invoke(app, ["batch", str(tmp_path / "nowhere.yaml"), "-f", "json"])
    assert done.exit_code == 2
    results = [b.FileResult(str(tmp_path / "nowhere.yaml"), error="x")]
    assert '"files": 1' in done.stdout and '"errors": 1' in done.stdout
    assert done.stdout.count('"error":') == len(results)


def test_an_empty_report_joins_as_json_dumps_it():
    head, tail, empty = b.json_report_parts(b.Tally().summary())
    assert empty == report.to_json(b.to_json_data([]))
    assert head.endswith('"scenarios": [\n') and tail.endswith("]\n}")


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.booleans(), st.lists(st.booleans(), max_size=4)),
        max_size=12,
    )
)
def test_the_counted_summary_is_the_summary_of_every_result(files):
    results = []
    for i, (broken, internal, passes) in enumerate(files):
        if broken:
            results.append(b.FileResult(f"f{i}", error="bad", internal=internal))
            continue
        demands = [{"expect": {"passed": p}} for p in passes]
        results.append(b.FileResult(f"f{i}", data={"scenario": "s", "demands": demands}))
    tally = b.Tally()
    for r in results:
        tally.add(r)
    old = b.Summary(
        files=len(results),
        errors=sum(r.error is not None for r in results),
        demands=sum(len(r.demands) for r in results),
        passed=sum(d["expect"]["passed"] for r in results for d in r.demands),
        failed=sum(not d["expect"]["passed"] for r in results for d in r.demands),
        internal=sum(r.internal for r in results),
    )
    assert tally.summary() == old == b.summarise(results)
