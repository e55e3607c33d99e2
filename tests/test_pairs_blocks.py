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
