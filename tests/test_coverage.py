import numpy as np
import pandas as pd
import pytest

from gapmap.coverage import gaussian_decay, person_coverage, two_step_fca
from gapmap.reach import eligible_pairs
from gapmap.vocab import parse_days


def _hand_example():
    """Three people on a line, two providers: P1 reaches V1; P2 both; P3 only V2.

    Worked by hand:
      R1 = 5 / (4 + 6) = 0.5      R2 = 4 / (6 + 10) = 0.25
      A1 = 0.5   A2 = 0.5 + 0.25 = 0.75   A3 = 0.25
      accessible = 4*0.5 + 6*0.75 + 10*0.25 = 2 + 4.5 + 2.5 = 9 = S1 + S2
      unmet = 4*0.5 + 6*0.25 + 10*0.75 = 2 + 1.5 + 7.5 = 11
    Weekend: P1 needs Sat only (D=4), P2 Mon;Sat (D=6*1/2=3), P3 Mon-Fri (0);
      V1 works all week (S=5*2/7), V2 Mon-Fri (S=0).
      R1w = (10/7) / (4 + 3) = 10/49; A1w = A2w = 10/49; R2w = 0; A3w = 0.
    """
    people = pd.DataFrame(
        {
            "x": [600_000.0, 604_000.0, 608_000.0],
            "y": [150_000.0] * 3,
            "hours": [4.0, 6.0, 10.0],
            "day_mask": [parse_days("Sat"), parse_days("Mon;Sat"), parse_days("Mon-Fri")],
            "service_mask": [2, 2, 2],
            "max_travel_km": [np.nan] * 3,
            "regulated_care": [False] * 3,
            "self_directing": [True] * 3,
        }
    )
    providers = pd.DataFrame(
        {
            "x": [601_000.0, 607_000.0],
            "y": [150_000.0] * 2,
            "capacity_hours": [5.0, 4.0],
            "day_mask": [parse_days("all"), parse_days("weekdays")],
            "service_mask": [2, 2],
            "max_travel_km": [3.5, 3.5],
            "cqc_registered": [False, False],
        }
    )
    return people, providers


def test_hand_worked_2sfca():
    people, providers = _hand_example()
    reach = eligible_pairs(people, providers)
    assert sorted(zip(reach.person.tolist(), reach.provider.tolist())) == [
        (0, 0),
        (1, 0),
        (1, 1),
        (2, 1),
    ]
    cov = person_coverage(reach, people, providers)
    assert cov.provider_ratio == pytest.approx([0.5, 0.25])
    assert cov.access == pytest.approx([0.5, 0.75, 0.25])
    f = cov.frame()
    assert f["accessible_hours"].sum() == pytest.approx(9.0)
    assert f["unmet_hours"].sum() == pytest.approx(11.0)
    assert cov.weekend_need == pytest.approx([4.0, 3.0, 0.0])
    assert cov.weekend_access == pytest.approx([10 / 49, 10 / 49, 0.0])


def test_provider_with_no_eligible_demand_gives_nothing():
    people, providers = _hand_example()
    providers.loc[2] = [650_000.0, 150_000.0, 30.0, 127, 2, 3.5, False]
    reach = eligible_pairs(people, providers)
    r, a = two_step_fca(reach, people["hours"], providers["capacity_hours"])
    assert r[2] == 0
    assert (people["hours"] * a).sum() == pytest.approx(9.0)


@pytest.mark.parametrize("enhanced", [False, True])
def test_accessible_hours_add_up_to_capacity_that_reaches_anyone(demo_registers, enhanced):
    providers, people = demo_registers
    reach = eligible_pairs(people, providers)
    cov = person_coverage(reach, people, providers, enhanced=enhanced)
    f = cov.frame()
    w = gaussian_decay(reach.distance_km, reach.limit_km) if enhanced else np.ones(len(reach))
    # a provider reaches someone if some eligible pair carries weight
    reached = np.bincount(reach.provider, weights=w, minlength=len(providers)) > 0
    assert f["accessible_hours"].sum() == pytest.approx(providers["capacity_hours"][reached].sum())
    wreached = (
        np.bincount(
            reach.provider, weights=w * cov.weekend_need[reach.person], minlength=len(providers)
        )
        > 0
    )
    wcap = providers["capacity_hours"] * np.array(
        [bin(m & 0b1100000).count("1") / bin(m).count("1") for m in providers["day_mask"]]
    )
    assert f["weekend_accessible_hours"].sum() == pytest.approx(wcap[wreached].sum())


def test_gaussian_decay_shape():
    d = np.array([0.0, 2.5, 5.0, 6.0])
    w = gaussian_decay(d, np.full(4, 5.0))
    assert w[0] == pytest.approx(1.0) and w[2] == pytest.approx(0.0) and w[3] == 0.0
    assert 0 < w[1] < 1
