"""GPU against CPU at n = 1,000,000, d = 100: the ``device="cuda"`` path's speed.

Each case fits one estimator on the same data on the CPU and on the GPU, in a
fresh child process each (so peak memory is the fit's own, and a case that runs
past ``--timeout`` seconds is stopped and reported as such). A GPU child first
fits a tiny problem, so that CUDA's start-up is timed apart from the fit.

Run ``python benchmarks/gpu.py [--n 1000000] [--timeout 120]`` on a machine
with CUDA; results go to ``benchmarks/results/gpu.json`` (or ``--out``). Without
CUDA the GPU rows report the ``ValueError`` that ``device="cuda"`` raises.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from _common import command_line, fmt, machine_info, markdown_table

RESULTS = Path(__file__).parent / "results"

CASES = {
    "blr-minibatch": ("BayesianLinearRegression", {"batch_size": 2048}),
    "blr-full-batch": ("BayesianLinearRegression", {}),
    "blr-gibbs": ("BayesianLinearRegression", {"inference": "gibbs"}),
    "horseshoe-minibatch": ("HorseshoeRegression", {"batch_size": 2048}),
}

_CHILD = r"""
import json, resource, sys, time, warnings
import numpy as np
import torch
import skbayes
name, device, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[5])
n, d = int(sys.argv[3]), int(sys.argv[4])
cls = getattr(skbayes, name)
warnings.simplefilter("ignore")
out = {"device": device, "torch_threads": torch.get_num_threads()}
if device == "cuda":
    start = time.perf_counter()
    small = np.random.default_rng(1).standard_normal((100, d))
    cls(device="cuda", random_state=0, num_steps=20).fit(small, small[:, 0])
    out["cuda_start_s"] = time.perf_counter() - start
    out["gpu"] = torch.cuda.get_device_name()
    torch.cuda.reset_peak_memory_stats()
rng = np.random.default_rng(0)
X = rng.standard_normal((n, d))
coef = rng.normal(size=d)
y = X @ coef + 1.0 + rng.standard_normal(n)
start = time.perf_counter()
est = cls(device=device, random_state=0, **params).fit(X, y)
out["fit_s"] = time.perf_counter() - start
out["steps"] = getattr(est, "n_iter_", None)
out["max_abs_coef_error"] = float(np.abs(est.coef_ - coef).max())
peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
out["peak_rss_over_x"] = peak_rss / X.nbytes
if device == "cuda":
    out["peak_gpu_over_x"] = torch.cuda.max_memory_allocated() / X.nbytes
print(json.dumps(out))
"""


def run_case(name: str, device: str, n: int, d: int, timeout: float) -> dict:
    cls, params = CASES[name]
    command = [sys.executable, "-c", _CHILD, cls, device, str(n), str(d)]
    try:
        done = subprocess.run(
            [*command, json.dumps(params)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"device": device, "timed_out_after_s": timeout}
    if done.returncode != 0:
        return {"device": device, "error": done.stderr[-3000:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _gpu_name() -> str | None:
    import torch

    return torch.cuda.get_device_name() if torch.cuda.is_available() else None


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--out", type=Path, default=RESULTS / "gpu.json")
    args = parser.parse_args(argv)
    results = {
        "machine": {**machine_info(), "gpu": _gpu_name()},
        "command": command_line(__file__),
        "n": args.n,
        "d": args.d,
        "runs": [],
    }
    for _ in range(args.repeats):
        run = {}
        for name in args.cases:
            run[name] = [
                run_case(name, device, args.n, args.d, args.timeout)
                for device in ("cuda", "cpu")
            ]
            print(name, json.dumps(run[name]), flush=True)
        results["runs"].append(run)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(gpu_markdown(results))
    return results


def _median(rows: list, key: str) -> float | None:
    values = [row[key] for row in rows if row.get(key) is not None]
    return float(np.median(values)) if values else None


def gpu_markdown(results: dict) -> str:
    """The GPU section of ``docs/benchmarks.md`` from ``gpu.json``."""
    machine = results["machine"]
    runs = results["runs"]
    lines = [
        f'### GPU: `device="cuda"` at n = {results["n"]:,}, d = {results["d"]}',
        "",
        "From `benchmarks/gpu.py`: each case fits the same float64 data on the "
        "GPU and on the CPU of the same machine, in a fresh process each, "
        f"{len(runs)} time(s); medians over the runs. Per step: wall time over "
        "SVI steps, set-up included. Peak memory is over the size of X. On the "
        "CPU, steps that touch under a million entries of data (the minibatch "
        "cases) run on one torch thread, the others on all cores.",
        "",
        "```",
        results["command"],
        "```",
        "",
        f"- machine: {machine.get('gpu')}, `nproc` = {machine.get('nproc')}",
        f"- versions: torch {machine.get('torch')}, Pyro {machine.get('pyro')}, "
        f"scikit-learn {machine.get('sklearn')}, NumPy {machine.get('numpy')}",
        f"- date: {machine.get('date')}; code: {machine.get('git_commit')}",
    ]
    if results.get("cuda_tests"):
        lines.append(f"- CUDA tests on the same machine: {results['cuda_tests']}")
    rows = []
    for name in runs[0]:
        by_device = {
            device: [r for run in runs for r in run[name] if r["device"] == device]
            for device in ("cuda", "cpu")
        }
        fit = {device: _median(by_device[device], "fit_s") for device in by_device}
        for device, device_rows in by_device.items():
            steps = _median(device_rows, "steps")
            per_step = 1e3 * fit[device] / steps if steps and fit[device] else None
            speed_up = (
                fit["cpu"] / fit["cuda"]
                if device == "cuda" and fit["cpu"] and fit["cuda"]
                else None
            )
            fit_cell = fmt(fit[device])
            limits = [r.get("timed_out_after_s") for r in device_rows]
            limits = [limit for limit in limits if limit is not None]
            if limits and fit[device] is None:
                fit_cell = f"timeout ({limits[0]:.0f} s)"
            rows.append(
                [
                    name,
                    device,
                    fit_cell,
                    "–" if steps is None else f"{steps:.0f}",
                    fmt(per_step),
                    fmt(_median(device_rows, "max_abs_coef_error")),
                    fmt(_median(device_rows, "peak_gpu_over_x")),
                    fmt(_median(device_rows, "peak_rss_over_x")),
                    fmt(speed_up),
                ]
            )
    header = [
        "case",
        "device",
        "fit s",
        "steps",
        "ms per step",
        "max coef error",
        "peak GPU mem / X",
        "peak RSS / X",
        "GPU speed-up",
    ]
    start = _median(
        [row for run in runs for rows_ in run.values() for row in rows_], "cuda_start_s"
    )
    lines += [
        "",
        markdown_table(header, rows),
        "",
        f"CUDA's start-up (the first tiny fit in a process) took {fmt(start)} s, "
        "outside the fit times above.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
