"""The collapsed Gibbs sampler of the linear model under a Normal prior.

``coef_j ~ Normal(0, scale**2)``, not multiplied by ``sigma**2``. One thin SVD
of ``Xc`` up front, then O(d min(n, d)) per sweep: the posterior precision of
``coef`` is diagonal in the right singular vectors of ``Xc`` whatever
``sigma`` is, and the marginal density of ``sigma**2`` (``coef`` integrated
out, see ``NormalMarginal``) costs O(min(n, d)). So ``sigma**2`` is drawn
from that marginal by slice sampling (Neal 2003) and ``coef`` from its
conditional: a collapsed sampler whose draws are nearly independent even when
``d`` is close to ``n``, where the plain two-block Gibbs sampler
(``coef | sigma**2``, ``sigma**2 | coef``) mixes badly.

References
----------
Neal, R. M. (2003). Slice sampling. Annals of Statistics 31(3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...models.conjugate import (
    NormalMarginal,
    check_flat_rank,
    sample_coef_given_noise,
    standardise,
    thin_svd,
    unstandardise,
)
from ._kernel import GibbsKernel, GibbsState
from ._updates import _slice_step

__all__ = ["NormalGibbsKernel", "NormalState"]


@dataclass(frozen=True)
class NormalState(GibbsState):
    """``GibbsState`` plus the slice sampler's width and its tuning sum.

    Attributes
    ----------
    width : float
        Slice width on ``log sigma**2``.
    jumps : float
        Sum over warm-up sweeps of the mean absolute jump of
        ``log sigma**2``.
    """

    width: float
    jumps: float


class NormalGibbsKernel(GibbsKernel):
    """Collapsed sweeps under ``Normal(0, prior.scale**2)`` coefficients.

    A sweep is a slice-sampling update of ``log sigma**2`` under
    ``p(sigma**2 | y)`` (when ``sigma**2`` is sampled), then ``coef |
    sigma**2, y`` afresh, so the pair moves as one block; the slice width is
    tuned during warm-up only. For ``noise="point"``, ``sigma**2`` is the
    exact type-II maximum-likelihood estimate, found once in ``init``.
    ``sampler`` is ``"svd"``. See ``GibbsKernel`` for the protocol and
    ``run_gibbs`` for the maths.
    """

    sampler = "svd"

    def _start(self, noise_var, stats) -> NormalState:
        d = self.X.shape[1]
        # Array-valued loc and scale, and the flat prior, through the
        # standardised coefficients w of coef = loc + column_scale * w.
        self.form = self.prior.gaussian_form(d)
        if stats is not None:
            stats = (*stats[:2], self.y @ self.y)
        X, y, stats = standardise(self.form, self.X, self.y, stats)
        self.svd = thin_svd(X, y, stats)
        if self.form.flat:
            check_flat_rank(len(self.svd[0]), d)
        self.scale = self.form.scale
        self.marginal = NormalMarginal(
            *self.svd[:2],
            y @ y,
            self.n_observations,
            self.scale,
            self.fit_intercept,
            self.noise_prior,
        )
        if self.noise == "point":
            ml2 = self.marginal.mode(self.var_y, with_prior=False)
            noise_var = self._tensor(ml2).expand(self.num_chains).clone()
        # Slice width: about two posterior sds of log sigma**2 when the data
        # dominate; stepping out and shrinkage fix any mismatch.
        shape0 = self.noise_prior.conjugate_form[0]
        width = 2.0 * math.sqrt(2.0 / max(self.dof + 2.0 * shape0, 1.0))
        return NormalState(noise_var, None, width, 0.0)

    def sample(self, state: NormalState, step: int, *, warmup: bool) -> NormalState:
        noise_var, width, jumps = state.noise_var, state.width, state.jumps
        if self.noise == "prior":
            # Collapsed step: sigma**2 from its marginal p(sigma**2 | y),
            # then coef | sigma**2 afresh. Coef is redrawn from its full
            # conditional straight after, so the pair moves as one block
            # and the chain does not crawl along the ridge between
            # sigma**2 and coef that the plain two-block Gibbs sampler
            # follows when d is close to n.
            old = noise_var.log()
            log_var = _slice_step(self.marginal, old, width, self.generator)
            noise_var = log_var.exp()
            if warmup:
                # Tune the slice width to about twice the mean jump
                # (Neal 2003, sec. 4.1); it is fixed after warm-up.
                jumps += float((log_var - old).abs().mean())
                width = min(max(2.0 * jumps / (step + 1), 1e-3), 10.0)
        w = sample_coef_given_noise(self.svd, self.scale, noise_var, self.generator)
        return NormalState(noise_var, unstandardise(self.form, w), width, jumps)
