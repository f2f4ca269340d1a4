"""Simulation-based calibration of the exact engines (benchmarks/sbc.py, fewer
replicates): exact, Gibbs and NUTS return ranks uniform to chance.

Each case draws its parameters from the prior and its data from the
likelihood, fits, and ranks every true parameter, and the data's
log-likelihood at it, among 99 thinned posterior draws (ranks 0..99). A
chi-square test over 10 bins (10 expected per bin at 100 replicates) then
tests each parameter's ranks for uniformity.

The bar: p >= 1e-5, i.e. chi-square below 38.4 on 9 degrees of freedom,
whose mean is 9 and sd sqrt(18) = 4.24: the bar sits 6.9 sds above the
mean. About 80 parameters are tested in all, so a run of correct engines
fails with probability under 80 * 1e-5 = 8e-4. The same bar catches a
posterior made too narrow by half from the same fits (``test_a_wrong
posterior_is_caught``), so the check has power at these sizes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import sbc

pytestmark = pytest.mark.slow

P_BAR = 1e-5
BINS = 10

# case: replicates. NUTS costs 2-15 s a fit here, so it runs the cheapest
# model. Fewer replicates mean 5-6 per bin, where the chi-square
# approximation still holds well enough for a 1e-5 bar; for NUTS's single
# parameter, 50 replicates left the power check at p up to 5e-5 over 5 seeds,
# so it has 100.
CASES = {
    "normal-d<n-exact": 100,
    "normal-d>n-exact": 100,
    "beta-bernoulli-exact": 100,
    "horseshoe-gibbs": 100,
    "normal-half-normal-exact": 100,
    "horseshoe-half-normal-gibbs": 100,
    "normal-d>n-gibbs": 50,
    "logistic-gibbs": 60,
    "beta-bernoulli-nuts": 100,
}


def _half_as_wide(draws: dict) -> dict:
    return {k: v.mean(0) + 0.5 * (v - v.mean(0)) for k, v in draws.items()}


@pytest.fixture(scope="module", params=sorted(CASES))
def calibration(request):
    name = request.param
    result = sbc.run_case(
        sbc.CASES[name], CASES[name], seed=0, variants={"narrow": _half_as_wide}
    )
    return name, result


def _p_values(ranks: dict) -> dict:
    return {k: sbc.chi_square_p(np.asarray(v), num_bins=BINS) for k, v in ranks.items()}


def test_exact_engines_are_calibrated(calibration):
    name, result = calibration
    p = _p_values(result["ranks"])
    worst = min(p, key=p.get)
    print(f"{name}: worst chi-square p {p[worst]:.3g} ({worst})")
    assert p[worst] >= P_BAR, f"{name}: ranks of {worst} are not uniform"
    assert result["engine"] == name.rsplit("-", 1)[1]


def test_a_wrong_posterior_is_caught(calibration):
    name, result = calibration
    p = _p_values(result["variant_ranks"]["narrow"])
    print(f"{name}, half as wide: smallest chi-square p {min(p.values()):.3g}")
    assert min(p.values()) < P_BAR
