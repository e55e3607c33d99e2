"""What families ask before they call: price, checks, languages, and when an entry was checked.

Six optional columns of the providers register (README, "What families ask"):

``price_per_hour``
    £ an hour the provider charges (``18.50``, ``£18.50``, ``£18.50 an hour``).
``dbs_checked_on``
    the date of the provider's latest DBS (criminal record) check.
``insurance_until``
    the date the provider's public liability insurance runs to.
``verified_on``
    the date the register team last checked the entry with the provider.
``languages``
    languages spoken, ``;``-separated (``English; Polish``).
``last_updated``
    the date the entry last changed.

Dates are read as ``2026-03-01``, ``01/03/2026`` (day first, as in the UK), ``1 March 2026`` or a
spreadsheet date, and kept as ISO text (``""`` when not given). A provider whose insurance has
lapsed, or whose DBS check is older than :attr:`~gapmap.settings.Settings.dbs_valid_years`, is
not suggested (:func:`lapsed_reasons`); :func:`checks_due` lists checks falling due soon for the
team that keeps the register. A column left empty is not recorded, and never stops a provider
being suggested.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

__all__ = [
    "DATE_COLUMNS",
    "FAMILY_COLUMNS",
    "checks_due",
    "dbs_due_on",
    "lapsed_reasons",
    "parse_date",
    "parse_languages",
    "parse_price",
]

#: The optional columns, in the order the register lists them.
FAMILY_COLUMNS = (
    "price_per_hour",
    "dbs_checked_on",
    "insurance_until",
    "verified_on",
    "languages",
    "last_updated",
)
#: Date columns; all but ``insurance_until`` are dates in the past.
DATE_COLUMNS = ("dbs_checked_on", "insurance_until", "verified_on", "last_updated")
#: A price above this (£ an hour) is surely a typing error.
MAX_PRICE = 500.0
#: Days ahead that :func:`checks_due` looks by default.
DUE_WITHIN_DAYS = 30

_MONTHS = {
    m.lower(): i + 1
    for i, m in enumerate(
        [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ]
    )  # fmt: skip
}
_MONTHS.update({k[:3]: v for k, v in list(_MONTHS.items())})
_MONTHS["sept"] = 9


def parse_date(cell: str, *, past: bool = False, today: dt.date | None = None) -> str:
    """A date as people and spreadsheets write it, as ISO text.

    Parameters
    ----------
    cell
        ``2026-03-01``, ``2026-03-01 00:00:00`` (a spreadsheet date), ``2026-03-01T10:00:00Z``,
        ``01/03/2026`` or ``1-3-2026`` (day first), ``1 March 2026``, ``1 Mar 2026``.
    past
        The date must not be after ``today`` (a check cannot have happened tomorrow).
    today
        Default: the computer's date.

    Returns
    -------
    str
        ``YYYY-MM-DD``.

    Raises
    ------
    ValueError
        in words, when the text is not a date or is in the future where it may not be.

    Examples
    --------
    >>> parse_date("01/03/2026"), parse_date("1 March 2026"), parse_date("2026-03-01 00:00:00")
    ('2026-03-01', '2026-03-01', '2026-03-01')
    """
    text = str(cell).strip()
    day = _date(text)
    if day is None:
        raise ValueError("Enter a date like 2026-03-01 or 01/03/2026 (day first)")
    if not 1900 <= day.year <= 2200:
        raise ValueError(f"the year {day.year} is not plausible")
    if past and day > (today or dt.date.today()):
        raise ValueError(f"the date {day.isoformat()} is in the future")
    return day.isoformat()


def _date(text: str) -> dt.date | None:
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T][0-9:.]+(?:Z|[+-]\d\d:?\d\d)?)?", text)
    if m:
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    else:
        m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
        if m:
            d, mo, y = int(m[1]), int(m[2]), int(m[3])
        else:
            m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]+)\.?,?\s+(\d{4})", text)
            if not m or m[2].lower() not in _MONTHS:
                return None
            d, mo, y = int(m[1]), _MONTHS[m[2].lower()], int(m[3])
    try:
        return dt.date(y, mo, d)
    except ValueError:
        return None


def parse_price(cell: str) -> float:
    """£ an hour: ``18.50``, ``£18.50``, ``18.50 an hour``, ``£18.50/h``.

    Raises
    ------
    ValueError
        when the text is not a price, or is not plausible (0 or more than £500 an hour).

    Examples
    --------
    >>> parse_price("£18.50 an hour"), parse_price("20")
    (18.5, 20.0)
    """
    text = str(cell).strip().lower().replace("£", "").replace("gbp", "").strip()
    text = re.sub(r"\s*(an|a|per|/)\s*(hour|hr|h)\s*$|\s*/?\s*(ph|p/h|/h)\s*$", "", text).strip()
    try:
        v = float(text)
    except ValueError:
        raise ValueError("Enter the price in £ an hour, like 18.50") from None
    if not np.isfinite(v) or v <= 0:
        raise ValueError("the price must be more than £0 an hour")
    if v > MAX_PRICE:
        raise ValueError(f"£{v:g} an hour is not plausible (at most £{MAX_PRICE:g})")
    return round(v, 2)


def parse_languages(cell: str) -> str:
    """Languages spoken, ``;``-separated, each as written (``English;Polish``).

    Raises
    ------
    ValueError
        when the cell is longer than 200 characters or a language is not a word.
    """
    text = str(cell).strip()
    if len(text) > 200:
        raise ValueError("the languages are longer than 200 characters")
    names = [t.strip() for t in re.split(r"[;,/|]", text) if t.strip()]
    for n in names:
        if not re.fullmatch(r"[^\W\d_](?:[^\W\d_]|[ ()'’.-])*", n):
            raise ValueError(f"{n!r} is not the name of a language")
    out: list[str] = []
    for n in names:
        if n.lower() not in (o.lower() for o in out):
            out.append(n)
    return ";".join(out)


def _add_years(day: dt.date, years: float) -> dt.date:
    whole = int(years)
    try:
        moved = day.replace(year=day.year + whole)
    except ValueError:  # 29 February into a year without one
        moved = day.replace(year=day.year + whole, day=28)
    return moved + dt.timedelta(days=round((years - whole) * 365.25))


def dbs_due_on(checked_on: str, years: float) -> str:
    """The date a DBS check of ``checked_on`` falls due again (``""`` when not recorded).

    Parameters
    ----------
    checked_on
        The check's date, ISO text (or ``""``).
    years
        How many years a check lasts.

    Examples
    --------
    >>> dbs_due_on("2024-02-29", 3), dbs_due_on("", 3)
    ('2027-02-28', '')
    """
    if not checked_on:
        return ""
    return _add_years(dt.date.fromisoformat(checked_on), years).isoformat()


def _column(providers: pd.DataFrame, name: str) -> list[str]:
    if name not in providers.columns:
        return [""] * len(providers)
    return ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
            for v in providers[name].to_numpy()]  # fmt: skip


def lapsed_reasons(
    providers: pd.DataFrame, *, dbs_valid_years: float, today: dt.date | None = None
) -> np.ndarray:
    """Why each provider may not be suggested today because of its checks (``""``: it may).

    Parameters
    ----------
    providers
        A providers register (the columns may be absent: nothing is then lapsed).
    dbs_valid_years
        A DBS check older than this many years is out of date.
    today
        Default: the computer's date.

    Returns
    -------
    ndarray of str
        ``"insurance lapsed on 2026-11-30"``, ``"DBS check of 2023-01-05 is more than 3 years
        old"`` (both, joined by ``"; "``), or ``""``.
    """
    today = today or dt.date.today()
    out = np.full(len(providers), "", dtype=object)
    for i, (ins, dbs) in enumerate(
        zip(_column(providers, "insurance_until"), _column(providers, "dbs_checked_on"))
    ):
        why = []
        if ins and dt.date.fromisoformat(ins) < today:
            why.append(f"insurance lapsed on {ins}")
        if dbs and dt.date.fromisoformat(dbs_due_on(dbs, dbs_valid_years)) < today:
            why.append(f"DBS check of {dbs} is more than {dbs_valid_years:g} years old")
        out[i] = "; ".join(why)
    return out


def checks_due(
    providers: pd.DataFrame,
    *,
    dbs_valid_years: float,
    within_days: int = DUE_WITHIN_DAYS,
    today: dt.date | None = None,
) -> pd.DataFrame:
    """Checks falling due within ``within_days`` days, and those already overdue.

    For the team that keeps the register (internal): one row per provider and check, soonest
    first, with the provider's public contact details to chase it.

    Parameters
    ----------
    providers
        A providers register.
    dbs_valid_years
        As for :func:`lapsed_reasons`.
    within_days
        How far ahead to look (default 30 days).
    today
        Default: the computer's date.

    Returns
    -------
    DataFrame
        ``provider_id, name, check, due_on, days_left, status, phone, email`` (``days_left``
        negative when overdue; ``status`` ``overdue`` or ``due soon``).
    """
    today = today or dt.date.today()
    rows = []
    ids, names = _column(providers, "provider_id"), _column(providers, "name")
    phones, emails = _column(providers, "phone"), _column(providers, "email")
    ins = _column(providers, "insurance_until")
    dbs = _column(providers, "dbs_checked_on")
    for i in range(len(providers)):
        dues = []
        if ins[i]:
            dues.append(("insurance renewal", ins[i]))
        if dbs[i]:
            dues.append(("DBS check", dbs_due_on(dbs[i], dbs_valid_years)))
        for what, due in dues:
            left = (dt.date.fromisoformat(due) - today).days
            if left <= within_days:
                rows.append(
                    {
                        "provider_id": ids[i],
                        "name": names[i],
                        "check": what,
                        "due_on": due,
                        "days_left": left,
                        "status": "overdue" if left < 0 else "due soon",
                        "phone": phones[i],
                        "email": emails[i],
                    }
                )
    cols = ["provider_id", "name", "check", "due_on", "days_left", "status", "phone", "email"]
    table = pd.DataFrame(rows, columns=cols)
    return table.sort_values(["days_left", "provider_id"], kind="stable").reset_index(drop=True)


def facts_words(facts) -> str:
    """What families ask, in words, for a suggestion (``""`` when nothing is recorded).

    Parameters
    ----------
    facts
        A mapping (or object) with the :data:`FAMILY_COLUMNS` as keys (or attributes).

    Examples
    --------
    >>> facts_words({"price_per_hour": 18.5, "languages": "English;Polish",
    ...              "dbs_checked_on": "2025-03-01", "insurance_until": "2027-01-31"})
    '£18.50 an hour; speaks English, Polish; DBS checked 2025-03-01; insured until 2027-01-31'
    """

    def get(name: str):
        if isinstance(facts, dict):
            return facts.get(name)
        return getattr(facts, name, None)

    parts = []
    price = get("price_per_hour")
    if price is not None and not (isinstance(price, float) and np.isnan(price)):
        parts.append(f"£{float(price):.2f} an hour")
    if get("languages"):
        parts.append("speaks " + ", ".join(str(get("languages")).split(";")))
    for name, words in (
        ("dbs_checked_on", "DBS checked"),
        ("insurance_until", "insured until"),
        ("verified_on", "entry checked with the provider"),
        ("last_updated", "entry updated"),
    ):
        if get(name):
            parts.append(f"{words} {get(name)}")
    return "; ".join(parts)


def without_lapsed(study, *, today: dt.date | None = None):
    """The study without the providers whose checks have lapsed, and a note saying who went.

    Batch matching calls this so that it names no provider that suggestions would not.

    Parameters
    ----------
    study
        A :class:`~gapmap.study.Study`.
    today
        Default: the computer's date.

    Returns
    -------
    (Study, str)
        The same study when nothing has lapsed (and ``""``), else a copy whose providers are
        those still in order, and a note naming the others with the reason.
    """
    from dataclasses import replace

    why = lapsed_reasons(
        study.providers, dbs_valid_years=study.settings.dbs_valid_years, today=today
    )
    gone = np.flatnonzero(why != "")
    if len(gone) == 0:
        return study, ""
    ids = study.providers["provider_id"].astype(str).to_numpy()
    shown = "; ".join(f"{ids[i]}: {why[i]}" for i in gone[:10]) + (" ..." if len(gone) > 10 else "")
    kept = study.providers.loc[why == ""].reset_index(drop=True)
    note = f"{len(gone)} provider(s) left out of matching, their checks lapsed ({shown})"
    return replace(study, providers=kept, notes=[*study.notes, note]), note
