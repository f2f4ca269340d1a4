"""What every skbayes estimator shares: parameters, engines, storage, pickling."""

from __future__ import annotations

import functools
import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
import torch
from pyro.infer.autoguide import AutoGuide
from sklearn.base import BaseEstimator
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from .._compat import (
    Interval,
    StrOptions,
    attach_model,
    fit_context,
    guide_model,
    param_names,
    validate_parameter_constraints,
)
from .._inference_data import inference_data
from .._runtime import cpu_copy, isolated_run, make_seed, resolve_device
from .._serialization import portable_state, restore_state
from ..inference import ENGINES, DivergenceError, RunSettings, engine_names
from ..inference.auto import AUTO, choose_engine
from ..inference.base import warn_convergence
from ..inference.guides import check_guide_spec, stored_guide
from ..inference.svi import draw_from_guide
from ..posterior import (
    R_HAT_LIMIT,
    FittedPosterior,
    PosteriorSummary,
    mcmc_diagnostics,
    summarize,
)


def check_count(value, name: str) -> int:
    """``value`` as a number of draws, or a ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}.")
    return int(value)


#: scipy.sparse formats the estimators accept for X (see ``validate_design``).
SPARSE_FORMATS = ("csr", "csc", "coo")


def validate_design(estimator, X, y="no_validation", **kwargs):
    """sklearn's ``validate_data`` for a float design matrix, sparse or dense.

    Every engine holds X dense (the centred X of a fit with an intercept is
    dense anyway), so a ``scipy.sparse`` X, such as ``OneHotEncoder``'s
    output, is converted once: it gives the posterior the same dense X
    gives, at the memory of a dense X. Returns X, or ``(X, y)`` with ``y``.
    """
    out = validate_data(
        estimator,
        X,
        y,
        dtype=[np.float64, np.float32],
        accept_sparse=SPARSE_FORMATS,
        **kwargs,
    )
    X, y = out if isinstance(out, tuple) else (out, None)
    X = X.toarray() if sp.issparse(X) else X
    return X if y is None else (X, y)


def check_sample_weight(sample_weight, X) -> np.ndarray:
    """Validated likelihood weights for the rows of ``X``, as float64.

    sklearn's checks: one finite, non-negative number per row, not all 0.
    """
    return _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )


def fit_method(fit):
    """Decorate an estimator's ``fit``: no estimator is left half-fitted.

    The previous fit's attributes are dropped first, and the estimator counts
    as fitted (``check_is_fitted``) only once ``fit`` has returned, so a fit
    stopped midway, by an error or a ``KeyboardInterrupt``, leaves it unfitted
    instead of mixing two fits. Parameters are validated first, as by
    sklearn's own estimators, and a bad one leaves the previous fit in place.
    """

    @fit_context(prefer_skip_nested_validation=True)
    @functools.wraps(fit)
    def fit_completely(self, *args, **kwargs):
        self._forget_fit()
        fit(self, *args, **kwargs)
        self._fit_complete = True
        return self

    return fit_completely


#: Numbers of draws per call of ``mcmc_diagnostics`` (4 MiB of float64).
_DIAGNOSTICS_BLOCK = 2**19


def _blockwise_diagnostics(by_chain: dict) -> tuple[dict, dict]:
    """``mcmc_diagnostics``, on blocks of each site's quantities.

    Its transforms hold several copies of the draws they are given, which at
    ``d >> n`` would outweigh X; the diagnostics of one quantity do not
    depend on the others, so blocks of quantities give the same numbers.
    """
    n_eff, r_hat = {}, {}
    for name, value in by_chain.items():
        chains, draws = value.shape[:2]
        flat = value.reshape(chains, draws, -1)
        step = max(1, _DIAGNOSTICS_BLOCK // max(chains * draws, 1))
        parts = [
            mcmc_diagnostics({name: flat[:, :, start : start + step]})
            for start in range(0, max(flat.shape[2], 1), step)
        ]
        n_eff[name], r_hat[name] = (
            np.concatenate([np.reshape(part[k][name], -1) for part in parts]).reshape(
                value.shape[2:]
            )
            for k in (0, 1)
        )
    return n_eff, r_hat


class BayesianEstimator(BaseEstimator):
    """Base class of skbayes estimators.

    It stores the parameters every estimator has, and runs a fit:
    ``_run_inference(model, data)`` hands the model and its data to the
    engine that ``inference`` names (``skbayes.inference.ENGINES``), inside an
    isolated block (own RNG stream, parameter store and thread count), and
    stores what comes back. Subclasses set ``_model_class`` (which decides the
    engines on offer), extend ``_parameter_constraints`` and implement
    ``fit``, decorated with ``fit_method``. Fitted torch state is kept on the
    CPU, so predictions and pickles never need the fit's device.
    """

    #: The model the estimator builds; engines that support it are on offer.
    _model_class: ClassVar[type]

    _parameter_constraints: dict = {
        "inference": [str],
        "guide": [str, callable, None],
        "num_steps": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "num_particles": [Interval(Integral, 1, None, closed="left")],
        "num_samples": [Interval(Integral, 1, None, closed="left")],
        "num_warmup": [Interval(Integral, 0, None, closed="left")],
        "num_chains": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "target_ess": [Interval(Real, 0, None, closed="neither"), None],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def _store_params(self, arguments: dict) -> None:
        """Store each constructor argument as the attribute of its name.

        Every ``__init__`` calls ``self._store_params(locals())`` and does
        nothing else, as sklearn requires, so the assignments live here once.
        """
        for name in param_names(type(self)):
            setattr(self, name, arguments[name])

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "_model_class" in cls.__dict__:
            # The engines registered by now; engines registered later are
            # checked at fit time (``_validate_params``).
            cls._parameter_constraints = {
                **cls._parameter_constraints,
                "inference": [StrOptions(cls._inference_options())],
            }

    @classmethod
    def _inference_options(cls) -> set[str]:
        """``"auto"`` and the registered engines that support the model."""
        return engine_names(cls._model_class) | {AUTO}

    def _validate_params(self):
        # The registry may have grown since the class was defined.
        constraints = {
            **self._parameter_constraints,
            "inference": [StrOptions(self._inference_options())],
        }
        validate_parameter_constraints(
            constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )

    # -- fitting ------------------------------------------------------------
    def __sklearn_is_fitted__(self) -> bool:
        return self.__dict__.get("_fit_complete", False)

    def _forget_fit(self) -> None:
        """Drop every fitted attribute: the names sklearn's convention ends in ``_``."""
        for name in [n for n in vars(self) if n.endswith("_") and n[:2] != "__"]:
            del self.__dict__[name]
        for name in ("_fit_complete", "_param_state"):
            self.__dict__.pop(name, None)

    @staticmethod
    def _torch_dtype(array: np.ndarray) -> torch.dtype:
        return torch.float32 if array.dtype == np.float32 else torch.float64

    def _run_inference(self, model, data, *, default_guide=None):
        """Run the chosen engine on ``model`` and ``data``; store the result.

        ``inference="auto"`` is resolved here, once (``choose_engine``), and
        the engine run is recorded in ``inference_``.
        """
        device = resolve_device(self.device)
        seed = make_seed(self.random_state)
        settings = RunSettings.from_estimator(self, seed, default_guide=default_guide)
        if settings.guide is not None:
            # A bad guide= is a bad parameter whichever engine runs.
            check_guide_spec(settings.guide)
        engine_name = self.inference
        if engine_name == AUTO:
            engine_name = choose_engine(model, data, settings)
        engine = ENGINES[engine_name]()
        settings = settings.for_engine(engine)
        engine.check(model, data, settings)
        with isolated_run(
            seed=seed, device=device, problem_size=data.problem_size
        ) as state:
            result = engine.run(model.to(device), data, settings)
            with torch.no_grad():
                draws = self._posterior_draws(result.model, result.flat_samples())
        self._check_finite_draws(draws)
        self.device_, self.random_seed_ = device, seed
        self.inference_ = engine_name
        self._store(result, draws, state)
        return result

    def _posterior_draws(self, model, latent: dict) -> dict[str, np.ndarray]:
        """Latent draws, one leading axis, as the estimator reports them."""
        return model.posterior_draws(latent)

    def _store(self, result, draws: dict, param_state: dict) -> None:
        diagnostics = None
        if result.kind == "mcmc":
            diagnostics = self._mcmc_diagnostics(result, draws)
            self.diagnostics_ = diagnostics
        if result.diagnostics is not None:
            self.diagnostics_ = result.diagnostics
        if result.loss_curve is not None:
            self.loss_curve_, self.n_iter_ = result.loss_curve, result.n_iter
        self.module_ = result.model.cpu()
        if result.guide is not None:
            self.guide_ = stored_guide(result.guide, self.module_)
            self._param_state = cpu_copy(param_state)
        self.posterior_ = FittedPosterior(
            engine=result.engine,
            kind=result.kind,
            num_chains=result.num_chains,
            samples=draws,
            diagnostics=diagnostics,
            exact=None if result.posterior is None else cpu_copy(result.posterior),
            diverging=None
            if result.divergences is None
            else np.asarray(result.divergences, dtype=bool).reshape(-1),
        )
        self.posterior_samples_ = draws

    def _mcmc_diagnostics(self, result, draws: dict) -> dict:
        """n_eff, r_hat (and divergences); warn when they look bad."""
        chains = result.num_chains
        by_chain = {k: v.reshape(chains, -1, *v.shape[1:]) for k, v in draws.items()}
        n_eff, r_hat = _blockwise_diagnostics(by_chain)
        divergences = result.divergences
        diagnostics = {
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
        if diagnostics["divergences"]:
            problems.append(f"{diagnostics['divergences']} divergent transitions")
        if problems:
            warn_convergence(
                type(self).__name__,
                f"{result.engine} may not have converged: "
                + "; ".join(problems)
                + ". Increase num_warmup/num_samples, or use more chains.",
            )
        return diagnostics

    def _check_finite_draws(self, draws: dict) -> None:
        for name, value in draws.items():
            if not np.all(np.isfinite(value)):
                raise DivergenceError(
                    f"{type(self).__name__} produced non-finite posterior draws of "
                    f"{name!r}; the fit diverged. Lower learning_rate, or rescale "
                    "X and y."
                )

    def set_params(self, **params):
        """Set parameters, as sklearn's; a prior given by name takes nested ones.

        ``GridSearchCV(est, {"prior__scale": [0.1, 1.0]})`` with
        ``prior="normal"`` searches the scale of the prior that name stands
        for: the name is first replaced by that prior object.
        """
        nested = any(key.startswith("prior__") for key in params)
        if nested and "prior" not in params and isinstance(self.prior, str):
            self.prior = self._prior_object()
        return super().set_params(**params)

    def _prior_object(self):
        """The prior object that ``self.prior`` names."""
        return self._coef_prior()

    # -- the posterior --------------------------------------------------------
    def sample_posterior(self, num_samples: int = 1000, random_state=None) -> dict:
        """Draw from the posterior.

        Exact fits draw afresh from the closed form and SVI fits from the
        guide; NUTS and Gibbs fits resample their stored chains (with
        replacement when more draws are asked for than exist).

        Parameters
        ----------
        num_samples : int, default=1000
            Number of draws (0 gives empty arrays).
        random_state : int, RandomState instance or None, default=None
            Seed of the draws.

        Returns
        -------
        dict of str to ndarray
            The sites of ``posterior_samples_`` (see the class's
            Attributes), each with ``num_samples`` draws along its first axis.
        """
        check_is_fitted(self)
        check_count(num_samples, "num_samples")
        draws = self._draw_posterior(num_samples, make_seed(random_state))
        return self._as_reported(draws)

    def _as_reported(self, draws: dict) -> dict:
        """Draws in the shapes users see; a subclass may drop axes."""
        return draws

    def _draw_posterior(self, num_samples: int, seed: int) -> dict:
        """New draws: resampled chains, or fresh from the guide or closed form."""
        posterior = self.posterior_
        rng = np.random.default_rng(seed)
        if posterior.kind == "mcmc":
            total = len(next(iter(posterior.samples.values())))
            index = rng.choice(total, num_samples, replace=num_samples > total)
            return {name: value[index] for name, value in posterior.samples.items()}
        model = self.module_
        with isolated_run(
            seed=seed,
            device=torch.device("cpu"),
            param_state=getattr(self, "_param_state", None),
        ):
            if posterior.kind == "exact":
                latent = posterior.exact.sample(num_samples, rng)
                latent = {name: torch.as_tensor(v) for name, v in latent.items()}
            else:
                latent = draw_from_guide(
                    self.guide_,
                    model.prior_sites(),
                    num_samples,
                    model.placeholder_data(),
                )
            with torch.no_grad():
                # Derived values (the linear model's intercept) are drawn here.
                return self._posterior_draws(model, latent)

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
        diagnostics = self.posterior_.diagnostics
        axes = self._summary_axes()
        if diagnostics is None:
            return summarize(samples, axis_names=axes)
        return summarize(
            samples,
            axis_names=axes,
            n_eff=diagnostics["n_eff"],
            r_hat=diagnostics["r_hat"],
            divergences=diagnostics["divergences"],
        )

    def to_arviz(self, X=None, y=None):
        """The posterior as ArviZ's ``InferenceData`` (ArviZ is optional).

        Groups: ``posterior``, with dims ``(chain, draw, ...)`` and coordinates
        named by ``feature_names_in_`` (and, for the classifier, ``classes_``);
        ``sample_stats`` with ``diverging`` for NUTS; and, when the data are
        given, ``log_likelihood`` (pointwise, one value per row and draw) and
        ``observed_data``. ``az.summary``, ``az.plot_trace``, ``az.loo`` and
        ``az.waic`` then work on it. SVI and exact fits count as one chain of
        independent draws.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), optional
            The rows whose log-likelihood to store: the training rows for
            ``az.loo`` and ``az.waic``.
        y : array-like of shape (n_samples,), optional
            Their targets (ignored by ``BetaBernoulliEstimator``).

        Returns
        -------
        arviz.InferenceData
        """
        check_is_fitted(self)
        posterior = self.posterior_
        log_likelihood = observed = None
        if X is not None:
            X, targets, observed = self._observations(X, y)
            log_likelihood = self._log_likelihood(X, targets, posterior.samples)
        dims, coords = self._site_dims()
        return inference_data(
            self._as_reported(posterior.samples),
            num_chains=posterior.num_chains,
            dims=dims,
            coords=coords,
            log_likelihood=log_likelihood,
            observed=observed,
            diverging=posterior.diverging,
        )

    def _site_dims(self) -> tuple[dict, dict]:
        """ArviZ's dims of each site after the draw axis, and their labels."""
        features = getattr(self, "feature_names_in_", None)
        if features is None:
            features = [f"x{j}" for j in range(self.n_features_in_)]
        shape = (self.n_features_in_,)
        samples = self._as_reported(self.posterior_.samples)
        dims = {k: ["feature"] for k, v in samples.items() if v.shape[1:] == shape}
        return dims, {"feature": [str(f) for f in features]}

    def _summary_samples(self) -> dict:
        return self.posterior_samples_

    def _summary_axes(self) -> dict:
        """Labels of each axis of some sites, for ``summary``'s row names.

        After a fit on named columns (a DataFrame), ``coef[age]`` rather than
        ``coef[0]``; otherwise sites keep their indices.
        """
        if getattr(self, "feature_names_in_", None) is None:
            return {}
        dims, coords = self._site_dims()
        return {site: [coords[dim] for dim in names] for site, names in dims.items()}

    # -- pickling -------------------------------------------------------------
    def __getstate__(self):
        """The attributes, with every torch object as numpy arrays and builtins.

        pickle and ``skops.io`` both store this state: tensors become arrays
        (their dtype recorded), the model, guide and closed-form posterior
        plain descriptions that ``__setstate__`` rebuilds them from
        (``skbayes._serialization``). What has no such description (an
        autoguide class skbayes does not name, a model with submodules) is
        kept as it is: pickle stores it, skops cannot.
        """
        return portable_state(dict(super().__getstate__()))

    def __setstate__(self, state):
        # Pickles from before the portable state hold the torch objects
        # themselves, which pass through unchanged.
        super().__setstate__(restore_state(state))
        if "posterior_" in self.__dict__:
            # Pickled before fits were marked complete (fit_method): a stored
            # posterior was then always a whole fit.
            self.__dict__.setdefault("_fit_complete", True)
        guide = self.__dict__.get("guide_")
        if isinstance(guide, AutoGuide) and guide_model(guide) is None:
            attach_model(guide, self.module_)
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
