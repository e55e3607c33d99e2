"""Open Referral UK v3.0: the register exported as a feed, feeds read back, bad feeds refused."""

import datetime as dt
import json
import re
import urllib.parse
import uuid

import numpy as np
import openpyxl
import pandas as pd
import pytest

from gapmap.cli.commands import main
from gapmap.errors import InputError
from gapmap.io.oruk import read_feed, schema, validate
from gapmap.io.registers import read_providers
from tests.conftest import write
from tests.helpers import days_from_today as _days

TODAY = dt.date.today()


@pytest.fixture(scope="module")
def sample(tmp_path_factory, demo_registers):
    """40 demo providers with the 'what families ask' columns on some, as a CSV register."""
    providers, _ = demo_registers
    folder = tmp_path_factory.mktemp("sample")
    table = pd.read_csv(
        "data/demo/providers.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig"
    ).head(40)
    table["price_per_hour"] = ["£17.50", "", "19", ""] * 10
    table["dbs_checked_on"] = [_days(-400), "", _days(-30), _days(-1200)] * 10
    table["insurance_until"] = [_days(200), _days(20), "", _days(400)] * 10
    table["verified_on"] = [_days(-3), "", "", _days(-60)] * 10
    table["languages"] = ["English;Polish", "", "English;Gujarati;Bengali", "Nepali"] * 10
    table["last_updated"] = [_days(-2), _days(-9), "", ""] * 10
    path = folder / "providers.csv"
    table.to_csv(path, index=False)
    return path


def _export(path, out):
    assert main(["directory", "export", "--providers", str(path), "--out", str(out)]) == 0
    return json.loads((out / "services.json").read_text("utf-8"))


def test_the_schema_is_a_valid_json_schema_naming_its_source():
    import jsonschema

    s = schema()
    jsonschema.Draft202012Validator.check_schema(s)
    assert "OpenReferralUK/uk-profile" in s["$comment"] and "CC BY-SA 4.0" in s["$comment"]
    assert s["$defs"]["service"]["required"] == ["id", "name", "status"]
    assert s["$defs"]["schedule"]["properties"]["freq"]["enum"] == ["WEEKLY", "MONTHLY"]


def test_export_is_a_valid_oruk_feed_with_no_persons_data(sample, tmp_path, demo_registers):
    feed = _export(sample, tmp_path / "out")
    assert validate(feed) == []  # with formats: uuid ids, e-mail addresses
    assert feed["total_items"] == len(feed["contents"]) == 40
    first = feed["contents"][0]
    assert first["name"] == "Bright Circle (Dover)"
    assert first["schedules"][0]["byday"] == "MO,TU,WE,TH,FR,SA"
    assert first["schedules"][0]["freq"] == "WEEKLY"
    loc = first["service_at_locations"][0]["location"]
    assert loc["addresses"][0]["postal_code"] == "CT14 8AT"
    assert 51.0 < loc["latitude"] < 51.5 and 1.0 < loc["longitude"] < 1.5
    area = first["service_areas"][0]
    assert area["name"] == "Homes within 10 km of CT14 8AT"
    ring = json.loads(area["extent"])["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) > 20
    terms = {a["taxonomy_term"]["term"] for a in first["attributes"]}
    assert terms == {"domestic", "social", "community"}
    assert first["contacts"][0]["phones"][0]["number"] == "07700 900001"
    assert first["cost_options"][0]["amount"] == 17.5
    assert [lang["name"] for lang in first["languages"]] == ["English", "Polish"]
    for service in feed["contents"]:
        uuid.UUID(service["id"])
        if "last_modified" in service:  # RFC 3339 (jsonschema needs an extra package for it)
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT00:00:00Z", service["last_modified"])
        if "url" in service:
            assert urllib.parse.urlsplit(service["url"]).scheme == "https"
    # the people register never goes in: no person id anywhere in the files
    _, people = demo_registers
    text = "".join(p.read_text("utf-8") for p in (tmp_path / "out").iterdir())
    assert not any(pid in text for pid in people["person_id"].head(200))
    assert "INTERNAL" in (tmp_path / "out" / "ABOUT_THESE_FILES.txt").read_text()
    assert validate(json.loads((tmp_path / "out" / "taxonomy.json").read_text()), kind="page")


def test_round_trip_gives_back_the_same_register(sample, tmp_path):
    out = tmp_path / "out"
    _export(sample, out)
    before = read_providers(sample)
    after = read_providers(out / "services.json", extra=out / "directory_extra.csv")
    assert list(after.columns) == list(before.columns)
    same = [c for c in before.columns if c not in ("x", "y", "row")]
    pd.testing.assert_frame_equal(after[same], before[same])
    assert np.abs(after[["x", "y"]].to_numpy() - before[["x", "y"]].to_numpy()).max() < 0.01
    # and through the command line, as a study
    assert main(["check", "--providers", str(out / "services.json"), "--directory-extra",
                 str(out / "directory_extra.csv")]) == 0  # fmt: skip


def _council_service(sid, name, *, terms, byday="MO,WE", location=None, **more):
    """A service as a council directory publishes it: nested locations, fields missing."""
    service = {
        "id": sid,
        "name": name,
        "status": "active",
        "description": f"{name} in Maidstone.",
        "schedules": [
            {
                "id": str(uuid.uuid4()),
                "freq": "WEEKLY",
                "byday": byday,
                "opens_at": "09:00",
                "closes_at": "17:00",
            }
        ],  # fmt: skip
        "service_at_locations": [
            {
                "id": str(uuid.uuid4()),
                "location": location
                or {
                    "id": str(uuid.uuid4()),
                    "location_type": "physical",
                    "addresses": [
                        {
                            "id": str(uuid.uuid4()),
                            "address_1": "1 High Street",
                            "city": "Maidstone",
                            "state_province": "Kent",
                            "postal_code": "ME14 1XX",
                            "country": "GB",
                            "address_type": "physical",
                        }
                    ],  # fmt: skip
                },
            }
        ],
        "attributes": [
            {
                "id": str(uuid.uuid4()),
                "taxonomy_term": {"id": str(uuid.uuid4()), "name": t, "description": t, "term": t},
            }
            for t in terms
        ],  # fmt: skip
    }
    service.update(more)
    return service


SID = [str(uuid.UUID(int=i + 1)) for i in range(6)]


def _council_feed(folder):
    """Two pages of a council's /services: three micro-providers and a library among them."""
    folder.mkdir()
    page1 = [
        _council_service(
            SID[0], "Kind Hands Home Help", terms=["Domestic help", "Older people"],
            email="kind@example.org", url="https://kind.example.org",
            contacts=[{"id": str(uuid.uuid4()), "name": "Ann",
                       "phones": [{"id": str(uuid.uuid4()), "number": "01622 123456"}]}],
            cost_options=[{"id": str(uuid.uuid4()), "amount": 18,
                           "amount_description": "per hour"}],
            assured_date="2026-01-15", last_modified="2026-02-01T10:30:00.000Z",
        ),
        _council_service(SID[1], "Maidstone Library", terms=["Libraries"], byday="TU"),
    ]  # fmt: skip
    page2 = [
        _council_service(
            SID[2], "Sunday Friends", terms=["Befriending", "Day activities"], byday="2SU,-1SA",
            location={"id": str(uuid.uuid4()), "location_type": "physical",
                      "latitude": 51.2795, "longitude": 0.5224},
            freq="MONTHLY",
        ),
        _council_service(SID[3], "Carers' Breaks Kent", terms=["Respite care"], byday="FR"),
    ]  # fmt: skip
    for i, contents in enumerate((page1, page2), 1):
        page = {"total_items": 4, "total_pages": 2, "page_number": i, "size": 2,
                "first_page": i == 1, "last_page": i == 2, "empty": False,
                "contents": contents}  # fmt: skip
        (folder / f"page{i}.json").write_text(json.dumps(page), "utf-8")
    return folder


def test_a_council_feed_in_pages_with_a_side_table(tmp_path):
    feed = _council_feed(tmp_path / "feed")
    for page in sorted(feed.iterdir()):
        assert validate(json.loads(page.read_text()), formats=True) == []
    extra = write(
        tmp_path, "extra.csv",
        "service_id,capacity_hours,committed_hours,cover,max_travel_km,insurance_until\n"
        f"{SID[0]},20,5,yes,8,{_days(90)}\n{SID[2]},12,,no,,\n{SID[3]},30,10,,15,\n",
    )  # fmt: skip
    reg = read_providers(feed, extra=extra).set_index("provider_id")
    assert (
        reg.attrs["notes"][0] == "1 service of the feed is not in the side table and was left out"
    )
    assert list(reg.index) == [SID[0], SID[2], SID[3]]  # the library is not a micro-provider
    kind = reg.loc[SID[0]]
    assert (kind["services"], kind["days"], kind["postcode"]) == ("domestic", "Mon;Wed", "ME14 1XX")
    assert (kind["capacity_hours"], kind["committed_hours"], kind["max_travel_km"]) == (20, 5, 8)
    assert (kind["phone"], kind["email"], kind["website"]) == (
        "01622 123456", "kind@example.org", "https://kind.example.org")  # fmt: skip
    assert kind["price_per_hour"] == 18 and kind["insurance_until"] == _days(90)
    assert (kind["verified_on"], kind["last_updated"]) == ("2026-01-15", "2026-02-01")
    friends = reg.loc[SID[2]]
    assert friends["services"] == "social;community" and friends["days"] == "Sat;Sun"
    assert friends["postcode"] == "" and 575000 < friends["x"] < 577000
    assert not friends["cover"] and friends["max_travel_km"] == 10  # the stated default
    assert reg.loc[SID[3], "services"] == "respite"


def test_every_service_that_cannot_be_used_is_listed_with_the_reason(tmp_path):
    no_place = {"id": str(uuid.uuid4()), "location_type": "virtual"}
    contents = [
        _council_service(SID[0], "No Place", terms=["Befriending"], location=no_place),
        _council_service(SID[1], "No Days", terms=["Befriending"], byday=""),
        _council_service(SID[2], "Library", terms=["Libraries", "Reading groups"]),
        _council_service("", "No Id", terms=["Befriending"]),
        _council_service(SID[4], "Twice", terms=["Befriending"]),
        _council_service(SID[4], "Twice Again", terms=["Befriending"]),
        _council_service(SID[5], "Closed", terms=["Befriending"], status="defunct"),
        {"id": "7", "name": "Half a service"},
    ]
    path = write(tmp_path, "feed.json", json.dumps({"contents": contents}))
    with pytest.raises(InputError) as info:
        read_feed(path)
    found = [(p.row, p.column, p.message) for p in info.value.problems]
    assert all(p.file == str(path) for p in info.value.problems)
    assert (1, "service_at_locations") == found[0][:2] and "no location" in found[0][2]
    assert f"service {SID[0]!r}" in found[0][2]
    assert (2, "schedules") == found[1][:2] and "no schedule" in found[1][2]
    assert (3, "attributes") == found[2][:2] and "unknown taxonomy term" in found[2][2]
    assert info.value.problems[2].value == "Libraries; Reading groups"
    assert (4, "id") == found[3][:2] and "bad id" in found[3][2]
    assert (6, "id") == found[4][:2] and "more than once (first at row 5)" in found[4][2]
    assert (7, "status") == found[5][:2] and "'defunct'" in found[5][2]
    assert (8, "(service)") == found[6][:2] and "'status' is a required property" in found[6][2]
    assert len(found) == 7


def test_side_table_problems_name_file_row_and_column(tmp_path):
    feed = _council_feed(tmp_path / "feed")
    extra = write(
        tmp_path, "extra.csv",
        f"service_id,capacity_hours,cover\n{SID[0]},lots,yes\nnot-in-feed,10,\n{SID[0]},5,\n",
    )  # fmt: skip
    with pytest.raises(InputError) as info:
        read_providers(feed, extra=extra)
    found = {(p.file, p.row, p.column) for p in info.value.problems}
    assert found == {(str(extra), 2, "capacity_hours"), (str(extra), 3, "service_id"),
                     (str(extra), 4, "service_id")}  # fmt: skip
    with pytest.raises(InputError, match="goes with an Open Referral UK feed"):
        read_providers(write(tmp_path, "p.csv", "provider_id\n"), extra=extra)


@pytest.mark.parametrize(
    "text, words",
    [
        ("provider_id,name\nA,B\n", "is not JSON (Expecting value at line 1, column 1)"),
        ('{"contents": [', "is not JSON"),
        ('{"services": []}', "is JSON but not an Open Referral UK v3 feed"),
        ('{"contents": {"id": 1}}', "contents: expected a list of services"),
        ('{"contents": [], "total_items": "many"}', "total_items: 'many' is not of type"),
        ("[1, 2]", "not a service: a int where an object is needed"),
        ("", "the feed file is empty"),
    ],
)
def test_bad_feeds_are_refused_with_clear_words(tmp_path, text, words):
    path = write(tmp_path, "feed.json", text)
    with pytest.raises(InputError) as info:
        read_providers(path)
    assert words in str(info.value)


def test_a_100_mb_feed_is_refused_before_reading(tmp_path, capsys):
    path = tmp_path / "big.json"
    with path.open("wb") as f:  # sparse: no 100 MB written
        f.write(b'{"contents": [')
        f.truncate(100 * 2**20 + 1)
    rc = main(["check", "--providers", str(path)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "gapmap reads feeds of up to 100 MB. Is it the right file?" in err


def test_a_service_with_10000_schedules_is_refused(tmp_path):
    service = _council_service(SID[0], "Busy", terms=["Befriending"])
    service["schedules"] = [{"id": str(i), "byday": "MO"} for i in range(10_000)]
    path = write(tmp_path, "feed.json", json.dumps({"contents": [service]}))
    with pytest.raises(InputError) as info:
        read_providers(path)
    assert f"service {SID[0]!r} has 10,000 schedules; gapmap reads up to 200" in str(info.value)


def test_geojson_is_still_read_as_a_point_layer(tmp_path):
    gj = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
        "provider_id": "G1", "name": "Geo", "services": "social", "days": "Mon",
        "capacity_hours": 5},
        "geometry": {"type": "Point", "coordinates": [0.5224, 51.2795]}}]}  # fmt: skip
    reg = read_providers(write(tmp_path, "p.geojson.json", json.dumps(gj)))
    assert reg.loc[0, "provider_id"] == "G1"


def test_checks_due_workbook_is_internal(sample, tmp_path):
    out = tmp_path / "checks"
    assert main(["directory", "checks", "--providers", str(sample), "--out", str(out)]) == 0
    wb = openpyxl.load_workbook(out / "internal_checks_due.xlsx")
    ws = wb["Checks due"]
    assert "INTERNAL" in ws["A1"].value
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    # insurance in 20 days (every 4th provider from the 2nd), DBS of 1,200 days ago overdue
    assert {(r[2], r[5]) for r in rows} == {("insurance renewal", "due soon"),
                                            ("DBS check", "overdue")}  # fmt: skip
    assert len(rows) == 20
    assert "INTERNAL" in (out / "ABOUT_THESE_FILES.txt").read_text()


_KEYS = ["id", "name", "status", "schedules", "byday", "freq", "service_at_locations", "location",
         "latitude", "longitude", "addresses", "postal_code", "attributes", "taxonomy_term",
         "term", "contacts", "phones", "number", "organization", "organization_identifiers",
         "identifier_type", "identifier", "cost_options", "amount", "languages", "contents",
         "location_type", "description", "address_1", "city", "state_province", "country",
         "address_type", "service_areas", "assured_date", "last_modified"]  # fmt: skip


def _json_values():
    from hypothesis import strategies as st

    leaves = (
        st.none() | st.booleans() | st.integers(-10, 10**6)
        | st.floats(-200, 200, allow_nan=False) | st.sampled_from(
            ["active", "MO,TU", "2SU", "WEEKLY", "ME14 1XX", "Befriending", "domestic", "",
             "51.27", "x" * 3, "gapmap provider_id", "physical", "2026-01-01"])
    )  # fmt: skip
    return st.recursive(
        leaves,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_KEYS), inner, max_size=6)
        ),
        max_leaves=25,
    )


def test_any_json_is_read_or_refused_in_words(tmp_path_factory):
    """No JSON, however odd, gives anything but a register or an InputError."""
    from hypothesis import HealthCheck, given, settings

    folder = tmp_path_factory.mktemp("fuzz")

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_json_values())
    def check(doc):
        path = folder / "feed.json"
        for value in (doc, {"contents": doc if isinstance(doc, list) else [doc]}):
            path.write_text(json.dumps(value), "utf-8")
            try:
                reg = read_providers(path)
            except InputError as exc:
                assert exc.problems and all(p.message for p in exc.problems)
            else:
                assert len(reg) >= 1 and reg["provider_id"].str.len().min() > 0

    check()


def test_a_service_with_odd_parts_is_read_or_refused_in_words(tmp_path_factory):
    """A good service with any of its parts replaced by odd JSON: a register or an InputError."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    folder = tmp_path_factory.mktemp("fuzz2")
    top = ["id", "name", "status", "schedules", "service_at_locations", "attributes", "contacts",
           "organization", "cost_options", "languages", "service_areas", "assured_date",
           "last_modified", "email", "url"]  # fmt: skip
    where = ["latitude", "longitude", "addresses", "location_type", "phones"]

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.dictionaries(st.sampled_from(top), _json_values(), max_size=2),
           st.dictionaries(st.sampled_from(where), _json_values(), max_size=2))  # fmt: skip
    def check(changes, location_changes):
        service = _council_service(SID[0], "Odd", terms=["Befriending"])
        service["service_at_locations"][0]["location"].update(location_changes)
        service.update(changes)
        path = folder / "feed.json"
        path.write_text(json.dumps({"contents": [service]}), "utf-8")
        try:
            reg = read_providers(path)
        except InputError as exc:
            assert exc.problems and all(p.message for p in exc.problems)
        else:
            assert len(reg) == 1 and reg.loc[0, "services"] in (
                "social",
                "domestic",
                "social;domestic",
                "domestic;social",
            )

    check()


def test_one_service_alone_is_read_with_the_stated_defaults(tmp_path):
    area = [{"id": "a1", "name": "Within 6 km of Maidstone"}]
    service = _council_service(
        SID[0], "Solo Sitters", terms=["Sitting service"], byday="TU,TH", service_areas=area
    )
    reg = read_providers(write(tmp_path, "one.json", json.dumps(service)))
    r = reg.iloc[0]
    assert (r["provider_id"], r["services"], r["days"]) == (SID[0], "social", "Tue;Thu")
    assert (r["capacity_hours"], r["committed_hours"], r["cover"], r["cqc_registered"]) == (
        27.0, 0.0, True, False)  # fmt: skip
    assert r["max_travel_km"] == 6.0  # from the service area's words
    assert "defaults used (27 h a week, none booked, willing to cover)" in reg.attrs["notes"][0]
