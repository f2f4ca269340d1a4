"""Logistic and multinomial (softmax) regression with a pluggable coefficient prior."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from torch.nn.functional import logsigmoid

from ..priors import CoefPrior
from ..priors._base import _HALF_LOG_2PI
from ._base import BayesianModule, DesignData, Start
from .linear import _as_tensors

#: The noise scale that priors scaled by the noise (the regularised
#: horseshoe's ``expected_nonzero``) see under a logistic likelihood: the
#: pseudo-sigma ``1 / sqrt(mu (1 - mu))`` at ``mu = 1/2`` (Piironen and
#: Vehtari 2017, sec. 3.5).
LOGISTIC_PSEUDO_SIGMA = 2.0

#: Priors (by ``gibbs_kernel``) whose scales the Polya-Gamma kernel updates.
_POLYA_GAMMA_PRIORS = (
    "normal",
    "horseshoe",
    "regularized_horseshoe",
    "laplace",
    "student_t",
)


@dataclass
class LogisticData(DesignData):
    """Classification data as the model sees it, built once per fit.

    ``arrays`` holds the design (centred when there is an intercept, and
    divided by each column's sd with ``autoscale``), the class index of each
    row and the row weights. ``x_mean`` and ``x_scale`` map coefficients back
    to the columns of X as given.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skbayes.models import LogisticData
    >>> X = np.array([[0.0], [3.0], [6.0], [3.0]])
    >>> data = LogisticData.from_arrays(
    ...     X, np.array([0, 1, 1, 1]), n_classes=2, fit_intercept=True,
    ...     autoscale=True, dtype=torch.float64,
    ... )
    >>> data.x_mean.tolist(), data.x_scale.round(4).tolist()
    ([3.0], [2.1213])

    The two copies of ``(3, 1)`` are one row of weight 2:

    >>> data.n_samples, sorted(data.arrays[2].tolist())
    (3, [1.0, 1.0, 2.0])
    """

    x_mean: np.ndarray = None
    x_scale: np.ndarray = None
    n_classes: int = 2

    @classmethod
    def from_arrays(
        cls,
        X: np.ndarray,
        labels: np.ndarray,
        *,
        n_classes: int,
        fit_intercept: bool,
        autoscale: bool,
        dtype: torch.dtype,
        sample_weight: np.ndarray | None = None,
        device: torch.device | str = "cpu",
        batch_size: int | None = None,
    ) -> LogisticData:
        """Standardise X as the prior expects, and share the arrays with torch.

        Rows of weight 0 are dropped and identical rows (same x, same class)
        merged into one row whose weight is their total, in a canonical
        order. So a row of weight 2 and two copies of it give the same
        arrays, and hence the same fit, bit for bit; data with repeated rows
        (categorical features) also cost less per step.
        """
        X, labels, weight = _merge_duplicate_rows(X, labels, sample_weight)
        n, d = X.shape
        # Weighted, so that a row of weight 2 and two copies of it give the
        # same design and hence the same prior.
        x_mean = np.average(X, axis=0, weights=weight) if fit_intercept else np.zeros(d)
        x_scale = np.ones(d)
        if autoscale:
            # The sd about the mean (about 0 without an intercept, which
            # keeps the model's origin where the user put it).
            spread = np.sqrt(np.average((X - x_mean) ** 2, axis=0, weights=weight))
            x_scale = np.where(spread > 0, spread, 1.0)
        design = ((X - x_mean) / x_scale).astype(X.dtype, copy=False)
        design_t, weight_t = _as_tensors(design, weight, dtype=dtype, device=device)
        labels_t = torch.as_tensor(np.asarray(labels), dtype=torch.long, device=device)
        minibatch = batch_size is not None and batch_size < n
        return cls(
            (design_t, labels_t, weight_t),
            x_mean=x_mean,
            x_scale=x_scale,
            n_classes=int(n_classes),
            batch_size=batch_size if minibatch else None,
        )

    @property
    def n_observations(self) -> float:
        """The total weight of the rows."""
        return float(self.arrays[2].sum())


def _merge_duplicate_rows(X, labels, sample_weight) -> tuple:
    """Rows of positive weight, duplicates merged, sorted by their bytes."""
    X = np.asarray(X)
    labels = np.asarray(labels)
    weight = (
        np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, float)
    )
    keep = weight > 0
    X, labels, weight = X[keep], labels[keep], weight[keep]
    rows = np.ascontiguousarray(np.column_stack([X.astype(np.float64), labels]))
    keys = rows.view(np.dtype((np.void, rows.itemsize * rows.shape[1]))).ravel()
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    group = np.cumsum(first) - 1
    total = np.bincount(group, weights=weight[order])
    chosen = order[first]
    return X[chosen], labels[chosen], total


@dataclass(frozen=True)
class LogisticStart(Start):
    """A start from the posterior mode under a Gaussian stand-in prior."""

    coef: torch.Tensor = None
    intercept: torch.Tensor = None


class LogisticRegressionModel(BayesianModule):
    """``P(y = k | x) = softmax(x @ coef_k + intercept_k)``, or its logistic form.

    Parameters
    ----------
    prior : CoefPrior
        Prior on the coefficients, on the scale of the design the model sees
        (standardised columns with ``autoscale``). With more than two classes
        it covers all ``n_classes * n_features`` coefficients as one vector,
        class after class, so a horseshoe shares its global scale across
        classes.
    n_features : int
        Columns of the design.
    n_samples : int
        Rows of the full training set (minibatches are scaled up to it).
    n_observations : float, optional
        The total weight of the rows (``n_samples`` by default), which is
        the number of observations priors such as the regularised horseshoe
        scale with.
    n_classes : int, default=2
        Two classes use one coefficient vector and the logistic likelihood;
        more use one vector per class and the softmax (multinomial)
        likelihood.
    fit_intercept : bool, default=True
        Whether there is an intercept (per class, for more than two).
    intercept_scale : float, default=10.0
        ``intercept ~ Normal(0, intercept_scale**2)``, at the mean of the
        design's columns (they are centred), independently per class.
    **kwargs
        ``dtype`` and ``device``, passed to ``BayesianModule``.

    Notes
    -----
    Every site has a proper prior, so the posterior is proper even when the
    classes are perfectly separable, where the likelihood alone has no
    maximum.

    Examples
    --------
    >>> import torch
    >>> from skbayes.models import LogisticRegressionModel
    >>> from skbayes.priors import Normal
    >>> model = LogisticRegressionModel(Normal(2.5), n_features=2, n_samples=3)
    >>> list(model.prior_sites())
    ['intercept', 'coef']
    >>> X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], dtype=torch.float64)
    >>> y = torch.tensor([1, 0, 0])
    >>> w = torch.ones(3, dtype=torch.float64)
    >>> values = {"intercept": torch.tensor(0.0, dtype=torch.float64),
    ...           "coef": torch.tensor([0.0, 0.0], dtype=torch.float64)}
    >>> round(float(model.log_likelihood(values, X, y, w)), 4)  # 3 log(1/2)
    -2.0794
    """

    def __init__(
        self,
        prior: CoefPrior,
        n_features: int,
        n_samples: int,
        *,
        n_classes: int = 2,
        fit_intercept: bool = True,
        intercept_scale: float = 10.0,
        n_observations: float | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        form = prior.gaussian_form(int(n_features))
        if form is not None and not (form.standard and math.isfinite(form.scale)):
            # A flat prior leaves the posterior improper on separable data,
            # and the Polya-Gamma kernel and the SVI start take one scale.
            raise ValueError(
                f"The logistic model takes a Normal prior with one finite "
                f"scale and zero loc; got {prior!r}."
            )
        self.prior = prior
        self.n_features = int(n_features)
        self.n_samples = int(n_samples)
        self.n_classes = int(n_classes)
        self.fit_intercept = bool(fit_intercept)
        self.intercept_scale = float(intercept_scale)
        self.n_observations = float(
            n_samples if n_observations is None else n_observations
        )

    @property
    def n_vectors(self) -> int:
        """Coefficient vectors: one for two classes, one per class otherwise."""
        return 1 if self.n_classes == 2 else self.n_classes

    @property
    def has_dependent_sites(self) -> bool:
        return self.prior.has_dependent_sites

    @property
    def nuts_by_default(self) -> bool:
        return self.prior.nuts_by_default

    @property
    def gibbs_kernel(self) -> str | None:
        return "polya_gamma" if self.prior.gibbs_kernel in _POLYA_GAMMA_PRIORS else None

    def _noise_scale(self) -> torch.Tensor:
        return self.anchor.new_tensor(LOGISTIC_PSEUDO_SIGMA)

    def prior_context(self) -> dict:
        """The noise scale and sample size the prior's sites are built with."""
        return {"noise_scale": LOGISTIC_PSEUDO_SIGMA, "n_samples": self.n_observations}

    def prior_sites(self, values: dict | None = None):
        sites = {}
        if self.fit_intercept:
            shape = () if self.n_vectors == 1 else (self.n_vectors,)
            loc = self.anchor.new_zeros(shape)
            site = dist.Normal(loc, loc + self.intercept_scale)
            sites["intercept"] = site.to_event(len(shape))
        sites.update(
            self.prior.latent_sites(
                self.n_vectors * self.n_features,
                like=self.anchor,
                values=values,
                noise_scale=self._noise_scale(),
                n_samples=self.n_observations,
            )
        )
        return sites

    # -- capabilities ---------------------------------------------------------
    def configured(self, *, centered: bool, start: Start) -> LogisticRegressionModel:
        return self.replace(prior=self.prior.with_parameterization(centered))

    def start(self, data: LogisticData) -> LogisticStart:
        # The mode under Normal coefficients (the prior's own scale when it
        # is one, else a unit stand-in) and its Laplace covariance: Gaussian
        # guides start where a normal prior's posterior is.
        scale = self.prior.fixed_gaussian_scale
        mode, covariance = posterior_mode(
            data,
            1.0 if scale is None else scale,
            self.intercept_scale,
            fit_intercept=self.fit_intercept,
            n_vectors=self.n_vectors,
        )
        mode = mode.to(self.anchor)
        coef, intercept = mode[:, :-1], mode[:, -1]
        if self.n_vectors == 1:
            coef, intercept = coef[0], intercept[0]
        blocks = None
        if scale is not None:
            blocks = _site_covariances(
                covariance.to(self.anchor),
                self.n_vectors,
                self.n_features,
                self.fit_intercept,
            )
        return LogisticStart(coef=coef, intercept=intercept, covariance=blocks)

    def initial_values(self, start: Start) -> dict | None:
        if not isinstance(start, LogisticStart):
            return start.values
        flat = start.coef.reshape(-1)
        init = self.prior.init_values(flat, LOGISTIC_PSEUDO_SIGMA, self.n_observations)
        if self.fit_intercept:
            init["intercept"] = start.intercept
        return init

    def placeholder_data(self) -> tuple:
        design = self.anchor.new_zeros(0, self.n_features)
        labels = torch.zeros(0, dtype=torch.long, device=self.anchor.device)
        return design, labels, self.anchor.new_zeros(0)

    def derived(self, values):
        out = self.prior.transform(values, self._noise_scale(), self.n_observations)
        coef = out["coef"]
        if self.n_vectors > 1:
            out["coef"] = coef.reshape(*coef.shape[:-1], self.n_vectors, -1)
        return out

    def posterior_draws(self, latent, *, x_mean, x_scale):
        """Latent and derived draws, with ``coef`` and ``intercept`` for X as given.

        The model's coefficients are per standardised column; those of X as
        given are ``coef / x_scale``, and the intercept moves to X's origin,
        ``intercept - (coef / x_scale) @ x_mean``.
        """
        out = {}
        for name, value in latent.items():
            value = value.cpu()
            if self.n_vectors > 1 and value.shape[-1:] == (
                self.n_vectors * self.n_features,
            ):
                value = value.reshape(*value.shape[:-1], self.n_vectors, -1)
            out[name] = value.numpy()
        derived = self.derived(latent)
        for name, value in derived.items():
            out[name] = torch.as_tensor(value).cpu().numpy()
        coef = out["coef"] / x_scale
        intercept = self._intercepts(latent, len(coef))
        out["coef"] = coef
        out["intercept"] = intercept - coef @ x_mean
        return out

    def _intercepts(self, values: dict, num: int) -> np.ndarray:
        if self.fit_intercept:
            return values["intercept"].cpu().numpy()
        shape = (num,) if self.n_vectors == 1 else (num, self.n_vectors)
        return np.zeros(shape)

    # -- likelihood -----------------------------------------------------------
    def _logits(self, coef, intercept, X):
        """Logits (..., n) for one vector, (..., n, K) for K classes."""
        if self.n_vectors == 1:
            logits = coef @ X.mT
            return logits if intercept is None else logits + intercept[..., None]
        coef = coef.reshape(*coef.shape[:-1], self.n_vectors, self.n_features)
        logits = X @ coef.mT
        return logits if intercept is None else logits + intercept[..., None, :]

    def _log_likelihood_of(self, coef, intercept, X, y, weight):
        logits = self._logits(coef, intercept, X)
        if self.n_vectors == 1:
            # log p(y | eta) = y eta - log(1 + e^eta) = logsigmoid(+-eta).
            log_p = logsigmoid(torch.where(y.bool(), logits, -logits))
        else:
            chosen = logits.gather(-1, y.expand(*logits.shape[:-1]).unsqueeze(-1))
            log_p = chosen.squeeze(-1) - logits.logsumexp(-1)
        scale = self.n_samples / max(len(y), 1)
        return scale * (log_p * weight).sum(-1)

    def _coef_vector(self, values) -> torch.Tensor:
        """All coefficients as one vector (..., K' d), as the prior draws them."""
        return self.prior.transform(values, self._noise_scale(), self.n_observations)[
            "coef"
        ]

    def log_likelihood(self, values, X, y, weight):
        coef = self._coef_vector(values)
        return self._log_likelihood_of(coef, values.get("intercept"), X, y, weight)

    def observe(self, values, X, y, weight):
        coef = self._coef_vector(values)
        logits = self._logits(coef, values.get("intercept"), X)
        rows = torch.arange(len(y), device=y.device)
        with pyro.plate("data", self.n_samples, subsample=rows):
            if self.n_vectors == 1:
                likelihood = dist.Bernoulli(logits=logits)
                observed = y.to(logits.dtype)
            else:
                likelihood = dist.Categorical(logits=logits)
                observed = y
            # poutine.scale takes positive scales only: rows of weight 0 are
            # masked out instead.
            positive = weight > 0
            with (
                pyro.poutine.mask(mask=positive),
                pyro.poutine.scale(scale=torch.where(positive, weight, 1.0)),
            ):
                pyro.sample("y", likelihood, obs=observed)

    def log_density(self, unconstrained, X, y, weight):
        # Closed form of BayesianModule.log_density (tests check they agree).
        log_p, coef = self.prior.log_density(
            unconstrained,
            n_features=self.n_vectors * self.n_features,
            like=self.anchor,
            noise_scale=self._noise_scale(),
            n_samples=self.n_observations,
        )
        intercept = None
        if self.fit_intercept:
            intercept = unconstrained["intercept"]
            scale = self.intercept_scale
            size = 1 if self.n_vectors == 1 else self.n_vectors
            sq = intercept.square()
            sq = sq if self.n_vectors == 1 else sq.sum(-1)
            log_p = (
                log_p - 0.5 * sq / scale**2 - size * (math.log(scale) + _HALF_LOG_2PI)
            )
        return log_p + self._log_likelihood_of(coef, intercept, X, y, weight)


def _site_covariances(covariance, n_vectors, n_features, fit_intercept) -> dict:
    """Split the Laplace covariance of ``theta`` (see ``posterior_mode``) by site.

    The blocks start a Gaussian guide; the guide's optimiser fills in the
    cross-covariances between sites, which start at zero.
    """
    p = n_features + 1
    index = torch.arange(n_vectors * p, device=covariance.device).reshape(n_vectors, p)
    coef = index[:, :n_features].reshape(-1)
    out = {"coef": covariance[coef][:, coef]}
    if fit_intercept:
        intercept = index[:, -1]
        out["intercept"] = covariance[intercept][:, intercept]
    return out


def posterior_mode(
    data: LogisticData,
    coef_scale: float,
    intercept_scale: float,
    *,
    fit_intercept: bool,
    n_vectors: int,
    max_iter: int = 100,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The mode under ``Normal(0, coef_scale**2)`` coefficients, by Newton's method.

    The log posterior is concave; each Newton step is halved until it gains,
    which makes the iteration converge from zero even on separable data.

    Returns
    -------
    theta : Tensor of shape (K', d + 1)
        Per coefficient vector, the coefficients and then the intercept (0
        without one).
    covariance : Tensor of shape (K' (d + 1), K' (d + 1))
        The inverse negative Hessian at the mode (the Laplace approximation),
        over ``theta.reshape(-1)``.
    """
    X, y, weight = data.arrays
    X, weight = X.double(), weight.double()
    n, d = X.shape
    design = torch.cat([X, X.new_ones(n, 1)], 1)
    prior_prec = X.new_full((n_vectors, d + 1), coef_scale**-2.0)
    if fit_intercept:
        prior_prec[:, -1] = intercept_scale**-2.0
    else:
        prior_prec[:, -1] = 1e12  # pins the intercept at 0
    classes = torch.arange(n_vectors, device=y.device)
    targets = (y[:, None] == (classes + 1 if n_vectors == 1 else classes)).double()

    def objective(theta):
        logits = design @ theta.T  # (n, K')
        if n_vectors == 1:
            log_lik = targets * logits - torch.nn.functional.softplus(logits)
        else:
            log_lik = targets * (logits - logits.logsumexp(-1, keepdim=True))
        return float(
            (weight[:, None] * log_lik).sum() - 0.5 * (prior_prec * theta**2).sum()
        )

    theta = X.new_zeros(n_vectors, d + 1)
    size = n_vectors * (d + 1)
    for _ in range(max_iter):
        logits = design @ theta.T
        if n_vectors == 1:
            probs = torch.sigmoid(logits)
            cross = (probs * (1 - probs))[:, :, None]  # (n, 1, 1)
        else:
            probs = logits.softmax(-1)
            cross = torch.diag_embed(probs) - probs[:, :, None] * probs[:, None, :]
        grad = ((targets - probs) * weight[:, None]).T @ design - prior_prec * theta
        # -Hessian[(k, a), (j, b)] = sum_i w_i cross_ikj x_ia x_ib + prior.
        hessian = torch.einsum("i,ikj,ia,ib->kajb", weight, cross, design, design)
        hessian = hessian.reshape(size, size) + torch.diag(prior_prec.reshape(-1))
        step = torch.linalg.solve(hessian, grad.reshape(-1)).reshape(n_vectors, -1)
        current = objective(theta)
        for _ in range(30):
            if objective(theta + step) >= current:
                break
            step = step / 2
        theta = theta + step
        if float(step.abs().max()) < 1e-10:
            break
    if not fit_intercept:
        theta[:, -1] = 0.0
    return theta, torch.linalg.inv(hessian)
