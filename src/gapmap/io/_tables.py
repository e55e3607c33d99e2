"""Reading users' tables (CSV, XLSX) as text, exactly as typed, with spreadsheet row numbers.

Every cell comes back as a string, so that each column's own parser can say precisely what is
wrong with a cell rather than pandas guessing types. Row numbers are as a spreadsheet shows
them: blank lines above the header count, the header is the first row with anything in it.

The reading is bounded: the file's size, the number of rows and columns and the length of a
cell are checked *while* reading (CSV rows one at a time, workbooks streamed by openpyxl's
read-only mode), so a hostile file is refused before it can take the machine's memory. A
workbook with several sheets is read only when the sheet is named (``sheet=``) or one sheet is
named like what is read (``providers``, ``people``); otherwise every sheet is listed.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from gapmap.errors import InputError, Problem

__all__ = ["MAX_CELL_CHARS", "MAX_COLUMNS", "MAX_ROWS", "ROW", "read_table"]

#: Name of the column that carries each record's spreadsheet row number.
ROW = "__row__"
_EXCEL = {".xlsx", ".xlsm", ".xls"}
#: Largest table file read (bytes). Somerset's ~5,900 people take under 1 MB.
MAX_TABLE_BYTES = 100 * 1024 * 1024
#: Most records read from one table: ten times all England's people at Somerset's density.
MAX_ROWS = 250_000
#: Most columns in one table (a register has 15).
MAX_COLUMNS = 200
#: Longest cell (characters): a trading name or an address is far shorter.
MAX_CELL_CHARS = 10_000

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted .xlsx and old .xls files


def _decode(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Excel on Windows saves "CSV" as Windows-1252; Latin-1 decodes anything else.
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _sniff_delimiter(text: str) -> str:
    first = next((line for line in text.split("\n", 50) if line.strip()), "")
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _csv_rows(data: bytes, file: str, what: str) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row, cells) of a CSV file, one record at a time."""
    if not data.strip():
        raise InputError(Problem(file, f"the {what} file is empty"))
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(
            Problem(file, "looks like a binary file, not a CSV; save it as CSV (UTF-8)")
        )
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    old = csv.field_size_limit()
    csv.field_size_limit(MAX_CELL_CHARS)
    n = 0
    try:
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                row = n + 1
                if "field larger than field limit" in str(exc):
                    raise InputError(
                        Problem(
                            file,
                            f"a cell is longer than {MAX_CELL_CHARS:,} characters, the most "
                            "gapmap reads (is it the right file?)",
                            row=row,
                        )
                    ) from None
                raise InputError(Problem(file, f"cannot read as CSV: {exc}", row=row)) from None
            n += 1
            yield n, cells
    finally:
        csv.field_size_limit(old)


def _sheet_rows(path: Path, file: str, what: str, sheet: str | None) -> Iterator[tuple[int, list]]:
    """(spreadsheet row, cells) of one sheet of a workbook, streamed."""
    import openpyxl

    head = path.read_bytes()[:8]
    if head.startswith(_OLE):
        raise InputError(
            Problem(
                file,
                "cannot read this workbook: it is password-protected or in the old .xls format; "
                "save it again as .xlsx without a password, or as CSV",
            )
        )
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError(
            Problem(file, f"cannot read as an Excel workbook (the file is damaged?): {exc}")
        ) from None
    try:
        names = book.sheetnames
        if sheet is not None:
            if sheet not in names:
                raise InputError(
                    Problem(file, f"has no sheet {sheet!r}; its sheets are: " + ", ".join(names))
                )
            chosen = sheet
        elif len(names) == 1:
            chosen = names[0]
        else:
            named = [n for n in names if n.strip().lower() in (what, what.rstrip("s"))]
            if len(named) != 1:
                raise InputError(
                    Problem(
                        file,
                        f"the workbook has {len(names)} sheets ("
                        + ", ".join(repr(n) for n in names)
                        + "); say which sheet to read, or name the sheet "
                        f"{what!r}",
                    )
                )
            chosen = named[0]
        ws = book[chosen]
        declared = ws.max_row  # the sheet's own <dimension>, read without the rows (may be None)
        if declared is not None and declared > MAX_ROWS + 50:
            raise InputError(
                Problem(
                    file,
                    f"the sheet {chosen!r} has {declared:,} rows; gapmap reads up to "
                    f"{MAX_ROWS:,} rows from one table (is it the right file?)",
                )
            )
        for n, values in enumerate(ws.iter_rows(values_only=True), start=1):
            yield n, ["" if v is None else str(v) for v in values]
    finally:
        book.close()


def _bounded(rows: Iterable[tuple[int, list]], file: str) -> Iterator[tuple[int, list[str]]]:
    """The same rows, refused as soon as one breaks a limit (rows, columns, cell length)."""
    records = 0
    for n, cells in rows:
        # trailing empty cells (Excel, trailing delimiters) are not columns
        while cells and str(cells[-1]).strip() == "":
            cells = cells[:-1]
        if not cells:
            yield n, []
            continue
        if len(cells) > MAX_COLUMNS:
            raise InputError(
                Problem(
                    file,
                    f"the row has {len(cells):,} cells; gapmap reads tables of up to "
                    f"{MAX_COLUMNS} columns",
                    row=n,
                )
            )
        for j, c in enumerate(cells):
            if len(c) > MAX_CELL_CHARS:
                raise InputError(
                    Problem(
                        file,
                        f"a cell is {len(c):,} characters long; gapmap reads cells of up to "
                        f"{MAX_CELL_CHARS:,}",
                        row=n,
                        column=f"column {j + 1}",
                    )
                )
        records += 1
        if records > MAX_ROWS + 1:  # + the header
            raise InputError(
                Problem(
                    file,
                    f"has more than {MAX_ROWS:,} rows, the most gapmap reads from one table "
                    "(is it the right file?)",
                    row=n,
                )
            )
        yield n, [str(c) for c in cells]


def read_table(path: str | Path, *, what: str, sheet: str | None = None) -> pd.DataFrame:
    """Read a CSV file or one sheet of a workbook as strings with normalised column names.

    Parameters
    ----------
    path
        The file (CSV in any common encoding and delimiter, or .xlsx/.xlsm; a CSV saved
        with an Excel name is read as the CSV it is).
    what
        What the table is, for messages (``"providers"``, ``"people"``, ``"lookup"``...).
    sheet
        The sheet to read from a workbook with several.

    Returns
    -------
    DataFrame
        Column names stripped and lower-cased; empty rows dropped; the spreadsheet row number
        of each record in column :data:`ROW`.

    Raises
    ------
    InputError
        file missing, a folder, empty, unreadable, too large (bytes, rows, columns, cell
        length), with several sheets and none named, or with duplicated or empty column names.
    """
    path = Path(path)
    file = str(path)
    if not path.exists():
        raise InputError(Problem(file, f"{what} file not found"))
    if path.is_dir():
        raise InputError(Problem(file, f"is a folder; expected a {what} file"))
    size = path.stat().st_size
    if size > MAX_TABLE_BYTES:
        raise InputError(
            Problem(
                file,
                f"the {what} file is {size / 2**20:,.0f} MB; gapmap reads tables of up to "
                f"{MAX_TABLE_BYTES / 2**20:,.0f} MB. Is it the right file?",
            )
        )
    is_zip = path.read_bytes()[:4] == _ZIP if size else False
    if path.suffix.lower() in _EXCEL and (is_zip or path.read_bytes()[:8].startswith(_OLE)):
        rows = _bounded(_sheet_rows(path, file, what, sheet), file)
    elif is_zip:
        raise InputError(
            Problem(file, f"is a zip file, not a CSV; expected a {what} table (CSV or .xlsx)")
        )
    else:
        rows = _bounded(_csv_rows(path.read_bytes(), file, what), file)
    # the header: the first row with anything in it (rows above it still count)
    header_row, raw_header = next(((n, c) for n, c in rows if c), (0, []))
    if not raw_header:
        raise InputError(Problem(file, f"the {what} file is empty"))
    header = [str(c).strip().lower().lstrip("\ufeff") for c in raw_header]
    problems = []
    seen: dict[str, int] = {}
    for i, h in enumerate(header):
        if h == "":
            problems.append(
                Problem(file, f"column {i + 1} of the header has no name", row=header_row)
            )
        elif h in seen:
            problems.append(
                Problem(
                    file, "the column name appears twice in the header", row=header_row, column=h
                )
            )
        seen.setdefault(h, i)
    if problems:
        raise InputError(problems)
    width = len(header)
    records = []
    numbers = []
    for n, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > width:
            raise InputError(
                Problem(
                    file,
                    f"the row has {len(cells)} cells but the header has {width} columns "
                    "(a stray delimiter, or an unquoted comma inside a name?)",
                    row=n,
                )
            )
        records.append((cells + [""] * width)[:width])
        numbers.append(n)
    frame = pd.DataFrame(records, columns=header, dtype=object)
    frame[ROW] = numbers
    frame.attrs["header_row"] = header_row
    return frame
