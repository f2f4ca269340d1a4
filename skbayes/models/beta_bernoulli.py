"""Independent Beta-Bernoulli problems, one per column of X."""

from __future__ import annotations

import pyro
import pyro.distributions as dist
import torch

from ._base import BayesianModule


class BetaBernoulliModel(BayesianModule):
    """``p_j ~ Beta(alpha, beta)``, ``X[i, j] | p_j ~ Bernoulli(p_j)``.

    Parameters
    ----------
    alpha, beta : float
        Shape parameters of the Beta prior, shared by all columns.
    n_columns : int
        Number of independent problems ``k``.
    **kwargs
        ``dtype`` and ``device``, passed to ``BayesianModule``.

    Examples
    --------
    >>> import torch
    >>> from skbayes.models import BetaBernoulliModel
    >>> model = BetaBernoulliModel(alpha=1.0, beta=1.0, n_columns=2)
    >>> model.prior_sites()["p"].event_shape
    torch.Size([2])
    >>> X = torch.tensor([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0]], dtype=torch.float64)

    Two draws of ``p`` scored at once; the second, near the observed
    frequencies (1 and 1/3), explains the data better:

    >>> values = {"p": torch.tensor([[0.5, 0.5], [0.9, 0.3]], dtype=torch.float64)}
    >>> [round(v, 3) for v in model.log_likelihood(values, X).tolist()]
    [-4.159, -2.233]

    Under the uniform prior the log joint equals the log likelihood:

    >>> torch.allclose(model.log_joint(values, X), model.log_likelihood(values, X))
    True
    """

    def __init__(self, alpha: float, beta: float, n_columns: int, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.n_columns = int(n_columns)

    def prior_sites(self, values=None):
        ones = self.anchor.new_ones(self.n_columns)
        return {"p": dist.Beta(self.alpha * ones, self.beta * ones).to_event(1)}

    def observe(self, values, X):
        with pyro.plate("data", X.shape[0]):
            pyro.sample("x", dist.Bernoulli(probs=values["p"]).to_event(1), obs=X)

    def log_likelihood(self, values, X):
        # Bernoulli likelihood through its sufficient statistics: O(k), not O(nk).
        successes = X.sum(0)
        failures = X.shape[0] - successes
        p = values["p"]
        return (
            torch.xlogy(successes, p) + torch.xlogy(failures, torch.neg(p).add(1))
        ).sum(-1)
