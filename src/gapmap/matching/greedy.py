"""The greedy baseline: matching by hand, most urgent first, nearest provider with room.

This is the rule every "better than by hand" figure is measured against, stated exactly so
that anyone can redo it (the tests redo it apart, from the registers and the eligible pairs):

1. **Who is left out.** People who cannot be matched at all (a reason from
   :func:`~gapmap.matching.candidates.build_candidates`: outside every area, not
   self-directing, no provider in reach, none on their days, no cover possible) keep that
   reason and are skipped.
2. **Order.** The rest are taken one at a time, most urgent first (priority 5 before 4 ...
   before 1); among equally urgent people, in the order of the people register. Nothing is
   ever undone.
3. **A whole match.** For a person with days P, a *way* is a provider v (eligible, working at
   least one day of P, with room for the hours of the days T = P ∩ days(v) it would give), a
   partner w ≠ v when v does not work all of P (eligible, working every missing day, with room
   for the rest of the hours), and a cover c ∉ {v, w} when the person needs cover (eligible,
   willing to cover, working every day of T, with room for ``absence_rate`` × v's hours).
   Room is each provider's free hours (:func:`~gapmap.reach.room_units`) less what earlier
   people in the order were given.
4. **Nearest, role by role.** Among all ways, the person gets the one whose *provider* is
   nearest; among ways with that provider, the nearest *partner*; then the nearest *cover*.
   So for a split the main provider's own distance decides first, the partner's second (not
   the sum of the two); a nearer provider is never passed over for a shorter total. Equal
   distances go to the provider earlier in the providers register.
5. **Without cover.** With ``allow_without_cover``, a person who needs cover but for whom no
   cover has room is matched without one (provider and partner chosen as in 4 ignoring cover);
   people who do not need cover are never given one.
6. If no way has room, the person is unmatched with reason ``no_capacity``.

It is also the optimiser's first starting solution.
"""

from __future__ import annotations

import time

import pandas as pd

from gapmap.matching.candidates import PersonOptions
from gapmap.matching.result import Match, MatchResult
from gapmap.reach import cover_units, load_units, room_units
from gapmap.settings import Settings

__all__ = ["greedy_match", "journey_km"]


def greedy_match(
    people: pd.DataFrame,
    providers: pd.DataFrame,
    options: list[PersonOptions],
    settings: Settings = Settings(),
) -> MatchResult:
    """Match by hand: most urgent first, nearest provider with room (the module docstring).

    Parameters
    ----------
    people, providers
        The registers.
    options
        Each person's candidates (:func:`~gapmap.matching.candidates.build_candidates`),
        nearest first with ties in register order, as built there.
    settings
        ``absence_rate`` and ``allow_without_cover``.

    Returns
    -------
    MatchResult
    """
    from gapmap.matching.candidates import _no_cycle_collection

    with _no_cycle_collection():
        return _greedy(providers, options, settings)


def _way(o: PersonOptions, room, settings: Settings):
    """The person's way by rule 4 (provider, then partner, then cover), or None."""
    d = o.distance
    # every (distance, provider, class) in order: nearest first, then register order
    ranked = sorted(
        ((d[v], v, k) for k, cls in enumerate(o.classes) for v in cls.providers),
    )
    cover_needed = o.needs_cover
    strict = cover_needed and not settings.allow_without_cover
    for _, v, k in ranked:
        cls = o.classes[k]
        if room[v] < load_units(cls.provider_hours):
            continue
        reserve = cover_units(cls.provider_hours, settings.absence_rate)
        if cls.missing:
            rest = load_units(cls.partner_hours)
            partners = [w for w in cls.partners if w != v and room[w] >= rest]
        else:
            partners = [-1]
        for w in partners:
            c = -1
            if cover_needed:
                c = next((c for c in cls.covers if c not in (v, w) and room[c] >= reserve), -1)
                if c < 0 and strict:
                    continue
            return cls, v, w, c
    return None


def _greedy(providers: pd.DataFrame, options: list[PersonOptions], settings: Settings):
    t0 = time.perf_counter()
    room = room_units(providers)
    matches: dict[int, Match] = {}
    reasons: dict[int, str] = {}
    order = sorted(range(len(options)), key=lambda i: (-options[i].priority, i))
    for i in order:
        o = options[i]
        if o.reason:
            reasons[o.person] = o.reason
            continue
        way = _way(o, room, settings)
        if way is None:
            reasons[o.person] = "no_capacity"
            continue
        cls, v, w, c = way
        room[v] -= load_units(cls.provider_hours)
        if w >= 0:
            room[w] -= load_units(cls.partner_hours)
        if c >= 0:
            room[c] -= cover_units(cls.provider_hours, settings.absence_rate)
        matches[o.person] = Match(v, w, c, cls.provider_hours, cls.partner_hours)
    objective = float(sum(options[p].priority * options[p].hours for p in matches))
    return MatchResult(
        matches, reasons, "greedy", "FEASIBLE", objective, None, time.perf_counter() - t0,
        journey_km(matches, options),
    )  # fmt: skip


def journey_km(matches: dict[int, Match], options: list[PersonOptions]) -> float:
    """The km of every named role (provider, partner and cover) over a matching.

    Parameters
    ----------
    matches
        The matching.
    options
        Every person's candidates (their distances).

    Returns
    -------
    float
    """
    return float(
        sum(
            options[p].distance[m.provider]
            + (options[p].distance[m.partner] if m.partner >= 0 else 0.0)
            + (options[p].distance[m.cover] if m.cover >= 0 else 0.0)
            for p, m in matches.items()
        )
    )
