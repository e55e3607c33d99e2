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

This module runs the three (:func:`recruit`, :class:`RecruitResult`); the demand and ranking are
in :mod:`gapmap.recruitment.ranking`, one scenario's providers and words in
:mod:`gapmap.recruitment.scenarios`, the siting models in :mod:`gapmap.recruitment.location`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from gapmap.errors import InputError
from gapmap.gaps import GapResult, gap_analysis
from gapmap.recruitment.location import (
    SiteChoice,
    capacitated_coverage,
    coverage_matrix,
    max_coverage,
)
from gapmap.recruitment.ranking import (
    MIN_SITE_KM2,
    candidate_sites,
    priority_factor,
    rank_areas,
    recruitment_demand,
    useful_recruits,
)
from gapmap.recruitment.scenarios import (
    _areas_served,
    _explain_areas,
    _overall,
    _people_served,
    _totals,
    check_scenarios,
    new_providers_at,
)
from gapmap.settings import UNIT_COSTS, Settings

__all__ = [
    "MIN_SITE_KM2",
    "UNIT_COSTS",
    "RecruitResult",
    "candidate_sites",
    "new_providers_at",
    "priority_factor",
    "rank_areas",
    "check_scenarios",
    "recruit",
    "recruitment_demand",
    "useful_recruits",
]


log = logging.getLogger(__name__)


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
