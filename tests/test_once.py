"""Work done once (issue 35, item 1): a run publishes its gap tables once for every writer, a
study works out its rural areas once and places each register once, and a study is read from
one :class:`~gapmap.inputs.StudyInputs`.

Calls are counted with a wrapper around the real function (the work still runs), put in
place of every reference gapmap's modules hold to it."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from .helpers import DEMO, run_cli, write_registers


def _counted(monkeypatch, module: str, name: str) -> list:
    """Count the calls of ``module.name`` from anywhere in gapmap: every module that imported
    it by name calls the counting wrapper; the wrapper calls the function itself."""
    original = getattr(importlib.import_module(module), name)
    calls: list = []

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    for mod in list(sys.modules.values()):
        if getattr(mod, "__name__", "").startswith("gapmap") and getattr(mod, name, None) is (
            original
        ):
            monkeypatch.setattr(mod, name, counting)
    return calls


# --- one published result ---------------------------------------------------------------------
def test_a_gaps_run_with_its_report_publishes_the_area_table_once(tmp_path, capsys, monkeypatch):
    # import every writer first, so that each reference to the functions is counted
    import gapmap.cli.commands  # noqa: F401
    import gapmap.publish.report  # noqa: F401

    gaps = _counted(monkeypatch, "gapmap.publish.tables", "publish_gaps")
    districts = _counted(monkeypatch, "gapmap.publish.workbook", "district_table")
    deprivation = _counted(monkeypatch, "gapmap.publish.tables", "published_deprivation")
    prov, people = write_registers(tmp_path)
    out = tmp_path / "out"
    rc, said, err = run_cli(
        ["gaps", "--providers", prov, "--people", people, "--out", out, "--report"], capsys
    )
    assert rc == 0, err
    # gaps.csv, gaps.gpkg, gapmap.gpkg, gaps.xlsx, gap_map.html and .png, the terminal and the
    # report (PDF and Word) were all written from one published table
    for name in ("gaps.csv", "gaps.gpkg", "gapmap.gpkg", "gaps.xlsx", "gap_map.html",
                 "gap_map.png", "report.pdf", "report.docx"):  # fmt: skip
        assert (out / name).exists(), name
    assert "Unmet" in said
    assert len(gaps) == 1 and len(districts) == 1 and len(deprivation) == 1


def test_every_writer_takes_the_one_published_result_and_shows_its_figures(demo_gap, tmp_path):
    from gapmap.publish.figures import headline_figures
    from gapmap.publish.outputs import write_gap_outputs
    from gapmap.publish.published import Published, published_of
    from gapmap.publish.summaries import gaps_summary
    from gapmap.publish.tables import publish_gaps

    pub = Published.of(demo_gap)
    assert published_of(pub) is pub  # taken as it is, not published again
    # the same tables a GapResult gives when a writer publishes it itself
    pd.testing.assert_frame_equal(pub.table, published_of(demo_gap).table)
    assert pub.areas.equals(publish_gaps(demo_gap.table, pub.rule))
    assert gaps_summary(pub) == gaps_summary(demo_gap)
    head = headline_figures(pub)
    assert head.micro_unmet_hours == pub.total["micro_unmet_hours"]
    write_gap_outputs(pub, tmp_path, png=False)
    written = pd.read_csv(tmp_path / "gaps.csv", dtype={"people": str})
    assert written["people"].tolist() == pub.table["people"].astype(str).tolist()
    assert np.allclose(
        written["unmet_hours"].to_numpy(float), pub.table["unmet_hours"].to_numpy(float),
        equal_nan=True,
    )  # fmt: skip


# --- the rural flag once per study ------------------------------------------------------------
def test_rural_areas_are_worked_out_once_for_every_gap_analysis_of_a_study(demo_study, monkeypatch):
    from gapmap.gaps import gap_analysis
    from gapmap.study import Study

    calls = _counted(monkeypatch, "gapmap.rural", "rural_areas")
    study = Study.from_frames(demo_study.areas, demo_study.providers, demo_study.people)
    first = gap_analysis(study)
    again = gap_analysis(study)
    # a recruitment scenario (more providers) keeps the areas, so their rural flag
    more = study.with_providers(
        demo_study.providers.iloc[:3].assign(provider_id=["N1", "N2", "N3"])
    )
    scenario = gap_analysis(more)
    assert len(calls) == 1
    assert first.table["rural"].tolist() == again.table["rural"].tolist()
    assert first.table["rural"].tolist() == scenario.table["rural"].tolist()
    assert first.table["rural"].sum() > 0 and not first.table["rural"].all()
    # another density threshold is another answer, worked out afresh
    sparse = gap_analysis(study.with_settings(rural_postcodes_per_km2=1.0))
    assert len(calls) == 2
    assert sparse.table["rural"].sum() < first.table["rural"].sum()


# --- each register placed once ----------------------------------------------------------------
def test_study_read_places_each_register_once(monkeypatch):
    import gapmap.io.registers  # noqa: F401
    from gapmap.study import Study, StudyInputs

    calls = _counted(monkeypatch, "gapmap.io.areas", "place_points")
    study = Study.read(StudyInputs(providers=DEMO / "providers.csv", people=DEMO / "people.csv"))
    # one placement of the providers, one of the people (the outside check uses them)
    assert sorted(len(x) for _, x, _ in calls) == sorted([len(study.providers), len(study.people)])
    assert (study.people["area_code"] != "").all() and (study.providers["area_code"] != "").all()


def test_a_person_outside_every_area_is_still_refused_from_the_one_placement(tmp_path):
    from gapmap.errors import InputError
    from gapmap.study import Study, StudyInputs

    from .helpers import GOOD_PEOPLE, edit, write_file

    prov, _ = write_registers(tmp_path)
    people = write_file(tmp_path / "people.csv", edit(GOOD_PEOPLE, 3, "postcode", "BT1 1AA"))
    with pytest.raises(InputError) as err:
        Study.read(StudyInputs(providers=prov, people=people))
    text = str(err.value)
    assert "outside every area" in text and "row 3" in text and "people.csv" in text


# --- one inputs object ------------------------------------------------------------------------
def test_study_inputs_name_the_files_and_the_options_besides_the_registers(tmp_path):
    from gapmap.inputs import StudyInputs

    frame = pd.DataFrame({"x": [1.0]})
    inputs = StudyInputs(providers=frame, people="people.csv", areas=tmp_path / "wards.gpkg",
                         council="Kent", areas_layer="wards")  # fmt: skip
    assert inputs.files() == [Path("people.csv"), tmp_path / "wards.gpkg"]
    assert inputs.besides_registers() == {
        "areas": tmp_path / "wards.gpkg", "council": "Kent", "areas_layer": "wards",
    }  # fmt: skip
    assert inputs.with_(council="Somerset").council == "Somerset" and inputs.council == "Kent"
    with pytest.raises(TypeError):  # keywords only: no input taken for another by position
        StudyInputs("providers.csv")  # type: ignore[misc]


def test_study_read_still_gathers_problems_of_every_input_at_once(tmp_path):
    from gapmap.errors import InputError
    from gapmap.settings import Settings
    from gapmap.study import Study, StudyInputs

    inputs = StudyInputs(
        providers=tmp_path / "missing.csv", rural_lookup=tmp_path / "lookup.csv", imd_lookup="x"
    )
    with pytest.raises(InputError) as err:
        Study.read(inputs, settings=Settings(circuity=0.5))
    text = str(err.value)
    assert "missing.csv" in text
    assert "a rural lookup goes with a rural table" in text
    assert "an IMD lookup goes with an IMD table" in text
    assert "circuity" in text


def test_a_report_run_publishes_the_recruitment_once_for_every_writer(
    tmp_path, capsys, monkeypatch
):
    import gapmap.cli.commands  # noqa: F401
    import gapmap.publish.report  # noqa: F401
    import gapmap.publish.workbook  # noqa: F401

    gaps = _counted(monkeypatch, "gapmap.publish.tables", "publish_gaps")
    ranking = _counted(monkeypatch, "gapmap.publish.tables", "publish_ranking")
    sites = _counted(monkeypatch, "gapmap.publish.figures", "published_sites")
    scenarios = _counted(monkeypatch, "gapmap.publish.tables", "publish_scenarios")
    prov, people = write_registers(tmp_path)
    out = tmp_path / "out"
    rc, said, err = run_cli(
        ["report", "--providers", prov, "--people", people, "--out", out,
         "--new-providers", "1,2", "--recruit-time-limit", "5"],
        capsys,
    )  # fmt: skip
    assert rc == 0, err
    for name in ("recruit_areas.csv", "recruit_sites.csv", "recruit_scenarios.csv",
                 "recruit.xlsx", "recruit_map.html", "report.pdf"):  # fmt: skip
        assert (out / name).exists(), name
    assert "Recommended:" in said
    # one ranking (which publishes its own area table), one set of sites, the scenarios of
    # the recruits asked for and of those working the other days; the gap table once
    assert len(ranking) == 1 and len(sites) == 1 and len(scenarios) == 2
    assert len(gaps) == 2
    shown = pd.read_csv(out / "recruit_scenarios.csv")
    assert shown["new_providers"].tolist() == [1, 2]
