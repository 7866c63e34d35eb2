"""The loss budget of a link as data: named terms in dB, their sum, and the derivation.

Every term has a name, a value in dB (a loss, ≥ 0), and the source of its model, so the
``links`` report can show where the photons go (the pylink idea of a budget). The channel
models (:mod:`qcalc.channels`) fill these containers; :mod:`qcalc.linkbudget` chooses the
model of each link.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

import numpy as np
import numpy.typing as npt

from qcalc.explain import Step
from qcalc.physics.fibre import transmittance_from_loss_db
from qcalc.records import record
from qcalc.scenario import Detector, Link

FloatArray = npt.NDArray[np.float64]


@record(frozen=True)
class BudgetTerm:
    """One named loss of a link budget."""

    name: str
    loss_db: Any  # float or numpy array, ≥ 0
    source: str
    receiver: bool = False  # a device term at the receiving end, not the channel


@record(frozen=True)
class LinkBudget:
    """The evaluated budget of one link, from its sender to its receiver."""

    link: Link
    sender: str
    receiver: str
    length_km: Any
    delay_s: Any
    terms: tuple[BudgetTerm, ...]
    steps: tuple[Step, ...] = ()
    notes: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def measured_only(self) -> bool:
        """A measured entanglement link with no length: it has no channel to send light on."""
        return self.link.length_km is None and self.link.channel != "satellite"

    @property
    def pass_time_s(self) -> FloatArray | None:
        """Time grid of a whole-pass budget, None for a budget at one instant. [s]"""
        times = self.extra.get("pass_time_s")
        return None if times is None else np.asarray(times, dtype=float)

    @property
    def background_yield(self) -> Any:
        """Background photons per detection window the link adds at its receiver: the
        link's ``background_photons_per_window`` plus the sky's, where it gives one."""
        value = self.link.background_photons_per_window
        given = 0.0 if value is None else float(value)
        return given + self.extra.get("sky_photons_per_window", 0.0)

    @property
    def channel_loss_db(self) -> FloatArray:
        """Sum of the channel terms (receiver devices excluded). [dB]"""
        return _sum_db(t.loss_db for t in self.terms if not t.receiver)

    @property
    def loss_db(self) -> FloatArray:
        """Sum of every term, the receiver's detector included. [dB]"""
        return _sum_db(t.loss_db for t in self.terms)

    @property
    def channel_transmittance(self) -> FloatArray:
        return transmittance_from_loss_db(self.channel_loss_db)

    @property
    def transmittance(self) -> FloatArray:
        return transmittance_from_loss_db(self.loss_db)


def _sum_db(values: Any) -> FloatArray:
    total: FloatArray = np.asarray(0.0)
    for value in values:
        total = np.asarray(total + np.asarray(value, dtype=float), dtype=float)
    return total


def detector_yield(detector: Detector) -> Any:
    """Background yield Y0 per window of a detector profile (0 when none is given)."""
    from qcalc.physics.detectors import dark_count_probability

    if detector.dark_count_probability is not None:
        return detector.dark_count_probability
    if detector.dark_count_rate_hz is not None and detector.gate_window_ns is not None:
        return dark_count_probability(detector.dark_count_rate_hz, detector.gate_window_ns)
    return 0.0
