"""``report.pdf`` and ``report.docx``: the committee paper, from the published figures only.

One document model (:func:`report_blocks`: headings, paragraphs, lists, tables, pictures) is
written two ways, so the PDF and the Word version say the same thing:

- ``report.pdf`` through HTML and WeasyPrint as **PDF/UA-1** (tagged: a structure tree,
  ``/MarkInfo /Marked true``, the document language and title; pictures carry alt text),
  A4 with 20 mm margins, page numbers and the reporting period on every page;
- ``report.docx`` (python-docx) with Word's own heading and table styles, so a council can
  paste it into its committee template.

The order is a committee paper's: key messages first; the map; districts and the largest
gaps; recruitment with weekday-only and seven-day recruits side by side; matching and cover;
methods in plain words; sources with their publication vintage; disclosure control. Every
figure is the one :func:`gapmap.publish.figures.headline_figures`, the workbook and the CSV
files publish (rounded once, suppressed).

The package, by idea: :mod:`~gapmap.publish.report.blocks` (the document model and the
pictures), :mod:`~gapmap.publish.report.document` (the sections, in order),
:mod:`~gapmap.publish.report.recruitment` (where to recruit),
:mod:`~gapmap.publish.report.methods` (methods and sources) and
:mod:`~gapmap.publish.report.render` (PDF and Word).
"""

from gapmap.publish.report.blocks import TOP_GAPS, Block
from gapmap.publish.report.document import report_blocks
from gapmap.publish.report.methods import census_tables, sources_used
from gapmap.publish.report.render import blocks_html, write_report, write_report_docx

__all__ = [
    "TOP_GAPS",
    "Block",
    "blocks_html",
    "census_tables",
    "report_blocks",
    "sources_used",
    "write_report",
    "write_report_docx",
]
