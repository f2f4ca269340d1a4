"""Guides: resolving ``guide=`` to a Pyro guide, and skbayes' own guides."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import pyro
import pyro.distributions as dist
import torch
from pyro.infer import autoguide
from pyro.infer.autoguide.initialization import init_to_median, init_to_value
from pyro.nn import PyroModule, PyroParam
from torch.distributions import constraints

from .._compat import attach_model, detached_guide_state
from .._runtime import cpu_copy
from ._gaussian import guide_leaves, latent_blocks

#: ``guide=`` names and the autoguides they stand for.
GUIDES: dict[str, type[autoguide.AutoGuide]] = {
    "normal": autoguide.AutoNormal,
    "diagonal": autoguide.AutoDiagonalNormal,
    "mvn": autoguide.AutoMultivariateNormal,
    "lowrank": autoguide.AutoLowRankMultivariateNormal,
    "delta": autoguide.AutoDelta,
    "laplace": autoguide.AutoLaplaceApproximation,
}

_GAUSSIAN = (
    autoguide.AutoNormal,
    autoguide.AutoDiagonalNormal,
    autoguide.AutoMultivariateNormal,
)
# Initial posterior scale in the unconstrained space, passed explicitly so
# that skbayes' start does not move with Pyro's default. Much wider, and noise
# in tau * lambda * z swamps a horseshoe fit started near a ridge solution
# and pushes the noise scale up.
INIT_SCALE = 0.1


class BetaGuide(PyroModule):
    """The tutorial's hand-written guide: ``p ~ Beta(a, b)``, one per column.

    ``a`` and ``b`` are positive-constrained parameters, optimised in the
    log space and started at 1 (a uniform guide).

    Parameters
    ----------
    n_columns : int
        Number of independent probabilities ``p``.
    dtype : torch.dtype, default=torch.float64
        Dtype of the parameters.

    Examples
    --------
    A new guide is uniform: its draws have density 1, log density 0.

    >>> import torch
    >>> from skbayes.inference import BetaGuide
    >>> guide = BetaGuide(n_columns=2)
    >>> guide.posterior().mean.tolist()
    [0.5, 0.5]
    >>> with torch.random.fork_rng():  # leaves the caller's RNG as it was
    ...     values, log_q = guide.rsample_with_log_prob(3)
    >>> values["p"].shape, log_q.shape
    (torch.Size([3, 2]), torch.Size([3]))
    >>> torch.allclose(log_q, torch.zeros(3, dtype=torch.float64))
    True

    ``run_svi`` fits it (see its example), and ``BetaBernoulliEstimator``
    uses it when ``guide=None``.
    """

    def __init__(self, n_columns: int, dtype=torch.float64):
        super().__init__()
        ones = torch.ones(n_columns, dtype=dtype)
        self.concentration1 = PyroParam(ones.clone(), constraints.positive)
        self.concentration0 = PyroParam(ones.clone(), constraints.positive)

    def posterior(self) -> dist.Distribution:
        return dist.Beta(self.concentration1, self.concentration0).to_event(1)

    def forward(self, *args, **kwargs):
        return pyro.sample("p", self.posterior())

    def rsample_with_log_prob(self, num_samples: int):
        """Reparameterised draws and their log density, for the direct ELBO."""
        posterior = self.posterior()
        p = posterior.rsample((num_samples,))
        return {"p": p}, posterior.log_prob(p)


def check_guide_spec(guide) -> None:
    """Reject guide *instances*; accept names, autoguide classes and factories.

    Pickling an AutoGuide instance sets its model reference to ``None`` on the
    original object, so an instance shared with the caller would be broken by
    the first ``clone`` or ``pickle``. A class or factory builds a fresh guide
    at every fit instead.

    Raises
    ------
    ValueError
        If ``guide`` is an unknown name, a guide instance, or not callable.

    Examples
    --------
    >>> from pyro.infer.autoguide import AutoNormal
    >>> check_guide_spec("mvn")  # a name: fine
    >>> check_guide_spec(AutoNormal)  # a class: fine
    >>> check_guide_spec("gaussian")
    Traceback (most recent call last):
    ...
    ValueError: Unknown guide 'gaussian'; expected one of ['delta', ...
    """
    if isinstance(guide, str):
        if guide not in GUIDES:
            raise ValueError(
                f"Unknown guide {guide!r}; expected one of {sorted(GUIDES)}, an "
                "autoguide class, or a callable that takes the model and returns "
                "a guide."
            )
        return
    if isinstance(guide, (autoguide.AutoGuide, torch.nn.Module)):
        raise ValueError(
            f"guide must be a name, an autoguide class or a factory, not an "
            f"instance ({type(guide).__name__}); pass e.g. "
            f"guide={type(guide).__name__} or guide=lambda model: ..."
        )
    if not callable(guide):
        raise ValueError(f"guide must be a string or a callable, got {guide!r}.")


def build_guide(
    guide: str | type | Callable | None,
    model: Callable,
    *,
    init_values: dict | None = None,
    default: Callable | None = None,
) -> Callable:
    """Build a fresh guide for ``model`` from a ``guide=`` specification.

    Parameters
    ----------
    guide : str, autoguide class, callable or None
        A name from ``GUIDES``, an ``AutoGuide`` subclass, or a factory
        ``model -> guide``. ``None`` calls ``default(model)``.
    model : callable
        The Pyro model.
    init_values : dict, optional
        Constrained starting values for latent sites, used by autoguides that
        take an ``init_loc_fn``.
    default : callable, optional
        Factory used when ``guide`` is None.

    Returns
    -------
    callable
        A new guide, not yet run: an autoguide creates its parameters the
        first time it is called.

    Examples
    --------
    >>> from pyro.infer.autoguide import AutoDelta
    >>> from skbayes.inference import BetaGuide, build_guide
    >>> from skbayes.models import BetaBernoulliModel
    >>> model = BetaBernoulliModel(alpha=1.0, beta=1.0, n_columns=2)
    >>> type(build_guide("mvn", model)).__name__
    'AutoMultivariateNormal'
    >>> type(build_guide(AutoDelta, model)).__name__
    'AutoDelta'
    >>> def beta_guide(model):  # a factory: model -> guide
    ...     return BetaGuide(model.n_columns)
    >>> type(build_guide(beta_guide, model)).__name__
    'BetaGuide'
    >>> type(build_guide(None, model, default=beta_guide)).__name__
    'BetaGuide'

    Guide instances are refused: each fit needs a fresh guide.

    >>> build_guide(BetaGuide(2), model)
    Traceback (most recent call last):
    ...
    ValueError: guide must be a name, an autoguide class or a factory, not an ...
    """
    if guide is None:
        return default(model)
    check_guide_spec(guide)
    if isinstance(guide, str):
        guide = GUIDES[guide]
        init_loc_fn = _init_fn(init_values)
        if guide is autoguide.AutoLowRankMultivariateNormal:
            # The tutorial's rank-1 guide: N(mu, diag(v) + b b^T).
            return guide(model, init_loc_fn=init_loc_fn, rank=1, init_scale=INIT_SCALE)
        if guide in _GAUSSIAN:
            return guide(model, init_loc_fn=init_loc_fn, init_scale=INIT_SCALE)
    if inspect.isclass(guide) and issubclass(guide, autoguide.AutoGuide):
        parameters = inspect.signature(guide.__init__).parameters
        if "init_loc_fn" in parameters:
            return guide(model, init_loc_fn=_init_fn(init_values))
        return guide(model)
    built = guide(model)
    if not callable(built):
        raise ValueError(
            f"The guide factory returned {built!r}, which is not callable; it "
            "must return a guide (a function or an AutoGuide)."
        )
    return built


def _init_fn(init_values: dict | None):
    if not init_values:
        return init_to_median
    return init_to_value(values=init_values, fallback=init_to_median)


def start_gaussian_guide(guide, data: tuple, covariance: dict) -> bool:
    """Set a Gaussian autoguide's covariance blocks to a known start.

    Parameters
    ----------
    guide : AutoGuide
        A guide built by ``build_guide``; it is run once on ``data`` to create
        its parameters if needed.
    data : tuple
        Arguments of the guide.
    covariance : dict of str to Tensor
        Covariance in the unconstrained space of some latent sites, a block
        per site; the other sites keep their initial scale. A full-rank guide
        takes the blocks as they are; a diagonal one takes each variable's
        conditional variance ``1 / precision_jj``, the mean-field optimum for
        a Gaussian target.

    Returns
    -------
    bool
        Whether the guide was one this applies to (``AutoMultivariateNormal``
        or ``AutoDiagonalNormal``); other guides are left alone.

    Examples
    --------
    >>> import torch
    >>> from pyro.infer.autoguide import AutoMultivariateNormal
    >>> from skbayes._runtime import isolated_run
    >>> from skbayes.inference.guides import start_gaussian_guide
    >>> from skbayes.models import LinearRegressionModel
    >>> from skbayes.priors import Normal
    >>> model = LinearRegressionModel(Normal(), n_features=2, n_samples=3, noise=1.0)
    >>> X = torch.zeros(3, 2, dtype=torch.float64)
    >>> y = torch.zeros(3, dtype=torch.float64)
    >>> cov = torch.tensor([[1.0, 0.5], [0.5, 2.0]], dtype=torch.float64)
    >>> with isolated_run(seed=0, device=torch.device("cpu")):
    ...     guide = AutoMultivariateNormal(model)
    ...     start_gaussian_guide(guide, (X, y), {"coef": cov})
    ...     posterior = guide.get_posterior()
    True
    >>> posterior.covariance_matrix.tolist()
    [[1.0, 0.5], [0.5, 2.0]]
    """
    full = isinstance(guide, autoguide.AutoMultivariateNormal)
    if not (full or isinstance(guide, autoguide.AutoDiagonalNormal)):
        return False
    guide(*data)
    leaves = guide_leaves(guide, data)
    if leaves is None:
        return False
    scale = leaves["scale"][1](leaves["scale"][0]).detach().clone()
    chol = torch.diag(scale)
    for name, (block, _) in latent_blocks(guide).items():
        if name not in covariance:
            continue
        size = block.stop - block.start
        cov = covariance[name].to(scale).reshape(size, size)
        if full:
            chol[block, block] = torch.linalg.cholesky(cov)
        else:
            chol[block, block] = torch.diag(torch.linalg.inv(cov).diagonal().rsqrt())
    diag = chol.diagonal().clone()
    with torch.no_grad():
        leaf, transform = leaves["scale"]
        leaf.copy_(transform.inv(diag))
        if full:
            leaf, transform = leaves["scale_tril"]
            leaf.copy_(transform.inv(chol / diag.unsqueeze(-1)))
    return True


def loc_step_scales(guide, data: tuple) -> dict:
    """Step multipliers for a Gaussian guide's mean: its current sd, at most 1.

    Adam moves every coordinate by about the learning rate per step. Started
    at a known posterior (``start_gaussian_guide``), a coordinate whose sd is
    0.001 would be thrown about 50 sds away by the first step at 0.05; scaled
    by its sd, a step is a fraction of the posterior's width instead. Scales
    are capped at 1, so well-scaled coordinates move as before.

    Returns
    -------
    dict of int to Tensor
        ``{id(loc leaf): scales}`` for ``run_svi``'s ``step_scales``; empty
        for guides without a ``loc`` leaf.
    """
    leaves = guide_leaves(guide, data)
    if leaves is None or "loc" not in leaves:
        return {}
    with torch.no_grad():
        sd = guide.get_posterior().variance.sqrt()
    return {id(leaves["loc"][0]): sd.clamp(max=1.0).detach()}


class PicklableGuide:
    """Pickles an AutoGuide without touching the live object.

    ``AutoGuide.__getstate__`` drops the model reference *of the guide being
    pickled*, which would break a guide an estimator still holds; this
    pickles a detached copy of its state instead, and the estimator points
    the copy at its model again on loading.
    """

    def __init__(self, guide: autoguide.AutoGuide):
        self.guide = guide

    def __reduce__(self):
        return (_rebuild_guide, (type(self.guide), detached_guide_state(self.guide)))


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
    if isinstance(guide, autoguide.AutoGuide):
        # The same detached state a pickle holds, with its tensors moved.
        guide = cpu_copy(PicklableGuide(guide))
        attach_model(guide, module)
        return guide
    if isinstance(guide, torch.nn.Module):
        return guide.cpu()
    return guide
