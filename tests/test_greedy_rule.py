"""The greedy baseline is exactly its stated rule: an independent implementation, written here
from the rule in :mod:`gapmap.matching.greedy`'s docstring, the registers and the eligible
pairs (not from the candidate lists), must give the same matching on random registers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gapmap.matching import check_matching
from gapmap.matching.candidates import build_candidates
from gapmap.matching.greedy import greedy_match
from gapmap.vocab import parse_days, parse_services

from .conftest import box_study

DAYS = ["Mon-Fri", "Mon;Wed", "Sat;Sun", "all", "Tue;Thu;Sat", "Mon-Sat", "Sun", "Wed", "Mon"]


def _bits(mask: int) -> set[int]:
    return {i for i in range(7) if mask >> i & 1}


def rule_by_hand(study) -> dict[int, tuple[int, int, int]]:
    """The rule, written apart: person -> (provider, partner or -1, cover or -1)."""
    people, providers, s = study.people, study.providers, study.settings
    reach = study.reach
    near: dict[int, dict[int, float]] = {}
    for p, v, d in zip(reach.person.tolist(), reach.provider.tolist(), reach.distance_km.tolist()):
        near.setdefault(p, {})[v] = d
    room = [
        math.floor(max(0.0, c - u) * 100 + 1e-9)
        for c, u in zip(providers["capacity_hours"], providers["committed_hours"])
    ]
    units = lambda h: math.ceil(h * 100 - 1e-9)  # noqa: E731
    vdays = [_bits(int(m)) for m in providers["day_mask"]]
    willing = providers["cover"].astype(bool).tolist()
    inside = study.in_area
    order = sorted(range(len(people)), key=lambda p: (-int(people["priority"].iloc[p]), p))
    out = {}
    for p in order:
        if not inside[p] or not bool(people["self_directing"].iloc[p]):
            continue
        P = _bits(int(people["day_mask"].iloc[p]))
        hours = float(people["hours"].iloc[p])
        needs = bool(people["needs_cover"].iloc[p])
        elig = near.get(p, {})
        by_distance = sorted(elig, key=lambda v: (elig[v], v))
        chosen = None
        for v in by_distance:
            T = P & vdays[v]
            if not T:
                continue
            own = hours * (len(T) / len(P))
            if room[v] < units(own):
                continue
            S = P - T
            ws = [w for w in by_distance if w != v and S <= vdays[w]] if S else [-1]
            ws = [w for w in ws if w < 0 or room[w] >= units(hours - own)]
            for w in ws:
                c = -1
                if needs:
                    reserve = units(s.absence_rate * own)
                    cs = [c for c in by_distance if willing[c] and T <= vdays[c]]
                    cs = [c for c in cs if c not in (v, w) and room[c] >= reserve]
                    if cs:
                        c = cs[0]
                    elif not s.allow_without_cover:
                        continue
                chosen = (v, w, c, own)
                break
            if chosen:
                break
        if chosen is None:
            continue
        v, w, c, own = chosen
        room[v] -= units(own)
        if w >= 0:
            room[w] -= units(hours - own)
        if c >= 0:
            room[c] -= units(s.absence_rate * own)
        out[p] = (v, w, c)
    return out


@st.composite
def registers(draw):
    """Small registers on a 500 m grid (so that equal distances happen), tight room."""
    n_p = draw(st.integers(1, 14))
    n_v = draw(st.integers(1, 8))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    grid = lambda n: 600_000 + 500.0 * rng.integers(0, 12, n)  # noqa: E731
    people = pd.DataFrame(
        {
            "person_id": [f"P{i}" for i in range(n_p)],
            "x": grid(n_p),
            "y": grid(n_p) - 450_000,
            "hours": rng.choice([1.0, 2.0, 2.5, 3.0, 4.0, 6.0], n_p),
            "day_mask": [parse_days(str(rng.choice(DAYS[:6]))) for _ in range(n_p)],
            "services": rng.choice(["domestic", "social", "domestic;social"], n_p),
            "max_travel_km": np.where(rng.random(n_p) < 0.2, 3.0, np.nan),
            "priority": rng.integers(1, 4, n_p),  # few levels: many ties
            "needs_cover": rng.random(n_p) < 0.7,
            "self_directing": rng.random(n_p) < 0.9,
            "regulated_care": False,
        }
    )
    people["service_mask"] = [parse_services(s) for s in people["services"]]
    providers = pd.DataFrame(
        {
            "provider_id": [f"V{i}" for i in range(n_v)],
            "name": [f"Provider {i}" for i in range(n_v)],
            "x": grid(n_v),
            "y": grid(n_v) - 450_000,
            "services": rng.choice(["domestic;social", "social", "domestic"], n_v),
            "day_mask": [parse_days(str(rng.choice(DAYS))) for _ in range(n_v)],
            "capacity_hours": rng.choice([4.0, 6.0, 8.0, 10.0], n_v),
            "committed_hours": rng.choice([0.0, 2.0, 3.5], n_v),
            "max_travel_km": rng.choice([4.0, 8.0], n_v),
            "cover": rng.random(n_v) < 0.8,
            "cqc_registered": False,
        }
    )
    providers["service_mask"] = [parse_services(s) for s in providers["services"]]
    return people, providers, draw(st.booleans())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(registers())
def test_greedy_is_exactly_its_rule(regs):
    people, providers, without_cover = regs
    study = box_study(people, providers, allow_without_cover=without_cover)
    options = build_candidates(
        study.people, study.providers, study.reach, allow_without_cover=without_cover,
        in_area=study.in_area,
    )  # fmt: skip
    result = greedy_match(study.people, study.providers, options, study.settings)
    got = {p: (m.provider, m.partner, m.cover) for p, m in result.matches.items()}
    assert got == rule_by_hand(study)
    assert (
        check_matching(study.people, study.providers, result, allow_without_cover=without_cover)
        == []
    )
    weight = study.people["priority"].to_numpy() * study.people["hours"].to_numpy()
    assert result.objective == sum(weight[p] for p in got)
