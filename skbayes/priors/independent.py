"""Independent coefficient priors: Normal (ridge), Flat, Laplace (lasso), Student-t."""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import pyro.distributions as dist
import torch
from numpy.typing import ArrayLike
from torch.distributions import constraints

from ._base import _HALF_LOG_2PI, CoefPrior, GaussianForm, _const, _positive


class Normal(CoefPrior):
    """Independent ``Normal(loc, scale**2)`` coefficients: ridge regression's prior.

    Parameters
    ----------
    scale : float or array-like of shape (n_features,), default=10.0
        Prior standard deviation of each coefficient, in the units of y per
        unit of x; one per coefficient, or one for all. ``np.inf`` (for every
        coefficient) is the flat prior, ``Flat()``.
    loc : float or array-like of shape (n_features,), default=0.0
        Prior mean of each coefficient.

    Examples
    --------
    >>> import numpy as np
    >>> from skbayes.priors import Normal
    >>> Normal(scale=2.0)
    Normal(scale=2.0)
    >>> Normal(scale=[1.0, 5.0], loc=[0.0, 1.0]).gaussian_form(2)
    GaussianForm(loc=array([0., 1.]), column_scale=array([1., 5.]), scale=1.0)
    """

    _parameter_constraints = {
        "scale": [_positive, "array-like"],
        "loc": [Real, "array-like"],
    }
    gibbs_kernel = "normal"

    def __init__(self, scale: float | ArrayLike = 10.0, loc: float | ArrayLike = 0.0):
        self.scale = scale
        self.loc = loc

    def validate(self) -> Normal:
        super().validate()
        scale, loc = np.asarray(self.scale, dtype=float), np.asarray(self.loc, float)
        for name, value in (("scale", scale), ("loc", loc)):
            if value.ndim > 1:
                raise ValueError(
                    f"Invalid Normal prior: {name} must be a number or a 1-D "
                    f"array, got shape {value.shape}."
                )
        if not np.all(scale > 0) or np.isnan(scale).any():
            raise ValueError(
                f"Invalid Normal prior: scale must be positive; got {scale}."
            )
        if np.isinf(scale).any() and not np.isinf(scale).all():
            raise ValueError(
                "Invalid Normal prior: scale is infinite for some coefficients "
                "and finite for others; a flat prior (np.inf) applies to all "
                "of them."
            )
        if not np.all(np.isfinite(loc)):
            raise ValueError(f"Invalid Normal prior: loc must be finite; got {loc}.")
        return self

    @property
    def fixed_gaussian_scale(self) -> float | None:
        # The proper isotropic zero-mean case only: the closed forms that read
        # it take one finite scale (``gaussian_form`` covers the rest).
        if np.ndim(self.scale) or np.ndim(self.loc) or float(self.loc) != 0.0:
            return None
        scale = float(self.scale)
        return scale if math.isfinite(scale) else None

    def gaussian_form(self, n_features: int) -> GaussianForm:
        """``coef = loc + column_scale * w`` with ``w ~ Normal(0, scale**2 I)``."""
        scale = np.asarray(self.scale, dtype=float)
        loc = np.asarray(self.loc, dtype=float)
        for name, value in (("scale", scale), ("loc", loc)):
            if value.ndim == 1 and len(value) != n_features:
                raise ValueError(
                    f"The Normal prior's {name} has {len(value)} entries; X has "
                    f"{n_features} features."
                )
        if np.isinf(scale).all():
            return GaussianForm(None, None, math.inf)
        shift = None if not loc.any() else np.broadcast_to(loc, (n_features,)).copy()
        if scale.ndim == 0:
            return GaussianForm(shift, None, float(scale))
        return GaussianForm(shift, scale.copy(), 1.0)

    def _tensors(self, n_features, like):
        loc = torch.as_tensor(np.asarray(self.loc, dtype=float), dtype=like.dtype)
        scale = torch.as_tensor(np.asarray(self.scale, dtype=float), dtype=like.dtype)
        shape = (n_features,)
        return loc.to(like.device).expand(shape), scale.to(like.device).expand(shape)

    def latent_sites(self, n_features, *, like, **context):
        if self.gaussian_form(n_features).flat:
            return Flat().latent_sites(n_features, like=like)
        loc, scale = self._tensors(n_features, like)
        return {"coef": dist.Normal(loc, scale).to_event(1)}

    def log_density(self, unconstrained, *, n_features, like, **context):
        coef = unconstrained["coef"]
        form = self.gaussian_form(n_features)
        if form.flat:
            return coef.new_zeros(coef.shape[:-1]), coef
        if form.loc is None and form.column_scale is None:
            scale = form.scale
            log_p = -0.5 * torch.linalg.vecdot(coef, coef) / scale**2
            return log_p - n_features * (math.log(scale) + _HALF_LOG_2PI), coef
        loc, scale = self._tensors(n_features, coef)
        z = (coef - loc) / scale
        log_p = -0.5 * torch.linalg.vecdot(z, z) - scale.log().sum()
        return log_p - n_features * _HALF_LOG_2PI, coef


class Flat(Normal):
    """A flat (improper) prior on every coefficient: ``Normal(scale=np.inf)``.

    The posterior is the classical one: centred on least squares, with the
    coefficients' covariance ``sigma**2 (X'X)^-1``. It is proper only when X
    has full column rank (and, with an improper noise prior, enough rows);
    ``fit`` raises ``ValueError`` otherwise.

    Examples
    --------
    >>> from skbayes.priors import Flat
    >>> Flat().gaussian_form(3).flat
    True
    """

    _parameter_constraints: dict = {}

    def __init__(self):
        pass

    # Read by Normal's methods; not parameters (get_params lists none).
    scale = math.inf
    loc = 0.0

    def latent_sites(self, n_features, *, like, **context):
        return {
            "coef": dist.ImproperUniform(
                constraints.real, torch.Size(), torch.Size([n_features])
            )
        }

    def init_values(self, coef, noise_scale, n_samples):
        return {"coef": coef}


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
