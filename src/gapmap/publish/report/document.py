"""The committee report as blocks (:func:`report_blocks`), from the published figures only.

The order is a committee paper's: key messages first; the map; districts and the largest
gaps; weekends, rural areas and deprivation; matching and cover; recruitment
(:mod:`~gapmap.publish.report.recruitment`); methods and sources
(:mod:`~gapmap.publish.report.methods`).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from gapmap.publish.figures import headline_figures, percent, whole
from gapmap.publish.published import published_of, published_recruitment_of
from gapmap.publish.report.blocks import (
    TOP_GAPS,
    Block,
    _days,
    _map_png,
    _money,
    _package_version,
)
from gapmap.publish.report.methods import _methods_blocks
from gapmap.publish.report.recruitment import _recruit_blocks

__all__ = ["report_blocks"]


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
