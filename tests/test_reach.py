import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gapmap.reach import eligible_pairs


def _registers(rng, n_people, n_providers, spread_m=20_000):
    people = pd.DataFrame(
        {
            "x": 600_000 + rng.uniform(0, spread_m, n_people),
            "y": 150_000 + rng.uniform(0, spread_m, n_people),
            "service_mask": rng.integers(1, 32, n_people),
            "max_travel_km": np.where(
                rng.random(n_people) < 0.3, rng.uniform(1, 8, n_people), np.nan
            ),
            "regulated_care": rng.random(n_people) < 0.2,
            "self_directing": rng.random(n_people) < 0.9,
        }
    )
    providers = pd.DataFrame(
        {
            "x": 600_000 + rng.uniform(0, spread_m, n_providers),
            "y": 150_000 + rng.uniform(0, spread_m, n_providers),
            "service_mask": rng.integers(1, 32, n_providers),
            "max_travel_km": rng.choice([3.0, 5.0, 10.0], n_providers),
            "cqc_registered": rng.random(n_providers) < 0.3,
        }
    )
    return people, providers


def _brute_force(people, providers, circuity=1.0):
    pairs = set()
    for i, p in people.iterrows():
        if not p["self_directing"]:
            continue
        for j, v in providers.iterrows():
            d = np.hypot(p["x"] - v["x"], p["y"] - v["y"]) * circuity / 1000
            if d > v["max_travel_km"] or (
                not np.isnan(p["max_travel_km"]) and d > p["max_travel_km"]
            ):
                continue
            if (p["service_mask"] & v["service_mask"]) != p["service_mask"]:
                continue
            if p["regulated_care"] and not v["cqc_registered"]:
                continue
            pairs.add((i, j))
    return pairs


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_people=st.integers(0, 40),
    n_providers=st.integers(0, 15),
    circuity=st.sampled_from([1.0, 1.3]),
)
def test_pairs_equal_a_brute_force_scan(seed, n_people, n_providers, circuity):
    rng = np.random.default_rng(seed)
    people, providers = _registers(rng, n_people, n_providers)
    reach = eligible_pairs(people, providers, circuity=circuity)
    got = set(zip(reach.person.tolist(), reach.provider.tolist()))
    assert got == _brute_force(people, providers, circuity)
    # sorted by person then distance
    key = list(zip(reach.person, reach.distance_km))
    assert key == sorted(key)


def test_each_rule_excludes_a_pair():
    base_p = {
        "x": 600_000.0,
        "y": 150_000.0,
        "service_mask": 0b00110,
        "max_travel_km": np.nan,
        "regulated_care": False,
        "self_directing": True,
    }
    base_v = {
        "x": 603_000.0,
        "y": 150_000.0,
        "service_mask": 0b01110,
        "max_travel_km": 5.0,
        "cqc_registered": False,
    }

    def n_pairs(p=None, v=None):
        return len(
            eligible_pairs(
                pd.DataFrame([{**base_p, **(p or {})}]), pd.DataFrame([{**base_v, **(v or {})}])
            )
        )

    assert n_pairs() == 1
    assert n_pairs(v={"service_mask": 0b00100}) == 0  # does not offer every service
    assert n_pairs(v={"max_travel_km": 2.9}) == 0  # beyond the provider's limit
    assert n_pairs(p={"max_travel_km": 2.5}) == 0  # beyond the person's own limit
    assert n_pairs(p={"regulated_care": True}) == 0  # needs a CQC-registered provider
    assert n_pairs(p={"regulated_care": True}, v={"cqc_registered": True}) == 1
    assert n_pairs(p={"self_directing": False}) == 0
    assert len(eligible_pairs(pd.DataFrame([base_p]), pd.DataFrame([base_v]), circuity=1.8)) == 0


def test_demo_reach_is_sparse(demo_registers):
    providers, people = demo_registers
    reach = eligible_pairs(people, providers)
    assert 0 < len(reach) < 0.1 * len(people) * len(providers)
    assert (reach.distance_km <= providers["max_travel_km"].to_numpy()[reach.provider] + 1e-9).all()


def test_bad_circuity():
    with pytest.raises(ValueError):
        eligible_pairs(pd.DataFrame(), pd.DataFrame(), circuity=0)
