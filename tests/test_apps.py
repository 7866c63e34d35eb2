"""Tests of qcalc.applications: the application catalogue against the roadmap paper and the contract."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qcalc.applications import (
    APPLICATIONS,
    CHSH_WERNER_FIDELITY,
    CONTRACT_KEYS,
    STAGE_NAMES,
    lookup_application,
    werner_fidelity_for_qber,
)

#: Tolerance for thresholds quoted to three or four digits in the papers.
QUOTED_DIGITS_ATOL = 5e-4


def test_contract_stages() -> None:
    # SPEC.md: "qkd 1, diqkd 3, entanglement 3, teleportation 4, blind_qc 4, clock_sync 5,
    # distributed_qc 5".
    expected = {
        "qkd": 1,
        "diqkd": 3,
        "entanglement": 3,
        "teleportation": 4,
        "blind_qc": 4,
        "clock_sync": 5,
        "distributed_qc": 5,
    }
    assert {key: APPLICATIONS[key].stage for key in CONTRACT_KEYS} == expected


def test_stage_names_follow_the_contract_numbering() -> None:
    # SPEC.md stage table; trusted repeater = 1 … quantum computing network = 6.
    assert dict(STAGE_NAMES) == {
        1: "trusted repeater",
        2: "prepare and measure",
        3: "entanglement distribution",
        4: "quantum memory",
        5: "few-qubit fault tolerance",
        6: "quantum computing network",
    }


# Wehner, Elkouss, Hanson, Science 362, eaam9288 (2018), Table 1, column "Example
# protocols" (and the "Trusted repeater networks" section for hop-by-hop QKD).
ROADMAP_TABLE_1 = {
    "qkd": "trusted repeater",
    "secure_identification": "prepare and measure",  # "Two-party cryptography"
    "position_verification": "prepare and measure",
    "coin_flipping": "prepare and measure",  # "imperfect coin flipping"
    "diqkd": "entanglement distribution",
    "blind_qc": "quantum memory",
    "anonymous_transmission": "quantum memory",
    "telescopes": "quantum memory",  # "extending baseline of telescopes"
    "secret_sharing": "quantum memory",
    "leader_election_simple": "quantum memory",
    "clock_sync_time_limited": "quantum memory",
    "clock_sync": "few-qubit fault tolerance",
    "distributed_qc": "few-qubit fault tolerance",
    "leader_election": "quantum computing network",
    "byzantine_agreement": "quantum computing network",
    "weak_coin_flipping": "quantum computing network",
}


@pytest.mark.parametrize(("key", "stage_name"), sorted(ROADMAP_TABLE_1.items()))
def test_stage_of_each_application_follows_roadmap_table_1(key: str, stage_name: str) -> None:
    assert APPLICATIONS[key].stage_name == stage_name


def test_every_entry_is_complete() -> None:
    year = re.compile(r"\((19|20)\d\d\)|\b(19|20)\d\d\b")
    for key, app in APPLICATIONS.items():
        assert app.key == key
        assert app.stage in STAGE_NAMES
        assert app.name and app.resource and app.reason
        assert year.search(app.reference), f"{key}: reference without a year"
        if app.min_fidelity is not None:
            assert 0.5 <= app.min_fidelity <= 1.0


def test_chsh_threshold_of_werner_states() -> None:
    # A Werner state violates CHSH iff its visibility exceeds 1/√2 (Horodecki et al.,
    # Phys. Lett. A 200, 340 (1995)), i.e. F > (1 + 3/√2)/4 = 0.7803; SPEC quotes 0.78.
    assert CHSH_WERNER_FIDELITY == pytest.approx(0.7803, abs=QUOTED_DIGITS_ATOL)
    visibility = (4.0 * CHSH_WERNER_FIDELITY - 1.0) / 3.0
    assert 2.0 * math.sqrt(2.0) * visibility == pytest.approx(2.0, rel=1e-12)
    assert APPLICATIONS["entanglement"].min_fidelity == CHSH_WERNER_FIDELITY


def test_diqkd_threshold_as_a_werner_fidelity() -> None:
    # DIQKD needs QBER < 7.1 % (Acín et al., PRL 98, 230501 (2007)); for a Werner state
    # Q = 2(1 − F)/3, so F > 1 − 1.5 · 0.071 = 0.8935.
    assert APPLICATIONS["diqkd"].min_fidelity == pytest.approx(0.8935, abs=QUOTED_DIGITS_ATOL)


@settings(max_examples=50, deadline=None)
@given(fidelity=st.floats(0.25, 1.0))
def test_werner_qber_round_trip(fidelity: float) -> None:
    qber = 2.0 * (1.0 - fidelity) / 3.0
    assert werner_fidelity_for_qber(qber) == pytest.approx(fidelity, abs=1e-12)


def test_werner_qber_rejects_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"qber is 0.9; expected a fraction in \[0, 2/3\]"):
        werner_fidelity_for_qber(0.9)


def test_lookup_normalises_case_and_dashes() -> None:
    assert lookup_application("Blind-QC") is APPLICATIONS["blind_qc"]
    assert lookup_application(" distributed_qc ").stage == 5


def test_lookup_suggests_the_closest_key() -> None:
    with pytest.raises(ValueError) as info:
        lookup_application("blind_q")
    assert str(info.value).startswith("unknown application 'blind_q'; did you mean 'blind_qc'")
    with pytest.raises(ValueError) as info:
        lookup_application("zzzz")
    assert "did you mean" not in str(info.value)
    assert "(known: qkd, " in str(info.value)
