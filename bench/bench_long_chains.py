"""Long chains (issue 14, item 6): `qcalc rate` and `qcalc stage` on 10⁴-hop routes.

Times each command on generated scenarios against `python -c "import numpy, yaml"`,
measured side by side in the same run (one baseline run before every timed run; the
ratio is to their median), as bench/startup.py does:

- a 10⁴-segment heralded repeater chain (1 km segments, memories at every node, a demand
  for entanglement that falls short of stage 3, so `stage` solves its levers);
- a 10⁴-hop trusted-relay chain (1 km hops, decoy BB84 on each), its demand met;
- the same chain with `expect: {key_rate_bps: ">= 1e9"}`: it falls short, and `stage`
  bisects the levers that reach it (about 30 evaluations of the whole chain);
- a 3,000-hop path (the repeater chain with the demand's `path` given): `stage`.

Run: python bench/bench_long_chains.py [--runs 1] [--hops 10000] [--path-hops 3000]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

REPEATER = """\
qcalc: 1
name: {hops}-segment repeater chain
hardware:
  memories:
    m: {{qubits: 1000, coherence_time_s: 1.0, efficiency: 0.9}}
  processors:
    qpu: {{physical_qubits: 10000, two_qubit_gate_error: 1.0e-3}}
defaults:
  memory: m
  attenuation_db_per_km: 0.2
  misalignment_error: 0.005
  memory_modes: 10
nodes:
  a: {{role: end, processor: qpu}}
{nodes}  b: {{role: end, processor: qpu}}
links:
{links}demands:
  - {{name: ab, ends: [a, b], application: entanglement{path}}}
"""

TRUSTED = """\
qcalc: 1
name: {hops}-hop trusted chain
hardware:
  detectors:
    ingaas: {{efficiency: 0.2, dark_count_probability: 1.0e-6}}
  sources:
    wcp: {{kind: weak_coherent, repetition_rate_hz: 1.0e9, decoy_photon_numbers: [0.1, 0.0]}}
defaults:
  source: wcp
  detector: ingaas
  attenuation_db_per_km: 0.2
  misalignment_error: 0.01
nodes:
  a: {{role: end}}
{nodes}  b: {{role: end}}
links:
{links}demands:
  - {{name: ab, ends: [a, b], application: qkd{expect}}}
"""


def scenario(template: str, hops: int, role: str, **extra: str) -> str:
    """``template`` filled with a chain a – r1 – … – b of ``hops`` 1 km hops."""
    names = ["a", *(f"r{i}" for i in range(1, hops)), "b"]
    nodes = "".join(f"  r{i}: {{role: {role}}}\n" for i in range(1, hops))
    links = "".join(
        f"  - {{ends: [{x}, {y}], length_km: 1}}\n" for x, y in zip(names, names[1:], strict=False)
    )
    fields = {"path": "", "expect": "", **extra}
    if fields["path"] == "given":
        fields["path"] = f", path: [{', '.join(names)}]"
    return template.format(hops=hops, nodes=nodes, links=links, **fields)


def seconds(cmd: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, cwd=ROOT, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):  # 1: an expect check failed, as some are meant to
        sys.exit(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=1, help="timed runs per case (median)")
    parser.add_argument("--hops", type=int, default=10_000, help="hops of the long chains")
    parser.add_argument("--path-hops", type=int, default=3_000, help="hops of the path")
    args = parser.parse_args()
    py = sys.executable
    # An installed qcalc runs from bytecode; compile once so no run pays for it.
    subprocess.run(
        [py, "-m", "compileall", "-q", str(ROOT / "qcalc")], check=True, capture_output=True
    )
    with tempfile.TemporaryDirectory() as folder:
        files = {
            "repeater": scenario(REPEATER, args.hops, "repeater"),
            "trusted": scenario(TRUSTED, args.hops, "trusted_relay"),
            "trusted, short": scenario(
                TRUSTED, args.hops, "trusted_relay", expect=", expect: {key_rate_bps: '>= 1e9'}"
            ),
            "path": scenario(REPEATER, args.path_hops, "repeater", path="given"),
        }
        paths = {}
        for i, (name, text) in enumerate(files.items()):
            paths[name] = Path(folder) / f"case{i}.yaml"
            paths[name].write_text(text, encoding="utf-8")
        cases = [
            (f"{args.hops:,}-segment repeater chain", "rate", "repeater"),
            (f"{args.hops:,}-segment repeater chain", "stage", "repeater"),
            (f"{args.hops:,}-hop trusted chain", "rate", "trusted"),
            (f"{args.hops:,}-hop trusted chain", "stage", "trusted"),
            (f"{args.hops:,}-hop trusted chain, short (levers)", "stage", "trusted, short"),
            (f"{args.path_hops:,}-hop path", "stage", "path"),
        ]
        baseline: list[float] = []
        timed = []
        for label, command, name in cases:
            runs = []
            for _ in range(args.runs):
                baseline.append(seconds([py, "-c", "import numpy, yaml"]))
                runs.append(
                    seconds([py, "-m", "qcalc", command, str(paths[name]), "--format", "json"])
                )
            timed.append((label, command, statistics.median(runs)))
    base = statistics.median(baseline)
    print(f"python -c 'import numpy, yaml': {base * 1e3:.1f} ms (median of {len(baseline)})")
    print(f"{'case':<44} {'command':<7} {'seconds':>8} {'ratio':>7}")
    for label, command, elapsed in timed:
        print(f"{label:<44} {command:<7} {elapsed:8.2f} {elapsed / base:7.1f}")


if __name__ == "__main__":
    main()
