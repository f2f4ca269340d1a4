"""Fitted estimators round-trip through skops.io, and give the same numbers.

Each estimator is fitted with every engine it supports (small runs: the
numbers, not their accuracy, are the point), saved with ``skops.io.dumps``,
loaded with the types ``skbayes.trusted_types()`` names, and asked for the
same predictions, summaries and seeded draws as the original.
"""

import pickle

import numpy as np
import pytest
import torch

import skbayes
from skbayes import (
    BayesianLinearRegression,
    BayesianLogisticRegression,
    BetaBernoulliEstimator,
    HorseshoeRegression,
)
from skbayes._serialization import MARK

sio = pytest.importorskip("skops.io")
UntrustedTypesFoundException = pytest.importorskip(
    "skops.io.exceptions"
).UntrustedTypesFoundException

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SMALL = {"num_samples": 50, "num_warmup": 50, "num_steps": 200, "random_state": 0}


def _data(kind):
    rng = np.random.default_rng(0)
    if kind == "bb":
        return (rng.random((30, 2)) < [0.3, 0.7]).astype(float), None
    X = rng.normal(size=(30, 3))
    y = X @ [1.0, -2.0, 0.5] + 1.0 + 0.3 * rng.normal(size=30)
    if kind == "binary":
        return X, (y > np.median(y)).astype(int)
    if kind == "multiclass":
        return X, np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    return X, y


# (estimator, data, engines it supports)
ESTIMATORS = {
    "beta_bernoulli": (BetaBernoulliEstimator, "bb", ["exact", "svi", "nuts", "auto"]),
    "linear": (
        BayesianLinearRegression,
        "regression",
        ["exact", "gibbs", "nuts", "svi", "auto"],
    ),
    "horseshoe": (HorseshoeRegression, "regression", ["gibbs", "nuts", "svi", "auto"]),
    "logistic_binary": (
        BayesianLogisticRegression,
        "binary",
        ["gibbs", "nuts", "svi", "auto"],
    ),
    "logistic_multiclass": (
        BayesianLogisticRegression,
        "multiclass",
        ["gibbs", "nuts", "svi", "auto"],
    ),
}
CASES = [
    pytest.param(name, {"inference": engine}, id=f"{name}-{engine}")
    for name, (_, _, engines) in ESTIMATORS.items()
    for engine in engines
]
# Every guide name (each autoguide is rebuilt differently), an
# empirical-Bayes noise scale (a fitted Pyro parameter in the model), and a
# prior given as an object.
CASES += [
    pytest.param("linear", {"inference": "svi", "guide": guide}, id=f"linear-{guide}")
    for guide in ["normal", "diagonal", "lowrank", "delta", "laplace"]
]
CASES += [
    pytest.param(
        "linear", {"inference": engine, "noise": "point"}, id=f"linear-point-{engine}"
    )
    for engine in ["svi", "nuts", "exact"]
]
CASES += [
    pytest.param(
        "linear",
        {"inference": "svi", "prior": skbayes.priors.Laplace(scale=2.0)},
        id="linear-laplace-prior-svi",
    ),
]
# Array-valued Normal parameters (the exact posterior keeps its
# GaussianForm) and noise priors as objects.
CASES += [
    pytest.param(
        "linear",
        {
            "inference": engine,
            "prior": skbayes.priors.Normal(scale=[1.0, 2.0, 3.0], loc=[0.0, 1.0, 0.0]),
            "noise_prior": skbayes.priors.HalfCauchy(2.5),
            "intercept_prior": skbayes.priors.Normal(2.0, loc=1.0),
        },
        id=f"linear-array-normal-half-cauchy-{engine}",
    )
    for engine in ["exact", "gibbs"]
]


def _fit(name, params):
    cls, kind, _ = ESTIMATORS[name]
    X, y = _data(kind)
    options = dict(SMALL, **params)
    if options["inference"] == "nuts":
        options["num_chains"] = 1
    est = cls(**options)
    return (est.fit(X) if y is None else est.fit(X, y)), X


def _outputs(est, X) -> dict:
    """Everything the estimator reports, seeded where it draws."""
    out = {f"draw {k}": v for k, v in est.sample_posterior(30, 1).items()}
    out["inference_"] = np.array(est.inference_)
    summary = est.summary()
    out["summary"] = np.array([summary.rows[label] for label in summary.rows])
    out["summary rows"] = np.array(list(summary.rows))
    if isinstance(est, BetaBernoulliEstimator):
        out["score_samples"] = est.score_samples(X)
        out["sample"] = est.sample(10, random_state=2)
        return out
    out["predict"] = est.predict(X)
    if isinstance(est, BayesianLogisticRegression):
        out["predict_proba"] = est.predict_proba(X)
        out["proba std"] = est.predict_proba(X, return_std=True)[1]
        out["decision_function"] = est.decision_function(X)
    else:
        out["predict std"] = est.predict(X, return_std=True)[1]
        # 4,000 draws: traced one at a time from the guides that are not
        # Gaussian in one block, which the other cases cover.
        if est.get_params()["guide"] not in ("normal", "delta"):
            out["predict_interval"] = est.predict_interval(X, coverage=[0.5, 0.9])
    out["posterior predictive"] = est.sample_posterior_predictive(X, 20, random_state=3)
    return out


def _assert_same(before: dict, after: dict):
    assert before.keys() == after.keys()
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value, err_msg=key)


def _torch_objects_in(value, found=None) -> list:
    found = [] if found is None else found
    if isinstance(value, (torch.Tensor, torch.nn.Module, torch.device, torch.dtype)):
        found.append(type(value).__name__)
    elif isinstance(value, dict):
        for item in value.values():
            _torch_objects_in(item, found)
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            _torch_objects_in(item, found)
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        _torch_objects_in(vars(value), found)
    return found


@pytest.mark.parametrize(("name", "params"), CASES)
def test_skops_round_trip_gives_the_same_numbers(name, params):
    est, X = _fit(name, params)
    assert _torch_objects_in(est.__getstate__()) == []
    payload = sio.dumps(est)
    untrusted = sio.get_untrusted_types(data=payload)
    assert set(untrusted) <= set(skbayes.trusted_types())
    loaded = sio.loads(payload, trusted=skbayes.trusted_types())
    assert type(loaded) is type(est)
    assert loaded.get_params().keys() == est.get_params().keys()
    before = _outputs(est, X)
    _assert_same(before, _outputs(loaded, X))
    # Pickled after loading: the same state again.
    again = pickle.loads(pickle.dumps(loaded))
    draws = {f"draw {k}": v for k, v in again.sample_posterior(30, 1).items()}
    _assert_same({k: before[k] for k in draws}, draws)


def test_untrusted_file_is_refused():
    est, _ = _fit("linear", {"inference": "svi"})
    payload = sio.dumps(est)
    with pytest.raises(UntrustedTypesFoundException):
        sio.loads(payload)
    with pytest.raises(UntrustedTypesFoundException):
        sio.loads(payload, trusted=skbayes.trusted_types()[:3])


def test_trusted_types_are_skbayes_and_pyro_classes():
    names = skbayes.trusted_types()
    assert names == sorted(set(names))
    assert all(name.split(".")[0] in ("skbayes", "pyro") for name in names)
    assert "skbayes.estimators._linear.BayesianLinearRegression" in names


def test_unfitted_estimator_round_trips():
    est = BayesianLinearRegression(prior="horseshoe", num_steps=7)
    loaded = sio.loads(sio.dumps(est), trusted=skbayes.trusted_types())
    assert loaded.get_params() == est.get_params()


def test_a_dict_with_the_marker_key_is_not_mistaken_for_a_description():
    est, _ = _fit("linear", {"inference": "exact"})
    est.extra_ = {MARK: "tensor", "data": 1}
    loaded = pickle.loads(pickle.dumps(est))
    assert loaded.extra_ == {MARK: "tensor", "data": 1}


def test_pickles_of_the_torch_objects_themselves_still_load():
    # Before the portable state, pickles held the tensors, model and guide
    # (in the PicklableGuide wrapper) themselves.
    from sklearn.base import BaseEstimator

    from skbayes.inference.guides import PicklableGuide

    est, X = _fit("linear", {"inference": "svi"})
    state = dict(BaseEstimator.__getstate__(est))
    state["guide_"] = PicklableGuide(state["guide_"])
    old = BayesianLinearRegression.__new__(BayesianLinearRegression)
    old.__setstate__(pickle.loads(pickle.dumps(state)))
    assert isinstance(old.module_, torch.nn.Module)
    _assert_same(_outputs(est, X), _outputs(old, X))
