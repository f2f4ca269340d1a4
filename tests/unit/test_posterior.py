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


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_effective_sample_size_of_an_ar1_chain(seed):
    # AR(1) with rho = 0.5: integrated autocorrelation time (1 + rho) / (1 - rho)
    # = 3, so 4 chains of 5,000 give 20,000 / 3 = 6,667 effective draws.
    # Measured over 200 seeds: mean 6,647, sd 246 (3.7%); 15% is 4 sds.
    g = torch.Generator().manual_seed(seed)
    eps = torch.randn(4, 5000, generator=g, dtype=torch.float64)
    x = torch.empty_like(eps)
    x[:, 0] = eps[:, 0]
    for t in range(1, 5000):
        x[:, t] = 0.5 * x[:, t - 1] + 0.75**0.5 * eps[:, t]
    assert float(effective_sample_size(x)) == pytest.approx(20_000 / 3, rel=0.15)


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
