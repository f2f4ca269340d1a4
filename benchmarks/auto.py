"""The auto engine: default fits against the estimators they replace.

Sections, each timed against its peers in the same run, alternating, on one
thread:

``sklearn``
    Default ``BayesianLinearRegression().fit`` against ``BayesianRidge`` and
    default ``HorseshoeRegression().fit`` against ``ARDRegression``, at
    n=200, d=50 with 10 non-zero coefficients, over data seeds: median wall
    time (each fit timed 3 times, after a first fit outside the timings,
    whose seconds are reported apart), coefficient RMSE and the engine
    ``"auto"`` chose.
``noise``
    The tutorial's point estimate of the horseshoe's noise scale (SVI,
    ``noise="point"``) against the posterior mean of the default fit, on the
    tutorial's problem (n = d = 100).
``exact``
    The normal prior's exact engine against its Gibbs sampler on the same
    data: largest |difference of means| in Monte Carlo sds, and sd ratios.
``choice``
    Wall time of what ``"auto"`` picks near its size limits: Polya-Gamma
    Gibbs for the classifier, NUTS for a Laplace prior.
``tau`` (only when named)
    The horseshoe Gibbs sampler's moves of the global scale ``tau``
    (``tau_update``: conjugate, marginal, both) at n=200, d=50 and n=60,
    d=120: effective draws per second of ``tau`` and of the worst
    coefficient, 2 chains of 2,000 draws.
``sweep`` (only when named)
    Seconds per horseshoe Gibbs sweep (2 chains, Rue's sampler, the marginal
    move of ``tau``) on the numba, numpy and torch backends, for d from 5
    to 100, against the floor of each: one d x d Cholesky factorisation and
    two triangular solves per chain, called from Python (numpy, torch) or
    inside one compiled loop (numba).
``grid`` (only when named)
    ``GridSearchCV`` of ``BayesianLinearRegression`` over the normal,
    Laplace and horseshoe priors with 5 folds, at n=200, d=50, against a
    3-point grid of ``ARDRegression``: wall time, and each prior's mean fit
    time.
``n_jobs`` (only when named)
    The ``grid`` search of one data set with ``n_jobs=1`` and then
    ``n_jobs=2`` twice: the first parallel search pays for starting joblib's
    worker processes (each imports torch, Pyro and skbayes), the second
    reuses them.
``rhs_nuts`` (only when named)
    NUTS on the regularised horseshoe at n=100, d=5, the reason ``"auto"``
    never picks it there.

Run ``python benchmarks/auto.py [--sections sklearn noise exact choice
rhs_nuts tau sweep grid n_jobs] [--seeds N]``; results go to
``benchmarks/results/auto.json`` and a Markdown summary to stdout.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from _common import command_line, fmt, machine_info, markdown_table, one_thread
from sklearn.linear_model import ARDRegression, BayesianRidge

from skbayes import (
    BayesianLinearRegression,
    BayesianLogisticRegression,
    HorseshoeRegression,
)
from skbayes.datasets import make_sparse_regression

RESULTS = Path(__file__).parent / "results"


def _timed(est, X, y) -> tuple[float, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        est.fit(X, y)
        seconds = time.perf_counter() - start
    return seconds, sorted({str(w.message)[:120] for w in caught})


def _rmse(a, b) -> float:
    return float(np.sqrt(np.mean((np.asarray(a) - b) ** 2)))


PAIRS = {
    "BayesianLinearRegression": (
        lambda seed: BayesianLinearRegression(random_state=seed),
        lambda seed: BayesianRidge(),
        "BayesianRidge",
    ),
    "HorseshoeRegression": (
        lambda seed: HorseshoeRegression(random_state=seed),
        lambda seed: ARDRegression(),
        "ARDRegression",
    ),
}


#: Timings of one fit per data seed and estimator; the median is kept.
REPEATS = 3


def section_sklearn(seeds: int) -> dict:
    out = {}
    for name, (ours, theirs, peer) in PAIRS.items():
        # The first fit of a process also imports lazily and loads compiled
        # code from numba's on-disk cache (compiling it on a new
        # installation): a one-off cost, recorded apart from the timings.
        X, y, _ = make_sparse_regression(200, 50, n_nonzero=10, random_state=0)
        first_s, _ = _timed(ours(0), X, y)
        rows = []
        for seed in range(seeds):
            X, y, coef = make_sparse_regression(
                200, 50, n_nonzero=10, random_state=seed
            )
            # Alternate which runs first, so that neither always gets a warm cache.
            order = [("ours", ours), ("peer", theirs)]
            if seed % 2:
                order.reverse()
            row = {"seed": seed}
            for role, make in order:
                times = []
                for _ in range(REPEATS):
                    est = make(seed)
                    seconds, caught = _timed(est, X, y)
                    times.append(seconds)
                row[f"{role}_s"] = float(np.median(times))
                row[f"{role}_rmse"] = _rmse(est.coef_, coef)
                if role == "ours":
                    row["engine"] = est.inference_
                    row["warnings"] = caught
            rows.append(row)
        med = {
            k: float(np.median([r[k] for r in rows]))
            for k in rows[0]
            if k.endswith(("_s", "_rmse"))
        }
        out[name] = {
            "peer": peer,
            "first_fit_s": first_s,
            "rows": rows,
            "median": med,
            "time_ratio": med["ours_s"] / med["peer_s"],
            "engine": rows[0]["engine"],
        }
    return out


def section_noise() -> dict:
    X, y, _ = make_sparse_regression(100, 100, random_state=0)
    tutorial = HorseshoeRegression(inference="svi", noise="point", random_state=0)
    t_tutorial, w_tutorial = _timed(tutorial, X, y)
    default = HorseshoeRegression(num_chains=2, random_state=0)
    t_default, w_default = _timed(default, X, y)
    sigma = default.posterior_samples_["noise_scale"]
    return {
        "tutorial_point_sigma": float(tutorial.noise_scale_),
        "tutorial_s": t_tutorial,
        "tutorial_warnings": w_tutorial,
        "default_engine": default.inference_,
        "default_sigma_mean": float(sigma.mean()),
        "default_sigma_sd": float(sigma.std()),
        "default_s": t_default,
        "default_warnings": w_default,
    }


def section_exact(seeds: int) -> dict:
    rows = []
    for seed in range(seeds):
        X, y, _ = make_sparse_regression(200, 50, n_nonzero=10, random_state=seed)
        exact = BayesianLinearRegression(random_state=seed, num_samples=4000)
        t_exact, _ = _timed(exact, X, y)
        gibbs = BayesianLinearRegression(
            inference="gibbs", num_chains=2, num_samples=2000, random_state=seed
        )
        t_gibbs, _ = _timed(gibbs, X, y)
        a, b = exact.posterior_samples_, gibbs.posterior_samples_
        worst_z, ratios = 0.0, []
        for site in ("coef", "noise_scale", "intercept"):
            da, db = np.atleast_2d(a[site].T).T, np.atleast_2d(b[site].T).T
            sd = db.std(0)
            # Both are nearly independent draws: Monte Carlo sd of the
            # difference of means from the draw counts.
            mc = sd * np.sqrt(1 / len(da) + 1 / len(db))
            worst_z = max(worst_z, float(np.max(np.abs(da.mean(0) - db.mean(0)) / mc)))
            ratios.extend((da.std(0) / sd).tolist())
        rows.append(
            {
                "seed": seed,
                "exact_s": t_exact,
                "gibbs_s": t_gibbs,
                "max_z": worst_z,
                "sd_ratio_min": min(ratios),
                "sd_ratio_max": max(ratios),
            }
        )
    return {"rows": rows}


def section_choice() -> dict:
    rng = np.random.default_rng(0)
    out = {}
    for n, d in [(2_000, 20), (25_000, 20)]:
        X = rng.standard_normal((n, d))
        y = (X @ rng.normal(0, 0.3, d) + rng.logistic(size=n) > 0).astype(int)
        est = BayesianLogisticRegression(random_state=0)
        seconds, caught = _timed(est, X, y)
        out[f"logistic_{n}x{d}"] = {
            "engine": est.inference_,
            "s": seconds,
            "warnings": caught,
        }
    X, y, _ = make_sparse_regression(250, 20, n_nonzero=5, random_state=0)
    est = BayesianLinearRegression("laplace", random_state=0)
    seconds, caught = _timed(est, X, y)
    out["laplace_250x20"] = {"engine": est.inference_, "s": seconds, "warnings": caught}
    return out


def section_tau(seeds: int) -> dict:
    import torch

    from skbayes.inference.gibbs import run_gibbs
    from skbayes.posterior import effective_sample_size

    rows = []
    for n, d in [(200, 50), (60, 120)]:
        for seed in range(seeds):
            X, y, _ = make_sparse_regression(n, d, n_nonzero=10, random_state=seed)
            Xc = torch.as_tensor(X - X.mean(0))
            yc = torch.as_tensor(y - y.mean())
            for tau_update in ("conjugate", "marginal", "both"):
                start = time.perf_counter()
                draws = run_gibbs(
                    Xc,
                    yc,
                    prior="horseshoe",
                    tau_update=tau_update,
                    num_samples=2000,
                    num_chains=2,
                    seed=seed,
                ).samples
                seconds = time.perf_counter() - start
                tau_ess = float(effective_sample_size(draws["tau"]))
                coef_ess = float(effective_sample_size(draws["coef"]).min())
                rows.append(
                    {
                        "n": n,
                        "d": d,
                        "seed": seed,
                        "tau_update": tau_update,
                        "s": seconds,
                        "tau_ess_per_s": tau_ess / seconds,
                        "coef_min_ess_per_s": coef_ess / seconds,
                    }
                )
    return {"rows": rows}


def _floor_seconds(d: int, chains: int, backend: str, repeats: int) -> float:
    """One Cholesky factorisation and two triangular solves per chain, d x d."""
    import torch
    from scipy.linalg import lapack

    rng = np.random.default_rng(0)
    A = rng.normal(size=(2 * d, d))
    matrix = np.eye(d) + A.T @ A
    b = rng.normal(size=d)
    if backend == "numpy":

        def once():
            for _ in range(chains):
                chol, _ = lapack.dpotrf(matrix, lower=1, clean=0)
                half, _ = lapack.dtrtrs(chol, b, lower=1)
                lapack.dtrtrs(chol, half, lower=1, trans=1)
    else:
        batch = torch.as_tensor(matrix).expand(chains, d, d).contiguous()
        rhs = torch.as_tensor(b).expand(chains, d).unsqueeze(-1).contiguous()

        def once():
            chol, _ = torch.linalg.cholesky_ex(batch)
            half = torch.linalg.solve_triangular(chol, rhs, upper=False)
            torch.linalg.solve_triangular(chol.mT, half, upper=True)

    once()
    start = time.perf_counter()
    for _ in range(repeats):
        once()
    return (time.perf_counter() - start) / repeats


def _compiled_floor_seconds(d: int, chains: int, repeats: int) -> float:
    """The same linear algebra inside one compiled loop: no calls to pay for.

    It uses the compiled sweeps' own factorisation and solves, so that it is
    the floor of exactly what they do.
    """
    import numba

    from skbayes.inference.gibbs import _rue_loop as compiled

    factor = compiled._cholesky_into
    lower, upper = compiled._solve_lower, compiled._solve_lower_transposed

    @numba.njit
    def loop(matrix, b, chol, half, z, count):
        for _ in range(count):
            for _ in range(chains):
                factor(matrix, chol)
                lower(chol, b, half)
                upper(chol, half, z)

    rng = np.random.default_rng(0)
    A = rng.normal(size=(2 * d, d))
    matrix = np.eye(d) + A.T @ A
    b = rng.normal(size=d)
    buffers = (np.zeros((d, d)), np.zeros(d), np.zeros(d))
    loop(matrix, b, *buffers, 1)
    start = time.perf_counter()
    loop(matrix, b, *buffers, repeats)
    return (time.perf_counter() - start) / repeats


def section_sweep(seeds: int) -> dict:
    """Seconds per horseshoe Gibbs sweep (2 chains, Rue, marginal tau move).

    Each is the difference of two runs, 2,000 and 1,000 sweeps long, over
    1,000: the sweeps' cost without a run's fixed set-up.
    """
    import torch

    from skbayes.inference.gibbs import run_gibbs

    rows = []
    for d in (5, 10, 20, 50, 100):
        n = max(200, 2 * d)
        X, y, _ = make_sparse_regression(
            n, d, n_nonzero=min(10, d // 2), random_state=0
        )
        Xc, yc = torch.as_tensor(X - X.mean(0)), torch.as_tensor(y - y.mean())
        row = {"n": n, "d": d}
        for backend in ("numba", "numpy", "torch"):
            times = []
            for seed in range(seeds):
                # The difference of a run of 2,000 sweeps and one of 1,000:
                # the cost of 1,000 sweeps without the run's fixed set-up.
                lengths = []
                for count in (1000, 2000):
                    start = time.perf_counter()
                    run_gibbs(
                        Xc,
                        yc,
                        prior="horseshoe",
                        backend=backend,
                        num_samples=count,
                        num_warmup=0,
                        num_chains=2,
                        seed=seed,
                    )
                    lengths.append(time.perf_counter() - start)
                times.append((lengths[1] - lengths[0]) / 1000)
            row[f"{backend}_sweep_s"] = float(np.median(times))
            if backend != "numba":
                row[f"{backend}_floor_s"] = _floor_seconds(d, 2, backend, 2000)
        row["compiled_floor_s"] = _compiled_floor_seconds(d, 2, 20000)
        row["speedup"] = row["torch_sweep_s"] / row["numpy_sweep_s"]
        row["numpy_over_floor"] = row["numpy_sweep_s"] / row["numpy_floor_s"]
        row["numba_over_numpy_floor"] = row["numba_sweep_s"] / row["numpy_floor_s"]
        row["numba_over_compiled_floor"] = (
            row["numba_sweep_s"] / row["compiled_floor_s"]
        )
        rows.append(row)
    return {"rows": rows}


def section_grid(seeds: int) -> dict:
    """GridSearchCV over three priors x 5 folds against an ARD grid."""
    from sklearn.model_selection import GridSearchCV

    rows = []
    for seed in range(seeds):
        X, y, _ = make_sparse_regression(200, 50, n_nonzero=10, random_state=seed)
        ours = GridSearchCV(
            BayesianLinearRegression(random_state=seed),
            {"prior": ["normal", "laplace", "horseshoe"]},
            cv=5,
        )
        theirs = GridSearchCV(ARDRegression(), {"alpha_1": [1e-6, 1e-5, 1e-4]}, cv=5)
        row = {"seed": seed}
        for role, search in (("ours", ours), ("peer", theirs)):
            seconds, caught = _timed(search, X, y)
            row[f"{role}_s"] = seconds
            if role == "ours":
                times = search.cv_results_["mean_fit_time"]
                row["fit_s_by_prior"] = dict(
                    zip(["normal", "laplace", "horseshoe"], times.tolist(), strict=True)
                )
                row["best"] = search.best_params_["prior"]
                row["warnings"] = caught
        rows.append(row)
    return {
        "rows": rows,
        "median_s": float(np.median([r["ours_s"] for r in rows])),
        "median_peer_s": float(np.median([r["peer_s"] for r in rows])),
    }


def section_n_jobs() -> dict:
    """The prior grid serially and on two joblib workers, cold and warm."""
    from sklearn.model_selection import GridSearchCV

    X, y, _ = make_sparse_regression(200, 50, n_nonzero=10, random_state=0)
    row = {}
    for label, n_jobs in (("serial", 1), ("two_workers_first", 2), ("two_workers", 2)):
        search = GridSearchCV(
            BayesianLinearRegression(random_state=0),
            {"prior": ["normal", "laplace", "horseshoe"]},
            cv=5,
            n_jobs=n_jobs,
        )
        row[f"{label}_s"], row[f"{label}_warnings"] = _timed(search, X, y)
        row[f"{label}_best"] = search.best_params_["prior"]
        row[f"{label}_scores"] = search.cv_results_["mean_test_score"].tolist()
    return row


def section_rhs_nuts() -> dict:
    X, y, _ = make_sparse_regression(100, 5, n_nonzero=2, random_state=0)
    est = HorseshoeRegression(regularized=True, inference="nuts", random_state=0)
    seconds, caught = _timed(est, X, y)
    return {"s": seconds, "warnings": caught}


def markdown(results: dict) -> str:
    lines = [
        f"Command: `{results['command']}`; {results['machine']['cpu']}, "
        f"{results['machine']['date']}.",
        "",
    ]
    sk = results.get("sklearn")
    if sk:
        rows = [
            [
                name,
                r["engine"],
                fmt(r["median"]["ours_s"]),
                r["peer"],
                fmt(r["median"]["peer_s"]),
                fmt(r["time_ratio"], 2),
                fmt(r["median"]["ours_rmse"]),
                fmt(r["median"]["peer_rmse"]),
                fmt(r.get("first_fit_s")),
            ]
            for name, r in sk.items()
        ]
        lines += [
            markdown_table(
                [
                    "estimator",
                    "auto chose",
                    "fit s",
                    "peer",
                    "peer s",
                    "time ratio",
                    "coef RMSE",
                    "peer RMSE",
                    "first fit s",
                ],
                rows,
            ),
            "",
        ]
    if "noise" in results:
        nz = results["noise"]
        lines += [
            "Horseshoe noise scale on the tutorial's problem: the point estimate "
            f'(SVI, noise="point") {fmt(nz["tutorial_point_sigma"])}; the default '
            f"fit ({nz['default_engine']}, 2 chains) has posterior mean "
            f"{fmt(nz['default_sigma_mean'])} (sd {fmt(nz['default_sigma_sd'])}), "
            f"in {fmt(nz['default_s'])} s.",
            "",
        ]
    if "exact" in results:
        rows = [
            [
                r["seed"],
                fmt(r["exact_s"]),
                fmt(r["gibbs_s"]),
                fmt(r["max_z"], 2),
                f"{r['sd_ratio_min']:.3f}-{r['sd_ratio_max']:.3f}",
            ]
            for r in results["exact"]["rows"]
        ]
        lines += [
            markdown_table(
                ["seed", "exact s", "Gibbs s", "max abs z", "sd ratio"], rows
            ),
            "",
        ]
    if "choice" in results:
        rows = [[k, v["engine"], fmt(v["s"])] for k, v in results["choice"].items()]
        lines += [markdown_table(["fit", "auto chose", "s"], rows), ""]
    if "tau" in results:
        rows = [
            [
                f"{r['n']} x {r['d']}",
                r["seed"],
                r["tau_update"],
                fmt(r["s"]),
                fmt(r["tau_ess_per_s"]),
                fmt(r["coef_min_ess_per_s"]),
            ]
            for r in results["tau"]["rows"]
        ]
        header = ["n x d", "seed", "tau_update", "s", "tau ESS/s", "min coef ESS/s"]
        lines += [markdown_table(header, rows), ""]
    if "sweep" in results:
        rows = [
            [
                f"{r['n']} x {r['d']}",
                f"{r['numba_sweep_s'] * 1e6:.1f}",
                f"{r['numpy_sweep_s'] * 1e6:.0f}",
                f"{r['torch_sweep_s'] * 1e6:.0f}",
                f"{r['compiled_floor_s'] * 1e6:.1f}",
                f"{r['numpy_floor_s'] * 1e6:.0f}",
                f"{r['torch_floor_s'] * 1e6:.0f}",
                fmt(r["numba_over_compiled_floor"], 2),
                fmt(r["numba_over_numpy_floor"], 2),
                fmt(r["numpy_over_floor"], 2),
            ]
            for r in results["sweep"]["rows"]
        ]
        header = [
            "n x d",
            "numba us/sweep",
            "numpy us/sweep",
            "torch us/sweep",
            "compiled floor us",
            "numpy floor us",
            "torch floor us",
            "numba / compiled floor",
            "numba / numpy floor",
            "numpy / numpy floor",
        ]
        lines += [markdown_table(header, rows), ""]
    if "grid" in results:
        rows = [
            [
                r["seed"],
                fmt(r["ours_s"]),
                " / ".join(fmt(v) for v in r["fit_s_by_prior"].values()),
                r["best"],
                fmt(r["peer_s"]),
            ]
            for r in results["grid"]["rows"]
        ]
        header = [
            "seed",
            "3 priors x 5 folds, s",
            "mean fit s: normal / laplace / horseshoe",
            "best prior",
            "ARD grid s",
        ]
        lines += [markdown_table(header, rows), ""]
    if "rhs_nuts" in results:
        seconds = fmt(results["rhs_nuts"]["s"])
        lines.append(f"Regularised horseshoe, NUTS, n=100, d=5: {seconds} s.")
    return "\n".join(lines)


SECTIONS = {
    "sklearn": lambda args: section_sklearn(args.seeds),
    "noise": lambda args: section_noise(),
    "exact": lambda args: section_exact(args.seeds),
    "choice": lambda args: section_choice(),
    "rhs_nuts": lambda args: section_rhs_nuts(),
    "tau": lambda args: section_tau(args.seeds),
    "sweep": lambda args: section_sweep(args.seeds),
    "grid": lambda args: section_grid(args.seeds),
    "n_jobs": lambda args: section_n_jobs(),
}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sections",
        nargs="+",
        default=["sklearn", "noise", "exact", "choice"],
        choices=sorted(SECTIONS),
    )
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS / "auto.json")
    args = parser.parse_args(argv)
    results = {
        "command": command_line("auto.py") + " " + " ".join(argv or []),
        "machine": machine_info(),
    }
    with one_thread():
        for name in args.sections:
            results[name] = SECTIONS[name](args)
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(markdown(results))
    return results


if __name__ == "__main__":
    main()
