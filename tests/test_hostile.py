"""Hostile input through the command line: qcalc refuses it with exit code 2 and a message
that names the place, never a traceback, and never takes long.

tests/test_scenario.py already checks the exact messages of ordinary mistakes (misspelt and
duplicate keys, NaN in a length, units in numbers, YAML 1.1 booleans, ranges, unknown names,
an empty file, a top-level list, two documents, a python/object/apply tag, missing files,
\\xff\\xfe bytes) and, through the library, the alias-bomb, depth, size and merge-key
guards. This file drives the same guards and many more through ``typer.testing.CliRunner``
and ends with batch isolation: one broken file in a folder of 100 never stops the others.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import MINIMAL, ROOT
from typer.testing import CliRunner, Result

from qcalc.cli import app

#: Hang guard on one hostile file through the CLI, not a benchmark: the work each guard
#: bounds would otherwise take minutes or exhaust memory, and a wall-clock bound under
#: 30 s flakes on a busy machine. [s]
SECONDS = 30.0
#: PyYAML's scanner spends about 1.5 s on a deeply nested flow collection before the
#: depth guard can fire (measured: 1.4 s for 3,000 to 3,000,000 open brackets). [s]
DEEP_SECONDS = 30.0
#: Longest error message a file may provoke. A message quotes the offending value; a
#: megabyte of value must not become a megabyte of message. [characters]
MESSAGE_CHARS = 1000

FAST = MINIMAL.replace("1.0e9}", "1.0e9, mean_photon_number: 0.5, decoy_photon_numbers: [0.1, 0]}")


@pytest.fixture(scope="module", autouse=True)
def warm_cli(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Import everything the stage command loads lazily, so time bounds measure the file."""
    path = tmp_path_factory.mktemp("warm") / "warm.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    assert CliRunner().invoke(app, ["stage", str(path), "-f", "json"]).exit_code == 0


def stage(runner: CliRunner, path: str, *args: str, seconds: float = SECONDS) -> Result:
    """``qcalc stage PATH -f json``, timed, with no exception escaping the CLI."""
    start = time.perf_counter()
    result = runner.invoke(app, ["stage", path, "-f", "json", *args])
    elapsed = time.perf_counter() - start
    assert not isinstance(result.exception, Exception), (
        f"{type(result.exception).__name__} escaped the CLI: {result.exception}"
    )
    assert "Traceback" not in result.output
    assert elapsed < seconds, f"took {elapsed:.2f} s"
    return result


def refused(runner: CliRunner, path: str, seconds: float = SECONDS) -> str:
    """Run the file, expect exit code 2, and return the message after ``qcalc: error: ``."""
    result = stage(runner, path, seconds=seconds)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    message = result.stderr.strip()
    assert message.startswith(f"qcalc: error: {path}"), message[:300]
    assert len(message) < MESSAGE_CHARS, f"{len(message)} characters: {message[:300]}…"
    return message.removeprefix("qcalc: error: ")


def replace(old: str, new: str, text: str = MINIMAL) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# ----------------------------------------------------------------------------- size


def _bomb(levels: int = 9) -> list[str]:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return lines


@pytest.mark.parametrize(
    ("what", "text", "where"),
    [
        ("billion laughs", "\n".join(_bomb()) + "\n", ":1:16: a5[0][6][8][9][0][2]: "),
        (
            "billion laughs of mappings",
            "a0: &a0 {"
            + ", ".join(f"k{j}: x" for j in range(10))
            + "}\n"
            + "".join(
                f"a{i}: &a{i} {{" + ", ".join(f"k{j}: *a{i - 1}" for j in range(10)) + "}\n"
                for i in range(1, 9)
            ),
            ":1:28: a5.k0.k6.k8.k9.k0.k2: ",
        ),
        (
            "one list aliased a thousand times",
            "big: &big ["
            + ", ".join(["x"] * 1000)
            + "]\nlist: ["
            + ", ".join(["*big"] * 1000)
            + "]\n",
            ":1:2412: list[199][800]: ",
        ),
        (
            "a bomb inside the nodes",
            "qcalc: 1\nnodes:\n  " + "\n  ".join(_bomb()) + "\n",
            ":3:18: nodes.a5[0][6][8][9][0][2]: ",
        ),
    ],
)
def test_alias_bombs_are_refused_quickly(runner, write, what, text, where):
    path = write(text)
    assert refused(runner, path) == (
        f"{path}{where}the document expands to more than 200,000 values (an alias bomb?); "
        "expected a scenario of ordinary size (set QCALC_MAX_YAML_VALUES to raise the limit)"
    ), what


def test_file_over_10_mb_is_refused_before_parsing(runner, write):
    path = write("qcalc: 1\n# " + "x" * (10 * 1024 * 1024) + "\n")
    assert refused(runner, path) == (
        f"{path}: the file is larger than 10 MB; expected a scenario of ordinary size "
        "(set QCALC_MAX_YAML_BYTES to raise the limit)"
    )


def test_multibyte_text_over_10_mb_is_refused(runner, write):
    # 3.5 million three-byte characters: under 10 M characters, over 10 MB.
    path = write("qcalc: 1\n# " + "名" * 3_500_000 + "\n")
    assert "larger than 10 MB" in refused(runner, path)


def test_long_free_text_is_fine(runner, write):
    path = write(FAST + "description: " + "d" * 300_000 + "\n")
    result = stage(runner, path)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["demands"][0]["stage"] == 2


@pytest.mark.parametrize(
    ("what", "text", "where"),
    [
        ("100,000 nested lists", "qcalc: " + "[" * 100_000 + "]" * 100_000 + "\n", ":"),
        ("70 nested lists in nodes", "qcalc: 1\nnodes: " + "[" * 70 + "]" * 70 + "\n", ":2:72: "),
        ("200 nested flow mappings", "qcalc: " + "{a: " * 200 + "1" + "}" * 200 + "\n", ":1:264: "),
    ],
)
def test_nesting_deeper_than_the_limit_is_refused(runner, write, what, text, where):
    path = write(text)
    message = refused(runner, path, seconds=DEEP_SECONDS)
    assert message.startswith(f"{path}{where}"), what
    assert message.endswith("nesting deeper than 64 levels is not accepted")


def test_block_mapping_nesting_names_the_field_path(runner, write):
    text = "qcalc: 1\nnodes:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(80))
    path = write(text + "  " * 81 + "x\n")
    message = refused(runner, path)
    keys = ".".join(f"k{i}" for i in range(64))
    assert message.startswith(f"{path}:67:131: nodes.{keys}: nesting deeper than 64 levels")


# ----------------------------------------------------------------------------- encoding


@pytest.mark.parametrize(
    ("what", "content", "byte"),
    [
        ("Latin-1 é in a name", MINIMAL.encode().replace(b"alice", b"al\xe9ce", 1), 20),
        ("UTF-16 with a byte-order mark", MINIMAL.encode("utf-16"), 0),
        ("a PNG image", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), 0),
        ("a lone UTF-8 continuation byte", MINIMAL.encode() + b"# \x80\n", len(MINIMAL) + 2),
    ],
)
def test_non_utf8_files_name_the_byte(runner, write, what, content, byte):
    path = write(content)
    assert refused(runner, path) == (
        f"{path}: is not UTF-8 text (byte {byte}); expected a YAML text file"
    ), what


def test_nul_bytes_in_utf8_text_are_refused(runner, write):
    path = write(MINIMAL + "\x00\n")
    assert refused(runner, path) == f"{path}: the file holds NUL bytes; expected a YAML text file"


@pytest.mark.parametrize("char", ["\x07", "\x1b", "\x7f", "\ufffe"])
def test_control_characters_are_refused_with_a_message(runner, write, char):
    # YAML forbids non-printable characters; PyYAML's reader raises on them before any
    # document is composed, and that error must become a message, not a traceback.
    path = write(replace("bob:", f"b{char}ob:"))
    message = refused(runner, path)
    assert "character" in message


def test_utf8_byte_order_mark_and_crlf_line_ends_are_fine(runner, write):
    path = write("\ufeff" + FAST.replace("\n", "\r\n"))
    assert stage(runner, path).exit_code == 0


# ----------------------------------------------------------------------------- shape


@pytest.mark.parametrize(
    ("what", "text", "message"),
    [
        ("only spaces", "   \n\n", ": the file is empty; expected a scenario mapping"),
        ("only a comment", "# nothing\n", ": the file is empty; expected a scenario mapping"),
        (
            "two empty documents",
            "---\n---\n",
            ":2:1: the file holds several YAML documents; expected exactly one",
        ),
        (
            "a scenario twice",
            MINIMAL + "---\n" + MINIMAL,
            ":9:1: the file holds several YAML documents; expected exactly one",
        ),
        (
            "a number",
            "42\n",
            ":1:1: the file holds the value 42; expected a scenario mapping with the keys "
            "qcalc, nodes, links, demands",
        ),
        (
            "a text",
            "hello\n",
            ":1:1: the file holds the value 'hello'; expected a scenario mapping with the keys "
            "qcalc, nodes, links, demands",
        ),
        (
            "null",
            "~\n",
            ":1:1: the file holds the value None; expected a scenario mapping with the keys "
            "qcalc, nodes, links, demands",
        ),
        # libyaml's words, or PyYAML's where libyaml is missing: only the place is checked
        ("a tab for indentation", replace("  alice", "\talice"), ":3:1: "),
        (
            "an unclosed flow sequence",
            replace("[alice, bob], length_km", "[alice, bob, length_km"),
            ":6:38: ",
        ),
    ],
)
def test_files_that_are_not_one_scenario_mapping(runner, write, what, text, message):
    path = write(text)
    assert refused(runner, path).startswith(path + message), what


def test_document_end_marker_is_fine(runner, write):
    assert stage(runner, write(FAST + "...\n")).exit_code == 0


# ----------------------------------------------------------------------------- tags


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ("!!python/object:os.system {}", "tag:yaml.org,2002:python/object:os.system"),
        ("!!python/object/new:os.system [echo]", "tag:yaml.org,2002:python/object/new:os.system"),
        ("!!python/name:os.system ''", "tag:yaml.org,2002:python/name:os.system"),
        ("!!python/module:os ''", "tag:yaml.org,2002:python/module:os"),
        ("!!binary aGVsbG8=", "tag:yaml.org,2002:binary"),
        ("!!timestamp 2001-12-14", "tag:yaml.org,2002:timestamp"),
        ("!!set {a, b}", "tag:yaml.org,2002:set"),
        ("!!omap [a: 1]", "tag:yaml.org,2002:omap"),
        ("!!pairs [a: 1]", "tag:yaml.org,2002:pairs"),
        ("!custom 1", "!custom"),
        ("!<tag:example.com,2000:app/foo> 1", "tag:example.com,2000:app/foo"),
    ],
)
def test_non_core_tags_are_refused_where_they_stand(runner, write, value, tag):
    path = write(replace("length_km: 10", f"length_km: {value}"))
    assert refused(runner, path) == (
        f"{path}:6:37: links[0].length_km: the tag {tag!r} is not allowed; scenarios use "
        "plain YAML values only"
    )


def test_core_tags_are_fine(runner, write):
    # !!float on a number is the core schema spelled out; !!str makes it text.
    assert stage(runner, write(replace("length_km: 10", "length_km: !!float 10"))).exit_code == 0
    path = write(replace("length_km: 10", "length_km: !!str 10"))
    assert refused(runner, path) == (
        f"{path}:6:37: links[0].length_km: is the text '10'; expected a number ≥ 0 and ≤ 1e+06 in km; "
        "write 10 (the unit is in the key's name)"
    )


@pytest.mark.parametrize("key", ["!!python/name:os.system bob", "!custom bob"])
def test_tags_on_keys_are_refused_too(runner, write, key):
    # A tag on a mapping key is dropped silently today (the node is read as plain "bob");
    # the non-core-tag rule should hold for keys as it does for values.
    path = write(replace("  bob:", f"  {key}:"))
    assert "is not allowed" in refused(runner, path)


# ----------------------------------------------------------------------------- files


def test_a_folder_given_as_a_scenario_file(runner, tmp_path):
    folder = tmp_path / "looks-like.yaml"
    folder.mkdir()
    assert refused(runner, str(folder)) == f"{folder}: is a folder; expected a scenario file"


def test_an_unreadable_file(runner, write):
    path = write(MINIMAL)
    os.chmod(path, 0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root: a mode-000 file is still readable")
        assert refused(runner, path) == f"{path}: cannot be read: Permission denied"
    finally:
        os.chmod(path, 0o644)


# ----------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("length_km: 10", "length_km: .inf", ":6:37: links[0].length_km: is inf; "),
        ("length_km: 10", "length_km: -.inf", ":6:37: links[0].length_km: is -inf; "),
        ("length_km: 10", "length_km: .NaN", ":6:37: links[0].length_km: is nan; "),
        ("length_km: 10", "length_km: 1e400", ":6:37: links[0].length_km: is inf; "),
        ("efficiency: 0.5", "efficiency: .nan", ":4:32: nodes.bob.detector.efficiency: is nan; "),
        (
            "repetition_rate_hz: 1.0e9",
            "repetition_rate_hz: .inf",
            ":3:61: nodes.alice.source.repetition_rate_hz: is inf; ",
        ),
        (
            "1.0e9}",
            "1.0e9, decoy_photon_numbers: [.nan, 0]}",
            ":3:91: nodes.alice.source.decoy_photon_numbers[0]: is nan; ",
        ),
    ],
)
def test_nan_and_infinity_are_refused(runner, write, old, new, where):
    path = write(replace(old, new))
    message = refused(runner, path)
    assert message.startswith(path + where)
    assert "expected a finite number" in message


@pytest.mark.parametrize("bound", ["1e999", "nan", "inf"])
def test_non_finite_expectations_are_refused(runner, write, bound):
    path = write(
        replace(
            "- {ends: [alice, bob]}", f"- {{ends: [alice, bob], expect: {{stage: '>= {bound}'}}}}"
        )
    )
    assert refused(runner, path).startswith(
        f"{path}:8:42: demands[0].expect.stage: is '>= {bound}'; expected a comparison"
    )


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("length_km: 10", "length_km: 1" + "0" * 400, ":6:37: links[0].length_km: "),
        ("length_km: 10", "length_km: -1" + "0" * 400, ":6:37: links[0].length_km: "),
        ("efficiency: 0.5", "efficiency: 1" + "0" * 400, ":4:32: nodes.bob.detector.efficiency: "),
        ("qcalc: 1", "qcalc: 1" + "0" * 400, ":1:8: qcalc: "),
        ("length_km: 10", "length_km: !!int 1" + "0" * 400, ":6:37: links[0].length_km: "),
        (
            "- {ends: [alice, bob]}",
            "- {ends: [alice, bob], distillation: {protocol: dejmps, rounds: 1" + "0" * 400 + "}}",
            ":8:67: demands[0].distillation.rounds: ",
        ),
    ],
    ids=["length", "negative", "efficiency", "version", "tagged", "integer field"],
)
def test_integers_beyond_float_range_are_refused(runner, write, old, new, where):
    # 10**400 is a valid YAML integer but no float holds it: today float(10**400) raises
    # OverflowError inside the range check and the CLI dies with it.
    path = write(replace(old, new))
    assert refused(runner, path).startswith(path + where)


def test_integer_past_python_digit_limit_gives_a_short_message(runner, write):
    path = write(replace("length_km: 10", "length_km: 1" + "0" * 5000))
    assert refused(runner, path).startswith(f"{path}:6:37: links[0].length_km: ")


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        (
            "length_km: 10",
            "length_km: 10, channel: " + "x" * 100_000,
            ":6:50: links[0].channel: ",
        ),
        ("length_km: 10", "length_km: " + "x" * 100_000, ":6:37: links[0].length_km: "),
        (
            "length_km: 10",
            "length_km: '" + "9" * 100_000 + " km'",
            ":6:37: links[0].length_km: ",
        ),
        (
            "detector: {efficiency: 0.5}",
            "detector: " + "p" * 100_000,
            ":4:19: nodes.bob.detector: ",
        ),
        ("alice, bob]}", "alice, " + "c" * 100_000 + "]}", ":8:12: demands[0].ends: "),
    ],
    ids=["enum", "number", "number with unit", "profile name", "node name"],
)
def test_a_long_value_gives_a_short_message(runner, write, old, new, where):
    # Messages quote the value; 100,000 characters of value must be shortened, not echoed.
    path = write(replace(old, new))
    assert refused(runner, path).startswith(path + where)


def test_node_name_longer_than_a_yaml_simple_key(runner, write):
    # PyYAML limits an implicit key to 1024 characters; the error still has a location.
    path = write(MINIMAL.replace("alice", "a" * 100_000))
    assert refused(runner, path).startswith(f"{path}:3:100003: ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("? [a, b]\n: 1\n", ":1:3: a mapping key must be a plain name"),
        ("{a: 1}: 2\n", ":1:1: a mapping key must be a plain name"),
        (
            replace("  bob: {detector", "  ? [a, b]\n  : {}\n  bob: {detector"),
            ":4:5: nodes: a mapping key must be a plain name",
        ),
    ],
)
def test_keys_that_are_not_names(runner, write, text, message):
    path = write(text)
    assert refused(runner, path) == path + message


def test_description_must_be_text(runner, write):
    # The JSON Schema says description is a string; `description: [a, b]` is accepted today
    # and printed as "['a', 'b']".
    path = write(replace("qcalc: 1", "qcalc: 1\ndescription: [a, b]"))
    assert refused(runner, path).startswith(f"{path}:2:14: description: ")


@pytest.mark.parametrize(
    "name", ["名古屋", "🛰️-α", "אליס", "e\u0301toile", "nœud 1", "1", "~", "a: b", "[x]"]
)
def test_unicode_and_odd_node_names_work(runner, write, name):
    text = FAST.replace("alice", json.dumps(name, ensure_ascii=False))
    path = write(text)
    result = stage(runner, path)
    assert result.exit_code == 0, result.output
    demand = json.loads(result.stdout)["demands"][0]
    assert demand["path"] == [name, "bob"]
    assert demand["name"] == f"{name}-bob"
    assert demand["stage"] == 2
    table = runner.invoke(app, ["stage", path])
    assert table.exit_code == 0 and name in table.stdout


def test_legitimate_anchors_and_aliases_are_fine(runner, write):
    text = replace(
        "- {ends: [alice, bob], length_km: 10}", "- {ends: &e [alice, bob], length_km: 10}", FAST
    )
    text = replace("- {ends: [alice, bob]}", "- {ends: *e}", text)
    assert stage(runner, write(text)).exit_code == 0


def test_huge_distillation_round_count_neither_hangs_nor_crashes(tmp_path):
    # rounds: 1e308 passes the whole-number check and the distillation loop then runs for
    # ever (1e5 rounds already take seconds and overflow). In a subprocess with a timeout,
    # so that the hang fails this test instead of the whole session.
    chain = (ROOT / "scenarios" / "repeater-chain-1000km.yaml").read_text(encoding="utf-8")
    path = tmp_path / "rounds.yaml"
    path.write_text(
        replace("rounds: 2}", "rounds: 1e308}", chain),
        encoding="utf-8",
    )
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "qcalc", "stage", str(path), "-f", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("qcalc stage ran for more than 60 s on distillation rounds: 1e308")
    assert time.perf_counter() - start < 60.0
    assert "Traceback" not in done.stderr
    if done.returncode == 2:
        assert "demands[0].distillation.rounds: " in done.stderr
    else:
        assert done.returncode in (0, 1), done.stderr
        demand = json.loads(done.stdout)["demands"][0]
        assert 0.0 <= demand["fidelity"] <= 1.0 and demand["pair_rate_hz"] >= 0.0


# ----------------------------------------------------------------------------- batch


GOOD = FAST.replace("- {ends: [alice, bob]}", "- {ends: [alice, bob], expect: {stage: '>= 1'}}")
BROKEN = {
    "bad-yaml": replace("[alice, bob], length_km", "[alice, bob, length_km", GOOD),
    "schema-error": replace("length_km: 10", "lenght_km: 10", GOOD),
    "not-utf8": GOOD.encode().replace(b"alice", b"al\xe9ce", 1),
    # evaluates, then the satellite pass never rises above its mask
    "physics-edge": """\
qcalc: 1
nodes:
  sat: {role: trusted_relay, orbit: {altitude_km: 500},
        source: {kind: weak_coherent, repetition_rate_hz: 1.0e8, mean_photon_number: 0.5,
                 decoy_photon_numbers: [0.1, 0], wavelength_nm: 850}}
  gs: {detector: {efficiency: 0.25, dark_count_probability: 1.0e-6}}
links:
  - {ends: [sat, gs], channel: satellite, min_elevation_deg: 60, max_elevation_deg: 30,
     tx_aperture_m: 0.3, rx_aperture_m: 1.0, divergence_urad: 5, zenith_transmittance: 0.5}
demands:
  - {ends: [sat, gs]}
""",
    # an integer no float can hold (it once escaped as an OverflowError)
    "huge-integer": replace("length_km: 10", "length_km: 1" + "0" * 400, GOOD),
}
#: Long but valid: the key rate is exactly zero (its expectation fails), the file evaluates.
EDGE_OK = replace("length_km: 10", "length_km: 1.0e5", GOOD)


def _folder(root: Path, broken: dict[str, str | bytes]) -> tuple[list[str], list[str]]:
    """100 files: the broken ones, one far-edge valid one, and good ones to make 100."""
    root.mkdir(parents=True, exist_ok=True)
    bad = []
    for i, (name, content) in enumerate(broken.items()):
        path = root / f"{i * 7 + 3:03d}-{name}.yaml"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        bad.append(str(path))
    (root / "050-edge.yaml").write_text(EDGE_OK, encoding="utf-8")
    names = {p.name for p in root.iterdir()}
    i = 0
    while len(names) < 100:
        name = f"{i:03d}-good.yaml"
        if not any(n.startswith(f"{i:03d}-") for n in names):
            (root / name).write_text(GOOD, encoding="utf-8")
            names.add(name)
        i += 1
    return sorted(str(root / n) for n in names), bad


@pytest.mark.parametrize("kind", list(BROKEN))
def test_batch_of_100_with_one_broken_file_evaluates_the_other_99(runner, tmp_path, kind):
    files, bad = _folder(tmp_path / kind, {kind: BROKEN[kind]})
    start = time.perf_counter()
    result = runner.invoke(app, ["batch", str(tmp_path / kind), "-f", "json"])
    assert time.perf_counter() - start < 30.0
    assert not isinstance(result.exception, Exception), result.exception
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["summary"]["files"] == 100
    assert data["summary"]["errors"] == 1
    assert data["summary"]["demands"] == 99
    assert data["summary"]["failed"] == 1  # the 1e5 km edge: key 0, so stage >= 1 fails
    reported = [s["file"] for s in data["scenarios"]]
    assert reported == files
    errors = [s for s in data["scenarios"] if "error" in s]
    assert [e["file"] for e in errors] == bad
    assert errors[0]["error"].startswith(bad[0])
    assert f"qcalc: error: {bad[0]}" in result.stderr
    for s in data["scenarios"]:
        if "error" not in s:
            d = s["demands"][0]
            assert d["stage"] in (0, 2) and d["key_rate_bps"] >= 0.0


def test_batch_isolation_in_csv_and_junit(runner, tmp_path):
    files, bad = _folder(tmp_path / "all", BROKEN)
    text = runner.invoke(app, ["batch", str(tmp_path / "all"), "-f", "csv"]).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["file"] for r in rows] == files
    assert sorted(r["file"] for r in rows if r["passed"] == "error") == sorted(bad)
    assert all(r["error"].startswith(r["file"]) for r in rows if r["passed"] == "error")
    assert sum(r["passed"] == "yes" for r in rows) == 100 - len(bad) - 1

    xml = runner.invoke(app, ["batch", str(tmp_path / "all"), "-f", "junit"]).stdout
    root = ET.fromstring(xml.split("\n", 1)[1])
    assert root.get("tests") == "100"
    assert root.get("errors") == str(len(bad))
    assert root.get("failures") == "1"
    suites = root.findall("testsuite")
    assert [s.get("file") for s in suites] == files
    errored = [s.get("file") for s in suites if s.find(".//error") is not None]
    assert sorted(errored) == sorted(bad)
