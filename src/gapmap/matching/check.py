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

from gapmap.matching.result import MatchResult

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
    # plain columns: the checks below read them for every role of every match
    px, py = P["x"].to_numpy(float), P["y"].to_numpy(float)
    vx, vy = V["x"].to_numpy(float), V["y"].to_numpy(float)
    v_limit = V["max_travel_km"].to_numpy(float)
    p_limit = P["max_travel_km"].to_numpy(float)
    p_services = [set(str(s).split(";")) for s in P["services"]]
    v_services = [set(str(s).split(";")) for s in V["services"]]
    p_regulated = P["regulated_care"].to_numpy(bool)
    v_cqc = V["cqc_registered"].to_numpy(bool)
    v_ids = V["provider_id"].astype(str).tolist()
    p_ids = P["person_id"].astype(str).tolist()
    p_days_mask = P["day_mask"].to_numpy(np.int64)
    v_days_mask = V["day_mask"].to_numpy(np.int64)
    v_cover = V["cover"].to_numpy(bool)
    p_hours = P["hours"].to_numpy(float)
    p_needs_cover = P["needs_cover"].to_numpy(bool)
    p_self = P["self_directing"].to_numpy(bool)

    def eligible(p: int, v: int) -> str | None:
        d = math.hypot(px[p] - vx[v], py[p] - vy[v]) * circuity / 1000
        if d > v_limit[v] + _TOL:
            return f"{d:.2f} km is beyond the provider's limit"
        own = p_limit[p]
        if not math.isnan(own) and d > own + _TOL:
            return f"{d:.2f} km is beyond the person's own limit"
        if not p_services[p] <= v_services[v]:
            return f"does not offer {sorted(p_services[p] - v_services[v])}"
        if p_regulated[p] and not v_cqc[v]:
            return "needs regulated care but the provider is not CQC-registered"
        return None

    for p, m in result.matches.items():
        pid = p_ids[p]
        if not p_self[p]:
            problems.append(f"{pid}: matched but not self-directing")
        pdays = _days(int(p_days_mask[p]))
        hours = float(p_hours[p])
        for role, v in (("provider", m.provider), ("partner", m.partner), ("cover", m.cover)):
            if v < 0:
                continue
            why = eligible(p, v)
            if why:
                problems.append(f"{pid}: {role} {v_ids[v]} not eligible: {why}")
        vdays = _days(int(v_days_mask[m.provider])) & pdays
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
            elif not missing <= _days(int(v_days_mask[m.partner])):
                problems.append(f"{pid}: partner does not work every missing day")
            elif m.partner == m.provider:
                problems.append(f"{pid}: partner is the provider")
        elif m.partner >= 0:
            problems.append(f"{pid}: a partner is named though the provider works every day")
        if m.cover >= 0:
            if m.cover in (m.provider, m.partner):
                problems.append(f"{pid}: cover is also provider or partner")
            if not v_cover[m.cover]:
                problems.append(f"{pid}: cover provider is not willing to cover")
            if not vdays <= _days(int(v_days_mask[m.cover])):
                problems.append(f"{pid}: cover does not work every day the provider gives")
            load[m.cover] += absence_rate * share
        elif p_needs_cover[p] and not allow_without_cover:
            problems.append(f"{pid}: needs cover but has none")
        load[m.provider] += share
        if m.partner >= 0:
            load[m.partner] += hours - share
    room = V["capacity_hours"].to_numpy(float) - V["committed_hours"].to_numpy(float)
    for v in np.flatnonzero(load > room + 1e-6).tolist():
        problems.append(f"provider {v_ids[v]}: load {load[v]:.2f} h over its free {room[v]:.2f} h")
    valid = {
        "outside_areas",
        "not_self_directing",
        "no_provider_in_reach",
        "no_provider_on_days",
        "no_cover",
        "no_capacity",
    }
    placed = "area_code" in P
    p_area = P["area_code"].astype(str).tolist() if placed else None
    for p in range(len(P)):
        outside = p_area is not None and p_area[p] == ""
        if p in result.matches:
            if p in result.reasons:
                problems.append(f"{p_ids[p]}: both matched and given a reason")
            if outside:
                problems.append(f"{p_ids[p]}: matched but outside every area")
            continue
        reason = result.reasons.get(p)
        if reason not in valid:
            problems.append(f"{p_ids[p]}: unmatched without a valid reason ({reason})")
        elif (reason == "outside_areas") != outside:
            problems.append(
                f"{p_ids[p]}: outside every area is the first reason for exactly "
                "the people left outside"
            )
        elif outside:
            continue
        elif reason == "not_self_directing" and bool(p_self[p]):
            problems.append(f"{p_ids[p]}: said not self-directing, but is")
        elif reason != "not_self_directing" and not bool(p_self[p]):
            problems.append(f"{p_ids[p]}: not self-directing should come first")
        elif reason == "no_provider_in_reach" and any(
            eligible(p, int(v)) is None
            for v in np.flatnonzero(
                np.hypot(vx - px[p], vy - py[p]) * circuity / 1000 <= v_limit + _TOL
            )
        ):
            problems.append(f"{p_ids[p]}: said no provider in reach, but one is")
    p_priority = P["priority"].to_numpy(np.int64)
    objective = sum(int(p_priority[p]) * float(p_hours[p]) for p in result.matches)
    if abs(objective - result.objective) > 1e-6 * max(1.0, objective):
        problems.append(f"objective reported {result.objective:g}, matches give {objective:g}")
    return problems
