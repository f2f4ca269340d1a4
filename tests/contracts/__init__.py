"""Contracts: sklearn checks, isolation, devices, docs, plotting, benchmarks."""
