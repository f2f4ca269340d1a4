"""Drivers of ``compare_priors.py``'s sections, run in the main process.

Each driver submits the section's cells to a :class:`_common.CellRunner`
(one fit at a time, each with a time limit), turns the outcomes into rows
and writes the section's results file.
"""

from __future__ import annotations

import pandas as pd
from _cells import (
    figure_task,
    gridsearch_task,
    n_nonzero_for,
    real_task,
    synthetic_task,
)
from _common import METHODS, CellRunner
from _config import FILES, PRIORS, Config, time_limit_for
from _plots import plot_tutorial_figure
from _results import merge_rows, write_csv, write_json


def log(text: str) -> None:
    """Progress on stdout, flushed: a long run is followed as it goes."""
    print(text, flush=True)


def _log_outcome(what: str, outcome, with_error: bool = True) -> None:
    text = f"{what} {outcome.status} {outcome.wall_time:.1f} s"
    log(f"{text} {outcome.error}" if with_error else text)


def _blocking_timeout(timeouts: list, d: int, n: int):
    """A timed-out cell that ``(d, n)`` is at least as hard as, or None.

    ``(d, n)`` counts as at least as hard as ``(d0, n0)`` when it has as many
    features or more and no more rows per feature (``d / n >= d0 / n0``):
    each gradient costs more and the posterior is no better conditioned.
    More rows per feature can make NUTS much faster, so such cells are still
    run.
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


def _save_rows(cfg: Config, name: str, rows: list[dict], keys: list[str]):
    """Write the rows so far (merged with the file's under ``--merge``)."""
    path = cfg.out / FILES[name]
    write_csv(merge_rows(path, pd.DataFrame(rows), keys, cfg.merge), path)


def run_synthetic(cfg: Config, runner: CellRunner) -> pd.DataFrame:
    """Every method on every (sparsity, d, n, seed); writes the CSV as it goes."""
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
                _save_rows(cfg, "synthetic", rows, keys)
    return pd.read_csv(cfg.out / FILES["synthetic"])


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
    kwargs = {**base, "n_test": cfg.n_test, "settings": cfg.settings}
    del kwargs["n_nonzero"], kwargs["label"]
    outcome = runner.run(synthetic_task, kwargs, time_limit_for(cfg, method))
    if outcome.status == "timeout":
        timeouts.setdefault((sparsity, method), []).append((d, n))
    _log_outcome(f"[synthetic] {sparsity} d={d} n={n} seed={seed} {method}:", outcome)
    return _row(base, outcome)


def run_real(cfg: Config, runner: CellRunner) -> pd.DataFrame:
    """Every method on every fold of the real data sets."""
    rows: list[dict] = []
    keys = ["dataset", "fold", "method"]
    for dataset in cfg.real_datasets:
        timed_out = set()
        for fold in range(cfg.folds):
            for method in cfg.methods:
                rows.append(_real_cell(cfg, runner, timed_out, dataset, fold, method))
        _save_rows(cfg, "real", rows, keys)
    return pd.read_csv(cfg.out / FILES["real"])


def _real_cell(cfg, runner, timed_out: set, dataset, fold, method) -> dict:
    """One row of the real-data CSV: a fit, a timeout or a skip."""
    base = {
        "dataset": dataset,
        "fold": fold,
        "method": method,
        "label": METHODS[method].label,
    }
    if method in timed_out and cfg.skip_after_timeout:
        return {**base, "status": "skipped", "error": "timed out"}
    kwargs = {
        "dataset": dataset,
        "fold": fold,
        "folds": cfg.folds,
        "method": method,
        "settings": cfg.settings,
    }
    outcome = runner.run(real_task, kwargs, time_limit_for(cfg, method))
    if outcome.status == "timeout":
        timed_out.add(method)
    _log_outcome(f"[real] {dataset} fold={fold} {method}:", outcome)
    return _row(base, outcome)


def run_gridsearch(cfg: Config, runner: CellRunner) -> dict:
    """GridSearchCV over priors on sparse and on dense data."""
    results = {}
    grid = cfg.grid
    for kind in ("sparse", "dense"):
        kwargs = {**grid, "kind": kind, "settings": cfg.settings}
        limit = cfg.fit_time_limit * (grid["cv"] + 1) * len(PRIORS)
        outcome = runner.run(gridsearch_task, kwargs, limit)
        _log_outcome(f"[gridsearch] {kind}:", outcome, with_error=False)
        results[kind] = {
            **grid,
            "n_nonzero": 5 if kind == "sparse" else grid["d"],
            "status": outcome.status,
            "error": outcome.error,
            **outcome.result,
        }
    write_json(cfg.out / FILES["grid"], results)
    return results


def run_figure(cfg: Config, runner: CellRunner) -> dict:
    """The tutorial's coefficient figure (data and PNG)."""
    kwargs = {**cfg.figure, "settings": cfg.settings}
    outcome = runner.run(figure_task, kwargs, 2 * cfg.fit_time_limit)
    _log_outcome("[figure]", outcome)
    result = {**cfg.figure, "status": outcome.status, **outcome.result}
    result["error"] = outcome.error
    write_json(cfg.out / FILES["figure_json"], result)
    if outcome.status == "ok":
        plot_tutorial_figure(result, cfg.out / FILES["figure_png"])
    return result


#: The driver of each section, in the order of :data:`_config.SECTIONS`.
DRIVERS = {
    "synthetic": run_synthetic,
    "real": run_real,
    "gridsearch": run_gridsearch,
    "figure": run_figure,
}
