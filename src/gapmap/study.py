"""One study: the areas, the registers placed in them, the settings, and the one :class:`Reach`.

Every analysis and both faces (the command line and the web page) take a :class:`Study`:

>>> study = Study.read(providers="providers.csv", people="people.csv")   # doctest: +SKIP
>>> gaps = gapmap.gap_analysis(study)                                     # doctest: +SKIP
>>> best, greedy = gapmap.match(study)                                    # doctest: +SKIP

:meth:`Study.read` reads every input and gathers **every** problem (areas, both registers,
the rural and census tables, records outside every area) into one
:class:`~gapmap.errors.InputError`, so a user mends their files once. Each register is placed
in the areas once; the provider index (:class:`~gapmap.reach.ProviderIndex`) and the eligible
pairs (:class:`~gapmap.reach.Reach`) are built once, on first use, and shared by gap analysis,
matching, suggestions and recruitment. :meth:`Study.with_providers` gives the same study with
more providers (the recruitment scenarios).

**Records outside every area** (beyond ``settings.snap_km``) stop the study with a problem per
row, unless ``settings.drop_outside``: then such people are left out of every analysis (no
area figures, no recruitment demand, no reach: matching reports them unmatched with reason
``outside_areas``), and such providers still serve the people they reach.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from gapmap.errors import InputError, Problem
from gapmap.reach import ProviderIndex, Reach
from gapmap.settings import Settings

if TYPE_CHECKING:
    from gapmap.councils import Council
    from gapmap.need import EstimatedNeed
    from gapmap.postcodes import PostcodeDirectory

__all__ = ["AreaColumns", "Study"]


@dataclass(frozen=True)
class AreaColumns:
    """Column names of a user's area layer, where gapmap cannot find them itself."""

    code: str | None = None
    name: str | None = None
    district: str | None = None
    district_name: str | None = None
    rural: str | None = None


def _place(
    register: pd.DataFrame, areas: gpd.GeoDataFrame, snap_m: float, placement=None
) -> pd.DataFrame:
    from gapmap.io.registers import place_in_areas

    placed = place_in_areas(register, areas, snap_m=snap_m, placement=placement)
    return placed.reset_index(drop=True)


def _placements(areas: gpd.GeoDataFrame, snap_m: float, **registers: pd.DataFrame) -> dict:
    """Each register's points placed in the areas once (for the outside check and placing)."""
    from gapmap.io.areas import place_points

    return {
        what: place_points(areas, reg["x"].to_numpy(), reg["y"].to_numpy(), snap_m=snap_m)
        for what, reg in registers.items()
    }


@dataclass(eq=False)
class Study:
    """Areas, placed registers, settings and everything derived from them once.

    Build one with :meth:`read` (from files) or :meth:`from_frames` (from frames already read).

    Attributes
    ----------
    areas
        Area layer in EPSG:27700 (``area_code, area_name, district_code, district_name``).
    providers
        Providers register placed in the areas (``area_code`` is ``""`` outside every area).
    people
        People register placed in the areas, or an empty register when none was given.
    settings
        The validated :class:`~gapmap.settings.Settings`.
    rural
        Rural flag by area code from a classification table, if one was given.
    estimated
        Need estimated from population (:class:`~gapmap.need.EstimatedNeed`), if asked for.
    sources
        What each input was read from (``providers``, ``people``, ``areas``...).
    notes
        Remarks about the inputs worth telling the user (repairs, records left out).
    directory
        The postcode directory the registers were geocoded with (for requests about a person).
    deprivation
        IMD rank and decile by area code (:func:`gapmap.deprivation.area_deprivation`), if asked.
    council
        The council served (:class:`~gapmap.councils.Council`; Kent unless ``--council``).
    """

    areas: gpd.GeoDataFrame
    providers: pd.DataFrame
    people: pd.DataFrame
    settings: Settings = field(default_factory=Settings)
    rural: pd.Series | None = None
    estimated: EstimatedNeed | None = None
    sources: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    has_people: bool = True
    has_providers: bool = True
    directory: PostcodeDirectory | None = None
    deprivation: pd.DataFrame | None = None
    council: Council | None = None

    # --- building ------------------------------------------------------------------------------
    @classmethod
    def from_frames(
        cls,
        areas: gpd.GeoDataFrame,
        providers: pd.DataFrame,
        people: pd.DataFrame | None = None,
        *,
        settings: Settings | None = None,
        rural: pd.Series | None = None,
        estimated: EstimatedNeed | None = None,
        sources: dict[str, str] | None = None,
        check_outside: bool = True,
    ) -> Study:
        """A study of registers already read (:func:`gapmap.read_providers`,
        :func:`gapmap.read_people`); each is placed in ``areas`` here.

        Parameters
        ----------
        areas
            The area layer (:func:`gapmap.read_areas` or :func:`gapmap.load_builtin_areas`).
        providers, people
            The registers; ``people`` may be None (suggestions need only providers).
        settings
            The options (default :class:`~gapmap.settings.Settings`); validated here.
        rural
            Rural flag per area code, overriding the layer's own and the fallback.
        estimated
            Need estimated from population (:func:`gapmap.need.estimated_demand`).
        sources
            Names of the inputs, for messages and notes.
        check_outside
            Stop at records outside every area (unless ``settings.drop_outside``).

        Returns
        -------
        Study

        Raises
        ------
        InputError
            A broken setting, or records outside every area (unless ``drop_outside``).

        Examples
        --------
        >>> import gapmap                                               # doctest: +SKIP
        >>> areas = gapmap.load_builtin_areas()                         # doctest: +SKIP
        >>> providers = gapmap.read_providers("p.csv")                  # doctest: +SKIP
        >>> study = gapmap.Study.from_frames(areas, providers)          # doctest: +SKIP
        """
        settings = (settings or Settings()).validated()
        sources = dict(sources or {})
        has_people = people is not None
        if people is None:
            from gapmap.io.registers import empty_people

            people = empty_people()
        placed = _placements(areas, settings.snap_m, providers=providers, people=people)
        if check_outside and not settings.drop_outside:
            problems = _outside(areas, providers, people, settings, sources, placed)
            if problems:
                raise InputError(problems)
        study = cls(
            areas=areas,
            providers=_place(providers, areas, settings.snap_m, placed["providers"]),
            people=_place(people, areas, settings.snap_m, placed["people"]),
            settings=settings,
            rural=rural,
            estimated=estimated,
            sources=sources,
            notes=list(areas.attrs.get("notes", [])),
            has_people=has_people,
        )
        for label, reg in (("people", study.people), ("providers", study.providers)):
            unplaced = reg.attrs.get("unplaced", [])
            if unplaced:
                rows = ", ".join(map(str, unplaced[:10])) + (" ..." if len(unplaced) > 10 else "")
                what = (
                    "are left out of every analysis"
                    if label == "people"
                    else "are in no area (they still serve the people they reach)"
                )
                study.notes.append(f"{len(unplaced)} {label} fall outside every area and {what} "
                                   f"(rows {rows})")  # fmt: skip
        return study

    @classmethod
    def read(
        cls,
        *,
        providers: str | Path | pd.DataFrame | None = None,
        people: str | Path | pd.DataFrame | None = None,
        areas: str | Path | None = None,
        settings: Settings | None = None,
        area_columns: AreaColumns | None = None,
        postcode_file: str | Path | None = None,
        rural: str | Path | None = None,
        rural_lookup: str | Path | None = None,
        census: str | Path | None = None,
        rates: str | Path | None = None,
        census_lookup: str | Path | None = None,
        census_areas: str | Path | None = None,
        disability: str | Path | None = None,
        carers: str | Path | None = None,
        adult_rates: str | Path | None = None,
        imd: str | Path | None = None,
        imd_lookup: str | Path | None = None,
        council: str | None = None,
        providers_sheet: str | None = None,
        people_sheet: str | None = None,
        providers_layer: str | None = None,
        areas_layer: str | None = None,
        directory_extra: str | Path | None = None,
    ) -> Study:
        """Read every input of a study, gathering every problem before raising once.

        Parameters
        ----------
        providers, people
            The registers (CSV, XLSX, or a point layer for providers). Either may be left out:
            an empty register stands in (``check`` and ``suggest`` need no people). Either may
            also be a register already read (the columns of :func:`gapmap.read_providers`
            or :func:`gapmap.read_people`; :meth:`gapmap.store.Store.study` gives them), named
            in messages by its ``attrs["source"]``.
        areas
            A polygon layer of areas (default: the built-in Kent postcode sectors).
        settings
            The options (default :class:`~gapmap.settings.Settings`).
        area_columns
            Column names of ``areas`` that gapmap cannot find by itself.
        postcode_file
            An ONS postcode file to geocode with instead of the built-in directory.
        rural, rural_lookup
            A rural classification table, and a lookup from its codes to the area codes.
        census, rates, census_lookup, census_areas
            Need from population (:func:`gapmap.need.estimated_demand`).
        disability, carers, adult_rates
            Census TS038 and TS039 tables (with ``census``): working-age adults' need and
            carers' respite, and their rate table.
        imd, imd_lookup
            The Index of Multiple Deprivation at LSOA level (with ``census``), and the LSOA
            2011→2021 lookup for IMD 2019 (:mod:`gapmap.deprivation`).
        council
            The council served (an ONS code or name, :func:`gapmap.councils.resolve_council`):
            its built-in postcode-sector geography when ``areas`` is not given, and its
            postcodes for the rural fallback and messages. Default Kent.
        providers_sheet, people_sheet, providers_layer, areas_layer
            Which sheet of a workbook, or layer of a GeoPackage, to read when a file holds
            several (never chosen silently).
        directory_extra
            With providers given as an Open Referral UK feed: the side table of what the feed
            lacks, joined by service id (:func:`gapmap.io.oruk.read_feed`).

        Returns
        -------
        Study

        Raises
        ------
        InputError
            Every problem of every input (file, row and column named).

        Examples
        --------
        >>> settings = Settings(circuity=1.3)
        >>> study = Study.read(providers="providers.csv", people="people.csv",
        ...                    areas="wards.geojson", settings=settings)  # doctest: +SKIP
        >>> len(study.reach)                                                # doctest: +SKIP
        61342
        """
        from gapmap.io.areas import read_areas, read_rural_classification
        from gapmap.io.builtin import load_builtin_areas
        from gapmap.io.registers import read_people, read_providers
        from gapmap.postcodes import PostcodeDirectory, default_directory

        problems: list[Problem] = []
        try:
            settings = (settings or Settings()).validated()
        except InputError as exc:
            problems += exc.problems
            settings = Settings()

        def attempt(fn, *args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except InputError as exc:
                problems.extend(exc.problems)
                return None

        directory: PostcodeDirectory | None = None
        if postcode_file is not None:
            directory = attempt(PostcodeDirectory, postcode_file)
        directory = directory or default_directory()
        cols = area_columns or AreaColumns()
        from gapmap.councils import resolve_council

        served = attempt(resolve_council, council)
        if areas is None:
            area_layer = load_builtin_areas(served) if served is not None else None
        else:
            area_layer = attempt(
                read_areas, areas, code_column=cols.code, name_column=cols.name,
                district_column=cols.district, district_name_column=cols.district_name,
                rural_column=cols.rural, layer=areas_layer,
            )  # fmt: skip
        prov = people_reg = None
        if isinstance(providers, pd.DataFrame):  # read already (the register database)
            prov = providers
        elif providers is not None:
            prov = attempt(
                read_providers, providers, postcodes=directory, sheet=providers_sheet,
                layer=providers_layer, extra=directory_extra,
            )  # fmt: skip
        if isinstance(people, pd.DataFrame):
            people_reg = people
        elif people is not None:
            people_reg = attempt(read_people, people, postcodes=directory, sheet=people_sheet)
        rural_flags = None
        if rural is not None:
            rural_flags = attempt(read_rural_classification, rural, lookup=rural_lookup)
        elif rural_lookup is not None:
            problems.append(Problem("settings", "a rural lookup goes with a rural table"))
        estimated = None
        if census is not None and area_layer is not None:
            from gapmap.need import estimated_demand

            estimated = attempt(
                estimated_demand, area_layer, census, rates_path=rates, lookup=census_lookup,
                census_areas=census_areas, snap_m=settings.snap_m, disability_path=disability,
                carers_path=carers, adult_rates_path=adult_rates,
            )  # fmt: skip
        elif census is None and (
            census_lookup or census_areas or rates or disability or carers or adult_rates or imd
        ):
            problems.append(
                Problem(
                    "settings",
                    "a census lookup, census areas, rates, the disability, carers and IMD "
                    "tables go with a census age table (--census)",
                )
            )
        deprivation = None
        if imd is not None and estimated is not None:
            from gapmap.deprivation import area_deprivation, read_imd

            imd_table = attempt(read_imd, imd, imd_lookup)
            if imd_table is not None and estimated.unit_area is not None:
                assert estimated.unit_population is not None
                deprivation = attempt(
                    area_deprivation, imd_table, estimated.unit_area, estimated.unit_population
                )
        elif imd_lookup is not None and imd is None:
            problems.append(Problem("settings", "an IMD lookup goes with an IMD table (--imd)"))
        if area_layer is not None and not settings.drop_outside:
            problems += _outside(
                area_layer,
                prov if prov is not None else _no_providers(),
                people_reg if people_reg is not None else _no_people(),
                settings,
                {"providers": _label(providers), "people": _label(people)},
            )
        if problems or area_layer is None:
            raise InputError(problems)
        sources = {
            "areas": str(areas) if areas is not None else area_layer.attrs.get("source", ""),
            "providers": _label(providers) if providers is not None else "",
            "people": _label(people) if people is not None else "",
            "postcodes": directory.source,
        }
        for key, value in (("census", census), ("disability", disability),
                           ("carers", carers), ("imd", imd)):  # fmt: skip
            if value is not None:
                sources[key] = str(value)
        if rural is not None:
            sources["rural"] = str(rural)
        study = cls.from_frames(
            area_layer,
            prov if prov is not None else _no_providers(),
            people_reg,
            settings=settings,
            rural=rural_flags,
            estimated=estimated,
            sources=sources,
            check_outside=False,  # checked above, with the other problems
        )
        study.has_providers = providers is not None
        if prov is not None:
            study.notes += prov.attrs.get("notes", [])
        study.directory = directory
        study.deprivation = deprivation
        study.council = served
        return study

    # --- what is derived once ------------------------------------------------------------------
    @cached_property
    def index(self) -> ProviderIndex:
        """The providers indexed for eligibility questions (built once)."""
        return ProviderIndex(self.providers, circuity=self.settings.circuity)

    @cached_property
    def in_area(self) -> np.ndarray:
        """People inside an area (all of them unless ``drop_outside`` left some out)."""
        return (self.people["area_code"].astype(str) != "").to_numpy()

    @cached_property
    def reach(self) -> Reach:
        """Every eligible (person, provider) pair (:meth:`ProviderIndex.pairs`), built once.

        People outside every area (only with ``drop_outside``) have no pairs.
        """
        return self.index.pairs(self._reach_people())

    def _reach_people(self) -> pd.DataFrame:
        """The people the pairs are built from: those outside every area without a place."""
        people = self.people
        if not self.in_area.all():
            people = people.assign(
                x=np.where(self.in_area, people["x"].to_numpy(float), np.nan),
            )
        return people

    @cached_property
    def estimated_reach(self) -> Reach | None:
        """Eligible pairs of the estimated need points (services unknown: distance only)."""
        if self.estimated is None:
            return None
        return self.index.pairs(self._estimated_points(), check_services=False)

    def _estimated_points(self) -> pd.DataFrame:
        assert self.estimated is not None
        return pd.DataFrame(
            {
                "x": self.estimated.x,
                "y": self.estimated.y,
                "max_travel_km": np.full(len(self.estimated.x), np.nan),
            }
        )

    def with_providers(self, new: pd.DataFrame) -> Study:
        """The same study with providers ``new`` added (a recruitment scenario).

        The new providers are placed in the areas. Pairs already built are kept and only the
        new providers' pairs are added (:func:`gapmap.reach.add_providers`: the same pairs,
        in the same order, as building them all afresh); the index is built afresh if asked.
        """
        from gapmap.reach import add_providers

        placed = _place(new, self.areas, self.settings.snap_m)
        both = pd.concat([self.providers, placed], ignore_index=True)
        # every input kept, the providers and derived values (index, reach) new
        study = replace(self, providers=both, notes=list(self.notes))
        circuity = self.settings.circuity
        if "reach" in self.__dict__:
            study.__dict__["reach"] = add_providers(
                self.reach, self._reach_people(), placed, circuity=circuity
            )
        if self.__dict__.get("estimated_reach") is not None:
            study.__dict__["estimated_reach"] = add_providers(
                self.__dict__["estimated_reach"], self._estimated_points(), placed,
                circuity=circuity, check_services=False,
            )  # fmt: skip
        return study

    def with_settings(self, **changes) -> Study:
        """The same inputs under other settings (validated); derived values are rebuilt, but
        the pairs already built are kept when the circuity is the same (nothing else shapes
        them)."""
        settings = self.settings.with_(**changes).validated()
        study = replace(self, settings=settings, notes=list(self.notes))
        if settings.circuity == self.settings.circuity:  # the pairs do not depend on the rest
            for name in ("index", "reach", "estimated_reach"):
                if name in self.__dict__:
                    study.__dict__[name] = self.__dict__[name]
        return study


def _label(register) -> str:
    """What messages call a register: its file, or the source of a frame already read."""
    if isinstance(register, pd.DataFrame):
        return str(register.attrs.get("source", "register"))
    return str(register)


def _no_providers() -> pd.DataFrame:
    from gapmap.io.registers import empty_providers

    return empty_providers()


def _no_people() -> pd.DataFrame:
    from gapmap.io.registers import empty_people

    return empty_people()


def _outside(
    areas, providers, people, settings: Settings, sources: dict, placed: dict | None = None
) -> list[Problem]:
    from gapmap.io.registers import outside_problems

    out: list[Problem] = []
    for reg, what in ((providers, "providers"), (people, "people")):
        if reg is not None and len(reg):
            out += outside_problems(
                reg,
                areas,
                file=sources.get(what, what),
                what=what,
                snap_m=settings.snap_m,
                circuity=settings.circuity,
                placement=(placed or {}).get(what),
            )
    return out
