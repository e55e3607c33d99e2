"""Letters and calls: ``mail_merge.csv`` and ``mail_merge.xlsx`` of a matching run. INTERNAL.

One row per person on the waiting list, for a word processor's mail merge or a call list: the
person's pseudonymous id, then for a matched person the provider's name and public contact
details, the hours and days it gives, the partner's (when the days are shared) and the cover
provider's. Unmatched people have their reason, so staff can call them too.

Person ids make the files internal (``AUDIENCE``: staff who may see the people register). Text
from the registers is written formula-safe: the CSV through :func:`.export.write_csv`, the
workbook as text cells neutralised the same way.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gapmap.publish.export import atomic_path, neutralise_formulas, write_csv
from gapmap.reach import hours_on_days
from gapmap.vocab import days_words, hours_words, quarter_hours

__all__ = ["MAIL_MERGE_COLUMNS", "mail_merge_table", "write_mail_merge"]

#: Columns, in order, with their headers in words (the workbook uses the words).
MAIL_MERGE_COLUMNS = {
    "person_id": "Person",
    "status": "Status",
    "reason": "Why not matched",
    "provider_name": "Provider",
    "provider_phone": "Provider phone",
    "provider_email": "Provider email",
    "provider_website": "Provider website",
    "hours": "Hours a week",
    "days": "Days",
    "partner_name": "Partner",
    "partner_phone": "Partner phone",
    "partner_email": "Partner email",
    "partner_hours": "Partner hours a week",
    "partner_days": "Partner days",
    "cover_name": "Cover",
    "cover_phone": "Cover phone",
    "cover_email": "Cover email",
    "provider_id": "Provider id",
    "partner_provider_id": "Partner id",
    "cover_provider_id": "Cover id",
}

_REASONS = {
    "not_self_directing": "not self-directing: micro-providers suit only people who are",
    "no_provider_in_reach": "no provider in reach offers what is needed",
    "no_cover": "no cover provider could be named",
    "no_capacity": "no provider in reach had room",
    "outside_areas": "outside every area analysed",
}


def mail_merge_table(result, people: pd.DataFrame, providers: pd.DataFrame) -> pd.DataFrame:
    """The mail-merge rows of a matching.

    Parameters
    ----------
    result
        A :class:`~gapmap.matching.result.MatchResult`.
    people, providers
        The registers matched.

    Returns
    -------
    DataFrame
        One row per person, columns :data:`MAIL_MERGE_COLUMNS`; hours to the quarter hour and
        days in words (``Mon, Thu and Fri``).
    """

    def col(name: str) -> list[str]:
        if name not in providers.columns:
            return [""] * len(providers)
        return providers[name].fillna("").astype(str).tolist()

    ids, names = col("provider_id"), col("name")
    phone, email, web = col("phone"), col("email"), col("website")
    vdays = providers["day_mask"].astype(int).tolist()
    rows = []
    for p in range(len(people)):
        pid = str(people["person_id"].iloc[p])
        m = result.matches.get(p)
        if m is None:
            why = str(result.reasons.get(p, "no_capacity"))
            rows.append({"person_id": pid, "status": "unmatched",
                         "reason": _REASONS.get(why, why.replace("_", " "))})  # fmt: skip
            continue
        P = int(people["day_mask"].iloc[p])
        T = P & vdays[m.provider]
        hours = float(people["hours"].iloc[p])
        row = {
            "person_id": pid,
            "status": "matched",
            "reason": "",
            "provider_id": ids[m.provider],
            "provider_name": names[m.provider],
            "provider_phone": phone[m.provider],
            "provider_email": email[m.provider],
            "provider_website": web[m.provider],
            "hours": hours_words(quarter_hours(m.provider_hours or hours_on_days(hours, P, T))),
            "days": days_words(T),
        }
        if m.partner >= 0:
            row.update(
                partner_provider_id=ids[m.partner],
                partner_name=names[m.partner],
                partner_phone=phone[m.partner],
                partner_email=email[m.partner],
                partner_hours=hours_words(quarter_hours(m.partner_hours)),
                partner_days=days_words(P & ~T),
            )
        if m.cover >= 0:
            row.update(
                cover_provider_id=ids[m.cover],
                cover_name=names[m.cover],
                cover_phone=phone[m.cover],
                cover_email=email[m.cover],
            )
        elif bool(people["needs_cover"].iloc[p]):
            row["reason"] = "matched without a cover provider"
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=list(MAIL_MERGE_COLUMNS))
    return table.astype(object).where(table.notna(), "")


def write_mail_merge(table: pd.DataFrame, out_dir: str | Path) -> dict[str, Path]:
    """Write ``mail_merge.csv`` and ``mail_merge.xlsx`` (INTERNAL: person ids), formula-safe.

    Parameters
    ----------
    table
        :func:`mail_merge_table`.
    out_dir
        The folder.

    Returns
    -------
    dict
        The paths written, by name.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    out = Path(out_dir)
    paths = {"mail_merge.csv": write_csv(table, out / "mail_merge.csv")}
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Mail merge"
    safe = neutralise_formulas(table.astype(str))
    for j, column in enumerate(table.columns, 1):
        ws.cell(row=1, column=j, value=MAIL_MERGE_COLUMNS.get(column, column)).font = Font(
            bold=True
        )
    for i, record in enumerate(safe.itertuples(index=False), 2):
        for j, value in enumerate(record, 1):
            if value:
                cell = ws.cell(row=i, column=j, value=str(value))
                cell.data_type = "s"  # text, never a formula
    ws.freeze_panes = "A2"
    path = out / "mail_merge.xlsx"
    with atomic_path(path) as tmp:
        wb.save(tmp)
    paths["mail_merge.xlsx"] = path
    return paths
