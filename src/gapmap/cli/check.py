"""``gapmap compare``, ``gapmap check`` and ``gapmap build-geography``: files checked, not analysed.

Two published folders compared, a register checked row by row, and the built-in geography
rebuilt from ONS files.
"""

from __future__ import annotations

import time
from pathlib import Path

from gapmap.cli.common import (
    EXIT_OK,
    _ks,
    _note,
    _output_folder,
    _placement,
    _print,
    _say,
    _settings,
    _store_cli,
    _study,
)
from gapmap.errors import InputError, Problem


def cmd_compare(args) -> int:
    """``gapmap compare``: what changed between two runs, from their published files."""
    from gapmap.compare import compare_runs, write_comparison

    targets = _ks(args.targets)
    settings = _settings(args).validated()
    if args.db is not None:  # the gap analysis at two dates of the register database
        return _store_cli().compare_from_db(args, settings, targets)
    problems = [
        Problem(str(d), "is not a folder (give two gapmap output folders)", column=name)
        for name, d in (("BEFORE", args.before), ("AFTER", args.after))
        if not Path(d).is_dir()
    ]
    if problems:
        raise InputError(problems)
    read = [
        Path(d) / name
        for d in (args.before, args.after)
        for name in ("gaps.csv", "gaps.xlsx", "gapmap.gpkg", "gaps.gpkg")
    ]
    with _output_folder(args, *read) as folder:
        comp = compare_runs(
            args.before, args.after, targets=tuple(targets),
            home_care_rate=settings.home_care_rate, micro_rate=settings.micro_rate,
            weeks_per_year=settings.weeks_per_year, rule=settings.suppression,
        )  # fmt: skip
        with folder.run() as out:
            paths = write_comparison(comp, args.after, out)
    _print(comp.words())
    _say(f"Outputs in {args.out}/: {', '.join(paths)}")
    return EXIT_OK


def cmd_check(args) -> int:
    """``gapmap check``: validate any of the inputs and show where they fall."""
    study = _study(args)
    if args.providers is not None:
        _say(f"{args.providers}: {len(study.providers)} providers, all rules met")
    if args.people is not None:
        _say(f"{args.people}: {len(study.people)} people, all rules met")
    if args.db is not None:
        _say(f"{args.db}: {len(study.providers)} providers and {len(study.people)} people, "
             "all rules met")  # fmt: skip
    _say(f"areas: {len(study.areas)} from {study.sources.get('areas', '')}")
    _say("")
    _placement(study)
    return EXIT_OK


def cmd_build_geography(args) -> int:
    """``gapmap build-geography``: (re)build a council's built-in postcode sectors."""
    from gapmap.councils import resolve_council
    from gapmap.io.builtin import builtin_path, write_builtin

    council = resolve_council(args.council)
    path = args.out or builtin_path(council)
    _note(
        f"Building {council.name} postcode sectors from the ONS Postcode Directory into {path} ..."
    )
    t0 = time.perf_counter()
    areas = write_builtin(path, council)
    _say(
        f"{len(areas)} sectors in {areas['district_code'].nunique()} districts, "
        f"{int(areas['postcodes'].sum()):,} postcodes, {areas.geometry.area.sum() / 1e6:,.0f} "
        f"km², in {time.perf_counter() - t0:.1f} s: {path}"
    )
    return EXIT_OK
