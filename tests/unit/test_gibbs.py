"""The Gibbs engine and its kernels against closed forms, quadrature and NUTS.

Tolerances are in units of Monte Carlo standard errors computed from the
effective sample size, so a wrong conditional (a missing degree of freedom, a
prior variance scaled by sigma**2, a mis-set global scale) shows up as many
standard errors, while a correct sampler passes with any seed.
"""

import functools
import time

import numpy as np
import pytest
import torch
from pyro.ops.stats import effective_sample_size
from sklearn.exceptions import ConvergenceWarning

from skbayes.datasets import make_sparse_regression
from skbayes.inference.gibbs import (
    GibbsResult,
    SweepKernel,
    _CollapsedHorseshoe,
    run_gibbs,
    sample_bhattacharya,
    sample_rue,
)
from skbayes.priors import (
    Exponential,
    HalfCauchy,
    HalfNormal,
    HalfStudentT,
    Horseshoe,
    InverseGamma,
    Jeffreys,
    Laplace,
    Normal,
    RegularizedHorseshoe,
    StudentT,
)

from .._references import log_evidence, noise_log_density, normal_posterior_given_var
from ..conftest import Z_TOL

# Sampler accuracy checks run thousands of Gibbs sweeps (about 3 minutes on two
# cores); they run in `make test-slow`, which CI runs after `make test`.
pytestmark = pytest.mark.slow


def _centred(X, y, fit_intercept=True):
    if fit_intercept:
        X, y = X - X.mean(0), y - y.mean()
    return torch.as_tensor(X), torch.as_tensor(y)


def _ess(draws: torch.Tensor) -> np.ndarray:
    """ESS of (chains, draws, ...) samples, per trailing coordinate."""
    return effective_sample_size(draws.double(), chain_dim=0, sample_dim=1).numpy()


def _assert_mean_sd(draws: torch.Tensor, mean, sd, what: str) -> None:
    """Posterior mean and sd of draws agree with the truth within MC error."""
    ess = _ess(draws)
    flat = draws.reshape(-1, *draws.shape[2:]).numpy()
    est_mean, est_sd = flat.mean(0), flat.std(0)
    mean_se = np.asarray(sd) / np.sqrt(ess)
    # sd of a sample sd is about sd / sqrt(2 ESS) for near-Gaussian draws;
    # double it to allow for the heavier tails of noise_var and the horseshoe.
    sd_se = 2 * np.asarray(sd) / np.sqrt(2 * ess)
    assert np.all(np.abs(est_mean - mean) < Z_TOL * mean_se), (
        what,
        est_mean,
        mean,
        mean_se,
    )
    assert np.all(np.abs(est_sd - sd) < Z_TOL * sd_se), (what, est_sd, sd, sd_se)


# -- (a) Normal prior: exact answers --------------------------------------------


def _quadrature_reference(X, y, scale, noise_prior, fit_intercept):
    """Posterior mean and sd of coef and sigma by quadrature over log sigma**2."""
    from scipy.special import logsumexp

    grid = np.linspace(np.log(1e-3), np.log(1e2), 1501)
    noise_var = np.exp(grid)
    log_post = np.array(
        [log_evidence(X, y, scale, v, fit_intercept) for v in noise_var]
    )
    log_post += noise_log_density(noise_prior, grid)
    weights = np.exp(log_post - logsumexp(log_post))
    assert weights[0] < 1e-12 and weights[-1] < 1e-12  # the grid holds the mass
    means, second = 0.0, 0.0
    for w, v in zip(weights, noise_var, strict=True):
        m, cov = normal_posterior_given_var(X, y, scale, v)
        means = means + w * m
        second = second + w * (np.diag(cov) + m**2)
    sigma_mean = weights @ np.sqrt(noise_var)
    sigma_sd = np.sqrt(weights @ noise_var - sigma_mean**2)
    return means, np.sqrt(second - means**2), sigma_mean, sigma_sd


#: Noise priors other than the inverse gamma. The Normal kernel slice-samples
#: sigma**2 from its marginal under any of them; the other kernels draw the
#: inverse-gamma part of sigma**2 | coef and correct for the rest by
#: Metropolis-Hastings (``noise_correction``).
OTHER_NOISE_PRIORS = [
    HalfCauchy(1.0),
    HalfNormal(2.0),
    HalfStudentT(3.0, 1.0),
    Exponential(0.5),
    Jeffreys(),
]


def _noise_id(prior):
    return type(prior).__name__


@pytest.mark.parametrize(
    "noise_prior", [InverseGamma(2.0, 1.0), *OTHER_NOISE_PRIORS], ids=_noise_id
)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_normal_prior_matches_quadrature(small_data, fit_intercept, noise_prior):
    X, y = small_data
    Xc, yc = _centred(X, y, fit_intercept)
    # A tight prior: were the coefficient prior scaled by sigma, or the
    # intercept's degree of freedom not removed, the answer would move by
    # several Monte Carlo standard errors.
    prior = Normal(scale=0.5)
    result = run_gibbs(
        Xc,
        yc,
        prior=prior,
        noise_prior=noise_prior,
        fit_intercept=fit_intercept,
        num_samples=5000,
        num_warmup=200,
        num_chains=4,
        seed=0,
    )
    assert isinstance(result, GibbsResult) and result.sampler == "svd"
    mean, sd, sigma_mean, sigma_sd = _quadrature_reference(
        Xc.numpy(), yc.numpy(), 0.5, noise_prior, fit_intercept
    )
    _assert_mean_sd(result.samples["coef"], mean, sd, "coef")
    sigma = result.samples["noise_var"].sqrt()
    _assert_mean_sd(sigma, sigma_mean, sigma_sd, "sigma")


def test_normal_prior_degrees_of_freedom_matter(small_data):
    # The check above can tell n - 1 from n degrees of freedom.
    X, y = small_data
    Xc, yc = _centred(X, y)
    args = (Xc.numpy(), yc.numpy(), 0.5, InverseGamma(2.0, 1.0))
    _, _, with_dof, sd = _quadrature_reference(*args, True)
    _, _, without, _ = _quadrature_reference(*args, False)
    standard_error = sd / np.sqrt(4 * 5000 / 2)  # ESS is at least half the draws
    assert abs(with_dof - without) > 3 * Z_TOL * standard_error


@pytest.mark.parametrize("shape", [(40, 4), (6, 12)], ids=["n>d", "d>n"])
def test_normal_prior_fixed_noise_is_exactly_gaussian(shape):
    # With sigma fixed, every draw is independent and exactly
    # N(A^{-1} X'y / s2, A^{-1}): compare mean and covariance.
    n, d = shape
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 0.7 * rng.normal(size=n)
    Xc, yc = _centred(X, y)
    noise, scale, draws = 0.7, 1.5, 40_000
    result = run_gibbs(
        Xc, yc, prior=Normal(scale), noise=noise, num_samples=draws, seed=1
    )
    assert "noise_var" not in result.samples
    assert result.noise_scale == pytest.approx(noise)
    coef = result.samples["coef"][0].numpy()
    mean, cov = normal_posterior_given_var(Xc.numpy(), yc.numpy(), scale, noise**2)
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(coef.mean(0) - mean) < Z_TOL * sd / np.sqrt(draws))
    # Var of a sample covariance entry: (S_ii S_jj + S_ij**2) / draws.
    cov_se = np.sqrt((np.outer(sd**2, sd**2) + cov**2) / draws)
    assert np.all(np.abs(np.cov(coef, rowvar=False) - cov) < Z_TOL * cov_se)


def test_point_noise_finds_the_marginal_likelihood_maximum(small_data):
    from scipy.optimize import minimize_scalar

    X, y = small_data
    Xc, yc = _centred(X, y)
    scale = 0.5
    best = minimize_scalar(
        lambda log_v: -log_evidence(Xc.numpy(), yc.numpy(), scale, np.exp(log_v), 1),
        bounds=(np.log(1e-3), np.log(1e2)),
        method="bounded",
    )
    expected = float(np.exp(0.5 * best.x))
    result = run_gibbs(
        Xc, yc, prior=Normal(scale), noise="point", num_warmup=2000, seed=2
    )
    assert "noise_var" not in result.samples
    assert result.noise_scale == pytest.approx(expected, rel=0.03)


def test_horseshoe_point_noise_is_an_em_fixed_point():
    # At the empirical-Bayes estimate, E[RSS | y, sigma**2] / (n - 1) must
    # give sigma**2 back (the EM update's fixed point).
    X, y, _ = make_sparse_regression(60, 20, n_nonzero=3, noise=1.0, random_state=3)
    Xc, yc = _centred(X, y)
    result = run_gibbs(
        Xc,
        yc,
        prior=Horseshoe(),
        noise="point",
        num_samples=3000,
        num_warmup=6000,
        num_chains=2,
        seed=0,
    )
    coef = result.samples["coef"]
    rss = ((yc - coef @ Xc.T) ** 2).sum(-1) / (len(yc) - 1)
    ess = _ess(rss)
    flat = rss.reshape(-1).numpy()
    # The estimate averages about as many sweeps as are kept, so it carries
    # about as much Monte Carlo error as the mean it is compared with.
    se = np.sqrt(2) * flat.std() / np.sqrt(ess)
    assert abs(flat.mean() - result.noise_scale**2) < Z_TOL * se, (flat.mean(), se)
    assert 0.7 < result.noise_scale < 1.3  # the true noise scale is 1


# -- (b) horseshoe against quadrature and NUTS --------------------------------------


def _log_half_cauchy(u, scale):
    """log density of log(t) for t ~ HalfCauchy(scale), at u = log(t)."""
    return np.log(2 / np.pi) + u - np.log(scale) - np.log1p(np.exp(2 * u) / scale**2)


def _horseshoe_quadrature(X, y, global_scale, noise_prior, fit_intercept):
    """Posterior moments for d = 2 by quadrature over tau, lambda and sigma**2.

    Given s_j = tau lambda_j and sigma**2, coef is integrated out exactly:
    y ~ N(0, sigma**2 I + X S**2 X'), with S B^{-1} S the covariance and
    S B^{-1} S X'y / sigma**2 the mean of coef, B = I + S X'X S / sigma**2
    (2 x 2, inverted by hand). The four remaining dimensions are summed on a
    grid in log space, where every integrand is smooth.
    """
    from scipy.special import logsumexp

    n, d = X.shape
    assert d == 2
    gram, xty, yty = X.T @ X, X.T @ y, y @ y
    dof = n - 1 if fit_intercept else n
    ols = np.linalg.lstsq(X, y, rcond=None)[0]
    centre = np.log(np.sum((y - X @ ols) ** 2) / (dof - d))
    log_tau, log_lam = np.linspace(-14, 8, 56), np.linspace(-14, 10, 56)
    T, L1, L2 = np.meshgrid(log_tau, log_lam, log_lam, indexing="ij")
    log_prior = (
        _log_half_cauchy(T, global_scale)
        + _log_half_cauchy(L1, 1.0)
        + _log_half_cauchy(L2, 1.0)
    )
    s1, s2 = np.exp(T + L1), np.exp(T + L2)
    logw, first, second, log_var = [], [], [], []
    for v in np.linspace(centre - 3.0, centre + 3.0, 28):
        var = np.exp(v)
        b11 = 1 + s1 * s1 * gram[0, 0] / var
        b22 = 1 + s2 * s2 * gram[1, 1] / var
        b12 = s1 * s2 * gram[0, 1] / var
        det = b11 * b22 - b12**2
        w1, w2 = s1 * xty[0], s2 * xty[1]
        i1, i2 = (b22 * w1 - b12 * w2) / det, (b11 * w2 - b12 * w1) / det
        quad = (yty - (w1 * i1 + w2 * i2) / var) / var
        log_lik = -0.5 * (n * v + np.log(det) + quad) + (
            0.5 * v if fit_intercept else 0
        )
        logw.append(log_prior + log_lik + noise_log_density(noise_prior, v))
        m1, m2 = s1 * i1 / var, s2 * i2 / var
        first.append(np.stack([m1, m2]))
        second.append(
            np.stack([s1 * s1 * b22 / det + m1**2, s2 * s2 * b11 / det + m2**2])
        )
        log_var.append(np.full_like(m1, v))
    logw = np.stack(logw)
    w = np.exp(logw - logsumexp(logw))
    for axis in range(4):  # the grid holds the mass
        assert np.take(w, [0, -1], axis=axis).sum() < 1e-5
    mean = np.einsum("vtab,vktab->k", w, np.stack(first))
    sd = np.sqrt(np.einsum("vtab,vktab->k", w, np.stack(second)) - mean**2)
    sigma = np.exp(0.5 * np.stack(log_var))
    sigma_mean = (w * sigma).sum()
    sigma_sd = np.sqrt((w * sigma**2).sum() - sigma_mean**2)
    log_tau_mean = (w * T).sum()
    log_tau_sd = np.sqrt((w * T**2).sum() - log_tau_mean**2)
    return mean, sd, sigma_mean, sigma_sd, log_tau_mean, log_tau_sd


HS_GLOBAL_SCALE, HS_NOISE_PRIOR = 0.5, InverseGamma(2.0, 1.0)


@functools.cache
def _horseshoe_problem(fit_intercept, noise_prior=HS_NOISE_PRIOR):
    """Centred data and quadrature moments for the d = 2 horseshoe checks."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 2))
    y = 1.0 + X @ np.array([3.0, 0.2]) + 2.0 * rng.normal(size=30)
    Xc, yc = _centred(X, y, fit_intercept)
    moments = _horseshoe_quadrature(
        Xc.numpy(), yc.numpy(), HS_GLOBAL_SCALE, noise_prior, fit_intercept
    )
    return Xc, yc, moments


@pytest.mark.parametrize(
    ("fit_intercept", "tau_update", "sampler", "backend"),
    [
        (True, "both", "auto", "auto"),  # torch: blocked moves
        (False, "auto", "auto", "auto"),  # numba, marginal
        (True, "marginal", "auto", "numpy"),
        (True, "marginal", "auto", "torch"),
        (True, "marginal", "bhattacharya", "torch"),
        (True, "conjugate", "auto", "auto"),  # numba
        (True, "conjugate", "auto", "numpy"),
        (True, "conjugate", "auto", "torch"),
        (True, "blocked", "auto", "auto"),
        (True, "blocked", "bhattacharya", "torch"),
        # The wide numpy sweeps: slice moves on an eigendecomposition.
        (True, "both", "bhattacharya", "numpy"),
        (False, "blocked", "bhattacharya", "numpy"),
        (True, "marginal", "bhattacharya", "numpy"),
    ],
)
def test_horseshoe_matches_quadrature(fit_intercept, tau_update, sampler, backend):
    # A loud noise makes sigma**2 matter: a prior variance scaled by
    # sigma**2, a global scale entered as A instead of A**2 or a wrong number
    # of degrees of freedom each move some moment by many standard errors.
    _check_horseshoe(fit_intercept, HS_NOISE_PRIOR, tau_update, sampler, backend)


def _check_horseshoe(fit_intercept, noise_prior, tau_update, sampler, backend):
    Xc, yc, moments = _horseshoe_problem(fit_intercept, noise_prior)
    mean, sd, sigma_mean, sigma_sd, log_tau_mean, log_tau_sd = moments
    samples = run_gibbs(
        Xc,
        yc,
        prior=Horseshoe(HS_GLOBAL_SCALE),
        noise_prior=noise_prior,
        fit_intercept=fit_intercept,
        tau_update=tau_update,
        sampler=sampler,
        backend=backend,
        num_samples=5000,
        num_warmup=500,
        num_chains=4,
        seed=0,
    ).samples
    _assert_mean_sd(samples["coef"], mean, sd, "coef")
    _assert_mean_sd(samples["noise_var"].sqrt(), sigma_mean, sigma_sd, "sigma")
    _assert_mean_sd(samples["tau"].log(), log_tau_mean, log_tau_sd, "log tau")


def _scale_mixture_quadrature(X, y, log_prior, noise_prior, fit_intercept):
    """Posterior moments of coef (d = 2) and sigma by quadrature.

    The coefficients and log sigma**2 are summed on a grid (200 x 200 x 48)
    around least squares, 9 standard errors either side, with the prior's log
    density ``log_prior(coef)`` summed over the two coefficients.
    """
    from scipy.special import logsumexp

    n = len(y)
    dof = n - 1 if fit_intercept else n
    ols, *_ = np.linalg.lstsq(X, y, rcond=None)
    s2 = np.sum((y - X @ ols) ** 2) / (dof - 2)
    se = np.sqrt(s2 * np.diag(np.linalg.inv(X.T @ X)))
    b1 = np.linspace(ols[0] - 9 * se[0], ols[0] + 9 * se[0], 200)
    b2 = np.linspace(ols[1] - 9 * se[1], ols[1] + 9 * se[1], 200)
    v = np.linspace(np.log(s2) - 3.5, np.log(s2) + 3.5, 48)
    B1, B2, V = np.meshgrid(b1, b2, v, indexing="ij")
    resid2 = (
        (y**2).sum()
        - 2 * (B1 * (X[:, 0] @ y) + B2 * (X[:, 1] @ y))
        + B1**2 * (X[:, 0] @ X[:, 0])
        + 2 * B1 * B2 * (X[:, 0] @ X[:, 1])
        + B2**2 * (X[:, 1] @ X[:, 1])
    )
    # Likelihood with dof degrees of freedom, the noise prior's density of
    # log sigma**2, and the coefficients' prior.
    logw = -0.5 * dof * V - 0.5 * resid2 / np.exp(V)
    logw += noise_log_density(noise_prior, V) + log_prior(B1) + log_prior(B2)
    w = np.exp(logw - logsumexp(logw))
    for axis in range(3):  # the grid holds the mass
        assert np.take(w, [0, -1], axis=axis).sum() < 1e-5
    mean = np.array([(w * B1).sum(), (w * B2).sum()])
    sd = np.sqrt(np.array([(w * B1**2).sum(), (w * B2**2).sum()]) - mean**2)
    sigma = np.exp(0.5 * V)
    sigma_mean = (w * sigma).sum()
    return mean, sd, sigma_mean, np.sqrt((w * sigma**2).sum() - sigma_mean**2)


@pytest.mark.parametrize(
    ("prior", "log_prior"),
    [
        (Laplace(0.3), lambda b: -np.abs(b) / 0.3),
        (StudentT(2.0, 0.2), lambda b: -1.5 * np.log1p(b**2 / (2.0 * 0.2**2))),
    ],
    ids=["laplace", "student_t"],
)
@pytest.mark.parametrize("sampler", ["rue", "bhattacharya"])
def test_scale_mixture_priors_match_quadrature(prior, log_prior, sampler):
    # A prior tight enough to pull the second, weak coefficient towards 0:
    # a wrong mixing distribution moves its mean or sd by many standard
    # errors.
    _check_scale_mixture(prior, log_prior, HS_NOISE_PRIOR, sampler)


def _check_scale_mixture(prior, log_prior, noise_prior, sampler="auto"):
    Xc, yc, _ = _horseshoe_problem(True)
    mean, sd, sigma_mean, sigma_sd = _scale_mixture_quadrature(
        Xc.numpy(), yc.numpy(), log_prior, noise_prior, True
    )
    samples = run_gibbs(
        Xc,
        yc,
        prior=prior,
        noise_prior=noise_prior,
        sampler=sampler,
        num_samples=5000,
        num_chains=4,
        seed=0,
    ).samples
    _assert_mean_sd(samples["coef"], mean, sd, "coef")
    _assert_mean_sd(samples["noise_var"].sqrt(), sigma_mean, sigma_sd, "sigma")


# -- noise priors that are not inverse-gamma ---------------------------------------


@pytest.mark.parametrize("noise_prior", OTHER_NOISE_PRIORS[:4], ids=_noise_id)
@pytest.mark.parametrize(
    ("tau_update", "sampler", "backend"),
    [
        ("both", "auto", "torch"),  # the collapsed blocked move, then the MH step
        ("conjugate", "auto", "numpy"),
        ("both", "bhattacharya", "numpy"),  # the wide sweeps' slice moves
    ],
)
def test_horseshoe_with_other_noise_priors_matches_quadrature(
    noise_prior, tau_update, sampler, backend
):
    _check_horseshoe(True, noise_prior, tau_update, sampler, backend)


@pytest.mark.parametrize("noise_prior", OTHER_NOISE_PRIORS[:2], ids=_noise_id)
def test_scale_mixture_with_other_noise_priors_matches_quadrature(noise_prior):
    _check_scale_mixture(Laplace(0.3), lambda b: -np.abs(b) / 0.3, noise_prior)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_horseshoe_matches_nuts():
    # End to end against skbayes' own NUTS on the Pyro model (about 2 min).
    # NUTS is slow on the horseshoe and reports a few divergences even here
    # (13 in 1000 draws), hence the ignored warning; its ESS is about 400.
    from skbayes import BayesianLinearRegression

    rng = np.random.default_rng(5)
    X = rng.normal(size=(50, 5))
    y = 0.5 + X @ np.array([2.0, -1.5, 0.0, 0.0, 0.0]) + 2.0 * rng.normal(size=50)
    reference = (
        BayesianLinearRegression(
            prior="horseshoe",
            inference="nuts",
            num_samples=1000,
            num_warmup=500,
            random_state=0,
        )
        .fit(X, y)
        .posterior_samples_
    )
    Xc, yc = _centred(X, y)
    gibbs = run_gibbs(
        Xc, yc, prior=Horseshoe(), num_samples=10_000, num_chains=4, seed=0
    ).samples
    ref_coef = reference["coef"]
    ref_sd = ref_coef.std(0)
    coef = gibbs["coef"].reshape(-1, 5).numpy()
    print("coef mean gap / sd:", (coef.mean(0) - ref_coef.mean(0)) / ref_sd)
    print("coef sd ratio:", coef.std(0) / ref_sd)
    assert np.all(np.abs(coef.mean(0) - ref_coef.mean(0)) < 0.2 * ref_sd)
    np.testing.assert_allclose(coef.std(0), ref_sd, rtol=0.15)
    sigma = gibbs["noise_var"].sqrt().numpy().ravel()
    ref_sigma = reference["noise_scale"]
    assert abs(sigma.mean() - ref_sigma.mean()) < 0.2 * ref_sigma.std()
    # tau is heavy-tailed: compare quartiles on the log scale.
    quartiles = [0.25, 0.5, 0.75]
    ref_log_tau = np.log(reference["tau"])
    np.testing.assert_allclose(
        np.quantile(np.log(gibbs["tau"].numpy().ravel()), quartiles),
        np.quantile(ref_log_tau, quartiles),
        atol=0.25 * ref_log_tau.std(),
    )


@pytest.mark.parametrize(
    ("fit_intercept", "tau_update"),
    [
        (True, "both"),
        (False, "both"),
        (True, "conjugate"),
        (True, "marginal"),
        (False, "marginal"),
        (True, "blocked"),
    ],
)
def test_horseshoe_without_data_recovers_the_prior(fit_intercept, tau_update):
    # With X = 0 the data say nothing about coef, tau or lambda: the chain
    # must reproduce tau ~ HalfCauchy(A) and lambda ~ HalfCauchy(1) (this
    # catches a global scale entered as A instead of A**2), and
    # sigma**2 | y ~ InverseGamma(shape + dof/2, rate + |y|**2 / 2) exactly.
    rng = np.random.default_rng(0)
    n, d, global_scale = 9, 3, 3.0
    X = np.zeros((n, d))
    y = rng.normal(size=n)
    Xc, yc = _centred(X, y, fit_intercept)
    shape, rate = 2.0, 1.0
    result = run_gibbs(
        Xc,
        yc,
        prior=Horseshoe(global_scale),
        noise_prior=(shape, rate),
        fit_intercept=fit_intercept,
        tau_update=tau_update,
        num_samples=5000,
        num_warmup=500,
        num_chains=4,
        seed=4,
    )
    samples = result.samples
    for name, scale in [("tau", global_scale), ("lambda", 1.0)]:
        draws = samples[name]
        for q in (0.25, 0.5, 0.75):
            inside = (draws <= scale * np.tan(np.pi * q / 2)).double()
            se = np.sqrt(q * (1 - q) / _ess(inside))
            frac = inside.reshape(-1, *inside.shape[2:]).mean(0).numpy()
            assert np.all(np.abs(frac - q) < Z_TOL * se), (name, q, frac, se)
    dof = n - 1 if fit_intercept else n
    post_shape, post_rate = shape + dof / 2, rate + float(yc @ yc) / 2
    mean = post_rate / (post_shape - 1)
    sd = mean / np.sqrt(post_shape - 2)
    _assert_mean_sd(samples["noise_var"], mean, sd, "noise_var")
    # The non-centred sites reproduce coef exactly.
    rebuilt = samples["tau"][..., None] * samples["lambda"] * samples["z"]
    torch.testing.assert_close(rebuilt, samples["coef"])


@pytest.mark.parametrize("method", ["rue", "bhattacharya"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("noise_prior", [InverseGamma(2.0, 1.0), HalfCauchy(1.5), None])
def test_collapsed_horseshoe_density(method, fit_intercept, noise_prior):
    # The Metropolis target against a dense evaluation of
    # log N(y | 0, s2 I + tau**2 X L**2 X') + log sigma (intercept) + priors,
    # on the (log tau, log sigma**2) scale; equal up to a constant.
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(4)
    n, d, global_scale = 7, 4, 0.7
    X, y = rng.normal(size=(n, d)), rng.normal(size=n) * 2
    lam = np.exp(rng.normal(size=(3, d)))
    log_tau, log_var = rng.normal(size=3), rng.normal(size=3)
    dof = n - 1 if fit_intercept else n
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    data = (Xt.T @ Xt, Xt.T @ yt) if method == "rue" else (Xt, yt)
    target = _CollapsedHorseshoe(
        method, data, torch.as_tensor(lam), yt @ yt, dof, global_scale, noise_prior
    )
    value, _ = target(torch.as_tensor(log_tau), torch.as_tensor(log_var))

    expected = []
    for c in range(3):
        tau, var = np.exp(log_tau[c]), np.exp(log_var[c])
        cov = var * np.eye(n) + tau**2 * (X * lam[c] ** 2) @ X.T
        out = multivariate_normal(np.zeros(n), cov).logpdf(y)
        out += 0.5 * log_var[c] if fit_intercept else 0.0
        out += np.log(2 / (np.pi * global_scale * (1 + (tau / global_scale) ** 2)))
        out += log_tau[c]  # Jacobian of log tau
        if noise_prior is not None:
            out += noise_log_density(noise_prior, log_var[c])
        expected.append(out)
    differences = value.numpy() - np.array(expected)
    np.testing.assert_allclose(differences, differences[0], atol=1e-9)


# -- (c) the two Gaussian samplers ----------------------------------------------


@pytest.mark.parametrize("shape", [(12, 5), (5, 12)], ids=["n>=d", "d>n"])
@pytest.mark.parametrize("method", ["rue", "bhattacharya"])
def test_gaussian_samplers_hit_the_conditional(shape, method):
    n, d = shape
    rng = np.random.default_rng(8)
    X = torch.as_tensor(rng.normal(size=(n, d)))
    y = torch.as_tensor(rng.normal(size=n) * 2)
    # Prior scales spanning three orders of magnitude, as in a horseshoe.
    scale = torch.as_tensor(np.exp(rng.uniform(-3, 3, size=d)))
    noise_var = torch.tensor(0.6, dtype=torch.float64)
    A = X.T @ X / noise_var + torch.diag(scale**-2)
    cov = torch.linalg.inv(A).numpy()
    mean = cov @ (X.T @ y / noise_var).numpy()

    draws = 40_000
    generator = torch.Generator().manual_seed(0)
    batch_scale = scale.expand(draws, d)
    batch_var = noise_var.expand(draws)
    if method == "rue":
        z = sample_rue(X.T @ X, X.T @ y, batch_scale, batch_var, generator)
    else:
        z = sample_bhattacharya(X, y, batch_scale, batch_var, generator)
    coef = (batch_scale * z).numpy()
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(coef.mean(0) - mean) < Z_TOL * sd / np.sqrt(draws))
    cov_se = np.sqrt((np.outer(sd**2, sd**2) + cov**2) / draws)
    assert np.all(np.abs(np.cov(coef, rowvar=False) - cov) < Z_TOL * cov_se)


def test_samplers_survive_extreme_scales():
    # The horseshoe drives null coefficients' scales towards 0 and lets
    # signals' scales grow huge; neither may produce NaN or inf.
    rng = np.random.default_rng(0)
    X = torch.as_tensor(rng.normal(size=(8, 6)))
    y = torch.as_tensor(rng.normal(size=8))
    scale = torch.tensor([1e-70, 1e-30, 1.0, 1e10, 1e30, 1e-5], dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    var = torch.tensor([0.5], dtype=torch.float64)
    for z in [
        sample_rue(X.T @ X, X.T @ y, scale[None], var, g),
        sample_bhattacharya(X, y, scale[None], var, g),
    ]:
        assert torch.isfinite(z).all() and torch.isfinite(scale * z).all()


# -- (d) the tutorial's sparse problem ------------------------------------------


def test_sparse_tutorial_problem():
    X, y, true_coef = make_sparse_regression(100, 100, random_state=0)
    Xc, yc = _centred(X, y)
    start = time.perf_counter()
    result = run_gibbs(
        Xc, yc, prior=Horseshoe(), num_samples=2000, num_warmup=500, seed=0
    )
    elapsed = time.perf_counter() - start
    coef = result.samples["coef"][0].numpy()
    rmse = np.sqrt(np.mean((coef.mean(0) - true_coef) ** 2))
    lo, hi = np.quantile(coef, [0.025, 0.975], axis=0)
    coverage = np.mean((lo <= true_coef) & (true_coef <= hi))
    print(f"sparse 100x100: {elapsed:.2f} s, rmse {rmse:.3f}, coverage {coverage}")
    # The exact posterior mean (4 chains x 5000 draws, R-hat 1.002) has an
    # RMSE of 0.123 here: n = d = 100 with 50 signals of size 5 leaves that
    # much uncertainty. 0.15 fails a sampler that has not found the mode.
    assert rmse < 0.15
    assert coverage >= 0.9
    assert (result.sampler, result.tau_update) == ("rue", "marginal")


def test_wide_problem_uses_bhattacharya():
    X, y, true_coef = make_sparse_regression(60, 150, n_nonzero=4, random_state=1)
    Xc, yc = _centred(X, y)
    result = run_gibbs(
        Xc, yc, prior="horseshoe", num_samples=1000, num_warmup=500, seed=0
    )
    assert (result.sampler, result.tau_update) == ("bhattacharya", "both")
    mean = result.samples["coef"][0].mean(0).numpy()
    # Four signals of size ~5 and 146 zeros, from 60 rows.
    assert np.sqrt(np.mean((mean - true_coef) ** 2)) < 0.1
    assert np.abs(mean[4:]).max() < 0.5


# -- API: randomness, shapes and errors ------------------------------------------


def test_seeded_reproducible_and_isolated(small_data):
    X, y = small_data
    Xc, yc = _centred(X, y)
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002
    torch_state = torch.get_rng_state()

    def run(**kwargs):
        return run_gibbs(
            Xc, yc, prior=Horseshoe(), num_samples=20, num_warmup=5, **kwargs
        ).samples["coef"]

    first, second, other = run(seed=3), run(seed=3), run(seed=4)
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    assert not torch.equal(first, other)
    g = torch.Generator().manual_seed(3)
    torch.testing.assert_close(run(generator=g), first, rtol=0, atol=0)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002


def test_shapes_dtype_and_chains(small_data):
    X, y = small_data
    Xc, yc = _centred(X, y)
    result = run_gibbs(
        Xc.float(),
        yc.float(),
        prior=Horseshoe(),
        num_samples=7,
        num_warmup=3,
        num_chains=3,
        seed=0,
        init={"noise_var": 0.5, "tau": 0.1, "lambda": torch.ones(3)},
    )
    shapes = {k: tuple(v.shape) for k, v in result.samples.items()}
    assert shapes == {
        "coef": (3, 7, 3),
        "noise_var": (3, 7),
        "tau": (3, 7),
        "lambda": (3, 7, 3),
        "z": (3, 7, 3),
    }
    assert all(v.dtype == torch.float32 for v in result.samples.values())
    # The chains are not copies of each other.
    coef = result.samples["coef"]
    assert not torch.equal(coef[0], coef[1])


@pytest.mark.parametrize("prior", [RegularizedHorseshoe(), "regularized_horseshoe"])
def test_unsupported_prior_is_named(small_data, prior):
    Xc, yc = _centred(*small_data)
    with pytest.raises(ValueError, match="RegularizedHorseshoe"):
        run_gibbs(Xc, yc, prior=prior, num_samples=1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"noise": "gamma"},
        {"noise": -1.0},
        {"noise_prior": (0.0, 1.0)},
        {"num_samples": 0},
        {"sampler": "qr"},
        {"tau_update": "slice"},
        {"backend": "jax"},
    ],
)
def test_bad_arguments(small_data, kwargs):
    Xc, yc = _centred(*small_data)
    with pytest.raises(ValueError):
        run_gibbs(Xc, yc, prior=Normal(), **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [{"sampler": "rue", "tau_update": "blocked"}, {"tau_update": "both"}],
)
def test_numpy_backend_refuses_the_moves_it_lacks(small_data, kwargs):
    Xc, yc = _centred(*small_data)
    with pytest.raises(ValueError, match="backend='numpy'"):
        run_gibbs(Xc, yc, prior=Horseshoe(), backend="numpy", **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tau_update": "both"},
        {"sampler": "bhattacharya"},
        {"noise_prior": HalfCauchy(1.0)},  # its MH step calls back into Python
    ],
)
def test_numba_backend_refuses_what_it_does_not_compile(small_data, kwargs):
    Xc, yc = _centred(*small_data)
    with pytest.raises(ValueError, match="backend='numba'"):
        run_gibbs(Xc, yc, prior=Horseshoe(), backend="numba", **kwargs)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_cpu_backends_are_seeded_and_report_the_kernel_state(small_data, backend):
    # The CPU sweeps draw from a generator seeded by the torch one: one seed
    # gives one run, and tau * lambda * z reproduces coef.
    Xc, yc = _centred(*small_data)
    runs = [
        run_gibbs(
            Xc,
            yc,
            prior=Horseshoe(),
            backend=backend,
            num_samples=50,
            num_chains=2,
            seed=s,
        )
        for s in (3, 3, 4)
    ]
    a, b, c = (r.samples for r in runs)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["coef"], c["coef"])
    rebuilt = a["tau"][..., None] * a["lambda"] * a["z"]
    torch.testing.assert_close(rebuilt, a["coef"])


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu_in_distribution():
    X, y, _ = make_sparse_regression(80, 120, n_nonzero=5, random_state=2)
    Xc, yc = _centred(X, y)
    kwargs = {"prior": Horseshoe(), "num_samples": 2000, "num_chains": 2}
    cpu = run_gibbs(Xc, yc, seed=0, **kwargs).samples["coef"]
    gpu = run_gibbs(Xc.cuda(), yc.cuda(), seed=0, **kwargs).samples["coef"]
    assert gpu.device.type == "cuda"
    sd = cpu.reshape(-1, 120).std(0)
    diff = (gpu.cpu().reshape(-1, 120).mean(0) - cpu.reshape(-1, 120).mean(0)).abs()
    assert bool((diff < 0.2 * sd + 1e-3).all())


class _AR1Kernel(SweepKernel):
    """AR(1): x <- rho x + sqrt(1 - rho**2) e, (1 - rho) / (1 + rho) ESS per sweep."""

    def __init__(self, rho):
        self.rho, self.generator = rho, torch.Generator().manual_seed(0)

    def sample(self, state, step, *, warmup):
        noise = torch.randn(state.shape, generator=self.generator, dtype=state.dtype)
        return self.rho * state + (1 - self.rho**2) ** 0.5 * noise

    def report(self, state):
        return {"x": state}


@pytest.mark.parametrize(
    ("rho", "num_samples", "max_samples", "expected", "short"),
    [
        # Independent draws: about 1,000 effective in 2 x 500, over the
        # target, so no warning (warnings are errors).
        (0.0, 500, 2000, 500, False),
        # About 0.053 effective per sweep: 2 x 100 draws give about 10, and
        # still about 40 at the cap of 4 x 100, far enough short to be sure.
        (0.9, 100, 400, 400, True),
        # max_samples == num_samples leaves no extension: about 10 effective.
        (0.9, 100, 100, 100, True),
    ],
)
def test_drive_extends_short_runs_until_the_target_ess(
    rho, num_samples, max_samples, expected, short
):
    from skbayes.inference.gibbs._driver import drive

    def run():
        return drive(
            _AR1Kernel(rho),
            torch.zeros(2, dtype=torch.float64),
            num_samples=num_samples,
            num_warmup=10,
            target_ess=400,
            max_samples=max_samples,
            owner="AR1",
        )

    if short:
        with pytest.warns(
            ConvergenceWarning,
            match=rf"AR1: .*cap of {expected} draws per chain.*short of target_ess=400",
        ):
            out, _ = run()
    else:
        out, _ = run()
    assert out["x"].shape == (2, expected)


def test_drive_runs_on_while_r_hat_is_over_the_limit(monkeypatch):
    # The effective sample size is over the target from the start; the first
    # check's R-hat (1.02) is not, the second's (1.005) is: one extension of
    # a quarter of the draws, then the run stops.
    from skbayes.inference.gibbs import _driver

    checks = iter([(1000.0, 1.02), (1000.0, 1.005)])
    monkeypatch.setattr(_driver, "_mixing", lambda draws: next(checks))
    out, _ = _driver.drive(
        _AR1Kernel(0.0),
        torch.zeros(2, dtype=torch.float64),
        num_samples=500,
        num_warmup=0,
        target_ess=400,
        max_samples=2000,
    )
    assert out["x"].shape == (2, 625)


def test_drive_asks_for_the_missing_draws_not_the_cap():
    # rho = 0.5 gives 1/3 effective draw per sweep: 2 x 300 draws give about
    # 200, so about 2 x 600 reach 400. The extension sized from the ESS rate
    # stops there, well short of the cap of 2 x 3000.
    from skbayes.inference.gibbs._driver import _min_ess, drive

    out, _ = drive(
        _AR1Kernel(0.5),
        torch.zeros(2, dtype=torch.float64),
        num_samples=300,
        num_warmup=10,
        target_ess=400,
        max_samples=3000,
    )
    assert 600 < out["x"].shape[1] < 1500
    assert _min_ess(out) >= 400
