"""Build the commissioner's walkthrough: write its cells, run them, store them with their outputs.

    .venv/bin/python notebooks/build_walkthrough.py

writes ``commissioner_walkthrough.ipynb`` (with outputs) and ``commissioner_walkthrough.html``
(for people without Python). The stored copy is run with ``GAPMAP_STORED_COPY=1``: the
sections that read the real Kent files in ``../shared/data`` say they were left out, so nothing
derived from those files is stored in the repository; run the notebook yourself to see them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE / "commissioner_walkthrough.ipynb"

CELLS = [
    ("md", """# Where is need for micro-provider support not met? A commissioner's walkthrough

This notebook walks through gapmap for Kent: load the areas and the registers, measure how much
of each area's need the micro-providers in reach could meet, flag rural and weekend gaps, draw
the map, estimate need from the Census, see where recruiting would help most, and write the
committee report. It runs on the embedded default (Kent's postcode sectors built from the ONS
Postcode Directory, and **synthetic** registers at real Kent postcodes), and on the real 2022
wards and Census tables when `../shared/data` is beside the repository.

Every figure shown is the published one: rounded to 5, with areas of 1-7 people withheld
(step 5)."""),
    ("code", """import os
from pathlib import Path

import gapmap
from gapmap.demo import demo_paths
from gapmap.publish.workbook import district_table

SHARED = Path("../../shared/data")
use_shared = SHARED.exists() and not os.environ.get("GAPMAP_STORED_COPY")
providers_file, people_file = demo_paths()
inputs = gapmap.StudyInputs(providers=providers_file, people=people_file)
study = gapmap.Study.read(inputs)  # every rule in gapmap.Settings
print(f"{len(study.areas)} areas, {len(study.providers)} providers, {len(study.people):,} people waiting")"""),
    ("md", """## 1. Need and capacity
Providers' capacity is the hours a week they can give; people's need is the hours a week they
ask for. In Somerset a micro-provider gives about 27 hours a week to about 5 people."""),
    ("code", """providers, people = study.providers, study.people
print(f"capacity {providers.capacity_hours.sum():,.0f} h a week, "
      f"{providers.committed_hours.sum():,.0f} h already booked; need {people.hours.sum():,.0f} h a week")
print(f"{(~people.self_directing).sum()} people cannot direct their own care; "
      f"{people.regulated_care.sum()} need care from a CQC-registered provider")"""),
    ("md", """## 2. Coverage: how much of each area's need could providers in reach meet?
gapmap shares each provider's hours among the people it can reach (within both travel limits,
offering the services they need, CQC-registered where that is needed), in proportion to their
need (the two-step floating catchment area method). An area's **share of need in reach** is
1 − unmet ÷ need (never above 100%); **unmet hours** are the hours to close. The **provision
ratio** is capacity in reach per hour of need: above 1 where more hours are in reach than the
area needs (some of them may be needed elsewhere). The districts, with the county last:"""),
    ("code", """result = gapmap.gap_analysis(study)
districts = district_table(result)
districts[["district", "people", "providers", "need_hours", "unmet_hours", "coverage_ratio",
           "weekend_coverage_ratio", "rural_gaps", "weekend_gaps"]]"""),
    ("md", """## 3. The largest gaps, weekend and rural
Most micro-providers work weekdays only. A **weekend gap** is an area where less than half of
weekend need is in reach; a **rural gap** is a rural area with less than half its need in reach
or no provider within 10 km. Both thresholds are settings (`gapmap.Settings`)."""),
    ("code", """published = gapmap.publish_gaps(result.table)
shown = published[published.unmet_hours.notna()]
print(f"weekend gaps: {published.weekend_gap.sum()} areas; rural gaps: "
      f"{published.rural_gap.sum()} of {published.rural.sum()} rural areas")
shown.sort_values("unmet_hours", ascending=False)[
    ["area_name", "district", "people", "unmet_hours", "coverage_ratio", "weekend_coverage_ratio",
     "rural_gap", "weekend_gap"]].head(10)"""),
    ("md", """## 4. The map
`gap_map.html` is interactive (unmet hours first; share in reach, weekend share, gap score and
estimated need one click away; search; print). For this notebook, the same map as a picture:"""),
    ("code", """import tempfile
from IPython.display import Image, display
from gapmap.publish.maps import gap_map, save_map
from gapmap.publish.pictures import gap_map_png

out = Path(tempfile.mkdtemp())
save_map(gap_map(published, result.providers, title="Micro-provider gaps in Kent (synthetic)"),
         out / "gap_map.html")
gap_map_png(published, result.providers, out / "gap_map.png",
            title="Micro-provider gaps in Kent (synthetic registers)")
display(Image(filename=str(out / "gap_map.png"), width=800))
print(f"interactive map written to {(out / 'gap_map.html').name}")"""),
    ("md", """## 5. What may be shared
`publish_gaps` applies the NHS England small-number rule: areas with 1-7 people show `*` and
withhold their hours; other counts and hours are rounded to 5. Totals (districts, county) are
computed from exact figures and then rounded. This is what goes in `gaps.csv`, `gaps.xlsx`,
the GeoPackages, the maps and the report."""),
    ("code", """small = published.people == "*"
print(f"{small.sum()} of {len(published)} areas have their figures withheld")
published.loc[small, ["area_name", "district", "people", "need_hours", "unmet_hours", "gap_band"]].head()"""),
    ("md", """## 6. Need estimated from the Census (real files beside the repository)
The register holds only the people already asking for help. The Census (TS007A, age by LSOA)
times the Health Survey for England's shares of older people needing help gives the hours of
help adults may need in each area, most of it not on any waiting list."""),
    ("code", """if use_shared:
    wards = gapmap.Study.read(gapmap.StudyInputs(
        providers=providers_file, people=people_file, areas=SHARED / "kent_wards_2022.geojson",
        census=SHARED / "kent_census2021_ts007a_age5_lsoa21.csv",
        census_areas=SHARED / "kent_lsoa_2021.geojson"))
    wards_result = gapmap.gap_analysis(wards)
    t = wards_result.table
    print(f"{len(t)} wards; estimated need {t.estimated_need_hours.sum():,.0f} h a week, "
          f"{1 - t.estimated_unmet_hours.sum() / t.estimated_need_hours.sum():.0%} of it in reach")
else:
    print("Left out of the stored copy (it would be derived from ../shared/data): "
          "run the notebook beside the real files to see it.")"""),
    ("md", """## 7. Where to recruit
For Kent's targets (60, 223 and 416 micro-enterprises in years 1-3), gapmap places new
providers (27 hours a week each, within 10 km, weekdays) where they would take the most unmet
hours a recruit could take, and works out what that saves against commissioned home care."""),
    ("code", """from gapmap.publish import publish_scenarios
from gapmap.publish.pictures import scenario_chart_png

rec = gapmap.recruit(gapmap.gap_analysis(study.with_settings(recruit_time_limit_s=10)), [60, 223, 416])
scenarios = publish_scenarios(rec.scenarios)
scenario_chart_png(scenarios, out / "scenarios.png", title="Recruitment scenarios (synthetic)")
display(Image(filename=str(out / "scenarios.png"), width=800))
scenarios[["new_providers", "providers_placed", "hours_taken", "coverage_before", "coverage_after",
           "saving_per_year_vs_home_care"]]"""),
    ("md", """## 8. The committee report
`gapmap report` (or `gapmap gaps --report`) writes a PDF of a few pages: the map, the district
table, the largest gaps, the weekend and rural findings, the scenarios and savings, and the
methods. The same from Python:"""),
    ("code", """from pypdf import PdfReader
from gapmap.publish.report import write_report

pdf = write_report(result, out / "report.pdf", rec=rec, title="Micro-provider gaps in Kent (synthetic)")
for number, page in enumerate(PdfReader(str(pdf)).pages, 1):
    print(number, page.extract_text().splitlines()[0])"""),
]


def build() -> nbformat.NotebookNode:
    """The notebook's cells, without outputs."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for kind, source in CELLS:
        nb.cells.append(new_markdown_cell(source) if kind == "md" else new_code_cell(source))
    return nb


def main() -> int:
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    nb = build()
    os.environ["GAPMAP_STORED_COPY"] = "1"
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(HERE)}}).execute()
    nbformat.write(nb, NOTEBOOK)
    html, _ = HTMLExporter(template_name="classic").from_notebook_node(nb)
    NOTEBOOK.with_suffix(".html").write_text(html, encoding="utf-8")
    print(f"wrote {NOTEBOOK.name} and {NOTEBOOK.with_suffix('.html').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
