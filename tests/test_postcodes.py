import numpy as np
import pandas as pd
import pytest

from gapmap.errors import InputError
from gapmap.postcodes import PostcodeDirectory, default_directory, normalise_postcode

from .conftest import NSPL, shared_file


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("ct11aa", "CT1 1AA"),
        (" CT1  1AA ", "CT1 1AA"),
        ("tn23 1pl", "TN23 1PL"),
        ("ME14 1XX", "ME14 1XX"),
        ("EC1A1BB", "EC1A 1BB"),
        ("W1A 0AX", "W1A 0AX"),
    ],
)
def test_normalise_postcode(raw, expected):
    assert normalise_postcode(raw) == expected


@pytest.mark.parametrize("raw", ["", "CT1", "12345", "CT1 1A", "C11 1AA1", "not a postcode", None])
def test_malformed_postcodes_are_none(raw):
    assert normalise_postcode(raw) is None


def test_package_geocodes_kent_postcodes_in_kent(kent_postcodes):
    sample = kent_postcodes.sample(200, random_state=1)
    found = default_directory().lookup(sample["postcode"].tolist())
    assert np.allclose(found["x"].to_numpy(), sample["x"].to_numpy())
    # Kent lies between about 540-641 km east and 125-185 km north of the grid origin
    assert found["x"].between(530_000, 650_000).all()
    assert found["y"].between(120_000, 190_000).all()


def test_unknown_postcode_is_nan():
    found = default_directory().lookup(["ZZ9 9ZZ"])
    assert found["x"].isna().all()


def test_lookup_reads_only_needed_letters():
    d = PostcodeDirectory()
    d.lookup(["CT1 1AA"])
    assert d._loaded_letters == {"C"}


def test_user_nspl_file_agrees_with_package(kent_postcodes):
    nspl = PostcodeDirectory(shared_file(NSPL))
    raw = pd.read_csv(shared_file(NSPL), usecols=["Postcode"], nrows=5000)
    pcs = [normalise_postcode(p) for p in raw["Postcode"].sample(300, random_state=2)]
    theirs = nspl.lookup(pcs)
    ours = default_directory().lookup(pcs)
    both = theirs["x"].notna() & ours["x"].notna()
    assert both.mean() > 0.95
    # lat/long in NSPL are rounded to 5 decimals (about 1 m); both are ONS centroids
    d = np.hypot(theirs["x"][both] - ours["x"][both], theirs["y"][both] - ours["y"][both])
    assert float(np.median(d)) < 5.0


def test_user_postcode_file_needs_columns(tmp_path):
    p = tmp_path / "pc.csv"
    p.write_text("code,east,north\nCT1 1AA,1,2\n")
    with pytest.raises(InputError, match="no postcode column"):
        PostcodeDirectory(p).lookup(["CT1 1AA"])


def test_user_onspd_style_file_with_eastings(tmp_path):
    p = tmp_path / "onspd.csv"
    p.write_text("pcd,oseast1m,osnrth1m,laua\nCT1 1AA,615000,157000,E07000106\n")
    found = PostcodeDirectory(p).lookup(["CT1 1AA", "CT1 1AB"])
    assert found["x"].tolist()[0] == 615000
    assert np.isnan(found["x"].tolist()[1])
