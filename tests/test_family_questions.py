"""What families ask: price, DBS check, insurance, languages, when the entry was checked."""

import datetime as dt
import json

import pytest

from gapmap.cli.commands import main
from gapmap.errors import InputError
from gapmap.io.provider_checks import checks_due, lapsed_reasons
from gapmap.io.registers import read_providers
from gapmap.matching.person import person_request
from gapmap.matching.suggest import Suggester
from gapmap.postcodes import default_directory
from gapmap.study import Study, StudyInputs
from tests.conftest import write
from tests.helpers import days_from_today as _days

TODAY = dt.date.today()


HEADER = (
    "provider_id,name,postcode,services,days,capacity_hours,cover,phone,email,price_per_hour,"
    "dbs_checked_on,insurance_until,verified_on,languages,last_updated\n"
)


def _register(tmp_path, *, near_insurance: str, near_dbs: str):
    """Three providers in Maidstone: the nearest with the given checks, two others current."""
    rows = [
        f"NEAR,Nearest Care,ME14 1XX,domestic;social,all,30,true,01622 100001,near@example.org,"
        f"£19.50,{near_dbs},{near_insurance},{_days(-10)},English;Polish,{_days(-5)}",
        f"MID,Middle Help,ME15 6AA,domestic;social,all,30,true,01622 100002,mid@example.org,"
        f"17,{_days(-400)},{_days(200)},,English,",
        "FAR,Far Friends,ME16 8AB,domestic;social,all,30,true,01622 100003,,,,,,,",
    ]
    return write(tmp_path, "providers.csv", HEADER + "\n".join(rows) + "\n")


def _suggest(path, **settings):
    study = Study.read(StudyInputs(providers=path)).with_settings(**settings)
    x, y = default_directory().lookup(["ME14 1XX"]).iloc[0][["x", "y"]]
    req = person_request(x=float(x), y=float(y), hours=4, days="Mon;Wed", services="domestic")
    return Suggester(study).suggest(req, top=3)


def test_the_columns_are_read_and_shown_with_each_suggestion(tmp_path):
    path = _register(tmp_path, near_insurance=_days(100), near_dbs=_days(-300))
    reg = read_providers(path)
    near = reg.set_index("provider_id").loc["NEAR"]
    assert near["price_per_hour"] == 19.5 and near["languages"] == "English;Polish"
    assert near["insurance_until"] == _days(100) and near["dbs_checked_on"] == _days(-300)
    far = reg.set_index("provider_id").loc["FAR"]
    assert far["insurance_until"] == "" and far["price_per_hour"] != far["price_per_hour"]  # NaN
    result = _suggest(path)
    assert [s.provider_id for s in result.suggestions][0] == "NEAR"
    first = result.suggestions[0]
    assert first.price_per_hour == 19.5 and first.languages == "English;Polish"
    assert first.verified_on == _days(-10) and first.last_updated == _days(-5)
    # the API's answer carries them too (JSON, no NaN)
    body = json.loads(json.dumps(result.as_dict(), allow_nan=False))
    by_id = {s["provider_id"]: s for s in body["suggestions"]}
    assert by_id["FAR"]["price_per_hour"] is None and by_id["MID"]["price_per_hour"] == 17.0


def test_lapsed_insurance_is_not_suggested_and_staff_are_told_why(tmp_path):
    path = _register(tmp_path, near_insurance=_days(-1), near_dbs=_days(-300))
    result = _suggest(path)
    ids = [s.provider_id for s in result.suggestions]
    assert "NEAR" not in ids and sorted(ids) == ["FAR", "MID"]
    assert all(s.cover_id != "NEAR" and s.partner_id != "NEAR" for s in result.suggestions)
    told = {r["provider_id"]: r["why"] for r in result.left_out}
    assert told["NEAR"] == f"not suggested: insurance lapsed on {_days(-1)}"
    assert result.notices == [
        f"Nearest Care (NEAR), 0.0 km: not suggested: insurance lapsed on {_days(-1)}"
    ]
    # insured until today is still insured
    path = _register(tmp_path, near_insurance=_days(0), near_dbs=_days(-300))
    assert _suggest(path).suggestions[0].provider_id == "NEAR"


def test_an_old_dbs_check_is_not_suggested_unless_the_setting_allows(tmp_path):
    old = (TODAY.replace(year=TODAY.year - 3) - dt.timedelta(days=2)).isoformat()
    path = _register(tmp_path, near_insurance=_days(100), near_dbs=old)
    result = _suggest(path)
    assert "NEAR" not in [s.provider_id for s in result.suggestions]
    assert any("DBS check of " + old in r["why"] for r in result.left_out)
    assert _suggest(path, dbs_valid_years=5).suggestions[0].provider_id == "NEAR"


def test_nothing_suggested_says_the_checks_were_the_reason(tmp_path):
    rows = f"ONLY,Only One,ME14 1XX,domestic,all,30,true,,,,,{_days(-3)},,,\n"
    path = write(tmp_path, "one.csv", HEADER + rows)
    result = _suggest(path, allow_without_cover=True)
    assert result.status == "none"
    assert any("insurance lapsed or DBS check out of date" in r for r in result.reasons)


def test_checks_due_in_the_next_30_days_and_overdue(tmp_path):
    path = _register(tmp_path, near_insurance=_days(12), near_dbs=_days(-300))
    reg = read_providers(path)
    due = checks_due(reg, dbs_valid_years=3.0)
    assert list(zip(due["provider_id"], due["check"], due["days_left"])) == [
        ("NEAR", "insurance renewal", 12)
    ]
    assert due.loc[0, "phone"] == "01622 100001"
    old = TODAY.replace(year=TODAY.year - 3).isoformat()  # due today
    reg.loc[reg["provider_id"] == "MID", "dbs_checked_on"] = old
    due = checks_due(reg, dbs_valid_years=3.0)
    assert set(due["provider_id"]) == {"NEAR", "MID"}
    assert list(lapsed_reasons(reg, dbs_valid_years=3.0)) == ["", "", ""]


def test_bad_values_are_listed_with_row_and_column(tmp_path):
    rows = "B1,Bad,ME14 1XX,domestic,all,30,true,,,free,2999-01-01,31/02/2027,tomorrow,Eng1ish,\n"
    with pytest.raises(InputError) as info:
        read_providers(write(tmp_path, "bad.csv", HEADER + rows))
    found = {(p.row, p.column) for p in info.value.problems}
    assert found == {
        (2, "price_per_hour"), (2, "dbs_checked_on"), (2, "insurance_until"),
        (2, "verified_on"), (2, "languages"),
    }  # fmt: skip


def test_the_suggest_command_prints_what_families_ask(tmp_path, capsys):
    path = _register(tmp_path, near_insurance=_days(100), near_dbs=_days(-300))
    rc = main(["suggest", "--providers", str(path), "--postcode", "ME14 1XX", "--hours", "4",
               "--days", "Mon", "--services", "domestic", "--self-directing", "yes",
               "--regulated-care", "no"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0
    assert f"families ask: £19.50 an hour; speaks English, Polish; DBS checked {_days(-300)}" in out


def test_match_writes_an_internal_formula_safe_mail_merge(tmp_path, capsys):
    import openpyxl
    import pandas as pd

    providers = write(
        tmp_path, "providers.csv",
        "provider_id,name,postcode,services,days,capacity_hours,cover,phone,email,insurance_until\n"
        "V1,=HYPERLINK(\"http://x\"),ME14 1XX,domestic,all,20,true,01622 100001,v1@example.org,\n"
        "V2,Second Help,ME15 6AA,domestic,Mon-Fri,20,true,+44 1622 100002,,\n"
        "V3,Third Hands,ME16 8AB,domestic,all,20,true,,v3@example.org,\n"
        f"V4,Lapsed Care,ME14 1XX,domestic,all,20,true,,,{_days(-1)}\n",
    )  # fmt: skip
    people = write(
        tmp_path, "people.csv",
        "person_id,postcode,hours,days,services\nP1,ME14 1XX,4,Mon;Sat,domestic\n"
        "P2,ME15 6AA,3,Tue,domestic\nP3,ME14 1XX,60,Mon,domestic\n",
    )  # fmt: skip
    out = tmp_path / "out"
    rc = main(["match", "--providers", str(providers), "--people", str(people), "--out",
               str(out), "--mail-merge", "--time-limit", "10"])  # fmt: skip
    said = capsys.readouterr()
    assert rc == 0, said.err
    assert (
        "1 provider(s) left out of matching, their checks lapsed "
        f"(V4: insurance lapsed on {_days(-1)})" in said.out
    )
    table = pd.read_csv(out / "mail_merge.csv", dtype=str, keep_default_na=False)
    assert "V4" not in (out / "matches.csv").read_text() and "Lapsed" not in table.to_string()
    assert list(table["person_id"]) == ["P1", "P2", "P3"]
    rows = table.set_index("person_id")
    matched = rows[rows["status"] == "matched"]
    assert len(matched) == 2 and rows.loc["P3", "status"] == "unmatched"
    for _, r in matched.iterrows():
        assert r["provider_name"] and r["cover_name"] and r["cover_name"] != r["provider_name"]
        assert r["hours"].endswith(" h") and r["days"]
    # text that a spreadsheet would run as a formula is neutralised in both files
    names = set(matched["provider_name"]) | set(matched["cover_name"])
    assert '\'=HYPERLINK("http://x")' in names and not any(n.startswith("=") for n in names)
    assert "'+44 1622 100002" in set(matched["provider_phone"]) | set(matched["cover_phone"])
    ws = openpyxl.load_workbook(out / "mail_merge.xlsx")["Mail merge"]
    cells = [c for row in ws.iter_rows(min_row=2) for c in row if c.value]
    assert cells and all(c.data_type == "s" for c in cells)
    assert not any(str(c.value).startswith(("=", "+")) for c in cells)
    about = (out / "ABOUT_THESE_FILES.txt").read_text()
    assert "mail_merge.csv" in about and "INTERNAL" in about.split("mail_merge.csv")[1]


def test_the_page_and_the_api_show_what_families_ask(tmp_path):
    from fastapi.testclient import TestClient

    from gapmap.serve.app import Register, create_app

    path = _register(tmp_path, near_insurance=_days(100), near_dbs=_days(-300))
    with TestClient(create_app(Register(path)), base_url="http://127.0.0.1") as client:
        ask = {"postcode": "ME14 1XX", "hours": 4, "days": "Mon", "services": "domestic"}
        answers = {"self_directing": True, "regulated_care": False}
        body = client.post("/api/suggest", json={**ask, **answers}).json()
        first = body["suggestions"][0]
        assert (first["provider_id"], first["price_per_hour"]) == ("NEAR", 19.5)
        assert first["insurance_until"] == _days(100)
        form = {**ask, "days": ["Mon"], "services": ["domestic"], "self_directing": "yes"}
        form["regulated_care"] = "no"
        page = client.post("/", data=form).text
        assert "£19.50 an hour. Speaks English, Polish." in page
        assert f"Insured until {_days(100)}." in page
    path = _register(tmp_path, near_insurance=_days(-2), near_dbs=_days(-300))
    with TestClient(create_app(Register(path)), base_url="http://127.0.0.1") as client:
        body = client.post("/api/suggest", json={**ask, **answers}).json()
        assert body["notices"][0].startswith("Nearest Care (NEAR), 0.0 km: not suggested")
        page = client.post("/", data=form).text
        assert f"(NEAR), 0.0 km: not suggested: insurance lapsed on {_days(-2)}" in page


def test_gaps_internal_writes_the_checks_due_workbook_and_gaps_xlsx_has_none(tmp_path):
    import openpyxl

    providers = _register(tmp_path, near_insurance=_days(10), near_dbs=_days(-300))
    people = write(tmp_path, "people.csv", "person_id,postcode,hours,days,services\n"
                   "P1,ME14 1XX,4,Mon,domestic\n")  # fmt: skip
    out = tmp_path / "out"
    rc = main(["gaps", "--providers", str(providers), "--people", str(people), "--out", str(out),
               "--internal"])  # fmt: skip
    assert rc == 0
    ws = openpyxl.load_workbook(out / "internal_checks_due.xlsx")["Checks due"]
    assert [r[0] for r in ws.iter_rows(min_row=3, values_only=True)] == ["NEAR"]
    assert "Checks due" not in openpyxl.load_workbook(out / "gaps.xlsx").sheetnames
