"""Secondary protection: no withheld figure can be derived from what a published run gives.

The isolated village: one area with three people (9 h a week, 4.5 h of it at weekends)
reached only by its own micro-provider (50 h a week, published in the providers register). Its
row is withheld, and nothing else published about it (ratios, rates, a recruitment site's
hours, totals, the terminal) gives its need back; nor do two runs one person apart give that
person's hours.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import sqlite3

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest

from gapmap.cli.commands import main

from .helpers import GOOD_PEOPLE as Q
from .helpers import GOOD_PROVIDERS as P
from .helpers import csv_text as _csv
from .helpers import run_cli as _run_cli
from .helpers import write_file as _write

VILLAGE, TOWN = "TN26 1ND", "CT9 2AQ"  # about 50 km apart: nobody reaches across
CAPACITY = 50.0


def _people(village_hours: list[float], town: int = 12) -> str:
    head = Q[0]
    rows = [head]

    def person(i, postcode, hours):
        r = dict(zip(head, Q[1]))
        r.update(person_id=f"X{i:03d}", postcode=postcode, hours=f"{hours:g}", days="Mon;Sat",
                 services="social", max_travel_km="5", priority="2", needs_cover="False",
                 self_directing="True", regulated_care="False")  # fmt: skip
        return [r[c] for c in head]

    for i, h in enumerate(village_hours):
        rows.append(person(i, VILLAGE, h))
    for i in range(town):
        rows.append(person(100 + i, TOWN, 2.0))
    return _csv(rows)


def _providers(village: bool = True, town_capacity: float = 20.0) -> str:
    head = P[0]
    rows = [head]

    def provider(pid, postcode, cap):
        r = dict(zip(head, P[1]))
        r.update(provider_id=pid, name=f"Care {pid}", postcode=postcode, services="social",
                 days="Mon-Sun", capacity_hours=f"{cap:g}", committed_hours="0",
                 max_travel_km="5", cover="True", cqc_registered="False")  # fmt: skip
        return [r[c] for c in head]

    if village:
        rows.append(provider("MPV", VILLAGE, CAPACITY))
    rows.append(provider("MPT", TOWN, town_capacity))
    return _csv(rows)


def _run(argv, capsys):
    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert rc == 0, out.err
    return out.out + out.err


def _village_code(out) -> str:
    exact = pd.read_csv(out / "internal_gaps_exact.csv", dtype={"area_code": str})
    return str(exact.loc[exact["people"].between(1, 7), "area_code"].iloc[0])


# figures that may be shown on a withheld row: about the place and its businesses, not people
ALLOWED = {
    "area_code", "area_name", "district", "rural", "providers", "nearest_provider_km",
    "nearest_weekend_provider_km", "rural_gap", "weekend_gap", "gap_band", "withheld",
    "people", "recruitable_people", "priority_rank", "new_providers_recommended", "served_by",
    "reason", "outcome", "imd_rank", "imd_decile", "geometry", "fid",
}  # fmt: skip


def _derivable(values: list[float], secrets: list[float]) -> list[tuple]:
    """Every published figure, alone and with the published capacity, against the secrets."""
    hits = []
    for v in values:
        if v is None or not np.isfinite(v) or v == 0:
            continue
        for guess in (v, CAPACITY / v, CAPACITY * v, CAPACITY / 2 / v):
            for s in secrets:
                if abs(guess - s) < 0.02:
                    hits.append((v, guess, s))
    return hits


def _numbers(row: dict) -> dict[str, float]:
    out = {}
    for k, v in row.items():
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if not math.isnan(f):
            out[str(k)] = f
    return out


def test_the_isolated_village_gives_nothing_back(tmp_path, capsys):
    people = _write(tmp_path / "people.csv", _people([3.0, 3.0, 3.0]))
    prov = _write(tmp_path / "providers.csv", _providers())
    out = tmp_path / "out"
    _run(["gaps", "--providers", prov, "--people", people, "--out", out, "--internal"], capsys)
    code = _village_code(out)
    secrets = [9.0, 4.5]  # need and weekend need
    tables = {
        "gaps.csv": pd.read_csv(out / "gaps.csv", dtype={"area_code": str}),
        "gaps.gpkg": pd.DataFrame(gpd.read_file(out / "gaps.gpkg")),
        "gapmap.gpkg areas": pd.DataFrame(gpd.read_file(out / "gapmap.gpkg", layer="areas")),
    }
    for name, t in tables.items():
        row = t[t["area_code"].astype(str) == code].iloc[0].to_dict()
        shown = {k for k, v in _numbers(row).items()} - ALLOWED
        assert not shown, f"{name} shows {shown} on the withheld row"
        assert not _derivable(list(_numbers(row).values()), secrets), name
    # the workbook: the village's row holds no figure that gives its need back
    wb = openpyxl.load_workbook(out / "gaps.xlsx", read_only=True)
    for row in wb["Areas"].iter_rows(values_only=True):
        if code in [str(c) for c in row]:
            nums = [float(c) for c in row if type(c) in (int, float)]
            assert not _derivable(nums, secrets), nums
            break
    else:
        pytest.fail("village not in the workbook")
    # the GeoPackage counts are numbers, withheld as NULL with a flag
    with sqlite3.connect(out / "gaps.gpkg") as db:
        kinds = dict(db.execute("SELECT name, type FROM pragma_table_info('gaps')").fetchall())
        people, flag = db.execute(
            "SELECT people, withheld FROM gaps WHERE area_code = ?", (code,)
        ).fetchone()
    assert kinds["people"] in ("REAL", "DOUBLE", "INTEGER") and people is None and flag == 1


def _published_numbers(out) -> dict[tuple, float]:
    """Every number in every published CSV of a folder, by (file, row key, column)."""
    found = {}
    for f in sorted(out.glob("*.csv")):
        if f.name.startswith("internal") or f.name == "matches.csv":
            continue
        t = pd.read_csv(f, dtype=str)
        key = t.columns[0]
        for r in t.to_dict("records"):
            for c, v in r.items():
                try:
                    found[(f.name, r[key], c)] = float(v)
                except (TypeError, ValueError):
                    pass
    return found


def test_two_runs_one_person_apart_do_not_give_the_person_back(tmp_path, capsys):
    prov = _write(tmp_path / "providers.csv", _providers())
    runs = []
    for k, hours in enumerate(([3.0, 3.0, 3.0], [3.0, 3.0, 3.0, 4.25])):
        people = _write(tmp_path / f"people{k}.csv", _people(hours))
        out = tmp_path / f"out{k}"
        printed = _run(["gaps", "--providers", prov, "--people", people, "--out", out], capsys)
        runs.append((_published_numbers(out), printed))
    (a, pa), (b, pb) = runs
    person = [4.25, 2.125]  # the person's hours and weekend hours
    for key in a.keys() & b.keys():
        d = abs(a[key] - b[key])
        assert not any(abs(d - s) < 0.01 for s in person), (key, a[key], b[key])
        if a[key] and b[key]:  # ratios: capacity over each gives the village's need
            da = abs(CAPACITY / a[key] - CAPACITY / b[key])
            assert not any(abs(da - s) < 0.01 for s in person), (key, a[key], b[key])
    na = [float(x) for x in re.findall(r"\d+(?:\.\d+)?", pa.replace(",", ""))]
    nb = [float(x) for x in re.findall(r"\d+(?:\.\d+)?", pb.replace(",", ""))]
    assert not any(abs(abs(x - y) - 4.25) < 0.01 for x, y in zip(na, nb))


def test_a_withheld_village_alone_in_recruitment_stays_withheld(tmp_path, capsys):
    """Only the village (3 people, 9 h, no provider) has unmet need: the terminal, the sites
    and the scenarios give no figure of it."""
    people = _write(tmp_path / "people.csv", _people([3.0, 3.0, 3.0]))
    prov = _write(tmp_path / "providers.csv", _providers(village=False, town_capacity=100))
    out = tmp_path / "out"
    printed = _run(
        ["recruit", "--providers", prov, "--people", people, "--out", out, "--new-providers", "1",
         "--recruit-time-limit", "5"],
        capsys,
    )  # fmt: skip
    words = printed.replace(",", "")
    assert "demand:" in words
    assert not re.search(r"(?<![\d.])9(\.0+)? (recruitable|of|h)", words), printed
    assert not re.search(r"(?<![\d.])10 (recruitable|of|h)", words), printed
    sites = pd.read_csv(out / "recruit_sites.csv")
    assert sites["hours_taken"].isna().all(), sites[["hours_taken", "areas_served"]]
    scen = pd.read_csv(out / "recruit_scenarios.csv")
    for c in (
        "hours_taken",
        "recruitable_unmet_hours",
        "saving_per_year_vs_home_care",
        "coverage_before",
        "share_of_unmet_taken",
    ):
        assert scen[c].isna().all(), (c, scen[c].tolist())
    areas = pd.read_csv(out / "recruit_areas.csv", dtype=str)
    for c in ("unmet_hours", "recruitable_unmet_hours", "hours_taken_by_recruits"):
        held = areas[areas["people"] == "*"][c]
        assert held.isna().all(), (c, held.tolist())


# --- no suppressed cell can be recovered from all published files together --------------------
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
        rc, printed, err = _run_cli(
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


def test_a_matching_of_a_few_people_publishes_no_hours(tmp_path, capsys):
    """Three people matched: their hours are a small cell too (summary.json and terminal)."""
    people = _write(tmp_path / "people.csv", _people([3.0, 3.0, 3.0], town=0))
    prov = _write(tmp_path / "providers.csv", _providers())
    out = tmp_path / "out"
    printed = _run(
        ["match", "--providers", prov, "--people", people, "--out", out, "--time-limit", "3"],
        capsys,
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["matched_people"] == "*" and summary["matched_hours"] is None, summary
    assert "(* h a week)" in printed and "(10 h" not in printed, printed
    assert "Matching * people" in printed and "Matching 3 people" not in printed
    progress = [line for line in printed.splitlines() if "urgency-weighted hours" in line]
    assert progress and all("* urgency-weighted" in line for line in progress), progress
    assert not re.search(r"\b3 matched", printed), printed


def test_geopackage_counts_are_numbers_and_other_text_stays_text():
    """QGIS sorts a text column "10" before "5": counts are numbers (NULL where withheld, with a
    flag), while a phone number or a name made of digits stays text."""
    from gapmap.publish.disclosure import numeric_counts

    t = pd.DataFrame({"people": ["*", "10", "5", "0"], "phone": ["01622694000"] * 4,
                      "name": ["123", "Ann", "Bo", "Cy"]})  # fmt: skip
    out = numeric_counts(t)
    assert out["people"].iloc[1:].tolist() == [10.0, 5.0, 0.0] and np.isnan(out["people"][0])
    assert out["withheld"].tolist() == [True, False, False, False]
    assert (
        out["phone"].tolist() == t["phone"].tolist() and out["name"].tolist() == t["name"].tolist()
    )
