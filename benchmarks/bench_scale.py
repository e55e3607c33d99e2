"""Benchmark: how time and peak memory grow with the number of people.

Each size runs in a fresh Python process (so peak resident memory is that size's own) over
synthetic registers at real Kent postcodes, one provider for every five people as in Somerset:
read and geocode both registers, place them in the built-in areas, the gap analysis, and the
candidate building plus greedy matching of the whole waiting list (CP-SAT is left out: it runs
to its time limit by design, see bench_match.py). The baseline, in the same run, is a process
that only imports gapmap and loads the areas and the geocoder; memory is reported above it,
and each row's growth is given against the first size. Two series: a fixed number of providers
(the waiting list grows), and one provider for every five people (Kent fills up).

Run:  .venv/bin/python benchmarks/bench_scale.py [--people 2500,5900,20000,50000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from gapmap.io.builtin import load_builtin_areas
from gapmap.postcodes import default_directory
areas = load_builtin_areas()
# the geocoder for Kent's postcode areas, as every real run loads it
default_directory().lookup(["BR1 1AA", "CT1 2AA", "DA1 1AA", "ME1 1AA", "TN1 1AA"])
p, q = sys.argv[1], sys.argv[2]
stages = {}
if p:
    from gapmap.gaps import gap_analysis
    from gapmap.matching.candidates import build_candidates
    from gapmap.matching.greedy import greedy_match
    from gapmap.study import Study, StudyInputs
    t = time.perf_counter()
    study = Study.read(StudyInputs(providers=p, people=q))
    stages["read"] = time.perf_counter() - t
    t = time.perf_counter()
    result = gap_analysis(study)
    reach = study.reach
    stages["gaps"] = time.perf_counter() - t
    t = time.perf_counter()
    options = build_candidates(study.people, study.providers, reach)
    greedy = greedy_match(study.people, study.providers, options, study.settings)
    stages["match"] = time.perf_counter() - t
    stages["pairs"] = len(reach.person)
    stages["matched"] = len(greedy.matches)
stages["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(stages))
"""


def run(n_people: int, n_prov: int) -> dict:
    from gapmap.demo import write_demo_registers

    with tempfile.TemporaryDirectory() as tmp:
        files = ["", ""]
        if n_people:
            files = [str(f) for f in write_demo_registers(tmp, providers=n_prov, people=n_people)]
        out = subprocess.run(
            [sys.executable, "-c", CHILD, *files], check=True, capture_output=True, text=True
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", default="2500,5900,20000,50000")
    ap.add_argument("--providers", default="1170,ratio", help="series: fixed counts or 'ratio'")
    args = ap.parse_args()
    sizes = [int(s) for s in args.people.split(",")]
    base = run(0, 0)
    print(
        "baseline (import gapmap, load the built-in areas and the geocoder): "
        f"peak {base['peak_mb']:.0f} MB"
    )
    for series in args.providers.split(","):
        print()
        print(
            "providers: one for every five people (Somerset's ratio)"
            if series == "ratio"
            else f"providers: {int(series):,} whatever the waiting list"
        )
        _series(sizes, series, base)
    return 0


def _series(sizes, series, base) -> None:
    print(
        f"{'people':>7}{'provs':>7}{'pairs':>11}{'read s':>8}{'gaps s':>8}{'match s':>9}"
        f"{'total s':>9}{'MB over base':>13}{'x people':>9}{'x time':>8}{'x memory':>9}"
    )
    first = None
    for n in sizes:
        n_prov = max(1, n // 5) if series == "ratio" else int(series)
        r = run(n, n_prov)
        total = r["read"] + r["gaps"] + r["match"]
        mem = r["peak_mb"] - base["peak_mb"]
        first = first or (n, total, mem)
        print(
            f"{n:>7}{n_prov:>7}{r['pairs']:>11,}{r['read']:>8.2f}{r['gaps']:>8.2f}"
            f"{r['match']:>9.2f}{total:>9.2f}{mem:>13.0f}{n / first[0]:>9.1f}"
            f"{total / first[1]:>8.1f}{mem / max(first[2], 1):>9.1f}",
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(main())
