"""Free hours (SPEC.md): what referrals and accepted cover hold on each provider, and the
:class:`~gapmap.study.Study` of the registers with those hours taken.

Free hours of a provider = capacity − committed − hours held by pending and confirmed
referrals where it is provider or partner − absence_rate × the hours it stands ready to
cover (:func:`gapmap.reach.cover_reserve`) − hours of temporary cover on the day.
:meth:`FreeHoursMixin.study` gives each provider a ``committed_hours`` raised by what is
held (clamped to capacity), so suggestions and matching see those free hours; the
register's own figure stays in ``committed_register``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, func, literal, select, union_all
from sqlalchemy.engine import Connection

from gapmap.reach import cover_reserve
from gapmap.settings import Settings
from gapmap.store import schema as S
from gapmap.store.base import ACTIVE, _utcnow
from gapmap.store.cover import CoverMixin
from gapmap.store.referrals import ReferralsMixin
from gapmap.store.registers import RegistersMixin


def _held_now_statement():
    """The hours held now, by role and provider: pending and confirmed referrals as provider,
    partner and cover (summed; the reserve is taken in Python), and temporary cover on
    ``day`` (accepted cover plans)."""
    r, c, a = S.referrals.c, S.cover_assignments.c, S.absences.c
    parts = [
        select(literal(role).label("role"), who.label("pid"), func.sum(hours).label("h"))
        .where(r.state.in_(ACTIVE), who.is_not(None))
        .group_by(who)
        for role, who, hours in (("provider", r.provider_id, r.provider_hours),
                                 ("partner", r.partner_id, r.partner_hours),
                                 ("cover", r.cover_id, r.provider_hours))
    ]  # fmt: skip
    parts.append(
        select(literal("temporary").label("role"), c.cover_provider_id.label("pid"),
               func.sum(c.hours).label("h"))
        .select_from(S.cover_assignments.join(S.absences, a.absence_id == c.absence_id))
        .where(c.state == "active", a.withdrawn_at.is_(None), c.start <= bindparam("day"),
               c.end >= bindparam("day"))
        .group_by(c.cover_provider_id)
    )  # fmt: skip
    return union_all(*parts)


_HELD_NOW = _held_now_statement()


class FreeHoursMixin(RegistersMixin, ReferralsMixin, CoverMixin):
    """Hours held and the study with free hours (part of :class:`~gapmap.store.Store`):
    it reads the registers, the referrals and temporary cover."""

    def held_now(self) -> dict[str, float]:
        """Hours held now by pending and confirmed referrals, by provider (as provider or
        partner, and the cover reserve): :meth:`held_hours`'s ``held`` in one query, for the
        server's refresh after each referral."""
        with self._peek() as conn:
            return self._held_now(conn, None)

    def _held_now(self, conn: Connection, ids: list[str] | None) -> dict[str, float]:
        """Hours held now by active referrals and accepted cover plans, for some providers
        (None: every provider holding any) (SPEC free hours), in one statement."""
        out: dict[str, float] = dict.fromkeys(ids or (), 0.0)
        rate = self.settings.absence_rate
        for role, pid, total in conn.execute(_HELD_NOW, {"day": _utcnow().date()}).all():
            if ids is not None and pid not in out:
                continue
            add = float(total or 0.0)
            out[pid] = out.get(pid, 0.0) + (
                float(cover_reserve(add, rate)) if role == "cover" else add
            )
        return out

    def held_hours(
        self, as_of: date | datetime | None = None, *, absence_rate: float | None = None
    ) -> pd.DataFrame:
        """Hours each provider's referrals hold at the end of ``as_of`` (default now).

        Parameters
        ----------
        as_of
            A day (its end) or a moment; default now.
        absence_rate
            The share kept free by a cover (default: the store's setting).

        Returns
        -------
        DataFrame
            Indexed by ``provider_id``: ``as_provider``, ``as_partner``, ``covering`` (the
            hours it stands ready to cover) and ``held`` = provider + partner hours +
            absence_rate × covering.
        """
        rate = self.settings.absence_rate if absence_rate is None else absence_rate
        active = self._active(as_of)
        return self._with_temporary(_held(active, rate), as_of)

    def _active(self, as_of) -> pd.DataFrame:
        """The referrals pending or confirmed at the end of ``as_of`` (default now)."""
        self.release_expired()
        frame = self.referrals(as_of=as_of, states=ACTIVE)
        return frame

    def study(
        self,
        settings: Settings | None = None,
        as_of: date | datetime | None = None,
        *,
        waiting_only: bool = False,
        people: bool = True,
        **study_kwargs: Any,
    ):
        """A :class:`~gapmap.study.Study` of the registers at the end of ``as_of`` (default now).

        Each provider's ``committed_hours`` is raised by the hours its referrals hold (as
        provider or partner, and absence_rate × the hours it stands ready to cover), clamped to
        its capacity, so suggestions and matching see the free hours of SPEC.md; the register's
        own figure is kept in ``committed_register`` and the hours held in ``held_hours``.

        Parameters
        ----------
        settings
            The options (default: the store's).
        as_of
            A day (its end) or a moment; default now.
        waiting_only
            Leave out people with a pending or confirmed referral (the people still waiting).
        people
            Include the people register (``suggest`` needs only providers).
        **study_kwargs
            The study's other inputs (:class:`~gapmap.inputs.StudyInputs`: ``areas``,
            ``council``, ``census``...).

        Returns
        -------
        Study
        """
        from gapmap.study import Study, StudyInputs

        settings = (settings or self.settings).validated()
        prov, ppl = self.registers(as_of)
        active = self._active(as_of)
        prov = with_held(prov, self._with_temporary(_held(active, settings.absence_rate), as_of))
        if waiting_only and len(active):
            ppl = ppl[~ppl["person_id"].isin(set(active["person_id"]))].reset_index(drop=True)
            ppl["row"] = np.arange(2, len(ppl) + 2)
        label = f"register database ({self._where()})"
        prov.attrs["source"] = label + " providers"
        ppl.attrs["source"] = label + " people"
        inputs = StudyInputs(
            providers=prov if len(prov) else None,
            people=ppl if people and len(ppl) else None,
            **study_kwargs,
        )
        return Study.read(inputs, settings=settings)

    def providers_in_service(
        self, as_of: date | datetime | None = None, *, settings: Settings | None = None
    ) -> pd.DataFrame:
        """The providers register at the end of ``as_of`` (default now) with
        ``committed_hours`` raised by what referrals hold (as in :meth:`study`): what
        suggestions read (``gapmap serve --db`` reloads it).

        Parameters
        ----------
        as_of
            A day (its end) or a moment; default now.
        settings
            The options (their ``absence_rate``; default the store's).
        """
        rate = (settings or self.settings).absence_rate
        prov, _ = self.registers(as_of)
        prov = with_held(prov, self._with_temporary(_held(self._active(as_of), rate), as_of))
        prov.attrs["source"] = f"register database ({self._where()}) providers"
        return prov


def _held(active: pd.DataFrame, rate: float) -> pd.DataFrame:
    """Hours held per provider by active referrals (see :meth:`Store.held_hours`)."""
    parts = []
    if len(active):
        parts.append(active.groupby("provider_id")["provider_hours"].sum().rename("as_provider"))
        partner = active[active["partner_id"].notna()]
        parts.append(partner.groupby("partner_id")["partner_hours"].sum().rename("as_partner"))
        cover = active[active["cover_id"].notna()]
        parts.append(cover.groupby("cover_id")["provider_hours"].sum().rename("covering"))
    out = pd.concat(parts, axis=1) if parts else pd.DataFrame()
    for col in ("as_provider", "as_partner", "covering"):
        if col not in out:
            out[col] = 0.0
    out = out.fillna(0.0).astype(float)
    out["held"] = out["as_provider"] + out["as_partner"] + cover_reserve(out["covering"], rate)
    out.index.name = "provider_id"
    return out


def with_held(providers: pd.DataFrame, held: pd.DataFrame) -> pd.DataFrame:
    """Providers with ``committed_hours`` raised by the hours held (clamped to capacity), the
    register's figure kept in ``committed_register`` and the hours held in ``held_hours``.

    Parameters
    ----------
    providers
        A providers register (:func:`gapmap.read_providers` columns).
    held
        The hours held, indexed by provider id (:meth:`Store.held_hours`).
    """
    out = providers.copy()
    h = out["provider_id"].map(held["held"]).fillna(0.0).to_numpy(float) if len(held) else (
        np.zeros(len(out))
    )  # fmt: skip
    out["committed_register"] = out["committed_hours"].astype(float)
    out["held_hours"] = h
    out["committed_hours"] = np.minimum(
        out["capacity_hours"].to_numpy(float), out["committed_register"].to_numpy(float) + h
    )
    return out
