"""Scenario files: YAML → validated, frozen scenario objects.

This is the only module that sees raw YAML values. The format is declared once, in
:mod:`qcalc.fields` (the dataclasses carry each key's declaration); the checker here
reads those declarations to check a file and fill its defaults, and to produce the JSON
Schema printed by ``qcalc schema``. The declared names are re-exported from here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import field
from typing import Any
from weakref import WeakKeyDictionary

from qcalc._yaml import (
    Document,
    Path,
    control_character,
    paused_collection,
    read_document,
    read_file,
    shown,
)
from qcalc.errors import ScenarioError, UsageError
from qcalc.errors import suggest as suggest
from qcalc.fields import (
    AIR_MASS_MODELS as AIR_MASS_MODELS,
)
from qcalc.fields import (
    APPLICATION_STAGE as APPLICATION_STAGE,
)
from qcalc.fields import (
    APPLICATIONS as APPLICATIONS,
)
from qcalc.fields import (
    ATMOSPHERE_FIELDS as ATMOSPHERE_FIELDS,
)
from qcalc.fields import (
    BUNDLED_ATMOSPHERE_TABLES as BUNDLED_ATMOSPHERE_TABLES,
)
from qcalc.fields import (
    CHANNELS as CHANNELS,
)
from qcalc.fields import (
    CRITERIA_FIELDS as CRITERIA_FIELDS,
)
from qcalc.fields import (
    DEFAULTABLE_DEMAND as DEFAULTABLE_DEMAND,
)
from qcalc.fields import (
    DEFAULTABLE_LINK as DEFAULTABLE_LINK,
)
from qcalc.fields import (
    DEFAULTS_FIELDS as DEFAULTS_FIELDS,
)
from qcalc.fields import (
    DEMAND_FIELDS as DEMAND_FIELDS,
)
from qcalc.fields import (
    DETECTOR_FIELDS as DETECTOR_FIELDS,
)
from qcalc.fields import (
    DRAWN_SECTIONS as DRAWN_SECTIONS,
)
from qcalc.fields import (
    EXCLUSIVE_LINK_KEYS as EXCLUSIVE_LINK_KEYS,
)
from qcalc.fields import (
    EXPECT_KEYS as EXPECT_KEYS,
)
from qcalc.fields import (
    EXPECT_PROBABILITY as EXPECT_PROBABILITY,
)
from qcalc.fields import (
    FORMAT_VERSION as FORMAT_VERSION,
)
from qcalc.fields import (
    HARDWARE_KINDS as HARDWARE_KINDS,
)
from qcalc.fields import (
    LINK_FIELDS as LINK_FIELDS,
)
from qcalc.fields import (
    MEMORY_FIELDS as MEMORY_FIELDS,
)
from qcalc.fields import (
    NODE_FIELDS as NODE_FIELDS,
)
from qcalc.fields import (
    PROCESSOR_FIELDS as PROCESSOR_FIELDS,
)
from qcalc.fields import (
    PROFILE_FIELDS as PROFILE_FIELDS,
)
from qcalc.fields import (
    PROTOCOLS as PROTOCOLS,
)
from qcalc.fields import (
    ROLES as ROLES,
)
from qcalc.fields import (
    SOURCE_FIELDS as SOURCE_FIELDS,
)
from qcalc.fields import (
    SOURCE_KINDS as SOURCE_KINDS,
)
from qcalc.fields import (
    TOP_FIELDS as TOP_FIELDS,
)
from qcalc.fields import (
    Atmosphere as Atmosphere,
)
from qcalc.fields import (
    Candidate as Candidate,
)
from qcalc.fields import (
    Check as Check,
)
from qcalc.fields import (
    Criteria as Criteria,
)
from qcalc.fields import (
    Demand as Demand,
)
from qcalc.fields import (
    Detector as Detector,
)
from qcalc.fields import (
    Distillation as Distillation,
)
from qcalc.fields import (
    Field as Field,
)
from qcalc.fields import (
    Link as Link,
)
from qcalc.fields import (
    Memory as Memory,
)
from qcalc.fields import (
    Node as Node,
)
from qcalc.fields import (
    Orbit as Orbit,
)
from qcalc.fields import (
    PlanSettings as PlanSettings,
)
from qcalc.fields import (
    Processor as Processor,
)
from qcalc.fields import (
    Source as Source,
)
from qcalc.fields import (
    fields_of as fields_of,
)
from qcalc.fields import (
    spec as spec,
)
from qcalc.protocols.numerics import distinct
from qcalc.records import record
from qcalc.units import unit_of


@record(frozen=True, eq=False)  # identity, so evaluations can cache per scenario
class Scenario:
    name: str
    file: str
    nodes: Mapping[str, Node]
    links: tuple[Link, ...]
    demands: tuple[Demand, ...]
    criteria: Criteria = field(default_factory=Criteria)
    #: How ``qcalc plan`` searches (the file's ``plan:`` block).
    plan: PlanSettings = field(default_factory=PlanSettings)
    description: str = ""
    references: tuple[str, ...] = ()
    #: The document the scenario was checked from (values and their lines), for
    #: :meth:`with_changes` and the field paths of sweeps; None for one built in code.
    document: Document | None = field(default=None, repr=False)
    #: Fields written as distributions: (path in the document, Distribution), in the
    #: order checked; the scenario holds each one's median (qcalc.uncertainty).
    uncertain: tuple[tuple[Path, Any], ...] = ()

    def with_changes(self, changes: Mapping[str, Any]) -> Scenario:
        """A new scenario with the fields at the dotted paths set, checked like a file.

        ``changes`` maps field paths to values, e.g. ``{"links.alice-bob.length_km": 80}``
        (paths as ``qcalc sweep --vary`` takes them: ``links.<link>.<field>``,
        ``nodes.<node>.<field>``, ``nodes.<node>.memory.<field>``, ``demands.<demand>.<field>``,
        ``hardware.<group>.<profile>.<field>``, ``defaults.<field>``, ``criteria.<field>``).
        A value may be a numpy array: the scenario then evaluates every value at once.
        This scenario is left as it is.

        Raises
        ------
        UsageError
            For a path that names no field (with a "did you mean").
        ScenarioError
            For a value the file format refuses, located at the changed field's line in the
            original file, as a file holding that value would be.
        """
        import copy

        from qcalc.fieldpaths import resolve

        if self.document is None:
            raise UsageError(
                f"scenario {self.name!r} was built in code, not read from a document; "
                "load it with qcalc.load_scenario to change its fields by path"
            )
        data = copy.deepcopy(self.document.data)
        for path, value in changes.items():
            target = resolve(str(path), data, self, label="change", numeric=False)
            target.container[target.key] = value
        doc = Document(data, self.document.file, self.document.marks, self.document.key_marks)
        return scenario_from_document(doc)

    def link_between(self, a: str, b: str) -> Link | None:
        """The first link given that joins ``a`` and ``b`` directly, if any (a lookup in a
        table built once per scenario, so checking a path of N hops costs O(N))."""
        table = _LINKS_BY_ENDS.get(self)
        if table is None:
            table = _LINKS_BY_ENDS[self] = {}
            for link in self.links:
                table.setdefault(frozenset(link.ends), link)
        return table.get(frozenset((a, b)))


#: The first link between each pair of ends, per scenario (see Scenario.link_between).
_LINKS_BY_ENDS: WeakKeyDictionary[Scenario, dict[frozenset[str], Link]] = WeakKeyDictionary()


# --------------------------------------------------------------------------- checking

_EXPECT_RE = re.compile(r"^\s*(>=|<=|==|>|<)\s*([-+0-9.eE]+)\s*$")
#: What _EXPECT_RE matches and float() then reads: the schema's pattern of a comparison.
_EXPECT_SCHEMA_RE = r"^\s*(>=|<=|==|>|<)\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"
#: The schema's id: a name, not a place (editors find the file by the modeline's path).
SCHEMA_ID = f"urn:qcalc:scenario:{FORMAT_VERSION}"


def _text_hint(value: str) -> str:
    """Why a text is not a number, for texts that look like one in some other reading."""
    word = value.strip().lower()
    if word in ("yes", "no", "on", "off", "y", "n"):
        return ", written as a plain number (YAML 1.2 reads yes/no/on/off as text)"
    if re.match(r"^[-+]?[0-9]+(?::[0-5]?[0-9])+(?:\.[0-9]*)?$", word):
        return "; YAML 1.2 reads 1:30 as text, not as a base-60 number: write one number"
    if re.match(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:e[-+]?[0-9]+)?$", word) and "_" in word:
        return f"; write {word.replace('_', '')[:30]} (YAML 1.2 numbers have no '_' separators)"
    numeric = re.match(r"^\s*([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*(\S.*)?$", value)
    if numeric is None:
        return ""
    number = numeric.group(1) if len(numeric.group(1)) <= 30 else "the number alone"
    return f"; write {number} (the unit is in the key's name)"


def _unit_hint(name: str) -> str:
    unit = unit_of(name)
    return f" in {unit}" if unit else ""


_suggest = suggest


def _unknown_key(key: str, options: list[str] | tuple[str, ...]) -> str:
    """'unknown key' with a did-you-mean, or the list of allowed keys when none is close."""
    hint = _suggest(key, options)
    return (
        f"unknown key {shown(key)}{hint}"
        if hint
        else (f"unknown key {shown(key)} (allowed: {', '.join(options)})")
    )


#: Link fields that act on some channels only: key → the channels whose model reads it.
#: Written on a link of another channel it would change nothing, so it is refused there
#: (a ``defaults:`` value, which applies to every link, is not). tx_obscuration_m,
#: atmosphere, and length_km/cn2_m_minus_2_3 on a satellite link have checks of their own.
_OPTICS = ("free_space", "satellite")
CHANNEL_LINK_KEYS: dict[str, tuple[str, ...]] = {
    "attenuation_db_per_km": ("fibre",),
    "wavelength_nm": _OPTICS,
    "tx_beam_waist_m": _OPTICS,
    "tx_aperture_m": _OPTICS,
    "rx_aperture_m": _OPTICS,
    "pointing_jitter_urad": _OPTICS,
    "fried_parameter_m": _OPTICS,
    "receiver_efficiency": _OPTICS,
    "sky": _OPTICS,
    "field_of_view_urad": _OPTICS,
    "filter_bandwidth_nm": _OPTICS,
    "atmospheric_attenuation_db_per_km": ("free_space",),
    "visibility_km": ("free_space",),
    "cn2_m_minus_2_3": ("free_space", "satellite"),  # refused on satellite links below
    "direction": ("satellite",),
    "elevation_deg": ("satellite",),
    "min_elevation_deg": ("satellite",),
    "max_elevation_deg": ("satellite",),
    "divergence_urad": ("satellite",),
    "zenith_transmittance": ("satellite",),
    "passes_per_day": ("satellite",),
    "daylight": ("satellite",),
}
#: Source fields that mean something for some kinds of source only (intensity_probabilities
#: has a check of its own).
SOURCE_KIND_KEYS: dict[str, tuple[str, ...]] = {
    "mean_photon_number": ("weak_coherent",),
    "decoy_photon_numbers": ("weak_coherent",),
    "pair_rate_hz": ("entangled_pair",),
    "mean_pairs_per_pulse": ("entangled_pair",),
}
#: What the model of each channel reads instead, for the refusal's "why".
_CHANNEL_MODEL = {
    "fibre": "its loss is length_km × attenuation_db_per_km plus extra_loss_db (no telescope, "
    "no air, no orbit)",
    "free_space": "a horizontal path of length_km between two telescopes through air of "
    "atmospheric_attenuation_db_per_km or visibility_km (no orbit, no elevation)",
    "satellite": "its slant path comes from the orbit and the elevation, its air from "
    "zenith_transmittance or atmosphere (no horizontal extinction per km, no fibre)",
}


def _atmosphere_model(clean: Mapping[str, Any]) -> str:
    """The atmosphere model a link's checked fields ask for."""
    given = clean.get("atmosphere")
    if isinstance(given, Atmosphere):
        return given.model
    return str((given or {}).get("model", "plane_parallel"))


class _Checker:
    """Checks a :class:`Document` against the field tables and builds the objects."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.uncertain: list[tuple[Path, Any]] = []

    def err(self, path: Path, message: str, *, at_key: bool = False) -> ScenarioError:
        return self.doc.error(path, message, at_key=at_key)

    # -- scalar values
    def number(self, path: Path, value: Any, spec: Field, *, integer: bool = False) -> Any:
        name = str(path[-1]) if path else "value"
        if isinstance(value, bool):
            raise self.err(
                path,
                f"is {shown(value)} (YAML reads true/false as a boolean); expected "
                f"{spec.range_text}{_unit_hint(name)}, written as a plain number",
            )
        if isinstance(value, str):
            raise self.err(
                path,
                f"is the text {shown(value)}; expected {spec.range_text}{_unit_hint(name)}"
                f"{_text_hint(value)}",
            )
        if value is None:
            raise self.err(path, f"is empty; expected {spec.range_text}{_unit_hint(name)}")
        if not isinstance(value, int | float):
            if hasattr(value, "shape"):  # a numpy array placed by a sweep
                return self.array(path, value, spec)
            raise self.err(path, f"is {shown(value)}; expected {spec.range_text}")
        if isinstance(value, int) and abs(value) > 1e300:
            raise self.err(
                path, f"is a {len(str(abs(value)))}-digit integer; expected {spec.range_text}"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise self.err(path, f"is {shown(value)}; expected a finite number ({spec.range_text})")
        if integer and not float(value).is_integer():
            raise self.err(path, f"is {shown(value)}; expected a whole number")
        self.in_range(path, float(value), spec)
        return int(value) if integer else float(value)

    def array(self, path: Path, value: Any, spec: Field) -> Any:
        import numpy as np

        arr = np.asarray(value, dtype=float)
        if not np.all(np.isfinite(arr)):
            raise self.err(path, "holds non-finite values; expected finite numbers")
        self.in_range(path, float(arr.min()), spec)
        self.in_range(path, float(arr.max()), spec)
        return arr

    def in_range(self, path: Path, value: float, spec: Field) -> None:
        lo, hi = spec.minimum, spec.maximum
        bad = (lo is not None and (value < lo or (spec.exclusive_minimum and value <= lo))) or (
            hi is not None and value > hi
        )
        if bad:
            raise self.err(
                path, f"is {value:g}; expected {spec.range_text}{_unit_hint(str(path[-1]))}"
            )

    def distribution(self, path: Path, value: dict[str, Any], spec: Field) -> Any:
        """A numeric field written as a distribution: checked, recorded, read as its median."""
        from qcalc.distributions import Bounds, read_distribution

        if path and path[0] in TOP_FIELDS and path[0] not in DRAWN_SECTIONS:
            raise self.err(
                path,
                f"is a distribution, but {path[0]} is not evaluated over draws; give a number",
            )
        bounds = Bounds(spec.minimum, spec.maximum, spec.exclusive_minimum, spec.kind == "integer")
        dist = read_distribution(self.err, path, value, bounds, _unit_hint(str(path[-1])))
        self.uncertain.append((path, dist))
        return int(dist.median) if spec.kind == "integer" else dist.median

    def string(self, path: Path, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.err(path, f"is {shown(value)}; expected a non-empty text")
        found = control_character(value, name=True) if path and path[-1] == "name" else None
        if found is not None:  # free text may span lines; a name is printed in reports
            raise self.err(
                path,
                f"is {shown(value)}, which holds the control character {found}; a name is "
                "one line of text without tabs",
            )
        return value

    def names(self, path: Path, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.err(
                path, f"is {shown(value)}; expected a list of node names, e.g. [alice, bob]"
            )
        return tuple(value)

    # -- one field
    def enum(self, path: Path, value: Any, spec: Field) -> Any:
        """One of the field's choices (a long list is named, not printed)."""
        if value not in spec.choices:
            hint = _suggest(str(value), spec.choices)
            if hint and len(spec.choices) > 8:
                expected = f"{len(spec.choices)} names (`qcalc apps` lists them)"
            else:
                expected = f"one of {', '.join(spec.choices)}"
            raise self.err(path, f"is {shown(value)}; expected {expected}{hint}")
        return value

    def listed(self, path: Path, value: Any, spec: Field) -> Any:
        """A field that holds a short list of numbers: decoy intensities, intensity
        probabilities, or twelve monthly values (each also takes its single-word form)."""
        kind = spec.kind
        if kind == "decoys":
            if value == "infinite":
                return "infinite"
            if not isinstance(value, list) or not 1 <= len(value) <= 3:
                raise self.err(
                    path,
                    f"is {shown(value)}; expected `infinite` or a list of one or "
                    "two decoy intensities such as [0.1, 0.0] (BB84), or three such as "
                    "[0.2, 0.05, 0.0] (four-intensity MDI-QKD)",
                )
            return tuple(self.number((*path, i), v, spec) for i, v in enumerate(value))
        if kind == "probabilities":
            if isinstance(value, str) and value in ("optimise", "optimize"):
                return "optimise"
            if not isinstance(value, list) or not 2 <= len(value) <= 4:
                raise self.err(
                    path,
                    f"is {shown(value)}; expected `optimise` or a list of two to four "
                    "probabilities such as [0.7, 0.2, 0.1]",
                )
            return tuple(self.number((*path, i), v, spec) for i, v in enumerate(value))
        if kind == "monthly":
            if not isinstance(value, list):
                return self.number(path, value, spec)
            if len(value) != 12:
                raise self.err(
                    path,
                    f"holds {len(value)} values; expected one number or 12 monthly values "
                    "(January to December)",
                )
            return tuple(self.number((*path, i), v, spec) for i, v in enumerate(value))
        raise AssertionError(f"not a list kind: {kind}")  # pragma: no cover

    def value(self, path: Path, value: Any, spec: Field, profiles: Mapping[str, Any]) -> Any:
        kind = spec.kind
        if kind in ("number", "integer", "number_or_optimise") and isinstance(value, dict):
            return self.distribution(path, value, spec)
        if kind == "number":
            return self.number(path, value, spec)
        if kind == "integer":
            return self.number(path, value, spec, integer=True)
        if kind == "string":
            return self.string(path, value)
        if kind == "strings":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise self.err(path, f"is {shown(value)}; expected a list of texts")
            return tuple(value)
        if kind == "enum":
            return self.enum(path, value, spec)
        if kind == "names":
            return self.names(path, value)
        if kind == "number_or_optimise":
            if isinstance(value, str) and value in ("optimise", "optimize"):
                return "optimise"
            return self.number(path, value, spec)
        if kind in ("decoys", "probabilities", "monthly"):
            return self.listed(path, value, spec)
        if kind == "bool":
            if not isinstance(value, bool):
                raise self.err(path, f"is {shown(value)}; expected true or false")
            return value
        if kind == "mapping":
            assert spec.sub is not None
            return self.section(path, value, spec.sub, profiles)
        if kind == "profile":
            assert spec.profile is not None
            return self.profile(path, value, spec.profile, profiles)
        if kind == "expect":
            return self.expect(path, value)
        raise AssertionError(f"unknown field kind {kind}")  # pragma: no cover

    def section(
        self,
        path: Path,
        value: Any,
        spec: Mapping[str, Field],
        profiles: Mapping[str, Any],
        defaults: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Check a mapping against ``spec``; unknown keys are errors, defaults filled."""
        if not isinstance(value, dict):
            what = "a list" if isinstance(value, list) else repr(value)
            raise self.err(
                path, f"is {what}; expected a mapping of keys such as {', '.join(list(spec)[:3])}"
            )
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key not in spec:
                raise self.err((*path, key), _unknown_key(key, list(spec)), at_key=True)
            out[key] = self.value((*path, key), item, spec[key], profiles)
        for key, item in (defaults or {}).items():
            if key in spec and key not in out:
                out[key] = item
        for key, f in spec.items():
            if key not in out:
                if f.required:
                    raise self.err(path, f"misses the required key {shown(key)} ({f.doc})")
                if f.default is not None:
                    out[key] = f.default
        return out

    def profile(self, path: Path, value: Any, kind: str, profiles: Mapping[str, Any]) -> Any:
        if isinstance(value, str):
            named = profiles.get(kind, {})
            if value not in named:
                where = "hardware." + next(k for k, v in HARDWARE_KINDS.items() if v == kind)
                known = ", ".join(named) or "none"
                raise self.err(
                    path,
                    f"names the {kind} profile {shown(value)}, which {where} does "
                    f"not define (defined: {known}){_suggest(value, list(named))}",
                )
            return named[value]
        return self.make_profile(path, value, kind, profiles)

    def make_profile(self, path: Path, value: Any, kind: str, profiles: Mapping[str, Any]) -> Any:
        clean = self.section(path, value, PROFILE_FIELDS[kind], profiles)
        if kind == "detector":
            if clean.get("dark_count_rate_hz") is not None and "gate_window_ns" not in clean:
                raise self.err(
                    path,
                    "gives dark_count_rate_hz without gate_window_ns; add the "
                    "detection window in ns, or give dark_count_probability",
                )
            if "dark_count_probability" in clean and "dark_count_rate_hz" in clean:
                raise self.err(
                    path, "gives both dark_count_probability and dark_count_rate_hz; keep one"
                )
            return Detector(**clean)
        if kind == "source":
            self.source_kind_fields(path, clean, value)
            mu, decoys = clean.get("mean_photon_number"), clean.get("decoy_photon_numbers")
            if isinstance(mu, float) and isinstance(decoys, tuple) and mu <= max(decoys):
                raise self.err(
                    (*path, "mean_photon_number"),
                    f"is {mu:g}, not above the decoy intensity {max(decoys):g}; the "
                    "decoy bounds (Ma et al. 2005, Eq. 34) need μ > ν",
                )
            self.intensity_probabilities(path, clean)
            return Source(**clean)
        if kind == "memory":
            return Memory(**clean)
        if isinstance(value, dict) and "logical_qubits" in value and "physical_qubits" in value:
            raise self.err(
                (*path, "physical_qubits"),
                f"is {shown(value['physical_qubits'])}, but logical_qubits "
                f"{shown(value['logical_qubits'])} is given too, and it overrides the "
                "surface-code estimate from physical_qubits and two_qubit_gate_error; keep "
                "logical_qubits (the count you know) or physical_qubits (qcalc estimates it)",
                at_key=True,
            )
        return Processor(**clean)

    def source_kind_fields(self, path: Path, clean: dict[str, Any], written: Any) -> None:
        """Source keys written for another kind of source, or two ways of giving one rate:
        refused (a field's default, e.g. ``mean_photon_number: optimise``, is not)."""
        if not isinstance(written, dict):
            return
        kind = clean["kind"]
        for key, kinds in SOURCE_KIND_KEYS.items():
            if key in written and kind not in kinds:
                raise self.err(
                    (*path, key),
                    f"is {shown(written[key])}, but {key} applies to {' and '.join(kinds)} "
                    f"sources and this source is {kind}: "
                    + (
                        "it emits pairs, described by pair_rate_hz (a continuous pump) or "
                        "mean_pairs_per_pulse with repetition_rate_hz (a pulsed one)"
                        if kind == "entangled_pair"
                        else "it emits pulses at repetition_rate_hz"
                        + (
                            ", each holding one photon (no intensity to set)"
                            if kind == "single_photon"
                            else " of mean_photon_number photons"
                        )
                    )
                    + f". Remove {key}, or give the source the kind it describes",
                    at_key=True,
                )
        if kind != "entangled_pair" or "pair_rate_hz" not in written:
            return
        for key in ("mean_pairs_per_pulse", "repetition_rate_hz"):
            if key in written:
                where = "pair_rate_hz" if key == "mean_pairs_per_pulse" else key
                raise self.err(
                    (*path, where),
                    f"is {shown(written[where])}, but pair_rate_hz (a continuously pumped "
                    "source, its pairs counted in the receivers' gate_window_ns) and "
                    f"{key} (a pulsed pump: mean_pairs_per_pulse at repetition_rate_hz) are "
                    "both given, and only one way of giving the rate is used; keep "
                    "pair_rate_hz, or mean_pairs_per_pulse with repetition_rate_hz",
                    at_key=True,
                )

    def intensity_probabilities(self, path: Path, clean: dict[str, Any]) -> None:
        """A source's intensity probabilities: one per intensity, summing to one."""
        probs = clean.get("intensity_probabilities")
        if not isinstance(probs, tuple):
            return
        here: Path = (*path, "intensity_probabilities")
        if clean.get("kind") != "weak_coherent":
            raise self.err(here, "applies to a weak_coherent source", at_key=True)
        decoys = clean.get("decoy_photon_numbers")
        if not isinstance(decoys, tuple):
            raise self.err(
                here,
                f"is {list(probs)}, but decoy_photon_numbers is `infinite`: the infinite-decoy "
                "bound has a vanishing decoy fraction; give decoy intensities such as "
                "[0.1, 0.0] to give their probabilities",
            )
        if len(probs) != 1 + len(decoys):
            raise self.err(
                here,
                f"has {len(probs)} probabilities for {1 + len(decoys)} intensities "
                f"(the signal and decoys {list(decoys)}); give one for each, signal first",
            )
        if any(p <= 0 for p in probs) or not math.isclose(sum(probs), 1.0, abs_tol=1e-9):
            raise self.err(
                here,
                f"is {list(probs)} (sum {sum(probs):g}); expected probabilities > 0 that sum to 1",
            )

    def expect(self, path: Path, value: Any) -> tuple[Check, ...]:
        if not isinstance(value, dict):
            raise self.err(
                path,
                f"is {shown(value)}; expected a mapping such as "
                "{stage: '>= 1', key_rate_bps: '>= 1000'}",
            )
        checks = []
        allowed = (*EXPECT_KEYS, EXPECT_PROBABILITY)
        for key, text in value.items():
            if key not in allowed:
                raise self.err((*path, key), _unknown_key(key, allowed), at_key=True)
            match = _EXPECT_RE.match(text) if isinstance(text, str) else None
            number = None
            if match:
                try:
                    number = float(match.group(2))
                except ValueError:
                    number = None
            if match is None or number is None or not math.isfinite(number):
                raise self.err(
                    (*path, key),
                    f"is {shown(text)}; expected a comparison as a quoted "
                    f"text such as '>= {text if isinstance(text, int | float) and not isinstance(text, bool) else 1}' "
                    "(operators >=, <=, ==, >, <)",
                )
            checks.append(Check(key, match.group(1), number))
        if EXPECT_PROBABILITY in value:
            self.expect_probability(path, checks)
        return tuple(checks)

    def expect_probability(self, path: Path, checks: list[Check]) -> None:
        """``probability`` in an expect block: a chance in [0, 1], and checks to apply to."""
        here: Path = (*path, EXPECT_PROBABILITY)
        chance = next(c for c in checks if c.field == EXPECT_PROBABILITY)
        if not 0.0 <= chance.want <= 1.0:
            raise self.err(here, f"compares with {chance.want:g}; expected a probability in [0, 1]")
        if len(checks) == 1:
            raise self.err(
                here,
                "is the only entry: it is the chance that the other checks pass together; "
                "add one, e.g. {stage: '>= 3', probability: '>= 0.9'}",
                at_key=True,
            )

    # -- the whole file
    def scenario(self) -> Scenario:
        data = self.doc.data
        if not isinstance(data, dict):
            what = "a list" if isinstance(data, list) else f"the value {shown(data)}"
            raise self.err(
                (),
                f"the file holds {what}; expected a scenario mapping with the "
                "keys qcalc, nodes, links, demands",
            )
        for key in data:
            if key not in TOP_FIELDS:
                raise self.err((key,), _unknown_key(key, list(TOP_FIELDS)), at_key=True)
        for key, f in TOP_FIELDS.items():
            if f.required and key not in data:
                raise self.err((), f"misses the required key {shown(key)} ({f.doc})")
        version = self.number(("qcalc",), data["qcalc"], TOP_FIELDS["qcalc"], integer=True)
        if version != FORMAT_VERSION:
            raise self.err(
                ("qcalc",), f"is {version}; this qcalc reads format version {FORMAT_VERSION}"
            )
        profiles = self.hardware(data.get("hardware", {}))
        defaults = (
            self.section(("defaults",), data.get("defaults", {}), DEFAULTS_FIELDS, profiles)
            if "defaults" in data
            else {}
        )
        # Field defaults are filled by the sections that use them; keep only what was written.
        written_defaults = {k: v for k, v in defaults.items() if k in data.get("defaults", {})}
        nodes = self.nodes(data["nodes"], profiles, written_defaults)
        links = self.links(data["links"], nodes, profiles, written_defaults)
        self.station_fields(nodes, links)
        name = (
            self.string(("name",), data["name"])
            if "name" in data
            else (self.doc.file.rsplit("/", 1)[-1].removesuffix(".yaml").removesuffix(".yml"))
        )
        scenario = Scenario(
            name=name,
            file=self.doc.file,
            document=self.doc,
            nodes=nodes,
            links=links,
            demands=(),
            criteria=Criteria(
                **self.section(("criteria",), data.get("criteria", {}), CRITERIA_FIELDS, profiles)
            ),
            plan=PlanSettings(
                **self.section(("plan",), data.get("plan", {}), fields_of(PlanSettings), profiles)
            ),
            description=(
                self.string(("description",), data["description"]) if "description" in data else ""
            ),
            references=self.value(
                ("references",), data.get("references", []), TOP_FIELDS["references"], profiles
            ),
        )
        demands = self.demands(data.get("demands", []), scenario, profiles, written_defaults)
        self.shared_key_fields(demands, nodes)
        return Scenario(
            **{**scenario.__dict__, "demands": demands, "uncertain": tuple(self.uncertain)}
        )

    def hardware(self, value: Any) -> dict[str, dict[str, Any]]:
        path: Path = ("hardware",)
        if not isinstance(value, dict):
            raise self.err(
                path, f"is {shown(value)}; expected a mapping of {', '.join(HARDWARE_KINDS)}"
            )
        profiles: dict[str, dict[str, Any]] = {kind: {} for kind in HARDWARE_KINDS.values()}
        for group, entries in value.items():
            if group not in HARDWARE_KINDS:
                raise self.err(
                    (*path, group), _unknown_key(group, list(HARDWARE_KINDS)), at_key=True
                )
            if not isinstance(entries, dict):
                raise self.err((*path, group), f"is {shown(entries)}; expected profiles by name")
            kind = HARDWARE_KINDS[group]
            for name, body in entries.items():
                profiles[kind][name] = self.make_profile((*path, group, name), body, kind, profiles)
        return profiles

    def nodes(
        self, value: Any, profiles: Mapping[str, Any], defaults: Mapping[str, Any]
    ) -> dict[str, Node]:
        path: Path = ("nodes",)
        if not isinstance(value, dict) or not value:
            raise self.err(
                path,
                "expected a mapping of node names to their settings, e.g. {alice: {role: end}}",
            )
        nodes = {}
        node_defaults = {k: defaults[k] for k in PROFILE_FIELDS if k in defaults}
        for name, body in value.items():
            body = {} if body is None else body
            clean = self.section((*path, name), body, NODE_FIELDS, profiles, node_defaults)
            orbit = clean.pop("orbit", None)
            candidate = self.candidate((*path, name, "candidate"), clean.pop("candidate", None))
            # A candidate site may take any of its roles: what they use is not out of place.
            may = {clean.get("role"), *(candidate.roles if candidate else ())}
            if (
                clean.get("interference_misalignment_error") is not None
                and "untrusted_relay" not in may
            ):
                raise self.err(
                    (*path, name, "interference_misalignment_error"),
                    f"is set on a node with role {clean.get('role')}; only an "
                    "untrusted_relay that measures (MDI-/TF-QKD) interferes the two arms",
                )
            if "bsm_success_probability" in body and "repeater" not in may:
                role = clean.get("role")
                raise self.err(
                    (*path, name, "bsm_success_probability"),
                    f"is {shown(body['bsm_success_probability'])}, but node {name} has role "
                    f"{role}{'' if 'role' in body else ' (the default)'}, which swaps no "
                    "entanglement: only a repeater joins two elementary links by a "
                    "Bell-state measurement. Give it role: repeater (with a memory) if it "
                    "swaps, or remove bsm_success_probability",
                    at_key=True,
                )
            nodes[name] = Node(
                name=name,
                **clean,
                orbit=self.orbit((*path, name, "orbit"), orbit) if orbit else None,
                candidate=candidate,
                role_given=isinstance(body, dict) and "role" in body,
            )
        return nodes

    def candidate(self, path: Path, value: Any) -> Candidate | None:
        """A node's ``candidate`` block: one or more site roles, each named once."""
        if value is None:
            return None
        sites = tuple(r for r in ROLES if r != "end")
        roles = value["roles"]
        if not roles:
            raise self.err(
                (*path, "roles"), f"is empty; expected one or more of {', '.join(sites)}"
            )
        for i, role in enumerate(roles):
            if role not in sites:
                raise self.err(
                    (*path, "roles", i),
                    f"is {shown(role)}; a site may be {', '.join(sites)}{_suggest(role, sites)}",
                )
            if role in roles[:i]:
                raise self.err((*path, "roles", i), f"names {role} twice")
        return Candidate(**value)

    def links(
        self,
        value: Any,
        nodes: Mapping[str, Node],
        profiles: Mapping[str, Any],
        defaults: Mapping[str, Any],
    ) -> tuple[Link, ...]:
        path: Path = ("links",)
        if not isinstance(value, list) or not value:
            raise self.err(path, "expected a list of links, each with ends: [a, b]")
        link_defaults = {k: defaults[k] for k in DEFAULTABLE_LINK if k in defaults}
        links: list[Link] = []
        seen: dict[str, int] = {}
        for i, body in enumerate(value):
            here: Path = (*path, i)
            own = link_defaults
            if isinstance(body, dict):
                # A link's own choice of one of two exclusive keys wins over a default of
                # the other (elevation_deg for one position, min_elevation_deg for a pass).
                taken = {other for key, other in EXCLUSIVE_LINK_KEYS if key in body}
                own = {k: v for k, v in link_defaults.items() if k not in taken}
            clean = self.section(here, body, LINK_FIELDS, profiles, own)
            ends = self.two_ends((*here, "ends"), clean["ends"], nodes)
            name = clean.pop("name", None) or "-".join(ends)
            if name in seen:
                raise self.err(
                    (*here, "name"),
                    f"is {shown(name)}, the name of links[{seen[name]}] "
                    "too; give each link its own name",
                )
            seen[name] = i
            clean["ends"] = ends
            self.channel_fields(here, clean, nodes, body)
            links.append(Link(name=name, **clean))
        return tuple(links)

    def two_ends(
        self,
        path: Path,
        ends: tuple[str, ...],
        nodes: Mapping[str, Node],
    ) -> tuple[str, str]:
        if len(ends) != 2 or ends[0] == ends[1]:
            raise self.err(path, f"is {list(ends)}; expected two different node names")
        for end in ends:
            if end not in nodes:
                raise self.err(
                    path,
                    f"names {shown(end)}, which is not a node "
                    f"(nodes: {', '.join(nodes)}){_suggest(end, list(nodes))}",
                )
        return ends[0], ends[1]

    def channel_fields(
        self,
        path: Path,
        clean: dict[str, Any],
        nodes: Mapping[str, Node],
        written: Mapping[str, Any],
    ) -> None:
        """Checks that need several fields of one link at once."""
        self.placement_fields(path, clean, nodes, written)
        channel = clean["channel"]
        measured = "elementary_pair_rate_hz" in clean or "elementary_fidelity" in clean
        if channel in ("fibre", "free_space") and "length_km" not in clean and not measured:
            raise self.err(path, f"a {channel} link needs length_km (its length in km)")
        if channel == "satellite":
            self.satellite_fields(path, clean, nodes, written)
        self.sky_and_beam_fields(path, clean, nodes)
        self.heralding_fields(path, clean, nodes, written, measured)
        self.optics_fields(path, clean, nodes, written)

    def satellite_fields(
        self,
        path: Path,
        clean: dict[str, Any],
        nodes: Mapping[str, Node],
        written: Mapping[str, Any],
    ) -> None:
        """A satellite link: one orbiting end, one position or a pass, a sized beam, a
        receiver and an atmosphere; no fibre length and no ground turbulence constant."""
        for key, instead in (
            ("length_km", "the slant range comes from the orbit and elevation"),
            ("cn2_m_minus_2_3", "give fried_parameter_m, the zenith r0, for a satellite link"),
        ):
            if key in written:
                raise self.err(
                    (*path, key), f"does not apply to a satellite link: {instead}", at_key=True
                )
        orbiting = [e for e in clean["ends"] if nodes[e].altitude_km is not None]
        if len(orbiting) != 1:
            raise self.err(
                (*path, "ends"),
                f"a satellite link needs exactly one end with an "
                f"orbit; {list(clean['ends'])} has "
                f"{len(orbiting)}. Add orbit: {{altitude_km: 500}}"
                " to the satellite node",
            )
        if ("elevation_deg" in clean) == ("min_elevation_deg" in clean):
            raise self.err(
                path,
                "a satellite link needs elevation_deg (one position) or "
                "min_elevation_deg (a whole pass), not both or neither",
            )
        if (
            "divergence_urad" not in clean
            and "tx_aperture_m" not in clean
            and "tx_beam_waist_m" not in clean
        ):
            raise self.err(
                path,
                "a satellite link needs divergence_urad, tx_beam_waist_m or"
                " tx_aperture_m to size the beam",
            )
        if "rx_aperture_m" not in clean:
            raise self.err(path, "a satellite link needs rx_aperture_m (receiver diameter)")
        if "zenith_transmittance" not in clean and _atmosphere_model(clean) != "table":
            raise self.err(
                path,
                "a satellite link needs zenith_transmittance (the "
                "atmosphere's transmittance at zenith, e.g. 0.8)",
            )
        sat = nodes[orbiting[0]]
        if (
            sat.source is not None
            and sat.source.kind == "entangled_pair"
            and clean["direction"] == "uplink"
        ):
            raise self.err(
                (*path, "direction"),
                f"is uplink, but {sat.name} sends entangled pairs down; give direction: downlink",
            )

    def sky_and_beam_fields(
        self, path: Path, clean: dict[str, Any], nodes: Mapping[str, Node]
    ) -> None:
        """Sky background needs its optics; a free-space beam needs its size and length; an
        optical link needs a wavelength for its diffraction."""
        channel = clean["channel"]
        if "sky" in clean:
            for key in ("field_of_view_urad", "filter_bandwidth_nm"):
                if key not in clean:
                    raise self.err(
                        path, f"sky: {clean['sky']} needs {key} to count the background photons"
                    )
            if channel == "fibre":
                raise self.err(
                    (*path, "sky"),
                    "is for free-space and satellite links; a fibre link sees no sky",
                )
        if channel == "free_space" and clean.get("length_km") == 0:
            raise self.err(
                (*path, "length_km"),
                "is 0; a free_space link needs a length > 0 km for its beam to spread over",
            )
        if channel == "free_space":
            for key in ("tx_beam_waist_m", "rx_aperture_m"):
                if key not in clean:
                    raise self.err(path, f"a free_space link needs {key}")
        if channel in ("free_space", "satellite") and "wavelength_nm" not in clean:
            sources = [nodes[e].source for e in clean["ends"]]
            if not any(src is not None and src.wavelength_nm is not None for src in sources):
                raise self.err(
                    path,
                    f"a {channel} link needs wavelength_nm (on the link, or "
                    "on the source of one of its ends) for its diffraction",
                )

    def pass_or_position_fields(
        self, path: Path, clean: dict[str, Any], written: Mapping[str, Any]
    ) -> None:
        """A satellite link at one position takes no pass keys; one over a whole pass takes
        no measured pairs (they hold at one elevation)."""
        if "elevation_deg" in clean:
            for key in ("max_elevation_deg", "passes_per_day"):
                if key in written:
                    raise self.err(
                        (*path, key),
                        f"is {shown(written[key])}, but elevation_deg places the satellite at "
                        f"one position and {key} belongs to a whole pass; give "
                        f"min_elevation_deg (the pass above that mask) instead of "
                        f"elevation_deg, or remove {key}",
                        at_key=True,
                    )
        if "min_elevation_deg" in clean:
            for key in ("elementary_pair_rate_hz", "elementary_fidelity"):
                if key in written:
                    raise self.err(
                        (*path, key),
                        f"is {shown(written[key])}, but min_elevation_deg asks for a whole "
                        "pass, over which entanglement is not evaluated, and a measured rate "
                        "and fidelity hold at one elevation: give elevation_deg, the position "
                        f"they were measured at, or remove {key}",
                        at_key=True,
                    )

    def placement_fields(
        self,
        path: Path,
        clean: dict[str, Any],
        nodes: Mapping[str, Node],
        written: Mapping[str, Any],
    ) -> None:
        """Keys written on a link where its channel or its other fields leave them nothing
        to act on: refused, naming the key, its value, why and what to do instead. A key
        that came from ``defaults:`` (it applies to every link) is not refused."""
        if not isinstance(written, dict):
            return
        channel = clean["channel"]
        for key, value in written.items():
            where = CHANNEL_LINK_KEYS.get(key)
            if where is None or channel in where:
                continue
            raise self.err(
                (*path, key),
                f"is {shown(value)}, but {key} applies to {' and '.join(where)} links and "
                f"this is a {channel} link: {_CHANNEL_MODEL[channel]}. Remove it, or give "
                f"the link channel: {' or '.join(where)}",
                at_key=True,
            )
        if channel == "satellite":
            self.pass_or_position_fields(path, clean, written)
        if "sky" not in clean:
            for key in ("field_of_view_urad", "filter_bandwidth_nm"):
                if key in written:
                    raise self.err(
                        (*path, key),
                        f"is {shown(written[key])}, but it only sizes the sky background "
                        "and the link names no sky: give sky (night_moonless, "
                        "night_full_moon or day_clear), or give the background light as "
                        f"background_photons_per_window and remove {key}",
                        at_key=True,
                    )
        measured = "elementary_pair_rate_hz" in clean or "elementary_fidelity" in clean
        light = any(
            nodes[e].source is not None or nodes[e].detector is not None for e in clean["ends"]
        )
        if measured and not light and "misalignment_error" in written:
            raise self.err(
                (*path, "misalignment_error"),
                f"is {shown(written['misalignment_error'])}, but this link gives measured "
                "pairs (elementary_pair_rate_hz, elementary_fidelity) and neither end sends "
                "or detects light on it: the measured elementary_fidelity already holds every "
                "error of its pairs. Remove it (lower elementary_fidelity instead)",
                at_key=True,
            )
        if "bright_state_population" in written and clean.get("heralding") == "double_click":
            raise self.err(
                (*path, "bright_state_population"),
                f"is {shown(written['bright_state_population'])}, but heralding is "
                "double_click, which heralds on two photons and has no bright-state "
                "population: α sets the single-click scheme. Give heralding: single_click, "
                "or remove it",
                at_key=True,
            )

    def obscuration_fields(
        self, path: Path, clean: dict[str, Any], written: Mapping[str, Any]
    ) -> None:
        """A central obscuration belongs to a telescope's transmit aperture and is smaller."""
        import numpy as np

        channel = clean["channel"]
        if "tx_obscuration_m" in clean:
            if channel == "fibre" and "tx_obscuration_m" in written:
                raise self.err(
                    (*path, "tx_obscuration_m"),
                    "applies to free-space and satellite links; a fibre has no telescope",
                    at_key=True,
                )
            if channel != "fibre":
                if "tx_aperture_m" not in clean:
                    raise self.err(
                        (*path, "tx_obscuration_m"),
                        "needs tx_aperture_m, the transmit aperture it obscures",
                        at_key=True,
                    )
                obscuration = float(np.max(clean["tx_obscuration_m"]))
                aperture = float(np.min(clean["tx_aperture_m"]))
                if obscuration >= aperture:
                    raise self.err(
                        (*path, "tx_obscuration_m"),
                        f"is {obscuration:g}, not smaller than tx_aperture_m {aperture:g}; "
                        "expected the diameter of the central obscuration in m",
                    )

    def optics_fields(
        self,
        path: Path,
        clean: dict[str, Any],
        nodes: Mapping[str, Node],
        written: Mapping[str, Any],
    ) -> None:
        """The transmit obscuration and a satellite link's atmosphere: checked, and the
        atmosphere's table read (a relative ``table_file`` from the scenario's folder)."""
        channel = clean["channel"]
        self.obscuration_fields(path, clean, written)
        given = clean.pop("atmosphere", None)
        if channel != "satellite":
            if "atmosphere" in written:
                raise self.err(
                    (*path, "atmosphere"),
                    "applies to satellite links; a free_space link takes "
                    "atmospheric_attenuation_db_per_km or visibility_km",
                    at_key=True,
                )
            return
        here: Path = (*path, "atmosphere")
        model = (given or {}).get("model", "plane_parallel")
        named = [k for k in ("table", "table_file") if k in (given or {})]
        if model != "table":
            if named:
                raise self.err(
                    (*here, named[0]),
                    f"is for model: table; model {model} scales zenith_transmittance by "
                    "the air mass",
                    at_key=True,
                )
            clean["atmosphere"] = Atmosphere(model=model)
            return
        if len(named) != 1:
            raise self.err(
                here,
                "model: table needs one of table (a bundled table: "
                f"{', '.join(BUNDLED_ATMOSPHERE_TABLES)}) or table_file (a CSV file)",
            )
        if "zenith_transmittance" in written:
            raise self.err(
                (*path, "zenith_transmittance"),
                "has no effect with atmosphere model: table (the table gives the "
                "transmittance at every elevation); remove it",
                at_key=True,
            )
        atmosphere = self.atmosphere_table((*here, named[0]), named[0], given[named[0]])
        self.check_table_covers(here, atmosphere, clean, nodes)
        clean["atmosphere"] = atmosphere

    def orbit(self, path: Path, clean: dict[str, Any]) -> Orbit:
        """A circular orbit's altitude or a TLE (given or read from a file), exactly one; a
        TLE is checked (format and checksums) and gives the mean altitude."""
        from pathlib import Path as FilePath

        from qcalc.physics.tle import check_tle, tle_mean_altitude_km

        given = [k for k in ("altitude_km", "tle", "tle_file") if k in clean]
        if len(given) != 1:
            raise self.err(
                path,
                f"gives {' and '.join(given) or 'none of altitude_km, tle, tle_file'}; "
                "give one: altitude_km for a circular orbit, or the satellite's TLE as "
                "tle: [line 1, line 2] or tle_file",
            )
        if given == ["altitude_km"]:
            return Orbit(**clean)
        if "tle_file" in clean:
            file = FilePath(clean["tle_file"]).expanduser()
            if not file.is_absolute():
                scenario_file = FilePath(self.doc.file)
                file = (scenario_file.parent if scenario_file.is_file() else FilePath.cwd()) / file
            try:
                lines = [x for x in file.read_text(encoding="utf-8").splitlines() if x.strip()]
            except (OSError, UnicodeDecodeError) as exc:
                reason = getattr(exc, "strerror", None) or "not UTF-8 text"
                raise self.err(
                    (*path, "tle_file"),
                    f"is {shown(clean['tle_file'])}; {file} cannot be read ({reason})",
                ) from None
            where: Path = (*path, "tle_file")
            lines = lines[-2:] if len(lines) == 3 else lines
        else:
            lines, where = list(clean["tle"]), (*path, "tle")
        if len(lines) != 2:
            raise self.err(where, f"holds {len(lines)} lines; a TLE is two lines (line 1, line 2)")
        try:
            check_tle(lines[0], lines[1])
            altitude = tle_mean_altitude_km(lines[1])
        except ValueError as exc:
            raise self.err(where, f"is not a valid TLE: {exc}") from None
        if not 100.0 <= altitude <= 1e5:
            raise self.err(
                where, f"has a mean altitude of {altitude:g} km; expected 100 to 100000 km"
            )
        return Orbit(altitude_km=altitude, tle=(lines[0].rstrip(), lines[1].rstrip()))

    def station_fields(self, nodes: Mapping[str, Node], links: tuple[Link, ...]) -> None:
        """Coordinates place ground stations; the cloud-free probability and a link's
        ``daylight`` act on the passes of a satellite given by a TLE only."""
        tle_ground: dict[str, list[str]] = {}
        tle_links: set[str] = set()
        for i, link in enumerate(links):  # (links.index was O(n²) on 10⁴ links)
            sat = next((e for e in link.ends if nodes[e].orbit is not None), None)
            if link.channel == "satellite" and sat is not None:
                ground = next(e for e in link.ends if e != sat)
                if nodes[sat].orbit.tle is not None:  # type: ignore[union-attr]
                    tle_ground.setdefault(ground, []).append(link.name)
                    tle_links.add(link.name)
                    if nodes[ground].latitude_deg is None:
                        raise self.err(
                            ("nodes", ground),
                            f"is the ground end of link {link.name} to {sat}, whose orbit is "
                            "a TLE: give its latitude_deg and longitude_deg (and altitude_m) "
                            "so that the passes over it can be found",
                        )
                    if link.min_elevation_deg is None:
                        raise self.err(
                            ("links", i),
                            f"joins {sat}, whose orbit is a TLE and is evaluated over its "
                            "passes: give min_elevation_deg (the elevation mask) instead of "
                            "elevation_deg",
                        )
                    continue
            written = self.doc.data["links"][i]
            if link.daylight is not None and isinstance(written, dict) and "daylight" in written:
                raise self.err(
                    ("links", i, "daylight"),
                    f"is {link.daylight}, but link {link.name} has no satellite given by a "
                    "TLE, so it has no passes in daylight: remove it, or give the satellite "
                    "orbit: {tle: [line 1, line 2]}",
                    at_key=True,
                )
        for link in links:
            if link.daylight == "day_sky" and link.sky is None and link.name in tle_links:
                raise self.err(
                    ("links", links.index(link), "daylight"),
                    "is day_sky, which counts the day sky's photons while the Sun is up: give "
                    "the link its night sky (e.g. sky: night_moonless) with field_of_view_urad "
                    "and filter_bandwidth_nm, which size both backgrounds",
                    at_key=True,
                )
        for name, node in nodes.items():
            self.station_node(name, node, name in tle_ground)

    def station_node(self, name: str, node: Node, tle_ground: bool) -> None:
        """A node's coordinates place a ground station (both, or neither; a satellite has
        none); its cloud-free probability needs a link to a TLE satellite (``tle_ground``)."""
        here: Path = ("nodes", name)
        placed = [k for k in ("latitude_deg", "longitude_deg") if getattr(node, k) is not None]
        station = ("latitude_deg", "longitude_deg", "altitude_m", "cloud_free_probability")
        if node.orbit is not None:
            for key in station:
                if getattr(node, key) is not None:
                    raise self.err(
                        (*here, key),
                        f"is set on {name}, which has an orbit: a satellite's position "
                        "comes from its orbit; ground stations carry coordinates",
                        at_key=True,
                    )
        if len(placed) == 1:
            raise self.err(here, "gives one of latitude_deg and longitude_deg; give both")
        if not placed and node.altitude_m is not None:
            raise self.err(
                (*here, "altitude_m"),
                "is the height of a station placed by latitude_deg and longitude_deg; "
                "give them too",
                at_key=True,
            )
        if node.cloud_free_probability is not None and not tle_ground:
            raise self.err(
                (*here, "cloud_free_probability"),
                f"scales the key of the passes of a satellite given by a TLE, and {name} "
                "is the ground end of no link to one: remove it, or give the satellite "
                "orbit: {tle: [line 1, line 2]}",
                at_key=True,
            )

    def shared_key_fields(self, demands: tuple[Demand, ...], nodes: Mapping[str, Node]) -> None:
        """``shared_key_bits`` sizes the days until a key is shared over TLE passes only."""
        if any(n.orbit is not None and n.orbit.tle is not None for n in nodes.values()):
            return
        for i, demand in enumerate(demands):
            if demand.shared_key_bits is not None:
                raise self.err(
                    ("demands", i, "shared_key_bits"),
                    "gives the key size for the days-until-shared of the orbit report, which "
                    "needs a satellite given by a TLE; this scenario has none: remove it",
                    at_key=True,
                )

    def atmosphere_table(self, path: Path, key: str, value: str) -> Atmosphere:
        """Read a bundled table or a table file into an :class:`Atmosphere`."""
        from pathlib import Path as FilePath

        from qcalc.physics.satellite import read_transmittance_table

        if key == "table":
            file = FilePath(__file__).resolve().parent / "data" / "atmosphere" / f"{value}.csv"
        else:
            file = FilePath(value).expanduser()
            if not file.is_absolute():
                scenario_file = FilePath(self.doc.file)
                base = scenario_file.parent if scenario_file.is_file() else FilePath.cwd()
                file = base / file
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise self.err(path, f"is {shown(value)}; {file} cannot be read ({reason})") from None
        try:
            elevations, wavelengths, table = read_transmittance_table(text)
        except ValueError as exc:
            raise self.err(path, f"is {shown(value)}; {file}: {exc}") from None
        return Atmosphere(
            model="table",
            source=value if key == "table" else str(file),
            elevation_deg=tuple(float(e) for e in elevations),
            wavelengths_nm=wavelengths,
            transmittance=tuple(tuple(float(t) for t in col) for col in table.T),
        )

    def check_table_covers(
        self, path: Path, atmosphere: Atmosphere, clean: dict[str, Any], nodes: Mapping[str, Node]
    ) -> None:
        """The table must hold the link's wavelength and span the elevations it is used at."""
        import numpy as np

        from qcalc.physics.satellite import transmittance_column

        lowest = clean.get("elevation_deg", clean.get("min_elevation_deg"))
        highest = clean.get("elevation_deg", clean.get("max_elevation_deg", 90.0))
        lo, hi = atmosphere.elevation_deg[0], atmosphere.elevation_deg[-1]
        if lowest is not None and (
            float(np.min(lowest)) < lo - 1e-9 or float(np.max(highest)) > hi + 1e-9
        ):
            raise self.err(
                path,
                f"covers elevations {lo:g}..{hi:g} deg, but the link is evaluated from "
                f"{float(np.min(lowest)):g} to {float(np.max(highest)):g} deg",
            )
        orbiting = next(e for e in clean["ends"] if nodes[e].altitude_km is not None)
        ground = next(e for e in clean["ends"] if e != orbiting)
        sender = orbiting if clean["direction"] == "downlink" else ground
        source = nodes[sender].source
        wavelength = clean.get("wavelength_nm", None if source is None else source.wavelength_nm)
        if wavelength is None:
            return
        for value in distinct(np.asarray(wavelength, dtype=float)):
            try:
                transmittance_column(atmosphere.wavelengths_nm, float(value))
            except ValueError as exc:
                raise self.err(
                    path, f"{atmosphere.source}: {exc}; the link's wavelength is {value:g} nm"
                ) from None

    def heralding_fields(
        self,
        path: Path,
        clean: dict[str, Any],
        nodes: Mapping[str, Node],
        written: Mapping[str, Any],
        measured: bool,
    ) -> None:
        """Fields of a heralded link between memories: refused where they cannot act.

        Each multiplexed mode of an attempt holds a memory qubit at both ends until the
        herald comes back, so ``memory_modes`` cannot exceed either memory's ``qubits``.
        Heralding fields written on a measured link, or on a link with an end that holds
        no memory, would change nothing and are refused (a ``defaults:`` value is not).
        """
        import numpy as np

        keys = ("memory_modes", "heralding", "bright_state_population", "heralding_detector")
        own = [k for k in (*keys, "two_photon_visibility") if k in written]
        bare = [e for e in clean["ends"] if nodes[e].memory is None]
        if own and (measured or bare):
            why = (
                "its elementary_pair_rate_hz and elementary_fidelity already are the measured "
                "result"
                if measured
                else f"node {bare[0]} has no memory"
            )
            raise self.err(
                (*path, own[0]),
                f"applies to a heralded link between two memories, but {why}",
                at_key=True,
            )
        modes = float(np.max(clean.get("memory_modes", 1)))
        for end in clean["ends"]:
            memory = nodes[end].memory
            if memory is None or measured:
                continue
            qubits = float(np.min(memory.qubits))
            if modes > qubits:
                raise self.err(
                    (*path, "memory_modes"),
                    f"is {modes:g}, more than the {qubits:g} qubit{'' if qubits == 1 else 's'} of "
                    f"the memory at {end} "
                    f"(nodes.{end}.memory.qubits); each mode of an attempt holds a memory "
                    "qubit at both ends until its herald returns",
                )

    def demands(
        self,
        value: Any,
        scenario: Scenario,
        profiles: Mapping[str, Any],
        defaults: Mapping[str, Any],
    ) -> tuple[Demand, ...]:
        path: Path = ("demands",)
        if not isinstance(value, list):
            raise self.err(path, "expected a list of demands, each with ends: [a, b]")
        demand_defaults = {k: defaults[k] for k in DEFAULTABLE_DEMAND if k in defaults}
        out = []
        seen: set[str] = set()
        for i, body in enumerate(value):
            here: Path = (*path, i)
            clean = self.section(here, body, DEMAND_FIELDS, profiles, demand_defaults)
            ends = self.two_ends((*here, "ends"), clean["ends"], scenario.nodes)
            name = clean.pop("name", None) or "-".join(ends)
            if name in seen:
                raise self.err((*here, "name"), f"is {shown(name)}, used by another demand too")
            seen.add(name)
            clean["ends"] = ends
            if "path" in clean:
                self.check_path((*here, "path"), clean["path"], ends, scenario)
            if "distillation" in clean:
                clean["distillation"] = Distillation(**clean["distillation"])
            for first, second in (
                ("sifting_factor", "key_basis_probability"),
                ("block_size", "block_key_detections"),
            ):
                for mapping, where in ((body, here), (demand_defaults, ("defaults",))):
                    if isinstance(mapping, dict) and first in mapping and second in mapping:
                        raise self.err(
                            (*where, second),
                            f"and {first} are both given; keep one ({DEMAND_FIELDS[second].doc})",
                            at_key=True,
                        )
            self.protocol_fields(here, clean, body)
            chance = [c for c in clean.get("expect", ()) if c.field == EXPECT_PROBABILITY]
            if chance:
                clean["expect"] = tuple(c for c in clean["expect"] if c.field != EXPECT_PROBABILITY)
                clean["expect_probability"] = chance[0]
            out.append(Demand(name=name, **clean))
        return tuple(out)

    def protocol_fields(self, path: Path, clean: dict[str, Any], written: Any) -> None:
        """A demand's key fields its protocol cannot use are refused (a ``defaults:`` value
        is not): finite-key fields need a finite-key protocol, the BB84 operating point a
        BB84 protocol."""
        protocol = clean.get("protocol")
        own = written if isinstance(written, dict) else {}
        blocks = ("block_size", "block_key_detections")
        if protocol is None:
            if not any(clean.get(k) is not None for k in blocks):
                for key in ("epsilon_sec", "epsilon_cor"):
                    if key in own:
                        raise self.err(
                            (*path, key),
                            "applies to a finite key, and this demand computes none: give "
                            "block_size (or block_key_detections), or protocol: bb84-finite",
                            at_key=True,
                        )
            return
        finite = protocol.endswith("-finite")
        bb84 = protocol in ("bb84-decoy", "bb84-finite", "bb84-single-photon", "gllp")
        uses = {
            "block_size": finite,
            "epsilon_sec": finite,
            "epsilon_cor": finite,
            "block_key_detections": protocol == "bb84-finite",
            "key_basis_probability": bb84,
            "vacuum_contribution": protocol in ("bb84-decoy", "bb84-finite"),
            # the measuring-relay keys choose their key basis efficiently (no sifting)
            "sifting_factor": protocol not in ("mdi-qkd", "mdi-qkd-finite", "tf-qkd"),
        }
        for key, used in uses.items():
            if key in own and not used:
                raise self.err(
                    (*path, key),
                    f"has no effect with protocol: {protocol} (given {shown(own[key])}); "
                    "remove it or choose a protocol that uses it (" + DEMAND_FIELDS[key].doc + ")",
                    at_key=True,
                )

    def check_path(
        self, path: Path, route: tuple[str, ...], ends: tuple[str, str], scenario: Scenario
    ) -> None:
        if len(route) < 2 or route[0] != ends[0] or route[-1] != ends[1]:
            raise self.err(
                path, f"is {list(route)}; expected a route from {ends[0]!r} to {ends[1]!r}"
            )
        if len(set(route)) != len(route):
            raise self.err(path, f"is {list(route)}; a route visits each node once")
        for a, b in zip(route, route[1:], strict=False):
            for node in (a, b):
                if node not in scenario.nodes:
                    raise self.err(
                        path,
                        f"names {shown(node)}, which is not a node"
                        f"{_suggest(node, list(scenario.nodes))}",
                    )
            if scenario.link_between(a, b) is None:
                raise self.err(path, f"is {list(route)}, but no link joins {a!r} and {b!r}")


def scenario_from_document(doc: Document) -> Scenario:
    """Validate a composed document and build the frozen :class:`Scenario`."""
    with paused_collection():  # the collector's passes grew with the square of the file
        return _Checker(doc).scenario()


def _as_written(doc: Document) -> Scenario:
    """A scenario read from a file or text: checked, and refused where an ``expect`` asks
    for a probability but no field holds a distribution (every draw would be the same;
    the checks already give the answer, 0 or 1). Sweeps and samples, which place arrays
    where the file has distributions, check their documents with
    :func:`scenario_from_document` alone."""
    scenario = scenario_from_document(doc)
    if scenario.uncertain:
        return scenario
    for i, demand in enumerate(scenario.demands):
        chance = demand.expect_probability
        if chance is not None:
            raise doc.error(
                ("demands", i, "expect", "probability"),
                f"asks for a probability ({chance.op} {chance.want:g}), but no field of the "
                "scenario holds a distribution, so every draw would be the same: write the "
                "uncertain inputs as distributions, e.g. {normal: {mean: 0.2, sd: 0.02}} "
                "(docs/uncertainty.md), or remove probability",
            )
    return scenario


def load_scenario(path: str) -> Scenario:
    """Read, check and build the scenario in the file ``path``.

    Raises
    ------
    ScenarioError
        With the file, line, column, field path, value and what was expected.
    """
    return _as_written(read_file(path))


def parse_scenario(text: str, file: str = "<string>") -> Scenario:
    """Like :func:`load_scenario` for YAML text already in memory."""
    return _as_written(read_document(text, file))


# --------------------------------------------------------------------------- schema


#: The spellings of "optimise" the checker accepts (and so the schema). [text]
OPTIMISE_WORDS = ("optimise", "optimize")


def _number_schema(f: Field, kind: str = "number") -> dict[str, Any]:
    """A number in the field's range, as the checker reads it."""
    out: dict[str, Any] = {"type": kind}
    if f.minimum is not None:
        out["exclusiveMinimum" if f.exclusive_minimum else "minimum"] = f.minimum
    if f.maximum is not None:
        out["maximum"] = f.maximum
    return out


def _distribution_schema(f: Field) -> dict[str, Any]:
    """The distributions a numeric field may hold instead of a number (qcalc.distributions);
    qcalc, not the schema, checks their parameters against the field's range."""
    return {"$ref": "#/$defs/distribution"}


def _field_schema(f: Field) -> dict[str, Any]:
    out: dict[str, Any] = {"description": f.doc}
    if f.default is not None and not isinstance(f.default, tuple):
        out["default"] = f.default
    if f.kind in ("number", "integer"):
        out["anyOf"] = [_number_schema(f, f.kind), _distribution_schema(f)]
    elif f.kind == "string":
        out.update(type="string", pattern=r"\S")  # the checker refuses an empty text
    elif f.kind in ("strings", "names"):
        out.update(type="array", items={"type": "string"})
        if f.kind == "names":  # a route or two ends: node names, at least two
            out.update(items={"type": "string", "minLength": 1}, minItems=2)
    elif f.kind == "enum":
        out.update(type="string", enum=list(f.choices))
    elif f.kind == "number_or_optimise":
        out["oneOf"] = [
            _number_schema(f),
            {"enum": list(OPTIMISE_WORDS)},
            _distribution_schema(f),
        ]
    elif f.kind == "probabilities":
        out["oneOf"] = [
            {"enum": list(OPTIMISE_WORDS)},
            {"type": "array", "items": _number_schema(f), "minItems": 2, "maxItems": 4},
        ]
    elif f.kind == "monthly":
        out["oneOf"] = [
            _number_schema(f),
            {"type": "array", "items": _number_schema(f), "minItems": 12, "maxItems": 12},
        ]
    elif f.kind == "bool":
        out["type"] = "boolean"
    elif f.kind == "decoys":
        out["oneOf"] = [
            {"const": "infinite"},
            {"type": "array", "items": _number_schema(f), "minItems": 1, "maxItems": 3},
        ]
    elif f.kind == "mapping":
        assert f.sub is not None
        out.update(_section_schema(f.sub))
    elif f.kind == "profile":
        assert f.profile is not None
        out["oneOf"] = [{"type": "string"}, {"$ref": f"#/$defs/{f.profile}"}]
    elif f.kind == "expect":
        out.update(
            type="object",
            additionalProperties=False,
            properties={
                k: {"type": "string", "pattern": _EXPECT_SCHEMA_RE}
                for k in (*EXPECT_KEYS, EXPECT_PROBABILITY)
            },
        )
    return out


def _section_schema(spec: Mapping[str, Field]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {k: _field_schema(f) for k, f in spec.items()},
    }
    required = [k for k, f in spec.items() if f.required]
    if required:
        out["required"] = required
    return out


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the scenario format, from the field tables."""
    top = _section_schema(
        {
            k: f
            for k, f in TOP_FIELDS.items()
            if f.kind not in ("hardware", "nodes", "links", "demands")
        }
    )
    top["properties"]["qcalc"] = {"description": TOP_FIELDS["qcalc"].doc, "const": FORMAT_VERSION}
    top["properties"]["hardware"] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            group: {"type": "object", "additionalProperties": {"$ref": f"#/$defs/{kind}"}}
            for group, kind in HARDWARE_KINDS.items()
        },
    }
    top["properties"]["nodes"] = {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": {"$ref": "#/$defs/node"},
    }
    top["properties"]["links"] = {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/link"}}
    top["properties"]["demands"] = {"type": "array", "items": {"$ref": "#/$defs/demand"}}
    top["required"] = [k for k, f in TOP_FIELDS.items() if f.required]
    defs = {kind: _section_schema(spec) for kind, spec in PROFILE_FIELDS.items()}
    defs["node"] = _section_schema(NODE_FIELDS)
    defs["node"]["type"] = ["object", "null"]
    defs["link"] = _section_schema(LINK_FIELDS)
    defs["demand"] = _section_schema(DEMAND_FIELDS)
    for kind in ("link", "demand"):  # two ends, as the checker requires
        defs[kind]["properties"]["ends"]["maxItems"] = 2
    from qcalc.distributions import json_schema as distribution_schema

    defs["distribution"] = distribution_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "qcalc scenario",
        **top,
        "$defs": defs,
    }
