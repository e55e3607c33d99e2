"""Writing the results of an analysis to a folder: the files SPEC.md promises, safely.

Published files (meant to be shared) carry only suppressed figures; exact figures go to files
whose names start ``internal_`` and only when asked.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from gapmap.publish.disclosure import Suppression
from gapmap.publish.explore import gap_folium_map
from gapmap.publish.export import write_csv, write_gpkg
from gapmap.publish.mapplaces import search_places
from gapmap.publish.maps import ATTRIBUTION, save_map
from gapmap.publish.pictures import gap_map_png
from gapmap.publish.provenance import caption
from gapmap.publish.published import published_of, published_recruitment_of
from gapmap.publish.tables import match_summary

__all__ = [
    "ABOUT_FILE",
    "AUDIENCE",
    "INDEX_FILE",
    "PURPOSE",
    "write_index",
    "write_about",
    "write_gap_map",
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
    "gaps.xlsx": PUBLISHED + "; districts and county rows are suppressed totals",
    "gaps.gpkg": PUBLISHED,
    "gapmap.gpkg": PUBLISHED + "; every layer of the run, styled for QGIS",
    "gap_map.html": PUBLISHED,
    "gap_map.png": PUBLISHED,
    "summary.json": PUBLISHED + "; county totals of the matching run only",
    "recruit_areas.csv": PUBLISHED,
    "recruit_areas.gpkg": PUBLISHED,
    "recruit_sites.csv": PUBLISHED + "; sites are points of areas, not addresses",
    "recruit_scenarios.csv": PUBLISHED,
    "recruit.xlsx": PUBLISHED,
    "recruit_scenarios.png": PUBLISHED,
    "recruit_map.html": PUBLISHED,
    "report.pdf": PUBLISHED + "; a few pages for a committee",
    "report.docx": PUBLISHED + "; the same report to paste into a committee template",
    "deprivation.csv": PUBLISHED + "; unmet hours by IMD decile",
    "deprivation.png": PUBLISHED,
    "compare_areas.csv": PUBLISHED + "; differences of published figures only",
    "compare_districts.csv": PUBLISHED + "; differences of published figures only",
    "compare.txt": PUBLISHED,
    "compare_map.html": PUBLISHED,
    "matches.csv": INTERNAL_STAFF,
    "mail_merge.csv": INTERNAL_STAFF + "; names and contacts for letters and calls",
    "mail_merge.xlsx": INTERNAL_STAFF + "; the same as a workbook",
    "register.db": INTERNAL_STAFF + " (gapmap demo: the register database, referrals held)",
    "internal_gaps_exact.csv": INTERNAL_EXACT,
    "services.json": PUBLISHED + "; the providers as an Open Referral UK v3.0 /services page "
    "(businesses' public details only)",
    "taxonomy.json": PUBLISHED + "; the gapmap taxonomy of services (Open Referral UK v3.0)",
    "directory_extra.csv": "INTERNAL: capacity, booked hours, cover, CQC and check dates by "
    "service id, to read the feed back (--directory-extra); for the team that keeps the register",
    "internal_checks_due.csv": "INTERNAL: insurance and DBS checks due soon or overdue; for the "
    "team that keeps the providers register",
    "internal_checks_due.xlsx": "INTERNAL: the same as a workbook (sheet 'Checks due')",
    # the cover plan (gapmap cover) and N-1 resilience (gapmap resilience)
    "cover_plan.csv": INTERNAL_STAFF,
    "cover_plan.xlsx": INTERNAL_STAFF,
    "cover_calls.csv": INTERNAL_STAFF,
    "cover_calls.txt": INTERNAL_STAFF,
    "cover_summary.json": INTERNAL_STAFF,
    "resilience.csv": PUBLISHED + "; hours uncovered if one provider were off (N-1)",
    "resilience.xlsx": PUBLISHED + "; hours uncovered if one provider were off (N-1)",
    "internal_providers_n1.csv": INTERNAL_EXACT,
}
ABOUT_FILE = "ABOUT_THESE_FILES.txt"
#: The folder's "start here" page (issue 31, item 9).
INDEX_FILE = "index.html"
#: What each file is for, in one sentence, in the order to open them.
PURPOSE: dict[str, str] = {
    "report.pdf": "Start here: the committee paper (key messages, map, districts, largest gaps, "
    "recruitment options, matching, methods and sources), an accessible tagged PDF.",
    "report.docx": "The same committee paper as a Word document, to paste into a committee "
    "template.",
    "gap_map.html": "The interactive map of unmet hours by area, to open in a web browser "
    "(works offline).",
    "gaps.xlsx": "The area and district tables in words, ready to print, with notes on every "
    "column.",
    "recruit_map.html": "The interactive map of where to recruit, opening on the recommended "
    "option.",
    "recruit.xlsx": "The recruitment options, priority areas and sites, ready to print.",
    "gap_map.png": "A picture of the gap map for slides and papers.",
    "recruit_scenarios.png": "A picture of the recruitment options for slides and papers.",
    "deprivation.png": "A picture of unmet hours by deprivation decile.",
    "gapmap.gpkg": "Every map layer of the run in one file for QGIS or ArcGIS, styled.",
    "gaps.csv": "The area table as data (one row per area) for analysts.",
    "gaps.gpkg": "The area table with boundaries, for GIS.",
    "deprivation.csv": "Unmet hours by deprivation decile as data.",
    "recruit_areas.csv": "Every area ranked for recruitment, with the reason, as data.",
    "recruit_areas.gpkg": "The ranked areas with boundaries, for GIS.",
    "recruit_sites.csv": "The recommended sites of every option as data.",
    "recruit_scenarios.csv": "The recruitment options as data.",
    "summary.json": "The county figures of the matching run, for other systems.",
    "compare.txt": "What changed between two runs, in words.",
    "compare_areas.csv": "What changed in each area between two runs.",
    "compare_districts.csv": "What changed in each district between two runs.",
    "compare_map.html": "The map of what changed between two runs.",
    "resilience.xlsx": "How many hours would go uncovered if any one provider were off, "
    "ready to print.",
    "resilience.csv": "The same resilience figures (one provider off at a time) as data.",
    "services.json": "The providers as an Open Referral UK directory feed, for other "
    "directories and apps.",
    "taxonomy.json": "The services' vocabulary for the Open Referral UK feed.",
    "matches.csv": "Who was matched to which provider, partner and cover: for the staff who "
    "arrange care.",
    "mail_merge.csv": "Names and contacts of the matches, for letters and calls by the staff "
    "who arrange care.",
    "mail_merge.xlsx": "The same mail-merge list as a workbook.",
    "cover_plan.xlsx": "The cover plan: who steps in for whom, on which days, while a provider "
    "is away.",
    "cover_plan.csv": "The cover plan as data.",
    "cover_calls.txt": "The calls to make to put the cover plan in place, in words.",
    "cover_calls.csv": "The same calls as data.",
    "cover_summary.json": "The cover plan's totals, for other systems.",
    "register.db": "The register database the demo's signposting page works from.",
    "directory_extra.csv": "The register's private details (capacity, booked hours, checks) "
    "to read the directory feed back in.",
    "internal_checks_due.xlsx": "Providers whose insurance or DBS check is due soon or overdue.",
    "internal_checks_due.csv": "The same checks due as data.",
    "internal_providers_n1.csv": "Each provider's exact share of the resilience figures: for "
    "the analysts who check the work.",
    "internal_gaps_exact.csv": "The area table with exact, unsuppressed figures: for the "
    "analysts who check the work.",
}


_ABOUT_HEAD = "Files written by gapmap, and who may see them."


def write_about(out_dir: str | Path, rule: Suppression | None = None) -> Path:
    """Write ``ABOUT_THESE_FILES.txt``: each gapmap file in the folder and who may see it.

    Parameters
    ----------
    out_dir
        The output folder.
    rule
        The suppression rule the published files follow, said in words. None keeps the words
        already in the folder's file (written with the published files), else the default rule.

    Returns
    -------
    Path
    """
    import textwrap

    from gapmap.publish.export import write_text

    out = Path(out_dir)
    present = [name for name in AUDIENCE if (out / name).exists()]
    width = max((len(n) for n in present), default=0)
    words = textwrap.wrap(
        f"Published files follow the small-number suppression of SPEC.md "
        f"({_rule_words(out, rule)}).",
        90,
        break_on_hyphens=False,
    )
    lines = [_ABOUT_HEAD, *words, ""] + [f"{name:<{width}}  {AUDIENCE[name]}" for name in present]
    path = write_text("\n".join(lines) + "\n", out / ABOUT_FILE)
    write_index(out, rule)
    return path


def _rule_words(out: Path, rule: Suppression | None) -> str:
    """The rule in words: ``rule``'s own, else those of the about file gapmap wrote in ``out``
    with the published files (a folder's commit rewrites it knowing only the files), else the
    default rule's."""
    if rule is not None:
        return rule.describe()
    try:
        text = " ".join((out / ABOUT_FILE).read_text(encoding="utf-8").split("\n\n")[0].split())
    except (OSError, UnicodeDecodeError):
        text = ""
    m = re.search(r"Published files follow the small-number suppression of SPEC\.md \((.*)\)\.$",
                  text)  # fmt: skip
    return m.group(1) if m else Suppression().describe()


def write_index(out_dir: str | Path, rule: Suppression | None = None) -> Path:
    """Write ``index.html``, the folder's "start here" page: each file, what it is for and
    who may see it (published or internal), in the order to open them. Every text escaped.

    Parameters
    ----------
    out_dir
        The output folder.
    rule
        The suppression rule the published files follow (None: as the folder's about file
        says, else the default rule).

    Returns
    -------
    Path
    """
    import datetime as dt
    from html import escape
    from urllib.parse import quote

    from gapmap.publish.export import write_text

    out = Path(out_dir)
    order = list(PURPOSE) + [n for n in AUDIENCE if n not in PURPOSE]
    present = [n for n in order if n in AUDIENCE and (out / n).exists()]
    published = [n for n in present if not AUDIENCE[n].startswith("INTERNAL")]
    internal = [n for n in present if AUDIENCE[n].startswith("INTERNAL")]

    def rows(names: list[str]) -> str:
        return "\n".join(
            f'<tr><th scope="row"><a href="{escape(quote(n))}">{escape(n)}</a></th>'
            f"<td>{escape(PURPOSE.get(n, ''))}</td><td>{escape(AUDIENCE[n])}</td></tr>"
            for n in names
        )

    head = (
        '<tr><th scope="col">File</th><th scope="col">What it is for</th>'
        '<th scope="col">Who may see it</th></tr>'
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en-GB"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>gapmap outputs: start here</title>",
        "<style>body{font:16px/1.5 system-ui,sans-serif;margin:1.5em;max-width:70em;color:#0b0c0c}"
        "table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #b1b4b6;"
        "padding:.4em;text-align:left;vertical-align:top}.internal{background:#fff4e5;"
        "border-left:5px solid #d4351c;padding:.5em 1em}"
        "a:focus{outline:3px solid #fd0}</style></head><body>",
        "<h1>gapmap outputs: start here</h1>",
        f"<p>Files of the run made {escape(dt.date.today().strftime('%-d %B %Y'))}. Published "
        f"files follow the small-number rule ({escape(_rule_words(out, rule))}) and may be "
        "shared.</p>",
    ]
    if published:
        parts += [
            "<h2>Published: may be shared</h2>",
            f"<table>{head}\n{rows(published)}</table>",
        ]
    if internal:
        parts += [
            '<h2>Internal: not to be shared</h2><p class="internal">These files hold people\'s '
            "ids or exact figures. Keep them to the staff named; never attach them to a "
            "committee paper.</p>",
            f"<table>{head}\n{rows(internal)}</table>",
        ]
    parts.append("</body></html>")
    return write_text("\n".join(parts) + "\n", out / INDEX_FILE)


def write_gap_map(
    result,
    out_dir: str | Path,
    *,
    title: str = "gapmap: micro-provider gaps",
    resilience: pd.DataFrame | None = None,
) -> Path:
    """Write ``gap_map.html``: :func:`gapmap.publish.explore.gap_folium_map` saved, with the N−1
    layers when ``resilience`` is given.

    Parameters
    ----------
    result
        The run's :class:`~gapmap.publish.published.Published` (or a
        :class:`~gapmap.gaps.GapResult`, published here).
    out_dir
        The folder.
    title
        The map's title.
    resilience
        N−1 by area as published (:func:`gapmap.publish.cover.publish_resilience`).

    Returns
    -------
    Path
    """
    m = gap_folium_map(published_of(result), title=title, resilience=resilience)
    path = Path(out_dir) / "gap_map.html"
    save_map(m, path)
    return path


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
        The run's :class:`~gapmap.publish.published.Published` (or a
        :class:`~gapmap.gaps.GapResult`, published here with its study's suppression rule).
    out_dir
        The folder.
    internal
        Also write ``internal_gaps_exact.csv`` (exact figures: not to be shared), and
        ``internal_checks_due.xlsx`` when the register records insurance or DBS dates.
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
    pub = published_of(result)
    result, rule = pub.result, pub.rule
    paths = {
        "gaps.csv": write_csv(pub.table, out / "gaps.csv"),
        "gaps.gpkg": write_gpkg(pub.areas, out / "gaps.gpkg", layer="gaps"),
    }
    study = result.study
    line = caption(study.sources)
    paths["gap_map.html"] = write_gap_map(pub, out, title=title)
    if png:
        gap_map_png(
            pub.areas, pub.providers, out / "gap_map.png", title=title, caption=line,
            source=ATTRIBUTION, rule=rule,
        )  # fmt: skip
        paths["gap_map.png"] = out / "gap_map.png"
    dep = pub.deprivation
    if dep is not None:
        from gapmap.publish.pictures import deprivation_chart_png

        paths["deprivation.csv"] = write_csv(dep, out / "deprivation.csv")
        deprivation_chart_png(
            dep, out / "deprivation.png", title="Unmet hours by deprivation (IMD decile)"
        )
        paths["deprivation.png"] = out / "deprivation.png"
    from gapmap.publish.workbook import write_gaps_workbook

    paths["gaps.xlsx"] = write_gaps_workbook(pub, out / "gaps.xlsx")
    paths["gapmap.gpkg"] = write_run_geopackage(out / "gapmap.gpkg", result=pub, keep=False)
    if internal:
        exact = pd.DataFrame(result.table.drop(columns=result.table.geometry.name))
        paths["internal_gaps_exact.csv"] = write_csv(exact, out / "internal_gaps_exact.csv")
        checks = [c for c in ("insurance_until", "dbs_checked_on") if c in study.providers]
        if any((study.providers[c].astype(str) != "").any() for c in checks):
            from gapmap.io.provider_checks import DUE_WITHIN_DAYS, checks_due
            from gapmap.publish.workbook import write_checks_workbook

            years = study.settings.dbs_valid_years
            due = checks_due(study.providers, dbs_valid_years=years)
            name = "internal_checks_due.xlsx"
            paths[name] = write_checks_workbook(
                due, out / name, within_days=DUE_WITHIN_DAYS, years=years
            )
    paths[ABOUT_FILE] = write_about(out, rule)
    return paths


PROVIDER_FIELDS = [
    "provider_id", "name", "services", "days", "capacity_hours", "committed_hours",
    "max_travel_km", "cover", "cqc_registered", "phone", "email", "website", "area_code",
]  # fmt: skip


def write_run_geopackage(
    path: Path, *, result=None, rec=None, ranking=None, sites=None, keep: bool = True
) -> Path:
    """Write the run's layers into ``gapmap.gpkg`` with descriptions and QGIS styles.

    Parameters
    ----------
    path
        The file.
    result
        A gap analysis (its :class:`~gapmap.publish.published.Published`, or a
        :class:`~gapmap.gaps.GapResult`): writes ``areas``, ``districts`` and ``providers``.
    rec, ranking, sites
        A recruitment with its published ranking and sites: writes ``recruitment_areas`` and
        ``recruitment_sites``.
    keep
        Keep the file's other layers (recruitment after gaps in one run).

    Returns
    -------
    Path
    """
    import geopandas as gpd

    from gapmap.publish.geopackage import (
        LayerSpec,
        areas_style,
        outline_style,
        point_style,
        priority_style,
    )
    from gapmap.publish.palette import MARKERS, hour_classes

    layers: dict[str, LayerSpec] = {}
    if result is not None:
        published = published_of(result)
        rule, pub = published.rule, published.areas
        classes = hour_classes(
            pub["unmet_hours"], title="Unmet hours a week", explain="", rule=rule
        )
        layers["areas"] = LayerSpec(
            pub,
            "Need, unmet hours, coverage, weekend and rural gaps per area (published: "
            f"{rule.describe()}).",
            areas_style("unmet_hours", classes),
        )
        shapes = pub[["district", pub.geometry.name]].copy()
        shapes["district"] = shapes["district"].fillna("").replace("", "(no district)")
        shapes = shapes.dissolve(by="district", as_index=False)
        layers["districts"] = LayerSpec(
            shapes.merge(published.districts, on="district", how="left"),
            "District outlines with their totals (suppressed like the workbook).",
            outline_style(),
        )
        prov = published.providers
        if len(prov):
            cols = [c for c in PROVIDER_FIELDS if c in prov]
            pts = gpd.GeoDataFrame(
                prov[cols].reset_index(drop=True),
                geometry=gpd.points_from_xy(prov["x"], prov["y"]),
                crs=pub.crs,
            )
            layers["providers"] = LayerSpec(
                pts,
                "Micro-providers as published in the register, at their postcode's centre.",
                point_style(*MARKERS["provider"], 2.2),
            )
    if rec is not None and ranking is not None:
        n_ranked = int(ranking["priority_rank"].notna().sum())
        layers["recruitment_areas"] = LayerSpec(
            ranking.assign(priority_rank=ranking["priority_rank"].astype("float")),
            "Areas by priority for recruiting micro-providers, with what the largest scenario "
            "does for each (published).",
            priority_style("priority_rank", n_ranked),
        )
        if sites is not None and len(sites):
            crs = ranking.crs
            layers["recruitment_sites"] = LayerSpec(
                gpd.GeoDataFrame(
                    sites.reset_index(drop=True),
                    geometry=gpd.points_from_xy(sites["easting"], sites["northing"]),
                    crs=crs,
                ),
                "Recommended sites of every scenario (points inside areas, not addresses); "
                "filter on new_providers for one scenario.",
                point_style(*MARKERS["site"], 3.5),
            )
    from gapmap.publish.geopackage import write_geopackage

    return write_geopackage(path, layers, keep=keep)


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

    from gapmap.publish.export import write_text

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
    paths[ABOUT_FILE] = write_about(out, study.settings.suppression)
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
        The recruitment's :class:`~gapmap.publish.published.PublishedRecruitment` (or a
        :class:`~gapmap.recruitment.targeting.RecruitResult`, published here).
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
    from gapmap.publish.maps import recruit_map
    from gapmap.publish.pictures import scenario_chart_png

    pub = published_recruitment_of(rec, study)  # sites with a place an officer knows
    rec, rule = pub.rec, pub.rule
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ranking, sites, scen = pub.ranking, pub.sites, pub.scenarios
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
    places = search_places(study) if study is not None else None
    scenario_chart_png(scen, out / "recruit_scenarios.png", title=title, caption=line)
    paths["recruit_scenarios.png"] = out / "recruit_scenarios.png"
    m = recruit_map(
        ranking, providers, sites, title=title, caption=line, places=places,
        recommended=rec.recommended, rule=rule,
    )  # fmt: skip
    save_map(m, out / "recruit_map.html")
    if study is not None:
        from gapmap.publish.workbook import write_recruit_workbook

        paths["recruit.xlsx"] = write_recruit_workbook(pub, out / "recruit.xlsx", study)
        paths["gapmap.gpkg"] = write_run_geopackage(
            out / "gapmap.gpkg", rec=rec, ranking=ranking, sites=sites
        )
    paths["recruit_map.html"] = out / "recruit_map.html"
    paths[ABOUT_FILE] = write_about(out, rule)
    return paths
