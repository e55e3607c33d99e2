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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ._tables import ROW, read_table
from .areas import _ONS_CODE, place_points
from .errors import InputError, Problem, ProblemList

__all__ = [
    "EstimatedNeed",
    "default_rates_path",
    "estimate_need",
    "estimated_demand",
    "read_census_ages",
    "read_rates",
]

_AGE_RANGE = re.compile(r"aged (\d+) to (\d+) years?")
_AGE_OVER = re.compile(r"aged (\d+) years? and over")
_AGE_UNDER = re.compile(r"aged (\d+) years? and under")
_BAND_RANGE = re.compile(r"^\s*(\d+)\s*(?:to|-|–)\s*(\d+)\s*$")
_BAND_OVER = re.compile(r"^\s*(\d+)\s*(?:\+|and over|plus)\s*$")


def default_rates_path() -> Path:
    """The default rate table, shipped inside the package (``data/`` links to it)."""
    from importlib.resources import files

    return Path(str(files("gapmap") / "_data" / "need_rates_adl_hse2014.csv"))


def _census_band(column: str) -> tuple[int, int] | None:
    c = column.lower()
    if m := _AGE_RANGE.search(c):
        return int(m.group(1)), int(m.group(2))
    if m := _AGE_OVER.search(c):
        return int(m.group(1)), 200
    if m := _AGE_UNDER.search(c):
        return 0, int(m.group(1))
    return None


def read_census_ages(path: str | Path) -> pd.DataFrame:
    """Read a census age table (ONS TS007A style) as population by age band.

    Returns
    -------
    DataFrame
        indexed by geography code, one column per age band named ``"lo-hi"`` (``hi`` 200 for
        "and over"), plus ``total`` when the table has an ``Age: Total`` column.
    """
    file = str(path)
    t = read_table(path, what="census")
    cols = [c for c in t.columns if c != ROW]
    code = next((c for c in cols if c in ("geography code", "geography_code")), None)
    code = code or next((c for c in cols if _ONS_CODE.match(c)), None)
    if code is None:
        raise InputError(
            Problem(file, "no geography code column (ONS 'geography code' or e.g. LSOA21CD)", row=1)
        )
    bands = {c: _census_band(c) for c in cols}
    bands = {c: b for c, b in bands.items() if b is not None}
    if not bands:
        raise InputError(
            Problem(file, "no age band columns such as 'Age: Aged 65 to 69 years'", row=1)
        )
    problems = ProblemList(file)
    out = pd.DataFrame(index=pd.Index(t[code].str.strip().to_numpy(), name="code"))
    use = dict(bands)
    total = next((c for c in cols if c.endswith("total") or c == "age: total"), None)
    if total:
        use[total] = None
    for c, b in use.items():
        values = pd.to_numeric(t[c].str.replace(",", ""), errors="coerce")
        for i in np.flatnonzero(values.isna().to_numpy() | (values < 0).to_numpy()):
            problems.add(
                "expected a count of people", row=int(t[ROW].iloc[i]), column=c, value=t[c].iloc[i]
            )
        name = "total" if b is None else f"{b[0]}-{b[1]}"
        out[name] = values.to_numpy(float)
    if out.index.duplicated().any():
        for i in np.flatnonzero(out.index.duplicated()):
            problems.add(
                "the geography code appears more than once",
                row=int(t[ROW].iloc[i]),
                column=code,
                value=out.index[i],
            )
    problems.raise_if_any()
    return out


def read_rates(path: str | Path | None = None) -> pd.DataFrame:
    """Read a rate table: ``age_band, share_needing_help, hours_per_week, source``."""
    path = Path(path) if path is not None else default_rates_path()
    file = str(path)
    t = read_table(path, what="rate table")
    need = ["age_band", "share_needing_help", "hours_per_week", "source"]
    missing = [c for c in need if c not in t.columns]
    if missing:
        raise InputError(
            [Problem(file, "a required column is missing", row=1, column=c) for c in missing]
        )
    problems = ProblemList(file)
    rows = []
    for _, r in t.iterrows():
        row = int(r[ROW])
        band = str(r["age_band"])
        if m := _BAND_RANGE.match(band):
            lo, hi = int(m.group(1)), int(m.group(2))
        elif m := _BAND_OVER.match(band):
            lo, hi = int(m.group(1)), 200
        else:
            problems.add(
                "expected an age band like '65 to 69' or '85 and over'",
                row=row,
                column="age_band",
                value=band,
            )
            continue
        try:
            share = float(r["share_needing_help"])
            hours = float(r["hours_per_week"])
        except ValueError:
            problems.add(
                "expected numbers",
                row=row,
                column="share_needing_help",
                value=f"{r['share_needing_help']}, {r['hours_per_week']}",
            )
            continue
        if not 0 <= share <= 1:
            problems.add(
                "a share must be between 0 and 1", row=row, column="share_needing_help", value=share
            )
        if not 0 < hours <= 168:
            problems.add(
                "hours a week must be more than 0 and at most 168",
                row=row,
                column="hours_per_week",
                value=hours,
            )
        if not str(r["source"]).strip():
            problems.add("every rate needs its published source", row=row, column="source")
        rows.append(
            {"lo": lo, "hi": hi, "share": share, "hours": hours, "source": str(r["source"])}
        )
    problems.raise_if_any()
    return pd.DataFrame(rows)


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
    """Estimated need as demand points in British National Grid, each in an area."""

    x: np.ndarray
    y: np.ndarray
    hours: np.ndarray
    area_code: np.ndarray
    source: str


def estimated_demand(
    areas: gpd.GeoDataFrame,
    census_path: str | Path,
    *,
    rates_path: str | Path | None = None,
    lookup: str | Path | None = None,
    census_areas: str | Path | None = None,
    snap_m: float,
) -> EstimatedNeed:
    """Estimated need hours as demand points placed in ``areas``.

    Parameters
    ----------
    census_path
        The census age table (e.g. ``kent_census2021_ts007a_age5_lsoa21.csv``).
    rates_path
        The rate table (default ``data/need_rates_adl_hse2014.csv``).
    lookup
        A lookup from census codes to area codes (e.g. the ONS LSOA→ward best fit).
    census_areas
        The census units' boundaries (e.g. ``kent_lsoa_2021.geojson``): each unit's need stands
        at its representative point, placed in ``areas`` by location.
    snap_m
        Points this close outside every area go to the nearest (``Settings.snap_m``).

    Without ``lookup`` or ``census_areas``, census codes must be the area codes.
    """
    from .areas import read_areas

    census = read_census_ages(census_path)
    est = estimate_need(census, read_rates(rates_path), file=str(census_path))
    if census_areas is not None:
        units = read_areas(census_areas)
        units = units.set_index("area_code").reindex(est.index)
        missing = units.geometry.isna()
        if missing.any():
            raise InputError(
                Problem(
                    str(census_areas),
                    f"{int(missing.sum())} census codes have "
                    "no boundary here, e.g. " + ", ".join(est.index[missing][:5]),
                )
            )
        pts = units.geometry.representative_point()
        x, y = pts.x.to_numpy(), pts.y.to_numpy()
        placed = place_points(areas, x, y, snap_m=snap_m)
        return EstimatedNeed(
            x,
            y,
            est["estimated_need_hours"].to_numpy(),
            placed.area_code,
            f"{census_path} by location of {census_areas}",
        )
    hours = est["estimated_need_hours"]
    if lookup is not None:
        lk = read_table(lookup, what="lookup")
        lcols = [c for c in lk.columns if c != ROW]
        ccode = next(
            (
                c
                for c in lcols
                if _ONS_CODE.match(c) and lk[c].str.strip().isin(est.index).mean() > 0.5
            ),
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
                )
            )
        m = pd.Series(lk[acode].str.strip().to_numpy(), index=lk[ccode].str.strip().to_numpy())
        m = m[~m.index.duplicated()]
        hours = hours.groupby(m.reindex(hours.index).to_numpy()).sum()
        source = f"{census_path} through {lookup}"
    else:
        source = str(census_path)
    hours = hours.reindex(areas["area_code"].to_numpy())
    matched = hours.notna()
    if matched.sum() == 0:
        raise InputError(
            Problem(
                str(census_path),
                "no census code matches an area code: give --census-lookup or --census-areas",
            )
        )
    pts = areas.geometry.representative_point()
    return EstimatedNeed(
        pts.x.to_numpy()[matched.to_numpy()],
        pts.y.to_numpy()[matched.to_numpy()],
        hours[matched].to_numpy(float),
        areas["area_code"].to_numpy()[matched.to_numpy()],
        source,
    )
