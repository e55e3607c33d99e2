"""Benchmark: batch matching and suggestions at Kent year-3 and Somerset scale.

Prints, per scale, in the same run: urgency-weighted hours of the greedy baseline (nearest
provider with room, most urgent first) and of gapmap's matching within its time limit, the
bound the run itself reported, and the LP bound of the full model (every eligible provider)
solved to the end by column generation outside the timed run: each matching's share of it.
Beside it, the looser LP that keeps patterns no provider's room could take alone (see
:mod:`gapmap.matching.colgen`), and gapmap's share of that. Seconds: the greedy pass, the whole
matching (candidates included) and the LP solved to the end. Then, at the largest scale, the
median and 95th percentile time of a suggestion over a few hundred requests at real Kent
postcodes, beside a full scan of every provider for each request.

Run:  .venv/bin/python benchmarks/bench_match.py [--time-limit 60] [--scales kent-y3,somerset]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time

import numpy as np


def full_scan_suggest(person, providers, top=5):
    """Baseline: every provider, distances and rules for all, then the same choice of roles."""
    from gapmap.reach import pair_rules

    xy = providers[["x", "y"]].to_numpy(float)
    d = np.hypot(*(xy - person[["x", "y"]].to_numpy(float)[0]).T) / 1000.0
    idx = np.arange(len(providers))
    keep, _ = pair_rules(person, providers, np.zeros(len(idx), np.int64), idx, d)
    order = np.argsort(d[keep], kind="stable")
    return idx[keep][order][:top]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--scales", default="kent-y3,somerset")
    ap.add_argument("--requests", type=int, default=300)
    args = ap.parse_args()

    from gapmap.demo import SCALES, write_demo_registers
    from gapmap.matching import match
    from gapmap.matching.candidates import build_candidates
    from gapmap.matching.colgen import relaxation_bound
    from gapmap.matching.suggest import Suggester, person_request
    from gapmap.reach import room_units
    from gapmap.settings import Settings
    from gapmap.study import Study

    print(
        f"{'scale':<10}{'people':>7}{'provs':>7}  {'greedy p-h':>11}{'gapmap p-h':>11}"
        f"{'in-run bound':>13}{'LP bound':>10}{'greedy/LP':>10}{'gapmap/LP':>10}"
        f"{'loose LP':>10}{'gapmap/loose':>13}{'greedy s':>9}{'gapmap s':>9}  LP s"
    )
    last = None
    for scale in args.scales.split(","):
        size = SCALES[scale]
        with tempfile.TemporaryDirectory() as tmp:
            p, q = write_demo_registers(tmp, providers=size.providers, people=size.people)
            study = Study.read(
                providers=p, people=q, settings=Settings(match_time_limit_s=args.time_limit)
            )
        providers, people = study.providers, study.people
        t_match = time.perf_counter()
        best, greedy = match(study, say=lambda m: print(m, file=sys.stderr, flush=True))
        seconds = time.perf_counter() - t_match
        # the bound to measure against: the LP relaxation of the full model solved to the
        # end, outside the timed run (the run's own bound may be looser when time is short)
        options = build_candidates(
            people, providers, study.reach, max_candidates=None,
            allow_without_cover=study.settings.allow_without_cover, in_area=study.in_area,
        )  # fmt: skip
        room = room_units(providers)
        t_lp = time.perf_counter()
        lp, done = relaxation_bound(options, room, study.settings)
        lp_seconds = time.perf_counter() - t_lp
        loose, loose_done = relaxation_bound(options, room, study.settings, fit=False)
        print(
            f"{scale:<10}{len(people):>7}{len(providers):>7}  {greedy.objective:>11,.0f}"
            f"{best.objective:>11,.0f}{best.best_bound:>13,.0f}{lp:>10,.0f}"
            f"{greedy.objective / lp:>10.1%}{best.objective / lp:>10.1%}"
            f"{loose:>10,.0f}{best.objective / loose:>13.1%}"
            f"{greedy.seconds:>9.2f}{seconds:>9.1f}{lp_seconds:>6.0f}"
            + ("" if done and loose_done else "  (an LP did not converge: a looser bound)"),
            flush=True,
        )
        last = study

    providers, people = last.providers, last.people
    suggester = Suggester(last)
    rng = np.random.default_rng(1)
    sample = people.sample(args.requests, random_state=1, replace=len(people) < args.requests)
    reqs = [
        person_request(
            x=r.x,
            y=r.y,
            hours=r.hours,
            days=int(r.day_mask),
            services=int(r.service_mask),
            needs_cover=bool(r.needs_cover),
        )
        for r in sample.itertuples()
    ]
    rng.shuffle(reqs)
    t_s, t_b = [], []
    for req in reqs:
        t = time.perf_counter()
        suggester.suggest(req, top=5)
        t_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        full_scan_suggest(req, providers)
        t_b.append(time.perf_counter() - t)
    ms = lambda a, q: 1000 * float(np.percentile(a, q))  # noqa: E731
    print(f"\nsuggestions over {len(reqs)} requests, {len(providers)} providers:")
    print(
        f"  gapmap suggest (k-d tree, partner and cover): median {ms(t_s, 50):.2f} ms, "
        f"95th percentile {ms(t_s, 95):.2f} ms"
    )
    print(
        f"  full scan of every provider (eligibility only): median {ms(t_b, 50):.2f} ms, "
        f"95th percentile {ms(t_b, 95):.2f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
