"""The cover plan in words and files, and N−1 resilience published with suppression.

The cover plan is for the brokerage team (person ids: internal). It is written as
``cover_plan.csv`` (SPEC columns), ``cover_plan.xlsx`` (the call list, the plan, the people left
uncovered; text never formula-active), ``cover_summary.json``, ``cover_calls.csv`` and a
printable ``cover_calls.txt``: a call list ordered by urgency (person id, what changes, the
cover's name and contact details, hours and days) and the people left without cover with the
reason in words and the nearest change that would cover them.

N−1 resilience has a published table (``resilience.csv``: per area, counts of people 1-7 shown
as ``*`` and the area's hours withheld, the rest rounded to 5, through
:func:`~gapmap.publish.disclosure.suppress`) and an internal one per provider
(``internal_providers_n1.csv``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from gapmap.publish.disclosure import Suppression, round_to, suppress
from gapmap.publish.export import atomic_path, write_csv, write_text
from gapmap.publish.summaries import clean_text
from gapmap.vocab import DAYS, days_words, hours_words, services_words

__all__ = [
    "add_resilience_sheet",
    "call_list",
    "cover_lines",
    "publish_resilience",
    "resilience_lines",
    "resilience_sheet",
    "write_cover_outputs",
    "write_resilience_outputs",
]

_DAY_NAMES = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                             "Sunday")))  # fmt: skip
_STATUS = {"named_cover": "named cover", "other_cover": "other cover", "uncovered": "NO COVER"}


def _date_words(iso: str) -> str:
    import datetime as dt

    d = dt.date.fromisoformat(iso)
    return f"{DAYS[d.weekday()]} {d.day} {d.strftime('%b')}"


def _reason_words(code: str, day: str, person: pd.Series) -> str:
    name = _DAY_NAMES.get(day, day)
    limit = person.get("max_travel_km", math.nan)
    within = f"within {float(limit):g} km" if limit == limit else "within reach"
    return {
        "no_provider_in_reach": "no provider that can give "
        f"{services_words(str(person['services']))} is {within}",
        "no_one_works_that_day": f"no one who can support them works on {name}s {within}",
        "all_off": f"everyone {within} who works on {name}s is off too",
        "none_cover": f"no one {within} who works on {name}s takes on cover",
        "all_full": f"every eligible provider working on {name}s is full",
    }.get(code, code)


def _change_words(change, day: str, providers: pd.DataFrame, person: pd.Series) -> str:
    if not isinstance(change, tuple):
        return ""
    v, what, hours, km = change
    if v < 0:
        return (f"recruit a provider of {services_words(str(person['services']))} within reach "
                "(none is today)")  # fmt: skip
    rec = providers.iloc[int(v)]
    who = f"{clean_text(rec['name'], 40)} ({rec['provider_id']}, {km:.1f} km)"
    name = _DAY_NAMES.get(day, day)
    if what == "work_day":
        return f"{who}, who works {days_words(int(rec['day_mask']))}, working {name}s too"
    if what == "back":
        return f"{who} is off too; their return, or any provider working {name}s nearby"
    if what == "cover":
        return f"{who} agreeing to take on cover"
    return f"{hours_words(hours)} more free that week at {who}"


def call_list(plan, study) -> pd.DataFrame:
    """The call list: one row per person, absent provider, role and cover, most urgent first.

    Parameters
    ----------
    plan
        A :class:`~gapmap.cover.CoverPlan`.
    study
        The study it was made for (names and contact details of providers).

    Returns
    -------
    DataFrame
        ``priority, person_id, status, what_changes, cover_provider_id, cover_name,
        cover_phone, cover_email, hours, days, first_date, reason, nearest_change``
        (internal: person ids; untrusted text as read, to be written through the safe writers).
    """
    rows = plan.rows
    providers, people = study.providers, study.people
    cols = ["priority", "person_id", "status", "what_changes", "cover_provider_id", "cover_name",
            "cover_phone", "cover_email", "hours", "days", "first_date", "reason",
            "nearest_change"]  # fmt: skip
    if len(rows) == 0:
        return pd.DataFrame(columns=cols)
    out = []
    keys = ["person_id", "absent_provider_id", "role", "cover_provider_id", "status", "reason"]
    for key, g in rows.groupby(keys, sort=False, dropna=False):
        pid, absent_id, role, cover_id, status, reason = key
        first = g.iloc[0]
        person = people.iloc[int(first["person"])]
        absent = providers.iloc[int(first["absent"])]
        off = f"{clean_text(absent['name'], 40)} ({absent_id}, their {role}) is off"
        rec = {
            "priority": int(first["priority"]),
            "person_id": pid,
            "status": _STATUS.get(status, status),
            "hours": round(float(g["hours"].sum()), 2),
            "days": ", ".join(_date_words(d) for d in g["date"]),
            "first_date": g["date"].min(),
            "cover_provider_id": cover_id,
            "cover_name": "",
            "cover_phone": "",
            "cover_email": "",
            "reason": "",
            "nearest_change": "",
        }
        if status == "uncovered":
            rec["what_changes"] = off + "; no one can give these hours"
            rec["reason"] = _reason_words(reason, first["day"], person)
            rec["nearest_change"] = _change_words(first["change"], first["day"], providers, person)
        else:
            cover = providers.iloc[int(first["cover"])]
            which = "their named cover" if status == "named_cover" else "instead"
            rec["what_changes"] = (
                f"{off}; {clean_text(cover['name'], 40)} ({cover_id}) gives these hours ({which})"
            )
            rec["cover_name"] = cover["name"]
            rec["cover_phone"] = cover.get("phone", "")
            rec["cover_email"] = cover.get("email", "")
        out.append(rec)
    table = pd.DataFrame(out, columns=cols)
    table["_uncovered"] = table["status"] == _STATUS["uncovered"]
    table = table.sort_values(["priority", "first_date", "_uncovered", "person_id"],
                              ascending=[False, True, False, True], kind="stable")  # fmt: skip
    return table.drop(columns="_uncovered").reset_index(drop=True)


def cover_lines(plan, study, *, top: int = 12, calls=None) -> list[str]:
    """The cover plan in words, for the terminal and ``cover_calls.txt`` (internal: staff).

    Parameters
    ----------
    plan
        A :class:`~gapmap.cover.CoverPlan`.
    study
        Its study.
    top
        How many calls to list (``cover_calls.csv`` has all).
    calls
        :func:`call_list` of the plan, when the caller has it already (it is worked out once).

    Returns
    -------
    list of str
    """
    s = plan.summary()
    if calls is None:
        calls = call_list(plan, study)
    span = f"{_date_words(s['from'])} to {_date_words(s['to'])}"
    if s["needs"] == 0:
        return [f"Cover plan {span}: no one loses any hours ({s['absences']} absence(s))."]
    lines = [
        f"Cover plan {span}: {s['providers_absent']} provider(s) off; {s['people_affected']} "
        f"people lose {hours_words(s['hours_affected'])} of support.",
        f"  named covers give {hours_words(s['hours_named_cover'])}, other providers "
        f"{hours_words(s['hours_other_cover'])}; {hours_words(s['hours_uncovered'])} "
        f"uncovered ({s['people_with_uncovered_hours']} people).",
        "  "
        + (
            "No better plan exists under these rules (proven)."
            if plan.status == "OPTIMAL"
            else f"Best plan found in the time allowed ({plan.status.lower()}; at least "
            f"{1 - (plan.gap or 0):.1%} of the best possible)."
        ),  # fmt: skip
        "",
        "Calls to make, most urgent first:",
    ]
    covered = calls[calls["status"] != _STATUS["uncovered"]]
    for r in covered.head(top).itertuples(index=False):
        contact = " ".join(clean_text(x, 40) for x in (r.cover_phone, r.cover_email) if x)
        lines.append(
            f"  [{r.priority}] {r.person_id}: {r.what_changes}; "
            f"{hours_words(r.hours)} on {r.days}" + (f"; call {contact}" if contact else "")
        )
    if len(covered) > top:
        lines.append(f"  ... and {len(covered) - top} more calls (cover_calls.csv)")
    left = calls[calls["status"] == _STATUS["uncovered"]]
    if len(left):
        lines += ["", "Left without cover:"]
        for r in left.head(top).itertuples(index=False):
            lines.append(
                f"  [{r.priority}] {r.person_id}: {hours_words(r.hours)} on {r.days}: "
                f"{r.reason}. Nearest change that would cover them: {r.nearest_change}."
            )
        if len(left) > top:
            lines.append(f"  ... and {len(left) - top} more (cover_calls.csv)")
    return lines


def write_cover_outputs(plan, study, out_dir: str | Path) -> dict[str, Path]:
    """Write the cover plan's files (module docstring), all internal (person ids).

    Parameters
    ----------
    plan
        A :class:`~gapmap.cover.CoverPlan`.
    study
        Its study.
    out_dir
        The folder.

    Returns
    -------
    dict
        The paths written, by name.
    """
    from openpyxl import Workbook

    from gapmap.publish.workbook import _sheet

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = plan.table()
    calls = call_list(plan, study)
    paths = {
        "cover_plan.csv": write_csv(table, out / "cover_plan.csv"),
        "cover_calls.csv": write_csv(calls, out / "cover_calls.csv"),
        "cover_summary.json": write_text(
            json.dumps(plan.summary(), indent=2) + "\n", out / "cover_summary.json"
        ),
        "cover_calls.txt": write_text(
            "\n".join(cover_lines(plan, study, top=len(calls) + 1, calls=calls)) + "\n",
            out / "cover_calls.txt",
        ),
    }
    wb = Workbook()
    wb.remove(wb.active)
    formats = {"hours": "0.00", "priority": "0"}
    text = [(c, c.replace("_", " "), formats.get(c)) for c in calls.columns]
    _sheet(wb, "Call list", calls[calls["status"] != _STATUS["uncovered"]], text,
           note="INTERNAL: person ids. Most urgent first.")  # fmt: skip
    _sheet(
        wb,
        "Left without cover",
        calls[calls["status"] == _STATUS["uncovered"]],
        text,
        note="INTERNAL: person ids. The reason, and the nearest change that would cover them.",
    )
    plan_cols = [(c, c.replace("_", " "), "0.00" if c in ("hours", "distance_km") else None)
                 for c in table.columns]  # fmt: skip
    _sheet(wb, "Plan", table, plan_cols, note="INTERNAL: one row per person, date and role lost.")
    with atomic_path(out / "cover_plan.xlsx") as tmp:
        wb.save(tmp)
    paths["cover_plan.xlsx"] = out / "cover_plan.xlsx"
    return paths


# --- N−1 resilience ---------------------------------------------------------------------------
def publish_resilience(areas: pd.DataFrame, rule: Suppression = Suppression()) -> pd.DataFrame:
    """The N−1 area table as published: suppressed and rounded (SPEC small-number rule).

    The key count is ``people_supported`` (matched people living in the area): 1-7 shows ``*``
    and withholds the area's hours; ``worst_single_absence_people`` of 1-7 shows ``*``.

    Parameters
    ----------
    areas
        :attr:`gapmap.cover.Resilience.areas` (exact).
    rule
        The suppression rule.

    Returns
    -------
    DataFrame
    """
    return suppress(
        areas,
        count_columns=["people_supported", "worst_single_absence_people"],
        hour_columns=["expected_uncovered_hours", "worst_single_absence_hours"],
        rule=rule,
        key_count="people_supported",
    )


def resilience_lines(res, rule: Suppression = Suppression(), *, top: int = 5) -> list[str]:
    """A paragraph for commissioners: the fragile areas (published figures only).

    Parameters
    ----------
    res
        A :class:`~gapmap.cover.Resilience`.
    rule
        The suppression rule.
    top
        How many areas to name.

    Returns
    -------
    list of str
    """
    pub = publish_resilience(res.areas, rule)
    shown = pub[pub["worst_single_absence_hours"].fillna(0) > 0]
    shown = shown.sort_values("worst_single_absence_hours", ascending=False).head(top)
    total = float(round_to(res.areas["expected_uncovered_hours"].sum(), rule.base))
    exposed = int((res.providers["uncovered_if_absent_hours"] > 0).sum())
    lines = [
        f"Resilience (N-1): a week off of any one of {len(res.providers)} providers who give "
        f"care, after the best cover plan, would leave some hours uncovered for {exposed} of "
        f"them; at the absence rate ({res.absence_rate:.0%}), about {total:,.0f} hours a week "
        "are expected to go uncovered in all.",
    ]
    if len(shown):
        lines.append(
            f"The most fragile areas (worst single absence, hours a week, {rule.rounding}):"
        )
        for r in shown.itertuples(index=False):
            name = clean_text(r.area_name, 40)
            name = name if name.startswith(str(r.area_code)) else f"{r.area_code} {name}"
            lines.append(f"  {name} ({r.district_name}): {r.worst_single_absence_hours:,.0f} h")
    hidden = int(pub.attrs.get("suppressed_areas", 0))
    if hidden:
        lines.append(
            f"  ({hidden} areas with {rule.hidden} people supported have their hours withheld.)"
        )
    return lines


#: The N−1 sheet's title (in ``resilience.xlsx`` and, from the demo, ``gaps.xlsx``).
RESILIENCE_SHEET = "Resilience (N-1)"


def resilience_sheet(wb, pub: pd.DataFrame, rule: Suppression | None = None) -> None:
    """Add the N−1 sheet to a workbook: areas by worst single absence (published figures).

    Parameters
    ----------
    wb
        An openpyxl workbook.
    pub
        :func:`publish_resilience`'s table.
    rule
        The suppression rule it follows (said in the sheet's note; default the NHS England one).
    """
    from gapmap.publish.workbook import _sheet

    rule = rule or Suppression()

    cols = [
        ("area_code", "Area code", None), ("area_name", "Area", None),
        ("district_name", "District", None), ("people_supported", "People supported", "count"),
        ("expected_uncovered_hours", "Expected uncovered hours a week (absence rate)", "#,##0"),
        ("worst_single_absence_hours", "Worst single absence: hours a week uncovered", "#,##0"),
        ("worst_single_absence_people", "Worst single absence: people", "count"),
    ]  # fmt: skip
    ranked = pub.sort_values("worst_single_absence_hours", ascending=False, na_position="last")
    _sheet(wb, RESILIENCE_SHEET, ranked, cols,
           note="If one provider were off for a week, the hours the best cover plan would leave "
           f"uncovered. Published: {rule.hidden} people shown as *, their hours withheld, others "
           f"{rule.rounding}.")  # fmt: skip


def add_resilience_sheet(path: str | Path, res, rule: Suppression = Suppression()) -> Path:
    """Add (or replace) the N−1 sheet in an existing workbook such as ``gaps.xlsx``.

    Parameters
    ----------
    path
        The workbook (rewritten atomically).
    res
        A :class:`~gapmap.cover.Resilience`.
    rule
        The suppression rule.

    Returns
    -------
    Path
    """
    from openpyxl import load_workbook

    path = Path(path)
    wb = load_workbook(path)
    if RESILIENCE_SHEET in wb.sheetnames:
        wb.remove(wb[RESILIENCE_SHEET])
    resilience_sheet(wb, pd.DataFrame(publish_resilience(res.areas, rule)), rule)
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return path


def write_resilience_outputs(
    res, out_dir: str | Path, rule: Suppression = Suppression(), *, areas=None
) -> dict[str, Path]:
    """Write ``resilience.csv`` and ``resilience.xlsx`` (published, suppressed),
    ``internal_providers_n1.csv`` (internal: exact), and, given the area shapes, a
    ``resilience`` layer in ``gapmap.gpkg`` (added beside the layers already there).

    Parameters
    ----------
    res
        A :class:`~gapmap.cover.Resilience`.
    out_dir
        The folder.
    rule
        The suppression rule.
    areas
        The study's area layer (EPSG:27700), for the GeoPackage layer.

    Returns
    -------
    dict
        The paths written, by name.
    """
    from openpyxl import Workbook

    out = Path(out_dir)
    pub = pd.DataFrame(publish_resilience(res.areas, rule))
    paths = {
        "resilience.csv": write_csv(pub, out / "resilience.csv"),
        "internal_providers_n1.csv": write_csv(res.providers, out / "internal_providers_n1.csv"),
    }
    wb = Workbook()
    wb.remove(wb.active)
    resilience_sheet(wb, pub, rule)
    with atomic_path(out / "resilience.xlsx") as tmp:
        wb.save(tmp)
    paths["resilience.xlsx"] = out / "resilience.xlsx"
    if areas is not None:
        import geopandas as gpd

        from gapmap.publish.geopackage import LayerSpec, areas_style, write_geopackage
        from gapmap.publish.palette import hour_classes

        shapes = areas[["area_code", areas.geometry.name]]
        layer = gpd.GeoDataFrame(shapes.merge(pub, on="area_code", how="left"), crs=areas.crs)
        classes = hour_classes(layer["worst_single_absence_hours"],
                               title="Worst single absence (h a week)", explain="",
                               rule=rule)  # fmt: skip
        spec = LayerSpec(
            layer,
            "N-1 resilience: hours a week the best cover plan would leave uncovered if one "
            "provider were off (worst single absence, and expected at the absence rate); "
            "published, suppressed.",
            areas_style("worst_single_absence_hours", classes),
        )
        paths["gapmap.gpkg"] = write_geopackage(out / "gapmap.gpkg", {"resilience": spec})
    return paths
