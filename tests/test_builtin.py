import geopandas as gpd
import numpy as np
import pytest

from gapmap.io.areas import place_points
from gapmap.io.builtin import build_kent_sectors, builtin_path


def test_builtin_geography_is_kent_postcode_sectors(builtin_areas, kent_postcodes):
    areas = builtin_areas
    assert areas.crs.to_epsg() == 27700
    assert areas["area_code"].is_unique
    assert len(areas) > 200
    assert set(areas["district_code"]) == {f"E07000{i}" for i in range(105, 117)}
    assert areas.is_valid.all() and not areas.is_empty.any()
    assert int(areas["postcodes"].sum()) == len(kent_postcodes)
    # Kent is about 3,540 km² of land; the sectors reach up to 1 km beyond the last postcodes
    assert 3300 < areas.area.sum() / 1e6 < 4200
    # polygons do not overlap: the sum of areas equals the area of the union
    union = areas.union_all()
    assert union.area == pytest.approx(areas.area.sum(), rel=1e-4)


def test_every_kent_postcode_falls_in_the_builtin_geography(builtin_areas, kent_postcodes):
    placed = place_points(builtin_areas, kent_postcodes["x"], kent_postcodes["y"], snap_m=0)
    assert placed.placed.all()
    own_sector = kent_postcodes["postcode"].str[:-2]
    # About 16% of postcodes share their centroid with postcodes of other sectors (PO boxes
    # and large users stacked at delivery offices); such a point takes one sector. Every other
    # postcode must fall in its own sector, but for edges moved by the 15 m simplification.
    shared = kent_postcodes.assign(s=own_sector).groupby(["x", "y"])["s"].transform("nunique") > 1
    single = ~shared.to_numpy()
    assert (placed.area_code[single] == own_sector.to_numpy()[single]).mean() > 0.998


@pytest.mark.slow
def test_rebuild_gives_the_same_areas(builtin_areas):
    rebuilt = build_kent_sectors()
    cached = gpd.read_file(builtin_path())
    assert rebuilt["area_code"].tolist() == cached["area_code"].tolist()
    assert rebuilt["district_code"].tolist() == cached["district_code"].tolist()
    assert rebuilt["postcodes"].tolist() == cached["postcodes"].astype(int).tolist()
    # the cache stores coordinates to the metre
    sym = rebuilt.geometry.values.symmetric_difference(
        cached.set_crs(27700, allow_override=True).geometry.values
    )
    assert np.max(sym.area / rebuilt.area.to_numpy()) < 0.001
