"""Work beyond one process: tasks run in order here, or on a Dask cluster, same results.

``qcalc sweep … --scheduler ADDRESS`` and ``qcalc batch … --scheduler ADDRESS`` hand
their chunks (a range of grid points, a group of scenario files) to
:func:`ordered_map`, which yields each chunk's result in submission order, whatever order
the workers finish in: the output is built exactly as a local run builds it, byte for
byte. ADDRESS is

- ``local:N`` — a ``dask.distributed.LocalCluster`` of N worker processes (one thread
  each) on this machine, started for the command and stopped after it;
- ``tcp://HOST:PORT`` (or ``tls://…``) — the scheduler of a running cluster
  (``dask scheduler`` and ``dask worker tcp://HOST:PORT`` started beforehand; see
  docs/scale.md).

Dask is an optional extra (``pip install 'qcalc[dask]'``); it is imported only here and
only when a scheduler is asked for. At most :data:`WINDOW_PER_WORKER` tasks per worker
are in flight, so results wait in memory for a few chunks at most.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from qcalc.errors import UsageError

#: Tasks submitted ahead per worker: enough to keep every worker busy while the results
#: are written in order, few enough to bound the memory results wait in.
WINDOW_PER_WORKER = 3
#: How long a client waits to reach a scheduler. [s]
CONNECT_TIMEOUT_S = 10
_LOCAL = re.compile(r"local:(\d+)")
_REMOTE = re.compile(r"(tcp|tls|ucx|inproc)://\S+")
_FORM = "expected local:N (N worker processes here) or tcp://HOST:PORT (a running scheduler)"
INSTALL = "pip install 'qcalc[dask]'"


def check_scheduler(text: str) -> str:
    """The scheduler address, checked: ``local:N`` with 1 ≤ N ≤ 1024 or ``tcp://…``.

    Raises
    ------
    UsageError
        For any other text, naming what was expected.
    """
    text = text.strip()
    local = _LOCAL.fullmatch(text)
    if local:
        workers = int(local.group(1))
        if not 1 <= workers <= 1024:
            raise UsageError(f"--scheduler {text!r}: N is {workers}; expected 1 to 1024 workers")
        return text
    if _REMOTE.fullmatch(text):
        return text
    raise UsageError(f"--scheduler {text[:80]!r}: {_FORM}")


def require_dask() -> None:
    """Refuse a scheduler where Dask is not installed, naming the extra to install."""
    import importlib.util

    if importlib.util.find_spec("dask") is None or importlib.util.find_spec("distributed") is None:
        raise UsageError(
            "--scheduler runs on a Dask cluster, and Dask is not installed: " + INSTALL
        )


@contextmanager
def dask_client(address: str) -> Iterator[Any]:
    """A ``dask.distributed.Client`` for ``address`` (a LocalCluster for ``local:N``),
    closed (and the local cluster stopped) on the way out.

    Raises
    ------
    UsageError
        When Dask is not installed or the scheduler cannot be reached.
    """
    address = check_scheduler(address)
    require_dask()
    import importlib
    import logging

    distributed: Any = importlib.import_module("distributed")  # untyped
    Client, LocalCluster = distributed.Client, distributed.LocalCluster

    # The cluster's own log lines (ports, worker starts) are not the command's output.
    for name in ("distributed", "distributed.worker", "distributed.scheduler"):
        logging.getLogger(name).setLevel(logging.ERROR)
    local = _LOCAL.fullmatch(address)
    cluster: Any = None
    try:
        if local:
            cluster = LocalCluster(
                n_workers=int(local.group(1)),
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # any free port: 8787 may be taken
                silence_logs=logging.ERROR,
            )
            client = Client(cluster)
        else:
            client = Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise UsageError(
            f"--scheduler {address}: cannot reach the scheduler ({exc}); start one with "
            "'dask scheduler' and workers with 'dask worker ADDRESS' (docs/scale.md)"
        ) from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _workers(client: Any) -> int:
    info = client.scheduler_info()
    return max(1, len(info.get("workers", {})))


def ordered_map(
    fn: Callable[..., Any],
    shared: Any,
    tasks: Iterable[tuple[Any, ...]],
    scheduler: str | None = None,
) -> Generator[Any, None, None]:
    """``fn(shared, *task)`` for each task, yielded in the order of ``tasks``.

    Without ``scheduler`` the calls run here, one after another. With one, ``shared`` is
    sent to every worker once and the tasks run on the cluster, a few per worker at a
    time; each result is yielded as soon as it and every earlier one are done.
    """
    if scheduler is None:
        for task in tasks:
            yield fn(shared, *task)
        return
    with dask_client(scheduler) as client:
        yield from cluster_map(client, fn, shared, tasks)


def cluster_map(
    client: Any, fn: Callable[..., Any], shared: Any, tasks: Iterable[tuple[Any, ...]]
) -> Iterator[Any]:
    """:func:`ordered_map` on the cluster of ``client``: ``shared`` sent to every worker
    once, at most :data:`WINDOW_PER_WORKER` tasks a worker in flight, results in order."""
    [handle] = client.scatter([shared], broadcast=True)
    window = WINDOW_PER_WORKER * _workers(client)
    pending: deque[Any] = deque()
    source = iter(tasks)
    try:
        while True:
            while len(pending) < window:
                task = next(source, None)
                if task is None:
                    break
                pending.append(client.submit(fn, handle, *task, pure=False))
            if not pending:
                return
            future = pending.popleft()
            yield future.result()
            future.release()
    finally:
        for future in pending:
            future.cancel()


#: How often a worker process checks that its parent is alive. [s]
ORPHAN_CHECK_S = 0.5


def prepare_worker(parent: int) -> None:
    """Set up a local worker process: leave SIGINT to the parent (a terminal's Ctrl-C
    reaches the whole process group), die on SIGTERM, exit when the parent is gone, and
    keep freed arrays for the next task (:func:`keep_freed_memory`)."""
    import os
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def watch() -> None:
        while True:
            threading.Event().wait(ORPHAN_CHECK_S)
            try:  # the parent itself, not os.getppid(): a forkserver's child has another
                os.kill(parent, 0)
            except (ProcessLookupError, PermissionError):  # gone (or its number reused)
                os._exit(1)

    threading.Thread(target=watch, name="qcalc-orphan-check", daemon=True).start()
    keep_freed_memory()


def keep_freed_memory() -> None:
    """Let the C library keep freed arrays for the next chunk (glibc; elsewhere nothing).

    A streamed sweep makes and frees a few hundred arrays of about a megabyte a chunk.
    By default glibc hands each one to the kernel and back (mmap above 128 kB), so every
    page is faulted in anew: a third of the time spent writing a CSV row. Raising the
    mmap and trim thresholds keeps them in the heap, at the cost of holding the peak of
    one chunk's memory until the process ends (``bench/bench_sweep.py`` measures both).
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 * 2**20)  # glibc's largest (64-bit)
    mallopt(m_trim_threshold, 512 * 2**20)


def stop_workers(pool: Any) -> None:
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
    # A worker killed while it sent a result (a sweep's chunk is megabytes) leaves the
    # pool's thread reading half a message, which ends only when every write end of the
    # result pipe is closed; this process holds one. And the tasks not yet taken must not
    # be waited for. Released, the pool sees its workers gone, fails what was pending and
    # ends its thread; cancelling the futures first races with that (InvalidStateError in
    # Python 3.11).
    call_queue = getattr(pool, "_call_queue", None)
    if call_queue is not None:
        call_queue.cancel_join_thread()
    writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
    if writer is not None:
        writer.close()
    pool.shutdown(wait=True)


def process_map(
    fn: Callable[..., Any], shared: Any, tasks: Iterable[tuple[Any, ...]], workers: int
) -> Generator[Any, None, None]:
    """:func:`ordered_map` in ``workers`` local processes (started here, stopped after
    the last result, killed at once on an error or an interrupt): at most
    :data:`WINDOW_PER_WORKER` tasks a worker in flight, results in order."""
    import os
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(workers, initializer=prepare_worker, initargs=(os.getpid(),))
    pending: deque[Any] = deque()
    source = iter(tasks)
    try:
        while True:
            while len(pending) < WINDOW_PER_WORKER * workers:
                task = next(source, None)
                if task is None:
                    break
                pending.append(pool.submit(fn, shared, *task))
            if not pending:
                break
            yield pending.popleft().result()
    except BaseException:
        stop_workers(pool)
        raise
    pool.shutdown(wait=True)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system says)."""
    import os

    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def chunks_of(count: int, workers: int, most: int, least: int = 1) -> int:
    """A chunk size for ``count`` items over ``workers``: about eight chunks a worker,
    between ``least`` and ``most`` items each."""
    return max(least, min(most, math.ceil(count / max(1, workers * 8))))
