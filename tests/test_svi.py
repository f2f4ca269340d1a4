"""The SVI engine's direct ELBO: reparameterised draws and their density."""

import math

import numpy as np
import pyro.distributions as dist
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skbayes import BayesianLinearRegression
from skbayes.datasets import make_sparse_regression
from skbayes.inference.svi import rsample_gaussian


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 12), st.integers(0, 10_000), st.booleans())
def test_rsample_gaussian_density_equals_log_prob(dim, seed, full_rank):
    gen = torch.Generator().manual_seed(seed)
    loc = torch.randn(dim, generator=gen, dtype=torch.float64)
    if full_rank:
        a = torch.randn(dim, dim, generator=gen, dtype=torch.float64)
        cov = a @ a.T + 0.5 * torch.eye(dim, dtype=torch.float64)
        posterior = dist.MultivariateNormal(loc, scale_tril=torch.linalg.cholesky(cov))
    else:
        scale = torch.rand(dim, generator=gen, dtype=torch.float64) + 0.1
        posterior = dist.Normal(loc, scale).to_event(1)
    torch.manual_seed(seed)
    latent, log_q = rsample_gaussian(posterior, 4)
    assert latent.shape == (4, dim)
    np.testing.assert_allclose(log_q, posterior.log_prob(latent), rtol=1e-10)


def test_rsample_gaussian_density_stays_exact_when_ill_conditioned():
    # The d=500 failure: a float32 Cholesky factor with a tiny diagonal under
    # large off-diagonal terms. The density must come from the noise, in
    # closed form, not from a solve that loses every digit.
    dim = 300
    gen = torch.Generator().manual_seed(0)
    scale_tril = torch.tril(torch.randn(dim, dim, generator=gen), -1) * 3.0
    diag = torch.full((dim,), 1e-4)
    scale_tril = scale_tril + torch.diag(diag)
    posterior = dist.MultivariateNormal(torch.zeros(dim), scale_tril=scale_tril)
    torch.manual_seed(1)
    _, log_q = rsample_gaussian(posterior, 3)
    torch.manual_seed(1)
    eps = torch.randn(3, dim).double()
    expected = (
        -0.5 * eps.square().sum(-1)
        - diag.double().log().sum()
        - 0.5 * dim * math.log(2 * math.pi)
    )
    np.testing.assert_allclose(log_q.double(), expected, rtol=1e-5)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_intercept_is_exact_given_the_coefficients():
    X, y, _ = make_sparse_regression(60, 5, random_state=0)
    model = BayesianLinearRegression(num_steps=300, random_state=0).fit(X + 3.0, y)
    expected = y.mean() - (X + 3.0).mean(0) @ model.coef_
    assert model.intercept_ == pytest.approx(expected, abs=1e-9)
