"""The engine protocol: what every inference engine takes and returns.

An engine is a small object with a name, registered in ``ENGINES``. It is
handed a model, its data and the run settings, and returns an
``InferenceResult``: latent draws by chain, diagnostics and whatever it
fitted. It runs inside the estimator's ``isolated_run`` block, so the global
random state it reads is the fit's own.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

__all__ = [
    "ENGINES",
    "InferenceEngine",
    "InferenceResult",
    "RunSettings",
    "engine_names",
    "register_engine",
    "warn_convergence",
]


@dataclass(frozen=True)
class RunSettings:
    """The estimator's settings that engines read.

    Attributes
    ----------
    seed : int
        The fit's seed; engines with generators of their own seed them from it.
    guide : str, class, callable or None
        The ``guide=`` specification (SVI).
    default_guide : callable or None
        Guide factory used when ``guide`` is None.
    num_steps, learning_rate, tol, n_iter_no_change, num_particles
        SVI's optimiser and stopping rule.
    num_samples, num_warmup, num_chains
        Draws kept (per chain), warm-up iterations and chains
        (``"auto"``: the engine's ``default_chains``; see ``for_engine``).
    target_ess : float or None
        Gibbs: effective draws every site should reach; the chains are then
        extended up to ``MAX_GROWTH * num_samples`` draws each.
    approximate_threshold : float or None
        Gibbs, horseshoe: the threshold of Johndrow et al.'s approximate
        algorithm (see ``run_gibbs``); None samples exactly.
    verbose : bool
        Show progress.
    owner : str
        Name of the estimator, for warnings.
    """

    seed: int
    guide: object = None
    default_guide: Callable | None = None
    num_steps: int = 10_000
    learning_rate: float = 0.05
    tol: float = 1e-4
    n_iter_no_change: int = 5
    num_particles: int = 1
    num_samples: int = 1000
    num_warmup: int = 500
    num_chains: int | str = "auto"
    target_ess: float | None = 400.0
    approximate_threshold: float | None = None
    verbose: bool = False
    owner: str = "skbayes"

    @classmethod
    def from_estimator(cls, estimator, seed: int, **overrides) -> RunSettings:
        """The settings an estimator's parameters give (missing ones: defaults)."""
        names = cls.__dataclass_fields__.keys() - {"seed", "owner", "default_guide"}
        params = estimator.get_params(deep=False)
        values = {name: params[name] for name in names if name in params}
        values["verbose"] = bool(values.get("verbose", False))
        return cls(seed=seed, owner=type(estimator).__name__, **values, **overrides)

    def for_engine(self, engine: InferenceEngine) -> RunSettings:
        """These settings with ``num_chains="auto"`` resolved for ``engine``."""
        if self.num_chains != "auto":
            return self
        return dataclasses.replace(self, num_chains=engine.default_chains)

    def warn(self, message: str) -> None:
        """A ``ConvergenceWarning`` naming the estimator."""
        warn_convergence(self.owner, message)


def warn_convergence(owner: str, message: str) -> None:
    """Warn that ``owner``'s fit may not be trustworthy (``ConvergenceWarning``)."""
    warnings.warn(f"{owner}: {message}", ConvergenceWarning, stacklevel=4)


@dataclass(frozen=True)
class InferenceResult:
    """What every engine returns.

    Attributes
    ----------
    kind : {"variational", "mcmc", "exact"}
        How the posterior is held: a fitted guide to draw from afresh, stored
        chains to resample, or a closed form.
    model : BayesianModule
        The model the draws belong to (with point parameters fixed where the
        engine estimated them).
    samples : dict of str to Tensor
        Constrained latent draws, shape ``(chains, draws, ...)``.
    engine : str
        The engine's display name (``"SVI"``, ``"NUTS"``...).
    divergences : ndarray of bool, shape (chains, draws), or None
        Whether the transition to each draw diverged, for samplers that can.
    guide : callable or None
        The fitted guide.
    loss_curve : ndarray or None
        Negative ELBO per optimisation step.
    n_iter : int or None
        Optimisation steps taken.
    posterior : object or None
        A closed-form posterior with ``sample(num_samples, rng)``.
    diagnostics : dict or None
        Engine-specific reliability figures the estimator reports in
        ``diagnostics_`` (SVI: ``pareto_k``); samplers' are computed from
        their chains by the estimator.
    """

    kind: str
    model: object
    samples: dict
    engine: str
    divergences: np.ndarray | None = None
    guide: Callable | None = None
    loss_curve: np.ndarray | None = None
    n_iter: int | None = None
    posterior: object = None
    diagnostics: dict | None = None

    @property
    def num_chains(self) -> int:
        return len(next(iter(self.samples.values()))) if self.samples else 1

    def flat_samples(self) -> dict[str, torch.Tensor]:
        """The draws with chains merged into one leading axis."""
        return {k: v.reshape(-1, *v.shape[2:]) for k, v in self.samples.items()}


class InferenceEngine:
    """Base class of engines; subclasses register with ``register_engine``.

    Subclasses set ``name`` (the ``inference=`` string), ``display_name``,
    ``kind`` (see ``InferenceResult``) and ``centered`` (the parameterisation
    they prefer), and implement ``run``. ``supports`` says which models an
    estimator may offer the engine for; ``check`` rejects, with a
    ``ValueError``, a particular model or data it cannot run, and
    ``affordable`` says whether ``inference="auto"`` should pick it.

    ``docs/extending.md`` writes a random-walk Metropolis engine this way, and
    ``tests/estimators/test_extending.py`` registers it and fits with it.
    """

    name: ClassVar[str]
    display_name: ClassVar[str]
    kind: ClassVar[str]
    #: Whether the engine prefers centred parameterisations (Gaussian guides)
    #: or non-centred ones (samplers).
    centered: ClassVar[bool] = False
    #: Whether the engine can subsample rows (minibatches).
    supports_minibatch: ClassVar[bool] = False
    #: Chains run for ``num_chains="auto"``: one, unless a second costs much
    #: less than the first (batched chains).
    default_chains: ClassVar[int] = 1
    #: Whether the engine has an approximate variant (``approximate_threshold``).
    supports_approximation: ClassVar[bool] = False

    @classmethod
    def supports(cls, model_class: type) -> bool:
        """Whether models of this class can be run by the engine at all."""
        return True

    def check(self, model, data, settings: RunSettings) -> None:
        """Raise ``ValueError`` if this model or data cannot be run."""
        if data.batch_size is not None and not self.supports_minibatch:
            raise ValueError(
                f"batch_size={data.batch_size} needs inference='svi'; "
                f"{self.name!r} uses the full data at every step."
            )
        if settings.approximate_threshold is not None and not (
            self.supports_approximation
        ):
            raise ValueError(
                f"approximate_threshold={settings.approximate_threshold} needs "
                f"inference='gibbs'; {self.name!r} has no approximate algorithm."
            )

    def affordable(self, model, data) -> bool:
        """Whether ``inference="auto"`` should pick the engine for this size.

        ``check`` says whether the engine can run at all; this says whether
        it would take too long to be a default (see ``skbayes.inference.auto``).
        """
        return True

    def run(self, model, data, settings: RunSettings) -> InferenceResult:
        raise NotImplementedError


#: Engines by their ``inference=`` name.
ENGINES: dict[str, type[InferenceEngine]] = {}


def register_engine(engine: type[InferenceEngine]) -> type[InferenceEngine]:
    """Make ``engine`` available as ``inference=engine.name``; a class decorator."""
    ENGINES[engine.name] = engine
    return engine


def engine_names(model_class: type) -> set[str]:
    """The registered engines that can run models of ``model_class``."""
    return {name for name, engine in ENGINES.items() if engine.supports(model_class)}
