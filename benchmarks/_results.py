"""Result files of ``compare_priors.py``: writing, merging and summarising them.

Files are written atomically (to a partial file, then renamed), so that runs
merging into one folder never read half a file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
from _config import REAL_METRICS, SYNTHETIC_METRICS


def _partial(path: Path) -> Path:
    """Where ``path`` is written before it is renamed into place."""
    return path.with_name(f".{path.name}.{os.getpid()}.partial")


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` atomically, without the index."""
    partial = _partial(path)
    frame.to_csv(partial, index=False)
    os.replace(partial, path)


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


def write_json(path: Path, data) -> None:
    """Write ``data`` as strict JSON (NaN as null) atomically."""
    partial = _partial(path)
    partial.write_text(json.dumps(_plain(data), indent=1, allow_nan=False) + "\n")
    os.replace(partial, path)


def load_json(path: Path):
    """The JSON at ``path``, or None when there is no such file."""
    return json.loads(path.read_text()) if path.exists() else None


def merge_rows(path: Path, new: pd.DataFrame, keys: list[str], merge: bool):
    """Replace the rows of ``new``'s keys in the CSV at ``path`` (``--merge``).

    Returns
    -------
    DataFrame
        ``new`` alone unless ``merge``, else the file's other rows and ``new``.
    """
    if not merge or not path.exists() or new.empty:
        return new
    old = pd.read_csv(path, keep_default_na=True)
    index_new = pd.MultiIndex.from_frame(new[keys].astype(str))
    index_old = pd.MultiIndex.from_frame(old[keys].astype(str))
    kept = old[~index_old.isin(index_new)]
    return pd.concat([kept, new], ignore_index=True)


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


def write_medians(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Medians over seeds per (sparsity, d, n, method), as JSON."""
    keys = ["sparsity", "n_nonzero", "d", "n", "method", "label"]
    metrics = (*SYNTHETIC_METRICS, "coef_rmse_nonzero", "coef_rmse_zero")
    table = summarise(frame, keys, metrics)
    write_json(path, table.to_dict(orient="records"))
    return table


def write_real_means(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Means over folds per (dataset, method), as JSON."""
    metrics = (*REAL_METRICS, "y_interval_width_95")
    table = summarise(frame, ["dataset", "method", "label"], metrics, how="mean")
    write_json(path, table.to_dict(orient="records"))
    return table
