"""Gaussian linear regression with a pluggable coefficient prior."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from pyro.nn import PyroParam
from torch.distributions import constraints
from torch.nn.functional import softplus

from ..priors import CoefPrior, GaussianForm, NoisePrior, Normal, resolve_noise_prior
from ..priors._base import _HALF_LOG_2PI, _LOG_2_OVER_PI
from ._base import BayesianModule, DesignData, Start
from .conjugate import (
    NormalLinearPosterior,
    NormalLinearSpec,
    check_flat_rank,
    normal_prior_start,
    standardise,
    thin_svd,
    thin_svd_from_gram,
)
from .intercept import (
    InterceptEvidence,
    intercept_prior_parameters,
    sample_centred_intercept,
)
from .whitening import NormalConditionalWhitening, ScaleMixtureConditionalWhitening

#: The priors (by ``gibbs_kernel``) the linear model's Gibbs kernels sample.
_LINEAR_GIBBS_KERNELS = ("normal", "horseshoe", "laplace", "student_t")


@dataclass
class LinearData(DesignData):
    """Regression data and its summaries, built once per fit.

    ``arrays`` holds X and y as given; the model sees them centred on
    ``x_mean`` and ``y_mean`` (zeros without an intercept). The centred
    ``X'X``, ``X'y`` and ``y'y`` are formed without a centred copy of X, and
    minibatches are centred on the fly, which keeps peak memory near the size
    of X. ``X'X`` (``gram``) is formed on first use: at ``d >> n`` nothing
    needs its ``d x d`` numbers, which would outweigh X.

    Rows with weights ``w`` (``sample_weight``) are held centred on the
    weighted means and scaled by ``sqrt(w)``: the squared residuals of the
    scaled rows are then the weighted ones, and every engine samples them as
    it samples unweighted rows, with ``n_observations = sum(w)`` for the
    sample size. A row of weight 2 therefore counts as the same row twice.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skbayes.models import LinearData
    >>> X = np.array([[1.0, 0.0], [3.0, 2.0]])
    >>> data = LinearData.from_arrays(
    ...     X, np.array([1.0, 3.0]), fit_intercept=True, dtype=torch.float64
    ... )
    >>> data.x_mean.tolist(), data.gram.tolist()
    ([2.0, 1.0], [[2.0, 2.0], [2.0, 2.0]])
    """

    x_mean: torch.Tensor = None
    y_mean: torch.Tensor = None
    xty: torch.Tensor = None
    yty: torch.Tensor = None
    cached_gram: torch.Tensor | None = None
    #: The rows' total weight, when they carry ``sample_weight``.
    weight_sum: float | None = None
    #: ``(mean(X), mean(y))`` weighted, for rows held already centred.
    location: tuple[np.ndarray, float] | None = None

    @classmethod
    def from_arrays(
        cls,
        X: np.ndarray,
        y: np.ndarray,
        *,
        fit_intercept: bool,
        dtype: torch.dtype,
        device: torch.device | str = "cpu",
        batch_size: int | None = None,
        sample_weight: np.ndarray | None = None,
    ) -> LinearData:
        """Share X and y with torch (no copy where possible) and summarise them.

        With ``sample_weight`` (non-negative, positive total), the rows of
        zero weight are dropped and the others centred and scaled by
        ``sqrt(w)``, which takes a copy of X.
        """
        if sample_weight is not None:
            return cls._weighted(
                X,
                y,
                np.asarray(sample_weight, dtype=np.float64),
                fit_intercept=fit_intercept,
                dtype=dtype,
                device=device,
                batch_size=batch_size,
            )
        X_t, y_t = _as_tensors(X, y, dtype=dtype, device=device)
        n, d = X_t.shape
        x_mean = X_t.mean(0) if fit_intercept else X_t.new_zeros(d)
        y_mean = y_t.mean() if fit_intercept else y_t.new_zeros(())
        xty = X_t.T @ y_t - n * x_mean * y_mean
        yty = y_t @ y_t - n * y_mean**2
        minibatch = batch_size is not None and batch_size < n
        return cls(
            (X_t, y_t),
            x_mean=x_mean,
            y_mean=y_mean,
            xty=xty,
            yty=yty,
            batch_size=batch_size if minibatch else None,
        )

    @classmethod
    def _weighted(cls, X, y, weight, *, fit_intercept, **options) -> LinearData:
        keep = weight > 0
        X, y, weight = X[keep], y[keep], weight[keep]
        if fit_intercept:
            x_mean = np.average(X, axis=0, weights=weight)
            y_mean = float(np.average(y, weights=weight))
        else:
            x_mean, y_mean = np.zeros(X.shape[1]), 0.0
        root = np.sqrt(weight)
        scaled_X = (root[:, None] * (X - x_mean)).astype(X.dtype, copy=False)
        scaled_y = (root * (y - y_mean)).astype(X.dtype, copy=False)
        data = cls.from_arrays(scaled_X, scaled_y, fit_intercept=False, **options)
        data.weight_sum = float(weight.sum())
        data.location = (x_mean.astype(X.dtype, copy=False), y_mean)
        return data

    @property
    def n_observations(self) -> float:
        """The sample size the rows stand for: their total weight, or their count."""
        return self.n_samples if self.weight_sum is None else self.weight_sum

    @property
    def dtype(self) -> torch.dtype:
        """The dtype the data were converted to."""
        return self.arrays[0].dtype

    @property
    def gram(self) -> torch.Tensor:
        """Centred ``X'X``, formed on first use and kept."""
        if self.cached_gram is None:
            X = self.arrays[0]
            mean = self.x_mean
            self.cached_gram = X.T @ X - self.n_samples * torch.outer(mean, mean)
        return self.cached_gram

    @property
    def column_sq_norms(self) -> torch.Tensor:
        """``diag(X'X)`` of the centred X, without forming ``X'X``."""
        if self.cached_gram is not None:
            return self.cached_gram.diagonal()
        X = self.arrays[0]
        return torch.einsum("ij,ij->j", X, X) - self.n_samples * self.x_mean**2

    @property
    def stats(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Centred ``X'X``, ``X'y`` and ``y'y``."""
        return self.gram, self.xty, self.yty

    def arguments(self) -> tuple:
        if self.batch_size is not None:
            return self.next_batch()
        return self.full_arguments()

    def full_arguments(self) -> tuple:
        X, y = self.arrays
        mean = self.x_mean
        if mean.any() or mean.signbit().any():
            X = X - mean
        # else: no intercept, or rows held centred already (weighted ones):
        # X - 0 is X, bit for bit, and a copy of X would only add its size
        # to the fit's peak memory.
        return X, y - self.y_mean

    def next_batch(self) -> tuple:
        X, y = self.arrays
        index = torch.randint(self.n_samples, (self.batch_size,), device=X.device)
        return X[index] - self.x_mean, y[index] - self.y_mean

    def centre(self) -> tuple[np.ndarray, float]:
        """``(mean(X), mean(y))`` as numpy, for predictions on new rows."""
        if self.location is not None:
            return self.location
        return self.x_mean.cpu().numpy(), float(self.y_mean)

    def ridge_start(self) -> tuple[torch.Tensor, float]:
        """A ridge solution and a noise scale to start inference from.

        ``(X'X + I)^{-1} X'y`` when ``n >= d``; when ``d > n`` the same
        solution as ``X'(XX' + I)^{-1} y``, an ``n x n`` system, so that no
        ``d x d`` matrix is formed.
        """
        n, d = self.n_samples, self.n_features
        yty = float(self.yty)
        if d > n:
            X, y = self.arrays
            mean, yc = self.x_mean, y - self.y_mean
            # XcXc' from the uncentred X: X X' - X m 1' - 1 m'X' + m'm 11'.
            xm = X @ mean
            kernel = X @ X.T - xm[:, None] - xm[None, :] + mean @ mean
            kernel.diagonal().add_(1.0)
            alpha = torch.linalg.solve(kernel, yc)
            coef = X.T @ alpha - mean * alpha.sum()
            resid = yc - (X @ coef - mean @ coef)
            rss = float(resid @ resid)
        else:
            gram, xty = self.gram, self.xty
            eye = torch.eye(d, dtype=gram.dtype, device=gram.device)
            coef = torch.linalg.solve(gram + eye, xty)
            rss = float(yty - 2 * coef @ xty + coef @ gram @ coef)
        size = self.n_observations
        var_y = yty / (size - 1) if size > 1 else 1.0
        noise = max(rss / size, 1e-2 * var_y, 1e-6)
        return coef, float(np.sqrt(noise))


def _as_tensors(*arrays, dtype, device) -> list[torch.Tensor]:
    """Share the arrays' memory with torch, without copying read-only ones.

    skbayes never writes to these tensors, so torch's warning about
    non-writable arrays (read-only memmaps, say) does not apply. Arrays are
    made C-contiguous first: a matrix product rounds differently on a
    Fortran-ordered X (what a pandas DataFrame gives), and one data set must
    give one posterior however it is laid out.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="The given NumPy array is not writable"
        )
        return [
            torch.as_tensor(np.ascontiguousarray(a), dtype=dtype, device=device)
            for a in arrays
        ]


@dataclass(frozen=True)
class LinearStart(Start):
    """A start from a point estimate of the coefficients and the noise scale."""

    coef: torch.Tensor = None
    noise_scale: float = 1.0


class LinearRegressionModel(BayesianModule):
    """``y = X @ coef + intercept + Normal(0, noise_scale**2)``.

    Parameters
    ----------
    prior : CoefPrior
        Prior on the coefficients; it owns its latent sites.
    n_features : int
        Number of columns of X.
    n_samples : int
        Number of rows in the full training set; minibatches are scaled up to
        it.
    noise : {"prior", "point"} or float
        ``"prior"`` samples the noise variance under ``noise_prior`` (with
        the default ``InverseGamma(0.1, 0.1)``, the tutorial's Gaussian
        model). ``"point"`` makes the noise scale a parameter fitted by
        maximising the ELBO (the tutorial's empirical-Bayes horseshoe). A
        float fixes the noise scale.
    noise_prior : NoisePrior or tuple of float
        The prior on the noise (``skbayes.priors.noise``); a pair ``(shape,
        rate)`` is ``InverseGamma(shape, rate)`` on the noise variance.
    fit_intercept : bool
        Whether the data were centred to account for an intercept. The
        intercept is integrated out exactly (see Notes).
    intercept_prior : Normal or None
        None (or ``Flat()``) for a flat intercept; a scalar ``Normal`` for a
        proper prior on the intercept at the mean of X, whose evidence joins
        the noise prior (``skbayes.models.intercept``).
    y_mean : float
        Mean of the training targets, which that evidence reads.
    init_noise_scale : float
        Starting value of the noise scale when ``noise="point"``.
    n_observations : float, optional
        The sample size the rows stand for: the total weight of rows that
        carry ``sample_weight`` (see ``LinearData.from_arrays``), and
        ``n_samples`` by default. The noise's degrees of freedom, the
        intercept's variance and priors such as the regularised horseshoe
        use it.
    **kwargs
        ``dtype`` and ``device``, passed to ``BayesianModule``.

    Notes
    -----
    With a flat prior on the intercept ``a``, integrating it out of the
    likelihood of the centred data ``(Xc, yc)`` leaves

    ``prod_i Normal(yc_i | Xc_i @ coef, sigma) * sigma * sqrt(2 pi / n)``,

    one degree of freedom fewer than the uncentred likelihood. The model adds
    the ``log(sigma)`` term as a factor, so the posterior of ``coef`` and
    ``sigma`` is exact, and ``a | coef, sigma ~ Normal(mean(y) - mean(X) @
    coef, sigma**2 / n)`` is drawn afterwards. The intercept is therefore never
    shrunk.

    Examples
    --------
    The latent sites are the noise variance's, then the prior's:

    >>> import torch
    >>> from skbayes.models import LinearRegressionModel
    >>> from skbayes.priors import Horseshoe, Normal
    >>> model = LinearRegressionModel(Normal(scale=1.0), n_features=2, n_samples=3)
    >>> list(model.prior_sites())
    ['noise_var', 'coef']

    A batch of two draws scored on centred data:

    >>> X = torch.tensor([[1.0, -1.0], [0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)
    >>> y = torch.tensor([2.0, -1.0, -1.0], dtype=torch.float64)
    >>> values = {
    ...     "noise_var": torch.tensor([0.25, 0.25], dtype=torch.float64),
    ...     "coef": torch.tensor([[1.0, -1.0], [0.0, 0.0]], dtype=torch.float64),
    ... }
    >>> log_joint = model.log_joint(values, X, y)
    >>> log_joint.shape, bool(log_joint[0] > log_joint[1])
    (torch.Size([2]), True)

    A non-centred horseshoe with a fixed noise scale has no noise site, and
    reports the coefficients it implies, ``tau * lambda * z``:

    >>> model = LinearRegressionModel(
    ...     Horseshoe(centered=False), n_features=2, n_samples=3, noise=0.5
    ... )
    >>> list(model.prior_sites())
    ['tau', 'lambda', 'z']
    >>> values = {
    ...     "tau": torch.tensor(0.5, dtype=torch.float64),
    ...     "lambda": torch.tensor([2.0, 1.0], dtype=torch.float64),
    ...     "z": torch.tensor([1.0, -1.0], dtype=torch.float64),
    ... }
    >>> model.derived(values)["coef"].tolist()
    [1.0, -0.5]
    """

    def __init__(
        self,
        prior: CoefPrior,
        n_features: int,
        n_samples: int,
        *,
        noise: str | float = "prior",
        noise_prior: NoisePrior | tuple[float, float] = (0.1, 0.1),
        fit_intercept: bool = True,
        intercept_prior: Normal | None = None,
        y_mean: float = 0.0,
        init_noise_scale: float = 1.0,
        n_observations: float | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.init_noise_scale = float(init_noise_scale)
        self.prior = prior
        self.n_features = int(n_features)
        self.n_samples = int(n_samples)
        self.n_observations = _sample_size(
            self.n_samples if n_observations is None else n_observations
        )
        self.noise = noise
        self.noise_prior = resolve_noise_prior(noise_prior)
        self.fit_intercept = bool(fit_intercept)
        self.intercept_prior = intercept_prior
        self.y_mean = float(y_mean)
        self.intercept_loc_scale = intercept_prior_parameters(intercept_prior)
        #: The density of sigma**2 the engines sample under: the noise prior,
        #: times the evidence of a proper intercept prior, a factor in sigma
        #: alone (skbayes.models.intercept).
        self.effective_noise_prior = self.noise_prior
        if self.intercept_loc_scale is not None:
            if not self.fit_intercept:
                raise ValueError("intercept_prior needs fit_intercept=True.")
            self.effective_noise_prior = InterceptEvidence(
                self.noise_prior,
                self.y_mean,
                self.n_observations,
                *self.intercept_loc_scale,
            )
        if noise == "point":
            self.noise_scale = PyroParam(
                self.anchor.new_tensor(float(init_noise_scale)),
                constraint=constraints.positive,
            )

    def prior_sites(self, values: dict | None = None):
        # The noise site comes first: a centred prior scaled by the noise
        # (the regularised horseshoe with expected_nonzero) needs it.
        sites = {}
        if self.noise == "prior":
            sites["noise_var"] = self.effective_noise_prior.site(self.anchor)
        noise_scale = None
        if values is not None and (self.noise != "prior" or "noise_var" in values):
            noise_scale = self.noise_scale_of(values)
        sites.update(
            self.prior.latent_sites(
                self.n_features,
                like=self.anchor,
                values=values,
                noise_scale=noise_scale,
                n_samples=self.n_observations,
            )
        )
        return sites

    def prior_site_names(self) -> list[str]:
        """The names of ``prior_sites()``, in order.

        Without building the noise site's distribution: pyro's
        ``InverseGamma`` imports sympy on first use, which a caller that
        needs only the names should not pay for before a large run.
        """
        names = ["noise_var"] if self.noise == "prior" else []
        return names + list(self.prior.latent_sites(self.n_features, like=self.anchor))

    @property
    def has_dependent_sites(self) -> bool:
        return self.prior.has_dependent_sites

    # -- capabilities (see BayesianModule) ------------------------------------
    @property
    def has_point_parameters(self) -> bool:
        return self.noise == "point"

    @property
    def nuts_by_default(self) -> bool:
        return self.prior.nuts_by_default

    @property
    def gibbs_kernel(self) -> str | None:
        kernel = self.prior.gibbs_kernel
        return kernel if kernel in _LINEAR_GIBBS_KERNELS else None

    @property
    def gaussian_form(self) -> GaussianForm | None:
        """The prior's ``GaussianForm`` when it has one (Normal, Flat)."""
        return self.prior.gaussian_form(self.n_features)

    @property
    def has_exact_posterior(self) -> bool:
        return self.gaussian_form is not None

    def check_data(self, data: LinearData) -> None:
        """Raise ``ValueError`` for data whose posterior would be improper.

        A flat coefficient prior needs X of full column rank, and an
        improper noise prior enough rows for the degrees of freedom left.
        """
        # Weighted rows carry more degrees of freedom than rows, but no more
        # rank: the coefficients fit the rows exactly once d >= rows - 1.
        dof = self.n_observations - int(self.fit_intercept)
        max_rank = self.n_samples - int(self.fit_intercept)
        exact_fit = self.n_features >= max_rank
        form = self.gaussian_form
        if form is not None and form.flat:
            # The centred X has rank n - 1 at most: no X'X needed to say so.
            rank = max_rank
            if self.n_features <= max_rank:
                svals, _, _ = thin_svd_from_gram(
                    data.gram.to(torch.float64), data.xty.to(torch.float64)
                )
                rank = len(svals)
            check_flat_rank(rank, self.n_features)
            dof -= self.n_features
            exact_fit = False  # what least squares leaves is in dof
        if self.noise == "prior":
            self.effective_noise_prior.check_posterior(dof, exact_fit)

    def exact_posterior(self, data: LinearData) -> NormalLinearPosterior | None:
        """Independent exact draws under a Gaussian prior with fixed parameters.

        The noise variance's marginal posterior is one-dimensional after one
        thin SVD of the centred (standardised) X (see
        ``NormalLinearPosterior``); computed in float64 whatever the data's
        dtype, as ``start`` is.
        """
        form = self.gaussian_form
        if form is None:
            return None
        X, y = (t.to(torch.float64) for t in data.arguments())
        stats = tuple(t.to(torch.float64) for t in data.stats)
        X, y, stats = standardise(form, X, y, stats)
        svd = thin_svd(X, y, stats)
        if form.flat:
            check_flat_rank(len(svd[0]), self.n_features)
        return NormalLinearPosterior.from_stats(
            svd,
            stats[2],
            self.n_observations,
            self._normal_spec(form),
            self.anchor.dtype,
        )

    def _normal_spec(self, form: GaussianForm) -> NormalLinearSpec:
        return NormalLinearSpec(
            form.scale,
            self.noise,
            self.effective_noise_prior,
            self.fit_intercept,
            None if form.standard else form,
        )

    def start(self, data: LinearData) -> LinearStart:
        form = self.gaussian_form
        if form is None:
            coef, noise_scale = data.ridge_start()
            return LinearStart(coef=coef, noise_scale=noise_scale)
        # The conjugate answer given the noise's mode, and its covariance:
        # SVI then starts where the posterior is, not at a ridge guess.
        conj = normal_prior_start(
            *data.stats, self.n_observations, self._normal_spec(form)
        )
        covariance = {"coef": conj.coef_cov}
        if self.noise == "prior":
            sd = conj.log_noise_var_sd
            covariance["noise_var"] = conj.coef_mean.new_tensor([[sd**2]])
        return LinearStart(
            coef=conj.coef_mean,
            noise_scale=math.sqrt(conj.noise_var),
            covariance=covariance,
        )

    def configured(self, *, centered: bool, start: Start) -> LinearRegressionModel:
        changes = {"prior": self.prior.with_parameterization(centered)}
        if isinstance(start, LinearStart):
            changes["init_noise_scale"] = start.noise_scale
        return self.replace(**changes)

    def point_estimates(self) -> dict:
        """The fitted point parameters: the noise scale, for ``noise="point"``."""
        return {"noise_scale": float(self.noise_scale.detach())}

    def with_fixed_parameters(self, values: dict | None = None):
        if not self.has_point_parameters:
            return self
        values = self.point_estimates() if values is None else values
        return self.replace(noise=float(values["noise_scale"]))

    def initial_values(self, start: Start) -> dict | None:
        if not isinstance(start, LinearStart):
            return start.values
        init = self.prior.init_values(
            start.coef, start.noise_scale, self.n_observations
        )
        if self.noise == "prior":
            init["noise_var"] = start.coef.new_tensor(start.noise_scale**2)
        return init

    def nuts_reparameterization(self, data: LinearData):
        noise_var = None if self.noise == "prior" else float(self.noise) ** 2
        form = self.gaussian_form
        if form is not None:
            return NormalConditionalWhitening(
                data.gram, data.xty, form, noise_var=noise_var
            )
        if self.prior.conditionally_gaussian:
            return ScaleMixtureConditionalWhitening(
                data.gram,
                data.xty,
                self.prior,
                self.prior_sites(),
                self.n_observations,
                noise_var=noise_var,
            )
        return None

    def placeholder_data(self) -> tuple:
        return self.anchor.new_zeros(0, self.n_features), self.anchor.new_zeros(0)

    def posterior_draws(self, latent, *, x_mean, y_mean):
        """Latent draws plus ``coef``, ``intercept`` and ``noise_scale``.

        The intercept, integrated out during inference, is drawn from
        ``Normal(mean(y) - mean(X) @ coef, sigma**2 / n)`` given each draw.
        """
        derived = self.derived(latent)
        coef = derived["coef"]
        noise_scale = torch.as_tensor(derived["noise_scale"]).expand(coef.shape[0])
        if self.fit_intercept and self.intercept_loc_scale is not None:
            centred = sample_centred_intercept(
                noise_scale, y_mean, self.n_observations, *self.intercept_loc_scale
            )
            intercept = centred - coef @ coef.new_tensor(x_mean)
        elif self.fit_intercept:
            intercept = y_mean - coef @ coef.new_tensor(x_mean)
            noise = torch.randn_like(intercept)
            intercept = intercept + noise_scale / np.sqrt(self.n_observations) * noise
        else:
            intercept = torch.zeros_like(noise_scale)
        out = {name: value.cpu().numpy() for name, value in latent.items()}
        out.update({k: torch.as_tensor(v).cpu().numpy() for k, v in derived.items()})
        out["noise_scale"] = noise_scale.cpu().numpy()
        out["coef"] = coef.cpu().numpy()
        out["intercept"] = intercept.cpu().numpy()
        return out

    def centred_intercept_mean(self, draws: dict) -> float:
        """Posterior mean of the intercept at the mean of X, from the draws.

        ``mean(y)`` under the flat prior; under a Normal one the average of
        its conditional means given each draw's ``sigma`` (no Monte Carlo
        noise from the intercept draws themselves).
        """
        if self.intercept_loc_scale is None:
            return self.y_mean
        loc, scale = self.intercept_loc_scale
        precision_data = self.n_observations / np.asarray(draws["noise_scale"]) ** 2
        weight = precision_data / (precision_data + 1.0 / scale**2)
        return float(np.mean(weight * self.y_mean + (1.0 - weight) * loc))

    def noise_scale_of(self, values: dict) -> torch.Tensor:
        if self.noise == "prior":
            return values["noise_var"].sqrt()
        if self.noise == "point":
            return self.noise_scale
        return self.anchor.new_tensor(float(self.noise))

    def derived(self, values):
        noise_scale = self.noise_scale_of(values)
        out = self.prior.transform(values, noise_scale, self.n_observations)
        out["noise_scale"] = noise_scale
        return out

    def _mean_and_scale(self, values, X):
        derived = self.derived(values)
        # coef has shape (..., d); the mean has shape (..., n).
        mean = derived["coef"] @ X.T
        return mean, derived["noise_scale"]

    def observe(self, values, X, y):
        mean, noise_scale = self._mean_and_scale(values, X)
        # Normal takes a standard deviation, not a variance: the tutorial's
        # Normal(X @ beta, sigma**2) silently squares the noise scale.
        rows = torch.arange(len(y), device=y.device)
        with pyro.plate("data", self.n_samples, subsample=rows):
            pyro.sample("y", dist.Normal(mean, noise_scale), obs=y)
        extra = self.n_observations - self.n_samples
        if extra:
            # Weighted rows are scaled by sqrt(w) (LinearData.from_arrays): the
            # row densities above then hold n_samples of the n_observations
            # normalising factors the weighted likelihood has.
            pyro.factor(
                "weight_normaliser", -extra * (torch.log(noise_scale) + _HALF_LOG_2PI)
            )
        if self.fit_intercept:
            pyro.factor("intercept_marginal", self._intercept_log_factor(noise_scale))

    def _intercept_log_factor(self, noise_scale):
        return torch.log(noise_scale) + 0.5 * math.log(
            2 * math.pi / self.n_observations
        )

    def log_likelihood(self, values, X, y):
        derived = self.derived(values)
        return self._log_likelihood_of(derived["coef"], derived["noise_scale"], X, y)

    def log_density(self, unconstrained, X, y):
        # The closed form of BayesianModule.log_density: no distribution
        # objects and no constrained round trip, which roughly halves the
        # autograd graph of an SVI step (tests check that the two agree).
        log_p, noise_scale = self._noise_log_density(unconstrained)
        if self.prior.fused_density == "centred_horseshoe":
            return log_p + _CentredHorseshoeLogDensity.apply(
                unconstrained["tau"],
                unconstrained["lambda"],
                unconstrained["coef"],
                torch.as_tensor(noise_scale),
                X,
                y,
                math.log(self.prior.global_scale),
                self.n_samples,
                self.n_observations,
                self.fit_intercept,
            )
        prior_log_p, coef = self.prior.log_density(
            unconstrained,
            n_features=self.n_features,
            like=self.anchor,
            noise_scale=noise_scale,
            n_samples=self.n_observations,
        )
        log_lik = self._log_likelihood_of(coef, noise_scale, X, y)
        return log_p + prior_log_p + log_lik

    def _noise_log_density(self, unconstrained):
        """Log prior of ``log(noise_var)`` (Jacobian included) and the scale."""
        if self.noise != "prior":
            return 0.0, self.noise_scale_of(unconstrained)
        u = unconstrained["noise_var"]
        return self.effective_noise_prior.log_density(u), torch.exp(0.5 * u)

    def _log_likelihood_of(self, coef, noise_scale, X, y):
        """``log p(y | coef, sigma)`` for rows of the data, scaled to all of them.

        With the intercept integrated out (see Notes) the density gains
        ``log(sigma) + log(2 pi / N) / 2``, so in all
        ``-w |r|^2 / (2 sigma^2) - (N - 1) log(sigma) + const``, with
        ``w = n_samples / rows`` scaling a minibatch up to the full data and
        ``N = n_observations`` (the rows' total weight).
        """
        noise_scale = torch.as_tensor(noise_scale)
        resid = y - coef @ X.mT
        weight = self.n_samples / y.shape[-1]
        rss = torch.linalg.vecdot(resid, resid)
        log_sigma_power = self.n_observations - int(self.fit_intercept)
        log_lik = (-0.5 * weight) * rss * noise_scale.pow(-2)
        constant = _likelihood_constant(self.n_observations, self.fit_intercept)
        return log_lik - log_sigma_power * noise_scale.log() + constant


def _sample_size(n: float) -> int | float:
    """``n`` as an int when it is whole (no weights, or whole-number ones)."""
    n = float(n)
    if not n > 0:
        raise ValueError(f"The sample size must be positive; got {n}.")
    return int(n) if n.is_integer() else n


def _likelihood_constant(n: float, fit_intercept: bool) -> float:
    """The likelihood's terms free of parameters, intercept factor included."""
    constant = -n * _HALF_LOG_2PI
    if fit_intercept:
        constant += 0.5 * math.log(2 * math.pi / n)
    return constant


class _CentredHorseshoeLogDensity(torch.autograd.Function):
    """The centred horseshoe model's density given sigma, as one autograd node.

    ``log p(y, coef, tau, lambda | sigma)`` in the unconstrained space of
    ``HorseshoeRegression``'s default SVI: ``Horseshoe.log_density`` plus
    ``_log_likelihood_of``, with the gradient written out. On problems of the
    tutorial's size an SVI step pays autograd several microseconds per
    operation whatever its size, so one node for the two is cheaper than the
    composed closed forms (see the speed section of ``docs/benchmarks.md``).
    ``tests/unit/test_models.py`` checks it against the composed definition.

    With ``t = log tau``, ``u = log lambda``, ``z = coef / exp(t + u)`` and
    residuals ``r``, over ``d`` features and ``rows`` rows standing for
    ``n`` (``w = n / rows``):

    ``log p = t - softplus(2 (t - log tau0)) - sum softplus(2 u) - d t
    - |z|^2 / 2 - w |r|^2 / (2 sigma^2) - (N - intercept) log sigma + const``,
    where ``N`` (``n_obs``) is the rows' total weight, ``n`` without weights.
    """

    @staticmethod
    def forward(
        ctx, log_tau, log_lambda, coef, noise_scale, X, y, log_tau0, n, n_obs, fit
    ):
        d = coef.shape[-1]
        inv_scale = torch.exp(-(log_tau.unsqueeze(-1) + log_lambda))
        z = coef * inv_scale
        z_sq = z * z
        shifted = 2 * (log_tau - log_tau0)
        log_prior = (
            log_tau
            - softplus(shifted)
            - softplus(2 * log_lambda).sum(-1)
            - d * log_tau
            - 0.5 * z_sq.sum(-1)
        )
        resid = y - coef @ X.mT
        rss = (resid * resid).sum(-1)
        weight = n / y.shape[-1]
        power = n_obs - int(fit)
        inv_var = noise_scale.pow(-2)
        constant = _LOG_2_OVER_PI - log_tau0 + d * (_LOG_2_OVER_PI - _HALF_LOG_2PI)
        constant += _likelihood_constant(n_obs, fit)
        log_lik = -0.5 * weight * rss * inv_var - power * noise_scale.log()
        ctx.save_for_backward(
            # d/dt, d/du, d/dcoef and d/dsigma of the log density.
            1 - 2 * torch.sigmoid(shifted) - d + z_sq.sum(-1),
            z_sq - 2 * torch.sigmoid(2 * log_lambda),
            (weight * inv_var).unsqueeze(-1) * (resid @ X) - z * inv_scale,
            (weight * rss * inv_var - power) / noise_scale,
            noise_scale,
        )
        return log_prior + log_lik + constant

    @staticmethod
    def backward(ctx, grad):
        grad_tau, grad_lambda, grad_coef, grad_noise, noise_scale = ctx.saved_tensors
        column = grad.unsqueeze(-1)
        noise = (grad * grad_noise).sum_to_size(noise_scale.shape)
        return (
            grad * grad_tau,
            column * grad_lambda,
            column * grad_coef,
            noise,
            *(None,) * 6,
        )
