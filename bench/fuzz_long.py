"""Long fuzzing run: the properties of tests/test_fuzz.py on many more random documents.

Run: .venv/bin/python bench/fuzz_long.py [--examples 20000] [--cli 500] [--seed N] [--shrink]

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
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import seed as hypothesis_seed  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


class Tally:
    """Outcomes of one property: counts, and the smallest document of each failure."""

    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.smallest: dict[str, str] = {}
        self.examples: dict[str, str] = {}

    def record(self, check: Callable[[str], str], text: str) -> None:
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
            self.examples.setdefault(key, str(exc).splitlines()[0][:100])
            if key not in self.smallest or len(text) < len(self.smallest[key]):
                self.smallest[key] = text

    @property
    def runs(self) -> int:
        return sum(v for k, v in self.outcomes.items() if not k.startswith("failed: "))


def collect(
    name: str, strategy: Any, check: Callable[[str], str], examples: int, seed: int | None
) -> Tally:
    """Check ``examples`` documents drawn from ``strategy``; never stops at a failure."""
    tally = Tally()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(doc=strategy)
    def run(doc: dict[str, Any]) -> None:
        tally.record(check, test_fuzz.dump(doc))

    if seed is not None:
        run = hypothesis_seed(seed)(run)
    start = time.perf_counter()
    run()
    report(name, tally, time.perf_counter() - start)
    return tally


def report(name: str, tally: Tally, seconds: float) -> None:
    counts = tally.outcomes
    print(
        f"{name}: {tally.runs} documents in {seconds:.1f} s "
        f"({1000 * seconds / max(tally.runs, 1):.1f} ms each): "
        f"{counts['evaluated']} evaluated, {counts['refused']} refused, {counts['failed']} failed"
    )
    for key, count in counts.most_common():
        if key.startswith("failed: "):
            bug = key.removeprefix("failed: ")
            print(f"  {count:6d} × {bug}: {tally.examples[bug]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--examples", type=int, default=20_000, help="documents per library property"
    )
    parser.add_argument("--cli", type=int, default=500, help="documents through `qcalc stage`")
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
