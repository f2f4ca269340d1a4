"""The Polya-Gamma Gibbs sampler of logistic and multinomial regression.

With ``omega_i ~ PG(w_i, eta_i)`` (Polson, Scott and Windle 2013), the
logistic likelihood ``prod_i sigmoid(eta_i)**(w_i y_i) (1 -
sigmoid(eta_i))**(w_i (1 - y_i))`` becomes, given omega, Gaussian in the
linear predictor ``eta = Z theta``::

    p(theta | omega, y) ∝ prior(theta) exp(kappa' Z theta - theta' Z'Omega Z theta / 2)
    kappa_i = w_i (y_i - 1/2),

so ``theta`` given omega and the prior's scales is the linear model's
conditional with pseudo-data ``kappa / omega`` and noise variances ``1 /
omega``, and the linear samplers draw it exactly: Rue's when ``n >= p``,
Bhattacharya et al.'s otherwise (``_linear_algebra``). The horseshoe's scales
depend on the coefficients only, so their updates are the linear kernel's.

More than two classes: class ``k``'s likelihood given the other classes'
coefficients is logistic in ``eta_k - c_k``, ``c_ik = log sum_{j != k}
exp(eta_ij)`` (Holmes and Held 2006), so one sweep updates the classes in
turn, each with ``omega ~ PG(w, eta_k - c_k)`` and linear term ``Z'(kappa_k +
omega c_k)`` (Polson, Scott and Windle 2013, sec. 3.3).

The softmax likelihood is unchanged by adding one vector to every class's, a
direction only the prior pins down; a shift of all classes drawn from its
exact conditional (Liu and Sabatti 2000) ends each sweep so that the chain
does not crawl along it. Every update is an exact conditional draw: there is
nothing to tune and the chain targets the exact posterior.

References
----------
Polson, N. G., Scott, J. G. and Windle, J. (2013). Bayesian inference for
logistic models using Polya-Gamma latent variables. JASA 108(504).
Holmes, C. C. and Held, L. (2006). Bayesian auxiliary variable models for
binary and multinomial regression. Bayesian Analysis 1(1).
Liu, J. S. and Sabatti, C. (2000). Generalised Gibbs sampler and multigrid
Monte Carlo for Bayesian computation. Biometrika 87(2).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ._kernel import SweepKernel
from ._linear_algebra import sample_bhattacharya, sample_rue
from ._polya_gamma import sample_polya_gamma
from ._scales import SCALES
from ._updates import _DTYPE

__all__ = ["PolyaGammaKernel", "PolyaGammaState"]


#: Largest ``rows x features`` at which ``inference="auto"`` picks this
#: kernel (about 16 s a fit there on one core; docs/benchmarks.md).
POLYA_GAMMA_AUTO_MAX_SIZE = 500_000


@dataclass(frozen=True)
class PolyaGammaState:
    """One sweep's end: coefficients and the prior's scales, per chain.

    Attributes
    ----------
    theta : Tensor of shape (chains, K', p)
        Per coefficient vector, the coefficients and then the intercept
        (when there is one).
    scales : dict of str to Tensor
        The prior's scales (see ``skbayes.inference.gibbs._scales``).
    """

    theta: torch.Tensor
    scales: dict


class PolyaGammaKernel(SweepKernel):
    """Polya-Gamma Gibbs sweeps of ``LogisticRegressionModel``.

    Parameters
    ----------
    prior : CoefPrior
        A validated prior whose ``gibbs_kernel`` is a key of ``_scales.SCALES``:
        ``"normal"`` (fixed scale), ``"horseshoe"`` or
        ``"regularized_horseshoe"``.
    n_vectors : int
        Coefficient vectors: 1 for two classes, K for K > 2 classes.
    fit_intercept : bool
        Whether each vector has an intercept, ``Normal(0, intercept_scale**2)``.
    intercept_scale : float
        Prior sd of the intercepts.
    sampler : {"auto", "rue", "bhattacharya"}, default="auto"
        How the Gaussian conditional is drawn; ``"auto"`` takes Rue's when
        ``n >= p`` and Bhattacharya et al.'s otherwise.
    prior_context : dict, optional
        ``noise_scale`` and ``n_samples`` as the model gives them to its
        prior (the regularised horseshoe's ``expected_nonzero`` needs them).
    polya_gamma : {"auto", "numpy", "torch"}, default="auto"
        The Polya-Gamma sampler (see ``sample_polya_gamma``): ``polyagamma``
        on the CPU, the torch sampler on other devices.

    Examples
    --------
    >>> import torch
    >>> from skbayes.inference.gibbs import PolyaGammaKernel
    >>> from skbayes.priors import Normal
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(30, 2, dtype=torch.float64, generator=g)
    >>> y = (X[:, 0] > 0).long()
    >>> w = torch.ones(30, dtype=torch.float64)
    >>> kernel = PolyaGammaKernel(
    ...     Normal(2.5), n_vectors=1, fit_intercept=True, intercept_scale=10.0
    ... )
    >>> state = kernel.init(X, y, w, num_chains=2, generator=g)
    >>> state = kernel.sample(state, 0, warmup=True)
    >>> kernel.sites(), kernel.sampler
    ({'intercept': (), 'coef': (2,)}, 'rue')
    >>> {k: tuple(v.shape) for k, v in kernel.report(state).items()}
    {'intercept': (2,), 'coef': (2, 2)}
    """

    tau_update: str | None = None

    def __init__(
        self,
        prior,
        *,
        n_vectors: int,
        fit_intercept: bool,
        intercept_scale: float,
        sampler: str = "auto",
        polya_gamma: str = "auto",
        prior_context: dict | None = None,
    ):
        self.prior_context = prior_context or {}
        self.prior = prior
        self.polya_gamma = polya_gamma
        self.n_vectors = n_vectors
        self.fit_intercept = fit_intercept
        self.intercept_scale = float(intercept_scale)
        self.sampler = sampler

    @classmethod
    def check_data(cls, data) -> None:
        """Raise ``ValueError`` unless every row weight is a whole number."""
        weight = data.arrays[2]
        if bool((weight != weight.round()).any()):
            raise ValueError(
                "inference='gibbs' needs whole-number sample_weight (a row of "
                "weight w stands for w copies); use inference='nuts' or 'svi' "
                "for fractional weights."
            )

    @classmethod
    def affordable(cls, data) -> bool:
        # A sweep draws n Polya-Gamma variables and forms X' Omega X, O(n d**2).
        return data.problem_size <= POLYA_GAMMA_AUTO_MAX_SIZE

    @classmethod
    def sample_model(cls, model, data, settings):
        """Run the kernel on a ``LogisticRegressionModel``; the engine's ``run``.

        Returns the model the draws belong to (its non-centred form) and the
        draws of its sites, ``(chains, draws, ...)``.
        """
        from ...models import Start
        from ._driver import MAX_GROWTH, drive

        model = model.configured(centered=False, start=Start())
        kernel = cls(
            model.prior,
            n_vectors=model.n_vectors,
            fit_intercept=model.fit_intercept,
            intercept_scale=model.intercept_scale,
            prior_context=model.prior_context(),
        )
        start = model.start(data)
        theta = start.coef.reshape(model.n_vectors, -1)
        if model.fit_intercept:
            theta = torch.cat([theta, start.intercept.reshape(-1, 1)], 1)
        X, y, weight = data.arguments()
        device = X.device
        generator = torch.Generator(device=device).manual_seed(settings.seed)
        state = kernel.init(
            X,
            y,
            weight,
            num_chains=settings.num_chains,
            generator=generator,
            init_theta=theta,
        )
        samples, _ = drive(
            kernel,
            state,
            num_samples=settings.num_samples,
            num_warmup=settings.num_warmup,
            target_ess=settings.target_ess,
            max_samples=MAX_GROWTH * settings.num_samples,
            verbose=settings.verbose,
            owner=settings.owner,
        )
        sites = model.prior_sites()
        dtype = X.dtype
        return model, {k: v.to(dtype) for k, v in samples.items() if k in sites}

    def init(
        self,
        X: torch.Tensor,
        y: torch.Tensor,
        weight: torch.Tensor,
        *,
        num_chains: int,
        generator: torch.Generator,
        init_theta: torch.Tensor | None = None,
        init_jitter: float = 0.1,
    ) -> PolyaGammaState:
        """Precompute the design and return the starting state.

        Parameters
        ----------
        X : Tensor of shape (n, d)
            The design the model sees.
        y : Tensor of shape (n,)
            Class index of each row.
        weight : Tensor of shape (n,)
            Row weights; rows of weight 0 are dropped.
        num_chains : int
            Chains, run together as a batch.
        generator : torch.Generator
            Source of all random numbers, here and in ``sample``.
        init_theta : Tensor of shape (K', p), optional
            Starting coefficients (with the intercept last); zeros by
            default. Chains after the first start ``init_jitter`` standard
            normals away.
        init_jitter : float
            Spread of the other chains' starts.
        """
        keep = weight > 0
        X, y, weight = X[keep].to(_DTYPE), y[keep], weight[keep].to(_DTYPE)
        n, d = X.shape
        self.generator, self.num_chains, self.num_features = generator, num_chains, d
        ones = X.new_ones(n, 1)
        self.design = torch.cat([X, ones], 1) if self.fit_intercept else X
        p = self.design.shape[1]
        if self.sampler == "auto":
            self.sampler = "rue" if n >= p else "bhattacharya"
        self.weight = weight
        self.unit_weights = bool((weight == 1).all())
        classes = torch.arange(self.n_vectors, device=y.device)
        if self.n_vectors == 1:
            classes = classes + 1
        indicator = (y[:, None] == classes).to(_DTYPE)  # (n, K')
        self.kappa = weight[:, None] * (indicator - 0.5)  # (n, K')
        theta = X.new_zeros(self.n_vectors, p) if init_theta is None else init_theta
        theta = theta.to(X).expand(num_chains, -1, -1).clone()
        if num_chains > 1 and init_jitter > 0:
            noise = torch.randn(
                theta.shape, generator=generator, dtype=_DTYPE, device=X.device
            )
            theta[1:] += init_jitter * noise[1:]
        size = self.n_vectors * d
        self.scale_block = SCALES[self.prior.gibbs_kernel](
            self.prior, size, self.prior_context
        )
        scales = self.scale_block.init(num_chains, generator, X, init_jitter)
        return PolyaGammaState(theta, scales)

    def _prior_sds(self, state: PolyaGammaState) -> torch.Tensor:
        """Prior sds of every vector's coefficients and intercept, (chains, K', p).

        The scales stay fixed through a sweep's coefficient updates, so this
        is formed once per sweep.
        """
        sd = self.scale_block.sd(state.scales).reshape(
            self.num_chains, self.n_vectors, -1
        )
        if self.fit_intercept:
            intercept = sd.new_full((*sd.shape[:2], 1), self.intercept_scale)
            sd = torch.cat([sd, intercept], -1)
        return sd

    def _polya_gamma(self, psi: torch.Tensor) -> torch.Tensor:
        h = None if self.unit_weights else self.weight
        return sample_polya_gamma(psi, self.generator, h=h, method=self.polya_gamma)

    def sample(
        self, state: PolyaGammaState, step: int, *, warmup: bool
    ) -> PolyaGammaState:
        """One sweep: each vector given omega, then the horseshoe's scales."""
        theta = state.theta.clone()
        Z = self.design
        unit = Z.new_ones(self.num_chains)
        sds = self._prior_sds(state)
        for k in range(self.n_vectors):
            eta = theta[:, k] @ Z.T  # (chains, n)
            offset = 0.0
            if self.n_vectors > 1:
                logits = theta @ Z.T  # (chains, K, n)
                others = torch.cat([logits[:, :k], logits[:, k + 1 :]], 1)
                offset = others.logsumexp(1)
            omega = self._polya_gamma(eta - offset)
            linear = self.kappa[:, k] + omega * offset  # (chains, n)
            sd = sds[:, k]
            if self.sampler == "rue":
                gram = (Z.T * omega[:, None, :]) @ Z
                z = sample_rue(gram, linear @ Z, sd, unit, self.generator)
            else:
                root = omega.sqrt()
                z = sample_bhattacharya(
                    Z * root[..., None], linear / root, sd, unit, self.generator
                )
            theta[:, k] = sd * z
        if self.n_vectors > 1:
            theta = self._shift_classes(theta, sds)
        scales = self.scale_block.update(
            self._coef(theta), state.scales, self.generator
        )
        return PolyaGammaState(theta, scales)

    def _shift_classes(self, theta: torch.Tensor, sd: torch.Tensor) -> torch.Tensor:
        """Move every class's vector by one common shift ``delta``, drawn exactly.

        The softmax likelihood does not change when the same vector is added
        to every class, so only the prior pins that direction down, and the
        class-by-class updates crawl along it. ``theta_k + delta`` is a move
        on a translation group, whose Haar measure is flat: drawing ``delta``
        from ``prod_k prior(theta_k + delta)`` leaves the posterior invariant
        (Liu and Sabatti 2000). With independent Gaussian priors of sds
        ``s_kj`` given the scales, ``delta_j`` is Gaussian with precision
        ``sum_k s_kj**-2`` and mean ``-sum_k theta_kj s_kj**-2`` over it.
        """
        precision = sd.pow(-2)  # (chains, K, p)
        total = precision.sum(1)
        mean = -(theta * precision).sum(1) / total
        noise = torch.randn(
            mean.shape, generator=self.generator, dtype=_DTYPE, device=mean.device
        )
        return theta + (mean + noise * total.rsqrt())[:, None, :]

    def _coef(self, theta: torch.Tensor) -> torch.Tensor:
        """All coefficients of each chain as one vector, (chains, K' d)."""
        return theta[..., : self.num_features].reshape(self.num_chains, -1)

    def sites(self) -> dict[str, tuple[int, ...]]:
        """``"intercept"`` (when fitted), then the prior's (``coef`` first)."""
        sites = {}
        if self.fit_intercept:
            sites["intercept"] = () if self.n_vectors == 1 else (self.n_vectors,)
        return {**sites, **self.scale_block.sites()}

    def report(self, state: PolyaGammaState) -> dict[str, torch.Tensor]:
        out = {}
        if self.fit_intercept:
            intercept = state.theta[..., -1]
            out["intercept"] = intercept[:, 0] if self.n_vectors == 1 else intercept
        coef = self._coef(state.theta)
        return {**out, **self.scale_block.report(coef, state.scales)}
