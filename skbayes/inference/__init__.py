"""Inference engines. Each takes a model and data and returns a result object."""

from .guides import GUIDES, BetaGuide, build_guide
from .nuts import MCMCResult, run_nuts
from .svi import DivergenceError, SVIResult, run_svi

__all__ = [
    "GUIDES",
    "BetaGuide",
    "DivergenceError",
    "MCMCResult",
    "SVIResult",
    "build_guide",
    "run_nuts",
    "run_svi",
]
