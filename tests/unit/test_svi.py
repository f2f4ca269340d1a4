"""The SVI engine: reparameterised draws, the direct ELBO, Adam, and its guides."""

import math
import warnings

import numpy as np
import pyro.distributions as dist
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pyro.infer import Trace_ELBO
from pyro.infer.autoguide import (
    AutoDiagonalNormal,
    AutoLowRankMultivariateNormal,
    AutoMultivariateNormal,
    AutoNormal,
)

from skbayes import BayesianLinearRegression
from skbayes._runtime import isolated_run
from skbayes.datasets import make_sparse_regression
from skbayes.inference._gaussian import gaussian_sampler, rsample_gaussian
from skbayes.inference.svi import Adam, direct_elbo
from skbayes.models import LinearRegressionModel
from skbayes.priors import Horseshoe

from .._references import stack


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


GAUSSIAN_AUTOGUIDES = {
    "diagonal": AutoDiagonalNormal,
    "mvn": AutoMultivariateNormal,
    "lowrank": AutoLowRankMultivariateNormal,
}


@settings(max_examples=15, deadline=None)
@given(
    st.sampled_from(sorted(GAUSSIAN_AUTOGUIDES)),
    st.integers(1, 4),
    st.integers(0, 10_000),
    st.sampled_from(["prior", "point"]),
)
def test_gaussian_sampler_is_the_guides_posterior(name, d, seed, noise):
    # The fast sampler reads the guide's leaves directly: its entropy must be
    # the guide's, and its draws must have the guide's mean and covariance,
    # after the parameters have moved away from their (structured) start.
    prior = Horseshoe(centered=True)
    model = LinearRegressionModel(prior, n_features=d, n_samples=5, noise=noise)
    X = torch.randn(5, d, dtype=torch.float64)
    y = torch.randn(5, dtype=torch.float64)
    with isolated_run(seed=seed, device=torch.device("cpu")), torch.no_grad():
        guide = GAUSSIAN_AUTOGUIDES[name](model)
        guide(X, y)
        for param in guide.parameters():
            param.add_(0.3 * torch.randn_like(param))
        sample = gaussian_sampler(guide, (X, y))
        unconstrained, entropy = sample(40_000)
        posterior = guide.get_posterior()
    assert list(unconstrained) == list(model.prior_sites())
    latent = torch.cat([u.reshape(40_000, -1) for u in unconstrained.values()], -1)
    torch.testing.assert_close(entropy, posterior.entropy())
    if isinstance(posterior, dist.Independent):  # the diagonal guide
        cov = torch.diag(posterior.variance)
    else:
        cov = posterior.covariance_matrix
    cov, mean = cov.detach(), posterior.mean.detach()
    sd = cov.diagonal().sqrt()
    # Monte Carlo error of 40,000 draws: 1 / sqrt(40,000) = 0.005 sd for the
    # means, at most 0.005 for correlations. Hypothesis makes up to 15
    # examples of up to 6 means each, 90 comparisons a run: at 4 sds one
    # fails with probability 90 * 6e-5 = 0.6% (it did, at 4.1 sds), so the
    # means get 5 sds (90 * 6e-7 = 5e-5) and the correlations 8.
    np.testing.assert_allclose((latent.mean(0) - mean) / sd, 0, atol=0.025)
    corr = torch.cov(latent.T) / torch.outer(sd, sd)
    np.testing.assert_allclose(corr, cov / torch.outer(sd, sd), atol=0.04)


def test_gaussian_sampler_declines_guides_it_does_not_know():
    model = LinearRegressionModel(Horseshoe(centered=True), n_features=2, n_samples=3)
    X, y = torch.randn(3, 2, dtype=torch.float64), torch.randn(3, dtype=torch.float64)

    class Wider(AutoDiagonalNormal):
        def get_posterior(self, *args, **kwargs):
            return dist.Normal(self.loc, 2 * self.scale).to_event(1)

    with isolated_run(seed=0, device=torch.device("cpu")):
        for guide in (AutoNormal(model), Wider(model)):
            guide(X, y)
            assert gaussian_sampler(guide, (X, y)) is None


def test_direct_elbo_equals_pyro_trace_elbo_in_expectation():
    # Same objective, different estimators: closed-form entropy against
    # Pyro's Trace_ELBO, each averaged over many particles. (The models are
    # not written for Pyro's vectorised particles, so Trace_ELBO loops.)
    model = LinearRegressionModel(Horseshoe(centered=True), n_features=3, n_samples=6)
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(6, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(6, generator=gen, dtype=torch.float64)
    with isolated_run(seed=0, device=torch.device("cpu")), torch.no_grad():
        guide = AutoLowRankMultivariateNormal(model, rank=1)
        guide(X, y)
        direct = float(direct_elbo(model, guide, (X, y))((X, y), 100_000))
        reference = -Trace_ELBO(num_particles=1000).loss(model, guide, X, y)
    # Trace_ELBO's standard error here is about 0.063 (sd 2 per particle over
    # 1000 particles); the margin is 4 of them. The direct estimate's own error
    # (100,000 particles, entropy exact) is a tenth of that.
    assert direct == pytest.approx(reference, abs=0.25)


def test_own_adam_follows_torch_adam_exactly():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(5, 5, generator=gen, dtype=torch.float64)
    curvature = a @ a.T + torch.eye(5, dtype=torch.float64)
    start = torch.randn(5, generator=gen, dtype=torch.float64)
    ours = [start.clone().requires_grad_(), torch.zeros((), dtype=torch.float64)]
    ours[1].requires_grad_()
    theirs = [p.detach().clone().requires_grad_() for p in ours]
    own, reference = Adam(ours, lr=0.05), torch.optim.Adam(theirs, lr=0.05)
    for step in range(400):
        if step == 200:  # the stopping rule's learning-rate cut
            own.lr = 0.01
            reference.param_groups[0]["lr"] = 0.01
        for (x, s), optimizer in ((ours, own), (theirs, reference)):
            optimizer.zero_grad()
            (x @ curvature @ x + torch.exp(s) - 2 * s + x.sin().sum()).backward()
            optimizer.step()
    for mine, torchs in zip(ours, theirs, strict=True):
        torch.testing.assert_close(mine, torchs, rtol=1e-12, atol=1e-12)
    assert torch.linalg.vector_norm(theirs[0]) < 1.0  # it did move


# -- fits against the exact posterior -------------------------------------------


def test_svi_mvn_matches_gibbs(small_problem, reference):
    est = BayesianLinearRegression(random_state=0).fit(*small_problem)
    ref_mean, ref_sd = reference
    draws = stack(est)
    assert np.all(np.abs(draws.mean(0) - ref_mean) < 0.3 * ref_sd)
    np.testing.assert_allclose(est.coef_, ref_mean[:3], atol=0.3 * ref_sd[:3].max())
    assert est.intercept_ == pytest.approx(ref_mean[3], abs=0.3 * ref_sd[3])


def test_normal_svi_reaches_the_exact_posterior_when_d_equals_n():
    # Started from a ridge guess, SVI stalled with the noise scale at 3-4
    # (exact posterior mean 1.16) and coefficients 0.54 (RMSE) away from the
    # exact posterior mean; started from the conjugate answer it lands near it.
    X, y, _ = make_sparse_regression(50, 50, n_nonzero=25, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        svi = BayesianLinearRegression(random_state=0).fit(X, y)
        gibbs = BayesianLinearRegression(
            inference="gibbs", num_chains=2, random_state=0
        ).fit(X, y)
    gap = np.sqrt(np.mean((svi.coef_ - gibbs.coef_) ** 2))
    assert gap < 0.15, gap
    sigma_svi = svi.posterior_samples_["noise_scale"].mean()
    sigma_exact = gibbs.posterior_samples_["noise_scale"].mean()
    assert abs(np.log(sigma_svi / sigma_exact)) < 0.4, (sigma_svi, sigma_exact)
