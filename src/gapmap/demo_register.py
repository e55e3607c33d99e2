"""``gapmap demo``'s register database: the batch matches recorded as referrals that hold
hours, and what the next suggestion looks like once they are held (issue 32).

The demo makes ``register.db`` (SQLite) beside its other outputs, imports the demo registers,
records every match of the batch matching as a pending referral (author ``demo``, all or none:
:meth:`gapmap.store.Store.accept_matches`), and then asks for suggestions for a new person
living beside the provider the matching filled most: first as the register files stand, then
from the database, net of the hours held.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

__all__ = ["demo_register"]

AUTHOR = "demo"


def demo_register(
    study, best, out: Path, prov_path: Path, people_path: Path, *, shown: Path | None = None
) -> list[str]:
    """Record the matching in a new demo register database; what it shows, in words.

    Parameters
    ----------
    study
        The demo study (files).
    best
        The batch matching (:class:`gapmap.matching.result.MatchResult`).
    out
        The folder for ``register.db``.
    prov_path, people_path
        The demo registers (imported as they are).
    shown
        Where the database will be once the run's files are in place (default ``out``).

    Returns
    -------
    list of str
        Lines to print.
    """
    from gapmap.matching.person import request_from_fields
    from gapmap.matching.suggest import Suggester
    from gapmap.store import open_store
    from gapmap.vocab import days_text, days_words, hours_words, services_text

    t0 = time.perf_counter()
    db = out / "register.db"
    store = open_store(db, create=True, settings=study.settings)
    try:
        council = study.council.code if study.council is not None else None
        store.import_registers(providers=prov_path, people=people_path, author=AUTHOR,
                               council=council)  # fmt: skip
        store.add_staff(AUTHOR)
        table = best.table(study.people, study.providers, lambda p, v: math.nan)
        matched = table[table["status"] == "matched"]
        ids = store.accept_matches(table, study.people, author=AUTHOR)
        held_by = store.held_now()
        # the example: a new person beside the provider whose referrals hold the most hours
        busy = max(sorted(held_by), key=lambda p: held_by[p])
        held = held_by[busy]
        row = study.providers.loc[study.providers["provider_id"].astype(str) == busy].iloc[0]
        days = int(row["day_mask"]) & 0b0011111 or int(row["day_mask"])  # weekdays it works
        first_day = days & -days  # one day it works
        services = int(row["service_mask"]) & -int(row["service_mask"])  # one it offers
        postcode, need, day, service = (
            str(row["postcode"]), 3.0, days_text(first_day), services_text(services)
        )  # fmt: skip
        person, _ = request_from_fields(
            study, postcode=postcode, hours=need, days=day, services=service,
            self_directing=True, regulated_care=False,
        )  # fmt: skip
        before = Suggester(study).suggest(person, top=1, with_changes=False)
        free_before = _free(study, busy)
        after_study = store.study(people=False, council=council)
        after = Suggester(after_study).suggest(person, top=1, with_changes=False)
        free_after = _free(after_study, busy)
    finally:
        store.close()
    seconds = time.perf_counter() - t0
    lines = [
        f"Register database {db.name}: the demo registers imported and the {len(ids):,} "
        f"matches recorded as pending referrals by '{AUTHOR}' (one transaction), which hold "
        f"{matched['hours'].sum():,.0f} h a week ({seconds:.1f} s).",
        f"The referrals hold most of {row['name']} ({busy}): {hours_words(held)} a week (as "
        "provider or partner, and the hours it keeps free as someone's cover).",
        f"Someone new at {postcode} needing {hours_words(need)} a week on "
        f"{days_words(first_day)} ({service}):",
        "  before the matches were held: " + _first(before, busy, free_before),
        "  once they are held:          " + _first(after, busy, free_after),
        f"  ({busy} had {hours_words(free_before)} free a week as the register file stands; "
        f"{hours_words(free_after)} now.)",
        f"Try it: gapmap staff add NAME --db {shown or db}, then gapmap serve --db "
        f"{shown or db} and refer from the page.",
    ]
    return lines


def _free(study, provider_id: str) -> float:
    from gapmap.reach import free_hours

    i = study.providers.index[study.providers["provider_id"].astype(str) == provider_id][0]
    return float(free_hours(study.providers.loc[[i]])[0])


def _first(result, busy: str, free: float) -> str:
    from gapmap.vocab import hours_words

    if not result.suggestions:
        return "no provider in reach has room."
    s = result.suggestions[0]
    where = f"{s.name} ({s.provider_id}), {s.distance_km:.1f} km away, {hours_words(s.free_hours)}"
    return f"first suggestion {where} free" + (" (the busy provider)" if s.provider_id == busy
                                               else "")  # fmt: skip
