"""Where to put K new providers: maximal-coverage location, plain and capacitated.

Stand-alone solvers on plain arrays (demand points with weights, candidate sites, a radius and
K), so they can be checked against other implementations; :mod:`gapmap.recruitment.targeting`
feeds them the unmet need of the gap analysis.

**Maximal covering location problem** (Church and ReVelle, 1974). Demand point i has weight
w_i ≥ 0; N_i is the set of candidate sites within the radius of i (and within i's own limit,
if given). Choose at most K sites:

.. math::

    \\max \\sum_i w_i y_i \\quad\\text{s.t.}\\quad
    y_i \\le \\sum_{j \\in N_i} x_j,\\quad \\sum_j x_j \\le K,\\quad x_j, y_i \\in \\{0, 1\\}.

Solved with HiGHS's branch and cut (an LP-based MIP solver, through ``highspy``: the
formulation's LP relaxation is strong, which is what proves the optimum quickly, as spopt does
with CBC), started from the greedy solution (:func:`greedy_max_coverage`: add the site with
the largest uncovered weight in reach, one at a time; within 1 − 1/e of the optimum).

**Capacitated variant.** Demand point i has h_i hours and priority p_i; each new provider can
give at most C hours a week; f_ij ≥ 0 are the hours of i taken by site j:

.. math::

    \\max \\sum_{i, j \\in N_i} p_i f_{ij} \\quad\\text{s.t.}\\quad
    \\sum_j f_{ij} \\le h_i,\\quad \\sum_i f_{ij} \\le C x_j,\\quad \\sum_j x_j \\le K,
    \\quad x_j \\in \\{0, 1, \\dots, M\\}.

x_j is the number of new providers at site j, at most M (``per_site``, default 1: then the
plain 0/1 choice).

A mixed-integer programme (the flows are continuous), solved with SCIP through OR-Tools'
``pywraplp`` and started from :func:`greedy_capacitated`. (The textbook strengthening
f_ij ≤ h_i x_j was tried and left out: on the Kent demo it made SCIP 5 times slower.) When the
greedy start already fills all K × C hours from the highest-priority hours in reach, it is
optimal by the capacity bound and no solver is needed.

Distances are straight lines in metres in British National Grid.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from gapmap.reach import distance_km, site_pairs
from gapmap.settings import Settings

#: time limits and workers default to the study's options (one place: :class:`Settings`)
_DEFAULTS = Settings()

__all__ = [
    "SiteChoice",
    "capacitated_coverage",
    "coverage_matrix",
    "greedy_capacitated",
    "greedy_max_coverage",
    "max_coverage",
]


@dataclass
class SiteChoice:
    """The chosen sites and how good the choice is.

    ``objective`` is the weight covered (or priority-weighted hours assigned); ``bound`` a proven
    upper bound on it (equal to ``objective`` when optimal); ``assigned`` (capacitated only) the
    hours of each demand point taken, ``site_hours`` the hours each chosen site takes.
    """

    sites: np.ndarray
    objective: float
    bound: float
    status: str
    seconds: float
    method: str
    covered: np.ndarray | None = None
    assigned: np.ndarray | None = None
    site_hours: np.ndarray | None = None
    flows: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    providers_at: np.ndarray | None = None

    @property
    def gap(self) -> float:
        """Relative gap to the bound (0 when proven optimal)."""
        if self.bound <= 0:
            return 0.0
        return max(0.0, (self.bound - self.objective) / self.bound)


def coverage_matrix(
    demand_xy: np.ndarray,
    site_xy: np.ndarray,
    radius_m: float,
    demand_limit_m: np.ndarray | None = None,
    *,
    circuity: float = 1.0,
) -> sparse.csr_matrix:
    """Boolean sparse matrix (demand × sites): site j is within reach of demand point i.

    Reach is the rule of :func:`gapmap.reach.site_pairs` (distance × circuity within the radius
    and within the point's own limit, if any), found with k-d trees, never dense.

    Parameters
    ----------
    demand_xy, site_xy
        (n, 2) and (m, 2) British National Grid metres.
    radius_m
        How far a site reaches (metres, compared with distance × circuity).
    demand_limit_m
        Each demand point's own limit in metres (NaN: none).
    circuity
        As in :func:`gapmap.reach.road_km`.

    Returns
    -------
    scipy.sparse.csr_matrix
        bool, shape (n, m).
    """
    demand_xy = np.asarray(demand_xy, float).reshape(-1, 2)
    site_xy = np.asarray(site_xy, float).reshape(-1, 2)
    if radius_m < 0:
        raise ValueError("the radius must not be negative")
    own = None if demand_limit_m is None else np.asarray(demand_limit_m, float) / 1000.0
    i, j, _ = site_pairs(
        demand_xy, site_xy, radius_m / 1000.0, circuity=circuity, demand_limit_km=own
    )
    return sparse.csr_matrix(
        (np.ones(len(i), dtype=bool), (i, j)), shape=(len(demand_xy), len(site_xy))
    )


def _check(weights: np.ndarray, n_sites: int, k: int) -> None:
    if np.any(~np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("weights must be finite and not negative")
    if k < 0:
        raise ValueError("K must not be negative")
    if k > n_sites:
        raise ValueError(f"K ({k}) is larger than the number of candidate sites ({n_sites})")


def greedy_max_coverage(
    demand_xy: np.ndarray,
    weights: np.ndarray,
    site_xy: np.ndarray,
    radius_m: float,
    k: int,
    *,
    demand_limit_m: np.ndarray | None = None,
    matrix: sparse.csr_matrix | None = None,
) -> SiteChoice:
    """Add the site that covers the most uncovered weight, K times (the baseline).

    Ties go to the lower site index; a site that adds nothing is not added.

    Parameters
    ----------
    demand_xy, weights, site_xy, radius_m, k
        Demand points and their weights, candidate sites, the reach of a site (metres) and
        how many sites to choose.
    demand_limit_m
        Each demand point's own limit (NaN: none).
    matrix
        The coverage matrix, if already built (:func:`coverage_matrix`).

    Returns
    -------
    SiteChoice
    """
    t0 = time.perf_counter()
    w = np.asarray(weights, float)
    a = (
        matrix
        if matrix is not None
        else coverage_matrix(demand_xy, site_xy, radius_m, demand_limit_m)
    )
    _check(w, a.shape[1], k)
    at = a.T.tocsr().astype(np.float64)
    uncovered = w.copy()
    chosen: list[int] = []
    covered = np.zeros(len(w), bool)
    for _ in range(k):
        gain = at @ uncovered
        if chosen:
            gain[chosen] = -1.0
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        chosen.append(j)
        rows = a[:, j].nonzero()[0]
        covered[rows] = True
        uncovered[rows] = 0.0
    obj = float(w[covered].sum())
    return SiteChoice(
        np.array(sorted(chosen), dtype=np.int64),
        obj,
        float(w[np.asarray(a.sum(axis=1)).ravel() > 0].sum()),  # trivial bound: all coverable
        "GREEDY",
        time.perf_counter() - t0,
        "greedy",
        covered=covered,
    )


def max_coverage(
    demand_xy: np.ndarray,
    weights: np.ndarray,
    site_xy: np.ndarray,
    radius_m: float,
    k: int,
    *,
    demand_limit_m: np.ndarray | None = None,
    time_limit_s: float = _DEFAULTS.recruit_time_limit_s,
    workers: int = _DEFAULTS.workers,
    matrix: sparse.csr_matrix | None = None,
) -> SiteChoice:
    """The maximal covering location problem, solved to proven optimality by a MIP solver.

    The formulation of the module docstring (y relaxed to [0, 1]: at an optimum it is 1 exactly
    where a chosen site reaches the point) is solved by HiGHS's branch and cut (``highspy``),
    started from the greedy choice: an LP-based solver proves the optimum where CP-SAT could
    not (Kent's 938 LSOAs at 2 km, K = 60: seconds instead of no proof in a minute).

    Parameters
    ----------
    demand_xy
        Demand points, shape (n, 2), British National Grid metres.
    weights
        Weight of each demand point (e.g. unmet hours a week), not negative.
    site_xy
        Candidate sites, shape (m, 2).
    radius_m
        A site reaches a demand point within this distance (metres).
    k
        At most this many sites (``k`` ≤ m).
    demand_limit_m
        Optional own limit of each demand point (NaN: none).
    time_limit_s
        The solver's time limit.
    workers
        Kept for the interface (HiGHS's branch and cut runs on one thread).

    Returns
    -------
    SiteChoice
        ``status`` ``OPTIMAL`` when proven; ``objective`` the weight covered; ``bound`` the
        solver's proven upper bound.

    Examples
    --------
    >>> d = np.array([[0.0, 0.0], [5000.0, 0.0], [10000.0, 0.0]])
    >>> s = np.array([[0.0, 0.0], [10000.0, 0.0]])
    >>> max_coverage(d, np.array([1.0, 5.0, 2.0]), s, 6000.0, 1).objective
    7.0
    """
    import highspy

    if time_limit_s <= 0:
        raise ValueError("the time limit must be positive")
    t0 = time.perf_counter()
    w = np.asarray(weights, float)
    a = (
        matrix
        if matrix is not None
        else coverage_matrix(demand_xy, site_xy, radius_m, demand_limit_m)
    )
    _check(w, a.shape[1], k)
    start = greedy_max_coverage(demand_xy, w, site_xy, radius_m, k, matrix=a)
    assert start.covered is not None
    rows = np.flatnonzero((np.asarray(a.sum(axis=1)).ravel() > 0) & (w > 0))
    if len(rows) == 0 or k == 0:
        return SiteChoice(
            start.sites, start.objective, start.objective, "OPTIMAL", time.perf_counter() - t0,
            "highs", covered=start.covered,
        )  # fmt: skip
    sub = a[rows].tocsc().astype(np.float64)
    n_site, n_dem = sub.shape[1], len(rows)
    from gapmap.matching.bound import new_highs

    h = new_highs()
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", 1e-9)
    inf = highspy.kHighsInf
    # columns: x_j (binary) then y_i (continuous in [0, 1])
    costs = np.concatenate([np.zeros(n_site), w[rows]])
    lower = np.zeros(n_site + n_dem)
    upper = np.ones(n_site + n_dem)
    h.addVars(n_site + n_dem, lower, upper)
    h.changeColsCost(n_site + n_dem, np.arange(n_site + n_dem, dtype=np.int32), costs)
    h.changeColsIntegrality(
        n_site, np.arange(n_site, dtype=np.int32),
        np.array([highspy.HighsVarType.kInteger] * n_site),
    )  # fmt: skip
    # rows: y_i - sum_{j in N_i} x_j <= 0, then sum_j x_j <= K
    csr = sub.tocsr()
    starts: list[int] = []
    index: list[int] = []
    value: list[float] = []
    for r in range(n_dem):
        starts.append(len(index))
        js = csr.indices[csr.indptr[r] : csr.indptr[r + 1]]
        index += [n_site + r, *js.tolist()]
        value += [1.0, *([-1.0] * len(js))]
    starts.append(len(index))
    index += list(range(n_site))
    value += [1.0] * n_site
    h.addRows(
        n_dem + 1, np.full(n_dem + 1, -inf), np.concatenate([np.zeros(n_dem), [float(k)]]),
        len(index), np.array(starts, np.int32), np.array(index, np.int32), np.array(value),
    )  # fmt: skip
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    x0 = np.zeros(n_site + n_dem)
    x0[start.sites] = 1.0
    x0[n_site:] = start.covered[rows].astype(float)
    sol = highspy.HighsSolution()
    sol.col_value = x0.tolist()
    sol.value_valid = True
    h.setSolution(sol)
    h.run()
    status = h.getModelStatus()
    values = np.asarray(h.getSolution().col_value, float)
    if len(values) != n_site + n_dem:
        values = x0
    sites = np.flatnonzero(values[:n_site] > 0.5).astype(np.int64)
    covered = np.asarray(a[:, sites].sum(axis=1)).ravel() > 0
    obj = float(w[covered].sum())
    if start.objective > obj:  # never worse than where it started
        sites, covered, obj = start.sites, start.covered, start.objective
    optimal = status == highspy.HighsModelStatus.kOptimal
    info = h.getInfo()
    bound = obj if optimal else max(obj, float(info.mip_dual_bound))
    return SiteChoice(
        sites, obj, bound, "OPTIMAL" if optimal else "FEASIBLE", time.perf_counter() - t0,
        "highs", covered=covered,
    )  # fmt: skip


def _pairs(a: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    coo = a.tocoo()
    return coo.row.astype(np.int64), coo.col.astype(np.int64)


def greedy_capacitated(
    demand_xy: np.ndarray,
    hours: np.ndarray,
    site_xy: np.ndarray,
    radius_m: float,
    k: int,
    capacity: float,
    *,
    priority: np.ndarray | None = None,
    per_site: int = 1,
    demand_limit_m: np.ndarray | None = None,
    matrix: sparse.csr_matrix | None = None,
) -> SiteChoice:
    """Add, K times, the site whose C hours would take the most priority-weighted unmet hours.

    A site's gain fills its capacity from the highest-priority hours in reach; once chosen, it
    takes them (highest priority first, then nearest).

    Parameters
    ----------
    demand_xy, hours, site_xy, radius_m, k, capacity
        Demand points and their hours, candidate sites, the reach of a site (metres), how many
        new providers and the hours each gives.
    priority
        Weight of each demand point's hours (default 1).
    per_site
        At most this many new providers at one site.
    demand_limit_m, matrix
        As for :func:`greedy_max_coverage`.

    Returns
    -------
    SiteChoice
    """
    t0 = time.perf_counter()
    h = np.asarray(hours, float)
    p = np.ones(len(h)) if priority is None else np.asarray(priority, float)
    a = (
        matrix
        if matrix is not None
        else coverage_matrix(demand_xy, site_xy, radius_m, demand_limit_m)
    )
    if per_site < 1:
        raise ValueError("at least one provider per site")
    _check(h, a.shape[1] * per_site, k)
    _check(p, a.shape[1], 0)
    if capacity <= 0:
        raise ValueError("the hours a new provider gives must be positive")
    at = a.T.tocsr().astype(np.float64)
    levels = np.unique(np.round(p, 6))[::-1]
    level_of = [np.round(p, 6) == lv for lv in levels]
    dxy = np.asarray(demand_xy, float).reshape(-1, 2)
    sxy = np.asarray(site_xy, float).reshape(-1, 2)
    left = h.copy()
    assigned = np.zeros(len(h))
    chosen: list[int] = []
    count = np.zeros(a.shape[1], dtype=np.int64)
    site_hours = np.zeros(a.shape[1])
    fi, fj, fv = [], [], []
    obj = 0.0
    for _ in range(k):
        room = np.full(a.shape[1], float(capacity))
        gain = np.zeros(a.shape[1])
        for lv, mask in zip(levels, level_of):
            take = np.minimum(room, at @ (left * mask))
            gain += lv * take
            room -= take
        gain[count >= per_site] = -1.0
        j = int(np.argmax(gain))
        if gain[j] <= 1e-12:
            break
        chosen.append(j)
        count[j] += 1
        rows = a[:, j].nonzero()[0]
        d = distance_km(dxy[rows], sxy[j])  # nearest first, among equal priorities
        order = np.lexsort((d, -p[rows]))
        cap = float(capacity)
        used = 0.0
        for i in rows[order]:
            if cap <= 1e-12:
                break
            t = min(cap, left[i])
            if t <= 0:
                continue
            left[i] -= t
            assigned[i] += t
            cap -= t
            used += t
            obj += p[i] * t
            fi.append(i)
            fj.append(j)
            fv.append(t)
        site_hours[j] += used
    sites = np.flatnonzero(count)
    return SiteChoice(
        sites,
        obj,
        np.inf,
        "GREEDY",
        time.perf_counter() - t0,
        "greedy",
        assigned=assigned,
        site_hours=site_hours[sites],
        flows=(np.array(fi, np.int64), np.array(fj, np.int64), np.array(fv)),
        providers_at=count[sites],
    )


def capacitated_coverage(
    demand_xy: np.ndarray,
    hours: np.ndarray,
    site_xy: np.ndarray,
    radius_m: float,
    k: int,
    capacity: float,
    *,
    priority: np.ndarray | None = None,
    per_site: int = 1,
    demand_limit_m: np.ndarray | None = None,
    time_limit_s: float = _DEFAULTS.recruit_time_limit_s,
    matrix: sparse.csr_matrix | None = None,
) -> SiteChoice:
    """The capacitated maximal-coverage model, solved with SCIP (see the module docstring).

    Parameters
    ----------
    hours
        Unmet hours a week at each demand point.
    capacity
        Hours a week each new provider can give (C).
    priority
        Weight per hour of each demand point (default 1).
    per_site
        At most this many new providers at one site (M).

    Returns
    -------
    SiteChoice
        ``objective`` is Σ p_i f_ij, ``assigned`` the hours taken at each demand point,
        ``site_hours`` the hours each chosen site takes and ``providers_at`` how many new providers
    it has (capacitated, when more than one may share a site).
    """
    from ortools.linear_solver import pywraplp

    if time_limit_s <= 0:
        raise ValueError("the time limit must be positive")
    t0 = time.perf_counter()
    h = np.asarray(hours, float)
    p = np.ones(len(h)) if priority is None else np.asarray(priority, float)
    a = (
        matrix
        if matrix is not None
        else coverage_matrix(demand_xy, site_xy, radius_m, demand_limit_m)
    )
    start = greedy_capacitated(
        demand_xy, h, site_xy, radius_m, k, capacity, priority=p, per_site=per_site, matrix=a
    )
    keep_rows = (h > 0) & (p > 0)
    # capacity bound: K × C hours, filled from the highest priorities among coverable hours
    coverable = keep_rows & (np.asarray(a.sum(axis=1)).ravel() > 0)
    order = np.argsort(-p[coverable], kind="stable")
    hp, pp = h[coverable][order], p[coverable][order]
    room = np.clip(k * float(capacity) - np.concatenate([[0.0], np.cumsum(hp)[:-1]]), 0.0, None)
    cap_bound = float((pp * np.minimum(hp, room)).sum())
    pi, pj = _pairs(a)
    sel = keep_rows[pi]
    pi, pj = pi[sel], pj[sel]
    sites = np.unique(pj)
    if len(pi) == 0 or k == 0 or start.objective >= cap_bound * (1 - 1e-9):
        return SiteChoice(
            start.sites, start.objective, start.objective, "OPTIMAL", time.perf_counter() - t0,
            "greedy, optimal by the capacity bound", assigned=start.assigned,
            site_hours=start.site_hours, flows=start.flows, providers_at=start.providers_at,
        )  # fmt: skip
    solver = pywraplp.Solver.CreateSolver("SCIP")
    if solver is None:  # pragma: no cover - SCIP ships with the OR-Tools wheels
        raise RuntimeError("OR-Tools was built without SCIP")
    x = {int(j): solver.IntVar(0.0, float(per_site), f"x{j}") for j in sites}
    f = [solver.NumVar(0.0, float(h[i]), f"f{n}") for n, i in enumerate(pi)]
    by_i: dict[int, list] = {}
    by_j: dict[int, list] = {}
    for n, (i, j) in enumerate(zip(pi.tolist(), pj.tolist())):
        by_i.setdefault(i, []).append(f[n])
        by_j.setdefault(j, []).append(f[n])
    for i, fs in by_i.items():
        solver.Add(solver.Sum(fs) <= float(h[i]))
    for j, fs in by_j.items():
        solver.Add(solver.Sum(fs) <= float(capacity) * x[j])
    solver.Add(solver.Sum(list(x.values())) <= k)
    objective = solver.Objective()
    for n, i in enumerate(pi.tolist()):
        objective.SetCoefficient(f[n], float(p[i]))
    objective.SetMaximization()
    # warm start from the greedy choice
    assert start.flows is not None and start.providers_at is not None
    gi, gj, gv = start.flows
    start_flow = {(int(i), int(j)): float(v) for i, j, v in zip(gi, gj, gv)}
    chosen0 = dict(zip(start.sites.tolist(), start.providers_at.tolist()))
    hint_vars = list(x.values()) + f
    hint_vals = [float(chosen0.get(j, 0)) for j in x] + [
        start_flow.get((int(i), int(j)), 0.0) for i, j in zip(pi, pj)
    ]
    solver.SetHint(hint_vars, hint_vals)
    solver.SetTimeLimit(int(time_limit_s * 1000))
    solver.SetNumThreads(1)
    status = solver.Solve()
    names = {
        pywraplp.Solver.OPTIMAL: "OPTIMAL",
        pywraplp.Solver.FEASIBLE: "FEASIBLE",
        pywraplp.Solver.INFEASIBLE: "INFEASIBLE",
        pywraplp.Solver.NOT_SOLVED: "NOT_SOLVED",
    }
    name = names.get(status, str(status))
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        result = start
        result.bound, result.status = np.inf, "GREEDY (solver found nothing in time)"
        return result
    n_at = {j: int(round(v.solution_value())) for j, v in x.items()}
    fv = np.array([v.solution_value() for v in f])
    fv[fv < 1e-9] = 0.0
    # the flows of a site not chosen are 0 up to tolerance; drop any remainder
    fv = np.where([n_at[j] > 0 for j in pj.tolist()], fv, 0.0)
    assigned = np.bincount(pi, weights=fv, minlength=len(h))
    site_tot = np.bincount(pj, weights=fv, minlength=a.shape[1])
    # a provider with nothing to take is not recommended (the objective does not mind them)
    n_at = {j: min(c, int(np.ceil(site_tot[j] / capacity - 1e-6))) for j, c in n_at.items()}
    chosen = np.array(sorted(j for j, c in n_at.items() if c > 0), dtype=np.int64)
    obj = float((p[pi] * fv).sum())
    bound = min(float(objective.BestBound()), cap_bound)
    if start.objective > obj + 1e-9:
        return SiteChoice(
            start.sites, start.objective, max(bound, start.objective), name,
            time.perf_counter() - t0, "scip", assigned=start.assigned,
            site_hours=start.site_hours, flows=start.flows, providers_at=start.providers_at,
        )  # fmt: skip
    if name == "OPTIMAL":
        bound = max(obj, min(bound, obj * (1 + 1e-6)))
    nz = fv > 0
    return SiteChoice(
        chosen,
        obj,
        max(bound, obj),
        name,
        time.perf_counter() - t0,
        "scip",
        assigned=assigned,
        site_hours=site_tot[chosen],
        flows=(pi[nz], pj[nz], fv[nz]),
        providers_at=np.array([n_at[int(j)] for j in chosen], dtype=np.int64),
    )
