"""What staff must be told when a provider is shown to them: the safety words, in one place.

Micro-providers are mostly not registered with the Care Quality Commission (CQC). Somerset's
review warns that signposting to them is safe only when the person (or their representative)
knows it, checks the provider themselves, and knows the council does not vouch for them. Every
place that shows a provider to staff (the page's results and map, the JSON API, ``gapmap
suggest`` and the summary for the person) takes its words from here, so they cannot drift apart.
"""

from __future__ import annotations

from datetime import date

__all__ = [
    "CQC_REGISTERED",
    "NOT_CQC_REGISTERED",
    "REGULATED_ADVICE",
    "SELF_DIRECTING_ADVICE",
    "NOTHING_FITS_ADVICE",
    "UNREGISTERED_CHECKS",
    "made_on",
    "registration_words",
    "suggestion_safety",
]

#: A provider registered with the CQC, in a few words (badges, map labels, lists).
CQC_REGISTERED = "CQC-registered"
#: A provider that is not, in a few words.
NOT_CQC_REGISTERED = "not CQC-registered"
#: What the person must know, and do, before an unregistered provider gives care.
UNREGISTERED_CHECKS = (
    "not registered with or regulated by the Care Quality Commission (CQC). The person or "
    "their representative should interview them and check their DBS (criminal record) check, "
    "insurance and references before care starts. The council does not regulate or vouch for "
    "them."
)
#: The person needs regulated care that no micro-provider may give.
REGULATED_ADVICE = (
    "This person needs regulated personal care. Micro-providers that are not registered with "
    "the Care Quality Commission (CQC) may not give it. Refer to a CQC-registered home care "
    "provider through Kent County Council adult social care."
)
#: The person cannot direct their own care (and has nobody who can): no micro-provider.
SELF_DIRECTING_ADVICE = (
    "Micro-providers suit only people who can direct their own care, or who have a "
    "representative who can. Refer to commissioned (regulated) home care through Kent County "
    "Council adult social care."
)
#: Nothing in reach fits (and regulated care was not asked for).
NOTHING_FITS_ADVICE = (
    "Refer to a CQC-registered home care provider through Kent County Council adult social "
    "care, or ask again as providers' hours free up."
)


def registration_words(registered: bool) -> str:
    """``"CQC-registered"`` or ``"not CQC-registered"``.

    Parameters
    ----------
    registered
        The register's ``cqc_registered``.

    Returns
    -------
    str

    Examples
    --------
    >>> registration_words(False)
    'not CQC-registered'
    """
    return CQC_REGISTERED if registered else NOT_CQC_REGISTERED


def suggestion_safety(named: list[tuple[str, bool]]) -> str:
    """The safety words for the providers one suggestion names (provider, partner, cover).

    Parameters
    ----------
    named
        ``(name, cqc_registered)`` of each provider named, the lead provider first.

    Returns
    -------
    str
        One or two sentences: who is CQC-registered, and for those who are not, that they are
        not regulated, what the person must check, and that the council does not vouch for them.

    Examples
    --------
    >>> suggestion_safety([("Ann's Care", True)])
    "Ann's Care is registered with the Care Quality Commission (CQC)."
    >>> suggestion_safety([("Bob", False)])[:40]
    'Bob is not registered with or regulated '
    """
    yes = [n for n, r in named if r]
    no = [n for n, r in named if not r]
    out = []
    if yes:
        out.append(
            f"{_and(yes)} {'is' if len(yes) == 1 else 'are'} registered with the Care Quality "
            "Commission (CQC)."
        )
    if no:
        checks = UNREGISTERED_CHECKS
        if len(no) > 1:
            checks = "are " + checks
        out.append(f"{_and(no)} {'is ' if len(no) == 1 else ''}{checks}".replace("  ", " "))
    return " ".join(out)


def made_on(day: date | None = None) -> str:
    """When a summary was made, in words (``"Made on 7 December 2026."``).

    Parameters
    ----------
    day
        The date (default today).

    Returns
    -------
    str
    """
    day = day or date.today()
    return f"Made on {day.day} {day:%B %Y}."


def _and(names: list[str]) -> str:
    names = list(dict.fromkeys(names))
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
