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

The work is split over modules next to this script: ``_config.py`` (defaults
and :class:`_config.Config`), ``_cells.py`` (data and per-cell tasks),
``_drivers.py`` (the sections' loops over cells), ``_results.py`` (result
files), ``_plots.py``, ``_findings.py`` and ``_report.py`` (the docs page).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from _common import (
    METHODS,
    REPO_ROOT,
    CellRunner,
    command_line,
    limit_threads,
    machine_info,
)
from _config import (
    DEFAULT_DOCS,
    DEFAULT_OUT,
    FILES,
    SECTIONS,
    SPARSITIES,
    Config,
    resolve_config,
    section_settings,
)
from _drivers import DRIVERS, log
from _plots import plot_synthetic
from _report import rel_path, write_docs
from _results import load_json, write_json, write_medians, write_real_means


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
        help=f"regenerate the docs page [{rel_path(DEFAULT_DOCS, REPO_ROOT)}]",
    )
    add(
        "--docs-figures",
        type=Path,
        help="copy the PNGs into this folder under docs/ and show them on the page",
    )
    add("--docs-only", action="store_true", help="run nothing, only --write-docs")
    return parser


def _record_meta(
    cfg: Config, section: str, machine: dict, wall: float, fingerprint: str
) -> None:
    """Add this run to the section's runs (replacing them unless ``--merge``)."""
    path = cfg.out / FILES["meta"]
    meta = load_json(path) or {}
    # Only the CSV sections merge rows; the others replace their results.
    merged = cfg.merge and section in ("synthetic", "real")
    runs = meta.get(section, []) if merged else []
    runs.append(
        {
            "started": machine["date"],
            "command": command_line(__file__),
            "wall_time_s": wall,
            "machine": machine,
            "settings": section_settings(cfg, section),
            "skbayes_fingerprint": fingerprint,
        }
    )
    meta[section] = runs
    write_json(path, meta)


def run_sections(cfg: Config) -> None:
    """Run the chosen sections, writing results, medians and plots."""
    cfg.out.mkdir(parents=True, exist_ok=True)
    with CellRunner() as runner:
        # Taken with the runner's snapshot of skbayes: the code that runs.
        machine = machine_info()
        for section in cfg.sections:
            start = time.perf_counter()
            result = DRIVERS[section](cfg, runner)
            if section == "synthetic":
                medians = write_medians(result, cfg.out / FILES["medians"])
                plot_synthetic(medians, cfg.out)
            elif section == "real":
                write_real_means(result, cfg.out / FILES["real_means"])
            wall = time.perf_counter() - start
            _record_meta(cfg, section, machine, wall, runner.fingerprint)
            log(f"== {section} done in {wall:.1f} s")


def main(argv=None) -> int:
    limit_threads()  # inherited by the worker process, which imports numpy afresh
    args = build_parser().parse_args(argv)
    cfg = resolve_config(args)
    start = time.perf_counter()
    if not args.docs_only:
        run_sections(cfg)
    if args.write_docs is not None:
        write_docs(cfg.out, args.write_docs, args.docs_figures)
    log(f"total {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
