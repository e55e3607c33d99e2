"""A recruitment scenario builds only its new providers' pairs, with the figures of a fresh start.

:func:`gapmap.reach.add_providers` (and :meth:`gapmap.Study.with_providers`, which uses it
once the study's pairs are built) must give the pairs of the whole register built afresh,
pair for pair and in the same order, so that the 2SFCA and the area table after a scenario are
the same to the last bit.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from gapmap.gaps import gap_analysis
from gapmap.reach import add_providers, eligible_pairs
from gapmap.recruitment.ranking import candidate_sites
from gapmap.recruitment.scenarios import new_providers_at

FIELDS = ("person", "provider", "distance_km", "limit_km")


def _same(a, b) -> None:
    assert (a.n_people, a.n_providers) == (b.n_people, b.n_providers)
    for name in FIELDS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


def _providers(rng, n, offset=0.0):
    return pd.DataFrame({
        "x": rng.uniform(0, 25_000, n) + offset, "y": rng.uniform(0, 25_000, n),
        "max_travel_km": rng.choice([3.0, 4.5, 6.0, 8.0], n),
        "service_mask": rng.integers(1, 32, n), "cqc_registered": rng.random(n) < 0.4,
    })  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_added_providers_give_the_pairs_of_a_fresh_start(seed):
    rng = np.random.default_rng(seed)
    n_p = 1500
    people = pd.DataFrame({
        "x": rng.uniform(0, 25_000, n_p), "y": rng.uniform(0, 25_000, n_p),
        "max_travel_km": np.where(rng.random(n_p) < 0.25, rng.uniform(1, 7, n_p), np.nan),
        "service_mask": 1 << rng.integers(0, 5, n_p), "regulated_care": rng.random(n_p) < 0.15,
        "self_directing": rng.random(n_p) < 0.9,
    })  # fmt: skip
    people.loc[:20, ["x", "y"]] = np.nan  # people left without a place (outside every area)
    old = _providers(rng, 200)
    new = _providers(rng, 60)
    new.loc[:9, ["x", "y", "max_travel_km"]] = old.loc[:9, ["x", "y", "max_travel_km"]].to_numpy()
    both = pd.concat([old, new], ignore_index=True)
    circuity = float(rng.choice([1.0, 1.3]))
    fresh = eligible_pairs(people, both, circuity=circuity)
    added = add_providers(eligible_pairs(people, old, circuity=circuity), people, new,
                          circuity=circuity)  # fmt: skip
    assert (added.provider >= len(old)).sum() > 1000
    _same(added, fresh)
    # distance only (estimated need): the same
    pts = people[["x", "y", "max_travel_km"]]
    fresh = eligible_pairs(pts, both, circuity=circuity, check_services=False)
    added = add_providers(
        eligible_pairs(pts, old, circuity=circuity, check_services=False), pts, new,
        circuity=circuity, check_services=False,
    )  # fmt: skip
    _same(added, fresh)


def test_a_demo_scenario_has_the_figures_of_a_fresh_start(demo_study, demo_gap):
    study = demo_gap.study
    sites = candidate_sites(study.areas, demo_gap.table).iloc[::7].copy()
    sites["providers_at"] = 2
    recruits = new_providers_at(sites, study.settings)
    scenario = study.with_providers(recruits)
    assert "reach" in scenario.__dict__  # built from the study's own pairs, not afresh
    fresh = dataclasses.replace(scenario, notes=list(scenario.notes))
    assert "reach" not in fresh.__dict__
    _same(scenario.reach, fresh.reach)
    assert (scenario.reach.provider >= len(study.providers)).sum() > 100
    after, after_fresh = gap_analysis(scenario), gap_analysis(fresh)
    pd.testing.assert_frame_equal(
        pd.DataFrame(after.table.drop(columns="geometry")),
        pd.DataFrame(after_fresh.table.drop(columns="geometry")),
        check_exact=True,
    )
    assert after.table["unmet_hours"].sum() < demo_gap.table["unmet_hours"].sum()
    for name in ("access", "weekend_access", "provider_ratio"):
        assert np.array_equal(getattr(after.coverage, name), getattr(after_fresh.coverage, name))


def test_other_settings_keep_the_pairs_unless_the_circuity_changes(demo_gap):
    study = demo_gap.study
    assert study.with_settings(weekend_working=True).reach is study.reach
    longer = study.with_settings(circuity=1.4)
    assert "reach" not in longer.__dict__
    assert len(longer.reach) < len(study.reach)
