"""The logistic model: its log densities equal Pyro's, and its data and start."""

import numpy as np
import pyro
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pyro import poutine
from sklearn.linear_model import LogisticRegression

from skbayes.models import BayesianModule, LogisticData, LogisticRegressionModel
from skbayes.models.logistic import posterior_mode
from skbayes.priors import Horseshoe, Laplace, Normal, RegularizedHorseshoe, StudentT

PRIORS = [
    Normal(2.5),
    Laplace(0.5),
    StudentT(3.0, 1.0),
    Horseshoe(1.0),
    Horseshoe(0.5, centered=True),
    RegularizedHorseshoe(expected_nonzero=2),
    RegularizedHorseshoe(global_scale=0.3, centered=True),
]


def _data(gen, n, d, n_classes):
    X = torch.randn(n, d, generator=gen, dtype=torch.float64)
    y = torch.randint(n_classes, (n,), generator=gen)
    weight = torch.randint(0, 3, (n,), generator=gen).double()
    return X, y, weight


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(PRIORS),
    st.sampled_from([2, 3]),
    st.booleans(),
    st.sampled_from([(), (3,)]),
    st.integers(0, 10_000),
)
def test_closed_form_log_density_equals_its_definition_and_pyro(
    prior, n_classes, fit_intercept, batch, seed
):
    # log_density (the closed form SVI and NUTS use) must be
    # BayesianModule.log_density in value and gradient, for a batch of draws
    # or one, with row weights (zeros included) and minibatch scaling (12 of
    # 20 rows); and log_joint must be the Pyro trace's log_prob_sum.
    gen = torch.Generator().manual_seed(seed)
    X, y, weight = _data(gen, 12, 3, n_classes)
    model = LogisticRegressionModel(
        prior.validate(), 3, 20, n_classes=n_classes, fit_intercept=fit_intercept
    )
    sites = model.prior_sites()
    unconstrained = {
        name: (torch.randn((*batch, *site.shape()), generator=gen))
        .double()
        .requires_grad_()
        for name, site in sites.items()
    }
    closed_form = model.log_density(unconstrained, X, y, weight)
    definition = BayesianModule.log_density(model, unconstrained, X, y, weight)
    torch.testing.assert_close(closed_form, definition)
    assert closed_form.shape == batch
    leaves = list(unconstrained.values())
    grads = torch.autograd.grad(closed_form.sum(), leaves)
    expected = torch.autograd.grad(definition.sum(), leaves)
    for got, want in zip(grads, expected, strict=True):
        torch.testing.assert_close(got, want)

    with pyro.get_param_store().scope(), torch.random.fork_rng():
        torch.manual_seed(seed)
        values = {}
        for name in sites:
            values[name] = model.prior_sites(values)[name].sample()
        conditioned = poutine.condition(model, data=values)
        trace = poutine.trace(conditioned).get_trace(X, y, weight)
        torch.testing.assert_close(
            model.log_joint(values, X, y, weight), trace.log_prob_sum()
        )


def test_binary_likelihood_by_hand():
    X = torch.tensor([[1.0, 2.0], [-1.0, 0.5], [0.0, -1.0]], dtype=torch.float64)
    y = torch.tensor([1, 0, 1])
    weight = torch.tensor([1.0, 2.0, 0.0], dtype=torch.float64)
    model = LogisticRegressionModel(Normal(1.0), 2, 3)
    values = {
        "intercept": torch.tensor(0.3, dtype=torch.float64),
        "coef": torch.tensor([0.5, -1.0], dtype=torch.float64),
    }
    eta = X.numpy() @ [0.5, -1.0] + 0.3
    expected = np.log(1 / (1 + np.exp(-eta[0]))) + 2 * np.log(1 / (1 + np.exp(eta[1])))
    assert float(model.log_likelihood(values, X, y, weight)) == pytest.approx(expected)


def test_data_merge_duplicates_and_standardise():
    X = np.array([[1.0, 5.0], [3.0, 5.0], [1.0, 5.0], [2.0, 5.0]])
    labels = np.array([0, 1, 0, 1])
    data = LogisticData.from_arrays(
        X,
        labels,
        n_classes=2,
        fit_intercept=True,
        autoscale=True,
        dtype=torch.float64,
        sample_weight=np.array([1.0, 1.0, 2.0, 0.0]),
    )
    _, y, weight = data.arrays
    # Rows 0 and 2 merge (weight 3); row 3 (weight 0) is dropped.
    assert sorted(weight.tolist()) == [1.0, 3.0]
    assert data.n_observations == 4.0
    # Weighted mean (1 * 3 + 3 * 1) / 4 = 1.5 and sd sqrt(0.75); the constant
    # column keeps sd 1.
    np.testing.assert_allclose(data.x_mean, [1.5, 5.0])
    np.testing.assert_allclose(data.x_scale, [np.sqrt(0.75), 1.0])
    assert y.dtype == torch.long


@pytest.mark.parametrize("n_classes", [2, 3])
def test_posterior_mode_is_sklearns_penalised_fit(n_classes):
    # Under Normal(0, s**2) coefficients and a very wide intercept prior the
    # mode is L2-penalised logistic regression with C = s**2.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X @ [1.0, -2.0, 0.5] + rng.logistic(size=120) > 0).astype(int)
    if n_classes == 3:
        y = y + (X[:, 2] > 0.8)
    data = LogisticData.from_arrays(
        X,
        y,
        n_classes=n_classes,
        fit_intercept=True,
        autoscale=False,
        dtype=torch.float64,
    )
    n_vectors = 1 if n_classes == 2 else n_classes
    theta, covariance = posterior_mode(
        data, 1.5, 1e4, fit_intercept=True, n_vectors=n_vectors
    )
    sk = LogisticRegression(C=1.5**2, tol=1e-12, max_iter=10_000).fit(X, y)
    coef = theta[:, :-1].numpy()
    # sklearn's multinomial coefficients are identified by the penalty; so
    # are ours, since the intercepts' prior is flat to within 1e-8.
    np.testing.assert_allclose(coef, sk.coef_, atol=2e-5)
    assert covariance.shape == (n_vectors * 4, n_vectors * 4)
    assert bool((torch.linalg.eigvalsh(covariance) > 0).all())
