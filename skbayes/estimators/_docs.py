"""Docstring sections every estimator shares, filled in with its own defaults.

Every estimator has the same engine settings and fitted attributes; writing
them once keeps four docstrings from drifting apart. Each section is a
numpydoc fragment indented for a class docstring, and is formatted with the
estimator's defaults (``str.format``, so literal braces are doubled).
"""

#: The SVI settings, ``num_steps`` to ``num_particles``.
SVI_PARAMETERS = """\
    num_steps : int, default={num_steps}
        Maximum number of SVI steps; SVI stops earlier once converged.
    learning_rate : float, default={learning_rate}
        Initial Adam learning rate; it is cut on plateaus.
    tol : float, default=1e-4
        Relative improvement of the smoothed loss that counts as progress.
        ``0`` disables early stopping.
    n_iter_no_change : int, default={n_iter_no_change}
        Windows of 50 steps without progress before the learning rate is cut
        (and, after three cuts, before SVI stops).
    num_particles : int, default={num_particles}
        Monte Carlo samples per ELBO estimate.{num_particles_note}
"""

#: Minibatch SVI, for the estimators whose models scale their likelihood.
BATCH_SIZE_PARAMETER = """\
    batch_size : int or None, default=None
        Rows per SVI step. ``None`` uses all rows; a smaller value runs
        minibatch SVI with the likelihood scaled up to the full data, for
        large ``n``. SVI only.
"""

#: The sampler settings.
SAMPLER_PARAMETERS = """\
    num_samples : int, default=1000
        Posterior draws kept per chain (NUTS and Gibbs), at least: see
        ``target_ess``.
    num_warmup : int, default=500
        NUTS or Gibbs warm-up iterations per chain.
    num_chains : int or "auto", default="auto"
        NUTS chains run one after another in this process; Gibbs chains run
        together as one batch, so a second one costs a fraction of the
        first. ``"auto"`` is 2 for Gibbs, so that split R-hat compares
        chains, and 1 for NUTS.
"""

#: The Gibbs sampler's stopping rule, for the estimators that have Gibbs.
TARGET_ESS_PARAMETER = """\
    target_ess : float or None, default=400
        Gibbs runs on past ``num_samples`` draws per chain until the
        smallest bulk effective sample size of any sampled quantity, over
        all chains, reaches ``target_ess``, or until ``4 * num_samples``
        draws per chain (the fit then warns if R-hat is high). 400 is
        Vehtari et al.'s (2021) minimum for trusting R-hat. ``None`` keeps
        exactly ``num_samples`` draws per chain.
"""

#: Device, seed and progress bar.
RUN_PARAMETERS = """\
    device : {"cpu", "cuda", "cuda:N", "auto"}, default="cpu"
        Where inference runs. Fitted state is kept on the CPU.
    random_state : int, RandomState instance or None, default=None
        Seed of the fit. The caller's global RNGs are never touched.
    verbose : bool, default=False
        Show a progress bar during inference.
"""

#: What every fit stores about its engine, after the model's own attributes.
FIT_ATTRIBUTES = """\
    posterior_ : skbayes.posterior.FittedPosterior
        The engine that produced the posterior, how it is held (stored chains,
        a fitted guide or a closed form), its chains and diagnostics.
    module_ : {model}
        The Pyro model.
    guide_ : callable
        The fitted guide (SVI only).
    loss_curve_ : ndarray
        Negative ELBO at each SVI step.
    n_iter_ : int
        SVI steps taken.
    inference_ : str
        The engine the fit ran (what ``"auto"`` chose).
    diagnostics_ : dict
        NUTS and Gibbs: ``n_eff`` and ``r_hat`` per site, and total
        ``divergences`` (None for Gibbs). SVI: ``pareto_k``, the Pareto k-hat
        of the guide's importance ratios p/q (Yao et al. 2018); over 0.7 the
        fit warns that the guide misses posterior mass.
    n_features_in_ : int
        Number of features seen in ``fit``.
"""


def engine_parameters(
    *,
    num_steps: int = 10000,
    learning_rate: float = 0.05,
    n_iter_no_change: int = 5,
    num_particles: int = 1,
    num_particles_note: str = "",
    batch_size: bool = True,
    gibbs: bool = True,
) -> str:
    """The Parameters entries from ``num_steps`` to ``verbose``."""
    svi = SVI_PARAMETERS.format(
        num_steps=num_steps,
        learning_rate=learning_rate,
        n_iter_no_change=n_iter_no_change,
        num_particles=num_particles,
        num_particles_note=num_particles_note,
    )
    return (
        svi
        + (BATCH_SIZE_PARAMETER if batch_size else "")
        + SAMPLER_PARAMETERS
        + (TARGET_ESS_PARAMETER if gibbs else "")
        + RUN_PARAMETERS
    )


def fit_attributes(model: str) -> str:
    """The Attributes entries from ``posterior_`` to ``n_features_in_``."""
    return FIT_ATTRIBUTES.format(model=model)
