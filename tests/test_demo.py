import numpy as np
import pytest

from gapmap.demo import SCALES, make_demo_registers
from gapmap.io.registers import read_people, read_providers
from gapmap.vocab import WEEKEND_MASK


def test_demo_is_calibrated_to_published_figures(demo_registers):
    providers, people = demo_registers
    # Somerset: 31,122 h / 1,170 providers = 26.6 h; 31,122 h / 5,903 people = 5.27 h
    assert 24 <= providers["capacity_hours"].mean() <= 30
    assert 4.8 <= people["hours"].mean() <= 5.8
    weekday_only = ((providers["day_mask"] & WEEKEND_MASK) == 0).mean()
    assert 0.5 < weekday_only < 0.8
    assert 0.03 < people["regulated_care"].mean() < 0.15
    assert 0.03 < (~people["self_directing"]).mean() < 0.15
    # most support needed is non-regulated
    assert people["services"].str.contains("personal_care").mean() < 0.3
    assert (providers["committed_hours"] <= providers["capacity_hours"]).all()
    # every CQC-registered provider offers personal care
    cqc = providers[providers["cqc_registered"]]
    assert cqc["services"].str.contains("personal_care").all()


def test_same_seed_same_registers():
    a = make_demo_registers(20, 50, seed=7)
    b = make_demo_registers(20, 50, seed=7)
    c = make_demo_registers(20, 50, seed=8)
    assert a[0].equals(b[0]) and a[1].equals(b[1])
    assert not a[1].equals(c[1])


def test_committed_demo_files_match_the_generator(demo_registers, tmp_path):
    from gapmap.demo import write_demo_registers

    p, q = write_demo_registers(tmp_path)
    providers, people = demo_registers
    assert read_providers(p).drop(columns="row").equals(providers.drop(columns="row"))
    assert read_people(q).drop(columns="row").equals(people.drop(columns="row"))


@pytest.mark.parametrize("scale", ["kent-y1", "somerset"])
def test_scales(scale, tmp_path):
    size = SCALES[scale]
    prov, people = make_demo_registers(size.providers, size.people)
    assert len(prov) == size.providers and len(people) == size.people
    assert prov["provider_id"].is_unique and people["person_id"].is_unique
    # Somerset's ~31,000 hours a week from ~1,170 providers: about 27 hours each (its review)
    somerset_hours_per_provider = 31_000 / 1_170
    assert np.isclose(prov["capacity_hours"].mean(), somerset_hours_per_provider, atol=3)
