import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gapmap.errors import InputError
from gapmap.io.placing import place_in_areas
from gapmap.io.registers import read_people, read_providers
from gapmap.vocab import WEEKEND_MASK

from .conftest import WARDS_2022, shared_file, write

HEADER = "provider_id,name,postcode,services,days,capacity_hours,committed_hours\n"


def test_demo_registers_read_cleanly(demo_registers):
    from gapmap.demo import DEFAULT_SCALE, SCALES

    providers, people = demo_registers
    size = SCALES[DEFAULT_SCALE]  # the demo registers are the default scale
    assert len(providers) == size.providers and len(people) == size.people
    assert providers["x"].notna().all() and people["x"].notna().all()


def test_every_problem_is_reported_at_once_with_row_and_column(tmp_path):
    path = write(
        tmp_path,
        "providers.csv",
        HEADER
        + "A,Alpha,CT1 1AA,domestic,Mon,10,20\n"
        + "A,Beta,ZZ1 1ZZ,cooking,Funday,-1,\n"
        + ",Gamma,notapc,social,all,abc,\n",
    )
    with pytest.raises(InputError) as exc:
        read_providers(path)
    got = {(p.row, p.column) for p in exc.value.problems}
    assert got == {
        (2, "committed_hours"),
        (3, "provider_id"),
        (3, "services"),
        (3, "days"),
        (3, "capacity_hours"),
        (3, "postcode"),
        (4, "provider_id"),
        (4, "capacity_hours"),
        (4, "postcode"),
    }
    assert all(p.file == str(path) for p in exc.value.problems)


def test_missing_columns_are_named(tmp_path):
    path = write(tmp_path, "p.csv", "provider_id,postcode\nA,CT1 1AA\n")
    with pytest.raises(InputError) as exc:
        read_providers(path)
    assert {p.column for p in exc.value.problems} == {"name", "services", "days", "capacity_hours"}


def test_defaults_follow_the_spec(tmp_path):
    path = write(tmp_path, "p.csv", HEADER + "A,Alpha,ct11aa,Domestic,weekdays,20,\n")
    prov = read_providers(path)
    row = prov.iloc[0]
    assert row["postcode"] == "CT1 1AA"
    assert row["committed_hours"] == 0 and row["max_travel_km"] == 10
    assert bool(row["cover"]) is True and bool(row["cqc_registered"]) is False
    assert row["day_mask"] & WEEKEND_MASK == 0
    people = read_people(
        write(
            tmp_path, "q.csv", "person_id,postcode,hours,days,services\nP1,CT1 1AA,4,Mon,social\n"
        )
    )
    r = people.iloc[0]
    assert r["priority"] == 3 and bool(r["needs_cover"]) and bool(r["self_directing"])
    assert not bool(r["regulated_care"]) and np.isnan(r["max_travel_km"])


@pytest.mark.parametrize(
    "lat, lon, message",
    [
        ("1.08", "51.28", "swapped"),
        ("615000", "157000", "British National Grid"),
        ("40.7", "-74.0", "outside Great Britain"),
        ("abc", "1.08", "expected a number"),
    ],
)
def test_bad_coordinates_are_explained(tmp_path, lat, lon, message):
    path = write(
        tmp_path, "q.csv", f"person_id,lat,lon,hours,days,services\nP1,{lat},{lon},4,Mon,social\n"
    )
    with pytest.raises(InputError, match=message):
        read_people(path)


def test_lat_lon_become_british_national_grid(tmp_path):
    path = write(
        tmp_path, "q.csv", "person_id,lat,lon,hours,days,services\nP1,51.2797,1.0830,4,Mon,social\n"
    )
    p = read_people(path).iloc[0]
    # Canterbury Cathedral is at about E 615,000 N 157,900
    assert abs(p["x"] - 615_000) < 1_000 and abs(p["y"] - 157_900) < 1_000


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252", "utf-16"])
def test_encodings_and_delimiters(tmp_path, encoding):
    text = HEADER.replace(",", ";") + "A;Café Crème;CT1 1AA;domestic;Mon;10;0\n"
    path = write(tmp_path, "p.csv", text, encoding=encoding)
    assert read_providers(path).loc[0, "name"] == "Café Crème"


def test_excel_register(tmp_path):
    df = pd.DataFrame(
        {
            "Person_ID": ["P1", "P2"],
            "Postcode": ["CT1 1AA", "TN23 1PL"],
            "Hours": [3, 5.5],
            "Days": ["Mon-Fri", "weekends"],
            "Services": ["domestic", "social"],
        }
    )
    path = tmp_path / "people.xlsx"
    df.to_excel(path, index=False)
    people = read_people(path)
    assert people["hours"].tolist() == [3.0, 5.5]
    bad = df.assign(Hours=["three", 5])
    bad.to_excel(path, index=False)
    with pytest.raises(InputError) as exc:
        read_people(path)
    assert [(p.row, p.column) for p in exc.value.problems] == [(2, "hours")]


def test_providers_as_a_point_layer(tmp_path):
    gdf = gpd.GeoDataFrame(
        {
            "provider_id": ["A"],
            "name": ["Alpha"],
            "services": ["domestic"],
            "days": ["Mon"],
            "capacity_hours": [10],
        },
        geometry=[shapely.Point(1.083, 51.2797)],
        crs=4326,
    )
    path = tmp_path / "providers.gpkg"
    gdf.to_file(path)
    prov = read_providers(path)
    assert abs(prov.loc[0, "x"] - 615_000) < 1_000


def test_place_in_real_wards(demo_registers):
    providers, _ = demo_registers
    from gapmap.io.areas import read_areas

    placed = place_in_areas(providers, read_areas(shared_file(WARDS_2022)), snap_m=2000)
    assert (placed["area_code"] != "").all()
    assert placed.attrs["unplaced"] == []


_cell = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.tuples(_cell, _cell, _cell, _cell, _cell), min_size=1, max_size=5))
def test_readers_accept_or_raise_input_error(tmp_path, rows):
    import csv

    path = tmp_path / "fuzz.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["person_id", "postcode", "hours", "days", "services"])
        w.writerows(rows)
    try:
        people = read_people(path)
    except InputError as exc:
        assert exc.problems
    else:
        assert (people["hours"] > 0).all() and people["x"].notna().all()
