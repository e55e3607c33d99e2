"""``gapmap gaps``, ``report`` and ``recruit``: the area analysis and the committee paper.

Each step publishes once (:class:`~gapmap.publish.published.Published`) and every file and the
terminal are written from that; ``gapmap demo`` runs the same steps.
"""

from __future__ import annotations

import time
from pathlib import Path

from gapmap.cli.common import (
    EXIT_OK,
    KENT_TARGETS,
    _ks,
    _note,
    _output_folder,
    _print,
    _say,
    _study,
)
from gapmap.errors import InputError


# --- the steps every command shares ----------------------------------------------------------
def _gaps(study, args, title: str, out: Path):
    """The gap analysis, published once (the :class:`Published` every writer takes)."""
    from gapmap.gaps import gap_analysis
    from gapmap.publish.outputs import write_gap_outputs
    from gapmap.publish.published import Published
    from gapmap.publish.summaries import gaps_summary

    t0 = time.perf_counter()
    result = gap_analysis(study)
    t1 = time.perf_counter()
    _note(f"  analysed {len(study.reach):,} eligible person-provider pairs in {t1 - t0:.2f} s")
    published = Published.of(result)
    paths = write_gap_outputs(published, out, internal=args.internal, title=title)
    _note(f"  wrote {', '.join(paths)} in {time.perf_counter() - t1:.1f} s")
    _print(gaps_summary(published))
    _say(f"Outputs in {args.out}/: gaps.csv, gaps.gpkg, gap_map.html, gap_map.png")
    return published


def _recruit(result, ks, args, title: str, out: Path):
    """The recruitment, published once (the :class:`PublishedRecruitment` every writer takes)."""
    from gapmap.publish.outputs import write_recruit_outputs
    from gapmap.publish.published import PublishedRecruitment
    from gapmap.publish.summaries import recruit_lines
    from gapmap.recruitment.targeting import recruit

    t0 = time.perf_counter()
    rec = PublishedRecruitment.of(recruit(result, ks, other_days=True), result.study)
    paths = write_recruit_outputs(rec, result.providers, out, title=title, study=result.study)
    _note(f"  placed and wrote {', '.join(paths)} in {time.perf_counter() - t0:.1f} s")
    _print(recruit_lines(rec))
    _say(
        f"Outputs in {args.out}/: recruit_areas.csv, recruit_areas.gpkg, recruit_sites.csv, "
        "recruit_scenarios.csv, recruit_scenarios.png, recruit_map.html"
    )
    return rec


def _check_ks(study, ks) -> None:
    from gapmap.recruitment.scenarios import check_scenarios

    problems = check_scenarios(study, ks)
    if problems:
        raise InputError(problems)


def _report(result, rec, title: str, out: Path, resilience: list[str] | None = None) -> None:
    from gapmap.publish.outputs import write_about
    from gapmap.publish.report import write_report

    t0 = time.perf_counter()
    summary = out / "summary.json"  # the matching of this run, when it ran
    write_report(result, out / "report.pdf", rec=rec, title=title,
                 match=summary if summary.exists() else None,
                 resilience=resilience)  # fmt: skip
    write_about(out, result.study.settings.suppression)
    _note(f"  wrote report.pdf and report.docx in {time.perf_counter() - t0:.1f} s")


def cmd_gaps(args) -> int:
    """``gapmap gaps``: the gap analysis of the user's files."""
    title = args.title or "gapmap: micro-provider gaps"
    with _output_folder(args) as folder:
        study = _study(args)
        with folder.run() as out:
            published = _gaps(study, args, title, out)
            if args.report:
                _report(published, None, title, out)
    return EXIT_OK


def cmd_report(args) -> int:
    """``gapmap report``: the gap analysis, recruitment scenarios and the committee PDF."""
    ks = _ks(args.new_providers or KENT_TARGETS)
    title = args.title or "Micro-provider gaps and where to recruit"
    with _output_folder(args) as folder:
        study = _study(args)
        _check_ks(study, ks)
        with folder.run() as out:
            published = _gaps(study, args, title, out)
            rec = _recruit(published.result, ks, args, title, out)
            _report(published, rec, title, out)
            _say(f"The committee report: {args.out}/report.pdf")
    return EXIT_OK


def cmd_recruit(args) -> int:
    """``gapmap recruit``: ranked areas, sites and scenarios for recruitment."""
    from gapmap.gaps import gap_analysis

    ks = _ks(args.new_providers or KENT_TARGETS)
    title = args.title or "gapmap: where to recruit micro-providers"
    with _output_folder(args) as folder:
        study = _study(args)
        _check_ks(study, ks)  # before the long work
        with folder.run() as out:
            _recruit(gap_analysis(study), ks, args, title, out)
    return EXIT_OK
