"""Which areas are rural: worked out once per study (:attr:`gapmap.study.Study.rural_areas`).

In order of preference: a rural classification table given with the study (``--rural``, an
ONS Rural-Urban Classification by area code), a ``rural`` column of the area layer, and failing
both the density of the council's postcodes: fewer than ``rural_postcodes_per_km2`` (20)
postcodes per km² is rural (this agrees with ONS RUC 2011 for 90.5% of Kent's 2013 wards).
Areas the classification table does not name take the density flag.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from gapmap.io.areas import place_points

__all__ = ["RuralAreas", "postcode_density_rural", "rural_areas"]


@dataclass(frozen=True)
class RuralAreas:
    """The rural flag of each area of a study, and where it came from.

    Attributes
    ----------
    flags
        bool, one per area in the layer's order.
    note
        ``"rural areas: 112 of 259, from ..."``: the count and the source, for the run's notes.
    """

    flags: np.ndarray
    note: str


def postcode_density_rural(
    areas: gpd.GeoDataFrame, threshold_per_km2: float = 20.0, council=None
) -> np.ndarray:
    """Rural flag from postcode density (fallback when no classification is given).

    Parameters
    ----------
    areas
        The area layer; its ``postcodes`` column is used when present (the built-in sectors).
    threshold_per_km2
        Below this many postcodes per km² an area is rural.
    council
        The council whose postcodes are counted (:class:`~gapmap.councils.Council`; default
        Kent).

    Returns
    -------
    ndarray
        bool, one per area. Postcodes stacked more than 5 to a centroid (PO boxes, large users)
        are not counted.
    """
    from gapmap.councils import resolve_council
    from gapmap.postcodes import default_directory

    if "postcodes" in areas:
        counts = areas["postcodes"].to_numpy(float)
    else:
        served = council or resolve_council(None)
        pcs = default_directory().postcodes_in_districts(served.district_names, served.letters)
        stacked = pcs.groupby(["x", "y"])["postcode"].transform("size") > 5
        pcs = pcs[~stacked.to_numpy()]
        placed = place_points(areas, pcs["x"].to_numpy(), pcs["y"].to_numpy(), snap_m=0)
        counts = (
            pd.Series(placed.area_code[placed.placed])
            .value_counts()
            .reindex(areas["area_code"])
            .fillna(0)
            .to_numpy(float)
        )
    km2 = areas.area.to_numpy() / 1e6
    return np.divide(counts, km2, out=np.zeros_like(km2), where=km2 > 0) < threshold_per_km2


def rural_areas(
    areas: gpd.GeoDataFrame,
    classification: pd.Series | None,
    threshold_per_km2: float,
    council=None,
) -> RuralAreas:
    """The rural flag of every area, from the best source at hand.

    Parameters
    ----------
    areas
        The area layer (``area_code``; a ``rural`` column if it has one).
    classification
        Rural flag by area code from a classification table (``Study.rural``), or None.
    threshold_per_km2
        ``Settings.rural_postcodes_per_km2``, for the postcode-density fallback.
    council
        The council served (:class:`~gapmap.councils.Council`; default Kent).

    Returns
    -------
    RuralAreas
    """
    index = pd.Index(areas["area_code"].to_numpy())
    if classification is not None:
        flag = classification.reindex(index)
        note = ""
        if flag.isna().any():
            note = (
                f"; {int(flag.isna().sum())} areas have no rural classification and use "
                "postcode density"
            )
            fallback = postcode_density_rural(areas, threshold_per_km2, council)
            flag = flag.where(flag.notna(), pd.Series(fallback, index=index))
        out = flag.astype(bool).to_numpy()
        source = "the classification given" + note
    elif "rural" in areas:
        out = areas["rural"].astype(bool).to_numpy()
        source = "a column of the area layer"
    else:
        out = postcode_density_rural(areas, threshold_per_km2, council)
        served = council.name if council is not None else "Kent"
        source = (
            f"{served} postcode density below {threshold_per_km2:g} per km² "
            "(no classification given)"
        )
    return RuralAreas(out, f"rural areas: {int(out.sum())} of {len(out)}, from {source}")
