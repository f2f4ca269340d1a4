"""Every use of another library's private API, in one place, with its reason.

An upgrade of scikit-learn, torch or Pyro that changes one of these should
break this file and nothing else. ``pyproject.toml`` pins the ranges they
were checked on (scikit-learn 1.6-1.9, torch 2.x, pyro-ppl 1.9).
"""

from __future__ import annotations

import torch
from pyro.poutine.runtime import _PYRO_STACK as pyro_handler_stack

# -- scikit-learn ---------------------------------------------------------------
# `_fit_context` runs `_parameter_constraints` validation once per fit and skips
# it for nested estimators, as sklearn's own estimators do; `Interval` and
# `StrOptions` are the constraint types it reads, and
# `validate_parameter_constraints` the check itself (the estimators rebuild
# the `inference` options from the engine registry at fit time). All have
# been stable since 1.3, but live in private modules.
from sklearn.base import _fit_context as fit_context
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)

__all__ = [
    "Interval",
    "StrOptions",
    "attach_model",
    "autonormal_loc_scale",
    "check_support",
    "detached_guide_state",
    "fit_context",
    "foreach",
    "guide_model",
    "guide_param_constraints",
    "param_names",
    "pyro_handler_stack",
    "standard_gamma",
    "unconstrained_shapes",
    "unpack_latent",
    "validate_parameter_constraints",
    "validate_params",
]


def param_names(estimator_class) -> list[str]:
    """The ``__init__`` parameter names sklearn's ``get_params`` reports."""
    return estimator_class._get_param_names()


def validate_params(estimator) -> None:
    """Check ``estimator``'s ``_parameter_constraints`` outside a fit.

    Priors are plain parameter containers validated when an estimator is
    fitted; ``BaseEstimator._validate_params`` is the check ``fit_context``
    itself runs.
    """
    estimator._validate_params()


# Estimators also override `BaseEstimator._validate_params`, the hook
# `_fit_context` calls, to rebuild the `inference` options from the engine
# registry at fit time (``skbayes.estimators._base``).

# -- torch ----------------------------------------------------------------------
# `torch.distributions.Gamma` cannot take a generator, and the Gibbs sampler
# draws every random number from its own `torch.Generator` so that it never
# reads the global RNG. The op underneath it can.
standard_gamma = torch._standard_gamma


def check_support(distribution, value) -> None:
    """A torch distribution's own argument check of ``value``, when enabled.

    For subclasses that override ``log_prob`` and keep the parent's checks.
    """
    if distribution._validate_args:
        distribution._validate_sample(value)


class foreach:
    """torch's multi-tensor ops, which fuse one update over many tensors.

    ``skbayes.inference.svi.Adam`` is a few of these calls; ``torch.optim.Adam``
    uses the same ops behind per-call machinery that costs more than the
    update on small problems.
    """

    lerp_ = staticmethod(torch._foreach_lerp_)
    mul_ = staticmethod(torch._foreach_mul_)
    addcmul_ = staticmethod(torch._foreach_addcmul_)
    sqrt = staticmethod(torch._foreach_sqrt)
    div_ = staticmethod(torch._foreach_div_)
    add_ = staticmethod(torch._foreach_add_)
    addcdiv_ = staticmethod(torch._foreach_addcdiv_)


# -- Pyro -----------------------------------------------------------------------
# Pyro's effect handlers live on one process-wide list (`pyro_handler_stack`,
# imported above); `skbayes._runtime.isolated_run` trims what an interrupted run
# left on it.


# Autoguides pack all latent sites into one vector; reading draws and
# optimised leaves off it directly (without `get_posterior` and a trace per
# step) is what makes skbayes' SVI step cheap.
def unpack_latent(guide, latent: torch.Tensor):
    """``(site, value)`` pairs of an ``AutoContinuous`` guide's packed vector."""
    return guide._unpack_latent(latent)


def unconstrained_shapes(guide) -> dict:
    """Each latent site's shape in an ``AutoContinuous`` guide's packed vector."""
    return guide._unconstrained_shapes


def autonormal_loc_scale(guide, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """An ``AutoNormal`` guide's unconstrained mean and sd of one site.

    Drawing all of a fitted guide's draws at once from these, instead of
    tracing the guide once per draw, makes the SVI reliability diagnostic
    a thousand times cheaper for this guide.
    """
    return guide._get_loc_and_scale(name)


def guide_param_constraints(guide) -> dict:
    """``PyroModule`` parameter name -> ``(constraint, ...)`` of a guide."""
    return getattr(guide, "_pyro_params", {})


# An AutoGuide refers to its model through `_model` (a 1-tuple) and to the
# guide that owns it through `master`; its own `__getstate__` clears the
# model reference *on the live object*, which would break a guide the
# estimator still holds. skbayes pickles a detached copy of its state instead.
def detached_guide_state(guide) -> dict:
    """A copy of an autoguide's ``__dict__`` without its model or owner."""
    state = dict(guide.__dict__)
    state["_model"] = None
    state["master"] = None
    return state


def attach_model(guide, model) -> None:
    """Point an autoguide (restored from ``detached_guide_state``) at ``model``."""
    guide._model = (model,)


def guide_model(guide):
    """The model an autoguide refers to, or None once detached."""
    return guide._model
