"""Small-number suppression for anything published (SPEC.md).

The NHS England rule for sub-national statistics, configurable: in a published table, an area
whose count of people is 1 to 7 shows the count as ``*`` and withholds the area's own hour
figures; other counts and hours are rounded to the nearest 5; totals are computed from the
unrounded values and then rounded. Flags and gap bands are still shown.

Secondary protection (gapmap goes further than SPEC.md's "ratios are still shown"): a ratio is
published only where the hours it is made of are, and it is computed from those published
(rounded) hours (:func:`published_ratio`), so that no ratio, share or rate gives back more than
the rounded hours do; an area, district or county total over 1 to 7 people withholds its hours
(:func:`published_hours`). Otherwise a withheld area reached only by its own provider would give
back its need exactly (capacity / provision ratio), and two runs one person apart that person's
hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "Suppression",
    "numeric_counts",
    "published_count",
    "published_hours",
    "published_ratio",
    "round_to",
    "suppress",
]


@dataclass(frozen=True)
class Suppression:
    """The rule: counts from ``low`` to ``high`` are hidden; the rest rounded to ``base``.

    Examples
    --------
    >>> Suppression().hides([0, 1, 7, 8]).tolist()
    [False, True, True, False]
    """

    low: int = 1
    high: int = 7
    base: int = 5

    def hides(self, counts) -> np.ndarray:
        """Which counts the rule hides (bool array)."""
        counts = np.asarray(counts)
        return (counts >= self.low) & (counts <= self.high)


def round_to(values, base: int):
    """Round to the nearest multiple of ``base`` (halves away from zero).

    Parameters
    ----------
    values
        Numbers (scalar or array).
    base
        The multiple (5 under the NHS England rule).

    Returns
    -------
    ndarray

    Examples
    --------
    >>> round_to([12.5, 12.4, -2.5], 5).tolist()
    [15.0, 10.0, -5.0]
    """
    v = np.asarray(values, dtype=float)
    return np.sign(v) * np.floor(np.abs(v) / base + 0.5) * base


def published_count(n: int, rule: Suppression = Suppression()) -> int | str:
    """One published count of people: ``"*"`` when the rule hides it, else rounded.

    Parameters
    ----------
    n
        The exact count.
    rule
        The suppression rule.

    Returns
    -------
    int or str

    Examples
    --------
    >>> published_count(3), published_count(12), published_count(0)
    ('*', 10, 0)
    """
    if rule.hides(np.asarray([n]))[0]:
        return "*"
    return int(round_to(n, rule.base))


def published_hours(hours: float, people: float, rule: Suppression = Suppression()) -> float:
    """One published hours figure of a group of ``people``: NaN when the rule hides the count.

    Parameters
    ----------
    hours
        The exact hours (a total is summed from exact values first).
    people
        How many people the hours are of.
    rule
        The suppression rule.

    Returns
    -------
    float
        Rounded to ``rule.base``, or NaN (withheld).

    Examples
    --------
    >>> published_hours(9.0, 3), published_hours(41.0, 12), published_hours(0.0, 0)
    (nan, 40.0, 0.0)
    """
    if rule.hides(np.asarray([people]))[0]:
        return float("nan")
    return float(round_to(hours, rule.base))


def published_ratio(part, whole, *, complement: bool = False, digits: int = 3):
    """A ratio of two **published** (rounded or withheld) figures, so it reveals nothing more.

    Parameters
    ----------
    part, whole
        Published figures (NaN where withheld); scalars or arrays.
    complement
        Give ``1 - part / whole`` (a share in reach from unmet hours).
    digits
        Decimal places.

    Returns
    -------
    float or ndarray
        NaN where either figure is withheld or ``whole`` is not above 0.

    Examples
    --------
    >>> published_ratio([5.0, float("nan"), 3.0], [10.0, 10.0, 0.0]).tolist()
    [0.5, nan, nan]
    >>> float(published_ratio(5.0, 20.0, complement=True))
    0.75
    """
    p = np.asarray(part, dtype=float)
    w = np.asarray(whole, dtype=float)
    ok = np.isfinite(p) & np.isfinite(w) & (w > 0)
    r = np.divide(p, w, out=np.full(np.broadcast(p, w).shape, np.nan), where=ok)
    if complement:
        r = 1.0 - r
    r = np.round(r, digits)
    return float(r) if r.ndim == 0 else r


#: The published counts of people (text: ``*`` or a rounded whole number) in gapmap's tables.
COUNT_COLUMNS = ("people", "recruitable_people", "people_in_reach")


def numeric_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """A published table with its counts as numbers, for formats that type columns (GeoPackage).

    A published count is text (``"*"`` or a whole number) so that a CSV shows the star; a
    GeoPackage column of text sorts "10" before "5" in QGIS. Here every count column
    (:data:`COUNT_COLUMNS`; phone numbers and names made of digits stay text)
    becomes a number column with NULL where the count is ``*``, and a ``withheld`` column says
    which rows had any figure withheld.

    Parameters
    ----------
    frame
        A published table (GeoDataFrame or DataFrame).

    Returns
    -------
    same type as ``frame``

    Examples
    --------
    >>> out = numeric_counts(pd.DataFrame({"people": ["*", "10", "5"], "name": ["a", "b", "c"]}))
    >>> out["people"].tolist()[1:], out["withheld"].tolist()
    ([10.0, 5.0], [True, False, False])
    """
    out = frame.copy()
    held = np.zeros(len(out), dtype=bool)
    converted = False
    for c in out.columns:
        if c not in COUNT_COLUMNS or not (
            pd.api.types.is_object_dtype(out[c]) or pd.api.types.is_string_dtype(out[c])
        ):
            continue
        text = out[c].dropna().astype(str)
        if not len(text) or not text.str.fullmatch(r"\*|-?\d+").all():
            continue
        star = out[c].astype(str).eq("*").to_numpy()
        held |= star
        out[c] = pd.to_numeric(out[c].where(~star), errors="coerce").astype(float)
        converted = True
    if converted:
        out["withheld"] = held
    return out


def suppress(
    table: pd.DataFrame,
    *,
    count_columns: Sequence[str],
    hour_columns: Sequence[str],
    withheld_columns: Sequence[str] = (),
    rule: Suppression = Suppression(),
    key_count: str | None = None,
) -> pd.DataFrame:
    """A published copy of ``table`` under the rule.

    Parameters
    ----------
    count_columns
        Counts of people: shown as ``*`` where the area's ``key_count`` is hidden, else rounded.
    hour_columns
        Hour figures of the area: withheld (empty) where hidden, else rounded.
    withheld_columns
        Other figures derived from hours (e.g. a score in hours): withheld where hidden, kept
        (not rounded) elsewhere.
    key_count
        The count that decides (default: the first of ``count_columns``).

    Returns
    -------
    DataFrame
        Counts become text (``"*"`` or the rounded whole number); hours floats with NaN where
        withheld.
    """
    out = table.copy()
    key = key_count or count_columns[0]
    hidden = rule.hides(table[key].to_numpy())
    for c in count_columns:
        rounded = round_to(table[c].to_numpy(), rule.base).astype(int).astype(str)
        out[c] = np.where(rule.hides(table[c].to_numpy()) | (hidden & (c == key)), "*", rounded)
        out[c] = out[c].astype(object)
    for c in hour_columns:
        out[c] = np.where(hidden, np.nan, round_to(table[c].to_numpy(), rule.base))
    for c in withheld_columns:
        out[c] = np.where(hidden, np.nan, table[c].to_numpy(dtype=float))
    out.attrs["suppressed_areas"] = int(hidden.sum())
    return out
