"""Writing the results of an analysis to a folder: the files SPEC.md promises, safely.

Published files (meant to be shared) carry only suppressed figures; exact figures go to files
whose names start ``internal_`` and only when asked.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .disclosure import Suppression
from .export import write_csv, write_gpkg
from .gaps import GapResult, publish_gaps
from .maps import gap_map, gap_map_png, save_map

__all__ = [
    "ABOUT_FILE",
    "AUDIENCE",
    "match_summary",
    "write_about",
    "write_gap_outputs",
    "write_match_outputs",
    "write_recruit_outputs",
]

PUBLISHED = "published: may be shared (suppressed counts; no person's id, postcode or place)"
INTERNAL_STAFF = (
    "INTERNAL: person ids and who was matched to whom; only for staff who may see the people "
    "register"
)
INTERNAL_EXACT = (
    "INTERNAL: exact figures, small counts not suppressed; only for the commissioning analysts "
    "who may see the registers"
)
#: Every file gapmap writes into an output folder, and who may see it.
AUDIENCE: dict[str, str] = {
    "gaps.csv": PUBLISHED,
    "gaps.gpkg": PUBLISHED,
    "gap_map.html": PUBLISHED,
    "gap_map.png": PUBLISHED,
    "summary.json": PUBLISHED + "; county totals of the matching run only",
    "recruit_areas.csv": PUBLISHED,
    "recruit_areas.gpkg": PUBLISHED,
    "recruit_sites.csv": PUBLISHED + "; sites are points of areas, not addresses",
    "recruit_scenarios.csv": PUBLISHED,
    "recruit_scenarios.png": PUBLISHED,
    "recruit_map.html": PUBLISHED,
    "matches.csv": INTERNAL_STAFF,
    "internal_gaps_exact.csv": INTERNAL_EXACT,
}
ABOUT_FILE = "ABOUT_THESE_FILES.txt"


def write_about(out_dir: str | Path) -> Path:
    """Write ``ABOUT_THESE_FILES.txt``: each gapmap file in the folder and who may see it."""
    from .export import write_text

    out = Path(out_dir)
    present = [name for name in AUDIENCE if (out / name).exists()]
    width = max((len(n) for n in present), default=0)
    lines = [
        "Files written by gapmap, and who may see them.",
        "Published files follow the small-number suppression of SPEC.md (counts of 1-7 people",
        "in an area shown as *, their hours withheld, other figures rounded to 5).",
        "",
    ] + [f"{name:<{width}}  {AUDIENCE[name]}" for name in present]
    return write_text("\n".join(lines) + "\n", out / ABOUT_FILE)


def write_gap_outputs(
    result: GapResult,
    out_dir: str | Path,
    *,
    internal: bool = False,
    rule: Suppression = Suppression(),
    title: str = "gapmap: micro-provider gaps in Kent",
    png: bool = True,
) -> dict[str, Path]:
    """Write ``gaps.csv``, ``gaps.gpkg``, ``gap_map.html`` and ``gap_map.png`` (published), and
    with ``internal=True`` also ``internal_gaps_exact.csv`` (exact figures: not to be shared).

    Returns the paths written, by name.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    published = publish_gaps(result.table, rule)
    table = pd.DataFrame(published.drop(columns=published.geometry.name))
    paths = {
        "gaps.csv": write_csv(table, out / "gaps.csv"),
        "gaps.gpkg": write_gpkg(published, out / "gaps.gpkg", layer="gaps"),
    }
    m = gap_map(published, result.providers, title=title)
    save_map(m, out / "gap_map.html")
    paths["gap_map.html"] = out / "gap_map.html"
    if png:
        gap_map_png(published, result.providers, out / "gap_map.png", title=title)
        paths["gap_map.png"] = out / "gap_map.png"
    if internal:
        exact = pd.DataFrame(result.table.drop(columns=result.table.geometry.name))
        paths["internal_gaps_exact.csv"] = write_csv(exact, out / "internal_gaps_exact.csv")
    paths[ABOUT_FILE] = write_about(out)
    return paths


def match_summary(result, greedy, people: pd.DataFrame, settings) -> dict:
    """The honest account of a batch matching, as written to ``summary.json``."""
    from collections import Counter

    matched_hours = float(sum(people["hours"].iloc[p] for p in result.matches))
    gap = result.gap
    return {
        "people": int(len(people)),
        "matched_people": len(result.matches),
        "matched_hours": round(matched_hours, 2),
        "unmatched_by_reason": dict(sorted(Counter(result.reasons.values()).items())),
        "objective_priority_hours": round(result.objective, 2),
        "best_bound": None if result.best_bound is None else round(result.best_bound, 2),
        "optimality_gap": None if gap is None else round(gap, 5),
        "solver_status": result.status,
        "solver": "OR-Tools CP-SAT, started from an LP-rounded (GLOP) or greedy solution",
        "seconds": round(result.seconds, 2),
        "distance_km_all_roles": round(result.distance_km, 2),
        "greedy_baseline": {
            "matched_people": len(greedy.matches),
            "objective_priority_hours": round(greedy.objective, 2),
            "distance_km_all_roles": round(greedy.distance_km, 2),
        },
        "optimised_over_greedy": (
            round(result.objective / greedy.objective, 4) if greedy.objective else None
        ),
        "regions": result.details.get("regions"),
        "variables": result.details.get("variables"),
        "settings": {
            "absence_rate": settings.absence_rate,
            "allow_without_cover": settings.allow_without_cover,
            "candidates_per_role": settings.max_candidates,
            "time_limit_s": settings.time_limit_s,
            "circuity": settings.circuity,
        },
        "note": "objective: sum of priority x weekly hours over matched people; the bound is "
        "for the model with the nearest candidates per role; matches.csv holds person ids and "
        "is internal: share it only with staff who may see the people register",
    }


def write_match_outputs(result, greedy, people, providers, settings, out_dir) -> dict[str, Path]:
    """Write ``matches.csv`` (internal: person ids) and ``summary.json``, atomically."""
    import json
    import math

    from .export import write_text

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dist = result.details.get("distance_of", {})

    def distance(p: int, v: int) -> float:
        return dist.get(p, {}).get(v, math.nan)

    table = result.table(people, providers, distance)
    summary = match_summary(result, greedy, people, settings)
    paths = {
        "matches.csv": write_csv(table, out / "matches.csv"),
        "summary.json": write_text(json.dumps(summary, indent=2) + "\n", out / "summary.json"),
    }
    paths[ABOUT_FILE] = write_about(out)
    return paths


def write_recruit_outputs(
    result,
    providers: pd.DataFrame,
    out_dir: str | Path,
    *,
    options=None,
    rule: Suppression = Suppression(),
    title: str = "gapmap: where to recruit micro-providers in Kent",
) -> dict[str, Path]:
    """Write the recruitment outputs, all published (suppressed; no person's id or place).

    ``recruit_areas.csv`` and ``.gpkg`` (every area ranked, with the reason),
    ``recruit_sites.csv`` (the chosen sites of every scenario), ``recruit_scenarios.csv`` and
    ``recruit_scenarios.png`` (one row/bar per number of new providers), ``recruit_map.html``.
    """
    from .maps import recruit_map, scenario_chart_png
    from .recruitment import RecruitOptions, publish_ranking, publish_scenarios, publish_sites

    options = options or RecruitOptions()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ranking = publish_ranking(result.areas, options, rule)
    sites = publish_sites(result.sites, rule)
    scen = publish_scenarios(result.scenarios, rule)
    paths = {
        "recruit_areas.csv": write_csv(
            pd.DataFrame(ranking.drop(columns=ranking.geometry.name)), out / "recruit_areas.csv"
        ),
        "recruit_areas.gpkg": write_gpkg(
            ranking, out / "recruit_areas.gpkg", layer="recruit_areas"
        ),
        "recruit_sites.csv": write_csv(sites, out / "recruit_sites.csv"),
        "recruit_scenarios.csv": write_csv(scen, out / "recruit_scenarios.csv"),
    }
    scenario_chart_png(scen, out / "recruit_scenarios.png", title=title)
    paths["recruit_scenarios.png"] = out / "recruit_scenarios.png"
    save_map(recruit_map(ranking, providers, sites, title=title), out / "recruit_map.html")
    paths["recruit_map.html"] = out / "recruit_map.html"
    paths[ABOUT_FILE] = write_about(out)
    return paths
