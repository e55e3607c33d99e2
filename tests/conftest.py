"""Shared fixtures: the real Kent files in ../shared/data (skipped cleanly when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import box_study  # noqa: F401  (tests of other branches import it from here)

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
    from gapmap.io.builtin import load_builtin_areas

    return load_builtin_areas()


@pytest.fixture(scope="session")
def demo_registers():
    from gapmap.demo import demo_paths
    from gapmap.io.registers import read_people, read_providers

    prov, people = demo_paths()
    return read_providers(prov), read_people(people)


@pytest.fixture(scope="session")
def builtin_study(builtin_areas, demo_registers):
    """The demo providers on the built-in areas, no people (what suggestions need)."""
    from gapmap.study import Study

    return Study.from_frames(builtin_areas, demo_registers[0])


@pytest.fixture(scope="session")
def demo_study(builtin_areas, demo_registers):
    """The demo registers on the built-in areas, default settings."""
    from gapmap.study import Study

    return Study.from_frames(builtin_areas, *demo_registers)


@pytest.fixture(scope="session")
def demo_gap(demo_study):
    """The gap analysis of the demo study."""
    from gapmap.gaps import gap_analysis

    return gap_analysis(demo_study)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """One run of ``gapmap demo --internal`` shared by every test that reads its outputs:
    ``(exit code, stdout, stderr, output folder)``."""
    import contextlib
    import io

    from gapmap.cli.commands import main

    out = tmp_path_factory.mktemp("demo") / "out"
    so, se = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(so), contextlib.redirect_stderr(se):
        rc = main(
            ["demo", "--out", str(out), "--time-limit", "3", "--recruit-time-limit", "3",
             "--internal"]
        )  # fmt: skip
    return rc, so.getvalue(), se.getvalue(), out


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding=encoding)
    return p
