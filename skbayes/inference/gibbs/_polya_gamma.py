"""Pólya-Gamma draws PG(1, z) for a Gibbs sampler of logistic regression.

With ``omega_i ~ PG(1, x_i @ coef)`` the logistic likelihood becomes
Gaussian in ``coef`` (Polson, Scott and Windle 2013), so a Gibbs sweep
alternates a Gaussian draw of ``coef`` with ``sample_polya_gamma``.

Two exact samplers are provided:

* ``method="numpy"``: the ``polyagamma`` package (compiled, fast on a CPU),
  driven by a ``numpy.random.Generator`` seeded from the torch generator;
  its Devroye sampler for ``|z| < 100``, its "alternate" sampler (Windle,
  Polson and Scott 2014) above, as the former is wrong for large ``|z|``.
* ``method="torch"``: Devroye's alternating-series accept-reject sampler for
  ``J*(1, z / 2)`` (Polson, Scott and Windle 2013, section 4; Windle 2013,
  chapter 2), vectorised over elements, so that it runs on a GPU; ``omega =
  J* / 4``.

All random numbers come from the ``torch.Generator`` passed in; the global
torch and numpy generators are never read or advanced.

``polya_gamma_mean`` and ``polya_gamma_variance`` give the first two moments
in closed form. They follow from the representation

    omega = (1 / (2 pi**2)) sum_k g_k / ((k - 1/2)**2 + z**2 / (4 pi**2)),

with ``g_k ~ Gamma(1, 1)`` independent, whose Laplace transform is
``E exp(-t omega) = cosh(z / 2) / cosh(sqrt(z**2 / 4 + t / 2))``: writing
``m(z) = E omega = tanh(z / 2) / (2 z)``, term-by-term differentiation of the
sum gives ``Var omega = -m'(z) / z = (sinh z - z) / (4 z**3 cosh(z / 2)**2)``.

References
----------
Devroye, L. (1986). Non-Uniform Random Variate Generation. Springer.
Section IV.5 (the alternating series method).

Michael, J. R., Schucany, W. R. and Haas, R. W. (1976). Generating random
variates using transformations with multiple roots. The American
Statistician 30(2).

Polson, N. G., Scott, J. G. and Windle, J. (2013). Bayesian inference for
logistic models using Pólya-Gamma latent variables. Journal of the American
Statistical Association 108(504).

Windle, J. (2013). Forecasting high-dimensional, time-varying variance-
covariance matrices with high-frequency data and sampling Pólya-Gamma random
variates for posterior distributions derived from logistic likelihoods. PhD
thesis, The University of Texas at Austin.

Windle, J., Polson, N. G. and Scott, J. G. (2014). Sampling Pólya-Gamma
random variates: alternate and approximate techniques. arXiv:1405.0506.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["polya_gamma_mean", "polya_gamma_variance", "sample_polya_gamma"]

# Sampling is done in float64 whatever z's dtype, and cast back: the proposal
# weights involve exp(+-|z| / 2), out of float32's range from |z| of about
# 180, and the acceptance tests compare numbers close to 1.
_DTYPE = torch.float64

# Devroye's truncation point: the left (small x) and right (large x) series
# for J*(1, 0)'s density switch there. 0.64 is Polson, Scott and Windle's
# (2013) near-optimal choice (acceptance at least 0.9992 for every z), for
# which both series' terms decrease from the first one on.
_T = 0.64

# Safety nets. Every accept-reject loop below accepts with probability above
# 0.45 per round, so 1000 rounds are never needed; reaching the cap means a
# bug (or NaN input), and is reported rather than silently returning garbage.
_MAX_ROUNDS = 1000
# The alternating series' n-th term, relative to the first, is
# (2n + 1) exp(-n (n + 1) r) with r >= 3.125 (see `_series_accept`), so terms
# past n = 5 are below 1e-40: by then the partial sum is the density ratio to
# float64 rounding.
_MAX_TERMS = 12

# polyagamma's Devroye sampler is used for |z| below this, its "alternate"
# sampler above (see `_sample_numpy`).
_NUMPY_DEVROYE_BELOW = 100.0

# Taylor coefficients in z**2 of the mean tanh(z/2) / (2z) and variance
# (sinh z - z) / (4 z**3 cosh(z/2)**2), up to z**20. The series converge for
# |z| < pi; below _SERIES_BELOW = 0.5 the omitted terms are under 1e-16
# relative, while the closed-form variance loses about 12 eps / z**2 to
# cancellation there (and the mean is 0 / 0 at z = 0).
_SERIES_BELOW = 0.5
_MEAN_SERIES = (
    1 / 4,
    -1 / 48,
    1 / 480,
    -17 / 80640,
    31 / 1451520,
    -691 / 319334400,
    5461 / 24908083200,
    -929569 / 41845579776000,
    3202291 / 1422749712384000,
    -221930581 / 973160803270656000,
    4722116521 / 204363768686837760000,
)
_VARIANCE_SERIES = (
    1 / 24,
    -1 / 120,
    17 / 13440,
    -31 / 181440,
    691 / 31933440,
    -5461 / 2075673600,
    929569 / 2988969984000,
    -3202291 / 88921857024000,
    221930581 / 54064489070592000,
    -4722116521 / 10218188434341888000,
    56963745931 / 1105968630540533760000,
)


def sample_polya_gamma(
    z: torch.Tensor,
    generator: torch.Generator,
    *,
    h: torch.Tensor | None = None,
    method: str = "auto",
) -> torch.Tensor:
    """Draws of ``omega_i ~ PG(1, z_i)``, or ``PG(h_j, z_i)``, elementwise.

    Parameters
    ----------
    z : torch.Tensor
        Tilting parameters, any shape; must be finite. PG(1, z) depends on
        ``|z|`` only.
    generator : torch.Generator
        Source of all random numbers. For ``method="torch"`` it must live on
        ``z``'s device; for ``method="numpy"`` it only provides a seed.
    h : Tensor of shape (z.shape[-1],), optional
        Whole-number shapes along ``z``'s last axis (row weights). ``PG(h,
        z)`` is drawn exactly as the sum of ``h`` draws of ``PG(1, z)``; a
        shape of 0 gives 0. polyagamma's own samplers for other shapes are
        not used: in 2.0.2 they are off by up to 1% in the mean (h = 2.5,
        z = 0, 11 Monte Carlo sd over 400,000 draws).
    method : {"auto", "numpy", "torch"}, default="auto"
        ``"numpy"`` uses the ``polyagamma`` package on the CPU (``z`` is
        copied there and back); ``"torch"`` runs Devroye's sampler in torch
        on ``z``'s device; ``"auto"`` picks ``"numpy"`` when ``z`` is on the
        CPU and ``polyagamma`` is installed, else ``"torch"``.

    Returns
    -------
    torch.Tensor
        Draws with ``z``'s shape, device and (floating) dtype; float64 when
        ``z`` is not floating point. Computed in float64 either way.

    Raises
    ------
    ValueError
        If ``method`` is unknown or ``z`` has non-finite values.
    ImportError
        If ``method="numpy"`` and ``polyagamma`` is not installed.
    RuntimeError
        If the torch sampler's accept-reject loop reaches its safety cap,
        which an exact sampler with finite input never does.

    Notes
    -----
    The same generator state gives the same draws for a given method, but
    the two methods give different (equally distributed) draws.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> omega = sample_polya_gamma(torch.tensor([0.0, 1.0, 10.0]), g)
    >>> omega.shape
    torch.Size([3])
    """
    if method not in ("auto", "numpy", "torch"):
        raise ValueError(f"method must be 'auto', 'numpy' or 'torch'; got {method!r}.")
    z = torch.as_tensor(z)
    out_dtype = z.dtype if z.is_floating_point() else _DTYPE
    if z.numel() == 0:
        return torch.empty(z.shape, dtype=out_dtype, device=z.device)
    if not bool(torch.isfinite(z).all()):
        raise ValueError("z must be finite.")
    if method == "auto":
        use_numpy = z.device.type == "cpu" and _polyagamma_importable()
        method = "numpy" if use_numpy else "torch"
    if h is not None:
        return _sum_of_unit_shapes(z, h, generator, method).to(out_dtype)
    if method == "numpy":
        draws = _sample_numpy(z, generator)
    else:
        half = z.detach().to(_DTYPE).abs().reshape(-1) / 2
        draws = _sample_jstar(half, generator) / 4
    return draws.reshape(z.shape).to(dtype=out_dtype, device=z.device)


def _sum_of_unit_shapes(z, h, generator, method) -> torch.Tensor:
    """``PG(h, z)`` along the last axis as sums of ``h`` draws of ``PG(1, z)``."""
    counts = torch.as_tensor(h, device=z.device)
    if bool((counts != counts.round()).any()) or bool((counts < 0).any()):
        raise ValueError("h must hold non-negative whole numbers.")
    counts = counts.long()
    repeated = z.repeat_interleave(counts, dim=-1)
    draws = sample_polya_gamma(repeated, generator, method=method).to(_DTYPE)
    rows = torch.arange(z.shape[-1], device=z.device).repeat_interleave(counts)
    out = torch.zeros(z.shape, dtype=_DTYPE, device=z.device)
    return out.index_add_(-1, rows, draws)


def polya_gamma_mean(z: torch.Tensor) -> torch.Tensor:
    """Mean of PG(1, z): ``tanh(z / 2) / (2 z)``, and 1/4 at ``z = 0``.

    Parameters
    ----------
    z : torch.Tensor
        Tilting parameters, any shape.

    Returns
    -------
    torch.Tensor
        ``E omega`` with ``z``'s shape, in ``z``'s floating dtype (float64
        otherwise), computed in float64. A Taylor series is used for
        ``|z| < 0.5``, where the closed form is 0 / 0 at the origin.
    """
    return _series_or_closed_form(
        z, _MEAN_SERIES, lambda a: torch.tanh(a / 2) / (2 * a)
    )


def polya_gamma_variance(z: torch.Tensor) -> torch.Tensor:
    """Variance of PG(1, z): ``(sinh z - z) / (4 z**3 cosh(z / 2)**2)``.

    Parameters
    ----------
    z : torch.Tensor
        Tilting parameters, any shape.

    Returns
    -------
    torch.Tensor
        ``Var omega`` with ``z``'s shape, in ``z``'s floating dtype (float64
        otherwise), computed in float64; 1/24 at ``z = 0``.

    Notes
    -----
    The closed form is evaluated as ``(2 tanh(z/2) - z sech(z/2)**2) /
    (4 z**3)``, which equals it (``sinh z = 2 sinh(z/2) cosh(z/2)``) and does
    not overflow for large ``|z|``. Its numerator cancels to ``z**3 / 6``
    near 0, so a Taylor series is used for ``|z| < 0.5``.
    """

    def closed(a):
        sech2 = torch.cosh(a / 2).reciprocal().square()
        return (2 * torch.tanh(a / 2) - a * sech2) / (4 * a**3)

    return _series_or_closed_form(z, _VARIANCE_SERIES, closed)


def _series_or_closed_form(z, series: tuple, closed) -> torch.Tensor:
    """``closed(|z|)``, or the series in ``z**2`` where ``|z| < 0.5``, in float64."""
    z64, out_dtype = _as_float64(z)
    a = z64.abs()
    small = a < _SERIES_BELOW
    # Evaluate the closed form away from 0 only, so that no 0 / 0 appears
    # even in the branch that torch.where discards (it would poison gradients).
    safe = torch.where(small, torch.ones_like(a), a)
    value = torch.where(small, _horner(series, a * a), closed(safe))
    return value.to(out_dtype)


def _as_float64(z) -> tuple[torch.Tensor, torch.dtype]:
    """``z`` in float64, and the dtype that results are returned in."""
    z = torch.as_tensor(z)
    out_dtype = z.dtype if z.is_floating_point() else _DTYPE
    return z.to(_DTYPE), out_dtype


def _horner(coefficients: tuple[float, ...], x: torch.Tensor) -> torch.Tensor:
    """``sum_k coefficients[k] * x**k``, by Horner's rule."""
    value = torch.full_like(x, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        value = value * x + c
    return value


# -- the polyagamma package ---------------------------------------------------


def _polyagamma_importable() -> bool:
    """Whether ``import polyagamma`` works (not merely whether it is found)."""
    try:
        import polyagamma  # noqa: F401
    except ImportError:
        return False
    return True


def _sample_numpy(z: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """PG(1, z) draws from ``polyagamma``, seeded from ``generator``."""
    try:
        # Imported here: polyagamma is optional, and only this path needs it.
        from polyagamma import random_polyagamma
    except ImportError as err:
        raise ImportError(
            "method='numpy' needs the polyagamma package: pip install polyagamma"
        ) from err
    # One 63-bit seed from the torch generator makes the draws a function of
    # its state, without touching numpy's global generator.
    seed = torch.randint(
        2**63 - 1, (1,), generator=generator, device=generator.device
    ).item()
    rng = np.random.default_rng(int(seed))
    # PG(1, z) depends on |z| only; passing |z| makes draws for z and -z
    # identical, whatever the package does with the sign.
    z64 = z.detach().to(device="cpu", dtype=_DTYPE).abs().reshape(-1).numpy()
    draws = np.empty(z64.shape, dtype=np.float64)
    # polyagamma's default for h = 1, Devroye's sampler, is wrong for large
    # |z| (in 2.0.2, from |z| of about 178 it always proposes from the
    # exponential piece and returns draws near t / 4 = 0.16, tens of times
    # the mean), so those elements go to its "alternate" sampler (Windle, Polson
    # and Scott 2014), exact too but half as fast. The cutoff leaves a wide
    # margin below the failure.
    large = z64 >= _NUMPY_DEVROYE_BELOW
    for mask, method in ((~large, None), (large, "alternate")):
        if mask.any():
            # out= is avoided: for a single element the package returns a
            # float, which asarray turns into an array either way.
            value = random_polyagamma(1.0, z64[mask], method=method, random_state=rng)
            draws[mask] = np.asarray(value, dtype=np.float64)
    return torch.from_numpy(draws)


# -- Devroye's sampler in torch -------------------------------------------------


def _rejection(count: int, propose, device: torch.device, what: str) -> torch.Tensor:
    """Run an accept-reject scheme until all ``count`` elements are accepted.

    ``propose(todo)`` gets the indices of the unfinished elements and returns
    a proposal and an acceptance mask for each of them; only those elements
    are re-proposed, so later rounds shrink geometrically.
    """
    out = torch.empty(count, dtype=_DTYPE, device=device)
    todo = torch.arange(count, device=device)
    for _ in range(_MAX_ROUNDS):
        if todo.numel() == 0:
            return out
        value, accept = propose(todo)
        out[todo[accept]] = value[accept]
        todo = todo[~accept]
    if todo.numel() == 0:
        return out
    raise RuntimeError(
        f"{what}: {todo.numel()} draws were still rejected after "
        f"{_MAX_ROUNDS} rounds; this should never happen for finite z."
    )


def _sample_jstar(c: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Draws of J*(1, c) for a 1-D float64 ``c >= 0``.

    Polson, Scott and Windle (2013), section 4, and Windle (2013), chapter 2.

    The proposal is ``cosh(c) exp(-c**2 x / 2)`` times the first term of
    J*(1, 0)'s density series: an exponential right of ``_T`` and an inverse
    Gaussian IG(1 / c, 1) left of it, mixed with weights ``p`` and ``q``.
    The tilt cancels in the acceptance ratio, which is therefore the untilted
    series' and does not depend on ``c``.
    """
    like = {"dtype": _DTYPE, "device": c.device, "generator": generator}
    # Rate of the exponential proposal: pi**2 / 8 from the series' first
    # term, c**2 / 2 from the tilt.
    rate = math.pi**2 / 8 + c * c / 2
    # Mass of each half of the proposal, up to the common factor cosh(c):
    #   p = pi / (2 rate) exp(-rate t),
    #   q = 2 exp(-c) P(IG(1/c, 1) < t)
    #     = 2 [exp(-c) Phi((c t - 1) / sqrt t) + exp(c) Phi(-(c t + 1) / sqrt t)].
    # Logs keep exp(c) Phi(...) finite for large c (both factors overflow or
    # underflow alone), and p from underflowing to 0 / 0.
    root_t = math.sqrt(_T)
    log_p = torch.log(math.pi / (2 * rate)) - rate * _T
    log_q = math.log(2.0) + torch.logaddexp(
        -c + torch.special.log_ndtr((c * _T - 1) / root_t),
        c + torch.special.log_ndtr(-(c * _T + 1) / root_t),
    )
    prob_right = torch.sigmoid(log_p - log_q)

    def propose(todo: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = todo.numel()
        right = torch.rand(n, **like) < prob_right[todo]
        x = torch.empty(n, dtype=_DTYPE, device=c.device)
        n_right = int(right.sum())
        if n_right:
            e = torch.empty(n_right, dtype=_DTYPE, device=c.device)
            e.exponential_(generator=generator)
            x[right] = _T + e / rate[todo[right]]
        if n_right < n:
            x[~right] = _truncated_inverse_gaussian(c[todo[~right]], generator)
        return x, _series_accept(x, torch.rand(n, **like))

    return _rejection(c.numel(), propose, c.device, "Polya-Gamma sampler")


def _series_accept(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Devroye's alternating-series test: is ``u < f(x) / a_0(x)``?

    J*(1, 0)'s density is ``f(x) = sum_n (-1)**n a_n(x)`` with, for ``x <=
    t``, ``a_n = pi (n + 1/2) (2 / (pi x))**1.5 exp(-2 (n + 1/2)**2 / x)`` and,
    for ``x > t``, ``a_n = pi (n + 1/2) exp(-(n + 1/2)**2 pi**2 x / 2)``. The
    partial sums bracket ``f`` alternately from above and below, so the test
    is decided as soon as ``u`` falls outside the bracket (almost always
    after one term). Working with ``a_n / a_0 = (2n + 1) exp(-n (n + 1) r)``,
    ``r = 2 / x`` or ``pi**2 x / 2``, avoids the under- and overflow of
    ``a_0`` itself for small ``x``.
    """
    r = torch.where(x <= _T, 2 / x, (math.pi**2 / 2) * x)
    partial = torch.ones_like(x)
    accept = torch.zeros_like(x, dtype=torch.bool)
    decided = torch.zeros_like(x, dtype=torch.bool)
    for n in range(1, _MAX_TERMS + 1):
        term = (2 * n + 1) * torch.exp(-n * (n + 1) * r)
        if n % 2:
            # Odd partial sums lie below f: below them, accept.
            partial = partial - term
            newly = ~decided & (u < partial)
            accept = accept | newly
        else:
            # Even partial sums lie above f: above them, reject.
            partial = partial + term
            newly = ~decided & (u > partial)
        decided = decided | newly
        if bool(decided.all()):
            return accept
    # Terms are below 1e-40 by now (r >= 3.125), so `partial` is f / a_0 to
    # rounding and the exact test is u < partial.
    return accept | (~decided & (u < partial))


def _truncated_inverse_gaussian(
    c: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Draws of IG(1 / c, 1) truncated to ``(0, t)``, for float64 ``c >= 0``.

    Two schemes, as in Windle (2013): for ``1 / c > t`` (the mean beyond the
    truncation) a draw of the untilted IG(inf, 1) on ``(0, t)``, accepted
    with probability ``exp(-c**2 x / 2)``; otherwise plain IG draws
    (Michael, Schucany and Haas 1976), rejected when ``x >= t``. Either way
    each round accepts with probability above 0.45.
    """
    out = torch.empty_like(c)
    wide = c < 1 / _T
    if bool(wide.any()):
        out[wide] = _truncated_ig_wide(c[wide], generator)
    if not bool(wide.all()):
        out[~wide] = _truncated_ig_narrow(c[~wide], generator)
    return out


def _truncated_ig_wide(c: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """IG(1 / c, 1) on ``(0, t)`` for ``c < 1 / t``, via a chi-square tail.

    IG(inf, 1) is the law of ``1 / N**2``, ``N ~ N(0, 1)``; on ``(0, t)`` it
    is ``1 / N**2`` with ``N`` a normal beyond ``1 / sqrt(t)``, drawn by
    exponential rejection (Devroye 1986, IX.1.2): ``N = (1 + t E) / sqrt(t)``
    is accepted when ``E**2 <= 2 E' / t``, which gives ``x = t / (1 + t E)**2``.
    Tilting by ``exp(-c**2 x / 2)`` then makes it IG(1 / c, 1).
    """
    like = {"dtype": _DTYPE, "device": c.device}

    def exponential(n: int) -> torch.Tensor:
        return torch.empty(n, **like).exponential_(generator=generator)

    def tail(todo: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e, e2 = exponential(todo.numel()), exponential(todo.numel())
        return e, e * e <= 2 * e2 / _T

    def propose(todo: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e = _rejection(todo.numel(), tail, c.device, "normal tail sampler")
        x = _T / (1 + _T * e) ** 2
        u = torch.rand(todo.numel(), generator=generator, **like)
        return x, u < torch.exp(-(c[todo] ** 2) * x / 2)

    return _rejection(c.numel(), propose, c.device, "truncated inverse Gaussian")


def _truncated_ig_narrow(c: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """IG(1 / c, 1) on ``(0, t)`` for ``c >= 1 / t``, by rejecting ``x >= t``."""
    like = {"dtype": _DTYPE, "device": c.device, "generator": generator}
    mu = 1 / c

    def propose(todo: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m = mu[todo]
        w = m * torch.randn(todo.numel(), **like) ** 2
        # The smaller root of Michael, Schucany and Haas, m (1 + w/2 - s)
        # with s = sqrt(w + w**2/4), written as m / (1 + w/2 + s): equal,
        # since (1 + w/2)**2 - s**2 = 1, but free of cancellation for large w.
        x = m / (1 + w / 2 + torch.sqrt(w + w * w / 4))
        # Pick the larger root m**2 / x with probability x / (m + x).
        u = torch.rand(todo.numel(), **like)
        x = torch.where(u > m / (m + x), m * m / x, x)
        return x, x < _T

    return _rejection(c.numel(), propose, c.device, "truncated inverse Gaussian")
