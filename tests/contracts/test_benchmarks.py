"""The benchmark script runs in ``--quick`` mode and writes sane results.

The script is run as a user would, in a subprocess, into a temporary folder;
the tests then read what it wrote.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"
SCRIPT = BENCHMARKS / "compare_priors.py"

SYNTHETIC_COLUMNS = {
    "sparsity",
    "n_nonzero",
    "d",
    "n",
    "seed",
    "method",
    "label",
    "status",
    "coef_rmse",
    "test_rmse",
    "test_lpd",
    "coef_coverage_95",
    "coef_interval_width",
    "fit_time",
    "warnings",
    "error",
}
REAL_COLUMNS = {
    "dataset",
    "fold",
    "method",
    "status",
    "test_rmse",
    "test_lpd",
    "y_coverage_90",
    "y_coverage_95",
    "fit_time",
}


@pytest.fixture(scope="module")
def common():
    """benchmarks/_common.py, imported as the scripts import it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(BENCHMARKS))
        import _common

        yield _common


def _probabilistic(common) -> set[str]:
    """Methods with a predictive distribution and coefficient intervals."""
    return {name for name, m in common.METHODS.items() if m.kind != "point"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        str(SCRIPT),
        "--quick",
        "--out",
        str(out),
        "--write-docs",
        str(out / "benchmarks.md"),
    ]
    # The quick run takes about three minutes on one core; the limit leaves
    # room for a CI machine whose other core is busy.
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=600, cwd=ROOT, env=env
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return out


def _assert_finite(frame, columns):
    for column in columns:
        values = frame[column].to_numpy(dtype=float)
        assert np.isfinite(values).all(), (column, frame[["method", column]])


@pytest.mark.slow
def test_synthetic_results(quick_run, common):
    frame = pd.read_csv(quick_run / "compare_priors.csv")
    assert SYNTHETIC_COLUMNS <= set(frame.columns)
    assert set(frame["sparsity"]) == {"half", "sparse10"}
    assert (frame["status"] == "ok").all(), frame[["method", "status", "error"]]
    _assert_finite(frame, ["coef_rmse", "test_rmse", "fit_time"])
    probabilistic = frame[frame["method"].isin(_probabilistic(common))]
    assert len(probabilistic)
    _assert_finite(
        probabilistic, ["test_lpd", "coef_coverage_95", "coef_interval_width"]
    )
    assert probabilistic["coef_coverage_95"].between(0, 1).all()
    # A point estimator has no predictive density.
    assert frame.loc[frame["method"] == "ridge", "test_lpd"].isna().all()

    medians = json.loads((quick_run / "compare_priors_medians.json").read_text())
    assert {row["method"] for row in medians} == set(frame["method"])
    for sparsity in ("half", "sparse10"):
        assert (quick_run / f"compare_priors_{sparsity}.png").stat().st_size > 0


@pytest.mark.slow
def test_real_data_results(quick_run, common):
    frame = pd.read_csv(quick_run / "compare_priors_real.csv")
    assert REAL_COLUMNS <= set(frame.columns)
    assert (frame["status"] == "ok").all(), frame[["method", "status", "error"]]
    _assert_finite(frame, ["test_rmse", "fit_time"])
    probabilistic = frame[frame["method"].isin(_probabilistic(common))]
    _assert_finite(probabilistic, ["test_lpd", "y_coverage_90", "y_coverage_95"])
    # The diabetes target has a standard deviation of about 77.
    assert frame["test_rmse"].between(30, 100).all()


@pytest.mark.slow
def test_gridsearch_and_figure(quick_run):
    grid = json.loads((quick_run / "compare_priors_gridsearch.json").read_text())
    assert set(grid) == {"sparse", "dense"}
    for result in grid.values():
        assert result["status"] == "ok", result["error"]
        assert result["best_prior"] in {"normal", "laplace", "horseshoe"}
        assert all(math.isfinite(v) for v in result["mean_test_r2"])
    figure = json.loads((quick_run / "compare_priors_tutorial.json").read_text())
    assert figure["status"] == "ok"
    assert len(figure["horseshoe_svi"]["median"]) == len(figure["coef"])
    assert (quick_run / "compare_priors_tutorial.png").stat().st_size > 0


@pytest.mark.slow
def test_docs_page(quick_run):
    text = (quick_run / "benchmarks.md").read_text()
    for heading in (
        "## Runs",
        "## Synthetic data",
        "## The tutorial's figure",
        "## Real data: diabetes",
        "## Choosing the prior with GridSearchCV",
    ):
        assert heading in text
    # Missing values are shown as dashes, never as "nan".
    assert "| nan" not in text.lower()


def test_cell_runner_reports_ok_error_and_timeout(common):
    with common.CellRunner() as runner:
        ok = runner.run(common.sleep_task, {"seconds": 0}, time_limit=60)
        error = runner.run(common.sleep_task, {"seconds": "x"}, time_limit=60)
        slow = runner.run(common.sleep_task, {"seconds": 60}, time_limit=0.5)
    assert ok.status == "ok" and ok.result["slept"] == 0
    assert error.status == "error" and "TypeError" in error.error
    assert slow.status == "timeout" and slow.wall_time < 30


def test_mixture_lpd_of_one_draw_is_gaussian(common):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), rng.normal(size=20)
    coef, intercept, sigma = rng.normal(size=(1, 3)), np.array([0.3]), np.array([2.0])
    mixture = common.mixture_lpd(y, X, coef, intercept, sigma)
    gaussian = common.gaussian_lpd(y, X @ coef[0] + 0.3, np.full(20, 2.0))
    assert mixture == pytest.approx(gaussian)
    # Many identical draws give the same density.
    many = common.mixture_lpd(
        y, X, np.repeat(coef, 50, 0), np.repeat(intercept, 50), np.repeat(sigma, 50)
    )
    assert many == pytest.approx(gaussian)


def test_coef_intervals_of_ard_cover_pruned_features(common):
    from sklearn.linear_model import ARDRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 8))
    coef = np.array([3.0, -2.0, 0, 0, 0, 0, 0, 0])
    y = X @ coef + 0.1 * rng.normal(size=60)
    est = ARDRegression().fit(X, y)
    lower, upper = common.coef_intervals(est, "gaussian")
    assert lower.shape == upper.shape == (8,)
    cover, width = common.interval_metrics(coef, lower, upper)
    assert 0.5 <= cover <= 1 and width > 0


@pytest.mark.slow
def test_speed_quick_run_and_its_docs_section(tmp_path, common):
    out = tmp_path / "speed.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / "speed.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    results = json.loads(out.read_text())
    assert results["step"]["skbayes_ms"] > 0
    quality = results["quality"]["median"]
    assert quality["skbayes_rmse"] < 0.2 and quality["gibbs_rmse"] < 0.3
    for row in results["nuts"].values():
        assert row["gibbs_status"] == "ok" and row["gibbs_min_ess_per_s"] > 0
        assert row["skbayes_status"] in {"ok", "timeout"}
    assert results["bign"]["max_abs_coef_error"] < 0.1
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(BENCHMARKS))
        from speed import speed_markdown

    text = speed_markdown(results)
    assert "### Time to quality" in text and "| nan" not in text.lower()


@pytest.mark.slow
def test_gpu_script_runs_its_cases_and_names_missing_cuda(tmp_path):
    out = tmp_path / "gpu.json"
    script = [sys.executable, str(BENCHMARKS / "gpu.py"), "--n", "3000", "--d", "5"]
    cases = ["--cases", "blr-gibbs", "blr-minibatch", "--repeats", "1"]
    proc = subprocess.run(
        [*script, *cases, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    results = json.loads(out.read_text())
    assert results["n"] == 3000 and results["machine"]["nproc"] >= 1
    (run,) = results["runs"]  # --repeats 1
    assert sorted(run) == ["blr-gibbs", "blr-minibatch"]
    for rows in run.values():
        by_device = {row["device"]: row for row in rows}
        assert by_device["cpu"]["max_abs_coef_error"] < 0.1
        if torch.cuda.is_available():
            assert by_device["cuda"]["max_abs_coef_error"] < 0.1
        else:
            assert "CUDA is not available" in by_device["cuda"]["error"]
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(BENCHMARKS))
        from gpu import gpu_markdown

    text = gpu_markdown(results)
    assert "| blr-gibbs | cpu |" in text and "| nan" not in text.lower()
