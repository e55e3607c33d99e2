r"""Batch matching with OR-Tools CP-SAT: provider, partner and cover for a whole waiting list.

The formulation, over the candidates of :mod:`gapmap.matching.candidates` (person p, day class
k = the days T a provider would give, S the days a partner must give):

Variables (all 0/1)
    x[p,v]     v is p's provider (v a provider candidate of one of p's classes)
    y[p,k,w]   w is p's partner, for class k with S non-empty
    z[p,k,c]   c is p's cover, for class k
    m[p]       p is matched

Constraints
    m[p] = Σ_v x[p,v]                                   (at most one provider)
    Σ_w y[p,k,w] = Σ_{v∈k} x[p,v]                      (a partner iff the provider is of class k)
    Σ_c z[p,k,c] = Σ_{v∈k} x[p,v]   if p needs cover (≤ when matches without cover are allowed)
    z[p,k,c] + x[p,c] ≤ 1,  z[p,k,c] + y[p,k,c] ≤ 1      (cover ∉ {provider, partner})
    for every provider u:
        Σ x[p,u]·h_k(p) + Σ y[p,k,u]·(h(p) − h_k(p)) + a·Σ z[p,k,u]·h_k(p)
            ≤ capacity_u − committed_u

where h(p) is p's weekly hours, h_k(p) = h(p)·|T|/|P| the provider's share, and a the
``absence_rate``. Hours are handled in hundredths, loads rounded up and room rounded down, so
an integer solution never breaks the real constraint.

Objective, lexicographic
    1. maximise Σ_p priority(p) · h(p) · m[p]
    2. with the people matched in (1) held matched (so (1) keeps its value), minimise the
       distance of every named role: Σ d(p,v) x + Σ d(p,w) y + Σ d(p,c) z (+ a penalty per
       person matched without cover, when that is allowed).

Independent regions (connected components of people and providers through any candidate) are
solved one by one, each with a share of the time limit (LP warm start, stage 1 and stage 2
all within it), starting from the better of the greedy solution and a rounding of the LP
relaxation (GLOP), which also bounds stage 1.
Stage 1 is proven optimal only for the candidates kept (``max_candidates`` nearest per role);
the status says whether it was proven, and the best bound is reported beside the objective.
"""

from __future__ import annotations

import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from ..reach import cover_reserve, load_units, room_units
from ..settings import Settings
from .candidates import PersonOptions
from .result import Match, MatchResult

__all__ = ["solve_matching"]


def _components(options: list[PersonOptions]) -> list[list[int]]:
    """People grouped into independent regions (union-find over shared candidate providers)."""
    parent: dict = {}

    def find(a):
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for o in options:
        if o.reason:
            continue
        me = ("p", o.person)
        for cls in o.classes:
            for v in (*cls.providers, *cls.partners, *cls.covers):
                ra, rb = find(me), find(("v", v))
                if ra != rb:
                    parent[ra] = rb
    groups: dict = defaultdict(list)
    for o in options:
        if not o.reason:
            groups[find(("p", o.person))].append(o.person)
    return sorted(groups.values(), key=len, reverse=True)


def _solver(settings: Settings, seconds: float) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    p = solver.parameters
    p.max_time_in_seconds = seconds
    p.num_workers = settings.workers
    p.random_seed = settings.seed
    # On large instances CP-SAT's full presolve and symmetry search can use the whole time
    # limit before any search (seen at 2,000 people): one presolve pass, no symmetry.
    p.max_presolve_iterations = 1
    p.symmetry_level = 0
    return solver


class _Progress(cp_model.CpSolverSolutionCallback):
    def __init__(self, say: Callable[[str], None] | None, label: str, scale: float):
        super().__init__()
        self.say, self.label, self.scale = say, label, scale
        self.last = -math.inf

    def on_solution_callback(self) -> None:
        """Report each better solution as it is found."""
        if self.say is None:
            return
        now = self.wall_time
        if now - self.last >= 2.0:
            self.last = now
            obj, bound = self.objective_value / self.scale, self.best_objective_bound / self.scale
            gap = (bound - obj) / bound if bound > 0 else 0.0
            self.say(
                f"  {self.label}: {now:5.1f} s, priority-hours {obj:,.0f}, "
                f"bound {bound:,.0f} (gap {gap:.2%})"
            )


def _lp_warm_start(
    people_idx: list[int],
    options: list[PersonOptions],
    room: np.ndarray,
    settings: Settings,
    time_limit_s: float = 30.0,
) -> tuple[dict[int, Match], float]:
    """A starting solution from the LP relaxation (GLOP), rounded greedily; and the LP bound.

    GLOP gets ``time_limit_s``; if it does not finish (at Somerset scale it needs minutes),
    there is no LP start and no LP bound (``{}, inf``) and CP-SAT starts from the greedy pass.

    The linear relaxation of the model below is solved with OR-Tools' GLOP; people are then
    placed in order of how fully the LP matched them, each with the roles the LP leaned to
    most (then the nearest), while room lasts. This gives CP-SAT a far better start than the
    priority-first greedy and an upper bound on stage 1 at once.
    """
    from ortools.linear_solver import pywraplp

    lp = pywraplp.Solver.CreateSolver("GLOP")
    loads: dict = defaultdict(list)
    obj = []
    xv: dict = {}
    yv: dict = {}
    zv: dict = {}
    for p in people_idx:
        o = options[p]
        xs = []
        for k, cls in enumerate(o.classes):
            xk = []
            for v in cls.providers:
                xv[p, v] = var = lp.NumVar(0.0, 1.0, "")
                xk.append(var)
                loads[v].append((var, load_units(cls.provider_hours)))
            xs += xk
            if cls.missing:
                ys = []
                for w in cls.partners:
                    yv[p, k, w] = var = lp.NumVar(0.0, 1.0, "")
                    ys.append(var)
                    loads[w].append((var, load_units(cls.partner_hours)))
                lp.Add(sum(ys) == sum(xk))
            if cls.covers and (o.needs_cover or settings.allow_without_cover):
                zs = []
                reserve = load_units(cover_reserve(cls.provider_hours, settings.absence_rate))
                for c in cls.covers:
                    zv[p, k, c] = var = lp.NumVar(0.0, 1.0, "")
                    zs.append(var)
                    loads[c].append((var, reserve))
                    if (p, c) in xv:
                        lp.Add(var + xv[p, c] <= 1)
                if o.needs_cover and not settings.allow_without_cover:
                    lp.Add(sum(zs) == sum(xk))
        lp.Add(sum(xs) <= 1)
        obj.append(sum(xs) * (o.priority * round(o.hours * 100)))
    for u, terms in loads.items():
        lp.Add(sum(var * h for var, h in terms) <= int(room[u]))
    lp.Maximize(sum(obj))
    lp.SetTimeLimit(max(1, int(time_limit_s * 1000)))
    if lp.Solve() != pywraplp.Solver.OPTIMAL:
        return {}, math.inf
    bound = lp.Objective().Value() / 100.0

    left = room.copy()
    placed: dict[int, Match] = {}

    def place(p: int, lean: bool) -> None:
        o = options[p]
        tries = []
        for k, cls in enumerate(o.classes):
            for v in cls.providers:
                tries.append((-(xv[p, v].solution_value() if lean else 0.0), o.distance[v], k, v))
        for _, _, k, v in sorted(tries):
            cls = o.classes[k]
            own, rest = load_units(cls.provider_hours), load_units(cls.partner_hours)
            reserve = load_units(cover_reserve(cls.provider_hours, settings.absence_rate))
            if left[v] < own:
                continue
            w = -1
            if cls.missing:
                ws = sorted(
                    cls.partners,
                    key=lambda w: (-(yv[p, k, w].solution_value() if lean else 0.0), o.distance[w]),
                )
                found_w = next((w for w in ws if left[w] >= rest), None)
                if found_w is None:
                    continue
                w = found_w
            cs = sorted(
                cls.covers,
                key=lambda c: (
                    -(zv[p, k, c].solution_value() if lean and (p, k, c) in zv else 0.0),
                    o.distance[c],
                ),
            )
            c = next((c for c in cs if c not in (v, w) and left[c] >= reserve), -1)
            if c < 0 and o.needs_cover and not settings.allow_without_cover:
                continue
            left[v] -= own
            if w >= 0:
                left[w] -= rest
            if c >= 0:
                left[c] -= reserve
            placed[p] = Match(v, w, c, cls.provider_hours, cls.partner_hours)
            return

    share = {
        p: sum(xv[p, v].solution_value() for c in options[p].classes for v in c.providers)
        for p in people_idx
    }
    for p in sorted(people_idx, key=lambda p: (-share[p], -options[p].priority, p)):
        if share[p] > 1e-6:
            place(p, lean=True)
    for p in sorted(people_idx, key=lambda p: (-options[p].priority, options[p].hours, p)):
        if p not in placed:
            place(p, lean=False)
    return placed, bound


@dataclass
class _Model:
    model: cp_model.CpModel
    x: dict
    y: dict
    z: dict
    m: dict
    objective1: Any
    distance: Any
    must_match: bool


def _build(
    people_idx: list[int],
    options: list[PersonOptions],
    room: np.ndarray,
    settings: Settings,
    *,
    must_match: bool = False,
) -> _Model:
    """The CP-SAT model of the module docstring over ``people_idx``.

    With ``must_match`` every person given is matched (stage 2, over the people stage 1 matched).
    """
    model = cp_model.CpModel()
    x: dict = {}
    y: dict = {}
    z: dict = {}
    m: dict = {}
    load: dict = defaultdict(list)  # provider -> [(var, hundredths)]
    dist_terms: list = []
    obj_terms: list = []
    penalty = round(settings.no_cover_penalty_km * 1000)
    for p in people_idx:
        o = options[p]
        m[p] = model.new_constant(1) if must_match else model.new_bool_var(f"m{p}")
        xs: list = []
        z_all: list = []
        for k, cls in enumerate(o.classes):
            xk = []
            for v in cls.providers:
                x[p, v] = var = model.new_bool_var(f"x{p}_{v}")
                xk.append(var)
                load[v].append((var, load_units(cls.provider_hours)))
                dist_terms.append((var, round(o.distance[v] * 1000)))
            xs += xk
            if cls.missing:
                ys = []
                for w in cls.partners:
                    y[p, k, w] = var = model.new_bool_var(f"y{p}_{k}_{w}")
                    ys.append(var)
                    load[w].append((var, load_units(cls.partner_hours)))
                    dist_terms.append((var, round(o.distance[w] * 1000)))
                model.add(sum(ys) == sum(xk))
            if cls.covers and (o.needs_cover or settings.allow_without_cover):
                zs = []
                reserve = load_units(cover_reserve(cls.provider_hours, settings.absence_rate))
                for c in cls.covers:
                    z[p, k, c] = var = model.new_bool_var(f"z{p}_{k}_{c}")
                    zs.append(var)
                    load[c].append((var, reserve))
                    dist_terms.append((var, round(o.distance[c] * 1000)))
                    if (p, c) in x:
                        model.add(var + x[p, c] <= 1)
                    if (p, k, c) in y:
                        model.add(var + y[p, k, c] <= 1)
                if o.needs_cover and not settings.allow_without_cover:
                    model.add(sum(zs) == sum(xk))
                else:
                    model.add(sum(zs) <= sum(xk))
                z_all += zs
            elif o.needs_cover and not settings.allow_without_cover:
                for var in xk:  # cannot happen after candidates, kept as a guard
                    model.add(var == 0)
        model.add(sum(xs) == m[p])
        obj_terms.append((m[p], o.priority * round(o.hours * 100)))
        if o.needs_cover and settings.allow_without_cover:
            lack = model.new_bool_var(f"nocover{p}")
            model.add(lack >= m[p] - sum(z_all))
            dist_terms.append((lack, penalty))
    for u, terms in load.items():
        model.add(sum(var * h for var, h in terms) <= int(room[u]))
    return _Model(
        model,
        x,
        y,
        z,
        m,
        sum(var * c for var, c in obj_terms),
        sum(var * d for var, d in dist_terms),
        must_match,
    )


def _hint(b: _Model, people_idx, options, start: dict[int, Match]) -> None:
    b.model.clear_hints()
    for p in people_idx:
        g = start.get(p)
        if not b.must_match:
            b.model.add_hint(b.m[p], g is not None)
        for k, cls in enumerate(options[p].classes):
            mine = g is not None and g.provider in cls.providers
            for v in cls.providers:
                b.model.add_hint(b.x[p, v], g is not None and g.provider == v)
            for w in cls.partners:
                if (p, k, w) in b.y:
                    b.model.add_hint(b.y[p, k, w], g is not None and mine and g.partner == w)
            for c in cls.covers:
                if (p, k, c) in b.z:
                    b.model.add_hint(b.z[p, k, c], g is not None and mine and g.cover == c)


def _read(b: _Model, people_idx, options, solver) -> dict[int, Match]:
    value = solver.value
    out: dict[int, Match] = {}
    for p in people_idx:
        for k, cls in enumerate(options[p].classes):
            v = next((v for v in cls.providers if value(b.x[p, v])), None)
            if v is None:
                continue
            w = next((w for w in cls.partners if (p, k, w) in b.y and value(b.y[p, k, w])), -1)
            c = next((c for c in cls.covers if (p, k, c) in b.z and value(b.z[p, k, c])), -1)
            out[p] = Match(v, w, c, cls.provider_hours, cls.partner_hours)
    return out


def _solve_component(
    people_idx: list[int],
    options: list[PersonOptions],
    room: np.ndarray,
    settings: Settings,
    hint: dict[int, Match],
    time_limit: float,
    say,
    label: str,
):
    deadline = time.perf_counter() + time_limit

    def worth(sol: dict[int, Match]) -> float:
        return sum(options[p].priority * options[p].hours for p in sol)

    start = {p: mt for p, mt in hint.items() if p in set(people_idx)}
    lp_start, lp_bound = _lp_warm_start(people_idx, options, room, settings, 0.3 * time_limit)
    if not lp_start and say is not None:
        say(
            f"  {label}: the linear relaxation did not finish in its share of the time; "
            "starting from the greedy pass"
        )
    if worth(lp_start) > worth(start):
        start = lp_start
    # stage 1: priority-hours
    b1 = _build(people_idx, options, room, settings)
    b1.model.maximize(b1.objective1)
    _hint(b1, people_idx, options, start)
    left = deadline - time.perf_counter()
    solver = _solver(settings, max(0.5, 0.75 * left))
    status = solver.solve(b1.model, _Progress(say, label, 100.0))
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    # every person with a candidate matched: a bound that needs no solver
    trivial = sum(options[p].priority * options[p].hours for p in people_idx if options[p].classes)
    # CP-SAT's bound means something only once it has a solution (UNKNOWN: nothing in time)
    cp_bound = solver.best_objective_bound / 100.0 if found else math.inf
    if found and solver.objective_value >= 100 * worth(start) - 0.5:
        chosen = _read(b1, people_idx, options, solver)
        bound = min(cp_bound, lp_bound, trivial)
        proven = status == cp_model.OPTIMAL
    else:  # CP-SAT found nothing better in time: keep the start, bounded as well as known
        chosen, bound, proven = start, min(cp_bound, lp_bound, trivial), False
    value1 = worth(chosen)
    # stage 2: the same people matched, every journey as short as it can be
    matched = sorted(chosen)
    b2 = _build(matched, options, room, settings, must_match=True)
    b2.model.minimize(b2.distance)
    _hint(b2, matched, options, chosen)
    solver2 = _solver(settings, max(0.5, deadline - time.perf_counter()))
    status2 = solver2.solve(b2.model)
    if status2 in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        chosen = _read(b2, matched, options, solver2)
    return {
        "matches": chosen,
        "objective": value1,
        "bound": max(bound, value1),
        "proven": proven,
        "stage2": solver2.status_name(status2),
        "variables": len(b1.x) + len(b1.y) + len(b1.z) + len(b1.m),
    }


def solve_matching(
    people: pd.DataFrame,
    providers: pd.DataFrame,
    options: list[PersonOptions],
    settings: Settings = Settings(),
    *,
    hint: MatchResult | None = None,
    say: Callable[[str], None] | None = None,
) -> MatchResult:
    """Solve the batch matching (formulation in the module docstring).

    Parameters
    ----------
    options
        Candidates from :func:`gapmap.matching.candidates.build_candidates`.
    hint
        A feasible solution to start from (the greedy one).
    say
        Called with progress lines while the solver runs (e.g. ``print`` to stderr).
    """
    t0 = time.perf_counter()
    room = room_units(providers)
    comps = _components(options)
    sizes = [
        sum(
            len(c.providers) + len(c.partners) + len(c.covers)
            for p in comp
            for c in options[p].classes
        )
        for comp in comps
    ]
    total = max(1, sum(sizes))
    matches: dict[int, Match] = {}
    objective = bound = 0.0
    all_proven = True
    stage2 = []
    n_vars = 0
    hint_matches = hint.matches if hint is not None else {}
    for i, (comp, size) in enumerate(zip(comps, sizes)):
        remaining = settings.match_time_limit_s - (time.perf_counter() - t0)
        share = max(0.5, remaining * size / max(1, sum(sizes[i:])))
        label = f"region {i + 1}/{len(comps)} ({len(comp)} people)"
        out = _solve_component(comp, options, room, settings, hint_matches, share, say, label)
        if out is None:  # no solution in time: keep the hint for this region
            all_proven = False
            for p in comp:
                if p in hint_matches:
                    matches[p] = hint_matches[p]
            part = sum(options[p].priority * options[p].hours for p in comp if p in hint_matches)
            objective += part
            bound += sum(options[p].priority * options[p].hours for p in comp)
            continue
        matches.update(out["matches"])
        objective += out["objective"]
        bound += out["bound"]
        all_proven &= out["proven"]
        stage2.append(out["stage2"])
        n_vars += out["variables"]
    reasons = {o.person: o.reason for o in options if o.reason}
    for o in options:
        if not o.reason and o.person not in matches:
            reasons[o.person] = "no_capacity"
    dist = float(
        sum(
            options[p].distance[mt.provider]
            + (options[p].distance[mt.partner] if mt.partner >= 0 else 0.0)
            + (options[p].distance[mt.cover] if mt.cover >= 0 else 0.0)
            for p, mt in matches.items()
        )
    )
    if say is not None:
        say(
            f"  solved {len(comps)} region(s), {n_vars:,} variables, in "
            f"{time.perf_counter() - t0:.1f} s"
        )
    return MatchResult(
        matches,
        reasons,
        "cp-sat",
        "OPTIMAL" if all_proven else "FEASIBLE",
        objective,
        max(bound, objective),
        time.perf_counter() - t0,
        dist,
        {
            "regions": len(comps),
            "variables": n_vars,
            "distance_stage": stage2,
            "total_candidates": total,
        },
    )


def _stderr(msg: str) -> None:  # pragma: no cover - convenience for interactive use
    print(msg, file=sys.stderr, flush=True)
