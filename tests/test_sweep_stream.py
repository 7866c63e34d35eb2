"""Streamed sweeps: chunk by chunk the same rows, byte for byte, as the sweep held in
memory; reductions equal numpy's over the whole grid; numbers as text equal ``repr``."""

from __future__ import annotations

import io
import json
import math
import struct
import subprocess
import sys

import numpy as np
import pytest
from conftest import SCENARIOS
from hypothesis import given, settings
from hypothesis import strategies as st

from qcalc.cli import app
from qcalc.errors import UsageError
from qcalc.outputs import text_rows
from qcalc.scenario import load_scenario
from qcalc.sweeps import (
    CsvWriter,
    JsonLinesWriter,
    Reducer,
    Vary,
    _spaced,
    parse_reduce,
    parse_vary,
    run_sweep,
    stream_sweep,
)

METRO = str(SCENARIOS / "metro-fibre.yaml")
LENGTH = "links.alice-bob.length_km"
EFFICIENCY = "hardware.detectors.snspd.efficiency"
GRID = [f"{LENGTH}=0:250:37", f"{EFFICIENCY}=0.2:0.9:4"]


def streamed(
    writer_type: type[CsvWriter], chunk: int, metrics: list[str], workers: int | None = None
) -> bytes:
    buffer = io.BytesIO()
    varies = [parse_vary(v) for v in GRID]
    writer = writer_type(buffer.write)
    stream_sweep(METRO, varies, metrics, None, writer, chunk_points=chunk, workers=workers)
    return buffer.getvalue()


@pytest.mark.parametrize("chunk", [19, 37, 10_000])
def test_streamed_csv_is_the_in_memory_csv_byte_for_byte(chunk):
    metrics = ["key_rate_bps", "stage", "loss_db"]
    memory = run_sweep(METRO, [parse_vary(v) for v in GRID], metrics).to_csv()
    assert streamed(CsvWriter, chunk, metrics) == memory.encode()


def test_a_sweep_in_worker_processes_is_the_in_memory_csv_byte_for_byte():
    # Large sweeps run in one process per core by default; the bytes are the same.
    metrics = ["key_rate_bps", "stage", "loss_db"]
    memory = run_sweep(METRO, [parse_vary(v) for v in GRID], metrics).to_csv()
    assert streamed(CsvWriter, 17, metrics, workers=2) == memory.encode()
    reducer = Reducer([parse_reduce("argmax:key_rate_bps")], group_by=EFFICIENCY)
    varies = [parse_vary(v) for v in GRID]
    stream_sweep(METRO, varies, metrics, None, reducer, chunk_points=23, workers=2)
    alone = Reducer([parse_reduce("argmax:key_rate_bps")], group_by=EFFICIENCY)
    stream_sweep(METRO, varies, metrics, None, alone, chunk_points=23, workers=1)
    assert reducer.result().to_csv() == alone.result().to_csv()


def test_a_writer_that_fails_stops_the_workers_at_once():
    # The error reaches the caller with every worker process already gone, not when the
    # exception (which holds the sweep's frames) is collected.
    import multiprocessing

    class Full(CsvWriter):
        def add(self, encoded: bytes) -> None:
            raise OSError("No space left on device")

    varies = [parse_vary(v) for v in GRID]
    try:
        stream_sweep(METRO, varies, ["key_rate_bps"], None, Full(io.BytesIO().write),
                     chunk_points=7, workers=2)  # fmt: skip
    except OSError as exc:
        caught = exc  # kept alive, with its traceback, while the workers are counted
        assert multiprocessing.active_children() == []
    assert "No space" in str(caught)


STOP_EARLY = """\
from qcalc.distributed import process_map

def big(shared, i):
    return bytes(30_000_000)  # a result far larger than a pipe's buffer

if __name__ == "__main__":
    results = process_map(big, None, ((i,) for i in range(100)), 2)
    next(results)
    results.close()  # stops the workers, most likely while one is sending
    print("stopped")
"""


def test_stopping_workers_while_they_send_large_results_does_not_hang(tmp_path):
    # Killed mid-send, a worker left the pool's thread reading half a message from a
    # pipe this process kept open: the interrupted sweep waited forever (5 times in 5).
    script = tmp_path / "stop_early.py"
    script.write_text(STOP_EARLY, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "stopped", done.stderr


def test_streamed_json_lines_are_the_in_memory_columns_point_for_point():
    metrics = ["key_rate_bps", "stage"]
    memory = run_sweep(METRO, [parse_vary(v) for v in GRID], metrics)
    rows = [json.loads(line) for line in streamed(JsonLinesWriter, 29, metrics).splitlines()]
    assert len(rows) == memory.points
    for name, column in memory.columns.items():
        assert [r[name] for r in rows] == column.tolist()


def test_a_loaded_scenario_sweeps_like_its_file():
    varies = [parse_vary(v) for v in GRID]
    from_file = run_sweep(METRO, varies, ["key_rate_bps"]).to_csv()
    assert run_sweep(load_scenario(METRO), varies, ["key_rate_bps"]).to_csv() == from_file


@settings(max_examples=60, deadline=None)
@given(
    start=st.floats(-1e6, 1e6, allow_nan=False),
    stop=st.floats(-1e6, 1e6, allow_nan=False),
    num=st.integers(1, 3000),
    log=st.booleans(),
)
def test_values_of_a_chunk_are_numpys_bit_for_bit(start, stop, num, log):
    if log:
        start, stop = abs(start) + 1e-3, abs(stop) + 1e-3
    whole = np.geomspace(start, stop, num) if log else np.linspace(start, stop, num)
    index = np.arange(num)
    np.testing.assert_array_equal(_spaced(start, stop, num, log, index), whole)
    lazy = Vary("f", log=log, span=(start, stop, num))
    np.testing.assert_array_equal(lazy.values, whole)


def _doubles() -> st.SearchStrategy[float]:
    """Every kind of double: any bit pattern, round numbers, powers of ten and two."""
    bits = st.integers(0, 2**64 - 1).map(lambda b: struct.unpack("<d", struct.pack("<Q", b))[0])
    decimal = st.integers(-(10**17), 10**17).flatmap(
        lambda m: st.integers(-330, 310).map(lambda e: float(f"{m}e{e}"))
    )
    return st.one_of(bits, decimal, st.floats(), st.sampled_from([0.0, -0.0, 1e16, 1e-5, 5e-324]))


@settings(max_examples=50, deadline=None)
@given(st.lists(_doubles(), min_size=1, max_size=200), st.lists(st.integers(-(2**63), 2**63 - 1)))
def test_numbers_as_text_are_what_repr_and_str_write(floats, ints):
    values = np.array(floats, dtype=float)
    text = text_rows([values], [b""], b"\n").decode()
    assert text == "".join(f"{v!r}\n" for v in floats)
    if ints:
        whole = np.array(ints, dtype=np.int64)
        assert text_rows([whole], [b"<"], b">").decode() == "".join(f"<{i}>" for i in ints)


def test_numbers_that_need_care_are_written_as_repr_writes_them():
    tricky = [
        0.1, 1 / 3, 2 / 3, 1e15, 1e16, 9.999999999999999e15, 0.0001, 0.00001, 1e22, 1e23,
        5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 123456789012345678.0,
        math.pi, -math.e, 0.5, 100.0, 1e100, 1.5e-300, float("inf"), float("nan"),
    ]  # fmt: skip
    rng = np.random.default_rng(3)
    values = np.concatenate([tricky, rng.random(5000) * 10.0 ** rng.integers(-20, 20, 5000)])
    text = text_rows([values, -values], [b"", b","], b"\n").decode()
    assert text == "".join(f"{v!r},{-v!r}\n" for v in values.tolist())


def test_powers_of_two_whose_gap_below_is_half_the_gap_above_are_written_as_repr():
    # At a power of two the nearest shorter decimal may lie outside the (narrower) gap
    # below while a farther one above reads back: repr writes 6.310887241768095e-30 for
    # 2**-97, not the nearer 6.3108872417680944e-30 (found in 1 of 250 powers of two).
    powers = np.ldexp(1.0, np.arange(-1022, 1024))
    values = np.concatenate([powers, np.nextafter(powers, 0.0), 10.0 ** np.arange(-300, 300)])
    values = values[np.isfinite(values)]
    text = text_rows([values], [b""], b"\n").decode()
    assert text == "".join(f"{v!r}\n" for v in values.tolist())


def test_reductions_equal_numpy_over_the_whole_grid():
    metrics = ["key_rate_bps", "stage"]
    varies = [parse_vary(v) for v in GRID]
    memory = run_sweep(METRO, varies, metrics).columns
    reducer = Reducer(
        [
            parse_reduce("argmax:key_rate_bps"),
            parse_reduce("min:key_rate_bps"),
            parse_reduce("hist:stage:0:6:6"),
        ],
        group_by=EFFICIENCY,
    )
    stream_sweep(METRO, varies, metrics, None, reducer, chunk_points=13)
    got = reducer.result().columns
    key = memory["key_rate_bps"].reshape(37, 4)
    lengths = memory[LENGTH].reshape(37, 4)
    np.testing.assert_array_equal(got[EFFICIENCY], varies[1].values)
    np.testing.assert_array_equal(got["max(key_rate_bps)"], key.max(axis=0))
    np.testing.assert_array_equal(got["min(key_rate_bps)"], key.min(axis=0))
    at = lengths[key.argmax(axis=0), np.arange(4)]  # numpy's argmax: the first maximum
    np.testing.assert_array_equal(got[f"{LENGTH} at max(key_rate_bps)"], at)
    stages = memory["stage"].reshape(37, 4)
    for column, count in enumerate(got["stage in [2, 3)"]):
        assert count == np.sum(stages[:, column] == 2)
    assert sum(got["stage in [0, 1)"]) + sum(got["stage in [2, 3)"]) == 37 * 4


def test_a_whole_grid_reduction_is_one_row():
    reducer = Reducer([parse_reduce("argmin:loss_db")])
    stream_sweep(METRO, [parse_vary(f"{LENGTH}=10:20:11")], ["loss_db"], None, reducer)
    result = reducer.result()
    assert result.columns["min(loss_db)"].tolist() == [3.0]  # 10 km × 0.2 dB/km + 1 dB
    assert result.columns[f"{LENGTH} at min(loss_db)"].tolist() == [10.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mean:key_rate_bps", "expected OP:METRIC with OP one of min, max, argmin, argmax"),
        ("max", "expected OP:METRIC"),
        ("max:key_rate", "unknown metric"),
        ("hist:stage:0:6", "bins: the range '0:6' is not START:STOP:NUM"),
        ("hist:stage:log:0:6:3", "bins: a log range needs START and STOP > 0"),
    ],
)
def test_bad_reductions_say_what_was_expected(text, message):
    with pytest.raises(UsageError, match=None) as info:
        parse_reduce(text)
    assert message in str(info.value)


def test_cli_csv_jsonl_and_parquet_stream_the_same_points(runner, tmp_path):
    args = ["sweep", METRO, "--vary", GRID[0], "--vary", GRID[1], "--metric", "stage"]
    memory = run_sweep(METRO, [parse_vary(v) for v in GRID], ["stage"])
    csv_run = runner.invoke(app, [*args, "-f", "csv"])
    assert csv_run.exit_code == 0, csv_run.stderr
    assert csv_run.stdout == memory.to_csv()
    lines = runner.invoke(app, [*args, "-f", "jsonl"])
    assert lines.exit_code == 0, lines.stderr
    assert [json.loads(x)["stage"] for x in lines.stdout.splitlines()] == (
        memory.columns["stage"].tolist()
    )
    pq = pytest.importorskip("pyarrow.parquet", reason="--format parquet needs pyarrow")
    target = tmp_path / "sweep.parquet"
    done = runner.invoke(app, [*args, "-f", "parquet", "-o", str(target)])
    assert done.exit_code == 0, done.stderr
    table = pq.read_table(target)
    assert table.column_names == [*GRID_FIELDS, "stage"]
    np.testing.assert_array_equal(table.column(LENGTH).to_numpy(), memory.columns[LENGTH])
    np.testing.assert_array_equal(table.column("stage").to_numpy(), memory.columns["stage"])


GRID_FIELDS = [LENGTH, EFFICIENCY]


def test_cli_reduce_groups_and_refuses_what_it_cannot_do(runner):
    args = ["sweep", METRO, "--vary", GRID[0], "--vary", GRID[1]]
    done = runner.invoke(
        app, [*args, "--reduce", "argmax:key_rate_bps", "--group-by", EFFICIENCY, "-f", "csv"]
    )
    assert done.exit_code == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header == (f"{EFFICIENCY},max(key_rate_bps),{LENGTH} at max(key_rate_bps)")
    assert len(rows) == 4
    table = runner.invoke(app, [*args, "--reduce", "max:key_rate_bps", "--wide"])
    assert table.exit_code == 0, table.stderr
    assert "reductions of the sweep of demand key" in table.stdout
    assert "max(key_rate_bps)" in table.stdout
    refusals = [
        (["--reduce", "max:stage"], "stage is not among the sweep's metrics"),
        (["--reduce", "max:key_rate_bps", "--group-by", "x"], "--group-by 'x': not a varied"),
        (["--group-by", LENGTH], "--group-by groups the rows of --reduce"),
        (["--reduce", "max:key_rate_bps", "-f", "jsonl"], "--format jsonl is for points"),
        (["-f", "csv", "--explain"], "--explain prints the derivation of a sweep held in"),
        (["-f", "parquet"], "--format parquet writes a file: give --output"),
        (["-f", "csv", "--scheduler", "local:0"], "N is 0; expected 1 to 1024 workers"),
        (["-f", "csv", "--scheduler", "here"], "expected local:N (N worker processes here)"),
        (["--scheduler", "local:2"], "--scheduler streams the points"),
    ]
    for extra, message in refusals:
        result = runner.invoke(app, [*args, *extra])
        assert result.exit_code == 2, (extra, result.stdout)
        assert message in result.stderr, (extra, result.stderr)
        assert "Traceback" not in result.stderr


@settings(max_examples=12, deadline=None)
@given(
    lengths=st.integers(1, 9),
    efficiencies=st.integers(1, 4),
    chunk=st.integers(4, 40),
    # Not plob_bps: where no protocol gives key, a grid held whole takes the repetition
    # rate of the protocol that wins elsewhere in it, a chunk without key anywhere takes
    # none (0 bit/s, as a scalar evaluation of the point does) — qcalc.stage.select_key_rate.
    metrics=st.lists(
        st.sampled_from(["key_rate_bps", "stage", "loss_db", "pair_rate_hz", "fidelity"]),
        min_size=1,
        max_size=3,
        unique=True,
    ),
)
def test_any_chunking_streams_the_in_memory_sweep(lengths, efficiencies, chunk, metrics):
    varies = [
        parse_vary(f"{LENGTH}=log:1:400:{lengths}"),
        parse_vary(f"{EFFICIENCY}=0.05:1:{efficiencies}"),
    ]
    memory = run_sweep(METRO, varies, metrics).to_csv().encode()
    buffer = io.BytesIO()
    stream_sweep(METRO, varies, metrics, None, CsvWriter(buffer.write), chunk_points=chunk)
    assert buffer.getvalue() == memory
