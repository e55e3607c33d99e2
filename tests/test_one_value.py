"""One figure, one value (issue 31, items 3 and 5): the demo's headline figures are the same in
the terminal, the report (PDF and Word), the workbook, the CSV files, summary.json, the
GeoPackage and compare; the terminal of the published run prints no exact small or unrounded
counts; the headline counts only need micro-providers may meet."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from gapmap.publish.disclosure import Suppression


def _flat(text: str) -> str:
    return " ".join(text.split())


def _num(text: str) -> float:
    return float(text.replace(",", ""))


@pytest.fixture(scope="module")
def outputs(demo_run):
    pypdf = pytest.importorskip("pypdf")
    from openpyxl import load_workbook

    rc, out, err, folder = demo_run
    assert rc == 0, err
    pdf = _flat(" ".join(p.extract_text() for p in pypdf.PdfReader(folder / "report.pdf").pages))
    wb = load_workbook(folder / "gaps.xlsx")
    rows = list(wb["Districts"].iter_rows(min_row=2, values_only=True))
    districts = pd.DataFrame(rows[1:], columns=rows[0])
    return {"stdout": out, "pdf": pdf, "districts": districts, "folder": folder, "wb": wb}


def test_headline_figures_agree_in_every_output(outputs):
    from gapmap.publish.workbook import MICRO_UNMET, REGULATED_NEED

    out, pdf, d = outputs["stdout"], outputs["pdf"], outputs["districts"]
    total = d[d["District"] == "Total"].iloc[0]
    m = re.search(
        r"Unmet ([\d,]+) h a week of need micro-providers may meet \(people who can direct "
        r"their own care: need ([\d,]+) h, (\d+)% of it in reach",
        out,
    )
    assert m, out
    micro_unmet, micro_share = _num(m[1]), int(m[3])
    r = re.search(r"regulated services \(not counted above\): ([\d,]+) h a week of ([\d,*]+)", out)
    e = re.search(r"need ([\d,]+) h, (\d+)% in reach, unmet ([\d,]+) h\.", out)
    w = re.search(r"Weekend: need ([\d,]+) h, (\d+)% of it in reach; unmet ([\d,]+) h", out)
    assert r and e and w, out
    # the workbook's county row (what compare reads, and the one rounding of every total)
    assert total[MICRO_UNMET] == micro_unmet
    assert total[REGULATED_NEED] == _num(r[1])
    assert total["Need, hours a week"] == _num(e[1])
    assert total["Unmet, hours a week"] == _num(e[3])
    assert round(100 * total["Share of need in reach"]) == int(e[2])
    assert round(100 * total["Weekend share of need in reach"]) == int(w[2])
    assert total["Weekend need, hours a week"] == _num(w[1])
    # the headline split adds up: everyone's unmet = micro unmet + regulated need (rounding ±5)
    assert abs(micro_unmet + _num(r[1]) - _num(e[3])) <= 5
    # the report says the same numbers in words
    assert f"{m[1]} hours a week of support that micro-providers could give are unmet" in pdf
    assert f"is {m[2]} hours a week" in pdf and f"could give {micro_share}% of it" in pdf
    assert f"A further {r[1]} hours a week are needed by {r[2]} people who cannot direct" in pdf
    assert f"At weekends {w[2]}% of the {w[1]} hours needed" in pdf
    # the docx is the same document
    docx = pytest.importorskip("docx")
    words = _flat(
        " ".join(p.text for p in docx.Document(outputs["folder"] / "report.docx").paragraphs)
    )
    assert f"{m[1]} hours a week of support that micro-providers could give are unmet" in words
    assert f"At weekends {w[2]}% of the {w[1]} hours needed" in words


def test_largest_gap_is_the_same_everywhere(outputs):
    from gapmap.publish.figures import gap_order

    out, pdf, folder = outputs["stdout"], outputs["pdf"], outputs["folder"]
    lines = out.splitlines()
    i = next(i for i, s in enumerate(lines) if s.startswith("Largest unmet need"))
    terminal = [s.split()[0] + " " + s.split()[1] for s in lines[i + 1 : i + 9]]
    csv = pd.read_csv(folder / "gaps.csv", encoding="utf-8-sig", dtype={"people": str})
    ordered = gap_order(csv[(csv["people"] != "*") & (csv["people"] != "0")])
    assert [c for c in ordered["area_code"].head(len(terminal))] == terminal
    # the workbook's Areas sheet, first row, and the report's first and last named gap
    ws = outputs["wb"]["Areas"]
    assert ws.cell(row=3, column=2).value == terminal[0]
    section = pdf.split("The largest gaps", 1)[1]
    positions = [section.find(f"{code} sector") for code in terminal]
    assert all(p >= 0 for p in positions) and positions == sorted(positions)
    # the GeoPackage's areas layer has the same published hours as the CSV
    gpd = pytest.importorskip("geopandas")
    layer = gpd.read_file(folder / "gapmap.gpkg", layer="areas").set_index("area_code")
    for code in terminal:
        a = layer.loc[code, "micro_unmet_hours"]
        b = csv.set_index("area_code").loc[code, "micro_unmet_hours"]
        assert float(a) == float(b)
        assert np.issubdtype(layer["micro_unmet_hours"].dtype, np.floating)


def test_matching_figures_agree(outputs):
    import json

    out, pdf, folder = outputs["stdout"], outputs["pdf"], outputs["folder"]
    summary = json.loads((folder / "summary.json").read_text())
    m = re.search(r"Matched ([\d,]+) of ([\d,]+) people \(([\d,]+) h a week\)", out)
    assert m
    assert _num(m[1]) == summary["matched_people"] and _num(m[3]) == summary["matched_hours"]
    assert f"It matched {m[1]} of {m[2]} people, {m[3]} hours a week" in pdf


def test_compare_shows_the_published_headline(outputs, tmp_path):
    from gapmap.compare import compare_runs

    folder, d = outputs["folder"], outputs["districts"]
    comp = compare_runs(folder, folder)
    total = comp.districts[comp.districts["district"] == "Total"].iloc[0]
    wb_total = d[d["District"] == "Total"].iloc[0]
    assert (
        total["micro_unmet_hours_after"]
        == wb_total.iloc[
            list(d.columns).index(
                "Unmet hours a week micro-providers may meet (people who can direct their own care)"
            )
        ]
    )
    assert total["weekend_coverage_ratio_after"] == wb_total["Weekend share of need in reach"]
    words = " ".join(comp.words())
    share = f"{wb_total['Weekend share of need in reach']:.0%}"
    assert f"Weekend share of need in reach went from {share} to {share}" in words


def test_terminal_prints_no_exact_counts(outputs, demo_registers):
    out = outputs["stdout"]
    _, people = demo_registers
    rule = Suppression()
    for exact in (
        int((~people["self_directing"]).sum()),
        int(people["regulated_care"].sum()),
    ):
        if exact % rule.base:
            assert f" {exact} " not in out
    need = people["hours"].sum()
    assert f"{need:,.0f} h" not in out or need % 5 == 0
    assert f"need {round(need / 5) * 5:,.0f} h a week" in out
