"""What the terminal says about a run: the same published figures as the files, in words.

Every count and hour figure printed for a published run follows the suppression rule
(:mod:`gapmap.publish.disclosure`): counts of 1-7 people as ``*``, others and hours rounded to
5, totals from exact values then rounded. Text from input files (names, ids) is cleaned of
control characters before it reaches a terminal (:func:`clean_text`), so a provider's name
cannot retitle or recolour the officer's terminal.
"""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd

from gapmap.publish.disclosure import (
    Suppression,
    published_count,
    published_hours,
    published_ratio,
    round_to,
)
from gapmap.safety import registration_words
from gapmap.vocab import days_words, hours_words, quarter_hours

__all__ = [
    "published_progress",
    "clean_text",
    "county_totals",
    "deprivation_lines",
    "gaps_summary",
    "match_lines",
    "placement_lines",
    "register_line",
    "recruit_lines",
    "suggestion_lines",
]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


def clean_text(value: object, width: int | None = None) -> str:
    """Text from an input file made safe to print.

    Parameters
    ----------
    value
        Any value (made text).
    width
        Clip to this many characters (with …), if given.

    Returns
    -------
    str
        Control and bidirectional-override characters replaced by ``?``.

    Examples
    --------
    >>> clean_text("Ann\x1b]0;pwned\x07 Care")
    'Ann?]0;pwned? Care'
    >>> clean_text("Sunrise Home Help", 10)
    'Sunrise H…'
    """
    text = _CONTROL.sub("?", str(value))
    if width is not None and len(text) > width:
        text = text[: width - 1] + "…"
    return text


_WEIGHTED = re.compile(r"([+-]?)(\d[\d,]*(?:\.\d+)?)( urgency-weighted hours)")
_MATCHED = re.compile(r"(\d[\d,]*)( matched)")


def published_progress(say, people: int, rule: Suppression):
    """A progress printer for a published run: the figures in the lines follow the rule.

    The matching says how it is going in urgency-weighted hours and counts of people matched;
    in a published run these are rounded to ``rule.base`` (counts of 1-7 as ``*``) and the
    hours withheld when the register holds 1-7 people, as in ``summary.json``.

    Parameters
    ----------
    say
        Where the lines go (e.g. the terminal's standard error).
    people
        How many people the run matches.
    rule
        The suppression rule.

    Returns
    -------
    callable
        ``say`` with the figures published.

    Examples
    --------
    >>> shown = []
    >>> say = published_progress(shown.append, 40, Suppression())
    >>> say("  3 matched, 18 urgency-weighted hours")
    >>> shown
    ['  * matched, 20 urgency-weighted hours']
    """
    held = bool(rule.hides([people])[0])

    def weighted(m: re.Match) -> str:
        if held:
            return "*" + m.group(3)
        v = float(round_to(float(m.group(2).replace(",", "")), rule.base))
        return f"{m.group(1)}{v:,.0f}{m.group(3)}"

    def published(msg: str) -> None:
        msg = _WEIGHTED.sub(weighted, msg)
        say(
            _MATCHED.sub(lambda m: _count(int(m.group(1).replace(",", "")), rule) + m.group(2), msg)
        )

    return published


def _hours(v: float, rule: Suppression) -> str:
    return f"{float(round_to(v, rule.base)):,.0f}"


def _published_share(unmet: float, need: float, rule: Suppression) -> float:
    """The share of need in reach from the rounded hours (as the published table has it)."""
    return float(
        published_ratio(round_to(unmet, rule.base), round_to(need, rule.base), complement=True)
    )


def _or_star(v: float, spec: str) -> str:
    """A published figure in words: ``*`` where it is withheld (NaN)."""
    return "*" if v != v else format(float(v), spec)


def _count(n: int, rule: Suppression) -> str:
    c = published_count(int(n), rule)
    return c if isinstance(c, str) else f"{c:,}"


def register_line(people: pd.DataFrame, rule: Suppression) -> str:
    """The waiting list in one line, as published (counts and hours rounded once, or ``*``).

    Parameters
    ----------
    people
        The people register.
    rule
        The suppression rule.

    Returns
    -------
    str
    """
    n = len(people)
    need = published_hours(float(people["hours"].sum()), n, rule)
    shown = published_count(n, rule)
    mean = "*" if need != need or not isinstance(shown, int) or not shown else f"{need / shown:.1f}"
    return (
        f"            need {'*' if need != need else f'{need:,.0f}'} h a week, mean {mean} h "
        f"per person; {_count(int((~people['self_directing']).sum()), rule)} cannot direct "
        f"their own care, {_count(int(people['regulated_care'].sum()), rule)} need regulated "
        "personal care (figures rounded)"
    )


def placement_lines(table: pd.DataFrame, rule: Suppression) -> list[str]:
    """The districts table of a run, as published: people as published counts, hours rounded to
    5 (withheld for 1-7 people).

    Parameters
    ----------
    table
        :func:`gapmap.io.placing.placement_summary` of the study.
    rule
        The suppression rule.

    Returns
    -------
    list of str
    """
    lines = [
        f"{'district':<24}{'areas':>7}{'providers':>11}{'capacity h':>12}{'people':>8}{'need h':>9}"
    ]
    rows = list(table.itertuples())
    tot = table.sum(numeric_only=True)
    for name, r in [(str(r.Index), r) for r in rows] + [("Total", None)]:
        areas = int(r.areas if r is not None else tot["areas"])
        provs = int(r.providers if r is not None else tot["providers"])
        cap = float(r.capacity_hours if r is not None else tot["capacity_hours"])
        people = int(r.people if r is not None else tot["people"])
        need = float(r.need_hours if r is not None else tot["need_hours"])
        shown_need = "*" if rule.hides([people])[0] else _hours(need, rule)
        lines.append(
            f"{clean_text(name, 24):<24}{areas:>7}{provs:>11}{cap:>12,.0f}"
            f"{_count(people, rule):>8}{shown_need:>9}"
        )
    return lines


def county_totals(t: pd.DataFrame, rule: Suppression) -> dict[str, float]:
    """The county's published totals of an exact gap table (one rule for terminal and report).

    Parameters
    ----------
    t
        The exact gap table.
    rule
        The suppression rule.

    Returns
    -------
    dict
        ``need_hours``, ``unmet_hours``, ``weekend_need_hours``, ``weekend_unmet_hours``
        summed from exact values then rounded (NaN when the register holds 1-7 people), and
        ``coverage_ratio``, ``weekend_coverage_ratio`` from those published hours.
    """
    people = float(t["people"].sum())
    out = {
        c: published_hours(float(t[c].sum()), people, rule)
        for c in ("need_hours", "unmet_hours", "weekend_need_hours", "weekend_unmet_hours")
    }
    for p in ("", "weekend_"):
        out[f"{p}coverage_ratio"] = published_ratio(
            out[f"{p}unmet_hours"], out[f"{p}need_hours"], complement=True
        )
    return out


def gaps_summary(result, top: int = 8) -> list[str]:  # 8: the report's TOP_GAPS too
    """The terminal summary of a gap analysis: the published headline (:mod:`.figures`).

    Parameters
    ----------
    result
        The run's :class:`~gapmap.publish.published.Published` (or a
        :class:`~gapmap.gaps.GapResult`, published here).
    top
        How many of the largest gaps to list.

    Returns
    -------
    list of str
        The same figures, in the same order, as the report and the workbook.
    """
    from gapmap.publish.figures import headline_figures, percent, whole
    from gapmap.publish.published import published_of

    pub = published_of(result)
    rule, result = pub.rule, pub.result
    t = result.table
    head = headline_figures(pub, top=top)
    if t["need_hours"].sum() <= 0:
        lines = ["No need in the register."]
    elif head.withheld:
        lines = head.words()
    else:
        lines = [
            f"Unmet {whole(head.micro_unmet_hours)} h a week of need micro-providers may meet "
            f"(people who can direct their own care: need {whole(head.micro_need_hours)} h, "
            f"{percent(head.micro_coverage_ratio)} of it in reach, capacity shared out by 2SFCA)."
        ]
        if head.regulated_need_hours == head.regulated_need_hours and head.regulated_need_hours:
            lines.append(
                "Need for regulated services (not counted above): "
                f"{whole(head.regulated_need_hours)} h a week of "
                f"{whole(head.regulated_people)} people who cannot direct their own care."
            )
        lines.append(
            f"Everyone on the list (SPEC columns): need {whole(head.need_hours)} h, "
            f"{percent(head.coverage_ratio)} in reach, unmet {whole(head.unmet_hours)} h."
        )
        if head.weekend_need_hours == head.weekend_need_hours and head.weekend_need_hours:
            lines.append(
                f"Weekend: need {whole(head.weekend_need_hours)} h, "
                f"{percent(head.weekend_coverage_ratio)} of it in reach; unmet "
                f"{whole(head.weekend_unmet_hours)} h."
            )
    lines.append(
        f"Areas: {head.areas}; high gap {head.high_gap_areas}, medium {head.medium_gap_areas}; "
        f"weekend gaps {head.weekend_gaps}; rural gaps {head.rural_gaps} (of {head.rural_areas} "
        "rural areas)."
    )
    if "estimated_need_hours" in t:
        est, eunmet = t["estimated_need_hours"].sum(), t["estimated_unmet_hours"].sum()
        if est > 0:
            lines.append(
                f"Estimated need from population: {_hours(est, rule)} h a week; "
                f"{_published_share(eunmet, est, rule):.0%} of it in reach; unmet "
                f"{_hours(eunmet, rule)} h."
            )
    for note in result.notes:
        lines.append(f"  ({clean_text(note)})")
    if len(head.largest):
        lines.append(
            "Largest unmet need micro-providers may meet (areas with more than "
            f"{rule.high} people; hours {rule.rounding}; share of need in reach):"
        )
        for r in head.largest.to_dict("records"):
            flags = [
                f
                for f, on in (("rural gap", r["rural_gap"]), ("weekend gap", r["weekend_gap"]))
                if on
            ]
            lines.append(
                f"  {clean_text(r['area_name'], 28):<28} {clean_text(r['district'], 20):<20} "
                f"unmet {whole(r['micro_unmet_hours']):>5} h  in reach "
                f"{percent(r['coverage_ratio']):>4}" + (f"  [{', '.join(flags)}]" if flags else "")
            )
    lines += deprivation_lines(pub.deprivation)
    return lines


def deprivation_lines(dep: pd.DataFrame | None) -> list[str]:
    """How unmet hours fall across deprivation, in words (published figures; none without IMD).

    Parameters
    ----------
    dep
        The published deprivation table (``Published.deprivation``,
        :func:`gapmap.publish.tables.published_deprivation`), None without ``--imd``.

    Returns
    -------
    list of str
    """
    if dep is None:
        return []
    lines: list[str] = []
    ci = dep.attrs["concentration_index"]
    rate = dep.set_index("imd_decile")["unmet_hours_per_1000_residents"]
    most, least = rate.get(1, float("nan")), rate.get(10, float("nan"))
    if most == most and least == least:
        lines.append(
            f"Deprivation: {most:,.1f} unmet hours a week per 1,000 residents in the most "
            f"deprived tenth of England (IMD decile 1), {least:,.1f} in the least (decile 10)."
        )
    lines.append(
        "Concentration index of unmet hours per resident: "
        + "; ".join(f"{k} {v:+.3f}" for k, v in ci.items())
        + " (negative: concentrated in the more deprived areas; 0: even)."
    )
    return lines


def match_lines(best, greedy, study) -> list[str]:
    """The terminal summary of a batch matching (published figures: counts suppressed).

    Parameters
    ----------
    best, greedy
        The optimised and greedy matchings.
    study
        The study matched.

    Returns
    -------
    list of str
    """
    rule = study.settings.suppression
    hours = study.people["hours"].to_numpy()
    mh = float(sum(hours[p] for p in best.matches))
    gh = float(sum(hours[p] for p in greedy.matches))
    n = len(study.people)
    shown_mh = _or_star(published_hours(mh, len(best.matches), rule), ",.0f")
    shown_gh = _or_star(published_hours(gh, len(greedy.matches), rule), ",.0f")
    lines = [
        f"Matched {_count(len(best.matches), rule)} of {_count(n, rule)} people "
        f"({shown_mh} h a week); greedy by hand: {_count(len(greedy.matches), rule)} "
        f"({shown_gh} h)."
    ]
    gap = best.gap
    ratio = best.objective / greedy.objective if greedy.objective else float("nan")
    lines.append(f"Urgency-weighted hours matched: {ratio - 1:+.1%} on matching by hand (greedy).")
    if gap is not None:
        if best.status == "OPTIMAL":
            lines.append("No better matching exists under these rules (proven).")
        elif best.details.get("lp_converged"):
            lines.append(
                f"At least {1 - gap:.1%} of the best that any matching could do under these rules "
                "(the rest of the way is not proven to exist: the bound is a relaxation)."
            )
        else:
            lines.append(
                f"At least {1 - gap:.1%} of an upper bound on what any matching could do (a loose "
                "bound: there was too little time to tighten it; a longer --time-limit helps)."
            )
    lines += journey_lines(best, greedy, rule)
    if best.details.get("interrupted"):
        lines.append("Stopped early at your request: this is the best matching found by then.")
    reasons = Counter(best.reasons.values())
    if reasons:
        lines.append(
            "Not matched: "
            + ", ".join(
                f"{_count(k, rule)} {r.replace('_', ' ')}"
                for r, k in sorted(reasons.items(), key=lambda t: -t[1])
            )
        )
    return lines


def journey_lines(best, greedy, rule: Suppression = Suppression()) -> list[str]:
    """The journeys of a matching beside matching by hand, for the terminal.

    Parameters
    ----------
    best, greedy
        The optimised and greedy matchings (``details["journeys"]`` set by
        :func:`gapmap.matching.match`).
    rule
        The suppression rule (nothing is shown when the number matched is withheld).

    Returns
    -------
    list of str
    """
    from gapmap.publish.tables import published_journeys

    out = []
    for name, result in (("Journeys", best), ("By hand", greedy)):
        j = published_journeys(result, rule)
        if j is None or j["mean_km_per_person"] is None:
            continue
        r = j["km_by_role"]
        line = (
            f"{name}: {j['km_total']:,} km over every role (provider {r['provider']:,}, "
            f"partner {r['partner']:,}, cover {r['cover']:,}), {j['mean_km_per_person']:.1f} km "
            f"per person matched, {j['mean_km_to_provider']:.1f} km to their provider; "
            f"{j['share_with_nearest_provider']:.0%} have their nearest provider "
            f"({j['mean_km_to_nearest_provider']:.1f} km away on average)."
        )
        if j.get("lower_bound_km"):
            line += (
                f" No matching of the same people travels less than {j['lower_bound_km']:,} km"
                f" (this is {j['over_lower_bound']:+.0%} over it"
                + ("" if j["lower_bound_is_tight"] else "; a loose bound")
                + ")."
            )
        out.append(line)
    return out


def recruit_lines(rec, top: int = 5) -> list[str]:
    """The terminal summary of recruitment: the scenario table and where to look first.

    Parameters
    ----------
    rec
        The recruitment's :class:`~gapmap.publish.published.PublishedRecruitment` (or a
        :class:`~gapmap.recruitment.targeting.RecruitResult`, published here).
    top
        How many areas to list.

    Returns
    -------
    list of str
    """
    from gapmap.publish.published import published_recruitment_of
    from gapmap.publish.tables import demand_people

    pub = published_recruitment_of(rec)
    rec = pub.rec
    s = rec.settings
    rule = s.suppression
    people = demand_people(rec)
    total = float(rec.demand["hours"].sum()) if len(rec.demand) else 0.0
    if people:
        hours = published_hours(total, people, rule)
        shown = "withheld" if hours != hours else f"{hours:,.0f}"
        demand = (
            f"{shown} recruitable unmet h a week from {_count(people, rule)} people in the register"
        )
    elif len(rec.demand) and (rec.demand["source"] == "estimated").any():
        demand = f"{_hours(total, rule)} recruitable unmet h a week from estimated need"
    else:
        demand = "no recruitable unmet hours"
    lines = [f"  (demand: {demand}; figures rounded)"]
    lines += [f"  ({clean_text(note)})" for note in rec.notes]
    scen = pub.scenarios
    lines.append(
        "'placed': new providers that would have hours to take (fewer than asked when they run "
        "out); coverage: share of need in reach"
    )
    lines.append(
        f"{'recruits work':<14}{'new providers':>13} {'placed':>6} {'hours taken':>12} "
        f"{'of unmet':>9} {'coverage':>15} {'weekend gaps':>13} {'rural gaps':>11} "
        f"{'saving a year':>14}"
    )
    for r, days in (
        (r, "every day" if v.settings.weekend_working else "weekdays")
        for v, sc in pub.variants()
        for r in sc.itertuples()
    ):
        lines.append(
            f"{days:<14}{r.new_providers:>13} {r.providers_placed:>6} "
            f"{_or_star(r.hours_taken, ',.0f'):>10} h "
            f"{_or_star(r.share_of_unmet_taken, '.0%'):>8} "
            f"{_or_star(r.coverage_before, '.0%'):>6} -> {_or_star(r.coverage_after, '.0%'):>4} "
            f"{r.weekend_gaps_before:>5} -> {r.weekend_gaps_after:<4} "
            f"{r.rural_gaps_before:>4} -> {r.rural_gaps_after:<4} "
            f"£{_or_star(r.saving_per_year_vs_home_care, ',.0f'):>12}"
        )
    lines.append(
        f"  saving = hours taken × {s.weeks_per_year:g} weeks × (home care "
        f"£{s.home_care_rate:.2f} − micro-provider £{s.micro_rate:.2f} an hour); "
        "figures rounded"
    )
    if "hours_taken_most_deprived" in scen:
        lines.append(
            "  in the most deprived 30% of England (IMD deciles 1-3): "
            + ", ".join(
                f"{_or_star(h, ',.0f')} h of {_or_star(t, ',.0f')} h (K={int(k)})"
                for k, h, t in zip(
                    scen["new_providers"], scen["hours_taken_most_deprived"], scen["hours_taken"]
                )
            )
            + (
                f"; deprivation weight {s.deprivation_weight:g}"
                if s.deprivation_weight
                else "; no deprivation weight (--deprivation-weight)"
            )
        )
    lines.append(
        f"Recommended: {rec.recommended} new providers working "
        + ("every day" if s.weekend_working else "weekdays")
        + " (the fewest that take 95% of the hours the largest scenario takes; "
        "the recruit map opens on it)."
    )
    ranking = pub.ranking
    head = ranking[ranking["priority_rank"].notna()].head(top)
    if len(head):
        lines.append("Where to look first:")
        for r in head.itertuples():
            lines.append(
                f"  {int(r.priority_rank):>3}. {clean_text(r.area_name, 28):<28} "
                f"{clean_text(r.district, 20):<20} {clean_text(r.reason)}"
            )
    return lines


def suggestion_lines(result) -> list[str]:
    """Suggestions for one person as terminal lines (names cleaned of control characters)."""
    from gapmap.io.provider_checks import facts_words

    c = clean_text
    lines = []
    if result.status != "ok":
        lines.append(result.advice)
    if result.reasons:
        lines.append("Why: " + c(" ".join(result.reasons)))
    for change in result.changes:
        lines.append(f"  - {c(change)}")
    for i, s in enumerate(result.suggestions, 1):
        given = quarter_hours(s.hours_given) if s.partner_id else s.hours_given
        lines.append(
            f"{i}. {c(s.name)} ({c(s.provider_id)}, {registration_words(s.cqc_registered)}), "
            f"{s.distance_km:.1f} km: gives {hours_words(given)} a week on "
            f"{days_words(s.days_given)}"
        )
        contact = ", ".join(c(v) for v in (s.phone, s.email, s.website) if v)
        if contact:
            lines.append(f"   contact: {contact}")
        facts = facts_words(s)
        if facts:
            lines.append(f"   families ask: {c(facts)}")
        if s.partner_id:
            lines.append(
                f"   partner: {c(s.partner_name)} ({c(s.partner_id)}, "
                f"{registration_words(bool(s.partner_cqc_registered))}), "
                f"{s.partner_distance_km:.1f} km: "
                f"{hours_words(s.hours_given + s.partner_hours - given)} on "
                f"{days_words(s.partner_days)}"
            )
        if s.cover_id:
            lines.append(
                f"   cover:   {c(s.cover_name)} ({c(s.cover_id)}, "
                f"{registration_words(bool(s.cover_cqc_registered))}), {s.cover_distance_km:.1f} km"
            )
        lines.append(f"   why: {c(s.why)}")
        lines.append(f"   safety: {c(s.safety)}")
    if result.left_out:
        lines.append("Nearer providers left out:")
        for r in result.left_out:
            lines.append(
                f"   {c(r['name'])} ({c(r['provider_id'])}), {r['distance_km']:.1f} km: "
                f"{c(r['why'])}"
            )
    return lines
