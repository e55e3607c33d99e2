"""Synthetic demo registers at real Kent postcodes, calibrated to published figures.

Nothing here is about real people or real providers: ids, names and needs are made up, and
only the postcodes are real (drawn from the ONS Postcode Directory subset of the postcode
package, so the registers can be rebuilt anywhere gapmap is installed).

Calibration (Somerset Council's micro-provider review, 2023, and Kent's market report):

* Somerset: 1,170 micro-providers gave 31,122 hours a week to 5,903 people, so about
  **26.6 hours and 5.0 people per provider** and **5.3 hours a week per person**.
* Most support is non-regulated (domestic help, companionship, community activity); a few
  providers are CQC-registered for personal care.
* Most providers work weekdays only (80% of professionals said providers not working weekends
  limits their value); cover for sickness and holiday is the providers' biggest challenge.
* A minority of people need regulated personal care or are not able to direct their own care:
  these are the people micro-providers must not be used for, kept in so the tools show it.
* Kent's targets: 60 micro-enterprises in year 1, 223 in year 2, 416 in year 3.

Each provider's ``capacity_hours`` has mean about 27; ``committed_hours`` (hours already booked
with existing clients) about 60% of it, so the free hours for the waiting list are a few per
provider. The people register is a waiting list: by default six people per provider, so need
somewhat exceeds what providers can give, as it does in practice.

Parameters are in :data:`SCALES` and the function arguments; the seed is fixed, so the same
call gives the same files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gapmap._paths import repo_or_cache, user_cache
from gapmap.councils import KENT, Council, postcode_letters, resolve_council
from gapmap.postcodes import PostcodeDirectory, default_directory

__all__ = [
    "SCALES",
    "DemoSize",
    "council_scale",
    "demo_paths",
    "make_demo_registers",
    "write_demo_registers",
]

DEFAULT_SEED = 2026


@dataclass(frozen=True)
class DemoSize:
    """A demo scale: how many providers and people, and what it stands for."""

    providers: int
    people: int
    what: str


SCALES: dict[str, DemoSize] = {
    "kent-y1": DemoSize(60, 360, "Kent year-1 target: 60 micro-enterprises"),
    "kent-y2": DemoSize(223, 1340, "Kent year-2 target: 223 micro-enterprises"),
    "kent-y3": DemoSize(416, 2500, "Kent year-3 target: 416 micro-enterprises"),
    "somerset": DemoSize(1170, 5903, "Somerset today: 1,170 micro-providers, 5,903 people"),
}
DEFAULT_SCALE = "kent-y3"

_ADJ = ["Bright", "Kind", "Helping", "Friendly", "Golden", "Willow", "Oak", "Garden", "Caring",
        "Village", "Homely", "Good", "Open", "Steady", "Sunny", "Harbour", "Meadow",
        "Orchard"]  # fmt: skip
_NOUN = ["Hands", "Days", "Companions", "Support", "Neighbours", "Home Help", "Friends",
         "Care", "Visits", "Hearts", "Path", "Circle"]  # fmt: skip

# (services mask probabilities) in the order of vocab.SERVICES:
# personal_care, domestic, social, community, respite
_PROVIDER_SERVICE_P = np.array([0.30, 0.70, 0.75, 0.45, 0.30])
_PERSON_SERVICE_P = np.array([0.15, 0.55, 0.50, 0.20, 0.10])


def _pick_days(rng: np.random.Generator, kind: str) -> str:
    week = ["Mon", "Tue", "Wed", "Thu", "Fri"]
    if kind == "weekdays":
        return "Mon-Fri"
    if kind == "some_weekdays":
        k = int(rng.integers(2, 5))
        return ";".join(sorted(rng.choice(week, size=k, replace=False), key=week.index))
    if kind == "weekdays_sat":
        return "Mon-Sat"
    if kind == "all":
        return "all"
    if kind == "weekends":
        return "weekends"
    raise ValueError(kind)


def _person_days(rng: np.random.Generator) -> str:
    all_days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    u = rng.random()
    if u < 0.10:
        return "all"
    if u < 0.16:
        return "weekends"
    k = int(rng.choice([1, 2, 3, 4, 5], p=[0.30, 0.32, 0.22, 0.10, 0.06]))
    # a quarter of people with a few days have one of them at the weekend
    pool = all_days if rng.random() < 0.25 else all_days[:5]
    days = sorted(rng.choice(pool, size=min(k, len(pool)), replace=False), key=all_days.index)
    return ";".join(days)


def _services(rng: np.random.Generator, p: np.ndarray, max_n: int) -> list[str]:
    from gapmap.vocab import SERVICES

    chosen = [s for s, q in zip(SERVICES, p) if rng.random() < q]
    if not chosen:
        chosen = [SERVICES[int(rng.choice(len(SERVICES), p=p / p.sum()))]]
    if len(chosen) > max_n:
        chosen = list(rng.choice(chosen, size=max_n, replace=False))
    return chosen


def make_demo_registers(
    providers: int = SCALES[DEFAULT_SCALE].providers,
    people: int = SCALES[DEFAULT_SCALE].people,
    *,
    seed: int = DEFAULT_SEED,
    postcodes: PostcodeDirectory | None = None,
    council: Council | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Make synthetic providers and people registers at real postcodes of a council.

    Parameters
    ----------
    providers, people
        How many of each (see :data:`SCALES` for the published scales, :func:`council_scale`).
    seed
        Random seed; the same seed gives the same registers.
    postcodes
        The postcode directory (default: the package's).
    council
        The council (default Kent).

    Returns
    -------
    (providers, people)
        DataFrames with the columns of SPEC.md, ready to write as CSV.
    """
    if providers < 1 or people < 0:
        raise ValueError("need at least one provider and no negative number of people")
    rng = np.random.default_rng(seed)
    directory = postcodes or default_directory()
    council = council or resolve_council(KENT)
    town_of = council.district_names
    pcs = directory.postcodes_in_districts(town_of, council.letters)
    # Postcodes stand in for households: drawing them uniformly puts people where homes are.
    # Centroids shared by more than 5 postcodes are PO boxes and large users stacked at a
    # delivery office (one point in Ashford holds 762), not homes: leave them out.
    stacked = pcs.groupby(["x", "y"])["postcode"].transform("size") > 5
    pcs = pcs[~stacked.to_numpy()].reset_index(drop=True)
    pcodes = pcs["postcode"].to_numpy(str)
    districts = pcs["district_code"].to_numpy(str)

    prov_idx = rng.choice(len(pcodes), size=providers, replace=False)
    kinds = rng.choice(
        ["weekdays", "some_weekdays", "weekdays_sat", "all", "weekends"],
        size=providers,
        p=[0.45, 0.25, 0.12, 0.13, 0.05],
    )
    capacity = rng.choice([10, 15, 20, 25, 30, 35, 40, 45], size=providers,
                          p=[0.06, 0.10, 0.16, 0.20, 0.20, 0.14, 0.10, 0.04])  # fmt: skip
    committed = np.round(capacity * rng.uniform(0.4, 0.8, size=providers) * 2) / 2
    cqc = rng.random(providers) < 0.05
    rows = []
    for i in range(providers):
        services = _services(rng, _PROVIDER_SERVICE_P, 4)
        if cqc[i] and "personal_care" not in services:
            services.append("personal_care")
        town = town_of[districts[prov_idx[i]]]
        rows.append(
            {
                "provider_id": f"MP{i + 1:04d}",
                "name": f"{rng.choice(_ADJ)} {rng.choice(_NOUN)} ({town})",
                "postcode": pcodes[prov_idx[i]],
                "services": ";".join(services),
                "days": _pick_days(rng, str(kinds[i])),
                "capacity_hours": float(capacity[i]),
                "committed_hours": float(committed[i]),
                "max_travel_km": float(rng.choice([5, 8, 10, 10, 12, 15])),
                "cover": bool(rng.random() < 0.8),
                "cqc_registered": bool(cqc[i]),
            }
        )
    prov = pd.DataFrame(rows)
    # contact details that can reach no one: Ofcom's numbers for drama (07700 900000-900999)
    # and the reserved example.org domain (RFC 2606)
    n = np.arange(1, providers + 1)
    prov["phone"] = [f"07700 900{i % 1000:03d}" for i in n]
    prov["email"] = [f"hello@mp{i:04d}.example.org" for i in n]
    prov["website"] = [f"https://mp{i:04d}.example.org" for i in n]

    person_idx = rng.choice(len(pcodes), size=people, replace=True)
    # weekly hours: mostly 2-8, mean about 5.3, in half hours
    hours = np.clip(np.round(rng.gamma(shape=3.0, scale=1.77, size=people) * 2) / 2, 1.0, 30.0)
    prows = []
    for i in range(people):
        services = _services(rng, _PERSON_SERVICE_P, 2)
        regulated = "personal_care" in services and rng.random() < 0.5
        travel = rng.choice([np.nan, 5.0, 8.0], p=[0.85, 0.08, 0.07])
        prows.append(
            {
                "person_id": f"P{i + 1:05d}",
                "postcode": pcodes[person_idx[i]],
                "hours": float(hours[i]),
                "days": _person_days(rng),
                "services": ";".join(services),
                "max_travel_km": "" if np.isnan(travel) else float(travel),
                "priority": int(rng.choice([1, 2, 3, 4, 5], p=[0.15, 0.25, 0.35, 0.15, 0.10])),
                "needs_cover": bool(rng.random() < 0.85),
                "self_directing": bool(rng.random() >= 0.07),
                "regulated_care": bool(regulated),
            }
        )
    return prov, pd.DataFrame(prows)


def _data_dir() -> Path:
    return repo_or_cache("data", "GAPMAP_DATA")


def demo_paths(council: Council | None = None) -> tuple[Path, Path]:
    """The demo providers and people files: ``data/demo/`` for Kent, ``data/demo/<code>/`` for
    another council (built on first use).

    Parameters
    ----------
    council
        The council (default Kent).
    """
    d = _data_dir() / "demo"
    if council is not None and council.code != KENT:  # built for the user: their cache
        d = user_cache("data", "GAPMAP_DATA") / "demo" / council.slug
    return d / "providers.csv", d / "people.csv"


def council_scale(council: Council) -> DemoSize:
    """The demo scale of a council: Kent's year-3 target for Kent, Somerset's real size for
    Somerset, and for any other council Kent's year-3 scale in proportion to its postcodes
    (a stand-in for its households: the postcode package has no population).

    Parameters
    ----------
    council
        The council.

    Returns
    -------
    DemoSize
    """
    if council.code == KENT:
        return SCALES["kent-y3"]
    if council.code == "E06000066":
        return SCALES["somerset"]
    letters = postcode_letters()

    def count(codes) -> int:
        return sum(sum(letters.get(c, {}).values()) for c in codes)

    kent = count(resolve_council(KENT).district_names)
    ratio = count(council.district_names) / kent
    providers = max(20, int(round(SCALES["kent-y3"].providers * ratio)))
    return DemoSize(
        providers, 6 * providers,
        f"{council.name}: Kent's year-3 scale × {ratio:.2f} (its postcodes against Kent's)",
    )  # fmt: skip


def write_demo_registers(
    out_dir: str | Path | None = None,
    *,
    providers: int = SCALES[DEFAULT_SCALE].providers,
    people: int = SCALES[DEFAULT_SCALE].people,
    seed: int = DEFAULT_SEED,
    council: Council | None = None,
) -> tuple[Path, Path]:
    """Write synthetic ``providers.csv`` and ``people.csv`` at real postcodes (atomically).

    Parameters
    ----------
    out_dir
        The folder (default: ``data/demo/``).
    providers, people
        How many of each (default: Kent's year-3 scale).
    seed
        Random seed: the same seed gives the same registers.
    council
        The council (default Kent).

    Returns
    -------
    (Path, Path)
        The providers and people files.

    Examples
    --------
    >>> import tempfile
    >>> p, q = write_demo_registers(tempfile.mkdtemp(), providers=40, people=200)
    >>> p.name, q.name, len(pd.read_csv(p)), len(pd.read_csv(q))
    ('providers.csv', 'people.csv', 40, 200)
    """
    from gapmap.publish.export import write_csv

    if out_dir is None:
        prov_path, people_path = demo_paths(council)
    else:
        prov_path, people_path = Path(out_dir) / "providers.csv", Path(out_dir) / "people.csv"
    prov, ppl = make_demo_registers(providers, people, seed=seed, council=council)
    write_csv(prov, prov_path)
    write_csv(ppl, people_path)
    return prov_path, people_path
