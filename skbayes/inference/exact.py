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
    (conjugate models such as ``BetaBernoulliModel``, and the linear model
    under a Normal prior) and run for those whose ``has_exact_posterior``
    holds. The draws come from a numpy generator seeded by the fit, and
    ``sample_posterior`` draws afresh from the same closed form. A posterior
    conditional on point estimates (an empirical-Bayes noise) comes with the
    model those estimates fix.
    """

    name, display_name, kind = "exact", "exact", "exact"

    @classmethod
    def supports(cls, model_class: type) -> bool:
        return model_class.exact_posterior is not BayesianModule.exact_posterior

    def check(self, model, data, settings: RunSettings) -> None:
        super().check(model, data, settings)
        if not model.has_exact_posterior:
            prior = getattr(model, "prior", None)
            what = "" if prior is None else f" with the {type(prior).__name__} prior"
            raise ValueError(
                f"inference='exact' needs a posterior in closed form, which "
                f"{type(model).__name__}{what} does not have; use 'auto', "
                "'gibbs', 'nuts' or 'svi'."
            )

    def run(self, model, data, settings: RunSettings) -> InferenceResult:
        posterior = model.exact_posterior(data)
        if model.has_point_parameters:
            model = model.with_fixed_parameters(posterior.point_estimates)
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
