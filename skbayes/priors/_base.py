"""The prior contract: parameter handling, and what a prior may offer engines."""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

import numpy as np
import pyro.distributions as dist
import torch
from pyro.distributions.util import sum_rightmost
from sklearn.base import BaseEstimator
from torch.distributions import biject_to
from torch.nn.functional import softplus

from .._compat import Interval, check_support, validate_params

_positive = Interval(Real, 0, None, closed="neither")


class _Prior(BaseEstimator):
    """Base class: sklearn parameter handling and validation for priors."""

    _parameter_constraints: dict = {}

    def validate(self) -> _Prior:
        """Check the hyperparameters, raising ``ValueError`` naming the bad one."""
        try:
            validate_params(self)
        except Exception as error:  # InvalidParameterError is a ValueError
            raise ValueError(f"Invalid {type(self).__name__} prior: {error}") from None
        return self


@dataclass(frozen=True)
class GaussianForm:
    """A Gaussian coefficient prior as ``coef = loc + column_scale * w``.

    ``w ~ Normal(0, scale**2 I)``; ``scale`` is ``inf`` for the flat prior.
    ``loc`` and ``column_scale`` are None where they are 0 and 1: the closed
    forms then run on the data as given, and otherwise on the standardised
    data ``X diag(column_scale)`` and ``y - X loc`` (see
    ``skbayes.models.conjugate.standardise``).
    """

    loc: np.ndarray | None
    column_scale: np.ndarray | None
    scale: float

    @property
    def flat(self) -> bool:
        return math.isinf(self.scale)

    @property
    def standard(self) -> bool:
        """Whether the data need no transformation (zero mean, one scale)."""
        return self.loc is None and self.column_scale is None


def _const(value, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(value, dtype=like.dtype, device=like.device)


_LOG_2_OVER_PI = math.log(2 / math.pi)
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


# Closed forms of the log densities in the unconstrained space, for
# ``CoefPrior.log_density``: each is a handful of tensor operations, where
# the distribution objects cost an SVI step several times more autograd nodes.
def _log_half_cauchy_of_log(log_x: torch.Tensor, log_scale: float) -> torch.Tensor:
    """``log HalfCauchy(exp(u) | scale) + u``: the density of ``u = log x``.

    ``softplus`` keeps it finite where ``exp(2 u)`` would overflow.
    """
    return _LOG_2_OVER_PI - log_scale + log_x - softplus(2 * (log_x - log_scale))


class _HalfCauchy(dist.HalfCauchy):
    """``HalfCauchy`` whose log density is one closed-form expression.

    torch builds it as a transformed Cauchy, and evaluating that chain costs
    more than the rest of the horseshoe's prior in an SVI step at d = 100.
    Sampling, support and everything else are the parent's.

    Examples
    --------
    >>> import pyro.distributions as dist
    >>> import torch
    >>> x = torch.tensor([0.1, 1.0, 30.0], dtype=torch.float64)
    >>> scale = torch.tensor(2.0, dtype=torch.float64)
    >>> fast = _HalfCauchy(scale).log_prob(x)
    >>> torch.allclose(fast, dist.HalfCauchy(scale).log_prob(x))
    True
    """

    def log_prob(self, value):
        check_support(self, value)
        scale = self.scale
        return _LOG_2_OVER_PI - scale.log() - (value / scale).square().log1p()


class CoefPrior(_Prior):
    """Base class for priors on regression coefficients.

    Examples
    --------
    A new prior needs ``latent_sites``, and ``transform`` too when its latent
    variables are not the coefficients themselves. Independent uniform
    coefficients on ``(-width / 2, width / 2)``:

    >>> import pyro.distributions as dist
    >>> import torch
    >>> from skbayes.priors import CoefPrior
    >>> class Uniform(CoefPrior):
    ...     def __init__(self, width=1.0):
    ...         self.width = width
    ...
    ...     def latent_sites(self, n_features, *, like, **context):
    ...         half = like.new_full((n_features,), self.width / 2)
    ...         return {"coef": dist.Uniform(-half, half).to_event(1)}
    >>> prior = Uniform().set_params(width=4.0)  # sklearn-style parameters
    >>> prior
    Uniform(width=4.0)
    >>> sites = prior.latent_sites(3, like=torch.zeros((), dtype=torch.float64))
    >>> sites["coef"].event_shape
    torch.Size([3])
    >>> prior.transform({"coef": torch.tensor([0.5, -1.0, 0.0])}, None, 10)
    {'coef': tensor([ 0.5000, -1.0000,  0.0000])}

    The regression model takes it like any built-in prior:

    >>> from skbayes.models import LinearRegressionModel
    >>> model = LinearRegressionModel(prior, n_features=3, n_samples=10)
    >>> list(model.prior_sites())
    ['noise_var', 'coef']
    """

    #: Whether some site's distribution depends on other sites' values, so
    #: that ``latent_sites`` must be rebuilt from the values to score them.
    has_dependent_sites = False

    # -- optional capabilities ----------------------------------------------
    # What a prior can offer the fast engines, declared here instead of being
    # discovered from its class; a subclass inherits them. A prior written
    # outside skbayes needs none of them: SVI and NUTS work from
    # ``latent_sites`` alone.

    #: Name of the Gibbs kernel that samples this prior exactly (a key of
    #: ``skbayes.inference.gibbs.GIBBS_KERNELS``), or None where there is none.
    gibbs_kernel: str | None = None

    #: ``s`` when the coefficients are exactly ``Normal(0, s**2 I)`` with ``s``
    #: fixed: the model's coefficient posterior is then Gaussian in closed form
    #: given the noise (the SVI start, the NUTS whitening, the Gibbs kernel).
    fixed_gaussian_scale: float | None = None

    #: Whether ``coef = coef_scale(values, ...) * z`` with ``z ~ Normal(0, I)``
    #: given the other sites, so that the coefficients are Gaussian given them
    #: (``skbayes.models.whitening.ScaleMixtureConditionalWhitening``).
    conditionally_gaussian: bool = False

    #: Whether ``inference="auto"`` may pick NUTS for this prior on a small
    #: problem. False where the posterior's geometry makes NUTS take minutes
    #: whatever the size.
    nuts_by_default: bool = True

    #: Name of a closed form of this prior's density that a model may fuse
    #: with its likelihood into one autograd node (see
    #: ``LinearRegressionModel.log_density``), or None.
    fused_density: str | None = None

    def gaussian_form(self, n_features: int) -> GaussianForm | None:
        """The prior as ``coef = loc + column_scale * w``, ``w ~ N(0, s**2 I)``.

        None (the default) for priors that are not Gaussian with fixed
        parameters. Where it is given, the linear model's posterior is
        Gaussian in closed form given the noise: the exact engine, the
        collapsed Gibbs kernel, NUTS's whitening and SVI's start use it.
        """
        return None

    def with_parameterization(self, centered: bool) -> CoefPrior:
        """This prior in the parameterisation an engine prefers.

        Engines that fit Gaussian guides prefer centred sites and samplers
        non-centred ones (see ``skbayes.priors.horseshoe``); priors with a
        choice left open (``centered=None``) return a copy that makes it.
        """
        return self

    def latent_sites(
        self,
        n_features: int,
        *,
        like: torch.Tensor,
        values: dict | None = None,
        noise_scale: torch.Tensor | None = None,
        n_samples: int | None = None,
    ) -> dict[str, dist.Distribution]:
        """Latent sites in sampling order, event shape covering one draw.

        ``values`` (the draws so far), ``noise_scale`` and ``n_samples`` are
        needed only by priors with dependent sites; without them such priors
        return stand-ins with the right support and shape.
        """
        raise NotImplementedError

    def transform(
        self, values: dict, noise_scale: torch.Tensor, n_samples: int
    ) -> dict[str, torch.Tensor]:
        """Map latent values to ``{"coef": ..., **derived}``; batch dims lead."""
        return {"coef": values["coef"]}

    def init_values(
        self, coef: torch.Tensor, noise_scale: float, n_samples: int
    ) -> dict:
        """Latent values that reproduce a point estimate of the coefficients."""
        return {"coef": coef}

    def log_density(
        self,
        unconstrained: dict,
        *,
        n_features: int,
        like: torch.Tensor,
        noise_scale: torch.Tensor | None = None,
        n_samples: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log prior density in the unconstrained space, and the coefficients.

        ``unconstrained`` holds each latent site mapped to the real line by
        ``biject_to`` of its support (it may hold other sites too, which are
        ignored). Returns ``log p(values) + log |d values / d unconstrained|``,
        summed over each draw, and the coefficients the values imply; leading
        batch dims are kept. This default goes through ``latent_sites`` and
        ``transform``; priors may override it with a closed form that is
        cheaper to differentiate in every SVI step and NUTS leapfrog.

        Examples
        --------
        For ``Normal`` the coefficients are the unconstrained values
        themselves:

        >>> import torch
        >>> from skbayes.priors import Normal
        >>> u = {"coef": torch.tensor([[0.0, 1.0]], dtype=torch.float64)}
        >>> log_p, coef = Normal(scale=1.0).log_density(
        ...     u, n_features=2, like=u["coef"]
        ... )
        >>> round(log_p.item(), 4), coef.tolist()
        (-2.3379, [[0.0, 1.0]])
        """
        sites = self.latent_sites(n_features, like=like)
        values, log_det = {}, 0.0
        for name, site in sites.items():
            transform = biject_to(site.support)
            u = unconstrained[name]
            values[name] = transform(u)
            ladj = transform.log_abs_det_jacobian(u, values[name])
            # An Independent support's transform has summed its own dims.
            event_dims = ladj.dim() - u.dim() + site.event_dim
            log_det = log_det + sum_rightmost(ladj, event_dims)
        if self.has_dependent_sites:
            sites = self.latent_sites(
                n_features,
                like=like,
                values=values,
                noise_scale=noise_scale,
                n_samples=n_samples,
            )
        log_p = sum(site.log_prob(values[name]) for name, site in sites.items())
        return log_p + log_det, self.transform(values, noise_scale, n_samples)["coef"]
