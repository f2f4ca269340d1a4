"""The normal-prior linear model's exact engine against closed forms."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from skbayes import BayesianLinearRegression
from skbayes.models import LinearData, LinearRegressionModel
from skbayes.models.conjugate import PiecewiseExponential
from skbayes.priors import Normal

from ..conftest import linear_problem

SEEDS = (0, 1, 2)
DRAWS = 20_000


def _model_and_data(X, y, *, scale=1.0, noise="prior"):
    data = LinearData.from_arrays(X, y, fit_intercept=True, dtype=torch.float64)
    model = LinearRegressionModel(
        Normal(scale), data.n_features, data.n_samples, noise=noise
    )
    return model, data


def _log_marginal_on_grid(X, y, scale, grid, shape=0.1, rate=0.1):
    """log p(log sigma**2 | y) up to a constant, by the dense n x n formula.

    ``yc ~ N(0, sigma**2 I + scale**2 Xc Xc')`` times ``sigma`` for the flat
    intercept, the IG(shape, rate) prior on sigma**2 and the Jacobian of
    ``sigma**2 = e^u``: written independently of ``NormalMarginal``.
    """
    Xc, yc = X - X.mean(0), y - y.mean()
    out = []
    for u in grid:
        cov = math.exp(u) * np.eye(len(yc)) + scale**2 * Xc @ Xc.T
        _, logdet = np.linalg.slogdet(cov)
        quad = yc @ np.linalg.solve(cov, yc)
        out.append(-0.5 * (logdet + quad) + 0.5 * u - shape * u - rate * math.exp(-u))
    return np.array(out)


@pytest.mark.parametrize("shape", [(40, 3), (12, 30)])
@pytest.mark.parametrize("seed", SEEDS)
def test_noise_draws_follow_the_marginal_posterior(shape, seed):
    n, d = shape
    X, y = linear_problem(seed, n, [1.0, -0.5, *([0.0] * (d - 2))], 1.0, 0.7)
    model, data = _model_and_data(X, y)
    draws = model.exact_posterior(data).sample(DRAWS, np.random.default_rng(seed))
    log_var = np.log(draws["noise_var"].numpy())
    grid = np.linspace(log_var.min() - 1, log_var.max() + 1, 4001)
    log_density = _log_marginal_on_grid(X, y, 1.0, grid)
    density = np.exp(log_density - log_density.max())
    cdf = np.cumsum(density)
    cdf /= cdf[-1]
    for p in (0.05, 0.25, 0.5, 0.75, 0.95):
        reference = np.interp(p, cdf, grid)
        # The empirical CDF at the reference quantile is Binomial(S, p) / S:
        # 4 of its sds (at most 0.0141 here), plus the grid's own resolution.
        empirical = np.mean(log_var <= reference)
        assert abs(empirical - p) < 4 * math.sqrt(p * (1 - p) / DRAWS) + 1e-3


@pytest.mark.parametrize("seed", SEEDS)
def test_coefficients_given_a_fixed_noise_are_the_conjugate_gaussian(seed):
    X, y = linear_problem(seed, 30, [1.0, -0.5, 0.0, 2.0], 1.0, 0.5)
    model, data = _model_and_data(X, y, scale=2.0, noise=0.5)
    draws = model.exact_posterior(data).sample(DRAWS, np.random.default_rng(seed))
    coef = draws["coef"].numpy()
    Xc, yc = X - X.mean(0), y - y.mean()
    precision = Xc.T @ Xc / 0.25 + np.eye(4) / 4.0
    cov = np.linalg.inv(precision)
    mean = cov @ Xc.T @ yc / 0.25
    sd = np.sqrt(np.diag(cov))
    # Independent draws: the mean's Monte Carlo sd is sd / sqrt(S), the
    # sd's about sd / sqrt(2 S); 4 of each.
    np.testing.assert_array_less(np.abs(coef.mean(0) - mean), 4 * sd / math.sqrt(DRAWS))
    np.testing.assert_array_less(np.abs(coef.std(0) / sd - 1), 4 / math.sqrt(2 * DRAWS))
    # Correlations too: the whitened draws have identity covariance.
    white = (coef - mean) @ np.linalg.cholesky(precision)
    np.testing.assert_array_less(
        np.abs(np.cov(white, rowvar=False) - np.eye(4)), 4 * math.sqrt(2 / DRAWS)
    )


def test_piecewise_exponential_is_exact_for_a_log_linear_density():
    # exp(-2 t) on [0, 3]: a truncated exponential, drawn exactly.
    grid = np.linspace(0.0, 3.0, 7)
    draws = PiecewiseExponential(grid, -2.0 * grid).sample(
        200_000, np.random.default_rng(0)
    )
    truncated = stats.truncexpon(b=6.0, scale=0.5)
    for q in (0.1, 0.5, 0.9, 0.99):
        assert abs(np.mean(draws <= truncated.ppf(q)) - q) < 4 * math.sqrt(
            q * (1 - q) / 200_000
        )


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_exact_is_the_default_and_agrees_with_gibbs(seed):
    X, y = linear_problem(seed, 30, [1.5, -1.0, 0.0], 2.0, 0.8)
    exact = BayesianLinearRegression(random_state=seed, num_samples=8000).fit(X, y)
    assert exact.inference_ == "exact"
    assert exact.posterior_.kind == "exact"
    gibbs = BayesianLinearRegression(
        inference="gibbs", num_chains=2, num_samples=4000, random_state=seed
    ).fit(X, y)
    for site in ("coef", "intercept", "noise_scale"):
        a = np.atleast_2d(exact.posterior_samples_[site].T).T
        b = np.atleast_2d(gibbs.posterior_samples_[site].T).T
        n_eff = np.atleast_1d(gibbs.diagnostics_["n_eff"][site])
        # Monte Carlo sd of the difference of the means: iid exact draws and
        # the Gibbs chains' effective sample size.
        mc = b.std(0) * np.sqrt(1 / len(a) + 1 / n_eff)
        np.testing.assert_array_less(np.abs(a.mean(0) - b.mean(0)), 4 * mc)


def test_exact_redraws_and_pickles_small():
    import pickle

    X, y = linear_problem(0, 20_000, [1.0, 1.0, 1.0], 0.0, 1.0)
    est = BayesianLinearRegression(random_state=0).fit(X, y)
    first = est.sample_posterior(7, random_state=1)
    again = pickle.loads(pickle.dumps(est)).sample_posterior(7, random_state=1)
    assert set(first) == {"noise_var", "coef", "noise_scale", "intercept"}
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
    # The grid is rebuilt per call, so the payload is the draws, not the data.
    assert len(pickle.dumps(est)) < X.nbytes / 4


def test_exact_rejects_priors_without_a_closed_form():
    X, y = linear_problem(0, 20, [1.0, 0.0], 0.0, 1.0)
    with pytest.raises(ValueError, match="inference='exact' needs a posterior"):
        BayesianLinearRegression("laplace", inference="exact").fit(X, y)


def test_point_noise_is_the_marginal_likelihood_maximum():
    X, y = linear_problem(3, 40, [1.0, -1.0, 0.5], 1.0, 0.6)
    est = BayesianLinearRegression(noise="point", random_state=0).fit(X, y)
    assert np.ptp(est.posterior_samples_["noise_scale"]) == 0
    grid = np.linspace(np.log(0.05), np.log(4.0), 4001)
    Xc, yc = X - X.mean(0), y - y.mean()
    scale = est.module_.prior.scale
    loglik = [
        -0.5 * np.linalg.slogdet(np.exp(u) * np.eye(40) + scale**2 * Xc @ Xc.T)[1]
        - 0.5 * yc @ np.linalg.solve(np.exp(u) * np.eye(40) + scale**2 * Xc @ Xc.T, yc)
        + 0.5 * u
        for u in grid
    ]
    best = math.exp(grid[int(np.argmax(loglik))] / 2)
    assert est.noise_scale_ == pytest.approx(best, rel=2e-3)
