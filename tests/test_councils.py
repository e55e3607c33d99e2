"""Any council, not only Kent (issue 18): built-in geographies, demos and messages by council."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gapmap.councils import council_name, postcode_letters, resolve_council
from gapmap.errors import InputError
from gapmap.io.builtin import build_council_sectors, builtin_path, load_builtin_areas
from gapmap.postcodes import default_directory


@pytest.mark.parametrize(
    "asked,code,districts",
    [
        ("Kent", "E10000016", 12),  # county council of twelve districts
        ("essex", "E10000012", 12),
        ("Cambridgeshire", "E10000003", 5),
        ("E06000066", "E06000066", 1),  # Somerset, unitary since 2023
        ("Somerset", "E06000066", 1),
        ("Thurrock", "E06000034", 1),
        ("Wigan", "E08000010", 1),  # metropolitan
        ("Sheffield", "E08000039", 1),  # recoded in 2024 (was E08000019)
        ("Wrexham", "W06000006", 1),  # Welsh
        ("S12000036", "S12000036", 1),  # Scottish (by code)
    ],
)
def test_councils_resolve_by_code_or_name(asked, code, districts):
    c = resolve_council(asked)
    assert c.code == code and len(c.districts) == districts
    letters = postcode_letters()
    assert all(d in letters for d, _ in c.districts)
    assert set(c.letters) == {ch for d, _ in c.districts for ch in letters[d]}


def test_northern_ireland_and_unknown_names_are_refused_clearly():
    with pytest.raises(InputError, match="Irish Grid"):
        resolve_council("N09000003")
    with pytest.raises(InputError, match="did you mean Kent"):
        resolve_council("Kentt")
    assert council_name("E06000035") == "Medway"


@pytest.mark.parametrize("asked", ["Wigan", "Wrexham"])
def test_a_council_geography_rebuilds_to_the_same_areas(asked):
    council = resolve_council(asked)
    a = build_council_sectors(council)
    b = build_council_sectors(council)
    assert a["area_code"].tolist() == b["area_code"].tolist()
    assert all(x.equals_exact(y, 0) for x, y in zip(a.geometry, b.geometry))
    # every postcode of the council lies in one of its sectors (or a metre from one)
    pcs = default_directory().postcodes_in_districts(council.district_names, council.letters)
    assert a["postcodes"].sum() == len(pcs)
    cached = load_builtin_areas(council)
    assert len(cached) == len(a) and builtin_path(council).exists()
    note = json.loads(builtin_path(council).with_suffix(".json").read_text())
    assert note["council"] == council.code and note["sectors"] == len(a)
    assert set(a["district_name"]) == set(council.district_names.values())


def test_kent_is_still_the_default_and_unchanged(builtin_areas):
    rebuilt = build_council_sectors(resolve_council(None))
    assert rebuilt["area_code"].tolist() == builtin_areas["area_code"].tolist()
    assert set(rebuilt["district_name"]) == set(builtin_areas["district_name"])


def test_make_demo_for_somerset_is_somersets_size_at_somerset_postcodes(tmp_path, capsys):
    from gapmap.cli.commands import main
    from gapmap.io.registers import read_people, read_providers

    assert main(["make-demo", "--council", "Somerset", "--out", str(tmp_path)]) == 0
    providers = read_providers(tmp_path / "providers.csv")
    people = read_people(tmp_path / "people.csv")
    assert len(providers) == 1170 and len(people) == 5903  # Somerset's published figures
    somerset = default_directory().lookup(list(providers["postcode"]))
    assert (somerset["district_code"] == "E06000066").all()
    assert providers["name"].str.endswith("(Somerset)").all()


def test_suggestions_outside_the_council_name_both_councils(tmp_path):
    from gapmap.demo import write_demo_registers
    from gapmap.matching.person import request_from_fields
    from gapmap.study import Study, StudyInputs

    council = resolve_council("Wrexham")
    prov, _ = write_demo_registers(tmp_path, providers=30, people=10, council=council)
    study = Study.read(StudyInputs(providers=prov, council="Wrexham"))
    with pytest.raises(InputError) as err:
        request_from_fields(
            study, postcode="CT1 2AA", hours=3, days="Mon", services="social",
            self_directing=True, regulated_care=False,
        )  # fmt: skip
    assert "CT1 2AA is in Canterbury, outside the area this register serves (Wrexham)" in str(
        err.value
    )


def test_rural_fallback_counts_the_councils_postcodes(tmp_path):
    from gapmap.gaps import postcode_density_rural

    council = resolve_council("Wigan")
    areas = load_builtin_areas(council).drop(columns="postcodes")
    flags = postcode_density_rural(areas, 20.0, council)
    with_counts = postcode_density_rural(load_builtin_areas(council), 20.0, council)
    # counting the council's postcodes by location (PO boxes left out) mostly agrees with the
    # built-in counts; with Kent's postcodes every Wigan area would have none and be "rural"
    assert (flags == with_counts).mean() > 0.8
    assert flags.mean() < 0.5 and np.isfinite(flags.astype(float)).all()


@pytest.mark.slow
def test_demo_runs_for_another_council(tmp_path, capsys):
    from gapmap.cli.commands import main

    out = tmp_path / "wrexham"
    rc = main(["demo", "--council", "Wrexham", "--out", str(out), "--time-limit", "3",
               "--recruit-time-limit", "3"])  # fmt: skip
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert "Wrexham" in printed and (out / "report.pdf").exists()
    assert (out / "gap_map.html").read_text(encoding="utf-8").count("Wrexham") > 2
