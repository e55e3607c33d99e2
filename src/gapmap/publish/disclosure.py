"""Small-number suppression for anything published (SPEC.md).

The NHS England rule for sub-national statistics, configurable: in a published table, an area
whose count of people is 1 to 7 shows the count as ``*`` and withholds the area's own hour
figures; other counts and hours are rounded to the nearest 5; totals are computed from the
unrounded values and then rounded. Ratios, flags and gap bands are still shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Suppression", "published_count", "round_to", "suppress"]


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
