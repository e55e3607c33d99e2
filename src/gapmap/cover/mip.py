"""A small integer linear model, solved by HiGHS (branch and cut) or by CP-SAT, the same model.

The cover plan's levels (:mod:`gapmap.cover.plan`) are integer linear programs: how many needs
of a class each candidate gives, under each provider's weekly room. CP-SAT proves the easy ones
at once but can take tens of seconds on a snow week's largest group, where a MIP solver's LP
bound and cuts close the gap in about a second (measured, docs/benchmarks.md). The plan builds
its models here once and solves them with either, so both solve *exactly* the same problem.

A solution is never taken on trust: HiGHS works in floating point, so its values are rounded
and every row is checked again in integers; a rounded solution that breaks a row is discarded
(the level then keeps the plan it had). The value reported is recomputed from the integers; the
bound is HiGHS's (rounded towards the safe side), never tighter than the value.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

__all__ = ["IntModel", "Result", "SOLVERS"]

#: The solvers a cover plan can be asked to use. ``auto`` (the default) gives a model of fewer
#: than :data:`SMALL` variables to CP-SAT, whose presolve settles such a model in milliseconds
#: where HiGHS's root node alone takes tens (N−1 solves about eighty of them), and the larger
#: ones, where CP-SAT can take tens of seconds to prove what HiGHS proves in one or two, to HiGHS.
SOLVERS = ("auto", "highs", "cp-sat")
#: Below this many variables ``auto`` uses CP-SAT (the snow weeks' hard models have 300-1,000).
SMALL = 150
#: HiGHS options beyond the exact gap. Its presolve is off: on the snow weeks' hardest
#: groups it made the root bound weaker and the solve 2-5 times slower (docs/benchmarks.md).
HIGHS_OPTIONS: dict[str, object] = {"presolve": "off"}
#: One HiGHS solve at a time in a process: HiGHS shares one task scheduler between its
#: instances, and instances run from two threads at once (two plans on ``gapmap serve``) have
#: misbehaved (ERGO-Code/HiGHS#3141); the plans are short, so they queue.
_HIGHS_LOCK = threading.Lock()


@dataclass
class Result:
    """What a solve gives back.

    Attributes
    ----------
    status
        ``OPTIMAL`` (proven), ``FEASIBLE`` (a solution, not proven), or ``UNKNOWN`` (none).
    value
        The objective of ``x`` (an integer; 0 without a solution).
    bound
        The best bound proven: no solution is better than it.
    x
        The values of the variables (integers), or None.
    """

    status: str
    value: int
    bound: int
    x: np.ndarray | None


class IntModel:
    """Integer variables with bounds and linear rows ``lo ≤ Σ coef × var ≤ hi``."""

    def __init__(self) -> None:
        self.lb: list[int] = []
        self.ub: list[int] = []
        self.rows: list[tuple[list[int], list[int], float, float]] = []

    def var(self, lb: int, ub: int) -> int:
        """A new integer variable between ``lb`` and ``ub``; its index.

        Parameters
        ----------
        lb, ub
            Its bounds (inclusive).
        """
        self.lb.append(int(lb))
        self.ub.append(int(ub))
        return len(self.lb) - 1

    def add(self, terms: list[tuple[int, int]], lo: float = -math.inf, hi: float = math.inf):
        """Add the row ``lo ≤ Σ coef × var ≤ hi``.

        Parameters
        ----------
        terms
            ``[(coef, var), ...]``: integer coefficients and variables' indices.
        lo, hi
            The row's bounds (infinite: none).
        """
        self.rows.append(([v for _, v in terms], [int(c) for c, _ in terms], lo, hi))

    def holds(self, x: np.ndarray) -> bool:
        """Does the integer point ``x`` satisfy every bound and row, exactly?"""
        if np.any(x < np.asarray(self.lb)) or np.any(x > np.asarray(self.ub)):
            return False
        for vs, cs, lo, hi in self.rows:
            s = sum(c * int(x[v]) for c, v in zip(cs, vs))
            if s < lo or s > hi:
                return False
        return True

    def solve(
        self,
        objective: list[tuple[int, int]],
        *,
        maximize: bool,
        seconds: float,
        hint: np.ndarray | None = None,
        solver: str = "auto",
        workers: int = 2,
        seed: int = 0,
    ) -> Result:
        """The best point for ``Σ coef × var`` over ``objective`` = ``[(coef, var), ...]``.

        Parameters
        ----------
        objective
            The terms of the objective.
        maximize
            Maximise (else minimise).
        seconds
            The time limit.
        hint
            A starting point (integers); used only if it satisfies the model.
        solver
            ``auto``, ``highs`` or ``cp-sat`` (:data:`SOLVERS`).
        workers, seed
            CP-SAT's workers and seed (HiGHS runs its own threads, deterministically).

        Returns
        -------
        Result
        """
        if solver not in SOLVERS:
            raise ValueError(f"unknown solver {solver!r}: one of {', '.join(SOLVERS)}")
        n = len(self.lb)
        if hint is not None and (len(hint) != n or not self.holds(hint)):
            hint = None
        if solver == "auto":
            solver = "cp-sat" if n < SMALL else "highs"
        if solver == "highs":
            with _HIGHS_LOCK:
                res = self._highs(objective, maximize, seconds, hint)
        else:
            res = self._cp_sat(objective, maximize, seconds, hint, workers, seed)
        if res.x is None and hint is not None:  # nothing found in time: the start holds
            value = sum(c * int(hint[v]) for c, v in objective)
            res = Result("FEASIBLE", value, res.bound, hint.copy())
        return res

    def _value(self, objective, x: np.ndarray) -> int:
        return int(sum(c * int(x[v]) for c, v in objective))

    def _highs(self, objective, maximize: bool, seconds: float, hint) -> Result:
        import highspy

        from gapmap.matching.bound import new_highs

        n = len(self.lb)
        worst = -(2**62) if maximize else 2**62
        h = new_highs()
        h.setOptionValue("time_limit", max(0.05, float(seconds)))
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("mip_abs_gap", 0.5)  # the objective is an integer: < 1 proves it
        h.setOptionValue("random_seed", 0)
        for key, val in HIGHS_OPTIONS.items():
            h.setOptionValue(key, val)
        inf = highspy.kHighsInf
        cost = np.zeros(n)
        for c, v in objective:
            cost[v] += c
        h.addVars(n, np.asarray(self.lb, float), np.asarray(self.ub, float))
        idx = np.arange(n, dtype=np.int32)
        h.changeColsCost(n, idx, cost)
        h.changeColsIntegrality(n, idx, np.full(n, highspy.HighsVarType.kInteger))
        for vs, cs, lo, hi in self.rows:
            h.addRow(lo if lo > -math.inf else -inf, hi if hi < math.inf else inf, len(vs),
                     np.asarray(vs, np.int32), np.asarray(cs, float))  # fmt: skip
        sense = highspy.ObjSense
        h.changeObjectiveSense(sense.kMaximize if maximize else sense.kMinimize)
        if hint is not None:
            h.setSolution(n, idx, np.asarray(hint, float))
        h.run()
        status = h.getModelStatus()
        info = h.getInfo()
        x = None
        if info.primal_solution_status == 2:  # a feasible solution
            x = np.rint(np.asarray(h.getSolution().col_value, float)).astype(np.int64)
            if not self.holds(x):
                x = None
        raw = float(info.mip_dual_bound)
        if status == highspy.HighsModelStatus.kOptimal and x is not None:
            bound = self._value(objective, x)
        elif math.isfinite(raw) and abs(raw) < 1e18:
            bound = math.floor(raw + 1e-6) if maximize else math.ceil(raw - 1e-6)
        else:
            bound = -worst
        if x is None:
            return Result("UNKNOWN", 0, bound, None)
        value = self._value(objective, x)
        bound = max(bound, value) if maximize else min(bound, value)
        return Result("OPTIMAL" if bound == value else "FEASIBLE", value, bound, x)

    def _cp_sat(self, objective, maximize: bool, seconds: float, hint, workers: int,
                seed: int) -> Result:  # fmt: skip
        from ortools.sat.python import cp_model

        m = cp_model.CpModel()
        xs = [m.new_int_var(lo, hi, "") for lo, hi in zip(self.lb, self.ub)]
        for vs, cs, lo, hi in self.rows:
            expr = sum(c * xs[v] for c, v in zip(cs, vs))
            if lo > -math.inf and hi < math.inf:
                m.add_linear_constraint(expr, int(math.ceil(lo)), int(math.floor(hi)))
            elif lo > -math.inf:
                m.add(expr >= int(math.ceil(lo)))
            elif hi < math.inf:
                m.add(expr <= int(math.floor(hi)))
        expr = sum(c * xs[v] for c, v in objective)
        if maximize:
            m.maximize(expr)
        else:
            m.minimize(expr)
        if hint is not None:
            for var, val in zip(xs, hint.tolist()):
                m.add_hint(var, int(val))
        s = cp_model.CpSolver()
        s.parameters.max_time_in_seconds = max(0.05, float(seconds))
        s.parameters.num_workers = max(1, workers)
        s.parameters.random_seed = seed
        status = s.solve(m)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            b = s.best_objective_bound
            bound = (math.floor(b + 1e-6) if maximize else math.ceil(b - 1e-6)) if math.isfinite(
                b) else (2**62 if maximize else -(2**62))  # fmt: skip
            return Result("UNKNOWN", 0, bound, None)
        x = np.asarray([s.value(v) for v in xs], np.int64)
        value = self._value(objective, x)
        b = s.best_objective_bound
        bound = math.floor(b + 1e-6) if maximize else math.ceil(b - 1e-6)
        bound = max(bound, value) if maximize else min(bound, value)
        ok = status == cp_model.OPTIMAL or bound == value
        return Result("OPTIMAL" if ok else "FEASIBLE", value, bound, x)
