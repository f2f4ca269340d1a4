"""Pólya-Gamma draws against the series representation and each other.

The references come from the representation of Polson, Scott and Windle
(2013),

    omega = (1 / (2 pi**2)) sum_k g_k / d_k,  d_k = (k - 1/2)**2 + z**2 / (4 pi**2),

with ``g_k ~ Gamma(1, 1)`` independent, so the n-th cumulant of PG(1, z) is
``(n - 1)! (2 pi**2)**-n sum_k d_k**-n``, summed here to a million terms.

Tolerances are in Monte Carlo standard errors computed from those exact
moments (never from one seed's draws), at 5 sd, so a correct sampler passes
with any seed and any CPU's stream of random numbers, while a wrong proposal
weight or a missing factor shows up as tens of standard errors.
"""

import functools
import math

import numpy as np
import pytest
import torch
from scipy import stats

from skbayes.inference.gibbs import _polya_gamma
from skbayes.inference.gibbs._polya_gamma import (
    polya_gamma_mean,
    polya_gamma_variance,
    sample_polya_gamma,
)

SEEDS = [0, 1, 2]
METHODS = ["torch", "numpy"]
# 0 and 0.5 and 1 and 3 exercise the torch sampler's chi-square route for the
# truncated inverse Gaussian (|z| / 2 < 1 / 0.64), 10 and 50 and 200 the
# plain inverse Gaussian route; 200 also polyagamma's "alternate" fallback.
Z_VALUES = [0.0, 0.5, 1.0, 3.0, 10.0, 50.0, 200.0]
# Two-sample KS tests reject at this p-value. With 3 seeds x 2 tests x 6 z
# values, a correct sampler fails one with probability under 4e-4.
KS_P = 1e-5
# Margins, in Monte Carlo standard deviations.
N_SD = 5.0


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@functools.cache  # each (z, order) is needed by several tests
def _series_cumulant(z: float, order: int, terms: int = 10**6) -> float:
    """The ``order``-th cumulant of PG(1, z) from the series representation.

    The sum is truncated after ``terms`` terms; the remainder, below
    ``sum_{k > K} k**(-2 order) ~ K**(1 - 2 order) / (2 order - 1)``, is
    added in that form (its error is O(z**2 K**(-1 - 2 order)), under 1e-14
    relative for the z used here).
    """
    k = np.arange(1, terms + 1, dtype=np.float64) - 0.5
    d = k * k + z * z / (4 * math.pi**2)
    total = np.sum(d ** (-order)) + terms ** (1 - 2 * order) / (2 * order - 1)
    return math.factorial(order - 1) * total / (2 * math.pi**2) ** order


def _series_draws(z: float, size: int, rng: np.random.Generator) -> np.ndarray:
    """Approximate PG(1, z) draws: the series to K = 400 terms, plus the tail's mean.

    The tail's mean is ``sum_{k > K} 1 / d_k``, about ``int_K^inf dx / (x**2 +
    s**2) = arctan(s / K) / s`` with ``s = |z| / (2 pi)`` (the midpoint rule,
    error O(K**-3)). The tail's sd, below ``(1 / (2 pi**2)) (1 / (3 K**3))**0.5
    = 3.6e-6``, is under 1.5% of PG(1, z)'s sd for every z used here (2.5e-4
    at z = 200), far below what a KS test of a few thousand draws resolves.
    """
    terms = 400
    k = np.arange(1, terms + 1, dtype=np.float64) - 0.5
    s = abs(z) / (2 * math.pi)
    d = k * k + s * s
    head = (rng.standard_exponential((size, terms)) / d).sum(axis=1)
    tail_mean = math.atan(s / terms) / s if s > 0 else 1 / terms
    return (head + tail_mean) / (2 * math.pi**2)


# -- closed-form moments ------------------------------------------------------


@pytest.mark.parametrize(
    "z", [0.0, 1e-6, 0.1, 0.3, 0.4999, 0.5, 0.5001, 1.0, 3.0, 10.0, 50.0, 200.0]
)
def test_moments_match_series(z):
    mean = polya_gamma_mean(torch.tensor(z, dtype=torch.float64)).item()
    var = polya_gamma_variance(torch.tensor(z, dtype=torch.float64)).item()
    # The million-term sums are accurate to about 1e-13 relative (rounding
    # in np.sum); the closed forms to a few ulp.
    assert mean == pytest.approx(_series_cumulant(z, 1), rel=1e-11)
    assert var == pytest.approx(_series_cumulant(z, 2), rel=1e-11)


def test_moments_limits_symmetry_and_dtype():
    assert polya_gamma_mean(torch.tensor(0.0)).item() == pytest.approx(0.25)
    assert polya_gamma_variance(torch.tensor(0.0)).item() == pytest.approx(1 / 24)
    z = torch.tensor([-3.0, -0.2, 0.2, 3.0], dtype=torch.float64)
    torch.testing.assert_close(polya_gamma_mean(z), polya_gamma_mean(-z))
    torch.testing.assert_close(polya_gamma_variance(z), polya_gamma_variance(-z))
    # Continuous across the switch from series to closed form at |z| = 0.5.
    edge = torch.tensor([0.5 - 1e-12, 0.5 + 1e-12], dtype=torch.float64)
    for f in (polya_gamma_mean, polya_gamma_variance):
        lo, hi = f(edge).tolist()
        assert lo == pytest.approx(hi, rel=1e-11)
    # Large |z|: 1 / (2 |z|) and 1 / (2 |z|**3) to leading order, and finite
    # where cosh(z / 2) overflows.
    big = torch.tensor([1e3, 1e6], dtype=torch.float64)
    torch.testing.assert_close(polya_gamma_mean(big), 1 / (2 * big))
    torch.testing.assert_close(polya_gamma_variance(big), 1 / (2 * big**3))
    assert polya_gamma_mean(torch.zeros(2, 3, dtype=torch.float32)).dtype == (
        torch.float32
    )
    assert polya_gamma_variance(torch.zeros(2, 3)).shape == (2, 3)


# -- draws: moments -----------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", SEEDS)
def test_sample_mean_and_variance(method, seed):
    n = 40_000
    # All z in one call, so that elements on different code paths share the
    # accept-reject rounds, as they do in a Gibbs sweep.
    z = torch.tensor(Z_VALUES, dtype=torch.float64).repeat_interleave(n)
    draws = sample_polya_gamma(z, _generator(seed), method=method)
    draws = draws.reshape(len(Z_VALUES), n)
    for row, z_value in zip(draws, Z_VALUES, strict=True):
        var = _series_cumulant(z_value, 2)
        kappa4 = _series_cumulant(z_value, 4)
        # The sd of a mean of n draws is sqrt(Var / n). The sd of the sample
        # variance is sqrt((mu4 - Var**2) / n) to O(1 / n), and mu4 - Var**2 =
        # kappa4 + 2 Var**2. At z = 0, for example, Var = 1/24 and kappa4 =
        # 6 (2 pi**2)**-4 sum (k - 1/2)**-8 = 0.0101, so the sds are 1.0e-3 and
        # 5.8e-4 for n = 40000, against a mean of 0.25 and variance of 0.0417;
        # the margins are 5 of those sds (a two-sided 6e-7 chance each).
        mean_sd = math.sqrt(var / n)
        var_sd = math.sqrt((kappa4 + 2 * var**2) / n)
        mean = polya_gamma_mean(torch.tensor(z_value)).item()
        assert abs(row.mean().item() - mean) < N_SD * mean_sd, z_value
        expected_var = polya_gamma_variance(torch.tensor(z_value)).item()
        assert abs(row.var().item() - expected_var) < N_SD * var_sd, z_value


# -- draws: whole distributions ---------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_methods_agree_with_series_and_each_other(seed):
    n = 5_000
    rng = np.random.default_rng(seed)
    g = _generator(seed)
    for z_value in [0.0, 1.0, 3.0, 10.0, 50.0, 200.0]:
        z = torch.full((n,), z_value, dtype=torch.float64)
        by_torch = sample_polya_gamma(z, g, method="torch").numpy()
        by_numpy = sample_polya_gamma(z, g, method="numpy").numpy()
        reference = _series_draws(z_value, n, rng)
        assert stats.ks_2samp(by_torch, by_numpy).pvalue > KS_P, z_value
        assert stats.ks_2samp(by_torch, reference).pvalue > KS_P, z_value


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", SEEDS)
def test_negative_z_is_the_same_distribution(method, seed):
    # PG(1, z) depends on |z| only, and both samplers use |z|, so the same
    # generator state gives the very same draws.
    z = torch.tensor([0.3, 1.0, 4.0, 25.0, 150.0], dtype=torch.float64).repeat(200)
    pos = sample_polya_gamma(z, _generator(seed), method=method)
    neg = sample_polya_gamma(-z, _generator(seed), method=method)
    torch.testing.assert_close(pos, neg, rtol=0, atol=0)


def test_very_large_z():
    # Draws concentrate near the mean 1 / (2 |z|), with sd sqrt(1 / (2 |z|**3)).
    n = 20_000
    for method in METHODS:
        for z_value in [1e3, 1e5]:
            z = torch.full((n,), -z_value, dtype=torch.float64)
            draws = sample_polya_gamma(z, _generator(0), method=method)
            sd = math.sqrt(polya_gamma_variance(torch.tensor(z_value)).item() / n)
            mean = polya_gamma_mean(torch.tensor(z_value)).item()
            assert abs(draws.mean().item() - mean) < N_SD * sd, (method, z_value)
            assert bool((draws > 0).all())


# -- reproducibility, RNG hygiene, shapes ------------------------------------


@pytest.mark.parametrize("method", ["torch", "numpy", "auto"])
def test_reproducible_and_global_rng_untouched(method):
    z = torch.linspace(-20, 20, 101, dtype=torch.float64)
    torch_state = torch.get_rng_state()
    # The legacy global state is what must stay untouched.
    numpy_state = np.random.get_state()  # noqa: NPY002
    first = sample_polya_gamma(z, _generator(7), method=method)
    again = sample_polya_gamma(z, _generator(7), method=method)
    other = sample_polya_gamma(z, _generator(8), method=method)
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    assert not torch.equal(first, other)
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == numpy_state[0]
    np.testing.assert_array_equal(after[1], numpy_state[1])
    assert after[2:] == numpy_state[2:]


def test_generator_advances():
    g = _generator(3)
    z = torch.ones(50, dtype=torch.float64)
    for method in METHODS:
        first = sample_polya_gamma(z, g, method=method)
        second = sample_polya_gamma(z, g, method=method)
        assert not torch.equal(first, second)


def test_auto_is_numpy_on_cpu():
    z = torch.linspace(0, 5, 30, dtype=torch.float64)
    auto = sample_polya_gamma(z, _generator(11))
    numpy = sample_polya_gamma(z, _generator(11), method="numpy")
    torch.testing.assert_close(auto, numpy, rtol=0, atol=0)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shape_and_dtype_preserved(method, dtype):
    g = _generator(0)
    for shape in [(), (1,), (3, 4, 5), (0, 2)]:
        z = torch.full(shape, 2.0, dtype=dtype)
        draws = sample_polya_gamma(z, g, method=method)
        assert draws.shape == z.shape
        assert draws.dtype == dtype
        assert draws.device == z.device
        assert bool((draws > 0).all()) and bool(torch.isfinite(draws).all())


def test_integer_z_gives_float64():
    draws = sample_polya_gamma(torch.tensor([0, 1, 2]), _generator(0), method="torch")
    assert draws.dtype == torch.float64


# -- errors ---------------------------------------------------------------------


def test_bad_input():
    g = _generator(0)
    with pytest.raises(ValueError, match="method"):
        sample_polya_gamma(torch.ones(3), g, method="gibbs")
    for bad in (math.nan, math.inf):
        with pytest.raises(ValueError, match="finite"):
            sample_polya_gamma(torch.tensor([1.0, bad]), g, method="torch")


def test_missing_polyagamma(monkeypatch):
    # A None entry in sys.modules makes `import polyagamma` raise ImportError.
    monkeypatch.setitem(__import__("sys").modules, "polyagamma", None)
    z = torch.ones(4, dtype=torch.float64)
    with pytest.raises(ImportError, match="pip install polyagamma"):
        sample_polya_gamma(z, _generator(0), method="numpy")
    # "auto" falls back to the torch sampler.
    auto = sample_polya_gamma(z, _generator(0))
    by_torch = sample_polya_gamma(z, _generator(0), method="torch")
    torch.testing.assert_close(auto, by_torch, rtol=0, atol=0)


def test_safety_cap_raises(monkeypatch):
    monkeypatch.setattr(_polya_gamma, "_MAX_ROUNDS", 0)
    with pytest.raises(RuntimeError, match="rounds"):
        sample_polya_gamma(torch.ones(3), _generator(0), method="torch")
