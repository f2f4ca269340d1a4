"""The Gibbs sampler of the linear model under the horseshoe prior.

``coef_j ~ Normal(0, tau**2 lambda_j**2)``, ``tau ~ HalfCauchy(global_scale)``,
``lambda_j ~ HalfCauchy(1)``. O(d**3) per sweep with Rue (2001) when
``n >= d``, and O(n**2 d) with Bhattacharya, Chakraborty and Mallick (2016)
when ``d > n``. The auxiliary-variable conditionals are those of Makalic and
Schmidt (2016); when ``d > n`` the global scale ``tau`` and ``sigma**2`` also
get Metropolis updates with ``coef`` integrated out (after Johndrow,
Orenstein and Bhattacharya 2020), because the plain conditional
``tau | coef`` mixes slowly when ``d`` is large: ``coef`` pins ``tau`` down to
a relative width of about ``1/sqrt(d)``. A point noise variance is estimated
during warm-up by stochastic approximation EM (Delyon, Lavielle and Moulines
1999).

References
----------
Rue, H. (2001). Fast sampling of Gaussian Markov random fields. JRSS B 63.
Makalic, E. and Schmidt, D. F. (2016). A simple sampler for the horseshoe
estimator. IEEE Signal Processing Letters 23(1).
Bhattacharya, A., Chakraborty, A. and Mallick, B. K. (2016). Fast sampling
with Gaussian scale mixture priors in high-dimensional regression.
Biometrika 103(4).
Johndrow, J., Orenstein, P. and Bhattacharya, A. (2020). Scalable
approximate MCMC algorithms for the horseshoe prior. JMLR 21(73).
Delyon, B., Lavielle, M. and Moulines, E. (1999). Convergence of a stochastic
approximation version of the EM algorithm. Annals of Statistics 27(1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ._kernel import GibbsKernel, GibbsState
from ._linear_algebra import _cholesky, sample_bhattacharya, sample_rue
from ._updates import _DTYPE, _inverse_gamma, _metropolis

__all__ = ["HorseshoeGibbsKernel", "HorseshoeState", "update_horseshoe_scales"]

# Bounds on lambda**2 and tau**2. Their product, the prior variance of a
# coefficient, then stays inside float64's normal range, so tau * lambda
# never underflows to 0 (z = coef / (tau * lambda) stays finite) and never
# overflows when multiplied by X'X.
_SCALE2_MIN = torch.finfo(_DTYPE).tiny ** 0.25  # about 1e-77
_SCALE2_MAX = 1.0 / _SCALE2_MIN
# Bounds on the Metropolis proposals for log tau and log sigma**2.
_LOG_BOUND = (0.5 * math.log(_SCALE2_MAX), math.log(_SCALE2_MAX))


@dataclass(frozen=True)
class HorseshoeState(GibbsState):
    """``GibbsState`` plus the scales and the Metropolis step sizes.

    Attributes
    ----------
    tau2 : Tensor of shape (chains,)
        ``tau**2``.
    lam2 : Tensor of shape (chains, d)
        ``lambda**2``.
    log_steps : tuple of float
        Logs of the random-walk steps on ``log tau`` and ``log sigma**2``.
    """

    tau2: torch.Tensor
    lam2: torch.Tensor
    log_steps: tuple[float, float]


class _CollapsedHorseshoe:
    """``log p(tau, sigma**2 | lambda, y)`` with ``coef`` integrated out.

    ``y ~ N(0, sigma**2 I + tau**2 X Lambda**2 X')`` (times ``sigma`` if the
    intercept was integrated out), with ``tau``'s half-Cauchy prior and, when
    ``sigma**2`` is sampled, its inverse-gamma prior; on the scale of
    ``(log tau, log sigma**2)``, Jacobians included. It is evaluated through
    the very matrix the coefficient samplers factorise, so that the factor of
    the accepted state serves the coefficient draw that follows:
    ``B = I + (tau**2 / sigma**2) Lambda X'X Lambda`` (``method="rue"``) or
    ``M = I + (tau**2 / sigma**2) X Lambda**2 X'`` (``"bhattacharya"``). Both
    give ``log |sigma**2 I + X S**2 X'| = n log sigma**2 + log |B|``; the
    quadratic form is ``y'y / sigma**2 - |L^{-1} tau Lambda X'y / sigma**2|**2``
    with ``B = L L'``, or ``|L^{-1} y / sigma|**2`` with ``M = L L'``
    (Woodbury). One evaluation costs one Cholesky factorisation.
    """

    def __init__(
        self,
        method: str,
        data: tuple[torch.Tensor, torch.Tensor],
        lam: torch.Tensor,
        yty: torch.Tensor,
        dof: int,
        global_scale: float,
        noise_prior: tuple[float, float] | None,
    ):
        self.method = method
        if method == "rue":
            gram, xty = data
            self.base = lam[:, :, None] * gram * lam[:, None, :]
            self.rhs = lam * xty
        else:
            X, y = data
            scaled = X * lam[:, None, :]
            self.base = scaled @ scaled.mT
            self.rhs = y.expand(len(lam), -1)
        self.eye = torch.eye(
            self.base.shape[-1], dtype=self.base.dtype, device=self.base.device
        )
        self.yty, self.dof = yty, dof
        self.global_scale, self.noise_prior = global_scale, noise_prior

    def __call__(
        self, log_tau: torch.Tensor, log_var: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The log density (C,) and the Cholesky factor (C, m, m)."""
        tau2, var = torch.exp(2 * log_tau), log_var.exp()
        chol = _cholesky(self.eye + (tau2 / var)[:, None, None] * self.base)
        half_logdet = chol.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        if self.method == "rue":
            rhs = (tau2.sqrt() / var)[:, None] * self.rhs
            half = torch.linalg.solve_triangular(chol, rhs.unsqueeze(-1), upper=False)
            quad = self.yty / var - half.square().sum((-2, -1))
        else:
            rhs = self.rhs * var.rsqrt()[:, None]
            half = torch.linalg.solve_triangular(chol, rhs.unsqueeze(-1), upper=False)
            quad = half.square().sum((-2, -1))
        out = -0.5 * self.dof * log_var - half_logdet - 0.5 * quad
        # HalfCauchy(A) density of tau, times the Jacobian tau of log tau.
        out = out + log_tau - torch.log1p(tau2 / self.global_scale**2)
        if self.noise_prior is not None:
            # InverseGamma(a, b) density of sigma**2, times sigma**2.
            shape, rate = self.noise_prior
            out = out - shape * log_var - rate / var
        return out, chol


class HorseshoeGibbsKernel(GibbsKernel):
    """Sweeps under the horseshoe with scale ``prior.global_scale``.

    One sweep: the blocked Metropolis moves of ``(tau, sigma**2)`` with
    ``coef`` integrated out (``tau_update`` ``"blocked"`` or ``"both"``);
    ``coef`` from its Gaussian conditional (``sampler`` ``"rue"`` or
    ``"bhattacharya"``); ``sigma**2 | coef`` (or the SAEM step of a point
    estimate during warm-up); then Makalic and Schmidt's auxiliary updates of
    ``lambda`` and (``"conjugate"`` or ``"both"``) ``tau``. ``"auto"``
    options are resolved in ``init``. See ``GibbsKernel`` for the protocol
    and ``run_gibbs`` for the maths.
    """

    def _start(self, noise_var, stats) -> HorseshoeState:
        X, y = self.X, self.y
        n, d = X.shape
        self.global_scale = float(self.prior.global_scale)
        tau2 = self._positive("tau", self._tensor(self.global_scale)) ** 2
        ones = torch.ones(d, dtype=_DTYPE, device=X.device)
        lam2 = self._positive("lambda", ones) ** 2
        sampler, tau_update = self.options["sampler"], self.options["tau_update"]
        if sampler == "auto":
            sampler = "rue" if n >= d else "bhattacharya"
        if tau_update == "auto":
            # The conjugate draw of tau alone mixes slowly when d > n; for
            # n >= d it gives more effective draws per second for every site
            # than adding the blocked moves, which cost two more Cholesky
            # factorisations per sweep.
            tau_update = "both" if d > n else "conjugate"
        self.sampler, self.tau_update = sampler, tau_update
        if sampler == "rue":
            self.data = (X.T @ X, X.T @ y) if stats is None else stats
        else:
            self.data = (X, y)
        self.yty = y @ y
        return HorseshoeState(
            noise_var,
            None,
            tau2.clamp(_SCALE2_MIN, _SCALE2_MAX),
            lam2.clamp(_SCALE2_MIN, _SCALE2_MAX),
            # Random-walk steps on log tau and log sigma**2 (blocked update).
            (math.log(0.5), math.log(0.2)),
        )

    def sample(
        self, state: HorseshoeState, step: int, *, warmup: bool
    ) -> HorseshoeState:
        tau2, noise_var, log_steps = state.tau2, state.noise_var, state.log_steps
        chol = None
        if self.tau_update in ("blocked", "both"):
            tau2, noise_var, chol, log_steps = self._blocked(state, step, warmup)
        # coef | everything else.
        prior_sd = (tau2[:, None] * state.lam2).sqrt()
        draw = sample_rue if self.sampler == "rue" else sample_bhattacharya
        coef = prior_sd * draw(*self.data, prior_sd, noise_var, self.generator, chol)
        noise_var = self._noise_update(coef, noise_var, step, warmup)
        tau2, lam2 = self._scales_update(coef, tau2, state.lam2)
        return HorseshoeState(noise_var, coef, tau2, lam2, log_steps)

    def sites(self) -> dict[str, tuple[int, ...]]:
        """As ``GibbsKernel.sites``, plus ``"tau"``, ``"lambda"`` and ``"z"``."""
        d = self.num_features
        return {**super().sites(), "tau": (), "lambda": (d,), "z": (d,)}

    def report(self, state: HorseshoeState) -> dict[str, torch.Tensor]:
        # z is computed from the *updated* tau and lambda, so that
        # tau * lambda * z reproduces the reported coef.
        tau, lam = state.tau2.sqrt(), state.lam2.sqrt()
        z = state.coef / (tau[:, None] * lam)
        return {**super().report(state), "tau": tau, "lambda": lam, "z": z}

    def _blocked(self, state: HorseshoeState, step: int, warmup: bool) -> tuple:
        """Metropolis moves of ``log tau``, then ``log sigma**2`` if sampled.

        (tau, sigma**2, coef) move as one block: the moves target
        ``p(tau, sigma**2 | lambda, y)``, coef integrated out, and coef is then
        drawn afresh from its conditional with the accepted factor. The old
        coef is never used, so the block leaves the joint posterior invariant.
        Returns ``tau**2``, ``sigma**2``, the accepted Cholesky factor and the
        (tuned) log step sizes.
        """
        sampled = self.noise == "inverse_gamma"
        target = _CollapsedHorseshoe(
            self.sampler,
            self.data,
            state.lam2.sqrt(),
            self.yty,
            self.dof,
            self.global_scale,
            self.noise_prior if sampled else None,
        )
        position = (0.5 * state.tau2.log(), state.noise_var.log())
        current = target(*position)
        log_steps = list(state.log_steps)
        for which in [0, 1] if sampled else [0]:
            position, current, accept = _metropolis(
                target,
                position,
                current,
                which,
                math.exp(log_steps[which]),
                _LOG_BOUND[which],
                self.generator,
            )
            if warmup:
                # Robbins-Monro tuning of the step towards an acceptance rate
                # of 0.44, optimal for a 1-d random walk; frozen after warm-up.
                gain = (step + 1) ** -0.6
                log_steps[which] += gain * (float(accept.mean()) - 0.44)
        tau2, noise_var = torch.exp(2 * position[0]), position[1].exp()
        return tau2, noise_var, current[1], tuple(log_steps)

    def _noise_update(
        self, coef: torch.Tensor, noise_var: torch.Tensor, step: int, warmup: bool
    ) -> torch.Tensor:
        """``sigma**2 | coef`` when sampled; the SAEM step of a point estimate.

        The likelihood contributes ``(sigma**2)^(-dof/2) exp(-RSS / (2
        sigma**2))``; the coefficient prior does not involve ``sigma**2``.
        """
        sampled = self.noise == "inverse_gamma"
        saem = self.noise == "point" and warmup and self.dof > 0
        if not (sampled or saem):
            return noise_var
        resid = self.y - coef @ self.X.T
        rss = (resid * resid).sum(-1)
        if sampled:
            shape0, rate0 = self.noise_prior
            return _inverse_gamma(
                shape0 + 0.5 * self.dof, rate0 + 0.5 * rss, self.generator
            )
        half = self.num_warmup // 2
        gain = 1.0 if step < half else 1.0 / (step - half + 1)
        target = rss.mean() / self.dof
        # A perfect fit drives the estimate to 0, and then the precision of
        # coef overflows: keep sigma above 1e-6 sd(y).
        return ((1.0 - gain) * noise_var + gain * target).clamp_min(
            1e-12 * self.default_var
        )

    def _scales_update(
        self, coef: torch.Tensor, tau2: torch.Tensor, lam2: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return update_horseshoe_scales(
            coef,
            tau2,
            lam2,
            global_scale=self.global_scale,
            update_tau=self.tau_update in ("conjugate", "both"),
            generator=self.generator,
        )


def update_horseshoe_scales(
    coef: torch.Tensor,
    tau2: torch.Tensor,
    lam2: torch.Tensor,
    *,
    global_scale: float,
    update_tau: bool,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Makalic and Schmidt's (2016) updates of ``lambda**2`` and ``tau**2``.

    Given ``coef`` (chains, d) with prior variance ``tau**2 lambda_j**2``
    (unscaled by any noise variance, unlike their paper), the scales'
    conditionals do not involve the likelihood, so every model with a
    horseshoe prior shares them. ``tau**2`` moves only with ``update_tau``.
    """
    g = generator
    nu = _inverse_gamma(1.0, 1.0 + lam2.reciprocal(), g)
    half_sq = 0.5 * coef * coef
    lam2 = _inverse_gamma(1.0, nu.reciprocal() + half_sq / tau2[:, None], g)
    lam2 = lam2.clamp(_SCALE2_MIN, _SCALE2_MAX)
    if update_tau:
        # tau ~ C+(0, A): tau**2 | xi ~ IG(1/2, 1/xi), xi ~ IG(1/2, 1/A**2).
        xi = _inverse_gamma(1.0, 1.0 / global_scale**2 + tau2.reciprocal(), g)
        rate = xi.reciprocal() + (half_sq / lam2).sum(-1)
        tau2 = _inverse_gamma(0.5 * (coef.shape[-1] + 1), rate, g)
        tau2 = tau2.clamp(_SCALE2_MIN, _SCALE2_MAX)
    return tau2, lam2
