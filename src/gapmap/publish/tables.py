"""Published tables: the exact results of an analysis turned into what may be shared.

Every published count and hour figure follows the small-number rule of
:mod:`gapmap.publish.disclosure` (SPEC.md): counts of 1-7 people in an area are ``*`` and the
area's hours withheld; other counts and hours are rounded to 5; totals (county rows,
``summary.json``) are computed from exact values and then rounded the same way, so no total
gives back a suppressed cell exactly.
"""

from __future__ import annotations

from collections import Counter

import geopandas as gpd
import numpy as np
import pandas as pd

from gapmap.coverage import LOW_GAP_FROM
from gapmap.publish.disclosure import (
    Suppression,
    published_count,
    published_hours,
    published_ratio,
    round_to,
    suppress,
)
from gapmap.publish.geo import to_latlon

__all__ = [
    "HOUR_COLUMNS",
    "demand_people",
    "suppress_again",
    "publish_deprivation",
    "published_deprivation",
    "RANK_COLUMNS",
    "match_summary",
    "publish_gaps",
    "publish_ranking",
    "publish_scenarios",
    "publish_sites",
]

HOUR_COLUMNS = [
    "need_hours", "weekend_need_hours", "accessible_hours", "weekend_accessible_hours",
    "unmet_hours", "weekend_unmet_hours", "need_hours_not_self_directing", "micro_need_hours",
    "micro_unmet_hours",
]  # fmt: skip
RATIO_COLUMNS = [
    "estimated_weekend_coverage_ratio",
    "coverage_ratio", "weekend_coverage_ratio", "provision_ratio", "weekend_provision_ratio",
    "estimated_coverage_ratio", "estimated_provision_ratio",
]  # fmt: skip


def publish_gaps(table: gpd.GeoDataFrame, rule: Suppression | None = None) -> gpd.GeoDataFrame:
    """The area table as it may be shared: small-number suppression applied (SPEC.md).

    Parameters
    ----------
    table
        ``GapResult.table`` (exact).
    rule
        The suppression rule; by default the study's own (``Settings.suppression``, which
        :func:`gapmap.gap_analysis` records on the table), else the NHS England rule.

    Returns
    -------
    GeoDataFrame
        ``people`` becomes text (``*`` for 1-7, else rounded to 5); hour figures are rounded to
        5, or withheld where the area has 1-7 people, and so is ``gap_score`` (it is in hours).
        Coverage and provision ratios are computed from the published hours (withheld with
        them), so they give back nothing the rounded hours do not. Distances, flags and bands
        are kept. Provider counts are not suppressed: the
        providers register is a directory of businesses, not statistics about people.
    """
    rule = rule or table.attrs.get("suppression") or Suppression()
    out = suppress(
        table,
        count_columns=["people"],
        hour_columns=HOUR_COLUMNS,
        withheld_columns=["gap_score"],
        rule=rule,
    )
    # the score is in hours: recompute it from the rounded unmet hours so it reveals no more
    factor = np.divide(
        table["gap_score"].to_numpy(float),
        table["unmet_hours"].to_numpy(float),
        out=np.ones(len(table)),
        where=table["unmet_hours"].to_numpy(float) > 0,
    )
    out["gap_score"] = np.round(out["unmet_hours"].to_numpy(float) * factor, 0)
    # secondary protection: ratios from the published hours only (NaN where they are withheld)
    for prefix in ("", "weekend_"):
        need = out[f"{prefix}need_hours"].to_numpy(float)
        out[f"{prefix}coverage_ratio"] = published_ratio(
            out[f"{prefix}unmet_hours"].to_numpy(float), need, complement=True
        )
        out[f"{prefix}provision_ratio"] = published_ratio(
            out[f"{prefix}accessible_hours"].to_numpy(float), need
        )
    for c in RATIO_COLUMNS:
        if c in out:
            out[c] = out[c].round(3)
    # estimated need is modelled from public census counts, not from the register: rounded only
    for c in [c for c in out.columns if c.startswith("estimated_") and c.endswith("_hours")]:
        out[c] = round_to(table[c].to_numpy(float), rule.base)
    if "estimated_weekend_coverage_ratio" in out:
        out["estimated_weekend_coverage_ratio"] = out["estimated_weekend_coverage_ratio"].round(3)
    out["nearest_provider_km"] = out["nearest_provider_km"].round(1)
    return gpd.GeoDataFrame(out, geometry=table.geometry.name, crs=table.crs)


RANK_COLUMNS = [
    "priority_rank", "area_code", "area_name", "district", "rural", "people", "providers",
    "unmet_hours", "weekend_unmet_hours", "recruitable_people", "recruitable_unmet_hours",
    "coverage_ratio", "weekend_coverage_ratio", "nearest_provider_km",
    "nearest_weekend_provider_km", "rural_gap", "weekend_gap", "priority_score",
    "new_providers_recommended", "hours_taken_by_recruits", "served_by", "reason", "outcome",
]  # fmt: skip


def publish_ranking(rec, rule: Suppression | None = None) -> gpd.GeoDataFrame:
    """The ranking as it may be shared.

    Parameters
    ----------
    rec
        A :class:`~gapmap.recruitment.targeting.RecruitResult`.
    rule
        The suppression rule (default: the one in the recruitment's settings).

    Returns
    -------
    GeoDataFrame
        Suppression as in :func:`publish_gaps`; reasons written from the published figures
        only; sorted by rank, areas with nothing to recruit for last with no rank.
    """
    ranked = rec.areas
    rule = rule or rec.settings.suppression
    radius_km = rec.settings.radius_km
    pub = publish_gaps(ranked, rule)
    hidden = rule.hides(ranked["people"].to_numpy())
    r_hidden = rule.hides(ranked["recruitable_people"].to_numpy()) | hidden
    estimated = (ranked["recruitable_people"] == 0) & (ranked["recruitable_unmet_hours"] > 0)
    pub["recruitable_people"] = np.where(
        r_hidden, "*", round_to(ranked["recruitable_people"], rule.base).astype(int).astype(str)
    )
    pub["recruitable_unmet_hours"] = np.where(
        r_hidden & ~estimated, np.nan, round_to(ranked["recruitable_unmet_hours"], rule.base)
    )
    factor = np.divide(
        ranked["priority_score"].to_numpy(float),
        ranked["recruitable_unmet_hours"].to_numpy(float),
        out=np.ones(len(ranked)),
        where=ranked["recruitable_unmet_hours"].to_numpy(float) > 0,
    )
    pub["priority_score"] = np.round(pub["recruitable_unmet_hours"].to_numpy(float) * factor, 0)
    pub["nearest_weekend_provider_km"] = ranked["nearest_weekend_provider_km"].round(1)
    if "new_providers_recommended" not in pub:
        pub["new_providers_recommended"] = 0
    pub["reason"] = [_reason(r, radius_km) for r in pub.to_dict("records")]
    if "outcome_code" in ranked:
        pub["hours_taken_by_recruits"] = np.where(
            r_hidden & ~estimated, np.nan, round_to(ranked["hours_taken_by_recruits"], rule.base)
        )
        kmax = int(rec.scenarios["new_providers"].max()) if len(rec.scenarios) else 0
        pub["outcome"] = [_outcome(r, kmax, rec.settings.per_site) for r in pub.to_dict("records")]
    pub["priority_rank"] = ranked["priority_rank"].astype("Int64")
    pub = pub.sort_values(["priority_rank", "area_code"], na_position="last")
    cols = [c for c in RANK_COLUMNS if c in pub] + [pub.geometry.name]
    return gpd.GeoDataFrame(pub[cols], geometry=pub.geometry.name, crs=ranked.crs)


def _outcome(r: dict, kmax: int, per_site: int) -> str:
    """What the largest scenario does for an area, in words, from published figures only."""
    code = r["outcome_code"]
    site = r["served_by"]
    taken = r["hours_taken_by_recruits"]
    hours = "" if taken != taken else f" (about {taken:,.0f} h a week)"
    if code == "site":
        n = int(r["new_providers_recommended"])
        here = f"{n} of the {kmax} new providers are placed here"
        if r["recruitable_unmet_hours"] == 0:
            return here + ", for unmet hours in nearby areas"
        return here + (f"; this area's hours are taken{hours}" if taken == taken and taken else "")
    if code == "served":
        return f"Its recruitable hours are taken by the new providers at {site}{hours}"
    if code == "partly":
        return (
            f"Partly taken by the new providers at {site}{hours}; the rest is beyond the hours "
            "they have"
        )
    if code == "in_reach_full":
        return (
            "Not chosen: within reach of a chosen site, but its new providers (at most "
            f"{per_site} per area) are fully booked with hours that weigh as much or more"
        )
    if code == "elsewhere":
        return (
            f"Not chosen: the {kmax} new providers take more priority-weighted hours where they "
            "are placed; no chosen site is within reach"
        )
    return "Nothing a new provider could take here"


def _reason(r: dict, radius_km: float) -> str:
    parts = []
    if r["rural"]:
        parts.append("rural")
    near = r["nearest_provider_km"]
    if r["rural_gap"] and near == near and near > 10:
        parts.append(f"nearest provider {near:.0f} km away")
    wk = r["nearest_weekend_provider_km"]
    if wk != wk or wk > radius_km:
        parts.append(f"no provider works weekends within {radius_km:g} km")
    elif r["weekend_gap"]:
        cov = r["weekend_coverage_ratio"]
        parts.append(f"weekend coverage {100 * cov:.0f}%" if cov == cov else "weekend gap")
    cov = r["coverage_ratio"]
    if cov == cov and cov < LOW_GAP_FROM:  # a medium or high gap
        parts.append(f"providers in reach for {100 * cov:.0f}% of need")
    hours = r["recruitable_unmet_hours"]
    if hours != hours:
        parts.append("few people (figures withheld)")
    elif hours > 0:
        parts.append(f"{hours:,.0f} unmet hours a week a recruit could take")
    else:
        parts.append("no unmet need a recruit could take")
    return ", ".join(parts)


def publish_sites(sites: pd.DataFrame, rule: Suppression = Suppression()) -> pd.DataFrame:
    """Sites as they may be shared.

    Parameters
    ----------
    sites
        ``RecruitResult.sites``.
    rule
        The suppression rule.

    Returns
    -------
    DataFrame
        Counts of people in reach suppressed, hours rounded to 5 (withheld where 1-7 people are
        in reach; hours taken also where the areas it takes hours from hold 1-7 people),
        coordinates of the site (an area's point, never a person's) in both grids.
    """
    out = sites.copy()
    people = sites["people_in_reach"].to_numpy()
    hidden = rule.hides(people)
    out["people_in_reach"] = np.where(
        hidden, "*", round_to(people, rule.base).astype(int).astype(str)
    )
    # hours taken are of the people in the areas served: withheld where those are 1-7 (a site
    # serving only a withheld village would otherwise give back the village's hours)
    served = sites["people_served"].to_numpy() if "people_served" in sites else people
    held_taken = hidden | rule.hides(served)
    out["unmet_hours_in_reach"] = np.where(
        hidden, np.nan, round_to(sites["unmet_hours_in_reach"].to_numpy(float), rule.base)
    )
    out["hours_taken"] = np.where(
        held_taken, np.nan, round_to(sites["hours_taken"].to_numpy(float), rule.base)
    )
    out = out.drop(columns=["people_served"], errors="ignore")
    if "areas_served" in out:
        out["explanation"] = [
            ("Would take unmet hours" if h != h else f"Would take about {h:,.0f} h a week")
            + (f" from people in {a}" if a else "")
            for h, a in zip(out["hours_taken"], out["areas_served"])
        ]
    lat, lon = to_latlon(sites["x"].to_numpy(float), sites["y"].to_numpy(float))
    out["easting"] = sites["x"].round(0).astype(int)
    out["northing"] = sites["y"].round(0).astype(int)
    out["latitude"] = np.round(lat, 5)
    out["longitude"] = np.round(lon, 5)
    return out.drop(columns=["x", "y"])


def suppress_again(
    table: pd.DataFrame, held, columns: list[str], rule: Suppression = Suppression()
) -> pd.DataFrame:
    """A published table read back (``gapmap compare``) with the rule applied again.

    A file may have been edited, or be an internal one renamed: figures present on a withheld
    row are dropped, hours rounded to ``rule.base`` again, and shares in reach recomputed from
    the rounded hours, so that nothing is published again that the rule would withhold.

    Parameters
    ----------
    table
        The table read (numbers as floats, NaN where empty).
    held
        Which rows are withheld (bool array).
    columns
        Its figures (``*_hours`` and ``*_ratio``).
    rule
        The suppression rule.

    Returns
    -------
    DataFrame
    """
    out = table.copy()
    held = np.asarray(held, dtype=bool)
    for c in columns:
        if c not in out:
            continue
        v = out[c].to_numpy(float)
        if c.endswith("_hours"):
            v = round_to(v, rule.base)
        out[c] = np.where(held, np.nan, v)
    for p in ("", "weekend_"):
        if {f"{p}coverage_ratio", f"{p}need_hours", f"{p}unmet_hours"} <= set(out.columns):
            out[f"{p}coverage_ratio"] = published_ratio(
                out[f"{p}unmet_hours"].to_numpy(float),
                out[f"{p}need_hours"].to_numpy(float),
                complement=True,
            )
    return out


def demand_people(rec) -> int:
    """How many people of the register a recruitment's demand is of (0 for estimated need).

    Parameters
    ----------
    rec
        A :class:`~gapmap.recruitment.targeting.RecruitResult`.

    Returns
    -------
    int
    """
    return int(rec.demand["people"].sum()) if len(rec.demand) else 0


def publish_scenarios(
    scen: pd.DataFrame, rule: Suppression = Suppression(), *, people: int | None = None
) -> pd.DataFrame:
    """The scenario table as it may be shared.

    Scenario figures are county totals: hours rounded to 5, money to £100, ratios to 0.001.
    When the recruitable demand is of 1-7 people (``people``), its hours, the savings made of
    them and the coverage shares are withheld: the total is then a small cell itself.

    Parameters
    ----------
    scen
        ``RecruitResult.scenarios``.
    rule
        The suppression rule.
    people
        How many people of the register the recruitable demand is of (None or 0: estimated
        need from the census, not suppressed).

    Returns
    -------
    DataFrame
    """
    out = scen.copy()
    held = bool(people) and bool(rule.hides(np.asarray([people]))[0])
    for c in ("recruitable_unmet_hours", "unmet_hours_in_reach", "hours_taken",
              "hours_taken_most_deprived"):  # fmt: skip
        if c in out:
            out[c] = round_to(out[c].to_numpy(float), rule.base)
    for c in ("saving_per_year_vs_home_care", "saving_per_year_if_direct_payments"):
        # from the rounded hours taken, so a saving gives back no more than they do
        rate = np.divide(
            scen[c].to_numpy(float), scen["hours_taken"].to_numpy(float),
            out=np.zeros(len(scen)), where=scen["hours_taken"].to_numpy(float) > 0,
        )  # fmt: skip
        out[c] = round_to(out["hours_taken"].to_numpy(float) * rate, 100)
    out["share_of_unmet_taken"] = published_ratio(
        out["hours_taken"].to_numpy(float), out["recruitable_unmet_hours"].to_numpy(float)
    )
    for c in ("coverage_before", "coverage_after"):
        out[c] = out[c].round(3)
    if "need_hours_total" in scen:  # shares from the rounded county totals (secondary protection)
        need = round_to(scen["need_hours_total"].to_numpy(float), rule.base)
        for c, u in (("coverage_before", "unmet_hours_before"),
                     ("coverage_after", "unmet_hours_after")):  # fmt: skip
            out[c] = published_ratio(
                round_to(scen[u].to_numpy(float), rule.base), need, complement=True
            )
        out = out.drop(columns=["need_hours_total", "unmet_hours_before", "unmet_hours_after"])
    if held:
        for c in ("recruitable_unmet_hours", "unmet_hours_in_reach", "hours_taken",
                  "hours_taken_most_deprived", "saving_per_year_vs_home_care",
                  "saving_per_year_if_direct_payments", "share_of_unmet_taken",
                  "coverage_before", "coverage_after"):  # fmt: skip
            if c in out:
                out[c] = np.nan
    for c in ("gap_to_bound", "coverage_model_gap"):
        out[c] = out[c].round(4)
    for c in ("seconds", "coverage_model_seconds"):
        out[c] = out[c].round(1)
    return out


def _or_none(v: float) -> float | None:
    """A published figure for JSON: None where it is withheld (NaN)."""
    return None if v != v else float(v)


def published_journeys(result, rule: Suppression = Suppression()) -> dict | None:
    """A matching's journeys as they may be shared: km whole, means to 0.1 km, the share of
    people with their nearest provider to 0.01; None when the number matched is withheld.

    Parameters
    ----------
    result
        A :class:`~gapmap.matching.MatchResult` with ``details["journeys"]``
        (:func:`gapmap.matching.journeys.journey_figures`).
    rule
        The suppression rule.

    Returns
    -------
    dict or None
    """
    j = result.details.get("journeys")
    if j is None or isinstance(published_count(len(result.matches), rule), str):
        return None
    out: dict = {
        "km_total": round(j["km_total"]),
        "km_by_role": {
            "provider": round(j["km_provider"]),
            "partner": round(j["km_partner"]),
            "cover": round(j["km_cover"]),
        },
    }
    for key in ("mean_km_per_person", "mean_km_to_provider", "mean_km_to_nearest_provider"):
        out[key] = None if j[key] is None else round(j[key], 1)
    share = j["share_nearest_provider"]
    out["share_with_nearest_provider"] = None if share is None else round(share, 2)
    if "bound_km" in j:
        b = j["bound_km"]
        out["lower_bound_km"] = None if b is None else round(b)
        out["over_lower_bound"] = None if not b else round(j["km_total"] / b - 1.0, 3)
        out["lower_bound_is_tight"] = bool(j.get("bound_converged", False))
    return out


def match_summary(result, greedy, study) -> dict:
    """The honest account of a batch matching, as written to ``summary.json`` (published).

    Counts of people and hours are county totals and follow the suppression rule (1-7 as
    ``"*"``, others rounded to 5), so that they cannot be set against the area tables to give
    back a suppressed cell.

    Parameters
    ----------
    result, greedy
        The optimised and greedy :class:`~gapmap.matching.MatchResult`.
    study
        The study matched.

    Returns
    -------
    dict
    """
    people, settings = study.people, study.settings
    rule = settings.suppression
    matched_hours = float(sum(people["hours"].iloc[p] for p in result.matches))
    gap = result.gap
    return {
        "people": published_count(len(people), rule),
        "matched_people": published_count(len(result.matches), rule),
        "matched_hours": _or_none(published_hours(matched_hours, len(result.matches), rule)),
        "unmatched_by_reason": {
            k: published_count(n, rule) for k, n in sorted(Counter(result.reasons.values()).items())
        },
        "objective_priority_hours": _or_none(
            published_hours(result.objective, len(result.matches), rule)
        ),
        "best_bound": None
        if result.best_bound is None
        else _or_none(published_hours(result.best_bound, len(people), rule)),
        "share_of_best_possible": None if gap is None else round(1.0 - gap, 3),
        "best_possible_means": "the matched urgency-weighted hours as a share of an upper bound "
        "on what any matching could do under these rules (the linear relaxation of the full "
        "model, every eligible provider considered; on lists of over 4,000 people worked out to "
        "within 0.1% of it); 1 means proven best",
        "bound_is_tight": bool(result.details.get("lp_converged", False)),
        "interrupted": bool(result.details.get("interrupted", False)),
        "optimality_gap": None if gap is None else round(gap, 4),
        "solver_status": result.status,
        "solver": "column generation (HiGHS) for the bound, then OR-Tools CP-SAT local search "
        "from the better of greedy and the LP's choices; shortest journeys last",
        "seconds": round(result.seconds, 1),
        "wall_seconds": None
        if result.details.get("wall_seconds") is None
        else round(result.details["wall_seconds"], 1),
        "wall_seconds_means": "seconds since the command started (reading, eligible pairs, "
        "solving and checking included; writing the files takes a moment more)",
        "journeys": published_journeys(result, rule),
        "journeys_means": "km of every named role (provider, partner, cover) over the matched "
        "people, straight-line unless circuity is set; share_with_nearest_provider: matched "
        "people whose provider is their nearest eligible provider working any of their days; "
        "lower_bound_km: no matching of the same people can travel less (the linear "
        "relaxation over every eligible provider)",
        "greedy_baseline": {
            "rule": "by hand: most urgent first (then in register order), each given the "
            "nearest provider with room, then the nearest partner and cover with room",
            "matched_people": published_count(len(greedy.matches), rule),
            "objective_priority_hours": _or_none(
                published_hours(greedy.objective, len(greedy.matches), rule)
            ),
            "journeys": published_journeys(greedy, rule),
        },
        "optimised_over_greedy": (
            round(result.objective / greedy.objective, 3) if greedy.objective else None
        ),
        "settings": {
            "absence_rate": settings.absence_rate,
            "allow_without_cover": settings.allow_without_cover,
            "time_limit_s": settings.match_time_limit_s,
            "circuity": settings.circuity,
        },
        "note": f"counts of people follow the small-number rule ({rule.hidden} shown as *, "
        f"others and hours {rule.rounding}); share_of_best_possible compares the "
        "priority-weighted hours matched with an upper bound for the full model (every "
        "eligible provider); matches.csv holds person ids and is internal: share it only with "
        "staff who may see the people register",
    }


def publish_deprivation(
    table: pd.DataFrame, ci: dict[str, float], rule: Suppression = Suppression()
) -> pd.DataFrame:
    """Need and unmet hours by IMD decile as they may be shared.

    Parameters
    ----------
    table, ci
        :func:`gapmap.deprivation.deprivation_table`.
    rule
        The suppression rule.

    Returns
    -------
    DataFrame
        One row per decile, then the concentration indices as rows ``concentration index``:
        people as published counts (``*`` for 1-7), register hours rounded to 5 and withheld
        where a decile has 1-7 people, estimated hours rounded, unmet hours per 1,000
        residents to one decimal from the published hours and population (withheld with the
        hours).
    """
    out = pd.DataFrame({"imd_decile": table["imd_decile"].astype(int), "areas": table["areas"]})
    out["population"] = round_to(table["population"].to_numpy(float), rule.base).astype(int)
    people = table["people"].to_numpy()
    hidden = rule.hides(people)
    out["people"] = [str(published_count(int(n), rule)) for n in people]
    pop = table["population"].to_numpy(float)
    for c in ("need_hours", "unmet_hours"):
        out[c] = np.where(hidden, np.nan, round_to(table[c].to_numpy(float), rule.base))
    # the rate from the published (rounded) hours and population: it gives back no more than they
    # do, however small the population (two runs one person apart differ by 0 or 5 h, no less)
    out["unmet_hours_per_1000_residents"] = published_ratio(
        1000 * out["unmet_hours"].to_numpy(float), out["population"].to_numpy(float), digits=1
    )
    if "estimated_unmet_hours" in table:
        for c in ("estimated_need_hours", "estimated_unmet_hours"):
            out[c] = round_to(table[c].to_numpy(float), rule.base)
        out["estimated_unmet_hours_per_1000_residents"] = np.where(
            pop <= 0, np.nan,
            np.round(1000 * table["estimated_unmet_hours"].to_numpy(float) / np.maximum(pop, 1), 1),
        )  # fmt: skip
    out.attrs["concentration_index"] = {k: round(v, 3) for k, v in ci.items()}
    return out


def published_deprivation(table: pd.DataFrame, rule: Suppression) -> pd.DataFrame | None:
    """The deprivation table of a gap table as it may be shared, or None without ``--imd``.

    Parameters
    ----------
    table
        The exact gap table.
    rule
        The suppression rule.

    Returns
    -------
    DataFrame or None
        :func:`publish_deprivation` of :func:`gapmap.deprivation.deprivation_table`.
    """
    if "imd_decile" not in table:
        return None
    from gapmap.deprivation import deprivation_table

    return publish_deprivation(*deprivation_table(pd.DataFrame(table)), rule)
