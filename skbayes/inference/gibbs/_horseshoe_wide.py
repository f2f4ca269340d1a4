"""The horseshoe kernel's sweeps on the CPU when ``d > n``, in numpy and LAPACK.

Bhattacharya et al.'s (2016) sampler solves one ``n x n`` system a sweep,
``M = I + (tau**2 / sigma**2) X Lambda**2 X'``. Forming ``X Lambda**2 X'``
costs ``n**2 d`` and everything else ``O(n d)`` or ``O(n**3)``, so at
``d >> n`` a sweep is that one product. ``WideHorseshoeSweeps`` forms it
with BLAS's symmetric rank-k update (half a general product) over blocks of
columns, so that no scaled copy of X is made, and takes its eigenvalues
``e`` and vectors ``U`` instead of a Cholesky factor. Then
``log p(tau, sigma**2 | lambda, y)``, with ``coef`` integrated out, costs
``O(n)`` for any ``tau`` and ``sigma**2``:

``-dof/2 log sigma**2 - 1/2 sum_i log q_i - sum_i r_i**2 / (2 sigma**2 q_i)``,

``q_i = 1 + (tau**2 / sigma**2) e_i`` and ``r = U'y``, plus the priors. That
makes a slice update of each (Neal 2003), repeated ``COLLAPSED_ROUNDS``
times, nearly a draw from their joint conditional, where a random-walk
Metropolis step that needs a factorisation per proposal moves a fraction of
a standard deviation: with ``d >> n`` the coefficients pin ``tau`` and
``sigma**2`` down, and only these collapsed moves let them mix (Johndrow,
Orenstein and Bhattacharya 2020). ``coef`` is then drawn with the same
eigenvectors, which leaves the joint posterior invariant (the old ``coef``
is not used).

After ``sigma**2``'s draw, ``LOCAL_PASSES`` passes of local moves draw each
coefficient together with its own scale, ``lambda_j`` with ``coef_j``
integrated out (``_local_loop``). At ``d >> n`` the slowest quantities were
null coefficients that the data half support: a Gibbs sweep moves
``coef_j`` given ``lambda_j`` and ``lambda_j`` given ``coef_j``, and each
pins the other near 0, so such a coefficient switched between "off" and
"on" every few hundred sweeps. The local moves cost ``O(n d)`` a pass,
against the sweep's ``n**2 d``, and gave several times the effective draws
per second (docs/benchmarks.md, "p >> n").

References
----------
Bhattacharya, A., Chakraborty, A. and Mallick, B. K. (2016). Fast sampling
with Gaussian scale mixture priors in high-dimensional regression.
Biometrika 103(4).
Johndrow, J., Orenstein, P. and Bhattacharya, A. (2020). Scalable
approximate MCMC algorithms for the horseshoe prior. JMLR 21(73).
Neal, R. M. (2003). Slice sampling. Annals of Statistics 31(3).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.linalg import blas, lapack
from threadpoolctl import threadpool_limits

from ._horseshoe_cpu import SLICE_UNIFORMS, HorseshoeCpuSweeps, slice_1d

__all__ = ["COLLAPSED_ROUNDS", "LOCAL_PASSES", "WideHorseshoeSweeps"]

#: Rounds of slice updates of ``log tau`` and ``log sigma**2`` per sweep.
COLLAPSED_ROUNDS = 2
#: Passes of the local moves over the coefficients per sweep (``_local_loop``).
LOCAL_PASSES = 3
#: Columns of X per rank-k update: a scaled block of ``n x COLUMN_BLOCK``
#: numbers is the only copy of X a sweep makes.
COLUMN_BLOCK = 2048


class WideHorseshoeSweeps(HorseshoeCpuSweeps):
    """Sweeps of a ``HorseshoeGibbsKernel`` with ``sampler="bhattacharya"``, on numpy.

    The same moves as ``HorseshoeGibbsKernel.sample`` with that sampler, but
    the collapsed moves of ``(tau, sigma**2)`` (``tau_update`` ``"blocked"``
    or ``"both"``) are slice updates on an eigendecomposition (see the
    module docstring), not random-walk Metropolis steps.

    Parameters
    ----------
    kernel : HorseshoeGibbsKernel
        The initialised kernel, with ``kernel.data = (X, y)``.
    seed : int
        Seed of the numpy generator, drawn from the kernel's generator.
    bounds : tuple of float
        ``(min, max)`` of ``tau**2`` and ``lambda**2``, and the bounds on
        ``|log tau|`` and ``|log sigma**2|``.
    """

    def __init__(self, kernel, seed: int, bounds: tuple[float, ...]):
        *scale_bounds, self.log_var_bound = bounds
        super().__init__(kernel, seed, tuple(scale_bounds))
        self.collapsed = kernel.tau_update in ("blocked", "both")
        self.threshold = kernel.approximate_threshold
        self.column_sq = np.einsum("ij,ij->j", self.X, self.X)
        self.log_scale_bounds = (math.log(self.scale2_min), math.log(self.scale2_max))

    def _take_data(self, kernel) -> int:
        X, y = kernel.data
        self.X = np.ascontiguousarray(X.cpu().numpy())
        self.y = np.ascontiguousarray(y.cpu().numpy())
        return self.X.shape[1]

    def _active(self, tau2: float, lam2: np.ndarray, var: float):
        """The columns kept in the ``n x n`` system: all, or (approximate) those
        whose prior variance exceeds the threshold."""
        if self.threshold is None:
            return None
        # mean(x_j**2): the threshold compares the prior variance of coef_j
        # times it with sigma**2, whatever the columns' scales.
        mean_square = self.column_sq / len(self.X)
        return np.flatnonzero(tau2 * lam2 * mean_square > self.threshold * var)

    def _rss(self, coef: np.ndarray) -> np.ndarray:
        # X @ coef.T: OpenBLAS is several times slower at coef @ X.T.
        resid = self.y[:, None] - self.X @ coef.T
        return np.einsum("ij,ij->j", resid, resid)

    def run(self, state, *, first: int, num_warmup: int, count: int):
        """As ``HorseshoeCpuSweeps.run``, on one BLAS thread.

        OpenBLAS's threads gained nothing on these products and
        eigendecompositions at n = 500 and cost three times as long at
        n = 200, beside the spinning threads of torch's OpenMP pool
        (docs/benchmarks.md, "p >> n").
        """
        with threadpool_limits(1, user_api="blas"):
            return super().run(state, first=first, num_warmup=num_warmup, count=count)

    def _local_moves(self, coef, tau2, lam2, var) -> tuple[np.ndarray, np.ndarray]:
        """``LOCAL_PASSES`` passes of each coefficient's move with its own scale.

        ``lambda_j`` with ``coef_j`` integrated out, then ``coef_j``
        (``_local_loop``), coefficient after coefficient, in place.
        """
        # Imported here: numba's import costs about half a second, which
        # ``import skbayes`` should not pay.
        from ._local_loop import local_moves

        resid = np.ascontiguousarray((self.y[:, None] - self.X @ coef.T).T)
        local_moves(
            self.X,
            resid,
            coef,
            lam2,
            tau2,
            var,
            self.column_sq,
            self.log_scale_bounds,
            LOCAL_PASSES,
            self.rng,
        )
        return coef, lam2

    def _coef(self, tau2, lam2, var, draws) -> tuple[np.ndarray, ...]:
        """The collapsed moves of ``tau`` and ``sigma**2``, then ``coef``.

        Returns ``coef``, ``tau**2`` and ``sigma**2`` per chain. The chains
        run one after another: on two cores, a thread per chain with one
        BLAS thread each was no faster (docs/benchmarks.md, "p >> n").
        """
        chains = range(len(lam2))
        results = [
            self._chain_coef(tau2[c], lam2[c], var[c], draws.normal[c]) for c in chains
        ]
        coef, tau2, var = (np.array(part) for part in zip(*results, strict=True))
        return coef, tau2, var

    def _chain_coef(self, tau2: float, lam2, var: float, u) -> tuple:
        """One chain's collapsed moves and ``coef`` draw."""
        X, y = self.X, self.y
        active = self._active(tau2, lam2, var)
        eigenvalues, vectors = self._eigen(lam2, active)
        if self.collapsed:
            tau2, var = self._collapsed(eigenvalues, vectors.T @ y, tau2, var)
        # Algorithm 1 of Bhattacharya et al. in z = coef / s coordinates:
        # Phi = X S / sigma, alpha = y / sigma, prior N(0, I). Columns left
        # out (approximate) keep z = u: their prior draw.
        scale = np.sqrt(tau2 * lam2)
        kept = scale
        if active is not None:
            kept = np.zeros_like(scale)
            kept[active] = scale[active]
        sd = math.sqrt(var)
        v = X @ (kept * u) / sd + self.rng.standard_normal(len(y))
        q = 1.0 + (tau2 / var) * eigenvalues
        w = vectors @ ((vectors.T @ (y / sd - v)) / q)
        return scale * (u + kept * (X.T @ w) / sd), tau2, var

    def _eigen(self, lam2: np.ndarray, active=None) -> tuple[np.ndarray, ...]:
        """Eigenvalues (clipped at 0) and eigenvectors of ``X Lambda**2 X'``.

        Over the ``active`` columns only, when given.
        """
        X = self.X
        n, d = X.shape
        product = np.zeros((n, n), order="F")
        width = d if active is None else len(active)
        for start in range(0, width, COLUMN_BLOCK):
            block = slice(start, start + COLUMN_BLOCK)
            if active is not None:
                block = active[block]
            scaled = X[:, block] * np.sqrt(lam2[block])
            # scaled.T is the Fortran-ordered (k, n) array BLAS reads
            # without a copy; trans=1 forms its transpose times itself.
            product = blas.dsyrk(
                1.0, scaled.T, beta=1.0, c=product, trans=1, lower=1, overwrite_c=1
            )
        eigenvalues, vectors, info = lapack.dsyevd(product, compute_v=1, lower=1)
        if info != 0:
            raise torch.linalg.LinAlgError(
                "Gibbs sampler: the eigendecomposition of X Lambda**2 X' failed. "
                "Rescale X and y."
            )
        return np.maximum(eigenvalues, 0.0), vectors

    def _collapsed(self, eigenvalues, rotated_y, tau2: float, var: float):
        """``COLLAPSED_ROUNDS`` slice updates of ``log tau``, then ``log sigma**2``.

        Targets ``p(tau, sigma**2 | lambda, y)`` with ``coef`` integrated
        out; ``sigma**2`` moves only when it is sampled.
        """
        k = self.kernel
        sampled = k.noise == "prior"
        noise_log_density = k.noise_prior.log_density
        inv_a2 = 1.0 / k.global_scale**2
        r2 = rotated_y * rotated_y
        dof = k.dof

        def log_density(log_tau: float, log_var: float) -> float:
            if abs(log_tau) > self.log_bound or abs(log_var) > self.log_var_bound:
                return -math.inf
            t2, v = math.exp(2.0 * log_tau), math.exp(log_var)
            q = 1.0 + (t2 / v) * eigenvalues
            out = -0.5 * dof * log_var - 0.5 * float(np.log(q).sum())
            out -= 0.5 * float((r2 / q).sum()) / v
            # HalfCauchy(A) on tau times the Jacobian tau of log tau.
            out += log_tau - math.log1p(t2 * inv_a2)
            if sampled:
                out += float(noise_log_density(log_var))
            return out

        uniforms = _uniforms(self.rng)
        log_tau, log_var = 0.5 * math.log(tau2), math.log(var)
        for _ in range(COLLAPSED_ROUNDS):
            log_tau = slice_1d(
                lambda u, v=log_var: log_density(u, v), log_tau, 1.0, uniforms
            )
            if sampled:
                log_var = slice_1d(
                    lambda v, u=log_tau: log_density(u, v), log_var, 1.0, uniforms
                )
        tau2 = min(max(math.exp(2.0 * log_tau), self.scale2_min), self.scale2_max)
        return tau2, math.exp(log_var)


def _uniforms(rng):
    """An endless stream of floats in [0, 1) from ``rng``."""
    while True:
        yield from rng.random(SLICE_UNIFORMS).tolist()
