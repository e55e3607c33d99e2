"""Population tables are read with sense: no ``inf`` need, no negative or absurd counts.

A census cell ``inf`` used to give "inf h a week; nan% in reach" with exit 0; 1e15 people,
carers above the population and negative counts were taken; duplicate IMD codes with different
deciles, duplicate rate groups and unknown RUC codes were silently used; a duplicated RUC code
ended in exit 1. Each is now a problem naming file, row and column (exit 2 on the command line).
"""

from __future__ import annotations

import pytest

from gapmap.cli.commands import main
from gapmap.deprivation import read_imd
from gapmap.errors import InputError
from gapmap.io.areas import read_rural_classification
from gapmap.io.census import (
    read_adult_rates,
    read_carers,
    read_census_ages,
    read_disability,
    read_rates,
)
from gapmap.need import adult_components

from .helpers import GOOD_PEOPLE as Q
from .helpers import GOOD_PROVIDERS as P
from .helpers import csv_text as _csv
from .helpers import write_file as _write

AGES = (
    "geography code,Age: Total,Age: Aged 4 years and under,Age: Aged 5 to 14 years,"
    "Age: Aged 15 to 64 years,Age: Aged 65 years and over\n"
)
CARERS = (
    "geography code,Provision of unpaid care: Total: All usual residents aged 5 and over,"
    "Provision of unpaid care: Provides 20 to 49 hours unpaid care a week,"
    "Provision of unpaid care: Provides 50 or more hours unpaid care a week\n"
)


def _problem(exc: pytest.ExceptionInfo) -> tuple:
    p = exc.value.problems[0]
    return p.row, p.column, p.message


@pytest.mark.parametrize(
    "cell,words",
    [("inf", "count of people"), ("1e15", "not plausible")],
)  # fmt: skip
def test_a_census_count_must_be_a_plausible_count(tmp_path, cell, words):
    path = _write(tmp_path / "ages.csv", AGES + "E01000001,1500,80,150,900,370\n"
                  f"E01000002,1500,80,150,900,{cell}\n")  # fmt: skip
    with pytest.raises(InputError) as e:
        read_census_ages(path)
    row, column, message = _problem(e)
    assert (row, column) == (3, "age: aged 65 years and over") and words in message


def test_an_age_band_above_the_total_is_refused(tmp_path):
    path = _write(tmp_path / "ages.csv", AGES + "E01000001,1500,80,150,2900,370\n")
    with pytest.raises(InputError) as e:
        read_census_ages(path)
    row, column, message = _problem(e)
    assert (row, column) == (2, "age: aged 15 to 64 years") and "total" in message


def test_carers_above_the_population_are_refused(tmp_path):
    carers = _write(tmp_path / "carers.csv", CARERS + "E01000001,1400,60,90\n"
                    "E01000002,1400,1500,40\n")  # fmt: skip
    with pytest.raises(InputError) as e:
        read_carers(carers)
    assert _problem(e)[:2] == (
        3,
        "provision of unpaid care: provides 20 to 49 hours unpaid care a week",
    )


def test_carers_above_the_census_population_of_their_unit_are_refused(tmp_path):
    """A carers table without a total of its own, set against the age table."""
    ages = read_census_ages(_write(tmp_path / "ages.csv", AGES + "E01000001,1500,80,150,900,370\n"))
    carers = read_carers(_write(tmp_path / "carers.csv", CARERS.replace(
        "Provision of unpaid care: Total: All usual residents aged 5 and over,", "")
        + "E01000001,1400,900\n"))  # fmt: skip
    with pytest.raises(InputError) as e:
        adult_components(ages, read_adult_rates(), carers=carers)
    p = e.value.problems[0]
    assert p.file.endswith("carers.csv") and p.row == 2 and "E01000001" in p.message


def test_a_disability_count_above_its_residents_is_refused(tmp_path):
    path = _write(
        tmp_path / "dis.csv",
        "geography code,Disability: Total: All usual residents,"
        "Disability: Day-to-day activities limited a lot\nE01000001,1500,2000\n",
    )
    with pytest.raises(InputError) as e:
        read_disability(path)
    assert _problem(e)[0] == 2


def test_a_rate_table_gives_each_age_once(tmp_path):
    path = _write(tmp_path / "rates.csv", "age_band,share_needing_help,hours_per_week,source\n"
                  "65 to 69,0.1,5,ONS\n70 to 74,0.2,6,ONS\n65 to 69,0.3,7,ONS\n")  # fmt: skip
    with pytest.raises(InputError) as e:
        read_rates(path)
    assert _problem(e)[:2] == (4, "age_band")


def test_an_adult_rate_group_given_twice_is_refused(tmp_path):
    shipped = read_adult_rates()
    rows = [["group", "value", "hours_per_week", "weekend_share", "source"]] + [
        [g, str(r["value"]), str(r["hours"]), str(r["weekend"]), r["source"]]
        for g, r in shipped.iterrows()
    ]
    rows.append([rows[1][0], "0.9", *rows[1][2:]])
    with pytest.raises(InputError) as e:
        read_adult_rates(_write(tmp_path / "adult.csv", _csv(rows)))
    assert _problem(e)[:2] == (len(rows), "group")


@pytest.mark.parametrize(
    "second,words", [("E01000001,500,5", "also on row 2"), ("E01000002,inf,5", "rank"),
                     ("E01000002,500,5.5", "whole decile")],
)  # fmt: skip
def test_imd_codes_are_once_each_with_a_whole_decile(tmp_path, second, words):
    path = _write(tmp_path / "imd.csv", "LSOA21CD,Index of Multiple Deprivation (IMD) Rank,"
                  "Index of Multiple Deprivation (IMD) Decile\nE01000001,100,1\n"
                  f"{second}\n")  # fmt: skip
    with pytest.raises(InputError) as e:
        read_imd(path)
    row, _, message = _problem(e)
    assert row == 3 and words in message


@pytest.mark.parametrize(
    "rows,row,words",
    [("E05000001,C1\nE05000002,UN7\n", 3, "Rural-Urban"),
     ("E05000001,C1\nE05000002,RSN9\n", 3, "Rural-Urban"),
     ("E05000001,C1\nE05000001,D1\n", 3, "also on row 2")],
)  # fmt: skip
def test_rural_urban_codes_are_known_and_once_each(tmp_path, rows, row, words):
    path = _write(tmp_path / "ruc.csv", "WD11CD,RUC11CD\n" + rows)
    with pytest.raises(InputError) as e:
        read_rural_classification(path)
    got, column, message = _problem(e)
    assert got == row and words in message


def test_only_the_published_ruc_codes_are_read(tmp_path):
    codes = "A1 B1 C1 C2 D1 D2 E1 E2 F1 F2 UN1 UF1 RLN1 RLF1 RSN1 RSF1".split()
    rows = "".join(f"E050000{i:02d},{c}\n" for i, c in enumerate(codes))
    rural = read_rural_classification(_write(tmp_path / "ruc.csv", "WD11CD,RUC11CD\n" + rows))
    assert rural.tolist() == [False] * 4 + [True] * 6 + [False, False, True, True, True, True]
    for unknown in ("A2", "G1", "UN2", "RLX1"):
        with pytest.raises(InputError):
            read_rural_classification(
                _write(tmp_path / "bad.csv", "WD11CD,RUC11CD\n" + rows + f"E05999999,{unknown}\n")
            )


def test_an_inf_census_cell_ends_in_exit_2_before_any_work(tmp_path, capsys):
    prov = _write(tmp_path / "providers.csv", _csv(P))
    people = _write(tmp_path / "people.csv", _csv(Q))
    census = _write(tmp_path / "ages.csv", AGES + "E01024000,1500,80,150,900,inf\n")
    out = tmp_path / "out"
    rc = main(["gaps", "--providers", str(prov), "--people", str(people), "--out", str(out),
               "--census", str(census)])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "ages.csv, row 2, column 'age: aged 65 years and over'" in err, err
    assert not out.exists()
