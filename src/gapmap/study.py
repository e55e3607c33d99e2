"""One study: the areas, the registers placed in them, the settings, and the one :class:`Reach`.

Every analysis and both faces (the command line and the web page) take a :class:`Study`:

>>> import gapmap
>>> from gapmap.demo import demo_paths
>>> providers_csv, people_csv = demo_paths()      # the demo's registers (gapmap demo)
>>> study = Study.read(StudyInputs(providers=providers_csv, people=people_csv))
>>> gaps = gapmap.gap_analysis(study)
>>> matching = gapmap.match(study.with_settings(match_time_limit_s=2))
>>> len(study.reach) == len(gapmap.datasets.demo_study().reach), matching.matched > 0
(True, True)

:meth:`Study.read` reads every input and gathers **every** problem (areas, both registers,
the rural and census tables, records outside every area) into one
:class:`~gapmap.errors.InputError`, so a user mends their files once. Its inputs are one
:class:`~gapmap.inputs.StudyInputs`. Each register is placed in the areas once (the check of
records outside every area uses that placement); which areas are rural is worked out once
(:attr:`Study.rural_areas`); the provider index (:class:`~gapmap.reach.ProviderIndex`) and
the eligible pairs (:class:`~gapmap.reach.Reach`) are built once, on first use, and shared by
gap analysis, matching, suggestions and recruitment. :meth:`Study.with_providers` gives the
same study with more providers (the recruitment scenarios).

**Records outside every area** (beyond ``settings.snap_km``) stop the study with a problem per
row, unless ``settings.drop_outside``: then such people are left out of every analysis (no
area figures, no recruitment demand, no reach: matching reports them unmatched with reason
``outside_areas``), and such providers still serve the people they reach.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from gapmap.errors import InputError, Problem
from gapmap.inputs import AreaColumns, StudyInputs
from gapmap.reach import ProviderIndex, Reach
from gapmap.settings import Settings

if TYPE_CHECKING:
    from gapmap.councils import Council
    from gapmap.need import EstimatedNeed
    from gapmap.postcodes import PostcodeDirectory
    from gapmap.rural import RuralAreas

__all__ = ["AreaColumns", "Study", "StudyInputs"]


def _place(register: pd.DataFrame, areas: gpd.GeoDataFrame, snap_m: float) -> pd.DataFrame:
    from gapmap.io.placing import place_in_areas

    return place_in_areas(register, areas, snap_m=snap_m).reset_index(drop=True)


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
        >>> import gapmap
        >>> from gapmap.demo import demo_paths
        >>> areas = gapmap.load_builtin_areas()
        >>> providers = gapmap.read_providers(demo_paths()[0])
        >>> study = gapmap.Study.from_frames(areas, providers)
        >>> len(study.providers), len(study.people), study.providers["area_code"].iloc[0] != ""
        (416, 0, True)
        """
        settings = (settings or Settings()).validated()
        sources = dict(sources or {})
        placed_providers = _place(providers, areas, settings.snap_m)
        placed_people = None if people is None else _place(people, areas, settings.snap_m)
        if check_outside and not settings.drop_outside:
            problems = _outside(areas, placed_providers, placed_people, settings, sources)
            if problems:
                raise InputError(problems)
        return cls._placed(
            areas, placed_providers, placed_people, settings=settings, rural=rural,
            estimated=estimated, sources=sources,
        )  # fmt: skip

    @classmethod
    def _placed(
        cls,
        areas: gpd.GeoDataFrame,
        providers: pd.DataFrame,
        people: pd.DataFrame | None,
        *,
        settings: Settings,
        rural: pd.Series | None,
        estimated: EstimatedNeed | None,
        sources: dict[str, str],
    ) -> Study:
        """A study of registers placed in ``areas`` already (each placed once, by the caller)."""
        has_people = people is not None
        if people is None:
            from gapmap.io.registers import empty_people

            people = _place(empty_people(), areas, settings.snap_m)
        study = cls(
            areas=areas,
            providers=providers,
            people=people,
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
    def read(cls, inputs: StudyInputs | None = None, *, settings: Settings | None = None) -> Study:
        """Read every input of a study, gathering every problem before raising once.

        Parameters
        ----------
        inputs
            What the study is read from (:class:`~gapmap.inputs.StudyInputs`: the registers,
            the areas, the rural, census and IMD tables ...); default: no registers, the
            built-in Kent areas.
        settings
            The options (default :class:`~gapmap.settings.Settings`).

        Returns
        -------
        Study

        Raises
        ------
        InputError
            Every problem of every input (file, row and column named).

        Examples
        --------
        >>> from gapmap.demo import demo_paths
        >>> providers_csv, people_csv = demo_paths()      # or your own files
        >>> inputs = StudyInputs(providers=providers_csv, people=people_csv)
        >>> study = Study.read(inputs, settings=Settings(circuity=1.3))
        >>> straight = Study.read(inputs)
        >>> 0 < len(study.reach) < len(straight.reach)    # by road, fewer pairs in reach
        True

        Your own areas: ``StudyInputs(..., areas="wards.geojson")`` (any polygon layer gapmap
        can read).
        """
        from gapmap.io.areas import read_areas, read_rural_classification
        from gapmap.io.builtin import load_builtin_areas
        from gapmap.io.registers import read_people, read_providers
        from gapmap.postcodes import PostcodeDirectory, default_directory

        i = inputs or StudyInputs()
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
        if i.postcode_file is not None:
            directory = attempt(PostcodeDirectory, i.postcode_file)
        directory = directory or default_directory()
        cols = i.area_columns or AreaColumns()
        from gapmap.councils import resolve_council

        served = attempt(resolve_council, i.council)
        if i.areas is None:
            area_layer = load_builtin_areas(served) if served is not None else None
        else:
            area_layer = attempt(
                read_areas, i.areas, code_column=cols.code, name_column=cols.name,
                district_column=cols.district, district_name_column=cols.district_name,
                rural_column=cols.rural, layer=i.areas_layer,
            )  # fmt: skip
        prov = people_reg = None
        if isinstance(i.providers, pd.DataFrame):  # read already (the register database)
            prov = i.providers
        elif i.providers is not None:
            prov = attempt(
                read_providers, i.providers, postcodes=directory, sheet=i.providers_sheet,
                layer=i.providers_layer, extra=i.directory_extra,
            )  # fmt: skip
        if isinstance(i.people, pd.DataFrame):
            people_reg = i.people
        elif i.people is not None:
            people_reg = attempt(read_people, i.people, postcodes=directory, sheet=i.people_sheet)
        rural_flags = None
        if i.rural is not None:
            rural_flags = attempt(read_rural_classification, i.rural, lookup=i.rural_lookup)
        elif i.rural_lookup is not None:
            problems.append(Problem("settings", "a rural lookup goes with a rural table"))
        estimated = None
        if i.census is not None and area_layer is not None:
            from gapmap.need import estimated_demand

            estimated = attempt(
                estimated_demand, area_layer, i.census, rates_path=i.rates,
                lookup=i.census_lookup, census_areas=i.census_areas, snap_m=settings.snap_m,
                disability_path=i.disability, carers_path=i.carers,
                adult_rates_path=i.adult_rates,
            )  # fmt: skip
        elif i.census is None and (
            i.census_lookup or i.census_areas or i.rates or i.disability or i.carers
            or i.adult_rates or i.imd
        ):  # fmt: skip
            problems.append(
                Problem(
                    "settings",
                    "a census lookup, census areas, rates, the disability, carers and IMD "
                    "tables go with a census age table (--census)",
                )
            )
        deprivation = None
        if i.imd is not None and estimated is not None:
            from gapmap.deprivation import area_deprivation, read_imd

            imd_table = attempt(read_imd, i.imd, i.imd_lookup)
            if imd_table is not None and estimated.unit_area is not None:
                assert estimated.unit_population is not None
                deprivation = attempt(
                    area_deprivation, imd_table, estimated.unit_area, estimated.unit_population
                )
        elif i.imd_lookup is not None and i.imd is None:
            problems.append(Problem("settings", "an IMD lookup goes with an IMD table (--imd)"))
        # each register placed in the areas once: the check of records outside every area
        # and the study both use this placement
        placed_prov = placed_people = None
        if area_layer is not None:
            placed_prov = _place(
                prov if prov is not None else _no_providers(), area_layer, settings.snap_m
            )
            if people_reg is not None:
                placed_people = _place(people_reg, area_layer, settings.snap_m)
            if not settings.drop_outside:
                problems += _outside(
                    area_layer, placed_prov, placed_people, settings,
                    {"providers": _label(i.providers), "people": _label(i.people)},
                )  # fmt: skip
        if problems or area_layer is None or placed_prov is None:
            raise InputError(problems)
        sources = {
            "areas": str(i.areas) if i.areas is not None else area_layer.attrs.get("source", ""),
            "providers": _label(i.providers) if i.providers is not None else "",
            "people": _label(i.people) if i.people is not None else "",
            "postcodes": directory.source,
        }
        for key, value in (("census", i.census), ("disability", i.disability),
                           ("carers", i.carers), ("imd", i.imd)):  # fmt: skip
            if value is not None:
                sources[key] = str(value)
        if i.rural is not None:
            sources["rural"] = str(i.rural)
        study = cls._placed(
            area_layer, placed_prov, placed_people, settings=settings, rural=rural_flags,
            estimated=estimated, sources=sources,
        )  # fmt: skip
        study.has_providers = i.providers is not None
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
    def rural_areas(self) -> RuralAreas:
        """Which areas are rural, and from what (:func:`gapmap.rural.rural_areas`), worked out
        once per study and kept by :meth:`with_providers` (providers do not change it)."""
        from gapmap.rural import rural_areas

        return rural_areas(
            self.areas, self.rural, self.settings.rural_postcodes_per_km2, self.council
        )

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
        return self._keeping(study)

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
        if settings.rural_postcodes_per_km2 == self.settings.rural_postcodes_per_km2:
            return self._keeping(study)
        return study

    def _keeping(self, other: Study) -> Study:
        """``other`` (of the same areas) with what it shares with this study already worked
        out: the rural flag of the areas."""
        if "rural_areas" in self.__dict__:
            other.__dict__["rural_areas"] = self.__dict__["rural_areas"]
        return other


def _label(register) -> str:
    """What messages call a register: its file, or the source of a frame already read."""
    if isinstance(register, pd.DataFrame):
        return str(register.attrs.get("source", "register"))
    return str(register)


def _no_providers() -> pd.DataFrame:
    from gapmap.io.registers import empty_providers

    return empty_providers()


def _outside(areas, providers, people, settings: Settings, sources: dict) -> list[Problem]:
    """Problems of records outside every area, for registers placed in ``areas`` already
    (:func:`_place`; None: no register)."""
    from gapmap.io.placing import outside_problems

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
                placed=(reg["area_code"].astype(str) != "").to_numpy(),
            )
    return out
