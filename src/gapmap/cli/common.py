"""What every command shares: reading the options into a Study, the output folder, messages.

:func:`_settings` (defaults, ``--settings FILE``, then the flags), :func:`_study` (the
registers and tables the options name, read and placed once), :func:`_output_folder` (checked
and locked before any work), messages on standard output (:func:`_say`) and standard error
(:func:`_note`), and the exit codes.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from gapmap.cli.options import add_input, settings_from
from gapmap.errors import InputError, Problem
from gapmap.settings import Settings, flag_of

EXIT_OK, EXIT_ERROR, EXIT_INPUT = 0, 1, 2


def _say(msg: str = "") -> None:
    print(msg, flush=True)


def _note(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _as_flags(exc: InputError) -> InputError:
    """The library names settings by field; the command line by flag."""
    problems = [
        replace(p, file="command line", column=flag_of(p.column))
        if p.file == "settings" and p.column
        else replace(p, file="command line")
        if p.file == "settings"
        else p
        for p in exc.problems
    ]
    return InputError(problems)


# --- options: made from Settings (gapmap.cli.options) ---------------------------------------
def _add_council_option(p) -> None:
    add_input(p, "--council")


def _settings(args) -> Settings:
    """The settings of the command line: defaults, ``--settings FILE``, then the flags."""
    return settings_from(args)


#: Kent's targets for micro-enterprises in years 1, 2 and 3 (the market report).
KENT_TARGETS = "60,223,416"


def _ks(text: str) -> list[int]:
    try:
        ks = [int(t) for t in str(text).replace(" ", "").split(",") if t]
    except ValueError:
        ks = []
    if not ks:
        raise InputError(
            Problem(
                "command line",
                "must be whole numbers of 1 or more, separated by commas",
                column="--new-providers",
                value=text,
            )
        )
    return ks


def _study(args, *, providers=True, people=True):
    """Read the study the options describe (every input problem at once)."""
    from gapmap.study import AreaColumns, Study, StudyInputs

    if getattr(args, "db", None) is None and getattr(args, "need_registers", False):
        wanted = ["--providers"] + (["--people"] if people else [])
        missing = [f for f in wanted if getattr(args, f[2:]) is None]
        if missing:
            raise InputError([Problem("command line", "is required (or give --db)", column=m)
                              for m in missing])  # fmt: skip
    inputs = StudyInputs(
        providers=getattr(args, "providers", None) if providers else None,
        people=getattr(args, "people", None) if people else None,
        areas=getattr(args, "areas", None),
        area_columns=AreaColumns(
            code=getattr(args, "area_code_column", None),
            name=getattr(args, "area_name_column", None),
            district=getattr(args, "district_column", None),
            district_name=getattr(args, "district_name_column", None),
            rural=getattr(args, "rural_column", None),
        ),
        postcode_file=getattr(args, "postcode_file", None),
        rural=getattr(args, "rural", None),
        rural_lookup=getattr(args, "rural_lookup", None),
        census=getattr(args, "census", None),
        rates=getattr(args, "rates", None),
        census_lookup=getattr(args, "census_lookup", None),
        census_areas=getattr(args, "census_areas", None),
        disability=getattr(args, "disability", None),
        carers=getattr(args, "carers", None),
        adult_rates=getattr(args, "adult_rates", None),
        imd=getattr(args, "imd", None),
        imd_lookup=getattr(args, "imd_lookup", None),
        council=getattr(args, "council", None),
        providers_sheet=getattr(args, "providers_sheet", None),
        people_sheet=getattr(args, "people_sheet", None),
        providers_layer=getattr(args, "providers_layer", None),
        areas_layer=getattr(args, "areas_layer", None),
        directory_extra=getattr(args, "directory_extra", None),
    )
    if getattr(args, "db", None) is not None:  # the register database instead of files
        from gapmap.cli.store import study_from_db

        study = study_from_db(args, inputs, _settings(args), providers=providers, people=people)
    else:
        study = Study.read(inputs, settings=_settings(args))
    for note in study.notes:
        _say(f"  ({note})")
    return study


_INPUT_ARGS = (
    "providers", "people", "areas", "postcode_file", "rural", "rural_lookup", "census", "rates",
    "census_lookup", "census_areas", "disability", "carers", "adult_rates", "imd", "imd_lookup",
    "directory_extra", "settings",
)  # fmt: skip


def _output_folder(args, *extra_inputs: Path):
    """The ``--out`` folder, to be entered (checked and locked) before any work."""
    from gapmap.publish.folder import OutputFolder
    from gapmap.publish.outputs import ABOUT_FILE, AUDIENCE, INDEX_FILE

    inputs = [getattr(args, name, None) for name in _INPUT_ARGS] + list(extra_inputs)
    _settings(args).validated()  # a bad option stops before anything is made
    return OutputFolder(args.out, inputs=inputs, outputs=[*AUDIENCE, ABOUT_FILE, INDEX_FILE])


def _print(lines: list[str]) -> None:
    for line in lines:
        _say(line)


def _placement(study) -> None:
    from gapmap.io.placing import placement_summary
    from gapmap.publish.summaries import placement_lines

    _print(
        placement_lines(
            placement_summary(study.areas, study.providers, study.people),
            study.settings.suppression,
        )
    )
    for label, reg in (("providers", study.providers), ("people", study.people)):
        snapped = int((reg["snapped_m"] > 0).sum())
        if snapped:
            _say(
                f"  {snapped} {label} just outside every area were placed in the nearest one "
                f"(at most {reg['snapped_m'].max():,.0f} m away)"
            )


def _store_cli():
    from gapmap.cli import store as cli_store

    return cli_store
