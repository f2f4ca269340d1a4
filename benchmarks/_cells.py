"""The data sets and the per-cell tasks of ``compare_priors.py``.

A task fits one method on one cell (a data set, a fold) and returns its
metrics as a dict. Tasks run in :class:`_common.CellRunner`'s child process,
so they are module-level functions with picklable arguments, and they import
skbayes inside the function: the child imports it from the run's snapshot.
"""

from __future__ import annotations

import math
import time

import numpy as np
from _common import (
    METHODS,
    coef_intervals,
    fit_timed,
    interval_metrics,
    make_estimator,
    max_rhat,
    predictive_lpd,
    rmse,
    z_value,
)
from _config import NOISE, PRIORS, SPARSITIES

# -- data ---------------------------------------------------------------------


def n_nonzero_for(sparsity: str, d: int) -> int:
    """Number of non-zero coefficients of a sparsity setting at ``d``."""
    k = SPARSITIES[sparsity]
    return d // 2 if k is None else min(k, d)


def synthetic_data(sparsity: str, d: int, n: int, seed: int, n_test: int):
    """Training and test sets that share one coefficient vector.

    The tutorial's generator draws the coefficients first, then X and the
    noise, so drawing ``n + n_test`` rows and splitting gives a test set from
    the same coefficients.

    Returns
    -------
    X, y, X_test, y_test, coef
    """
    from skbayes.datasets import make_sparse_regression

    X, y, coef = make_sparse_regression(
        n + n_test,
        d,
        n_nonzero=n_nonzero_for(sparsity, d),
        noise=NOISE,
        random_state=seed,
    )
    return X[:n], y[:n], X[n:], y[n:], coef


def real_data(name: str):
    """The diabetes data, plain or with degree-2 polynomial features."""
    from sklearn.datasets import load_diabetes
    from sklearn.preprocessing import PolynomialFeatures

    X, y = load_diabetes(return_X_y=True)
    if name == "diabetes_poly2":
        X = PolynomialFeatures(degree=2, include_bias=False).fit_transform(X)
    elif name != "diabetes":
        raise ValueError(f"unknown data set {name!r}")
    return X, y


def grid_data(kind: str, d: int, n: int, noise: float, seed: int):
    """GridSearchCV example data: ``"sparse"`` (5 non-zero) or ``"dense"``.

    Both use the tutorial's generator; ``"dense"`` makes every coefficient
    non-zero.
    """
    from skbayes.datasets import make_sparse_regression

    k = {"sparse": 5, "dense": d}[kind]
    return make_sparse_regression(n, d, n_nonzero=k, noise=noise, random_state=seed)


# -- tasks (run in the worker process) ----------------------------------------


def _nuts_diagnostics(est) -> dict:
    diag = getattr(est, "diagnostics_", None)
    if not diag or "r_hat" not in diag:  # SVI's diagnostics are k-hat
        return {"nuts_divergences": np.nan, "nuts_max_rhat": np.nan}
    return {"nuts_divergences": diag["divergences"], "nuts_max_rhat": max_rhat(diag)}


def _n_iter(est) -> float:
    """Iterations of the fit (the largest, for CV estimators), or NaN."""
    n_iter = getattr(est, "n_iter_", None)
    return np.nan if n_iter is None else float(np.max(n_iter))


def synthetic_task(*, sparsity, d, n, seed, n_test, method, settings) -> dict:
    """Fit one method on one synthetic data set and score it.

    Returns
    -------
    dict
        The metrics of :data:`_config.SYNTHETIC_METRICS` plus the RMSE over
        the zero and non-zero coefficients, ``n_iter`` and NUTS diagnostics.
    """
    X, y, X_test, y_test, coef = synthetic_data(sparsity, d, n, seed, n_test)
    kind = METHODS[method].kind
    est = make_estimator(method, settings, seed)
    fit_time = fit_timed(est, X, y)
    intervals = coef_intervals(est, kind, 0.95)
    cover, width = interval_metrics(coef, *intervals) if intervals else (np.nan,) * 2
    nonzero = coef != 0
    return {
        "coef_rmse": rmse(est.coef_, coef),
        "coef_rmse_nonzero": rmse(est.coef_[nonzero], coef[nonzero]),
        "coef_rmse_zero": rmse(est.coef_[~nonzero], 0.0) if (~nonzero).any() else 0.0,
        "test_rmse": rmse(est.predict(X_test), y_test),
        "test_lpd": predictive_lpd(est, kind, X_test, y_test),
        "coef_coverage_95": cover,
        "coef_interval_width": width,
        "fit_time": fit_time,
        "n_iter": _n_iter(est),
        **_nuts_diagnostics(est),
    }


def _y_interval(est, kind: str, X, coverage: float):
    """Central predictive interval of y for each row, or None."""
    if kind == "gaussian":
        mean, std = est.predict(X, return_std=True)
        half = z_value(coverage) * std
        return mean - half, mean + half
    if kind == "skbayes":
        bounds = est.predict_interval(X, coverage=coverage)
        return bounds[:, 0], bounds[:, 1]
    return None


def real_task(*, dataset, fold, folds, method, settings) -> dict:
    """Fit one method on one cross-validation fold of a real data set.

    X is standardised and y centred and scaled on the training fold; the
    metrics are in y's original units.
    """
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import StandardScaler

    X, y = real_data(dataset)
    train, test = list(KFold(folds, shuffle=True, random_state=0).split(X))[fold]
    scaler = StandardScaler().fit(X[train])
    X_train, X_test = scaler.transform(X[train]), scaler.transform(X[test])
    y_mean, y_scale = float(y[train].mean()), float(y[train].std())
    y_train = (y[train] - y_mean) / y_scale
    y_test = (y[test] - y_mean) / y_scale

    kind = METHODS[method].kind
    est = make_estimator(method, settings, fold)
    fit_time = fit_timed(est, X_train, y_train)
    out = {
        "n_features": X.shape[1],
        "test_rmse": y_scale * rmse(est.predict(X_test), y_test),
        "test_lpd": predictive_lpd(est, kind, X_test, y_test) - math.log(y_scale),
        "fit_time": fit_time,
        **_nuts_diagnostics(est),
    }
    for coverage in (0.90, 0.95):
        bounds = _y_interval(est, kind, X_test, coverage)
        cover, width = interval_metrics(y_test, *bounds) if bounds else (np.nan,) * 2
        out[f"y_coverage_{round(coverage * 100)}"] = cover
        out[f"y_interval_width_{round(coverage * 100)}"] = width * y_scale
    return out


def _describe(prior) -> str:
    """``Name(param=value, ...)`` with every parameter, defaults included."""
    params = ", ".join(f"{k}={v}" for k, v in sorted(prior.get_params().items()))
    return f"{type(prior).__name__}({params})"


def gridsearch_task(*, kind, d, n, noise, cv, seed, settings) -> dict:
    """``GridSearchCV`` over the ``prior`` of BayesianLinearRegression."""
    from sklearn.model_selection import GridSearchCV, KFold

    from skbayes import BayesianLinearRegression
    from skbayes.priors import resolve_coef_prior

    X, y, _ = grid_data(kind, d, n, noise, seed)
    # The warm-up of whatever "auto" runs (NUTS for the Laplace prior): the
    # full settings' 500 is the estimator's default, --quick's keeps the
    # quick run inside its time limit.
    params = {
        "random_state": 0,
        "num_samples": settings.num_samples,
        "num_warmup": settings.nuts_warmup,
    }
    if settings.svi_steps is not None:
        params["num_steps"] = settings.svi_steps
    search = GridSearchCV(
        BayesianLinearRegression(**params),
        {"prior": list(PRIORS)},
        cv=KFold(cv, shuffle=True, random_state=0),
    )
    start = time.perf_counter()
    search.fit(X, y)
    res = search.cv_results_
    return {
        "best_prior": search.best_params_["prior"],
        "priors": [p["prior"] for p in res["params"]],
        "resolved": [_describe(resolve_coef_prior(p["prior"])) for p in res["params"]],
        "mean_test_r2": [float(v) for v in res["mean_test_score"]],
        "std_test_r2": [float(v) for v in res["std_test_score"]],
        "split_test_r2": [
            [float(res[f"split{k}_test_score"][i]) for k in range(cv)]
            for i in range(len(res["params"]))
        ],
        "mean_fit_time": [float(v) for v in res["mean_fit_time"]],
        "total_time": time.perf_counter() - start,
    }


def figure_task(*, d, n, seed, settings) -> dict:
    """Posterior medians and 95% intervals of the normal and horseshoe fits."""
    from skbayes.datasets import make_sparse_regression

    X, y, coef = make_sparse_regression(n, d, noise=NOISE, random_state=seed)
    out = {"coef": coef.tolist()}
    for method in ("normal_svi", "horseshoe_svi"):
        est = make_estimator(method, settings, seed)
        fit_time = fit_timed(est, X, y)
        draws = est.posterior_samples_["coef"]
        lower, median, upper = np.quantile(draws, [0.025, 0.5, 0.975], axis=0)
        cover, width = interval_metrics(coef, lower, upper)
        out[method] = {
            "median": median.tolist(),
            "lower": lower.tolist(),
            "upper": upper.tolist(),
            "coef_rmse": rmse(est.coef_, coef),
            "coef_coverage_95": cover,
            "coef_interval_width": width,
            "fit_time": fit_time,
        }
    return out
