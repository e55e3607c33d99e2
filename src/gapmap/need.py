r"""Need estimated from population: Census 2021 age tables × a rate table.

For areas with no register yet, need is estimated as

.. math::

    \text{estimated need hours}_u = \sum_b \text{population}_{u,b} \times
        \text{share needing help}_b \times \text{hours a week}_b

for each census unit u (an LSOA or ward) and age band b. The census table is read as ONS/Nomis
publish it (TS007A: ``geography code`` and ``Age: Aged 65 to 69 years`` … columns); rate bands
(``65 to 69``, ``85 and over``, ``65 and over``) are matched to census columns by their ages, and a
rate band may span several census bands.

The default rate table (``data/need_rates_adl_hse2014.csv``) gives the share of people needing
help with at least one activity of daily living by age, from the Health Survey for England 2014,
and 5.3 hours a week each (what Somerset's micro-providers give per person). It estimates *all*
need for help among older people, of which micro-providers can meet only a part: compare areas
with each other, not the totals with provider capacity.

Estimated need is then placed as demand points: at each census unit's representative point when
the unit boundaries are given, or at the area's representative point when the census units are
the areas or are joined to them through a lookup.

The census and rate tables are read by :mod:`gapmap.io.census` (its readers are re-exported
here); this module turns them into hours of need and places them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gapmap.errors import InputError, Problem
from gapmap.io._tables import ROW, read_table
from gapmap.io.areas import _ONS_CODE, place_points
from gapmap.io.census import (
    ADULT_GROUPS,
    default_adult_rates_path,
    default_rates_path,
    read_adult_rates,
    read_carers,
    read_census_ages,
    read_disability,
    read_rates,
)
from gapmap.vocab import ALL_DAYS_MASK, WEEKEND_MASK, count_days

__all__ = [
    "ADULT_GROUPS",
    "EstimatedNeed",
    "adult_components",
    "default_adult_rates_path",
    "read_adult_rates",
    "read_carers",
    "read_disability",
    "default_rates_path",
    "estimate_need",
    "estimated_demand",
    "read_census_ages",
    "read_rates",
]


#: Days of the week, and of them on a weekend: a need spread over the week has
#: ``WEEKEND_DAYS / WEEK_DAYS`` of its hours on Saturday and Sunday.
WEEK_DAYS = int(count_days(ALL_DAYS_MASK))
WEEKEND_DAYS = int(count_days(WEEKEND_MASK))


def estimate_need(
    census: pd.DataFrame, rates: pd.DataFrame, *, file: str = "census"
) -> pd.DataFrame:
    """Estimated people needing help and their hours a week, per census unit.

    Each rate band takes the census bands that lie within it (a census band must not straddle
    a rate band's edge).

    Parameters
    ----------
    census
        Population by age band per census unit (:func:`read_census_ages`).
    rates
        The rate table (:func:`read_rates`).
    file
        The census file's name, for messages.

    Returns
    -------
    DataFrame
        Indexed by census code: ``estimated_people`` and ``estimated_need_hours``.
    """
    people = np.zeros(len(census))
    hours = np.zeros(len(census))
    bands = [(c, *map(int, c.split("-"))) for c in census.columns if c != "total"]
    for r in rates.itertuples():
        inside = [c for c, lo, hi in bands if lo >= r.lo and hi <= r.hi]
        straddle = [c for c, lo, hi in bands if lo < r.lo <= hi or lo <= r.hi < hi]
        if straddle or not inside:
            raise InputError(
                Problem(
                    file,
                    f"the census age bands do not fit the rate band "
                    f"{r.lo}-{'' if r.hi == 200 else r.hi}",
                )
            )
        pop = census[inside].sum(axis=1).to_numpy(float)
        people += pop * r.share
        hours += pop * r.share * r.hours
    return pd.DataFrame(
        {"estimated_people": people, "estimated_need_hours": hours}, index=census.index
    )


@dataclass
class EstimatedNeed:
    """Estimated need as demand points in British National Grid, each in an area.

    ``hours`` is the total; ``parts`` the same points' hours by kind (``older`` for people
    65 and over, and with the disability and carers tables ``working_age`` and ``respite``);
    ``weekend_hours`` the part of ``hours`` on Saturdays and Sundays; ``unit_area`` the area of
    each census unit (for deprivation), ``unit_population`` its usual residents.
    """

    x: np.ndarray
    y: np.ndarray
    hours: np.ndarray
    area_code: np.ndarray
    source: str
    parts: dict[str, np.ndarray] = field(default_factory=dict)
    weekend_hours: np.ndarray | None = None
    unit_area: pd.Series | None = None
    unit_population: pd.Series | None = None


def adult_components(
    census: pd.DataFrame,
    rates: pd.DataFrame,
    *,
    disability: pd.DataFrame | None = None,
    carers: pd.DataFrame | None = None,
    file: str = "census",
) -> pd.DataFrame:
    """Hours a week of working-age adults' need and carers' respite, per census unit.

    Working-age adults limited a lot: TS038 counts all ages, so each unit's count is shared
    between children (0-14), adults 15-64 and people 65+ in proportion to population × relative
    prevalence (the rate table's ``prevalence_*``), and the 15-64 share is kept. Respite: the
    carers giving 50+ and 20-49 hours a week of unpaid care (TS039) × their share needing a
    break × hours a week.

    Parameters
    ----------
    census
        Population by age band (:func:`read_census_ages`; bands must split at 15 and 65).
    rates
        :func:`read_adult_rates`.
    disability, carers
        :func:`read_disability` and :func:`read_carers` (either may be None).
    file
        For messages.

    Returns
    -------
    DataFrame
        By census code: ``working_age_people``, ``working_age_hours``, ``carers``,
        ``respite_hours``, ``weekend_hours`` (their Saturday and Sunday part).
    """
    out = pd.DataFrame(index=census.index)
    out["weekend_hours"] = 0.0
    bands = [(c, *map(int, c.split("-"))) for c in census.columns if c != "total"]
    population = census[[c for c, _, _ in bands]].sum(axis=1)
    problems: list[Problem] = []
    for table, cols in ((disability, ("limited_a_lot",)),
                        (carers, ("carers_50_plus", "carers_20_to_49"))):  # fmt: skip
        if table is None:
            continue
        rows = table.attrs.get("rows", {})
        people = table[[c for c in cols if c in table]].sum(axis=1)
        pop_of = population.reindex(people.index)
        for code in people.index[(people > pop_of + 1e-9).to_numpy()]:
            problems.append(Problem(
                table.attrs.get("file", "census"),
                f"more people ({people[code]:,.0f}) than live in {code} by the census age "
                f"table ({pop_of[code]:,.0f})",
                row=rows.get(code), column=" + ".join(cols),
            ))  # fmt: skip
    if problems:
        raise InputError(problems)

    def pop(lo: int, hi: int) -> np.ndarray:
        inside = [c for c, a, b in bands if a >= lo and b <= hi]
        straddle = [c for c, a, b in bands if a < lo <= b or a <= hi < b]
        if straddle or not inside:
            raise InputError(
                Problem(
                    file,
                    f"the census age bands must split at {lo} and {hi + 1} "
                    "(five-year bands as TS007A)",
                )  # fmt: skip
            )
        return census[inside].sum(axis=1).to_numpy(float)

    if disability is not None:
        d = disability.reindex(census.index)
        if d["limited_a_lot"].isna().all():
            raise InputError(Problem(file, "no disability code matches a census code"))
        child, work, old = pop(0, 14), pop(15, 64), pop(65, 200)
        pc, pw, po = (float(rates.loc[f"prevalence_{g}", "value"])
                      for g in ("children", "working_age", "older"))  # fmt: skip
        weight = pc * child + pw * work + po * old
        share = np.divide(pw * work, weight, out=np.zeros(len(weight)), where=weight > 0)
        people = d["limited_a_lot"].fillna(0).to_numpy(float) * share
        r = rates.loc["working_age_limited_a_lot"]
        hours = people * float(r["value"]) * float(r["hours"])
        out["working_age_people"] = people
        out["working_age_hours"] = hours
        out["weekend_hours"] += hours * float(r["weekend"])
    if carers is not None:
        c = carers.reindex(census.index).fillna(0)
        hours = np.zeros(len(c))
        count = np.zeros(len(c))
        for group, col in (("carers_50_plus_hours", "carers_50_plus"),
                           ("carers_20_to_49_hours", "carers_20_to_49")):  # fmt: skip
            r = rates.loc[group]
            n = c[col].to_numpy(float) * float(r["value"])
            count += n
            h = n * float(r["hours"])
            hours += h
            out["weekend_hours"] += h * float(r["weekend"])
        out["carers"] = count
        out["respite_hours"] = hours
    return out


def _unit_areas(
    areas: gpd.GeoDataFrame,
    codes: pd.Index,
    *,
    lookup: str | Path | None,
    census_areas: str | Path | None,
    snap_m: float,
    file: str,
) -> tuple[pd.Series, np.ndarray | None, np.ndarray | None, str]:
    """The area of each census unit, with the units' points when their boundaries are given."""
    from gapmap.io.areas import read_areas

    if census_areas is not None:
        units = read_areas(census_areas).set_index("area_code").reindex(codes)
        missing = units.geometry.isna()
        if missing.any():
            raise InputError(
                Problem(
                    str(census_areas),
                    f"{int(missing.sum())} census codes have no boundary here, e.g. "
                    + ", ".join(codes[missing][:5]),
                )
            )
        pts = units.geometry.representative_point()
        x, y = pts.x.to_numpy(), pts.y.to_numpy()
        placed = place_points(areas, x, y, snap_m=snap_m)
        return (pd.Series(placed.area_code, index=codes), x, y,
                f"{file} by location of {census_areas}")  # fmt: skip
    if lookup is not None:
        lk = read_table(lookup, what="lookup")
        lcols = [c for c in lk.columns if c != ROW]
        ccode = next(
            (c for c in lcols if _ONS_CODE.match(c) and lk[c].str.strip().isin(codes).mean() > 0.5),
            None,
        )
        acodes = set(areas["area_code"])
        acode = next(
            (c for c in lcols if c != ccode and lk[c].str.strip().isin(acodes).mean() > 0.5), None
        )
        if ccode is None or acode is None:
            raise InputError(
                Problem(
                    str(lookup),
                    "cannot find columns joining the census codes to the area codes",
                    row=1,
                )  # fmt: skip
            )
        m = pd.Series(lk[acode].str.strip().to_numpy(), index=lk[ccode].str.strip().to_numpy())
        m = m[~m.index.duplicated()]
        return m.reindex(codes).fillna(""), None, None, f"{file} through {lookup}"
    known = set(areas["area_code"])
    return pd.Series([c if c in known else "" for c in codes], index=codes), None, None, file


def estimated_demand(
    areas: gpd.GeoDataFrame,
    census_path: str | Path,
    *,
    rates_path: str | Path | None = None,
    lookup: str | Path | None = None,
    census_areas: str | Path | None = None,
    snap_m: float,
    disability_path: str | Path | None = None,
    carers_path: str | Path | None = None,
    adult_rates_path: str | Path | None = None,
) -> EstimatedNeed:
    """Estimated need hours as demand points placed in ``areas``.

    Parameters
    ----------
    census_path
        The census age table (e.g. ``kent_census2021_ts007a_age5_lsoa21.csv``).
    rates_path
        The rate table of people 65+ (default ``data/need_rates_adl_hse2014.csv``).
    lookup
        A lookup from census codes to area codes (e.g. the ONS LSOA→ward best fit).
    census_areas
        The census units' boundaries (e.g. ``kent_lsoa_2021.geojson``): each unit's need stands
        at its representative point, placed in ``areas`` by location.
    snap_m
        Points this close outside every area go to the nearest (``Settings.snap_m``).
    disability_path, carers_path
        Census TS038 and TS039 tables of the same units: add working-age adults' need and
        carers' respite (:func:`adult_components`).
    adult_rates_path
        Their rate table (default ``data/need_rates_adults_carers.csv``).

    Without ``lookup`` or ``census_areas``, census codes must be the area codes.
    """
    census = read_census_ages(census_path)
    est = estimate_need(census, read_rates(rates_path), file=str(census_path))
    parts = {"older": est["estimated_need_hours"].to_numpy(float)}
    # older people's estimated need is spread over the whole week: its weekend part is 2 of 7
    weekend = est["estimated_need_hours"].to_numpy(float) * WEEKEND_DAYS / WEEK_DAYS
    if disability_path is not None or carers_path is not None:
        rates = read_adult_rates(adult_rates_path)
        comp = adult_components(
            census, rates,
            disability=read_disability(disability_path) if disability_path else None,
            carers=read_carers(carers_path) if carers_path else None,
            file=str(census_path),
        )  # fmt: skip
        weekend = weekend + comp["weekend_hours"].to_numpy(float)
        for name in ("working_age", "respite"):
            if f"{name}_hours" in comp:
                parts[name] = comp[f"{name}_hours"].to_numpy(float)
    total = np.sum(list(parts.values()), axis=0)
    unit_area, x, y, source = _unit_areas(
        areas, census.index, lookup=lookup, census_areas=census_areas, snap_m=snap_m,
        file=str(census_path),
    )  # fmt: skip
    population = census["total"] if "total" in census else census.sum(axis=1)
    area_of = unit_area.to_numpy()
    if x is not None and y is not None:
        return EstimatedNeed(
            x, y, total, area_of, source, parts, weekend, unit_area, population
        )  # fmt: skip
    # one point per area (its representative point), the units' hours summed
    keep = area_of != ""
    if not keep.any():
        raise InputError(
            Problem(
                str(census_path),
                "no census code matches an area code: give --census-lookup or --census-areas",
            )
        )
    frame = pd.DataFrame({"area": area_of[keep], "total": total[keep], "weekend": weekend[keep],
                          **{k: v[keep] for k, v in parts.items()}})  # fmt: skip
    by = frame.groupby("area", sort=False).sum()
    order = [c for c in areas["area_code"] if c in by.index]
    by = by.loc[order]
    pts = areas.set_index("area_code").loc[order].geometry.representative_point()
    return EstimatedNeed(
        pts.x.to_numpy(), pts.y.to_numpy(), by["total"].to_numpy(float), by.index.to_numpy(),
        source, {k: by[k].to_numpy(float) for k in parts}, by["weekend"].to_numpy(float),
        unit_area, population,
    )  # fmt: skip
