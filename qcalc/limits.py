"""The documented limits on the work one command may do, in one table.

Every limit is checked before the work it bounds starts, and a refusal names the limit,
the value met and how to raise it. Raising is by environment variable
(``QCALC_MAX_QASM_QUBITS=5000000 qcalc budget circuit …``) where a larger value only
costs time or memory; a limit that guards against a malformed or hostile file (nesting
depth) can be raised the same way but rarely should be. ``docs/limits.md`` shows this
table; ``tests/test_hostile_inputs.py`` checks that the two agree.
"""

from __future__ import annotations

import os

from qcalc.errors import UsageError
from qcalc.records import record


@record(frozen=True)
class Limit:
    """One bound: its key, default value, unit and what it bounds.

    Attributes
    ----------
    key : str
        Short name; the environment variable that raises it is ``QCALC_MAX_<KEY>``.
    default : int
        The value used when the environment does not set one.
    unit : str
        Unit of the value (``bytes``, ``qubits``…).
    what : str
        What is counted, for messages and docs/limits.md.
    why : str
        What exceeding it would cost, for docs/limits.md.
    raisable : bool
        Whether the environment may raise it. Nesting depths may not: the parsers
        recurse once per level, and no real file comes near them.
    """

    key: str
    default: int
    unit: str
    what: str
    why: str
    raisable: bool = True

    @property
    def env(self) -> str:
        """The environment variable that sets this limit."""
        return f"QCALC_MAX_{self.key.upper()}"

    @property
    def value(self) -> int:
        """The limit in force: the environment's value when set, else the default.

        Raises
        ------
        UsageError
            When the environment variable is set to anything but a whole number ≥ 1.
        """
        raw = os.environ.get(self.env) if self.raisable else None
        if raw is None or not raw.strip():
            return self.default
        text = raw.strip().replace("_", "")
        if not text.isdigit() or len(text) > 30 or int(text) < 1:
            raise UsageError(
                f"{self.env}={raw[:40]!r}: expected a whole number ≥ 1 (the largest "
                f"{self.what} to accept; default {self.default:,})"
            )
        return int(text)

    def refusal(self, got: int, subject: str = "") -> str:
        """``<subject>12 qubits, more than the limit of 10; set QCALC_MAX_… to raise it``."""
        unit = f" {self.unit}" if self.unit else ""
        how = f"; set {self.env} to raise it" if self.raisable else ""
        return f"{subject}{got:,}{unit}, more than the limit of {self.value:,}{how}"

    @property
    def how_to_raise(self) -> str:
        """`` (set QCALC_MAX_…=N to raise it)`` or nothing for a fixed limit."""
        return f" (set {self.env} to raise the limit)" if self.raisable else ""


LIMITS: dict[str, Limit] = {
    limit.key: limit
    for limit in (
        Limit(
            "yaml_bytes",
            10 * 1024 * 1024,
            "bytes",
            "bytes in a scenario file",
            "reading and checking a scenario takes about 2 s per MB of nodes and links",
        ),
        Limit(
            "yaml_depth",
            64,
            "levels",
            "levels of nested mappings and lists in a scenario",
            "a scenario needs five; deeper nesting is a malformed or hostile file",
            raisable=False,
        ),
        Limit(
            "yaml_values",
            200_000,
            "values",
            "values the aliases of a scenario add once followed (its own values are bounded "
            "by yaml_bytes)",
            "guards against alias bombs (billion laughs), which grow exponentially",
        ),
        Limit(
            "nodes",
            100_000,
            "nodes",
            "nodes in a scenario",
            "routing and reports grow with the number of nodes",
        ),
        Limit(
            "links",
            100_000,
            "links",
            "links in a scenario",
            "every link gets a budget; routing is O(L log N)",
        ),
        Limit(
            "demands",
            10_000,
            "demands",
            "demands in a scenario",
            "each demand is evaluated and, when it falls short, solved for levers: about 6 ms a demand on a metro link, a minute at the limit",
        ),
        Limit(
            "path_hops",
            20_000,
            "hops",
            "hops in the route of one demand",
            "each hop gets a budget and a segment in the delivery model",
        ),
        Limit(
            "qasm_bytes",
            10 * 1024 * 1024,
            "bytes",
            "bytes in an OpenQASM file",
            "the parser reads about 2.5 MB of gate statements a second",
        ),
        Limit(
            "qasm_depth",
            64,
            "levels",
            "levels of nested parentheses and functions in an OpenQASM expression",
            "parameter expressions are checked, not evaluated; deep nesting is hostile",
            raisable=False,
        ),
        Limit(
            "qasm_qubits",
            1_000_000,
            "qubits",
            "qubits over all quantum registers of a circuit",
            "partitions and cross-partition counts keep a table over the qubits",
        ),
        Limit(
            "qasm_registers",
            100_000,
            "registers",
            "quantum and classical registers of a circuit",
            "each register is a table entry; no real circuit comes near this",
        ),
        Limit(
            "qasm_applications",
            5_000_000,
            "applications",
            "gate applications after register broadcast, each counted once per qubit pair "
            "its expansion touches",
            "each is a step of work and may be a record of the count (about 100 bytes)",
        ),
        Limit(
            "qasm_gate_count",
            10**15,
            "gates",
            "two-qubit gates a circuit expands to (counted, never materialised)",
            "at a million Bell pairs a second, 10^15 gates take 30 years",
        ),
        Limit(
            "sweep_points",
            1_000_000,
            "points",
            "points of one sweep (the product of every --vary's NUM)",
            "a metro link costs about 15 s and 400 MB per million points",
        ),
        Limit(
            "sweep_repeater_points",
            2_000,
            "points",
            "points of a sweep whose demand runs through repeaters",
            "the exact waiting-time statistics of a repeater chain cost about 15 ms and "
            "100 kB a point",
        ),
        Limit(
            "monte_carlo_trials",
            1_000_000,
            "trials",
            "trials of --monte-carlo",
            "the simulation holds a few arrays of this length (about 8 bytes per "
            "trial and segment each)",
        ),
        Limit(
            "option_count",
            10**15,
            "",
            "value of a count option of qcalc budget (--iterations, --runs, …)",
            "no budget is served beyond it (10^15 pairs at 10^6 pairs/s take 30 years); it keeps totals finite",
        ),
    )
}


def limit(key: str) -> int:
    """The value in force of the limit ``key`` (see :data:`LIMITS`)."""
    return LIMITS[key].value


def check(key: str, got: int, subject: str = "") -> None:
    """Raise :class:`UsageError` (``subject`` + :meth:`Limit.refusal`) when ``got`` exceeds
    the limit ``key``."""
    entry = LIMITS[key]
    if got > entry.value:
        raise UsageError(entry.refusal(got, subject))


def markdown_table() -> str:
    """The limits as the Markdown table of docs/limits.md (defaults, not the environment)."""
    lines = [
        "| limit | default | what it bounds | why | raise with |",
        "|---|---|---|---|---|",
    ]
    for entry in LIMITS.values():
        unit = f" {entry.unit}" if entry.unit else ""
        default = f"{entry.default:,}" if entry.default < 10**9 else f"{entry.default:.0e}"
        how = f"`{entry.env}`" if entry.raisable else "fixed"
        lines.append(f"| `{entry.key}` | {default}{unit} | {entry.what} | {entry.why} | {how} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - python -m qcalc.limits
    print(markdown_table(), end="")
