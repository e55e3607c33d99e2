"""A second, independently written formulation of batch matching, for small instances.

Every whole option (provider v, partner w or none, cover c or none) of every person is
enumerated straight from the rules of SPEC.md, and one binary variable per option is solved
with SCIP through OR-Tools' linear solver wrapper. Loads are counted in hundredths of an hour,
rounded up, and free hours rounded down, as the project's README documents. An option whose
load on some provider is more than that provider's whole room is left out: it is in no
feasible matching (so the integer optimum is unchanged), and without it the linear relaxation
cannot serve a person by spreading them over providers none of whom could take them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from ortools.linear_solver import pywraplp


def _days(mask: int) -> frozenset[int]:
    return frozenset(i for i in range(7) if mask >> i & 1)


def _units(h: float) -> int:
    return math.ceil(h * 100 - 1e-9)


def reference_optimum(
    people: pd.DataFrame,
    providers: pd.DataFrame,
    absence_rate: float = 0.15,
    allow_without_cover: bool = False,
    relaxed: bool = False,
) -> float:
    """The optimal sum of priority x hours, by SCIP over enumerated options; with ``relaxed``
    the optimum of the linear relaxation of the same formulation, by GLOP."""
    n_v = len(providers)

    def eligible(p, v):
        d = math.hypot(people.x[p] - providers.x[v], people.y[p] - providers.y[v]) / 1000
        if d > providers.max_travel_km[v] + 1e-9:
            return False
        own = people.max_travel_km[p]
        if not np.isnan(own) and d > own + 1e-9:
            return False
        if people.service_mask[p] & ~providers.service_mask[v]:
            return False
        return not (people.regulated_care[p] and not providers.cqc_registered[v])

    solver = pywraplp.Solver.CreateSolver("GLOP" if relaxed else "SCIP")
    room = {
        v: math.floor(
            max(0.0, providers.capacity_hours[v] - providers.committed_hours[v]) * 100 + 1e-9
        )
        for v in range(n_v)
    }
    load = {v: [] for v in range(n_v)}
    objective = []
    for p in range(len(people)):
        if not people.self_directing[p]:
            continue
        P = _days(int(people.day_mask[p]))
        hours = float(people.hours[p])
        E = [v for v in range(n_v) if eligible(p, v)]
        options = []
        for v in E:
            T = P & _days(int(providers.day_mask[v]))
            if not T:
                continue
            S = P - T
            give = hours * len(T) / len(P)
            partners = (
                [w for w in E if w != v and S <= _days(int(providers.day_mask[w]))] if S else [None]
            )
            for w in partners:
                covers = [
                    c
                    for c in E
                    if c not in (v, w)
                    and providers.cover[c]
                    and T <= _days(int(providers.day_mask[c]))
                ]
                if not people.needs_cover[p] or allow_without_cover:
                    covers = covers + [None]
                for c in covers:
                    options.append((v, w, c, give, hours - give))
        chosen = []
        for v, w, c, give, rest in options:
            if (
                _units(give) > room[v]
                or (w is not None and _units(rest) > room[w])
                or (c is not None and _units(absence_rate * give) > room[c])
            ):
                continue
            t = solver.NumVar(0.0, 1.0, "") if relaxed else solver.BoolVar("")
            chosen.append(t)
            load[v].append((t, _units(give)))
            if w is not None:
                load[w].append((t, _units(rest)))
            if c is not None:
                load[c].append((t, _units(absence_rate * give)))
        if chosen:
            solver.Add(sum(chosen) <= 1)
            objective.append(sum(chosen) * (int(people.priority[p]) * round(hours * 100)))
    for v, terms in load.items():
        if terms:
            solver.Add(sum(t * u for t, u in terms) <= room[v])
    if not objective:
        return 0.0
    solver.Maximize(sum(objective))
    assert solver.Solve() == pywraplp.Solver.OPTIMAL
    return solver.Objective().Value() / 100.0
