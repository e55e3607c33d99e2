"""Places: what the postcode directory knows (Northern Ireland, the islands) and people
outside every area left out of every analysis alike with --drop-outside."""

from __future__ import annotations

import pandas as pd
import pytest

from .test_hardening import GOOD_PEOPLE as Q
from .test_hardening import GOOD_PROVIDERS as P
from .test_hardening import _csv, _write, edit
from .test_output_folders import _run


# --- places the directory knows -----------------------------------------------------------
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


# --- --drop-outside the same in every command ---------------------------------------------
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
