"""Output for people and tools around it: one number formatter, tables that fit the
terminal, -h, extras that fail gracefully, the JSON Schema agreeing with the checker."""

from __future__ import annotations

import copy
import json
import math
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from conftest import ROOT, SCENARIOS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qcalc import scenario as sc
from qcalc._yaml import read_document, read_file
from qcalc.cli import app
from qcalc.errors import ScenarioError
from qcalc.report import MIN_WRAP, Table, render_plain, table_lines, wrap
from qcalc.units import fmt, plural, significant

BUNDLED = sorted(SCENARIOS.glob("*.yaml"))
SCHEMA_FILE = ROOT / "qcalc" / "data" / "scenario.schema.json"
SCHEMA_IN_FILE = jsonschema.Draft202012Validator(
    json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
)
MODELINE = "# yaml-language-server: $schema=../qcalc/data/scenario.schema.json"
WIDTH = 80
METRO = str(SCENARIOS / "metro-fibre.yaml")
VARY = ["--vary", "links.alice-bob.length_km=10:50:3"]


# ----------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (0.0, "bit/s", "0 bit/s"),
        (0.6533, "", "0.6533"),  # dimensionless: 4 significant digits, as reasons print them
        (0.99996, "", "0.99996"),  # a fidelity just below 1 is not printed as 1
        (887_896.0, "bit/s", "887.9 kbit/s"),
        (9_972.26, "pairs/s", "9,972 pairs/s"),  # up to 9,999 in the base unit
        (13_931.0, "bit/s", "13.93 kbit/s"),
        (1.149e6, "bit/s", "1.149 Mbit/s"),
        (1e9, "Hz", "1 GHz"),
        (2.152e-3, "s", "2.152 ms"),
        (1.471e-4, "s", "147.1 µs"),
        (274.1, "s", "4.568 min"),
        (3600.0, "s", "1 h"),
        (86_400.0, "s", "1 day"),
        (1.28884e6, "s", "14.92 days"),
        (3.22309e8, "bits", "322.3 Mbit"),
        (25_000_000.0, "", "25,000,000"),
        (13.12, "dB", "13.12 dB"),
        (1000.0, "km", "1,000 km"),
        (1e-5, "", "1e-05"),
        (math.inf, "s", "unbounded"),
        (np.array([29.25, 39.38]), "dB", "29.25…39.38 dB"),
        (np.array([1e3, 2e6]), "bit/s", "1,000 bit/s…2 Mbit/s"),
        (np.array([5.0, 5.0]), "km", "5 km"),
    ],
)
def test_one_number_formatter(value, unit, text):
    assert fmt(value, unit) == text


def test_plurals():
    assert plural(1, "trusted relay") == "1 trusted relay"
    assert plural(32, "trusted relay") == "32 trusted relays"
    assert plural(1, "file with errors", "files with errors") == "1 file with errors"
    assert plural(2, "file with errors", "files with errors") == "2 files with errors"


SCALED_UNITS = ("bit/s", "Hz", "pairs/s", "s", "bits")


@settings(max_examples=300, deadline=None)
@given(
    st.floats(min_value=1e-7, max_value=1e15, allow_nan=False),
    st.sampled_from(SCALED_UNITS),
)
def test_a_scaled_number_keeps_four_significant_digits(value, unit):
    """Read back in its unit, a printed number is within half a unit of the 4th digit,
    never has more than 4 integer digits past the base unit, and never an exponent
    inside the range the units cover."""
    text = fmt(value, unit)
    number, _, shown_unit = text.partition(" ")
    factors = {
        "ns": 1e-9, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0,
        "day": 86400.0, "days": 86400.0, "year": 365.25 * 86400.0, "years": 365.25 * 86400.0,
    }  # fmt: skip
    if unit == "s":
        factor = factors[shown_unit]
    else:
        prefix = shown_unit.removesuffix(unit).removesuffix("bit").strip()
        factor = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}[prefix]
    shown = float(number.replace(",", ""))
    assert shown * factor == pytest.approx(value, rel=5.1e-4)
    if factor > 1 and unit != "s" and value < 9.99e11:  # below the largest prefix
        assert 1 <= shown < 1000.0 + 0.5, text  # a prefix leaves 1…999.9
    if 1e-4 <= value / factor:
        assert "e" not in number, text


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_significant_reads_back(value):
    text = significant(value)
    assert float(text.replace(",", "")) == pytest.approx(value, rel=5.1e-4, abs=1e-300)


# ----------------------------------------------------------------------------- layout


# Letters only: a number glues to its unit and a long path breaks at its slashes (both
# tested below); plain words of at most MIN_WRAP letters never break.
words = st.text(
    alphabet=st.characters(whitelist_categories=("Ll", "Lu"), whitelist_characters="→_-µ"),
    min_size=1,
    max_size=30,
)
cells = st.lists(words, min_size=0, max_size=12).map(" ".join)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    columns=st.integers(1, 7),
    data=st.data(),
    width=st.integers(40, 140),
)
def test_every_table_fits_its_width_and_keeps_every_word(columns, data, width):
    header = data.draw(st.lists(words, min_size=columns, max_size=columns, unique=True))
    rows = data.draw(st.lists(st.lists(cells, min_size=columns, max_size=columns), max_size=6))
    spill = data.draw(st.lists(st.sampled_from(header), unique=True, max_size=2))
    table = Table(data.draw(cells), header, rows, [data.draw(cells)], spill=spill)
    lines = table_lines(table, width)
    assert all(len(line) <= width for line in lines), lines
    assert not any(line.endswith(" ") for line in lines)
    tokens = {t for line in lines for t in line.split()}
    for row in rows:
        for cell in row:
            for word in cell.split():
                if len(word) <= MIN_WRAP:  # only a longer word may break
                    assert word in tokens


def test_wide_keeps_one_line_per_row():
    long = "every hop has key; " * 10
    table = Table("t", ["stage", "reason"], [["1", long.strip()]])
    assert len(render_plain([table], None).splitlines()) == 4  # title, header, rule, row
    assert len(render_plain([table], 80).splitlines()) > 4


def test_numbers_stay_beside_their_units_when_a_line_wraps():
    text = "needs fidelity ≥ 0.78 and ≥ 0.01 pairs/s; gives 13.93 kbit/s over 12.5 dB"
    for width in range(20, 60):
        joined = "\n".join(wrap(text, width))
        for glued in ("≥ 0.78", "≥ 0.01 pairs/s", "13.93 kbit/s", "12.5 dB"):
            assert glued in joined


# ----------------------------------------------------------------------------- commands


def _check_width(text: str, width: int = WIDTH) -> None:
    for line in text.splitlines():
        assert len(line) <= width, f"{len(line)} characters: {line!r}"
        assert line == line.rstrip(), f"trailing spaces: {line!r}"


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_every_bundled_scenario_fits_80_columns(path):
    """stage, rate and links tables of every bundled scenario, as the CLI renders them
    when piped (the scenario evaluated once for all three)."""
    from qcalc import report
    from qcalc.demands import evaluate_scenario
    from qcalc.linkbudget import link_budget

    scenario = sc.load_scenario(str(path))
    results = evaluate_scenario(scenario)
    budgets = [link_budget(link, scenario) for link in scenario.links]
    for tables in (
        report.stage_tables(scenario, results),
        report.rate_tables(scenario, results),
        report.links_table(scenario, budgets),
    ):
        _check_width(render_plain(tables, WIDTH))


@pytest.mark.parametrize("command", ["stage", "rate", "links"])
def test_the_cli_fits_80_columns(runner, command):
    backbone = str(SCENARIOS / "trusted-node-backbone.yaml")  # 33 hops, long reasons
    result = runner.invoke(app, [command, backbone, "--explain"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "Step 1." in result.stdout
    _check_width(result.stdout)


def test_what_it_would_take_fits_80_columns(runner):
    result = runner.invoke(app, ["stage", METRO, "--levers"], env={"COLUMNS": "80"})
    assert "what it would take" in result.stdout
    _check_width(result.stdout)


def test_apps_and_batch_fit_80_columns(runner, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)  # piped: 80 columns without COLUMNS
    apps = runner.invoke(app, ["apps"])
    assert apps.exit_code == 0
    _check_width(apps.stdout)
    assert "secure_identification" in apps.stdout  # a key is never split
    batch = runner.invoke(app, ["batch", str(SCENARIOS)])
    assert batch.exit_code in (0, 1), batch.output
    _check_width(batch.stdout)


def test_columns_is_honoured_and_wide_unwraps(runner):
    backbone = str(SCENARIOS / "trusted-node-backbone.yaml")
    narrow = runner.invoke(app, ["stage", backbone], env={"COLUMNS": "60"})
    _check_width(narrow.stdout, 60)
    wide = runner.invoke(app, ["stage", backbone, "--wide"], env={"COLUMNS": "60"})
    assert max(len(line) for line in wide.stdout.splitlines()) > 200  # the path, unwrapped
    assert "path: beijing → relay01 → relay02" in wide.stdout


def test_names_print_literally(runner, write):
    path = write(
        "qcalc: 1\nname: '[bold]red[/bold] plan'\nnodes:\n"
        "  '[i]alice':\n    source: {kind: weak_coherent, repetition_rate_hz: 1.0e9}\n"
        "  bob: {detector: {efficiency: 0.5}}\n"
        "links:\n  - {ends: ['[i]alice', bob], length_km: 10}\n"
        "demands:\n  - {ends: ['[i]alice', bob]}\n"
    )
    result = runner.invoke(app, ["rate", path])
    assert "[bold]red[/bold] plan" in result.stdout
    assert "[i]alice → bob" in result.stdout


COMMANDS = [
    [],
    ["stage"],
    ["rate"],
    ["links"],
    ["validate"],
    ["sweep"],
    ["batch"],
    ["schema"],
    ["apps"],
    ["budget"],
    ["budget", "vqe"],
    ["budget", "circuit"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "qcalc")
def test_h_is_help(runner, command):
    short = runner.invoke(app, [*command, "-h"])
    long = runner.invoke(app, [*command, "--help"])
    assert short.exit_code == long.exit_code == 0
    assert short.stdout == long.stdout
    assert "-h, --help" in short.stdout


def test_shell_completion_is_on(runner):
    result = runner.invoke(app, ["--help"])
    assert "--install-completion" in result.stdout


def test_sweep_help_names_no_phantom_scenario_option(runner):
    result = runner.invoke(app, ["sweep", "--help"])
    assert "--scenario" not in result.stdout
    assert "Demand to sweep" in result.stdout


def test_sweep_takes_markdown_and_explain(runner):
    md = runner.invoke(app, ["sweep", METRO, *VARY, "--format", "markdown", "--explain"])
    assert md.exit_code == 0, md.output
    assert md.stdout.startswith("```text\nStep 1.")
    assert "| links.alice-bob.length_km | key_rate_bps |" in md.stdout
    assert "| 10 km |" in md.stdout
    data = json.loads(runner.invoke(app, ["sweep", METRO, *VARY, "-f", "json", "--explain"]).stdout)
    assert data["explain"][0]["inputs"]["L"] == "10…50 km"  # the derivation over the range


def test_batch_takes_markdown_and_explain(runner):
    md = runner.invoke(app, ["batch", METRO, "--format", "markdown", "--explain"])
    assert md.exit_code == 0, md.output
    assert md.stdout.startswith(f"```text\n{METRO}\nStep 1.")
    table = runner.invoke(app, ["batch", METRO, "--explain"])
    assert "Step 1." in table.stdout and "qcalc batch" in table.stdout
    data = json.loads(runner.invoke(app, ["batch", METRO, "-f", "json", "--explain"]).stdout)
    assert data["scenarios"][0]["explain"][0]["title"]
    refused = runner.invoke(app, ["batch", METRO, "-f", "csv", "--explain"])
    assert refused.exit_code == 2
    assert "--explain" in refused.stderr


def test_batch_and_validate_go_on_past_a_missing_path(runner, tmp_path):
    missing = str(tmp_path / "missing.yaml")
    result = runner.invoke(app, ["batch", missing, METRO, "-f", "json"])
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert [s.get("scenario") for s in data["scenarios"]] == ["Metro fibre link", None]
    assert f"{missing}: " in result.stderr
    checked = runner.invoke(app, ["validate", missing, METRO])
    assert checked.exit_code == 2
    assert f"{METRO}: ok" in checked.stdout


def test_junit_ids_carry_the_file_path(runner, tmp_path):
    """Two variants of one scenario (same name, same demands) never share a test id."""
    text = Path(METRO).read_text(encoding="utf-8")
    for variant in ("a", "b"):
        (tmp_path / f"{variant}.yaml").write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["batch", str(tmp_path), "-f", "junit"])
    root = ET.fromstring(result.stdout)
    ids = [(c.get("classname"), c.get("name")) for c in root.iter("testcase")]
    assert len(ids) == len(set(ids)) == 2
    assert {c for c, _ in ids} == {str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")}


def test_target_error_is_named_as_typed(runner):
    for bad in ("2", "-1", "nan"):
        result = runner.invoke(app, ["budget", "vqe", "--target-error", bad])
        assert result.exit_code == 2
        assert result.stderr.startswith("qcalc: error: --target-error is ")
        assert "target_circuit_error" not in result.stderr


def test_an_application_in_capitals_gets_a_did_you_mean(runner, write):
    text = Path(METRO).read_text(encoding="utf-8")
    path = write(text.replace("application: qkd", "application: QKD"))
    result = runner.invoke(app, ["validate", path])
    assert result.exit_code == 2
    assert "is 'QKD'; expected" in result.stderr and "did you mean 'qkd'?" in result.stderr


# ----------------------------------------------------------------------------- extras


def _without_matplotlib(monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib → ImportError


@pytest.mark.parametrize(
    "args",
    [
        ["links", METRO, "--plot", "{out}"],
        ["sweep", METRO, *VARY, "--plot", "{out}"],
    ],
    ids=["links", "sweep"],
)
def test_a_missing_plot_extra_is_a_usage_error(runner, monkeypatch, tmp_path, args):
    _without_matplotlib(monkeypatch)
    out = tmp_path / "x.png"
    result = runner.invoke(app, [a.format(out=out) for a in args])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        "qcalc: error: plotting needs matplotlib: pip install 'qcalc[plot]'"
    )
    assert not out.exists()


# ----------------------------------------------------------------------------- schema


def test_the_schema_file_is_the_schema_qcalc_prints(runner):
    printed = runner.invoke(app, ["schema"]).stdout
    assert SCHEMA_FILE.read_text(encoding="utf-8") == printed, (
        "qcalc/data/scenario.schema.json is stale: regenerate it with "
        "`qcalc schema -o qcalc/data/scenario.schema.json`"
    )
    schema = json.loads(printed)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"urn:qcalc:scenario:{sc.FORMAT_VERSION}"


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_every_bundled_scenario_names_the_schema_and_passes_it(path):
    text = path.read_text(encoding="utf-8")
    first = text.splitlines()[0]
    assert first == MODELINE
    target = (path.parent / first.split("$schema=", 1)[1]).resolve()
    assert target == SCHEMA_FILE.resolve()
    doc = read_file(str(path))
    assert SCHEMA_IN_FILE.is_valid(doc.data), [
        e.message for e in SCHEMA_IN_FILE.iter_errors(doc.data)
    ]
    sc.scenario_from_document(doc)


def _tables() -> list[tuple[str, dict[str, sc.Field], dict[str, Any]]]:
    """Every field table with the part of the schema that declares it, mappings inside."""
    schema = sc.json_schema()
    defs = schema["$defs"]
    start = [
        ("top", sc.TOP_FIELDS, schema),
        ("node", sc.NODE_FIELDS, defs["node"]),
        ("link", sc.LINK_FIELDS, defs["link"]),
        ("demand", sc.DEMAND_FIELDS, defs["demand"]),
        *((kind, fields, defs[kind]) for kind, fields in sc.PROFILE_FIELDS.items()),
    ]
    out = []
    while start:
        name, fields, part = start.pop()
        out.append((name, fields, part))
        for key, f in fields.items():
            if f.kind == "mapping" and f.sub is not None:
                start.append((f"{name}.{key}", dict(f.sub), part["properties"][key]))
    return out


#: Kinds checked value by value; the others hold references (a profile's name, node
#: names) or sections, which only a whole scenario can check.
VALUE_KINDS = (
    "number",
    "integer",
    "string",
    "strings",
    "enum",
    "bool",
    "number_or_optimise",
    "probabilities",
    "decoys",
    "expect",
    "monthly",
)
#: Kinds that name other things or hold sections: the whole-file tests below cover them.
WHOLE_FILE_KINDS = ("names", "profile", "mapping", "hardware", "nodes", "links", "demands")


def test_every_field_kind_is_compared_somewhere():
    """A new kind of field must join the value-by-value comparison or the whole-file one."""
    kinds = {f.kind for _, fields, _ in _tables() for f in fields.values()}
    assert kinds <= {*VALUE_KINDS, *WHOLE_FILE_KINDS}, kinds - {*VALUE_KINDS, *WHOLE_FILE_KINDS}


FIELDS = [
    (f"{name}.{key}", f, part["properties"][key])
    for name, fields, part in _tables()
    for key, f in fields.items()
    if f.kind in VALUE_KINDS and "const" not in part["properties"][key]  # qcalc: 1, whole-file
]
CANDIDATES: list[Any] = [
    0, 1, -1, 0.5, 2, 3.0, 1.5, 1e6, 1e7, 1e300, True, False, None,
    "", " ", "text", "optimise", "optimize", "Optimise", "infinite", "qkd", "QKD",
    [], [0.1], [0.1, 0.0], [0.5, 0.3, 0.2], [0.7, 0.2, 0.1, 0.0], [0.0, 0.5], ["a"],
    ["a", "b"], ["a", ""], [1, "a"], {"a": 1},
    {"stage": ">= 1"}, {"stage": ">= x"}, {"stage": 1}, {"stage": "> 1e"},
    {"key_rate_bps": "<= .5"}, {"fidelity": ">=0.9"}, {"colour": ">= 1"},
]  # fmt: skip
_DOC = read_document("qcalc: 1\n", "<field>")


def _loader_accepts(f: sc.Field, value: Any) -> bool:
    try:
        sc._Checker(_DOC).value(("field",), copy.deepcopy(value), f, {})
    except ScenarioError:
        return False
    return True


def _schema_accepts(part: dict[str, Any], value: Any) -> bool:
    # A field's part may refer to the shared definitions (a distribution: $defs/distribution).
    return jsonschema.Draft202012Validator({**part, "$defs": _DEFS}).is_valid(value)


_DEFS = sc.json_schema()["$defs"]


def _values_for(f: sc.Field) -> list[Any]:
    values = list(CANDIDATES) + list(f.choices)
    for bound in (f.minimum, f.maximum):
        if bound is not None:
            values += [bound, bound - 1e-9, bound + 1e-9, [bound], [bound - 1e-9]]
    return values


@pytest.mark.parametrize(("name", "f", "part"), FIELDS, ids=[n for n, _, _ in FIELDS])
def test_schema_and_checker_agree_on_every_value_of_a_field(name, f, part):
    for value in _values_for(f):
        assert _schema_accepts(part, value) == _loader_accepts(f, value), (name, value)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**9), 10**12)
    | st.floats(-1e9, 1e12, allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from(["optimise", "optimize", "infinite", ">= 1", "== 2.5", "< 1e3"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None)
@given(field=st.sampled_from(FIELDS), value=json_values)
def test_schema_and_checker_agree_on_fuzzed_values(field, value):
    name, f, part = field
    assert _schema_accepts(part, value) == _loader_accepts(f, value), (name, value)


def _leaves(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(data, dict):
        for k, v in data.items():
            out.extend(_leaves(v, (*path, k)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.extend(_leaves(v, (*path, i)))
    return out


def _set(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return data


DOCS = {p.stem: read_file(str(p)) for p in BUNDLED}
SCHEMA = jsonschema.Draft202012Validator(sc.json_schema())


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(DOCS)),
    data=st.data(),
    how=st.sampled_from(["replace", "unknown key", "drop"]),
)
def test_a_fuzzed_scenario_the_checker_takes_passes_the_schema(name, data, how):
    """Whole scenarios with one value changed, a key added or one dropped: whatever the
    checker accepts, the schema accepts; an unknown key is refused by both. (The checker
    refuses more: names that must exist, ends that must differ, a decoy below μ.)"""
    doc = copy.deepcopy(DOCS[name])
    paths = _leaves(doc.data)
    path = data.draw(st.sampled_from(paths))
    target = doc.data
    for part in path:
        target = target[part]
    if how == "replace":
        doc.data = _set(doc.data, path, data.draw(st.sampled_from(CANDIDATES) | json_values))
    elif how == "unknown key":
        if (
            not isinstance(target, dict)
            or path == ("nodes",)
            or (path[:1] == ("hardware",) and len(path) == 2)
        ):
            return  # node and profile names are free
        target["colour_of_the_box"] = 1
    else:
        if not path or not isinstance(path[-1], str):
            return
        parent = doc.data
        for part in path[:-1]:
            parent = parent[part]
        del parent[path[-1]]
    try:
        sc.scenario_from_document(doc)
        loader = True
    except ScenarioError:
        loader = False
    schema = SCHEMA.is_valid(doc.data)
    if loader:
        assert schema, (name, how, path, [e.message for e in SCHEMA.iter_errors(doc.data)])
    if how == "unknown key":
        assert not loader and not schema


def test_optimize_is_spelt_both_ways_by_schema_and_checker():
    text = (
        Path(METRO)
        .read_text(encoding="utf-8")
        .replace("mean_photon_number: optimise", "mean_photon_number: optimize")
    )
    assert "optimize" in text
    doc = read_document(text, "metro-optimize.yaml")
    assert SCHEMA.is_valid(doc.data)
    sc.scenario_from_document(doc)


def test_schema_gives_defaults_to_editors():
    link = sc.json_schema()["$defs"]["link"]["properties"]
    assert link["attenuation_db_per_km"]["default"] == pytest.approx(0.2)


def test_a_trusted_chain_says_why_its_key_passes_the_plob_line(runner, tmp_path):
    """PLOB bounds one repeaterless channel (Pirandola et al., Nat. Commun. 8, 15043
    (2017)); a chain of trusted relays beats it end to end, and its plot says why."""
    backbone = str(SCENARIOS / "trusted-node-backbone.yaml")
    chain, direct = tmp_path / "chain.svg", tmp_path / "direct.svg"
    vary = "defaults.attenuation_db_per_km=0.15:0.3:3"
    result = runner.invoke(app, ["sweep", backbone, "--vary", vary, "--plot", str(chain)])
    assert result.exit_code == 0, result.output
    assert "key above the dashed PLOB line" in chain.read_text(encoding="utf-8")
    assert "33 hops" in chain.read_text(encoding="utf-8")
    result = runner.invoke(app, ["sweep", METRO, *VARY, "--plot", str(direct)])
    assert result.exit_code == 0, result.output
    assert "key above the dashed PLOB line" not in direct.read_text(encoding="utf-8")


def test_the_terminal_prints_the_same_lines_literally(capsys):
    """On a terminal rich only adds bold and dim; names with rich markup print as typed."""
    from qcalc.report import print_rich

    table = Table("[bold]plan[/bold] — links", ["link", "loss"], [["[i]a-b", "3 dB"]], ["[red]x"])
    print_rich([table], WIDTH)
    assert capsys.readouterr().out.rstrip("\n") == render_plain([table], WIDTH).rstrip("\n")


@pytest.mark.parametrize(("terminal", "ci"), [(True, "true"), (False, None)])
def test_no_progress_bar_in_ci_or_a_pipe(monkeypatch, capsys, terminal, ci):
    from qcalc import cli

    monkeypatch.setattr(cli, "PROGRESS_DELAY_S", 0.0)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    seen = []
    with cli.progress_bar("evaluating", 3) as tick:
        for _ in range(3):
            tick(1)
            seen.append(1)
    assert seen == [1, 1, 1]
    assert capsys.readouterr().err == ""


def test_a_progress_bar_shows_on_a_terminal_and_vanishes(monkeypatch, capsys):
    """Work on a terminal (not CI) that outlasts the delay draws a bar on stderr with its
    description and count; it is transient, so it erases itself when the work ends."""
    import threading

    from qcalc import cli

    class AtOnce:  # the delay's timer, fired as it starts: no race with a busy machine
        def __init__(self, delay_s: float, function: Any) -> None:
            self.function, self.daemon = function, True

        def start(self) -> None:
            self.function()

        def cancel(self) -> None:
            pass

    monkeypatch.setattr(threading, "Timer", AtOnce)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    with cli.progress_bar("sweeping 3 points", 3) as tick:
        for _ in range(3):
            tick(1)
    err = capsys.readouterr().err
    assert "sweeping 3 points" in err
    assert "3/3" in err  # the count beside the bar, as the bar stops
    assert "\x1b[" in err  # drawn in place and erased: cursor control, not a log line


@pytest.mark.parametrize("reduce", [False, True], ids=["points", "reduce"])
def test_a_streamed_sweep_counts_every_point_on_its_progress_bar(
    runner, monkeypatch, tmp_path, reduce
):
    """The streamed sweep (``-f csv -o FILE``, and ``--reduce``) advances its bar chunk
    by chunk to the number of points it was asked for."""
    from contextlib import contextmanager

    from qcalc import cli

    seen: list[tuple[str, int | None, int]] = []

    @contextmanager
    def recorder(what: str, total: int | None):
        ticks = [0]

        def tick(n: int) -> None:
            ticks[0] += n

        yield tick
        seen.append((what, total, ticks[0]))

    monkeypatch.setattr(cli, "progress_bar", recorder)
    args = ["sweep", METRO, "--vary", "links.alice-bob.length_km=10:200:20000"]
    args += (
        ["--reduce", "max:key_rate_bps"] if reduce else ["-f", "csv", "-o", str(tmp_path / "s.csv")]
    )
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert seen == [("sweeping 20,000 points", 20000, 20000)]


VQE = str(SCENARIOS / "distributed-vqe-two-qpus.yaml")
REASONS = ("  too slow: ", "  fidelity ", "  stage ", "  no pairs", "  no usable pairs")


@pytest.mark.parametrize(
    "flags",
    [[], ["--target-error", "0.9"], ["--target-error", "0.9", "--wall-time", "1000d"]],
    ids=["default", "loose", "loose-and-slow"],
)
def test_the_budget_table_says_why_a_deployment_cannot_serve(runner, flags):
    """The verdict in the table is the JSON's, with the time and the reason beside it."""
    args = ["budget", "vqe", "--scenario", VQE, *flags]
    table = runner.invoke(app, args, env={"COLUMNS": "80"})
    data = json.loads(runner.invoke(app, [*args, "-f", "json"]).stdout)
    assert table.exit_code == (0 if data["feasible"] else 1), table.output
    _check_width(table.stdout)
    lines = table.stdout.splitlines()
    assert f"feasible: {'yes' if data['feasible'] else 'no'}" in lines
    assert any(line.startswith("time to complete: ") for line in lines)
    assert any(line.startswith("raw pairs: ") for line in lines)
    reasons = [line for line in lines if line.startswith(REASONS)]
    assert bool(reasons) != data["feasible"]  # a "no" always says why, a "yes" never
    if not data["feasible"] and not data["feasibility"]["rate_ok"]:
        slow = [r for r in reasons if r.startswith("  too slow: ")]
        assert not slow or "would take" in table.stdout
