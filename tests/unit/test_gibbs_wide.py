"""The horseshoe at d > n: numpy sweeps, the approximate algorithm, no d x d work."""

import numpy as np
import pytest
import torch

from skbayes import BayesianLinearRegression, HorseshoeRegression
from skbayes.datasets import make_sparse_regression
from skbayes.inference.gibbs import run_gibbs
from skbayes.models import LinearData
from skbayes.posterior import effective_sample_size


def _wide_problem(seed=0, n=30, d=80):
    X, y, coef = make_sparse_regression(n, d, n_nonzero=3, random_state=seed)
    Xc = torch.as_tensor(X - X.mean(0))
    return Xc, torch.as_tensor(y - y.mean()), coef


def _run(Xc, yc, **kwargs):
    options = {"num_samples": 50, "num_warmup": 20, "num_chains": 2, "seed": 0}
    return run_gibbs(Xc, yc, prior="horseshoe", **{**options, **kwargs})


def test_wide_numpy_sweeps_are_the_default_on_the_cpu():
    Xc, yc, _ = _wide_problem()
    result = _run(Xc, yc)
    assert (result.sampler, result.tau_update) == ("bhattacharya", "both")
    numpy_run = _run(Xc, yc, backend="numpy").samples
    for name, value in result.samples.items():
        torch.testing.assert_close(value, numpy_run[name], rtol=0, atol=0)
    # tau * lambda * z reproduces coef, as on every other path.
    s = result.samples
    torch.testing.assert_close(s["tau"][..., None] * s["lambda"] * s["z"], s["coef"])


def test_threshold_below_every_prior_variance_is_the_exact_sampler():
    # With every column active the approximate sweep is the exact one, draw
    # for draw (the same variates, the same n x n system).
    Xc, yc, _ = _wide_problem()
    exact = _run(Xc, yc).samples
    approx = _run(Xc, yc, approximate_threshold=1e-300).samples
    for name, value in exact.items():
        torch.testing.assert_close(approx[name], value, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_approximate_sampler_agrees_with_exact_within_monte_carlo_error(seed):
    # Johndrow et al.'s threshold of 1e-4 moves the posterior means by far
    # less than their Monte Carlo error at these run lengths. The margin is
    # 5 Monte Carlo sds of the difference of the two means, sd_mc =
    # sqrt(sd_a**2 / ess_a + sd_b**2 / ess_b), taken over the 20 coefficients
    # (a Gaussian exceeds 5 sds with probability 6e-7, so 20 of them with
    # 1e-5), and the coefficients whose ESS is too small for the normal
    # approximation of the mean's error (< 50) are left out.
    Xc, yc, _ = _wide_problem(seed, n=15, d=20)
    draws = {}
    for threshold in (None, 1e-4):
        coef = _run(
            Xc,
            yc,
            num_samples=3000,
            num_warmup=300,
            seed=seed,
            approximate_threshold=threshold,
        ).samples["coef"]
        ess = effective_sample_size(coef.double()).numpy()
        flat = coef.reshape(-1, coef.shape[-1]).numpy()
        draws[threshold] = (flat.mean(0), flat.std(0), ess)
    (m0, s0, e0), (m1, s1, e1) = draws[None], draws[1e-4]
    mc_sd = np.sqrt(s0**2 / e0 + s1**2 / e1)
    usable = np.minimum(e0, e1) >= 50
    assert usable.sum() >= 10
    assert np.all(np.abs(m1 - m0)[usable] <= 5 * mc_sd[usable])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_approximate_threshold_drops_columns_and_keeps_the_signal():
    X, y, coef = make_sparse_regression(80, 400, n_nonzero=4, random_state=3)
    reg = HorseshoeRegression(
        approximate_threshold=1e-4, num_warmup=300, random_state=0
    ).fit(X, y)
    assert reg.inference_ == "gibbs"
    # Four signals of size ~5 among 396 zeros: the approximate sampler finds
    # them as the exact one does (test_wide_problem_uses_bhattacharya).
    assert np.sqrt(np.mean((reg.coef_ - coef) ** 2)) < 0.1
    assert set(np.flatnonzero(reg.relevance_ > 0.5)) == set(np.flatnonzero(coef))
    # R-hat may graze its 1.01 warning level at this run length, no more.
    assert max(float(np.max(r)) for r in reg.diagnostics_["r_hat"].values()) < 1.05


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"prior": "normal"}, "horseshoe prior only"),
        ({"sampler": "rue"}, "sampler='bhattacharya'"),
        ({"backend": "torch"}, "sampler='bhattacharya' on the CPU"),
        ({"approximate_threshold": -1.0}, "positive float"),
    ],
)
def test_bad_approximate_threshold_is_named(kwargs, match):
    Xc, yc, _ = _wide_problem()
    options = {"prior": "horseshoe", "approximate_threshold": 1e-4, **kwargs}
    with pytest.raises(ValueError, match=match):
        run_gibbs(Xc, yc, num_samples=2, num_warmup=0, **options)


@pytest.mark.parametrize("inference", ["nuts", "svi"])
def test_estimator_refuses_threshold_for_other_engines(inference):
    X, y, _ = make_sparse_regression(20, 5, n_nonzero=1, random_state=0)
    reg = HorseshoeRegression(approximate_threshold=1e-4, inference=inference)
    with pytest.raises(ValueError, match=r"approximate_threshold=0\.0001 needs"):
        reg.fit(X, y)


def test_wide_data_form_no_gram_and_the_dual_ridge_start():
    X, y, _ = make_sparse_regression(12, 40, n_nonzero=2, random_state=0)
    data = LinearData.from_arrays(X, y, fit_intercept=True, dtype=torch.float64)
    coef, noise = data.ridge_start()
    assert data.cached_gram is None  # nothing d x d was formed
    # The primal ridge solution (X'X + I)^{-1} X'y of the centred data.
    Xc, yc = X - X.mean(0), y - y.mean()
    primal = np.linalg.solve(Xc.T @ Xc + np.eye(40), Xc.T @ yc)
    np.testing.assert_allclose(coef.numpy(), primal, rtol=1e-8, atol=1e-10)
    rss = np.sum((yc - Xc @ primal) ** 2)
    assert noise == pytest.approx(np.sqrt(max(rss / 12, 1e-2 * yc.var(ddof=1))))
    np.testing.assert_allclose(data.column_sq_norms.numpy(), (Xc**2).sum(0), rtol=1e-12)
    np.testing.assert_allclose(data.gram.numpy(), Xc.T @ Xc, atol=1e-10)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_wide_fits_never_form_the_gram(monkeypatch):
    # A d x d X'X would outweigh X at d >> n: the horseshoe's and the
    # normal prior's fits at d > n must not ask for one.
    X, y, _ = make_sparse_regression(15, 50, n_nonzero=2, random_state=0)

    def refuse(self):
        raise AssertionError("X'X was formed")

    monkeypatch.setattr(LinearData, "gram", property(refuse))
    options = {"num_samples": 20, "num_warmup": 10, "target_ess": None}
    HorseshoeRegression(random_state=0, **options).fit(X, y)
    BayesianLinearRegression("laplace", random_state=0, **options).fit(X, y)


def test_centring_copies_X_only_when_it_has_a_mean_to_subtract():
    X, y, _ = make_sparse_regression(12, 40, n_nonzero=2, random_state=0)
    original = X.copy()
    for fit_intercept in (False, True):
        data = LinearData.from_arrays(
            X, y, fit_intercept=fit_intercept, dtype=torch.float64
        )
        Xc, _ = data.full_arguments()
        # Without an intercept X - 0 is X: no copy of X's size.
        assert np.shares_memory(Xc.numpy(), X) is not fit_intercept
        np.testing.assert_array_equal(Xc.numpy(), X - data.x_mean.numpy())
    np.testing.assert_array_equal(X, original)


def test_run_gibbs_returns_the_sites_asked_for_with_the_same_draws():
    Xc, yc, _ = _wide_problem()
    every = _run(Xc, yc).samples
    # Without coef, the sweeps write z over coef's buffer: the same numbers.
    sites = ("noise_var", "tau", "lambda", "z")
    asked = _run(Xc, yc, sites=sites).samples
    assert list(asked) == list(sites)
    for name in sites:
        torch.testing.assert_close(asked[name], every[name], rtol=0, atol=0)
    # The torch sweeps leave the others out too.
    torch_run = _run(Xc, yc, backend="torch", sites=("coef",)).samples
    assert list(torch_run) == ["coef"]


def test_the_run_lets_go_of_its_data():
    # The kernel and its numpy sweeps refer to each other only weakly, so
    # the run's copy of X is freed when the run ends, not at some later
    # collection of old objects.
    import gc
    import weakref

    Xc, yc, _ = _wide_problem()
    ref = weakref.ref(Xc)
    gc.disable()
    try:
        _run(Xc, yc)
        del Xc
        assert ref() is None
    finally:
        gc.enable()


def test_diagnostics_by_blocks_of_quantities_are_those_of_the_whole(monkeypatch):
    from skbayes.estimators import _base
    from skbayes.posterior import mcmc_diagnostics

    rng = np.random.default_rng(0)
    draws = {"tau": rng.normal(size=(2, 30)), "z": rng.normal(size=(2, 30, 50))}
    whole = mcmc_diagnostics(draws)
    monkeypatch.setattr(_base, "_DIAGNOSTICS_BLOCK", 7 * 60)  # 7 at a time
    blocks = _base._blockwise_diagnostics(draws)
    for k in (0, 1):
        for name in draws:
            assert blocks[k][name].shape == whole[k][name].shape
            # torch's reductions may round R-hat differently on another shape.
            np.testing.assert_allclose(blocks[k][name], whole[k][name], rtol=1e-14)
    np.testing.assert_array_equal(blocks[0]["z"], whole[0]["z"])  # n_eff
