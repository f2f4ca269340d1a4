"""A proper Normal prior on the linear model's intercept, integrated out exactly.

The prior is on the intercept at the mean of the training X, ``a_c = a +
mean(X) @ coef``, as rstanarm's ``prior_intercept`` and brms' ``Intercept``
are: with the columns centred, the likelihood factorises into
``Normal(mean(y) | a_c, sigma**2 / n)`` times a part free of ``a_c``, so
``a_c`` stays independent of the coefficients a posteriori given ``sigma``,
whatever their prior.

Integrating ``a_c ~ Normal(loc, scale**2)`` out leaves the evidence
``Normal(mean(y) | loc, sigma**2 / n + scale**2)``, a function of ``sigma``
alone. ``InterceptEvidence`` folds it into the noise prior, so that every
engine, which already samples ``sigma**2`` under any noise prior, samples the
model with the proper intercept unchanged; the intercept is then drawn from
its Gaussian conditional given each draw (``sample_centred_intercept``).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..priors import NoisePrior
from ..priors.noise import _namespace

__all__ = [
    "InterceptEvidence",
    "intercept_prior_parameters",
    "sample_centred_intercept",
]

_LOG_2PI = math.log(2 * math.pi)


class InterceptEvidence(NoisePrior):
    """A noise prior times the evidence of ``mean(y)`` under the intercept prior.

    Parameters
    ----------
    noise_prior : NoisePrior
        The noise prior of the model.
    y_mean : float
        Mean of the training targets.
    n_samples : int
        Rows of the training data.
    loc, scale : float
        The intercept prior ``Normal(loc, scale**2)`` (at the mean of X).

    Examples
    --------
    With a very wide intercept prior the evidence is nearly flat in sigma:

    >>> import numpy as np
    >>> from skbayes.models.intercept import InterceptEvidence
    >>> from skbayes.priors import InverseGamma
    >>> base = InverseGamma(2.0, 1.0)
    >>> wrapped = InterceptEvidence(base, 3.0, 50, 0.0, 1e6)
    >>> u = np.array([-1.0, 0.0, 1.0])
    >>> gap = wrapped.log_density(u) - base.log_density(u)
    >>> bool(np.ptp(gap) < 1e-9)
    True
    """

    def __init__(
        self,
        noise_prior: NoisePrior,
        y_mean: float,
        n_samples: int,
        loc: float,
        scale: float,
    ):
        self.noise_prior = noise_prior
        self.y_mean = y_mean
        self.n_samples = n_samples
        self.loc = loc
        self.scale = scale

    @property
    def proper(self) -> bool:
        return self.noise_prior.proper

    @property
    def proper_near_zero(self) -> bool:
        return self.noise_prior.proper_near_zero

    @property
    def conjugate_form(self) -> tuple[float, float]:
        return self.noise_prior.conjugate_form

    def log_density(self, u):
        var = _namespace(u).exp(u) / self.n_samples + float(self.scale) ** 2
        gap = float(self.y_mean) - float(self.loc)
        evidence = -0.5 * (_LOG_2PI + _namespace(u).log(var) + gap**2 / var)
        return self.noise_prior.log_density(u) + evidence

    def sample_scale(self, shape, like):
        # Only start values read prior draws; the base prior's serve.
        return self.noise_prior.sample_scale(shape, like)

    def check_posterior(self, dof: int, exact_fit: bool = False) -> None:
        self.noise_prior.check_posterior(dof, exact_fit)


def sample_centred_intercept(
    noise_scale: torch.Tensor, y_mean: float, n_samples: int, loc, scale
) -> torch.Tensor:
    """Draws of the intercept at the mean of X given each ``sigma``.

    ``a_c | sigma, y ~ Normal(m, v)`` with ``1 / v = n / sigma**2 + 1 /
    scale**2`` and ``m = v (n mean(y) / sigma**2 + loc / scale**2)``; a flat
    prior (``scale=None``) gives ``Normal(mean(y), sigma**2 / n)``. Uses
    torch's global generator, which the engines seed and restore.
    """
    noise = torch.randn_like(noise_scale)
    precision_data = n_samples / noise_scale**2
    if scale is None:
        return y_mean + noise * precision_data.rsqrt()
    precision = precision_data + 1.0 / float(scale) ** 2
    mean = (precision_data * y_mean + float(loc) / float(scale) ** 2) / precision
    return mean + noise * precision.rsqrt()


def intercept_prior_parameters(prior) -> tuple[float, float] | None:
    """``(loc, scale)`` of a scalar ``Normal`` intercept prior; None for flat.

    Raises ``ValueError`` for anything else.
    """
    from ..priors import Normal

    if prior is None:
        return None
    if isinstance(prior, Normal) and np.ndim(prior.scale) == np.ndim(prior.loc) == 0:
        prior.validate()
        if math.isinf(float(prior.scale)):
            return None
        return float(prior.loc), float(prior.scale)
    raise ValueError(
        "intercept_prior must be None (flat), Flat() or a Normal(scale, loc) "
        f"with one scale and one loc; got {prior!r}."
    )
