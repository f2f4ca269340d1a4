"""The Normal-prior linear model in closed form: noise marginal, draws, a start.

With ``coef ~ Normal(0, scale**2 I)`` the coefficients integrate out of the
likelihood, leaving a one-dimensional posterior for the noise variance. The
exact engine draws from it by inverse CDF (``NormalLinearPosterior``) and the
Gibbs sampler by slice sampling; SVI starts from its mode and from the
Gaussian posterior of the coefficients given that noise, instead of from a
guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..priors import GaussianForm, NoisePrior, resolve_noise_prior


class NormalMarginal:
    """``log p(log sigma**2 | y)`` under a Normal prior, coef integrated out.

    ``y ~ N(0, sigma**2 I + scale**2 X X')``; with the thin SVD ``X = U S V'``
    (rank ``r``) its eigenvalues are ``sigma**2 + scale**2 s_i**2`` along
    ``U``'s columns and ``sigma**2`` on the remaining ``n - r`` directions, so
    one evaluation costs O(r). Under a flat prior (``scale = inf``, X of
    full column rank) the directions along ``U`` carry no information about
    ``sigma``, leaving ``sigma**2`` on ``n - r`` directions. The flat-prior
    intercept adds ``log sigma``; the noise prior's density of ``u = log
    sigma**2`` (Jacobian included) is added when ``with_prior`` (for ML-II it
    is left out).

    Parameters
    ----------
    svals : Tensor of shape (r,)
        Non-zero singular values of the centred X.
    uty : Tensor of shape (r,)
        ``U' y``, the centred targets in the left singular basis.
    yty : Tensor
        ``y' y`` of the centred targets.
    n : int
        Rows of X.
    scale : float
        Prior scale of the coefficients; ``inf`` for a flat prior.
    fit_intercept : bool
        Whether the data were centred for a flat-prior intercept.
    noise_prior : NoisePrior or tuple of float
        The prior on ``sigma**2``; a pair is ``InverseGamma(shape, rate)``.

    Examples
    --------
    One feature, unit prior scale: ``y ~ N(0, (sigma**2 + s**2) I)`` along
    the feature and ``N(0, sigma**2)`` elsewhere.

    >>> import torch
    >>> from skbayes.models.conjugate import NormalMarginal
    >>> svals = torch.tensor([2.0], dtype=torch.float64)
    >>> uty = torch.tensor([3.0], dtype=torch.float64)
    >>> yty = torch.tensor(13.0, dtype=torch.float64)  # 9 along U, 4 elsewhere
    >>> marginal = NormalMarginal(svals, uty, yty, 5, 1.0, False, (1.0, 1.0))
    >>> u = torch.tensor([0.0], dtype=torch.float64)  # sigma**2 = 1
    >>> expected = -0.5 * (torch.log(torch.tensor(5.0)) + 9 / 5 + 4)
    >>> bool(torch.isclose(marginal(u, with_prior=False), expected.double()))
    True
    """

    def __init__(self, svals, uty, yty, n, scale, fit_intercept, noise_prior):
        self.flat = math.isinf(scale)
        self.spread = None if self.flat else (scale * svals) ** 2  # (r,)
        self.uty2 = uty**2
        self.rest = (yty - uty @ uty).clamp_min(0.0)
        self.flat_dims = n - len(svals)
        self.intercept = 0.5 if fit_intercept else 0.0
        self.noise_prior = resolve_noise_prior(noise_prior)
        self.dtype, self.device = uty.dtype, uty.device

    def __call__(self, u: torch.Tensor, with_prior: bool = True) -> torch.Tensor:
        var = u.exp()
        quad = self.rest / var
        logdet = self.flat_dims * u
        if not self.flat:
            eig = var[..., None] + self.spread
            quad = quad + (self.uty2 / eig).sum(-1)
            logdet = logdet + eig.log().sum(-1)
        out = -0.5 * (logdet + quad) + self.intercept * u
        if with_prior:
            out = out + self.noise_prior.log_density(u)
        return out

    def mode(self, var_y: float, with_prior: bool = True) -> float:
        """The ``sigma**2`` that maximises the density (ML-II without prior).

        A grid over 40 e-folds below and above ``var_y``, then a bounded
        one-dimensional search around the best grid point.
        """
        return math.exp(self._log_mode(var_y, with_prior))

    def _log_mode(self, var_y: float, with_prior: bool) -> float:
        from scipy.optimize import minimize_scalar

        device, dtype = self.device, self.dtype
        centre = math.log(var_y) if var_y > 0 else 0.0
        grid = torch.linspace(centre - 35.0, centre + 5.0, 801, dtype=dtype)
        values = self(grid.to(device), with_prior=with_prior).cpu()
        best = int(values.argmax())
        lo = float(grid[max(best - 1, 0)])
        hi = float(grid[min(best + 1, len(grid) - 1)])

        def loss(u: float) -> float:
            point = torch.tensor([u], dtype=dtype, device=device)
            return -float(self(point, with_prior=with_prior))

        return minimize_scalar(loss, bounds=(lo, hi), method="bounded").x


def thin_svd(
    X: torch.Tensor, y: torch.Tensor, stats: tuple | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(s, U'y, V)`` of the centred ``X = U diag(s) V'``, the cheaper way.

    With more rows than columns, from ``X'X`` and ``X'y`` (``stats`` when
    given; see ``thin_svd_from_gram``), so nothing as large as X is formed;
    otherwise from the SVD of X itself, which costs O(n**2 d) rather than the
    O(d**3) of the d x d eigendecomposition.
    """
    n, d = X.shape
    if n > d:
        gram, xty = (X.T @ X, X.T @ y) if stats is None else stats[:2]
        return thin_svd_from_gram(gram, xty)
    u, svals, vh = torch.linalg.svd(X, full_matrices=False)
    return svals, u.T @ y, vh.T


def sample_coef_given_noise(
    svd: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    scale: float,
    noise_var: torch.Tensor,
    generator: torch.Generator,
) -> torch.Tensor:
    """Draws of ``coef | sigma**2, y`` under ``coef ~ Normal(0, scale**2 I)``.

    With the thin SVD ``X = U diag(s) V'``, ``B = I + scale**2 X'X / sigma**2
    = V diag(prec) V' + (I - V V')`` with ``prec = 1 + scale**2 s**2 /
    sigma**2``: diagonal in the basis of V's columns and the identity on
    their orthogonal complement, for every sigma. So ``z = coef / scale = V
    (m + diag(prec**-1/2) V' eps) + (I - V V') eps`` with ``m = scale s U'y /
    (sigma**2 prec)``: O(d min(n, d)) per draw, one draw per entry of
    ``noise_var``. Under a flat prior (``scale = inf``; V square) the draw is
    ``V (U'y + sigma eps) / s``, least squares plus ``sigma (X'X)^-1/2 eps``.
    """
    svals, uty, v = svd
    like = {"dtype": v.dtype, "device": v.device, "generator": generator}
    if math.isinf(scale):
        eps = torch.randn((*noise_var.shape, v.shape[1]), **like)
        return ((uty + noise_var.sqrt()[..., None] * eps) / svals) @ v.T
    prec = 1.0 + (scale * svals) ** 2 / noise_var[..., None]  # (..., r)
    mean = scale * svals * uty / (noise_var[..., None] * prec)
    eps = torch.randn((*noise_var.shape, v.shape[0]), **like)
    proj = eps @ v
    return scale * ((mean + proj * (prec.rsqrt() - 1.0)) @ v.T + eps)


def standardise(
    form: GaussianForm, X=None, y=None, stats: tuple | None = None
) -> tuple:
    """The data of ``w`` when ``coef = loc + column_scale * w`` (``GaussianForm``).

    ``X diag(column_scale)`` and ``y - X loc``, and their centred ``X'X``,
    ``X'y`` and ``y'y`` from ``stats = (X'X, X'y, y'y)`` (either may be None):
    ``w`` then has the isotropic prior ``Normal(0, form.scale**2 I)`` that
    the closed forms take. Unchanged for a prior already in that form.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skbayes.models.conjugate import standardise
    >>> from skbayes.priors import Normal
    >>> X = torch.tensor([[1.0, 2.0], [3.0, -1.0]], dtype=torch.float64)
    >>> y = torch.tensor([1.0, 0.0], dtype=torch.float64)
    >>> form = Normal(scale=[2.0, 1.0], loc=[1.0, 0.0]).gaussian_form(2)
    >>> Xw, yw, stats = standardise(form, X, y, (X.T @ X, X.T @ y, y @ y))
    >>> Xw.tolist(), yw.tolist()
    ([[2.0, 2.0], [6.0, -1.0]], [0.0, -3.0])
    >>> [t.tolist() for t in stats] == [(Xw.T @ Xw).tolist(), (Xw.T @ yw).tolist(), 9.0]
    True
    """
    if form.standard:
        return X, y, stats
    ref = X if X is not None else stats[0]
    loc, column_scale = (
        None if a is None else torch.as_tensor(a, dtype=ref.dtype, device=ref.device)
        for a in (form.loc, form.column_scale)
    )
    if stats is not None:
        gram, xty, yty = stats
        if loc is not None:
            gram_loc = gram @ loc
            yty = yty - 2 * loc @ xty + loc @ gram_loc
            xty = xty - gram_loc
        if column_scale is not None:
            gram = column_scale[:, None] * gram * column_scale
            xty = column_scale * xty
        stats = (gram, xty, yty)
    if X is not None:
        if loc is not None:
            y = y - X @ loc
        if column_scale is not None:
            X = X * column_scale
    return X, y, stats


def unstandardise(form: GaussianForm, w: torch.Tensor) -> torch.Tensor:
    """``coef = loc + column_scale * w``, the inverse of ``standardise``."""
    if form.column_scale is not None:
        w = w * w.new_tensor(form.column_scale)
    if form.loc is not None:
        w = w + w.new_tensor(form.loc)
    return w


def check_flat_rank(rank: int, n_features: int) -> None:
    """Raise ``ValueError`` when a flat prior leaves some coefficient improper."""
    if rank < n_features:
        raise ValueError(
            f"A flat coefficient prior needs X of full column rank, but the "
            f"(centred) X has rank {rank} < {n_features} features: the "
            "posterior is improper along the rest. Use a proper prior such "
            "as Normal(scale)."
        )


class PiecewiseExponential:
    """Draws from a smooth 1-D density through its log on a fine grid.

    The log density is interpolated linearly between grid points, so the
    density is exponential on each cell, and both the cell masses and the
    inverse CDF within a cell are closed forms: every draw is independent,
    and exact for the interpolant. The interpolant's error in the log density
    is at most ``h**2 max|f''| / 8`` for cells of width ``h``.

    Parameters
    ----------
    grid : ndarray of shape (G + 1,)
        Equally spaced points covering all but a negligible tail mass.
    log_density : ndarray of shape (G + 1,)
        The unnormalised log density there.

    Examples
    --------
    A standard normal through its log density on [-10, 10]:

    >>> import numpy as np
    >>> grid = np.linspace(-10, 10, 2001)
    >>> draws = PiecewiseExponential(grid, -0.5 * grid**2).sample(
    ...     100_000, np.random.default_rng(0)
    ... )
    >>> round(float(draws.mean()), 2) + 0.0, round(float(draws.std()), 2)
    (0.0, 1.0)
    """

    def __init__(self, grid: np.ndarray, log_density: np.ndarray):
        self.left = grid[:-1]
        self.width = float(grid[1] - grid[0])
        self.level = log_density[:-1]
        self.slope = np.diff(log_density) / self.width
        log_mass = (
            self.level
            + math.log(self.width)
            + _log_expm1_ratio(self.slope * self.width)
        )
        mass = np.exp(log_mass - log_mass.max())
        self.cdf = np.cumsum(mass) / mass.sum()

    def sample(self, num_samples: int, rng: np.random.Generator) -> np.ndarray:
        cell = np.minimum(
            np.searchsorted(self.cdf, rng.uniform(size=num_samples)),
            len(self.cdf) - 1,
        )
        b = self.slope[cell]
        uniform = rng.uniform(size=num_samples)
        step = np.expm1(b * self.width)
        flat = np.abs(b * self.width) < 1e-10
        # Inverse CDF of the density exp(b t) on [0, width].
        with np.errstate(divide="ignore", invalid="ignore"):
            offset = np.where(
                flat,
                uniform * self.width,
                np.log1p(uniform * step) / np.where(flat, 1.0, b),
            )
        return self.left[cell] + offset


def _log_expm1_ratio(x: np.ndarray) -> np.ndarray:
    """``log((exp(x) - 1) / x)``, stable for every x (``x / 2`` near 0)."""
    out = x / 2
    big = np.abs(x) > 1e-8
    a = np.abs(x[big])
    # (e^x - 1) / x is (1 - e^-a) / a for x = -a, and e^x times that for x = a.
    core = np.log(-np.expm1(-a)) - np.log(a)
    out[big] = np.where(x[big] > 0, a + core, core)
    return out


#: Cells of the inverse-CDF grid of ``log sigma**2``, and how far (in log
#: density below the mode) the grid reaches on each side.
NOISE_GRID_CELLS = 8192
NOISE_GRID_DROP = 40.0


@dataclass(frozen=True)
class NormalLinearSpec:
    """What the closed forms of a Normal-prior linear model read from it.

    Attributes
    ----------
    scale : float
        Prior scale of the coefficients (of ``w``, under ``form``); ``inf``
        for a flat prior.
    noise : {"prior", "point"} or float
        As in ``LinearRegressionModel``: a prior on ``sigma**2``, a
        marginal-likelihood point estimate, or the fixed noise scale.
    noise_prior : NoisePrior or tuple of float
        The prior on ``sigma**2``; a pair is ``InverseGamma(shape, rate)``.
    fit_intercept : bool
        Whether the data were centred for a flat-prior intercept.
    form : GaussianForm or None
        The prior's ``coef = loc + column_scale * w``, when it is not
        ``Normal(0, scale**2 I)`` itself: the closed forms then work on the
        standardised data (``standardise``) and map their draws back.
    """

    scale: float
    noise: str | float = "prior"
    noise_prior: NoisePrior | tuple[float, float] = (0.1, 0.1)
    fit_intercept: bool = True
    form: GaussianForm | None = None

    def marginal(self, svals, uty, yty, n: int) -> NormalMarginal:
        """The noise variance's marginal density for these data summaries."""
        return NormalMarginal(
            svals, uty, yty, n, self.scale, self.fit_intercept, self.noise_prior
        )


@dataclass(frozen=True)
class NormalLinearPosterior:
    """Independent exact draws of the Normal-prior linear model's posterior.

    ``log sigma**2`` from its marginal posterior (``NormalMarginal``) by
    inverse CDF on a fine grid (``PiecewiseExponential``), then ``coef |
    sigma**2`` from its Gaussian conditional (``sample_coef_given_noise``);
    with a fixed noise only the second step. No chains, no warm-up.

    Attributes
    ----------
    svd : tuple of Tensor
        ``(s, U'y, V)`` of the centred X.
    scale : float
        Prior scale of the coefficients.
    noise_var : float or None
        The fixed ``sigma**2``; None when it is drawn.
    marginal : NormalMarginal or None
        The marginal posterior of ``log sigma**2`` when it is drawn.
    noise_range : tuple of float or None
        The ends of its grid. The grid itself is rebuilt at each ``sample``
        (microseconds), which keeps a pickled estimator small.
    point_estimates : dict
        Point parameters the posterior is conditional on (``noise_scale``
        for an empirical-Bayes noise).
    dtype : torch.dtype
        Dtype of the draws.
    form : GaussianForm or None
        Maps the draws of the standardised coefficients back (``svd`` is
        of the standardised data), as in ``NormalLinearSpec``.
    """

    svd: tuple
    scale: float
    noise_var: float | None
    marginal: NormalMarginal | None
    noise_range: tuple[float, float] | None
    point_estimates: dict
    dtype: torch.dtype
    form: GaussianForm | None = None

    @classmethod
    def from_stats(
        cls, svd: tuple, yty: torch.Tensor, n: int, spec: NormalLinearSpec, dtype
    ) -> NormalLinearPosterior:
        """The posterior from the thin SVD of the centred (standardised) data."""
        marginal = spec.marginal(*svd[:2], yty, n)
        noise = spec.noise
        var_y = float(yty) / max(n - 1, 1)
        point, noise_var, noise_range = {}, None, None
        if noise == "prior":
            noise_range = _grid_range(marginal, marginal._log_mode(var_y, True))
        elif noise == "point":
            # The exact type-II maximum-likelihood noise, with the floor
            # ``normal_prior_start`` keeps for noise-free data.
            noise_var = max(marginal.mode(var_y, with_prior=False), 1e-12 * var_y)
            point = {"noise_scale": math.sqrt(noise_var)}
        else:
            noise_var = float(noise) ** 2
        if noise_range is None:
            marginal = None
        return cls(
            svd,
            float(spec.scale),
            noise_var,
            marginal,
            noise_range,
            point,
            dtype,
            spec.form,
        )

    def sample(self, num_samples: int, rng: np.random.Generator) -> dict:
        """``{"noise_var": (S,), "coef": (S, d)}`` (no ``noise_var`` if fixed)."""
        v = self.svd[2]
        if self.marginal is None:
            noise_var = v.new_full((num_samples,), self.noise_var)
        else:
            log_var = self.noise_sampler().sample(num_samples, rng)
            noise_var = torch.as_tensor(np.exp(log_var), dtype=v.dtype, device=v.device)
        generator = torch.Generator(v.device).manual_seed(int(rng.integers(2**63 - 1)))
        coef = sample_coef_given_noise(self.svd, self.scale, noise_var, generator)
        if self.form is not None:
            coef = unstandardise(self.form, coef)
        out = {"coef": coef.to(self.dtype)}
        if self.marginal is not None:
            out = {"noise_var": noise_var.to(self.dtype), **out}
        return out

    def noise_sampler(self) -> PiecewiseExponential:
        """The inverse-CDF sampler of ``log sigma**2`` on its grid."""
        grid = np.linspace(*self.noise_range, NOISE_GRID_CELLS + 1)
        return PiecewiseExponential(grid, _log_density_at(self.marginal, grid))


def _log_density_at(marginal: NormalMarginal, u) -> np.ndarray:
    dtype, device = marginal.dtype, marginal.device
    points = torch.as_tensor(np.atleast_1d(u), dtype=dtype, device=device)
    return marginal(points).cpu().numpy()


def _grid_range(marginal: NormalMarginal, mode: float) -> tuple[float, float]:
    """A range of ``log sigma**2`` reaching ``NOISE_GRID_DROP`` below the mode.

    Each end steps out by doubling from a tenth of an e-fold, so that both
    the narrow posteriors of large n and the heavy right tail of the
    inverse-gamma prior with a handful of rows are covered.
    """

    def log_density(u: float) -> float:
        return float(_log_density_at(marginal, u)[0])

    peak = log_density(mode)
    ends = []
    for sign in (-1.0, 1.0):
        step = 0.1
        while step < 1e4 and log_density(mode + sign * step) > peak - NOISE_GRID_DROP:
            step *= 2.0
        ends.append(mode + sign * step)
    return ends[0], ends[1]


@dataclass(frozen=True)
class NormalStart:
    """A Laplace-style start for SVI on a Normal-prior linear model.

    Attributes
    ----------
    noise_var : float
        Mode of the noise variance's marginal posterior (or of its marginal
        likelihood, for a point estimate).
    log_noise_var_sd : float
        Spread of ``log sigma**2`` there, from the curvature.
    coef_mean : Tensor of shape (d,)
        Posterior mean of the coefficients given ``noise_var``.
    coef_cov : Tensor of shape (d, d)
        Their posterior covariance given ``noise_var``.

    Examples
    --------
    With the noise fixed at 1 and one feature whose ``X'X = 4`` under a
    ``Normal(0, 1)`` prior, the posterior precision is ``4 + 1``:

    >>> import torch
    >>> from skbayes.models.conjugate import NormalLinearSpec, normal_prior_start
    >>> one = torch.ones(1, 1, dtype=torch.float64)
    >>> spec = NormalLinearSpec(scale=1.0, noise=1.0, fit_intercept=False)
    >>> start = normal_prior_start(4 * one, 2 * one[0], one[0, 0], 4, spec)
    >>> start.noise_var
    1.0
    >>> round(start.coef_cov.item(), 12), round(start.coef_mean.item(), 12)
    (0.2, 0.4)
    """

    noise_var: float
    log_noise_var_sd: float
    coef_mean: torch.Tensor
    coef_cov: torch.Tensor


def thin_svd_from_gram(
    gram: torch.Tensor, xty: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(s, U'y, V)`` of ``X = U diag(s) V'`` from ``X'X`` and ``X'y`` alone.

    For ``n >> d`` this avoids the SVD of X itself, whose ``U`` is as large as
    X. Directions with ``s**2`` under ``1e-12`` of the largest carry no
    information at this precision and are dropped, so ``V`` may have fewer
    than d columns; a prior then acts alone on its complement.

    Examples
    --------
    >>> import torch
    >>> from skbayes.models.conjugate import thin_svd_from_gram
    >>> X = torch.tensor([[3.0, 0.0], [0.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    >>> y = torch.tensor([1.0, 5.0, 1.0], dtype=torch.float64)
    >>> svals, uty, v = thin_svd_from_gram(X.T @ X, X.T @ y)
    >>> svals.tolist(), uty.tolist(), v.abs().tolist()
    ([2.0, 3.0], [1.0, 1.0], [[0.0, 1.0], [1.0, 0.0]])
    """
    evals, evecs = torch.linalg.eigh(gram)
    keep = evals > evals.max().clamp_min(0) * 1e-12
    svals = evals[keep].sqrt()
    v = evecs[:, keep]
    return svals, (v.T @ xty) / svals, v


def normal_prior_start(
    gram: torch.Tensor,
    xty: torch.Tensor,
    yty: torch.Tensor,
    n: int,
    spec: NormalLinearSpec,
) -> NormalStart:
    """The noise variance's mode and the coefficients' posterior given it.

    Works from the centred sufficient statistics ``X'X``, ``X'y`` and
    ``y'y``, so it costs one d x d eigendecomposition whatever n.

    Parameters
    ----------
    gram, xty, yty : Tensor
        Centred ``X'X`` (d, d), ``X'y`` (d,) and ``y'y``.
    n : int
        Rows of X.
    spec : NormalLinearSpec
        The prior and the noise model: with ``noise="prior"`` the start is
        the posterior mode of ``sigma**2``, with ``"point"`` its
        marginal-likelihood maximum.

    Returns
    -------
    NormalStart

    Examples
    --------
    With much data and a vague prior, the start is least squares:

    >>> import torch
    >>> from skbayes.models.conjugate import NormalLinearSpec, normal_prior_start
    >>> gen = torch.Generator().manual_seed(0)
    >>> X = torch.randn(500, 2, generator=gen, dtype=torch.float64)
    >>> y = X @ torch.tensor([1.0, -2.0], dtype=torch.float64)
    >>> y = y + 0.5 * torch.randn(500, generator=gen, dtype=torch.float64)
    >>> spec = NormalLinearSpec(scale=10.0, fit_intercept=False)
    >>> start = normal_prior_start(X.T @ X, X.T @ y, y @ y, 500, spec)
    >>> [round(v, 1) for v in start.coef_mean.tolist()]
    [1.0, -2.0]
    >>> round(start.noise_var**0.5, 1)
    0.5
    """
    # In float64 whatever the data: float32 eigenvalues of an ill-conditioned
    # X'X carry noise far above the rank cut-off below.
    dtype = gram.dtype
    stats = tuple(t.to(torch.float64) for t in (gram, xty, yty))
    if spec.form is not None:
        _, _, stats = standardise(spec.form, stats=stats)
    gram, xty, yty = stats
    d = gram.shape[0]
    svals, uty, _ = thin_svd_from_gram(gram, xty)
    marginal = spec.marginal(svals, uty, yty, n)
    noise, scale = spec.noise, spec.scale
    var_y = float(yty) / max(n - 1, 1)
    if isinstance(noise, str):
        with_prior = noise == "prior"
        u = marginal._log_mode(var_y, with_prior)
        # Curvature of the log density in u = log sigma**2, by differences.
        h = 1e-3
        points = torch.tensor([u - h, u, u + h], dtype=gram.dtype, device=gram.device)
        lo, mid, hi = marginal(points, with_prior=with_prior).tolist()
        curvature = -(hi - 2 * mid + lo) / h**2
        sd = 1.0 / math.sqrt(curvature) if curvature > 0 else 1.0
        # The floor the Gibbs sampler also keeps: noise-free data (or d >= n
        # with a point estimate) would otherwise send sigma**2 to zero.
        noise_var = max(math.exp(u), 1e-12 * var_y)
    else:
        noise_var, sd = float(noise) ** 2, 0.0
    precision = gram / noise_var + torch.eye(
        d, dtype=gram.dtype, device=gram.device
    ) / (scale**2)
    chol = torch.linalg.cholesky(precision)
    mean = torch.cholesky_solve((xty / noise_var).unsqueeze(-1), chol).squeeze(-1)
    cov = torch.cholesky_inverse(chol)
    if spec.form is not None:
        mean = unstandardise(spec.form, mean)
        if spec.form.column_scale is not None:
            column_scale = cov.new_tensor(spec.form.column_scale)
            cov = column_scale[:, None] * cov * column_scale
    return NormalStart(noise_var, sd, mean.to(dtype), cov.to(dtype))
