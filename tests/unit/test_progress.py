"""``verbose=True``: the progress bars of SVI and Gibbs, and their final lines.

The bars go to standard error (tqdm) and are erased when they close; what
stays is one final line per run. ``verbose=False`` prints nothing, and the
bar never changes the draws.
"""

import re

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
from skbayes.inference import _progress
from skbayes.inference.gibbs import _driver, run_gibbs

from ..conftest import TINY_GIBBS as GIBBS
from ..conftest import few_draws, linear_problem

COIN = np.array([1, 1, 0, 1, 0, 1, 1, 1, 0, 1])


@pytest.fixture(scope="module")
def problem():
    return linear_problem(3, 40, [1.0, -1.0, 0.0, 0.0], 0.5, 0.5)


def _bar_drawn(err: str, desc: str) -> bool:
    """Whether ``err`` shows a tqdm bar of ``desc`` at some point."""
    return any(part.startswith(desc) and "%|" in part for part in err.split("\r"))


def _final_line(err: str) -> str:
    """What is left on the terminal: the text after the bar's last erasure."""
    assert err.endswith("\n"), repr(err[-200:])
    return err.rsplit("\r", 1)[-1].rstrip("\n")


# -- ProgressBar -----------------------------------------------------------


def test_bar_ends_with_one_final_line(capsys):
    with _progress.ProgressBar(5, "Demo", unit="step") as bar:
        assert bar.enabled
        bar.phase("first")
        bar.update(3, loss="2.5")
        bar.extend(2)
        bar.update(4)
        bar.finish("7 steps, loss 2.5")
    assert not bar.enabled
    captured = capsys.readouterr()
    assert captured.out == ""
    assert _final_line(captured.err) == "Demo: 7 steps, loss 2.5"
    assert captured.err.count("Demo: 7 steps") == 1


def test_disabled_bar_prints_nothing(capfd):
    with _progress.ProgressBar(5, "Quiet", enabled=False) as bar:
        bar.phase("first")
        bar.update(5, loss="1")
        bar.extend(3)
        bar.finish("never shown")
    assert not bar.enabled
    assert capfd.readouterr() == ("", "")


def test_bar_closes_without_a_final_line_when_the_run_raises(capsys):
    with pytest.raises(RuntimeError), _progress.ProgressBar(5, "Broken") as bar:
        bar.update(2)
        raise RuntimeError("diverged")
    assert not bar.enabled
    err = capsys.readouterr().err
    assert "Broken:" not in err.rsplit("\r", 1)[-1]  # the bar line was erased
    assert not err.endswith("\n")


# -- SVI -------------------------------------------------------------------


def test_svi_bar_ends_with_steps_loss_and_stop_reason(capsys):
    est = BetaBernoulliEstimator(
        inference="svi", num_steps=200, tol=0, verbose=True, random_state=0
    ).fit(COIN)
    captured = capsys.readouterr()
    assert captured.out == ""
    line = _final_line(captured.err)
    final_loss = est.loss_curve_[-50:].mean()
    assert line == (
        f"SVI: 200 steps, final loss {final_loss:.6g} (mean of the last 50 "
        "steps), ran num_steps=200 (tol=0: no stopping rule)"
    )
    assert _bar_drawn(captured.err, "SVI")


def test_svi_bar_reports_convergence(capsys):
    est = BetaBernoulliEstimator(inference="svi", verbose=True, random_state=0)
    est.fit(COIN)
    line = _final_line(capsys.readouterr().err)
    assert est.n_iter_ < est.num_steps
    assert re.fullmatch(
        rf"SVI: {est.n_iter_} steps, final loss \S+ \(mean of the last 50 "
        r"steps\), converged",
        line,
    )


@few_draws
def test_svi_bar_says_when_num_steps_ran_out(capsys):
    BetaBernoulliEstimator(
        inference="svi", num_steps=200, verbose=True, random_state=0
    ).fit(COIN)
    line = _final_line(capsys.readouterr().err)
    assert line.startswith("SVI: 200 steps, final loss ")
    assert line.endswith("stopped at num_steps=200 before converging")


# -- Gibbs -----------------------------------------------------------------


@few_draws
@pytest.mark.parametrize(
    "make",
    [
        lambda verbose: BayesianLinearRegression(**GIBBS, verbose=verbose),
        lambda verbose: HorseshoeRegression(**GIBBS, verbose=verbose),
        lambda verbose: HorseshoeRegression(**GIBBS, noise="point", verbose=verbose),
        lambda verbose: BayesianLogisticRegression(**GIBBS, verbose=verbose),
    ],
    ids=["normal", "horseshoe", "horseshoe_point_noise", "logistic"],
)
def test_gibbs_bar_final_line_and_same_draws(capfd, problem, make):
    X, y = problem
    quiet = make(False).set_params(random_state=0, target_ess=None)
    if isinstance(quiet, BayesianLogisticRegression):
        y = (y > 0.5).astype(int)
    quiet.fit(X, y)
    assert capfd.readouterr() == ("", "")  # verbose=False prints nothing

    loud = make(True).set_params(random_state=0, target_ess=None).fit(X, y)
    captured = capfd.readouterr()
    assert captured.out == ""
    line = _final_line(captured.err)
    assert re.fullmatch(
        r"Gibbs: 2 chains x 50 draws after 50 warm-up sweeps, min ESS \d+", line
    ), line
    assert _bar_drawn(captured.err, "Gibbs")
    # The bar runs the sweeps in pieces, with the same random numbers.
    assert loud.posterior_samples_.keys() == quiet.posterior_samples_.keys()
    for site, draws in quiet.posterior_samples_.items():
        np.testing.assert_array_equal(loud.posterior_samples_[site], draws)


class _Recorder(_progress.ProgressBar):
    """A shown bar that records what it was told."""

    instances: list = []

    def __init__(self, total, desc, *, enabled=True, unit="it"):
        super().__init__(total, desc, enabled=enabled, unit=unit)
        self.total, self.done, self.phases, self.lines = total, 0, [], []
        _Recorder.instances.append(self)

    def update(self, n=1, **postfix):
        self.done += n
        super().update(n, **postfix)

    def phase(self, label):
        self.phases.append(label)
        super().phase(label)

    def extend(self, n):
        self.total += n
        super().extend(n)

    def finish(self, summary):
        self.lines.append(summary)
        super().finish(summary)


def _data(n=30, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, dtype=torch.float64, generator=g)
    y = X @ torch.linspace(-1, 1, d, dtype=torch.float64)
    y = y + 0.5 * torch.randn(n, dtype=torch.float64, generator=g)
    return X - X.mean(0), y - y.mean()


@pytest.mark.parametrize(
    ("prior", "backend", "shape"),
    [
        ("normal", "auto", (30, 4)),
        ("horseshoe", "numba", (30, 4)),
        ("horseshoe", "numpy", (30, 4)),
        ("horseshoe", "torch", (30, 4)),
        ("horseshoe", "auto", (10, 15)),  # wider than long: Bhattacharya's draw
    ],
)
def test_gibbs_bar_shows_warmup_sampling_and_extension(
    monkeypatch, capsys, prior, backend, shape
):
    Xc, yc = _data(*shape)
    options = {
        "prior": prior,
        "backend": backend,
        "num_samples": 40,
        "num_warmup": 20,
        "num_chains": 2,
        "seed": 0,
        # Out of reach: the chains are extended to max_samples.
        "target_ess": 10_000,
        "max_samples": 100,
    }

    # The run stops at its cap short of the target, and says so.
    def short():
        return pytest.warns(ConvergenceWarning, match="short of target_ess=10000")

    with short():
        quiet = run_gibbs(Xc, yc, **options)
    assert capsys.readouterr() == ("", "")
    _Recorder.instances = []
    monkeypatch.setattr(_driver, "ProgressBar", _Recorder)
    with short():
        loud = run_gibbs(Xc, yc, **options, verbose=True)

    (bar,) = _Recorder.instances
    assert bar.phases[:2] == ["warm-up", "sampling"]
    extensions = bar.phases[2:]
    assert extensions and all(
        re.fullmatch(r"extending: min ESS \d+ < 10000", p) for p in extensions
    )
    assert bar.done == bar.total == 20 + 100  # every sweep, extensions included
    (line,) = bar.lines
    assert re.fullmatch(
        r"2 chains x 100 draws after 20 warm-up sweeps, min ESS \d+ "
        r"\(short of target 10000\)",
        line,
    )
    assert _final_line(capsys.readouterr().err) == f"Gibbs: {line}"
    for site, draws in quiet.samples.items():
        torch.testing.assert_close(loud.samples[site], draws, rtol=0, atol=0)


def test_gibbs_bar_reports_a_reached_target(monkeypatch, capsys):
    Xc, yc = _data(seed=1)
    _Recorder.instances = []
    monkeypatch.setattr(_driver, "ProgressBar", _Recorder)
    run_gibbs(
        Xc,
        yc,
        prior="normal",
        num_samples=200,
        num_warmup=20,
        num_chains=2,
        seed=0,
        target_ess=20,
        max_samples=400,
        verbose=True,
    )
    (bar,) = _Recorder.instances
    assert bar.phases == ["warm-up", "sampling"]  # no extension needed
    assert re.search(r"min ESS \d+ \(reached target 20\)$", bar.lines[0])
    assert capsys.readouterr().err.endswith(bar.lines[0] + "\n")
