"""Benchmark: batch matching at Kent year-3 and Somerset scale, idle and beside a busy process.

For each scale, the real command (``gapmap match --time-limit T``) runs in a child process
twice: on the machine as it is ("idle"), then with a competing process spinning on every core
("busy"). For each run it prints, with the load average at its start:

* the wall-clock time of the whole command (process start to exit) beside the limit, and the
  ``wall_seconds`` the command itself reported in ``summary.json``;
* objective (1), urgency-weighted hours matched, beside the greedy baseline (matching by
  hand, :mod:`gapmap.matching.greedy`) and the LP bound of the full model solved to the end
  outside the timed runs: each one's share of it;
* the journeys (objective 2): km over every role and by role (provider, partner, cover), km
  per person matched, km to their provider, the share with their nearest provider, and the
  lower bound the run proved for the same people (the distance LP), with how far above it;
  the same figures for the greedy pass, with the distance LP of *its* people solved here.

Then, at the largest scale, the median and 95th percentile time of a suggestion over a few
hundred requests at real Kent postcodes, beside a full scan of every provider for each
request.

Run:  .venv/bin/python benchmarks/bench_match.py [--time-limit 60] [--scales kent-y3,somerset]
      [--conditions idle,busy]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def busy_processes() -> list[subprocess.Popen]:
    """A competing CPU-heavy load: one process spinning on each core."""
    spin = "while True:\n    pass\n"
    return [
        subprocess.Popen([sys.executable, "-c", spin]) for _ in range(max(1, os.cpu_count() or 1))
    ]


def run_match(prov: Path, people: Path, out: Path, limit: float) -> tuple[float, dict]:
    """Wall seconds of the whole ``gapmap match`` command and its ``summary.json``."""
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "gapmap", "match", "--providers", str(prov), "--people",
         str(people), "--out", str(out), "--time-limit", f"{limit:g}"],
        capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"gapmap match failed:\n{r.stdout}\n{r.stderr}")
    return wall, json.loads((out / "summary.json").read_text())


def matches_of(out: Path, study) -> dict:
    """The matching a run wrote (``matches.csv``), as positions in the registers."""
    import pandas as pd

    from gapmap.matching.result import Match

    table = pd.read_csv(out / "matches.csv", dtype=str, keep_default_na=False)
    person = {pid: i for i, pid in enumerate(study.people["person_id"].astype(str))}
    provider = {vid: i for i, vid in enumerate(study.providers["provider_id"].astype(str))}
    at = lambda v: provider[v] if v else -1  # noqa: E731
    return {
        person[r.person_id]: Match(
            at(r.provider_id), at(r.partner_provider_id), at(r.cover_provider_id), 0.0, 0.0
        )  # fmt: skip
        for r in table.itertuples()
        if r.status == "matched"
    }


def journeys_line(name: str, j: dict, bound: float | None, tight: bool) -> str:
    r = j["km_by_role"]
    line = (
        f"    {name:<7} journeys {j['km_total']:>7,} km (provider {r['provider']:,}, partner "
        f"{r['partner']:,}, cover {r['cover']:,}); {j['mean_km_per_person']:.2f} km per person, "
        f"{j['mean_km_to_provider']:.2f} km to provider (nearest "
        f"{j['mean_km_to_nearest_provider']:.2f}), {j['share_with_nearest_provider']:.0%} with "
        "their nearest"
    )
    if bound:
        line += (
            f"; distance LP bound {bound:,.0f} km{'' if tight else ' (not converged)'}, "
            f"{j['km_total'] / bound - 1:+.1%} over it"
        )
    return line


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--scales", default="kent-y3,somerset")
    ap.add_argument("--conditions", default="idle,busy")
    ap.add_argument("--requests", type=int, default=300)
    args = ap.parse_args()

    from gapmap.demo import SCALES, write_demo_registers
    from gapmap.matching.bound import relaxation_bound
    from gapmap.matching.candidates import build_candidates
    from gapmap.matching.greedy import greedy_match
    from gapmap.matching.journeys import distance_bound, journey_figures
    from gapmap.matching.person import person_request
    from gapmap.matching.suggest import Suggester
    from gapmap.publish.tables import published_journeys
    from gapmap.reach import room_units
    from gapmap.settings import Settings
    from gapmap.study import Study, StudyInputs

    last = None
    with tempfile.TemporaryDirectory() as tmp:
        for scale in args.scales.split(","):
            size = SCALES[scale]
            p, q = write_demo_registers(Path(tmp) / scale, providers=size.providers,
                                        people=size.people)  # fmt: skip
            study = Study.read(
                StudyInputs(providers=p, people=q),
                settings=Settings(match_time_limit_s=args.time_limit),
            )
            print(f"\n{scale}: {len(study.people):,} people, {len(study.providers):,} providers, "
                  f"time limit {args.time_limit:g} s", flush=True)  # fmt: skip
            runs = []
            for condition in args.conditions.split(","):
                spinners = busy_processes() if condition == "busy" else []
                try:
                    time.sleep(3 if spinners else 0)  # let the load show
                    load = os.getloadavg()[0]
                    wall, summary = run_match(p, q, Path(tmp) / f"{scale}-{condition}",
                                              args.time_limit)  # fmt: skip
                finally:
                    for s in spinners:
                        s.kill()
                        s.wait()
                runs.append((condition, load, wall, summary))
            # outside the timed runs: the LP bound of objective (1), the greedy pass exactly
            options = build_candidates(
                study.people, study.providers, study.reach,
                allow_without_cover=study.settings.allow_without_cover, in_area=study.in_area,
            )  # fmt: skip
            room = room_units(study.providers)
            t_lp = time.perf_counter()
            lp, done = relaxation_bound(options, room, study.settings)
            lp_s = time.perf_counter() - t_lp
            greedy = greedy_match(study.people, study.providers, options, study.settings)
            greedy.details["journeys"] = journey_figures(greedy.matches, options)
            g_bound, g_tight = distance_bound(greedy.matches, options, room, study.settings)
            print(f"  LP bound of objective (1): {lp:,.0f} urgency-weighted hours"
                  f"{'' if done else ' (not converged)'} [{lp_s:.0f} s]; greedy "
                  f"{greedy.objective:,.0f} = {greedy.objective / lp:.1%} of it, "
                  f"{len(greedy.matches):,} matched")  # fmt: skip
            print(journeys_line("greedy", published_journeys(greedy), g_bound, g_tight))
            for condition, load, wall, s in runs:
                obj = s["objective_priority_hours"]
                print(f"  {condition:<5} load {load:4.1f}: wall {wall:5.1f} s (limit "
                      f"{args.time_limit:g}, {wall - args.time_limit:+.1f}), summary wall_seconds "
                      f"{s['wall_seconds']}; objective {obj:,.0f} = {obj / lp:.1%} of the LP "
                      f"bound ({s['share_of_best_possible']:.1%} of the run's own), "
                      f"{obj / greedy.objective - 1:+.1%} on greedy; {s['matched_people']:,} "
                      "matched")  # fmt: skip
                j = s["journeys"]
                print(journeys_line("gapmap", j, j["lower_bound_km"], j["lower_bound_is_tight"])
                      + " (the run's own bound)")  # fmt: skip
                chosen = matches_of(Path(tmp) / f"{scale}-{condition}", study)
                t_d = time.perf_counter()
                b, tight = distance_bound(chosen, options, room, study.settings)
                print(f"            the same people's distance LP solved to the end: {b:,.0f} km"
                      f"{'' if tight else ' (not converged)'} [{time.perf_counter() - t_d:.0f} s]"
                      f"; gapmap's journeys {j['km_total'] / b - 1:+.1%} over it")  # fmt: skip
            last = study

    if last is None or args.requests <= 0:
        return 0
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
