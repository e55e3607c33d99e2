r"""CP-SAT plumbing for the batch matching: solvers, stoppable solves, the pattern model.

**The integer model** is the master problem of :mod:`gapmap.matching.bound` with
λ ∈ {0, 1}: over a set J of patterns (:mod:`gapmap.matching.patterns`),

.. math::

    \max \sum_{p, j \in J_p} \mathrm{round}(100\, W_p)\, \lambda_{pj} \quad\text{s.t.}\quad
    \sum_{j \in J_p} \lambda_{pj} \le 1, \qquad
    \sum_{p, j} \mathrm{load}_u(j)\, \lambda_{pj} \le \mathrm{room}_u, \qquad
    \lambda \in \{0,1\}

(:func:`pattern_model`; loads and room in hundredths of an hour, so the model is exact in
integers). On small instances J holds every pattern, so this is the full model and CP-SAT
can prove the optimum (:func:`best_integer`, started from a hint). The local search
(:mod:`gapmap.matching.search`) builds its own small models and solves them with
:func:`new_solver`.

**Solves.** Every solver takes the study's seed and ``workers`` and leaves Ctrl+C to gapmap;
a solve in the calling thread goes through :func:`solve_stoppably`, so that a request to stop
is heard at once and the best answer so far is kept.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from ortools.sat.python import cp_model

from gapmap.matching.patterns import Classes, PatternPool, match_of, pool_loads
from gapmap.matching.result import Match
from gapmap.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["best_integer", "new_solver", "pattern_model", "solve_stoppably"]


def new_solver(settings: Settings, seconds: float, workers: int | None = None) -> cp_model.CpSolver:
    """A CP-SAT solver with gapmap's parameters.

    Parameters
    ----------
    settings
        ``workers`` (when ``workers`` is not given) and ``seed``.
    seconds
        Its time limit (at least 0.05 s with one worker, 0.2 s otherwise).
    workers
        Its threads (default: ``settings.workers``).

    Returns
    -------
    cp_model.CpSolver
    """
    solver = cp_model.CpSolver()
    prm = solver.parameters
    prm.max_time_in_seconds = max(0.05 if workers == 1 else 0.2, seconds)
    prm.num_workers = workers or settings.workers
    prm.random_seed = settings.seed
    prm.catch_sigint_signal = False  # Ctrl+C is gapmap's to handle (stop and keep the best)
    return solver


def solve_stoppably(
    solver: cp_model.CpSolver, model: cp_model.CpModel, stop: Callable[[], bool]
) -> Any:
    """``solver.solve(model)`` in a helper thread, so that Ctrl+C (``stop()``) is heard at
    once and stops the solve (its best so far is kept): every solve in the calling thread
    goes through it (the search's threads stop theirs through
    :meth:`gapmap.matching.search.LocalSearch.halt`).

    Parameters
    ----------
    solver, model
        The solver (:func:`new_solver`) and the model to solve.
    stop
        Returns True when the user asked to stop.

    Returns
    -------
    int
        CP-SAT's status (``UNKNOWN`` if the solve never returned).
    """
    import threading

    out: list = []
    t = threading.Thread(target=lambda: out.append(solver.solve(model)), daemon=True)
    t.start()
    try:
        while t.is_alive():
            t.join(timeout=0.1)
            if stop():
                solver.stop_search()
    except BaseException:  # a second Ctrl+C: stop the solver before leaving
        solver.stop_search()
        t.join()
        raise
    return out[0] if out else cp_model.UNKNOWN


def pattern_model(
    pool: PatternPool,
    patterns: Iterable[int],
    classes: Classes,
    left: Any,
    *,
    exactly_one: bool = False,
) -> tuple[cp_model.CpModel, dict[int, Any]]:
    """A CP-SAT model choosing at most (or exactly) one of each person's ``patterns`` within
    the room ``left`` of every provider: the shape of every integer step here.

    Parameters
    ----------
    pool
        The patterns.
    patterns
        The positions in the pool to choose among.
    classes
        Each person's day classes (for the patterns' loads).
    left
        Every provider's room in hundredths.
    exactly_one
        Each person takes exactly one of their patterns (else at most one).

    Returns
    -------
    (CpModel, dict)
        The model and each pattern's Boolean variable.
    """
    model = cp_model.CpModel()
    lam = {j: model.new_bool_var("") for j in patterns}
    per_person: dict[int, list] = {}
    per_provider: dict[int, list] = {}
    for j, var in lam.items():
        per_person.setdefault(pool.person[j], []).append(var)
        for u, load in pool_loads(pool, j, classes):
            per_provider.setdefault(u, []).append((var, load))
    for vs in per_person.values():
        (model.add_exactly_one if exactly_one else model.add_at_most_one)(vs)
    for u, terms in per_provider.items():
        model.add(sum(var * load for var, load in terms) <= int(left[u]))
    return model, lam


def best_integer(
    pool: PatternPool,
    weight: dict[int, float],
    classes: Classes,
    room: Any,
    settings: Settings,
    hint: dict[int, Match],
    *,
    deadline: float,
    complete: bool,
    stop: Callable[[], bool],
) -> tuple[dict[int, Match], bool]:
    """The best matching over every pattern of the pool (the integer model), from ``hint``.

    Parameters
    ----------
    pool, weight, classes
        The patterns, each person's weight W_p and day classes.
    room
        Every provider's free room in hundredths.
    settings
        ``workers`` and ``seed``.
    hint
        A feasible matching CP-SAT starts from; returned when CP-SAT finds nothing.
    deadline
        ``time.perf_counter()`` by which to be done.
    complete
        Whether the pool holds every pattern (then an optimum is the full model's).
    stop
        Returns True when the user asked to stop.

    Returns
    -------
    (dict, bool)
        The matching and whether it is proven optimal for the full model.
    """
    model, lam = pattern_model(pool, range(len(pool)), classes, room)
    model.maximize(sum(lam[j] * round(100 * weight[pool.person[j]]) for j in range(len(pool))))
    hinted = {}
    for p, m in hint.items():
        for k in range(len(classes[p])):
            j = pool.index.get((p, k, m.provider, m.partner, m.cover))
            if j is not None:
                hinted[j] = True
                break
    for j in range(len(pool)):
        model.add_hint(lam[j], j in hinted)
    solver = new_solver(settings, deadline - time.perf_counter())
    status = solve_stoppably(solver, model, stop)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return hint, False
    out = {}
    for j in range(len(pool)):
        if solver.value(lam[j]):
            out[pool.person[j]] = match_of(pool, j, classes)
    log.info(f"  best matching among {len(pool):,} ways: {solver.status_name(status).lower()}")
    return out, status == cp_model.OPTIMAL and complete
