"""sample_weight: whole-number weights are repeated rows, for every estimator.

Weights are likelihood (frequency) weights: row i's density is raised to the
power w_i. A whole-number weight therefore equals repeating the row, which
these tests check against fits on the repeated rows: exactly where the
posterior is a closed form (Beta-Bernoulli, the Gaussian model's sufficient
statistics), and to Monte Carlo error where it is sampled. Margins are
``Z_TOL`` (4.5) joint Monte Carlo standard errors from each run's own ESS
(``assert_same_posterior``), so they hold at any seed and on any CPU.
"""

import warnings

import numpy as np
import pytest
import sklearn
import torch
from scipy import stats
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbayes import (
    BayesianLinearRegression,
    BayesianLogisticRegression,
    BetaBernoulliEstimator,
    HorseshoeRegression,
)
from skbayes.models import LinearData, LinearRegressionModel
from skbayes.priors import Horseshoe

from ..conftest import assert_same_posterior


def _weighted_problem(seed, n=40, d=3):
    """Data, whole-number weights 0-3, and the same data with rows repeated."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    coef = np.zeros(d)
    coef[:2] = [1.0, -0.5]
    y = X @ coef + 0.3 + rng.normal(size=n)
    weight = rng.integers(0, 4, size=n)
    return X, y, weight, np.repeat(X, weight, 0), np.repeat(y, weight)


def _draws(est, name):
    """``est``'s draws of ``name`` shaped (chains, draws, k)."""
    draws = est.posterior_samples_[name]
    chains = est.posterior_.num_chains
    return draws.reshape(chains, -1, int(np.prod(draws.shape[1:], dtype=int)))


def _assert_same_fit(weighted, repeated):
    sampled = ["coef", "intercept"]
    if weighted.noise == "prior":
        sampled.append("noise_scale")
    for name in sampled:
        assert_same_posterior(_draws(weighted, name), _draws(repeated, name))


# Gibbs runs (2 chains, run to 400 effective draws of every quantity) and
# the exact engine, which makes independent draws.
SAMPLED = {
    "exact": lambda seed: BayesianLinearRegression(
        inference="exact", num_samples=4000, random_state=seed
    ),
    "normal-gibbs": lambda seed: BayesianLinearRegression(
        inference="gibbs", random_state=seed
    ),
    "laplace-gibbs": lambda seed: BayesianLinearRegression(
        prior="laplace", inference="gibbs", random_state=seed
    ),
    "horseshoe-gibbs": lambda seed: HorseshoeRegression(
        inference="gibbs", random_state=seed
    ),
    "point-noise-gibbs": lambda seed: HorseshoeRegression(
        inference="gibbs", noise="point", random_state=seed
    ),
}


@pytest.mark.parametrize("case", list(SAMPLED))
@pytest.mark.parametrize("seed", [0, 1])
def test_whole_number_weights_equal_repeated_rows(case, seed):
    # Different seeds for the two fits: the agreement is in distribution, not
    # a shared random stream.
    X, y, weight, X_rep, y_rep = _weighted_problem(seed)
    weighted = SAMPLED[case](seed).fit(X, y, sample_weight=weight)
    repeated = SAMPLED[case](seed + 100).fit(X_rep, y_rep)
    _assert_same_fit(weighted, repeated)
    if case == "point-noise-gibbs":
        # Empirical Bayes: the same maximiser of the marginal likelihood, up
        # to the stochastic EM's noise (at most 0.24% apart over seeds 0-9).
        assert weighted.noise_scale_ == pytest.approx(repeated.noise_scale_, rel=0.05)


def test_weighted_horseshoe_at_d_above_rows_equals_repeated_rows():
    # 12 distinct rows of weight 1-4 and 20 features: the weighted fit samples
    # with Bhattacharya's n x n system (12 rows), the repeated one (30 rows,
    # still d < rows) with Rue's d x d system. Both are the same posterior.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(12, 20))
    y = 2.0 * X[:, 0] + rng.normal(size=12)
    weight = np.array([1, 2, 3, 4, 1, 2, 3, 4, 2, 3, 4, 1])
    weighted = HorseshoeRegression(inference="gibbs", random_state=0).fit(
        X, y, sample_weight=weight
    )
    repeated = HorseshoeRegression(inference="gibbs", random_state=1).fit(
        np.repeat(X, weight, 0), np.repeat(y, weight)
    )
    _assert_same_fit(weighted, repeated)
    assert_same_posterior(_draws(weighted, "tau"), _draws(repeated, "tau"))


def test_the_exact_posterior_of_weighted_rows_is_that_of_repeated_rows():
    # The closed form sees only X'X, X'y, y'y and the sample size, which
    # weights reproduce to rounding: the same seed gives the same draws.
    X, y, weight, X_rep, y_rep = _weighted_problem(0)
    est = BayesianLinearRegression(inference="exact", random_state=0)
    weighted = est.fit(X, y, sample_weight=weight).posterior_samples_
    repeated = est.fit(X_rep, y_rep).posterior_samples_
    for name in ["coef", "intercept", "noise_scale"]:
        np.testing.assert_allclose(weighted[name], repeated[name], atol=1e-9)


def test_weighted_data_hold_the_statistics_of_repeated_rows():
    X, y, weight, X_rep, y_rep = _weighted_problem(0)
    kwargs = {"fit_intercept": True, "dtype": torch.float64}
    weighted = LinearData.from_arrays(X, y, sample_weight=weight, **kwargs)
    repeated = LinearData.from_arrays(X_rep, y_rep, **kwargs)
    for a, b in zip(weighted.stats, repeated.stats, strict=True):
        torch.testing.assert_close(a, b)
    assert weighted.n_observations == repeated.n_samples == weight.sum()
    assert weighted.n_samples == np.count_nonzero(weight)
    for a, b in zip(weighted.centre(), repeated.centre(), strict=True):
        np.testing.assert_allclose(a, b)
    # The model's density of the weighted rows is that of the repeated rows,
    # constant included.
    values = {
        "noise_var": torch.tensor(0.7, dtype=torch.float64),
        "tau": torch.tensor(0.4, dtype=torch.float64),
        "lambda": torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64),
        "coef": torch.tensor([0.9, -0.4, 0.1], dtype=torch.float64),
    }
    prior = Horseshoe(centered=True)
    densities = [
        LinearRegressionModel(
            prior, 3, data.n_samples, n_observations=data.n_observations
        ).log_joint(values, *data.full_arguments())
        for data in (weighted, repeated)
    ]
    torch.testing.assert_close(*densities)


def test_fractional_weights_agree_across_engines():
    # Weights need not be whole numbers: the exact engine, Gibbs and NUTS
    # sample the same weighted posterior.
    rng = np.random.default_rng(5)
    X, y, *_ = _weighted_problem(5, n=30)
    weight = rng.uniform(0.2, 3.0, size=30)
    fits = {
        inference: BayesianLinearRegression(
            inference=inference, num_samples=n, random_state=0
        ).fit(X, y, sample_weight=weight)
        for inference, n in [("exact", 4000), ("gibbs", 1000), ("nuts", 1000)]
    }
    for inference in ["gibbs", "nuts"]:
        _assert_same_fit(fits[inference], fits["exact"])


def test_svi_with_weights_and_minibatches_reaches_the_weighted_posterior():
    # SVI is approximate: its bar elsewhere is 0.3 posterior sd in means. The
    # posterior sds here are about 0.1-0.2, and the exact means carry
    # sd / sqrt(20000) of Monte Carlo error, negligible against 0.3 sd.
    X, y, weight, *_ = _weighted_problem(2, n=200)
    exact = BayesianLinearRegression(
        inference="exact", num_samples=20_000, random_state=0
    ).fit(X, y, sample_weight=weight)
    mean, sd = exact.coef_, exact.posterior_samples_["coef"].std(0)
    for batch_size in [None, 50]:
        svi = BayesianLinearRegression(
            inference="svi", batch_size=batch_size, random_state=0
        ).fit(X, y, sample_weight=weight)
        assert np.all(np.abs(svi.coef_ - mean) < 0.3 * sd), (batch_size, svi.coef_)


def test_zero_weights_drop_rows():
    X, y, weight, *_ = _weighted_problem(0)
    weight = (weight > 0).astype(float)
    kept = weight > 0
    est = BayesianLinearRegression(inference="exact", random_state=0)
    dropped = est.fit(X, y, sample_weight=weight).posterior_samples_
    subset = est.fit(X[kept], y[kept]).posterior_samples_
    for name in ["coef", "intercept", "noise_scale"]:
        np.testing.assert_allclose(dropped[name], subset[name], atol=1e-9)


# -- Beta-Bernoulli: the posterior is Beta(alpha + sum w x, beta + sum w (1-x)).


@pytest.mark.parametrize("inference", ["exact", "svi", "nuts"])
def test_beta_bernoulli_weights_are_counts(inference):
    rng = np.random.default_rng(1)
    X = (rng.random((30, 2)) < 0.3).astype(int)
    weight = rng.integers(0, 4, size=30)
    est = BetaBernoulliEstimator(inference=inference, random_state=0)
    weighted = est.fit(X, sample_weight=weight)
    successes = weight @ X
    np.testing.assert_array_equal(weighted.posterior_alpha_, 1 + successes)
    np.testing.assert_array_equal(
        weighted.posterior_beta_, 1 + weight.sum() - successes
    )
    draws = weighted.posterior_samples_["p"]
    repeated = BetaBernoulliEstimator(inference=inference, random_state=0).fit(
        np.repeat(X, weight, 0)
    )
    # Same seed, same counts: the engines see the same sufficient statistics.
    np.testing.assert_allclose(draws, repeated.posterior_samples_["p"], rtol=1e-7)
    if inference == "exact":
        # And the draws follow the closed form: KS test at the 1e-4 level.
        beta = stats.beta(1 + successes[0], 1 + weight.sum() - successes[0])
        assert stats.kstest(draws[:, 0], beta.cdf).pvalue > 1e-4


# -- validation and sklearn's metadata routing ------------------------------------

ESTIMATORS = [
    BayesianLinearRegression(inference="exact"),
    HorseshoeRegression(inference="gibbs", num_samples=50, num_warmup=50),
    BetaBernoulliEstimator(inference="exact"),
]


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize(
    "weight, message",
    [
        (np.r_[-1.0, np.ones(9)], "Negative values in data passed to `sample_weight`"),
        (np.ones(9), r"sample_weight.shape == \(9,\), expected \(10,\)"),
        (np.zeros(10), "Sample weights must contain at least one non-zero number"),
        (np.r_[np.nan, np.ones(9)], "Input sample_weight contains NaN"),
    ],
)
def test_bad_weights_raise_a_value_error_that_names_them(est, weight, message):
    rng = np.random.default_rng(0)
    X = (rng.random((10, 2)) < 0.5).astype(float)
    y = rng.normal(size=10)
    with pytest.raises(ValueError, match=message):
        est.fit(X, y, sample_weight=weight)


def test_weights_reach_the_estimator_through_metadata_routing():
    X, y, weight, *_ = _weighted_problem(0, n=60)
    est = BayesianLinearRegression(inference="exact", random_state=0)
    folds = KFold(3)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            StandardScaler().set_fit_request(sample_weight=False),
            est.set_fit_request(sample_weight=True).set_score_request(
                sample_weight=True
            ),
        )
        routed = cross_validate(pipe, X, y, cv=folds, params={"sample_weight": weight})[
            "test_score"
        ]
        search = GridSearchCV(est, {"prior__scale": [1.0, 10.0]}, cv=folds).fit(
            X, y, sample_weight=weight
        )
    # By hand: scale on the training rows, fit with their weights, score with
    # the test rows' weights.
    expected = []
    for train, test in folds.split(X):
        scaler = StandardScaler().fit(X[train])
        fitted = BayesianLinearRegression(inference="exact", random_state=0).fit(
            scaler.transform(X[train]), y[train], sample_weight=weight[train]
        )
        expected.append(
            fitted.score(scaler.transform(X[test]), y[test], sample_weight=weight[test])
        )
    np.testing.assert_allclose(routed, expected, rtol=1e-12)
    best = clone(est).set_params(**search.best_params_)
    best.fit(X, y, sample_weight=weight)
    np.testing.assert_allclose(search.best_estimator_.coef_, best.coef_)


def test_the_classifier_and_beta_bernoulli_take_routed_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    labels = (X[:, 0] + rng.normal(size=60) > 0).astype(int)
    weight = rng.integers(1, 3, size=60)
    with (
        sklearn.config_context(enable_metadata_routing=True),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        clf = BayesianLogisticRegression(
            inference="gibbs", num_samples=100, num_warmup=100, random_state=0
        )
        clf.set_fit_request(sample_weight=True).set_score_request(sample_weight=True)
        scores = cross_validate(
            clf, X, labels, cv=KFold(2), params={"sample_weight": weight}
        )["test_score"]
        coin = BetaBernoulliEstimator(inference="exact").set_fit_request(
            sample_weight=True
        )
        coin_scores = cross_validate(
            coin, (X > 0).astype(int), cv=KFold(2), params={"sample_weight": weight}
        )["test_score"]
    assert np.all(scores > 0.6)
    train = np.arange(30, 60)
    fitted = BetaBernoulliEstimator(inference="exact").fit(
        (X[train] > 0).astype(int), sample_weight=weight[train]
    )
    assert coin_scores[0] == pytest.approx(fitted.score((X[:30] > 0).astype(int)))
