"""The published maps: offline, escaped, no person data, pointing at the right places; and
proven in a real browser (layers, legend, providers on top, search, print)."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gapmap.gaps import gap_analysis
from gapmap.publish.outputs import write_gap_outputs
from gapmap.publish.palette import HOURS_COLOURS, NO_NEED, WITHHELD, hour_classes
from gapmap.publish.tables import publish_gaps
from gapmap.study import Study, StudyInputs

from .conftest import LSOA_2021, WARDS_2022, shared_file
from .helpers import EVIL, map_data
from .helpers import chromium as _chromium

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory, builtin_areas, demo_registers):
    providers, people = demo_registers
    providers = providers.copy()
    providers.loc[0, "name"] = EVIL
    areas = builtin_areas.copy()
    areas.loc[0, "area_name"] = "</script><b>bold</b>"
    result = gap_analysis(Study.from_frames(areas, providers, people))
    out = tmp_path_factory.mktemp("gaps")
    paths = write_gap_outputs(result, out, internal=True)
    return result, paths, people


def test_outputs_written(outputs):
    _, paths, _ = outputs
    for name in ("gaps.csv", "gaps.gpkg", "gap_map.html", "gap_map.png", "internal_gaps_exact.csv"):
        assert paths[name].exists() and paths[name].stat().st_size > 0
    assert paths["gap_map.png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_map_is_self_contained_and_escaped(outputs):
    _, paths, _ = outputs
    html = paths["gap_map.html"].read_text(encoding="utf-8")
    # nothing fetched from elsewhere: every script inline, no stylesheet, font or image by URL
    assert re.findall(r"<script\b[^>]*\bsrc\s*=", html, flags=re.I) == []
    assert re.findall(r"<link\b", html, flags=re.I) == []
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html)
    assert not re.search(r"<(img|iframe)\b[^>]*\bsrc\s*=\s*['\"]?(https?:)?//", html, flags=re.I)
    # Leaflet itself is inlined: its banner and its code, in one of the page's inline scripts
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    assert any(re.search(r"Leaflet \d+\.\d+", s) and "circleMarker" in s for s in scripts)
    # hostile names are inert in the page, and come back whole from the map's data
    for raw in (EVIL, "<script>alert", "<img src=x", "</script><b>bold"):
        assert raw not in html, raw
    data = map_data(paths["gap_map.html"])
    assert EVIL in [p["name"] for p in data["providers"]]
    assert "Open Government Licence" in html


def test_no_person_data_in_published_files(outputs):
    _, paths, people = outputs
    import geopandas as gpd

    published = [
        paths["gaps.csv"].read_text(encoding="utf-8-sig"),
        paths["gap_map.html"].read_text(encoding="utf-8"),
        gpd.read_file(paths["gaps.gpkg"]).drop(columns="geometry").to_csv(),
    ]
    ids = set(people["person_id"])
    postcodes = set(people["postcode"])
    for text in published:
        assert not any(pid in text for pid in ids)
        assert not any(pc in text for pc in postcodes)


def test_gpkg_opens_with_the_same_rows(outputs):
    import geopandas as gpd

    result, paths, _ = outputs
    g = gpd.read_file(paths["gaps.gpkg"])
    assert len(g) == len(result.table) and g.crs.to_epsg() == 27700
    csv = pd.read_csv(paths["gaps.csv"], encoding="utf-8-sig", dtype={"people": str})
    assert csv["area_code"].tolist() == g["area_code"].tolist()


# --- the map points at the right places ------------------------------------------------------
def test_default_layer_is_unmet_hours_and_withheld_areas_are_never_dark(outputs):
    result, paths, _ = outputs
    data = map_data(paths["gap_map.html"])
    assert data["layers"][0]["key"] == "unmet"
    assert "Unmet hours" in data["layers"][0]["legend"]
    published = publish_gaps(result.table, result.study.settings.suppression)
    fills = [f["properties"]["fill"]["unmet"] for f in data["areas"]["features"]]
    held = (published["people"].astype(str) == "*").to_numpy()
    assert held.any() and (~held).any()
    assert all(f == WITHHELD for f, h in zip(fills, held) if h)
    assert WITHHELD not in [f for f, h in zip(fills, held) if not h]
    # the darkest class goes to the areas with the most unmet hours, and only to them
    # the headline (issue 31): unmet hours micro-providers may meet
    unmet = published["micro_unmet_hours"].to_numpy(float)
    dark = np.array([f == HOURS_COLOURS[-1] for f in fills])
    assert dark.any()
    assert np.nanmin(unmet[dark]) >= np.nanmax(unmet[~dark & ~held])
    top = np.argsort(-np.nan_to_num(unmet, nan=-1))[:10]
    assert all(fills[i] in HOURS_COLOURS[-2:] for i in top)
    # no withheld area in any people-based colouring gets a colour of its scale
    for key in ("coverage", "weekend", "score"):
        assert all(f["properties"]["fill"][key] == WITHHELD for f, h in
                   zip(data["areas"]["features"], held) if h)  # fmt: skip


@given(st.lists(st.one_of(st.floats(0, 5000), st.just(float("nan"))), min_size=1, max_size=60))
def test_hour_classes_are_ordered_and_honest(values):
    c = hour_classes(values, title="t", explain="e")
    v = np.asarray(values, float)
    order = {col: i for i, col in enumerate([NO_NEED, *HOURS_COLOURS])}
    for x in v:
        col = c.colour(x)
        if np.isnan(x):
            assert col == WITHHELD
        elif x <= 0:
            assert col == NO_NEED
        else:
            assert col in HOURS_COLOURS
    finite = np.sort(v[np.isfinite(v)])
    ranks = [order[c.colour(x)] for x in finite]
    assert ranks == sorted(ranks)  # more hours never paler
    assert len(c.legend()) == len(set(label for _, label in c.legend()))


def _browser(p):
    return p.chromium.launch(
        executable_path=_chromium(),
        args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    )  # fmt: skip


def _offline_page(browser, errors, blocked, viewport=(1280, 900)):
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})

    def only_local(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (errors.append("dialog: " + d.message), d.dismiss()))
    return page


@pytest.fixture(scope="module")
def ward_outputs(tmp_path_factory):
    """The README's 2022-ward run (demo registers, census need by LSOA) written to a folder."""
    wards = shared_file(WARDS_2022)
    census = shared_file("kent_census2021_ts007a_age5_lsoa21.csv")
    lsoas = shared_file(LSOA_2021)
    study = Study.read(
        StudyInputs(
            providers=DEMO / "providers.csv",
            people=DEMO / "people.csv",
            areas=wards,
            census=census,
            census_areas=lsoas,
        )
    )
    result = gap_analysis(study)
    out = tmp_path_factory.mktemp("wards2022")
    paths = write_gap_outputs(result, out, title="Micro-provider gaps in Kent, 2022 wards")
    return result, paths


@pytest.mark.slow
def test_ward_map_in_chromium_offline(ward_outputs):
    """Every layer switched, legend following, providers on top and clickable, search, no
    background when offline, and the printed PDF without controls (real 2022 wards)."""
    playwright = pytest.importorskip("playwright.sync_api")
    pypdf = pytest.importorskip("pypdf")
    result, paths = ward_outputs
    n_areas = len(result.table)
    n_providers = len(result.providers)
    data = map_data(paths["gap_map.html"])
    keys = [layer["key"] for layer in data["layers"]]
    assert keys == ["unmet", "coverage", "weekend", "score", "est_need", "est_unmet"]
    assert any(p["label"].endswith("(postcode district)") for p in data["places"])
    ARTIFACTS.mkdir(exist_ok=True)
    errors, blocked = [], []
    with playwright.sync_playwright() as p:
        browser = _browser(p)
        page = _offline_page(browser, errors, blocked)
        page.goto(paths["gap_map.html"].as_uri())
        page.wait_for_function("window.gapmap !== undefined")
        # offline: no tile loads, so "No background" is chosen by itself
        page.wait_for_function("window.gapmap.background() === 'none'")
        assert page.locator("#gapmap-bg-none").is_checked()
        assert page.locator(".leaflet-control-scale").is_visible()
        # district outlines and names always there; title and caption above the map
        names = page.locator(".gapmap-district-label").all_inner_texts()
        assert {"Maidstone", "Canterbury", "Thanet"} <= set(names)
        assert "2022 wards" in page.locator("#gapmap-header h1").inner_text()
        assert "Made " in page.locator("#gapmap-header p").inner_text()
        # one area layer, restyled: switching colourings never adds paths
        areas_drawn = page.locator(".leaflet-areas-pane path").count()
        assert areas_drawn == n_areas
        page.screenshot(path=str(ARTIFACTS / "gap_map.png"))
        titles = []
        for layer in data["layers"]:
            page.locator(f"#gapmap-colour-{layer['key']}").check()
            titles.append(page.locator("#gapmap-legend h2").inner_text())
            assert page.locator(".leaflet-areas-pane path").count() == n_areas
            # providers stay on top: the element at each marker's centre is a provider marker
            on_top = page.evaluate(
                """() => {
                  let ok = 0, n = 0;
                  window.gapmap.providers.eachLayer(m => {
                    const pt = window.gapmap.map.latLngToContainerPoint(m.getLatLng());
                    const r = window.gapmap.map.getContainer().getBoundingClientRect();
                    const x = r.left + pt.x, y = r.top + pt.y;
                    if (x < r.left || y < r.top || x > r.right || y > r.bottom) return;
                    const el = document.elementFromPoint(x, y);
                    if (!el || el.closest('.leaflet-control')) return;  // under the panels
                    n++;
                    if (el.closest('.leaflet-providers-pane')) ok++;
                  });
                  return [ok, n];
                }"""
            )
            assert on_top[1] > 50 and on_top[0] == on_top[1], (layer["key"], on_top)
        assert len(set(titles)) == len(titles)  # the legend follows the colouring
        assert titles[0] == "Unmet hours a week micro-providers may meet"
        # switch the providers off and on: still on top and clickable
        page.locator("#gapmap-show-providers").uncheck()
        assert page.locator(".leaflet-providers-pane path").count() == 0
        assert "Micro-provider" not in page.locator("#gapmap-legend").inner_text()
        page.locator("#gapmap-show-providers").check()
        assert page.locator(".leaflet-providers-pane path").count() == n_providers
        page.locator("#gapmap-colour-unmet").check()
        box = page.locator(".leaflet-providers-pane path").nth(5).bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        assert "Free hours a week" in popup.inner_text()
        page.keyboard.press("Escape")
        # search finds a ward by name (keyboard only) and a postcode district
        ward = str(result.table["area_name"].iloc[40])
        county_zoom = page.evaluate("window.gapmap.map.getBoundsZoom(window.gapmap.bounds)")
        page.locator("#gapmap-find").fill(ward)
        page.keyboard.press("Enter")
        assert page.locator("#gapmap-status").inner_text().startswith(f"Showing {ward}")
        # zoomed in on the ward, the whole ward in view
        assert page.evaluate("window.gapmap.map.getZoom()") > county_zoom
        assert page.evaluate(
            """(name) => {
              let shown = false;
              window.gapmap.areas.eachLayer(l => {
                if (l.feature.properties.index === 40)
                  shown = window.gapmap.map.getBounds().contains(l.getBounds());
              });
              return shown;
            }""",
            ward,
        )
        page.locator("#gapmap-find").fill("ME14")
        page.keyboard.press("Enter")
        assert "ME14 (postcode district)" in page.locator("#gapmap-status").inner_text()
        # area names appear when zoomed in
        page.wait_for_function("document.querySelectorAll('.gapmap-area-label').length > 0")
        page.locator("#gapmap-find").fill("Nowhere at all")
        page.keyboard.press("Enter")
        assert "Nothing on this map" in page.locator("#gapmap-status").inner_text()
        # print: no controls, the legend beside (not over) the map
        page.emulate_media(media="print")
        for sel in (".gapmap-panel", ".gapmap-search", ".leaflet-control-zoom", "#gapmap-legend"):
            assert not page.locator(sel).is_visible(), sel
        side = page.locator("#gapmap-print-legend").bounding_box()
        mapbox = page.locator(".folium-map").bounding_box()
        assert side["x"] >= mapbox["x"] + mapbox["width"] - 1
        page.screenshot(path=str(ARTIFACTS / "gap_map_print.png"))
        pdf = ARTIFACTS / "gap_map_print.pdf"
        page.pdf(path=str(pdf), format="A4", landscape=True, print_background=True)
        browser.close()
    assert not errors, errors
    assert blocked and all(not u.startswith("file:") for u in blocked)
    reader = pypdf.PdfReader(str(pdf))
    text = " ".join(pg.extract_text() for pg in reader.pages)
    assert len(reader.pages) == 1
    assert "2022 wards" in text and "Unmet hours a week" in text and "Open Government" in text
    for control in ("Colour areas by", "Find an area", "Background", "Show"):
        assert control not in text, control


def test_map_in_headless_chromium_offline(outputs):
    """The built-in geography's map with hostile names: drawn, inert, every overlay toggles."""
    playwright = pytest.importorskip("playwright.sync_api")
    result, paths, _ = outputs
    n_areas = len(result.table)
    n_providers = len(result.providers)
    errors, blocked = [], []
    with playwright.sync_playwright() as p:
        browser = _browser(p)
        page = _offline_page(browser, errors, blocked)
        page.goto(paths["gap_map.html"].as_uri())
        page.wait_for_function("window.gapmapLayers !== undefined")
        counts = page.evaluate(
            "() => Object.fromEntries(Object.entries(window.gapmapLayers)"
            ".map(([k, l]) => [k, l.getLayers().length]))"
        )
        assert counts["Areas"] == n_areas
        assert counts[f"Micro-providers ({n_providers})"] == n_providers
        assert counts["Rural gaps (outlined)"] == int(result.table["rural_gap"].sum())
        page.locator("#gapmap-show-rural").uncheck()
        assert page.locator(".leaflet-outlines-pane path").count() == 0
        page.locator("#gapmap-show-rural").check()
        assert (
            page.locator(".leaflet-outlines-pane path").count() == counts["Rural gaps (outlined)"]
        )
        # asking for tiles offline: they fail again, "No background" comes back, areas stay
        page.locator("#gapmap-bg-osm").click()
        page.wait_for_function("window.gapmap.background() === 'none'")
        assert page.locator("#gapmap-bg-none").is_checked()
        assert page.locator(".leaflet-areas-pane path").count() == n_areas
        browser.close()
    assert not errors, errors
