"""Distributed search: ``GridSearchCV`` under ``joblib.parallel_backend("dask")``,
on a ``LocalCluster`` of worker processes, gives the serial search's
``cv_results_`` bit for bit.

Every fit is seeded (``random_state=0``) and these problems are far below
skbayes' one-thread threshold (``_runtime.SMALL_PROBLEM_SIZE``), so torch runs
each fit on one thread in the workers and in this process alike; the nanny's
``OMP_NUM_THREADS=1`` does not change the numbers.
"""

import joblib
import numpy as np
import pytest
from sklearn.datasets import make_regression
from sklearn.model_selection import GridSearchCV

from skbayes import BayesianLinearRegression, BayesianLogisticRegression

distributed = pytest.importorskip("distributed")
pytest.importorskip("dask")

pytestmark = [
    pytest.mark.slow,
    # Short Gibbs chains may leave r_hat just above 1.01. sklearn hands this
    # filter to the workers with each task, so both searches see the same one.
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

N_WORKERS = 2
SHORT = {"num_samples": [200], "num_warmup": [100], "target_ess": [None]}
# The exact engine for the normal prior, Gibbs for the others.
LINEAR_GRID = [
    {"prior": ["normal"], "inference": ["exact"]},
    {"prior": ["laplace", "horseshoe"], "inference": ["gibbs"], **SHORT},
]
LOGISTIC_GRID = {"prior": ["normal", "laplace"], "inference": ["gibbs"], **SHORT}
# cv_results_ keys that hold scores, ranks or parameters (not timings).
COMPARED = ("mean_test_score", "std_test_score", "rank_test_score", "params")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=N_WORKERS,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        # Even without the dashboard the scheduler serves /health and /metrics
        # over HTTP, on port 8787 by default. Where that port is taken (another
        # cluster, a second test run) distributed moves to a free one with a
        # "Port 8787 is already in use" UserWarning and leaks the socket of the
        # failed bind (a ResourceWarning); a free port from the start has neither.
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def data():
    X, y = make_regression(n_samples=60, n_features=4, noise=1.0, random_state=0)
    return X, y


def _searches(client, estimator, grid, X, y, **kwargs):
    """The same search run serially, then on the cluster; and the cluster's tasks."""
    kwargs = {"cv": 3, "error_score": "raise", **kwargs}
    serial = GridSearchCV(estimator, grid, n_jobs=1, **kwargs).fit(X, y)
    with (
        distributed.get_task_stream(client) as tasks,
        joblib.parallel_backend("dask"),
    ):
        parallel = GridSearchCV(estimator, grid, n_jobs=-1, **kwargs).fit(X, y)
    return serial, parallel, tasks.data


def _assert_same_results(serial, parallel, tasks, client):
    keys = [*COMPARED, *(k for k in serial.cv_results_ if k.startswith("split"))]
    assert any(k.startswith("split") for k in keys)
    assert set(serial.cv_results_) == set(parallel.cv_results_)
    for key in keys:
        np.testing.assert_array_equal(
            parallel.cv_results_[key], serial.cv_results_[key], err_msg=key
        )
    assert parallel.best_params_ == serial.best_params_
    assert parallel.best_index_ == serial.best_index_
    # The fits ran as tasks on the cluster's workers: a backend that fell
    # back to this process would leave the task stream empty.
    workers = set(client.scheduler_info()["workers"])
    assert len(workers) == N_WORKERS
    assert tasks, "no task reached the dask workers"
    assert {task["worker"] for task in tasks} <= workers


def test_linear_grid_search_on_dask_equals_serial(client, data):
    X, y = data
    estimator = BayesianLinearRegression(random_state=0)
    serial, parallel, tasks = _searches(client, estimator, LINEAR_GRID, X, y)
    _assert_same_results(serial, parallel, tasks, client)
    assert np.isfinite(serial.cv_results_["mean_test_score"]).all()


def test_logistic_grid_search_on_dask_equals_serial(client, data):
    X, y = data
    estimator = BayesianLogisticRegression(random_state=0)
    serial, parallel, tasks = _searches(
        client, estimator, LOGISTIC_GRID, X, y > np.median(y), scoring="neg_log_loss"
    )
    _assert_same_results(serial, parallel, tasks, client)
    assert np.isfinite(serial.cv_results_["mean_test_score"]).all()
