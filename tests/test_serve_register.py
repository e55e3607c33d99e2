"""``gapmap serve --db``: named staff, referrals on the page and in the JSON API, absences, and
the proof that it holds under a busy team (50 simultaneous referrals through a real server;
kill -9 in the middle of referrals and imports), on SQLite and on a throw-away PostgreSQL
server alike (tests/store_fixtures.py)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from gapmap.store import open_store
from gapmap.store import schema as S

from .helpers import free_port as _free_port
from .store_fixtures import WEB_PROVIDERS as PROVIDERS
from .store_fixtures import bearer as _bearer
from .store_fixtures import db_url, pg_server  # noqa: F401
from .store_fixtures import web_app as _app

REPO = Path(__file__).resolve().parents[1]

# Four providers at one Dover postcode: A has 30 - 4 = 26 free hours, works every day; B has
# 20; C works only Mon and Tue; a name with markup checks that the page escapes it.
ASK = {
    "postcode": "CT14 8AT", "hours": 6, "days": "Mon;Wed", "services": "social",
    "needs_cover": False, "self_directing": True, "regulated_care": False,
}  # fmt: skip


@pytest.fixture
def register(db_url, tmp_path):  # noqa: F811
    """The register database of the four providers, staff Ann and Bob (their tokens)."""
    prov = tmp_path / "providers.csv"
    prov.write_text(PROVIDERS)
    store = open_store(db_url, create=True)
    store.import_registers(providers=prov, author="Ann")
    tokens = {name: store.add_staff(name) for name in ("Ann", "Bob")}
    yield store, tokens
    store.close()


@pytest.fixture
def client(register):
    from fastapi.testclient import TestClient

    store, tokens = register
    with TestClient(_app(store), base_url="http://127.0.0.1") as c:
        yield c, store, tokens


def _free(c, token: str, provider: str, ask: dict = ASK) -> float | None:
    """The free hours the API shows for a provider (None: not suggested)."""
    r = c.post("/api/suggest", json={**ask, "top": 10}, headers=_bearer(token))
    assert r.status_code == 200, r.text
    return next((s["free_hours"] for s in r.json()["suggestions"] if s["provider_id"] == provider),
                None)  # fmt: skip


def test_referral_through_the_api_holds_hours_and_names_its_author(client):
    c, store, tokens = client
    assert _free(c, tokens["Ann"], "A") == 26
    r = c.post("/api/referrals", json={**ASK, "person_id": "P01", "provider_id": "A"},
               headers=_bearer(tokens["Ann"]))  # fmt: skip
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["state"] == "pending" and made["created_by"] == "Ann"
    assert made["provider_hours"] == 6 and made["postcode_sector"] == "CT14 8"
    # the very next suggestion counts the hours held (no stale free hours)
    assert _free(c, tokens["Bob"], "A") == 20
    rows = store.referrals()
    assert list(rows["created_by"]) == ["Ann"] and list(rows["provider_id"]) == ["A"]
    # Bob confirms it: the change is his
    r = c.post(f"/api/referrals/{made['referral_id']}/confirm", headers=_bearer(tokens["Bob"]))
    assert r.status_code == 200 and r.json()["state"] == "confirmed"
    assert r.json()["changed_by"] == "Bob"
    listed = c.get("/api/referrals?state=confirmed", headers=_bearer(tokens["Ann"])).json()
    assert [x["referral_id"] for x in listed] == [made["referral_id"]]
    # confirmed twice: refused in words; an unknown referral: 404
    again = c.post(f"/api/referrals/{made['referral_id']}/confirm", headers=_bearer(tokens["Ann"]))
    assert again.status_code == 409 and "confirmed" in again.json()["problems"][0]["message"]
    assert c.post("/api/referrals/999/end", headers=_bearer(tokens["Ann"])).status_code == 404
    # ended: the hours are free again
    r = c.post(f"/api/referrals/{made['referral_id']}/end", headers=_bearer(tokens["Ann"]))
    assert r.status_code == 200 and r.json()["state"] == "ended"
    assert _free(c, tokens["Bob"], "A") == 26


def test_no_room_is_a_409_in_words_with_the_next_suggestion(client):
    c, store, tokens = client
    first = {**ASK, "hours": 20}
    r = c.post("/api/referrals", json={**first, "person_id": "P01", "provider_id": "A"},
               headers=_bearer(tokens["Ann"]))  # fmt: skip
    assert r.status_code == 201
    # A has 6 free hours left; Bob asks for 20 more (from a page loaded before Ann's referral)
    r = c.post("/api/referrals", json={**first, "person_id": "P02", "provider_id": "A"},
               headers=_bearer(tokens["Bob"]))  # fmt: skip
    assert r.status_code == 409
    body = r.json()
    assert "A has 6 h free a week now, 20 h needed" in body["message"]
    assert body["next_suggestion"]["provider_id"] == "B"  # the only other with 20 h every day
    assert len(store.referrals()) == 1


def test_request_problems_are_422_naming_the_field(client):
    c, _, tokens = client
    h = _bearer(tokens["Ann"])
    r = c.post("/api/referrals", json={**ASK, "provider_id": "A"}, headers=h)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "person_id"
    r = c.post("/api/referrals", json={**ASK, "person_id": "P1", "provider_id": "D"}, headers=h)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "provider_id"
    assert "travel limit" in r.json()["problems"][0]["message"]
    r = c.post("/api/referrals", json={**ASK, "self_directing": None, "person_id": "P1",
                                       "provider_id": "A"}, headers=h)  # fmt: skip
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "self_directing"
    bad = {"provider_id": "A", "from": "2026-12-10", "to": "2026-12-01"}
    r = c.post("/api/absences", json=bad, headers=h)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "to"
    r = c.post("/api/absences", json={**bad, "to": "next week"}, headers=h)
    assert r.status_code == 422 and r.json()["problems"] == [
        {"field": "to", "message": "Enter the last day away as a date, like 2026-12-24"}
    ]
    r = c.post("/api/absences", json={**bad, "provider_id": "Z", "to": "2026-12-12"}, headers=h)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "provider_id"
    r = c.post("/api/absences", json={**bad, "to": "2026-12-12", "days": "Mon;Fri",
                                      "reason": "holiday"}, headers=h)  # fmt: skip
    assert r.status_code == 201
    assert r.json() | {"absence_id": 0} == {"absence_id": 0, "provider_id": "A",
                                            "from": "2026-12-10", "to": "2026-12-12",
                                            "days": "Mon;Fri", "reason": "holiday"}  # fmt: skip
    assert c.get("/api/absences", headers=h).json()[0]["reason"] == "holiday"


def test_staff_sign_in_with_their_own_token_and_revoking_refuses_the_next_request(client):
    c, store, tokens = client
    assert c.get("/api/referrals").status_code == 401
    assert c.get("/api/referrals", headers=_bearer("gm_not-a-token")).status_code == 401
    assert c.post("/signin", data={"token": "wrong"}).status_code == 401
    r = c.post("/signin", data={"token": tokens["Bob"]}, follow_redirects=False)
    assert r.status_code == 303
    page = c.get("/")
    assert page.status_code == 200 and "Signed in as <strong>Bob</strong>" in page.text
    # a cookie naming another member of staff is refused (the MAC binds it to Bob)
    value = c.cookies.get("gapmap_token")
    expiry, name, mac = value.split(".")
    forged = f"{expiry}.QW5u.{mac}"  # base64 "Ann"
    c.cookies.set("gapmap_token", forged)
    assert c.get("/").status_code == 401
    c.cookies.set("gapmap_token", value)
    assert c.get("/").status_code == 200
    store.revoke_staff("Bob", author="Ann")
    assert c.get("/").status_code == 401  # the cookie: at once
    r = c.post("/api/referrals", json={**ASK, "person_id": "P1", "provider_id": "A"},
               headers=_bearer(tokens["Bob"]))  # fmt: skip
    assert r.status_code == 401
    assert len(store.referrals()) == 0
    assert c.get("/api/referrals", headers=_bearer(tokens["Ann"])).status_code == 200


def test_refer_from_the_page(client):
    c, store, tokens = client
    c.post("/signin", data={"token": tokens["Ann"]})
    form = {"postcode": "CT14 8AT", "hours": "20", "days": ["Mon", "Wed"],
            "services": ["social"], "self_directing": "yes", "regulated_care": "no"}  # fmt: skip
    page = c.post("/", data=form)
    assert page.status_code == 200
    assert 'action="/refer"' in page.text and "Refer to Alpha &lt;b&gt;Care&lt;/b&gt;" in page.text
    assert "<b>Care</b>" not in page.text
    r = c.post("/refer", data={**form, "provider_id": "A", "person_id": "P01"})
    assert r.status_code == 200, r.text
    assert "Referral 1 made" in r.text and "P01 to A" in r.text
    assert store.referrals()["created_by"].tolist() == ["Ann"]
    # the list shown after it counts the hours held: A is no longer offered for 20 hours
    assert "Refer to Alpha" not in r.text
    # a second referral for the same hours (a page loaded before): 409, why, and what next
    r = c.post("/refer", data={**form, "provider_id": "A", "person_id": "P02"})
    assert r.status_code == 409
    assert "There is a problem" in r.text and "A has 6 h free a week now" in r.text
    assert "The next suggestion is Beta Help (B)" in r.text
    r = c.post("/refer", data={**form, "provider_id": "B"})
    assert r.status_code == 422 and "Enter the person&#39;s reference" in r.text
    assert len(store.referrals()) == 1


# --- a busy team: 50+ simultaneous referrals through a real server ----------------------------
class _Server:
    """The app on a real uvicorn server on 127.0.0.1 in a thread (requests are served by the
    server's thread pool, as by ``gapmap serve``)."""

    def __init__(self, app):
        import uvicorn

        self.port = _free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                access_log=False, limit_concurrency=200)  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                return f"http://127.0.0.1:{self.port}"
            time.sleep(0.05)
        raise RuntimeError("the server did not start")

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=30)


def _race(url: str, token: str, n: int, hours: float) -> list:
    import httpx

    async def one(client, i):
        body = {**ASK, "hours": hours, "days": "Mon", "person_id": f"R{i:03d}",
                "provider_id": "A"}  # fmt: skip
        return await client.post("/api/referrals", json=body, headers=_bearer(token))

    async def main():
        limits = httpx.Limits(max_connections=n)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
            return await asyncio.gather(*(one(client, i) for i in range(n)))

    return asyncio.run(main())


def test_60_staff_racing_for_one_providers_hours(register):
    store, tokens = register
    with _Server(_app(store)) as url:
        replies = _race(url, tokens["Ann"], 60, 1.0)
    codes = [r.status_code for r in replies]
    assert set(codes) <= {201, 409}, [r.text for r in replies if r.status_code not in (201, 409)]
    made = {r.json()["referral_id"] for r in replies if r.status_code == 201}
    # A had 26 free hours: exactly 26 referrals of 1 hour got them, every one is in the database
    assert len(made) == 26 and codes.count(409) == 34
    refs = store.referrals()
    assert set(refs["referral_id"]) == made
    held = store.held_hours()
    assert held.loc["A", "held"] == 26 <= 30 - 4
    for r in replies:
        if r.status_code == 409:
            assert "A has no hours free a week now" in r.json()["message"]
            assert r.json()["next_suggestion"]["provider_id"] in ("B", "C")


# --- kill -9 in the middle of referrals and imports --------------------------------------------
CHILD = """
import os
import sys
from pathlib import Path
from gapmap.store import open_store
store = open_store(sys.argv[1])
mode = sys.argv[2]
if mode == "refer":
    for i in range(100000):
        rid = store.refer(author="Ann", person={"person_id": f"K{i:05d}", "postcode": "CT14 8AT",
                          "services": "social", "needs_cover": False}, provider_id="BIG",
                          hours=0.25, days="Mon")
        os.write(1, f"ACK {rid}\\n".encode())  # one write: a kill never leaves half a line
else:
    files = [Path(f) for f in sys.argv[3:]]
    for i in range(100000):
        store.import_registers(providers=files[i % 2], author="Ann")
        os.write(1, f"ACK {i % 2}\\n".encode())
"""


def _killed(args: list[str], wait_acks: int) -> list[str]:
    """Run the child until it has acknowledged a random number of changes and a random moment
    more, then SIGKILL it; the lines it printed."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    child = subprocess.Popen([sys.executable, "-c", CHILD, *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env, text=True)  # fmt: skip
    lines: list[str] = []
    try:
        assert child.stdout is not None
        while len(lines) < wait_acks:
            line = child.stdout.readline()
            if not line:
                pytest.fail("the child stopped: " + child.stderr.read()[-3000:])  # type: ignore
            lines.append(line.strip())
        time.sleep(random.uniform(0.0, 0.05))  # a random moment, often inside a transaction
        child.send_signal(signal.SIGKILL)
        rest, _ = child.communicate(timeout=30)
        # only whole lines were acknowledged: a line the kill cut short (no newline) was not
        lines += [x.strip() for x in rest.splitlines(keepends=True) if x.endswith("\n")]
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    return lines


def test_kill_9_during_referrals_loses_nothing_acknowledged(db_url, tmp_path):  # noqa: F811
    prov = tmp_path / "providers.csv"
    prov.write_text(PROVIDERS + "BIG,Big Team,CT14 8AT,social,all,168,0,10,True,False\n")
    store = open_store(db_url, create=True)
    store.import_registers(providers=prov, author="Ann")
    store.add_staff("Ann")
    store.close()
    acked = _killed([db_url, "refer"], wait_acks=random.randint(5, 25))
    ids = {int(x.split()[1]) for x in acked if x.startswith("ACK")}
    store = open_store(db_url)
    refs = store.referrals()
    assert ids <= set(refs["referral_id"])  # every acknowledged referral is there
    with store.engine.connect() as conn:
        orphans = conn.execute(
            select(func.count())
            .select_from(S.referrals)
            .where(~S.referrals.c.referral_id.in_(select(S.referral_events.c.referral_id)))
        ).scalar()
    assert orphans == 0  # no referral without its event
    assert (refs["state"] == "pending").all()
    held = store.held_hours()
    assert held.loc["BIG", "held"] == pytest.approx(0.25 * len(refs))  # the holds add up
    # and the register still takes referrals after the kill
    rid = store.refer(author="Ann", person={"person_id": "after", "postcode": "CT14 8AT",
                                            "services": "social", "needs_cover": False},
                      provider_id="BIG", hours=1, days="Mon")  # fmt: skip
    assert rid > max(ids)
    store.close()


def test_kill_9_during_imports_leaves_one_whole_register(db_url, tmp_path):  # noqa: F811
    demo = pd.read_csv(REPO / "data" / "demo" / "providers.csv", dtype=str,
                       keep_default_na=False, encoding="utf-8-sig")  # fmt: skip
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    demo.to_csv(one, index=False)
    other = demo.copy()
    other["committed_hours"] = "0"  # every provider edited
    other.iloc[:-40].to_csv(two, index=False)  # and 40 withdrawn
    store = open_store(db_url, create=True)
    store.add_staff("Ann")
    store.close()
    acked = _killed([db_url, "import", str(one), str(two)], wait_acks=random.randint(1, 3))
    acks = sum(x.startswith("ACK") for x in acked)
    store = open_store(db_url)
    prov, _ = store.registers()
    whole = [
        (len(prov) == len(demo)
         and prov["committed_hours"].tolist() == demo["committed_hours"].astype(float).tolist()),
        (len(prov) == len(demo) - 40 and (prov["committed_hours"] == 0).all()),
    ]  # fmt: skip
    assert whole[0] != whole[1], "the register is neither file: an import was half-done"
    with store.engine.connect() as conn:
        done = conn.execute(
            select(func.count()).select_from(S.changes).where(S.changes.c.action == "import")
        ).scalar()
    # every acknowledged import is there (and perhaps one more, done but not yet printed);
    # the register is the file of the last import recorded
    assert done in (acks, acks + 1)
    assert whole[(done - 1) % 2]
    store.close()


def test_demo_records_the_matches_as_referrals_that_hold_hours(demo_run):
    rc, out, err, out_dir = demo_run
    assert rc == 0, err
    db = out_dir / "register.db"
    assert db.exists() and (db.stat().st_mode & 0o777) == 0o600  # the owner's only
    matches = pd.read_csv(out_dir / "matches.csv", dtype=str, keep_default_na=False)
    matched = matches[matches["status"] == "matched"]
    store = open_store(db)
    try:
        refs = store.referrals()
        assert len(refs) == len(matched) > 0
        assert set(refs["created_by"]) == {"demo"} and set(refs["state"]) == {"pending"}
        assert sorted(refs["person_id"]) == sorted(matched["person_id"])
        # the hours held never take a provider beyond its capacity (an independent sum)
        prov, _ = store.registers()
        held = dict.fromkeys(prov["provider_id"], 0.0)
        covering = dict.fromkeys(prov["provider_id"], 0.0)
        for r in refs.itertuples():
            held[r.provider_id] += r.provider_hours
            if isinstance(r.partner_id, str) and r.partner_id:
                held[r.partner_id] += r.partner_hours
            if isinstance(r.cover_id, str) and r.cover_id:
                covering[r.cover_id] += r.provider_hours
        for p in prov.itertuples():
            load = p.committed_hours + held[p.provider_id] + 0.15 * covering[p.provider_id]
            assert load <= p.capacity_hours + 0.25 + 1e-9, p.provider_id  # quarter-hour room
    finally:
        store.close()
    assert "matches recorded as pending referrals by 'demo'" in out
    assert "before the matches were held: first suggestion" in out
    assert "once they are held:" in out


def test_gapmap_serve_db_from_the_command_line(register):
    store, tokens = register
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    url = store.url if not store.is_sqlite else str(store.engine.url.database)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gapmap", "serve", "--db", url, "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        import httpx

        for _ in range(300):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert proc.poll() is None, proc.stderr.read()  # type: ignore[union-attr]
            time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(base + "/api/referrals").status_code == 401
        r = httpx.post(base + "/api/referrals", json={**ASK, "person_id": "P1",
                       "provider_id": "A"}, headers=_bearer(tokens["Bob"]))  # fmt: skip
        assert r.status_code == 201 and r.json()["created_by"] == "Bob"
        # a referral made elsewhere (the command line, another server) is counted at once
        store.refer(author="Ann", person={"person_id": "P2", "postcode": "CT14 8AT",
                                          "services": "social", "needs_cover": False},
                    provider_id="A", hours=10, days="Mon;Wed")  # fmt: skip
        r = httpx.post(base + "/api/suggest", json={**ASK, "top": 10},
                       headers=_bearer(tokens["Ann"]))  # fmt: skip
        free = {s["provider_id"]: s["free_hours"] for s in r.json()["suggestions"]}
        assert free["A"] == 26 - 6 - 10
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert "staff sign in with their own tokens" in proc.stdout.read()  # type: ignore[union-attr]


def test_postcodes_looked_up_by_many_requests_at_once_land_in_the_right_place():
    """Found by the 50-staff benchmark: requests loading postcode letters at once read each
    other's half-built tables (ME15 6DT placed in Teignbridge, for good)."""
    from concurrent.futures import ThreadPoolExecutor

    from gapmap.postcodes import PostcodeDirectory

    people = pd.read_csv(REPO / "data" / "demo" / "people.csv", dtype=str,
                         keep_default_na=False, encoding="utf-8-sig")  # fmt: skip
    # one postcode of each first letter, many times over, from fresh directories
    sample = people.groupby(people["postcode"].str[:2])["postcode"].first().tolist()
    expected = PostcodeDirectory().lookup(sample)
    for _ in range(2):
        directory = PostcodeDirectory()
        with ThreadPoolExecutor(16) as pool:
            found = list(pool.map(lambda pc, d=directory: d.lookup([pc]).iloc[0], sample * 4))
        for pc, row in zip(sample * 4, found):
            assert (row["x"], row["y"], row["district_code"]) == (
                expected.loc[pc, "x"],
                expected.loc[pc, "y"],
                expected.loc[pc, "district_code"],
            ), pc
