"""Threads and interrupts: fits in threads give the serial answer bit for bit,
and a fit stopped by Ctrl-C leaves no global state behind and no half-fitted
estimator."""

import _thread
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pyro
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.utils.validation import check_is_fitted

from skbayes import (
    BayesianLinearRegression,
    BayesianLogisticRegression,
    BetaBernoulliEstimator,
    HorseshoeRegression,
)
from skbayes._compat import pyro_handler_stack

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SHORT = {"num_samples": 100, "num_warmup": 50, "target_ess": None}
NUTS = {"inference": "nuts", "num_samples": 30, "num_warmup": 20}

# Every engine, every estimator, both Gibbs backends (numpy for the horseshoe,
# torch for the normal and Polya-Gamma kernels): the mix that crashed
# ("Multiple sample sites named 'coef'", "not on the bottom of the stack")
# or changed numbers when Pyro's global handler stack and param store were
# shared between threads.
JOBS = [
    ("bb-svi", lambda: BetaBernoulliEstimator(inference="svi", num_steps=200)),
    ("bb-nuts", lambda: BetaBernoulliEstimator(**NUTS)),
    ("blr-exact", lambda: BayesianLinearRegression()),
    ("blr-svi", lambda: BayesianLinearRegression(inference="svi", num_steps=300)),
    ("blr-gibbs", lambda: BayesianLinearRegression(inference="gibbs", **SHORT)),
    ("blr-nuts", lambda: BayesianLinearRegression(**NUTS, target_ess=None)),
    ("hs-gibbs", lambda: HorseshoeRegression(**SHORT)),
    ("hs-svi", lambda: HorseshoeRegression(inference="svi", num_steps=300)),
    ("logit-gibbs", lambda: BayesianLogisticRegression(**SHORT)),
    ("logit-svi", lambda: BayesianLogisticRegression(inference="svi", num_steps=300)),
]


def _fit_and_report(name, make, seed, coin_flips, regression_data):
    est = make().set_params(random_state=seed)
    if name.startswith("bb"):
        est.fit(coin_flips)
        report = dict(est.sample_posterior(20, random_state=seed))
    else:
        X, y = regression_data
        est.fit(X, y > np.median(y) if name.startswith("logit") else y)
        report = dict(est.sample_posterior(20, random_state=seed))
        report["predict"] = np.asarray(est.predict(X), dtype=float)
    report.update({f"fitted {k}": v for k, v in est.posterior_samples_.items()})
    return report


def _global_state():
    return (
        torch.get_rng_state(),
        np.random.get_state()[1].copy(),  # noqa: NPY002 (the global state is the point)
        torch.get_num_threads(),
        len(pyro_handler_stack),
        sorted(pyro.get_param_store().keys()),
    )


def _assert_same_global_state(before, after):
    assert torch.equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])
    assert before[2:] == after[2:]


def test_threads_give_the_serial_answer(coin_flips, regression_data):
    def run(job):
        index, (name, make) = job
        return _fit_and_report(name, make, index, coin_flips, regression_data)

    # In two orders, so that each fit overlaps different others.
    jobs = list(enumerate(JOBS))
    serial = [run(job) for job in jobs]
    before = _global_state()
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(run, jobs))
        threaded_reversed = list(pool.map(run, jobs[::-1]))[::-1]
    _assert_same_global_state(before, _global_state())
    for (_, (name, _)), alone, *in_threads in zip(
        jobs, serial, threaded, threaded_reversed, strict=True
    ):
        for other in in_threads:
            assert alone.keys() == other.keys(), name
            for key in alone:
                np.testing.assert_array_equal(alone[key], other[key], err_msg=name)


def test_grid_search_under_threading_backend_matches_serial(regression_data):
    X, y = regression_data
    search = GridSearchCV(
        BayesianLinearRegression(random_state=0, num_steps=200, **SHORT),
        {"prior": ["normal", "laplace", "horseshoe"], "inference": ["auto", "svi"]},
        cv=3,
    )
    serial = search.fit(X, y).cv_results_
    with joblib.parallel_backend("threading", n_jobs=2):
        threaded = GridSearchCV(search.estimator, search.param_grid, cv=3, n_jobs=2)
        threaded = threaded.fit(X, y).cv_results_
    assert serial.keys() == threaded.keys()
    for key in serial:
        if key.endswith("_time"):
            continue
        if key == "params":
            assert serial[key] == threaded[key]
        else:
            np.testing.assert_array_equal(serial[key], threaded[key], err_msg=key)
    assert np.all(np.isfinite(serial["mean_test_score"]))


# Runs that cannot finish within the timer, so that Ctrl-C always lands in fit.
ENDLESS = {
    "gibbs": {"num_samples": 10**6, "target_ess": None},
    "svi": {"num_steps": 10**8, "tol": 0.0},
    "nuts": {"num_warmup": 10**6},
}


def _interrupted_fit(est, X, y, after=0.5):
    """Fit ``est`` and press Ctrl-C ``after`` seconds in."""
    timer = threading.Timer(after, _thread.interrupt_main)
    timer.start()
    try:
        est.fit(X, y)
        # Not reached: the fit is endless. Wait for the interrupt here rather
        # than let it hit whatever runs next.
        time.sleep(60)
    except KeyboardInterrupt:
        return
    finally:
        timer.join()
    pytest.fail("the KeyboardInterrupt never arrived")


@pytest.mark.parametrize("engine", sorted(ENDLESS))
def test_keyboard_interrupt_leaves_no_trace(engine, regression_data):
    X, y = regression_data
    user_value = pyro.param("user_weight", torch.tensor([1.5, 2.5]))
    before = _global_state()

    fresh = HorseshoeRegression(inference=engine, **ENDLESS[engine])
    _interrupted_fit(fresh, X, y)
    _assert_same_global_state(before, _global_state())
    assert torch.equal(pyro.param("user_weight").detach(), user_value.detach())
    with pytest.raises(NotFittedError):
        check_is_fitted(fresh)
    with pytest.raises(NotFittedError):
        fresh.predict(X)

    # A refit stopped midway does not leave the earlier fit looking current.
    refit = HorseshoeRegression(inference="gibbs", random_state=0, **SHORT).fit(X, y)
    refit.set_params(inference=engine, **ENDLESS[engine])
    _interrupted_fit(refit, X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(refit)
    assert not hasattr(refit, "posterior_") and not hasattr(refit, "coef_")

    # And what runs next is as if nothing had happened.
    again = HorseshoeRegression(inference="gibbs", random_state=0, **SHORT).fit(X, y)
    refit.set_params(inference="gibbs", **SHORT).fit(X, y)
    for name, value in again.posterior_samples_.items():
        np.testing.assert_array_equal(value, refit.posterior_samples_[name])
    pyro.get_param_store().clear()
