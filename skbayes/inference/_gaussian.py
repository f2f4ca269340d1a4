"""Reparameterised draws from Pyro's Gaussian autoguides, read off their leaves.

At d = 100 an SVI step spends more time asking an autoguide for its posterior
(PyroModule attribute look-ups and constraint transforms), building a torch
distribution and splitting the packed latent vector by site than it spends on
the model's log density. ``autoguide_sampler`` does all three directly from
the unconstrained tensors the optimiser updates, with the latent layout
worked out once.

The log density of each draw comes from its standard-normal noise in closed
form, not from a solve against the drawn value: once the covariance grows
ill-conditioned (d in the hundreds) that solve loses every digit, and the
optimiser exploits the error until the loss runs off to -1e165.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pyro.distributions as dist
import torch
from pyro import poutine
from pyro.infer import autoguide
from torch.distributions import biject_to, transform_to

_LOG_2PI = math.log(2 * math.pi)


def rsample_gaussian(posterior, num_particles: int):
    """Draw ``num_particles`` reparameterised samples and their log density.

    For a full-rank or diagonal Gaussian the density is computed from the
    standard-normal noise (see the module docstring); other distributions
    use their own ``rsample`` and ``log_prob``.

    Examples
    --------
    >>> import pyro.distributions as dist
    >>> import torch
    >>> posterior = dist.MultivariateNormal(
    ...     torch.zeros(3, dtype=torch.float64),
    ...     scale_tril=torch.eye(3, dtype=torch.float64),
    ... )
    >>> with torch.random.fork_rng():  # leaves the caller's RNG as it was
    ...     latent, log_q = rsample_gaussian(posterior, 4)
    >>> latent.shape, log_q.shape
    (torch.Size([4, 3]), torch.Size([4]))
    >>> torch.allclose(log_q, posterior.log_prob(latent))
    True
    """
    if isinstance(posterior, dist.MultivariateNormal):
        return _full_rank(posterior.mean, posterior.scale_tril, num_particles)
    if isinstance(posterior, dist.Independent) and isinstance(
        posterior.base_dist, dist.Normal
    ):
        return _diagonal(posterior.mean, posterior.base_dist.scale, num_particles)
    latent = posterior.rsample((num_particles,))
    return latent, posterior.log_prob(latent)


def _noise(loc, *shape):
    return torch.randn(shape, dtype=loc.dtype, device=loc.device)


def _standard_log_density(eps, log_det_scale):
    """log N(loc + A eps | loc, A A^T) = log N(eps | 0, I) - log|det A|."""
    dim = eps.shape[-1]
    return -0.5 * (eps.square().sum(-1) + dim * _LOG_2PI) - log_det_scale


def _diagonal(loc, scale, num_particles):
    eps = _noise(loc, num_particles, loc.shape[-1])
    latent = loc + eps * scale
    return latent, _standard_log_density(eps, scale.log().sum(-1))


def _full_rank(loc, scale_tril, num_particles):
    eps = _noise(loc, num_particles, loc.shape[-1])
    latent = loc + eps @ scale_tril.mT
    log_det = scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
    return latent, _standard_log_density(eps, log_det)


def _low_rank(loc, scale, factor, num_particles):
    """Pyro's low-rank guide: covariance ``S (I + W W^T) S``, ``S = diag(scale)``.

    With ``v = S^-1 (latent - loc) = e + W f`` for standard-normal ``e`` and
    ``f``, Woodbury's identity gives ``v^T (I + W W^T)^-1 v = v^T v - u^T C^-1
    u``, with ``u = W^T v`` and ``C = I + W^T W``, and the determinant lemma
    gives ``log det(I + W W^T) = log det C``. ``C`` is well conditioned
    (its eigenvalues are at least 1) whatever the scales.
    """
    dim, rank = factor.shape
    v = _noise(loc, num_particles, dim) + _noise(loc, num_particles, rank) @ factor.mT
    latent = loc + v * scale
    capacitance = torch.eye(rank, dtype=loc.dtype, device=loc.device) + (
        factor.mT @ factor
    )
    chol = torch.linalg.cholesky(capacitance)
    u = torch.linalg.solve_triangular(
        chol, (v @ factor).unsqueeze(-1), upper=False
    ).squeeze(-1)
    mahalanobis = v.square().sum(-1) - u.square().sum(-1)
    log_det = scale.log().sum(-1) + chol.diagonal().log().sum(-1)
    return latent, -0.5 * (mahalanobis + dim * _LOG_2PI) - log_det


def _posterior_draws(guide) -> Callable | None:
    """``(params, P) -> (latent, log_q)`` for a Gaussian autoguide, or None.

    Only the exact posterior families are recognised: a subclass that
    overrides ``get_posterior`` goes through Pyro.
    """
    families = {
        autoguide.AutoDiagonalNormal: lambda p, n: _diagonal(p["loc"], p["scale"], n),
        autoguide.AutoMultivariateNormal: lambda p, n: _full_rank(
            p["loc"], p["scale"].unsqueeze(-1) * p["scale_tril"], n
        ),
        autoguide.AutoLowRankMultivariateNormal: lambda p, n: _low_rank(
            p["loc"], p["scale"], p["cov_factor"], n
        ),
    }
    own = getattr(type(guide), "get_posterior", None)
    for family, draw in families.items():
        if own is family.get_posterior and isinstance(guide, family):
            return draw
    return None


def autoguide_sampler(guide, sites: dict, data: tuple) -> Callable | None:
    """A function ``P -> (values, log_q)`` for a Gaussian ``AutoContinuous`` guide.

    ``values`` maps each latent site to P constrained draws; ``log_q`` is the
    guide's log density of those draws in the constrained space. Returns None
    for guides it does not recognise.

    Parameters
    ----------
    guide : AutoContinuous
        A diagonal, full-rank or low-rank Gaussian autoguide, already run
        once (so that its parameters exist).
    sites : dict
        The model's ``prior_sites()``: their supports give the transforms.
    data : tuple
        Arguments of the guide, used once to find its parameters.

    Examples
    --------
    >>> import torch
    >>> from pyro.infer.autoguide import AutoLowRankMultivariateNormal
    >>> from skbayes._runtime import isolated_run
    >>> from skbayes.models import LinearRegressionModel
    >>> from skbayes.priors import Horseshoe
    >>> model = LinearRegressionModel(
    ...     Horseshoe(centered=True), n_features=3, n_samples=4, noise=1.0
    ... )
    >>> X = torch.zeros(4, 3, dtype=torch.float64)
    >>> y = torch.zeros(4, dtype=torch.float64)
    >>> with isolated_run(seed=0, device=torch.device("cpu")):
    ...     guide = AutoLowRankMultivariateNormal(model, rank=1)
    ...     _ = guide(X, y)
    ...     sample = autoguide_sampler(guide, model.prior_sites(), (X, y))
    ...     values, log_q = sample(5)
    >>> {name: tuple(v.shape) for name, v in values.items()}
    {'tau': (5,), 'lambda': (5, 3), 'coef': (5, 3)}
    >>> log_q.shape
    torch.Size([5])
    """
    draw = _posterior_draws(guide)
    if draw is None:
        return None
    params = guide_leaves(guide, data)
    if params is None:
        return None
    layout = _latent_layout(guide, sites)

    def sample(num_particles: int):
        constrained = {name: to(leaf) for name, (leaf, to) in params.items()}
        latent, log_q = draw(constrained, num_particles)
        values = {}
        for name, (block, shape, transform) in layout.items():
            u = latent[..., block].reshape(num_particles, *shape)
            value = transform(u)
            ladj = transform.log_abs_det_jacobian(u, value)
            # Change of variables: q's density over the constrained values.
            log_q = log_q - ladj.reshape(num_particles, -1).sum(-1)
            values[name] = value
        return values, log_q

    return sample


def guide_leaves(guide, data) -> dict | None:
    """Each guide parameter's optimised leaf tensor and its constraint map.

    None if some parameter cannot be rebuilt from its leaf.
    """
    with poutine.trace(param_only=True) as capture:
        guide(*data)
    constraints = getattr(guide, "_pyro_params", {})
    leaves = {}
    for name, site in capture.trace.nodes.items():
        key = name.rsplit(".", 1)[-1]
        constraint = constraints.get(key, (dist.constraints.real,))[0]
        # Parameters are mapped with transform_to, as Pyro's param store does.
        leaf, transform = site["value"].unconstrained(), transform_to(constraint)
        with torch.no_grad():
            if not torch.allclose(transform(leaf), site["value"]):
                return None
        leaves[key] = (leaf, transform)
    return leaves


def latent_blocks(guide) -> dict[str, tuple[slice, tuple[int, ...]]]:
    """Each site's slice of the packed latent vector, and its unconstrained shape.

    Mirrors ``AutoContinuous._unpack_latent`` for sites outside any plate,
    which is all skbayes' own models have.
    """
    blocks, start = {}, 0
    for name, _ in guide.prototype_trace.iter_stochastic_nodes():
        shape = tuple(guide._unconstrained_shapes[name])
        stop = start + math.prod(shape)
        blocks[name] = (slice(start, stop), shape)
        start = stop
    return blocks


def _latent_layout(guide, sites) -> dict:
    """``latent_blocks`` with each site's map to its support."""
    return {
        name: (block, shape, biject_to(sites[name].support))
        for name, (block, shape) in latent_blocks(guide).items()
    }
