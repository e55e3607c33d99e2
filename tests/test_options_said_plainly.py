"""Options and messages mean what they say: an empty council is a mistake, not Kent; a
council's geography is built into the user's cache, not the package; JSON ``true`` is not an
hour; a number above a limit is shown as above it; the report's largest gaps have people."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gapmap.cli.commands import main
from gapmap.errors import InputError

from .helpers import GOOD_PROVIDERS as P
from .helpers import edit
from .helpers import write_file as _write

REPO = Path(__file__).resolve().parents[1]


def test_an_empty_council_is_refused_not_kent(tmp_path, capsys):
    from gapmap.councils import resolve_council

    with pytest.raises(InputError, match="empty"):
        resolve_council("  ")
    rc = main(["check", "--council", ""])
    err = capsys.readouterr().err
    assert rc == 2 and "--council" in err and "empty" in err, err


def test_a_councils_geography_goes_into_the_users_cache(tmp_path, monkeypatch):
    from gapmap.councils import _letters_cache, resolve_council
    from gapmap.io.builtin import builtin_path

    monkeypatch.delenv("GAPMAP_BOUNDARIES", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    council = resolve_council("Rutland")
    for path in (builtin_path(council), _letters_cache()):
        assert path.is_relative_to(tmp_path / "cache" / "gapmap"), path
        assert not path.is_relative_to(REPO)
    # Kent's geography, shipped with gapmap, is still read where it ships
    assert builtin_path(resolve_council(None)).is_relative_to(REPO)


@pytest.mark.parametrize(
    "field,value", [("hours", True), ("hours", False), ("lat", True), ("top", True)]
)
def test_the_api_takes_numbers_strictly(field, value):
    from pydantic import ValidationError

    from gapmap.serve.api import SuggestRequest

    with pytest.raises(ValidationError):
        SuggestRequest(**{"postcode": "CT1 2AA", "hours": 6, field: value})
    assert SuggestRequest(postcode="CT1 2AA", hours=6).hours == 6  # a whole number still is one


def test_a_number_above_its_limit_is_shown_above_it(tmp_path):
    from gapmap.io.registers import read_providers

    path = _write(tmp_path / "p.csv", edit(P, 2, "capacity_hours", "168.0001"))
    with pytest.raises(InputError) as e:
        read_providers(path)
    message = str(e.value.problems[0])
    assert "168 or less (168.0001 is not plausible)" in message, message


def test_the_report_lists_no_area_without_people_among_the_largest_gaps():
    from gapmap.publish.figures import largest_gaps

    box = shapely.box(0, 0, 1, 1)
    published = gpd.GeoDataFrame(
        {
            "area_code": ["A", "B", "C", "D"], "area_name": ["Ash", "Bly", "Cob", "Dun"],
            "district": ["X"] * 4, "people": ["10", "0", "*", "0"],
            "unmet_hours": [20.0, 0.0, float("nan"), 0.0],
            "coverage_ratio": [0.5, float("nan"), float("nan"), float("nan")],
            "weekend_gap": [False] * 4, "rural_gap": [False] * 4,
        },
        geometry=[box] * 4,
    )  # fmt: skip
    largest = largest_gaps(pd.DataFrame(published))
    assert largest["area_code"].tolist() == ["A"], largest
