"""The Polya-Gamma kernel's scale updates leave their prior invariant.

With no likelihood, alternating ``coef ~ Normal(0, sd**2)`` with a scale
update is a Gibbs sampler of the prior itself, so its draws must have the
prior's quantiles: the medians of the half-Cauchy scales are 1, and the
slab variance's median is the inverse gamma's.
"""

import numpy as np
import pytest
import torch
from scipy import stats

from skbayes.inference.gibbs._scales import SCALES
from skbayes.posterior import mcmc_diagnostics
from skbayes.priors import Horseshoe, RegularizedHorseshoe

CHAINS, SWEEPS, SIZE = 8, 3000, 3


def _run(prior, seed):
    block = SCALES[prior.gibbs_kernel](
        prior, SIZE, {"noise_scale": 2.0, "n_samples": 100.0}
    )
    generator = torch.Generator().manual_seed(seed)
    like = torch.zeros((), dtype=torch.float64)
    scales = block.init(CHAINS, generator, like, 0.1)
    out = []
    for _ in range(SWEEPS):
        sd = block.sd(scales)
        noise = torch.randn(sd.shape, generator=generator, dtype=torch.float64)
        coef = sd * noise
        scales = block.update(coef, scales, generator)
        out.append(block.report(coef, scales))
    return {k: torch.stack([o[k] for o in out], 1).numpy() for k in out[0]}


def _assert_probability(indicator, p):
    # indicator: (chains, draws, ...); the MC se of its mean is
    # sqrt(p (1 - p) / ESS), ESS from the chains' autocorrelation.
    indicator = indicator[:, SWEEPS // 5 :].astype(float)  # warm-up dropped
    n_eff, _ = mcmc_diagnostics({"x": indicator})
    se = np.sqrt(p * (1 - p) / n_eff["x"])
    assert np.all(np.abs(indicator.mean((0, 1)) - p) < 4.5 * se)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_horseshoe_scales_keep_the_prior(seed):
    draws = _run(Horseshoe(0.5), seed)
    _assert_probability(draws["tau"] < 0.5, 0.5)  # HalfCauchy(0.5) median
    _assert_probability(draws["lambda"] < 1.0, 0.5)


@pytest.mark.slow  # three slice-sampling updates per sweep: 20 s a seed
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_regularized_horseshoe_scales_keep_the_prior(seed):
    prior = RegularizedHorseshoe(global_scale=0.3, slab_scale=2.0, slab_df=4.0)
    draws = _run(prior, seed)
    _assert_probability(draws["tau_unit"] < 1.0, 0.5)
    _assert_probability(draws["lambda"] < 1.0, 0.5)
    # c**2 ~ InverseGamma(df / 2, df * scale**2 / 2) = InvGamma(2, 8).
    median = stats.invgamma(2.0, scale=8.0).median()
    _assert_probability(draws["slab_var"] < median, 0.5)
    # z = coef / sd is standard normal.
    _assert_probability(draws["z"] < 1.0, stats.norm.cdf(1.0))
