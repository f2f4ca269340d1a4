"""``to_arviz``: ArviZ's InferenceData, named dims, pointwise log-likelihood,
and LOO that agrees with refitting without each row."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from skbayes import (
    BayesianLinearRegression,
    BayesianLogisticRegression,
    BetaBernoulliEstimator,
    HorseshoeRegression,
)
from skbayes._inference_data import import_arviz

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("arviz") is None, reason="ArviZ is not installed"
)
pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def az():
    return import_arviz()


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, 3)), columns=["age", "bmi", "dose"])
    y = X.to_numpy() @ np.array([1.0, 0.0, -1.0]) + 0.5 * rng.normal(size=40)
    return X, y


def test_regression_groups_dims_and_log_likelihood(az, frame):
    X, y = frame
    est = HorseshoeRegression(num_samples=300, random_state=0).fit(X, y)
    idata = est.to_arviz(X, y)
    assert set(idata.groups()) == {"posterior", "log_likelihood", "observed_data"}
    draws = len(est.posterior_samples_["coef"]) // 2
    assert dict(idata.posterior.sizes) == {"chain": 2, "draw": draws, "feature": 3}
    assert list(idata.posterior.coords["feature"].values) == ["age", "bmi", "dose"]
    assert idata.posterior["lambda"].dims == ("chain", "draw", "feature")
    # Chains are stored one after another: chain 1 starts half-way.
    np.testing.assert_array_equal(
        idata.posterior["coef"].values[1, 0], est.posterior_samples_["coef"][draws]
    )
    d = est.posterior_samples_
    expected = stats.norm.logpdf(
        y,
        d["coef"] @ X.to_numpy().T + d["intercept"][:, None],
        d["noise_scale"][:, None],
    )
    np.testing.assert_allclose(
        idata.log_likelihood["y"].values.reshape(-1, len(y)), expected, rtol=1e-10
    )
    np.testing.assert_array_equal(idata.observed_data["y"].values, y)
    table = az.summary(idata, var_names=["coef", "tau"])
    assert list(table.index) == ["coef[age]", "coef[bmi]", "coef[dose]", "tau"]
    np.testing.assert_allclose(table["mean"].to_numpy()[:3], est.coef_, atol=1e-3)
    with warnings.catch_warnings():
        # ArviZ's own note that WAIC may be unreliable on 40 rows.
        warnings.simplefilter("ignore", UserWarning)
        assert np.isfinite(az.waic(idata).elpd_waic)


# 100 draws of one chain are enough to map divergences, not to pass the
# R-hat warning at every seed and on every CPU.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_nuts_divergences_are_sample_stats(frame):
    X, y = frame
    est = BayesianLinearRegression(
        inference="nuts", num_samples=100, num_warmup=100, random_state=0
    ).fit(X, y)
    diverging = est.to_arviz().sample_stats["diverging"]
    assert diverging.dims == ("chain", "draw") and diverging.shape == (1, 100)
    assert int(diverging.sum()) == est.diagnostics_["divergences"]


def test_classifier_dims_name_classes_and_features(frame):
    X, _ = frame
    labels = np.array(["low", "mid", "high"])[np.digitize(X["age"], [-0.5, 0.5])]
    est = BayesianLogisticRegression(num_samples=500, random_state=0).fit(X, labels)
    idata = est.to_arviz(X, labels)
    assert idata.posterior["coef"].dims == ("chain", "draw", "class", "feature")
    assert list(idata.posterior.coords["class"].values) == ["high", "low", "mid"]
    assert idata.posterior["intercept"].dims == ("chain", "draw", "class")
    # log p(y_i | draw) is the log of that draw's probability of the label
    # (log of a probability near 1 loses digits, hence the absolute bar).
    probs = next(est._probabilities(X.to_numpy(), est.posterior_samples_))[1]
    index = np.searchsorted(est.classes_, labels)
    expected = np.log(probs[:, np.arange(len(labels)), index])
    np.testing.assert_allclose(
        idata.log_likelihood["y"].values.reshape(len(probs), -1),
        expected,
        rtol=1e-9,
        atol=1e-12,
    )
    with pytest.raises(ValueError, match="labels the classifier was not fitted on"):
        est.to_arviz(X, np.where(labels == "low", "none", labels))


def test_beta_bernoulli_log_likelihood_is_bernoulli():
    flips = np.array([[1, 0], [1, 1], [0, 0], [1, 0]])
    est = BetaBernoulliEstimator(random_state=0).fit(flips)
    idata = est.to_arviz(flips)
    p = est.posterior_samples_["p"]
    expected = np.log(np.where(flips[None] == 1, p[:, None], 1 - p[:, None])).sum(-1)
    np.testing.assert_allclose(idata.log_likelihood["x"].values[0], expected)
    assert idata.posterior["p"].dims == ("chain", "draw", "column")


def test_bad_targets_are_named(frame):
    X, y = frame
    est = BayesianLinearRegression(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"y must have shape \(40,\)"):
        est.to_arviz(X, y[:-1])


def test_missing_arviz_says_how_to_install(monkeypatch, frame):
    import builtins

    real_import = builtins.__import__

    def no_arviz(name, *args, **kwargs):
        if name == "arviz":
            raise ImportError("No module named 'arviz'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_arviz)
    with pytest.raises(ImportError, match=r"skbayes\[arviz\]"):
        BayesianLinearRegression(random_state=0).fit(*frame).to_arviz()


@pytest.mark.parametrize("seed", [0, 1])
def test_loo_agrees_with_refitting_without_each_row(az, seed):
    # Brute force: elpd_loo = sum_i log p(y_i | y_-i), each term by the
    # posterior predictive density of a fit without row i (4,000 exact
    # draws; its Monte Carlo sd is about 0.01 a term, 0.05 in all). Over 10
    # seeds PSIS-LOO came within 0.21 nats of it (max Pareto k 0.75), against
    # the bar of 1 nat.
    rng = np.random.default_rng(seed)
    n = 25
    X = rng.normal(size=(n, 2))
    y = 1 + X @ np.array([1.0, -0.5]) + 0.7 * rng.normal(size=n)

    def fit(rows):
        est = BayesianLinearRegression(num_samples=4000, random_state=seed)
        return est.fit(X[rows], y[rows])

    loo = az.loo(fit(np.arange(n)).to_arviz(X, y))
    brute = 0.0
    for i in range(n):
        d = fit(np.arange(n) != i).posterior_samples_
        log_p = stats.norm.logpdf(
            y[i], d["coef"] @ X[i] + d["intercept"], d["noise_scale"]
        )
        brute += logsumexp(log_p) - np.log(len(log_p))
    assert abs(loo.elpd_loo - brute) < 1.0
