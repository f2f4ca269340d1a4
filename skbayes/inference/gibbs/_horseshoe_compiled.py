"""The horseshoe kernel's Rue sweeps, compiled with numba.

``HorseshoeCpuSweeps`` makes a sweep from about sixty numpy and LAPACK
calls, and below ``d = 100`` those calls' overhead, not their arithmetic, is
what a sweep costs. Here the whole run of sweeps is one compiled loop: the
same moves with the same conditionals (Rue's draw of ``coef``,
``sigma**2 | coef`` or the SAEM step of a point estimate, Makalic and
Schmidt's auxiliary updates, and the conjugate or marginal move of ``tau``),
drawing its variates from the sweeps' ``numpy.random.Generator`` as it goes.
The draws therefore differ from the numpy sweeps' for one seed, but have the
same distribution, and a seed still fixes the run.

The compiled loop covers the noise modes whose update is closed form: a
fixed or point variance, and a sampled one under a conjugate (inverse-gamma)
prior. A noise prior with a Metropolis-Hastings correction calls back into
Python every sweep, so those runs keep the numpy sweeps (see
``HorseshoeCompiledSweeps.supports``).
"""

from __future__ import annotations

import numpy as np
import torch

from ._horseshoe_cpu import HorseshoeCpuSweeps
from ._linear_algebra import NOT_POSITIVE_DEFINITE

__all__ = ["HorseshoeCompiledSweeps"]


# Codes of the moves, as the compiled loop takes them.
_TAU_MOVE_CODES = {"conjugate": 0, "marginal": 1}
_NOISE_FIXED, _NOISE_SAMPLED, _NOISE_POINT = 0, 1, 2


class HorseshoeCompiledSweeps(HorseshoeCpuSweeps):
    """``HorseshoeCpuSweeps`` with the sweeps in one compiled loop.

    Parameters are those of ``HorseshoeCpuSweeps``. Use ``supports(kernel)``
    to ask whether a kernel's options have a compiled loop.
    """

    @staticmethod
    def supports(kernel) -> bool:
        """Whether the kernel's moves have a compiled loop."""
        # "both" and "blocked" add Metropolis moves with coef integrated out.
        if kernel.tau_update not in _TAU_MOVE_CODES:
            return False
        return kernel.noise != "prior" or bool(kernel.noise_prior.conjugate)

    def __init__(self, kernel, seed: int, bounds: tuple[float, float, float]):
        # The numpy sweeps' block of variates is never drawn (it fills on
        # first use): the compiled loop draws from ``self.rng`` as it goes.
        super().__init__(kernel, seed, bounds)
        k = kernel
        if k.noise == "prior":
            shape, _ = k.noise_prior.conjugate_form
            self.noise_mode, self.noise_shape = _NOISE_SAMPLED, shape + 0.5 * k.dof
        elif k.noise == "point" and k.dof > 0:
            self.noise_mode, self.noise_shape = _NOISE_POINT, 0.0
        else:
            self.noise_mode, self.noise_shape = _NOISE_FIXED, 0.0

    def _sweep(self, state, kept, *, first: int, num_warmup: int) -> tuple:
        coef, tau2, lam2, var = state
        k = self.kernel
        tau2, lam2, var = (np.ascontiguousarray(a) for a in (tau2, lam2, var))
        coef = np.zeros_like(lam2) if coef is None else np.ascontiguousarray(coef)
        # Imported here: numba's import costs about half a second, which
        # ``import skbayes`` should not pay.
        from ._rue_loop import rue_sweeps

        point = self.noise_mode == _NOISE_POINT
        status = rue_sweeps(
            self.gram,
            self.xty,
            self.yty,
            coef,
            tau2,
            lam2,
            var,
            self.rng,
            num_warmup,
            first,
            _TAU_MOVE_CODES[k.tau_move],
            self.noise_mode,
            self.noise_shape,
            float(k.noise_rate) if self.noise_mode == _NOISE_SAMPLED else 0.0,
            float(k.dof),
            int(k.num_warmup) // 2 if point else 0,
            1e-12 * float(k.default_var) if point else 0.0,
            float(k.global_scale),
            self.scale2_min,
            self.scale2_max,
            self.log_bound,
            kept["coef"],
            kept["tau2"],
            kept["lam2"],
            kept["noise_var"],
        )
        if status != 0:
            raise torch.linalg.LinAlgError(NOT_POSITIVE_DEFINITE)
        return coef, tau2, lam2, var
