"""The report written: ``report.pdf`` (tagged PDF/UA-1, through WeasyPrint) and ``report.docx``.

The same blocks (:func:`gapmap.publish.report.document.report_blocks`) go to both, so the PDF
and the Word version say the same thing.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
from pathlib import Path

from gapmap.publish.export import atomic_path
from gapmap.publish.report.blocks import (
    Block,
)
from gapmap.publish.report.document import report_blocks

__all__ = ["blocks_html", "write_report", "write_report_docx"]


# --- writing ----------------------------------------------------------------------------------
_CSS = """
@page {
  size: A4; margin: 20mm 18mm 22mm 18mm;
  @bottom-left { content: __FOOT__; font-size: 7.5pt; color: #505a5f; width: 75%;
                 vertical-align: top; padding-top: 3mm; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font-size: 8pt;
                  color: #505a5f; vertical-align: top; padding-top: 3mm; }
}
html { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 9.5pt;
       line-height: 1.4; color: #0b0c0c; }
h1 { font-size: 19pt; margin: 0 0 4pt; line-height: 1.15; }
h2 { font-size: 13.5pt; margin: 14pt 0 5pt; color: #1d70b8; break-after: avoid; }
p, li { margin: 0 0 5pt; overflow-wrap: break-word; }
.meta { font-size: 8.5pt; color: #505a5f; }
.break { break-before: page; }
ul.key li { margin-bottom: 6pt; }
table { border-collapse: collapse; width: 100%; font-size: 7.8pt; margin: 4pt 0 10pt;
        table-layout: fixed; }
caption { caption-side: top; text-align: left; font-weight: bold; font-size: 8.5pt;
          margin-bottom: 3pt; }
th, td { border: 0.5pt solid #b1b4b6; padding: 2pt 3pt; vertical-align: top;
         overflow-wrap: break-word; hyphens: auto; }
th { background: #f3f2f1; text-align: left; font-weight: bold; }
td.n { text-align: right; }
tr.total td { font-weight: bold; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
figure { margin: 6pt 0; break-inside: avoid; }
figure img { width: 100%; }
figcaption { font-size: 8.5pt; color: #505a5f; }
"""


def _css_string(text: str) -> str:
    """Text as a quoted CSS string: quotes, backslashes and ``<>`` escaped, one line."""
    out = []
    for ch in " ".join(text.split()):
        out.append(f"\\{ord(ch):x} " if ch in '"\\<>' or ord(ch) < 32 else ch)
    return '"' + "".join(out) + '"'


def _is_number(text: str) -> bool:
    t = text.replace(",", "").replace("£", "").replace("%", "").strip()
    return bool(t) and (t == "*" or t.replace(".", "", 1).lstrip("-").isdigit())


def blocks_html(blocks: list[Block], title: str, period: str) -> str:
    """The blocks as one HTML document (every text escaped).

    Parameters
    ----------
    blocks
        :func:`report_blocks`.
    title, period
        The document's title and reporting period (in the running foot).

    Returns
    -------
    str
    """
    e = html.escape
    css = _CSS.replace("__FOOT__", _css_string(f"{title} · Reporting period: {period}"))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en-GB"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{css}</style></head><body>",
    ]
    for b in blocks:
        cls = ' class="break"' if b.page_break else ""
        if b.kind == "h1":
            parts.append(f"<h1{cls}>{e(b.text)}</h1>")
        elif b.kind == "h2":
            parts.append(f"<h2{cls}>{e(b.text)}</h2>")
        elif b.kind == "p":
            parts.append(f"<p{cls}>{e(b.text)}</p>")
        elif b.kind == "meta":
            parts.append(f'<p class="meta">{e(b.text)}</p>')
        elif b.kind in ("ul", "ol"):
            key = ' class="key"' if b.kind == "ul" else ""
            items = "".join(f"<li>{e(i)}</li>" for i in b.items)
            parts.append(f"<{b.kind}{key}>{items}</{b.kind}>")
        elif b.kind == "table":
            head = "".join(f'<th scope="col">{e(h)}</th>' for h in b.header)
            if b.groups:
                top = "".join(
                    f'<th scope="colgroup" colspan="{n}">{e(g)}</th>'
                    if g
                    else f'<td colspan="{n}"></td>'
                    for g, n in b.groups
                )
                head = f"{top}</tr><tr>{head}"
            body = []
            for row in b.rows:
                tr = ' class="total"' if row and row[0] == "Total" else ""
                cells = []
                for j, c in enumerate(row):
                    if j == 0:
                        cells.append(f'<th scope="row">{e(c)}</th>')
                    else:
                        n = ' class="n"' if _is_number(c) else ""
                        cells.append(f"<td{n}>{e(c)}</td>")
                body.append(f"<tr{tr}>{''.join(cells)}</tr>")
            parts.append(
                f"<table><caption>{e(b.text)}</caption><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table>"
            )
        elif b.kind == "img":
            data = base64.b64encode(b.png).decode("ascii")
            size = f' style="width:{b.width_mm:g}mm"' if b.width_mm else ""
            parts.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{e(b.alt)}"{size}>'
                f"<figcaption>{e(b.text)}</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(
    result,
    path: str | Path,
    *,
    rec=None,
    title: str = "",
    period: str = "",
    match: dict | str | Path | None = None,
    docx: bool = True,
    resilience: list[str] | None = None,
) -> Path:
    """Write the committee report as a tagged PDF (PDF/UA-1) and, beside it, a Word version.

    Parameters
    ----------
    result
        The run's :class:`~gapmap.publish.published.Published` (or a
        :class:`~gapmap.gaps.GapResult`, published here).
    path
        The PDF file (``report.docx`` goes beside it).
    rec
        The recruitment's :class:`~gapmap.publish.published.PublishedRecruitment` (or a
        :class:`~gapmap.recruitment.targeting.RecruitResult`, published here), or None.
    title
        The report's title.
    period
        The reporting period in words.
    match
        The published matching summary, or the path of ``summary.json``, or None.
    docx
        Also write the Word version.
    resilience
        N−1 resilience in words (:func:`gapmap.publish.cover.resilience_lines`), or None.

    Returns
    -------
    Path
    """
    import weasyprint

    summary: dict | None = (
        json.loads(Path(match).read_text(encoding="utf-8"))
        if isinstance(match, (str, Path))
        else match
    )
    title = title or "Micro-provider gaps and where to recruit"
    made = dt.date.today()
    period = period or f"the waiting list and providers as registered on {made:%-d %B %Y}"
    blocks = report_blocks(result, rec=rec, title=title, period=period, match=summary, made=made,
                           resilience=resilience)  # fmt: skip
    doc = weasyprint.HTML(string=blocks_html(blocks, title, period))
    path = Path(path)
    with atomic_path(path) as tmp:
        doc.write_pdf(tmp, pdf_variant="pdf/ua-1")
    if docx:
        write_report_docx(blocks, path.with_suffix(".docx"), title=title)
    return path


def write_report_docx(blocks: list[Block], path: str | Path, *, title: str) -> Path:
    """Write the blocks as a Word document with Word's built-in styles (for committee templates).

    Parameters
    ----------
    blocks
        :func:`report_blocks`.
    path
        The ``.docx`` file (written atomically).
    title
        The document's title (its core properties).

    Returns
    -------
    Path
    """
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(20))
    doc.core_properties.title = title
    doc.core_properties.language = "en-GB"
    for b in blocks:
        if b.page_break and b.kind != "h1":
            doc.add_page_break()
        if b.kind == "h1":
            doc.add_heading(b.text, level=0)
        elif b.kind == "h2":
            doc.add_heading(b.text, level=1)
        elif b.kind == "p":
            doc.add_paragraph(b.text)
        elif b.kind == "meta":
            run = doc.add_paragraph().add_run(b.text)
            run.font.size = Pt(8)
        elif b.kind in ("ul", "ol"):
            style = "List Bullet" if b.kind == "ul" else "List Number"
            for item in b.items:
                doc.add_paragraph(item, style=style)
        elif b.kind == "table":
            doc.add_paragraph(b.text, style="Caption")
            t = doc.add_table(rows=2 if b.groups else 1, cols=len(b.header))
            t.style = "Table Grid"
            if b.groups:
                j = 0
                for g, n in b.groups:
                    cell = t.rows[0].cells[j]
                    if n > 1:
                        cell = cell.merge(t.rows[0].cells[j + n - 1])
                    cell.text = g
                    j += n
            for cell, h in zip(t.rows[-1].cells, b.header):
                cell.text = h
                for run in cell.paragraphs[0].runs:
                    run.bold = True
            for head_row in t.rows:  # header rows repeat on every page (and read as headers)
                props = head_row._tr.get_or_add_trPr()
                mark = OxmlElement("w:tblHeader")
                mark.set(qn("w:val"), "true")
                props.append(mark)
            for row in b.rows:
                cells = t.add_row().cells
                for cell, v in zip(cells, row):
                    cell.text = v
        elif b.kind == "img":
            doc.add_picture(io.BytesIO(b.png), width=Mm(b.width_mm or 170))
            pic = doc.inline_shapes[-1]
            pic._inline.docPr.set("descr", b.alt)  # alt text
            doc.add_paragraph(b.text, style="Caption")
    path = Path(path)
    with atomic_path(path) as tmp:
        doc.save(str(tmp))
    return path
