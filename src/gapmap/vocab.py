"""The two vocabularies of SPEC.md: services and days.

Both are stored as small bit masks so that "does v offer every service p needs" is
``(need & offer) == need`` and "which of p's days does v work" is ``p_days & v_days``,
whole columns at a time.
"""

from __future__ import annotations

import re

__all__ = [
    "ALL_DAYS_MASK",
    "clean_name",
    "DAYS",
    "SERVICES",
    "WEEKEND_MASK",
    "SERVICE_WORDS",
    "count_days",
    "days_text",
    "days_words",
    "hours_words",
    "quarter_hours",
    "services_words",
    "parse_days",
    "parse_services",
    "services_text",
]

SERVICES: tuple[str, ...] = ("personal_care", "domestic", "social", "community", "respite")
DAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ALL_DAYS_MASK = (1 << 7) - 1
WEEKEND_MASK = (1 << 5) | (1 << 6)
WEEKDAY_MASK = ALL_DAYS_MASK & ~WEEKEND_MASK

_SERVICE_ALIASES = {
    "personal care": "personal_care",
    "personalcare": "personal_care",
    "personal-care": "personal_care",
}
_DAY_NAMES = {
    "mon": 0, "monday": 0,
    "tue": 1, "tues": 1, "tuesday": 1,
    "wed": 2, "weds": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3,
    "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5,
    "sun": 6, "sunday": 6,
}  # fmt: skip
_DAY_WORDS = {
    "weekdays": WEEKDAY_MASK,
    "weekday": WEEKDAY_MASK,
    "weekends": WEEKEND_MASK,
    "weekend": WEEKEND_MASK,
    "all": ALL_DAYS_MASK,
    "every day": ALL_DAYS_MASK,
    "everyday": ALL_DAYS_MASK,
    "daily": ALL_DAYS_MASK,
}
_SPLIT = re.compile(r"[;,/|+]")


def _tokens(text: str) -> list[str]:
    return [t.strip() for t in _SPLIT.split(text) if t.strip()]


def parse_services(text: object) -> int:
    """Parse a services cell (``"domestic; Social"``) into a bit mask.

    Raises
    ------
    ValueError
        naming the words that are not services, or when the cell is empty.
    """
    if text is None or not str(text).strip():
        raise ValueError("no services given; expected some of " + ", ".join(SERVICES))
    mask = 0
    unknown = []
    for tok in _tokens(str(text)):
        key = tok.lower()
        key = _SERVICE_ALIASES.get(key, key.replace(" ", "_").replace("-", "_"))
        if key in SERVICES:
            mask |= 1 << SERVICES.index(key)
        else:
            unknown.append(tok)
    if unknown:
        raise ValueError(
            f"unknown service {', '.join(repr(u) for u in unknown)}; expected some of "
            + ", ".join(SERVICES)
        )
    return mask


def parse_days(text: object) -> int:
    """Parse a days cell into a bit mask (bit 0 = Monday ... bit 6 = Sunday).

    Accepts ``Mon;Tue``, full names in any case, ranges ``Mon-Fri`` (wrapping ``Sat-Mon``),
    and the words ``weekdays``, ``weekends`` and ``all``.
    """
    if text is None or not str(text).strip():
        raise ValueError("no days given; expected e.g. 'Mon;Wed', 'Mon-Fri', 'weekends' or 'all'")
    mask = 0
    unknown = []
    for tok in _tokens(str(text)):
        key = tok.lower().strip()
        if key in _DAY_WORDS:
            mask |= _DAY_WORDS[key]
            continue
        parts = [p.strip() for p in re.split(r"\s*(?:-|–|to)\s*", key) if p.strip()]
        if len(parts) == 2 and all(p in _DAY_NAMES for p in parts):
            a, b = _DAY_NAMES[parts[0]], _DAY_NAMES[parts[1]]
            i = a
            while True:
                mask |= 1 << i
                if i == b:
                    break
                i = (i + 1) % 7
        elif key in _DAY_NAMES:
            mask |= 1 << _DAY_NAMES[key]
        else:
            unknown.append(tok)
    if unknown:
        raise ValueError(
            f"unknown day {', '.join(repr(u) for u in unknown)}; expected Mon..Sun, "
            "ranges like Mon-Fri, 'weekdays', 'weekends' or 'all'"
        )
    return mask


def services_text(mask: int) -> str:
    """The canonical ``;``-separated text of a services mask."""
    return ";".join(s for i, s in enumerate(SERVICES) if mask >> i & 1)


def days_text(mask: int) -> str:
    """The canonical ``;``-separated text of a days mask (``Mon;Tue;Sat``)."""
    return ";".join(d for i, d in enumerate(DAYS) if mask >> i & 1)


def count_days(mask):
    """Number of days in a mask; works on ints and on numpy integer arrays."""
    total = mask & 1
    for i in range(1, 7):
        total = total + ((mask >> i) & 1)
    return total


#: What each service means, in the words a care navigator would use.
SERVICE_WORDS = {
    "personal_care": "personal care (washing, dressing, toileting, medication prompts)",
    "domestic": "domestic help (cleaning, laundry, shopping, meals)",
    "social": "companionship (company, welfare checks, sitting)",
    "community": "community activities (outings, activities, transport to groups)",
    "respite": "respite (breaks for unpaid carers)",
}


def _and_list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def days_words(days: int | str) -> str:
    """Days in words for people: ``Mon, Thu and Fri``; ``every day``; ``weekdays``.

    Parameters
    ----------
    days
        A days mask, or days text as in the registers.

    Examples
    --------
    >>> days_words("Mon;Thu;Fri"), days_words("Mon-Fri"), days_words("Sat;Sun")
    ('Mon, Thu and Fri', 'weekdays (Mon to Fri)', 'weekends (Sat and Sun)')
    """
    mask = days if isinstance(days, int) else parse_days(days)
    if mask == ALL_DAYS_MASK:
        return "every day"
    if mask == WEEKDAY_MASK:
        return "weekdays (Mon to Fri)"
    if mask == WEEKEND_MASK:
        return "weekends (Sat and Sun)"
    return _and_list([d for i, d in enumerate(DAYS) if mask >> i & 1])


def services_words(services: int | str) -> str:
    """Services in words (``domestic help and companionship``), short forms.

    Parameters
    ----------
    services
        A services mask, or services text as in the registers.
    """
    mask = services if isinstance(services, int) else parse_services(services)
    short = {s: SERVICE_WORDS[s].split(" (")[0] for s in SERVICES}
    return _and_list([short[s] for i, s in enumerate(SERVICES) if mask >> i & 1])


def hours_words(hours: float) -> str:
    """Hours a week to the nearest quarter hour, as people say them: ``3 h 30 min``.

    Parameters
    ----------
    hours
        Hours (any float).

    Examples
    --------
    >>> hours_words(3.42857), hours_words(6), hours_words(0.2)
    ('3 h 30 min', '6 h', '15 min')
    """
    quarters = max(int(round(float(hours) * 4)), 1 if hours > 0 else 0)
    h, q = divmod(quarters, 4)
    if h and q:
        return f"{h} h {15 * q} min"
    if h:
        return f"{h} h"
    return f"{15 * q} min"


def quarter_hours(hours: float) -> float:
    """Hours rounded to the nearest quarter hour (at least a quarter when positive)."""
    quarters = max(int(round(float(hours) * 4)), 1 if hours > 0 else 0)
    return quarters / 4


# bidirectional controls (U+202A-E, U+2066-9, U+200E/F, U+061C) and zero-width characters:
# invisible, yet they reverse or hide what a name shows (a name read backwards on the page)
_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def clean_name(value: object) -> str:
    r"""Text from a register or an areas file as gapmap keeps it: the one place it is cleaned.

    Bidirectional controls and zero-width characters are removed; other control characters
    (tabs, line breaks, escapes) become one space; the ends are stripped.

    Parameters
    ----------
    value
        A cell (made text).

    Returns
    -------
    str

    Examples
    --------
    >>> clean_name("Sunrise \u202egnirac\u202c Help")
    'Sunrise gnirac Help'
    >>> clean_name(" Ann\x1b[31m\nCare ")
    'Ann [31m Care'
    """
    text = str(value)
    if text.isascii() and text.isprintable():  # nothing to remove (most cells): only the ends
        return text.strip()
    return _CONTROL.sub(" ", _INVISIBLE.sub("", text)).strip()
