"""Noise, flat, array-valued Normal and intercept priors, against closed forms.

The densities are compared with scipy's; the exact engine's noise posterior
with quadrature of an independently written density; the flat prior's
posterior with its textbook closed form. Sampler accuracy for the other
kernels is checked against quadrature in ``test_gibbs.py`` (slow tier).
"""

import math
import warnings

import numpy as np
import pytest
import torch

from skbayes import BayesianLinearRegression, HorseshoeRegression
from skbayes.models import LinearData, LinearRegressionModel
from skbayes.priors import (
    NOISE_PRIORS,
    Exponential,
    Flat,
    FlatScale,
    HalfCauchy,
    HalfNormal,
    HalfStudentT,
    InverseGamma,
    Jeffreys,
    Normal,
    resolve_noise_prior,
)

from .._references import log_evidence, noise_log_density
from ..conftest import linear_problem

PROPER = [
    InverseGamma(2.0, 1.5),
    HalfNormal(2.0),
    HalfCauchy(2.5),
    HalfStudentT(4.0, 1.5),
    Exponential(0.7),
]
IMPROPER = [FlatScale(), Jeffreys()]
SEEDS = (0, 1, 2)
DRAWS = 20_000


def _name(prior):
    return type(prior).__name__


# -- the densities ------------------------------------------------------------------


@pytest.mark.parametrize("prior", PROPER + IMPROPER, ids=_name)
def test_log_density_is_scipys_density_of_log_variance(prior):
    u = np.linspace(-12.0, 12.0, 97)
    expected = noise_log_density(prior, u)
    numpy_value = prior.log_density(u)
    torch_value = prior.log_density(torch.as_tensor(u)).numpy()
    if prior.proper:
        np.testing.assert_allclose(numpy_value, expected, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(torch_value, expected, rtol=1e-10, atol=1e-10)
    else:  # equal up to a constant
        for value in (numpy_value, torch_value):
            gap = value - expected
            np.testing.assert_allclose(gap, gap[0], atol=1e-10)


@pytest.mark.parametrize("prior", PROPER, ids=_name)
def test_proper_densities_integrate_to_one(prior):
    u = np.linspace(-80.0, 80.0, 400_001)
    mass = np.trapezoid(np.exp(prior.log_density(u)), u)
    assert mass == pytest.approx(1.0, abs=1e-4)  # the half-Cauchy's tails


@pytest.mark.parametrize("prior", PROPER, ids=_name)
def test_site_is_the_density_and_the_draws_of_the_noise_variance(prior):
    like = torch.zeros((), dtype=torch.float64)
    site = prior.site(like)
    v = torch.logspace(-3, 3, 13, dtype=torch.float64)
    np.testing.assert_allclose(
        site.log_prob(v).numpy(),
        noise_log_density(prior, v.log().numpy()) - v.log().numpy(),
        rtol=1e-10,
    )
    # Prior draws of sigma against the CDF of u = log sigma**2 by quadrature.
    u = np.linspace(-60.0, 60.0, 200_001)
    cdf = np.cumsum(np.exp(noise_log_density(prior, u)))
    cdf /= cdf[-1]
    for seed in SEEDS:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            draws = site.sample((DRAWS,)).log().numpy()
        for p in (0.1, 0.5, 0.9):
            quantile = np.interp(p, cdf, u)
            # Binomial(S, p) / S: 4 of its sds (at most 0.0141), plus the grid.
            assert (
                abs(np.mean(draws <= quantile) - p)
                < 4 * math.sqrt(p * (1 - p) / DRAWS) + 1e-3
            )


def test_improper_priors_have_no_draws():
    with pytest.raises(NotImplementedError, match="improper"):
        FlatScale().site(torch.zeros(())).sample()


def test_inverse_gamma_needs_no_correction_and_the_others_do():
    for prior in [InverseGamma(2.0, 1.0), FlatScale(), Jeffreys()]:
        assert prior.conjugate
        assert np.all(prior.residual_log_density(np.linspace(-5, 5, 11)) == 0)
    for prior in PROPER[1:]:
        assert not prior.conjugate


# -- naming and validation ----------------------------------------------------------


def test_resolve_noise_prior_takes_objects_aliases_and_pairs():
    assert resolve_noise_prior((2.0, 3.0)).get_params() == {"shape": 2.0, "rate": 3.0}
    for alias, cls in NOISE_PRIORS.items():
        assert type(resolve_noise_prior(alias)) is cls
    given = HalfCauchy(2.5)
    resolved = resolve_noise_prior(given)
    assert resolved is not given and resolved.get_params() == {"scale": 2.5}


@pytest.mark.parametrize(
    ("noise_prior", "match"),
    [
        ((1.0, -2.0), "rate"),
        ((1.0, np.nan), "pair"),
        ((1.0, 2.0, 3.0), "pair"),
        ("half_laplace", "half_laplace"),
        (HalfCauchy(-1.0), "scale"),
        (HalfStudentT(df=0.0), "df"),
        (Normal(), "NoisePrior"),
    ],
)
def test_bad_noise_priors_raise_value_errors(noise_prior, match):
    X, y = linear_problem(0, 20, [1.0], 0.0, 1.0)
    with pytest.raises(ValueError, match=match):
        BayesianLinearRegression(noise_prior=noise_prior).fit(X, y)


def test_old_noise_name_still_works_and_warns():
    X, y = linear_problem(0, 20, [1.0, -1.0], 0.0, 1.0)
    new = BayesianLinearRegression(random_state=0).fit(X, y)
    with pytest.warns(FutureWarning, match='noise="prior"'):
        old = BayesianLinearRegression(noise="inverse_gamma", random_state=0).fit(X, y)
    np.testing.assert_array_equal(old.coef_, new.coef_)


@pytest.mark.parametrize(
    ("kwargs", "n", "d", "match"),
    [
        ({"prior": Flat()}, 5, 6, "full column rank"),
        ({"prior": Flat()}, 6, 6, "full column rank"),  # the intercept's row
        ({"prior": Flat(), "noise_prior": FlatScale()}, 5, 3, "too few"),
        ({"noise_prior": FlatScale()}, 2, 1, "too few"),
        ({"noise_prior": Jeffreys()}, 4, 3, "fit the data exactly"),
        ({"prior": "horseshoe", "noise_prior": Jeffreys()}, 5, 8, "exactly"),
    ],
)
def test_improper_posteriors_are_refused(kwargs, n, d, match):
    X, y = linear_problem(0, n, [1.0] * d, 0.0, 1.0)
    with pytest.raises(ValueError, match=match):
        BayesianLinearRegression(**kwargs).fit(X, y)


def test_flat_prior_refuses_collinear_columns():
    X, y = linear_problem(0, 30, [1.0, 2.0], 0.0, 1.0)
    X = np.column_stack([X, X[:, 0] - X[:, 1]])
    with pytest.raises(ValueError, match="rank 2 < 3"):
        BayesianLinearRegression(Flat()).fit(X, y)


@pytest.mark.parametrize(
    ("prior", "match"),
    [
        (Normal(scale=[1.0, 2.0]), "2 entries; X has 3"),
        (Normal(scale=[1.0, -2.0, 1.0]), "positive"),
        (Normal(scale=[1.0, np.inf, 1.0]), "infinite for some"),
        (Normal(loc=[0.0, np.nan, 0.0]), "finite"),
        (Normal(scale=[[1.0, 2.0, 3.0]]), "1-D"),
    ],
)
def test_bad_normal_parameters_raise_value_errors(prior, match):
    X, y = linear_problem(0, 20, [1.0, 0.0, -1.0], 0.0, 1.0)
    with pytest.raises(ValueError, match=match):
        BayesianLinearRegression(prior).fit(X, y)


def test_the_classifier_refuses_the_flat_and_array_priors():
    from skbayes import BayesianLogisticRegression

    X, y = linear_problem(0, 20, [1.0, -1.0], 0.0, 1.0)
    labels = (y > 0).astype(int)
    for prior in [Flat(), Normal(scale=[1.0, 2.0]), Normal(loc=1.0)]:
        with pytest.raises(ValueError, match="one finite scale and zero loc"):
            BayesianLogisticRegression(prior).fit(X, labels)


# -- the flat prior's closed form ---------------------------------------------------


def _flat_closed_form(X, y):
    """Posterior of the flat-beta, flat-sigma regression with an intercept.

    ``sigma**2 | y ~ InverseGamma((n - d - 2) / 2, RSS / 2)``: the likelihood
    leaves ``(sigma**2)**(-(n - 1 - d) / 2)`` once beta and the intercept
    are integrated out, and the flat prior on sigma adds
    ``(sigma**2)**(-1/2)``. ``beta | sigma**2 ~ N(OLS, sigma**2 (X'X)^-1)``
    on the centred X: a multivariate t with ``nu = n - d - 2`` degrees of
    freedom, mean OLS and covariance ``E[sigma**2] (X'X)^-1``.
    """
    n, d = X.shape
    Xc, yc = X - X.mean(0), y - y.mean()
    ols = np.linalg.solve(Xc.T @ Xc, Xc.T @ yc)
    rss = np.sum((yc - Xc @ ols) ** 2)
    shape, rate = (n - d - 2) / 2, rss / 2
    noise_mean = rate / (shape - 1)
    noise_sd = noise_mean / math.sqrt(shape - 2)
    coef_sd = np.sqrt(noise_mean * np.diag(np.linalg.inv(Xc.T @ Xc)))
    return ols, coef_sd, noise_mean, noise_sd, n - d - 2


@pytest.mark.parametrize("inference", ["exact", "gibbs"])
@pytest.mark.parametrize("seed", SEEDS)
def test_flat_priors_give_the_textbook_posterior(inference, seed):
    X, y = linear_problem(seed, 40, [1.0, -0.5, 2.0], 1.0, 0.7)
    ols, coef_sd, noise_mean, noise_sd, nu = _flat_closed_form(X, y)
    est = BayesianLinearRegression(
        Flat(),
        noise_prior=FlatScale(),
        inference=inference,
        num_samples=DRAWS if inference == "exact" else 5000,
        random_state=seed,
    ).fit(X, y)
    draws = est.posterior_samples_
    coef, noise_var = draws["coef"], draws["noise_scale"] ** 2
    if inference == "exact":
        ess_coef = ess_noise = DRAWS
    else:
        ess_coef = est.diagnostics_["n_eff"]["coef"]
        ess_noise = est.diagnostics_["n_eff"]["noise_var"]
    # Means: MC sd sd / sqrt(ESS). The sample sd of a t_nu has a relative MC
    # sd of sqrt((2 + 6 / (nu - 4)) / (4 ESS)) (excess kurtosis 6 / (nu -
    # 4)): 0.0053 at nu = 35 and 20,000 draws. 4 of each.
    np.testing.assert_array_less(
        np.abs(coef.mean(0) - ols), 4 * coef_sd / np.sqrt(ess_coef)
    )
    relative = np.sqrt((2 + 6 / (nu - 4)) / (4 * ess_coef))
    np.testing.assert_array_less(np.abs(coef.std(0) / coef_sd - 1), 4 * relative)
    assert abs(noise_var.mean() - noise_mean) < 4 * noise_sd / np.sqrt(ess_noise)


@pytest.mark.parametrize("seed", SEEDS)
def test_array_normal_prior_is_the_conjugate_gaussian(seed):
    # With the noise fixed the posterior is N(m, A^-1), A = X'X / s2 +
    # diag(1 / scale**2), m = A^-1 (X'y / s2 + loc / scale**2).
    X, y = linear_problem(seed, 15, [1.0, -0.5, 0.0, 2.0], 1.0, 0.5)
    scale, loc = np.array([0.3, 1.0, 2.0, 0.1]), np.array([0.5, 0.0, -1.0, 3.0])
    data = LinearData.from_arrays(X, y, fit_intercept=True, dtype=torch.float64)
    prior = Normal(scale=scale, loc=loc)
    model = LinearRegressionModel(prior, 4, data.n_samples, noise=0.5)
    posterior = model.exact_posterior(data)
    coef = posterior.sample(DRAWS, np.random.default_rng(seed))["coef"].numpy()
    Xc, yc = X - X.mean(0), y - y.mean()
    precision = Xc.T @ Xc / 0.25 + np.diag(1 / scale**2)
    cov = np.linalg.inv(precision)
    mean = cov @ (Xc.T @ yc / 0.25 + loc / scale**2)
    sd = np.sqrt(np.diag(cov))
    # Independent draws: the mean's MC sd is sd / sqrt(S), the sd's about
    # sd / sqrt(2 S); 4 of each.
    np.testing.assert_array_less(np.abs(coef.mean(0) - mean), 4 * sd / math.sqrt(DRAWS))
    np.testing.assert_array_less(
        np.abs(coef.std(0) - sd), 4 * sd / math.sqrt(2 * DRAWS)
    )


@pytest.mark.parametrize("inference", ["gibbs", "nuts", "svi"])
def test_every_engine_agrees_with_exact_under_an_array_normal_prior(inference):
    # The same standardisation serves Gibbs, NUTS's whitening and SVI's
    # start: a wrong scale or loc there moves the mean by many MC sds.
    X, y = linear_problem(3, 30, [1.0, -0.5, 2.0], 1.0, 0.7)
    options = dict(
        prior=Normal(scale=[0.2, 1.0, 5.0], loc=[1.0, 0.0, -1.0]),
        noise_prior=HalfNormal(2.0),
        random_state=0,
    )
    exact = BayesianLinearRegression(
        inference="exact", num_samples=DRAWS, **options
    ).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SVI's reliability warning, if any
        other = BayesianLinearRegression(
            inference=inference, num_samples=4000, **options
        ).fit(X, y)
    ref = exact.posterior_samples_["coef"]
    sd = ref.std(0)
    if inference == "svi":
        # Approximate: within a tenth of an sd, as the SBC found the Normal
        # prior's SVI indistinguishable from exact.
        np.testing.assert_array_less(np.abs(other.coef_ - exact.coef_), 0.1 * sd)
        return
    # MC sd of the difference of means: sd sqrt(1 / ESS + 1 / S); 4 of it.
    ess = other.diagnostics_["n_eff"]["coef"]
    margin = 4 * sd * np.sqrt(1 / ess + 1 / DRAWS)
    np.testing.assert_array_less(np.abs(other.coef_ - exact.coef_), margin)


# -- the exact engine under every noise prior ---------------------------------------


@pytest.mark.parametrize("noise_prior", [*PROPER[1:], *IMPROPER], ids=_name)
@pytest.mark.parametrize("seed", SEEDS)
def test_exact_noise_draws_follow_the_marginal_posterior(noise_prior, seed):
    X, y = linear_problem(seed, 12, [1.0, -0.5], 1.0, 1.5)
    data = LinearData.from_arrays(X, y, fit_intercept=True, dtype=torch.float64)
    model = LinearRegressionModel(
        Normal(1.0), data.n_features, data.n_samples, noise_prior=noise_prior
    )
    draws = model.exact_posterior(data).sample(DRAWS, np.random.default_rng(seed))
    log_var = np.log(draws["noise_var"].numpy())
    grid = np.linspace(log_var.min() - 1, log_var.max() + 1, 4001)
    Xc, yc = X - X.mean(0), y - y.mean()
    log_density = np.array(
        [log_evidence(Xc, yc, 1.0, math.exp(u), True) for u in grid]
    ) + noise_log_density(noise_prior, grid)
    cdf = np.cumsum(np.exp(log_density - log_density.max()))
    cdf /= cdf[-1]
    for p in (0.05, 0.25, 0.5, 0.75, 0.95):
        reference = np.interp(p, cdf, grid)
        # Binomial(S, p) / S: 4 of its sds (at most 0.0141), plus the grid.
        empirical = np.mean(log_var <= reference)
        assert abs(empirical - p) < 4 * math.sqrt(p * (1 - p) / DRAWS) + 1e-3


def test_horseshoe_takes_every_noise_prior():
    X, y = linear_problem(0, 40, [2.0, 0.0, -1.0], 1.0, 0.5)
    for noise_prior in [*PROPER, *IMPROPER]:
        est = HorseshoeRegression(
            noise_prior=noise_prior, inference="gibbs", random_state=0
        ).fit(X, y)
        sigma = est.posterior_samples_["noise_scale"]
        assert np.all(np.isfinite(sigma)) and 0.3 < sigma.mean() < 0.8


# -- the proper intercept prior -----------------------------------------------------


@pytest.mark.parametrize("inference", ["exact", "gibbs"])
@pytest.mark.parametrize("seed", SEEDS)
def test_intercept_prior_is_the_model_with_an_explicit_intercept(inference, seed):
    # y = a + X coef + e with a_c = a + mean(X) @ coef ~ N(2, 0.5**2) is
    # y = a_c + (X - mean(X)) @ coef + e: the exact engine on the centred X
    # plus a column of ones with Normal(scale=[1, 1, 0.5], loc=[0, 0, 2]),
    # through none of the intercept code. The noise prior is not
    # inverse-gamma, so Gibbs draws sigma through the evidence.
    X, y = linear_problem(seed, 15, [1.0, -2.0], 5.0, 1.0)
    X = X + 3.0  # far from the origin: a and a_c differ
    noise_prior = HalfCauchy(1.0)
    est = BayesianLinearRegression(
        Normal(1.0),
        intercept_prior=Normal(0.5, loc=2.0),
        noise_prior=noise_prior,
        inference=inference,
        num_samples=DRAWS if inference == "exact" else 5000,
        random_state=seed,
    ).fit(X, y)
    explicit = BayesianLinearRegression(
        Normal(scale=[1.0, 1.0, 0.5], loc=[0.0, 0.0, 2.0]),
        noise_prior=noise_prior,
        fit_intercept=False,
        inference="exact",
        num_samples=DRAWS,
        random_state=seed + 100,
    ).fit(np.column_stack([X - X.mean(0), np.ones(len(X))]), y)
    ours = est.posterior_samples_
    centred = ours["intercept"] + ours["coef"] @ X.mean(0)
    mine = np.column_stack([ours["coef"], centred, ours["noise_scale"]])
    ref = explicit.posterior_samples_
    theirs = np.column_stack([ref["coef"], ref["noise_scale"]])
    sd = theirs.std(0)
    ess = DRAWS if inference == "exact" else est.diagnostics_["n_eff"]["noise_var"]
    # Two independent samples: the difference of means has an MC sd of
    # sd sqrt(1 / ESS + 1 / S), that of sds about sd sqrt((1 / ESS + 1 / S)
    # / 2) (sigma's skew adds a little; 5 of them); 4 and 5 of each.
    spread = np.sqrt(1 / np.min(ess) + 1 / DRAWS)
    np.testing.assert_array_less(np.abs(mine.mean(0) - theirs.mean(0)), 4 * sd * spread)
    np.testing.assert_array_less(np.abs(mine.std(0) - sd), 5 * sd * spread / np.sqrt(2))
    # intercept_ is E[a_c] - mean(X) @ coef_, without the intercept draws' noise.
    expected = explicit.coef_[2] - X.mean(0) @ explicit.coef_[:2]
    assert abs(est.intercept_ - expected) < 4 * np.std(ours["intercept"]) * spread


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"intercept_prior": Normal(1.0), "fit_intercept": False}, "fit_intercept"),
        ({"intercept_prior": Normal(scale=[1.0, 2.0])}, "one scale and one loc"),
        ({"intercept_prior": HalfCauchy(1.0)}, "intercept_prior"),
    ],
)
def test_bad_intercept_priors_raise_value_errors(kwargs, match):
    X, y = linear_problem(0, 20, [1.0, 0.0], 0.0, 1.0)
    with pytest.raises(ValueError, match=match):
        BayesianLinearRegression(**kwargs).fit(X, y)


def test_a_flat_intercept_prior_is_the_default():
    X, y = linear_problem(0, 20, [1.0, -1.0], 3.0, 1.0)
    default = BayesianLinearRegression(random_state=0).fit(X, y)
    flat = BayesianLinearRegression(intercept_prior=Flat(), random_state=0).fit(X, y)
    np.testing.assert_array_equal(
        flat.posterior_samples_["intercept"], default.posterior_samples_["intercept"]
    )


def test_grid_search_reaches_into_noise_and_intercept_priors():
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    X, y = linear_problem(0, 30, [1.0, -1.0], 3.0, 1.0)
    est = BayesianLinearRegression(
        noise_prior=HalfCauchy(1.0),
        intercept_prior=Normal(1.0),
        num_samples=200,
        random_state=0,
    )
    assert clone(est).get_params()["noise_prior__scale"] == 1.0
    search = GridSearchCV(
        est,
        {"noise_prior__scale": [0.5, 5.0], "intercept_prior__loc": [0.0, 3.0]},
        cv=3,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    # The search did not change the estimator it was given.
    assert est.noise_prior.scale == 1.0 and est.intercept_prior.loc == 0.0
