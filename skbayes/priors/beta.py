"""The Beta prior of a Bernoulli probability."""

from __future__ import annotations

from ._base import _positive, _Prior


class Beta(_Prior):
    """Beta(alpha, beta) prior on a Bernoulli probability.

    Parameters
    ----------
    alpha, beta : float, default=1.0
        Positive shape parameters. ``Beta(1, 1)`` is uniform and
        ``Beta(0.5, 0.5)`` is Jeffreys' prior.

    Examples
    --------
    >>> from skbayes.priors import Beta
    >>> Beta(2.0, 5.0).set_params(alpha=3.0)
    Beta(alpha=3.0, beta=5.0)
    """

    _parameter_constraints = {"alpha": [_positive], "beta": [_positive]}

    def __init__(self, alpha: float = 1.0, beta: float = 1.0):
        self.alpha = alpha
        self.beta = beta
