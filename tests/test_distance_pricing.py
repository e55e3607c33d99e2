"""Every person priced at once: the same cheapest patterns as the one-class-at-a-time pricing,
and every Lagrangian value a lower bound (never above the LP, nor above any feasible
matching)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gapmap.matching.distance_pricing import DistancePricer, lagrangian_bound
from gapmap.matching.greedy import greedy_match, journey_km
from gapmap.matching.journeys import _penalty, _price, _Priced, distance_bound
from gapmap.matching.patterns import class_arrays
from gapmap.reach import room_units

from .test_journeys import _setup, every_feasible_km


def _pricer(study, options, matches):
    room = room_units(study.providers)
    people = sorted(matches)
    classes = {p: class_arrays(options[p], study.settings, room) for p in people}
    pricer = DistancePricer(
        people, classes, {p: options[p].distance for p in people},
        {p: _penalty(options[p], study.settings) for p in people},
    )  # fmt: skip
    return pricer, classes, room, people


@pytest.mark.parametrize("seed", range(6))
def test_every_class_priced_as_one_at_a_time(seed):
    study, options = _setup(seed)
    greedy = greedy_match(study.people, study.providers, options, study.settings)
    if not greedy.matches:
        pytest.skip("nobody matched on this instance")
    pricer, classes, room, people = _pricer(study, options, greedy.matches)
    rng = np.random.default_rng(seed)
    for scale in (0.0, 0.001, 0.05):
        mu = rng.random(len(room)) * scale
        cost, ways = pricer.price(mu)
        j = 0
        for p in people:
            for cls in classes[p]:
                if not len(cls.providers):
                    continue
                want = _price(_Priced(cls, options[p].distance,
                                      _penalty(options[p], study.settings)), mu)  # fmt: skip
                if np.isinf(want[0]):
                    assert np.isinf(cost[j])
                else:
                    assert cost[j] == pytest.approx(want[0], abs=1e-9)
                    v, w, c = ways[j].tolist()
                    d = options[p].distance
                    again = d[v] + cls.a * mu[v]  # the way given costs what is said
                    again += d[w] + cls.b * mu[w] if w >= 0 else 0.0
                    again += (
                        (d[c] + cls.r * mu[c])
                        if c >= 0
                        else (
                            _penalty(options[p], study.settings) if cls.cover_optional else np.inf
                        )
                    )
                    assert again == pytest.approx(cost[j], abs=1e-9)
                    assert v != w and c not in (v, w) or c < 0
                j += 1
        assert j == pricer.n_classes


@pytest.mark.parametrize("seed", range(4))
def test_the_subgradient_bound_is_below_the_lp_and_above_the_shortest_ways(seed):
    study, options = _setup(seed)
    greedy = greedy_match(study.people, study.providers, options, study.settings)
    if not greedy.matches:
        pytest.skip("nobody matched on this instance")
    pricer, _, room, _ = _pricer(study, options, greedy.matches)
    lp, converged = distance_bound(greedy.matches, options, room, study.settings)
    assert converged
    upper = journey_km(greedy.matches, options)
    at_zero = pricer.lagrangian(np.zeros(len(room)), room)[0]
    bound, mu, rounds = lagrangian_bound(pricer, room, upper, 2.0)
    assert at_zero - 1e-9 <= bound <= lp + 1e-6
    assert (mu >= 0).all() and rounds >= 1
    assert pricer.lagrangian(mu, room)[0] == pytest.approx(bound)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), prices=st.integers(0, 10_000))
def test_any_prices_give_a_bound_below_every_feasible_matching(seed, prices):
    """Weak duality, checked by brute force on tiny registers: whatever μ ≥ 0 is, L(μ) is at
    most the km of the shortest feasible matching of the same people."""
    from gapmap.matching.candidates import build_candidates

    from .helpers import box_study, small_instance

    people, providers = small_instance(seed, n_people=7, n_providers=5)
    people["needs_cover"] = True
    study = box_study(people, providers, match_time_limit_s=10)
    options = build_candidates(study.people, study.providers, study.reach, in_area=study.in_area)
    greedy = greedy_match(study.people, study.providers, options, study.settings)
    if not greedy.matches:
        return
    feasible = every_feasible_km(study, sorted(greedy.matches))
    pricer, _, room, _ = _pricer(study, options, greedy.matches)
    mu = np.random.default_rng(prices).exponential(0.02, len(room))
    assert pricer.lagrangian(mu, room)[0] <= min(feasible) + 1e-6


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), prices=st.integers(0, 10_000),
       without_cover=st.booleans())  # fmt: skip
def test_objective_one_priced_at_once_as_one_class_at_a_time(seed, prices, without_cover):
    """The column generation of objective (1) prices every person at once (no km, the
    capacity prices alone): each person gains what the one-class-at-a-time pricing gives, by a
    pattern of their own lists that costs what is said (no cover where one may be left out)."""
    from gapmap.matching.bound import _best_patterns
    from gapmap.matching.candidates import build_candidates
    from gapmap.matching.distance_pricing import DistancePricer
    from gapmap.matching.patterns import price_patterns

    from .helpers import box_study, small_instance

    people, providers = small_instance(seed, n_people=14, n_providers=6)
    people["needs_cover"] = np.random.default_rng(seed).random(len(people)) < 0.6
    study = box_study(people, providers, allow_without_cover=without_cover)
    options = build_candidates(
        study.people, study.providers, study.reach,
        allow_without_cover=without_cover, in_area=study.in_area,
    )  # fmt: skip
    room = room_units(study.providers)
    ids = [o.person for o in options if not o.reason]
    classes = {p: class_arrays(options[p], study.settings, room) for p in ids}
    weight = np.array([options[p].priority * options[p].hours for p in ids], float)
    rng = np.random.default_rng(prices)
    # prices of zero too (ties everywhere), as the first rounds have
    pi = rng.exponential(0.02, len(room)) * (rng.random(len(room)) < 0.6)
    gain, best = _best_patterns(DistancePricer(ids, classes, None, None), weight, pi)
    for i, p in enumerate(ids):
        want = max([0.0] + [weight[i] - price_patterns(c, pi)[0] for c in classes[p]])
        assert gain[i] == pytest.approx(want, abs=1e-9)
        if want <= 0:
            continue
        k, v, w, c = best[i].tolist()
        cls = classes[p][k]
        assert v in cls.providers.tolist()
        assert w in cls.partners.tolist() if len(cls.partners) else w == -1
        assert c == -1 if cls.cover_optional else c in cls.covers.tolist()
        assert v != w and (c == -1 or c not in (v, w))
        cost = cls.a * pi[v] + (cls.b * pi[w] if w >= 0 else 0.0)
        cost += cls.r * pi[c] if c >= 0 else 0.0
        assert weight[i] - cost == pytest.approx(want, abs=1e-9)
