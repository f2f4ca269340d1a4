"""Pareto-smoothed importance sampling (PSIS) and its shape diagnostic k-hat.

Given log importance ratios ``log p(theta, y) - log q(theta)`` at draws
``theta ~ q``, PSIS fits a generalised Pareto distribution (GPD) to the largest
ratios. The fitted shape k-hat says how heavy the tail of the weights is, and
so whether importance sampling from ``q`` (or ``q`` itself, as a variational
approximation) can be trusted: the weights have finite variance only for
k < 1/2, and Vehtari et al. find estimates usable up to k-hat ~ 0.7 (more
precisely ``1 - 1 / log10(S)`` for S draws). The numbers follow ArviZ's
``psislw`` and the R package ``loo``: the Zhang & Stephens (2009) profile
posterior fit with a weakly informative prior on k centred at 0.5.

References
----------
Vehtari, A., Simpson, D., Gelman, A., Yao, Y. and Gabry, J. (2024). Pareto
smoothed importance sampling. *Journal of Machine Learning Research* 25(72).

Yao, Y., Vehtari, A., Simpson, D. and Gelman, A. (2018). Yes, but did it
work?: Evaluating variational inference. *ICML*, PMLR 80.

Zhang, J. and Stephens, M. A. (2009). A new and efficient estimation method
for the generalized Pareto distribution. *Technometrics* 51(3), 316-325.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

# Log ratios that span less than this are treated as constant: the weights
# then agree to about 8 significant digits, so importance sampling is the plain
# average and k-hat is -inf. Without the tolerance an exact proposal, whose log
# ratios differ only by rounding, would have its rounding noise fitted instead.
_FLAT = 1e-8
# Floor for the tail threshold, so that exp(threshold) > 0 even when most
# draws have weight zero (log ratio -inf).
_LOG_TINY = math.log(np.finfo(float).tiny)


def _gpd_fit(exceedances: np.ndarray) -> tuple[float, float]:
    """Fit a GPD to sorted positive exceedances (Zhang & Stephens, 2009).

    Returns the shape k, shrunk towards 0.5 as if by 10 prior observations,
    and the scale sigma of the unshrunk fit, as ArviZ and ``loo`` do.
    """
    n = exceedances.size
    m_est = 30 + math.isqrt(n)
    # Grid over b = -k / sigma, spread by the first quartile (prior_bs = 3)
    # and bounded above by 1 / max so that 1 - b x stays positive.
    j = np.arange(1, m_est + 1, dtype=float)
    b = 1 - np.sqrt(m_est / (j - 0.5))
    b /= 3 * exceedances[int(n / 4 + 0.5) - 1]
    b += 1 / exceedances[-1]
    k = np.log1p(-b[:, None] * exceedances).mean(axis=1)
    # Profile log likelihood of each b; its softmax is the posterior over the
    # grid (written this way so large differences cannot overflow).
    log_lik = n * (np.log(-b / k) - k - 1)
    weights = np.exp(log_lik - log_lik.max())
    weights /= weights.sum()
    keep = weights >= 10 * np.finfo(float).eps
    b_post = np.sum(b[keep] * weights[keep]) / weights[keep].sum()
    k_post = np.log1p(-b_post * exceedances).mean()
    sigma = -k_post / b_post
    return (n * k_post + 10 * 0.5) / (n + 10), sigma


def _gpd_quantile(p: np.ndarray, k: float, sigma: float) -> np.ndarray:
    """Quantiles of GPD(k, sigma) at probabilities p in (0, 1)."""
    if abs(k) < np.finfo(float).eps:
        return -sigma * np.log1p(-p)
    return sigma * np.expm1(-k * np.log1p(-p)) / k


def psis_log_weights(log_ratios: ArrayLike) -> tuple[np.ndarray, float]:
    """Pareto-smooth importance ratios and return their log weights and k-hat.

    The largest ``M = ceil(min(S / 5, 3 sqrt(S)))`` of the S ratios are fitted
    with a GPD over the (M+1)-th largest, replaced by its quantiles at
    ``(z - 0.5) / M`` for z = 1..M, and capped at the largest raw ratio.

    Parameters
    ----------
    log_ratios : array_like, shape (S,)
        ``log p(theta_s, y) - log q(theta_s)`` at draws ``theta_s ~ q``, up to
        a common constant. ``-inf`` (weight zero) is allowed.

    Returns
    -------
    log_weights : ndarray, shape (S,)
        Smoothed log weights, normalised so that ``logsumexp`` is 0. Left
        unsmoothed when k-hat is not finite.
    khat : float
        Estimated Pareto shape. ``inf`` when fewer than 5 draws lie in the
        tail (too few to fit) or the fit fails; ``-inf`` when the ratios are
        constant (to within ``1e-8`` in log), as for an exact proposal.

    Raises
    ------
    ValueError
        If ``log_ratios`` is not 1-D, is empty, contains NaN or ``+inf``, or
        is ``-inf`` everywhere.

    Examples
    --------
    Target N(0, 1), proposal N(0, 0.5^2): the weights have Pareto shape 0.75.

    >>> x = np.random.default_rng(0).normal(scale=0.5, size=4000)
    >>> log_weights, khat = psis_log_weights(-0.5 * x**2 + 2.0 * x**2)
    >>> bool(np.isclose(np.logaddexp.reduce(log_weights), 0.0))
    True
    >>> bool(0.5 < khat < 1.0)
    True
    """
    x = np.array(log_ratios, dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"log_ratios must be a non-empty 1-D array, got {x.shape}")
    if np.isnan(x).any():
        raise ValueError("log_ratios contains NaN")
    if np.isposinf(x).any():
        raise ValueError("log_ratios contains +inf (an infinite importance weight)")
    if np.isneginf(x).all():
        raise ValueError("log_ratios is -inf everywhere: every weight is zero")
    x -= x.max()  # the largest weight becomes 1, so exp cannot overflow
    n = x.size
    if x[np.isfinite(x)].min() >= -_FLAT:
        return x - math.log(np.count_nonzero(np.isfinite(x))), -math.inf

    # M = ceil(min(S / 5, 3 sqrt(S))); S / 5 is the smaller for S <= 225.
    m = min(-(-n // 5), math.ceil(3 * math.sqrt(n)))
    order = np.argsort(x)
    # m < n for every n >= 2, and n = 1 is constant, so order[-m - 1] exists.
    cutoff = max(x[order[-m - 1]], _LOG_TINY)
    tail = order[n - np.count_nonzero(x > cutoff) :]
    if tail.size < 5:
        khat = math.inf
    else:
        # exp(x) - exp(cutoff) without the cancellation, and > 0 for x > cutoff.
        exceedances = math.exp(cutoff) * np.expm1(x[tail] - cutoff)
        # Exceedances that underflow to 0 near the floor make the grid infinite;
        # the fit then fails quietly and is reported as inf.
        with np.errstate(divide="ignore", invalid="ignore"):
            khat, sigma = _gpd_fit(exceedances)
        khat = float(khat) if np.isfinite(khat) and sigma > 0 else math.inf
        if math.isfinite(khat):
            p = (np.arange(tail.size) + 0.5) / tail.size
            smoothed = np.log(math.exp(cutoff) + _gpd_quantile(p, khat, sigma))
            x[tail] = np.minimum(smoothed, 0.0)
    top = x.max()
    return x - (top + math.log(np.exp(x - top).sum())), khat


def pareto_khat(log_ratios: ArrayLike) -> float:
    """Pareto shape diagnostic k-hat of importance ratios.

    See `psis_log_weights` for the fit and the special values; as a check on a
    variational fit ``q``, k-hat < 0.7 means ``q`` is close enough for
    importance sampling to correct it (Yao et al., 2018).

    Parameters
    ----------
    log_ratios : array_like, shape (S,)
        ``log p(theta_s, y) - log q(theta_s)`` at draws ``theta_s ~ q``.

    Returns
    -------
    float
        The estimated shape k-hat.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(scale=2.0, size=4000)
    >>> bool(pareto_khat(-0.5 * x**2 + 0.125 * x**2) < 0.5)  # wider proposal
    True
    """
    return psis_log_weights(log_ratios)[1]
