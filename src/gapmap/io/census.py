"""Census 2021 tables and need-rate tables read for the estimated need (``--census``, ``--rates``).

The census tables are read as ONS/Nomis publish them: TS007A ages (``geography code`` and
``Age: Aged 65 to 69 years`` … columns, matched to rate bands by their ages), TS038 disability
and TS039 unpaid care; the rate tables are the shipped defaults (``_data/``) or a council's
own. Every problem in a file is gathered before raising once; :mod:`gapmap.need` turns what is
read here into hours of need.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from gapmap.errors import InputError, Problem, ProblemList
from gapmap.io._tables import ROW, read_table
from gapmap.io.areas import _ONS_CODE

__all__ = [
    "ADULT_GROUPS",
    "MAX_UNIT_PEOPLE",
    "default_adult_rates_path",
    "default_rates_path",
    "read_adult_rates",
    "read_carers",
    "read_census_ages",
    "read_disability",
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


#: More people than this in one census unit (an LSOA has about 1,500, a ward at most tens of
#: thousands, a whole county 1.6 million) is a mistake in the file, not a place.
MAX_UNIT_PEOPLE = 10_000_000


def _people_counts(t: pd.DataFrame, col: str, problems: ProblemList) -> np.ndarray:
    """A column of counts of people read with sense: every cell a finite, whole-ish number from
    0 to :data:`MAX_UNIT_PEOPLE`; each other cell a problem naming its row and column."""
    values = pd.to_numeric(t[col].astype(str).str.replace(",", "").str.strip(), errors="coerce")
    v = values.to_numpy(float)
    for i in np.flatnonzero(~np.isfinite(v) | (v < 0)):
        problems.add("expected a count of people (a whole number, 0 or more)",
                     row=int(t[ROW].iloc[i]), column=col, value=str(t[col].iloc[i]))  # fmt: skip
    for i in np.flatnonzero(np.isfinite(v) & (v > MAX_UNIT_PEOPLE)):
        problems.add(f"more than {MAX_UNIT_PEOPLE:,} people in one census unit is not plausible",
                     row=int(t[ROW].iloc[i]), column=col, value=str(t[col].iloc[i]))  # fmt: skip
    return np.where(np.isfinite(v) & (v >= 0), v, 0.0)


def _within_total(
    t: pd.DataFrame, parts: dict[str, np.ndarray], total: np.ndarray, total_col: str,
    problems: ProblemList,
) -> None:  # fmt: skip
    """Each part (carers, an age band, people limited a lot) at most the unit's total."""
    for col, v in parts.items():
        for i in np.flatnonzero(v > total + 1e-9):
            problems.add(
                f"more people than the unit's total in '{total_col}' ({total[i]:,.0f})",
                row=int(t[ROW].iloc[i]), column=col, value=str(t[col].iloc[i]),
            )  # fmt: skip


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
    read = {c: _people_counts(t, c, problems) for c in use}
    for c, b in use.items():
        name = "total" if b is None else f"{b[0]}-{b[1]}"
        out[name] = read[c]
    if total:
        _within_total(t, {c: read[c] for c in bands}, read[total], total, problems)
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
    rows: list[dict] = []
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
        if any(int(r0["lo"]) <= hi and lo <= int(r0["hi"]) for r0 in rows):
            problems.add("the age band overlaps an earlier row's (each age once)", row=row,
                         column="age_band", value=band)  # fmt: skip
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


#: The default rates of the adults-of-working-age and carers' estimates (``data/``).
def default_adult_rates_path() -> Path:
    """The default rate table of working-age adults and carers, shipped in the package."""
    from importlib.resources import files

    return Path(str(files("gapmap") / "_data" / "need_rates_adults_carers.csv"))


ADULT_GROUPS = (
    "prevalence_children", "prevalence_working_age", "prevalence_older",
    "working_age_limited_a_lot", "carers_50_plus_hours", "carers_20_to_49_hours",
)  # fmt: skip


def read_adult_rates(path: str | Path | None = None) -> pd.DataFrame:
    """Read the rate table of adults of working age and carers.

    Columns ``group, value, hours_per_week, weekend_share, source``: the three
    ``prevalence_*`` groups give the relative prevalence of day-to-day activities limited a lot
    in children (0-14), adults 15-64 and people 65+ (only their ratios are used); the other
    groups give the share of those people needing help, the hours a week each and the share of
    those hours on Saturdays and Sundays.

    Parameters
    ----------
    path
        The table (default: the one shipped with gapmap).

    Returns
    -------
    DataFrame
        Indexed by group.
    """
    path = Path(path) if path is not None else default_adult_rates_path()
    file = str(path)
    t = read_table(path, what="rate table")
    need = ["group", "value", "hours_per_week", "weekend_share", "source"]
    missing = [c for c in need if c not in t.columns]
    if missing:
        raise InputError(
            [Problem(file, "a required column is missing", row=1, column=c) for c in missing]
        )
    problems = ProblemList(file)
    rows = {}
    for _, r in t.iterrows():
        row, group = int(r[ROW]), str(r["group"]).strip()
        if group not in ADULT_GROUPS:
            problems.add(f"expected one of {', '.join(ADULT_GROUPS)}", row=row, column="group",
                         value=group)  # fmt: skip
            continue
        if group in rows:
            problems.add("the group appears more than once (one rate each)", row=row,
                         column="group", value=group)  # fmt: skip
            continue
        try:
            value = float(r["value"])
            hours = float(r["hours_per_week"] or 0)
            weekend = float(r["weekend_share"] or 0)
        except ValueError:
            problems.add("expected numbers", row=row, column="value", value=r["value"])
            continue
        if not 0 <= value <= 1:
            problems.add("must be between 0 and 1", row=row, column="value", value=value)
        if not 0 <= hours <= 168:
            problems.add("hours a week must be 0 to 168", row=row, column="hours_per_week",
                         value=hours)  # fmt: skip
        if not 0 <= weekend <= 1:
            problems.add("must be between 0 and 1", row=row, column="weekend_share",
                         value=weekend)  # fmt: skip
        if not str(r["source"]).strip():
            problems.add("every rate needs its source", row=row, column="source")
        rows[group] = {"value": value, "hours": hours, "weekend": weekend,
                       "source": str(r["source"])}  # fmt: skip
    for group in ADULT_GROUPS:
        if group not in rows:
            problems.add(f"the group {group} is missing", row=1, column="group")
    problems.raise_if_any()
    return pd.DataFrame(rows).T


def _census_counts(path: str | Path, wanted: dict[str, str], what: str) -> pd.DataFrame:
    """Counts from an ONS census table by geography code: ``wanted`` maps a name to the end of
    the column's label (as Nomis publishes it)."""
    file = str(path)
    t = read_table(path, what=what)
    cols = [c for c in t.columns if c != ROW]
    code = next((c for c in cols if c in ("geography code", "geography_code")), None)
    code = code or next((c for c in cols if _ONS_CODE.match(c)), None)
    if code is None:
        raise InputError(Problem(file, "no geography code column (ONS 'geography code')", row=1))
    out = pd.DataFrame(index=pd.Index(t[code].str.strip().to_numpy(), name="code"))
    problems = ProblemList(file)
    read = {}
    for name, label in wanted.items():
        col = next((c for c in cols if c.lower().endswith(label.lower())), None)
        if col is None:
            problems.add(f"no column ending '{label}' (is this the right {what}?)", row=1)
            continue
        read[col] = _people_counts(t, col, problems)
        out[name] = read[col]
    # the table's own total of residents, when it has one, bounds every count in it
    total = next((c for c in cols if "total: all usual residents" in c.lower()), None)
    if total is not None:
        tot = read[total] if total in read else _people_counts(t, total, problems)
        _within_total(t, {c: v for c, v in read.items() if c != total}, tot, total, problems)
    for i in np.flatnonzero(out.index.duplicated()):
        problems.add("the geography code appears more than once", row=int(t[ROW].iloc[i]),
                     column=code, value=str(out.index[i]))  # fmt: skip
    problems.raise_if_any()
    out.attrs["file"] = file
    out.attrs["rows"] = dict(zip(out.index, t[ROW].astype(int)))
    return out


def read_disability(path: str | Path) -> pd.DataFrame:
    """Census 2021 TS038 (disability): ``limited_a_lot`` and ``residents`` by geography code."""
    return _census_counts(
        path,
        {"residents": "Total: All usual residents",
         "limited_a_lot": "Day-to-day activities limited a lot"},
        "disability table (TS038)",
    )  # fmt: skip


def read_carers(path: str | Path) -> pd.DataFrame:
    """Census 2021 TS039 (unpaid care): ``carers_50_plus`` and ``carers_20_to_49`` by code."""
    return _census_counts(
        path,
        {"carers_50_plus": "Provides 50 or more hours unpaid care a week",
         "carers_20_to_49": "Provides 20 to 49 hours unpaid care a week"},
        "unpaid care table (TS039)",
    )  # fmt: skip
