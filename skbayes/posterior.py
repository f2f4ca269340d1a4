"""Posterior summaries: tables of means, spreads, quantiles and diagnostics."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

QUANTILES = (0.025, 0.5, 0.975)


class PosteriorSummary:
    """A table with one row per scalar parameter.

    Attributes
    ----------
    columns : list of str
        Column names: ``mean``, ``sd``, the quantiles, and for MCMC ``n_eff``
        and ``r_hat``.
    rows : dict of str to ndarray
        Row label (``"coef[3]"``) to the row's values.
    divergences : int or None
        Divergent NUTS transitions, when the posterior came from NUTS.

    Examples
    --------
    >>> import numpy as np
    >>> table = summarize({"p": np.array([0.2, 0.4, 0.6])})
    >>> round(table["p"]["mean"], 2)
    0.4
    """

    def __init__(self, columns, rows, divergences=None):
        self.columns = list(columns)
        self.rows = dict(rows)
        self.divergences = divergences

    def __getitem__(self, label: str) -> dict[str, float]:
        return dict(
            zip(self.columns, (float(v) for v in self.rows[label]), strict=True)
        )

    def __len__(self) -> int:
        return len(self.rows)

    def to_dict(self) -> dict[str, dict[str, float]]:
        """Nested ``{row: {column: value}}``."""
        return {label: self[label] for label in self.rows}

    def to_pandas(self):
        """The table as a ``pandas.DataFrame`` (needs pandas)."""
        import pandas as pd

        return pd.DataFrame.from_dict(self.to_dict(), orient="index")[self.columns]

    def __repr__(self) -> str:
        width = max([len(label) for label in self.rows] + [9])
        cells = {
            label: [f"{v:.4g}" for v in values] for label, values in self.rows.items()
        }
        # Ten characters a column, and more where a value needs them: a column
        # always keeps a space before its widest value.
        widths = [
            max([10, len(name) + 1] + [len(row[j]) + 1 for row in cells.values()])
            for j, name in enumerate(self.columns)
        ]
        header = " " * width + "".join(
            f"{c:>{w}}" for c, w in zip(self.columns, widths, strict=True)
        )
        lines = [header]
        for label, row in cells.items():
            values = "".join(f"{v:>{w}}" for v, w in zip(row, widths, strict=True))
            lines.append(f"{label:<{width}}{values}")
        if self.divergences is not None:
            lines.append(f"divergences: {self.divergences}")
        return "\n".join(lines)


def _labels(name: str, shape: tuple, axes: Sequence | None = None) -> list[str]:
    if not shape:
        return [name]
    named = axes is not None and [len(a) for a in axes] == list(shape)
    if not named:
        return [f"{name}[{','.join(map(str, idx))}]" for idx in np.ndindex(*shape)]
    return [
        f"{name}[{', '.join(str(a[i]) for a, i in zip(axes, idx, strict=True))}]"
        for idx in np.ndindex(*shape)
    ]


def summarize(
    samples: Mapping[str, np.ndarray],
    *,
    quantiles: Sequence[float] = QUANTILES,
    n_eff: Mapping[str, np.ndarray] | None = None,
    r_hat: Mapping[str, np.ndarray] | None = None,
    divergences: int | None = None,
    axis_names: Mapping[str, Sequence[Sequence]] | None = None,
) -> PosteriorSummary:
    """Summarise posterior draws, each of shape ``(num_samples, ...)``.

    Parameters
    ----------
    samples : mapping of str to ndarray
        Draws per site; the first axis indexes draws.
    quantiles : sequence of float
        Quantiles to report, as fractions.
    n_eff, r_hat : mapping of str to ndarray, optional
        MCMC diagnostics per site, shaped like one draw.
    divergences : int, optional
        Number of divergent transitions.
    axis_names : mapping of str to sequences, optional
        Per site, labels for each axis of one draw (feature names, say),
        used in the row names instead of indices.

    Returns
    -------
    PosteriorSummary
        One row per scalar: a site of shape ``(2,)`` gives rows ``name[0]``
        and ``name[1]``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbayes.posterior import summarize
    >>> draws = {
    ...     "p": np.array([0.1, 0.2, 0.3, 0.4, 0.5]),
    ...     "coef": np.array([[1.0, -1.0], [2.0, -2.0], [3.0, -3.0]]),
    ... }
    >>> summarize(draws)
                   mean        sd      2.5%       50%     97.5%
    p               0.3    0.1581      0.11       0.3      0.49
    coef[0]           2         1      1.05         2      2.95
    coef[1]          -2         1     -2.95        -2     -1.05
    >>> summarize(draws, quantiles=(0.05, 0.95)).columns
    ['mean', 'sd', '5%', '95%']
    >>> summarize(draws)["coef[1]"]["mean"]
    -2.0

    ``mcmc_diagnostics`` supplies the ``n_eff`` and ``r_hat`` columns for
    draws that come from MCMC chains.
    """
    columns = ["mean", "sd", *(f"{100 * q:g}%" for q in quantiles)]
    diagnostics = n_eff is not None and r_hat is not None
    if diagnostics:
        columns += ["n_eff", "r_hat"]
    rows = {}
    for name, draws in samples.items():
        draws = np.asarray(draws, dtype=float)
        stats = [
            draws.mean(0),
            draws.std(0, ddof=1) if len(draws) > 1 else 0 * draws[0],
        ]
        stats += list(np.quantile(draws, quantiles, axis=0))
        if diagnostics:
            stats += [np.asarray(n_eff[name], float), np.asarray(r_hat[name], float)]
        stats = [np.broadcast_to(s, draws.shape[1:]) for s in stats]
        for label, idx in zip(
            _labels(name, draws.shape[1:], (axis_names or {}).get(name)),
            np.ndindex(*draws.shape[1:]),
            strict=True,
        ):
            rows[label] = np.array([s[idx] for s in stats])
    return PosteriorSummary(columns, rows, divergences)


def effective_sample_size(draws: torch.Tensor) -> torch.Tensor:
    """Bulk effective sample size of draws shaped ``(chains, draws, ...)``.

    The estimator of Pyro's ``effective_sample_size`` (Geyer's initial
    monotone sequence on the chains' pooled autocorrelations, as in Stan),
    equal to it up to rounding, except that, as Stan's, the estimate is
    capped at ``N log10(N)`` for ``N`` draws in all (Pyro's turns negative
    for strongly antithetic chains). Pyro's transposes, Fourier transforms and
    N x N running minimum cost more, for a few thousand draws of 50
    coefficients, than the Gibbs sweeps that made them; here the
    autocovariances are summed lag by lag, in compiled code, only as far as
    the sequence needs them (``skbayes._chain_statistics``), and by Fourier
    transforms for the quantities that need more than a few dozen lags.

    Examples
    --------
    >>> import torch
    >>> from skbayes.posterior import effective_sample_size
    >>> white = torch.randn(2, 2000, generator=torch.Generator().manual_seed(0))
    >>> bool(3000 < effective_sample_size(white) < 5000)
    True
    """
    value = draws.detach().cpu().double().numpy()
    chains, n = value.shape[:2]
    ess = _effective_sample_size(np.ascontiguousarray(value.reshape(chains, n, -1)))
    return torch.as_tensor(ess.reshape(value.shape[2:]), dtype=draws.dtype)


def _stacked(draws_by_chain) -> tuple[np.ndarray, dict]:
    """Every site's draws side by side, ``(chains, draws, quantities)``.

    One contiguous array in the draws' own order, so that the diagnostics
    make one pass over every quantity of every site (no transposed copy),
    and the layout that ``_unstacked`` splits it back with.
    """
    blocks, layout, start = [], {}, 0
    for name, value in draws_by_chain.items():
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu()
        value = np.asarray(value, dtype=float)
        size = int(np.prod(value.shape[2:], dtype=int))
        blocks.append(value.reshape(*value.shape[:2], size))
        layout[name] = (start, value.shape[2:])
        start += size
    return np.concatenate(blocks, -1), layout


def _unstacked(values: np.ndarray | None, layout: dict) -> dict[str, np.ndarray]:
    """Per site, from one value per stacked quantity (NaN where None)."""
    out = {}
    for name, (start, shape) in layout.items():
        size = int(np.prod(shape, dtype=int))
        if values is None:
            out[name] = np.full(shape, np.nan)
        else:
            out[name] = values[start : start + size].reshape(shape)
    return out


#: Lags summed directly before a quantity is left to the Fourier transforms:
#: about where a pair of transforms of length 2n costs as much (each lag is
#: n products; a transform about 5 n log2(2n) operations).
_DIRECT_LAGS = 64


def _effective_sample_size(x: np.ndarray) -> np.ndarray:
    """The estimator of ``effective_sample_size`` on ``(chains, n, quantities)``."""
    from ._chain_statistics import initial_monotone_tau, variance_stats

    chains, n, _ = x.shape
    if n < 2:
        return np.full(x.shape[2], np.nan)
    means, var_within, var_estimator = variance_stats(x)
    centred = x - means[:, None, :]
    tau = initial_monotone_tau(centred, var_estimator, var_within, _DIRECT_LAGS)
    slow = np.flatnonzero(np.isnan(tau))
    if slow.size:
        tau[slow] = _transformed_tau(
            np.ascontiguousarray(centred[..., slow].transpose(0, 2, 1)),
            var_estimator[slow],
            var_within[slow],
        )
    # Stan's and posterior's safety net: an estimate that would make the
    # draws worth more than N log10(N) independent ones (or a negative
    # number, when a lag-1 autocorrelation below -1/2 beats the pairs'
    # sum) is capped there.
    draws = chains * n
    tau = np.maximum(tau, 1.0 / math.log10(draws))
    with np.errstate(divide="ignore"):
        return draws / tau


def _split_r_hat(x: np.ndarray) -> np.ndarray:
    """Pyro's ``split_gelman_rubin`` on ``(chains, n, quantities)``, n >= 4."""
    from ._chain_statistics import variance_stats

    half = x.shape[1] // 2
    _, var_within, var_estimator = variance_stats(
        np.concatenate([x[:, :half], x[:, -half:]], 0)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(var_estimator / var_within)


def _transformed_tau(centred, var_estimator, var_within) -> np.ndarray:
    """``initial_monotone_tau`` over every lag, autocovariances by FFT."""
    from scipy import fft

    n = centred.shape[-1]
    # Zero-padding to 2n - 1 or more gives the linear autocovariance.
    size = fft.next_fast_len(2 * n - 1, real=True)
    spectrum = fft.rfft(centred, n=size, axis=-1)
    np.multiply(spectrum, spectrum.conj(), out=spectrum)
    acov = fft.irfft(spectrum, n=size, axis=-1)[..., :n]
    # Pyro's autocovariance: lag-k sums over n - k terms, rescaled so that
    # lag 0 is the biased variance. Pyro's normalised autocorrelation times
    # that variance is the autocovariance itself (both are 0 for a constant
    # chain), so the chains' mean autocovariance is taken directly.
    gamma = acov.mean(0) / np.arange(n, 0, -1)  # (quantities, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (var_estimator[:, None] - var_within[:, None] + gamma) / var_estimator[
            :, None
        ]
        rho[:, 0] = 1.0
        pairs = rho[:, : n - n % 2].reshape(len(rho), n // 2, 2).sum(-1)
        tau = -1.0 + 2.0 * pairs[:, 0]
        if pairs.shape[1] > 1:
            monotone = np.minimum.accumulate(np.maximum(pairs[:, 1:], 0.0), axis=1)
            tau = tau + 2.0 * monotone.sum(1)
    return tau


#: Split R-hat above this warns, and keeps an adaptive Gibbs run going: the
#: threshold of Vehtari, Gelman, Simpson, Carpenter and Buerkner (2021).
R_HAT_LIMIT = 1.01


def mcmc_diagnostics(
    draws_by_chain: Mapping[str, np.ndarray],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Effective sample size and split R-hat for draws shaped ``(chains, draws, ...)``.

    Returns
    -------
    n_eff, r_hat : dict of str to ndarray
        Per site, shaped like one draw. R-hat is NaN with fewer than 4 draws.

    Examples
    --------
    Two well-mixed chains of 500 independent draws: R-hat is close to 1 and
    the effective sample size close to the 1000 draws.

    >>> import numpy as np
    >>> from skbayes.posterior import mcmc_diagnostics, summarize
    >>> rng = np.random.default_rng(0)
    >>> chains = {"mu": rng.normal(size=(2, 500)),
    ...           "coef": rng.normal(size=(2, 500, 3))}
    >>> n_eff, r_hat = mcmc_diagnostics(chains)
    >>> r_hat["coef"].shape
    (3,)
    >>> bool(abs(r_hat["mu"] - 1) < 0.01), bool(n_eff["mu"] > 500)
    (True, True)

    Pool the chains to summarise the draws with the diagnostics:

    >>> pooled = {name: value.reshape(-1, *value.shape[2:])
    ...           for name, value in chains.items()}
    >>> summarize(pooled, n_eff=n_eff, r_hat=r_hat).columns[-2:]
    ['n_eff', 'r_hat']

    Chains two draws long are too short for split R-hat:

    >>> _, r_hat = mcmc_diagnostics({"mu": np.zeros((2, 2))})
    >>> r_hat["mu"]
    array(nan)
    """
    stacked, layout = _stacked(draws_by_chain)
    if stacked.shape[1] < 4:
        return _unstacked(None, layout), _unstacked(None, layout)
    n_eff = _unstacked(_effective_sample_size(stacked), layout)
    return n_eff, _unstacked(_split_r_hat(stacked), layout)


@dataclass(frozen=True)
class FittedPosterior:
    """How a fitted estimator holds its posterior, whatever the engine.

    Attributes
    ----------
    engine : str
        The engine that produced it (``"SVI"``, ``"NUTS"``, ``"Gibbs"``,
        ``"exact"``).
    kind : {"variational", "mcmc", "exact"}
        ``"mcmc"``: ``samples`` are the stored chains, which new draws
        resample. ``"variational"``: new draws come from the fitted guide.
        ``"exact"``: new draws come from ``exact``, a closed form.
    num_chains : int
        Chains in ``samples`` (stored one after another).
    samples : dict of str to ndarray
        The draws made at fit time, chains merged: shape ``(draws, ...)``.
    diagnostics : dict or None
        MCMC only: ``n_eff``, ``r_hat`` and ``divergences``.
    exact : object or None
        The closed-form posterior, with ``sample(num_samples, rng)``.
    diverging : ndarray of bool or None
        NUTS only: whether each draw's transition diverged, shape
        ``(draws,)`` with chains merged as in ``samples``.
    """

    engine: str
    kind: str
    num_chains: int
    samples: dict
    diagnostics: dict | None = None
    exact: object = None
    diverging: np.ndarray | None = None

    def by_chain(self, name: str) -> np.ndarray:
        """``samples[name]`` with its chains apart: ``(chains, draws, ...)``."""
        value = self.samples[name]
        return value.reshape(self.num_chains, -1, *value.shape[1:])
