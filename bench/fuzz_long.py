"""Long fuzzing run: the properties of the fuzz tests on many more random inputs.

Run: .venv/bin/python bench/fuzz_long.py [--examples 20000] [--cli 500] [--topologies 5000]
     [--formats 5000] [--qasm 5000] [--seed N] [--shrink]

Profiles (each a strategy of the test suite, with its property):

- grammar, mutated, qcalc stage: tests/test_fuzz.py (scenario grammar and its mutations);
- topologies: tests/test_hostile_inputs.py, valid stars, rings, parallel links and explicit
  paths with hostile names and every number at an edge of its field's range; the property
  adds that every batch format renders it well-formed and without a workflow command;
- formats: the same file's batch formats for any name and any file name (control
  characters, undecodable bytes);
- qasm: tests/test_qasm_fuzz.py, OpenQASM programs counted by qcalc, by explicit
  expansion and by qiskit's qasm2 loader (needs qiskit, from the test extras).

By default every document is checked and each distinct failure (exception type, message
head and the qcalc line it came from) is counted and kept with its smallest document, so
one run shows every kind of bug instead of stopping at the first; ``--shrink`` instead runs
the hypothesis tests as the suite does, stopping at the first failure and shrinking it to a
minimal document. Warnings are errors, as in the test suite. Prints how many documents ran,
how many evaluated and were refused, the failures, and the time taken.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import test_fuzz  # type: ignore[import-not-found]  # noqa: E402  (the suite's strategies)
import test_hostile_inputs  # type: ignore[import-not-found]  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import seed as hypothesis_seed  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


class Tally:
    """Outcomes of one property: counts, and the smallest document of each failure."""

    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.smallest: dict[str, str] = {}
        self.examples: dict[str, str] = {}

    def record(self, check: Callable[[Any], str], text: Any) -> None:
        try:
            self.outcomes[check(text)] += 1
        except Exception as exc:  # noqa: BLE001 - a failure to report, not to stop on
            frames = traceback.extract_tb(exc.__traceback__)
            frame = next((f for f in reversed(frames) if "/qcalc/" in f.filename), frames[-1])
            where = f"{frame.filename.removeprefix(str(ROOT) + '/')}:{frame.lineno}"
            # one bug, one line: its type and the qcalc line it came from (the message,
            # which quotes values, is kept from the first occurrence as an example)
            key = f"{type(exc).__name__} at {where}"
            self.outcomes["failed"] += 1
            self.outcomes["failed: " + key] += 1
            self.examples.setdefault(key, (str(exc).splitlines() or [""])[0][:100])
            shown = text if isinstance(text, str) else repr(text)
            if key not in self.smallest or len(shown) < len(self.smallest[key]):
                self.smallest[key] = shown

    @property
    def runs(self) -> int:
        return sum(v for k, v in self.outcomes.items() if not k.startswith("failed: "))


def collect(
    name: str,
    strategy: Any,
    check: Callable[[Any], str],
    examples: int,
    seed: int | None,
    render: Callable[[Any], Any] = test_fuzz.dump,
) -> Tally:
    """Check ``examples`` inputs drawn from ``strategy`` (``render`` turns a draw into what
    ``check`` takes); never stops at a failure."""
    tally = Tally()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(doc=strategy)
    def run(doc: Any) -> None:
        tally.record(check, render(doc))

    if seed is not None:
        run = hypothesis_seed(seed)(run)
    start = time.perf_counter()
    run()
    report(name, tally, time.perf_counter() - start)
    return tally


def report(name: str, tally: Tally, seconds: float) -> None:
    counts = tally.outcomes
    kinds = ", ".join(
        f"{n} {k}" for k, n in sorted(counts.items()) if k != "failed" and ": " not in k
    )
    share = 100 * counts["evaluated"] / max(tally.runs, 1)
    print(
        f"{name}: {tally.runs} inputs in {seconds:.1f} s "
        f"({1000 * seconds / max(tally.runs, 1):.1f} ms each): {kinds}; "
        f"{share:.0f} % reached evaluation; {counts['failed']} failed"
    )
    for key, count in counts.most_common():
        if key.startswith("failed: "):
            bug = key.removeprefix("failed: ")
            print(f"  {count:6d} × {bug}: {tally.examples[bug]}")


def check_topology(text: str) -> str:
    """The library path on a valid topology, then every batch format of its result."""
    from qcalc import batch, outputs
    from qcalc.demands import evaluate_scenario
    from qcalc.report import scenario_dict
    from qcalc.scenario import parse_scenario

    outcome = test_fuzz.check_document(text)
    if outcome == "evaluated":
        scenario = parse_scenario(text, test_fuzz.FILE)
        data = scenario_dict(scenario, evaluate_scenario(scenario))
        results = [batch.FileResult(test_fuzz.FILE, data=data)]
        for rendered in (
            batch.to_junit(results),
            batch.to_csv(results),
            batch.to_markdown(results),
        ):
            test_hostile_inputs.no_workflow_command(outputs.safe_for(rendered))
    return outcome


_EVALUATED: dict[str, Any] = {}


def check_formats(drawn: tuple[list[str], list[str], bool]) -> str:
    """Every batch format of one evaluated scenario under any names and file names."""
    if not _EVALUATED:
        from qcalc.demands import evaluate_scenario
        from qcalc.report import scenario_dict
        from qcalc.scenario import load_scenario

        scenario = load_scenario(str(ROOT / "scenarios" / "metro-fibre.yaml"))
        _EVALUATED.update(scenario_dict(scenario, evaluate_scenario(scenario)))
    inner = test_hostile_inputs.test_every_batch_format_stays_well_formed_for_any_name
    inner.hypothesis.inner_test(_EVALUATED, *drawn)
    return "evaluated"


def check_qasm(drawn: Any) -> str:
    """qcalc, explicit expansion and qiskit agree on the counts (or qcalc refuses)."""
    import test_qasm_fuzz

    text, program, spec = drawn
    if program.qubits < 2:
        return "refused"
    from qcalc.qasm import count_cross_partition_gates

    counts = count_cross_partition_gates(text, spec, "p.qasm")
    found = (counts.cross_two_qubit_gates, counts.nonlocal_swaps, counts.local_two_qubit_gates)
    assert found == test_qasm_fuzz.expected_counts(program, spec), "expansion differs"
    assert found == test_qasm_fuzz.qiskit_counts(text, spec), "qiskit differs"
    return "evaluated"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--examples", type=int, default=20_000, help="documents per library property"
    )
    parser.add_argument("--cli", type=int, default=500, help="documents through `qcalc stage`")
    parser.add_argument(
        "--topologies", type=int, default=5_000, help="valid topologies with hostile names"
    )
    parser.add_argument("--formats", type=int, default=5_000, help="batch formats of hostile names")
    parser.add_argument(
        "--qasm", type=int, default=5_000, help="OpenQASM programs read three ways (0: skip)"
    )
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed (default: random)")
    parser.add_argument(
        "--shrink", action="store_true", help="stop at the first failure and shrink it"
    )
    parser.add_argument("--show", type=int, default=3, help="smallest failing documents to print")
    args = parser.parse_args()
    warnings.simplefilter("error")

    if args.shrink:
        # The suite's settings, randomised and longer: the first failure is shrunk and
        # printed by hypothesis as a minimal document.
        long = settings(test_fuzz.SUITE, max_examples=args.examples, derandomize=False)
        start = time.perf_counter()
        for strategy in (test_fuzz.documents(), test_fuzz.mutated_documents()):

            @long
            @given(doc=strategy)
            def shrinking(doc: dict[str, Any]) -> None:
                test_fuzz.check_document(test_fuzz.dump(doc))

            if args.seed is not None:
                shrinking = hypothesis_seed(args.seed)(shrinking)
            shrinking()
        print(f"no failure in {2 * args.examples} documents, {time.perf_counter() - start:.1f} s")
        return 0

    start = time.perf_counter()
    tallies = [
        collect(
            "grammar", test_fuzz.documents(), test_fuzz.check_document, args.examples, args.seed
        ),
        collect(
            "mutated",
            test_fuzz.mutated_documents(),
            test_fuzz.check_document,
            args.examples,
            args.seed,
        ),
    ]
    if args.cli:
        import tempfile

        from typer.testing import CliRunner

        runner = CliRunner()
        with tempfile.TemporaryDirectory() as folder:
            tallies.append(
                collect(
                    "qcalc stage",
                    st.one_of(test_fuzz.documents(), test_fuzz.mutated_documents()),
                    lambda text: test_fuzz.check_cli(text, Path(folder), runner),
                    args.cli,
                    args.seed,
                )
            )
    if args.topologies:
        tallies.append(
            collect(
                "topologies",
                test_hostile_inputs.topologies(),
                check_topology,
                args.topologies,
                args.seed,
            )
        )
    if args.formats:
        tallies.append(
            collect(
                "formats",
                st.tuples(
                    st.lists(test_hostile_inputs.HOSTILE_NAME, min_size=1, max_size=4),
                    st.lists(st.text(min_size=1, max_size=16), min_size=1, max_size=3),
                    st.booleans(),
                ),
                check_formats,
                args.formats,
                args.seed,
                render=lambda drawn: drawn,
            )
        )
    if args.qasm:
        import test_qasm_fuzz  # type: ignore[import-not-found]  # needs qiskit

        tallies.append(
            collect(
                "qasm",
                test_qasm_fuzz.programs(),
                check_qasm,
                args.qasm,
                args.seed,
                render=lambda drawn: drawn,
            )
        )
    total = sum(t.runs for t in tallies)
    failed = sum(t.outcomes["failed"] for t in tallies)
    print(f"total: {total} documents in {time.perf_counter() - start:.1f} s, {failed} failed")
    shown = 0
    for tally in tallies:
        for key, text in sorted(tally.smallest.items(), key=lambda kv: len(kv[1])):
            if shown >= args.show:
                break
            print(f"\n--- smallest document for {key}\n{text}")
            shown += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
