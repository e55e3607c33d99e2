import geopandas as gpd
import numpy as np
import pytest
import shapely

from gapmap.errors import InputError
from gapmap.io.areas import place_points, read_areas

from .conftest import LSOA_2011, LSOA_2021, WARDS_2013, WARDS_2022, WARDS_2024, shared_file


@pytest.mark.parametrize(
    "name, count, code_prefix, first_district",
    [
        (WARDS_2013, 283, "E05", "E07"),
        (WARDS_2022, 271, "E05", "E07"),
        (WARDS_2024, 255, "E05", "E07"),
        (LSOA_2011, 902, "E01", "E07"),
        (LSOA_2021, 938, "E01", "E07"),
    ],
)
def test_reads_every_real_kent_boundary_file(name, count, code_prefix, first_district):
    areas = read_areas(shared_file(name))
    assert len(areas) == count
    assert areas.crs.to_epsg() == 27700
    assert areas["area_code"].str.startswith(code_prefix).all()
    assert areas["area_code"].is_unique
    assert areas["district_code"].str.startswith(first_district).all()
    assert (areas["area_name"] != "").all() and (areas["district_name"] != "").all()
    assert areas.is_valid.all()
    assert set(areas["district_code"]) == {f"E07000{i}" for i in range(105, 117)}
    # Kent is about 3,500-3,700 km² of land
    assert 3300 < areas.area.sum() / 1e6 < 3900


def test_lsoa_2011_invalid_geometries_are_repaired_and_said():
    areas = read_areas(shared_file(LSOA_2011))
    assert any("repaired 2 invalid" in n for n in areas.attrs["notes"])


@pytest.mark.parametrize("name", [WARDS_2013, WARDS_2022])
def test_every_kent_postcode_lands_in_a_kent_ward(name, kent_postcodes):
    areas = read_areas(shared_file(name))
    placed = place_points(areas, kent_postcodes["x"], kent_postcodes["y"], snap_m=2000)
    assert placed.placed.all()
    # snapping is for generalised coastlines: rare and short
    assert (placed.snapped_m > 0).mean() < 0.01
    assert np.nanmax(placed.snapped_m) < 2000


def test_points_beyond_snap_distance_are_left_unplaced():
    areas = read_areas(shared_file(WARDS_2022))
    # Margate's coast, then 1 km and 5 km out to sea (north)
    minx, miny, maxx, maxy = areas.total_bounds
    x = np.array([633_000.0, 633_000.0])
    y = np.array([maxy + 1_000, maxy + 5_000])
    placed = place_points(areas, x, y, snap_m=2000)
    assert placed.area_code[1] == ""
    assert np.isnan(placed.snapped_m[1])


def _layer(tmp_path, gdf, name="a.gpkg"):
    path = tmp_path / name
    gdf.to_file(path)
    return path


def test_no_crs_is_refused(tmp_path):
    gdf = gpd.GeoDataFrame({"code": ["A"]}, geometry=[shapely.box(0, 0, 1, 1)])
    path = tmp_path / "nocrs.shp"
    gdf.to_file(path)
    with pytest.raises(InputError, match="no coordinate reference system"):
        read_areas(path, code_column="code")


def test_duplicate_codes_are_listed(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"WD22CD": ["E05000001", "E05000001"], "WD22NM": ["a", "b"]},
        geometry=[
            shapely.box(600000, 150000, 601000, 151000),
            shapely.box(601000, 150000, 602000, 151000),
        ],
        crs=27700,
    )
    with pytest.raises(InputError) as exc:
        read_areas(_layer(tmp_path, gdf))
    assert len(exc.value.problems) == 2
    assert all(p.column == "WD22CD" for p in exc.value.problems)


def test_points_are_not_areas(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"WD22CD": ["E05000001"]}, geometry=[shapely.Point(600000, 150000)], crs=27700
    )
    with pytest.raises(InputError, match="no polygons"):
        read_areas(_layer(tmp_path, gdf))


def test_bng_declared_as_wgs84_is_caught(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"WD22CD": ["E05000001"]}, geometry=[shapely.box(600000, 150000, 601000, 151000)], crs=4326
    )
    with pytest.raises(InputError, match="declared CRS"):
        read_areas(_layer(tmp_path, gdf))


def test_other_files_name_their_columns(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"zone": ["Z1"], "label": ["Zone one"], "rurality": ["RSN1"]},
        geometry=[shapely.box(600000, 150000, 601000, 151000)],
        crs=27700,
    )
    path = _layer(tmp_path, gdf)
    with pytest.raises(InputError, match="cannot tell which column"):
        read_areas(path)
    areas = read_areas(path, code_column="zone", name_column="label", rural_column="rurality")
    assert areas.loc[0, "area_code"] == "Z1" and areas.loc[0, "area_name"] == "Zone one"
    assert bool(areas.loc[0, "rural"]) is True
    with pytest.raises(InputError, match="'nope' is not in the file"):
        read_areas(path, code_column="nope")


def test_invalid_bowtie_is_repaired(tmp_path):
    bowtie = shapely.Polygon(
        [(600000, 150000), (601000, 151000), (601000, 150000), (600000, 151000)]
    )
    gdf = gpd.GeoDataFrame({"WD22CD": ["E05000001"]}, geometry=[bowtie], crs=27700)
    areas = read_areas(_layer(tmp_path, gdf))
    assert areas.is_valid.all() and areas.area.iloc[0] > 0
    assert areas.attrs["notes"]
