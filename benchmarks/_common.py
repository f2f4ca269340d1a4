"""Helpers shared by the benchmark scripts: methods, metrics, a timed worker.

Every fit runs in a child process (:class:`CellRunner`), one at a time, so a
cell that runs past its time limit is killed and reported as ``"timeout"``
instead of stalling the run or being dropped.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import multiprocessing as mp
import os
import platform
import queue
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Root of the repository (the parent of ``benchmarks/``).
REPO_ROOT = Path(__file__).resolve().parent.parent

#: Seconds allowed for a fresh worker to import torch, Pyro and sklearn.
WORKER_START_TIMEOUT = 300.0


def limit_threads() -> None:
    """Default every BLAS/OpenMP pool to one thread unless the user chose.

    Must run before numpy, torch or sklearn spin up their thread pools; the
    child processes inherit the environment.
    """
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, "1")


# -- methods ------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Inference settings shared by all skbayes methods of a run.

    Attributes
    ----------
    num_samples : int
        Posterior draws kept by the SVI methods.
    nuts_samples, nuts_warmup : int
        NUTS draws and warm-up iterations (one chain).
    svi_steps : int or None
        Maximum SVI steps; ``None`` keeps the estimator's default.
    """

    num_samples: int = 1000
    nuts_samples: int = 1000
    nuts_warmup: int = 500
    svi_steps: int | None = None


@dataclass(frozen=True)
class Method:
    """A method of the comparison.

    Attributes
    ----------
    label : str
        Name used in tables and plots.
    kind : {"point", "gaussian", "skbayes"}
        ``"point"``: no predictive distribution. ``"gaussian"``: sklearn's
        Bayesian regressors, Gaussian posterior (``sigma_``) and
        ``predict(return_std=True)``. ``"skbayes"``: posterior draws.
    mcmc : bool
        Runs MCMC (NUTS or Gibbs), so the MCMC time limit applies.
    """

    label: str
    kind: str
    mcmc: bool = False


METHODS: dict[str, Method] = {
    "ridge": Method("Ridge(alpha=1)", "point"),
    "ridge_cv": Method("RidgeCV", "point"),
    "lasso": Method("Lasso(alpha=0.1)", "point"),
    "lasso_cv": Method("LassoCV", "point"),
    "bayesian_ridge": Method("BayesianRidge", "gaussian"),
    "ard": Method("ARDRegression", "gaussian"),
    "normal_svi": Method("skbayes normal, SVI", "skbayes"),
    "horseshoe_svi": Method("skbayes horseshoe, SVI", "skbayes"),
    "normal_nuts": Method("skbayes normal, NUTS", "skbayes", mcmc=True),
    "horseshoe_nuts": Method("skbayes horseshoe, NUTS", "skbayes", mcmc=True),
    "normal_gibbs": Method("skbayes normal, Gibbs", "skbayes", mcmc=True),
    "horseshoe_gibbs": Method("skbayes horseshoe, Gibbs", "skbayes", mcmc=True),
}

#: Alphas searched by RidgeCV (sklearn's default is only 0.1, 1 and 10).
RIDGE_ALPHAS = tuple(np.logspace(-3, 3, 13))


def make_estimator(name: str, settings: Settings, seed: int):
    """A fresh, unfitted estimator for method ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`METHODS`.
    settings : Settings
        Sample counts for the skbayes methods.
    seed : int
        ``random_state`` of the estimators that take one.

    Returns
    -------
    estimator
    """
    from sklearn.linear_model import (
        ARDRegression,
        BayesianRidge,
        Lasso,
        LassoCV,
        Ridge,
        RidgeCV,
    )

    from skbayes import BayesianLinearRegression, HorseshoeRegression

    svi = {"inference": "svi", "num_samples": settings.num_samples}
    if settings.svi_steps is not None:
        svi["num_steps"] = settings.svi_steps
    nuts = {
        "inference": "nuts",
        "num_samples": settings.nuts_samples,
        "num_warmup": settings.nuts_warmup,
    }
    gibbs = {**nuts, "inference": "gibbs"}
    factories: dict[str, Callable] = {
        "ridge": lambda: Ridge(alpha=1.0),
        "ridge_cv": lambda: RidgeCV(alphas=RIDGE_ALPHAS),
        "lasso": lambda: Lasso(alpha=0.1, max_iter=10_000),
        "lasso_cv": lambda: LassoCV(cv=5, max_iter=10_000, random_state=seed),
        "bayesian_ridge": BayesianRidge,
        "ard": ARDRegression,
        "normal_svi": lambda: BayesianLinearRegression(random_state=seed, **svi),
        "horseshoe_svi": lambda: HorseshoeRegression(random_state=seed, **svi),
        "normal_nuts": lambda: BayesianLinearRegression(random_state=seed, **nuts),
        "horseshoe_nuts": lambda: HorseshoeRegression(random_state=seed, **nuts),
        "normal_gibbs": lambda: BayesianLinearRegression(random_state=seed, **gibbs),
        "horseshoe_gibbs": lambda: HorseshoeRegression(random_state=seed, **gibbs),
    }
    if name not in factories:
        raise ValueError(f"unknown method {name!r}; choose from {list(METHODS)}")
    return factories[name]()


def parse_methods(text: str | None, default: list[str]) -> list[str]:
    """Turn ``"ridge,lasso_cv"`` into a checked list of method names."""
    if not text:
        return list(default)
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in METHODS]
    if unknown:
        raise SystemExit(f"unknown method(s) {unknown}; choose from {list(METHODS)}")
    return names


# -- metrics ------------------------------------------------------------------


def rmse(a, b) -> float:
    """Root mean squared difference of two arrays."""
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def gaussian_lpd(y, mean, std) -> float:
    """Mean log density of ``y`` under independent ``Normal(mean, std**2)``."""
    y, mean, std = (np.asarray(v, dtype=float) for v in (y, mean, std))
    z = (y - mean) / std
    return float(np.mean(-0.5 * z**2 - np.log(std) - 0.5 * np.log(2 * np.pi)))


def mixture_lpd(y, X, coef, intercept, noise_scale) -> float:
    """Mean log predictive density, a Gaussian mixture over posterior draws.

    ``log p(y_i | data) ~= log mean_s Normal(y_i | x_i @ coef_s + a_s,
    sigma_s**2)``, the Monte Carlo estimate of the posterior predictive.

    Parameters
    ----------
    y : ndarray of shape (n,)
    X : ndarray of shape (n, d)
    coef : ndarray of shape (S, d)
    intercept, noise_scale : ndarray of shape (S,)

    Returns
    -------
    float
    """
    from scipy.special import logsumexp

    mean = coef @ np.asarray(X).T + intercept[:, None]
    sigma = noise_scale[:, None]
    z = (np.asarray(y)[None, :] - mean) / sigma
    logp = -0.5 * z**2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)
    per_point = logsumexp(logp, axis=0) - np.log(len(coef))
    return float(np.mean(per_point))


def interval_metrics(truth, lower, upper) -> tuple[float, float]:
    """Fraction of ``truth`` inside ``[lower, upper]`` and mean width."""
    truth, lower, upper = (np.asarray(v, dtype=float) for v in (truth, lower, upper))
    inside = (lower <= truth) & (truth <= upper)
    return float(np.mean(inside)), float(np.mean(upper - lower))


def z_value(coverage: float) -> float:
    """Half-width of a central Gaussian interval, in standard deviations."""
    from scipy.stats import norm

    return float(norm.ppf(0.5 + coverage / 2))


def coef_intervals(est, kind: str, coverage: float = 0.95):
    """Central credible intervals of the coefficients, or ``None``.

    skbayes: quantiles of ``posterior_samples_["coef"]``. BayesianRidge and
    ARD: Gaussian from ``coef_`` and the diagonal of ``sigma_``; ARD's
    ``sigma_`` covers only the features it kept, and a pruned coefficient is
    exactly zero with a zero-width interval.

    Returns
    -------
    tuple of ndarray (lower, upper), or None for point estimators
    """
    if kind == "skbayes":
        alpha = (1 - coverage) / 2
        draws = est.posterior_samples_["coef"]
        lower, upper = np.quantile(draws, [alpha, 1 - alpha], axis=0)
        return lower, upper
    if kind == "gaussian":
        var = np.zeros(len(est.coef_))
        diag = np.diag(est.sigma_)
        if hasattr(est, "threshold_lambda"):
            var[est.lambda_ < est.threshold_lambda] = diag
        else:
            var[:] = diag
        half = z_value(coverage) * np.sqrt(np.maximum(var, 0))
        return est.coef_ - half, est.coef_ + half
    return None


def predictive_lpd(est, kind: str, X, y) -> float:
    """Test log predictive density per point, NaN for point estimators."""
    if kind == "gaussian":
        mean, std = est.predict(X, return_std=True)
        return gaussian_lpd(y, mean, std)
    if kind == "skbayes":
        draws = est.posterior_samples_
        return mixture_lpd(
            y, X, draws["coef"], draws["intercept"], draws["noise_scale"]
        )
    return float("nan")


def max_rhat(diagnostics: dict) -> float:
    """Largest finite ``r_hat`` over every site of ``diagnostics_``, or NaN.

    A site held fixed (a point noise scale) has an all-NaN ``r_hat``.
    """
    finite = [np.asarray(v)[np.isfinite(v)] for v in diagnostics["r_hat"].values()]
    worst = [float(v.max()) for v in finite if v.size]
    return max(worst) if worst else float("nan")


def fit_timed(est, X, y) -> float:
    """Fit ``est`` and return the wall time in seconds."""
    start = time.perf_counter()
    est.fit(X, y)
    return time.perf_counter() - start


# -- the worker process -------------------------------------------------------


def _format_warnings(caught) -> str:
    """Distinct warnings as ``"Category: message"``, joined by `` | ``."""
    seen = []
    for item in caught:
        text = f"{item.category.__name__}: {str(item.message).splitlines()[0][:160]}"
        if text not in seen:
            seen.append(text)
    return " | ".join(seen)


def call_recording_warnings(func: Callable, kwargs: dict) -> dict:
    """Call ``func(**kwargs)``; add the warnings it raised as ``"warnings"``.

    Warnings never propagate (the test suite turns them into errors); they
    are recorded with the result instead.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = func(**kwargs)
    result["warnings"] = _format_warnings(caught)
    return result


def sleep_task(seconds: float) -> dict:
    """A task that only waits: exercises :class:`CellRunner`'s time limit."""
    time.sleep(seconds)
    return {"slept": seconds}


def _worker_loop(tasks, results, snapshot: str | None) -> None:
    """Child process: run ``(func, kwargs)`` tasks until told to stop.

    With ``snapshot``, skbayes is imported from that copy of the package.
    """
    if snapshot is not None:
        sys.path.insert(0, snapshot)
    import threading

    import torch
    from tqdm import tqdm

    torch.set_num_threads(1)
    # tqdm (Pyro's progress bars) would create a process-shared lock, which a
    # worker killed at its time limit leaks; a thread lock is all it needs.
    tqdm.set_lock(threading.RLock())
    import skbayes  # import once, before the first timed task

    results.put(("ready", skbayes.__file__))
    while True:
        item = tasks.get()
        if item is None:
            return
        func, kwargs = item
        try:
            results.put(("ok", call_recording_warnings(func, kwargs)))
        except Exception as exc:  # report any failure as a row, never crash
            text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            results.put(("error", text[-500:]))


@dataclass
class Outcome:
    """What :meth:`CellRunner.run` returns.

    Attributes
    ----------
    status : {"ok", "timeout", "error"}
    result : dict
        The task's return value (``"ok"`` only), else empty.
    error : str
        The exception text, or a note on the timeout.
    wall_time : float
        Seconds from submitting the task to its result, or to the kill.
    """

    status: str
    result: dict
    error: str
    wall_time: float


class CellRunner:
    """Runs tasks one at a time in a child process, each with a time limit.

    The child is started once (importing torch takes seconds) and reused; a
    task that runs past its limit is killed with the child, which is
    restarted for the next task. Tasks must be module-level functions
    returning a dict.

    Parameters
    ----------
    snapshot : bool, default=True
        Copy ``skbayes/`` to a temporary folder now and import it from there
        in every child, so that a long run uses one version of the code even
        when the working tree changes under it (a restarted child would
        otherwise import the new code).

    Attributes
    ----------
    fingerprint : str
        :func:`source_fingerprint` of the code the children import.
    restarts : int
        Children started after the first.
    """

    def __init__(self, snapshot: bool = True):
        self._ctx = mp.get_context("spawn")
        self._proc = None
        self.restarts = 0
        self._snapshot = None
        source = REPO_ROOT / "skbayes"
        if snapshot:
            self._snapshot = tempfile.mkdtemp(prefix="skbayes-snapshot-")
            source = Path(self._snapshot) / "skbayes"
            shutil.copytree(
                REPO_ROOT / "skbayes",
                source,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
        self.fingerprint = source_fingerprint(source)
        self._source = source

    def _start(self) -> None:
        self._tasks = self._ctx.Queue()
        self._results = self._ctx.Queue()
        self._proc = self._ctx.Process(
            target=_worker_loop,
            args=(self._tasks, self._results, self._snapshot),
            daemon=True,
        )
        self._proc.start()
        status, where = self._get(WORKER_START_TIMEOUT)
        if status != "ready":
            self._kill()
            raise RuntimeError(f"benchmark worker failed to start ({status}).")
        if self._snapshot and not where.startswith(self._snapshot):
            self._kill()
            raise RuntimeError(f"the worker imported skbayes from {where}.")

    def _get(self, timeout: float):
        """Next message from the child; ``("timeout"|"died", None)`` if none."""
        deadline = time.perf_counter() + timeout
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                return "timeout", None
            try:
                return self._results.get(timeout=min(left, 1.0))
            except queue.Empty:
                if not self._proc.is_alive():
                    return "died", None

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.join(10)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join()
            self._proc.close()
            for q in (self._tasks, self._results):
                # A killed child may hold the queue's lock: drop it unflushed.
                q.cancel_join_thread()
                q.close()
        self._proc = None

    def run(self, func: Callable, kwargs: dict, time_limit: float) -> Outcome:
        """Run ``func(**kwargs)`` in the child, giving up after ``time_limit``.

        Parameters
        ----------
        func : callable
            Module-level function returning a dict.
        kwargs : dict
            Picklable keyword arguments.
        time_limit : float
            Seconds before the child is killed.

        Returns
        -------
        Outcome
        """
        if self._proc is None or not self._proc.is_alive():
            if self._proc is not None:
                self.restarts += 1
            self._start()
        start = time.perf_counter()
        self._tasks.put((func, kwargs))
        status, payload = self._get(time_limit)
        wall = time.perf_counter() - start
        if status == "ok":
            return Outcome("ok", payload, "", wall)
        if status == "error":
            return Outcome("error", {}, payload, wall)
        self._kill()
        if status == "timeout":
            return Outcome("timeout", {}, f"killed after {time_limit:g} s", wall)
        return Outcome("error", {}, "worker process died", wall)

    def close(self) -> None:
        """Stop the child process and remove the snapshot."""
        if self._proc is not None and self._proc.is_alive():
            self._tasks.put(None)
            self._proc.join(10)
        self._kill()
        if self._snapshot is not None:
            shutil.rmtree(self._snapshot, ignore_errors=True)
            self._snapshot = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# -- run metadata and tables --------------------------------------------------


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or the platform's guess)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git(*args: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def source_fingerprint(package: Path | None = None) -> str:
    """A short hash of a package's Python sources (default: ``skbayes/``)."""
    package = REPO_ROOT / "skbayes" if package is None else Path(package)
    digest = hashlib.sha1()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def machine_info() -> dict:
    """Machine, library versions, git state and date, for the docs."""
    import pyro
    import sklearn
    import torch

    dirty = _git("status", "--porcelain", "--", "skbayes")
    return {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "pyro": pyro.__version__,
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS", ""),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "skbayes_uncommitted_changes": bool(dirty),
    }


def command_line(script: str) -> str:
    """The command that started this run, as it would be typed."""
    import shlex

    rel = os.path.relpath(script, Path.cwd())
    return " ".join(["python", shlex.quote(rel), *map(shlex.quote, sys.argv[1:])])


def fmt(value, digits: int = 3) -> str:
    """A number for a Markdown table: NaN as an en dash, else ``digits`` sig."""
    if value is None:
        return "–"
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not np.isfinite(value):
        return "–"
    if value != 0 and (abs(value) >= 1e4 or abs(value) < 1e-3):
        return f"{value:.2e}"
    return f"{value:.{digits}g}"


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A GitHub Markdown table; numbers go through :func:`fmt`."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [cell if isinstance(cell, str) else fmt(cell) for cell in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


class one_thread:
    """Run the block with one torch thread, then restore the count."""

    def __enter__(self):
        import torch  # only the scripts that time torch need it

        self.threads = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc):
        import torch

        torch.set_num_threads(self.threads)


def has_numpyro() -> bool:
    """Whether NumPyro can be imported (its comparisons are skipped if not)."""
    try:
        import numpyro  # noqa: F401
    except ImportError:
        return False
    return True


# -- NumPyro runs, shared by the logistic and wide benchmarks ----------------------
class compile_clock:
    """Seconds JAX spends tracing, lowering and compiling inside the block.

    From ``jax.monitoring``'s ``/jax/core/compile/*`` duration events. A
    fresh NumPyro sampler compiles its programs on its first run (and part
    of them again on a second run of the same sampler), so this is what
    "excluding compile" subtracts.
    """

    def __enter__(self):
        import jax.monitoring

        self.seconds = 0.0
        self._listener = self._record
        jax.monitoring.register_event_duration_secs_listener(self._listener)
        return self

    def _record(self, event: str, duration: float, **kwargs) -> None:
        if event.startswith("/jax/core/compile/"):
            self.seconds += duration

    def __exit__(self, *exc):
        import jax.monitoring

        jax.monitoring.unregister_event_duration_listener(self._listener)


def numpyro_run(model, design, y, *, chains, num_samples, num_warmup, target, seed):
    """One NumPyro NUTS run on a fresh sampler.

    Returns
    -------
    seconds, compile_seconds, draws by chain (dict), extra fields (dict)
    """
    import jax
    from numpyro.infer import MCMC, NUTS

    mcmc = MCMC(
        NUTS(model, target_accept_prob=target),
        num_warmup=num_warmup,
        num_samples=num_samples,
        num_chains=chains,
        chain_method="sequential",
        progress_bar=False,
    )
    with compile_clock() as clock:
        start = time.perf_counter()
        mcmc.run(jax.random.PRNGKey(seed), design, y, extra_fields=("diverging",))
        samples = mcmc.get_samples(group_by_chain=True)
        jax.block_until_ready(samples)
        seconds = time.perf_counter() - start
    extra = mcmc.get_extra_fields()
    draws = {k: np.array(v) for k, v in samples.items()}
    return seconds, clock.seconds, draws, extra
