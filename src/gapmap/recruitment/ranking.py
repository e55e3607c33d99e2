"""Where recruits are needed: the unmet hours a new micro-provider could take, areas ranked by them.

:func:`recruitment_demand` turns a gap analysis into demand points (the register's
self-directing people who need only the services recruits offer, or the estimated need);
:func:`priority_factor` weights them like the gap score (weekend and rural gaps, deprivation);
:func:`rank_areas` ranks the areas; :func:`candidate_sites` are the areas' representative
points a site may be placed at. The formulas are in :mod:`gapmap.recruitment.targeting`.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gapmap.errors import InputError, Problem
from gapmap.gaps import GapResult, area_factor
from gapmap.reach import hours_on_days, nearest_km
from gapmap.study import Study
from gapmap.vocab import ALL_DAYS_MASK, WEEKEND_MASK

__all__ = [
    "MIN_SITE_KM2",
    "candidate_sites",
    "priority_factor",
    "rank_areas",
    "recruitment_demand",
    "useful_recruits",
]


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
