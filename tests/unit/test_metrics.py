"""skbayes.metrics: CRPS, log predictive density, intervals, and their scorers."""

import numpy as np
import pytest
from scipy import stats
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from skbayes import (
    BayesianLinearRegression,
    BayesianLogisticRegression,
    BetaBernoulliEstimator,
    HorseshoeRegression,
    metrics,
)
from skbayes.metrics import (
    PredictiveScorer,
    coverage_scorer,
    crps,
    crps_scorer,
    interval_coverage,
    interval_width,
    interval_width_scorer,
    log_predictive_density_scorer,
    make_predictive_scorer,
    mean_log_predictive_density,
    pointwise_log_likelihood,
)

from ..conftest import Z_TOL, linear_problem


@pytest.fixture(scope="module")
def fitted_regressor():
    X, y = linear_problem(0, 80, [1.0, -2.0, 0.5], 1.0, 0.7)
    return BayesianLinearRegression(random_state=0).fit(X[:50], y[:50]), X[50:], y[50:]


@pytest.fixture(scope="module")
def fitted_classifier():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    y = np.where(X @ [1.5, -1.0] + rng.logistic(size=120) > 0, "yes", "no")
    return BayesianLogisticRegression(random_state=0).fit(X, y), X, y


# -- CRPS -------------------------------------------------------------------------
def gaussian_crps(y, mu, sigma):
    """Closed form (Gneiting and Raftery 2007, eq. 5) for N(mu, sigma**2)."""
    z = (y - mu) / sigma
    return sigma * (
        z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi)
    )


def test_crps_of_normal_draws_matches_the_closed_form():
    mu, sigma, num = 0.5, 2.0, 20_000
    y = np.array([-4.0, -1.0, 0.5, 1.0, 3.0, 7.0])
    draws = mu + sigma * np.random.default_rng(1).standard_normal((num, len(y)))
    estimate = crps(y, draws, pointwise=True)
    # Margin. The NRG estimate is a V-statistic: mean_s |x_s - y| minus half
    # the mean over all S**2 pairs of |x_s - x_t|. Its first-order (Hoeffding)
    # part is the mean of g(x_s) = |x_s - y| - h(x_s), with
    # h(x) = E|x - X'| = sigma * (u (2 Phi(u) - 1) + 2 phi(u)), u = (x - mu) / sigma,
    # so its Monte Carlo sd is sd(g) / sqrt(S), estimated from the draws;
    # the rest is the bias E|X - X'| / (2 S) = sigma / (sqrt(pi) S), added on.
    u = (draws - mu) / sigma
    h = sigma * (u * (2 * stats.norm.cdf(u) - 1) + 2 * stats.norm.pdf(u))
    mc_sd = (np.abs(draws - y) - h).std(0) / np.sqrt(num)
    bias = sigma / (np.sqrt(np.pi) * num)
    error = np.abs(estimate - gaussian_crps(y, mu, sigma) - bias)
    assert np.all(error < Z_TOL * mc_sd + bias), (error, mc_sd)
    assert np.all(mc_sd < 0.02)  # so the check has teeth: CRPS here is 0.47-5.4


def test_crps_equals_the_pairwise_definition_and_the_absolute_error():
    rng = np.random.default_rng(0)
    y, draws = rng.normal(size=7), rng.normal(size=(31, 7))
    pairs = np.abs(draws[:, None, :] - draws[None, :, :]).mean((0, 1))
    by_definition = np.abs(draws - y).mean(0) - pairs / 2
    np.testing.assert_allclose(
        crps(y, draws, pointwise=True), by_definition, rtol=1e-12
    )
    # A point forecast (every draw equal) scores its absolute error.
    point = np.repeat([[1.0, -2.0, 0.5]], 5, axis=0)
    np.testing.assert_allclose(
        crps([0.0, 0.0, 3.0], point, pointwise=True), [1.0, 2.0, 2.5]
    )
    # Two draws {0, 1}: the integral of (F(z) - 1{z >= 0})**2 is 0.25 on [0, 1).
    assert crps([0.0], [[0.0], [1.0]]) == pytest.approx(0.25)
    weight = np.arange(1.0, 8.0)
    assert crps(y, draws, sample_weight=weight) == pytest.approx(
        np.average(by_definition, weights=weight)
    )


# -- log predictive density ---------------------------------------------------------
def test_lppd_of_draws_matches_the_closed_form():
    # theta ~ N(m, s**2), y | theta ~ N(theta, 1): the predictive is N(m, 1 + s**2).
    m, s, num = 0.3, 0.8, 20_000
    y = np.array([-3.0, -0.5, 0.3, 1.2, 4.0])
    theta = m + s * np.random.default_rng(2).standard_normal(num)
    log_lik = stats.norm.logpdf(y, theta[:, None], 1.0)
    estimate = mean_log_predictive_density(log_lik, pointwise=True)
    expected = stats.norm.logpdf(y, m, np.sqrt(1 + s**2))
    # Margin: log of a mean of S iid p_s = N(y | theta_s, 1); by the delta
    # method its sd is sd(p) / (sqrt(S) E p), with E p the predictive density
    # and E p**2 = N(y | m, 1/2 + s**2) / (2 sqrt(pi)) in closed form.
    mean_p = np.exp(expected)
    mean_p2 = stats.norm.pdf(y, m, np.sqrt(0.5 + s**2)) / (2 * np.sqrt(np.pi))
    mc_sd = np.sqrt(mean_p2 - mean_p**2) / (np.sqrt(num) * mean_p)
    assert np.all(np.abs(estimate - expected) < Z_TOL * mc_sd), (estimate, expected)
    assert mean_log_predictive_density(log_lik) == pytest.approx(estimate.mean())


def test_lppd_stays_on_the_log_scale():
    log_lik = np.log([[0.2, 0.5], [0.4, 0.5]])
    np.testing.assert_allclose(
        mean_log_predictive_density(log_lik, pointwise=True), np.log([0.3, 0.5])
    )
    # Every p underflows to 0 in float64, yet the answer is exact.
    shifted = mean_log_predictive_density(log_lik - 2000.0, pointwise=True)
    np.testing.assert_allclose(shifted, np.log([0.3, 0.5]) - 2000.0, rtol=1e-14)
    with np.errstate(divide="ignore"):
        assert np.log(np.mean(np.exp(log_lik - 2000.0))) == -np.inf
    # A target that every draw calls impossible scores -inf, not NaN.
    impossible = mean_log_predictive_density(
        [[-np.inf, 0.0], [-np.inf, 0.0]], pointwise=True
    )
    assert impossible[0] == -np.inf and impossible[1] == 0.0


def test_pointwise_log_likelihood_of_a_regressor(fitted_regressor, monkeypatch):
    est, X, y = fitted_regressor
    log_lik = pointwise_log_likelihood(est, X, y, num_samples=300, random_state=4)
    draws = est.sample_posterior(300, random_state=4)
    mean = draws["coef"] @ X.T + draws["intercept"][:, None]
    expected = stats.norm.logpdf(y, mean, draws["noise_scale"][:, None])
    np.testing.assert_allclose(log_lik, expected, rtol=1e-12)
    # The scorer is its lppd, at the default 1,000 draws of random_state=0.
    full = pointwise_log_likelihood(est, X, y)
    score = log_predictive_density_scorer(est, X, y)
    assert score == pytest.approx(mean_log_predictive_density(full), rel=1e-12)
    assert score == log_predictive_density_scorer(est, X, y)  # reproducible
    # Row blocks (here 3 rows at a time) change nothing.
    monkeypatch.setattr(metrics, "_BLOCK_ENTRIES", 3000)
    assert log_predictive_density_scorer(est, X, y) == pytest.approx(score, rel=1e-12)
    np.testing.assert_allclose(pointwise_log_likelihood(est, X, y), full, rtol=1e-12)


def test_log_predictive_density_of_classifiers(fitted_classifier):
    clf, X, y = fitted_classifier
    proba = clf.predict_proba(X)
    expected = np.log(proba[np.arange(len(y)), np.searchsorted(clf.classes_, y)])
    assert log_predictive_density_scorer(clf, X, y) == pytest.approx(expected.mean())
    # Drawing every stored posterior draw once (Gibbs draws are resampled
    # without replacement) gives predict_proba's average exactly.
    stored = len(clf.posterior_samples_["coef"])
    log_lik = pointwise_log_likelihood(clf, X, y, num_samples=stored)
    np.testing.assert_allclose(
        mean_log_predictive_density(log_lik, pointwise=True), expected, rtol=1e-10
    )
    with pytest.raises(ValueError, match="labels the classifier was not fitted on"):
        log_predictive_density_scorer(clf, X[:2], ["yes", "maybe"])
    # More classes: the log-softmax of each draw.
    rng = np.random.default_rng(1)
    X3 = rng.normal(size=(60, 2))
    y3 = np.digitize(2 * X3[:, 0] + 0.5 * rng.normal(size=60), [-1.0, 1.0])
    clf3 = BayesianLogisticRegression(random_state=0, num_samples=500).fit(X3, y3)
    log_lik3 = pointwise_log_likelihood(
        clf3, X3, y3, num_samples=len(clf3.posterior_samples_["coef"])
    )
    proba3 = clf3.predict_proba(X3)[np.arange(60), y3]
    np.testing.assert_allclose(
        np.exp(mean_log_predictive_density(log_lik3, pointwise=True)),
        proba3,
        rtol=1e-10,
    )


def test_log_predictive_density_of_the_beta_bernoulli():
    rng = np.random.default_rng(0)
    est = BetaBernoulliEstimator().fit((rng.random((40, 2)) < 0.3).astype(int))
    X_new = (rng.random((20, 2)) < 0.3).astype(int)
    assert log_predictive_density_scorer(est, X_new) == pytest.approx(est.score(X_new))


# -- intervals ------------------------------------------------------------------------
def test_interval_coverage_and_width_on_hand_made_intervals():
    interval = np.array([[0.0, 1.0], [0.0, 1.0], [2.0, 3.0], [2.0, 6.0]])
    y = [0.5, 1.0, 1.9, 7.0]  # inside, on the bound (inside), below, above
    assert interval_coverage(y, interval) == 0.25 * 2
    assert interval_width(interval) == pytest.approx((1 + 1 + 1 + 4) / 4)
    weight = [1.0, 0.0, 0.0, 3.0]
    assert interval_coverage(y, interval, sample_weight=weight) == 0.25
    assert interval_width(interval, sample_weight=weight) == pytest.approx(13 / 4)
    # A stack, as predict_interval returns for a list of coverages.
    stack = np.stack([interval, interval + np.array([-2.0, 2.0])])
    np.testing.assert_allclose(interval_coverage(y, stack), [0.5, 1.0])
    np.testing.assert_allclose(interval_width(stack), [1.75, 5.75])


def test_predict_interval_takes_a_list_of_coverages(fitted_regressor):
    est, X, _ = fitted_regressor
    levels = [0.5, 0.9, 0.95]
    for given in (levels, tuple(levels), np.array(levels)):
        stacked = est.predict_interval(X, coverage=given)
        assert stacked.shape == (3, len(X), 2)
        for level, interval in zip(levels, stacked, strict=True):
            np.testing.assert_array_equal(interval, est.predict_interval(X, level))
    assert est.predict_interval(X, coverage=[0.9]).shape == (1, len(X), 2)
    assert est.predict_interval(X, coverage=0.9).shape == (len(X), 2)
    width = interval_width(stacked)
    assert np.all(np.diff(width) > 0)  # wider for more coverage


@pytest.mark.parametrize(
    "coverage", [0, 1, 1.5, -0.1, np.nan, [0.5, 1.0], [], [[0.5]], "0.9", True]
)
def test_predict_interval_refuses_bad_coverage(fitted_regressor, coverage):
    est, X, _ = fitted_regressor
    with pytest.raises(ValueError, match=r"coverage must lie in \(0, 1\)"):
        est.predict_interval(X, coverage=coverage)


# -- bad input ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: crps([0.0, 1.0], np.zeros((5, 3))), r"shape \(num_draws >= 1, 2\)"),
        (lambda: crps([0.0, 1.0], np.zeros(2)), "y_draws must be 2-dimensional"),
        (lambda: crps([0.0, np.nan], np.zeros((5, 2))), "NaN or infinite"),
        (lambda: crps([0.0], [[1.0]], sample_weight=[1.0, 2.0]), "sample_weight has 2"),
        (lambda: crps([0.0], [[1.0]], sample_weight=[-1.0]), "non-negative"),
        (lambda: mean_log_predictive_density([0.0, 1.0]), r"shape \(num_draws"),
        (lambda: mean_log_predictive_density([[np.nan]]), "NaN"),
        (lambda: interval_coverage([1.0], np.zeros((2, 2))), "2 rows for 1 targets"),
        (lambda: interval_coverage([1.0], np.zeros((1, 3))), r"\(n_samples, 2\)"),
        (lambda: interval_width([[1.0, 0.0]]), "lower bound above its upper"),
        (lambda: PredictiveScorer("rmse"), "metric must be one of"),
        (lambda: make_predictive_scorer("coverage", coverage=1.5), r"lie in \(0, 1\)"),
        (lambda: make_predictive_scorer("crps", num_samples=0), "positive integer"),
    ],
)
def test_metrics_refuse_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_regression_scorers_refuse_what_they_cannot_score(
    fitted_classifier, fitted_regressor
):
    clf, X, y = fitted_classifier
    for scorer in (crps_scorer, coverage_scorer, interval_width_scorer):
        with pytest.raises(
            ValueError, match="BayesianLogisticRegression is a classifier"
        ):
            scorer(clf, X, y)
    est, X_reg, y_reg = fitted_regressor
    ridge = Ridge().fit(X_reg, y_reg)
    with pytest.raises(
        ValueError, match="needs a regressor with sample_posterior_predictive"
    ):
        crps_scorer(ridge, X_reg, y_reg)
    with pytest.raises(ValueError, match="needs a fitted BayesianLinearRegression"):
        log_predictive_density_scorer(ridge, X_reg, y_reg)
    with pytest.raises(ValueError, match="2 entries for 30 rows"):
        crps_scorer(est, X_reg, y_reg[:2])


# -- scorers in sklearn -------------------------------------------------------------
def test_scorers_score_the_estimator_behind_a_pipeline():
    X, y = linear_problem(3, 60, [1.0, -1.0], 0.0, 0.5)
    pipe = make_pipeline(StandardScaler(), BayesianLinearRegression(random_state=0))
    pipe.fit(10 * X, y)
    inner, X_seen = pipe[-1], pipe[:-1].transform(10 * X)
    for scorer in (log_predictive_density_scorer, crps_scorer, coverage_scorer):
        assert scorer(pipe, 10 * X, y) == scorer(inner, X_seen, y)
    draws = inner.sample_posterior_predictive(X_seen, 1000, random_state=0)
    assert crps_scorer(pipe, 10 * X, y) == pytest.approx(-crps(y, draws), rel=1e-12)
    lower, upper = inner.predict_interval(X_seen, 0.9).T
    inside = np.mean((lower <= y) & (y <= upper))
    assert coverage_scorer(pipe, 10 * X, y) == pytest.approx(-abs(inside - 0.9))
    assert interval_width_scorer(pipe, 10 * X, y) == pytest.approx(
        -np.mean(upper - lower)
    )


# A short horseshoe chain may report r_hat just above 1.01; the subject here is
# which rows reach the scorers, not convergence.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_cross_validate_passes_each_held_out_fold_to_the_scorers():
    X, y = linear_problem(5, 90, [2.0, 0.0, 0.0, -1.0], 0.5, 1.0)
    scoring = {
        "lpd": log_predictive_density_scorer,
        "crps": crps_scorer,
        "coverage": coverage_scorer,
        "width": interval_width_scorer,
    }
    result = cross_validate(
        HorseshoeRegression(random_state=0),
        X,
        y,
        cv=3,
        scoring=scoring,
        return_estimator=True,
        return_indices=True,
        error_score="raise",
    )
    folds = zip(result["estimator"], result["indices"]["test"], strict=True)
    for i, (est, test) in enumerate(folds):
        for name, scorer in scoring.items():
            assert result[f"test_{name}"][i] == scorer(est, X[test], y[test])
    assert np.all(np.isfinite(result["test_lpd"]))


def binary_effect_problem(seed, n=500):
    """y = x1 - 0.5 x2 + 4 b + 0.5 e, b in {0, 1}."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    b = rng.integers(0, 2, size=n).astype(float)
    return np.column_stack([x, b]), x @ [1.0, -0.5] + 4.0 * b + 0.5 * rng.normal(size=n)


def test_scorers_rank_the_correct_model_above_a_misspecified_one():
    """Done when: every scorer prefers the model with the needed feature.

    Without the binary feature b the residual is bimodal (two modes 4 apart,
    sd 0.5 each), so the Gaussian predictive is about 2.1 wide in sd instead
    of 0.5: far worse log density and CRPS, wider intervals, 90% intervals
    that hold about 99.7% of targets and 50% intervals that hold about 11%.
    Over data seeds 0-9 (a one-off check), the worst differences in the mean
    held-out score were: log density 1.34, CRPS 0.92, 90% coverage error 0.064,
    50% coverage error 0.29, 90% width 5.1; the bounds below are about half.
    """
    X, y = binary_effect_problem(0)
    scoring = {
        "lpd": log_predictive_density_scorer,
        "crps": crps_scorer,
        "coverage": coverage_scorer,
        "coverage_50": make_predictive_scorer("coverage", coverage=0.5),
        "width": interval_width_scorer,
    }
    pipe = Pipeline(
        [
            (
                "select",
                ColumnTransformer([("b", "passthrough", [2])], remainder="passthrough"),
            ),
            ("reg", BayesianLinearRegression(random_state=0)),
        ]
    )
    search = GridSearchCV(
        pipe,
        {"select__b": ["passthrough", "drop"]},  # correct, then misspecified
        scoring=scoring,
        refit=False,
        cv=KFold(5, shuffle=True, random_state=0),
        error_score="raise",
    ).fit(X, y)
    results = search.cv_results_
    bounds = {
        "lpd": 0.6,
        "crps": 0.45,
        "coverage": 0.03,
        "coverage_50": 0.15,
        "width": 2.5,
    }
    for name, bound in bounds.items():
        assert list(results[f"rank_test_{name}"]) == [1, 2], name
        correct, misspecified = results[f"mean_test_{name}"]
        assert correct - misspecified > bound, (name, correct, misspecified)
