"""sklearn-facing estimators."""

from ._beta_bernoulli import BetaBernoulliEstimator
from ._linear import BayesianLinearRegression, HorseshoeRegression
from ._logistic import BayesianLogisticRegression

__all__ = [
    "BayesianLinearRegression",
    "BayesianLogisticRegression",
    "BetaBernoulliEstimator",
    "HorseshoeRegression",
]
