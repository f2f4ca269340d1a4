"""Compiled statistics of MCMC chains shaped ``(chains, draws, quantities)``.

Both loops run along the contiguous quantities innermost, so the draws are
read in their own order, with no transposed copy.

``variance_stats`` gives Pyro's within-chain and pooled variance estimates.
``initial_monotone_tau`` gives Geyer's initial monotone sequence from the
autocovariances summed lag by lag: the effective sample size needs them only
up to the lag where the paired autocorrelations first reach 0, a few lags
for a chain that mixes well and a few dozen for one that mixes slowly.
Summing those lags directly costs O(n) each, against a pair of Fourier
transforms of length 2n for every lag at once; quantities whose sequence
runs past ``max_lag`` are left to the transforms (``posterior``).
"""

from __future__ import annotations

import numpy as np

from ._numba import compiled

__all__ = ["initial_monotone_tau", "variance_stats"]


@compiled
def variance_stats(x):  # pragma: no cover - compiled
    """Chain means, within-chain variance and pooled variance estimator.

    ``x`` is ``(chains, n, quantities)`` with n >= 2. As Pyro's
    ``_compute_chain_variance_stats``: the within-chain variance is the
    chains' mean unbiased variance; the estimator is ``(n - 1) / n`` of it
    plus the unbiased variance of the chain means, and with one chain the
    within-chain variance is the estimator itself (so that ``rho_t`` in the
    effective sample size is the chain's autocorrelation). Two passes, as
    numpy's ``var``, for accuracy.
    """
    chains, n, quantities = x.shape
    means = np.zeros((chains, quantities))
    var_within = np.zeros(quantities)
    for c in range(chains):
        # On the draws less the chain's first: a constant chain then has a
        # mean of exactly its value and a variance of exactly 0 (so R-hat
        # and the effective sample size are NaN, as Pyro's), whatever order
        # the sums are taken in.
        shift = x[c, 0]
        mean = means[c]
        for s in range(n):
            row = x[c, s]
            for q in range(quantities):
                mean[q] += row[q] - shift[q]
        mean /= n
        squares = np.zeros(quantities)
        for s in range(n):
            row = x[c, s]
            for q in range(quantities):
                deviation = row[q] - shift[q] - mean[q]
                squares[q] += deviation * deviation
        mean += shift
        var_within += squares / (n - 1)
    var_within /= chains
    var_estimator = (n - 1) / n * var_within
    if chains == 1:
        return means, var_estimator.copy(), var_estimator
    grand = means.sum(0) / chains
    between = np.zeros(quantities)
    for c in range(chains):
        for q in range(quantities):
            between[q] += (means[c, q] - grand[q]) ** 2
    return means, var_within, var_estimator + between / (chains - 1)


@compiled
def initial_monotone_tau(
    centred, var_estimator, var_within, max_lag
):  # pragma: no cover - compiled
    """The integrated autocorrelation time of each quantity, or NaN.

    ``centred`` is ``(chains, n, quantities)``, each chain centred on its
    own mean; ``var_estimator`` and ``var_within`` are the pooled and
    within-chain variance estimates per quantity. The estimator is Pyro's
    (and Stan's): ``rho_t = (var_estimator - var_within + gamma_t) /
    var_estimator`` with ``gamma_t`` the chains' mean lag-t autocovariance
    over its ``n - t`` terms; paired sums ``rho_2k + rho_2k+1``, clamped at 0
    and made monotone from k = 1; ``tau = -1 + 2 * sum``. NaN marks a
    quantity this did not settle: its sequence had not reached 0 by
    ``max_lag``, or its pooled variance is not positive.

    Each lag is summed for every unsettled quantity at once, the innermost
    loop running along the contiguous quantities, until every quantity is
    settled.
    """
    chains, n, quantities = centred.shape
    tau = np.full(quantities, np.nan)
    total = np.zeros(quantities)
    running = np.full(quantities, np.inf)
    active = var_estimator > 0.0
    unsettled = np.flatnonzero(active)
    remaining = len(unsettled)
    pair = np.empty(quantities)
    acov = np.empty(quantities)
    finished = True
    for k in range(n // 2):
        lag = 2 * k
        if remaining == 0 or lag + 1 >= max_lag:
            finished = remaining == 0
            break
        pair[:] = 0.0
        for t in range(lag, lag + 2):
            if t == 0:
                pair += 1.0
                continue
            acov[:] = 0.0
            for c in range(chains):
                for s in range(n - t):
                    early, late = centred[c, s], centred[c, s + t]
                    if 2 * remaining > quantities:
                        # Most are unsettled: every quantity, vectorised.
                        for q in range(quantities):
                            acov[q] += early[q] * late[q]
                    else:
                        for j in range(remaining):
                            q = unsettled[j]
                            acov[q] += early[q] * late[q]
            for q in range(quantities):
                pooled = var_estimator[q]
                gamma = acov[q] / (chains * (n - t))
                pair[q] += (pooled - var_within[q] + gamma) / pooled
        for q in range(quantities):
            if not active[q]:
                continue
            if k == 0:
                total[q] = -1.0 + 2.0 * pair[q]
                continue
            running[q] = min(running[q], max(pair[q], 0.0))
            if running[q] == 0.0:
                tau[q] = total[q]
                active[q] = False
            else:
                total[q] += 2.0 * running[q]
        remaining = 0
        for q in range(quantities):
            if active[q]:
                unsettled[remaining] = q
                remaining += 1
    if finished:
        for q in range(quantities):
            if active[q]:
                tau[q] = total[q]
    return tau
