"""``run_gibbs``: chains, warm-up and the buffers of draws around a kernel."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from ...posterior import R_HAT_LIMIT
from ...priors import CoefPrior, NoisePrior, resolve_noise_prior
from .._progress import ProgressBar
from ..base import warn_convergence
from ._kernel import GibbsKernel
from ._updates import _DTYPE
from .horseshoe import HorseshoeGibbsKernel
from .logistic import PolyaGammaKernel
from .normal import NormalGibbsKernel
from .scale_mixture import ScaleMixtureGibbsKernel

__all__ = [
    "GIBBS_KERNELS",
    "GibbsResult",
    "check_gibbs_prior",
    "drive",
    "run_gibbs",
]

#: The Gibbs kernels by name; a prior names its own by ``prior.gibbs_kernel``.
GIBBS_KERNELS: dict[str, type[GibbsKernel]] = {
    "normal": NormalGibbsKernel,
    "horseshoe": HorseshoeGibbsKernel,
    "polya_gamma": PolyaGammaKernel,
    "laplace": ScaleMixtureGibbsKernel,
    "student_t": ScaleMixtureGibbsKernel,
}

#: The kernels of GIBBS_KERNELS that sample the linear model under one prior.
_PRIOR_KERNELS = ("normal", "horseshoe", "laplace", "student_t")

Sampler = Literal["auto", "rue", "bhattacharya"]
TauUpdate = Literal["auto", "both", "conjugate", "marginal", "blocked"]
Backend = Literal["auto", "numba", "numpy", "torch"]


@dataclass(frozen=True)
class GibbsResult:
    """What a run of ``run_gibbs`` produced.

    Attributes
    ----------
    samples : dict of str to Tensor
        Draws after warm-up, shape ``(chains, draws, ...)``, in the dtype and
        on the device of ``Xc``, of the sites asked for (``sites``; all by
        default): ``"coef"`` (d,); ``"noise_var"`` when
        ``noise="prior"``; for the horseshoe also ``"tau"``,
        ``"lambda"`` (d,) and ``"z" = coef / (tau * lambda)`` (d,), the
        non-centred sites of ``Horseshoe``.
    noise_scale : float or None
        The noise scale the chains were run with when it was not sampled: the
        given float, or the empirical-Bayes estimate for ``noise="point"``.
    sampler : {"svd", "rue", "bhattacharya"}
        The algorithm that drew ``coef``.
    tau_update : {"both", "conjugate", "marginal", "blocked"} or None
        How ``tau`` was updated (horseshoe only).
    """

    samples: dict[str, torch.Tensor]
    noise_scale: float | None
    sampler: str
    tau_update: str | None = None


#: Effective draws of every site a Gibbs run aims for (summed over chains):
#: Vehtari et al. (2021) ask for a bulk ESS over 400 before trusting R-hat.
TARGET_ESS = 400
#: A run that falls short of TARGET_ESS is extended to at most
#: this many times ``num_samples`` draws per chain.
MAX_GROWTH = 4


def drive(
    kernel,
    state,
    *,
    num_samples: int,
    num_warmup: int,
    target_ess: float | None = None,
    max_samples: int | None = None,
    verbose: bool = False,
    owner: str = "Gibbs",
) -> tuple[dict, object]:
    """Run ``num_warmup + num_samples`` sweeps of a ``SweepKernel`` from ``state``.

    With ``target_ess``, the chains are then extended until the smallest
    effective sample size of any reported quantity reaches it and the largest
    split R-hat is at most ``R_HAT_LIMIT`` (Vehtari et al. 2021 ask for both
    before trusting the draws), or there are ``max_samples`` draws per
    chain: a short run then means a slowly mixing posterior, not too few
    sweeps. Each extension asks for the draws that the effective sample
    size per draw so far says are missing, and at least a quarter more. A run
    that stops at ``max_samples`` with fewer effective draws than
    ``target_ess`` warns (``ConvergenceWarning``, naming ``owner``): its
    estimates carry more Monte Carlo error than was asked for. A high R-hat
    is left to the caller's diagnostics, which report it in any case.

    With ``verbose``, a progress bar on standard error counts the sweeps of
    the warm-up, the sampling and each extension, and a final line gives the
    draws kept and their smallest effective sample size. The sweeps are then
    run in pieces, with the same random numbers and so the same draws.

    Returns the draws after warm-up of every site ``kernel.report`` gives,
    shape ``(chains, draws, ...)``, and the last state.
    """
    with ProgressBar(
        num_warmup + num_samples, "Gibbs", enabled=verbose, unit="sweep"
    ) as bar:
        out, state = _sweeps(kernel, state, num_samples, 0, num_warmup, bar)
        done = num_samples
        limit = num_samples if max_samples is None else max_samples
        ess = None
        while target_ess is not None and done < limit:
            ess, r_hat = _mixing(out)
            if ess >= target_ess and not r_hat > R_HAT_LIMIT:
                break
            # Effective draws grow about in proportion to draws: ask for what
            # the rate so far says is missing, a quarter more for the noise in
            # that estimate, and at least a quarter of what there is.
            wanted = done * (target_ess / max(ess, 1.0) - 1.0) * 1.25
            more = min(limit - done, max(math.ceil(wanted), done // 4, 1))
            bar.extend(more)
            if ess < target_ess:
                bar.phase(f"extending: min ESS {ess:.0f} < {target_ess:g}")
            else:
                bar.phase(f"extending: max R-hat {r_hat:.3f} > {R_HAT_LIMIT}")
            extra, state = _sweeps(kernel, state, more, num_warmup + done, 0, bar)
            out = {name: torch.cat([out[name], extra[name]], 1) for name in out}
            done += more
            ess = None
        if target_ess is not None and ess is None:
            ess, r_hat = _mixing(out)
        if bar.enabled:
            bar.finish(_final_line(out, num_warmup, done, ess, target_ess))
    if target_ess is not None and ess < target_ess:
        warn_convergence(
            owner,
            f"Gibbs stopped at its cap of {done} draws per chain with a "
            f"smallest effective sample size of {ess:.0f}, short of "
            f"target_ess={target_ess:g}: its estimates carry more Monte Carlo "
            "error than asked for. Raise the cap (max_samples; 4 * num_samples "
            "in the estimators) or lower target_ess.",
        )
    return out, state


#: Updates of the progress bar per call of ``_sweeps`` (at most).
_PROGRESS_UPDATES = 100


def _sweeps(kernel, state, count: int, first: int, num_warmup: int, bar):
    """``kernel.run_sweeps``, in pieces that advance ``bar`` when it is shown.

    The pieces make the same sweeps as one call: each starts at its step
    (``first``), and warm-up sweeps are made by ``kernel.sample`` (what
    ``SweepKernel.run_sweeps`` does), since ``run_sweeps`` must keep a draw.
    """
    if not bar.enabled:
        return kernel.run_sweeps(state, count, first=first, num_warmup=num_warmup)
    piece = max(1, math.ceil((num_warmup + count) / _PROGRESS_UPDATES))
    step, end_warmup = first, first + num_warmup
    if num_warmup:
        bar.phase("warm-up")
    while step < end_warmup:
        stop = min(step + piece, end_warmup)
        for sweep in range(step, stop):
            state = kernel.sample(state, sweep, warmup=True)
        bar.update(stop - step)
        step = stop
    if first == 0:
        bar.phase("sampling")
    pieces = []
    while step < end_warmup + count:
        size = min(piece, end_warmup + count - step)
        kept, state = kernel.run_sweeps(state, size, first=step)
        pieces.append(kept)
        bar.update(size)
        step += size
    out = {name: torch.cat([p[name] for p in pieces], 1) for name in pieces[0]}
    return out, state


def _final_line(out: dict, num_warmup: int, draws: int, ess, target_ess) -> str:
    """The progress bar's final line: what was kept, and how well it mixed."""
    chains = next(iter(out.values())).shape[0]
    line = (
        f"{chains} chain{'s' * (chains != 1)} x {draws} draws "
        f"after {num_warmup} warm-up sweeps"
    )
    if ess is None:
        ess = _min_ess(out)
    if math.isfinite(ess):
        line += f", min ESS {ess:.0f}"
    if target_ess is not None:
        reached = ess >= target_ess
        line += f" ({'reached' if reached else 'short of'} target {target_ess:g})"
    return line


def _min_ess(draws: dict) -> float:
    """The smallest effective sample size over every entry of every site."""
    return _mixing(draws)[0]


def _mixing(draws: dict) -> tuple[float, float]:
    """The smallest effective sample size and the largest split R-hat.

    Over every entry of every site; ``(0, inf)`` with fewer than 4 draws.
    """
    from ...posterior import mcmc_diagnostics

    if next(iter(draws.values())).shape[1] < 4:
        return 0.0, math.inf
    n_eff, r_hat = mcmc_diagnostics(draws)
    return _extreme(n_eff, min, math.inf), _extreme(r_hat, max, 1.0)


def _extreme(values: dict, pick, default: float) -> float:
    """``pick`` (min or max) over the finite entries of every site's array."""
    flat = np.concatenate([np.ravel(v) for v in values.values()])
    flat = flat[np.isfinite(flat)]
    return float(pick(flat)) if flat.size else default


def check_gibbs_prior(prior: CoefPrior | str) -> CoefPrior:
    """Return the validated prior, or raise ``ValueError`` naming it.

    Parameters
    ----------
    prior : CoefPrior or str
        A prior object or an alias from ``skbayes.priors.COEF_PRIORS``.

    Returns
    -------
    CoefPrior
        The validated prior; its ``gibbs_kernel`` is a key of
        ``GIBBS_KERNELS``.
    """
    if isinstance(prior, str):
        from ...priors import resolve_coef_prior

        prior = resolve_coef_prior(prior)
    if getattr(prior, "gibbs_kernel", None) not in _PRIOR_KERNELS:
        allowed = ", ".join(repr(name) for name in _PRIOR_KERNELS)
        raise ValueError(
            f"inference='gibbs' has no sampler for the {type(prior).__name__} "
            f"prior; it supports priors whose gibbs_kernel is one of {allowed}. "
            "Use inference='nuts' or 'svi'."
        )
    return prior.validate()


def _check_data(Xc: torch.Tensor, yc: torch.Tensor, stats) -> None:
    """Raise ``ValueError`` unless the shapes of ``run_gibbs``'s data agree."""
    if Xc.dim() != 2 or yc.dim() != 1 or len(yc) != len(Xc):
        raise ValueError(
            f"Xc must be (n, d) and yc (n,); got {tuple(Xc.shape)} and "
            f"{tuple(yc.shape)}."
        )
    if stats is not None:
        d = Xc.shape[1]
        gram, xty = stats
        if tuple(gram.shape) != (d, d) or tuple(xty.shape) != (d,):
            raise ValueError(
                f"stats must be (X'X, X'y) of shapes {(d, d)} and {(d,)}; got "
                f"{tuple(gram.shape)} and {tuple(xty.shape)}."
            )


def _check_options(
    noise, noise_prior, counts, sampler, tau_update, backend, threshold
) -> tuple:
    """Raise ``ValueError`` on a malformed option; return the ``NoisePrior``."""
    if isinstance(noise, str):
        if noise not in ("prior", "point"):
            raise ValueError(
                f"noise must be 'prior', 'point' or a float, got {noise!r}."
            )
    elif not (isinstance(noise, (int, float)) and math.isfinite(noise) and noise > 0):
        raise ValueError(f"A fixed noise scale must be positive, got {noise!r}.")
    noise_prior = resolve_noise_prior(noise_prior)
    num_samples, num_warmup, num_chains = counts
    if num_samples < 1 or num_warmup < 0 or num_chains < 1:
        raise ValueError(
            "num_samples and num_chains must be >= 1 and num_warmup >= 0; got "
            f"{num_samples}, {num_chains} and {num_warmup}."
        )
    if tau_update not in ("auto", "both", "conjugate", "marginal", "blocked"):
        raise ValueError(
            "tau_update must be 'auto', 'both', 'conjugate', 'marginal' or "
            f"'blocked', got {tau_update!r}."
        )
    if sampler not in ("auto", "rue", "bhattacharya"):
        raise ValueError(
            f"sampler must be 'auto', 'rue' or 'bhattacharya', got {sampler!r}."
        )
    if backend not in ("auto", "numba", "numpy", "torch"):
        raise ValueError(
            f"backend must be 'auto', 'numba', 'numpy' or 'torch', got {backend!r}."
        )
    if threshold is not None and not (
        isinstance(threshold, (int, float)) and 0 < threshold < math.inf
    ):
        raise ValueError(
            f"approximate_threshold must be a positive float, got {threshold!r}."
        )
    return noise_prior


def run_gibbs(
    Xc: torch.Tensor,
    yc: torch.Tensor,
    *,
    prior: CoefPrior | str,
    noise: str | float = "prior",
    noise_prior: NoisePrior | tuple[float, float] = (0.1, 0.1),
    fit_intercept: bool = True,
    num_samples: int = 1000,
    num_warmup: int = 500,
    num_chains: int = 1,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    init: dict | None = None,
    init_jitter: float = 0.1,
    sampler: Sampler = "auto",
    tau_update: TauUpdate = "auto",
    backend: Backend = "auto",
    stats: tuple[torch.Tensor, torch.Tensor] | None = None,
    target_ess: float | None = None,
    max_samples: int | None = None,
    verbose: bool = False,
    approximate_threshold: float | None = None,
    n_observations: float | None = None,
    sites: Collection[str] | None = None,
    owner: str = "run_gibbs",
) -> GibbsResult:
    """Sample the linear model's posterior by Gibbs sweeps.

    Parameters
    ----------
    Xc : Tensor of shape (n, d)
        Centred design matrix (the columns' means subtracted when
        ``fit_intercept``). Any float dtype and device; sampling runs in
        float64 on that device.
    yc : Tensor of shape (n,)
        Centred targets.
    prior : CoefPrior or str
        The coefficient prior (or its alias, such as ``"normal"`` or
        ``"horseshoe"``). Its ``gibbs_kernel`` names the kernel of
        ``GIBBS_KERNELS`` that samples it: Normal and Horseshoe (and their
        subclasses) have one; any other prior raises ``ValueError``.
    noise : "prior", "point" or float
        ``"prior"`` samples ``sigma**2`` under ``noise_prior``. A float
        fixes the noise *scale*
        ``sigma``. ``"point"`` is empirical Bayes: ``sigma**2`` is fixed at
        the maximiser of the marginal likelihood, found exactly for the
        Normal prior and by stochastic approximation EM during warm-up for
        the horseshoe (see Notes).
    noise_prior : NoisePrior or tuple of (shape, rate)
        The prior on ``sigma**2`` (``skbayes.priors.noise``); a pair is
        ``InverseGamma(shape, rate)``.
    fit_intercept : bool
        Whether the data were centred to integrate a flat-prior intercept out.
        That leaves ``n - 1`` degrees of freedom for ``sigma**2`` instead of
        ``n`` (the model's ``log(sigma)`` factor).
    num_samples, num_warmup : int
        Draws kept and sweeps discarded, per chain.
    num_chains : int
        Chains, run together as one batch.
    seed : int, optional
        Seeds a fresh generator on ``Xc``'s device when ``generator`` is not
        given; ``None`` draws fresh entropy.
    generator : torch.Generator, optional
        Source of all random numbers; must live on ``Xc``'s device.
    init : dict, optional
        Starting values of ``"noise_var"``, ``"tau"`` and ``"lambda"`` (other
        keys are ignored: ``coef`` is drawn first, from its conditional).
        Defaults: ``var(yc)``, ``global_scale`` and ones.
    init_jitter : float
        Chains after the first start from the initial values times
        ``exp(init_jitter * N(0, 1))``.
    sampler : {"auto", "rue", "bhattacharya"}
        Horseshoe only: how ``coef`` is drawn. ``"auto"`` takes Rue's
        Cholesky sampler when ``n >= d`` and Bhattacharya et al.'s otherwise.
        The Normal prior always uses a precomputed SVD.
    tau_update : {"auto", "both", "conjugate", "blocked"}
        Horseshoe only: how the global scale ``tau`` (and ``sigma**2``)
        move. ``"conjugate"``: Makalic and Schmidt's inverse-gamma draw of
        ``tau`` given ``coef`` and ``lambda``. ``"marginal"``: a slice update
        of ``tau`` given ``coef`` with ``lambda`` integrated out (see
        ``update_horseshoe_scales``). ``"blocked"``: Metropolis steps on
        ``tau`` and ``sigma**2`` with ``coef`` integrated out, then a fresh
        ``coef`` (after Johndrow et al. 2020). ``"both"``: the blocked steps
        and the conjugate draw each sweep. The conjugate draw of ``sigma**2 |
        coef`` is made in every case. ``"auto"`` is ``"marginal"`` when
        ``d <= 2 n`` and ``"both"`` otherwise, the choice that gave the most
        effective draws per second of ``tau`` and the coefficients at the
        sizes measured (``docs/benchmarks.md``, "Gibbs").
    backend : {"auto", "numba", "numpy", "torch"}
        Horseshoe only: where the sweeps run. ``"numpy"`` keeps the chains
        in numpy arrays and calls LAPACK directly (``HorseshoeCpuSweeps``),
        which costs several times less per sweep than torch's per-operation
        dispatch at the sizes Rue's sampler serves; it needs the CPU,
        ``sampler="rue"`` and ``tau_update`` ``"conjugate"`` or
        ``"marginal"``. ``"numba"`` runs the same sweeps as one compiled
        loop (``HorseshoeCompiledSweeps``), which removes the numpy calls'
        overhead as well; it needs, besides, a noise that is fixed, a point
        estimate, or sampled under a conjugate prior. ``"torch"`` runs every
        sweep in torch, on any device. ``"auto"`` takes ``"numba"``, else
        ``"numpy"``, where they apply. All make the same moves, with
        different random streams. With
        ``sampler="bhattacharya"`` the numpy sweeps make the collapsed moves
        of ``tau`` and ``sigma**2`` by slice sampling on an
        eigendecomposition (``WideHorseshoeSweeps``), not by Metropolis.
    approximate_threshold : float, optional
        Horseshoe only: Johndrow, Orenstein and Bhattacharya's (2020)
        approximate algorithm. Each sweep, the columns whose prior variance
        is small, ``tau**2 lambda_j**2 mean(x_j**2) <= approximate_threshold
        * sigma**2``, are left out of the ``n x n`` system and their
        coefficients drawn from the prior given the scales; the sweep then
        costs ``n**2`` times the number of active columns instead of
        ``n**2 d``. Needs ``sampler="bhattacharya"`` (the default with a
        threshold) on the CPU. Johndrow et al. use ``1e-4`` on standardised
        columns; ``docs/benchmarks.md`` ("p >> n") measures the trade.
    stats : tuple of Tensor, optional
        ``(Xc'Xc, Xc'yc)``, of shapes (d, d) and (d,), when already computed
        (converted to float64 on ``Xc``'s device). They replace the products
        the Normal prior's SVD (when ``n > d``) and Rue's sampler would form.
    target_ess, max_samples : optional
        Extend the chains until every quantity has ``target_ess`` effective
        draws, up to ``max_samples`` draws per chain (see ``drive``); a run
        that stops at the cap short of the target warns.
    n_observations : float, optional
        The sample size the rows stand for, when they are weighted rows
        scaled by ``sqrt(w)`` (``sum(w)``; see ``LinearData``): it sets the
        noise's degrees of freedom. Defaults to the number of rows.
    sites : collection of str, optional
        The sites to return (all by default), such as the non-centred
        horseshoe's ``"tau"``, ``"lambda"`` and ``"z"`` without ``"coef"``.
        Without ``target_ess`` the kernel is told, so that it holds no draws
        of the others (the horseshoe's CPU sweeps then write ``z`` over the
        buffer of ``coef``); with it, every site is kept until the end, since
        the target is checked on every site.
    owner : str
        The name a convergence warning starts with (the estimator's).

    Returns
    -------
    GibbsResult

    Notes
    -----
    Horseshoe prior. One sweep draws, in turn (the auxiliary variables
    ``nu`` and ``xi`` are those of Makalic and Schmidt 2016, with ``tau``'s
    scale ``A = global_scale``):

    * with ``tau_update`` ``"blocked"`` or ``"both"``: random-walk Metropolis
      steps on ``log tau`` and then (when sampled) ``log sigma**2`` under
      ``p(tau, sigma**2 | lambda, y)``, ``coef`` integrated out (see
      ``_CollapsedHorseshoe``; step sizes are tuned during warm-up
      only); in the numpy sweeps of Bhattacharya's sampler, two rounds of
      slice updates of both instead (``WideHorseshoeSweeps``);
    * ``coef | sigma**2, tau, lambda, y`` — Gaussian, see ``sample_rue``;
    * when sampled, ``sigma**2 | coef, y ~ IG(shape + dof/2, rate +
      RSS/2)`` with ``dof = n - 1`` if ``fit_intercept`` else ``n``;
    * in the numpy sweeps of Bhattacharya's sampler, passes of local
      moves: for each j in turn, ``lambda_j`` given the other coefficients,
      ``coef_j`` integrated out, by slice sampling, then ``coef_j``
      (``WideHorseshoeSweeps``);
    * ``nu_j | lambda_j ~ IG(1, 1 + 1/lambda_j**2)``;
    * with ``tau_update="marginal"``: ``log tau`` by slice sampling from
      ``p(tau | coef, nu)``, in which ``coef_j | tau, nu_j`` is a Cauchy of
      scale ``tau sqrt(2 / nu_j)`` (``lambda`` integrated out);
    * ``lambda_j**2 | coef_j, tau, nu_j ~ IG(1, 1/nu_j + coef_j**2/(2 tau**2))``;
    * with ``tau_update`` ``"conjugate"`` or ``"both"``: ``xi | tau ~ IG(1,
      1/A**2 + 1/tau**2)``, then ``tau**2 | coef, lambda, xi ~ IG((d + 1)/2,
      1/xi + sum_j coef_j**2 / (2 lambda_j**2))``.

    These follow from ``lambda_j ~ C+(0, 1)`` being ``lambda_j**2 | nu_j ~
    IG(1/2, 1/nu_j)``, ``nu_j ~ IG(1/2, 1)``, and ``tau ~ C+(0, A)`` being
    ``tau**2 | xi ~ IG(1/2, 1/xi)``, ``xi ~ IG(1/2, 1/A**2)``. Because
    ``coef``'s prior variance is ``tau**2 lambda_j**2`` (no ``sigma**2``), no
    ``sigma`` appears in them, and ``sigma**2``'s shape gains ``dof/2``, not
    ``(dof + d)/2``.

    Normal prior: one slice-sampling update (Neal 2003) of ``log sigma**2``
    under its marginal posterior ``p(sigma**2 | y)``, in which
    ``y ~ N(0, sigma**2 I + scale**2 X X')`` (times ``sigma`` if
    ``fit_intercept``), then ``coef | sigma**2, y``, the same Gaussian as
    above. Redrawing ``coef`` right after ``sigma**2`` makes the pair one
    block move that leaves the joint posterior invariant. The slice width is
    tuned during warm-up only.

    For ``noise="point"`` with the Normal prior, ``sigma**2`` is the exact
    maximiser of that marginal likelihood (without the inverse-gamma prior),
    found once before sampling. When ``d >= n - 1`` it can be degenerate
    (``sigma -> 0``), as for any type-II maximum likelihood.

    For ``noise="point"`` with the horseshoe the warm-up updates
    ``sigma**2 <- (1 - g_t) sigma**2 + g_t * mean_chains(RSS) / dof``.
    ``E[RSS | y, sigma**2] / dof`` is the EM update for the maximiser of the
    marginal likelihood, since ``log p(y | coef, sigma**2) = -dof/2 log
    sigma**2 - RSS / (2 sigma**2)`` up to constants. ``g_t = 1`` for the
    first half of the warm-up (stochastic EM) and ``1 / k`` for the k-th
    sweep of the second half, which averages the updates (Delyon, Lavielle
    and Moulines 1999). All chains share the estimate. With no warm-up,
    ``sigma`` stays at its initial value.

    Examples
    --------
    >>> import torch
    >>> from skbayes.inference.gibbs import run_gibbs
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(20, 3, dtype=torch.float64, generator=g)
    >>> y = X @ torch.tensor([1.0, 0.0, -1.0], dtype=torch.float64)
    >>> Xc, yc = X - X.mean(0), y - y.mean()
    >>> result = run_gibbs(
    ...     Xc, yc, prior="horseshoe", num_samples=10, num_warmup=5,
    ...     num_chains=2, seed=0, stats=(Xc.T @ Xc, Xc.T @ yc),
    ... )
    >>> for name, value in result.samples.items():
    ...     print(name, tuple(value.shape))
    coef (2, 10, 3)
    noise_var (2, 10)
    tau (2, 10)
    lambda (2, 10, 3)
    z (2, 10, 3)
    >>> result.sampler, result.tau_update, result.noise_scale
    ('rue', 'marginal', None)
    """
    _check_data(Xc, yc, stats)
    prior = check_gibbs_prior(prior)
    counts = (num_samples, num_warmup, num_chains)
    noise_prior = _check_options(
        noise, noise_prior, counts, sampler, tau_update, backend, approximate_threshold
    )
    device, out_dtype = Xc.device, Xc.dtype
    if generator is None:
        if seed is None:
            from ..._runtime import make_seed

            seed = make_seed(None)
        generator = torch.Generator(device=device).manual_seed(int(seed))
    X = Xc.to(_DTYPE)
    y = yc.to(device=device, dtype=_DTYPE)
    if stats is not None:
        stats = tuple(s.to(device=device, dtype=_DTYPE) for s in stats)

    kernel = GIBBS_KERNELS[prior.gibbs_kernel](
        prior,
        noise=noise,
        noise_prior=noise_prior,
        fit_intercept=fit_intercept,
        sampler=sampler,
        tau_update=tau_update,
        backend=backend,
        approximate_threshold=approximate_threshold,
    )
    state = kernel.init(
        X,
        y,
        stats,
        num_chains=num_chains,
        num_warmup=num_warmup,
        generator=generator,
        init={} if init is None else init,
        init_jitter=init_jitter,
        n_observations=n_observations,
    )
    sites = None if sites is None else frozenset(sites)
    if sites is not None and target_ess is None:
        kernel.kept_sites = sites
    out, state = drive(
        kernel,
        state,
        num_samples=num_samples,
        num_warmup=num_warmup,
        target_ess=target_ess,
        max_samples=max_samples,
        verbose=verbose,
        owner=owner,
    )
    return GibbsResult(
        samples={
            name: value.to(out_dtype)
            for name, value in out.items()
            if sites is None or name in sites
        },
        noise_scale=kernel.noise_scale(state),
        sampler=kernel.sampler,
        tau_update=kernel.tau_update,
    )
