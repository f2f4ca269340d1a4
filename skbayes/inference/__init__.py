"""Inference engines, registered by name in ``ENGINES``.

Each engine takes a model, its data and the run settings, and returns an
``InferenceResult`` (see ``skbayes.inference.base``). Importing this package
registers the built-in ones: ``svi``, ``nuts``, ``gibbs`` and ``exact``.
"""

from .base import (
    ENGINES,
    InferenceEngine,
    InferenceResult,
    RunSettings,
    engine_names,
    register_engine,
)
from .exact import ExactEngine
from .gibbs.engine import GibbsEngine
from .guides import GUIDES, BetaGuide, build_guide
from .nuts import MCMCResult, NUTSEngine, run_nuts
from .svi import DivergenceError, SVIEngine, SVIResult, run_svi

__all__ = [
    "ENGINES",
    "GUIDES",
    "BetaGuide",
    "DivergenceError",
    "ExactEngine",
    "GibbsEngine",
    "InferenceEngine",
    "InferenceResult",
    "MCMCResult",
    "NUTSEngine",
    "RunSettings",
    "SVIEngine",
    "SVIResult",
    "build_guide",
    "engine_names",
    "register_engine",
    "run_nuts",
    "run_svi",
]
