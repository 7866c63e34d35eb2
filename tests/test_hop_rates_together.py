"""The BB84 keys of every hop of a scenario, optimised together (issue 16, item 2).

`evaluate_scenario` optimises the BB84 rows of all hops and routes of its demands in one
vectorised call per kind of hop (qcalc.demands._prefetch_bb84); each must be, bit for bit,
what the hop's own scalar optimisation gives. The reference is the evaluation demand by
demand with nothing optimised ahead (what qcalc did before).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from conftest import bench_module
from hypothesis import given, settings
from hypothesis import strategies as st

import qcalc.demands as demands
from qcalc.api import Result
from qcalc.network import forget_shared_results
from qcalc.protocols.qkd import bb84_key_rate
from qcalc.scenario import Scenario, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parent.parent
#: Bundled scenarios with a chain of trusted relays or several demands.
BUNDLED = ["metro-fibre.yaml", "trusted-node-backbone.yaml", "surf-backbone-planned.yaml"]


def _bench() -> ModuleType:
    """bench/bench_network.py, whose generator makes the networks of the benchmark."""
    return bench_module("bench_network")


def _together(scenario: Scenario) -> str:
    results = demands.evaluate_scenario(scenario)
    return json.dumps(Result(scenario, tuple(results)).to_dict(explain=True), default=str)


def _together_counted(text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[int]]:
    """:func:`_together` of the scenario ``text``, with the number of points of each call
    of the BB84 key rate it made."""
    calls: list[int] = []

    def counted(transmittance: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(int(np.size(transmittance)))
        return bb84_key_rate(transmittance, *args, **kwargs)

    forget_shared_results()
    with monkeypatch.context() as patch:
        patch.setattr(demands, "bb84_key_rate", counted)
        together = _together(parse_scenario(text))
    return together, calls


def _one_by_one(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> str:
    forget_shared_results()
    with monkeypatch.context() as patch:
        patch.setattr(demands, "_prefetch_bb84", lambda *_: None)
        results = [demands.evaluate_demand(scenario, d) for d in scenario.demands]
    forget_shared_results()
    return json.dumps(Result(scenario, tuple(results)).to_dict(explain=True), default=str)


def test_a_generated_network_is_the_same_hop_by_hop(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _bench().generate(100, 10, seed=3)
    together, calls = _together_counted(text, monkeypatch)
    # Hops of distinct lengths were optimised in few calls, many at a time.
    assert max(calls) > 20 and len(calls) < sum(calls) / 5
    assert together == _one_by_one(parse_scenario(text), monkeypatch)


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_scenarios_are_the_same_hop_by_hop(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ROOT / "scenarios" / name
    forget_shared_results()
    assert _together(load_scenario(str(path))) == _one_by_one(load_scenario(str(path)), monkeypatch)


@pytest.mark.parametrize("mu", ["0.5", "optimise"])
def test_a_chain_with_mu_given_or_optimised_is_the_same_hop_by_hop(
    mu: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A trusted chain of hops of distinct lengths whose source fixes mu: its rows are
    # computed in one vectorised call too, each bit for bit the hop's own.
    lengths = [12.5, 31.0, 47.25, 8.0, 66.6]
    names = ["a", *(f"r{i}" for i in range(1, len(lengths))), "b"]
    nodes = "".join(
        f"  {n}: {{role: {'end' if n in ('a', 'b') else 'trusted_relay'}}}\n" for n in names
    )
    links = "".join(
        f"  - {{ends: [{x}, {y}], length_km: {length}}}\n"
        for x, y, length in zip(names, names[1:], lengths, strict=False)
    )
    text = (
        "qcalc: 1\nhardware:\n  detectors:\n    d: {efficiency: 0.8, dark_count_probability: 1.0e-7}\n"
        "  sources:\n    w: {kind: weak_coherent, repetition_rate_hz: 1.0e9, "
        f"mean_photon_number: {mu}, decoy_photon_numbers: [0.1, 0.0]}}\n"
        f"defaults: {{source: w, detector: d}}\nnodes:\n{nodes}links:\n{links}"
        "demands:\n  - {name: key, ends: [a, b]}\n"
    )
    together, calls = _together_counted(text, monkeypatch)
    assert max(calls) == len(lengths)  # every hop at once (the whole route on its own)
    assert together == _one_by_one(parse_scenario(text), monkeypatch)


@settings(max_examples=20, deadline=None)
@given(
    st.lists(st.floats(1e-7, 0.9), min_size=2, max_size=12),
    st.sampled_from(["vacuum+weak", "weak", "none", "infinite"]),
)
def test_each_element_of_a_vectorised_optimum_is_the_scalar_optimum(
    etas: list[float], decoy: str
) -> None:
    arguments = {"background_yield": 1e-6, "misalignment_error": 0.015, "decoy": decoy}
    bits, mu = bb84_key_rate(np.asarray(etas), **arguments)  # type: ignore[arg-type]
    for i, eta in enumerate(etas):
        alone_bits, alone_mu = bb84_key_rate(eta, **arguments)  # type: ignore[arg-type]
        assert bits[i] == alone_bits and mu[i] == alone_mu


@pytest.mark.parametrize(
    "name", [*BUNDLED, "surf-backbone-repeaters.yaml", "micius-graz-2018.yaml"]
)
def test_a_small_scenario_s_budgets_are_those_of_the_stand_ins(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scenario of few links computes each fibre budget as it is (copying the scenario
    around stand-in names cost a batch of small files a fifth of its time); the JSON is
    that of the stand-in budgets, which large networks keep."""
    import qcalc.network as network

    path = str(ROOT / "scenarios" / name)
    forget_shared_results()
    direct = _together(load_scenario(path))
    with monkeypatch.context() as patch:
        patch.setattr(network, "SHARED_BUDGET_LINKS", 0)  # every fibre hop via a stand-in
        forget_shared_results()
        shared = _together(load_scenario(path))
    forget_shared_results()
    assert direct == shared
