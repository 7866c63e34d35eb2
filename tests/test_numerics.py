"""The numpy-only Bessel functions and maximiser of the relay protocols (issue 16, item 1).

scipy is the independent reference here (it stays a dependency; only the start-up paths
of `qcalc rate` no longer import it). The optimised key rates are compared with the
values the previous scipy optimisers (L-BFGS-B, Nelder–Mead) gave for the same inputs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from qcalc.physics.bessel import bessel_j0
from qcalc.protocols.finite_key import optimise_finite_key
from qcalc.protocols.mdi import optimise_mdi_decoy_key, optimise_mdi_finite_key, optimise_mdi_qkd
from qcalc.protocols.numerics import (
    bessel_i0_minus_one,
    bessel_i0e,
    distinct,
    maximise_on_grid,
)
from qcalc.protocols.twinfield import optimise_sns_tf_qkd

#: Agreement asked of the Bessel functions with scipy.special. [relative]
BESSEL_RTOL = 1e-12
#: Agreement of an optimised key rate with the scipy optimiser's: both stop where the
#: rate is flat to ~1e-7 of itself (L-BFGS-B's factr 1e7 · machine ε ≈ 2e-9 on the
#: scaled rate; the compass search's step 1e-7). [relative]
OPTIMUM_RTOL = 1e-6

ARGUMENTS = np.concatenate(([0.0], np.logspace(-12, 4, 2001), [19.999999, 20.0, 20.000001]))


def test_i0e_matches_scipy_over_sixteen_decades() -> None:
    assert np.allclose(bessel_i0e(ARGUMENTS), special.i0e(ARGUMENTS), rtol=BESSEL_RTOL, atol=0)
    assert np.allclose(bessel_i0e(-ARGUMENTS), special.i0e(-ARGUMENTS), rtol=BESSEL_RTOL, atol=0)


def test_i0e_is_finite_where_i0_overflows() -> None:
    # I0(1000) ≈ 2.5e432 overflows a float; e^{-z} I0(z) ≈ (2πz)^{-1/2} (DLMF 10.40.1).
    z = np.array([800.0, 1e5, 1e12])
    assert np.allclose(bessel_i0e(z), special.i0e(z), rtol=BESSEL_RTOL, atol=0)
    assert np.allclose(bessel_i0e(1e12), 1 / np.sqrt(2 * np.pi * 1e12), rtol=1e-12)


def test_i0_minus_one_matches_scipy_and_has_no_cancellation() -> None:
    # scipy's i0(z) − 1 loses log10(4/z²) digits to cancellation: compared from z = 0.1.
    z = ARGUMENTS[(ARGUMENTS >= 0.1) & (ARGUMENTS < 700)]
    assert np.allclose(bessel_i0_minus_one(z), special.i0(z) - 1.0, rtol=BESSEL_RTOL, atol=0)
    # Below 1e-2 the series z²/4 + z⁴/64 + z⁶/2304 is exact to 1e-16 (next term z⁸/147456).
    small = ARGUMENTS[(ARGUMENTS > 0) & (ARGUMENTS < 1e-2)]
    series = small**2 / 4 + small**4 / 64 + small**6 / 2304
    assert np.allclose(bessel_i0_minus_one(small), series, rtol=1e-15, atol=0)
    assert bessel_i0_minus_one(0.0) == 0.0


@settings(max_examples=60, deadline=None)
@given(st.floats(0.0, 700.0), st.floats(0.0, 700.0))
def test_i0e_is_a_decreasing_fraction(a: float, b: float) -> None:
    low, high = sorted((a, b))
    values = bessel_i0e(np.array([low, high]))
    assert 0.0 < values[1] <= values[0] <= 1.0


def test_compass_search_finds_an_interior_and_a_boundary_maximum() -> None:
    def peak(x: np.ndarray) -> np.ndarray:
        return 2.0 - (x[..., 0] - 0.3) ** 2 - 3 * (x[..., 1] + 0.7) ** 2

    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-1, 1, 5)), -1).reshape(-1, 2)
    rate, x = maximise_on_grid(peak, grid, ((-1.0, 1.0), (-1.0, 1.0)))
    assert np.allclose(x, [0.3, -0.7], atol=1e-6) and np.isclose(rate, 2.0, rtol=1e-12)
    rate, x = maximise_on_grid(peak, grid, ((-1.0, 1.0), (-0.5, 1.0)))  # the peak is cut off
    assert np.allclose(x, [0.3, -0.5], atol=1e-6) and np.isclose(rate, 2.0 - 3 * 0.04)
    assert maximise_on_grid(lambda x: 0.0 * x[..., 0], grid, ((-1, 1), (-1, 1)))[0] == 0.0


ARMS_DB = np.array([5.0, 15.0, 25.0, 35.0, 45.0])


@pytest.mark.parametrize(
    ("name", "run", "before"),
    [
        (
            "asymptotic MDI, arms 1:0.5",
            lambda eta: optimise_mdi_qkd(eta, eta * 0.5, 1e-7, 0.015)[0],
            [
                1.4650001208943938e-03,
                1.2668978715494709e-05,
                1.2305384688632867e-07,
                1.0536835935586095e-09,
                0.0,
            ],
        ),
        (
            "four-intensity MDI, signal searched",
            lambda eta: optimise_mdi_decoy_key(
                eta,
                eta,
                1e-7,
                0.015,
                weak_decoy_photon_number=0.05,
                strong_decoy_photon_number=0.2,
            )[0],
            [
                2.2959928147624886e-03,
                1.6599835033599905e-05,
                1.5836167685462312e-07,
                1.3716271547216512e-09,
                0.0,
            ],
        ),
    ],
)
def test_mdi_optimum_is_the_scipy_optimum(name: str, run, before: list[float]) -> None:  # type: ignore[no-untyped-def]
    rate = run(10 ** (-ARMS_DB / 10))
    assert np.allclose(rate, before, rtol=OPTIMUM_RTOL, atol=0), name


def test_finite_key_mdi_optimum_is_the_nelder_mead_optimum() -> None:
    eta = 10 ** (-np.array([10.0, 20.0, 30.0]) / 10)
    rate, asymptotic, _ = optimise_mdi_finite_key(eta, eta, 1e-8, 0.01, 1e12)
    assert np.allclose(rate, [8.86657016628711e-05, 1.3513167185621383e-08, 0.0], rtol=OPTIMUM_RTOL)
    assert np.all(asymptotic >= rate)


@pytest.mark.parametrize("dimensions", [4, 5, 6])
def test_the_quadratic_model_finds_a_tilted_ridge_in_few_steps(dimensions: int) -> None:
    """Above three coordinates each step also tries the maximum of a quadratic model of
    the rate. On a concave function whose ridge runs diagonally (axis moves alone must
    zigzag along it) with its maximum in the box, and on the same function whose
    maximum lies beyond a face, the search ends at the maximum (to 1e-7, where the axis
    compass alone stopped 1.5–5e-6 away), or on the face, in under 150 steps (the axis
    compass alone took 496–1,519 for the inner maxima)."""
    rng = np.random.default_rng(dimensions)
    tilt = rng.normal(size=(dimensions, dimensions))
    curvature = -(tilt @ tilt.T + 0.05 * np.eye(dimensions))  # negative definite, skewed
    for peak in (np.linspace(-0.3, 0.4, dimensions), np.full(dimensions, 1.5)):
        steps = 0

        def rate(x: np.ndarray, peak: np.ndarray = peak) -> np.ndarray:
            nonlocal steps
            steps += 1
            offset = x - peak
            return np.exp(0.5 * np.einsum("...i,ij,...j->...", offset, curvature, offset))

        axes = [np.linspace(-1.0, 1.0, 3)] * dimensions
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, dimensions)
        best, x = maximise_on_grid(rate, grid, [(-1.0, 1.0)] * dimensions)
        assert steps - 1 < 150, steps  # the grid is one call
        if np.all(np.abs(peak) < 1):
            np.testing.assert_allclose(x, peak, atol=1e-7)
            assert best == pytest.approx(1.0, abs=1e-9)
        else:  # the best point of the box: no axis move from it gains
            for i in range(dimensions):
                for sign in (-1e-4, 1e-4):
                    moved = x.copy()
                    moved[i] = np.clip(moved[i] + sign, -1.0, 1.0)
                    assert rate(moved) <= best * (1 + 1e-12)


def test_twin_field_optimum_is_the_scipy_optimum() -> None:
    eta = 10 ** (-np.array([10.0, 30.0, 50.0, 70.0, 90.0]) / 10)
    rate, _ = optimise_sns_tf_qkd(eta, 1e-8, 0.03)
    before = [2.996488853929049e-03, 2.468055606670535e-04, 2.41530663943837e-05,
              2.319672932999376e-06, 1.4712234276246045e-07]  # fmt: skip
    assert np.allclose(rate, before, rtol=OPTIMUM_RTOL, atol=0)
    rate, _ = optimise_sns_tf_qkd(eta, 1e-8, 0.03, mean_photon_number=0.2)
    before = [2.026649825458286e-03, 1.8782922196673843e-04, 1.8559019897695768e-05,
              1.774273869163706e-06, 1.0364912227786349e-07]  # fmt: skip
    assert np.allclose(rate, before, rtol=OPTIMUM_RTOL, atol=0)


#: Agreement asked of J0 with scipy.special.j0: absolute, J0 crossing zero. [unitless]
J0_ATOL = 1e-12


def test_j0_matches_scipy_on_both_sides_of_the_switch() -> None:
    x = np.concatenate((ARGUMENTS, np.linspace(0.0, 60.0, 6001), [1e5, 1e6]))
    assert np.allclose(bessel_j0(x), special.j0(x), rtol=0, atol=J0_ATOL)
    assert np.allclose(bessel_j0(-x), special.j0(x), rtol=0, atol=J0_ATOL)
    # First zero j_{0,1} = 2.404825557695773 (DLMF Table 10.21.1) and J0(0) = 1.
    assert abs(bessel_j0(2.404825557695773)) < 1e-15
    assert bessel_j0(0.0) == 1.0


@settings(max_examples=60, deadline=None)
@given(st.floats(0.0, 1e4))
def test_j0_is_bounded_and_equals_scipy(x: float) -> None:
    value = float(bessel_j0(x))
    assert -0.41 < value <= 1.0
    assert abs(value - float(special.j0(x))) <= J0_ATOL


def test_finite_key_bb84_optimum_is_the_nelder_mead_optimum() -> None:
    # The values scipy's Nelder-Mead gave before (qcalc 0.x, same inputs); the compass
    # search reaches the same flat maximum, never lower.
    eta = 10 ** (-np.array([10.0, 20.0, 30.0, 40.0]) / 10) * 0.6
    rate, _ = optimise_finite_key(eta, 1e-6, 0.01, 1e12)
    before = [0.011169498214324442, 0.0009717425435666497, 7.446485225477836e-05,
              2.7978330614907998e-06]  # fmt: skip
    assert np.allclose(rate, before, rtol=OPTIMUM_RTOL, atol=0)
    assert np.all(rate >= np.asarray(before) * (1 - 1e-12))
    rate, _ = optimise_finite_key(eta, 1e-6, 0.01, None, key_detections=1e7, one_decoy=True)
    before = [0.00617927946367586, 0.0006037844837235133, 5.631391468488959e-05,
              2.5223772220594125e-06]  # fmt: skip
    assert np.allclose(rate, before, rtol=OPTIMUM_RTOL, atol=0)


def test_normal_quantile_matches_tables_scipy_and_the_standard_library() -> None:
    """AS241 (Wichura, Appl. Stat. 37, 477 (1988)) in numpy: the table values z_0.975 =
    1.959963984540054 and z_0.25 = −0.6744897501960817, scipy.special.ndtri to 4e-15
    relative over 300 decades of tail, and ``statistics.NormalDist().inv_cdf`` (the same
    algorithm, one value at a time; its C build may fuse a multiply-add) to one ulp."""
    import statistics

    from qcalc.protocols.numerics import normal_quantile

    assert normal_quantile(0.975) == pytest.approx(1.959963984540054, rel=1e-15)
    assert normal_quantile(0.25) == pytest.approx(-0.6744897501960817, rel=1e-15)
    rng = np.random.default_rng(3)
    p = np.concatenate(
        [
            rng.random(20_000),
            10 ** -rng.uniform(0, 300, 20_000),
            1 - 10 ** -rng.uniform(0, 16, 2_000),
        ]
    )
    mine, theirs = normal_quantile(p), special.ndtri(p)
    assert np.allclose(mine, theirs, rtol=4e-15, atol=0.0)
    standard = statistics.NormalDist()
    for x in p[::97]:
        expected = standard.inv_cdf(float(x))
        assert abs(float(normal_quantile(x)) - expected) <= math.ulp(expected)
    edges = normal_quantile(np.array([0.0, 1.0, 0.5, -0.1, 1.1, np.nan]))
    assert edges[0] == -np.inf and edges[1] == np.inf and edges[2] == 0.0
    assert np.isnan(edges[3:]).all()


def test_normal_cdf_matches_scipy_in_both_tails() -> None:
    from qcalc.protocols.numerics import normal_cdf

    # Abramowitz & Stegun (1964) Table 26.1: Φ(1) = 0.8413447461, Φ(2) = 0.9772498681
    assert normal_cdf(1.0) == pytest.approx(0.8413447461, abs=1e-10)
    assert normal_cdf(2.0) == pytest.approx(0.9772498681, abs=1e-10)
    assert normal_cdf(-1.0) == pytest.approx(1 - 0.8413447461, abs=1e-10)
    for z in (-37.0, -20.0, -5.0, -1.0, 0.0, 0.3, 2.0, 8.0):
        assert normal_cdf(z) == pytest.approx(float(special.ndtr(z)), rel=1e-13)
    assert normal_cdf(-30.0) > 0.0  # the tail keeps its digits (erfc, not 1 + erf)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.sampled_from([0.0, -0.0, 1.0, math.nan]),
        ),
        max_size=40,
    )
)
def test_distinct_is_numpy_unique(values: list[float]) -> None:
    """numpy.unique without its import of numpy.ma: same values, same order, one NaN."""
    got, expected = distinct(np.array(values, dtype=float)), np.unique(np.array(values))
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == expected.dtype
    ints = np.array([int(v) for v in values if math.isfinite(v) and abs(v) < 1e15], dtype=np.int64)
    np.testing.assert_array_equal(distinct(ints), np.unique(ints))


def test_rate_of_every_bundled_scenario_loads_no_scipy_and_no_numpy_ma() -> None:
    """Issue 16: no scipy on the paths of `qcalc rate` of the bundled scenarios (the
    uncertain scenario's normal and lognormal draws used scipy.special's ndtr/ndtri), and
    no numpy.ma, which numpy.unique imports at its first call (10–20 ms): each scenario
    is run in turn in one process, and the first to load either is named."""
    import subprocess
    import sys
    from pathlib import Path

    scenarios = sorted((Path(__file__).resolve().parent.parent / "scenarios").glob("*.yaml"))
    code = (
        "import contextlib, io, sys\n"
        "from qcalc.cli import main\n"
        "for path in sys.argv[1:]:\n"
        "    sys.argv[1:] = ['rate', path]\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        try:\n            main()\n        except SystemExit:\n            pass\n"
        "    heavy = [m for m in sys.modules if m.split('.')[0] == 'scipy' or m == 'numpy.ma']\n"
        "    print(path, sorted(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, scenarios)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = done.stdout.strip().splitlines()
    assert len(lines) == len(scenarios), done.stderr[-2000:]
    assert [line for line in lines if not line.endswith(" []")] == []
