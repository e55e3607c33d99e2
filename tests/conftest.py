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

    from gapmap.cli import main

    out = tmp_path_factory.mktemp("demo") / "out"
    so, se = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(so), contextlib.redirect_stderr(se):
        rc = main(
            ["demo", "--out", str(out), "--time-limit", "3", "--recruit-time-limit", "3",
             "--internal"]
        )  # fmt: skip
    return rc, so.getvalue(), se.getvalue(), out


def box_study(people, providers, **settings):
    """A study of frames made in a test: one square area around every point, the given
    settings (field names of :class:`gapmap.Settings`)."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely

    from gapmap.settings import Settings
    from gapmap.study import Study

    xy = np.vstack([people[["x", "y"]].to_numpy(float), providers[["x", "y"]].to_numpy(float)])
    lo, hi = xy.min(axis=0) - 1000, xy.max(axis=0) + 1000
    areas = gpd.GeoDataFrame(
        {"area_code": ["BOX"], "area_name": ["Box"], "district_code": ["D"],
         "district_name": ["District"]},
        geometry=[shapely.box(lo[0], lo[1], hi[0], hi[1])],
        crs=27700,
    )  # fmt: skip
    people, providers = people.copy(), providers.copy()
    for reg in (people, providers):
        if "row" not in reg:
            reg["row"] = np.arange(2, len(reg) + 2)
    from gapmap.registers import PERSON_DEFAULTS

    for col in ("priority", "needs_cover", "self_directing", "regulated_care"):
        if col not in people:
            people[col] = getattr(PERSON_DEFAULTS, col)
    if "person_id" not in people:
        people["person_id"] = [f"P{i}" for i in range(len(people))]
    return Study.from_frames(areas, providers, pd.DataFrame(people), settings=Settings(**settings))


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding=encoding)
    return p
