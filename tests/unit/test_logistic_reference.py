"""Checks of the importance-sampling logistic-regression reference itself.

Every statistical margin is 4.5 Monte Carlo standard errors (of the reference,
or of both sides when two estimates are compared), plus any deterministic
approximation error bounded explicitly, so the checks pass on any CPU: at
4.5 se a single comparison fails by chance with probability ~7e-6.
"""

import json

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression

from .._logistic_reference import (
    POSTERIORDB_DIR,
    dogs_design,
    gpd_khat,
    logistic_reference,
    weighted_moments,
)

SEEDS = [0, 1, 2]
Z_MARGIN = 4.5


def binary_problem(seed, n, coef, intercept):
    """``y ~ Bernoulli(sigmoid(intercept + X coef))``, X standard normal."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, len(coef)))
    eta = intercept + X @ np.asarray(coef)
    return X, (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)


def multiclass_problem(seed, n, coef, intercept):
    """Softmax labels with class weights ``coef`` (K, d), intercepts (K,)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, np.shape(coef)[1]))
    eta = X @ np.asarray(coef).T + np.asarray(intercept)
    prob = np.exp(eta - eta.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    u = rng.random((n, 1))
    return X, (u > np.cumsum(prob, axis=1)).sum(axis=1)


@pytest.mark.parametrize("seed", SEEDS)
def test_tight_prior_returns_the_prior(seed):
    # 5 rows and prior sds of 1e-3: the likelihood is nearly flat over the
    # prior, so the posterior is the prior N(0, s^2) up to a first-order
    # shift of the mean, s^2 Z'(y - 1/2), and a relative shrinkage of the sd
    # by about s^2 sum z^2 / 8 (the prior-weighted Fisher information).
    # Both are bounded with a factor 2 and added to the 4.5 MC se margin.
    X, y = binary_problem(seed, 5, [1.0, -1.0], 0.0)
    scales = np.array([1e-3, 2e-3, 1e-3])  # coef_scale as an array, intercept
    ref = logistic_reference(
        X, y, coef_scale=scales[:2], intercept_scale=scales[2], seed=seed
    )
    Z = np.column_stack([X, np.ones(len(X))])
    shift = scales**2 * np.abs(Z.T @ (y - 0.5))
    shrink = scales * scales**2 * (Z**2).sum(axis=0) / 8
    assert np.all(np.abs(ref.mean) <= Z_MARGIN * ref.mean_mcse + 2 * shift)
    assert np.all(np.abs(ref.sd - scales) <= Z_MARGIN * ref.sd_mcse + 2 * shrink)
    assert ref.ess > 0.5 * 100_000


def grid_posterior(X, y, coef_scale, intercept_scale, centre, half_width, m=241):
    """Mean and sd of (b, a) for d = 1 by quadrature on an m x m grid.

    The integrand is smooth and negligible beyond the box, so the uniform
    (trapezoid-like) rule is accurate far beyond the IS Monte Carlo error.
    """
    axes = [
        np.linspace(c - h, c + h, m) for c, h in zip(centre, half_width, strict=True)
    ]
    b, a = (g.ravel() for g in np.meshgrid(*axes, indexing="ij"))
    eta = np.outer(X[:, 0], b) + a  # (n, m*m)
    log_post = (
        y @ eta
        - np.logaddexp(0.0, eta).sum(axis=0)
        - 0.5 * (b / coef_scale) ** 2
        - 0.5 * (a / intercept_scale) ** 2
    )
    w = np.exp(log_post - log_post.max())
    w /= w.sum()
    theta = np.column_stack([b, a])
    mean = w @ theta
    return mean, np.sqrt(w @ (theta - mean) ** 2)


@pytest.mark.parametrize("seed", SEEDS)
def test_matches_grid_quadrature(seed):
    # d = 1 with intercept: the 2-D posterior by quadrature over the mode
    # +- 8 Laplace sd is exact for our purposes; the IS means and sds must
    # agree to 4.5 of their MC standard errors (~0.003 posterior sd each).
    X, y = binary_problem(seed, 100, [1.2], -0.5)
    ref = logistic_reference(X, y, coef_scale=2.0, intercept_scale=3.0, seed=seed)
    lap_sd = np.sqrt(np.diag(ref.laplace_cov))
    mean, sd = grid_posterior(X, y, 2.0, 3.0, ref.mode, 8 * lap_sd)
    assert np.all(np.abs(ref.mean - mean) <= Z_MARGIN * ref.mean_mcse)
    assert np.all(np.abs(ref.sd - sd) <= Z_MARGIN * ref.sd_mcse)
    assert ref.pareto_k < 0.5


@pytest.mark.parametrize("seed", SEEDS)
def test_effective_sample_size(seed):
    # The t proposal around the Laplace fit is close to the posterior: the
    # ESS is a deterministic function of the seed, observed ~0.7 S.
    X, y = binary_problem(seed, 150, [1.0, -0.5, 0.0, 2.0], 0.3)
    ref = logistic_reference(X, y, coef_scale=2.5, intercept_scale=5.0, seed=seed)
    assert ref.ess > 0.3 * 100_000
    assert ref.pareto_k < 0.5
    assert np.all(ref.mean_mcse < 0.01 * ref.sd)
    np.testing.assert_allclose(ref.weights.sum(), 1.0)
    assert ref.draws.shape == (100_000, 5) and ref.mean.shape == (5,)


def test_too_narrow_proposal_is_flagged():
    # A near-normal proposal with 0.3 x the posterior variance has importance
    # ratios with Pareto tail shape about 1/0.3 - 1 > 2: k-hat far above 0.7.
    X, y = binary_problem(0, 150, [1.0, -0.5], 0.3)
    ref = logistic_reference(
        X, y, coef_scale=2.5, intercept_scale=5.0, df=1e4, scale_inflation=0.3
    )
    assert ref.pareto_k > 0.7


@pytest.mark.parametrize("seed", SEEDS)
def test_gpd_khat_recovers_shape(seed):
    # The asymptotic sd of the shape estimate is (1 + k) / sqrt(n).
    k, n = 0.5, 4000
    x = stats.genpareto(c=k).rvs(n, random_state=np.random.default_rng(seed))
    assert abs(gpd_khat(x) - k) <= Z_MARGIN * (1 + k) / np.sqrt(n)


@pytest.mark.parametrize("n_classes", [None, 3])
@pytest.mark.parametrize("seed", SEEDS)
def test_mode_matches_sklearn(seed, n_classes):
    # sklearn minimises sum(log loss) + ||b||^2 / (2 C) with the intercept
    # unpenalised: the posterior mode with coef_scale**2 = C and an (almost)
    # flat intercept prior. Softmax intercepts are then identified only up to
    # a shared constant in sklearn, so compare them centred. The 1e4 prior on
    # the intercept moves it by ~1e-8; lbfgs at tol 1e-10 is good to ~1e-6.
    if n_classes is None:
        X, y = binary_problem(seed, 150, [1.0, -2.0], 0.5)
    else:
        X, y = multiclass_problem(
            seed, 150, [[1.0, 0.0], [-1.0, 1.5], [0.0, -1.0]], [0.5, 0.0, -0.5]
        )
    coef_scale = 1.5
    ref = logistic_reference(
        X,
        y,
        coef_scale=coef_scale,
        intercept_scale=1e4,
        n_classes=n_classes,
        num_draws=1000,
    )
    fit = LogisticRegression(C=coef_scale**2, tol=1e-10, max_iter=10_000).fit(X, y)
    mode = np.atleast_2d(ref.mode)
    np.testing.assert_allclose(mode[:, :-1], fit.coef_, atol=1e-5)
    intercept = mode[:, -1] - (0 if n_classes is None else mode[:, -1].mean())
    sk_intercept = fit.intercept_ - (0 if n_classes is None else fit.intercept_.mean())
    np.testing.assert_allclose(intercept, sk_intercept, atol=1e-5)


@pytest.mark.parametrize("seed", SEEDS)
def test_two_class_softmax_is_the_binary_model(seed):
    # With K = 2 and iid N(0, s^2) priors on both classes' parameters,
    # delta = theta_1 - theta_0 has exactly the binary posterior under prior
    # sd sqrt(2) s, and sigma = theta_1 + theta_0 ~ N(0, 2 s^2) independently
    # of the data. Compare the two independent IS runs to 4.5 combined se.
    X, y = binary_problem(seed, 120, [1.0, -0.7], 0.4)
    s_coef, s_int = 1.5, 2.0
    multi = logistic_reference(
        X,
        y,
        coef_scale=s_coef,
        intercept_scale=s_int,
        n_classes=2,
        num_draws=50_000,
        seed=seed,
    )
    binary = logistic_reference(
        X,
        y,
        coef_scale=np.sqrt(2) * s_coef,
        intercept_scale=np.sqrt(2) * s_int,
        num_draws=50_000,
        seed=seed + 100,
    )
    delta = multi.draws[:, 1] - multi.draws[:, 0]
    mean, sd, mean_se, sd_se = weighted_moments(delta, multi.weights)
    assert np.all(
        np.abs(mean - binary.mean) <= Z_MARGIN * np.hypot(mean_se, binary.mean_mcse)
    )
    assert np.all(np.abs(sd - binary.sd) <= Z_MARGIN * np.hypot(sd_se, binary.sd_mcse))
    sigma = multi.draws[:, 1] + multi.draws[:, 0]
    mean, sd, mean_se, sd_se = weighted_moments(sigma, multi.weights)
    prior_sd = np.sqrt(2) * np.array([s_coef, s_coef, s_int])
    assert np.all(np.abs(mean) <= Z_MARGIN * mean_se)
    assert np.all(np.abs(sd - prior_sd) <= Z_MARGIN * sd_se)


@pytest.mark.parametrize("seed", SEEDS)
def test_multiclass_proposals_agree(seed):
    # Two runs with different proposals (t5 x 1.2 vs t20 x 1.6) and seeds
    # estimate the same 3-class posterior; an error in the proposal density
    # or the weights would bias them differently.
    X, y = multiclass_problem(
        seed, 150, [[1.0, 0.0], [-1.0, 1.5], [0.0, -1.0]], [0.5, 0.0, -0.5]
    )
    kw = {"coef_scale": 2.0, "intercept_scale": 3.0, "n_classes": 3}
    a = logistic_reference(X, y, **kw, num_draws=50_000, seed=seed)
    b = logistic_reference(
        X, y, **kw, num_draws=50_000, seed=seed + 100, df=20, scale_inflation=1.6
    )
    assert a.mean.shape == (3, 3) and a.draws.shape == (50_000, 3, 3)
    assert a.ess > 0.3 * 50_000 and b.ess > 0.3 * 50_000
    assert np.all(
        np.abs(a.mean - b.mean) <= Z_MARGIN * np.hypot(a.mean_mcse, b.mean_mcse)
    )
    assert np.all(np.abs(a.sd - b.sd) <= Z_MARGIN * np.hypot(a.sd_mcse, b.sd_mcse))


@pytest.mark.parametrize("posterior", ["dogs-dogs", "dogs-dogs_log"])
def test_agrees_with_posteriordb(posterior):
    # posteriordb's references are 10,000 NUTS draws; the MC se of a mean is
    # taken as 2 sd / sqrt(10,000) (x2 for autocorrelation, conservatively)
    # and of an sd as 2 sd / sqrt(2 x 10,000). Combined with the IS se, the
    # margins are ~0.09 sd on means and ~0.065 sd on sds. Observed gaps are
    # <= 0.012 sd on means and <= 1.8% on sds.
    spec = json.loads((POSTERIORDB_DIR / f"{posterior}.json").read_text())
    X, y = dogs_design(spec["data"]["y"])
    if posterior == "dogs-dogs":
        # beta ~ normal(0, 100) on all three; beta[1] is the intercept.
        ref = logistic_reference(
            X, y, coef_scale=100.0, intercept_scale=100.0, num_draws=40_000
        )
        names = {"beta[1]": 2, "beta[2]": 0, "beta[3]": 1}
        draws, weights = ref.draws, ref.weights
    else:
        # Flat priors on the box beta[1] in (-100, 0), beta[2] in (0, 100):
        # N(0, 1e4^2) is flat to 1e-8 over the posterior, and the box is
        # imposed by zeroing the weights of the ~0.7% of draws outside it.
        ref = logistic_reference(
            X, y, coef_scale=1e4, intercept_scale=None, num_draws=40_000
        )
        names = {"beta[1]": 0, "beta[2]": 1}
        b1, b2 = ref.draws[:, 0], ref.draws[:, 1]
        inside = (b1 > -100) & (b1 < 0) & (b2 > 0) & (b2 < 100)
        draws, weights = ref.draws, ref.weights * inside
    mean, sd, mean_se, sd_se = weighted_moments(draws, weights)
    for name, j in names.items():
        target = spec["reference"][name]
        ref_mean_se = 2 * target["sd"] / np.sqrt(10_000)
        ref_sd_se = 2 * target["sd"] / np.sqrt(2 * 10_000)
        assert abs(mean[j] - target["mean"]) <= Z_MARGIN * np.hypot(
            mean_se[j], ref_mean_se
        ), name
        assert abs(sd[j] - target["sd"]) <= Z_MARGIN * np.hypot(sd_se[j], ref_sd_se), (
            name
        )
