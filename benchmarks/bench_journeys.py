"""Benchmark: the journeys stage (objective 2) at Kent year-3 and Somerset scale.

For each scale, ``gapmap.match`` runs once in this process with the default 60 s limit (the
distance stage gets what the first stage leaves, 15% of it). It prints, with the load average
at the start of the run:

* the journeys of gapmap's matching (km over every role and by role, km per person matched,
  km to their provider, the share with their nearest eligible provider) beside those of the
  greedy pass (matching by hand);
* for each, the distance LP bound for *its* people (gapmap's: the run's own; then solved to the
  end here if the run's did not converge; greedy's: solved here) and how far above it;
* the knapsack Lagrangian bound for gapmap's people (``gapmap.matching.knapsack_bound``:
  whole people in each provider's room; subgradient rounds from the LP's prices, for
  ``--knapsack-seconds``) and how far above it gapmap's km are;
* the distance stage: the first stage's km it started from, its seconds, steps, LP rounds;
* why the bound is far: the share of the free room of the providers used that the matching
  fills, and the median room left on one.

Run:  .venv/bin/python benchmarks/bench_journeys.py [--time-limit 60] [--scales kent-y3,somerset]
      [--knapsack-seconds 120]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def line(name: str, j: dict, bound: float | None, tight: bool) -> str:
    out = (
        f"  {name:<7} {j['km_total']:>9,.0f} km (provider {j['km_provider']:,.0f}, partner "
        f"{j['km_partner']:,.0f}, cover {j['km_cover']:,.0f}); {j['mean_km_per_person']:.2f} km "
        f"per person, {j['mean_km_to_provider']:.2f} km to provider (nearest "
        f"{j['mean_km_to_nearest_provider']:.2f}), {j['share_nearest_provider']:.0%} with their "
        "nearest"
    )
    if bound:
        out += (
            f"; bound {bound:,.0f} km{'' if tight else ' (not converged)'}, "
            f"gap {j['km_total'] / bound - 1:+.1%}"
        )
    return out


def room_use(matches: dict, options, room: np.ndarray, settings) -> tuple[float, float, int]:
    """Share of the free room of the providers used that the matching fills, the median room
    left on them (hours), and how many providers are used."""
    from gapmap.matching.patterns import class_arrays as _classes
    from gapmap.matching.patterns import class_of as _class_of

    load = np.zeros(len(room), np.int64)
    for p, m in matches.items():
        classes = _classes(options[p], settings, room)
        cls = classes[_class_of(classes, m)]
        load[m.provider] += cls.a
        if m.partner >= 0:
            load[m.partner] += cls.b
        if m.cover >= 0:
            load[m.cover] += cls.r
    used = load > 0
    return (
        float(load[used].sum() / room[used].sum()),
        float(np.median(room[used] - load[used]) / 100),
        int(used.sum()),
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--scales", default="kent-y3,somerset")
    ap.add_argument("--knapsack-seconds", type=float, default=120.0)
    args = ap.parse_args()

    from gapmap.demo import SCALES, write_demo_registers
    from gapmap.matching import match
    from gapmap.matching.candidates import build_candidates
    from gapmap.matching.journeys import distance_bound, distance_prices, journey_figures
    from gapmap.matching.knapsack_bound import knapsack_bound
    from gapmap.matching.patterns import class_arrays
    from gapmap.reach import room_units
    from gapmap.settings import Settings
    from gapmap.study import Study, StudyInputs

    with tempfile.TemporaryDirectory() as tmp:
        for scale in args.scales.split(","):
            size = SCALES[scale]
            p, q = write_demo_registers(Path(tmp) / scale, providers=size.providers,
                                        people=size.people)  # fmt: skip
            study = Study.read(
                StudyInputs(providers=p, people=q),
                settings=Settings(match_time_limit_s=args.time_limit),
            )
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            matching = match(study)
            best, greedy = matching.best, matching.greedy
            wall = time.perf_counter() - t0
            print(f"\n{scale}: {len(study.people):,} people, {len(study.providers):,} providers, "
                  f"time limit {args.time_limit:g} s; load {load:.1f} at the start, "
                  f"match took {wall:.1f} s; {len(best.matches):,} matched by gapmap, "
                  f"{len(greedy.matches):,} by hand", flush=True)  # fmt: skip
            options = build_candidates(
                study.people, study.providers, study.reach,
                allow_without_cover=study.settings.allow_without_cover, in_area=study.in_area,
            )  # fmt: skip
            room = room_units(study.providers)
            s = best.details.get("journeys_search", {})
            j = journey_figures(best.matches, options)
            bound, tight = s.get("bound_km"), bool(s.get("bound_converged"))
            print(
                line("gapmap", j, bound, tight) + f" (the run's own bound: {s.get('bound_method')})"
            )
            print(f"          distance stage: started from {s.get('start_km', 0):,.0f} km, "
                  f"{s.get('seconds')} s, {s.get('status')}, {s.get('lp_rounds')} LP rounds "
                  f"({s.get('lp_seconds')} s)")  # fmt: skip
            t = time.perf_counter()
            b, ok, mu = distance_prices(best.matches, options, room, study.settings, 600.0)
            if not tight:
                print(f"          the same people's distance LP solved to the end: {b:,.0f} km"
                      f"{'' if ok else ' (not converged)'} [{time.perf_counter() - t:.0f} s]; "
                      f"gap {j['km_total'] / b - 1:+.1%}")  # fmt: skip
            classes = {p: class_arrays(options[p], study.settings, room) for p in best.matches}
            kb = knapsack_bound(best.matches, options, classes, room, study.settings, mu,
                                args.knapsack_seconds)  # fmt: skip
            print(f"          knapsack Lagrangian bound (whole people in each provider's room, "
                  f"{kb['rounds']} subgradient rounds from the LP's prices, {kb['seconds']} s, "
                  f"load {os.getloadavg()[0]:.1f}): {kb['bound_km']:,.0f} km "
                  f"({kb['bound_km'] / b - 1:+.1%} over the LP); gapmap's gap to it "
                  f"{j['km_total'] / kb['bound_km'] - 1:+.1%}")  # fmt: skip
            t = time.perf_counter()
            gb, gok = distance_bound(greedy.matches, options, room, study.settings, 600.0)
            print(line("greedy", journey_figures(greedy.matches, options), gb, gok)
                  + f" [{time.perf_counter() - t:.0f} s]")  # fmt: skip
            for name, result in (("gapmap", best), ("greedy", greedy)):
                share, left, used = room_use(result.matches, options, room, study.settings)
                print(f"  {name:<7} fills {share:.1%} of the free room of the {used} providers "
                      f"it uses; median room left on one: {left:.2f} h")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
