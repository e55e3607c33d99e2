"""Eligible pairs built a block of people at a time are the pairs built all at once."""

from __future__ import annotations

import numpy as np
import pandas as pd

import gapmap.reach as reach


def test_pairs_by_blocks_equal_pairs_at_once(monkeypatch):
    rng = np.random.default_rng(7)
    n_p, n_v = 700, 90
    providers = pd.DataFrame({
        "x": rng.uniform(0, 20_000, n_v), "y": rng.uniform(0, 20_000, n_v),
        "max_travel_km": rng.choice([3.0, 5.0, 8.0], n_v), "service_mask": rng.integers(1, 8, n_v),
        "cqc_registered": rng.random(n_v) < 0.5,
    })  # fmt: skip
    people = pd.DataFrame({
        "x": rng.uniform(0, 20_000, n_p), "y": rng.uniform(0, 20_000, n_p),
        "max_travel_km": np.where(rng.random(n_p) < 0.3, 4.0, np.nan),
        "service_mask": rng.integers(1, 4, n_p), "regulated_care": rng.random(n_p) < 0.2,
        "self_directing": rng.random(n_p) < 0.9,
    })  # fmt: skip
    monkeypatch.setattr(reach, "PAIRS_BLOCK", 10**9)
    whole = reach.ProviderIndex(providers).pairs(people)
    monkeypatch.setattr(reach, "PAIRS_BLOCK", 37)  # many blocks, the last one short
    blocks = reach.ProviderIndex(providers).pairs(people)
    assert len(whole) > 1000
    for name in ("person", "provider", "distance_km", "limit_km"):
        assert np.array_equal(getattr(whole, name), getattr(blocks, name)), name
    # and every pair obeys the rules, checked here from the registers
    d = np.hypot(
        people.x.to_numpy()[blocks.person] - providers.x.to_numpy()[blocks.provider],
        people.y.to_numpy()[blocks.person] - providers.y.to_numpy()[blocks.provider],
    )
    assert np.allclose(d / 1000, blocks.distance_km)
    assert (blocks.distance_km <= providers.max_travel_km.to_numpy()[blocks.provider] + 1e-9).all()


def test_pairs_equal_an_all_pairs_reading_of_the_rules():
    """Searched by requirement, by travel-limit group and by block, the pairs and their order
    are those of a plain all-pairs reading of SPEC's rules: by person, distance (to the
    micro-kilometre), provider; limits both whole and not, own limits, CQC, many services."""
    rng = np.random.default_rng(11)
    n_p, n_v = 900, 160
    providers = pd.DataFrame({
        "x": rng.uniform(0, 30_000, n_v), "y": rng.uniform(0, 30_000, n_v),
        "max_travel_km": rng.choice([2.5, 4.0, 6.0, 6.3, 9.0], n_v),
        "service_mask": rng.integers(1, 64, n_v), "cqc_registered": rng.random(n_v) < 0.3,
    })  # fmt: skip
    providers.loc[:9, ["x", "y"]] = providers.loc[10:19, ["x", "y"]].to_numpy()  # ties
    people = pd.DataFrame({
        "x": rng.uniform(0, 30_000, n_p), "y": rng.uniform(0, 30_000, n_p),
        "max_travel_km": np.where(rng.random(n_p) < 0.3, rng.uniform(1, 6, n_p), np.nan),
        "service_mask": 1 << rng.integers(0, 6, n_p) | 1 << rng.integers(0, 6, n_p),
        "regulated_care": rng.random(n_p) < 0.2, "self_directing": rng.random(n_p) < 0.9,
    })  # fmt: skip
    circuity = 1.25
    got = reach.ProviderIndex(providers, circuity=circuity).pairs(people)

    px, py = people.x.to_numpy(), people.y.to_numpy()
    vx, vy = providers.x.to_numpy(), providers.y.to_numpy()
    own, v_limit = people.max_travel_km.tolist(), providers.max_travel_km.tolist()
    needs, offers = people.service_mask.tolist(), providers.service_mask.tolist()
    regulated, cqc = people.regulated_care.tolist(), providers.cqc_registered.tolist()
    expected = []
    for p in np.flatnonzero(people.self_directing.to_numpy()).tolist():
        for v in range(n_v):
            d = float(np.sqrt((px[p] - vx[v]) ** 2 + (py[p] - vy[v]) ** 2)) * circuity / 1000.0
            limit = v_limit[v] if np.isnan(own[p]) else min(v_limit[v], own[p])
            if d > limit + 1e-9 or needs[p] & offers[v] != needs[p]:
                continue
            if regulated[p] and not cqc[v]:
                continue
            expected.append((p, round(d * 1e6), v, d, limit))
    expected.sort(key=lambda e: e[:3])
    assert len(got) == len(expected) > 1500
    assert got.person.tolist() == [e[0] for e in expected]
    assert got.provider.tolist() == [e[2] for e in expected]
    assert np.allclose(got.distance_km, [e[3] for e in expected], rtol=0, atol=1e-12)
    assert got.limit_km.tolist() == [e[4] for e in expected]
    per_person = np.bincount(got.person, minlength=n_p)
    assert np.array_equal(np.diff(got.bounds()), per_person)
