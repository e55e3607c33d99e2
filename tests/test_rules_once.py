"""Rules stated once (issue 35, item 1): where two modules used to answer the same question two
ways, they now give the same answer."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gapmap.errors import InputError

# one area, the 2 km square from (0, 0); one person 100 m inside its east edge
_AREAS = gpd.GeoDataFrame(
    {"area_code": ["E1"], "area_name": ["Box"], "district_code": ["D"],
     "district_name": ["District"]},
    geometry=[shapely.box(0, 0, 2000, 2000)],
    crs=27700,
)  # fmt: skip
_PERSON = pd.DataFrame(
    {"person_id": ["P1"], "x": [1900.0], "y": [1000.0], "hours": [5.0], "day_mask": [31],
     "service_mask": [1], "max_travel_km": [float("nan")], "postcode": ["ME1 1AA"],
     "priority": [3], "needs_cover": [False], "self_directing": [True],
     "regulated_care": [False], "row": [2]}
)  # fmt: skip


def _study_with_far_provider(km_outside: float, circuity: float):
    """A provider ``km_outside`` km (straight line) east of the only area, 10 km limit."""
    from gapmap.settings import Settings
    from gapmap.study import Study

    provider = pd.DataFrame(
        {"provider_id": ["V"], "x": [2000.0 + km_outside * 1000.0], "y": [1000.0],
         "capacity_hours": [20.0], "committed_hours": [0.0], "day_mask": [31],
         "service_mask": [1], "max_travel_km": [10.0], "cover": [False],
         "cqc_registered": [False], "postcode": ["TN1 1AA"], "row": [2]}
    )  # fmt: skip
    return Study.from_frames(
        _AREAS, provider, _PERSON, settings=Settings(circuity=circuity, snap_km=0)
    )


def test_a_provider_outside_beyond_its_limit_by_road_is_refused_as_reach_would_ignore_it():
    # 9 km outside, limit 10 km, circuity 1.3: 11.7 km by road, so it could serve no one here
    with pytest.raises(InputError) as err:
        _study_with_far_provider(9.0, circuity=1.3)
    text = str(err.value)
    assert "outside every area" in text and "11.7 km by road at circuity 1.3" in text
    assert "row 2" in text and "postcode" in text


@pytest.mark.parametrize("km_outside, circuity", [(9.0, 1.0), (7.5, 1.3)])
def test_a_provider_outside_within_its_limit_by_road_is_kept_and_reaches_the_area(
    km_outside, circuity
):
    study = _study_with_far_provider(km_outside, circuity)
    assert study.providers["area_code"].tolist() == [""]  # outside, kept
    # and reach agrees: it serves the person 100 m inside the edge
    assert len(study.reach) == 1
    assert study.reach.distance_km[0] == pytest.approx((km_outside + 0.1) * circuity)


# --- the small-number rule, said in its own settings' words -----------------------------------
@pytest.fixture(scope="module")
def ten_rule_run(builtin_areas, demo_registers, tmp_path_factory):
    """The demo's gap outputs and report under a rule of 1-10 hidden, rounding to 10."""
    from gapmap.gaps import gap_analysis
    from gapmap.publish.disclosure import Suppression
    from gapmap.publish.outputs import write_gap_outputs
    from gapmap.publish.report import write_report
    from gapmap.settings import Settings
    from gapmap.study import Study

    rule = Suppression(low=1, high=10, base=10)
    study = Study.from_frames(builtin_areas, *demo_registers, settings=Settings(suppression=rule))
    gaps = gap_analysis(study)
    out = tmp_path_factory.mktemp("ten")
    write_gap_outputs(gaps, out)
    write_report(gaps, out / "report.pdf")
    return rule, gaps, out


_OLD_WORDS = ("fewer than 8", "1-7", "1 to 7", "rounded to 5", "nearest 5")


def test_gap_map_html_and_about_file_say_the_rule_set(ten_rule_run):
    _, _, out = ten_rule_run
    page = (out / "gap_map.html").read_text(encoding="utf-8")
    assert "Hours rounded to 10; areas with 1-10 people show *" in page
    assert "Figures withheld: fewer than 11 people" in page  # the key
    assert "withheld (fewer than 11 people)" in page  # a withheld area's popup
    about = (out / "ABOUT_THESE_FILES.txt").read_text(encoding="utf-8")
    assert "counts of 1-10 people in an area shown as *" in " ".join(about.split())
    assert "rounded to 10" in about
    index = " ".join((out / "index.html").read_text(encoding="utf-8").split())
    assert "counts of 1-10 people in an area shown as *" in index
    for old in _OLD_WORDS:
        assert old not in page and old not in about and old not in index, old


def test_png_key_footnote_and_geopackage_style_say_the_rule_set(ten_rule_run):
    import sqlite3

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gapmap.publish.pictures import _foot, draw_gap_map
    from gapmap.publish.tables import publish_gaps

    rule, gaps, out = ten_rule_run
    assert _foot(rule) == "Hours rounded to 10; areas with 1-10 people have their figures withheld."
    fig, ax = plt.subplots()
    labels = [h.get_label() for h in draw_gap_map(ax, publish_gaps(gaps.table), None, rule)]
    plt.close(fig)
    assert "Figures withheld: fewer than 11 people" in labels
    with sqlite3.connect(out / "gapmap.gpkg") as db:
        styles = " ".join(q for (q,) in db.execute("SELECT styleQML FROM layer_styles"))
    assert "fewer than 11 people" in styles and "fewer than 8" not in styles


def test_report_pdf_says_the_rule_set(ten_rule_run):
    import shutil
    import subprocess

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    _, _, out = ten_rule_run
    text = subprocess.run(
        ["pdftotext", str(out / "report.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    text = " ".join(text.split())
    assert "Counts of 1 to 10 people in an area are withheld (shown as *)" in text
    assert "rounded to the nearest 10" in text
    assert "figures withheld (fewer than 11 people)" in text  # the map's caption
    for old in _OLD_WORDS:
        assert old not in text, old


def test_publish_gaps_as_the_package_docstring_calls_it_withholds_as_the_study_does(
    ten_rule_run,
):
    import gapmap
    from gapmap.publish.disclosure import Suppression

    rule, gaps, _ = ten_rule_run
    study = gaps.study
    as_shown = gapmap.publish_gaps(gaps.table, study.settings.suppression)  # the docstring
    by_default = gapmap.publish_gaps(gaps.table)  # and without the rule: the study's still
    nhs = gapmap.publish_gaps(gaps.table, Suppression())
    held = [int((t["people"] == "*").sum()) for t in (as_shown, by_default, nhs)]
    exact = gaps.table["people"].to_numpy()
    assert held[0] == held[1] == int(((exact >= 1) & (exact <= 10)).sum())
    assert held[2] == int(((exact >= 1) & (exact <= 7)).sum()) < held[0]
    assert "gapmap.publish_gaps(gaps.table, study.settings.suppression)" in gapmap.__doc__


# --- one set of person defaults ---------------------------------------------------------------
def test_every_way_a_person_comes_in_has_the_registers_defaults(tmp_path):
    import inspect

    from gapmap.io.registers import PERSON_DEFAULTS, read_people
    from gapmap.matching.person import person_request, request_from_fields
    from gapmap.serve.api import SuggestRequest

    path = tmp_path / "people.csv"
    path.write_text(
        "person_id,postcode,hours,days,services,priority,needs_cover,self_directing,"
        "regulated_care\nP1,ME14 1XX,4,Mon,social,,,,\n",
        encoding="utf-8",
    )
    read = read_people(path).iloc[0]
    fields = ("priority", "needs_cover", "self_directing", "regulated_care")
    assert {f: read[f].item() for f in fields} == {f: getattr(PERSON_DEFAULTS, f) for f in fields}
    made = person_request(x=0, y=0, hours=4, days="Mon", services="social").iloc[0]
    assert {f: made[f].item() for f in fields} == {f: getattr(PERSON_DEFAULTS, f) for f in fields}
    asked = inspect.signature(request_from_fields).parameters["needs_cover"].default
    assert asked == PERSON_DEFAULTS.needs_cover == SuggestRequest().needs_cover


def test_the_about_file_keeps_the_rule_through_an_output_folders_commit(ten_rule_run, tmp_path):
    """Commands write through an :class:`OutputFolder`, whose commit rewrites the about file
    knowing only the files: the rule's words the writer put there stay."""
    from gapmap.publish.folder import OutputFolder
    from gapmap.publish.outputs import write_gap_outputs

    rule, gaps, _ = ten_rule_run
    out = tmp_path / "out"
    with OutputFolder(out, inputs=[], outputs=["gaps.csv"]) as folder, folder.run() as stage:
        write_gap_outputs(gaps, stage, png=False)
    about = " ".join((out / "ABOUT_THESE_FILES.txt").read_text(encoding="utf-8").split())
    assert rule.describe() in about and "gaps.csv" in about and "1-7" not in about


def test_compare_withholds_and_words_by_the_rule_the_runs_were_published_with(
    ten_rule_run, tmp_path
):
    """``gapmap compare`` of two runs under 1-10 hidden, rounding to 10: its map says rounding
    to 10 (not 5) and the hours it reads back are rounded to 10 again."""
    from gapmap.compare import compare_runs, write_comparison

    rule, _, out = ten_rule_run
    comp = compare_runs(out, out, rule=rule)
    assert comp.rule == rule
    paths = write_comparison(comp, out, tmp_path)
    page = (paths["compare_map.html"]).read_text(encoding="utf-8")
    assert "Hours rounded to 10 in both runs." in page and "rounded to 5" not in page
    hours = comp.areas["unmet_hours_after"].dropna().to_numpy(float)
    assert len(hours) and (hours % 10 == 0).all()


def test_the_demo_and_cover_time_limits_are_the_settings_module_s():
    from gapmap.cli.commands import build_parser
    from gapmap.cli.options import settings_from
    from gapmap.settings import COVER_TIME_LIMITS, DEMO_TIME_LIMITS, Settings

    parser = build_parser()
    demo = settings_from(parser.parse_args(["demo"]))
    assert demo.match_time_limit_s == DEMO_TIME_LIMITS["match_time_limit_s"]
    assert demo.recruit_time_limit_s == DEMO_TIME_LIMITS["recruit_time_limit_s"]
    cover = settings_from(
        parser.parse_args(
            ["cover", "--db", "r.db", "--from", "2026-12-07", "--to", "2026-12-13", "--out", "o"]
        )
    )
    assert cover.match_time_limit_s == COVER_TIME_LIMITS["match_time_limit_s"]
    # shorter than the commands' own defaults, and still changed by --time-limit
    assert DEMO_TIME_LIMITS["match_time_limit_s"] < Settings().match_time_limit_s
    assert settings_from(parser.parse_args(["demo", "--time-limit", "5"])).match_time_limit_s == 5
