"""The horseshoe kernel's sweeps on the CPU, in numpy and LAPACK.

At the sizes where Rue's sampler is used (``n >= d``, d up to a few hundred)
a sweep is a few dozen operations on arrays of ``d`` or ``d**2`` numbers.
Torch spends several microseconds dispatching each one, which at ``d = 50``
made a sweep cost more than ten times its one Cholesky factorisation; numpy
and direct LAPACK calls spend about one. ``HorseshoeCpuSweeps`` makes the
same moves as ``HorseshoeGibbsKernel.sample`` (Rue's draw of ``coef``,
``sigma**2 | coef``, Makalic and Schmidt's auxiliary updates, and the
conjugate or marginal move of ``tau``) with the same conditionals, keeping
the chains' state in numpy arrays between sweeps and the draws in
preallocated buffers. Its random numbers come from a ``numpy.random.Generator``
seeded once from the kernel's ``torch.Generator``, so a seed still fixes the
run and no global generator is read.

``marginal_log_tau`` is the slice update of ``log tau`` with ``lambda``
integrated out, which the torch path (and the Polya-Gamma kernel) call too.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from scipy.linalg import lapack

__all__ = ["HorseshoeCpuSweeps", "marginal_log_tau"]

_TINY = float(np.finfo(np.float64).tiny)
_NOT_POSITIVE_DEFINITE = (
    "Gibbs sampler: the conditional precision of the coefficients is not "
    "numerically positive definite. Rescale X and y."
)


def marginal_log_tau(
    spread: np.ndarray,
    log_tau: np.ndarray,
    global_scale: float,
    uniform: Callable[[tuple[int, ...]], np.ndarray],
    bound: float,
) -> np.ndarray:
    """One slice update of ``log tau`` per chain under ``p(tau | coef, nu)``.

    ``spread`` is ``coef_j**2 nu_j / 2`` (chains, d). On ``u = log tau``, with
    the half-Cauchy prior and its Jacobian, the target is ``(1 - d) u -
    log(1 + tau**2 / A**2) - sum_j log(1 + spread_j / tau**2)`` (see
    ``update_horseshoe_scales``). Each chain gets one univariate slice update
    (Neal 2003) of width 1, on Python floats, chain after chain: evaluating
    all chains' targets together in one call saved calls but cost more in
    the bookkeeping of which chains were done. ``uniform(shape)`` returns
    floats in [0, 1). The result is clamped to ``[-bound, bound]``.
    """
    d = spread.shape[-1]
    inv_a2 = 1.0 / global_scale**2
    block = uniform((len(log_tau), SLICE_UNIFORMS)).tolist()
    out = np.empty_like(log_tau)
    for chain, row in enumerate(spread):

        def log_density(u: float, row=row) -> float:
            t2 = math.exp(2.0 * u)
            tail = float(np.log1p(row * (1.0 / t2)).sum())
            return (1 - d) * u - math.log1p(t2 * inv_a2) - tail

        def uniforms(first=block[chain]):
            yield from first
            while True:  # nearly never: an update takes about seven
                yield from uniform((SLICE_UNIFORMS,)).tolist()

        start = float(log_tau[chain])
        out[chain] = slice_1d(log_density, start, 1.0, uniforms())
    return np.clip(out, -bound, bound)


#: Uniforms drawn at a time for one slice update of one chain.
SLICE_UNIFORMS = 16


def slice_1d(log_density, x0: float, width: float, uniforms) -> float:
    """One univariate slice-sampling update (Neal 2003), on Python floats.

    The stepping out and shrinkage of ``_updates._slice_step``, for one
    chain, where a tensor loop would cost many times the arithmetic;
    ``uniforms`` yields floats in [0, 1). The caps are safety nets that a
    density with finite mass never reaches (shrinkage converges on ``x0``,
    which is always inside the slice).
    """
    level = log_density(x0) + math.log(max(next(uniforms), 1e-300))
    lo = x0 - width * next(uniforms)
    hi = lo + width
    for _ in range(200):
        if log_density(lo) <= level:
            break
        lo -= width
    for _ in range(200):
        if log_density(hi) <= level:
            break
        hi += width
    for _ in range(200):
        x = lo + (hi - lo) * next(uniforms)
        if log_density(x) > level:
            return x
        if x < x0:
            lo = x
        else:
            hi = x
    return x0


def _cholesky_lower(matrix: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of one matrix, with one retry on a lifted diagonal.

    As ``_linear_algebra._cholesky``: ``I + PSD`` fails only by rounding in a
    badly scaled matrix, and a relative jitter of 1e-10 moves the draw far
    less than its own spread.
    """
    chol, info = lapack.dpotrf(matrix, lower=1, clean=0)
    if info > 0:
        lifted = matrix + 1e-10 * np.abs(np.diag(matrix)).max() * np.eye(len(matrix))
        chol, info = lapack.dpotrf(lifted, lower=1, clean=0)
        if info > 0:
            raise torch.linalg.LinAlgError(_NOT_POSITIVE_DEFINITE)
    return chol


class HorseshoeCpuSweeps:
    """Sweeps of a ``HorseshoeGibbsKernel`` with ``sampler="rue"``, on numpy.

    Parameters
    ----------
    kernel : HorseshoeGibbsKernel
        The initialised kernel whose data (``kernel.data = (X'X, X'y)``),
        options and settings the sweeps use; its ``tau_update`` is
        ``"conjugate"`` or ``"marginal"``.
    seed : int
        Seed of the numpy generator, drawn from the kernel's generator.
    bounds : tuple of float
        ``(min, max)`` of ``tau**2`` and ``lambda**2``, and the bound on
        ``|log tau|`` (see ``horseshoe``).
    """

    def __init__(self, kernel, seed: int, bounds: tuple[float, float, float]):
        gram, xty = kernel.data
        self.gram, self.xty = gram.cpu().numpy(), xty.cpu().numpy()
        self.yty = float(kernel.yty)
        self.kernel = kernel
        self.rng = np.random.default_rng(seed)
        self.scale2_min, self.scale2_max, self.log_bound = bounds
        d = len(self.xty)
        self.diagonal = np.arange(d) * (d + 1)  # flat indices of a (d, d) diagonal

    def run(self, state, *, first: int, num_warmup: int, count: int):
        """``num_warmup`` warm-up sweeps, then ``count`` kept ones, from step ``first``.

        Returns the kept draws of every site of ``kernel.sites()``, as
        tensors of shape ``(chains, count, ...)``, and the last state.
        """
        from .horseshoe import HorseshoeState

        k = self.kernel
        tau2 = state.tau2.cpu().numpy().copy()
        lam2 = state.lam2.cpu().numpy().copy()
        var = state.noise_var.cpu().numpy().copy()
        coef = None if state.coef is None else state.coef.cpu().numpy().copy()
        chains = len(lam2)
        sites = k.sites()
        out = {name: np.empty((chains, count, *shape)) for name, shape in sites.items()}
        for offset in range(num_warmup + count):
            warmup = offset < num_warmup
            coef = self._coef(tau2, lam2, var)
            var = self._noise(coef, var, first + offset, warmup)
            tau2, lam2 = self._scales(coef, tau2, lam2)
            if not warmup:
                i = offset - num_warmup
                out["coef"][:, i] = coef
                tau, lam = np.sqrt(tau2), np.sqrt(lam2)
                out["tau"][:, i], out["lambda"][:, i] = tau, lam
                out["z"][:, i] = coef / (tau[:, None] * lam)
                if "noise_var" in out:
                    out["noise_var"][:, i] = var
        as_tensor = torch.from_numpy
        new_state = HorseshoeState(
            as_tensor(var),
            None if coef is None else as_tensor(coef),
            as_tensor(tau2),
            as_tensor(lam2),
            state.log_steps,
        )
        return {name: as_tensor(value) for name, value in out.items()}, new_state

    def _coef(self, tau2, lam2, var) -> np.ndarray:
        """``coef | sigma**2, tau, lambda``: Rue's draw, as ``sample_rue``."""
        scale = np.sqrt(tau2[:, None] * lam2)
        scaled = scale / var[:, None]
        # B = I + S X'X S / sigma**2, in place in one buffer per chain.
        precision = self.gram * scale[:, :, None]
        precision *= scaled[:, None, :]
        flat = precision.reshape(len(scale), -1)
        flat[:, self.diagonal] += 1.0
        rhs = scaled * self.xty
        noise = self.rng.standard_normal(scale.shape)
        z = np.empty_like(scale)
        for chain in range(len(scale)):
            chol = _cholesky_lower(precision[chain])
            half, _ = lapack.dtrtrs(chol, rhs[chain], lower=1)
            z[chain], _ = lapack.dtrtrs(chol, half + noise[chain], lower=1, trans=1)
        return scale * z

    def _noise(self, coef, var, step: int, warmup: bool) -> np.ndarray:
        """``sigma**2 | coef``, or the SAEM step of a point estimate."""
        k = self.kernel
        sampled = k.noise == "inverse_gamma"
        saem = k.noise == "point" and warmup and k.dof > 0
        if not (sampled or saem):
            return var
        # RSS from the sufficient statistics: O(d**2), whatever n is.
        rss = self.yty - 2.0 * coef @ self.xty + ((coef @ self.gram) * coef).sum(-1)
        rss = np.maximum(rss, 0.0)
        if sampled:
            shape, rate = k.noise_prior
            gamma = self.rng.standard_gamma(shape + 0.5 * k.dof, size=len(var))
            return (rate + 0.5 * rss) / np.maximum(gamma, _TINY)
        half = k.num_warmup // 2
        gain = 1.0 if step < half else 1.0 / (step - half + 1)
        target = rss.mean() / k.dof
        new = (1.0 - gain) * var + gain * target
        return np.maximum(new, 1e-12 * k.default_var)

    def _scales(self, coef, tau2, lam2) -> tuple[np.ndarray, np.ndarray]:
        """Makalic and Schmidt's updates, as ``update_horseshoe_scales``.

        An ``InverseGamma(1, rate)`` draw is ``rate / Exp(1)``, and every
        auxiliary conditional here has shape 1 except ``tau**2``'s conjugate
        one: exponential variates cost a fraction of gamma ones.
        """
        k = self.kernel
        exp_nu, exp_lam = self.rng.standard_exponential((2, *lam2.shape))
        tiny = _TINY
        nu = (1.0 + 1.0 / lam2) / np.maximum(exp_nu, tiny)
        half_sq = 0.5 * coef * coef
        if k.tau_update == "marginal":
            log_tau = marginal_log_tau(
                half_sq * nu,
                0.5 * np.log(tau2),
                k.global_scale,
                self.rng.random,
                self.log_bound,
            )
            tau2 = np.exp(2.0 * log_tau)
        lam2 = (1.0 / nu + half_sq / tau2[:, None]) / np.maximum(exp_lam, tiny)
        lam2 = np.clip(lam2, self.scale2_min, self.scale2_max)
        if k.tau_update == "conjugate":
            # tau ~ C+(0, A): tau**2 | xi ~ IG(1/2, 1/xi), xi ~ IG(1/2, 1/A**2).
            exp_xi = np.maximum(self.rng.standard_exponential(len(tau2)), tiny)
            xi = (1.0 / k.global_scale**2 + 1.0 / tau2) / exp_xi
            rate = 1.0 / xi + (half_sq / lam2).sum(-1)
            gamma = self.rng.standard_gamma(0.5 * (lam2.shape[1] + 1), size=len(tau2))
            tau2 = np.clip(
                rate / np.maximum(gamma, tiny), self.scale2_min, self.scale2_max
            )
        return tau2, lam2
