"""The register in a database: providers and people with their history, staff, referrals that
hold hours, and absences (SPEC.md, "The register in a database").

A :class:`Store` is one more way to build a :class:`~gapmap.study.Study` (:meth:`Store.study`)
and the place where what staff decide is recorded. Every rule of reach, eligibility and room is
:mod:`gapmap.reach`'s; the store only counts the hours that referrals hold.

:class:`Store` is put together from one mixin class per idea, each in its own module, all on
:class:`~gapmap.store.base.StoreBase` (connections, transactions and the version counters every
write raises, locks, the change log, the author check, holds that ran out):

* :mod:`gapmap.store.registers`: import with history, the registers at any moment, export;
* :mod:`gapmap.store.free_hours`: the hours referrals and temporary cover hold, and the study
  with free hours;
* :mod:`gapmap.store.refer`: making referrals (one transaction each, or a matching's at once),
  with the person checked by :mod:`gapmap.store.person`;
* :mod:`gapmap.store.referrals`: referrals' states and history, and the arrangements they make;
* :mod:`gapmap.store.staff`: staff and their sign-in tokens;
* :mod:`gapmap.store.absences`: providers' absences;
* :mod:`gapmap.store.cover`: accepted cover plans (temporary cover);
* :mod:`gapmap.store.maintenance`: forget, back up, restore.

Mixins rather than functions taking a connection: each idea's methods keep their one
signature and docstring where they are written (no second, thin method to keep in step), the
transactions stay the base class's, and ``Store``'s API is exactly what it was. A mixin that
reads another idea names it as a base class (:class:`~gapmap.store.free_hours.FreeHoursMixin`
reads the registers, the referrals and temporary cover), so what depends on what shows in the
class statements.
"""

from __future__ import annotations

from pathlib import Path

from gapmap.settings import Settings
from gapmap.store.absences import AbsencesMixin
from gapmap.store.cover import CoverMixin
from gapmap.store.engine import StoreError
from gapmap.store.free_hours import FreeHoursMixin
from gapmap.store.maintenance import MaintenanceMixin
from gapmap.store.refer import NoRoom, ReferMixin
from gapmap.store.referrals import ReferralsMixin
from gapmap.store.registers import RegistersMixin
from gapmap.store.staff import StaffMixin

__all__ = ["NoRoom", "Store", "StoreError", "open_store"]


class Store(
    FreeHoursMixin,
    StaffMixin,
    RegistersMixin,
    ReferMixin,
    ReferralsMixin,
    AbsencesMixin,
    CoverMixin,
    MaintenanceMixin,
):
    """The register database. Make one with :func:`open_store`.

    Parameters
    ----------
    engine
        The SQLAlchemy engine (:func:`gapmap.store.engine.make_engine`).
    settings
        The options; ``hold_days``, ``absence_rate``, ``circuity`` and ``allow_without_cover``
        are used here.
    url
        The address opened (:func:`gapmap.store.engine.normalise_url`).
    """


def open_store(db: str | Path, *, create: bool = False, settings: Settings | None = None) -> Store:
    """Open the register database.

    Parameters
    ----------
    db
        A file path, ``sqlite:///PATH`` or ``postgresql://...``.
    create
        Make a new SQLite file (mode 0600) if there is none, and bring the schema to the
        newest revision (Alembic); without it, a database whose schema is older is refused
        with a message saying how to upgrade it.
    settings
        The options (``hold_days``, ``absence_rate``, ``circuity``, ``allow_without_cover``).

    Returns
    -------
    Store

    Raises
    ------
    StoreError
        No such file, not a gapmap register, an older schema (without ``create``), or a server
        that cannot be reached.
    """
    return Store._open(db, create=create, settings=settings)
