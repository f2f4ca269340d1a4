"""Estimator behaviour: fit, predict, intervals, pickling, search, errors."""
