"""Reading files: limits that bound memory, ambiguity never resolved silently, and every
reader error in words with the file, row and column."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from .helpers import GOOD_PEOPLE as Q
from .helpers import GOOD_PROVIDERS as P
from .helpers import csv_text as _csv
from .helpers import edit
from .helpers import run_cli as _run
from .helpers import write_file as _write
from .helpers import write_registers as _registers

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo"


# --- limits that bound memory ------------------------------------------------------------------
def test_a_huge_cell_is_refused_while_reading_csv_and_xlsx(tmp_path, capsys):
    import openpyxl

    from gapmap.io._tables import MAX_CELL_CHARS

    long = "x" * (MAX_CELL_CHARS + 1)
    csv_file = _write(tmp_path / "providers.csv", edit(P, 3, "name", long))
    book = openpyxl.Workbook()
    for r in P:
        book.active.append(r)
    book.active.cell(row=3, column=2, value=long)
    xlsx_file = tmp_path / "providers.xlsx"
    book.save(xlsx_file)
    for f in (csv_file, xlsx_file):
        rc, _, err = _run(["check", "--providers", f], capsys)
        assert rc == 2 and f"{MAX_CELL_CHARS:,}" in err and "row 3" in err, err


def test_too_many_rows_are_refused_at_the_limit(tmp_path, capsys, monkeypatch):
    import openpyxl

    import gapmap.io._tables as tables

    monkeypatch.setattr(tables, "MAX_ROWS", 15)
    csv_file = _write(tmp_path / "providers.csv", _csv(P))  # 20 records
    book = openpyxl.Workbook()
    for r in P:
        book.active.append(r)
    xlsx_file = tmp_path / "providers.xlsx"
    book.save(xlsx_file)
    for f in (csv_file, xlsx_file):
        rc, _, err = _run(["check", "--providers", f], capsys)
        assert rc == 2 and "more than 15 rows" in err and "row 17" in err, err


# --- ambiguity is never resolved silently ---------------------------------------------------
def test_a_geopackage_with_two_layers_is_refused_until_one_is_named(tmp_path, capsys):
    from gapmap.io.builtin import load_builtin_areas

    areas = load_builtin_areas()
    gpkg = tmp_path / "kent.gpkg"
    districts = areas.dissolve("district_code").reset_index()[["district_code", "geometry"]]
    districts.to_file(gpkg, layer="districts", driver="GPKG")
    areas.to_file(gpkg, layer="sectors", driver="GPKG")
    prov, _ = _registers(tmp_path)
    rc, _, err = _run(["check", "--providers", prov, "--areas", gpkg], capsys)
    assert rc == 2 and "2 layers" in err and "'districts'" in err and "'sectors'" in err
    rc, printed, err = _run(
        ["check", "--providers", prov, "--areas", gpkg, "--areas-layer", "sectors",
         "--area-code-column", "area_code", "--area-name-column", "area_name"],
        capsys,
    )  # fmt: skip
    assert rc == 0, err
    assert f"areas: {len(areas)}" in printed


def test_a_workbook_with_two_sheets_is_refused_until_one_is_named(tmp_path, capsys):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book.active.append(["read me"])
    sheet = book.create_sheet("waiting list")
    for r in Q:
        sheet.append(r)
    path = tmp_path / "people.xlsx"
    book.save(path)
    rc, _, err = _run(["check", "--people", path], capsys)
    assert rc == 2 and "2 sheets" in err and "'waiting list'" in err
    rc, printed, err = _run(["check", "--people", path, "--people-sheet", "waiting list"], capsys)
    assert rc == 0 and f"{len(Q) - 1} people" in printed, err
    sheet.title = "People"  # named like the register: taken without asking
    book.save(path)
    rc, printed, err = _run(["check", "--people", path], capsys)
    assert rc == 0 and f"{len(Q) - 1} people" in printed, err


def test_overlapping_areas_are_noted(tmp_path, capsys):
    from gapmap.io.builtin import load_builtin_areas

    areas = load_builtin_areas().head(30).copy()
    areas.loc[areas.index[0], "geometry"] = areas.geometry.iloc[0].buffer(800)
    path = tmp_path / "areas.geojson"
    areas.to_file(path, driver="GeoJSON")
    rc, printed, err = _run(
        ["check", "--areas", path, "--area-code-column", "area_code",
         "--area-name-column", "area_name"],
        capsys,
    )  # fmt: skip
    assert rc == 0, err
    assert "pairs of areas overlap" in printed + err


# --- valid files read, and every reader error in words -----------------------------------
def test_a_layer_of_single_part_multipoints_reads_as_points(tmp_path):
    from gapmap.io.registers import read_providers

    plain = read_providers(DEMO / "providers.csv").head(12)
    layer = gpd.GeoDataFrame(
        plain[["provider_id", "name", "services", "days", "capacity_hours"]],
        geometry=[shapely.MultiPoint([(x, y)]) for x, y in zip(plain.x, plain.y)],
        crs=27700,
    )
    path = tmp_path / "providers.gpkg"
    layer.to_file(path, driver="GPKG")
    read = read_providers(path)
    assert np.allclose(read["x"], plain["x"]) and np.allclose(read["y"], plain["y"])


def test_rows_are_numbered_as_the_spreadsheet_shows_them(tmp_path, capsys):
    people = _write(tmp_path / "people.csv", "\n\n" + edit(Q, 4, "hours", "six"))
    rc, _, err = _run(["check", "--people", people], capsys)
    assert rc == 2 and "row 6" in err and "column 'hours'" in err  # two blank lines above


@pytest.mark.parametrize(
    "content,words",
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "password-protected"),
        (b"PK\x03\x04" + b"broken" * 50, "damaged"),
    ],
    ids=["encrypted", "broken zip"],
)
def test_unreadable_workbooks_say_why(tmp_path, capsys, content, words):
    path = tmp_path / "people.xlsx"
    path.write_bytes(content)
    rc, _, err = _run(["check", "--people", path], capsys)
    assert rc == 2 and words in err and str(path) in err
