"""Coefficient priors: their closed-form densities are right and stay finite."""

import numpy as np
import pyro.distributions as dist
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skbayes import BayesianLinearRegression
from skbayes.priors import Horseshoe
from skbayes.priors._base import _HalfCauchy


@settings(max_examples=25, deadline=None)
@given(
    st.floats(1e-3, 1e3),
    st.lists(st.floats(1e-6, 1e6), min_size=1, max_size=5),
)
def test_closed_form_half_cauchy_matches_torch(scale, values):
    scale = torch.tensor(scale, dtype=torch.float64)
    x = torch.tensor(values, dtype=torch.float64)
    np.testing.assert_allclose(
        _HalfCauchy(scale).log_prob(x), dist.HalfCauchy(scale).log_prob(x), rtol=1e-10
    )


def test_horseshoe_log_density_stays_finite_far_out():
    # softplus, not log1p(exp(2u)): a log-scale of 400 must not overflow.
    prior = Horseshoe(centered=True).validate()
    big = torch.tensor([400.0, -400.0], dtype=torch.float64)
    log_p, _ = prior.log_density(
        {"tau": big, "lambda": big.unsqueeze(-1), "coef": torch.ones(2, 1).double()},
        n_features=1,
        like=big,
    )
    assert torch.isfinite(log_p[0])


class _SubclassedHorseshoe(Horseshoe):
    """A user's horseshoe subclass that changes nothing but its name."""


def test_a_horseshoe_subclass_keeps_every_fast_path():
    # Capabilities are declared by the prior, not found by testing its class,
    # so a subclass inherits the Gibbs kernel, the fused SVI density and the
    # NUTS whitening of its parent.
    from skbayes.models import LinearData, LinearRegressionModel
    from skbayes.models.whitening import ScaleMixtureConditionalWhitening

    prior = _SubclassedHorseshoe(centered=None)
    assert prior.gibbs_kernel == "horseshoe"
    assert prior.with_parameterization(True).fused_density == "centred_horseshoe"
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 3)), rng.normal(size=12)
    data = LinearData.from_arrays(X, y, fit_intercept=True, dtype=torch.float64)
    model = LinearRegressionModel(prior.with_parameterization(False), 3, 12)
    whitening = model.nuts_reparameterization(data)
    assert isinstance(whitening, ScaleMixtureConditionalWhitening)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_gibbs_samples_a_horseshoe_subclass_as_the_horseshoe(small_problem):
    kwargs = dict(inference="gibbs", num_samples=200, num_warmup=100, random_state=0)
    parent = BayesianLinearRegression(prior=Horseshoe(), **kwargs).fit(*small_problem)
    child = BayesianLinearRegression(prior=_SubclassedHorseshoe(), **kwargs)
    child.fit(*small_problem)
    np.testing.assert_array_equal(
        child.posterior_samples_["coef"], parent.posterior_samples_["coef"]
    )
