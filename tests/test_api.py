"""The notebook-first API: the demo study, one call for one suggestion, one matching object and
maps for a notebook (``.explore()``), on the demo study itself."""

from __future__ import annotations

import dataclasses

import folium
import numpy as np
import pandas as pd
import pytest

import gapmap
from gapmap.datasets import demo_study
from gapmap.matching.check import check_matching
from gapmap.matching.person import request_from_fields
from gapmap.matching.suggest import Suggester

from .helpers import DEMO


# --- the demo study --------------------------------------------------------------------------
def test_the_demo_study_is_the_demo_s_registers_read_once():
    study = demo_study()
    assert study is demo_study()  # read once per process
    stored = pd.read_csv(DEMO / "providers.csv")
    assert study.providers["provider_id"].tolist() == stored["provider_id"].tolist()
    assert len(study.people) == len(pd.read_csv(DEMO / "people.csv")) == 2500
    assert (study.people["area_code"] != "").all() and study.council.name == "Kent"
    other = demo_study(circuity=1.3)
    assert other is not study and other.settings.circuity == 1.3
    assert study.settings.circuity == 1.0  # the cached study is left as it was
    with pytest.raises(gapmap.InputError, match="circuity"):
        demo_study(circuity=0.5)


def test_the_demo_registers_are_built_from_the_installed_package_alone(tmp_path, monkeypatch):
    """An installed wheel has no data/ folder: the registers are built where the user's data
    goes, from the postcode directory installed with gapmap, and are the stored ones."""
    from gapmap.demo import demo_paths

    monkeypatch.setenv("GAPMAP_DATA", str(tmp_path))
    gapmap.datasets._demo_study.cache_clear()
    try:
        study = demo_study()
        p, q = demo_paths()
        assert p.parent == tmp_path / "demo" and p.exists() and q.exists()
        for built, stored in ((p, DEMO / "providers.csv"), (q, DEMO / "people.csv")):
            assert built.read_bytes() == stored.read_bytes()
        assert len(study.providers) == 416 and study.sources["providers"] == str(p)
    finally:
        gapmap.datasets._demo_study.cache_clear()


# --- gapmap.suggest ----------------------------------------------------------------------------
FIELDS = dict(postcode="CT1 2AA", hours=6, days="Mon;Wed;Sat", services="domestic;social")


def test_one_call_gives_what_the_two_steps_give():
    study = demo_study()
    answer = gapmap.suggest(study, **FIELDS, self_directing=True, regulated_care=False, top=3)
    person, _ = request_from_fields(study, **FIELDS, self_directing=True, regulated_care=False)
    by_hand = Suggester(study).suggest(person, top=3)
    assert answer.status == "ok" and len(answer.suggestions) == 3
    assert answer.as_dict() == by_hand.as_dict()
    assert all("CQC" in s.safety for s in answer.suggestions)  # the safety words come along


@pytest.mark.parametrize(
    "self_directing, regulated_care",
    [(None, False), (True, None), ("no", False), ("yes", False), (1, False), (True, "False")],
)
def test_the_safety_questions_are_never_guessed(self_directing, regulated_care):
    with pytest.raises(gapmap.InputError) as err:
        gapmap.suggest(
            demo_study(), **FIELDS, self_directing=self_directing, regulated_care=regulated_care
        )
    columns = {p.column for p in err.value.problems}
    bad = {"self_directing"} if self_directing is not True else {"regulated_care"}
    assert columns == bad


def test_the_safety_questions_have_no_default():
    with pytest.raises(TypeError, match="self_directing.*regulated_care"):
        gapmap.suggest(demo_study(), **FIELDS)  # type: ignore[call-arg]


def test_a_person_who_cannot_direct_their_care_gets_no_provider():
    answer = gapmap.suggest(demo_study(), **FIELDS, self_directing=False, regulated_care=False)
    assert answer.status == "not_self_directing" and answer.suggestions == []
    assert "direct their own care" in answer.advice


def test_regulated_care_gets_only_registered_providers():
    study = demo_study()
    answer = gapmap.suggest(
        study, postcode="CT1 2AA", hours=3, days="Mon", services="personal_care",
        self_directing=True, regulated_care=True,
    )  # fmt: skip
    registered = dict(zip(study.providers["provider_id"], study.providers["cqc_registered"]))
    assert answer.status in ("ok", "none", "regulated_care_unavailable")
    assert all(registered[s.provider_id] for s in answer.suggestions)


def test_a_wrong_field_is_named():
    with pytest.raises(gapmap.GapmapError) as err:
        gapmap.suggest(demo_study(), postcode="ZZ99 9ZZ", hours="lots", days="Mon",
                       services="social", self_directing=True, regulated_care=False)  # fmt: skip
    assert [p.column for p in err.value.problems] == ["postcode", "hours"]


# --- match returns one object ------------------------------------------------------------------
@pytest.fixture(scope="module")
def matching() -> gapmap.Matching:
    return gapmap.match(demo_study(match_time_limit_s=4))


def test_the_matching_object_holds_the_table_and_the_figures(matching):
    study = matching.study
    assert isinstance(matching, gapmap.Matching) and matching.study.settings.match_time_limit_s == 4
    for result in (matching.best, matching.greedy):  # an independent check of both
        assert check_matching(study.people, study.providers, result,
                              absence_rate=study.settings.absence_rate) == []  # fmt: skip
    t = matching.table
    assert t["person_id"].tolist() == study.people["person_id"].tolist()
    matched = t[t["status"] == "matched"]
    assert len(matched) == matching.matched > 500
    weight = dict(zip(study.people["person_id"], study.people["priority"]))
    assert (matched["hours"] * matched["person_id"].map(weight)).sum() == pytest.approx(
        matching.objective
    )
    assert matching.objective >= matching.greedy.objective
    assert matching.bound is not None and matching.objective <= matching.bound + 1e-6
    assert matching.share == pytest.approx(matching.objective / matching.bound)
    assert matching.status in ("OPTIMAL", "FEASIBLE")
    km = matched[["distance_km", "partner_distance_km", "cover_distance_km"]].sum().sum()
    assert matching.journeys["km_total"] == pytest.approx(km, abs=0.01 * len(matched))
    figures = matching.figures()
    assert figures["matched"] == matching.matched and figures["people"] == 2500
    assert sum(figures["unmatched_by_reason"].values()) == 2500 - matching.matched
    assert figures["matched_hours"] == pytest.approx(matched["hours"].sum())


# --- maps for a notebook -----------------------------------------------------------------------
def _points(obj) -> set[tuple[float, float]]:
    """Every (lat, lon) a map page's data holds."""
    out: set[tuple[float, float]] = set()
    if isinstance(obj, dict):
        if "lat" in obj and "lon" in obj:
            out.add((round(float(obj["lat"]), 5), round(float(obj["lon"]), 5)))
        for v in obj.values():
            out |= _points(v)
    elif isinstance(obj, list):
        for v in obj:
            out |= _points(v)
    return out


def _no_person_on(m: folium.Map, study, tmp_path) -> dict:
    """The map's data, checked: no person's id, and no person's place unless a provider is
    drawn there too (at its postcode's centre, which a person's postcode may share)."""
    from gapmap.publish.geo import to_latlon
    from gapmap.publish.maps import save_map

    from .helpers import map_data

    path = tmp_path / "map.html"
    save_map(m, path)
    html = path.read_text(encoding="utf-8")
    assert not any(pid in html for pid in study.people["person_id"])

    def places(reg: pd.DataFrame) -> set[tuple[float, float]]:
        lat, lon = to_latlon(reg["x"].to_numpy(float), reg["y"].to_numpy(float))
        return {(round(float(a), 5), round(float(b), 5)) for a, b in zip(lat, lon)}

    people = places(study.people) - places(study.providers)
    data = map_data(path)
    assert len(_points(data)) > 100 and not (_points(data) & people)
    return data


def test_the_gap_map_for_a_notebook_is_the_published_map(tmp_path):
    study = demo_study()
    result = gapmap.gap_analysis(study)
    m = result.explore(title="Kent gaps")
    assert isinstance(m, folium.Map) and "Kent gaps" in m.get_root().render()
    data = _no_person_on(m, study, tmp_path)
    published = gapmap.publish_gaps(result.table, study.settings.suppression)
    few = (published["people"] == "*").to_numpy()
    assert few.any()
    tips = [f["properties"]["tip"] for f in data["areas"]["features"]]
    rule = study.settings.suppression
    assert all(f"withheld ({rule.few} people)" in t for t, hidden in zip(tips, few) if hidden)
    assert len(data["providers"]) == len(study.providers)


def test_the_notebook_gap_map_is_gap_map_html_apart_from_folium_ids(tmp_path):
    import re

    from gapmap.publish.maps import save_map
    from gapmap.publish.outputs import write_gap_map

    result = gapmap.gap_analysis(demo_study())
    save_map(result.explore(title="Kent gaps"), tmp_path / "explore.html")
    written = write_gap_map(result, tmp_path, title="Kent gaps")

    def masked(path) -> str:  # folium names each element with a random hex id
        return re.sub(r"_[0-9a-f]{32}", "_ID", path.read_text(encoding="utf-8"))

    page = masked(written)
    assert "Kent gaps" in page and len(page) > 100_000
    assert masked(tmp_path / "explore.html") == page


def test_the_matching_map_shows_only_published_figures_by_area(matching, tmp_path):
    from gapmap.publish.explore import matching_by_area

    study = matching.study
    rule = study.settings.suppression
    by_area = matching_by_area(matching)
    people = study.people.groupby("area_code").size().reindex(by_area["area_code"]).fillna(0)
    hidden = rule.hides(people.to_numpy())
    assert hidden.any() and (by_area["people"].to_numpy()[hidden] == "*").all()
    assert np.isnan(by_area["unmatched_hours"].to_numpy(float)[hidden]).all()
    shown = by_area.loc[~hidden, "unmatched_hours"].to_numpy(float)
    assert (shown % rule.base == 0).all()  # rounded
    exact = matching.figures()["people"] - matching.matched
    assert by_area["unmatched_hours"].sum() <= study.people["hours"].sum() and exact > 0
    m = matching.explore()
    assert isinstance(m, folium.Map) and "left unmatched" in m.get_root().render()
    _no_person_on(m, study, tmp_path)


def test_the_api_names_are_exported():
    for name in ("suggest", "datasets", "Matching", "match", "GapmapError"):
        assert name in gapmap.__all__ and hasattr(gapmap, name)
    assert dataclasses.is_dataclass(gapmap.Matching)
