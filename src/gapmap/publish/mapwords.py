"""Words in the maps: popups, legends and labels, HTML-escaped.

Hours, shares and distances as a reader says them (``withheld`` where suppression hides a
figure), working days (:func:`days_in_words`: ``Monday to Friday``) and services in words, and
the small HTML tables of a popup. Every text from an input file goes through :func:`_esc`
before it enters the page.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from gapmap.vocab import ALL_DAYS_MASK, parse_days, parse_services, services_words

__all__ = ["days_in_words"]


def _esc(v) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return ""
    return html.escape(str(v), quote=True)


def _missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, (float, np.floating)) and np.isnan(v))


def _hours(v, withheld: str = "withheld") -> str:
    return withheld if _missing(v) else f"{float(v):,.0f} h"


def _pct(v, none: str = "no need") -> str:
    return none if _missing(v) else f"{100 * float(v):.0f}%"


def _km(v) -> str:
    return "none in reach" if _missing(v) else f"{float(v):,.1f} km"


def _table_html(rows: list[tuple[str, str]]) -> str:
    return (
        "<table>"
        + "".join(f"<tr><th scope='row'>{k}</th><td>{v}</td></tr>" for k, v in rows)
        + "</table>"
    )


_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def days_in_words(days: object) -> str:
    """Working days as a person says them: ``Monday to Friday``, ``every day``.

    Parameters
    ----------
    days
        A days mask, or days text as in the registers (``Mon;Tue;Wed``, ``Mon-Fri``).

    Returns
    -------
    str

    Examples
    --------
    >>> days_in_words("Mon-Fri"), days_in_words("Mon;Tue;Wed;Sat"), days_in_words("Sat;Sun")
    ('Monday to Friday', 'Monday to Wednesday and Saturday', 'Saturday and Sunday')
    >>> days_in_words("Mon;Thu"), days_in_words("weekdays;Sat;Sun")
    ('Monday and Thursday', 'every day')
    """
    mask = days if isinstance(days, int) else parse_days(days)
    if mask == ALL_DAYS_MASK:
        return "every day"
    runs: list[str] = []
    i = 0
    while i < 7:
        if not mask >> i & 1:
            i += 1
            continue
        j = i
        while j + 1 < 7 and mask >> (j + 1) & 1:
            j += 1
        if j - i >= 2:
            runs.append(f"{_DAY_NAMES[i]} to {_DAY_NAMES[j]}")
        else:
            runs += list(_DAY_NAMES[i : j + 1])
        i = j + 1
    if not runs:
        return "no days"
    return runs[0] if len(runs) == 1 else ", ".join(runs[:-1]) + " and " + runs[-1]


def _services_in_words(services: object) -> str:
    """Services in words, first letter capitalised (``Personal care and companionship``)."""
    words = services_words(parse_services(services))
    return words[:1].upper() + words[1:] if words else "none given"


def _with_places(tip: str, names: list[str]) -> str:
    """An area's popup with the towns and villages in it (a table row before its end)."""
    if not names or not tip.endswith("</table>"):
        return tip
    shown = ", ".join(_esc(n) for n in names[:4]) + (" and others" if len(names) > 4 else "")
    row = f"<tr><th scope='row'>Towns and villages</th><td>{shown}</td></tr>"
    return tip[: -len("</table>")] + row + "</table>"


def _short_name(name: object) -> str:
    """An area's name for a label (the built-in geography's ``CT1 2 sector`` → ``CT1 2``)."""
    text = "" if _missing(name) else str(name)
    return text[: -len(" sector")] if text.endswith(" sector") else text
