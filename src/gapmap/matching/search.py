r"""Local search over the integer matching (large-neighbourhood search, in background threads).

On instances too large to enumerate every pattern (:mod:`gapmap.matching.batch`), a *local
search* starts from the greedy matching as soon as the candidates are known and runs beside
the column generation (:mod:`gapmap.matching.bound`), in background threads (CP-SAT solves
without Python's lock, so both cores are used).

**A step.** Each step takes a small group G of providers (every other step, one drawn for
someone waiting: while the LP serves someone the search has not matched, a step *guided by
the LP*, below, and otherwise the providers an unmatched person could use, that person drawn
with odds rising with the cube of their urgency; the other steps, a provider and its nearest
neighbours), frees everyone whose match touches G, offers
G to the most urgent people waiting who could use it, and lets CP-SAT choose, within the room
everyone else leaves, the best of each person's ways of being matched in G (provider or
partner in G; partner and cover in G or, nearest first, anywhere with room; and for someone
freed, their provider role moved to one of the two nearest providers outside G with room,
which is what lets a step clear room in G for someone waiting; the cover is chosen apart from
the provider and partner, so covers do not multiply the choices). With x a Boolean per pair
of provider and partner and z per cover, for each person p and day class k:

.. math::

    \sum_{k, (v,w)} x_{pkvw} \le 1 \;(= 1 \text{ when kept}), \qquad
    \sum_c z_{pkc} = \sum_{(v,w)} x_{pkvw}, \qquad
    x_{pkvw} + z_{pkc} \le 1 \;(c \in \{v, w\}),

    \sum a\,x + b\,x + r\,z \le \mathrm{room\_now}_u \text{ at every provider } u,

maximising first the most urgency-weighted hours, then, among equal answers, the one that
leaves free the room the most urgent people still waiting could use (each hour placed at a
provider costs the summed urgency of the unmatched people who could use it; the tie-break
is scaled never to outweigh a hundredth of an urgency-weighted hour). A step's answer is kept
when it is at least as good and nothing it relied on changed meanwhile. After each round of
the column generation, the LP's rounding replaces the search's matching if it is better
(:meth:`LocalSearch.offer`), and the search goes on from it until 80% of the time limit.
Small steps, many of them, did best: three providers, six people waiting, 0.1 s, and CP-SAT
without its presolve. A step's model is a few hundred Booleans, and CP-SAT's presolve spent a
third of the 0.1 s on it before the search began (on 132 steps' models saved from a Somerset
run, every one of which used its whole 0.1 s: the search began at a median 30 ms, 20-50 ms for
half of them; without the presolve, at once). Without it the real command ends higher at both
scales, most beside busy processes (docs/benchmarks.md, "Matching").

**Steps guided by the LP** (:meth:`LocalSearch.guide`). Every round of the column generation
tells the search, for each person the LP serves, the providers of the LP's largest pattern for
them. A step drawn for someone waiting then draws someone the LP serves (at least half) and the
search has not matched, with odds in proportion to their urgency-weighted hours times the LP's
share, and takes as G the providers of their LP pattern (provider, partner and cover, wherever
they are) and two of the providers where the LP has the people now holding those. The LP fills
every provider's room to the last hundredth, in an arrangement the other steps do not reach: at
Kent year-3 scale nearly all of the search's distance to the bound was some 15 people of
priority 4 and 5 whom the LP serves whole, each needing room at providers that no group of
nearby providers, nor the providers they could use alone, brings together (a cover far from the
provider, room held by people the LP has elsewhere). Measured in docs/benchmarks.md
("Matching"): +0.33 points of the bound on average at Kent year-3 scale, +0.08 at Somerset's
(within its run-to-run variation).

**The last step** (:meth:`LocalSearch.repack`) then takes the whole matching at once (until
85% of the time limit, with CP-SAT's own neighbourhood search on two workers; beside busy
processes it starts sooner, :func:`gapmap.matching.batch.last_step_seconds`): everyone matched
keeps their provider and partner, but their cover may move to any of their twelve nearest
covers; the people still waiting, most urgent first, may be matched with their three nearest
providers and partners and six nearest covers where the room left by the providers and
partners alone could take them. Cover reserves are small, so one person's cover moving
elsewhere can leave exactly the room someone waiting needs, at a provider far from any group a
step would draw: at Kent year-3 scale, after 45 s of steps, it adds 0.2-0.3 points of the
bound in 3 s, where the steps add under 0.1.

This module is longer than most (~650 lines): the search is one class whose state (the
matching, each provider's room left, the threads and their solves) every part of it shares.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from gapmap.matching.candidates import PersonOptions
from gapmap.matching.cpsat import new_solver, solve_stoppably
from gapmap.matching.patterns import (
    ClassArrays,
    Classes,
    PatternPool,
    Way,
    class_of,
    pattern_loads,
)
from gapmap.matching.result import Match
from gapmap.settings import Settings
from gapmap.wallclock import cpu_clock

log = logging.getLogger(__name__)

__all__ = ["LocalSearch"]

#: the last step over the whole matching (:meth:`LocalSearch.repack`): each matched person's
#: nearest covers it may move to, and at most this many choices
REPACK_COVERS = 12
REPACK_MOST = 60_000
#: providers re-solved at a time, waiting people offered them, a step's CP-SAT time (seconds);
#: small steps, many of them, did best at Kent and Somerset scale
GROUP = 3
WAITING = 6
STEP_SECONDS = 0.1
#: a freed person may also move their provider role to this many providers outside the group
#: (nearest first, with room): what lets a step clear room for someone waiting
OUT = 2
#: every GUIDED-th step is guided by the LP (:meth:`LocalSearch.guide`): the providers of the
#: LP's pattern for someone it serves and the search does not, and up to GUIDED_MORE of the
#: providers where the LP has the people now holding those
GUIDED = 2
GUIDED_MORE = 2
#: pairs of provider and partner offered per person and day class in a step, each cover
#: chosen apart (14 ways, cover included, gave 95.9% of the bound at Kent year-3 scale over six
#: seeds; 8 pairs with the cover apart, 96.3%; Somerset's did not change)
WAYS = 8


class LocalSearch:
    """Large-neighbourhood search over the integer matching (module docstring).

    Each step takes a small group G of providers: every other step the providers an unmatched
    person could use (that person drawn with odds rising steeply with urgency), or, while the LP
    serves someone the search has not matched, the providers of their LP pattern
    (:meth:`guide`); otherwise a provider and its nearest neighbours. It frees everyone whose
    match touches G and adds the most urgent waiting people who could use G; builds each freed
    or waiting person's ways of being matched in G (provider and partner in G, or the partner
    and cover anywhere with room left; a freed person's provider role may also move to a
    provider nearby with room); and lets CP-SAT choose the best of them within the room the
    others leave. An equal or better answer is kept (equal ones let the search move sideways).

    Steps run in background threads (CP-SAT solves without Python's lock, so the threads and
    the column generation share the cores); a step's answer is kept only if nothing it relied
    on changed meanwhile. :meth:`offer` swaps in a better matching found elsewhere (the LP's
    rounding of each round of the column generation).

    Parameters
    ----------
    people_idx
        The people to match.
    weight
        Each person's weight W_p = priority × hours.
    classes
        Each person's day classes (:func:`gapmap.matching.patterns.class_arrays`, with room).
    room
        Every provider's free room in hundredths (:func:`gapmap.reach.room_units`).
    settings
        ``workers`` and ``seed``.
    start
        A feasible matching to start from.
    options
        Every person's candidates (for their urgency).
    provider_xy
        Providers' coordinates (metres), to group nearby providers.
    stop
        Returns True when the user asked to stop.
    """

    def __init__(
        self,
        people_idx: list[int],
        weight: dict[int, float],
        classes: Classes,
        room: np.ndarray,
        settings: Settings,
        start: dict[int, Match],
        options: list[PersonOptions],
        provider_xy: np.ndarray,
        *,
        stop: Callable[[], bool],
    ) -> None:
        from scipy.spatial import cKDTree

        self.weight, self.classes, self.room, self.settings = weight, classes, room, settings
        self.stop = stop
        self.urgency = {p: options[p].priority for p in people_idx}
        self.users: dict[int, list[int]] = {}
        for p in people_idx:
            for u in {u for c in classes[p] for u in c.providers.tolist() + c.partners.tolist()}:
                self.users.setdefault(u, []).append(p)
        self.hopeful = [p for p in people_idx
                        if any(len(c.providers) and (c.cover_optional or len(c.covers))
                               for c in classes[p])]  # fmt: skip
        self.providers = sorted(self.users)
        self.xy = provider_xy
        # None when no one could use any provider: nothing to search (:meth:`run`)
        self.tree = cKDTree(provider_xy[self.providers]) if self.providers else None
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self.solvers: set[cp_model.CpSolver] = set()  # the solves under way (to halt them)
        self.halted = False
        self.failure: BaseException | None = None  # a thread's error, raised by _wait
        self.steps = self.gains = 0
        self.repacked = 0.0  # what the last step over the whole matching gained
        self.until = 0.0  # when the threads stop
        self.said = time.perf_counter()
        self.began = cpu_clock()  # for the share of the cores had since (wallclock.cpu_share)
        # person -> (the LP's share of them served, the providers of its largest pattern)
        self.lp_home: dict[int, tuple[float, tuple[int, ...]]] = {}
        self._reset(start)

    # --- state (callers hold the lock) ----------------------------------------------------
    def _reset(self, matching: dict[int, Match]) -> None:
        self.left = self.room.astype(np.int64).copy()
        self.holders: dict[int, set[int]] = {}
        self.sol: dict[int, Way] = {}
        for p, m in matching.items():
            self._put(p, (class_of(self.classes[p], m), m.provider, m.partner, m.cover))
        self.value = sum(self.weight[p] for p in self.sol)

    def _loads(self, p: int, way: Way) -> list[tuple[int, int]]:
        return pattern_loads(self.classes[p][way[0]], *way[1:])

    def _put(self, p: int, way: Way) -> None:
        self.sol[p] = way
        for u, load in self._loads(p, way):
            self.left[u] -= load
            self.holders.setdefault(u, set()).add(p)

    def _free(self, p: int) -> None:
        for u, load in self._loads(p, self.sol.pop(p)):
            self.left[u] += load
            self.holders[u].discard(p)

    # --- the public side --------------------------------------------------------------------
    def run(self, threads: int, deadline: float) -> None:
        """Start more searching threads (none when no one could use any provider).

        Parameters
        ----------
        threads
            How many.
        deadline
            ``time.perf_counter()`` at which each stops.
        """
        if not self.providers:
            return
        self.until = max(self.until, deadline)
        for _ in range(threads):
            t = threading.Thread(target=self._worker, args=(len(self.threads), deadline),
                                 daemon=True)  # fmt: skip
            self.threads.append(t)
            t.start()

    def finish_by(self, deadline: float) -> None:
        """Bring forward the moment the threads stop to ``deadline`` (if it is sooner)."""
        with self.lock:
            self.until = min(self.until, deadline)

    def offer(self, matching: dict[int, Match]) -> bool:
        """Search on from ``matching`` if it is better than the best so far."""
        with self.lock:
            if sum(self.weight[p] for p in matching) <= self.value + 1e-9:
                return False
            self._reset(matching)
            return True

    def guide(self, pool: PatternPool, lp_x: np.ndarray) -> None:
        """Take the LP's patterns (after a round of the column generation): for each person it
        serves, the share served and the providers of its largest pattern, for the steps guided
        by the LP (module docstring).

        Parameters
        ----------
        pool
            The column generation's patterns.
        lp_x
            The LP's value of each pattern in ``pool``.
        """
        share: dict[int, float] = {}
        largest: dict[int, tuple[float, int]] = {}
        for j in np.flatnonzero(lp_x > 1e-6).tolist():
            p, x = pool.person[j], float(lp_x[j])
            share[p] = share.get(p, 0.0) + x
            if x > largest.get(p, (0.0, -1))[0]:
                largest[p] = (x, j)
        home = {
            p: (share[p], tuple(u for u in (pool.v[j], pool.w[j], pool.c[j]) if u >= 0))
            for p, (_, j) in largest.items()
        }
        with self.lock:
            self.lp_home = home

    def halt(self) -> None:
        """Stop every thread now (their solves too) and wait for them: the process is
        leaving (a second Ctrl+C, an error), and must not leave a solver running."""
        with self.lock:
            self._halt_solves()
        for t in self.threads:
            t.join()

    def _halt_solves(self) -> None:
        """No more steps, and the solves under way stop now (callers hold the lock)."""
        self.halted = True
        for solver in self.solvers:
            solver.stop_search()

    def _wait(self) -> None:
        """Wait for the threads, saying how the search goes."""
        try:  # progress is said here, never from the threads (they may outlive a crash)
            for t in self.threads:
                while t.is_alive():
                    t.join(timeout=0.25)
                    if time.perf_counter() - self.said > 5:
                        self.said = time.perf_counter()
                        log.info(f"  improving: {self.value:,.0f} urgency-weighted hours so "
                                 f"far ({self.steps} tries)")  # fmt: skip
        except BaseException:  # e.g. a second Ctrl+C while waiting
            self.halt()
            raise
        if self.failure is not None:
            raise self.failure

    def result(self) -> dict[int, Match]:
        """Wait for the threads; the best matching found."""
        self._wait()
        log.info(f"  improved {self.gains} times in {self.steps} tries: "
                 f"{self.value:,.0f} urgency-weighted hours")  # fmt: skip
        out = {}
        for p, (k, v, w, c) in self.sol.items():
            cls = self.classes[p][k]
            out[p] = Match(v, w, c, cls.provider_hours, cls.partner_hours)
        return out

    def repack(self, deadline: float) -> None:
        """One last step over the whole matching, once the threads have finished: everyone
        matched keeps their provider and partner, and their cover may move to any of their
        ``REPACK_COVERS`` nearest covers; in the room that frees (and any left), the people
        waiting may be matched with one of their nearest providers, partners and covers
        (module docstring). Needs two CP-SAT workers (its own large-neighbourhood search):
        with one it finds nothing in seconds, so it is skipped."""
        self._wait()
        if self.settings.workers < 2 or self.halted or self.stop() or not self.sol:
            return
        if time.perf_counter() > deadline - 0.5:
            return
        with self.lock:
            fixed = self.room.astype(np.int64).copy()  # the room covers alone may use
            for p, (k, v, w, _) in self.sol.items():
                for u, load in pattern_loads(self.classes[p][k], v, w, -1):
                    fixed[u] -= load
            ways: dict[int, dict] = {}
            budget = REPACK_MOST
            for p, (k, v, w, c) in self.sol.items():
                cls = self.classes[p][k]
                cs = [c]
                if c >= 0 and budget > 0:
                    cs += [u for u in cls.covers[:REPACK_COVERS].tolist()
                           if u not in (v, w, c) and fixed[u] >= cls.r]  # fmt: skip
                budget -= len(cs)
                ways[p] = {k: ([(v, w)], cs)}
            waiting = sorted((p for p in self.hopeful if p not in self.sol),
                             key=lambda p: -self.urgency[p])  # fmt: skip
            for i, p in enumerate(waiting):
                if budget <= 0 or (i % 500 == 499 and time.perf_counter() > deadline - 0.5):
                    break
                mine = {}
                for cls in self.classes[p]:
                    vs = [u for u in cls.providers[:3].tolist() if fixed[u] >= cls.a]
                    ws = ([u for u in cls.partners[:3].tolist() if fixed[u] >= cls.b]
                          if len(cls.partners) else [-1])  # fmt: skip
                    cs = ([-1] if cls.cover_optional else
                          [u for u in cls.covers[:6].tolist() if fixed[u] >= cls.r])  # fmt: skip
                    pairs = [(v, w) for v in vs for w in ws if v != w]
                    if pairs and cs:
                        mine[cls.k] = (pairs, cs)
                        budget -= len(pairs) + len(cs)
                if mine:
                    ways[p] = mine
            freed = dict(self.sol)
            model, decode = self._choice_model(ways, self.room, frozenset(freed), tie_break=False)
        seconds = deadline - time.perf_counter()
        if decode is None or seconds < 0.3:
            return
        solver = new_solver(self.settings, seconds, workers=max(2, self.settings.workers))
        status = solve_stoppably(solver, model, self.stop)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return
        self.repacked = self._keep(decode(solver), freed)
        if self.repacked > 0:
            log.info(f"  moving covers made room for more people: {self.repacked:+,.0f} "
                     "urgency-weighted hours")  # fmt: skip

    # --- one step ---------------------------------------------------------------------------
    def _group(self, rng: random.Random, n: int) -> tuple[set[int], int | None]:
        """A group of providers to re-solve, and the waiting person it was drawn for."""
        if n % GUIDED == 0:
            guided = self._guided(rng)
            if guided is not None:
                return guided
        if n % 2 == 0:
            waiting = [p for p in self.hopeful if p not in self.sol]
            if waiting:
                who = rng.choices(waiting, weights=[self.urgency[p] ** 3 for p in waiting])[0]
                usable: set[int] = set()
                for cls in self.classes[who]:
                    usable |= set(cls.providers[:3].tolist()) | set(cls.partners[:2].tolist())
                return set(rng.sample(sorted(usable), min(len(usable), GROUP))), who
        if self.tree is None:  # no provider anyone could use (:meth:`run` starts no thread)
            return set(), None
        at = self.xy[self.providers[rng.randrange(len(self.providers))]]
        _, near = self.tree.query(at, k=min(GROUP, len(self.providers)))
        return {self.providers[i] for i in np.atleast_1d(near).tolist()}, None

    def _guided(self, rng: random.Random) -> tuple[set[int], int] | None:
        """A step guided by the LP (module docstring): someone the LP serves and the search
        does not, and the providers of their LP pattern with up to ``GUIDED_MORE`` of those
        where the LP has the people now holding them; None when there is no such person."""
        served = [p for p, (x, _) in self.lp_home.items() if x > 0.5 and p not in self.sol]
        if not served:
            return None
        who = rng.choices(served, weights=[self.weight[p] * self.lp_home[p][0] for p in served])[0]
        group = set(self.lp_home[who][1])
        theirs: set[int] = set()
        for u in group:
            for q in self.holders.get(u, ()):
                theirs.update(self.lp_home.get(q, (0.0, ()))[1])
        more = sorted(theirs - group)
        group.update(rng.sample(more, min(len(more), GUIDED_MORE)))
        return group, who

    def _model(
        self, rng: random.Random, n: int
    ) -> tuple[cp_model.CpModel, Callable[[cp_model.CpSolver], list[tuple[int, Way]]] | None,
               dict[int, Way]]:  # fmt: skip
        """One neighbourhood's CP-SAT model: (model, decode, freed), where ``decode(solver)``
        gives the ways of being matched the solver picked, or is None when there is no choice.
        """
        group, who = self._group(rng, n)
        sol = self.sol
        touched: set[int] = set().union(*(self.holders.get(u, set()) for u in group))
        freed = {p: sol[p] for p in touched}
        waiting = list({p for u in group for p in self.users.get(u, ()) if p not in sol} - {who})
        rng.shuffle(waiting)
        waiting.sort(key=lambda p: -self.urgency[p])
        people = sorted(freed) + ([who] if who is not None else []) + waiting[:WAITING]
        room_now = self.left.copy()
        for p, way in freed.items():
            for u, load in self._loads(p, way):
                room_now[u] += load
        ways = {p: _ways_in(self.classes[p], group, room_now, sol.get(p)) for p in people}
        model, decode = self._choice_model(ways, room_now)
        return model, decode, freed

    def _choice_model(self, ways: dict, room_now: np.ndarray, keep: frozenset = frozenset(),
                      *, tie_break: bool = True):  # fmt: skip
        """The CP-SAT model choosing among people's ways of being matched ``ways[p][k] =
        (pairs, covers)`` within ``room_now``; the people in ``keep`` stay matched. Returns
        (model, decode), ``decode`` None when there is nothing to choose. ``tie_break`` False
        leaves out the tie-break (for the last step, where it could overflow CP-SAT's
        integers on very long lists and there are no later steps to make easier).

        For each person and day class, a boolean per pair of provider and partner (at most one
        per person) and, apart from them, a boolean per cover (exactly one when a pair is
        picked, never the provider or partner picked): the covers do not multiply the choices,
        so a step offers more of them for fewer variables."""
        sol, weight = self.sol, self.weight
        model = cp_model.CpModel()
        pairs: list[tuple[int, int, int, int, Any]] = []  # person, class, provider, partner
        covers: list[tuple[int, int, int, Any]] = []  # person, class, cover
        per_person: dict[int, list] = {}
        per_provider: dict[int, list] = {}
        for p, by_class in ways.items():
            own = sol.get(p)
            for k, (vws, cs) in by_class.items():
                cls = self.classes[p][k]
                xs = []
                for v, w in vws:
                    x = model.new_bool_var("")
                    pairs.append((p, k, v, w, x))
                    xs.append((v, w, x))
                    per_person.setdefault(p, []).append(x)
                    for u, load in pattern_loads(cls, v, w, -1):
                        per_provider.setdefault(u, []).append((x, load))
                    model.add_hint(x, own is not None and own[:3] == (k, v, w))
                if cs == [-1]:
                    continue
                zs = []
                for c in cs:
                    z = model.new_bool_var("")
                    covers.append((p, k, c, z))
                    zs.append(z)
                    model.add_hint(z, own is not None and own[0] == k and own[3] == c)
                    if c < 0:
                        continue
                    per_provider.setdefault(c, []).append((z, cls.r))
                    for v, w, x in xs:
                        if c in (v, w):
                            model.add_bool_or([x.Not(), z.Not()])
                model.add(sum(zs) == sum(x for _, _, x in xs))
        for p, ones in per_person.items():
            if p in keep:
                model.add_exactly_one(ones)
            else:
                model.add_at_most_one(ones)
        for u, loads in per_provider.items():
            if sum(load for _, load in loads) > room_now[u]:
                model.add(sum(x * load for x, load in loads) <= int(room_now[u]))
        # first the urgency-weighted hours; among equal answers, the one that leaves free the
        # room the most urgent people still waiting could use (each hour placed at a provider
        # costs the summed urgency of the unmatched people who could use that provider):
        # sideways moves that make later steps easier (counting those people instead of adding
        # their urgency: 0.2 points lower at Kent year-3 and 0.1 at Somerset scale; no
        # tie-break at all: 0.4 lower at Kent)
        pressure = {
            u: sum(self.urgency[q] for q in self.users.get(u, ()) if q not in sol)
            if tie_break
            else 0
            for u in per_provider
        }
        terms: list[tuple[Any, int, int]] = []  # (variable, value, tie-break cost)
        dearest: dict[tuple[int, int], int] = {}
        for p, k, v, w, x in pairs:
            pair_loads = pattern_loads(self.classes[p][k], v, w, -1)
            cost = sum(load * pressure[u] for u, load in pair_loads) // 100
            terms.append((x, round(100 * weight[p]), cost))
            dearest[p, 0] = max(dearest.get((p, 0), 0), cost)
        for p, k, c, z in covers:
            cost = self.classes[p][k].r * pressure[c] // 100 if c >= 0 else 0
            terms.append((z, 0, cost))
            dearest[p, 1] = max(dearest.get((p, 1), 0), cost)
        # the tie-break can never outweigh a hundredth of an urgency-weighted hour: each person
        # takes at most one pair and one cover, so it is at most the sum of the dearest of each
        scale = 1 + sum(dearest.values())
        model.maximize(sum(x * (scale * value - cost) for x, value, cost in terms))

        def decode(solver) -> list[tuple[int, tuple[int, int, int, int]]]:
            picked = {p: [k, v, w, -1] for p, k, v, w, x in pairs if solver.value(x)}
            for p, _, c, z in covers:
                if solver.value(z):
                    picked[p][3] = c
            return [(p, (k, v, w, c)) for p, (k, v, w, c) in picked.items()]

        return model, (decode if pairs else None)

    def _keep(self, picked: list[tuple[int, Way]], freed: dict[int, Way]) -> float:
        """Keep a step's answer ``picked`` for the ``freed`` people if it is at least as good
        and still fits (:meth:`_commit`); what it gained (0 when not kept)."""
        new = sum(self.weight[p] for p, _ in picked)
        old = sum(self.weight[p] for p in freed)
        with self.lock:
            if new >= old - 1e-9 and self._commit(picked, freed):
                self.gains += new > old + 1e-9
                self.value += new - old
                return new - old
        return 0.0

    def _commit(self, picked: list[tuple[int, Way]], freed: dict[int, Way]) -> bool:
        """Replace the freed people's matches by ``picked`` if nothing they rely on changed
        meanwhile (another thread's step) and every provider's room still holds them."""
        sol = self.sol
        if any(sol.get(p) != way for p, way in freed.items()):
            return False
        if any(p in sol and p not in freed for p, _ in picked):
            return False
        need: dict[int, int] = {}
        for p, way in picked:
            for u, load in self._loads(p, way):
                need[u] = need.get(u, 0) + load
        for p, way in freed.items():
            for u, load in self._loads(p, way):
                need[u] = need.get(u, 0) - load
        if any(self.left[u] < extra for u, extra in need.items()):
            return False
        for p in freed:
            self._free(p)
        for p, way in picked:
            self._put(p, way)
        return True

    def _worker(self, index: int, deadline: float) -> None:
        """One searching thread. An error in it (a bug, never the user's) stops every thread
        and is raised again by :meth:`_wait`, so that it never silently leaves the search
        with fewer threads."""
        try:
            self._steps(index, deadline)
        except BaseException as error:
            with self.lock:
                self.failure = self.failure or error
                self._halt_solves()

    def _steps(self, index: int, deadline: float) -> None:
        rng = random.Random(self.settings.seed + 7919 * index)
        while True:
            end = min(deadline, self.until)  # :meth:`finish_by` may bring it forward
            if time.perf_counter() >= end - 0.15 or self.stop() or self.halted:
                return
            with self.lock:
                n = self.steps
                self.steps += 1
            self._step(rng, n, end)

    def _step(self, rng: random.Random, n: int, deadline: float) -> float:
        """Step number ``n``: build its model, solve it (without the lock: threads solve side
        by side) and keep its answer if it is at least as good; what it gained."""
        with self.lock:
            model, decode, freed = self._model(rng, n)
        if decode is None:
            return 0.0
        seconds = min(STEP_SECONDS, deadline - time.perf_counter() - 0.1)
        solver = new_solver(self.settings, seconds, workers=1)
        solver.parameters.random_seed = n
        # no presolve: on a step's few hundred Booleans it took a third of the 0.1 s before
        # the search began (module docstring)
        solver.parameters.cp_model_presolve = False
        with self.lock:
            if self.halted:
                return 0.0
            self.solvers.add(solver)
        status = solver.solve(model)
        with self.lock:
            self.solvers.discard(solver)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return 0.0
        return self._keep(decode(solver), freed)


def _ways_in(
    classes: list[ClassArrays],
    group: set[int],
    room: np.ndarray,
    own: Way | None,
    *,
    most: int = WAYS,
) -> dict[int, tuple[list[tuple[int, int]], list[int]]]:
    """A person's ways of being matched in a group of providers, by day class: the pairs of
    provider and partner (partner -1: none needed) and, chosen apart from them, the covers
    (``[-1]``: none needed). The provider (or, failing that, the partner) is in the group;
    partners and covers in the group or, nearest first, a few with room enough anywhere; for
    someone matched, the provider role also at the ``OUT`` nearest providers outside the group
    with room; plus their present match ``own``. Each provider gets a share of the ``most``
    pairs of a day class."""
    out: dict[int, tuple[list[tuple[int, int]], list[int]]] = {}
    for cls in classes:
        vs = [u for u in cls.providers.tolist() if u in group and room[u] >= cls.a]
        if len(cls.partners):
            ws = [u for u in cls.partners.tolist() if u in group and room[u] >= cls.b]
            if not vs:  # the partner in the group, the provider anywhere
                vs = [u for u in cls.providers.tolist() if room[u] >= cls.a][:2]
            else:
                ws += [u for u in cls.partners.tolist() if u not in group and room[u] >= cls.b][:2]
        else:
            ws = [-1]
        if vs and own is not None:  # a matched person may also move out of the group
            vs += [u for u in cls.providers.tolist() if u not in group and room[u] >= cls.a][:OUT]
        pairs: set[tuple[int, int]] = set()
        if vs and ws:
            per_v = max(2, most // len(vs))
            for v in vs:
                pairs.update((v, w) for w in [w for w in ws if w != v][:per_v])
        if cls.cover_optional:
            cs = [-1]
        else:
            cs = [u for u in cls.covers.tolist() if u in group and room[u] >= cls.r]
            cs += [u for u in cls.covers.tolist() if u not in group and room[u] >= cls.r][:3]
        if own is not None and own[0] == cls.k:
            pairs.add((own[1], own[2]))
            if own[3] not in cs:
                cs.append(own[3])
        if pairs and cs:
            out[cls.k] = (sorted(pairs), cs)
    return out
