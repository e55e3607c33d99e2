"""Who can reach whom, and the small rules every analysis shares: computed in one place.

This module is the only home of

* **distance**: straight-line metres between British National Grid points × ``circuity``, in
  kilometres (:func:`road_km`); every travel limit is compared with that figure, for people,
  providers and hypothetical recruits alike;
* **eligibility** (SPEC.md, "Eligible pair") of a person p and a provider v:
  v offers every service p needs (``need_mask & offer_mask == need_mask``); the distance is
  within v's ``max_travel_km`` and within p's own ``max_travel_km`` if given; if p needs
  regulated care, v is CQC-registered; p is self-directing (people who are not are never
  matched; gap analysis still counts their need, with no eligible provider);
* **day shares**: the hours a provider gives a person are ``hours × |days given| / |days
  needed|`` (:func:`hours_on_days`); the weekend share of a week's days (:func:`weekend_share`);
* **capacity units**: free hours are ``capacity − committed``, counted in whole hundredths of an
  hour, a provider's room rounded down and a role's load rounded up (:func:`room_units`,
  :func:`load_units`), so whatever fits in units fits in hours, and every command agrees on
  whether something fits (:func:`fits`);
* **the cover reserve**: a cover provider keeps ``absence_rate × the hours it covers`` free
  (:func:`cover_reserve`), as a load in units :func:`cover_units`.

Pairs come from k-d trees (:class:`scipy.spatial.cKDTree`): providers are grouped by travel
limit (rounded up to the kilometre), each group's tree is built once (:class:`ProviderIndex`)
and searched within its limit ÷ circuity. People who need the same services (and CQC or not)
are searched for together among only the providers who offer them, a block of people at a time;
the exact limits then filter the candidates as whole arrays, and one integer key per pair sorts
them. Nothing of size people × providers is built: time and memory grow with the pairs.

The independent matching checker (:mod:`gapmap.matching.check`) restates the rules on purpose,
to check the matchers against a second reading of SPEC.md.

Why one file of some 870 lines: it is the one home of these rules by design (issue 35: each
rule literally once), and the pair building that applies them must sit beside them so that a
reader checks the vectorised filters against the rules on the same page; split, the rules and
their only fast implementation would drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from gapmap.vocab import WEEKEND_MASK, count_days

__all__ = [
    "ProviderIndex",
    "Reach",
    "add_providers",
    "cover_reserve",
    "cover_units",
    "distance_km",
    "eligible_pairs",
    "fits",
    "free_hours",
    "hours_on_days",
    "load_units",
    "nearest_km",
    "pair_rules",
    "points_within",
    "road_km",
    "room_units",
    "site_pairs",
    "weekend_share",
]

#: Hours are counted in whole hundredths of an hour when deciding whether something fits.
UNITS_PER_HOUR = 100


# --- distance -----------------------------------------------------------------------------------
def road_km(metres, circuity: float = 1.0):
    """Straight-line metres (British National Grid) → the kilometres every rule uses.

    Parameters
    ----------
    metres
        Straight-line distance(s) in metres.
    circuity
        Factor (1 to 5) scaling straight lines toward road distance.

    Returns
    -------
    float or ndarray
        ``metres × circuity / 1000``.

    Examples
    --------
    >>> road_km(5000.0, 1.2)
    6.0
    """
    if np.ndim(metres) == 0:
        return float(metres) * circuity / 1000.0
    return np.asarray(metres, dtype=float) * circuity / 1000.0


def distance_km(from_xy, to_xy, circuity: float = 1.0):
    """The distance of :func:`road_km` between points (pairwise, broadcasting).

    Parameters
    ----------
    from_xy, to_xy
        Arrays of (…, 2) British National Grid metres.
    circuity
        As in :func:`road_km`.

    Returns
    -------
    ndarray
        Kilometres.

    Examples
    --------
    >>> float(distance_km([0.0, 0.0], [3000.0, 4000.0]))
    5.0
    """
    d = np.asarray(from_xy, float) - np.asarray(to_xy, float)
    return road_km(np.hypot(d[..., 0], d[..., 1]), circuity)


#: people per block when building the eligible pairs (:meth:`ProviderIndex.pairs`)
PAIRS_BLOCK = 256


def _search_m(limit_km: float, circuity: float) -> float:
    """The straight-line radius (m) within which a pair can be within ``limit_km`` by road."""
    return float(limit_km) * 1000.0 / circuity


def points_within(
    tree_xy: np.ndarray, query_xy: np.ndarray, radius_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (query, tree) index pairs within ``radius_m`` straight-line metres, with the metres.

    Parameters
    ----------
    tree_xy, query_xy
        (n, 2) arrays of British National Grid metres.
    radius_m
        Search radius in metres.

    Returns
    -------
    (i, j, metres)
        Positions in ``query_xy`` and ``tree_xy`` and their straight-line distance.
    """
    if len(tree_xy) == 0 or len(query_xy) == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, np.zeros(0)
    pairs = cKDTree(query_xy).sparse_distance_matrix(
        cKDTree(tree_xy), max_distance=float(radius_m), output_type="ndarray"
    )
    return pairs["i"].astype(np.int64), pairs["j"].astype(np.int64), pairs["v"].astype(float)


def nearest_km(from_xy: np.ndarray, to_xy: np.ndarray, circuity: float = 1.0) -> np.ndarray:
    """Distance (km, × circuity) from each point of ``from_xy`` to the nearest of ``to_xy``.

    Parameters
    ----------
    from_xy, to_xy
        (n, 2) and (m, 2) arrays of British National Grid metres.
    circuity
        As in :func:`road_km`.

    Returns
    -------
    ndarray
        One distance per point of ``from_xy``; NaN when ``to_xy`` is empty.
    """
    from_xy = np.asarray(from_xy, float).reshape(-1, 2)
    if len(to_xy) == 0:
        return np.full(len(from_xy), np.nan)
    d, _ = cKDTree(np.asarray(to_xy, float).reshape(-1, 2)).query(from_xy)
    return road_km(d, circuity)


# --- day shares ---------------------------------------------------------------------------------
def hours_on_days(hours, needed_days, given_days):
    """The hours of a week given on ``given_days`` when ``hours`` are spread over ``needed_days``.

    Parameters
    ----------
    hours
        Hours a week (scalar or array).
    needed_days, given_days
        Day bit masks (:mod:`gapmap.vocab`).

    Returns
    -------
    float or ndarray
        ``hours × |given ∩ needed| / |needed|`` (0 where nothing is needed).

    Examples
    --------
    >>> from gapmap.vocab import parse_days
    >>> hours_on_days(6.0, parse_days("Mon;Wed;Sat"), parse_days("Mon-Fri"))
    4.0
    """
    if isinstance(needed_days, (int, np.integer)) and isinstance(given_days, (int, np.integer)):
        if np.ndim(hours) == 0:  # one person: the same arithmetic without array overhead
            n = int(needed_days).bit_count()
            g = (int(needed_days) & int(given_days)).bit_count()
            return float(float(hours) * (g / n)) if n else 0.0
    given = count_days(np.asarray(needed_days) & np.asarray(given_days))
    needed = count_days(np.asarray(needed_days))
    share = np.divide(given, needed, out=np.zeros(np.shape(given)), where=np.asarray(needed) > 0)
    out = np.asarray(hours, dtype=float) * share
    return float(out) if np.ndim(out) == 0 else out


def weekend_share(day_mask) -> np.ndarray:
    """Share of the given days (bit masks) that fall on Saturday or Sunday.

    Examples
    --------
    >>> from gapmap.vocab import parse_days
    >>> weekend_share([parse_days("Mon;Sat"), parse_days("weekdays")]).tolist()
    [0.5, 0.0]
    """
    day_mask = np.asarray(day_mask, dtype=np.int64)
    return np.asarray(hours_on_days(np.ones(day_mask.shape), day_mask, WEEKEND_MASK), float)


# --- capacity -----------------------------------------------------------------------------------
def free_hours(providers: pd.DataFrame) -> np.ndarray:
    """Hours a week each provider can still take on: ``capacity_hours − committed_hours``."""
    return providers["capacity_hours"].to_numpy(float) - providers["committed_hours"].to_numpy(
        float
    )


def load_units(hours):
    """Hours as whole hundredths, rounded up: what a role uses of a provider's room.

    Examples
    --------
    >>> load_units(2.004), load_units(2.0)
    (201, 200)
    """
    if isinstance(hours, float):  # the common case, one role: no array machinery
        return math.ceil(hours * UNITS_PER_HOUR - 1e-9)
    if np.ndim(hours):
        return np.ceil(np.asarray(hours, float) * UNITS_PER_HOUR - 1e-9).astype(np.int64)
    return math.ceil(float(hours) * UNITS_PER_HOUR - 1e-9)


def room_units(providers: pd.DataFrame) -> np.ndarray:
    """Each provider's free hours as whole hundredths, rounded down (never below 0)."""
    free = np.maximum(0.0, free_hours(providers))
    return np.floor(free * UNITS_PER_HOUR + 1e-9).astype(np.int64)


def fits(room: int, hours: float) -> bool:
    """Does a load of ``hours`` fit in ``room`` units?

    Parameters
    ----------
    room
        A provider's room (:func:`room_units`).
    hours
        The hours the role would use.

    Returns
    -------
    bool

    Examples
    --------
    >>> fits(200, 2.0), fits(200, 2.004)
    (True, False)
    """
    return int(room) >= load_units(hours)


def cover_reserve(hours, absence_rate: float):
    """Hours a cover provider keeps free for a person (SPEC.md, "Matching").

    Parameters
    ----------
    hours
        The hours the person's provider gives (scalar or array).
    absence_rate
        The share of them a cover provider must be ready to give.

    Returns
    -------
    float or ndarray
        ``absence_rate × hours``.
    """
    return absence_rate * hours


def cover_units(hours, absence_rate: float):
    """The cover reserve as a load: what a cover provider keeps free of its room for a person.

    The one rule every matcher uses (greedy, batch, suggestions): :func:`load_units` of
    :func:`cover_reserve`, i.e. ``absence_rate × hours`` in whole hundredths, rounded up.

    Parameters
    ----------
    hours
        The hours the person's provider gives (scalar or array).
    absence_rate
        The share of them a cover provider must be ready to give.

    Returns
    -------
    int or ndarray
        Hundredths of an hour, as :func:`room_units` counts room.

    Examples
    --------
    >>> cover_units(4.0, 0.15), cover_units(4.0, 0.3)
    (60, 120)
    """
    return load_units(cover_reserve(hours, absence_rate))


# --- eligible pairs -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Reach:
    """Eligible pairs as parallel arrays, sorted by person, then distance, then provider.

    ``person`` and ``provider`` are positions (0-based) in the registers they came from;
    ``distance_km`` is the distance of :func:`road_km`. Each pair's binding travel limit (the
    smaller of the two) is :attr:`limit_km`, worked out from ``provider_limit_km`` and
    ``person_limit_km`` (the registers' ``max_travel_km``) when first asked for: only the
    enhanced 2SFCA reads it.
    """

    person: np.ndarray
    provider: np.ndarray
    distance_km: np.ndarray
    n_people: int
    n_providers: int
    provider_limit_km: np.ndarray
    person_limit_km: np.ndarray | None = None

    @cached_property
    def limit_km(self) -> np.ndarray:
        """Each pair's binding travel limit: the provider's, or the person's own if smaller."""
        limit = np.asarray(self.provider_limit_km, float)[self.provider]
        if self.person_limit_km is not None:
            # fmin ignores the NaN of "no own limit"
            limit = np.fmin(limit, np.asarray(self.person_limit_km, float)[self.person])
        return limit

    def __len__(self) -> int:
        return len(self.person)

    def bounds(self) -> np.ndarray:
        """``bounds[p]:bounds[p+1]`` is the slice of person p's pairs."""
        return np.searchsorted(self.person, np.arange(self.n_people + 1))

    def providers_of(self, p: int) -> np.ndarray:
        """Positions of the providers eligible with person ``p`` (nearest first)."""
        lo, hi = np.searchsorted(self.person, [p, p + 1])
        return self.provider[lo:hi]

    def frame(self) -> pd.DataFrame:
        """The pairs as a table: ``person``, ``provider``, ``distance_km``."""
        return pd.DataFrame(
            {"person": self.person, "provider": self.provider, "distance_km": self.distance_km}
        )


def pair_rules(
    people: pd.DataFrame,
    providers: pd.DataFrame,
    pi: np.ndarray,
    vi: np.ndarray,
    d_km: np.ndarray,
    *,
    check_services: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """The eligibility rules on candidate pairs.

    Parameters
    ----------
    people, providers
        The registers.
    pi, vi
        Positions of each candidate pair's person and provider.
    d_km
        Each pair's distance (:func:`road_km`).
    check_services
        Apply the services and CQC rules.

    Returns
    -------
    (keep, limit_km)
        Which pairs are eligible, and each pair's binding travel limit. The self-directing
        rule is left to the callers, who choose which people to ask about.
    """
    return _apply_rules(_rule_columns(people, providers, check_services), pi, vi, d_km)


#: the bit of a rule mask (:func:`_rule_columns`) that stands for regulated care / CQC
#: registration, above every service bit
_CQC_BIT = np.int64(1) << np.int64(62)


def _rule_columns(people: pd.DataFrame, providers: pd.DataFrame, check_services: bool) -> dict:
    """The columns the eligibility rules read, as arrays once (:func:`pair_rules`).

    The services and CQC rules become one test on two masks: a person's ``require`` (the
    services needed, and :data:`_CQC_BIT` for regulated care) and a provider's ``lack`` (every
    bit it does not offer, :data:`_CQC_BIT` unless CQC-registered); a pair passes both rules
    when ``require & lack == 0``.
    """
    p_limit = people["max_travel_km"].to_numpy(float) if "max_travel_km" in people else None
    if p_limit is not None and not np.isfinite(p_limit).any():
        p_limit = None  # nobody has an own limit: fmin with NaN changes nothing
    cols = {"v_limit": providers["max_travel_km"].to_numpy(float), "p_limit": p_limit}
    if check_services:
        need = people["service_mask"].to_numpy(np.int64)
        offer = providers["service_mask"].to_numpy(np.int64)
        if (need < 0).any() or (need >= _CQC_BIT).any():
            raise ValueError("service masks must be below 2**62")
        cqc = np.where(providers["cqc_registered"].to_numpy(bool), _CQC_BIT, np.int64(0))
        regulated = np.where(people["regulated_care"].to_numpy(bool), _CQC_BIT, np.int64(0))
        cols["require"] = need | regulated
        cols["lack"] = ~(offer | cqc)
    return cols


def _limit(cols: dict, pi: np.ndarray, vi: np.ndarray) -> np.ndarray:
    """Each pair's binding travel limit: the provider's, or the person's own if smaller."""
    limit = cols["v_limit"][vi]
    if cols["p_limit"] is not None:
        limit = np.fmin(limit, cols["p_limit"][pi])  # fmin ignores the NaN of "no own limit"
    return limit


def _apply_rules(cols: dict, pi: np.ndarray, vi: np.ndarray, d_km: np.ndarray):
    """The eligibility rules themselves (:func:`pair_rules`), on columns read once.

    ``cols`` may be restricted to a block of people (``pi`` then positions in the block).
    """
    limit = _limit(cols, pi, vi)
    keep = d_km <= limit + 1e-9
    if "require" in cols:
        keep &= (cols["require"][pi] & cols["lack"][vi]) == 0
    return keep, limit


def _people_part(cols: dict, block: np.ndarray) -> dict:
    """``cols`` with the people's columns cut to ``block`` (positions in the register)."""
    part = dict(cols)
    if cols["p_limit"] is not None:
        p_limit = cols["p_limit"][block]
        part["p_limit"] = p_limit if np.isfinite(p_limit).any() else None
    if "require" in cols:
        part["require"] = cols["require"][block]
    return part


def _order_key(qi: np.ndarray, d_km: np.ndarray, vi: np.ndarray, n_q: int, n_v: int):
    """One int64 sort key for (block position, distance to the micro-km, provider), or None
    when the three do not fit in 63 bits (the caller then sorts the slower way)."""
    keys = _order_keys([(qi, d_km, vi)], n_q, n_v)
    return None if keys is None else keys[0]


def _order_keys(parts: list, n_q: int, n_v: int) -> list[np.ndarray] | None:
    """The keys of :func:`_order_key` for several ``(qi, d_km, vi)`` at once, on one scale
    (so that they compare across parts)."""
    micros = [d_km * 1e6 for _, d_km, _ in parts]
    for micro in micros:
        np.rint(micro, out=micro)  # what np.round(d_km, 6) compares
    top = max((float(m.max()) for m in micros if len(m)), default=0.0)
    if not top < 2.0**52:
        return None
    v_bits = max(1, int(n_v - 1).bit_length())
    d_bits = max(1, int(top).bit_length())
    q_bits = max(1, int(n_q - 1).bit_length())
    if v_bits + d_bits + q_bits > 63:
        return None
    keys = []
    for (qi, _, vi), micro in zip(parts, micros, strict=True):
        key = micro.astype(np.int64)
        key <<= v_bits
        key |= np.asarray(vi, np.int64)
        key |= np.asarray(qi, np.int64) << (d_bits + v_bits)
        keys.append(key)
    return keys


def _z_order(xy: np.ndarray) -> np.ndarray:
    """The Z-order (Morton) code of points on a 65,536 × 65,536 grid over their extent:
    points with near codes are near one another."""
    if not len(xy):
        return np.zeros(0, dtype=np.uint64)
    lo = xy.min(axis=0)
    span = max(float((xy.max(axis=0) - lo).max()), 1.0)
    cells = np.clip((xy - lo) * (65535.0 / span), 0, 65535).astype(np.uint64)

    def spread(v: np.ndarray) -> np.ndarray:
        for shift, mask in ((8, 0x00FF00FF), (4, 0x0F0F0F0F), (2, 0x33333333), (1, 0x55555555)):
            v = (v | (v << np.uint64(shift))) & np.uint64(mask)
        return v

    return spread(cells[:, 0]) | (spread(cells[:, 1]) << np.uint64(1))


def _sorting_order(key: np.ndarray) -> np.ndarray:
    """``np.argsort(key)`` for distinct non-negative int64 keys, by sorting the keys with
    each one's position in its spare low bits (a plain sort is some times faster than an
    argsort); by ``np.argsort`` when the bits are not spare."""
    if not len(key):
        return np.zeros(0, dtype=np.intp)
    pos_bits = max(1, int(len(key) - 1).bit_length())
    if int(key.max()).bit_length() + pos_bits > 63:
        return np.argsort(key)
    packed = key << pos_bits
    packed |= np.arange(len(key), dtype=np.int64)
    packed.sort()
    packed &= np.int64((1 << pos_bits) - 1)
    return packed


def _assemble(parts: list, n_p: int, n_v: int, cols: dict) -> Reach:
    """One :class:`Reach` from blocks of pairs, no person in two blocks.

    Each block is ``(people, counts, providers, distances)``: its people (positions in the
    register), how many pairs each has, and the pairs, person by person in the order of
    ``people``. Each pair is written straight to its place: people in the order of the
    register, each person's pairs in the order of their block.
    """
    counts = np.zeros(n_p, dtype=np.int64)
    for block, n_pairs, _, _ in parts:
        counts[block] = n_pairs
    starts = np.concatenate([[0], np.cumsum(counts)])
    person = np.repeat(np.arange(n_p, dtype=np.int64), counts)
    provider = np.empty(len(person), dtype=np.int64)
    distance = np.empty(len(person))
    for block, n_pairs, vi, d_km in parts:
        if not len(vi):
            continue
        # each person's first pair goes to their start: the shift from the block to the whole
        shift = starts[block] - (np.cumsum(n_pairs) - n_pairs)
        at = np.repeat(shift, n_pairs) + np.arange(len(vi))
        provider[at] = vi
        distance[at] = d_km
    return Reach(person, provider, distance, n_p, n_v, cols["v_limit"], cols["p_limit"])


class ProviderIndex:
    """The providers of a register, indexed once for every eligibility question.

    Parameters
    ----------
    providers
        A providers register (:func:`gapmap.read_providers`).
    circuity
        As in :func:`road_km`.

    Examples
    --------
    >>> import pandas as pd
    >>> from gapmap.vocab import parse_days, parse_services
    >>> v = pd.DataFrame({"x": [0.0], "y": [0.0], "max_travel_km": [5.0],
    ...                   "service_mask": [parse_services("social")], "cqc_registered": [False]})
    >>> p = pd.DataFrame({"x": [4500.0], "y": [0.0], "max_travel_km": [float("nan")],
    ...                   "service_mask": [parse_services("social")], "regulated_care": [False]})
    >>> len(ProviderIndex(v, circuity=1.0).pairs(p)), len(ProviderIndex(v, circuity=1.3).pairs(p))
    (1, 0)
    """

    def __init__(self, providers: pd.DataFrame, *, circuity: float = 1.0):
        if not circuity > 0:
            raise ValueError("circuity must be positive")
        self.providers = providers
        self.circuity = float(circuity)
        self.xy = providers[["x", "y"]].to_numpy(float) if len(providers) else np.zeros((0, 2))
        limit = providers["max_travel_km"].to_numpy(float) if len(providers) else np.zeros(0)
        self._limits_km = limit
        self.max_limit_km = float(limit.max()) if len(limit) else 0.0
        bucket = np.ceil(limit - 1e-9)
        self._groups = []
        self._limit_is: dict[float, bool] = {}  # does every provider of a group travel its radius
        for radius_km in np.unique(bucket):
            members = np.flatnonzero(bucket == radius_km)
            self._groups.append((float(radius_km), members, cKDTree(self.xy[members])))
            self._limit_is[float(radius_km)] = bool((limit[members] == radius_km).all())
        self._all = cKDTree(self.xy) if len(self.xy) else None

    def pairs(
        self,
        people: pd.DataFrame,
        *,
        require_self_directing: bool = True,
        check_services: bool = True,
    ) -> Reach:
        """Every eligible (person, provider) pair.

        Parameters
        ----------
        people
            A people register (or any frame with ``x``, ``y`` and, with ``check_services``,
            ``service_mask`` and ``regulated_care``; ``max_travel_km`` may be NaN).
        require_self_directing
            Leave out people who are not self-directing.
        check_services
            Apply the services and CQC rules (off for estimated need, whose services are not
            known).

        Returns
        -------
        Reach
        """
        n_p, n_v = len(people), len(self.providers)
        if n_p == 0 or n_v == 0:
            limits = {"v_limit": np.asarray(self._limits_km, float), "p_limit": None}
            return _assemble([], n_p, n_v, limits)
        pxy = people[["x", "y"]].to_numpy(float)
        active = np.isfinite(pxy).all(axis=1)
        if require_self_directing and "self_directing" in people:
            active &= people["self_directing"].to_numpy(bool)
        idx = np.flatnonzero(active)
        cols = _rule_columns(people, self.providers, check_services)
        # people who need the same (services, CQC) are searched for together, among only the
        # providers who offer it, so nearly every candidate found is an eligible pair; then a
        # block of such people at a time: the candidates, the rules and the sort never hold
        # more than one block's pairs, so time and memory grow with the pairs
        parts = []
        for people_of, groups in self._classes(cols, idx):
            # blocks of people near one another (in Z-order): each block's search meets few
            # providers' tree nodes that do not reach it (the pairs do not depend on it)
            people_of = people_of[np.argsort(_z_order(pxy[people_of]), kind="stable")]
            for s in range(0, len(people_of), PAIRS_BLOCK):
                parts.append(self._block(people_of[s : s + PAIRS_BLOCK], pxy, cols, groups))
        return _assemble(parts, n_p, n_v, cols)

    def _classes(self, cols: dict, idx: np.ndarray):
        """``(people, groups)`` for each requirement of the people ``idx`` (ascending
        positions): the providers who meet it, grouped by travel limit, each group with its
        k-d tree. Without the services rules, one class: everyone and every provider."""
        if "require" not in cols:
            yield idx, self._groups
            return
        if not len(idx):
            return
        require = cols["require"][idx]
        order = np.argsort(require, kind="stable")  # positions stay ascending in each class
        values, starts = np.unique(require[order], return_index=True)
        ends = np.append(starts[1:], len(order))
        lack = cols["lack"]
        for value, lo, hi in zip(values.tolist(), starts.tolist(), ends.tolist(), strict=True):
            groups = []
            for radius_km, members, tree in self._groups:
                meets = members[(lack[members] & np.int64(value)) == 0]
                if len(meets) == len(members):
                    groups.append((radius_km, members, tree))
                elif len(meets):
                    groups.append((radius_km, meets, cKDTree(self.xy[meets])))
            if groups:
                yield idx[order[lo:hi]], groups

    def _block(self, block: np.ndarray, pxy: np.ndarray, cols: dict, groups: list):
        """The eligible pairs of a block of people (positions) among the providers
        of ``groups`` (who offer what they need), sorted by person, then distance (to the
        micro-kilometre), then provider: ``(block, pairs per person, providers, distances)``
        as :func:`_assemble` takes them."""
        people_tree = cKDTree(pxy[block])
        part = _people_part(cols, block)
        part.pop("require", None)  # the groups hold only providers who meet the requirement
        parts_q, parts_v, parts_d = [], [], []
        for radius_km, members, tree in groups:
            found = people_tree.sparse_distance_matrix(
                tree, max_distance=_search_m(radius_km, self.circuity), output_type="ndarray"
            )
            qi, vi = found["i"], members[found["j"]]
            d_km = road_km(found["v"], self.circuity)
            if self._limit_is[radius_km]:
                # every provider of the group travels exactly ``radius_km``: the same test
                # as :func:`_apply_rules` without looking each provider's limit up
                limit = radius_km
                if part["p_limit"] is not None:
                    limit = np.fmin(limit, part["p_limit"][qi])
                keep = d_km <= limit + 1e-9
            else:
                keep, _ = _apply_rules(part, qi, vi, d_km)  # the limits per group, then join
            parts_q.append(qi[keep])
            parts_v.append(vi[keep])
            parts_d.append(d_km[keep])
        qi, vi, d_km = (np.concatenate(parts) for parts in (parts_q, parts_v, parts_d))
        qi = qi.astype(np.int64, copy=False)
        key = _order_key(qi, d_km, vi, len(block), len(self.providers))
        if key is not None:  # the pair is in its key, so every key differs: any sort will do
            order = _sorting_order(key)
        else:
            order = np.lexsort((vi,))
            key_f = qi[order] * 1e6 + np.round(d_km[order], 6)
            order = order[np.argsort(key_f, kind="stable")]
        return block, np.bincount(qi, minlength=len(block)), vi[order], d_km[order]

    def nearby(self, x: float, y: float) -> tuple[np.ndarray, np.ndarray]:
        """Providers within the longest travel limit of any of them from one point, nearest first.

        Parameters
        ----------
        x, y
            The point (metres).

        Returns
        -------
        (positions, distance_km)
            Eligible or not: used to explain who is not.
        """
        if self._all is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        idx = np.asarray(
            self._all.query_ball_point([x, y], r=_search_m(self.max_limit_km, self.circuity)),
            dtype=np.int64,
        )
        d = np.atleast_1d(distance_km(self.xy[idx], [x, y], self.circuity))
        order = np.lexsort((idx, d))
        return idx[order], d[order]


def eligible_pairs(
    people: pd.DataFrame,
    providers: pd.DataFrame,
    *,
    circuity: float = 1.0,
    require_self_directing: bool = True,
    check_services: bool = True,
) -> Reach:
    """Every eligible (person, provider) pair of two registers.

    A shortcut for ``ProviderIndex(providers, circuity=circuity).pairs(people, ...)``. A
    :class:`~gapmap.study.Study` keeps one index and one :class:`Reach` for all its analyses.

    Parameters
    ----------
    people, providers
        The registers.
    circuity, require_self_directing, check_services
        As for :class:`ProviderIndex` and :meth:`ProviderIndex.pairs`.

    Returns
    -------
    Reach

    Examples
    --------
    >>> import pandas as pd
    >>> v = pd.DataFrame({"x": [0.0], "y": [0.0], "max_travel_km": [10.0], "service_mask": [1],
    ...                   "cqc_registered": [False]})
    >>> p = pd.DataFrame({"x": [3000.0], "y": [4000.0], "max_travel_km": [float("nan")],
    ...                   "service_mask": [1], "regulated_care": [True]})
    >>> len(eligible_pairs(p, v))  # regulated care needs a CQC-registered provider
    0
    """
    index = ProviderIndex(providers, circuity=circuity)
    return index.pairs(
        people, require_self_directing=require_self_directing, check_services=check_services
    )


def add_providers(
    reach: Reach,
    people: pd.DataFrame,
    new_providers: pd.DataFrame,
    *,
    circuity: float = 1.0,
    require_self_directing: bool = True,
    check_services: bool = True,
) -> Reach:
    """``reach`` with more providers: only the new providers' pairs are built, then merged in.

    The result is, pair for pair and in the same order, the :class:`Reach` of ``people`` and
    the providers of ``reach`` followed by ``new_providers`` (a recruitment scenario), so any
    2SFCA over it gives the same figures to the last bit.

    Parameters
    ----------
    reach
        Eligible pairs of ``people`` and a providers register, built with the same options.
    people
        The people ``reach`` was built from.
    new_providers
        Providers added after those of ``reach`` (positions ``reach.n_providers`` onward).
    circuity, require_self_directing, check_services
        As for :class:`ProviderIndex` and :meth:`ProviderIndex.pairs`; the same as ``reach``'s.

    Returns
    -------
    Reach

    Examples
    --------
    >>> import pandas as pd
    >>> v = pd.DataFrame({"x": [0.0], "y": [0.0], "max_travel_km": [10.0], "service_mask": [1],
    ...                   "cqc_registered": [False]})
    >>> p = pd.DataFrame({"x": [3000.0, 9000.0], "y": [4000.0, 0.0],
    ...                   "max_travel_km": [float("nan")] * 2, "service_mask": [1, 1],
    ...                   "regulated_care": [False, False]})
    >>> new = v.assign(x=[8000.0])
    >>> both = add_providers(eligible_pairs(p, v), p, new)
    >>> both.person.tolist(), both.provider.tolist()
    ([0, 0, 1, 1], [0, 1, 1, 0])
    """
    if len(people) != reach.n_people:
        raise ValueError("people are not those the reach was built from")
    extra = ProviderIndex(new_providers, circuity=circuity).pairs(
        people, require_self_directing=require_self_directing, check_services=check_services
    )
    n_old = reach.n_providers
    n_v = n_old + extra.n_providers
    limits = np.concatenate(
        [np.asarray(reach.provider_limit_km, float), np.asarray(extra.provider_limit_km, float)]
    )
    new_v = extra.provider + n_old
    old = (reach.person, reach.distance_km, reach.provider)
    keys = _order_keys([old, (extra.person, extra.distance_km, new_v)], reach.n_people, n_v)
    if keys is not None:
        # each new pair goes in before the first old pair that sorts after it
        at = np.searchsorted(keys[0], keys[1])
        person = np.insert(reach.person, at, extra.person)
        provider = np.insert(reach.provider, at, new_v)
        distance = np.insert(reach.distance_km, at, extra.distance_km)
    else:
        person = np.concatenate([reach.person, extra.person])
        provider = np.concatenate([reach.provider, new_v])
        distance = np.concatenate([reach.distance_km, extra.distance_km])
        order = np.lexsort((provider, np.round(distance, 6), person))
        person, provider, distance = person[order], provider[order], distance[order]
    return Reach(person, provider, distance, reach.n_people, n_v, limits, reach.person_limit_km)


def site_pairs(
    demand_xy: np.ndarray,
    site_xy: np.ndarray,
    radius_km: float,
    *,
    circuity: float = 1.0,
    demand_limit_km: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Demand points and hypothetical sites (recruits) within reach of each other.

    The same rule as for existing providers: the distance of :func:`road_km` is within the
    recruit's ``radius_km`` and within the person's own limit, if any.

    Parameters
    ----------
    demand_xy, site_xy
        (n, 2) and (m, 2) metres.
    radius_km
        How far a recruit travels.
    circuity
        As in :func:`road_km`.
    demand_limit_km
        Each demand point's own limit (NaN: none).

    Returns
    -------
    (i, j, distance_km)
        Positions in ``demand_xy`` and ``site_xy``, and their distance.
    """
    i, j, d_m = points_within(
        np.asarray(site_xy, float).reshape(-1, 2),
        np.asarray(demand_xy, float).reshape(-1, 2),
        _search_m(radius_km, circuity),
    )
    d_km = road_km(d_m, circuity)
    keep = d_km <= radius_km + 1e-9
    if demand_limit_km is not None:
        own = np.asarray(demand_limit_km, float)[i]
        keep &= ~(d_km > own + 1e-9)  # NaN: no own limit
    return i[keep], j[keep], d_km[keep]
