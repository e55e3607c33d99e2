"""The cover plan from the register database (``gapmap cover --db``, ``--accept``) and the
temporary cover it records: planned on the register's own committed hours (the referrals'
loads counted once), accepted all or none, holding the cover's hours on the absence's dates
only, ended with the absence; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from gapmap.cli.commands import main
from gapmap.cover import check_cover_plan
from gapmap.cover_register import plan_from_store
from gapmap.store import StoreError, open_store

from .store_fixtures import db_url, pg_server  # noqa: F401
from .store_fixtures import tiny_registers as _tiny

TODAY = date.today()
WEEK_END = TODAY + timedelta(days=6)


@pytest.fixture
def booked(db_url, tmp_path):  # noqa: F811
    """The tiny register with three referrals: P01 to A (3.5 h, every day, cover B); P02 and
    P03 to B (6 h each, Mon and Wed, cover A); A off from today for a week."""
    prov, people = _tiny(tmp_path)
    store = open_store(db_url, create=True)
    store.import_registers(providers=prov, people=people, author="Ann")
    store.add_staff("Ann")
    store.refer(author="Ann", person={"person_id": "P01"}, provider_id="A", cover_id="B",
                hours=3.5, days="all")  # fmt: skip
    for pid in ("P02", "P03"):
        store.refer(author="Ann", person={"person_id": pid}, provider_id="B", cover_id="A")
    store.add_absence(author="Ann", provider_id="A", start=TODAY, end=WEEK_END, reason="flu")
    yield store
    store.close()


def test_plan_counts_the_referrals_once_and_accepting_holds_the_cover(booked):
    plan, inputs = plan_from_store(booked, TODAY, WEEK_END)
    table = plan.table()
    # B: capacity 20, committed 0 in the register, 12 h to its own people: 8 h of room, so it
    # gives all 7 of P01's half-hour days (counting the 12 h twice would leave it no room)
    assert len(table) == 7 and set(table["person_id"]) == {"P01"}
    assert set(table["status"]) == {"named_cover"} and set(table["cover_provider_id"]) == {"B"}
    assert table["hours"].sum() == pytest.approx(3.5)
    assert check_cover_plan(
        inputs.study.people, inputs.study.providers, inputs.matches, inputs.absences, table,
        TODAY, WEEK_END, circuity=inputs.study.settings.circuity, objective=plan.objective,
    ) == []  # fmt: skip
    before = booked.held_now()["B"]
    assert before == pytest.approx(12 + 0.15 * 3.5)
    ids = booked.accept_cover(table, author="Ann")
    assert len(ids) == 1
    temp = booked.cover_assignments()
    rec = temp.iloc[0]
    assert (rec["person_id"], rec["absent_provider_id"], rec["cover_provider_id"]) == (
        "P01", "A", "B")  # fmt: skip
    assert (rec["from"], rec["to"], rec["days"], rec["hours"]) == (TODAY, WEEK_END, 127, 3.5)
    # holds B's hours on the absence's dates: now, in the study, and no longer after it
    assert booked.held_now()["B"] == pytest.approx(before + 3.5)
    inside = booked.held_hours(as_of=TODAY).loc["B"]
    assert inside["temporary"] == pytest.approx(3.5) and inside["held"] == pytest.approx(
        before + 3.5)  # fmt: skip
    after = booked.held_hours(as_of=WEEK_END + timedelta(days=1)).loc["B"]
    assert after["temporary"] == 0 and after["held"] == pytest.approx(before)
    study = booked.study(as_of=TODAY)
    b = study.providers.set_index("provider_id").loc["B"]
    assert b["committed_hours"] == pytest.approx(before + 3.5)
    # planning again and accepting replaces, it does not add
    again, _ = plan_from_store(booked, TODAY, WEEK_END)
    booked.accept_cover(again.table(), author="Ann")
    assert len(booked.cover_assignments()) == 1
    assert booked.held_now()["B"] == pytest.approx(before + 3.5)
    # the absence withdrawn: its cover ends at once
    absence = int(booked.absences()["absence_id"].iloc[0])
    booked.withdraw_absence(absence, author="Ann")
    assert booked.cover_assignments().empty
    assert booked.held_now()["B"] == pytest.approx(before)


def test_accepting_a_stale_plan_records_nothing(booked):
    plan, _ = plan_from_store(booked, TODAY, WEEK_END)
    table = plan.table()
    bad = table.copy()
    bad.loc[bad.index[-1], "absent_provider_id"] = "C"  # C has no absence: all or none
    with pytest.raises(StoreError, match="C has no absence recorded"):
        booked.accept_cover(bad, author="Ann")
    assert booked.cover_assignments().empty
    with pytest.raises(StoreError):
        booked.accept_cover(table, author="Nobody")
    assert booked.cover_assignments().empty


def test_cover_and_resilience_commands_from_the_database(booked, tmp_path):
    url = booked.url
    out = tmp_path / "plan"
    code = main(["cover", "--db", url, "--from", TODAY.isoformat(), "--to",
                 WEEK_END.isoformat(), "--out", str(out), "--accept", "--as", "Ann"])  # fmt: skip
    assert code == 0
    plan = pd.read_csv(out / "cover_plan.csv", dtype=str, keep_default_na=False)
    assert len(plan) == 7 and set(plan["cover_provider_id"]) == {"B"}
    calls = (out / "cover_calls.txt").read_text()
    # each provider named with its id: the absent one and the cover
    assert "(A, their provider) is off" in calls and "(B) gives these hours" in calls
    assert len(booked.cover_assignments()) == 1
    # --accept without --as, and files with --db, are refused in words (exit 2)
    assert main(["cover", "--db", url, "--from", TODAY.isoformat(), "--to",
                 WEEK_END.isoformat(), "--out", str(tmp_path / "x"), "--accept"]) == 2  # fmt: skip
    assert main(["resilience", "--db", url, "--matches", "m.csv", "--out",
                 str(tmp_path / "y")]) == 2  # fmt: skip
    res = tmp_path / "res"
    assert main(["resilience", "--db", url, "--out", str(res)]) == 0
    n1 = pd.read_csv(res / "internal_providers_n1.csv", dtype=str, keep_default_na=False)
    # A alone off leaves P01's 3.5 h to B (room 8); B alone off: A's room cannot take 12 h
    by = n1.set_index("provider_id")
    assert float(by.loc["A", "uncovered_if_absent_hours"]) == pytest.approx(0.0)
    assert float(by.loc["B", "uncovered_if_absent_hours"]) > 0


def test_forget_clears_the_person_ids_of_cover_that_is_over(booked):
    plan, _ = plan_from_store(booked, TODAY, WEEK_END)
    (aid,) = booked.accept_cover(plan.table(), author="Ann")
    booked.forget(WEEK_END, author="Ann")  # the cover runs to WEEK_END: not over yet
    assert booked.last_forgotten["cover_assignments"] == 0
    assert booked.cover_assignments()["person_id"].tolist() == ["P01"]
    booked.forget(WEEK_END + timedelta(days=1), author="Ann")
    assert booked.last_forgotten["cover_assignments"] == 1
    over = booked.cover_assignments(as_of=TODAY)
    assert over["person_id"].tolist() == [f"forgotten-c{aid}"]
