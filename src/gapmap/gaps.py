"""The area table: need, coverage, unmet hours, rural and weekend flags, gap score.

One row per area (SPEC.md, ``gapmap gaps``). The rules, with their defaults (all options of
:class:`GapOptions`):

``coverage_ratio``
    accessible hours / need hours, from the 2SFCA of :mod:`gapmap.coverage` (empty where the
    area has no need). 1.0 means the providers in reach could in principle cover all of it.
``rural``
    from a rural flag or ONS Rural-Urban Classification given with the areas or in a table;
    failing that, from postcode density: fewer than ``rural_postcodes_per_km2`` (20) Kent
    postcodes per km² is rural (this agrees with ONS RUC 2011 for 90.5% of Kent's 2013 wards).
``rural_gap``
    a rural area with need where coverage is below ``coverage_threshold`` (0.5) or the nearest
    provider is more than ``rural_distance_km`` (10 km) away.
``weekend_gap``
    an area with weekend need whose weekend coverage is below ``weekend_threshold`` (0.5).
``gap_score``
    unmet hours a week, weighted up by ``weekend_weight`` (50%) for a weekend gap and by
    ``rural_weight`` (50%) for a rural gap: the hours to close, with weekend and rural gaps
    counting more, since those are where micro-providers are hardest to find.
``gap_band``
    ``none`` (no unmet need), ``low``/``medium``/``high``: coverage ≥ 0.75, ≥ 0.4, below 0.4.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from .areas import place_points
from .coverage import Coverage, person_coverage, two_step_fca
from .disclosure import Suppression, round_to, suppress
from .need import EstimatedNeed
from .reach import Reach, eligible_pairs
from .registers import place_in_areas

__all__ = [
    "GAP_COLUMNS",
    "GapOptions",
    "GapResult",
    "gap_analysis",
    "postcode_density_rural",
    "publish_gaps",
]

GAP_COLUMNS = [
    "area_code", "area_name", "district", "rural", "people", "providers", "need_hours",
    "weekend_need_hours", "accessible_hours", "weekend_accessible_hours", "coverage_ratio",
    "weekend_coverage_ratio", "unmet_hours", "weekend_unmet_hours",
    "need_hours_not_self_directing", "nearest_provider_km", "rural_gap", "weekend_gap",
    "gap_score", "gap_band",
]  # fmt: skip

ESTIMATED_COLUMNS = [
    "estimated_need_hours",
    "estimated_accessible_hours",
    "estimated_coverage_ratio",
    "estimated_unmet_hours",
]


@dataclass(frozen=True)
class GapOptions:
    """Thresholds and methods of the gap analysis (see the module docstring)."""

    coverage_threshold: float = 0.5
    weekend_threshold: float = 0.5
    rural_distance_km: float = 10.0
    weekend_weight: float = 0.5
    rural_weight: float = 0.5
    rural_postcodes_per_km2: float = 20.0
    enhanced: bool = False
    circuity: float = 1.0
    snap_m: float = 2000.0

    def validate(self) -> None:
        from .errors import InputError

        bad = []
        for name in ("coverage_threshold", "weekend_threshold"):
            if not 0 <= getattr(self, name) <= 10:
                bad.append(f"{name} must be between 0 and 10")
        for name in (
            "rural_distance_km",
            "weekend_weight",
            "rural_weight",
            "rural_postcodes_per_km2",
            "snap_m",
        ):
            if getattr(self, name) < 0:
                bad.append(f"{name} must not be negative")
        if not 1.0 <= self.circuity <= 5.0:
            bad.append("circuity must be between 1 and 5")
        if bad:
            raise InputError("; ".join(bad), file="options")


@dataclass
class GapResult:
    """Everything the gap analysis found; ``table`` is exact (internal), not yet suppressed."""

    table: gpd.GeoDataFrame
    people: pd.DataFrame  # placed, with coverage columns (internal only)
    providers: pd.DataFrame  # placed
    reach: Reach
    coverage: Coverage
    notes: list[str] = field(default_factory=list)
    # estimated need as demand points (x, y, area_code, need_hours, unmet_hours), when given
    estimated_points: pd.DataFrame | None = None


def postcode_density_rural(areas: gpd.GeoDataFrame, threshold_per_km2: float = 20.0) -> np.ndarray:
    """Rural flag from Kent postcode density (fallback when no classification is given).

    Postcodes stacked more than 5 to a centroid (PO boxes, large users) are not counted.
    """
    from ._kent import KENT_DISTRICTS
    from .postcodes import default_directory

    if "postcodes" in areas:
        counts = areas["postcodes"].to_numpy(float)
    else:
        pcs = default_directory().postcodes_in_districts(KENT_DISTRICTS, "BCDMT")
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


def _by_area(codes: np.ndarray, values: np.ndarray, index: pd.Index) -> np.ndarray:
    return pd.Series(values).groupby(codes).sum().reindex(index).fillna(0.0).to_numpy(float)


def gap_analysis(
    areas: gpd.GeoDataFrame,
    providers: pd.DataFrame,
    people: pd.DataFrame,
    *,
    rural: pd.Series | None = None,
    estimated: EstimatedNeed | None = None,
    options: GapOptions = GapOptions(),
) -> GapResult:
    """Need against provider coverage in every area.

    Parameters
    ----------
    areas
        Area layer (:func:`gapmap.read_areas` or the built-in geography).
    providers, people
        Registers (:func:`gapmap.read_providers`, :func:`gapmap.read_people`).
    rural
        Rural flag per area code, overriding the layer's ``rural`` column and the fallback.
    estimated
        Need estimated from population (:func:`gapmap.need.estimated_demand`): adds
        ``estimated_need_hours``, ``estimated_accessible_hours``, ``estimated_coverage_ratio``
        and ``estimated_unmet_hours``, from the same 2SFCA with the estimated need as demand
        (every provider in its travel limit counts; services are not known).
    options
        Thresholds and methods.

    Returns
    -------
    GapResult
        ``table`` has the columns :data:`GAP_COLUMNS` plus geometry, one row per area, with
        exact figures. Publish it only through :func:`gapmap.disclosure.suppress`.
    """
    options.validate()
    notes: list[str] = []
    people = place_in_areas(people, areas, snap_m=options.snap_m)
    providers = place_in_areas(providers, areas, snap_m=options.snap_m)
    for label, reg in (("people", people), ("providers", providers)):
        if reg.attrs["unplaced"]:
            notes.append(
                f"{len(reg.attrs['unplaced'])} {label} fall outside every area and are not "
                f"counted in any area (rows {', '.join(map(str, reg.attrs['unplaced'][:10]))})"
            )
    reach = eligible_pairs(people, providers, circuity=options.circuity)
    cov = person_coverage(reach, people, providers, enhanced=options.enhanced)
    per = cov.frame()
    people = pd.concat([people.reset_index(drop=True), per.drop(columns="need_hours")], axis=1)

    index = pd.Index(areas["area_code"].to_numpy())
    codes = people["area_code"].to_numpy()
    t = pd.DataFrame(index=index)
    t["people"] = _by_area(codes, np.ones(len(people)), index).astype(int)
    t["providers"] = _by_area(
        providers["area_code"].to_numpy(), np.ones(len(providers)), index
    ).astype(int)
    for col in (
        "need_hours",
        "weekend_need_hours",
        "accessible_hours",
        "weekend_accessible_hours",
        "unmet_hours",
        "weekend_unmet_hours",
    ):
        t[col] = _by_area(codes, per[col].to_numpy(), index)
    t["need_hours_not_self_directing"] = _by_area(
        codes, per["need_hours"].to_numpy() * ~people["self_directing"].to_numpy(bool), index
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        t["coverage_ratio"] = np.where(
            t["need_hours"] > 0, t["accessible_hours"] / t["need_hours"], np.nan
        )
        t["weekend_coverage_ratio"] = np.where(
            t["weekend_need_hours"] > 0,
            t["weekend_accessible_hours"] / t["weekend_need_hours"],
            np.nan,
        )
    # nearest provider to each area's representative point (inside the area)
    rep = areas.geometry.representative_point()
    if len(providers):
        tree = cKDTree(providers[["x", "y"]].to_numpy(float))
        d, _ = tree.query(np.column_stack([rep.x.to_numpy(), rep.y.to_numpy()]))
        t["nearest_provider_km"] = d / 1000.0 * options.circuity
    else:
        t["nearest_provider_km"] = np.nan

    if rural is not None:
        flag = rural.reindex(index)
        if flag.isna().any():
            notes.append(
                f"{int(flag.isna().sum())} areas have no rural classification; "
                "postcode density was used for them"
            )
            fallback = postcode_density_rural(areas, options.rural_postcodes_per_km2)
            flag = flag.where(flag.notna(), pd.Series(fallback, index=index))
        t["rural"] = flag.astype(bool).to_numpy()
        rural_source = "classification given"
    elif "rural" in areas:
        t["rural"] = areas["rural"].astype(bool).to_numpy()
        rural_source = "column of the area layer"
    else:
        t["rural"] = postcode_density_rural(areas, options.rural_postcodes_per_km2)
        rural_source = (
            f"postcode density below {options.rural_postcodes_per_km2:g} per km² "
            "(no classification given)"
        )
    notes.append(f"rural areas: {int(t['rural'].sum())} of {len(t)}, from {rural_source}")

    has_need = t["need_hours"] > 0
    cov_ratio = t["coverage_ratio"].fillna(np.inf)
    t["rural_gap"] = (
        t["rural"]
        & has_need
        & (
            (cov_ratio < options.coverage_threshold)
            | (t["nearest_provider_km"] > options.rural_distance_km)
        )
    )
    t["weekend_gap"] = (t["weekend_need_hours"] > 0) & (
        t["weekend_coverage_ratio"].fillna(np.inf) < options.weekend_threshold
    )
    t["gap_score"] = t["unmet_hours"] * (
        1.0 + options.weekend_weight * t["weekend_gap"] + options.rural_weight * t["rural_gap"]
    )
    band = np.select(
        [~has_need | (t["unmet_hours"] <= 1e-9), cov_ratio >= 0.75, cov_ratio >= 0.4],
        ["none", "low", "medium"],
        default="high",
    )
    t["gap_band"] = band
    t["area_name"] = areas["area_name"].to_numpy()
    t["district"] = areas["district_name"].to_numpy()
    columns = list(GAP_COLUMNS)
    est_points = None
    if estimated is not None:
        demand = pd.DataFrame(
            {"x": estimated.x, "y": estimated.y, "max_travel_km": np.full(len(estimated.x), np.nan)}
        )
        est_reach = eligible_pairs(
            demand, providers, circuity=options.circuity, check_services=False
        )
        _, est_access = two_step_fca(
            est_reach,
            estimated.hours,
            providers["capacity_hours"].to_numpy(float),
            enhanced=options.enhanced,
        )
        codes_e = estimated.area_code
        t["estimated_need_hours"] = _by_area(codes_e, estimated.hours, index)
        t["estimated_accessible_hours"] = _by_area(codes_e, estimated.hours * est_access, index)
        t["estimated_unmet_hours"] = _by_area(
            codes_e, estimated.hours * np.maximum(0.0, 1.0 - est_access), index
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            t["estimated_coverage_ratio"] = np.where(
                t["estimated_need_hours"] > 0,
                t["estimated_accessible_hours"] / t["estimated_need_hours"],
                np.nan,
            )
        columns += ESTIMATED_COLUMNS
        est_points = pd.DataFrame(
            {
                "x": estimated.x,
                "y": estimated.y,
                "area_code": estimated.area_code,
                "need_hours": estimated.hours,
                "unmet_hours": estimated.hours * np.maximum(0.0, 1.0 - est_access),
            }
        )
        notes.append(
            f"estimated need: {estimated.hours.sum():,.0f} h a week from {estimated.source}"
        )
    t = t.reset_index(names="area_code")
    table = gpd.GeoDataFrame(t[columns], geometry=areas.geometry.to_numpy(), crs=areas.crs)
    return GapResult(table, people, providers, reach, cov, notes, est_points)


HOUR_COLUMNS = [
    "need_hours", "weekend_need_hours", "accessible_hours", "weekend_accessible_hours",
    "unmet_hours", "weekend_unmet_hours", "need_hours_not_self_directing",
]  # fmt: skip


def publish_gaps(table: gpd.GeoDataFrame, rule: Suppression = Suppression()) -> gpd.GeoDataFrame:
    """The area table as it may be shared: small-number suppression applied (SPEC.md).

    ``people`` becomes text (``*`` for 1-7, else rounded to 5); hour figures are rounded to 5,
    or withheld where the area has 1-7 people, and so is ``gap_score`` (it is in hours). Ratios,
    distances, flags and bands are kept. Provider counts are not suppressed: the providers
    register is a directory of businesses, not statistics about people who need care.
    """
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
    for c in ("coverage_ratio", "weekend_coverage_ratio", "estimated_coverage_ratio"):
        if c in out:
            out[c] = out[c].round(3)
    # estimated need is modelled from public census counts, not from the register: rounded only
    for c in ("estimated_need_hours", "estimated_accessible_hours", "estimated_unmet_hours"):
        if c in out:
            out[c] = round_to(table[c].to_numpy(float), rule.base)
    out["nearest_provider_km"] = out["nearest_provider_km"].round(1)
    return gpd.GeoDataFrame(out, geometry=table.geometry.name, crs=table.crs)
