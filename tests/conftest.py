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
