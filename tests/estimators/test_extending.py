"""The extension points: a prior and an engine written outside skbayes.

Both are defined here, as a user would write them, and fitted through the
estimators; docs/extending.md shows the same code.
"""

import warnings

import numpy as np
import pyro.distributions as dist
import pytest
import torch
from sklearn.base import clone

from skbayes import BayesianLinearRegression, BetaBernoulliEstimator
from skbayes.inference import (
    ENGINES,
    InferenceEngine,
    InferenceResult,
    register_engine,
)
from skbayes.models import constrain, unconstrain
from skbayes.priors import CoefPrior

from ..conftest import Z_TOL, mean_sd_and_errors


class Uniform(CoefPrior):
    """Independent ``Uniform(-width / 2, width / 2)`` coefficients."""

    def __init__(self, width=1.0):
        self.width = width

    def latent_sites(self, n_features, *, like, **context):
        half = like.new_full((n_features,), self.width / 2)
        return {"coef": dist.Uniform(-half, half).to_event(1)}


class RandomWalkMetropolis(InferenceEngine):
    """Gaussian random-walk Metropolis on the model's unconstrained density."""

    name, display_name, kind = "random_walk", "random-walk Metropolis", "mcmc"
    step_size = 0.3

    def run(self, model, data, settings):
        start = model.start(data)
        model = model.configured(centered=self.centered, start=start)
        sites = model.prior_sites()
        x = unconstrain(model.initial_values(start), sites)
        arguments = data.arguments()
        log_p = model.log_density(x, *arguments)
        kept = []
        for step in range(settings.num_warmup + settings.num_samples):
            proposal = {
                k: v + self.step_size * torch.randn_like(v) for k, v in x.items()
            }
            log_q = model.log_density(proposal, *arguments)
            if torch.rand(()).log() < log_q - log_p:
                x, log_p = proposal, log_q
            if step >= settings.num_warmup:
                kept.append(x)
        chain = {name: torch.stack([draw[name] for draw in kept]) for name in sites}
        samples, _ = constrain(chain, sites)
        return InferenceResult(
            self.kind,
            model,
            {name: value[None] for name, value in samples.items()},
            self.display_name,
        )


@pytest.fixture
def random_walk_engine():
    register_engine(RandomWalkMetropolis)
    yield RandomWalkMetropolis
    del ENGINES[RandomWalkMetropolis.name]


@pytest.mark.slow
def test_a_new_engine_samples_the_exact_beta_posterior(coin_flips, random_walk_engine):
    est = BetaBernoulliEstimator(
        inference="random_walk", num_samples=6000, num_warmup=500, random_state=0
    ).fit(coin_flips)
    assert est.posterior_.engine == "random-walk Metropolis"
    draws = est.posterior_samples_["p"]
    mean, sd, se_mean, se_sd = mean_sd_and_errors(draws[None])
    a, b = est.posterior_alpha_, est.posterior_beta_
    exact_mean = a / (a + b)
    exact_sd = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    # Margins in Monte Carlo errors from the chain's own ESS (about 1,000 of
    # the 6,000 draws at this step size); over seeds 0-11 the worst |z| was
    # 2.0 for the mean and 1.7 for the sd.
    assert np.all(np.abs(mean - exact_mean) < Z_TOL * se_mean)
    assert np.all(np.abs(sd - exact_sd) < Z_TOL * se_sd)
    # Stored chains are resampled, as for NUTS and Gibbs.
    assert est.sample_posterior(10, random_state=0)["p"].shape == (10,)


def test_an_unregistered_engine_is_refused_by_name(coin_flips):
    with pytest.raises(ValueError, match="'inference' parameter"):
        BetaBernoulliEstimator(inference="random_walk").fit(coin_flips)


@pytest.mark.parametrize("inference", ["svi", "nuts"])
def test_a_new_prior_fits_with_svi_and_nuts(inference):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = X @ np.array([1.0, -0.5]) + 0.3 * rng.normal(size=60)
    est = BayesianLinearRegression(
        prior=Uniform(width=10.0),
        inference=inference,
        num_samples=500,
        num_warmup=300,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short chains; accuracy is checked below
        est.fit(X, y)
    # Inside a flat prior's support the posterior mean is least squares'.
    # Margin: half a posterior sd (about 0.04). NUTS's 500 draws have an MC
    # error of about 0.06 sd, so that is over 8 MC errors; SVI's error is its
    # optimiser's, which over seeds 0-9 left the mean up to 0.33 sd away
    # (NUTS: 0.09 sd).
    design = np.column_stack([X, np.ones(60)])
    least_squares = np.linalg.lstsq(design, y, rcond=None)[0][:2]
    sd = est.posterior_samples_["coef"].std(0)
    assert np.all(np.abs(est.coef_ - least_squares) < 0.5 * sd)
    assert clone(est).prior.width == 10.0


def test_a_new_prior_has_no_gibbs_sampler():
    X, y = np.eye(3), np.ones(3)
    with pytest.raises(ValueError, match="no sampler for the Uniform prior"):
        BayesianLinearRegression(prior=Uniform(), inference="gibbs").fit(X, y)
