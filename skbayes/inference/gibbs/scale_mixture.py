"""The Gibbs sampler of the linear model under a normal scale-mixture prior.

The Laplace prior is a normal whose variance is exponential (Andrews and
Mallows 1974), and the Student-t prior a normal whose precision is gamma.
Given the per-coefficient variances ``v_j``, ``coef`` is Gaussian, drawn as
the horseshoe's is (Rue's sampler when ``n >= d``, Bhattacharya et al.'s
otherwise); ``sigma**2 | coef`` is inverse gamma; and ``v_j | coef_j`` is
conjugate: an inverse Gaussian precision for the Laplace prior (the
Bayesian lasso of Park and Casella 2008, whose variances are not scaled by
``sigma**2`` here) and a gamma precision for the Student-t. Every draw is
exact, so the chain targets the posterior NUTS samples, without step sizes
or divergences. The variance updates are those of the Polya-Gamma
classifier (``_scales``).

References
----------
Andrews, D. F. and Mallows, C. L. (1974). Scale mixtures of normal
distributions. JRSS B 36(1).
Park, T. and Casella, G. (2008). The Bayesian lasso. JASA 103(482).
"""

from __future__ import annotations

from dataclasses import dataclass

from ._kernel import GibbsKernel, GibbsState
from ._linear_algebra import sample_bhattacharya, sample_rue
from ._scales import SCALES

__all__ = ["ScaleMixtureGibbsKernel", "ScaleMixtureState"]


@dataclass(frozen=True)
class ScaleMixtureState(GibbsState):
    """``GibbsState`` plus the coefficients' prior variances.

    Attributes
    ----------
    scales : dict of str to Tensor
        ``{"var": (chains, d)}``, the variances ``v_j``.
    """

    scales: dict


class ScaleMixtureGibbsKernel(GibbsKernel):
    """Sweeps under a prior whose ``gibbs_kernel`` names a key of ``_scales.SCALES``.

    One sweep: ``coef | v, sigma**2`` (``sampler`` ``"rue"`` or
    ``"bhattacharya"``, ``"auto"`` resolved in ``init`` as for the
    horseshoe), ``sigma**2 | coef`` (or the SAEM step of a point estimate
    during warm-up), then ``v | coef``. See ``GibbsKernel`` for the
    protocol.
    """

    def _start(self, noise_var, stats) -> ScaleMixtureState:
        X, y = self.X, self.y
        n, d = X.shape
        sampler = self.options["sampler"]
        self.sampler = (
            ("rue" if n >= d else "bhattacharya") if sampler == "auto" else sampler
        )
        if self.sampler == "rue":
            self.data = (X.T @ X, X.T @ y) if stats is None else stats
        else:
            self.data = (X, y)
        self.block = SCALES[self.prior.gibbs_kernel](self.prior, d, {})
        scales = self.block.init(self.num_chains, self.generator, X, self.init_jitter)
        return ScaleMixtureState(noise_var, None, scales)

    def sample(
        self, state: ScaleMixtureState, step: int, *, warmup: bool
    ) -> ScaleMixtureState:
        prior_sd = self.block.sd(state.scales)
        draw = sample_rue if self.sampler == "rue" else sample_bhattacharya
        z = draw(*self.data, prior_sd, state.noise_var, self.generator)
        coef = prior_sd * z
        noise_var = self._noise_update(coef, state.noise_var, step, warmup)
        scales = self.block.update(coef, state.scales, self.generator)
        return ScaleMixtureState(noise_var, coef, scales)
