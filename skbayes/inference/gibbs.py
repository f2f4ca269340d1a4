"""Gibbs samplers for the linear model with a Normal or horseshoe prior.

The model is skbayes' :class:`~skbayes.models.LinearRegressionModel` on
centred data ``(Xc, yc)``::

    yc ~ Normal(Xc @ coef, sigma**2 I)        [times sigma if fit_intercept]
    sigma**2 ~ InverseGamma(shape, rate)      [or sigma fixed]
    coef_j ~ Normal(0, scale**2)                              (Normal prior)
    coef_j ~ Normal(0, tau**2 lambda_j**2),                   (horseshoe)
        tau ~ HalfCauchy(global_scale), lambda_j ~ HalfCauchy(1)

The prior variance of ``coef`` is *not* multiplied by ``sigma**2``, unlike
the textbook conjugate forms (Makalic and Schmidt 2016 write
``beta ~ N(0, tau**2 lambda**2 sigma**2)``). So here the local and global
scales' conditionals do not involve ``sigma``, and ``sigma**2``'s conditional
does not involve the prior of ``coef``.

Every conditional is sampled exactly, so the chain targets the same posterior
as NUTS on the Pyro model, at a small cost per sweep:

* Normal prior: one thin SVD of ``Xc`` up front, then O(d min(n, d)) per
  sweep (the posterior precision of ``coef`` is diagonal in the right
  singular vectors of ``Xc`` whatever ``sigma`` is).
* Horseshoe: O(d**3) per sweep with Rue (2001) when ``n >= d``, and
  O(n**2 d) with Bhattacharya, Chakraborty and Mallick (2016) when
  ``d > n``.

All random numbers come from one :class:`torch.Generator`; the global torch
and numpy generators are never read or advanced. Chains run together as a
batch, so a GPU sees one batched factorisation per sweep, not one per chain.

References
----------
Rue, H. (2001). Fast sampling of Gaussian Markov random fields. JRSS B 63.
Makalic, E. and Schmidt, D. F. (2016). A simple sampler for the horseshoe
estimator. IEEE Signal Processing Letters 23(1).
Bhattacharya, A., Chakraborty, A. and Mallick, B. K. (2016). Fast sampling
with Gaussian scale mixture priors in high-dimensional regression.
Biometrika 103(4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

from ..priors import CoefPrior, Horseshoe, Normal

__all__ = [
    "GIBBS_PRIORS",
    "GibbsResult",
    "run_gibbs",
    "sample_bhattacharya",
    "sample_rue",
]

#: Coefficient priors with a Gibbs sampler.
GIBBS_PRIORS: tuple[type[CoefPrior], ...] = (Normal, Horseshoe)

Sampler = Literal["auto", "rue", "bhattacharya"]

# All sampling is done in float64: the horseshoe's scales span hundreds of
# orders of magnitude, and float32 Cholesky factors fail long before that.
_DTYPE = torch.float64
# Bounds on lambda**2 and tau**2. Their product, the prior variance of a
# coefficient, then stays inside float64's normal range, so tau * lambda
# never underflows to 0 (z = coef / (tau * lambda) stays finite) and never
# overflows when multiplied by X'X.
_SCALE2_MIN = torch.finfo(_DTYPE).tiny ** 0.25  # about 1e-77
_SCALE2_MAX = 1.0 / _SCALE2_MIN


@dataclass(frozen=True)
class GibbsResult:
    """What a run of :func:`run_gibbs` produced.

    Attributes
    ----------
    samples : dict of str to Tensor
        Draws after warm-up, shape ``(chains, draws, ...)``, in the dtype and
        on the device of ``Xc``. Always ``"coef"`` (d,); ``"noise_var"`` when
        ``noise="inverse_gamma"``; for the horseshoe also ``"tau"``,
        ``"lambda"`` (d,) and ``"z" = coef / (tau * lambda)`` (d,), the
        non-centred sites of :class:`~skbayes.priors.Horseshoe`.
    noise_scale : float or None
        The noise scale the chains were run with when it was not sampled: the
        given float, or the empirical-Bayes estimate for ``noise="point"``.
    sampler : {"svd", "rue", "bhattacharya"}
        The algorithm that drew ``coef``.
    """

    samples: dict[str, torch.Tensor]
    noise_scale: float | None
    sampler: str


# -- exact draws from the conditional of coef ---------------------------------
#
# Both samplers work in the non-centred coordinates z = coef / s, where s is
# the prior standard deviation of each coefficient (s = tau * lambda for the
# horseshoe). A priori z ~ N(0, I); given sigma**2 the likelihood is
# N(y | X S z, sigma**2 I) with S = diag(s), so
#
#     z | y ~ N(B^{-1} b, B^{-1}),   B = I + S X'X S / sigma**2,
#                                    b = S X'y / sigma**2,
#
# and coef = S z ~ N(A^{-1} X'y / sigma**2, A^{-1}) with
# A = X'X / sigma**2 + S^{-2}, the usual conditional. B's eigenvalues are all
# at least 1 however small the scales s get, whereas A's diagonal overflows
# when s underflows: the horseshoe pushes s towards 0 for null coefficients.


def _cholesky(matrix: torch.Tensor) -> torch.Tensor:
    """Lower Cholesky factor, with one retry on a slightly lifted diagonal."""
    chol, info = torch.linalg.cholesky_ex(matrix)
    if bool((info > 0).any()):
        # I + PSD is positive definite in exact arithmetic; only rounding in
        # a badly scaled matrix can break it. A relative jitter of 1e-10
        # moves the draw far less than its own spread.
        diag = matrix.diagonal(dim1=-2, dim2=-1)
        jitter = 1e-10 * diag.abs().amax(-1, keepdim=True)
        chol, info = torch.linalg.cholesky_ex(
            matrix + torch.diag_embed(jitter.expand_as(diag))
        )
        if bool((info > 0).any()):
            raise torch.linalg.LinAlgError(
                "Gibbs sampler: the conditional precision of the coefficients "
                "is not numerically positive definite. Rescale X and y."
            )
    return chol


def sample_rue(
    gram: torch.Tensor,
    xty: torch.Tensor,
    scale: torch.Tensor,
    noise_var: torch.Tensor,
    generator: torch.Generator,
) -> torch.Tensor:
    """Draw ``z ~ N(B^{-1} b, B^{-1})`` by a Cholesky factor of ``B`` (Rue 2001).

    ``B = I + S X'X S / noise_var`` and ``b = S X'y / noise_var`` with
    ``S = diag(scale)``, so that ``scale * z`` is a draw of the coefficients
    from ``N(A^{-1} X'y / noise_var, A^{-1})``, ``A = X'X / noise_var + S^{-2}``.
    Costs O(d**3); best when ``n >= d`` since ``X'X`` is formed once.

    Parameters
    ----------
    gram : Tensor of shape (d, d)
        ``X'X``.
    xty : Tensor of shape (d,)
        ``X'y``.
    scale : Tensor of shape (..., d)
        Prior standard deviations of the coefficients; leading dimensions are
        a batch (the chains), each drawn independently.
    noise_var : Tensor of shape (...)
        Noise variance of each batch member.
    generator : torch.Generator
        Source of the standard normal draws.

    Returns
    -------
    Tensor of shape (..., d)
        ``z``; the coefficients are ``scale * z``.
    """
    inv_var = noise_var.reciprocal()[..., None]
    prec = scale[..., :, None] * gram * (scale * inv_var)[..., None, :]
    prec = prec + torch.eye(gram.shape[-1], dtype=gram.dtype, device=gram.device)
    chol = _cholesky(prec)
    # With B = L L': z = L^{-T} (L^{-1} b + eps) has mean B^{-1} b and
    # covariance L^{-T} L^{-1} = B^{-1}: two triangular solves per draw.
    b = (scale * xty * inv_var).unsqueeze(-1)
    eps = torch.randn(b.shape, generator=generator, dtype=b.dtype, device=b.device)
    half = torch.linalg.solve_triangular(chol, b, upper=False)
    return torch.linalg.solve_triangular(chol.mT, half + eps, upper=True).squeeze(-1)


def sample_bhattacharya(
    X: torch.Tensor,
    y: torch.Tensor,
    scale: torch.Tensor,
    noise_var: torch.Tensor,
    generator: torch.Generator,
) -> torch.Tensor:
    """The same draw as :func:`sample_rue` in O(n**2 d) (Bhattacharya et al. 2016).

    Parameters
    ----------
    X : Tensor of shape (n, d)
    y : Tensor of shape (n,)
    scale : Tensor of shape (..., d)
        Prior standard deviations of the coefficients, batched as in
        :func:`sample_rue`.
    noise_var : Tensor of shape (...)
    generator : torch.Generator

    Returns
    -------
    Tensor of shape (..., d)
        ``z``; the coefficients are ``scale * z``.

    Notes
    -----
    Algorithm 1 of Bhattacharya, Chakraborty and Mallick (2016) draws
    ``theta ~ N(Sigma Phi' alpha, Sigma)``, ``Sigma = (Phi'Phi + D^{-1})^{-1}``:
    ``u ~ N(0, D)``, ``delta ~ N(0, I_n)``, ``v = Phi u + delta``,
    ``w = (Phi D Phi' + I_n)^{-1} (alpha - v)``, ``theta = u + D Phi' w``.
    In ``z`` coordinates the prior is ``D = I``, and ``Phi = X S / sigma``,
    ``alpha = y / sigma`` give the conditional of :func:`sample_rue`. Only an
    ``n x n`` system is solved.
    """
    n, d = X.shape
    inv_sd = noise_var.rsqrt()[..., None]
    phi = X * (scale * inv_sd).unsqueeze(-2)  # (..., n, d)
    alpha = y * inv_sd  # (..., n)
    batch = scale.shape[:-1]
    u = torch.randn((*batch, d), generator=generator, dtype=X.dtype, device=X.device)
    delta = torch.randn(
        (*batch, n), generator=generator, dtype=X.dtype, device=X.device
    )
    v = (phi @ u.unsqueeze(-1)).squeeze(-1) + delta
    system = phi @ phi.mT + torch.eye(n, dtype=X.dtype, device=X.device)
    w = torch.cholesky_solve((alpha - v).unsqueeze(-1), _cholesky(system))
    return u + (phi.mT @ w).squeeze(-1)


def _sample_svd(
    svd: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    scale: float,
    noise_var: torch.Tensor,
    generator: torch.Generator,
) -> torch.Tensor:
    """``z`` under a Normal prior, with a fixed thin SVD ``X = U diag(s) V'``.

    ``B = I + scale**2 X'X / sigma**2 = V diag(1 + scale**2 s**2 / sigma**2) V'
    + (I - V V')``: diagonal in the basis of V's columns and the identity on
    their orthogonal complement, for every sigma. So
    ``z = V (m + diag(prec**-1/2) V' eps) + (I - V V') eps`` with
    ``m = scale s U'y / (sigma**2 prec)``: O(d min(n, d)) per draw.
    """
    svals, uty, v = svd
    prec = 1.0 + (scale * svals) ** 2 / noise_var[..., None]  # (..., r)
    mean = scale * svals * uty / (noise_var[..., None] * prec)
    eps = torch.randn(
        (*noise_var.shape, v.shape[0]),
        generator=generator,
        dtype=v.dtype,
        device=v.device,
    )
    proj = eps @ v
    return (mean + proj * (prec.rsqrt() - 1.0)) @ v.T + eps


# -- the other conditionals ------------------------------------------------------


def _inverse_gamma(
    shape: float | torch.Tensor, rate: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Draws of InverseGamma(shape, rate), elementwise, as rate / Gamma(shape)."""
    conc = torch.as_tensor(shape, dtype=rate.dtype, device=rate.device)
    conc = conc.expand(rate.shape).contiguous()
    # torch.distributions.Gamma cannot take a generator; the op underneath it
    # can. Clamping keeps a (vanishingly rare) zero gamma draw finite.
    gamma = torch._standard_gamma(conc, generator=generator)
    return rate / gamma.clamp_min(torch.finfo(rate.dtype).tiny)


def _check_prior(prior: CoefPrior | str) -> CoefPrior:
    if isinstance(prior, str):
        from ..priors import resolve_coef_prior

        prior = resolve_coef_prior(prior)
    if type(prior) not in GIBBS_PRIORS:
        allowed = ", ".join(cls.__name__ for cls in GIBBS_PRIORS)
        raise ValueError(
            f"inference='gibbs' has no sampler for the {type(prior).__name__} "
            f"prior; it supports {allowed}. Use inference='nuts' or 'svi'."
        )
    return prior.validate()


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


def run_gibbs(
    Xc: torch.Tensor,
    yc: torch.Tensor,
    *,
    prior: CoefPrior | str,
    noise: str | float = "inverse_gamma",
    noise_prior: tuple[float, float] = (0.1, 0.1),
    fit_intercept: bool = True,
    num_samples: int = 1000,
    num_warmup: int = 500,
    num_chains: int = 1,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    init: dict | None = None,
    init_jitter: float = 0.1,
    sampler: Sampler = "auto",
) -> GibbsResult:
    """Sample the linear model's posterior by exact Gibbs sweeps.

    Parameters
    ----------
    Xc : Tensor of shape (n, d)
        Centred design matrix (the columns' means subtracted when
        ``fit_intercept``). Any float dtype and device; sampling runs in
        float64 on that device.
    yc : Tensor of shape (n,)
        Centred targets.
    prior : Normal, Horseshoe or str
        The coefficient prior (or its alias ``"normal"`` / ``"horseshoe"``).
        Any other prior raises ``ValueError``.
    noise : "inverse_gamma", "point" or float
        ``"inverse_gamma"`` samples ``sigma**2`` under an
        ``InverseGamma(*noise_prior)`` prior. A float fixes the noise *scale*
        ``sigma``. ``"point"`` is empirical Bayes: during warm-up ``sigma**2``
        is moved towards the maximiser of the marginal likelihood by
        stochastic approximation EM (see Notes), then held fixed.
    noise_prior : tuple of (shape, rate)
        Inverse-gamma prior on ``sigma**2``.
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

    Returns
    -------
    GibbsResult

    Notes
    -----
    One sweep draws, in turn (the horseshoe's auxiliary variables are those
    of Makalic and Schmidt 2016, with ``tau``'s scale ``A = global_scale``):

    * ``coef | sigma**2, tau, lambda, y`` — Gaussian, see :func:`sample_rue`;
    * ``sigma**2 | coef, y ~ IG(shape + dof/2, rate + RSS/2)`` with
      ``dof = n - 1`` if ``fit_intercept`` else ``n``;
    * ``nu_j | lambda_j ~ IG(1, 1 + 1/lambda_j**2)``;
    * ``lambda_j**2 | coef_j, tau, nu_j ~ IG(1, 1/nu_j + coef_j**2/(2 tau**2))``;
    * ``xi | tau ~ IG(1, 1/A**2 + 1/tau**2)``;
    * ``tau**2 | coef, lambda, xi ~ IG((d + 1)/2, 1/xi + sum_j coef_j**2 /
      (2 lambda_j**2))``.

    These follow from ``lambda_j ~ C+(0, 1)`` being ``lambda_j**2 | nu_j ~
    IG(1/2, 1/nu_j)``, ``nu_j ~ IG(1/2, 1)``, and ``tau ~ C+(0, A)`` being
    ``tau**2 | xi ~ IG(1/2, 1/xi)``, ``xi ~ IG(1/2, 1/A**2)``. Because
    ``coef``'s prior variance is ``tau**2 lambda_j**2`` (no ``sigma**2``), no
    ``sigma`` appears in them, and ``sigma**2``'s shape gains ``dof/2``, not
    ``(dof + d)/2``.

    For ``noise="point"`` the warm-up updates ``sigma**2 <- (1 - g_t)
    sigma**2 + g_t * mean_chains(RSS) / dof``. ``E[RSS | y, sigma**2] / dof``
    is the EM update for the marginal-likelihood maximiser, since
    ``log p(y | coef, sigma**2) = -dof/2 log sigma**2 - RSS / (2 sigma**2)``
    up to constants. ``g_t = 1`` for the first half of the warm-up (stochastic
    EM) and ``1 / k`` for the k-th sweep of the second half, which averages
    the updates (Delyon, Lavielle and Moulines 1999). All chains share the
    estimate. With no warm-up, ``sigma`` stays at its initial value.
    """
    if Xc.dim() != 2 or yc.dim() != 1 or len(yc) != len(Xc):
        raise ValueError(
            f"Xc must be (n, d) and yc (n,); got {tuple(Xc.shape)} and "
            f"{tuple(yc.shape)}."
        )
    prior = _check_prior(prior)
    if isinstance(noise, str):
        if noise not in ("inverse_gamma", "point"):
            raise ValueError(
                f"noise must be 'inverse_gamma', 'point' or a float, got {noise!r}."
            )
    elif not (isinstance(noise, (int, float)) and math.isfinite(noise) and noise > 0):
        raise ValueError(f"A fixed noise scale must be positive, got {noise!r}.")
    shape0, rate0 = (float(v) for v in noise_prior)
    if not (shape0 > 0 and rate0 > 0):
        raise ValueError(f"noise_prior must be positive, got {noise_prior!r}.")
    if num_samples < 1 or num_warmup < 0 or num_chains < 1:
        raise ValueError(
            "num_samples and num_chains must be >= 1 and num_warmup >= 0; got "
            f"{num_samples}, {num_chains} and {num_warmup}."
        )
    if sampler not in ("auto", "rue", "bhattacharya"):
        raise ValueError(
            f"sampler must be 'auto', 'rue' or 'bhattacharya', got {sampler!r}."
        )

    device, out_dtype = Xc.device, Xc.dtype
    if generator is None:
        if seed is None:
            from .._runtime import make_seed

            seed = make_seed(None)
        generator = torch.Generator(device=device).manual_seed(int(seed))
    X = Xc.to(_DTYPE)
    y = yc.to(device=device, dtype=_DTYPE)
    n, d = X.shape
    C = num_chains
    init = {} if init is None else init
    dof = n - 1 if fit_intercept else n
    horseshoe = isinstance(prior, Horseshoe)

    def tensor(value) -> torch.Tensor:
        return torch.as_tensor(value, dtype=_DTYPE, device=device)

    var_y = float(y.var()) if n > 1 else 0.0
    default_var = tensor(var_y if var_y > 0 else 1.0)
    noise_var = _positive_init(
        init, "noise_var", default_var, C, init_jitter, generator
    )
    if not isinstance(noise, str):
        noise_var = tensor(float(noise) ** 2).expand(C).clone()
    elif noise == "point":
        noise_var = noise_var[:1].expand(C).clone()  # one value for all chains

    if horseshoe:
        global_scale = float(prior.global_scale)
        tau2 = (
            _positive_init(init, "tau", tensor(global_scale), C, init_jitter, generator)
            ** 2
        )
        lam2 = (
            _positive_init(
                init,
                "lambda",
                torch.ones(d, dtype=_DTYPE, device=device),
                C,
                init_jitter,
                generator,
            )
            ** 2
        )
        tau2 = tau2.clamp(_SCALE2_MIN, _SCALE2_MAX)
        lam2 = lam2.clamp(_SCALE2_MIN, _SCALE2_MAX)
        method = sampler if sampler != "auto" else ("rue" if n >= d else "bhattacharya")
        if method == "rue":
            gram, xty = X.T @ X, X.T @ y
    else:
        method = "svd"
        u, svals, vh = torch.linalg.svd(X, full_matrices=False)
        svd = (svals, u.T @ y, vh.T)
        scale = float(prior.scale)

    names = ["coef"]
    if noise == "inverse_gamma":
        names.append("noise_var")
    if horseshoe:
        names += ["tau", "lambda", "z"]
    event = {"coef": (d,), "noise_var": (), "tau": (), "lambda": (d,), "z": (d,)}
    out = {
        name: torch.empty((C, num_samples, *event[name]), dtype=_DTYPE, device=device)
        for name in names
    }

    half_warmup = num_warmup // 2
    for step in range(num_warmup + num_samples):
        # coef | everything else.
        if horseshoe:
            prior_sd = (tau2[:, None] * lam2).sqrt()
            if method == "rue":
                z = sample_rue(gram, xty, prior_sd, noise_var, generator)
            else:
                z = sample_bhattacharya(X, y, prior_sd, noise_var, generator)
            coef = prior_sd * z
        else:
            coef = scale * _sample_svd(svd, scale, noise_var, generator)

        # sigma**2 | coef: the likelihood contributes (sigma**2)^(-dof/2)
        # exp(-RSS / (2 sigma**2)); the coefficient prior does not involve it.
        if isinstance(noise, str):
            resid = y - coef @ X.T
            rss = (resid * resid).sum(-1)
            if noise == "inverse_gamma":
                noise_var = _inverse_gamma(
                    shape0 + 0.5 * dof, rate0 + 0.5 * rss, generator
                )
            elif step < num_warmup and dof > 0:
                gain = 1.0 if step < half_warmup else 1.0 / (step - half_warmup + 1)
                target = rss.mean() / dof
                noise_var = ((1.0 - gain) * noise_var + gain * target).clamp_min(
                    torch.finfo(_DTYPE).tiny
                )

        if horseshoe:
            # Makalic and Schmidt (2016), eqs. (7)-(10), without their sigma**2
            # (skbayes' coef prior variance is tau**2 lambda**2, unscaled).
            nu = _inverse_gamma(1.0, 1.0 + lam2.reciprocal(), generator)
            half_sq = 0.5 * coef * coef
            lam2 = _inverse_gamma(
                1.0, nu.reciprocal() + half_sq / tau2[:, None], generator
            ).clamp(_SCALE2_MIN, _SCALE2_MAX)
            # tau ~ C+(0, A): tau**2 | xi ~ IG(1/2, 1/xi), xi ~ IG(1/2, 1/A**2).
            xi = _inverse_gamma(
                1.0, 1.0 / global_scale**2 + tau2.reciprocal(), generator
            )
            tau2 = _inverse_gamma(
                0.5 * (d + 1), xi.reciprocal() + (half_sq / lam2).sum(-1), generator
            ).clamp(_SCALE2_MIN, _SCALE2_MAX)

        if step >= num_warmup:
            # The state at the end of a sweep is one draw of the chain; z is
            # recomputed from the *updated* tau and lambda so that
            # tau * lambda * z reproduces the stored coef.
            k = step - num_warmup
            out["coef"][:, k] = coef
            if noise == "inverse_gamma":
                out["noise_var"][:, k] = noise_var
            if horseshoe:
                tau = tau2.sqrt()
                lam = lam2.sqrt()
                out["tau"][:, k] = tau
                out["lambda"][:, k] = lam
                out["z"][:, k] = coef / (tau[:, None] * lam)

    fixed_scale = None if noise == "inverse_gamma" else float(noise_var[0].sqrt())
    samples = {name: value.to(out_dtype) for name, value in out.items()}
    return GibbsResult(samples=samples, noise_scale=fixed_scale, sampler=method)
