"""Sweeps and batches on a Dask cluster give the local output byte for byte.

One test starts a LocalCluster of two worker processes with ``--scheduler local:2``;
another reaches a running cluster by its ``tcp://`` address.
Without Dask installed the option names the extra to install and exits 2.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from conftest import SCENARIOS

from qcalc.cli import app

METRO = str(SCENARIOS / "metro-fibre.yaml")
EFFICIENCY = "hardware.detectors.snspd.efficiency"
SWEEP = [
    "sweep",
    METRO,
    "--vary",
    "links.alice-bob.length_km=0:250:301",
    "--vary",
    f"{EFFICIENCY}=0.2:0.9:3",
    "--metric",
    "key_rate_bps",
    "--metric",
    "stage",
]
HAS_DASK = importlib.util.find_spec("distributed") is not None
needs_dask = pytest.mark.skipif(
    not HAS_DASK, reason="Dask is not installed (pip install 'qcalc[dask]')"
)


@contextmanager
def running_cluster() -> Iterator[str]:
    """A cluster reached by its address, as one started with `dask scheduler`: two
    workers in threads of this process (processes are what local:2 tests)."""
    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        dashboard_address=":0",
    )
    try:
        yield str(cluster.scheduler_address)
    finally:
        cluster.close()


@needs_dask
def test_a_local_cluster_sweep_is_the_local_csv_byte_for_byte(runner):
    local = runner.invoke(app, [*SWEEP, "-f", "csv"])
    assert local.exit_code == 0, local.stderr
    cluster = runner.invoke(app, [*SWEEP, "-f", "csv", "--scheduler", "local:2"])
    assert cluster.exit_code == 0, cluster.stderr
    assert cluster.stdout_bytes == local.stdout_bytes
    assert local.stdout.count("\n") == 301 * 3 + 1


@needs_dask
def test_sweeps_and_batches_on_a_running_cluster_equal_the_local_run(runner, tmp_path):
    for name in ("metro-fibre", "gys-decoy-bb84", "micius-graz-2018"):
        shutil.copy(SCENARIOS / f"{name}.yaml", tmp_path / f"{name}.yaml")
    (tmp_path / "broken.yaml").write_text("qcalc: 1\nnodes: [\n", encoding="utf-8")
    runs = [
        [*SWEEP, "-f", "jsonl"],
        [*SWEEP, "--reduce", "argmax:key_rate_bps", "--group-by", EFFICIENCY, "-f", "csv"],
        [*SWEEP, "--reduce", "hist:key_rate_bps:log:1:1e9:9", "-f", "json"],
        ["batch", str(tmp_path), "-f", "json"],
        ["batch", str(tmp_path), "-f", "junit"],
    ]
    local = [runner.invoke(app, args) for args in runs]
    with running_cluster() as address:
        cluster = [runner.invoke(app, [*args, "--scheduler", address]) for args in runs]
    for args, here, there in zip(runs, local, cluster, strict=True):
        assert here.exit_code == there.exit_code, there.stderr
        assert here.exit_code in (0, 2)  # 2: the broken file of the batch
        assert there.stdout_bytes == here.stdout_bytes, args
        assert there.stderr == here.stderr


def test_an_unreachable_scheduler_is_a_usage_error(runner, monkeypatch):
    if not HAS_DASK:
        pytest.skip("Dask is not installed (pip install 'qcalc[dask]')")
    monkeypatch.setattr("qcalc.distributed.CONNECT_TIMEOUT_S", 1)
    result = runner.invoke(app, [*SWEEP, "-f", "csv", "--scheduler", "tcp://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "cannot reach the scheduler" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_dask_the_scheduler_names_the_extra(runner, monkeypatch):
    real = importlib.util.find_spec

    def hidden(name, *args, **kwargs):
        return None if name in ("dask", "distributed") else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", hidden)
    for args in ([*SWEEP, "-f", "csv"], ["batch", METRO]):
        result = runner.invoke(app, [*args, "--scheduler", "local:2"])
        assert result.exit_code == 2
        assert "pip install 'qcalc[dask]'" in result.stderr, result.stderr


def test_jobs_and_a_scheduler_are_not_both_given(runner):
    result = runner.invoke(app, ["batch", METRO, "--jobs", "2", "--scheduler", "local:2"])
    assert result.exit_code == 2
    assert "--jobs starts processes here and --scheduler runs on a cluster" in result.stderr
