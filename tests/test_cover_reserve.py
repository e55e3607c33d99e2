"""The cover reserve is one rule (:func:`gapmap.reach.cover_units`): the greedy baseline, the
batch matching and a suggestion agree on whether a cover provider has room for it, whatever
the absence rate is set to."""

from __future__ import annotations

import pandas as pd
import pytest

from gapmap.matching import check_matching, match
from gapmap.matching.person import person_request
from gapmap.matching.suggest import Suggester
from gapmap.reach import cover_units, load_units
from gapmap.vocab import parse_days, parse_services

from .helpers import box_study

#: the cover provider's free hours: room for the reserve of 4 hours at a rate up to 0.225
COVER_FREE = 0.9
X, Y = 600_000.0, 150_000.0


def _registers() -> tuple[pd.DataFrame, pd.DataFrame]:
    """One person (4 h on Monday, needs cover); provider A has room for them but will not
    cover; C, 1 km away, covers but has only ``COVER_FREE`` hours free."""
    people = pd.DataFrame(
        {"person_id": ["P0"], "x": [X], "y": [Y], "hours": [4.0],
         "day_mask": [parse_days("Mon")], "services": ["domestic"],
         "service_mask": [parse_services("domestic")],
         "max_travel_km": [float("nan")], "priority": [3], "needs_cover": [True]}
    )  # fmt: skip
    providers = pd.DataFrame(
        {"provider_id": ["A", "C"], "name": ["Provider A", "Provider C"],
         "x": [X + 500.0, X + 1000.0], "y": [Y, Y],
         "day_mask": [parse_days("Mon-Fri")] * 2,
         "services": ["domestic"] * 2, "service_mask": [parse_services("domestic")] * 2,
         "capacity_hours": [10.0, 5.0], "committed_hours": [0.0, 5.0 - COVER_FREE],
         "max_travel_km": [5.0, 5.0], "cover": [False, True], "cqc_registered": [False, False]}
    )  # fmt: skip
    return people, providers


@pytest.mark.parametrize(
    "absence_rate, fits",
    [(0.15, True), (0.225, True), (0.2251, False), (0.3, False)],
)
def test_greedy_batch_and_suggestion_agree_on_the_cover_reserve(absence_rate, fits):
    people, providers = _registers()
    # the rule itself: 0.225 × 4 h is exactly the 90 hundredths C has free; a hair more is not
    assert (cover_units(4.0, absence_rate) <= load_units(COVER_FREE)) is fits
    study = box_study(people, providers, absence_rate=absence_rate, match_time_limit_s=5)
    matching = match(study)
    best, greedy = matching.best, matching.greedy
    for result in (best, greedy):
        rate = absence_rate
        assert check_matching(study.people, study.providers, result, absence_rate=rate) == []
        if fits:
            m = result.matches[0]
            assert (m.provider, m.cover) == (0, 1)
        else:
            assert result.matches == {}
            assert result.reasons[0] == "no_capacity"  # C is eligible, only its room is short
    answer = Suggester(study).suggest(
        person_request(x=X, y=Y, hours=4.0, days="Mon", services="domestic", needs_cover=True)
    )
    if fits:
        assert answer.status == "ok"
        assert [(s.provider_id, s.cover_id) for s in answer.suggestions] == [("A", "C")]
    else:
        assert answer.status == "none" and answer.suggestions == []
