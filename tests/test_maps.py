"""The published map: offline, escaped, no person data; and proven in a real browser."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from gapmap.gaps import gap_analysis
from gapmap.publish.outputs import write_gap_outputs
from gapmap.study import Study

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


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
    assert "<script src=" not in html and "<link " not in html.split("<body")[0].replace(
        '<link rel="stylesheet"', ""
    )  # no CDN scripts or stylesheets
    assert "L.version" in html or "Leaflet" in html  # Leaflet inlined
    assert EVIL not in html and "<script>alert" not in html
    assert "</script><b>bold" not in html
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


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("Debian's chromium is not installed (.ci/run installs it)")


def test_map_in_headless_chromium_offline(outputs):
    playwright = pytest.importorskip("playwright.sync_api")
    result, paths, _ = outputs
    n_areas = len(result.table)
    n_providers = len(result.providers)
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=_chromium(),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        blocked = []

        def only_local(route):
            if route.request.url.startswith("file:"):
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        page.route("**/*", only_local)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (errors.append("dialog: " + d.message), d.dismiss()))
        page.goto(paths["gap_map.html"].as_uri())
        page.wait_for_function("window.gapmapLayers !== undefined")
        counts = page.evaluate("""() => {
            const out = {};
            for (const [k, l] of Object.entries(window.gapmapLayers)) out[k] = l.getLayers().length;
            return out;
        }""")
        assert counts == {
            "Unmet need": n_areas,
            "Weekend coverage": n_areas,
            "Rural gaps": n_areas,
            "Micro-providers": n_providers,
        }
        drawn = page.locator("path.leaflet-interactive").count()
        # two area layers shown at start, plus one marker per provider
        assert drawn == 2 * n_areas + n_providers
        page.get_by_label("Weekend coverage").check()
        assert page.locator("path.leaflet-interactive").count() == 3 * n_areas + n_providers
        page.get_by_label("Micro-providers").uncheck()
        assert page.locator("path.leaflet-interactive").count() == 3 * n_areas
        page.get_by_label("Weekend coverage").uncheck()
        page.get_by_label("Micro-providers").check()
        # the hostile provider name shows as text in its tooltip, and ran nothing
        assert not errors, errors
        page.screenshot(path=str(ARTIFACTS / "gap_map.png"))
        browser.close()
    # tiles were asked for and refused: the map still drew every area offline
    assert all(not u.startswith("file:") for u in blocked)
