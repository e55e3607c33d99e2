"""The report's recruitment section: weekday-only and seven-day recruits side by side.

One row per number of new providers asked for, with the hours taken, the saving against
commissioned home care and the weekend gaps closed, for each kind of recruit; the scenarios'
chart; where the recommended recruits would go.
"""

from __future__ import annotations

from typing import Any

from gapmap.publish.figures import whole
from gapmap.publish.report.blocks import (
    Block,
    _days,
    _money,
    _scenario_png,
)


def _scenario_groups(rec) -> list[tuple[str, int]]:
    variants = [rec] + ([rec.alternative] if rec.alternative is not None else [])
    names = sorted(
        "Recruits working every day"
        if v.settings.weekend_working
        else "Recruits working weekdays only"
        for v in variants
    )
    return [("", 1)] + [(n, 4) for n in reversed(names)]


def _scenario_rows(pub) -> tuple[list[str], list[list[str]], list[Any]]:
    """Weekday-only and seven-day recruits side by side, one row per number asked for."""
    variants = sorted(pub.variants(), key=lambda vs: vs[0].settings.weekend_working)
    tables = [sc for _, sc in variants]
    header = ["New providers asked for"]
    for _ in variants:
        header += ["Placed", "Hours a week taken", "Weekend gaps closed", "Saving a year"]
    rows = []
    for i, k in enumerate(tables[0]["new_providers"]):
        row = [f"{int(k):,}"]
        for sc in tables:
            r = sc.iloc[i]
            closed = int(r["weekend_gaps_before"]) - int(r["weekend_gaps_after"])
            row += [
                f"{int(r['providers_placed']):,}",
                whole(r["hours_taken"]),
                f"{closed} of {int(r['weekend_gaps_before'])}",
                _money(r["saving_per_year_vs_home_care"]),
            ]
        rows.append(row)
    return header, rows, tables


def _recruit_blocks(pub) -> list[Block]:
    rec = pub.rec
    s = rec.settings
    header, rows, tables = _scenario_rows(pub)
    k = rec.recommended
    out = [Block("h2", "Recruiting micro-providers: options for the committee", page_break=True)]
    out.append(
        Block(
            "p",
            f"Each new micro-provider is assumed to give {s.hours_per_provider:g} hours a week "
            f"within {s.radius_km:g} km of where they live, at most {s.per_site} in one area. "
            "The table sets recruits who work weekdays only beside recruits who also work "
            "weekends. 'Placed' is fewer than asked for when the extra recruits would have no "
            "unmet hours to take. The saving is the hours taken × "
            f"{s.weeks_per_year:g} weeks × (£{s.home_care_rate:.2f} commissioned home care − "
            f"£{s.micro_rate:.2f} micro-provider) an hour.",
        )
    )
    out.append(
        Block(
            "table",
            "Table 2. Recruitment options: weekday-only and seven-day recruits side by side.",
            header=header,
            rows=rows,
            groups=_scenario_groups(rec),
        )
    )
    main = pub.scenarios
    placed = int(main.loc[main["new_providers"] == k, "providers_placed"].iloc[0])
    out.append(
        Block(
            "p",
            f"Recommended: the option of {k:,} new providers working {_days(s)}, the smallest "
            "that takes 95% of the hours the largest option takes"
            + (
                f"; only {placed:,} of them would have unmet hours to take, so recruit {placed:,}."
                if placed < k
                else "."
            )
            + " The recruitment map (recruit_map.html) opens on this option."
            + _other_days_words(pub, k),
        )
    )
    out.append(
        Block(
            "img",
            f"Figure 2. Unmet hours the new providers would take and the yearly saving, recruits "
            f"working {_days(s)}.",
            png=_scenario_png(main),
            width_mm=160,
            alt="Two bar charts: on the left, for each number of new providers, the unmet "
            "hours a week they could take against the hours they would take; on the right, "
            "the yearly saving against commissioned home care. The figures are in Table 2.",
        )
    )
    sites = pub.sites
    # first the sites whose recruits take most, then those with most unmet hours in reach
    best = (
        sites[sites["new_providers"] == k]
        .assign(
            _h=lambda f: f["hours_taken"].astype(float).fillna(-1),
            _r=lambda f: f["unmet_hours_in_reach"].astype(float).fillna(-1),
        )
        .sort_values(["_h", "_r", "site_rank"], ascending=[False, False, True])
        .head(8)
    )
    if len(best):
        out.append(
            Block(
                "table",
                f"Table 3. Where to recruit first for the recommended option ({k:,} new "
                "providers), by the hours the recruits would take and then the unmet hours in "
                "reach: areas named with a town or village where one is in or near them, and "
                "their district; a site is a point inside the area, not an address.",
                header=[
                    "Order",
                    "Area",
                    "District",
                    "New providers",
                    "Hours a week they take",
                    "Unmet hours a week in reach",
                    "Site number on the map",
                ],
                rows=[
                    [
                        str(i),
                        str(r["area_name"]) + (f", {r['place']}" if r.get("place") else ""),
                        str(r["district"]),
                        str(int(r["providers_at"])),
                        whole(r["hours_taken"]),
                        whole(r["unmet_hours_in_reach"]),
                        str(int(r["site_rank"])),
                    ]
                    for i, r in enumerate(best.to_dict("records"), 1)
                ],
            )
        )
    return out


def _other_days_words(pub, k: int) -> str:
    """A sentence when recruits working the other days would do better for the same number."""
    alt = pub.rec.alternative
    if alt is None or pub.alternative is None or k not in set(alt.scenarios["new_providers"]):
        return ""
    a, r = pub.alternative, pub.scenarios
    a, r = a[a["new_providers"] == k].iloc[0], r[r["new_providers"] == k].iloc[0]
    more = float(a["hours_taken"]) - float(r["hours_taken"])
    closed_a = int(a["weekend_gaps_before"]) - int(a["weekend_gaps_after"])
    closed_r = int(r["weekend_gaps_before"]) - int(r["weekend_gaps_after"])
    if more >= 0 and closed_a > closed_r:
        flag = "with" if alt.settings.weekend_working else "without"
        return (
            f" Recruits working {_days(alt.settings)} would take {whole(more)} more hours a week "
            f"and close {closed_a - closed_r} more weekend gaps for this option; to plan and map "
            f"them, run gapmap again {flag} --weekend-working."
        )
    return ""
