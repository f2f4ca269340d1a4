"""Reparameterised draws from Pyro's Gaussian autoguides, read off their leaves.

At d = 100 an SVI step spends more time asking an autoguide for its posterior
(PyroModule attribute look-ups and constraint transforms), building a torch
distribution and splitting the packed latent vector by site than it spends on
the model's log density. ``gaussian_sampler`` does all three directly from
the unconstrained tensors the optimiser updates, with the latent layout
worked out once, and gives the guide's entropy in closed form.

Where a density of the draws is needed (``rsample_gaussian``), it comes from
their standard-normal noise in closed form, not from a solve against the
drawn value: once the covariance grows ill-conditioned (d in the hundreds)
that solve loses every digit, and the optimiser exploits the error until the
loss runs off to -1e165.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pyro.distributions as dist
import torch
from pyro import poutine
from pyro.infer import autoguide
from torch.distributions import transform_to
from torch.distributions.transforms import identity_transform

from .._compat import guide_param_constraints, unconstrained_shapes

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


def _entropy_constant(dim: int) -> float:
    return 0.5 * dim * (1.0 + _LOG_2PI)


# Each family below returns P draws in the unconstrained space and the
# guide's entropy, written with as few tensor operations as the algebra
# allows: at d = 100, autograd's per-operation cost is most of an SVI step.
def _diagonal_draws(params, num_particles):
    loc, scale = params["loc"], params["scale"]
    eps = _noise(loc, num_particles, loc.shape[-1])
    entropy = scale.log().sum(-1) + _entropy_constant(loc.shape[-1])
    return torch.addcmul(loc, eps, scale), entropy


def _full_rank_draws(params, num_particles):
    loc = params["loc"]
    # Pyro's AutoMultivariateNormal: covariance L L^T with L = diag(scale) @ tril.
    scale_tril = params["scale"].unsqueeze(-1) * params["scale_tril"]
    latent = loc + _noise(loc, num_particles, loc.shape[-1]) @ scale_tril.mT
    log_det = scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
    return latent, log_det + _entropy_constant(loc.shape[-1])


def _low_rank_draws(params, num_particles):
    """Pyro's low-rank guide: covariance ``S (I + W W^T) S``, ``S = diag(scale)``.

    By the matrix determinant lemma ``log det(I + W W^T) = log det C`` with
    the small capacitance ``C = I + W^T W``, whose eigenvalues are at least 1,
    so the entropy stays exact however the scales are conditioned.
    """
    loc, scale, factor = params["loc"], params["scale"], params["cov_factor"]
    dim, rank = factor.shape
    eps, eps_rank = _noise(loc, num_particles, dim + rank).split([dim, rank], -1)
    latent = torch.addcmul(loc, torch.addmm(eps, eps_rank, factor.mT), scale)
    if rank == 1:  # the tutorial's guide: C is the scalar 1 + |W|^2
        log_det_c = factor.square().sum().log1p()
    else:
        capacitance = torch.eye(rank, dtype=loc.dtype, device=loc.device)
        log_det_c = torch.logdet(capacitance + factor.mT @ factor)
    entropy = scale.log().sum(-1) + 0.5 * log_det_c + _entropy_constant(dim)
    return latent, entropy


def _posterior_family(guide) -> Callable | None:
    """``(params, P) -> (latent, entropy)`` for a Gaussian autoguide, or None.

    Only the exact posterior families are recognised: a subclass that
    overrides ``get_posterior`` goes through Pyro.
    """
    families = {
        autoguide.AutoDiagonalNormal: _diagonal_draws,
        autoguide.AutoMultivariateNormal: _full_rank_draws,
        autoguide.AutoLowRankMultivariateNormal: _low_rank_draws,
    }
    own = getattr(type(guide), "get_posterior", None)
    for family, draws in families.items():
        if own is family.get_posterior and isinstance(guide, family):
            return draws
    return None


def gaussian_sampler(guide, data: tuple) -> Callable | None:
    """A function ``P -> (unconstrained, entropy)`` for a Gaussian autoguide.

    ``unconstrained`` maps each latent site to P reparameterised draws in the
    unconstrained space, shaped ``(P, *site shape)``; ``entropy`` is the
    guide's entropy there, in closed form. The ELBO is then
    ``E[model.log_density(unconstrained)] + entropy``: no density of the
    draws is evaluated, which takes a Cholesky factor and a solve out of
    every step and removes the entropy's Monte Carlo noise from the
    gradient. Returns None for guides it does not recognise.

    Parameters
    ----------
    guide : AutoContinuous
        A diagonal, full-rank or low-rank Gaussian autoguide, already run
        once (so that its parameters exist).
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
    ...     sample = gaussian_sampler(guide, (X, y))
    ...     unconstrained, entropy = sample(5)
    ...     exact = guide.get_posterior().entropy()
    >>> {name: tuple(u.shape) for name, u in unconstrained.items()}
    {'tau': (5,), 'lambda': (5, 3), 'coef': (5, 3)}
    >>> torch.allclose(entropy, exact)
    True
    """
    draws = _posterior_family(guide)
    if draws is None:
        return None
    params = guide_leaves(guide, data)
    if params is None:
        return None
    # Skip identity maps (loc, cov_factor): each call costs a step microseconds.
    maps = {
        name: (leaf, None if to == identity_transform else to)
        for name, (leaf, to) in params.items()
    }
    blocks = latent_blocks(guide)
    names, sizes = (
        list(blocks),
        [block.stop - block.start for block, _ in blocks.values()],
    )

    def sample(num_particles: int):
        constrained = {
            name: leaf if to is None else to(leaf) for name, (leaf, to) in maps.items()
        }
        latent, entropy = draws(constrained, num_particles)
        unconstrained = {}
        for name, u in zip(names, latent.split(sizes, dim=-1), strict=True):
            shape = blocks[name][1]
            if u.shape[1:] != shape:  # skip a no-op view: it is an autograd node
                u = u.reshape(num_particles, *shape)
            unconstrained[name] = u
        return unconstrained, entropy

    return sample


def guide_leaves(guide, data) -> dict | None:
    """Each guide parameter's optimised leaf tensor and its constraint map.

    None if some parameter cannot be rebuilt from its leaf.
    """
    with poutine.trace(param_only=True) as capture:
        guide(*data)
    constraints = guide_param_constraints(guide)
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
        shape = tuple(unconstrained_shapes(guide)[name])
        stop = start + math.prod(shape)
        blocks[name] = (slice(start, stop), shape)
        start = stop
    return blocks
