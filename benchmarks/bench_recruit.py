"""Benchmark: recruitment siting on Kent's real 2021 LSOAs with need estimated from Census 2021.

For K = 60, 223 and 416 (Kent's targets for years 1-3) it prints, in the same run, for the
plain maximal-coverage model (CP-SAT) and the capacitated model (SCIP): the objective, the
proven bound and gap, and seconds, beside the greedy baseline (add the best site one at a time)
and the ratio optimised / greedy. Existing providers are the demo registers at Kent year-3
scale; demand is what they leave unmet of the estimated need (weekday share, 65+).

Needs ../shared/data (kent_lsoa_2021.geojson, kent_census2021_ts007a_age5_lsoa21.csv).

Run:  .venv/bin/python benchmarks/bench_recruit.py [--time-limit 60] [--radius-km 10]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--radius-km", type=float, default=10.0)
    ap.add_argument("--ks", default="60,223,416")
    args = ap.parse_args()
    lsoa, census = DATA / "kent_lsoa_2021.geojson", DATA / "kent_census2021_ts007a_age5_lsoa21.csv"
    if not (lsoa.exists() and census.exists()):
        print(f"skipped: the real Kent files are not in {DATA}")
        return 0

    from gapmap.demo import demo_paths
    from gapmap.gaps import area_factor, gap_analysis
    from gapmap.location import (
        capacitated_coverage,
        coverage_matrix,
        greedy_capacitated,
        greedy_max_coverage,
        max_coverage,
    )
    from gapmap.recruitment import candidate_sites, recruitment_demand
    from gapmap.settings import Settings
    from gapmap.study import Study

    p, q = demo_paths()
    study = Study.read(
        providers=p, people=q, areas=lsoa, census=census,
        settings=Settings(radius_km=args.radius_km),
    )  # fmt: skip
    areas = study.areas
    result = gap_analysis(study)
    demand = recruitment_demand(result)
    cand = candidate_sites(areas)
    prio = area_factor(result.table, study).reindex(demand["area_code"]).to_numpy(float)
    dxy, sxy = demand[["x", "y"]].to_numpy(float), cand[["x", "y"]].to_numpy(float)
    hours = demand["hours"].to_numpy(float)
    radius = args.radius_km * 1000.0
    a = coverage_matrix(dxy, sxy, radius)
    print(
        f"{len(areas)} LSOAs (candidate sites), {len(demand)} demand points, "
        f"{hours.sum():,.0f} unmet weekday h a week estimated; radius {args.radius_km:g} km, "
        f"{a.nnz:,} site-demand pairs"
    )
    w = hours * prio
    print(
        f"\n{'model':<12}{'K':>5}  {'greedy':>10}{'s':>7}  {'optimised':>10}{'bound':>10}"
        f"{'gap':>8}{'s':>7}  {'ratio':>6}  status"
    )
    for k in (int(t) for t in args.ks.split(",")):
        g = greedy_max_coverage(dxy, w, sxy, radius, min(k, len(cand)), matrix=a)
        o = max_coverage(
            dxy, w, sxy, radius, min(k, len(cand)), time_limit_s=args.time_limit, matrix=a
        )
        print(
            f"{'coverage':<12}{k:>5}  {g.objective:>10,.0f}{g.seconds:>7.2f}  {o.objective:>10,.0f}"
            f"{o.bound:>10,.0f}{o.gap:>8.2%}{o.seconds:>7.1f}  {o.objective / g.objective:>6.3f}"
            f"  {o.status}",
            flush=True,
        )
        gc = greedy_capacitated(
            dxy, hours, sxy, radius, k, 27.0, priority=prio, per_site=3, matrix=a
        )
        oc = capacitated_coverage(
            dxy, hours, sxy, radius, k, 27.0, priority=prio, per_site=3,
            time_limit_s=args.time_limit, matrix=a,
        )  # fmt: skip
        print(
            f"{'capacitated':<12}{k:>5}  {gc.objective:>10,.0f}{gc.seconds:>7.2f}  "
            f"{oc.objective:>10,.0f}{oc.bound:>10,.0f}{oc.gap:>8.2%}{oc.seconds:>7.1f}  "
            f"{oc.objective / gc.objective:>6.3f}  {oc.status}",
            flush=True,
        )
        hours_taken = float(oc.assigned.sum())
        print(
            f"{'':<12}{'':>5}  capacitated: {hours_taken:,.0f} h a week taken of "
            f"{27 * k:,} h offered ({np.mean(oc.site_hours / (27 * oc.providers_at)):.0%} "
            "average use)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
