"""``make demo``: the tutorial's examples, run through skbayes.

Section 1 is the Beta-Bernoulli coin (exact vs SVI vs NUTS); section 2 is the
sparse regression problem (Gaussian prior vs horseshoe vs LassoCV); section 3
is classification (Bayesian logistic regression vs LogisticRegressionCV).
Run with ``python -m skbayes.demo [--quick]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

from skbayes import (
    BayesianLinearRegression,
    BayesianLogisticRegression,
    BetaBernoulliEstimator,
    HorseshoeRegression,
)
from skbayes.datasets import make_sparse_regression


def timed_fit(est, *data) -> float:
    """Fit ``est`` and return the seconds it took.

    The tables hold the figures; any warning a fit raises (an SVI k-hat, a
    short chain) is the user guide's subject, not the demo's.
    """
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(*data)
    return time.perf_counter() - start


def coin_section() -> None:
    with torch.random.fork_rng():
        torch.manual_seed(123)
        x = torch.distributions.Bernoulli(0.65).sample([100]).numpy()
    k, n = int(x.sum()), len(x)
    print(f"1. Beta-Bernoulli: {k} successes in {n} draws of Bernoulli(0.65)")
    print(f"   exact posterior Beta(1 + {k}, 1 + {n - k})\n")
    print(f"   {'method':<28}{'mean':>8}{'sd':>8}{'2.5%':>8}{'97.5%':>8}{'time':>9}")
    runs = [
        ("exact (conjugate)", dict(inference="exact")),
        ("SVI, Beta guide", dict(inference="svi")),
        ("SVI, AutoDiagonalNormal", dict(inference="svi", guide="diagonal")),
        ("NUTS", dict(inference="nuts", num_samples=2000, num_warmup=500)),
    ]
    for label, params in runs:
        est = BetaBernoulliEstimator(random_state=0, **params)
        elapsed = timed_fit(est, x)
        p = est.sample_posterior(20_000, random_state=1)["p"]
        lo, hi = np.quantile(p, [0.025, 0.975])
        print(
            f"   {label:<28}{p.mean():>8.4f}{p.std():>8.4f}{lo:>8.4f}{hi:>8.4f}"
            f"{elapsed:>8.2f}s"
        )
    print()


def regression_section(n_samples: int, n_features: int) -> None:
    from sklearn.linear_model import LassoCV

    X, y, coef = make_sparse_regression(n_samples, n_features, random_state=0)
    print(
        f"2. Sparse regression: n={n_samples}, d={n_features}, "
        f"{int((coef != 0).sum())} non-zero coefficients, noise 0.5\n"
    )
    print(f"   {'method':<36}{'coef RMSE':>10}{'95% cover':>10}{'sigma':>8}{'time':>9}")
    models = [
        ("Gaussian prior N(0, 10^2)", BayesianLinearRegression(random_state=0)),
        ("horseshoe", HorseshoeRegression(random_state=0)),
        (
            "horseshoe, tutorial",
            HorseshoeRegression(inference="svi", noise="point", random_state=0),
        ),
    ]
    for name, est in models:
        elapsed = timed_fit(est, X, y)
        draws = est.posterior_samples_["coef"]
        lo, hi = np.quantile(draws, [0.025, 0.975], axis=0)
        rmse = np.sqrt(np.mean((est.coef_ - coef) ** 2))
        cover = np.mean((lo <= coef) & (coef <= hi))
        sigma = est.posterior_samples_["noise_scale"].mean()
        label = f"{name} ({est.inference_})"
        print(f"   {label:<36}{rmse:>10.3f}{cover:>10.2f}{sigma:>8.3f}{elapsed:>8.2f}s")
    lasso = LassoCV()
    elapsed = timed_fit(lasso, X, y)
    rmse = np.sqrt(np.mean((lasso.coef_ - coef) ** 2))
    print(
        f"   {'LassoCV (sklearn)':<36}{rmse:>10.3f}{'n/a':>10}{'':>8}{elapsed:>8.2f}s"
    )
    print()


def classification_section(quick: bool) -> None:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.metrics import log_loss
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    print(
        f"3. Classification: breast cancer, d={X.shape[1]}, {len(y_train)} rows "
        f"to fit, {len(y_test)} held out\n"
    )
    print(f"   {'method':<34}{'accuracy':>9}{'log loss':>9}{'time':>9}")
    draws = dict(num_samples=300, num_warmup=200) if quick else {}
    models = [
        (
            "normal prior N(0, 2.5^2)",
            BayesianLogisticRegression(random_state=0, **draws),
        ),
        ("normal prior", BayesianLogisticRegression(inference="svi", random_state=0)),
        ("horseshoe", BayesianLogisticRegression("horseshoe", random_state=0, **draws)),
        (
            "LogisticRegressionCV (sklearn)",
            make_pipeline(
                StandardScaler(), LogisticRegressionCV(scoring="neg_log_loss")
            ),
        ),
    ]
    for name, est in models:
        elapsed = timed_fit(est, X_train, y_train)
        proba = est.predict_proba(X_test)
        accuracy = np.mean(est.classes_[proba.argmax(1)] == y_test)
        loss = log_loss(y_test, proba)
        engine = getattr(est, "inference_", None)
        label = name if engine is None else f"{name} ({engine})"
        print(f"   {label:<34}{accuracy:>9.3f}{loss:>9.3f}{elapsed:>8.2f}s")
    print(
        "\n   skbayes' probabilities average over the posterior "
        "(predict_proba(X, return_std=True) gives their sd too)."
    )
    print()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller problems")
    args = parser.parse_args(argv)
    coin_section()
    size = (50, 20) if args.quick else (100, 100)
    regression_section(*size)
    classification_section(args.quick)


if __name__ == "__main__":
    main()
