"""Fitted skbayes estimators, bare or as the last step of a ``Pipeline``.

``skbayes.summary`` and the functions of ``skbayes.plotting`` take either. A
``Pipeline`` is unwrapped to its last step (through nested pipelines), which
must be a fitted skbayes estimator; inputs ``X`` then go through the steps
before it, as ``Pipeline.predict`` sends them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline

from .estimators._base import BayesianEstimator

if TYPE_CHECKING:
    from .posterior import PosteriorSummary

__all__ = ["split_pipeline", "summary"]


def split_pipeline(
    estimator, caller: str = "skbayes"
) -> tuple[BayesianEstimator, Callable]:
    """The fitted skbayes estimator in ``estimator``, and what feeds its ``X``.

    Parameters
    ----------
    estimator : skbayes estimator or sklearn.pipeline.Pipeline
        A fitted skbayes estimator, or a fitted pipeline whose last step is
        one (a nested pipeline's last step counts).
    caller : str
        Named in the errors: the function that was given ``estimator``.

    Returns
    -------
    final : skbayes estimator
        ``estimator`` itself, or the pipeline's last step.
    transform : callable
        ``X -> X`` as the final estimator takes it: the ``transform`` of every
        step before it (the identity for a bare estimator).

    Raises
    ------
    TypeError
        When ``estimator`` is neither a skbayes estimator nor a pipeline
        ending in one; the message names the offending step.
    sklearn.exceptions.NotFittedError
        (a ``ValueError``) when the skbayes estimator is not fitted.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skbayes import BayesianLinearRegression
    >>> X = np.arange(20.0).reshape(10, 2)
    >>> pipe = make_pipeline(StandardScaler(), BayesianLinearRegression())
    >>> split_pipeline(pipe)
    Traceback (most recent call last):
    ...
    sklearn.exceptions.NotFittedError: skbayes: the Pipeline's last step \
'bayesianlinearregression' (BayesianLinearRegression) is not fitted yet; \
call fit on the pipeline first.
    >>> _ = pipe.set_params(bayesianlinearregression__num_samples=50)
    >>> final, transform = split_pipeline(pipe.fit(X, X[:, 0]))
    >>> final is pipe[-1], transform(X[:2]).round(2).tolist()
    (True, [[-1.57, -1.57], [-1.22, -1.22]])
    """
    transforms = []
    final, where = estimator, None
    while isinstance(final, Pipeline):
        if len(final.steps) > 1:
            transforms.append(final[:-1])
        where, final = final.steps[-1]
    if not isinstance(final, BayesianEstimator):
        if where is None:
            raise TypeError(
                f"{caller} needs a fitted skbayes estimator, or a Pipeline whose "
                f"last step is one; got {type(final).__name__}."
            )
        shown = repr(final) if isinstance(final, str) or final is None else None
        raise TypeError(
            f"{caller} needs a Pipeline whose last step is a skbayes estimator; "
            f"its last step {where!r} is {shown or type(final).__name__}."
        )
    if not final.__sklearn_is_fitted__():
        name = type(final).__name__
        raise NotFittedError(
            f"{caller}: this {name} is not fitted yet; call fit first."
            if where is None
            else f"{caller}: the Pipeline's last step {where!r} ({name}) is not "
            "fitted yet; call fit on the pipeline first."
        )

    def transform(X):
        for steps in transforms:
            X = steps.transform(X)
        return X

    return final, transform


def summary(estimator) -> PosteriorSummary:
    """Posterior summary of a fitted skbayes estimator or pipeline ending in one.

    The same table as ``estimator.summary()`` (for a pipeline, as its last
    step's ``summary()``): mean, sd and 2.5/50/97.5% quantiles of every
    site, and ``n_eff`` and ``r_hat`` for MCMC fits. Rows are labelled by the
    feature names the final estimator saw: to keep a DataFrame's column
    names through the steps before it, call
    ``pipeline.set_output(transform="pandas")`` before fitting.

    Parameters
    ----------
    estimator : skbayes estimator or sklearn.pipeline.Pipeline
        Fitted; a pipeline's last step must be a skbayes estimator.

    Returns
    -------
    PosteriorSummary
        Printable table; ``to_dict()`` and ``to_pandas()`` convert it.

    Raises
    ------
    TypeError
        When ``estimator`` is not, or does not end in, a skbayes estimator.
    sklearn.exceptions.NotFittedError
        When that estimator is not fitted.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> import skbayes
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(30, 2)), columns=["age", "dose"])
    >>> y = 2 * X["dose"] + rng.normal(size=30)
    >>> pipe = make_pipeline(
    ...     StandardScaler(), skbayes.BayesianLinearRegression(random_state=0)
    ... ).set_output(transform="pandas")
    >>> table = skbayes.summary(pipe.fit(X, y))
    >>> [row for row in table.rows if row.startswith("coef")]
    ['coef[age]', 'coef[dose]']
    >>> table.to_dict() == pipe[-1].summary().to_dict()
    True
    """
    final, _ = split_pipeline(estimator, "summary")
    return final.summary()
