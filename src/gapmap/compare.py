"""What changed between two runs: ``gapmap compare BEFORE_DIR AFTER_DIR``.

Reads only **published** files of two output folders (e.g. last quarter's and this
quarter's): ``gaps.csv`` for the areas, ``gaps.xlsx`` (sheet Districts) for the district and
county totals, and the ``providers`` layer of ``gapmap.gpkg`` for who joined or left. Every
difference is between two published figures; where either is withheld (1-7 people) the change
is withheld too, so no suppressed cell can be worked out from the differences. Areas are matched
by code: areas only in one run are listed as such (a boundary change), not compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gapmap.errors import InputError, Problem
from gapmap.io._tables import MAX_TABLE_BYTES, ROW, _bounded, _sheet_rows, read_table
from gapmap.publish.disclosure import Suppression
from gapmap.publish.tables import suppress_again
from gapmap.publish.workbook import MICRO_UNMET

__all__ = ["Comparison", "compare_runs"]

AREA_FIGURES = [
    "need_hours", "unmet_hours", "coverage_ratio", "weekend_need_hours", "weekend_unmet_hours",
    "weekend_coverage_ratio",
]  # fmt: skip
DISTRICT_SHEET = {
    "District": "district",
    "People waiting": "people",
    "Providers": "providers",
    "Need, hours a week": "need_hours",
    "Unmet, hours a week": "unmet_hours",
    # the headline (issue 31): workbooks before it lack the column, and are compared without it
    MICRO_UNMET: "micro_unmet_hours",
    "Share of need in reach": "coverage_ratio",
    "Weekend need, hours a week": "weekend_need_hours",
    "Weekend unmet, hours a week": "weekend_unmet_hours",
    "Weekend share of need in reach": "weekend_coverage_ratio",
    "Rural gaps": "rural_gaps",
    "Weekend gaps": "weekend_gaps",
}


@dataclass
class Comparison:
    """Two runs compared: per area, per district (county last), providers, targets, words."""

    areas: pd.DataFrame
    districts: pd.DataFrame
    joined: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    providers_before: int | None = None
    providers_after: int | None = None
    targets: list[tuple[int, str]] = field(default_factory=list)
    saving_per_year: float | None = None
    only_before: list[str] = field(default_factory=list)
    only_after: list[str] = field(default_factory=list)
    shapes: Any = None
    #: the small-number rule of the runs (their figures are withheld and rounded again by it)
    rule: Suppression = field(default_factory=Suppression)

    def words(self) -> list[str]:
        """The paragraph a commissioner would write, from the published differences."""
        out = []
        total = self.districts[self.districts["district"] == "Total"]
        if len(total):
            t = total.iloc[0]
            for what, col, pct in (
                ("Unmet hours a week micro-providers may meet", "micro_unmet_hours", False),
                ("Unmet hours a week of everyone waiting", "unmet_hours", False),
                ("The share of need in reach", "coverage_ratio", True),
                ("Weekend share of need in reach", "weekend_coverage_ratio", True),
            ):
                b, a = t.get(f"{col}_before", np.nan), t.get(f"{col}_after", np.nan)
                if pd.isna(b) or pd.isna(a):
                    continue
                if pct:
                    out.append(
                        f"{what} went from {b:.0%} to {a:.0%} "
                        f"({100 * (a - b):+.0f} percentage points)."
                    )
                else:
                    out.append(f"{what} went from {b:,.0f} to {a:,.0f} ({a - b:+,.0f}).")
            for what, col in (("Rural gaps", "rural_gaps"), ("Weekend gaps", "weekend_gaps")):
                b, a = t[f"{col}_before"], t[f"{col}_after"]
                if not (pd.isna(b) or pd.isna(a)):
                    out.append(f"{what}: {int(b)} then, {int(a)} now.")
        if self.providers_after is not None:
            line = f"Providers: {self.providers_after:,} now"
            if self.providers_before is not None:
                line += (
                    f", {self.providers_before:,} then ({len(self.joined)} joined, "
                    f"{len(self.left)} left)"
                )
            out.append(line + ".")
        for target, status in self.targets:
            out.append(f"Target of {target:,} micro-providers: {status}.")
        if self.saving_per_year is not None:
            out.append(
                f"The change in hours of need in reach is worth about £{self.saving_per_year:,.0f}"
                " a year against commissioned home care."
            )
        improved = self.areas["unmet_hours_change"].dropna()
        if len(improved):
            better = int((improved < 0).sum())
            worse = int((improved > 0).sum())
            out.append(f"Unmet hours fell in {better} areas and rose in {worse}.")
        if self.only_before or self.only_after:
            out.append(
                f"{len(self.only_before)} areas are only in the earlier run and "
                f"{len(self.only_after)} only in the later one (boundaries changed?): they are "
                "listed, not compared."
            )
        return out


def _input_file(path: Path, what: str) -> Path | None:
    """A published file read as an input: None when absent; refused when it is a link (it is
    not followed) or larger than the tables gapmap reads."""
    if path.is_symlink():
        raise InputError(
            Problem(str(path), f"is a link; gapmap does not follow links when reading {what}")
        )
    if not path.exists():
        return None
    if not path.is_file():
        raise InputError(Problem(str(path), f"is not a file; expected {what}"))
    size = path.stat().st_size
    if size > MAX_TABLE_BYTES:
        raise InputError(
            Problem(
                str(path),
                f"is {size / 2**20:,.0f} MB; gapmap reads published files of up to "
                f"{MAX_TABLE_BYTES / 2**20:,.0f} MB. Is it the right folder?",
            )
        )
    return path


def _figures(t: pd.DataFrame, file: str, columns: list[str], problems: list[Problem]) -> None:
    """Number columns of a published table read as numbers (empty: withheld), in place; text,
    ``inf`` and ``nan`` are problems naming the row and column."""
    for col in columns:
        if col not in t:
            continue
        values = []
        for n, v in zip(t[ROW], t[col]):
            text = str(v).strip()
            if text in ("", "*"):
                values.append(np.nan)
                continue
            try:
                x = float(text.replace(",", ""))
            except ValueError:
                problems.append(Problem(file, "expected a number or nothing", n, col, text))
                values.append(np.nan)
                continue
            if not np.isfinite(x):
                problems.append(Problem(file, "expected a finite number", n, col, text))
            elif x < 0 or (col.endswith("_ratio") and col.startswith(("coverage", "weekend_cov"))
                           and x > 1):  # fmt: skip
                problems.append(Problem(file, "is out of range for a published figure", n, col,
                                        text))  # fmt: skip
            values.append(x)
        t[col] = values


def _counts(t: pd.DataFrame, file: str, problems: list[Problem], rule: Suppression) -> np.ndarray:
    """Which rows are withheld: ``people`` ``*`` (or a count of 1-7, never published)."""
    held = np.zeros(len(t), dtype=bool)
    if "people" not in t:
        return held
    for i, (n, v) in enumerate(zip(t[ROW], t["people"])):
        text = str(v).strip()
        if text == "*":
            held[i] = True
        elif text == "":
            continue
        elif not text.isdigit():
            problems.append(Problem(file, "expected a count of people or *", n, "people", text))
        else:
            held[i] = rule.hides([int(text)])[0]
    return held


def _read_gaps(folder: Path, rule: Suppression) -> pd.DataFrame:
    path = _input_file(folder / "gaps.csv", "a gaps table")
    if path is None:
        raise InputError(Problem(str(folder), "has no gaps.csv: is it a gapmap output folder?"))
    file = str(path)
    t = read_table(path, what="gaps")
    missing = [c for c in ["area_code", "area_name", "district", *AREA_FIGURES] if c not in t]
    if missing:
        raise InputError(Problem(file, f"lacks the columns {', '.join(missing)}"))
    if not len(t):
        raise InputError(Problem(file, "has a header but no areas"))
    problems: list[Problem] = []
    t["area_code"] = t["area_code"].astype(str).str.strip()
    first: dict[str, int] = {}
    for n, code in zip(t[ROW], t["area_code"]):
        if code == "":
            problems.append(Problem(file, "an area has no code", n, "area_code"))
        elif code in first:
            problems.append(Problem(file, f"the area code is also on row {first[code]}", n,
                                    "area_code", code))  # fmt: skip
        first.setdefault(code, n)
    _figures(t, file, AREA_FIGURES, problems)
    held = _counts(t, file, problems, rule)
    for col in ("rural_gap", "weekend_gap"):
        if col in t:
            t[col] = t[col].astype(str).str.strip().str.lower().isin(["true", "1", "yes"])
    if problems:
        raise InputError(problems)
    return suppress_again(t, held, AREA_FIGURES, rule)


def _read_districts(folder: Path, rule: Suppression) -> pd.DataFrame | None:
    path = _input_file(folder / "gaps.xlsx", "a gaps workbook")
    if path is None:
        return None
    file = str(path)
    if path.read_bytes()[:4] != b"PK\x03\x04":
        raise InputError(Problem(file, "is not an Excel workbook (the file is damaged?)"))
    rows = list(_bounded(_sheet_rows(path, file, "districts", "Districts"), file))
    head = next((i for i, (_, c) in enumerate(rows) if c and c[0].strip() == "District"), None)
    if head is None:
        raise InputError(Problem(file, "the Districts sheet has no header row 'District'"))
    names = [DISTRICT_SHEET.get(str(c).strip(), str(c).strip()) for c in rows[head][1]]
    body = [(n, (c + [""] * len(names))[: len(names)]) for n, c in rows[head + 1 :] if any(c)]
    d = pd.DataFrame([c for _, c in body], columns=names, dtype=object)
    d[ROW] = [n for n, _ in body]
    problems: list[Problem] = []
    figures = [c for c in DISTRICT_SHEET.values() if c not in ("district", "people")]
    _figures(d, file, figures, problems)
    held = _counts(d, file, problems, rule)
    if problems:
        raise InputError(problems)
    d = suppress_again(d, held, [c for c in figures if c.endswith(("_hours", "_ratio"))], rule)
    return d[[c for c in DISTRICT_SHEET.values() if c in d]]


def _read_layer(path: Path, layer: str, *, geometry: bool):
    """One layer of a published GeoPackage, or an InputError saying why it cannot be read."""
    import pyogrio

    try:
        if layer not in {n for n, _ in pyogrio.list_layers(path)}:
            return None
        return pyogrio.read_dataframe(path, layer=layer, read_geometry=geometry)
    except Exception as exc:  # GDAL's many errors for a damaged file
        raise InputError(
            Problem(str(path), f"cannot read as a GeoPackage (the file is damaged?): {exc}")
        ) from None


def _read_providers(folder: Path) -> pd.DataFrame | None:
    path = _input_file(folder / "gapmap.gpkg", "a GeoPackage")
    if path is None:
        return None
    found = _read_layer(path, "providers", geometry=False)
    if found is not None and "provider_id" not in found:
        raise InputError(Problem(str(path), "its providers layer has no provider_id column"))
    return found


def _read_shapes(folder: Path):
    """The later run's area shapes (``gaps.gpkg``), for the change map, or None."""
    path = _input_file(folder / "gaps.gpkg", "a GeoPackage")
    if path is None:
        return None
    import pyogrio

    try:
        layers = [n for n, _ in pyogrio.list_layers(path)]
    except Exception as exc:
        raise InputError(
            Problem(str(path), f"cannot read as a GeoPackage (the file is damaged?): {exc}")
        ) from None
    g = _read_layer(path, layers[0], geometry=True) if layers else None
    if g is None or "area_code" not in g:
        raise InputError(Problem(str(path), "has no layer of areas with an area_code column"))
    g["area_code"] = g["area_code"].astype(str)
    return g[["area_code", "geometry"]]


def _change(before: pd.Series, after: pd.Series) -> pd.Series:
    """after − before, withheld (NaN) where either is (ratios to 0.001, like the tables)."""
    return (after.astype(float) - before.astype(float)).round(3)


def compare_runs(
    before: str | Path,
    after: str | Path,
    *,
    targets: tuple[int, ...] = (60, 223, 416),
    home_care_rate: float = 19.68,
    micro_rate: float = 15.68,
    weeks_per_year: float = 52.0,
    rule: Suppression | None = None,
) -> Comparison:
    """Compare two gapmap output folders from their published files only.

    Parameters
    ----------
    before, after
        The earlier and later output folders.
    targets
        Numbers of micro-providers to report progress against (Kent's 60, 223, 416).
    home_care_rate, micro_rate, weeks_per_year
        For the yearly value of the change in hours of need in reach.
    rule
        The small-number rule the runs were published with (``Settings.suppression``; default
        the NHS England rule): figures are withheld and rounded again by it, and the map says
        it.

    Returns
    -------
    Comparison

    Raises
    ------
    InputError
        if a folder is not a gapmap output folder, or a file in it is damaged, a link, too
        large, or has text, ``inf`` or ``nan`` in a number column or an area code twice (file,
        row and column named). Figures read on a withheld row (``*`` people) are withheld
        again, and hours rounded again, whatever the file says.
    """
    b_dir, a_dir = Path(before), Path(after)
    rule = rule or Suppression()
    b, a = _read_gaps(b_dir, rule), _read_gaps(a_dir, rule)
    both = b.merge(a, on="area_code", suffixes=("_before", "_after"), how="inner")
    areas = pd.DataFrame(
        {
            "area_code": both["area_code"],
            "area_name": both["area_name_after"],
            "district": both["district_after"],
        }
    )
    for col in AREA_FIGURES:
        areas[f"{col}_before"] = both[f"{col}_before"]
        areas[f"{col}_after"] = both[f"{col}_after"]
        areas[f"{col}_change"] = _change(both[f"{col}_before"], both[f"{col}_after"])
    for col in ("rural_gap", "weekend_gap"):
        areas[f"{col}_before"] = both[f"{col}_before"].astype(bool)
        areas[f"{col}_after"] = both[f"{col}_after"].astype(bool)
    areas = areas.sort_values(["unmet_hours_change", "area_code"], na_position="last")
    only_before = sorted(set(b["area_code"]) - set(a["area_code"]))
    only_after = sorted(set(a["area_code"]) - set(b["area_code"]))

    db, da = _read_districts(b_dir, rule), _read_districts(a_dir, rule)
    if db is not None and da is not None:
        dd = db.merge(da, on="district", suffixes=("_before", "_after"), how="outer")
        for col in [c for c in DISTRICT_SHEET.values() if c not in ("district", "people")]:
            if f"{col}_before" in dd and f"{col}_after" in dd:
                dd[f"{col}_change"] = _change(dd[f"{col}_before"], dd[f"{col}_after"])
        order = (dd["district"] == "Total").astype(int)
        districts = dd.assign(_o=order).sort_values(["_o", "district"]).drop(columns="_o")
    else:
        districts = pd.DataFrame({"district": []})

    pb, pa = _read_providers(b_dir), _read_providers(a_dir)
    joined: list[str] = []
    left: list[str] = []
    n_before = n_after = None
    if pa is not None:
        n_after = len(pa)
    if pb is not None:
        n_before = len(pb)
    if pa is not None and pb is not None:
        ids_b, ids_a = set(pb["provider_id"].astype(str)), set(pa["provider_id"].astype(str))
        joined, left = sorted(ids_a - ids_b), sorted(ids_b - ids_a)
    progress = []
    if n_after is not None:
        for t in targets:
            status = "met" if n_after >= t else f"{n_after:,} of {t:,} ({n_after / t:.0%})"
            progress.append((t, status))
    saving = None
    total = districts[districts["district"] == "Total"] if len(districts) else districts
    if len(total):
        t0 = total.iloc[0]
        met_b = t0.get("need_hours_before", np.nan) - t0.get("unmet_hours_before", np.nan)
        met_a = t0.get("need_hours_after", np.nan) - t0.get("unmet_hours_after", np.nan)
        if np.isfinite(met_a - met_b):
            saving = float((met_a - met_b) * weeks_per_year * (home_care_rate - micro_rate))
            saving = float(np.round(saving / 100.0) * 100.0)
    return Comparison(
        areas.reset_index(drop=True), districts.reset_index(drop=True), joined, left, n_before,
        n_after, progress, saving, only_before, only_after, _read_shapes(a_dir), rule,
    )  # fmt: skip


def write_comparison(comp: Comparison, after: str | Path, out_dir: str | Path) -> dict[str, Path]:
    """Write ``compare_areas.csv``, ``compare_districts.csv``, ``compare.txt`` and
    ``compare_map.html`` (change in unmet hours, from the later run's area shapes).

    Parameters
    ----------
    comp
        The comparison.
    after
        The later run's folder (its ``gaps.gpkg`` gives the area shapes).
    out_dir
        The folder.

    Returns
    -------
    dict
        The paths written, by name.
    """
    from gapmap.publish.export import write_csv, write_text

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "compare_areas.csv": write_csv(comp.areas, out / "compare_areas.csv"),
        "compare_districts.csv": write_csv(comp.districts, out / "compare_districts.csv"),
        "compare.txt": write_text("\n".join(comp.words()) + "\n", out / "compare.txt"),
    }
    shapes = comp.shapes if comp.shapes is not None else _read_shapes(Path(after))
    if shapes is not None:
        import geopandas as gpd

        from gapmap.publish.maps import change_map, save_map

        g = gpd.GeoDataFrame(shapes).merge(comp.areas, on="area_code", how="inner")
        save_map(change_map(g, words=comp.words(), rule=comp.rule), out / "compare_map.html")
        paths["compare_map.html"] = out / "compare_map.html"
    return paths
