"""Benchmark: gapmap's coverage with its pairs built, against PySAL ``access`` given the pairs.

Synthetic registers at real Kent postcodes (50,000 people, 5,000 providers by default), read
once. In the same run, best of a few:

* gapmap: the eligible pairs (:meth:`gapmap.reach.ProviderIndex.pairs`, every rule) and the
  2SFCA over them (:func:`gapmap.coverage.person_coverage`), end to end from the registers;
* PySAL ``access`` (``Access.two_stage_fca``) given those pairs ready-made as its cost table
  (so its time leaves out what gapmap's includes: finding who can reach whom), over the same
  people's hours and providers' capacity; its access per person is checked equal to gapmap's.

Needs ``pip install access`` (PySAL); it is not a dependency of gapmap.

Run:  .venv/bin/python benchmarks/bench_access.py [--people 50000] [--providers 5000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np


def best_of(fn, repeat):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=50_000)
    ap.add_argument("--providers", type=int, default=5_000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()

    import pandas as pd
    from access import Access

    from gapmap.coverage import person_coverage
    from gapmap.demo import write_demo_registers
    from gapmap.io.registers import read_people, read_providers
    from gapmap.reach import ProviderIndex

    with tempfile.TemporaryDirectory() as tmp:
        p, q = write_demo_registers(tmp, providers=args.providers, people=args.people)
        providers, people = read_providers(p), read_people(q)
    print(f"{len(people):,} people, {len(providers):,} providers; load {os.getloadavg()[0]:.1f}")

    def gapmap_end_to_end():
        reach = ProviderIndex(providers).pairs(people)
        return reach, person_coverage(reach, people, providers)

    t_gapmap, (reach, cov) = best_of(gapmap_end_to_end, args.repeat)
    t_pairs, _ = best_of(lambda: ProviderIndex(providers).pairs(people), args.repeat)
    cost = pd.DataFrame({"origin": reach.person, "dest": reach.provider, "km": reach.distance_km})
    demand = pd.DataFrame({"pid": np.arange(len(people)), "hours": people["hours"].to_numpy(float)})
    supply = pd.DataFrame(
        {"vid": np.arange(len(providers)), "capacity": providers["capacity_hours"].to_numpy(float)}
    )

    def pysal():
        a = Access(demand_df=demand, demand_index="pid", demand_value="hours",
                   supply_df=supply, supply_index="vid", supply_value="capacity", cost_df=cost,
                   cost_origin="origin", cost_dest="dest", cost_name="km")  # fmt: skip
        return a.two_stage_fca(name="2sfca", max_cost=1e9)

    t_pysal, out = best_of(pysal, args.repeat)
    theirs = out.iloc[:, 0].reindex(range(len(people))).fillna(0.0).to_numpy()
    ours = np.asarray(cov.access, float)
    same = np.allclose(ours, theirs, rtol=1e-6, atol=1e-9)
    print(f"eligible pairs: {len(reach):,}")
    print(f"gapmap, pairs built and 2SFCA (end to end): {t_gapmap:.2f} s "
          f"(pairs alone {t_pairs:.2f} s, 2SFCA {t_gapmap - t_pairs:.2f} s)")  # fmt: skip
    print(f"PySAL access 2SFCA, pairs given ready-made: {t_pysal:.2f} s")
    print(f"gapmap is {t_pysal / t_gapmap:.2f}x as fast end to end; access per person "
          f"{'equal' if same else 'NOT equal'} (largest difference "
          f"{np.max(np.abs(ours - theirs)):.2e}); load {os.getloadavg()[0]:.1f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
