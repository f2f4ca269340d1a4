"""The horseshoe and the regularised horseshoe, centred or not."""

from __future__ import annotations

import math

import pyro.distributions as dist
import torch
from sklearn.base import clone
from torch.nn.functional import softplus

from ._base import (
    _HALF_LOG_2PI,
    _LOG_2_OVER_PI,
    CoefPrior,
    _const,
    _HalfCauchy,
    _log_half_cauchy_of_log,
    _positive,
)


class _HorseshoeFamily(CoefPrior):
    """Shared machinery of the horseshoe priors: both parameterisations.

    Non-centred (``centered=False``): ``coef = scale * z`` with
    ``z ~ Normal(0, 1)``, where ``scale = tau * lambda`` (or the regularised
    ``tau * lambda_tilde``). All sites are independent a priori. In the centred
    form the scale of ``coef`` depends on ``tau`` and ``lambda``: a funnel in
    which NUTS diverges wherever the data say little about a coefficient. Hence
    non-centred is the default, and what NUTS uses.

    Centred (``centered=True``): ``coef ~ Normal(0, scale**2)`` is a site of its
    own. Where the data pin a coefficient down, the non-centred posterior lies
    on the thin curve ``scale * z = coef``, which a Gaussian guide in the
    unconstrained space can only cover by being very narrow; the ELBO then
    prefers to blow up the noise and shrink everything, as it does on the
    tutorial's problem whatever the start or learning rate. Engines therefore
    ask for their parameterisation through ``with_parameterization``: SVI
    centred, the samplers non-centred, when ``centered=None``.
    """

    #: Whether some site's distribution depends on other sites' values.
    @property
    def has_dependent_sites(self) -> bool:
        return bool(self.centered)

    def _scale_sites(self, n_features: int, like) -> dict:
        raise NotImplementedError

    def coef_scale(
        self, values: dict, noise_scale, n_samples: int
    ) -> tuple[torch.Tensor, dict]:
        """The coefficients' prior sd given the scale sites, and derived values.

        ``coef = scale * z`` with ``z ~ Normal(0, I)``: the non-centred form's
        map, which the whitening NUTS samples in (``conditionally_gaussian``).
        """
        raise NotImplementedError

    #: Whether the coefficients' scale depends on the noise scale.
    _scaled_by_noise = False

    @property
    def conditionally_gaussian(self) -> bool:
        # Non-centred: coef = coef_scale(...) * z, z ~ N(0, I) given the scales.
        return self.centered is False

    def with_parameterization(self, centered: bool) -> _HorseshoeFamily:
        if self.centered is not None:
            return self
        return clone(self).set_params(centered=centered)

    def latent_sites(
        self, n_features, *, like, values=None, noise_scale=None, n_samples=None
    ):
        sites = self._scale_sites(n_features, like)
        one = torch.ones(n_features, dtype=like.dtype, device=like.device)
        if not self.centered:
            sites["z"] = dist.Normal(torch.zeros_like(one), one).to_event(1)
            return sites
        known = values is not None and all(name in values for name in sites)
        if known and (noise_scale is not None or not self._scaled_by_noise):
            scale, _ = self.coef_scale(values, noise_scale, n_samples)
        else:
            scale = one  # stand-in with the right support and shape
        sites["coef"] = dist.Normal(torch.zeros_like(scale), scale).to_event(1)
        return sites

    def transform(self, values, noise_scale, n_samples):
        scale, derived = self.coef_scale(values, noise_scale, n_samples)
        coef = values["coef"] if self.centered else scale * values["z"]
        return {"coef": coef, **derived}

    def _init_scales(self, coef, tau) -> dict:
        # Local scales that reproduce coef: |coef| = tau * lambda (z = +-1).
        magnitude = coef.abs().clamp_min(1e-3 * tau)
        values = {"lambda": magnitude / tau}
        if self.centered:
            values["coef"] = coef
        else:
            values["z"] = torch.where(coef < 0, -1.0, 1.0).to(coef)
        return values


class Horseshoe(_HorseshoeFamily):
    """The horseshoe prior of Carvalho, Polson and Scott (2010).

    ``tau ~ HalfCauchy(global_scale)``, ``lambda_j ~ HalfCauchy(1)`` and
    ``coef_j ~ Normal(0, tau**2 * lambda_j**2)``. It shrinks small coefficients
    hard towards zero and leaves large ones almost alone.

    Parameters
    ----------
    global_scale : float, default=1.0
        Scale of the half-Cauchy prior on the global shrinkage ``tau``.
    centered : bool or None, default=None
        Parameterisation. ``False`` (non-centred, ``coef = tau * lambda * z``)
        or ``True`` (``coef`` sampled given ``tau * lambda``); ``None`` lets
        the estimator choose: centred for SVI, non-centred for NUTS.

    Notes
    -----
    Why both parameterisations exist, and which inference uses which, is
    explained in ``_HorseshoeFamily``: in short, the non-centred form
    removes the funnel that makes NUTS diverge, and the centred form lets a
    Gaussian guide fit coefficients that the data determine well.

    Examples
    --------
    >>> import torch
    >>> from skbayes.priors import Horseshoe
    >>> sorted(Horseshoe().latent_sites(3, like=torch.zeros(1)))
    ['lambda', 'tau', 'z']
    >>> sorted(Horseshoe(centered=True).latent_sites(3, like=torch.zeros(1)))
    ['coef', 'lambda', 'tau']
    """

    _parameter_constraints = {
        "global_scale": [_positive],
        "centered": ["boolean", None],
    }
    gibbs_kernel = "horseshoe"

    @property
    def fused_density(self) -> str | None:
        return "centred_horseshoe" if self.centered else None

    def __init__(self, global_scale: float = 1.0, centered: bool | None = None):
        self.global_scale = global_scale
        self.centered = centered

    def _scale_sites(self, n_features, like):
        one = torch.ones(n_features, dtype=like.dtype, device=like.device)
        return {
            "tau": _HalfCauchy(_const(self.global_scale, like)),
            "lambda": _HalfCauchy(one).to_event(1),
        }

    def coef_scale(self, values, noise_scale, n_samples):
        return values["tau"].unsqueeze(-1) * values["lambda"], {}

    def log_density(self, unconstrained, *, n_features, like, **context):
        # With t = log tau and u = log lambda, as the guides and NUTS see them:
        # log HalfCauchy(e^u | 1) + u = log(2 / pi) + u - softplus(2 u).
        log_tau, log_lambda = unconstrained["tau"], unconstrained["lambda"]
        log_p = _log_half_cauchy_of_log(log_tau, math.log(self.global_scale))
        log_p = log_p - softplus(2 * log_lambda).sum(-1)
        log_scale = log_tau.unsqueeze(-1) + log_lambda
        if self.centered:
            # The Normal(0, e^(t + u)) density's -(t + u) cancels the +u.
            coef = unconstrained["coef"]
            z = coef * torch.exp(-log_scale)
            log_p = log_p - n_features * log_tau - 0.5 * torch.linalg.vecdot(z, z)
        else:
            z = unconstrained["z"]
            coef = torch.exp(log_scale) * z
            log_p = log_p + log_lambda.sum(-1) - 0.5 * torch.linalg.vecdot(z, z)
        return log_p + n_features * (_LOG_2_OVER_PI - _HALF_LOG_2PI), coef

    def init_values(self, coef, noise_scale, n_samples):
        tau = float(self.global_scale) * 0.1
        return {"tau": _const(tau, coef), **self._init_scales(coef, tau)}


class RegularizedHorseshoe(_HorseshoeFamily):
    """The regularised ("Finnish") horseshoe of Piironen and Vehtari (2017).

    A horseshoe whose largest coefficients are softly bounded by a slab of
    width ``c``: ``lambda_tilde_j**2 = c**2 lambda_j**2 / (c**2 + tau**2
    lambda_j**2)`` and ``coef_j ~ Normal(0, tau**2 lambda_tilde_j**2)``, with
    ``c**2 ~ InverseGamma(slab_df / 2, slab_df * slab_scale**2 / 2)``.

    Parameters
    ----------
    global_scale : float, optional
        Scale ``tau0`` of the half-Cauchy prior on ``tau``. Give this or
        ``expected_nonzero``; with neither, ``tau0 = 1``.
    expected_nonzero : float, optional
        A guess ``p0`` at the number of non-zero coefficients. Sets
        ``tau0 = p0 / (d - p0) * sigma / sqrt(n)``, Piironen and Vehtari's
        recommendation, which scales with the noise ``sigma``.
    slab_scale : float, default=2.0
        Scale of the slab that bounds large coefficients.
    slab_df : float, default=4.0
        Degrees of freedom of the slab.
    centered : bool or None, default=None
        Parameterisation, as for ``Horseshoe``.

    Notes
    -----
    ``tau`` is sampled as ``tau0 * tau_unit`` with ``tau_unit ~
    HalfCauchy(1)``, because ``tau0`` may depend on the noise scale; ``tau``
    is reported among the posterior draws.

    Examples
    --------
    >>> from skbayes.priors import RegularizedHorseshoe
    >>> RegularizedHorseshoe(expected_nonzero=5).slab_scale
    2.0
    """

    _parameter_constraints = {
        "global_scale": [_positive, None],
        "expected_nonzero": [_positive, None],
        "slab_scale": [_positive],
        "slab_df": [_positive],
        "centered": ["boolean", None],
    }

    def __init__(
        self,
        global_scale: float | None = None,
        expected_nonzero: float | None = None,
        slab_scale: float = 2.0,
        slab_df: float = 4.0,
        centered: bool | None = None,
    ):
        self.global_scale = global_scale
        self.expected_nonzero = expected_nonzero
        self.slab_scale = slab_scale
        self.slab_df = slab_df
        self.centered = centered

    #: Its Gibbs updates exist for the logistic model only (the Polya-Gamma
    #: kernel); the linear model's kernels do not offer them.
    gibbs_kernel = "regularized_horseshoe"
    # NUTS meets the slab's funnel: over two minutes at n=100, d=5 with
    # the default draws (docs/benchmarks.md, "The auto engine").
    nuts_by_default = False

    @property
    def _scaled_by_noise(self) -> bool:
        return self.expected_nonzero is not None

    def validate(self):
        super().validate()
        if self.global_scale is not None and self.expected_nonzero is not None:
            raise ValueError(
                "Invalid RegularizedHorseshoe prior: give global_scale or "
                "expected_nonzero, not both."
            )
        return self

    def _tau0(self, noise_scale, n_features: int, n_samples: int):
        if self.expected_nonzero is None:
            return 1.0 if self.global_scale is None else float(self.global_scale)
        p0 = float(self.expected_nonzero)
        if p0 >= n_features:
            raise ValueError(
                f"Invalid RegularizedHorseshoe prior: expected_nonzero={p0} must be "
                f"smaller than the number of features ({n_features})."
            )
        return p0 / (n_features - p0) * noise_scale / math.sqrt(n_samples)

    def _scale_sites(self, n_features, like):
        one = torch.ones(n_features, dtype=like.dtype, device=like.device)
        half_df = _const(self.slab_df / 2.0, like)
        return {
            "tau_unit": _HalfCauchy(_const(1.0, like)),
            "lambda": _HalfCauchy(one).to_event(1),
            "slab_var": dist.InverseGamma(
                half_df, half_df * _const(self.slab_scale, like) ** 2
            ),
        }

    def coef_scale(self, values, noise_scale, n_samples):
        n_features = values["lambda"].shape[-1]
        tau = self._tau0(noise_scale, n_features, n_samples) * values["tau_unit"]
        lam_sq = values["lambda"] ** 2
        slab_var = values["slab_var"].unsqueeze(-1)
        tau_sq = (tau**2).unsqueeze(-1)
        lam_tilde = torch.sqrt(slab_var * lam_sq / (slab_var + tau_sq * lam_sq))
        return tau.unsqueeze(-1) * lam_tilde, {"tau": tau}

    def init_values(self, coef, noise_scale, n_samples):
        tau0 = float(self._tau0(noise_scale, coef.shape[-1], n_samples))
        tau = 0.1 * tau0 if self.expected_nonzero is None else tau0
        return {
            "tau_unit": _const(tau / tau0, coef),
            "slab_var": _const(float(self.slab_scale) ** 2, coef),
            **self._init_scales(coef, tau),
        }
