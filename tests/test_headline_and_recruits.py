"""Issue 31, items 3 and 4: the headline counts only need micro-providers may meet, and the
recruitment options a committee can choose from (weekday-only beside seven-day recruits, no
site where nobody lives or in a delivery office's postcode sector, no recruit who would take
nothing)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from gapmap.gaps import gap_analysis
from gapmap.recruitment.ranking import MIN_SITE_KM2, useful_recruits
from gapmap.recruitment.targeting import recruit


def test_headline_split_adds_up_in_every_area(demo_gap):
    """Unmet hours of everyone (SPEC) = unmet hours of people who can direct their own care
    + need of people who cannot (no micro-provider may serve them), area by area; and the
    split is what the people register says, counted independently."""
    t = demo_gap.table.set_index("area_code")
    assert np.allclose(
        t["unmet_hours"], t["micro_unmet_hours"] + t["need_hours_not_self_directing"]
    )
    assert np.allclose(t["need_hours"], t["micro_need_hours"] + t["need_hours_not_self_directing"])
    people = demo_gap.study.people
    cannot = people[~people["self_directing"]].groupby("area_code")["hours"].sum()
    assert np.allclose(cannot, t.loc[cannot.index, "need_hours_not_self_directing"])
    assert t["need_hours_not_self_directing"].sum() > 500  # the demo has such people
    # none of them reaches a micro-provider
    reach = demo_gap.study.reach
    assert people["self_directing"].to_numpy()[reach.person].all()


def test_headline_words_say_regulated_need_apart(demo_gap):
    from gapmap.publish.figures import headline_figures

    head = headline_figures(demo_gap)
    words = " ".join(head.words())
    assert f"{head.micro_unmet_hours:,.0f} hours a week of support that micro-providers" in words
    assert "need for regulated services" in words
    assert f"A further {head.regulated_need_hours:,.0f} hours a week" in words
    assert head.micro_unmet_hours < head.unmet_hours


@pytest.fixture(scope="module")
def options(demo_study):
    study = demo_study.with_settings(recruit_time_limit_s=5)
    return recruit(gap_analysis(study), [60, 223], other_days=True)


def test_weekday_and_seven_day_options_side_by_side(options):
    rec, alt = options, options.alternative
    assert alt is not None
    assert not rec.settings.weekend_working and alt.settings.weekend_working
    assert list(rec.scenarios["new_providers"]) == list(alt.scenarios["new_providers"])
    # weekday recruits close no weekend gap; seven-day recruits close some
    r, a = rec.scenarios.iloc[0], alt.scenarios.iloc[0]
    assert r["weekend_gaps_after"] == r["weekend_gaps_before"]
    assert a["weekend_gaps_after"] < a["weekend_gaps_before"]
    assert rec.recommended in set(rec.scenarios["new_providers"])


def test_no_site_where_nobody_lives_and_no_idle_recruit(options, demo_study):
    areas = demo_study.areas.set_index("area_code")
    table = options.areas.set_index("area_code")
    for rec in (options, options.alternative):
        sites = rec.sites
        codes = sites["area_code"]
        assert (areas.loc[codes].geometry.area.to_numpy() >= MIN_SITE_KM2 * 1e6).all()
        assert (table.loc[codes, "people"].to_numpy() > 0).all()
        assert not set(codes) & {"CT50 1", "TN9 9"}
        # every recruit takes hours that do not round to nothing
        per = rec.settings.hours_per_provider
        last = sites["hours_taken"] - (sites["providers_at"] - 1) * per
        assert (sites["providers_at"] >= 1).all() and (last >= 2.5).all()
        placed = rec.sites.groupby("new_providers")["providers_at"].sum()
        assert (placed == rec.scenarios.set_index("new_providers")["providers_placed"]).all()


def test_useful_recruits_drops_the_idle_last_one():
    n, h = useful_recruits(np.array([3, 2, 1, 1]), np.array([56.0, 54.0, 2.0, 3.0]), 27.0, 2.5)
    assert n.tolist() == [2, 2, 0, 1]
    assert h.tolist() == [54.0, 54.0, 0.0, 3.0]


def test_recruit_map_opens_on_the_recommended_option_with_popups_in_front(demo_run):
    """In Chromium at 1366×768: the recommended layer is the one shown, and a site's popup
    opened next to the legend is in front of it (the legend and panels step back)."""
    playwright = pytest.importorskip("playwright.sync_api")
    from .helpers import chromium as _chromium

    rc, out, err, folder = demo_run
    assert rc == 0, err
    shown_k = int(re.search(r"Recommended: (\d+) new providers", out)[1])
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.route(
            "**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort()
        )
        page.goto((folder / "recruit_map.html").as_uri())
        page.wait_for_function("window.gapmapLayers !== undefined")
        on_map = page.evaluate(
            "() => Object.entries(window.gapmapLayers).filter(([k, l]) => k.startsWith('Sites')"
            " && l._map).map(([k]) => k)"
        )
        assert on_map == [f"Sites for {shown_k} new providers (recommended)"]
        legend = page.locator("#gapmap-legend").bounding_box()
        assert page.evaluate(
            """(leg) => {
              let best = null, d = 1e18;
              for (const [k, l] of Object.entries(window.gapmapLayers)) {
                if (!l._map || !k.startsWith('Sites')) continue;
                l.eachLayer(m => {
                  const p = m._map.latLngToContainerPoint(m.getLatLng());
                  const dd = (p.x - leg.x - leg.width) ** 2 + (p.y - leg.y) ** 2;
                  if (dd < d) { d = dd; best = m; }
                });
              }
              if (best) best.openPopup();
              return !!best;
            }""",
            legend,
        )
        page.wait_for_timeout(500)
        box = page.locator(".leaflet-popup-content").bounding_box()
        points = [
            (box["x"] + fx * box["width"], box["y"] + fy * box["height"])
            for fx in (0.1, 0.5, 0.9)
            for fy in (0.1, 0.5, 0.9)
        ]
        on_top = page.evaluate(
            "(pts) => pts.every(([x, y]) => { const e = document.elementFromPoint(x, y);"
            " return !e || !!e.closest('.leaflet-popup'); })",
            points,
        )
        browser.close()
    assert on_top


def test_sites_are_named_by_a_town_or_village_and_district(options, demo_study):
    """A site carries the largest town or village inside its area (else the nearest within
    5 km, "near ..."), and always its district; checked against the places' coordinates."""
    from gapmap.publish.figures import published_sites
    from gapmap.publish.mapplaces import towns_and_villages

    sites = published_sites(options, demo_study)
    assert list(sites.columns).index("place") == list(sites.columns).index("area_name") + 1
    assert sites["district"].astype(str).str.len().gt(0).all()
    assert (sites["place"] != "").mean() > 0.7
    towns = towns_and_villages(demo_study.areas)
    areas = demo_study.areas.set_index("area_code")
    for r in sites[sites["place"] != ""].head(40).to_dict("records"):
        name = r["place"].removeprefix("near ")
        t = towns[towns["name"] == name]
        assert len(t), name
        d = np.hypot(t["x"] - r["easting"], t["y"] - r["northing"]).min()
        if r["place"].startswith("near "):
            assert d <= 5000
        else:  # a place inside the site's own area
            from shapely.geometry import Point

            geom = areas.loc[r["area_code"]].geometry
            assert any(geom.distance(Point(x, y)) <= 1 for x, y in zip(t["x"], t["y"]))
