"""Maps that orient offline (issue 31, item 7), proven in Chromium on the demo run.

With no background tiles, a reader searching for a town, a full postcode or an area must land
there and see names; the keyboard reaches the search in one Tab; the panels never hide the county
on a laptop (1366×768) nor cover the map on a phone (390×844), where page zoom stays allowed;
popups speak in words (services, days, free hours) and stay clear of the panels.
"""

import re
from pathlib import Path

import pandas as pd
import pytest

from gapmap.gaps import gap_analysis
from gapmap.publish.maps import days_in_words
from gapmap.publish.outputs import write_gap_outputs
from gapmap.reach import free_hours
from gapmap.study import Study, StudyInputs
from gapmap.vocab import hours_words

from .helpers import chromium as _chromium
from .helpers import map_data

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
ARTIFACTS = ROOT / "test-artifacts"
LAPTOP, PHONE = (1366, 768), (390, 844)


@pytest.fixture(scope="module")
def demo_map(tmp_path_factory):
    """The demo's gap map, made the way ``gapmap gaps`` makes it (built-in Kent sectors)."""
    study = Study.read(StudyInputs(providers=DEMO / "providers.csv", people=DEMO / "people.csv"))
    result = gap_analysis(study)
    out = tmp_path_factory.mktemp("orient")
    paths = write_gap_outputs(result, out, title="gapmap demo: micro-provider gaps in Kent")
    return result, paths["gap_map.html"]


# --- what the page is made from ------------------------------------------------------------
def test_the_map_carries_towns_sectors_and_areas_to_search(demo_map):
    result, path = demo_map
    data = map_data(path)
    kinds = {p["kind"] for p in data["places"]}
    assert {"town", "postcode sector", "postcode district", "area", "district"} <= kinds
    towns = {p["keys"][0] for p in data["places"] if p["kind"] == "town"}
    assert {"Tenterden", "Hawkhurst", "Canterbury", "Margate", "Sevenoaks"} <= towns
    sectors = {p["keys"][0]: p for p in data["places"] if p["kind"] == "postcode sector"}
    # every sector of the built-in geography can be found (its middle lies in the area)
    codes = set(result.table["area_code"])
    assert len(codes - set(sectors)) <= 0.02 * len(codes)
    assert "CT1 2" in sectors and sectors["CT1 2"]["where"] == "in Canterbury"
    # labels of every kind, districts first (drawn first, never pushed out by a village)
    kinds_in_order = [label["k"] for label in data["labels"]]
    assert kinds_in_order[: len(set(result.table["district"]))] == ["district"] * 12
    assert {"town", "village", "area"} <= set(kinds_in_order)
    # an area's popup names the towns and villages in it
    tenterden = next(p for p in data["places"] if p["kind"] == "town" and "Tenterden" in p["keys"])
    tip = data["areas"]["features"][tenterden["area"]]["properties"]["tip"]
    assert re.search(r"Towns and villages</th><td>[^<]*Tenterden", tip)
    html = path.read_text(encoding="utf-8")
    assert "GeoNames" in html and "Open Government Licence" in html


def test_viewport_allows_zoom(demo_map):
    _, path = demo_map
    metas = re.findall(r'<meta name="viewport"[^>]*>', path.read_text(encoding="utf-8"))
    assert len(metas) == 1
    assert "user-scalable" not in metas[0] and "maximum-scale" not in metas[0]


def test_provider_popups_are_in_words_with_free_hours(demo_map):
    _, path = demo_map
    data = map_data(path)
    register = pd.read_csv(DEMO / "providers.csv", encoding="utf-8-sig")
    assert len(data["providers"]) == len(register)
    register["free"] = [hours_words(f) if f > 0 else "none free" for f in free_hours(register)]
    for p in data["providers"]:
        tip = p["tip"]
        rows = register[register["name"] == p["name"]]
        assert "personal_care" not in tip and rows["services"].iloc[0] not in tip  # no codes
        assert ";" not in re.sub(r"&\w+;|&#\d+;", "", tip)
        assert not re.search(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b", tip), tip  # days in words
        assert "Free hours a week" in tip and "capacity" not in tip.lower()
        assert any(f"<td>{f}</td>" in tip for f in rows["free"])  # free, not capacity
        assert "CQC-registered" in tip
    days = register["days"].map(days_in_words)
    assert "Monday to Friday" in set(days) and "Monday to Saturday" in set(days)


# --- in the browser ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    executable = _chromium()
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update"],
        )  # fmt: skip
        yield b
        b.close()


def _open(browser, path, size, errors):
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.route(
        "**/*",
        lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort(),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_function("window.gapmap !== undefined")
    page.wait_for_function("window.gapmap.background() === 'none'")
    return page


# the rectangles (in page pixels) of the visible panels, the map, and a lat/lon box on it
_RECTS = """(box) => {
  const g = window.gapmap, c = g.map.getContainer().getBoundingClientRect();
  const panels = [...document.querySelectorAll('.leaflet-control')]
    .map(e => e.getBoundingClientRect()).filter(r => r.width > 0 && r.height > 0)
    .map(r => [r.left, r.top, r.right, r.bottom]);
  let b = null;
  if (box) {
    const ll = box === 'county' ? g.bounds : L.latLngBounds(box);
    const a = g.map.latLngToContainerPoint(ll.getNorthWest());
    const z = g.map.latLngToContainerPoint(ll.getSouthEast());
    b = [c.left + a.x, c.top + a.y, c.left + z.x, c.top + z.y];
  }
  return {map: [c.left, c.top, c.right, c.bottom], panels: panels, box: b};
}"""


def _overlap(a, b) -> bool:
    return a[0] < b[2] - 0.5 and a[2] > b[0] + 0.5 and a[1] < b[3] - 0.5 and a[3] > b[1] + 0.5


def _inside(a, b) -> bool:
    return a[0] >= b[0] - 0.5 and a[1] >= b[1] - 0.5 and a[2] <= b[2] + 0.5 and a[3] <= b[3] + 0.5


def _visible_labels(page, selector: str) -> list[str]:
    """Texts of labels drawn inside the map and clear of every panel."""
    return page.evaluate(
        """(sel) => {
          const c = window.gapmap.map.getContainer().getBoundingClientRect();
          const panels = [...document.querySelectorAll('.leaflet-control')]
            .map(e => e.getBoundingClientRect()).filter(r => r.width > 0);
          const clear = r => !panels.some(p => r.left < p.right && r.right > p.left &&
                                               r.top < p.bottom && r.bottom > p.top);
          return [...document.querySelectorAll(sel)].filter(e => {
            const r = e.getBoundingClientRect();
            return r.width > 0 && r.left >= c.left && r.right <= c.right && r.top >= c.top &&
                   r.bottom <= c.bottom && clear(r) && getComputedStyle(e).visibility !== 'hidden';
          }).map(e => e.textContent);
        }""",
        selector,
    )


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_county_clear_of_panels_and_skip_link_first(demo_map, browser, size):
    _, path = demo_map
    errors: list[str] = []
    page = _open(browser, path, size, errors)
    r = page.evaluate(_RECTS, "county")
    assert _inside(r["box"], r["map"]), r
    for panel in r["panels"]:
        assert not _overlap(r["box"], panel), (r["box"], panel)
    # the county is not a postage stamp: it fills most of the free width or height
    box_w, box_h = r["box"][2] - r["box"][0], r["box"][3] - r["box"][1]
    map_w, map_h = r["map"][2] - r["map"][0], r["map"][3] - r["map"][1]
    assert box_w > 0.45 * map_w or box_h > 0.45 * map_h
    # districts are named at the county view
    assert len(_visible_labels(page, ".gapmap-district-label")) >= 8
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"orient_county_{size[0]}.png"))
    # one Tab reaches the skip link, which takes the keyboard to the search box
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "gapmap-skip"
    assert page.locator("#gapmap-skip").is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "gapmap-find"
    page.keyboard.type("Hawkhurst")
    page.keyboard.press("Enter")
    assert page.locator("#gapmap-status").inner_text().startswith("Showing Hawkhurst")
    if size == PHONE:
        # on a phone the panels are folded: together they cover little of the map
        covered = sum((p[2] - p[0]) * (p[3] - p[1]) for p in r["panels"])
        assert covered < 0.2 * map_w * map_h
        assert page.locator("#gapmap-options").is_hidden()
        page.get_by_role("button", name="Map options").click()
        assert page.locator("#gapmap-colour-unmet").is_visible()
    page.close()
    assert not errors, errors


# each search: what to type, the search entry it must find (its key), a name then shown
SEARCHES = [
    ("Tenterden", "Tenterden", "Tenterden"),
    ("ct1 2aa", "CT1 2", "CT1 2AA"),  # a full postcode, through its sector
    ("TN18 4", "TN18 4", "TN18 4"),  # an area's code (the built-in geography's sector)
    ("hawkhurst", "Hawkhurst", "Hawkhurst"),
]


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_search_lands_there_and_names_are_shown(demo_map, browser, size):
    _, path = demo_map
    data = map_data(path)
    errors: list[str] = []
    page = _open(browser, path, size, errors)
    county_zoom = page.evaluate("window.gapmap.map.getZoom()")
    for typed, key, name in SEARCHES:
        target = next(p for p in data["places"] if key in p["keys"])
        page.locator("#gapmap-find").fill(typed)
        page.locator("#gapmap-find").press("Enter")
        words = page.locator("#gapmap-status").inner_text()
        assert words.startswith("Showing"), words
        if typed == "ct1 2aa":
            assert "postcode sector CT1 2" in words and "not single postcodes" in words
        # the map moved there: zoomed in, the place on screen and clear of the panels
        assert page.evaluate("window.gapmap.map.getZoom()") >= county_zoom + 2
        spot = [[target["lat"], target["lon"]], [target["lat"], target["lon"]]]
        r = page.evaluate(_RECTS, spot)
        assert _inside(r["box"], r["map"]), (typed, r)
        assert not any(_overlap([r["box"][0] - 5, r["box"][1] - 5, r["box"][0] + 5,
                                 r["box"][1] + 5], p) for p in r["panels"])  # fmt: skip
        # names to orient by: the place found, and towns, villages or areas around it
        assert name in " ".join(_visible_labels(page, ".gapmap-found-label")), typed
        around = _visible_labels(page, ".gapmap-town-label, .gapmap-village-label")
        areas = _visible_labels(page, ".gapmap-area-label")
        assert len(around) >= 1 and len(areas) >= 2, (typed, around, areas)
        shot = re.sub(r"\W+", "_", typed.lower())
        page.screenshot(path=str(ARTIFACTS / f"orient_{shot}_{size[0]}.png"))
    # the area found: its figures one Tab away from the search (keyboard users)
    page.locator("#gapmap-find").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").startswith("Figures for TN18 4")
    page.keyboard.press("Enter")
    assert "Unmet a week" in page.locator(".leaflet-popup-content").inner_text()
    page.locator("#gapmap-find").fill("Nowhere at all")
    page.locator("#gapmap-find").press("Enter")
    assert page.locator("#gapmap-status").inner_text().startswith("Nothing on this map")
    page.close()
    assert not errors, errors


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_popups_in_words_clear_of_the_panels(demo_map, browser, size):
    _, path = demo_map
    errors: list[str] = []
    page = _open(browser, path, size, errors)
    page.locator("#gapmap-find").fill("Tenterden")
    page.locator("#gapmap-find").press("Enter")
    # the provider nearest the right-hand panels: its popup must be panned clear of them
    idx = page.evaluate(
        """() => {
          const g = window.gapmap, size = g.map.getSize();
          let best = -1, bestX = -1, i = 0;
          g.providers.eachLayer(m => {
            const p = g.map.latLngToContainerPoint(m.getLatLng());
            if (p.x > 0 && p.y > 60 && p.x < size.x && p.y < size.y && p.x > bestX) {
              best = i; bestX = p.x;
            }
            i++;
          });
          return best;
        }"""
    )
    assert idx >= 0
    page.evaluate(
        "(i) => window.gapmap.providers.getLayers()[i].openPopup()",
        idx,
    )
    popup = page.locator(".leaflet-popup-content-wrapper")
    popup.wait_for()
    page.wait_for_timeout(400)  # the pan that keeps it clear
    text = popup.inner_text()
    assert "Free hours a week" in text and "Works" in text and "Services" in text
    assert "personal_care" not in text and not re.search(r"\bMon\b|;", text)
    box = popup.bounding_box()
    rect = [box["x"], box["y"], box["x"] + box["width"], box["y"] + box["height"]]
    r = page.evaluate(_RECTS, None)
    assert _inside(rect, r["map"]), (rect, r["map"])
    for panel in r["panels"]:
        assert not _overlap(rect, panel), (rect, panel)
    page.screenshot(path=str(ARTIFACTS / f"orient_popup_{size[0]}.png"))
    # an area's popup (clicked, or opened by keyboard users through the search) is in words too
    page.keyboard.press("Escape")
    page.evaluate("() => window.gapmap.areas.getLayers()[5].openPopup()")
    area = page.locator(".leaflet-popup-content").inner_text()
    assert "Unmet a week" in area and "District" in area
    page.close()
    assert not errors, errors
