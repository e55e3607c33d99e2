"""Benchmark: recruitment siting against the best open tool, and on Kent's real 2021 LSOAs.

**Against spopt** (PySAL's location models, solved by PuLP + CBC), in the same run:

* spopt's own published San Francisco case (the CSVs its wheel ships: 205 census tracts, 16
  candidate stores, network distances, 5 km, K = 4, population weights);
* Kent's 938 LSOAs of 2021 as demand and candidate sites, population aged 65+ (Census 2021
  TS007A) as weight, 2 km, K = 60, 223 and 416 (Kent's targets for years 1-3).

For each it prints the objective and seconds of gapmap's ``max_coverage`` (HiGHS branch and
cut) and of spopt's MCLP, and whether both proved the same optimum. spopt is not a dependency
of gapmap: ``pip install spopt`` to run the comparison (skipped with a note otherwise).

**Capacitated siting** on Kent's LSOAs with need estimated from Census 2021 less what the demo
providers reach (weekday share): greedy and optimised (SCIP) objective, bound and seconds.

Needs ../shared/data for the Kent parts.

Run:  .venv/bin/python benchmarks/bench_recruit.py [--time-limit 60] [--radius-km 10]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _spopt_mclp(cost: np.ndarray, weights: np.ndarray, radius: float, k: int):
    import pulp
    from spopt.locate import MCLP

    t = time.perf_counter()
    model = MCLP.from_cost_matrix(cost, weights, radius, k).solve(pulp.PULP_CBC_CMD(msg=False))
    seconds = time.perf_counter() - t
    value = float(pulp.value(model.problem.objective))
    return value, seconds, pulp.LpStatus[model.problem.status]


def _ours(cost: np.ndarray, weights: np.ndarray, radius: float, k: int, time_limit: float):
    from scipy import sparse

    from gapmap.recruitment.location import max_coverage

    t = time.perf_counter()
    matrix = sparse.csr_matrix(cost <= radius)
    dummy_d, dummy_s = np.zeros((cost.shape[0], 2)), np.zeros((cost.shape[1], 2))
    r = max_coverage(dummy_d, weights, dummy_s, radius, k, matrix=matrix, time_limit_s=time_limit)
    return r.objective, time.perf_counter() - t, r.status


def against_spopt(time_limit: float) -> None:
    try:
        import spopt
    except ImportError:
        print("spopt is not installed (pip install spopt): comparison skipped")
        return
    import pandas as pd

    data = Path(spopt.__file__).parent / "tests" / "test_locate" / "data"
    print(f"\nmaximal coverage, gapmap (HiGHS) against spopt {spopt.__version__} (PuLP + CBC)")
    print(
        f"{'case':<34}{'K':>5}{'gapmap':>14}{'s':>7}{'spopt':>14}{'s':>7}{'same':>6}{'x faster':>9}"
    )
    rows = []
    net = pd.read_csv(
        data / "SF_network_distance_candidateStore_16_censusTract_205_new.csv",
        dtype={"DestinationName": str},
    )
    cost = net.pivot_table(values="distance", index="DestinationName", columns="name")
    demand = pd.read_csv(data / "SF_demand_205_centroid_uniform_weight.csv", dtype={"NAME": str})
    demand = demand.sort_values("NAME").set_index("NAME").reindex(cost.index.astype(str))
    rows.append(("San Francisco (spopt's case)", cost.to_numpy(), demand["POP2000"].to_numpy(
        float), 5000.0, [4]))  # fmt: skip
    lsoa, census = DATA / "kent_lsoa_2021.geojson", DATA / "kent_census2021_ts007a_age5_lsoa21.csv"
    if lsoa.exists() and census.exists():
        from scipy.spatial.distance import cdist

        from gapmap.io.areas import read_areas
        from gapmap.io.census import read_census_ages

        areas = read_areas(lsoa)
        ages = read_census_ages(census)
        old = ages[[c for c in ages.columns if c != "total" and int(c.split("-")[0]) >= 65]]
        w = old.sum(axis=1).reindex(areas["area_code"]).fillna(0).to_numpy(float)
        pts = areas.geometry.representative_point()
        xy = np.column_stack([pts.x, pts.y])
        rows.append(("Kent 938 LSOAs, 65+, 2 km", cdist(xy, xy), w, 2000.0, [60, 223, 416]))
    else:
        print(f"(Kent's LSOAs are not in {DATA}: only the San Francisco case)")
    for name, cost_m, weights, radius, ks in rows:
        for k in ks:
            ours, t_ours, st_ours = _ours(cost_m, weights, radius, k, time_limit)
            theirs, t_theirs, st_theirs = _spopt_mclp(cost_m, weights, radius, k)
            same = abs(ours - theirs) <= 1e-6 * max(1.0, theirs)
            print(
                f"{name:<34}{k:>5}{ours:>14,.0f}{t_ours:>7.2f}{theirs:>14,.0f}{t_theirs:>7.2f}"
                f"{'yes' if same else 'NO':>6}{t_theirs / t_ours:>9.1f}"
                f"   ({st_ours}; spopt {st_theirs})",
                flush=True,
            )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--radius-km", type=float, default=10.0)
    ap.add_argument("--ks", default="60,223,416")
    args = ap.parse_args()
    against_spopt(args.time_limit)
    lsoa, census = DATA / "kent_lsoa_2021.geojson", DATA / "kent_census2021_ts007a_age5_lsoa21.csv"
    if not (lsoa.exists() and census.exists()):
        print(f"skipped: the real Kent files are not in {DATA}")
        return 0

    from gapmap.demo import demo_paths
    from gapmap.gaps import area_factor, gap_analysis
    from gapmap.recruitment.location import (
        capacitated_coverage,
        coverage_matrix,
        greedy_capacitated,
        greedy_max_coverage,
        max_coverage,
    )
    from gapmap.recruitment.ranking import candidate_sites, recruitment_demand
    from gapmap.settings import Settings
    from gapmap.study import Study, StudyInputs

    p, q = demo_paths()
    study = Study.read(
        StudyInputs(providers=p, people=q, areas=lsoa, census=census),
        settings=Settings(radius_km=args.radius_km),
    )
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
