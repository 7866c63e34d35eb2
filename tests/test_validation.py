"""The published-results validation table: every case, its verdict, and docs/validation.md."""

from __future__ import annotations

import functools
import math
import re
import subprocess
import sys

import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from qcalc import validation as v


@functools.cache
def outcomes() -> dict[str, v.Outcome]:
    """Every case's outcome, computed once per test process, when a test first asks (not
    while the tests are collected, in every worker)."""
    return {o.case.id: o for o in v.run_all()}


#: The whole table must stay quick enough to run in every test session (the SPEC of issue 8
#: asks for about 5 s; this bound is generous against a slow CI machine).
TABLE_SECONDS = 15.0
#: Areas the table must cover (issue 8).
AREAS = {
    "fibre",
    "satellite",
    "free space",
    "QKD",
    "entanglement",
    "distillation",
    "waiting time",
    "worked example",
}


@pytest.mark.parametrize("case", v.CASES, ids=[c.id for c in v.CASES])
def test_case_verdict_holds(case: v.Case) -> None:
    outcome = outcomes()[case.id]
    assert math.isfinite(outcome.value), f"{case.id}: qcalc gave {outcome.value}"
    if case.reproduces:
        assert outcome.within, (
            f"{case.id}: qcalc {outcome.value:.6g} vs published {case.published:.6g} "
            f"({case.tolerance.text(case.unit)}); deviation "
            f"{case.tolerance.deviation(case.published, outcome.value, case.unit)}"
        )
    else:
        # A case that does not reproduce says why, and really is outside its tolerance
        # (otherwise the table should call it reproduced).
        assert len(case.reason) > 40, f"{case.id}: give the reason it does not reproduce"
        assert not outcome.within, f"{case.id} now reproduces; drop its reason"


def test_table_size_coverage_and_identity() -> None:
    ids = [c.id for c in v.CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    assert len(v.CASES) >= 25
    assert AREAS <= {c.area for c in v.CASES}
    assert any(not c.reproduces for c in v.CASES), "the cases qcalc misses belong in the table"
    for case in v.CASES:
        assert case.source.authors and case.source.journal and case.source.locator, case.id
        assert case.tolerance.kind in v.TOLERANCE_KINDS, case.id
        assert math.isfinite(case.published), case.id


def test_vqe_worked_example_is_in_the_table() -> None:
    # SPEC.md worked example: 2,500 pairs per iteration, 2.5e7 in total, about 6,944
    # pairs/s, stage 5.
    got = {k: outcomes()[f"vqe-{k}"].value for k in ("pairs-per-iteration", "pairs-total", "stage")}
    assert got == {"pairs-per-iteration": 2_500, "pairs-total": 25_000_000, "stage": 5}
    assert outcomes()["vqe-rate"].value == pytest.approx(25_000_000 / 3600, rel=1e-12)


def test_yin_2016_mdi_reproduces_as_run_with_its_assumption_stated() -> None:
    # Yin et al., PRL 117, 190501 (2016): 3.2e-4 bit/s from a finite-key four-intensity
    # analysis; qcalc's finite-key MDI-QKD comes within 2× at the assumed pulse count,
    # and the row says which input was assumed.
    case = outcomes()["yin2016-mdi-404km-rate"]
    assert case.case.published == 3.2e-4
    assert case.within and case.case.reproduces
    assert "assumed 1e15" in case.case.note


def test_rows_that_do_not_reproduce_name_the_unknown_input() -> None:
    for outcome in outcomes().values():
        if not outcome.case.reproduces:
            assert "unknown" in outcome.case.reason or "assum" in outcome.case.reason, (
                outcome.case.id
            )


@pytest.mark.parametrize(
    ("kind", "published", "inside", "outside"),
    [
        (v.Tolerance("absolute", 0.5), 142.05, 141.6, 141.5),
        (v.Tolerance("relative", 0.05), 1.75, 1.67, 1.66),
        (v.Tolerance("factor", 3.0), 1.0, 2.9, 3.1),
        (v.Tolerance("factor", 3.0), 1.0, 0.34, 0.33),
        (v.Tolerance("at least"), 200.0, 200.0, 199.9),
        (v.Tolerance("range", 1e3, 1e4), 3162.0, 9999.0, 10001.0),
    ],
)
def test_tolerance_kinds(
    kind: v.Tolerance, published: float, inside: float, outside: float
) -> None:
    assert kind.accepts(published, inside)
    assert not kind.accepts(published, outside)
    assert not kind.accepts(published, math.nan)
    assert kind.text("km")
    assert kind.deviation(published, outside, "km")


def test_unknown_tolerance_kind_raises() -> None:
    with pytest.raises(ValueError, match="tolerance kind is 'roughly'"):
        v.Tolerance("roughly", 1.0).accepts(1.0, 1.0)


def test_number_format() -> None:
    assert v.fmt(25_000_000) == "2.5e7"
    assert v.fmt(2500.0) == "2,500"
    assert v.fmt(6944.444) == "6944.4"
    assert v.fmt(3.2e-4) == "0.00032"
    assert v.fmt(-0.036, signed=True, digits=2) == "-0.036"
    assert v.fmt(0.019, signed=True, digits=2) == "+0.019"


def test_whole_table_is_quick() -> None:
    assert sum(o.seconds for o in outcomes().values()) < TABLE_SECONDS


def test_docs_validation_md_is_up_to_date() -> None:
    path = ROOT / "docs" / "validation.md"
    assert path.exists(), "run: python -m qcalc.validation --write docs/validation.md"
    assert path.read_text(encoding="utf-8") == v.markdown(tuple(outcomes().values())), (
        "docs/validation.md is stale; run: python -m qcalc.validation --write docs/validation.md"
    )


def test_markdown_has_the_columns_and_every_case() -> None:
    text = v.markdown(tuple(outcomes().values()))
    header = (
        "| id | area | quantity | source | published | qcalc | deviation | tolerance | reproduced |"
    )
    assert header in text
    for case in v.CASES:
        assert f"| `{case.id}` |" in text
    assert "| no: unknown published inputs: the Graz receiver's aperture" in text


def test_main_prints_and_writes(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    assert v.main([]) == 0
    out = capsys.readouterr()
    assert out.out == v.markdown(tuple(outcomes().values()))
    assert f"{len(v.CASES)} cases in" in out.err
    target = tmp_path / "validation.md"
    assert v.main(["--write", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == out.out


# ----------------------------------------------------------------------------- the data file

CASE = """
rate_factor = 3.0
[[case]]
id = "x"
area = "QKD"
quantity = "PLOB bound at η = 0.1"
published = 0.152003
tolerance = {{ relative = 1e-4 }}
[case.source]
authors = "S. Pirandola et al."
journal = "Nat. Commun."
locator = "Eq. (1)"
[case.compute]
{compute}
"""


def _load(compute: str) -> v.Case:
    _, cases = v.load_cases(CASE.format(compute=compute))
    return cases[0]


def test_a_case_is_data_that_runs() -> None:
    case = _load('call = "qcalc.protocols.qkd.plob_bound"\nargs = [0.1]')
    outcome = v.run_case(case)
    assert outcome.within and outcome.value == pytest.approx(0.152003, rel=1e-4)


@pytest.mark.parametrize(
    ("compute", "message"),
    [
        ('call = "os.system"\nargs = ["true"]', "is not a public name of a module under"),
        ('call = "qcalc.scenario.load_scenario"', "is not a public name of a module under"),
        ('call = "qcalc.protocols.qkd._private"', "is not a dotted name"),
        ('call = "__import__"', "is not a dotted name"),
        ('cal = "qcalc.protocols.qkd.plob_bound"', "expected exactly one of call"),
        ('call = "qcalc.protocols.qkd.plob_bound"\nargz = [0.1]', "did you mean 'args'?"),
        ('recipe = "bb84_reach"', "did you mean 'bb84_reach_km'?"),
        ('scenario = "metro-fibre"\nkey = ["key_rate_bps"]', "needs demand"),
        ('root = "qcalc.protocols.qkd.binary_entropy"\nequals = 0.5', "needs equals and bracket"),
        (
            'call = "qcalc.protocols.qkd.plob_bound"\nargs = [{ cal = "os.getcwd" }]',
            "compute.args[0]: expected exactly one of",
        ),
    ],
)
def test_the_data_file_refuses_what_it_cannot_run(compute: str, message: str) -> None:
    with pytest.raises(v.ValidationDataError, match=re.escape(message)):
        _load(compute)


def test_a_bad_case_key_or_tolerance_is_refused_by_name() -> None:
    good = 'call = "qcalc.protocols.qkd.plob_bound"\nargs = [0.1]'
    with pytest.raises(v.ValidationDataError, match="unknown key 'publised'; did you mean"):
        v.load_cases(CASE.format(compute=good).replace("published =", "publised ="))
    with pytest.raises(v.ValidationDataError, match="tolerance is 'roughly'"):
        v.load_cases(CASE.format(compute=good).replace("{ relative = 1e-4 }", '"roughly"'))
    with pytest.raises(v.ValidationDataError, match="unknown key 'pirandola'"):
        v.load_cases(CASE.format(compute=good).replace('authors = "S', 'ref = "pirandola"\n#'))
    with pytest.raises(v.ValidationDataError, match="rate_factor"):
        v.load_cases(CASE.format(compute=good).replace("rate_factor = 3.0", ""))


def test_every_recipe_and_kind_is_used_and_every_scenario_is_bundled() -> None:
    from qcalc import examples

    def specs(spec: dict) -> list[dict]:
        nested = [*spec.get("args", []), *spec.get("kwargs", {}).values()]
        return [spec, *(s for a in nested if isinstance(a, dict) for s in specs(a))]

    used = [s for c in v.CASES for s in specs(dict(c.compute))]
    assert {s["recipe"] for s in used if "recipe" in s} == set(v.RECIPES)
    assert {k for s in used for k in v.COMPUTE_KINDS if k in s} == set(v.COMPUTE_KINDS)
    assert {s["scenario"] for s in used if "scenario" in s} <= set(examples.names())


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300))
@settings(max_examples=200)
def test_a_formatted_number_reads_back_to_five_figures(x: float) -> None:
    assert float(v.fmt(x).replace(",", "")) == pytest.approx(x, rel=5e-5, abs=1e-300)


@given(
    st.floats(min_value=1e-12, max_value=1e12),
    st.floats(min_value=1.01, max_value=100.0),
    st.floats(min_value=-3.0, max_value=3.0),
)
@settings(max_examples=100)
def test_a_factor_tolerance_is_symmetric_in_log(published: float, k: float, u: float) -> None:
    # published × k^u and published × k^-u: both inside for |u| < 1, both outside for |u| > 1
    # (the boundary itself is left to rounding).
    tolerance = v.Tolerance("factor", k)
    both = (
        tolerance.accepts(published, published * k**u),
        tolerance.accepts(published, published * k**-u),
    )
    if abs(u) < 0.999:
        assert both == (True, True)
    if abs(u) > 1.001:
        assert both == (False, False)


def test_import_is_cheap() -> None:
    # Importing the table loads no model, scipy, yaml or typer: cases import on demand.
    code = (
        "import sys, qcalc.validation; "
        "print(sorted(m for m in ('scipy', 'yaml', 'typer', 'numpy', 'qcalc.demands') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"
