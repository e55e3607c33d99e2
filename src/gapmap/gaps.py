"""The area table: need, coverage, unmet hours, rural and weekend flags, gap score.

One row per area (SPEC.md, ``gapmap gaps``), from the 2SFCA of :mod:`gapmap.coverage` over the
study's one :class:`~gapmap.reach.Reach`. The figures, with the settings that shape them
(:class:`~gapmap.settings.Settings`):

``need_hours``, ``accessible_hours``, ``unmet_hours``
    Σ D_p, Σ D_p·A_p and Σ D_p·max(0, 1 − A_p) over the area's people (A_p: the person's 2SFCA
    access, the share of their hours the providers in reach could meet).
``coverage_ratio``
    1 − unmet / need: the **share of need in reach**, never above 1, so that coverage and unmet
    hours always tell the same story (empty where the area has no need).
``provision_ratio``
    accessible / need: the 2SFCA ratio of capacity in reach to need; above 1 where more
    capacity is in reach than the area needs (some of it may be needed elsewhere).
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
    ``none`` (no unmet need), ``low``/``medium``/``high``: coverage ≥ 0.75, ≥ 0.4, below 0.4
    (:data:`gapmap.coverage.LOW_GAP_FROM`, :data:`~gapmap.coverage.MEDIUM_GAP_FROM`).

The weekend and estimated columns follow the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from gapmap.coverage import (
    LOW_GAP_FROM,
    MEDIUM_GAP_FROM,
    Coverage,
    person_coverage,
    two_step_fca,
)
from gapmap.reach import Reach, nearest_km
from gapmap.rural import postcode_density_rural
from gapmap.study import Study

if TYPE_CHECKING:
    import folium

__all__ = [
    "ESTIMATED_COLUMNS",
    "GAP_COLUMNS",
    "GapResult",
    "area_factor",
    "gap_analysis",
    "postcode_density_rural",
    "shares",
]

GAP_COLUMNS = [
    "area_code", "area_name", "district", "rural", "people", "providers", "need_hours",
    "weekend_need_hours", "accessible_hours", "weekend_accessible_hours", "coverage_ratio",
    "weekend_coverage_ratio", "provision_ratio", "weekend_provision_ratio", "unmet_hours",
    "weekend_unmet_hours", "need_hours_not_self_directing", "nearest_provider_km", "rural_gap",
    "weekend_gap", "gap_score", "gap_band", "micro_need_hours", "micro_unmet_hours",
]  # fmt: skip
"""The SPEC columns, then the headline split (issue 31): ``micro_need_hours`` and
``micro_unmet_hours`` count only people who can direct their own care (need micro-providers may
meet); ``need_hours_not_self_directing`` is need for regulated services. The 2SFCA columns keep
their SPEC meaning (everyone on the list): ``unmet_hours = micro_unmet_hours +
need_hours_not_self_directing``, since no micro-provider is eligible for a person who cannot
direct their own care."""

ESTIMATED_COLUMNS = [
    "estimated_need_hours",
    "estimated_accessible_hours",
    "estimated_coverage_ratio",
    "estimated_provision_ratio",
    "estimated_unmet_hours",
]
#: With ``--imd``: the population-weighted IMD rank, the main decile and the residents counted.
DEPRIVATION_COLUMNS = ["imd_rank", "imd_decile", "imd_population"]
#: With the disability and carers tables: the kinds of estimated need and their weekend part.
ESTIMATED_EXTRA_COLUMNS = [
    "estimated_older_hours", "estimated_working_age_hours", "estimated_respite_hours",
    "estimated_weekend_need_hours", "estimated_weekend_unmet_hours",
    "estimated_weekend_coverage_ratio", "estimated_weekend_gap",
]  # fmt: skip


@dataclass(repr=False)
class GapResult:
    """Everything the gap analysis found; ``table`` is exact (internal), not yet suppressed.

    Attributes
    ----------
    table
        One row per area, the columns of :data:`GAP_COLUMNS` (and :data:`ESTIMATED_COLUMNS`
        with estimated need), exact figures. Publish it only through
        :func:`gapmap.publish.publish_gaps`.
    people
        The study's people with their 2SFCA columns (internal only).
    study
        The study analysed.
    coverage
        Per-person coverage.
    estimated_points
        Estimated need as demand points (``x, y, area_code, need_hours, unmet_hours``).
    """

    table: gpd.GeoDataFrame
    people: pd.DataFrame
    study: Study
    coverage: Coverage
    notes: list[str] = field(default_factory=list)
    estimated_points: pd.DataFrame | None = None

    @property
    def providers(self) -> pd.DataFrame:
        """The study's providers (placed)."""
        return self.study.providers

    @property
    def reach(self) -> Reach:
        """The study's eligible pairs."""
        return self.study.reach

    def __repr__(self) -> str:
        t = self.table
        return (
            f"GapResult({len(t):,} areas, need {t['need_hours'].sum():,.1f} h a week, "
            f"unmet {t['unmet_hours'].sum():,.1f} h; exact: publish with gapmap.publish_gaps)"
        )

    def explore(self, *, title: str = "gapmap: micro-provider gaps") -> folium.Map:
        """The interactive gap map (as ``gap_map.html``) for a notebook: published figures
        only, under the study's suppression rule; providers at their postcode centroid.

        Parameters
        ----------
        title
            The heading above the map.

        Returns
        -------
        folium.Map
            Shown by a notebook as it is; :func:`gapmap.publish.maps.save_map` writes it.

        Examples
        --------
        >>> import gapmap
        >>> m = gapmap.gap_analysis(gapmap.datasets.demo_study()).explore()
        >>> type(m).__name__, "P00001" in m.get_root().render()
        ('Map', False)
        """
        from gapmap.publish.explore import gap_folium_map

        return gap_folium_map(self, title=title)


def _by_area(codes: np.ndarray, values: np.ndarray, index: pd.Index) -> np.ndarray:
    return pd.Series(values).groupby(codes).sum().reindex(index).fillna(0.0).to_numpy(float)


def shares(need, accessible, unmet) -> tuple[np.ndarray, np.ndarray]:
    """``(coverage_ratio, provision_ratio)`` from need, accessible and unmet hours (SPEC.md).

    Parameters
    ----------
    need, accessible, unmet
        Hours a week, per area (arrays of the same length).

    Returns
    -------
    (ndarray, ndarray)
        coverage = 1 − unmet / need (the share of need in reach, at most 1) and provision =
        accessible / need (the 2SFCA ratio); both NaN where need is 0.

    Examples
    --------
    >>> cov, prov = shares([130.0, 0.0], [170.0, 0.0], [45.0, 0.0])
    >>> round(float(cov[0]), 3), round(float(prov[0]), 3), bool(np.isnan(cov[1]))
    (0.654, 1.308, True)
    """
    need = np.asarray(need, float)
    has = need > 0
    safe = np.where(has, need, 1.0)
    coverage = np.where(has, 1.0 - np.asarray(unmet, float) / safe, np.nan)
    provision = np.where(has, np.asarray(accessible, float) / safe, np.nan)
    return np.clip(coverage, 0.0, 1.0), provision


def area_factor(table: pd.DataFrame, study: Study) -> pd.Series:
    """The gap-score weight of each area (recruitment priority uses the same weights).

    Parameters
    ----------
    table
        Rows with ``area_code``, ``weekend_gap`` and ``rural_gap``.
    study
        The study: its settings hold ``weekend_weight`` and ``rural_weight``.

    Returns
    -------
    Series
        1 + weekend weight × weekend gap + rural weight × rural gap, indexed by area code.
    """
    s = study.settings
    f = (
        1.0
        + s.weekend_weight * table["weekend_gap"].astype(float)
        + s.rural_weight * table["rural_gap"].astype(float)
    )
    return pd.Series(f.to_numpy(), index=table["area_code"].to_numpy())


def gap_analysis(study: Study) -> GapResult:
    """Need against provider coverage in every area of a study.

    Parameters
    ----------
    study
        Areas, registers and settings (:class:`~gapmap.study.Study`). With estimated need
        (``StudyInputs(census=...)``) the table also has :data:`ESTIMATED_COLUMNS`, from the
        same 2SFCA with the estimated need as demand (every provider within its travel limit
        counts; services are not known).

    Returns
    -------
    GapResult
        ``table`` has the columns :data:`GAP_COLUMNS` plus geometry, one row per area, with
        exact figures.

    Examples
    --------
    >>> import gapmap
    >>> result = gapmap.gap_analysis(gapmap.datasets.demo_study())
    >>> len(result.table), round(float(result.table["need_hours"].sum()))
    (259, 13154)
    >>> result  # doctest: +ELLIPSIS
    GapResult(259 areas, need 13,153.5 h a week, unmet ... h; exact: publish with ...)
    >>> result.table.nlargest(3, "unmet_hours")[["area_code", "gap_band"]]  # doctest: +ELLIPSIS
       area_code gap_band
    ...
    """
    settings = study.settings
    areas = study.areas
    notes: list[str] = []
    cov = person_coverage(study.reach, study.people, study.providers, enhanced=settings.enhanced)
    per = cov.frame()
    people = pd.concat(
        [study.people.reset_index(drop=True), per.drop(columns="need_hours")], axis=1
    )

    index = pd.Index(areas["area_code"].to_numpy())
    codes = people["area_code"].to_numpy()
    t = pd.DataFrame(index=index)
    t["people"] = _by_area(codes, np.ones(len(people)), index).astype(int)
    t["providers"] = _by_area(
        study.providers["area_code"].to_numpy(), np.ones(len(study.providers)), index
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
    can_direct = people["self_directing"].to_numpy(bool)
    t["need_hours_not_self_directing"] = _by_area(
        codes, per["need_hours"].to_numpy() * ~can_direct, index
    )
    # the headline: need and unmet hours of the people micro-providers may serve
    t["micro_need_hours"] = _by_area(codes, per["need_hours"].to_numpy() * can_direct, index)
    t["micro_unmet_hours"] = _by_area(codes, per["unmet_hours"].to_numpy() * can_direct, index)
    t["coverage_ratio"], t["provision_ratio"] = shares(
        t["need_hours"], t["accessible_hours"], t["unmet_hours"]
    )
    t["weekend_coverage_ratio"], t["weekend_provision_ratio"] = shares(
        t["weekend_need_hours"], t["weekend_accessible_hours"], t["weekend_unmet_hours"]
    )
    # nearest provider to each area's representative point (inside the area)
    rep = areas.geometry.representative_point()
    t["nearest_provider_km"] = nearest_km(
        np.column_stack([rep.x.to_numpy(), rep.y.to_numpy()]),
        study.providers[["x", "y"]].to_numpy(float),
        settings.circuity,
    )
    rural = study.rural_areas  # worked out once per study
    t["rural"] = rural.flags
    notes.append(rural.note)

    has_need = t["need_hours"] > 0
    cov_ratio = t["coverage_ratio"].fillna(np.inf)
    t["rural_gap"] = (
        t["rural"]
        & has_need
        & (
            (cov_ratio < settings.coverage_threshold)
            | (t["nearest_provider_km"] > settings.rural_distance_km)
        )
    )
    t["weekend_gap"] = (t["weekend_need_hours"] > 0) & (
        t["weekend_coverage_ratio"].fillna(np.inf) < settings.weekend_threshold
    )
    t["gap_score"] = (
        t["unmet_hours"] * area_factor(t.reset_index(names="area_code"), study).to_numpy()
    )
    t["gap_band"] = np.select(
        [
            ~has_need | (t["unmet_hours"] <= 1e-9),
            cov_ratio >= LOW_GAP_FROM,
            cov_ratio >= MEDIUM_GAP_FROM,
        ],
        ["none", "low", "medium"],
        default="high",
    )
    t["area_name"] = areas["area_name"].to_numpy()
    t["district"] = areas["district_name"].to_numpy()
    columns = list(GAP_COLUMNS)
    est_points = None
    if study.estimated is not None:
        est_points = _estimated(study, t, index)
        columns += ESTIMATED_COLUMNS + [c for c in ESTIMATED_EXTRA_COLUMNS if c in t]
        notes.append(
            f"estimated need: {study.estimated.hours.sum():,.0f} h a week from "
            f"{study.estimated.source}"
        )
    if study.deprivation is not None:
        d = study.deprivation.reindex(index)
        t["imd_rank"] = d["imd_rank"].round(0).to_numpy()
        t["imd_decile"] = pd.array(d["imd_decile"].to_numpy(), dtype="Int64")
        t["imd_population"] = d["imd_population"].to_numpy()
        columns += DEPRIVATION_COLUMNS
        notes.append(
            f"deprivation: {int(d['imd_decile'].notna().sum())} of {len(t)} areas with an IMD "
            f"decile from {study.sources.get('imd', 'the IMD table')}"
        )
    t = t.reset_index(names="area_code")
    table = gpd.GeoDataFrame(t[columns], geometry=areas.geometry.to_numpy(), crs=areas.crs)
    table.attrs["suppression"] = study.settings.suppression  # publish_gaps follows the study
    return GapResult(table, people, study, cov, notes, est_points)


def _estimated(study: Study, t: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    est = study.estimated
    assert est is not None and study.estimated_reach is not None
    _, access = two_step_fca(
        study.estimated_reach,
        est.hours,
        study.providers["capacity_hours"].to_numpy(float),
        enhanced=study.settings.enhanced,
    )
    unmet = est.hours * np.maximum(0.0, 1.0 - access)
    t["estimated_need_hours"] = _by_area(est.area_code, est.hours, index)
    t["estimated_accessible_hours"] = _by_area(est.area_code, est.hours * access, index)
    t["estimated_unmet_hours"] = _by_area(est.area_code, unmet, index)
    t["estimated_coverage_ratio"], t["estimated_provision_ratio"] = shares(
        t["estimated_need_hours"], t["estimated_accessible_hours"], t["estimated_unmet_hours"]
    )
    if len(est.parts) > 1:  # the kinds of need side by side (they add up to the total)
        for name, hours in est.parts.items():
            t[f"estimated_{name}_hours"] = _by_area(est.area_code, hours, index)
    if est.weekend_hours is not None and len(est.parts) > 1:
        from gapmap.reach import weekend_share

        providers = study.providers
        w_cap = providers["capacity_hours"].to_numpy(float) * weekend_share(
            providers["day_mask"].to_numpy()
        )
        _, w_access = two_step_fca(
            study.estimated_reach, est.weekend_hours, w_cap, enhanced=study.settings.enhanced
        )
        w_unmet = est.weekend_hours * np.maximum(0.0, 1.0 - w_access)
        t["estimated_weekend_need_hours"] = _by_area(est.area_code, est.weekend_hours, index)
        t["estimated_weekend_unmet_hours"] = _by_area(est.area_code, w_unmet, index)
        t["estimated_weekend_coverage_ratio"], _ = shares(
            t["estimated_weekend_need_hours"],
            t["estimated_weekend_need_hours"] - t["estimated_weekend_unmet_hours"],
            t["estimated_weekend_unmet_hours"],
        )
        t["estimated_weekend_gap"] = (t["estimated_weekend_need_hours"] > 0) & (
            t["estimated_weekend_coverage_ratio"].fillna(np.inf) < study.settings.weekend_threshold
        )
    return pd.DataFrame(
        {
            "x": est.x,
            "y": est.y,
            "area_code": est.area_code,
            "need_hours": est.hours,
            "unmet_hours": unmet,
        }
    )
