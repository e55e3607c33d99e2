r"""Deprivation beside every gap: the English Indices of Deprivation by area, and who is left out.

``--imd FILE`` takes the Index of Multiple Deprivation as published for LSOAs: IMD 2025 (LSOA
2021 codes) directly, or IMD 2019 (LSOA 2011 codes) through the ONS LSOA 2011→2021 lookup
(``--imd-lookup``; a 2011 LSOA split in 2021 gives its value to each part, 2021 LSOAs made by
merging take the mean rank of their parts). Each area then gets

* ``imd_rank``: the mean of its LSOAs' national ranks weighted by their Census 2021 population
  (1 = the most deprived LSOA in England);
* ``imd_decile``: the national decile that holds most of the area's population (1 = the most
  deprived tenth of England).

The LSOAs are placed in the areas as the census units of the estimated need are (by code, by
``--census-lookup`` or by location with ``--census-areas``), so ``--imd`` needs ``--census``.

**How unmet hours fall across deprivation.** :func:`deprivation_table` adds up, per decile,
the areas' population, need and unmet hours (register and estimated), and unmet hours per 1,000
residents. The **concentration index** summarises it in one number:

.. math::

    C = \frac{2}{\mu} \sum_i w_i (h_i - \mu)(R_i - \tfrac12)

over areas i with population shares :math:`w_i`, unmet hours per resident :math:`h_i`
(:math:`\mu` their population-weighted mean) and fractional rank :math:`R_i` in the
population ordered from the most to the least deprived (the midpoint of the area's share of
the cumulative population). C lies between −1 and 1: **negative** when unmet hours per resident
are concentrated in the more deprived areas, positive when in the less deprived, 0 when spread
evenly (O'Donnell et al., *Analyzing Health Equity Using Household Survey Data*, World Bank
2008, chapter 8).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gapmap.errors import InputError, Problem
from gapmap.io._tables import ROW, read_table

__all__ = ["area_deprivation", "concentration_index", "deprivation_table", "read_imd"]

_CODE = ("lsoa21cd", "lsoa11cd", "lsoa code (2011)", "lsoa code (2021)", "lsoa_code")
_RANK = ("imd_rank", "index of multiple deprivation (imd) rank", "imd rank")
_DECILE = ("imd_decile", "index of multiple deprivation (imd) decile", "imd decile")


def _column(cols: list[str], names: tuple[str, ...], startswith: str = "") -> str | None:
    low = {c.lower().strip(): c for c in cols}
    for n in names:
        if n in low:
            return low[n]
    if startswith:
        return next((c for c in cols if c.lower().startswith(startswith)), None)
    return None


def read_imd(path: str | Path, lookup: str | Path | None = None) -> pd.DataFrame:
    """Read an IMD file at LSOA level: ``rank`` and ``decile`` by LSOA 2021 code.

    Parameters
    ----------
    path
        IMD 2025 (``LSOA21CD``) or IMD 2019 (``LSOA11CD``) as published, with the IMD rank
        and decile columns.
    lookup
        The ONS LSOA 2011→2021 lookup (``LSOA11CD``, ``LSOA21CD``), needed for 2011 codes.

    Returns
    -------
    DataFrame
        Indexed by LSOA 2021 code: ``rank`` (1 = most deprived in England), ``decile``.
    """
    file = str(path)
    t = read_table(path, what="IMD table")
    cols = [c for c in t.columns if c != ROW]
    code = _column(cols, _CODE, "lsoa")
    rank = _column(cols, _RANK)
    decile = _column(cols, _DECILE)
    missing = [w for w, c in (("an LSOA code", code), ("the IMD rank", rank),
                              ("the IMD decile", decile)) if c is None]  # fmt: skip
    if missing:
        raise InputError(Problem(file, "no column for " + " or ".join(missing), row=1))
    assert code and rank and decile
    frame = pd.DataFrame(
        {
            "code": t[code].str.strip().to_numpy(),
            "rank": pd.to_numeric(t[rank], errors="coerce").to_numpy(),
            "decile": pd.to_numeric(t[decile], errors="coerce").to_numpy(),
        }
    )
    r, d = frame["rank"].to_numpy(float), frame["decile"].to_numpy(float)
    bad = ~np.isfinite(r) | (r < 1) | ~np.isfinite(d) | (d < 1) | (d > 10) | (d != np.round(d))
    problems = [
        Problem(
            file,
            "expected a rank (1 = most deprived) and a whole decile from 1 to 10",
            row=int(t[ROW].iloc[i]),
            column=rank,
            value=f"{t[rank].iloc[i]}, {t[decile].iloc[i]}",
        )  # fmt: skip
        for i in np.flatnonzero(bad)
    ]
    first: dict[str, int] = {}
    for i, c in enumerate(frame["code"]):
        n = int(t[ROW].iloc[i])
        if c in first:
            problems.append(Problem(file, f"the LSOA code is also on row {first[c]} (one rank "
                                    "and decile each)", row=n, column=code, value=c))  # fmt: skip
        first.setdefault(c, n)
    if problems:
        raise InputError(problems)
    frame = frame.set_index("code")
    is_2011 = "11" in code
    if not is_2011:
        return frame
    if lookup is None:
        raise InputError(
            Problem(
                file,
                "has 2011 LSOA codes: give the LSOA 2011→2021 lookup with --imd-lookup",
                column=code,
            )  # fmt: skip
        )
    lk = read_table(lookup, what="LSOA lookup")
    lcols = [c for c in lk.columns if c != ROW]
    c11 = _column(lcols, ("lsoa11cd",))
    c21 = _column(lcols, ("lsoa21cd",))
    if c11 is None or c21 is None:
        raise InputError(Problem(str(lookup), "no LSOA11CD and LSOA21CD columns", row=1))
    pairs = pd.DataFrame({"c11": lk[c11].str.strip(), "c21": lk[c21].str.strip()})
    pairs = pairs.join(frame, on="c11").dropna(subset=["rank"])
    # a split 2011 LSOA gives its value to each part; a merged 2021 LSOA takes the mean rank
    out = pairs.groupby("c21").agg(rank=("rank", "mean"), decile=("decile", "median"))
    out["decile"] = np.floor(out["decile"] + 0.5)
    out.index.name = "code"
    return out


def area_deprivation(
    imd: pd.DataFrame, unit_area: pd.Series, population: pd.Series
) -> pd.DataFrame:
    """Population-weighted IMD rank and the population's main decile for each area.

    Parameters
    ----------
    imd
        :func:`read_imd` (by LSOA 2021 code).
    unit_area
        The area of each census unit (LSOA 2021 code → area code).
    population
        Usual residents of each census unit.

    Returns
    -------
    DataFrame
        Indexed by area code: ``imd_rank``, ``imd_decile``, ``imd_population`` (residents of
        the LSOAs with an IMD value).
    """
    u = pd.DataFrame({"area": unit_area, "pop": population.reindex(unit_area.index)})
    u = u.join(imd, how="inner")
    u = u[(u["area"] != "") & (u["pop"] > 0)]
    if u.empty:
        raise InputError(Problem("IMD", "no IMD LSOA code matches a census unit"))
    u["w_rank"] = u["rank"] * u["pop"]
    by = u.groupby("area").agg(w_rank=("w_rank", "sum"), pop=("pop", "sum"))
    main = (
        u.groupby(["area", "decile"])["pop"].sum().reset_index()
        .sort_values(["pop", "decile"], ascending=[False, True])
        .drop_duplicates("area").set_index("area")["decile"]
    )  # fmt: skip
    return pd.DataFrame(
        {
            "imd_rank": by["w_rank"] / by["pop"],
            "imd_decile": main.reindex(by.index).astype(int),
            "imd_population": by["pop"],
        }
    )


def concentration_index(values, population, rank) -> float:
    """The concentration index of ``values`` (per resident) ordered by deprivation.

    Parameters
    ----------
    values
        A figure per area per resident (e.g. unmet hours per resident).
    population
        Residents per area (the weights).
    rank
        Deprivation rank per area (lower = more deprived).

    Returns
    -------
    float
        Between −1 and 1; negative when ``values`` are concentrated in the more deprived areas;
        NaN when there is nothing to share out.

    Examples
    --------
    >>> round(concentration_index([3, 2, 1], [1, 1, 1], [1, 2, 3]), 3)  # more where deprived
    -0.222
    >>> concentration_index([1, 1, 1], [5, 2, 3], [3, 1, 2])           # even
    0.0
    """
    v = np.asarray(values, dtype=float)
    w = np.asarray(population, dtype=float)
    keep = np.isfinite(v) & (w > 0)
    v, w, r = v[keep], w[keep], np.asarray(rank, dtype=float)[keep]
    if w.sum() <= 0:
        return float("nan")
    order = np.argsort(r, kind="stable")
    v, w = v[order], w[order] / w.sum()
    mu = float(np.sum(w * v))
    if mu <= 0:
        return float("nan")
    frac = np.cumsum(w) - w / 2
    return float(round(2.0 / mu * np.sum(w * (v - mu) * (frac - 0.5)), 12))


def deprivation_table(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """Need and unmet hours by IMD decile, and the concentration indices (exact figures).

    Parameters
    ----------
    table
        The gap table with ``imd_rank``, ``imd_decile``, ``imd_population``.

    Returns
    -------
    (DataFrame, dict)
        One row per decile (1 = most deprived): ``areas``, ``population``, ``people``,
        ``need_hours``, ``unmet_hours`` and, with estimated need, ``estimated_need_hours``,
        ``estimated_unmet_hours``; and the concentration indices of unmet hours per resident
        (``register``, ``estimated``).
    """
    t = table[table["imd_decile"].notna()].copy()
    cols = ["people", "need_hours", "unmet_hours"]
    estimated = "estimated_unmet_hours" in t
    if estimated:
        cols += ["estimated_need_hours", "estimated_unmet_hours"]
    by = t.groupby("imd_decile")
    out = by[cols].sum()
    out.insert(0, "population", by["imd_population"].sum())
    out.insert(0, "areas", by.size())
    out = out.reindex(range(1, 11), fill_value=0)
    out.index.name = "imd_decile"
    ci = {
        "register": concentration_index(
            t["unmet_hours"] / t["imd_population"], t["imd_population"], t["imd_rank"]
        )
    }
    if estimated:
        ci["estimated"] = concentration_index(
            t["estimated_unmet_hours"] / t["imd_population"], t["imd_population"], t["imd_rank"]
        )
    return out.reset_index(), ci
