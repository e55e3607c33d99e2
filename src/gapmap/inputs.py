"""What a study is read from: one :class:`StudyInputs` object (the files, or frames already
read), handed to :meth:`gapmap.study.Study.read` with the settings.

>>> inputs = StudyInputs(providers="providers.csv", people="people.csv")
>>> inputs.with_(areas="wards.geojson").areas
'wards.geojson'
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TypeAlias

import pandas as pd

__all__ = ["AreaColumns", "StudyInputs"]

Source: TypeAlias = str | Path
Register: TypeAlias = str | Path | pd.DataFrame


@dataclass(frozen=True)
class AreaColumns:
    """Column names of a user's area layer, where gapmap cannot find them itself."""

    code: str | None = None
    name: str | None = None
    district: str | None = None
    district_name: str | None = None
    rural: str | None = None


@dataclass(frozen=True, kw_only=True, eq=False)
class StudyInputs:
    """Every input of a study; each may be left out (None).

    Attributes
    ----------
    providers, people
        The registers (CSV, XLSX, or a point layer for providers), or registers already read
        (the columns of :func:`gapmap.read_providers` / :func:`gapmap.read_people`;
        :meth:`gapmap.store.Store.study` gives them), named in messages by their
        ``attrs["source"]``. Left out, an empty register stands in (``check`` and ``suggest``
        need no people).
    areas
        A polygon layer of areas (default: the council's built-in postcode sectors).
    area_columns
        Column names of ``areas`` that gapmap cannot find by itself.
    postcode_file
        An ONS postcode file to geocode with instead of the built-in directory.
    rural, rural_lookup
        A rural classification table, and a lookup from its codes to the area codes.
    census, rates, census_lookup, census_areas
        Need from population (:func:`gapmap.need.estimated_demand`).
    disability, carers, adult_rates
        Census TS038 and TS039 tables (with ``census``): working-age adults' need and carers'
        respite, and their rate table.
    imd, imd_lookup
        The Index of Multiple Deprivation at LSOA level (with ``census``), and the LSOA
        2011→2021 lookup for IMD 2019 (:mod:`gapmap.deprivation`).
    council
        The council served (an ONS code or name, :func:`gapmap.councils.resolve_council`): its
        built-in geography when ``areas`` is not given, its postcodes for the rural fallback
        and messages. Default Kent.
    providers_sheet, people_sheet, providers_layer, areas_layer
        Which sheet of a workbook, or layer of a GeoPackage, to read when a file holds several
        (never chosen silently).
    directory_extra
        With providers given as an Open Referral UK feed: the side table of what the feed
        lacks, joined by service id (:func:`gapmap.io.oruk.read_feed`).
    """

    providers: Register | None = None
    people: Register | None = None
    areas: Source | None = None
    area_columns: AreaColumns | None = None
    postcode_file: Source | None = None
    rural: Source | None = None
    rural_lookup: Source | None = None
    census: Source | None = None
    rates: Source | None = None
    census_lookup: Source | None = None
    census_areas: Source | None = None
    disability: Source | None = None
    carers: Source | None = None
    adult_rates: Source | None = None
    imd: Source | None = None
    imd_lookup: Source | None = None
    council: str | None = None
    providers_sheet: str | None = None
    people_sheet: str | None = None
    providers_layer: str | None = None
    areas_layer: str | None = None
    directory_extra: Source | None = None

    def with_(self, **changes) -> StudyInputs:
        """The same inputs with some changed."""
        return replace(self, **changes)

    def besides_registers(self) -> dict[str, object]:
        """Every input given but the two registers, as keywords (e.g. for
        :meth:`gapmap.store.Store.study`, whose registers come from the database)."""
        return {
            f.name: v
            for f in fields(self)
            if f.name not in ("providers", "people") and (v := getattr(self, f.name)) is not None
        }

    def files(self) -> list[Path]:
        """Every file given (not frames already read), e.g. to check none is an output."""
        return [
            Path(v)
            for f in fields(self)
            if isinstance(v := getattr(self, f.name), (str, Path))
            and f.name not in {"council", "providers_sheet", "people_sheet", "providers_layer",
                               "areas_layer"}
        ]  # fmt: skip
