"""Plain-words findings of the docs page, computed from the summaries.

Each function returns sentences (no Markdown list markers) that the page
lists under a table: which method wins where, coverage and fit time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from _common import METHODS


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
    compared = ("normal_svi", "lasso_cv", "ard", "horseshoe_nuts", "horseshoe_gibbs")
    versus = [_versus(pivot, m) for m in compared if m in pivot.columns]
    return lines + [line for line in versus if line]


def _versus(pivot, other: str) -> str | None:
    """Horseshoe (SVI) against ``other`` in the cells where both finished."""
    both = pivot[["horseshoe_svi", other]].dropna()
    if both.empty:
        return None
    better = int((both["horseshoe_svi"] < both[other]).sum())
    ratio = float(np.median(both["horseshoe_svi"] / both[other]))
    return (
        f"Against {METHODS[other].label}: lower coefficient RMSE in {better} "
        f"of {_count(len(both), 'cell')} where both finished; median ratio "
        f"horseshoe SVI / {METHODS[other].label} {ratio:.2f}."
    )


def _coverage_findings(part) -> list[str]:
    cov = _pivot(part, "coef_coverage_95")
    return [
        f"95% coverage of the true coefficients, {METHODS[method].label}: "
        f"median {values.median():.2f} over cells, range "
        f"{values.min():.2f} to {values.max():.2f}."
        for method, values in ((m, cov[m].dropna()) for m in cov.columns)
        if len(values)
    ]


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


def real_findings(part) -> list[str]:
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


def grid_margin(res: dict) -> str:
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
