"""BayesianLogisticRegression against independent references and sklearn."""

import json
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbayes import BayesianLogisticRegression
from skbayes.priors import Horseshoe, Laplace, Normal, StudentT

from .._logistic_reference import (
    POSTERIORDB_DIR,
    dogs_design,
    logistic_reference,
    weighted_moments,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# The accuracy bars, in posterior sds of the reference (means) and
# relative to its sd (sds).
EXACT_MEAN_TOL, EXACT_SD_TOL = 0.12, 0.10
SVI_MEAN_TOL, SVI_SD_TOL = 0.30, 0.25
# For those bars to be at least 4.5 Monte Carlo sds of a sampler's estimate,
# its effective sample size must reach (4.5 / 0.12)**2 = 1406 for the means;
# the sds (MC se about sd / sqrt(2 ESS)) need (4.5 / 0.10)**2 / 2 = 1013.
# The reference's own MC se is under 0.004 sd (ESS > 60,000): negligible.
MIN_ESS = 1406


def binary_problem(seed, d, n):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, size=d) + rng.normal(size=d)
    coef = rng.normal(size=d)
    logits = X @ coef - X.mean(0) @ coef + 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logits))).astype(int)
    return X, y


def multiclass_problem(seed, d=2, n=150, k=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    logits = X @ rng.normal(size=(d, k)) * 1.5 + rng.gumbel(size=(n, k))
    return X, logits.argmax(1)


def reference_on_x(
    X,
    y,
    *,
    n_classes=None,
    coef_scale=2.5,
    intercept_scale=10.0,
    coef_log_prior=None,
):
    """The reference posterior of the estimator's model, for X as given.

    The estimator puts its priors on the coefficients of standardised
    columns and on the intercept at the columns' means (autoscale); the
    reference is computed on that design and its draws mapped back. With
    ``coef_log_prior`` (binary only), a log density of the standardised
    coefficients, the draws are importance-weighted from the normal prior
    to that one, and the effective sample size returned is the new weights'.
    """
    mean, scale = X.mean(0), X.std(0)
    ref = logistic_reference(
        (X - mean) / scale,
        y,
        coef_scale=coef_scale,
        intercept_scale=intercept_scale,
        n_classes=n_classes,
        seed=0,
    )
    draws, weights, ess = ref.draws, ref.weights, ref.ess
    if coef_log_prior is not None:
        b = draws[..., :-1]
        normal = -0.5 * (b / coef_scale) ** 2
        with np.errstate(divide="ignore"):  # zero weights stay zero
            log_w = np.log(weights) + (coef_log_prior(b) - normal).sum(-1)
        weights = np.exp(log_w - log_w.max())
        weights /= weights.sum()
        ess = 1.0 / np.sum(weights**2)
    coef = draws[..., :-1] / scale
    intercept = draws[..., -1] - coef @ mean
    moments = weighted_moments(
        np.concatenate([coef, intercept[..., None]], -1), weights
    )
    return moments[0], moments[1], ess


def stacked(draws):
    """``coef`` and ``intercept`` draws as one array, intercept last."""
    return np.concatenate([draws["coef"], draws["intercept"][..., None]], -1)


def assert_matches(clf, ref_mean, ref_sd, mean_tol, sd_tol):
    draws = stacked(clf.posterior_samples_)
    z = (draws.mean(0) - ref_mean) / ref_sd
    ratio = draws.std(0, ddof=1) / ref_sd
    assert np.all(np.abs(z) < mean_tol), z
    assert np.all(np.abs(ratio - 1) < sd_tol), ratio


def min_ess(clf):
    n_eff = clf.diagnostics_["n_eff"]
    return min(float(np.min(n_eff[name])) for name in ("coef", "intercept"))


EXACT = dict(num_samples=4000, num_warmup=200, num_chains=4)
# NUTS keeps about half its draws' worth of ESS here: 2 x 2000 for 1406.
NUTS_RUN = dict(num_samples=2000, num_warmup=300, num_chains=2)

BINARY_PROBLEMS = [(0, 3, 150), (1, 4, 100), (2, 5, 200)]


@pytest.mark.parametrize("seed, d, n", BINARY_PROBLEMS)
def test_gibbs_matches_reference(seed, d, n):
    X, y = binary_problem(seed, d, n)
    ref_mean, ref_sd, ref_ess = reference_on_x(X, y)
    assert ref_ess > 20_000
    clf = BayesianLogisticRegression(inference="gibbs", random_state=seed, **EXACT)
    clf.fit(X, y)
    assert min_ess(clf) > MIN_ESS
    assert_matches(clf, ref_mean, ref_sd, EXACT_MEAN_TOL, EXACT_SD_TOL)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("prior", "log_prior"),
    [
        (Laplace(1.0), lambda b: -np.abs(b)),
        (StudentT(3.0, 1.0), lambda b: -2.0 * np.log1p(b**2 / 3.0)),
    ],
    ids=["laplace", "student_t"],
)
def test_gibbs_scale_mixture_priors_match_reference(prior, log_prior):
    # The reference's draws, reweighted from its Normal(0, 2.5) prior to the
    # Laplace or Student-t one (up to constants, on standardised columns).
    X, y = binary_problem(*BINARY_PROBLEMS[0])
    ref_mean, ref_sd, ref_ess = reference_on_x(X, y, coef_log_prior=log_prior)
    assert ref_ess > 20_000
    # The Laplace prior's variances slow the chains: at 4 x 4,000 draws the
    # smallest ESS came within 2% of MIN_ESS at one of ten seeds.
    run = {**EXACT, "num_samples": 6000}
    clf = BayesianLogisticRegression(prior, random_state=0, **run).fit(X, y)
    assert clf.inference_ == "gibbs"
    assert min_ess(clf) > MIN_ESS
    assert_matches(clf, ref_mean, ref_sd, EXACT_MEAN_TOL, EXACT_SD_TOL)


@pytest.mark.slow
@pytest.mark.parametrize("seed, d, n", BINARY_PROBLEMS)
def test_nuts_matches_reference(seed, d, n):
    X, y = binary_problem(seed, d, n)
    ref_mean, ref_sd, _ = reference_on_x(X, y)
    clf = BayesianLogisticRegression(
        inference="nuts",
        random_state=seed,
        **NUTS_RUN,
    ).fit(X, y)
    assert min_ess(clf) > MIN_ESS
    assert_matches(clf, ref_mean, ref_sd, EXACT_MEAN_TOL, EXACT_SD_TOL)


@pytest.mark.parametrize("seed, d, n", BINARY_PROBLEMS)
def test_default_svi_matches_reference(seed, d, n):
    # 4000 guide draws: the MC se of a mean is 1 / sqrt(4000) = 0.016 sd,
    # so 0.3 sd is 19 MC sds, and of an sd about 1.1%, against 25%.
    X, y = binary_problem(seed, d, n)
    ref_mean, ref_sd, _ = reference_on_x(X, y)
    clf = BayesianLogisticRegression(random_state=seed, num_samples=4000).fit(X, y)
    assert_matches(clf, ref_mean, ref_sd, SVI_MEAN_TOL, SVI_SD_TOL)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multiclass_gibbs_matches_reference(seed):
    X, y = multiclass_problem(seed)
    ref_mean, ref_sd, ref_ess = reference_on_x(X, y, n_classes=3)
    assert ref_ess > 20_000
    clf = BayesianLogisticRegression(inference="gibbs", random_state=seed, **EXACT)
    clf.fit(X, y)
    assert clf.coef_.shape == (3, 2) and clf.intercept_.shape == (3,)
    assert min_ess(clf) > MIN_ESS
    assert_matches(clf, ref_mean, ref_sd, EXACT_MEAN_TOL, EXACT_SD_TOL)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multiclass_svi_matches_reference(seed):
    # Multiclass NUTS is not checked here: on this problem one fit of 2 x
    # 2300 draws ran for over ten minutes (the softmax's unidentified
    # direction, which only the prior bounds, makes long trajectories).
    X, y = multiclass_problem(seed)
    ref_mean, ref_sd, _ = reference_on_x(X, y, n_classes=3)
    svi = BayesianLogisticRegression(random_state=seed, num_samples=4000).fit(X, y)
    assert_matches(svi, ref_mean, ref_sd, SVI_MEAN_TOL, SVI_SD_TOL)


def dogs():
    spec = json.loads((POSTERIORDB_DIR / "dogs-dogs.json").read_text())
    X, y = dogs_design(spec["data"]["y"])
    ref = spec["reference"]
    # beta[1] is the intercept; our stacked layout puts it last.
    order = ["beta[2]", "beta[3]", "beta[1]"]
    mean = np.array([ref[name]["mean"] for name in order])
    sd = np.array([ref[name]["sd"] for name in order])
    return X, y, mean, sd


@pytest.mark.parametrize(
    "inference", ["gibbs", pytest.param("nuts", marks=pytest.mark.slow)]
)
def test_exact_engines_match_posteriordb_dogs(inference):
    # Stan's model: every beta ~ Normal(0, 100) on X as given. Ours puts the
    # intercept's Normal(0, 100) at the columns' means instead; at a
    # posterior sd of 0.2 either prior moves the posterior by about
    # (0.2 / 100)**2 of an sd. posteriordb's 10,000 draws have MC se of at
    # most 2 sd / sqrt(10,000) = 0.02 sd (2 for autocorrelation).
    X, y, ref_mean, ref_sd = dogs()
    clf = BayesianLogisticRegression(
        Normal(100.0),
        inference=inference,
        intercept_scale=100.0,
        autoscale=False,
        random_state=0,
        **(EXACT if inference == "gibbs" else NUTS_RUN),
    ).fit(X, y)
    assert min_ess(clf) > MIN_ESS
    assert_matches(clf, ref_mean, ref_sd, EXACT_MEAN_TOL, EXACT_SD_TOL)


def test_predict_proba_is_the_average_over_draws():
    X, y = multiclass_problem(3)
    clf = BayesianLogisticRegression(inference="gibbs", num_samples=300, random_state=0)
    clf.fit(X, y)
    draws = clf.posterior_samples_
    logits = np.einsum("nd,skd->snk", X, draws["coef"]) + draws["intercept"][:, None]
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    mean, std = clf.predict_proba(X, return_std=True)
    np.testing.assert_allclose(mean, probs.mean(0), rtol=1e-12)
    np.testing.assert_allclose(std, probs.std(0, ddof=1), rtol=1e-10)
    np.testing.assert_allclose(mean.sum(1), 1.0)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(mean))
    assert np.array_equal(clf.predict(X), mean.argmax(1))
    # decision_function is softmax-consistent with predict_proba.
    decision = clf.decision_function(X)
    softmax = np.exp(decision) / np.exp(decision).sum(1, keepdims=True)
    np.testing.assert_allclose(softmax, mean, rtol=1e-10)


def test_binary_outputs_have_sklearn_shapes():
    X, y = binary_problem(0, 3, 150)
    labels = np.array(["no", "yes"])[y]
    clf = BayesianLogisticRegression(inference="gibbs", num_samples=200, random_state=0)
    clf.fit(X, labels)
    assert clf.classes_.tolist() == ["no", "yes"]
    assert clf.coef_.shape == (1, 3) and clf.intercept_.shape == (1,)
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 2)
    decision = clf.decision_function(X)
    assert decision.shape == (150,)
    np.testing.assert_allclose(decision, np.log(proba[:, 1] / proba[:, 0]))
    draws = clf.sample_posterior(50, random_state=1)
    assert draws["coef"].shape == (50, 3) and draws["intercept"].shape == (50,)
    predictive = clf.sample_posterior_predictive(X[:7], 400, random_state=0)
    assert predictive.shape == (400, 7) and set(np.unique(predictive)) <= {"no", "yes"}
    # The predictive frequency of "yes" is the predictive probability:
    # binomial sd at most 0.5 / sqrt(400) = 0.025; 4.5 sds = 0.11.
    freq = (predictive == "yes").mean(0)
    assert np.all(np.abs(freq - proba[:7, 1]) < 0.11)
    assert clf.score(X, labels) == np.mean(clf.predict(X) == labels)


def test_summary_names_features_and_classes():
    pd = pytest.importorskip("pandas")
    iris = load_iris(as_frame=True)
    X = iris.data.iloc[:, :2]
    y = iris.target_names[iris.target]
    clf = BayesianLogisticRegression(inference="gibbs", num_samples=100, random_state=0)
    clf.fit(X, y)
    table = clf.summary()
    assert "coef[setosa, sepal length (cm)]" in table.rows
    assert "intercept[virginica]" in table.rows
    assert isinstance(table.to_pandas(), pd.DataFrame)
    assert clf.feature_names_in_.tolist() == list(X.columns)


@pytest.mark.slow
def test_iris_cross_validated_accuracy():
    X, y = load_iris(return_X_y=True)
    clf = make_pipeline(StandardScaler(), BayesianLogisticRegression(random_state=0))
    scores = cross_val_score(clf, X, y, cv=3)
    assert scores.mean() > 0.9


@pytest.mark.parametrize(
    "y, message",
    [
        (np.zeros(20, dtype=int), "one class"),
        (np.linspace(0, 1, 20), "Unknown label type"),
    ],
)
def test_bad_targets_are_named(y, message):
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match=message):
        BayesianLogisticRegression().fit(X, y)


def test_nan_input_is_named():
    X = np.random.default_rng(0).normal(size=(20, 2))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        BayesianLogisticRegression().fit(X, np.arange(20) % 2)


def test_fractional_weights_need_a_sampler_that_takes_them():
    X, y = binary_problem(0, 2, 40)
    weight = np.full(40, 0.5)
    with pytest.raises(ValueError, match="whole-number sample_weight"):
        BayesianLogisticRegression(inference="gibbs").fit(X, y, sample_weight=weight)
    clf = BayesianLogisticRegression(inference="svi", random_state=0, num_steps=300)
    assert np.isfinite(clf.fit(X, y, sample_weight=weight).coef_).all()


@pytest.mark.parametrize("inference", ["svi", "gibbs"])
def test_integer_weights_are_repeated_rows(inference):
    # Rows are merged and put in a canonical order, so the two fits see the
    # same arrays and agree to the last bit, draws included.
    X, y = binary_problem(4, 3, 30)
    weight = np.random.default_rng(0).integers(0, 4, size=30)
    repeated = np.repeat(np.arange(30), weight)
    params = dict(inference=inference, num_samples=200, num_steps=500, random_state=0)
    a = BayesianLogisticRegression(**params).fit(X, y, sample_weight=weight)
    b = BayesianLogisticRegression(**params).fit(X[repeated[::-1]], y[repeated[::-1]])
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


@pytest.mark.parametrize("inference", ["gibbs", "svi"])
def test_separable_data_give_a_finite_posterior(inference):
    # The likelihood has no maximum; the proper priors bound the posterior.
    X = np.r_[np.linspace(-2, -0.5, 10), np.linspace(0.5, 2, 10)][:, None]
    y = (X[:, 0] > 0).astype(int)
    clf = BayesianLogisticRegression(
        inference=inference, random_state=0, num_samples=500
    )
    clf.fit(X, y)
    draws = clf.posterior_samples_
    assert np.isfinite(draws["coef"]).all() and np.isfinite(draws["intercept"]).all()
    # Standardised slope ~ Normal(0, 2.5) a priori, and positive here: its
    # posterior sits within a few prior sds, not at infinity.
    slope = draws["coef"][:, 0] * X.std()
    assert 0 < np.median(slope) < 4 * 2.5
    assert clf.score(X, y) == 1.0


def test_sparse_gibbs_uses_bhattacharya_when_d_exceeds_n():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 60))
    y = (X[:, 0] * 3 + rng.logistic(size=40) > 0).astype(int)
    clf = BayesianLogisticRegression(
        Horseshoe(), inference="gibbs", num_samples=300, num_warmup=200, random_state=0
    ).fit(X, y)
    assert np.argmax(np.abs(clf.coef_[0])) == 0
    assert set(clf.posterior_samples_) >= {"coef", "intercept", "tau", "lambda", "z"}


def test_pickle_clone_and_reproducibility():
    X, y = multiclass_problem(5)
    clf = BayesianLogisticRegression(num_steps=300, random_state=3).fit(X, y)
    again = clone(clf).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), again.predict_proba(X))
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(
        loaded.sample_posterior(10, random_state=0)["coef"],
        clf.sample_posterior(10, random_state=0)["coef"],
    )


@pytest.mark.parametrize("inference", ["svi", "gibbs", "nuts"])
def test_fit_leaves_global_rngs_alone(inference):
    X, y = binary_problem(6, 2, 60)
    torch_state = torch.get_rng_state()
    numpy_state = np.random.get_state()  # noqa: NPY002 (the global state is the point)
    BayesianLogisticRegression(
        inference=inference,
        num_samples=50,
        num_warmup=50,
        num_steps=200,
        random_state=0,
    ).fit(X, y)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert all(
        np.array_equal(a, b)
        for a, b in zip(np.random.get_state(), numpy_state, strict=True)  # noqa: NPY002
    )


def test_no_intercept_and_no_autoscale():
    X, y = binary_problem(7, 2, 120)
    clf = BayesianLogisticRegression(
        inference="gibbs",
        fit_intercept=False,
        autoscale=False,
        num_samples=300,
        random_state=0,
    ).fit(X, y)
    np.testing.assert_array_equal(clf.intercept_, [0.0])
    assert "intercept" not in clf.module_.prior_sites()
    # Against sklearn's MAP at a nearly flat prior: the posterior mean of a
    # logistic regression sits within a fraction of an sd of the mode.
    sk = LogisticRegression(C=2.5**2, fit_intercept=False, tol=1e-10).fit(X, y)
    sd = clf.posterior_samples_["coef"].std(0)
    assert np.all(np.abs(clf.coef_[0] - sk.coef_[0]) < 0.5 * sd)


@pytest.mark.slow
def test_gibbs_with_the_torch_polya_gamma_sampler_matches_reference():
    # The GPU path's sampler (Devroye's, in torch), run on the CPU through
    # the kernel: the same bars as the default sampler. Its accept-reject
    # loop costs a few ms per sweep on the CPU whatever n is.
    from skbayes.inference.gibbs import PolyaGammaKernel, drive
    from skbayes.models import LogisticData

    X, y = binary_problem(2, 5, 200)
    ref_mean, ref_sd, _ = reference_on_x(X, y)
    data = LogisticData.from_arrays(
        X, y, n_classes=2, fit_intercept=True, autoscale=True, dtype=torch.float64
    )
    kernel = PolyaGammaKernel(
        Normal(2.5),
        n_vectors=1,
        fit_intercept=True,
        intercept_scale=10.0,
        polya_gamma="torch",
    )
    generator = torch.Generator().manual_seed(0)
    state = kernel.init(*data.arrays, num_chains=4, generator=generator)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        draws, _ = drive(kernel, state, num_samples=1500, num_warmup=100)
    finally:
        torch.set_num_threads(threads)
    theta = torch.cat([draws["coef"], draws["intercept"][..., None]], -1).numpy()
    from skbayes.posterior import mcmc_diagnostics

    n_eff, _ = mcmc_diagnostics({"theta": theta})
    assert n_eff["theta"].min() > MIN_ESS
    theta = theta.reshape(-1, 6)
    coef = theta[:, :5] / data.x_scale
    intercept = theta[:, 5] - coef @ data.x_mean
    fake = type(
        "Fit", (), {"posterior_samples_": {"coef": coef, "intercept": intercept}}
    )
    assert_matches(fake, ref_mean, ref_sd, EXACT_MEAN_TOL, EXACT_SD_TOL)


@pytest.mark.slow
def test_grid_search_over_priors_is_the_same_with_two_jobs():
    from sklearn.model_selection import GridSearchCV

    X, y = binary_problem(8, 4, 120)
    search = GridSearchCV(
        BayesianLogisticRegression(
            inference="gibbs", num_samples=300, num_warmup=100, random_state=0
        ),
        {"prior": ["normal", "horseshoe", Normal(1.0)]},
        scoring="neg_log_loss",
        cv=3,
    )
    one = search.fit(X, y).cv_results_["mean_test_score"]
    two = clone(search).set_params(n_jobs=2).fit(X, y).cv_results_["mean_test_score"]
    np.testing.assert_array_equal(one, two)
    assert np.all(np.isfinite(one)) and np.all(one < 0)


def sparse_problem(seed, n=300, d=100):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    coef = np.zeros(d)
    signs = rng.choice([-1, 1], 5)
    coef[rng.choice(d, 5, replace=False)] = signs * rng.uniform(1.5, 3, 5)
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ coef))).astype(int)
    return X, y, coef


def _rmse(estimate, coef):
    return float(np.sqrt(np.mean((np.ravel(estimate) - coef) ** 2)))


SPARSE_FIT = dict(
    inference="gibbs",
    fit_intercept=False,
    num_samples=1000,
    num_warmup=500,
    num_chains=2,
)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_sparse_horseshoe_beats_the_normal_prior(seed):
    # d=100, n=300, 5 signals, no intercept (the sparse problem).
    X, y, coef = sparse_problem(seed)
    horseshoe = BayesianLogisticRegression(Horseshoe(), random_state=seed, **SPARSE_FIT)
    normal = BayesianLogisticRegression("normal", random_state=seed, **SPARSE_FIT)
    assert _rmse(horseshoe.fit(X, y).coef_, coef) < _rmse(normal.fit(X, y).coef_, coef)


@pytest.mark.slow
# LogisticRegressionCV's arguments are changing across sklearn 1.8-1.10.
@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.xfail(
    strict=True,
    reason="at seed 1 the data are nearly separable and the plain horseshoe's "
    "unbounded tails inflate the five signals (posterior means 4.5-5.9 for "
    "true 2.6-3.0, coef ESS about 10): RMSE 0.53 against L1's 0.13 (seed 0: "
    "0.13 against 0.25). The regularised horseshoe's slab helps (RMSE 0.27, "
    "seed 0: 0.08) but its Gibbs chain mixes slowly there too (ESS 20).",
)
def test_sparse_horseshoe_beats_l1_cross_validation():
    from sklearn.linear_model import LogisticRegressionCV

    for seed in [0, 1]:
        X, y, coef = sparse_problem(seed)
        horseshoe = BayesianLogisticRegression(
            Horseshoe(), random_state=seed, **SPARSE_FIT
        ).fit(X, y)
        l1 = LogisticRegressionCV(
            l1_ratios=(1.0,),
            solver="liblinear",
            fit_intercept=False,
            Cs=20,
            cv=5,
            scoring="neg_log_loss",
        ).fit(X, y)
        assert _rmse(horseshoe.coef_, coef) < _rmse(l1.coef_, coef)
