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

from gapmap.cli.commands import main
from gapmap.io.registers import read_people, read_providers
from gapmap.publish.outputs import ABOUT_FILE, AUDIENCE, INDEX_FILE

from .helpers import EVIL, GOOD_PEOPLE, GOOD_PROVIDERS
from .helpers import chromium as _chromium
from .helpers import csv_text as _csv

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
    pages = sorted(p for p in hostile_run.glob("*.html") if p.name != INDEX_FILE)
    assert {p.name for p in pages} == {"gap_map.html", "recruit_map.html"}
    index = (hostile_run / INDEX_FILE).read_text(encoding="utf-8")  # the "start here" page
    assert "<script" not in index and EVIL not in index
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
                      const both = [l.getTooltip && l.getTooltip(), l.getPopup && l.getPopup()];
                      for (const t of both) {
                        const c = t && t.getContent();
                        if (typeof c === 'string') {
                          const d = document.createElement('div'); d.innerHTML = c;
                          out.push([d.innerText, d.querySelectorAll('script,img').length]);
                        } else if (c && c.nodeType === 1) {  // text put in with textContent
                          out.push([c.textContent, c.querySelectorAll('script,img').length]);
                        }
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
    if path.suffix == ".xlsx":  # a whole workbook opens, with its sheets
        import openpyxl

        return len(openpyxl.load_workbook(path, read_only=True).sheetnames) > 0
    raise AssertionError(path)


@pytest.mark.slow
def test_killed_runs_leave_every_file_whole(tmp_path):
    """SIGKILL `gapmap gaps` at several moments: the earlier set stays whole (the next run
    finishes a commit that was under way, or throws away a staging that was not)."""
    from gapmap.publish.folder import OutputFolder

    demo = REPO / "data" / "demo"
    out = tmp_path / "out"
    argv = [
        sys.executable,
        "-m",
        "gapmap.cli.commands",
        "gaps",
        "--providers",
        str(demo / "providers.csv"),
    ]
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
    assert names - {ABOUT_FILE, INDEX_FILE} <= set(AUDIENCE), names - set(AUDIENCE)
    for name in names - {ABOUT_FILE, INDEX_FILE}:
        line = next(line for line in about.splitlines() if line.startswith(name + " "))
        internal = (
            "matches.csv",
            "internal_gaps_exact.csv",
            "internal_providers_n1.csv",
            "register.db",
        )
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


# --- issue 31: safety in words wherever a provider is shown to staff ----------------------------
DEMO_PROVIDERS = REPO / "data" / "demo" / "providers.csv"
ASK = {"postcode": "CT9 1BQ", "hours": 2, "days": "Mon", "services": "personal_care",
       "self_directing": True, "regulated_care": False, "top": 10}  # fmt: skip
CHECKS = (
    "not registered with or regulated by the Care Quality Commission (CQC)",
    "interview",
    "DBS",
    "insurance",
    "references",
    "The council does not regulate or vouch for them",
)


@pytest.fixture(scope="module")
def safety_client(builtin_areas):
    from fastapi.testclient import TestClient

    from gapmap.serve.app import Register, create_app

    with TestClient(create_app(Register(DEMO_PROVIDERS)), base_url="http://127.0.0.1") as c:
        yield c


def _registered() -> dict[str, bool]:
    prov = read_providers(DEMO_PROVIDERS)
    return dict(zip(prov["provider_id"], prov["cqc_registered"]))


def test_the_api_says_who_is_cqc_registered_and_what_to_check(safety_client):
    """Each provider, partner and cover the API names carries its registration; an unregistered
    one carries the checks in words (before issue 31: nothing said)."""
    cqc = _registered()
    body = safety_client.post("/api/suggest", json=ASK).json()
    assert body["status"] == "ok" and body["suggestions"]
    unregistered = 0
    for s in body["suggestions"]:
        assert s["cqc_registered"] is bool(cqc[s["provider_id"]])
        for role in ("partner", "cover"):
            if s[f"{role}_id"]:
                assert s[f"{role}_cqc_registered"] is bool(cqc[s[f"{role}_id"]])
            else:
                assert s[f"{role}_cqc_registered"] is None
        named = [(s[n], s[i]) for n, i in (("name", "provider_id"), ("partner_name", "partner_id"),
                                           ("cover_name", "cover_id")) if s[i]]  # fmt: skip
        for name, pid in named:
            assert name in s["safety"]
            if cqc[pid]:
                assert "registered with the Care Quality Commission (CQC)." in s["safety"]
            else:
                unregistered += 1
                assert name in s["safety"]
                for word in CHECKS:
                    assert word in s["safety"], (word, s["safety"])
    assert unregistered  # the words were exercised
    assert {p["provider_id"]: p["cqc_registered"] for p in body["points"]} == {
        p["provider_id"]: bool(cqc[p["provider_id"]]) for p in body["points"]
    }


def test_the_page_cards_map_and_summary_carry_the_safety_words(safety_client):
    import html
    import json

    form = {**ASK, "self_directing": "yes", "regulated_care": "no", "days": ["Mon"],
            "services": ["personal_care"]}  # fmt: skip
    r = safety_client.post("/", data=form)
    assert r.status_code == 200
    page = html.unescape(r.text)
    cards = page.split('<ol class="suggestions">')[1].split("</ol>")[0]
    assert "Not CQC-registered" in cards and "CQC-registered" in cards
    for word in CHECKS:
        assert word in cards
    data = json.loads(re.search(r'id="map-data">(.*?)</script>', r.text, re.S).group(1))
    cqc = _registered()
    for p in data["points"]:
        assert p["label"].endswith("(CQC-registered)" if cqc[p["provider_id"]]
                                   else "(not CQC-registered)")  # fmt: skip
        if not cqc[p["provider_id"]]:
            assert all(word in p["popup"] for word in CHECKS)
    summary = page.split('id="summary-text" readonly rows="14">')[1].split("</textarea>")[0]
    assert re.search(r"^Made on \d{1,2} [A-Z][a-z]+ 20\d\d\.$", summary, re.M)
    assert "(not CQC-registered)" in summary
    for word in CHECKS:
        assert word in summary


def test_the_summary_keeps_the_advice_and_the_date(safety_client):
    from datetime import date

    from gapmap.safety import REGULATED_ADVICE, SELF_DIRECTING_ADVICE
    from gapmap.serve.forms import summary_text

    day = date(2026, 12, 7)
    nothing = safety_client.post("/api/suggest", json={**ASK, "hours": 60}).json()
    assert nothing["status"] == "none"
    text = summary_text(nothing, {**ASK, "hours": "60"}, made=day)
    assert "Made on 7 December 2026." in text
    assert "Refer to a CQC-registered home care provider" in text
    assert "Why nothing fits:" in text
    regulated = safety_client.post(
        "/api/suggest", json={**ASK, "hours": 60, "regulated_care": True}
    ).json()
    assert REGULATED_ADVICE in summary_text(regulated, {**ASK, "hours": "60"}, made=day)
    not_self = safety_client.post("/api/suggest", json={**ASK, "self_directing": False}).json()
    assert SELF_DIRECTING_ADVICE in summary_text(not_self, {**ASK, "hours": "2"}, made=day)
    ok = safety_client.post("/api/suggest", json={**ASK, "regulated_care": True}).json()
    text = summary_text(ok, {**ASK, "hours": "2", "regulated_care": True}, made=day)
    assert "every provider above is CQC-registered" in text and "not CQC-registered" not in text


def test_the_command_line_says_who_is_cqc_registered(capsys):
    argv = ["suggest", "--providers", str(DEMO_PROVIDERS), "--postcode", ASK["postcode"],
            "--hours", "2", "--days", "Mon", "--services", "personal_care", "--top", "10",
            "--self-directing", "yes", "--regulated-care", "no"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    heads = [line for line in out.splitlines() if re.match(r"\d+\. ", line)]
    assert heads and all("CQC-registered)" in h for h in heads)
    assert any("not CQC-registered" in h for h in heads)
    assert out.count("   safety: ") == len(heads)
    for word in CHECKS:
        assert word in out
