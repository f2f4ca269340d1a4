"""What every skbayes estimator shares: parameters, device, isolation, engines."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import torch
from pyro.infer.autoguide import AutoContinuous, AutoGuide
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._runtime import cpu_copy, isolated_run, resolve_device
from ..inference import DivergenceError, build_guide, run_nuts, run_svi
from ..inference._latent import constrain, split_latent
from ..inference.guides import check_guide_spec, start_gaussian_guide
from ..posterior import PosteriorSummary, mcmc_diagnostics, summarize

R_HAT_LIMIT = 1.01
#: How the MCMC engines are named in warnings.
SAMPLER_NAMES = {"nuts": "NUTS", "gibbs": "Gibbs"}


class BayesianEstimator(BaseEstimator):
    """Base class of skbayes estimators.

    Subclasses extend ``_parameter_constraints`` and implement ``fit``.
    This class provides device resolution, seeding, the isolated run of an
    inference engine, NUTS diagnostics and pickling. Fitted torch state is
    kept on the CPU, so predictions and pickles never need the fit's device.
    """

    _parameter_constraints: dict = {
        "inference": [StrOptions({"svi", "nuts"})],
        "guide": [str, callable, None],
        "num_steps": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "num_particles": [Interval(Integral, 1, None, closed="left")],
        "num_samples": [Interval(Integral, 1, None, closed="left")],
        "num_warmup": [Interval(Integral, 0, None, closed="left")],
        "num_chains": [Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # -- set-up -------------------------------------------------------------
    def _prepare_run(self) -> torch.device:
        """Checks that need more than the constraints; returns the device."""
        if self.guide is not None and getattr(self, "inference", "svi") == "svi":
            check_guide_spec(self.guide)
        device = resolve_device(self.device)
        self.device_ = device
        return device

    @staticmethod
    def _torch_dtype(array: np.ndarray) -> torch.dtype:
        return torch.float32 if array.dtype == np.float32 else torch.float64

    def _isolated(self, seed, problem_size=0, param_state=None, device=None):
        return isolated_run(
            seed=seed,
            device=device if device is not None else torch.device("cpu"),
            param_state=param_state,
            problem_size=problem_size,
        )

    # -- engines ----------------------------------------------------------
    def _run_svi(
        self,
        model,
        data,
        *,
        init_values=None,
        start_covariance=None,
        default_guide=None,
        batch_sampler=None,
    ):
        """Build a guide, fit it, and store ``guide_`` and the loss curve.

        ``start_covariance`` (site -> covariance block in the unconstrained
        space) starts a full-rank or diagonal Gaussian guide there.
        """
        guide = build_guide(
            self.guide, model, init_values=init_values, default=default_guide
        )
        if start_covariance:
            start_gaussian_guide(guide, data, start_covariance)
        result = run_svi(
            model,
            guide,
            data,
            learning_rate=self.learning_rate,
            max_steps=self.num_steps,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            num_particles=self.num_particles,
            batch_sampler=batch_sampler,
            verbose=bool(self.verbose),
        )
        if hasattr(guide, "laplace_approximation"):
            guide = guide.laplace_approximation(*data)
        if not result.converged and self.tol > 0:
            warnings.warn(
                f"{type(self).__name__}: SVI stopped at num_steps={self.num_steps} "
                "before the loss converged. Increase num_steps or learning_rate.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self.guide_ = guide
        self.loss_curve_ = result.loss_curve
        self.n_iter_ = result.n_iter
        return result

    def _draw_from_guide(self, sites: dict, num_samples: int, data: tuple) -> dict:
        """Draw latent sites from the fitted guide; runs in the fit's scope."""
        guide = self.guide_
        with torch.no_grad():
            if isinstance(guide, AutoContinuous):
                posterior = guide.get_posterior()
                latent = posterior.sample((num_samples,))
                values, _ = constrain(split_latent(guide, latent), sites)
                return values
            from pyro import poutine

            draws = {name: [] for name in sites}
            for _ in range(num_samples):
                trace = poutine.trace(guide).get_trace(*data)
                for name in sites:
                    draws[name].append(trace.nodes[name]["value"])
            return {name: torch.stack(values) for name, values in draws.items()}

    def _run_nuts(self, model, data, init_values, reparam=None):
        result = run_nuts(
            model,
            data,
            init_values=init_values,
            reparam=reparam,
            num_samples=self.num_samples,
            num_warmup=self.num_warmup,
            num_chains=self.num_chains,
            verbose=bool(self.verbose),
        )
        return result

    def _keep_fitted_state(self, module, param_state: dict) -> None:
        """Store the model, the guide and its parameters on the CPU, data-free.

        Predictions and pickles then never need the device of the fit.
        """
        self.module_ = module.cpu()
        if hasattr(self, "guide_"):
            self.guide_ = stored_guide(self.guide_, self.module_)
            self._param_state = cpu_copy(param_state)

    def _record_mcmc_diagnostics(self, draws_by_chain: dict, divergences=None) -> None:
        """Store n_eff, r_hat (and NUTS divergences); warn when they look bad.

        ``divergences`` is None for samplers that have no such notion (Gibbs).
        """
        n_eff, r_hat = mcmc_diagnostics(draws_by_chain)
        self.diagnostics_ = {
            "n_eff": n_eff,
            "r_hat": r_hat,
            "divergences": None if divergences is None else int(np.sum(divergences)),
        }
        worst = max(
            (float(np.nanmax(v)) for v in r_hat.values() if np.isfinite(v).any()),
            default=float("nan"),
        )
        problems = []
        if worst > R_HAT_LIMIT:
            problems.append(f"max r_hat = {worst:.3f} > {R_HAT_LIMIT}")
        if self.diagnostics_["divergences"]:
            problems.append(f"{self.diagnostics_['divergences']} divergent transitions")
        if problems:
            warnings.warn(
                f"{type(self).__name__}: {SAMPLER_NAMES[self.inference]} may not "
                "have converged: "
                + "; ".join(problems)
                + ". Increase num_warmup/num_samples, or use more chains.",
                ConvergenceWarning,
                stacklevel=3,
            )

    @staticmethod
    def _check_finite_draws(draws: dict, what: str) -> None:
        for name, value in draws.items():
            if not np.all(np.isfinite(value)):
                raise DivergenceError(
                    f"{what} produced non-finite posterior draws of {name!r}; the "
                    "fit diverged. Lower learning_rate, or rescale X and y."
                )

    # -- summaries ----------------------------------------------------------
    def summary(self) -> PosteriorSummary:
        """Posterior mean, sd and 2.5/50/97.5% quantiles of every site.

        For MCMC fits (NUTS, Gibbs) the table also has ``n_eff`` and ``r_hat``
        columns, and for NUTS the number of divergent transitions.

        Returns
        -------
        PosteriorSummary
            Printable table; ``to_dict()`` and ``to_pandas()`` convert it.
        """
        check_is_fitted(self)
        samples = self._summary_samples()
        diagnostics = getattr(self, "diagnostics_", None)
        if diagnostics is None:
            return summarize(samples)
        return summarize(
            samples,
            n_eff=diagnostics["n_eff"],
            r_hat=diagnostics["r_hat"],
            divergences=diagnostics["divergences"],
        )

    def _summary_samples(self) -> dict:
        return self.posterior_samples_

    # -- pickling -------------------------------------------------------------
    def __getstate__(self):
        state = dict(super().__getstate__())
        guide = state.get("guide_")
        if isinstance(guide, AutoGuide):
            # AutoGuide.__getstate__ would drop the *original* guide's model
            # reference; pickle a detached copy of its state instead.
            state["guide_"] = _GuideState(guide)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        guide = self.__dict__.get("guide_")
        if isinstance(guide, AutoGuide) and guide._model is None:
            guide._model = (self.module_,)
        device = self.__dict__.get("device_")
        if (
            device is not None
            and device.type == "cuda"
            and not torch.cuda.is_available()
        ):
            warnings.warn(
                f"This {type(self).__name__} was fitted on {device}, and CUDA is not "
                "available here; its fitted state is on the CPU and it predicts on "
                "the CPU.",
                UserWarning,
                stacklevel=2,
            )


class _GuideState:
    """Pickles an AutoGuide without touching the live object."""

    def __init__(self, guide: AutoGuide):
        self.guide = guide

    def __reduce__(self):
        state = dict(self.guide.__dict__)
        state["_model"] = None  # restored by BayesianEstimator.__setstate__
        state["master"] = None
        return (_rebuild_guide, (type(self.guide), state))


def _rebuild_guide(cls, state):
    guide = cls.__new__(cls)
    guide.__setstate__(state)
    return guide


def strip_data(guide) -> None:
    """Remove training data from a guide's prototype trace before storing it.

    Autoguides keep the trace of one model run, which holds the observed
    values and the model's arguments; only latent sites are needed later.
    """
    trace = getattr(guide, "prototype_trace", None)
    if trace is None:
        return
    for name in list(trace.nodes):
        node = trace.nodes[name]
        if node["type"] in ("args", "return") or node.get("is_observed", False):
            trace.remove_node(name)


def stored_guide(guide, module):
    """The fitted guide as an estimator keeps it: no data, every tensor on the CPU.

    ``module`` is the model, already on the CPU, that an autoguide refers to.
    """
    strip_data(guide)
    if isinstance(guide, AutoGuide):
        # The same detached state a pickle holds, with its tensors moved.
        guide = cpu_copy(_GuideState(guide))
        guide._model = (module,)
        return guide
    if isinstance(guide, torch.nn.Module):
        return guide.cpu()
    return guide
