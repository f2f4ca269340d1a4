"""Make the figures and tables of the docs' tutorial page.

Run from the repository root before ``mkdocs build`` (``make docs`` does)::

    python docs/scripts/make_figures.py [OUTPUT_DIR]

It writes PNGs and small Markdown tables into ``docs/figures/`` (or
OUTPUT_DIR). The code between the ``--8<--`` markers is shown verbatim on the
tutorial page (``docs/tutorial.md``), so what readers see is what ran. Sample
sizes are kept small so the whole script takes well under a minute on a CPU.
"""

# ruff: noqa: E402 (the tutorial page shows this script in sections, imports included)
from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write files; open no windows

# --8<-- [start:setup]
import math

import matplotlib.pyplot as plt
import numpy as np

# --8<-- [end:setup]

OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[1] / "figures"
OUT.mkdir(parents=True, exist_ok=True)
START = time.perf_counter()


def save(fig, name: str) -> None:
    fig.tight_layout()
    fig.savefig(OUT / name, dpi=110)
    plt.close(fig)
    print(f"{time.perf_counter() - START:6.1f}s  wrote {OUT / name}")


def write_table(name: str, header: list[str], rows: list[list[str]]) -> None:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    (OUT / name).write_text("\n".join(lines) + "\n")
    print(f"{time.perf_counter() - START:6.1f}s  wrote {OUT / name}")


# ---------------------------------------------------------------------------
# 1. Beta-Bernoulli: exact, SVI and NUTS
# ---------------------------------------------------------------------------
# --8<-- [start:coin-fit]
import torch

from skbayes import BetaBernoulliEstimator

# The tutorial's data: 100 draws of Bernoulli(0.65) after torch.manual_seed(123).
with torch.random.fork_rng():
    torch.manual_seed(123)
    x = torch.distributions.Bernoulli(0.65).sample([100]).numpy()

fits = {
    "exact": BetaBernoulliEstimator(inference="exact", random_state=0),
    "SVI, Beta guide": BetaBernoulliEstimator(inference="svi", random_state=0),
    "SVI, AutoDiagonalNormal": BetaBernoulliEstimator(
        inference="svi", guide="diagonal", random_state=0
    ),
    "NUTS, 2 chains": BetaBernoulliEstimator(
        inference="nuts", num_chains=2, num_samples=1000, random_state=0
    ),
}
for est in fits.values():
    est.fit(x)
# --8<-- [end:coin-fit]

# --8<-- [start:coin-plot]
from skbayes.plotting import plot_loss_curve, plot_posterior

exact = fits["exact"]
a, b = exact.posterior_alpha_[0], exact.posterior_beta_[0]  # Beta(1 + k, 1 + n - k)
log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)


def exact_pdf(p):
    return np.exp(log_norm + (a - 1) * np.log(p) + (b - 1) * np.log1p(-p))


fig, ax = plt.subplots(figsize=(6.4, 4))
for label in ["SVI, Beta guide", "SVI, AutoDiagonalNormal", "NUTS, 2 chains"]:
    plot_posterior(fits[label], "p", hist=False, label=label, ax=ax)
plot_posterior(
    exact,
    "p",
    label="exact draws",
    reference=exact_pdf,
    reference_label="exact pdf",
    ax=ax,
)
ax.set_title(f"Posterior of p: exact Beta({a:g}, {b:g}) and approximations")
ax.legend(loc="upper left", fontsize="small")
# --8<-- [end:coin-plot]
save(fig, "coin_posterior.png")

# --8<-- [start:coin-convergence]
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
plot_loss_curve(fits["SVI, Beta guide"], ax=left)
left.set_title("SVI with the Beta guide")
plot_loss_curve(fits["NUTS, 2 chains"], ax=[right])
right.set_title("NUTS trace of p", loc="left")
# --8<-- [end:coin-convergence]
save(fig, "coin_convergence.png")

rows = []
for label, est in fits.items():
    p = est.posterior_samples_["p"][:, 0]
    lo, hi = np.quantile(p, [0.025, 0.975])
    label = f"{label}, {len(p)} draws"
    rows.append([label, f"{p.mean():.4f}", f"{p.std():.4f}", f"{lo:.3f}", f"{hi:.3f}"])
mean = a / (a + b)
sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
rows.insert(0, [f"Beta({a:g}, {b:g}) formula", f"{mean:.4f}", f"{sd:.4f}", "–", "–"])
write_table("coin_table.txt", ["posterior of p", "mean", "sd", "2.5%", "97.5%"], rows)

# ---------------------------------------------------------------------------
# 2. Bayesian linear regression, and 3. the horseshoe, on the sparse problem
# ---------------------------------------------------------------------------
# --8<-- [start:sparse-data]
from skbayes import BayesianLinearRegression, HorseshoeRegression
from skbayes.datasets import make_sparse_regression

# The tutorial's problem: d = 100 coefficients, half of them about +-5 and
# half exactly zero, n = 100 observations, noise sd 0.5. A second draw of X
# with the same coefficients is held out to judge predictions.
X, y, coef = make_sparse_regression(n_samples=200, n_features=100, random_state=0)
X_train, y_train, X_test, y_test = X[:100], y[:100], X[100:], y[100:]
# --8<-- [end:sparse-data]

# --8<-- [start:gaussian-fit]
# N(0, 10^2), IG(0.1, 0.1), SVI with the mvn guide (the default is exact).
gaussian = BayesianLinearRegression(inference="svi", random_state=0)
with warnings.catch_warnings(record=True) as caught_gaussian:
    warnings.simplefilter("always")  # SVI's k-hat diagnostic warns here
    gaussian.fit(X_train, y_train)
# --8<-- [end:gaussian-fit]

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    # --8<-- [start:horseshoe-fit]
    # The tutorial's recipe: SVI, empirical-Bayes sigma, rank-1 lowrank guide.
    horseshoe = HorseshoeRegression(inference="svi", noise="point", random_state=0)
    horseshoe.fit(X_train, y_train)
    # --8<-- [end:horseshoe-fit]
for warning in [*caught_gaussian, *caught]:
    print(f"        warning from an SVI fit: {warning.message}")

# --8<-- [start:regression-loss]
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
plot_loss_curve(gaussian, ax=axes[0]).set_title("Gaussian prior, mvn guide")
plot_loss_curve(horseshoe, ax=axes[1]).set_title("horseshoe, low-rank guide")
# --8<-- [end:regression-loss]
save(fig, "regression_loss.png")

# --8<-- [start:coefficients]
from skbayes.plotting import plot_coefficients

fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
plot_coefficients(gaussian, true_coef=coef, coverage=0.95, ax=axes[0])
axes[0].set_title("Gaussian prior N(0, 10²), SVI")
plot_coefficients(horseshoe, true_coef=coef, coverage=0.95, ax=axes[1])
axes[1].set_title("Horseshoe prior, SVI")
# --8<-- [end:coefficients]
save(fig, "sparse_coefficients.png")

# --8<-- [start:shrinkage]
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
for ax, j in zip(axes, [0, 99], strict=True):  # coef[0] is non-zero, coef[99] is 0
    plot_posterior(gaussian, "coef", index=j, hist=False, label="Gaussian", ax=ax)
    plot_posterior(
        horseshoe,
        "coef",
        index=j,
        hist=False,
        label="horseshoe",
        ax=ax,
        reference=coef[j],
        reference_label="true value",
    )
    ax.set_title(f"true coef[{j}] = {coef[j]:.2f}")
# --8<-- [end:shrinkage]
save(fig, "sparse_shrinkage.png")

# --8<-- [start:predictive]
from skbayes.plotting import plot_predictive

fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
plot_predictive(gaussian, X_test, y_test, coverage=0.9, ax=axes[0])
axes[0].set_title("Gaussian prior: held-out data")
plot_predictive(horseshoe, X_test, y_test, coverage=0.9, ax=axes[1])
axes[1].set_title("Horseshoe prior: held-out data")
# --8<-- [end:predictive]
save(fig, "sparse_predictive.png")

rows = []
for label, est in [("Gaussian N(0, 10²)", gaussian), ("horseshoe", horseshoe)]:
    draws = est.posterior_samples_["coef"]
    lo, hi = np.quantile(draws, [0.025, 0.975], axis=0)
    zero = coef == 0
    interval = est.predict_interval(X_test, coverage=0.9)
    inside = (interval[:, 0] <= y_test) & (y_test <= interval[:, 1])
    rows.append(
        [
            label,
            f"{np.sqrt(np.mean((est.coef_ - coef) ** 2)):.2f}",
            f"{np.abs(est.coef_[zero]).mean():.2f}",
            f"{np.mean((lo <= coef) & (coef <= hi)):.0%}",
            f"{np.sqrt(np.mean((est.predict(X_test) - y_test) ** 2)):.2f}",
            f"{inside.mean():.0%}",
            f"{est.n_iter_}",
        ]
    )
write_table(
    "sparse_table.txt",
    [
        "prior",
        "coef RMSE",
        "mean abs. coef where true = 0",
        "95% intervals covering true coef",
        "test RMSE",
        "test y inside 90% interval",
        "SVI steps",
    ],
    rows,
)
print(f"{time.perf_counter() - START:6.1f}s  done")
