"""The commissioner's walkthrough: it runs, and its stored copy (with outputs, and as HTML) is
the one its builder makes, with nothing derived from ../shared/data in it."""

import importlib.util
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
    outputs = "\n".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    )
    assert "areas" in outputs and "weekend gaps" in outputs
    assert "saving_per_year_vs_home_care" in outputs and "Methods in plain words" in outputs
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


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
    html = NOTEBOOK.with_suffix(".html").read_text(encoding="utf-8")
    assert "A commissioner&#39;s walkthrough" in html or "A commissioner's walkthrough" in html
    assert html.count("data:image/png;base64") >= 2
