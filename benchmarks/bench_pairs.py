"""Benchmark: building the eligible pairs grows in proportion to the pairs.

Synthetic registers in a 60 km square (EPSG:27700 metres), 5,000 providers with a 10 km travel
limit and the people growing so that the pairs go from about 1 million to about 10 million
(every service offered, so that every pair in range is eligible and the pairs are exactly
what is built). Each size runs in a fresh Python process, so that its peak memory is its own:
the best of a few runs of :meth:`gapmap.reach.ProviderIndex.pairs`, seconds per million
pairs, and peak resident memory above the process's baseline, per pair. The first size is the
baseline of the growth figures.

Run:  .venv/bin/python benchmarks/bench_pairs.py [--people 2300,23000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
import numpy as np, pandas as pd
from gapmap.reach import ProviderIndex
n_people, n_providers, repeat = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(1)
side = 60_000.0
providers = pd.DataFrame({
    "x": rng.uniform(0, side, n_providers), "y": rng.uniform(0, side, n_providers),
    "max_travel_km": 10.0, "service_mask": 7, "cqc_registered": True,
})
people = pd.DataFrame({
    "x": rng.uniform(0, side, n_people), "y": rng.uniform(0, side, n_people),
    "max_travel_km": np.nan, "service_mask": 1, "regulated_care": False,
    "self_directing": True,
})
index = ProviderIndex(providers)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
best = float("inf")
for _ in range(repeat):
    t = time.perf_counter()
    reach = index.pairs(people)
    best = min(best, time.perf_counter() - t)
    n = len(reach)
    del reach
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"pairs": n, "seconds": best, "extra_kb": peak - base}))
"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", default="2300,23000")
    ap.add_argument("--providers", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{'people':>8} {'pairs':>11} {'seconds':>8} {'s per M':>8} {'x time':>7} "
          f"{'x pairs':>8} {'extra MB':>9} {'bytes/pair':>10}")  # fmt: skip
    first = None
    for n in [int(x) for x in args.people.split(",")]:
        r = subprocess.run(
            [sys.executable, "-c", CHILD, str(n), str(args.providers), str(args.repeat)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        row = json.loads(r.stdout.strip().splitlines()[-1])
        first = first or row
        print(
            f"{n:>8,} {row['pairs']:>11,} {row['seconds']:>8.2f} "
            f"{row['seconds'] / row['pairs'] * 1e6:>8.3f} "
            f"{row['seconds'] / first['seconds']:>7.1f} {row['pairs'] / first['pairs']:>8.1f} "
            f"{row['extra_kb'] / 1024:>9.0f} {row['extra_kb'] * 1024 / row['pairs']:>10.0f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
