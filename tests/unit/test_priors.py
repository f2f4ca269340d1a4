"""Coefficient priors: their closed-form densities are right and stay finite."""

import numpy as np
import pyro.distributions as dist
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

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
