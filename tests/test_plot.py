"""Plots: real PNG and SVG files, with the axes, bounds and thresholds they promise."""

from __future__ import annotations

import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pytest
from conftest import SCENARIOS

from qcalc.errors import UsageError
from qcalc.linkbudget import link_budget
from qcalc.plot import (
    NEEDS_MATPLOTLIB,
    axis_label,
    plot_link_waterfall,
    plot_sweep,
    unit_of,
)
from qcalc.scenario import load_scenario
from qcalc.sweeps import SweepResult, Vary, parse_vary, run_sweep

image = pytest.importorskip("matplotlib.image")

METRO = str(SCENARIOS / "metro-fibre.yaml")
BACKBONE = str(SCENARIOS / "trusted-node-backbone.yaml")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG_ROOT = "{http://www.w3.org/2000/svg}svg"
#: A drawn figure has many distinct colours; a blank one a single colour.
MIN_COLOURS = 8


@pytest.fixture(scope="module")
def metro_sweep() -> SweepResult:
    return run_sweep(
        METRO,
        [parse_vary("links.alice-bob.length_km=0:400:81")],
        ["key_rate_bps", "stage", "loss_db"],
    )


@pytest.fixture(scope="module")
def metro_files(tmp_path_factory, metro_sweep) -> tuple[Path, Path]:
    """The metro sweep drawn once as PNG (upper-case suffix: case does not matter) and SVG."""
    folder = tmp_path_factory.mktemp("metro")
    png, svg = folder / "METRO.PNG", folder / "metro.svg"
    plot_sweep(metro_sweep, str(png))
    plot_sweep(metro_sweep, str(svg))
    return png, svg


@pytest.fixture(scope="module")
def zero_sweep() -> SweepResult:
    """A one-panel sweep of a rate that is zero everywhere (500–600 km of metro fibre)."""
    result = run_sweep(METRO, [parse_vary("links.alice-bob.length_km=500:600:5")], ["stage"])
    return SweepResult(
        columns={**result.columns, "pair_rate_hz": np.zeros(5)},
        varies=result.varies,
        metrics=("pair_rate_hz",),
        scenario_name=result.scenario_name,
        demand=result.demand,
    )


def assert_png(path: Path) -> np.ndarray:
    """A PNG that reads back as an RGB(A) image with more than a blank page on it."""
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    pixels = image.imread(str(path))
    assert pixels.ndim == 3 and pixels.shape[2] in (3, 4)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 200
    rgba = np.round(pixels * 255).astype(np.uint32)
    packed = rgba[..., 0] << 16 | rgba[..., 1] << 8 | rgba[..., 2]
    assert np.unique(packed).size >= MIN_COLOURS
    return pixels


def svg_text(path: Path) -> str:
    """The SVG parses, its root is <svg>, and all its text (kept as text) joined."""
    root = ET.parse(path).getroot()
    assert root.tag == SVG_ROOT
    return " ".join(t for t in root.itertext() if t.strip())


def test_sweep_png_is_a_real_image(metro_files):
    pixels = assert_png(metro_files[0])
    # Three stacked panels: taller than wide.
    assert pixels.shape[0] > pixels.shape[1]


def test_sweep_svg_has_labelled_axes_and_the_plob_bound(metro_files):
    text = svg_text(metro_files[1])
    for label in (
        "alice-bob length [km]",
        "key rate [bit/s]",
        "PLOB bound (repeaterless)",
        "route channel loss [dB]",
        "2 prepare and measure",
        "Metro fibre link — demand key, bb84-decoy",
    ):
        assert label in text


def test_svg_is_the_same_file_every_time(tmp_path, zero_sweep):
    first, second = tmp_path / "a.svg", tmp_path / "b.svg"
    plot_sweep(zero_sweep, str(first))
    plot_sweep(zero_sweep, str(second))
    assert first.read_bytes() == second.read_bytes()


def test_fidelity_plot_draws_the_stage_thresholds_of_the_scenario(tmp_path):
    result = run_sweep(
        str(SCENARIOS / "repeater-chain-1000km.yaml"),
        [parse_vary("hardware.memories.multimode.coherence_time_s=log:0.001:10:30")],
        ["fidelity"],
    )
    out = tmp_path / "fidelity.svg"
    plot_sweep(result, str(out))
    text = svg_text(out)
    assert "stage 3: CHSH violation (F ≥ 0.78)" in text
    assert "stage 5: few-qubit fault tolerance (F ≥ 0.99)" in text
    assert "multimode coherence time [s]" in text


def test_grid_draws_a_line_per_value_of_the_second_field(tmp_path):
    result = run_sweep(
        METRO,
        [
            parse_vary("links.alice-bob.length_km=log:1:400:40"),
            parse_vary("hardware.detectors.snspd.efficiency=0.2:0.8:3"),
        ],
        ["key_rate_bps"],
    )
    out = tmp_path / "grid.svg"
    plot_sweep(result, str(out))
    text = svg_text(out)
    for value in ("0.2", "0.5", "0.8"):
        assert f"snspd efficiency = {value}" in text


def test_many_lines_get_a_colour_bar_instead_of_a_legend(tmp_path):
    result = run_sweep(
        METRO,
        [
            parse_vary("links.alice-bob.length_km=1:300:20"),
            parse_vary("hardware.detectors.snspd.efficiency=0.05:0.95:19"),
        ],
        ["key_rate_bps"],
    )
    out = tmp_path / "many.svg"
    plot_sweep(result, str(out))
    text = svg_text(out)
    assert "snspd efficiency = " not in text
    assert text.count("snspd efficiency") == 1  # the colour bar's label


def test_a_rate_that_is_zero_everywhere_is_said_not_drawn_on_a_log_axis(tmp_path, zero_sweep):
    out = tmp_path / "zero.svg"
    plot_sweep(zero_sweep, str(out))
    assert "zero over the whole sweep" in svg_text(out)


@pytest.mark.parametrize("name", ["plot.pdf", "plot", "plot.png.txt"])
def test_other_suffixes_are_refused(tmp_path, metro_sweep, name):
    out = tmp_path / name
    with pytest.raises(UsageError) as info:
        plot_sweep(metro_sweep, str(out))
    assert str(info.value) == (
        f"--plot {str(out)!r}: expected a file name ending in .png or .svg "
        "(the suffix picks the format)"
    )
    assert not out.exists()


def test_three_varied_fields_are_refused(metro_sweep, tmp_path):
    three = SweepResult(
        columns=metro_sweep.columns,
        varies=(*metro_sweep.varies, Vary("a", np.ones(1)), Vary("b", np.ones(1))),
        metrics=metro_sweep.metrics,
        scenario_name="s",
        demand="d",
    )
    with pytest.raises(UsageError, match="one or two varied fields; this sweep varies 3"):
        plot_sweep(three, str(tmp_path / "x.png"))


def test_unwritable_path_is_a_usage_error(tmp_path, metro_sweep):
    out = tmp_path / "no-such-folder" / "plot.png"
    with pytest.raises(UsageError, match="cannot write the plot"):
        plot_sweep(metro_sweep, str(out))


def test_missing_matplotlib_says_how_to_install_it(monkeypatch, tmp_path, metro_sweep):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(UsageError) as info:
        plot_sweep(metro_sweep, str(tmp_path / "x.png"))
    assert (
        str(info.value)
        == NEEDS_MATPLOTLIB
        == ("plotting needs matplotlib: pip install 'qcalc[plot]'")
    )


def test_waterfall_has_a_panel_per_link_with_terms_and_total(tmp_path):
    scenario = load_scenario(str(SCENARIOS / "micius-graz-2018.yaml"))
    budgets = [link_budget(link, scenario) for link in scenario.links]
    out = tmp_path / "links.svg"
    plot_link_waterfall(budgets, str(out))
    text = svg_text(out)
    for budget in budgets:
        total = float(budget.loss_db)
        assert f"{budget.link.name}: {budget.sender} → {budget.receiver}, total {total:.2f} dB" in (
            text
        )
        for term in budget.terms:
            assert term.name in text


def test_many_links_are_grouped_in_one_panel(tmp_path):
    scenario = load_scenario(BACKBONE)
    budgets = [link_budget(link, scenario) for link in scenario.links]
    out = tmp_path / "backbone.svg"
    plot_link_waterfall(budgets, str(out))
    text = svg_text(out)
    assert text.count("20.11 dB (η = 0.00975)") == len(budgets) == 33
    assert "beijing-relay01" in text and "relay32-shanghai" in text


def test_waterfall_needs_budgets_and_a_known_suffix(tmp_path):
    with pytest.raises(UsageError, match="no link budgets to plot"):
        plot_link_waterfall([], str(tmp_path / "x.png"))
    with pytest.raises(UsageError, match="ending in .png or .svg"):
        plot_link_waterfall([], str(tmp_path / "x.jpg"))


@pytest.mark.parametrize(
    ("key", "unit", "label"),
    [
        ("links.alice-bob.length_km", "km", "alice-bob length [km]"),
        ("links.roof.attenuation_db_per_km", "dB/km", "roof attenuation [dB/km]"),
        ("hardware.detectors.snspd.efficiency", "", "snspd efficiency"),
        ("nodes.sat.orbit.altitude_km", "km", "orbit altitude [km]"),
        ("links.downlink.divergence_urad", "µrad", "downlink divergence [µrad]"),
        ("links.downlink.elevation_deg", "degrees", "downlink elevation [degrees]"),
        ("criteria.entanglement_min_fidelity", "", "entanglement min fidelity"),
        ("key_rate_bps", "bit/s", "key rate [bit/s]"),
        ("pair_rate_hz", "pairs/s", "Bell-pair rate [pairs/s]"),
        ("plob_bps", "bit/s", "PLOB bound [bit/s]"),
        ("loss_db", "dB", "route channel loss [dB]"),
        ("protocol:tf-qkd", "", "tf-qkd key rate [bit/s]"),
    ],
)
def test_axis_labels_carry_the_unit_of_the_key_name(key, unit, label):
    assert unit_of(key) == unit
    assert axis_label(key) == label
