"""Who can reach whom: every eligible person-provider pair, computed once.

A pair (person p, provider v) is **eligible** (SPEC.md, "Eligible pair") when

* v offers every service p needs: ``need_mask & offer_mask == need_mask``;
* the distance d(p, v) × circuity is within v's ``max_travel_km`` and within p's
  ``max_travel_km`` if p gave one;
* if p needs regulated care, v is CQC-registered;
* p is self-directing (people who are not are never matched to a micro-provider; they still
  count as need in gap analysis, where they have no eligible provider).

Distances are straight lines between British National Grid points, in kilometres, scaled by
``circuity`` (default 1.0) toward road distance.

Candidates come from a k-d tree (:class:`scipy.spatial.cKDTree`) over provider locations, queried
once per person within the largest radius that could matter; the other rules filter those
candidates as whole arrays. Nothing of size people × providers is ever built, so the work grows
with the number of pairs that are actually near each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

__all__ = ["Reach", "eligible_pairs", "points_within"]


@dataclass(frozen=True)
class Reach:
    """Eligible pairs as parallel arrays, sorted by person then distance.

    ``person`` and ``provider`` are positions (0-based) in the registers given to
    :func:`eligible_pairs`; ``distance_km`` is the (circuity-scaled) distance; ``limit_km`` the
    binding travel limit of the pair (the smaller of the two).
    """

    person: np.ndarray
    provider: np.ndarray
    distance_km: np.ndarray
    limit_km: np.ndarray
    n_people: int
    n_providers: int

    def __len__(self) -> int:
        return len(self.person)

    def providers_of(self, p: int) -> np.ndarray:
        """Positions of the providers eligible with person ``p`` (nearest first)."""
        lo, hi = np.searchsorted(self.person, [p, p + 1])
        return self.provider[lo:hi]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"person": self.person, "provider": self.provider, "distance_km": self.distance_km}
        )


def points_within(
    tree_xy: np.ndarray, query_xy: np.ndarray, radius_m: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (query, tree) index pairs within ``radius_m`` (per query or one for all), with metres."""
    tree = cKDTree(tree_xy)
    radius = np.broadcast_to(np.asarray(radius_m, dtype=float), (len(query_xy),))
    hits = tree.query_ball_point(query_xy, r=radius, return_sorted=False)
    lengths = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
    qi = np.repeat(np.arange(len(query_xy)), lengths)
    ti = np.fromiter((j for h in hits for j in h), dtype=np.int64, count=int(lengths.sum()))
    d = np.hypot(*(query_xy[qi] - tree_xy[ti]).T) if len(qi) else np.zeros(0)
    return qi, ti, d


def eligible_pairs(
    people: pd.DataFrame,
    providers: pd.DataFrame,
    *,
    circuity: float = 1.0,
    require_self_directing: bool = True,
    check_services: bool = True,
) -> Reach:
    """Every eligible (person, provider) pair of two registers.

    Parameters
    ----------
    people, providers
        Registers as returned by :func:`gapmap.read_people` / :func:`gapmap.read_providers`
        (or any frames with the same columns). People may have NaN ``max_travel_km``.
    circuity
        Factor (≥ 1) turning straight-line distance toward road distance.
    require_self_directing
        Leave out people who are not self-directing (SPEC: never matched to a micro-provider).
    check_services
        Apply the services and CQC rules (off for estimated need, whose services are unknown).

    Returns
    -------
    Reach
    """
    if circuity <= 0:
        raise ValueError("circuity must be positive")
    n_p, n_v = len(people), len(providers)
    empty = np.zeros(0, dtype=np.int64)
    if n_p == 0 or n_v == 0:
        return Reach(empty, empty, np.zeros(0), np.zeros(0), n_p, n_v)
    pxy = people[["x", "y"]].to_numpy(float)
    vxy = providers[["x", "y"]].to_numpy(float)
    v_limit = providers["max_travel_km"].to_numpy(float)
    p_limit = (
        people["max_travel_km"].to_numpy(float)
        if "max_travel_km" in people
        else np.full(n_p, np.nan)
    )
    radius_km = np.fmin(p_limit, v_limit.max())  # NaN person limit -> provider maximum
    active = np.isfinite(pxy).all(axis=1)
    if require_self_directing and "self_directing" in people:
        active &= people["self_directing"].to_numpy(bool)
    idx = np.flatnonzero(active)
    qi, vi, d_m = points_within(vxy, pxy[idx], radius_km[idx] * 1000.0 / circuity)
    pi = idx[qi]
    d_km = d_m * circuity / 1000.0
    limit = np.fmin(v_limit[vi], p_limit[pi])  # fmin ignores the NaN of "no own limit"
    keep = d_km <= limit + 1e-9
    if check_services:
        need = people["service_mask"].to_numpy(np.int64)[pi]
        offer = providers["service_mask"].to_numpy(np.int64)[vi]
        keep &= (need & offer) == need
        regulated = people["regulated_care"].to_numpy(bool)[pi]
        cqc = providers["cqc_registered"].to_numpy(bool)[vi]
        keep &= ~regulated | cqc
    pi, vi, d_km, limit = pi[keep], vi[keep], d_km[keep], limit[keep]
    order = np.lexsort((vi, d_km, pi))
    return Reach(pi[order], vi[order], d_km[order], limit[order], n_p, n_v)
