"""``gapmap.gpkg``: one GeoPackage per run that QGIS opens coloured like the HTML map.

Layers (all published figures, EPSG:27700): ``areas`` (the gap table), ``districts`` (their
totals, suppressed like the workbook), ``providers`` (the register as published: businesses at
their postcode centroid), and after ``recruit`` ``recruitment_areas`` and ``recruitment_sites``.
Each layer has a description in ``gpkg_contents`` and a default style in the ``layer_styles``
table of the QGIS GeoPackage styling extension (QML, rule-based, the classes and colours of
:mod:`.palette`), so QGIS draws unmet hours with withheld areas hatched grey, district
outlines, providers as green dots and sites as blue ones without any styling by hand.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from xml.sax.saxutils import quoteattr

import geopandas as gpd

from gapmap.publish.disclosure import numeric_counts
from gapmap.publish.export import atomic_path
from gapmap.publish.palette import (
    MARKERS,
    NO_NEED,
    WITHHELD,
    WITHHELD_EDGE,
    Classes,
    priority_classes,
)

__all__ = ["LayerSpec", "areas_style", "point_style", "outline_style", "write_geopackage"]


def _rgb(hex_colour: str, alpha: int = 255) -> str:
    h = hex_colour.lstrip("#")
    return ",".join(str(int(h[i : i + 2], 16)) for i in (0, 2, 4)) + f",{alpha}"


def _props(values: dict[str, str]) -> str:
    """A symbol layer's properties, in both the old (``prop``) and new (``Option``) forms."""
    old = "".join(f"<prop k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in values.items())
    new = "".join(
        f'<Option type="QString" name={quoteattr(k)} value={quoteattr(v)}/>'
        for k, v in values.items()
    )
    return f'<Option type="Map">{new}</Option>{old}'


def _fill(name: str, colour: str, *, hatch: bool = False, outline: str = "#666666",
          width: float = 0.2, no_fill: bool = False) -> str:  # fmt: skip
    style = "no" if no_fill else ("b_diagonal" if hatch else "solid")
    props = {
        "color": _rgb(colour),
        "style": style,
        "outline_color": _rgb(outline),
        "outline_style": "solid",
        "outline_width": f"{width:g}",
        "outline_width_unit": "MM",
    }
    layers = ""
    if hatch:  # grey under a hatch
        layers += (
            '<layer class="SimpleFill" enabled="1" locked="0" pass="0">'
            + _props({**props, "color": _rgb(WITHHELD), "style": "solid"})
            + "</layer>"
        )
        props = {**props, "color": _rgb(WITHHELD_EDGE)}
    layers += f'<layer class="SimpleFill" enabled="1" locked="0" pass="0">{_props(props)}</layer>'
    head = f'<symbol type="fill" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
    return head + layers + "</symbol>"


def _marker(name: str, colour: str, outline: str, size: float) -> str:
    props = {
        "color": _rgb(colour),
        "name": "circle",
        "size": f"{size:g}",
        "size_unit": "MM",
        "outline_color": _rgb(outline),
        "outline_style": "solid",
        "outline_width": "0.3",
    }
    return (
        f'<symbol type="marker" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
        f'<layer class="SimpleMarker" enabled="1" locked="0" pass="0">{_props(props)}</layer>'
        "</symbol>"
    )


def _qml(renderer: str) -> str:
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
        f'<qgis version="3.28.0" styleCategories="Symbology">{renderer}</qgis>'
    )


def _rule_qml(rules: list[tuple[str, str]], symbols: list[str]) -> str:
    """A rule-based renderer: rule i (filter, legend label) draws with symbol i."""
    body = "".join(
        f'<rule key="r{i}" symbol="{i}" filter={quoteattr(cond)} label={quoteattr(label)}/>'
        for i, (cond, label) in enumerate(rules)
    )
    return _qml(
        '<renderer-v2 type="RuleRenderer" symbollevels="0" enableorderby="0" forceraster="0">'
        f'<rules key="root">{body}</rules><symbols>{"".join(symbols)}</symbols></renderer-v2>'
    )


def areas_style(field: str, classes: Classes) -> str:
    """A rule-based QML style of an hours column: NULL (withheld) hatched, 0 "none", classes.

    Parameters
    ----------
    field
        The column (e.g. ``unmet_hours``).
    classes
        The classes (:func:`gapmap.publish.palette.hour_classes`).

    Returns
    -------
    str
        The QML document.
    """
    f = f'"{field}"'
    rules, symbols = [], []
    lines = [line for line in classes.legend() if line[0] not in (WITHHELD, NO_NEED)]
    edges = list(classes.edges)
    if classes.withheld:
        rules.append((f"{f} IS NULL", classes.withheld_label))
        symbols.append(_fill("0", WITHHELD, hatch=True))
    rules.append((f"{f} = 0", "None"))
    symbols.append(_fill(str(len(symbols)), NO_NEED))
    for i, (colour, label) in enumerate(lines):
        lo = edges[i]
        hi = edges[i + 1] if i + 1 < len(edges) else None
        cond = f"{f} > 0" if i == 0 else f"{f} >= {lo:g}"
        if hi is not None:
            cond += f" AND {f} < {hi:g}"
        rules.append((cond, label))
        symbols.append(_fill(str(len(symbols)), colour))
    return _rule_qml(rules, symbols)


def priority_style(field: str = "priority_rank", n_ranked: int = 1) -> str:
    """A rule-based QML style of the recruitment priority (rank / ranked areas).

    Parameters
    ----------
    field
        The rank column.
    n_ranked
        How many areas have a rank.

    Returns
    -------
    str
        The QML document.
    """
    f = f'"{field}"'
    c = priority_classes()
    cuts = [0.10, 0.25, 0.50, 1.01]
    rules, symbols, lo = [], [], 0.0
    for i, ((colour, label), hi) in enumerate(zip(c.lines[:4], cuts)):
        cond = f"{f} > {lo * n_ranked:g} AND {f} <= {hi * n_ranked:g}"
        rules.append((cond, label))
        symbols.append(_fill(str(i), colour))
        lo = hi
    rules.append((f"{f} IS NULL", c.lines[4][1]))
    symbols.append(_fill(str(len(symbols)), c.lines[4][0]))
    return _rule_qml(rules, symbols)


def point_style(colour: str, outline: str, size: float) -> str:
    """A single-symbol QML style of circles (providers, sites).

    Parameters
    ----------
    colour, outline
        Fill and outline colours (``#rrggbb``).
    size
        Diameter in millimetres.

    Returns
    -------
    str
        The QML document.
    """
    return _qml(
        '<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
        f"<symbols>{_marker('0', colour, outline, size)}</symbols></renderer-v2>"
    )


def outline_style(colour: str = MARKERS["district"][1], width: float = 0.6) -> str:
    """A single-symbol QML style of outlines with no fill (districts).

    Parameters
    ----------
    colour
        The outline colour.
    width
        Its width in millimetres.

    Returns
    -------
    str
        The QML document.
    """
    return _qml(
        '<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
        f"<symbols>{_fill('0', colour, outline=colour, width=width, no_fill=True)}</symbols>"
        "</renderer-v2>"
    )


class LayerSpec:
    """One layer to write: the frame, its description and its default QML style."""

    def __init__(self, frame: gpd.GeoDataFrame, description: str, qml: str):
        self.frame = frame
        self.description = description
        self.qml = qml


_STYLES_TABLE = """
CREATE TABLE IF NOT EXISTS layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256),
  f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT,
  useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
  update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)"""


def write_geopackage(path: str | Path, layers: dict[str, LayerSpec], *, keep: bool = True) -> Path:
    """Write layers with descriptions and default styles into one GeoPackage, atomically.

    Parameters
    ----------
    path
        The file.
    layers
        Layer name → :class:`LayerSpec`.
    keep
        Keep the other layers of an existing file (a later command of the same run adds its
        layers); the named layers are replaced.

    Returns
    -------
    Path
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.unlink()
        if keep and path.exists():
            shutil.copyfile(path, tmp)
        for name, spec in layers.items():
            numeric_counts(spec.frame).to_file(
                tmp, driver="GPKG", layer=name, engine="pyogrio", mode="w"
            )
        with sqlite3.connect(tmp) as db:
            db.execute(_STYLES_TABLE)
            known = {r[0] for r in db.execute("SELECT table_name FROM gpkg_contents")}
            if "layer_styles" not in known:
                db.execute(
                    "INSERT INTO gpkg_contents (table_name, data_type, identifier, description)"
                    " VALUES ('layer_styles', 'attributes', 'layer_styles',"
                    " 'QGIS default styles of the layers')"
                )
            geoms = dict(db.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
            for name, spec in layers.items():
                geom = geoms.get(name, "geom")
                db.execute(
                    "UPDATE gpkg_contents SET description = ?, identifier = ? WHERE table_name = ?",
                    (spec.description, name, name),
                )
                db.execute("DELETE FROM layer_styles WHERE f_table_name = ?", (name,))
                db.execute(
                    "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                    "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description,"
                    " owner) VALUES ('', '', ?, ?, ?, ?, '', 1, ?, 'gapmap')",
                    (name, geom, f"gapmap {name}", spec.qml, spec.description),
                )  # fmt: skip
    return path
