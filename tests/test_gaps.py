import numpy as np
import pandas as pd
import pytest

from gapmap.errors import InputError
from gapmap.gaps import GAP_COLUMNS, gap_analysis
from gapmap.io.areas import read_areas, read_rural_classification
from gapmap.publish import publish_gaps
from gapmap.settings import Settings
from gapmap.study import Study

from .conftest import WARDS_2013, WARDS_2024, shared_file


@pytest.fixture(scope="module")
def demo_gaps(demo_gap):
    return demo_gap


def test_table_has_the_spec_columns_one_row_per_area(demo_gaps, builtin_areas):
    t = demo_gaps.table
    assert list(t.columns[:-1]) == GAP_COLUMNS
    assert t["area_code"].tolist() == builtin_areas["area_code"].tolist()
    assert t["need_hours"].sum() == pytest.approx(demo_gaps.people["hours"].sum())
    assert (t["unmet_hours"] <= t["need_hours"] + 1e-9).all()


def test_every_area_figure_follows_from_the_people_level_access(demo_gaps):
    """SPEC.md "Coverage": need, accessible, unmet, coverage share and provision ratio per area,
    recomputed here from each person's 2SFCA access A_p with pandas alone."""
    p = demo_gaps.people
    d, a = p["hours"], p["access"]
    per = (
        pd.DataFrame({"area_code": p["area_code"], "need": d, "acc": d * a,
                      "unmet": d * np.maximum(0, 1 - a)})
        .groupby("area_code").sum()
    )  # fmt: skip
    t = demo_gaps.table.set_index("area_code")
    per = per.reindex(t.index).fillna(0)
    assert np.allclose(t["need_hours"], per["need"])
    assert np.allclose(t["accessible_hours"], per["acc"])
    assert np.allclose(t["unmet_hours"], per["unmet"])
    has = per["need"] > 0
    assert np.allclose(
        t.loc[has, "coverage_ratio"], 1 - per.loc[has, "unmet"] / per.loc[has, "need"]
    )
    assert np.allclose(t.loc[has, "provision_ratio"], per.loc[has, "acc"] / per.loc[has, "need"])
    assert t.loc[~has, ["coverage_ratio", "provision_ratio"]].isna().all().all()
    # one story: coverage never above 1, and full coverage exactly where nothing is unmet
    assert (t["coverage_ratio"].dropna() <= 1 + 1e-12).all()
    full = t["coverage_ratio"] > 1 - 1e-9
    assert (t.loc[full, "unmet_hours"] < 1e-6).all()
    assert (t["provision_ratio"] > 1).any()  # the 2SFCA ratio may exceed 1; coverage may not
    # the band follows the coverage share
    band = np.select(
        [t["unmet_hours"] <= 1e-9, t["coverage_ratio"] >= 0.75, t["coverage_ratio"] >= 0.4],
        ["none", "low", "medium"], default="high",
    )  # fmt: skip
    assert (t["gap_band"].to_numpy() == band)[has.to_numpy()].all()


def test_flags_follow_the_documented_rules(demo_gaps):
    t, o = demo_gaps.table, Settings()
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
    expect_score = t["unmet_hours"] * (
        1 + o.weekend_weight * t["weekend_gap"] + o.rural_weight * t["rural_gap"]
    )
    assert np.allclose(t["gap_score"], expect_score)
    assert t["rural_gap"].any() and t["weekend_gap"].any()


def test_thresholds_are_settings(demo_study):
    strict = gap_analysis(demo_study.with_settings(weekend_threshold=0.9, coverage_threshold=0.9))
    loose = gap_analysis(demo_study.with_settings(weekend_threshold=0.1, coverage_threshold=0.1))
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
    result = gap_analysis(Study.from_frames(areas, providers, people, rural=rural))
    t = result.table
    assert len(t) == len(areas)
    # ONS RUC 2011 wards: the rural classes (D1, E1...) of the classification table
    assert int(t["rural"].sum()) == int(rural.reindex(areas["area_code"]).sum())
    assert t["need_hours"].sum() == pytest.approx(people["hours"].sum())


def test_lsoa_classification_through_the_ward_lookup(demo_registers):
    providers, people = demo_registers
    areas = read_areas(shared_file(WARDS_2024))
    rural = read_rural_classification(
        shared_file("kent_ruc2021_lsoa21.csv"),
        lookup=shared_file("kent_lsoa21_ward24_lad24_lookup.csv"),
    )
    assert set(rural.index) == set(areas["area_code"])
    result = gap_analysis(Study.from_frames(areas, providers, people, rural=rural))
    assert 0 < result.table["rural"].sum() < len(areas)


def test_fallback_rural_agrees_with_ons_on_real_wards():
    from gapmap.gaps import postcode_density_rural

    areas = read_areas(shared_file(WARDS_2013))
    ons = read_rural_classification(shared_file("kent_ruc2011_ward11.csv")).reindex(
        areas["area_code"]
    )
    ours = postcode_density_rural(areas)
    assert (ours == ons.to_numpy()).mean() > 0.88


def test_bad_settings_are_input_errors_naming_every_field(builtin_areas, demo_registers):
    with pytest.raises(InputError) as caught:
        Study.from_frames(
            builtin_areas,
            demo_registers[0],
            settings=Settings(circuity=0.5, rural_distance_km=-1, snap_km=float("nan")),
        )
    assert {p.column for p in caught.value.problems} == {
        "circuity",
        "rural_distance_km",
        "snap_km",
    }
