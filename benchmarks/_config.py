"""Settings of a ``compare_priors.py`` run: constants, defaults and :class:`Config`.

The full and ``--quick`` defaults live here, with the names of the result
files, so that the tasks, drivers, plots and docs agree on them.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field
from pathlib import Path

from _common import METHODS, REPO_ROOT, Settings, parse_methods

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
    # Folds of 40 rows for 20 features: with fewer rows than features the
    # Laplace prior's NUTS (what "auto" runs for it) took two minutes a fit.
    "grid": {"d": 20, "n": 80, "noise": 2.0, "cv": 2, "seed": 0},
    "figure": {"d": 30, "n": 40, "seed": 0},
}


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


def section_settings(cfg: Config, section: str) -> dict:
    """The settings of one section, as the page's *Runs* list shows them."""
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


def time_limit_for(cfg: Config, method: str) -> float:
    """Seconds one fit of ``method`` may take: MCMC has its own limit."""
    return cfg.time_limit if METHODS[method].mcmc else cfg.fit_time_limit
