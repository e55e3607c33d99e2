"""Data to try gapmap with, offline: the demo study that ``gapmap demo`` runs on.

:func:`demo_study` gives the same :class:`~gapmap.study.Study` as ``gapmap demo``: the built-in
Kent postcode sectors and the synthetic registers of :mod:`gapmap.demo` (Kent's year-3 target:
416 micro-providers, a waiting list of 2,500 people), all at real Kent postcodes. Nothing is
downloaded: the geography and the registers are built from the postcode directory that is
installed with gapmap (on first use for an installed wheel, into the user's cache; in a source
tree they are the files under ``boundaries/`` and ``data/demo/``). No real person or provider is
in it.

>>> from gapmap.datasets import demo_study
>>> study = demo_study()
>>> len(study.providers), len(study.people), len(study.areas)
(416, 2500, 259)
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from gapmap.settings import DEMO_TIME_LIMITS
from gapmap.study import Study, StudyInputs

__all__ = ["DEMO_MATCH_TIME_LIMIT_S", "demo_study"]

#: The demo's matching time limit, seconds: ``gapmap demo``'s, shorter than the default 60.
DEMO_MATCH_TIME_LIMIT_S = DEMO_TIME_LIMITS["match_time_limit_s"]


@lru_cache(maxsize=1)
def _demo_study() -> Study:
    from gapmap.councils import KENT, resolve_council
    from gapmap.demo import council_scale, demo_paths, write_demo_registers
    from gapmap.settings import Settings

    council = resolve_council(KENT)
    prov_path, people_path = demo_paths(council)
    if not (prov_path.exists() and people_path.exists()):  # an installed wheel: build once
        size = council_scale(council)
        write_demo_registers(providers=size.providers, people=size.people, council=council)
    return Study.read(
        StudyInputs(providers=prov_path, people=people_path, council=council.code),
        settings=Settings(match_time_limit_s=DEMO_MATCH_TIME_LIMIT_S),
    )


def demo_study(**settings: Any) -> Study:
    """The demo study (Kent, synthetic registers), read once per process.

    Parameters
    ----------
    **settings
        Fields of :class:`~gapmap.settings.Settings` to change (``match_time_limit_s=5``);
        without any, the demo's own settings: the defaults, with a matching time limit of
        :data:`DEMO_MATCH_TIME_LIMIT_S` seconds as ``gapmap demo`` has.

    Returns
    -------
    Study
        The same object at every call without ``settings`` (do not change its frames in place:
        :meth:`~gapmap.study.Study.with_settings` and
        :meth:`~gapmap.study.Study.with_providers` give changed copies); with ``settings``, a
        copy under those settings.

    Raises
    ------
    InputError
        A setting breaks a rule (its field named).

    Examples
    --------
    >>> study = demo_study(circuity=1.3)
    >>> study.settings.circuity, study is demo_study(), demo_study() is demo_study()
    (1.3, False, True)
    >>> int(study.people["hours"].sum())
    13...
    """
    study = _demo_study()
    return study.with_settings(**settings) if settings else study
