"""Bayesian linear regression estimators: any coefficient prior, SVI or NUTS."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .._compat import Interval, StrOptions
from .._runtime import make_seed, resolve_device
from ..models import LinearData, LinearRegressionModel
from ..priors import (
    COEF_PRIORS,
    NOISE_PRIORS,
    CoefPrior,
    Horseshoe,
    NoisePrior,
    Normal,
    RegularizedHorseshoe,
    resolve_coef_prior,
    resolve_noise_prior,
)
from ..priors._base import _HALF_LOG_2PI
from ._base import (
    BayesianEstimator,
    check_sample_weight,
    fit_method,
    validate_design,
)
from ._docs import engine_parameters, fit_attributes

# Rows per block when forming predictive draws, to bound memory at
# PREDICT_BLOCK * num_samples floats.
PREDICT_BLOCK = 4096

_MODEL_PARAMETERS = """
    inference : {{"auto", "exact", "gibbs", "nuts", "svi"}}, default="auto"
        ``"exact"``: independent draws from the closed-form posterior
        (``"normal"`` prior only). ``"gibbs"``: exact conditional draws
        (every prior but the regularised horseshoe; the Laplace and
        Student-t priors as scale mixtures of normals), run until every
        quantity has ``target_ess`` effective draws or ``4 * num_samples``
        draws per chain.
        ``"nuts"``: the No-U-Turn sampler. ``"svi"``: variational inference,
        with a reliability diagnostic. ``"auto"`` takes the first of these
        that applies, NUTS only on at most 5,000 data entries (and never for
        the regularised horseshoe), and SVI whenever ``batch_size`` is set
        (``skbayes.inference.auto``). Any engine registered with
        ``skbayes.inference.register_engine`` that supports
        ``LinearRegressionModel`` is accepted by its name too.
    guide : str, autoguide class or callable, default={guide!r}
        The SVI guide: ``"normal"``, ``"diagonal"``, ``"mvn"``, ``"lowrank"``
        (rank 1), ``"delta"`` (MAP) or ``"laplace"``; an autoguide class; or a
        callable ``model -> guide``.
    noise : {{"prior", "point"}}, default={noise!r}
        ``"prior"`` samples the noise variance under ``noise_prior``.
        ``"point"`` fits the noise scale as a point estimate, maximising the
        ELBO (empirical Bayes). NUTS cannot optimise, so with ``"point"`` it
        first fits SVI, then samples with the noise scale fixed at that
        estimate; Gibbs maximises the marginal likelihood itself (exactly for
        the normal prior, by stochastic EM during warm-up for the
        horseshoe). ``"inverse_gamma"`` is the deprecated name of
        ``"prior"``.
    noise_prior : NoisePrior, str or tuple of (shape, rate), default=(0.1, 0.1)
        The prior on the noise (``skbayes.priors``): ``InverseGamma(shape,
        rate)`` on the noise variance, of which a pair ``(shape, rate)`` is
        shorthand; ``HalfNormal``, ``HalfCauchy``, ``HalfStudentT`` or
        ``Exponential`` on the noise scale; or the improper ``FlatScale()``
        (flat on the scale, Stan's default) and ``Jeffreys()``. A string
        names one with its default parameters (``"half_cauchy"``...).
        Every engine supports every one: the exact engine and Gibbs through
        the one-dimensional density of ``log sigma**2``, with a
        Metropolis-Hastings correction of the conjugate draw where the prior
        is not inverse-gamma.
    fit_intercept : bool, default=True
        Fit an intercept, integrated out exactly whatever the engine.
    intercept_prior : Normal or None, default=None
        The intercept's prior, on the intercept at the mean of the training
        X (rstanarm's ``prior_intercept`` and brms' ``Intercept``), which
        keeps it independent of the coefficients a priori. None (or
        ``Flat()``) is flat: the intercept is not shrunk. A
        ``Normal(scale, loc)`` with one scale and one loc is proper.
"""

_REGRESSOR_ATTRIBUTES = """
    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Posterior mean of the coefficients.
    intercept_ : float
        Posterior mean of the intercept (0 when ``fit_intercept=False``).
    posterior_samples_ : dict of str to ndarray
        Posterior draws: ``"coef"`` (S, d), ``"intercept"`` (S,),
        ``"noise_scale"`` (S,) and the prior's latent sites.
"""


def _regressor_doc(
    *, guide: str, noise: str, learning_rate, n_iter_no_change, num_particles
) -> str:
    """The Parameters and Attributes sections both regressors share."""
    return (
        _MODEL_PARAMETERS.format(guide=guide, noise=noise)
        + engine_parameters(
            learning_rate=learning_rate,
            n_iter_no_change=n_iter_no_change,
            num_particles=num_particles,
        )
        + _REGRESSOR_ATTRIBUTES
        + fit_attributes("LinearRegressionModel")
        + """    feature_names_in_ : ndarray of str
        Feature names, when X had string column names.
"""
    )


#: Numbers per temporary when a (draws, d) array is summed a block at a time.
_SUM_BLOCK = 2**19


class _BayesianLinearBase(RegressorMixin, BayesianEstimator):
    """Shared parameters, fit, predict and posterior methods of the regressors."""

    _model_class = LinearRegressionModel
    _parameter_constraints = {
        **BayesianEstimator._parameter_constraints,
        "noise": [
            StrOptions(
                {"prior", "point", "inverse_gamma"}, deprecated={"inverse_gamma"}
            )
        ],
        "noise_prior": [tuple, list, StrOptions(set(NOISE_PRIORS)), NoisePrior],
        "fit_intercept": ["boolean"],
        "intercept_prior": [Normal, None],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
    }

    def _coef_prior(self) -> CoefPrior:
        raise NotImplementedError

    def _check_noise(self) -> str | float:
        if self.noise == "inverse_gamma":
            warnings.warn(
                'noise="inverse_gamma" is deprecated; use noise="prior", which '
                "samples the noise under noise_prior (InverseGamma or any "
                "other noise prior).",
                FutureWarning,
                stacklevel=3,
            )
            return "prior"
        return self.noise

    # -- fitting -----------------------------------------------------------
    @fit_method
    def fit(self, X, y, sample_weight=None):
        """Infer the posterior of the coefficients, intercept and noise.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative likelihood weights: row ``i``'s density is raised to
            the power ``w_i``, so a whole-number weight equals repeating the
            row (frequency weights, as in ``BayesianRidge``), and the noise's
            degrees of freedom grow with ``sum(w)``. Rows of weight 0 are
            left out. Every engine takes them.

        Returns
        -------
        self
        """
        X, y = validate_design(self, X, y, y_numeric=True)
        if y.dtype.kind not in "biuf":
            raise ValueError(
                f"{type(self).__name__} needs numeric targets y; got dtype {y.dtype}."
            )
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, X)
        data = LinearData.from_arrays(
            X,
            y,
            fit_intercept=self.fit_intercept,
            dtype=self._torch_dtype(X),
            device=resolve_device(self.device),
            batch_size=self.batch_size,
            sample_weight=sample_weight,
        )
        noise = self._check_noise()
        self._x_mean, self._y_mean = data.centre()
        model = LinearRegressionModel(
            self._coef_prior(),
            data.n_features,
            data.n_samples,
            noise=noise,
            noise_prior=resolve_noise_prior(self.noise_prior),
            fit_intercept=self.fit_intercept,
            intercept_prior=self.intercept_prior,
            y_mean=self._y_mean,
            n_observations=data.n_observations,
            dtype=data.dtype,
        )
        model.check_data(data)
        self._run_inference(model, data)
        self.coef_ = self.posterior_samples_["coef"].mean(0)
        # E[a] = E[a_c] - mean(X) @ E[coef] exactly (a_c, the intercept at
        # the mean of X, is mean(y) on average under a flat prior), without
        # the Monte Carlo noise of averaging the intercept draws.
        self.intercept_ = (
            float(model.centred_intercept_mean(self.posterior_samples_))
            - float(self._x_mean @ self.coef_)
            if self.fit_intercept
            else 0.0
        )
        if noise == "point":
            self.noise_scale_ = float(self.posterior_samples_["noise_scale"].mean())
        self._summarise_fit(data)
        return self

    def _summarise_fit(self, data: LinearData) -> None:
        """Fitted attributes a subclass derives from the draws and the data."""

    def _posterior_draws(self, model, latent):
        return model.posterior_draws(latent, x_mean=self._x_mean, y_mean=self._y_mean)

    # -- prediction ----------------------------------------------------------
    def _check_X(self, X) -> np.ndarray:
        check_is_fitted(self)
        return validate_design(self, X, reset=False)

    def _observations(self, X, y):
        """Validated ``X``, numeric ``y`` and ArviZ's observed data."""
        X = self._check_X(X)
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (len(X),):
            raise ValueError(f"y must have shape ({len(X)},); got {y.shape}.")
        return X, y, {"y": y}

    def _log_likelihood(self, X, y, draws) -> np.ndarray:
        """``log Normal(y_i | x_i @ coef_s + intercept_s, noise_scale_s**2)``.

        Shape ``(draws, rows)``, for validated ``X`` and numeric ``y``.
        """
        mean = draws["coef"] @ X.T.astype(np.float64) + draws["intercept"][:, None]
        scale = np.asarray(draws["noise_scale"], dtype=np.float64)[:, None]
        return -0.5 * ((y - mean) / scale) ** 2 - np.log(scale) - _HALF_LOG_2PI

    def predict(self, X, return_std: bool = False):
        """Posterior-predictive mean, and optionally its standard deviation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        return_std : bool, default=False
            Also return the predictive standard deviation, which includes the
            noise, as in ``sklearn.linear_model.BayesianRidge``.

        Returns
        -------
        y_mean : ndarray of shape (n_samples,)
        y_std : ndarray of shape (n_samples,)
            Only when ``return_std`` is True.
        """
        X = self._check_X(X)
        mean = X @ self.coef_.astype(X.dtype) + self.intercept_
        if not return_std:
            return mean
        draws = self.posterior_samples_
        weights = np.column_stack([draws["coef"], draws["intercept"]])
        cov = np.atleast_2d(np.cov(weights, rowvar=False))
        Xa = np.column_stack([X, np.ones(len(X), dtype=X.dtype)])
        var = np.einsum("ij,jk,ik->i", Xa, cov, Xa) + np.mean(draws["noise_scale"] ** 2)
        return mean, np.sqrt(np.maximum(var, 0)).astype(X.dtype)

    def _predictive_blocks(self, X, num_samples, seed):
        """Yield ``(rows, draws)`` with draws of shape (num_samples, len(rows))."""
        draws = self.sample_posterior(num_samples, random_state=seed)
        noise = np.random.default_rng(seed).standard_normal(num_samples)
        # One noise draw per posterior draw, shared by all rows, keeps each
        # row's predictive sample exact and makes the result independent of
        # which other rows were passed.
        noise = noise * draws["noise_scale"]
        for start in range(0, len(X), PREDICT_BLOCK):
            rows = slice(start, start + PREDICT_BLOCK)
            block = draws["coef"] @ X[rows].T + draws["intercept"][:, None]
            yield rows, block + noise[:, None]

    def predict_interval(
        self, X, coverage: float | list[float] | tuple[float, ...] = 0.95
    ) -> np.ndarray:
        """Central posterior-predictive interval for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        coverage : float or sequence of float, default=0.95
            Probability mass inside the interval, each in (0, 1). A sequence
            gives one interval per coverage, all from the same predictive
            draws, each equal to the one that coverage alone gives.

        Returns
        -------
        ndarray of shape (n_samples, 2), or (n_coverages, n_samples, 2)
            Lower and upper bounds; the second shape for a sequence.
        """
        levels = np.asarray(coverage)
        if (
            levels.ndim > 1
            or levels.size == 0
            or levels.dtype.kind not in "iuf"
            or not np.all((levels > 0) & (levels < 1))
        ):
            raise ValueError(
                "coverage must lie in (0, 1): a number or a non-empty sequence of "
                f"numbers, got {coverage!r}."
            )
        X = self._check_X(X)
        alpha = (1 - np.atleast_1d(levels).astype(float)) / 2
        out = np.empty((len(alpha), len(X), 2))
        for rows, block in self._predictive_blocks(X, 4000, self.random_seed_):
            bounds = np.quantile(block, np.concatenate([alpha, 1 - alpha]), axis=0)
            out[:, rows] = np.stack([bounds[: len(alpha)], bounds[len(alpha) :]], -1)
        return out if levels.ndim else out[0]

    def sample_posterior_predictive(
        self, X, num_samples: int = 1000, random_state=None
    ) -> np.ndarray:
        """Draws of y for each row of X, from the posterior predictive.

        Returns
        -------
        ndarray of shape (num_samples, n_samples)
        """
        X = self._check_X(X)
        seed = make_seed(random_state)
        draws = self.sample_posterior(num_samples, random_state=seed)
        rng = np.random.default_rng(seed)
        mean = draws["coef"] @ X.T + draws["intercept"][:, None]
        return mean + draws["noise_scale"][:, None] * rng.standard_normal(mean.shape)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = True
        return tags


class BayesianLinearRegression(_BayesianLinearBase):
    __doc__ = (
        """Bayesian linear regression with a choice of coefficient prior.

    The default model is the tutorial's: ``coef_j ~ Normal(0, 10**2)``,
    ``sigma**2 ~ InverseGamma(0.1, 0.1)``, ``y ~ Normal(X @ coef + a, sigma**2)``,
    fitted with a full-covariance Gaussian guide.

    Parameters
    ----------
    prior : str or CoefPrior, default="normal"
        ``"normal"``, ``"laplace"``, ``"student_t"``, ``"horseshoe"``,
        ``"regularized_horseshoe"``, or a prior object from
        ``skbayes.priors`` (whose parameters ``GridSearchCV`` can tune as
        ``prior__scale`` and so on).
"""
        + _regressor_doc(
            guide="mvn",
            noise="prior",
            learning_rate=0.05,
            num_particles=1,
            n_iter_no_change=5,
        )
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from skbayes import BayesianLinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 2))
    >>> y = X @ np.array([1.0, -2.0]) + 0.5 + 0.1 * rng.normal(size=50)
    >>> reg = BayesianLinearRegression(random_state=0).fit(X, y)
    >>> np.round(reg.coef_, 1)
    array([ 1., -2.])
    >>> reg.predict_interval(X[:1], coverage=0.9).shape
    (1, 2)
    """
    )

    _parameter_constraints = {
        **_BayesianLinearBase._parameter_constraints,
        "prior": [StrOptions(set(COEF_PRIORS)), CoefPrior],
    }

    def __init__(
        self,
        prior: str | CoefPrior = "normal",
        *,
        inference: str = "auto",
        guide="mvn",
        noise: str = "prior",
        noise_prior: NoisePrior | str | tuple[float, float] = (0.1, 0.1),
        fit_intercept: bool = True,
        intercept_prior: Normal | None = None,
        num_steps: int = 10000,
        learning_rate: float = 0.05,
        tol: float = 1e-4,
        n_iter_no_change: int = 5,
        num_particles: int = 1,
        batch_size: int | None = None,
        num_samples: int = 1000,
        num_warmup: int = 500,
        num_chains: int | str = "auto",
        target_ess: float | None = 400,
        device: str = "cpu",
        random_state=None,
        verbose: bool = False,
    ):
        self._store_params(locals())

    def _coef_prior(self):
        return resolve_coef_prior(self.prior)


class HorseshoeRegression(_BayesianLinearBase):
    __doc__ = (
        """Sparse Bayesian linear regression with a horseshoe prior.

    The tutorial's model: ``tau ~ HalfCauchy(global_scale)``,
    ``lambda_j ~ HalfCauchy(1)``, ``coef_j ~ Normal(0, tau**2 lambda_j**2)``,
    sampled exactly by Gibbs by default. The noise variance has an
    inverse-gamma prior by default: the tutorial's point estimate of the
    noise scale (``noise="point"``) can sit far from the full posterior's
    (docs/benchmarks.md, "The auto engine"). SVI uses a
    rank-1 low-rank Gaussian guide. With ``regularized=True`` it uses Piironen
    and Vehtari's regularised horseshoe instead.

    Parameters
    ----------
    global_scale : float, default=1.0
        Scale of the half-Cauchy prior on the global shrinkage ``tau``.
    regularized : bool, default=False
        Use ``RegularizedHorseshoe``.
    expected_nonzero : float or None, default=None
        Regularised only: a guess at the number of non-zero coefficients,
        which sets the global scale (and overrides ``global_scale``).
    slab_scale : float, default=2.0
        Regularised only: scale of the slab.
    slab_df : float, default=4.0
        Regularised only: degrees of freedom of the slab.
    approximate_threshold : float or None, default=None
        Gibbs only: run Johndrow, Orenstein and Bhattacharya's (2020)
        approximate sampler for ``n_features >> n_samples``. Each sweep
        leaves out of its ``n x n`` system the columns whose prior variance
        is negligible, ``tau**2 lambda_j**2 mean(x_j**2) <= threshold *
        sigma**2``, and draws their coefficients from the prior; a sweep
        then costs ``n**2`` times the number of active columns instead of
        ``n**2 n_features``. They use ``1e-4``. The posterior is then
        approximate: ``docs/benchmarks.md`` ("p >> n") measures how far it
        is from the exact sampler's. None (the default) samples exactly.
"""
        + _regressor_doc(
            guide="lowrank",
            noise="prior",
            learning_rate=0.05,
            num_particles=4,
            n_iter_no_change=3,
        )
        + """\
    noise_scale_ : float
        The fitted noise scale, when ``noise="point"``.
    shrinkage_ : ndarray of shape (n_features,)
        Posterior mean of each coefficient's shrinkage factor
        ``kappa_j = 1 / (1 + (X'X)_jj s_j**2 / sigma**2)``, where ``s_j`` is
        its prior sd given the scales (``tau * lambda_j``): 0 leaves the
        coefficient alone, 1 shrinks it to zero (Piironen and Vehtari 2017).
    effective_nonzero_ : float
        Posterior mean of ``m_eff = sum_j (1 - kappa_j)``, the effective
        number of non-zero coefficients.
    relevance_ : ndarray of shape (n_features,)
        ``1 - shrinkage_``. The selection rule is ``relevance_ > 0.5``
        (``kappa_j < 0.5``: the data outweigh the prior's pull to zero), as
        ``SelectFromModel(HorseshoeRegression(), importance_getter="relevance_",
        threshold=0.5)`` applies it.

    Examples
    --------
    >>> import numpy as np
    >>> from skbayes import HorseshoeRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 10))
    >>> y = 3 * X[:, 0] + 0.1 * rng.normal(size=60)
    >>> reg = HorseshoeRegression(random_state=0).fit(X, y)
    >>> np.round(reg.coef_[:3], 1) + 0.0  # + 0.0 turns -0. into 0.
    array([3., 0., 0.])
    >>> np.flatnonzero(reg.relevance_ > 0.5)  # the selection rule
    array([0])
    """
    )

    _parameter_constraints = {
        **_BayesianLinearBase._parameter_constraints,
        "global_scale": [Interval(Real, 0, None, closed="neither")],
        "regularized": ["boolean"],
        "expected_nonzero": [Interval(Real, 0, None, closed="neither"), None],
        "slab_scale": [Interval(Real, 0, None, closed="neither")],
        "slab_df": [Interval(Real, 0, None, closed="neither")],
        "approximate_threshold": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(
        self,
        global_scale: float = 1.0,
        *,
        regularized: bool = False,
        expected_nonzero: float | None = None,
        slab_scale: float = 2.0,
        slab_df: float = 4.0,
        approximate_threshold: float | None = None,
        inference: str = "auto",
        guide="lowrank",
        noise: str = "prior",
        noise_prior: NoisePrior | str | tuple[float, float] = (0.1, 0.1),
        fit_intercept: bool = True,
        intercept_prior: Normal | None = None,
        num_steps: int = 10000,
        learning_rate: float = 0.05,
        tol: float = 1e-4,
        n_iter_no_change: int = 3,
        num_particles: int = 4,
        batch_size: int | None = None,
        num_samples: int = 1000,
        num_warmup: int = 500,
        num_chains: int | str = "auto",
        target_ess: float | None = 400,
        device: str = "cpu",
        random_state=None,
        verbose: bool = False,
    ):
        self._store_params(locals())

    def _summarise_fit(self, data: LinearData) -> None:
        # kappa_j = 1 / (1 + g_jj s_j^2 / sigma^2), with s_j the coefficient's
        # prior sd given the scales and g_jj = (X'X)_jj of the centred data:
        # the posterior mean of coef_j is (1 - kappa_j) times its least-squares
        # value for orthogonal columns (Piironen and Vehtari 2017).
        draws = self.posterior_samples_
        model = self.module_
        sites = {
            name: torch.as_tensor(draws[name], dtype=torch.float64)
            for name in model.prior_sites()
            if name in draws
        }
        noise_scale = torch.as_tensor(draws["noise_scale"], dtype=torch.float64)
        gram = data.column_sq_norms.cpu().to(torch.float64)
        # 1 / (1 + gram * scale**2 / sigma**2), in the buffer of scale (which
        # coef_scale makes anew) and with that expression's rounding: at
        # d >> n each (draws, d) array weighs about as much as X.
        with torch.no_grad():
            scale, _ = model.prior.coef_scale(sites, noise_scale, model.n_observations)
            kappa = scale.pow_(2)
            torch.mul(gram, kappa, out=kappa)
            kappa.div_(noise_scale.unsqueeze(-1) ** 2).add_(1.0).reciprocal_()
        kappa = kappa.numpy()
        self.shrinkage_ = kappa.mean(0)
        # sum(1 - kappa) per draw, a block of draws at a time for the same
        # reason (each row's sum is the one the whole array would give).
        block = max(1, _SUM_BLOCK // kappa.shape[1])
        nonzero = [
            (1.0 - kappa[start : start + block]).sum(1)
            for start in range(0, len(kappa), block)
        ]
        self.effective_nonzero_ = float(np.concatenate(nonzero).mean())
        self.relevance_ = 1.0 - self.shrinkage_

    def _coef_prior(self):
        if not self.regularized:
            return Horseshoe(self.global_scale).validate()
        if self.expected_nonzero is not None:
            return RegularizedHorseshoe(
                expected_nonzero=self.expected_nonzero,
                slab_scale=self.slab_scale,
                slab_df=self.slab_df,
            ).validate()
        return RegularizedHorseshoe(
            global_scale=self.global_scale,
            slab_scale=self.slab_scale,
            slab_df=self.slab_df,
        ).validate()
