"""Entanglement-based QKD: BBM92 with a midpoint source, and CHSH-based DIQKD.

Rates are per coincidence-window (per pulse) unless the caller passes a rate: the key
rate is linear in the gain, so a gain in Hz gives bits/s. Every function broadcasts and
returns exactly 0 where no key can be distilled.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from qcalc.protocols.entanglement import TSIRELSON_BOUND, check_range, checked_probability
from qcalc.protocols.qkd import binary_entropy

FloatArray = npt.NDArray[np.float64]

#: Classical CHSH bound; DIQKD needs S above it. [unitless]
CHSH_LOCAL_BOUND = 2.0

#: Least detection efficiency, equal on both sides, at which a maximally entangled pair
#: whose no-clicks are binned into one outcome still violates CHSH: 2/(1 + √2) ≈ 0.828
#: (A. Garg, N. D. Mermin, Phys. Rev. D 35, 3831 (1987); P. H. Eberhard, Phys. Rev. A 47,
#: R747 (1993), whose non-maximally entangled states lower it towards 2/3). [unitless]
CHSH_EFFICIENCY_BOUND = 2.0 / (1.0 + np.sqrt(2.0))


def bbm92_key_rate(
    gain: npt.ArrayLike,
    qber: npt.ArrayLike,
    error_correction_efficiency: npt.ArrayLike = 1.16,
    sifting_factor: npt.ArrayLike = 0.5,
) -> FloatArray:
    """Asymptotic BBM92 key rate with a basis-independent (entangled) source.

    .. math:: R = q\\, Q_\\lambda \\left[1 - f\\, h(E_\\lambda) - h(E_\\lambda)\\right]

    The entangled source is basis independent, so the phase error equals the bit error
    (Koashi–Preskill); R = 0 exactly when the bracket is negative. With f = 1 the key
    vanishes at E ≈ 11.0 % (Shor–Preskill); with f = 1.16 at E ≈ 9.8 %.

    Parameters
    ----------
    gain : array_like
        Q_λ, coincidence probability per pulse [unitless, 0..1] — or a coincidence rate
        [Hz], which makes the result bits/s.
    qber : array_like
        E_λ, error rate of the coincidences. [unitless, 0..1]
    error_correction_efficiency : array_like, optional
        f ≥ 1, error-correction inefficiency. [unitless]
    sifting_factor : array_like, optional
        q, fraction of coincidences in matching bases (1/2 for BBM92). [unitless, 0..1]

    Returns
    -------
    numpy.ndarray
        Secret key per pulse [bits/pulse] (or bits/s for a gain in Hz), ≥ 0.

    References
    ----------
    .. [1] C. H. Bennett, G. Brassard, N. D. Mermin, "Quantum cryptography without Bell's
       theorem", Phys. Rev. Lett. 68, 557 (1992).
    .. [2] X. Ma, C.-H. F. Fung, H.-K. Lo, "Quantum key distribution with entangled
       photon sources", Phys. Rev. A 76, 012307 (2007), one-way key rate R of Sec. IV.
    .. [3] P. W. Shor, J. Preskill, Phys. Rev. Lett. 85, 441 (2000).
    """
    q_gain = np.asarray(gain, dtype=float)
    check_range("gain", q_gain, 0.0, np.inf)
    e = checked_probability("qber", qber)
    f = np.asarray(error_correction_efficiency, dtype=float)
    check_range("error_correction_efficiency", f, 1.0, np.inf)
    q = checked_probability("sifting_factor", sifting_factor)
    h = binary_entropy(e)
    fraction = 1.0 - f * h - h  # one-way key rate of [2]
    return np.asarray(np.where(fraction > 0.0, q * q_gain * fraction, 0.0), dtype=float)


def chsh_from_qber(qber: npt.ArrayLike) -> FloatArray:
    """CHSH value of the Werner (depolarised) state with a given QBER.

    .. math:: S = 2\\sqrt{2}\\,(1 - 2Q)

    Parameters
    ----------
    qber : array_like
        Q, bit error rate in every basis. [unitless, 0..0.5]

    Returns
    -------
    numpy.ndarray
        CHSH value S. [unitless, 0..2√2]

    References
    ----------
    .. [1] S. Pironio, A. Acín, N. Brunner, N. Gisin, S. Massar, V. Scarani,
       "Device-independent quantum key distribution secure against collective attacks",
       New J. Phys. 11, 045021 (2009), Sec. 2.3 (depolarising channel, S = 2√2(1 − 2Q)).
    """
    q = np.asarray(qber, dtype=float)
    check_range("qber", q, 0.0, 0.5)
    return np.asarray(TSIRELSON_BOUND * (1.0 - 2.0 * q), dtype=float)  # Sec. 2.3 of [1]


def diqkd_key_rate(
    chsh: npt.ArrayLike,
    qber: npt.ArrayLike,
    error_correction_efficiency: npt.ArrayLike = 1.0,
) -> FloatArray:
    """One-way DIQKD key rate against collective attacks from the CHSH value and QBER.

    .. math::
        r = 1 - f\\, h(Q) - h\\!\\left(\\frac{1 + \\sqrt{(S/2)^2 - 1}}{2}\\right)

    Zero exactly when S ≤ 2 or r ≤ 0. With f = 1 and the depolarising relation
    S = 2√2(1 − 2Q) the key vanishes at Q ≈ 7.1 %.

    Parameters
    ----------
    chsh : array_like
        S, observed CHSH value. [unitless, 0..2√2]
    qber : array_like
        Q, error rate between Alice's key measurement and Bob's. [unitless, 0..1]
    error_correction_efficiency : array_like, optional
        f ≥ 1; the bound of [1] assumes f = 1 (Shannon limit). [unitless]

    Returns
    -------
    numpy.ndarray
        Secret bits per measured round (coincidence). [bits/round, 0..1]

    References
    ----------
    .. [1] S. Pironio, A. Acín, N. Brunner, N. Gisin, S. Massar, V. Scarani,
       New J. Phys. 11, 045021 (2009), main result (key rate of the CHSH protocol).
    .. [2] A. Acín, N. Brunner, N. Gisin, S. Massar, S. Pironio, V. Scarani,
       "Device-independent security of quantum cryptography against collective attacks",
       Phys. Rev. Lett. 98, 230501 (2007): the same bound and the 7.1 % threshold.
    """
    s = np.asarray(chsh, dtype=float)
    check_range("chsh", s, 0.0, TSIRELSON_BOUND * (1.0 + 1e-12))
    q = checked_probability("qber", qber)
    f = np.asarray(error_correction_efficiency, dtype=float)
    check_range("error_correction_efficiency", f, 1.0, np.inf)
    root = np.sqrt(np.clip((s / 2.0) ** 2 - 1.0, 0.0, 1.0))
    rate = 1.0 - f * binary_entropy(q) - binary_entropy((1.0 + root) / 2.0)  # [1], [2]
    return np.asarray(np.where((s > CHSH_LOCAL_BOUND) & (rate > 0.0), rate, 0.0), dtype=float)


def diqkd_key_rate_depolarised(
    qber: npt.ArrayLike, error_correction_efficiency: npt.ArrayLike = 1.0
) -> FloatArray:
    """DIQKD key rate of a depolarised (Werner) pair with a given QBER.

    .. math:: r(Q) = r\\big(S = 2\\sqrt{2}(1 - 2Q),\\, Q\\big)

    Parameters
    ----------
    qber : array_like
        Q, bit error rate in every basis. [unitless, 0..0.5]
    error_correction_efficiency : array_like, optional
        f ≥ 1. [unitless]

    Returns
    -------
    numpy.ndarray
        Secret bits per round; zero exactly from Q ≈ 7.1 % (f = 1). [bits/round]

    References
    ----------
    .. [1] S. Pironio et al., New J. Phys. 11, 045021 (2009), Sec. 2.3.
    .. [2] A. Acín et al., Phys. Rev. Lett. 98, 230501 (2007).
    """
    return diqkd_key_rate(chsh_from_qber(qber), qber, error_correction_efficiency)


def binned_chsh(
    chsh: npt.ArrayLike,
    both_click_probability: npt.ArrayLike,
    neither_click_probability: npt.ArrayLike,
) -> FloatArray:
    """CHSH value of all rounds when a round without a click counts as outcome +1.

    .. math:: S_\\mathrm{bin} = P_{11}\\, S + 2 P_{00}

    Each party outputs its measured bit when its detector clicks and +1 when it does not
    (no post-selection, so no detection loophole). A correlator of the binned outputs is

    .. math::
        E_\\mathrm{bin}(x, y) = P_{11} E(x, y) + P_{10} \\langle A_x \\rangle
            + P_{01} \\langle B_y \\rangle + P_{00}

    with P_11 the probability that both click, P_10 (P_01) that only Alice (Bob) does and
    P_00 that neither does. For a state whose local marginals vanish — a Werner pair, the
    unpolarised multi-pair emission of a PDC source, a random dark click — ⟨A_x⟩ =
    ⟨B_y⟩ = 0, and the four correlators of S = E00 + E01 + E10 − E11 sum to the formula
    above (the +1·+1 term enters with signs + + + −, i.e. 2 P_00). With detection
    efficiencies η_A, η_B and an event-ready pair, P_11 = η_A η_B and
    P_00 = (1 − η_A)(1 − η_B); at S = 2√2 and η_A = η_B = η the violation S_bin > 2 needs
    η > 2/(1 + √2) ≈ 82.8 % (``CHSH_EFFICIENCY_BOUND``) [1], [2].

    Parameters
    ----------
    chsh : array_like
        S of the rounds in which both parties click. [unitless, 0..2√2]
    both_click_probability : array_like
        P_11, probability per round that both parties click. [unitless, 0..1]
    neither_click_probability : array_like
        P_00, probability per round that neither clicks. [unitless, 0..1 − P_11]

    Returns
    -------
    numpy.ndarray
        S_bin over every round. [unitless, 0..2√2]

    References
    ----------
    .. [1] A. Garg, N. D. Mermin, "Detector inefficiencies in the Einstein-Podolsky-Rosen
       experiment", Phys. Rev. D 35, 3831 (1987).
    .. [2] P. H. Eberhard, "Background level and counter efficiencies required for a
       loophole-free Einstein-Podolsky-Rosen experiment", Phys. Rev. A 47, R747 (1993).
    .. [3] S. Pironio et al., New J. Phys. 11, 045021 (2009), Sec. 2 (binary outcomes in
       every round).
    """
    s = np.asarray(chsh, dtype=float)
    check_range("chsh", s, 0.0, TSIRELSON_BOUND * (1.0 + 1e-12))
    p11 = checked_probability("both_click_probability", both_click_probability)
    p00 = checked_probability("neither_click_probability", neither_click_probability)
    check_range("both_click_probability + neither_click_probability", p11 + p00, 0.0, 1.0 + 1e-12)
    return np.asarray(p11 * s + 2.0 * p00, dtype=float)  # binned correlators, [1], [2]


def binned_qber(
    qber: npt.ArrayLike,
    both_click_probability: npt.ArrayLike,
    neither_click_probability: npt.ArrayLike,
) -> FloatArray:
    """Bit error rate of all rounds when a round without a click counts as outcome +1.

    .. math:: Q_\\mathrm{bin} = \\frac{1 - P_{11}(1 - 2Q) - P_{00}}{2}

    Both click: the pair's error Q. Neither clicks: both output +1, no error. One clicks:
    its unbiased bit meets the other's +1, an error half the time. With event-ready pairs
    of efficiency η on both sides and Q = 0 this is η(1 − η).

    Parameters
    ----------
    qber : array_like
        Q, error rate of the rounds in which both click. [unitless, 0..0.5]
    both_click_probability, neither_click_probability : array_like
        As in :func:`binned_chsh`. [unitless, 0..1]

    Returns
    -------
    numpy.ndarray
        Q_bin between Alice's and Bob's key outputs over every round. [unitless, 0..0.5]

    References
    ----------
    .. [1] X. Ma, N. Lütkenhaus, "Improved data post-processing in quantum key
       distribution and application to loss thresholds in device independent QKD",
       Quantum Inf. Comput. 12, 203 (2012) (binary values assigned to lost signals).
    """
    q = np.asarray(qber, dtype=float)
    check_range("qber", q, 0.0, 0.5)
    p11 = checked_probability("both_click_probability", both_click_probability)
    p00 = checked_probability("neither_click_probability", neither_click_probability)
    return np.asarray(np.clip((1.0 - p11 * (1.0 - 2.0 * q) - p00) / 2.0, 0.0, 0.5), dtype=float)


def diqkd_binned_key_rate(
    chsh: npt.ArrayLike,
    qber: npt.ArrayLike,
    both_click_probability: npt.ArrayLike,
    neither_click_probability: npt.ArrayLike,
    error_correction_efficiency: npt.ArrayLike = 1.0,
) -> FloatArray:
    """DIQKD key per round with no post-selection: every round kept, no-clicks binned.

    .. math:: r = r_\\mathrm{Pironio}\\big(S_\\mathrm{bin},\\, Q_\\mathrm{bin}\\big)

    :func:`diqkd_key_rate` evaluated on :func:`binned_chsh` and :func:`binned_qber`. The
    security proof of [1] holds for any binary-outcome devices, so it holds for the binned
    outputs; the rounds are all rounds (every pulse of a source measured on arrival, every
    delivered pair of an event-ready link). For a maximally entangled pair with the same
    detection efficiency η on both sides the key is positive above η ≈ 92.3 % (f = 1),
    the 92.4 % of [2].

    Parameters
    ----------
    chsh, qber : array_like
        S and Q of the rounds in which both parties click. [unitless]
    both_click_probability, neither_click_probability : array_like
        As in :func:`binned_chsh`. [unitless, 0..1]
    error_correction_efficiency : array_like, optional
        f ≥ 1. [unitless]

    Returns
    -------
    numpy.ndarray
        Secret bits per round, 0 where S_bin ≤ 2 or the bound is negative. [bits/round]

    References
    ----------
    .. [1] S. Pironio et al., New J. Phys. 11, 045021 (2009), main result.
    .. [2] X. Ma, N. Lütkenhaus, Quantum Inf. Comput. 12, 203 (2012), abstract: "the loss
       tolerance threshold" of CHSH-based DIQKD "from 92.4 % ..." (binned, one-way).
    """
    return diqkd_key_rate(
        binned_chsh(chsh, both_click_probability, neither_click_probability),
        binned_qber(qber, both_click_probability, neither_click_probability),
        error_correction_efficiency,
    )
