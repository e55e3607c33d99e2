"""Evidence for the board (issue 19): the workbooks and the QGIS-ready GeoPackage."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from gapmap.gaps import gap_analysis
from gapmap.publish.figures import largest_gaps
from gapmap.publish.outputs import write_gap_outputs, write_recruit_outputs
from gapmap.publish.palette import HOURS_COLOURS, WITHHELD, hour_classes
from gapmap.publish.workbook import MICRO_UNMET, REGULATED_NEED, district_table
from gapmap.recruitment.targeting import recruit
from gapmap.study import Study

from .helpers import EVIL


@pytest.fixture(scope="module")
def run(tmp_path_factory, builtin_areas, demo_registers):
    providers, people = demo_registers
    providers = providers.copy()
    providers.loc[0, "name"] = '=HYPERLINK("http://x")' + EVIL
    areas = builtin_areas.copy()
    areas.loc[0, "area_name"] = "=1+1 " + EVIL
    study = Study.from_frames(areas, providers, people)
    study = study.with_settings(recruit_time_limit_s=5)
    result = gap_analysis(study)
    out = tmp_path_factory.mktemp("evidence")
    paths = write_gap_outputs(result, out)
    rec = recruit(result, [20, 60])
    paths.update(write_recruit_outputs(rec, result.providers, out, study=study))
    return result, rec, paths


def _sheet(path, name) -> pd.DataFrame:
    return pd.read_excel(path, sheet_name=name, header=1)


def test_gaps_workbook_is_the_csv_in_words(run):
    result, _, paths = run
    from openpyxl import load_workbook

    wb = load_workbook(paths["gaps.xlsx"])
    assert wb.sheetnames == ["Areas", "Districts", "Notes"]
    ws = wb["Areas"]
    assert ws.freeze_panes == "A3" and ws.auto_filter.ref.startswith("A2:")
    headers = [c.value for c in ws[2]]
    assert MICRO_UNMET in headers and "Share of need in reach" in headers
    assert "Unmet of everyone waiting, hours a week" in headers and REGULATED_NEED in headers
    # it prints as a committee paper: landscape, one page wide, header rows on every page
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.page_setup.fitToHeight == 0 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$1:$2"
    col = {h: i for i, h in enumerate(headers)}
    assert ws.cell(3, col["Share of need in reach"] + 1).number_format == "0%"
    # the same figures as gaps.csv, ranked by unmet hours (withheld last)
    areas = _sheet(paths["gaps.xlsx"], "Areas")
    csv = pd.read_csv(paths["gaps.csv"], encoding="utf-8-sig", dtype={"people": str})
    merged = areas.merge(csv, left_on="Code", right_on="area_code")
    assert len(merged) == len(csv)
    both = merged["unmet_hours"].notna()
    everyone = "Unmet of everyone waiting, hours a week"
    assert np.allclose(merged.loc[both, everyone], merged.loc[both, "unmet_hours"])
    assert np.allclose(merged.loc[both, MICRO_UNMET], merged.loc[both, "micro_unmet_hours"])
    assert merged.loc[~both, everyone].isna().all()
    # ranked by the headline: unmet hours micro-providers may meet, withheld last
    unmet = areas[MICRO_UNMET]
    shown = unmet[unmet.notna()].to_numpy()
    assert (np.diff(shown) <= 0).all() and unmet.iloc[len(shown) :].isna().all()
    assert set(areas["People waiting"].astype(str)) - {"*"} <= {str(v) for v in range(0, 10**4, 5)}
    # hostile text is text, never a formula, and neutralised like the CSV
    for row in ws.iter_rows(min_row=3):
        for cell in row:
            assert cell.data_type != "f"
    names = [c.value for c in ws["A"]]
    assert "'=1+1 " + EVIL in names
    # notes: the suppression rule, definitions, licence
    notes = " ".join(str(c.value) for row in wb["Notes"].iter_rows() for c in row if c.value)
    assert "shown as *" in notes and "Open Government Licence" in notes and "Gap band" in notes


def test_district_totals_are_rounded_from_exact_figures(run):
    result, _, _ = run
    rule = result.study.settings.suppression
    d = district_table(result, rule)
    t = result.table
    total = d[d["district"] == "Total"].iloc[0]
    exact = t["unmet_hours"].sum()
    assert total["unmet_hours"] == 5 * np.floor(exact / 5 + 0.5)
    assert total["coverage_ratio"] == round(1 - exact / t["need_hours"].sum(), 3)
    assert int(total["people"]) == 5 * int(np.floor(t["people"].sum() / 5 + 0.5))
    per = d[d["district"] != "Total"]
    assert per["areas"].sum() == len(t) and per["providers"].sum() == t["providers"].sum()
    # a district of 1-7 people would show * and withhold its hours
    small = t.copy()
    small["people"] = 0
    small.loc[small.index[0], "people"] = 3
    result.table, saved = small, result.table
    try:
        table = district_table(result, rule)
    finally:
        result.table = saved
    row = table[table["district"] == small["district"].iloc[0]].iloc[0]
    assert row["people"] == "*" and np.isnan(row["unmet_hours"])


def test_recruit_workbook(run):
    _, rec, paths = run
    from openpyxl import load_workbook

    wb = load_workbook(paths["recruit.xlsx"])
    assert wb.sheetnames == ["Scenarios", "Priority areas", "Sites", "Notes"]
    scen = _sheet(paths["recruit.xlsx"], "Scenarios")
    assert scen["New providers asked for"].tolist() == [20, 60]
    csv = pd.read_csv(paths["recruit_scenarios.csv"])
    assert scen["Taken by new providers, hours a week"].tolist() == csv["hours_taken"].tolist()
    prio = _sheet(paths["recruit.xlsx"], "Priority areas")
    ranked = prio["Priority"].dropna()
    assert ranked.tolist() == sorted(ranked.tolist()) and prio["Priority"].isna().any()
    assert prio["What the largest scenario does"].notna().all()


def test_gapmap_gpkg_opens_styled_in_qgis(run):
    import geopandas as gpd
    import pyogrio

    result, rec, paths = run
    path = paths["gapmap.gpkg"]
    names = [n for n, _ in pyogrio.list_layers(path)]
    assert {"areas", "districts", "providers", "recruitment_areas", "recruitment_sites"} <= set(
        names
    )
    areas = gpd.read_file(path, layer="areas")
    assert len(areas) == len(result.table) and areas.crs.to_epsg() == 27700
    providers = gpd.read_file(path, layer="providers")
    assert len(providers) == len(result.providers) and "phone" in providers
    sites = gpd.read_file(path, layer="recruitment_sites")
    assert len(sites) == len(rec.sites)
    with sqlite3.connect(path) as db:
        described = dict(db.execute("SELECT table_name, description FROM gpkg_contents"))
        styles = db.execute(
            "SELECT f_table_name, f_geometry_column, styleQML, useAsDefault FROM layer_styles"
        ).fetchall()
        geoms = dict(db.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
    assert all(described[n] for n in names if n != "layer_styles")
    assert {s[0] for s in styles} == set(names) - {"layer_styles"}
    for table, geom, qml, default in styles:
        assert default == 1 and geom == geoms[table]
        root = ET.fromstring(qml.split("'SYSTEM'>", 1)[1])
        assert root.tag == "qgis" and root.find("renderer-v2") is not None
    # the areas' rules are the map's classes: withheld hatched, the same colours
    qml = dict((s[0], s[2]) for s in styles)["areas"]
    rules = ET.fromstring(qml.split("'SYSTEM'>", 1)[1]).find("renderer-v2/rules")
    filters = [r.get("filter") for r in rules]
    assert filters[0] == '"unmet_hours" IS NULL'
    classes = hour_classes(areas["unmet_hours"], title="", explain="")
    labels = [r.get("label") for r in rules]
    assert labels == [label for _, label in classes.legend()][-1:] + [
        label for _, label in classes.legend()[:-1]
    ]
    colours = ",".join(str(int(HOURS_COLOURS[-1][i : i + 2], 16)) for i in (1, 3, 5))
    assert colours in qml and "b_diagonal" in qml
    # each area falls under exactly one rule, the one of its colour on the HTML map
    for v in areas["unmet_hours"].head(80):
        hits = [i for i, f in enumerate(filters) if _matches(f, v)]
        assert len(hits) == 1, (v, hits)
        expected = classes.colour(v)
        assert (expected == WITHHELD) == (hits[0] == 0)


def _matches(expr: str, v) -> bool:
    """Evaluate the simple QGIS filters written for the areas (IS NULL, =, >, >=, <, AND)."""
    if expr.endswith("IS NULL"):
        return v is None or (isinstance(v, float) and np.isnan(v))
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return False
    ok = True
    for part in expr.split(" AND "):
        _, op, num = part.split(" ")
        x = float(num)
        ok &= {"=": v == x, ">": v > x, ">=": v >= x, "<": v < x}[op]
    return bool(ok)


def test_report_pdf_reads_as_a_committee_paper(run, tmp_path):
    """The PDF's text layer holds the published figures and no person; its pages render."""
    import shutil
    import subprocess

    pypdf = pytest.importorskip("pypdf")
    from gapmap.publish.report import write_report

    result, rec, paths = run
    pdf = write_report(result, tmp_path / "report.pdf", rec=rec, title="Gaps in Kent, Q3 2026")
    reader = pypdf.PdfReader(str(pdf))
    pages = [" ".join(p.extract_text().split()) for p in reader.pages]
    text = " ".join(pages)
    assert 4 <= len(pages) <= 8
    assert "Gaps in Kent, Q3 2026" in pages[0] and "Key messages" in pages[0]
    assert "Districts" in text and "The largest gaps" in text
    assert "Maidstone" in text and "Total" in text
    assert "Recruiting micro-providers" in text and "£" in text
    assert "Methods in plain words" in text and "Open Government Licence" in text
    # the county's headline hours in words are the workbook's total
    total = district_table(result).set_index("district").loc["Total"]
    assert (
        f"{total['micro_unmet_hours']:,.0f} hours a week of support that micro-providers could "
        "give are unmet" in pages[0]
    )
    # the largest gap named first is the published area first in the one gap order
    csv = pd.read_csv(paths["gaps.csv"], encoding="utf-8-sig", dtype={"people": str})
    top = largest_gaps(csv, 1).iloc[0]
    section = text.split("The largest gaps", 1)[1].lstrip()
    assert section.startswith((f"1. {top['area_name']} (", f"{top['area_name']} (")), section[:80]
    people = result.study.people
    assert not any(pid in text for pid in people["person_id"])
    assert not any(pc in text for pc in people["postcode"])
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: pages not rendered")
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    rendered = sorted(tmp_path.glob("page-*.png"))
    assert len(rendered) == len(pages) and all(p.stat().st_size > 5_000 for p in rendered)


@pytest.fixture(scope="module")
def two_quarters(tmp_path_factory):
    """Two runs of `gapmap gaps` on the demo: 300 providers "last quarter", all 416 now."""
    from gapmap.cli.commands import main
    from gapmap.demo import demo_paths

    prov, people = demo_paths()
    base = tmp_path_factory.mktemp("quarters")
    lines = prov.read_text(encoding="utf-8-sig").splitlines()
    before_register = base / "providers_q2.csv"
    before_register.write_text("\n".join(lines[:301]) + "\n", encoding="utf-8")
    runs = {}
    for name, register in (("q2", before_register), ("q3", prov)):
        out = base / name
        assert main(["gaps", "--providers", str(register), "--people", str(people),
                     "--out", str(out)]) == 0  # fmt: skip
        runs[name] = out
    return runs


def test_compare_two_quarters_from_published_figures(two_quarters, tmp_path, capsys):
    from gapmap.cli.commands import main
    from gapmap.compare import compare_runs

    before, after = two_quarters["q2"], two_quarters["q3"]
    comp = compare_runs(before, after, targets=(60, 223, 416, 500))
    b = pd.read_csv(before / "gaps.csv", encoding="utf-8-sig", dtype={"people": str})
    a = pd.read_csv(after / "gaps.csv", encoding="utf-8-sig", dtype={"people": str})
    m = b.merge(a, on="area_code", suffixes=("_b", "_a")).set_index("area_code")
    areas = comp.areas.set_index("area_code")
    change = areas["unmet_hours_change"]
    expected = m["unmet_hours_a"] - m["unmet_hours_b"]
    held = m["unmet_hours_a"].isna() | m["unmet_hours_b"].isna()
    assert change[held.index[held]].isna().all()  # withheld on either side: withheld
    assert np.allclose(change[~held].sort_index(), expected[~held].sort_index())
    # districts and county: differences of the workbooks' published totals
    total = comp.districts.set_index("district").loc["Total"]
    assert total["unmet_hours_change"] == total["unmet_hours_after"] - total["unmet_hours_before"]
    assert total["unmet_hours_change"] < 0  # 116 more providers close hours
    assert comp.providers_before == 300 and comp.providers_after == 416
    assert len(comp.joined) == 116 and comp.left == []
    assert comp.targets == [(60, "met"), (223, "met"), (416, "met"), (500, "416 of 500 (83%)")]
    words = " ".join(comp.words())
    assert "116 joined" in words and "Target of 500" in words and "£" in words
    # the command writes the tables, the words and a map of change
    out = tmp_path / "change"
    assert main(["compare", str(before), str(after), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Unmet hours a week micro-providers may meet went from" in printed
    for name in ("compare_areas.csv", "compare_districts.csv", "compare.txt",
                 "compare_map.html"):  # fmt: skip
        assert (out / name).stat().st_size > 0
    # not output folders: a clear refusal, nothing written
    assert main(["compare", str(tmp_path / "nowhere"), str(after), "--out",
                 str(tmp_path / "x")]) == 2  # fmt: skip
    assert "is not a folder" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
