"""The JSON text qcalc writes is ``json.dumps(plain(data), indent=2)``, byte for byte.

:func:`qcalc.results.to_json` writes it in one walk instead of the standard library's
pure-Python indented encoder; any value it does not know goes to ``json.dumps``.
"""

from __future__ import annotations

import enum
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qcalc
from qcalc.results import plain, to_json

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def reference(data: object) -> str:
    return json.dumps(plain(data), indent=2, ensure_ascii=False, allow_nan=False)


class Level(enum.IntEnum):
    HIGH = 3


class Name(enum.StrEnum):
    X = "x"


leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.builds(np.float64, st.floats()),
    st.builds(np.int64, st.integers(-(2**63), 2**63 - 1)),
    st.builds(np.bool_, st.booleans()),
    st.sampled_from([Level.HIGH, Name.X, -0.0, 0.0, '\u2028"\\\n']),
)
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=5), inner, max_size=4),
        st.builds(lambda xs: np.array(xs, dtype=float), st.lists(st.floats(), max_size=3)),
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(values)
def test_any_value_is_written_as_json_dumps_writes_it(value: object) -> None:
    assert to_json(value) == reference(value)


def test_what_json_dumps_refuses_is_refused_the_same_way() -> None:
    for bad in ({1: "int key"}, {"a": {1.5: "float key"}}, [object()]):
        try:
            expected = reference(bad)
        except TypeError:
            with pytest.raises(TypeError):
                to_json(bad)
        else:
            assert to_json(bad) == expected


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml"))[::3], ids=lambda p: p.stem)
def test_a_scenario_s_results_are_written_as_json_dumps_writes_them(path: Path) -> None:
    data = qcalc.evaluate(qcalc.load_scenario(str(path))).to_dict(explain=True)
    assert to_json(data) == reference(data)
    assert not math.isnan(len(to_json(data)))
