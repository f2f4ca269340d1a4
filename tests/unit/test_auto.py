"""``inference="auto"``: the rule, engine by engine, and ``inference_``."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from skbayes import (
    BayesianLinearRegression,
    BayesianLogisticRegression,
    BetaBernoulliEstimator,
    HorseshoeRegression,
)
from skbayes.inference import RunSettings
from skbayes.inference.auto import choose_engine
from skbayes.inference.gibbs.logistic import POLYA_GAMMA_AUTO_MAX_SIZE
from skbayes.inference.nuts import NUTS_AUTO_MAX_SIZE
from skbayes.models import LinearData, LinearRegressionModel, LogisticData
from skbayes.models.logistic import LogisticRegressionModel
from skbayes.priors import Horseshoe, Laplace, Normal, RegularizedHorseshoe, StudentT


class _LaplaceWithoutGibbs(Laplace):
    """A prior no Gibbs kernel samples: what ``"auto"`` does with NUTS."""

    gibbs_kernel = None


def _linear(prior, n, d, batch_size=None):
    X = np.random.default_rng(0).normal(size=(n, d))
    data = LinearData.from_arrays(
        X, X[:, 0], fit_intercept=True, dtype=torch.float64, batch_size=batch_size
    )
    return LinearRegressionModel(prior, d, n), data


@pytest.mark.parametrize(
    ("prior", "n", "d", "batch_size", "expected"),
    [
        (Normal(), 50, 3, None, "exact"),
        (Normal(), 100_000, 3, None, "exact"),
        (Horseshoe(), 50, 3, None, "gibbs"),
        (Horseshoe(), 40, 2_000, None, "gibbs"),
        (Laplace(), 50, 3, None, "gibbs"),  # the Bayesian lasso's sampler
        (StudentT(), 100_000, 5, None, "gibbs"),
        (_LaplaceWithoutGibbs(), NUTS_AUTO_MAX_SIZE // 5, 5, None, "nuts"),
        (_LaplaceWithoutGibbs(), NUTS_AUTO_MAX_SIZE // 5 + 1, 5, None, "svi"),
        (RegularizedHorseshoe(), 50, 3, None, "svi"),
        (Normal(), 50, 3, 10, "svi"),
        (Horseshoe(), 50, 3, 10, "svi"),
    ],
)
def test_linear_rule(prior, n, d, batch_size, expected):
    model, data = _linear(prior, n, d, batch_size)
    assert choose_engine(model, data, RunSettings(seed=0)) == expected


def _logistic(prior, n, d, weight=1.0):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d))
    y = (X[:, 0] + rng.logistic(size=n) > 0).astype(int)
    data = LogisticData.from_arrays(
        X,
        y,
        n_classes=2,
        fit_intercept=True,
        autoscale=True,
        dtype=torch.float64,
        sample_weight=np.full(n, weight),
    )
    model = LogisticRegressionModel(prior, data.n_features, data.n_samples)
    return model, data


@pytest.mark.parametrize(
    ("prior", "n", "d", "weight", "expected"),
    [
        (Normal(2.5), 200, 3, 1.0, "gibbs"),
        (RegularizedHorseshoe(), 200, 3, 1.0, "gibbs"),
        (Normal(2.5), 200, 3, 0.5, "nuts"),  # fractional weights: no PG Gibbs
        (Laplace(), 200, 3, 1.0, "gibbs"),
        (StudentT(), 200, 3, 0.5, "nuts"),
        (_LaplaceWithoutGibbs(), 200, 3, 1.0, "nuts"),
        (Normal(2.5), POLYA_GAMMA_AUTO_MAX_SIZE // 10 + 100, 10, 1.0, "svi"),
    ],
)
def test_logistic_rule(prior, n, d, weight, expected):
    model, data = _logistic(prior, n, d, weight)
    assert choose_engine(model, data, RunSettings(seed=0)) == expected


def test_estimators_record_the_engine(small_problem):
    X, y = small_problem
    flips = (X[:, :2] > 0).astype(float)
    assert BetaBernoulliEstimator().fit(flips).inference_ == "exact"
    assert BayesianLinearRegression().fit(X, y).inference_ == "exact"
    short = {"num_samples": 50, "num_warmup": 50, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # short chains
        assert HorseshoeRegression(**short).fit(X, y).inference_ == "gibbs"
        clf = BayesianLogisticRegression(**short).fit(X, y > np.median(y))
    assert clf.inference_ == "gibbs"
    # An explicit choice is recorded as given.
    est = BayesianLinearRegression(inference="svi", random_state=0)
    assert est.fit(X, y).inference_ == "svi"


def test_a_bad_guide_is_rejected_whichever_engine_auto_picks(small_problem):
    with pytest.raises(ValueError, match="guide"):
        BayesianLinearRegression(guide="nonsense").fit(*small_problem)
