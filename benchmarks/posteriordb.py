"""posteriordb's Gaussian regressions, every engine, over several seeds.

Runs the fits of ``tests/estimators/test_posteriordb_linear.py`` (the models
stated exactly, no reweighting) at each seed and reports, per engine, the
largest |difference of means| from Stan's reference in reference sds, the
range of sd ratios, the smallest ESS and the slowest fit: the figures of
the posteriordb table in ``docs/benchmarks.md``.

Usage, from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/posteriordb.py --engines auto gibbs --seeds 10
    OMP_NUM_THREADS=1 python benchmarks/posteriordb.py --engines nuts --seeds 3
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from _common import REPO_ROOT, command_line, machine_info, markdown_table

sys.path.insert(0, str(REPO_ROOT))
from tests.estimators.test_posteriordb_linear import MODELS, _gaps


def sweep(engine: str, seeds: int) -> list:
    """One table row: worst gaps over every model and seed for ``engine``."""
    z_max, lo, hi, ess_min, slowest, warned = 0.0, np.inf, 0.0, np.inf, 0.0, 0
    for name in sorted(MODELS):
        for seed in range(seeds):
            start = time.perf_counter()
            est, z, ratio, caught = _gaps(name, engine, seed)
            slowest = max(slowest, time.perf_counter() - start)
            z_max, lo, hi = (
                max(z_max, z.max()),
                min(lo, ratio.min()),
                max(hi, ratio.max()),
            )
            if engine in ("gibbs", "nuts"):
                n_eff = est.diagnostics_["n_eff"].values()
                ess_min = min(ess_min, min(float(np.min(v)) for v in n_eff))
            warned += any("k-hat" in str(w.message) for w in caught)
    ess = "-" if np.isinf(ess_min) else f"{ess_min:,.0f}"
    return [
        engine,
        f"0-{seeds - 1}",
        f"{z_max:.3f}",
        f"{lo:.3f}-{hi:.3f}",
        ess,
        f"{slowest:.1f}",
        warned,
    ]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--engines", nargs="*", default=["auto", "gibbs", "nuts", "svi"]
    )
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--out", type=Path, help="also write the table here")
    args = parser.parse_args(argv)
    header = ["engine", "seeds", "worst |z|", "sd ratios", "min ESS", "max s", "warned"]
    table = markdown_table(header, [sweep(e, args.seeds) for e in args.engines])
    meta = machine_info()
    text = f"{table}\n\n{command_line(__file__)}; {meta}\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
