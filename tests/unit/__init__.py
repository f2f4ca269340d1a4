"""Unit tests: one module per part (priors, models, SVI, NUTS, Gibbs)."""
