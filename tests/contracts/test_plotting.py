"""skbayes.plotting: what is drawn, and that it is drawn from the right numbers.

Intervals are checked against the estimator's own draws and
``predict_interval``, traces against the chain-major layout of NUTS draws,
and densities against the exact Beta posterior.
"""

import math
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skbayes import BayesianLinearRegression, BetaBernoulliEstimator
from skbayes.plotting import (
    LOSS_WINDOW,
    kde,
    plot_coefficients,
    plot_loss_curve,
    plot_posterior,
    plot_predictive,
)

COIN = np.array([1, 1, 0, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1])


@pytest.fixture(scope="module")
def blr(regression_with_coef):
    X, y, _ = regression_with_coef
    return BayesianLinearRegression(num_samples=400, random_state=0).fit(X[:40], y[:40])


@pytest.fixture(scope="module")
def coin_exact():
    return BetaBernoulliEstimator(
        inference="exact", num_samples=20_000, random_state=0
    ).fit(COIN)


@pytest.fixture(scope="module")
def coin_svi():
    return BetaBernoulliEstimator(
        inference="svi", guide="diagonal", random_state=0
    ).fit(COIN)


@pytest.fixture(scope="module")
def coin_nuts_two_columns():
    X = np.column_stack([COIN, 1 - COIN])
    with warnings.catch_warnings():
        # 2 x 60 draws is too few for r_hat < 1.01 every time; not under test.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return BetaBernoulliEstimator(
            inference="nuts",
            num_chains=2,
            num_samples=60,
            num_warmup=60,
            random_state=0,
        ).fit(X)


def _segments(collection) -> np.ndarray:
    """A LineCollection's segments as an array of shape (n, 2, 2)."""
    return np.array([np.asarray(s) for s in collection.get_segments()])


# -- optional dependency ---------------------------------------------------


def test_importing_skbayes_does_not_import_matplotlib():
    code = (
        "import sys, skbayes, skbayes.plotting; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "call",
    [
        lambda est, X, y: plot_loss_curve(est),
        lambda est, X, y: plot_posterior(est, "coef", index=0),
        lambda est, X, y: plot_coefficients(est),
        lambda est, X, y: plot_predictive(est, X, y),
    ],
    ids=["loss_curve", "posterior", "coefficients", "predictive"],
)
def test_missing_matplotlib_names_the_extra(
    monkeypatch, blr, regression_with_coef, call
):
    X, y, _ = regression_with_coef
    # A None entry makes `import matplotlib...` raise ImportError.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=re.escape('pip install "skbayes[plot]"')):
        call(blr, X, y)


# -- plot_loss_curve -------------------------------------------------------


def test_loss_curve_svi_draws_every_step_and_window_means(plt, coin_svi):
    ax = plot_loss_curve(coin_svi)
    curve = coin_svi.loss_curve_
    raw, smoothed = ax.lines
    np.testing.assert_array_equal(raw.get_xdata(), np.arange(1, len(curve) + 1))
    np.testing.assert_array_equal(raw.get_ydata(), curve)
    k = len(curve) // LOSS_WINDOW
    means = curve[: k * LOSS_WINDOW].reshape(k, LOSS_WINDOW).mean(1)
    np.testing.assert_allclose(smoothed.get_ydata(), means)
    bottom, top = ax.get_ylim()
    assert bottom < curve.min() and top > means[1:].max()
    assert ax.get_xlabel() == "SVI step"
    assert ax.get_ylabel() == "loss (negative ELBO)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "loss at each step",
        f"mean over {LOSS_WINDOW} steps",
    ]


def test_loss_curve_uses_given_axes(plt, coin_svi):
    fig, ax = plt.subplots()
    assert plot_loss_curve(coin_svi, ax=ax) is ax
    assert len(fig.axes) == 1


def test_loss_curve_nuts_traces_each_chain(plt, coin_nuts_two_columns):
    est = coin_nuts_two_columns
    axes = plot_loss_curve(est)
    by_chain = est.posterior_samples_["p"].reshape(2, 60, 2)  # chain-major
    assert len(axes) == 2  # both columns of p, below max_elements=3
    for j, ax in enumerate(axes):
        assert [line.get_label() for line in ax.lines] == ["chain 0", "chain 1"]
        for c, line in enumerate(ax.lines):
            np.testing.assert_array_equal(line.get_ydata(), by_chain[c, :, j])
        assert ax.get_ylabel() == f"p[{j}]"
        r_hat = est.diagnostics_["r_hat"]["p"][j]
        assert f"r_hat = {r_hat:.3f}" in ax.get_title(loc="right")
    assert axes[-1].get_xlabel() == "draw after warm-up"


def test_loss_curve_nuts_limits_elements_and_checks_axes(plt, coin_nuts_two_columns):
    axes = plot_loss_curve(coin_nuts_two_columns, max_elements=1)
    assert len(axes) == 1
    _, given = plt.subplots(1, 2)
    returned = plot_loss_curve(coin_nuts_two_columns, ax=given)
    assert list(returned) == list(given)
    with pytest.raises(ValueError, match="needs 2 axes; got 1"):
        plot_loss_curve(coin_nuts_two_columns, ax=given[0])


def test_loss_curve_refuses_exact_inference(plt, coin_exact):
    with pytest.raises(ValueError, match="no loss curve or chains"):
        plot_loss_curve(coin_exact)


# -- plot_posterior --------------------------------------------------------


def _beta_pdf(a, b):
    log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    return lambda p: np.exp(log_norm + (a - 1) * np.log(p) + (b - 1) * np.log1p(-p))


def test_posterior_density_matches_exact_beta(plt, coin_exact):
    est = coin_exact
    pdf = _beta_pdf(est.posterior_alpha_[0], est.posterior_beta_[0])
    ax = plot_posterior(est, "p", reference=pdf)
    kde_line, reference_line = ax.lines
    assert kde_line.get_label() == "KDE"
    assert reference_line.get_label() == "reference"
    grid = kde_line.get_xdata()
    draws = est.posterior_samples_["p"][:, 0]
    np.testing.assert_allclose(kde_line.get_ydata(), kde(draws, grid))
    np.testing.assert_allclose(reference_line.get_ydata(), pdf(grid))
    # 20,000 exact draws: the density estimate is close to the true density.
    peak = pdf(grid).max()
    assert np.max(np.abs(kde_line.get_ydata() - pdf(grid))) < 0.1 * peak
    # The histogram integrates to the share of draws in the plotted range.
    (hist,) = ax.patches
    heights, edges = hist.get_data().values, hist.get_data().edges
    inside = np.mean((draws >= edges[0]) & (draws <= edges[-1]))
    assert np.sum(heights * np.diff(edges)) == pytest.approx(inside)
    assert 0.98 < inside <= 1.0
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("p", "density")


def test_posterior_picks_element_and_overlays(plt, blr, regression_with_coef):
    _, _, coef = regression_with_coef
    ax = plot_posterior(blr, "coef", index=1, hist=False, label="first")
    assert ax.get_xlabel() == "coef[1]"
    assert not ax.patches
    plot_posterior(blr, "coef", index=1, hist=False, label="second", ax=ax)
    plot_posterior(blr, "coef", index=1, hist=False, reference=[coef[1], 0.0], ax=ax)
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["first", "second", "KDE", "reference", "reference"]
    assert ax.lines[3].get_xdata()[0] == coef[1]  # vertical line at the value


def test_posterior_scalar_sites_need_no_index(plt, blr):
    ax = plot_posterior(blr, "noise_scale")
    assert ax.get_xlabel() == "noise_scale"


def test_posterior_errors(plt, blr):
    with pytest.raises(ValueError, match="pass index="):
        plot_posterior(blr, "coef")
    with pytest.raises(ValueError, match="no posterior site 'beta'"):
        plot_posterior(blr, "beta", index=0)
    with pytest.raises(ValueError, match="does not fit site"):
        plot_posterior(blr, "coef", index=(0, 1))


def test_kde_integrates_to_one():
    draws = np.random.default_rng(1).gamma(2.0, size=3000)
    grid = np.linspace(-3, 20, 1001)
    assert np.sum(kde(draws, grid)) * (grid[1] - grid[0]) == pytest.approx(1, abs=1e-3)
    with pytest.raises(ValueError, match="two distinct draws"):
        kde(np.ones(10), grid)


# -- plot_coefficients -----------------------------------------------------


@pytest.mark.parametrize("coverage", [0.95, 0.5])
def test_coefficient_intervals_are_quantiles_of_the_draws(
    plt, blr, regression_with_coef, coverage
):
    _, _, coef = regression_with_coef
    ax = plot_coefficients(blr, true_coef=coef, coverage=coverage)
    draws = blr.posterior_samples_["coef"]
    alpha = (1 - coverage) / 2
    lower, median, upper = np.quantile(draws, [alpha, 0.5, 1 - alpha], axis=0)

    (intervals,) = ax.collections
    segments = _segments(intervals)
    np.testing.assert_array_equal(segments[:, 0, 0], np.arange(3))
    np.testing.assert_array_equal(segments[:, 1, 0], np.arange(3))
    np.testing.assert_allclose(segments[:, 0, 1], lower, rtol=0, atol=1e-12)
    np.testing.assert_allclose(segments[:, 1, 1], upper, rtol=0, atol=1e-12)

    lines = {line.get_label(): line for line in ax.lines}
    np.testing.assert_allclose(lines["posterior median"].get_ydata(), median)
    np.testing.assert_array_equal(lines["true value"].get_ydata(), coef)
    assert lines["true value"].get_marker() == "*"
    assert intervals.get_label() == f"{coverage:.0%} credible interval"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("coefficient index", "coefficient")


def test_coefficients_without_truth_and_errors(plt, blr):
    ax = plot_coefficients(blr)
    assert "true value" not in [line.get_label() for line in ax.lines]
    with pytest.raises(ValueError, match="true_coef has 2 values"):
        plot_coefficients(blr, true_coef=[1.0, 2.0])
    with pytest.raises(ValueError, match="coverage must lie in"):
        plot_coefficients(blr, coverage=1.0)


def test_coefficients_need_a_regressor(plt, coin_exact):
    with pytest.raises(ValueError, match="no posterior site 'coef'"):
        plot_coefficients(coin_exact)


# -- plot_predictive -------------------------------------------------------


def test_predictive_intervals_are_predict_interval_sorted(
    plt, blr, regression_with_coef
):
    X, y, _ = regression_with_coef
    X_test, y_test = X[40:], y[40:]
    ax = plot_predictive(blr, X_test, y_test, coverage=0.8)
    interval = blr.predict_interval(X_test, coverage=0.8)
    order = np.argsort(blr.predict(X_test), kind="stable")

    (intervals,) = ax.collections
    segments = _segments(intervals)
    np.testing.assert_array_equal(segments[:, 0, 0], np.arange(20))
    np.testing.assert_allclose(segments[:, 0, 1], interval[order, 0], atol=1e-12)
    np.testing.assert_allclose(segments[:, 1, 1], interval[order, 1], atol=1e-12)
    assert intervals.get_label() == "80% predictive interval"

    mean_line, inside_line, outside_line = ax.lines
    np.testing.assert_allclose(mean_line.get_ydata(), blr.predict(X_test)[order])
    covered = (interval[:, 0] <= y_test) & (y_test <= interval[:, 1])
    assert len(inside_line.get_xdata()) == covered.sum()
    assert len(outside_line.get_xdata()) == (~covered).sum()
    # Every observed value is drawn once, at its sorted position.
    xs = np.concatenate([inside_line.get_xdata(), outside_line.get_xdata()])
    ys = np.concatenate([inside_line.get_ydata(), outside_line.get_ydata()])
    np.testing.assert_array_equal(ys[np.argsort(xs)], y_test[order])
    assert inside_line.get_label() == f"observed, inside ({covered.mean():.0%})"
    assert (ax.get_xlabel(), ax.get_ylabel()) == (
        "sample, sorted by predictive mean",
        "y",
    )


def test_predictive_errors(plt, blr, regression_with_coef, coin_exact):
    X, y, _ = regression_with_coef
    with pytest.raises(ValueError, match="X has 5 rows but y has 4"):
        plot_predictive(blr, X[:5], y[:4])
    with pytest.raises(TypeError, match="needs a regressor"):
        plot_predictive(coin_exact, X, y)
