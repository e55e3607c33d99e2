"""One published result: every suppressed table of a gap analysis, made once.

Every writer of a run (the CSV and GeoPackage, ``gaps.xlsx``, ``gapmap.gpkg``, the maps, the
PNG, the terminal summary and the committee report) takes the one :class:`Published` of the
run, so the small-number rule is applied once per table and every file and sentence shows the
same published figure. Sentences about the rule come from the rule itself
(:class:`~gapmap.publish.disclosure.Suppression`: ``hidden``, ``few``, ``rounding``,
``describe()``), never from a fixed text.

>>> import tempfile, gapmap
>>> from gapmap.publish.outputs import write_gap_outputs
>>> pub = Published.of(gapmap.gap_analysis(gapmap.datasets.demo_study()))
>>> len(pub.areas), pub.rule.describe() == gapmap.Settings().suppression.describe()
(259, True)
>>> sorted(write_gap_outputs(pub, tempfile.mkdtemp(), png=False))
['ABOUT_THESE_FILES.txt', 'gap_map.html', 'gapmap.gpkg', 'gaps.csv', 'gaps.gpkg', 'gaps.xlsx']

Writers also take a :class:`~gapmap.gaps.GapResult` (a notebook's one call); they publish it
then, once for that call (:func:`published_of`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from gapmap.publish.disclosure import Suppression
from gapmap.publish.tables import publish_gaps, published_deprivation

if TYPE_CHECKING:
    from gapmap.gaps import GapResult
    from gapmap.recruitment.targeting import RecruitResult
    from gapmap.study import Study

__all__ = ["Published", "PublishedRecruitment", "published_of", "published_recruitment_of"]


@dataclass(frozen=True, eq=False)
class Published:
    """The published (suppressed) tables of one gap analysis, and the rule they follow.

    Build it with :meth:`of`; every table is made there, once.

    Attributes
    ----------
    result
        The exact :class:`~gapmap.gaps.GapResult` it was made from (its study and providers;
        never written as such to a published file).
    rule
        The suppression rule every table follows (the study's ``Settings.suppression``).
    areas
        The area table as it may be shared (:func:`gapmap.publish.tables.publish_gaps`), with
        the areas' boundaries.
    districts
        Each district and the county ``Total`` row
        (:func:`gapmap.publish.workbook.district_table`).
    deprivation
        Need and unmet hours by IMD decile (:func:`gapmap.publish.tables.published_deprivation`),
        or None without ``--imd``.
    """

    result: GapResult
    rule: Suppression
    areas: gpd.GeoDataFrame
    districts: pd.DataFrame
    deprivation: pd.DataFrame | None

    @classmethod
    def of(cls, result: GapResult, rule: Suppression | None = None) -> Published:
        """Publish a gap analysis: every suppressed table, made once.

        Parameters
        ----------
        result
            A :class:`~gapmap.gaps.GapResult`.
        rule
            The suppression rule (default: the study's ``Settings.suppression``).

        Returns
        -------
        Published
        """
        from gapmap.publish.workbook import district_table

        rule = rule or result.study.settings.suppression
        return cls(
            result=result,
            rule=rule,
            areas=publish_gaps(result.table, rule),
            districts=district_table(result, rule),
            deprivation=published_deprivation(result.table, rule),
        )

    @property
    def study(self) -> Study:
        """The study analysed (:class:`~gapmap.study.Study`)."""
        return self.result.study

    @property
    def providers(self) -> pd.DataFrame:
        """The study's providers (a directory of businesses: published as they are)."""
        return self.result.providers

    @property
    def table(self) -> pd.DataFrame:
        """The published area table without boundaries (``gaps.csv``)."""
        return pd.DataFrame(self.areas.drop(columns=self.areas.geometry.name))

    @property
    def total(self) -> pd.Series:
        """The county row of :attr:`districts`."""
        return self.districts.iloc[-1]


def published_of(result, rule: Suppression | None = None) -> Published:
    """``result`` as published: itself when it is a :class:`Published` of the same rule, else
    :meth:`Published.of` it.

    Parameters
    ----------
    result
        A :class:`Published`, or a :class:`~gapmap.gaps.GapResult`.
    rule
        The suppression rule (default: the one already applied, else the study's).

    Returns
    -------
    Published
    """
    if isinstance(result, Published):
        if rule is None or rule == result.rule:
            return result
        return Published.of(result.result, rule)
    return Published.of(result, rule)


@dataclass(frozen=True, eq=False)
class PublishedRecruitment:
    """The published tables of one recruitment: ranking, sites and scenarios, made once.

    Build it with :meth:`of`; ``recruit_areas.csv``/``.gpkg``, ``recruit_sites.csv``,
    ``recruit_scenarios.csv``/``.png``, ``recruit.xlsx``, the recruit map, ``gapmap.gpkg``, the
    terminal and the report's recruitment pages all show these tables.

    Attributes
    ----------
    rec
        The exact :class:`~gapmap.recruitment.targeting.RecruitResult`.
    rule
        The suppression rule (the recruitment's ``settings.suppression``).
    ranking
        Every area ranked (:func:`gapmap.publish.tables.publish_ranking`).
    sites
        The sites of every scenario, each with a place an officer knows when the study was given
        (:func:`gapmap.publish.figures.published_sites`).
    scenarios
        One row per number of new providers (:func:`gapmap.publish.tables.publish_scenarios`).
    alternative
        The same for recruits working the other days (``rec.alternative``), or None.
    """

    rec: RecruitResult
    rule: Suppression
    ranking: gpd.GeoDataFrame
    sites: pd.DataFrame
    scenarios: pd.DataFrame
    alternative: pd.DataFrame | None

    @classmethod
    def of(cls, rec: RecruitResult, study: Study | None = None) -> PublishedRecruitment:
        """Publish a recruitment: every suppressed table, made once.

        Parameters
        ----------
        rec
            A :class:`~gapmap.recruitment.targeting.RecruitResult`.
        study
            The study recruited for (its areas name the sites' places), or None.

        Returns
        -------
        PublishedRecruitment
        """
        from gapmap.publish.figures import published_sites
        from gapmap.publish.tables import demand_people, publish_ranking, publish_scenarios

        rule = rec.settings.suppression
        alt = rec.alternative
        return cls(
            rec=rec,
            rule=rule,
            ranking=publish_ranking(rec, rule),
            sites=published_sites(rec, study),
            scenarios=publish_scenarios(rec.scenarios, rule, people=demand_people(rec)),
            alternative=None
            if alt is None
            else publish_scenarios(alt.scenarios, rule, people=demand_people(alt)),
        )

    @property
    def settings(self):
        """The recruitment's settings (:class:`~gapmap.settings.Settings`)."""
        return self.rec.settings

    def variants(self) -> list[tuple[RecruitResult, pd.DataFrame]]:
        """``(recruitment, published scenarios)`` of the recruits asked for, then of those
        working the other days when they were worked out."""
        out = [(self.rec, self.scenarios)]
        if self.rec.alternative is not None and self.alternative is not None:
            out.append((self.rec.alternative, self.alternative))
        return out


def published_recruitment_of(rec, study=None) -> PublishedRecruitment:
    """``rec`` as published: itself when it is a :class:`PublishedRecruitment`, else
    :meth:`PublishedRecruitment.of` it.

    Parameters
    ----------
    rec
        A :class:`PublishedRecruitment`, or a
        :class:`~gapmap.recruitment.targeting.RecruitResult`.
    study
        The study recruited for (names the sites' places), or None.

    Returns
    -------
    PublishedRecruitment
    """
    if isinstance(rec, PublishedRecruitment):
        return rec
    return PublishedRecruitment.of(rec, study)
