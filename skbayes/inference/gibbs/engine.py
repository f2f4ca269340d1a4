"""The Gibbs engine: the driver ``run_gibbs`` with the kernel the model names."""

from __future__ import annotations

import torch

from ...models import Start
from ..base import InferenceEngine, InferenceResult, RunSettings, register_engine
from ._driver import check_gibbs_prior, run_gibbs


@register_engine
class GibbsEngine(InferenceEngine):
    """Exact conditional draws for models that name a Gibbs kernel.

    A linear model names one through its prior (``CoefPrior.gibbs_kernel``).
    With a point-estimated noise scale the kernel finds the estimate itself
    (empirical Bayes) and the draws belong to the model with it fixed.
    """

    name, display_name, kind = "gibbs", "Gibbs", "mcmc"

    @classmethod
    def supports(cls, model_class: type) -> bool:
        # Models that can name a kernel override BayesianModule's None.
        return getattr(model_class, "gibbs_kernel", None) is not None

    def check(self, model, data, settings: RunSettings) -> None:
        super().check(model, data, settings)
        check_gibbs_prior(model.prior)

    def run(self, model, data, settings: RunSettings) -> InferenceResult:
        configured = model.configured(centered=self.centered, start=Start())
        _, noise_scale = data.ridge_start()
        # float32 data keep their own X'X, which is too coarse for the
        # horseshoe's scales: the kernels then form it in float64.
        exact_stats = data.gram.dtype == torch.float64
        result = run_gibbs(
            *data.arguments(),
            prior=configured.prior,
            noise=model.noise,
            noise_prior=model.noise_prior,
            fit_intercept=model.fit_intercept,
            num_samples=settings.num_samples,
            num_warmup=settings.num_warmup,
            num_chains=settings.num_chains,
            seed=settings.seed,
            init={"noise_var": noise_scale**2},
            stats=(data.gram, data.xty) if exact_stats else None,
        )
        if model.has_point_parameters:
            model = model.with_fixed_parameters({"noise_scale": result.noise_scale})
            configured = model.configured(centered=self.centered, start=Start())
        sites = configured.prior_sites()
        return InferenceResult(
            kind=self.kind,
            model=configured,
            samples={k: v for k, v in result.samples.items() if k in sites},
            engine=self.display_name,
        )
