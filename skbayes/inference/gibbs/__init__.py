"""Gibbs samplers for the linear model with a Normal or horseshoe prior.

The model is skbayes' ``LinearRegressionModel`` on
centred data ``(Xc, yc)``::

    yc ~ Normal(Xc @ coef, sigma**2 I)        [times sigma if fit_intercept]
    sigma**2 ~ InverseGamma(shape, rate)      [or sigma fixed]
    coef_j ~ Normal(0, scale**2)                              (Normal prior)
    coef_j ~ Normal(0, tau**2 lambda_j**2),                   (horseshoe)
        tau ~ HalfCauchy(global_scale), lambda_j ~ HalfCauchy(1)
    coef_j ~ Laplace(0, scale) or StudentT(df, 0, scale)

The prior variance of ``coef`` is *not* multiplied by ``sigma**2``, unlike
the textbook conjugate forms (Makalic and Schmidt 2016 write
``beta ~ N(0, tau**2 lambda**2 sigma**2)``). So here the local and global
scales' conditionals do not involve ``sigma``, and ``sigma**2``'s conditional
does not involve the prior of ``coef``.

Every update leaves the exact posterior invariant (conjugate conditionals are
drawn exactly; the others are one-dimensional slice-sampling or Metropolis
steps), so the chain targets the same posterior as NUTS on the Pyro model, at
a small cost per sweep:

* Normal prior (``normal.py``): one thin SVD of ``Xc`` up front, then
  O(d min(n, d)) per sweep, collapsing ``coef`` out of ``sigma**2``'s update.
* Horseshoe (``horseshoe.py``): O(d**3) per sweep with Rue (2001) when
  ``n >= d``, and O(n**2 d) with Bhattacharya, Chakraborty and Mallick
  (2016) when ``d > n``, with the auxiliary variables of Makalic and
  Schmidt (2016) and, when ``d > 2n``, blocked Metropolis moves of ``tau`` and
  ``sigma**2`` with ``coef`` integrated out (Johndrow, Orenstein and
  Bhattacharya 2020). On the CPU, Rue's sweeps run in numpy and LAPACK
  (``_horseshoe_cpu.py``), a fraction of torch's per-operation cost.
* Laplace and Student-t (``scale_mixture.py``): normal scale mixtures, so
  the coefficients are drawn given per-coefficient variances as for the
  horseshoe, and the variances from their conjugate conditionals (inverse
  Gaussian and gamma precisions; Park and Casella 2008 for the Laplace).

``run_gibbs`` drives a kernel (``GibbsKernel``) chosen by the prior's
``gibbs_kernel`` from ``GIBBS_KERNELS``, as NumPyro's ``MCMC`` drives an
``MCMCKernel``. All random numbers come from one ``torch.Generator`` (the
numpy sweeps and the Polya-Gamma sampler draw from a numpy generator seeded
from it); the global torch and numpy generators are never read or advanced. Chains run
together as a batch, so a GPU sees one batched factorisation per sweep, not
one per chain.

References
----------
Makalic, E. and Schmidt, D. F. (2016). A simple sampler for the horseshoe
estimator. IEEE Signal Processing Letters 23(1).

The samplers' own references are in ``normal``, ``horseshoe`` and
``_linear_algebra``.
"""

from ._driver import GIBBS_KERNELS, GibbsResult, check_gibbs_prior, drive, run_gibbs
from ._kernel import GibbsKernel, GibbsState, SweepKernel
from ._linear_algebra import sample_bhattacharya, sample_rue
from .horseshoe import HorseshoeGibbsKernel, HorseshoeState
from .horseshoe import _CollapsedHorseshoe as _CollapsedHorseshoe  # for tests
from .logistic import PolyaGammaKernel, PolyaGammaState
from .normal import NormalGibbsKernel, NormalState
from .scale_mixture import ScaleMixtureGibbsKernel, ScaleMixtureState

__all__ = [
    "GIBBS_KERNELS",
    "GibbsKernel",
    "GibbsResult",
    "GibbsState",
    "HorseshoeGibbsKernel",
    "HorseshoeState",
    "NormalGibbsKernel",
    "NormalState",
    "PolyaGammaKernel",
    "PolyaGammaState",
    "ScaleMixtureGibbsKernel",
    "ScaleMixtureState",
    "SweepKernel",
    "check_gibbs_prior",
    "drive",
    "run_gibbs",
    "sample_bhattacharya",
    "sample_rue",
]
