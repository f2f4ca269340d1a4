"""Independent coefficient priors: Normal (ridge), Laplace (lasso), Student-t."""

from __future__ import annotations

import math

import pyro.distributions as dist
import torch

from ._base import _HALF_LOG_2PI, CoefPrior, _const, _positive


class Normal(CoefPrior):
    """Independent ``Normal(0, scale**2)`` coefficients: ridge regression's prior.

    Parameters
    ----------
    scale : float, default=10.0
        Prior standard deviation of each coefficient, in the units of y per
        unit of x.

    Examples
    --------
    >>> from skbayes.priors import Normal
    >>> Normal(scale=2.0)
    Normal(scale=2.0)
    """

    _parameter_constraints = {"scale": [_positive]}
    gibbs_kernel = "normal"

    def __init__(self, scale: float = 10.0):
        self.scale = scale

    @property
    def fixed_gaussian_scale(self) -> float:
        return float(self.scale)

    def latent_sites(self, n_features, *, like, **context):
        zero = torch.zeros(n_features, dtype=like.dtype, device=like.device)
        return {"coef": dist.Normal(zero, _const(self.scale, like)).to_event(1)}

    def log_density(self, unconstrained, *, n_features, like, **context):
        coef, scale = unconstrained["coef"], float(self.scale)
        log_p = -0.5 * torch.linalg.vecdot(coef, coef) / scale**2
        return log_p - n_features * (math.log(scale) + _HALF_LOG_2PI), coef


class Laplace(CoefPrior):
    """Independent ``Laplace(0, scale)`` coefficients: the Bayesian lasso's prior.

    Parameters
    ----------
    scale : float, default=1.0
        Scale ``b`` of the Laplace density ``exp(-|x| / b) / (2 b)``.

    Examples
    --------
    >>> from skbayes.priors import Laplace
    >>> Laplace(scale=0.5).get_params()
    {'scale': 0.5}
    """

    _parameter_constraints = {"scale": [_positive]}
    gibbs_kernel = "laplace"

    def __init__(self, scale: float = 1.0):
        self.scale = scale

    def latent_sites(self, n_features, *, like, **context):
        zero = torch.zeros(n_features, dtype=like.dtype, device=like.device)
        return {"coef": dist.Laplace(zero, _const(self.scale, like)).to_event(1)}

    def log_density(self, unconstrained, *, n_features, like, **context):
        coef, scale = unconstrained["coef"], float(self.scale)
        log_p = -coef.abs().sum(-1) / scale - n_features * math.log(2 * scale)
        return log_p, coef


class StudentT(CoefPrior):
    """Independent Student-t coefficients, heavier-tailed than the Normal.

    Parameters
    ----------
    df : float, default=3.0
        Degrees of freedom.
    scale : float, default=1.0
        Scale of each coefficient.

    Examples
    --------
    >>> from skbayes.priors import StudentT
    >>> StudentT(df=1.0).df
    1.0
    """

    _parameter_constraints = {"df": [_positive], "scale": [_positive]}
    gibbs_kernel = "student_t"

    def __init__(self, df: float = 3.0, scale: float = 1.0):
        self.df = df
        self.scale = scale

    def latent_sites(self, n_features, *, like, **context):
        zero = torch.zeros(n_features, dtype=like.dtype, device=like.device)
        return {
            "coef": dist.StudentT(
                _const(self.df, like), zero, _const(self.scale, like)
            ).to_event(1)
        }
