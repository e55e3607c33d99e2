"""Recruitment targeting: where new micro-providers would close the most unmet need.

Three answers, all from one gap analysis (:func:`gapmap.gap_analysis`):

**Ranked areas.** Each area's *recruitable unmet hours* are the unmet hours a new
micro-provider could take: from the register, the unmet hours of people who are self-directing,
do not need regulated (CQC) care and need only the services recruits offer; or, with need
estimated from population, the estimated unmet hours. A recruit who works weekdays only can
take only the weekday share of them (a person's weekday days over all their days; for
estimated need, 5/7). The **priority score** is those hours weighted like the gap score:
× (1 + 0.5 if the area has a weekend gap + 0.5 if it has a rural gap). Areas are ranked by it,
and each gets its reason in words.

**Recommended sites.** Candidate sites are the areas' representative points (a point inside
each area). For each K, the capacitated maximal-coverage model of :mod:`gapmap.location`
places K new providers, each giving ``hours_per_provider`` (27) hours a week within
``radius_km`` (10, SPEC.md's default travel limit) of the site, at most ``per_site`` (3) at
one site, taking the recruitable hours with their priority; the plain maximal-coverage model
says how many unmet hours the K sites would have in reach if capacity were no limit. Existing
providers stay as they are: the demand is what they leave unmet.

**Scenarios.** For each K: hours taken, coverage before and after (the gap analysis run again
with the new providers added), weekend and rural gaps closed, and the yearly saving if those
hours would otherwise be bought as commissioned home care:

    saving = hours taken a week × weeks a year × (home care rate − micro-provider rate)

with the unit costs of :data:`UNIT_COSTS` (all options).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from .coverage import weekend_share
from .disclosure import Suppression, round_to
from .errors import InputError
from .gaps import GapOptions, GapResult, gap_analysis, publish_gaps
from .location import SiteChoice, capacitated_coverage, coverage_matrix, max_coverage
from .need import EstimatedNeed
from .vocab import ALL_DAYS_MASK, WEEKDAY_MASK, WEEKEND_MASK, parse_services, services_text

__all__ = [
    "UNIT_COSTS",
    "RecruitOptions",
    "RecruitResult",
    "candidate_sites",
    "new_providers_at",
    "rank_areas",
    "recruit",
    "recruitment_demand",
]

#: Unit costs, £ an hour, with their sources (Kent County Council, "Micro-provider market
#: development" report, sections 4.9-4.10, citing Somerset Council's June 2020 evaluation).
UNIT_COSTS = {
    "home_care": (19.68, "commissioned home care, average (Kent report 4.10)"),
    "micro_provider": (15.68, "micro-enterprise, average cost an hour (Kent report 4.9)"),
    "direct_payment": (14.15, "direct payment to people using micro-providers (Kent report 4.10)"),
}


@dataclass(frozen=True)
class RecruitOptions:
    """Assumptions about recruits and the costs (see the module docstring)."""

    radius_km: float = 10.0
    hours_per_provider: float = 27.0
    per_site: int = 3
    weekend_working: bool = False
    services: str = "domestic;social;community;respite"
    need: str = "auto"  # register | estimated | auto (estimated when given)
    time_limit_s: float = 30.0
    workers: int = 2
    home_care_rate: float = UNIT_COSTS["home_care"][0]
    micro_rate: float = UNIT_COSTS["micro_provider"][0]
    direct_payment_rate: float = UNIT_COSTS["direct_payment"][0]
    weeks_per_year: float = 52.0

    def validate(self) -> None:
        bad = []
        if not 0 < self.radius_km <= 200:
            bad.append("--radius-km must be more than 0 and at most 200")
        if not 0 < self.hours_per_provider <= 168:
            bad.append("--hours-per-provider must be more than 0 and at most 168")
        if self.per_site < 1:
            bad.append("--per-site must be at least 1")
        if self.time_limit_s <= 0:
            bad.append("--time-limit must be more than 0 seconds")
        if self.need not in ("register", "estimated", "auto"):
            bad.append("--need must be register, estimated or auto")
        for name in ("home_care_rate", "micro_rate", "direct_payment_rate"):
            if not 0 <= getattr(self, name) < 1000:
                bad.append(f"--{name.replace('_', '-')} must be between 0 and 1000 (£ an hour)")
        if not 0 < self.weeks_per_year <= 53:
            bad.append("--weeks-per-year must be more than 0 and at most 53")
        try:
            parse_services(self.services)
        except ValueError as exc:
            bad.append(f"--recruit-services: {exc}")
        if bad:
            raise InputError("; ".join(bad), file="command line")

    @property
    def service_mask(self) -> int:
        return parse_services(self.services)

    @property
    def day_mask(self) -> int:
        return ALL_DAYS_MASK if self.weekend_working else WEEKDAY_MASK


@dataclass
class RecruitResult:
    """Ranked areas (exact, internal), sites per scenario, and the scenario table."""

    areas: gpd.GeoDataFrame
    sites: pd.DataFrame
    scenarios: pd.DataFrame
    demand: pd.DataFrame
    choices: dict[int, SiteChoice] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def recruitment_demand(
    result: GapResult, options: RecruitOptions = RecruitOptions()
) -> pd.DataFrame:
    """Unmet hours a new micro-provider could take, as demand points.

    Returns
    -------
    DataFrame
        ``x``, ``y`` (BNG metres), ``area_code``, ``hours`` (recruitable unmet hours a week),
        ``limit_m`` (the person's own travel limit, NaN if none), ``people`` (1 per register
        person, 0 for estimated points) and ``source`` (``register`` or ``estimated``).
        Internal: register points are people's postcode centroids.
    """
    use_estimated = options.need == "estimated" or (
        options.need == "auto" and result.estimated_points is not None
    )
    if use_estimated:
        if result.estimated_points is None:
            raise InputError(
                "--need estimated needs --census (need from population)", file="command line"
            )
        e = result.estimated_points
        share = 1.0 if options.weekend_working else 5.0 / 7.0
        return pd.DataFrame(
            {
                "x": e["x"].to_numpy(float),
                "y": e["y"].to_numpy(float),
                "area_code": e["area_code"].to_numpy(),
                "hours": e["unmet_hours"].to_numpy(float) * share,
                "limit_m": np.nan,
                "people": 0,
                "source": "estimated",
            }
        )
    p = result.people
    need_mask = p["service_mask"].to_numpy(np.int64)
    ok = (
        p["self_directing"].to_numpy(bool)
        & ~p["regulated_care"].to_numpy(bool)
        & ((need_mask & options.service_mask) == need_mask)
        & p["area_code"].notna().to_numpy()
    )
    unmet = p["unmet_hours"].to_numpy(float)
    if not options.weekend_working:
        unmet = unmet * (1.0 - weekend_share(p["day_mask"].to_numpy()))
    limit = (
        p["max_travel_km"].to_numpy(float) * 1000.0
        if "max_travel_km" in p
        else np.full(len(p), np.nan)
    )
    d = pd.DataFrame(
        {
            "x": p["x"].to_numpy(float),
            "y": p["y"].to_numpy(float),
            "area_code": p["area_code"].to_numpy(),
            "hours": unmet,
            "limit_m": limit,
            "people": 1,
            "source": "register",
        }
    )
    return d[ok & (unmet > 1e-9)].reset_index(drop=True)


def candidate_sites(areas: gpd.GeoDataFrame) -> pd.DataFrame:
    """One candidate site per area: its representative point (always inside the area)."""
    pts = areas.geometry.representative_point()
    return pd.DataFrame(
        {
            "area_code": areas["area_code"].to_numpy(),
            "area_name": areas["area_name"].to_numpy(),
            "district": areas["district_name"].to_numpy(),
            "x": pts.x.to_numpy(),
            "y": pts.y.to_numpy(),
        }
    )


def _area_factor(table: pd.DataFrame, gap_options: GapOptions) -> pd.Series:
    f = (
        1.0
        + gap_options.weekend_weight * table["weekend_gap"].astype(float)
        + gap_options.rural_weight * table["rural_gap"].astype(float)
    )
    return pd.Series(f.to_numpy(), index=table["area_code"].to_numpy())


def rank_areas(
    result: GapResult,
    demand: pd.DataFrame,
    options: RecruitOptions = RecruitOptions(),
    gap_options: GapOptions = GapOptions(),
) -> gpd.GeoDataFrame:
    """Every area with its recruitable unmet hours, priority score, rank and reason (exact).

    Publish it through :func:`publish_ranking`.
    """
    t = result.table.copy()
    index = pd.Index(t["area_code"].to_numpy())
    hours = demand.groupby("area_code")["hours"].sum().reindex(index).fillna(0.0)
    people = demand.groupby("area_code")["people"].sum().reindex(index).fillna(0).astype(int)
    t["recruitable_unmet_hours"] = hours.to_numpy()
    t["recruitable_people"] = people.to_numpy()
    t["priority_score"] = t["recruitable_unmet_hours"] * _area_factor(t, gap_options).to_numpy()
    weekend = result.providers[(result.providers["day_mask"].to_numpy() & WEEKEND_MASK) > 0]
    rep = t.geometry.representative_point()
    if len(weekend):
        d, _ = cKDTree(weekend[["x", "y"]].to_numpy(float)).query(
            np.column_stack([rep.x.to_numpy(), rep.y.to_numpy()])
        )
        t["nearest_weekend_provider_km"] = d / 1000.0 * gap_options.circuity
    else:
        t["nearest_weekend_provider_km"] = np.nan
    order = np.lexsort((t["area_code"].to_numpy(), -t["priority_score"].to_numpy()))
    rank = np.empty(len(t), dtype=np.int64)
    rank[order] = np.arange(1, len(t) + 1)
    t["priority_rank"] = np.where(t["priority_score"] > 0, rank, 0)
    return t


RANK_COLUMNS = [
    "priority_rank", "area_code", "area_name", "district", "rural", "people", "providers",
    "unmet_hours", "weekend_unmet_hours", "recruitable_people", "recruitable_unmet_hours",
    "coverage_ratio", "weekend_coverage_ratio", "nearest_provider_km",
    "nearest_weekend_provider_km", "rural_gap", "weekend_gap", "priority_score",
    "new_providers_recommended", "reason",
]  # fmt: skip


def publish_ranking(
    ranked: gpd.GeoDataFrame,
    options: RecruitOptions = RecruitOptions(),
    rule: Suppression = Suppression(),
) -> gpd.GeoDataFrame:
    """The ranking as it may be shared: suppression as in :func:`gapmap.publish_gaps`, reasons
    written from the published figures only, sorted by rank (areas with nothing to recruit for
    last)."""
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
    pub["reason"] = [_reason(r, options.radius_km) for r in pub.to_dict("records")]
    pub = pub.sort_values(
        ["priority_rank", "area_code"],
        key=lambda s: s.replace(0, 10**9) if s.name == "priority_rank" else s,
    )
    cols = [c for c in RANK_COLUMNS if c in pub] + [pub.geometry.name]
    return gpd.GeoDataFrame(pub[cols], geometry=pub.geometry.name, crs=ranked.crs)


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
    if cov == cov and cov < 0.75:
        parts.append(f"providers in reach for {100 * cov:.0f}% of need")
    hours = r["recruitable_unmet_hours"]
    if hours != hours:
        parts.append("few people (figures withheld)")
    elif hours > 0:
        parts.append(f"{hours:,.0f} unmet hours a week a recruit could take")
    else:
        parts.append("no unmet need a recruit could take")
    return ", ".join(parts)


def new_providers_at(
    sites: pd.DataFrame, options: RecruitOptions, prefix: str = "NEW"
) -> pd.DataFrame:
    """New providers as register rows at the chosen sites (for the gap analysis after)."""
    n = sites["providers_at"].to_numpy(int)
    rows = np.repeat(np.arange(len(sites)), n)
    s = sites.iloc[rows].reset_index(drop=True)
    k = len(s)
    return pd.DataFrame(
        {
            "provider_id": [f"{prefix}{i + 1:04d}" for i in range(k)],
            "name": [f"New provider at {a}" for a in s["area_name"]],
            "postcode": "",
            "x": s["x"].to_numpy(float),
            "y": s["y"].to_numpy(float),
            "services": services_text(options.service_mask),
            "service_mask": np.full(k, options.service_mask, dtype=np.int64),
            "days": "every day" if options.weekend_working else "weekdays",
            "day_mask": np.full(k, options.day_mask, dtype=np.int64),
            "capacity_hours": np.full(k, options.hours_per_provider),
            "committed_hours": np.zeros(k),
            "max_travel_km": np.full(k, options.radius_km),
            "cover": np.ones(k, dtype=bool),
            "cqc_registered": np.zeros(k, dtype=bool),
            "row": np.zeros(k, dtype=int),
        }
    )


def _overall(table: pd.DataFrame, estimated: bool) -> float:
    if estimated:
        need, acc = table["estimated_need_hours"].sum(), table["estimated_accessible_hours"].sum()
    else:
        need, acc = table["need_hours"].sum(), table["accessible_hours"].sum()
    return float(acc / need) if need > 0 else float("nan")


def recruit(
    result: GapResult,
    areas: gpd.GeoDataFrame,
    providers: pd.DataFrame,
    people: pd.DataFrame,
    new_providers: list[int],
    *,
    options: RecruitOptions = RecruitOptions(),
    gap_options: GapOptions = GapOptions(),
    say=lambda m: None,
) -> RecruitResult:
    """Ranked areas, recommended sites and Kent-style scenarios for each K in ``new_providers``.

    Parameters
    ----------
    result
        The gap analysis of ``areas``, ``providers`` and ``people`` (with estimated need if
        it should be used).
    new_providers
        The numbers of new providers to place (e.g. Kent's targets 60, 223, 416).
    say
        Called with progress messages.

    Returns
    -------
    RecruitResult
        ``areas`` (exact: publish with :func:`publish_ranking`), ``sites`` (one row per
        chosen site per scenario, exact), ``scenarios`` (one row per K).
    """
    options.validate()
    cand = candidate_sites(areas)
    if not new_providers or any(k < 1 for k in new_providers):
        raise InputError("--new-providers must be whole numbers of 1 or more", file="command line")
    most = len(cand) * options.per_site
    if max(new_providers) > most:
        raise InputError(
            f"--new-providers {max(new_providers)} is more than the candidate sites allow: "
            f"{len(cand)} areas × --per-site {options.per_site} = {most}",
            file="command line",
        )
    demand = recruitment_demand(result, options)
    estimated = bool((demand["source"] == "estimated").any()) if len(demand) else False
    ranked = rank_areas(result, demand, options, gap_options)
    factor = _area_factor(result.table, gap_options)
    priority = factor.reindex(demand["area_code"].to_numpy()).fillna(1.0).to_numpy(float)
    dxy = demand[["x", "y"]].to_numpy(float)
    sxy = cand[["x", "y"]].to_numpy(float)
    radius_m = options.radius_km * 1000.0 / gap_options.circuity
    matrix = coverage_matrix(dxy, sxy, radius_m, demand["limit_m"].to_numpy(float))
    hours = demand["hours"].to_numpy(float)
    reach_hours = np.asarray(matrix.T.astype(float) @ hours).ravel()
    reach_people = np.asarray(matrix.T.astype(float) @ demand["people"].to_numpy(float)).ravel()
    t = result.table
    before_cov = _overall(t, estimated)
    rural_map = pd.Series(t["rural"].to_numpy(), index=t["area_code"].to_numpy())
    est_need = None
    if result.estimated_points is not None:
        e = result.estimated_points
        est_need = EstimatedNeed(
            e["x"].to_numpy(), e["y"].to_numpy(), e["need_hours"].to_numpy(),
            e["area_code"].to_numpy(), "as before",
        )  # fmt: skip
    scen_rows, site_frames, choices = [], [], {}
    total = float(hours.sum())
    for k in sorted(set(new_providers)):
        say(f"  placing {k} new providers ...")
        cap = capacitated_coverage(
            dxy, hours, sxy, radius_m, k, options.hours_per_provider,
            priority=priority, per_site=options.per_site, time_limit_s=options.time_limit_s,
            matrix=matrix,
        )  # fmt: skip
        plain = max_coverage(
            dxy, hours * priority, sxy, radius_m, min(k, len(cand)),
            time_limit_s=options.time_limit_s, workers=options.workers, matrix=matrix,
        )  # fmt: skip
        choices[k] = cap
        taken = float(cap.assigned.sum())
        s = cand.iloc[cap.sites].copy()
        s.insert(0, "new_providers", k)
        s["providers_at"] = cap.providers_at
        s["hours_taken"] = cap.site_hours
        s["unmet_hours_in_reach"] = reach_hours[cap.sites]
        s["people_in_reach"] = reach_people[cap.sites].astype(int)
        s = s.sort_values(["hours_taken", "area_code"], ascending=[False, True])
        s.insert(1, "site_rank", np.arange(1, len(s) + 1))
        site_frames.append(s)
        after = gap_analysis(
            areas,
            pd.concat([providers, new_providers_at(s, options)], ignore_index=True),
            people,
            rural=rural_map,
            estimated=est_need,
            options=gap_options,
        ).table
        scen_rows.append(
            {
                "new_providers": k,
                "sites": len(s),
                "providers_placed": int(s["providers_at"].sum()),
                "recruitable_unmet_hours": total,
                "unmet_hours_in_reach": float(hours[plain.covered].sum()),
                "hours_taken": taken,
                "share_of_unmet_taken": taken / total if total else np.nan,
                "coverage_before": before_cov,
                "coverage_after": _overall(after, estimated),
                "weekend_gaps_before": int(t["weekend_gap"].sum()),
                "weekend_gaps_after": int(after["weekend_gap"].sum()),
                "rural_gaps_before": int(t["rural_gap"].sum()),
                "rural_gaps_after": int(after["rural_gap"].sum()),
                "saving_per_year_vs_home_care": taken
                * options.weeks_per_year
                * (options.home_care_rate - options.micro_rate),
                "saving_per_year_if_direct_payments": taken
                * options.weeks_per_year
                * (options.home_care_rate - options.direct_payment_rate),
                "solver_status": cap.status,
                "gap_to_bound": cap.gap,
                "seconds": cap.seconds,
                "coverage_model_status": plain.status,
                "coverage_model_gap": plain.gap,
                "coverage_model_seconds": plain.seconds,
            }
        )
        say(
            f"    {len(s)} sites; {taken:,.0f} of {total:,.0f} recruitable unmet h a week taken "
            f"({cap.status}, gap {cap.gap:.2%}, {cap.seconds:.1f} s)"
        )
    kmax = max(new_providers)
    best = site_frames[-1]
    counts = best.groupby("area_code")["providers_at"].sum()
    ranked["new_providers_recommended"] = (
        counts.reindex(ranked["area_code"].to_numpy()).fillna(0).astype(int).to_numpy()
    )
    notes = [
        f"demand: {total:,.0f} recruitable unmet h a week from "
        + (
            "estimated need"
            if estimated
            else f"{int(demand['people'].sum()):,} people in the register"
        ),
        f"recruits: {options.hours_per_provider:g} h a week each, within {options.radius_km:g} km, "
        + ("working every day" if options.weekend_working else "weekdays only")
        + f", at most {options.per_site} per area; sites shown for K = {kmax}",
    ]
    return RecruitResult(
        ranked,
        pd.concat(site_frames, ignore_index=True),
        pd.DataFrame(scen_rows),
        demand,
        choices,
        notes,
    )


def publish_sites(sites: pd.DataFrame, rule: Suppression = Suppression()) -> pd.DataFrame:
    """Sites as they may be shared: counts of people in reach suppressed, hours rounded to 5
    (withheld where 1-7 people are in reach), coordinates of the site (an area's point, never a
    person's) in both grids."""
    out = sites.copy()
    people = sites["people_in_reach"].to_numpy()
    hidden = rule.hides(people)
    out["people_in_reach"] = np.where(
        hidden, "*", round_to(people, rule.base).astype(int).astype(str)
    )
    for c in ("hours_taken", "unmet_hours_in_reach"):
        out[c] = np.where(hidden, np.nan, round_to(sites[c].to_numpy(float), rule.base))
    pts = gpd.GeoSeries(gpd.points_from_xy(sites["x"], sites["y"]), crs=27700).to_crs(4326)
    out["easting"] = sites["x"].round(0).astype(int)
    out["northing"] = sites["y"].round(0).astype(int)
    out["latitude"] = pts.y.round(5).to_numpy()
    out["longitude"] = pts.x.round(5).to_numpy()
    return out.drop(columns=["x", "y"])


def publish_scenarios(scen: pd.DataFrame, rule: Suppression = Suppression()) -> pd.DataFrame:
    """Scenario figures are county totals: hours rounded to 5, money to £100, ratios to 0.001."""
    out = scen.copy()
    for c in ("recruitable_unmet_hours", "unmet_hours_in_reach", "hours_taken"):
        out[c] = round_to(out[c].to_numpy(float), rule.base)
    for c in ("saving_per_year_vs_home_care", "saving_per_year_if_direct_payments"):
        out[c] = round_to(out[c].to_numpy(float), 100)
    for c in ("share_of_unmet_taken", "coverage_before", "coverage_after"):
        out[c] = out[c].round(3)
    for c in ("gap_to_bound", "coverage_model_gap"):
        out[c] = out[c].round(4)
    for c in ("seconds", "coverage_model_seconds"):
        out[c] = out[c].round(1)
    return out
