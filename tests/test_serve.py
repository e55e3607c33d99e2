"""`gapmap serve`: the JSON API (FastAPI test client) and the page, driven in headless Chromium."""

from __future__ import annotations

import json
import logging
import re
import shutil
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gapmap.io.registers import read_providers
from gapmap.matching.person import request_from_fields
from gapmap.matching.suggest import Suggester
from gapmap.serve.app import Register, create_app

from .helpers import EVIL
from .helpers import chromium as _chromium
from .helpers import free_port as _free_port

REPO = Path(__file__).resolve().parents[1]
DEMO_PROVIDERS = REPO / "data" / "demo" / "providers.csv"
ARTIFACTS = REPO / "test-artifacts"
ASK = {"postcode": "CT1 2AA", "hours": 6, "days": "Mon;Wed;Sat", "services": "domestic;social",
       "self_directing": True, "regulated_care": False}  # fmt: skip
#: the same on the page's form (radios send "yes" or "no")
FORM = {**ASK, "self_directing": "yes", "regulated_care": "no"}


TOKEN = "a-long-enough-token-for-tests-0123"


@pytest.fixture(scope="module")
def register_file(tmp_path_factory):
    """The demo register, with one hostile trading name."""
    text = DEMO_PROVIDERS.read_text(encoding="utf-8-sig")
    first = text.splitlines()[1]
    name = first.split(",")[1]
    path = tmp_path_factory.mktemp("serve") / "providers.csv"
    path.write_text(text.replace(name, EVIL.replace(",", " "), 1), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def client(register_file, builtin_areas):
    from fastapi.testclient import TestClient

    app = create_app(Register(register_file))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def test_api_gives_what_suggest_gives(client, register_file, builtin_areas):
    r = client.post("/api/suggest", json=ASK)
    assert r.status_code == 200
    body = r.json()
    from gapmap.study import Study

    study = Study.from_frames(builtin_areas, read_providers(register_file))
    person, sector = request_from_fields(study, **{**ASK, "hours": 6.0})
    direct = Suggester(study).suggest(person, top=5)
    assert [s["provider_id"] for s in body["suggestions"]] == [
        s.provider_id for s in direct.suggestions
    ]
    assert [s["cover_id"] for s in body["suggestions"]] == [s.cover_id for s in direct.suggestions]
    assert body["status"] == "ok" and len(body["suggestions"]) == 5
    assert body["place"] == {
        "postcode_sector": "CT1 2",
        "area_code": "CT1 2",
        "area_name": "CT1 2 sector",
    }
    # the person's full postcode and point are not in the answer
    assert "CT1 2AA" not in r.text
    roles = {p["provider_id"]: p["role"] for p in body["points"]}
    assert {s["provider_id"] for s in body["suggestions"]} <= set(roles)
    assert {s["cover_id"] for s in body["suggestions"]} <= set(roles)  # every cover drawn
    assert all(roles[s["provider_id"]] == "provider" for s in body["suggestions"])


def test_openapi_documents_the_request_and_answers(client):
    schema = client.get("/openapi.json").json()
    op = schema["paths"]["/api/suggest"]["post"]
    assert set(op["responses"]) >= {"200", "422"}
    fields = schema["components"]["schemas"]["SuggestRequest"]["properties"]
    assert {"postcode", "hours", "days", "services", "needs_cover", "regulated_care"} <= set(fields)
    assert "/api/reload" in schema["paths"] and "/api/register" in schema["paths"]


@pytest.mark.parametrize(
    "body,field",
    [
        ({**ASK, "postcode": "NOT A PC"}, "postcode"),
        ({**ASK, "postcode": "EH1 1YZ"}, "postcode"),
        ({**ASK, "postcode": "ZZ99 9ZZ"}, "postcode"),
        ({**ASK, "hours": -1}, "hours"),
        ({**ASK, "hours": "lots"}, "hours"),
        ({**ASK, "days": "Funday"}, "days"),
        ({**ASK, "services": ["gardening"]}, "services"),
        ({**ASK, "postcode": None, "lat": 1.08, "lon": 51.28}, "lat"),
        ({**ASK, "top": 0}, "top"),
        ({"hours": 3}, "days"),
    ],
)
def test_bad_requests_get_422_naming_the_field(client, body, field):
    r = client.post("/api/suggest", json=body)
    assert r.status_code == 422
    assert field in {p["field"] for p in r.json()["problems"]}


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.one_of(
        st.dictionaries(
            st.sampled_from(
                [
                    "postcode",
                    "lat",
                    "lon",
                    "hours",
                    "days",
                    "services",
                    "top",
                    "max_travel_km",
                    "needs_cover",
                ]
            ),
            st.one_of(
                st.none(),
                st.booleans(),
                st.integers(),
                st.floats(),
                st.text(max_size=12),
                st.lists(st.text(max_size=5), max_size=3),
            ),
        ),  # fmt: skip
        st.text(max_size=30),
    )
)
def test_no_request_gets_a_500(client, body):
    # sent as a client would write it: Python's json writes NaN and Infinity as bare words
    text = json.dumps(body) if isinstance(body, dict) else body
    r = client.post(
        "/api/suggest", content=text.encode(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code in (200, 422), r.text


def test_a_body_that_is_not_utf8_gets_the_same_422_as_any_malformed_body(client):
    """Found by the property above: bytes FastAPI cannot decode got its own 400 "There was an
    error parsing the body" instead of gapmap's answer to a body that is not a JSON object."""
    for body in (b"0\x000\x80", b'{"postcode": "\xff"}', b"[1, 2"):
        r = client.post("/api/suggest", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 422, (body, r.text)
        assert r.json()["problems"][0]["message"].startswith("Send the request as a JSON object")


def test_reload_keeps_the_old_register_when_the_new_file_is_bad(tmp_path, builtin_areas):
    from fastapi.testclient import TestClient

    path = tmp_path / "providers.csv"
    shutil.copy(DEMO_PROVIDERS, path)
    with TestClient(create_app(Register(path)), base_url="http://127.0.0.1") as c:
        before = c.get("/api/register").json()
        path.write_text("provider_id,name\nA,B\n")
        r = c.post("/api/reload")
        assert r.status_code == 422 and "capacity_hours" in r.text
        assert c.post("/api/suggest", json=ASK).status_code == 200  # still in service
        status = c.get("/api/register").json()
        assert status["providers"] == before["providers"] and status["reload_failed_at"]
        page = c.get("/").text
        assert "could not be reloaded" in page and "still in use" in page
        lines = DEMO_PROVIDERS.read_text(encoding="utf-8-sig").splitlines()
        path.write_text("\n".join(lines[:101]) + "\n")  # a good, smaller register
        assert c.post("/api/reload").json()["providers"] == 100
        assert "could not be reloaded" not in c.get("/").text


def test_token_guards_everything_but_the_assets(register_file, builtin_areas):
    from fastapi.testclient import TestClient

    app = create_app(Register(register_file), token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert c.post("/api/suggest", json=ASK).status_code == 401
        assert c.get("/openapi.json").status_code == 401
        assert c.get("/").status_code == 401 and "Access token" in c.get("/").text
        assert c.get("/static/leaflet.js").status_code == 200
        ok = c.post("/api/suggest", json=ASK, headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
        assert c.post("/signin", data={"token": "wrong"}).status_code == 401
        r = c.post("/signin", data={"token": TOKEN}, follow_redirects=False)
        assert r.status_code == 303 and "httponly" in r.headers["set-cookie"].lower()


def test_nothing_a_person_typed_is_logged(client, caplog):
    with caplog.at_level(logging.DEBUG):
        client.post("/api/suggest", json={**ASK, "postcode": "CT1 2AA"})
        client.post("/", data={"postcode": "TN23 1PL", "hours": "4", "days": ["Mon"]})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "suggestion: status" in text
    assert "CT1 2AA" not in text and "TN23 1PL" not in text and "CT1 2" not in text


def test_page_escapes_register_text_and_sends_a_strict_policy(client):
    r = client.post("/", data={**FORM, "days": ["Mon", "Wed", "Sat"], "services": ["domestic"]})
    assert r.status_code == 200
    assert "<script>alert" not in r.text and "<img src=x" not in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1]


# --- in a real browser ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(register_file, builtin_areas):
    import uvicorn

    port = _free_port()
    app = create_app(Register(register_file))
    srv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(5)


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def _page(browser, server):
    page = browser.new_page(viewport={"width": 1200, "height": 1100})
    events: list[str] = []
    page.on("pageerror", lambda e: events.append(f"error: {e}"))
    page.on("dialog", lambda d: (events.append(f"dialog: {d.message}"), d.dismiss()))
    # offline: anything not from the local server is refused
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server) else r.abort())
    page.goto(server + "/")
    return page, events


def test_staff_member_finds_providers_with_the_keyboard(browser, server):
    page, events = _page(browser, server)
    # every form control has a label a screen reader will read
    unlabeled = page.evaluate(
        """() => [...document.querySelectorAll('input')].filter(i =>
             !(i.labels && i.labels.length) && !i.getAttribute('aria-label')).map(i => i.name)"""
    )
    assert unlabeled == []
    # keyboard only: skip link, then the postcode field first
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")  # the skip link puts the cursor in the postcode field
    assert page.evaluate("document.activeElement.id") == "postcode"
    page.keyboard.type("CT1 2AA")
    page.keyboard.press("Tab")
    page.keyboard.type("6")
    page.get_by_role("button", name="Weekdays").click()
    page.get_by_label("Domestic help").check()
    page.get_by_label("Companionship").check()
    page.locator("#self_directing-yes").check()
    page.locator("#regulated_care-no").check()
    page.get_by_role("button", name="Find providers").click()
    heading = page.locator("#results-title")
    assert "could help near CT1 2" in heading.inner_text()
    # focus moves there once the page's script has run
    from playwright.sync_api import expect

    expect(page.locator("#results-title")).to_be_focused(timeout=5000)
    items = page.locator("ol.suggestions > li")
    assert items.count() == 5
    assert all("Cover" in items.nth(i).inner_text() for i in range(5))
    # the map: the person's area and one marker per provider, partner and cover named
    page.wait_for_function("window.gapmapMarkers && window.gapmapMarkers.getLayers().length > 0")
    markers = page.evaluate("window.gapmapMarkers.getLayers().length")
    assert 5 <= markers <= 15
    assert page.locator("#map path.leaflet-interactive").count() >= 1  # the person's area
    page.wait_for_selector("#map .district-label")  # offline, district names give the bearings
    assert "Canterbury" in page.locator("#map .district-label").all_inner_texts()
    # numbered markers that match the list: 1..5, partners and cover with a letter
    labels = page.locator("#map .marker").all_inner_texts()
    assert len(labels) == markers
    assert {str(i) for i in range(1, 6)} <= set(labels)
    assert set(labels) <= {f"{i}{r}" for i in range(1, 6) for r in ("", "P", "C")}
    listed = page.locator("ol.suggestions .number").all_inner_texts()
    assert listed == ["1", "2", "3", "4", "5"]
    # hours to the quarter hour and days in words; contact details from the register
    first = items.nth(0).inner_text()
    assert re.search(r"\d+ h( \d+ min)? a week on ", first) and ";" not in first.split("\n")[1]
    assert page.locator("ol.suggestions .contact a[href^='tel:07700900']").count() == 5
    assert page.locator("ol.suggestions .contact a[href^='mailto:']").count() == 5
    summary = page.locator("#summary-text").input_value()
    assert summary.startswith("Support asked for near CT1 2: 6 h a week on weekdays")
    assert "07700 900" in summary and "1. " in summary and "CT1 2AA" not in summary
    assert "CT1 2AA" not in page.locator("#results").inner_html()  # only in the form
    assert page.locator("input#postcode").input_value() == "CT1 2AA"
    # text contrast (WCAG AA, 4.5:1) of every element that holds text
    worst = page.evaluate(
        """() => {
          const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
          const lum = c => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255;
              return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
            return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
          const bg = el => { for (; el; el = el.parentElement) {
              const c = rgb(getComputedStyle(el).backgroundColor);
              if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c; }
            return [255, 255, 255]; };
          let worst = [99, ''];
          for (const el of document.querySelectorAll('body *')) {
            if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
            if (el.closest('.leaflet-container')) continue;
            const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg(el));
            const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
            if (ratio < worst[0]) worst = [ratio, el.tagName + ' ' + el.textContent.slice(0, 30)];
          }
          return worst;
        }"""
    )
    assert worst[1] and worst[0] >= 4.5, worst  # some text was measured, none too faint
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "serve.png"), full_page=True)
    assert events == []
    page.close()


def test_bad_postcode_is_explained_and_focused(browser, server):
    page, events = _page(browser, server)
    page.get_by_label("Postcode of the person").fill("EH1 1YZ")
    page.get_by_label("Hours a week").fill("3")
    page.get_by_label("Mon").check()
    page.get_by_label("Domestic help").check()
    page.locator("#self_directing-yes").check()
    page.locator("#regulated_care-no").check()
    page.get_by_role("button", name="Find providers").click()
    summary = page.locator("#error-summary")
    assert "EH1 1YZ is in" in summary.inner_text()
    assert "outside the area this register serves" in summary.inner_text()
    from playwright.sync_api import expect

    expect(page.locator("#error-summary")).to_be_focused(timeout=5000)
    assert page.locator("input#postcode").get_attribute("aria-invalid") == "true"
    assert page.title().startswith("Error:")
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "postcode"
    assert events == []
    page.close()


def test_hostile_provider_name_shows_as_text(browser, server):
    page, events = _page(browser, server)
    page.get_by_label("Postcode of the person").fill("CT14 8AT")  # near the hostile provider
    page.get_by_label("Hours a week").fill("2")
    page.get_by_role("button", name="Weekdays").click()
    page.get_by_label("Domestic help").check()
    page.locator("#self_directing-yes").check()
    page.locator("#regulated_care-no").check()
    page.get_by_role("button", name="Find providers").click()
    text = page.locator("main").inner_text()
    assert "<script>alert" in text  # shown, as text
    assert page.locator("main script:not([type='application/json']):not([src])").count() == 0
    page.locator("#map path.leaflet-interactive").last.hover()
    assert events == []
    page.close()


def test_serve_refuses_other_hosts_without_a_token_and_bad_registers(tmp_path, capsys):
    from gapmap.cli.commands import main

    argv = ["serve", "--providers", str(DEMO_PROVIDERS), "--host", "0.0.0.0"]
    assert main(argv) == 2 and "--token-file" in capsys.readouterr().err
    bad = tmp_path / "providers.csv"
    bad.write_text("provider_id,name\nA,B\n")
    assert main(["serve", "--providers", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "capacity_hours" in err and "Traceback" not in err


# --- safe on any network (issue 15, item 5) -------------------------------------------------
def _client(register_file, **kwargs):
    from fastapi.testclient import TestClient

    return TestClient(create_app(Register(register_file), **kwargs), base_url="http://127.0.0.1")


def test_other_host_names_are_refused(register_file):
    """DNS rebinding: a hostile page's own name pointing at 127.0.0.1 gets nothing."""
    with _client(register_file) as c:
        r = c.get("/api/register", headers={"Host": "evil.example:8000"})
        assert r.status_code == 400 and r.json()["problems"][0]["message"]
        assert c.get("/api/register", headers={"Host": "localhost:8000"}).status_code == 200
    with _client(register_file, allowed_hosts=("127.0.0.1", "gapmap.kent.local")) as c:
        assert c.get("/api/register", headers={"Host": "gapmap.kent.local"}).status_code == 200


def test_cross_site_posts_are_refused(register_file):
    with _client(register_file) as c:
        for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
            r = c.post("/api/reload", headers=headers)
            assert r.status_code == 403 and "another site" in r.json()["problems"][0]["message"]
        same = c.post("/api/suggest", json=ASK, headers={"Origin": "http://127.0.0.1:8000"})
        assert same.status_code == 200


def test_large_bodies_are_refused_with_413(register_file):
    from gapmap.serve.security import MAX_BODY

    with _client(register_file) as c:
        big = {**ASK, "postcode": "x" * (MAX_BODY + 10)}
        r = c.post("/api/suggest", json=big)
        assert r.status_code == 413 and "problems" in r.json()
        chunked = c.post("/api/suggest", content=iter([b"{" + b" " * MAX_BODY, b"}"]))
        assert chunked.status_code == 413


def test_every_4xx_answer_has_the_problems_shape(register_file):
    with _client(register_file) as c:
        for r in (c.get("/nowhere"), c.put("/api/suggest", json=ASK), c.post("/api/suggest")):
            assert 400 <= r.status_code < 500
            assert set(r.json()) == {"problems"}, r.json()


def test_tokens_bearer_cookie_and_sign_in_throttle(register_file, tmp_path, capsys):
    import time as _time

    from gapmap.cli.commands import main
    from gapmap.serve.security import MAX_FAILED_SIGNINS, SESSION_SECONDS, session_cookie

    with _client(register_file, token=TOKEN) as c:
        for scheme in ("Bearer", "bearer", "BEARER"):
            r = c.post("/api/suggest", json=ASK, headers={"Authorization": f"{scheme} {TOKEN}"})
            assert r.status_code == 200, scheme
        r = c.post("/signin", data={"token": TOKEN}, follow_redirects=False)
        cookie = r.headers["set-cookie"]
        assert TOKEN not in cookie and f"Max-Age={SESSION_SECONDS}" in cookie
        assert c.get("/api/register").status_code == 200  # the session cookie works
        c.cookies.clear()
        stale = session_cookie(TOKEN, now=_time.time() - SESSION_SECONDS - 1)
        c.cookies.set("gapmap_token", stale)
        assert c.get("/api/register").status_code == 401  # an expired session does not
        c.cookies.clear()
        codes = [c.post("/signin", data={"token": "wrong"}).status_code for _ in range(8)]
        assert codes[:MAX_FAILED_SIGNINS] == [401] * MAX_FAILED_SIGNINS
        assert set(codes[MAX_FAILED_SIGNINS:]) == {429}
    short = tmp_path / "token.txt"
    short.write_text("abc")
    assert main(["serve", "--providers", str(register_file), "--token-file", str(short)]) == 2
    assert "at least 16 characters" in capsys.readouterr().err
    assert main(["serve", "--new-token"]) == 0
    assert len(capsys.readouterr().out.strip()) >= 32


# --- issue 15: regulated care, errors in words, reasons, a phone and the keyboard only -------
def _cqc(register_file) -> set[str]:
    prov = read_providers(register_file)
    return set(prov.loc[prov["cqc_registered"], "provider_id"])


def test_regulated_care_never_lists_an_unregistered_provider_in_the_api(client, register_file):
    """200 requests at every provider's postcode: with regulated care, every provider, partner
    and cover named is CQC-registered; without the answer, personal care is refused."""
    import numpy as np

    prov = read_providers(register_file)
    cqc = _cqc(register_file)
    rng = np.random.default_rng(7)
    found = 0
    for pc in rng.choice(prov["postcode"].to_numpy(), 60, replace=False):
        days = ";".join(rng.choice(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                                   rng.integers(1, 4), replace=False))  # fmt: skip
        ask = {"postcode": pc, "hours": float(rng.choice([1, 2, 4, 6])), "days": days,
               "services": "personal_care", "top": 10, "self_directing": True}  # fmt: skip
        refused = client.post("/api/suggest", json=ask)
        assert refused.status_code == 422
        assert refused.json()["problems"] == [{
            "field": "regulated_care",
            "message": "Select whether the care must come from a CQC-registered provider",
        }]  # fmt: skip
        body = client.post("/api/suggest", json={**ask, "regulated_care": True}).json()
        named = {x for s in body["suggestions"]
                 for x in (s["provider_id"], s["partner_id"], s["cover_id"]) if x}  # fmt: skip
        assert named <= cqc, named - cqc
        found += len(body["suggestions"])
        free = client.post("/api/suggest", json={**ask, "regulated_care": False}).json()
        assert free["status"] in ("ok", "none")
    assert found > 10  # the rule was exercised, not vacuous


def test_regulated_care_on_the_command_line(tmp_path, register_file, capsys):
    from gapmap.cli.commands import main

    base = [
        "suggest", "--providers", str(register_file), "--postcode", "CT9 1BQ", "--hours", "2",
        "--days", "Mon", "--services", "personal_care", "--top", "10", "--json",
        "--self-directing", "yes",
    ]  # fmt: skip
    assert main(base) == 2
    assert "--regulated-care" in capsys.readouterr().err
    assert main(base + ["--regulated-care", "yes"]) == 0
    body = json.loads(capsys.readouterr().out)
    named = {x for s in body["suggestions"] for x in (s["provider_id"], s["cover_id"]) if x}
    assert named and named <= _cqc(register_file)
    assert main(base + ["--regulated-care", "no"]) == 0
    named = {s["provider_id"] for s in json.loads(capsys.readouterr().out)["suggestions"]}
    assert named - _cqc(register_file)  # unregistered providers may give personal care then


def test_every_problem_at_once_in_plain_words(client):
    r = client.post("/api/suggest", json={})
    assert r.status_code == 422
    assert r.json()["problems"] == [
        {"field": "postcode", "message": "Enter the person's postcode"},
        {"field": "hours", "message": "Enter the hours a week, like 6 or 6.5"},
        {"field": "days", "message": "Select the days support is needed"},
        {"field": "services", "message": "Select the kind of support needed"},
        {"field": "self_directing",
         "message": "Select whether the person can direct their own care"},
        {"field": "regulated_care",
         "message": "Select whether the care must come from a CQC-registered provider"},
    ]  # fmt: skip
    bad = client.post("/api/suggest", json={"postcode": "XYZ", "hours": "lots", "days": "Mon",
                                             "services": "social", "self_directing": False,
                                             "regulated_care": True}).json()  # fmt: skip
    assert [p["field"] for p in bad["problems"]] == ["postcode", "hours"]
    assert bad["problems"][1]["message"].startswith("Enter the hours a week as a number, like 6")
    wrong_type = client.post("/api/suggest", json={**ASK, "hours": [1, 2]}).json()
    assert wrong_type["problems"] == [
        {"field": "hours", "message": "Enter the hours a week as a number, like 6 or 6.5"}
    ]
    for typed in ("6 hours", "6,5", "6½", "6.5 h a week"):
        ok = client.post("/api/suggest", json={**ASK, "hours": typed})
        assert ok.status_code == 200, (typed, ok.text)
    for postcode, council in (("ME4 4TR", "Medway"), ("SW1A 1AA", "Westminster"),
                              ("BT1 1AA", "Northern Ireland")):  # fmt: skip
        out = client.post("/api/suggest", json={**ASK, "postcode": postcode}).json()
        assert out["problems"] == [{
            "field": "postcode",
            "message": f"{postcode} is in {council}, outside the area this register serves (Kent)",
        }]  # fmt: skip


def test_when_nothing_fits_the_answer_says_why_and_what_would(client):
    body = client.post("/api/suggest", json={**ASK, "hours": 40, "days": "Mon",
                                             "services": "social"}).json()  # fmt: skip
    assert body["status"] == "none" and not body["suggestions"]
    assert any("too few free hours" in r for r in body["reasons"])
    assert any(c.startswith("With ") and "could help" in c for c in body["changes"])
    # the change it proposes really gives an answer
    hours = re.search(r"With (\d+) h( (\d+) min)? a week", " ".join(body["changes"]))
    assert hours
    fewer = int(hours.group(1)) + int(hours.group(3) or 0) / 60
    ask = {**ASK, "hours": fewer, "days": "Mon", "services": "social"}
    again = client.post("/api/suggest", json=ask).json()
    assert again["status"] == "ok"


def test_phone_sized_page_with_the_keyboard_only(browser, server, register_file):
    """A care navigator on a phone-sized window, keyboard only: personal care asks the CQC
    question, the errors are listed in words and focused, the answer is CQC-only."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=False)
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server) else r.abort())
    page.goto(server + "/")

    def tab_to(selector: str, limit: int = 60) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("(s) => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"{selector} not reached with Tab")

    tab_to(".skip")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "postcode"
    page.keyboard.type("CT9 1BQ")
    page.keyboard.press("Tab")
    page.keyboard.type("2,5 hours")
    tab_to("input[name=days][value=Mon]")
    page.keyboard.press("Space")
    tab_to("input[name=services][value=personal_care]")
    page.keyboard.press("Space")
    tab_to("input[name=self_directing][value=yes]")
    page.keyboard.press("Space")
    tab_to("button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("#error-summary")).to_be_focused(timeout=5000)
    assert page.locator("#error-summary li").all_inner_texts() == [
        "Select whether the care must come from a CQC-registered provider"
    ]
    assert page.locator("input#hours").input_value() == "2,5 hours"  # what was typed stays
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the summary's link takes the cursor to the question
    tab_to("input[name=regulated_care][value=yes]")
    page.keyboard.press("Space")
    tab_to("button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator("#results-title")).to_be_focused(timeout=5000)
    ids = [t.strip("()") for t in page.locator("ol.suggestions .id").all_inner_texts()]
    assert ids and set(ids) <= _cqc(register_file)
    text = page.locator("ol.suggestions").inner_text()
    assert "2 h 30 min a week on Mon" in text
    # nothing wider than the phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 391
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "serve_phone.png"), full_page=True)
    page.close()


# --- issue 31: self-direction and regulated care are required questions -------------------------
SELF_MESSAGE = "Select whether the person can direct their own care"
REGULATED_MESSAGE = "Select whether the care must come from a CQC-registered provider"


@pytest.mark.parametrize(
    "missing,messages",
    [
        (("self_directing",), [("self_directing", SELF_MESSAGE)]),
        (("regulated_care",), [("regulated_care", REGULATED_MESSAGE)]),
        (
            ("self_directing", "regulated_care"),
            [("self_directing", SELF_MESSAGE), ("regulated_care", REGULATED_MESSAGE)],
        ),
    ],
)
def test_api_refuses_a_request_without_the_two_answers(client, missing, messages):
    """Before issue 31 a missing ``self_directing`` was read as yes (five providers listed),
    and ``regulated_care`` was asked only with personal care."""
    for absent in ("left out", "null"):
        body = {k: v for k, v in ASK.items() if k not in missing}
        if absent == "null":
            body.update({k: None for k in missing})
        r = client.post("/api/suggest", json=body)
        assert r.status_code == 422, r.text
        assert r.json() == {"problems": [{"field": f, "message": m} for f, m in messages]}


def test_api_not_self_directing_lists_no_micro_provider(client):
    from gapmap.safety import SELF_DIRECTING_ADVICE

    for regulated in (True, False):
        r = client.post("/api/suggest", json={**ASK, "self_directing": False,
                                              "regulated_care": regulated})  # fmt: skip
        body = r.json()
        assert r.status_code == 200 and body["status"] == "not_self_directing"
        assert body["suggestions"] == [] and body["points"] == []
        assert body["advice"] == SELF_DIRECTING_ADVICE


def test_page_asks_both_questions_with_no_answer_ticked(client):
    page = client.get("/").text
    for name in ("self_directing", "regulated_care"):
        radios = re.findall(rf'<input type="radio" id="{name}-(yes|no)"[^>]*>', page)
        assert radios == ["yes", "no"]
        assert not re.search(rf'<input type="radio"[^>]*name="{name}"[^>]*checked', page)
    assert 'name="self_directing" value="yes" checked' not in page
    # a form sent without the answers (a browser sends nothing for an unticked control)
    form = {k: v for k, v in FORM.items() if k not in ("self_directing", "regulated_care")}
    r = client.post("/", data={**form, "days": ["Mon", "Wed", "Sat"], "services": ["domestic"]})
    assert r.status_code == 422
    assert 'id="error-summary"' in r.text and '<ol class="suggestions">' not in r.text
    assert f'<a href="#self_directing-yes">{SELF_MESSAGE}</a>' in r.text
    assert f'<a href="#regulated_care-yes">{REGULATED_MESSAGE}</a>' in r.text
    assert 'id="self_directing-error"' in r.text and 'id="regulated_care-error"' in r.text


def _answer_by_keyboard(page, server, self_directing, regulated_care):
    """Fill the form with the keyboard only: Tab, typing, Space and arrow keys; no clicks.
    An answer of None leaves the question unanswered."""
    page.goto(server + "/")

    def tab_to(selector: str, limit: int = 80) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("(s) => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"{selector} not reached with Tab")

    tab_to(".skip")
    page.keyboard.press("Enter")
    page.keyboard.type("CT9 1BQ")
    page.keyboard.press("Tab")
    page.keyboard.type("2")
    tab_to("input[name=days][value=Mon]")
    page.keyboard.press("Space")
    tab_to("input[name=services][value=personal_care]")
    page.keyboard.press("Space")
    for name, answer in (("self_directing", self_directing), ("regulated_care", regulated_care)):
        if answer is None:
            continue
        tab_to(f"input[name={name}]")  # Tab enters a radio group on its first radio
        assert page.evaluate("document.activeElement.value") == "yes"
        if answer:
            page.keyboard.press("Space")
        else:
            page.keyboard.press("ArrowDown")  # moves to "No" and chooses it
        checked = page.evaluate(f"document.querySelector('input[name={name}]:checked').value")
        assert checked == ("yes" if answer else "no")
    tab_to("button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_load_state()


@pytest.mark.parametrize("self_directing", [True, False, None], ids=lambda v: f"sd={v}")
@pytest.mark.parametrize("regulated_care", [True, False, None], ids=lambda v: f"rc={v}")
def test_both_questions_by_keyboard_in_chromium(
    browser, server, register_file, self_directing, regulated_care
):
    """Every answer to the two questions, and leaving either unanswered, by keyboard: what is
    listed follows the answers; an unanswered question is an error, never a yes."""
    from playwright.sync_api import expect

    from gapmap.safety import SELF_DIRECTING_ADVICE

    page = browser.new_page(viewport={"width": 1200, "height": 1100})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server) else r.abort())
    _answer_by_keyboard(page, server, self_directing, regulated_care)
    cards = page.locator("ol.suggestions > li")
    if self_directing is None or regulated_care is None:
        expect(page.locator("#error-summary")).to_be_focused(timeout=5000)
        listed = page.locator("#error-summary li").all_inner_texts()
        asked = ((SELF_MESSAGE, self_directing), (REGULATED_MESSAGE, regulated_care))
        assert listed == [m for m, a in asked if a is None]
        assert page.title().startswith("Error:") and cards.count() == 0
        for name, answer in (("self_directing", self_directing),
                             ("regulated_care", regulated_care)):  # fmt: skip
            checked = page.locator(f"input[name={name}]:checked")
            if answer is None:  # still unanswered: not shown as yes
                assert checked.count() == 0
                assert page.locator(f"#{name}-error").inner_text() in (
                    SELF_MESSAGE,
                    REGULATED_MESSAGE,
                )
            else:  # the answer given stays
                assert checked.get_attribute("value") == ("yes" if answer else "no")
    elif not self_directing:
        expect(page.locator("#results-title")).to_be_focused(timeout=5000)
        assert "No provider found" in page.locator("#results-title").inner_text()
        assert cards.count() == 0
        assert page.locator(".advice").inner_text() == SELF_DIRECTING_ADVICE
        assert SELF_DIRECTING_ADVICE in page.locator("#summary-text").input_value()
        page.wait_for_function("window.gapmapMarkers !== undefined")
        assert page.evaluate("window.gapmapMarkers.getLayers().length") == 0
    else:
        expect(page.locator("#results-title")).to_be_focused(timeout=5000)
        assert cards.count() >= 2
        ids = [t.strip("()") for t in page.locator("ol.suggestions .id").all_inner_texts()]
        tags = page.locator("ol.suggestions .tag").all_inner_texts()
        cqc = _cqc(register_file)
        assert tags == [("CQC-registered" if i in cqc else "Not CQC-registered") for i in ids]
        if regulated_care:
            assert set(ids) <= cqc
            assert "Not CQC-registered" not in page.locator("ol.suggestions").inner_text()
        else:
            assert set(ids) - cqc  # unregistered providers may be listed, with the words
            # the map's markers say it too (popup, opened with Enter on a focused marker)
            page.wait_for_selector("#map .marker")
            popups = page.evaluate(
                "() => window.gapmapMarkers.getLayers().map(m => m.getPopup().getContent()"
                ".textContent)"
            )
            assert popups and any("DBS" in t and "vouch" in t for t in popups)
            assert all("registered with" in t for t in popups)
            for i in range(cards.count()):
                text = cards.nth(i).inner_text()
                if ids[i] not in cqc:
                    assert "not registered with or regulated by the Care Quality" in text
                    for word in ("interview", "DBS", "insurance", "references",
                                 "council does not regulate or vouch"):  # fmt: skip
                        assert word in text, (word, text)
    assert errors == []
    page.close()
