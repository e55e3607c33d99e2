"""Benchmark: the cover plan and N-1 resilience at Kent year-3 scale (416 providers, 2,500 people).

The registers are the synthetic demo at that scale (as in ``bench_match.py``), matched once by
``gapmap match`` (time limit ``--match-time-limit``). Then, timed in one run:

* one provider off for a week (the one giving the most people hours): the cover plan, proven
  optimal or not; and the median over a sample of single absences;
* snow weeks: one provider in ten off (drawn at random), all at once, one plan each, solved
  the default way (``auto``: CP-SAT for small models, HiGHS for large ones) and, on the same
  draws in the same run, by CP-SAT alone (the solver used before: the same integer models,
  ``cover_plan(..., solver="cp-sat")``), each checked;
* N-1 over every provider that gives hours (gapmap's small models, most settled without a
  solver), against the naive baseline: a loop of full re-solves, each a whole ``cover_plan`` for
  one provider's week off (arrangements, candidates and the two-stage model made afresh);
  the uncovered hours of both are compared provider by provider.

Run:  .venv/bin/python benchmarks/bench_cover.py [--match-time-limit 30] [--seed 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time

import numpy as np
import pandas as pd


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--match-time-limit", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sample", type=int, default=40, help="single absences for the median")
    ap.add_argument("--snow", type=int, default=5, help="snow weeks (each solved twice)")
    args = ap.parse_args()

    from gapmap.cover import check_cover_plan, cover_plan, n_minus_one
    from gapmap.demo import SCALES, write_demo_registers
    from gapmap.matching import match
    from gapmap.settings import Settings
    from gapmap.study import Study, StudyInputs

    size = SCALES["kent-y3"]
    with tempfile.TemporaryDirectory() as tmp:
        p, q = write_demo_registers(tmp, providers=size.providers, people=size.people)
        study = Study.read(
            StudyInputs(providers=p, people=q),
            settings=Settings(match_time_limit_s=args.match_time_limit),
        )
    t = time.perf_counter()
    best = match(study).best
    dist = best.details.get("distance_of", {})
    matches = best.table(study.people, study.providers, lambda a, v: dist.get(a, {}).get(v, np.nan))
    n_matched = int((matches["status"] == "matched").sum())
    print(
        f"Kent year 3: {len(study.providers)} providers, {len(study.people)} people, "
        f"{n_matched} matched by gapmap match ({time.perf_counter() - t:.0f} s)",
        flush=True,
    )
    study = study.with_settings(match_time_limit_s=60.0)
    mon = dt.date(2026, 12, 7)
    sun = mon + dt.timedelta(days=6)

    def week_off(ids) -> pd.DataFrame:
        ids = list(ids)
        return pd.DataFrame(
            {"provider_id": ids, "from": [mon] * len(ids), "to": [sun] * len(ids),
             "days": [127] * len(ids), "reason": [""] * len(ids)}
        ).astype({"days": np.int64})  # fmt: skip

    def checked(absences, solver="auto"):
        t0 = time.perf_counter()
        plan = cover_plan(study, matches, absences, mon, sun, solver=solver)
        seconds = time.perf_counter() - t0
        problems = check_cover_plan(
            study.people, study.providers, matches, absences, plan.table(), mon, sun,
            objective=plan.objective,
        )  # fmt: skip
        assert not problems, problems[:3]
        return plan, seconds

    m = matches[matches["status"] == "matched"]
    gives = pd.concat([m["provider_id"], m["partner_provider_id"]]).replace("", np.nan).dropna()
    busiest = gives.value_counts().index[0]
    plan, seconds = checked(week_off([busiest]))
    s = plan.summary()
    print(
        f"\none provider off a week ({busiest}, the busiest): {seconds:.3f} s, "
        f"{s['people_affected']} people, {s['hours_affected']:.1f} h lost, "
        f"{s['hours_uncovered']:.1f} h uncovered; level 1 {plan.status}, "
        f"tie-breaks {plan.tie_break_status}",
        flush=True,
    )
    rng = np.random.default_rng(args.seed)
    sample = rng.choice(gives.unique(), size=min(args.sample, gives.nunique()), replace=False)
    times, optimal = [], 0
    for v in sample:
        plan, sec = checked(week_off([v]))
        times.append(sec)
        optimal += plan.status == "OPTIMAL" and plan.tie_break_status == "OPTIMAL"
    print(
        f"  {len(sample)} single absences: median {np.median(times):.3f} s, max "
        f"{max(times):.3f} s; {optimal} of {len(sample)} proven optimal at every level (load "
        f"{open('/proc/loadavg').read().split()[0]})",
        flush=True,
    )

    secs: dict[str, list[float]] = {"auto": [], "cp-sat": []}
    for draw in range(args.snow):
        snow = rng.choice(study.providers["provider_id"].to_numpy(),
                          size=len(study.providers) // 10, replace=False)  # fmt: skip
        got = {}
        for solver in ("auto", "cp-sat"):
            plan, seconds = checked(week_off(snow), solver)
            secs[solver].append(seconds)
            got[solver] = plan
            s = plan.summary()
            print(
                f"{'' if draw or solver != 'auto' else chr(10)}snow week {draw + 1} "
                f"({len(snow)} providers off at once, one plan), {solver}: {seconds:.2f} s, "
                f"{s['people_affected']} people, {s['hours_affected']:.1f} h lost, "
                f"{s['hours_uncovered']:.1f} h uncovered; level 1 {plan.status}, "
                f"tie-breaks {plan.tie_break_status}",
                flush=True,
            )
        same = abs(got["auto"].objective - got["cp-sat"].objective) < 1e-6
        print(f"  level 1 the same with both: {same}", flush=True)
    h, c = np.asarray(secs["auto"]), np.asarray(secs["cp-sat"])
    print(
        f"snow weeks: gapmap (auto: HiGHS for the large models) median {np.median(h):.2f} s, "
        f"max {h.max():.2f} s; CP-SAT alone median "
        f"{np.median(c):.2f} s, max {c.max():.2f} s; {c.sum() / h.sum():.1f}x less time in all "
        f"(load {open('/proc/loadavg').read().split()[0]})",
        flush=True,
    )

    t0 = time.perf_counter()
    res = n_minus_one(study, matches)
    fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    naive = {}
    for v in res.providers["provider_id"]:
        plan = cover_plan(study, matches, week_off([v]), mon, sun)
        naive[v] = plan.summary()["hours_uncovered"]
    slow = time.perf_counter() - t0
    ours = res.providers.set_index("provider_id")["uncovered_if_absent_hours"]
    differ = sum(abs(ours[v] - naive[v]) > 0.011 for v in naive)
    print(
        f"\nN-1 over {len(res.providers)} providers: gapmap {fast:.2f} s ({res.solved} needed "
        f"the solver); naive loop of full re-solves {slow:.1f} s; {slow / fast:.0f}x faster; "
        f"uncovered hours differ for {differ} providers (load "
        f"{open('/proc/loadavg').read().split()[0]})",
        flush=True,
    )
    print(
        f"  providers whose week off leaves hours uncovered: "
        f"{int((ours > 0).sum())}; worst {ours.max():.1f} h a week"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
