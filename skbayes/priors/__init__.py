"""Priors, as small sklearn-style objects.

A prior is a plain parameter container: ``get_params`` / ``set_params`` make it
cloneable and searchable (``GridSearchCV`` can tune ``prior__scale``), and its
hyperparameters are validated when an estimator is fitted, not when the prior
is built.

Coefficient priors describe themselves to the model backbone through two
methods:

``latent_sites(n_features, ..., values=None)``
    The latent variables the prior needs, in sampling order. Most priors have
    independent sites with fixed distributions; a prior whose site depends on
    others (the centred horseshoe) sets ``has_dependent_sites`` and builds
    that site's distribution from ``values``.
``transform(values, noise_scale, n_samples)``
    Maps those latent values (and the noise scale, which some priors are
    scaled by) to the coefficient vector ``"coef"`` and any derived quantity
    worth reporting.

A prior written outside skbayes needs only ``latent_sites`` (and
``transform`` when its latent variables are not the coefficients): SVI and
NUTS then work from it, and ``init_values`` and a closed-form
``log_density`` are optional speed-ups. The fast engines' paths are optional
capabilities a prior declares (``CoefPrior``'s ``gibbs_kernel``,
``fixed_gaussian_scale``, ``conditionally_gaussian``, ``fused_density``,
``with_parameterization``); a subclass inherits them. An entry in
``COEF_PRIORS`` gives a prior a string alias. ``docs/extending.md`` walks
through one.

Noise priors (``noise``) are priors on the Gaussian noise scale, accepted by
the regressors' ``noise_prior=``: each gives its log density in
``log sigma**2``, and an inverse-gamma part Gibbs kernels draw from
conjugately.

The modules: ``_base`` (the contract), ``independent`` (Normal, Flat,
Laplace, Student-t), ``horseshoe`` (the horseshoe and the regularised
horseshoe), ``noise`` (the noise priors) and ``beta`` (the Beta-Bernoulli
model's prior).
"""

from sklearn.base import clone

from ._base import CoefPrior, GaussianForm
from .beta import Beta
from .horseshoe import Horseshoe, RegularizedHorseshoe
from .independent import Flat, Laplace, Normal, StudentT
from .noise import (
    NOISE_PRIORS,
    Exponential,
    FlatScale,
    HalfCauchy,
    HalfNormal,
    HalfStudentT,
    InverseGamma,
    Jeffreys,
    NoisePrior,
    resolve_noise_prior,
)

__all__ = [
    "BETA_PRIORS",
    "COEF_PRIORS",
    "NOISE_PRIORS",
    "Beta",
    "CoefPrior",
    "Exponential",
    "Flat",
    "FlatScale",
    "GaussianForm",
    "HalfCauchy",
    "HalfNormal",
    "HalfStudentT",
    "Horseshoe",
    "InverseGamma",
    "Jeffreys",
    "Laplace",
    "NoisePrior",
    "Normal",
    "RegularizedHorseshoe",
    "StudentT",
    "resolve_beta_prior",
    "resolve_coef_prior",
    "resolve_noise_prior",
]

#: String aliases accepted by the regression estimators' ``prior=``.
COEF_PRIORS: dict[str, type[CoefPrior]] = {
    "normal": Normal,
    "flat": Flat,
    "laplace": Laplace,
    "student_t": StudentT,
    "horseshoe": Horseshoe,
    "regularized_horseshoe": RegularizedHorseshoe,
}

#: String aliases accepted by ``BetaBernoulliEstimator``.
BETA_PRIORS: dict[str, Beta] = {
    "uniform": Beta(1.0, 1.0),
    "jeffreys": Beta(0.5, 0.5),
}


def resolve_coef_prior(prior: str | CoefPrior) -> CoefPrior:
    """Return a validated copy of a coefficient prior given by alias or object.

    Examples
    --------
    >>> from skbayes.priors import Normal, resolve_coef_prior
    >>> resolve_coef_prior("horseshoe")
    Horseshoe()
    >>> prior = Normal(scale=2.0)
    >>> resolve_coef_prior(prior) is prior  # a copy: the caller's is left alone
    False
    >>> resolve_coef_prior(Normal(scale=-1.0))
    Traceback (most recent call last):
    ...
    ValueError: Invalid Normal prior: The 'scale' parameter of Normal must be ...
    """
    if isinstance(prior, str):
        return COEF_PRIORS[prior]().validate()
    return clone(prior).validate()


def resolve_beta_prior(prior: str | Beta) -> Beta:
    """Return a validated copy of a Beta prior given by alias or object.

    Examples
    --------
    >>> from skbayes.priors import Beta, resolve_beta_prior
    >>> resolve_beta_prior("jeffreys")
    Beta(alpha=0.5, beta=0.5)
    >>> resolve_beta_prior(Beta(2.0, 5.0))
    Beta(alpha=2.0, beta=5.0)
    """
    if isinstance(prior, str):
        return clone(BETA_PRIORS[prior])
    return clone(prior).validate()
