"""Peak memory of a command and every process it starts, for the bench scripts.

The kernel's peak for a child (``wait4``'s ``ru_maxrss``) is not enough here: it is the
largest single process, not the sum over a command's worker processes, and Linux carries
a parent's peak into a child across fork and exec, so a child started by a bench that
already holds a large report reports the bench's peak, not its own.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Sequence


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, summed (Linux /proc). [MB]"""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/status", encoding="ascii") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as handle:
                    stack += [int(c) for c in handle.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1024


def run_measured(
    cmd: Sequence[str], env: dict[str, str] | None = None, cwd: str | None = None
) -> tuple[int, float, float, float, bytes]:
    """Run ``cmd``: its exit code, wall time [s], CPU time of it and its children [s],
    the largest sum of their resident memory sampled every 20 ms [MB], and its stderr."""
    start = time.perf_counter()
    process = subprocess.Popen(cmd, env=env, cwd=cwd, stderr=subprocess.PIPE)
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        # Not process.poll(): it would reap the child before os.wait4 reads its usage.
        while not done.wait(0.02):
            peak[0] = max(peak[0], tree_rss_mb(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    stderr = process.stderr.read() if process.stderr is not None else b""
    cpu = usage.ru_utime + usage.ru_stime
    return os.waitstatus_to_exitcode(status), seconds, cpu, peak[0], stderr
