"""Recruitment targeting: where new micro-providers would close the most unmet need.

Three answers, all from one gap analysis (:func:`gapmap.gap_analysis`):

**Ranked areas.** Each area's *recruitable unmet hours* are the unmet hours a new
micro-provider could take: from the register, the unmet hours of people who are self-directing,
do not need regulated (CQC) care and need only the services recruits offer; or, with need
estimated from population, the estimated unmet hours. A recruit who works weekdays only can
take only the weekday share of them (a person's weekday days over all their days; for
estimated need, 5/7). The **priority score** is those hours weighted like the gap score:
× (1 + 0.5 if the area has a weekend gap + 0.5 if it has a rural gap), and, with ``--imd``
and ``--deprivation-weight w``, × (1 + w × (10 − IMD decile) / 9) so that the most deprived
areas count up to 1 + w times as much (:func:`priority_factor`). Areas are ranked by it, and
each gets its reason in words. With ``--imd`` each scenario also says how many of the hours
taken are in the most deprived 30% of England (deciles 1-3).

**Recommended sites.** Candidate sites are the areas' representative points (a point inside
each area). For each K, the capacitated maximal-coverage model of :mod:`gapmap.recruitment.location`
places K new providers, each giving ``hours_per_provider`` (27) hours a week within
``radius_km`` (10, SPEC.md's default travel limit) of the site, at most ``per_site`` (3) at
one site, taking the recruitable hours with their priority. Reach is the rule of every other
analysis (:func:`gapmap.reach.site_pairs`: distance × circuity within the radius and within a
person's own limit). The plain maximal-coverage model says how many unmet hours the K sites
would have in reach if capacity were no limit. Existing providers stay as they are: the
demand is what they leave unmet.

**Scenarios.** For each K: hours taken, coverage (the share of need in reach) before and
after (the gap analysis of :meth:`gapmap.Study.with_providers`, the new providers added),
weekend and rural gaps closed, and the yearly saving if those hours would otherwise be bought
as commissioned home care:

    saving = hours taken a week × weeks a year × (home care rate − micro-provider rate)

with the unit costs of :data:`gapmap.settings.UNIT_COSTS` (all settings).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from gapmap.errors import InputError, Problem
from gapmap.gaps import GapResult, area_factor, gap_analysis
from gapmap.reach import hours_on_days, nearest_km
from gapmap.recruitment.location import (
    SiteChoice,
    capacitated_coverage,
    coverage_matrix,
    max_coverage,
)
from gapmap.settings import UNIT_COSTS, Settings
from gapmap.study import Study
from gapmap.vocab import ALL_DAYS_MASK, WEEKEND_MASK, services_text

log = logging.getLogger(__name__)

__all__ = [
    "UNIT_COSTS",
    "RecruitResult",
    "candidate_sites",
    "new_providers_at",
    "priority_factor",
    "rank_areas",
    "check_scenarios",
    "recruit",
    "recruitment_demand",
]


@dataclass
class RecruitResult:
    """Ranked areas (exact, internal), sites per scenario, and the scenario table.

    Attributes
    ----------
    areas
        Every area with its recruitable unmet hours, priority score and rank (exact).
    sites
        One row per chosen site per scenario (exact).
    scenarios
        One row per number of new providers.
    demand
        The demand points used (internal: register points are people's postcode centroids).
    settings
        The settings the recruitment ran under.
    """

    areas: gpd.GeoDataFrame
    sites: pd.DataFrame
    scenarios: pd.DataFrame
    demand: pd.DataFrame
    settings: Settings
    choices: dict[int, SiteChoice] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: The same scenarios with recruits working the other days (weekdays only against every
    #: day), for the committee to compare side by side; None unless asked for.
    alternative: RecruitResult | None = None

    @property
    def recommended(self) -> int:
        """The scenario the report recommends: the fewest new providers that take at least
        95% of the hours the largest scenario takes (more recruits would add little)."""
        sc = self.scenarios
        if not len(sc):
            return 0
        most = float(sc["hours_taken"].max())
        enough = sc[sc["hours_taken"] >= 0.95 * most - 1e-9]
        return int(enough["new_providers"].min())


def recruitment_demand(result: GapResult) -> pd.DataFrame:
    """Unmet hours a new micro-provider could take, as demand points.

    Parameters
    ----------
    result
        The gap analysis of a study; its settings say what recruits are like and which need
        to use (``need``: register, estimated or auto).

    Returns
    -------
    DataFrame
        ``x``, ``y`` (BNG metres), ``area_code``, ``hours`` (recruitable unmet hours a week),
        ``limit_km`` (the person's own travel limit, NaN if none), ``people`` (1 per register
        person, 0 for estimated points) and ``source`` (``register`` or ``estimated``).
        Internal: register points are people's postcode centroids. People outside every area
        (left out with ``drop_outside``) are not demand.
    """
    s = result.study.settings
    use_estimated = s.need == "estimated" or (
        s.need == "auto" and result.estimated_points is not None
    )
    days = s.recruit_day_mask
    if use_estimated:
        if result.estimated_points is None:
            raise InputError(
                Problem("settings", "estimated need needs a census table", column="need")
            )
        e = result.estimated_points
        # estimated need is spread over every day of the week
        share = hours_on_days(1.0, ALL_DAYS_MASK, days)
        return pd.DataFrame(
            {
                "x": e["x"].to_numpy(float),
                "y": e["y"].to_numpy(float),
                "area_code": e["area_code"].to_numpy(),
                "hours": e["unmet_hours"].to_numpy(float) * share,
                "limit_km": np.nan,
                "people": 0,
                "source": "estimated",
            }
        )
    p = result.people
    need_mask = p["service_mask"].to_numpy(np.int64)
    ok = (
        p["self_directing"].to_numpy(bool)
        & ~p["regulated_care"].to_numpy(bool)
        & ((need_mask & s.recruit_service_mask) == need_mask)
        & result.study.in_area
    )
    unmet = p["unmet_hours"].to_numpy(float) * hours_on_days(
        np.ones(len(p)), p["day_mask"].to_numpy(np.int64), days
    )
    d = pd.DataFrame(
        {
            "x": p["x"].to_numpy(float),
            "y": p["y"].to_numpy(float),
            "area_code": p["area_code"].to_numpy(),
            "hours": unmet,
            "limit_km": p["max_travel_km"].to_numpy(float),
            "people": 1,
            "source": "register",
        }
    )
    return d[ok & (unmet > 1e-9)].reset_index(drop=True)


#: An area smaller than this (km²) is not a place to recruit in: in the built-in postcode
#: sectors these are delivery offices and PO boxes (CT50 1: 0.02 km², TN9 9: 0.02 km²); the
#: smallest residential Kent sector is 0.36 km².
MIN_SITE_KM2 = 0.1


def candidate_sites(areas: gpd.GeoDataFrame, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """One candidate site per area where people live: its representative point (inside it).

    Parameters
    ----------
    areas
        The study's areas (EPSG:27700).
    table
        The gap table: with it, only areas of at least :data:`MIN_SITE_KM2` where somebody is
        on the waiting list or the census estimates need (people live there) are candidates,
        so no recruit is sent to a delivery office's postcode sector or an empty one.

    Returns
    -------
    DataFrame
        ``area_code``, ``area_name``, ``district``, ``x``, ``y``.
    """
    pts = areas.geometry.representative_point()
    cand = pd.DataFrame(
        {
            "area_code": areas["area_code"].to_numpy(),
            "area_name": areas["area_name"].to_numpy(),
            "district": areas["district_name"].to_numpy(),
            "x": pts.x.to_numpy(),
            "y": pts.y.to_numpy(),
        }
    )
    if table is None:
        return cand
    lives = table["people"].to_numpy(float) > 0
    if "estimated_need_hours" in table:
        lives |= table["estimated_need_hours"].to_numpy(float) > 0
    big = areas.geometry.area.to_numpy() >= MIN_SITE_KM2 * 1e6
    return cand[lives & big].reset_index(drop=True)


def useful_recruits(
    providers_at: np.ndarray, site_hours: np.ndarray, per_provider: float, least: float
) -> tuple[np.ndarray, np.ndarray]:
    """Recruits at each site who would take at least ``least`` hours a week, and their hours.

    A site's last recruit takes what the others leave; one who would take less than ``least``
    (hours that round to 0 when published) is not recommended, and a site left with none is
    dropped.

    Parameters
    ----------
    providers_at, site_hours
        New providers at each chosen site and the hours the site takes.
    per_provider
        Hours a week one recruit gives.
    least
        The fewest hours worth a recruit.

    Returns
    -------
    (ndarray, ndarray)
        Recruits kept and the hours they take, per site.

    Examples
    --------
    >>> useful_recruits(np.array([3, 1, 1]), np.array([55.0, 27.0, 0.4]), 27.0, 2.5)
    (array([2, 1, 0]), array([54., 27.,  0.]))
    """
    n = np.asarray(providers_at, dtype=np.int64).copy()
    h = np.asarray(site_hours, dtype=float)
    last = h - (n - 1) * per_provider  # what the last recruit at each site takes
    while np.any((n > 0) & (last < least)):
        short = (n > 0) & (last < least)
        n[short] -= 1
        last = h - (n - 1) * per_provider
    return n, np.minimum(h, n * per_provider)


def rank_areas(result: GapResult, demand: pd.DataFrame) -> gpd.GeoDataFrame:
    """Every area with its recruitable unmet hours, priority score, rank and reason (exact).

    Parameters
    ----------
    result
        The gap analysis.
    demand
        The demand points (:func:`recruitment_demand`).

    Returns
    -------
    GeoDataFrame
        The gap table with ``recruitable_unmet_hours``, ``recruitable_people``,
        ``priority_score``, ``nearest_weekend_provider_km`` and ``priority_rank`` (1 = first;
        empty for areas with nothing a recruit could take). Publish it through
        :func:`gapmap.publish.publish_ranking`.
    """
    study = result.study
    t = result.table.copy()
    index = pd.Index(t["area_code"].to_numpy())
    hours = demand.groupby("area_code")["hours"].sum().reindex(index).fillna(0.0)
    people = demand.groupby("area_code")["people"].sum().reindex(index).fillna(0).astype(int)
    t["recruitable_unmet_hours"] = hours.to_numpy()
    t["recruitable_people"] = people.to_numpy()
    t["priority_score"] = t["recruitable_unmet_hours"] * priority_factor(t, study).to_numpy()
    providers = study.providers
    weekend = providers[(providers["day_mask"].to_numpy() & WEEKEND_MASK) > 0]
    rep = t.geometry.representative_point()
    t["nearest_weekend_provider_km"] = nearest_km(
        np.column_stack([rep.x.to_numpy(), rep.y.to_numpy()]),
        weekend[["x", "y"]].to_numpy(float),
        study.settings.circuity,
    )
    order = np.lexsort((t["area_code"].to_numpy(), -t["priority_score"].to_numpy()))
    rank = np.empty(len(t), dtype=np.int64)
    rank[order] = np.arange(1, len(t) + 1)
    t["priority_rank"] = pd.array(np.where(t["priority_score"] > 0, rank, 0), dtype="Int64")
    t.loc[t["priority_score"] <= 0, "priority_rank"] = pd.NA
    return t


def priority_factor(table: pd.DataFrame, study: Study) -> pd.Series:
    """The weight of each area's recruitable hours: the gap score's weights (weekend and rural
    gaps) × the equity weight for deprivation.

    With ``deprivation_weight`` w and an IMD decile d (1 = most deprived), the equity weight is
    ``1 + w × (10 − d) / 9``: 1 + w in the most deprived tenth of England, 1 in the least; 1
    where no decile is known.

    Parameters
    ----------
    table
        Rows with ``area_code``, ``weekend_gap``, ``rural_gap`` and, with ``--imd``,
        ``imd_decile``.
    study
        The study (its settings hold the weights).

    Returns
    -------
    Series
        By area code.
    """
    f = area_factor(table, study)
    w = study.settings.deprivation_weight
    if w > 0 and "imd_decile" in table:
        d = pd.to_numeric(table["imd_decile"], errors="coerce").to_numpy(float)
        equity = np.where(np.isnan(d), 1.0, 1.0 + w * (10.0 - d) / 9.0)
        f = f * equity
    return f


def new_providers_at(sites: pd.DataFrame, settings: Settings, prefix: str = "NEW") -> pd.DataFrame:
    """New providers as register rows at the chosen sites (for the gap analysis after).

    Parameters
    ----------
    sites
        Chosen sites with ``x``, ``y``, ``area_name`` and ``providers_at``.
    settings
        What recruits are like (hours, radius, days, services).
    prefix
        Start of the new providers' ids.

    Returns
    -------
    DataFrame
        A providers register, one row per new provider.
    """
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
            "services": services_text(settings.recruit_service_mask),
            "service_mask": np.full(k, settings.recruit_service_mask, dtype=np.int64),
            "days": "every day" if settings.weekend_working else "weekdays",
            "day_mask": np.full(k, settings.recruit_day_mask, dtype=np.int64),
            "capacity_hours": np.full(k, settings.hours_per_provider),
            "committed_hours": np.zeros(k),
            "max_travel_km": np.full(k, settings.radius_km),
            "cover": np.ones(k, dtype=bool),
            "cqc_registered": np.zeros(k, dtype=bool),
            "row": np.zeros(k, dtype=int),
        }
    )


def _totals(table: pd.DataFrame, estimated: bool) -> tuple[float, float]:
    """County need and unmet hours (estimated or register), exact."""
    if estimated:
        return float(table["estimated_need_hours"].sum()), float(
            table["estimated_unmet_hours"].sum()
        )
    return float(table["need_hours"].sum()), float(table["unmet_hours"].sum())


def _overall(table: pd.DataFrame, estimated: bool) -> float:
    """County coverage: the share of need in reach (1 − unmet / need)."""
    if estimated:
        need, unmet = table["estimated_need_hours"].sum(), table["estimated_unmet_hours"].sum()
    else:
        need, unmet = table["need_hours"].sum(), table["unmet_hours"].sum()
    return float(1.0 - unmet / need) if need > 0 else float("nan")


def _flows(choice: SiteChoice, cand: pd.DataFrame, demand: pd.DataFrame) -> pd.DataFrame:
    """The hours each chosen site takes from each area: ``area``, ``site``, ``hours``."""
    assert choice.flows is not None
    fi, fj, fv = choice.flows
    return pd.DataFrame(
        {
            "area": demand["area_code"].to_numpy()[fi],
            "site": cand["area_code"].to_numpy()[fj],
            "hours": fv,
        }
    )


def _areas_served(choice: SiteChoice, cand: pd.DataFrame, demand: pd.DataFrame) -> list[str]:
    """For each chosen site (in ``choice.sites`` order), the areas whose hours it takes, most
    hours first, as ``"name; name; ..."`` (at most five, then "and N more")."""
    flows = _flows(choice, cand, demand)
    names = dict(zip(cand["area_code"], cand["area_name"]))
    by_site = flows.groupby(["site", "area"])["hours"].sum().reset_index()
    out = []
    for j in choice.sites:
        code = cand["area_code"].iat[int(j)]
        rows = by_site[by_site["site"] == code]
        rows = rows.sort_values(["hours", "area"], ascending=[False, True])
        served = [str(names[a]) for a in rows["area"]]
        text = "; ".join(served[:5])
        if len(served) > 5:
            text += f" and {len(served) - 5} more"
        out.append(text)
    return out


def _people_served(choice: SiteChoice, demand: pd.DataFrame) -> np.ndarray:
    """For each chosen site (in ``choice.sites`` order), how many register people it takes
    hours from (publishing withholds its hours taken when they are 1-7)."""
    assert choice.flows is not None
    fi, fj, fv = choice.flows
    people = demand["people"].to_numpy(float)
    out = []
    for j in choice.sites:
        rows = np.unique(np.asarray(fi)[(np.asarray(fj) == j) & (np.asarray(fv) > 1e-9)])
        out.append(int(people[rows].sum()))
    return np.asarray(out, dtype=np.int64)


def _explain_areas(
    ranked: gpd.GeoDataFrame,
    choice: SiteChoice,
    cand: pd.DataFrame,
    demand: pd.DataFrame,
    matrix,
) -> None:
    """Say, for every area, what the largest scenario does for it (columns added in place).

    ``hours_taken_by_recruits``: the area's recruitable hours the new providers take;
    ``served_by``: the area name of the site taking most of them; ``outcome_code``: ``site``
    (new providers are placed here), ``served`` (all its recruitable hours are taken),
    ``partly`` (some are), ``in_reach_full`` (a chosen site reaches it but its recruits are
    fully booked with hours that weigh as much or more), ``elsewhere`` (no chosen site
    reaches it: the recruits take more priority-weighted hours elsewhere) or ``nothing`` (no
    hours a recruit could take).
    """
    codes = ranked["area_code"].to_numpy()
    flows = _flows(choice, cand, demand)
    taken = flows.groupby("area")["hours"].sum().reindex(codes).fillna(0.0).to_numpy()
    main = (
        flows.groupby(["area", "site"])["hours"].sum().reset_index()
        .sort_values(["hours", "site"], ascending=[False, True])
        .drop_duplicates("area").set_index("area")["site"]
    )  # fmt: skip
    names = dict(zip(cand["area_code"], cand["area_name"]))
    served_by = [names.get(main.get(c, ""), "") for c in codes]
    chosen = np.asarray(choice.sites, dtype=np.int64)
    d_area = demand["area_code"].to_numpy()
    reached = np.zeros(len(demand), dtype=bool)
    if len(chosen) and len(demand):
        reached = np.asarray(matrix[:, chosen].sum(axis=1)).ravel() > 0
    area_reached = pd.Series(reached).groupby(d_area).any().reindex(codes).fillna(False)
    site_codes = set(cand["area_code"].to_numpy()[chosen])
    want = ranked["recruitable_unmet_hours"].to_numpy(float)
    code = np.full(len(codes), "elsewhere", dtype=object)
    code[area_reached.to_numpy(bool)] = "in_reach_full"
    code[taken > 1e-6] = "partly"
    code[(taken > 1e-6) & (taken >= want - 1e-6)] = "served"
    code[want <= 1e-9] = "nothing"
    code[np.isin(codes, list(site_codes))] = "site"
    ranked["hours_taken_by_recruits"] = taken
    ranked["served_by"] = served_by
    ranked["outcome_code"] = code


def check_scenarios(study: Study, new_providers: list[int]) -> list[Problem]:
    """Problems with the numbers of new providers asked for (found before any long work).

    Parameters
    ----------
    study
        The study (its areas are the candidate sites; ``per_site`` its settings').
    new_providers
        The numbers of new providers asked for.

    Returns
    -------
    list of Problem
        Each naming the field ``new_providers``.
    """
    problems = []
    if not new_providers or any(k < 1 for k in new_providers):
        problems.append(
            Problem("settings", "must be whole numbers of 1 or more", column="new_providers")
        )
    else:
        most = len(study.areas) * study.settings.per_site
        if max(new_providers) > most:
            problems.append(
                Problem(
                    "settings",
                    f"{max(new_providers)} is more than the candidate sites allow: "
                    f"{len(study.areas)} areas × {study.settings.per_site} per site = {most}",
                    column="new_providers",
                )
            )
    return problems


def recruit(
    result: GapResult,
    new_providers: list[int],
    *,
    other_days: bool = False,
) -> RecruitResult:
    """Ranked areas, recommended sites and Kent-style scenarios for each K in ``new_providers``.

    Parameters
    ----------
    result
        The gap analysis of a study (:func:`gapmap.gap_analysis`); the study's settings say
        what recruits are like, the costs and the time limit.
    new_providers
        The numbers of new providers to place (e.g. Kent's targets 60, 223, 416).
    other_days
        Also run the scenarios with recruits working the other days (every day when the
        settings say weekdays, and the other way round) into ``alternative``, so that the
        report and workbook can set the two side by side.

    Returns
    -------
    RecruitResult
        ``areas`` (exact: publish with :func:`gapmap.publish.publish_ranking`), ``sites`` (one
        row per chosen site per scenario, exact), ``scenarios`` (one row per K).

    Examples
    --------
    >>> import gapmap
    >>> study = gapmap.datasets.demo_study(recruit_time_limit_s=2)
    >>> rec = gapmap.recruit(gapmap.gap_analysis(study), [60])   # Kent: [60, 223, 416]
    >>> rec.scenarios["new_providers"].tolist(), bool(rec.scenarios["hours_taken"].iloc[0] > 0)
    ([60], True)
    """
    study = result.study
    s = study.settings
    problems = check_scenarios(study, new_providers)
    if problems:
        raise InputError(problems)
    cand = candidate_sites(study.areas, result.table)
    demand = recruitment_demand(result)
    estimated = bool((demand["source"] == "estimated").any()) if len(demand) else False
    ranked = rank_areas(result, demand)
    factor = priority_factor(result.table, study)
    priority = factor.reindex(demand["area_code"].to_numpy()).fillna(1.0).to_numpy(float)
    deprived = set()
    if "imd_decile" in result.table:
        d = result.table["imd_decile"]
        deprived = set(result.table.loc[d.notna() & (d <= 3), "area_code"])
    in_deprived = demand["area_code"].isin(deprived).to_numpy()
    dxy = demand[["x", "y"]].to_numpy(float)
    sxy = cand[["x", "y"]].to_numpy(float)
    radius_m = s.radius_km * 1000.0
    matrix = coverage_matrix(
        dxy, sxy, radius_m, demand["limit_km"].to_numpy(float) * 1000.0, circuity=s.circuity
    )
    hours = demand["hours"].to_numpy(float)
    reach_hours = np.asarray(matrix.T.astype(float) @ hours).ravel()
    reach_people = np.asarray(matrix.T.astype(float) @ demand["people"].to_numpy(float)).ravel()
    t = result.table
    before_cov = _overall(t, estimated)
    scen_rows, site_frames, choices = [], [], {}
    total = float(hours.sum())
    for k in sorted(set(new_providers)):
        log.info(f"  placing {k} new providers ...")
        cap = capacitated_coverage(
            dxy, hours, sxy, radius_m, k, s.hours_per_provider,
            priority=priority, per_site=s.per_site, time_limit_s=s.recruit_time_limit_s,
            matrix=matrix,
        )  # fmt: skip
        plain = max_coverage(
            dxy, hours * priority, sxy, radius_m, min(k, len(cand)),
            time_limit_s=s.recruit_time_limit_s, workers=s.workers, matrix=matrix,
        )  # fmt: skip
        choices[k] = cap
        assert cap.assigned is not None
        # no recruit who would take hours that round to nothing
        kept, site_hours = useful_recruits(
            np.asarray(cap.providers_at), np.asarray(cap.site_hours, float),
            s.hours_per_provider, s.suppression.base / 2,
        )  # fmt: skip
        taken = float(site_hours.sum())
        sites = cand.iloc[cap.sites].copy()
        sites.insert(0, "new_providers", k)
        sites["providers_at"] = kept
        sites["hours_taken"] = site_hours
        sites["unmet_hours_in_reach"] = reach_hours[cap.sites]
        sites["people_in_reach"] = reach_people[cap.sites].astype(int)
        sites["areas_served"] = _areas_served(cap, cand, demand)
        sites["people_served"] = _people_served(cap, demand)
        sites = sites[sites["providers_at"] > 0]
        sites = sites.sort_values(["hours_taken", "area_code"], ascending=[False, True])
        sites.insert(1, "site_rank", np.arange(1, len(sites) + 1))
        site_frames.append(sites)
        after = gap_analysis(study.with_providers(new_providers_at(sites, s))).table
        scen_rows.append(
            {
                "new_providers": k,
                "sites": len(sites),
                "providers_placed": int(sites["providers_at"].sum()),
                "recruitable_unmet_hours": total,
                "unmet_hours_in_reach": float(hours[plain.covered].sum()),
                "hours_taken": taken,
                "share_of_unmet_taken": taken / total if total else np.nan,
                **(
                    {
                        "hours_taken_most_deprived": min(
                            taken, float(cap.assigned[in_deprived].sum())
                        )
                    }
                    if deprived
                    else {}
                ),
                "coverage_before": before_cov,
                "coverage_after": _overall(after, estimated),
                # exact totals the published shares are made from (publish drops them)
                "need_hours_total": _totals(t, estimated)[0],
                "unmet_hours_before": _totals(t, estimated)[1],
                "unmet_hours_after": _totals(after, estimated)[1],
                "weekend_gaps_before": int(t["weekend_gap"].sum()),
                "weekend_gaps_after": int(after["weekend_gap"].sum()),
                "rural_gaps_before": int(t["rural_gap"].sum()),
                "rural_gaps_after": int(after["rural_gap"].sum()),
                "saving_per_year_vs_home_care": taken
                * s.weeks_per_year
                * (s.home_care_rate - s.micro_rate),
                "saving_per_year_if_direct_payments": taken
                * s.weeks_per_year
                * (s.home_care_rate - s.direct_payment_rate),
                "solver_status": cap.status,
                "gap_to_bound": cap.gap,
                "seconds": cap.seconds,
                "coverage_model_status": plain.status,
                "coverage_model_gap": plain.gap,
                "coverage_model_seconds": plain.seconds,
            }
        )
        # no hours here: the terminal of a published run prints published figures only
        log.info(f"    {len(sites)} sites ({cap.status}, gap {cap.gap:.2%}, {cap.seconds:.1f} s)")
    kmax = max(new_providers)
    best = site_frames[-1]
    counts = best.groupby("area_code")["providers_at"].sum()
    ranked["new_providers_recommended"] = (
        counts.reindex(ranked["area_code"].to_numpy()).fillna(0).astype(int).to_numpy()
    )
    _explain_areas(ranked, choices[kmax], cand, demand, matrix)
    notes = [
        f"recruits: {s.hours_per_provider:g} h a week each, within {s.radius_km:g} km, "
        + ("working every day" if s.weekend_working else "weekdays only")
        + f", at most {s.per_site} per area; sites shown for K = {kmax}",
    ]
    alternative = None
    if other_days:
        log.info("  the same scenarios with recruits working " + (
            "weekdays only ..." if s.weekend_working else "every day ..."
        ))  # fmt: skip
        other = GapResult(
            result.table, result.people, study.with_settings(weekend_working=not s.weekend_working),
            result.coverage, result.notes, result.estimated_points,
        )  # fmt: skip
        alternative = recruit(other, new_providers)
    return RecruitResult(
        ranked,
        pd.concat(site_frames, ignore_index=True),
        pd.DataFrame(scen_rows),
        demand,
        s,
        choices,
        notes,
        alternative,
    )
