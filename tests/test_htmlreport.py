"""``qcalc report``: the HTML page parsed — structure, accessibility, escaping, no
external resource, figures as well-formed SVG — and its exit codes, through the CLI.

The page is read with :mod:`html.parser` (as a browser tokenises it) and each inline
SVG with :mod:`xml.etree` (it must be well-formed XML as well).
"""

from __future__ import annotations

import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from conftest import MINIMAL, SCENARIOS
from hypothesis import given, settings
from hypothesis import strategies as st

from qcalc import htmlreport, svg
from qcalc.cli import app
from qcalc.outputs import xml_value

SVG_NS = "{http://www.w3.org/2000/svg}"

HOSTILE = """\
qcalc: 1
name: "<script>alert(1)</script> & <img src=x onerror=alert(2)>"
nodes:
  "a<b>": {source: {kind: weak_coherent, repetition_rate_hz: 1.0e9}}
  "c'\\"d": {detector: {efficiency: 0.5}}
links:
  - {name: "<svg onload=alert(3)>", ends: ["a<b>", "c'\\"d"], length_km: 30}
demands:
  - name: "</table><script>alert(4)</script>"
    ends: ["a<b>", "c'\\"d"]
    expect: {key_rate_bps: ">= 1e12"}
"""


class Page(HTMLParser):
    """Every start tag with its attributes, the text, and the headings in order."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.headings: list[tuple[int, str]] = []
        self._heading: list[str] | None = None
        self.declarations: list[str] = []
        self.feed(text)
        self.close()

    def handle_decl(self, decl: str) -> None:
        self.declarations.append(decl)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = []

    def handle_endtag(self, tag: str) -> None:
        if re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self.headings.append((int(tag[1]), "".join(self._heading)))
            self._heading = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._heading is not None:
            self._heading.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for t, attrs in self.tags if t == tag]


def svgs(text: str) -> list[ET.Element]:
    """Each inline <svg>…</svg>, parsed as XML."""
    return [ET.fromstring(m) for m in re.findall(r"<svg\b.*?</svg>", text, re.S)]


def render(*files: str | Path) -> str:
    return htmlreport.render(htmlreport.collect([str(f) for f in files]))


@pytest.fixture(scope="module")
def metro() -> str:
    return render(SCENARIOS / "metro-fibre.yaml")


def test_page_is_a_complete_accessible_document(metro: str) -> None:
    page = Page(metro)
    assert page.declarations == ["DOCTYPE html"]
    assert page.all("html") == [{"lang": "en"}]
    metas = page.all("meta")
    assert {"charset": "utf-8"} in metas
    assert {"name": "viewport", "content": "width=device-width, initial-scale=1"} in metas
    assert [h for h in page.headings if h[0] == 1] == [(1, "Metro fibre link")]
    # Headings never skip a level (h2 after h1, h4 only under an h3).
    levels = [level for level, _ in page.headings]
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False))
    for expected in ("Network", "Demands", "Links"):
        assert (3, expected) in page.headings
    assert (4, "Demand key: stage 2 (prepare and measure) — pass") in page.headings
    # Every table has a caption and column headers with a scope; ids are unique.
    assert len(page.all("table")) == len(page.all("caption")) >= 4
    assert all(th.get("scope") in ("col", "row", "rowgroup") for th in page.all("th"))
    ids = [a["id"] for _, a in page.tags if "id" in a]
    assert len(ids) == len(set(ids))
    # Print and phone styles are there.
    style = "".join(page.text)
    assert "@media print" in style and "@media (max-width:40rem)" in style


def test_figures_are_labelled_well_formed_svg(metro: str) -> None:
    page = Page(metro)
    figures = svgs(metro)
    assert len(figures) == 3  # the network, the key rates, the link's waterfall
    ids = {a["id"] for _, a in page.tags if "id" in a}
    for figure in figures:
        assert figure.get("role") == "img"
        title, desc = figure.find(SVG_NS + "title"), figure.find(SVG_NS + "desc")
        assert title is not None and title.text and desc is not None and desc.text
        labelled = (figure.get("aria-labelledby") or "").split()
        assert labelled == [title.get("id"), desc.get("id")]
        assert set(labelled) <= ids
    network, rates, waterfall = figures
    assert network.find(SVG_NS + "title").text == "Network of Metro fibre link"  # type: ignore[union-attr]
    # The waterfall: a bar per term of `qcalc links --format json`, then the total.
    assert "fibre attenuation 10 dB" in (waterfall.find(SVG_NS + "desc").text or "")  # type: ignore[union-attr]
    bars = waterfall.findall(f"{SVG_NS}g/{SVG_NS}rect")
    assert len(bars) == 4  # fibre, connectors and splices, detector, total


def test_numbers_are_those_of_stage_and_links(metro: str, runner) -> None:
    """The report prints what `qcalc stage/links --format json` compute, through fmt."""
    from qcalc.units import fmt

    stage = json.loads(
        runner.invoke(app, ["stage", str(SCENARIOS / "metro-fibre.yaml"), "-f", "json"]).stdout
    )
    links = json.loads(
        runner.invoke(app, ["links", str(SCENARIOS / "metro-fibre.yaml"), "-f", "json"]).stdout
    )
    text = " ".join(Page(metro).text)
    demand = stage["demands"][0]
    assert fmt(demand["key_rate_bps"], "bit/s") in text  # 8.057 Mbit/s
    for s in demand["stages"]:
        assert s["reason"] in text
    link = links["links"][0]
    for value, unit in ((link["loss_db"], "dB"), (link["delay_s"], "s")):
        assert fmt(value, unit) in text
    for name in link["terms_db"]:
        assert name in text
    assert "key_rate_bps >= 1e+06" in text


def test_nothing_is_loaded_from_anywhere(metro: str) -> None:
    page = Page(metro)
    for tag in ("script", "link", "img", "iframe", "object", "embed", "base", "form"):
        assert page.all(tag) == [], tag
    for _, attrs in page.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), name
            if name in ("src", "href", "xlink:href", "action", "data", "poster"):
                assert (value or "").startswith("#"), (name, value)
    assert "url(" not in metro and "@import" not in metro
    policy = next(m for m in page.all("meta") if m.get("http-equiv"))
    assert "default-src 'none'" in (policy["content"] or "")


def test_hostile_names_stay_text(write) -> None:
    text = render(write(HOSTILE))
    page = Page(text)
    assert page.all("script") == [] and page.all("img") == []
    assert all(not n.startswith("on") for _, a in page.tags for n in a)
    # Only the report's own SVGs: the link named "<svg onload=…>" made none.
    assert len(page.all("svg")) == 3
    said = "".join(page.text)
    assert "<script>alert(1)</script> & <img src=x onerror=alert(2)>" in said
    assert "</table><script>alert(4)</script>" in said
    assert "a<b> → c'\"d" in said
    for figure in svgs(text):
        assert figure.find(SVG_NS + "title") is not None  # still well-formed XML
    ids = [a["id"] for _, a in page.tags if "id" in a]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[a-z0-9-]+", i or "") for i in ids)


def test_summary_of_several_files_counts_as_batch(write, runner, tmp_path: Path) -> None:
    failing = write(
        MINIMAL.replace(
            "{ends: [alice, bob]}\n", "{ends: [alice, bob], expect: {stage: '>= 3'}}\n"
        ),
        "failing.yaml",
    )
    files = [str(SCENARIOS / "metro-fibre.yaml"), failing]
    target = tmp_path / "out.html"
    result = runner.invoke(app, ["report", *files, "--output", str(target)])
    assert result.exit_code == 1  # an expectation failed; the report is still written
    text = target.read_text(encoding="utf-8")
    batch = runner.invoke(app, ["batch", *files, "-f", "markdown"]).stdout
    counts = re.search(r"(\d+ files?, \d+ demands?: .*? files? with errors)", batch)
    assert counts is not None and counts.group(1) in text
    page = Page(text)
    assert (2, "Summary") in page.headings
    assert [a["href"] for a in page.all("a")][:2] == ["#s1", "#s2"]
    assert "FAIL" in "".join(page.text)
    rowgroups = [a for a in page.all("th") if a.get("scope") == "rowgroup"]
    assert len(rowgroups) == 2


def test_broken_file_exit_2_and_still_reported(write, runner, tmp_path: Path) -> None:
    broken = write("qcalc: 1\nnodes: {a: {role: hub}}\n", "broken.yaml")
    target = tmp_path / "out.html"
    result = runner.invoke(
        app, ["report", str(SCENARIOS / "metro-fibre.yaml"), broken, "-o", str(target)]
    )
    assert result.exit_code == 2
    assert "qcalc: error: " in result.stderr and "broken.yaml" in result.stderr
    text = target.read_text(encoding="utf-8")
    assert "Metro fibre link" in text and "ERROR" in text
    # The located message, in the file's section.
    assert "broken.yaml:1:1: misses the required key 'links'" in "".join(Page(text).text)


def test_usage_errors_exit_2(runner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 2 and "give scenario files or folders" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["report", str(empty)])
    assert result.exit_code == 2 and "no scenario files" in result.stderr
    result = runner.invoke(app, ["report", str(SCENARIOS / "metro-fibre.yaml"), "--days", "3"])
    assert result.exit_code == 2 and "give --from DATE too" in result.stderr
    # The report may not overwrite what it reads.
    scenario = tmp_path / "s.yaml"
    scenario.write_text(MINIMAL, encoding="utf-8")
    result = runner.invoke(app, ["report", str(scenario), "-o", str(scenario)])
    assert result.exit_code == 2 and "destroy the input" in result.stderr
    assert scenario.read_text(encoding="utf-8") == MINIMAL


def test_stdout_without_output(runner) -> None:
    result = runner.invoke(app, ["report", str(SCENARIOS / "metro-fibre.yaml")])
    assert result.exit_code == 0
    assert result.stdout.startswith("<!DOCTYPE html>") and result.stdout.rstrip().endswith(
        "</html>"
    )


def test_same_input_same_bytes(metro: str) -> None:
    assert render(SCENARIOS / "metro-fibre.yaml") == metro


def test_satellite_pass_and_trusted_chain() -> None:
    """A whole pass: its per-pass and per-day key in a table; a trusted chain: each hop's
    key, the limiting hop in the chart; what it would take for a demand that falls short."""
    text = render(SCENARIOS / "micius-graz-2018.yaml")
    said = " ".join(Page(text).text)
    assert "key bits per day" in said and "pass duration" in said
    assert "(limiting)" in said
    assert "limiting hop" in " ".join(f.find(SVG_NS + "desc").text or "" for f in svgs(text))  # type: ignore[union-attr]
    assert "What it would take" in said
    assert "Nodes in orbit" not in said  # no coordinates in this file: a layout, said so
    assert "the scenario gives no coordinates" in said


# ----------------------------------------------------------------------------- layout


def _node(name: str, kind: str = "end", lat: float | None = None, lon: float | None = None):
    return htmlreport.NodeInfo(name, kind, lat, lon)


def test_layout_from_coordinates_is_a_map_north_up() -> None:
    nodes = [
        _node("graz", lat=47.07, lon=15.49),
        _node("xinglong", lat=40.40, lon=117.58),
        _node("delingha", lat=37.38, lon=97.73),
        _node("micius", "orbit"),
    ]
    edges = [("micius", "graz"), ("micius", "xinglong"), ("micius", "delingha")]
    placed, caption, to_scale = htmlreport.layout(nodes, edges)
    assert to_scale
    at = {p.name: p for p in placed}
    assert at["graz"].x < at["delingha"].x < at["xinglong"].x  # west to east
    assert at["graz"].y < at["xinglong"].y < at["delingha"].y  # north up
    assert at["micius"].y < min(at[n].y for n in ("graz", "xinglong", "delingha"))
    assert all(0 <= p.x <= 1 and 0 <= p.y <= 1 for p in placed)
    assert "latitude and longitude" in caption and "in orbit" in caption


def test_layout_across_the_date_line_takes_the_short_way() -> None:
    placed, _, _ = htmlreport.layout(
        [_node("fiji", lat=-18.0, lon=178.0), _node("samoa", lat=-13.8, lon=-172.0)],
        [("fiji", "samoa")],
    )
    at = {p.name: p for p in placed}
    assert at["fiji"].x < at["samoa"].x


def test_layout_without_coordinates_says_so() -> None:
    chain = [_node(n) for n in "abcde"]
    placed, caption, _ = htmlreport.layout(chain, [("a", "b"), ("c", "b"), ("c", "d"), ("d", "e")])
    assert [p.name for p in placed] == list("abcde") and "chain" in caption
    assert "no coordinates" in caption and "carry no meaning" in caption
    ring = [_node(n) for n in "abcd"]
    placed, caption, _ = htmlreport.layout(ring, [("a", "b"), ("b", "c"), ("c", "d"), ("d", "a")])
    assert "circle" in caption
    assert len({(round(p.x, 6), round(p.y, 6)) for p in placed}) == 4
    some = [_node("a", lat=1.0, lon=2.0), _node("b")]
    _, caption, to_scale = htmlreport.layout(some, [("a", "b")])
    assert "given for 1 of the 2 nodes on the ground only" in caption and not to_scale


# ----------------------------------------------------------------------------- values


def test_value_text_shows_arrays_and_uncertain_values() -> None:
    assert htmlreport.value_text(887_896.3, "bit/s") == "887.9 kbit/s"
    assert htmlreport.value_text([23.2, 33.3, 30.0], "dB") == "23.2…33.3 dB"
    spread = {"mean": 5.0, "percentiles": {"p5": 1.0, "p50": 4.0, "p95": 9.0}}
    assert htmlreport.value_text(spread, "bit/s") == "4 bit/s (P5 1 bit/s, P95 9 bit/s)"
    assert htmlreport.value_text(None) == "—"
    assert htmlreport.key_label("pass_duration_s") == "pass duration"
    assert htmlreport.unit_of("key_bits_per_day") == "bits"


# ----------------------------------------------------------------------------- properties

names = st.text(min_size=1, max_size=30)
losses = st.floats(min_value=-30, max_value=400, allow_nan=False)
rates = st.one_of(st.just(0.0), st.floats(min_value=1e-300, max_value=1e15))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(names, losses), min_size=1, max_size=8), names)
def test_waterfall_is_well_formed_whatever_the_terms(terms, link) -> None:
    drawing = ET.fromstring(svg.waterfall("w", link, terms))
    assert drawing.find(SVG_NS + "title").text == xml_value(f"Loss budget of {link}")  # type: ignore[union-attr]
    assert len(drawing.findall(f"{SVG_NS}g/{SVG_NS}rect")) == len(terms) + 1
    for element in drawing.iter():
        for name in ("x", "y", "width", "height"):
            if element.get(name) is not None:
                assert math.isfinite(float(element.get(name) or "nan"))
        assert float(element.get("width", "1")) >= 0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(names, rates, st.one_of(st.none(), rates)), min_size=1, max_size=6))
def test_rates_chart_is_well_formed_whatever_the_rates(rows) -> None:
    drawing = ET.fromstring(
        svg.rates_chart("r", "rates", [svg.RateRow(n, r, b) for n, r, b in rows])
    )
    xs = [float(e.get("x") or 0) for e in drawing.iter() if e.get("x") is not None]
    assert all(math.isfinite(x) and 0 <= x <= svg.CHART_WIDTH_PX for x in xs)
    zero_rows = sum(r == 0 for _, r, _ in rows)
    labels = [t.text for t in drawing.iter(SVG_NS + "text")]
    assert labels.count("0") >= zero_rows  # a zero is written 0, never drawn on a log axis


def test_tle_satellite_passes_over_a_window(runner, tmp_path: Path) -> None:
    """With --from/--days the report shows what `qcalc stage --from … --format json` puts
    under "orbits": passes used, key per day and per year per station, a chart of every
    pass; the stations are drawn on a map from their coordinates."""
    pytest.importorskip("sgp4", reason="the orbits extra (sgp4) is not installed")
    scenario = str(SCENARIOS / "micius-tle-ground-network.yaml")
    window = ["--from", "2021-04-27", "--days", "1"]
    target = tmp_path / "tle.html"
    result = runner.invoke(app, ["report", scenario, *window, "-o", str(target)])
    assert result.exit_code == 0, result.output
    stage = json.loads(runner.invoke(app, ["stage", scenario, *window, "-f", "json"]).stdout)
    text = target.read_text(encoding="utf-8")
    page = Page(text)
    said = " ".join(page.text)
    assert (3, "Satellite passes") in page.headings
    from qcalc.units import fmt

    for item in stage["orbits"]["demands"]:
        assert fmt(item["key_bits_per_day"], "bits") in said
        for station in item["stations"]:
            assert fmt(station["key_bits_per_year"], "bits") in said
            assert f"{station['passes_used']} of {station['passes_found']}" in said
    titles = [f.find(SVG_NS + "title").text or "" for f in svgs(text)]  # type: ignore[union-attr]
    assert sum(t.startswith("Key of every pass") for t in titles) == len(stage["orbits"]["demands"])
    assert "at their latitude and longitude" in said
    # Without a window: the circular-orbit estimate, and the report says how to get passes.
    plain = htmlreport.render(htmlreport.collect([scenario]))
    assert "give --from DATE --days N for the passes" in " ".join(Page(plain).text)


def test_bell_pairs_are_drawn_against_the_chain_bound() -> None:
    """A repeater chain: its Bell-pair rate beside the key, against the bound of the
    chain (a Bell pair is an ebit; the same PLOB number bounds it)."""
    page = htmlreport.page_of(str(SCENARIOS / "repeater-chain-1000km.yaml"))
    assert page.data is not None
    demand = page.data["demands"][0]
    text = htmlreport.render([page])
    rates = next(f for f in svgs(text) if "pair rates" in (f.find(SVG_NS + "title").text or ""))  # type: ignore[union-attr]
    from qcalc.units import fmt

    bound = fmt(demand["protocols"][0]["bound_bps"], "pairs/s")
    said = rates.find(SVG_NS + "desc").text or ""  # type: ignore[union-attr]
    assert f"Bell pairs {fmt(demand['pair_rate_hz'], 'pairs/s')} against a bound of {bound}" in said


def test_uncertain_inputs_drawn_as_stage_samples_draws_them(runner, tmp_path: Path) -> None:
    """--samples N --seed S: the spread and stage chances of `qcalc stage --samples N
    --seed S --format json`, and the uncertain inputs with their distributions."""
    from qcalc.units import fmt

    scenario = str(SCENARIOS / "metro-repeater-2030-uncertain.yaml")
    draws = ["--samples", "40", "--seed", "7"]
    target = tmp_path / "u.html"
    result = runner.invoke(app, ["report", scenario, *draws, "-o", str(target)])
    assert result.exit_code == 0, result.output
    stage = json.loads(runner.invoke(app, ["stage", scenario, *draws, "-f", "json"]).stdout)
    text = target.read_text(encoding="utf-8")
    said = " ".join(Page(text).text)
    assert "40 draws of the uncertain inputs (lhs, seed 7)" in said
    for item in stage["uncertainty"]["inputs"]:
        assert item["field"] in said
    block = stage["demands"][0]["uncertainty"]
    for name in ("p5", "p50", "p95"):
        assert fmt(block["metrics"]["pair_rate_hz"]["percentiles"][name], "pairs/s") in said
    chances = next(
        f for f in svgs(text) if "Stage reached" in (f.find(SVG_NS + "title").text or "")
    )  # type: ignore[union-attr]
    desc = chances.find(SVG_NS + "desc").text or ""  # type: ignore[union-attr]
    for s, p in block["stage_probabilities"].items():
        assert f"stage {s}: {fmt(p)}" in desc
    result = runner.invoke(app, ["report", scenario, "--samples", "10", "--from", "2021-04-27"])
    assert result.exit_code == 2 and "not on --samples draws" in result.stderr


def test_a_sweep_is_drawn_from_the_numbers_qcalc_sweep_prints(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    metro, gys = str(SCENARIOS / "metro-fibre.yaml"), str(SCENARIOS / "gys-decoy-bb84.yaml")
    out = tmp_path / "r.html"
    vary = "links.alice-bob.length_km=1:200:5"
    result = CliRunner().invoke(app, ["report", metro, gys, "--vary", vary, "-o", str(out)])
    assert result.exit_code in (0, 1), result.output
    page = out.read_text(encoding="utf-8")
    # gys has no link alice-bob: said in its place, not drawn
    assert "No sweep: --vary" in page and "no link named" in page
    start = page.index(">Sweep</h3>")
    chart = page[page.index("<svg", start) : page.index("</svg>", start) + 6]
    root = ET.fromstring(chart)
    paths = [e for e in root.iter() if e.tag.endswith("path")]
    assert len(paths) == 2  # the key rate and its PLOB ceiling
    assert "key rate" in chart and "PLOB bound" in chart
    csv = CliRunner().invoke(
        app, ["sweep", metro, "--vary", vary, "--metric", "key_rate_bps", "-f", "csv"]
    )
    assert csv.exit_code == 0
    swept = htmlreport.with_sweep(
        htmlreport.page_of(metro),
        htmlreport.SweepAsk("links.alice-bob.length_km", (1.0, 50.75, 100.5, 150.25, 200.0)),
    )
    assert swept.sweep is not None
    rows = [line.split(",") for line in csv.stdout.strip().splitlines()[1:]]
    assert [float(r[1]) for r in rows] == swept.sweep["key_rate_bps"]


def test_metric_without_vary_is_a_usage_error(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(
        app, ["report", str(SCENARIOS / "metro-fibre.yaml"), "--metric", "fidelity"]
    )
    assert result.exit_code == 2 and "--vary" in result.output


def test_a_sweep_field_no_scenario_has_is_a_usage_error(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    metro = str(SCENARIOS / "metro-fibre.yaml")
    vary = "links.alice-bob.lenght_km=1:2:3"
    result = CliRunner().invoke(
        app, ["report", metro, "--vary", vary, "-o", str(tmp_path / "r.html")]
    )
    assert result.exit_code == 2
    assert "did you mean 'length_km'" in result.output
