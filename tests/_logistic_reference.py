"""Reference posterior for Bayesian logistic regression, in plain numpy/scipy.

Binary model::

    y_i ~ Bernoulli(sigmoid(a + X_i @ b)),
    b_j ~ Normal(0, coef_scale_j**2),   a ~ Normal(0, intercept_scale**2).

Multinomial model with ``K = n_classes`` classes (K full coefficient vectors,
made identifiable by the proper prior)::

    P(y_i = k) = softmax_k(a_k + X_i @ b_k),
    b_kj ~ Normal(0, coef_scale_j**2),  a_k ~ Normal(0, intercept_scale**2).

The posterior is computed independently of skbayes: Newton's method finds
the mode (the log posterior is strictly concave), the Laplace approximation
centres a multivariate Student-t proposal, and self-normalised importance
sampling corrects it. With ~1e5 proposal draws on problems with a handful of
parameters the effective sample size is in the tens of thousands, so the
reference's own Monte Carlo error is a few thousandths of a posterior sd.

Parameter layout
----------------
Binary: a vector ``[b_1, ..., b_d, a]`` (``[b_1, ..., b_d]`` without an
intercept). Multinomial: an array of shape ``(K, d + 1)`` whose row ``k`` is
``[b_k1, ..., b_kd, a_k]`` (``(K, d)`` without an intercept). Draws carry a
leading axis: ``(S, d + 1)`` or ``(S, K, d + 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

__all__ = [
    "POSTERIORDB_DIR",
    "LogisticReference",
    "dogs_design",
    "gpd_khat",
    "logistic_reference",
    "weighted_moments",
]

#: posteriordb reference posteriors of logistic models (``tests/data``).
POSTERIORDB_DIR = Path(__file__).resolve().parent / "data" / "posteriordb"


@dataclass(frozen=True)
class LogisticReference:
    """Importance-sampling posterior summary of a logistic regression.

    Attributes
    ----------
    mean, sd : ndarray
        Weighted posterior mean and standard deviation of every parameter,
        in the layout of the module docstring: ``(p,)`` binary, ``(K, p)``
        multinomial, with ``p = d + 1`` (or ``d`` without an intercept).
    mean_mcse, sd_mcse : ndarray
        Monte Carlo standard errors of ``mean`` and ``sd`` (delta method for
        self-normalised importance sampling), same shape as ``mean``.
    mode : ndarray
        The posterior mode found by Newton's method, same shape as ``mean``.
    laplace_cov : ndarray of shape (P, P)
        Inverse negative Hessian at the mode over the ``P = mean.size``
        flattened parameters (C order, so multinomial index ``k * p + j``).
    draws : ndarray of shape (S, ...)
        The proposal draws, ``(S, p)`` or ``(S, K, p)``.
    weights : ndarray of shape (S,)
        Normalised importance weights (summing to one).
    ess : float
        Effective sample size ``1 / sum(weights**2)``.
    pareto_k : float
        Pareto k-hat of the largest importance ratios (below 0.5: the
        estimates have finite variance and are reliable; above 0.7: not).
    newton_iterations : int
        Newton steps taken to reach the mode.
    """

    mean: np.ndarray
    sd: np.ndarray
    mean_mcse: np.ndarray
    sd_mcse: np.ndarray
    mode: np.ndarray
    laplace_cov: np.ndarray
    draws: np.ndarray
    weights: np.ndarray
    ess: float
    pareto_k: float
    newton_iterations: int


def _design(X, intercept_scale):
    """Columns ``[X, 1]`` (or ``X`` when there is no intercept)."""
    if intercept_scale is None:
        return X
    return np.column_stack([X, np.ones(len(X))])


def _prior_scales(d, coef_scale, intercept_scale):
    """Prior sd of each of the ``p`` parameters of one linear predictor."""
    scales = np.broadcast_to(np.asarray(coef_scale, dtype=float), (d,))
    if intercept_scale is not None:
        scales = np.append(scales, float(intercept_scale))
    if np.any(scales <= 0) or not np.all(np.isfinite(scales)):
        raise ValueError("prior scales must be positive and finite")
    return np.array(scales)


def _binary_log_post(Z, y, prec, theta):
    """Log posterior (up to a constant) of each row of ``theta`` (S, p)."""
    eta = Z @ theta.T  # (n, S)
    loglik = y @ eta - np.logaddexp(0.0, eta).sum(axis=0)
    return loglik - 0.5 * (theta**2 @ prec)


def _binary_newton_terms(Z, y, prec, theta):
    """Log posterior, gradient and negative Hessian at one ``theta`` (p,)."""
    eta = Z @ theta
    prob = np.exp(-np.logaddexp(0.0, -eta))
    value = y @ eta - np.logaddexp(0.0, eta).sum() - 0.5 * (theta**2 @ prec)
    grad = Z.T @ (y - prob) - prec * theta
    neg_hess = (Z.T * (prob * (1.0 - prob))) @ Z + np.diag(prec)
    return value, grad, neg_hess


def _multi_log_post(Z, onehot, prec, theta):
    """Log posterior of each draw ``theta`` (S, K, p); ``prec`` is (p,)."""
    K = theta.shape[1]
    eta = [Z @ theta[:, k].T for k in range(K)]  # K arrays of shape (n, S)
    top = np.maximum.reduce(eta)
    lse = top + np.log(sum(np.exp(e - top) for e in eta))
    loglik = sum(onehot[:, k] @ eta[k] for k in range(K)) - lse.sum(axis=0)
    return loglik - 0.5 * np.einsum("skp,p->s", theta**2, prec)


def _multi_newton_terms(Z, onehot, prec, theta):
    """Log posterior, gradient and negative Hessian at one ``theta`` (K, p)."""
    K, p = theta.shape
    eta = Z @ theta.T  # (n, K)
    lse = logsumexp(eta, axis=1)
    prob = np.exp(eta - lse[:, None])
    value = np.sum(eta * onehot) - lse.sum() - 0.5 * np.sum(theta**2 * prec)
    grad = (onehot - prob).T @ Z - prec * theta  # (K, p)
    # -d2/dB_k dB_l = sum_i P_ik (delta_kl - P_il) Z_i Z_i^T, plus the prior.
    cov_w = np.einsum("nk,kl->nkl", prob, np.eye(K)) - np.einsum(
        "nk,nl->nkl", prob, prob
    )
    neg_hess = np.einsum("nkl,ni,nj->kilj", cov_w, Z, Z).reshape(K * p, K * p)
    neg_hess += np.diag(np.tile(prec, K))
    return value, grad.ravel(), neg_hess


def _newton(terms, theta0, max_iter=100, tol=1e-12):
    """Damped Newton ascent of a strictly concave function.

    ``terms(theta)`` returns ``(value, grad, neg_hess)`` at a flat
    ``theta``. Stops when half the squared Newton decrement falls under
    ``tol`` (the gap to the maximum, to second order).
    """
    theta = theta0.copy()
    value, grad, neg_hess = terms(theta)
    for it in range(1, max_iter + 1):
        step = np.linalg.solve(neg_hess, grad)
        decrement = grad @ step
        if decrement / 2 < tol:
            return theta, neg_hess, it - 1
        t = 1.0
        while True:  # backtracking (Armijo) line search
            new = theta + t * step
            new_value, new_grad, new_neg_hess = terms(new)
            if new_value >= value + 0.25 * t * decrement or t < 1e-10:
                break
            t /= 2
        theta, value, grad, neg_hess = new, new_value, new_grad, new_neg_hess
    raise RuntimeError(f"Newton's method did not converge in {max_iter} steps")


def gpd_khat(x):
    """Shape of a generalized Pareto fit to exceedances ``x`` (Zhang–Stephens).

    The empirical-Bayes estimator of Zhang & Stephens (2009) with the weakly
    informative prior on the shape used by PSIS (Vehtari et al., 2024).

    Parameters
    ----------
    x : array_like of shape (m,)
        Positive exceedances over a threshold, at least 5 of them.

    Returns
    -------
    float
        The estimated shape k (0 for exponential tails, 1/k finite moments).
    """
    x = np.sort(np.asarray(x, dtype=float))
    n = len(x)
    m = 30 + int(np.sqrt(n))
    b = 1.0 - np.sqrt(m / (np.arange(1, m + 1) - 0.5))
    b = b / (3.0 * x[int(n / 4 + 0.5) - 1]) + 1.0 / x[-1]
    k = np.log1p(-b[:, None] * x).mean(axis=1)
    profile = n * (np.log(-b / k) - k - 1.0)
    w = np.exp(profile - logsumexp(profile))  # 1 / sum_i exp(L_i - L_j)
    keep = w >= 10 * np.finfo(float).eps
    w, b = w[keep] / w[keep].sum(), b[keep]
    k_post = np.log1p(-(b @ w) * x).mean()
    return float((n * k_post + 10 * 0.5) / (n + 10))


def _pareto_khat(log_ratios):
    """PSIS k-hat of the upper tail of the importance ratios."""
    S = len(log_ratios)
    M = int(min(S / 5, 3 * np.sqrt(S)))
    tail = np.sort(log_ratios)[-(M + 1) :]
    shift = tail[-1]
    exceed = np.exp(tail[1:] - shift) - np.exp(tail[0] - shift)
    exceed = exceed[exceed > 0]
    if len(exceed) < 5:
        return float("nan")
    return gpd_khat(exceed)


def weighted_moments(draws, weights):
    """Weighted mean and sd of draws, with delta-method Monte Carlo errors.

    For self-normalised importance sampling the standard error of a weighted
    mean ``E_w f`` is ``sqrt(sum w_i**2 (f_i - E_w f)**2)``; the sd's follows
    from that of the variance, ``se(sd) = se(var) / (2 sd)``.

    Parameters
    ----------
    draws : array_like of shape (S, ...)
        Draws, one per leading index.
    weights : array_like of shape (S,)
        Nonnegative weights; normalised here.

    Returns
    -------
    mean, sd, mean_mcse, sd_mcse : ndarray
        Each of shape ``draws.shape[1:]``.
    """
    draws = np.asarray(draws, dtype=float)
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    flat = draws.reshape(len(draws), -1)
    mean = w @ flat
    sq = (flat - mean) ** 2
    var = w @ sq
    sd = np.sqrt(var)
    w2 = w**2
    mean_mcse = np.sqrt(w2 @ sq)
    sd_mcse = np.sqrt(w2 @ (sq - var) ** 2) / (2 * sd)
    shape = draws.shape[1:]
    return tuple(a.reshape(shape) for a in (mean, sd, mean_mcse, sd_mcse))


def logistic_reference(
    X,
    y,
    *,
    coef_scale,
    intercept_scale,
    n_classes=None,
    num_draws=100_000,
    seed=0,
    df=5.0,
    scale_inflation=1.2,
):
    """Posterior moments of a Bayesian logistic regression by importance sampling.

    Newton's method finds the posterior mode; the proposal is a multivariate
    Student-t with ``df`` degrees of freedom centred there, with scale matrix
    ``scale_inflation`` times the Laplace covariance (inverse negative Hessian
    at the mode); self-normalised importance weights correct it.

    Parameters
    ----------
    X : array_like of shape (n, d)
        Features.
    y : array_like of shape (n,)
        Labels: 0/1 for the binary model, integers ``0..n_classes - 1`` for
        the multinomial one.
    coef_scale : float or array_like of shape (d,)
        Prior sd of each coefficient (shared by all classes).
    intercept_scale : float or None
        Prior sd of the intercept(s); None fits no intercept.
    n_classes : int or None, default=None
        None for the binary (sigmoid) model; ``K >= 2`` for the softmax model
        with K full coefficient vectors.
    num_draws : int, default=100_000
        Proposal draws S.
    seed : int or numpy.random.Generator, default=0
        Seeds the only random generator used (no global state).
    df : float, default=5.0
        Degrees of freedom of the Student-t proposal.
    scale_inflation : float, default=1.2
        Factor on the Laplace covariance in the proposal's scale matrix.

    Returns
    -------
    LogisticReference
        Means, sds, their Monte Carlo standard errors, the mode, Laplace
        covariance, draws, normalised weights, ESS and Pareto k-hat, in the
        parameter layout of the module docstring.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError("X must be 2-D")
    n, d = X.shape
    Z = _design(X, intercept_scale)
    p = Z.shape[1]
    prec = 1.0 / _prior_scales(d, coef_scale, intercept_scale) ** 2
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError("y must have one label per row of X")

    if n_classes is None:
        if not np.isin(y, (0, 1)).all():
            raise ValueError("binary y must be 0/1")
        yf = y.astype(float)
        shape = (p,)

        def terms(theta):
            return _binary_newton_terms(Z, yf, prec, theta)

        def log_post(flat):
            return _binary_log_post(Z, yf, prec, flat)

    else:
        K = int(n_classes)
        if K < 2 or not np.isin(y, np.arange(K)).all():
            raise ValueError("multinomial y must be integers in 0..n_classes-1")
        onehot = np.eye(K)[y.astype(int)]
        shape = (K, p)

        def terms(theta):
            return _multi_newton_terms(Z, onehot, prec, theta.reshape(K, p))

        def log_post(flat):
            return _multi_log_post(Z, onehot, prec, flat.reshape(-1, K, p))

    P = int(np.prod(shape))
    mode, neg_hess, iterations = _newton(terms, np.zeros(P))
    laplace_cov = np.linalg.inv(neg_hess)
    laplace_cov = (laplace_cov + laplace_cov.T) / 2

    # Multivariate t: theta = mode + L z sqrt(df / u), z ~ N(0, I), u ~ chi2(df).
    rng = np.random.default_rng(seed)
    chol = np.linalg.cholesky(scale_inflation * laplace_cov)
    z = rng.standard_normal((num_draws, P))
    u = rng.chisquare(df, size=num_draws)
    maha = np.einsum("sp,sp->s", z, z) * (df / u)
    draws = mode + (z * np.sqrt(df / u)[:, None]) @ chol.T
    log_q = -0.5 * (df + P) * np.log1p(maha / df)

    # Evaluate the target in chunks of ~4e6 linear-predictor entries.
    chunk = max(1, int(4e6 // (n * (shape[0] if len(shape) == 2 else 1))))
    log_p = np.concatenate(
        [log_post(draws[i : i + chunk]) for i in range(0, num_draws, chunk)]
    )
    log_ratio = log_p - log_q
    weights = np.exp(log_ratio - logsumexp(log_ratio))
    weights /= weights.sum()

    mean, sd, mean_mcse, sd_mcse = weighted_moments(draws, weights)
    return LogisticReference(
        mean=mean.reshape(shape),
        sd=sd.reshape(shape),
        mean_mcse=mean_mcse.reshape(shape),
        sd_mcse=sd_mcse.reshape(shape),
        mode=mode.reshape(shape),
        laplace_cov=laplace_cov,
        draws=draws.reshape((num_draws, *shape)),
        weights=weights,
        ess=float(1.0 / np.sum(weights**2)),
        pareto_k=_pareto_khat(log_ratio),
        newton_iterations=iterations,
    )


def dogs_design(y):
    """posteriordb's dogs covariates: earlier avoidances and shocks per trial."""
    y = np.asarray(y)
    n_avoid = np.zeros(y.shape)
    n_shock = np.zeros(y.shape)
    for t in range(1, y.shape[1]):
        n_avoid[:, t] = n_avoid[:, t - 1] + 1 - y[:, t - 1]
        n_shock[:, t] = n_shock[:, t - 1] + y[:, t - 1]
    return np.column_stack([n_avoid.ravel(), n_shock.ravel()]), y.ravel()
