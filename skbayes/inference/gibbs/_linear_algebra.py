"""Exact draws of the coefficients from their Gaussian conditional.

Both samplers work in the non-centred coordinates ``z = coef / s``, where
``s`` is the prior standard deviation of each coefficient (``s = tau *
lambda`` for the horseshoe). A priori ``z ~ N(0, I)``; given ``sigma**2`` the
likelihood is ``N(y | X S z, sigma**2 I)`` with ``S = diag(s)``, so::

    z | y ~ N(B^{-1} b, B^{-1}),   B = I + S X'X S / sigma**2,
                                   b = S X'y / sigma**2,

and ``coef = S z ~ N(A^{-1} X'y / sigma**2, A^{-1})`` with
``A = X'X / sigma**2 + S^{-2}``, the usual conditional. ``B``'s eigenvalues
are all at least 1 however small the scales ``s`` get, whereas ``A``'s
diagonal overflows when ``s`` underflows: the horseshoe pushes ``s`` towards
0 for null coefficients.
"""

from __future__ import annotations

import torch

__all__ = ["sample_bhattacharya", "sample_rue"]


#: Raised when even the lifted diagonal of ``_cholesky`` fails (and by the
#: numpy sweeps' LAPACK factorisation).
NOT_POSITIVE_DEFINITE = (
    "Gibbs sampler: the conditional precision of the coefficients is not "
    "numerically positive definite. Rescale X and y."
)


def _cholesky(matrix: torch.Tensor) -> torch.Tensor:
    """Lower Cholesky factor, with one retry on a slightly lifted diagonal."""
    chol, info = torch.linalg.cholesky_ex(matrix)
    if info.any():
        # I + PSD is positive definite in exact arithmetic; only rounding in
        # a badly scaled matrix can break it. A relative jitter of 1e-10
        # moves the draw far less than its own spread.
        diag = matrix.diagonal(dim1=-2, dim2=-1)
        jitter = 1e-10 * diag.abs().amax(-1, keepdim=True)
        chol, info = torch.linalg.cholesky_ex(
            matrix + torch.diag_embed(jitter.expand_as(diag))
        )
        if bool((info > 0).any()):
            raise torch.linalg.LinAlgError(NOT_POSITIVE_DEFINITE)
    return chol


def sample_rue(
    gram: torch.Tensor,
    xty: torch.Tensor,
    scale: torch.Tensor,
    noise_var: torch.Tensor,
    generator: torch.Generator,
    chol: torch.Tensor | None = None,
) -> torch.Tensor:
    """Draw ``z ~ N(B^{-1} b, B^{-1})`` by a Cholesky factor of ``B`` (Rue 2001).

    ``B = I + S X'X S / noise_var`` and ``b = S X'y / noise_var`` with
    ``S = diag(scale)``, so that ``scale * z`` is a draw of the coefficients
    from ``N(A^{-1} X'y / noise_var, A^{-1})``, ``A = X'X / noise_var + S^{-2}``.
    Costs O(d**3); best when ``n >= d`` since ``X'X`` is formed once.

    Parameters
    ----------
    gram : Tensor of shape (d, d) or (..., d, d)
        ``X'X``, shared by the batch or one per member.
    xty : Tensor of shape (d,) or (..., d)
        ``X'y``.
    scale : Tensor of shape (..., d)
        Prior standard deviations of the coefficients; leading dimensions are
        a batch (the chains), each drawn independently.
    noise_var : Tensor of shape (...)
        Noise variance of each batch member.
    generator : torch.Generator
        Source of the standard normal draws.
    chol : Tensor of shape (..., d, d), optional
        The lower Cholesky factor of ``B``, when already at hand.

    Returns
    -------
    Tensor of shape (..., d)
        ``z``; the coefficients are ``scale * z``.

    References
    ----------
    Rue, H. (2001). Fast sampling of Gaussian Markov random fields. JRSS B 63.
    """
    inv_var = noise_var.reciprocal()[..., None]
    if chol is None:
        prec = scale[..., :, None] * gram * (scale * inv_var)[..., None, :]
        prec.diagonal(dim1=-2, dim2=-1).add_(1.0)
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
    chol: torch.Tensor | None = None,
) -> torch.Tensor:
    """The same draw as ``sample_rue`` in O(n**2 d) (Bhattacharya et al. 2016).

    Parameters
    ----------
    X : Tensor of shape (n, d) or (..., n, d)
    y : Tensor of shape (n,) or (..., n)
        One data set for every batch member, or one each (the Polya-Gamma
        kernel's weighted pseudo-data).
    scale : Tensor of shape (..., d)
        Prior standard deviations of the coefficients, batched as in
        ``sample_rue``.
    noise_var : Tensor of shape (...)
    generator : torch.Generator
    chol : Tensor of shape (..., n, n), optional
        The lower Cholesky factor of ``I + X S**2 X' / noise_var``, when
        already at hand.

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
    ``alpha = y / sigma`` give the conditional of ``sample_rue``. Only an
    ``n x n`` system is solved.

    References
    ----------
    Bhattacharya, A., Chakraborty, A. and Mallick, B. K. (2016). Fast sampling
    with Gaussian scale mixture priors in high-dimensional regression.
    Biometrika 103(4).
    """
    n, d = X.shape[-2:]
    inv_sd = noise_var.rsqrt()[..., None]
    phi = X * (scale * inv_sd).unsqueeze(-2)  # (..., n, d)
    alpha = y * inv_sd  # (..., n)
    batch = scale.shape[:-1]
    u = torch.randn((*batch, d), generator=generator, dtype=X.dtype, device=X.device)
    delta = torch.randn(
        (*batch, n), generator=generator, dtype=X.dtype, device=X.device
    )
    v = (phi @ u.unsqueeze(-1)).squeeze(-1) + delta
    if chol is None:
        system = phi @ phi.mT + torch.eye(n, dtype=X.dtype, device=X.device)
        chol = _cholesky(system)
    w = torch.cholesky_solve((alpha - v).unsqueeze(-1), chol)
    return u + (phi.mT @ w).squeeze(-1)
