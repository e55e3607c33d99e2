"""Safe writers: atomic files, CSV/XLSX that cannot run formulas, GeoPackage.

Every writer writes to a temporary file in the target folder and renames it over the target
only when it is complete, so an interrupted run leaves the previous output intact.

Text cells that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return) get a leading apostrophe, as OWASP recommends for CSV
injection; numbers are left alone.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from gapmap.publish.disclosure import numeric_counts

__all__ = ["atomic_path", "neutralise_formulas", "write_csv", "write_gpkg", "write_text"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # same extension as the target: GDAL picks drivers and checks names by it
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.stem}.part-", suffix=target.suffix, dir=target.parent
    )
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs are ordinary files
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy in which text cells cannot be read as spreadsheet formulas."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            out[col] = s.map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v
            )
    return out


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as UTF-8 CSV (with BOM so Excel reads accents), atomically and safely.

    Parameters
    ----------
    frame
        The table; text cells that could run as a formula are neutralised.
    path
        The file.

    Returns
    -------
    Path
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        neutralise_formulas(frame).to_csv(
            tmp, index=False, encoding="utf-8-sig", lineterminator="\n"
        )
    return path


def write_text(text: str, path: str | Path) -> Path:
    """Write a text file atomically (UTF-8).

    Parameters
    ----------
    text
        The contents.
    path
        The file.

    Returns
    -------
    Path
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_gpkg(gdf, path: str | Path, *, layer: str) -> Path:
    """Write a GeoDataFrame as a one-layer GeoPackage, atomically.

    Published counts (``*`` or whole numbers) are written as numbers, NULL where withheld, with
    a ``withheld`` column (:func:`gapmap.publish.disclosure.numeric_counts`).

    Parameters
    ----------
    gdf
        The layer.
    path
        The file.
    layer
        The layer's name.

    Returns
    -------
    Path
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.unlink()  # GDAL must create the file itself
        numeric_counts(gdf).to_file(tmp, driver="GPKG", layer=layer, engine="pyogrio")
    return path
