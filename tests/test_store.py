"""The register in a database (SPEC.md "The register in a database"), on SQLite and on a real
PostgreSQL server started by the tests (tests/store_fixtures.py): import with history, all or
nothing, free hours net of referrals, referral states and expiry, races for the last hours,
absences, forgetting, backup and restore."""

from __future__ import annotations

import os
import threading
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from gapmap.errors import InputError
from gapmap.store import NoRoom, StoreError, open_store
from gapmap.store import schema as S

from .store_fixtures import PEOPLE_HEAD, db_url, pg_server, small_registers  # noqa: F401
from .store_fixtures import tiny_registers as _tiny


@pytest.fixture
def tiny(db_url, tmp_path):  # noqa: F811
    """A register of four providers at one Dover postcode and twelve people there, staff Ann."""
    prov, people = _tiny(tmp_path)
    store = open_store(db_url, create=True)
    store.import_registers(providers=prov, people=people, author="Ann")
    store.add_staff("Ann")
    yield store
    store.close()


def _counts(store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar()
            for t in S.metadata.sorted_tables
        }


# --- opening -----------------------------------------------------------------------------------
def test_new_sqlite_file_is_private_and_in_wal_mode(tmp_path):
    path = tmp_path / "r.db"
    store = open_store(path, create=True)
    store.add_staff("Ann")  # a write: the log files exist now
    files = sorted(tmp_path.glob("r.db*"))
    assert [f.name for f in files] == ["r.db", "r.db-shm", "r.db-wal"]
    assert all((os.stat(f).st_mode & 0o777) == 0o600 for f in files)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.close()


def test_opening_a_missing_or_foreign_database_says_what_to_do(tmp_path):
    with pytest.raises(StoreError, match="db init"):
        open_store(tmp_path / "none.db")
    assert not (tmp_path / "none.db").exists()
    with pytest.raises(StoreError, match="not supported"):
        open_store("mysql://x/y")


# --- import ------------------------------------------------------------------------------------
def test_import_reimport_records_only_changes_with_history(db_url, small_registers, tmp_path):  # noqa: F811
    prov_file, people_file = small_registers
    store = open_store(db_url, create=True)
    day1, day2 = datetime(2026, 6, 30, 9), datetime(2026, 9, 30, 9)
    first = store.import_registers(prov_file, people_file, author="Ann", now=day1)
    assert first["providers"] == {
        "added": 80, "edited": 0, "withdrawn": 0, "unchanged": 0, "referrals_to_withdrawn": 0
    }  # fmt: skip
    assert first["people"]["added"] == 300
    # a quarter later: one capacity changed, one provider gone, one new
    table = pd.read_csv(prov_file, dtype=str, keep_default_na=False)
    changed_id, gone_id = table.loc[0, "provider_id"], table.loc[1, "provider_id"]
    table.loc[0, "capacity_hours"] = "40"
    table = table.drop(index=1)
    new = table.iloc[[2]].copy()
    new["provider_id"] = "NEW1"
    table = pd.concat([table, new])
    edited = tmp_path / "providers_q3.csv"
    table.to_csv(edited, index=False)
    store.add_staff("Ann")
    gone = store.registers()[0].set_index("provider_id").loc[gone_id]
    person = {"person_id": "T1", "postcode": gone["postcode"], "services": gone["services"],
              "needs_cover": False}  # fmt: skip
    store.refer(author="Ann", person=person, provider_id=gone_id, hours=0.1,
                days=int(gone["day_mask"]), now=day2 - timedelta(days=1))  # fmt: skip
    second = store.import_registers(edited, author="Bob", now=day2)
    assert second["providers"] == {
        "added": 1, "edited": 1, "withdrawn": 1, "unchanged": 78, "referrals_to_withdrawn": 1
    }  # fmt: skip
    assert "people" not in second  # the people register was left as it was
    before, _ = store.registers(as_of=date(2026, 6, 30))
    after, people_after = store.registers(as_of=date(2026, 9, 30))
    now, _ = store.registers()
    assert gone_id in set(before["provider_id"]) and gone_id not in set(after["provider_id"])
    assert "NEW1" in set(after["provider_id"]) and "NEW1" not in set(before["provider_id"])
    cap = lambda f: float(f.set_index("provider_id").loc[changed_id, "capacity_hours"])  # noqa: E731
    assert cap(before) != 40 and cap(after) == 40 and cap(now) == 40
    assert len(people_after) == 300
    assert store.registers(as_of=date(2026, 6, 29))[0].empty  # before the first import
    with store.engine.connect() as conn:  # the withdrawal is a version with its author
        row = conn.execute(
            select(S.provider_versions).where(
                S.provider_versions.c.provider_id == gone_id,
                S.provider_versions.c.withdrawn.is_(True),
            )
        ).one()
    assert row.author == "Bob" and row.valid_from == day2
    store.close()


def test_a_bad_file_leaves_the_database_exactly_as_it_was(db_url, small_registers, tmp_path):  # noqa: F811
    store = open_store(db_url, create=True)
    store.import_registers(*small_registers, author="Ann")
    before = _counts(store)
    table = pd.read_csv(small_registers[0], dtype=str, keep_default_na=False)
    table.loc[3, "capacity_hours"] = "lots"
    table.loc[7, "services"] = "gardening"
    table.loc[10, "capacity_hours"] = "99"  # a good edit in a bad file must not be kept
    bad = tmp_path / "bad.csv"
    table.to_csv(bad, index=False)
    with pytest.raises(InputError) as caught:
        store.import_registers(bad, small_registers[1], author="Ann")
    rows = {(p.row, p.column) for p in caught.value.problems}
    assert {(5, "capacity_hours"), (9, "services")} <= rows  # every problem at once
    assert _counts(store) == before
    assert (store.registers()[0]["capacity_hours"] != 99).all()
    store.close()


def test_round_trip_export_import_changes_nothing(tiny, tmp_path):
    paths = tiny.export(tmp_path / "out")
    assert [p.name for p in paths] == ["providers.csv", "people.csv"]
    again = tiny.import_registers(paths[0], paths[1], author="Ann")
    assert again["providers"]["unchanged"] == 4 and again["people"]["unchanged"] == 12
    xlsx = tiny.export(tmp_path / "x", fmt="xlsx")
    again = tiny.import_registers(xlsx[0], xlsx[1], author="Ann")
    assert again["providers"]["unchanged"] == 4 and again["people"]["unchanged"] == 12


# --- referrals hold hours ----------------------------------------------------------------------
def test_study_sees_free_hours_net_of_referrals(tiny):
    rid = tiny.refer(author="Ann", person={"person_id": "P01"}, provider_id="A", cover_id="B")
    prov = tiny.study(people=False).providers.set_index("provider_id")
    # A: 4 committed + 6 held = 10 (= capacity); B covers 6 hours: keeps 0.15 × 6 free
    assert prov.loc["A", "committed_hours"] == pytest.approx(10.0)
    assert prov.loc["A", "committed_register"] == pytest.approx(4.0)
    assert prov.loc["B", "committed_hours"] == pytest.approx(0.15 * 6)
    assert prov.loc["C", "committed_hours"] == 0
    study = tiny.study(waiting_only=True)
    assert "P01" not in set(study.people["person_id"]) and len(study.people) == 11
    # released: the hours are free again
    tiny.set_state(rid, "released", author="Ann")
    prov = tiny.study(people=False).providers.set_index("provider_id")
    assert prov.loc["A", "committed_hours"] == pytest.approx(4.0)


def test_the_referral_as_made_is_the_referral_read_back(tiny):
    made = tiny.refer_record(author="Ann", person={"person_id": "P03"}, provider_id="C",
                             partner_id="A", cover_id="B")  # fmt: skip
    read = tiny.referral(made["referral_id"])
    assert read is not None and set(made) == set(read)
    assert {k: made[k] for k in made} == {k: read[k] for k in made}
    assert made["state"] == "pending" and made["changed_by"] == "Ann"
    assert made["partner_id"] == "A" and made["provider_hours"] == pytest.approx(3.0)


def test_partner_holds_the_other_days(tiny):
    # C works Mon and Tue only: it gives Monday's half, A (partner) Wednesday's
    tiny.refer(author="Ann", person={"person_id": "P02"}, provider_id="C", partner_id="A",
               cover_id="B")  # fmt: skip
    ref = tiny.referrals().iloc[0]
    assert ref["provider_hours"] == pytest.approx(3.0) and ref["partner_hours"] == 3.0
    held = tiny.held_hours()
    assert held.loc["A", "as_partner"] == 3.0 and held.loc["C", "as_provider"] == 3.0
    assert held.loc["B", "held"] == pytest.approx(0.15 * 3.0)
    with pytest.raises(StoreError, match="name a partner"):
        tiny.refer(author="Ann", person={"person_id": "P03"}, provider_id="C", cover_id="B")


def test_refer_refuses_in_words(tiny):
    with pytest.raises(NoRoom, match="A has 6 h free a week now, 8 h needed"):
        tiny.refer(author="Ann", person={"person_id": "P01"}, provider_id="A", cover_id="B",
                   hours=8)  # fmt: skip
    with pytest.raises(StoreError, match="beyond the travel limit"):
        tiny.refer(author="Ann", person={"person_id": "P01"}, provider_id="D", cover_id="B")
    with pytest.raises(StoreError, match="not a member of staff"):
        tiny.refer(author="Eve", person={"person_id": "P01"}, provider_id="A", cover_id="B")
    with pytest.raises(StoreError, match="needs a cover"):
        tiny.refer(author="Ann", person={"person_id": "P01"}, provider_id="A")
    with pytest.raises(StoreError, match="not in the providers register"):
        tiny.refer(author="Ann", person={"person_id": "P01"}, provider_id="ZZ", cover_id="B")
    with pytest.raises(StoreError, match="does not offer every service"):
        tiny.refer(
            author="Ann",
            person={"person_id": "P01", "services": "personal_care"},
            provider_id="C",
            partner_id="A",
            cover_id="B",
        )
    assert tiny.referrals().empty


def test_revoking_takes_effect_at_once(tiny):
    token = tiny.add_staff("Bob")
    assert tiny.staff_for_token(token) == "Bob"
    assert tiny.staff_for_token(token + "x") is None
    tiny.revoke_staff("Bob", author="Ann")
    assert tiny.staff_for_token(token) is None
    with pytest.raises(StoreError, match="revoked"):
        tiny.refer(author="Bob", person={"person_id": "P01"}, provider_id="A", cover_id="B")
    with tiny.engine.connect() as conn:  # stored hashed, never the token
        hashes = conn.execute(select(S.staff.c.token_hash)).scalars().all()
    assert token not in hashes and all(len(h) == 64 for h in hashes)


def test_states_history_and_expiry(tiny):
    t0 = datetime(2026, 10, 1, 10)
    r1 = tiny.refer(author="Ann", person={"person_id": "P01"}, provider_id="A", cover_id="B",
                    hours=3, now=t0)  # fmt: skip
    r2 = tiny.refer(author="Ann", person={"person_id": "P02"}, provider_id="A", cover_id="B",
                    hours=3, now=t0)  # fmt: skip
    tiny.set_state(r1, "confirmed", author="Ann", now=t0 + timedelta(days=2))
    assert tiny.release_expired(now=t0 + timedelta(days=6)) == 0
    assert tiny.release_expired(now=t0 + timedelta(days=9)) == 1  # r2, after 7 days
    with pytest.raises(
        StoreError, match="released 2026-10-08 10:00 UTC: not confirmed within 7 days"
    ):
        tiny.set_state(r2, "confirmed", author="Ann")
    with pytest.raises(StoreError, match="cannot be"):
        tiny.set_state(r1, "confirmed", author="Ann")
    now = tiny.referrals().set_index("referral_id")
    assert now.loc[r1, "state"] == "confirmed" and now.loc[r2, "state"] == "released"
    assert now.loc[r2, "changed_by"] == "system"
    assert now.loc[r2, "changed_at"] == t0 + timedelta(days=7)  # when the hold ran out
    then = tiny.referrals(as_of=date(2026, 10, 5)).set_index("referral_id")
    assert then.loc[r2, "state"] == "pending" and then.loc[r1, "state"] == "confirmed"
    assert tiny.referrals(as_of=date(2026, 9, 30)).empty
    assert tiny.held_hours(as_of=date(2026, 10, 5)).loc["A", "as_provider"] == 6.0
    assert tiny.held_hours().loc["A", "as_provider"] == 3.0


def test_a_referral_releases_the_holds_that_ran_out_first(tiny):
    # A has 6 free hours; P01's pending referral holds them all, unconfirmed for 8 days
    t0 = datetime(2026, 10, 1, 10)
    r1 = tiny.refer(author="Ann", person={"person_id": "P01"}, provider_id="A", cover_id="B",
                    now=t0)  # fmt: skip
    later = t0 + timedelta(days=8)
    with pytest.raises(NoRoom):  # a day before the hold runs out the hours are still held
        tiny.refer(author="Ann", person={"person_id": "P02"}, provider_id="A", cover_id="B",
                   hours=3, now=t0 + timedelta(days=6))  # fmt: skip
    r2 = tiny.refer(author="Ann", person={"person_id": "P02"}, provider_id="A", cover_id="B",
                    hours=3, now=later)  # fmt: skip
    # and P01 can be referred again: their own referral released itself
    r3 = tiny.refer(author="Ann", person={"person_id": "P01"}, provider_id="B", cover_id="A",
                    now=later)  # fmt: skip
    refs = tiny.referrals().set_index("referral_id")
    assert refs.loc[r1, "state"] == "released" and refs.loc[r1, "changed_by"] == "system"
    assert refs.loc[r1, "changed_at"] == t0 + timedelta(days=7)
    assert refs.loc[r2, "state"] == "pending" and refs.loc[r3, "state"] == "pending"


@pytest.mark.parametrize("threads", [50])
def test_racing_for_the_last_hours_exactly_one_wins(tiny, threads):
    """50 staff at once refer 50 different people to A's last 6 free hours."""
    names = [f"Staff {i:02d}" for i in range(threads)]
    for name in names:
        tiny.add_staff(name)
    barrier = threading.Barrier(threads)
    won, refused, other = [], [], []

    def go(i: int) -> None:
        person = {"person_id": f"R{i:02d}", "postcode": "CT14 8AT", "hours": 6,
                  "days": "Mon;Wed", "services": "social"}  # fmt: skip
        barrier.wait()
        try:
            won.append(tiny.refer(author=names[i], person=person, provider_id="A",
                                  cover_id="B"))  # fmt: skip
        except NoRoom as exc:
            refused.append(exc.message)
        except Exception as exc:  # noqa: BLE001 - reported below
            other.append(repr(exc))

    workers = [threading.Thread(target=go, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert other == []
    assert len(won) == 1 and len(refused) == threads - 1
    assert all("A has no hours free" in m for m in refused)
    held = tiny.held_hours()
    assert held.loc["A", "held"] == 6.0  # never more than the 6 free hours
    assert held.loc["B", "held"] == pytest.approx(0.15 * 6)  # one cover reserve, not 50


def test_accept_matches_all_or_none(tiny):
    _, people = tiny.registers()
    matches = pd.DataFrame(
        {
            "person_id": ["P01", "P02", "P03"],
            "status": ["matched", "matched", "unmatched"],
            "provider_id": ["B", "A", ""],
            "partner_provider_id": ["", "", ""],
            "cover_provider_id": ["A", "B", ""],
        }
    )
    # P01 to B with A as cover (reserve 0.9), P02 to A (6 h): A has 6 free, so P02 no longer
    # fits once P01's reserve is held: neither is recorded
    with pytest.raises(NoRoom):
        tiny.accept_matches(matches, people, author="Ann")
    assert tiny.referrals().empty
    matches.loc[0, "cover_provider_id"] = "C"
    matches.loc[0, "provider_id"] = "B"
    ids = tiny.accept_matches(matches.iloc[[1]], people, author="Ann")
    assert len(ids) == 1
    ppl, arr = tiny.assignments()
    assert list(ppl["person_id"]) == ["P02"] and list(arr["provider_id"]) == ["A"]
    assert arr["cover_provider_id"].tolist() == ["B"] and arr["status"].tolist() == ["matched"]


# --- absences ----------------------------------------------------------------------------------
def test_absences_and_their_mistakes(tiny):
    a = tiny.add_absence(author="Ann", provider_id="A", start=date(2026, 12, 1),
                         end=date(2026, 12, 5), days="Mon-Fri", reason="leave")  # fmt: skip
    # the same dates (Tue 1 to Sat 5 December) but other days of the week: no overlap
    tiny.add_absence(author="Ann", provider_id="A", start=date(2026, 12, 3),
                     end=date(2026, 12, 9), days="Sat;Sun")  # fmt: skip
    with pytest.raises(
        StoreError, match="overlaps the absence of the same provider at absence number"
    ):
        tiny.add_absence(author="Ann", provider_id="A", start=date(2026, 12, 5),
                         end=date(2026, 12, 6))  # fmt: skip
    with pytest.raises(StoreError, match="before it starts"):
        tiny.add_absence(author="Ann", provider_id="B", start=date(2026, 12, 5),
                         end=date(2026, 12, 1))  # fmt: skip
    with pytest.raises(StoreError, match="no provider with this id.*'ZZ'"):
        tiny.add_absence(author="Ann", provider_id="ZZ", start=date(2026, 12, 1),
                         end=date(2026, 12, 1))  # fmt: skip
    # the one rule of absences (gapmap.io.absences.absence_problems), as the CSV reader applies it
    with pytest.raises(StoreError, match="reason is longer than 200"):
        tiny.add_absence(author="Ann", provider_id="B", start=date(2026, 12, 1),
                         end=date(2026, 12, 1), reason="x" * 201)  # fmt: skip
    with pytest.raises(StoreError, match="none of the days falls between"):
        tiny.add_absence(author="Ann", provider_id="B", start=date(2026, 12, 1),
                         end=date(2026, 12, 1), days="Sun")  # fmt: skip
    frame = tiny.absences()
    assert list(frame.columns) == ["absence_id", "provider_id", "from", "to", "days", "reason"]
    assert len(frame) == 2 and frame["days"].tolist() == [31, 96]
    assert frame["from"].iloc[0] == date(2026, 12, 1)
    tiny.withdraw_absence(a, author="Ann")
    assert len(tiny.absences()) == 1


# --- privacy and safety ------------------------------------------------------------------------
def test_forget_anonymises_old_ended_referrals(tiny, tmp_path):
    t0 = datetime(2026, 1, 5, 9)
    r1 = tiny.refer(author="Ann", person={"person_id": "P01"}, provider_id="A", cover_id="B",
                    hours=2, now=t0)  # fmt: skip
    r2 = tiny.refer(author="Ann", person={"person_id": "P02"}, provider_id="A", cover_id="B",
                    hours=2, now=t0)  # fmt: skip
    tiny.set_state(r1, "confirmed", author="Ann", now=t0 + timedelta(days=1))
    tiny.set_state(r2, "confirmed", author="Ann", now=t0 + timedelta(days=1))  # still active
    tiny.set_state(r1, "ended", author="Ann", now=t0 + timedelta(days=30))
    assert tiny.forget(date(2026, 3, 1), author="Ann") == 1
    refs = tiny.referrals().set_index("referral_id")
    assert refs.loc[r1, "person_id"] == f"forgotten-r{r1}" and refs.loc[r1, "postcode"] == "CT14 8"
    assert pd.isna(refs.loc[r1, "x"])
    assert refs.loc[r2, "person_id"] == "P02"
    assert tiny.forget(date(2026, 3, 1), author="Ann") == 0  # once only


def test_backup_while_writing_and_restore(tiny, tmp_path):
    for name in ("Bob",):
        tiny.add_staff(name)
    stop = threading.Event()
    made: list[int] = []

    def write() -> None:  # keeps referring and releasing while the backup runs
        i = 0
        while not stop.is_set():
            pid = f"P{(i % 12) + 1:02d}"
            try:
                rid = tiny.refer(author="Bob", person={"person_id": pid}, provider_id="B",
                                 cover_id="A", hours=1)  # fmt: skip
                made.append(rid)
                tiny.set_state(rid, "released", author="Bob")
            except StoreError:
                pass
            i += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(made) < 3:
            pass
        path = tiny.backup(tmp_path / "backup.db")
    finally:
        stop.set()
        writer.join()
    assert (os.stat(path).st_mode & 0o777) == 0o600
    copy = open_store(path)
    refs = copy.referrals()
    assert len(refs) >= 3 and set(refs["state"]) <= {"pending", "released"}
    # every referral in the copy has its events: a consistent snapshot
    assert (refs["changed_at"].notna()).all()
    copy.close()
    # restore into the live register: it becomes the backup again
    three = tmp_path / "three"
    three.mkdir()
    tiny.import_registers(*_tiny(three, 3), author="Ann")
    assert len(tiny.registers()[1]) == 3
    before = tiny.mark()
    tiny.restore(path, author="Ann")
    assert len(tiny.registers()[1]) == 12
    # a server sees the restore as a new providers register (never the backup's old counters)
    after = tiny.mark()
    assert after[0] > before[0] and after[1] > before[1]
    assert len(tiny.referrals()) == len(refs)
    # ids go on after the restored ones
    rid = tiny.refer(author="Ann", person={"person_id": "P12"}, provider_id="A", cover_id="B",
                     hours=1)  # fmt: skip
    assert rid > int(refs["referral_id"].max())


def test_backup_to_an_existing_file_is_refused(tiny, tmp_path):
    (tmp_path / "b.db").write_text("keep me")
    with pytest.raises(StoreError, match="exists already"):
        tiny.backup(tmp_path / "b.db")
    assert (tmp_path / "b.db").read_text() == "keep me"


def test_everything_in_the_database_is_pseudonymous(tiny):
    """No table has a column for a person's name or address."""
    for table in (S.person_versions, S.referrals):
        cols = set(table.c.keys())
        assert not cols & {"name", "address", "first_name", "surname", "date_of_birth"}
    assert np.isfinite(tiny.registers()[1]["x"]).all()


KILLED_WRITER = """
import sys
from gapmap.store import open_store, NoRoom
store = open_store(sys.argv[1])
i = 0
while True:
    i += 1
    pid = f"K{i:05d}"
    rid = store.refer(author="Ann", person={"person_id": pid, "postcode": "CT14 8AT",
                      "hours": 0.01, "days": "Mon", "services": "social"},
                      provider_id="B", cover_id="A")
    print(rid, flush=True)  # acknowledged: committed
"""


def test_kill_9_loses_nothing_acknowledged_and_leaves_nothing_half_done(tiny, db_url):  # noqa: F811
    import signal
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, db_url], env=env,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    acknowledged = []
    assert proc.stdout is not None
    for line in proc.stdout:
        acknowledged.append(int(line))
        if len(acknowledged) >= 30:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    refs = tiny.referrals()
    assert set(acknowledged) <= set(refs["referral_id"])
    assert refs["changed_at"].notna().all()  # every referral has its first event
    with tiny.engine.connect() as conn:
        events = conn.execute(select(func.count()).select_from(S.referral_events)).scalar()
    assert events == len(refs)


def test_a_people_file_with_names_is_refused(tiny, tmp_path):
    people = tmp_path / "named.csv"
    people.write_text(PEOPLE_HEAD.rstrip() + ",name,date_of_birth\n"
                      "P01,CT14 8AT,6,Mon;Wed,social,True,Jo Bloggs,1950-01-01\n"
                      "P02,CT14 8AT,lots,Mon;Wed,social,True,Al Smith,1950-01-01\n")  # fmt: skip
    before = _counts(tiny)
    with pytest.raises(InputError) as caught:
        tiny.import_registers(people=people, author="Ann")
    found = {(p.row, p.column) for p in caught.value.problems}
    assert {(1, "name"), (1, "date_of_birth"), (3, "hours")} <= found  # all at once
    assert _counts(tiny) == before


def test_a_change_by_another_process_reaches_the_mark_without_asking_each_time(db_url, tmp_path):  # noqa: F811
    """On PostgreSQL the server hears of a commit by a notification (migration 0005) instead
    of asking before every suggestion; on SQLite PRAGMA data_version does the same. Either way
    a referral made through another connection changes the mark, and nothing else does."""
    import time

    prov, people = _tiny(tmp_path)
    first = open_store(db_url, create=True)
    first.import_registers(providers=prov, people=people, author="Ann")
    first.add_staff("Ann")
    other = open_store(db_url)
    try:
        before = first.mark()
        assert first.mark() == before  # nothing changed: the same mark
        if not first.is_sqlite:
            assert first._listener is not None and first._listener.alive
        rid = other.refer(author="Ann", person={"person_id": "P01"}, provider_id="A",
                          cover_id="B")  # fmt: skip
        for _ in range(500):  # a notification takes milliseconds; wait without a clock check
            if first.mark() != before:
                break
            time.sleep(0.02)
        after = first.mark()
        assert after != before and after[1] > before[1]
        # its own write is seen at once, with no notification needed
        first.set_state(rid, "released", author="Ann")
        assert first.mark()[1] > after[1]
    finally:
        other.close()
        first.close()


def test_the_sign_in_check_asks_nothing_until_a_change_and_a_revocation_ends_it(
    db_url,  # noqa: F811
    tmp_path,
):
    """Every request checks its token; while nothing is committed the answer is kept (no
    statement reaches the database: counted by SQLAlchemy's own event), and a revocation by
    another connection ends the token as soon as it is committed (PostgreSQL: as soon as its
    notification arrives)."""
    import time

    from sqlalchemy import event

    prov, people = _tiny(tmp_path)
    first = open_store(db_url, create=True)
    first.import_registers(providers=prov, people=people, author="Ann")
    token = first.add_staff("Ann")
    other = open_store(db_url)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    try:
        assert first.staff_for_token(token) == "Ann"
        assert first.staff_for_token("gm_not-a-token") is None
        event.listen(first.engine, "before_cursor_execute", count)
        for _ in range(20):
            assert first.staff_for_token(token) == "Ann"
            assert first.staff_session_key("Ann") is not None
        asked = [s for s in statements if "staff" in s]
        assert len(asked) <= 1  # the session key's first look, then nothing
        other.revoke_staff("Ann", author="Ann")
        for _ in range(500):  # a notification takes milliseconds; no clock assertion
            if first.staff_for_token(token) is None:
                break
            time.sleep(0.02)
        assert first.staff_for_token(token) is None
        assert first.staff_session_key("Ann") is None
    finally:
        event.remove(first.engine, "before_cursor_execute", count)
        other.close()
        first.close()
