"""The headline figures of a run, published once: every output says them from here.

Issue 31 (item 5): the same figure used to differ between outputs (a weekend share of 51% on
one page and 52% on the next, need of 13,154 h against 13,155 h, a different "largest gap" in
the terminal and the report). Now each headline figure is rounded **once**, from the exact
value, by :func:`headline_figures`, and the terminal, the report (PDF and Word), the workbook
and the GeoPackage print that value. The county totals are the ``Total`` row of
:func:`gapmap.publish.workbook.district_table` (exact sums rounded to the rule's base, withheld
for 1-7 people, shares from the published hours); the largest gaps are ordered by one rule,
:func:`gap_order`.

Issue 31 (item 3): the headline counts only need micro-providers may meet: the unmet hours of
people who can direct their own care (``micro_unmet_hours``). The need of people who cannot is
need for regulated services, said apart (``need_hours_not_self_directing``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gapmap.coverage import MEDIUM_GAP_FROM
from gapmap.publish.disclosure import Suppression, published_count

__all__ = [
    "Headline",
    "gap_order",
    "headline_figures",
    "largest_gaps",
    "percent",
    "published_sites",
    "site_places",
    "whole",
]


def whole(v: float | str | None) -> str:
    """A published hour or count figure in words: ``1,234``, or ``*`` where withheld.

    Examples
    --------
    >>> whole(13155.0), whole(float("nan")), whole("*")
    ('13,155', '*', '*')
    """
    if v is None or isinstance(v, str):
        return "*" if v in (None, "*") else str(v)
    return "*" if v != v else f"{float(v):,.0f}"


def percent(v: float | None) -> str:
    """A published share (already from the published hours) as a whole percentage.

    Examples
    --------
    >>> percent(0.514), percent(float("nan"))
    ('51%', '*')
    """
    return "*" if v is None or v != v else f"{float(v):.0%}"


def gap_order(published: pd.DataFrame) -> pd.DataFrame:
    """The published areas in the one order every output lists gaps in.

    Largest published unmet hours of people who can direct their own care first; ties by the
    smaller published share of need in reach, then by area code. Withheld areas (1-7 people)
    last.

    Parameters
    ----------
    published
        :func:`gapmap.publish.tables.publish_gaps` of a run.

    Returns
    -------
    DataFrame
        The rows reordered (index kept).
    """
    key = "micro_unmet_hours" if "micro_unmet_hours" in published else "unmet_hours"
    return (
        published.assign(
            _u=published[key].astype(float).fillna(-1.0),
            _c=published["coverage_ratio"].astype(float).fillna(2.0),
        )
        .sort_values(["_u", "_c", "area_code"], ascending=[False, True, True])
        .drop(columns=["_u", "_c"])
    )


def largest_gaps(published: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """The largest gaps as published: areas with people and unmet hours, in :func:`gap_order`.

    Parameters
    ----------
    published
        :func:`gapmap.publish.tables.publish_gaps` of a run.
    top
        How many.

    Returns
    -------
    DataFrame
        At most ``top`` rows; never a withheld area or one with nobody waiting.
    """
    key = "micro_unmet_hours" if "micro_unmet_hours" in published else "unmet_hours"
    shown = published[
        published[key].notna()
        & (published[key].astype(float) > 0)
        & (published["people"].astype(str) != "0")
        & (published["people"].astype(str) != "*")
    ]
    return gap_order(shown).head(top)


@dataclass
class Headline:
    """The published headline figures of one gap analysis (see :func:`headline_figures`)."""

    people: int | str
    need_hours: float
    unmet_hours: float
    coverage_ratio: float
    weekend_need_hours: float
    weekend_unmet_hours: float
    weekend_coverage_ratio: float
    micro_need_hours: float
    micro_unmet_hours: float
    micro_coverage_ratio: float
    regulated_need_hours: float
    regulated_people: int | str
    areas: int
    high_gap_areas: int
    medium_gap_areas: int
    weekend_gaps: int
    rural_gaps: int
    rural_areas: int
    largest: pd.DataFrame = field(repr=False)
    withheld: bool = False

    def words(self) -> list[str]:
        """The headline in plain sentences (terminal, report and Word say these)."""
        if self.withheld:
            return [
                f"{whole(self.people)} people are on the waiting list: too few to publish "
                "their hours."
            ]
        out = [
            f"{whole(self.micro_unmet_hours)} hours a week of support that micro-providers "
            "could give are unmet: the need of people who can direct their own care (or have "
            f"a representative who can) is {whole(self.micro_need_hours)} hours a week, and "
            f"providers within travel distance could give {percent(self.micro_coverage_ratio)} "
            "of it.",
        ]
        if self.regulated_need_hours == self.regulated_need_hours and self.regulated_need_hours:
            out.append(
                f"A further {whole(self.regulated_need_hours)} hours a week are needed by "
                f"{whole(self.regulated_people)} people who cannot direct their own care: need "
                "for regulated services (CQC-registered care), which micro-providers must not "
                "be asked to meet. It is not in the figures above."
            )
        if self.weekend_need_hours == self.weekend_need_hours and self.weekend_need_hours:
            out.append(
                f"At weekends {percent(self.weekend_coverage_ratio)} of the "
                f"{whole(self.weekend_need_hours)} hours needed are in reach of a provider who "
                "works then."
            )
        out.append(
            f"Of {self.areas} areas, {self.high_gap_areas} have a high gap (less than "
            f"{MEDIUM_GAP_FROM:.0%} of "
            f"need in reach), {self.weekend_gaps} a weekend gap and {self.rural_gaps} of "
            f"{self.rural_areas} rural areas a rural gap."
        )
        return out


def headline_figures(result, rule: Suppression | None = None, top: int = 10) -> Headline:
    """Every headline figure of a gap analysis, rounded once from the exact values.

    Parameters
    ----------
    result
        The run's :class:`~gapmap.publish.published.Published` (or a
        :class:`~gapmap.gaps.GapResult`, published here).
    rule
        The suppression rule (default: the one published with, else the study's).
    top
        How many of the largest gaps.

    Returns
    -------
    Headline
        County totals as the workbook's ``Total`` row has them; the largest gaps from the
        published area table in :func:`gap_order`.
    """
    from gapmap.publish.published import published_of

    pub = published_of(result, rule)
    rule = pub.rule
    t = pub.result.table
    total = pub.total
    people = pub.study.people
    not_directing = int((~people["self_directing"].to_numpy(bool)).sum())
    need_total = float(t["people"].sum())

    def f(col: str) -> float:
        v = total.get(col, np.nan)
        return float(v) if v is not None else np.nan

    return Headline(
        people=published_count(int(need_total), rule),
        need_hours=f("need_hours"),
        unmet_hours=f("unmet_hours"),
        coverage_ratio=f("coverage_ratio"),
        weekend_need_hours=f("weekend_need_hours"),
        weekend_unmet_hours=f("weekend_unmet_hours"),
        weekend_coverage_ratio=f("weekend_coverage_ratio"),
        micro_need_hours=f("micro_need_hours"),
        micro_unmet_hours=f("micro_unmet_hours"),
        micro_coverage_ratio=f("micro_coverage_ratio"),
        regulated_need_hours=f("need_hours_not_self_directing"),
        regulated_people=published_count(not_directing, rule),
        areas=len(t),
        high_gap_areas=int((t["gap_band"] == "high").sum()),
        medium_gap_areas=int((t["gap_band"] == "medium").sum()),
        weekend_gaps=int(t["weekend_gap"].sum()),
        rural_gaps=int(t["rural_gap"].sum()),
        rural_areas=int(t["rural"].sum()),
        largest=largest_gaps(pub.table, top),
        withheld=bool(rule.hides(np.array([need_total]))[0]) and need_total > 0,
    )


def site_places(sites: pd.DataFrame, areas) -> list[str]:
    """A place an officer knows for each recruitment site: the largest town or village inside
    the site's area, else the nearest within 5 km ("near ..."), else nothing.

    Parameters
    ----------
    sites
        Published sites (``area_code``, ``easting``, ``northing``).
    areas
        The study's areas (EPSG:27700).

    Returns
    -------
    list of str
        One per site (GeoNames' towns and villages, :mod:`gapmap.publish.mapplaces`).
    """
    from gapmap.publish.mapplaces import towns_and_villages

    if not len(sites):
        return []
    towns = towns_and_villages(areas)
    if not len(towns):
        return [""] * len(sites)
    position = {code: i for i, code in enumerate(areas["area_code"])}
    txy = towns[["x", "y"]].to_numpy(float)
    out = []
    for code, x, y in zip(sites["area_code"], sites["easting"], sites["northing"]):
        inside = towns[(towns["area"] == position.get(code, -1)) & towns["inside"]]
        if len(inside):  # largest first (towns_and_villages' order)
            out.append(str(inside["name"].iloc[0]))
            continue
        d = np.hypot(txy[:, 0] - float(x), txy[:, 1] - float(y))
        i = int(np.argmin(d))
        out.append(f"near {towns['name'].iloc[i]}" if d[i] <= 5000 else "")
    return out


def published_sites(rec, study=None) -> pd.DataFrame:
    """The recruitment sites as published, each with a place an officer knows (``place``)
    when the study's areas are at hand.

    Parameters
    ----------
    rec
        A :class:`~gapmap.recruitment.targeting.RecruitResult`.
    study
        The study (its areas name the places), or None.

    Returns
    -------
    DataFrame
    """
    from gapmap.publish.tables import publish_sites

    sites = publish_sites(rec.sites, rec.settings.suppression)
    if study is not None:
        sites.insert(list(sites.columns).index("area_name") + 1, "place",
                     site_places(sites, study.areas))  # fmt: skip
    return sites
