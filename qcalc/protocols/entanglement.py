"""Bell pairs: Werner and Bell-diagonal states, swapping, decoherence, elementary links.

Conventions
-----------
A Bell-diagonal state is stored as its four diagonal elements along the last axis, in the
order of Deutsch et al. (1996): ``(A, B, C, D)`` = weights of ``(Φ+, Ψ−, Ψ+, Φ−)``. The
target state is Φ+, so the fidelity is ``A``. Read as a Pauli error on one qubit of Φ+,
the four states are I, XZ (∝ Y), X and Z. A Werner state of fidelity F is
``(F, (1−F)/3, (1−F)/3, (1−F)/3)``; its Werner parameter is w = (4F − 1)/3, so that
ρ = w |Φ+⟩⟨Φ+| + (1 − w) I/4.

Every function takes floats or numpy arrays and broadcasts; probabilities and
fidelities are plain fractions. Functions that describe one attempt of a heralded link
return probabilities per attempt; multiply by an attempt rate for a rate in Hz.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from qcalc.physics.fibre import fibre_delay_s

FloatArray = npt.NDArray[np.float64]

#: Order of the Bell-diagonal coefficients along the last axis (Deutsch et al. 1996).
BELL_BASIS = ("phi+", "psi-", "psi+", "phi-")

#: Tsirelson's bound on the CHSH value, 2√2 (B. S. Cirel'son, Lett. Math. Phys. 4, 93
#: (1980)). [unitless]
TSIRELSON_BOUND = 2.0 * np.sqrt(2.0)

#: Werner-state fidelity above which the CHSH inequality is violated,
#: (1 + 3/√2)/4 ≈ 0.7803 (S = 2√2 (4F − 1)/3 > 2; Horodecki et al. 1995). [unitless]
CHSH_FIDELITY_THRESHOLD = (1.0 + 3.0 / np.sqrt(2.0)) / 4.0

#: Error rate of an uncorrelated (random) coincidence, e0 = 1/2. [unitless]
RANDOM_ERROR_RATE = 0.5

#: Fidelity of the maximally mixed two-qubit state with any Bell state. [unitless]
MIXED_STATE_FIDELITY = 0.25


def _reject(name: str, values: FloatArray, bad: npt.NDArray[np.bool_], expected: str) -> None:
    """Raise ValueError naming the first element of ``values`` flagged in ``bad``."""
    if np.any(bad):
        first = float(np.broadcast_to(values, bad.shape)[bad].ravel()[0])
        raise ValueError(f"{name} is {first!r}; expected {expected}")


def check_range(name: str, values: FloatArray, low: float, high: float) -> None:
    """Raise ValueError unless every element of ``values`` lies in [low, high]."""
    with np.errstate(invalid="ignore"):
        bad = np.isnan(values) | (values < low) | (values > high)
    _reject(name, values, np.asarray(bad), f"a value in [{low}, {high}]")


def checked_probability(name: str, value: npt.ArrayLike) -> FloatArray:
    """``value`` as a float array, checked to be a probability in [0, 1]."""
    array = np.asarray(value, dtype=float)
    check_range(name, array, 0.0, 1.0)
    return array


def checked_bell_coefficients(coefficients: npt.ArrayLike) -> FloatArray:
    """``coefficients`` as a float array of Bell-diagonal weights, checked."""
    array = np.asarray(coefficients, dtype=float)
    if array.ndim == 0 or array.shape[-1] != 4:
        raise ValueError(f"Bell-diagonal coefficients have shape {array.shape}; expected (..., 4)")
    check_range("a Bell-diagonal coefficient", array, 0.0, 1.0)
    total = array.sum(axis=-1)
    _reject("the sum of Bell-diagonal coefficients", total, np.abs(total - 1.0) > 1e-9, "1")
    return array


# --------------------------------------------------------------------------- states


def clip_fidelity(fidelity: npt.ArrayLike) -> FloatArray:
    """Clip a fidelity into [0, 1], removing floating-point overshoot.

    Parameters
    ----------
    fidelity : array_like
        Fidelity, possibly a rounding error outside its range. [unitless]

    Returns
    -------
    numpy.ndarray
        The fidelity clipped into [0, 1]. [unitless, 0..1]
    """
    return np.asarray(np.clip(np.asarray(fidelity, dtype=float), 0.0, 1.0), dtype=float)


def werner_parameter(fidelity: npt.ArrayLike) -> FloatArray:
    """Werner parameter (singlet weight above the maximally mixed state) of a fidelity.

    .. math:: w = \\frac{4F - 1}{3}, \\qquad
        \\rho_W = w\\,|\\Phi^+\\rangle\\langle\\Phi^+| + (1 - w)\\,\\frac{I}{4}

    Parameters
    ----------
    fidelity : array_like
        Fidelity F of the Werner state with Φ+. [unitless, 0..1]

    Returns
    -------
    numpy.ndarray
        Werner parameter w. [unitless, −1/3..1]

    References
    ----------
    .. [1] R. F. Werner, "Quantum states with Einstein-Podolsky-Rosen correlations
       admitting a hidden-variable model", Phys. Rev. A 40, 4277 (1989).
    .. [2] W. Dür, H.-J. Briegel, "Entanglement purification and quantum error correction",
       Rep. Prog. Phys. 70, 1381 (2007), Sec. 3.
    """
    f = checked_probability("fidelity", fidelity)
    return np.asarray((4.0 * f - 1.0) / 3.0, dtype=float)  # Sec. 3 of [2]


def fidelity_from_werner_parameter(parameter: npt.ArrayLike) -> FloatArray:
    """Fidelity of a Werner state from its Werner parameter, F = (1 + 3w)/4.

    Parameters
    ----------
    parameter : array_like
        Werner parameter w. [unitless, −1/3..1]

    Returns
    -------
    numpy.ndarray
        Fidelity with Φ+. [unitless, 0..1]

    References
    ----------
    .. [1] W. Dür, H.-J. Briegel, Rep. Prog. Phys. 70, 1381 (2007), Sec. 3.
    """
    w = np.asarray(parameter, dtype=float)
    check_range("Werner parameter", w, -1.0 / 3.0 - 1e-12, 1.0 + 1e-12)
    return clip_fidelity((1.0 + 3.0 * w) / 4.0)


def werner_from_fidelity(fidelity: npt.ArrayLike) -> FloatArray:
    """Bell-diagonal coefficients of the Werner state of a given fidelity.

    .. math:: (A, B, C, D) = \\left(F, \\tfrac{1-F}{3}, \\tfrac{1-F}{3}, \\tfrac{1-F}{3}\\right)

    Parameters
    ----------
    fidelity : array_like
        Fidelity F with Φ+. [unitless, 0..1]

    Returns
    -------
    numpy.ndarray
        Array of shape ``fidelity.shape + (4,)`` in the order of ``BELL_BASIS``.
        [unitless, each 0..1, summing to 1]

    References
    ----------
    .. [1] C. H. Bennett, G. Brassard, S. Popescu, B. Schumacher, J. A. Smolin,
       W. K. Wootters, "Purification of noisy entanglement and faithful teleportation via
       noisy channels", Phys. Rev. Lett. 76, 722 (1996) (the twirl to a Werner state).
    """
    f = checked_probability("fidelity", fidelity)
    rest = (1.0 - f) / 3.0
    return np.stack([f, rest, rest, rest], axis=-1)


def qber_from_werner_fidelity(fidelity: npt.ArrayLike) -> FloatArray:
    """Bit error rate, in every basis, of a Werner state: Q = 2(1 − F)/3.

    Parameters
    ----------
    fidelity : array_like
        Werner fidelity F. [unitless, 0..1]

    Returns
    -------
    numpy.ndarray
        QBER in the Z, X (and Y) bases, Q = (1 − w)/2. [unitless, 0..2/3]

    References
    ----------
    .. [1] W. Dür, H.-J. Briegel, Rep. Prog. Phys. 70, 1381 (2007), Sec. 3: two of the
       three non-target Bell states flip the outcome in any of the three Pauli bases.
    """
    f = checked_probability("fidelity", fidelity)
    return np.asarray(2.0 * (1.0 - f) / 3.0, dtype=float)


def werner_fidelity_from_qber(qber: npt.ArrayLike) -> FloatArray:
    """Fidelity of the Werner state whose QBER is the same ``qber`` in every basis.

    .. math:: F = 1 - \\frac{3}{2} Q

    A state with QBER Q in the Z and X bases and twirled to Werner form has error Q in
    the Y basis too; its Werner parameter is w = 1 − 2Q, so F = (1 + 3w)/4 = 1 − 3Q/2.
    A measured QBER of 1/2 (no correlation) gives F = 1/4, the maximally mixed state.

    Parameters
    ----------
    qber : array_like
        Quantum bit error rate Q. [unitless, 0..0.5]

    Returns
    -------
    numpy.ndarray
        Werner fidelity. [unitless, 0.25..1]

    References
    ----------
    .. [1] W. Dür, H.-J. Briegel, Rep. Prog. Phys. 70, 1381 (2007), Sec. 3.
    """
    q = np.asarray(qber, dtype=float)
    check_range("qber", q, 0.0, 0.5)
    return np.asarray(1.0 - 1.5 * q, dtype=float)


def chsh_from_werner_fidelity(fidelity: npt.ArrayLike) -> FloatArray:
    """Largest CHSH value of a Werner state.

    .. math:: S = 2\\sqrt{2}\\,|w| = 2\\sqrt{2}\\,\\frac{|4F - 1|}{3}

    S > 2 (a Bell violation) exactly when F > (1 + 3/√2)/4 ≈ 0.7803
    (``CHSH_FIDELITY_THRESHOLD``).

    Parameters
    ----------
    fidelity : array_like
        Werner fidelity F. [unitless, 0..1]

    Returns
    -------
    numpy.ndarray
        Maximal CHSH value over measurement settings. [unitless, 0..2√2]

    References
    ----------
    .. [1] R. Horodecki, P. Horodecki, M. Horodecki, "Violating Bell inequality by mixed
       spin-1/2 states: necessary and sufficient condition", Phys. Lett. A 200, 340
       (1995): S_max = 2 √(t1² + t2²) with correlation-matrix eigenvalues t = (w, −w, w).
    """
    w = werner_parameter(fidelity)
    return np.asarray(TSIRELSON_BOUND * np.abs(w), dtype=float)  # Horodecki criterion [1]


# --------------------------------------------------------------------------- swapping


def swap_werner_fidelity(
    fidelity_1: npt.ArrayLike,
    fidelity_2: npt.ArrayLike,
    gate_error: npt.ArrayLike = 0.0,
    measurement_error: npt.ArrayLike = 0.0,
) -> FloatArray:
    """Fidelity after entanglement swapping of two Werner pairs.

    .. math::
        F' = \\frac14 + \\frac34\\, p_2\\, \\frac{4\\eta^2 - 1}{3}\\,
             \\frac{4F_1 - 1}{3}\\, \\frac{4F_2 - 1}{3}

    with gate reliability p2 = 1 − ``gate_error`` and measurement reliability
    η = 1 − ``measurement_error``. For ideal operations (p2 = η = 1) this is
    F' = F1 F2 + (1 − F1)(1 − F2)/3. The two-qubit gate of the Bell measurement is
    followed, with probability 1 − p2, by complete depolarisation of both qubits it acts on
    (which depolarises the output pair); each of the two measured bits is flipped with
    probability 1 − η, which applies a wrong Pauli correction to the output.

    Parameters
    ----------
    fidelity_1, fidelity_2 : array_like
        Werner fidelities of the two pairs. [unitless, 0..1]
    gate_error : array_like, optional
        1 − p2, depolarising probability of the Bell-measurement's two-qubit gate.
        [unitless, 0..1]
    measurement_error : array_like, optional
        1 − η, flip probability of each single-qubit measurement. [unitless, 0..1]

    Returns
    -------
    numpy.ndarray
        Fidelity of the swapped pair (a Werner state). [unitless, 0..1]

    References
    ----------
    .. [1] H.-J. Briegel, W. Dür, J. I. Cirac, P. Zoller, "Quantum repeaters: the role of
       imperfect local operations in quantum communication", Phys. Rev. Lett. 81, 5932
       (1998): error model (p2, η) and the connection of two pairs.
    .. [2] W. Dür, H.-J. Briegel, J. I. Cirac, P. Zoller, "Quantum repeaters based on
       entanglement purification", Phys. Rev. A 59, 169 (1999), Sec. III and App. B.
    .. [3] W. Dür, H.-J. Briegel, Rep. Prog. Phys. 70, 1381 (2007), Sec. 6 (ideal case).
    """
    w1 = werner_parameter(fidelity_1)
    w2 = werner_parameter(fidelity_2)
    p2 = 1.0 - checked_probability("gate_error", gate_error)
    eta = 1.0 - checked_probability("measurement_error", measurement_error)
    w = p2 * (4.0 * eta**2 - 1.0) / 3.0 * w1 * w2  # connection of two pairs, [1], [2]
    return clip_fidelity(0.25 + 0.75 * w)


def chain_werner_fidelity(
    fidelity: npt.ArrayLike,
    links: npt.ArrayLike,
    gate_error: npt.ArrayLike = 0.0,
    measurement_error: npt.ArrayLike = 0.0,
) -> FloatArray:
    """Fidelity of n identical Werner links joined by n − 1 swaps.

    .. math::
        F_n = \\frac14 + \\frac34\\, w^n \\left(p_2 \\frac{4\\eta^2 - 1}{3}\\right)^{n-1},
        \\qquad w = \\frac{4F - 1}{3}

    The Werner parameter is multiplicative under swapping, so the order in which the links
    are joined (sequential or nested) does not matter. With ideal operations this is
    F_n = 1/4 + (3/4) ((4F − 1)/3)^n.

    Parameters
    ----------
    fidelity : array_like
        Werner fidelity of each elementary link. [unitless, 0..1]
    links : array_like
        Number n of elementary links. [count, integer ≥ 1]
    gate_error, measurement_error : array_like, optional
        As in :func:`swap_werner_fidelity`. [unitless, 0..1]

    Returns
    -------
    numpy.ndarray
        End-to-end Werner fidelity. [unitless, 0..1]

    References
    ----------
    .. [1] W. Dür, H.-J. Briegel, J. I. Cirac, P. Zoller, Phys. Rev. A 59, 169 (1999),
       Sec. III (fidelity of a chain of N connected pairs).
    .. [2] H.-J. Briegel, W. Dür, J. I. Cirac, P. Zoller, Phys. Rev. Lett. 81, 5932 (1998).
    """
    n = np.asarray(links, dtype=float)
    _reject("links", n, ~(n >= 1) | (n != np.round(n)), "an integer ≥ 1")
    w = werner_parameter(fidelity)
    p2 = 1.0 - checked_probability("gate_error", gate_error)
    eta = 1.0 - checked_probability("measurement_error", measurement_error)
    per_swap = p2 * (4.0 * eta**2 - 1.0) / 3.0
    with np.errstate(under="ignore"):
        w_n = w**n * per_swap ** (n - 1.0)  # chain of N pairs, Sec. III of [1]
    return clip_fidelity(0.25 + 0.75 * w_n)


def swap_bell_diagonal(coefficients_1: npt.ArrayLike, coefficients_2: npt.ArrayLike) -> FloatArray:
    """Bell-diagonal state after an ideal entanglement swap of two Bell-diagonal pairs.

    Writing each Bell state as a Pauli error P = X^x Z^z on one qubit of Φ+, an ideal Bell
    measurement with Pauli correction composes the two errors, so the output weights are
    the XOR-convolution of the inputs over (x, z) ∈ Z2²:

    .. math::
        \\lambda'_{(x,z)} = \\sum_{(x_1,z_1) \\oplus (x_2,z_2) = (x,z)}
            \\lambda^{(1)}_{(x_1,z_1)} \\lambda^{(2)}_{(x_2,z_2)}

    With the order (Φ+, Ψ−, Ψ+, Φ−) ↔ (x, z) = (0,0), (1,1), (1,0), (0,1):
    A' = A1A2 + B1B2 + C1C2 + D1D2, B' = A1B2 + B1A2 + C1D2 + D1C2,
    C' = A1C2 + C1A2 + B1D2 + D1B2, D' = A1D2 + D1A2 + B1C2 + C1B2.
    For Werner inputs A' reduces to F1F2 + (1 − F1)(1 − F2)/3.

    Parameters
    ----------
    coefficients_1, coefficients_2 : array_like
        Bell-diagonal weights, shape (..., 4), order ``BELL_BASIS``. [unitless, sum 1]

    Returns
    -------
    numpy.ndarray
        Output weights, shape broadcast(...) + (4,). [unitless, sum 1]

    References
    ----------
    .. [1] W. Dür, H.-J. Briegel, Rep. Prog. Phys. 70, 1381 (2007), Sec. 6.
    .. [2] M. Zukowski, A. Zeilinger, M. A. Horne, A. K. Ekert, "'Event-ready-detectors'
       Bell experiment via entanglement swapping", Phys. Rev. Lett. 71, 4287 (1993).
    """
    a1, b1, c1, d1 = np.moveaxis(checked_bell_coefficients(coefficients_1), -1, 0)
    a2, b2, c2, d2 = np.moveaxis(checked_bell_coefficients(coefficients_2), -1, 0)
    # Pauli-error composition (Z2 x Z2 convolution), Sec. 6 of [1]
    a = a1 * a2 + b1 * b2 + c1 * c2 + d1 * d2
    b = a1 * b2 + b1 * a2 + c1 * d2 + d1 * c2
    c = a1 * c2 + c1 * a2 + b1 * d2 + d1 * b2
    d = a1 * d2 + d1 * a2 + b1 * c2 + c1 * b2
    return np.stack(np.broadcast_arrays(a, b, c, d), axis=-1)


# --------------------------------------------------------------------------- memories


def _combined_decay(
    wait_time_s: npt.ArrayLike,
    coherence_time_s: npt.ArrayLike,
    coherence_time_b_s: npt.ArrayLike | None,
) -> FloatArray:
    """exp(−t/T_a − t/T_b): the surviving coherence of a pair held in two memories."""
    t = np.asarray(wait_time_s, dtype=float)
    t_a = np.asarray(coherence_time_s, dtype=float)
    t_b = t_a if coherence_time_b_s is None else np.asarray(coherence_time_b_s, dtype=float)
    check_range("wait_time_s", t, 0.0, np.inf)
    for name, value in (("coherence_time_s", t_a), ("coherence_time_b_s", t_b)):
        _reject(name, value, ~(value > 0), "a time > 0 s")
    with np.errstate(under="ignore"):
        return np.asarray(np.exp(-t / t_a - t / t_b), dtype=float)


def decohere_werner_fidelity(
    fidelity: npt.ArrayLike,
    wait_time_s: npt.ArrayLike,
    coherence_time_s: npt.ArrayLike,
    coherence_time_b_s: npt.ArrayLike | None = None,
) -> FloatArray:
    """Fidelity of a Werner pair after both halves wait in depolarising memories.

    .. math::
        F(t) = \\frac14 + \\left(F_0 - \\frac14\\right) e^{-t/T_\\mathrm{tot}}, \\qquad
        \\frac{1}{T_\\mathrm{tot}} = \\frac{1}{T_a} + \\frac{1}{T_b}

    Each memory applies the depolarising channel ρ → e^{−t/T} ρ + (1 − e^{−t/T}) I/2 to
    its qubit. Depolarising either qubit of a Werner state multiplies its Werner parameter
    by e^{−t/T}, so the two memories combine by adding their decay rates. For a single
    memory (the other qubit already measured or delivered) pass
    ``coherence_time_b_s=np.inf``. With T_a = T_b = T the pair decays at rate 2/T.

    Parameters
    ----------
    fidelity : array_like
        Initial Werner fidelity F0. [unitless, 0..1]
    wait_time_s : array_like
        Time t both qubits are stored. [s, ≥ 0]
    coherence_time_s : array_like
        Depolarising time T_a of memory a. [s, > 0, inf for a perfect memory]
    coherence_time_b_s : array_like, optional
        T_b of memory b; defaults to ``coherence_time_s``. [s, > 0]

    Returns
    -------
    numpy.ndarray
        Werner fidelity after the wait, decaying toward 1/4. [unitless, 0..1]

    References
    ----------
    .. [1] W. Dür, H.-J. Briegel, Rep. Prog. Phys. 70, 1381 (2007), Sec. 2 (depolarising
       noise as a white-noise admixture).
    .. [2] M. A. Nielsen, I. L. Chuang, *Quantum Computation and Quantum Information*,
       Cambridge University Press (2000), Eq. (8.102) (depolarising channel).
    """
    w = werner_parameter(fidelity)
    decay = _combined_decay(wait_time_s, coherence_time_s, coherence_time_b_s)
    return clip_fidelity(0.25 + 0.75 * w * decay)  # Sec. 2 of [1]


def dephase_bell_diagonal(
    coefficients: npt.ArrayLike,
    wait_time_s: npt.ArrayLike,
    dephasing_time_s: npt.ArrayLike,
    dephasing_time_b_s: npt.ArrayLike | None = None,
) -> FloatArray:
    """Bell-diagonal weights after both halves wait in pure-dephasing (T2) memories.

    A T2 memory applies Z to its qubit with probability (1 − e^{−t/T2})/2. A Z on either
    qubit maps Φ+ ↔ Φ− and Ψ+ ↔ Ψ−; the two flips combine to an odd number of Z with
    probability

    .. math:: q = \\frac{1 - e^{-t/T_{2,a} - t/T_{2,b}}}{2}

    so (A, B, C, D) → ((1−q)A + qD, (1−q)B + qC, (1−q)C + qB, (1−q)D + qA).

    Parameters
    ----------
    coefficients : array_like
        Bell-diagonal weights, shape (..., 4), order ``BELL_BASIS``. [unitless, sum 1]
    wait_time_s : array_like
        Storage time t of both qubits. [s, ≥ 0]
    dephasing_time_s : array_like
        T2 of memory a. [s, > 0]
    dephasing_time_b_s : array_like, optional
        T2 of memory b; defaults to ``dephasing_time_s``. [s, > 0]

    Returns
    -------
    numpy.ndarray
        Dephased weights, shape (..., 4). [unitless, sum 1]

    References
    ----------
    .. [1] M. A. Nielsen, I. L. Chuang, *Quantum Computation and Quantum Information*,
       Cambridge University Press (2000), Sec. 8.3.6 (phase damping as a phase flip).
    .. [2] W. Dür, H.-J. Briegel, Rep. Prog. Phys. 70, 1381 (2007), Sec. 2.
    """
    coeffs = checked_bell_coefficients(coefficients)
    keep = _combined_decay(wait_time_s, dephasing_time_s, dephasing_time_b_s)
    q = (1.0 - keep[..., np.newaxis]) / 2.0  # phase-flip probability, Sec. 8.3.6 of [1]
    flipped = coeffs[..., [3, 2, 1, 0]]
    return np.asarray((1.0 - q) * coeffs + q * flipped, dtype=float)


# --------------------------------------------------------------------------- SPDC source


class SpdcLink(NamedTuple):
    """Coincidences of a midpoint entangled-pair source, per pulse and per second."""

    coincidence_probability: FloatArray  #: Q_λ, coincidences per pulse [unitless]
    coincidence_rate_hz: FloatArray  #: Q_λ × repetition rate [Hz]
    qber: FloatArray  #: E_λ, error rate of the coincidences [unitless, 0..0.5]
    fidelity: FloatArray  #: Werner fidelity 1 − 3E/2 [unitless, 0.25..1]


def _spdc_terms(
    mean_pairs_per_pulse: npt.ArrayLike,
    transmittance_a: npt.ArrayLike,
    transmittance_b: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """λ, 1 + η_aλ, 1 + η_bλ and 1 + η_aλ + η_bλ − η_aη_bλ of Ma, Fung, Lo (2007)."""
    mu = np.asarray(mean_pairs_per_pulse, dtype=float)
    check_range("mean_pairs_per_pulse", mu, 0.0, np.inf)
    eta_a = checked_probability("transmittance_a", transmittance_a)
    eta_b = checked_probability("transmittance_b", transmittance_b)
    lam = mu / 2.0  # mean pairs 2λ of the two-mode thermal source
    return lam, 1.0 + eta_a * lam, 1.0 + eta_b * lam, 1.0 + lam * (eta_a + eta_b - eta_a * eta_b)


def spdc_coincidence_probability(
    mean_pairs_per_pulse: npt.ArrayLike,
    transmittance_a: npt.ArrayLike,
    transmittance_b: npt.ArrayLike,
    dark_count_probability_a: npt.ArrayLike = 0.0,
    dark_count_probability_b: npt.ArrayLike = 0.0,
) -> FloatArray:
    """Coincidence probability per pulse of a midpoint polarisation-entangled PDC source.

    .. math::
        Q_\\lambda = 1 - \\frac{1 - Y_{0A}}{(1 + \\eta_A\\lambda)^2}
                       - \\frac{1 - Y_{0B}}{(1 + \\eta_B\\lambda)^2}
                       + \\frac{(1 - Y_{0A})(1 - Y_{0B})}
                               {(1 + \\eta_A\\lambda + \\eta_B\\lambda
                                 - \\eta_A\\eta_B\\lambda)^2}

    The source emits n pairs with the two-mode thermal distribution
    P(n) = (n + 1) λ^n / (1 + λ)^{n+2}, whose mean is 2λ = μ; multi-pair emission is
    included exactly. A coincidence is a click (signal or background) on both sides;
    threshold detectors are assumed and double clicks count as clicks.

    Parameters
    ----------
    mean_pairs_per_pulse : array_like
        μ = 2λ, mean number of pairs per pulse (or per coincidence window of a CW source:
        pair rate × window). [pairs, ≥ 0]
    transmittance_a, transmittance_b : array_like
        η_A, η_B: channel transmittance from the source to each receiver times that
        receiver's detector efficiency. [unitless, 0..1]
    dark_count_probability_a, dark_count_probability_b : array_like, optional
        Y0A, Y0B: background click probability per window of each whole receiver.
        [unitless, 0..1]

    Returns
    -------
    numpy.ndarray
        Q_λ, coincidences per pulse. [unitless, 0..1]

    References
    ----------
    .. [1] X. Ma, C.-H. F. Fung, H.-K. Lo, "Quantum key distribution with entangled photon
       sources", Phys. Rev. A 76, 012307 (2007), Sec. III (overall gain Q_λ).
    """
    _, one_a, one_b, one_ab = _spdc_terms(mean_pairs_per_pulse, transmittance_a, transmittance_b)
    no_a = 1.0 - checked_probability("dark_count_probability_a", dark_count_probability_a)
    no_b = 1.0 - checked_probability("dark_count_probability_b", dark_count_probability_b)
    gain = 1.0 - no_a / one_a**2 - no_b / one_b**2 + no_a * no_b / one_ab**2  # Q_λ of [1]
    return np.asarray(np.clip(gain, 0.0, 1.0), dtype=float)


def spdc_qber(
    mean_pairs_per_pulse: npt.ArrayLike,
    transmittance_a: npt.ArrayLike,
    transmittance_b: npt.ArrayLike,
    dark_count_probability_a: npt.ArrayLike = 0.0,
    dark_count_probability_b: npt.ArrayLike = 0.0,
    misalignment_error: npt.ArrayLike = 0.0,
) -> FloatArray:
    """Quantum bit error rate of the coincidences of a midpoint PDC source.

    .. math::
        E_\\lambda Q_\\lambda = e_0 Q_\\lambda
            - \\frac{2 (e_0 - e_d)\\, \\eta_A \\eta_B\\, \\lambda (1 + \\lambda)}
                    {(1 + \\eta_A\\lambda)(1 + \\eta_B\\lambda)
                     (1 + \\eta_A\\lambda + \\eta_B\\lambda - \\eta_A\\eta_B\\lambda)}

    with e0 = 1/2. For λ → 0 without background E → e_d; for λ → ∞, E → 1/2 (multi-pair
    emission destroys the correlation). Where Q_λ = 0, E = 1/2.

    Parameters
    ----------
    mean_pairs_per_pulse, transmittance_a, transmittance_b, dark_count_probability_a,
    dark_count_probability_b : array_like
        As in :func:`spdc_coincidence_probability`.
    misalignment_error : array_like, optional
        e_d, intrinsic error probability of a true coincidence (source visibility and
        analyser misalignment of both sides together). [unitless, 0..0.5]

    Returns
    -------
    numpy.ndarray
        E_λ. [unitless, 0..0.5]

    References
    ----------
    .. [1] X. Ma, C.-H. F. Fung, H.-K. Lo, Phys. Rev. A 76, 012307 (2007), Sec. III
       (overall QBER E_λ).
    """
    lam, one_a, one_b, one_ab = _spdc_terms(mean_pairs_per_pulse, transmittance_a, transmittance_b)
    eta_a = np.asarray(transmittance_a, dtype=float)
    eta_b = np.asarray(transmittance_b, dtype=float)
    e_d = np.asarray(misalignment_error, dtype=float)
    check_range("misalignment_error", e_d, 0.0, 0.5)
    gain = spdc_coincidence_probability(
        mean_pairs_per_pulse,
        transmittance_a,
        transmittance_b,
        dark_count_probability_a,
        dark_count_probability_b,
    )
    correlated = 2.0 * (RANDOM_ERROR_RATE - e_d) * eta_a * eta_b * lam * (1.0 + lam)
    correlated = correlated / (one_a * one_b * one_ab)
    errors = RANDOM_ERROR_RATE * gain - correlated  # E_λ Q_λ of [1]
    with np.errstate(divide="ignore", invalid="ignore"):
        qber = np.where(gain > 0.0, errors / gain, RANDOM_ERROR_RATE)
    return np.asarray(np.clip(qber, 0.0, RANDOM_ERROR_RATE), dtype=float)


def spdc_no_click_probability(
    mean_pairs_per_pulse: npt.ArrayLike,
    transmittance_a: npt.ArrayLike,
    transmittance_b: npt.ArrayLike,
    dark_count_probability_a: npt.ArrayLike = 0.0,
    dark_count_probability_b: npt.ArrayLike = 0.0,
) -> FloatArray:
    """Probability per pulse that neither receiver of a midpoint PDC source clicks.

    .. math::
        P_{00} = \\frac{(1 - Y_{0A})(1 - Y_{0B})}
                      {(1 + \\eta_A\\lambda + \\eta_B\\lambda - \\eta_A\\eta_B\\lambda)^2}

    The last term of Q_λ in :func:`spdc_coincidence_probability`: summed over the
    two-mode thermal distribution P(n) = (n + 1) λ^n / (1 + λ)^{n+2}, every one of the n
    photons on each side is lost, (1 − η_A)^n (1 − η_B)^n, and no background click
    occurs. It counts the rounds a device-independent protocol must keep although nothing
    was detected (no post-selection).

    Parameters
    ----------
    mean_pairs_per_pulse, transmittance_a, transmittance_b, dark_count_probability_a,
    dark_count_probability_b : array_like
        As in :func:`spdc_coincidence_probability`.

    Returns
    -------
    numpy.ndarray
        P00, probability of no click on either side per pulse. [unitless, 0..1]

    References
    ----------
    .. [1] X. Ma, C.-H. F. Fung, H.-K. Lo, Phys. Rev. A 76, 012307 (2007), Sec. III
       (the no-click terms of the overall gain Q_λ).
    """
    _, _, _, one_ab = _spdc_terms(mean_pairs_per_pulse, transmittance_a, transmittance_b)
    no_a = 1.0 - checked_probability("dark_count_probability_a", dark_count_probability_a)
    no_b = 1.0 - checked_probability("dark_count_probability_b", dark_count_probability_b)
    return np.asarray(np.clip(no_a * no_b / one_ab**2, 0.0, 1.0), dtype=float)  # Sec. III of [1]


def spdc_midpoint_link(
    mean_pairs_per_pulse: npt.ArrayLike,
    transmittance_a: npt.ArrayLike,
    transmittance_b: npt.ArrayLike,
    repetition_rate_hz: npt.ArrayLike,
    dark_count_probability_a: npt.ArrayLike = 0.0,
    dark_count_probability_b: npt.ArrayLike = 0.0,
    misalignment_error: npt.ArrayLike = 0.0,
) -> SpdcLink:
    """Coincidence rate, QBER and fidelity of a midpoint entangled-pair (SPDC) source.

    .. math::
        R_c = Q_\\lambda\\, f_\\mathrm{rep}, \\qquad F = 1 - \\tfrac32 E_\\lambda

    Q_λ and E_λ are those of :func:`spdc_coincidence_probability` and :func:`spdc_qber`.
    The fidelity is that of the Werner state with the same QBER in every basis
    (:func:`werner_fidelity_from_qber`) — exact for depolarising noise, an estimate
    otherwise (the PDC state's error is basis-independent, [1]).

    Parameters
    ----------
    mean_pairs_per_pulse, transmittance_a, transmittance_b : array_like
        As in :func:`spdc_coincidence_probability`.
    repetition_rate_hz : array_like
        Pump pulse rate (or inverse coincidence window for a CW source). [Hz, ≥ 0]
    dark_count_probability_a, dark_count_probability_b, misalignment_error : array_like
        As in :func:`spdc_qber`.

    Returns
    -------
    SpdcLink
        ``coincidence_probability`` [unitless], ``coincidence_rate_hz`` [Hz],
        ``qber`` [unitless] and ``fidelity`` [unitless].

    References
    ----------
    .. [1] X. Ma, C.-H. F. Fung, H.-K. Lo, Phys. Rev. A 76, 012307 (2007), Sec. III.
    """
    rate = np.asarray(repetition_rate_hz, dtype=float)
    check_range("repetition_rate_hz", rate, 0.0, np.inf)
    gain = spdc_coincidence_probability(
        mean_pairs_per_pulse,
        transmittance_a,
        transmittance_b,
        dark_count_probability_a,
        dark_count_probability_b,
    )
    qber = spdc_qber(
        mean_pairs_per_pulse,
        transmittance_a,
        transmittance_b,
        dark_count_probability_a,
        dark_count_probability_b,
        misalignment_error,
    )
    return SpdcLink(
        coincidence_probability=gain,
        coincidence_rate_hz=np.asarray(gain * rate, dtype=float),
        qber=qber,
        fidelity=werner_fidelity_from_qber(qber),
    )


# --------------------------------------------------------------------------- heralded links


class HeraldedLink(NamedTuple):
    """One attempt of a heralded elementary link."""

    success_probability: FloatArray  #: herald probability per attempt [unitless, 0..1]
    fidelity: FloatArray  #: fidelity of the heralded state with the target [unitless]


def _herald_mixture(
    true_probability: FloatArray,
    true_fidelity: FloatArray,
    false_probability: FloatArray,
    false_fidelity: FloatArray | float,
) -> HeraldedLink:
    """Mix genuine and dark-count heralds by their probabilities."""
    total = true_probability + false_probability
    with np.errstate(divide="ignore", invalid="ignore"):
        fidelity = (true_probability * true_fidelity + false_probability * false_fidelity) / total
    fidelity = np.where(total > 0.0, fidelity, MIXED_STATE_FIDELITY)
    return HeraldedLink(
        success_probability=np.asarray(np.clip(total, 0.0, 1.0), dtype=float),
        fidelity=clip_fidelity(fidelity),
    )


def station_dark_count_probability(
    receiver_yield: npt.ArrayLike, detectors: npt.ArrayLike = 2
) -> FloatArray:
    """Dark-count probability of each detector of a station, from the whole station's yield.

    .. math:: p_d = 1 - (1 - Y_0)^{1/n}

    qcalc's detector profiles give Y0, the probability that the whole receiver clicks in
    the dark in one window (``dark_count_probability``, or 1 − e^{−R τ} from
    ``dark_count_rate_hz`` and ``gate_window_ns``). A heralding station has n = 2
    detectors behind its beam splitter; with independent, equal detectors "no dark click
    anywhere" is (1 − p_d)^n = 1 − Y0, which gives p_d. For Y0 ≪ 1, p_d ≈ Y0/n.

    Parameters
    ----------
    receiver_yield : array_like
        Y0, dark (background) click probability of the whole station per window.
        [unitless, 0..1]
    detectors : array_like, optional
        n, number of detectors sharing Y0. [count, ≥ 1]

    Returns
    -------
    numpy.ndarray
        p_d, dark-count probability of each detector per window. [unitless, 0..1]

    References
    ----------
    .. [1] X. Ma, B. Qi, Y. Zhao, H.-K. Lo, Phys. Rev. A 72, 012326 (2005), Sec. II
       (Y0, the background yield of the whole receiver).
    """
    y0 = checked_probability("receiver_yield", receiver_yield)
    n = np.asarray(detectors, dtype=float)
    check_range("detectors", n, 1.0, np.inf)
    # (1 − p_d)^n = 1 − Y0, in log space so that Y0 = 1e-300 keeps p_d = Y0/n
    with np.errstate(divide="ignore"):
        return np.asarray(-np.expm1(np.log1p(-y0) / n), dtype=float)


def double_click_link(
    transmittance_a: npt.ArrayLike,
    transmittance_b: npt.ArrayLike,
    detector_efficiency: npt.ArrayLike = 1.0,
    visibility: npt.ArrayLike = 1.0,
    dark_count_probability: npt.ArrayLike = 0.0,
) -> HeraldedLink:
    """Barrett–Kok double-click heralding between two memories via a midpoint station.

    .. math::
        P = \\tfrac12\\left(s_A s_B + t\\, d\\right), \\qquad
        F = \\frac{V g_A g_B + s_A s_B}{2\\,(s_A s_B + t\\, d)}

    with, per detection round and threshold detectors of dark-count probability p_d,

    .. math::
        g_i = \\eta_i (1 - p_d), \\quad d = 2 p_d (1 - p_d), \\quad
        s_i = g_i + (1 - \\eta_i)\\, d, \\quad
        t = [1 - (1-\\eta_A)(1-\\eta_B)](1 - p_d) + (1-\\eta_A)(1-\\eta_B)\\, d

    and η_i = ``transmittance_i`` × ``detector_efficiency``. Each memory emits a photon
    entangled with its spin; the station's beam splitter erases which memory emitted it;
    the spins are flipped and the round is repeated. Success is exactly one click in each
    of the two rounds, which heralds Ψ± [1]. Every spin branch is followed through both
    rounds:

    - |↑↓⟩, |↓↑⟩ (weight 1/2): one photon per round. Both photons detected (g_A g_B)
      gives the coherent Ψ±, of fidelity (1 + V)/2 with two-photon visibility V [2];
      a round whose photon was lost but a detector clicked in the dark ((1 − η_i) d)
      leaves an incoherent mixture of |↑↓⟩ and |↓↑⟩, fidelity 1/2.
    - |↑↑⟩, |↓↓⟩ (weight 1/2): two photons in one round (one click: t), none in the
      other (a dark click: d). They herald a product state, fidelity 0.

    Summing gives P and F above. Without dark counts P = η_A η_B / 2 and F = (1 + V)/2,
    the published results [1], [2]; when dark counts dominate (η ≪ p_d) both branches
    weigh d²/2 and F → 1/4: a herald that is mostly dark counts leaves the maximally
    mixed state. To first order, P ≈ η_A η_B/2 + 2 p_d (η_A + η_B) + 4 p_d².

    Valid for threshold (non-number-resolving) detectors and any η, p_d; the one
    approximation is that the two photons of the |↑↑⟩ branch always bunch (exact for
    V = 1; for V < 1 it overstates that false-herald branch by a term of order
    η_A η_B p_d (1 − V)). Imperfect spin flips and photon emission are not modelled.

    Parameters
    ----------
    transmittance_a, transmittance_b : array_like
        Probability that a photon emitted by memory a (b) reaches the midpoint detectors:
        emission, collection, frequency conversion and fibre. [unitless, 0..1]
    detector_efficiency : array_like, optional
        Efficiency of the midpoint detectors. [unitless, 0..1]
    visibility : array_like, optional
        Two-photon (Hong–Ou–Mandel) interference visibility V. [unitless, 0..1]
    dark_count_probability : array_like, optional
        p_d, dark-count probability of each of the two midpoint detectors per detection
        window (:func:`station_dark_count_probability` splits a whole station's yield).
        [unitless, 0..1]

    Returns
    -------
    HeraldedLink
        ``success_probability`` per attempt [unitless] and ``fidelity`` with Ψ± [unitless].

    References
    ----------
    .. [1] S. D. Barrett, P. Kok, "Efficient high-fidelity quantum computation using
       matter qubits and linear optics", Phys. Rev. A 71, 060310(R) (2005): two rounds,
       success probability η²/2.
    .. [2] H. Bernien et al., "Heralded entanglement between solid-state qubits separated
       by three metres", Nature 497, 86 (2013), Supplementary Information (F limited by
       the photon indistinguishability, F = (1 + V)/2).
    .. [3] P. C. Humphreys et al., Nature 558, 268 (2018), Methods (detector dark counts
       herald states of the emitters' initial populations).
    """
    eta_d = checked_probability("detector_efficiency", detector_efficiency)
    eta_a = checked_probability("transmittance_a", transmittance_a) * eta_d
    eta_b = checked_probability("transmittance_b", transmittance_b) * eta_d
    v = checked_probability("visibility", visibility)
    p_d = checked_probability("dark_count_probability", dark_count_probability)
    quiet = 1.0 - p_d  # the other detector stays dark
    dark = 2.0 * p_d * quiet  # exactly one dark click in a round with no photon
    with np.errstate(under="ignore"):
        g_a, g_b = eta_a * quiet, eta_b * quiet  # photon detected, the round clean
        s_a, s_b = g_a + (1.0 - eta_a) * dark, g_b + (1.0 - eta_b) * dark
        none = (1.0 - eta_a) * (1.0 - eta_b)
        two = (1.0 - none) * quiet + none * dark  # the two-photon round gives one click
        single = s_a * s_b  # |↑↓⟩, |↓↑⟩ branches, over both rounds
        product = two * dark  # |↑↑⟩, |↓↓⟩ branches: two photons, then a dark click
        total = single + product
        with np.errstate(divide="ignore", invalid="ignore"):
            fidelity = (v * g_a * g_b + single) / (2.0 * total)  # F above
    fidelity = np.where(total > 0.0, fidelity, MIXED_STATE_FIDELITY)
    return HeraldedLink(
        success_probability=np.asarray(np.clip(0.5 * total, 0.0, 1.0), dtype=float),  # [1]
        fidelity=clip_fidelity(fidelity),
    )


def single_click_link(
    bright_state_population: npt.ArrayLike,
    transmittance_a: npt.ArrayLike,
    transmittance_b: npt.ArrayLike,
    detector_efficiency: npt.ArrayLike = 1.0,
    visibility: npt.ArrayLike = 1.0,
    dark_count_probability: npt.ArrayLike = 0.0,
) -> HeraldedLink:
    """Single-click (single-photon interference) heralding via a midpoint station.

    .. math::
        p_\\mathrm{true} \\approx \\alpha (\\eta_A + \\eta_B) = 2\\alpha\\eta, \\qquad
        F_\\mathrm{true} \\approx (1 - \\alpha) \\frac{1 + \\sqrt{V}}{2}, \\qquad
        p_\\mathrm{dark} = 2 p_d (1 - p_d), \\qquad
        F_\\mathrm{dark} = \\alpha (1 - \\alpha)

    Each memory is prepared in √(1−α)|0⟩ + √α|1⟩ and emits a photon from |1⟩; one click
    behind the beam splitter heralds Ψ± with probability ≈ 2αη, but with probability
    ≈ α both memories were bright and one photon was lost, leaving |11⟩: F ≈ 1 − α.
    Imperfect photon overlap reduces the |01⟩–|10⟩ coherence by the amplitude overlap
    √V (V the two-photon interference visibility). A herald from a dark click (exactly
    one of the two detectors, p_d each per window, clicks with no photon) leaves the
    memories in their initial populations with no coherence — (1−α)² |00⟩, α(1−α) each
    |01⟩ and |10⟩, α² |11⟩ — whose fidelity with Ψ± is α(1 − α): the lost photon took
    the which-path information with it (branch weights as in [3]). The two kinds of
    herald mix by their probabilities. Optical phase noise is not modelled.

    Valid for α ≪ 1 and η ≪ 1 (first order in both, the approximations of [2]); for
    α → 1/2 the fidelity estimate is pessimistic and the rate optimistic.

    Parameters
    ----------
    bright_state_population : array_like
        α, population of the emitting state. [unitless, 0..0.5]
    transmittance_a, transmittance_b : array_like
        Probability that a photon emitted by memory a (b) reaches the midpoint detectors.
        [unitless, 0..1]
    detector_efficiency : array_like, optional
        Efficiency of the midpoint detectors. [unitless, 0..1]
    visibility : array_like, optional
        Two-photon interference visibility V. [unitless, 0..1]
    dark_count_probability : array_like, optional
        p_d, dark-count probability of each of the two midpoint detectors per window.
        [unitless, 0..1]

    Returns
    -------
    HeraldedLink
        ``success_probability`` per attempt [unitless] and ``fidelity`` with Ψ± [unitless].

    References
    ----------
    .. [1] C. Cabrillo, J. I. Cirac, P. García-Fernández, P. Zoller, "Creation of entangled
       states of distant atoms by interference", Phys. Rev. A 59, 1025 (1999).
    .. [2] P. C. Humphreys et al., "Deterministic delivery of remote entanglement on a
       quantum network", Nature 558, 268 (2018), Methods: p ≈ 2 p_det α, F ≈ 1 − α.
    .. [3] A. Dahlberg et al., "A link layer protocol for quantum networks", Proc. ACM
       SIGCOMM 2019, 159, Supplementary Information Eqs. (8), (10) (branch probabilities
       of the single-click herald with dark counts).
    """
    alpha = np.asarray(bright_state_population, dtype=float)
    check_range("bright_state_population", alpha, 0.0, 0.5)
    eta_d = checked_probability("detector_efficiency", detector_efficiency)
    eta_a = checked_probability("transmittance_a", transmittance_a) * eta_d
    eta_b = checked_probability("transmittance_b", transmittance_b) * eta_d
    v = checked_probability("visibility", visibility)
    p_d = checked_probability("dark_count_probability", dark_count_probability)
    p_true = alpha * (eta_a + eta_b)  # p ≈ 2 p_det α, Methods of [2]
    f_true = (1.0 - alpha) * (1.0 + np.sqrt(v)) / 2.0  # F ≈ 1 − α, Methods of [2]
    p_dark = 2.0 * p_d * (1.0 - p_d)  # exactly one detector clicks in the dark
    return _herald_mixture(p_true, f_true, p_dark, alpha * (1.0 - alpha))  # Methods of [2]


# --------------------------------------------------------------------------- timing


def heralding_attempt_time_s(
    length_km: npt.ArrayLike,
    preparation_time_s: npt.ArrayLike = 0.0,
    station_position: npt.ArrayLike = 0.5,
) -> FloatArray:
    """Duration of one heralded-entanglement attempt over a fibre link.

    .. math:: t = t_\\mathrm{prep} + \\frac{2\\, \\max(x, 1 - x)\\, L\\, n_g}{c}

    A memory cannot retry before it learns the outcome: its photon travels x·L to the
    heralding station and the classical herald travels back, a round trip of 2 x L over
    fibre at the group velocity c/n_g (n_g = 1.47). The slower node sets the pace. For
    a midpoint station (x = 1/2) the round trip is L n_g / c — e.g. 245 µs for 50 km.

    Parameters
    ----------
    length_km : array_like
        Fibre length L between the two nodes. [km, ≥ 0]
    preparation_time_s : array_like, optional
        Local time per attempt: memory initialisation, emission, detection window.
        [s, ≥ 0]
    station_position : array_like, optional
        x, distance of the heralding station from node a as a fraction of L.
        [unitless, 0..1]

    Returns
    -------
    numpy.ndarray
        Time per attempt. [s]

    References
    ----------
    .. [1] N. Sangouard, C. Simon, H. de Riedmatten, N. Gisin, "Quantum repeaters based on
       atomic ensembles and linear optics", Rev. Mod. Phys. 83, 33 (2011), Sec. III
       (waiting for the heralding signal: L0/c per elementary-link attempt).
    .. [2] Corning SMF-28 Ultra, product information PI1424 (2014): group index 1.4682 at
       1550 nm (``qcalc.constants.FIBRE_GROUP_INDEX``).
    """
    length = np.asarray(length_km, dtype=float)
    check_range("length_km", length, 0.0, np.inf)
    t_prep = np.asarray(preparation_time_s, dtype=float)
    check_range("preparation_time_s", t_prep, 0.0, np.inf)
    x = checked_probability("station_position", station_position)
    return np.asarray(t_prep + 2.0 * fibre_delay_s(np.maximum(x, 1.0 - x) * length), dtype=float)


def heralding_attempt_rate_hz(
    length_km: npt.ArrayLike,
    source_rate_hz: npt.ArrayLike,
    preparation_time_s: npt.ArrayLike = 0.0,
    station_position: npt.ArrayLike = 0.5,
) -> FloatArray:
    """Attempt rate of a heralded link: the source rate, capped by the herald round trip.

    .. math:: r = \\min\\left(r_\\mathrm{source}, \\frac{1}{t}\\right)

    with t from :func:`heralding_attempt_time_s`. A node with a single communication qubit
    must wait for each herald; a zero attempt time leaves the source rate.

    Parameters
    ----------
    length_km : array_like
        Fibre length between the nodes. [km, ≥ 0]
    source_rate_hz : array_like
        Maximal attempt (emission) rate of the nodes. [Hz, > 0, finite]
    preparation_time_s : array_like, optional
        Local time per attempt. [s, ≥ 0]
    station_position : array_like, optional
        Position of the heralding station as a fraction of the length. [unitless, 0..1]

    Returns
    -------
    numpy.ndarray
        Attempts per second. [Hz]

    References
    ----------
    .. [1] N. Sangouard et al., Rev. Mod. Phys. 83, 33 (2011), Sec. III.
    """
    rate = np.asarray(source_rate_hz, dtype=float)
    _reject("source_rate_hz", rate, ~np.isfinite(rate) | ~(rate > 0), "a finite rate > 0 Hz")
    t = heralding_attempt_time_s(length_km, preparation_time_s, station_position)
    with np.errstate(divide="ignore"):
        limit = np.where(t > 0.0, 1.0 / t, np.inf)
    return np.asarray(np.minimum(rate, limit), dtype=float)


def multiplexed_success_probability(
    success_probability: npt.ArrayLike, modes: npt.ArrayLike
) -> FloatArray:
    """Probability that at least one of M independent modes succeeds in one round.

    .. math:: P_M = 1 - (1 - p)^M = -\\mathrm{expm1}(M\\, \\mathrm{log1p}(-p))

    Evaluated with log1p/expm1 so that p = 1e-300 gives M·p, not 0.

    Parameters
    ----------
    success_probability : array_like
        p, success probability of one mode. [unitless, 0..1]
    modes : array_like
        M, number of modes (temporal, spectral, spatial). [count, ≥ 1]

    Returns
    -------
    numpy.ndarray
        Success probability per multiplexed round. [unitless, 0..1]

    References
    ----------
    .. [1] O. A. Collins, S. D. Jenkins, A. Kuzmich, T. A. B. Kennedy, "Multiplexed
       memory-insensitive quantum repeaters", Phys. Rev. Lett. 98, 060502 (2007).
    .. [2] N. Sangouard et al., Rev. Mod. Phys. 83, 33 (2011), Sec. VI.A.
    """
    p = checked_probability("success_probability", success_probability)
    m = np.asarray(modes, dtype=float)
    check_range("modes", m, 1.0, np.finfo(float).max)
    with np.errstate(divide="ignore"):
        log_fail = m * np.log1p(-p)
    return np.asarray(np.where(p >= 1.0, 1.0, -np.expm1(log_fail)), dtype=float)  # [1]
