"""Interactive maps that work offline and print well: the gap map and the recruitment map.

Each map is one self-contained HTML file. Leaflet (1.9, from the PyPI package
``xstatic-leaflet``) and the maps' own stylesheet and script (``publish/assets/map.css`` and
``map.js``) are inlined, and nothing else is fetched except background tiles, which are
optional: when none load (no internet) the "No background" choice is selected by itself, and
the map gives its own bearings (:mod:`.mapplaces`): district outlines and names, towns and
villages, and area names, each shown from a zoom level and never over another name or a panel.

What a reader sees:

- a skip link (the first thing the Tab key reaches) to the search box;
- a title, the date and the data vintage above the map (``title`` and ``caption``; folded
  behind a "Date and sources" button on a phone), the sources' credit under it;
- one colouring of the areas at a time (the default is **unmet hours**, the hours to close),
  chosen in the "Map options" panel, with the legend ("Key") following the choice; areas whose
  figures are withheld (by the suppression rule) are hatched grey, never a colour of the scale;
- overlays: rural gaps (outlined), providers (always on top and clickable), recommended sites;
- a search box: a town or village, a full postcode (shown through its postcode sector: the map
  holds no single postcodes, and says so), a postcode sector or district, an area's name or
  code, a district;
- panels that fold to a button (folded from the start on a phone) and a county view fitted
  clear of them; popups in words (services, days, free hours) that pan clear of them; a page
  that may be zoomed; a scale bar and a print layout (no controls, legend beside the map).

Every text from input files (area and district names, providers' trading names) is
HTML-escaped before it enters the page's HTML, names drawn as labels are put in with
``textContent``, and the embedded JSON cannot end its ``<script>``. The maps take only
published figures (already suppressed), providers' postcode centroids and no person's location
or id. Colours and classes come from :mod:`.palette`, shared with the PNGs.

This module says what each map shows (its colourings, popups and keys); the page they share
(Leaflet and the assets inlined, the layers, :func:`save_map`) is built in :mod:`.maplayers`,
and the words of popups and keys in :mod:`.mapwords`.
"""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from gapmap.publish.disclosure import Suppression
from gapmap.publish.maplayers import (
    ATTRIBUTION,
    _area_map,
    _common_keys,
    _key_line,
    _withheld,
    _worded,
    save_map,
)
from gapmap.publish.mapwords import (
    _esc,
    _hours,
    _km,
    _missing,
    _pct,
    _table_html,
    days_in_words,
)
from gapmap.publish.palette import (
    MARKERS,
    WITHHELD,
    Classes,
    band_classes,
    change_classes,
    change_colour,
    hour_classes,
    imd_classes,
    priority_classes,
    priority_colour,
    weekend_classes,
    weekend_colour,
)

__all__ = ["ATTRIBUTION", "change_map", "days_in_words", "gap_map", "recruit_map", "save_map"]


def gap_map(
    published: gpd.GeoDataFrame,
    providers: pd.DataFrame | None = None,
    *,
    title: str = "gapmap: micro-provider gaps",
    caption: str = "",
    places: pd.DataFrame | None = None,
    weekend_weight: float = 0.5,
    rural_weight: float = 0.5,
    simplify_m: float = 20.0,
    rule: Suppression | None = None,
    resilience: pd.DataFrame | None = None,
) -> folium.Map:
    """The interactive gap map: unmet hours first, every other figure one click away.

    Parameters
    ----------
    published
        The **published** (suppressed) area table with geometry in EPSG:27700.
    providers
        Providers register (``name``, ``x``, ``y``, ``services``, ``days``,
        ``capacity_hours``, optional ``phone``, ``email``, ``website``); drawn at their postcode
        centroid.
    title, caption
        The heading above the map and the line under it (date, data vintage).
    places
        Extra search entries (``name``, ``x``, ``y`` in BNG metres), e.g. postcode districts.
    weekend_weight, rural_weight
        The gap score's weights (for the legend's explanation).
    simplify_m
        Simplification tolerance of the drawn outlines, metres.
    rule
        The suppression rule ``published`` follows (default: the NHS England rule); the map's
        words about withheld figures are its own.
    resilience
        Optional N−1 resilience by area **as published**
        (:func:`gapmap.publish.cover.publish_resilience`: ``area_code``,
        ``worst_single_absence_hours``, ``expected_uncovered_hours``, NaN where withheld): two
        more layers and two more lines in each area's details. Areas it does not list support
        no one, so no absence leaves hours uncovered there (0).

    Returns
    -------
    folium.Map
        Save it with :func:`save_map`.
    """
    rule = rule or Suppression()
    held_words = f"withheld ({rule.few} people)"
    t = pd.DataFrame(published.drop(columns=published.geometry.name))
    hidden = _withheld(t)
    estimated = "estimated_need_hours" in t
    n1 = resilience is not None
    if resilience is not None:
        res = pd.DataFrame(resilience).drop_duplicates("area_code").set_index("area_code")
        listed = t["area_code"].isin(res.index).to_numpy()
        for col in ("worst_single_absence_hours", "expected_uncovered_hours"):
            got = pd.to_numeric(t["area_code"].map(res[col]), errors="coerce").to_numpy(float)
            t["n1_" + col] = np.where(listed, got, 0.0)

    def tip(r: dict, held: bool) -> str:
        flags = (("rural gap", r["rural_gap"]), ("weekend gap", r["weekend_gap"]))
        gaps = [b for b, f in flags if f]
        rows = [
            ("Area", f"{_esc(r['area_name'])} ({_esc(r['area_code'])})"),
            ("District", _esc(r["district"])),
            ("Rural", "yes" if r["rural"] else "no"),
            ("People waiting", rule.few if held else _esc(r["people"])),
            ("Unmet a week micro-providers may meet",
             _hours(r.get("micro_unmet_hours"), held_words)),
            ("Need for regulated services a week",
             _hours(r.get("need_hours_not_self_directing"), held_words)),
            ("Need a week (everyone waiting)", _hours(r["need_hours"], held_words)),
            ("Unmet a week (everyone waiting)", _hours(r["unmet_hours"], held_words)),
            ("Share of need in reach", "withheld" if held else _pct(r["coverage_ratio"])),
            (
                "Weekend share in reach",
                "withheld" if held else _pct(r["weekend_coverage_ratio"], "no weekend need"),
            ),
            (
                "Provider hours in reach per hour of need",
                "withheld" if held or _missing(r["provision_ratio"])
                else f"{float(r['provision_ratio']):.2f}",
            ),
            ("Nearest provider", _km(r["nearest_provider_km"])),
            ("Gap score", _hours(r["gap_score"], held_words).replace(" h", "")),
            ("Gap", ", ".join([_esc(r["gap_band"]).capitalize(), *gaps])),
        ]  # fmt: skip
        if "imd_decile" in r:
            rows.append(
                ("Deprivation", "no IMD value" if _missing(r["imd_decile"])
                 else f"IMD decile {int(r['imd_decile'])} of 10 (1 = most deprived)"),
            )  # fmt: skip
        if n1:
            rows += [
                ("One provider off (N−1): worst single absence",
                 _hours(r["n1_worst_single_absence_hours"], held_words)),
                ("One provider off (N−1): expected uncovered",
                 _hours(r["n1_expected_uncovered_hours"], held_words)),
            ]  # fmt: skip
        if estimated:
            rows += [
                ("Estimated need a week (census)", _hours(r["estimated_need_hours"], "none")),
                ("Estimated unmet a week", _hours(r["estimated_unmet_hours"], "none")),
                ("Estimated share in reach", _pct(r["estimated_coverage_ratio"])),
            ]
        return _table_html(rows)

    records = t.to_dict("records")
    tips = [tip(r, bool(h)) for r, h in zip(records, hidden)]
    # the headline (issue 31): only need micro-providers may meet; regulated need apart
    key = "micro_unmet_hours" if "micro_unmet_hours" in t else "unmet_hours"
    unmet = hour_classes(
        t[key],
        title="Unmet hours a week micro-providers may meet",
        explain="Hours needed by people who can direct their own care (or have a "
        "representative who can) that no provider within travel distance has free: the hours "
        "to close. Need of people who cannot is need for regulated services, not counted here.",
        rule=rule,
    )
    score = hour_classes(
        t["gap_score"],
        rule=rule,
        title="Gap score",
        explain=f"Unmet hours × (1 + {weekend_weight:g} if the area has a weekend gap + "
        f"{rural_weight:g} if it has a rural gap): where hours are both unmet and hardest to "
        "serve.",
    )
    bands, weekend = band_classes(), weekend_classes()
    layers: list[tuple[str, str, Classes, list[str]]] = [
        ("unmet", "Unmet hours", unmet, [unmet.colour(v) for v in t[key]]),
        (
            "coverage",
            "Share of need in reach",
            bands,
            [WITHHELD if h else bands.colour(b) for h, b in zip(hidden, t["gap_band"])],
        ),
        (
            "weekend",
            "Weekend share in reach",
            weekend,
            [
                WITHHELD if h else weekend_colour(v, n)
                for h, v, n in zip(hidden, t["weekend_coverage_ratio"], t["weekend_need_hours"])
            ],
        ),
        ("score", "Gap score", score, [score.colour(v) for v in t["gap_score"]]),
    ]
    if estimated:
        est_need = hour_classes(
            t["estimated_need_hours"],
            title="Estimated need a week (census)",
            explain="Hours of help adults are estimated to need, from the Census population "
            "and published survey rates: need that may not be on any waiting list.",
            withheld=False,
        )
        est_unmet = hour_classes(
            t["estimated_unmet_hours"],
            title="Estimated unmet hours a week (census)",
            explain="Estimated need that no provider within travel distance has free.",
            withheld=False,
        )
        layers += [
            ("est_need", "Estimated need (census)", est_need,
             [est_need.colour(v) for v in t["estimated_need_hours"]]),
            ("est_unmet", "Estimated unmet hours (census)", est_unmet,
             [est_unmet.colour(v) for v in t["estimated_unmet_hours"]]),
        ]  # fmt: skip
    if "imd_decile" in t:
        imd = imd_classes()
        layers.append(
            ("imd", "Deprivation (IMD decile)", imd,
             ["#ffffff" if _missing(v) else imd.colour(int(v)) for v in t["imd_decile"]]),
        )  # fmt: skip
    if n1:
        worst = hour_classes(
            t["n1_worst_single_absence_hours"],
            title="One provider off: worst single absence (N−1)",
            explain="Hours a week the best cover plan would leave uncovered in the area if the "
            "one provider whose absence hurts it most were off for a week.",
        )
        expected = hour_classes(
            t["n1_expected_uncovered_hours"],
            title="One provider off: expected uncovered hours (N−1)",
            explain="Hours a week expected to go uncovered in the area when providers are off "
            "at the usual absence rate, after the best cover plans.",
        )
        layers += [
            ("n1_worst", "One provider off: worst (N−1)", worst,
             [worst.colour(v) for v in t["n1_worst_single_absence_hours"]]),
            ("n1_expected", "One provider off: expected (N−1)", expected,
             [expected.colour(v) for v in t["n1_expected_uncovered_hours"]]),
        ]  # fmt: skip
    note = (
        f"Hours {rule.rounding}; areas with {rule.hidden} people show * and withhold their "
        "figures. Providers are drawn at their postcode's centre."
    )
    layers = _worded(layers, rule)
    return _area_map(
        published, providers, title=title, caption=caption, tips=tips, layers=layers,
        key_lines=_common_keys(), note=note, places=places, simplify_m=simplify_m,
    )  # fmt: skip


def recruit_map(
    ranking: gpd.GeoDataFrame,
    providers: pd.DataFrame | None,
    sites: pd.DataFrame,
    *,
    title: str = "gapmap: where to recruit micro-providers",
    caption: str = "",
    places: pd.DataFrame | None = None,
    simplify_m: float = 20.0,
    recommended: int | None = None,
    rule: Suppression | None = None,
) -> folium.Map:
    """Ranked areas (priority for recruitment) and recommended sites, one layer per scenario.

    Parameters
    ----------
    ranking
        The **published** ranking (:func:`gapmap.publish.publish_ranking`), EPSG:27700, with
        its ``outcome`` (what the largest scenario does for the area, in words).
    providers
        Existing providers (drawn on top).
    sites
        The **published** sites (:func:`gapmap.publish.publish_sites`), with
        ``new_providers`` (the scenario), ``latitude``, ``longitude``, ``explanation``.
    title, caption
        The heading and the line under it (date, data vintage).
    places
        Extra search entries (``name``, ``x``, ``y`` in BNG metres).
    simplify_m
        Simplification tolerance of the drawn outlines, metres.
    recommended
        The scenario the report recommends: the map opens on its sites (default: the largest).
    rule
        The suppression rule the tables follow (its words in the key and the note).

    Returns
    -------
    folium.Map
        Save it with :func:`save_map`.
    """
    rule = rule or Suppression()
    t = pd.DataFrame(ranking.drop(columns=ranking.geometry.name))
    n_ranked = int(t["priority_rank"].notna().sum())

    def tip(r: dict) -> str:
        rank = r["priority_rank"]
        rows = [
            ("Area", f"{_esc(r['area_name'])} ({_esc(r['area_code'])})"),
            ("District", _esc(r["district"])),
            (
                "Priority",
                "no rank: nothing to recruit for" if _missing(rank)
                else f"{int(rank)} of {n_ranked}",
            ),
            ("Why", _esc(r["reason"])),
            ("Unmet a week", _hours(r["unmet_hours"])),
            ("A recruit could take a week", _hours(r["recruitable_unmet_hours"])),
            ("Nearest weekend provider", _km(r["nearest_weekend_provider_km"])),
            ("New providers here", _esc(r["new_providers_recommended"])),
        ]  # fmt: skip
        if "outcome" in r:
            rows.append(("Outcome", _esc(r["outcome"])))
        return _table_html(rows)

    tips = [tip(r) for r in t.to_dict("records")]
    prio = priority_classes()
    unmet = hour_classes(
        t["unmet_hours"], title="Unmet hours a week",
        explain="Hours people need that no provider within travel distance has free.", rule=rule,
    )  # fmt: skip
    recruitable = hour_classes(
        t["recruitable_unmet_hours"],
        rule=rule,
        title="Hours a recruit could take a week",
        explain="Unmet hours of people a micro-provider may serve (self-directing, no regulated "
        "care, services recruits offer), on the days recruits work.",
    )
    layers: list[tuple[str, str, Classes, list[str]]] = [
        ("priority", "Priority for recruitment", prio,
         [priority_colour(v, n_ranked) for v in t["priority_rank"]]),
        ("unmet", "Unmet hours", unmet, [unmet.colour(v) for v in t["unmet_hours"]]),
        ("recruitable", "Hours a recruit could take", recruitable,
         [recruitable.colour(v) for v in t["recruitable_unmet_hours"]]),
    ]  # fmt: skip
    groups = []
    scenarios = sorted(sites["new_providers"].unique()) if len(sites) else []
    for k in scenarios:
        s = sites[sites["new_providers"] == k]
        points = []
        for r in s.to_dict("records"):
            rows = [
                ("Site", f"<strong>{int(r['site_rank'])}</strong> of {len(s)} for {int(k)} "
                         "new providers"),
                ("Area", _esc(r["area_name"])),
                *([("Town or village", _esc(r["place"]))] if r.get("place") else []),
                ("District", _esc(r["district"])),
                ("New providers here", str(int(r["providers_at"]))),
                ("Would take a week", _hours(r["hours_taken"], "withheld (few people)")),
                ("Unmet hours in reach", _hours(r["unmet_hours_in_reach"], "withheld")),
            ]  # fmt: skip
            if "explanation" in r:
                rows.append(("Why here", _esc(r["explanation"])))
            points.append(
                {
                    "lat": float(r["latitude"]),
                    "lon": float(r["longitude"]),
                    "r": 5 + 2 * int(r["providers_at"]),
                    "name": f"Site {int(r['site_rank'])}: "
                    + ("" if _missing(r["area_name"]) else str(r["area_name"])),
                    "tip": _table_html(rows),
                }
            )
        opens = recommended if recommended in scenarios else scenarios[-1]
        groups.append(
            {
                "name": f"Sites for {int(k)} new providers"
                + (" (recommended)" if k == recommended else ""),
                "show": bool(k == opens),
                "points": points,
            }
        )
    keys = [
        {
            "overlay": None,
            "html": _key_line(
                MARKERS["site"][0],
                "Recommended site (larger: more new providers there)",
                shape=f"border-radius:50%;border:2px solid {MARKERS['site'][1]};",
            ),
        },
        *_common_keys(),
    ]
    note = (
        f"Sites are points inside areas, not addresses. Hours {rule.rounding}; areas with "
        f"{rule.hidden} people withhold their hours."
    )
    layers = _worded(layers, rule)
    return _area_map(
        ranking, providers, title=title, caption=caption, tips=tips, layers=layers,
        key_lines=keys, note=note, sites=groups, places=places, rural_shown=False,
        simplify_m=simplify_m,
    )  # fmt: skip


def change_map(
    areas: gpd.GeoDataFrame,
    *,
    title: str = "gapmap: what changed",
    words: list[str] | None = None,
    simplify_m: float = 20.0,
    rule: Suppression | None = None,
) -> folium.Map:
    """The change in unmet hours between two runs, area by area.

    Parameters
    ----------
    areas
        :attr:`gapmap.compare.Comparison.areas` with the later run's geometry (EPSG:27700).
    title
        The heading.
    words
        The comparison in words (shown under the title).
    simplify_m
        Simplification tolerance of the drawn outlines, metres.
    rule
        The runs' small-number rule (:attr:`gapmap.compare.Comparison.rule`), said in the key.

    Returns
    -------
    folium.Map
    """
    t = pd.DataFrame(areas.drop(columns=areas.geometry.name))

    def tip(r: dict) -> str:
        return _table_html(
            [
                ("Area", f"{_esc(r['area_name'])} ({_esc(r['area_code'])})"),
                ("District", _esc(r["district"])),
                ("Unmet then", _hours(r["unmet_hours_before"])),
                ("Unmet now", _hours(r["unmet_hours_after"])),
                ("Change", "withheld" if _missing(r["unmet_hours_change"])
                 else f"{float(r['unmet_hours_change']):+,.0f} h"),
                ("Share in reach then", _pct(r["coverage_ratio_before"])),
                ("Share in reach now", _pct(r["coverage_ratio_after"])),
            ]
        )  # fmt: skip

    rule = rule or Suppression()
    unmet = hour_classes(
        t["unmet_hours_after"], title="Unmet hours a week now",
        explain="Hours people need that no provider within travel distance has free.",
        rule=rule,
    )  # fmt: skip
    layers: list[tuple[str, str, Classes, list[str]]] = [
        ("change", "Change in unmet hours", change_classes(rule),
         [change_colour(v) for v in t["unmet_hours_change"]]),
        ("unmet", "Unmet hours now", unmet, [unmet.colour(v) for v in t["unmet_hours_after"]]),
    ]  # fmt: skip
    g = areas.assign(rural_gap=False)
    return _area_map(
        g, None, title=title, caption=" ".join(words or []),
        tips=[tip(r) for r in t.to_dict("records")], layers=layers,
        key_lines=_common_keys(rural=False)[1:],
        note=f"Hours {rule.rounding} in both runs.",
        rural_shown=False, simplify_m=simplify_m,
    )  # fmt: skip
