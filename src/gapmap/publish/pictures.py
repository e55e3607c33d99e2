"""Static pictures for papers and slides: the gap map and the recruitment scenarios as PNG.

The colours and classes are those of the interactive map (:mod:`.palette`), so a printed map
and the HTML one tell the same story: unmet hours, withheld areas hatched grey, rural gaps
outlined, district outlines and names, a scale bar, title, date and data vintage, and the
source line the Open Government Licence asks for.
"""

from __future__ import annotations

import textwrap
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gapmap.publish.disclosure import Suppression
from gapmap.publish.palette import MARKERS, WITHHELD, WITHHELD_EDGE, hour_classes

__all__ = [
    "deprivation_chart_png", "draw_gap_map", "draw_scenarios", "gap_map_png", "scenario_chart_png",
]  # fmt: skip


def _pyplot():
    """pyplot, headless, drawing text as text (used by every PNG and the PDF report).

    Titles, area and district names and captions come from users and their files: matplotlib
    would read ``$...$`` in them as mathematics (a malformed one stops the run after all the
    work; a valid one is drawn as a formula) or hand them to LaTeX. This is the one place
    where that is switched off, for every figure gapmap draws.
    """
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["text.parse_math"] = False
    matplotlib.rcParams["text.usetex"] = False
    import matplotlib.pyplot as plt

    return plt


#: The static map's legend title: the headline figure it colours.
MAP_LEGEND_TITLE = "Unmet hours a week\nmicro-providers may meet"


def _scale_bar(ax, bounds) -> None:
    """A scale bar in the lower right: the map is in BNG metres, so its length is exact."""
    minx, miny, maxx, maxy = bounds
    width = maxx - minx
    length = next(v for v in (50_000, 20_000, 10_000, 5_000, 2_000, 1_000, 500) if v <= width / 4)
    x0 = maxx - width * 0.04 - length
    y0 = miny + (maxy - miny) * 0.04
    ax.plot([x0, x0 + length], [y0, y0], color="#222", linewidth=3, solid_capstyle="butt")
    for x in (x0, x0 + length):
        ax.plot([x, x], [y0, y0 + (maxy - miny) * 0.008], color="#222", linewidth=1)
    label = f"{length / 1000:g} km"
    ax.text(x0 + length / 2, y0 + (maxy - miny) * 0.012, label, ha="center", va="bottom",
            fontsize=8)  # fmt: skip


def draw_gap_map(
    ax,
    published: gpd.GeoDataFrame,
    providers: pd.DataFrame | None,
    rule: Suppression | None = None,
) -> list:
    """Draw unmet hours, withheld areas, rural gaps, districts (named) and providers on ``ax``.

    Parameters
    ----------
    ax
        A matplotlib axis.
    published
        The **published** area table (EPSG:27700).
    providers
        Providers to draw, or None.
    rule
        The suppression rule ``published`` follows (the key's words for withheld areas).

    Returns
    -------
    list
        Legend handles.
    """
    import matplotlib.patheffects as pe
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    # the headline (issue 31): the unmet hours micro-providers may meet
    key = "micro_unmet_hours" if "micro_unmet_hours" in published else "unmet_hours"
    classes = hour_classes(published[key], title="Unmet hours a week", explain="", rule=rule)
    colours = [classes.colour(v) for v in published[key]]
    held = np.array([c == WITHHELD for c in colours])
    shown = published[~held]
    shown.plot(ax=ax, color=[c for c, h in zip(colours, held) if not h], edgecolor="#777",
               linewidth=0.2)  # fmt: skip
    if held.any():
        published[held].plot(ax=ax, facecolor=WITHHELD, edgecolor=WITHHELD_EDGE, hatch="////",
                             linewidth=0.2)  # fmt: skip
    rg = published[published["rural_gap"].astype(bool)]
    if len(rg):
        rg.boundary.plot(ax=ax, color=MARKERS["rural_gap"][1], linewidth=1.2, linestyle="--")
    districts = published[["district", "geometry"]].copy()
    districts["district"] = districts["district"].fillna("").astype(str)
    districts = districts.dissolve(by="district", as_index=False)
    districts.boundary.plot(ax=ax, color=MARKERS["district"][1], linewidth=0.9)
    halo = [pe.withStroke(linewidth=3, foreground="white")]
    for name, pt in zip(districts["district"], districts.geometry.representative_point()):
        if name:
            ax.text(pt.x, pt.y, name, ha="center", va="center", fontsize=8, weight="bold",
                    color="#222", path_effects=halo)  # fmt: skip
    if providers is not None and len(providers):
        fill, edge = MARKERS["provider"]
        ax.scatter(providers["x"], providers["y"], s=7, c=fill, edgecolors=edge,
                   linewidths=0.3, zorder=3)  # fmt: skip
    handles: list[Any] = []
    for colour, label in classes.legend():
        if colour == WITHHELD:
            handles.append(Patch(facecolor=WITHHELD, edgecolor=WITHHELD_EDGE, hatch="////",
                                 label=label))  # fmt: skip
        else:
            handles.append(Patch(facecolor=colour, edgecolor="#777", label=label))
    handles.append(Patch(facecolor="none", edgecolor=MARKERS["rural_gap"][1], linestyle="--",
                         label="Rural gap"))  # fmt: skip
    handles.append(Patch(facecolor="none", edgecolor=MARKERS["district"][1], label="District"))
    if providers is not None and len(providers):
        handles.append(Line2D([], [], marker="o", linestyle="", color=MARKERS["provider"][0],
                              label="Micro-provider"))  # fmt: skip
    _scale_bar(ax, published.total_bounds)
    ax.set_axis_off()
    ax.set_aspect("equal")
    return handles


def _foot(rule: Suppression) -> str:
    """The PNG map's first footnote: the small-number rule, in its own settings' words."""
    return f"Hours {rule.rounding}; areas with {rule.hidden} people have their figures withheld."


def gap_map_png(
    published: gpd.GeoDataFrame,
    providers: pd.DataFrame | None,
    path,
    *,
    title: str = "Micro-provider gaps",
    caption: str = "",
    source: str = "",
    rule: Suppression | None = None,
) -> None:
    """A static map of unmet hours, written as PNG (atomically).

    Parameters
    ----------
    published
        The **published** area table with geometry in EPSG:27700.
    providers
        Providers to draw (their postcode centroids), or None.
    path
        The PNG file.
    title
        The map's title.
    caption
        The line under the title (date, data vintage).
    source
        The source and licence line printed at the foot.
    rule
        The suppression rule ``published`` follows (the key and the foot say it).
    """
    from gapmap.publish.export import atomic_path

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(11.7, 8.3), dpi=110)
    handles = draw_gap_map(ax, published, providers, rule)
    ax.legend(handles=handles, title=MAP_LEGEND_TITLE, loc="upper left", fontsize=8,
              title_fontsize=9, frameon=True, bbox_to_anchor=(1.0, 1.0))  # fmt: skip
    fig.suptitle(title, x=0.02, ha="left", fontsize=14, weight="bold")
    if caption:
        fig.text(0.02, 0.925, caption, fontsize=8, color="#333", ha="left", wrap=True)
    foot = _foot(rule or Suppression())
    if source:
        foot += "\n" + "\n".join(textwrap.wrap(source, 190))
    fig.text(0.02, 0.012, foot, fontsize=6.5, color="#555", ha="left", va="bottom")
    fig.subplots_adjust(left=0.02, right=0.78, top=0.9, bottom=0.06)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def draw_scenarios(a1, a2, scenarios: pd.DataFrame) -> None:
    """Draw the scenarios: hours taken (``a1``) and yearly saving (``a2``), with value labels.

    Parameters
    ----------
    a1, a2
        Two matplotlib axes.
    scenarios
        The **published** scenario table.
    """
    labels = []
    for k, placed in zip(scenarios["new_providers"], scenarios["providers_placed"]):
        label = f"{int(k)}"
        if int(placed) < int(k):
            label += f"\n(only {int(placed)} placed)"
        labels.append(label)
    x = np.arange(len(labels))
    a1.bar(x, scenarios["recruitable_unmet_hours"], color="#fcbba1",
           label="recruitable unmet hours")  # fmt: skip
    bars = a1.bar(x, scenarios["hours_taken"], color="#cb181d", label="taken by new providers")
    a1.bar_label(bars, labels=["withheld" if v != v else f"{v:,.0f} h"
                               for v in scenarios["hours_taken"]], fontsize=8,
                 padding=2)  # fmt: skip
    a1.set_xticks(x, labels, fontsize=8)
    a1.set_xlabel("new micro-providers")
    a1.set_ylabel("hours a week")
    a1.set_title("unmet hours a week the new providers would take", fontsize=9)
    a1.legend(fontsize=7, loc="upper left")
    money = scenarios["saving_per_year_vs_home_care"] / 1000.0
    bars2 = a2.bar(x, money, color="#2171b5")
    a2.bar_label(bars2, labels=["withheld" if v != v else f"£{v:,.0f}k" for v in money],
                 fontsize=8, padding=2)  # fmt: skip
    a2.set_xticks(x, labels, fontsize=8)
    a2.set_xlabel("new micro-providers")
    a2.set_ylabel("£ thousand a year")
    a2.set_title("yearly saving against commissioned home care", fontsize=9)
    for ax in (a1, a2):
        ax.margins(y=0.15)
        ax.spines[["top", "right"]].set_visible(False)
    a1.margins(y=0.3)


def scenario_chart_png(scenarios: pd.DataFrame, path, *, title: str, caption: str = "") -> None:
    """A bar chart of the recruitment scenarios with value labels (written atomically).

    Left: recruitable unmet hours and the hours the new providers would take, for each number
    of new providers; right: the yearly saving against commissioned home care. A scenario that
    places fewer providers than asked says so under its bar.

    Parameters
    ----------
    scenarios
        The **published** scenario table.
    path
        The PNG file.
    title
        The chart's title.
    caption
        A line under the title (date, data vintage).
    """
    from gapmap.publish.export import atomic_path

    plt = _pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=110)
    draw_scenarios(a1, a2, scenarios)
    fig.suptitle(title, fontsize=11)
    lines = textwrap.wrap(caption, 170) if caption else []
    if lines:
        fig.text(0.5, 0.9, "\n".join(lines), fontsize=7, color="#333", ha="center", va="top")
    fig.tight_layout(rect=(0, 0, 1, 0.9 - 0.03 * len(lines) if lines else 0.95))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def deprivation_chart_png(published: pd.DataFrame, path, *, title: str) -> None:
    """Unmet hours per 1,000 residents by IMD decile (register, and estimated when present).

    Parameters
    ----------
    published
        :func:`gapmap.publish.tables.publish_deprivation` (its ``attrs`` hold the
        concentration indices).
    path
        The PNG file (written atomically).
    title
        The chart's title.
    """
    from gapmap.publish.export import atomic_path

    plt = _pyplot()
    ci = published.attrs.get("concentration_index", {})
    series = [("unmet_hours_per_1000_residents", "waiting list", "register", "#cb181d")]
    if "estimated_unmet_hours_per_1000_residents" in published:
        series.append(("estimated_unmet_hours_per_1000_residents", "estimated (Census)",
                       "estimated", "#6a51a3"))  # fmt: skip
    fig, axes = plt.subplots(1, len(series), figsize=(5 * len(series), 3.6), dpi=110)
    axes = np.atleast_1d(axes)
    x = published["imd_decile"].astype(int).to_numpy()
    for ax, (col, label, key, colour) in zip(axes, series):
        v = published[col].to_numpy(float)
        bars = ax.bar(x, np.nan_to_num(v), color=colour)
        ax.bar_label(bars, labels=["withheld" if np.isnan(a) else f"{a:,.0f}" for a in v],
                     fontsize=7, padding=2)  # fmt: skip
        ax.set_xticks(x)
        ax.set_xlabel("IMD decile (1 = most deprived tenth of England)")
        ax.set_ylabel("unmet hours a week per 1,000 residents")
        c = ci.get(key)
        ax.set_title(f"{label}" + (f": concentration index {c:+.3f}" if c is not None else ""),
                     fontsize=9)  # fmt: skip
        ax.margins(y=0.15)
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
