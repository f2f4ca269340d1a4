"""Latent values of autoguides, by site."""

from __future__ import annotations

import torch

from .._compat import unpack_latent
from ..models._transforms import constrain, unconstrain

__all__ = ["constrain", "split_latent", "unconstrain"]


def split_latent(guide, latent: torch.Tensor) -> dict[str, torch.Tensor]:
    """Split an ``AutoContinuous`` guide's packed latent vector by site."""
    return {site["name"]: u for site, u in unpack_latent(guide, latent)}
