"""Changes of variables that make NUTS see a Gaussian where the model has one.

Given everything but the coefficients, a linear-Gaussian model's coefficients
are exactly Gaussian. Sampling them as a standard normal ``w`` mapped through
that conditional removes the correlations X'X puts into the posterior, which
no diagonal mass matrix can; the only geometry left for NUTS is that of the
other sites. A model offers one of these through
``BayesianModule.nuts_reparameterization``; ``run_nuts`` takes any object with
``to_latent`` and ``from_latent``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.distributions import biject_to

from ..priors import GaussianForm
from .conjugate import standardise, unstandardise


class NormalConditionalWhitening:
    """NUTS's parameterisation of a Normal-prior linear model: ``coef`` whitened.

    Given the noise variance ``v``, the coefficients' posterior is exactly
    ``N(m(v), C(v))`` with ``C(v) = (X'X / v + I / scale**2)^-1``. NUTS samples
    ``w`` with ``coef = m(v) + C(v)^(1/2) w`` instead of ``coef``: ``w`` is then
    a standard normal independent of ``v`` a posteriori, whatever the
    conditioning of ``X'X``, and the only geometry left is ``v``'s own. With
    ``X'X = V diag(lam) V'`` (one eigendecomposition, here),
    ``C(v) = V diag(1 / (lam / v + 1 / scale**2)) V'`` and
    ``m(v) = V diag(1 / (lam + v / scale**2)) V' X'y``, so a map costs two
    d-vector products; its log Jacobian ``-sum log(lam / v + 1 / s**2) / 2``
    depends on ``v`` and goes into the potential.

    A prior with means or per-coefficient scales (``GaussianForm``) is
    whitened on its standardised coefficients ``w``, ``coef = loc +
    column_scale * w``; a flat prior (``scale = inf``) has no prior
    precision, and needs X'X of full rank.

    Parameters
    ----------
    gram, xty : Tensor
        Centred ``X'X`` (d, d) and ``X'y`` (d,).
    scale : float or GaussianForm
        Prior scale of the coefficients, or the prior's Gaussian form.
    noise_var : float or None
        The fixed noise variance; None when ``"noise_var"`` is a latent site
        (unconstrained as ``log sigma**2``).

    Examples
    --------
    One feature with ``X'X = 4``, ``X'y = 2``, unit prior scale and unit noise:
    the posterior is ``N(2 / 5, 1 / 5)``, so ``w = 0`` maps to the mean and the
    map is undone exactly:

    >>> import torch
    >>> from skbayes.models.whitening import NormalConditionalWhitening
    >>> one = torch.ones(1, 1, dtype=torch.float64)
    >>> whiten = NormalConditionalWhitening(4 * one, 2 * one[0], 1.0, noise_var=1.0)
    >>> latent, log_det = whiten.to_latent({"w": torch.zeros(1, dtype=torch.float64)})
    >>> latent["coef"].tolist(), round(log_det.item(), 4)  # log sqrt(1 / 5)
    ([0.4], -0.8047)
    >>> whiten.from_latent(latent)["w"].tolist()
    [0.0]
    """

    def __init__(
        self, gram, xty, scale: float | GaussianForm, noise_var: float | None = None
    ):
        dtype = gram.dtype
        form = scale if isinstance(scale, GaussianForm) else None
        if form is None:
            form = GaussianForm(None, None, float(scale))
        # In float64: X'X near singular (n close to d) has eigenvalues far
        # below float32's resolution of its largest.
        gram, xty = gram.to(torch.float64), xty.to(torch.float64)
        _, _, (gram, xty, _) = standardise(form, stats=(gram, xty, xty.new_zeros(())))
        lam, basis = torch.linalg.eigh(gram)
        self.lam = lam.clamp_min(0.0).to(dtype)
        self.basis = basis.to(dtype)
        self.vty = (basis.mT @ xty).to(dtype)
        self.prior_precision = 1.0 / form.scale**2
        self.form = None if form.standard else form
        self.log_det_scale = 0.0
        if form.column_scale is not None:
            self.log_det_scale = float(np.log(form.column_scale).sum())
        self.noise_var = noise_var

    def _variance(self, params):
        if self.noise_var is None:
            return params["noise_var"].exp().unsqueeze(-1)
        return self.lam.new_tensor(self.noise_var)

    def to_latent(self, params: dict) -> tuple[dict, torch.Tensor]:
        """Unconstrained model sites from ``params``, and the log Jacobian."""
        var = self._variance(params)
        precision = self.lam / var + self.prior_precision
        rotated = self.vty / (self.lam + var * self.prior_precision)
        coef = (rotated + params["w"] * precision.rsqrt()) @ self.basis.mT
        if self.form is not None:
            coef = unstandardise(self.form, coef)
        latent = {"coef": coef}
        if self.noise_var is None:
            latent = {"noise_var": params["noise_var"], **latent}
        return latent, self.log_det_scale - 0.5 * precision.log().sum(-1)

    def from_latent(self, latent: dict) -> dict:
        """Inverse of ``to_latent``."""
        var = self._variance(latent)
        precision = self.lam / var + self.prior_precision
        rotated = self.vty / (self.lam + var * self.prior_precision)
        coef = latent["coef"]
        if self.form is not None:
            if self.form.loc is not None:
                coef = coef - coef.new_tensor(self.form.loc)
            if self.form.column_scale is not None:
                coef = coef / coef.new_tensor(self.form.column_scale)
        params = {"w": (coef @ self.basis - rotated) * precision.sqrt()}
        if self.noise_var is None:
            params = {"noise_var": latent["noise_var"], **params}
        return params


class ScaleMixtureConditionalWhitening:
    """NUTS's parameterisation of a non-centred horseshoe: ``z`` whitened.

    For priors with ``coef = scale * z`` and ``z ~ Normal(0, I)`` (the
    horseshoe family, non-centred), given the scales and the noise variance
    ``v`` the coefficients' posterior is exactly ``N(m, P^-1)`` with
    ``P = X'X / v + diag(scale)^-2``. NUTS samples ``w`` with
    ``coef = m + L^-T w`` (``P = L L'``) in place of ``z``: the likelihood's
    correlations, which no diagonal mass matrix removes, are gone, and ``w``
    is a standard normal given the rest. Each map costs one d x d Cholesky
    factorisation; its log Jacobian onto ``z = coef / scale`` is
    ``-sum log diag(L) - sum log scale``.

    Parameters
    ----------
    gram, xty : Tensor
        Centred ``X'X`` (d, d) and ``X'y`` (d,).
    prior : CoefPrior
        A prior that is ``conditionally_gaussian`` (``coef_scale`` gives the
        scales): the horseshoe family, non-centred.
    sites : dict
        The model's ``prior_sites()``; all but ``"z"`` are sampled as they are.
    n_samples : int
        Rows of the data (the regularised horseshoe's global scale uses it).
    noise_var : float or None
        The fixed noise variance; None when ``"noise_var"`` is a latent site.

    Examples
    --------
    One feature with ``X'X = 4``, ``X'y = 2``, ``tau = lambda = 1`` and unit
    noise: ``coef | y ~ N(2 / 5, 1 / 5)``, so ``w = 0`` gives ``z = 0.4``:

    >>> import torch
    >>> from skbayes.models.whitening import ScaleMixtureConditionalWhitening
    >>> from skbayes.models import LinearRegressionModel
    >>> from skbayes.priors import Horseshoe
    >>> model = LinearRegressionModel(
    ...     Horseshoe(centered=False), n_features=1, n_samples=4, noise=1.0
    ... )
    >>> one = torch.ones(1, 1, dtype=torch.float64)
    >>> whiten = ScaleMixtureConditionalWhitening(
    ...     4 * one, 2 * one[0], model.prior, model.prior_sites(), 4, noise_var=1.0
    ... )
    >>> zero = torch.zeros((), dtype=torch.float64)
    >>> params = {"tau": zero, "lambda": zero[None], "w": zero[None]}
    >>> latent, _ = whiten.to_latent(params)
    >>> [round(v, 6) for v in latent["z"].tolist()]
    [0.4]
    >>> whiten.from_latent(latent)["w"].tolist()
    [0.0]
    """

    def __init__(self, gram, xty, prior, sites, n_samples, noise_var=None):
        self.gram, self.xty = gram, xty
        self.prior, self.n_samples, self.noise_var = prior, n_samples, noise_var
        self.transforms = {
            name: biject_to(site.support) for name, site in sites.items() if name != "z"
        }

    def _conditional(self, params):
        values = {name: to(params[name]) for name, to in self.transforms.items()}
        if self.noise_var is None:
            var = values["noise_var"]
        else:
            var = self.gram.new_tensor(self.noise_var)
        scale, _ = self.prior.coef_scale(values, var.sqrt(), self.n_samples)
        var = var.unsqueeze(-1)  # broadcasts against (..., d)
        precision = self.gram / var.unsqueeze(-1) + torch.diag_embed(scale.pow(-2))
        chol = torch.linalg.cholesky(precision)
        mean = torch.cholesky_solve((self.xty / var).unsqueeze(-1), chol).squeeze(-1)
        return scale, chol, mean

    def to_latent(self, params: dict) -> tuple[dict, torch.Tensor]:
        """Unconstrained model sites from ``params``, and the log Jacobian."""
        scale, chol, mean = self._conditional(params)
        w = params["w"].unsqueeze(-1)
        coef = mean + torch.linalg.solve_triangular(chol.mT, w, upper=True).squeeze(-1)
        latent = {name: params[name] for name in self.transforms}
        latent["z"] = coef / scale
        log_diag = chol.diagonal(dim1=-2, dim2=-1).log()
        return latent, -(log_diag + scale.log()).sum(-1)

    def from_latent(self, latent: dict) -> dict:
        """Inverse of ``to_latent``."""
        scale, chol, mean = self._conditional(latent)
        coef = latent["z"] * scale
        params = {name: latent[name] for name in self.transforms}
        params["w"] = ((coef - mean).unsqueeze(-2) @ chol).squeeze(-2)
        return params
