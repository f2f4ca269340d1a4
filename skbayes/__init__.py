"""skbayes: Bayesian regression and classification with a scikit-learn interface."""

from ._pipelines import summary
from ._serialization import trusted_types
from .estimators import (
    BayesianLinearRegression,
    BayesianLogisticRegression,
    BetaBernoulliEstimator,
    HorseshoeRegression,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "BayesianLinearRegression",
    "BayesianLogisticRegression",
    "BetaBernoulliEstimator",
    "HorseshoeRegression",
    "__version__",
    "summary",
    "trusted_types",
]
