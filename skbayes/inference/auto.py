"""``inference="auto"``: the engine a fit gets when the user does not choose.

sklearn's ``solver="auto"`` pattern. The engines are tried in ``AUTO_ORDER``,
from the most exact to the most approximate, and the first that runs the model
(``InferenceEngine.supports`` and ``check``) at a cost the data allow
(``InferenceEngine.affordable``) is chosen:

1. ``exact``: independent draws from a closed form (Beta-Bernoulli; the
   linear model under a Normal prior);
2. ``gibbs``: exact conditional draws (the regression under the horseshoe,
   Laplace and Student-t priors; the Polya-Gamma classifier up to
   ``POLYA_GAMMA_AUTO_MAX_SIZE``);
3. ``nuts``: for priors without a Gibbs kernel, on small problems
   (``NUTS_AUTO_MAX_SIZE``);
4. ``svi``: everything else, and whenever ``batch_size`` is set, with its
   Pareto k-hat diagnostic saying how far to trust it.
"""

from __future__ import annotations

from .base import ENGINES, RunSettings

__all__ = ["AUTO", "AUTO_ORDER", "choose_engine"]

#: The ``inference=`` value that asks for ``choose_engine``.
AUTO = "auto"

#: Engines ``"auto"`` tries, most exact first.
AUTO_ORDER = ("exact", "gibbs", "nuts", "svi")


def choose_engine(model, data, settings: RunSettings) -> str:
    """The name of the engine ``inference="auto"`` runs ``model`` on ``data`` with.

    Parameters
    ----------
    model : BayesianModule
        The model as the estimator built it.
    data : ModelData
        Its data.
    settings : RunSettings
        The estimator's settings (engines' ``check`` may read them).

    Returns
    -------
    str
        A key of ``ENGINES``.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skbayes.inference import RunSettings
    >>> from skbayes.inference.auto import choose_engine
    >>> from skbayes.models import LinearData, LinearRegressionModel
    >>> from skbayes.priors import Horseshoe, Laplace, Normal, RegularizedHorseshoe
    >>> X, y = np.ones((20, 3)), np.zeros(20)
    >>> data = LinearData.from_arrays(
    ...     X, y, fit_intercept=True, dtype=torch.float64
    ... )
    >>> [
    ...     choose_engine(LinearRegressionModel(prior, 3, 20), data, RunSettings(0))
    ...     for prior in (Normal(), Horseshoe(), Laplace(), RegularizedHorseshoe())
    ... ]
    ['exact', 'gibbs', 'gibbs', 'svi']
    """
    candidates = [
        ENGINES[name]()
        for name in AUTO_ORDER
        if name in ENGINES and ENGINES[name].supports(type(model))
    ]
    *preferred, fallback = candidates
    for engine in preferred:
        try:
            engine.check(model, data, settings)
        except ValueError:
            continue
        if engine.affordable(model, data):
            return engine.name
    # The last resort's own check explains what is wrong, if anything.
    fallback.check(model, data, settings)
    return fallback.name
