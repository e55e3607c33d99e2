r"""Coverage: the variable-catchment two-step floating catchment area method (2SFCA).

Over the eligible pairs E from :mod:`gapmap.reach` (each pair has its own catchment: the
smaller of the two travel limits, hence "variable catchment"), with D_p a person's weekly hours
and S_v a provider's ``capacity_hours``:

.. math::

    R_v = \frac{S_v}{\sum_{p:(p,v)\in E} D_p\, W_{pv}}, \qquad
    A_p = \sum_{v:(p,v)\in E} R_v\, W_{pv}

A provider with no eligible demand has no R_v and gives nothing. With the plain method
W_pv = 1. The **enhanced** method (E2SFCA, off by default) weights each pair by a Gaussian
decay that is 1 at the door and 0 at the pair's travel limit d0 (Dai, 2010):

.. math::

    W(d) = \frac{e^{-\frac12 (d/d_0)^2} - e^{-\frac12}}{1 - e^{-\frac12}}

A_p is the share of p's need that the providers in reach could meet if shared out in proportion
to need; so per area, ``accessible_hours`` = Σ D_p A_p, and over all people Σ D_p A_p = Σ S_v over
providers that reach anyone: capacity is shared out, never created or lost. Booked hours
(``committed_hours``) are not subtracted (SPEC.md).

**Weekend figures** use the same pairs with D_p the weekend share of p's hours
(hours × weekend days needed / days needed) and S_v the weekend share of capacity
(capacity × weekend days worked / days worked).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gapmap.reach import Reach, weekend_share

__all__ = [
    "LOW_GAP_FROM",
    "MEDIUM_GAP_FROM",
    "Coverage",
    "gaussian_decay",
    "person_coverage",
    "two_step_fca",
]

#: The gap bands of an area with unmet need, by its share of need in reach (coverage ratio):
#: a **low** gap from 0.75 up, **medium** from 0.4, **high** below.
LOW_GAP_FROM = 0.75
MEDIUM_GAP_FROM = 0.4


def gaussian_decay(distance_km: np.ndarray, limit_km: np.ndarray) -> np.ndarray:
    """The E2SFCA Gaussian weight: 1 at distance 0, 0 at the limit.

    Parameters
    ----------
    distance_km, limit_km
        Each pair's distance and binding travel limit (:class:`~gapmap.reach.Reach`).

    Returns
    -------
    ndarray
        Weights from 0 to 1 (formula in the module docstring).

    Examples
    --------
    >>> gaussian_decay(np.array([0.0, 10.0]), np.array([10.0, 10.0])).tolist()
    [1.0, 0.0]
    """
    r = np.divide(distance_km, limit_km, out=np.zeros_like(distance_km), where=limit_km > 0)
    e = np.exp(-0.5)
    return np.clip((np.exp(-0.5 * r**2) - e) / (1.0 - e), 0.0, 1.0)


def two_step_fca(
    reach: Reach,
    demand: np.ndarray,
    supply: np.ndarray,
    *,
    enhanced: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Provider ratios R_v and person access A_p by 2SFCA (formula in the module docstring).

    Parameters
    ----------
    reach
        Eligible pairs.
    demand
        D_p for every person (length ``reach.n_people``).
    supply
        S_v for every provider (length ``reach.n_providers``).
    enhanced
        Use the Gaussian distance decay.

    Returns
    -------
    (R, A)
        ``R`` per provider (0 where it has no eligible demand), ``A`` per person.
    """
    ratio, access = _two_step_fca_columns(
        reach,
        np.asarray(demand, dtype=float)[:, None],
        np.asarray(supply, dtype=float)[:, None],
        enhanced=enhanced,
    )
    return ratio[:, 0], access[:, 0]


def _two_step_fca_columns(
    reach: Reach, demand: np.ndarray, supply: np.ndarray, *, enhanced: bool
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`two_step_fca` for several demands and supplies at once (one column each).

    The pairs as a sparse person × provider matrix W (weights W_pv, 1 in the plain method):
    the denominators are W transposed times D and the access W R, every column in one pass over the
    pairs. Each sum adds its terms in the order of the pairs, from 0, as ``np.bincount`` does:
    the same figures to the last bit.
    """
    from scipy.sparse import csr_array

    n_p, n_v = reach.n_people, reach.n_providers
    weight = gaussian_decay(reach.distance_km, reach.limit_km) if enhanced else np.ones(len(reach))
    w = csr_array((weight, reach.provider, reach.bounds()), shape=(n_p, n_v))
    denom = np.asarray(w.T @ demand, dtype=float).reshape(supply.shape)
    ratio = np.divide(supply, denom, out=np.zeros_like(supply), where=denom > 0)
    access = np.asarray(w @ ratio, dtype=float).reshape(demand.shape)
    return ratio, access


@dataclass(frozen=True)
class Coverage:
    """Per-person coverage: demand and access, for all days and for the weekend."""

    need: np.ndarray
    access: np.ndarray
    weekend_need: np.ndarray
    weekend_access: np.ndarray
    provider_ratio: np.ndarray
    weekend_provider_ratio: np.ndarray

    def frame(self) -> pd.DataFrame:
        """Per-person hours: need, accessible and unmet, all days and weekend."""
        return pd.DataFrame(
            {
                "need_hours": self.need,
                "access": self.access,
                "accessible_hours": self.need * self.access,
                "unmet_hours": self.need * np.maximum(0.0, 1.0 - self.access),
                "weekend_need_hours": self.weekend_need,
                "weekend_access": self.weekend_access,
                "weekend_accessible_hours": self.weekend_need * self.weekend_access,
                "weekend_unmet_hours": self.weekend_need
                * np.maximum(0.0, 1.0 - self.weekend_access),
            }
        )


def person_coverage(
    reach: Reach,
    people: pd.DataFrame,
    providers: pd.DataFrame,
    *,
    enhanced: bool = False,
) -> Coverage:
    """2SFCA for every person, all days and weekend, from registers and their eligible pairs.

    Parameters
    ----------
    reach
        The eligible pairs of ``people`` and ``providers``.
    people, providers
        The registers (``hours``, ``day_mask``; ``capacity_hours``, ``day_mask``).
    enhanced
        Use the Gaussian distance decay.

    Returns
    -------
    Coverage
    """
    need = people["hours"].to_numpy(float)
    cap = providers["capacity_hours"].to_numpy(float)
    w_need = need * weekend_share(people["day_mask"].to_numpy())
    w_cap = cap * weekend_share(providers["day_mask"].to_numpy())
    r, a = _two_step_fca_columns(
        reach, np.column_stack([need, w_need]), np.column_stack([cap, w_cap]), enhanced=enhanced
    )
    return Coverage(need, a[:, 0].copy(), w_need, a[:, 1].copy(), r[:, 0].copy(), r[:, 1].copy())
