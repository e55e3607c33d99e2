"""The greedy baseline: what staff do by hand, most urgent first, nearest provider with room.

People are taken in order of priority (most urgent first), then by fewer hours; each gets the
nearest provider with room for the hours it would give, the nearest partner with room for the
rest if one is needed, and the nearest cover provider with room for the cover reserve
(``absence_rate`` × the provider's hours). Nothing is ever undone. It is kept as a reference
for the optimiser and as its starting solution.
"""

from __future__ import annotations

import time

import pandas as pd

from ..reach import cover_reserve, load_units, room_units
from ..settings import Settings
from .candidates import PersonOptions
from .result import Match, MatchResult

__all__ = ["greedy_match"]


def greedy_match(
    people: pd.DataFrame,
    providers: pd.DataFrame,
    options: list[PersonOptions],
    settings: Settings = Settings(),
) -> MatchResult:
    """Match greedily, most urgent first, nearest provider with room (the module docstring).

    Parameters
    ----------
    people, providers
        The registers.
    options
        Each person's candidates (:func:`~gapmap.matching.candidates.build_candidates`).
    settings
        ``absence_rate`` and ``allow_without_cover``.

    Returns
    -------
    MatchResult
    """
    from .candidates import _no_cycle_collection

    with _no_cycle_collection():
        return _greedy(providers, options, settings)


def _greedy(providers: pd.DataFrame, options: list[PersonOptions], settings: Settings):
    t0 = time.perf_counter()
    room = room_units(providers)
    matches: dict[int, Match] = {}
    reasons: dict[int, str] = {}
    order = sorted(range(len(options)), key=lambda i: (-options[i].priority, options[i].hours, i))
    for i in order:
        o = options[i]
        if o.reason:
            reasons[o.person] = o.reason
            continue
        best = None
        for cls in o.classes:
            own, rest = load_units(cls.provider_hours), load_units(cls.partner_hours)
            reserve = load_units(cover_reserve(cls.provider_hours, settings.absence_rate))
            for v in cls.providers:
                if room[v] < own:
                    continue
                d = o.distance[v]
                if best is not None and d >= best[0]:
                    continue
                w = -1
                if cls.missing:
                    found_w = next((w for w in cls.partners if room[w] >= rest), None)
                    if found_w is None:
                        continue
                    w = found_w
                c = next((c for c in cls.covers if c not in (v, w) and room[c] >= reserve), -1)
                if c < 0 and o.needs_cover and not settings.allow_without_cover:
                    continue
                best = (d, cls, v, w, c)
        if best is None:
            reasons[o.person] = "no_capacity"
            continue
        _, cls, v, w, c = best
        room[v] -= load_units(cls.provider_hours)
        if w >= 0:
            room[w] -= load_units(cls.partner_hours)
        if c >= 0:
            room[c] -= load_units(cover_reserve(cls.provider_hours, settings.absence_rate))
        matches[o.person] = Match(v, w, c, cls.provider_hours, cls.partner_hours)
    objective = float(sum(options[p].priority * options[p].hours for p in matches))
    dist = float(
        sum(
            options[p].distance[m.provider]
            + (options[p].distance[m.partner] if m.partner >= 0 else 0.0)
            + (options[p].distance[m.cover] if m.cover >= 0 else 0.0)
            for p, m in matches.items()
        )
    )
    return MatchResult(
        matches, reasons, "greedy", "FEASIBLE", objective, None, time.perf_counter() - t0, dist
    )
