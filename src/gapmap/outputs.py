"""Writing the results of an analysis to a folder: the files SPEC.md promises, safely.

Published files (meant to be shared) carry only suppressed figures; exact figures go to files
whose names start ``internal_`` and only when asked.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .disclosure import Suppression
from .export import write_csv, write_gpkg
from .gaps import GapResult, publish_gaps
from .maps import gap_map, gap_map_png, save_map

__all__ = ["write_gap_outputs"]


def write_gap_outputs(
    result: GapResult,
    out_dir: str | Path,
    *,
    internal: bool = False,
    rule: Suppression = Suppression(),
    title: str = "gapmap: micro-provider gaps in Kent",
    png: bool = True,
) -> dict[str, Path]:
    """Write ``gaps.csv``, ``gaps.gpkg``, ``gap_map.html`` and ``gap_map.png`` (published), and
    with ``internal=True`` also ``internal_gaps_exact.csv`` (exact figures: not to be shared).

    Returns the paths written, by name.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    published = publish_gaps(result.table, rule)
    table = pd.DataFrame(published.drop(columns=published.geometry.name))
    paths = {
        "gaps.csv": write_csv(table, out / "gaps.csv"),
        "gaps.gpkg": write_gpkg(published, out / "gaps.gpkg", layer="gaps"),
    }
    m = gap_map(published, result.providers, title=title)
    save_map(m, out / "gap_map.html")
    paths["gap_map.html"] = out / "gap_map.html"
    if png:
        gap_map_png(published, result.providers, out / "gap_map.png", title=title)
        paths["gap_map.png"] = out / "gap_map.png"
    if internal:
        exact = pd.DataFrame(result.table.drop(columns=result.table.geometry.name))
        paths["internal_gaps_exact.csv"] = write_csv(exact, out / "internal_gaps_exact.csv")
    return paths
