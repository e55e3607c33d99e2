"""The inputs of a cover plan read from files: absences, and the arrangements of ``matches.csv``.

An **absence** (SPEC.md, "Absences and the cover plan") is a provider off from one date to
another (ISO dates, inclusive), on every day or only on some weekdays, with an optional reason.
:func:`read_absences` returns the absences frame every part of gapmap shares (the store returns
the same from ``Store.absences``):

``provider_id`` (str), ``from`` and ``to`` (:class:`datetime.date`, ``to`` inclusive), ``days``
(int bit mask of :func:`gapmap.vocab.parse_days`; all days = 127), ``reason`` (str, may be "").

:func:`absence_problems` checks such a frame against the providers register (unknown provider,
reversed dates, two absences of one provider on a common day), so the store can apply the same
rules to an absence recorded from the page. :func:`read_matches` reads ``matches.csv`` as
``gapmap match`` writes it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from gapmap.errors import InputError, Problem, ProblemList
from gapmap.io._tables import ROW, read_table
from gapmap.vocab import ALL_DAYS_MASK, parse_days

__all__ = [
    "ABSENCE_COLUMNS",
    "absence_problems",
    "empty_absences",
    "read_absences",
    "read_matches",
]

#: The columns of the absences frame, in order.
ABSENCE_COLUMNS = ("provider_id", "from", "to", "days", "reason")
#: An absence longer than this is surely a typing error in a year.
MAX_ABSENCE_DAYS = 366
#: The longest reason kept, in characters.
MAX_REASON = 200
_ALIASES = {"start": "from", "end": "to", "from_date": "from", "to_date": "to", "until": "to"}


def empty_absences() -> pd.DataFrame:
    """An absences frame with no rows."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in ABSENCE_COLUMNS}).astype(
        {"days": np.int64}
    )


def _iso_date(cell: str) -> dt.date:
    try:
        return dt.date.fromisoformat(cell.strip())
    except ValueError:
        raise ValueError("expected an ISO date like 2026-12-07 (year-month-day)") from None


def _overlap(a_from, a_to, a_days: int, b_from, b_to, b_days: int) -> dt.date | None:
    """The first date both absences cover, or None."""
    lo, hi = max(a_from, b_from), min(a_to, b_to)
    common = a_days & b_days
    if lo > hi or not common:
        return None
    day = lo
    for _ in range(7):  # within a week every weekday comes round
        if day > hi:
            return None
        if common >> day.weekday() & 1:
            return day
        day += dt.timedelta(days=1)
    return None


def absence_problems(
    absences: pd.DataFrame,
    providers: pd.DataFrame,
    *,
    file: str = "absences",
    rows: list | None = None,
    names: list[str] | None = None,
) -> list[Problem]:
    """Every rule an absences frame breaks, against the providers register: the one place
    these rules live (the CSV reader and :meth:`gapmap.store.Store.add_absence` both call it).

    Rules: the provider is in the register; ``from`` is on or before ``to``, and the absence
    is at most a year long; ``days`` names at least one day the absence's dates include; the
    reason is at most :data:`MAX_REASON` characters; two absences of one provider share no day
    (the later row is the one reported).

    Parameters
    ----------
    absences
        The absences frame (module docstring).
    providers
        The providers register (``provider_id``).
    file
        The file name, for the messages.
    rows
        Each absence's row as a spreadsheet shows it (default: 2, 3, ...).
    names
        How an overlap message names each absence (default ``row N``; the store says
        ``absence number N``).

    Returns
    -------
    list of Problem
    """
    problems = ProblemList(file)
    rows = rows if rows is not None else list(range(2, len(absences) + 2))
    known = set(providers["provider_id"].astype(str))
    names = names if names is not None else [f"row {r}" for r in rows]
    kept: dict[str, list[tuple[str, dt.date, dt.date, int]]] = {}
    for row, name, rec in zip(rows, names, absences.itertuples(index=False)):
        pid, start, end, days = str(rec[0]), rec[1], rec[2], int(rec[3])
        reason = "" if rec[4] is None else str(rec[4])
        ok = True
        if len(reason) > MAX_REASON:
            problems.add(f"the reason is longer than {MAX_REASON} characters", row=row,
                         column="reason")  # fmt: skip
            ok = False
        if pid not in known:
            problems.add("no provider with this id in the providers register", row=row,
                         column="provider_id", value=pid)  # fmt: skip
            ok = False
        if start > end:
            problems.add(f"the absence ends before it starts (from {start})", row=row,
                         column="to", value=end.isoformat())  # fmt: skip
            continue
        if (end - start).days + 1 > MAX_ABSENCE_DAYS:
            problems.add(f"the absence is longer than {MAX_ABSENCE_DAYS} days; is a year wrong?",
                         row=row, column="to", value=end.isoformat())  # fmt: skip
            continue
        if _overlap(start, end, days, start, end, ALL_DAYS_MASK) is None:
            problems.add("none of the days falls between from and to", row=row, column="days")
            continue
        if not ok:
            continue
        for other, o_from, o_to, o_days in kept.get(pid, []):
            both = _overlap(start, end, days, o_from, o_to, o_days)
            if both is not None:
                problems.add(
                    f"overlaps the absence of the same provider at {other} (both include "
                    f"{both.isoformat()}); merge them into one",
                    row=row,
                    column="from",
                    value=start.isoformat(),
                )
                break
        kept.setdefault(pid, []).append((name, start, end, days))
    problems.problems.sort(key=lambda p: p.row or 0)
    return problems.problems


def read_absences(path: str | Path, providers: pd.DataFrame) -> pd.DataFrame:
    """Read and check an absences table (CSV or XLSX).

    Columns ``provider_id``, ``from``, ``to`` (ISO dates, inclusive) are required; ``days``
    (default every day: the weekdays the absence affects, as in the registers) and ``reason``
    are optional.

    Parameters
    ----------
    path
        The file.
    providers
        The providers register the absences refer to.

    Returns
    -------
    DataFrame
        The absences frame (module docstring), one row per absence, indexed 0..n-1.

    Raises
    ------
    InputError
        Every problem at once, each with file, row and column: a missing column, a date that is
        not ISO, dates reversed, an unknown provider, unknown days, two absences of one
        provider that share a day.

    Examples
    --------
    >>> import tempfile
    >>> from gapmap.datasets import demo_study
    >>> path = Path(tempfile.mkdtemp()) / "absences.csv"
    >>> _ = path.write_text("provider_id,from,to,days\\nMP0001,2026-12-07,2026-12-13,Mon;Tue\\n")
    >>> absences = read_absences(path, demo_study().providers)
    >>> absences[["provider_id", "from", "days"]].values.tolist()
    [['MP0001', datetime.date(2026, 12, 7), 3]]
    """
    file = str(path)
    frame = read_table(path, what="absences")
    frame = frame.rename(columns={k: v for k, v in _ALIASES.items() if k in frame.columns})
    missing = [c for c in ("provider_id", "from", "to") if c not in frame.columns]
    if missing:
        header = int(frame.attrs.get("header_row", 1))
        raise InputError([Problem(file, "a required column is missing", row=header, column=c)
                          for c in missing])  # fmt: skip
    problems = ProblemList(file)
    rows = frame[ROW].astype(int).tolist()
    out: dict[str, list] = {c: [] for c in ABSENCE_COLUMNS}
    good_rows: list[int] = []
    for i, row in enumerate(rows):
        rec = {c: str(frame[c].iloc[i]).strip() if c in frame.columns else "" for c in
               ABSENCE_COLUMNS}  # fmt: skip
        ok = True
        if not rec["provider_id"]:
            problems.add("a value is required", row=row, column="provider_id")
            ok = False
        dates = {}
        for c in ("from", "to"):
            if not rec[c]:
                problems.add("a value is required", row=row, column=c)
                ok = False
                continue
            try:
                dates[c] = _iso_date(rec[c])
            except ValueError as exc:
                problems.add(str(exc), row=row, column=c, value=rec[c])
                ok = False
        days = ALL_DAYS_MASK
        if rec["days"]:
            try:
                days = parse_days(rec["days"])
            except ValueError as exc:
                problems.add(str(exc), row=row, column="days", value=rec["days"])
                ok = False
        if ok:
            out["provider_id"].append(rec["provider_id"])
            out["from"].append(dates["from"])
            out["to"].append(dates["to"])
            out["days"].append(days)
            out["reason"].append(rec["reason"])
            good_rows.append(row)
    table = pd.DataFrame(out, columns=list(ABSENCE_COLUMNS)).astype({"days": np.int64})
    problems.problems += absence_problems(table, providers, file=file, rows=good_rows)
    problems.raise_if_any()
    return table


#: The columns of ``matches.csv`` a cover plan reads.
MATCH_COLUMNS = ("person_id", "status", "provider_id", "partner_provider_id", "cover_provider_id")


def read_matches(path: str | Path) -> pd.DataFrame:
    """Read ``matches.csv`` as ``gapmap match`` writes it (or as a team keeps it by hand).

    Parameters
    ----------
    path
        The file (CSV or XLSX).

    Returns
    -------
    DataFrame
        ``person_id, status, provider_id, partner_provider_id, cover_provider_id`` as text
        (empty where none), ``hours`` (float, NaN where not given) and ``row``.

    Raises
    ------
    InputError
        A missing column, a status other than matched/unmatched, a matched row without a
        provider, hours that are not a number, a person listed twice.
    """
    file = str(path)
    frame = read_table(path, what="matches")
    missing = [c for c in ("person_id", "status", "provider_id") if c not in frame.columns]
    if missing:
        header = int(frame.attrs.get("header_row", 1))
        raise InputError([Problem(file, "a required column is missing", row=header, column=c)
                          for c in missing])  # fmt: skip
    problems = ProblemList(file)
    out = pd.DataFrame({c: [str(v).strip() for v in frame[c]] if c in frame.columns else ""
                        for c in MATCH_COLUMNS})  # fmt: skip
    out["status"] = out["status"].str.lower()
    hours = np.full(len(frame), np.nan)
    seen: dict[str, int] = {}
    for i, row in enumerate(frame[ROW].astype(int)):
        pid, status = out["person_id"].iloc[i], out["status"].iloc[i]
        if not pid:
            problems.add("a value is required", row=row, column="person_id")
        elif pid in seen:
            problems.add(f"the person appears more than once (first at row {seen[pid]})",
                         row=row, column="person_id", value=pid)  # fmt: skip
        else:
            seen[pid] = row
        if status not in ("matched", "unmatched"):
            problems.add("expected matched or unmatched", row=row, column="status", value=status)
        elif status == "matched" and not out["provider_id"].iloc[i]:
            problems.add("a matched person needs a provider", row=row, column="provider_id")
        if "hours" in frame.columns and str(frame["hours"].iloc[i]).strip():
            cell = str(frame["hours"].iloc[i]).strip()
            try:
                hours[i] = float(cell)
                if not 0 < hours[i] <= 168:
                    raise ValueError
            except ValueError:
                problems.add("expected hours a week, more than 0 and at most 168", row=row,
                             column="hours", value=cell)  # fmt: skip
    problems.raise_if_any()
    out["hours"] = hours
    out["row"] = frame[ROW].astype(int).to_numpy()
    return out
