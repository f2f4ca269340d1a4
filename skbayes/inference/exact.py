"""The exact engine: draws from a posterior the model knows in closed form."""

from __future__ import annotations

import numpy as np
import torch

from ..models import BayesianModule
from .base import InferenceEngine, InferenceResult, RunSettings, register_engine


@register_engine
class ExactEngine(InferenceEngine):
    """Independent draws from the model's ``exact_posterior``.

    Offered for models that override ``BayesianModule.exact_posterior``
    (conjugate models such as ``BetaBernoulliModel``). The draws come from a
    numpy generator seeded by the fit, and ``sample_posterior`` draws afresh
    from the same closed form.
    """

    name, display_name, kind = "exact", "exact", "exact"

    @classmethod
    def supports(cls, model_class: type) -> bool:
        return model_class.exact_posterior is not BayesianModule.exact_posterior

    def run(self, model, data, settings: RunSettings) -> InferenceResult:
        posterior = model.exact_posterior(data)
        draws = posterior.sample(
            settings.num_samples, np.random.default_rng(settings.seed)
        )
        return InferenceResult(
            kind=self.kind,
            model=model,
            samples={
                name: torch.as_tensor(value)[None] for name, value in draws.items()
            },
            engine=self.display_name,
            posterior=posterior,
        )
