"""Model backbones: ``PyroModule`` definitions of priors and likelihoods."""

from ._base import BayesianModule
from .beta_bernoulli import BetaBernoulliModel
from .linear import LinearRegressionModel

__all__ = ["BayesianModule", "BetaBernoulliModel", "LinearRegressionModel"]
