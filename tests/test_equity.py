"""Need for every adult, carers' respite and deprivation (issue 17), on the real Kent files."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gapmap.deprivation import concentration_index, deprivation_table, read_imd
from gapmap.gaps import gap_analysis
from gapmap.io.census import read_adult_rates, read_carers, read_census_ages, read_disability
from gapmap.settings import Settings
from gapmap.study import Study, StudyInputs

from .conftest import LSOA_2021, WARDS_2022, shared_file

CENSUS = "kent_census2021_ts007a_age5_lsoa21.csv"
TS038 = "kent_census2021_ts038_disability_lsoa21.csv"
TS039 = "kent_census2021_ts039_unpaid_care_lsoa21.csv"
IMD25 = "kent_imd2025_lsoa21.csv"
IMD19 = "kent_imd2019_lsoa11.csv"
LOOKUP_11_21 = "kent_lsoa11_lsoa21_lookup.csv"


def _column_sum(path, ending: str) -> float:
    """A column's total read with the csv module alone (independent of gapmap's readers)."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    j = next(i for i, h in enumerate(rows[0]) if h.endswith(ending))
    return float(sum(float(r[j]) for r in rows[1:]))


@pytest.fixture(scope="module")
def equity_study():
    from gapmap.demo import demo_paths

    prov, people = demo_paths()
    return Study.read(
        StudyInputs(
            providers=prov,
            people=people,
            areas=shared_file(WARDS_2022),
            census=shared_file(CENSUS),
            census_areas=shared_file(LSOA_2021),
            disability=shared_file(TS038),
            carers=shared_file(TS039),
            imd=shared_file(IMD25),
        )
    )


def test_the_census_tables_give_kents_published_totals():
    ages = read_census_ages(shared_file(CENSUS))
    assert ages["total"].sum() == _column_sum(shared_file(CENSUS), "Age: Total") == 1_576_141
    d = read_disability(shared_file(TS038))
    assert d["limited_a_lot"].sum() == _column_sum(shared_file(TS038), "limited a lot")
    c = read_carers(shared_file(TS039))
    assert c["carers_50_plus"].sum() == _column_sum(
        shared_file(TS039), "50 or more hours unpaid care a week"
    )
    assert c["carers_20_to_49"].sum() == _column_sum(
        shared_file(TS039), "Provides 20 to 49 hours unpaid care a week"
    )


def test_working_age_and_respite_follow_the_rate_table(equity_study):
    est = equity_study.estimated
    rates = read_adult_rates()
    ages = read_census_ages(shared_file(CENSUS))
    d = read_disability(shared_file(TS038)).reindex(ages.index)
    c = read_carers(shared_file(TS039)).reindex(ages.index)
    band = {k: [col for col in ages.columns if col != "total" and lo <= int(col.split("-")[0])
                and int(col.split("-")[1]) <= hi] for k, (lo, hi) in
            {"c": (0, 14), "w": (15, 64), "o": (65, 200)}.items()}  # fmt: skip
    pop = {k: ages[v].sum(axis=1) for k, v in band.items()}
    p = {k: float(rates.loc[f"prevalence_{g}", "value"])
         for k, g in (("c", "children"), ("w", "working_age"), ("o", "older"))}  # fmt: skip
    share = p["w"] * pop["w"] / (p["c"] * pop["c"] + p["w"] * pop["w"] + p["o"] * pop["o"])
    r = rates.loc["working_age_limited_a_lot"]
    expected_wa = float((d["limited_a_lot"] * share).sum() * r["value"] * r["hours"])
    assert est.parts["working_age"].sum() == pytest.approx(expected_wa, rel=1e-12)
    expected_respite = sum(
        float(c[col].sum()) * float(rates.loc[g, "value"]) * float(rates.loc[g, "hours"])
        for g, col in (("carers_50_plus_hours", "carers_50_plus"),
                       ("carers_20_to_49_hours", "carers_20_to_49"))
    )  # fmt: skip
    assert est.parts["respite"].sum() == pytest.approx(expected_respite, rel=1e-12)
    assert est.hours == pytest.approx(sum(est.parts.values()))
    # the weekend part: older people's need spread over the week (2/7), the others' by the table
    weekend = est.parts["older"].sum() * 2 / 7 + sum(
        est.parts[k].sum() * float(rates.loc[g, "weekend"])
        for k, g in (("working_age", "working_age_limited_a_lot"),)
    ) + sum(
        float(c[col].sum()) * float(rates.loc[g, "value"]) * float(rates.loc[g, "hours"])
        * float(rates.loc[g, "weekend"])
        for g, col in (("carers_50_plus_hours", "carers_50_plus"),
                       ("carers_20_to_49_hours", "carers_20_to_49"))
    )  # fmt: skip
    assert est.weekend_hours.sum() == pytest.approx(weekend, rel=1e-12)


def test_the_gap_table_shows_each_kind_beside_the_total(equity_study):
    t = gap_analysis(equity_study).table
    parts = t[["estimated_older_hours", "estimated_working_age_hours", "estimated_respite_hours"]]
    assert np.allclose(parts.sum(axis=1), t["estimated_need_hours"])
    assert (t["estimated_weekend_unmet_hours"] <= t["estimated_weekend_need_hours"] + 1e-9).all()
    assert t["estimated_weekend_coverage_ratio"].dropna().between(0, 1).all()


def test_area_deprivation_is_the_population_weighted_rank(equity_study):
    dep = equity_study.deprivation
    est = equity_study.estimated
    imd = read_imd(shared_file(IMD25))
    ward = dep.index[10]
    units = est.unit_area[est.unit_area == ward].index
    pop = est.unit_population.reindex(units)
    ranks = imd["rank"].reindex(units)
    assert dep.loc[ward, "imd_rank"] == pytest.approx(float((ranks * pop).sum() / pop.sum()))
    deciles = imd["decile"].reindex(units)
    main = pop.groupby(deciles.to_numpy()).sum().sort_values(ascending=False).index[0]
    assert dep.loc[ward, "imd_decile"] == int(main)
    # IMD 2019 on 2011 LSOAs, through the lookup, tells nearly the same story
    imd19 = read_imd(shared_file(IMD19), shared_file(LOOKUP_11_21))
    assert len(imd19) >= 0.99 * len(imd)
    both = imd["decile"].reindex(imd19.index)
    assert (both - imd19["decile"]).abs().mean() < 1.0
    from gapmap.errors import InputError

    with pytest.raises(InputError, match="imd-lookup"):
        read_imd(shared_file(IMD19))


def test_unmet_hours_by_decile_add_up_and_are_published_safely(equity_study):
    from gapmap.publish.tables import publish_deprivation

    t = gap_analysis(equity_study).table
    table, ci = deprivation_table(pd.DataFrame(t))
    with_imd = t[t["imd_decile"].notna()]
    assert table["unmet_hours"].sum() == pytest.approx(with_imd["unmet_hours"].sum())
    assert table["population"].sum() == pytest.approx(with_imd["imd_population"].sum())
    assert -1 <= ci["register"] <= 1 and -1 <= ci["estimated"] <= 1
    pub = publish_deprivation(table, ci)
    assert (pub["unmet_hours"].dropna() % 5 == 0).all()
    assert set(pub.columns) >= {"unmet_hours_per_1000_residents", "estimated_unmet_hours"}


@given(
    st.lists(st.tuples(st.floats(0.01, 100), st.floats(1, 1000), st.integers(1, 30000)),
             min_size=2, max_size=40),
    st.floats(0.1, 50),
)  # fmt: skip
def test_concentration_index_invariants(rows, k):
    v, w, r = (np.array(x, dtype=float) for x in zip(*rows))
    c = concentration_index(v, w, r)
    assert -1 - 1e-9 <= c <= 1 + 1e-9
    assert concentration_index(v * k, w, r) == pytest.approx(c, abs=1e-9)  # scale-free
    if len(set(r)) == len(r):  # reversing the order of deprivation flips the sign
        assert concentration_index(v, w, -r) == pytest.approx(-c, abs=1e-9)
    assert concentration_index(np.ones_like(v), w, r) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.slow
def test_recruitment_can_weigh_equity(equity_study):
    from gapmap.recruitment.targeting import recruit

    base = equity_study.with_settings(need="register", recruit_time_limit_s=20)
    plain = recruit(gap_analysis(base), [30])
    fair = recruit(gap_analysis(base.with_settings(deprivation_weight=1.0)), [30])
    a, b = plain.areas.set_index("area_code"), fair.areas.set_index("area_code")
    most = a["imd_decile"] == 1
    assert np.allclose(b.loc[most, "priority_score"], 2 * a.loc[most, "priority_score"])
    least = a["imd_decile"] == 10
    assert np.allclose(b.loc[least, "priority_score"], a.loc[least, "priority_score"])
    s0, s1 = plain.scenarios.iloc[0], fair.scenarios.iloc[0]
    assert "hours_taken_most_deprived" in s0
    if s0["solver_status"] == s1["solver_status"] == "OPTIMAL":
        # a heavier weight on deprived areas' hours never takes fewer of them
        assert s1["hours_taken_most_deprived"] >= s0["hours_taken_most_deprived"] - 1e-6
    from gapmap.errors import InputError

    with pytest.raises(InputError, match="must not be negative"):
        Settings(deprivation_weight=-1).validated()
