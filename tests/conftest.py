"""Shared fixtures: the real Kent files in ../shared/data (skipped cleanly when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

WARDS_2013 = "kent_wards_2013.geojson"
WARDS_2022 = "kent_wards_2022.geojson"
WARDS_2024 = "kent_wards_2024_approx_from_lsoa21.geojson"
LSOA_2011 = "kent_lsoa_2011.geojson"
LSOA_2021 = "kent_lsoa_2021.geojson"
NSPL = "kent_postcodes_latlon_nspl_may2025.csv"


def shared_file(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(
            f"real Kent data not available: {path} is absent (see ../shared/data/SOURCES.md)"
        )
    return path


@pytest.fixture(scope="session")
def kent_postcodes():
    """Every Kent postcode in the postcode package (postcode, x, y, district_code)."""
    from gapmap._kent import KENT_DISTRICTS
    from gapmap.postcodes import default_directory

    return default_directory().postcodes_in_districts(KENT_DISTRICTS, "BCDMT")


@pytest.fixture(scope="session")
def builtin_areas():
    from gapmap.builtin import load_builtin_areas

    return load_builtin_areas()


@pytest.fixture(scope="session")
def demo_registers():
    from gapmap.demo import demo_paths
    from gapmap.registers import read_people, read_providers

    prov, people = demo_paths()
    return read_providers(prov), read_people(people)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding=encoding)
    return p
