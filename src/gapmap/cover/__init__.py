"""When a provider is off: the cover plan, N−1 resilience, and an independent checker.

* :func:`cover_plan` — who gives the hours absent providers would have given, dates and
  weekdays included, integer models solved with HiGHS or CP-SAT (:mod:`.plan`, :mod:`.mip`);
* :func:`n_minus_one` — the hours each provider's week off would leave uncovered, and per area
  the expected and worst uncovered hours (:mod:`.resilience`);
* :func:`check_cover_plan` — every rule checked again, written apart (:mod:`.check`).

Every function takes plain frames (the registers in a :class:`~gapmap.study.Study`, a
``matches.csv`` frame, the absences frame of :mod:`gapmap.io.absences`), so plans can be made from
files or from the database alike.
"""

from __future__ import annotations

from gapmap.cover.check import check_cover_plan
from gapmap.cover.plan import PLAN_COLUMNS, REASONS, CoverPlan, cover_plan
from gapmap.cover.resilience import Resilience, n_minus_one

__all__ = [
    "PLAN_COLUMNS",
    "REASONS",
    "CoverPlan",
    "Resilience",
    "check_cover_plan",
    "cover_plan",
    "n_minus_one",
]
