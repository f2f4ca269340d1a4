"""Agreement with posteriordb's reference posteriors of Gaussian regressions.

``../shared/validation/posteriordb/`` (copied to ``tests/data/posteriordb/``)
holds, for five Stan models, the means and sds of 10 chains x 1,000 Stan
NUTS draws, written by nobody here. posteriordb thins its reference chains
until the draws are close to independent, so we take their effective size
as 10,000. Each model is expressed exactly: ``Flat()`` for Stan's
unconstrained ``beta`` (the intercept is flat in both), ``Normal(10)`` for
sblri's, and Stan's priors on sigma as ``FlatScale()``, ``HalfCauchy(2.5)``
and ``HalfNormal(10)``.

Margins, in posterior sds of the reference. A mean from N effective draws
has a Monte Carlo sd of 1/sqrt(N) sd. With at least 2,000 effective draws
of ours (asserted) the difference of the two means has an MC sd of at most
sqrt(1/2000 + 1/10000) = 0.0245, so the 0.1 asked for is 4.1 MC sds; the
exact engine's 20,000 independent draws give 0.0122, and 0.1 is 8.2 of
them. An sd from N effective draws has a relative MC sd of about
1/sqrt(2 N) (a little more for sigma's skewed posterior): 0.0158 and 0.0071,
so the 10% asked for is 5.8 MC sds of their difference. SVI must come within
0.3 sd and 30%, or warn that it may not.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from skbayes import BayesianLinearRegression
from skbayes.priors import Flat, FlatScale, HalfCauchy, HalfNormal, Normal

pytestmark = pytest.mark.slow

# Copies of ../shared/validation/posteriordb/, so that a clean clone runs them.
ROOT = Path(__file__).resolve().parents[1] / "data" / "posteriordb"
MIN_ESS = 2000
#: Draws per fit: NUTS keeps 0.5 to 0.9 effective draws per draw here, so
#: 6,000 keep its ESS well above MIN_ESS; Gibbs' two chains of 4,000 about
#: 7,000.
NUM_SAMPLES = {"auto": 20_000, "nuts": 6000}

#: name -> (columns of X, target, intercept, coefficient prior, noise prior):
#: the Stan model, prior for prior.
MODELS = {
    "earnings-earn_height": (["height"], "earn", True, Flat(), FlatScale()),
    "kidiq-kidscore_momiq": (["mom_iq"], "kid_score", True, Flat(), HalfCauchy(2.5)),
    "kidiq-kidscore_momhsiq": (
        ["mom_hs", "mom_iq"],
        "kid_score",
        True,
        Flat(),
        HalfCauchy(2.5),
    ),
    "mesquite-mesquite": (
        ["diam1", "diam2", "canopy_height", "total_height", "density", "group"],
        "weight",
        True,
        Flat(),
        FlatScale(),
    ),
    "sblri-blr": ("X", "y", False, Normal(10.0), HalfNormal(10.0)),
}


def _problem(name):
    record = json.loads((ROOT / f"{name}.json").read_text())
    columns, target, *_ = MODELS[name]
    data = record["data"]
    if isinstance(columns, str):
        X = np.asarray(data[columns], dtype=float)
    else:
        X = np.column_stack([data[c] for c in columns]).astype(float)
    return X, np.asarray(data[target], dtype=float), record["reference"]


def _gaps(name, inference, seed=0):
    """The fit, |mean - reference| / sd, sd / reference sd, and its warnings."""
    X, y, reference = _problem(name)
    _, _, intercept, prior, noise_prior = MODELS[name]
    est = BayesianLinearRegression(
        prior=prior,
        inference=inference,
        noise_prior=noise_prior,
        fit_intercept=intercept,
        num_samples=NUM_SAMPLES.get(inference, 4000),
        random_state=seed,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    draws = est.posterior_samples_
    columns = [draws["intercept"]] if intercept else []
    values = np.column_stack([*columns, *draws["coef"].T, draws["noise_scale"]])
    ref_mean = np.array([v["mean"] for v in reference.values()])
    ref_sd = np.array([v["sd"] for v in reference.values()])
    z = np.abs(values.mean(0) - ref_mean) / ref_sd
    ratio = values.std(0) / ref_sd
    spread = f"{ratio.min():.3f}-{ratio.max():.3f}"
    print(f"{name} {est.inference_}: max |z| {z.max():.3f}, sd ratio {spread}")
    return est, z, ratio, caught


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("inference", ["auto", "gibbs", "nuts"])
def test_exact_engines_match_posteriordb(name, inference):
    est, z, ratio, _ = _gaps(name, inference)
    if inference == "auto":
        assert est.inference_ == "exact"
    else:
        ess = min(np.min(v) for v in est.diagnostics_["n_eff"].values())
        assert ess >= MIN_ESS
    assert np.all(z < 0.1), z
    assert np.all(np.abs(ratio - 1) < 0.1), ratio


@pytest.mark.parametrize("name", sorted(MODELS))
def test_svi_matches_posteriordb_or_warns(name):
    _, z, ratio, caught = _gaps(name, "svi")
    if np.all(z < 0.3) and np.all(np.abs(ratio - 1) < 0.3):
        return
    assert any("k-hat" in str(w.message) for w in caught), (z, ratio)
