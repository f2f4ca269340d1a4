"""BetaBernoulliEstimator against the exact conjugate posterior."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pyro.infer.autoguide import AutoDiagonalNormal
from sklearn.model_selection import GridSearchCV

from skbayes import BetaBernoulliEstimator
from skbayes.priors import Beta

from ..conftest import beta_moments


def test_exact_matches_conjugate_posterior(coin_flips, exact_posterior):
    est = BetaBernoulliEstimator(inference="exact", random_state=0).fit(coin_flips)
    a, b = exact_posterior
    assert est.posterior_alpha_[0] == a and est.posterior_beta_[0] == b
    draws = est.sample_posterior(40_000, random_state=1)["p"]
    mean, sd = beta_moments(a, b)
    # Monte Carlo error of the mean is sd / sqrt(40000) = 0.00024.
    assert draws.shape == (40_000,)
    assert abs(draws.mean() - mean) < 4 * sd / np.sqrt(len(draws))
    assert abs(draws.std() - sd) / sd < 0.02


def test_svi_beta_guide(coin_flips, exact_posterior):
    est = BetaBernoulliEstimator(inference="svi", random_state=0).fit(coin_flips)
    draws = est.sample_posterior(20_000, random_state=1)["p"]
    mean, sd = beta_moments(*exact_posterior)
    assert abs(draws.mean() - mean) < 0.01
    assert abs(draws.std() - sd) / sd < 0.15
    assert est.loss_curve_.shape == (est.n_iter_,)
    # The loss fell: the last window beats the first.
    assert est.loss_curve_[-50:].mean() < est.loss_curve_[:50].mean()


def test_svi_autodiagonalnormal(coin_flips, exact_posterior):
    for guide in ("diagonal", AutoDiagonalNormal):
        est = BetaBernoulliEstimator(guide=guide, random_state=0).fit(coin_flips)
        draws = est.sample_posterior(20_000, random_state=1)["p"]
        mean, _ = beta_moments(*exact_posterior)
        assert abs(draws.mean() - mean) < 0.02


def test_nuts(coin_flips, exact_posterior):
    est = BetaBernoulliEstimator(
        inference="nuts", num_samples=2000, num_warmup=300, random_state=0
    ).fit(coin_flips)
    mean, sd = beta_moments(*exact_posterior)
    draws = est.posterior_samples_["p"][:, 0]
    assert abs(draws.mean() - mean) < 0.01
    assert abs(draws.std() - sd) / sd < 0.15
    table = est.summary()
    assert {"n_eff", "r_hat"} <= set(table.columns)
    assert table["p[0]"]["r_hat"] < 1.05
    assert table.divergences == 0


def test_custom_guide_factory(coin_flips, exact_posterior):
    est = BetaBernoulliEstimator(
        guide=lambda model: AutoDiagonalNormal(model, init_scale=0.05), random_state=0
    ).fit(coin_flips)
    mean, _ = beta_moments(*exact_posterior)
    assert abs(est.posterior_samples_["p"].mean() - mean) < 0.02


def test_guide_instance_rejected(coin_flips):
    from skbayes.models import BetaBernoulliModel

    instance = AutoDiagonalNormal(BetaBernoulliModel(1, 1, 1))
    with pytest.raises(ValueError, match="not an instance"):
        BetaBernoulliEstimator(guide=instance).fit(coin_flips)


def test_priors_change_the_posterior(coin_flips):
    k, n = coin_flips.sum(), len(coin_flips)
    for prior, (a, b) in [
        ("uniform", (1, 1)),
        ("jeffreys", (0.5, 0.5)),
        (Beta(2.0, 7.0), (2, 7)),
    ]:
        est = BetaBernoulliEstimator(prior=prior, inference="exact").fit(coin_flips)
        assert est.posterior_alpha_[0] == a + k
        assert est.posterior_beta_[0] == b + n - k


def test_columns_are_independent_problems():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.random(500) < 0.2, rng.random(500) < 0.9])
    est = BetaBernoulliEstimator(inference="exact").fit(X)
    np.testing.assert_array_equal(est.posterior_alpha_, 1 + X.sum(0))
    p = est.sample_posterior(1000, random_state=0)["p"]
    assert p.shape == (1000, 2)
    np.testing.assert_allclose(p.mean(0), [0.2, 0.9], atol=0.05)


def test_score_samples_is_log_posterior_predictive(coin_flips, exact_posterior):
    est = BetaBernoulliEstimator(inference="exact").fit(coin_flips)
    mean = exact_posterior[0] / sum(exact_posterior)
    np.testing.assert_allclose(
        est.score_samples(np.array([1, 0])), [np.log(mean), np.log(1 - mean)]
    )
    held_out = np.array([1, 1, 0, 1])
    assert est.score(held_out) == pytest.approx(est.score_samples(held_out).mean())


def test_sample_posterior_predictive(coin_flips, exact_posterior):
    est = BetaBernoulliEstimator(inference="exact").fit(coin_flips)
    draws = est.sample(20_000, random_state=0)
    assert draws.shape == (20_000,) and set(np.unique(draws)) <= {0, 1}
    mean = exact_posterior[0] / sum(exact_posterior)
    assert abs(draws.mean() - mean) < 0.015


def test_grid_search_over_priors():
    # 3 heads in 30 flips: a prior concentrated at small p predicts held-out
    # data from the same coin better than one concentrated at large p.
    X = np.array([1] * 3 + [0] * 27)
    grid = GridSearchCV(
        BetaBernoulliEstimator(inference="exact"),
        {"prior": [Beta(1.0, 20.0), Beta(20.0, 1.0)], "prior__alpha": [1.0]},
        cv=3,
    ).fit(X)
    assert grid.best_params_["prior"].beta == 20.0
    search = GridSearchCV(
        BetaBernoulliEstimator(inference="exact", prior=Beta(1.0, 1.0)),
        {"prior__alpha": [0.5, 30.0]},
        cv=3,
    ).fit(X)
    assert search.best_params_["prior__alpha"] == 0.5
    # The default prior given by name searches the same way: "uniform" is
    # Beta(1, 1), and the search leaves the estimator it was given alone.
    default = BetaBernoulliEstimator(inference="exact")
    by_name = GridSearchCV(default, {"prior__alpha": [0.5, 30.0]}, cv=3).fit(X)
    assert by_name.best_params_["prior__alpha"] == 0.5
    np.testing.assert_array_equal(
        by_name.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"]
    )
    assert default.prior == "uniform"


def test_draw_counts_are_checked(coin_flips):
    est = BetaBernoulliEstimator(inference="exact").fit(coin_flips)
    with pytest.raises(ValueError, match="n_samples must be a non-negative"):
        est.sample(-1)
    with pytest.raises(ValueError, match="num_samples must be a non-negative"):
        est.sample_posterior(-3)
    assert est.sample(0).shape == (0,)
    assert est.__sklearn_tags__().input_tags.positive_only


def test_summary_exact(coin_flips, exact_posterior):
    table = BetaBernoulliEstimator(inference="exact").fit(coin_flips).summary()
    mean, sd = beta_moments(*exact_posterior)
    row = table["p[0]"]
    assert row["mean"] == pytest.approx(mean, abs=1e-3)
    assert row["sd"] == pytest.approx(sd, rel=0.02)
    assert row["2.5%"] < row["50%"] < row["97.5%"]
    assert "p[0]" in repr(table)


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (np.array([0, 1, 2]), "binary"),
        (np.array([0.0, 0.5, 1.0]), "binary"),
        (np.array([0.0, np.nan, 1.0]), "NaN"),
        (np.array([0.0, np.inf, 1.0]), "infinity"),
        (np.array([]), "0 sample"),
        (np.array(["a", "b"]), "binary|could not convert|dtype"),
    ],
)
def test_bad_input(X, message):
    with pytest.raises(ValueError, match=message):
        BetaBernoulliEstimator(inference="exact").fit(X)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"prior": "flat"}, "prior"),
        ({"prior": Beta(-1.0, 1.0)}, "alpha"),
        ({"inference": "mcmc"}, "inference"),
        ({"num_steps": 0}, "num_steps"),
        ({"learning_rate": -0.1}, "learning_rate"),
        ({"guide": "nonsense"}, "guide"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_bad_hyperparameters(coin_flips, params, message):
    with pytest.raises(ValueError, match=message):
        BetaBernoulliEstimator(**params).fit(coin_flips)


@settings(max_examples=25, deadline=None)
@given(
    arrays(
        np.int8,
        st.tuples(st.integers(1, 40), st.integers(1, 3)),
        elements=st.integers(0, 1),
    ),
    st.floats(0.1, 10),
    st.floats(0.1, 10),
)
def test_exact_posterior_for_any_binary_data(X, a, b):
    est = BetaBernoulliEstimator(prior=Beta(a, b), inference="exact").fit(X)
    np.testing.assert_allclose(est.posterior_alpha_, a + X.sum(0))
    np.testing.assert_allclose(est.posterior_beta_, b + len(X) - X.sum(0))
    scores = est.score_samples(X)
    assert np.all(np.isfinite(scores)) and np.all(scores < 0)
