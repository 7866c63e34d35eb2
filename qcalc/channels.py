"""Free-space and ground–satellite links as named loss budgets.

A thin layer between a scenario's :class:`~qcalc.scenario.Link` and the models of
:mod:`qcalc.physics.freespace` and :mod:`qcalc.physics.satellite`: it picks the fields,
fills what a link leaves to its ends (the wavelength of the sender's source), and turns
the models' terms into :class:`~qcalc.linkbudget.BudgetTerm` rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qcalc.errors import NotModelledError, ScenarioError
from qcalc.explain import Step
from qcalc.lossbudget import BudgetTerm, LinkBudget
from qcalc.physics.fibre import free_space_delay_s
from qcalc.protocols.numerics import distinct
from qcalc.scenario import Link, Scenario
from qcalc.units import fmt

#: Time points on which a whole pass is evaluated and integrated (trapezoid rule).
PASS_POINTS = 241


def _wavelength_nm(link: Link, scenario: Scenario, sender: str) -> Any:
    if link.wavelength_nm is not None:
        return link.wavelength_nm
    source = scenario.nodes[sender].source
    if source is not None and source.wavelength_nm is not None:
        return source.wavelength_nm
    raise ScenarioError(
        f"links.{link.name}: a {link.channel} link needs wavelength_nm (on the link or on "
        f"the source of {sender}) for its diffraction",
        file=scenario.file,
    )


def _terms(model: Any, sources: dict[str, str], link: Link) -> tuple[BudgetTerm, ...]:
    names = {
        "clipping": "transmit aperture clipping",
        "diffraction": "diffraction",
        "turbulence": "turbulence",
        "pointing": "pointing",
        "atmosphere": "atmosphere",
        "receiver": "receiver optics",
    }
    terms = [
        BudgetTerm(names[key], value, sources.get(key, ""))
        for key, value in model.terms_db().items()
        if key != "receiver" or np.any(np.asarray(value) > 0)
    ]
    if np.any(np.asarray(link.extra_loss_db) > 0):
        terms.append(BudgetTerm("extra losses", link.extra_loss_db, "extra_loss_db"))
    return tuple(terms)


def free_space_budget(link: Link, scenario: Scenario, sender: str, receiver: str) -> LinkBudget:
    """Terrestrial free-space link: diffraction, turbulence, pointing, atmosphere."""
    from qcalc.physics.freespace import free_space_link_budget, kim_attenuation_db_per_km

    wavelength = _wavelength_nm(link, scenario, sender)
    attenuation = link.atmospheric_attenuation_db_per_km
    if attenuation is None and link.visibility_km is not None:
        attenuation = kim_attenuation_db_per_km(link.visibility_km, wavelength)
    model = free_space_link_budget(
        link.length_km,
        wavelength,
        link.tx_beam_waist_m,
        link.rx_aperture_m,
        atmospheric_attenuation_db_per_km=0.0 if attenuation is None else attenuation,
        pointing_jitter_urad=0.0
        if link.pointing_jitter_urad is None
        else link.pointing_jitter_urad,
        cn2_m_minus_2_3=link.cn2_m_minus_2_3,
        fried_parameter_m=link.fried_parameter_m,
        receiver_efficiency=1.0 if link.receiver_efficiency is None else link.receiver_efficiency,
        tx_aperture_m=link.tx_aperture_m,
        tx_obscuration_m=0.0 if link.tx_obscuration_m is None else link.tx_obscuration_m,
    )
    steps = (
        Step(
            f"Gaussian beam over {link.name}",
            "w(L) = w0 √(1 + (L/z_R)²), z_R = π w0²/λ; η = 1 − exp(−2a²/w²)",
            (
                ("w0", fmt(link.tx_beam_waist_m, "m")),
                ("λ", fmt(wavelength, "nm")),
                ("L", fmt(link.length_km, "km")),
                ("a (radius)", fmt(np.asarray(link.rx_aperture_m) / 2, "m")),
            ),
            f"w = {fmt(model.beam_radius_m, 'm')}, diffraction {fmt(model.diffraction_db, 'dB')}",
        ),
    )
    return LinkBudget(
        link,
        sender,
        receiver,
        np.asarray(link.length_km, dtype=float),
        free_space_delay_s(link.length_km),
        _terms(model, model.SOURCES, link),
        steps,
    )


def _altitude_km(link: Link, scenario: Scenario) -> Any:
    altitude = next(
        scenario.nodes[e].altitude_km
        for e in link.ends
        if scenario.nodes[e].altitude_km is not None
    )
    if np.ndim(altitude):
        raise NotModelledError(
            f"links.{link.name}: one evaluation over many orbit altitudes is not modelled "
            "(the turbulence profile is integrated per altitude); evaluate each altitude "
            "on its own"
        )
    return float(altitude)


def satellite_budget(
    link: Link, scenario: Scenario, sender: str, receiver: str, elevation_deg: Any = None
) -> LinkBudget:
    """Ground–satellite link at ``elevation_deg`` (default: the link's own, or the top of
    its pass): slant range, diffraction, atmosphere, turbulence, pointing."""
    altitude = _altitude_km(link, scenario)
    wavelength = _wavelength_nm(link, scenario, sender)
    if elevation_deg is None:
        elevation_deg = (
            link.elevation_deg if link.elevation_deg is not None else (link.max_elevation_deg)
        )
    atmosphere, atmosphere_source, atmosphere_formula = _atmosphere(link, scenario, wavelength)
    model = _satellite_model(link, altitude, elevation_deg, wavelength, atmosphere)
    sources = {**model.SOURCES, "atmosphere": atmosphere_source}
    if _clipped(link):
        sources["diffraction"] = (
            "Fresnel integral of the Gaussian clipped by the transmit aperture, Born & Wolf "
            "(1999) Sec. 8.8; Klein & Degnan, Appl. Opt. 13, 2134 (1974)"
        )
    extra: dict[str, Any] = {
        "elevation_deg": elevation_deg,
        "altitude_km": altitude,
        "direction": link.direction,
    }
    notes = _pass_notes(link, altitude, extra)
    step = _satellite_step(link, model, altitude, elevation_deg, wavelength, atmosphere_formula)
    return LinkBudget(
        link,
        sender,
        receiver,
        model.range_km,
        free_space_delay_s(model.range_km),
        _terms(model, sources, link),
        (step,),
        notes,
        extra,
    )


def _clipped(link: Link) -> bool:
    """Whether the transmit aperture clips the beam (an aperture without both the waist and
    the divergence that would fix the beam's own size)."""
    return link.tx_aperture_m is not None and not (
        link.divergence_urad is not None and link.tx_beam_waist_m is not None
    )


def _satellite_model(
    link: Link, altitude_km: Any, elevation_deg: Any, wavelength_nm: Any, atmosphere: dict[str, Any]
) -> Any:
    """:func:`~qcalc.physics.satellite.satellite_link_budget` with the link's optics (absent
    optional terms are lossless: no pointing jitter, unit transmittance and efficiency)."""
    from qcalc.physics.satellite import satellite_link_budget

    def given(value: Any, otherwise: float) -> Any:
        return otherwise if value is None else value

    return satellite_link_budget(
        float(altitude_km),
        elevation_deg,
        wavelength_nm,
        link.rx_aperture_m,
        divergence_urad=link.divergence_urad,
        tx_beam_waist_m=link.tx_beam_waist_m,
        tx_aperture_m=link.tx_aperture_m,
        zenith_transmittance=given(link.zenith_transmittance, 1.0),
        pointing_jitter_urad=given(link.pointing_jitter_urad, 0.0),
        direction=link.direction,  # type: ignore[arg-type]
        fried_parameter_zenith_m=link.fried_parameter_m,
        receiver_efficiency=given(link.receiver_efficiency, 1.0),
        tx_obscuration_m=given(link.tx_obscuration_m, 0.0),
        **atmosphere,
    )


def _pass_notes(link: Link, altitude_km: Any, extra: dict[str, Any]) -> tuple[str, ...]:
    """For a link over a whole pass: its duration (added to ``extra``) and a note that the
    budget is the one at the top of the pass."""
    from qcalc.physics.satellite import pass_duration_s

    if link.min_elevation_deg is None:
        return ()
    duration = pass_duration_s(
        float(altitude_km), float(link.min_elevation_deg), float(link.max_elevation_deg)
    )
    extra.update(pass_duration_s=duration, min_elevation_deg=link.min_elevation_deg)
    return (
        f"budget at the top of the pass ({fmt(link.max_elevation_deg, '°')}); the "
        f"pass above {fmt(link.min_elevation_deg, '°')} lasts {fmt(duration, 's')}",
    )


def _satellite_step(
    link: Link,
    model: Any,
    altitude_km: Any,
    elevation_deg: Any,
    wavelength_nm: Any,
    atmosphere_formula: str,
) -> Step:
    """The derivation of a satellite budget: slant range, beam, diffraction, atmosphere."""
    diffraction = (
        "clipped beam: U(r) = (k/d) ∫_b^a e^(−ρ²/w0²) e^(ikρ²/2d) J0(kρr/d) ρ dρ, "
        "η = ∫_0^(D_rx/2) |U|² r dr / ∫_b^a e^(−2ρ²/w0²) ρ dρ; "
        if _clipped(link)
        else "w = √(w0² + θ²d²), η = 1 − exp(−D_rx²/2w²); "
    )
    obscuration = 0.0 if link.tx_obscuration_m is None else link.tx_obscuration_m
    inputs = (
        ("h", fmt(altitude_km, "km")),
        ("ε", fmt(elevation_deg, "°")),
        (
            "θ (1/e² half-angle)",
            fmt(link.divergence_urad, "µrad")
            if link.divergence_urad is not None
            else "from the aperture",
        ),
        ("w0 (launch 1/e² radius)", fmt(_launch_waist_m(link, wavelength_nm), "m")),
        ("D_tx", "—" if link.tx_aperture_m is None else fmt(link.tx_aperture_m, "m")),
        ("D_obs (central obscuration)", fmt(obscuration, "m")),
        ("D_rx", fmt(link.rx_aperture_m, "m")),
    )
    clipping = "" if model.clipping_db is None else f"clipping {fmt(model.clipping_db, 'dB')}, "
    result = (
        f"d = {fmt(model.range_km, 'km')}, w = {fmt(model.beam_radius_m, 'm')}, "
        f"{clipping}diffraction {fmt(model.diffraction_db, 'dB')}, atmosphere "
        f"{fmt(model.atmosphere_db, 'dB')}"
    )
    return Step(
        f"slant range and beam of {link.name} ({link.direction})",
        "d = √((R+h)² − R² cos²ε) − R sin ε; " + diffraction + atmosphere_formula,
        inputs,
        result,
    )


def _launch_waist_m(link: Link, wavelength_nm: Any) -> Any:
    """The launched beam's 1/e² radius, as :func:`satellite_link_budget` takes it: the given
    waist, else the Gaussian of the given divergence (λ/πθ), else half the aperture."""
    if link.tx_beam_waist_m is not None:
        return link.tx_beam_waist_m
    if link.divergence_urad is not None:
        wavelength_m = np.asarray(wavelength_nm, dtype=float) * 1e-9
        return wavelength_m / (np.pi * np.asarray(link.divergence_urad, dtype=float) * 1e-6)
    return np.asarray(link.tx_aperture_m, dtype=float) / 2.0


def _atmosphere(link: Link, scenario: Scenario, wavelength: Any) -> tuple[dict[str, Any], str, str]:
    """Keyword arguments of :func:`~qcalc.physics.satellite.satellite_link_budget` for the
    link's atmosphere, with the model's source and formula for the report."""
    atmosphere = link.atmosphere
    if atmosphere.model == "plane_parallel":
        return (
            {"air_mass_model": "plane_parallel"},
            "plane-parallel air mass 1/sin ε, Bourgoin et al., NJP 15, 023006 (2013)",
            "η_atm = η_zenith^(1/sin ε)",
        )
    if atmosphere.model == "kasten_young":
        return (
            {"air_mass_model": "kasten_young"},
            "air mass of Kasten & Young, Appl. Opt. 28, 4735 (1989)",
            "η_atm = η_zenith^m, m = 1/(sin ε + 0.50572 (ε + 6.07995°)^−1.6364)",
        )
    from qcalc.physics.satellite import transmittance_column

    values = distinct(np.asarray(wavelength, dtype=float))
    try:
        columns = {transmittance_column(atmosphere.wavelengths_nm, float(v)) for v in values}
    except ValueError as exc:
        raise ScenarioError(
            f"links.{link.name}.atmosphere: {atmosphere.source} {exc}", file=scenario.file
        ) from None
    if len(columns) > 1:
        raise NotModelledError(
            f"links.{link.name}: one evaluation over wavelengths that fall in different "
            f"columns of {atmosphere.source} is not modelled; evaluate each on its own"
        )
    index, column_nm = columns.pop()
    at = "" if not np.isfinite(column_nm) else f" at {column_nm:g} nm"
    return (
        {
            "transmittance_table": (
                np.asarray(atmosphere.elevation_deg),
                np.asarray(atmosphere.transmittance[index]),
            )
        },
        f"transmittance table {atmosphere.source}{at}, interpolated in dB",
        f"η_atm(ε) from the table {atmosphere.source}{at}",
    )


def pass_budget(link: Link, scenario: Scenario, sender: str, receiver: str) -> LinkBudget:
    """The budget on a time grid over the whole pass above ``min_elevation_deg``.

    ``extra["pass_time_s"]`` holds the grid; rates computed from this budget are arrays
    over it and are integrated by :func:`integrate_over_pass`.
    """
    from qcalc.physics.satellite import elevation_profile_deg, pass_duration_s

    altitude = float(_altitude_km(link, scenario))
    duration = float(
        pass_duration_s(altitude, float(link.min_elevation_deg), float(link.max_elevation_deg))
    )
    if duration <= 0:
        raise ScenarioError(
            f"links.{link.name}: min_elevation_deg {link.min_elevation_deg:g} is not below "
            f"max_elevation_deg {link.max_elevation_deg:g}; the pass never rises above the mask",
            file=scenario.file,
        )
    times = np.linspace(-duration / 2, duration / 2, PASS_POINTS)
    elevations = np.clip(
        elevation_profile_deg(altitude, times, float(link.max_elevation_deg)),
        float(link.min_elevation_deg),
        90.0,
    )
    budget = satellite_budget(link, scenario, sender, receiver, elevations)
    extra = {
        **budget.extra,
        "pass_time_s": times,
        "pass_duration_s": duration,
        "sky_photons_per_window": sky_background(link, scenario, sender, receiver),
    }
    return LinkBudget(**{**budget.__dict__, "extra": extra})


def integrate_over_pass(rate_per_s: Any, times_s: Any) -> tuple[float, float]:
    """Bits over a pass from a rate sampled on its time grid (trapezoid rule) and the
    pass duration: (bits per pass, duration in s)."""
    rate = np.asarray(rate_per_s, dtype=float)
    t = np.asarray(times_s, dtype=float)
    return float(np.trapezoid(rate, t)), float(t[-1] - t[0])


def sky_background(link: Link, scenario: Scenario, sender: str, receiver: str) -> Any:
    """Sky photons per detection window reaching the receiver's detector (0 when the link
    names no ``sky``). The window is the receiver's detector ``gate_window_ns``."""
    if link.sky is None:
        return 0.0
    from qcalc.physics.freespace import SKY_RADIANCE_W_M2_SR_NM, background_counts_per_window

    detector = scenario.nodes[receiver].detector
    if detector is None or detector.gate_window_ns is None:
        raise ScenarioError(
            f"links.{link.name}.sky: counting sky photons needs the detection window: give "
            f"{receiver}'s detector gate_window_ns",
            file=scenario.file,
        )
    return background_counts_per_window(
        SKY_RADIANCE_W_M2_SR_NM[link.sky],
        link.field_of_view_urad,
        link.rx_aperture_m,
        link.filter_bandwidth_nm,
        detector.gate_window_ns,
        _wavelength_nm(link, scenario, sender),
        detector.efficiency,
    )


def optical_budget(link: Link, scenario: Scenario, sender: str, receiver: str) -> LinkBudget:
    """Dispatch on the channel: free space or satellite; the sky's background rides along."""
    if link.channel == "free_space":
        budget = free_space_budget(link, scenario, sender, receiver)
    else:
        budget = satellite_budget(link, scenario, sender, receiver)
    if link.sky is None:
        return budget
    sky = sky_background(link, scenario, sender, receiver)
    return LinkBudget(
        **{**budget.__dict__, "extra": {**budget.extra, "sky_photons_per_window": sky}}
    )
