"""Benchmark: gapmap's gap analysis, pairs included, against PySAL ``access`` given the pairs.

Synthetic registers at real Kent postcodes (50,000 people × 5,000 providers and 5,000 × 500
by default), read once. In the same run, best of a few, per scale:

* gapmap, **pairs and 2SFCA**: the eligible pairs (:meth:`gapmap.reach.ProviderIndex.pairs`,
  every rule) and the 2SFCA over them (:func:`gapmap.coverage.person_coverage`);
* gapmap, **``gaps`` end to end** from the registers read: each register placed in the
  built-in areas (:meth:`gapmap.Study.from_frames`), the pairs, the 2SFCA for all days and the
  weekend, and the area table with its rural, weekend and nearest-provider columns
  (:func:`gapmap.gap_analysis`); reading the CSVs (postcodes geocoded) is timed apart, and
  so is one run of the whole ``gapmap gaps`` command (what a user waits for, outputs written);
* PySAL ``access`` (``Access.two_stage_fca``) given those pairs ready-made as its cost table
  (so its time leaves out what gapmap's includes: finding who can reach whom), over the same
  people's hours and providers' capacity; its access per person is checked equal to gapmap's.

Needs ``pip install access`` (PySAL); it is in gapmap's ``test`` extra for this benchmark only.

Run:  .venv/bin/python benchmarks/bench_access.py [--scales 50000x5000,5000x500] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings

import numpy as np

CPU: dict[str, float] = {}


def best_of(fn, repeat, name=""):
    """Best wall-clock seconds of ``repeat`` runs (and the best CPU seconds, in ``CPU[name]``:
    on a machine shared with other work, what the run itself cost)."""
    best, best_cpu, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        best = min(best, time.perf_counter() - t)
        best_cpu = min(best_cpu, time.process_time() - c)
    CPU[name] = best_cpu
    return best, out


def whole_command(providers, people, out) -> float:
    """Wall seconds of one ``gapmap gaps`` run as a user starts it."""
    import subprocess

    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "gapmap", "gaps", "--providers", str(providers),
         "--people", str(people), "--out", str(out)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - t


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def one_scale(n_people: int, n_providers: int, repeat: int, areas) -> None:
    import pandas as pd
    from access import Access

    from gapmap.coverage import person_coverage
    from gapmap.demo import write_demo_registers
    from gapmap.gaps import gap_analysis
    from gapmap.io.registers import read_people, read_providers
    from gapmap.reach import ProviderIndex
    from gapmap.study import Study

    with tempfile.TemporaryDirectory() as tmp:
        p, q = write_demo_registers(tmp, providers=n_providers, people=n_people)
        t_read, (providers, people) = best_of(lambda: (read_providers(p), read_people(q)), 1)
        t_command = whole_command(p, q, os.path.join(tmp, "out"))
    print(f"\n{len(people):,} people, {len(providers):,} providers; {load()}")

    def pairs_and_2sfca():
        reach = ProviderIndex(providers).pairs(people)
        return reach, person_coverage(reach, people, providers)

    def gaps_end_to_end():
        return gap_analysis(Study.from_frames(areas, providers, people))

    t_gapmap, (reach, cov) = best_of(pairs_and_2sfca, repeat, "gapmap")
    t_pairs, _ = best_of(lambda: ProviderIndex(providers).pairs(people), repeat, "pairs")
    t_gaps, gaps = best_of(gaps_end_to_end, repeat, "gaps")
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

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # access's own pandas deprecations
        t_pysal, out = best_of(pysal, repeat, "pysal")
    theirs = out.iloc[:, 0].reindex(range(len(people))).fillna(0.0).to_numpy()
    ours = np.asarray(cov.access, float)
    same = np.allclose(ours, theirs, rtol=1e-6, atol=1e-9)
    same_gaps = np.array_equal(np.asarray(gaps.coverage.access), ours)
    print(f"eligible pairs: {len(reach):,}")
    print(f"reading both registers (CSV, postcodes geocoded; apart): {t_read:.2f} s")
    print(f"gapmap, pairs and 2SFCA: {t_gapmap:.2f} s "
          f"(pairs alone {t_pairs:.2f} s, 2SFCA {t_gapmap - t_pairs:.2f} s)")  # fmt: skip
    print(f"gapmap `gaps` end to end (placing, pairs, 2SFCA all days and weekend, area table "
          f"of {len(gaps.table)} areas): {t_gaps:.2f} s")  # fmt: skip
    print(f"PySAL access 2SFCA, pairs given ready-made: {t_pysal:.2f} s")
    print(f"what a user waits for: reading and `gaps` end to end {t_read + t_gaps:.2f} s; the "
          f"whole `gapmap gaps` command (starting Python, reading, analysing, writing every "
          f"output: map, picture, workbook, GeoPackage), one run: {t_command:.1f} s")  # fmt: skip
    print(f"access per person {'equal' if same and same_gaps else 'NOT equal'} (largest "
          f"difference {np.max(np.abs(ours - theirs)):.2e})")  # fmt: skip
    print(f"gapmap is {t_pysal / t_gapmap:.2f}x as fast as access (pairs and 2SFCA), "
          f"{t_pysal / t_gaps:.2f}x (`gaps` end to end); {load()}")  # fmt: skip
    print(f"CPU seconds (best of {repeat}): pairs and 2SFCA {CPU['gapmap']:.2f} (pairs "
          f"{CPU['pairs']:.2f}), `gaps` end to end {CPU['gaps']:.2f}, access {CPU['pysal']:.2f}: "
          f"{CPU['pysal'] / CPU['gapmap']:.2f}x and {CPU['pysal'] / CPU['gaps']:.2f}x")  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scales", default="50000x5000,5000x500", help="PEOPLExPROVIDERS,...")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from gapmap.io.builtin import load_builtin_areas

    areas = load_builtin_areas()
    print(f"built-in areas: {len(areas)}; {load()}")
    for scale in args.scales.split(","):
        n_people, n_providers = (int(v) for v in scale.lower().split("x"))
        one_scale(n_people, n_providers, args.repeat, areas)
    return 0


if __name__ == "__main__":
    sys.exit(main())
