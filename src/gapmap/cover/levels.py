"""The cover plan's model: the needs of :mod:`gapmap.cover.needs` given out level by
level, each level an integer model (:mod:`gapmap.cover.mip`).

**Objective, lexicographic** (SPEC):
1. maximise Σ priority × hundredths of an hour covered;
2. then the most needs given by the person's named cover;
3. then the most needs given with continuity (the person's own partner or provider);
4. then the least distance (tens of metres) from cover to person, summed over needs.

The levels are solved one after another, each held at its best (a constraint) while the next
is optimised, so no lower level can ever outweigh a higher one. Each is an integer linear model
(:class:`~gapmap.cover.mip.IntModel`) solved by CP-SAT when small and HiGHS when large (or
either alone, on request): the same model, so the same optimum; HiGHS's LP bound and cuts
prove a snow week's hardest groups several times faster (CP-SAT took up to a minute on some).
(One weighted
objective was tried first, weights ``W_named = W_cont·n + Dmax + 1`` and ``W_cont = Dmax + 1``
over n needs and ``Dmax`` the largest total distance, which provably orders plans the same way;
with coefficients near 10^9 CP-SAT took 14 s to prove a snow-week group that the level-by-level
solve proves in about 3 s.) Levels 2 and 3 alone are one solve: ``(n + 1) × named + continuity``
orders plans exactly as they do (continuity counts at most n) with small coefficients; once
proven, that level is held as two counts (named covers at their most, continuity at least its
value: the same plans, and a far tighter LP for the distance level than one row with weights).

* Level 1 is exact. A need with a candidate whose room takes every need that might use it is
  covered in some optimal plan whatever the others do, so level 1 is their sum plus the
  optimum of the other needs alone (a much smaller model). There, the needs of one week with
  the same hours, priority and candidate providers are interchangeable whoever they belong to:
  they are *pooled*, one integer per pool and provider (no symmetry between people to prove).
  A pool's covers are shared out among its people as levels 2-4 would prefer: each provider
  first to those it is the named cover of, then to those it already gives hours, then the
  nearest.
* Levels 2-4 are optimised among the plans that cover as many of each class of
  interchangeable needs (:func:`_solve_group`) as level 1's plan: one equality per class keeps
  level 1 exactly. (Holding level 1's *sum* instead, a knapsack, lets levels 2-4 swap which
  person-days are covered among equally urgent ones, but made a snow week take over a minute
  to prove instead of seconds; holding each pool's count, tried too, also made them slower.)

The status and best bound reported are level 1's, as ``gapmap match`` reports its own;
``tie_break_status`` is OPTIMAL when levels 2-4 were proven too.

**Groups.** Needs compete only through a provider's room in a week that cannot take every need
that might use it; needs joined by no such provider-week are independent, so each group of
competing needs is its own small model, and a need alone takes its best candidate directly
(:func:`_components`). The objective is a sum over groups at every level, so the plan is
lexicographically optimal exactly when each group's is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from gapmap.cover.mip import IntModel
from gapmap.cover.needs import _Context, _Needs, _room


@dataclass
class _Solution:
    choice: np.ndarray  # per need: the position in its candidates, -1 uncovered
    status: str
    objective: int  # level 1, priority × hundredths
    bound: int
    tie_status: str = ""


def _components(ctx: _Context, needs: _Needs) -> list[list[int]]:
    """Needs that compete for some provider's room in some week, grouped (union-find).

    A provider-week whose room takes every need that could use it binds nothing; needs joined
    only through such provider-weeks are independent, so each group is its own small model and
    a need in a group of its own simply takes its best candidate.
    """
    n = len(needs)
    demand: dict[tuple[int, int], list[int]] = {}
    for i in range(n):
        for c in needs.cand[i].tolist():
            demand.setdefault((c, needs.week[i]), []).append(i)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for (c, w), members in demand.items():
        if len(members) > 1 and sum(needs.units[i] for i in members) > _room(ctx, needs, c, w):
            root = find(members[0])
            for i in members[1:]:
                parent[find(i)] = root
    groups: dict[int, list[int]] = {}
    for i in range(n):
        if len(needs.cand[i]):
            groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def _preference(ctx: _Context, needs: _Needs, i: int) -> np.ndarray:
    """Need i's candidates ranked as levels 2-4 rank them: named cover, continuity, nearest."""
    a, cand = needs.arrangement[i], needs.cand[i]
    arr = ctx.arr
    named = cand == arr.cover[a]
    cont = (cand == arr.provider[a]) | (cand == arr.partner[a])
    return np.lexsort((needs.cand_km[i], ~cont, ~named))


def _solve(
    ctx: _Context,
    needs: _Needs,
    *,
    seconds: float,
    workers: int,
    seed: int = 0,
    tie_break: bool = True,
    solver: str = "auto",
) -> _Solution:
    """The lexicographic plan: each group of competing needs solved apart (:func:`_components`).

    The objective is a sum over groups at every level, so the plan is lexicographically optimal
    exactly when every group's is; the status is OPTIMAL when every group's is, and the bound
    is the sum of the groups' bounds.
    """
    t_end = time.perf_counter() + seconds
    choice = np.full(len(needs), -1, np.int64)
    status, best, bound, tie = "OPTIMAL", 0, 0, "OPTIMAL"
    groups = sorted(_components(ctx, needs), key=len)
    big = [g for g in groups if len(g) > 1]
    for g in groups:
        if len(g) == 1:  # alone: its best candidate fits (its room takes it)
            i = g[0]
            choice[i] = int(_preference(ctx, needs, i)[0])
            value = needs.priority[i] * needs.units[i]
            best += value
            bound += value
    for j, g in enumerate(big):  # time in proportion to the needs each group holds
        share = max(0.05, (t_end - time.perf_counter()) * len(g) / sum(map(len, big[j:])))
        sol = _solve_group(ctx, needs, g, seconds=share, workers=workers, seed=seed,
                           tie_break=tie_break, solver=solver)  # fmt: skip
        choice[g] = sol.choice
        best += sol.objective
        bound += sol.bound
        if sol.status != "OPTIMAL":
            status = sol.status
        if sol.tie_status != "OPTIMAL":
            tie = sol.tie_status
    return _Solution(choice, status, best, max(bound, best), tie if tie_break else "not run")


def _solve_group(
    ctx: _Context,
    needs: _Needs,
    group: list[int],
    *,
    seconds: float,
    workers: int,
    seed: int,
    tie_break: bool,
    solver: str = "auto",
) -> _Solution:
    """The lexicographic solve (module docstring) of one group of competing needs.

    Needs of one person in one week with the same hours and the same candidates (a person's
    Monday and Thursday, say) are interchangeable at every level, so they are one *class*:
    an integer per class and candidate says how many of them that candidate gives, which
    removes the symmetry that otherwise makes proving optimality slow. Every level is one
    integer linear model (:class:`~gapmap.cover.mip.IntModel`) solved by ``solver``.
    """
    t_end = time.perf_counter() + seconds
    classes: dict[tuple, list[int]] = {}
    for i in group:
        same = (needs.person[i], needs.week[i], needs.units[i], needs.cand[i].tobytes())
        classes.setdefault(same, []).append(i)
    members = list(classes.values())
    demand: dict[tuple[int, int], int] = {}
    for m in members:
        i = m[0]
        for c in needs.cand[i].tolist():
            key = (c, needs.week[i])
            demand[key] = demand.get(key, 0) + needs.units[i] * len(m)
    binding = {key for key, d in demand.items() if d > _room(ctx, needs, *key)}

    def value(i: int) -> int:
        return needs.priority[i] * needs.units[i]

    def fill(m: list[int], left: dict, only_free: bool) -> list[int]:
        """Each need of class m its most preferred candidate with room left (a start)."""
        out = []
        i = m[0]
        for _ in m:
            got = -1
            for k in _preference(ctx, needs, i).tolist():
                key = (int(needs.cand[i][k]), needs.week[i])
                if only_free and key in binding:
                    continue
                room = left.get(key, _room(ctx, needs, *key))
                if room >= needs.units[i]:
                    left[key] = room - needs.units[i]
                    got = k
                    break
            out.append(got)
        return out

    def model_of(ms: list[list[int]]) -> tuple[IntModel, list[list[int]]]:
        model = IntModel()
        ys: list[list[int]] = []
        load: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for m in ms:
            i = m[0]
            row = [model.var(0, len(m)) for _ in range(len(needs.cand[i]))]
            for k, c in enumerate(needs.cand[i].tolist()):
                load.setdefault((c, needs.week[i]), []).append((needs.units[i], row[k]))
            model.add([(1, y) for y in row], hi=len(m))
            ys.append(row)
        for key, terms in load.items():
            if key in binding:
                model.add(terms, hi=_room(ctx, needs, *key))
        return model, ys

    def start(model: IntModel, ys: list[list[int]], picks: list[list[int]]) -> np.ndarray:
        x = np.zeros(len(model.lb), np.int64)
        for row, got in zip(ys, picks):
            for k, y in enumerate(row):
                x[y] = sum(1 for g in got if g == k)
        return x

    # Level 1. A need with a candidate whose room takes every need that might use it is
    # covered in some optimal plan whatever the others do (it never needs the contested
    # room), so level 1 is the sum of those needs and the optimum of the rest alone.
    free = [m for m in members if any((c, needs.week[m[0]]) not in binding
                                      for c in needs.cand[m[0]].tolist())]  # fmt: skip
    hard = [m for m in members if m not in free]
    picks: dict[int, list[int]] = {}  # class (its first need) -> candidate of each need
    left: dict[tuple[int, int], int] = {}
    for m in free:
        picks[m[0]] = fill(m, left, only_free=True)
    best = bound = sum(value(i) * len(m) for m in free for i in m[:1])
    name = "OPTIMAL"
    # Level 1 sees only each need's value and units and which providers could give it: the
    # classes of one week with the same hours, priority and candidate providers are
    # interchangeable there whoever they belong to, so they are pooled (one integer per pool
    # and provider), which removes the symmetry between people that made proving slow.
    pools: dict[tuple, list[list[int]]] = {}
    for m in hard:
        i = m[0]
        pkey = (needs.week[i], needs.units[i], needs.priority[i],
               tuple(sorted(needs.cand[i].tolist())))  # fmt: skip
        pools.setdefault(pkey, []).append(m)
    if hard:
        m1 = IntModel()
        load1: dict[tuple[int, int], list[tuple[int, int]]] = {}
        rows1: list[tuple[tuple, list[int]]] = []
        for pkey, ms in pools.items():
            week, units, provs = pkey[0], pkey[1], pkey[3]
            size = sum(len(m) for m in ms)
            row = [m1.var(0, size) for _ in provs]
            for c, y in zip(provs, row):
                load1.setdefault((c, week), []).append((units, y))
            m1.add([(1, y) for y in row], hi=size)
            rows1.append((pkey, row))
        for key2, terms in load1.items():
            if key2 in binding:
                m1.add(terms, hi=_room(ctx, needs, *key2))
        x0 = np.zeros(len(m1.lb), np.int64)
        taken0: dict[tuple[int, int], int] = {}
        for (pkey, row), ms in zip(rows1, pools.values()):
            counts = dict.fromkeys(pkey[3], 0)
            for m in ms:
                cand = needs.cand[m[0]]
                for k in fill(m, taken0, only_free=False):
                    if k >= 0:
                        counts[int(cand[k])] += 1
            for c, y in zip(pkey[3], row):
                x0[y] = counts[c]
        objective = [(pk[2] * pk[1], y) for pk, row in rows1 for y in row]
        # level 1 may take most of the time, never all: the tie-breaks (named cover first)
        # must run on whatever plan it has found
        share = 0.6 if tie_break else 1.0
        res = m1.solve(objective, maximize=True, seconds=share * (t_end - time.perf_counter()),
                       hint=x0, solver=solver, workers=workers, seed=seed)  # fmt: skip
        upper = sum(value(m[0]) * len(m) for m in hard)
        if res.x is None:  # no plan in time
            picks.update({m[0]: [-1] * len(m) for m in hard})
            return _Solution(_spread(group, members, picks), res.status, best,
                             best + min(upper, res.bound))  # fmt: skip
        name = res.status
        best += res.value
        bound += min(upper, res.bound)
        arr = ctx.arr
        for (pkey, row), ms in zip(rows1, pools.values()):
            # the pool's covers shared out among its classes, each provider first to the
            # people it is the named cover of, then to those it already gives hours, then
            # the nearest (what levels 2-4 would prefer; they then hold each class's count)
            left_c = {c: int(res.x[y]) for c, y in zip(pkey[3], row)}
            slots = {m[0]: len(m) for m in ms}
            taken: dict[int, list[int]] = {m[0]: [] for m in ms}
            pairs = []
            for m in ms:
                i, a = m[0], needs.arrangement[m[0]]
                for k, c in enumerate(needs.cand[i].tolist()):
                    rank = 0 if c == arr.cover[a] else (
                        1 if c in (arr.provider[a], arr.partner[a]) else 2)  # fmt: skip
                    pairs.append((rank, float(needs.cand_km[i][k]), i, k, c))
            for _, _, i, k, c in sorted(pairs):
                n = min(slots[i], left_c[c])
                if n > 0:
                    taken[i] += [k] * n
                    slots[i] -= n
                    left_c[c] -= n
            for m in ms:
                picks[m[0]] = taken[m[0]] + [-1] * slots[m[0]]
    if not tie_break or time.perf_counter() >= t_end:
        return _Solution(_spread(group, members, picks), name, best, bound, "not run")

    # levels 2-4 one after another, each held at its best before the next, among the plans
    # that cover as many of each class as level 1's plan (so level 1 holds exactly)
    model, ys = model_of(members)
    arr = ctx.arr
    named_t: list[tuple[int, int]] = []
    cont_t: list[tuple[int, int]] = []
    dist_t: list[tuple[int, int]] = []
    for m, row in zip(members, ys):
        i = m[0]
        a = needs.arrangement[i]
        covered = sum(1 for g in picks[i] if g >= 0)
        model.add([(1, y) for y in row], lo=covered, hi=covered)
        for k, y in enumerate(row):
            c = int(needs.cand[i][k])
            if c == arr.cover[a]:
                named_t.append((1, y))
            elif c == arr.provider[a] or c == arr.partner[a]:
                cont_t.append((1, y))
            dist_t.append((int(round(float(needs.cand_km[i][k]) * 100)), y))
    tie = "OPTIMAL"
    # levels 2 and 3 as one objective, exactly lexicographic: continuity counts at most one per
    # need of the group, so one more named cover always outweighs any continuity (one solve
    # fewer, and small coefficients); distance (tens of metres) stays a level of its own
    weight = sum(len(m) for m in members) + 1
    first = [(weight * c, y) for c, y in named_t] + cont_t
    for level, (expr, maximize) in enumerate(((first, True), (dist_t, False))):
        now = time.perf_counter()
        if now >= t_end:
            tie = "FEASIBLE"
            break
        # each level at most its share of the time left (the last one all of it)
        res2 = model.solve(expr, maximize=maximize, seconds=(t_end - now) / (2 - level),
                           hint=start(model, ys, [picks[m[0]] for m in members]),
                           solver=solver, workers=workers, seed=seed)  # fmt: skip
        if res2.x is None:
            tie = "FEASIBLE"
            break
        for m, row in zip(members, ys):
            picks[m[0]] = _counts_to_picks(res2.x, row, len(m))
        got = res2.value
        if res2.status != "OPTIMAL":
            tie = "FEASIBLE"
        if level == 0:
            if res2.status == "OPTIMAL":
                # weight × named + continuity ≥ its optimum holds exactly when the named
                # covers are at their most (got // weight: continuity < weight) and the
                # continuity at least got % weight; two counts, which an LP bound handles
                # far better than one row with large coefficients
                model.add(named_t, lo=got // weight)
                model.add(cont_t, lo=got % weight)
            else:
                model.add(first, lo=got)
    return _Solution(_spread(group, members, picks), name, best, bound, tie)


def _counts_to_picks(x: np.ndarray, row: list[int], size: int) -> list[int]:
    """How many of a class each candidate gives, as one candidate (or -1) per need."""
    out: list[int] = []
    for k, y in enumerate(row):
        out += [k] * int(x[y])
    return out + [-1] * (size - len(out))


def _spread(group: list[int], members: list[list[int]], picks: dict[int, list[int]]):
    """Per need of the group (in the group's order), the position of its candidate or -1."""
    at = {i: j for j, i in enumerate(group)}
    choice = np.full(len(group), -1, np.int64)
    for m in members:
        for i, k in zip(m, picks.get(m[0], [])):
            choice[at[i]] = k
    return choice
