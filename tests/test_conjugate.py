"""The Normal-prior closed forms, and the SVI start built on them."""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from skbayes import BayesianLinearRegression
from skbayes.datasets import make_sparse_regression
from skbayes.inference.conjugate import normal_prior_start, thin_svd_from_gram

from .test_gibbs import _log_evidence, _normal_posterior_given_var


def _log_noise_density(X, y, scale, noise, noise_prior, fit_intercept):
    """log p(u | y) (or the marginal likelihood) in u = log sigma**2."""
    shape, rate = noise_prior

    def log_density(u):
        out = _log_evidence(X, y, scale, np.exp(u), fit_intercept)
        if noise == "inverse_gamma":  # IG density in sigma**2, times sigma**2
            out += -shape * u - rate * np.exp(-u)
        return out

    return log_density


@settings(max_examples=20, deadline=None)
@given(
    n=st.integers(3, 30),
    d=st.integers(1, 8),
    seed=st.integers(0, 1000),
    noise=st.sampled_from(["inverse_gamma", "point", 0.7]),
    fit_intercept=st.booleans(),
)
def test_normal_prior_start_is_the_mode_and_the_conditional(
    n, d, seed, noise, fit_intercept
):
    # With n <= d + 2 the marginal likelihood may have no maximum (y lies in
    # the span of X); that case has its own test below.
    assume(noise != "point" or n > d + 2)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 0.5 * rng.normal(size=n)
    if fit_intercept:
        X, y = X - X.mean(0), y - y.mean()
    scale, noise_prior = 2.0, (0.5, 0.3)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    start = normal_prior_start(
        Xt.T @ Xt,
        Xt.T @ yt,
        yt @ yt,
        n,
        scale=scale,
        noise=noise,
        noise_prior=noise_prior,
        fit_intercept=fit_intercept,
    )
    if isinstance(noise, str):
        log_density = _log_noise_density(X, y, scale, noise, noise_prior, fit_intercept)
        best = minimize_scalar(
            lambda u: -log_density(u),
            bounds=(-12.0, 8.0),
            method="bounded",
            options={"xatol": 1e-9},
        )
        found = np.log(start.noise_var)
        assert found == pytest.approx(best.x, abs=1e-3)
        assert log_density(found) >= -best.fun - 1e-6
        assert start.log_noise_var_sd > 0
    else:
        assert start.noise_var == pytest.approx(noise**2)
    mean, cov = _normal_posterior_given_var(X, y, scale, start.noise_var)
    np.testing.assert_allclose(start.coef_mean, mean, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(start.coef_cov, cov, rtol=1e-6, atol=1e-10)


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


def test_point_noise_without_a_maximum_stops_at_the_floor():
    # Three rows, three features, intercept: y lies in the span of X, and
    # the marginal likelihood grows as sigma**2 -> 0. The start keeps the
    # Gibbs sampler's floor instead of returning zero or NaN.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 3))
    y = rng.normal(size=3)
    X, y = torch.as_tensor(X - X.mean(0)), torch.as_tensor(y - y.mean())
    start = normal_prior_start(
        X.T @ X,
        X.T @ y,
        y @ y,
        3,
        scale=2.0,
        noise="point",
        noise_prior=(0.1, 0.1),
        fit_intercept=True,
    )
    var_y = float(y @ y) / 2
    assert 1e-12 * var_y <= start.noise_var < 1e-6 * var_y
    assert torch.isfinite(start.coef_mean).all()
    assert torch.isfinite(start.coef_cov).all()


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(4, 60),
    d=st.integers(1, 8),
    seed=st.integers(0, 2**16),
    rank_deficient=st.booleans(),
)
def test_thin_svd_from_gram_matches_the_svd_of_x(n, d, seed, rank_deficient):
    assume(n > d)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 10, size=d)
    if rank_deficient and d > 1:
        X[:, -1] = X[:, 0]  # one direction carries no information
    y = rng.normal(size=n)
    X_t, y_t = torch.as_tensor(X), torch.as_tensor(y)
    svals, uty, v = thin_svd_from_gram(X_t.T @ X_t, X_t.T @ y_t)
    expected = np.linalg.svd(X, compute_uv=False)
    kept = expected[expected > expected[0] * 1e-6]
    assert len(svals) == len(kept)
    np.testing.assert_allclose(np.sort(svals.numpy()), np.sort(kept), rtol=1e-8)
    # V diag(s) U'y = X'y and V'V = I, whatever the signs of V's columns.
    np.testing.assert_allclose((v * svals) @ uty, X.T @ y, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(v.T @ v, np.eye(len(svals)), atol=1e-10)
