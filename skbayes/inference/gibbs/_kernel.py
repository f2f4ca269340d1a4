"""The protocol between ``run_gibbs`` and the kernel that samples one prior.

It follows NumPyro's split of an ``MCMCKernel`` (``init`` and
``sample(state)``) from the ``MCMC`` driver: a kernel knows one prior's
conditionals and makes one sweep at a time; the driver owns the chains, the
warm-up length, the buffers of draws and the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ...priors import CoefPrior, NoisePrior
from ._updates import _DTYPE, _inverse_gamma, _positive_init, noise_correction

__all__ = ["GibbsKernel", "GibbsState", "SweepKernel"]


class SweepKernel:
    """What ``drive`` asks of a kernel: sweeps, and the draws of a state.

    A subclass implements ``sample`` (one sweep) and ``report`` (the sites
    of a state, per chain). ``run_sweeps`` loops over ``sample``; a kernel
    with a faster way to make many sweeps (one that keeps its state outside
    torch between them) overrides it.
    """

    #: The sites ``run_sweeps`` must return, or None for every site of
    #: ``report``. ``run_gibbs`` narrows it to the sites its caller keeps, so
    #: that a kernel need not hold draws that would be thrown away.
    kept_sites: frozenset[str] | None = None

    def sample(self, state, step: int, *, warmup: bool):
        """One sweep from ``state``; returns the next state.

        ``step`` counts sweeps from 0, warm-up included; ``warmup`` is
        whether this sweep is one of the warm-up sweeps.
        """
        raise NotImplementedError

    def report(self, state) -> dict[str, torch.Tensor]:
        """The value of every site in ``state``, shape ``(chains, ...)``."""
        raise NotImplementedError

    def run_sweeps(
        self, state, count: int, *, first: int = 0, num_warmup: int = 0
    ) -> tuple[dict[str, torch.Tensor], object]:
        """``num_warmup`` warm-up sweeps, then ``count`` kept ones, from step ``first``.

        Returns the kept draws of every site ``report`` gives (of those in
        ``kept_sites``, when set), shape ``(chains, count, ...)``, and the
        last state.
        """
        kept = []
        wanted = self.kept_sites
        for offset in range(num_warmup + count):
            state = self.sample(state, first + offset, warmup=offset < num_warmup)
            if offset >= num_warmup:
                # The state at the end of a sweep is one draw of the chain.
                # The draws are stacked once at the end: a copy into a buffer
                # per site and draw would cost as much as a fifth of a sweep.
                report = self.report(state)
                if wanted is not None:
                    report = {k: v for k, v in report.items() if k in wanted}
                kept.append(report)
        out = {name: torch.stack([r[name] for r in kept], 1) for name in kept[0]}
        return out, state


@dataclass(frozen=True)
class GibbsState:
    """The part of a kernel's state that every kernel has.

    Attributes
    ----------
    noise_var : Tensor of shape (chains,)
        ``sigma**2`` of each chain (fixed, for a fixed or point noise scale).
    coef : Tensor of shape (chains, d) or None
        The coefficients after the last sweep; None before the first.
    """

    noise_var: torch.Tensor
    coef: torch.Tensor | None


class GibbsKernel(SweepKernel):
    """A Gibbs transition kernel for the linear model under one prior.

    A prior names its kernel by ``prior.gibbs_kernel``, a key of
    ``GIBBS_KERNELS``. One kernel object serves one run::

        kernel = GIBBS_KERNELS[prior.gibbs_kernel](prior, noise=..., ...)
        state = kernel.init(X, y, stats, num_chains=C, num_warmup=W, generator=g)
        for step in range(W + S):
            state = kernel.sample(state, step, warmup=step < W)
            if step >= W:
                draws = kernel.report(state)  # shapes kernel.sites()

    after which ``kernel.noise_scale(state)``, ``kernel.sampler`` and
    ``kernel.tau_update`` describe the run. Every ``sample`` leaves the
    posterior invariant, so the state after any sweep is a draw of the chain;
    during warm-up a kernel may also tune its step sizes or estimate a point
    noise variance.

    Parameters
    ----------
    prior : CoefPrior
        The (validated) coefficient prior; a kernel reads its parameters,
        such as ``prior.scale`` or ``prior.global_scale``.
    noise : "prior", "point" or float
        As in ``run_gibbs``.
    noise_prior : NoisePrior
        The (validated) prior on ``sigma**2``.
    fit_intercept : bool
        Whether the data were centred (``n - 1`` degrees of freedom).
    sampler, tau_update, backend : str
        ``run_gibbs``'s options; a kernel without such a choice ignores them.
    approximate_threshold : float or None
        ``run_gibbs``'s option; a kernel without an approximate algorithm
        raises ``ValueError`` in ``init`` when it is set.

    Attributes
    ----------
    sampler : str
        The algorithm that draws ``coef`` (known after ``init``).
    tau_update : str or None
        How the global scale moves, for kernels that have one.

    Notes
    -----
    A subclass implements ``_start`` (the rest of ``init``, after the shared
    start of ``sigma**2``) and ``sample``, and extends ``sites`` and
    ``report`` with any sites of its own. Its states are ``GibbsState``
    subclasses: frozen, so ``sample`` returns a new one.

    Examples
    --------
    >>> import torch
    >>> from skbayes.inference.gibbs import GIBBS_KERNELS
    >>> from skbayes.priors import InverseGamma, Normal
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(20, 3, dtype=torch.float64, generator=g)
    >>> y = X @ torch.tensor([1.0, 0.0, -1.0], dtype=torch.float64)
    >>> kernel = GIBBS_KERNELS[Normal.gibbs_kernel](
    ...     Normal(), noise="prior", noise_prior=InverseGamma(0.1, 0.1),
    ...     fit_intercept=False,
    ... )
    >>> state = kernel.init(X, y, num_chains=2, num_warmup=0, generator=g)
    >>> state = kernel.sample(state, 0, warmup=False)
    >>> kernel.sites()
    {'coef': (3,), 'noise_var': ()}
    >>> {name: tuple(v.shape) for name, v in kernel.report(state).items()}
    {'coef': (2, 3), 'noise_var': (2,)}
    >>> kernel.sampler, kernel.noise_scale(state)
    ('svd', None)
    """

    sampler: str = ""
    tau_update: str | None = None
    #: Whether the kernel has an approximate algorithm
    #: (``approximate_threshold``).
    has_approximation: bool = False

    def __init__(
        self,
        prior: CoefPrior,
        *,
        noise: str | float,
        noise_prior: NoisePrior,
        fit_intercept: bool,
        sampler: str = "auto",
        tau_update: str = "auto",
        backend: str = "auto",
        approximate_threshold: float | None = None,
    ):
        self.prior = prior
        self.noise = noise
        self.noise_prior = noise_prior
        self.fit_intercept = fit_intercept
        self.options = {
            "sampler": sampler,
            "tau_update": tau_update,
            "backend": backend,
            "approximate_threshold": approximate_threshold,
        }

    @classmethod
    def check_data(cls, data) -> None:
        """Raise ``ValueError`` for data the kernel cannot sample (none here)."""

    @classmethod
    def affordable(cls, data) -> bool:
        """Whether ``inference="auto"`` should pick the kernel for these data.

        A linear kernel's sweep costs O(d min(n, d)**2) at most once X'X is
        formed, so always.
        """
        return True

    @classmethod
    def sample_model(cls, model, data, settings) -> tuple[object, dict]:
        """Run ``run_gibbs`` on a ``LinearRegressionModel``; the engine's ``run``.

        Returns the model the draws belong to (with a point noise scale
        fixed at the kernel's estimate) and the draws of its sites.
        """
        from ...models import Start
        from ._driver import MAX_GROWTH, run_gibbs

        configured = model.configured(centered=False, start=Start())
        _, noise_scale = data.ridge_start()
        # float32 data keep their own X'X, which is too coarse for the
        # horseshoe's scales: the kernels then form it in float64. At d > n
        # no X'X was formed (ridge_start), and the kernels do not need one.
        gram = data.cached_gram
        exact_stats = gram is not None and gram.dtype == torch.float64
        result = run_gibbs(
            *data.arguments(),
            sites=configured.prior_site_names(),
            prior=configured.prior,
            noise=model.noise,
            noise_prior=model.effective_noise_prior,
            fit_intercept=model.fit_intercept,
            num_samples=settings.num_samples,
            num_warmup=settings.num_warmup,
            num_chains=settings.num_chains,
            seed=settings.seed,
            init={"noise_var": noise_scale**2},
            stats=(gram, data.xty) if exact_stats else None,
            target_ess=settings.target_ess,
            max_samples=MAX_GROWTH * settings.num_samples,
            verbose=settings.verbose,
            owner=settings.owner,
            approximate_threshold=settings.approximate_threshold,
            n_observations=model.n_observations,
        )
        if model.has_point_parameters:
            model = model.with_fixed_parameters({"noise_scale": result.noise_scale})
            configured = model.configured(centered=False, start=Start())
        sites = configured.prior_sites()
        return configured, {k: v for k, v in result.samples.items() if k in sites}

    def init(
        self,
        X: torch.Tensor,
        y: torch.Tensor,
        stats: tuple[torch.Tensor, torch.Tensor] | None = None,
        *,
        num_chains: int,
        num_warmup: int,
        generator: torch.Generator,
        init: dict | None = None,
        init_jitter: float = 0.1,
        n_observations: float | None = None,
    ) -> GibbsState:
        """Precompute what the sweeps need and return the starting state.

        Parameters
        ----------
        X : Tensor of shape (n, d)
            Centred design matrix, float64.
        y : Tensor of shape (n,)
            Centred targets, float64, on ``X``'s device.
        stats : tuple of Tensor, optional
            ``(X'X, X'y)`` in float64, when already computed.
        num_chains : int
            Chains, run together as a batch.
        num_warmup : int
            Sweeps of warm-up that ``sample`` will be called with
            ``warmup=True``.
        generator : torch.Generator
            Source of all random numbers, here and in ``sample``.
        init : dict, optional
            Starting values by site name, as in ``run_gibbs``.
        init_jitter : float
            Log-scale jitter of the starting values of chains after the first.
        n_observations : float, optional
            The sample size the rows stand for (``run_gibbs``); the rows by
            default.

        Returns
        -------
        GibbsState
            Its ``coef`` is None: the first sweep draws it.

        Notes
        -----
        The starting ``sigma**2`` is drawn here (chain 0 at ``init`` or
        ``var(y)``, the others jittered); a subclass then makes the rest of
        the state in ``_start``.
        """
        if self.options["approximate_threshold"] is not None and not (
            self.has_approximation
        ):
            raise ValueError(
                f"approximate_threshold applies to the horseshoe prior only; "
                f"the {type(self.prior).__name__} prior is sampled exactly."
            )
        self.X, self.y, self.generator = X, y, generator
        self.num_chains, self.num_warmup = num_chains, num_warmup
        self.init_values = {} if init is None else init
        self.init_jitter = init_jitter
        n, self.num_features = X.shape
        self.n_observations = n if n_observations is None else n_observations
        self.dof = self.n_observations - int(self.fit_intercept)
        if self.n_observations != n:
            # Weighted rows, scaled by sqrt(w) and centred on the weighted
            # mean: their weighted variance.
            self.var_y = float(y @ y) / max(self.dof, 1)
        else:
            self.var_y = float(y.var()) if n > 1 else 0.0
        self.default_var = self.var_y if self.var_y > 0 else 1.0
        noise_var = self._positive("noise_var", self._tensor(self.default_var))
        if not isinstance(self.noise, str):
            noise_var = self._tensor(float(self.noise) ** 2).expand(num_chains).clone()
        elif self.noise == "point":
            noise_var = noise_var[:1].expand(num_chains).clone()  # shared
        # The shape of sigma**2's conditional, once (see _inverse_gamma).
        shape, self.noise_rate = self.noise_prior.conjugate_form
        if self.noise == "prior":
            self.noise_prior.check_posterior(self.dof)
        self.noise_shape = torch.full(
            (num_chains,), shape + 0.5 * self.dof, dtype=_DTYPE
        ).to(X.device)
        return self._start(noise_var, stats)

    def _start(
        self,
        noise_var: torch.Tensor,
        stats: tuple[torch.Tensor, torch.Tensor] | None,
    ) -> GibbsState:
        """The rest of ``init``: precomputations and the starting state.

        Called with the data and options recorded as attributes (``X``,
        ``y``, ``generator``, ``num_chains``, ``num_warmup``, ``dof``,
        ``var_y``, ``default_var``, ``num_features``) and the starting
        ``sigma**2`` per chain.
        """
        raise NotImplementedError

    def sites(self) -> dict[str, tuple[int, ...]]:
        """The sites ``report`` returns, in order, with their event shapes.

        ``"coef"`` always; ``"noise_var"`` when it is sampled.
        """
        sites = {"coef": (self.num_features,)}
        if self.noise == "prior":
            sites["noise_var"] = ()
        return sites

    def report(self, state: GibbsState) -> dict[str, torch.Tensor]:
        """The value of every site of ``sites()`` in ``state``, (chains, ...)."""
        out = {"coef": state.coef}
        if self.noise == "prior":
            out["noise_var"] = state.noise_var
        return out

    def noise_scale(self, state: GibbsState) -> float | None:
        """The fixed or point noise scale ``sigma``; None when it is sampled."""
        if self.noise == "prior":
            return None
        return float(state.noise_var[0].sqrt())

    def _noise_update(
        self, coef: torch.Tensor, noise_var: torch.Tensor, step: int, warmup: bool
    ) -> torch.Tensor:
        """``sigma**2 | coef`` when sampled; the SAEM step of a point estimate.

        The likelihood contributes ``(sigma**2)^(-dof/2) exp(-RSS / (2
        sigma**2))``; the coefficient prior does not involve ``sigma**2``.
        With the noise prior's inverse-gamma part that is an inverse-gamma
        draw; the rest of the prior (none for ``InverseGamma``) is a
        Metropolis-Hastings correction (``noise_correction``).
        """
        sampled = self.noise == "prior"
        saem = self.noise == "point" and warmup and self.dof > 0
        if not (sampled or saem):
            return noise_var
        resid = self.y - coef @ self.X.T
        rss = (resid * resid).sum(-1)
        if sampled:
            rate = self.noise_rate + 0.5 * rss
            proposal = _inverse_gamma(self.noise_shape, rate, self.generator)
            return noise_correction(
                self.noise_prior, proposal, noise_var, self.generator
            )
        half = self.num_warmup // 2
        gain = 1.0 if step < half else 1.0 / (step - half + 1)
        target = rss.mean() / self.dof
        # A perfect fit drives the estimate to 0, and then the precision of
        # coef overflows: keep sigma above 1e-6 sd(y).
        return ((1.0 - gain) * noise_var + gain * target).clamp_min(
            1e-12 * self.default_var
        )

    def _tensor(self, value) -> torch.Tensor:
        """``value`` as a float64 tensor on the data's device."""
        return torch.as_tensor(value, dtype=_DTYPE, device=self.X.device)

    def _positive(self, name: str, default: torch.Tensor) -> torch.Tensor:
        """The starting value of a positive site per chain (see ``init``)."""
        return _positive_init(
            self.init_values,
            name,
            default,
            self.num_chains,
            self.init_jitter,
            self.generator,
        )
