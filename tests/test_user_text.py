"""Text from users and their files is text in every picture: a ``$`` is a dollar sign.

matplotlib reads ``$...$`` as mathematics: a malformed one in a title, an area name or a
district name used to end the run with exit 1 after all the work, and a valid one was drawn
as a formula. The PNG map and the PDF report must show the text as it was typed.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from gapmap.cli.commands import main

from .helpers import GOOD_PEOPLE as Q
from .helpers import GOOD_PROVIDERS as P
from .helpers import csv_text as _csv
from .helpers import run_cli as _run
from .helpers import write_file as _write

MALFORMED = r"Care in Kent: £5 and $\frac{ a week"
VALID = r"Gaps $x^2$ by area"


def _areas(tmp_path):
    from gapmap.io.builtin import load_builtin_areas

    areas = load_builtin_areas().copy()
    areas["district_name"] = areas["district_name"].astype(str) + r" $y_1$"
    areas["area_name"] = "St $Mary " + areas["area_name"].astype(str)
    path = tmp_path / "areas.geojson"
    areas.to_file(path, driver="GeoJSON")
    return path


@pytest.mark.parametrize("title", [MALFORMED, VALID], ids=["malformed", "valid"])
def test_dollars_in_titles_and_names_are_drawn_as_typed(tmp_path, capsys, title):
    prov = _write(tmp_path / "providers.csv", _csv(P))
    people = _write(tmp_path / "people.csv", _csv(Q))
    out = tmp_path / "out"
    rc = main(
        ["gaps", "--providers", str(prov), "--people", str(people), "--out", str(out),
         "--areas", str(_areas(tmp_path)), "--area-code-column", "area_code",
         "--area-name-column", "area_name", "--district-name-column", "district_name",
         "--title", title, "--report"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 0, err
    assert (out / "gap_map.png").stat().st_size > 10_000
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = subprocess.run(
        ["pdftotext", "-raw", str(out / "report.pdf"), "-"], capture_output=True, text=True,
        check=True,
    ).stdout  # fmt: skip
    assert title in text
    assert "$y_1$" in text  # a district name, not a subscript


def test_the_pictures_draw_dollars_as_dollars():
    """The one switch: every figure gapmap draws takes text literally."""
    import matplotlib

    from gapmap.publish.pictures import _pyplot

    plt = _pyplot()
    fig = plt.figure()
    t = fig.text(0.1, 0.5, MALFORMED)
    fig.canvas.draw()  # would raise ValueError on the malformed maths
    assert t.get_parse_math() is False and t.get_usetex() is False
    assert matplotlib.rcParams["text.parse_math"] is False
    plt.close(fig)


BIDI = "\u202e\u2066\u200f\u200b"


def test_bidi_controls_are_taken_out_of_every_name(tmp_path):
    """A right-to-left override in a trading name or an area's name reverses what the page,
    the map, the workbook and the report show: names are cleaned where they are read."""
    from gapmap.io.areas import read_areas
    from gapmap.io.builtin import load_builtin_areas
    from gapmap.io.registers import read_providers

    from .helpers import edit

    prov = read_providers(
        _write(tmp_path / "p.csv", edit(P, 2, "name", f"Sunrise {BIDI}pleH emoH"))
    )
    assert prov["name"].iloc[0] == "Sunrise pleH emoH"
    areas = load_builtin_areas().head(5).copy()
    areas["area_name"] = BIDI + areas["area_name"].astype(str)
    areas["district_name"] = areas["district_name"].astype(str) + "\u202c"
    path = tmp_path / "areas.geojson"
    areas.to_file(path, driver="GeoJSON")
    read = read_areas(path, code_column="area_code", name_column="area_name",
                      district_name_column="district_name")  # fmt: skip
    for col in ("area_name", "district_name"):
        assert not read[col].str.contains(f"[{BIDI}\u202c]").any(), read[col].tolist()


# --- untrusted text never reaches a terminal raw -----------------------------------------
def test_escape_sequences_in_names_do_not_reach_the_terminal(tmp_path, capsys):
    hostile = "Evil\x1b]0;owned\x07\x1b[31mRed\u202eCare"
    rows = [list(r) for r in P]
    for r in rows[1:]:
        r[rows[0].index("name")] = hostile
    prov = _write(tmp_path / "providers.csv", _csv(rows))
    rc, printed, err = _run(
        ["suggest", "--providers", prov, "--postcode", "CT1 2AA", "--hours", "2",
         "--days", "Mon", "--services", "social", "--explain", "--self-directing", "yes",
         "--regulated-care", "no"],
        capsys,
    )  # fmt: skip
    assert rc == 0, err
    assert "Evil" in printed
    assert not any(ch in printed for ch in ("\x1b", "\x07", "\u202e"))
