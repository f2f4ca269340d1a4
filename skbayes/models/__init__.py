"""Model backbones: ``PyroModule`` definitions of priors and likelihoods.

A model states what is inferred (a likelihood and a prior) and may offer the
engines optional fast paths (``BayesianModule``'s capabilities). It imports
priors, never inference.
"""

from ._base import BayesianModule, DesignData, ModelData, Start
from ._transforms import constrain, unconstrain
from .beta_bernoulli import BetaBernoulliModel
from .linear import LinearData, LinearRegressionModel
from .logistic import LogisticData, LogisticRegressionModel

__all__ = [
    "BayesianModule",
    "BetaBernoulliModel",
    "DesignData",
    "LinearData",
    "LinearRegressionModel",
    "LogisticData",
    "LogisticRegressionModel",
    "ModelData",
    "Start",
    "constrain",
    "unconstrain",
]
