"""scipy.sparse X: the same posterior as the dense X, in fit and predict."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from skbayes import (
    BayesianLinearRegression,
    BayesianLogisticRegression,
    HorseshoeRegression,
)

from ..conftest import TINY_GIBBS, few_draws


def _sparse_problem(seed=0, n=50, d=6):
    rng = np.random.default_rng(seed)
    # np.where, not a product: a product leaves -0.0 entries, which a sparse
    # matrix stores as +0.0, and the classifier's merge of duplicate rows
    # orders rows by their bytes.
    X = np.where(rng.random((n, d)) < 0.3, rng.normal(size=(n, d)), 0.0)
    y = X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=n)
    return X, y


ESTIMATORS = [
    BayesianLinearRegression(random_state=0),
    HorseshoeRegression(random_state=0, **TINY_GIBBS),
    BayesianLinearRegression(inference="svi", num_steps=200, random_state=0),
]


@few_draws
@pytest.mark.parametrize("est", ESTIMATORS, ids=repr)
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_sparse_and_dense_x_give_the_same_posterior(est, fmt):
    X, y = _sparse_problem()
    dense = est.fit(X, y)
    draws = {k: v.copy() for k, v in dense.posterior_samples_.items()}
    prediction = dense.predict(X[:5], return_std=True)
    interval = dense.predict_interval(X[:5])
    sparse = est.fit(getattr(sp, f"{fmt}_matrix")(X), y)
    for name, value in draws.items():
        np.testing.assert_array_equal(sparse.posterior_samples_[name], value)
    X_test = sp.csr_matrix(X[:5])
    np.testing.assert_array_equal(sparse.predict(X_test, return_std=True), prediction)
    np.testing.assert_array_equal(sparse.predict_interval(X_test), interval)


@few_draws
def test_the_classifier_takes_sparse_x():
    X, y = _sparse_problem(1)
    labels = (y > 0).astype(int)
    est = BayesianLogisticRegression(random_state=0, **TINY_GIBBS)
    dense = est.fit(X, labels).predict_proba(X)
    sparse = est.fit(sp.csr_matrix(X), labels).predict_proba(sp.csr_matrix(X))
    np.testing.assert_array_equal(sparse, dense)


def test_one_hot_encoder_output_fits_in_a_pipeline():
    # OneHotEncoder's default output is sparse: the case that raised "Sparse
    # data was passed for X, but dense data is required".
    rng = np.random.default_rng(0)
    groups = rng.choice(["a", "b", "c"], size=(90, 1))
    effect = {"a": -1.0, "b": 0.0, "c": 2.0}
    y = np.array([effect[g] for g in groups[:, 0]]) + 0.1 * rng.normal(size=90)
    pipe = make_pipeline(
        OneHotEncoder(drop="first"), BayesianLinearRegression(random_state=0)
    ).fit(groups, y)
    assert sp.issparse(pipe[0].transform(groups))
    means = pipe.predict(np.array([["a"], ["b"], ["c"]]))
    # The true group means: each estimate is off by the noise of its group's
    # average, sd 0.1 / sqrt(30) = 0.018, so 0.1 is 5.5 of those sds.
    np.testing.assert_allclose(means, [-1.0, 0.0, 2.0], atol=0.1)
