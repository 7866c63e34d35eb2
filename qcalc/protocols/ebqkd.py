"""Entanglement-based QKD: BBM92 with a midpoint source, and CHSH-based DIQKD.

Rates are per coincidence-window (per pulse) unless the caller passes a rate: the key
rate is linear in the gain, so a gain in Hz gives bits/s. Every function broadcasts and
returns exactly 0 where no key can be distilled.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from qcalc.protocols.entanglement import TSIRELSON_BOUND, _check_range, _probability
from qcalc.protocols.qkd import binary_entropy

FloatArray = npt.NDArray[np.float64]

#: Classical CHSH bound; DIQKD needs S above it. [unitless]
CHSH_LOCAL_BOUND = 2.0


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
    _check_range("gain", q_gain, 0.0, np.inf)
    e = _probability("qber", qber)
    f = np.asarray(error_correction_efficiency, dtype=float)
    _check_range("error_correction_efficiency", f, 1.0, np.inf)
    q = _probability("sifting_factor", sifting_factor)
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
    _check_range("qber", q, 0.0, 0.5)
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
    _check_range("chsh", s, 0.0, TSIRELSON_BOUND * (1.0 + 1e-12))
    q = _probability("qber", qber)
    f = np.asarray(error_correction_efficiency, dtype=float)
    _check_range("error_correction_efficiency", f, 1.0, np.inf)
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
