import numpy as np
import pandas as pd

from gapmap.publish.disclosure import Suppression, round_to, suppress


def test_round_to_nearest_five():
    assert round_to([0, 2, 2.5, 3, 7.4, 7.5, 12.49, -2.5], 5).tolist() == [
        0,
        0,
        5,
        5,
        5,
        10,
        10,
        -5,
    ]


def test_small_counts_hidden_and_hours_withheld():
    t = pd.DataFrame(
        {
            "people": [0, 1, 7, 8, 23],
            "need_hours": [0.0, 3.0, 40.0, 41.0, 123.4],
            "ratio": [np.nan, 0.5, 0.2, 0.9, 1.1],
            "score": [0, 3.0, 40.0, 41.0, 99.0],
        }
    )
    out = suppress(
        t, count_columns=["people"], hour_columns=["need_hours"], withheld_columns=["score"]
    )
    assert out["people"].tolist() == ["0", "*", "*", "10", "25"]
    assert np.isnan(out["need_hours"][1]) and np.isnan(out["need_hours"][2])
    assert out["need_hours"][[0, 3, 4]].tolist() == [0.0, 40.0, 125.0]
    assert out["ratio"].equals(t["ratio"])  # ratios still shown
    assert np.isnan(out["score"][1]) and out["score"][4] == 99.0
    assert out.attrs["suppressed_areas"] == 2


def test_rule_is_configurable():
    t = pd.DataFrame({"people": [3, 12]})
    out = suppress(t, count_columns=["people"], hour_columns=[], rule=Suppression(1, 2, 10))
    assert out["people"].tolist() == ["0", "10"]
