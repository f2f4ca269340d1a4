"""The contract every skbayes model backbone fulfils, and its optional extras."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from pyro.nn import PyroModule

from ._transforms import constrain


@dataclass(frozen=True)
class Start:
    """Where inference starts: latent values and, optionally, their spread.

    Attributes
    ----------
    values : dict of str to Tensor or None
        Constrained starting values of latent sites; None lets each engine
        choose (autoguides start at the prior median).
    covariance : dict of str to Tensor or None
        Covariance blocks in the unconstrained space, per site, for Gaussian
        guides that can start there.
    """

    values: dict | None = None
    covariance: dict | None = None


@dataclass
class ModelData:
    """The data a model is fitted to, in the form its log density takes.

    Attributes
    ----------
    arrays : tuple of Tensor
        The arguments of ``log_density`` after the latent values.
    batch_size : int or None
        Rows per minibatch, when engines that can should subsample.
    """

    arrays: tuple
    batch_size: int | None = field(default=None, kw_only=True)

    def arguments(self) -> tuple:
        """The data for the first step: all of it, or a first minibatch."""
        return self.arrays

    def full_arguments(self) -> tuple:
        """All of the data, as the log density takes it, minibatches or not."""
        return self.arrays

    def next_batch(self) -> tuple:
        """A fresh minibatch (``batch_size`` rows drawn with replacement)."""
        raise NotImplementedError(f"{type(self).__name__} has no minibatches.")

    @property
    def problem_size(self) -> int:
        """Entries of data touched per step (small problems run on one thread)."""
        return sum(a.numel() for a in self.arrays)


@dataclass
class DesignData(ModelData):
    """``ModelData`` whose first array is a design matrix, one row per sample.

    Minibatches draw ``batch_size`` rows of every array, with replacement.
    """

    @property
    def n_samples(self) -> int:
        return self.arrays[0].shape[0]

    @property
    def n_features(self) -> int:
        return self.arrays[0].shape[1]

    @property
    def problem_size(self) -> int:
        return (self.batch_size or self.n_samples) * self.n_features

    def arguments(self) -> tuple:
        return self.next_batch() if self.batch_size is not None else self.arrays

    def next_batch(self) -> tuple:
        design = self.arrays[0]
        index = torch.randint(self.n_samples, (self.batch_size,), device=design.device)
        return tuple(array[index] for array in self.arrays)


class BayesianModule(PyroModule):
    """A Pyro model whose log density can also be evaluated directly.

    Subclasses declare their latent variables once, in ``prior_sites``,
    and their likelihood twice: as Pyro ``sample`` statements in
    ``observe`` (the definition, used by autoguides, ``Trace_ELBO`` and
    any user guide) and as a plain torch expression in
    ``log_likelihood`` (the fast path used for SVI with Gaussian guides
    and for NUTS, which skips Pyro's tracing). The test suite checks that the
    two agree.

    The buffer ``anchor`` carries the module's dtype and device, so that
    ``module.to(...)`` moves every distribution it builds.

    Parameters
    ----------
    dtype : torch.dtype, default=torch.float64
        Dtype of the distributions the module builds.
    device : torch.device or str, optional
        Their device; the CPU by default.

    Examples
    --------
    The mean of a normal sample with unit noise, ``mu ~ Normal(0, 10)``:

    >>> import pyro
    >>> import pyro.distributions as dist
    >>> import torch
    >>> from skbayes.models import BayesianModule
    >>> class NormalMean(BayesianModule):
    ...     def prior_sites(self, values=None):
    ...         return {"mu": dist.Normal(self.anchor, self.anchor + 10.0)}
    ...
    ...     def observe(self, values, y):
    ...         with pyro.plate("data", len(y)):
    ...             pyro.sample("y", dist.Normal(values["mu"], 1.0), obs=y)
    ...
    ...     def log_likelihood(self, values, y):
    ...         mu = values["mu"].unsqueeze(-1)  # keep leading batch dims
    ...         return dist.Normal(mu, 1.0).log_prob(y).sum(-1)
    >>> model = NormalMean()
    >>> y = torch.tensor([0.5, 1.5], dtype=torch.float64)
    >>> values = {"mu": torch.tensor(1.0, dtype=torch.float64)}

    The direct log density equals that of the Pyro model's trace:

    >>> conditioned = pyro.poutine.condition(model, data=values)
    >>> trace = pyro.poutine.trace(conditioned).get_trace(y)
    >>> torch.allclose(trace.log_prob_sum(), model.log_joint(values, y))
    True

    and it scores a batch of values at once, as SVI and NUTS need:

    >>> batch = {"mu": torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)}
    >>> model.log_joint(batch, y).shape
    torch.Size([3])
    """

    def __init__(self, dtype: torch.dtype = torch.float64, device=None):
        super().__init__()
        self.register_buffer("anchor", torch.zeros((), dtype=dtype, device=device))

    #: Whether a site's distribution depends on other sites' values.
    has_dependent_sites = False

    # -- to be provided by subclasses -------------------------------------
    def prior_sites(self, values: dict | None = None) -> dict[str, dist.Distribution]:
        """Latent sites in sampling order.

        With ``has_dependent_sites``, the distributions of dependent sites are
        built from ``values`` (the draws so far); without values they are
        stand-ins with the right support and shape.
        """
        raise NotImplementedError

    def observe(self, values: dict, *data) -> None:
        """Pyro statements for the likelihood, given the latent values."""
        raise NotImplementedError

    def log_likelihood(self, values: dict, *data) -> torch.Tensor:
        """``log p(data | values)``; leading batch dims of ``values`` are kept."""
        raise NotImplementedError

    def derived(self, values: dict) -> dict[str, torch.Tensor]:
        """Quantities computed from latent values that users want reported."""
        return {}

    # -- optional capabilities, which engines use when offered ---------------
    #: Whether the model has point-estimated parameters (empirical Bayes),
    #: which samplers cannot optimise themselves.
    has_point_parameters = False

    #: Whether ``inference="auto"`` may pick NUTS for this model on a small
    #: problem (see ``skbayes.inference.auto``).
    nuts_by_default = True

    #: Name of the Gibbs kernel for this model (see
    #: ``skbayes.inference.gibbs.GIBBS_KERNELS``), or None.
    gibbs_kernel: str | None = None

    def start(self, data: ModelData) -> Start:
        """Where inference should start; by default, where each engine likes."""
        return Start()

    def configured(self, *, centered: bool, start: Start) -> BayesianModule:
        """The model as an engine runs it.

        ``centered`` is the parameterisation the engine prefers (see
        ``CoefPrior.with_parameterization``); ``start`` may set the initial
        value of point parameters.
        """
        return self

    def with_fixed_parameters(self, values: dict | None = None) -> BayesianModule:
        """The model with its point parameters fixed, at ``values`` or as fitted."""
        return self

    def replace(self, **changes) -> BayesianModule:
        """A new model with some constructor arguments changed, on this device.

        The other arguments are read from the attributes of the same name, as
        sklearn's ``get_params`` reads an estimator's: a subclass stores each
        argument of its ``__init__`` under its own name.
        """
        signature = inspect.signature(type(self).__init__)
        arguments = {
            name: getattr(self, name)
            for name, parameter in list(signature.parameters.items())[1:]
            if parameter.kind
            in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
            and name not in ("dtype", "device")
        }
        arguments.update(changes)
        model = type(self)(**arguments, dtype=self.anchor.dtype)
        return model.to(self.anchor.device)

    def initial_values(self, start: Start) -> dict | None:
        """Constrained starting values of every latent site of this model."""
        return start.values

    def nuts_reparameterization(self, data: ModelData):
        """A change of variables NUTS should sample in (see ``run_nuts``), or None."""
        return None

    @property
    def has_exact_posterior(self) -> bool:
        """Whether ``exact_posterior`` gives this model's posterior.

        By default, whether the class overrides ``exact_posterior``; a model
        whose closed form exists for some settings only (the linear model,
        for the Normal prior) says so here.
        """
        return type(self).exact_posterior is not BayesianModule.exact_posterior

    def exact_posterior(self, data: ModelData):
        """The posterior in closed form, or None.

        The object has ``sample(num_samples, rng)``, returning latent draws
        (a dict of arrays or tensors with a leading draw axis), and may have
        ``point_estimates``, the point parameters it is conditional on.
        """
        return None

    def placeholder_data(self) -> tuple:
        """Data with no rows, for running a fitted guide to draw from it."""
        raise NotImplementedError

    def posterior_draws(self, latent: dict, **context) -> dict[str, np.ndarray]:
        """Latent draws (one leading draw axis) plus derived values, as numpy."""
        out = {name: value.cpu().numpy() for name, value in latent.items()}
        derived = self.derived(latent)
        out.update({k: torch.as_tensor(v).cpu().numpy() for k, v in derived.items()})
        return out

    # -- shared machinery --------------------------------------------------
    def forward(self, *data):
        values = {}
        for name in self.prior_sites():
            # Rebuilt per site, so that a dependent site sees its parents.
            values[name] = pyro.sample(name, self.prior_sites(values)[name])
        self.observe(values, *data)
        return values

    def log_prior(self, values: dict, sites: dict | None = None) -> torch.Tensor:
        if sites is None or self.has_dependent_sites:
            sites = self.prior_sites(values)
        return sum(site.log_prob(values[name]) for name, site in sites.items())

    def log_joint(self, values: dict, *data, sites: dict | None = None) -> torch.Tensor:
        """``log p(values, data)``, equal to the trace's ``log_prob_sum``.

        ``sites`` may pass in ``prior_sites`` built once, to save
        rebuilding the distributions at every step of an optimiser.
        """
        return self.log_prior(values, sites) + self.log_likelihood(values, *data)

    def log_density(self, unconstrained: dict, *data) -> torch.Tensor:
        """Log density of the latent values in the unconstrained space.

        ``log_joint`` of the constrained values plus the log Jacobian of the
        maps to each site's support: the density that Gaussian guides and
        NUTS work with. Leading batch dims of ``unconstrained`` are kept.
        Subclasses may override it with a closed form that is cheaper to
        differentiate; the test suite checks that such overrides agree with
        this definition.
        """
        sites = self.prior_sites()
        values, log_det = constrain(unconstrained, sites)
        return self.log_joint(values, *data, sites=sites) + log_det
