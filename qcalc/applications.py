"""Catalogue of quantum-internet applications and the roadmap stage each one needs.

The stages are those of Wehner, Elkouss and Hanson [1]_, numbered as the qcalc contract
numbers them (trusted repeater = 1 … quantum computing = 6); the paper's Table 1 starts
its list of formal stages at "prepare and measure" and treats the trusted-repeater network
as the stepping stone before it, which is why some readings call that one stage 0. Every
entry therefore also carries the stage *name*.

The seven keys of the contract (``qkd``, ``diqkd``, ``entanglement``, ``teleportation``,
``blind_qc``, ``clock_sync``, ``distributed_qc``) have the stages the contract fixes.
The other entries take the stage in which Table 1 of [1]_ lists them as example protocols,
and say so in ``reason``. Where the paper places a task in two stages (clock
synchronisation: time-limited at quantum memory, higher accuracy at few-qubit fault
tolerance; leader election: simple forms at quantum memory, anonymous networks at quantum
computing) there are two entries.

This module is plain Python (no numpy) so importing it costs nothing.

References
----------
.. [1] S. Wehner, D. Elkouss, R. Hanson, "Quantum internet: A vision for the road ahead",
   Science 362, eaam9288 (2018), Table 1 and the "Application protocols" sections.
"""

from __future__ import annotations

import difflib
import math
from types import MappingProxyType

from qcalc.records import record

#: Stage number → stage name, numbering of the qcalc contract (SPEC.md, "Stages").
STAGE_NAMES: MappingProxyType[int, str] = MappingProxyType(
    {
        1: "trusted repeater",
        2: "prepare and measure",
        3: "entanglement distribution",
        4: "quantum memory",
        5: "few-qubit fault tolerance",
        6: "quantum computing network",
    }
)

ROADMAP_REFERENCE = "S. Wehner, D. Elkouss, R. Hanson, Science 362, eaam9288 (2018), Table 1"

#: Werner-state fidelity above which the state violates the CHSH inequality,
#: F > (1 + 3/√2)/4 ≈ 0.780: a Werner state of visibility v reaches S = 2√2·v, so S > 2 needs
#: v > 1/√2, and F = (1 + 3v)/4. R. Horodecki, P. Horodecki, M. Horodecki, Phys. Lett. A 200,
#: 340 (1995) (CHSH criterion for mixed two-qubit states). [unitless]
CHSH_WERNER_FIDELITY = (1.0 + 3.0 / math.sqrt(2.0)) / 4.0

#: Quantum bit error rate below which device-independent QKD from CHSH gives a positive key
#: (collective attacks), 7.1 %: A. Acín et al., Phys. Rev. Lett. 98, 230501 (2007). [unitless]
DIQKD_MAX_QBER = 0.071

#: Quantum bit error rate below which BB84 gives a positive key, 11.0 %: P. W. Shor,
#: J. Preskill, Phys. Rev. Lett. 85, 441 (2000). [unitless]
BB84_MAX_QBER = 0.11

#: Pair fidelity the contract asks of stage 5 ("delivered fidelity ≥ 0.99"). [unitless]
STAGE5_MIN_FIDELITY = 0.99


def werner_fidelity_for_qber(qber: float) -> float:
    """Fidelity of the Werner state whose Z-basis (and X-basis) error rate is ``qber``.

    .. math:: Q = \\tfrac{2}{3}(1 - F) \\;\\Rightarrow\\; F = 1 - \\tfrac{3}{2} Q

    Parameters
    ----------
    qber : float
        Quantum bit error rate Q. [unitless, 0..2/3]

    Returns
    -------
    float
        Werner fidelity F. [unitless, 1/4..1]

    References
    ----------
    .. [1] R. F. Werner, Phys. Rev. A 40, 4277 (1989): ρ_W = F|Φ+⟩⟨Φ+| + (1−F)/3·(1 − |Φ+⟩⟨Φ+|);
       a Z-basis error comes from the two Ψ components, each of weight (1 − F)/3.
    """
    if not 0.0 <= qber <= 2.0 / 3.0:
        raise ValueError(f"qber is {qber}; expected a fraction in [0, 2/3]")
    return 1.0 - 1.5 * qber  # Q = 2(1 - F)/3 for a Werner state


@record(frozen=True)
class Application:
    """One application of a quantum network and what it needs from it.

    Attributes
    ----------
    key : str
        Identifier used in scenarios and on the command line (``blind_qc``).
    name : str
        Human-readable name.
    stage : int
        Lowest roadmap stage (1–6, contract numbering) that runs it.
    resource : str
        What it consumes from the network (pairs, key bits, memory time).
    min_fidelity : float or None
        Lowest end-to-end pair fidelity at which it works, where a published threshold
        exists; ``None`` when the application does not consume pairs or no threshold is
        known. [unitless, 0..1]
    reason : str
        Why it needs that stage (the capability the stage adds).
    reference : str
        The paper that proposes or analyses the application itself.
    in_contract : bool
        Whether the key is one of the seven the qcalc contract fixes.
    """

    key: str
    name: str
    stage: int
    resource: str
    min_fidelity: float | None
    reason: str
    reference: str
    in_contract: bool = False

    @property
    def stage_name(self) -> str:
        """Name of :attr:`stage` on the roadmap."""
        return STAGE_NAMES[self.stage]


def _catalogue(*apps: Application) -> MappingProxyType[str, Application]:
    return MappingProxyType({app.key: app for app in apps})


APPLICATIONS: MappingProxyType[str, Application] = _catalogue(
    Application(
        key="qkd",
        name="quantum key distribution",
        stage=1,
        resource=f"secret key bits; QBER ≤ {BB84_MAX_QBER:.0%} on every hop (BB84)",
        min_fidelity=None,
        reason=(
            "trusted-repeater networks run QKD hop by hop and combine the keys at trusted "
            "nodes; end-to-end QKD without a trusted node needs stage 2"
        ),
        reference=(
            "C. H. Bennett, G. Brassard, Proc. IEEE ICCSSP 1984, pp. 175-179; "
            "H.-K. Lo, X. Ma, K. Chen, Phys. Rev. Lett. 94, 230504 (2005)"
        ),
        in_contract=True,
    ),
    Application(
        key="secure_identification",
        name="secure identification (two-party cryptography)",
        stage=2,
        resource="single qubits prepared and measured; security from bounded/noisy storage",
        min_fidelity=None,
        reason="Table 1 lists two-party cryptography under prepare and measure",
        reference=(
            "I. Damgård, S. Fehr, L. Salvail, C. Schaffner, Theor. Comput. Sci. 560, 12 (2014)"
        ),
    ),
    Application(
        key="position_verification",
        name="position verification",
        stage=2,
        resource="single qubits prepared and measured",
        min_fidelity=None,
        reason="Table 1 lists position verification under prepare and measure",
        reference="J. Ribeiro, F. Grosshans, arXiv:1504.07171 (2015)",
    ),
    Application(
        key="coin_flipping",
        name="imperfect (fixed-bias) coin flipping",
        stage=2,
        resource="single qubits prepared and measured",
        min_fidelity=None,
        reason="Table 1 lists imperfect coin flipping under prepare and measure",
        reference=(
            "D. Aharonov, A. Ta-Shma, U. V. Vazirani, A. C. Yao, Proc. 32nd ACM STOC (2000)"
        ),
    ),
    Application(
        key="diqkd",
        name="device-independent quantum key distribution",
        stage=3,
        resource=(
            f"heralded Bell pairs measured on arrival; QBER < {DIQKD_MAX_QBER:.1%} "
            "(CHSH-based, collective attacks)"
        ),
        min_fidelity=werner_fidelity_for_qber(DIQKD_MAX_QBER),
        reason=(
            "needs heralded end-to-end entanglement (no post-selection on detection) to "
            "violate a Bell inequality"
        ),
        reference=(
            "A. Acín et al., Phys. Rev. Lett. 98, 230501 (2007); "
            "S. Pironio et al., New J. Phys. 11, 045021 (2009)"
        ),
        in_contract=True,
    ),
    Application(
        key="entanglement",
        name="end-to-end entanglement distribution",
        stage=3,
        resource="heralded Bell pairs measured on arrival; CHSH violation",
        min_fidelity=CHSH_WERNER_FIDELITY,
        reason="the defining capability of the entanglement-distribution stage",
        reference=(
            "J. F. Clauser, M. A. Horne, A. Shimony, R. A. Holt, Phys. Rev. Lett. 23, 880 (1969)"
        ),
        in_contract=True,
    ),
    Application(
        key="teleportation",
        name="deterministic quantum teleportation",
        stage=4,
        resource="1 Bell pair + 2 classical bits per qubit; a memory that holds the pair",
        # Teleporting with a Werner pair of fidelity F gives average fidelity (2F + 1)/3,
        # which beats the classical 2/3 only for F > 1/2 (Horodecki et al., PRA 60, 1888
        # (1999)).
        min_fidelity=0.5,
        reason=(
            "transferring an unknown qubit deterministically needs the pair stored until "
            "the sender's Bell measurement is done (quantum memory stage)"
        ),
        reference="C. H. Bennett et al., Phys. Rev. Lett. 70, 1895 (1993)",
        in_contract=True,
    ),
    Application(
        key="blind_qc",
        name="blind quantum computing",
        stage=4,
        resource="single qubits (or pairs) to a remote server; memory at the server",
        min_fidelity=None,
        reason="Table 1 lists blind quantum computing under quantum memory",
        reference=(
            "A. Broadbent, J. Fitzsimons, E. Kashefi, Proc. 50th IEEE FOCS (2009), pp. 517-526"
        ),
        in_contract=True,
    ),
    Application(
        key="anonymous_transmission",
        name="anonymous quantum transmission",
        stage=4,
        resource="multipartite (GHZ) states built from stored Bell pairs",
        min_fidelity=None,
        reason="Table 1 lists anonymous quantum transmissions under quantum memory",
        reference="M. Christandl, S. Wehner, Proc. ASIACRYPT 2005, pp. 217-235",
    ),
    Application(
        key="secret_sharing",
        name="classical and quantum secret sharing",
        stage=4,
        resource="multipartite entangled states built from stored Bell pairs",
        min_fidelity=None,
        reason="Table 1 lists secret sharing under quantum memory",
        reference=(
            "M. Hillery, V. Bužek, A. Berthiaume, Phys. Rev. A 59, 1829 (1999); "
            "R. Cleve, D. Gottesman, H.-K. Lo, Phys. Rev. Lett. 83, 648 (1999)"
        ),
    ),
    Application(
        key="telescopes",
        name="longer-baseline telescopes",
        stage=4,
        resource="Bell pairs stored until the starlight photon arrives (memory time)",
        min_fidelity=None,
        reason="Table 1 lists extending the baseline of telescopes under quantum memory",
        reference="D. Gottesman, T. Jennewein, S. Croke, Phys. Rev. Lett. 109, 070503 (2012)",
    ),
    Application(
        key="leader_election_simple",
        name="simple leader election and agreement",
        stage=4,
        resource="stored entanglement among the parties; few qubits per node",
        min_fidelity=None,
        reason="Table 1 lists simple leader election and agreement under quantum memory",
        reference=(
            "A. Ambainis, H. Buhrman, Y. Dodis, H. Röhrig, Proc. 19th IEEE CCC (2004), "
            "doi:10.1109/CCC.2004.1313848"
        ),
    ),
    Application(
        key="clock_sync_time_limited",
        name="time-limited clock synchronisation",
        stage=4,
        resource="GHZ states across the clock network, held for the interrogation time",
        min_fidelity=None,
        reason=(
            "Table 1 lists time-limited clock synchronisation under quantum memory; "
            "higher accuracy needs fault tolerance (see clock_sync)"
        ),
        reference="P. Kómar et al., Nat. Phys. 10, 582 (2014)",
    ),
    Application(
        key="clock_sync",
        name="clock synchronisation (network of clocks)",
        stage=5,
        resource="GHZ states across the clock network; long, error-corrected storage",
        min_fidelity=STAGE5_MIN_FIDELITY,
        reason=(
            "Table 1 lists clock synchronisation under few-qubit fault tolerance: "
            "higher accuracy needs fault-tolerant storage and gates"
        ),
        reference="P. Kómar et al., Nat. Phys. 10, 582 (2014)",
        in_contract=True,
    ),
    Application(
        key="distributed_qc",
        name="distributed quantum computing",
        stage=5,
        resource="1 Bell pair + 2 classical bits per nonlocal CNOT (Eisert et al. 2000)",
        min_fidelity=STAGE5_MIN_FIDELITY,
        reason=(
            "Table 1 lists distributed quantum computation under few-qubit fault tolerance: "
            "many rounds and deep circuits need fault-tolerant local operations"
        ),
        reference=(
            "J. Eisert, K. Jacobs, P. Papadopoulos, M. B. Plenio, Phys. Rev. A 62, 052317 "
            "(2000); L. Jiang, J. M. Taylor, A. S. Sørensen, M. D. Lukin, Phys. Rev. A 76, "
            "062323 (2007)"
        ),
        in_contract=True,
    ),
    Application(
        key="leader_election",
        name="exact leader election on anonymous networks",
        stage=6,
        resource="a number of qubits per node that grows with the number of nodes",
        min_fidelity=None,
        reason=(
            "Table 1 lists leader election under quantum computing: the anonymous-network "
            "protocol needs qubits per node growing with the network size"
        ),
        reference=(
            "S. Tani, H. Kobayashi, K. Matsumoto, Proc. STACS 2005, pp. 581-592; "
            "M. Ganz, Quantum Inf. Process. 16, 73 (2017)"
        ),
    ),
    Application(
        key="byzantine_agreement",
        name="fast Byzantine agreement",
        stage=6,
        resource="many qubits per processor; constant rounds of quantum communication",
        min_fidelity=None,
        reason="Table 1 lists fast Byzantine agreement under quantum computing",
        reference="M. Ben-Or, A. Hassidim, Proc. 37th ACM STOC (2005), pp. 481-485",
    ),
    Application(
        key="weak_coin_flipping",
        name="weak coin flipping with arbitrarily small bias",
        stage=6,
        resource="large quantum computers at both ends",
        min_fidelity=None,
        reason=(
            "Table 1 lists weak coin flipping with arbitrarily small bias under quantum computing"
        ),
        reference="C. Mochon, arXiv:0711.4114 (2007)",
    ),
    Application(
        key="secure_multiparty_qc",
        name="secure multiparty quantum computation",
        stage=6,
        resource="large quantum computers at every party",
        min_fidelity=None,
        reason="the roadmap places secure multiparty quantum computation at the final stage",
        reference="C. Crépeau, D. Gottesman, A. Smith, Proc. 34th ACM STOC (2002), pp. 643-652",
    ),
)

#: The application keys whose stage the qcalc contract fixes (SPEC.md, last line).
CONTRACT_KEYS: tuple[str, ...] = tuple(k for k, a in APPLICATIONS.items() if a.in_contract)


def lookup_application(key: str) -> Application:
    """Return the catalogue entry for ``key``.

    Case and ``-``/``_`` are ignored (``Blind-QC`` finds ``blind_qc``).

    Parameters
    ----------
    key : str
        Application key.

    Returns
    -------
    Application
        The entry.

    Raises
    ------
    ValueError
        If the key is unknown; the message suggests the closest keys ("did you mean").
    """
    normalised = key.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return APPLICATIONS[normalised]
    except KeyError:
        pass
    close = difflib.get_close_matches(normalised, list(APPLICATIONS), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    known = ", ".join(APPLICATIONS)
    raise ValueError(f"unknown application {key!r}{hint} (known: {known})")
