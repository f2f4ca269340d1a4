"""``device="cuda"`` end to end; every test here skips where CUDA is absent.

What the issue asks of the GPU path, checked for each estimator and engine:
data, parameters and draws live on the GPU during the fit; what comes back is
numpy; the fitted state holds no GPU tensor; a pickle of it loads on a
machine without CUDA (a subprocess that hides the GPU), with a warning, and
predicts what the GPU process predicted; and the fit agrees with the same fit
on the CPU.
"""

import io
import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

# The linear kernels call run_gibbs from here at run time.
import skbayes.inference.gibbs._driver as gibbs_module
import skbayes.inference.nuts as nuts_module
import skbayes.inference.svi as svi_module
import skbayes.models.conjugate as conjugate_module
from skbayes import (
    BayesianLinearRegression,
    BayesianLogisticRegression,
    BetaBernoulliEstimator,
    HorseshoeRegression,
)

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

FAST_MCMC = {"num_samples": 300, "num_warmup": 200}
CASES = {
    "bb-svi": lambda: BetaBernoulliEstimator(inference="svi", num_steps=500),
    "bb-diagonal": lambda: BetaBernoulliEstimator(
        inference="svi", guide="diagonal", num_steps=500
    ),
    "bb-nuts": lambda: BetaBernoulliEstimator(inference="nuts", **FAST_MCMC),
    "blr-exact": lambda: BayesianLinearRegression(),
    "blr-svi": lambda: BayesianLinearRegression(inference="svi"),
    "blr-lowrank": lambda: BayesianLinearRegression(inference="svi", guide="lowrank"),
    "blr-normal": lambda: BayesianLinearRegression(
        inference="svi", guide="normal", num_steps=2000
    ),
    "blr-minibatch": lambda: BayesianLinearRegression(batch_size=64),
    "blr-nuts": lambda: BayesianLinearRegression(inference="nuts", **FAST_MCMC),
    "blr-gibbs": lambda: BayesianLinearRegression(inference="gibbs"),
    "hs-svi": lambda: HorseshoeRegression(inference="svi"),
    # Horseshoe NUTS takes deep trees (minutes for 500 draws): a short run
    # proves the device path, and its accuracy is left to the slow tier.
    "hs-nuts": lambda: HorseshoeRegression(
        inference="nuts", num_samples=20, num_warmup=20
    ),
    "hs-gibbs": lambda: HorseshoeRegression(inference="gibbs"),
}


def _data(name):
    rng = np.random.default_rng(0)
    if name.startswith("bb"):
        return (rng.random((200, 2)) < [0.3, 0.7]).astype(float), None
    X = rng.normal(size=(300, 5))
    y = X @ np.array([2.0, -1.0, 0.0, 0.0, 0.5]) + 1.0 + 0.5 * rng.normal(size=300)
    return X, y


def _device_types(value) -> set:
    if isinstance(value, torch.Tensor):
        return {value.device.type}
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return set().union(*(_device_types(v) for v in value))
    if isinstance(value, torch.nn.Module):
        return {p.device.type for p in value.parameters()}
    return set()


@pytest.fixture
def seen_devices(monkeypatch):
    """Devices of the data, parameters and draws that the engines handle."""
    seen = {}

    def spy(module, name, inputs, outputs):
        engine = getattr(module, name)

        def wrapped(*args, **kwargs):
            result = engine(*args, **kwargs)
            seen.setdefault(name, set()).update(inputs(args, kwargs, result))
            seen.setdefault(name + " output", set()).update(outputs(result))
            return result

        monkeypatch.setattr(module, name, wrapped)

    # run_svi(model, guide, data): the guide's parameters exist after the run.
    spy(
        svi_module,
        "run_svi",
        lambda a, k, r: _device_types(a[2]) | _device_types(a[1]),
        lambda r: set(),
    )
    spy(
        nuts_module,
        "run_nuts",
        lambda a, k, r: _device_types(a[1]),
        lambda r: _device_types(r.samples),
    )
    spy(
        gibbs_module,
        "run_gibbs",
        lambda a, k, r: _device_types(a[:2]),
        lambda r: _device_types(r.samples),
    )
    # The exact engine's draws of the coefficients given the noise.
    spy(
        conjugate_module,
        "sample_coef_given_noise",
        lambda a, k, r: _device_types(a[0]) | _device_types(a[2]),
        _device_types,
    )
    draw = svi_module.draw_from_guide

    def draw_spy(guide, sites, num_samples, data):
        values = draw(guide, sites, num_samples, data)
        seen.setdefault("guide draws", set()).update(_device_types(values))
        return values

    monkeypatch.setattr(svi_module, "draw_from_guide", draw_spy)
    return seen


def _gpu_tensors_in(obj) -> list:
    found = []

    class Finder(pickle.Pickler):
        def reducer_override(self, value):
            if isinstance(value, torch.Tensor) and value.device.type != "cpu":
                found.append((tuple(value.shape), str(value.device)))
            return NotImplemented

    Finder(io.BytesIO()).dump(obj)
    return found


_LOAD_WITHOUT_CUDA = textwrap.dedent(
    """
    import pickle, sys, warnings
    import numpy as np, torch
    assert not torch.cuda.is_available()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = pickle.load(sys.stdin.buffer)
    assert any("CUDA is not available" in str(w.message) for w in caught), caught
    X = np.load(sys.argv[1])
    out = est.predict(X) if hasattr(est, "predict") else est.score_samples(X)
    draws = est.sample_posterior(7, random_state=0)
    assert all(v.shape[0] == 7 for v in draws.values())
    np.save(sys.argv[2], out)
    """
)


@pytest.mark.parametrize("name", list(CASES))
def test_cuda_end_to_end(name, seen_devices, tmp_path, regression_data):
    X, y = _data(name)
    est = CASES[name]().set_params(device="cuda", random_state=0).fit(X, y)

    assert est.device_.type == "cuda"
    assert seen_devices, "no engine ran"
    for what, types in seen_devices.items():
        assert types <= {"cuda"}, f"{what} on {types}"
    assert _gpu_tensors_in(est) == []

    outputs = {"coef_": getattr(est, "coef_", None)}
    outputs.update(est.sample_posterior(11, random_state=1))
    if hasattr(est, "predict"):
        outputs["predict"] = est.predict(X)
        outputs["predict std"] = est.predict(X, return_std=True)[1]
        reference = est.predict(X)
    else:
        reference = est.score_samples(X)
    for what, value in outputs.items():
        if value is not None:
            assert isinstance(value, np.ndarray), what
            assert np.all(np.isfinite(value)), what

    # Loads on a machine without CUDA, warns, and predicts the same.
    np.save(tmp_path / "X.npy", X)
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            _LOAD_WITHOUT_CUDA,
            str(tmp_path / "X.npy"),
            str(tmp_path / "out.npy"),
        ],
        input=pickle.dumps(est),
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
        capture_output=True,
    )
    assert loaded.returncode == 0, loaded.stderr.decode()[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), reference)

    # The same fit on the CPU lands in the same place, up to Monte Carlo error.
    if name == "hs-nuts":
        return
    cpu = CASES[name]().set_params(device="cpu", random_state=0).fit(X, y)
    if name.startswith("bb"):
        p_gpu = est.sample_posterior(4000, random_state=2)["p"].mean(0)
        p_cpu = cpu.sample_posterior(4000, random_state=2)["p"].mean(0)
        np.testing.assert_allclose(p_gpu, p_cpu, atol=0.02)
    else:
        np.testing.assert_allclose(est.coef_, cpu.coef_, atol=0.05)
        np.testing.assert_allclose(est.coef_, [2.0, -1.0, 0.0, 0.0, 0.5], atol=0.15)

    # The defaults, with the device given to the constructor, on a small
    # problem: no warning at all, not even the ConvergenceWarning that this
    # module ignores (was tests/test_isolation.py::test_cuda_end_to_end).
    if name == "blr-exact":
        X, y = regression_data
        with warnings.catch_warnings():
            warnings.filterwarnings("error", category=ConvergenceWarning)
            small = BayesianLinearRegression(device="cuda", random_state=0).fit(X, y)
            assert small.device_.type == "cuda"
            assert isinstance(small.predict(X), np.ndarray)


def test_cuda_and_cpu_estimators_do_not_interfere():
    X, y = _data("blr")
    alone = BayesianLinearRegression(random_state=0).fit(X, y).coef_
    gpu = BayesianLinearRegression(device="cuda", random_state=0)
    cpu = BayesianLinearRegression(random_state=0)
    gpu.fit(X, y)
    np.testing.assert_array_equal(cpu.fit(X, y).coef_, alone)
    torch_state = torch.cuda.get_rng_state()
    gpu.fit(X, y)
    assert torch.equal(torch.cuda.get_rng_state(), torch_state)


@pytest.mark.parametrize("inference", ["svi", "gibbs", "nuts"])
def test_logistic_cuda_end_to_end(inference):
    # Gibbs on the GPU draws Polya-Gamma variables with the torch sampler.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = (X @ [1.5, -1.0, 0.0] + rng.logistic(size=300) > 0).astype(int)
    params = dict(inference=inference, random_state=0, **FAST_MCMC)
    gpu = BayesianLogisticRegression(device="cuda", **params).fit(X, y)
    assert gpu.device_.type == "cuda"
    assert _gpu_tensors_in(gpu) == []
    proba = gpu.predict_proba(X)
    assert isinstance(proba, np.ndarray) and np.all(np.isfinite(proba))
    cpu = BayesianLogisticRegression(device="cpu", **params).fit(X, y)
    # Posterior sds here are about 0.15; 300 draws give an MC se of about
    # 0.15 / sqrt(300 * 0.3) = 0.016 each, so 0.1 is over 4.5 MC sds of the
    # difference.
    np.testing.assert_allclose(gpu.coef_, cpu.coef_, atol=0.1)
