"""The report's building blocks: :class:`Block` and the pictures and words its sections share.

A section of the report is a list of :class:`Block` (a heading, paragraph, list, table or
picture); :mod:`gapmap.publish.report.render` writes the same blocks as PDF and as Word.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pandas as pd

from gapmap.publish.disclosure import Suppression

__all__ = ["TOP_GAPS", "Block"]


#: How many of the largest gaps the report lists (the terminal lists as many).
TOP_GAPS = 8


@dataclass
class Block:
    """One piece of the report: ``kind`` is h1, h2, p, ul, ol, table, img or meta."""

    kind: str
    text: str = ""
    items: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    png: bytes = b""
    alt: str = ""
    page_break: bool = False
    #: a table's header over groups of columns: (label, number of columns), or none
    groups: list[tuple[str, int]] = field(default_factory=list)
    #: a picture's width on the page, mm (default: the text width)
    width_mm: float = 0.0


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:  # pragma: no cover - a dependency
        return "unknown"


# --- pictures ---------------------------------------------------------------------------------
def _png(draw) -> bytes:
    from gapmap.publish.pictures import _pyplot

    plt = _pyplot()
    fig = draw(plt)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, bbox_inches="tight", pad_inches=0.05)
    plt.close(fig)
    return buf.getvalue()


def _map_png(published, providers, rule: Suppression | None = None) -> bytes:
    from gapmap.publish.pictures import MAP_LEGEND_TITLE, draw_gap_map

    def draw(plt):
        fig, ax = plt.subplots(figsize=(7.0, 5.2))
        handles = draw_gap_map(ax, published, providers, rule)
        ax.legend(handles=handles, title=MAP_LEGEND_TITLE, loc="upper left", fontsize=6.5,
                  title_fontsize=7, frameon=True, bbox_to_anchor=(1.0, 1.0))  # fmt: skip
        fig.subplots_adjust(left=0.01, right=0.72, top=0.99, bottom=0.01)
        return fig

    return _png(draw)


def _scenario_png(scen: pd.DataFrame) -> bytes:
    from gapmap.publish.pictures import draw_scenarios

    def draw(plt):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9.5, 3.8))
        draw_scenarios(a1, a2, scen)
        fig.tight_layout()
        return fig

    return _png(draw)


# --- the document -----------------------------------------------------------------------------
def _money(v) -> str:
    return "*" if v is None or v != v else f"£{float(v):,.0f}"


def _days(settings) -> str:
    return "every day" if settings.weekend_working else "weekdays only"
