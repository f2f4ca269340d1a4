"""The Gibbs sampler of the linear model under the horseshoe prior.

``coef_j ~ Normal(0, tau**2 lambda_j**2)``, ``tau ~ HalfCauchy(global_scale)``,
``lambda_j ~ HalfCauchy(1)``. O(d**3) per sweep with Rue (2001) when
``n >= d``, and O(n**2 d) with Bhattacharya, Chakraborty and Mallick (2016)
when ``d > n``. The auxiliary-variable conditionals are those of Makalic and
Schmidt (2016); when ``d > n`` the global scale ``tau`` and ``sigma**2`` also
get updates with ``coef`` integrated out (after Johndrow, Orenstein and
Bhattacharya 2020), because the plain conditional ``tau | coef`` mixes
slowly when ``d`` is large: ``coef`` pins ``tau`` down to a relative width of
about ``1/sqrt(d)``. Those are random-walk Metropolis steps in torch, and
slice updates on an eigendecomposition in the numpy sweeps the CPU runs
(``WideHorseshoeSweeps``), which also offer Johndrow et al.'s approximate
algorithm (``approximate_threshold``). A point noise variance is estimated
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

import numpy as np
import torch

from ...priors import NoisePrior
from ._horseshoe_compiled import HorseshoeCompiledSweeps
from ._horseshoe_cpu import SLICE_UNIFORMS, HorseshoeCpuSweeps, marginal_log_tau
from ._horseshoe_wide import WideHorseshoeSweeps
from ._kernel import GibbsKernel, GibbsState
from ._linear_algebra import _cholesky, sample_bhattacharya, sample_rue
from ._updates import _DTYPE, _gamma, _metropolis

__all__ = ["HorseshoeGibbsKernel", "HorseshoeState", "update_horseshoe_scales"]

# Bounds on lambda**2 and tau**2. Their product, the prior variance of a
# coefficient, then stays inside float64's normal range, so tau * lambda
# never underflows to 0 (z = coef / (tau * lambda) stays finite) and never
# overflows when multiplied by X'X.
_SCALE2_MIN = torch.finfo(_DTYPE).tiny ** 0.25  # about 1e-77
_SCALE2_MAX = 1.0 / _SCALE2_MIN
# Bounds on the Metropolis proposals for log tau and log sigma**2.
_LOG_BOUND = (0.5 * math.log(_SCALE2_MAX), math.log(_SCALE2_MAX))


#: The move of ``tau`` given the coefficients, by ``tau_update`` (the blocked
#: moves, with the coefficients integrated out, come before it).
_TAU_MOVES = {
    "conjugate": "conjugate",
    "marginal": "marginal",
    "both": "conjugate",
    "blocked": None,
}

#: The CPU sweeps by ``(backend, sampler)``.
_CPU_SWEEPS = {
    ("numba", "rue"): HorseshoeCompiledSweeps,
    ("numpy", "rue"): HorseshoeCpuSweeps,
    ("numpy", "bhattacharya"): WideHorseshoeSweeps,
}


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
        noise_prior: NoisePrior | None,
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
            out = out + self.noise_prior.log_density(log_var)
        return out, chol


class HorseshoeGibbsKernel(GibbsKernel):
    """Sweeps under the horseshoe with scale ``prior.global_scale``.

    One sweep: the blocked Metropolis moves of ``(tau, sigma**2)`` with
    ``coef`` integrated out (``tau_update`` ``"blocked"`` or ``"both"``);
    ``coef`` from its Gaussian conditional (``sampler`` ``"rue"`` or
    ``"bhattacharya"``); ``sigma**2 | coef`` (or the SAEM step of a point
    estimate during warm-up); then Makalic and Schmidt's auxiliary updates of
    ``lambda``, with ``tau`` drawn given ``lambda`` (``"conjugate"`` or
    ``"both"``) or, before ``lambda``, with ``lambda`` integrated out
    (``"marginal"``). ``"auto"``
    options are resolved in ``init``. See ``GibbsKernel`` for the protocol
    and ``run_gibbs`` for the maths.
    """

    has_approximation = True

    def _start(self, noise_var, stats) -> HorseshoeState:
        X, y = self.X, self.y
        n, d = X.shape
        self.global_scale = float(self.prior.global_scale)
        tau2 = self._positive("tau", self._tensor(self.global_scale)) ** 2
        ones = torch.ones(d, dtype=_DTYPE, device=X.device)
        lam2 = self._positive("lambda", ones) ** 2
        sampler, tau_update = self.options["sampler"], self.options["tau_update"]
        self.approximate_threshold = self.options["approximate_threshold"]
        if sampler == "auto":
            exact_rue = n >= d and self.approximate_threshold is None
            sampler = "rue" if exact_rue else "bhattacharya"
        if tau_update == "auto":
            # tau given coef with lambda integrated out mixes several times
            # better per draw than the conjugate draw given lambda, for about
            # half as much again per sweep, up to d = 2n at least. With d much
            # larger than n, coef itself pins tau down, and the blocked moves
            # that integrate coef out mix better (docs/benchmarks.md, "Gibbs").
            tau_update = "marginal" if d <= 2 * n else "both"
        self.sampler, self.tau_update = sampler, tau_update
        self.tau_move = _TAU_MOVES[tau_update]
        if sampler == "rue":
            self.data = (X.T @ X, X.T @ y) if stats is None else stats
        else:
            self.data = (X, y)
        self.yty = y @ y
        self.backend = self._backend(X.device)
        self._cpu = None
        if self.backend != "torch":
            seed = int(torch.randint(2**62, (), generator=self.generator))
            bounds = (_SCALE2_MIN, _SCALE2_MAX, *_LOG_BOUND)
            if sampler == "rue":  # no collapsed move of sigma**2 to bound
                bounds = bounds[:3]
            self._cpu = _CPU_SWEEPS[self.backend, sampler](self, seed, bounds)
        return HorseshoeState(
            noise_var,
            None,
            tau2.clamp(_SCALE2_MIN, _SCALE2_MAX),
            lam2.clamp(_SCALE2_MIN, _SCALE2_MAX),
            # Random-walk steps on log tau and log sigma**2 (blocked update).
            (math.log(0.5), math.log(0.2)),
        )

    def _backend(self, device: torch.device) -> str:
        """``"numba"``, ``"numpy"`` or ``"torch"``: where the sweeps run.

        See ``run_gibbs``.
        """
        backend = self.options["backend"]
        on_cpu = device.type == "cpu"
        # Rue's numpy sweeps have no blocked moves; Bhattacharya's make all.
        numpy_moves = self.sampler == "bhattacharya" or self.tau_update in (
            "conjugate",
            "marginal",
        )
        compiled = (
            on_cpu and self.sampler == "rue" and HorseshoeCompiledSweeps.supports(self)
        )
        if backend == "numpy" and not (on_cpu and numpy_moves):
            raise ValueError(
                "backend='numpy' runs the horseshoe's sweeps on the CPU, with "
                "sampler='bhattacharya' or with tau_update 'conjugate' or "
                f"'marginal'; got device {device.type!r}, sampler "
                f"{self.sampler!r} and tau_update {self.tau_update!r}."
            )
        if backend == "numba" and not compiled:
            raise ValueError(
                "backend='numba' runs Rue's horseshoe sweeps compiled on the "
                "CPU: it needs numba, sampler='rue', tau_update 'conjugate' or "
                "'marginal', and a noise that is fixed, a point estimate or "
                f"sampled under a conjugate prior; got device {device.type!r}, "
                f"sampler {self.sampler!r}, tau_update {self.tau_update!r} and "
                f"noise {self.noise!r} under {self.noise_prior!r}."
            )
        if backend == "auto":
            if compiled:
                backend = "numba"
            else:
                backend = "numpy" if on_cpu and numpy_moves else "torch"
        if self.approximate_threshold is not None and not (
            backend == "numpy" and self.sampler == "bhattacharya"
        ):
            raise ValueError(
                "approximate_threshold needs sampler='bhattacharya' on the CPU "
                f"(backend 'numpy'); got device {device.type!r}, sampler "
                f"{self.sampler!r} and backend {backend!r}."
            )
        return backend

    def run_sweeps(self, state, count, *, first=0, num_warmup=0):
        """As ``SweepKernel.run_sweeps``, on numpy when ``backend == "numpy"``."""
        if self._cpu is None:
            return super().run_sweeps(state, count, first=first, num_warmup=num_warmup)
        return self._cpu.run(state, first=first, num_warmup=num_warmup, count=count)

    def sample(
        self, state: HorseshoeState, step: int, *, warmup: bool
    ) -> HorseshoeState:
        if self._cpu is not None:
            warm = int(warmup)
            _, state = self._cpu.run(state, first=step, num_warmup=warm, count=1 - warm)
            return state
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
        sampled = self.noise == "prior"
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

    def _scales_update(
        self, coef: torch.Tensor, tau2: torch.Tensor, lam2: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return update_horseshoe_scales(
            coef,
            tau2,
            lam2,
            global_scale=self.global_scale,
            tau_move=self.tau_move,
            generator=self.generator,
        )


def update_horseshoe_scales(
    coef: torch.Tensor,
    tau2: torch.Tensor,
    lam2: torch.Tensor,
    *,
    global_scale: float,
    tau_move: str | None,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Makalic and Schmidt's (2016) updates of ``lambda**2``, and one of ``tau``.

    Given ``coef`` (chains, d) with prior variance ``tau**2 lambda_j**2``
    (unscaled by any noise variance, unlike their paper), the scales'
    conditionals do not involve the likelihood, so every model with a
    horseshoe prior shares them. ``tau_move`` says how ``tau`` moves:

    * ``"conjugate"``: their ``xi | tau`` and ``tau**2 | coef, lambda`` draws.
      ``lambda`` pins ``tau`` down (only ``tau * lambda_j`` is seen by
      ``coef``), so ``tau`` mixes slowly.
    * ``"marginal"``: a slice-sampling update (Neal 2003) of ``log tau`` from
      ``p(tau | coef, nu)``, ``lambda`` integrated out, between the draws of
      ``nu`` and ``lambda``. Given ``nu_j``, ``lambda_j**2 ~ IG(1/2, 1/nu_j)``
      makes ``coef_j | tau, nu_j`` a Cauchy of scale ``tau sqrt(2 / nu_j)``,
      so the target is closed-form; ``lambda`` is then drawn given the new
      ``tau``, as a partially collapsed sampler requires (van Dyk and Park
      2008).
    * None: ``tau`` stays.
    """
    chains, d = lam2.shape
    conjugate = tau_move == "conjugate"
    # The gamma variates of the update in one call: those of nu and
    # lambda**2, then xi's and tau**2's. Each IG(shape, rate) draw is
    # rate / Gamma(shape), and only the rates depend on earlier draws.
    shapes = lam2.new_ones(2 * chains * d + (2 * chains if conjugate else 0))
    if conjugate:
        shapes[-chains:] = 0.5 * (d + 1)
    gammas = _gamma(shapes, generator)
    nu_g = gammas[: chains * d].view(chains, d)
    lam_g = gammas[chains * d : 2 * chains * d].view(chains, d)
    nu = (1.0 + lam2.reciprocal()) / nu_g
    half_sq = 0.5 * coef * coef
    if tau_move == "marginal":
        tau2 = _marginal_tau_step(half_sq * nu, tau2, global_scale, generator)
    lam2 = ((nu.reciprocal() + half_sq / tau2[:, None]) / lam_g).clamp(
        _SCALE2_MIN, _SCALE2_MAX
    )
    if conjugate:
        # tau ~ C+(0, A): tau**2 | xi ~ IG(1/2, 1/xi), xi ~ IG(1/2, 1/A**2).
        xi_g, tau_g = gammas[-2 * chains : -chains], gammas[-chains:]
        xi = (1.0 / global_scale**2 + tau2.reciprocal()) / xi_g
        rate = xi.reciprocal() + (half_sq / lam2).sum(-1)
        tau2 = (rate / tau_g).clamp(_SCALE2_MIN, _SCALE2_MAX)
    return tau2, lam2


def _marginal_tau_step(
    spread: torch.Tensor, tau2: torch.Tensor, global_scale: float, generator
) -> torch.Tensor:
    """``tau**2`` after one slice update of ``log tau`` under ``p(tau | coef, nu)``.

    ``spread`` is ``coef_j**2 nu_j / 2`` (chains, d); see ``marginal_log_tau``,
    which runs in numpy, on the CPU: it evaluates the target about seven
    times a sweep, and as a loop of tensor operations it cost five times the
    rest of the scale update. Its uniforms come from ``generator``.
    """

    def uniform(size):
        return (
            torch.rand(size, generator=generator, dtype=_DTYPE, device=tau2.device)
            .cpu()
            .numpy()
        )

    log_tau = marginal_log_tau(
        spread.cpu().numpy(),
        0.5 * np.log(tau2.cpu().numpy()),
        global_scale,
        uniform((len(tau2), SLICE_UNIFORMS)),
        uniform,
        _LOG_BOUND[0],
    )
    return torch.exp(2 * torch.as_tensor(log_tau, dtype=_DTYPE, device=tau2.device))
