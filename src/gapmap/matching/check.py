"""An independent checker of batch matchings: every rule of SPEC.md, on every result.

It is written from the rules, not from the matchers: it measures its own distances from the
registers' coordinates, tests services, travel limits, CQC and days itself, and adds up each
provider's load itself. ``gapmap match`` runs it before writing anything, and the tests run it
on every result.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .result import MatchResult

__all__ = ["check_matching"]

_TOL = 1e-6


def _days(mask: int) -> set[int]:
    return {i for i in range(7) if mask >> i & 1}


def check_matching(
    people: pd.DataFrame,
    providers: pd.DataFrame,
    result: MatchResult,
    *,
    absence_rate: float = 0.15,
    allow_without_cover: bool = False,
    circuity: float = 1.0,
) -> list[str]:
    """Every broken rule, in words (empty when the matching is valid).

    Written apart from the matchers on purpose (its own distances, its own reading of
    SPEC.md), so that it checks them rather than repeats them. Checks: eligibility of every named
    role (services, both travel limits, CQC for regulated care, self-directing); the provider
    works at least one of the person's days; a partner exactly when the provider does not work
    all of them, working every missing day; the hours split; a cover provider (willing to cover)
    working every day the provider gives, distinct from provider and partner, whenever the
    person needs cover; each provider's load (provider and partner hours + absence_rate × hours
    it stands ready to cover) within capacity − committed; every person either matched or given
    a valid reason (``outside_areas`` exactly for people placed in no area); the objective.

    Parameters
    ----------
    people, providers
        The registers matched.
    result
        The matching.
    absence_rate, allow_without_cover, circuity
        The rules it was made under.

    Returns
    -------
    list of str
    """
    problems: list[str] = []
    P = people.reset_index(drop=True)
    V = providers.reset_index(drop=True)
    load = np.zeros(len(V))

    def eligible(p: int, v: int) -> str | None:
        d = math.hypot(P.at[p, "x"] - V.at[v, "x"], P.at[p, "y"] - V.at[v, "y"]) * circuity / 1000
        if d > V.at[v, "max_travel_km"] + _TOL:
            return f"{d:.2f} km is beyond the provider's limit"
        own = P.at[p, "max_travel_km"]
        if not (isinstance(own, float) and math.isnan(own)) and d > own + _TOL:
            return f"{d:.2f} km is beyond the person's own limit"
        need = set(str(P.at[p, "services"]).split(";"))
        offer = set(str(V.at[v, "services"]).split(";"))
        if not need <= offer:
            return f"does not offer {sorted(need - offer)}"
        if bool(P.at[p, "regulated_care"]) and not bool(V.at[v, "cqc_registered"]):
            return "needs regulated care but the provider is not CQC-registered"
        return None

    for p, m in result.matches.items():
        pid = P.at[p, "person_id"]
        if not bool(P.at[p, "self_directing"]):
            problems.append(f"{pid}: matched but not self-directing")
        pdays = _days(int(P.at[p, "day_mask"]))
        hours = float(P.at[p, "hours"])
        for role, v in (("provider", m.provider), ("partner", m.partner), ("cover", m.cover)):
            if v < 0:
                continue
            why = eligible(p, v)
            if why:
                problems.append(f"{pid}: {role} {V.at[v, 'provider_id']} not eligible: {why}")
        vdays = _days(int(V.at[m.provider, "day_mask"])) & pdays
        if not vdays:
            problems.append(f"{pid}: provider works none of the person's days")
            continue
        missing = pdays - vdays
        share = hours * len(vdays) / len(pdays)
        if abs(m.provider_hours - share) > 1e-6 or abs(m.partner_hours - (hours - share)) > 1e-6:
            problems.append(
                f"{pid}: hours split {m.provider_hours:g}/{m.partner_hours:g}, "
                f"expected {share:g}/{hours - share:g}"
            )
        if missing:
            if m.partner < 0:
                problems.append(f"{pid}: no partner for days the provider does not work")
            elif not missing <= _days(int(V.at[m.partner, "day_mask"])):
                problems.append(f"{pid}: partner does not work every missing day")
            elif m.partner == m.provider:
                problems.append(f"{pid}: partner is the provider")
        elif m.partner >= 0:
            problems.append(f"{pid}: a partner is named though the provider works every day")
        if m.cover >= 0:
            if m.cover in (m.provider, m.partner):
                problems.append(f"{pid}: cover is also provider or partner")
            if not bool(V.at[m.cover, "cover"]):
                problems.append(f"{pid}: cover provider is not willing to cover")
            if not vdays <= _days(int(V.at[m.cover, "day_mask"])):
                problems.append(f"{pid}: cover does not work every day the provider gives")
            load[m.cover] += absence_rate * share
        elif bool(P.at[p, "needs_cover"]) and not allow_without_cover:
            problems.append(f"{pid}: needs cover but has none")
        load[m.provider] += share
        if m.partner >= 0:
            load[m.partner] += hours - share
    room = V["capacity_hours"].to_numpy(float) - V["committed_hours"].to_numpy(float)
    for v in np.flatnonzero(load > room + 1e-6).tolist():
        problems.append(
            f"provider {V.at[v, 'provider_id']}: load {load[v]:.2f} h over its free {room[v]:.2f} h"
        )
    valid = {
        "outside_areas",
        "not_self_directing",
        "no_provider_in_reach",
        "no_provider_on_days",
        "no_cover",
        "no_capacity",
    }
    placed = "area_code" in P
    for p in range(len(P)):
        outside = placed and str(P.at[p, "area_code"]) == ""
        if p in result.matches:
            if p in result.reasons:
                problems.append(f"{P.at[p, 'person_id']}: both matched and given a reason")
            if outside:
                problems.append(f"{P.at[p, 'person_id']}: matched but outside every area")
            continue
        reason = result.reasons.get(p)
        if reason not in valid:
            problems.append(f"{P.at[p, 'person_id']}: unmatched without a valid reason ({reason})")
        elif (reason == "outside_areas") != outside:
            problems.append(
                f"{P.at[p, 'person_id']}: outside every area is the first reason for exactly "
                "the people left outside"
            )
        elif outside:
            continue
        elif reason == "not_self_directing" and bool(P.at[p, "self_directing"]):
            problems.append(f"{P.at[p, 'person_id']}: said not self-directing, but is")
        elif reason != "not_self_directing" and not bool(P.at[p, "self_directing"]):
            problems.append(f"{P.at[p, 'person_id']}: not self-directing should come first")
        elif reason == "no_provider_in_reach" and any(
            eligible(p, v) is None for v in range(len(V))
        ):
            problems.append(f"{P.at[p, 'person_id']}: said no provider in reach, but one is")
    objective = sum(int(P.at[p, "priority"]) * float(P.at[p, "hours"]) for p in result.matches)
    if abs(objective - result.objective) > 1e-6 * max(1.0, objective):
        problems.append(f"objective reported {result.objective:g}, matches give {objective:g}")
    return problems
