"""Placing the registers in the areas analysed.

Which area each provider and person is in (:func:`place_in_areas`), the counts by district
(:func:`placement_summary`), and the records outside every area that are a problem
(:func:`outside_problems`). The geometry is :func:`gapmap.io.areas.place_points`; distances
are measured as reach measures them (:func:`gapmap.reach.road_km`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gapmap.errors import Problem
from gapmap.io.areas import place_points
from gapmap.reach import road_km

__all__ = ["outside_problems", "place_in_areas", "placement_summary"]


def place_in_areas(
    register: pd.DataFrame,
    areas: gpd.GeoDataFrame,
    *,
    snap_m: float,
) -> pd.DataFrame:
    """Add ``area_code`` and ``snapped_m`` to a register (a copy).

    Points just outside every area (generalised coastlines) go to the nearest area within
    ``snap_m`` metres; records further away keep an empty ``area_code`` and are listed in
    ``.attrs["unplaced"]`` (their row numbers) so callers can report them.

    Parameters
    ----------
    register
        A register with ``x``, ``y`` and ``row``.
    areas
        The area layer.
    snap_m
        As for :func:`gapmap.io.areas.place_points`.

    Returns
    -------
    DataFrame
    """
    placed = place_points(areas, register["x"].to_numpy(), register["y"].to_numpy(), snap_m=snap_m)
    out = register.copy()
    out["area_code"] = placed.area_code
    out["snapped_m"] = placed.snapped_m
    out.attrs["unplaced"] = register.loc[~placed.placed, "row"].tolist()
    return out


def placement_summary(
    areas: gpd.GeoDataFrame, providers: pd.DataFrame, people: pd.DataFrame
) -> pd.DataFrame:
    """Providers, people and hours by district, for registers already placed in ``areas``.

    Parameters
    ----------
    areas
        The area layer.
    providers, people
        Registers placed in it (:func:`place_in_areas`).

    Returns
    -------
    DataFrame
        One row per district (and ``"(not placed)"`` for records outside every area) with
        ``areas, providers, capacity_hours, committed_hours, people, need_hours`` (exact:
        publish through :func:`gapmap.publish.summaries.placement_lines`).
    """
    district = areas.set_index("area_code")["district_name"].replace("", "(no district)")

    def by_district(reg: pd.DataFrame) -> pd.Series:
        d = reg["area_code"].map(district)
        return d.where(reg["area_code"] != "", "(not placed)").fillna("(not placed)")

    prov = providers.assign(district=by_district(providers))
    ppl = people.assign(district=by_district(people))
    table = pd.DataFrame(
        {"areas": areas.groupby(areas["district_name"].replace("", "(no district)")).size()}
    )
    table = table.join(
        prov.groupby("district").agg(
            providers=("provider_id", "size"),
            capacity_hours=("capacity_hours", "sum"),
            committed_hours=("committed_hours", "sum"),
        ),
        how="outer",
    ).join(
        ppl.groupby("district").agg(people=("person_id", "size"), need_hours=("hours", "sum")),
        how="outer",
    )
    return (
        table.fillna(0)
        .astype({"areas": int, "providers": int, "people": int})
        .rename_axis("district")
    )


def outside_problems(
    register: pd.DataFrame,
    areas: gpd.GeoDataFrame,
    *,
    file: str,
    what: str,
    snap_m: float,
    circuity: float = 1.0,
    placed: np.ndarray | None = None,
) -> list[Problem]:
    """Problems for records that are outside the areas analysed (a wrong postcode, usually).

    A person outside every area (beyond ``snap_m``) is a problem: their need would be counted
    nowhere. A provider outside every area is a problem only when it is further from every area
    than its own travel limit, so could serve nobody in them (a provider just over the county
    border who travels into it is fine). Further is measured as reach measures it
    (:func:`gapmap.reach.road_km`: straight line × ``circuity``), so a provider kept here can
    reach someone at the edge of the nearest area.

    Parameters
    ----------
    register
        A register from :func:`gapmap.io.registers.read_people` or
        :func:`gapmap.io.registers.read_providers`.
    areas
        The areas analysed (EPSG:27700).
    file
        The register's file name, for the messages.
    what
        ``"people"`` or ``"providers"``.
    snap_m
        As for :func:`gapmap.io.areas.place_points`.
    circuity
        The study's circuity (``Settings.circuity``).
    placed
        Which records are in an area, when the register is placed already
        (:func:`place_in_areas`: ``area_code != ""``); by default placed here.

    Returns
    -------
    list of Problem

    Examples
    --------
    A provider 9 km (straight line) outside with a 10 km limit is 11.7 km away by road at
    circuity 1.3, beyond its limit:

    >>> import geopandas as gpd, shapely
    >>> areas = gpd.GeoDataFrame({"area_code": ["E1"]},
    ...     geometry=[shapely.box(0, 0, 1000, 1000)], crs=27700)
    >>> p = pd.DataFrame({"x": [10000.0], "y": [500.0], "max_travel_km": [10.0], "row": [2],
    ...     "postcode": ["ME1 1AA"]})
    >>> len(outside_problems(p, areas, file="p.csv", what="providers", snap_m=0))
    0
    >>> len(outside_problems(p, areas, file="p.csv", what="providers", snap_m=0, circuity=1.3))
    1
    """
    if placed is None:
        at = place_points(areas, register["x"].to_numpy(), register["y"].to_numpy(), snap_m=snap_m)
        placed = at.placed
    out = np.flatnonzero(~np.asarray(placed, dtype=bool))
    if len(out) == 0:
        return []
    sub = register.iloc[out]
    pts = shapely.points(sub["x"].to_numpy(float), sub["y"].to_numpy(float))
    (pi, ai), dist = areas.sindex.nearest(pts, return_distance=True, return_all=False)
    km = np.full(len(out), np.nan)
    km[pi] = road_km(dist, circuity)
    nearest = np.full(len(out), "", dtype=object)
    nearest[pi] = areas["area_code"].to_numpy()[ai]
    by_road = f" by road at circuity {circuity:g}" if circuity != 1.0 else ""
    problems = []
    for j, (_, rec) in enumerate(sub.iterrows()):
        if what == "providers" and km[j] <= float(rec["max_travel_km"]):
            continue
        column = "postcode" if str(rec.get("postcode", "") or "") else "lat"
        hint = (
            "beyond its own travel limit, so it could serve no one here"
            if what == "providers"
            else "so the need would be counted nowhere"
        )
        problems.append(
            Problem(
                file,
                f"the location is outside every area analysed ({km[j]:,.1f} km{by_road} from the "
                f"nearest, {nearest[j]}), {hint}; is the postcode right? (--drop-outside leaves "
                "such rows out)",
                row=int(rec["row"]),
                column=column,
                value=str(rec.get("postcode", "") or "") or None,
            )
        )
    return problems
