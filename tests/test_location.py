"""The maximal-coverage solvers against brute force (every subset of sites) on small instances.

The capacitated optimum for a fixed set of sites is a transportation problem, solved here with
SciPy's HiGHS (``linprog``), independently of OR-Tools; the best over all subsets is the
optimum the SCIP model must reach.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from gapmap.recruitment.location import (
    capacitated_coverage,
    coverage_matrix,
    greedy_capacitated,
    greedy_max_coverage,
    max_coverage,
)


def _instance(seed: int, n: int = 12, m: int = 8):
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 10_000, (n, 2))
    sites = rng.uniform(0, 10_000, (m, 2))
    weights = rng.integers(1, 50, n).astype(float)
    return rng, demand, sites, weights


def _brute_cover(a: np.ndarray, w: np.ndarray, k: int) -> float:
    m = a.shape[1]
    return max(
        (w[a[:, list(c)].any(axis=1)].sum() for c in itertools.combinations(range(m), k)),
        default=0.0,
    )


def _transport(a, h, p, sites: tuple[int, ...], capacity: float) -> float:
    """max Σ p_i f_ij over the given sites (repeats = several providers), by HiGHS."""
    counts = {j: sites.count(j) for j in set(sites)}
    pairs = [(i, j) for i in range(len(h)) for j in counts if a[i, j]]
    if not pairs:
        return 0.0
    a_ub, b_ub = [], []
    for i in range(len(h)):
        a_ub.append([1.0 if pi == i else 0.0 for pi, _ in pairs])
        b_ub.append(h[i])
    for j, c in counts.items():
        a_ub.append([1.0 if pj == j else 0.0 for _, pj in pairs])
        b_ub.append(capacity * c)
    res = linprog([-p[i] for i, _ in pairs], A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
    return -res.fun


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("k", [1, 3])
def test_max_coverage_equals_brute_force(seed, k):
    _, d, s, w = _instance(seed)
    radius = 3_500.0
    a = coverage_matrix(d, s, radius).toarray()
    best = _brute_cover(a, w, k)
    got = max_coverage(d, w, s, radius, k)
    assert got.status == "OPTIMAL"
    assert got.objective == pytest.approx(best)
    assert len(got.sites) <= k
    # the reported cover is what the chosen sites really reach
    assert got.objective == pytest.approx(w[a[:, got.sites].any(axis=1)].sum())
    greedy = greedy_max_coverage(d, w, s, radius, k)
    assert greedy.objective <= best + 1e-9
    # greedy is within 1 - 1/e of the optimum (Nemhauser, Wolsey and Fisher)
    assert greedy.objective >= (1 - 1 / np.e) * best - 1e-9


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("per_site", [1, 2])
def test_capacitated_equals_brute_force(seed, per_site):
    rng, d, s, h = _instance(seed, n=10, m=6)
    p = rng.choice([1.0, 1.5, 2.0], len(h))
    radius, k, capacity = 4_000.0, 3, 40.0
    a = coverage_matrix(d, s, radius).toarray()
    subsets = [
        c
        for c in itertools.combinations_with_replacement(range(len(s)), k)
        if max(c.count(j) for j in set(c)) <= per_site
    ]
    best = max(_transport(a, h, p, c, capacity) for c in subsets)
    got = capacitated_coverage(d, h, s, radius, k, capacity, priority=p, per_site=per_site)
    assert got.objective == pytest.approx(best, rel=1e-6, abs=1e-6)
    assert got.gap <= 1e-4
    # the flows keep every rule
    fi, fj, fv = got.flows
    assert np.all(fv >= 0)
    assert np.all(a[fi, fj]), "hours taken from beyond the radius"
    assert np.all(np.bincount(fi, fv, len(h)) <= h + 1e-6)
    at = dict(zip(got.sites.tolist(), got.providers_at.tolist()))
    assert sum(at.values()) <= k and max(at.values(), default=0) <= per_site
    for j in set(fj.tolist()):
        assert fv[fj == j].sum() <= capacity * at[j] + 1e-6
    assert float((p[fi] * fv).sum()) == pytest.approx(got.objective)
    greedy = greedy_capacitated(d, h, s, radius, k, capacity, priority=p, per_site=per_site)
    assert greedy.objective <= best + 1e-6


def test_capacity_bound_makes_a_full_greedy_optimal():
    # demand far above K x C everywhere: the greedy fills every provider, which is optimal
    _, d, s, _ = _instance(1)
    h = np.full(len(d), 1_000.0)
    got = capacitated_coverage(d, h, s, 20_000.0, 2, 27.0)
    assert got.status == "OPTIMAL" and got.objective == pytest.approx(54.0)


def test_bad_arguments_are_refused():
    _, d, s, w = _instance(0)
    with pytest.raises(ValueError, match="larger than the number of candidate sites"):
        max_coverage(d, w, s, 1000.0, len(s) + 1)
    with pytest.raises(ValueError, match="not negative"):
        max_coverage(d, -w, s, 1000.0, 2)
    with pytest.raises(ValueError, match="radius"):
        coverage_matrix(d, s, -1.0)
    with pytest.raises(ValueError, match="time limit"):
        max_coverage(d, w, s, 1000.0, 2, time_limit_s=0)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(0, 10_000),
    st.integers(1, 4),
    st.floats(500.0, 6_000.0),
)
def test_more_sites_never_cover_less(seed, k, radius):
    """Invariants: the optimum grows with K and never falls below the greedy start."""
    _, d, s, w = _instance(seed, n=15, m=7)
    small = max_coverage(d, w, s, radius, k)
    large = max_coverage(d, w, s, radius, k + 1)
    assert large.objective >= small.objective - 1e-9
    assert small.objective >= greedy_max_coverage(d, w, s, radius, k).objective - 1e-9
    assert small.objective <= w.sum() + 1e-9
