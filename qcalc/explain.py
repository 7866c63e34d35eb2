"""Derivation steps for ``--explain``: one step type, one JSON shape, one text form.

Every command that explains itself (link budgets, key and pair rates, distributed-computing
budgets) builds :class:`Step` objects: what is computed, the formula, each input with its
value and unit, the result, and where the formula comes from. A step is shown as text by
:func:`explain_text` and as JSON by :meth:`Step.to_dict`, the same for every command::

    {"title": ..., "formula": ..., "inputs": {"symbol": "value unit"}, "result": ...,
     "reference": ...}

Numbers are put into words by :func:`qcalc.units.fmt`, the one number formatter; this
module imports nothing else of qcalc (and that only when a number is shown, so importing
it loads no numpy), so any layer above the physics may use it.

>>> step = Step.of("Bell pairs in total", "N = ℓ · r",
...                (Quantity("ℓ", 2_500, "pairs"), Quantity("r", 10_000)),
...                Quantity("N", 25_000_000, "pairs", "Bell pairs in total"))
>>> print(explain_text([step]))
Step 1. Bell pairs in total
    N = ℓ · r
      ℓ = 2,500 pairs
      r = 10,000
    ⇒ N = 25,000,000 pairs (Bell pairs in total)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qcalc.records import record


@record(frozen=True)
class Quantity:
    """A named number with its unit, as a derivation step shows it.

    Attributes
    ----------
    symbol : str
        The symbol of the formula (``C``, ``N_it``).
    value : int or float
        The number, in ``unit``; an ``int`` is a count and prints exactly.
    unit : str
        Unit of ``value`` (``"pairs"``, ``"s"``; ``""`` or ``"unitless"`` for none).
    description : str
        What the number is, in words, shown after it in brackets.
    """

    symbol: str
    value: int | float
    unit: str = ""
    description: str = ""

    def text(self) -> str:
        """``2,500 CNOTs (cross-QPU CNOTs per run)``: the value in its unit, described."""
        from qcalc.units import fmt  # numpy loads when a number is shown, not on import

        unit = "" if self.unit == "unitless" else self.unit
        note = f" ({self.description})" if self.description else ""
        return f"{fmt(self.value, unit, exact=True)}{note}"


@record(frozen=True)
class Step:
    """One step of a derivation: what it computes, the formula, its inputs, the result.

    Attributes
    ----------
    title : str
        What the step computes ("fibre loss of alice-bob").
    formula : str
        The formula in symbols ("loss = α · L + extra").
    inputs : tuple of (str, str)
        Each symbol on the right-hand side and its value with unit, as text.
    result : str
        The result with its unit, as text.
    reference : str
        Where the formula comes from when the formula does not say it; empty for plain
        arithmetic.
    """

    title: str
    formula: str
    inputs: tuple[tuple[str, str], ...]
    result: str
    reference: str = ""

    @classmethod
    def of(
        cls,
        title: str,
        formula: str,
        inputs: Sequence[Quantity],
        result: Quantity,
        reference: str = "",
    ) -> Step:
        """A step from named quantities: ``result`` prints as ``symbol = value unit``."""
        return cls(
            title,
            formula,
            tuple((q.symbol, q.text()) for q in inputs),
            f"{result.symbol} = {result.text()}",
            reference,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form every ``--explain`` prints: title, formula, inputs (symbol → value
        with unit), result and reference."""
        return {
            "title": self.title,
            "formula": self.formula,
            "inputs": dict(self.inputs),
            "result": self.result,
            "reference": self.reference,
        }


def explain_text(steps: Sequence[Step | dict[str, Any]]) -> str:
    """The derivation step by step, as a textbook worked example prints it (from steps or
    from their :meth:`Step.to_dict` form)."""
    lines = []
    for i, step in enumerate(steps, 1):
        s: dict[str, Any] = step if isinstance(step, dict) else step.to_dict()
        reference = s.get("reference", "")
        lines.append(f"Step {i}. {s['title']}" + (f"  [{reference}]" if reference else ""))
        lines.append(f"    {s['formula']}")
        for name, value in s["inputs"].items():
            lines.append(f"      {name} = {value}")
        lines.append(f"    ⇒ {s['result']}")
    return "\n".join(lines)
