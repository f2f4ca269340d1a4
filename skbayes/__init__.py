"""skbayes: Bayesian linear models with a scikit-learn interface, on Pyro."""

from .estimators import (
    BayesianLinearRegression,
    BetaBernoulliEstimator,
    HorseshoeRegression,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "BayesianLinearRegression",
    "BetaBernoulliEstimator",
    "HorseshoeRegression",
    "__version__",
]
