import numpy as np
import pytest

from gapmap.areas import read_areas, read_rural_classification
from gapmap.gaps import GAP_COLUMNS, GapOptions, gap_analysis, publish_gaps

from .conftest import WARDS_2013, WARDS_2024, shared_file


@pytest.fixture(scope="module")
def demo_gaps(builtin_areas, demo_registers):
    providers, people = demo_registers
    return gap_analysis(builtin_areas, providers, people)


def test_table_has_the_spec_columns_one_row_per_area(demo_gaps, builtin_areas):
    t = demo_gaps.table
    assert list(t.columns[:-1]) == GAP_COLUMNS
    assert t["area_code"].tolist() == builtin_areas["area_code"].tolist()
    assert t["need_hours"].sum() == pytest.approx(demo_gaps.people["hours"].sum())
    assert (t["unmet_hours"] <= t["need_hours"] + 1e-9).all()


def test_flags_follow_the_documented_rules(demo_gaps):
    t, o = demo_gaps.table, GapOptions()
    ratio = t["coverage_ratio"].fillna(np.inf)
    expect_rural = (
        t["rural"]
        & (t["need_hours"] > 0)
        & ((ratio < o.coverage_threshold) | (t["nearest_provider_km"] > o.rural_distance_km))
    )
    assert (t["rural_gap"] == expect_rural).all()
    expect_weekend = (t["weekend_need_hours"] > 0) & (
        t["weekend_coverage_ratio"] < o.weekend_threshold
    )
    assert (t["weekend_gap"] == expect_weekend).all()
    expect_score = t["unmet_hours"] * (1 + 0.5 * t["weekend_gap"] + 0.5 * t["rural_gap"])
    assert np.allclose(t["gap_score"], expect_score)
    assert t["rural_gap"].any() and t["weekend_gap"].any()


def test_thresholds_are_options(builtin_areas, demo_registers):
    providers, people = demo_registers
    strict = gap_analysis(
        builtin_areas,
        providers,
        people,
        options=GapOptions(weekend_threshold=0.9, coverage_threshold=0.9),
    )
    loose = gap_analysis(
        builtin_areas,
        providers,
        people,
        options=GapOptions(weekend_threshold=0.1, coverage_threshold=0.1),
    )
    assert strict.table["weekend_gap"].sum() > loose.table["weekend_gap"].sum()
    assert strict.table["rural_gap"].sum() >= loose.table["rural_gap"].sum()


def test_published_table_is_suppressed(demo_gaps):
    t = demo_gaps.table
    pub = publish_gaps(t)
    small = t["people"].between(1, 7)
    assert small.any()
    assert (pub.loc[small, "people"] == "*").all()
    assert pub.loc[small, ["need_hours", "unmet_hours", "gap_score"]].isna().all().all()
    rest = ~small
    assert (pub.loc[rest, "need_hours"] % 5 == 0).all()
    assert pub.loc[rest, "people"].astype(int).mod(5).eq(0).all()
    # ratios and bands are still shown
    assert pub["gap_band"].equals(t["gap_band"])


def test_real_2013_wards_with_ons_rural_urban_classification(demo_registers):
    providers, people = demo_registers
    areas = read_areas(shared_file(WARDS_2013))
    rural = read_rural_classification(shared_file("kent_ruc2011_ward11.csv"))
    result = gap_analysis(areas, providers, people, rural=rural)
    t = result.table
    assert len(t) == 283
    # ONS RUC 2011 wards: D1 56 + E1 40 rural
    assert int(t["rural"].sum()) == 96
    assert t["need_hours"].sum() == pytest.approx(people["hours"].sum())


def test_lsoa_classification_through_the_ward_lookup(demo_registers):
    providers, people = demo_registers
    areas = read_areas(shared_file(WARDS_2024))
    rural = read_rural_classification(
        shared_file("kent_ruc2021_lsoa21.csv"),
        lookup=shared_file("kent_lsoa21_ward24_lad24_lookup.csv"),
    )
    assert set(rural.index) == set(areas["area_code"])
    result = gap_analysis(areas, providers, people, rural=rural)
    assert 0 < result.table["rural"].sum() < len(areas)


def test_fallback_rural_agrees_with_ons_on_real_wards():
    from gapmap.gaps import postcode_density_rural

    areas = read_areas(shared_file(WARDS_2013))
    ons = read_rural_classification(shared_file("kent_ruc2011_ward11.csv")).reindex(
        areas["area_code"]
    )
    ours = postcode_density_rural(areas)
    assert (ours == ons.to_numpy()).mean() > 0.88


def test_bad_options_are_input_errors():
    from gapmap.errors import InputError

    with pytest.raises(InputError, match="circuity"):
        GapOptions(circuity=0.5).validate()
    with pytest.raises(InputError, match="rural_distance_km"):
        GapOptions(rural_distance_km=-1).validate()
