"""Figures of ``compare_priors.py`` (matplotlib, drawn off-screen)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from _common import METHODS
from _config import SPARSITY_TITLES


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


def _plot_methods(axes, part: pd.DataFrame, colors: dict) -> None:
    """Median coef RMSE and coverage against d/n, a line per method."""
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


def _style_synthetic_axes(axes) -> None:
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
        _plot_methods(axes, part, colors)
        _style_synthetic_axes(axes)
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
