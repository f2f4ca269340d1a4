"""Compare coefficient priors across problem sizes: the tutorial's exercise.

Sections (``--sections``, all by default):

``synthetic``
    The tutorial's sparse regression (half of the coefficients non-zero) and a
    sparser variant (10 non-zero), over a grid of ``d`` and ``n`` with several
    data seeds, a held-out test set from the same coefficients, and sklearn's
    linear models next to skbayes' normal and horseshoe priors (SVI, NUTS and
    Gibbs).
``real``
    sklearn's diabetes data, plain (d=10) and with degree-2 polynomial
    features (d=65), by K-fold cross-validation.
``gridsearch``
    ``GridSearchCV`` over ``prior`` in ``{"normal", "laplace", "horseshoe"}``
    on sparse and on dense data.
``figure``
    The tutorial's figure: coefficient medians and 95% intervals against the
    true values, Gaussian prior and horseshoe side by side.

Every fit runs in a child process with a time limit; a fit that overruns is
killed and recorded as ``"timeout"``. Results go to ``--out``
(``benchmarks/results`` by default); ``--write-docs`` regenerates
``docs/benchmarks.md`` from whatever results are there.

Examples
--------
Quick smoke run (under a minute)::

    python benchmarks/compare_priors.py --quick --out /tmp/bench

The full benchmark, then the docs::

    OMP_NUM_THREADS=1 python benchmarks/compare_priors.py --write-docs
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from _common import (
    METHODS,
    REPO_ROOT,
    CellRunner,
    Settings,
    coef_intervals,
    command_line,
    fit_timed,
    fmt,
    interval_metrics,
    limit_threads,
    machine_info,
    make_estimator,
    markdown_table,
    max_rhat,
    parse_methods,
    predictive_lpd,
    rmse,
    z_value,
)

DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results"
DEFAULT_DOCS = REPO_ROOT / "docs" / "benchmarks.md"
SECTIONS = ("synthetic", "real", "gridsearch", "figure")

#: Number of non-zero coefficients: ``None`` is the tutorial's half.
SPARSITIES = {"half": None, "sparse10": 10}
SPARSITY_TITLES = {
    "half": "tutorial generator, half of the coefficients non-zero",
    "sparse10": "10 non-zero coefficients",
}
NOISE = 0.5  # the tutorial's noise standard deviation

SYNTHETIC_METRICS = (
    "coef_rmse",
    "test_rmse",
    "test_lpd",
    "coef_coverage_95",
    "coef_interval_width",
    "fit_time",
)
REAL_METRICS = ("test_rmse", "test_lpd", "y_coverage_90", "y_coverage_95", "fit_time")
REAL_DATASETS = ("diabetes", "diabetes_poly2")
PRIORS = ("normal", "laplace", "horseshoe")

#: Result files in ``--out``; the plots are ``compare_priors_<sparsity>.png``.
FILES = {
    "synthetic": "compare_priors.csv",
    "medians": "compare_priors_medians.json",
    "real": "compare_priors_real.csv",
    "real_means": "compare_priors_real_means.json",
    "grid": "compare_priors_gridsearch.json",
    "figure_json": "compare_priors_tutorial.json",
    "figure_png": "compare_priors_tutorial.png",
    "meta": "compare_priors_meta.json",
}

QUICK_METHODS = [
    "ridge",
    "lasso_cv",
    "bayesian_ridge",
    "ard",
    "normal_svi",
    "horseshoe_svi",
    "normal_nuts",
    "normal_gibbs",
    "horseshoe_gibbs",
]


@dataclass
class Config:
    """Everything a run needs, after ``--quick`` and the defaults are applied."""

    out: Path
    sections: list[str]
    sparsity: list[str]
    methods: list[str]
    d: list[int]
    n: list[int]
    seeds: int
    n_test: int
    time_limit: float
    fit_time_limit: float
    skip_after_timeout: bool
    settings: Settings
    real_datasets: list[str]
    folds: int
    grid: dict = field(default_factory=dict)
    figure: dict = field(default_factory=dict)
    merge: bool = False


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


# -- tasks (run in the worker process) ----------------------------------------


def _nuts_diagnostics(est) -> dict:
    diag = getattr(est, "diagnostics_", None)
    if not diag:
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
        The metrics of :data:`SYNTHETIC_METRICS` plus the RMSE over the zero
        and non-zero coefficients, ``n_iter`` and NUTS diagnostics.
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


def grid_data(kind: str, d: int, n: int, noise: float, seed: int):
    """GridSearchCV example data: ``"sparse"`` (5 non-zero) or ``"dense"``.

    Both use the tutorial's generator; ``"dense"`` makes every coefficient
    non-zero.
    """
    from skbayes.datasets import make_sparse_regression

    k = {"sparse": 5, "dense": d}[kind]
    return make_sparse_regression(n, d, n_nonzero=k, noise=noise, random_state=seed)


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
    params = {"random_state": 0, "num_samples": settings.num_samples}
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


# -- drivers (run in the main process) ----------------------------------------


def _log(text: str) -> None:
    print(text, flush=True)


def _blocking_timeout(timeouts: list, d: int, n: int):
    """A timed-out cell that ``(d, n)`` is at least as hard as, or None.

    ``(d, n)`` counts as at least as hard as ``(d0, n0)`` when it has as many
    features or more and no more rows per feature (``d / n >= d0 / n0``):
    each gradient costs more and the posterior is no better conditioned.
    More rows per feature can make NUTS much faster (measured: 243 s at
    d=n=50, 23 s at d=50, n=100), so such cells are still run.
    """
    for d0, n0 in timeouts:
        if d >= d0 and d * n0 >= d0 * n:
            return d0, n0
    return None


def _row(base: dict, outcome) -> dict:
    return {
        **base,
        "status": outcome.status,
        **outcome.result,
        "wall_time": outcome.wall_time,
        "error": outcome.error,
    }


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write atomically: runs merging into one folder never read half a file."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    frame.to_csv(partial, index=False)
    os.replace(partial, path)


def _merge(path: Path, new: pd.DataFrame, keys: list[str], merge: bool) -> pd.DataFrame:
    """Replace the rows of ``new``'s keys in the CSV at ``path`` (``--merge``)."""
    if not merge or not path.exists() or new.empty:
        return new
    old = pd.read_csv(path, keep_default_na=True)
    index_new = pd.MultiIndex.from_frame(new[keys].astype(str))
    index_old = pd.MultiIndex.from_frame(old[keys].astype(str))
    kept = old[~index_old.isin(index_new)]
    return pd.concat([kept, new], ignore_index=True)


def run_synthetic(cfg: Config, runner: CellRunner) -> pd.DataFrame:
    """Every method on every (sparsity, d, n, seed); writes the CSV as it goes."""
    path = cfg.out / FILES["synthetic"]
    rows: list[dict] = []
    timeouts: dict[tuple, list] = {}
    keys = ["sparsity", "d", "n", "seed", "method"]
    for sparsity in cfg.sparsity:
        for d in cfg.d:
            for n in cfg.n:
                for seed in range(cfg.seeds):
                    cell = (sparsity, d, n, seed)
                    for method in cfg.methods:
                        rows.append(
                            _synthetic_cell(cfg, runner, timeouts, *cell, method)
                        )
                # Rewrite after every cell, so an interrupted run keeps its rows.
                _write_csv(_merge(path, pd.DataFrame(rows), keys, cfg.merge), path)
    return pd.read_csv(path)


def _synthetic_cell(cfg, runner, timeouts, sparsity, d, n, seed, method) -> dict:
    """One row of the synthetic CSV: a fit, a timeout or a skip."""
    base = {
        "sparsity": sparsity,
        "n_nonzero": n_nonzero_for(sparsity, d),
        "d": d,
        "n": n,
        "seed": seed,
        "method": method,
        "label": METHODS[method].label,
    }
    blocked = _blocking_timeout(timeouts.get((sparsity, method), []), d, n)
    if blocked and cfg.skip_after_timeout:
        note = f"not run: timed out at d={blocked[0]}, n={blocked[1]}"
        return {**base, "status": "skipped", "error": note}
    limit = cfg.time_limit if METHODS[method].mcmc else cfg.fit_time_limit
    kwargs = {**base, "n_test": cfg.n_test, "settings": cfg.settings}
    del kwargs["n_nonzero"], kwargs["label"]
    outcome = runner.run(synthetic_task, kwargs, limit)
    if outcome.status == "timeout":
        timeouts.setdefault((sparsity, method), []).append((d, n))
    _log(
        f"[synthetic] {sparsity} d={d} n={n} seed={seed} {method}: "
        f"{outcome.status} {outcome.wall_time:.1f} s {outcome.error}"
    )
    return _row(base, outcome)


def run_real(cfg: Config, runner: CellRunner) -> pd.DataFrame:
    """Every method on every fold of the real data sets."""
    path = cfg.out / FILES["real"]
    rows: list[dict] = []
    keys = ["dataset", "fold", "method"]
    for dataset in cfg.real_datasets:
        timed_out = set()
        for fold in range(cfg.folds):
            for method in cfg.methods:
                base = {
                    "dataset": dataset,
                    "fold": fold,
                    "method": method,
                    "label": METHODS[method].label,
                }
                if method in timed_out and cfg.skip_after_timeout:
                    rows.append({**base, "status": "skipped", "error": "timed out"})
                    continue
                limit = cfg.time_limit if METHODS[method].mcmc else cfg.fit_time_limit
                kwargs = {
                    "dataset": dataset,
                    "fold": fold,
                    "folds": cfg.folds,
                    "method": method,
                    "settings": cfg.settings,
                }
                outcome = runner.run(real_task, kwargs, limit)
                if outcome.status == "timeout":
                    timed_out.add(method)
                _log(
                    f"[real] {dataset} fold={fold} {method}: {outcome.status} "
                    f"{outcome.wall_time:.1f} s {outcome.error}"
                )
                rows.append(_row(base, outcome))
        _write_csv(_merge(path, pd.DataFrame(rows), keys, cfg.merge), path)
    return pd.read_csv(path)


def run_gridsearch(cfg: Config, runner: CellRunner) -> dict:
    """GridSearchCV over priors on sparse and on dense data."""
    results = {}
    grid = cfg.grid
    for kind in ("sparse", "dense"):
        kwargs = {**grid, "kind": kind, "settings": cfg.settings}
        limit = cfg.fit_time_limit * (grid["cv"] + 1) * len(PRIORS)
        outcome = runner.run(gridsearch_task, kwargs, limit)
        _log(f"[gridsearch] {kind}: {outcome.status} {outcome.wall_time:.1f} s")
        results[kind] = {
            **grid,
            "n_nonzero": 5 if kind == "sparse" else grid["d"],
            "status": outcome.status,
            "error": outcome.error,
            **outcome.result,
        }
    _write_json(cfg.out / FILES["grid"], results)
    return results


def run_figure(cfg: Config, runner: CellRunner) -> dict:
    """The tutorial's coefficient figure (data and PNG)."""
    kwargs = {**cfg.figure, "settings": cfg.settings}
    outcome = runner.run(figure_task, kwargs, 2 * cfg.fit_time_limit)
    _log(f"[figure] {outcome.status} {outcome.wall_time:.1f} s {outcome.error}")
    result = {**cfg.figure, "status": outcome.status, **outcome.result}
    result["error"] = outcome.error
    _write_json(cfg.out / FILES["figure_json"], result)
    if outcome.status == "ok":
        plot_tutorial_figure(result, cfg.out / FILES["figure_png"])
    return result


# -- summaries ----------------------------------------------------------------


def summarise(frame: pd.DataFrame, keys: list[str], metrics, how: str = "median"):
    """Per-group statistic of the metrics over the ``"ok"`` rows, and counts.

    Returns
    -------
    DataFrame
        One row per group: ``keys``, ``n_runs``, ``n_ok``, ``n_timeout``
        (timeouts and skips after a timeout), ``n_error``, the metrics.
    """
    status = frame["status"]
    counts = frame.assign(
        n_runs=1,
        n_ok=(status == "ok").astype(int),
        n_timeout=status.isin(["timeout", "skipped"]).astype(int),
        n_error=(status == "error").astype(int),
    )
    table = counts.groupby(keys, sort=False)[
        ["n_runs", "n_ok", "n_timeout", "n_error"]
    ].sum()
    ok = frame[status == "ok"]
    cols = [m for m in metrics if m in ok.columns]
    if len(ok) and cols:
        stats = ok.groupby(keys, sort=False)[cols].agg(how)
        table = table.join(stats)
    for metric in metrics:
        if metric not in table.columns:
            table[metric] = np.nan
    return table.reset_index()


def _plain(obj):
    """``obj`` with numpy scalars as Python ones and NaN/inf as None."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (np.integer, np.bool_)):
        return obj.item()
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _write_json(path: Path, data) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(_plain(data), indent=1, allow_nan=False) + "\n")
    os.replace(partial, path)


def write_medians(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Medians over seeds per (sparsity, d, n, method), as JSON."""
    keys = ["sparsity", "n_nonzero", "d", "n", "method", "label"]
    metrics = (*SYNTHETIC_METRICS, "coef_rmse_nonzero", "coef_rmse_zero")
    table = summarise(frame, keys, metrics)
    _write_json(path, table.to_dict(orient="records"))
    return table


def write_real_means(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Means over folds per (dataset, method), as JSON."""
    metrics = (*REAL_METRICS, "y_interval_width_95")
    table = summarise(frame, ["dataset", "method", "label"], metrics, how="mean")
    _write_json(path, table.to_dict(orient="records"))
    return table


# -- plots --------------------------------------------------------------------


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _method_colors(methods) -> dict:
    plt = _pyplot()
    cmap = plt.get_cmap("tab10")
    order = list(METHODS)
    return {m: cmap(order.index(m) % 10) for m in methods}


def plot_synthetic(table: pd.DataFrame, out: Path) -> list[Path]:
    """Coefficient RMSE and coverage against d/n, one figure per sparsity.

    Each point is the median, over the seeds and over the cells with that
    ratio, of the runs that finished.
    """
    plt = _pyplot()
    paths = []
    table = table.assign(ratio=table["d"] / table["n"])
    colors = _method_colors(table["method"].unique())
    for sparsity, part in table.groupby("sparsity", sort=False):
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
        for method, rows in part.groupby("method", sort=False):
            by_ratio = rows.groupby("ratio")[["coef_rmse", "coef_coverage_95"]]
            med = by_ratio.median().dropna(how="all")
            if med.empty:
                continue
            style = {"marker": "o", "color": colors[method], "ms": 4}
            style["ls"] = "--" if METHODS[method].mcmc else "-"
            label = METHODS[method].label
            axes[0].plot(med.index, med["coef_rmse"], label=label, **style)
            if med["coef_coverage_95"].notna().any():
                axes[1].plot(med.index, med["coef_coverage_95"], label=label, **style)
        axes[0].set(xscale="log", yscale="log", ylabel="coefficient RMSE (median)")
        axes[1].axhline(0.95, color="grey", lw=1, ls=":")
        axes[1].set(xscale="log", ylabel="95% interval coverage of true coef")
        axes[1].set_ylim(-0.02, 1.02)
        for ax in axes:
            ax.set_xlabel("d / n")
            ax.grid(alpha=0.3, which="both")
        if axes[0].get_legend_handles_labels()[0]:
            axes[0].legend(fontsize=7)
        else:
            axes[0].text(
                0.5,
                0.5,
                "no run finished",
                ha="center",
                va="center",
                transform=axes[0].transAxes,
            )
        fig.suptitle(f"Synthetic data: {SPARSITY_TITLES.get(sparsity, sparsity)}")
        fig.tight_layout()
        path = out / f"compare_priors_{sparsity}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def plot_tutorial_figure(result: dict, path: Path) -> None:
    """Medians and 95% intervals vs true values, normal and horseshoe."""
    plt = _pyplot()
    coef = np.asarray(result["coef"])
    index = np.arange(len(coef))
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5), sharey=True)
    titles = {"normal_svi": "Gaussian prior N(0, 10²)", "horseshoe_svi": "horseshoe"}
    for ax, method in zip(axes, titles, strict=True):
        fit = result[method]
        median = np.asarray(fit["median"])
        err = [median - np.asarray(fit["lower"]), np.asarray(fit["upper"]) - median]
        ax.errorbar(index, median, yerr=err, fmt="o", ms=3, lw=1, label="median, 95%")
        ax.plot(index, coef, "x", color="crimson", ms=5, label="true value")
        ax.set_title(
            f"{titles[method]}, SVI: coef RMSE {fit['coef_rmse']:.2f}, "
            f"coverage {fit['coef_coverage_95']:.2f}"
        )
        ax.set_xlabel("coefficient index")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("coefficient")
    axes[0].legend(fontsize=8)
    fig.suptitle(
        f"d={result['d']}, n={result['n']}, seed {result['seed']} "
        "(tutorial generator, half non-zero)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -- docs ---------------------------------------------------------------------

DOC_INTRO = """\
# Benchmarks: comparing coefficient priors

This page is generated by `benchmarks/compare_priors.py --write-docs` from the
results in `{out}`; do not edit it by hand. Every number below comes from the
run(s) listed under *Runs*.

**Methods.** sklearn: `Ridge(alpha=1)`, `RidgeCV` (13 alphas, 1e-3 to 1e3),
`Lasso(alpha=0.1)`, `LassoCV` (5-fold), `BayesianRidge`, `ARDRegression`, all
with default settings otherwise. skbayes: `BayesianLinearRegression` (normal
prior N(0, 10²), full-covariance Gaussian guide) and `HorseshoeRegression`
(noise scale as a point estimate, rank-1 low-rank guide), each with SVI, with
NUTS (one chain; the horseshoe's NUTS first fits SVI for the noise scale) and
with the Gibbs sampler (one chain; the horseshoe's point noise scale by
stochastic EM during warm-up). MCMC fits that run past the MCMC time limit are
killed and reported as timeouts;
once a method times out at (d, n), it is not run at the cell's other seeds nor
at cells with d' ≥ d and d'/n' ≥ d/n of the same sparsity (counted as
timeouts too).

**Metrics.** *coef RMSE*: root mean squared error of the posterior mean (or
point estimate) against the true coefficients. *test RMSE*: on a held-out test
set from the same coefficients. *test LPD*: mean log predictive density of the
test targets: Gaussian from `predict(return_std=True)` for BayesianRidge and
ARD, and for skbayes a Gaussian mixture over the posterior draws of
(coef, intercept, noise scale). *coverage*: fraction of true coefficients inside
the central 95% credible intervals (posterior quantiles for skbayes; Gaussian
from `sigma_` for BayesianRidge and ARD, where ARD's pruned coefficients get a
zero-width interval at 0). *width*: mean width of those intervals. *fit time*:
wall time of `fit`, in seconds. A dash means the method has no such quantity or
no run finished.
"""


def _load_json(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def _runs_section(meta: dict) -> str:
    """The command, machine and settings of the runs behind the results.

    Sections run by one command share one entry; ``--merge`` runs add
    entries to the runs they merged into.
    """
    if not meta:
        return ""
    # Keyed by start time and command: two runs started in the same second
    # (one per core) are still two runs.
    invocations: dict[tuple[str, str], list[tuple[str, dict]]] = {}
    for section, runs in meta.items():
        for run in [runs] if isinstance(runs, dict) else runs:
            started = run.get("started", run["machine"]["date"])
            key = (started, run["command"])
            invocations.setdefault(key, []).append((section, run))
    lines = ["## Runs", ""]
    for key in sorted(invocations):
        started, entries = key[0], invocations[key]
        first = entries[0][1]
        mach = first["machine"]
        minutes = sum(run["wall_time_s"] for _, run in entries) / 60
        sections = ", ".join(section for section, _ in entries)
        lines += [
            f"**{sections}**: {minutes:.1f} min, started {started}",
            "",
            "```",
            first["command"],
            "```",
            "",
            f"- machine: `nproc` = {mach['nproc']}, CPU {mach['cpu']}, "
            f"OMP_NUM_THREADS={mach['omp_num_threads'] or 'unset'}",
            f"- versions: Python {mach['python']}, torch {mach['torch']}, "
            f"Pyro {mach['pyro']}, scikit-learn {mach['sklearn']}, "
            f"NumPy {mach['numpy']}",
            f"- code: git {mach['git_commit']}"
            + (
                " with uncommitted changes under `skbayes/`"
                if mach["skbayes_uncommitted_changes"]
                else ""
            ),
        ]
        lines += [
            f"- {section}: {_settings_text(run['settings'])}"
            for section, run in entries
        ]
        prints = {run.get("skbayes_fingerprint") for _, run in entries} - {None}
        if prints:
            lines.append(
                "- skbayes as imported by the fits (a copy taken at the start "
                f"of the run): source hash {', '.join(sorted(prints))}"
            )
        lines.append("")
    return "\n".join(lines)


def _settings_text(settings: dict) -> str:
    parts = []
    for key, value in settings.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
            value = f"({value})"
        parts.append(f"{key}={value}")
    return "; ".join(parts)


def _status_note(row) -> str:
    if row["n_ok"] == row["n_runs"]:
        return f"{int(row['n_ok'])}"
    notes = [f"{int(row['n_ok'])}/{int(row['n_runs'])}"]
    if row["n_timeout"]:
        notes.append(f"{int(row['n_timeout'])} timeout")
    if row["n_error"]:
        notes.append(f"{int(row['n_error'])} error")
    return ", ".join(notes)


def synthetic_table(part: pd.DataFrame) -> str:
    """Markdown table of the medians of one sparsity; best coef RMSE in bold."""
    header = [
        "d",
        "n",
        "method",
        "coef RMSE",
        "test RMSE",
        "test LPD",
        "coverage",
        "width",
        "fit time (s)",
        "runs ok",
    ]
    rows = []
    for (_, _), cell in part.groupby(["d", "n"], sort=True):
        best = cell["coef_rmse"].min()
        for _, row in cell.iterrows():
            coef = fmt_bold(row["coef_rmse"], row["coef_rmse"] == best)
            rows.append(
                [
                    str(row["d"]),
                    str(row["n"]),
                    row["label"],
                    coef,
                    row["test_rmse"],
                    row["test_lpd"],
                    row["coef_coverage_95"],
                    row["coef_interval_width"],
                    row["fit_time"],
                    _status_note(row),
                ]
            )
    return markdown_table(header, rows)


def fmt_bold(value, bold: bool) -> str:
    text = fmt(value)
    return f"**{text}**" if bold and text != "–" else text


def _count(k: int, noun: str) -> str:
    return f"{k} {noun}" + ("" if k == 1 else "s")


def _pivot(part: pd.DataFrame, value: str) -> pd.DataFrame:
    """Cells (d, n) by method, methods in the order of :data:`METHODS`."""
    table = part.pivot_table(index=["d", "n"], columns="method", values=value)
    return table[[m for m in METHODS if m in table.columns]]


def synthetic_findings(part: pd.DataFrame) -> list[str]:
    """Plain-words findings for one sparsity, computed from the medians."""
    pivot = _pivot(part, "coef_rmse")
    if pivot.empty:
        return ["No run finished."]
    lines = [
        "Lowest median coefficient RMSE, cells won (of "
        f"{len(pivot)}): {_winners(pivot.idxmin(axis=1))}."
    ]
    lpd = _pivot(part, "test_lpd")
    if not lpd.empty:
        lines.append(
            f"Highest median test LPD, cells won: {_winners(lpd.idxmax(axis=1))}."
        )
    if "horseshoe_svi" in pivot.columns:
        lines += _horseshoe_findings(part, pivot)
    lines += _coverage_findings(part)
    lines += _time_findings(part)
    return lines


def _winners(best: pd.Series) -> str:
    counts = best.dropna().value_counts()
    return ", ".join(f"{METHODS[m].label} {k}" for m, k in counts.items())


def _cell_list(index) -> str:
    cells = [f"({d}, {n})" for d, n in index]
    return ", ".join(cells) if cells else "none"


def _horseshoe_findings(part, pivot) -> list[str]:
    """Where the horseshoe (SVI) wins and loses on coefficient RMSE."""
    hs = pivot["horseshoe_svi"]
    others = pivot.drop(columns="horseshoe_svi")
    best_other, best_name = others.min(axis=1), others.idxmin(axis=1)
    wins = hs.index[hs <= best_other]
    lines = [
        f"Horseshoe (SVI) has the lowest coefficient RMSE in {len(wins)} of "
        f"{_count(len(pivot), 'cell')} (d, n): {_cell_list(wins)}."
    ]
    loses = hs.index[(hs > 1.1 * best_other) & hs.notna()]
    if len(loses):
        detail = "; ".join(
            f"({d}, {n}): {hs[(d, n)]:.3g} vs {best_other[(d, n)]:.3g} "
            f"({METHODS[best_name[(d, n)]].label})"
            for d, n in loses
        )
        lines.append(
            f"It is more than 10% worse than the best method in "
            f"{_count(len(loses), 'cell')}: {detail}."
        )
    for other in ("normal_svi", "lasso_cv", "ard", "horseshoe_nuts", "horseshoe_gibbs"):
        if other not in pivot.columns:
            continue
        both = pivot[["horseshoe_svi", other]].dropna()
        if both.empty:
            continue
        better = int((both["horseshoe_svi"] < both[other]).sum())
        ratio = float(np.median(both["horseshoe_svi"] / both[other]))
        lines.append(
            f"Against {METHODS[other].label}: lower coefficient RMSE in {better} "
            f"of {_count(len(both), 'cell')} where both finished; median ratio "
            f"horseshoe SVI / {METHODS[other].label} {ratio:.2f}."
        )
    return lines


def _coverage_findings(part) -> list[str]:
    lines = []
    cov = _pivot(part, "coef_coverage_95")
    for method in cov.columns:
        values = cov[method].dropna()
        if len(values):
            lines.append(
                f"95% coverage of the true coefficients, {METHODS[method].label}: "
                f"median {values.median():.2f} over cells, range "
                f"{values.min():.2f} to {values.max():.2f}."
            )
    return lines


def _time_findings(part) -> list[str]:
    times = _pivot(part, "fit_time")
    med = times.median().dropna()
    text = ", ".join(f"{METHODS[m].label} {t:.2g} s" for m, t in med.items())
    lines = [f"Median fit time over cells: {text}."]
    if "horseshoe_svi" in times.columns:
        for other in ("normal_svi", "lasso_cv", "ard"):
            if other in times.columns:
                ratio = (times["horseshoe_svi"] / times[other]).median()
                lines.append(
                    f"Horseshoe (SVI) takes {ratio:.3g} times as long as "
                    f"{METHODS[other].label} (median over cells)."
                )
    for method in ("normal_nuts", "horseshoe_nuts", "normal_gibbs", "horseshoe_gibbs"):
        rows = part[part["method"] == method]
        if len(rows):
            done = rows[rows["n_ok"] > 0]
            cells = _cell_list(zip(done["d"], done["n"], strict=True))
            lines.append(
                f"{METHODS[method].label} finished within the time limit in "
                f"{len(done)} of {_count(len(rows), 'cell')}: {cells}."
            )
    return lines


def real_section(table: pd.DataFrame) -> str:
    """Markdown tables and findings for the real data."""
    names = {
        "diabetes": "diabetes (d=10)",
        "diabetes_poly2": "diabetes, degree-2 polynomial features (d=65)",
    }
    header = [
        "method",
        "test RMSE",
        "test LPD",
        "90% coverage",
        "95% coverage",
        "95% width",
        "fit time (s)",
        "folds ok",
    ]
    out = []
    for dataset, part in table.groupby("dataset", sort=False):
        out += [f"### {names.get(dataset, dataset)}", ""]
        rows = [
            [
                row["label"],
                row["test_rmse"],
                row["test_lpd"],
                row["y_coverage_90"],
                row["y_coverage_95"],
                row["y_interval_width_95"],
                row["fit_time"],
                _status_note(row),
            ]
            for _, row in part.iterrows()
        ]
        out += [markdown_table(header, rows), ""]
        out += [f"- {line}" for line in _real_findings(part)] + [""]
    return "\n".join(out)


def _real_findings(part) -> list[str]:
    lines = []
    part = part.set_index("method")
    if part["test_rmse"].notna().any():
        best = part["test_rmse"].idxmin()
        lines.append(
            f"Lowest test RMSE: {part.loc[best, 'label']} "
            f"({part.loc[best, 'test_rmse']:.4g}); highest: "
            f"{part.loc[part['test_rmse'].idxmax(), 'label']} "
            f"({part['test_rmse'].max():.4g})."
        )
    if part["test_lpd"].notna().any():
        best = part["test_lpd"].idxmax()
        lines.append(
            f"Highest test LPD: {part.loc[best, 'label']} "
            f"({part.loc[best, 'test_lpd']:.4g})."
        )
    if part["y_coverage_95"].notna().any():
        gap = (part["y_coverage_95"] - 0.95).abs()
        best = gap.idxmin()
        lines.append(
            f"95% predictive coverage closest to nominal: {part.loc[best, 'label']} "
            f"({part.loc[best, 'y_coverage_95']:.3f})."
        )
    return lines


def gridsearch_section(results: dict) -> str:
    """Markdown for the GridSearchCV example."""
    out = [
        "```python",
        "GridSearchCV(",
        "    BayesianLinearRegression(),",
        '    {"prior": ["normal", "laplace", "horseshoe"]},',
        "    cv=KFold(cv, shuffle=True, random_state=0),",
        ")  # scoring: R²",
        "```",
        "",
    ]
    for kind, res in results.items():
        what = (
            f"{res['n_nonzero']} of {res['d']} coefficients non-zero"
            if kind == "sparse"
            else f"all {res['d']} coefficients non-zero"
        )
        out.append(
            f"**{kind}** (tutorial generator, {what}, n={res['n']}, "
            f"noise {res['noise']}, seed {res['seed']}, {res['cv']}-fold CV): "
        )
        if res["status"] != "ok":
            out += [f"did not finish ({res['status']}: {res['error']}).", ""]
            continue
        out[-1] += f"picks **{res['best_prior']}** ({res['total_time']:.0f} s in all)."
        out.append("")
        resolved = res.get("resolved", res["priors"])
        rows = [
            [f"`{prior}`: {full}", f"{mean:.4f}", f"{std:.4f}", t]
            for prior, full, mean, std, t in zip(
                res["priors"],
                resolved,
                res["mean_test_r2"],
                res["std_test_r2"],
                res["mean_fit_time"],
                strict=True,
            )
        ]
        header = ["prior (as resolved)", "mean CV R²", "sd over folds", "fit time (s)"]
        out += [markdown_table(header, rows), "", _grid_margin(res), ""]
        if res.get("warnings"):
            out += [f"Warnings: {res['warnings']}", ""]
    return "\n".join(out)


def _grid_margin(res: dict) -> str:
    """How far the chosen prior is ahead of the runner-up, in plain words."""
    order = np.argsort(res["mean_test_r2"])[::-1]
    best, second = int(order[0]), int(order[1])
    gap = res["mean_test_r2"][best] - res["mean_test_r2"][second]
    text = (
        f"`{res['priors'][best]}` leads `{res['priors'][second]}` by {gap:.4f} "
        "in mean CV R²"
    )
    if "split_test_r2" not in res:
        return text + "."
    folds = np.subtract(res["split_test_r2"][best], res["split_test_r2"][second])
    return (
        text + f" and scores higher on {int((folds > 0).sum())} of {len(folds)} folds."
    )


def figure_section(result: dict, image: str) -> str:
    """Markdown for the tutorial's figure: the image and its numbers."""
    if result.get("status") != "ok":
        return f"The figure's fits did not finish: {result.get('error')}.\n"
    lines = [image, ""]
    rows = [
        [
            METHODS[m].label,
            result[m]["coef_rmse"],
            result[m]["coef_coverage_95"],
            result[m]["coef_interval_width"],
            result[m]["fit_time"],
        ]
        for m in ("normal_svi", "horseshoe_svi")
    ]
    header = ["method", "coef RMSE", "coverage", "width", "fit time (s)"]
    lines += [markdown_table(header, rows), ""]
    return "\n".join(lines)


def image_markdown(png: Path, alt: str, docs_dir: Path, figures: Path | None) -> str:
    """An image link that ``mkdocs build --strict`` accepts, or a plain path.

    With ``figures`` (a folder under the docs), the PNG is copied there and
    linked. A PNG already under the docs is linked where it is. Otherwise the
    page names the file: mkdocs rejects links that leave ``docs_dir``.
    """
    import shutil

    if not png.exists():
        return f"(figure `{png.name}` not found)"
    if figures is not None:
        figures.mkdir(parents=True, exist_ok=True)
        target = figures / png.name
        shutil.copyfile(png, target)
        return f"![{alt}]({_rel(target, docs_dir)})"
    if png.resolve().is_relative_to(docs_dir.resolve()):
        return f"![{alt}]({_rel(png, docs_dir)})"
    return f"Figure: `{_shown(png)}`"


def _shown(path: Path) -> str:
    """``path`` relative to the repository when inside it, else absolute."""
    path = path.resolve()
    return _rel(path, REPO_ROOT) if path.is_relative_to(REPO_ROOT) else str(path)


def _rel(path: Path, start: Path) -> str:
    import os

    return Path(os.path.relpath(path, start)).as_posix()


def _warning_summary(frame: pd.DataFrame) -> list[str]:
    if "warnings" not in frame.columns:
        return []
    text = frame["warnings"]
    warned = frame[text.notna() & (text.astype(str) != "")]
    if warned.empty:
        return ["No fit raised a warning."]
    counts = warned.groupby("label")["warnings"].count()
    text = ", ".join(f"{label} {k}" for label, k in counts.items())
    return [f"Fits that raised warnings (recorded in the CSV's `warnings`): {text}."]


def write_docs(out: Path, docs_path: Path, figures: Path | None = None) -> None:
    """Regenerate the benchmark page from the results in ``out``.

    Parameters
    ----------
    out : Path
        The results folder.
    docs_path : Path
        The Markdown page to write.
    figures : Path, optional
        A folder under the docs to copy the PNGs into, so the page can show
        them; without it the page names the PNG files.
    """
    docs_dir = docs_path.parent

    def image(png: Path, alt: str) -> str:
        return image_markdown(png, alt, docs_dir, figures)

    meta = _load_json(out / FILES["meta"]) or {}
    parts = [DOC_INTRO.format(out=_shown(out)), _runs_section(meta)]
    csv = out / FILES["synthetic"]
    if csv.exists():
        frame = pd.read_csv(csv)
        medians = write_medians(frame, out / FILES["medians"])
        parts += [_synthetic_doc(frame, medians, out, image)]
    figure = _load_json(out / FILES["figure_json"])
    if figure:
        parts += [
            "## The tutorial's figure",
            "",
            f"d={figure['d']}, n={figure['n']}, seed {figure['seed']}, SVI.",
            "",
            figure_section(figure, image(out / FILES["figure_png"], "figure")),
        ]
    real = out / FILES["real"]
    if real.exists():
        frame = pd.read_csv(real)
        table = write_real_means(frame, out / FILES["real_means"])
        parts += [
            "## Real data: diabetes",
            "",
            "sklearn's `load_diabetes`; X standardised and y centred and scaled "
            "on each training fold; metrics in y's units, averaged over the "
            "folds. Coverage is of held-out y by central predictive intervals.",
            "",
            real_section(table),
            *[f"- {line}" for line in _warning_summary(frame)],
            "",
        ]
    grid = _load_json(out / FILES["grid"])
    if grid:
        parts += ["## Choosing the prior with GridSearchCV", ""]
        parts += [gridsearch_section(grid)]
    speed = _load_json(out / "speed.json")
    if speed:
        from speed import speed_markdown  # imports torch and skbayes

        parts += [speed_markdown(speed)]
    gpu = _load_json(out / "gpu.json")
    if gpu:
        from gpu import gpu_markdown

        parts += [gpu_markdown(gpu)]
    docs_path.parent.mkdir(parents=True, exist_ok=True)
    docs_path.write_text("\n".join(parts).rstrip() + "\n")
    _log(f"wrote {docs_path}")


def _synthetic_doc(frame, medians, out: Path, image) -> str:
    d_values = sorted(frame["d"].unique())
    n_values = sorted(frame["n"].unique())
    seeds = frame["seed"].nunique()
    lines = [
        "## Synthetic data",
        "",
        f"d ∈ {{{', '.join(map(str, d_values))}}}, "
        f"n ∈ {{{', '.join(map(str, n_values))}}}, {seeds} data seed(s) per "
        f"cell, noise {NOISE}; the test set has its own rows from the same "
        "coefficients. Tables give medians over the seeds of the runs that "
        "finished; the best coefficient RMSE of each cell is in bold.",
        "",
        *[f"- {line}" for line in _warning_summary(frame)],
        "",
    ]
    for sparsity, part in medians.groupby("sparsity", sort=False):
        png = out / f"compare_priors_{sparsity}.png"
        lines += [f"### {SPARSITY_TITLES.get(sparsity, sparsity)}", ""]
        lines += ["Findings:", ""]
        lines += [f"- {line}" for line in synthetic_findings(part)] + [""]
        lines += [image(png, f"coefficient RMSE and coverage, {sparsity}"), ""]
        lines += [synthetic_table(part), ""]
    return "\n".join(lines)


# -- command line -------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--out", type=Path, default=DEFAULT_OUT, help="results folder")
    add("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    add("--sparsity", nargs="+", choices=list(SPARSITIES), default=list(SPARSITIES))
    add("--methods", help=f"comma-separated subset of: {','.join(METHODS)}")
    add("--d", type=int, nargs="+", help="numbers of features [50 100 200 500]")
    add("--n", type=int, nargs="+", help="training set sizes [50 100 200 1000]")
    add("--seeds", type=int, help="data seeds per cell [5]")
    add("--n-test", type=int, help="test rows per data set [1000]")
    add("--time-limit", type=float, help="seconds per MCMC (NUTS, Gibbs) fit [60]")
    add("--fit-time-limit", type=float, help="seconds per other fit [600]")
    add("--num-samples", type=int, help="SVI posterior draws [1000]")
    add("--nuts-samples", type=int, help="NUTS and Gibbs draws [1000]")
    add("--nuts-warmup", type=int, help="NUTS and Gibbs warm-up iterations [500]")
    add("--svi-steps", type=int, help="maximum SVI steps [estimator default]")
    add("--folds", type=int, help="cross-validation folds, real data [5]")
    add(
        "--no-skip",
        action="store_true",
        help="run every cell even after a smaller one timed out",
    )
    add("--quick", action="store_true", help="tiny settings, under a minute")
    add(
        "--merge",
        action="store_true",
        help="keep rows of existing CSVs that this run does not redo",
    )
    add(
        "--write-docs",
        nargs="?",
        type=Path,
        const=DEFAULT_DOCS,
        help=f"regenerate the docs page [{_rel(DEFAULT_DOCS, REPO_ROOT)}]",
    )
    add(
        "--docs-figures",
        type=Path,
        help="copy the PNGs into this folder under docs/ and show them on the page",
    )
    add("--docs-only", action="store_true", help="run nothing, only --write-docs")
    return parser


FULL = {
    "d": [50, 100, 200, 500],
    "n": [50, 100, 200, 1000],
    "seeds": 5,
    "n_test": 1000,
    "time_limit": 60.0,
    "fit_time_limit": 600.0,
    "num_samples": 1000,
    "nuts_samples": 1000,
    "nuts_warmup": 500,
    "svi_steps": None,
    "folds": 5,
    "methods": list(METHODS),
    "real_datasets": list(REAL_DATASETS),
    "grid": {"d": 50, "n": 100, "noise": 2.0, "cv": 5, "seed": 0},
    "figure": {"d": 100, "n": 100, "seed": 0},
}
QUICK = {
    **FULL,
    "d": [30],
    "n": [40],
    "seeds": 1,
    "n_test": 200,
    "time_limit": 20.0,
    "fit_time_limit": 60.0,
    "num_samples": 200,
    "nuts_samples": 50,
    "nuts_warmup": 50,
    "svi_steps": 300,
    "folds": 2,
    "methods": QUICK_METHODS,
    "real_datasets": ["diabetes"],
    "grid": {"d": 20, "n": 40, "noise": 2.0, "cv": 2, "seed": 0},
    "figure": {"d": 30, "n": 40, "seed": 0},
}


def resolve_config(args: argparse.Namespace) -> Config:
    """Apply ``--quick`` or the full defaults to the options left unset."""
    base = QUICK if args.quick else FULL

    def pick(name):
        value = getattr(args, name, None)
        return base[name] if value is None else value

    settings = Settings(
        num_samples=pick("num_samples"),
        nuts_samples=pick("nuts_samples"),
        nuts_warmup=pick("nuts_warmup"),
        svi_steps=pick("svi_steps"),
    )
    return Config(
        out=args.out,
        sections=args.sections,
        sparsity=args.sparsity,
        methods=parse_methods(args.methods, base["methods"]),
        d=pick("d"),
        n=pick("n"),
        seeds=pick("seeds"),
        n_test=pick("n_test"),
        time_limit=pick("time_limit"),
        fit_time_limit=pick("fit_time_limit"),
        skip_after_timeout=not args.no_skip,
        settings=settings,
        real_datasets=base["real_datasets"],
        folds=pick("folds"),
        grid=dict(base["grid"]),
        figure=dict(base["figure"]),
        merge=args.merge,
    )


def _section_settings(cfg: Config, section: str) -> dict:
    common = {
        "methods": ",".join(cfg.methods),
        "MCMC time limit (s)": cfg.time_limit,
        "fit time limit (s)": cfg.fit_time_limit,
        "skbayes": asdict(cfg.settings),
    }
    if section == "synthetic":
        return {
            "sparsity": ",".join(cfg.sparsity),
            "d": cfg.d,
            "n": cfg.n,
            "seeds": cfg.seeds,
            "n_test": cfg.n_test,
            **common,
        }
    if section == "real":
        return {"datasets": ",".join(cfg.real_datasets), "folds": cfg.folds, **common}
    if section == "gridsearch":
        return {**cfg.grid, "skbayes": asdict(cfg.settings)}
    return {**cfg.figure, "skbayes": asdict(cfg.settings)}


def _record_meta(
    cfg: Config, section: str, machine: dict, wall: float, fingerprint: str
) -> None:
    """Add this run to the section's runs (replacing them unless ``--merge``)."""
    path = cfg.out / FILES["meta"]
    meta = _load_json(path) or {}
    # Only the CSV sections merge rows; the others replace their results.
    merged = cfg.merge and section in ("synthetic", "real")
    runs = meta.get(section, []) if merged else []
    runs.append(
        {
            "started": machine["date"],
            "command": command_line(__file__),
            "wall_time_s": wall,
            "machine": machine,
            "settings": _section_settings(cfg, section),
            "skbayes_fingerprint": fingerprint,
        }
    )
    meta[section] = runs
    _write_json(path, meta)


def run_sections(cfg: Config) -> None:
    """Run the chosen sections, writing results, medians and plots."""
    cfg.out.mkdir(parents=True, exist_ok=True)
    drivers = {
        "synthetic": run_synthetic,
        "real": run_real,
        "gridsearch": run_gridsearch,
        "figure": run_figure,
    }
    with CellRunner() as runner:
        # Taken with the runner's snapshot of skbayes: the code that runs.
        machine = machine_info()
        for section in cfg.sections:
            start = time.perf_counter()
            result = drivers[section](cfg, runner)
            if section == "synthetic":
                medians = write_medians(result, cfg.out / FILES["medians"])
                plot_synthetic(medians, cfg.out)
            elif section == "real":
                write_real_means(result, cfg.out / FILES["real_means"])
            wall = time.perf_counter() - start
            _record_meta(cfg, section, machine, wall, runner.fingerprint)
            _log(f"== {section} done in {wall:.1f} s")


def main(argv=None) -> int:
    limit_threads()  # inherited by the worker process, which imports numpy afresh
    args = build_parser().parse_args(argv)
    cfg = resolve_config(args)
    start = time.perf_counter()
    if not args.docs_only:
        run_sections(cfg)
    if args.write_docs is not None:
        write_docs(cfg.out, args.write_docs, args.docs_figures)
    _log(f"total {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
