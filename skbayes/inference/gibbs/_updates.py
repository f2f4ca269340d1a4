"""One-dimensional updates and starting values shared by the Gibbs kernels.

Each update leaves its target exactly invariant: inverse-gamma draws for the
conjugate conditionals, slice sampling (Neal 2003) and random-walk Metropolis
for the others. All random numbers come from the ``torch.Generator`` passed
in; the global torch and numpy generators are never read or advanced.

References
----------
Neal, R. M. (2003). Slice sampling. Annals of Statistics 31(3).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..._compat import standard_gamma

# All sampling is done in float64: the horseshoe's scales span hundreds of
# orders of magnitude, and float32 Cholesky factors fail long before that.
_DTYPE = torch.float64

#: ``target(log_tau, log_var) -> (log density, Cholesky factor)``, per chain.
LogTarget = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def _inverse_gamma(
    shape: float | torch.Tensor, rate: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Draws of InverseGamma(shape, rate), elementwise, as rate / Gamma(shape).

    ``shape`` may be a tensor of ``rate``'s shape already (a kernel keeps its
    constant shapes), which saves three tensor operations per call.
    """
    if not (isinstance(shape, torch.Tensor) and shape.shape == rate.shape):
        shape = torch.as_tensor(shape, dtype=rate.dtype, device=rate.device)
        shape = shape.expand(rate.shape).contiguous()
    return rate / _gamma(shape, generator)


def noise_correction(prior, proposal, current, generator: torch.Generator):
    """Accept or reject inverse-gamma proposals of ``sigma**2`` (per chain).

    ``proposal`` is drawn from the likelihood times the noise prior's
    inverse-gamma part (``NoisePrior.conjugate_form``), independently of
    ``current``: an independence Metropolis-Hastings step whose acceptance
    ratio is the ratio of the rest of the prior,
    ``exp(residual_log_density(log proposal) - residual(log current))``.
    Conjugate priors have no rest: the proposal is the exact conditional
    draw, returned as is without a uniform draw.
    """
    if prior.conjugate:
        return proposal
    log_ratio = prior.residual_log_density(proposal.log()) - (
        prior.residual_log_density(current.log())
    )
    uniform = torch.rand(
        proposal.shape,
        generator=generator,
        dtype=proposal.dtype,
        device=proposal.device,
    )
    return torch.where(uniform.log() < log_ratio, proposal, current)


def _gamma(shape: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Gamma(shape, 1) draws, elementwise in memory order.

    The CPU sampler draws the elements one after another from ``generator``,
    so one call on concatenated shapes gives the same numbers as one call per
    part, in a fraction of the time.
    """
    # torch.distributions.Gamma cannot take a generator; the op underneath it
    # can. Clamping keeps a (vanishingly rare) zero gamma draw finite.
    gamma = standard_gamma(shape, generator=generator)
    return gamma.clamp_min(torch.finfo(shape.dtype).tiny)


def _positive_init(
    init: dict, name: str, default: torch.Tensor, chains: int, jitter: float, g
) -> torch.Tensor:
    """A positive starting value per chain, jittered on the log scale."""
    value = init.get(name)
    value = default if value is None else torch.as_tensor(value)
    value = value.to(dtype=_DTYPE, device=default.device).expand(chains, *default.shape)
    if jitter > 0 and chains > 1:
        # Chain 0 starts at init; the others at init * exp(jitter * N(0, 1)),
        # as run_nuts does, so that R-hat can see chains that disagree.
        noise = torch.randn(
            value.shape, generator=g, dtype=_DTYPE, device=default.device
        )
        noise[0] = 0.0
        value = value * torch.exp(jitter * noise)
    return value.clone()


def _slice_step(
    log_density, x0: torch.Tensor, width: float, generator: torch.Generator
) -> torch.Tensor:
    """One univariate slice-sampling update per batch element (Neal 2003).

    Stepping out (unbounded, ``width`` at a time) and shrinkage towards the
    current point; every batch element gets an exact draw from a kernel that
    leaves ``exp(log_density)`` invariant. The loops run until all elements
    are done; the caps are safety nets that a density with finite mass never
    reaches (shrinkage converges on ``x0``, which is always accepted).
    """

    def uniform() -> torch.Tensor:
        return torch.rand(
            x0.shape, generator=generator, dtype=x0.dtype, device=x0.device
        )

    # Height of the slice: log(U f(x0)) = log f(x0) - Exp(1).
    level = log_density(x0) + uniform().clamp_min(torch.finfo(x0.dtype).tiny).log()
    lo = x0 - width * uniform()
    hi = lo + width
    for _ in range(200):
        grow = log_density(lo) > level
        if not bool(grow.any()):
            break
        lo = torch.where(grow, lo - width, lo)
    for _ in range(200):
        grow = log_density(hi) > level
        if not bool(grow.any()):
            break
        hi = torch.where(grow, hi + width, hi)
    x = x0.clone()
    done = torch.zeros(x0.shape, dtype=torch.bool, device=x0.device)
    for _ in range(200):
        proposal = lo + (hi - lo) * uniform()
        accept = ~done & (log_density(proposal) > level)
        x = torch.where(accept, proposal, x)
        done = done | accept
        if bool(done.all()):
            break
        below = proposal < x0
        lo = torch.where(~done & below, proposal, lo)
        hi = torch.where(~done & ~below, proposal, hi)
    return x


def _metropolis(
    target: LogTarget,
    state: tuple[torch.Tensor, torch.Tensor],
    current: tuple[torch.Tensor, torch.Tensor],
    which: int,
    step: float,
    bound: float,
    generator: torch.Generator,
) -> tuple[tuple, tuple, torch.Tensor]:
    """One random-walk Metropolis move of ``state[which]``, per chain.

    ``current`` is ``target(*state)``. Proposals are clamped to
    ``[-bound, bound]``, a truncation far out in the tails. Returns the new
    state, its ``target`` value and the acceptance probabilities.
    """
    value, chol = current
    x = state[which]
    like = {"dtype": x.dtype, "device": x.device, "generator": generator}
    proposal = (x + step * torch.randn(x.shape, **like)).clamp(-bound, bound)
    moved = list(state)
    moved[which] = proposal
    new_value, new_chol = target(*moved)
    log_ratio = new_value - value
    log_u = torch.rand(x.shape, **like).clamp_min(torch.finfo(x.dtype).tiny).log()
    accept = log_u < log_ratio
    moved[which] = torch.where(accept, proposal, x)
    value = torch.where(accept, new_value, value)
    chol = torch.where(accept[:, None, None], new_chol, chol)
    return tuple(moved), (value, chol), log_ratio.clamp(max=0.0).exp()
