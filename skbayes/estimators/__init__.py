"""sklearn-facing estimators."""

from ._beta_bernoulli import BetaBernoulliEstimator
from ._linear import BayesianLinearRegression, HorseshoeRegression

__all__ = ["BayesianLinearRegression", "BetaBernoulliEstimator", "HorseshoeRegression"]
