"""The Gibbs engine: the driver ``run_gibbs`` with the kernel the model names."""

from __future__ import annotations

from ..base import InferenceEngine, InferenceResult, RunSettings, register_engine
from ._driver import GIBBS_KERNELS, check_gibbs_prior


@register_engine
class GibbsEngine(InferenceEngine):
    """Exact conditional draws for models that name a Gibbs kernel.

    A model names its kernel (``BayesianModule.gibbs_kernel``, a key of
    ``GIBBS_KERNELS``), and the kernel's ``sample_model`` runs it: the linear
    model names its prior's kernel, the logistic model the Polya-Gamma one.
    With a point-estimated noise scale the kernel finds the estimate itself
    (empirical Bayes) and the draws belong to the model with it fixed.
    """

    name, display_name, kind = "gibbs", "Gibbs", "mcmc"
    #: Chains run as one batch, so the second costs a fraction of the first,
    #: and two are what split R-hat needs to compare chains at all.
    default_chains = 2
    #: The horseshoe kernel's approximate algorithm (Johndrow et al. 2020).
    supports_approximation = True

    @classmethod
    def supports(cls, model_class: type) -> bool:
        # Models that can name a kernel override BayesianModule's None.
        return getattr(model_class, "gibbs_kernel", None) is not None

    def check(self, model, data, settings: RunSettings) -> None:
        super().check(model, data, settings)
        if model.gibbs_kernel not in GIBBS_KERNELS:
            # Names the prior when that is what has no kernel.
            check_gibbs_prior(model.prior)
            raise ValueError(
                f"inference='gibbs' has no kernel for {type(model).__name__} "
                f"with the {type(model.prior).__name__} prior."
            )
        GIBBS_KERNELS[model.gibbs_kernel].check_data(data)

    def affordable(self, model, data) -> bool:
        return GIBBS_KERNELS[model.gibbs_kernel].affordable(data)

    def run(self, model, data, settings: RunSettings) -> InferenceResult:
        kernel = GIBBS_KERNELS[model.gibbs_kernel]
        model, samples = kernel.sample_model(model, data, settings)
        return InferenceResult(
            kind=self.kind, model=model, samples=samples, engine=self.display_name
        )
