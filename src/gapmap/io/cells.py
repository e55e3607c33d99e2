"""Cells of the registers: parse and check one value as people type it.

Each parser takes the text of one cell and gives a typed value, or raises ``ValueError`` with a
message for the user (the register readers of :mod:`gapmap.io.registers` add file, row and
column). The same rules serve every way a record comes in: the register files, the ORUK side
table, the web form and API, and the register database.

- numbers: :func:`read_number` (``6,5``, ``6½ hours``, ``10 km``) and the range-checked
  ``parse_weekly_hours``, ``parse_booked_hours``, ``parse_travel_km``;
- places: :func:`point_from_latlon` (WGS84 degrees to British National Grid metres);
- contacts: :func:`check_email`, :func:`check_phone`, and :func:`mailto` for a safe link.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from urllib.parse import quote

from gapmap._kent import GB_LONLAT_BOUNDS
from gapmap.postcodes import wgs84_to_bng
from gapmap.vocab import clean_name

__all__ = [
    "MAX_TRAVEL_KM",
    "MAX_WEEKLY_HOURS",
    "check_email",
    "check_phone",
    "mailto",
    "parse_booked_hours",
    "parse_travel_km",
    "parse_weekly_hours",
    "point_from_latlon",
    "read_number",
]

#: Hours a week above which a figure is surely a typing error (a week has 168 hours).
MAX_WEEKLY_HOURS = 168.0
#: Travel limits above this are surely a typing error (Kent is about 100 km across).
MAX_TRAVEL_KM = 200.0

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}


_FRACTIONS = {"½": ".5", "¼": ".25", "¾": ".75"}
_UNITS = re.compile(
    r"\s*(hours?|hrs?|h|kilometres?|kilometers?|kms?)?\.?\s*((a|per|each|/)\s*(week|wk)|pw)?\s*$"
)


def read_number(cell: str) -> float:
    """A number as people type it: ``6``, ``6.5``, ``6,5`` (decimal comma), ``6½``,
    ``6 hours``, ``6 h a week``, ``10 km``, ``1,000``.

    Parameters
    ----------
    cell
        The text.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        when the text is not a number in any of those forms.

    Examples
    --------
    >>> read_number("6,5"), read_number("6½ hours"), read_number("1,000"), read_number("10 km")
    (6.5, 6.5, 1000.0, 10.0)
    """
    text = str(cell).strip().lower()
    for ch, dec in _FRACTIONS.items():
        if ch in text:
            head = text.split(ch)[0].strip()
            text = (head or "0") + dec + text.split(ch, 1)[1]
    text = _UNITS.sub("", text).strip()
    if re.fullmatch(r"[+-]?\d+,\d{1,2}", text):  # a decimal comma: 6,5 or 6,25
        text = text.replace(",", ".")
    elif re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?", text):  # thousands: 1,000.5
        text = text.replace(",", "")
    v = float(text)  # raises ValueError
    if math.isnan(v) or math.isinf(v):
        raise ValueError(cell)
    return v


def _number(low: float, high: float, *, low_inclusive: bool, what: str, example: str):
    def parse(cell: str) -> float:
        try:
            v = read_number(cell)
        except ValueError:
            raise ValueError(f"Enter the {what} as a number, like {example}") from None
        if v < low or (v == low and not low_inclusive):
            raise ValueError(
                f"The {what} must be {'at least' if low_inclusive else 'more than'} {low:g}"
            )
        if v > high:
            raise ValueError(f"The {what} must be {high:g} or less ({v:.12g} is not plausible)")
        return v

    return parse


#: The register's number rules, shared with the suggestion request checks.
parse_weekly_hours = _number(
    0, MAX_WEEKLY_HOURS, low_inclusive=False, what="hours a week", example="6 or 6.5"
)
parse_booked_hours = _number(
    0, MAX_WEEKLY_HOURS, low_inclusive=True, what="hours a week", example="0 or 12.5"
)
parse_travel_km = _number(
    0, MAX_TRAVEL_KM, low_inclusive=False, what="distance in km", example="10"
)


def point_from_latlon(lat: float, lon: float) -> tuple[float, float]:
    """British National Grid metres for WGS84 degrees in Great Britain.

    Parameters
    ----------
    lat, lon
        Degrees.

    Returns
    -------
    (x, y)

    Raises
    ------
    ValueError
        saying what looks wrong: lat and lon swapped, grid metres given as degrees, or a point
        outside Great Britain.
    """
    gx0, gy0, gx1, gy1 = GB_LONLAT_BOUNDS
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise ValueError("expected numbers of degrees")
    if gy0 <= lat <= gy1 and gx0 <= lon <= gx1:
        x, y = wgs84_to_bng(lon, lat)
        return float(x), float(y)
    if gy0 <= lon <= gy1 and gx0 <= lat <= gx1:
        raise ValueError("lat and lon look swapped (lat is the 50-60 degrees one)")
    if abs(lat) > 1000 or abs(lon) > 1000:
        raise ValueError(
            "looks like British National Grid metres in degree columns; "
            "put them in 'easting' and 'northing'"
        )
    raise ValueError("the point is outside Great Britain")


def _boolean(cell: str) -> bool:
    s = cell.lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError("expected true or false (yes/no, 1/0)")


def _priority(cell: str) -> int:
    try:
        v = float(cell)
    except ValueError:
        raise ValueError("expected a whole number from 1 (low) to 5 (urgent)") from None
    if not v.is_integer() or not 1 <= v <= 5:
        raise ValueError("expected a whole number from 1 (low) to 5 (urgent)")
    return int(v)


def _text_cell(cell: str) -> str:
    """Text of a register (ids, names, contacts): cleaned in one place
    (:func:`gapmap.vocab.clean_name`)."""
    return clean_name(cell)


#: An email address as gapmap takes it: a strict subset of RFC 5322's addr-spec (no quoted
#: local parts, no comments, no ``?``/``&``/spaces that would add recipients to a mailto: link).
_EMAIL = re.compile(
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
#: A telephone number: digits, spaces, brackets and hyphens, a + only first; 6-15 digits.
_PHONE = re.compile(r"\+?[0-9 ()-]{6,24}")


def check_email(text: str) -> str:
    """An email address from a register, or ValueError saying what is wrong.

    Parameters
    ----------
    text
        The cell.

    Returns
    -------
    str
        The address (stripped).

    Examples
    --------
    >>> check_email("hello@mp0001.example.org")
    'hello@mp0001.example.org'
    >>> check_email("x@y.org?bcc=spy@evil.example")
    Traceback (most recent call last):
    ...
    ValueError: an email address is name@example.org: one @, no spaces, no ? or &
    """
    text = text.strip()
    if text.lower().startswith("mailto:"):
        raise ValueError("give the email address without 'mailto:'")
    if len(text) > 254 or not _EMAIL.fullmatch(text):
        raise ValueError("an email address is name@example.org: one @, no spaces, no ? or &")
    return text


def check_phone(text: str) -> str:
    """A telephone number from a register, or ValueError saying what is wrong.

    Examples
    --------
    >>> check_phone("+44 (0)1622 694000")
    '+44 (0)1622 694000'
    >>> check_phone('=HYPERLINK("http://evil.example")')
    Traceback (most recent call last):
    ...
    ValueError: a phone number is 6-15 digits with spaces, brackets, hyphens, a + first
    """
    text = text.strip()
    digits = sum(ch.isdigit() for ch in text)
    if not _PHONE.fullmatch(text) or not 6 <= digits <= 15:
        raise ValueError("a phone number is 6-15 digits with spaces, brackets, hyphens, a + first")
    return text


def mailto(email: str) -> str:
    """A ``mailto:`` link of a checked address, percent-encoded so it names one recipient only.

    Examples
    --------
    >>> mailto("hello@mp0001.example.org")
    'mailto:hello@mp0001.example.org'
    >>> mailto("a@b.org?bcc=c@d.org")
    'mailto:a@b.org%3Fbcc%3Dc@d.org'
    """
    return "mailto:" + quote(str(email).strip(), safe="@+")


def _contact_cell(column: str) -> Callable[[str], str]:
    """A contact detail: text of at most 200 characters; a website must be http(s) or a bare
    domain (never ``javascript:``); an email one address (:func:`check_email`); a phone a
    number (:func:`check_phone`)."""

    def parse(cell: str) -> str:
        text = _text_cell(cell)
        if len(text) > 200:
            raise ValueError(f"the {column} is longer than 200 characters")
        if column == "email" and text.strip():
            text = check_email(text)
        if column == "phone" and text.strip():
            text = check_phone(text)
        if column == "website":
            scheme = re.match(r"^([a-z][a-z0-9+.-]*):", text.lower())
            if scheme and scheme.group(1) not in ("http", "https"):
                raise ValueError("a website must start with https:// or http://")
        return text

    return parse
