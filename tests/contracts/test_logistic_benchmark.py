"""benchmarks/logistic.py runs in ``--quick`` mode and writes sane results.

The script is run as a user would, in a subprocess, into a temporary folder;
the test then reads the JSON it wrote and renders its docs section.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"
SCRIPT = BENCHMARKS / "logistic.py"

METHODS = {
    "skbayes_normal_svi",
    "skbayes_normal_gibbs",
    "skbayes_horseshoe_gibbs",
    "sklearn_l1_cv",
    "sklearn_l2_cv",
}


def _finite_positive(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


@pytest.mark.slow
def test_logistic_quick_run_writes_sane_results(tmp_path):
    out = tmp_path / "logistic.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    results = json.loads(out.read_text())
    assert results["quick"] is True
    assert results["machine"]["nproc"] >= 1 and results["command"]

    ess = results["ess"]
    assert ess["datasets"]
    for data in ess["datasets"]:
        for row in data["gibbs"]:
            assert _finite_positive(row["s"]) and _finite_positive(row["min_ess_per_s"])
            assert 0 < row["min_ess_coef"] <= ess["chains"] * ess["num_samples"] * 1.5
        if isinstance(data["numpyro"], list):  # NumPyro is optional
            for row in data["numpyro"]:
                assert _finite_positive(row["min_ess_per_s_incl_compile"])
                assert 0 <= row["compile_s"] < row["s_incl_compile"]
                # Both samplers target the same posterior.
                agreement = row["agreement_with_gibbs"]
                assert agreement["max_abs_mean_diff_over_sd"] < 1.0
            assert _finite_positive(data["ratio_gibbs_to_numpyro_excl_compile"])

    bign = results["bign"]
    assert bign["reference"]["min_ess_coef"] > 10
    for row in bign["default_fit"]:
        assert _finite_positive(row["s"]) and row["steps"] > 0
        assert row["max_abs_mean_diff_over_sd"] < 1.0
        assert row["max_abs_sd_ratio_minus_1"] < 0.5
    assert bign["laplace"]["max_abs_mean_diff_over_sd"] < 1.0

    means = results["sklearn"]["means"]
    assert {m["dataset"] for m in means} == {"breast_cancer", "wine", "sparse"}
    for mean in means:
        assert mean["method"] in METHODS
        assert 0.5 <= mean["accuracy"] <= 1, mean
        assert 0 <= mean["ece"] <= 1 and 0 <= mean["brier"] <= 2, mean
        assert _finite_positive(mean["log_loss"]) and mean["log_loss"] < 1.5, mean
        assert _finite_positive(mean["fit_s"])
        if mean["dataset"] == "sparse":
            assert math.isfinite(mean["coef_rmse"]) and mean["coef_rmse"] >= 0
    assert len({m["method"] for m in means}) == len(METHODS)

    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(BENCHMARKS))
        from logistic import logistic_markdown

    text = logistic_markdown(results)
    assert text.startswith("## Classification: BayesianLogisticRegression")
    assert "| nan" not in text.lower()
