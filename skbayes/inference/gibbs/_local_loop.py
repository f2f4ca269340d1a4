"""The compiled loop of the horseshoe's local moves (``WideHorseshoeSweeps``).

Each move draws one coefficient together with its own local scale: first
``lambda_j`` from ``p(lambda_j | coef_-j, tau, sigma**2, y)``, with
``coef_j`` integrated out, then ``coef_j`` from its Gaussian conditional.
With ``r`` the residual of the other coefficients, ``s = x_j'x_j``,
``b = x_j'r`` and the prior variance ``v = tau**2 lambda_j**2``,

``log p(lambda_j | ...) = log p(lambda_j) - 1/2 log(1 + v s / sigma**2)
+ (b / sigma**2)**2 / (2 (s / sigma**2 + 1 / v))``,

and ``coef_j | lambda_j, ... ~ N(m, 1 / P)`` with ``P = s / sigma**2 + 1 / v``
and ``m = b / (sigma**2 P)``. A Gibbs sweep draws ``coef`` given
``lambda`` and ``lambda`` given ``coef``; a coefficient near 0 then keeps a
small scale, and a small scale keeps it near 0, so a null coefficient that
the data half support switches between "off" and "on" only every few
hundred sweeps. Integrating ``coef_j`` out of its scale's move breaks that
coupling. Each move costs ``O(n)`` (two passes over the column), so a pass
over all coefficients costs about what one product ``X coef`` does, a
fraction of the sweep's ``n**2 d``.

Kept apart from the class so that importing skbayes does not import numba.
"""

from __future__ import annotations

import math

import numpy as np

from ..._numba import compiled

__all__ = ["local_moves"]

#: Width, in ``log lambda**2``, of the slice's first interval (Neal 2003).
_SLICE_WIDTH = 2.0
#: Caps on the slice's stepping out and shrinkage: safety nets that a
#: density with finite mass never reaches.
_SLICE_STEPS = 200


@compiled
def _log_density(w, tau2, precision, shift):  # pragma: no cover - compiled
    """``log p(lambda**2 = e**w | ...)`` plus ``w`` (the Jacobian), up to a constant.

    ``precision = s / sigma**2`` and ``shift = b / sigma**2``. The half-Cauchy
    ``lambda`` gives ``lambda**2`` the density ``1 / (pi sqrt(e) (1 + e))``.
    """
    e = math.exp(w)
    v = tau2 * e
    return (
        0.5 * w
        - math.log1p(e)
        - 0.5 * math.log1p(v * precision)
        + 0.5 * shift * shift * v / (v * precision + 1.0)
    )


@compiled
def _slice_log_scale(  # pragma: no cover - compiled
    w0, tau2, precision, shift, lo_bound, hi_bound, rng
):
    """One slice update (stepping out, then shrinkage) of ``w = log lambda**2``.

    The support is ``[lo_bound, hi_bound]``, the bounds every other move of
    ``lambda`` is clamped to; ``w0`` lies in it.
    """
    level = _log_density(w0, tau2, precision, shift) + math.log(
        max(rng.random(), 1e-300)
    )
    lo = w0 - _SLICE_WIDTH * rng.random()
    hi = lo + _SLICE_WIDTH
    for _ in range(_SLICE_STEPS):
        if lo <= lo_bound or _log_density(lo, tau2, precision, shift) <= level:
            break
        lo -= _SLICE_WIDTH
    for _ in range(_SLICE_STEPS):
        if hi >= hi_bound or _log_density(hi, tau2, precision, shift) <= level:
            break
        hi += _SLICE_WIDTH
    lo, hi = max(lo, lo_bound), min(hi, hi_bound)
    for _ in range(_SLICE_STEPS):
        w = lo + (hi - lo) * rng.random()
        if _log_density(w, tau2, precision, shift) > level:
            return w
        if w < w0:
            lo = w
        else:
            hi = w
    return w0


#: Columns copied at a time into a column-major buffer: X is row-major,
#: and a move reads its column twice, which in place would touch a memory
#: page per row.
_COLUMN_BLOCK = 64


@compiled
def local_moves(  # pragma: no cover - compiled
    X, resid, coef, lam2, tau2, var, column_sq, log_bounds, passes, rng
):
    """``passes`` passes of the local moves over every coefficient of every chain.

    ``X`` (n, d), row-major; ``resid`` (chains, n) is ``y - X coef`` on
    entry and is kept up to date; ``coef`` and ``lam2`` (chains, d) are
    updated in place; ``tau2`` and ``var`` (chains,); ``column_sq`` (d,) the
    columns' sums of squares; ``log_bounds`` the bounds of
    ``log lambda**2``; ``rng`` a ``numpy.random.Generator``.
    """
    n, d = X.shape
    lo_bound, hi_bound = log_bounds
    columns = np.empty((min(_COLUMN_BLOCK, d), n))
    for c in range(coef.shape[0]):
        r = resid[c]
        t2, v = tau2[c], var[c]
        for _ in range(passes):
            for start in range(0, d, _COLUMN_BLOCK):
                width = min(_COLUMN_BLOCK, d - start)
                for i in range(n):
                    for k in range(width):
                        columns[k, i] = X[i, start + k]
                for k in range(width):
                    j = start + k
                    x = columns[k]
                    old = coef[c, j]
                    b = column_sq[j] * old
                    for i in range(n):
                        b += x[i] * r[i]
                    precision, shift = column_sq[j] / v, b / v
                    w = _slice_log_scale(
                        math.log(lam2[c, j]),
                        t2,
                        precision,
                        shift,
                        lo_bound,
                        hi_bound,
                        rng,
                    )
                    scale2 = math.exp(w)
                    total = precision + 1.0 / (t2 * scale2)
                    new = shift / total + rng.standard_normal() / math.sqrt(total)
                    step = new - old
                    for i in range(n):
                        r[i] -= x[i] * step
                    coef[c, j], lam2[c, j] = new, scale2
