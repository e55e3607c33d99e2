"""Colours and classes shared by every picture gapmap draws (HTML maps, PNG maps, charts).

One place decides how a published figure becomes a colour and a legend line, so the
interactive map, the static PNG and the report tell the same story. Every class works on
**published** (suppressed) figures: an area whose hours are withheld (1-7 people by default) gets
:data:`WITHHELD` (grey, hatched), never a colour of the scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gapmap.coverage import LOW_GAP_FROM, MEDIUM_GAP_FROM
from gapmap.publish.disclosure import Suppression

__all__ = [
    "BAND_COLOURS",
    "MARKERS",
    "BAND_LABELS",
    "HOURS_COLOURS",
    "NO_NEED",
    "WITHHELD",
    "WITHHELD_LABEL",
    "Classes",
    "band_classes",
    "change_classes",
    "imd_classes",
    "change_colour",
    "hour_classes",
    "priority_classes",
    "priority_colour",
    "weekend_classes",
    "weekend_colour",
]

#: Fill of areas whose figures are withheld (drawn hatched over it where the medium allows).
WITHHELD = "#d9d9d9"
#: The withheld line under the default rule (a study's own: ``Suppression.withheld_label``).
WITHHELD_LABEL = Suppression().withheld_label
#: Edge of the withheld areas' hatching.
WITHHELD_EDGE = "#969696"
#: Markers and outlines drawn on every map (the HTML maps, the PNG, the GeoPackage's styles):
#: providers and recommended sites (fill, edge), the rural gaps' outline.
MARKERS = {
    "provider": ("#1a9850", "#0b5d1e"),
    "site": ("#4292c6", "#08306b"),
    "rural_gap": ("none", "#6a3d9a"),
    "district": ("none", "#222222"),
}
#: Fill of areas with no need (or none unmet) on an hours scale.
NO_NEED = "#f7f7f7"
#: Sequential reds for hours (ColorBrewer Reds, 5 classes): more hours, darker.
HOURS_COLOURS = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"]
BAND_COLOURS = {"high": "#b2182b", "medium": "#ef8a62", "low": "#fddbc7", "none": "#d1e5f0"}
BAND_LABELS = {
    "high": f"High gap: less than {MEDIUM_GAP_FROM:.0%} of need in reach",
    "medium": f"Medium gap: {MEDIUM_GAP_FROM:.0%} to {LOW_GAP_FROM:.0%} in reach",
    "low": f"Low gap: {LOW_GAP_FROM:.0%} or more in reach",
    "none": "No unmet need",
}
_WEEKEND = [
    (0.0, "#67001f", "None in reach (0%)"),
    (1e-9, "#d6604d", "Below 25%"),
    (0.25, "#f4a582", "25% to 50%"),
    (0.5, "#fddbc7", "50% to 75%"),
    (0.75, "#92c5de", "75% or more"),
]
_PRIORITY = [
    (0.10, "#67000d", "Top 10% of areas"),
    (0.25, "#cb181d", "Top 10% to 25%"),
    (0.50, "#fb6a4a", "Top 25% to 50%"),
    (1.01, "#fcbba1", "Lower half"),
]


def _missing(v) -> bool:
    return v is None or (isinstance(v, (float, np.floating)) and np.isnan(v))


@dataclass(frozen=True)
class Classes:
    """A colour scale: ``colour(value)`` and the legend lines ``(colour, label)`` in order.

    ``withheld`` says whether the legend needs the withheld-figures line, ``withheld_label``
    its words (from the suppression rule).
    """

    title: str
    explain: str
    lines: tuple[tuple[str, str], ...]
    edges: tuple[float, ...] = ()
    colours: tuple[str, ...] = ()
    zero: str | None = None
    withheld: bool = True
    categories: tuple[tuple[str, str], ...] = ()
    withheld_label: str = WITHHELD_LABEL

    def colour(self, value) -> str:
        """The fill for one published value (``None``/NaN: withheld)."""
        if _missing(value):
            return WITHHELD
        if self.categories:
            return dict(self.categories).get(str(value), WITHHELD)
        v = float(value)
        if self.zero is not None and v <= 0:
            return self.zero
        colour = self.colours[0]
        for lo, c in zip(self.edges, self.colours):
            if v >= lo:
                colour = c
        return colour

    def legend(self) -> list[tuple[str, str]]:
        """Legend lines, the withheld line last when it applies."""
        out = list(self.lines)
        if self.withheld:
            out.append((WITHHELD, self.withheld_label))
        return out


def _nice(v: float) -> float:
    """Round a class edge to a number people read easily (5, 10, 25, 50, 100, ...)."""
    if v <= 5:
        return 5.0
    mag = 10 ** np.floor(np.log10(v))
    for step in (1, 2, 2.5, 5, 10):
        if v <= step * mag:
            return float(step * mag)
    return float(10 * mag)


def hour_classes(
    values,
    *,
    title: str,
    explain: str,
    withheld: bool = True,
    rule: Suppression | None = None,
) -> Classes:
    """Five classes of hours a week with readable edges from the published values.

    Edges are the 20/40/60/80% quantiles of the positive values rounded to readable numbers
    (so each class holds roughly a fifth of the areas with hours), 0 is its own class
    ("none"), withheld areas are grey.

    Parameters
    ----------
    values
        Published hours (NaN where withheld).
    title, explain
        The legend's heading and its explanation in words.
    withheld
        Whether some of these figures can be withheld (not for estimated need).
    rule
        The suppression rule the figures follow (its words label withheld areas).

    Examples
    --------
    >>> c = hour_classes([0, 10, 20, 40, 80, 160, 320], title="Unmet", explain="")
    >>> c.colour(0) == NO_NEED, c.colour(320) == HOURS_COLOURS[-1], c.colour(float("nan"))
    (True, True, '#d9d9d9')
    """
    v = np.asarray(values, dtype=float)
    pos = v[np.isfinite(v) & (v > 0)]
    edges: list[float] = []
    if len(pos):
        for q in np.quantile(pos, [0.2, 0.4, 0.6, 0.8]):
            e = _nice(float(q))
            if (not edges or e > edges[-1]) and e < pos.max():
                edges.append(e)
    starts = [0.0, *edges]
    colours = HOURS_COLOURS[-len(starts) :] if len(starts) < 5 else HOURS_COLOURS
    lines: list[tuple[str, str]] = [(NO_NEED, "None")]
    for i, (lo, c) in enumerate(zip(starts, colours)):
        if i + 1 < len(starts):
            label = f"{'Up to' if i == 0 else f'{lo:,.0f} to'} {starts[i + 1]:,.0f} hours"
        else:
            label = f"{lo:,.0f} hours or more" if i else "Some"
        lines.append((c, label))
    label = (rule or Suppression()).withheld_label
    return Classes(
        title, explain, tuple(lines), tuple(starts), tuple(colours), NO_NEED, withheld,
        withheld_label=label,
    )  # fmt: skip


def band_classes() -> Classes:
    """The gap bands of the share of need in reach (``gap_band``)."""
    order = ("high", "medium", "low", "none")
    return Classes(
        "Share of need in reach",
        "The share of the waiting list's hours that providers within travel distance could "
        "give (1 − unmet ÷ need).",
        tuple((BAND_COLOURS[b], BAND_LABELS[b]) for b in order),
        categories=tuple((b, BAND_COLOURS[b]) for b in order),
    )


def weekend_classes() -> Classes:
    """Classes of the weekend share of need in reach."""
    return Classes(
        "Weekend share of need in reach",
        "Of the hours people need on Saturdays and Sundays, the share weekend-working "
        "providers within reach could give.",
        tuple((c, label) for _, c, label in _WEEKEND) + (("#f7f7f7", "No weekend need"),),
        tuple(lo for lo, _, _ in _WEEKEND),
        tuple(c for _, c, _ in _WEEKEND),
    )


def weekend_colour(value, weekend_need) -> str:
    """The weekend layer's fill: withheld grey, pale where there is no weekend need.

    Parameters
    ----------
    value
        The published weekend share of need in reach.
    weekend_need
        The published weekend need hours (NaN where withheld).
    """
    if _missing(weekend_need):
        return WITHHELD
    if float(weekend_need) <= 0 or _missing(value):
        return "#f7f7f7"
    return weekend_classes().colour(value)


def priority_classes() -> Classes:
    """Classes of the recruitment priority rank (rank / number of ranked areas)."""
    return Classes(
        "Priority for recruitment",
        "Ranked by the unmet hours a new micro-provider could take, weighted up for weekend "
        "and rural gaps.",
        tuple((c, label) for _, c, label in _PRIORITY)
        + (("#f0f0f0", "Nothing to recruit for (no rank)"),),
        withheld=False,
    )


def priority_colour(rank, n_ranked: int) -> str:
    """The fill of an area by its priority rank (blank rank: nothing to recruit for).

    Parameters
    ----------
    rank
        The area's priority rank (1 = first), or missing.
    n_ranked
        How many areas have a rank.
    """
    if rank is None or _missing(rank) or n_ranked == 0:
        return "#f0f0f0"
    try:
        r = int(rank)
    except (TypeError, ValueError):
        return "#f0f0f0"
    q = r / n_ranked
    return next(c for hi, c, _ in _PRIORITY if q <= hi)


_CHANGE = [
    (-50.0, "#2166ac", "Fell by 50 hours or more"),
    (-10.0, "#67a9cf", "Fell by 10 to 50 hours"),
    (0.0, "#d1e5f0", "Fell by less than 10 hours"),
    (None, "#f7f7f7", "No change"),
    (10.0, "#fddbc7", "Rose by less than 10 hours"),
    (50.0, "#ef8a62", "Rose by 10 to 50 hours"),
    (float("inf"), "#b2182b", "Rose by 50 hours or more"),
]


def change_classes(rule: Suppression | None = None) -> Classes:
    """The legend of a change in unmet hours (blue: fell, red: rose).

    Parameters
    ----------
    rule
        The runs' suppression rule (its rounding said in the legend; default NHS England's).
    """
    rule = rule or Suppression()
    return Classes(
        "Change in unmet hours a week",
        f"Unmet hours now minus unmet hours then, both as published ({rule.rounding}); "
        "withheld where either figure is.",
        tuple((c, label) for _, c, label in _CHANGE),
    )


def change_colour(value) -> str:
    """The fill for a change in unmet hours (NaN: withheld).

    Parameters
    ----------
    value
        The change (later − earlier), hours a week.
    """
    if _missing(value):
        return WITHHELD
    v = float(value)
    if v == 0:
        return _CHANGE[3][1]
    if v < 0:
        return _CHANGE[0][1] if v <= -50 else _CHANGE[1][1] if v <= -10 else _CHANGE[2][1]
    return _CHANGE[6][1] if v >= 50 else _CHANGE[5][1] if v >= 10 else _CHANGE[4][1]


_IMD = ["#3f007d", "#54278f", "#6a51a3", "#807dba", "#9e9ac8", "#bcbddc", "#dadaeb",
        "#efedf5", "#f7f5fa", "#fcfbfd"]  # fmt: skip


def imd_classes() -> Classes:
    """The IMD decile of an area (1, the most deprived tenth of England, darkest)."""
    lines = tuple(
        (c, f"Decile {i}" + (" (most deprived)" if i == 1 else " (least deprived)" if i == 10
                             else ""))
        for i, c in enumerate(_IMD, 1)
    )  # fmt: skip
    return Classes(
        "Deprivation (IMD decile)",
        "The national decile of the Index of Multiple Deprivation that holds most of the "
        "area's residents.",
        lines + (("#ffffff", "No IMD value"),),
        withheld=False,
        categories=tuple((str(i), c) for i, c in enumerate(_IMD, 1)),
    )
