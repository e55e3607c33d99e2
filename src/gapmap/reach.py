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

Candidates come from k-d trees (:class:`scipy.spatial.cKDTree`): providers are grouped by
travel limit (rounded up to the kilometre) and each group's pairs within its limit are found in
C; the exact per-pair limits and the other rules then filter the candidates as whole arrays.
Nothing of size people × providers is built, so the work grows with the number of pairs that
are actually near each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

__all__ = ["Reach", "eligible_pairs", "pair_rules", "points_within"]


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
    tree_xy: np.ndarray, query_xy: np.ndarray, radius_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (query, tree) index pairs within ``radius_m`` metres of each other, with the metres.

    Both point sets go in k-d trees and :meth:`scipy.spatial.cKDTree.sparse_distance_matrix`
    returns the close pairs straight from C: no Python loop over points, nothing dense.
    """
    if len(tree_xy) == 0 or len(query_xy) == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, np.zeros(0)
    pairs = cKDTree(query_xy).sparse_distance_matrix(
        cKDTree(tree_xy), max_distance=float(radius_m), output_type="ndarray"
    )
    return pairs["i"].astype(np.int64), pairs["j"].astype(np.int64), pairs["v"].astype(float)


def pair_rules(
    people: pd.DataFrame,
    providers: pd.DataFrame,
    pi: np.ndarray,
    vi: np.ndarray,
    d_km: np.ndarray,
    *,
    check_services: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """The eligibility rules on candidate pairs (positions ``pi``, ``vi``, distance ``d_km``).

    Returns ``(keep, limit_km)``: which pairs are eligible, and each pair's binding travel limit.
    The one place the rules of an eligible pair are written; the self-directing rule is applied
    by the callers, who choose which people to ask about.
    """
    v_limit = providers["max_travel_km"].to_numpy(float)[vi]
    p_limit = (
        people["max_travel_km"].to_numpy(float)[pi]
        if "max_travel_km" in people
        else np.full(len(pi), np.nan)
    )
    limit = np.fmin(v_limit, p_limit)  # fmin ignores the NaN of "no own limit"
    keep = d_km <= limit + 1e-9
    if check_services:
        need = people["service_mask"].to_numpy(np.int64)[pi]
        offer = providers["service_mask"].to_numpy(np.int64)[vi]
        keep &= (need & offer) == need
        regulated = people["regulated_care"].to_numpy(bool)[pi]
        cqc = providers["cqc_registered"].to_numpy(bool)[vi]
        keep &= ~regulated | cqc
    return keep, limit


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
    active = np.isfinite(pxy).all(axis=1)
    if require_self_directing and "self_directing" in people:
        active &= people["self_directing"].to_numpy(bool)
    idx = np.flatnonzero(active)
    # Providers grouped by travel limit (rounded up to 1 km), each group searched within its
    # own radius: the candidates are then close to the eligible pairs in number.
    people_tree = cKDTree(pxy[idx])
    bucket = np.ceil(v_limit - 1e-9)
    parts_q, parts_v, parts_d = [], [], []
    for radius_km in np.unique(bucket):
        members = np.flatnonzero(bucket == radius_km)
        found = people_tree.sparse_distance_matrix(
            cKDTree(vxy[members]),
            max_distance=radius_km * 1000.0 / circuity,
            output_type="ndarray",
        )
        parts_q.append(found["i"].astype(np.int64))
        parts_v.append(members[found["j"]])
        parts_d.append(found["v"])
    qi, vi, d_m = (np.concatenate(parts) for parts in (parts_q, parts_v, parts_d))
    pi = idx[qi]
    d_km = d_m * circuity / 1000.0
    keep, limit = pair_rules(people, providers, pi, vi, d_km, check_services=check_services)
    pi, vi, d_km, limit = pi[keep], vi[keep], d_km[keep], limit[keep]
    # by person, then distance, then provider: one float key sorts far faster than lexsort
    order = np.lexsort((vi,))
    key = pi[order] * 1e6 + np.round(d_km[order], 6)
    order = order[np.argsort(key, kind="stable")]
    return Reach(pi[order], vi[order], d_km[order], limit[order], n_p, n_v)
