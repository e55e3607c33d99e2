"""The page's questions (GOV.UK style) and their errors: the form as typed and as a request,
the words of each field's problem, the page rendered, and the plain-text summary to give the
person.
"""

from __future__ import annotations

from datetime import date

from gapmap.errors import Problem
from gapmap.io.cells import read_number
from gapmap.io.registers import PERSON_DEFAULTS
from gapmap.matching.person import REGULATED_QUESTION, SELF_DIRECTING_QUESTION
from gapmap.safety import CQC_REGISTERED, made_on, registration_words
from gapmap.vocab import (
    DAYS,
    SERVICE_WORDS,
    SERVICES,
    days_words,
    hours_words,
    quarter_hours,
    services_words,
)

__all__ = ["FIELD_WORDS", "NOT_A_JSON_OBJECT", "SERVICE_LABELS", "summary_text"]

SERVICE_LABELS = {k: v[0].upper() + v[1:] for k, v in SERVICE_WORDS.items()}
#: What a field's problem says when the request's own shape is wrong (GOV.UK wording).
FIELD_WORDS = {
    "hours": "Enter the hours a week as a number, like 6 or 6.5",
    "max_travel_km": "Enter the distance in km as a number, like 10",
    "lat": "Enter the latitude as a number, like 51.28",
    "lon": "Enter the longitude as a number, like 1.08",
    "postcode": "Enter a full UK postcode, like CT1 2AA",
    "days": "Select the days support is needed",
    "services": "Select the kind of support needed",
    "regulated_care": REGULATED_QUESTION,
    "needs_cover": "Select whether the person needs cover",
    "self_directing": SELF_DIRECTING_QUESTION,
    "top": "Enter how many suggestions to show, from 1 to 50",
    "from": "Enter the first day away as a date, like 2026-12-10",
    "to": "Enter the last day away as a date, like 2026-12-24",
    "person_id": "Enter the person's pseudonymous id, like P0042",
    "provider_id": "Enter the provider's id from the register, like MP0042",
}

NOT_A_JSON_OBJECT = "Send the request as a JSON object of the documented fields"


def _validation_problems(errors) -> list[Problem]:
    """pydantic's errors as gapmap problems in plain words, one per field (``loc`` without the
    leading "body")."""
    out: dict[str | None, Problem] = {}
    for e in errors:
        loc = [str(x) for x in e.get("loc", ()) if x != "body"]
        if e.get("type") == "json_invalid":  # its loc is a position in the text, not a field
            loc = []
        name = loc[0] if loc else None
        message = FIELD_WORDS.get(name or "", "Check this value: " + str(e.get("msg", "")))
        if name == "body" or not loc:
            message = NOT_A_JSON_OBJECT
        out.setdefault(name, Problem("request", message, column=name))
    return list(out.values())


def _render(page, **context) -> str:
    context.setdefault("mode", "search")
    context.setdefault("problems", [])
    context.setdefault("result", None)
    return page.render(
        days=DAYS, services=[(s, SERVICE_LABELS.get(s, s)) for s in SERVICES], **context
    )


def _blank_form() -> dict:
    return {
        "postcode": "",
        "hours": "",
        "days": [],
        "services": [],
        "max_travel_km": "",
        "needs_cover": PERSON_DEFAULTS.needs_cover,
        "regulated_care": None,  # required answers: no default
        "self_directing": None,
    }


def summary_text(body: dict, request: dict, *, made: date | None = None) -> str:
    """A short plain-text summary of the suggestions, to copy or print for the person.

    Parameters
    ----------
    body
        The API's answer (:class:`SuggestResponse` as a dict).
    request
        What was asked (hours, days, services, regulated_care).
    made
        The date it was made (default today).

    Returns
    -------
    str
        Lines of text: what was asked and the date, then each provider with contact, days,
        hours and the safety words (:mod:`gapmap.safety`: CQC-registered or not, and for those
        not, what to check and that the council does not vouch for them); when nothing is
        suggested, the advice (refer to a CQC-registered provider), why, and what would fit.
    """
    place = body["place"]["postcode_sector"] or body["place"]["area_name"]
    lines = [
        f"Support asked for near {place}: {hours_words(float(read_number(request['hours'])))} "
        f"a week on {days_words(request['days'])} ({services_words(request['services'])}).",
        made_on(made),
        "",
    ]
    if not body["suggestions"]:
        if body.get("status") != "none":
            lines.append("No micro-provider is suggested.")
        if body.get("advice"):
            lines.append(body["advice"])
        if body.get("reasons"):
            lines += ["", "Why nothing fits:"] + [f"- {r}" for r in body["reasons"]]
        if body.get("changes"):
            lines += ["", "What would give an answer:"] + [f"- {c}" for c in body["changes"]]
    for i, s in enumerate(body["suggestions"], 1):
        given = quarter_hours(s["hours_given"]) if s["partner_id"] else s["hours_given"]
        lines.append(
            f"{i}. {s['name']} ({registration_words(s['cqc_registered'])}): "
            f"{hours_words(given)} a week on {days_words(s['days_given'])}, "
            f"{s['distance_km']:.1f} km away"
        )
        contact = ", ".join(v for v in (s["phone"], s["email"], s["website"]) if v)
        if contact:
            lines.append(f"   Contact: {contact}")
        if s["partner_id"]:
            rest = s["hours_given"] + s["partner_hours"] - given
            lines.append(
                f"   With {s['partner_name']} ({registration_words(s['partner_cqc_registered'])})"
                f" for {hours_words(rest)} on {days_words(s['partner_days'])}"
                + (f" ({s['partner_phone']})" if s["partner_phone"] else "")
            )
        if s["cover_id"]:
            lines.append(
                f"   Cover when away: {s['cover_name']} "
                f"({registration_words(s['cover_cqc_registered'])})"
                + (f", {s['cover_phone']}" if s["cover_phone"] else "")
            )
        lines.append(f"   {s['safety']}")
    if body["suggestions"] and request.get("regulated_care"):
        lines += ["", "The care must be regulated: every provider above is " + CQC_REGISTERED + "."]
    return "\n".join(lines)


def _form_values(form) -> dict:
    """The page's form as typed (to show again) and as an API request."""
    days = [d for d in form.getlist("days") if d in DAYS]
    services = [s for s in form.getlist("services") if s in SERVICES]
    shown = {
        "postcode": str(form.get("postcode", ""))[:16],
        "hours": str(form.get("hours", ""))[:10],
        "days": days,
        "services": services,
        "max_travel_km": str(form.get("max_travel_km", ""))[:10],
        "needs_cover": form.get("needs_cover") == "yes",
        # required answers: a question left unanswered stays None and is refused, never "yes"
        "regulated_care": {"yes": True, "no": False}.get(str(form.get("regulated_care", ""))),
        "self_directing": {"yes": True, "no": False}.get(str(form.get("self_directing", ""))),
    }
    request = {
        "postcode": shown["postcode"],
        "hours": shown["hours"] or None,
        "days": ";".join(days),
        "services": ";".join(services),
        "max_travel_km": shown["max_travel_km"] or None,
        "needs_cover": shown["needs_cover"],
        "regulated_care": shown["regulated_care"],
        "self_directing": shown["self_directing"],
    }
    return {"form": shown, "request": request}
