"""Simulation-based calibration of every estimator, engine and prior family.

Each replicate draws parameters from the prior and data from the likelihood,
fits, and ranks each true value among ``L`` posterior draws thinned evenly
from the fit (Talts, Betancourt, Simpson, Vehtari and Gelman 2018). If the
engine returns the posterior, every rank is uniform on ``0..L``, whatever the
prior and the data. Besides each parameter, the data's log-likelihood at
the true parameters is ranked among its values at the draws, a test
quantity that depends on the data (Modrák et al. 2023).

Uniformity is tested two ways:

- a chi-square test over equal bins of the ranks;
- the ECDF of the scaled ranks against simultaneous 95% bands (Säilynoja,
  Bürkner and Vehtari 2022, their simulation method), drawn as ECDF
  differences.

Usage, from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/sbc.py --out benchmarks/results/sbc.json
    python benchmarks/sbc.py --cases horseshoe-gibbs --replicates 50 --out /tmp/sbc.json
    python benchmarks/sbc.py --plot benchmarks/results/sbc.json docs/figures

``docs/validation.md`` reports the results; ``docs/scripts/make_figures.py``
draws its figures from the JSON file at every ``make docs``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _common import command_line, machine_info, markdown_table
from scipy import special, stats
from sklearn.exceptions import ConvergenceWarning

from skbayes import (
    BayesianLinearRegression,
    BayesianLogisticRegression,
    BetaBernoulliEstimator,
    HorseshoeRegression,
)
from skbayes.priors import Beta, HalfNormal, Normal

#: Posterior draws each true value is ranked among: ranks lie in 0..99.
NUM_RANKED_DRAWS = 99
#: Chi-square bins; 100 possible ranks split evenly into them.
NUM_BINS = 20
#: Proper, moderate noise: sigma**2 ~ InverseGamma(3, 2) has mean 1.
NOISE_PRIOR = (3.0, 2.0)
#: A noise prior that is not inverse-gamma (Gibbs corrects for it by
#: Metropolis-Hastings): sigma ~ HalfNormal(1).
HALF_NORMAL_SCALE = 1.0
HORSESHOE_GLOBAL_SCALE = 0.1
BETA_PRIOR = (2.0, 3.0)


# -- the generative models ------------------------------------------------------
def _inverse_gamma_noise(rng):
    return NOISE_PRIOR[1] / rng.gamma(NOISE_PRIOR[0])


def _half_normal_noise(rng):
    return (HALF_NORMAL_SCALE * rng.normal()) ** 2


def _linear_data(rng, coef, n, draw_noise_var=_inverse_gamma_noise):
    noise_var = draw_noise_var(rng)
    X = rng.normal(size=(n, len(coef)))
    y = X @ coef + np.sqrt(noise_var) * rng.normal(size=n)
    return (X, y), {"noise_scale": np.sqrt(noise_var)}


def normal_linear(d: int, n: int, draw_noise_var=_inverse_gamma_noise):
    """coef ~ N(0, 1), sigma**2 ~ IG(3, 2), no intercept (a flat one is improper)."""

    def simulate(rng):
        coef = rng.normal(size=d)
        data, truth = _linear_data(rng, coef, n, draw_noise_var)
        return data, {"coef": coef, **truth}

    return simulate


def horseshoe_linear(d: int, n: int, draw_noise_var=_inverse_gamma_noise):
    """tau ~ C+(0.1), lambda_j ~ C+(1), coef_j ~ N(0, tau**2 lambda_j**2)."""

    def simulate(rng):
        tau = HORSESHOE_GLOBAL_SCALE * abs(rng.standard_cauchy())
        lam = np.abs(rng.standard_cauchy(d))
        coef = tau * lam * rng.normal(size=d)
        data, truth = _linear_data(rng, coef, n, draw_noise_var)
        return data, {"coef": coef, "tau": tau, **truth}

    return simulate


def logistic(d: int, n: int):
    """coef ~ N(0, 1), intercept ~ N(0, 1), y ~ Bernoulli(sigmoid(X coef + a))."""

    def simulate(rng):
        while True:
            coef, intercept = rng.normal(size=d), rng.normal()
            X = rng.normal(size=(n, d))
            y = (rng.random(n) < special.expit(X @ coef + intercept)).astype(int)
            # The estimator needs both classes; at this size a draw with one
            # class is rare (counted in "redraws"), and redrawing it conditions
            # the check on a negligible event.
            if 0 < y.sum() < n:
                return (X, y), {"coef": coef, "intercept": intercept}

    return simulate


def beta_bernoulli(n: int):
    """p ~ Beta(2, 3), x_i ~ Bernoulli(p)."""

    def simulate(rng):
        p = rng.beta(*BETA_PRIOR)
        return ((rng.random((n, 1)) < p).astype(int), None), {"p": np.array([p])}

    return simulate


# -- log-likelihoods at many parameter values -----------------------------------
def _linear_log_lik(data, draws):
    X, y = data
    resid = y - draws["coef"] @ X.T
    sigma = draws["noise_scale"][:, None]
    return stats.norm.logpdf(resid, scale=sigma).sum(1)


def _logistic_log_lik(data, draws):
    X, y = data
    logit = draws["coef"] @ X.T + np.asarray(draws["intercept"])[:, None]
    return -np.logaddexp(0, np.where(y == 1, -logit, logit)).sum(1)


def _bernoulli_log_lik(data, draws):
    x = data[0][:, 0]
    p = np.asarray(draws["p"]).reshape(-1, 1)
    return (x * np.log(p) + (1 - x) * np.log1p(-p)).sum(1)


# -- the cases --------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One estimator, engine and prior, with its simulator and what to rank."""

    name: str
    description: str
    simulate: Callable
    make: Callable[[int], object]
    log_lik: Callable
    replicates: int = 200
    #: Sites of ``posterior_samples_`` whose true values are ranked.
    sites: tuple = ()


def _linear(noise_prior=NOISE_PRIOR, **kwargs):
    return lambda seed: BayesianLinearRegression(
        prior=Normal(1.0),
        noise_prior=noise_prior,
        fit_intercept=False,
        random_state=seed,
        **kwargs,
    )


def _horseshoe(noise_prior=NOISE_PRIOR, **kwargs):
    return lambda seed: HorseshoeRegression(
        global_scale=HORSESHOE_GLOBAL_SCALE,
        noise_prior=noise_prior,
        fit_intercept=False,
        random_state=seed,
        **kwargs,
    )


def _logistic(**kwargs):
    return lambda seed: BayesianLogisticRegression(
        prior=Normal(1.0),
        autoscale=False,
        intercept_scale=1.0,
        random_state=seed,
        **kwargs,
    )


def _beta(**kwargs):
    return lambda seed: BetaBernoulliEstimator(
        prior=Beta(*BETA_PRIOR), random_state=seed, **kwargs
    )


NORMAL = "coef ~ N(0, 1), sigma**2 ~ IG(3, 2)"
HORSESHOE = "horseshoe, global scale 0.1, sigma**2 ~ IG(3, 2)"
LOGISTIC = "coef and intercept ~ N(0, 1)"
HALF_NORMAL = f"sigma ~ HalfNormal({HALF_NORMAL_SCALE:g})"


def _with_half_normal_noise(factory):
    return lambda **kwargs: factory(noise_prior=HalfNormal(HALF_NORMAL_SCALE), **kwargs)


# model: (description, simulator, estimator factory, log-likelihood, sites,
# engines)
MODELS = {
    "normal-d<n": (f"regression, d=5, n=30, {NORMAL}", normal_linear(5, 30),
                   _linear, _linear_log_lik, ("coef", "noise_scale"),
                   ("exact", "gibbs", "nuts", "svi")),
    "normal-d>n": (f"regression, d=20, n=10, {NORMAL}", normal_linear(20, 10),
                   _linear, _linear_log_lik, ("coef", "noise_scale"),
                   ("exact", "gibbs")),
    "horseshoe": (f"regression, d=10, n=30, {HORSESHOE}", horseshoe_linear(10, 30),
                  _horseshoe, _linear_log_lik, ("coef", "tau", "noise_scale"),
                  ("gibbs", "nuts", "svi")),
    "normal-half-normal": (
        f"regression, d=5, n=30, coef ~ N(0, 1), {HALF_NORMAL}",
        normal_linear(5, 30, _half_normal_noise), _with_half_normal_noise(_linear),
        _linear_log_lik, ("coef", "noise_scale"), ("exact", "gibbs")),
    "horseshoe-half-normal": (
        f"regression, d=10, n=30, horseshoe, global scale 0.1, {HALF_NORMAL}",
        horseshoe_linear(10, 30, _half_normal_noise),
        _with_half_normal_noise(_horseshoe), _linear_log_lik,
        ("coef", "tau", "noise_scale"), ("gibbs",)),
    "logistic": (f"classification, d=3, n=50, {LOGISTIC}", logistic(3, 50),
                 _logistic, _logistic_log_lik, ("coef", "intercept"),
                 ("gibbs", "nuts", "svi")),
    "beta-bernoulli": ("20 flips, p ~ Beta(2, 3)", beta_bernoulli(20), _beta,
                       _bernoulli_log_lik, ("p",), ("exact", "nuts", "svi")),
}  # fmt: skip
# SVI is capped (its plateau rule stops most fits sooner). NUTS runs shorter
# chains than its default, and fewer replicates: a fit costs 2-15 s here,
# against well under a second for the other engines.
ENGINE_SETTINGS = {
    "exact": {},
    "gibbs": {},
    "nuts": {"num_samples": 300, "num_warmup": 200},
    "svi": {"num_steps": 3000},
}
REPLICATES = {"nuts": 100, "horseshoe-nuts": 60}

CASES = {
    f"{model}-{engine}": Case(
        name=f"{model}-{engine}",
        description=description,
        simulate=simulate,
        make=factory(inference=engine, **ENGINE_SETTINGS[engine]),
        log_lik=log_lik,
        replicates=REPLICATES.get(f"{model}-{engine}", REPLICATES.get(engine, 200)),
        sites=sites,
    )
    for model, (description, simulate, factory, log_lik, sites, engines) in (
        MODELS.items()
    )
    for engine in engines
}


# -- ranks ----------------------------------------------------------------------
def thinned(draws: np.ndarray, count: int = NUM_RANKED_DRAWS) -> np.ndarray:
    """``count`` draws spread evenly over all of them (chains one after another).

    Thinning keeps MCMC draws near independence, which uniform ranks need.
    """
    index = np.linspace(0, len(draws) - 1, count).round().astype(int)
    return draws[index]


def ranks_of(truth: dict, draws: dict, log_lik: Callable, data) -> dict:
    """Rank of each true value among the draws, by parameter name.

    Vector sites give one entry per component (``coef[0]``, ...). Ties, which
    continuous draws never have, would count half.
    """
    out = {}
    for site, value in truth.items():
        value = np.atleast_1d(value)
        sample = np.asarray(draws[site]).reshape(len(draws[site]), -1)
        for j, true in enumerate(value):
            name = site if len(value) == 1 else f"{site}[{j}]"
            out[name] = int(np.sum(sample[:, j] < true))
    at_draws = log_lik(data, draws)
    at_truth = log_lik(data, {k: np.asarray(v)[None] for k, v in truth.items()})[0]
    out["log_lik"] = int(np.sum(at_draws < at_truth))
    return out


def run_case(
    case: Case,
    replicates: int,
    seed: int = 0,
    verbose: bool = False,
    variants: dict | None = None,
):
    """Ranks of ``replicates`` simulated data sets, and what the fits reported.

    ``variants`` maps a label to a function of the thinned draws; the ranks
    among its output are returned too, under ``"variant_ranks"``. A test uses
    one to check that a posterior it has made wrong is caught.
    """
    variants = variants or {}
    rng = np.random.default_rng([seed, _stable_hash(case.name)])
    ranks, warned, seconds, min_ess = {}, 0, [], []
    variant_ranks = {label: {} for label in variants}
    for index in range(replicates):
        data, truth = case.simulate(rng)
        est = case.make(index)
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est.fit(*data)
        seconds.append(time.perf_counter() - start)
        # r_hat or divergences (MCMC), k-hat or a worse ELBO (SVI).
        warned += any(issubclass(w.category, ConvergenceWarning) for w in caught)
        draws = {k: thinned(v) for k, v in est.posterior_samples_.items()}
        diagnostics = getattr(est, "diagnostics_", None) or {}
        if "n_eff" in diagnostics:
            min_ess.append(
                min(float(np.nanmin(diagnostics["n_eff"][s])) for s in case.sites)
            )
        for name, rank in ranks_of(truth, draws, case.log_lik, data).items():
            ranks.setdefault(name, []).append(rank)
        for label, change in variants.items():
            changed = ranks_of(truth, change(draws), case.log_lik, data)
            for name, rank in changed.items():
                variant_ranks[label].setdefault(name, []).append(rank)
        if verbose and (index + 1) % 20 == 0:
            print(f"  {case.name}: {index + 1}/{replicates}", file=sys.stderr)
    result = {
        "ranks": ranks,
        "engine": est.inference_,
        "seconds_per_fit": float(np.median(seconds)),
        "warned": int(warned),
        "min_ess_median": float(np.median(min_ess)) if min_ess else None,
    }
    if variants:
        result["variant_ranks"] = variant_ranks
    return result


def _stable_hash(text: str) -> int:
    return int.from_bytes(text.encode(), "little") % (2**32)


# -- uniformity -----------------------------------------------------------------
def chi_square_p(ranks, num_bins: int = NUM_BINS, max_rank: int = NUM_RANKED_DRAWS):
    """p-value of a chi-square test that ranks in 0..max_rank are uniform."""
    ranks = np.asarray(ranks)
    counts = np.bincount(ranks * num_bins // (max_rank + 1), minlength=num_bins)
    return float(stats.chisquare(counts).pvalue)


def tail_fraction(ranks, tail: float = 0.05, max_rank: int = NUM_RANKED_DRAWS):
    """Share of ranks in the lowest or highest ``tail``: true values outside the
    central ``1 - 2 * tail`` interval of the draws (nominally ``2 * tail``)."""
    scaled = (np.asarray(ranks) + 0.5) / (max_rank + 1)
    return float(np.mean((scaled < tail) | (scaled > 1 - tail)))


def ecdf_band(
    num_ranks: int,
    num_points: int = NUM_BINS,
    level: float = 0.95,
    simulations: int = 5000,
    seed: int = 0,
):
    """Simultaneous ``level`` band of a uniform ECDF at ``z = k / num_points``.

    Säilynoja et al. 2022's simulation method: the pointwise binomial level
    ``gamma`` is lowered until ``level`` of uniform samples stay inside the
    band at every point at once. Returns ``(z, lower, upper)`` as ECDF values.
    """
    z = np.arange(1, num_points) / num_points
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(
        num_ranks, np.full(num_points, 1 / num_points), size=simulations
    ).cumsum(1)[:, :-1]
    below = stats.binom.cdf(counts, num_ranks, z)
    above = stats.binom.sf(counts - 1, num_ranks, z)
    gamma = 2 * np.quantile(np.minimum(below, above).min(1), 1 - level)
    lower = stats.binom.ppf(gamma / 2, num_ranks, z) / num_ranks
    upper = stats.binom.ppf(1 - gamma / 2, num_ranks, z) / num_ranks
    return z, lower, upper


def ecdf_of(ranks, z, max_rank: int = NUM_RANKED_DRAWS) -> np.ndarray:
    scaled = (np.asarray(ranks) + 0.5) / (max_rank + 1)
    return np.mean(scaled[:, None] < z[None, :], axis=0)


def summarise(result: dict) -> dict:
    """Per parameter: chi-square p, inside the ECDF band, central-90% misses."""
    rows = {}
    band = None
    for name, ranks in result["ranks"].items():
        if band is None:
            band = ecdf_band(len(ranks))
        z, lower, upper = band
        ecdf = ecdf_of(ranks, z)
        rows[name] = {
            "chi2_p": chi_square_p(ranks),
            "in_band": bool(np.all((ecdf >= lower) & (ecdf <= upper))),
            "outside_90": tail_fraction(ranks),
        }
    return rows


def group_of(name: str) -> str:
    return name.split("[")[0]


# -- output ---------------------------------------------------------------------
def summary_table(results: dict) -> str:
    """One row per case and parameter group: worst chi-square p, band, misses."""
    header = [
        "case",
        "engine",
        "replicates",
        "parameter",
        "min chi-square p",
        "inside 95% ECDF band",
        "outside central 90%",
        "s / fit",
    ]
    rows = []
    for name, result in results["cases"].items():
        groups = {}
        for param, row in result["summary"].items():
            groups.setdefault(group_of(param), []).append(row)
        reps = len(next(iter(result["ranks"].values())))
        for group, members in groups.items():
            label = group if len(members) == 1 else f"{group} ({len(members)})"
            inside = sum(r["in_band"] for r in members)
            rows.append(
                [
                    name,
                    result["engine"],
                    str(reps),
                    label,
                    f"{min(r['chi2_p'] for r in members):.2g}",
                    f"{inside}/{len(members)}",
                    f"{np.mean([r['outside_90'] for r in members]):.3f}",
                    f"{result['seconds_per_fit']:.2f}",
                ]
            )
    return markdown_table(header, rows)


def plot(results: dict, out_dir: Path) -> list[Path]:
    """ECDF-difference plots, one figure per case, one panel per parameter group."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, result in results["cases"].items():
        groups = {}
        for param, ranks in result["ranks"].items():
            groups.setdefault(group_of(param), []).append(ranks)
        fig, axes = plt.subplots(
            1, len(groups), figsize=(3.2 * len(groups), 2.6), squeeze=False, sharey=True
        )
        for ax, (group, members) in zip(axes[0], groups.items(), strict=True):
            z, lower, upper = ecdf_band(len(members[0]))
            ax.fill_between(
                z, lower - z, upper - z, color="0.85", step="mid", label="95% band"
            )
            for ranks in members:
                ax.plot(z, ecdf_of(ranks, z) - z, lw=1, alpha=0.8)
            ax.axhline(0, color="k", lw=0.5)
            ax.set_title(group if len(members) == 1 else f"{group} ({len(members)})")
            ax.set_xlabel("scaled rank")
        axes[0][0].set_ylabel("ECDF - uniform")
        fig.suptitle(f"{name} ({result['engine']})", fontsize=10)
        fig.tight_layout()
        path = out_dir / f"sbc_{name.replace('<', 'lt').replace('>', 'gt')}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", default=list(CASES))
    parser.add_argument("--replicates", type=int, help="override every case's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/sbc.json"))
    parser.add_argument(
        "--merge", action="store_true", help="keep the other cases already in --out"
    )
    parser.add_argument(
        "--plot",
        nargs=2,
        metavar=("RESULTS", "DIR"),
        type=Path,
        help="only draw the figures (and table) of a results file",
    )
    args = parser.parse_args(argv)
    if args.plot:
        results = json.loads(args.plot[0].read_text())
        for path in plot(results, args.plot[1]):
            print(path)
        # docs/validation.md includes the table from here.
        (args.plot[1] / "sbc_table.txt").write_text(summary_table(results) + "\n")
        return
    results = {"cases": {}}
    if args.merge and args.out.exists():
        results = json.loads(args.out.read_text())
    results["meta"] = {
        **machine_info(),
        "seed": args.seed,
        "command": command_line(__file__),
    }
    for name in args.cases:
        case = CASES[name]
        start = time.perf_counter()
        result = run_case(case, args.replicates or case.replicates, args.seed, True)
        result["description"] = case.description
        result["summary"] = summarise(result)
        result["seconds"] = time.perf_counter() - start
        result["run"] = results["meta"]
        results["cases"][name] = result
        print(f"{name}: {result['seconds']:.0f} s", file=sys.stderr)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1))
    print(summary_table(results))


if __name__ == "__main__":
    main()
