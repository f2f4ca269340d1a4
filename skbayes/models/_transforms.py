"""Moving latent values between the constrained and the unconstrained space."""

from __future__ import annotations

import torch
from pyro.distributions.util import sum_rightmost
from torch.distributions import biject_to


def constrain(
    unconstrained: dict[str, torch.Tensor], sites: dict
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Map unconstrained values to each site's support.

    Returns the constrained values and ``log |d value / d unconstrained|``
    summed over each site's event dimensions, so that
    ``log_joint(values) + log_det`` is the log density in the unconstrained
    space.
    """
    values, log_det = {}, 0.0
    for name, u in unconstrained.items():
        fn = sites[name]
        transform = biject_to(fn.support)
        value = transform(u)
        ladj = transform.log_abs_det_jacobian(u, value)
        log_det = log_det + sum_rightmost(ladj, ladj.dim() - value.dim() + fn.event_dim)
        values[name] = value
    return values, log_det


def unconstrain(values: dict[str, torch.Tensor], sites: dict) -> dict:
    """Inverse of ``constrain`` (without the Jacobian)."""
    return {name: biject_to(sites[name].support).inv(v) for name, v in values.items()}
