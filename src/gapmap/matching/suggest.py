"""Suggestions for one person: who could take them on, with cover, and why.

For a person (a location, weekly hours, days, services and the optional fields of the people
register) the :class:`Suggester` lists the eligible providers (:func:`gapmap.reach.pair_rules`,
the same rules as everywhere) that work at least one of the person's days and have enough free
hours (capacity − committed) for the hours they would give, **nearest first**. Each comes with

* a **partner** where the provider does not work all the person's days: the nearest eligible
  provider working every remaining day, with free hours for the rest;
* a **cover** provider: the nearest eligible provider willing to cover, working every day the
  provider gives, not the provider or partner, with free hours for the cover reserve
  (``absence_rate`` × the provider's hours).

A suggestion whose person needs cover and has none is left out unless ``allow_without_cover``.
People who are not self-directing, or who need regulated personal care that no CQC-registered
provider in reach offers, get advice pointing to regulated services instead of a list.

Every rule is the study's (:mod:`gapmap.reach`): the providers' index and distance × circuity,
eligibility, the hours given on the days a provider works, free room in hundredths of an hour
and the cover reserve, so a suggestion and ``gapmap match`` always agree on who can reach whom
and on what fits.

This module is the ranking (:class:`Suggester`); the person's request is checked in
:mod:`gapmap.matching.person` and the answer's types are in :mod:`gapmap.matching.suggestion`
(both re-exported here). It stays over 500 lines as one class: the ranking, its partners and
covers and the words that explain it (why a provider fits, why no one does, the nearest change
that would help) all read the same arrays of the study's providers, built once per study.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from gapmap.matching.person import (
    REGULATED_QUESTION,
    SELF_DIRECTING_QUESTION,
    person_request,
    request_from_fields,
)
from gapmap.matching.suggestion import Suggestion, SuggestionList, _notices, _Option
from gapmap.reach import cover_units, fits, free_hours, hours_on_days, pair_rules, room_units
from gapmap.safety import (
    NOTHING_FITS_ADVICE,
    REGULATED_ADVICE,
    SELF_DIRECTING_ADVICE,
    suggestion_safety,
)
from gapmap.study import Study
from gapmap.vocab import (
    days_text,
    days_words,
    hours_words,
    quarter_hours,
    services_words,
)

__all__ = [
    "REGULATED_ADVICE",
    "SELF_DIRECTING_ADVICE",
    "REGULATED_QUESTION",
    "SELF_DIRECTING_QUESTION",
    "Suggester",
    "Suggestion",
    "SuggestionList",
    "person_request",
    "request_from_fields",
]


class Suggester:
    """Suggestions against a study's providers, indexed once for fast repeated requests.

    Parameters
    ----------
    study
        The study: its providers, their index, and the settings ``circuity``,
        ``absence_rate`` and ``allow_without_cover``.

    Examples
    --------
    >>> from gapmap.datasets import demo_study
    >>> suggester = Suggester(demo_study())
    >>> person = person_request(x=615000, y=157000, hours=6, days="Mon;Wed",
    ...                         services="social")
    >>> answer = suggester.suggest(person, top=3)
    >>> answer.status, [s.provider_id[:2] for s in answer.suggestions]
    ('ok', ['MP', 'MP', 'MP'])

    For one request from what staff typed, :func:`gapmap.suggest` does both steps.
    """

    def __init__(self, study: Study):
        self.study = study
        self.providers = study.providers
        settings = study.settings
        self.absence_rate = settings.absence_rate
        self.allow_without_cover = settings.allow_without_cover
        self.single_margin_km = settings.single_provider_margin_km
        self._free = free_hours(self.providers)
        self._room = room_units(self.providers)
        self._days = self.providers["day_mask"].to_numpy(np.int64)
        self._cover = self.providers["cover"].to_numpy(bool)
        self._ids = self.providers["provider_id"].astype(str).to_numpy()
        self._names = self.providers["name"].astype(str).to_numpy()
        self._cqc = self.providers["cqc_registered"].to_numpy(bool)
        self._contact = {
            c: (
                self.providers[c].fillna("").astype(str).to_numpy()
                if c in self.providers
                else np.full(len(self.providers), "", dtype=object)
            )
            for c in ("phone", "email", "website")
        }
        from gapmap.io.provider_checks import FAMILY_COLUMNS, lapsed_reasons

        #: why each provider may not be suggested because of its checks ("" when it may)
        self._lapsed = lapsed_reasons(self.providers, dbs_valid_years=settings.dbs_valid_years)
        self._facts = {c: self.providers.get(c) for c in FAMILY_COLUMNS}

    def suggest(
        self,
        person: pd.DataFrame,
        *,
        top: int = 5,
        explain: bool = False,
        with_changes: bool = True,
    ) -> SuggestionList:
        """Ranked suggestions for one person.

        Parameters
        ----------
        person
            A one-row frame (:func:`person_request` or :func:`request_from_fields`).
        top
            How many suggestions at most.
        explain
            Also list nearer providers left out, each with the reason.
        with_changes
            When nothing fits, also look for the nearest change that would
            (:meth:`nearest_changes`).

        Returns
        -------
        SuggestionList
        """
        row = person.iloc[0]
        if not bool(row["self_directing"]):
            return SuggestionList("not_self_directing", advice=SELF_DIRECTING_ADVICE)
        idx, d = self.study.index.nearby(float(row["x"]), float(row["y"]))
        keep, _ = pair_rules(person, self.providers, np.zeros(len(idx), np.int64), idx, d)
        elig, dist = idx[keep], d[keep]
        if bool(row["regulated_care"]) and len(elig) == 0:
            return SuggestionList("regulated_care_unavailable", advice=REGULATED_ADVICE)
        P = int(row["day_mask"])
        hours = float(row["hours"])
        needs_cover = bool(row["needs_cover"])
        dmap = dict(zip(elig.tolist(), dist.tolist()))
        room = self._room
        margin = self.single_margin_km
        options: list[_Option] = []
        left_out: list[dict] = []
        tally = {"days": 0, "room": 0, "partner": 0, "cover": 0, "checks": 0}
        most_free = 0.0
        kth = np.inf  # the top-th best ranking distance so far
        for v, dv in zip(elig.tolist(), dist.tolist()):
            if len(options) >= top and dv >= kth:
                break  # every provider further on ranks after the options found
            T = P & int(self._days[v])
            why_not = None
            if self._lapsed[v]:
                why_not = f"not suggested: {self._lapsed[v]}"
                tally["checks"] += 1
            elif T == 0:
                why_not = "works none of the days needed"
                tally["days"] += 1
            give = hours_on_days(hours, P, T) if T else 0.0
            if why_not is None and not fits(room[v], give):
                free, need = hours_words(max(self._free[v], 0)), hours_words(give)
                if free == need:  # the words round alike: say the hundredths
                    free, need = f"{max(self._free[v], 0):g} h", f"{give:g} h"
                why_not = f"too few free hours: {free} free a week, {need} needed"
                tally["room"] += 1
                most_free = max(most_free, float(self._free[v]))
            S = P & ~T
            partners: list[int] = []
            if why_not is None and S:
                partners = self._partners(elig, v, S, hours - give)
                if not partners:
                    why_not = f"no partner in reach with room for {days_words(S)}"
                    tally["partner"] += 1
            w = partners[0] if partners else -1
            c = -1
            if why_not is None:
                covers = self._covers(elig, (v, w), T, give)
                c = covers[0] if covers else -1
                if c < 0 and needs_cover and not self.allow_without_cover:
                    why_not = f"no cover provider in reach with room on {days_words(T)}"
                    tally["cover"] += 1
            if why_not is not None:
                if explain or self._lapsed[v]:
                    left_out.append(
                        {
                            "provider_id": self._ids[v],
                            "name": self._names[v],
                            "distance_km": round(dv, 2),
                            "why": why_not,
                        }
                    )
                continue
            # a single provider working every day needed ranks above a split arrangement
            # unless the split is more than ``single_provider_margin_km`` nearer
            options.append(_Option(dv + (margin if S else 0.0), dv, v, T, give, S, w, c))
            if len(options) >= top:
                kth = sorted(o.rank for o in options)[top - 1]
        options.sort(key=lambda o: (o.rank, o.distance))
        options = self._vary(options[:top], elig, dmap, hours, needs_cover)
        out = [self._suggestion(o, dmap, hours, needs_cover) for o in options]
        if explain:
            # providers nearby that are not eligible at all, nearest first
            for v, dv, ok in zip(idx.tolist(), d.tolist(), keep.tolist()):
                if ok or len(left_out) >= 3 * top:
                    continue
                left_out.append(
                    {
                        "provider_id": self._ids[v],
                        "name": self._names[v],
                        "distance_km": round(dv, 2),
                        "why": self._ineligible_reason(person, v, dv),
                    }
                )
            left_out.sort(key=lambda r: r["distance_km"])
        if out:  # "better-looking": nearer than the furthest provider suggested
            furthest = max(s.distance_km for s in out)
            left_out = [r for r in left_out if r["distance_km"] <= furthest]
        if not out:
            advice = "No micro-provider in reach can take this person on now. " + (
                REGULATED_ADVICE if bool(row["regulated_care"]) else NOTHING_FITS_ADVICE
            )
            reasons = self._reasons(person, len(idx), int(keep.sum()), tally, most_free)
            changes = self.nearest_changes(person) if with_changes else []
            if with_changes:
                part = self.partial_hours(person, elig, dist)
                if part:
                    changes.append(part)
            return SuggestionList(
                "none", [], advice, left_out, reasons, changes, _notices(left_out)
            )
        return SuggestionList("ok", out, "", left_out, notices=_notices(left_out))

    def _partners(self, elig: np.ndarray, v: int, S: int, rest: float) -> list[int]:
        """Eligible providers (nearest first) that work every day of ``S`` with room for
        ``rest`` hours: who could partner ``v``."""
        room = self._room
        return [
            w
            for w in elig.tolist()
            if w != v
            and not self._lapsed[w]
            and (int(self._days[w]) & S) == S
            and fits(room[w], rest)
        ]

    def _covers(self, elig: np.ndarray, named: tuple[int, int], T: int, give: float) -> list[int]:
        """Eligible providers (nearest first) willing to cover, working every day of ``T``,
        with room for the cover reserve of ``give`` hours, not one of ``named``."""
        reserve = cover_units(give, self.absence_rate)
        room = self._room
        return [
            c
            for c in elig.tolist()
            if c not in named
            and not self._lapsed[c]
            and self._cover[c]
            and (int(self._days[c]) & T) == T
            and room[c] >= reserve
        ]

    def _vary(
        self,
        options: list[_Option],
        elig: np.ndarray,
        dmap: dict[int, float],
        hours: float,
        needs_cover: bool,
    ) -> list[_Option]:
        """Distinct options a navigator can choose between.

        A partner or cover already named in an earlier option is swapped for the nearest one
        not yet named if that is at most ``single_provider_margin_km`` further than the
        nearest. Then, while one provider is still named in every option (so that every option
        would fall through if it could not help), it is replaced, from the last option up, by
        the nearest other partner or cover that fits, wherever one exists.
        """
        margin = self.single_margin_km
        seen: set[int] = set()
        out: list[_Option] = []
        for o in options:
            w, c = o.w, o.c
            if o.S:
                w = self._fresh(self._partners(elig, o.v, o.S, hours - o.give), seen, dmap, margin)
            c = self._fresh(self._covers(elig, (o.v, w), o.T, o.give), seen, dmap, margin)
            if c < 0 and needs_cover and not self.allow_without_cover:
                w, c = o.w, o.c  # the varied partner leaves no cover: keep the first choice
            o = replace(o, w=w, c=c)
            seen |= {k for k in (o.v, w, c) if k >= 0}
            out.append(o)
        for _ in range(len(out)):
            if len(out) < 2:
                break
            common = set.intersection(*({k for k in (o.v, o.w, o.c) if k >= 0} for o in out))
            if not common:
                break
            k = min(common)
            for i in range(len(out) - 1, -1, -1):
                o = out[i]
                if o.w == k:
                    ws = [x for x in self._partners(elig, o.v, o.S, hours - o.give) if x != k]
                    cs = self._covers(elig, (o.v, ws[0]), o.T, o.give) if ws else []
                    cs = [x for x in cs if x != k]
                    if ws and (cs or not needs_cover or self.allow_without_cover):
                        out[i] = replace(o, w=ws[0], c=cs[0] if cs else -1)
                        break
                elif o.c == k:
                    cs = [x for x in self._covers(elig, (o.v, o.w), o.T, o.give) if x != k]
                    if cs:
                        out[i] = replace(o, c=cs[0])
                        break
            else:
                break  # no other provider can take its place: the register has no other
        return out

    @staticmethod
    def _fresh(choices: list[int], seen: set[int], dmap: dict[int, float], margin: float) -> int:
        """The nearest of ``choices`` not in ``seen`` if it is at most ``margin`` km further
        than the nearest; else the nearest (-1: none)."""
        if not choices:
            return -1
        near = dmap[choices[0]] + margin
        return next((k for k in choices if k not in seen and dmap[k] <= near), choices[0])

    def _suggestion(
        self, o: _Option, dmap: dict[int, float], hours: float, needs_cover: bool
    ) -> Suggestion:
        """One option in words, with contact details and the safety words."""
        v, w, c, T, S, give, dv = o.v, o.w, o.c, o.T, o.S, o.give, o.distance
        shown = quarter_hours(give) if w >= 0 else hours
        why = [
            f"{dv:.1f} km away",
            f"{hours_words(self._free[v])} free a week",
            f"gives {hours_words(shown)} on {days_words(T)}",
            "offers every service needed",
        ]
        if w >= 0:
            why.append(
                f"partner {self._ids[w]} gives {hours_words(hours - shown)} on {days_words(S)}"
            )
        if c >= 0:
            why.append(f"cover {self._ids[c]} ({dmap[c]:.1f} km) works {days_words(T)}")
        elif needs_cover:
            why.append("no cover provider available (allowed by option)")
        return Suggestion(
            self._ids[v],
            self._names[v],
            round(dv, 2),
            float(self._free[v]),
            days_text(T),
            round(give, 2),
            self._ids[w] if w >= 0 else None,
            self._names[w] if w >= 0 else None,
            round(dmap[w], 2) if w >= 0 else None,
            days_text(S) if w >= 0 else None,
            round(hours - give, 2) if w >= 0 else None,
            self._ids[c] if c >= 0 else None,
            self._names[c] if c >= 0 else None,
            round(dmap[c], 2) if c >= 0 else None,
            "; ".join(why),
            phone=self._contact["phone"][v],
            email=self._contact["email"][v],
            website=self._contact["website"][v],
            partner_phone=self._contact["phone"][w] if w >= 0 else "",
            cover_phone=self._contact["phone"][c] if c >= 0 else "",
            cover_email=self._contact["email"][c] if c >= 0 else "",
            cqc_registered=bool(self._cqc[v]),
            partner_cqc_registered=bool(self._cqc[w]) if w >= 0 else None,
            cover_cqc_registered=bool(self._cqc[c]) if c >= 0 else None,
            safety=suggestion_safety(
                [(self._names[k], bool(self._cqc[k])) for k in (v, w, c) if k >= 0]
            ),
            **self._family(v),
        )

    def partial_hours(self, person: pd.DataFrame, elig: np.ndarray, dist: np.ndarray) -> str:
        """When nothing fits all the hours: the provider that could give the most of them on
        its own (to the quarter hour, on the days it works, with a cover where one is needed),
        in words; ``""`` if none could give any.

        Parameters
        ----------
        person
            The one-row request.
        elig, dist
            The eligible providers (study rows), nearest first, and their distances (km).

        Returns
        -------
        str
        """
        row = person.iloc[0]
        P, hours = int(row["day_mask"]), float(row["hours"])
        needs_cover = bool(row["needs_cover"]) and not self.allow_without_cover
        best: tuple[float, float, int, int] | None = None  # (hours, km, provider, days)
        for v, dv in zip(elig.tolist(), dist.tolist()):
            T = P & int(self._days[v])
            if not T or self._lapsed[v]:
                continue
            most = min(hours_on_days(hours, P, T), max(float(self._free[v]), 0.0))
            give = int(most * 4 + 1e-9) / 4  # whole quarter hours that fit
            while give > 0 and not fits(self._room[v], give):
                give -= 0.25
            if give <= 0 or give >= hours or (best is not None and give <= best[0]):
                continue
            if needs_cover and not self._covers(elig, (v, -1), T, give):
                continue
            best = (give, dv, v, T)
        if best is None:
            return ""
        give, dv, v, T = best
        return (
            f"Part of the care: {self._names[v]} ({dv:.1f} km) could give {hours_words(give)} of "
            f"the {hours_words(hours)} a week, on {days_words(T)}; the rest would need another "
            "provider or commissioned home care."
        )

    def _reasons(
        self, person: pd.DataFrame, nearby: int, eligible: int, tally: dict, most_free: float
    ) -> list[str]:
        """Why nothing fits, in words, from what each provider in reach lacked."""
        row = person.iloc[0]
        need = services_words(int(row["service_mask"]))
        P = int(row["day_mask"])
        out = []
        if eligible == 0:
            if bool(row["regulated_care"]):
                out.append(f"No CQC-registered provider in reach offers {need}.")
            else:
                out.append(f"No provider in reach offers {need}.")
            if nearby == 0:
                out.append("No provider at all is within reach of this postcode.")
            return out
        out.append(
            f"{eligible} provider{'s' if eligible != 1 else ''} in reach "
            f"offer{'s' if eligible == 1 else ''} {need}, but:"
        )

        def n(k: int, one: str, many: str) -> str:
            return f"{k} {one if k == 1 else many}"

        if tally["days"]:
            out.append(
                n(tally["days"], "works", "work") + f" none of the days needed: {days_words(P)}."
            )
        if tally["room"]:
            out.append(
                n(tally["room"], "works", "work")
                + " some of those days but "
                + ("has" if tally["room"] == 1 else "have")
                + f" too few free hours (the most free is {hours_words(most_free)} a week)."
            )
        if tally["partner"]:
            out.append(
                n(tally["partner"], "has", "have")
                + " no partner in reach with room for the other days."
            )
        if tally["cover"]:
            out.append(n(tally["cover"], "has", "have") + " no cover provider in reach with room.")
        if tally["checks"]:
            out.append(
                n(tally["checks"], "is", "are")
                + " not suggested: insurance lapsed or DBS check out of date (README, 'What "
                "families ask')."
            )
        return out

    def _family(self, v: int) -> dict:
        """What families ask about provider ``v``, for a :class:`Suggestion`."""
        out: dict = {}
        for c, col in self._facts.items():
            value = None if col is None else col.iloc[v]
            if c == "price_per_hour":
                out[c] = None if value is None or pd.isna(value) else float(value)
            else:
                out[c] = (
                    ""
                    if value is None or (isinstance(value, float) and pd.isna(value))
                    else str(value)
                )
        return out

    def nearest_changes(self, person: pd.DataFrame) -> list[str]:
        """The smallest changes to the request that would give an answer, in words.

        Tries, in turn: no named cover provider; fewer hours (the most that fit, to the
        quarter hour); one day moved to another day. Each change is tried on its own.

        Parameters
        ----------
        person
            The one-row request that found nothing.

        Returns
        -------
        list of str
            At most three changes, each with the provider it would find.
        """
        row = person.iloc[0]
        hours = float(row["hours"])
        P = int(row["day_mask"])
        found: list[str] = []

        def first(p: pd.DataFrame) -> Suggestion | None:
            r = self.suggest(p, top=1, with_changes=False)
            return r.suggestions[0] if r.suggestions else None

        if bool(row["needs_cover"]) and not self.allow_without_cover:
            s = first(person.assign(needs_cover=False))
            if s is not None:
                found.append(
                    f"Without a named cover provider: {s.name} ({s.distance_km:.1f} km) could help."
                )
        quarters = int(hours * 4)
        lo, hi, best = 1, quarters - 1 if quarters * 0.25 >= hours else quarters, None
        while lo <= hi:  # the most hours that fit (fitting is monotone in the hours)
            mid = (lo + hi) // 2
            s = first(person.assign(hours=mid / 4))
            if s is not None:
                best, lo = (mid / 4, s), mid + 1
            else:
                hi = mid - 1
        if best is not None:
            found.append(
                f"With {hours_words(best[0])} a week instead of {hours_words(hours)}: "
                f"{best[1].name} ({best[1].distance_km:.1f} km) could help."
            )
        days = [i for i in range(7) if P >> i & 1]
        moved = None
        for d in days:
            for e in range(7):
                if P >> e & 1:
                    continue
                s = first(person.assign(day_mask=(P & ~(1 << d)) | (1 << e)))
                if s is not None:
                    moved = (d, e, s)
                    break
            if moved:
                break
        from gapmap.vocab import DAYS

        if moved is not None:
            d, e, s = moved
            found.append(
                f"With {DAYS[e]} instead of {DAYS[d]}: {s.name} ({s.distance_km:.1f} km) could "
                "help."
            )
        elif len(days) > 1:  # every hour on one other day
            for e in range(7):
                s = first(person.assign(day_mask=1 << e))
                if s is not None:
                    found.append(
                        f"With all the hours on {DAYS[e]} instead of {days_words(P)}: {s.name} "
                        f"({s.distance_km:.1f} km) could help."
                    )
                    break
        return found

    def _ineligible_reason(self, person: pd.DataFrame, v: int, d: float) -> str:
        row = person.iloc[0]
        need, offer = int(row["service_mask"]), int(self.providers.at[v, "service_mask"])
        if need & offer != need:
            from gapmap.vocab import services_text

            return f"does not offer {services_text(need & ~offer)}"
        if bool(row["regulated_care"]) and not bool(self.providers.at[v, "cqc_registered"]):
            return "not CQC-registered (regulated personal care needed)"
        limit = float(self.providers.at[v, "max_travel_km"])
        if d > limit:
            return f"{d:.1f} km is beyond its {limit:g} km travel limit"
        own = row["max_travel_km"]
        if not np.isnan(own) and d > own:
            return f"{d:.1f} km is beyond the person's own {own:g} km limit"
        return "not eligible"
