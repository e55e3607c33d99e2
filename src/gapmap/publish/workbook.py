"""Excel workbooks for committee papers: ``gaps.xlsx`` and ``recruit.xlsx``.

A sheet per table with headers in words, hours and percentages formatted, the header row
frozen, filters on, sensible column widths, and a Notes sheet (definitions, the suppression
rule, the run date, the inputs and their dates, licences). Written with openpyxl.

The figures are the **published** ones, suppressed exactly as the CSV files; district and
county rows are totals computed from exact values and then rounded (SPEC.md: no total gives
back a suppressed cell), with their people count shown as ``*`` when it is 1 to 7. Text from
input files is written as text cells (never formulas) and, like the CSV, neutralised with a
leading apostrophe when it starts like a formula.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from gapmap.coverage import LOW_GAP_FROM, MEDIUM_GAP_FROM
from gapmap.publish.disclosure import Suppression, published_count, published_ratio, round_to
from gapmap.publish.export import atomic_path, neutralise_formulas
from gapmap.publish.figures import gap_order
from gapmap.publish.maps import ATTRIBUTION
from gapmap.publish.provenance import caption

__all__ = ["district_table", "write_gaps_workbook", "write_recruit_workbook"]

HOURS = "#,##0"
PCT = "0%"
RATIO = "0.00"
KM = "0.0"
MONEY = "£#,##0"

MICRO_UNMET = "Unmet hours a week micro-providers may meet (people who can direct their own care)"
MICRO_NEED = "Need of people who can direct their own care, hours a week"
REGULATED_NEED = (
    "Need for regulated services (people who cannot direct their own care), hours a week"
)
#: Published area columns: (column, header in words, number format or None for text).
AREA_COLUMNS = [
    ("area_name", "Area", None),
    ("area_code", "Code", None),
    ("district", "District", None),
    ("rural", "Rural", "yesno"),
    ("people", "People waiting", "count"),
    ("providers", "Providers based in the area", "0"),
    ("micro_unmet_hours", MICRO_UNMET, HOURS),
    ("micro_need_hours", MICRO_NEED, HOURS),
    ("need_hours_not_self_directing", REGULATED_NEED, HOURS),
    ("need_hours", "Need of everyone waiting, hours a week", HOURS),
    ("unmet_hours", "Unmet of everyone waiting, hours a week", HOURS),
    ("coverage_ratio", "Share of need in reach", PCT),
    ("weekend_need_hours", "Weekend need, hours a week", HOURS),
    ("weekend_unmet_hours", "Weekend unmet, hours a week", HOURS),
    ("weekend_coverage_ratio", "Weekend share of need in reach", PCT),
    ("provision_ratio", "Provider hours in reach per hour of need", RATIO),
    ("nearest_provider_km", "Nearest provider, km", KM),
    ("gap_band", "Gap band", None),
    ("rural_gap", "Rural gap", "yesno"),
    ("weekend_gap", "Weekend gap", "yesno"),
    ("gap_score", "Gap score", HOURS),
    ("estimated_need_hours", "Estimated need (census), hours a week", HOURS),
    ("estimated_unmet_hours", "Estimated unmet (census), hours a week", HOURS),
    ("estimated_coverage_ratio", "Estimated share in reach (census)", PCT),
    ("estimated_older_hours", "Estimated need of people 65+, hours a week", HOURS),
    ("estimated_working_age_hours", "Estimated need of adults 15-64, hours a week", HOURS),
    ("estimated_respite_hours", "Estimated respite for carers, hours a week", HOURS),
    ("estimated_weekend_coverage_ratio", "Estimated weekend share in reach", PCT),
    ("imd_decile", "IMD decile (1 = most deprived)", "0"),
    ("imd_rank", "IMD rank (population-weighted)", "#,##0"),
]
DEPRIVATION_COLUMNS = [
    ("imd_decile", "IMD decile (1 = most deprived)", "0"),
    ("areas", "Areas", "0"),
    ("population", "Residents", "#,##0"),
    ("people", "People waiting", "count"),
    ("need_hours", "Need, hours a week", HOURS),
    ("unmet_hours", "Unmet, hours a week", HOURS),
    ("unmet_hours_per_1000_residents", "Unmet hours per 1,000 residents", "0.0"),
    ("estimated_need_hours", "Estimated need (census), hours a week", HOURS),
    ("estimated_unmet_hours", "Estimated unmet (census), hours a week", HOURS),
    ("estimated_unmet_hours_per_1000_residents", "Estimated unmet per 1,000 residents", "0.0"),
]
DISTRICT_COLUMNS = [
    ("district", "District", None),
    ("areas", "Areas", "0"),
    ("people", "People waiting", "count"),
    ("providers", "Providers", "0"),
    ("micro_unmet_hours", MICRO_UNMET, HOURS),
    ("micro_need_hours", MICRO_NEED, HOURS),
    ("micro_coverage_ratio", "Share in reach of need micro-providers may meet", PCT),
    ("need_hours_not_self_directing", REGULATED_NEED, HOURS),
    ("need_hours", "Need, hours a week", HOURS),
    ("unmet_hours", "Unmet, hours a week", HOURS),
    ("coverage_ratio", "Share of need in reach", PCT),
    ("weekend_need_hours", "Weekend need, hours a week", HOURS),
    ("weekend_unmet_hours", "Weekend unmet, hours a week", HOURS),
    ("weekend_coverage_ratio", "Weekend share of need in reach", PCT),
    ("high_gap_areas", "Areas with a high gap", "0"),
    ("rural_areas", "Rural areas", "0"),
    ("rural_gaps", "Rural gaps", "0"),
    ("weekend_gaps", "Weekend gaps", "0"),
    ("estimated_need_hours", "Estimated need (census), hours a week", HOURS),
    ("estimated_unmet_hours", "Estimated unmet (census), hours a week", HOURS),
]
RANK_COLUMNS = [
    ("priority_rank", "Priority", "0"),
    ("area_name", "Area", None),
    ("area_code", "Code", None),
    ("district", "District", None),
    ("rural", "Rural", "yesno"),
    ("unmet_hours", "Unmet, hours a week", HOURS),
    ("recruitable_unmet_hours", "A recruit could take, hours a week", HOURS),
    ("coverage_ratio", "Share of need in reach", PCT),
    ("weekend_coverage_ratio", "Weekend share in reach", PCT),
    ("nearest_weekend_provider_km", "Nearest weekend provider, km", KM),
    ("rural_gap", "Rural gap", "yesno"),
    ("weekend_gap", "Weekend gap", "yesno"),
    ("priority_score", "Priority score", HOURS),
    ("new_providers_recommended", "New providers placed here", "0"),
    ("reason", "Why it ranks here", None),
    ("outcome", "What the largest scenario does", None),
]
SITE_COLUMNS = [
    ("new_providers", "Scenario (new providers)", "0"),
    ("site_rank", "Site", "0"),
    ("area_name", "Area", None),
    ("place", "Town or village", None),
    ("district", "District", None),
    ("providers_at", "New providers here", "0"),
    ("hours_taken", "Would take, hours a week", HOURS),
    ("unmet_hours_in_reach", "Unmet hours in reach", HOURS),
    ("explanation", "Why here", None),
    ("easting", "Easting", "0"),
    ("northing", "Northing", "0"),
]
SCENARIO_COLUMNS = [
    ("new_providers", "New providers asked for", "0"),
    ("providers_placed", "New providers placed", "0"),
    ("sites", "Sites", "0"),
    ("recruitable_unmet_hours", "Recruitable unmet, hours a week", HOURS),
    ("hours_taken", "Taken by new providers, hours a week", HOURS),
    ("share_of_unmet_taken", "Share of recruitable hours taken", PCT),
    ("hours_taken_most_deprived", "Of them in IMD deciles 1-3, hours a week", HOURS),
    ("coverage_before", "Share of need in reach before", PCT),
    ("coverage_after", "Share of need in reach after", PCT),
    ("weekend_gaps_before", "Weekend gaps before", "0"),
    ("weekend_gaps_after", "Weekend gaps after", "0"),
    ("rural_gaps_before", "Rural gaps before", "0"),
    ("rural_gaps_after", "Rural gaps after", "0"),
    ("saving_per_year_vs_home_care", "Saving a year against home care", MONEY),
    ("saving_per_year_if_direct_payments", "Saving a year with direct payments", MONEY),
]

DEFINITIONS = [
    ("Need", "The hours a week people on the waiting list need (the people register)."),
    (
        "Unmet",
        "Hours of need that no provider within travel distance has free, once providers' "
        "capacity is shared out over everyone who can reach them (two-step floating catchment "
        "area, SPEC.md), for everyone on the list.",
    ),
    (
        "Unmet hours micro-providers may meet",
        "The headline: unmet hours of people who can direct their own care, or have a "
        "representative who can. Micro-providers may only serve them.",
    ),
    (
        "Need for regulated services",
        "Hours needed by people who cannot direct their own care: they need regulated "
        "(CQC-registered) services, never a micro-provider. The 'everyone waiting' columns "
        "(SPEC.md) count it as unmet; the headline does not.",
    ),
    ("Share of need in reach", "1 − unmet ÷ need: never above 100%."),
    (
        "Provider hours in reach per hour of need",
        "The 2SFCA ratio: above 1 where more provider capacity is in reach than need.",
    ),
    (
        "Weekend figures",
        "The same for the Saturday and Sunday share of people's hours and of providers' capacity.",
    ),
    (
        "Gap band",
        f"High: less than {MEDIUM_GAP_FROM:.0%} of need in reach; medium: "
        f"{MEDIUM_GAP_FROM:.0%}-{LOW_GAP_FROM:.0%}; low: {LOW_GAP_FROM:.0%} or more.",
    ),
    (
        "Rural gap",
        "A rural area with need where less than half is in reach or the nearest provider is more "
        "than 10 km away.",
    ),
    ("Weekend gap", "An area with weekend need where less than half of it is in reach."),
    (
        "Gap score",
        "Unmet hours raised by half for a weekend gap and by half for a rural gap (settings).",
    ),
    (
        "Estimated need (census)",
        "Hours of help adults are estimated to need from the Census population and published "
        "survey rates: to compare areas, not a target.",
    ),
]


#: The hour totals of a district or the county (summed exact, then rounded once).
HEADLINE_HOURS = (
    "need_hours", "unmet_hours", "weekend_need_hours", "weekend_unmet_hours",
    "micro_need_hours", "micro_unmet_hours", "need_hours_not_self_directing",
)  # fmt: skip


def _hidden_total(people: float, rule: Suppression) -> str:
    v = published_count(int(people), rule)
    return str(v)


def district_table(result, rule: Suppression | None = None) -> pd.DataFrame:
    """Districts and the county total, from exact figures, rounded and suppressed as SPEC.md says.

    Parameters
    ----------
    result
        A :class:`~gapmap.gaps.GapResult`.
    rule
        The suppression rule (default: the study's).

    Returns
    -------
    DataFrame
        One row per district, then a row ``district = "Total"``: counts of people as text
        (``*`` for 1-7), hours rounded to 5 (withheld where the district has 1-7 people),
        shares from those published hours.
    """
    rule = rule or result.study.settings.suppression
    t = pd.DataFrame(result.table.drop(columns=result.table.geometry.name))
    t["district"] = t["district"].fillna("").astype(str)
    estimated = "estimated_need_hours" in t
    rows = []
    groups = [(d, g) for d, g in t.groupby("district", sort=True)] + [("Total", t)]
    for name, g in groups:
        people = float(g["people"].sum())
        held = bool(rule.hides(np.array([people]))[0])
        row = {
            "district": name or "(no district)",
            "areas": len(g),
            "people": _hidden_total(people, rule),
            "providers": int(g["providers"].sum()),
            "high_gap_areas": int((g["gap_band"] == "high").sum()),
            "rural_areas": int(g["rural"].sum()),
            "rural_gaps": int(g["rural_gap"].sum()),
            "weekend_gaps": int(g["weekend_gap"].sum()),
        }
        for col in HEADLINE_HOURS:
            row[col] = np.nan if held else float(round_to(g[col].sum(), rule.base))
        # shares from the published hours (secondary protection: no finer than they are)
        for p in ("", "weekend_", "micro_"):
            row[f"{p}coverage_ratio"] = published_ratio(
                row[f"{p}unmet_hours"], row[f"{p}need_hours"], complement=True
            )
        if estimated:
            for col in ("estimated_need_hours", "estimated_unmet_hours"):
                row[col] = float(round_to(g[col].sum(), rule.base))
        rows.append(row)
    return pd.DataFrame(rows)


def _sheet(wb, title: str, frame: pd.DataFrame, columns, *, note: str = "") -> None:
    """One formatted sheet: words for headers, formats, frozen header, filter, widths."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    cols = [(c, h, f) for c, h, f in columns if c in frame.columns]
    safe = neutralise_formulas(frame[[c for c, _, _ in cols]])
    start = 1
    if note:
        ws.cell(row=1, column=1, value=note).font = Font(italic=True, color="505A5F")
        start = 2
    bold = Font(bold=True, color="FFFFFF")
    fill = PatternFill("solid", fgColor="1D70B8")
    for j, (_, header, _) in enumerate(cols, 1):
        cell = ws.cell(row=start, column=j, value=header)
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for i, record in enumerate(safe.itertuples(index=False), start + 1):
        for j, ((_, _, fmt), value) in enumerate(zip(cols, record), 1):
            cell = ws.cell(row=i, column=j)
            if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
                continue
            if fmt == "yesno":
                cell.value = "yes" if bool(value) else "no"
            elif fmt == "count":  # a published count: a number, or * (1-7 people) as text
                if str(value).isdigit():
                    cell.value = int(value)
                    cell.number_format = "#,##0"
                else:
                    cell.value = str(value)
                    cell.data_type = "s"
            elif fmt is None or isinstance(value, str):
                cell.value = str(value)
                cell.data_type = "s"  # text, never a formula
            else:
                cell.value = float(value) if isinstance(value, (float, np.floating)) else int(value)
                cell.number_format = fmt
    ws.freeze_panes = ws.cell(row=start + 1, column=1)
    last = get_column_letter(len(cols))
    ws.auto_filter.ref = f"A{start}:{last}{start + len(safe)}"
    for j, (col, header, _) in enumerate(cols, 1):
        longest = max([len(header) // 2 + 2] + [len(str(v)) for v in safe[col].head(500)])
        ws.column_dimensions[get_column_letter(j)].width = min(max(8, longest + 2), 60)
    ws.row_dimensions[start].height = 32
    _print_setup(ws, repeat=f"1:{start}")


def _print_setup(ws, repeat: str | None = None) -> None:
    """Print as a committee paper: A4 landscape, fitted to the page width, the header rows
    repeated on every page (issue 31, item 9)."""
    from openpyxl.worksheet.properties import PageSetupProperties

    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as it needs
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    if repeat:
        ws.print_title_rows = repeat
    ws.print_options.gridLines = False
    ws.oddFooter.center.text = "Page &P of &N"


def _notes(wb, study, extra: list[tuple[str, str]]) -> None:
    from openpyxl.styles import Alignment, Font

    ws = wb.create_sheet("Notes")
    rule = study.settings.suppression
    rows: list[tuple[str, str]] = [
        ("Made", dt.datetime.now().strftime("%d %B %Y %H:%M")),
        ("Data", caption(study.sources)),
        (
            "Suppression",
            f"Counts of {rule.low} to {rule.high} people in an area are shown as * and the "
            f"area's hours withheld; other counts and hours are rounded to the nearest "
            f"{rule.base}. District and county totals are computed from exact figures and then "
            "rounded, so no total gives back a withheld figure. Provider counts are not "
            "suppressed (the register is a directory of businesses).",
        ),
        *DEFINITIONS,
        *extra,
        ("Licence", ATTRIBUTION),
        (
            "Made by",
            "gapmap: the rules are in SPEC.md and the README; figures that may be shared only.",
        ),
    ]
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 110
    _print_setup(ws)
    for i, (k, v) in enumerate(rows, 1):
        a = ws.cell(row=i, column=1, value=k)
        a.font = Font(bold=True)
        a.alignment = Alignment(vertical="top")
        b = ws.cell(row=i, column=2, value=str(v))
        b.data_type = "s"
        b.alignment = Alignment(wrap_text=True, vertical="top")


def write_gaps_workbook(result, path: str | Path) -> Path:
    """Write ``gaps.xlsx``: areas ranked by unmet hours, districts and county, notes.

    Parameters
    ----------
    result
        The run's :class:`~gapmap.publish.published.Published` (or a
        :class:`~gapmap.gaps.GapResult`, published here).
    path
        The file (written atomically).

    Returns
    -------
    Path
    """
    from openpyxl import Workbook

    from gapmap.publish.published import published_of

    pub = published_of(result)
    rule = pub.rule
    areas = gap_order(pub.table)
    wb = Workbook()
    assert wb.active is not None
    wb.remove(wb.active)
    _sheet(
        wb, "Areas", areas, AREA_COLUMNS,
        note="Areas ranked by unmet hours a week of people who can direct their own care (the "
        f"hours micro-providers may close); areas with {rule.hidden} people, figures withheld, "
        "last",
    )  # fmt: skip
    _sheet(
        wb, "Districts", pub.districts, DISTRICT_COLUMNS,
        note="Each district and the county total (last row)",
    )  # fmt: skip
    extra: list[tuple[str, str]] = []
    dep = pub.deprivation
    if dep is not None:
        words = "; ".join(f"{k} {v:+.3f}" for k, v in dep.attrs["concentration_index"].items())
        _sheet(
            wb, "Deprivation", dep, DEPRIVATION_COLUMNS,
            note=f"Unmet hours by IMD decile; concentration index of unmet hours per resident: "
            f"{words} (negative: concentrated in the more deprived areas)",
        )  # fmt: skip
        extra.append(
            ("Deprivation", "IMD decile: the national decile holding most of the area's "
             "residents; rank: the residents-weighted mean rank of its LSOAs. Concentration "
             "index: README, 'Deprivation'.")
        )  # fmt: skip
    _notes(wb, pub.study, extra)
    path = Path(path)
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return path


def write_recruit_workbook(rec, path: str | Path, study) -> Path:
    """Write ``recruit.xlsx``: priority areas, sites, scenarios, notes.

    Parameters
    ----------
    rec
        The recruitment's :class:`~gapmap.publish.published.PublishedRecruitment` (or a
        :class:`~gapmap.recruitment.targeting.RecruitResult`, published here).
    path
        The file (written atomically).
    study
        The study recruited for (for the notes).

    Returns
    -------
    Path
    """
    from openpyxl import Workbook

    from gapmap.publish.published import published_recruitment_of

    pub = published_recruitment_of(rec, study)
    rec, ranking = pub.rec, pub.ranking
    wb = Workbook()
    assert wb.active is not None
    wb.remove(wb.active)
    # weekday-only and seven-day recruits side by side (issue 31): one block of rows each
    scen = pd.concat(
        [
            sc.assign(
                recruits_work="every day" if v.settings.weekend_working else "weekdays only",
                recommended=lambda f, v=v: np.where(
                    (f["new_providers"] == v.recommended) & (v is rec), "yes", ""
                ),
            )
            for v, sc in pub.variants()
        ],
        ignore_index=True,
    )
    _sheet(
        wb, "Scenarios", scen,
        [("recruits_work", "Recruits work", None), *SCENARIO_COLUMNS,
         ("recommended", "Recommended", None)],
        note="One row per number of new micro-providers, for recruits working weekdays only "
        "and every day (county totals, rounded)",
    )  # fmt: skip
    _sheet(
        wb, "Priority areas", pd.DataFrame(ranking.drop(columns=ranking.geometry.name)),
        RANK_COLUMNS, note="Areas by priority for recruitment; no rank: nothing to recruit for",
    )  # fmt: skip
    _sheet(
        wb, "Sites", pub.sites, SITE_COLUMNS,
        note="Recommended sites of every scenario (points inside areas, not addresses)",
    )  # fmt: skip
    s = rec.settings
    _notes(
        wb,
        study,
        [
            (
                "Recruits",
                f"{s.hours_per_provider:g} hours a week each, within {s.radius_km:g} km, "
                + ("every day" if s.weekend_working else "weekdays only")
                + f", at most {s.per_site} per area.",
            ),
            (
                "Saving",
                f"Hours taken × {s.weeks_per_year:g} weeks × (home care £{s.home_care_rate:.2f} − "
                f"micro-provider £{s.micro_rate:.2f} an hour); direct payments at "
                f"£{s.direct_payment_rate:.2f}.",
            ),
        ],
    )
    path = Path(path)
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return path


#: The "Checks due" sheet (internal: for the team that keeps the providers register).
CHECK_COLUMNS = [
    ("provider_id", "Provider", None),
    ("name", "Name", None),
    ("check", "Check", None),
    ("due_on", "Due on", None),
    ("days_left", "Days left (negative: overdue)", "0"),
    ("status", "Status", None),
    ("phone", "Phone", None),
    ("email", "Email", None),
]


def write_checks_workbook(due: pd.DataFrame, path: str | Path, *, within_days: int, years: float):
    """Write ``internal_checks_due.xlsx``: the sheet "Checks due" and notes. INTERNAL.

    Providers are businesses and their contact details are the public ones of the register,
    but a check's date says something about a sole trader, so the workbook is for the team
    that keeps the register, never published.

    Parameters
    ----------
    due
        :func:`gapmap.io.provider_checks.checks_due`.
    path
        The file (written atomically).
    within_days, years
        The window looked at and the years a DBS check lasts, for the notes.

    Returns
    -------
    Path
    """
    from openpyxl import Workbook

    wb = Workbook()
    assert wb.active is not None
    wb.remove(wb.active)
    _sheet(
        wb, "Checks due", due, CHECK_COLUMNS,
        note=f"INTERNAL: insurance renewals and DBS checks due within {within_days} days, and "
        "overdue ones (soonest first)",
    )  # fmt: skip
    ws = wb.create_sheet("Notes")
    rows = [
        ("Made", dt.datetime.now().strftime("%d %B %Y %H:%M")),
        ("Who may see it", "INTERNAL: the team that keeps the providers register."),
        ("Insurance", "Due on the date in the register's insurance_until column."),
        ("DBS check", f"Due {years:g} years after the date in dbs_checked_on."),
        ("Not suggested", "A provider whose insurance has lapsed or whose DBS check is overdue "
         "is not suggested to anyone until the register is updated."),
    ]  # fmt: skip
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 100
    for i, (k, v) in enumerate(rows, 1):
        ws.cell(row=i, column=1, value=k)
        cell = ws.cell(row=i, column=2, value=v)
        cell.data_type = "s"
    path = Path(path)
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return path
