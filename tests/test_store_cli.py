"""The register database on the command line (SPEC.md "The register in a database"): db, staff,
refer, absence, and --db on the commands that read registers; on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gapmap.cli.commands import main
from gapmap.store import open_store

from .store_fixtures import db_url, pg_server  # noqa: F401
from .store_fixtures import tiny_registers as _tiny


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli_db(db_url, tmp_path, capsys):  # noqa: F811
    prov, people = _tiny(tmp_path)
    assert run(capsys, "db", "init", "--db", db_url)[0] == 0
    code, out, _ = run(capsys, "db", "import", "--db", db_url, "--providers", prov, "--people",
                       people, "--as", "Ann")  # fmt: skip
    assert code == 0 and "providers: 4 added" in out and "people: 12 added" in out
    code, out, _ = run(capsys, "staff", "add", "Ann", "--db", db_url)
    assert code == 0
    token = out.strip().splitlines()[-1]
    store = open_store(db_url)
    assert store.staff_for_token(token) == "Ann"
    store.close()
    return db_url


def test_refer_confirm_and_the_last_hours(cli_db, capsys):
    code, out, _ = run(capsys, "refer", "--db", cli_db, "--as", "Ann", "--person-id", "P01",
                       "--provider", "A", "--cover", "B")  # fmt: skip
    assert code == 0 and "referral 1: P01: A gives 6 h on Mon and Wed; cover B" in out
    code, _, err = run(capsys, "refer", "--db", cli_db, "--as", "Ann", "--person-id", "P02",
                       "--provider", "A", "--cover", "B")  # fmt: skip
    assert code == 2 and "No room: A has no hours free a week now" in err
    assert "Traceback" not in err
    code, out, _ = run(capsys, "refer", "confirm", "1", "--db", cli_db, "--as", "Ann")
    assert code == 0 and "referral 1 confirmed" in out
    code, _, err = run(capsys, "refer", "confirm", "1", "--db", cli_db, "--as", "Ann")
    assert code == 2 and "is confirmed: it cannot be confirmed now" in err
    code, _, err = run(capsys, "refer", "end", "1", "--db", cli_db)
    assert code == 2 and "--as NAME" in err
    code, out, _ = run(capsys, "refer", "list", "--db", cli_db)
    lines = out.strip().splitlines()
    assert len(lines) == 2 and ",confirmed," in lines[1] and ",Ann," in lines[1]


def test_absence_mistakes_are_refused_and_nothing_recorded(cli_db, capsys):
    base = ["absence", "add", "--db", cli_db, "--as", "Ann"]
    code, out, _ = run(capsys, *base, "--provider", "A", "--from", "2026-12-01", "--to",
                       "2026-12-04", "--reason", "leave")  # fmt: skip
    assert code == 0 and "absence 1" in out
    for args, words in (
        (["--provider", "A", "--from", "2026-12-03", "--to", "2026-12-05"], "overlaps"),
        (
            ["--provider", "A", "--from", "2026-12-09", "--to", "2026-12-05"],
            "'--to': the absence ends before it starts",
        ),
        (
            ["--provider", "ZZ", "--from", "2026-12-09", "--to", "2026-12-10"],
            "no provider with this id in the providers register (found 'ZZ')",
        ),
        (["--provider", "A", "--from", "2026-13-09", "--to", "2026-12-10"], "YYYY-MM-DD"),
    ):
        code, _, err = run(capsys, *base, *args)
        assert code == 2 and words in err, err
    code, out, _ = run(capsys, "absence", "list", "--db", cli_db)
    assert out.strip().splitlines()[1:] == [
        "1,A,2026-12-01,2026-12-04,Mon;Tue;Wed;Thu;Fri;Sat;Sun,leave"
    ]


def test_check_suggest_and_export_from_the_database(cli_db, capsys, tmp_path):
    code, out, _ = run(capsys, "check", "--db", cli_db)
    assert code == 0 and "4 providers and 12 people, all rules met" in out
    run(capsys, "refer", "--db", cli_db, "--as", "Ann", "--person-id", "P01", "--provider", "A",
        "--cover", "B")  # fmt: skip
    code, out, _ = run(capsys, "suggest", "--db", cli_db, "--postcode", "CT14 8AT", "--hours",
                       "2", "--days", "Mon", "--services", "social", "--self-directing", "yes",
                       "--regulated-care", "no", "--json")  # fmt: skip
    assert code == 0
    import json

    ids = [s["provider_id"] for s in json.loads(out)["suggestions"]]
    assert "A" not in ids and ids[0] == "B"  # A's hours are held by the referral
    code, _, err = run(capsys, "suggest", "--postcode", "CT14 8AT", "--hours", "2", "--days",
                       "Mon", "--services", "social", "--self-directing", "yes",
                       "--regulated-care", "no")  # fmt: skip
    assert code == 2 and "--providers" in err and "--db" in err
    code, out, _ = run(capsys, "db", "export", "--db", cli_db, "--out", tmp_path / "ex")
    assert code == 0
    exported = pd.read_csv(tmp_path / "ex" / "providers.csv", encoding="utf-8-sig")
    assert exported.set_index("provider_id").loc["A", "committed_hours"] == 4  # the register's


def test_match_accept_holds_the_hours_all_or_none(cli_db, capsys, tmp_path):
    code, out, err = run(capsys, "match", "--db", cli_db, "--out", tmp_path / "m1",
                         "--time-limit", "10", "--accept", "--as", "Ann")  # fmt: skip
    assert code == 0, err
    matches = pd.read_csv(tmp_path / "m1" / "matches.csv", encoding="utf-8-sig")
    n = int((matches["status"] == "matched").sum())
    assert n >= 2 and f"recorded {n} matches as pending referrals" in out
    store = open_store(cli_db)
    refs = store.referrals()
    assert len(refs) == n and set(refs["state"]) == {"pending"}
    held = store.held_hours()
    prov = store.registers()[0].set_index("provider_id")
    free = prov["capacity_hours"] - prov["committed_hours"]
    assert (held["held"] <= free.reindex(held.index) + 1e-9).all()  # never beyond free hours
    store.close()
    # the people matched are no longer waiting; nobody is matched twice
    code, out, err = run(capsys, "match", "--db", cli_db, "--out", tmp_path / "m2",
                         "--time-limit", "10")  # fmt: skip
    assert code == 0, err
    again = pd.read_csv(tmp_path / "m2" / "matches.csv", encoding="utf-8-sig")
    assert not set(again["person_id"]) & set(refs["person_id"])


def test_compare_two_dates_of_the_database(cli_db, capsys, tmp_path):
    code, out, err = run(capsys, "compare", "--db", cli_db, "--from", "2020-01-01", "--to",
                         "2099-12-31", "--out", tmp_path / "cmp")  # fmt: skip
    assert code == 0, err
    assert "Providers: 4 now" in out
    assert (tmp_path / "cmp" / "compare_areas.csv").exists()
    code, _, err = run(capsys, "compare", "--db", cli_db, "--from", "2026-01-01", "--out",
                       tmp_path / "c2")  # fmt: skip
    assert code == 2 and "--to" in err


def test_forget_backup_restore_on_the_command_line(cli_db, capsys, tmp_path):
    code, out, _ = run(capsys, "db", "forget", "--db", cli_db, "--before", "2026-01-01")
    assert code == 0 and "anonymised 0 ended or released referrals" in out
    code, out, _ = run(capsys, "db", "backup", "--db", cli_db, tmp_path / "b.db")
    assert code == 0 and (tmp_path / "b.db").exists()
    code, _, err = run(capsys, "db", "backup", "--db", cli_db, tmp_path / "b.db")
    assert code == 2 and "exists already" in err
    code, out, _ = run(capsys, "db", "restore", "--db", cli_db, tmp_path / "b.db")
    assert code == 0
    code, _, err = run(capsys, "db", "restore", "--db", cli_db, tmp_path / "none.db")
    assert code == 2 and "is not a file" in err


def test_serve_from_the_database_suggests_net_of_held_hours(cli_db, capsys):
    import argparse

    from fastapi.testclient import TestClient

    from gapmap.cli.db_options import db_register_factory
    from gapmap.serve.app import create_app

    ask = {"postcode": "CT14 8AT", "hours": 2, "days": "Mon", "services": "social",
           "self_directing": True, "regulated_care": False}  # fmt: skip
    args = argparse.Namespace(db=cli_db)
    make = db_register_factory(args)
    register = make(Path(cli_db))
    token = register.store.add_staff("Bob")  # serve --db signs staff in by their own tokens
    with TestClient(create_app(register), base_url="http://127.0.0.1",
                    headers={"Authorization": f"Bearer {token}"}) as client:  # fmt: skip
        first = [s["provider_id"] for s in client.post("/api/suggest", json=ask).json()[
            "suggestions"]]  # fmt: skip
        assert first[0] == "A"
        run(capsys, "refer", "--db", cli_db, "--as", "Ann", "--person-id", "P01", "--provider",
            "A", "--cover", "B")  # fmt: skip
        assert register.reload() == []  # the register in service is read again
        after = [s["provider_id"] for s in client.post("/api/suggest", json=ask).json()[
            "suggestions"]]  # fmt: skip
    assert "A" not in after and after[0] == "B"
