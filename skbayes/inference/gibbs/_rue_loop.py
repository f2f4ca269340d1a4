"""The compiled loop of the horseshoe's Rue sweeps (``HorseshoeCompiledSweeps``).

Kept apart from the class so that importing skbayes does not import numba.
"""

from __future__ import annotations

import math

import numpy as np

from ..._numba import compiled

__all__ = ["rue_sweeps"]

_TINY = float(np.finfo(np.float64).tiny)


#: Up to this d the compiled loop factorises itself; above it LAPACK's
#: blocked factorisation wins (docs/benchmarks.md, "Gibbs sweeps").
_OWN_CHOLESKY_MAX = 64


@compiled
def _cholesky_rows(matrix, out):  # pragma: no cover - compiled
    """Lower Cholesky factor into ``out``, row by row; False if not PD.

    Reads only the lower triangle. Two rows at a time share the loads of
    the pivot row. At small d this costs about half of LAPACK's ``dpotrf``
    behind numba's wrapper, which copies the matrix.
    """
    d = matrix.shape[0]
    for j in range(d):
        row_j = out[j]
        total = matrix[j, j]
        for k in range(j):
            total -= row_j[k] * row_j[k]
        if not total > 0.0:
            return False
        pivot = math.sqrt(total)
        row_j[j] = pivot
        inverse = 1.0 / pivot
        i = j + 1
        while i + 1 < d:
            row_a, row_b = out[i], out[i + 1]
            total_a, total_b = matrix[i, j], matrix[i + 1, j]
            for k in range(j):
                total_a -= row_a[k] * row_j[k]
                total_b -= row_b[k] * row_j[k]
            row_a[j], row_b[j] = total_a * inverse, total_b * inverse
            i += 2
        if i < d:
            row_a = out[i]
            total_a = matrix[i, j]
            for k in range(j):
                total_a -= row_a[k] * row_j[k]
            row_a[j] = total_a * inverse
    return True


@compiled
def _cholesky_once(matrix, out):  # pragma: no cover - compiled
    if matrix.shape[0] <= _OWN_CHOLESKY_MAX:
        return _cholesky_rows(matrix, out)
    try:
        out[:] = np.linalg.cholesky(matrix)
        return True
    except Exception:  # numba raises LinAlgError as a plain Exception
        return False


@compiled
def _cholesky_into(matrix, out):  # pragma: no cover - compiled
    """Lower Cholesky factor of ``matrix`` into ``out``; False if not PD.

    One retry on a diagonal lifted by 1e-10 of its largest entry, as
    ``_horseshoe_cpu._cholesky_lower``: ``I + PSD`` fails only by rounding.
    Only the lower triangle of ``out`` is written when d is small.
    """
    if _cholesky_once(matrix, out):
        return True
    lift = 0.0
    for i in range(matrix.shape[0]):
        lift = max(lift, abs(matrix[i, i]))
    for i in range(matrix.shape[0]):
        matrix[i, i] += 1e-10 * lift
    return _cholesky_once(matrix, out)


@compiled
def _solve_lower(chol, rhs, out):  # pragma: no cover - compiled
    """``out = L^{-1} rhs`` by forward substitution (rows of L, contiguous)."""
    d = rhs.shape[0]
    for i in range(d):
        total = rhs[i]
        for j in range(i):
            total -= chol[i, j] * out[j]
        out[i] = total / chol[i, i]


@compiled
def _solve_lower_transposed(chol, rhs, out):  # pragma: no cover - compiled
    """``out = L^{-T} rhs`` by back substitution, reading L row by row."""
    d = rhs.shape[0]
    for i in range(d):
        out[i] = rhs[i]
    for i in range(d - 1, -1, -1):
        out[i] /= chol[i, i]
        value = out[i]
        for j in range(i):
            out[j] -= chol[i, j] * value


@compiled
def _marginal_log_density(u, spread, inv_a2):  # pragma: no cover - compiled
    """The slice target of ``log tau`` (see ``marginal_log_tau``)."""
    t2 = math.exp(2.0 * u)
    inv_t2 = 1.0 / t2
    # sum_j log(1 + spread_j / tau**2) as the log of running products: one
    # logarithm per many terms instead of one per term, which was most of a
    # sweep's cost. Rounding 1 + x loses at most d * 1e-16 of the sum, far
    # below what moves a slice; the products stay below 1e300.
    tail, product = 0.0, 1.0
    for s in spread:
        term = 1.0 + s * inv_t2
        if term > 1e100:
            tail += math.log(term)
        else:
            product *= term
            if product > 1e200:
                tail += math.log(product)
                product = 1.0
    tail += math.log(product)
    return (1 - spread.shape[0]) * u - math.log1p(t2 * inv_a2) - tail


@compiled
def _slice_log_tau(x0, spread, inv_a2, rng):  # pragma: no cover - compiled
    """One slice update (Neal 2003) of width 1, as ``_horseshoe_cpu.slice_1d``."""
    level = _marginal_log_density(x0, spread, inv_a2) + math.log(
        max(rng.random(), 1e-300)
    )
    lo = x0 - rng.random()
    hi = lo + 1.0
    for _ in range(200):
        if _marginal_log_density(lo, spread, inv_a2) <= level:
            break
        lo -= 1.0
    for _ in range(200):
        if _marginal_log_density(hi, spread, inv_a2) <= level:
            break
        hi += 1.0
    for _ in range(200):
        x = lo + (hi - lo) * rng.random()
        if _marginal_log_density(x, spread, inv_a2) > level:
            return x
        if x < x0:
            lo = x
        else:
            hi = x
    return x0


@compiled
def rue_sweeps(  # pragma: no cover - compiled
    gram,
    xty,
    yty,
    coef,
    tau2,
    lam2,
    var,
    rng,
    num_warmup,
    first,
    tau_move,
    noise_mode,
    noise_shape,
    noise_rate,
    dof,
    saem_half,
    var_floor,
    global_scale,
    scale2_min,
    scale2_max,
    log_bound,
    kept_coef,
    kept_tau2,
    kept_lam2,
    kept_var,
):
    """Every sweep of a run; the state arrays are updated in place.

    Returns 0, or 1 when a precision matrix was not positive definite.
    """
    chains, d = lam2.shape
    count = kept_tau2.shape[1]
    inv_a2 = 1.0 / (global_scale * global_scale)
    precision = np.empty((d, d))
    chol = np.empty((d, d))
    scale = np.empty(d)
    rhs = np.empty(d)
    half = np.empty(d)
    z = np.empty(d)
    nu = np.empty(d)
    half_sq = np.empty(d)
    spread = np.empty(d)
    rss = np.empty(chains)
    for offset in range(num_warmup + count):
        warmup = offset < num_warmup
        for c in range(chains):
            # coef | sigma**2, tau, lambda (Rue): B = I + S X'X S / sigma**2.
            for i in range(d):
                scale[i] = math.sqrt(tau2[c] * lam2[c, i])
            # The lower triangle is all the own factorisation reads.
            for i in range(d):
                row = scale[i] / var[c]
                for j in range(i + 1 if d <= _OWN_CHOLESKY_MAX else d):
                    precision[i, j] = row * gram[i, j] * scale[j]
                precision[i, i] += 1.0
                rhs[i] = row * xty[i]
            if not _cholesky_into(precision, chol):
                return 1
            _solve_lower(chol, rhs, half)
            for i in range(d):
                half[i] += rng.standard_normal()
            _solve_lower_transposed(chol, half, z)
            for i in range(d):
                coef[c, i] = scale[i] * z[i]
            # The residual sum of squares, from the sufficient statistics.
            quad = 0.0
            for i in range(d):
                inner = 0.0
                for j in range(d):
                    inner += gram[i, j] * coef[c, j]
                quad += coef[c, i] * (inner - 2.0 * xty[i])
            rss[c] = max(yty + quad, 0.0)
        # sigma**2 | coef, or the SAEM step of the point estimate, which the
        # chains share (the mean of their residual sums of squares).
        if noise_mode == 1:
            for c in range(chains):
                gamma = max(rng.standard_gamma(noise_shape), _TINY)
                var[c] = (noise_rate + 0.5 * rss[c]) / gamma
        elif noise_mode == 2 and warmup:
            step = first + offset
            gain = 1.0 if step < saem_half else 1.0 / (step - saem_half + 1)
            target = rss.mean() / dof
            for c in range(chains):
                var[c] = max((1.0 - gain) * var[c] + gain * target, var_floor)
        # Makalic and Schmidt's auxiliary updates, and tau.
        for c in range(chains):
            for i in range(d):
                exp_nu = max(rng.standard_exponential(), _TINY)
                nu[i] = (1.0 + 1.0 / lam2[c, i]) / exp_nu
                half_sq[i] = 0.5 * coef[c, i] * coef[c, i]
            if tau_move == 1:
                for i in range(d):
                    spread[i] = half_sq[i] * nu[i]
                log_tau = _slice_log_tau(0.5 * math.log(tau2[c]), spread, inv_a2, rng)
                log_tau = min(max(log_tau, -log_bound), log_bound)
                tau2[c] = math.exp(2.0 * log_tau)
            for i in range(d):
                exp_lam = max(rng.standard_exponential(), _TINY)
                value = (1.0 / nu[i] + half_sq[i] / tau2[c]) / exp_lam
                lam2[c, i] = min(max(value, scale2_min), scale2_max)
            if tau_move == 0:
                # tau**2 | xi ~ IG(1/2, 1/xi), xi ~ IG(1/2, 1/A**2).
                exp_xi = max(rng.standard_exponential(), _TINY)
                xi = (inv_a2 + 1.0 / tau2[c]) / exp_xi
                rate = 1.0 / xi
                for i in range(d):
                    rate += half_sq[i] / lam2[c, i]
                gamma = max(rng.standard_gamma(0.5 * (d + 1)), _TINY)
                tau2[c] = min(max(rate / gamma, scale2_min), scale2_max)
        if not warmup:
            k = offset - num_warmup
            for c in range(chains):
                kept_tau2[c, k] = tau2[c]
                kept_var[c, k] = var[c]
                for i in range(d):
                    kept_coef[c, k, i] = coef[c, i]
                    kept_lam2[c, k, i] = lam2[c, i]
    return 0
