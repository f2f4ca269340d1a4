"""The posterior module's diagnostics against Pyro's and closed forms."""

import numpy as np
import pytest
import torch
from pyro.ops.stats import effective_sample_size as pyro_effective_sample_size

from skbayes.posterior import PosteriorSummary, effective_sample_size


@pytest.mark.parametrize("shape", [(1, 100), (2, 1001), (4, 500, 3), (2, 7)])
def test_effective_sample_size_is_pyros_estimator(shape):
    g = torch.Generator().manual_seed(sum(shape))
    noise = torch.randn(shape, generator=g, dtype=torch.float64)
    walk = 0.1 * torch.randn(shape, generator=g, dtype=torch.float64).cumsum(1)
    draws = noise + walk
    expected = pyro_effective_sample_size(draws, chain_dim=0, sample_dim=1)
    torch.testing.assert_close(effective_sample_size(draws), expected)


@pytest.mark.parametrize("rho", [0.0, 0.9, 0.995])
@pytest.mark.parametrize("chains", [1, 3])
def test_effective_sample_size_is_pyros_however_many_lags_it_needs(rho, chains):
    # rho = 0.995 needs hundreds of lags, past the ones summed directly:
    # those quantities take the Fourier transforms. A constant quantity
    # (zero variance) gives NaN (Pyro's gives NaN for every quantity beside
    # it, so it is compared on the others alone).
    g = torch.Generator().manual_seed(chains)
    eps = torch.randn(chains, 2000, 3, generator=g, dtype=torch.float64)
    x = torch.empty_like(eps)
    x[:, 0] = eps[:, 0]
    for t in range(1, 2000):
        x[:, t] = rho * x[:, t - 1] + eps[:, t]
    x[..., 2] = 1.0
    expected = pyro_effective_sample_size(x[..., :2], chain_dim=0, sample_dim=1)
    ours = effective_sample_size(x)
    torch.testing.assert_close(ours[:2], expected)
    assert bool(torch.isnan(ours[2]))


def test_mcmc_diagnostics_are_pyros_for_every_site():
    from pyro.ops.stats import split_gelman_rubin

    from skbayes.posterior import mcmc_diagnostics

    rng = np.random.default_rng(0)
    walk = 0.05 * rng.normal(size=(2, 801, 3, 2)).cumsum(1)
    sites = {"a": walk + rng.normal(size=walk.shape), "b": rng.normal(size=(2, 801))}
    n_eff, r_hat = mcmc_diagnostics(sites)
    for name, value in sites.items():
        value = torch.as_tensor(value)
        expected = pyro_effective_sample_size(value, chain_dim=0, sample_dim=1)
        np.testing.assert_allclose(n_eff[name], expected.numpy(), rtol=1e-10)
        expected = split_gelman_rubin(value, chain_dim=0, sample_dim=1)
        np.testing.assert_allclose(r_hat[name], expected.numpy(), rtol=1e-12)


def _ar1(rho, shape, seed, innovation_sd=1.0):
    """Chains of ``x_t = rho x_(t-1) + innovation_sd * eps_t``, shape (chains, n)."""
    g = torch.Generator().manual_seed(seed)
    eps = torch.randn(shape, generator=g, dtype=torch.float64)
    x = torch.empty_like(eps)
    x[:, 0] = eps[:, 0]
    for t in range(1, shape[1]):
        x[:, t] = rho * x[:, t - 1] + innovation_sd * eps[:, t]
    return x


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_effective_sample_size_of_an_ar1_chain(seed):
    # AR(1) with rho = 0.5: integrated autocorrelation time (1 + rho) / (1 - rho)
    # = 3, so 4 chains of 5,000 give 20,000 / 3 = 6,667 effective draws.
    # Measured over 200 seeds: mean 6,647, sd 246 (3.7%); 15% is 4 sds.
    x = _ar1(0.5, (4, 5000), seed, innovation_sd=0.75**0.5)
    assert float(effective_sample_size(x)) == pytest.approx(20_000 / 3, rel=0.15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_effective_sample_size_is_capped_as_stans(seed):
    # AR(1) with rho = -0.9: lags 0 and 1 sum to about 0.1, so Geyer's
    # autocorrelation time -1 + 2 * 0.1 is about -0.8 (its sd over seeds is
    # about 0.02) and Pyro's estimate is negative. Stan caps the estimate at
    # N log10(N) draws, here 2 x 1000 x log10(2000) = 6,602.
    x = _ar1(-0.9, (2, 1000), seed)
    assert float(pyro_effective_sample_size(x, chain_dim=0, sample_dim=1)) < 0
    assert float(effective_sample_size(x)) == pytest.approx(2000 * np.log10(2000))


def test_summary_columns_never_run_together():
    table = PosteriorSummary(
        ["mean", "97.5%"],
        {"intercept": np.array([-0.2958, -0.0007138]), "coef[x]": np.array([1, 2])},
    )
    lines = repr(table).splitlines()
    # Every value stays its own whitespace-separated token.
    assert [line.split() for line in lines[1:]] == [
        ["intercept", "-0.2958", "-0.0007138"],
        ["coef[x]", "1", "2"],
    ]
    assert len({len(line) for line in lines}) == 1  # aligned
