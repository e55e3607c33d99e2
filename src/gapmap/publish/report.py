"""``report.pdf``: a few pages a committee can read, from the published figures only.

Page 1: a titled county map of unmet hours with district names, and the headline figures in
words. Page 2: the district table and the largest gaps in words, with the weekend and rural
findings. Page 3 (when recruitment ran): the scenarios as a chart and a table, with the
savings. Last page: methods and caveats. Written with matplotlib's PDF backend (text is real
text, so it can be searched and read aloud); every figure is the suppressed one of the CSV and
workbook files.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from .disclosure import published_count, round_to
from .export import atomic_path
from .maps import ATTRIBUTION
from .pictures import _pyplot, draw_gap_map, draw_scenarios
from .provenance import caption
from .summaries import county_totals, deprivation_lines
from .tables import demand_people, publish_gaps, publish_scenarios
from .workbook import district_table

__all__ = ["write_report"]

A4 = (8.27, 11.69)


def _text(fig, y: float, text: str, *, size: float = 10, width: int = 100, **kw) -> float:
    """Write wrapped text from the top at ``y`` (figure fraction); return the next free y."""
    lines = []
    for para in text.split("\n"):
        lines += textwrap.wrap(para, width) or [""]
    fig.text(0.07, y, "\n".join(lines), fontsize=size, va="top", ha="left", **kw)
    return y - (len(lines) * size * 1.45) / (A4[1] * 72)


def _headline(result) -> list[str]:
    rule = result.study.settings.suppression
    t = result.table
    need, wneed = t["need_hours"].sum(), t["weekend_need_hours"].sum()
    total = county_totals(t, rule)
    people = published_count(int(t["people"].sum()), rule)
    out = []
    if need > 0 and total["need_hours"] != total["need_hours"]:
        out.append(f"{people} people are on the waiting list (1-7: their hours are withheld).")
    elif need > 0:
        out.append(
            f"{people} people on the waiting list need {total['need_hours']:,.0f} hours of "
            f"support a week. Providers within travel distance could give "
            f"{total['coverage_ratio']:.0%} of it; {total['unmet_hours']:,.0f} hours a week "
            "are unmet."
        )
    if wneed > 0 and total["weekend_need_hours"] == total["weekend_need_hours"]:
        out.append(
            f"At weekends only {total['weekend_coverage_ratio']:.0%} of the "
            f"{total['weekend_need_hours']:,.0f} hours needed are in reach of a provider who "
            "works then."
        )
    out.append(
        f"Of {len(t)} areas, {int((t['gap_band'] == 'high').sum())} have a high gap (less than "
        f"40% of need in reach), {int(t['weekend_gap'].sum())} a weekend gap and "
        f"{int(t['rural_gap'].sum())} of {int(t['rural'].sum())} rural areas a rural gap."
    )
    if "estimated_need_hours" in t:
        est = t["estimated_need_hours"].sum()
        if est > 0:
            out.append(
                f"Estimated from the Census, adults in the area may need about "
                f"{round_to(est, rule.base):,.0f} hours of help a week, "
                f"{1 - t['estimated_unmet_hours'].sum() / est:.0%} of it in reach: most of it "
                "is not on any waiting list."
            )
    return out


def _largest(published: pd.DataFrame, top: int = 10) -> list[str]:
    # areas with no people (or none unmet) are no gap, however few areas have one
    shown = published[published["unmet_hours"].notna() & (published["unmet_hours"] > 0)]
    shown = shown[shown["people"].astype(str) != "0"]
    worst = shown.sort_values(["unmet_hours", "area_code"], ascending=[False, True]).head(top)
    lines = []
    for i, r in enumerate(worst.to_dict("records"), 1):
        flags = [f for f, on in (("weekend gap", r["weekend_gap"]), ("rural gap", r["rural_gap"]))
                 if on]  # fmt: skip
        share = r["coverage_ratio"]
        lines.append(
            f"{i}. {r['area_name']} ({r['district']}): {r['unmet_hours']:,.0f} unmet hours a "
            f"week, {share:.0%} of need in reach" + (f"; {', '.join(flags)}" if flags else "")
        )
    return lines


def _table(ax, frame: pd.DataFrame, columns: list[tuple[str, str, str]]) -> None:
    cells = []
    for r in frame.to_dict("records"):
        row = []
        for col, _, fmt in columns:
            v = r.get(col)
            if v is None or (isinstance(v, float) and np.isnan(v)):
                row.append("withheld" if fmt != "text" else "")
            elif fmt == "pct":
                row.append(f"{float(v):.0%}")
            elif fmt == "hours":
                row.append(f"{float(v):,.0f}")
            elif fmt == "money":
                row.append(f"£{float(v):,.0f}")
            else:
                row.append(str(v))
        cells.append(row)
    tab = ax.table(cellText=cells, colLabels=[h for _, h, _ in columns], loc="upper center",
                   cellLoc="right", colLoc="center")  # fmt: skip
    tab.auto_set_font_size(False)
    tab.set_fontsize(7.5)
    tab.auto_set_column_width([0])
    tab.scale(1, 1.35)
    for (row, col), cell in tab.get_celld().items():
        if row == 0:
            cell.set_text_props(weight="bold", wrap=True)
            cell.set_height(cell.get_height() * 1.8)
        if col == 0:
            cell.set_text_props(ha="left")
        if row > 0 and cells[row - 1][0] == "Total":
            cell.set_text_props(weight="bold")
    ax.axis("off")


def write_report(result, path: str | Path, *, rec=None, title: str = "") -> Path:
    """Write the committee report as PDF (atomically).

    Parameters
    ----------
    result
        A :class:`~gapmap.gaps.GapResult`.
    path
        The PDF file.
    rec
        A :class:`~gapmap.recruitment.RecruitResult` for the scenarios page, or None.
    title
        The report's title.

    Returns
    -------
    Path
    """
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    plt = _pyplot()
    matplotlib.rcParams["pdf.fonttype"] = 42  # real, searchable text
    study = result.study
    rule = study.settings.suppression
    published = publish_gaps(result.table, rule)
    table = pd.DataFrame(published.drop(columns=published.geometry.name))
    title = title or "Micro-provider gaps and where to recruit"
    made = caption(study.sources)
    path = Path(path)
    with atomic_path(path) as tmp, PdfPages(tmp) as pdf:
        info = pdf.infodict()
        info["Title"] = title
        info["Subject"] = "Need for micro-provider support against provider coverage"
        info["CreationDate"] = dt.datetime.now(dt.UTC)
        # 1: the map and the headline
        fig = plt.figure(figsize=A4)
        fig.text(0.07, 0.955, title, fontsize=17, weight="bold", va="top")
        y = _text(fig, 0.925, made, size=7.5, width=135, color="#333")
        ax = fig.add_axes((0.04, 0.36, 0.92, y - 0.37))
        handles = draw_gap_map(ax, published, result.providers)
        ax.legend(handles=handles, title="Unmet hours a week", loc="upper left", fontsize=6.5,
                  title_fontsize=7, frameon=True, bbox_to_anchor=(0.0, 0.0), ncol=3)  # fmt: skip
        y = _text(fig, 0.25, "What the figures say", size=12, weight="bold")
        _text(fig, y - 0.005, "\n".join(_headline(result)), size=9.5, width=105)
        _text(fig, 0.05, ATTRIBUTION, size=6.5, width=160, color="#555")
        pdf.savefig(fig)
        plt.close(fig)
        # 2: districts and the largest gaps
        fig = plt.figure(figsize=A4)
        fig.text(0.07, 0.955, "Districts", fontsize=15, weight="bold", va="top")
        d = district_table(result, rule)
        ax = fig.add_axes((0.05, 0.5, 0.9, 0.42))
        _table(ax, d, [
            ("district", "District", "text"), ("people", "People\nwaiting", "text"),
            ("providers", "Providers", "text"), ("need_hours", "Need\nh/week", "hours"),
            ("unmet_hours", "Unmet\nh/week", "hours"), ("coverage_ratio", "Need in\nreach", "pct"),
            ("weekend_coverage_ratio", "Weekend\nin reach", "pct"),
            ("rural_gaps", "Rural\ngaps", "text"), ("weekend_gaps", "Weekend\ngaps", "text"),
        ])  # fmt: skip
        y = _text(fig, 0.47, "The largest gaps", size=12, weight="bold")
        y = _text(fig, y - 0.005, "\n".join(_largest(table)), size=9, width=110)
        y = _text(fig, y - 0.015, "Weekends and rural areas", size=12, weight="bold")
        weekend = table[table["weekend_gap"].astype(bool)]
        rural = table[table["rural_gap"].astype(bool)]
        far = rural["nearest_provider_km"].dropna()
        words = (
            f"{len(weekend)} areas have a weekend gap: less than half of the hours people need "
            "on Saturdays and Sundays are in reach of a provider who works then. Somerset's "
            "review found that 80% of professionals say providers not working weekends limits "
            f"their value. {len(rural)} rural areas have a rural gap"
            + (
                f"; in them the nearest provider is a median {far.median():.1f} km away."
                if len(far)
                else "."
            )
        )
        y = _text(fig, y - 0.005, words, size=9, width=110)
        dep = deprivation_lines(result.table, rule)
        if dep:
            y = _text(fig, y - 0.015, "Deprivation", size=12, weight="bold")
            _text(fig, y - 0.005, " ".join(dep), size=9, width=110)
        pdf.savefig(fig)
        plt.close(fig)
        # 3: recruitment scenarios
        if rec is not None:
            scen = publish_scenarios(rec.scenarios, rule, people=demand_people(rec))
            fig = plt.figure(figsize=A4)
            fig.text(0.07, 0.955, "Recruiting micro-providers", fontsize=15, weight="bold",
                     va="top")  # fmt: skip
            a1 = fig.add_axes((0.1, 0.6, 0.37, 0.3))
            a2 = fig.add_axes((0.6, 0.6, 0.37, 0.3))
            draw_scenarios(a1, a2, scen)
            ax = fig.add_axes((0.05, 0.33, 0.9, 0.2))
            _table(ax, scen, [
                ("new_providers", "New\nproviders", "text"),
                ("providers_placed", "Placed", "text"),
                ("hours_taken", "Hours taken\na week", "hours"),
                ("coverage_before", "Need in reach\nbefore", "pct"),
                ("coverage_after", "Need in reach\nafter", "pct"),
                ("rural_gaps_after", "Rural gaps\nafter", "text"),
                ("weekend_gaps_after", "Weekend gaps\nafter", "text"),
                ("saving_per_year_vs_home_care", "Saving a year\nvs home care", "money"),
            ])  # fmt: skip
            s = rec.settings
            lines = [
                f"Each new provider is assumed to give {s.hours_per_provider:g} hours a week "
                f"within {s.radius_km:g} km, "
                + ("every day" if s.weekend_working else "on weekdays only")
                + f", at most {s.per_site} in one area. The saving is the hours taken × "
                f"{s.weeks_per_year:g} weeks × (£{s.home_care_rate:.2f} commissioned home care "
                f"− £{s.micro_rate:.2f} micro-provider) an hour.",
            ]
            short = scen[scen["providers_placed"] < scen["new_providers"]]
            for r in short.to_dict("records"):
                lines.append(
                    f"Asked for {int(r['new_providers'])}, only {int(r['providers_placed'])} "
                    "would have unmet hours to take: more recruits would not add hours until "
                    "need grows."
                )
            _text(fig, 0.3, "\n".join(lines), size=9, width=110)
            pdf.savefig(fig)
            plt.close(fig)
        # last: methods and caveats
        fig = plt.figure(figsize=A4)
        fig.text(0.07, 0.955, "Methods and caveats", fontsize=15, weight="bold", va="top")
        methods = "\n".join([
            "Need is the hours a week each person on the waiting list needs. Provider capacity "
            "is shared out over everyone who can reach it (the two-step floating catchment area "
            "method): unmet hours are the need that no provider in reach has hours for, and the "
            "share of need in reach is 1 − unmet ÷ need.",
            "",
            "A provider can reach a person when it offers every service needed, the distance "
            "(straight line between postcode centres, times a circuity factor) is within both "
            "travel limits, and, when the care must come from a CQC-registered provider, the "
            "provider is registered. People who cannot direct their own care count as need no "
            "micro-provider reaches.",
            "",
            "Disclosure: counts of 1 to 7 people in an area are shown as * and the area's hours "
            "withheld; other counts and hours are rounded to 5; totals are computed from exact "
            "figures and then rounded.",
            "",
            "Caveats: distances are straight lines, not road journeys; the register is a "
            "snapshot; providers' booked hours change weekly; estimated need (Census) is all "
            "need for help, of which micro-providers can meet only a part; recruitment sites "
            "are points inside areas, not addresses.",
        ])  # fmt: skip
        _text(fig, 0.91, methods, size=9.5, width=105)
        _text(fig, 0.2, made + "\n" + ATTRIBUTION, size=7, width=140, color="#555")
        pdf.savefig(fig)
        plt.close(fig)
    return path
