"""Reading users' tables (CSV, XLSX) as text, exactly as typed, with spreadsheet row numbers.

Every cell comes back as a string, so that each column's own parser can say precisely what is
wrong with a cell rather than pandas guessing types. Row numbers are as a spreadsheet shows
them: the header is row 1, the first record row 2.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from .errors import InputError, Problem

__all__ = ["ROW", "read_table"]

#: Name of the column that carries each record's spreadsheet row number.
ROW = "__row__"
_EXCEL = {".xlsx", ".xlsm", ".xls"}
#: Largest register file read (bytes). Somerset's ~5,900 people take under 1 MB; a file over
#: this is almost surely the wrong file, and reading it as text would take gigabytes of memory.
MAX_TABLE_BYTES = 100 * 1024 * 1024


def _decode(raw: bytes, file: str) -> tuple[str, str]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "UTF-16"
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict"), "UTF-8 with BOM"
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    # Excel on Windows saves "CSV" as Windows-1252; Latin-1 decodes anything else.
    try:
        return raw.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "Latin-1"


def _sniff_delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def read_table(path: str | Path, *, what: str) -> pd.DataFrame:
    """Read a CSV or Excel sheet as strings with normalised column names.

    Column names are stripped and lower-cased. Empty rows are dropped. The row number of each
    record is in column :data:`ROW`.

    Raises
    ------
    InputError
        file missing, empty, unreadable, or with duplicated or empty column names.
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
                f"the {what} file is {size / 2**20:,.0f} MB; gapmap reads registers of up to "
                f"{MAX_TABLE_BYTES / 2**20:,.0f} MB (about a million rows). Is it the right file?",
            )
        )
    suffix = path.suffix.lower()
    if suffix in _EXCEL:
        try:
            raw = pd.read_excel(path, dtype=str, header=None, keep_default_na=False)
        except Exception as exc:
            raise InputError(Problem(file, f"cannot read as an Excel workbook: {exc}")) from None
        rows = raw.fillna("").astype(str).values.tolist()
    else:
        data = path.read_bytes()
        if not data.strip():
            raise InputError(Problem(file, f"the {what} file is empty"))
        if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise InputError(
                Problem(file, "looks like a binary file, not a CSV; save it as CSV (UTF-8)")
            )
        text, _encoding = _decode(data, file)
        delim = _sniff_delimiter(text)
        try:
            rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))
        except csv.Error as exc:
            raise InputError(Problem(file, f"cannot read as CSV: {exc}")) from None
    # drop leading blank rows, find the header
    while rows and not any(str(c).strip() for c in rows[0]):
        rows.pop(0)
    if not rows:
        raise InputError(Problem(file, f"the {what} file is empty"))
    header = [str(c).strip().lower().lstrip("\ufeff") for c in rows[0]]
    # trailing empty header cells (Excel) are not columns
    while header and header[-1] == "":
        header.pop()
    problems = []
    seen: dict[str, int] = {}
    for i, h in enumerate(header):
        if h == "":
            problems.append(Problem(file, f"column {i + 1} of the header has no name", row=1))
        elif h in seen:
            problems.append(
                Problem(file, "the column name appears twice in the header", row=1, column=h)
            )
        seen.setdefault(h, i)
    if problems:
        raise InputError(problems)
    width = len(header)
    records = []
    numbers = []
    for n, r in enumerate(rows[1:], start=2):
        cells = [str(c) for c in r]
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            raise InputError(
                Problem(
                    file,
                    f"the row has {len(cells)} cells but the header has {width} columns "
                    "(a stray delimiter, or an unquoted comma inside a name?)",
                    row=n,
                )
            )
        cells = (cells + [""] * width)[:width]
        records.append(cells)
        numbers.append(n)
    frame = pd.DataFrame(records, columns=header, dtype=object)
    frame[ROW] = numbers
    return frame
