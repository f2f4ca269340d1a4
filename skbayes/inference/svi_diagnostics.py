"""How far to trust a fitted guide: importance ratios and their Pareto k-hat.

After an SVI fit, ``S`` draws from the guide ``q`` are weighed by
``p(theta, y) / q(theta)``. The shape k-hat of the generalised Pareto tail
fitted to these ratios (``skbayes.inference._psis``) says whether ``q``
covers the posterior: below 0.5 importance sampling from ``q`` would be
reliable, up to 0.7 usable, above 0.7 the guide misses mass the posterior has
and its means and intervals may be far off (Yao, Vehtari, Simpson and
Gelman 2018, "Yes, but did it work?"). It costs ``S`` evaluations of the log
density on the full data, batched.

k-hat describes the tail of the ratios, however small their spread. A
Gaussian guide of a posterior with exponential tails (a Beta posterior in
logit space) has k = 1 in theory, yet ratios that vary by 5% over 1,000
draws, and means and sds that match to Monte Carlo error. So a fit is
flagged when k-hat exceeds ``PARETO_K_LIMIT`` *and* the log ratios' sd
exceeds ``FLAT_LOG_RATIO_SD``: where q puts its mass, p is then not a
constant multiple of it.

References
----------
Yao, Y., Vehtari, A., Simpson, D. and Gelman, A. (2018). Yes, but did it
work?: Evaluating variational inference. *ICML*, PMLR 80.
"""

from __future__ import annotations

import numpy as np
import torch
from pyro import poutine
from pyro.infer.autoguide import AutoContinuous, AutoDelta, AutoNormal

from .._compat import autonormal_loc_scale
from ._latent import split_latent
from ._psis import psis_log_weights

__all__ = [
    "FLAT_LOG_RATIO_SD",
    "PARETO_K_LIMIT",
    "importance_log_ratios",
    "svi_diagnostics",
    "unreliable",
]

#: Above this k-hat a fit warns (Yao et al. 2018)...
PARETO_K_LIMIT = 0.7
#: ... unless the log importance ratios vary less than this (ratios within
#: about 10% of each other over the draws).
FLAT_LOG_RATIO_SD = 0.1
#: Guide draws the diagnostic uses.
NUM_DRAWS = 1000
#: Entries of (draws x rows) one batched log-density evaluation may touch,
#: which bounds its memory at a few hundred MB.
_CHUNK_ENTRIES = 10_000_000


def importance_log_ratios(model, guide, data: tuple, num_draws: int) -> np.ndarray:
    """``log p(theta, y) - log q(theta)`` at ``num_draws`` draws from the guide.

    Gaussian autoguides (``AutoContinuous`` and ``AutoNormal``) are drawn
    from all at once and scored by the model's ``log_density`` in their
    unconstrained space; guides that offer
    ``rsample_with_log_prob`` by ``log_joint``; any other guide is traced
    once per draw and the model replayed on it. Runs in the fit's parameter
    scope and random stream.

    Parameters
    ----------
    model : BayesianModule
        The model as fitted (point parameters fixed or as fitted).
    guide : callable
        The fitted guide.
    data : tuple
        The full data, as the model's log density takes it.
    num_draws : int
        Draws from the guide.

    Returns
    -------
    ndarray of shape (num_draws,)
    """
    with torch.no_grad():
        if isinstance(guide, AutoContinuous):
            posterior = guide.get_posterior()
            latent = posterior.sample((num_draws,))
            log_q = posterior.log_prob(latent)
            draws = split_latent(guide, latent)
        elif isinstance(guide, AutoNormal):
            draws, log_q = _autonormal_draws(guide, num_draws)
        elif hasattr(guide, "rsample_with_log_prob"):
            values, log_q = guide.rsample_with_log_prob(num_draws)
            log_p = model.log_joint(values, *data)
        else:
            log_p, log_q = _traced_log_ratios(model, guide, data, num_draws)
        if isinstance(guide, AutoContinuous | AutoNormal):
            log_p = _batched_log_density(model, draws, data, num_draws)
    return (log_p - log_q).double().cpu().numpy()


def _autonormal_draws(guide, num_draws):
    draws, log_q = {}, 0.0
    for name, _ in guide.prototype_trace.iter_stochastic_nodes():
        loc, scale = autonormal_loc_scale(guide, name)
        normal = torch.distributions.Normal(loc, scale)
        draws[name] = normal.sample((num_draws,))
        log_q = log_q + normal.log_prob(draws[name]).reshape(num_draws, -1).sum(-1)
    return draws, log_q


def _batched_log_density(model, draws, data, num_draws):
    rows = max(len(data[0]) if data else 1, 1)
    chunk = max(1, _CHUNK_ENTRIES // rows)
    parts = [
        model.log_density({k: v[i : i + chunk] for k, v in draws.items()}, *data)
        for i in range(0, num_draws, chunk)
    ]
    return torch.cat(parts)


def _traced_log_ratios(model, guide, data, num_draws):
    log_p, log_q = [], []
    for _ in range(num_draws):
        guide_trace = poutine.trace(guide).get_trace(*data)
        replayed = poutine.replay(model, trace=guide_trace)
        model_trace = poutine.trace(replayed).get_trace(*data)
        log_p.append(model_trace.log_prob_sum())
        log_q.append(guide_trace.log_prob_sum())
    return torch.stack(log_p), torch.stack(log_q)


def svi_diagnostics(model, guide, data: tuple, num_draws: int = NUM_DRAWS) -> dict:
    """The reliability diagnostic of a fitted guide.

    Returns
    -------
    dict
        ``pareto_k``: the Pareto k-hat of the importance ratios (NaN when
        they could not be formed, inf for a point-mass guide);
        ``log_ratio_sd``: the sd of the log ratios; ``importance_ess``: the
        effective sample size of the Pareto-smoothed weights, out of
        ``pareto_k_draws`` draws.
    """
    if isinstance(guide, AutoDelta):
        # A point mass has no density to weigh the posterior against: its
        # "draws" are one point, and no amount of them covers the posterior.
        return _report(float("inf"), float("inf"), 0.0, 0)
    ratios = importance_log_ratios(model, guide, data, num_draws)
    if np.isnan(ratios).any() or (ratios == np.inf).any():
        return _report(float("nan"), float("nan"), float("nan"), num_draws)
    log_weights, khat = psis_log_weights(ratios)
    ess = float(1.0 / np.exp(2.0 * log_weights).sum())
    finite = ratios[np.isfinite(ratios)]
    return _report(khat, float(finite.std()), ess, num_draws)


def _report(khat, log_ratio_sd, ess, draws) -> dict:
    return {
        "pareto_k": float(khat),
        "log_ratio_sd": log_ratio_sd,
        "importance_ess": ess,
        "pareto_k_draws": draws,
    }


def unreliable(diagnostics: dict) -> bool:
    """Whether ``svi_diagnostics`` flags the fit (see the module's docstring)."""
    khat, spread = diagnostics["pareto_k"], diagnostics["log_ratio_sd"]
    if np.isnan(khat) or khat == np.inf:
        return True  # NaN: the ratios could not be formed; inf: a point mass
    # k-hat is -inf for constant ratios: the guide is the posterior.
    return khat > PARETO_K_LIMIT and spread > FLAT_LOG_RATIO_SD
