"""Maps for a notebook: ``GapResult.explore()`` and ``Matching.explore()``.

Each returns the same kind of :class:`folium.Map` as the files ``gapmap`` writes (built by
:mod:`gapmap.publish.maps`), so the rules of publishing hold in a notebook too: only published
figures (counts of people suppressed and hours rounded under the study's
:class:`~gapmap.publish.disclosure.Suppression`), providers at their postcode centroid, and no
person's place or id. A notebook shows the map as it is; :func:`gapmap.publish.maps.save_map`
writes it as one offline HTML file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from gapmap.publish.disclosure import published_ratio, suppress
from gapmap.publish.maplayers import _area_map, _common_keys, _withheld, _worded
from gapmap.publish.mapplaces import search_places
from gapmap.publish.maps import gap_map
from gapmap.publish.mapwords import _esc, _hours, _pct, _table_html
from gapmap.publish.palette import Classes, hour_classes
from gapmap.publish.provenance import caption
from gapmap.publish.published import Published
from gapmap.publish.tables import publish_gaps

if TYPE_CHECKING:
    from gapmap.gaps import GapResult
    from gapmap.matching.result import Matching

__all__ = ["gap_folium_map", "matching_by_area", "matching_map"]


def gap_folium_map(
    result: GapResult | Published,
    *,
    title: str = "gapmap: micro-provider gaps",
    published: gpd.GeoDataFrame | None = None,
    resilience: pd.DataFrame | None = None,
) -> folium.Map:
    """The gap map of a gap analysis (``gap_map.html``'s map) under the study's settings.

    The one place the gap map is built: ``gap_map.html``
    (:func:`gapmap.publish.outputs.write_gap_map`) is this map saved.

    Parameters
    ----------
    result
        A :class:`~gapmap.gaps.GapResult`, or the run's
        :class:`~gapmap.publish.published.Published` (its areas and rule).
    title
        The heading above the map.
    published
        The published area table (default: the :class:`~gapmap.publish.published.Published`'s
        areas, else :func:`gapmap.publish.publish_gaps` of ``result.table`` under the study's
        suppression rule).
    resilience
        N−1 by area as published (:func:`gapmap.publish.cover.publish_resilience`).

    Returns
    -------
    folium.Map
    """
    if isinstance(result, Published):
        rule = result.rule
        if published is None:
            published = result.areas
        result = result.result
    else:
        rule = result.study.settings.suppression
    study = result.study
    if published is None:
        published = publish_gaps(result.table, rule)
    return gap_map(
        published,
        result.providers,
        title=title,
        caption=caption(study.sources),
        places=search_places(study),
        weekend_weight=study.settings.weekend_weight,
        rural_weight=study.settings.rural_weight,
        resilience=resilience,
        rule=rule,
    )


def matching_by_area(matching: Matching) -> gpd.GeoDataFrame:
    """The matching by area **as published**: people waiting, people left unmatched, and their
    hours, suppressed under the study's rule.

    Parameters
    ----------
    matching
        What :func:`gapmap.match` returned.

    Returns
    -------
    GeoDataFrame
        One row per area (EPSG:27700): ``area_code``, ``area_name``, ``district``, ``people``
        and ``unmatched`` (text: ``*`` where the rule hides them, else rounded),
        ``matched_hours`` and ``unmatched_hours`` (rounded; NaN where the area's people are
        hidden), ``share_matched`` (of the published hours).
    """
    study = matching.study
    rule = study.settings.suppression
    people = study.people
    matched = np.zeros(len(people), bool)
    matched[list(matching.best.matches)] = True
    hours = people["hours"].to_numpy(float)
    by = pd.DataFrame(
        {
            "area_code": people["area_code"].astype(str).to_numpy(),
            "people": 1,
            "unmatched": (~matched).astype(int),
            "matched_hours": np.where(matched, hours, 0.0),
            "unmatched_hours": np.where(matched, 0.0, hours),
        }
    )
    sums = by[by["area_code"] != ""].groupby("area_code").sum()
    areas = study.areas
    t = pd.DataFrame(
        {
            "area_code": areas["area_code"].astype(str).to_numpy(),
            "area_name": areas["area_name"].to_numpy(),
            "district": areas["district_name"].to_numpy()
            if "district_name" in areas
            else areas["district_code"].to_numpy(),
        }
    )
    t = t.join(sums, on="area_code").fillna(
        {"people": 0, "unmatched": 0, "matched_hours": 0.0, "unmatched_hours": 0.0}
    )
    for c in ("people", "unmatched"):
        t[c] = t[c].astype(int)
    out = suppress(
        t,
        count_columns=["people", "unmatched"],
        hour_columns=["matched_hours", "unmatched_hours"],
        rule=rule,
    )
    m, u = out["matched_hours"].to_numpy(float), out["unmatched_hours"].to_numpy(float)
    out["share_matched"] = published_ratio(m, m + u)
    return gpd.GeoDataFrame(out, geometry=areas.geometry.to_numpy(), crs=areas.crs)


def matching_map(
    matching: Matching, *, title: str = "gapmap: who the matching leaves waiting"
) -> folium.Map:
    """The interactive map of a matching by area (published figures only).

    Parameters
    ----------
    matching
        What :func:`gapmap.match` returned.
    title
        The heading above the map.

    Returns
    -------
    folium.Map
    """
    study = matching.study
    rule = study.settings.suppression
    published = matching_by_area(matching)
    t = pd.DataFrame(published.drop(columns=published.geometry.name))
    hidden = _withheld(t)
    held = f"withheld ({rule.few} people)"
    tips = [
        _table_html(
            [
                ("Area", f"{_esc(r['area_name'])} ({_esc(r['area_code'])})"),
                ("District", _esc(r["district"])),
                ("People waiting", rule.few if h else _esc(r["people"])),
                ("People the matching leaves waiting", rule.few if h else _esc(r["unmatched"])),
                ("Hours a week matched", _hours(r["matched_hours"], held)),
                ("Hours a week left unmatched", _hours(r["unmatched_hours"], held)),
                ("Share of hours matched", "withheld" if h else _pct(r["share_matched"])),
            ]
        )
        for r, h in zip(t.to_dict("records"), hidden)
    ]
    unmatched = hour_classes(
        t["unmatched_hours"],
        title="Hours a week left unmatched",
        explain="Hours of the waiting list that the matching could give to no provider, "
        "partner and cover within travel distance with room.",
        rule=rule,
    )
    matched = hour_classes(
        t["matched_hours"],
        title="Hours a week matched",
        explain="Hours of the waiting list the matching gives to a provider (with partner and "
        "cover where needed).",
        rule=rule,
    )
    layers: list[tuple[str, str, Classes, list[str]]] = [
        ("unmatched", "Hours left unmatched", unmatched,
         [unmatched.colour(v) for v in t["unmatched_hours"]]),
        ("matched", "Hours matched", matched, [matched.colour(v) for v in t["matched_hours"]]),
    ]  # fmt: skip
    note = (
        f"Hours {rule.rounding}; areas with {rule.hidden} people show * and withhold their "
        "figures. Providers are drawn at their postcode's centre."
    )
    return _area_map(
        published, study.providers, title=title, caption=caption(study.sources), tips=tips,
        layers=_worded(layers, rule), key_lines=_common_keys(rural=False), note=note,
        places=search_places(study), rural_shown=False,
    )  # fmt: skip
