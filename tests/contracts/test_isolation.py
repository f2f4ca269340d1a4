"""No hidden global state: param store, RNGs, interleaving, pickling, devices."""

import pickle

import numpy as np
import pyro
import pytest
import torch
from sklearn.exceptions import NotFittedError

from skbayes import (
    BayesianLinearRegression,
    BayesianLogisticRegression,
    BetaBernoulliEstimator,
)
from skbayes._runtime import resolve_device

ESTIMATORS = [
    (
        "bb-svi",
        lambda: BetaBernoulliEstimator(inference="svi", random_state=0, num_steps=300),
    ),
    ("bb-auto", lambda: BetaBernoulliEstimator(random_state=0)),
    (
        "bb-nuts",
        lambda: BetaBernoulliEstimator(
            inference="nuts", num_samples=100, num_warmup=50, random_state=0
        ),
    ),
    (
        "blr-svi",
        lambda: BayesianLinearRegression(
            inference="svi", random_state=0, num_steps=500
        ),
    ),
    ("blr-auto", lambda: BayesianLinearRegression(random_state=0)),
    (
        "blr-normal-guide",
        lambda: BayesianLinearRegression(
            inference="svi", guide="normal", random_state=0, num_steps=300
        ),
    ),
    (
        "logit-svi",
        lambda: BayesianLogisticRegression(
            inference="svi", random_state=0, num_steps=300
        ),
    ),
    (
        "logit-gibbs",
        lambda: BayesianLogisticRegression(
            inference="gibbs", num_samples=100, num_warmup=50, random_state=0
        ),
    ),
]


def _fit(name, make, coin_flips, regression_data):
    est = make()
    if name.startswith("bb"):
        return est.fit(coin_flips), coin_flips
    X, y = regression_data
    if name.startswith("logit"):
        y = y > np.median(y)
    return est.fit(X, y), X


def _outputs(est, X):
    draws = est.sample_posterior(50, random_state=3)
    out = {k: v for k, v in draws.items()}
    if hasattr(est, "predict"):
        out["predict"] = est.predict(X)
    return out


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(("name", "make"), ESTIMATORS)
def test_global_state_untouched(name, make, coin_flips, regression_data):
    store = pyro.get_param_store()
    store.clear()
    user_value = pyro.param("user_weight", torch.tensor([1.5, 2.5]))
    torch_state = torch.get_rng_state()
    numpy_state = np.random.get_state()  # noqa: NPY002 (the global state is the point)
    threads = torch.get_num_threads()

    est, X = _fit(name, make, coin_flips, regression_data)
    _outputs(est, X)

    assert set(store.keys()) == {"user_weight"}
    assert torch.equal(pyro.param("user_weight").detach(), user_value.detach())
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = np.random.get_state()  # noqa: NPY002 (the global state is the point)
    assert after[0] == numpy_state[0] and np.array_equal(after[1], numpy_state[1])
    assert torch.get_num_threads() == threads
    store.clear()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(("name", "make"), ESTIMATORS)
def test_bit_identical_with_random_state(name, make, coin_flips, regression_data):
    first, X = _fit(name, make, coin_flips, regression_data)
    second, _ = _fit(name, make, coin_flips, regression_data)
    a, b = _outputs(first, X), _outputs(second, X)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_interleaved_estimators_do_not_interfere(coin_flips, regression_data):
    X, y = regression_data
    alone_bb = BetaBernoulliEstimator(
        inference="svi", random_state=1, num_steps=300
    ).fit(coin_flips)
    alone_lr = BayesianLinearRegression(
        inference="svi", random_state=2, num_steps=500
    ).fit(X, y)

    bb = BetaBernoulliEstimator(inference="svi", random_state=1, num_steps=300).fit(
        coin_flips
    )
    lr = BayesianLinearRegression(inference="svi", random_state=2, num_steps=500).fit(
        X, y
    )
    # Refit one, draw from the other, predict with both, in a mixed order.
    bb2 = BetaBernoulliEstimator(inference="svi", random_state=5, num_steps=300).fit(
        coin_flips[::-1]
    )
    np.testing.assert_array_equal(
        bb.sample_posterior(20, random_state=0)["p"],
        alone_bb.sample_posterior(20, random_state=0)["p"],
    )
    np.testing.assert_array_equal(lr.predict(X), alone_lr.predict(X))
    np.testing.assert_array_equal(
        lr.sample_posterior(10, random_state=0)["coef"],
        alone_lr.sample_posterior(10, random_state=0)["coef"],
    )
    assert bb2.n_iter_ > 0


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(("name", "make"), ESTIMATORS)
def test_pickle_round_trip(name, make, coin_flips, regression_data):
    est, X = _fit(name, make, coin_flips, regression_data)
    before = _outputs(est, X)
    payload = pickle.dumps(est)
    restored = pickle.loads(payload)
    after = _outputs(restored, X)
    for key in before:
        np.testing.assert_array_equal(before[key], after[key])
    # Pickling must not break the original (AutoGuide.__getstate__ would).
    np.testing.assert_array_equal(
        _outputs(est, X)[next(iter(before))], before[next(iter(before))]
    )
    # The training data is not stored: the payload is smaller than X for big X.
    if name.startswith("blr"):
        big = np.random.default_rng(0).normal(size=(20_000, 3))
        big_y = big @ np.ones(3)
        big_est = make().fit(big, big_y)
        assert len(pickle.dumps(big_est)) < big.nbytes / 4


def test_pickles_from_before_fit_method_stay_fitted(regression_data):
    # Estimators pickled before fits were marked complete carry no
    # ``_fit_complete``; their stored posterior was always a whole fit.
    est = BayesianLinearRegression(random_state=0).fit(*regression_data)
    state = est.__getstate__()
    del state["_fit_complete"]
    old = BayesianLinearRegression.__new__(BayesianLinearRegression)
    old.__setstate__(state)
    X = regression_data[0]
    np.testing.assert_array_equal(old.predict(X), est.predict(X))
    # An unfitted one stays unfitted.
    fresh = BayesianLinearRegression().__getstate__()
    blank = BayesianLinearRegression.__new__(BayesianLinearRegression)
    blank.__setstate__(fresh)
    with pytest.raises(NotFittedError):
        blank.predict(X)


def test_cuda_without_cuda_names_cuda(coin_flips, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA"):
        BetaBernoulliEstimator(device="cuda").fit(coin_flips)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")


def test_unpickle_cuda_fit_on_cpu_warns(coin_flips, monkeypatch):
    est = BetaBernoulliEstimator(inference="exact", random_state=0).fit(coin_flips)
    est.device_ = torch.device("cuda", 0)  # as if fitted on a GPU
    payload = pickle.dumps(est)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="CUDA is not available"):
        restored = pickle.loads(payload)
    assert restored.sample_posterior(5, random_state=0)["p"].shape == (5,)
