"""Writing the results of an analysis to a folder: the files SPEC.md promises, safely.

Published files (meant to be shared) carry only suppressed figures; exact figures go to files
whose names start ``internal_`` and only when asked.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .export import write_csv, write_gpkg
from .maps import ATTRIBUTION, gap_map, save_map
from .pictures import gap_map_png
from .provenance import caption, postcode_districts
from .tables import match_summary, publish_gaps, publish_ranking, publish_scenarios, publish_sites

__all__ = [
    "ABOUT_FILE",
    "AUDIENCE",
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
    result,
    out_dir: str | Path,
    *,
    internal: bool = False,
    title: str = "gapmap: micro-provider gaps",
    png: bool = True,
) -> dict[str, Path]:
    """Write the gap analysis: ``gaps.csv``, ``gaps.gpkg``, ``gap_map.html``, ``gap_map.png``.

    Parameters
    ----------
    result
        A :class:`~gapmap.gaps.GapResult`; its study's settings hold the suppression rule.
    out_dir
        The folder.
    internal
        Also write ``internal_gaps_exact.csv`` (exact figures: not to be shared).
    title
        The maps' title.
    png
        Also draw the static map.

    Returns
    -------
    dict
        The paths written, by name.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rule = result.study.settings.suppression
    published = publish_gaps(result.table, rule)
    table = pd.DataFrame(published.drop(columns=published.geometry.name))
    paths = {
        "gaps.csv": write_csv(table, out / "gaps.csv"),
        "gaps.gpkg": write_gpkg(published, out / "gaps.gpkg", layer="gaps"),
    }
    study = result.study
    line = caption(study.sources)
    m = gap_map(
        published,
        result.providers,
        title=title,
        caption=line,
        places=postcode_districts(study.directory, study.areas),
        weekend_weight=study.settings.weekend_weight,
        rural_weight=study.settings.rural_weight,
    )
    save_map(m, out / "gap_map.html")
    paths["gap_map.html"] = out / "gap_map.html"
    if png:
        gap_map_png(
            published, result.providers, out / "gap_map.png", title=title, caption=line,
            source=ATTRIBUTION,
        )  # fmt: skip
        paths["gap_map.png"] = out / "gap_map.png"
    if internal:
        exact = pd.DataFrame(result.table.drop(columns=result.table.geometry.name))
        paths["internal_gaps_exact.csv"] = write_csv(exact, out / "internal_gaps_exact.csv")
    paths[ABOUT_FILE] = write_about(out)
    return paths


def write_match_outputs(result, greedy, study, out_dir) -> dict[str, Path]:
    """Write ``matches.csv`` (internal: person ids) and ``summary.json`` (published).

    Parameters
    ----------
    result, greedy
        The optimised and greedy matchings.
    study
        The study matched.
    out_dir
        The folder.

    Returns
    -------
    dict
        The paths written, by name.
    """
    import json
    import math

    from .export import write_text

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dist = result.details.get("distance_of", {})

    def distance(p: int, v: int) -> float:
        return dist.get(p, {}).get(v, math.nan)

    table = result.table(study.people, study.providers, distance)
    summary = match_summary(result, greedy, study)
    paths = {
        "matches.csv": write_csv(table, out / "matches.csv"),
        "summary.json": write_text(json.dumps(summary, indent=2) + "\n", out / "summary.json"),
    }
    paths[ABOUT_FILE] = write_about(out)
    return paths


def write_recruit_outputs(
    rec,
    providers: pd.DataFrame,
    out_dir: str | Path,
    *,
    title: str = "gapmap: where to recruit micro-providers",
    study=None,
) -> dict[str, Path]:
    """Write the recruitment outputs, all published (suppressed; no person's id or place).

    ``recruit_areas.csv`` and ``.gpkg`` (every area ranked, with the reason),
    ``recruit_sites.csv`` (the chosen sites of every scenario), ``recruit_scenarios.csv`` and
    ``recruit_scenarios.png`` (one row/bar per number of new providers), ``recruit_map.html``.

    Parameters
    ----------
    rec
        A :class:`~gapmap.recruitment.RecruitResult`.
    providers
        The existing providers (shown on the map).
    out_dir
        The folder.
    title
        The map's and chart's title.
    study
        The study recruited for (its sources go under the titles; its postcode districts into
        the map's search).

    Returns
    -------
    dict
        The paths written, by name.
    """
    from .maps import recruit_map
    from .pictures import scenario_chart_png

    rule = rec.settings.suppression
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ranking = publish_ranking(rec, rule)
    sites = publish_sites(rec.sites, rule)
    scen = publish_scenarios(rec.scenarios, rule)
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
    line = caption(study.sources) if study is not None else ""
    places = postcode_districts(study.directory, study.areas) if study is not None else None
    scenario_chart_png(scen, out / "recruit_scenarios.png", title=title, caption=line)
    paths["recruit_scenarios.png"] = out / "recruit_scenarios.png"
    m = recruit_map(ranking, providers, sites, title=title, caption=line, places=places)
    save_map(m, out / "recruit_map.html")
    paths["recruit_map.html"] = out / "recruit_map.html"
    paths[ABOUT_FILE] = write_about(out)
    return paths
