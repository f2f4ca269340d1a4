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
import weakref
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch
from scipy.linalg import lapack

from ._linear_algebra import NOT_POSITIVE_DEFINITE

__all__ = ["HorseshoeCpuSweeps", "marginal_log_tau"]

_TINY = float(np.finfo(np.float64).tiny)


def marginal_log_tau(
    spread: np.ndarray,
    log_tau: np.ndarray,
    global_scale: float,
    uniforms: np.ndarray,
    more_uniforms: Callable[[int], np.ndarray],
    bound: float,
) -> np.ndarray:
    """One slice update of ``log tau`` per chain under ``p(tau | coef, nu)``.

    ``spread`` is ``coef_j**2 nu_j / 2`` (chains, d). On ``u = log tau``, with
    the half-Cauchy prior and its Jacobian, the target is ``(1 - d) u -
    log(1 + tau**2 / A**2) - sum_j log(1 + spread_j / tau**2)`` (see
    ``update_horseshoe_scales``). Each chain gets one univariate slice update
    (Neal 2003) of width 1, on Python floats, chain after chain: evaluating
    all chains' targets together in one call saved calls but cost more in
    the bookkeeping of which chains were done. ``uniforms`` (chains,
    ``SLICE_UNIFORMS``) are floats in [0, 1) for each chain's update, and
    ``more_uniforms(k)`` gives k more when an update needs them (nearly
    never: one takes about seven). The result is clamped to ``[-bound,
    bound]``.
    """
    d = spread.shape[-1]
    inv_a2 = 1.0 / global_scale**2
    block = uniforms.tolist()
    out = np.empty_like(log_tau)
    # Up to a couple of dozen terms, a sum over a Python list costs less
    # than the three numpy calls that would make it.
    rows = spread.tolist() if d <= _PYTHON_SUM_MAX else spread
    buffer = np.empty(d)
    for chain, row in enumerate(rows):
        if d <= _PYTHON_SUM_MAX:

            def tail(inv_t2: float, row=row) -> float:
                return sum([math.log1p(r * inv_t2) for r in row])

        else:

            def tail(inv_t2: float, row=row, buffer=buffer) -> float:
                # In place, with the ufuncs called directly: each numpy call
                # here costs more than its arithmetic.
                np.multiply(row, inv_t2, out=buffer)
                np.log1p(buffer, out=buffer)
                return float(np.add.reduce(buffer))

        def log_density(u: float, tail=tail) -> float:
            t2 = math.exp(2.0 * u)
            return (1 - d) * u - math.log1p(t2 * inv_a2) - tail(1.0 / t2)

        def stream(first=block[chain]):
            yield from first
            while True:
                yield from more_uniforms(SLICE_UNIFORMS).tolist()

        start = float(log_tau[chain])
        out[chain] = slice_1d(log_density, start, 1.0, stream())
    return np.clip(out, -bound, bound)


#: Numbers of tau * lambda formed at a time when z is derived from coef.
_Z_BLOCK = 2**17
#: Uniforms drawn at a time for one slice update of one chain.
SLICE_UNIFORMS = 16
#: The largest d whose slice target is summed in Python rather than numpy.
_PYTHON_SUM_MAX = 24


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
            raise torch.linalg.LinAlgError(NOT_POSITIVE_DEFINITE)
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
        # A weak reference: the kernel holds the sweeps, and a cycle would
        # keep the kernel's data (a centred copy of X) alive after the run,
        # until the garbage collector next looked at old objects.
        self.kernel = weakref.proxy(kernel)
        self.rng = np.random.default_rng(seed)
        self.scale2_min, self.scale2_max, self.log_bound = bounds
        d = self._take_data(kernel)
        shape, _ = kernel.noise_prior.conjugate_form
        self.variates = _Variates(
            self.rng,
            kernel.num_chains,
            d,
            noise_shape=(shape + 0.5 * kernel.dof if kernel.noise == "prior" else None),
            tau_shape=0.5 * (d + 1) if kernel.tau_move == "conjugate" else None,
        )

    def _take_data(self, kernel) -> int:
        """Keep the data the sweeps use, as numpy; return ``d``."""
        gram, xty = kernel.data
        # Contiguous, so that the flattened view of each precision matrix
        # below is a view and its diagonal can be lifted in place.
        self.gram = np.ascontiguousarray(gram.cpu().numpy())
        self.xty = xty.cpu().numpy()
        self.yty = float(kernel.yty)
        d = len(self.xty)
        self.diagonal = slice(None, None, d + 1)  # of a flattened (d, d) matrix
        return d

    def run(self, state, *, first: int, num_warmup: int, count: int):
        """``num_warmup`` warm-up sweeps, then ``count`` kept ones, from step ``first``.

        Returns the kept draws of every site of ``kernel.sites()``, as
        tensors of shape ``(chains, count, ...)``, and the last state.
        """
        from .horseshoe import HorseshoeState

        tau2 = state.tau2.cpu().numpy().copy()
        lam2 = state.lam2.cpu().numpy().copy()
        var = state.noise_var.cpu().numpy().copy()
        coef = None if state.coef is None else state.coef.cpu().numpy().copy()
        chains, d = lam2.shape
        kept = {
            "coef": np.empty((chains, count, d)),
            "tau2": np.empty((chains, count)),
            "lam2": np.empty((chains, count, d)),
            "noise_var": np.empty((chains, count)),
        }
        coef, tau2, lam2, var = self._sweep(
            (coef, tau2, lam2, var), kept, first=first, num_warmup=num_warmup
        )
        out = self._sites(kept)
        as_tensor = torch.from_numpy
        new_state = HorseshoeState(
            as_tensor(var),
            None if coef is None else as_tensor(coef),
            as_tensor(tau2),
            as_tensor(lam2),
            state.log_steps,
        )
        return {name: as_tensor(value) for name, value in out.items()}, new_state

    def _sites(self, kept: dict) -> dict[str, np.ndarray]:
        """The sites of ``kernel.sites()`` the caller keeps, from the kept draws.

        In the kept buffers where they can be, since at ``d >> n`` each holds
        as many numbers as X does at a few hundred draws: ``lambda`` over
        ``lambda**2``, and ``z`` over ``coef`` when ``coef`` is not wanted
        (``kernel.kept_sites``). ``z`` comes from the *updated* scales, so
        that ``tau * lambda * z`` reproduces ``coef``.
        """
        wanted = self.kernel.kept_sites
        names = [n for n in self.kernel.sites() if wanted is None or n in wanted]
        coef = kept["coef"]
        tau = np.sqrt(kept["tau2"])
        lam = np.sqrt(kept["lam2"], out=kept["lam2"])
        out = {"coef": coef, "noise_var": kept["noise_var"], "tau": tau, "lambda": lam}
        if "z" in names:
            z = np.empty_like(coef) if "coef" in names else coef
            # Blocks of draws, so that tau * lambda stays small at large d
            # without a numpy call per draw at small d.
            chains, draws, d = coef.shape
            block = max(1, _Z_BLOCK // (chains * d))
            for i in range(0, draws, block):
                part = slice(i, i + block)
                np.divide(
                    coef[:, part], tau[:, part, None] * lam[:, part], out=z[:, part]
                )
            out["z"] = z
        return {name: out[name] for name in names}

    def _sweep(self, state, kept, *, first: int, num_warmup: int) -> tuple:
        """Run the sweeps, writing the kept ones into ``kept``; return the state.

        ``state`` and the result are ``(coef, tau2, lam2, noise_var)`` as numpy
        arrays; ``kept`` holds a buffer per site with room for the kept draws.
        """
        coef, tau2, lam2, var = state
        count = kept["tau2"].shape[1]
        for offset in range(num_warmup + count):
            warmup = offset < num_warmup
            draws = self.variates.next()
            coef, tau2, var = self._coef(tau2, lam2, var, draws)
            var = self._noise(coef, var, first + offset, warmup, draws)
            coef, lam2 = self._local_moves(coef, tau2, lam2, var)
            tau2, lam2 = self._scales(coef, tau2, lam2, draws)
            if not warmup:
                i = offset - num_warmup
                kept["coef"][:, i], kept["noise_var"][:, i] = coef, var
                kept["tau2"][:, i], kept["lam2"][:, i] = tau2, lam2
        return coef, tau2, lam2, var

    def _coef(self, tau2, lam2, var, draws) -> tuple[np.ndarray, ...]:
        """``coef | sigma**2, tau, lambda``: Rue's draw, as ``sample_rue``.

        Returns ``coef`` and the (here unchanged) ``tau**2`` and ``sigma**2``.
        """
        scale = np.sqrt(tau2[:, None] * lam2)
        scaled = scale / var[:, None]
        # B = I + S X'X S / sigma**2, in place in one buffer per chain.
        precision = self.gram * scale[:, :, None]
        precision *= scaled[:, None, :]
        precision.reshape(len(scale), -1)[:, self.diagonal] += 1.0
        rhs = scaled * self.xty
        noise = draws.normal
        z = np.empty_like(scale)
        for chain in range(len(scale)):
            # The transpose is the same symmetric matrix, in the column-major
            # order LAPACK takes without a copy.
            chol = _cholesky_lower(precision[chain].T)
            half, _ = lapack.dtrtrs(chol, rhs[chain], lower=1)
            z[chain], _ = lapack.dtrtrs(chol, half + noise[chain], lower=1, trans=1)
        return scale * z, tau2, var

    def _local_moves(self, coef, tau2, lam2, var) -> tuple[np.ndarray, np.ndarray]:
        """Moves of each coefficient with its own scale: none in Rue's sweeps.

        Returns ``coef`` and ``lambda**2`` (see ``WideHorseshoeSweeps``).
        """
        return coef, lam2

    def _rss(self, coef: np.ndarray) -> np.ndarray:
        """The residual sum of squares of each chain's ``coef``.

        From the sufficient statistics: O(d**2), whatever n is.
        """
        return self.yty - 2.0 * coef @ self.xty + ((coef @ self.gram) * coef).sum(-1)

    def _noise(self, coef, var, step: int, warmup: bool, draws) -> np.ndarray:
        """``sigma**2 | coef``, or the SAEM step of a point estimate."""
        k = self.kernel
        sampled = k.noise == "prior"
        saem = k.noise == "point" and warmup and k.dof > 0
        if not (sampled or saem):
            return var
        rss = np.maximum(self._rss(coef), 0.0)
        if sampled:
            proposal = (k.noise_rate + 0.5 * rss) / draws.noise_gamma
            if k.noise_prior.conjugate:
                return proposal
            # The independence Metropolis-Hastings correction of
            # ``noise_correction`` for the rest of the prior.
            residual = k.noise_prior.residual_log_density
            log_ratio = residual(np.log(proposal)) - residual(np.log(var))
            accept = np.log(self.rng.random(proposal.shape)) < log_ratio
            return np.where(accept, proposal, var)
        half = k.num_warmup // 2
        gain = 1.0 if step < half else 1.0 / (step - half + 1)
        target = rss.mean() / k.dof
        new = (1.0 - gain) * var + gain * target
        return np.maximum(new, 1e-12 * k.default_var)

    def _scales(self, coef, tau2, lam2, draws) -> tuple[np.ndarray, np.ndarray]:
        """Makalic and Schmidt's updates, as ``update_horseshoe_scales``.

        An ``InverseGamma(1, rate)`` draw is ``rate / Exp(1)``, and every
        auxiliary conditional here has shape 1 except ``tau**2``'s conjugate
        one: exponential variates cost a fraction of gamma ones.
        """
        k = self.kernel
        exp_nu, exp_lam = draws.exponential
        nu = (1.0 + 1.0 / lam2) / exp_nu
        half_sq = 0.5 * coef * coef
        if k.tau_move == "marginal":
            log_tau = marginal_log_tau(
                half_sq * nu,
                0.5 * np.log(tau2),
                k.global_scale,
                draws.uniform,
                self.rng.random,
                self.log_bound,
            )
            tau2 = np.exp(2.0 * log_tau)
        lam2 = (1.0 / nu + half_sq / tau2[:, None]) / exp_lam
        lam2 = np.minimum(np.maximum(lam2, self.scale2_min), self.scale2_max)
        if k.tau_move == "conjugate":
            # tau ~ C+(0, A): tau**2 | xi ~ IG(1/2, 1/xi), xi ~ IG(1/2, 1/A**2).
            xi = (1.0 / k.global_scale**2 + 1.0 / tau2) / draws.exponential_xi
            rate = 1.0 / xi + (half_sq / lam2).sum(-1)
            tau2 = rate / draws.tau_gamma
            tau2 = np.minimum(np.maximum(tau2, self.scale2_min), self.scale2_max)
        return tau2, lam2


class _Variates:
    """The random numbers of up to ``BLOCK`` sweeps, drawn a few calls at a time.

    A call to the generator costs microseconds whatever its size, and a
    sweep needs five kinds of variates; drawing them for many sweeps at
    once keeps the generator's share of a sweep small. ``next()`` returns
    one sweep's: ``normal`` (chains, d) for the coefficients,
    ``exponential`` (2, chains, d) for ``nu`` and ``lambda**2``,
    ``uniform`` (chains, ``SLICE_UNIFORMS``) for the slice update of
    ``tau``, and, when the run needs them, ``noise_gamma`` and
    ``tau_gamma`` (chains,) with the conditionals' constant shapes and
    ``exponential_xi`` (chains,). Variates that could be 0 are kept above
    the smallest normal float, so that no rate is divided by 0.
    """

    BLOCK = 64
    #: At most this many normal variates at a time: at d = 50,000 a full
    #: block would hold more memory than X.
    MAX_NORMALS = 2**18

    def __init__(self, rng, chains: int, d: int, *, noise_shape, tau_shape):
        self.rng, self.chains, self.d = rng, chains, d
        self.noise_shape, self.tau_shape = noise_shape, tau_shape
        self.block = max(1, min(self.BLOCK, self.MAX_NORMALS // (chains * d)))
        self.index = self.block

    def _refill(self) -> None:
        rng, b, c, d = self.rng, self.block, self.chains, self.d
        self.normal = rng.standard_normal((b, c, d))
        self.exponential = np.maximum(rng.standard_exponential((b, 2, c, d)), _TINY)
        self.uniform = rng.random((b, c, SLICE_UNIFORMS))
        self.noise_gamma = self.tau_gamma = self.exponential_xi = None
        if self.noise_shape is not None:
            gamma = rng.standard_gamma(self.noise_shape, size=(b, c))
            self.noise_gamma = np.maximum(gamma, _TINY)
        if self.tau_shape is not None:
            self.tau_gamma = np.maximum(
                rng.standard_gamma(self.tau_shape, size=(b, c)), _TINY
            )
            self.exponential_xi = np.maximum(rng.standard_exponential((b, c)), _TINY)
        self.index = 0

    def next(self) -> _SweepVariates:
        """The variates of the next sweep."""
        if self.index == self.block:
            self._refill()
        i = self.index
        self.index += 1

        def pick(block):
            return None if block is None else block[i]

        return _SweepVariates(
            self.normal[i],
            self.exponential[i],
            self.uniform[i],
            pick(self.noise_gamma),
            pick(self.tau_gamma),
            pick(self.exponential_xi),
        )


class _SweepVariates(NamedTuple):
    normal: np.ndarray
    exponential: np.ndarray
    uniform: np.ndarray
    noise_gamma: np.ndarray | None
    tau_gamma: np.ndarray | None
    exponential_xi: np.ndarray | None
