"""BayesianLogisticRegression: Bayesian classification with any coefficient prior."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_is_fitted,
)

from .._compat import Interval, StrOptions
from .._runtime import make_seed, resolve_device
from ..models import LogisticData, LogisticRegressionModel
from ..priors import COEF_PRIORS, CoefPrior, Normal, resolve_coef_prior
from ._base import (
    BayesianEstimator,
    check_sample_weight,
    fit_method,
    validate_design,
)
from ._docs import engine_parameters, fit_attributes

# Rows per block when averaging over posterior draws, to bound memory at
# PREDICT_BLOCK * draws * classes floats.
PREDICT_BLOCK = 2048

#: The coefficient scale of ``prior="normal"``, per sd of each column with
#: ``autoscale``: rstanarm's default for logistic regression.
DEFAULT_COEF_SCALE = 2.5


def label_indices(classes: np.ndarray, y, n: int) -> np.ndarray:
    """The index in ``classes`` of each of ``n`` labels ``y``; a ``ValueError``
    names the labels that are not among them."""
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"y must have shape ({n},); got {y.shape}.")
    index = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
    unknown = classes[index] != y
    if np.any(unknown):
        raise ValueError(
            f"y has labels the classifier was not fitted on: "
            f"{np.unique(y[unknown]).tolist()!r}; its classes_ are "
            f"{classes.tolist()!r}."
        )
    return index


class BayesianLogisticRegression(ClassifierMixin, BayesianEstimator):
    __doc__ = (
        """Bayesian logistic and multinomial regression with any coefficient prior.

    Two classes: ``P(y = classes_[1] | x) = sigmoid(x @ coef + intercept)``.
    More: ``P(y = classes_[k] | x) = softmax_k(x @ coef_k + intercept_k)``,
    one coefficient vector per class (the proper prior identifies them).
    Predictions average the class probabilities over the posterior, so they
    carry the uncertainty of the coefficients.

    Parameters
    ----------
    prior : str or CoefPrior, default="normal"
        Prior on the coefficients: ``"normal"`` (``Normal(2.5)``, rstanarm's
        default for logistic regression), ``"laplace"``, ``"student_t"``,
        ``"horseshoe"``, ``"regularized_horseshoe"`` or a prior object from
        ``skbayes.priors`` (tunable as ``prior__scale`` and so on). With
        ``autoscale`` its scale is per standard deviation of each column.
        The regularised horseshoe's ``expected_nonzero`` uses the pseudo noise
        scale 2 of Piironen and Vehtari (2017).
    inference : {"auto", "gibbs", "nuts", "svi"}, default="auto"
        Exact Polya-Gamma Gibbs sampling (Polson, Scott and Windle 2013;
        every prior in ``skbayes.priors``, whole-number weights), usually
        the fastest way to the exact posterior; the No-U-Turn sampler; or
        variational inference. ``"auto"`` takes Gibbs where it applies and
        the data have at most 500,000 entries, NUTS for other priors on at
        most 5,000, and SVI otherwise
        (``skbayes.inference.auto``).
    guide : str, autoguide class or callable, default="mvn"
        The SVI guide, as for ``BayesianLinearRegression``; the default
        full-rank Gaussian starts at the Laplace approximation of a normal
        prior's posterior.
    fit_intercept : bool, default=True
        Fit an intercept (one per class with more than two).
    intercept_scale : float, default=10.0
        ``intercept ~ Normal(0, intercept_scale**2)``, the intercept at the
        mean of each column (the design is centred): wide enough to leave any
        base rate between about 1e-9 and 1 - 1e-9 nearly unshrunk, proper so
        that separable data still give a proper posterior.
    autoscale : bool, default=True
        Put the prior on the coefficients of standardised columns (rstanarm's
        ``autoscale``): ``coef_j``'s prior scale is the prior's divided by
        the sd of column j. ``coef_`` is always for X as given. With
        ``False`` the prior applies to X as given.
"""
        + engine_parameters()
        + """
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Posterior mean of the coefficients, for X as given.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Posterior mean of the intercepts (zeros without ``fit_intercept``).
    posterior_samples_ : dict of str to ndarray
        Posterior draws: ``"coef"`` (S, d) or (S, K, d), ``"intercept"`` (S,)
        or (S, K), and the prior's latent sites (per standardised column).
"""
        + fit_attributes("LogisticRegressionModel")
        + """    feature_names_in_ : ndarray of str
        Feature names, when X had string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from skbayes import BayesianLogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> y = np.where(X @ [1.5, -1.0] + rng.logistic(size=200) > 0, "yes", "no")
    >>> clf = BayesianLogisticRegression(random_state=0).fit(X, y)
    >>> clf.inference_, clf.classes_.tolist(), clf.coef_.round(1)
    ('gibbs', ['no', 'yes'], array([[ 1.4, -1.1]]))
    >>> clf.predict_proba(X[:2]).round(1)
    array([[0.4, 0.6],
           [0.3, 0.7]])
    """
    )

    _model_class = LogisticRegressionModel
    _parameter_constraints = {
        **BayesianEstimator._parameter_constraints,
        "prior": [StrOptions(set(COEF_PRIORS)), CoefPrior],
        "fit_intercept": ["boolean"],
        "intercept_scale": [Interval(Real, 0, None, closed="neither")],
        "autoscale": ["boolean"],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        prior: str | CoefPrior = "normal",
        *,
        inference: str = "auto",
        guide="mvn",
        fit_intercept: bool = True,
        intercept_scale: float = 10.0,
        autoscale: bool = True,
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # densified (validate_design)
        return tags

    def _coef_prior(self) -> CoefPrior:
        if self.prior == "normal":
            return Normal(DEFAULT_COEF_SCALE)
        return resolve_coef_prior(self.prior)

    # -- fitting ----------------------------------------------------------------
    @fit_method
    def fit(self, X, y, sample_weight=None):
        """Infer the posterior of the coefficients and intercepts.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels: any labels sklearn accepts, two or more classes.
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative row weights: a row of weight w counts as w rows.

        Returns
        -------
        self
        """
        X, y = validate_design(self, X, y)
        check_classification_targets(y)
        weight = check_sample_weight(sample_weight, X)
        self.classes_, labels = np.unique(y, return_inverse=True)
        present = np.unique(labels[weight > 0])
        if len(present) < 2:
            what = "in the data" if sample_weight is None else "of positive weight"
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes; got "
                f"one class {what}"
                + (f", {self.classes_[present[0]]!r}." if len(present) else ".")
            )
        data = LogisticData.from_arrays(
            X,
            labels,
            n_classes=len(self.classes_),
            fit_intercept=self.fit_intercept,
            autoscale=self.autoscale,
            dtype=self._torch_dtype(X),
            sample_weight=None if sample_weight is None else weight,
            device=resolve_device(self.device),
            batch_size=self.batch_size,
        )
        model = LogisticRegressionModel(
            self._coef_prior(),
            data.n_features,
            data.n_samples,
            n_classes=len(self.classes_),
            fit_intercept=self.fit_intercept,
            intercept_scale=self.intercept_scale,
            n_observations=data.n_observations,
            dtype=self._torch_dtype(X),
        )
        self._x_mean, self._x_scale = data.x_mean, data.x_scale
        self._run_inference(model, data)
        draws = self.posterior_samples_
        n_vectors = model.n_vectors
        self.coef_ = draws["coef"].mean(0).reshape(n_vectors, -1)
        self.intercept_ = np.atleast_1d(draws["intercept"].mean(0))
        return self

    def _posterior_draws(self, model, latent):
        return model.posterior_draws(latent, x_mean=self._x_mean, x_scale=self._x_scale)

    # -- prediction --------------------------------------------------------------
    def _check_X(self, X) -> np.ndarray:
        check_is_fitted(self)
        return validate_design(self, X, reset=False)

    def _probabilities(self, X, draws):
        """Yield ``(rows, probs)``, probs (draws, rows, classes) per block."""
        coef, intercept = draws["coef"], draws["intercept"]
        binary = coef.ndim == 2
        for start in range(0, max(len(X), 1), PREDICT_BLOCK):
            rows = slice(start, start + PREDICT_BLOCK)
            block = X[rows].astype(float)
            if binary:
                positive = expit(coef @ block.T + intercept[:, None])
                yield rows, np.stack([1 - positive, positive], -1)
            else:
                logits = np.einsum("nd,skd->snk", block, coef) + intercept[:, None]
                yield rows, softmax(logits, axis=-1)

    def _observations(self, X, y):
        """Validated ``X``, ``y`` as indices of ``classes_``, and ``y`` itself."""
        X = self._check_X(X)
        y = np.asarray(y)
        return X, label_indices(self.classes_, y, len(X)), {"y": y}

    def _site_dims(self) -> tuple[dict, dict]:
        dims, coords = super()._site_dims()
        if len(self.classes_) == 2:
            return dims, coords
        coords["class"] = [str(c) for c in self.classes_]
        shape = (len(self.classes_), self.n_features_in_)
        for name, value in self.posterior_.samples.items():
            if value.shape[1:] == shape:
                dims[name] = ["class", "feature"]
        dims["intercept"] = ["class"]
        return dims, coords

    def _log_likelihood(self, X, labels, draws) -> np.ndarray:
        """``log P(y_i = labels_i | coef_s, intercept_s)``, shape ``(draws, rows)``.

        ``labels`` index ``classes_``.
        """
        coef, intercept = draws["coef"], draws["intercept"]
        X = X.astype(np.float64)
        if coef.ndim == 2:
            logit = coef @ X.T + intercept[:, None]
            # log P(y = 1) = log sigmoid(eta), log P(y = 0) = log sigmoid(-eta).
            return log_expit(np.where(labels == 1, logit, -logit))
        log_p = log_softmax(np.einsum("nd,skd->snk", X, coef) + intercept[:, None], -1)
        return np.take_along_axis(log_p, labels[None, :, None], -1)[..., 0]

    def predict_proba(self, X, return_std: bool = False):
        """Posterior-predictive class probabilities.

        The average over the posterior draws of each class's probability,
        ``mean_s P(y = k | x, coef_s, intercept_s)``, not the probability at
        the posterior mean.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        return_std : bool, default=False
            Also return the posterior sd of each probability.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        proba_std : ndarray of shape (n_samples, n_classes)
            Only when ``return_std`` is True.
        """
        X = self._check_X(X)
        mean = np.empty((len(X), len(self.classes_)))
        std = np.empty_like(mean)
        for rows, probs in self._probabilities(X, self.posterior_samples_):
            mean[rows] = probs.mean(0)
            std[rows] = probs.std(0, ddof=1) if len(probs) > 1 else 0.0
        return (mean, std) if return_std else mean

    def predict_log_proba(self, X):
        """Log of ``predict_proba``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The class of highest posterior-predictive probability.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def decision_function(self, X):
        """Log-odds of the posterior-predictive probabilities.

        For two classes, ``log(p1 / p0)`` with ``p = predict_proba(X)``; for
        more, ``log p_k`` minus its mean over the classes, so that the softmax
        of a row is its ``predict_proba``. Rows are therefore ranked exactly
        as ``predict_proba`` ranks them. The posterior mean of the logit,
        ``X @ coef_.T + intercept_``, ranks them differently wherever the
        posterior is wider for some rows than others, since averaging the
        sigmoid over the posterior pulls uncertain rows towards 1/2.

        Returns
        -------
        ndarray of shape (n_samples,) for two classes, else (n_samples, n_classes)
            For two classes, the log-odds of ``classes_[1]``.
        """
        with np.errstate(divide="ignore"):
            log_proba = np.log(self.predict_proba(X))
        if len(self.classes_) == 2:
            return log_proba[:, 1] - log_proba[:, 0]
        return log_proba - log_proba.mean(1, keepdims=True)

    def sample_posterior_predictive(
        self, X, num_samples: int = 1000, random_state=None
    ) -> np.ndarray:
        """Draws of the label of each row of X, from the posterior predictive.

        Returns
        -------
        ndarray of shape (num_samples, n_samples)
            Labels from ``classes_``.
        """
        X = self._check_X(X)
        seed = make_seed(random_state)
        draws = self.sample_posterior(num_samples, random_state=seed)
        rng = np.random.default_rng(seed)
        out = np.empty((num_samples, len(X)), dtype=np.intp)
        for rows, probs in self._probabilities(X, draws):
            u = rng.random(probs.shape[:2])
            out[:, rows] = (probs.cumsum(-1) < u[..., None]).sum(-1)
        return self.classes_[np.minimum(out, len(self.classes_) - 1)]

    def _summary_axes(self) -> dict:
        # summary() rows such as coef[setosa, petal width].
        features = getattr(self, "feature_names_in_", None)
        if features is None:
            features = [f"x{j}" for j in range(self.n_features_in_)]
        features = [str(f) for f in features]
        classes = [str(c) for c in self.classes_]
        if len(classes) == 2:
            return {"coef": [features]}
        return {"coef": [classes, features], "intercept": [classes]}
