"""The scenario format, declared once: every key of a scenario file with its kind, range,
default and meaning, carried by the dataclass attribute it fills.

``Link``, ``Node``, ``Demand`` and the profiles (``Detector``, ``Source``, ``Memory``,
``Processor``) are frozen dataclasses whose attributes are declared with :func:`spec`;
the tables the checker reads (``LINK_FIELDS`` …), ``qcalc schema`` and
docs/scenario-reference.md are all made from them by :func:`fields_of`. Nothing here
reads YAML: :mod:`qcalc.scenario` checks a document against these declarations.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import MISSING, field, fields
from typing import Any

from qcalc.applications import APPLICATIONS as APPLICATION_CATALOGUE
from qcalc.constants import FIBRE_ATTENUATION_DB_PER_KM_1550NM
from qcalc.records import record

FORMAT_VERSION = 1


@record(frozen=True)
class Field:
    """One key of the scenario format: its kind, range, default and meaning."""

    kind: str  # number integer string enum bool names strings mapping profile expect ...
    doc: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple[str, ...] = ()
    required: bool = False
    default: Any = None
    sub: Mapping[str, Field] | None = None
    profile: str | None = None

    @property
    def range_text(self) -> str:
        lo = (
            ""
            if self.minimum is None
            else f"{'>' if self.exclusive_minimum else '≥'} {self.minimum:g}"
        )
        hi = "" if self.maximum is None else f"≤ {self.maximum:g}"
        if lo and hi:
            return f"a number {lo} and {hi}"
        if lo or hi:
            return f"a number {lo or hi}"
        return "a number"


def _num(
    doc: str,
    lo: float | None = 0.0,
    hi: float | None = None,
    *,
    gt: bool = False,
    default: Any = None,
    required: bool = False,
) -> Field:
    return Field("number", doc, lo, hi, gt, default=default, required=required)


def _frac(doc: str, default: Any = None, hi: float = 1.0) -> Field:
    return Field("number", doc, 0.0, hi, default=default)


def _int(doc: str, lo: float = 0, hi: float | None = None, default: Any = None) -> Field:
    return Field("integer", doc, lo, hi, default=default)


def spec(f: Field, *, needed: bool = False, default: Any = MISSING) -> Any:
    """A dataclass attribute declared by its scenario field ``f``: the one declaration of
    the key's kind, range, default and meaning, kept in the attribute's metadata.

    ``needed`` makes the attribute required in Python although the file may leave it out
    (a link's ``name`` is made from its ends); ``default`` gives the object's default where
    it is not a plain value of the file (e.g. an empty ``expect``)."""
    if needed or (f.required and default is MISSING):
        return field(metadata={"field": f})
    return field(default=f.default if default is MISSING else default, metadata={"field": f})


def fields_of(cls: type) -> dict[str, Field]:
    """The scenario keys of a dataclass declared with :func:`spec`, in declaration order."""
    return {f.name: f.metadata["field"] for f in fields(cls) if "field" in f.metadata}


SOURCE_KINDS = ("weak_coherent", "single_photon", "entangled_pair")
ROLES = ("end", "trusted_relay", "untrusted_relay", "repeater")
CHANNELS = ("fibre", "free_space", "satellite")
#: Applications a demand may name: the catalogue of :mod:`qcalc.applications` (the SPEC's seven
#: keys and the roadmap's others), each with the stage it needs.
APPLICATION_STAGE = {key: app.stage for key, app in APPLICATION_CATALOGUE.items()}
APPLICATIONS = tuple(APPLICATION_STAGE)
PROTOCOLS = (
    "bb84-decoy",
    "bb84-finite",
    "bb84-single-photon",
    "gllp",
    "bbm92",
    "diqkd",
    "mdi-qkd",
    "mdi-qkd-finite",
    "tf-qkd",
)
EXPECT_KEYS = ("stage", "key_rate_bps", "pair_rate_hz", "fidelity")
#: Sections whose numbers may be distributions: those an evaluation reads (qcalc.uncertainty).
DRAWN_SECTIONS = ("hardware", "defaults", "nodes", "links", "demands", "criteria")
#: The expect entry that asks for the chance that every other check passes (uncertain inputs).
EXPECT_PROBABILITY = "probability"
HARDWARE_KINDS = {
    "detectors": "detector",
    "sources": "source",
    "memories": "memory",
    "processors": "processor",
}

#: Air-mass laws and the tabulated atmosphere a satellite link may name.
AIR_MASS_MODELS = ("plane_parallel", "kasten_young", "table")
#: Transmittance tables shipped in qcalc/data/atmosphere (name → file stem).
BUNDLED_ATMOSPHERE_TABLES = ("modtran-satquma",)


@record(frozen=True, kw_only=True)
class Detector:
    """A detector: efficiency, dark counts, window and dead time."""

    efficiency: Any = spec(
        _num(
            "detection efficiency with every receiver loss folded in (0..1]",
            0.0,
            1.0,
            gt=True,
            default=1.0,
        )
    )
    dark_count_probability: Any = spec(
        _frac("background yield Y0 per detection window, whole receiver")
    )
    dark_count_rate_hz: Any = spec(_num("dark-count rate of the whole receiver [Hz]", 0.0, 1e12))
    gate_window_ns: Any = spec(_num("detection window [ns]", 0.001, 1e09))
    dead_time_ns: Any = spec(
        _num(
            "dead time after a click, non-paralysable; a click blinds the whole receiver "
            "(Müller 1973; Rusca et al. 2018 Eq. B3): every detection probability is scaled by "
            "1/(1 + R P τ) and the click rate is reported [ns]",
            0.0,
            1e12,
        )
    )


@record(frozen=True, kw_only=True)
class Source:
    """A photon or pair source."""

    kind: str = spec(Field("enum", "what the source emits", choices=SOURCE_KINDS, required=True))
    repetition_rate_hz: Any = spec(_num("pulse repetition rate [Hz]", 0.0, 1e15, gt=True))
    mean_photon_number: Any = spec(
        Field(
            "number_or_optimise",
            "signal mean photon number, or `optimise`",
            0.0,
            10.0,
            True,
            default="optimise",
        )
    )
    decoy_photon_numbers: Any = spec(
        Field(
            "decoys",
            "decoy intensities, e.g. [0.1, 0.0], or `infinite`; four-intensity MDI-QKD takes "
            "[ν_y, ν_x, 0.0] (two X-basis decoys and the vacuum)",
            0.0,
            10.0,
            default="infinite",
        )
    )
    intensity_probabilities: Any = spec(
        Field(
            "probabilities",
            "probability of sending each intensity, [p_signal, p_decoy, ...] in the order of "
            "[mean_photon_number, *decoy_photon_numbers], summing to 1; or `optimise` (every BB84 "
            "variant chooses them; the asymptotic rows then send signals only). Only "
            "signal pulses make asymptotic bb84-decoy and gllp key; bb84-finite keys every "
            "intensity (Lim et al. 2014)",
            0.0,
            1.0,
            True,
            default="optimise",
        )
    )
    pair_rate_hz: Any = spec(_num("entangled-pair emission rate [Hz]", 0.0, 1e15, gt=True))
    mean_pairs_per_pulse: Any = spec(_num("mean number of pairs per pump pulse", gt=True, hi=10.0))
    wavelength_nm: Any = spec(_num("wavelength [nm]", 100.0, 100000.0))


@record(frozen=True, kw_only=True)
class Memory:
    """A quantum memory."""

    qubits: Any = spec(
        _int(
            "memory qubits per node; a chain copy takes memory_modes of them for each of the "
            "node's links on the route (a repeater: both sides), the ends one more per "
            "sequential distillation round, and copies that fit run distillation inputs in "
            "parallel",
            lo=1,
            default=1,
        )
    )
    coherence_time_s: Any = spec(_num("coherence time T2 [s]", 1e-12, 1e09, required=True))
    efficiency: Any = spec(_num("write-read efficiency (0..1]", 0.0, 1.0, gt=True, default=1.0))
    cutoff_s: Any = spec(
        _num(
            "discard a stored pair that waited longer than this for its partner; the shortest "
            "on the route applies to the whole chain [s]",
            1e-12,
            1e09,
        )
    )
    noise: str = spec(
        Field(
            "enum",
            "how stored qubits decohere: toward the maximally mixed state, or by losing phase (T2)",
            choices=("depolarising", "dephasing"),
            default="depolarising",
        )
    )


@record(frozen=True, kw_only=True)
class Processor:
    """A quantum processor."""

    physical_qubits: Any = spec(_int("number of physical qubits", lo=1, hi=1e12, default=1))
    two_qubit_gate_error: Any = spec(_frac("two-qubit gate error probability [0..1]", default=1.0))
    logical_qubits: Any = spec(
        _int("number of logical qubits; overrides the surface-code estimate", lo=0, hi=1e12)
    )


@record(frozen=True, kw_only=True)
class Orbit:
    """The orbit of a satellite node: a circular orbit's altitude, or a TLE."""

    altitude_km: Any = spec(
        _num(
            "altitude of a circular orbit [km]; give it, tle or tle_file. With a TLE it is "
            "the mean altitude from the TLE's mean motion (the circular-orbit estimate)",
            100.0,
            1e5,
        )
    )
    tle: tuple[str, ...] | None = spec(
        Field(
            "strings",
            "two-line element set [line 1, line 2] of the satellite, propagated by SGP4 over "
            "--from DATE --days N (optional extra qcalc[orbits]); passes over ground nodes "
            "with latitude_deg and longitude_deg (docs/orbits.md)",
        )
    )
    tle_file: str | None = spec(
        Field(
            "string",
            "file holding the TLE (its two lines, optionally after a name line); a relative "
            "path is read from the scenario file's folder",
        )
    )


@record(frozen=True, kw_only=True)
class Atmosphere:
    """The atmosphere of a satellite link: an air-mass law, or a transmittance table.

    A table holds one transmittance column per wavelength (``wavelengths_nm``; NaN for a
    single unnamed column), read when the scenario is loaded; ``source`` names it.
    """

    model: str = spec(
        Field(
            "enum",
            "plane_parallel scales zenith_transmittance by 1/sin ε; kasten_young by the air mass of "
            "Kasten & Young (1989); table reads the transmittance at each elevation from a table",
            choices=AIR_MASS_MODELS,
            default="plane_parallel",
        )
    )
    table: str | None = spec(
        Field(
            "enum",
            "a bundled table (modtran-satquma: MODTRAN, 785–850 nm and 1550 nm, from SatQuMA)",
            choices=BUNDLED_ATMOSPHERE_TABLES,
        )
    )
    table_file: str | None = spec(
        Field(
            "string",
            "CSV of elevation_deg and transmittance (one column, or one per wavelength named in "
            "the header); a relative path is read from the scenario file's folder",
        )
    )
    #: Read from the table when the scenario is loaded.
    source: str | None = None
    elevation_deg: tuple[float, ...] = ()
    wavelengths_nm: tuple[float, ...] = ()
    transmittance: tuple[tuple[float, ...], ...] = ()  # per column


@record(frozen=True, kw_only=True)
class Distillation:
    """Entanglement distillation of a demand's pairs."""

    protocol: str = spec(
        Field("enum", "distillation protocol", choices=("bbpssw", "dejmps"), required=True)
    )
    rounds: int = spec(
        Field(
            "integer",
            "rounds of distillation (at most 30: 2^30 raw pairs each)",
            0,
            30,
            default=1,
        )
    )


@record(frozen=True, kw_only=True)
class Candidate:
    """A site where ``qcalc plan`` may install a device (qcalc.design.plan)."""

    roles: tuple[str, ...] = spec(
        Field(
            "strings",
            "roles the site may take: trusted_relay, untrusted_relay, repeater (the node "
            "carries the hardware each needs: a memory for a repeater, a source and a "
            "detector for a trusted relay)",
            required=True,
        )
    )
    cost: Any = spec(
        _num(
            "cost of installing a device here, in the scenario's own unit", 0.0, 1e15, required=True
        )
    )


@record(frozen=True, kw_only=True)
class PlanSettings:
    """How ``qcalc plan`` searches (each also a command-line option, which wins)."""

    max_sites_per_path: Any = spec(
        _int("most sites (repeaters or relays) one demand's route may use", 0, 100, default=3)
    )
    paths_per_demand: Any = spec(
        _int("fibre paths tried per demand: the k lowest-loss simple paths", 1, 1000, default=5)
    )
    demands_per_site: Any = spec(_int("most demands one site serves (absent: no limit)", 1, 1e9))
    robust: bool = spec(
        Field(
            "bool",
            "every demand keeps a route that meets its targets after any one link or node fails",
            default=False,
        )
    )


@record(frozen=True, kw_only=True)
class Node:
    """A node: its role and hardware."""

    name: str
    role: str = spec(
        Field(
            "enum",
            "what the node does; default end (trusted). A node on a demand's route between its "
            "ends should say: without a role qcalc assumes end, trusts it as a relay, and the "
            "demand's notes name it",
            choices=ROLES,
            default="end",
        )
    )
    source: Source | None = spec(
        Field("profile", "source profile name or inline", profile="source")
    )
    detector: Detector | None = spec(
        Field("profile", "detector profile name or inline", profile="detector")
    )
    memory: Memory | None = spec(
        Field("profile", "memory profile name or inline", profile="memory")
    )
    processor: Processor | None = spec(
        Field("profile", "processor profile name or inline", profile="processor")
    )
    bsm_success_probability: Any = spec(
        _frac("Bell-state measurement success probability", default=0.5)
    )
    interference_misalignment_error: Any = spec(
        _frac(
            "untrusted measuring relay (MDI-/TF-QKD): e_d of its interference, the error "
            "probability of a single-photon pair (MDI) or single photon (TF, X windows) at "
            "its Bell-state measurement. Given, it is the protocol's e_d and the arms' "
            "misalignment_error are not added; absent, the arms' terms are combined once",
            hi=0.5,
        )
    )
    orbit: Orbit | None = spec(
        Field(
            "mapping",
            "orbit of a satellite node: altitude_km (circular) or a TLE",
            sub=fields_of(Orbit),
        )
    )
    latitude_deg: Any = spec(
        _num(
            "geodetic latitude of a ground station (WGS84) [deg]; with longitude_deg it "
            "places the station under satellites given by a TLE",
            -90.0,
            90.0,
        )
    )
    longitude_deg: Any = spec(
        _num("longitude of a ground station, east positive (WGS84) [deg]", -180.0, 360.0)
    )
    altitude_m: Any = spec(
        _num("height of a ground station above the WGS84 ellipsoid [m]", -500.0, 9000.0)
    )
    cloud_free_probability: Any = spec(
        Field(
            "monthly",
            "probability that the station's sky is clear: one number, or 12 monthly values "
            "from January (cite the source in references); scales the key of each pass of a "
            "satellite given by a TLE",
            0.0,
            1.0,
        )
    )
    candidate: Candidate | None = spec(
        Field(
            "mapping",
            "a site where qcalc plan may install a device: the roles it may take and its cost",
            sub=fields_of(Candidate),
        )
    )
    #: False when the file gave no ``role`` and the default ``end`` was assumed.
    role_given: bool = True

    @property
    def trusted(self) -> bool:
        return self.role in ("end", "trusted_relay")

    @property
    def altitude_km(self) -> Any:
        """Orbit altitude of a satellite node, None on the ground. [km]"""
        return None if self.orbit is None else self.orbit.altitude_km


@record(frozen=True, kw_only=True)
class Link:
    """A fibre, free-space or satellite link between two nodes."""

    name: str = spec(
        Field("string", "link name (default: the two ends joined by '-')"), needed=True
    )
    ends: tuple[str, str] = spec(
        Field("names", "the two nodes the link joins", required=True), needed=True
    )
    channel: str = spec(Field("enum", "physical channel", choices=CHANNELS, default="fibre"))
    length_km: Any = spec(
        _num("length [km]; for a satellite link the slant range is computed", 0.0, 1e06)
    )
    attenuation_db_per_km: Any = spec(
        _num("fibre attenuation [dB/km]", 0.0, 1000.0, default=FIBRE_ATTENUATION_DB_PER_KM_1550NM)
    )
    extra_loss_db: Any = spec(
        _num("connector, splice and other lumped losses [dB]", 0.0, 10000.0, default=0.0)
    )
    misalignment_error: Any = spec(_frac("intrinsic error of the optics e_d", default=0.01, hi=0.5))
    wavelength_nm: Any = spec(_num("wavelength [nm]", 100.0, 100000.0))
    direction: str = spec(
        Field(
            "enum", "satellite link direction", choices=("downlink", "uplink"), default="downlink"
        )
    )
    tx_beam_waist_m: Any = spec(_num("transmitter beam waist w0, 1/e² radius [m]", 1e-06, 100.0))
    tx_aperture_m: Any = spec(_num("transmitter aperture diameter [m]", 0.0001, 100.0))
    rx_aperture_m: Any = spec(_num("receiver aperture diameter [m]", 0.0001, 100.0))
    atmospheric_attenuation_db_per_km: Any = spec(
        _num("Beer–Lambert extinction [dB/km]", 0.0, 1000.0)
    )
    visibility_km: Any = spec(
        _num("meteorological visibility for the Kim model [km]", 0.001, 1000.0)
    )
    pointing_jitter_urad: Any = spec(_num("rms pointing jitter [µrad]", 0.0, 100000.0))
    cn2_m_minus_2_3: Any = spec(
        _num("refractive-index structure constant Cn² [m^-2/3]", 0.0, 1e-09)
    )
    fried_parameter_m: Any = spec(_num("Fried parameter r0 [m]", 0.0001, 1000.0))
    elevation_deg: Any = spec(_num("elevation of the satellite [deg]", 0.01, 90.0))
    min_elevation_deg: Any = spec(_num("elevation mask for a whole pass [deg]", 0.01, 90.0))
    max_elevation_deg: Any = spec(
        _num("highest elevation of the pass [deg]", 0.01, 90.0, default=90.0)
    )
    divergence_urad: Any = spec(_num("far-field 1/e² half-angle divergence [µrad]", 0.01, 1e06))
    zenith_transmittance: Any = spec(_num("atmospheric transmittance at zenith", 0.0, 1.0, gt=True))
    tx_obscuration_m: Any = spec(
        _num("central obscuration diameter of the transmit aperture [m]", 0.0, 100.0)
    )
    atmosphere: Atmosphere = spec(
        Field(
            "mapping",
            "satellite link: the air-mass law that scales zenith_transmittance, or a table of "
            "transmittance against elevation",
            sub=fields_of(Atmosphere),
        ),
        default=Atmosphere(),
    )
    passes_per_day: Any = spec(_num("usable passes per day", 0.0, 10000.0))
    daylight: str | None = spec(
        Field(
            "enum",
            "passes of a satellite given by a TLE while the Sun is up (above −0.833°): "
            "exclude them (the default), or day_sky: count the clear day sky's background "
            "(needs the link's night sky, field_of_view_urad and filter_bandwidth_nm)",
            choices=("exclude", "day_sky"),
        )
    )
    receiver_efficiency: Any = spec(
        _num("receiver optics efficiency before the detector", 0.0, 1.0, gt=True)
    )
    background_photons_per_window: Any = spec(_frac("background light per detection window"))
    sky: str | None = spec(
        Field(
            "enum",
            "sky background at the receiver (with field_of_view_urad and filter_bandwidth_nm)",
            choices=("night_moonless", "night_full_moon", "day_clear"),
        )
    )
    field_of_view_urad: Any = spec(_num("receiver full field of view [µrad]", 0.01, 1e07))
    filter_bandwidth_nm: Any = spec(_num("receiver spectral filter width [nm]", 1e-06, 10000.0))
    elementary_pair_rate_hz: Any = spec(
        _num("measured heralded pair rate of this link [Hz]", 0.0, 1e15)
    )
    elementary_fidelity: Any = spec(_num("measured fidelity of this link's pairs", 0.25, 1.0))
    memory_modes: Any = spec(
        _int(
            "multiplexed modes per attempt, each holding a memory qubit at both ends; more "
            "than the end memories' qubits is refused",
            lo=1,
            hi=1e09,
            default=1,
        )
    )
    heralding: str = spec(
        Field(
            "enum",
            "heralded entanglement scheme between memories",
            choices=("double_click", "single_click"),
            default="double_click",
        )
    )
    bright_state_population: Any = spec(
        _num("single-click bright-state population α", 0.0, 0.5, gt=True, default=0.1)
    )
    heralding_detector: Detector | None = spec(
        Field(
            "profile",
            "detectors of the heralding station in the middle of a link between memories "
            "(profile name or inline): their efficiency, and the station's dark counts "
            "(dark_count_probability or dark_count_rate_hz with gate_window_ns, for both "
            "detectors together); default: ideal detectors",
            profile="detector",
        )
    )
    two_photon_visibility: Any = spec(
        _frac(
            "two-photon (Hong–Ou–Mandel) interference visibility of the photons the heralding "
            "station interferes",
            default=1.0,
        )
    )


@record(frozen=True)
class Check:
    """One `expect` entry: ``field op want``."""

    field: str
    op: str
    want: float

    def passes(self, got: float) -> bool:
        return {
            ">=": got >= self.want,
            "<=": got <= self.want,
            "==": math.isclose(got, self.want, rel_tol=1e-9, abs_tol=1e-12),
            ">": got > self.want,
            "<": got < self.want,
        }[self.op]


@record(frozen=True, kw_only=True)
class Demand:
    """What the network must deliver between two end nodes."""

    name: str = spec(Field("string", "demand name (default: the ends joined by '-')"), needed=True)
    ends: tuple[str, str] = spec(Field("names", "the two end nodes", required=True), needed=True)
    path: tuple[str, ...] | None = spec(
        Field("names", "explicit route; default: lowest-loss route")
    )
    application: str = spec(
        Field("enum", "what the demand is for", choices=APPLICATIONS, default="qkd")
    )
    protocol: str | None = spec(
        Field("enum", "QKD protocol; default: best applicable", choices=PROTOCOLS)
    )
    error_correction_efficiency: Any = spec(
        _num("error-correction inefficiency f", 1.0, 10.0, default=1.16)
    )
    sifting_factor: Any = spec(
        _num(
            "fraction q of detections kept after sifting; for the prepare-and-measure BB84 rows "
            "q = p_X², both parties choosing the key basis with p_X = √q (0.5 → 0.707), the "
            "rest the test basis",
            0.0,
            1.0,
            gt=True,
            default=0.5,
        )
    )
    key_basis_probability: Any = spec(
        Field(
            "number_or_optimise",
            "p_X, each party's probability of the key basis in every BB84 variant (sets "
            "q = p_X² there; give it or sifting_factor, not both); `optimise` lets the finite "
            "key choose it and the asymptotic rows take p_X → 1. Default √sifting_factor",
            0.0,
            1.0,
            True,
        )
    )
    block_size: Any = spec(_num("finite-key block size (pulses sent)", 1.0, 1e20))
    block_key_detections: Any = spec(
        _num(
            "finite-key block as key-basis detections n_X (as Lim 2014 and Rusca 2018 state "
            "it); instead of block_size",
            1.0,
            1e20,
        )
    )
    epsilon_sec: Any = spec(
        _num(
            "finite-key secrecy parameter ε_sec; default 1e-10: Lim et al. (2014) set "
            "ε_sec = κℓ with κ = 1e-15 per key bit, 1e-10 for a 100 kbit key",
            1e-100,
            0.5,
            gt=True,
            default=1e-10,
        )
    )
    epsilon_cor: Any = spec(
        _num(
            "finite-key correctness parameter ε_cor (default 1e-15, as Lim et al. 2014)",
            1e-100,
            0.5,
            gt=True,
            default=1e-15,
        )
    )
    vacuum_contribution: bool = spec(
        Field(
            "bool",
            "count detections of empty pulses as secret in the decoy-state keys (Lo 2005; "
            "Lim et al. 2014 keep s_X,0); false reproduces Ma et al. (2005)",
            default=True,
        )
    )
    distillation: Distillation | None = spec(
        Field("mapping", "entanglement distillation", sub=fields_of(Distillation))
    )
    shared_key_bits: Any = spec(
        _num(
            "size of the key the demand's ends want to share [bit]; with satellites given by "
            "a TLE the orbit report gives the days until it is shared",
            1.0,
            1e20,
        )
    )
    expect: tuple[Check, ...] = spec(
        Field(
            "expect",
            "checks the demand must pass, e.g. {stage: '>= 1'}; with uncertain inputs, "
            "probability: '>= 0.9' asks that every check pass together with that "
            "probability (docs/uncertainty.md)",
        ),
        default=(),
    )
    #: The ``probability`` entry of ``expect``: the least chance that every other check
    #: passes at once, judged over the draws of ``--samples`` (qcalc.uncertainty).
    expect_probability: Check | None = None


@record(frozen=True, kw_only=True)
class Criteria:
    """The stage thresholds of a scenario."""

    entanglement_min_fidelity: Any = spec(_frac("stage 3: least end-to-end fidelity", default=0.78))
    entanglement_min_pair_rate_hz: Any = spec(
        _num(
            "stage 3: least end-to-end pair rate [Hz]; default one pair per 100 s, the pace of "
            "the slowest multi-node network demonstrated (Pompili et al., Science 372, 259 (2021))",
            default=0.01,
        )
    )
    fault_tolerant_min_fidelity: Any = spec(
        _frac("stage 5: least delivered fidelity", default=0.99)
    )
    fault_tolerant_min_logical_qubits: Any = spec(
        _int("stage 5: logical qubits per end", default=1)
    )
    computing_min_logical_qubits: Any = spec(_int("stage 6: logical qubits per end", default=100))
    surface_code_threshold: Any = spec(_frac("surface-code threshold gate error", default=0.01))
    logical_error_rate: Any = spec(
        Field("number", "target logical error per round", 0.0, 1.0, True, default=1e-6)
    )


DETECTOR_FIELDS = fields_of(Detector)
SOURCE_FIELDS = fields_of(Source)
MEMORY_FIELDS = fields_of(Memory)
PROCESSOR_FIELDS = fields_of(Processor)
PROFILE_FIELDS = {
    "detector": DETECTOR_FIELDS,
    "source": SOURCE_FIELDS,
    "memory": MEMORY_FIELDS,
    "processor": PROCESSOR_FIELDS,
}
NODE_FIELDS = fields_of(Node)
ATMOSPHERE_FIELDS = fields_of(Atmosphere)
LINK_FIELDS = fields_of(Link)
DEMAND_FIELDS = fields_of(Demand)
CRITERIA_FIELDS = fields_of(Criteria)
EXCLUSIVE_LINK_KEYS = (
    ("elevation_deg", "min_elevation_deg"),
    ("min_elevation_deg", "elevation_deg"),
)
DEFAULTABLE_LINK = tuple(k for k in LINK_FIELDS if k not in ("name", "ends"))
DEFAULTABLE_DEMAND = tuple(k for k in DEMAND_FIELDS if k not in ("name", "ends", "path"))
DEFAULTS_FIELDS: dict[str, Field] = {
    **{k: Field("profile", f"{k} for every node", profile=k) for k in PROFILE_FIELDS},
    **{k: LINK_FIELDS[k] for k in DEFAULTABLE_LINK},
    **{k: DEMAND_FIELDS[k] for k in DEFAULTABLE_DEMAND},
}
TOP_FIELDS: dict[str, Field] = {
    "qcalc": Field("integer", "format version (1)", required=True),
    "name": Field("string", "scenario name"),
    "description": Field("string", "free text"),
    "references": Field("strings", "sources of the scenario's numbers"),
    "hardware": Field("hardware", "named hardware profiles"),
    "defaults": Field("mapping", "defaults for every node, link and demand", sub=DEFAULTS_FIELDS),
    "criteria": Field("mapping", "stage thresholds", sub=CRITERIA_FIELDS),
    "plan": Field("mapping", "how qcalc plan searches for sites", sub=fields_of(PlanSettings)),
    "nodes": Field("nodes", "the nodes by name", required=True),
    "links": Field("links", "the links", required=True),
    "demands": Field("demands", "what the network must deliver"),
}
