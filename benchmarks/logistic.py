"""Benchmarks of BayesianLogisticRegression: MCMC speed, big n, sklearn.

Three sections, each selectable with ``--sections``:

``ess``
    Horseshoe prior, d=100, n=1000, 5 non-zero coefficients: skbayes'
    Polya-Gamma Gibbs sampler (4 chains) against NumPyro's NUTS (4 chains,
    run one after another) on the same model, written here to match skbayes'
    exactly. Minimum effective sample size over the coefficients per second
    of wall time (warm-up included; NumPyro with and without its first-call
    compile), and the agreement of the two posteriors.
``bign``
    Normal prior, n=100,000, d=50: wall time of the default fit (SVI with
    the full-rank Gaussian guide) and its agreement with a long Gibbs run,
    the reference, whose own time is reported too.
``sklearn``
    Against ``LogisticRegressionCV`` (L1 and L2, C by 5-fold CV on the log
    loss) on breast cancer, a synthetic sparse problem (d=100, n=300, 5
    signals) and wine (3 classes): accuracy, log loss, Brier score, expected
    calibration error and fit time; coefficient RMSE on the sparse problem.

Run ``python benchmarks/logistic.py [--sections ess bign sklearn] [--quick]``;
results go to ``benchmarks/results/logistic.json`` (or ``--out``).
``--markdown`` prints the docs section from an existing results file instead
of running. NumPyro and JAX are needed by ``ess`` only (its NumPyro rows are
left out without them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from _common import (
    call_recording_warnings,
    command_line,
    fmt,
    machine_info,
    markdown_table,
    source_fingerprint,
)
from _common import (
    has_numpyro as _has_numpyro,
)
from _common import (
    numpyro_run as _numpyro_run,
)
from _common import (
    one_thread as _one_thread,
)

from skbayes import BayesianLogisticRegression
from skbayes.posterior import mcmc_diagnostics
from skbayes.priors import Horseshoe

RESULTS = Path(__file__).parent / "results"

#: Problem sizes and run lengths: full run, and ``--quick`` (a smoke test).
SIZES = {
    "full": {
        "ess": {
            "n": 1000,
            "d": 100,
            "n_nonzero": 5,
            "chains": 4,
            "num_samples": 1000,
            "num_warmup": 500,
            "data_seeds": [0, 1, 2],
            "gibbs_seeds": [0],
            "target_accepts": [0.8, 0.95],
        },
        "bign": {
            "n": 100_000,
            "d": 50,
            "svi_seeds": [0, 1],
            "ref_chains": 4,
            "ref_samples": 300,
            "ref_warmup": 100,
        },
        "sklearn": {
            "folds": 5,
            "sparse_seeds": [0, 1, 2],
            "sparse_n": 300,
            "sparse_d": 100,
            "sparse_n_test": 2000,
            "mcmc": {"num_samples": 1000, "num_warmup": 500},
            "svi": {},
        },
    },
    "quick": {
        "ess": {
            "n": 200,
            "d": 20,
            "n_nonzero": 3,
            "chains": 2,
            "num_samples": 200,
            "num_warmup": 100,
            "data_seeds": [0],
            "gibbs_seeds": [0],
            "target_accepts": [0.8],
        },
        "bign": {
            "n": 5000,
            "d": 10,
            "svi_seeds": [0],
            "ref_chains": 2,
            "ref_samples": 300,
            "ref_warmup": 100,
        },
        "sklearn": {
            "folds": 2,
            "sparse_seeds": [0],
            "sparse_n": 150,
            "sparse_d": 30,
            "sparse_n_test": 500,
            "mcmc": {"num_samples": 200, "num_warmup": 100},
            "svi": {"num_steps": 500},
        },
    },
}


# -- shared helpers ----------------------------------------------------------------
def _timed_fit(est, X, y) -> dict:
    start = time.perf_counter()
    est.fit(X, y)
    return {"s": time.perf_counter() - start}


def fit_recording(est, X, y) -> tuple[float, str]:
    """Fit ``est``; return the wall time and the warnings it raised."""
    result = call_recording_warnings(_timed_fit, {"est": est, "X": X, "y": y})
    return result["s"], result["warnings"]


def _warm_up() -> None:
    """One tiny fit of each engine: lazy imports are not a per-fit cost."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = (X[:, 0] + rng.standard_normal(60) > 0).astype(int)
    for kwargs in (
        {"num_steps": 50},
        {"inference": "gibbs", "num_samples": 20, "num_warmup": 10},
        {"prior": "horseshoe", "inference": "gibbs", "num_samples": 20},
    ):
        fit_recording(BayesianLogisticRegression(random_state=0, **kwargs), X, y)


def sparse_logistic_data(n: int, d: int, n_nonzero: int, seed: int, n_test: int = 0):
    """Standard normal X, ``n_nonzero`` coefficients of size 2 to 3, intercept 0.

    Returns
    -------
    X, y, coef, X_test, y_test
        The test rows come from the same coefficients (empty if ``n_test=0``).
    """
    rng = np.random.default_rng(seed)
    coef = np.zeros(d)
    signs = np.where(np.arange(n_nonzero) % 2 == 0, 1.0, -1.0)
    coef[:n_nonzero] = signs * rng.uniform(2.0, 3.0, n_nonzero)
    X = rng.standard_normal((n + n_test, d))
    y = (rng.random(n + n_test) < 1 / (1 + np.exp(-X @ coef))).astype(int)
    return X[:n], y[:n], coef, X[n:], y[n:]


def _by_chain(draws: np.ndarray, chains: int) -> np.ndarray:
    """skbayes' pooled draws (chain after chain) as (chains, draws, ...)."""
    return np.asarray(draws).reshape(chains, -1, *np.shape(draws)[1:])


def _min_ess(by_chain: np.ndarray) -> float:
    n_eff, _ = mcmc_diagnostics({"x": np.array(by_chain, dtype=float)})
    return float(np.min(n_eff["x"]))


def _max_rhat(by_chain: np.ndarray) -> float:
    _, r_hat = mcmc_diagnostics({"x": np.array(by_chain, dtype=float)})
    return float(np.nanmax(r_hat["x"]))


def _agreement(a: np.ndarray, b: np.ndarray, ess_a=None, ess_b=None) -> dict:
    """How far two sets of draws (S, d) of the same coefficients are apart.

    ``max_abs_mean_diff_over_sd``: max over j of |mean_a - mean_b| / sd, with
    sd the root mean of the two variances; ``max_abs_sd_ratio_minus_1``:
    max over j of |sd_a / sd_b - 1|. With effective sample sizes,
    ``max_z`` is the largest |mean_a - mean_b| / (its Monte Carlo standard
    error): about 3 at most among 100 coefficients if only Monte Carlo
    error separates them.
    """
    mean_a, mean_b = a.mean(0), b.mean(0)
    sd_a, sd_b = a.std(0, ddof=1), b.std(0, ddof=1)
    pooled = np.sqrt((sd_a**2 + sd_b**2) / 2)
    out = {
        "max_abs_mean_diff_over_sd": float(np.max(np.abs(mean_a - mean_b) / pooled)),
        "max_abs_sd_ratio_minus_1": float(np.max(np.abs(sd_a / sd_b - 1))),
    }
    if ess_a is not None and ess_b is not None:
        se = np.sqrt(sd_a**2 / ess_a + sd_b**2 / ess_b)
        out["max_z"] = float(np.max(np.abs(mean_a - mean_b) / se))
    return out


def _ess_per_coef(by_chain: np.ndarray) -> np.ndarray:
    n_eff, _ = mcmc_diagnostics({"x": np.array(by_chain, dtype=float)})
    return np.asarray(n_eff["x"], dtype=float)


# -- ess: Gibbs against NumPyro's NUTS on the horseshoe ------------------------------
def _numpyro_horseshoe_model(global_scale: float, intercept_scale: float):
    """skbayes' logistic horseshoe model, non-centred, for NumPyro.

    The design is standardised as skbayes does it (columns centred, divided
    by their population sd): ``tau ~ HalfCauchy(global_scale)``, ``lambda_j ~
    HalfCauchy(1)``, ``z_j ~ Normal(0, 1)``, ``coef = tau * lambda * z``,
    ``intercept ~ Normal(0, intercept_scale**2)`` and ``y ~
    Bernoulli(logits=design @ coef + intercept)``.
    """
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as ndist

    def model(design, y):
        d = design.shape[1]
        tau = numpyro.sample("tau", ndist.HalfCauchy(global_scale))
        lam = numpyro.sample("lambda", ndist.HalfCauchy(jnp.ones(d)).to_event(1))
        z = numpyro.sample("z", ndist.Normal(jnp.zeros(d), 1.0).to_event(1))
        coef = numpyro.deterministic("coef", tau * lam * z)
        intercept = numpyro.sample("intercept", ndist.Normal(0.0, intercept_scale))
        numpyro.sample("y", ndist.Bernoulli(logits=design @ coef + intercept), obs=y)

    return model


def _ess_one_dataset(cfg: dict, data_seed: int, higher_targets: bool) -> dict:
    """Gibbs and NumPyro's NUTS on one data set (see ``section_ess``)."""
    n, d, chains = cfg["n"], cfg["d"], cfg["chains"]
    num_samples, num_warmup = cfg["num_samples"], cfg["num_warmup"]
    X, y, coef, _, _ = sparse_logistic_data(n, d, cfg["n_nonzero"], seed=data_seed)
    x_scale = X.std(0)  # skbayes' autoscale: population sd of each column
    design = (X - X.mean(0)) / x_scale
    out = {
        "data_seed": data_seed,
        "true_coef_nonzero": coef[: cfg["n_nonzero"]].tolist(),
    }
    gibbs_rows, gibbs_draws = [], None
    with _one_thread():
        for seed in cfg["gibbs_seeds"]:
            est = BayesianLogisticRegression(
                Horseshoe(),
                inference="gibbs",
                num_chains=chains,
                num_samples=num_samples,
                num_warmup=num_warmup,
                random_state=seed,
            )
            seconds, caught = fit_recording(est, X, y)
            draws = est.posterior_samples_
            by_chain = _by_chain(draws["coef"] * x_scale, chains)
            ess = _min_ess(by_chain)
            gibbs_rows.append(
                {
                    "random_state": seed,
                    "s": seconds,
                    "min_ess_coef": ess,
                    "min_ess_per_s": ess / seconds,
                    "min_ess_tau": _min_ess(_by_chain(draws["tau"], chains)),
                    "max_rhat_coef": _max_rhat(by_chain),
                    "tau_median": float(np.median(draws["tau"])),
                    "warnings": caught,
                }
            )
            if gibbs_draws is None:
                gibbs_draws = by_chain
    out["gibbs"] = gibbs_rows
    out["gibbs_median_min_ess_per_s"] = float(
        np.median([r["min_ess_per_s"] for r in gibbs_rows])
    )
    if not _has_numpyro():
        out["numpyro"] = "not installed"
        return out

    model = _numpyro_horseshoe_model(1.0, 10.0)
    common = {"chains": chains, "num_samples": num_samples, "num_warmup": num_warmup}
    targets = cfg["target_accepts"] if higher_targets else cfg["target_accepts"][:1]
    nuts_rows, best = [], None
    for target in targets:
        seconds, compile_s, samples, extra = _numpyro_run(
            model, design, y, target=target, seed=data_seed, **common
        )
        by_chain = samples["coef"]
        ess = _min_ess(by_chain)
        excl = seconds - compile_s
        row = {
            "target_accept": target,
            "s_incl_compile": seconds,
            "compile_s": compile_s,
            "s_excl_compile": excl,
            "min_ess_coef": ess,
            "min_ess_per_s_incl_compile": ess / seconds,
            "min_ess_per_s_excl_compile": ess / excl,
            "min_ess_tau": _min_ess(samples["tau"]),
            "max_rhat_coef": _max_rhat(by_chain),
            "divergences": int(np.asarray(extra["diverging"]).sum()),
            "tau_median": float(np.median(samples["tau"])),
            "agreement_with_gibbs": _agreement(
                gibbs_draws.reshape(-1, d),
                by_chain.reshape(-1, d),
                _ess_per_coef(gibbs_draws),
                _ess_per_coef(by_chain),
            ),
        }
        nuts_rows.append(row)
        if best is None or (
            row["min_ess_per_s_excl_compile"] > best["min_ess_per_s_excl_compile"]
        ):
            best = row
        if row["divergences"] == 0:
            break  # a higher target is only worth running against divergences
    out["numpyro"] = nuts_rows
    gibbs = out["gibbs_median_min_ess_per_s"]
    out["best_numpyro_target_accept"] = best["target_accept"]
    out["ratio_gibbs_to_numpyro_excl_compile"] = (
        gibbs / best["min_ess_per_s_excl_compile"]
    )
    out["ratio_gibbs_to_numpyro_incl_compile"] = (
        gibbs / best["min_ess_per_s_incl_compile"]
    )
    return out


def section_ess(cfg: dict) -> dict:
    """Per data seed: Gibbs, then NumPyro's NUTS at the first target accept
    probability, and at the higher ones (on the first data seed only, to
    bound the run time) when it diverged. Ratios: Gibbs' min ESS/s over
    NumPyro's best, per data set, and their median.
    """
    out = {key: cfg[key] for key in ("n", "d", "n_nonzero", "chains", "num_samples")}
    out["num_warmup"] = cfg["num_warmup"]
    out["ess_scale"] = "standardised columns (coef * sd of each column)"
    if _has_numpyro():
        import jax
        import numpyro

        numpyro.enable_x64()  # skbayes runs in float64
        out["numpyro_chain_method"] = "sequential"
        out["numpyro_versions"] = {
            "numpyro": numpyro.__version__,
            "jax": jax.__version__,
        }
    out["datasets"] = []
    for i, data_seed in enumerate(cfg["data_seeds"]):
        row = _ess_one_dataset(cfg, data_seed, higher_targets=i == 0)
        out["datasets"].append(row)
        print(
            f"  ess data seed {data_seed}: ratio "
            f"{row.get('ratio_gibbs_to_numpyro_excl_compile')}",
            flush=True,
        )
    ratios = [r.get("ratio_gibbs_to_numpyro_excl_compile") for r in out["datasets"]]
    if all(r is not None for r in ratios):
        incl = [r["ratio_gibbs_to_numpyro_incl_compile"] for r in out["datasets"]]
        out["median_ratio_excl_compile"] = float(np.median(ratios))
        out["median_ratio_incl_compile"] = float(np.median(incl))
    out["target_ratio"] = 5.0
    return out


# -- bign: the default fit at n = 100,000 ----------------------------------------
def _laplace(design: np.ndarray, y: np.ndarray, coef_scale: float, a_scale: float):
    """Mode and Laplace covariance (standardised scale) by Newton's method."""
    n, d = design.shape
    Z = np.hstack([design, np.ones((n, 1))])
    prec = np.r_[np.full(d, coef_scale**-2.0), a_scale**-2.0]
    theta = np.zeros(d + 1)
    for _ in range(50):
        p = 1 / (1 + np.exp(-Z @ theta))
        grad = Z.T @ (y - p) - prec * theta
        hess = (Z * (p * (1 - p))[:, None]).T @ Z + np.diag(prec)
        step = np.linalg.solve(hess, grad)
        theta = theta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    p = 1 / (1 + np.exp(-Z @ theta))
    hess = (Z * (p * (1 - p))[:, None]).T @ Z + np.diag(prec)
    return theta, np.linalg.inv(hess)


def section_bign(cfg: dict) -> dict:
    n, d = cfg["n"], cfg["d"]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    coef = rng.normal(0.0, 0.5, d)
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ coef + 0.5)))).astype(int)
    x_scale = X.std(0)
    out = {"n": n, "d": d, "coef": "N(0, 0.5^2) each, intercept 0.5"}
    with _one_thread():
        chains = cfg["ref_chains"]
        ref_est = BayesianLogisticRegression(
            inference="gibbs",
            num_chains=chains,
            num_samples=cfg["ref_samples"],
            num_warmup=cfg["ref_warmup"],
            random_state=0,
        )
        seconds, caught = fit_recording(ref_est, X, y)
        ref = ref_est.posterior_samples_["coef"] * x_scale
        ref_by_chain = _by_chain(ref, chains)
        ess = _ess_per_coef(ref_by_chain)
        out["reference"] = {
            "method": "Gibbs",
            "chains": chains,
            "num_samples": cfg["ref_samples"],
            "num_warmup": cfg["ref_warmup"],
            "s": seconds,
            "min_ess_coef": float(ess.min()),
            "max_rhat_coef": _max_rhat(ref_by_chain),
            "mc_error_of_mean_over_sd_max": float(np.max(1 / np.sqrt(ess))),
            "warnings": caught,
        }
        rows = []
        for seed in cfg["svi_seeds"]:
            est = BayesianLogisticRegression(inference="svi", random_state=seed)
            seconds, caught = fit_recording(est, X, y)
            draws = est.posterior_samples_["coef"] * x_scale
            rows.append(
                {
                    "random_state": seed,
                    "s": seconds,
                    "steps": int(est.n_iter_),
                    "ms_per_step": seconds / est.n_iter_ * 1e3,
                    **_agreement(draws, ref),
                    "warnings": caught,
                }
            )
        out["default_fit"] = rows
    out["default_fit_max_s"] = max(r["s"] for r in rows)
    out["target_s"] = 30.0
    # The Laplace approximation at the mode (numpy Newton, same priors): the
    # start of the default fit, for comparison.
    design = (X - X.mean(0)) / x_scale
    start = time.perf_counter()
    mode, cov = _laplace(design, y, 2.5, 10.0)
    laplace_s = time.perf_counter() - start
    draws = np.random.default_rng(0).multivariate_normal(mode, cov, 4000)[:, :d]
    out["laplace"] = {"s": laplace_s, **_agreement(draws, ref)}
    return out


# -- sklearn: LogisticRegressionCV and the skbayes variants ----------------------
METHOD_LABELS = {
    "skbayes_normal_svi": "skbayes normal, SVI (default)",
    "skbayes_normal_gibbs": "skbayes normal, Gibbs",
    "skbayes_horseshoe_gibbs": "skbayes horseshoe, Gibbs",
    "sklearn_l1_cv": "LogisticRegressionCV, L1",
    "sklearn_l2_cv": "LogisticRegressionCV, L2",
}


def _methods(cfg: dict, n_classes: int, seed: int) -> dict:
    from sklearn.linear_model import LogisticRegressionCV

    mcmc, svi = cfg["mcmc"], cfg["svi"]
    cv = {"cv": 5, "scoring": "neg_log_loss", "use_legacy_attributes": False}
    # liblinear is exact and fast for two classes but has no multinomial
    # loss; saga has both.
    l1_solver = "liblinear" if n_classes == 2 else "saga"
    return {
        "skbayes_normal_svi": BayesianLogisticRegression(random_state=seed, **svi),
        "skbayes_normal_gibbs": BayesianLogisticRegression(
            inference="gibbs", random_state=seed, **mcmc
        ),
        "skbayes_horseshoe_gibbs": BayesianLogisticRegression(
            "horseshoe", inference="gibbs", random_state=seed, **mcmc
        ),
        "sklearn_l1_cv": LogisticRegressionCV(
            l1_ratios=[1.0],
            solver=l1_solver,
            max_iter=5000,
            random_state=seed,
            **cv,
        ),
        "sklearn_l2_cv": LogisticRegressionCV(l1_ratios=[0.0], max_iter=5000, **cv),
    }


def brier_score(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean over rows of sum_k (p_k - [y = k])^2 (twice sklearn's, binary)."""
    onehot = np.eye(proba.shape[1])[y]
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def expected_calibration_error(y: np.ndarray, proba: np.ndarray, bins=10) -> float:
    """Top-label ECE: sum_b (n_b / n) |accuracy_b - confidence_b|, equal bins."""
    confidence = proba.max(1)
    correct = proba.argmax(1) == y
    index = np.minimum((confidence * bins).astype(int), bins - 1)
    ece = 0.0
    for b in range(bins):
        inside = index == b
        if inside.any():
            gap = abs(correct[inside].mean() - confidence[inside].mean())
            ece += inside.mean() * gap
    return float(ece)


def _score(est, X_test, y_test, n_classes: int) -> dict:
    from sklearn.metrics import log_loss

    proba = est.predict_proba(X_test)
    return {
        "accuracy": float(np.mean(proba.argmax(1) == y_test)),
        "log_loss": float(log_loss(y_test, proba, labels=np.arange(n_classes))),
        "brier": brier_score(y_test, proba),
        "ece": expected_calibration_error(y_test, proba),
    }


def _run_split(cfg, dataset, split, X, y, X_test, y_test, coef=None) -> list[dict]:
    n_classes = len(np.unique(y))
    rows = []
    for name, est in _methods(cfg, n_classes, seed=0).items():
        seconds, caught = fit_recording(est, X, y)
        row = {
            "dataset": dataset,
            "split": split,
            "method": name,
            "fit_s": seconds,
            **_score(est, X_test, y_test, n_classes),
            "warnings": caught,
        }
        if coef is not None:
            fitted = np.ravel(est.coef_)
            nonzero = coef != 0
            row["coef_rmse"] = float(np.sqrt(np.mean((fitted - coef) ** 2)))
            row["coef_rmse_nonzero"] = float(
                np.sqrt(np.mean((fitted[nonzero] - coef[nonzero]) ** 2))
            )
            row["coef_rmse_zero"] = float(np.sqrt(np.mean(fitted[~nonzero] ** 2)))
        rows.append(row)
        print(
            f"  {dataset} {split} {name}: {seconds:.2f} s, "
            f"log loss {row['log_loss']:.3f}",
            flush=True,
        )
    return rows


def section_sklearn(cfg: dict) -> dict:
    from sklearn.datasets import load_breast_cancer, load_wine
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    rows = []
    with _one_thread():
        for dataset, loader in (
            ("breast_cancer", load_breast_cancer),
            ("wine", load_wine),
        ):
            X, y = loader(return_X_y=True)
            folds = StratifiedKFold(cfg["folds"], shuffle=True, random_state=0)
            for fold, (train, test) in enumerate(folds.split(X, y)):
                scaler = StandardScaler().fit(X[train])
                rows += _run_split(
                    cfg,
                    dataset,
                    fold,
                    scaler.transform(X[train]),
                    y[train],
                    scaler.transform(X[test]),
                    y[test],
                )
        for seed in cfg["sparse_seeds"]:
            X, y, coef, X_test, y_test = sparse_logistic_data(
                cfg["sparse_n"],
                cfg["sparse_d"],
                5,
                seed=100 + seed,
                n_test=cfg["sparse_n_test"],
            )
            rows += _run_split(cfg, "sparse", seed, X, y, X_test, y_test, coef)
    return {
        "datasets": {
            "breast_cancer": f"load_breast_cancer (n=569, d=30), {cfg['folds']}-fold "
            "stratified CV, standardised on each training fold",
            "wine": f"load_wine (n=178, d=13, 3 classes), {cfg['folds']}-fold "
            "stratified CV, standardised on each training fold",
            "sparse": f"standard normal X, n={cfg['sparse_n']}, d={cfg['sparse_d']}, 5 "
            "coefficients of size 2-3 (alternating signs), intercept 0; "
            f"{cfg['sparse_n_test']} test rows; data seeds "
            f"{[100 + s for s in cfg['sparse_seeds']]}",
        },
        "rows": rows,
        "means": _means(rows),
    }


def _means(rows: list[dict]) -> list[dict]:
    """Means over the splits, per data set and method."""
    metrics = [
        "accuracy",
        "log_loss",
        "brier",
        "ece",
        "fit_s",
        "coef_rmse",
        "coef_rmse_nonzero",
        "coef_rmse_zero",
    ]
    out = []
    keys = dict.fromkeys((r["dataset"], r["method"]) for r in rows)
    for dataset, method in keys:
        part = [r for r in rows if r["dataset"] == dataset and r["method"] == method]
        mean = {"dataset": dataset, "method": method, "splits": len(part)}
        for key in metrics:
            if key in part[0]:
                mean[key] = float(np.mean([r[key] for r in part]))
        mean["splits_with_warnings"] = sum(bool(r["warnings"]) for r in part)
        out.append(mean)
    return out


# -- the docs section ------------------------------------------------------------------
def _ess_markdown(ess: dict) -> list[str]:
    rows, agree, ratios = [], [], []
    for data in ess["datasets"]:
        seed = data["data_seed"]
        rows += [
            [
                str(seed),
                f"skbayes Gibbs (random_state={r['random_state']})",
                r["s"],
                "–",
                r["min_ess_coef"],
                r["min_ess_per_s"],
                "–",
                r["min_ess_tau"],
                r["max_rhat_coef"],
                "– (exact draws)",
            ]
            for r in data["gibbs"]
        ]
        numpyro = data["numpyro"] if isinstance(data["numpyro"], list) else []
        rows += [
            [
                str(seed),
                f"NumPyro NUTS, target_accept {r['target_accept']}",
                r["s_incl_compile"],
                r["s_excl_compile"],
                r["min_ess_coef"],
                r["min_ess_per_s_incl_compile"],
                r["min_ess_per_s_excl_compile"],
                r["min_ess_tau"],
                r["max_rhat_coef"],
                str(r["divergences"]),
            ]
            for r in numpyro
        ]
        agree += [
            [
                str(seed),
                f"target_accept {r['target_accept']}",
                r["agreement_with_gibbs"]["max_abs_mean_diff_over_sd"],
                r["agreement_with_gibbs"]["max_z"],
                r["agreement_with_gibbs"]["max_abs_sd_ratio_minus_1"],
                r["tau_median"],
                data["gibbs"][0]["tau_median"],
            ]
            for r in numpyro
        ]
        if numpyro:
            ratios.append(
                [
                    str(seed),
                    ", ".join(fmt(c) for c in data["true_coef_nonzero"]),
                    str(data["best_numpyro_target_accept"]),
                    data["ratio_gibbs_to_numpyro_excl_compile"],
                    data["ratio_gibbs_to_numpyro_incl_compile"],
                ]
            )
    lines = [
        "### MCMC on the horseshoe: Gibbs against NumPyro's NUTS",
        "",
        f"n = {ess['n']}, d = {ess['d']}, {ess['n_nonzero']} non-zero coefficients "
        "of size 2 to 3, standard normal X, intercept 0, one data set per data "
        f"seed. {ess['chains']} chains of {ess['num_samples']:,} draws after "
        f"{ess['num_warmup']} warm-up iterations each, for both samplers. "
        "skbayes: `BayesianLogisticRegression(Horseshoe(), "
        f'inference="gibbs", num_chains={ess["chains"]})` (the chains are '
        "batched in one process). NumPyro: NUTS on the same model written in "
        "NumPyro (standardised design, tau ~ HalfCauchy(1), lambda_j ~ "
        "HalfCauchy(1), coef = tau lambda z with z ~ N(0, 1), intercept ~ "
        "N(0, 10²)), float64, chains run one after another "
        '(`chain_method="sequential"`), target_accept 0.8, and 0.95 as well on '
        "the first data set when 0.8 diverged. ESS: "
        "`skbayes.posterior.mcmc_diagnostics` on the coefficients of the "
        "standardised columns, the same function for both; wall time includes "
        "warm-up. The *excl. compile* columns subtract the seconds JAX spent "
        "tracing and compiling during the run (its `jax.monitoring` compile "
        "events; a fresh sampler compiles on its first run). skbayes has no "
        "compile step; its first fit in a process (lazy imports) is a warm-up "
        "fit outside the timings.",
        "",
        markdown_table(
            [
                "data seed",
                "sampler",
                "s",
                "s excl. compile",
                "min ESS (coef)",
                "min ESS/s",
                "min ESS/s excl. compile",
                "min ESS (tau)",
                "max r-hat (coef)",
                "divergences",
            ],
            rows,
        ),
        "",
    ]
    if agree:
        lines += [
            "Agreement of NumPyro's posterior with Gibbs', over the coefficients: "
            "max |Δ mean| / sd, the same difference over its Monte Carlo "
            "standard error (max z; about 3 or less among "
            f"{ess['d']} coefficients when only Monte Carlo error separates "
            "them), max |sd ratio − 1|, and the "
            "posterior medians of tau.",
            "",
            markdown_table(
                [
                    "data seed",
                    "NumPyro run",
                    "max \\|Δ mean\\| / sd",
                    "max z",
                    "max \\|sd ratio − 1\\|",
                    "tau median, NumPyro",
                    "tau median, Gibbs",
                ],
                agree,
            ),
            "",
            "Gibbs' min ESS/s over NumPyro's (its best target_accept), per data "
            "set (target ≥ 5):",
            "",
            markdown_table(
                [
                    "data seed",
                    "non-zero coefficients",
                    "best target_accept",
                    "ratio, NumPyro excl. compile",
                    "ratio, NumPyro incl. compile",
                ],
                ratios,
            ),
            "",
            "Median over the data sets: **"
            f"{fmt(ess.get('median_ratio_excl_compile'))}** excluding NumPyro's "
            f"compile, {fmt(ess.get('median_ratio_incl_compile'))} including it "
            "(target ≥ 5).",
            "",
        ]
    return lines


def _bign_markdown(bign: dict) -> list[str]:
    ref = bign["reference"]
    rows = [
        [
            f"default fit, random_state={r['random_state']}",
            r["s"],
            str(r["steps"]),
            r["max_abs_mean_diff_over_sd"],
            r["max_abs_sd_ratio_minus_1"],
        ]
        for r in bign["default_fit"]
    ]
    rows.append(
        [
            "Laplace approximation (numpy Newton, same priors)",
            bign["laplace"]["s"],
            "–",
            bign["laplace"]["max_abs_mean_diff_over_sd"],
            bign["laplace"]["max_abs_sd_ratio_minus_1"],
        ]
    )
    rows.append(
        [
            f"reference: Gibbs, {ref['chains']} chains × {ref['num_samples']:,} "
            f"draws (+{ref['num_warmup']} warm-up)",
            ref["s"],
            "–",
            "–",
            "–",
        ]
    )
    return [
        "### Big n: the default fit",
        "",
        f"`BayesianLogisticRegression(random_state=...).fit(X, y)` (normal prior, "
        f"SVI, full-rank Gaussian guide) on n = {bign['n']:,}, d = {bign['d']}, "
        "standard normal X, coefficients N(0, 0.5²), intercept 0.5. Agreement "
        "with the reference over the coefficients (standardised scale): max "
        "|Δ mean| / sd and max |sd ratio − 1|. The reference's min ESS is "
        f"{fmt(ref['min_ess_coef'])} (max r-hat {fmt(ref['max_rhat_coef'])}), so "
        "its Monte Carlo error on a mean is up to "
        f"{fmt(ref['mc_error_of_mean_over_sd_max'])} sd.",
        "",
        markdown_table(
            [
                "fit",
                "s",
                "SVI steps",
                "max \\|Δ mean\\| / sd",
                "max \\|sd ratio − 1\\|",
            ],
            rows,
        ),
        "",
        f"Slowest default fit: **{fmt(bign['default_fit_max_s'])} s** (target ≤ 30 s).",
        "",
    ]


def _sklearn_markdown(sk: dict) -> list[str]:
    lines = [
        "### Against LogisticRegressionCV",
        "",
        "`LogisticRegressionCV` chooses C among 10 values by 5-fold CV on the "
        "log loss (`l1_ratios=[1.0]`, solver `liblinear` for two classes and "
        "`saga` for three; `l1_ratios=[0.0]`, `lbfgs`). skbayes: "
        "`BayesianLogisticRegression()` (normal prior, SVI), the same with "
        '`inference="gibbs"`, and `prior="horseshoe"` with Gibbs (one chain '
        "each). Brier: mean over test rows of Σ_k (p_k − [y = k])² (twice "
        "sklearn's binary `brier_score_loss`); ECE: top-label expected "
        "calibration error, 10 equal-width bins. Means over the splits; fit "
        "time in seconds.",
        "",
    ]
    for dataset, text in sk["datasets"].items():
        part = [m for m in sk["means"] if m["dataset"] == dataset]
        sparse = "coef_rmse" in part[0]
        header = ["method", "accuracy", "log loss", "Brier", "ECE", "fit s"]
        if sparse:
            header += ["coef RMSE", "RMSE non-zero", "RMSE zero"]
        rows = []
        for m in part:
            row = [
                METHOD_LABELS[m["method"]],
                m["accuracy"],
                m["log_loss"],
                m["brier"],
                m["ece"],
                m["fit_s"],
            ]
            if sparse:
                row += [m["coef_rmse"], m["coef_rmse_nonzero"], m["coef_rmse_zero"]]
            rows.append(row)
        lines += [
            f"#### {dataset}",
            "",
            text + ".",
            "",
            markdown_table(header, rows),
            "",
        ]
    return lines


def logistic_markdown(results: dict) -> str:
    """The docs section for ``docs/benchmarks.md`` from ``logistic.json``."""
    info = results["machine"]
    lines = [
        "## Classification: BayesianLogisticRegression",
        "",
        "From `benchmarks/logistic.py`; every comparison is within one run.",
        "",
        "```",
        results.get("command", "python benchmarks/logistic.py"),
        "```",
        "",
        f"- machine: CPU {info.get('cpu')}, `nproc` = {info.get('nproc')}, the "
        f"run on CPU core(s) {results.get('cpu_affinity')} (its affinity), "
        f"OMP_NUM_THREADS={info.get('omp_num_threads') or 'unset'}",
        f"- versions: Python {info.get('python')}, torch {info.get('torch')}, "
        f"Pyro {info.get('pyro')}, NumPyro {info.get('numpyro', 'not installed')}, "
        f"JAX {info.get('jax', 'not installed')}, scikit-learn {info.get('sklearn')}",
        f"- date: {info.get('date')}; code: git {info.get('git_commit')}"
        + (
            " with uncommitted changes to skbayes/"
            if info.get("skbayes_uncommitted_changes")
            else ""
        )
        + f" (sources {results.get('skbayes_sources')})",
        f"- run time: {fmt(results.get('wall_s'))} s; quick settings: "
        f"{results.get('quick')}",
        "",
    ]
    if results.get("ess"):
        lines += _ess_markdown(results["ess"])
    if results.get("bign"):
        lines += _bign_markdown(results["bign"])
    if results.get("sklearn"):
        lines += _sklearn_markdown(results["sklearn"])
    return "\n".join(lines)


# -- main ----------------------------------------------------------------------------
def _versions() -> dict:
    info = machine_info()
    if _has_numpyro():
        import jax
        import numpyro

        info.update(numpyro=numpyro.__version__, jax=jax.__version__)
    return info


SECTIONS = {"ess": section_ess, "bign": section_bign, "sklearn": section_sklearn}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sections", nargs="+", choices=list(SECTIONS), default=list(SECTIONS)
    )
    parser.add_argument("--quick", action="store_true", help="tiny settings")
    parser.add_argument("--out", type=Path, default=RESULTS / "logistic.json")
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="print the docs section from the results in --out; run nothing",
    )
    args = parser.parse_args(argv)
    if args.markdown:
        print(logistic_markdown(json.loads(args.out.read_text())))
        return {}
    sizes = SIZES["quick" if args.quick else "full"]
    results = {
        "machine": _versions(),
        "command": command_line(__file__),
        "quick": args.quick,
        "skbayes_sources": source_fingerprint(),
        "cpu_affinity": sorted(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else None,
        "settings": {name: sizes[name] for name in args.sections},
    }
    start = time.perf_counter()
    with _one_thread():
        _warm_up()
    for name in args.sections:
        section_start = time.perf_counter()
        results[name] = SECTIONS[name](sizes[name])
        results[name]["section_s"] = time.perf_counter() - section_start
        summary = {k: v for k, v in results[name].items() if k != "rows"}
        print(name, json.dumps(summary, indent=1, default=str), flush=True)
    results["wall_s"] = time.perf_counter() - start
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out} ({results['wall_s']:.1f} s)", file=sys.stderr)
    return results


if __name__ == "__main__":
    main()
