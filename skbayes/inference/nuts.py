"""NUTS on a model's direct log density, chains run one after another.

Chains run sequentially in this process on purpose: Pyro's multi-chain mode
spawns worker processes, which hangs inside joblib workers (``n_jobs`` in
``GridSearchCV``). Sequential chains are also reproducible under one seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from pyro.infer import MCMC, NUTS

from ._latent import constrain, unconstrain
from .base import InferenceEngine, InferenceResult, RunSettings, register_engine
from .svi import SVIEngine


@dataclass(frozen=True)
class MCMCResult:
    """What a run of ``run_nuts`` produced.

    Attributes
    ----------
    samples : dict of str to Tensor
        Constrained draws of each latent site, shape ``(chains, draws, ...)``.
    divergences : ndarray of bool, shape (chains, draws)
        Whether the transition to each draw after warm-up diverged.

    Examples
    --------
    Draws keep their chains apart, ready for ``mcmc_diagnostics`` and
    ``summarize`` from ``skbayes.posterior``:

    >>> import torch
    >>> from skbayes._runtime import isolated_run
    >>> from skbayes.inference import run_nuts
    >>> from skbayes.models import BetaBernoulliModel
    >>> from skbayes.posterior import mcmc_diagnostics, summarize
    >>> X = torch.tensor([[1.0], [0.0], [1.0], [1.0]], dtype=torch.float64)
    >>> model = BetaBernoulliModel(alpha=1.0, beta=1.0, n_columns=1)
    >>> start = {"p": torch.tensor([0.5], dtype=torch.float64)}
    >>> with isolated_run(seed=0, device=torch.device("cpu")):
    ...     result = run_nuts(
    ...         model, (X,), init_values=start, num_samples=50, num_warmup=50,
    ...         num_chains=2,
    ...     )
    >>> draws = {name: value.numpy() for name, value in result.samples.items()}
    >>> n_eff, r_hat = mcmc_diagnostics(draws)
    >>> pooled = {name: value.reshape(-1, *value.shape[2:])
    ...           for name, value in draws.items()}
    >>> table = summarize(pooled, n_eff=n_eff, r_hat=r_hat,
    ...                   divergences=int(result.divergences.sum()))
    >>> table.columns
    ['mean', 'sd', '2.5%', '50%', '97.5%', 'n_eff', 'r_hat']
    >>> list(table.rows)
    ['p[0]']
    """

    samples: dict
    divergences: np.ndarray


def run_nuts(
    model,
    data: tuple,
    *,
    init_values: dict,
    num_samples: int = 1000,
    num_warmup: int = 500,
    num_chains: int = 1,
    target_accept_prob: float = 0.8,
    init_jitter: float = 0.1,
    reparam=None,
    verbose: bool = False,
) -> MCMCResult:
    """Sample a ``BayesianModule``'s posterior with NUTS.

    The potential energy is the model's ``log_density`` in the unconstrained
    space, evaluated directly rather than by tracing the Pyro model.

    Parameters
    ----------
    model : BayesianModule
        Provides ``prior_sites`` and ``log_density``.
    data : tuple of tensors
        Arguments of ``log_density`` after the latent values.
    init_values : dict
        Constrained starting values for every latent site.
    num_samples, num_warmup : int
        Draws kept and warm-up iterations, per chain.
    num_chains : int
        Chains, each started from ``init_values`` jittered by ``init_jitter``
        in the unconstrained space so that R-hat can detect poor mixing.
    target_accept_prob : float
        Step-size adaptation target.
    reparam : object, optional
        A change of variables NUTS samples in instead of the unconstrained
        latent values, with ``to_latent(params) -> (latent, log_jacobian)``
        and its inverse ``from_latent(latent) -> params`` (for instance
        ``conjugate.NormalConditionalWhitening``). Leading batch dims are kept.
    verbose : bool
        Show Pyro's progress bar.

    Returns
    -------
    MCMCResult

    Examples
    --------
    Three heads in four flips under a uniform prior: the exact posterior is
    Beta(4, 2), with mean 2/3.

    >>> import torch
    >>> from skbayes._runtime import isolated_run
    >>> from skbayes.models import BetaBernoulliModel
    >>> X = torch.tensor([[1.0], [0.0], [1.0], [1.0]], dtype=torch.float64)
    >>> model = BetaBernoulliModel(alpha=1.0, beta=1.0, n_columns=1)
    >>> start = {"p": torch.tensor([0.5], dtype=torch.float64)}
    >>> with isolated_run(seed=0, device=torch.device("cpu")):
    ...     result = run_nuts(
    ...         model, (X,), init_values=start, num_samples=200, num_warmup=100
    ...     )
    >>> result.samples["p"].shape  # (chains, draws, columns)
    torch.Size([1, 200, 1])
    >>> result.divergences.shape  # (chains, draws): did each transition diverge?
    (1, 200)
    >>> abs(result.samples["p"].mean().item() - 2 / 3) < 0.1
    True
    """
    sites = model.prior_sites()
    start = {k: v.detach() for k, v in unconstrain(init_values, sites).items()}
    if reparam is None:

        def potential(unconstrained):
            return -model.log_density(unconstrained, *data)

    else:

        def potential(params):
            latent, log_jacobian = reparam.to_latent(params)
            return -(model.log_density(latent, *data) + log_jacobian)

        start = reparam.from_latent(start)

    draws, divergences = [], []
    for chain in range(num_chains):
        initial = {
            name: value + init_jitter * torch.randn_like(value) if chain else value
            for name, value in start.items()
        }
        kernel = NUTS(
            potential_fn=potential,
            target_accept_prob=target_accept_prob,
            adapt_step_size=True,
            adapt_mass_matrix=True,
        )
        mcmc = MCMC(
            kernel,
            num_samples=num_samples,
            warmup_steps=num_warmup,
            initial_params=initial,
            num_chains=1,
            disable_progbar=not verbose,
        )
        mcmc.run()
        chain_draws = mcmc.get_samples()
        if reparam is not None:
            chain_draws = _to_latent(reparam, chain_draws)
        draws.append(chain_draws)
        diverging = np.zeros(num_samples, dtype=bool)
        # Pyro lists the divergent transitions by index after warm-up.
        diverging[mcmc.diagnostics()["divergences"]["chain 0"]] = True
        divergences.append(diverging)

    unconstrained = {
        name: torch.stack([chain[name] for chain in draws]) for name in sites
    }
    with torch.no_grad():
        samples, _ = constrain(unconstrained, sites)
    return MCMCResult(samples, np.stack(divergences))


def _to_latent(reparam, draws: dict, chunk: int = 100) -> dict:
    """Map draws back to the model's coordinates, ``chunk`` draws at a time.

    A map may hold a d x d matrix per draw (a Cholesky factor): all the
    draws of a chain at once would need ``num_samples * d**2`` of memory.
    """
    total = len(next(iter(draws.values())))
    pieces = []
    with torch.no_grad():
        for begin in range(0, total, chunk):
            part = {name: value[begin : begin + chunk] for name, value in draws.items()}
            pieces.append(reparam.to_latent(part)[0])
    return {name: torch.cat([piece[name] for piece in pieces]) for name in pieces[0]}


#: Largest ``rows x features`` at which ``inference="auto"`` picks NUTS.
NUTS_AUTO_MAX_SIZE = 5_000


@register_engine
class NUTSEngine(InferenceEngine):
    """The No-U-Turn sampler on the model's direct log density.

    Models with point parameters (empirical Bayes) have them fitted by SVI
    first, then fixed; NUTS samples the rest, in the model's non-centred
    parameterisation and in the coordinates its ``nuts_reparameterization``
    offers.
    """

    name, display_name, kind = "nuts", "NUTS", "mcmc"

    def affordable(self, model, data) -> bool:
        # Its cost grows with the data and with the posterior's geometry
        # (tree depth), which the size alone does not show; small problems
        # only (docs/benchmarks.md, "The auto engine").
        return model.nuts_by_default and data.problem_size <= NUTS_AUTO_MAX_SIZE

    def run(self, model, data, settings: RunSettings) -> InferenceResult:
        loss_curve = n_iter = None
        start = model.start(data)
        if model.has_point_parameters:
            fitted = SVIEngine().fit(model, data, settings, start=start)
            model = model.with_fixed_parameters(fitted.model.point_estimates())
            loss_curve, n_iter = fitted.run.loss_curve, fitted.run.n_iter
        model = model.configured(centered=self.centered, start=start)
        result = run_nuts(
            model,
            data.arguments(),
            init_values=model.initial_values(start),
            reparam=model.nuts_reparameterization(data),
            num_samples=settings.num_samples,
            num_warmup=settings.num_warmup,
            num_chains=settings.num_chains,
            verbose=settings.verbose,
        )
        return InferenceResult(
            kind=self.kind,
            model=model,
            samples=result.samples,
            engine=self.display_name,
            divergences=result.divergences,
            loss_curve=loss_curve,
            n_iter=n_iter,
        )
