"""Synthetic data sets from the tutorial, for demos, tests and benchmarks."""

from __future__ import annotations

import numpy as np


def make_sparse_regression(
    n_samples: int = 100,
    n_features: int = 100,
    *,
    n_nonzero: int | None = None,
    noise: float = 0.5,
    random_state=None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The tutorial's sparse regression problem.

    The first ``n_nonzero`` coefficients (half of them by default) are
    ``+-5 + Normal(0, 1)`` with a random sign, the rest are zero;
    ``X ~ Normal(0, 1)`` and ``y = X @ coef + Normal(0, noise**2)``.

    Parameters
    ----------
    n_samples, n_features : int
        Shape of X.
    n_nonzero : int, optional
        Number of non-zero coefficients; ``n_features // 2`` by default.
    noise : float, default=0.5
        Standard deviation of the noise.
    random_state : int or None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    coef : ndarray of shape (n_features,)

    Examples
    --------
    >>> X, y, coef = make_sparse_regression(20, 10, random_state=0)
    >>> X.shape, int((coef != 0).sum())
    ((20, 10), 5)
    """
    rng = np.random.default_rng(random_state)
    if n_nonzero is None:
        n_nonzero = n_features // 2
    coef = np.zeros(n_features)
    signs = np.where(rng.random(n_nonzero) < 0.5, 5.0, -5.0)
    coef[:n_nonzero] = signs + rng.standard_normal(n_nonzero)
    X = rng.standard_normal((n_samples, n_features))
    y = X @ coef + noise * rng.standard_normal(n_samples)
    return X, y, coef
