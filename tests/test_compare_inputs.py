"""``gapmap compare`` reads published folders as inputs like any other.

A tired officer feeds it last quarter's folder after someone edited it, or a folder with a
damaged file: the same limits, checks and messages as registers (file, row, column; exit 2,
no traceback), never a link followed, and suppression applied again to whatever is read.
"""

from __future__ import annotations

import os
import shutil
import sqlite3

import pandas as pd
import pytest

from gapmap.cli.commands import main
from gapmap.io._tables import MAX_TABLE_BYTES

from .helpers import GOOD_PEOPLE as Q
from .helpers import GOOD_PROVIDERS as P
from .helpers import csv_text as _csv
from .helpers import write_file as _write


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """One published gaps folder (small registers), copied by every test before it is spoiled."""
    base = tmp_path_factory.mktemp("compare")
    prov = _write(base / "providers.csv", _csv(P))
    people = _write(base / "people.csv", _csv(Q))
    out = base / "run"
    assert main(["gaps", "--providers", str(prov), "--people", str(people), "--out", str(out)]) == 0
    return out


def _pair(tmp_path, run_folder):
    before, after = tmp_path / "before", tmp_path / "after"
    shutil.copytree(run_folder, before)
    shutil.copytree(run_folder, after)
    return before, after


def _compare(before, after, tmp_path, capsys):
    rc = main(["compare", str(before), str(after), "--out", str(tmp_path / "cmp")])
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "unexpected error" not in out.err, out.err
    return rc, out.err


def _gaps(folder) -> pd.DataFrame:
    return pd.read_csv(folder / "gaps.csv", dtype=str, encoding="utf-8-sig", keep_default_na=False)


def _save(t: pd.DataFrame, folder) -> None:
    t.to_csv(folder / "gaps.csv", index=False)


def _edit(folder, row: int, column: str, value: str) -> None:
    """Set one cell of gaps.csv; ``row`` as a spreadsheet numbers it (header = 1)."""
    t = _gaps(folder)
    t.loc[row - 2, column] = value
    _save(t, folder)


@pytest.mark.parametrize(
    "content,words",
    [
        (b"", "empty"),
        (b"\x00\x01\x02PK\x00" * 200, "binary"),
    ],
    ids=["empty", "binary"],
)
def test_an_unreadable_gaps_table_is_refused(tmp_path, capsys, run_folder, content, words):
    before, after = _pair(tmp_path, run_folder)
    (before / "gaps.csv").write_bytes(content)
    rc, err = _compare(before, after, tmp_path, capsys)
    assert rc == 2 and "gaps.csv" in err and words in err, err


def test_a_header_with_no_areas_is_refused(tmp_path, capsys, run_folder):
    before, after = _pair(tmp_path, run_folder)
    _save(_gaps(before).head(0), before)
    rc, err = _compare(before, after, tmp_path, capsys)
    assert rc == 2 and "no areas" in err, err


@pytest.mark.parametrize(
    "column,value,words",
    [
        ("unmet_hours", "lots", "expected a number"),
        ("need_hours", "inf", "finite"),
        ("coverage_ratio", "nan", "finite"),
        ("coverage_ratio", "1.7", "out of range"),
        ("people", "many", "count of people"),
    ],
)
def test_a_bad_figure_is_named_by_row_and_column(
    tmp_path, capsys, run_folder, column, value, words
):
    before, after = _pair(tmp_path, run_folder)
    _edit(after, 4, column, value)
    rc, err = _compare(before, after, tmp_path, capsys)
    assert rc == 2, err
    assert "gaps.csv" in err and "row 4" in err and f"column '{column}'" in err and words in err


def test_an_area_code_twice_is_refused_not_cross_joined(tmp_path, capsys, run_folder):
    before, after = _pair(tmp_path, run_folder)
    t = _gaps(before)
    _save(pd.concat([t, t.iloc[[0]]], ignore_index=True), before)
    rc, err = _compare(before, after, tmp_path, capsys)
    assert rc == 2 and "also on row 2" in err and f"row {len(t) + 2}" in err, err


def test_a_link_is_refused_not_followed(tmp_path, capsys, run_folder):
    before, after = _pair(tmp_path, run_folder)
    (before / "gaps.csv").unlink()
    os.symlink("/etc/passwd", before / "gaps.csv")
    rc, err = _compare(before, after, tmp_path, capsys)
    assert rc == 2 and "is a link" in err and "passwd" not in err.replace("gaps.csv", ""), err


def test_a_huge_file_is_refused_before_it_is_read(tmp_path, capsys, run_folder):
    before, after = _pair(tmp_path, run_folder)
    with open(after / "gaps.xlsx", "r+b") as f:  # sparse: no disk used
        f.truncate(MAX_TABLE_BYTES + 1)
    rc, err = _compare(before, after, tmp_path, capsys)
    assert rc == 2 and "gaps.xlsx" in err and "MB" in err, err


@pytest.mark.parametrize("name", ["gaps.xlsx", "gapmap.gpkg", "gaps.gpkg"])
def test_a_damaged_workbook_or_geopackage_is_refused(tmp_path, capsys, run_folder, name):
    before, after = _pair(tmp_path, run_folder)
    data = (after / name).read_bytes()
    (after / name).write_bytes(data[:4] + b"\x00garbage" * 64)
    rc, err = _compare(before, after, tmp_path, capsys)
    assert rc == 2 and name in err, err


def test_a_workbook_without_its_districts_sheet_is_refused(tmp_path, capsys, run_folder):
    import openpyxl

    before, after = _pair(tmp_path, run_folder)
    wb = openpyxl.load_workbook(after / "gaps.xlsx")
    del wb["Districts"]
    wb.save(after / "gaps.xlsx")
    rc, err = _compare(before, after, tmp_path, capsys)
    assert rc == 2 and "gaps.xlsx" in err and "Districts" in err, err


def test_figures_on_a_withheld_row_are_not_published_again(tmp_path, capsys, run_folder):
    """Someone typed the exact hours into a withheld row, or fed an internal file: compare
    withholds them again (``*`` or a count of 1-7) and rounds what it shows."""
    before, after = _pair(tmp_path, run_folder)
    t = _gaps(before)
    held = t.index[t["people"] == "*"]
    assert len(held), "the run has a withheld area"
    shown = t.index[t["people"] == "0"][0]
    t.loc[held[0], ["need_hours", "unmet_hours", "coverage_ratio"]] = ["9", "4.25", "0.528"]
    t.loc[shown, ["people", "need_hours", "unmet_hours"]] = ["3", "9", "4.25"]
    codes = t.loc[[held[0], shown], "area_code"].tolist()
    _save(t, before)
    rc, err = _compare(before, after, tmp_path, capsys)
    assert rc == 0, err
    areas = pd.read_csv(tmp_path / "cmp" / "compare_areas.csv", dtype={"area_code": str})
    rows = areas[areas["area_code"].isin(codes)]
    assert len(rows) == 2
    for col in ("need_hours_before", "unmet_hours_before", "coverage_ratio_before"):
        assert rows[col].isna().all(), (col, rows[col].tolist())
    figures = areas.filter(regex=r"_hours_(before|after)$").stack().dropna()
    assert ((figures % 5) == 0).all()


def test_a_providers_layer_without_ids_is_refused(tmp_path, capsys, run_folder):
    before, after = _pair(tmp_path, run_folder)
    with sqlite3.connect(after / "gapmap.gpkg") as db:
        db.execute("ALTER TABLE providers RENAME COLUMN provider_id TO pid")
    rc, err = _compare(before, after, tmp_path, capsys)
    assert rc == 2 and "provider_id" in err, err
