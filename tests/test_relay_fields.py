"""Fields that reach the measuring relay of MDI- and twin-field QKD (issue 12, item 4), and
fields refused where they cannot act.

The relay's dead time: a click blinds the whole relay for τ (non-paralysable), so it counts
R_out = R_in/(1 + R_in τ) clicks per second of the R_in it would count live, and is live a
fraction 1 − R_out τ of the time (Müller, Nucl. Instrum. Methods 112, 47 (1973)). Every
gain of the key scales by that live fraction, so the asymptotic MDI and SNS keys, linear in
the gains, scale by it too: checked here through the evaluation of a scenario, from the
click rate the row reports. Background light on the arms is background yield at the relay,
as the detectors' dark counts are (Ma, Qi, Zhao, Lo, PRA 72, 012326 (2005), Sec. II).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qcalc.demands import evaluate_scenario
from qcalc.errors import ScenarioError
from qcalc.protocols.mdi import mdi_relay_click_probability, z_basis_gain
from qcalc.protocols.twinfield import sns_click_probability
from qcalc.scenario import parse_scenario

#: Relative tolerance of identities that hold exactly (rounding only).
EXACT = 1e-9
#: Relative tolerance between two independent optimisations of one SNS key.
OPTIMISER = 1e-6


def _relay(
    *,
    arm_km: float = 25.0,
    source: str = "mean_photon_number: 0.3",
    relay_y0: float = 1.0e-7,
    dead_time_ns: float | None = None,
    arm_extra: str = "",
    protocol: str | None = "mdi-qkd",
    demand_extra: str = "",
) -> str:
    dead = "" if dead_time_ns is None else f", dead_time_ns: {dead_time_ns}"
    chosen = "" if protocol is None else f", protocol: {protocol}"
    return f"""
qcalc: 1
hardware:
  sources:
    s: {{kind: weak_coherent, repetition_rate_hz: 1.0e9, {source}}}
nodes:
  alice: {{role: end, source: s}}
  charlie:
    role: untrusted_relay
    detector: {{efficiency: 0.6, dark_count_probability: {relay_y0}{dead}}}
  bob: {{role: end, source: s}}
links:
  - {{ends: [alice, charlie], length_km: {arm_km}{arm_extra}}}
  - {{ends: [charlie, bob], length_km: {arm_km}{arm_extra}}}
demands:
  - {{ends: [alice, bob]{chosen}{demand_extra}}}
"""


def _rows(text: str) -> dict[str, Any]:
    result = evaluate_scenario(parse_scenario(text))[0]
    return {r.protocol: r for r in result.end_to_end}


def _notes(text: str) -> list[str]:
    return list(evaluate_scenario(parse_scenario(text))[0].notes)


# ----------------------------------------------------------------------------- dead time


@pytest.mark.parametrize(
    "source",
    [
        "mean_photon_number: 0.3",  # infinite decoys, μ fixed
        "mean_photon_number: 0.4, decoy_photon_numbers: [0.2, 0.05, 0.0]",  # four intensities
    ],
)
def test_relay_dead_time_scales_the_mdi_key_by_the_live_fraction(source: str) -> None:
    # Müller (1973): live fraction 1 − R_out τ, from the click rate the row reports.
    tau_ns = 1000.0
    live = _rows(_relay(source=source))["mdi-qkd"]
    dead = _rows(_relay(source=source, dead_time_ns=tau_ns))["mdi-qkd"]
    clicks = float(dead.click_rate_hz)
    live_fraction = 1.0 - clicks * tau_ns * 1e-9
    assert 0.0 < live_fraction < 0.5  # a 1 µs relay at 1 GHz over 25 km arms saturates
    assert float(dead.key_rate_bps) == pytest.approx(
        float(live.key_rate_bps) * live_fraction, rel=EXACT
    )
    assert "blinds it" in dead.note and "clicks/s" in dead.note
    assert live.click_rate_hz is None  # no dead time given: no saturation to report


def test_relay_dead_time_lowers_the_twin_field_key_at_least_by_its_live_fraction() -> None:
    # The sending probability is chosen again under the dead time, so the key is at most
    # the live key at its own optimum times the live fraction at the new one (Müller 1973).
    tau_ns = 1000.0
    live = _rows(_relay(protocol="tf-qkd"))["tf-qkd"]
    dead = _rows(_relay(protocol="tf-qkd", dead_time_ns=tau_ns))["tf-qkd"]
    live_fraction = 1.0 - float(dead.click_rate_hz) * tau_ns * 1e-9
    assert 0.0 < live_fraction < 1.0
    assert 0.0 < float(dead.key_rate_bps) <= float(live.key_rate_bps) * live_fraction * (1 + EXACT)


def test_sns_rate_at_one_operating_point_takes_the_live_fraction() -> None:
    from qcalc.physics.detectors import dead_time_live_fraction
    from qcalc.protocols.twinfield import sns_tf_qkd_rate

    point = {"mean_photon_number": 0.3, "sending_probability": 0.05}
    args = ([1e-2, 1e-4], 1e-8, 0.03)
    ratio = sns_tf_qkd_rate(*args, **point, dead_time_pulses=1000) / sns_tf_qkd_rate(*args, **point)
    expected = dead_time_live_fraction(sns_click_probability(args[0], args[1], **point), 1000)
    np.testing.assert_allclose(ratio, expected, rtol=EXACT)


def test_relay_counts_at_most_one_click_per_dead_time() -> None:
    # Müller (1973): a non-paralysable counter saturates at 1/τ.
    tau_ns = 1000.0
    row = _rows(_relay(arm_km=1.0, source="mean_photon_number: 1.0", dead_time_ns=tau_ns))[
        "mdi-qkd"
    ]
    clicks = float(row.click_rate_hz)
    assert 0.9e6 < clicks < 1.0 / (tau_ns * 1e-9)


def test_relay_dead_time_lowers_the_finite_mdi_key() -> None:
    settings = {
        "source": "mean_photon_number: 0.4, decoy_photon_numbers: [0.2, 0.05, 0.0], "
        "intensity_probabilities: [0.5, 0.2, 0.1, 0.2]",
        "protocol": "mdi-qkd-finite",
        "demand_extra": ", block_size: 1.0e12",
    }
    live = _rows(_relay(**settings))["mdi-qkd-finite"]
    dead = _rows(_relay(**settings, dead_time_ns=100))["mdi-qkd-finite"]
    assert 0 < float(dead.key_rate_bps) < float(live.key_rate_bps)
    assert 0 < float(dead.asymptotic_key_rate_bps) < float(live.asymptotic_key_rate_bps)


# ----------------------------------------------------------------------------- background


@pytest.mark.parametrize("protocol", ["mdi-qkd", "tf-qkd"])
def test_background_on_the_arms_is_background_yield_at_the_relay(protocol: str) -> None:
    # Ma et al. (2005), Sec. II: Y0 holds the dark counts and the background light alike.
    background = 2.0e-6
    on_arms = _rows(
        _relay(protocol=protocol, arm_extra=f", background_photons_per_window: {background}")
    )[protocol]
    at_relay = _rows(_relay(protocol=protocol, relay_y0=1.0e-7 + 2 * background))[protocol]
    without = _rows(_relay(protocol=protocol))[protocol]
    assert float(on_arms.key_rate_bps) == pytest.approx(float(at_relay.key_rate_bps), rel=EXACT)
    assert float(on_arms.key_rate_bps) < float(without.key_rate_bps)


# ----------------------------------------------------------------------------- sources


def test_four_intensity_probabilities_sift_the_asymptotic_mdi_key_by_p_z_squared() -> None:
    # Zhou, Yu, Wang, PRA 93, 042324 (2016): key from the pulse pairs both send as Z signals.
    four = "mean_photon_number: 0.4, decoy_photon_numbers: [0.2, 0.05, 0.0]"
    rows = {
        p_z: _rows(
            _relay(
                source=f"{four}, intensity_probabilities: [{p_z}, {rest}, {rest}, {rest}]",
                protocol=None,
                demand_extra=", block_size: 1.0e12",
            )
        )
        for p_z, rest in ((0.4, 0.2), (0.7, 0.1))
    }
    ratio = float(rows[0.4]["mdi-qkd"].key_rate_bps) / float(rows[0.7]["mdi-qkd"].key_rate_bps)
    assert ratio == pytest.approx((0.4 / 0.7) ** 2, rel=EXACT)
    for by_p_z in rows.values():  # the finite key's N → ∞ value at the same operating point
        assert float(by_p_z["mdi-qkd"].key_rate_bps) == pytest.approx(
            float(by_p_z["mdi-qkd-finite"].asymptotic_key_rate_bps), rel=EXACT
        )
        assert "p_z" in by_p_z["mdi-qkd"].sifting


def test_tf_qkd_takes_the_sources_mean_photon_number() -> None:
    optimised = _rows(_relay(arm_km=100, source="mean_photon_number: optimise", protocol="tf-qkd"))
    best_mu = float(optimised["tf-qkd"].mean_photon_number)
    fixed_at_best = _rows(
        _relay(arm_km=100, source=f"mean_photon_number: {best_mu}", protocol="tf-qkd")
    )["tf-qkd"]
    low = _rows(_relay(arm_km=100, source="mean_photon_number: 0.05", protocol="tf-qkd"))["tf-qkd"]
    assert float(low.mean_photon_number) == pytest.approx(0.05, rel=EXACT)
    assert float(fixed_at_best.key_rate_bps) == pytest.approx(
        float(optimised["tf-qkd"].key_rate_bps), rel=OPTIMISER
    )
    assert 0 < float(low.key_rate_bps) < float(fixed_at_best.key_rate_bps)


def test_tf_qkd_says_it_does_not_use_finite_decoys() -> None:
    notes = _notes(_relay(source="decoy_photon_numbers: [0.1, 0.0]", protocol="tf-qkd"))
    assert any("tf-qkd" in n and "decoy_photon_numbers" in n for n in notes)


# ----------------------------------------------------------------------------- refusals


def test_a_misplaced_link_key_is_refused_where_it_is_written() -> None:
    text = """
qcalc: 1
nodes:
  a: {source: {kind: weak_coherent, repetition_rate_hz: 1.0e9}}
  b: {detector: {efficiency: 0.5}}
links:
  - {ends: [a, b], length_km: 10, wavelength_nm: 850}
"""
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "metro.yaml")
    message = str(info.value)
    for part in ("metro.yaml:7:", "links[0].wavelength_nm", "850", "fibre link", "channel:"):
        assert part in message


def test_a_channel_specific_default_is_not_refused_on_other_channels() -> None:
    # defaults: apply to every link; only a key written on the link itself is refused.
    text = """
qcalc: 1
defaults:
  wavelength_nm: 850
  attenuation_db_per_km: 0.17
  rx_aperture_m: 0.1
nodes:
  a: {source: {kind: weak_coherent, repetition_rate_hz: 1.0e9}}
  b: {detector: {efficiency: 0.5}}
  c: {detector: {efficiency: 0.5}}
links:
  - {ends: [a, b], length_km: 10}
  - {ends: [a, c], channel: free_space, length_km: 1, tx_beam_waist_m: 0.02}
"""
    scenario = parse_scenario(text)
    assert scenario.links[0].attenuation_db_per_km == 0.17
    assert scenario.links[1].wavelength_nm == 850


def test_a_source_default_is_not_a_written_key() -> None:
    # mean_photon_number defaults to `optimise` on every source; an entangled-pair source
    # that does not write it is not refused.
    text = """
qcalc: 1
nodes:
  a: {detector: {efficiency: 0.5, dark_count_rate_hz: 100, gate_window_ns: 1}}
  s: {role: untrusted_relay, source: {kind: entangled_pair, pair_rate_hz: 1.0e6}}
  b: {detector: {efficiency: 0.5, dark_count_rate_hz: 100, gate_window_ns: 1}}
links:
  - {ends: [a, s], length_km: 5}
  - {ends: [s, b], length_km: 5}
"""
    assert parse_scenario(text).nodes["s"].source is not None


# ----------------------------------------------------------------------------- properties


_unit = st.floats(min_value=0.0, max_value=1.0)
_mu = st.floats(min_value=1e-3, max_value=2.0)


@settings(max_examples=60, deadline=None)
@given(_unit, _unit, st.floats(min_value=0.0, max_value=0.1), _mu, _mu)
def test_the_relay_clicks_whenever_it_reports_a_coincidence(
    eta_a: float, eta_b: float, p_d: float, mu_a: float, mu_b: float
) -> None:
    click = float(mdi_relay_click_probability(eta_a, eta_b, p_d, mu_a, mu_b))
    gain, _ = z_basis_gain(eta_a, eta_b, p_d, 0.0, mu_a, mu_b)
    assert 0.0 <= click <= 1.0
    assert click >= float(gain) - 1e-12  # a coincidence is two clicks
    assert click >= 1.0 - (1.0 - p_d) ** 4 - 1e-12  # the dark counts alone


@settings(max_examples=60, deadline=None)
@given(_unit, st.floats(min_value=0.0, max_value=0.1), _mu, st.floats(1e-6, 0.5))
def test_the_twin_field_relay_click_probability_is_a_probability(
    eta: float, p_d: float, mu: float, eps: float
) -> None:
    click = float(sns_click_probability(eta, p_d, mu, eps))
    assert 1.0 - (1.0 - p_d) ** 2 - 1e-12 <= click <= 1.0
    more = float(sns_click_probability(eta, p_d, mu * 1.5, eps))
    assert more >= click - 1e-12
    assert np.shape(sns_click_probability([eta, eta], p_d, mu, eps)) == (2,)
