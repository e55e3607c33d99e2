"""One scenario of K recruits: the new providers at their sites and what they change, in words.

:func:`new_providers_at` makes register rows of the recruits at the chosen sites (so the gap
analysis after is the same gap analysis with them added); the helpers here total the hours
taken and say which areas and how many people each site would serve; :func:`check_scenarios`
finds a number of recruits the study cannot place before any long work.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gapmap.errors import Problem
from gapmap.recruitment.location import (
    SiteChoice,
)
from gapmap.settings import Settings
from gapmap.study import Study
from gapmap.vocab import services_text

__all__ = ["check_scenarios", "new_providers_at"]


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
