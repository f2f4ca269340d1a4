"""Priors on the noise scale of a Gaussian likelihood.

Every noise prior describes itself through the log density of
``u = log sigma**2``, Jacobian included (``log_density``): the one
coordinate every engine moves the noise in. The exact engine and the
collapsed Gibbs steps evaluate it on ``u`` directly; NUTS and SVI reach it
through the model's ``"noise_var"`` site (``site``), whose density in
``sigma**2`` it implies.

Where the noise variance's conditional given the coefficients is needed (the
scale-mixture and horseshoe Gibbs kernels), a prior splits its density into
an inverse-gamma part (``conjugate_form``), which combines with the
likelihood's ``(sigma**2)**(-dof / 2) exp(-RSS / (2 sigma**2))`` into an
inverse-gamma draw, and the rest (``residual_log_density``), which a
Metropolis-Hastings correction accounts for: an independence proposal from
the inverse-gamma part, accepted with the ratio of the rest. For
``InverseGamma`` the rest is zero, so every proposal is accepted and the
draw is the classical conjugate one.

Densities in ``u`` (``sigma = exp(u / 2)``, ``d sigma / du = sigma / 2``):

============================  ============================================
prior                          ``log p(u)`` up to a constant
============================  ============================================
``InverseGamma(a, b)``         ``-a u - b exp(-u)``
``HalfNormal(s)`` on sigma     ``u / 2 - exp(u) / (2 s**2)``
``HalfCauchy(s)`` on sigma     ``u / 2 - log(1 + exp(u) / s**2)``
``HalfStudentT(nu, s)``        ``u / 2 - (nu + 1) / 2 log(1 + exp(u) / (nu s**2))``
``Exponential(r)`` on sigma    ``u / 2 - r exp(u / 2)``
``FlatScale()``                ``u / 2`` (flat on sigma; improper)
``Jeffreys()``                 ``0`` (``p(sigma) ~ 1 / sigma``; improper)
============================  ============================================
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import pyro.distributions as dist
import torch
from pyro.distributions.torch_distribution import TorchDistribution
from torch.distributions import constraints

from .._compat import Interval
from ._base import _positive, _Prior

__all__ = [
    "NOISE_PRIORS",
    "Exponential",
    "FlatScale",
    "HalfCauchy",
    "HalfNormal",
    "HalfStudentT",
    "InverseGamma",
    "Jeffreys",
    "NoisePrior",
    "resolve_noise_prior",
]

_LOG_2 = math.log(2.0)
_finite_positive = Interval(Real, 0, None, closed="neither")


def _namespace(u):
    """``torch`` for tensors, ``numpy`` for floats and arrays."""
    return torch if isinstance(u, torch.Tensor) else np


def _softplus(xp, x):
    """``log(1 + exp(x))``, stable for large ``x``, in either namespace."""
    return xp.logaddexp(xp.zeros_like(x), x) if xp is torch else np.logaddexp(0.0, x)


class NoisePrior(_Prior):
    """Base class of the priors on the noise variance ``sigma**2``.

    A subclass implements ``log_density`` (in ``u = log sigma**2``, Jacobian
    included) and, when it is proper, ``sample_scale`` (prior draws of
    ``sigma``). ``conjugate_form`` and ``proper`` are optional refinements.

    Examples
    --------
    >>> import torch
    >>> from skbayes.priors import HalfCauchy
    >>> prior = HalfCauchy(2.5)
    >>> u = torch.tensor([0.0, 2.0], dtype=torch.float64)
    >>> prior.log_density(u).shape
    torch.Size([2])
    >>> prior.conjugate_form
    (0.0, 0.0)
    """

    #: Whether the prior integrates to one; improper priors give a proper
    #: posterior only with enough data (see ``check_posterior``).
    proper: bool = True

    #: Whether the density of ``u = log sigma**2`` has finite mass as
    #: ``sigma -> 0``. Only ``Jeffreys`` does not: data the coefficients can
    #: fit exactly then leave the posterior improper there.
    proper_near_zero: bool = True

    #: ``(a, b)`` of the inverse-gamma factor ``(sigma**2)**(-a - 1)
    #: exp(-b / sigma**2)`` of the density in ``sigma**2`` that Gibbs
    #: kernels draw from conjugately; ``(0, 0)`` (no factor) by default.
    conjugate_form: tuple[float, float] = (0.0, 0.0)

    #: Whether the density is its inverse-gamma part alone, so that Gibbs
    #: kernels draw ``sigma**2 | coef`` exactly, with no correction.
    conjugate: bool = False

    def log_density(self, u):
        """``log p(u)`` at ``u = log sigma**2``, up to a constant.

        ``u`` may be a tensor (the result is one, differentiable) or a float
        or numpy array.
        """
        raise NotImplementedError

    def residual_log_density(self, u):
        """``log_density`` less the ``conjugate_form`` part, up to a constant."""
        a, b = self.conjugate_form
        xp = _namespace(u)
        return self.log_density(u) + a * u + b * xp.exp(-u)

    def sample_scale(self, shape: tuple, like: torch.Tensor) -> torch.Tensor:
        """Prior draws of ``sigma``, in ``like``'s dtype and device."""
        raise NotImplementedError(
            f"{type(self).__name__} is improper: it has no prior draws."
        )

    def site(self, like: torch.Tensor) -> dist.Distribution:
        """The distribution of ``sigma**2`` for a model's ``"noise_var"`` site."""
        return _NoiseVariance(self, like)

    def check_posterior(self, dof: int, exact_fit: bool = False) -> None:
        """Raise ``ValueError`` when the posterior of ``sigma`` would be improper.

        The likelihood contributes ``(sigma**2)**(-dof / 2)`` for large
        ``sigma``; combined with the inverse-gamma part of the prior, the
        tail is integrable only when ``a + dof / 2 > 0``. ``exact_fit`` says
        that the coefficients can fit the data exactly, so that the
        likelihood stays bounded as ``sigma -> 0``.
        """
        name = type(self).__name__
        shape = self.conjugate_form[0] + 0.5 * dof
        if not self.proper and shape <= 0:
            raise ValueError(
                f"The {name} noise prior is improper, and {dof} residual "
                "degrees of freedom are too few for a proper posterior; use "
                "a proper noise prior."
            )
        if exact_fit and not self.proper_near_zero:
            raise ValueError(
                f"The {name} noise prior is improper near sigma = 0, and with "
                "at least as many features as residual degrees of freedom "
                "the coefficients can fit the data exactly: the posterior is "
                "improper. Use a proper noise prior, or FlatScale()."
            )


class InverseGamma(NoisePrior):
    """``sigma**2 ~ InverseGamma(shape, rate)``: the conjugate noise prior.

    The tuple ``noise_prior=(shape, rate)`` is shorthand for it.

    Parameters
    ----------
    shape, rate : float, default=0.1
        Positive shape ``a`` and rate ``b``: the density in ``sigma**2`` is
        proportional to ``(sigma**2)**(-a - 1) exp(-b / sigma**2)``.

    Examples
    --------
    >>> from skbayes.priors import InverseGamma
    >>> InverseGamma(2.0, 1.0).conjugate_form
    (2.0, 1.0)
    """

    _parameter_constraints = {"shape": [_positive], "rate": [_positive]}
    conjugate = True

    def __init__(self, shape: float = 0.1, rate: float = 0.1):
        self.shape = shape
        self.rate = rate

    @property
    def conjugate_form(self) -> tuple[float, float]:
        return float(self.shape), float(self.rate)

    def log_density(self, u):
        a, b = self.conjugate_form
        constant = a * math.log(b) - math.lgamma(a)
        return constant - a * u - b * _namespace(u).exp(-u)

    def residual_log_density(self, u):
        return 0.0 * u

    def sample_scale(self, shape, like):
        gamma = dist.Gamma(like.new_tensor(float(self.shape)), like.new_tensor(1.0))
        return (float(self.rate) / gamma.sample(shape)).sqrt()

    def site(self, like):
        a, b = (like.new_tensor(v) for v in self.conjugate_form)
        return dist.InverseGamma(a, b)


class HalfNormal(NoisePrior):
    """``sigma ~ HalfNormal(scale)``: Stan's ``sigma ~ normal(0, scale)``.

    Parameters
    ----------
    scale : float, default=1.0
        Scale of the half-normal density of ``sigma``.

    Examples
    --------
    >>> from skbayes.priors import HalfNormal
    >>> HalfNormal(10.0)
    HalfNormal(scale=10.0)
    """

    _parameter_constraints = {"scale": [_finite_positive]}

    def __init__(self, scale: float = 1.0):
        self.scale = scale

    def log_density(self, u):
        s = float(self.scale)
        constant = 0.5 * math.log(2 / math.pi) - math.log(s) - _LOG_2
        return constant + 0.5 * u - 0.5 * _namespace(u).exp(u) / s**2

    def sample_scale(self, shape, like):
        return dist.HalfNormal(like.new_tensor(float(self.scale))).sample(shape)


class HalfCauchy(NoisePrior):
    """``sigma ~ HalfCauchy(scale)``: Gelman's (2006) weakly informative prior.

    Parameters
    ----------
    scale : float, default=1.0
        Scale of the half-Cauchy density of ``sigma``.

    Examples
    --------
    >>> from skbayes.priors import HalfCauchy
    >>> HalfCauchy(2.5).get_params()
    {'scale': 2.5}
    """

    _parameter_constraints = {"scale": [_finite_positive]}

    def __init__(self, scale: float = 1.0):
        self.scale = scale

    def log_density(self, u):
        log_s2 = 2 * math.log(float(self.scale))
        constant = math.log(2 / math.pi) - 0.5 * log_s2 - _LOG_2
        return constant + 0.5 * u - _softplus(_namespace(u), u - log_s2)

    def sample_scale(self, shape, like):
        return dist.HalfCauchy(like.new_tensor(float(self.scale))).sample(shape)


class HalfStudentT(NoisePrior):
    """``sigma ~ HalfStudentT(df, scale)``, between half-normal and half-Cauchy.

    Parameters
    ----------
    df : float, default=3.0
        Degrees of freedom; ``df=1`` is the half-Cauchy.
    scale : float, default=1.0
        Scale of the half-t density of ``sigma``.

    Examples
    --------
    >>> from skbayes.priors import HalfStudentT
    >>> HalfStudentT(df=3.0, scale=2.0)
    HalfStudentT(scale=2.0)
    """

    _parameter_constraints = {"df": [_finite_positive], "scale": [_finite_positive]}

    def __init__(self, df: float = 3.0, scale: float = 1.0):
        self.df = df
        self.scale = scale

    def log_density(self, u):
        nu, s = float(self.df), float(self.scale)
        log_nu_s2 = math.log(nu) + 2 * math.log(s)
        constant = (
            _LOG_2
            + math.lgamma(0.5 * (nu + 1))
            - math.lgamma(0.5 * nu)
            - 0.5 * math.log(nu * math.pi)
            - math.log(s)
            - _LOG_2
        )
        tail = 0.5 * (nu + 1) * _softplus(_namespace(u), u - log_nu_s2)
        return constant + 0.5 * u - tail

    def sample_scale(self, shape, like):
        t = dist.StudentT(like.new_tensor(float(self.df)), 0.0, float(self.scale))
        return t.sample(shape).abs()


class Exponential(NoisePrior):
    """``sigma ~ Exponential(rate)``: rstanarm's and brms' default noise prior.

    Parameters
    ----------
    rate : float, default=1.0
        Rate of the exponential density of ``sigma`` (mean ``1 / rate``).

    Examples
    --------
    >>> from skbayes.priors import Exponential
    >>> Exponential(0.5)
    Exponential(rate=0.5)
    """

    _parameter_constraints = {"rate": [_finite_positive]}

    def __init__(self, rate: float = 1.0):
        self.rate = rate

    def log_density(self, u):
        r = float(self.rate)
        return math.log(r) - _LOG_2 + 0.5 * u - r * _namespace(u).exp(0.5 * u)

    def sample_scale(self, shape, like):
        return dist.Exponential(like.new_tensor(float(self.rate))).sample(shape)


class FlatScale(NoisePrior):
    """A flat (improper) prior on ``sigma`` over ``(0, inf)``.

    Stan's default for a ``real<lower=0> sigma`` with no prior statement. It
    is ``InverseGamma(-1/2, 0)`` in ``sigma**2``, so Gibbs draws it
    conjugately; the posterior is proper with at least two residual degrees
    of freedom.

    Examples
    --------
    >>> from skbayes.priors import FlatScale
    >>> FlatScale().conjugate_form
    (-0.5, 0.0)
    """

    proper = False
    conjugate = True
    conjugate_form = (-0.5, 0.0)

    def log_density(self, u):
        return 0.5 * u

    def residual_log_density(self, u):
        return 0.0 * u


class Jeffreys(NoisePrior):
    """Jeffreys' prior on the noise scale: ``p(sigma)`` proportional to ``1 / sigma``.

    Flat on ``log sigma`` (improper), and ``InverseGamma(0, 0)`` in
    ``sigma**2``: the reference prior of the Gaussian scale.

    Examples
    --------
    >>> from skbayes.priors import Jeffreys
    >>> Jeffreys().log_density(3.0)
    0.0
    """

    proper = False
    proper_near_zero = False
    conjugate = True
    conjugate_form = (0.0, 0.0)

    def log_density(self, u):
        return 0.0 * u

    def residual_log_density(self, u):
        return 0.0 * u


class _NoiseVariance(TorchDistribution):
    """The density of ``sigma**2`` that a ``NoisePrior`` implies.

    ``log p(v) = log_density(log v) - log v``; draws are the prior's
    ``sample_scale`` squared (none for an improper prior).
    """

    arg_constraints: dict = {}
    support = constraints.positive
    has_rsample = False

    def __init__(self, prior: NoisePrior, like: torch.Tensor, validate_args=None):
        self.prior, self.like = prior, like
        super().__init__(torch.Size(), torch.Size(), validate_args=validate_args)

    def log_prob(self, value):
        u = value.log()
        return self.prior.log_density(u) - u

    def sample(self, sample_shape=()):
        shape = torch.Size(sample_shape) + self.batch_shape
        return self.prior.sample_scale(shape, self.like).square()

    def expand(self, batch_shape, _instance=None):
        return dist.ExpandedDistribution(self, batch_shape)


#: String aliases accepted by the regressors' ``noise_prior=``.
NOISE_PRIORS: dict[str, type[NoisePrior]] = {
    "inverse_gamma": InverseGamma,
    "half_normal": HalfNormal,
    "half_cauchy": HalfCauchy,
    "half_student_t": HalfStudentT,
    "exponential": Exponential,
    "flat": FlatScale,
    "jeffreys": Jeffreys,
}


def resolve_noise_prior(prior) -> NoisePrior:
    """A validated copy of a noise prior given as an object, alias or tuple.

    A ``(shape, rate)`` pair is ``InverseGamma(shape, rate)``.

    Examples
    --------
    >>> from skbayes.priors import HalfCauchy, resolve_noise_prior
    >>> resolve_noise_prior((0.1, 0.1))
    InverseGamma()
    >>> resolve_noise_prior("half_cauchy")
    HalfCauchy()
    >>> resolve_noise_prior((1.0, -2.0))
    Traceback (most recent call last):
    ...
    ValueError: Invalid InverseGamma prior: ...rate... must be ...
    """
    from sklearn.base import clone

    if isinstance(prior, str):
        if prior not in NOISE_PRIORS:
            raise ValueError(
                f"noise_prior must be one of {sorted(NOISE_PRIORS)}, a "
                f"(shape, rate) pair or a NoisePrior; got {prior!r}."
            )
        return NOISE_PRIORS[prior]().validate()
    if isinstance(prior, NoisePrior):
        return clone(prior).validate()
    if isinstance(prior, (tuple, list)) and len(prior) == 2:
        values = tuple(prior)
        if all(isinstance(v, Real) and np.isfinite(v) for v in values):
            return InverseGamma(*(float(v) for v in values)).validate()
    raise ValueError(
        "noise_prior must be a NoisePrior, one of "
        f"{sorted(NOISE_PRIORS)} or a pair (shape, rate) of positive numbers; "
        f"got {prior!r}."
    )
