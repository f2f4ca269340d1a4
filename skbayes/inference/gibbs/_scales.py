"""The prior scales of the coefficients, as the Polya-Gamma kernel updates them.

Given the coefficients, a Gaussian scale-mixture prior's scales do not
involve the likelihood, so one update serves every model. Each class here
holds one prior's scales per chain: ``sd`` gives the coefficients' prior sds,
``update`` draws the scales given the coefficients, and ``report`` gives the
prior's non-centred sites (``z = coef / sd`` and the scales), named as
``latent_sites`` names them. ``SCALES`` maps a prior's ``gibbs_kernel`` to
its class.
"""

from __future__ import annotations

import math

import torch

from ._updates import _DTYPE, _gamma, _positive_init, _slice_step
from .horseshoe import _SCALE2_MAX, _SCALE2_MIN, update_horseshoe_scales

__all__ = [
    "SCALES",
    "FixedScale",
    "HorseshoeScales",
    "LaplaceScales",
    "RegularizedHorseshoeScales",
    "StudentTScales",
    "inverse_gaussian",
]

_LOG_BOUND = 0.5 * math.log(_SCALE2_MAX)  # |log scale| stays inside float64


class FixedScale:
    """``coef ~ Normal(0, scale**2)``: nothing to update."""

    def __init__(self, prior, size: int, context: dict):
        self.scale, self.size = float(prior.scale), size

    def init(self, num_chains, generator, like, jitter) -> dict:
        """The starting scales of each chain (chain 0 at the prior's centre)."""
        self.num_chains, self.device = num_chains, like.device
        return {}

    def sd(self, scales: dict) -> torch.Tensor:
        """The coefficients' prior sds, (chains, size)."""
        shape = (self.num_chains, self.size)
        return torch.full(shape, self.scale, dtype=_DTYPE, device=self.device)

    def update(self, coef, scales, generator) -> dict:
        """New scales given the coefficients (chains, size)."""
        return scales

    def sites(self) -> dict:
        """The sites ``report`` gives, with their shapes per chain."""
        return {"coef": (self.size,)}

    def report(self, coef, scales) -> dict:
        """The coefficients and the prior's latent sites, per chain."""
        return {"coef": coef}


class HorseshoeScales(FixedScale):
    """The horseshoe's ``tau`` and ``lambda``: Makalic and Schmidt's updates.

    ``tau`` moves with ``lambda`` integrated out (``tau_move="marginal"`` of
    ``update_horseshoe_scales``), which mixed two to two and a half times
    faster per second than the conjugate draw on logistic problems.
    """

    def __init__(self, prior, size: int, context: dict):
        self.global_scale, self.size = float(prior.global_scale), size

    def init(self, num_chains, generator, like, jitter) -> dict:
        super().init(num_chains, generator, like, jitter)
        start = {"tau": self.global_scale}
        tau = _positive_init(
            start,
            "tau",
            like.new_tensor(self.global_scale),
            num_chains,
            jitter,
            generator,
        )
        lam = _positive_init(
            {}, "lambda", like.new_ones(self.size), num_chains, jitter, generator
        )
        clamp = (_SCALE2_MIN, _SCALE2_MAX)
        return {"tau2": tau.square().clamp(*clamp), "lam2": lam.square().clamp(*clamp)}

    def sd(self, scales):
        return (scales["tau2"][:, None] * scales["lam2"]).sqrt()

    def update(self, coef, scales, generator):
        tau2, lam2 = update_horseshoe_scales(
            coef,
            scales["tau2"],
            scales["lam2"],
            global_scale=self.global_scale,
            tau_move="marginal",
            generator=generator,
        )
        return {"tau2": tau2, "lam2": lam2}

    def sites(self):
        return {
            "coef": (self.size,),
            "tau": (),
            "lambda": (self.size,),
            "z": (self.size,),
        }

    def report(self, coef, scales):
        tau, lam = scales["tau2"].sqrt(), scales["lam2"].sqrt()
        return {
            "coef": coef,
            "tau": tau,
            "lambda": lam,
            "z": coef / (tau[:, None] * lam),
        }


class RegularizedHorseshoeScales(FixedScale):
    """The regularised horseshoe's ``tau``, ``lambda`` and slab, by slice sampling.

    ``coef_j ~ Normal(0, s_j**2)`` with ``1 / s_j**2 = 1 / (tau**2 lambda_j**2)
    + 1 / c**2`` (Piironen and Vehtari 2017), ``tau = tau0 * tau_unit``: the
    scales' conditionals are not conjugate, so each of ``log lambda_j``,
    ``log tau_unit`` and ``log c**2`` gets one slice-sampling update (Neal
    2003) per sweep, elementwise and per chain, which leaves them exactly
    invariant.
    """

    def __init__(self, prior, size: int, context: dict):
        self.size = size
        self.tau0 = float(
            prior._tau0(context["noise_scale"], size, context["n_samples"])
        )
        self.slab_shape = float(prior.slab_df) / 2
        self.slab_rate = self.slab_shape * float(prior.slab_scale) ** 2

    def init(self, num_chains, generator, like, jitter) -> dict:
        super().init(num_chains, generator, like, jitter)
        lam = _positive_init(
            {}, "lambda", like.new_ones(self.size), num_chains, jitter, generator
        )
        tau_unit = _positive_init(
            {}, "t", like.new_tensor(1.0), num_chains, jitter, generator
        )
        slab = like.new_full((num_chains,), self.slab_rate / self.slab_shape)
        return {
            "log_lam": lam.log(),
            "log_tau_unit": tau_unit.log(),
            "log_slab": slab.log(),
        }

    def _log_var(self, log_lam, log_tau_unit, log_slab):
        """``log tau**2 lambda**2`` and ``log s**2``, broadcast to (chains, size)."""
        log_local = 2 * (math.log(self.tau0) + log_tau_unit[:, None] + log_lam)
        slab = log_slab[:, None].expand_as(log_local)
        # s**2 = 1 / (exp(-log_local) + exp(-log_slab)).
        log_var = -torch.logaddexp(-log_local, -slab)
        return log_local, log_var

    def sd(self, scales):
        _, log_var = self._log_var(**scales)
        return (0.5 * log_var).exp()

    def _coef_log_density(self, coef_sq, scales):
        _, log_var = self._log_var(**scales)
        return -0.5 * log_var - 0.5 * coef_sq * (-log_var).exp()

    def update(self, coef, scales, generator):
        coef_sq = coef * coef
        scales = dict(scales)

        def local(log_lam):
            moved = {**scales, "log_lam": log_lam}
            # HalfCauchy(1) on lambda, times the Jacobian lambda of log lambda.
            return (
                self._coef_log_density(coef_sq, moved)
                + log_lam
                - torch.nn.functional.softplus(2 * log_lam)
            )

        def global_(log_tau_unit):
            moved = {**scales, "log_tau_unit": log_tau_unit}
            half_cauchy = log_tau_unit - torch.nn.functional.softplus(2 * log_tau_unit)
            return self._coef_log_density(coef_sq, moved).sum(-1) + half_cauchy

        def slab(log_slab):
            moved = {**scales, "log_slab": log_slab}
            # InverseGamma(a, b) density of c**2, times the Jacobian c**2.
            inverse_gamma = (
                -self.slab_shape * log_slab - self.slab_rate * (-log_slab).exp()
            )
            return self._coef_log_density(coef_sq, moved).sum(-1) + inverse_gamma

        for name, target in (
            ("log_lam", local),
            ("log_tau_unit", global_),
            ("log_slab", slab),
        ):
            step = _slice_step(target, scales[name], 2.0, generator)
            scales[name] = step.clamp(-_LOG_BOUND, _LOG_BOUND)
        return scales

    def sites(self):
        size = self.size
        return {
            "coef": (size,),
            "tau_unit": (),
            "lambda": (size,),
            "slab_var": (),
            "z": (size,),
        }

    def report(self, coef, scales):
        return {
            "coef": coef,
            "tau_unit": scales["log_tau_unit"].exp(),
            "lambda": scales["log_lam"].exp(),
            "slab_var": scales["log_slab"].exp(),
            "z": coef / self.sd(scales),
        }


class _LocalVariances(FixedScale):
    """Per-coefficient prior variances ``v_j`` with a conjugate conditional.

    ``coef_j | v_j ~ Normal(0, v_j)`` with ``v_j`` drawn from a mixing
    distribution makes the prior's marginal; ``v_j | coef_j`` is drawn
    exactly by ``_precision_given_coef`` (of ``1 / v_j``). The prior has no
    latent sites of its own, so only ``coef`` is reported.
    """

    def __init__(self, prior, size: int, context: dict):
        self.prior, self.size = prior, size

    def init(self, num_chains, generator, like, jitter) -> dict:
        super().init(num_chains, generator, like, jitter)
        start = like.new_full((self.size,), self._start_variance())
        var = _positive_init({}, "var", start, num_chains, jitter, generator)
        return {"var": var}

    def sd(self, scales):
        return scales["var"].sqrt()

    def update(self, coef, scales, generator):
        precision = self._precision_given_coef(coef, generator)
        return {"var": precision.reciprocal().clamp(_SCALE2_MIN, _SCALE2_MAX)}


class LaplaceScales(_LocalVariances):
    """The Bayesian lasso's variances (Park and Casella 2008).

    ``Laplace(0, b)`` is ``Normal(0, v)`` with ``v ~ Exponential(rate 1 /
    (2 b**2))``, and then ``1 / v | coef ~ InverseGaussian(mean 1 / (b
    |coef|), shape 1 / b**2)``.
    """

    def _start_variance(self) -> float:
        return 2.0 * float(self.prior.scale) ** 2  # the mixing mean

    def _precision_given_coef(self, coef, generator):
        b = float(self.prior.scale)
        mean = (b * coef.abs()).clamp_min(_SCALE2_MIN).reciprocal()
        return inverse_gaussian(mean, 1.0 / b**2, generator)


class StudentTScales(_LocalVariances):
    """The Student-t's variances: a gamma mixture of normals.

    ``StudentT(nu, 0, s)`` is ``Normal(0, s**2 / w)`` with ``w ~ Gamma(nu /
    2, rate nu / 2)``, and then ``w | coef ~ Gamma((nu + 1) / 2, rate (nu +
    coef**2 / s**2) / 2)``.
    """

    def _start_variance(self) -> float:
        return float(self.prior.scale) ** 2

    def _precision_given_coef(self, coef, generator):
        nu, s2 = float(self.prior.df), float(self.prior.scale) ** 2
        shape = coef.new_full(coef.shape, 0.5 * (nu + 1.0))
        rate = 0.5 * (nu + coef * coef / s2)
        return _gamma(shape, generator) / rate / s2


def inverse_gaussian(mean: torch.Tensor, shape: float, generator) -> torch.Tensor:
    """InverseGaussian(mean, shape) draws, elementwise (Michael et al. 1976).

    With ``y = N(0, 1)**2`` and ``r = mean y / (2 shape)``, the smaller root
    ``x = mean / (1 + r + sqrt(r (r + 2)))`` (the textbook form, rearranged
    so that large ``r`` does not cancel) is kept with probability ``mean /
    (mean + x)``, and ``mean**2 / x`` otherwise.
    """
    like = {"dtype": mean.dtype, "device": mean.device, "generator": generator}
    y = torch.randn(mean.shape, **like).square()
    r = mean * y / (2.0 * shape)
    x = mean / (1.0 + r + torch.sqrt(r * (r + 2.0)))
    keep = torch.rand(mean.shape, **like) * (mean + x) <= mean
    return torch.where(keep, x, mean * (mean / x))


#: The scale updates by ``CoefPrior.gibbs_kernel``.
SCALES = {
    "normal": FixedScale,
    "horseshoe": HorseshoeScales,
    "regularized_horseshoe": RegularizedHorseshoeScales,
    "laplace": LaplaceScales,
    "student_t": StudentTScales,
}
