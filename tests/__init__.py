"""Tests of skbayes, grouped by behaviour: unit, estimators, contracts."""
