"""The "Provider off" page and the cover plan's JSON API on ``gapmap serve --db``: the
absence recorded in the signed-in member of staff's name, the plan as a call list naming each
provider with its id, "Accept this plan" recording temporary cover, errors in the error
summary, every text escaped; on SQLite and PostgreSQL through TestClient."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from gapmap.store import open_store

from .store_fixtures import WEB_PROVIDERS as PROVIDERS
from .store_fixtures import bearer as _bearer
from .store_fixtures import db_url, pg_server  # noqa: F401
from .store_fixtures import tiny_registers as _tiny
from .store_fixtures import web_app as _app

TODAY = date.today()
WEEK_END = TODAY + timedelta(days=6)


@pytest.fixture
def desk(db_url, tmp_path):  # noqa: F811
    """Four providers at one Dover postcode (A's name has markup), staff Ann; P01 to A with
    cover B (3.5 h every day), P02 and P03 to B (6 h, Mon and Wed) with cover A."""
    from fastapi.testclient import TestClient

    _, people = _tiny(tmp_path)
    prov = tmp_path / "providers.csv"
    prov.write_text(PROVIDERS)
    store = open_store(db_url, create=True)
    store.import_registers(providers=prov, people=people, author="Ann")
    token = store.add_staff("Ann")
    store.refer(author="Ann", person={"person_id": "P01"}, provider_id="A", cover_id="B",
                hours=3.5, days="all")  # fmt: skip
    for pid in ("P02", "P03"):
        store.refer(author="Ann", person={"person_id": pid}, provider_id="B", cover_id="A")
    with TestClient(_app(store), base_url="http://127.0.0.1") as c:
        c.headers.update(_bearer(token))
        yield c, store
    store.close()


def test_provider_off_records_plans_and_accepts(desk):
    c, store = desk
    page = c.get("/cover")
    assert page.status_code == 200 and "<h1>Provider off</h1>" in page.text
    assert "Alpha &lt;b&gt;Care&lt;/b&gt; (A)" in page.text and "<b>Care" not in page.text
    form = {"provider_id": "A", "from": TODAY.isoformat(), "to": WEEK_END.isoformat(),
            "reason": "<script>alert(1)</script>"}  # fmt: skip
    r = c.post("/cover", data=form)
    assert r.status_code == 200 and "recorded=1" in str(r.url)  # after a 303 (no re-post)
    html = r.text
    assert "Absence 1 recorded" in html and "Calls to make" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    # the call list names each provider with its id
    assert "Alpha &lt;b&gt;Care&lt;/b&gt; (A, their provider) is off" in html
    assert "Beta Help (B) gives these hours (their named cover)" in html
    assert "Call Beta Help (B)" in html and "P01" in html
    absences = store.absences()
    assert absences["provider_id"].tolist() == ["A"]
    assert absences["reason"].tolist() == ["<script>alert(1)</script>"]
    # the same absence again: the one rule of absences refuses it, in the error summary
    again = c.post("/cover", data=form)
    assert again.status_code == 422 and "There is a problem" in again.text
    assert "overlaps the absence of the same provider" in again.text
    assert 'href="#from"' in again.text
    # accept: one temporary arrangement, in Ann's name, holding B's hours
    accepted = c.post("/cover/accept", data={"from": TODAY.isoformat(),
                                             "to": WEEK_END.isoformat()})  # fmt: skip
    assert accepted.status_code == 200 and "Plan accepted: 1 temporary" in accepted.text
    temp = store.cover_assignments()
    assert temp[["person_id", "cover_provider_id", "author"]].values.tolist() == [
        ["P01", "B", "Ann"]]  # fmt: skip


def test_provider_off_form_errors_in_the_summary(desk):
    c, store = desk
    r = c.post("/cover", data={"provider_id": "", "from": "7/12/2026", "to": ""})
    assert r.status_code == 422
    for words, anchor in (("Choose the provider who is off", "provider_id"),
                          ("Enter the first day off as a date", "from"),
                          ("Enter the last day off", "to")):  # fmt: skip
        assert words in r.text and f'href="#{anchor}"' in r.text
    r = c.post("/cover", data={"provider_id": "A", "from": WEEK_END.isoformat(),
                               "to": TODAY.isoformat()})  # fmt: skip
    assert r.status_code == 422 and "ends before it starts" in r.text
    assert store.absences().empty


def test_cover_api(desk):
    c, store = desk
    assert c.get("/api/cover", params={"from": TODAY.isoformat()}).status_code == 422
    store.add_absence(author="Ann", provider_id="A", start=TODAY, end=WEEK_END)
    q = {"from": TODAY.isoformat(), "to": WEEK_END.isoformat()}
    body = c.get("/api/cover", params=q).json()
    assert body["summary"]["hours_uncovered"] == 0 and body["summary"]["people_affected"] == 1
    assert body["summary"]["hours_named_cover"] == pytest.approx(3.5)
    (call,) = body["calls"]
    assert call["person_id"] == "P01" and call["cover_provider_id"] == "B"
    assert "(A, their provider) is off" in call["what_changes"]
    assert body["uncovered"] == [] and body["absences"][0]["provider_id"] == "A"
    reversed_ = c.get("/api/cover", params={"from": q["to"], "to": q["from"]})
    assert reversed_.status_code == 422
    r = c.post("/api/cover/accept", json=q)
    assert r.status_code == 201 and len(r.json()["assignments"]) == 1
    r = c.post("/api/cover/accept", json=q)  # again: replaces, does not add
    assert r.status_code == 201 and len(store.cover_assignments()) == 1
    c.headers.pop("Authorization")
    assert c.get("/api/cover", params=q).status_code == 401
    assert c.post("/api/cover/accept", json=q).status_code == 401
    assert len(store.cover_assignments()) == 1


@pytest.mark.skipif(
    date.today().weekday() != 0,
    reason="the scenario needs the plan's seven days to be one calendar week (a provider's room "
    "is a week's), so it holds only when run on a Monday; to be rewritten for any day",
)
def test_accepting_on_the_page_plans_again_and_says_when_the_register_changed(desk):
    import re

    c, store = desk
    store.add_absence(author="Ann", provider_id="A", start=TODAY, end=WEEK_END)
    q = {"from": TODAY.isoformat(), "to": WEEK_END.isoformat()}

    def shown_on_page() -> str:
        page = c.get("/cover", params=q)
        return re.search(r'name="shown" value="([0-9a-f]{16})"', page.text).group(1)

    shown = shown_on_page()  # B gives all 7 of P01's half-hour days
    assert shown == c.get("/api/cover", params=q).json()["fingerprint"]
    # another member of staff refers P04 to B meanwhile: B has room for 6 of the 7 days
    store.add_staff("Bob")
    store.refer(author="Bob", person={"person_id": "P04"}, provider_id="B", cover_id="A",
                hours=4.6)  # fmt: skip
    changed = c.post("/cover/accept", data={**q, "shown": shown})
    assert changed.status_code == 200 and "Plan accepted: 2 temporary" in changed.text
    assert "The register changed after the plan was shown" in changed.text
    held = store.cover_assignments().groupby("cover_provider_id")["hours"].sum()
    assert held["B"] == pytest.approx(3.0)  # the plan made when accepting, not the one shown
    # shown again and accepted as shown: no warning, the arrangements replaced, not added
    same = c.post("/cover/accept", data={**q, "shown": shown_on_page()})
    assert "Plan accepted: 2 temporary" in same.text
    assert "The register changed after the plan was shown" not in same.text
    assert store.cover_assignments()["hours"].sum() == pytest.approx(3.5)
    # the API says the same
    body = c.get("/api/cover", params=q).json()
    r = c.post("/api/cover/accept", json={**q, "shown": body["fingerprint"]})
    assert r.status_code == 201 and r.json()["changed_since_shown"] is False
    r = c.post("/api/cover/accept", json={**q, "shown": shown})
    assert r.status_code == 201 and r.json()["changed_since_shown"] is True
    assert c.post("/api/cover/accept", json=q).json()["changed_since_shown"] is None
