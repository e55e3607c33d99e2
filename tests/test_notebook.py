"""The commissioner's walkthrough: it runs, and its stored copy (with outputs, and as HTML) is
the one its builder makes, with nothing derived from ../shared/data in it."""

import importlib.util
import re
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOK = HERE / "commissioner_walkthrough.ipynb"


def _builder():
    spec = importlib.util.spec_from_file_location(
        "build_walkthrough", HERE / "build_walkthrough.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _printed(cell) -> str:
    """What a code cell printed (its stream outputs)."""
    return "".join(o["text"] for o in cell.get("outputs", []) if o.get("output_type") == "stream")


@pytest.mark.slow
def test_commissioner_walkthrough_runs():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}
    )
    client.execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    # what it prints is what the stored copy printed (but the cell that reads ../shared/data)
    stored = nbformat.read(NOTEBOOK, as_version=4)
    printed = [_printed(c) for c in nb.cells if c.cell_type == "code"]
    kept = [_printed(c) for c in stored.cells if c.cell_type == "code"]
    assert len(printed) == len(kept)
    same = [(a, b) for a, b in zip(printed, kept) if "Left out of the stored copy" not in b]
    assert len(same) >= 5 and all(a == b for a, b in same), same
    tables = "\n".join(
        str(o.get("data", {}).get("text/plain", "")) for c in nb.cells for o in c.get("outputs", [])
    )
    assert "saving_per_year_vs_home_care" in tables and "weekend_coverage_ratio" in tables


def test_the_stored_copy_is_the_builders_with_outputs_and_html():
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    built = _builder().build()
    assert [c.source for c in nb.cells] == [c.source for c in built.cells]  # in sync
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs for c in code), "stored without outputs: run build_walkthrough.py"
    assert not [o for c in code for o in c.outputs if o.get("output_type") == "error"]
    images = [o for c in code for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2  # the map and the scenarios
    census = next(c for c in code if "census=" in c.source)
    assert "Left out of the stored copy" in census.outputs[0]["text"]
    # the HTML copy is this notebook: its heading, every printed line, every picture
    import html as markup

    page = NOTEBOOK.with_suffix(".html").read_text(encoding="utf-8")
    heading = next(c for c in nb.cells if c.cell_type == "markdown").source.splitlines()[0]
    heading = heading.lstrip("# ").strip()
    assert markup.escape(heading, quote=False) in page or markup.escape(heading) in page
    printed = [
        line
        for c in code
        for o in c.outputs
        if o.get("output_type") == "stream"
        for line in o["text"].splitlines()
        if line.strip()
    ]
    assert len(printed) >= 8
    missing = [line for line in printed if markup.escape(line, quote=False) not in page]
    assert not missing, missing
    # each picture of the notebook, the very same image, in the page
    shown = re.findall(r'<img [^>]*src="data:image/png;base64,([^"]+)"', page)
    assert shown == [o["data"]["image/png"].replace("\n", "") for o in images]


def test_the_stored_copy_shows_what_the_package_gives_today(demo_study, demo_gap):
    """The stored outputs are not stale: the figures it prints are the package's own now."""
    nbformat = pytest.importorskip("nbformat")
    from gapmap.publish.tables import publish_gaps

    nb = nbformat.read(NOTEBOOK, as_version=4)
    text = "\n".join(
        o["text"]
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.get("output_type") == "stream"
    )
    n_areas, n_prov, n_people = (len(demo_study.areas), len(demo_study.providers),
                                 len(demo_study.people))  # fmt: skip
    assert f"{n_areas} areas, {n_prov} providers, {n_people:,} people waiting" in text
    held = int((publish_gaps(demo_gap.table)["people"] == "*").sum())
    assert f"{held} of {n_areas} areas have their figures withheld" in text
