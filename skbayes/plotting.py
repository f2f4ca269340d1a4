"""Plots of fitted skbayes estimators: convergence, posteriors, intervals.

matplotlib is optional: importing this module does not import it, and each
function raises an ``ImportError`` naming the ``plot`` extra when it is
missing (``pip install "skbayes[plot]"``).

Every function takes a fitted estimator and an optional matplotlib ``ax``,
draws on it (or on a new figure), and returns the axes, so plots compose.
A fitted ``sklearn.pipeline.Pipeline`` whose last step is a skbayes
estimator may stand for the estimator: its last step is plotted, and an
``X`` passed in goes through the steps before it first.

Examples
--------
The exact Beta posterior of ten coin flips against the SVI fit:

>>> import matplotlib.pyplot as plt
>>> from skbayes import BetaBernoulliEstimator
>>> from skbayes.plotting import plot_posterior
>>> flips = [1, 1, 0, 1, 0, 1, 1, 1, 0, 1]
>>> fig, ax = plt.subplots()
>>> exact = BetaBernoulliEstimator(inference="exact", random_state=0).fit(flips)
>>> svi = BetaBernoulliEstimator(random_state=0).fit(flips)
>>> ax = plot_posterior(exact, "p", hist=False, label="exact", ax=ax)
>>> ax = plot_posterior(svi, "p", hist=False, label="SVI", ax=ax)
>>> [line.get_label() for line in ax.lines]
['exact', 'SVI']
>>> plt.close(fig)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._pipelines import split_pipeline
from .posterior import _labels

if TYPE_CHECKING:  # matplotlib is an optional dependency
    from matplotlib.axes import Axes
    from numpy.typing import ArrayLike
    from sklearn.pipeline import Pipeline

    from .estimators._base import BayesianEstimator

__all__ = [
    "kde",
    "plot_coefficients",
    "plot_loss_curve",
    "plot_posterior",
    "plot_predictive",
]

#: Steps per window of the smoothed SVI loss; the convergence rule of
#: ``skbayes.inference.run_svi`` averages the loss over the same windows.
LOSS_WINDOW = 50
#: Grid points at which a kernel density estimate is evaluated.
KDE_POINTS = 256
# Densities are drawn between these quantiles of the draws, so that one draw
# in the tail of a heavy-tailed site (the horseshoe's tau or lambda) does not
# squash the plot.
_DENSITY_RANGE = (0.005, 0.995)


def _pyplot():
    """Import ``matplotlib.pyplot``, or explain how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            "skbayes.plotting needs matplotlib, which is not installed. "
            'Install it with: pip install "skbayes[plot]"'
        ) from error
    return plt


def _new_axes(ax: Axes | None) -> Axes:
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots()
    return ax


def _check_coverage(coverage: float) -> float:
    if not 0 < coverage < 1:
        raise ValueError(f"coverage must lie in (0, 1), got {coverage!r}.")
    return float(coverage)


def _site_draws(est, site: str) -> np.ndarray:
    check_is_fitted(est)
    samples = est.posterior_samples_
    if site not in samples:
        raise ValueError(
            f"{type(est).__name__} has no posterior site {site!r}; "
            f"it has {sorted(samples)}."
        )
    return np.asarray(samples[site], dtype=float)


def _element(draws: np.ndarray, site: str, index) -> tuple[np.ndarray, str]:
    """The draws of one scalar element of a site, and its label."""
    shape = draws.shape[1:]
    if index is None:
        if math.prod(shape) != 1:
            raise ValueError(
                f"Site {site!r} has shape {shape} per draw; pass index= to pick "
                "one element, e.g. index=0."
            )
        return draws.reshape(len(draws)), site
    index = tuple(np.atleast_1d(index).tolist())
    if len(index) != len(shape):
        raise ValueError(
            f"index={index!r} does not fit site {site!r} of shape {shape} per draw."
        )
    values = draws[(slice(None), *index)]
    return values, f"{site}[{','.join(map(str, index))}]"


def _intervals(ax, x, lower, upper, label: str, width: float, alpha: float):
    """One vertical segment per interval (coefficient and predictive plots)."""
    ax.vlines(x, lower, upper, color="C0", lw=width, alpha=alpha, label=label)


def _bandwidth(values: np.ndarray) -> float:
    """Silverman's rule of thumb: robust to heavy tails through the IQR."""
    sd = values.std(ddof=1) if len(values) > 1 else 0.0
    q75, q25 = np.quantile(values, [0.75, 0.25])
    spread = min(sd, (q75 - q25) / 1.34) if q75 > q25 else sd
    return 0.9 * spread * len(values) ** -0.2


def kde(values: ArrayLike, grid: ArrayLike) -> np.ndarray:
    """Gaussian kernel density estimate of ``values``, evaluated on ``grid``.

    The bandwidth is Silverman's rule of thumb,
    ``0.9 * min(sd, IQR / 1.34) * n ** (-1/5)``. Mass is not corrected at the
    edges of a bounded support, so the estimate dips near a bound that the
    draws pile up against.

    Parameters
    ----------
    values : ndarray of shape (n,)
        Draws; at least two distinct values.
    grid : ndarray of shape (m,)
        Where to evaluate the density.

    Returns
    -------
    ndarray of shape (m,)
        Estimated density.

    Examples
    --------
    >>> import numpy as np
    >>> from skbayes.plotting import kde
    >>> draws = np.random.default_rng(0).normal(size=4000)
    >>> grid = np.linspace(-6, 6, 1201)
    >>> density = kde(draws, grid)
    >>> round(float(density.sum() * (grid[1] - grid[0])), 3)  # integrates to 1
    1.0
    >>> bool(abs(density[600] - 1 / np.sqrt(2 * np.pi)) < 0.05)  # N(0, 1) at 0
    True
    """
    values = np.asarray(values, dtype=float).ravel()
    grid = np.asarray(grid, dtype=float)
    h = _bandwidth(values)
    if not h > 0:
        raise ValueError("A kernel density estimate needs at least two distinct draws.")
    density = np.zeros(grid.shape)
    # Chunk over draws so memory stays at len(grid) * 4096 floats.
    for start in range(0, len(values), 4096):
        z = (grid[..., None] - values[start : start + 4096]) / h
        density += np.exp(-0.5 * z**2).sum(-1)
    return density / (len(values) * h * math.sqrt(2 * math.pi))


def plot_loss_curve(
    est: BayesianEstimator | Pipeline,
    ax: Axes | Sequence[Axes] | None = None,
    *,
    sites: Sequence[str] | None = None,
    max_elements: int = 3,
) -> Axes | np.ndarray:
    """Convergence of a fit: the SVI loss curve, or MCMC trace plots.

    For SVI, draws the loss (negative ELBO) at every step, faint, and its
    mean over windows of ``LOSS_WINDOW`` (50) steps, the quantity the stopping
    rule watches. The y-axis is cut at the largest windowed mean after the
    first window, so the early descent does not flatten the rest.

    For NUTS and Gibbs, draws one trace plot per scalar element: the first
    ``max_elements`` elements of each site in ``sites``, one line per chain,
    titled with the element's ``r_hat`` and ``n_eff`` (or ``fixed at``
    its value, for a trace that never moves). Chains that disagree, or a
    trace that drifts, show poor mixing.

    Parameters
    ----------
    est : fitted estimator, or Pipeline ending in one
        Fitted with ``inference="svi"``, ``"nuts"`` or ``"gibbs"``.
    ax : matplotlib Axes, or sequence of Axes for MCMC, optional
        Where to draw. For MCMC, one Axes per traced element. By default a
        new figure is made.
    sites : sequence of str, optional
        MCMC only: the sites to trace. By default those of ``"p"``
        (``BetaBernoulliEstimator``), ``"coef"``, ``"tau"`` (the horseshoe's
        global scale) and ``"noise_scale"`` that the fit sampled: a site
        whose draws are all equal, such as a point (``noise="point"``) or
        fixed noise scale, is left out.
    max_elements : int, default=3
        MCMC only: elements traced per site.

    Returns
    -------
    Axes or ndarray of Axes
        A single Axes for SVI; an array with one Axes per traced element for
        MCMC.

    Raises
    ------
    ValueError
        For an estimator fitted with ``inference="exact"``, which has neither
        a loss curve nor chains.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from skbayes import BetaBernoulliEstimator
    >>> from skbayes.plotting import plot_loss_curve
    >>> x = np.array([1, 1, 0, 1, 0, 1, 1, 1, 0, 1])
    >>> svi = BetaBernoulliEstimator(inference="svi", random_state=0)
    >>> ax = plot_loss_curve(svi.set_params(num_steps=500, tol=0).fit(x))  # 500 steps
    >>> ax.get_ylabel(), len(ax.lines[0].get_xdata())
    ('loss (negative ELBO)', 500)
    >>> nuts = BetaBernoulliEstimator(
    ...     inference="nuts", num_chains=2, num_samples=1000, num_warmup=200,
    ...     random_state=0,
    ... ).fit(x)
    >>> axes = plot_loss_curve(nuts)
    >>> len(axes), len(axes[0].lines)  # one element, two chains
    (1, 2)
    >>> plt.close("all")
    """
    _pyplot()
    est, _ = split_pipeline(est, "plot_loss_curve")
    posterior = est.posterior_
    if posterior.kind == "mcmc":
        return _plot_traces(est, ax, sites, max_elements)
    if getattr(est, "loss_curve_", None) is None:
        raise ValueError(
            f"{type(est).__name__} fitted by {posterior.engine} has no loss curve "
            "or chains to plot; refit with inference='svi', 'nuts' or 'gibbs'."
        )
    ax = _new_axes(ax)
    curve = np.asarray(est.loss_curve_, dtype=float)
    steps = np.arange(1, len(curve) + 1)
    ax.plot(steps, curve, color="C0", lw=0.5, alpha=0.35, label="loss at each step")
    n_windows = len(curve) // LOSS_WINDOW
    if n_windows >= 2:
        means = curve[: n_windows * LOSS_WINDOW].reshape(n_windows, -1).mean(1)
        centres = (np.arange(n_windows) + 0.5) * LOSS_WINDOW
        ax.plot(
            centres, means, color="C0", lw=1.8, label=f"mean over {LOSS_WINDOW} steps"
        )
        finite = curve[np.isfinite(curve)]
        top, bottom = float(means[1:].max()), float(finite.min())
        pad = 0.05 * (top - bottom) if top > bottom else 1.0
        ax.set_ylim(bottom - pad, top + pad)
    ax.set_xlabel("SVI step")
    ax.set_ylabel("loss (negative ELBO)")
    ax.legend(loc="upper right")
    return ax


# The sites plot_loss_curve traces by default (those the fit sampled).
_TRACE_SITES = ("p", "coef", "tau", "noise_scale")


def _is_fixed(draws) -> bool:
    """Whether every draw of a site is the same: nothing was sampled."""
    draws = np.asarray(draws)
    return bool(np.all(draws == draws[:1]))


def _default_trace_sites(samples: dict) -> list[str]:
    sampled = [s for s in sorted(samples) if not _is_fixed(samples[s])]
    preferred = [s for s in _TRACE_SITES if s in sampled]
    return preferred or sampled[:1] or sorted(samples)[:1]


def _plot_traces(est, ax, sites, max_elements: int) -> np.ndarray:
    if max_elements < 1:
        raise ValueError(f"max_elements must be at least 1, got {max_elements!r}.")
    samples = est.posterior_samples_
    sites = list(sites) if sites is not None else _default_trace_sites(samples)
    num_chains = est.posterior_.num_chains
    # Elements are named as in summary(): coef[age] after a fit on a DataFrame.
    axis_names = est._summary_axes() if hasattr(est, "_summary_axes") else {}
    elements = []  # (label, draws of shape (chains, draws), site, flat index)
    for site in sites:
        draws = _site_draws(est, site)
        # Draws are stored flattened over chains, chain by chain.
        by_chain = draws.reshape(num_chains, -1, *draws.shape[1:])
        flat = by_chain.reshape(num_chains, by_chain.shape[1], -1)
        size = flat.shape[2]
        labels = _labels(site, draws.shape[1:], axis_names.get(site))
        for j in range(min(max_elements, size)):
            label = site if size == 1 else labels[j]
            elements.append((label, flat[:, :, j], site, j))

    if ax is None:
        plt = _pyplot()
        _, grid = plt.subplots(
            len(elements),
            1,
            sharex=True,
            squeeze=False,
            figsize=(6.4, 0.6 + 1.5 * len(elements)),
        )
        axes = grid[:, 0]
    else:
        axes = np.atleast_1d(np.asarray(ax, dtype=object)).ravel()
        if len(axes) != len(elements):
            raise ValueError(
                f"Tracing {len(elements)} elements needs {len(elements)} axes; "
                f"got {len(axes)}."
            )
    diagnostics = getattr(est, "diagnostics_", {})
    for axis, (label, chains, site, j) in zip(axes, elements, strict=True):
        for c, chain in enumerate(chains):
            axis.plot(chain, lw=0.6, alpha=0.8, color=f"C{c}", label=f"chain {c}")
        axis.set_ylabel(label)
        notes = _trace_notes(chains, diagnostics, site, j)
        if notes:
            axis.set_title(", ".join(notes), loc="right", fontsize="small")
    axes[-1].set_xlabel("draw after warm-up")
    if num_chains > 1:
        axes[0].legend(loc="upper left", fontsize="small", ncols=num_chains)
    return axes


def _trace_notes(chains: np.ndarray, diagnostics: dict, site: str, j: int) -> list:
    """The title of one trace: its r_hat and n_eff, or the value it is fixed at."""
    if _is_fixed(chains):
        # r_hat and n_eff are undefined (nan) for a trace that never moves.
        return [f"fixed at {float(chains.flat[0]):.4g}"]
    notes = []
    for key, fmt in (("r_hat", ".3f"), ("n_eff", ".0f")):
        if site in diagnostics.get(key, {}):
            value = float(np.ravel(diagnostics[key][site])[j])
            if math.isfinite(value):
                notes.append(f"{key} = {value:{fmt}}")
    return notes


def plot_posterior(
    est: BayesianEstimator | Pipeline,
    site: str = "coef",
    index: int | tuple[int, ...] | None = None,
    reference: Callable[[np.ndarray], np.ndarray]
    | float
    | Sequence[float]
    | None = None,
    ax: Axes | None = None,
    *,
    hist: bool = True,
    bins: int | str = "auto",
    label: str | None = None,
    reference_label: str = "reference",
    color: Any = None,
) -> Axes:
    """Marginal posterior density of one element of a posterior site.

    Draws a histogram of the estimator's stored draws
    (``est.posterior_samples_[site]``) and a Gaussian kernel density estimate
    of them (``kde``), between their 0.5% and 99.5% quantiles.
    Call it again with the same ``ax`` and ``hist=False`` to overlay fits.

    Parameters
    ----------
    est : fitted estimator, or Pipeline ending in one
        Any skbayes estimator.
    site : str, default="coef"
        A key of ``est.posterior_samples_``: ``"p"``, ``"coef"``,
        ``"intercept"``, ``"noise_scale"``, or a prior's latent site such as
        ``"tau"``.
    index : int or tuple of int, optional
        The element of the site, e.g. ``3`` for ``coef[3]``. May be omitted
        when the site holds a single element.
    reference : callable, float or sequence of float, optional
        A callable is taken as a density and drawn over the same grid (the
        exact posterior, say); numbers are drawn as vertical lines (true
        values, say).
    ax : matplotlib Axes, optional
        Where to draw; by default a new figure.
    hist : bool, default=True
        Draw the histogram as well as the density estimate.
    bins : int or str, default="auto"
        Histogram bins, as for ``numpy.histogram``.
    label : str, optional
        Legend label of the density estimate; by default ``"KDE"``.
    reference_label : str, default="reference"
        Legend label of the reference.
    color : matplotlib color, optional
        Colour of the histogram and density estimate.

    Returns
    -------
    Axes
        The axes drawn on. The histogram is ``ax.patches[-1]`` (when drawn),
        the density estimate a line labelled ``label``, and the reference
        lines labelled ``reference_label``.

    Examples
    --------
    Compare the SVI posterior of a coin's bias with the exact Beta posterior:

    >>> import math
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from skbayes import BetaBernoulliEstimator
    >>> from skbayes.plotting import plot_posterior
    >>> x = np.array([1, 1, 0, 1, 0, 1, 1, 1, 0, 1])
    >>> est = BetaBernoulliEstimator(random_state=0).fit(x)
    >>> a, b = 1 + x.sum(), 1 + len(x) - x.sum()  # Beta(1, 1) prior
    >>> log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    >>> def exact_pdf(p):
    ...     return np.exp(log_norm + (a - 1) * np.log(p) + (b - 1) * np.log1p(-p))
    >>> ax = plot_posterior(est, "p", reference=exact_pdf)
    >>> [line.get_label() for line in ax.lines]
    ['KDE', 'reference']
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('p', 'density')
    >>> plt.close("all")
    """
    _pyplot()
    est, _ = split_pipeline(est, "plot_posterior")
    values, name = _element(_site_draws(est, site), site, index)
    values = values[np.isfinite(values)]
    ax = _new_axes(ax)
    lo, hi = np.quantile(values, _DENSITY_RANGE)
    pad = 0.05 * (hi - lo)
    lo = max(lo - pad, values.min())
    hi = min(hi + pad, values.max())
    label = "KDE" if label is None else label
    if not hi > lo:  # a point mass, e.g. from guide="delta"
        ax.axvline(values[0], color=color, label=label)
        grid = np.linspace(values[0] - 1, values[0] + 1, KDE_POINTS)
    else:
        grid = np.linspace(lo, hi, KDE_POINTS)
        (line,) = ax.plot(grid, kde(values, grid), color=color, label=label)
        if hist:
            counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
            # Normalise by all draws, not only those in range, so the bars
            # estimate the density itself.
            density = counts / (len(values) * np.diff(edges))
            ax.stairs(
                density,
                edges,
                fill=True,
                alpha=0.25,
                color=line.get_color(),
                label=f"{label} (histogram)",
            )
    if callable(reference):
        ax.plot(
            grid,
            np.asarray(reference(grid), dtype=float),
            color="k",
            ls="--",
            label=reference_label,
        )
    elif reference is not None:
        for value in np.atleast_1d(np.asarray(reference, dtype=float)):
            ax.axvline(value, color="k", ls="--", label=reference_label)
    ax.set_xlabel(name)
    ax.set_ylabel("density")
    ax.legend()
    return ax


def plot_coefficients(
    est: BayesianEstimator | Pipeline,
    true_coef: ArrayLike | None = None,
    coverage: float = 0.95,
    ax: Axes | None = None,
) -> Axes:
    """Posterior median and central credible interval of every coefficient.

    Quantiles are read from the estimator's own draws,
    ``np.quantile(est.posterior_samples_["coef"], ...)``, so the picture is
    the same whatever the inference or guide.

    Parameters
    ----------
    est : fitted regressor, or Pipeline ending in one
        ``BayesianLinearRegression`` or ``HorseshoeRegression``. The
        features are named by ``feature_names_in_`` of the regressor itself,
        the names it was fitted on (in a pipeline, those the steps before it
        passed on: see ``Pipeline.set_output(transform="pandas")``).
    true_coef : array-like of shape (n_features,), optional
        True coefficients, drawn as stars.
    coverage : float, default=0.95
        Posterior mass inside each interval.
    ax : matplotlib Axes, optional
        Where to draw; by default a new figure.

    Returns
    -------
    Axes
        The intervals are ``ax.collections[0]`` (one vertical segment per
        coefficient); the medians and the true values are lines labelled
        ``"posterior median"`` and ``"true value"``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from skbayes import BayesianLinearRegression
    >>> from skbayes.plotting import plot_coefficients
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 3))
    >>> coef = np.array([1.0, -2.0, 0.0])
    >>> y = X @ coef + 0.3 * rng.normal(size=40)
    >>> reg = BayesianLinearRegression(num_samples=500, random_state=0).fit(X, y)
    >>> ax = plot_coefficients(reg, true_coef=coef)
    >>> len(ax.collections[0].get_segments())  # one interval per coefficient
    3
    >>> plt.close("all")
    """
    _pyplot()
    est, _ = split_pipeline(est, "plot_coefficients")
    coverage = _check_coverage(coverage)
    draws = _site_draws(est, "coef")
    draws = draws.reshape(len(draws), -1)
    n_features = draws.shape[1]
    if true_coef is not None:
        true_coef = np.asarray(true_coef, dtype=float).ravel()
        if true_coef.shape != (n_features,):
            raise ValueError(
                f"true_coef has {true_coef.size} values; the estimator has "
                f"{n_features} coefficients."
            )
    alpha = (1 - coverage) / 2
    lower, median, upper = np.quantile(draws, [alpha, 0.5, 1 - alpha], axis=0)
    ax = _new_axes(ax)
    index = np.arange(n_features)
    _intervals(ax, index, lower, upper, f"{coverage:.0%} credible interval", 2, 0.6)
    ax.axhline(0.0, color="0.6", lw=0.8, zorder=0)
    ax.plot(index, median, "o", color="C3", ms=3.5, label="posterior median")
    if true_coef is not None:
        ax.plot(index, true_coef, "*", color="k", ms=7, alpha=0.6, label="true value")
    names = getattr(est, "feature_names_in_", None)
    if names is not None and n_features <= 30:
        ax.set_xticks(index, [str(n) for n in names], rotation=90)
        ax.set_xlabel("feature")
    else:
        ax.set_xlabel("coefficient index")
    ax.set_ylabel("coefficient")
    ax.legend()
    return ax


def plot_predictive(
    est: BayesianEstimator | Pipeline,
    X: ArrayLike,
    y: ArrayLike,
    coverage: float = 0.9,
    ax: Axes | None = None,
) -> Axes:
    """Posterior-predictive intervals against observed targets, sorted.

    Rows are sorted by their predictive mean (``est.predict(X)``); for each
    row the central interval ``est.predict_interval(X, coverage)`` is a
    vertical segment and the observed ``y`` a dot, or a red cross when it
    falls outside. The legend reports the share of ``y`` inside, to compare
    with ``coverage``.

    Parameters
    ----------
    est : fitted regressor, or Pipeline ending in one
        An estimator with ``predict`` and ``predict_interval``.
    X : array-like of shape (n_samples, n_features)
        Inputs, ideally held out from the fit. For a pipeline, its raw
        inputs: they go through ``transform`` of the steps before the last,
        as in ``Pipeline.predict``.
    y : array-like of shape (n_samples,)
        Observed targets.
    coverage : float, default=0.9
        Predictive probability inside each interval.
    ax : matplotlib Axes, optional
        Where to draw; by default a new figure.

    Returns
    -------
    Axes
        The intervals are ``ax.collections[0]``, in sorted order; lines
        labelled ``"predictive mean"``, and observed values inside and
        outside their interval.

    Examples
    --------
    Fit on the tutorial's sparse problem, then check the held-out rows:

    >>> import matplotlib.pyplot as plt
    >>> from skbayes import BayesianLinearRegression
    >>> from skbayes.datasets import make_sparse_regression
    >>> from skbayes.plotting import plot_predictive
    >>> X, y, _ = make_sparse_regression(60, 3, n_nonzero=2, random_state=0)
    >>> reg = BayesianLinearRegression(num_samples=500, random_state=0)
    >>> reg = reg.fit(X[:40], y[:40])
    >>> ax = plot_predictive(reg, X[40:], y[40:], coverage=0.9)
    >>> len(ax.collections[0].get_segments())  # one interval per test row
    20
    >>> plt.close("all")
    """
    _pyplot()
    coverage = _check_coverage(coverage)
    est, transform = split_pipeline(est, "plot_predictive")
    if not hasattr(est, "predict_interval"):
        raise TypeError(
            f"plot_predictive needs a regressor with predict_interval; got "
            f"{type(est).__name__}."
        )
    X = transform(X)
    interval = np.asarray(est.predict_interval(X, coverage=coverage))
    mean = np.asarray(est.predict(X), dtype=float)
    y = np.asarray(y, dtype=float).ravel()
    if len(y) != len(mean):
        raise ValueError(f"X has {len(mean)} rows but y has {len(y)} values.")
    order = np.argsort(mean, kind="stable")
    lower, upper = interval[order, 0], interval[order, 1]
    y_sorted = y[order]
    rank = np.arange(len(y))
    inside = (lower <= y_sorted) & (y_sorted <= upper)
    ax = _new_axes(ax)
    _intervals(ax, rank, lower, upper, f"{coverage:.0%} predictive interval", 1.5, 0.5)
    ax.plot(rank, mean[order], "_", color="C0", ms=6, label="predictive mean")
    ax.plot(
        rank[inside],
        y_sorted[inside],
        ".",
        color="k",
        ms=4,
        label=f"observed, inside ({inside.mean():.0%})",
    )
    ax.plot(
        rank[~inside],
        y_sorted[~inside],
        "x",
        color="C3",
        ms=5,
        label="observed, outside",
    )
    ax.set_xlabel("sample, sorted by predictive mean")
    ax.set_ylabel("y")
    ax.legend()
    return ax
