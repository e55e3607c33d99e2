import pytest

from gapmap.errors import InputError
from gapmap.gaps import gap_analysis
from gapmap.io.areas import read_areas
from gapmap.io.census import read_census_ages, read_rates
from gapmap.need import estimate_need, estimated_demand
from gapmap.study import Study

from .conftest import LSOA_2021, WARDS_2022, WARDS_2024, shared_file, write

TS007A = "kent_census2021_ts007a_age5_lsoa21.csv"


def test_census_table_reproduces_kent_population():
    census = read_census_ages(shared_file(TS007A))
    assert len(census) == 938
    assert census["total"].sum() == 1_576_141
    bands = census.drop(columns="total").sum(axis=1)
    assert bands.sum() == 1_576_141  # the 18 five-year bands add up to the total


def test_default_rates_match_the_published_all_65_plus_share():
    census = read_census_ages(shared_file(TS007A))
    rates = read_rates()
    assert rates["source"].str.len().gt(20).all()
    est = estimate_need(census, rates)
    over_65 = census[["65-69", "70-74", "75-79", "80-84", "85-200"]].sum().sum()
    share = est["estimated_people"].sum() / over_65
    # HSE 2014: 24% of men and 33% of women aged 65+ need help with an ADL
    assert 0.27 < share < 0.31
    assert est["estimated_need_hours"].sum() == pytest.approx(est["estimated_people"].sum() * 5.3)


def test_hand_worked_estimate(tmp_path):
    census = write(
        tmp_path,
        "c.csv",
        "date,geography,geography code,Age: Total,"
        "Age: Aged 60 to 64 years,Age: Aged 65 to 69 years,Age: Aged 70 to 74 years\n"
        "2021,A,E01000001,300,100,100,100\n",
    )
    rates = write(
        tmp_path,
        "r.csv",
        "age_band,share_needing_help,hours_per_week,source\n65 to 74,0.5,2,test\n",
    )
    est = estimate_need(read_census_ages(census), read_rates(rates))
    assert est["estimated_people"].iloc[0] == 100  # (100 + 100) x 0.5
    assert est["estimated_need_hours"].iloc[0] == 200


def test_bad_rate_table_lists_problems(tmp_path):
    rates = write(
        tmp_path,
        "r.csv",
        "age_band,share_needing_help,hours_per_week,source\nsixty,0.5,2,x\n65 to 69,1.5,0,\n",
    )
    with pytest.raises(InputError) as exc:
        read_rates(rates)
    assert {(p.row, p.column) for p in exc.value.problems} == {
        (2, "age_band"),
        (3, "share_needing_help"),
        (3, "hours_per_week"),
        (3, "source"),
    }


def test_rate_band_that_straddles_census_bands_is_refused(tmp_path):
    census = write(tmp_path, "c.csv", "geography code,Age: Aged 65 to 69 years\nE01000001,10\n")
    rates = write(
        tmp_path, "r.csv", "age_band,share_needing_help,hours_per_week,source\n67+,0.5,2,x\n"
    )
    with pytest.raises(InputError, match="do not fit"):
        estimate_need(read_census_ages(census), read_rates(rates))


@pytest.mark.parametrize(
    "areas_file, how",
    [
        (LSOA_2021, {}),
        (WARDS_2024, {"lookup": "kent_lsoa21_ward24_lad24_lookup.csv"}),
        (WARDS_2022, {"census_areas": LSOA_2021}),
    ],
)
def test_estimated_need_onto_real_areas_keeps_every_hour(areas_file, how, demo_registers):
    areas = read_areas(shared_file(areas_file))
    kwargs = {k: shared_file(v) for k, v in how.items()}
    demand = estimated_demand(areas, shared_file(TS007A), snap_m=2000.0, **kwargs)
    total = estimate_need(read_census_ages(shared_file(TS007A)), read_rates())[
        "estimated_need_hours"
    ].sum()
    assert demand.hours.sum() == pytest.approx(total)
    assert (demand.area_code != "").all()
    providers, people = demo_registers
    t = gap_analysis(Study.from_frames(areas, providers, people, estimated=demand)).table
    assert t["estimated_need_hours"].sum() == pytest.approx(total)
    assert (t["estimated_unmet_hours"] <= t["estimated_need_hours"] + 1e-6).all()
    assert t["estimated_accessible_hours"].sum() <= providers["capacity_hours"].sum() + 1e-6


def test_builtin_geography_takes_census_by_location(builtin_areas):
    demand = estimated_demand(
        builtin_areas, shared_file(TS007A), census_areas=shared_file(LSOA_2021), snap_m=2000.0
    )
    assert set(demand.area_code) <= set(builtin_areas["area_code"])
    assert (demand.area_code != "").all()


def test_working_age_prevalence_follows_the_published_frs_figure():
    """Issue 31, item 10: the working-age disability share is the published DWP Family
    Resources Survey 2022/23 figure, 23% (it was 24%), with its source in the table; the
    carers' respite rates stay named assumptions a council can replace."""
    from gapmap.io.census import read_adult_rates

    rates = read_adult_rates()
    published = {"prevalence_children": 0.11, "prevalence_working_age": 0.23,
                 "prevalence_older": 0.45}  # fmt: skip
    for group, share in published.items():
        assert float(rates.loc[group, "value"]) == share
        assert "Family Resources Survey 2022/23" in rates.loc[group, "source"]
    assert "23% of working-age adults" in rates.loc["prevalence_working_age", "source"]
    for group in ("carers_50_plus_hours", "carers_20_to_49_hours"):
        source = rates.loc[group, "source"]
        assert "ASSUMPTION" in source and "--adult-rates" in source
