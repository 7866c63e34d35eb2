"""What must always hold for Bell pairs, through the evaluation of scenarios.

The exact chain statistics (Li, Coopmans, Elkouss, IEEE TQE 2, 4100815 (2021)) and the
distillation schedule are exercised the way `qcalc stage` runs them: worse memories or
slower distillation rounds never give a better pair, and fidelities stay in [1/4, 1].
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qcalc.demands import evaluate_scenario
from qcalc.scenario import parse_scenario

CHAIN = """\
qcalc: 1
hardware:
  memories:
    m: {{qubits: 8, coherence_time_s: {t}, efficiency: 0.9{cutoff}}}
defaults:
  memory: m
  misalignment_error: 0.01
nodes:
{nodes}
links:
{links}
demands:
  - ends: [n0, n{m}]
    application: entanglement
{distil}"""


def chain(
    m: int,
    length_km: float,
    t: float,
    cutoff: float | None = None,
    rounds: int = 0,
    measured_rate_hz: float | None = None,
) -> str:
    nodes = "\n".join(
        f"  n{i}: {{role: end}}"
        if i in (0, m)
        else f"  n{i}: {{role: repeater, bsm_success_probability: 0.5}}"
        for i in range(m + 1)
    )

    if measured_rate_hz is None:
        extra = ", memory_modes: 2"
    else:
        extra = f", elementary_pair_rate_hz: {measured_rate_hz}, elementary_fidelity: 0.97"
    links = "\n".join(
        f"  - {{ends: [n{i}, n{i + 1}], length_km: {length_km}{extra}}}" for i in range(m)
    )
    distil = f"    distillation: {{protocol: dejmps, rounds: {rounds}}}\n" if rounds else ""
    return CHAIN.format(
        t=t,
        cutoff="" if cutoff is None else f", cutoff_s: {cutoff}",
        nodes=nodes,
        links=links,
        m=m,
        distil=distil,
    )


def evaluate(text: str):
    return evaluate_scenario(parse_scenario(text))[0]


@settings(max_examples=15, deadline=None)
@given(
    m=st.sampled_from([1, 2, 3, 4]),
    length_km=st.floats(1.0, 40.0),
    t=st.floats(1e-3, 10.0),
    worse=st.floats(0.1, 0.9),
)
def test_worse_memories_never_give_a_better_pair(m, length_km, t, worse):
    good = evaluate(chain(m, length_km, t))
    bad = evaluate(chain(m, length_km, t * worse))
    for r in (good, bad):
        assert 0.25 <= float(r.fidelity) <= 1.0
    assert float(bad.fidelity) <= float(good.fidelity) + 1e-12


@settings(max_examples=10, deadline=None)
@given(
    length_km=st.floats(0.1, 200.0),
    longer=st.floats(1.5, 10.0),
    t=st.floats(0.01, 1.0),
)
def test_slower_distillation_rounds_never_give_a_better_pair(length_km, longer, t):
    # Two measured links of fixed rate: a longer route only lengthens the classical round
    # trip each distillation round pays while both pairs decay in the end memories.
    near = evaluate(chain(2, length_km, t, rounds=1, measured_rate_hz=50.0))
    far = evaluate(chain(2, length_km * longer, t, rounds=1, measured_rate_hz=50.0))
    assert far.entanglement.distillation_rounds == near.entanglement.distillation_rounds == 1
    assert float(far.fidelity) <= float(near.fidelity) + 1e-12
    assert float(far.pair_rate_hz) <= float(near.pair_rate_hz) * (1 + 1e-9)


@settings(max_examples=10, deadline=None)
@given(length_km=st.floats(5.0, 30.0), cutoff=st.floats(1e-4, 1e-2))
def test_a_cutoff_trades_rate_for_fidelity(length_km, cutoff):
    # Li et al. (2021), Sec. IV: discarding pairs that waited too long raises the mean
    # fidelity and lowers the rate.
    free = evaluate(chain(2, length_km, 0.01))
    cut = evaluate(chain(2, length_km, 0.01, cutoff=cutoff))
    assert float(cut.pair_rate_hz) <= float(free.pair_rate_hz) * (1 + 1e-9)
    assert float(cut.fidelity) >= float(free.fidelity) - 1e-9


@pytest.mark.parametrize("m", [2, 4, 8, 16])
@pytest.mark.parametrize("cutoff", [None, 0.002])
def test_monte_carlo_agrees_through_the_cli(m, cutoff, tmp_path):
    # Issue 11: `qcalc rate --monte-carlo N` simulates the protocol the exact chain
    # statistics solve (Li, Coopmans, Elkouss 2021), with memory decay and cut-offs; the
    # exact rate and fidelity sit inside the simulation's 99 % intervals.
    from typer.testing import CliRunner

    from qcalc.cli import app

    path = tmp_path / "chain.yaml"
    path.write_text(chain(m, 2.0, 0.05, cutoff=cutoff), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["rate", str(path), "-f", "json", "--monte-carlo", "3000", "--seed", "7"]
    )
    assert result.exit_code in (0, 1), result.output
    mc = json.loads(result.stdout)["demands"][0]["monte_carlo"]
    assert mc["agrees"] is True, mc
