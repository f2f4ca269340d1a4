"""Independent Beta-Bernoulli problems, one per column of X."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyro
import pyro.distributions as dist
import torch

from ._base import BayesianModule, ModelData, Start


class BetaBernoulliModel(BayesianModule):
    """``p_j ~ Beta(alpha, beta)``, ``X[i, j] | p_j ~ Bernoulli(p_j)``.

    The data are ``(X,)`` or ``(X, weight)``: row ``i``'s likelihood is
    raised to the power ``weight[i]`` (``sample_weight``), so a whole-number
    weight counts the row that many times.

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

    A weight of 2 on the last row counts it twice:

    >>> w = torch.tensor([1.0, 1.0, 2.0], dtype=torch.float64)
    >>> twice = torch.cat([X, X[2:]])
    >>> torch.allclose(
    ...     model.log_likelihood(values, X, w), model.log_likelihood(values, twice)
    ... )
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

    def observe(self, values, X, weight=None):
        scale = 1.0 if weight is None else weight
        with pyro.plate("data", X.shape[0]), pyro.poutine.scale(scale=scale):
            pyro.sample("x", dist.Bernoulli(probs=values["p"]).to_event(1), obs=X)

    def log_likelihood(self, values, X, weight=None):
        # Bernoulli likelihood through its sufficient statistics: O(k), not O(nk).
        successes, trials = _counts(X, weight)
        failures = trials - successes
        p = values["p"]
        return (
            torch.xlogy(successes, p) + torch.xlogy(failures, torch.neg(p).add(1))
        ).sum(-1)

    # -- capabilities ---------------------------------------------------------
    def start(self, data: ModelData) -> Start:
        # The smoothed frequencies: inside the support even for 0 or n successes.
        successes, trials = _counts(*data.arrays)
        return Start(values={"p": (successes + 0.5) / (trials + 1.0)})

    def exact_posterior(self, data: ModelData) -> BetaPosterior:
        successes, trials = _counts(*data.arrays)
        successes = successes.cpu().numpy()
        return BetaPosterior(
            self.alpha + successes, self.beta + float(trials) - successes
        )

    def placeholder_data(self) -> tuple:
        return (self.anchor.new_zeros(0, self.n_columns), self.anchor.new_zeros(0))


def _counts(X: torch.Tensor, weight: torch.Tensor | None = None) -> tuple:
    """Weighted successes per column and the total weight of the rows."""
    if weight is None:
        return X.sum(0), X.new_tensor(float(X.shape[0]))
    return weight @ X, weight.sum()


@dataclass(frozen=True)
class BetaPosterior:
    """``p_j ~ Beta(alpha_j, beta_j)`` independently: the conjugate posterior.

    Examples
    --------
    >>> import numpy as np
    >>> posterior = BetaPosterior(np.array([8.0]), np.array([4.0]))
    >>> posterior.sample(3, np.random.default_rng(0))["p"].shape
    (3, 1)
    """

    alpha: np.ndarray
    beta: np.ndarray

    def sample(self, num_samples: int, rng: np.random.Generator) -> dict:
        """``num_samples`` independent draws of ``p``, shape (num_samples, k)."""
        size = (num_samples, len(self.alpha))
        return {"p": rng.beta(self.alpha, self.beta, size=size)}
