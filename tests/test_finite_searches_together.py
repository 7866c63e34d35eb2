"""Finite-key searches made side by side (issue 16, item 1).

A finite-key BB84 row optimises its free settings (μ, p_μ, q_X, …) twice: for the block
and for N → ∞. Each compass step of a search is one call of `finite_key_terms`, whose
cost for a few points is numpy's overhead, so qcalc runs searches side by side
(`numerics.maximise_in_lockstep`): the block's with its asymptote's, and every block of
a scenario with the same freedoms (`demands._prefetch_finite`). Each search must still
end, bit for bit, where it ends alone. The reference is the chain as it was: each search
alone, the asymptote's with ``block_size_pulses = inf``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qcalc.demands as demands
from qcalc.api import Result, evaluate, load_scenario
from qcalc.network import forget_shared_results
from qcalc.protocols import numerics
from qcalc.protocols.finite_key import optimise_finite_key
from qcalc.scenario import Scenario, parse_scenario

ROOT = Path(__file__).resolve().parent.parent
BOARON = ROOT / "scenarios" / "boaron-2018-421km.yaml"


def _alone(
    eta: Any,
    y0: Any,
    e_d: Any,
    given: Any,
    by_detections: bool,
    settings: dict[str, Any],
    common: dict[str, Any],
) -> tuple[Any, Any, dict[str, Any]]:
    """demands._finite_search as two searches of their own (qcalc before the lockstep)."""
    block, detections = (None, given) if by_detections else (given, None)
    bits, found = optimise_finite_key(
        eta, y0, e_d, block, key_detections=detections, **settings, **common
    )
    best, _ = optimise_finite_key(eta, y0, e_d, np.inf, **settings, **common)
    return bits, best, found


def _json(scenario: Scenario, results: list[Any]) -> str:
    return json.dumps(Result(scenario, tuple(results)).to_dict(explain=True), default=str)


def _one_by_one(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> str:
    forget_shared_results()
    with monkeypatch.context() as patch:
        patch.setattr(demands, "_prefetch_finite", lambda *_: None)
        patch.setattr(demands, "_finite_search", _alone)
        results = [demands.evaluate_demand(scenario, d) for d in scenario.demands]
    forget_shared_results()
    return _json(scenario, results)


def _together(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[int]]:
    """The scenario evaluated as qcalc does, and how many searches each lockstep ran."""
    searches: list[int] = []
    lockstep = numerics.maximise_in_lockstep

    def counted(objective: Any, grid: Any, bounds: Any, count: int) -> Any:
        searches.append(count)
        return lockstep(objective, grid, bounds, count)

    forget_shared_results()
    with monkeypatch.context() as patch:
        patch.setattr(numerics, "maximise_in_lockstep", counted)
        text = _json(scenario, demands.evaluate_scenario(scenario))
    forget_shared_results()
    return text, searches


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-2.0, 3.0), st.floats(-1.0, 1.0), st.floats(0.1, 5.0)),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from([1, 2, 3, 4, 5, 6]),
)
def test_each_search_of_a_lockstep_is_its_own_search(
    rows: list[tuple[float, float, float]], dimensions: int
) -> None:
    """A smooth bump per row, peaked anywhere in or beyond the box (a face then holds
    the optimum), negative for some rows (no search): each row's point and rate are
    those of maximise_on_grid alone, bit for bit (with five searched coordinates, its
    quadratic model too)."""
    centres = np.array([[c, -c / 2, c / 3, 0.2, -0.3 * c, 0.1][:dimensions] for c, _, _ in rows])
    heights = np.array([h for _, h, _ in rows])
    widths = np.array([w for _, _, w in rows])

    def bump(x: Any, centre: Any, height: Any, width: Any) -> Any:
        return height * np.exp(-np.sum((x - centre) ** 2, axis=-1) / width)

    axes = [np.linspace(-1.0, 1.0, 4 if dimensions < 5 else 2)] * dimensions
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, dimensions)
    bounds = [(-1.0, 1.0)] * (dimensions - 1) + [(0.5, 0.5)]  # the last coordinate fixed

    def objective(x: Any, index: Any) -> Any:
        column = (slice(None), None)
        return bump(x, centres[index][:, None, :], heights[index][column], widths[index][column])

    rates, points = numerics.maximise_in_lockstep(objective, grid, bounds, len(rows))
    for i in range(len(rows)):
        alone = numerics.maximise_on_grid(
            lambda x, i=i: bump(x, centres[i], heights[i], widths[i]), grid, bounds
        )
        assert rates[i] == alone[0]
        np.testing.assert_array_equal(points[i], alone[1])


def test_settings_given_per_point_are_each_points_own_search() -> None:
    """optimise_finite_key with μ, ν given as arrays (a sweep of the source, or blocks of
    several demands) equals the scalar search at each point, bit for bit."""
    etas = np.array([10 ** (-4.0), 10 ** (-4.6), 10 ** (-5.2)])
    mus, nus = np.array([0.49, 0.35, 0.3]), np.array([0.18, 0.15, 0.13])
    common: dict[str, Any] = {"key_detections": 4e5, "one_decoy": True, "epsilon_sec": 1e-9}
    rates, found = optimise_finite_key(
        etas, 8e-11, 0.0035, None, signal_photon_number=mus, decoy_photon_number=nus, **common
    )
    for i in range(3):
        rate, alone = optimise_finite_key(
            etas[i], 8e-11, 0.0035, None, signal_photon_number=mus[i],
            decoy_photon_number=nus[i], **common,
        )  # fmt: skip
        assert rates[i] == rate
        assert all(found[name][i] == alone[name] for name in alone)


def test_boaron_rows_are_searched_together_and_each_is_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Five rows of Boaron et al. (2018) Table I, five (μ1, μ2): one lockstep of ten
    searches (each block and its asymptote), and the JSON of the chain as it was."""
    scenario = load_scenario(str(BOARON))
    together, searches = _together(scenario, monkeypatch)
    assert searches == [10]
    assert together == _one_by_one(load_scenario(str(BOARON)), monkeypatch)


def _chain(block: str) -> str:
    """A trusted chain of four finite-key hops of distinct lengths, and a second demand
    over its first hop with another ε_sec (a search of another kind)."""
    lengths = [40.0, 55.5, 23.25, 71.0]
    names = ["a", "r1", "r2", "r3", "b"]
    nodes = "".join(
        f"  {n}: {{role: {'end' if n in ('a', 'b') else 'trusted_relay'}}}\n" for n in names
    )
    links = "".join(
        f"  - {{ends: [{x}, {y}], length_km: {length}}}\n"
        for x, y, length in zip(names, names[1:], lengths, strict=False)
    )
    return (
        "qcalc: 1\nhardware:\n  detectors:\n    d: {efficiency: 0.3, dark_count_probability: 1.0e-7,"
        " dead_time_ns: 50}\n  sources:\n    w: {kind: weak_coherent, repetition_rate_hz: 1.0e9,"
        " mean_photon_number: optimise, decoy_photon_numbers: [0.1, 0.0]}\n"
        f"defaults: {{source: w, detector: d, protocol: bb84-finite, {block}}}\n"
        f"nodes:\n{nodes}links:\n{links}"
        "demands:\n  - {name: chain, ends: [a, b]}\n"
        "  - {name: first-hop, ends: [a, r1], epsilon_sec: 1.0e-6}\n"
    )


@pytest.mark.parametrize("block", ["block_size: 1.0e11", "block_key_detections: 1.0e6"])
def test_a_finite_key_chain_is_the_same_hop_by_hop(
    block: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _chain(block)
    together, searches = _together(parse_scenario(text), monkeypatch)
    # Four hops and the whole route side by side, each with its asymptote; the other
    # kind (another ε_sec) alone with its asymptote.
    assert sorted(searches) == [2, 10]
    assert together == _one_by_one(parse_scenario(text), monkeypatch)


def test_a_sweep_of_the_source_intensity_is_each_scenario_evaluated() -> None:
    """A sweep of μ on a finite-key source (an internal error before: μ compared as one
    number) gives at μ = 0.49 the key rate of the scenario as written."""
    sweep = [
        "sweep", str(BOARON), "--vary", "hardware.sources.wcp-252.mean_photon_number=0.3:0.49:2",
        "-f", "csv",
    ]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "qcalc", *sweep], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    rows = [line.split(",") for line in done.stdout.strip().splitlines()[1:]]
    assert [float(mu) for mu, _ in rows] == [0.3, 0.49]
    written = evaluate(load_scenario(str(BOARON))).demand("key-251.7km").key_rate_bps
    assert float(rows[1][1]) == float(written)
    assert 0 < float(rows[0][1]) < float(rows[1][1])  # Rusca et al. Fig. 3: μ1 ≈ 0.5 is best


def test_a_sweep_s_searches_run_in_blocks_each_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """maximise_each_point runs a chunk's searches side by side in blocks of at most
    LOCKSTEP_POINTS grid points (a chunk of 131,072 points times a 2,880-point grid would
    need hundreds of GB at once); every point is still its own search, bit for bit."""
    monkeypatch.setattr(numerics, "LOCKSTEP_POINTS", 300)
    sizes: list[int] = []
    centres = np.linspace(-0.8, 0.9, 23)

    def bump(x: Any, centre: Any) -> Any:
        sizes.append(int(np.size(x[..., 0])))
        return np.exp(-np.sum((x - np.asarray(centre)[..., None]) ** 2, axis=-1))

    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, 7)] * 2, indexing="ij"), -1).reshape(-1, 2)
    rates, points = numerics.maximise_each_point(bump, [centres], grid, [(-1, 1), (-1, 1)])
    assert max(sizes) <= 300 and len(sizes) > 3
    for i, centre in enumerate(centres):
        alone = numerics.maximise_on_grid(lambda x, c=centre: bump(x, c), grid, [(-1, 1)] * 2)
        assert rates[i] == alone[0]
        np.testing.assert_array_equal(points[i], alone[1])


def test_a_quadratic_model_in_an_extreme_box_warns_nothing() -> None:
    """Steps of 1e-160 square to zero: the model is dropped, with no warning (warnings
    are errors in the test suite) and a finite answer."""
    width = 1e-160
    grid = np.stack(np.meshgrid(*[np.array([0.0, width])] * 4, indexing="ij"), -1).reshape(-1, 4)
    best, x = numerics.maximise_on_grid(
        lambda p: 1.0 + np.sum(p, axis=-1) / width, grid, [(0.0, width)] * 4
    )
    assert np.isfinite(best) and np.all(np.isfinite(x))


def test_a_sweep_of_f_with_the_source_intensity_is_each_point_evaluated() -> None:
    """A sweep of f with μ (point by point, as f sweeps are) gives at each point the
    rate of the scenario with those two numbers (an internal error before: μ reached
    each point as the whole array)."""
    base = load_scenario(str(BOARON))
    f, mu = np.array([1.1, 1.1, 1.3, 1.3]), np.array([0.3, 0.49, 0.3, 0.49])
    changed = base.with_changes(
        {
            "demands.key-251.7km.error_correction_efficiency": f,
            "hardware.sources.wcp-252.mean_photon_number": mu,
        }
    )
    swept = evaluate(changed).demand("key-251.7km").key_rate_bps
    for i in range(4):
        alone = base.with_changes(
            {
                "demands.key-251.7km.error_correction_efficiency": float(f[i]),
                "hardware.sources.wcp-252.mean_photon_number": float(mu[i]),
            }
        )
        assert swept[i] == evaluate(alone).demand("key-251.7km").key_rate_bps


def test_a_failed_search_leaves_no_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    """The searches made ahead for one demand of many hops are forgotten even when one
    of them fails (a memo left filled would stop later demands from searching ahead)."""
    scenario = parse_scenario(_chain("block_size: 1.0e11"))

    def broken(*_: Any) -> Any:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(demands, "_finite_search", broken)
        with pytest.raises(KeyboardInterrupt):
            demands.evaluate_demand(scenario, scenario.demands[0])
    assert not demands._BB84_OPTIMA and not demands._FINITE_OPTIMA


def test_over_a_whole_pass_an_array_of_source_settings_is_said_not_modelled() -> None:
    """Through the library, a source setting given as an array on a demand over a whole
    satellite pass gets a note, not an internal error (the pass's time grid and the
    array do not broadcast)."""
    base = load_scenario(str(ROOT / "scenarios" / "micius-2017-qkd-downlink.yaml"))
    changed = base.with_changes(
        {"hardware.sources.micius-wcp.mean_photon_number": np.array([0.5, 0.8])}
    )
    result = evaluate(changed).demand("pass-key")
    assert any("over a whole satellite pass" in note for note in result.notes)
