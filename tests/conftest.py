"""Shared fixtures (coin flips, small regression problems) and Monte Carlo helpers."""

import numpy as np
import pytest
import torch

from ._references import gibbs_reference


@pytest.fixture(scope="session")
def coin_flips() -> np.ndarray:
    """The tutorial's data: 100 draws of Bernoulli(0.65) after seed 123."""
    with torch.random.fork_rng():
        torch.manual_seed(123)
        draws = torch.distributions.Bernoulli(0.65).sample([100])
    return draws.numpy()


@pytest.fixture(scope="session")
def exact_posterior(coin_flips):
    """Beta(1 + k, 1 + n - k): the conjugate posterior under a uniform prior."""
    k = coin_flips.sum()
    return 1.0 + k, 1.0 + len(coin_flips) - k


def linear_problem(seed, n, coef, intercept, noise):
    """``y = X coef + intercept + noise * e``, with X then e drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, len(coef)))
    return X, X @ np.array(coef) + intercept + noise * rng.normal(size=n)


@pytest.fixture(scope="session")
def small_problem():
    """25 rows, 3 features (one null), intercept 2, noise 0.8: the reference problem."""
    return linear_problem(1, 25, [1.5, -1.0, 0.0], 2.0, 0.8)


@pytest.fixture(scope="session")
def reference(small_problem):
    """Posterior mean and sd of ``stack``'s columns, from ``gibbs_reference``."""
    draws = gibbs_reference(*small_problem)
    return draws.mean(0), draws.std(0)


@pytest.fixture(scope="session")
def small_data():
    """20 rows, 3 features (one null), intercept 1, noise 0.9: the Gibbs engine's."""
    return linear_problem(11, 20, [1.0, -0.5, 0.0], 1.0, 0.9)


@pytest.fixture(scope="session")
def regression_data():
    """40 rows, 3 features, intercept 1, noise 0.3: the isolation checks'."""
    return linear_problem(0, 40, [1.0, -2.0, 0.5], 1.0, 0.3)


@pytest.fixture(scope="session")
def regression_with_coef():
    """60 rows (40 to fit, 20 held out), a null feature, and the true coef."""
    coef = [1.0, -2.0, 0.0]
    return (*linear_problem(0, 60, coef, 0.5, 0.3), np.array(coef))


def beta_moments(a, b):
    mean = a / (a + b)
    return mean, np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))


#: Allowed |estimate - reference| in Monte Carlo standard errors. Each test
#: makes a few dozen such comparisons; at 4.5 standard errors (two-sided
#: p = 7e-6 each) the chance of a false alarm stays below 1e-3 per test, on
#: any CPU and at any seed.
Z_TOL = 4.5


def mean_sd_and_errors(draws_by_chain):
    """Mean, sd and their Monte Carlo standard errors, per scalar element.

    ``draws_by_chain`` has shape (chains, draws, k). The standard error of
    the mean is ``sd / sqrt(ESS)``; that of the sd follows from the variance's
    own standard error, ``sd((x - mean)**2) / sqrt(ESS of the squares)``, by
    the delta method (``d sd = d var / (2 sd)``). Samplers whose draws are
    nearly independent for the mean can have a far smaller ESS for the
    squares (NUTS here: about 600 against 150-300), so the two ESS are
    estimated separately.
    """
    from pyro.ops.stats import effective_sample_size

    draws = np.asarray(draws_by_chain, dtype=np.float64)
    flat = draws.reshape(-1, draws.shape[-1])
    mean, sd = flat.mean(0), flat.std(0)
    squares = (draws - mean) ** 2

    def ess(x):
        return effective_sample_size(
            torch.as_tensor(x), chain_dim=0, sample_dim=1
        ).numpy()

    se_mean = sd / np.sqrt(ess(draws))
    se_sd = squares.reshape(flat.shape).std(0) / np.sqrt(ess(squares)) / (2 * sd)
    return mean, sd, se_mean, se_sd


def assert_same_posterior(draws_a, draws_b, z_tol=Z_TOL):
    """Two samplers' means and sds agree within ``z_tol`` joint MC errors."""
    mean_a, sd_a, se_mean_a, se_sd_a = mean_sd_and_errors(draws_a)
    mean_b, sd_b, se_mean_b, se_sd_b = mean_sd_and_errors(draws_b)
    z_mean = (mean_a - mean_b) / np.hypot(se_mean_a, se_mean_b)
    z_sd = (sd_a - sd_b) / np.hypot(se_sd_a, se_sd_b)
    assert np.abs(z_mean).max() < z_tol, f"means differ: z = {np.round(z_mean, 2)}"
    assert np.abs(z_sd).max() < z_tol, f"sds differ: z = {np.round(z_sd, 2)}"


@pytest.fixture
def plt():
    """pyplot on the headless Agg backend; closes every figure afterwards."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    yield pyplot
    pyplot.close("all")


#: Tiny Gibbs chains for tests of plumbing and display: their r_hat is not
#: under test, so ``few_draws`` lets their ConvergenceWarning pass.
TINY_GIBBS = {"inference": "gibbs", "num_samples": 50, "num_warmup": 50}
few_draws = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
