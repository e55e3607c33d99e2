"""The second round of hostile inputs (issue 16): nothing lost, nothing leaked, whatever the
user does. Each test is one way a careless user, a busy office or an attacker broke gapmap."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gapmap.cli import main

from .test_hardening import GOOD_PEOPLE as Q
from .test_hardening import GOOD_PROVIDERS as P
from .test_hardening import _csv, _earlier_outputs, _write, edit

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo"


def _run(argv, capsys):
    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "unexpected error" not in out.err, out.err
    return rc, out.out, out.err


def _registers(tmp_path):
    return _write(tmp_path / "providers.csv", _csv(P)), _write(tmp_path / "people.csv", _csv(Q))


# --- 1. an output never replaces an input ---------------------------------------------------------
@pytest.mark.parametrize(
    "command,name",
    [("match", "matches.csv"), ("gaps", "gaps.csv"), ("recruit", "recruit_sites.csv")],
)
def test_an_output_never_replaces_an_input(tmp_path, capsys, command, name):
    prov, _ = _registers(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    people = _write(out / name, _csv(Q))
    before = people.read_bytes()
    rc, _, err = _run([command, "--providers", prov, "--people", people, "--out", out], capsys)
    assert rc == 2 and "would replace it" in err and name in err
    assert people.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == [name]


def test_a_link_to_an_output_is_seen_through(tmp_path, capsys):
    prov, _ = _registers(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    real = _write(out / "matches.csv", _csv(Q))
    link = tmp_path / "waiting_list.csv"
    link.symlink_to(real)
    rc, _, err = _run(["match", "--providers", prov, "--people", link, "--out", out], capsys)
    assert rc == 2 and "would replace it" in err
    assert real.read_text() == _csv(Q)


# --- 2. no suppressed cell can be recovered from all published files together --------------------
def _feasible_hidden_values(shown: list, total_published: int, base: int = 5) -> set[int]:
    """Values 1-7 a hidden area could hold, given every other area's published count and a
    published total (all rounded to ``base``): brute force over what the rounding allows."""
    ranges = []
    for v in shown:
        if v == "*":
            ranges.append(range(1, 8))
        else:
            r = int(v)
            ranges.append(range(max(0, r - base // 2), r + base // 2 + 1))
    out = set()
    hidden_at = shown.index("*")
    for combo in itertools.product(*ranges):
        if int(np.floor(sum(combo) / base + 0.5) * base) == total_published:
            out.add(combo[hidden_at])
    return out


def test_published_totals_cannot_give_back_a_suppressed_area(tmp_path, capsys):
    """Nine people: eight in one sector, one alone in another. Every published count is read
    back (gaps.csv, summary.json, the terminal) and the lone person's area stays ambiguous."""
    rows = [list(r) for r in Q[:10]]
    for r in rows[1:9]:
        r[rows[0].index("postcode")] = "CT1 2AA"
    rows[9][rows[0].index("postcode")] = "TN23 1PL"
    for r in rows[1:]:
        r[rows[0].index("self_directing")] = "True"
    people = _write(tmp_path / "people.csv", _csv(rows))
    prov = _write(tmp_path / "providers.csv", _csv(P))
    out = tmp_path / "out"
    for command in ("gaps", "match"):
        rc, printed, err = _run(
            [command, "--providers", prov, "--people", people, "--out", out, "--time-limit", "2"]
            if command == "match"
            else [command, "--providers", prov, "--people", people, "--out", out],
            capsys,
        )
        assert rc == 0, err
    gaps = pd.read_csv(out / "gaps.csv", dtype=str, encoding="utf-8-sig")
    summary = json.loads((out / "summary.json").read_text())
    shown = [v for v in gaps["people"].fillna("0") if v not in ("0",)]
    assert shown.count("*") == 1 and "10" in shown
    assert summary["people"] == 10  # 9, rounded like every published count
    for v in summary["unmatched_by_reason"].values():
        assert v == "*" or int(v) % 5 == 0
    assert len(_feasible_hidden_values(shown, summary["people"])) >= 2
    assert "9 " not in printed.replace(",", "")  # the terminal says 10 too


# --- 3. all or nothing ------------------------------------------------------------------------
def test_a_full_disk_leaves_the_earlier_set_and_says_so(tmp_path, capsys):
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a small tmpfs")
    disk = tmp_path / "small"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=900k", "tmpfs", str(disk)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        out = _earlier_outputs(disk)
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        rc, _, err = _run(
            ["gaps", "--providers", DEMO / "providers.csv", "--people", DEMO / "people.csv",
             "--out", out],
            capsys,
        )  # fmt: skip
        assert rc == 1 and "the disk is full" in err and "as they were" in err
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    finally:
        subprocess.run(["umount", str(disk)])


def test_two_runs_on_one_folder_do_not_mix(tmp_path):
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "gapmap.cli", "match", "--providers",
            str(DEMO / "providers.csv"), "--people", str(DEMO / "people.csv"), "--out", str(out),
            "--time-limit", "4"]  # fmt: skip
    first = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while not (out / ".gapmap.lock").exists() and time.time() < deadline:
        time.sleep(0.05)
    second = subprocess.run(argv, capture_output=True, text=True)
    assert second.returncode == 2 and "another gapmap run is writing" in second.stderr
    assert first.wait(timeout=120) == 0, first.stderr.read()
    assert sorted(p.name for p in out.iterdir()) == [
        "ABOUT_THESE_FILES.txt",
        "index.html",
        "matches.csv",
        "summary.json",
    ]


def test_a_commit_cut_short_is_finished_by_the_next_run(tmp_path):
    from gapmap.publish.folder import JOURNAL, OutputFolder

    out = tmp_path / "out"
    out.mkdir()
    (out / "gaps.csv").write_text("old")
    (out / "gap_map.html").write_text("old")
    stage = out / ".gapmap-run-1"
    stage.mkdir()
    (stage / "gap_map.html").write_text("new")  # gaps.csv was already moved when it was killed
    (out / "gaps.csv").write_text("new")
    (out / JOURNAL).write_text(
        json.dumps({"stage": stage.name, "files": ["gap_map.html", "gaps.csv"]})
    )
    with OutputFolder(out, inputs=[], outputs=["gaps.csv", "gap_map.html"]):
        pass
    assert (out / "gaps.csv").read_text() == (out / "gap_map.html").read_text() == "new"
    assert sorted(p.name for p in out.iterdir()) == ["gap_map.html", "gaps.csv"]


# --- 4. limits that bound memory ------------------------------------------------------------------
def test_a_huge_cell_is_refused_while_reading_csv_and_xlsx(tmp_path, capsys):
    import openpyxl

    from gapmap._tables import MAX_CELL_CHARS

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

    import gapmap._tables as tables

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


# --- 5. places the directory knows -----------------------------------------------------------
def test_northern_ireland_is_placed_in_northern_ireland_not_england(tmp_path, capsys):
    from gapmap.postcodes import default_directory
    from gapmap.publish.geo import to_latlon

    found = default_directory().lookup(["BT1 1AA"]).iloc[0]
    lat, lon = to_latlon([found.x], [found.y])
    assert 54.5 < lat[0] < 54.7 and -6.0 < lon[0] < -5.8  # Belfast city centre
    people = _write(tmp_path / "people.csv", edit(Q, 3, "postcode", "BT1 1AA"))
    rc, _, err = _run(["check", "--people", people], capsys)
    assert rc == 2 and "row 3" in err and "outside every area" in err


@pytest.mark.parametrize("postcode", ["GY1 1AA", "JE2 3AB", "IM1 1AA"])
def test_islands_have_no_location_rather_than_not_found(tmp_path, capsys, postcode):
    people = _write(tmp_path / "people.csv", edit(Q, 3, "postcode", postcode))
    rc, _, err = _run(["check", "--people", people], capsys)
    assert rc == 2 and "has no location there" in err and "not found" not in err


# --- 6. ambiguity is never resolved silently ---------------------------------------------------
def test_a_geopackage_with_two_layers_is_refused_until_one_is_named(tmp_path, capsys):
    from gapmap.builtin import load_builtin_areas

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
    from gapmap.builtin import load_builtin_areas

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


# --- 7. valid files read, and every reader error in words -----------------------------------
def test_a_layer_of_single_part_multipoints_reads_as_points(tmp_path):
    from gapmap.registers import read_providers

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


# --- 8. every user mistake exits 2 before any long work -------------------------------------
def test_an_unusable_out_exits_2_before_any_work(tmp_path, capsys):
    prov, people = _registers(tmp_path)
    a_file = _write(tmp_path / "a_file", "x")
    for out, words in ((a_file, "is a file"), (a_file / "sub", "is under a file")):
        t = time.perf_counter()
        rc, _, err = _run(["match", "--providers", prov, "--people", people, "--out", out], capsys)
        assert rc == 2 and words in err and "--out" in err
        assert time.perf_counter() - t < 5


def test_a_read_only_out_exits_2(tmp_path, capsys):
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a read-only tmpfs")
    ro = tmp_path / "ro"
    ro.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        prov, people = _registers(tmp_path)
        rc, _, err = _run(["gaps", "--providers", prov, "--people", people, "--out", ro], capsys)
        assert rc == 2 and "--out" in err and "Read-only" in err
    finally:
        subprocess.run(["umount", str(ro)])


def test_a_folder_as_postcode_file_exits_2(tmp_path, capsys):
    prov, _ = _registers(tmp_path)
    rc, _, err = _run(["check", "--providers", prov, "--postcode-file", tmp_path], capsys)
    assert rc == 2 and "is a folder" in err


def test_serve_on_a_port_in_use_exits_2(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        rc, _, err = _run(["serve", "--providers", DEMO / "providers.csv", "--port", port], capsys)
    assert rc == 2 and "--port" in err and "already" in err


# --- 9. --drop-outside the same in every command ---------------------------------------------
def test_drop_outside_leaves_people_out_of_every_analysis(tmp_path, capsys):
    prov = _write(tmp_path / "providers.csv", _csv(P))
    rows = [list(r) for r in Q]
    far = 5
    rows[far][rows[0].index("postcode")] = "EH1 1YZ"
    people = _write(tmp_path / "people.csv", _csv(rows))
    base = ["--providers", prov, "--people", people, "--drop-outside"]
    out = tmp_path / "out"
    for command, extra in (
        ("check", []),
        ("gaps", ["--out", out, "--internal"]),
        ("match", ["--out", out, "--time-limit", "2"]),
        ("recruit", ["--out", out, "--new-providers", "3", "--recruit-time-limit", "2"]),
    ):
        rc, printed, err = _run([command, *base, *extra], capsys)
        assert rc == 0, err
        assert "1 people fall outside every area" in printed + err, command
    exact = pd.read_csv(out / "internal_gaps_exact.csv", encoding="utf-8-sig")
    kept = [r for i, r in enumerate(rows[1:], start=1) if i != far]
    assert exact["people"].sum() == len(kept)
    hours = sum(float(r[rows[0].index("hours")]) for r in kept)
    assert exact["need_hours"].sum() == pytest.approx(hours)
    matches = pd.read_csv(out / "matches.csv", encoding="utf-8-sig", dtype=str)
    gone = rows[far][rows[0].index("person_id")]
    assert matches.loc[matches.person_id == gone, "reason"].tolist() == ["outside_areas"]


# --- 10. untrusted text never reaches a terminal raw -----------------------------------------
def test_escape_sequences_in_names_do_not_reach_the_terminal(tmp_path, capsys):
    hostile = "Evil\x1b]0;owned\x07\x1b[31mRed\u202eCare"
    rows = [list(r) for r in P]
    for r in rows[1:]:
        r[rows[0].index("name")] = hostile
    prov = _write(tmp_path / "providers.csv", _csv(rows))
    rc, printed, err = _run(
        ["suggest", "--providers", prov, "--postcode", "CT1 2AA", "--hours", "2",
         "--days", "Mon", "--services", "social", "--explain", "--self-directing", "yes",
         "--regulated-care", "no"],
        capsys,
    )  # fmt: skip
    assert rc == 0, err
    assert "Evil" in printed
    assert not any(ch in printed for ch in ("\x1b", "\x07", "\u202e"))
