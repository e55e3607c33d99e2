"""Every command fed malformed files and options, as a careless user or an attacker would.

Each case must end with exit code 2, a message naming the file (and the row and column where
there is one), no traceback, and the output folder exactly as it was before the run.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gapmap.cli.commands import main

# the registers to break and the files to write are shared with other test files (helpers.py)
from .helpers import GOOD_PEOPLE, GOOD_PROVIDERS, SENTINEL, edit
from .helpers import csv_text as _csv
from .helpers import earlier_outputs as _earlier_outputs
from .helpers import write_file as _write


def drop(rows, column: str) -> str:
    i = rows[0].index(column)
    return _csv([r[:i] + r[i + 1 :] for r in rows])


def with_latlon(rows, lat: str, lon: str) -> str:
    out = [rows[0] + ["lat", "lon"]] + [r + ["", ""] for r in rows[1:]]
    out[1][-2:] = [lat, lon]
    return _csv(out)


def rename(rows, old: str, new: str) -> str:
    rows = [list(r) for r in rows]
    rows[0][rows[0].index(old)] = new
    return _csv(rows)


P, Q = GOOD_PROVIDERS, GOOD_PEOPLE
# (case, file contents, row, column, words the message must contain)
PROVIDER_CASES = [
    ("empty", b"", None, None, "empty"),
    ("blank lines", b"\n  \n\n", None, None, "empty"),
    ("header only", _csv(P[:1]), None, None, "no rows"),
    ("binary", bytes(range(256)) * 8, None, None, "binary"),
    ("missing column", drop(P, "capacity_hours"), 1, "capacity_hours", "missing"),
    ("duplicated column", rename(P, "committed_hours", "capacity_hours"), 1, "capacity_hours", ""),
    ("duplicated id", edit(P, 3, "provider_id", P[1][0]), 3, "provider_id", "more than once"),
    ("empty id", edit(P, 4, "provider_id", ""), 4, "provider_id", "required"),
    ("text in hours", edit(P, 2, "capacity_hours", "twenty"), 2, "capacity_hours", "number"),
    ("negative hours", edit(P, 5, "capacity_hours", "-5"), 5, "capacity_hours", ""),
    ("zero hours", edit(P, 5, "capacity_hours", "0"), 5, "capacity_hours", ""),
    ("NaN hours", edit(P, 6, "capacity_hours", "NaN"), 6, "capacity_hours", "number"),
    ("infinite hours", edit(P, 6, "capacity_hours", "inf"), 6, "capacity_hours", "number"),
    ("absurd hours", edit(P, 7, "capacity_hours", "5000"), 7, "capacity_hours", "plausible"),
    ("booked beyond capacity", edit(P, 7, "committed_hours", "99"), 7, "committed_hours", ""),
    ("unknown service", edit(P, 8, "services", "gardening"), 8, "services", "gardening"),
    ("unknown day", edit(P, 9, "days", "Funday"), 9, "days", "Funday"),
    ("not a yes/no", edit(P, 10, "cover", "maybe"), 10, "cover", "true or false"),
    ("malformed postcode", edit(P, 11, "postcode", "NOT A PC"), 11, "postcode", "postcode"),
    ("unknown postcode", edit(P, 12, "postcode", "ZZ99 9ZZ"), 12, "postcode", "not found"),
    ("lat/lon swapped", with_latlon(P, "1.08", "51.28"), 2, "lat", "swapped"),
    ("outside Great Britain", with_latlon(P, "48.85", "2.35"), 2, "lat", "outside Great Britain"),
    ("grid metres as degrees", with_latlon(P, "157000", "615000"), 2, "lat", "National Grid"),
    ("unquoted comma", _csv(P).replace(P[3][1], P[3][1] + ",Ltd", 1), 4, None, "cells"),
]
PEOPLE_CASES = [
    ("empty", b"", None, None, "empty"),
    ("missing column", drop(Q, "hours"), 1, "hours", "missing"),
    ("duplicated id", edit(Q, 6, "person_id", Q[1][0]), 6, "person_id", "more than once"),
    ("text in hours", edit(Q, 2, "hours", "six"), 2, "hours", "number"),
    ("negative hours", edit(Q, 3, "hours", "-2"), 3, "hours", ""),
    ("zero hours", edit(Q, 3, "hours", "0"), 3, "hours", ""),
    ("NaN hours", edit(Q, 4, "hours", "nan"), 4, "hours", "number"),
    ("absurd hours", edit(Q, 4, "hours", "500"), 4, "hours", "plausible"),
    ("priority out of range", edit(Q, 5, "priority", "9"), 5, "priority", "1 (low) to 5"),
    ("unknown service", edit(Q, 7, "services", "gardening"), 7, "services", "gardening"),
    ("unknown day", edit(Q, 8, "days", "Mon;Someday"), 8, "days", "Someday"),
    ("non-Kent postcode", edit(Q, 9, "postcode", "EH1 1YZ"), 9, "postcode", "outside every area"),
]

EVERY_COMMAND = ("check", "gaps", "match", "recruit", "suggest")


def _argv(command: str, prov: Path, people: Path, out: Path, extra=()) -> list[str]:
    if command == "suggest":
        base = ["suggest", "--providers", str(prov), "--postcode", "CT1 2AA"]
        base += ["--self-directing", "yes", "--regulated-care", "no"]
        return base + ["--hours", "3", "--days", "Mon", "--services", "social", *extra]
    argv = [command, "--providers", str(prov), "--people", str(people)]
    if command != "check":
        argv += ["--out", str(out)]
    if command == "match":
        argv += ["--time-limit", "2"]
    if command == "recruit":
        argv += ["--recruit-time-limit", "2"]
    return argv + list(extra)


def _assert_refused(capsys, argv, out: Path, file: str, row, column, words) -> None:
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err and "unexpected error" not in err
    assert file in err, err
    if row is not None:
        assert f"row {row}" in err, err
    if column is not None:
        assert f"column '{column}'" in err, err
    assert words in err, err
    # nothing written, nothing lost
    assert sorted(p.name for p in out.iterdir()) == ["gaps.csv", "matches.csv", "recruit_map.html"]
    assert all((out / n).read_text() == SENTINEL for n in ("gaps.csv", "recruit_map.html"))


@pytest.mark.parametrize("command", EVERY_COMMAND)
@pytest.mark.parametrize("case,content,row,column,words", PROVIDER_CASES, ids=lambda v: str(v))
def test_bad_providers_file(tmp_path, capsys, command, case, content, row, column, words):
    prov = _write(tmp_path / "my providers.csv", content)
    people = _write(tmp_path / "people.csv", _csv(Q))
    out = _earlier_outputs(tmp_path)
    _assert_refused(capsys, _argv(command, prov, people, out), out, str(prov), row, column, words)


@pytest.mark.parametrize("command", ("check", "gaps", "match", "recruit"))
@pytest.mark.parametrize("case,content,row,column,words", PEOPLE_CASES, ids=lambda v: str(v))
def test_bad_people_file(tmp_path, capsys, command, case, content, row, column, words):
    prov = _write(tmp_path / "providers.csv", _csv(P))
    people = _write(tmp_path / "waiting list.csv", content)
    out = _earlier_outputs(tmp_path)
    _assert_refused(capsys, _argv(command, prov, people, out), out, str(people), row, column, words)


@pytest.mark.parametrize("command", EVERY_COMMAND)
def test_missing_file_and_folder(tmp_path, capsys, command):
    people = _write(tmp_path / "people.csv", _csv(Q))
    out = _earlier_outputs(tmp_path)
    missing = tmp_path / "nowhere.csv"
    _assert_refused(capsys, _argv(command, missing, people, out), out, str(missing), None, None, "")
    _assert_refused(
        capsys, _argv(command, tmp_path, people, out), out, str(tmp_path), None, None, ""
    )


def test_huge_file_refused_without_reading_it(tmp_path, capsys):
    huge = tmp_path / "providers.csv"
    with open(huge, "wb") as f:  # sparse: no disk used, but 150 MB as far as anyone can tell
        f.write(_csv(P).encode())
        f.truncate(150 * 1024 * 1024)
    people = _write(tmp_path / "people.csv", _csv(Q))
    out = _earlier_outputs(tmp_path)
    _assert_refused(capsys, _argv("gaps", huge, people, out), out, str(huge), None, None, "150 MB")


def test_a_csv_saved_with_an_excel_name_is_read_as_the_csv_it_is(tmp_path):
    from gapmap.io.registers import read_providers

    named_xlsx = _write(tmp_path / "providers.xlsx", _csv(P))
    plain = _write(tmp_path / "providers.csv", _csv(P))
    assert (
        read_providers(named_xlsx)
        .drop(columns="row")
        .equals(read_providers(plain).drop(columns="row"))
    )


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252", "utf-16"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_other_encodings_and_delimiters_read_the_same(tmp_path, capsys, encoding, delimiter):
    from gapmap.io.registers import read_providers

    rows = [list(r) for r in P]
    rows[2][1] = "Café Crème Companions"  # accents survive every encoding
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path = tmp_path / "providers.csv"
    path.write_bytes(buf.getvalue().encode(encoding))
    reference = tmp_path / "reference.csv"
    reference.write_text(_csv(rows), encoding="utf-8")
    got, want = read_providers(path), read_providers(reference)
    cols = ["provider_id", "name", "postcode", "x", "y", "capacity_hours", "day_mask"]
    assert got[cols].equals(want[cols])
    assert got["name"].iloc[1] == "Café Crème Companions"


# --- polygon files -----------------------------------------------------------------------------
def _sectors(builtin_areas, n: int = 30) -> gpd.GeoDataFrame:
    return builtin_areas.head(n)[["area_code", "area_name", "geometry"]]


def _area_cases(builtin_areas, tmp: Path):
    good = _sectors(builtin_areas)
    cases = []

    no_crs = tmp / "no_crs.gpkg"
    good.set_crs(None, allow_override=True).to_file(no_crs, engine="pyogrio")
    cases.append((no_crs, None, "coordinate reference system"))

    wrong = tmp / "wrong_crs.geojson"
    good.set_crs(4326, allow_override=True).to_file(wrong, engine="pyogrio")
    cases.append((wrong, None, "Great Britain"))

    empty_geom = good.copy()
    empty_geom.loc[empty_geom.index[3], "geometry"] = shapely.Polygon()
    path = tmp / "empty_geometry.gpkg"
    empty_geom.to_file(path, engine="pyogrio")
    cases.append((path, 4, "empty geometry"))

    points = good.copy()
    points["geometry"] = good.geometry.representative_point()
    path = tmp / "points.gpkg"
    points.to_file(path, engine="pyogrio")
    cases.append((path, None, "no polygons"))

    lines = good.copy()
    lines.loc[lines.index[5], "geometry"] = shapely.LineString([(600000, 150000), (601000, 151000)])
    path = tmp / "a_line.gpkg"
    lines.to_file(path, engine="pyogrio")
    cases.append((path, 6, "LineString"))

    path = tmp / "no_features.gpkg"
    good.head(0).to_file(path, engine="pyogrio")
    cases.append((path, None, "no features"))

    path = tmp / "not_spatial.geojson"
    path.write_text("area_code,name\nA,B\n")
    cases.append((path, None, "cannot read"))

    dup = good.copy()
    dup.loc[dup.index[7], "area_code"] = dup["area_code"].iloc[2]
    path = tmp / "duplicate_codes.gpkg"
    dup.to_file(path, engine="pyogrio")
    cases.append((path, 8, "more than once"))
    return cases


@pytest.mark.parametrize("command", EVERY_COMMAND)
def test_bad_area_files(tmp_path, capsys, builtin_areas, command):
    prov = _write(tmp_path / "providers.csv", _csv(P))
    people = _write(tmp_path / "people.csv", _csv(Q))
    out = _earlier_outputs(tmp_path)
    for path, row, words in _area_cases(builtin_areas, tmp_path):
        argv = _argv(command, prov, people, out, ["--areas", str(path)])
        _assert_refused(capsys, argv, out, str(path), row, None, words)


# --- options -------------------------------------------------------------------------------------
OPTION_CASES = [
    ("gaps", ["--snap-km", "-1"], "--snap-km"),
    ("gaps", ["--coverage-threshold", "-0.5"], "--coverage-threshold"),
    ("gaps", ["--rural-weight", "-1"], "--rural-weight"),
    ("gaps", ["--circuity", "0.5"], "--circuity"),
    ("gaps", ["--coverage-threshold", "nan"], "finite"),
    ("gaps", ["--census", "/no/such/census.csv"], "not found"),
    ("recruit", ["--radius-km", "-1"], "--radius-km"),
    ("recruit", ["--radius-km", "inf"], "finite"),
    ("recruit", ["--new-providers", "100000"], "candidate sites"),
    ("recruit", ["--new-providers", "0"], "--new-providers"),
    ("recruit", ["--new-providers", "5,x"], "--new-providers"),
    ("recruit", ["--recruit-time-limit", "0"], "--recruit-time-limit"),
    ("recruit", ["--hours-per-provider", "0"], "--hours-per-provider"),
    ("recruit", ["--per-site", "0"], "--per-site"),
    ("recruit", ["--recruit-services", "gardening"], "gardening"),
    ("match", ["--time-limit", "0"], "--time-limit"),
    ("match", ["--absence-rate", "2"], "--absence-rate"),
    ("match", ["--workers", "0"], "--workers"),
    ("suggest", ["--absence-rate", "-1"], "--absence-rate"),
    ("suggest", ["--circuity", "9"], "--circuity"),
    ("suggest", ["--top", "0"], "--top"),
    ("suggest", ["--max-travel-km", "-3"], "--max-travel-km"),
    ("suggest", ["--hours", "0"], "--hours"),
    ("suggest", ["--hours", "many"], "--hours"),
    ("suggest", ["--days", "Caturday"], "Caturday"),
    ("suggest", ["--services", "gardening"], "gardening"),
    ("suggest", ["--postcode", "EH1 1YZ"], "outside the area this register serves"),
    ("suggest", ["--postcode", "not a postcode"], "Enter a full UK postcode"),
    ("suggest", ["--lat", "1.08", "--lon", "51.28", "--postcode", ""], "swapped"),
    ("check", ["--unknown-option"], "unrecognized"),
]


@pytest.mark.parametrize("command,extra,words", OPTION_CASES, ids=lambda v: str(v))
def test_bad_options(tmp_path, capsys, command, extra, words):
    prov = _write(tmp_path / "providers.csv", _csv(P))
    people = _write(tmp_path / "people.csv", _csv(Q))
    out = _earlier_outputs(tmp_path)
    _assert_refused(capsys, _argv(command, prov, people, out, extra), out, "", None, None, words)


def test_real_run_outside_records_can_be_left_out(tmp_path, capsys):
    """--drop-outside turns the refusal into a note and a finished run."""
    prov = _write(tmp_path / "providers.csv", _csv(P))
    people = _write(tmp_path / "people.csv", edit(Q, 9, "postcode", "EH1 1YZ"))
    rc = main(["check", "--providers", str(prov), "--people", str(people), "--drop-outside"])
    out = capsys.readouterr().out
    assert (
        rc == 0
        and "1 people fall outside every area and are left out of every analysis (rows 9)" in out
    )


# --- property-based: readers accept a file or raise the project's own error ---------------------
HOSTILE = st.sampled_from(
    ["", " ", "nan", "inf", "-1", "0", "1e309", "12", "7.5", "Mon-Fri", "Sat-Mon", "all",
     "domestic;social", "yes", "maybe", "CT1 2AA", "EH1 1YZ", "ZZ99 9ZZ", "=1+1", "<b>x</b>",
     "\u00e9\u00e8", "1,5", '"', "\r\n", "\t", "Mon;;Tue", "2500", "51.28", "-0.0"]
)  # fmt: skip


def _mutated(rows, draw_cells):
    rows = [list(r) for r in rows]
    for (r, c), value in draw_cells:
        rows[1 + r % (len(rows) - 1)][c % len(rows[0])] = value
    return _csv(rows)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.sampled_from(["providers", "people"]),
    edits=st.lists(
        st.tuples(st.tuples(st.integers(0, 99), st.integers(0, 20)), HOSTILE), max_size=6
    ),
)
def test_mutated_registers_are_read_or_refused_with_input_error(tmp_path_factory, which, edits):
    from gapmap.errors import InputError
    from gapmap.io.registers import read_people, read_providers

    rows, read = (P, read_providers) if which == "providers" else (Q, read_people)
    path = tmp_path_factory.mktemp("fuzz") / f"{which}.csv"
    path.write_text(_mutated(rows, edits), encoding="utf-8")
    try:
        reg = read(path)
    except InputError as exc:
        assert exc.problems and all(p.file == str(path) for p in exc.problems)
        assert all(p.row is None or 1 <= p.row <= len(rows) + 2 for p in exc.problems)
    else:
        assert reg["x"].notna().all() and reg["y"].notna().all()
        hours = reg["capacity_hours"] if which == "providers" else reg["hours"]
        assert ((hours > 0) & (hours <= 168)).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400))
def test_any_bytes_are_read_or_refused_with_input_error(tmp_path_factory, data):
    from gapmap.errors import InputError
    from gapmap.io.registers import read_providers

    path = tmp_path_factory.mktemp("bytes") / "providers.csv"
    path.write_bytes(data)
    with pytest.raises(InputError):  # never a valid register: no header with the columns
        read_providers(path)


@settings(max_examples=80, deadline=None)
@given(
    postcode=st.one_of(st.none(), HOSTILE, st.text(max_size=10)),
    lat=st.one_of(st.none(), st.floats(allow_nan=True)),
    lon=st.one_of(st.none(), st.floats(allow_nan=True)),
    hours=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    days=st.one_of(HOSTILE, st.text(max_size=12)),
    services=st.one_of(HOSTILE, st.text(max_size=12)),
)
def test_any_suggestion_request_is_accepted_or_refused_by_field(
    builtin_study, postcode, lat, lon, hours, days, services
):
    from gapmap.errors import InputError
    from gapmap.matching.person import request_from_fields

    fields = {"postcode", "lat", "hours", "days", "services", "max_travel_km"}
    try:
        person, sector = request_from_fields(
            builtin_study, postcode=postcode, lat=lat, lon=lon, hours=hours, days=days,
            services=services, self_directing=True, regulated_care=False,
        )  # fmt: skip
    except InputError as exc:
        assert exc.problems and all(p.column in fields for p in exc.problems)
    else:
        assert 0 < person["hours"].iloc[0] <= 168 and np.isfinite(person["x"].iloc[0])
        assert sector == "" or len(sector) <= 6
