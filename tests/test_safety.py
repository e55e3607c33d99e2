"""Nothing injected, nothing lost, nothing leaked: the outputs of real runs, opened and read."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

from gapmap.cli import main
from gapmap.publish.outputs import ABOUT_FILE, AUDIENCE
from gapmap.registers import read_people, read_providers

from .test_hardening import GOOD_PEOPLE, GOOD_PROVIDERS, _csv
from .test_maps import EVIL, _chromium

REPO = Path(__file__).resolve().parents[1]
FORMULAS = ("=", "+", "-", "@", "\t", "\r")


# --- injection -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory, builtin_areas):
    """gaps, match and recruit on registers and areas full of formulas and markup."""
    tmp = tmp_path_factory.mktemp("hostile")
    prov = [list(r) for r in GOOD_PROVIDERS]
    for i, r in enumerate(prov[1:], start=1):
        r[0] = ("=cmd|' /C calc'!A0 " if i % 2 else "@SUM(A1) ") + str(i)
        r[1] = EVIL + " & Sons" if i % 3 else "\t-2+3 Care"
    people = [list(r) for r in GOOD_PEOPLE]
    for i, r in enumerate(people[1:], start=1):
        r[0] = f'+HYPERLINK("http://evil.example/{i}")'
    areas = builtin_areas.copy()
    areas["area_name"] = [f"=1+{i} {EVIL}" for i in range(len(areas))]
    (tmp / "providers.csv").write_text(_csv(prov), encoding="utf-8")
    (tmp / "people.csv").write_text(_csv(people), encoding="utf-8")
    areas.to_file(tmp / "areas.gpkg", engine="pyogrio")
    out = tmp / "out"
    base = ["--providers", str(tmp / "providers.csv"), "--people", str(tmp / "people.csv")]
    base += ["--out", str(out)]
    area = ["--areas", str(tmp / "areas.gpkg")]
    assert main(["gaps", *base, *area, "--internal"]) == 0
    assert main(["match", *base, *area, "--time-limit", "3"]) == 0
    assert main(["recruit", *base, *area, "--recruit-time-limit", "3", "--new-providers", "5"]) == 0
    return out


def test_no_csv_cell_can_run_as_a_formula(hostile_run):
    csvs = sorted(hostile_run.glob("*.csv"))
    assert {p.name for p in csvs} >= {"gaps.csv", "matches.csv", "recruit_areas.csv"}
    hostile_cells = 0
    for path in csvs:
        with open(path, encoding="utf-8-sig", newline="") as f:
            for row in csv.reader(f):
                for cell in row:
                    assert not cell.startswith(FORMULAS), f"{path.name}: {cell!r}"
                    hostile_cells += cell.startswith(("'=", "'+", "'@", "'\t"))
    assert hostile_cells > 50  # the hostile text did reach the tables, neutralised


def test_html_outputs_are_inert_in_chromium(hostile_run):
    playwright = pytest.importorskip("playwright.sync_api")
    pages = sorted(hostile_run.glob("*.html"))
    assert {p.name for p in pages} == {"gap_map.html", "recruit_map.html"}
    for page_path in pages:
        html = page_path.read_text(encoding="utf-8")
        assert EVIL not in html and "<img src=x" not in html
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"]
        )
        for page_path in pages:
            page = browser.new_page()
            page.route(
                "**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort()
            )
            events = []
            page.on("pageerror", lambda e, events=events: events.append(str(e)))
            page.on("dialog", lambda d, events=events: (events.append(d.message), d.dismiss()))
            page.goto(page_path.as_uri())
            page.wait_for_function("window.gapmapLayers !== undefined")
            # open every tooltip's content: the hostile names render as text, never as elements
            shown = page.evaluate(
                """() => {
                  const out = [];
                  for (const layer of Object.values(window.gapmapLayers)) {
                    layer.eachLayer(l => {
                      const t = l.getTooltip && l.getTooltip();
                      const c = t && t.getContent();
                      if (typeof c === 'string') {
                        const d = document.createElement('div'); d.innerHTML = c;
                        out.push([d.innerText, d.querySelectorAll('script,img').length]);
                      }
                    });
                  }
                  return out;
                }"""
            )
            page.close()
            assert events == [], f"{page_path.name}: {events}"
            assert shown and all(n == 0 for _, n in shown), page_path.name
            assert any("<script>alert" in text for text, _ in shown), page_path.name
        browser.close()


# --- nothing lost ---------------------------------------------------------------------
def test_a_failure_while_writing_keeps_the_previous_file(tmp_path, monkeypatch):
    from gapmap.publish.export import write_csv

    target = tmp_path / "gaps.csv"
    write_csv(pd.DataFrame({"a": [1, 2]}), target)
    before = target.read_bytes()

    def half_then_fail(self, path, **kw):
        Path(path).write_text("a\n1\n")  # half a table ...
        raise OSError("disk full")  # ... then the disk fills

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_fail)
    with pytest.raises(OSError):
        write_csv(pd.DataFrame({"a": range(10)}), target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["gaps.csv"]  # no temporary left


def _complete(path: Path) -> bool:
    """A file gapmap writes, read back whole."""
    data = path.read_bytes()
    if path.suffix == ".csv":
        return len(pd.read_csv(path, encoding="utf-8-sig")) > 0
    if path.suffix == ".html":
        return data.rstrip().endswith(b"</html>") or data.rstrip().endswith(b"</script>")
    if path.suffix == ".png":
        return data[-8:-4] == b"IEND"
    if path.suffix == ".gpkg":
        return len(gpd.read_file(path)) > 0
    if path.suffix in (".json", ".txt"):
        return data.endswith(b"\n")
    raise AssertionError(path)


@pytest.mark.slow
def test_killed_runs_leave_every_file_whole(tmp_path):
    """SIGKILL `gapmap gaps` at several moments: the earlier set stays whole (the next run
    finishes a commit that was under way, or throws away a staging that was not)."""
    from gapmap.publish.folder import OutputFolder

    demo = REPO / "data" / "demo"
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "gapmap.cli", "gaps", "--providers", str(demo / "providers.csv")]
    argv += ["--people", str(demo / "people.csv"), "--out", str(out)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    subprocess.run(argv, check=True, capture_output=True, env=env)
    earlier = {p.name: p.read_bytes() for p in out.iterdir()}
    assert len(earlier) >= 5
    for delay in (0.5, 1.5, 2.5, 3.5, 4.5):
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for name in earlier:
            path = out / name
            assert path.exists(), f"{name} lost when killed after {delay} s"
            assert path.read_bytes() == earlier[name] or _complete(path), name
        # what a killed run leaves is hidden, and the next run on the folder clears it
        assert all(p.name.startswith(".") for p in out.iterdir() if p.name not in earlier)
        with OutputFolder(out, inputs=[], outputs=list(earlier)):
            pass
        assert {p.name for p in out.iterdir()} == set(earlier)


# --- nothing leaked -------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_out(demo_run):
    rc, _, err, out = demo_run  # the session's one demo run (conftest)
    assert rc == 0, err
    return out


def test_every_file_is_described_with_its_audience(demo_out):
    names = {p.name for p in demo_out.iterdir()}
    about = (demo_out / ABOUT_FILE).read_text()
    assert names - {ABOUT_FILE} <= set(AUDIENCE), names - set(AUDIENCE)
    for name in names - {ABOUT_FILE}:
        line = next(line for line in about.splitlines() if line.startswith(name + " "))
        internal = ("matches.csv", "internal_gaps_exact.csv", "internal_providers_n1.csv")
        assert ("INTERNAL" in line) == (name in internal or name.startswith("cover_")), name


def test_no_person_in_any_published_demo_file(demo_out):
    from gapmap.demo import demo_paths

    prov_path, people_path = demo_paths()
    people, providers = read_people(people_path), read_providers(prov_path)
    published = [p for p in demo_out.iterdir() if AUDIENCE.get(p.name, "").startswith("published")]
    assert len(published) >= 10
    ids = [pid.encode() for pid in people["person_id"]]
    postcodes = {pc.encode() for pc in people["postcode"]}
    postcodes |= {pc.replace(" ", "").encode() for pc in people["postcode"]}
    # marker positions ([lat, lon]) on the maps: none at a person's home unless a provider is there
    to_lonlat = gpd.GeoSeries(gpd.points_from_xy(people["x"], people["y"]), crs=27700).to_crs(4326)
    homes = np.c_[to_lonlat.y, to_lonlat.x]
    prov_ll = gpd.GeoSeries(gpd.points_from_xy(providers["x"], providers["y"]), crs=27700)
    prov_ll = prov_ll.to_crs(4326)
    businesses = np.c_[prov_ll.y, prov_ll.x]
    # one compiled pattern per kind: a scan of every file in one pass each
    find_id = re.compile(b"|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True)))
    find_pc = re.compile(b"|".join(re.escape(p) for p in sorted(postcodes, key=len, reverse=True)))
    home_tree, business_tree = (
        cKDTree(homes * [111_000, 70_000]),
        cKDTree(businesses * [111_000, 70_000]),
    )
    for path in published:
        data = path.read_bytes()
        assert not find_id.search(data), f"{path.name} holds person ids"
        assert not find_pc.search(data), f"{path.name} holds people's postcodes"
        if path.suffix == ".html":
            marks = re.findall(rb"\[\s*(5[01]\.\d+),\s*(-?[01]\.\d+)\s*\]", data)
            pts = np.array(marks, dtype=float) * [111_000, 70_000]
            assert len(pts) > 0
            near_home = home_tree.query(pts)[0] < 5
            near_business = business_tree.query(pts)[0] < 5
            assert not (near_home & ~near_business).any(), f"{path.name}: a person's home"
    # the internal file does hold them: the scan can find what it looks for
    assert find_id.search((demo_out / "matches.csv").read_bytes())


def test_published_area_counts_are_suppressed(demo_out):
    gaps = pd.read_csv(demo_out / "gaps.csv", encoding="utf-8-sig", dtype=str)
    exact = pd.read_csv(demo_out / "internal_gaps_exact.csv", encoding="utf-8-sig")
    small = exact["people"].between(1, 7).to_numpy()
    assert small.any()
    assert (gaps.loc[small, "people"] == "*").all()
    assert gaps.loc[small, "need_hours"].isna().all()
    shown = pd.to_numeric(gaps.loc[~small, "people"])
    assert (shown % 5 == 0).all()
