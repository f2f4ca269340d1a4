"""Reference answers in plain numpy: closed forms and an independent Gibbs sampler."""

import numpy as np

#: The hyperparameters ``gibbs_reference`` samples under: skbayes' defaults.
PRIOR_SCALE, NOISE_SHAPE, NOISE_RATE = 10.0, 0.1, 0.1


def gibbs_reference(X, y, num_draws=20_000, burn=1_000, seed=0):
    """Gibbs sampler for y = a + X b + e, b ~ N(0, 10^2 I), s2 ~ IG(0.1, 0.1).

    The intercept ``a`` has a flat prior and is sampled explicitly, so this
    checks skbayes' centring-and-marginalising treatment independently.
    Each row of the result is ``(*b, a, sqrt(s2))``, the order of ``stack``.
    """
    rng = np.random.default_rng(seed)
    n, d = X.shape
    a, b, s2 = 0.0, np.zeros(d), 1.0
    draws = []
    for t in range(num_draws + burn):
        a = rng.normal(np.mean(y - X @ b), np.sqrt(s2 / n))
        precision = X.T @ X / s2 + np.eye(d) / PRIOR_SCALE**2
        chol = np.linalg.cholesky(precision)
        mean = np.linalg.solve(precision, X.T @ (y - a) / s2)
        b = mean + np.linalg.solve(chol.T, rng.standard_normal(d))
        resid = y - a - X @ b
        s2 = 1.0 / rng.gamma(
            NOISE_SHAPE + n / 2, 1.0 / (NOISE_RATE + resid @ resid / 2)
        )
        if t >= burn:
            draws.append(np.concatenate([b, [a, np.sqrt(s2)]]))
    return np.array(draws)


def stack(est):
    """A fitted regressor's draws as columns ``(*coef, intercept, noise_scale)``."""
    s = est.posterior_samples_
    return np.column_stack([s["coef"], s["intercept"], s["noise_scale"]])


def normal_posterior_given_var(X, y, scale, noise_var):
    """Closed-form coef | sigma**2, y: N(A^{-1} X'y / s2, A^{-1})."""
    d = X.shape[1]
    precision = X.T @ X / noise_var + np.eye(d) / scale**2
    cov = np.linalg.inv(precision)
    return cov @ X.T @ y / noise_var, cov


def log_evidence(X, y, scale, noise_var, fit_intercept):
    """log p(y | sigma**2) with coef integrated out, plus the intercept factor.

    y ~ N(0, sigma**2 I + scale**2 X X'); with the flat-prior intercept
    integrated out the density gains a factor sigma (up to a constant).
    """
    n = len(y)
    u, s, _ = np.linalg.svd(X, full_matrices=False)
    uty = u.T @ y
    eig = noise_var + scale**2 * s**2
    rest = y @ y - uty @ uty
    logdet = np.log(eig).sum() + (n - len(s)) * np.log(noise_var)
    quad = (uty**2 / eig).sum() + rest / noise_var
    out = -0.5 * (logdet + quad)
    if fit_intercept:
        out = out + 0.5 * np.log(noise_var)
    return out


def noise_log_density(prior, u):
    """log p(u) of ``u = log sigma**2`` under a noise prior, through scipy.

    Written from scipy's densities of sigma (or of sigma**2 for the inverse
    gamma) and the Jacobian ``d sigma / du = sigma / 2``, independently of
    ``NoisePrior.log_density``; the improper priors up to a constant.
    """
    from scipy import stats

    from skbayes import priors

    u = np.asarray(u, dtype=float)
    sigma = np.exp(0.5 * u)
    jacobian = np.log(sigma / 2)
    name = type(prior).__name__
    if name == "InverseGamma":
        return stats.invgamma(prior.shape, scale=prior.rate).logpdf(np.exp(u)) + u
    densities = {
        "HalfNormal": lambda p: stats.halfnorm(scale=p.scale).logpdf(sigma),
        "HalfCauchy": lambda p: stats.halfcauchy(scale=p.scale).logpdf(sigma),
        "HalfStudentT": lambda p: (
            np.log(2) + stats.t(p.df, scale=p.scale).logpdf(sigma)
        ),
        "Exponential": lambda p: stats.expon(scale=1 / p.rate).logpdf(sigma),
        "FlatScale": lambda p: np.zeros_like(sigma),
    }
    if name in densities:
        return densities[name](prior) + jacobian
    assert isinstance(prior, priors.Jeffreys), prior
    return np.zeros_like(u)
