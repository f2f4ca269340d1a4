"""p >> n: the horseshoe with many more features than rows.

Sections, each timed against its peers in the same run:

``default``
    At n = 200, d = 5000 with 10 non-zero coefficients (the scale issue's
    problem): ``LassoCV``, the default ``HorseshoeRegression().fit`` (exact
    Gibbs) and ``HorseshoeRegression(approximate_threshold=1e-4)``: wall
    time, coefficient RMSE, the smallest effective sample size of ``coef``
    and ``tau``, and any warning.
``sweep``
    Seconds per Gibbs sweep (2 chains) after a warm-up, for the exact
    sampler on the numpy and torch backends and the approximate one on
    numpy, from d = 1000 to 50,000, with the number of active columns of
    the approximate sampler.
``memory``
    What a whole default fit (100 draws per chain) adds to the resident
    memory at its peak (``/proc/self/clear_refs`` resets the peak before the
    fit), as a multiple of the size of X, at n = 500 and d up to 50,000: in
    a fresh process ("cold": the first fit also loads the code it runs),
    and after a warm-up fit on a small wide problem ("warm": what grows
    with the data).
``agreement``
    The approximate sampler against the exact one on one data set: the
    largest difference of posterior means over the coefficients, in
    posterior sds and in Monte Carlo sds of the difference, and effective
    draws per second of both.

``scale`` (only when named)
    At n = 500, d = 50,000 (the scale issue's largest problem), exact Gibbs
    and the approximate option, 2 chains of ``SCALE_DRAWS`` draws after
    ``SCALE_WARMUP`` sweeps: seconds per 1,000 effective draws of the
    slowest coefficient and of ``tau``. It takes about a quarter of an hour.
``numpyro`` (only when named)
    The default fit at n = 200, d = 1000 against NumPyro's NUTS on the same
    model: minimum effective draws per second over the coefficients.

Run ``python benchmarks/wide.py [--sections default sweep memory agreement
numpyro]``;
results go to ``benchmarks/results/wide.json`` and a Markdown summary to
stdout.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _common import command_line, fmt, machine_info, markdown_table

from skbayes.datasets import make_sparse_regression

RESULTS = Path(__file__).parent / "results"
THRESHOLD = 1e-4


def _rmse(a, b) -> float:
    return float(np.sqrt(np.mean((np.asarray(a) - b) ** 2)))


def _min_ess(est, name: str) -> float:
    return float(np.min(est.diagnostics_["n_eff"][name]))


def section_default(seeds: int) -> dict:
    """LassoCV against the default and the approximate horseshoe at d = 5000."""
    from sklearn.linear_model import LassoCV

    from skbayes import HorseshoeRegression

    rows = []
    for seed in range(seeds):
        X, y, coef = make_sparse_regression(200, 5000, n_nonzero=10, random_state=seed)
        fits = {
            "LassoCV": LassoCV(),
            "HorseshoeRegression()": HorseshoeRegression(random_state=seed),
            f"approximate_threshold={THRESHOLD:g}": HorseshoeRegression(
                approximate_threshold=THRESHOLD, random_state=seed
            ),
        }
        for name, est in fits.items():
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                start = time.perf_counter()
                est.fit(X, y)
                seconds = time.perf_counter() - start
            row = {
                "seed": seed,
                "method": name,
                "seconds": seconds,
                "rmse": _rmse(est.coef_, coef),
                "warnings": sorted({str(w.message)[:160] for w in caught}),
            }
            if hasattr(est, "diagnostics_"):
                row["draws_per_chain"] = len(est.posterior_samples_["coef"]) // 2
                row["min_ess_coef"] = _min_ess(est, "coef")
                row["min_ess_tau"] = _min_ess(est, "tau")
            rows.append(row)
            print(row, file=sys.stderr)
    return {"n": 200, "d": 5000, "rows": rows}


def _sweep_seconds(Xc, yc, backend, threshold, warmup: int, sweeps: int) -> tuple:
    """Seconds per sweep after ``warmup`` sweeps, and the active columns."""
    import torch

    from skbayes.inference.gibbs import GIBBS_KERNELS
    from skbayes.priors import Horseshoe, InverseGamma

    kernel = GIBBS_KERNELS["horseshoe"](
        Horseshoe(),
        noise="prior",
        noise_prior=InverseGamma(0.1, 0.1),
        fit_intercept=True,
        sampler="bhattacharya",
        backend=backend,
        approximate_threshold=threshold,
    )
    g = torch.Generator().manual_seed(0)
    state = kernel.init(Xc, yc, num_chains=2, num_warmup=warmup, generator=g)
    _, state = kernel.run_sweeps(state, 1, num_warmup=warmup)
    start = time.perf_counter()
    _, state = kernel.run_sweeps(state, sweeps, first=warmup + 1)
    seconds = (time.perf_counter() - start) / sweeps
    active = None
    if threshold is not None:
        sweeps_cpu = kernel._cpu
        tau2, lam2 = state.tau2.numpy(), state.lam2.numpy()
        var = state.noise_var.numpy()
        active = int(
            np.mean(
                [
                    len(sweeps_cpu._active(t, la, v))
                    for t, la, v in zip(tau2, lam2, var, strict=True)
                ]
            )
        )
    return seconds, active


def section_sweep(seeds: int) -> dict:
    """Seconds per sweep, exact (numpy, torch) and approximate (numpy)."""
    import torch

    rows = []
    for n, d in ((200, 1000), (200, 5000), (500, 20_000), (500, 50_000)):
        X, y, _ = make_sparse_regression(n, d, n_nonzero=10, random_state=0)
        Xc, yc = torch.as_tensor(X - X.mean(0)), torch.as_tensor(y - y.mean())
        sweeps = 20 if d <= 5000 else 3
        row = {"n": n, "d": d}
        for label, backend, threshold in (
            ("exact_numpy", "numpy", None),
            ("exact_torch", "torch", None),
            ("approximate_numpy", "numpy", THRESHOLD),
        ):
            seconds, active = _sweep_seconds(Xc, yc, backend, threshold, 100, sweeps)
            row[f"{label}_s"] = seconds
            if active is not None:
                row["active_columns"] = active
        print(row, file=sys.stderr)
        rows.append(row)
    return {"warmup": 100, "rows": rows}


_MEMORY_CHILD = """
import re, sys, warnings
from skbayes import HorseshoeRegression
from skbayes.datasets import make_sparse_regression

def status(field):
    text = open("/proc/self/status").read()
    return int(re.search(field + r":\\s+(\\d+) kB", text).group(1)) * 1024

n, d, threshold = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
warm = sys.argv[4] == "warm"
warnings.simplefilter("ignore")
options = dict(
    num_samples=100, num_warmup=50, target_ess=None, random_state=0,
    approximate_threshold=None if threshold == "none" else float(threshold),
)
if warm:
    # The same fit on a small wide problem first: it loads the code a fit
    # uses (imports, compiled functions) once per process, so that what is
    # measured next is the memory that grows with the data.
    HorseshoeRegression(**options).fit(*make_sparse_regression(20, 60)[:2])
X, y, _ = make_sparse_regression(n, d, n_nonzero=10, random_state=0)
before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # resets VmHWM, the peak, to the current RSS
HorseshoeRegression(**options).fit(X, y)
print(before, status("VmHWM"), X.nbytes)
"""


def section_memory(seeds: int) -> dict:
    """Peak RSS of a fit in a fresh process, against the size of X."""
    rows = []
    for n, d in ((500, 5000), (500, 20_000), (500, 50_000)):
        for threshold, start in itertools.product(
            ("none", str(THRESHOLD)), ("cold", "warm")
        ):
            command = [sys.executable, "-c", _MEMORY_CHILD, str(n), str(d)]
            out = subprocess.run(
                [*command, threshold, start],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            before, peak, x_bytes = (int(v) for v in out)
            row = {
                "n": n,
                "d": d,
                "approximate_threshold": threshold,
                # "cold": the process's first fit, which also loads code.
                "start": start,
                "x_mib": x_bytes / 2**20,
                # What the fit added to the resident memory at its peak, and
                # that plus X itself, over the size of X.
                "fit_added_over_x": (peak - before) / x_bytes,
                "fit_peak_over_x": (peak - before + x_bytes) / x_bytes,
                # coef, lambda and z: 2 chains x 100 draws x d float64s each.
                "draws_mib": 2 * 100 * d * 8 * 3 / 2**20,
            }
            print(row, file=sys.stderr)
            rows.append(row)
    return {"draws_per_chain": 100, "rows": rows}


def section_agreement(seeds: int) -> dict:
    """Approximate against exact: mean differences and effective draws/s."""
    import torch

    from skbayes.inference.gibbs import run_gibbs
    from skbayes.posterior import effective_sample_size

    n, d = 100, 1000
    X, y, _ = make_sparse_regression(n, d, n_nonzero=10, random_state=0)
    Xc, yc = torch.as_tensor(X - X.mean(0)), torch.as_tensor(y - y.mean())
    runs = {}
    for threshold in (None, THRESHOLD):
        start = time.perf_counter()
        draws = run_gibbs(
            Xc,
            yc,
            prior="horseshoe",
            num_samples=4000,
            num_warmup=500,
            num_chains=2,
            seed=1,
            approximate_threshold=threshold,
        ).samples
        seconds = time.perf_counter() - start
        coef = draws["coef"].double()
        runs[threshold] = {
            "seconds": seconds,
            "mean": coef.mean((0, 1)).numpy(),
            "sd": coef.std((0, 1)).numpy(),
            "ess": effective_sample_size(coef).numpy(),
            "ess_tau": float(effective_sample_size(draws["tau"].double())),
        }
    exact, approx = runs[None], runs[THRESHOLD]
    diff = (approx["mean"] - exact["mean"]) / exact["sd"]
    # Monte Carlo sd of the difference of the two means, in posterior sds.
    mc = (
        np.sqrt(exact["sd"] ** 2 / exact["ess"] + approx["sd"] ** 2 / approx["ess"])
        / exact["sd"]
    )
    return {
        "n": n,
        "d": d,
        "draws_per_chain": 4000,
        "max_abs_diff_sd": float(np.abs(diff).max()),
        "median_abs_diff_sd": float(np.median(np.abs(diff))),
        "max_abs_diff_mc_sd": float(np.abs(diff / mc).max()),
        "median_mc_sd": float(np.median(mc)),
        "sd_ratio_range": [
            float((approx["sd"] / exact["sd"]).min()),
            float((approx["sd"] / exact["sd"]).max()),
        ],
        **{
            f"{label}_{key}": value
            for label, run in (("exact", exact), ("approximate", approx))
            for key, value in (
                ("seconds", run["seconds"]),
                ("min_ess_coef", float(run["ess"].min())),
                ("ess_tau", run["ess_tau"]),
            )
        },
    }


#: Draws per chain and warm-up sweeps of the ``scale`` section.
SCALE_DRAWS, SCALE_WARMUP = 300, 200


def section_scale(seeds: int) -> dict:
    """Seconds per 1,000 effective draws at n = 500, d = 50,000."""
    import torch

    from skbayes.inference.gibbs import run_gibbs
    from skbayes.posterior import mcmc_diagnostics

    n, d = 500, 50_000
    rows = []
    for seed in range(seeds):
        X, y, coef = make_sparse_regression(n, d, n_nonzero=10, random_state=seed)
        Xc, yc = torch.as_tensor(X - X.mean(0)), torch.as_tensor(y - y.mean())
        del X
        for threshold in (None, THRESHOLD):
            start = time.perf_counter()
            draws = run_gibbs(
                Xc,
                yc,
                prior="horseshoe",
                num_samples=SCALE_DRAWS,
                num_warmup=SCALE_WARMUP,
                num_chains=2,
                seed=seed,
                approximate_threshold=threshold,
                sites=("coef", "tau", "noise_var"),
            ).samples
            seconds = time.perf_counter() - start
            n_eff, r_hat = mcmc_diagnostics({k: v.numpy() for k, v in draws.items()})
            min_ess = float(np.min(n_eff["coef"]))
            ess_tau = float(n_eff["tau"])
            row = {
                "seed": seed,
                "approximate_threshold": "none" if threshold is None else threshold,
                "seconds": seconds,
                "sweeps": SCALE_WARMUP + SCALE_DRAWS,
                "min_ess_coef": min_ess,
                "ess_tau": ess_tau,
                "ess_noise_var": float(n_eff["noise_var"]),
                "max_rhat": max(float(np.nanmax(v)) for v in r_hat.values()),
                "s_per_1000_ess_coef": 1000 * seconds / min_ess,
                "s_per_1000_ess_tau": 1000 * seconds / ess_tau,
                "coef_rmse": _rmse(draws["coef"].mean((0, 1)).numpy(), coef),
            }
            rows.append(row)
            print(row, file=sys.stderr)
    return {"n": n, "d": d, "rows": rows}


def markdown(results: dict) -> str:
    """The results as the tables of docs/benchmarks.md."""
    out = [f"Command: `{results['command']}`", ""]
    if "default" in results:
        rows = [
            [
                r["seed"],
                r["method"],
                fmt(r["seconds"]),
                fmt(r["rmse"]),
                str(r.get("draws_per_chain", "")),
                fmt(r["min_ess_coef"]) if "min_ess_coef" in r else "",
                fmt(r["min_ess_tau"]) if "min_ess_tau" in r else "",
                "yes" if r["warnings"] else "",
            ]
            for r in results["default"]["rows"]
        ]
        header = [
            "seed",
            "fit",
            "s",
            "coef RMSE",
            "draws/chain",
            "min ESS coef",
            "ESS tau",
            "warned",
        ]
        out += [markdown_table(header, rows), ""]
    if "sweep" in results:
        rows = [
            [
                str(r["n"]),
                str(r["d"]),
                fmt(1e3 * r["exact_numpy_s"]),
                fmt(1e3 * r["exact_torch_s"]),
                fmt(1e3 * r["approximate_numpy_s"]),
                str(r["active_columns"]),
            ]
            for r in results["sweep"]["rows"]
        ]
        header = [
            "n",
            "d",
            "exact numpy ms",
            "exact torch ms",
            "approximate ms",
            "active columns",
        ]
        out += [markdown_table(header, rows), ""]
    if "numpyro" in results:
        rows = []
        for r in results["numpyro"]["rows"]:
            for name, label in (
                ("gibbs", "HorseshoeRegression()"),
                ("numpyro", "NumPyro NUTS"),
            ):
                f = r[name]
                rows.append(
                    [
                        str(r["seed"]),
                        label,
                        fmt(f["s"]),
                        fmt(f.get("compile_s")) if name == "numpyro" else "",
                        fmt(f["min_ess_coef"]),
                        fmt(f["min_ess_coef"] / f["s"]),
                        fmt(f["max_rhat_coef"], 3),
                        str(f.get("divergences", "")),
                        fmt(f["coef_rmse"]),
                    ]
                )
        header = [
            "seed",
            "fit",
            "s",
            "compile s",
            "min ESS coef",
            "min ESS/s",
            "max R-hat coef",
            "divergences",
            "coef RMSE",
        ]
        out += [markdown_table(header, rows), ""]
        for r in results["numpyro"]["rows"]:
            out.append(
                f"Seed {r['seed']}: Gibbs min ESS/s over NumPyro's "
                f"{fmt(r['ess_per_s_ratio'])} "
                f"({fmt(r['ess_per_s_ratio_excl_compile'])} excluding NumPyro's "
                "compilation)."
            )
        out.append("")
    if "scale" in results:
        rows = [
            [
                str(r["seed"]),
                str(r["approximate_threshold"]),
                fmt(r["seconds"]),
                str(r["sweeps"]),
                fmt(r["min_ess_coef"]),
                fmt(r["ess_tau"]),
                fmt(r["s_per_1000_ess_coef"]),
                fmt(r["s_per_1000_ess_tau"]),
                fmt(r["max_rhat"], 3),
                fmt(r["coef_rmse"]),
            ]
            for r in results["scale"]["rows"]
        ]
        header = [
            "seed",
            "threshold",
            "s",
            "sweeps",
            "min ESS coef",
            "ESS tau",
            "s / 1000 ESS coef",
            "s / 1000 ESS tau",
            "max R-hat",
            "coef RMSE",
        ]
        out += [markdown_table(header, rows), ""]
    if "memory" in results:
        rows = [
            [
                str(r["n"]),
                str(r["d"]),
                r["approximate_threshold"],
                r.get("start", "cold"),
                r["x_mib"],
                r["fit_peak_over_x"],
                r["fit_added_over_x"],
                r["draws_mib"],
            ]
            for r in results["memory"]["rows"]
        ]
        header = [
            "n",
            "d",
            "threshold",
            "process",
            "X MiB",
            "peak / X",
            "fit's share / X",
            "draws MiB",
        ]
        out += [markdown_table(header, rows), ""]
    if "agreement" in results:
        a = results["agreement"]
        out.append(
            "Agreement at n={n}, d={d}: max |diff| {m} sd (median {md}); max "
            "{mc} MC sd; sd ratio {lo}-{hi}; exact {es} s, min ESS {ee}; "
            "approximate {as_} s, min ESS {ae}.".format(
                n=a["n"],
                d=a["d"],
                m=fmt(a["max_abs_diff_sd"]),
                md=fmt(a["median_abs_diff_sd"]),
                mc=fmt(a["max_abs_diff_mc_sd"]),
                lo=fmt(a["sd_ratio_range"][0]),
                hi=fmt(a["sd_ratio_range"][1]),
                es=fmt(a["exact_seconds"]),
                ee=fmt(a["exact_min_ess_coef"]),
                as_=fmt(a["approximate_seconds"]),
                ae=fmt(a["approximate_min_ess_coef"]),
            )
        )
    return "\n".join(out)


def _numpyro_linear_horseshoe(global_scale: float, shape: float, rate: float):
    """HorseshoeRegression's model, non-centred, for NumPyro.

    On centred X and y: ``sigma**2 ~ InverseGamma(shape, rate)``,
    ``tau ~ HalfCauchy(global_scale)``, ``lambda_j ~ HalfCauchy(1)``,
    ``z_j ~ Normal(0, 1)``, ``coef = tau * lambda * z`` (not scaled by
    sigma), ``y ~ Normal(X coef, sigma**2)``, and the flat intercept
    integrated out, which leaves the factor ``sigma`` (``LinearRegressionModel``'s
    ``intercept_marginal``, up to a constant).
    """
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as ndist

    def model(design, y):
        d = design.shape[1]
        var = numpyro.sample("noise_var", ndist.InverseGamma(shape, rate))
        tau = numpyro.sample("tau", ndist.HalfCauchy(global_scale))
        lam = numpyro.sample("lambda", ndist.HalfCauchy(jnp.ones(d)).to_event(1))
        z = numpyro.sample("z", ndist.Normal(jnp.zeros(d), 1.0).to_event(1))
        coef = numpyro.deterministic("coef", tau * lam * z)
        sigma = jnp.sqrt(var)
        numpyro.factor("intercept_marginal", jnp.log(sigma))
        numpyro.sample("y", ndist.Normal(design @ coef, sigma), obs=y)

    return model


def section_numpyro(seeds: int) -> dict:
    """Default HorseshoeRegression (Gibbs) against NumPyro's NUTS, d = 1000.

    n = 200, 10 non-zero coefficients. Both on one thread, 2 chains (NumPyro's
    one after another) of 1,000 draws after 500 warm-up iterations, and the
    Gibbs fit as the default runs it (it extends its chains towards 400
    effective draws and R-hat <= 1.01). The minimum effective sample size
    over the coefficients comes from ``skbayes.posterior.mcmc_diagnostics``
    for both; NumPyro's seconds are given with and without its compilation.
    """
    import jax
    from _common import numpyro_run, one_thread

    from skbayes import HorseshoeRegression
    from skbayes.posterior import mcmc_diagnostics

    jax.config.update("jax_enable_x64", True)
    n, d = 200, 1000
    rows = []
    for seed in range(seeds):
        X, y, coef = make_sparse_regression(n, d, n_nonzero=10, random_state=seed)
        row = {"seed": seed, "n": n, "d": d}
        with one_thread(), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est = HorseshoeRegression(random_state=seed)
            start = time.perf_counter()
            est.fit(X, y)
            seconds = time.perf_counter() - start
        draws = est.posterior_samples_["coef"].reshape(2, -1, d)
        n_eff, r_hat = mcmc_diagnostics({"coef": draws})
        row["gibbs"] = {
            "s": seconds,
            "draws_per_chain": draws.shape[1],
            "min_ess_coef": float(np.min(n_eff["coef"])),
            "max_rhat_coef": float(np.max(r_hat["coef"])),
            "coef_rmse": _rmse(est.coef_, coef),
            "warnings": [str(w.message)[:120] for w in caught],
        }
        model = _numpyro_linear_horseshoe(1.0, 0.1, 0.1)
        design, target = X - X.mean(0), y - y.mean()
        with one_thread():
            seconds, compile_s, samples, extra = numpyro_run(
                model,
                design,
                target,
                chains=2,
                num_samples=1000,
                num_warmup=500,
                target=0.8,
                seed=seed,
            )
        n_eff, r_hat = mcmc_diagnostics({"coef": samples["coef"]})
        row["numpyro"] = {
            "s": seconds,
            "compile_s": compile_s,
            "min_ess_coef": float(np.min(n_eff["coef"])),
            "max_rhat_coef": float(np.max(r_hat["coef"])),
            "divergences": int(np.sum(np.asarray(extra["diverging"]))),
            "coef_rmse": _rmse(samples["coef"].reshape(-1, d).mean(0), coef),
        }
        g, p = row["gibbs"], row["numpyro"]
        row["ess_per_s_ratio"] = (g["min_ess_coef"] / g["s"]) / (
            p["min_ess_coef"] / p["s"]
        )
        row["ess_per_s_ratio_excl_compile"] = (g["min_ess_coef"] / g["s"]) / (
            p["min_ess_coef"] / (p["s"] - p["compile_s"])
        )
        print(row, file=sys.stderr)
        rows.append(row)
    return {"rows": rows}


SECTIONS = {
    "default": section_default,
    "numpyro": section_numpyro,
    "sweep": section_sweep,
    "memory": section_memory,
    "agreement": section_agreement,
    "scale": section_scale,
}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sections",
        nargs="+",
        # NumPyro's run needs numpyro and jax, and each takes many minutes:
        # only by name.
        default=[name for name in SECTIONS if name not in ("numpyro", "scale")],
        choices=sorted(SECTIONS),
    )
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS / "wide.json")
    args = parser.parse_args(argv)
    results = {
        "command": command_line("wide.py"),
        "machine": machine_info(),
    }
    if args.out.exists():
        # Sections run separately add to one file.
        previous = json.loads(args.out.read_text())
        results = {**previous, **results}
    # Threads as the environment says (OMP_NUM_THREADS, recorded with the
    # machine): the default-fit target is for the whole two-core machine.
    args.out.parent.mkdir(exist_ok=True)
    for name in args.sections:
        results[name] = SECTIONS[name](args.seeds)
        results[name]["machine"] = results["machine"]
        # After each section, so that a later one failing keeps it.
        args.out.write_text(json.dumps(results, indent=2))
    print(markdown(results))
    return results


if __name__ == "__main__":
    main()
