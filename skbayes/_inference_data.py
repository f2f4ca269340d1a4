"""ArviZ's ``InferenceData`` from a fitted estimator's draws (``to_arviz``).

ArviZ is optional (``pip install "skbayes[arviz]"``) and imported only here,
when a user asks for it.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np


def import_arviz():
    """ArviZ, or an ``ImportError`` that says how to install it."""
    try:
        with warnings.catch_warnings():
            # ArviZ 0.2x announces its coming refactor on import; that notice
            # is about ArviZ, not about this call.
            warnings.filterwarnings("ignore", category=FutureWarning)
            import arviz
    except ImportError as error:
        raise ImportError(
            "to_arviz needs ArviZ: pip install 'skbayes[arviz]' (or arviz)."
        ) from error
    return arviz


def inference_data(
    posterior: dict,
    *,
    num_chains: int,
    dims: dict,
    coords: dict,
    log_likelihood: np.ndarray | None = None,
    observed: dict | None = None,
    diverging: np.ndarray | None = None,
):
    """Build the ``InferenceData`` of draws stored chain after chain.

    Parameters
    ----------
    posterior : dict of str to ndarray
        Draws of each site, shape ``(num_chains * draws, ...)``.
    num_chains : int
        Chains in the draws, stored one after another.
    dims, coords : dict
        ArviZ's names of each site's axes after the draw axis, and the
        labels along each named axis.
    log_likelihood : ndarray of shape (num_chains * draws, n), optional
        Pointwise log-likelihood of the observations in ``observed``.
    observed : dict of str to ndarray, optional
        One observed variable, the rows of ``log_likelihood``.
    diverging : ndarray of bool, shape (num_chains * draws,), optional
        NUTS: whether each draw's transition diverged.
    """
    arviz = import_arviz()

    def by_chain(value):
        value = np.asarray(value)
        return value.reshape(num_chains, -1, *value.shape[1:])

    groups = {"posterior": {name: by_chain(v) for name, v in posterior.items()}}
    dims = dict(dims)
    if log_likelihood is not None:
        ((name, values),) = observed.items()
        groups["log_likelihood"] = {name: by_chain(log_likelihood)}
        groups["observed_data"] = {name: np.asarray(values)}
        dims[name] = ["obs"]
        coords = {**coords, "obs": np.arange(len(values))}
    if diverging is not None:
        groups["sample_stats"] = {"diverging": by_chain(diverging)}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        if "posterior" in inspect.signature(arviz.from_dict).parameters:
            return arviz.from_dict(**groups, dims=dims, coords=coords)
        # ArviZ 1.x takes the groups as one mapping.
        return arviz.from_dict(groups, dims=dims, coords=coords)
