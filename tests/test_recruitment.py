"""Recruitment targeting on the demo registers and, when present, Kent's real LSOAs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gapmap.errors import InputError
from gapmap.gaps import gap_analysis
from gapmap.publish import publish_ranking, publish_sites
from gapmap.recruitment.ranking import recruitment_demand
from gapmap.recruitment.targeting import recruit
from gapmap.settings import UNIT_COSTS, Settings
from gapmap.study import Study
from gapmap.vocab import WEEKEND_MASK, parse_services

from .conftest import LSOA_2021, shared_file


def _gap(study, **changes):
    return gap_analysis(study.with_settings(**changes)) if changes else gap_analysis(study)


@pytest.fixture(scope="module")
def demo_recruit(demo_study):
    return recruit(_gap(demo_study, recruit_time_limit_s=10), [20, 60])


def test_demand_is_only_what_a_recruit_could_take(demo_gap, demo_study):
    opts = Settings()
    d = recruitment_demand(demo_gap)
    p = demo_gap.people
    ok = (
        p["self_directing"]
        & ~p["regulated_care"]
        & ((p["service_mask"] & opts.recruit_service_mask) == p["service_mask"])
        & (p["unmet_hours"] > 1e-9)
    )
    assert (p.loc[~p["self_directing"], "unmet_hours"] > 0).any()  # there was more to leave out
    # weekdays-only recruits take only the weekday share of each person's unmet hours
    days = p.loc[ok, "day_mask"].to_numpy()
    n_days = np.array([bin(int(m)).count("1") for m in days])
    n_week = np.array([bin(int(m) & ~WEEKEND_MASK).count("1") for m in days])
    expect = p.loc[ok, "unmet_hours"].to_numpy() * n_week / n_days
    assert (expect == 0).any()  # weekend-only people: nothing for a weekday recruit
    assert len(d) == int((expect > 1e-9).sum()) > 0
    assert np.allclose(np.sort(d["hours"].to_numpy()), np.sort(expect[expect > 1e-9]))
    every_day = recruitment_demand(_gap(demo_study, weekend_working=True))
    assert every_day["hours"].sum() == pytest.approx(p.loc[ok, "unmet_hours"].sum())
    # recruits offering only personal care take only people who need nothing else (and whose
    # care is not regulated: a micro-provider recruit is not CQC-registered)
    pc = parse_services("personal_care")
    only_pc = recruitment_demand(_gap(demo_study, recruit_services="personal_care"))
    expect_pc = (
        p["self_directing"]
        & ~p["regulated_care"]
        & (p["service_mask"] == pc)
        & (p["unmet_hours"] > 1e-9)
        & ((p["day_mask"] & ~WEEKEND_MASK) > 0)
    )
    assert len(only_pc) == int(expect_pc.sum()) < len(d)


def test_ranking_follows_the_documented_score(demo_recruit, demo_gap):
    a = demo_recruit.areas
    s = Settings()
    factor = (
        1
        + s.weekend_weight * a["weekend_gap"].astype(float)
        + s.rural_weight * a["rural_gap"].astype(float)
    )
    assert np.allclose(a["priority_score"], a["recruitable_unmet_hours"] * factor)
    ranked = a[a["priority_rank"].notna()].sort_values("priority_rank")
    assert ranked["priority_rank"].tolist() == list(range(1, len(ranked) + 1))
    assert ranked["priority_score"].is_monotonic_decreasing
    assert (a.loc[a["priority_rank"].isna(), "priority_score"] == 0).all()
    assert a["recruitable_unmet_hours"].sum() == pytest.approx(demo_recruit.demand["hours"].sum())
    pub = publish_ranking(demo_recruit)
    for r in pub.itertuples():
        assert ("rural" in r.reason) == bool(r.rural)
        assert ("no provider works weekends" in r.reason) == (
            not r.nearest_weekend_provider_km <= 10
        )
    # an area with 1-7 people shows no hour figure, in the columns or in the words
    few = pub["people"] == "*"
    assert few.any() and pub.loc[few, "recruitable_unmet_hours"].isna().all()
    assert not pub.loc[few, "reason"].str.contains("unmet hours a week").any()


def test_scenarios_keep_capacity_and_add_up(demo_recruit, demo_gap):
    s = demo_recruit.scenarios.set_index("new_providers")
    for k, row in s.iterrows():
        sites = demo_recruit.sites[demo_recruit.sites["new_providers"] == k]
        assert sites["providers_at"].sum() == row["providers_placed"] <= k
        st = Settings()
        hours = st.hours_per_provider
        assert (sites["providers_at"] <= st.per_site).all()
        assert (sites["hours_taken"] <= hours * sites["providers_at"] + 1e-6).all()
        assert row["hours_taken"] == pytest.approx(sites["hours_taken"].sum())
        assert row["hours_taken"] <= min(hours * k, row["recruitable_unmet_hours"]) + 1e-6
        assert row["hours_taken"] <= row["unmet_hours_in_reach"] + 1e-6
        assert row["coverage_after"] > row["coverage_before"]
        # weekday-only recruits cannot close a weekend gap
        assert row["weekend_gaps_after"] == row["weekend_gaps_before"]
        assert row["rural_gaps_after"] <= row["rural_gaps_before"]
        home, micro = UNIT_COSTS["home_care"][0], UNIT_COSTS["micro_provider"][0]
        assert row["saving_per_year_vs_home_care"] == pytest.approx(
            row["hours_taken"] * st.weeks_per_year * (home - micro)
        )
        assert row["gap_to_bound"] < 0.01
    assert s.loc[60, "hours_taken"] > s.loc[20, "hours_taken"]


def test_weekend_working_recruits_close_weekend_gaps(demo_study):
    r = recruit(_gap(demo_study, weekend_working=True, recruit_time_limit_s=10), [60])
    row = r.scenarios.iloc[0]
    assert row["weekend_gaps_after"] < row["weekend_gaps_before"]


def test_sites_publish_no_person(demo_recruit, demo_registers):
    _, people = demo_registers
    pub = publish_sites(demo_recruit.sites)
    text = pub.to_csv(index=False)
    pcs = set(people["postcode"])
    assert not any(pc in text for pc in pcs)
    assert not any(pid in text for pid in people["person_id"])
    hidden = pub["people_in_reach"] == "*"
    assert pub.loc[hidden, "hours_taken"].isna().all()


def test_impossible_targets_are_refused(demo_gap, demo_study):
    with pytest.raises(InputError, match="more than the candidate sites allow"):
        recruit(demo_gap, [10_000])
    with pytest.raises(InputError, match="radius_km"):
        demo_study.with_settings(radius_km=-1)
    with pytest.raises(InputError, match="recruit_time_limit_s"):
        demo_study.with_settings(recruit_time_limit_s=0)


def test_recruit_on_real_lsoas_with_estimated_need(demo_registers):
    """Kent's 2021 LSOAs with need estimated from Census 2021: demand comes from the estimate."""
    from gapmap.io.areas import read_areas
    from gapmap.need import estimated_demand

    lsoas = read_areas(shared_file(LSOA_2021))
    census = shared_file("kent_census2021_ts007a_age5_lsoa21.csv")
    providers, people = demo_registers
    settings = Settings(recruit_time_limit_s=20)
    est = estimated_demand(lsoas, census, snap_m=settings.snap_m)
    study = Study.from_frames(lsoas, providers, people, settings=settings, estimated=est)
    result = gap_analysis(study)
    r = recruit(result, [60])
    assert (r.demand["source"] == "estimated").all()
    assert r.demand["hours"].sum() == pytest.approx(
        result.estimated_points["unmet_hours"].sum() * 5 / 7
    )
    row = r.scenarios.iloc[0]
    # estimated need is far larger than 60 providers: every one fills its hours
    assert row["hours_taken"] == pytest.approx(60 * settings.hours_per_provider, rel=1e-6)
    assert row["coverage_after"] > row["coverage_before"]
    assert isinstance(r.areas, pd.DataFrame) and len(r.areas) == len(lsoas)


def test_recruit_outputs_escaped_and_drawn_in_chromium(tmp_path, builtin_areas, demo_registers):
    """recruit_map.html offline in headless Chromium: every layer drawn, hostile names inert."""
    from gapmap.publish.outputs import write_recruit_outputs

    from .helpers import EVIL
    from .helpers import chromium as _chromium

    playwright = pytest.importorskip("playwright.sync_api")
    providers, people = demo_registers
    providers = providers.copy()
    providers.loc[0, "name"] = EVIL
    areas = builtin_areas.copy()
    areas["area_name"] = areas["area_name"].astype(object)
    areas.loc[:, "area_name"] = "=HYPERLINK(1)" + EVIL
    study = Study.from_frames(areas, providers, people, settings=Settings(recruit_time_limit_s=5))
    result = gap_analysis(study)
    rec = recruit(result, [20, 60])
    paths = write_recruit_outputs(rec, result.providers, tmp_path)
    assert set(paths) >= {"recruit_areas.csv", "recruit_sites.csv", "recruit_map.html"}
    page_html = paths["recruit_map.html"].read_text()
    assert EVIL not in page_html and "<script>alert" not in page_html and "<img" not in page_html
    for name in ("recruit_areas.csv", "recruit_sites.csv"):
        cells = pd.read_csv(paths[name], dtype=str)["area_name"]
        assert cells.str.startswith("'=").all(), f"{name}: formula not neutralised"
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        page.route(
            "**/*",
            lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort(),
        )
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (errors.append("dialog: " + d.message), d.dismiss()))
        page.goto(paths["recruit_map.html"].as_uri())
        page.wait_for_function("window.gapmapLayers !== undefined")
        counts = page.evaluate(
            "() => Object.fromEntries(Object.entries(window.gapmapLayers)"
            ".map(([k, l]) => [k, l.getLayers().length]))"
        )
        browser.close()
    assert errors == []
    n_sites = rec.sites.groupby("new_providers").size()
    assert counts == {
        "Areas": len(areas),
        "District outlines": areas["district_name"].nunique(),
        "Rural gaps (outlined)": int(rec.areas["rural_gap"].sum()),
        f"Micro-providers ({len(providers)})": len(providers),
        **{
            f"Sites for {k} new providers"
            + (" (recommended)" if k == rec.recommended else ""): int(n_sites[k])
            for k in (20, 60)
        },
    }


def test_every_area_says_what_the_largest_scenario_does(demo_recruit, demo_study):
    """The outcome of each area is true of the chosen sites, checked from coordinates."""
    from gapmap.reach import distance_km

    rec = demo_recruit
    a = rec.areas
    kmax = int(rec.scenarios["new_providers"].max())
    sites = rec.sites[rec.sites["new_providers"] == kmax]
    row = rec.scenarios.set_index("new_providers").loc[kmax]
    # the hours each area gives up add up to the scenario's hours taken
    assert a["hours_taken_by_recruits"].sum() == pytest.approx(row["hours_taken"], rel=1e-9)
    assert set(a.loc[a["outcome_code"] == "site", "area_code"]) == set(sites["area_code"])
    nothing = a["outcome_code"] == "nothing"
    none_here = a["recruitable_unmet_hours"] <= 1e-9
    assert (a.loc[nothing, "recruitable_unmet_hours"] <= 1e-9).all()
    assert a.loc[none_here, "outcome_code"].isin(["nothing", "site"]).all()
    assert a.loc[nothing, "priority_rank"].isna().all()
    served = a["outcome_code"] == "served"
    assert served.any()
    assert (a.loc[served, "hours_taken_by_recruits"]
            >= a.loc[served, "recruitable_unmet_hours"] - 1e-6).all()  # fmt: skip
    # "elsewhere": no chosen site is within reach of any of the area's demand points
    s = rec.settings
    sxy = sites[["x", "y"]].to_numpy(float)
    d = rec.demand
    for code in a.loc[a["outcome_code"] == "elsewhere", "area_code"]:
        pts = d[d["area_code"] == code]
        for x, y, limit in pts[["x", "y", "limit_km"]].to_numpy(float):
            km = distance_km(sxy, np.array([x, y])) * s.circuity
            lim = s.radius_km if np.isnan(limit) else min(limit, s.radius_km)
            assert (km > lim + 1e-9).all(), code
    # the published words follow the codes, from published figures only
    pub = publish_ranking(rec)
    assert pub["outcome"].str.len().gt(0).all()
    by_code = dict(zip(a["area_code"], a["outcome_code"]))
    for code, text in zip(pub["area_code"], pub["outcome"]):
        start = {"site": f"of the {kmax} new providers are placed here", "nothing": "Nothing",
                 "served": "Its recruitable hours", "partly": "Partly", "elsewhere": "Not chosen",
                 "in_reach_full": "Not chosen: within reach"}[by_code[code]]  # fmt: skip
        assert start in text
    # each site names the areas whose hours it takes
    published = publish_sites(rec.sites, s.suppression)
    assert published["explanation"].str.startswith("Would take").all()
    names = set(a["area_name"])
    for served_text in sites["areas_served"]:
        first = served_text.split(" and ")[0].split("; ")
        assert first and set(first) <= names
