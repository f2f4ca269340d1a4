"""Calibration of the default engine: intervals cover draws from the prior.

Data sets are drawn from the model's own prior, so the posterior's central
90% intervals must cover the true coefficients 90% of the time, averaged
over the data sets (Cook, Gelman and Rubin 2006; Talts et al. 2018). 1,600
intervals per prior: with independent intervals the binomial sd of their
coverage is sqrt(0.9 * 0.1 / 1600) = 0.0075, and 4 sds are 3 percentage
points. Intervals from one data set share its noise (and, for the horseshoe,
its global scale), so the margin is 4 times the larger of that sd and the sd
of the mean of the per-data-set coverages; the horseshoe's 2,160 intervals
keep that under 3 points too (its per-data-set sd gave 0.0086 over 200 data
sets of 8 coefficients).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from skbayes import BayesianLinearRegression, HorseshoeRegression
from skbayes.priors import Normal

pytestmark = pytest.mark.slow

COVERAGE = 0.9
NOISE_PRIOR = (3.0, 2.0)  # proper and moderate: sigma**2 has mean 1


def _coverage(make_estimator, draw_coef, datasets: int, n: int, d: int, seed=0):
    rng = np.random.default_rng(seed)
    hits = []
    for index in range(datasets):
        coef = draw_coef(rng, d)
        noise_var = NOISE_PRIOR[1] / rng.gamma(NOISE_PRIOR[0])
        X = rng.normal(size=(n, d))
        # The intercept has a flat prior, so any value gives the same
        # posterior of the coefficients.
        y = 1.0 + X @ coef + np.sqrt(noise_var) * rng.normal(size=n)
        est = make_estimator(index)
        with warnings.catch_warnings():
            # A short chain may warn; its draws are still what is scored.
            warnings.simplefilter("ignore")
            est.fit(X, y)
        tail = (1 - COVERAGE) / 2
        lo, hi = np.quantile(est.posterior_samples_["coef"], [tail, 1 - tail], axis=0)
        hits.append(((lo <= coef) & (coef <= hi)).mean())
    hits = np.asarray(hits)
    binomial_sd = np.sqrt(COVERAGE * (1 - COVERAGE) / (datasets * d))
    cluster_sd = hits.std(ddof=1) / np.sqrt(datasets)
    return hits.mean(), max(binomial_sd, cluster_sd), est


def _normal_coef(rng, d):
    return rng.normal(size=d)


def _horseshoe_coef(rng, d):
    tau, lam = np.abs(rng.standard_cauchy()), np.abs(rng.standard_cauchy(d))
    return tau * lam * rng.normal(size=d)


CASES = {
    # prior: (estimator for a seed, coefficient draw, data sets, n, d, engine)
    "normal": (
        lambda seed: BayesianLinearRegression(
            prior=Normal(1.0), noise_prior=NOISE_PRIOR, random_state=seed
        ),
        _normal_coef,
        400,
        30,
        4,
        "exact",
    ),
    "horseshoe": (
        lambda seed: HorseshoeRegression(
            noise_prior=NOISE_PRIOR, num_samples=300, num_warmup=200, random_state=seed
        ),
        _horseshoe_coef,
        270,
        40,
        8,
        "gibbs",
    ),
}


@pytest.mark.parametrize("prior", sorted(CASES))
def test_default_engine_is_calibrated(prior):
    make_estimator, draw_coef, datasets, n, d, engine = CASES[prior]
    covered, sd, est = _coverage(make_estimator, draw_coef, datasets, n, d)
    print(f"{prior} ({est.inference_}): coverage {covered:.4f}, sd {sd:.4f}")
    assert est.inference_ == engine
    assert abs(covered - COVERAGE) < 4 * sd
