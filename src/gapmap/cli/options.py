"""The options of each command, made from :class:`gapmap.settings.Settings`.

A command takes the groups of settings :data:`gapmap.settings.GROUPS` gives it: each field of
those groups becomes a flag with the field's help text and default (its metadata), and the
command takes ``--settings F.toml`` (:meth:`Settings.from_toml`). The value of a setting is, from
weakest to strongest: the :class:`Settings` default, the command's own default (``gapmap demo``
has shorter time limits), the settings file, the flag.

The options that are not settings (input files, their columns and sheets) are written here once,
by the group they come with (:data:`INPUTS`).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import Field, fields
from pathlib import Path
from typing import Any

from gapmap.settings import GROUPS, Settings, flag_of

__all__ = [
    "HEADINGS",
    "INPUTS",
    "add_input",
    "add_options",
    "finite",
    "settings_from",
    "settings_of",
]

#: Where a flag set on the command line is kept in the parsed arguments: apart from the
#: command's own defaults (``set_defaults(match_time_limit_s=20.0)``), which a settings file
#: overrides.
_GIVEN = "setting:"

#: The heading in ``--help`` of each group's options.
HEADINGS = {
    "placing": "areas and placing",
    "reach": "reach",
    "gaps": "gap rules (docs: 'Gap flags, score and bands')",
    "matching": "matching rules",
    "batch": "matching rules",
    "suggestions": "matching rules",
    "referrals": "referrals",
    "dbs": "DBS checks",
    "recruitment": "recruitment (docs: 'Guide to recruitment targeting')",
    "value": "recruitment (docs: 'Guide to recruitment targeting')",
}


def finite(text: str) -> float:
    """argparse type: a finite number (``nan`` and ``inf`` are typing mistakes here)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, not {text!r}")
    return v


#: The options that are not settings, by the group of settings they come with:
#: (flag, keywords of ``add_argument``).
INPUTS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    # the registers: every command that reads them (add_input), not a group of settings
    "registers": [
        ("--providers", dict(type=Path, help="the providers register: CSV or XLSX in SPEC.md's "
                             "columns, a GeoPackage of points, or an Open Referral UK feed")),
        ("--people", dict(type=Path, help="the people register: CSV or XLSX in SPEC.md's "
                          "columns (pseudonymous ids only)")),
    ],
    "placing": [
        ("--areas", dict(type=Path, help="polygon layer of areas (default: the council's "
                         "built-in postcode sectors)")),
        ("--council", dict(metavar="CODE_OR_NAME", help="the council served, by ONS code or "
                           "name (e.g. E06000066 or Somerset; default Kent): its built-in "
                           "postcode sectors when --areas is not given")),
        ("--area-code-column", dict(help="column holding the area code (ONS columns are found "
                                    "by themselves)")),
        ("--area-name-column", dict(help="column holding the area name")),
        ("--district-column", dict(help="column holding the district code")),
        ("--district-name-column", dict(help="column holding the district name")),
        ("--rural-column", dict(help="column holding a rural flag or ONS RUC code")),
        ("--areas-layer", dict(help="the layer of --areas to read, when it has several")),
        ("--providers-sheet", dict(help="the sheet of a providers workbook with several")),
        ("--providers-layer", dict(help="the layer of a providers GeoPackage with several")),
        ("--directory-extra", dict(type=Path, help="with --providers as an Open Referral UK "
                                   "feed: the side table of what it lacks, by service id")),
        ("--people-sheet", dict(help="the sheet of a people workbook with several")),
        ("--postcode-file", dict(type=Path, help="an ONS postcode file (ONSPD/NSPL CSV) to "
                                 "geocode with, instead of the built-in ONS Postcode "
                                 "Directory")),
    ],
    "gaps": [
        ("--rural", dict(type=Path, help="rural classification table (ONS RUC per area, or per "
                         "LSOA with --rural-lookup)")),
        ("--rural-lookup", dict(type=Path, help="lookup from the rural table's codes to the "
                                "area codes (e.g. ONS LSOA->ward best fit)")),
        ("--census", dict(type=Path, help="Census age table (ONS TS007A) to estimate need from "
                          "population")),
        ("--rates", dict(type=Path, help="rate table for --census (default "
                         "data/need_rates_adl_hse2014.csv)")),
        ("--census-lookup", dict(type=Path, help="lookup from census codes to area codes")),
        ("--census-areas", dict(type=Path, help="boundaries of the census units, to place them "
                                "in the areas by location")),
        ("--disability", dict(type=Path, help="Census disability table (TS038) of the same "
                              "units: adds working-age adults' need")),
        ("--carers", dict(type=Path, help="Census unpaid care table (TS039) of the same units: "
                          "adds carers' respite need")),
        ("--adult-rates", dict(type=Path, help="rate table for --disability and --carers "
                               "(default data/need_rates_adults_carers.csv)")),
        ("--imd", dict(type=Path, help="Index of Multiple Deprivation at LSOA level (IMD 2025, "
                       "or IMD 2019 with --imd-lookup); needs --census")),
        ("--imd-lookup", dict(type=Path, help="the ONS LSOA 2011 to 2021 lookup for IMD 2019")),
        ("--internal", dict(action="store_true", help="also write internal_gaps_exact.csv with "
                            "exact, unsuppressed figures (not to be shared)")),
    ],
    "recruitment": [
        ("--new-providers", dict(default=None, metavar="K[,K...]", help="how many new "
                                 "providers to place, one scenario each (default Kent's "
                                 "targets 60,223,416; demo --council: scaled to the council)")),
    ],
}  # fmt: skip


def _help(f: Field[Any], default: Any) -> str:
    """A field's help text with its default."""
    if isinstance(default, bool):
        return f.metadata["help"]
    shown = f"{default:g}" if isinstance(default, float | int) else str(default)
    return f"{f.metadata['help']} (default {shown})"


def _add_setting(group: Any, f: Field[Any], default: Any) -> None:
    """A flag setting field ``f`` (absent: the file's value, else the command's default)."""
    common: dict[str, Any] = dict(
        dest=_GIVEN + f.name, default=argparse.SUPPRESS, help=_help(f, default)
    )
    if isinstance(f.default, bool):
        group.add_argument(flag_of(f.name), action="store_true", **common)
    elif "choices" in f.metadata:
        group.add_argument(flag_of(f.name), choices=list(f.metadata["choices"]), **common)
    else:
        kind = {int: int, float: finite, str: str}[type(f.default)]
        group.add_argument(flag_of(f.name), type=kind, metavar=f.name.upper(), **common)


def settings_of(command: str) -> list[Field[Any]]:
    """The fields of :class:`Settings` that a command takes as flags.

    Parameters
    ----------
    command
        The command, e.g. ``"match"`` or ``"db import"``.

    Returns
    -------
    list of dataclasses.Field
        In the order of :class:`Settings`.

    Examples
    --------
    >>> [f.name for f in settings_of("compare")]
    ['home_care_rate', 'micro_rate', 'weeks_per_year']
    """
    return [f for f in fields(Settings) if command in GROUPS.get(f.metadata.get("group") or "", ())]


def add_options(p: argparse.ArgumentParser, command: str, **defaults: Any) -> None:
    """Add to ``p`` the options of ``command``: its settings' flags, the options that come with
    them (:data:`INPUTS`) and ``--settings``, under their headings.

    Parameters
    ----------
    p
        The command's parser.
    command
        Its name, as :data:`gapmap.settings.GROUPS` lists it (``"db import"`` for a step).
    **defaults
        The command's own defaults of some settings (a settings file and the flags override
        them).
    """
    groups = [g for g, commands in GROUPS.items() if command in commands]
    if not groups:
        return
    p.add_argument(
        "--settings", type=Path, metavar="FILE.toml",
        help="read settings from a TOML file whose keys are the settings' names (docs: "
        "'Settings'); the flags below override it",
    )  # fmt: skip
    sections: dict[str, Any] = {}
    for group in groups:
        heading = HEADINGS[group]
        if heading not in sections:
            sections[heading] = p.add_argument_group(heading)
        for flag, keywords in INPUTS.get(group, []):
            sections[heading].add_argument(flag, **keywords)
    for f in settings_of(command):
        default = defaults.get(f.name, f.default)
        _add_setting(sections[HEADINGS[f.metadata["group"]]], f, default)
    p.set_defaults(**defaults)


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings of a parsed command line (not yet validated).

    :class:`Settings`' defaults, then the command's own defaults, then ``--settings``, then
    the flags given.

    Parameters
    ----------
    args
        What the parser of :func:`add_options`' command returned.

    Returns
    -------
    Settings
        Not yet validated (a settings file's values are).
    """
    names = {f.name for f in fields(Settings)}
    given = vars(args)
    command_defaults = {k: v for k, v in given.items() if k in names}
    flags = {k[len(_GIVEN) :]: v for k, v in given.items() if k.startswith(_GIVEN)}
    settings = Settings(**command_defaults)
    path = given.get("settings")
    if path is not None:
        settings = Settings.from_toml(path, base=settings)
    return settings.with_(**flags)


def add_input(p: Any, flag: str, **changes: Any) -> None:
    """Add one of :data:`INPUTS` by itself (``gapmap demo --council``, ``--providers``).

    Parameters
    ----------
    p
        The command's parser.
    flag
        The option, e.g. ``"--council"``.
    **changes
        Keywords of ``add_argument`` to change for this command (``required=True``).
    """
    for entries in INPUTS.values():
        for name, keywords in entries:
            if name == flag:
                p.add_argument(name, **{**keywords, **changes})
                return
    raise KeyError(flag)
