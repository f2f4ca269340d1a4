"""Scoring with uncertainty: proper scores of predictive draws, and sklearn scorers.

The metrics take arrays, so they work for any estimator and any engine:

* ``crps(y_true, y_draws)``: the continuous ranked probability score of
  posterior-predictive draws (as ``sample_posterior_predictive`` returns
  them), lower is better;
* ``mean_log_predictive_density(log_likelihood_draws)``: the log pointwise
  predictive density of the draws of ``log p(y_i | theta_s)``
  (``pointwise_log_likelihood`` forms them from a fitted estimator), higher
  is better;
* ``interval_coverage(y_true, interval)`` and ``interval_width(interval)``:
  the share of targets inside intervals as ``predict_interval`` returns them,
  and their mean width.

The scorers are callables ``scorer(estimator, X, y) -> float``, greater is
better, so they can be passed as ``scoring=`` to ``GridSearchCV``,
``cross_validate`` and ``cross_val_score``, alone or in a dict:
``log_predictive_density_scorer``, ``crps_scorer``, ``coverage_scorer`` and
``interval_width_scorer``, or ``make_predictive_scorer`` for other settings.
They accept a fitted ``Pipeline`` whose last step is the estimator.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from scipy.special import logsumexp
from sklearn.base import is_classifier, is_regressor
from sklearn.pipeline import Pipeline

from ._runtime import make_seed
from .estimators import BayesianLogisticRegression, BetaBernoulliEstimator
from .estimators._linear import _BayesianLinearBase
from .estimators._logistic import label_indices

__all__ = [
    "PredictiveScorer",
    "coverage_scorer",
    "crps",
    "crps_scorer",
    "interval_coverage",
    "interval_width",
    "interval_width_scorer",
    "log_predictive_density_scorer",
    "make_predictive_scorer",
    "mean_log_predictive_density",
    "pointwise_log_likelihood",
]

# Draws times rows held at once when a scorer or ``pointwise_log_likelihood``
# forms draws block by block: 2**22 float64 entries, 32 MiB.
_BLOCK_ENTRIES = 2**22


# -- checks --------------------------------------------------------------------
def _as_float_array(value, name: str, ndim: int) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric; got dtype {array.dtype}.")
    if array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional; got shape {array.shape}.")
    array = array.astype(np.float64, copy=False)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return array


def _check_weight(sample_weight, n: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    weight = _as_float_array(sample_weight, "sample_weight", 1)
    if len(weight) != n:
        raise ValueError(
            f"sample_weight has {len(weight)} entries for {n} rows of y_true."
        )
    if np.any(weight < 0) or not weight.sum() > 0:
        raise ValueError("sample_weight must be non-negative with a positive sum.")
    return weight


def _mean(values: np.ndarray, weight: np.ndarray | None) -> float:
    return float(np.average(values, weights=weight))


def _check_interval(interval) -> np.ndarray:
    array = np.asarray(interval)
    if array.ndim not in (2, 3) or array.shape[-1] != 2:
        raise ValueError(
            "interval must have shape (n_samples, 2) or (n_coverages, n_samples, "
            f"2), as predict_interval returns; got shape {array.shape}."
        )
    array = _as_float_array(array, "interval", array.ndim)
    if np.any(array[..., 0] > array[..., 1]):
        raise ValueError("interval has a lower bound above its upper bound.")
    return array


# -- metrics -------------------------------------------------------------------
def crps(
    y_true, y_draws, *, sample_weight=None, pointwise: bool = False
) -> float | np.ndarray:
    """Continuous ranked probability score of predictive draws; lower is better.

    ``CRPS(F, y) = E|Y - y| - E|Y - Y'| / 2`` for independent ``Y, Y' ~ F``
    (Gneiting and Raftery 2007, eq. 21), estimated from the S draws of each
    row by the "NRG" (energy) form: both expectations are averages over the
    draws, the second over all S**2 ordered pairs, including each draw with
    itself. That is exactly the CRPS of the empirical distribution of the
    draws; as an estimate of the CRPS of F it is biased upwards by
    ``E|Y - Y'| / (2 S)`` (about 5.6e-4 for a unit normal and S = 1000).
    With the draws of a row sorted, ``x_(1) <= ... <= x_(S)``,
    ``sum_ij |x_i - x_j| = 2 sum_i (2 i - S - 1) x_(i)``, so each row costs
    O(S log S). For a point forecast (all draws equal) the CRPS is the
    absolute error.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Observed targets.
    y_draws : array-like of shape (num_draws, n_samples)
        Predictive draws of each target, one row per draw, as
        ``sample_posterior_predictive`` returns them.
    sample_weight : array-like of shape (n_samples,), optional
        Weights of the rows in the mean.
    pointwise : bool, default=False
        Return the score of each row instead of their mean.

    Returns
    -------
    float, or ndarray of shape (n_samples,) when ``pointwise``

    Examples
    --------
    >>> import numpy as np
    >>> from skbayes.metrics import crps
    >>> draws = np.array([[0.0, 2.0], [1.0, 2.0]])  # 2 draws, 2 rows
    >>> crps([0.0, 1.0], draws, pointwise=True)  # 0.5 - 0.25; a point: |2 - 1|
    array([0.25, 1.  ])
    >>> float(crps([0.0, 1.0], draws))
    0.625
    """
    y_true = _as_float_array(y_true, "y_true", 1)
    draws = _as_float_array(y_draws, "y_draws", 2)
    if draws.shape[1] != len(y_true) or len(draws) == 0:
        raise ValueError(
            f"y_draws must have shape (num_draws >= 1, {len(y_true)}) for "
            f"{len(y_true)} targets; got {draws.shape}."
        )
    weight = _check_weight(sample_weight, len(y_true))
    scores = _crps_rows(y_true, draws)
    return scores if pointwise else _mean(scores, weight)


def _crps_rows(y_true: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """NRG CRPS of each column of ``draws`` (S, n) against ``y_true`` (n,)."""
    num = len(draws)
    to_target = np.abs(draws - y_true).mean(0)
    # E|Y - Y'| over all S**2 pairs = 2 / S**2 sum_i (2 i - S - 1) x_(i).
    ranks = 2 * np.arange(1, num + 1) - num - 1
    spread = 2 * (ranks @ np.sort(draws, axis=0)) / num**2
    return to_target - spread / 2


def mean_log_predictive_density(
    log_likelihood_draws, *, sample_weight=None, pointwise: bool = False
) -> float | np.ndarray:
    """Log pointwise predictive density from log-likelihood draws; higher is better.

    For each row, ``lppd_i = log( mean_s p(y_i | theta_s) )
    = logsumexp_s log p(y_i | theta_s) - log S``, the log of the
    posterior-predictive density at the observed ``y_i`` (Gelman, Hwang and
    Vehtari 2014), computed without leaving the log scale, so it is exact
    even where every ``p(y_i | theta_s)`` underflows. On held-out data its
    mean is the expected log predictive density that cross-validation
    estimates.

    Parameters
    ----------
    log_likelihood_draws : array-like of shape (num_draws, n_samples)
        ``log p(y_i | theta_s)`` for posterior draws ``theta_s``;
        ``pointwise_log_likelihood`` forms them from a fitted estimator.
        ``-inf`` (a target the draw says is impossible) is allowed.
    sample_weight : array-like of shape (n_samples,), optional
        Weights of the rows in the mean.
    pointwise : bool, default=False
        Return ``lppd_i`` of each row instead of their mean.

    Returns
    -------
    float, or ndarray of shape (n_samples,) when ``pointwise``

    Examples
    --------
    >>> import numpy as np
    >>> from skbayes.metrics import mean_log_predictive_density
    >>> log_lik = np.log([[0.2, 0.5], [0.4, 0.5]])  # 2 draws, 2 rows
    >>> np.exp(mean_log_predictive_density(log_lik, pointwise=True))
    array([0.3, 0.5])
    >>> float(mean_log_predictive_density([[-1000.0], [-1000.0]]))  # no underflow
    -1000.0
    """
    log_lik = np.asarray(log_likelihood_draws)
    if log_lik.dtype.kind not in "biuf" or log_lik.ndim != 2 or len(log_lik) == 0:
        raise ValueError(
            "log_likelihood_draws must be a numeric array of shape (num_draws >= 1, "
            f"n_samples); got shape {log_lik.shape}, dtype {log_lik.dtype}."
        )
    log_lik = log_lik.astype(np.float64, copy=False)
    if np.any(np.isnan(log_lik) | (log_lik == np.inf)):
        raise ValueError("log_likelihood_draws contains NaN or +inf values.")
    weight = _check_weight(sample_weight, log_lik.shape[1])
    with np.errstate(divide="ignore"):  # a row of -inf gives -inf
        lppd = logsumexp(log_lik, axis=0) - np.log(len(log_lik))
    return lppd if pointwise else _mean(lppd, weight)


def interval_coverage(y_true, interval, *, sample_weight=None) -> float | np.ndarray:
    """Share of targets inside their intervals, bounds included.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Observed targets.
    interval : array-like of shape (n_samples, 2) or (n_coverages, n_samples, 2)
        Lower and upper bounds, as ``predict_interval(X, coverage)`` returns
        them for one coverage or a list of them.
    sample_weight : array-like of shape (n_samples,), optional
        Weights of the rows.

    Returns
    -------
    float, or ndarray of shape (n_coverages,) for a stack of intervals
        Compare it with the nominal coverage: well-calibrated intervals of
        coverage 0.9 hold about 90% of new targets.

    Examples
    --------
    >>> import numpy as np
    >>> from skbayes.metrics import interval_coverage
    >>> interval = np.array([[0.0, 1.0], [0.0, 1.0], [2.0, 3.0], [2.0, 3.0]])
    >>> float(interval_coverage([0.5, 1.0, 1.0, 4.0], interval))
    0.5
    """
    y_true = _as_float_array(y_true, "y_true", 1)
    bounds = _check_interval(interval)
    if bounds.shape[-2] != len(y_true):
        raise ValueError(
            f"interval has {bounds.shape[-2]} rows for {len(y_true)} targets."
        )
    weight = _check_weight(sample_weight, len(y_true))
    inside = (bounds[..., 0] <= y_true) & (y_true <= bounds[..., 1])
    share = np.average(inside, axis=-1, weights=weight)
    return float(share) if share.ndim == 0 else share


def interval_width(interval, *, sample_weight=None) -> float | np.ndarray:
    """Mean width of intervals; narrower is sharper, at the same coverage.

    Parameters
    ----------
    interval : array-like of shape (n_samples, 2) or (n_coverages, n_samples, 2)
        Lower and upper bounds, as ``predict_interval`` returns them.
    sample_weight : array-like of shape (n_samples,), optional
        Weights of the rows.

    Returns
    -------
    float, or ndarray of shape (n_coverages,) for a stack of intervals

    Examples
    --------
    >>> import numpy as np
    >>> from skbayes.metrics import interval_width
    >>> float(interval_width(np.array([[0.0, 1.0], [2.0, 5.0]])))
    2.0
    """
    bounds = _check_interval(interval)
    weight = _check_weight(sample_weight, bounds.shape[-2])
    width = np.average(bounds[..., 1] - bounds[..., 0], axis=-1, weights=weight)
    return float(width) if width.ndim == 0 else width


# -- from a fitted estimator ----------------------------------------------------
def _final_step(estimator, X):
    """The estimator that predicts, and X as it sees it (through a Pipeline)."""
    while isinstance(estimator, Pipeline):
        if len(estimator) > 1:
            X = estimator[:-1].transform(X)
        estimator = estimator[-1]
    return estimator, X


def _regression_targets(y, n: int) -> np.ndarray:
    if y is None:
        raise ValueError("the regression scores need the targets y; got None.")
    y = _as_float_array(np.ravel(y) if np.ndim(y) == 2 else y, "y", 1)
    if len(y) != n:
        raise ValueError(f"y has {len(y)} entries for {n} rows of X.")
    return y


def _class_indices(estimator, y, n: int) -> np.ndarray:
    if y is None:
        raise ValueError("the log predictive density needs the labels y; got None.")
    return label_indices(estimator.classes_, y, n)


def _blocks(n: int, num_samples: int):
    size = max(1, _BLOCK_ENTRIES // max(num_samples, 1))
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def _log_likelihood_blocks(estimator, X, y, num_samples: int, seed: int):
    """Yield ``(rows, log p(y_rows | theta_s))``, shape (num_samples, rows).

    The draws are those of ``sample_posterior(num_samples, seed)``; the
    estimator's ``_log_likelihood`` knows its likelihood.
    """
    X, y = np.asarray(X), np.asarray(y)
    draws = estimator._draw_posterior(num_samples, make_seed(seed))
    for rows in _blocks(len(X), num_samples):
        yield rows, estimator._log_likelihood(X[rows], y[rows], draws)


def _one_seed(random_state):
    """The seed to hand every block's draws, so that they share posterior draws.

    An integer is passed on as it is: the draws are then exactly those of
    ``sample_posterior(num_samples, random_state)`` (or of
    ``sample_posterior_predictive``). A generator is drawn from once.
    """
    if isinstance(random_state, Integral) and not isinstance(random_state, bool):
        return int(random_state)
    return make_seed(random_state)


def _check_count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def pointwise_log_likelihood(
    estimator, X, y, *, num_samples: int = 1000, random_state=0
) -> np.ndarray:
    """Log-likelihood of each row at posterior draws: ``log p(y_i | theta_s)``.

    For ``BayesianLinearRegression`` and ``HorseshoeRegression``,
    ``log Normal(y_i | x_i @ coef_s + intercept_s, noise_scale_s**2)``; for
    ``BayesianLogisticRegression``, the log-probability of the observed class
    under draw s. The draws are ``estimator.sample_posterior(num_samples,
    random_state)``. ``mean_log_predictive_density`` of the result is the log
    pointwise predictive density.

    Parameters
    ----------
    estimator : estimator
        A fitted ``BayesianLinearRegression``, ``HorseshoeRegression`` or
        ``BayesianLogisticRegression``, or a fitted ``Pipeline`` ending in one.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Observed targets, or class labels from ``classes_``.
    num_samples : int, default=1000
        Number of posterior draws.
    random_state : int, RandomState instance or None, default=0
        Seed of the posterior draws.

    Returns
    -------
    ndarray of shape (num_samples, n_samples)

    Examples
    --------
    >>> import numpy as np
    >>> from skbayes import BayesianLinearRegression
    >>> from skbayes.metrics import (
    ...     mean_log_predictive_density,
    ...     pointwise_log_likelihood,
    ... )
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 2))
    >>> y = X @ np.array([1.0, -2.0]) + 0.5 * rng.normal(size=50)
    >>> reg = BayesianLinearRegression(random_state=0).fit(X, y)
    >>> log_lik = pointwise_log_likelihood(reg, X, y, num_samples=500)
    >>> log_lik.shape
    (500, 50)
    >>> round(mean_log_predictive_density(log_lik), 2)
    -0.67
    """
    num_samples = _check_count(num_samples, "num_samples")
    estimator, X = _final_step(estimator, X)
    X = _validated_X(estimator, X, "pointwise_log_likelihood")
    y = _targets_for_density(estimator, y, len(X))
    out = np.empty((num_samples, len(X)))
    seed = _one_seed(random_state)
    for rows, block in _log_likelihood_blocks(estimator, X, y, num_samples, seed):
        out[:, rows] = block
    return out


def _validated_X(estimator, X, caller: str) -> np.ndarray:
    """X validated by the estimator itself; a clear error for other estimators."""
    if isinstance(estimator, (_BayesianLinearBase, BayesianLogisticRegression)):
        return estimator._check_X(X)
    raise ValueError(
        f"{caller} needs a fitted BayesianLinearRegression, HorseshoeRegression or "
        f"BayesianLogisticRegression (or a Pipeline ending in one); got "
        f"{type(estimator).__name__}."
    )


def _targets_for_density(estimator, y, n: int) -> np.ndarray:
    if is_classifier(estimator):
        return _class_indices(estimator, y, n)
    return _regression_targets(y, n)


# -- scorers -------------------------------------------------------------------
_METRICS = {
    "log_predictive_density": "mean log predictive density",
    "crps": "negated CRPS",
    "coverage": "negated absolute coverage error",
    "interval_width": "negated mean interval width",
}


class PredictiveScorer:
    """An sklearn scorer of the predictive distribution; greater is better.

    ``scorer(estimator, X, y)`` fits nothing: it scores a fitted estimator (or
    a fitted ``Pipeline`` ending in one) on ``(X, y)``, so it can be passed
    as ``scoring=`` to ``GridSearchCV``, ``cross_validate`` and
    ``cross_val_score``, alone or as a value of a dict. Make one with
    ``make_predictive_scorer``, or use the module's
    ``log_predictive_density_scorer``, ``crps_scorer``, ``coverage_scorer``
    and ``interval_width_scorer``.

    Parameters
    ----------
    metric : {"log_predictive_density", "crps", "coverage", "interval_width"}
        ``"log_predictive_density"``: ``mean_log_predictive_density`` of the
        exact pointwise likelihood at ``num_samples`` posterior draws (for
        ``BayesianLogisticRegression``, the mean log of ``predict_proba`` at
        the true class; for ``BetaBernoulliEstimator``, the mean of
        ``score_samples(X)``, and y is ignored). ``"crps"``: minus ``crps``
        of ``num_samples`` draws of ``sample_posterior_predictive``.
        ``"coverage"``: minus ``|interval_coverage - coverage|`` of
        ``predict_interval(X, coverage)``, so that a search prefers
        calibrated intervals, too wide or too narrow. ``"interval_width"``:
        minus ``interval_width`` of the same intervals; it rewards narrow
        intervals whether or not they cover, so read it beside the coverage.
        CRPS and the intervals are for regressors; on a classifier they raise
        a ``ValueError``.
    coverage : float, default=0.9
        The intervals' nominal coverage, in (0, 1).
    num_samples : int, default=1000
        Posterior (predictive) draws for the CRPS and log density.
    random_state : int, RandomState instance or None, default=0
        Seed of those draws; the fixed default makes every score
        reproducible. ``predict_interval`` uses the fit's own seed.

    Examples
    --------
    >>> from skbayes.metrics import PredictiveScorer, crps_scorer
    >>> crps_scorer
    PredictiveScorer('crps', num_samples=1000, random_state=0)
    >>> PredictiveScorer("coverage", coverage=0.5)
    PredictiveScorer('coverage', coverage=0.5)
    """

    def __init__(
        self,
        metric: str,
        *,
        coverage: float = 0.9,
        num_samples: int = 1000,
        random_state=0,
    ):
        if metric not in _METRICS:
            raise ValueError(
                f"metric must be one of {sorted(_METRICS)}; got {metric!r}."
            )
        if not (isinstance(coverage, Real) and 0 < coverage < 1):
            raise ValueError(f"coverage must lie in (0, 1), got {coverage!r}.")
        self.metric = metric
        self.coverage = float(coverage)
        self.num_samples = _check_count(num_samples, "num_samples")
        self.random_state = random_state

    def __repr__(self) -> str:
        if self.metric in ("coverage", "interval_width"):
            options = f"coverage={self.coverage!r}"
        else:
            options = (
                f"num_samples={self.num_samples}, random_state={self.random_state!r}"
            )
        return f"PredictiveScorer({self.metric!r}, {options})"

    def __call__(self, estimator, X, y=None, sample_weight=None) -> float:
        """Score the fitted ``estimator`` on ``(X, y)``; greater is better.

        Parameters
        ----------
        estimator : fitted estimator, or fitted Pipeline ending in one
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        float
        """
        estimator, X = _final_step(estimator, X)
        if self.metric == "log_predictive_density":
            return self._log_density(estimator, X, y, sample_weight)
        name = f"the {self.metric!r} scorer"
        if is_classifier(estimator):
            raise ValueError(
                f"{name} scores real-valued predictions, and "
                f"{type(estimator).__name__} is a classifier; use "
                "log_predictive_density_scorer for classifiers."
            )
        crps_metric = self.metric == "crps"
        method = "sample_posterior_predictive" if crps_metric else "predict_interval"
        if not (is_regressor(estimator) and hasattr(estimator, method)):
            raise ValueError(
                f"{name} needs a regressor with {method} (BayesianLinearRegression, "
                f"HorseshoeRegression, or a Pipeline ending in one); got "
                f"{type(estimator).__name__}."
            )
        if crps_metric:
            return -self._crps(estimator, X, y, sample_weight)
        interval = estimator.predict_interval(X, coverage=self.coverage)
        y = _regression_targets(y, len(interval))
        if self.metric == "coverage":
            share = interval_coverage(y, interval, sample_weight=sample_weight)
            return 0.0 - abs(share - self.coverage)  # 0.0, never -0.0
        return -interval_width(interval, sample_weight=sample_weight)

    def _crps(self, estimator, X, y, sample_weight) -> float:
        n = _num_rows(X)
        y = _regression_targets(y, n)
        weight = _check_weight(sample_weight, n)
        seed = _one_seed(self.random_state)
        scores = np.empty(n)
        for rows in _blocks(n, self.num_samples):
            # One seed for every block: the same posterior draws for all rows.
            draws = estimator.sample_posterior_predictive(
                _take_rows(X, rows), self.num_samples, random_state=seed
            )
            scores[rows] = _crps_rows(y[rows], np.asarray(draws, dtype=np.float64))
        return _mean(scores, weight)

    def _log_density(self, estimator, X, y, sample_weight) -> float:
        if isinstance(estimator, BetaBernoulliEstimator):
            scores = estimator.score_samples(X)
            return _mean(scores, _check_weight(sample_weight, len(scores)))
        if is_classifier(estimator) and hasattr(estimator, "predict_proba"):
            proba = estimator.predict_proba(X)
            index = _class_indices(estimator, y, len(proba))
            weight = _check_weight(sample_weight, len(proba))
            with np.errstate(divide="ignore"):
                return _mean(np.log(proba[np.arange(len(proba)), index]), weight)
        X = _validated_X(estimator, X, "the 'log_predictive_density' scorer")
        y = _regression_targets(y, len(X))
        weight = _check_weight(sample_weight, len(X))
        lppd = np.empty(len(X))
        seed = _one_seed(self.random_state)
        for rows, block in _log_likelihood_blocks(
            estimator, X, y, self.num_samples, seed
        ):
            lppd[rows] = mean_log_predictive_density(block, pointwise=True)
        return _mean(lppd, weight)


def _num_rows(X) -> int:
    return X.shape[0] if hasattr(X, "shape") else len(X)


def _take_rows(X, rows: slice):
    """Rows of an array, a DataFrame (keeping its column names) or a list."""
    if rows == slice(0, _num_rows(X)):
        return X
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]


def make_predictive_scorer(
    metric: str,
    *,
    coverage: float = 0.9,
    num_samples: int = 1000,
    random_state=0,
) -> PredictiveScorer:
    """An sklearn scorer of the predictive distribution, with other settings.

    Parameters
    ----------
    metric : {"log_predictive_density", "crps", "coverage", "interval_width"}
        What to score; see ``PredictiveScorer``.
    coverage : float, default=0.9
        Nominal coverage of the intervals (``"coverage"``,
        ``"interval_width"``).
    num_samples : int, default=1000
        Draws for ``"crps"`` and ``"log_predictive_density"``.
    random_state : int, RandomState instance or None, default=0
        Seed of those draws.

    Returns
    -------
    PredictiveScorer
        ``scorer(estimator, X, y) -> float``, greater is better.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import cross_val_score
    >>> from skbayes import BayesianLinearRegression
    >>> from skbayes.metrics import make_predictive_scorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(90, 2))
    >>> y = X @ np.array([1.0, -2.0]) + rng.normal(size=90)
    >>> scorer = make_predictive_scorer("coverage", coverage=0.5)
    >>> scores = cross_val_score(BayesianLinearRegression(), X, y, scoring=scorer)
    >>> bool(np.all(scores > -0.2))  # 50% intervals hold about half of y
    True
    """
    return PredictiveScorer(
        metric, coverage=coverage, num_samples=num_samples, random_state=random_state
    )


log_predictive_density_scorer = PredictiveScorer("log_predictive_density")
"""Mean log predictive density of held-out targets, at 1,000 posterior draws."""

crps_scorer = PredictiveScorer("crps")
"""Minus the CRPS of 1,000 posterior-predictive draws (0 is a perfect forecast)."""

coverage_scorer = PredictiveScorer("coverage")
"""Minus the absolute coverage error of 90% intervals (0 is calibrated)."""

interval_width_scorer = PredictiveScorer("interval_width")
"""Minus the mean width of 90% intervals; read it beside ``coverage_scorer``."""
