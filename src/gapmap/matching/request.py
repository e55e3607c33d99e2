"""One call for one suggestion: :func:`suggest` (``gapmap.suggest``), for a notebook or a script.

It checks what is said about the person exactly as the command line (``gapmap suggest``) and
the web page (``gapmap serve``) do (:func:`~gapmap.matching.person.request_from_fields`), then
asks the study's :class:`~gapmap.matching.suggest.Suggester` (made once per study and kept
while the study lives).

**The safety questions have no default.** Whether the person can direct their own care (or has
a representative who can) and whether their care must come from a CQC-registered provider must
be answered ``True`` or ``False``: a person who cannot direct their care is never signposted to
a micro-provider, so an answer left out, ``None``, or anything but a yes/no (``"no"`` is a
non-empty string, which Python would read as true) is refused, never guessed.
"""

from __future__ import annotations

import weakref
from dataclasses import replace

import numpy as np

from gapmap.errors import InputError
from gapmap.io.registers import PERSON_DEFAULTS
from gapmap.matching.person import request_from_fields
from gapmap.matching.suggest import Suggester
from gapmap.matching.suggestion import SuggestionList
from gapmap.study import Study

__all__ = ["suggest", "suggester_of"]

_SUGGESTERS: weakref.WeakKeyDictionary[Study, Suggester] = weakref.WeakKeyDictionary()


def suggester_of(study: Study) -> Suggester:
    """The study's :class:`~gapmap.matching.suggest.Suggester`, made at the first request and
    kept while the study lives (its providers are indexed once).

    Parameters
    ----------
    study
        The study.

    Returns
    -------
    Suggester
    """
    found = _SUGGESTERS.get(study)
    if found is None:
        found = _SUGGESTERS[study] = Suggester(study)
    return found


def _answer(value: object) -> bool | None:
    """A yes/no answer as a bool, or None when it is not one (left out, None, text, 2)."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    return None


def suggest(
    study: Study,
    *,
    postcode: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    hours: float | str,
    days: str,
    services: str,
    self_directing: bool,
    regulated_care: bool,
    max_travel_km: float | str | None = None,
    needs_cover: bool = PERSON_DEFAULTS.needs_cover,
    top: int = 5,
    explain: bool = False,
) -> SuggestionList:
    """Who could take one person on: ranked providers with partner and cover, or advice.

    Parameters
    ----------
    study
        The study whose providers are suggested (:func:`gapmap.datasets.demo_study`, or
        :meth:`gapmap.Study.read` with ``providers=``).
    postcode, lat, lon
        Where the person lives: a postcode, or WGS84 degrees.
    hours, days, services
        Hours a week (``6``, ``"6,5"``), days (``"Mon;Wed"``, ``"weekdays"``) and services
        (``"domestic;social"``), as in the people register (SPEC.md).
    self_directing
        ``True`` if the person can direct their own care (or has a representative who can).
        Required, no default: anything but ``True``/``False`` is refused. ``False`` gives no
        provider, only the advice to refer to regulated care.
    regulated_care
        ``True`` if the care must come from a CQC-registered provider. Required, no default.
    max_travel_km
        How far the person will travel, if they said.
    needs_cover
        Whether the person needs a cover provider for the provider's absences.
    top
        How many suggestions at most.
    explain
        Also list nearer providers left out, each with the reason.

    Returns
    -------
    SuggestionList
        ``status`` (``"ok"``, ``"none"``, ``"not_self_directing"``,
        ``"regulated_care_unavailable"``), the suggestions nearest first (each with its
        safety words), or the advice.

    Raises
    ------
    InputError
        Every problem of the request at once, each naming its field (``column``): a missing
        or unknown postcode, a place outside the study's areas, hours, days or services that do
        not read, a safety question not answered ``True`` or ``False``.

    Examples
    --------
    >>> import gapmap
    >>> study = gapmap.datasets.demo_study()
    >>> answer = gapmap.suggest(study, postcode="CT1 2AA", hours=6, days="Mon;Wed",
    ...                         services="social", self_directing=True, regulated_care=False)
    >>> answer.status, len(answer.suggestions) > 0, answer.suggestions[0].distance_km < 10
    ('ok', True, True)
    >>> gapmap.suggest(study, postcode="CT1 2AA", hours=6, days="Mon", services="social",
    ...                self_directing=False, regulated_care=False).status
    'not_self_directing'
    >>> gapmap.suggest(study, postcode="CT1 2AA", hours=6, days="Mon", services="social",
    ...                self_directing="no", regulated_care=None)
    Traceback (most recent call last):
    ...
    gapmap.errors.InputError: 2 problems found:
      - request, column 'self_directing': Select whether the person can direct their own care (found 'no')
      - request, column 'regulated_care': Select whether the care must come from a CQC-registered provider
    """  # noqa: E501
    answers = {"self_directing": _answer(self_directing), "regulated_care": _answer(regulated_care)}
    try:
        person, _ = request_from_fields(
            study,
            postcode=postcode,
            lat=lat,
            lon=lon,
            hours=hours,
            days=days,
            services=services,
            max_travel_km=max_travel_km,
            needs_cover=needs_cover,
            self_directing=answers["self_directing"],
            regulated_care=answers["regulated_care"],
        )
    except InputError as exc:  # show what was given for a safety question that is not yes/no
        given = {"self_directing": self_directing, "regulated_care": regulated_care}
        raise InputError(
            [
                replace(p, value=str(given[p.column]))
                if p.column in given and given[p.column] is not None
                else p
                for p in exc.problems
            ]
        ) from None
    return suggester_of(study).suggest(person, top=top, explain=explain)
