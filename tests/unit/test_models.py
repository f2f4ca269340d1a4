"""Models: log densities equal Pyro's traces; closed forms and whitening are exact."""

import math

import numpy as np
import pyro
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pyro import poutine
from scipy.optimize import minimize_scalar

from skbayes.models import BayesianModule, LinearRegressionModel
from skbayes.models._transforms import constrain
from skbayes.models.conjugate import (
    NormalLinearSpec,
    normal_prior_start,
    thin_svd_from_gram,
)
from skbayes.models.whitening import (
    NormalConditionalWhitening,
    ScaleMixtureConditionalWhitening,
)
from skbayes.priors import (
    Horseshoe,
    Laplace,
    Normal,
    RegularizedHorseshoe,
    StudentT,
)

from .._references import log_evidence, normal_posterior_given_var

# -- log densities against Pyro's traces ----------------------------------------


ALL_PRIORS = [
    Normal(2.0),
    Laplace(0.5),
    StudentT(3.0, 1.0),
    Horseshoe(1.0),
    Horseshoe(0.5, centered=True),
    RegularizedHorseshoe(expected_nonzero=2),
    RegularizedHorseshoe(expected_nonzero=2, centered=True),
    RegularizedHorseshoe(global_scale=0.3, centered=True),
]


@pytest.mark.parametrize("prior", ALL_PRIORS, ids=lambda p: repr(p))
@pytest.mark.parametrize("noise", ["prior", "point", 0.7])
def test_direct_log_joint_equals_pyro_trace(prior, noise):
    rng = np.random.default_rng(0)
    X = torch.as_tensor(rng.normal(size=(12, 5)))
    y = torch.as_tensor(rng.normal(size=12))
    model = LinearRegressionModel(prior.validate(), 5, 12, noise=noise)
    with pyro.get_param_store().scope(), torch.random.fork_rng():
        torch.manual_seed(0)
        values = poutine.trace(model).get_trace(X, y)
        values = {
            name: site["value"]
            for name, site in values.nodes.items()
            if site["type"] == "sample" and not site["is_observed"]
        }
        trace = poutine.trace(poutine.condition(model, data=values)).get_trace(X, y)
        expected = trace.log_prob_sum()
        actual = model.log_joint(values, X, y)
    torch.testing.assert_close(actual, expected)


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 30), st.integers(1, 6), st.integers(0, 10_000))
def test_direct_log_joint_equals_trace_any_shape(n, d, seed):
    rng = np.random.default_rng(seed)
    X = torch.as_tensor(rng.normal(size=(n, d)))
    y = torch.as_tensor(rng.normal(size=n) * 3)
    model = LinearRegressionModel(Horseshoe(), d, n, noise="prior")
    with pyro.get_param_store().scope(), torch.random.fork_rng():
        torch.manual_seed(seed)
        values = {k: site.sample() for k, site in model.prior_sites().items()}
        trace = poutine.trace(poutine.condition(model, data=values)).get_trace(X, y)
        torch.testing.assert_close(model.log_joint(values, X, y), trace.log_prob_sum())


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(ALL_PRIORS),
    st.sampled_from(["prior", "point", 0.7]),
    st.booleans(),
    st.sampled_from([(), (3,)]),
    st.sampled_from([None, 31.5]),
    st.integers(0, 10_000),
)
def test_closed_form_log_density_equals_its_definition(
    prior, noise, fit_intercept, batch, n_observations, seed
):
    # LinearRegressionModel.log_density and the priors' closed forms must be
    # BayesianModule.log_density (log_joint through the constraint maps plus
    # the Jacobian), in value and gradient, for a batch of draws or one; the
    # minibatch scaling (12 of 20 rows) is part of the likelihood checked, and
    # so are weighted rows (20 rows of total weight 31.5).
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(12, 4, generator=gen, dtype=torch.float64)
    y = 2 * torch.randn(12, generator=gen, dtype=torch.float64)
    model = LinearRegressionModel(
        prior.validate(),
        4,
        20,
        noise=noise,
        fit_intercept=fit_intercept,
        n_observations=n_observations,
    )
    unconstrained = {
        name: (2 * torch.randn((*batch, *site.shape()), generator=gen))
        .double()
        .requires_grad_()
        for name, site in model.prior_sites().items()
    }
    leaves = list(unconstrained.values()) + list(model.parameters())
    with pyro.get_param_store().scope():
        closed_form = model.log_density(unconstrained, X, y)
        definition = BayesianModule.log_density(model, unconstrained, X, y)
        torch.testing.assert_close(closed_form, definition)
        assert closed_form.shape == batch
        grads = torch.autograd.grad(closed_form.sum(), leaves, allow_unused=True)
        expected = torch.autograd.grad(definition.sum(), leaves, allow_unused=True)
    for got, want in zip(grads, expected, strict=True):
        if want is None:
            assert got is None or not got.any()
        else:
            torch.testing.assert_close(got, want)


# -- the Normal-prior closed forms -----------------------------------------------


def _log_noise_density(X, y, scale, noise, noise_prior, fit_intercept):
    """log p(u | y) (or the marginal likelihood) in u = log sigma**2."""
    shape, rate = noise_prior

    def log_density(u):
        out = log_evidence(X, y, scale, np.exp(u), fit_intercept)
        if noise == "prior":  # IG density in sigma**2, times sigma**2
            out += -shape * u - rate * np.exp(-u)
        return out

    return log_density


@settings(max_examples=20, deadline=None)
@given(
    n=st.integers(3, 30),
    d=st.integers(1, 8),
    seed=st.integers(0, 1000),
    noise=st.sampled_from(["prior", "point", 0.7]),
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
        NormalLinearSpec(scale, noise, noise_prior, fit_intercept),
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
    mean, cov = normal_posterior_given_var(X, y, scale, start.noise_var)
    np.testing.assert_allclose(start.coef_mean, mean, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(start.coef_cov, cov, rtol=1e-6, atol=1e-10)


def test_point_noise_without_a_maximum_stops_at_the_floor():
    # Three rows, three features, intercept: y lies in the span of X, and
    # the marginal likelihood grows as sigma**2 -> 0. The start keeps the
    # Gibbs sampler's floor instead of returning zero or NaN.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 3))
    y = rng.normal(size=3)
    X, y = torch.as_tensor(X - X.mean(0)), torch.as_tensor(y - y.mean())
    spec = NormalLinearSpec(scale=2.0, noise="point", fit_intercept=True)
    start = normal_prior_start(X.T @ X, X.T @ y, y @ y, 3, spec)
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


# -- whitening maps ---------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    st.integers(2, 12),
    st.integers(1, 8),
    st.integers(0, 10_000),
    st.booleans(),
    st.sampled_from([(), (3,)]),
)
def test_normal_conditional_whitening_is_the_conditional_posterior(
    n, d, seed, noise_is_latent, batch
):
    # coef = m(v) + C(v)^(1/2) w: at w = 0 the conditional mean, a log
    # Jacobian equal to log|det d coef / d w| (autograd), and an exact
    # inverse, with X'X singular whenever d > n.
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(n, d)), rng.normal(size=n)
    gram, xty = torch.as_tensor(X.T @ X), torch.as_tensor(X.T @ y)
    noise_var = float(rng.uniform(0.1, 3.0))
    whiten = NormalConditionalWhitening(
        gram, xty, 2.0, noise_var=None if noise_is_latent else noise_var
    )
    params = {"w": torch.as_tensor(rng.normal(size=(*batch, d)))}
    if noise_is_latent:
        params["noise_var"] = torch.full(batch, np.log(noise_var), dtype=torch.float64)
    latent, log_jacobian = whiten.to_latent(params)
    mean, cov = normal_posterior_given_var(X, y, 2.0, noise_var)
    at_zero, _ = whiten.to_latent({**params, "w": torch.zeros_like(params["w"])})
    np.testing.assert_allclose(at_zero["coef"], np.broadcast_to(mean, (*batch, d)))
    one = {k: v[0] if batch else v for k, v in params.items()}
    dcoef_dw = torch.func.jacrev(
        lambda w: whiten.to_latent({**one, "w": w})[0]["coef"]
    )(one["w"])
    np.testing.assert_allclose(dcoef_dw @ dcoef_dw.T, cov, atol=1e-9)
    expected_log_jacobian = torch.linalg.slogdet(dcoef_dw)[1]
    np.testing.assert_allclose(log_jacobian, expected_log_jacobian.expand(batch))
    back = whiten.from_latent(latent)
    for name, value in params.items():
        torch.testing.assert_close(back[name], value)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(2, 10),
    st.integers(1, 6),
    st.integers(0, 10_000),
    st.sampled_from(["horseshoe", "regularized"]),
    st.sampled_from([(), (2,)]),
)
def test_scale_mixture_whitening_is_the_conditional_posterior(
    n, d, seed, prior_name, batch
):
    # Given the scales and the noise, coef | y ~ N(m, P^-1): w = 0 gives m,
    # d coef / d w squares to P^-1, the log Jacobian onto z is autograd's,
    # and from_latent undoes to_latent.
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(n, d)), rng.normal(size=n)
    if prior_name == "horseshoe":
        prior = Horseshoe(global_scale=0.5, centered=False)
    else:
        prior = RegularizedHorseshoe(expected_nonzero=0.5, centered=False)
    model = LinearRegressionModel(prior.validate(), d, n)  # noise_var is a site
    sites = model.prior_sites()
    whiten = ScaleMixtureConditionalWhitening(
        torch.as_tensor(X.T @ X), torch.as_tensor(X.T @ y), prior, sites, n
    )
    gen = torch.Generator().manual_seed(seed)
    params = {
        name: 0.5 * torch.randn((*batch, *site.shape()), generator=gen).double()
        for name, site in sites.items()
        if name != "z"
    }
    params["w"] = torch.randn((*batch, d), generator=gen).double()
    latent, log_jacobian = whiten.to_latent(params)
    back = whiten.from_latent(latent)
    for name, value in params.items():
        torch.testing.assert_close(back[name], value)

    one = {k: v[0] if batch else v for k, v in params.items()}
    values, _ = constrain({k: v for k, v in one.items() if k != "w"}, sites)
    noise_var = float(values["noise_var"])
    scale, _ = prior.coef_scale(values, math.sqrt(noise_var), n)
    precision = X.T @ X / noise_var + np.diag(scale.numpy() ** -2.0)
    cov = np.linalg.inv(precision)
    at_zero, _ = whiten.to_latent({**one, "w": torch.zeros(d, dtype=torch.float64)})
    np.testing.assert_allclose(
        at_zero["z"] * scale, cov @ X.T @ y / noise_var, rtol=1e-6, atol=1e-9
    )

    def z_of(w):
        return whiten.to_latent({**one, "w": w})[0]["z"]

    dz_dw = torch.func.jacrev(z_of)(one["w"])
    dcoef_dw = dz_dw * scale.unsqueeze(-1)
    np.testing.assert_allclose(dcoef_dw @ dcoef_dw.T, cov, rtol=1e-6, atol=1e-9)
    expected = torch.linalg.slogdet(dz_dw)[1]
    np.testing.assert_allclose(log_jacobian[0] if batch else log_jacobian, expected)
