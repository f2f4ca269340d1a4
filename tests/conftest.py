import numpy as np
import pytest
import torch


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
