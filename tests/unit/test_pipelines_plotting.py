"""Pipelines in ``skbayes.plotting`` and ``skbayes.summary``; default trace sites.

A fitted ``Pipeline`` ending in a skbayes estimator draws what its last step
draws, with ``X`` sent through the steps before it; the default MCMC trace
plot shows the sites that were sampled (``tau`` for the horseshoe) and never
a fixed one with ``r_hat = nan``.
"""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

import skbayes
from skbayes import BayesianLinearRegression, HorseshoeRegression
from skbayes._pipelines import split_pipeline
from skbayes.plotting import (
    plot_coefficients,
    plot_loss_curve,
    plot_posterior,
    plot_predictive,
)

from ..conftest import TINY_GIBBS as GIBBS
from ..conftest import few_draws, linear_problem

FEATURES = ["age", "bmi", "dose", "sex"]


@pytest.fixture(scope="module")
def problem():
    """40 rows to fit and 20 held out, on features of very different scales."""
    X, y = linear_problem(5, 60, [1.0, -1.0, 0.0, 0.5], 2.0, 0.5)
    return X * [1.0, 10.0, 0.1, 3.0] + [0.0, 50.0, 1.0, 0.0], y


def _fit(make, X, y):
    """A pipeline (StandardScaler, estimator) and the same estimator fitted
    directly on the scaled rows."""
    pipe = make_pipeline(StandardScaler(), make()).fit(X, y)
    direct = make().fit(StandardScaler().fit(X).transform(X), y)
    return pipe, direct


@pytest.fixture(scope="module")
def exact_pair(problem):
    X, y = problem
    return _fit(
        lambda: BayesianLinearRegression(
            inference="exact", num_samples=50, random_state=0
        ),
        X[:40],
        y[:40],
    )


def _segments(collection) -> np.ndarray:
    return np.array([np.asarray(s) for s in collection.get_segments()])


def _same_lines(ax, other) -> None:
    assert len(ax.lines) == len(other.lines) > 0
    for line, expected in zip(ax.lines, other.lines, strict=True):
        assert line.get_label() == expected.get_label()
        np.testing.assert_array_equal(line.get_xdata(), expected.get_xdata())
        np.testing.assert_array_equal(line.get_ydata(), expected.get_ydata())


# -- pipelines: the same plots and tables as the estimator ----------------


def test_pipeline_predictive_transforms_X(plt, problem, exact_pair):
    X, y = problem
    pipe, direct = exact_pair
    ax = plot_predictive(pipe, X[40:], y[40:], coverage=0.8)
    scaled = pipe[0].transform(X[40:])
    expected = plot_predictive(direct, scaled, y[40:], coverage=0.8)
    np.testing.assert_array_equal(
        _segments(ax.collections[0]), _segments(expected.collections[0])
    )
    _same_lines(ax, expected)
    # The intervals are those of the pipeline's own predictions.
    order = np.argsort(pipe.predict(X[40:]), kind="stable")
    interval = pipe[-1].predict_interval(scaled, coverage=0.8)
    np.testing.assert_allclose(
        _segments(ax.collections[0])[:, 0, 1], interval[order, 0]
    )
    np.testing.assert_allclose(ax.lines[0].get_ydata(), pipe.predict(X[40:])[order])


def test_pipeline_coefficients_and_posterior(plt, exact_pair):
    pipe, direct = exact_pair
    ax = plot_coefficients(pipe)
    expected = plot_coefficients(direct)
    np.testing.assert_array_equal(
        _segments(ax.collections[0]), _segments(expected.collections[0])
    )
    _same_lines(ax, expected)
    _same_lines(
        plot_posterior(pipe, "coef", index=2), plot_posterior(direct, "coef", index=2)
    )


def test_summary_of_a_pipeline_is_its_last_steps(exact_pair):
    pipe, direct = exact_pair
    table = skbayes.summary(pipe)
    assert table.to_dict() == pipe[-1].summary().to_dict()
    assert table.to_dict() == direct.summary().to_dict()
    assert str(skbayes.summary(direct)) == str(direct.summary())
    assert "summary" in skbayes.__all__


@few_draws
def test_pipeline_traces_are_the_estimators(plt, problem):
    X, y = problem
    pipe, direct = _fit(
        lambda: BayesianLinearRegression(**GIBBS, random_state=0), X[:40], y[:40]
    )
    axes, expected = plot_loss_curve(pipe), plot_loss_curve(direct)
    assert len(axes) == len(expected)
    for ax, other in zip(axes, expected, strict=True):
        _same_lines(ax, other)
        assert ax.get_title(loc="right") == other.get_title(loc="right")


@few_draws
def test_pipeline_loss_curve(plt, problem):
    X, y = problem
    pipe, direct = _fit(
        lambda: BayesianLinearRegression(
            inference="svi", num_steps=200, tol=0, num_samples=50, random_state=0
        ),
        X[:40],
        y[:40],
    )
    _same_lines(plot_loss_curve(pipe), plot_loss_curve(direct))


def test_nested_pipeline_and_passthrough_steps(plt, problem, exact_pair):
    X, y = problem
    reg = BayesianLinearRegression(inference="exact", num_samples=50, random_state=0)
    nested = Pipeline(
        [("skip", "passthrough"), ("inner", make_pipeline(StandardScaler(), reg))]
    ).fit(X[:40], y[:40])
    final, transform = split_pipeline(nested)
    assert final is reg
    np.testing.assert_allclose(transform(X[40:]), nested[-1][0].transform(X[40:]))
    _, direct = exact_pair
    ax = plot_predictive(nested, X[40:], y[40:])
    expected = plot_predictive(direct, transform(X[40:]), y[40:])
    np.testing.assert_array_equal(
        _segments(ax.collections[0]), _segments(expected.collections[0])
    )


# -- feature names: those the final estimator saw --------------------------


def test_pipeline_feature_names_follow_the_last_step(plt, problem):
    pd = pytest.importorskip("pandas")
    X, y = problem
    frame = pd.DataFrame(X[:40], columns=FEATURES)
    make = lambda: BayesianLinearRegression(  # noqa: E731
        inference="exact", num_samples=50, random_state=0
    )
    named = make_pipeline(StandardScaler(), make()).set_output(transform="pandas")
    named.fit(frame, y[:40])
    ax = plot_coefficients(named)
    assert [t.get_text() for t in ax.get_xticklabels()] == FEATURES
    assert ax.get_xlabel() == "feature"
    assert "coef[dose]" in skbayes.summary(named).rows
    # Without set_output the scaler passes on an array: the estimator saw no
    # names, so neither the plot nor the summary has them.
    unnamed = make_pipeline(StandardScaler(), make()).fit(frame, y[:40])
    assert plot_coefficients(unnamed).get_xlabel() == "coefficient index"
    assert "coef[2]" in skbayes.summary(unnamed).rows
    # The DataFrame's rows go through the scaler for the predictive plot.
    test = pd.DataFrame(X[40:], columns=FEATURES)
    ax = plot_predictive(named, test, y[40:])
    mean = ax.lines[0].get_ydata()
    np.testing.assert_allclose(np.sort(named.predict(test)), mean)


@few_draws
def test_traces_are_named_as_in_the_summary(plt, problem):
    pd = pytest.importorskip("pandas")
    X, y = problem
    pipe = make_pipeline(
        StandardScaler(), BayesianLinearRegression(**GIBBS, random_state=0)
    ).set_output(transform="pandas")
    pipe.fit(pd.DataFrame(X, columns=FEATURES), y)
    labels, _ = _labels_and_titles(plot_loss_curve(pipe))
    assert labels == ["coef[age]", "coef[bmi]", "coef[dose]", "noise_scale"]
    assert set(labels) <= set(skbayes.summary(pipe).rows)


# -- errors ----------------------------------------------------------------


def test_unfitted_pipeline_names_its_last_step(plt, problem):
    X, y = problem
    pipe = make_pipeline(StandardScaler(), BayesianLinearRegression())
    with pytest.raises(
        NotFittedError, match=r"last step 'bayesianlinearregression' .* not fitted"
    ):
        plot_coefficients(pipe)
    with pytest.raises(NotFittedError, match=r"summary: .* not fitted"):
        skbayes.summary(pipe)
    with pytest.raises(NotFittedError, match="BayesianLinearRegression is not fitted"):
        plot_predictive(BayesianLinearRegression(), X, y)
    assert issubclass(NotFittedError, ValueError)


@pytest.mark.parametrize(
    "call",
    [
        lambda est, X, y: plot_loss_curve(est),
        lambda est, X, y: plot_posterior(est, "coef", index=0),
        lambda est, X, y: plot_coefficients(est),
        lambda est, X, y: plot_predictive(est, X, y),
        lambda est, X, y: skbayes.summary(est),
    ],
    ids=["loss_curve", "posterior", "coefficients", "predictive", "summary"],
)
def test_non_skbayes_estimators_are_refused(plt, problem, call):
    X, y = problem
    pipe = make_pipeline(StandardScaler(), Ridge()).fit(X, y)
    with pytest.raises(TypeError, match="its last step 'ridge' is Ridge"):
        call(pipe, X, y)
    with pytest.raises(TypeError, match=r"skbayes estimator.*; got Ridge"):
        call(pipe[-1], X, y)
    ends_in_nothing = Pipeline([("scale", StandardScaler()), ("end", "passthrough")])
    with pytest.raises(TypeError, match="last step 'end' is 'passthrough'"):
        call(ends_in_nothing.fit(X, y), X, y)


# -- default trace sites ---------------------------------------------------


def _labels_and_titles(axes) -> tuple[list, list]:
    return [ax.get_ylabel() for ax in axes], [ax.get_title(loc="right") for ax in axes]


@few_draws
@pytest.mark.parametrize("noise", ["prior", "point"])
def test_horseshoe_traces_show_tau(plt, problem, noise):
    X, y = problem
    est = HorseshoeRegression(**GIBBS, noise=noise, random_state=0).fit(X, y)
    assert "tau" in est.posterior_samples_
    labels, titles = _labels_and_titles(plot_loss_curve(est))
    assert labels[:4] == ["coef[0]", "coef[1]", "coef[2]", "tau"]
    r_hat = est.diagnostics_["r_hat"]["tau"]
    assert f"r_hat = {float(np.ravel(r_hat)[0]):.3f}" in titles[3]
    if noise == "point":  # sigma is an estimate, not sampled: left out
        assert labels == ["coef[0]", "coef[1]", "coef[2]", "tau"]
    else:
        assert labels[4:] == ["noise_scale"]
    assert all("r_hat = " in t and "nan" not in t for t in titles)


@few_draws
def test_fixed_noise_scale_is_skipped_and_never_shows_nan(plt, problem):
    X, y = problem
    est = BayesianLinearRegression(**GIBBS, noise="point", random_state=0)
    est.fit(X, y)
    fixed = est.posterior_samples_["noise_scale"]
    assert np.all(fixed == fixed[0])
    assert np.isnan(est.diagnostics_["r_hat"]["noise_scale"]).all()
    labels, titles = _labels_and_titles(plot_loss_curve(est))
    assert labels == ["coef[0]", "coef[1]", "coef[2]"]
    assert all("r_hat = " in t and "nan" not in t for t in titles)
    # Asked for by name, the fixed site is drawn, and says what it is fixed at.
    (ax,) = plot_loss_curve(est, sites=["noise_scale"])
    assert ax.get_title(loc="right") == f"fixed at {fixed[0]:.4g}"
