"""The two vocabularies of SPEC.md: services and days.

Both are stored as small bit masks so that "does v offer every service p needs" is
``(need & offer) == need`` and "which of p's days does v work" is ``p_days & v_days``,
whole columns at a time.
"""

from __future__ import annotations

import re

__all__ = [
    "ALL_DAYS_MASK",
    "DAYS",
    "SERVICES",
    "WEEKEND_MASK",
    "count_days",
    "days_text",
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
