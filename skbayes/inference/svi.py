"""Stochastic variational inference that stops by itself.

Two loss paths share one optimisation loop:

* the *direct* path, for skbayes' own models with a Gaussian
  (``AutoContinuous``) guide: the ELBO is the model's torch ``log_density``
  at draws from the guide plus the guide's entropy, with no Pyro tracing. It
  is several times faster per step and gives the same objective;
* the *Pyro* path, ``Trace_ELBO``, for everything else: hand-written guides,
  ``AutoNormal``, ``AutoDelta`` and user factories.

Convergence is judged on the loss averaged over windows of
``WINDOW`` steps, as sklearn's MLP and SGD judge it per epoch: when
``n_iter_no_change`` windows in a row fail to improve the best average by a
relative ``tol``, the learning rate is divided by ``LR_DECAY``, and after
``MAX_LR_DECAYS`` such cuts the run stops as converged.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyro
import torch
from pyro import poutine
from pyro.infer import Trace_ELBO
from pyro.infer.autoguide import AutoContinuous

from .._compat import foreach
from ._gaussian import gaussian_sampler, rsample_gaussian
from ._latent import constrain, split_latent
from ._progress import ProgressBar
from .base import InferenceEngine, InferenceResult, RunSettings, register_engine
from .guides import (
    build_guide,
    check_guide_spec,
    loc_step_scales,
    start_gaussian_guide,
)
from .svi_diagnostics import PARETO_K_LIMIT, svi_diagnostics, unreliable

WINDOW = 50
LR_DECAY = 4.0
MAX_LR_DECAYS = 3
# A non-finite loss rolls the parameters back and cuts the learning rate by
# this factor, at most MAX_RECOVERIES times before giving up.
RECOVERY_LR_CUT = 10.0
MAX_RECOVERIES = 8


class DivergenceError(RuntimeError):
    """Raised when SVI or sampling produced non-finite values it cannot recover.

    Examples
    --------
    A learning rate far too large sends the loss to NaN; ``run_svi`` rolls the
    parameters back and cuts the rate a few times, then gives up:

    >>> import torch
    >>> from skbayes._runtime import isolated_run
    >>> from skbayes.inference import BetaGuide, DivergenceError, run_svi
    >>> from skbayes.models import BetaBernoulliModel
    >>> X = torch.tensor([[1.0], [0.0], [1.0]], dtype=torch.float64)
    >>> model = BetaBernoulliModel(alpha=1.0, beta=1.0, n_columns=1)
    >>> with isolated_run(seed=0, device=torch.device("cpu")):
    ...     try:
    ...         run_svi(model, BetaGuide(n_columns=1), (X,), learning_rate=1e12)
    ...     except DivergenceError as error:
    ...         print(error)
    SVI diverged: the loss became ... after 8 roll-backs. Lower learning_rate ...
    """


@dataclass(frozen=True)
class SVIResult:
    """What a run of ``run_svi`` produced.

    Attributes
    ----------
    loss_curve : ndarray of shape (n_iter,)
        The negative ELBO at each step.
    n_iter : int
        Steps taken.
    converged : bool
        Whether the stopping rule fired before ``max_steps``.
    learning_rate : float
        The learning rate in force at the end.
    recoveries : int
        How many times a non-finite loss was rolled back.

    Examples
    --------
    With ``tol=0`` the stopping rule is off and the run takes ``max_steps``
    steps:

    >>> import torch
    >>> from skbayes._runtime import isolated_run
    >>> from skbayes.inference import BetaGuide, run_svi
    >>> from skbayes.models import BetaBernoulliModel
    >>> X = torch.tensor([[1.0], [0.0], [1.0]], dtype=torch.float64)
    >>> model = BetaBernoulliModel(alpha=1.0, beta=1.0, n_columns=1)
    >>> with isolated_run(seed=0, device=torch.device("cpu")):
    ...     guide = BetaGuide(n_columns=1)
    ...     result = run_svi(model, guide, (X,), max_steps=100, tol=0)
    >>> result.n_iter, result.converged, result.recoveries
    (100, False, 0)
    >>> result.loss_curve.shape
    (100,)
    >>> result.learning_rate  # never cut: no stopping rule, no divergence
    0.05
    """

    loss_curve: np.ndarray
    n_iter: int
    converged: bool
    learning_rate: float
    recoveries: int


def direct_elbo(model, guide, data: tuple = ()) -> Callable | None:
    """A function ``(data, P) -> ELBO`` estimated from P reparameterised draws.

    Returns None when the direct ELBO does not apply: the model must provide
    ``log_density`` (every ``BayesianModule`` does), and the guide must be
    Gaussian in the unconstrained space (``AutoContinuous``) or offer
    ``rsample_with_log_prob`` itself. For Pyro's diagonal, full-rank and
    low-rank Gaussians the guide's entropy is used in closed form.

    Examples
    --------
    >>> import torch
    >>> from pyro.infer.autoguide import AutoDiagonalNormal, AutoNormal
    >>> from skbayes._runtime import isolated_run
    >>> from skbayes.inference import BetaGuide
    >>> from skbayes.models import BetaBernoulliModel
    >>> X = torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    >>> model = BetaBernoulliModel(alpha=1.0, beta=1.0, n_columns=2)
    >>> with isolated_run(seed=0, device=torch.device("cpu")):
    ...     elbo = direct_elbo(model, BetaGuide(n_columns=2))
    ...     guide = AutoDiagonalNormal(model)
    ...     _ = guide(X)
    ...     gaussian = direct_elbo(model, guide, (X,))
    ...     estimates = elbo((X,), 5), gaussian((X,), 5)
    >>> [tuple(estimate.shape) for estimate in estimates]
    [(), ()]

    ``AutoNormal`` is not an ``AutoContinuous`` guide, so SVI falls back to
    Pyro's ``Trace_ELBO`` for it:

    >>> direct_elbo(model, AutoNormal(model)) is None
    True
    """
    if not hasattr(model, "log_density"):
        return None
    if hasattr(guide, "rsample_with_log_prob"):

        def own_guide(data, num_particles):
            values, log_q = guide.rsample_with_log_prob(num_particles)
            return (model.log_joint(values, *data) - log_q).mean()

        return own_guide
    if not isinstance(guide, AutoContinuous):
        return None
    sample = gaussian_sampler(guide, data)
    if sample is not None:

        def gaussian(data, num_particles):
            unconstrained, entropy = sample(num_particles)
            return model.log_density(unconstrained, *data).mean() + entropy

        return gaussian

    def other_autoguide(data, num_particles):
        latent, log_q = rsample_gaussian(guide.get_posterior(), num_particles)
        unconstrained = split_latent(guide, latent)
        return (model.log_density(unconstrained, *data) - log_q).mean()

    return other_autoguide


def _direct_loss(elbo, next_data, num_particles):
    def loss():
        return -elbo(next_data(), num_particles)

    return loss


def _pyro_loss(model, guide, next_data, num_particles):
    elbo = Trace_ELBO(num_particles=num_particles)

    def loss():
        return elbo.differentiable_loss(model, guide, *next_data())

    return loss


def _collect_params(loss_fn) -> list[torch.Tensor]:
    """Run the loss once and return the unconstrained tensors it reads."""
    with poutine.trace(param_only=True) as capture:
        loss_fn()
    params = [site["value"].unconstrained() for site in capture.trace.nodes.values()]
    return list({id(p): p for p in params}.values())


def run_svi(
    model: Callable,
    guide: Callable,
    data: tuple,
    *,
    learning_rate: float = 0.05,
    max_steps: int = 5000,
    tol: float = 1e-4,
    n_iter_no_change: int = 5,
    num_particles: int = 1,
    batch_sampler: Callable[[], tuple] | None = None,
    step_scales: dict | None = None,
    verbose: bool = False,
) -> SVIResult:
    """Fit ``guide`` (and any parameters of ``model``) by maximising the ELBO.

    Must run inside a Pyro parameter-store scope (see
    ``skbayes._runtime.isolated_run``); all state it creates lives there
    and in the modules passed in.

    Parameters
    ----------
    model, guide : callable
        A Pyro model and guide taking ``*data``.
    data : tuple of tensors
        Arguments of the model and guide.
    learning_rate : float
        Initial Adam learning rate.
    max_steps : int
        Upper bound on the number of steps.
    tol : float
        Relative improvement of the windowed loss that counts as progress.
        ``0`` disables early stopping.
    n_iter_no_change : int
        Windows without progress before the learning rate is cut.
    num_particles : int
        Monte Carlo samples per ELBO estimate.
    batch_sampler : callable, optional
        Returns a fresh minibatch (a tuple like ``data``) at every step; the
        model must scale its likelihood to the full data. ``data`` is then
        only used to build the guide.
    step_scales : dict of int to Tensor, optional
        Per-element step multipliers of some parameters, keyed by ``id`` of
        their unconstrained leaf (see ``Adam``).
    verbose : bool
        Show a progress bar with the running loss.

    Returns
    -------
    SVIResult

    Examples
    --------
    Fit the tutorial's Beta guide to seven heads in ten flips. Under a uniform
    prior the exact posterior is Beta(8, 4), with mean 2/3:

    >>> import torch
    >>> from skbayes._runtime import isolated_run
    >>> from skbayes.inference import BetaGuide, run_svi
    >>> from skbayes.models import BetaBernoulliModel
    >>> flips = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1]
    >>> X = torch.tensor(flips, dtype=torch.float64).unsqueeze(-1)
    >>> model = BetaBernoulliModel(alpha=1.0, beta=1.0, n_columns=1)
    >>> guide = BetaGuide(n_columns=1)
    >>> with isolated_run(seed=0, device=torch.device("cpu")):
    ...     result = run_svi(model, guide, (X,), n_iter_no_change=2)
    ...     mean = guide.posterior().mean.item()
    >>> result.converged, result.n_iter == len(result.loss_curve)
    (True, True)
    >>> abs(mean - 2 / 3) < 0.05
    True
    """
    guide(*data)  # builds an autoguide's prototype and parameters
    next_data = batch_sampler if batch_sampler is not None else lambda: data
    elbo = direct_elbo(model, guide, data)
    if elbo is None:
        loss_fn = _pyro_loss(model, guide, next_data, num_particles)
    else:
        loss_fn = _direct_loss(elbo, next_data, num_particles)
    params = _collect_params(_pyro_loss(model, guide, lambda: data, 1))
    if isinstance(model, torch.nn.Module):
        seen = {id(p) for p in params}
        params += [p for p in model.parameters() if id(p) not in seen]

    # Argument checks cost a third of a step here; a bad step shows up as a
    # non-finite loss instead, which the loop below handles.
    with pyro.validation_enabled(False):
        schedule = _Schedule(learning_rate, max_steps, tol, n_iter_no_change)
        return _optimise(loss_fn, params, schedule, step_scales, verbose)


@dataclass(frozen=True)
class _Schedule:
    """When ``_optimise`` cuts the learning rate and when it stops."""

    learning_rate: float
    max_steps: int
    tol: float
    n_iter_no_change: int


def _optimise(loss_fn, params, schedule: _Schedule, step_scales, verbose):
    learning_rate, max_steps = schedule.learning_rate, schedule.max_steps
    tol, n_iter_no_change = schedule.tol, schedule.n_iter_no_change
    optimizer = Adam(params, learning_rate, step_scales=step_scales)
    losses = np.empty(max_steps)
    lr, best, stalled, decays, recoveries = learning_rate, math.inf, 0, 0, 0
    snapshot = [p.detach().clone() for p in params]
    converged, step = False, 0
    bar = ProgressBar(max_steps, "SVI", enabled=verbose, unit="step")
    with bar:
        while step < max_steps:
            optimizer.zero_grad()
            try:
                loss = loss_fn()
            except ValueError:
                # Distribution argument checks reject parameters that overflowed;
                # before the first step the error is the caller's, not a divergence.
                if step == 0:
                    raise
                loss = torch.tensor(math.nan)
            value = loss.item()  # one read of the tensor per step
            if not math.isfinite(value):
                recoveries += 1
                if recoveries > MAX_RECOVERIES:
                    raise DivergenceError(
                        f"SVI diverged: the loss became {value} at step {step} "
                        f"and stayed non-finite after {MAX_RECOVERIES} roll-backs. "
                        f"Lower learning_rate (now {learning_rate})."
                    )
                lr /= RECOVERY_LR_CUT
                with torch.no_grad():
                    for p, saved in zip(params, snapshot, strict=True):
                        p.copy_(saved)
                optimizer = Adam(params, lr, step_scales=step_scales)
                continue
            loss.backward()
            optimizer.step()
            losses[step] = value
            step += 1
            if bar.enabled and step % 10 == 0:
                bar.update(10, loss=f"{losses[step - 1]:.4g}", lr=f"{lr:.2g}")
            if step % WINDOW or tol <= 0:
                continue
            if all(torch.isfinite(p).all() for p in params):
                snapshot = [p.detach().clone() for p in params]
            smoothed = losses[step - WINDOW : step].mean()
            if smoothed < best - tol * max(abs(best), 1.0):
                best, stalled = smoothed, 0
                continue
            best = min(best, smoothed)
            stalled += 1
            if stalled < n_iter_no_change:
                continue
            if decays == MAX_LR_DECAYS:
                converged = True
                break
            decays, stalled = decays + 1, 0
            lr /= LR_DECAY
            optimizer.lr = lr
        if bar.enabled:
            bar.finish(_stop_line(losses[:step], converged, recoveries, schedule))
    return SVIResult(losses[:step].copy(), step, converged, lr, recoveries)


class Adam:
    """Adam (Kingma and Ba, 2015) over a list of tensors, in a few foreach calls.

    The same update as ``torch.optim.Adam`` with its defaults (the tests check
    that the two trajectories agree), without its per-call machinery:
    argument grouping, hooks and compile guards cost more than the whole
    update at d = 100, about a fifth of an SVI step (torch 2.13, CPU).

    Parameters
    ----------
    params : list of tensors
        Leaf tensors to update in place from their ``.grad``.
    lr : float
        Learning rate; may be changed between steps through ``lr``.
    betas : tuple of float
        Decay rates of the first and second moment estimates.
    eps : float
        Added to the root of the second moment, for stability.
    step_scales : dict of int to Tensor, optional
        Per-element multipliers of the step, keyed by ``id`` of a tensor in
        ``params``: Adam's step is about ``lr`` in every coordinate, so a
        coordinate whose posterior sd is far below 1 needs its step scaled
        down to it.

    Examples
    --------
    Minimise ``(x - 3)^2``:

    >>> import torch
    >>> x = torch.zeros(1, requires_grad=True)
    >>> optimizer = Adam([x], lr=0.1)
    >>> for _ in range(300):
    ...     optimizer.zero_grad()
    ...     (x - 3).square().sum().backward()
    ...     optimizer.step()
    >>> round(x.item(), 2)
    3.0
    """

    def __init__(
        self,
        params,
        lr: float,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        step_scales: dict | None = None,
    ):
        self.params = list(params)
        self.lr, self.betas, self.eps = lr, betas, eps
        step_scales = step_scales or {}
        self._scaled = [i for i, p in enumerate(self.params) if id(p) in step_scales]
        self._scales = [step_scales[id(self.params[i])] for i in self._scaled]
        self.steps = 0
        self._mean = [torch.zeros_like(p) for p in self.params]
        self._square = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        beta1, beta2 = self.betas
        grads = [
            p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params
        ]
        foreach.lerp_(self._mean, grads, 1 - beta1)
        foreach.mul_(self._square, beta2)
        foreach.addcmul_(self._square, grads, grads, 1 - beta2)
        bias1 = 1 - beta1**self.steps
        bias2 = 1 - beta2**self.steps
        denom = foreach.sqrt(self._square)
        foreach.div_(denom, math.sqrt(bias2))
        foreach.add_(denom, self.eps)
        if self._scaled:
            foreach.div_([denom[i] for i in self._scaled], self._scales)
        foreach.addcdiv_(self.params, self._mean, denom, -self.lr / bias1)


def _stop_line(losses: np.ndarray, converged: bool, recoveries: int, schedule) -> str:
    """The progress bar's final line: steps, final loss and why the run stopped."""
    line = f"{len(losses)} steps"
    if len(losses):
        tail = losses[-WINDOW:]
        line += f", final loss {tail.mean():.6g} (mean of the last {len(tail)} steps)"
    if converged:
        line += ", converged"
    elif schedule.tol > 0:
        line += f", stopped at num_steps={schedule.max_steps} before converging"
    else:
        line += f", ran num_steps={schedule.max_steps} (tol=0: no stopping rule)"
    if recoveries:
        line += f"; {recoveries} non-finite losses rolled back"
    return line


def draw_from_guide(guide, sites: dict, num_samples: int, data: tuple) -> dict:
    """``num_samples`` draws of each latent site from a fitted guide.

    Gaussian autoguides and guides that offer ``rsample_with_log_prob``
    (``BetaGuide``) draw all at once; other guides are traced once per draw.
    Must run in the parameter-store scope the guide was fitted in.
    """
    with torch.no_grad():
        if isinstance(guide, AutoContinuous):
            latent = guide.get_posterior().sample((num_samples,))
            values, _ = constrain(split_latent(guide, latent), sites)
            return values
        if hasattr(guide, "rsample_with_log_prob"):
            values, _ = guide.rsample_with_log_prob(num_samples)
            return {name: values[name] for name in sites}
        draws = {name: [] for name in sites}
        for _ in range(num_samples):
            trace = poutine.trace(guide).get_trace(*data)
            for name in sites:
                draws[name].append(trace.nodes[name]["value"])
        return {name: torch.stack(values) for name, values in draws.items()}


def _ended_worse(losses: np.ndarray) -> bool:
    """Whether the last window's mean loss is clearly above the first's.

    "Clearly": by more than four standard errors of the difference of the
    two window means, so Monte Carlo noise in the loss does not count.
    """
    if len(losses) < 2 * WINDOW:
        return False
    first, last = losses[:WINDOW], losses[-WINDOW:]
    noise = math.sqrt((first.var() + last.var()) / WINDOW)
    return bool(last.mean() - first.mean() > 4 * noise)


@dataclass(frozen=True)
class FittedGuide:
    """An SVI fit before any draws: the model as run, its guide and the run."""

    model: object
    guide: Callable
    run: SVIResult
    data: tuple


@register_engine
class SVIEngine(InferenceEngine):
    """Stochastic variational inference: a guide fitted by ``run_svi``.

    The model starts where it says (``BayesianModule.start``), in its centred
    parameterisation; Gaussian guides start at the start's covariance when it
    has one. Draws come from the fitted guide.
    """

    name, display_name, kind = "svi", "SVI", "variational"
    centered = True
    supports_minibatch = True

    def check(self, model, data, settings: RunSettings) -> None:
        super().check(model, data, settings)
        if settings.guide is not None:
            check_guide_spec(settings.guide)

    def fit(self, model, data, settings: RunSettings, start=None) -> FittedGuide:
        """Fit the guide (and the model's point parameters), without drawing.

        ``start`` defaults to the model's own (``BayesianModule.start``).
        """
        start = model.start(data) if start is None else start
        model = model.configured(centered=self.centered, start=start)
        arguments = data.arguments()
        guide = build_guide(
            settings.guide,
            model,
            init_values=model.initial_values(start),
            default=settings.default_guide,
        )
        step_scales = None
        if start.covariance and start_gaussian_guide(
            guide, arguments, start.covariance
        ):
            step_scales = loc_step_scales(guide, arguments)
        result = run_svi(
            model,
            guide,
            arguments,
            learning_rate=settings.learning_rate,
            max_steps=settings.num_steps,
            tol=settings.tol,
            n_iter_no_change=settings.n_iter_no_change,
            num_particles=settings.num_particles,
            batch_sampler=data.next_batch if data.batch_size is not None else None,
            step_scales=step_scales,
            verbose=settings.verbose,
        )
        if hasattr(guide, "laplace_approximation"):
            guide = guide.laplace_approximation(*arguments)
        if not result.converged and settings.tol > 0:
            settings.warn(
                f"SVI stopped at num_steps={settings.num_steps} before the loss "
                "converged. Increase num_steps or learning_rate."
            )
        if _ended_worse(result.loss_curve):
            settings.warn(
                "SVI ended at a worse ELBO than it started from "
                f"({result.loss_curve[:WINDOW].mean():.6g} -> "
                f"{result.loss_curve[-WINDOW:].mean():.6g}, mean loss over "
                f"the first and last {WINDOW} steps). Lower learning_rate."
            )
        return FittedGuide(model, guide, result, arguments)

    def run(self, model, data, settings: RunSettings) -> InferenceResult:
        fitted = self.fit(model, data, settings)
        sites = fitted.model.prior_sites()
        draws = draw_from_guide(fitted.guide, sites, settings.num_samples, fitted.data)
        diagnostics = svi_diagnostics(fitted.model, fitted.guide, data.full_arguments())
        if unreliable(diagnostics):
            settings.warn(
                "SVI's posterior may be far from the exact one: Pareto k-hat "
                f"of the importance ratios p/q is {diagnostics['pareto_k']:.2f} "
                f"(over {PARETO_K_LIMIT}, the guide misses posterior mass; Yao "
                f"et al. 2018), and their effective sample size is "
                f"{diagnostics['importance_ess']:.0f} of "
                f"{diagnostics['pareto_k_draws']}. Use inference='auto' or an "
                "exact engine ('gibbs', 'nuts'), or a richer guide."
            )
        return InferenceResult(
            kind=self.kind,
            model=fitted.model,
            samples={name: value[None] for name, value in draws.items()},
            engine=self.display_name,
            guide=fitted.guide,
            loss_curve=fitted.run.loss_curve,
            n_iter=fitted.run.n_iter,
            diagnostics=diagnostics,
        )
