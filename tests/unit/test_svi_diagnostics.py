"""SVI's reliability diagnostic and step scaling, against known answers."""

import math

import numpy as np
import pytest
import torch
from pyro.infer.autoguide import AutoMultivariateNormal, AutoNormal
from scipy.special import betaln
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning

from skbayes import HorseshoeRegression
from skbayes._runtime import isolated_run
from skbayes.datasets import make_sparse_regression
from skbayes.inference import BetaGuide
from skbayes.inference._gaussian import guide_leaves
from skbayes.inference.guides import start_gaussian_guide
from skbayes.inference.svi import WINDOW, Adam, _ended_worse
from skbayes.inference.svi_diagnostics import (
    _traced_log_ratios,
    importance_log_ratios,
    svi_diagnostics,
    unreliable,
)
from skbayes.models import BetaBernoulliModel, LinearRegressionModel
from skbayes.priors import Normal

CPU = torch.device("cpu")


def test_an_exact_beta_guide_has_constant_ratios_equal_to_the_evidence():
    X = torch.tensor([[1.0], [1.0], [0.0], [1.0], [0.0], [1.0]], dtype=torch.float64)
    k, n = 4, 6
    model = BetaBernoulliModel(alpha=2.0, beta=3.0, n_columns=1)
    with isolated_run(seed=0, device=CPU):
        guide = BetaGuide(n_columns=1)
        with torch.no_grad():
            guide.concentration1 = torch.tensor([2.0 + k], dtype=torch.float64)
            guide.concentration0 = torch.tensor([3.0 + n - k], dtype=torch.float64)
        ratios = importance_log_ratios(model, guide, (X,), 500)
        report = svi_diagnostics(model, guide, (X,), 500)
    # p(theta, y) / q(theta) = p(y) for every theta when q is the posterior.
    evidence = betaln(2.0 + k, 3.0 + n - k) - betaln(2.0, 3.0)
    np.testing.assert_allclose(ratios, evidence, atol=1e-9)
    assert report["pareto_k"] == -math.inf and not unreliable(report)
    assert report["importance_ess"] == pytest.approx(500)


def test_an_exact_gaussian_guide_has_constant_ratios_equal_to_the_evidence():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(15, 3)), rng.normal(size=15)
    scale, noise = 2.0, 0.5
    model = LinearRegressionModel(
        Normal(scale), 3, 15, noise=noise, fit_intercept=False
    )
    X_t, y_t = torch.as_tensor(X), torch.as_tensor(y)
    precision = X.T @ X / noise**2 + np.eye(3) / scale**2
    cov = np.linalg.inv(precision)
    mean = cov @ X.T @ y / noise**2
    with isolated_run(seed=0, device=CPU):
        guide = AutoMultivariateNormal(model)
        assert start_gaussian_guide(guide, (X_t, y_t), {"coef": torch.as_tensor(cov)})
        with torch.no_grad():
            guide_leaves(guide, (X_t, y_t))["loc"][0].copy_(torch.as_tensor(mean))
        ratios = importance_log_ratios(model, guide, (X_t, y_t), 300)
    evidence = multivariate_normal(
        np.zeros(15), noise**2 * np.eye(15) + scale**2 * X @ X.T
    ).logpdf(y)
    np.testing.assert_allclose(ratios, evidence, atol=1e-8)


def test_autonormal_draws_match_the_traced_ratios():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(20, 2)), rng.normal(size=20)
    model = LinearRegressionModel(Normal(1.0), 2, 20, fit_intercept=False)
    data = (torch.as_tensor(X), torch.as_tensor(y))
    with isolated_run(seed=0, device=CPU):
        guide = AutoNormal(model)
        guide(*data)
        batched = importance_log_ratios(model, guide, data, 4000)
        log_p, log_q = _traced_log_ratios(model, guide, data, 1000)
    traced = (log_p - log_q).detach().numpy()
    # Two independent samples of the same ratio distribution: means within 4
    # Monte Carlo sds of their difference, and so are the 10% and 90%
    # quantiles (binomial sd of the fraction below them, both samples).
    mc = math.sqrt(batched.var() / 4000 + traced.var() / 1000)
    assert abs(batched.mean() - traced.mean()) < 4 * mc
    for p in (0.1, 0.9):
        fraction = np.mean(traced <= np.quantile(batched, p))
        assert abs(fraction - p) < 4 * math.sqrt(p * (1 - p) * (1 / 1000 + 1 / 4000))


@pytest.mark.parametrize(
    ("report", "flagged"),
    [
        ({"pareto_k": 0.9, "log_ratio_sd": 2.0}, True),
        ({"pareto_k": 0.9, "log_ratio_sd": 0.05}, False),  # ratios within 5%
        ({"pareto_k": 0.5, "log_ratio_sd": 5.0}, False),
        ({"pareto_k": math.inf, "log_ratio_sd": math.inf}, True),  # point mass
        ({"pareto_k": math.nan, "log_ratio_sd": math.nan}, True),
    ],
)
def test_unreliable_rule(report, flagged):
    assert unreliable(report) is flagged


def test_the_tutorials_horseshoe_svi_warns():
    # Measured k-hat on this problem: 2.4-3.6 over seeds, far above 0.7.
    X, y, _ = make_sparse_regression(100, 100, random_state=0)
    est = HorseshoeRegression(inference="svi", noise="point", random_state=0)
    with pytest.warns(ConvergenceWarning, match="Pareto k-hat"):
        est.fit(X, y)
    assert est.diagnostics_["pareto_k"] > 0.7
    assert est.diagnostics_["importance_ess"] < 100


def test_step_scales_shrink_adams_first_step():
    # Adam's first step is lr * sign(grad) per element (m / sqrt(v) = g / |g|);
    # a step scale multiplies it.
    x = torch.zeros(3, requires_grad=True)
    scales = torch.tensor([1.0, 0.01, 0.001])
    optimizer = Adam([x], lr=0.05, step_scales={id(x): scales})
    (x * torch.tensor([2.0, -3.0, 5.0])).sum().backward()
    optimizer.step()
    np.testing.assert_allclose(
        x.detach().numpy(), -0.05 * np.array([1.0, -0.01, 0.001]), rtol=1e-6
    )


def test_a_loss_that_ends_worse_than_it_started_is_caught():
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 1.0, 4 * WINDOW)
    assert _ended_worse(
        np.r_[np.full(2 * WINDOW, 10.0), np.full(2 * WINDOW, 12.0)] + noise
    )
    assert not _ended_worse(np.linspace(12.0, 10.0, 4 * WINDOW) + noise)
    assert not _ended_worse(10.0 + noise)  # noise alone
    assert not _ended_worse(np.full(WINDOW, 1.0))  # too short to judge
